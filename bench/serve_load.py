#!/usr/bin/env python3
"""Load for `dengbao serve` over its Unix socket: AGENTS processes post batches of unique EVE
alert lines for SECONDS while a reader lists events (GET /api/v1/events?limit=100&tenant=..) QPS
times a second, each listing started on time in a thread of its own whether or not the ones
before have answered, so every server gets the same read load (a loop that waits for each
answer asks a slow server less). QPS 0: ingest alone. Prints one line: agents, events/s stored,
batches, failed requests, listing latency p50/p95/max. Agents are processes, not threads, so the
client's own work never queues on one interpreter lock."""
import multiprocessing as mp
import socket
import sys
import threading
import time


def request(sock_path, method, target, body=b""):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock_path)
    head = (f"{method} {target} HTTP/1.1\r\nHost: local\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode()
    s.sendall(head + body)
    out = bytearray()
    while True:
        b = s.recv(1 << 16)
        if not b:
            break
        out += b
    s.close()
    status = int(out.split(b" ", 2)[1])
    return status, bytes(out[out.find(b"\r\n\r\n") + 4:])


def agent(sock_path, n, batch, stop_at, q):
    stored = batches = failed = 0
    seq = 0
    while time.time() < stop_at:
        lines = []
        for _ in range(batch):
            seq += 1
            lines.append(
                '{"timestamp":"2026-01-01T00:00:00.%06d+00:00","event_type":"alert",'
                '"src_ip":"10.%d.0.5","alert":{"signature":"bench_scan","severity":2},'
                '"dengbao":{"clause":"8.2.3.2a","src":{"tenant":"tenant-%d"}},"seq":%d}'
                % (seq % 1000000, n % 250, n % 4, seq))
        st, body = request(sock_path, "POST", "/api/v1/events", ("\n".join(lines) + "\n").encode())
        if st == 200 and b'"stored":%d' % batch in body:
            stored += batch
            batches += 1
        else:
            failed += 1
    q.put((stored, batches, failed))


def reader(sock_path, qps, start, stop_at, q):
    lat = []
    failed = []
    lock = threading.Lock()

    def one():
        t0 = time.perf_counter()
        try:
            st, _ = request(sock_path, "GET", "/api/v1/events?limit=100&tenant=tenant-1")
        except OSError:
            st = 0
        with lock:
            lat.append((time.perf_counter() - t0) * 1000)
            if st != 200:
                failed.append(st)

    threads = []
    n = 0
    while qps > 0 and start + n / qps < stop_at:
        time.sleep(max(0.0, start + n / qps - time.time()))
        t = threading.Thread(target=one)
        t.start()
        threads.append(t)
        n += 1
    for t in threads:
        t.join()
    q.put((lat, len(failed)))


def main():
    sock_path, agents, seconds, batch = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    qps = float(sys.argv[5]) if len(sys.argv) > 5 else 10
    start = time.time() + 0.5
    stop_at = start + seconds
    q, rq = mp.Queue(), mp.Queue()
    procs = [mp.Process(target=agent, args=(sock_path, i, batch, stop_at, q)) for i in range(agents)]
    procs.append(mp.Process(target=reader, args=(sock_path, qps, start, stop_at, rq)))
    for p in procs:
        p.start()
    res = [q.get() for _ in range(agents)]
    lat, rfailed = rq.get()
    for p in procs:
        p.join()
    stored = sum(r[0] for r in res)
    failed = sum(r[2] for r in res) + rfailed
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] if lat else float("nan")
    print("agents=%-2d qps=%-3g events/s=%-7.0f batches=%-5d failed=%d query_ms p50=%.1f p95=%.1f max=%.1f (n=%d)"
          % (agents, qps, stored / seconds, sum(r[1] for r in res), failed, pct(0.5), pct(0.95),
             lat[-1] if lat else float("nan"), len(lat)))


if __name__ == "__main__":
    main()
