#!/bin/bash
# Each record of a tenant names the seq of the tenant's record before it ("tenant_prev", inside the
# hashed and signed record), so an export that leaves out a record of the tenant between two it
# holds fails verify-export, naming the seqs. Checked here: honest exports of two interleaved
# tenants appended over several reopens pass; a middle or first record removed (everything else
# valid) fails; the tail cut off fails too (the signed tree head names each tenant's last record:
# the tenant heads), for either of two tenants, and a tenant without records gets a proof that
# it has none; a log written before tenant_prev still verifies (its heads predate the tenant
# heads: its tail cut passes alone, said in a note, and fails with --previous once a later
# export holds a record after it), and records appended to it link to its old records and are
# signed with tenant heads.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq python3:python3
TAMPER="$DBG_SRCDIR/tests/cases/audit/tamper.py"
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

# The newest record cut off, everything else valid: the signed tree head names every tenant's last
# record (the tenant heads), and the export carries the tenant's entry with its proof.
expect_eq "honest export (json): the signed tenant heads name seq 27" "true 27" \
    "$("$DBG_BIN" audit verify-export e0.json --pubkey k.pub --format json | jq -r '"\(.tenant_heads) \(.tenant_last)"')"
expect_eq "the head signs the tenant heads: 2 tenants" 2 "$(jq .sth.tenant_heads_size e0.json)"
expect_nomatch "honest export: no note about the head" "predates the tenant heads" \
    "$("$DBG_BIN" audit verify-export e0.json --pubkey k.pub)"
jq 'del(.records[-1]) | .count -= 1' e0.json >tail.json
out=$("$DBG_BIN" audit verify-export tail.json --pubkey k.pub); rc=$?
expect_eq "tail cut: exit 1" 1 "$rc"
expect_match "tail cut: names both seqs" \
    "FAILED: tail.json: first bad seq 27: the newest records of tenant 'tenant-0' were cut off: the signed head names seq 27 as tenant-0's last, the export ends at seq 24" "$out"
out=$("$DBG_BIN" audit verify-export tail.json --pubkey k.pub --format json)
expect_eq "tail cut (json): first_bad_seq, tenant_last" "27 27" "$(jq -r '"\(.first_bad_seq) \(.tenant_last)"' <<<"$out")"
# the other tenant: its own entry, its own cut
jq 'del(.records[-1]) | .count -= 1' e1.json >tail1.json
expect_match "tail cut of tenant-1: names its seqs" \
    "the newest records of tenant 'tenant-1' were cut off: the signed head names seq 28 as tenant-1's last, the export ends at seq 25" \
    "$("$DBG_BIN" audit verify-export tail1.json --pubkey k.pub)"
jq 'del(.records[-2:]) | .count -= 2' e0.json >tail2.json
expect_match "two newest records cut: the export ends at seq 21" "names seq 27 as tenant-0's last, the export ends at seq 21" \
    "$("$DBG_BIN" audit verify-export tail2.json --pubkey k.pub)"
jq '.records = [] | .count = 0' e0.json >none.json
expect_match "every record cut: said" "names seq 27 as tenant-0's last, the export holds none of its records" \
    "$("$DBG_BIN" audit verify-export none.json --pubkey k.pub)"
# hiding the cut: no entry, another last seq, the other tenant's entry, a claim of absence
jq 'del(.tenant_head)' tail.json >nohead.json
expect_match "tail cut, entry removed: refused" "the signed tree head \(size 30\) names every tenant's last record, but the export has no 'tenant_head' for tenant 'tenant-0'" \
    "$("$DBG_BIN" audit verify-export nohead.json --pubkey k.pub)"
jq '.tenant_head.last_seq = 24' tail.json >relabel.json
expect_match "tail cut, last_seq rewritten: the proof fails" "the proof of tenant 'tenant-0''s last record does not lead to the signed tenant heads" \
    "$("$DBG_BIN" audit verify-export relabel.json --pubkey k.pub)"
