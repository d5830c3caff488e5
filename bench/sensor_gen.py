#!/usr/bin/env python3
"""Writes the sensor benchmark capture (not committed; bench/sensor.sh runs this): ~520k benign
TCP flows between 65,000 clients and 200 servers over 60 s of packet time, with attacks
embedded: a port scan, a host sweep, SYN/UDP/ICMP floods and SSH brute force.
The default ("handshake") flow is three small frames back to back (SYN, SYN-ACK, ACK+request):
the worst case for a flow-keeping sensor, a new flow every third frame. --mix writes flows as
a busy service sees them instead: concurrent, with responses of 1,254-byte frames, ACKs and a
FIN exchange; 80 % of flows carry 2 responses, 18 % 18 and 2 % 114 (about 14 frames per flow
on average, 7.5 M frames, 5 GB).
Usage: sensor_gen.py OUT.pcap [FLOWS] [--mix]"""
import heapq
import random
import struct
import sys

args = [a for a in sys.argv[1:] if a != '--mix']
mix = '--mix' in sys.argv[1:]
out = args[0]
nflows = int(args[1]) if len(args) > 1 else 520000
T0 = 1764032523.0
DURATION = 60.0

def mac(i):
    return bytes([0x52, 0x54, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255])

def ip(a, b, c, d):
    return bytes([a, b, c, d])

def eth_ip(smac, dmac, src, dst, proto, l4):
    iph = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 0, 0, 64, proto, 0, src, dst)
    return dmac + smac + b'\x08\x00' + iph + l4

def tcp(sp, dp, flags, payload=b''):
    return struct.pack('!HHIIBBHHH', sp, dp, 1, 0, 5 << 4, flags, 65535, 0, 0) + payload

def udp(sp, dp, payload):
    return struct.pack('!HHHH', sp, dp, 8 + len(payload), 0) + payload

def icmp_echo():
    return struct.pack('!BBHHH', 8, 0, 0, 1, 1) + b'\0' * 56

events = []  # (time, frame); attacks are merged in time order below

f = open(out, 'wb')
f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
count = 0

def write(t, frame):
    global count
    sec = int(t)
    usec = int((t - sec) * 1e6)
    f.write(struct.pack('<IIII', sec, usec, len(frame), len(frame)))
    f.write(frame)
    count += 1

# attacks, at fixed times
att = []
A = ip(10, 66, 0, 1)
AM = mac(0xaa0001)
SRV = lambda s: ip(10, 2, 0, 1 + s)
SM = lambda s: mac(0x020000 + s)
for i, port in enumerate(range(1, 1001)):             # port scan of one server
    att.append((T0 + 5 + i * 0.002, eth_ip(AM, SM(7), A, SRV(7), 6, tcp(40000 + i, port, 0x02))))
for i in range(300):                                  # host sweep on 445
    att.append((T0 + 10 + i * 0.003, eth_ip(AM, SM(9), A, ip(10, 3, i // 250, 1 + i % 250), 6, tcp(41000 + i, 445, 0x02))))
B = ip(10, 66, 0, 2)
for i in range(5000):                                 # SYN flood, one target port
    att.append((T0 + 20 + i * 0.0002, eth_ip(mac(0xaa0002), SM(3), B, SRV(3), 6, tcp(1024 + i % 60000, 80, 0x02))))
for i in range(5000):                                 # UDP flood
    att.append((T0 + 25 + i * 0.0002, eth_ip(mac(0xaa0002), SM(4), B, SRV(4), 17, udp(5000, 9, b'x' * 64))))
for i in range(2000):                                 # ICMP flood
    att.append((T0 + 30 + i * 0.0004, eth_ip(mac(0xaa0002), SM(5), B, SRV(5), 1, icmp_echo())))
C = ip(10, 66, 0, 3)
for i in range(30):                                   # SSH brute force: 30 handshakes
    t = T0 + 35 + i * 0.5
    sp = 50000 + i
    att.append((t, eth_ip(mac(0xaa0003), SM(6), C, SRV(6), 6, tcp(sp, 22, 0x02))))
    att.append((t + 0.001, eth_ip(SM(6), mac(0xaa0003), SRV(6), C, 6, tcp(22, sp, 0x12))))
    att.append((t + 0.002, eth_ip(mac(0xaa0003), SM(6), C, SRV(6), 6, tcp(sp, 22, 0x10))))
    att.append((t + 0.003, eth_ip(mac(0xaa0003), SM(6), C, SRV(6), 6, tcp(sp, 22, 0x18, b'SSH-2.0-x\r\n'))))
att.sort(key=lambda e: e[0])
ai = 0

payload = b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
REQ = b'GET /item HTTP/1.1\r\nHost: svc\r\n' + b'a' * 150 + b'\r\n\r\n'
RESP = b'r' * 1200
random.seed(7)
pending = []  # --mix: (time, order, frame) of flows in progress, written in time order
order = 0

def flush_until(t):
    global ai
    while True:
        ta = att[ai][0] if ai < len(att) else None
        tp = pending[0][0] if pending else None
        if ta is not None and ta <= t and (tp is None or ta <= tp):
            write(*att[ai])
            ai += 1
        elif tp is not None and tp <= t:
            tt, _, frame = heapq.heappop(pending)
            write(tt, frame)
        else:
            return

step = DURATION / nflows
for n in range(nflows):
    t = T0 + n * step
    flush_until(t)
    c = n % 65000
    cl = ip(10, 1, c >> 8, c & 255)
    cm = mac(0x100000 + c)
    s = (c if (n // 65000) % 2 == 0 else c * 7) % 200
    sv = SRV(s)
    sm = SM(s)
    sp = 1024 + (n // 65000) * 7 + (c % 5)
    dp = 443 if s % 2 else 80
    if not mix:
        write(t, eth_ip(cm, sm, cl, sv, 6, tcp(sp, dp, 0x02)))
        write(t + 0.0001, eth_ip(sm, cm, sv, cl, 6, tcp(dp, sp, 0x12)))
        write(t + 0.0002, eth_ip(cm, sm, cl, sv, 6, tcp(sp, dp, 0x18, payload)))
        continue
    r = random.random()
    nresp = 2 if r < 0.8 else 18 if r < 0.98 else 114
    up = lambda fl, pl=b'': eth_ip(cm, sm, cl, sv, 6, tcp(sp, dp, fl, pl))
    down = lambda fl, pl=b'': eth_ip(sm, cm, sv, cl, 6, tcp(dp, sp, fl, pl))
    frames = [up(0x02), down(0x12), up(0x18, REQ)]
    for i in range(nresp):
        frames.append(down(0x18 if i % 2 == 0 else 0x10, RESP))
        if i % 4 == 3:
            frames.append(up(0x10))
    frames += [up(0x11), down(0x11), up(0x10)]
    for i, frame in enumerate(frames):  # 0.4 ms apart: about 50 flows in progress at once
        order += 1
        heapq.heappush(pending, (t + i * 0.0004, order, frame))
flush_until(float('inf'))
f.close()
print(f"{out}: {count} packets, {nflows} benign flows ({'mix' if mix else 'handshake'}) + attacks "
      "(port_scan host_sweep syn_flood udp_flood icmp_flood brute_force)")
