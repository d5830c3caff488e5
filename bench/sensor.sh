#!/bin/bash
# Sensor benchmark: one generated capture (>= 1.5M packets, >= 500k flows, with six attacks
# embedded; bench/sensor_gen.py, not committed), read in the same run by
#   1. a bare libpcap read loop (the ceiling: read and count only), twice: as libpcap opens the
#      file itself (a 4 KiB stdio buffer) and through a 64 KiB stdio buffer as the sensor reads it;
#      the faster one is the limit the sensor is measured against,
#   2. dengbao sensor with every detector on (an inventory attributes the attack sources),
#   3. Suricata 7 (`suricata -r FILE -k none --runmode single`) with threshold rules equivalent
#      to the sensor's scan/flood/brute-force thresholds. Debian 12 ships Suricata only in
#      bookworm-backports; it is installed through this script's own apt configuration (a
#      private sources list and state directory; /etc/apt is not touched). When that is not
#      possible the comparison is skipped with a message.
# Prints packets/s (median and range of BENCH_RUNS alternating runs), peak RSS and alerts, and
# the ratios. Env: DBG_BIN, DBG_SRCDIR, BENCH_FLOWS (default 520000), BENCH_RUNS (default 5),
# BENCH_CAPTURE=mix (concurrent flows with responses and FIN exchanges, ~14 frames per flow,
# 7.5 M frames, 5 GB: about a minute to write, in /tmp), handshake (three-frame flows back to
# back, 1.57 M frames, 125 MB, the worst case: a new flow every third frame) or both (the
# default: mix, then handshake; the 50 % target is judged on the mix, the handshake is reported
# as the worst case beside it),
# BENCH_CPU=N pins every reader to CPU N, BENCH_KEEP=1 keeps the work directory, BENCH_INSTRUCTIONS=1 also counts instructions per packet
# with valgrind (about a minute more).
set -u
if [ "${BENCH_CAPTURE:-both}" = both ]; then
    # Both captures meet the issue's terms (>= 1.5 M packets, >= 500k flows, generated). The
    # target is judged on the mix, traffic as a busy service sees it; the handshake capture is
    # a SYN-flood-like extreme (every flow three frames long) and is reported beside it so that
    # nobody reads the mix's figure as the sensor's rate on every traffic.
    sum=$(mktemp /tmp/dbg-bench-sensor-sum-XXXXXX)
    echo "#### capture 1 of 2: mix (the 50 % target is judged on this one)"
    BENCH_CAPTURE=mix bash "$0" "$@" | tee "$sum.mix"
    echo "#### capture 2 of 2: handshake (the worst case, reported beside it)"
    BENCH_CAPTURE=handshake bash "$0" "$@" | tee "$sum.handshake"
    for c in mix handshake; do
        echo "#### summary, $c$([ $c = mix ] && echo ' (target judged here)' || echo ' (worst case)')"
        grep -E '^(dengbao sensor:|sensor / |no attack missed|MISSED|SKIP)' "$sum.$c"
    done
    rm -f "$sum" "$sum.mix" "$sum.handshake"
    exit 0
fi
DBG_BIN=${DBG_BIN:-$(dirname "$0")/../build/dengbao}
DBG_SRCDIR=${DBG_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
W=$(mktemp -d /tmp/dbg-bench-sensor-XXXXXX)
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT
PY=python3
command -v "$PY" >/dev/null || { echo "sensor bench: needs python3"; exit 1; }
PCAP="$W/bench.pcap"

echo "== generating the capture"
case "$BENCH_CAPTURE" in
handshake) MIX=() ;;
mix) MIX=(--mix) ;;
*) echo "sensor bench: BENCH_CAPTURE is mix, handshake or both"; exit 2 ;;
esac
"$PY" "$DBG_SRCDIR/bench/sensor_gen.py" "$PCAP" "${BENCH_FLOWS:-520000}" "${MIX[@]}" || exit 1
# BENCH_CPU=N runs every reader on CPU N (taskset), so the bare loops and the sensor share one.
# On this VM the two vCPUs' speeds differ and change by the hour (one check: the sensor loop
# 0.25 s on CPU 0 and 0.35 s on CPU 1, the bare loop 0.094 s and 0.105 s; an hour later the other
# way round), and an unpinned run lands on either: much of the run-to-run spread.
PIN=()
if [ -n "${BENCH_CPU:-}" ]; then
    command -v taskset >/dev/null || { echo "sensor bench: BENCH_CPU needs taskset (util-linux)"; exit 1; }
    PIN=(taskset -c "$BENCH_CPU")
    echo "every reader pinned to CPU $BENCH_CPU"
fi
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