jq --slurpfile o e1.json '.tenant_head = $o[0].tenant_head' tail.json >other.json
expect_eq "tail cut, the other tenant's entry: exit 1" 1 \
    "$("$DBG_BIN" audit verify-export other.json --pubkey k.pub >/dev/null; echo $?)"
# A tenant with no records: a proof that it sits between its neighbours in the order (t48 sorts
# before both tenants, t28 between them, t0 after them).
for t in t48 t28 t0; do
    "$DBG_BIN" audit export --log log --tenant "$t" -o "abs-$t.json" >/dev/null
    out=$("$DBG_BIN" audit verify-export "abs-$t.json" --pubkey k.pub --format json); rc=$?
    expect_eq "tenant $t without records: exit 0, no last record" "0 true null 0" \
        "$rc $(jq -r '"\(.tenant_heads) \(.tenant_last) \(.records)"' <<<"$out")"
done
expect_eq "neighbours: right only, both, left only" "null 0|0 1|1 null" \
    "$(for t in t48 t28 t0; do jq -r '"\(.tenant_head.left.index) \(.tenant_head.right.index)"' "abs-$t.json"; done | paste -sd'|')"
jq --slurpfile a abs-t28.json '.tenant_head = $a[0].tenant_head | .records = [] | .count = 0' e0.json >claim-absent.json
expect_match "a tenant with records claimed absent (its neighbours' proof): refused" \
    "the proof that tenant 'tenant-0' has no record in the signed tenant heads \(tree head size 30\) does not hold" \
    "$("$DBG_BIN" audit verify-export claim-absent.json --pubkey k.pub)"
jq 'del(.tenant_head.left)' abs-t28.json >abs-oneside.json
expect_eq "absence with a neighbour dropped: exit 1" 1 \
    "$("$DBG_BIN" audit verify-export abs-oneside.json --pubkey k.pub >/dev/null; echo $?)"
# a log with provider records only: the tenant heads are the empty tree
printf '{"time":"2026-01-01T00:00:00.000000Z","actor":"op","role":"provider-admin","tenant":"","action":"host.patch","outcome":"success"}\n' |
    append plog k.key
"$DBG_BIN" audit export --log plog --tenant tenant-0 -o empty.json >/dev/null
expect_eq "no tenant at all: exit 0, an empty tree" "0 0 true" \
    "$("$DBG_BIN" audit verify-export empty.json --pubkey k.pub >/dev/null; echo $?) $(jq -r '"\(.sth.tenant_heads_size) \(.tenant_head.absent)"' empty.json)"

# an export of the provider-only records (tenant ""): they have no entry, and it says so
"$DBG_BIN" audit export --log log --tenant "" -o provider.json >/dev/null
out=$("$DBG_BIN" audit verify-export provider.json --pubkey k.pub); rc=$?
expect_eq "provider-only records: exit 0" 0 "$rc"
expect_match "provider-only records: no entry, said" "note: provider-only records \(tenant ''\) have no entry in the tenant heads" "$out"

# After a prune: the tenant heads of records pruned come from the first segment header's table
# (tenant-2's records are all pruned; tenant-0 has records on both sides)
records 0 30 | sed 's/"tenant":""/"tenant":"tenant-2"/' | append pl k.key
"$DBG_BIN" audit prune --log pl --key k.key --before 2099-01-01T00:00:00Z --export-dir arch >/dev/null
records 30 33 | append pl k.key
for t in tenant-0 tenant-2; do
    "$DBG_BIN" audit export --log pl --tenant "$t" -o "pruned-$t.json" >/dev/null
    out=$("$DBG_BIN" audit verify-export "pruned-$t.json" --pubkey k.pub --format json); rc=$?
    expect_eq "pruned log, $t: exit 0 and its last record" "0 true" "$rc $(jq -r .tenant_heads <<<"$out")"
