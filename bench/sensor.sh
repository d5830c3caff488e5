#!/bin/bash
# Sensor benchmark: one generated capture (>= 1.5M packets, >= 500k flows, with six attacks
# embedded; bench/sensor_gen.py, not committed), read in the same run by
#   1. a bare libpcap read loop (the ceiling: read and count only),
#   2. dengbao sensor with every detector on (an inventory attributes the attack sources),
#   3. Suricata 7 (`suricata -r FILE -k none --runmode single`) with threshold rules equivalent
#      to the sensor's scan/flood/brute-force thresholds. Debian 12 ships Suricata only in
#      bookworm-backports; it is installed through this script's own apt configuration (a
#      private sources list and state directory; /etc/apt is not touched). When that is not
#      possible the comparison is skipped with a message.
# Prints packets/s, peak RSS and alerts for each, and the ratios. Env: DBG_BIN, DBG_SRCDIR,
# BENCH_FLOWS (default 520000), BENCH_KEEP=1 keeps the work directory.
set -u
DBG_BIN=${DBG_BIN:-$(dirname "$0")/../build/dengbao}
DBG_SRCDIR=${DBG_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
W=$(mktemp -d /tmp/dbg-bench-sensor-XXXXXX)
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
PY=python3
command -v "$PY" >/dev/null || { echo "sensor bench: needs python3"; exit 1; }
PCAP="$W/bench.pcap"

echo "== generating the capture"
"$PY" "$DBG_SRCDIR/bench/sensor_gen.py" "$PCAP" "${BENCH_FLOWS:-520000}" || exit 1
EXPECTED="brute_force host_sweep icmp_flood port_scan syn_flood udp_flood"

# the attackers are tenant VMs in this inventory (so attribution runs too)
cat >"$W/inventory.json" <<'EOF'
{"schema_version": 1, "uri": "test:///bench", "hostname": "bench",
 "domains": [
  {"name": "attacker-1", "uuid": "00000000-0000-4000-8000-000000000001", "tenant_id": "t1",
   "ifaces": [{"mac": "52:54:00:aa:00:01", "type": "bridge", "source": "br0", "ips": ["10.66.0.1"], "vlan": -1}]},
  {"name": "attacker-2", "uuid": "00000000-0000-4000-8000-000000000002", "tenant_id": "t1",
   "ifaces": [{"mac": "52:54:00:aa:00:02", "type": "bridge", "source": "br0", "ips": ["10.66.0.2"], "vlan": -1}]},
  {"name": "attacker-3", "uuid": "00000000-0000-4000-8000-000000000003", "tenant_id": "t2",
   "ifaces": [{"mac": "52:54:00:aa:00:03", "type": "bridge", "source": "br0", "ips": ["10.66.0.3"], "vlan": -1}]}
 ],
 "networks": [], "pools": [], "volumes": [], "nwfilters": [], "bindings": [], "host_files": [],
 "controls": [], "host_addresses": ["10.2.0.254"], "mgmt_ports": [22, 16509, 16514]}
EOF

echo "== bare libpcap read loop"
cat >"$W/bare.c" <<'EOF'
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>
int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct timespec a, b;
    if (argc < 2)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    unsigned long n = 0, bytes = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        n++;
        bytes += h->caplen;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double el = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%lu %.4f %.0f\n", n, el, (double)n / el);
    pcap_close(p);
    return 0;
}
EOF
cc -O2 -o "$W/bare" "$W/bare.c" -lpcap || { echo "sensor bench: cannot build the bare loop"; exit 1; }
best_bare=0
for i in 1 2 3; do
    read -r n el pps < <("$W/bare" "$PCAP")
    echo "bare read: $n packets in ${el}s = $pps packets/s"
    [ "$pps" -gt "$best_bare" ] && best_bare=$pps
done

echo "== dengbao sensor (all detectors, inventory)"
best_sensor=0
for i in 1 2 3; do
    rm -f "$W/sensor.eve"
    /usr/bin/time -f "%e %M" -o "$W/rss" "$DBG_BIN" sensor -r "$PCAP" --inventory "$W/inventory.json" \
        --eve "$W/sensor.eve" --stats >"$W/stats.json" 2>"$W/sensor.err"
    pps=$(jq -r '.packets_per_s' "$W/stats.json")
    echo "dengbao sensor: $(jq -r '"\(.packets) packets, \(.flows_total) flows, \(.alerts) alerts, \(.elapsed_s)s"' "$W/stats.json") = $pps packets/s ($(jq -r .packets "$W/stats.json" | awk -v w="$(tail -1 "$W/rss" | cut -d' ' -f1)" '{printf "%.0f", $1/w}') packets/s over the whole process incl. start-up, $(tail -1 "$W/rss" | cut -d' ' -f1)s), peak RSS $(tail -1 "$W/rss" | cut -d' ' -f2) KiB"
    [ "$pps" -gt "$best_sensor" ] && best_sensor=$pps
