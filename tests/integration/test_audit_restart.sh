#!/bin/bash
# `dengbao audit restart`: a log that no longer verifies (writers refuse to open it) is moved
# aside as it is, and a new log starts in its place whose first records tell the provider and
# every tenant of the old log why; refused (nothing moved) for a healthy log, another key, or
# while a writer has the log open.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq python3:python3

# flip LOG NEEDLE K: flips the low bit of the byte K after NEEDLE in LOG's first segment
flip() {
    python3 - "$@" <<'EOF'
import glob, sys
log, needle, k = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
f = sorted(glob.glob(log + '/seg-*'))[0]
b = bytearray(open(f, 'rb').read())
b[b.find(needle) + k] ^= 1
open(f, 'wb').write(b)
EOF
}

cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out k >/dev/null
"$DBG_BIN" audit keygen --out other >/dev/null
for t in t1 t2 t1 "" t3; do
    "$DBG_BIN" audit append --log L --key k.key --actor ops --role provider-admin \
        --action vm.delete --outcome success ${t:+--tenant "$t"} --target-type domain \
        --target-name "vm-$t" >/dev/null
done
chmod 0750 L

# a healthy log is not moved
out=$("$DBG_BIN" audit restart --log L --key k.key --reason test 2>&1); rc=$?
expect_eq "a log that verifies: exit 2" 2 "$rc"
expect_match "... saying so" "verifies \(5 records\) with this key: nothing to restart; nothing was moved" "$out"
expect_eq "... and nothing moved" "L" "$(ls -d L*)"

# every subcommand refuses an option it does not take, the last ones in the list too (verify
# took --require-range and ignored it)
out=$("$DBG_BIN" audit verify --log L --require-range 2>&1); rc=$?
expect_eq "verify --require-range: exit 2" 2 "$rc"
expect_match "... naming it" "verify does not take --require-range" "$out"
out=$("$DBG_BIN" audit query --log L --reason x 2>&1); rc=$?
expect_eq "query --reason: exit 2" 2 "$rc"

# one flipped byte in t2's record: acknowledged records are damaged, writers refuse the log
flip L vm-t2 3
"$DBG_BIN" audit append --log L --key k.key --actor ops --action x --outcome success >/dev/null 2>err.txt
expect_eq "the damaged log refuses a writer: exit 3" 3 $?
expect_match "... naming the way out" "To keep this log as evidence and start a new one: dengbao audit restart --log L --key KEY --reason TEXT" "$(cat err.txt)"
before=$(cd L && sha256sum seg-* head.json log.pub | sort)

out=$("$DBG_BIN" audit restart --log L --key k.key 2>&1); rc=$?
expect_eq "no --reason: exit 2" 2 "$rc"
expect_match "... naming it" "restart needs --reason TEXT" "$out"
out=$("$DBG_BIN" audit restart --log L --key k.key --reason x --tenant t1 2>&1); rc=$?
expect_eq "an option restart does not take: exit 2" 2 "$rc"
out=$("$DBG_BIN" audit restart --log L --key other.key --reason x 2>&1); rc=$?
expect_eq "another key: exit 2" 2 "$rc"
expect_match "... naming log.pub" "the key is not the one its log.pub names .*nothing was moved" "$out"
expect_eq "... nothing moved" "L" "$(ls -d L*)"

out=$("$DBG_BIN" audit restart --log L --key k.key --actor "CN=ops1,O=provider" \
    --reason "byte flipped in seg 0, found by the nightly verify" 2>&1); rc=$?
expect_eq "restart of the damaged log: exit 0" 0 "$rc"
moved=$(ls -d L.damaged-*)
expect_match "the old log moved to L.damaged-<UTC time>" '^L\.damaged-[0-9]{8}T[0-9]{6}Z$' "$moved"
expect_match "... said with the first bad seq" "moved the log that does not verify to .*/$moved, as it was \(first bad seq 1; " "$out"
expect_match "... and the tenants' notices" "seq 0 audit.log_restarted for the provider, seqs 1-3 a notice for each of 3 tenant\(s\)" "$out"
expect_eq "the moved log is byte for byte what it was" "$before" \
    "$(cd "$moved" && sha256sum seg-* head.json log.pub | sort)"
"$DBG_BIN" audit verify --log "$moved" --key k.key >/dev/null
expect_eq "... and still fails verify (the evidence is kept)" 1 $?
expect_eq "the new directory has the old one's mode" 750 "$(stat -c %a L)"