done
expect_eq "pruned log: tenant-2's last record is pruned, tenant-0's is 30" "29 30" \
    "$(jq -r .tenant_head.last_seq pruned-tenant-2.json pruned-tenant-0.json | paste -sd' ')"

# --previous: the cut export is refused on its own before any comparison
records 30 36 | append log k.key
"$DBG_BIN" audit export --log log --tenant tenant-0 -o later.json --since tail.json >/dev/null
out=$("$DBG_BIN" audit verify-export later.json --pubkey k.pub --previous tail.json); rc=$?
expect_eq "tail cut: a later export with --previous exits 1" 1 "$rc"
expect_match "tail cut: the previous export is refused" \
    "previous export does not verify: the newest records of tenant 'tenant-0' were cut off" "$out"
expect_eq "the honest previous export: exit 0" 0 \
    "$("$DBG_BIN" audit verify-export later.json --pubkey k.pub --previous e0.json >/dev/null; echo $?)"
# ... and a later export that hides it too breaks at the record after it
jq 'del(.records[] | select(.seq == 27)) | .count -= 1' later.json >later-hidden.json
out=$("$DBG_BIN" audit verify-export later-hidden.json --pubkey k.pub --previous tail.json); rc=$?
expect_eq "hidden in both: exit 1" 1 "$rc"
expect_match "hidden in both: names the gap" "between seq 24 and 30 are missing from the export later-hidden.json: seq 30 names seq 27" "$out"
expect_match "help says the newest records cut are found" "or its newest records" "$("$DBG_BIN" audit --help)"

# A log written before tenant_prev (tests/cases/audit/old-format): it verifies, its exports
# verify with a note that nothing links them, and records appended now link to its old ones
# (open rebuilt each tenant's last record from the segments).
cp -a "$DBG_SRCDIR/tests/cases/audit/old-format" old && chmod 600 old/k.key
out=$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub); rc=$?
expect_eq "old log verifies" 0 "$rc"
# ... and says what of the tenant checks it could not do there
expect_match "old log: says its records are not linked" \
    "note: 30 record\(s\) of tenants carry no tenant_prev \(written by a writer from before it\): their link to the tenant's previous record is not checked" "$out"
expect_match "old log: says its heads predate the tenant heads" \
    "note: 3 signed tree head\(s\) predate the tenant heads \(version 1\): they sign no tenant's last record" "$out"
expect_nomatch "old log: nothing after a linked record" "follow a record of the same tenant" "$out"
expect_eq "old log (json): unlinked, v1 heads" "30 0 null 3" \
    "$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub --format json | jq -r '"\(.unlinked) \(.unlinked_after_linked) \(.unlinked_after_linked_first) \(.heads_v1)"')"
"$DBG_BIN" audit export --log old/log --tenant tenant-0 -o old0.json >/dev/null
out=$("$DBG_BIN" audit verify-export old0.json --pubkey old/k.pub); rc=$?
expect_eq "old export: exit 0" 0 "$rc"
expect_match "old export: says nothing is linked" "no record carries tenant_prev" "$out"
expect_match "old export: says the head predates the tenant heads" \
    "note: the signed tree head \(size 30\) predates the tenant heads: newest records cut off the export cannot be detected from it alone" "$out"
expect_eq "old export (json): tenant_heads false" "false null" \
    "$("$DBG_BIN" audit verify-export old0.json --pubkey old/k.pub --format json | jq -r '"\(.tenant_heads) \(.tenant_last)"')"
# its tail cut verifies alone (the documented limit of an old head) ...
jq 'del(.records[-1]) | .count -= 1' old0.json >old0-tail.json
expect_eq "old export, tail cut: verifies alone" 0 \
    "$("$DBG_BIN" audit verify-export old0-tail.json --pubkey old/k.pub >/dev/null; echo $?)"
