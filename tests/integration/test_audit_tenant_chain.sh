#!/bin/bash
# Each record of a tenant names the seq of the tenant's record before it ("tenant_prev", inside the
# hashed and signed record), so an export that leaves out a record of the tenant between two it
# holds fails verify-export, naming the seqs. Checked here: honest exports of two interleaved
# tenants appended over several reopens pass; a middle or first record removed (everything else
# valid) fails; the tail cut off passes alone (the documented limit) and fails with --previous
# once a later export holds a record after it; a log written before tenant_prev still verifies,
# and records appended to it link to its old records.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq
cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out k >/dev/null || { fail keygen; finish; exit 1; }

# records FROM TO: seq i belongs to tenant-0, tenant-1 or the provider ("") by i % 3
records() {
    local i t
    for i in $(seq "$1" $(($2 - 1))); do
        case $((i % 3)) in 0) t=tenant-0 ;; 1) t=tenant-1 ;; *) t= ;; esac
        printf '{"time":"2026-01-01T00:%02d:%02d.000000Z","actor":"op%d","role":"provider-admin","tenant":"%s","action":"vm.start","target":{"type":"domain","name":"vm%d"},"outcome":"success"}\n' \
            $((i / 60)) $((i % 60)) "$i" "$t" "$i"
    done
}
append() { "$DBG_BIN" audit append --log "$1" --key "$2" --batch 1 --checkpoint-every 10 --segment-size 4000 >/dev/null; }

# three appends, each a reopen of the log (and rotations between them)
records 0 10 | append log k.key && records 10 20 | append log k.key && records 20 30 | append log k.key
expect_eq "log verifies" 0 "$("$DBG_BIN" audit verify --log log --pubkey k.pub >/dev/null; echo $?)"
expect_eq "a provider-only record has no tenant_prev" false \
    "$("$DBG_BIN" audit prove 2 --log log | jq '.record | has("tenant_prev")')"
"$DBG_BIN" audit export --log log --tenant tenant-0 -o e0.json >/dev/null
"$DBG_BIN" audit export --log log --tenant tenant-1 -o e1.json >/dev/null
expect_eq "tenant-0: each record names the one before, across reopens" \
    "null 0 3 6 9 12 15 18 21 24" "$(jq -r '[.records[].record.tenant_prev] | map(tostring) | join(" ")' e0.json)"
expect_eq "tenant-1: its own chain, interleaved" \
    "null 1 4 7 10 13 16 19 22 25" "$(jq -r '[.records[].record.tenant_prev] | map(tostring) | join(" ")' e1.json)"
out=$("$DBG_BIN" audit verify-export e0.json --pubkey k.pub --tenant tenant-0); rc=$?
expect_eq "honest export: exit 0" 0 "$rc"
expect_nomatch "honest export: no note about old records" "predate|cannot be detected" "$out"
expect_eq "honest export of the other tenant: exit 0" 0 \
    "$("$DBG_BIN" audit verify-export e1.json --pubkey k.pub --tenant tenant-1 >/dev/null; echo $?)"
out=$("$DBG_BIN" audit verify-export e0.json --pubkey k.pub --format json)
expect_eq "honest export (json): linked from seq 0, none unlinked" "0 0" "$(jq -r '"\(.linked_from) \(.unlinked)"' <<<"$out")"

# A record in the middle left out; every other record and proof is untouched.
jq 'del(.records[4]) | .count -= 1' e0.json >mid.json
out=$("$DBG_BIN" audit verify-export mid.json --pubkey k.pub); rc=$?
expect_eq "middle record left out: exit 1" 1 "$rc"
expect_match "middle record left out: names the gap" \
    "first bad seq 12: records of tenant 'tenant-0' between seq 9 and 15 are missing from the export mid.json: seq 15 names seq 12 as the tenant's previous record" "$out"
out=$("$DBG_BIN" audit verify-export mid.json --pubkey k.pub --format json)
expect_eq "middle record left out (json): first_bad_seq" 12 "$(jq .first_bad_seq <<<"$out")"
# The first record left out: the next one names a seq the log still holds (first_seq 0).
jq 'del(.records[0]) | .count -= 1' e0.json >first.json
out=$("$DBG_BIN" audit verify-export first.json --pubkey k.pub); rc=$?
expect_eq "first record left out: exit 1" 1 "$rc"
expect_match "first record left out: names the gap" "between seq 0 and 3 are missing from the export first.json: seq 3 names seq 0" "$out"
# Claiming it was pruned is accepted, and said (first_seq is the export's claim, as before).
jq 'del(.records[0]) | .count -= 1 | .first_seq = 1' e0.json >claimed.json
out=$("$DBG_BIN" audit verify-export claimed.json --pubkey k.pub); rc=$?
expect_eq "a claimed prune: exit 0" 0 "$rc"
expect_match "a claimed prune: said" "note: records 0..0 were pruned" "$out"

