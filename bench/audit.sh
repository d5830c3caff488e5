#!/bin/bash
# Audit-log benchmark: builds bench/audit_bench.c against build/libdengbao.a and runs it in a
# scratch directory on the same disk as /tmp. Usage: bench/audit.sh [SECONDS_PER_CASE] (default 1).
# Also times `dengbao audit verify` on the biggest log (the CLI path a tenant would use).
set -eu
cd "$(dirname "$0")/.."
SECS=${1:-1}
[ -f build/libdengbao.a ] || make >/dev/null
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dbg-audit-bench-XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -o "$WORK/audit_bench" bench/audit_bench.c build/libdengbao.a \
    $(pkg-config --cflags --libs jansson openssl sqlite3 libvirt libxml-2.0 yaml-0.1 libpcap zlib libzstd) \
    $(pkg-config --libs yara libpq 2>/dev/null) -lpthread -lm
build/dengbao audit keygen --out "$WORK/k" >/dev/null
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r), ${SECS}s per case, disk: $(df --output=source "$WORK" | tail -1)"
"$WORK/audit_bench" "$WORK" "$WORK/k.key" "$SECS"
big=$(ls -d "$WORK"/durable-batch256-* | head -1)
for d in "$WORK"/durable-batch256-*; do
    [ "$(du -s "$d" | cut -f1)" -gt "$(du -s "$big" | cut -f1)" ] && big=$d
done
bytes=$(cat "$big"/seg-*.log | wc -c)
start=$(date +%s.%N)
build/dengbao audit verify --log "$big" >/dev/null
end=$(date +%s.%N)
awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN { printf "%-44s %.1f MB in %.3f s: %.2f GB/s\n", "dengbao audit verify (CLI, whole process)", b/1e6, e-s, b/(e-s)/1e9 }'
