#!/bin/bash
# Crash safety: an appender is killed with SIGKILL at random moments under load, 20 times. The
# appender prints a seq only after the record is durable. After every restart (a reopen, which
# cuts a torn tail and seals what a crash left unsealed) `verify` passes and every acknowledged
# seq is in the log; seqs are never handed out twice.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq strace:strace

cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out k >/dev/null || { fail keygen; finish; exit 1; }
REC='{"actor":"uid:0(root)","role":"provider-admin","tenant":"t1","action":"vm.reboot","target":{"type":"domain","name":"vm-crash"},"outcome":"success","details":{"note":"crash test"}}'
ROUNDS=${AUDIT_CRASH_ROUNDS:-20}
recovered=0
for round in $(seq 1 "$ROUNDS"); do
    # small segments so some kills land in a rotation; batches of up to 64 per fdatasync
    yes "$REC" | "$DBG_BIN" audit append --log L --key k.key --batch 8 --segment-size 262144 \
        --checkpoint-every 500 >"acked.$round" 2>"err.$round" &
    pid=$!
    sleep "0.$(printf "%02d" $((RANDOM % 12 + 2)))"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    # restart: one more record through a fresh open (recovery happens here)
    seq=$("$DBG_BIN" audit append --log L --key k.key --actor restart --action audit.restart --outcome success 2>"restart.$round")
    grep -q "torn tail" "restart.$round" && recovered=$((recovered + 1))
    out=$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json)
    ok=$(jq -r .ok <<<"$out")
    records=$(jq -r .records <<<"$out")
    maxack=$(grep -hE '^[0-9]+$' acked.* | sort -n | tail -1)
    nack=$(grep -chE '^[0-9]+$' "acked.$round")
    if [ "$ok" != true ]; then
        fail "round $round: verify after restart" "$(jq -r .problem <<<"$out")"
    elif [ -n "$maxack" ] && [ "$maxack" -ge "$records" ]; then
        fail "round $round: acknowledged seq $maxack missing" "log holds $records records"
    elif ! [ "$seq" -gt "${maxack:--1}" ] 2>/dev/null; then
        fail "round $round: restart got seq '$seq'" "not after acknowledged $maxack (seq reused?)"
    else
        pass "round $round: killed after $nack acks; verify ok, $records records, all acknowledged present"
    fi
done
# every acknowledged seq, across all rounds, exactly once in the log
total_acked=$(grep -hE '^[0-9]+$' acked.* | sort -n | uniq -d | wc -l)
expect_eq "no seq acknowledged twice" 0 "$total_acked"
"$DBG_BIN" audit query --log L --format json | jq -r '.[].seq' | sort >present.txt
grep -hE '^[0-9]+$' acked.* | sort >acked_all.txt
missing=$(comm -23 acked_all.txt present.txt | wc -l)
expect_eq "every acknowledged seq is present (query)" 0 "$missing"
echo "torn tails cut on restart: $recovered of $ROUNDS rounds (SIGKILL cannot tear a write(); see below)"

# A torn write (power loss mid-write) leaves half a frame at the end: the next open cuts it,
# keeps the bytes aside and says so; nothing acknowledged is lost and verify passes.
records_before=$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json | jq .records)
# A SIGKILL round above may already have left a torn file (a multi-record write cut short).
torn_before=$(ls L/torn-*.bin 2>/dev/null | wc -l)
last=$(ls L/seg-*.log | tail -1)
printf 'R\001\000\000\054\001\000\000\000\000\000\000{"action":"half a rec' >>"$last"
out=$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json); rc=$?
expect_eq "torn tail seen by verify before recovery" 1 "$rc"
expect_match "torn tail named" "torn or truncated tail" "$(jq -r .problem <<<"$out")"
seq=$("$DBG_BIN" audit append --log L --key k.key --actor a --action x --outcome y 2>err.torn)
expect_match "open reports the torn tail" "torn tail.*cut" "$(cat err.torn)"
expect_eq "append after recovery continues the sequence" "$records_before" "$seq"
expect_eq "torn bytes kept aside" $((torn_before + 1)) "$(ls L/torn-*.bin | wc -l)"
out=$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json)
expect_eq "verify passes after recovery" true "$(jq -r .ok <<<"$out")"

# A crash in the middle of a rotation leaves the new segment empty or with half a header (the
# header is synced before anything goes into a segment, so it holds nothing acknowledged): the
# next open moves it aside and starts the segment again. Every flush rotates at --segment-size 1.
printf '{"actor":"a","action":"x","outcome":"y"}\n%.0s' 1 2 3 |
    "$DBG_BIN" audit append --log R --key k.key --batch 1 --segment-size 1 >/dev/null
for cut in 0 5; do
    last=$(ls R/seg-*.log | tail -1)
    truncate -s "$cut" "$last"
    seq=$("$DBG_BIN" audit append --log R --key k.key --segment-size 1 --actor a --action x --outcome y 2>err.rot)
    expect_match "rotation cut short at $cut bytes: said" "no segment header.*moved aside" "$(cat err.rot)"
    out=$("$DBG_BIN" audit verify --log R --pubkey k.pub --format json)
    expect_eq "rotation cut short at $cut bytes: verify passes" true "$(jq -r .ok <<<"$out")"
    expect_eq "rotation cut short at $cut bytes: seq continues" "$(($(jq .records <<<"$out") - 1))" "$seq"
done