# The newest record cut off: nothing signed says how many the tenant has (documented limit).
jq 'del(.records[-1]) | .count -= 1' e0.json >tail.json
expect_eq "tail cut: the export alone verifies" 0 \
    "$("$DBG_BIN" audit verify-export tail.json --pubkey k.pub >/dev/null; echo $?)"
records 30 36 | append log k.key
"$DBG_BIN" audit export --log log --tenant tenant-0 -o later.json --since tail.json >/dev/null
out=$("$DBG_BIN" audit verify-export later.json --pubkey k.pub --previous tail.json); rc=$?
expect_eq "tail cut: a later export with --previous exits 1" 1 "$rc"
expect_match "tail cut: names the record" \
    "first bad seq 27: tail.json left out seq 27, a record of tenant 'tenant-0' in its tree \(size 30\) that later.json holds: the previous export was cut short" "$out"
expect_eq "the honest previous export: exit 0" 0 \
    "$("$DBG_BIN" audit verify-export later.json --pubkey k.pub --previous e0.json >/dev/null; echo $?)"
# ... and a later export that hides it too breaks at the record after it
jq 'del(.records[] | select(.seq == 27)) | .count -= 1' later.json >later-hidden.json
out=$("$DBG_BIN" audit verify-export later-hidden.json --pubkey k.pub --previous tail.json); rc=$?
expect_eq "hidden in both: exit 1" 1 "$rc"
expect_match "hidden in both: names the gap" "between seq 24 and 30 are missing from the export later-hidden.json: seq 30 names seq 27" "$out"
expect_match "help says what tail omission needs" "newest records cut" "$("$DBG_BIN" audit --help)"

# A log written before tenant_prev (tests/cases/audit/old-format): it verifies, its exports
# verify with a note that nothing links them, and records appended now link to its old ones
# (open rebuilt each tenant's last record from the segments).
cp -a "$DBG_SRCDIR/tests/cases/audit/old-format" old && chmod 600 old/k.key
expect_eq "old log verifies" 0 "$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub >/dev/null; echo $?)"
"$DBG_BIN" audit export --log old/log --tenant tenant-0 -o old0.json >/dev/null
out=$("$DBG_BIN" audit verify-export old0.json --pubkey old/k.pub); rc=$?
expect_eq "old export: exit 0" 0 "$rc"
expect_match "old export: says nothing is linked" "no record carries tenant_prev" "$out"
for i in $(seq 30 35); do
    printf '{"time":"2026-01-02T00:00:%02d.000000Z","actor":"op%d","role":"provider-admin","tenant":"tenant-%d","action":"vm.stop","outcome":"success"}\n' "$i" "$i" $((i % 3))
done | append old/log old/k.key
expect_eq "old log + new records verify" 0 "$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub >/dev/null; echo $?)"
expect_eq "first new record of tenant-0 names its last old one" 27 \
    "$("$DBG_BIN" audit prove 30 --log old/log | jq .record.tenant_prev)"
expect_eq "first new record of tenant-2 names its last old one" 29 \
    "$("$DBG_BIN" audit prove 32 --log old/log | jq .record.tenant_prev)"
"$DBG_BIN" audit export --log old/log --tenant tenant-0 -o mixed.json >/dev/null
out=$("$DBG_BIN" audit verify-export mixed.json --pubkey old/k.pub); rc=$?
expect_eq "mixed export: exit 0" 0 "$rc"
expect_match "mixed export: says where the check starts" \
    "note: 10 record\(s\) predate tenant_prev; records left out of the export are detected from seq 30 on" "$out"
jq 'del(.records[] | select(.seq == 27)) | .count -= 1' mixed.json >mixed-27.json
out=$("$DBG_BIN" audit verify-export mixed-27.json --pubkey old/k.pub); rc=$?
expect_eq "mixed: the last old record left out: exit 1" 1 "$rc"
expect_match "mixed: named" "between seq 24 and 30 are missing from the export mixed-27.json" "$out"
jq 'del(.records[] | select(.seq == 3)) | .count -= 1' mixed.json >mixed-3.json
expect_eq "mixed: an older record left out is not detectable alone (no tenant_prev there)" 0 \
    "$("$DBG_BIN" audit verify-export mixed-3.json --pubkey old/k.pub >/dev/null; echo $?)"
# ... but one the tenant was shown before is, with --previous
"$DBG_BIN" audit export --log old/log --tenant tenant-0 -o since.json --since old0.json >/dev/null
jq 'del(.records[] | select(.seq == 3)) | .count -= 1' since.json >since-3.json
out=$("$DBG_BIN" audit verify-export since-3.json --pubkey old/k.pub --previous old0.json); rc=$?
expect_eq "mixed: an old record the tenant saw, left out: exit 1 with --previous" 1 "$rc"
expect_match "mixed: named" "since-3.json leaves out seq 3, a record of old0.json that the log still holds" "$out"
expect_eq "mixed: the honest export with --previous: exit 0" 0 \
    "$("$DBG_BIN" audit verify-export since.json --pubkey old/k.pub --previous old0.json >/dev/null; echo $?)"
finish
