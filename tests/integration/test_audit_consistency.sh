#!/bin/bash
# A tenant who kept an earlier export checks offline, with only the public key, that a newer
# export extends the same log (RFC 9162 consistency proof from the earlier tree size): the honest
# case passes; a log rebuilt with one old record changed and re-signed with the same key (every
# signature holds) fails with a message that says the history was rewritten.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq
cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out k >/dev/null || { fail keygen; finish; exit 1; }

# records N [CHANGE]: N records with fixed times, so two logs built from them differ only where
# CHANGE says (record 5's actor).
records() {
    local i actor
    for i in $(seq 0 $(($1 - 1))); do
        actor=op$i
        [ "$i" = 5 ] && [ -n "${2:-}" ] && actor=$2
        printf '{"time":"2026-01-01T00:%02d:%02d.000000Z","actor":"%s","role":"provider-admin","tenant":"tenant-%d","action":"vm.start","target":{"type":"domain","name":"vm%d"},"outcome":"success"}\n' \
            $((i / 60)) $((i % 60)) "$actor" $((i % 2)) "$i"
    done
}
append() { "$DBG_BIN" audit append --log "$1" --key k.key --batch 1 --checkpoint-every 10 >/dev/null; }

# The tenant's first export at 40 records; the log grows to 100; the second export.
records 40 | append log
"$DBG_BIN" audit export --log log --tenant tenant-0 -o old.json >/dev/null
expect_eq "old export at size 40" 40 "$(jq .sth.size old.json)"
records 100 | tail -n 60 | append log
out=$("$DBG_BIN" audit export --log log --tenant tenant-0 -o new.json --since old.json); rc=$?
expect_eq "export --since OLD_EXPORT exits 0" 0 "$rc"
expect_eq "new export: consistency proof from 40" 40 "$(jq .consistency.old_size new.json)"
expect_eq "new export: to the exported head" 100 "$(jq .consistency.new_size new.json)"
expect_eq "new export: old root is the old export's root" "$(jq -r .sth.root old.json)" \
    "$(jq -r .consistency.old_root new.json)"
expect_eq "new export holds nothing of tenant-1" 0 "$(grep -c tenant-1 new.json)"