"$DBG_BIN" audit verify --log L --key k.key >/dev/null
expect_eq "the new log verifies" 0 $?
q=$("$DBG_BIN" audit query --log L --format json)
# t2's only record is the damaged one: its id is read from it, notified last, named as such
expect_eq "one record for the provider and one per tenant, the damaged record's tenant included" \
    '[[0,"",null],[1,"t1",null],[2,"t3",null],[3,"t2",null]]' \
    "$(jq -c '[.[] | [.seq, .tenant, .tenant_prev]]' <<<"$q")"
expect_eq "... all audit.log_restarted by the named actor" '["CN=ops1,O=provider"]' \
    "$(jq -c '[.[] | select(.action == "audit.log_restarted") | .actor] | unique' <<<"$q")"
expect_eq "... carrying the reason, where the old log went and why it failed" \
    "byte flipped in seg 0, found by the nightly verify|$TMP/$moved|1|true" \
    "$(jq -r '.[1].details | "\(.reason)|\(.previous_log.moved_to)|\(.previous_log.first_bad_seq)|\(.previous_log.tenants_complete)"' <<<"$q")"
expect_match "... and the verify problem" "frame checksum mismatch" "$(jq -r '.[2].details.previous_log.problem' <<<"$q")"
expect_eq "... naming t2 as read only from a damaged record" '["t2"]' \
    "$(jq -c '.[3].details.previous_log.tenants_only_in_damaged_records' <<<"$q")"

# a tenant's export shows it the restart
"$DBG_BIN" audit export --log L --tenant t2 -o t2.json >/dev/null
"$DBG_BIN" audit verify-export t2.json --pubkey k.pub --tenant t2 >/dev/null
expect_eq "t2's export of the new log verifies" 0 $?
expect_eq "... and holds its notice" "audit.log_restarted" "$(jq -r '.records[0].record.action // .records[0].action' t2.json)"

# damage in an older segment: a writer still opens the log (open reads only the last segment)
# and the agent would go on writing; restart refuses while that writer has the log open
REC='{"actor":"ops","action":"vm.delete","outcome":"success","tenant":"A"}'
for _ in $(seq 1 40); do echo "$REC"; done |
    "$DBG_BIN" audit append --log M --key k.key --segment-size 4096 >/dev/null
expect_eq "M has a segment after the first" 2 "$(ls M/seg-* | wc -l)"
flip M '"tenant":"A"' 10
mkfifo m.in
"$DBG_BIN" audit append --log M --key k.key <m.in >m.acks 2>m.err &
writer=$!
exec 7>m.in
echo "$REC" >&7
for _ in $(seq 1 100); do [ -s m.acks ] && break; sleep 0.1; done
expect_eq "a writer opened M and appended" 40 "$(cat m.acks)"
"$DBG_BIN" audit verify --log M --key k.key >/dev/null
expect_eq "M fails verify" 1 $?
out=$("$DBG_BIN" audit restart --log M --key k.key --reason "old segment altered" 2>&1); rc=$?
expect_eq "restart while the writer has M open: exit 2" 2 "$rc"
expect_match "... saying stop it first" "is open in a running writer .*stop it first; nothing was moved" "$out"
expect_eq "... nothing moved" "M" "$(ls -d M M.* 2>/dev/null)"
exec 7>&-
wait "$writer"
out=$("$DBG_BIN" audit restart --log M --key k.key --reason "old segment altered" 2>&1); rc=$?
expect_eq "once the writer stopped: exit 0" 0 "$rc"
# the flip turned the damaged record's tenant A into @: both are notified, @ named as read only
# from a damaged record
expect_match "... a notice for A, and for the id read from the damaged record" \
    "seqs 1-2 a notice for each of 2 tenant\(s\)" "$out"
expect_match "... which is named as possibly altered" "1 of the tenant ids were read only from damaged records" "$out"
expect_eq "... in the details too" '["@"]' \
    "$("$DBG_BIN" audit query --log M --format json | jq -c '.[0].details.previous_log.tenants_only_in_damaged_records')"

# writers work again
"$DBG_BIN" audit append --log L --key k.key --actor ops --action vm.reboot --outcome success \
    --tenant t1 >/dev/null
expect_eq "a writer opens the new log" 0 $?
"$DBG_BIN" audit verify --log L --key k.key >/dev/null
expect_eq "... which still verifies" 0 $?
finish
