#!/usr/bin/env python3
"""Receives syslog datagrams for the tests: unix:PATH or udp (127.0.0.1, a free port written to
PORTFILE), one message per output line, until IDLE seconds pass without one (after the first)
or LIMIT seconds in all."""
import socket
import sys
import time

target, out_path = sys.argv[1], sys.argv[2]
idle, limit = 2.0, 60.0
if target.startswith("unix:"):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(target[5:])
else:  # udp:PORTFILE
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    with open(target[4:] + ".tmp", "w") as f:
        f.write(str(sock.getsockname()[1]))
    import os
    os.rename(target[4:] + ".tmp", target[4:])
start, got = time.monotonic(), 0
with open(out_path, "w") as out:
    while time.monotonic() - start < limit:
        sock.settimeout(idle if got else limit)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            break
        got += 1
        out.write(data.decode("utf-8", "replace").replace("\n", " ") + "\n")
        out.flush()