# A log whose newest records were removed is not reopened over the evidence.
cp -a R R2
rm $(ls R2/seg-*.log | tail -2)   # the newest holds only a header; the one before holds records
"$DBG_BIN" audit append --log R2 --key k.key --actor a --action x --outcome y >/dev/null 2>err.gone; rc=$?
expect_eq "records removed: open refused" 3 "$rc"
expect_match "records removed: said" "head.json vouches for" "$(cat err.gone)"

# verify while a writer appends: a rotation between verify's directory listing and its reads
# made a sound log look as if a segment were missing. Small segments rotate every few flushes;
# 12 verifies each overlap several rotations, and every one must pass.
yes "$REC" | head -n 2000000 | "$DBG_BIN" audit append --log LV --key k.key --no-sync --batch 64 \
    --segment-size 50000 >/dev/null 2>err.live &
writer=$!
while [ "$(ls LV/seg-*.log 2>/dev/null | wc -l)" -lt 2 ]; do sleep 0.05; done
live_bad=0 live_runs=0 live_problem=
while [ "$live_runs" -lt 12 ] && kill -0 "$writer" 2>/dev/null; do
    live_runs=$((live_runs + 1))
    out=$("$DBG_BIN" audit verify --log LV --pubkey k.pub --format json)
    if [ "$(jq -r .ok <<<"$out")" != true ]; then
        live_bad=$((live_bad + 1))
        live_problem=$(jq -r .problem <<<"$out")
    fi
done
kill -TERM "$writer" 2>/dev/null
wait "$writer" 2>/dev/null
expect_eq "verify during appends: 12 runs while the writer was live" 12 "$live_runs"
expect_eq "verify during appends: none fails${live_problem:+ (last: $live_problem)}" 0 "$live_bad"
expect_eq "verify during appends: the writer rotated meanwhile" 1 \
    "$([ "$(ls LV/seg-*.log | wc -l)" -gt 10 ] && echo 1 || echo 0)"

# Records acknowledged after the last checkpoint are not under head.json yet. Damage to one of
# them with intact frames after it is no torn write (one cut short leaves nothing after it), yet
# open cut it all as "unacknowledged writes", dropped the acknowledged records after it into
# torn-*.bin and gave their seqs to new records. It now refuses and cuts nothing.
TAMPER="$DBG_SRCDIR/tests/cases/audit/tamper.py"
REC_K='{"actor":"a","action":"vm.delete","outcome":"success","tenant":"t1"}'
echo "$REC_K" | "$DBG_BIN" audit append --log LK --key k.key >/dev/null
mkfifo lk.in
"$DBG_BIN" audit append --log LK --key k.key --checkpoint-every 100000 --checkpoint-interval 3600 \
    <lk.in >lk.acks 2>/dev/null &
writer=$!
exec 7>lk.in
printf '%s\n%s\n%s\n%s\n' "$REC_K" "$REC_K" "$REC_K" "$REC_K" >&7
for _ in $(seq 1 100); do [ "$(wc -l <lk.acks)" -ge 4 ] && break; sleep 0.1; done
kill -KILL "$writer" 2>/dev/null
exec 7>&-
wait "$writer" 2>/dev/null
expect_eq "writer acknowledged seqs 1-4 before it was killed" "1 2 3 4" "$(tr '\n' ' ' <lk.acks | sed 's/ $//')"
python3 "$TAMPER" LK/seg-00000000000000000000.log flip 2
cp LK/seg-00000000000000000000.log lk.damaged
"$DBG_BIN" audit append --log LK --key k.key --actor a --action x --outcome y >lk.seq 2>lk.err; rc=$?
expect_eq "acknowledged record damaged, intact frames after it: open refuses (exit 3)" 3 "$rc"
expect_match "... saying why" "damaged at offset [0-9]+ \(frame checksum mismatch\), but 2 intact frame\(s\) follow it: not a torn write" "$(cat lk.err)"
expect_eq "... the segment untouched, nothing moved aside, no seq handed out" "0 0 " \
    "$(cmp -s lk.damaged LK/seg-00000000000000000000.log; echo $?) $(ls LK/torn-*.bin 2>/dev/null | wc -l) $(cat lk.seq)"

# --no-sync leaves the per-batch fdatasync out, but head.json (itself synced) must not reach the
# disk ahead of the records it vouches for, or after a power loss the log refuses to reopen. A
# power loss cannot be staged here; the order of the system calls can be checked: no head.json
# is renamed into place while a segment has writes not yet synced.
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
    printf '{"actor":"a","action":"x","outcome":"y"}\n%.0s' $(seq 1 50) |
        strace -f -y -e trace=write,pwrite64,fdatasync,fsync,rename,renameat,renameat2 \
            -o nosync.trace "$DBG_BIN" audit append --log NS --key k.key --no-sync --batch 8 >/dev/null
    order=$(awk '/(write|pwrite64)\([0-9]+<[^>]*\/seg-[0-9]+\.log>/ { dirty = 1 }
        /f(data)?sync\([0-9]+<[^>]*\/seg-[0-9]+\.log>/ { dirty = 0 }
        /rename.*head\.json"\)/ { heads++; if (dirty) ahead++ }
        END { print (heads > 1 ? "heads" : "no heads"), ahead + 0, "ahead of the segment" }' nosync.trace)
    expect_eq "--no-sync: head.json never renamed in before the segment is synced" \
        "heads 0 ahead of the segment" "$order"
else
    echo "strace cannot trace here: the --no-sync ordering check is skipped"
fi
finish
