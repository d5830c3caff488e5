#!/bin/bash
# Scale benchmark of the assess half: a generated cloud of 10,000 VMs, 500 networks and
# 20,000 volumes (bench/gen-cloud, from the platform module) on libvirt's test driver.
# Target (issue #3): collect + assess in under 5 s and under 200 MB RSS on a 2-core machine.
# Measures: collect alone, assess --snapshot alone, and one live `assess -c` (collect +
# assess in one process, the figure the target is about). Peer: the collect step by itself.
set -u
: "${DBG_BIN:?}" "${DBG_SRCDIR:?}"
cd "$DBG_SRCDIR" || exit 1
VMS=${BENCH_VMS:-10000}
NETS=${BENCH_NETS:-500}
gen=bench/gen-cloud
if [ ! -x "$gen" ]; then
    echo "SKIP: $gen (platform module) is not in this tree"
    exit 0
fi
tmp=$(mktemp -d /tmp/dbg-bench-assess-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$gen" "$VMS" "$NETS" >"$tmp/cloud.xml"
uri="test:///$tmp/cloud.xml"
export SOURCE_DATE_EPOCH=1795564800
# measure NAME CMD...: wall seconds and peak RSS (MB) of one run, from GNU time.
measure() {
    local name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"
    local rc=$?
    read -r secs kb < <(tail -n 1 "$tmp/time")
    printf '%-34s %6.2f s  %6.1f MB  (exit %d)\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)" "$rc"
    echo "$secs $kb"  >"$tmp/$name.m"
}
echo "cloud: $VMS VMs, $NETS networks, $(grep -c '<volume' "$tmp/cloud.xml") volumes; $(nproc) cores"
measure collect "$DBG_BIN" collect -c "$uri" --host-root data/demo/host-root -o "$tmp/snap.json"
measure assess-snapshot "$DBG_BIN" assess --snapshot "$tmp/snap.json" --format json -o "$tmp/r.json"
measure assess-live "$DBG_BIN" assess -c "$uri" --host-root data/demo/host-root --format json -o "$tmp/r2.json"
measure assess-live-html "$DBG_BIN" assess -c "$uri" --host-root data/demo/host-root --format html -o "$tmp/r.html"
read -r secs kb <"$tmp/assess-live.m"
ok=$(echo "$secs < 5 && $kb < 204800" | bc)
echo "target collect+assess < 5 s and < 200 MB RSS: $([ "$ok" = 1 ] && echo met || echo NOT met) ($secs s, $((kb / 1024)) MB)"
echo "result: $(jq -r '"\(.items | length) items, score \(.score.value), \([.items[] | .evidence | length] | add) evidence lines"' "$tmp/r.json"), JSON $(du -h "$tmp/r.json" | cut -f1), HTML $(du -h "$tmp/r.html" | cut -f1)"
[ "$ok" = 1 ]