# Both readers are timed the same way: the loop time from opening the capture to the last
# packet handled (the sensor: through its end-of-input work, after its tables are set up), from
# the page cache, both through pcap_dispatch; and the whole process (wall clock, start-up
# included: the sensor's start-up faults in its ~120 MiB of state). They alternate, RUNS times
# each; medians and ranges are reported, and the load, since other work shares the machine.
echo "== bare libpcap read loops (pcap_dispatch, count only) and dengbao sensor, alternating"
cat >"$W/bare.c" <<'CEOF'
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static void count(u_char *user, const struct pcap_pkthdr *h, const u_char *d)
{
    unsigned long *c = (unsigned long *)user;
    (void)d;
    c[0]++;
    c[1] += h->caplen;
}
/* bare FILE [BUFSIZE]: with BUFSIZE the file is read through a stdio buffer of that size
 * (pcap_fopen_offline), as dengbao sensor reads it; without, libpcap opens it itself. */
int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct timespec a, b;
    if (argc < 2)
        return 2;
    clock_gettime(CLOCK_MONOTONIC, &a);
    pcap_t *p;
    if (argc > 2) {
        FILE *f = fopen(argv[1], "rb");
        size_t n = (size_t)atol(argv[2]);
        char *buf = f ? malloc(n) : NULL;
        if (!buf)
            return 1;
        setvbuf(f, buf, _IOFBF, n);
        p = pcap_fopen_offline(f, err);
    } else {
        p = pcap_open_offline(argv[1], err);
    }
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    unsigned long c[2] = {0, 0};
    while (pcap_dispatch(p, 65536, count, (u_char *)c) > 0)
        ;
    pcap_close(p);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double el = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%lu %.4f %.0f\n", c[0], el, (double)c[0] / el);
    return 0;
}
CEOF
cc -O2 -o "$W/bare" "$W/bare.c" -lpcap || { echo "sensor bench: cannot build the bare loop"; exit 1; }
cat "$PCAP" >/dev/null # into the page cache before either reads it
RUNS=${BENCH_RUNS:-5}
SENSOR_BUF=65536 # the stdio buffer dengbao sensor reads a file through (OFFLINE_BUFFER, src/sensor/capture.c)
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores shared with other work)"
: >"$W/bare.txt"
: >"$W/barebuf.txt"
: >"$W/sensor.txt"
bare_run() { # NAME [BUFSIZE]: one timed bare loop, "packets loop_s process_s" added to NAME.txt
    "${PIN[@]}" /usr/bin/time -f "%e" -o "$W/$1.time" "$W/bare" "$PCAP" ${2:+"$2"} >"$W/$1.out" || exit 1
    read -r n bare_el _ <"$W/$1.out"
    echo "$n $bare_el $(tail -1 "$W/$1.time")" >>"$W/$1.txt"
}
for i in $(seq "$RUNS"); do
    bare_run bare
    el=$bare_el
    bare_run barebuf "$SENSOR_BUF"
    el1=$bare_el
    rm -f "$W/sensor.eve"
    "${PIN[@]}" /usr/bin/time -f "%e %M" -o "$W/rss" "$DBG_BIN" sensor -r "$PCAP" --inventory "$W/inventory.json" \
        --eve "$W/sensor.eve" --stats >"$W/stats.json" 2>"$W/sensor.err"
    echo "$(jq -r '"\(.packets) \(.elapsed_s)"' "$W/stats.json") $(tail -1 "$W/rss")" >>"$W/sensor.txt"
    echo "run $i: bare ${el}s, bare with a 64 KiB buffer ${el1}s; sensor $(jq -r '"\(.elapsed_s)s, \(.flows_total) flows, \(.alerts) alerts"' "$W/stats.json") (process $(tail -1 "$W/rss" | cut -d' ' -f1)s, peak RSS $(tail -1 "$W/rss" | cut -d' ' -f2) KiB)"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
