#!/usr/bin/env python3
"""Small POSTs to `dengbao serve` over HTTPS with a client certificate, as an agent's live stream
sends them: for SECONDS, batches of BATCH unique EVE alert lines, either on a new TLS connection
each (MODE close: `Connection: close`, a full TLS 1.3 handshake per batch) or all on one kept-alive
connection (MODE keep), reconnecting when the server closes it. BATCH 0: GET /healthz instead,
no store work, so the figure is TLS and HTTP alone. Prints requests/s, events/s, connections
opened. Usage: serve_tls_posts.py HOST PORT CERT KEY CA MODE SECONDS BATCH"""
import socket
import ssl
import sys
import time


def main():
    host, port, cert, key, ca, mode = sys.argv[1:7]
    seconds, batch = float(sys.argv[7]), int(sys.argv[8])
    ctx = ssl.create_default_context(cafile=ca)
    ctx.load_cert_chain(cert, key)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    conn, buf, conns = None, b"", 0
    seq = ok = failed = 0
    stop_at = time.time() + seconds
    t0 = time.time()
    while time.time() < stop_at:
        lines = []
        for _ in range(batch):
            seq += 1
            lines.append('{"timestamp":"2026-01-01T00:00:00.%06d+00:00","event_type":"alert",'
                         '"alert":{"signature":"bench_tls","severity":2},'
                         '"dengbao":{"src":{"tenant":"tenant-1"}},"seq":%d}' % (seq % 1000000, seq))
        body = ("\n".join(lines) + "\n").encode()
        if conn is None:
            raw = socket.create_connection((host, int(port)), timeout=30)
            # as the forwarder does: without it the request waited for the server's delayed ACK
            # of the client's last handshake record (40 ms), which is no server cost
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn, buf = ctx.wrap_socket(raw, server_hostname=host), b""
            conns += 1
        close = "Connection: close\r\n" if mode == "close" else ""
        if batch == 0:  # no store work: what a request costs in TLS and HTTP alone
            conn.sendall(("GET /healthz HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (host, close)).encode())
        else:
            conn.sendall(("POST /api/v1/events HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n%s\r\n"
                          % (host, len(body), close)).encode() + body)
        # the answer: its head, then Content-Length bytes
        while b"\r\n\r\n" not in buf:
            b = conn.recv(65536)
            if not b:
                break
            buf += b
        head, _, rest = buf.partition(b"\r\n\r\n")
        clen = 0
        for h in head.split(b"\r\n")[1:]:
            k, _, v = h.partition(b":")
            if k.strip().lower() == b"content-length":
                clen = int(v)
        while len(rest) < clen:
            b = conn.recv(65536)
            if not b:
                break
            rest += b
        buf = rest[clen:]
        status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
        if status == 200 and (batch == 0 or b'"stored":%d' % batch in rest[:clen]):
            ok += 1
        else:
            failed += 1
        if mode == "close" or b"connection: close" in head.lower():
            conn.close()
            conn = None
    dt = time.time() - t0
    print("mode=%-5s batch=%-4d requests/s=%-7.1f events/s=%-8.0f connections=%d failed=%d"
          % (mode, batch, ok / dt, ok * batch / dt, conns, failed))


if __name__ == "__main__":
    main()
