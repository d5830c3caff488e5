#!/usr/bin/env python3
"""A libvirt RPC proxy for tests: listens on a Unix socket, passes every message to a libvirtd
socket and back, except calls of the procedures named, which it answers itself with the error
a daemon whose access control denies them sends (VIR_ERR_ACCESS_DENIED, as polkit ACLs give).
The client library decodes that reply as it would the daemon's own.

usage: libvirt_deny_proxy.py LISTEN_SOCKET DAEMON_SOCKET PROC...
  (procedure numbers of remote_protocol.x, e.g. 286 = REMOTE_PROC_CONNECT_LIST_ALL_NWFILTERS)
"""
import os
import socket
import struct
import sys
import threading

REMOTE_PROGRAM = 0x20008086
CALL, REPLY = 0, 1
STATUS_ERROR = 1
VIR_ERR_ACCESS_DENIED = 88
VIR_FROM_ACCESS = 55
VIR_ERR_ERROR = 2


def read_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def read_message(sock):
    head = read_exact(sock, 4)
    if head is None:
        return None
    (length,) = struct.unpack(">I", head)
    body = read_exact(sock, length - 4)
    return None if body is None else head + body


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * (-len(b) % 4)


def denied_reply(proc, serial):
    message = "access denied: the test proxy refuses procedure %d" % proc
    err = struct.pack(">ii", VIR_ERR_ACCESS_DENIED, VIR_FROM_ACCESS)
    err += struct.pack(">I", 1) + xdr_string(message)  # message (an optional string)
    err += struct.pack(">i", VIR_ERR_ERROR)  # level
    err += struct.pack(">I", 0)  # dom: none
    err += struct.pack(">III", 0, 0, 0)  # str1..str3: none
    err += struct.pack(">ii", 0, 0)  # int1, int2
    err += struct.pack(">I", 0)  # net: none
    head = struct.pack(">IIIiIi", REMOTE_PROGRAM, 1, proc, REPLY, serial, STATUS_ERROR)
    return struct.pack(">I", 4 + len(head) + len(err)) + head + err


def serve(client, daemon_path, deny):
    daemon = socket.socket(socket.AF_UNIX)
    try:
        daemon.connect(daemon_path)
    except OSError:
        client.close()
        return
    lock = threading.Lock()  # whole messages to the client, from either direction

    def to_client():
        while True:
            m = read_message(daemon)
            if m is None:
                break
            with lock:
                client.sendall(m)
        client.close()

    threading.Thread(target=to_client, daemon=True).start()
    while True:
        m = read_message(client)
        if m is None:
            break
        if len(m) >= 28:
            prog, _vers, proc, mtype, serial = struct.unpack(">IIIiI", m[4:24])
            if prog == REMOTE_PROGRAM and mtype == CALL and proc in deny:
                with lock:
                    client.sendall(denied_reply(proc, serial))
                continue
        daemon.sendall(m)
    daemon.close()


def main():
    listen_path, daemon_path = sys.argv[1], sys.argv[2]
    deny = {int(p) for p in sys.argv[3:]}
    if os.path.exists(listen_path):
        os.unlink(listen_path)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(listen_path)
    os.chmod(listen_path, 0o666)  # run as root, for a client of another user
    srv.listen(8)
    while True:
        client, _ = srv.accept()
        threading.Thread(target=serve, args=(client, daemon_path, deny), daemon=True).start()


if __name__ == "__main__":
    main()
