#!/usr/bin/env python3
"""EVE lines for bench/serve-dashboard.sh: N events over 30 days from TENANTS tenants, as a
cloud's central store collects them: 85% alerts of 12 signatures (a few rare), 15% flows; one
alert in 10 crosses to a second tenant; one line in 50 arrives late with an older time, and
times repeat (many events per second), so ordering by time and then id matters. Seeded: the
same arguments give the same file. Usage: dash_gen.py N TENANTS > FILE"""
import random
import sys

n, tenants = int(sys.argv[1]), int(sys.argv[2])
rnd = random.Random(17)
sigs = ["port_scan", "cross_tenant", "syn_flood", "ssh_bruteforce", "arp_spoof", "dns_tunnel",
        "vm_escape_probe", "icmp_sweep", "smb_exploit", "tls_anomaly", "host_attack", "rare_sig"]
weights = [30, 20, 12, 10, 8, 6, 5, 4, 2, 1.5, 1, 0.01]
start = 1767225600  # 2026-01-01
span = 30 * 86400
out = sys.stdout
for i in range(n):
    t = start + i * span // n
    if rnd.random() < 0.02:
        t -= rnd.randrange(86400)
    us = rnd.randrange(4) * 250000
    ts = "%s.%06d+00:00" % (__import__("time").strftime("%Y-%m-%dT%H:%M:%S", __import__("time").gmtime(t)), us)
    ten = "tenant-%02d" % min(int(rnd.paretovariate(1.2)) - 1, tenants - 1)
    if rnd.random() < 0.15:
        out.write('{"timestamp":"%s","event_type":"flow","src_ip":"10.%d.0.%d","flow":{"pkts":%d},'
                  '"dengbao":{"src":{"tenant":"%s"}},"seq":%d}\n'
                  % (ts, i % 250, i % 200, i % 97, ten, i))
        continue
    sig = rnd.choices(sigs, weights)[0]
    dest = ""
    if rnd.random() < 0.1:
        dest = ',"dest":{"tenant":"tenant-%02d"}' % rnd.randrange(tenants)
    out.write('{"timestamp":"%s","event_type":"alert","src_ip":"10.%d.0.%d",'
              '"alert":{"signature":"%s","severity":%d},'
              '"dengbao":{"clause":"8.2.3.%d%s","src":{"tenant":"%s"}%s},"seq":%d}\n'
              % (ts, i % 250, i % 200, sig, 1 + i % 3, 1 + i % 4, "abc"[i % 3], ten, dest, i))
