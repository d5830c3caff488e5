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
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r), ${SECS}s per case, disk: $(df --output=source "$WORK" | tail -1)"
# VERIFY_ONLY=1 skips the append cases (and their in-process verify) and times only the CLI verify.
[ "${VERIFY_ONLY:-0}" = 1 ] || "$WORK/audit_bench" "$WORK" "$WORK/k.key" "$SECS"
# The CLI verify on a log of a fixed size (VERIFY_RECORDS, default 600,000 records of ~350 bytes,
# ~210 MB), run VERIFY_RUNS times (default 5): median and range of wall time, as GB of log per
# second. The log is written non-durably; it is the same log whatever the appends above did.
N=${VERIFY_RECORDS:-600000}
RUNS=${VERIFY_RUNS:-5}
"$WORK/audit_bench" --make-log "$WORK/verify-log" "$WORK/k.key" "$N"
bytes=$(cat "$WORK"/verify-log/seg-*.log | wc -c)
# time_verify LABEL: RUNS timed CLI verifies of the log, median and range as GB of log per second
time_verify() {
    build/dengbao audit verify --log "$WORK/verify-log" >/dev/null 2>&1 # warm the page cache
    for _ in $(seq "$RUNS"); do
        start=$(date +%s.%N)
        build/dengbao audit verify --log "$WORK/verify-log" >/dev/null 2>&1 || { echo "verify failed" >&2; exit 3; }
        end=$(date +%s.%N)
        echo "$start $end" | awk '{ printf "%.6f\n", $2 - $1 }'
    done | sort -n | awk -v b="$bytes" -v n="$N" -v label="$1" '{ t[NR] = $1 } END {
        m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
        printf "%-44s %d records, %.1f MB, %d runs: median %.3f s = %.2f GB/s (range %.2f-%.2f GB/s)\n",
            label, n, b / 1e6, NR, m, b / m / 1e9, b / t[NR] / 1e9, b / t[1] / 1e9 }'
}
time_verify "dengbao audit verify (CLI, whole process)"
# A log that has been queried has its SQLite index, and verify checks every row of it too.
build/dengbao audit reindex --log "$WORK/verify-log" >/dev/null
time_verify "same log with its index.sqlite"
echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
