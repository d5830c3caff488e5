#!/bin/bash
# Scale benchmark at a cloud region's size: bench/gen_scale_node.py writes a test-driver node
# file of N VMs (default 5,000) of 500 tenants on 2 networks each (see its header), then
# `dengbao collect -c`, `dengbao assess -c` (collect + assess in one process) and
# `dengbao report` of the result are timed. Prints wall time and peak RSS of each; the peer is
# `virsh list --all` on the same file (libvirt's test driver loading it, the floor of any
# collector using test:///). hyperfine, when installed, gives the wall times (mean and sd of
# BENCH_RUNS runs); otherwise one /usr/bin/time run each. Peak RSS always comes from GNU time.
# A benchmark, not a test: no target, no pass/fail on the figures.
# Usage: bench/assess_scale.sh [VMS [TENANTS [NETS_PER_TENANT]]]
#        (DBG_BIN: the dengbao binary, default build/dengbao; BENCH_RUNS: hyperfine runs, 3)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "${DBG_SRCDIR:-$HERE/..}" && pwd)
BIN=$(readlink -f "${DBG_BIN:-$SRC/build/dengbao}")
VMS=${1:-${BENCH_VMS:-5000}}
TENANTS=${2:-500}
NETS=${3:-2}
RUNS=${BENCH_RUNS:-3}
command -v python3 >/dev/null || { echo "SKIP: needs python3 (bench/gen_scale_node.py)"; exit 0; }
[ -x /usr/bin/time ] || { echo "SKIP: needs GNU time at /usr/bin/time (apt-get install time)"; exit 0; }
[ -x "$BIN" ] || { echo "no dengbao binary at $BIN (make, or set DBG_BIN)" >&2; exit 2; }
HYPERFINE=$(command -v hyperfine || true)
WORK=$(mktemp -d /tmp/dbg-bench-scale-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export SOURCE_DATE_EPOCH=1795564800

python3 "$HERE/gen_scale_node.py" -n "$VMS" -t "$TENANTS" --nets-per-tenant "$NETS" \
    -o "$WORK/node.xml" || exit 1
URI="test://$WORK/node.xml"
HR="$SRC/data/demo/host-root"
echo "cloud: $VMS tenant VMs, $TENANTS tenants, $((TENANTS * NETS)) tenant networks;" \
    "node file $(du -h "$WORK/node.xml" | cut -f1); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wall times: $([ -n "$HYPERFINE" ] && echo "hyperfine, mean ± sd of $RUNS runs" || echo "one /usr/bin/time run (hyperfine not installed)")"

# measure LABEL CMD...: wall time (hyperfine or GNU time), CPU time and peak RSS (GNU time).
# dengbao's exit 1 means findings, not a failure; 2 and up are failures.
status=0
measure() {
    local label=$1
    shift
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/t" "$@" >"$WORK/out" 2>"$WORK/err"
    local rc=$?
    read -r wall user sys rss < <(tail -n 1 "$WORK/t")
    local cpu
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    local shown
    shown=$(printf '%6.2f s' "$wall")
    if [ -n "$HYPERFINE" ] && [ "$rc" -le 1 ]; then
        local cmd
        cmd=$(printf '%q ' "$@")
        if "$HYPERFINE" -N -i --runs "$RUNS" --export-json "$WORK/h.json" "$cmd" >/dev/null 2>&1; then
            shown=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]
print("%6.2f s ± %.2f" % (r["mean"], r["stddev"] or 0))' "$WORK/h.json")
        fi
    fi
    printf '%-30s wall %-18s cpu %6.2f s  peak RSS %5d MB  (exit %d)\n' "$label" "$shown" "$cpu" \
        "$((rss / 1024))" "$rc"
    if [ "$rc" -gt 1 ]; then
        sed 's/^/    /' "$WORK/err" | head -5
        status=1
    fi
}

if command -v virsh >/dev/null; then
    measure "peer: virsh list --all" virsh -c "$URI" "list --all"
fi
DENGBAO_LOG=info measure "dengbao collect" "$BIN" collect -c "$URI" --host-root "$HR" \
    -o "$WORK/snapshot.json"
grep -o 'collect: .*' "$WORK/err" | sed 's/^/    /'
measure "dengbao assess -c (live)" "$BIN" assess -c "$URI" --host-root "$HR" --format json \
    -o "$WORK/result.json"
measure "dengbao assess --snapshot" "$BIN" assess --snapshot "$WORK/snapshot.json" \
    --format json -o "$WORK/result2.json"
measure "dengbao report --format html" "$BIN" report "$WORK/result.json" --format html \
    -o "$WORK/report.html"
if [ -s "$WORK/result.json" ]; then
    python3 - "$WORK/result.json" "$WORK/snapshot.json" <<'EOF'
import json, os, sys
r = json.load(open(sys.argv[1]))
ev = sum(len(i.get("evidence", [])) for g in r.get("gaps", []) for i in g.get("items", []))
print("result: score %s, %s; snapshot %.1f MB, result %.1f MB, %d gap evidence lines" % (
    r["score"]["value"], r["score"]["counts"],
    os.path.getsize(sys.argv[2]) / 1e6, os.path.getsize(sys.argv[1]) / 1e6, ev))
EOF
fi
exit $status