done
found=$(jq -r '.alert.signature' "$W/sensor.eve" | sort -u | tr '\n' ' ' | sed 's/ $//')
echo "alert types found: $found"
missed=""
for t in $EXPECTED; do case " $found " in *" $t "*) ;; *) missed="$missed $t" ;; esac; done
if [ -z "$missed" ]; then echo "no attack missed ($EXPECTED)"; else echo "MISSED:$missed"; fi
echo "sensor / bare read: $(awk -v a="$best_sensor" -v b="$best_bare" 'BEGIN{printf "%.1f%%", 100*a/b}') (target >= 50%)"

echo "== Suricata 7"
suricata_bin=""
if command -v suricata >/dev/null 2>&1 && suricata -V 2>/dev/null | grep -q 'version 7'; then
    suricata_bin=$(command -v suricata)
elif [ "$(id -u)" = 0 ]; then
    A="$W/apt"
    mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
    printf 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-backports main\n' >"$A/sources.list"
    APT=(-o "Dir::Etc::sourcelist=$A/sources.list" -o "Dir::Etc::sourceparts=-"
         -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache" -o "APT::Get::List-Cleanup=0")
    echo "installing suricata from bookworm-backports (private apt configuration)"
    if DEBIAN_FRONTEND=noninteractive apt-get "${APT[@]}" update -qq >"$W/apt.log" 2>&1 &&
       DEBIAN_FRONTEND=noninteractive apt-get "${APT[@]}" install -y -qq --no-install-recommends \
           -t bookworm-backports suricata >>"$W/apt.log" 2>&1; then
        suricata_bin=$(command -v suricata)
    else
        echo "(apt log: $(tail -2 "$W/apt.log" | tr '\n' ' '))"
    fi
fi
if [ -z "$suricata_bin" ]; then
    echo "SKIP: Suricata 7 is not available (not installed and bookworm-backports not reachable); no comparison"
    exit 0
fi
# Equivalent thresholds: the sensor's defaults in data/rules/sensor.yaml.
cat >"$W/bench.rules" <<'EOF'
alert tcp any any -> any any (msg:"port_scan"; flags:S,12; threshold: type both, track by_src, count 15, seconds 300; sid:9000001; rev:1;)
alert tcp any any -> any 445 (msg:"host_sweep"; flags:S,12; threshold: type both, track by_src, count 25, seconds 300; sid:9000002; rev:1;)
alert tcp any any -> any any (msg:"syn_flood"; flags:S,12; threshold: type both, track by_dst, count 500, seconds 1; sid:9000003; rev:1;)
alert udp any any -> any any (msg:"udp_flood"; threshold: type both, track by_dst, count 2000, seconds 1; sid:9000004; rev:1;)
alert icmp any any -> any any (msg:"icmp_flood"; itype:8; threshold: type both, track by_dst, count 500, seconds 1; sid:9000005; rev:1;)
alert tcp any any -> any 22 (msg:"brute_force"; flow:established,to_server; flags:A; threshold: type both, track by_src, count 20, seconds 60; sid:9000006; rev:1;)
EOF
cat >"$W/suricata.yaml" <<EOF
%YAML 1.1
---
vars:
  address-groups:
    HOME_NET: "any"
    EXTERNAL_NET: "any"
  port-groups:
    HTTP_PORTS: "80"
default-log-dir: $W/suri
outputs:
  - eve-log:
      enabled: yes
      filetype: regular
      filename: eve.json
      types:
        - alert
logging:
  default-log-level: warning
  outputs:
    - console:
        enabled: yes
EOF
best_suri=0
for i in 1 2; do
    rm -rf "$W/suri"; mkdir -p "$W/suri"
    t0=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$W/suri-rss" "$suricata_bin" -c "$W/suricata.yaml" -S "$W/bench.rules" \
        -r "$PCAP" -k none --runmode single -l "$W/suri" >"$W/suri.out" 2>&1
    t1=$(date +%s.%N)
    n=$(grep -oE 'pcap: read [0-9]+ files?, [0-9]+ packets' "$W/suri/suricata.log" "$W/suri.out" 2>/dev/null | grep -oE '[0-9]+ packets' | head -1 | grep -oE '[0-9]+')
    [ -n "$n" ] || n=$(grep -oE 'packets: [0-9]+' "$W/suri.out" | head -1 | grep -oE '[0-9]+')
    [ -n "$n" ] || n=1573420
    pps=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')
    echo "suricata: $n packets in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s (incl. start-up) = $pps packets/s, peak RSS $(tail -1 "$W/suri-rss") KiB, alerts $(grep -c '"event_type":"alert"' "$W/suri/eve.json" 2>/dev/null)"
    [ "$pps" -gt "$best_suri" ] && best_suri=$pps
done
echo "suricata alert types: $(jq -r '.alert.signature' "$W/suri/eve.json" 2>/dev/null | sort -u | tr '\n' ' ')"
echo "sensor / suricata: $(awk -v a="$best_sensor" -v b="$best_suri" 'BEGIN{ if (b>0) printf "%.1fx", a/b; else print "n/a"}') (target >= 5x)"