for i in $(seq 30 35); do
    printf '{"time":"2026-01-02T00:00:%02d.000000Z","actor":"op%d","role":"provider-admin","tenant":"tenant-%d","action":"vm.stop","outcome":"success"}\n' "$i" "$i" $((i % 3))
done | append old/log old/k.key
expect_eq "old log + new records verify" 0 "$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub >/dev/null; echo $?)"
expect_eq "old log + new records (json): new ones linked, new heads version 2" "30 0 3" \
    "$("$DBG_BIN" audit verify --log old/log --pubkey old/k.pub --format json | jq -r '"\(.unlinked) \(.unlinked_after_linked) \(.heads_v1)"')"
expect_eq "first new record of tenant-0 names its last old one" 27 \
    "$("$DBG_BIN" audit prove 30 --log old/log | jq .record.tenant_prev)"
expect_eq "first new record of tenant-2 names its last old one" 29 \
    "$("$DBG_BIN" audit prove 32 --log old/log | jq .record.tenant_prev)"
"$DBG_BIN" audit export --log old/log --tenant tenant-0 -o mixed.json >/dev/null
out=$("$DBG_BIN" audit verify-export mixed.json --pubkey old/k.pub); rc=$?
expect_eq "mixed export: exit 0" 0 "$rc"
expect_nomatch "mixed export: its head signs the tenant heads" "predates the tenant heads" "$out"
jq 'del(.records[-1]) | .count -= 1' mixed.json >mixed-tail.json
expect_match "mixed: the newest record cut: refused" \
    "the newest records of tenant 'tenant-0' were cut off: the signed head names seq 33 as tenant-0's last, the export ends at seq 30" \
    "$("$DBG_BIN" audit verify-export mixed-tail.json --pubkey old/k.pub)"
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
# ... and the old export's cut tail, with --previous, by the record the new export holds
out=$("$DBG_BIN" audit verify-export since.json --pubkey old/k.pub --previous old0-tail.json); rc=$?
expect_eq "old export, tail cut, with --previous: exit 1" 1 "$rc"
expect_match "old export, tail cut: names the record" \
    "old0-tail.json left out seq 27, a record of tenant 'tenant-0' in its tree \(size 30\) that since.json holds: the previous export was cut short" "$out"