out=$("$DBG_BIN" audit verify-export new.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "honest: verify-export --previous exits 0" 0 "$rc"
expect_match "honest: says consistent" "consistent with old.json: the log at tree size 40 is a prefix of the one at size 100" "$out"
out=$("$DBG_BIN" audit verify-export new.json --pubkey k.pub --previous old.json --format json); rc=$?
expect_eq "honest (json): exit 0" 0 "$rc"
expect_eq "honest (json): previous_size" 40 "$(jq .previous_size <<<"$out")"
"$DBG_BIN" audit export --log log --tenant tenant-0 -o new2.json --since-size 40 >/dev/null
expect_eq "export --since-size N: verify-export --previous exits 0" 0 \
    "$("$DBG_BIN" audit verify-export new2.json --pubkey k.pub --previous old.json >/dev/null; echo $?)"
# a newer export still verifies on its own, without --previous (contract unchanged)
expect_eq "new export verifies alone" 0 "$("$DBG_BIN" audit verify-export new.json --pubkey k.pub >/dev/null; echo $?)"

# Without a proof from the right size the check cannot pass.
"$DBG_BIN" audit export --log log --tenant tenant-0 -o noproof.json >/dev/null
out=$("$DBG_BIN" audit verify-export noproof.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "no proof: exit 1" 1 "$rc"
expect_match "no proof: says how to get one" "carries no consistency proof.*--since-size 40" "$out"
"$DBG_BIN" audit export --log log --tenant tenant-0 -o from30.json --since-size 30 >/dev/null
out=$("$DBG_BIN" audit verify-export from30.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "proof from another size: exit 1" 1 "$rc"
expect_match "proof from another size: named" "from tree size 30, but the previous export is at size 40" "$out"
out=$("$DBG_BIN" audit verify-export old.json --pubkey k.pub --previous new.json); rc=$?
expect_eq "previous is the newer one: exit 1" 1 "$rc"
expect_match "previous is the newer one: named" "has size 100, more than this one's 40" "$out"

# The fork: the same 100 records but record 5's actor changed, signed with the same key.
records 100 mallory | append fork
expect_eq "forked log verifies on its own (same key)" 0 "$("$DBG_BIN" audit verify --log fork --pubkey k.pub >/dev/null; echo $?)"
"$DBG_BIN" audit export --log fork --tenant tenant-0 -o forked.json --since old.json >/dev/null
expect_eq "forked export verifies alone (signatures hold)" 0 \
    "$("$DBG_BIN" audit verify-export forked.json --pubkey k.pub >/dev/null; echo $?)"
out=$("$DBG_BIN" audit verify-export forked.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "fork: verify-export --previous exits 1" 1 "$rc"
expect_match "fork: says the log was rewritten" "consistency check failed: the log behind this export had root [0-9a-f]{64} at tree size 40, but the previous export's signed tree head says $(jq -r .sth.root old.json).*rewritten or forked" "$out"
out=$("$DBG_BIN" audit verify-export forked.json --pubkey k.pub --previous old.json --format json)
expect_eq "fork (json): ok false" false "$(jq .ok <<<"$out")"
# A forger who copies the honest old root into the forked export cannot make the proof hold.
jq --arg r "$(jq -r .sth.root old.json)" '.consistency.old_root = $r' forked.json >forged.json
out=$("$DBG_BIN" audit verify-export forged.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "forged old root: exit 1" 1 "$rc"
expect_match "forged old root: proof does not hold" "consistency proof from tree size 40 to the signed tree head \(size 100\) does not hold" "$out"
# A previous export signed by someone else is refused too.
"$DBG_BIN" audit keygen --out other >/dev/null
records 40 | "$DBG_BIN" audit append --log otherlog --key other.key --batch 1 --checkpoint-every 10 >/dev/null
"$DBG_BIN" audit export --log otherlog --tenant tenant-0 -o other.json >/dev/null
out=$("$DBG_BIN" audit verify-export new.json --pubkey k.pub --previous other.json); rc=$?
expect_eq "previous signed with another key: exit 1" 1 "$rc"
expect_match "previous signed with another key: named" "previous export does not verify" "$out"
# A record the tenant was shown before, left out of the next export: every remaining record's
# inclusion proof holds and the logs are consistent. The next record of the tenant names it
# (tenant_prev), so the export alone fails now; the previous export also shows it (for records
# from before tenant_prev, test_audit_tenant_chain).
expect_eq "exports say where the log starts" "0 0" "$(jq .first_seq old.json) $(jq .first_seq new.json)"
hidden=$(jq '.records[2].seq' new.json)
jq 'del(.records[2]) | .count -= 1' new.json > hidden.json
"$DBG_BIN" audit verify-export hidden.json --pubkey k.pub >/dev/null
expect_eq "record left out: the export alone fails (the next record names it)" 1 $?
out=$("$DBG_BIN" audit verify-export hidden.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "record left out: verify-export --previous exits 1" 1 "$rc"
expect_match "record left out: names the seq" \
    "first bad seq $hidden: records of tenant 'tenant-0' between seq $((hidden - 2)) and $((hidden + 2)) are missing from the export hidden.json" "$out"
out=$("$DBG_BIN" audit verify-export hidden.json --pubkey k.pub --previous old.json --format json)
expect_eq "record left out (json): first_bad_seq" "$hidden" "$(jq .first_bad_seq <<<"$out")"
# ... and claiming the log starts later (pruned) is said in the answer, not silent.
jq --argjson s "$((hidden + 1))" '.first_seq = $s | .records |= map(select(.seq >= $s)) | .count = (.records | length)' new.json > claimed.json
out=$("$DBG_BIN" audit verify-export claimed.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "a claimed prune: passes" 0 "$rc"
expect_match "a claimed prune: said" "note: records 0..$hidden were pruned \(archived\); the log starts at seq $((hidden + 1))" "$out"
# Another tenant's export is not a "previous" of this one.
"$DBG_BIN" audit export --log log --tenant tenant-1 -o other-tenant.json --since old.json >/dev/null
out=$("$DBG_BIN" audit verify-export other-tenant.json --pubkey k.pub --previous old.json); rc=$?
expect_eq "previous export of another tenant: exit 1" 1 "$rc"
expect_match "previous export of another tenant: named" "is an export of tenant 'tenant-1', the previous one old.json of tenant 'tenant-0'" "$out"


# Bad requests.
"$DBG_BIN" audit export --log log --tenant tenant-0 -o x.json --since-size 101 >/dev/null 2>err.txt; rc=$?
expect_eq "--since-size past the head: bad input, exit 2" 2 "$rc"
expect_match "--since-size past the head: says so" "beyond the latest signed tree head" "$(cat err.txt)"
"$DBG_BIN" audit export --log log --tenant tenant-0 -o x.json --since-size 4 --since old.json >/dev/null 2>&1
expect_eq "--since-size with --since: usage error" 2 "$?"
"$DBG_BIN" audit export --log log --tenant tenant-0 -o x.json --since nosuch.json >/dev/null 2>&1
expect_eq "--since with no such file: a file that failed (3), as verify-export's" 3 "$?"
expect_match "help names --previous" "--previous OLD_EXPORT" "$("$DBG_BIN" audit --help)"
finish