stats() { # file column -> "median min max" of packets/s (column 2: loop s, 3: process s)
    awk -v c="$2" '{printf "%.0f\n", $1 / $c}' "$1" | sort -n |
        awk '{v[NR]=$1} END{printf "%.0f %.0f %.0f\n", (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[1], v[NR]}'
}
read -r bare_med bare_min bare_max < <(stats "$W/bare.txt" 2)
read -r bare1_med bare1_min bare1_max < <(stats "$W/barebuf.txt" 2)
read -r sen_med sen_min sen_max < <(stats "$W/sensor.txt" 2)
read -r barew_med barew_min barew_max < <(stats "$W/bare.txt" 3)
read -r bare1w_med bare1w_min bare1w_max < <(stats "$W/barebuf.txt" 3)
read -r senw_med senw_min senw_max < <(stats "$W/sensor.txt" 3)
echo "bare read loop (libpcap's own open): median $bare_med packets/s [$bare_min - $bare_max]; whole process median $barew_med [$barew_min - $barew_max]"
echo "bare read loop (64 KiB stdio buffer, as the sensor reads): median $bare1_med packets/s [$bare1_min - $bare1_max]; whole process median $bare1w_med [$bare1w_min - $bare1w_max]"
echo "dengbao sensor: median $sen_med packets/s [$sen_min - $sen_max]; whole process median $senw_med [$senw_min - $senw_max]"
found=$(jq -r '.alert.signature' "$W/sensor.eve" | sort -u | tr '\n' ' ' | sed 's/ $//')
echo "alert types found: $found"
missed=""
for t in $EXPECTED; do case " $found " in *" $t "*) ;; *) missed="$missed $t" ;; esac; done
if [ -z "$missed" ]; then echo "no attack missed ($EXPECTED)"; else echo "MISSED:$missed"; fi
# The limit is the faster bare loop (the buffered one, normally): the sensor reads as it does.
ref=$bare_med refw=$barew_med
if [ "$bare1_med" -gt "$bare_med" ]; then ref=$bare1_med refw=$bare1w_med; fi
pct() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f%%", 100*a/b}'; }
echo "sensor / bare read, medians: loop $(pct "$sen_med" "$ref") of the faster bare loop (target >= 50%), $(pct "$sen_med" "$bare_med") of libpcap's own open; whole process $(pct "$senw_med" "$refw")"
# Other work on the host only ever slows a run down (this VM reports no steal time), so the
# fastest run of each reader is the least disturbed one: its ratio is printed too.
refmax=$bare_max
if [ "$bare1_max" -gt "$bare_max" ]; then refmax=$bare1_max; fi
echo "sensor / bare read, fastest runs: loop $(pct "$sen_max" "$refmax") of the faster bare loop, $(pct "$sen_max" "$bare_max") of libpcap's own open"
best_sensor=$senw_med

# Instructions per packet (valgrind's callgrind: the same count for the same binary and capture
# whatever else the machine runs, so a change's effect shows even when timings drift).
if [ "${BENCH_INSTRUCTIONS:-0}" = 1 ]; then
    if command -v valgrind >/dev/null; then
        icount() { # the sensor's exit status says whether it alerted: not looked at here
            rm -f "$W/cg.out"
            valgrind --tool=callgrind --callgrind-out-file="$W/cg.out" "$@" >/dev/null 2>&1
            awk '/^summary:/ {print $2}' "$W/cg.out" 2>/dev/null
        }
        bi=$(icount "$W/bare" "$PCAP" "$SENSOR_BUF")
        si=$(icount "$DBG_BIN" sensor -r "$PCAP" --inventory "$W/inventory.json" --eve "$W/cg.eve")
        np=$(jq -r .packets "$W/stats.json")
        echo "instructions per packet (callgrind, whole process): bare loop with a 64 KiB buffer $(awk -v a="$bi" -v n="$np" 'BEGIN{printf "%.0f", a/n}'), sensor $(awk -v a="$si" -v n="$np" 'BEGIN{printf "%.0f", a/n}')"
    else
        echo "instructions: valgrind not installed, skipped"
    fi
fi

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
: >"$W/suri.txt"
for i in 1 2 3; do
    rm -rf "$W/suri"; mkdir -p "$W/suri"
    t0=$(date +%s.%N)
    "${PIN[@]}" /usr/bin/time -f "%M" -o "$W/suri-rss" "$suricata_bin" -c "$W/suricata.yaml" -S "$W/bench.rules" \
        -r "$PCAP" -k none --runmode single -l "$W/suri" >"$W/suri.out" 2>&1
    t1=$(date +%s.%N)
    n=$(grep -oE 'pcap: read [0-9]+ files?, [0-9]+ packets' "$W/suri/suricata.log" "$W/suri.out" 2>/dev/null | grep -oE '[0-9]+ packets' | head -1 | grep -oE '[0-9]+')
    [ -n "$n" ] || n=$(grep -oE 'packets: [0-9]+' "$W/suri.out" | head -1 | grep -oE '[0-9]+')
    [ -n "$n" ] || n=$(jq -r .packets "$W/stats.json") # as many as the sensor read
    pps=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", n/(b-a)}')
    echo "suricata: $n packets in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')s (incl. start-up) = $pps packets/s, peak RSS $(tail -1 "$W/suri-rss") KiB, alerts $(grep -c '"event_type":"alert"' "$W/suri/eve.json" 2>/dev/null)"
    echo "$pps" >>"$W/suri.txt"
done
best_suri=$(sort -n "$W/suri.txt" | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}')
echo "suricata alert types: $(jq -r '.alert.signature' "$W/suri/eve.json" 2>/dev/null | sort -u | tr '\n' ' ')"
echo "sensor / suricata, medians, whole process incl. start-up for both: $(awk -v a="$best_sensor" -v b="$best_suri" 'BEGIN{ if (b>0) printf "%.1fx", a/b; else print "n/a"}') (target >= 5x)"