# What verify checks for every tenant it cannot always check; it says so, and still exits 0.
for indexed in no yes; do
    # A writer from before tenant_prev appended after the current one (tests/cases/audit/
    # mixed-writers: records 4 and 5 carry none, their tenants' earlier records do): reported,
    # not failed (an old binary may run on during an upgrade; the records are signed like any).
    rm -rf mixed && cp -a "$DBG_SRCDIR/tests/cases/audit/mixed-writers" mixed
    [ $indexed = yes ] && "$DBG_BIN" audit reindex --log mixed/log >/dev/null
    out=$("$DBG_BIN" audit verify --log mixed/log --pubkey mixed/k.pub); rc=$?
    expect_eq "mixed writers (index: $indexed): exit 0" 0 "$rc"
    expect_match "mixed writers (index: $indexed): says which records are not linked" \
        "note: 2 of them follow a record of the same tenant that carries tenant_prev \(the first at seq 4\): a writer from before tenant_prev wrote them after a newer one" "$out"
    expect_match "mixed writers (index: $indexed): counts them" "note: 2 record\(s\) of tenants carry no tenant_prev" "$out"
    expect_eq "mixed writers (index: $indexed, json)" "true 2 2 4 0" \
        "$("$DBG_BIN" audit verify --log mixed/log --pubkey mixed/k.pub --format json | jq -r '"\(.ok) \(.unlinked) \(.unlinked_after_linked) \(.unlinked_after_linked_first) \(.heads_v1)"')"
    # ... and verify-export says the same of an export: tenant-0's record 4 follows its linked
    # record 2, so record 2 left out of the export (record 4 names nothing) is not detected
    if [ $indexed = no ]; then
        "$DBG_BIN" audit export --log mixed/log --tenant tenant-0 -o mixed0.json >/dev/null
        jq 'del(.records[] | select(.record.seq == 2)) | .count -= 1' mixed0.json >mixed0-gap.json
        for f in mixed0.json mixed0-gap.json; do
            out=$("$DBG_BIN" audit verify-export $f --pubkey mixed/k.pub); rc=$?
            expect_eq "mixed writers, export $f: exit 0" 0 "$rc"
            expect_match "mixed writers, export $f: says what is not detected" \
                "note: 1 record\(s\) carry no tenant_prev; records left out of the export are detected from seq 0 on, except just before the 1 of them that follow a record of the tenant that carries it \(the first at seq 4\)" "$out"
            expect_nomatch "mixed writers, export $f: does not claim detection from seq 0 on" \
                "are detected from seq 0 on$" "$out"
            expect_eq "mixed writers, export $f (json)" "true 1 1 4 0" \
                "$("$DBG_BIN" audit verify-export $f --pubkey mixed/k.pub --format json | jq -r '"\(.ok) \(.unlinked) \(.unlinked_after_linked) \(.unlinked_after_linked_first) \(.linked_from)"')"
        done
    fi

    # A log pruned where the first header has no tenants table: the tenant heads name "gone",
    # whose records were all pruned, and nothing left says so; those heads are not checked.
    rm -rf pr
    for i in $(seq 0 39); do
        case $i in 0 | 1) t=gone ;; *) t=t$((i % 2)) ;; esac
        printf '{"time":"2026-01-03T00:00:%02d.000000Z","actor":"op","role":"provider-admin","tenant":"%s","action":"vm.start","outcome":"success"}\n' "$i" "$t"
    done | append pr k.key
    segs=(pr/seg-*.log)
    rm "${segs[0]}"
    cut=$((10#$(basename "${segs[1]}" .log | sed 's/^seg-//')))
    out=$("$DBG_BIN" audit verify --log pr --pubkey k.pub); rc=$?
    expect_eq "pruned with a tenants table: exit 0" 0 "$rc"
    expect_nomatch "pruned with a tenants table: every head checked" "not checked" "$out"
    python3 "$TAMPER" "${segs[1]}" drop-tenants || fail "tamper drop-tenants"
    [ $indexed = yes ] && "$DBG_BIN" audit reindex --log pr >/dev/null
    # every checkpoint left names "gone" (3 tenants) while the records show 2
    cps=$(for f in pr/seg-*.log; do python3 "$TAMPER" "$f" list; done | awk '$1 == "C" { print $4 }')
    first=$(head -n 1 <<<"$cps")
    n_cps=$(wc -l <<<"$cps")
    out=$("$DBG_BIN" audit verify --log pr --pubkey k.pub); rc=$?
    expect_eq "pruned without a tenants table (index: $indexed): exit 0" 0 "$rc"
    expect_match "pruned without a tenants table (index: $indexed): says which heads were not checked" \
        "note: tenant heads of $n_cps signed tree head\(s\) not checked \(the first of size $first\): the log was pruned before seq $cut and its first segment header has no tenants table" "$out"
    expect_eq "pruned without a tenants table (index: $indexed, json)" "true $n_cps $first $cut" \
        "$("$DBG_BIN" audit verify --log pr --pubkey k.pub --format json | jq -r '"\(.ok) \(.tenant_heads_unchecked) \(.tenant_heads_unchecked_from) \(.pruned)"')"
done

# The first header's table with an entry no writer writes (a seq not before the segment): the
# header was edited, and verify fails it (exit 1) instead of dropping the entry without a word.
rm -rf bad
for i in $(seq 0 39); do
    printf '{"time":"2026-01-03T00:00:%02d.000000Z","actor":"op","role":"provider-admin","tenant":"t%d","action":"vm.start","outcome":"success"}\n' "$i" $((i % 2))
done | append bad k.key
segs=(bad/seg-*.log)
rm "${segs[0]}"
cut=$((10#$(basename "${segs[1]}" .log | sed 's/^seg-//')))
python3 "$TAMPER" "${segs[1]}" set-tenant t0 999 || fail "tamper set-tenant"
out=$("$DBG_BIN" audit verify --log bad --pubkey k.pub); rc=$?
expect_eq "first header's table edited: exit 1" 1 "$rc"
expect_match "first header's table edited: says so" \
    "FAILED: bad: first bad seq $cut: $(basename "${segs[1]}"): segment header's tenants table cannot be right: tenant 't0' -> 999 is not a seq before the segment's first \($cut\); no writer writes that, so the header was edited" "$out"
expect_eq "first header's table edited (json)" "false $cut" \
    "$("$DBG_BIN" audit verify --log bad --pubkey k.pub --format json | jq -r '"\(.ok) \(.first_bad_seq)"')"

# head.json older than the log's first record (an old copy put back after a prune; or a rotation
# whose head.json write a crash cut short, then a prune): no head left can match it. Said, exit 0.
rm -rf old-head
records 0 10 | append old-head k.key && cp old-head/head.json head-10.json
records 10 40 | append old-head k.key
segs=(old-head/seg-*.log)
rm "${segs[0]}" "${segs[1]}" "${segs[2]}"
first=$((10#$(basename "${segs[3]}" .log | sed 's/^seg-//')))
out=$("$DBG_BIN" audit verify --log old-head --pubkey k.pub); rc=$?
expect_eq "pruned log, head.json current: exit 0" 0 "$rc"
expect_nomatch "pruned log, head.json current: no note" "head.json" "$out"
cp head-10.json old-head/head.json
out=$("$DBG_BIN" audit verify --log old-head --pubkey k.pub); rc=$?
expect_eq "head.json older than the pruned part: exit 0" 0 "$rc"
expect_match "head.json older than the pruned part: says it was matched to no head" \
    "note: head.json \(size 10\) is older than the log's first record \(seq $first\): its signature holds, but the heads it could match were pruned, so it was matched to none" "$out"
expect_eq "head.json older than the pruned part (json)" "true 10 $first" \
    "$("$DBG_BIN" audit verify --log old-head --pubkey k.pub --format json | jq -r '"\(.ok) \(.head_json_unmatched) \(.pruned)"')"

# export reads that table for the tenant heads it proves the tenant's entry in: it refuses the log
# (exit 3, a log that cannot be read correctly, as for any log that does not verify), naming the
# segment and the entry, and writes no export.
rm -f bad.json
out=$("$DBG_BIN" audit export --log bad --tenant t0 -o bad.json 2>&1); rc=$?
expect_eq "first header's table edited: export exit 3" 3 "$rc"
expect_match "first header's table edited: export says why" \
    "$(basename "${segs[1]}"): segment header's tenants table cannot be right: tenant 't0' -> 999 is not a seq before the segment's first \($cut\)" "$out"
expect_eq "first header's table edited: no export written" no "$([ -e bad.json ] && echo yes || echo no)"

# prune keeps the header of the first segment it leaves, and verify then reads that header's
# table for the tenants pruned away. An edited entry there (impossible, or a seq that is not the
# tenant's last record) passed verify while the header was not the first, and a prune then made
# it the trusted one. verify checks every header's table against the records before it now
# (exit 1, naming the segment, the tenant and both seqs), so the prune, which verifies first,
# refuses (exit 3) and deletes and archives nothing.
names=(t0 t1 "" t0) values=(999 '"x"' 3 1)
whys=("cannot be right: tenant 't0' -> 999 is not a seq before the segment's first \\(PCUT\\); no writer writes that, so the header was edited"
    "cannot be right: tenant 't1' -> \"x\" is not a seq of a tenant's record; no writer writes that, so the header was edited"
    "cannot be right: an entry for tenant '' \\(provider-only records have none\\); no writer writes that, so the header was edited"
    "is not the tenants' last records before seq PCUT: it has tenant 't0' -> seq 1, but the tenant's last record before it is seq T0LAST; the table is not signed, but every writer writes it as the log stands, so the header was edited")
for k in 0 1 2 3; do
    entry="${names[k]:-''} -> ${values[k]}"
    rm -rf pbad parch
    for i in $(seq 0 39); do
        printf '{"time":"2026-01-03T00:00:%02d.000000Z","actor":"op","role":"provider-admin","tenant":"t%d","action":"vm.start","outcome":"success"}\n' "$i" $((i % 2))
    done | append pbad k.key
    psegs=(pbad/seg-*.log)
    pcut=$((10#$(basename "${psegs[2]}" .log | sed 's/^seg-//')))
    t0last=$(((pcut - 1) / 2 * 2))
    why=${whys[k]//PCUT/$pcut}
    why=${why//T0LAST/$t0last}
    expect_eq "sound log ($entry): every later header's table checked (json)" "true ${#psegs[@]} 0 null" \
        "$("$DBG_BIN" audit verify --log pbad --pubkey k.pub --format json | jq -r '"\(.ok) \(.header_tables_checked + 1) \(.header_tables_unchecked) \(.header_tables_unchecked_from)"')"
    python3 "$TAMPER" "${psegs[2]}" set-tenant "${names[k]}" "${values[k]}" || fail "tamper set-tenant $entry"
    out=$("$DBG_BIN" audit verify --log pbad --pubkey k.pub); rc=$?
    expect_eq "header of a later segment edited ($entry): verify exit 1" 1 "$rc"
    expect_match "header of a later segment edited ($entry): names the segment, the tenant and the seqs" \
        "FAILED: pbad: first bad seq $pcut: $(basename "${psegs[2]}"): segment header's tenants table $why" "$out"
    expect_eq "header of a later segment edited ($entry, json)" "false $pcut" \
        "$("$DBG_BIN" audit verify --log pbad --pubkey k.pub --format json | jq -r '"\(.ok) \(.first_bad_seq)"')"
    # every record before seq $pcut is older than this; the segment of $pcut would become the first
    out=$("$DBG_BIN" audit prune --log pbad --key k.key --before "$(printf '2026-01-03T00:00:%02dZ' "$pcut")" --export-dir parch 2>&1); rc=$?
    expect_eq "prune onto an edited header ($entry): exit 3" 3 "$rc"
    expect_match "prune onto an edited header ($entry): names the segment and the entry" \
        "audit log pbad does not verify \(first bad seq $pcut: $(basename "${psegs[2]}"): segment header's tenants table $why\)" "$out"
    expect_eq "prune onto an edited header ($entry): nothing deleted or archived" "4 0" \
        "$(ls pbad/seg-*.log | wc -l) $(find parch -type f 2>/dev/null | wc -l)"
done

# Headers written before tenant_prev have no table: nothing to check them against, said (exit 0).
python3 "$TAMPER" "${psegs[2]}" drop-tenants || fail "tamper drop-tenants"
python3 "$TAMPER" "${psegs[1]}" drop-tenants || fail "tamper drop-tenants"
p1=$((10#$(basename "${psegs[1]}" .log | sed 's/^seg-//')))
out=$("$DBG_BIN" audit verify --log pbad --pubkey k.pub); rc=$?
expect_eq "later headers without a table: exit 0" 0 "$rc"
expect_match "later headers without a table: says so" \
    "note: 2 segment header\(s\) after the first have no tenants table \(written before tenant_prev; the first starts at seq $p1\)" "$out"
expect_eq "later headers without a table (json)" "true 1 2 $p1" \
    "$("$DBG_BIN" audit verify --log pbad --pubkey k.pub --format json | jq -r '"\(.ok) \(.header_tables_checked) \(.header_tables_unchecked) \(.header_tables_unchecked_from)"')"
finish
