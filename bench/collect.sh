#!/bin/bash
# Scale benchmark, collect half: `dengbao collect` of a generated cloud (default 10,000 VMs,
# 500 networks, 20,000 volumes) from libvirt's in-process test driver. Prints wall time, CPU
# and peak RSS, dengbao's own share (DENGBAO_LOG=info timing), and as the peer the same
# numbers for `virsh list --all` on the same file (the test driver loading the node file,
# which the collector cannot avoid). Targets (issue #3): < 3 s, well under 200 MB RSS.
# Usage: bench/collect.sh [DENGBAO_BIN] [VMS] [NETWORKS]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$HERE/../build/dengbao}
VMS=${2:-10000}
NETS=${3:-500}
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 77; }
WORK=$(mktemp -d /tmp/dbg-bench-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

"$HERE/gen-cloud" "$VMS" "$NETS" > "$WORK/cloud.xml"
echo "cloud: $VMS VMs, $NETS networks, $((VMS * 2)) volumes; node file $(du -h "$WORK/cloud.xml" | cut -f1)"

measure() { # label, command...
    local label=$1; shift
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" > "$WORK/out" 2> "$WORK/err"
    local rc=$?
    read -r wall user sys rss < <(tail -1 "$WORK/t")
    printf '%-28s rc=%d wall %6.2f s  cpu %6.2f s  peak RSS %4d MB\n' "$label" "$rc" "$wall" \
        "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" "$((rss / 1024))"
}

measure "peer: virsh list --all" virsh -c "test://$WORK/cloud.xml" "list --all"
DENGBAO_LOG=info measure "dengbao collect" "$BIN" collect -c "test://$WORK/cloud.xml" \
    --host-root "$HERE/../data/demo/host-root" -o "$WORK/snapshot.json"
grep -o 'collect: .*' "$WORK/err" | sed 's/^/  /'
echo "  snapshot $(du -h "$WORK/snapshot.json" | cut -f1), $(grep -c '"mac"' "$WORK/snapshot.json") interfaces"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
