#!/bin/bash
# `dengbao audit` end to end: keygen, append (flags and stdin), query filters, prove and
# consistency (checked independently here), tenant-isolated exports verified offline, tampered
# exports rejected, retention, and clear errors for bad input.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq python3:python3

cd "$TMP" || exit 1
out=$("$DBG_BIN" audit --help); expect_match "help" "Usage: dengbao audit" "$out"
"$DBG_BIN" audit keygen --out k >/dev/null
expect_eq "private key mode 0600" 600 "$(stat -c %a k.key)"
expect_match "public key PEM" "BEGIN PUBLIC KEY" "$(cat k.pub)"
"$DBG_BIN" audit keygen --out k >/dev/null 2>err; rc=$?
expect_eq "keygen never overwrites a key" 3 "$rc"

# append: flags
seq=$("$DBG_BIN" audit append --log L --key k.key --actor alice --role tenant-admin --tenant A \
    --action vm.create --target-type domain --target-name web1 --target-uuid 11111111-2222-3333-4444-555555555555 \
    --outcome success --source 192.0.2.10 --details '{"flavor":"m1.small","disk_gb":20}')
expect_eq "first record is seq 0" 0 "$seq"
# append: stdin, two tenants interleaved
for i in $(seq 1 30); do
    t=$([ $((i % 3)) = 0 ] && echo B || echo A)
    printf '{"actor":"op%d","role":"provider-admin","tenant":"%s","action":"vm.%s","target":{"type":"domain","name":"%s-vm%d"},"outcome":"success","source":"unix:uid=0"}\n' \
        "$i" "$t" "$([ $((i % 2)) = 0 ] && echo start || echo delete.intent)" "$t" "$i"
done | "$DBG_BIN" audit append --log L --key k.key --checkpoint-every 7 >seqs.txt
expect_eq "stdin: 30 seqs printed" 30 "$(wc -l <seqs.txt)"
expect_eq "stdin: last seq" 30 "$(tail -1 seqs.txt)"

# query filters
expect_eq "query --tenant B" 10 "$("$DBG_BIN" audit query --log L --tenant B --format json | jq length)"
expect_eq "query --action prefix" 15 "$("$DBG_BIN" audit query --log L --action 'vm.delete*' --format json | jq length)"
# A prefix is matched as bytes: compared as characters against its byte length, a non-ASCII
# prefix matched nothing ('虚拟机.删*' is 10 bytes, 5 characters).
for a in '虚拟机.删除' '虚拟机.删除.intent' '虚拟机.重启'; do
    "$DBG_BIN" audit append --log LQ --key k.key --actor op --role provider-admin --tenant A \
        --action "$a" --target-type domain --target-name web1 --outcome success >/dev/null
done
expect_eq "query --action non-ASCII prefix" '[0,1]' \
    "$("$DBG_BIN" audit query --log LQ --action '虚拟机.删*' --format json | jq -c '[.[].seq]')"
expect_eq "... an ASCII prefix as before" '[]' \
    "$("$DBG_BIN" audit query --log LQ --action 'vm.*' --format json | jq -c '[.[].seq]')"
expect_eq "query --target" 1 "$("$DBG_BIN" audit query --log L --target 11111111-2222-3333-4444-555555555555 --format json | jq length)"
expect_eq "query --actor" '[4]' "$("$DBG_BIN" audit query --log L --actor op4 --format json | jq -c '[.[].seq]')"
expect_eq "query --until in the past" 0 "$("$DBG_BIN" audit query --log L --until 2020-01-01T00:00:00Z --format json | jq length)"
# query's text shows a record's control and bidi characters escaped: a VM named by whoever
# defined it outside the gateway (the guard records it) carried ESC [2K \r to the terminal,
# which erased and rewrote the line the operator read.
printf '{"actor":"x\xe2\x80\xaey","role":"r","tenant":"A","action":"vm.create","target":{"type":"domain","name":"n\\u001b[2K\\r"},"outcome":"success","details":{"k":"\xe2\x80\xaeabc"}}\n' |
    "$DBG_BIN" audit append --log E --key k.key >/dev/null
"$DBG_BIN" audit query --log E >out.txt; rc=$?
expect_eq "query text with control characters: exit 0" 0 "$rc"
expect_eq "... none reaches the terminal" 0 "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]\|\xe2\x80\xae' out.txt)"
expect_match "... shown escaped" 'actor=x\\u202ey .*target=domain/n\\x1b\[2K\\r .*details=\{"k":"\\u202eabc"\}' "$(cat out.txt)"
# The epoch as --until was 0, which the query takes for "no bound": every record was listed.
"$DBG_BIN" audit query --log L --until 1970-01-01T00:00:00Z >out.txt 2>err.txt; rc=$?
expect_eq "query --until the epoch is refused" 2 "$rc"
expect_match "... naming the option" "--until: '1970-01-01T00:00:00Z' is not after" "$(cat err.txt)"
expect_eq "... and lists nothing" "" "$(cat out.txt)"
"$DBG_BIN" audit query --log L --until 1700000000 >out.txt 2>err.txt; rc=$?
expect_eq "query --until as a bare epoch number is refused" 2 "$rc"
expect_match "... saying what it takes" "--until: '1700000000' is neither an RFC 3339 time nor an age" "$(cat err.txt)"
expect_eq "query --since age" 31 "$("$DBG_BIN" audit query --log L --since 1h --format json | jq length)"
# A time without a zone was taken as UTC: 08:30 typed in Beijing was 16:30 there. Refused where
# people type or write it (query --since/--until, prune --before, a stdin record's "time"),
# saying to add Z or +08:00; Z and +08:00 mean the instant they say.
rec() { printf '{"actor":"tz","role":"provider-admin","action":"vm.start","outcome":"success","time":"%s"}\n' "$1"; }
{ rec 2026-12-06T16:00:00+08:00; rec 2026-12-06T09:00:00Z; rec 2026-12-06T18:00:00.5+08:00; } |
    "$DBG_BIN" audit append --log LT --key k.key >/dev/null
expect_eq "stdin \"time\" with Z and +08:00: the instants they mean" \
    '["2026-12-06T08:00:00.000000Z","2026-12-06T09:00:00.000000Z","2026-12-06T10:00:00.500000Z"]' \
    "$("$DBG_BIN" audit query --log LT --format json | jq -c '[.[].time]')"
rec 2026-12-06T11:00:00 | "$DBG_BIN" audit append --log LT --key k.key >out.txt 2>err.txt; rc=$?
expect_eq "stdin \"time\" without a zone: refused (exit 2)" 2 "$rc"
expect_match "... naming the line and saying to add Z or +08:00" \
    "stdin line 1: field 'time' must be an RFC 3339 time: '2026-12-06T11:00:00' has no UTC offset: add Z for UTC or \+08:00 for Beijing time" "$(cat err.txt)"
expect_eq "... nothing appended" 3 "$("$DBG_BIN" audit query --log LT --format json | jq length)"
# A record dated in the future was taken: dated after the head that signs it, and prune (which
# drops a segment only when all its records are old enough) then kept that segment and every
# later one until 2099, saying "pruned 0 record(s)".
rec 2099-01-01T00:00:00Z | "$DBG_BIN" audit append --log LT --key k.key >out.txt 2>err.txt; rc=$?
expect_eq "stdin \"time\" in the future: refused (exit 2)" 2 "$rc"
expect_match "... naming the line and field" \
    "stdin line 1: field 'time' \('2099-01-01T00:00:00Z'\) is after now \([0-9T:.Z-]+\): a record is not dated in the future" "$(cat err.txt)"
expect_eq "... nothing appended" 3 "$("$DBG_BIN" audit query --log LT --format json | jq length)"
for opt in --since --until; do
    "$DBG_BIN" audit query --log LT $opt 2026-12-06T08:30:00 >out.txt 2>err.txt; rc=$?
    expect_eq "query $opt without a zone: usage error" 2 "$rc"
    expect_match "... naming the option and saying to add Z or +08:00" \
        "$opt: '2026-12-06T08:30:00' has no UTC offset: add Z for UTC or \+08:00 for Beijing time \(2026-12-06T08:30:00\+08:00\)" "$(cat err.txt)"
done
tz_seqs() { "$DBG_BIN" audit query --log LT "$@" --format json | jq -c '[.[].seq]'; }
expect_eq "query --since with Z" '[1,2]' "$(tz_seqs --since 2026-12-06T08:30:00Z)"
expect_eq "query --since with +08:00: the same instant" '[1,2]' "$(tz_seqs --since 2026-12-06T16:30:00+08:00)"
expect_eq "query --until with +08:00" '[0]' "$(tz_seqs --until 2026-12-06T16:30:00+08:00)"
# A date is its first moment in UTC, as scripts rely on; people in China read it as their own
# midnight (8 hours later), so a note says which instant it is.
expect_eq "query --since as a date: from its first UTC moment" '[0,1,2]' "$(tz_seqs --since 2026-12-06 2>err.txt)"
expect_match "... with a note giving the UTC instant and Beijing's midnight" \
    "dengbao audit: note: --since 2026-12-06 means 2026-12-06T00:00:00Z, 08:00 in Beijing; for Beijing's midnight write 2026-12-06T00:00:00\+08:00" "$(cat err.txt)"
expect_eq "query --since with a zone: no note" '[1,2]0' "$(tz_seqs --since 2026-12-06T08:30:00Z 2>err.txt)$(wc -c <err.txt)"
"$DBG_BIN" audit prune --log LT --key k.key --before 2026-12-06T08:30:00 --export-dir tz-arch >out.txt 2>err.txt; rc=$?
expect_eq "prune --before without a zone: usage error" 2 "$rc"
expect_match "... naming the option" "--before: '2026-12-06T08:30:00' has no UTC offset: add Z" "$(cat err.txt)"
out=$("$DBG_BIN" audit query --log L --tenant A --limit 1)
expect_match "query text form" "vm.create tenant=A actor=alice" "$out"
expect_eq "details kept canonical" '{"disk_gb":20,"flavor":"m1.small"}' \
    "$("$DBG_BIN" audit query --log L --actor alice --format json | jq -c '.[0].details')"

# prove: check the proof here with an independent implementation of RFC 9162 §2.1.3.2
"$DBG_BIN" audit prove 5 --log L >proof.json; rc=$?
expect_eq "prove exits 0" 0 "$rc"
python3 - proof.json <<'EOF' >pycheck.txt
import hashlib, json, sys
p = json.load(open(sys.argv[1]))
rec = json.dumps(p["record"], sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
h = hashlib.sha256(b"\x00" + rec).digest()
assert h.hex() == p["leaf_hash"], "leaf hash"
fn, sn = p["seq"], p["tree_size"] - 1
for s in p["proof"]:
    s = bytes.fromhex(s)
    if fn & 1 or fn == sn:
        h = hashlib.sha256(b"\x01" + s + h).digest()
        while not fn & 1 and fn != 0:
            fn >>= 1; sn >>= 1
    else:
        h = hashlib.sha256(b"\x01" + h + s).digest()
    fn >>= 1; sn >>= 1
print("ok" if sn == 0 and h.hex() == p["sth"]["root"] else "mismatch")
EOF
expect_eq "inclusion proof checks in an independent implementation" ok "$(cat pycheck.txt)"
# A seq the log does not hold was "not covered by a signed tree head yet" (exit 3), as if the
# record were there and a head would come; it is bad input, as consistency's NEW beyond the log.
out=$("$DBG_BIN" audit prove 999 --log L 2>&1); rc=$?
expect_eq "prove of a seq beyond the log: usage error" 2 "$rc"
expect_match "prove says why" "seq 999 is beyond the log's 31 records" "$out"
out=$("$DBG_BIN" audit consistency 7 31 --log L); rc=$?
expect_eq "consistency exits 0" 0 "$rc"
expect_eq "consistency new root is the signed root" "$(jq -r .sth.root <<<"$out")" "$(jq -r .new_root <<<"$out")"
"$DBG_BIN" audit consistency 9 3 --log L >/dev/null 2>&1; rc=$?
expect_eq "consistency OLD > NEW is bad input" 2 "$rc"
out=$("$DBG_BIN" audit consistency 3 9999 --log L 2>&1); rc=$?
expect_eq "consistency NEW beyond the log is bad input" 2 "$rc"
expect_match "consistency NEW beyond the log says so" "NEW \(9999\) is beyond the log's" "$out"

# export: tenant isolation, offline verification with the public key only
"$DBG_BIN" audit export --log L --tenant B -o b.json >/dev/null
expect_eq "export B holds 10 records" 10 "$(jq '.records | length' b.json)"
expect_eq "export B holds only B" '["B"]' "$(jq -c '[.records[].record.tenant] | unique' b.json)"
expect_nomatch "export B mentions nothing of A" '"tenant": *"A"|alice|A-vm' "$(cat b.json)"
mkdir offline && cp b.json k.pub offline/
out=$("$DBG_BIN" audit verify-export offline/b.json --pubkey offline/k.pub); rc=$?
expect_eq "export verifies offline" 0 "$rc"
expect_match "export verify output" "OK: .*10 records" "$out"
expect_match "export verify counts the file's bytes" " $(stat -c %s b.json) bytes verified" "$out"
expect_match "export verify output names whose export it is" "^OK: offline/b.json: export of tenant 'B', 10 records" "$out"
# verify-export --tenant T: the export must be T's. A valid export of another tenant verifies too,
# and holds nothing of T, so "OK" read as "no privileged action on my VMs"; --tenant was taken
# and ignored, exit 0 for B's export checked as A's.
out=$("$DBG_BIN" audit verify-export b.json --pubkey k.pub --tenant A); rc=$?
expect_eq "verify-export --tenant A of B's export: exit 1" 1 "$rc"
expect_match "... naming both" "^FAILED: b.json: an export of tenant 'B', not of tenant 'A'" "$out"
out=$("$DBG_BIN" audit verify-export b.json --pubkey k.pub --tenant B --format json); rc=$?
expect_eq "verify-export --tenant B of B's export: exit 0, tenant in JSON" '0 "B" false' \
    "$rc $(jq -c .tenant <<<"$out") $(jq -c .archive <<<"$out")"
# The export is what is checked: the tenant id its problem quotes reached the terminal as it was
# ('not 'B<ESC>[2K...'' erased the FAILED line the tenant was reading).
jq '.tenant = "B\u001b[2K\rOK"' b.json > esc.json
"$DBG_BIN" audit verify-export esc.json --pubkey k.pub >out.txt; rc=$?
expect_eq "export with a control character in its tenant: exit 1" 1 "$rc"
expect_eq "... none reaches the terminal" 0 "$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f]' out.txt)"
expect_match "... shown escaped" "^FAILED: esc.json: .*'B\\\\x1b\[2K\\\\rOK'" "$(cat out.txt)"
# An option the subcommand does not take is a usage error naming it; it was taken and ignored:
# verify-export --since OLD (export's spelling, not verify-export's --previous) said OK with no
# consistency check, and verify --tenant B verified the whole log, not B's part.
out=$("$DBG_BIN" audit verify-export b.json --pubkey k.pub --since b.json 2>&1); rc=$?
expect_eq "verify-export --since OLD: usage error (it was ignored: OK, nothing checked)" 2 "$rc"
expect_match "... pointing to --previous" "verify-export does not take --since \(an earlier export to check against is --previous\)" "$out"
out=$("$DBG_BIN" audit verify --log L --tenant B 2>&1); rc=$?
expect_eq "verify --tenant: usage error" "2" "$rc"
expect_match "... naming it" "verify does not take --tenant" "$out"
"$DBG_BIN" audit prove 3 --log L --format text >/dev/null 2>&1
expect_eq "prove --format: usage error" 2 $?
# (one record of B's: an archive with gaps fails for them before whose it is)
jq '.archive = true | .records |= .[:1] | .count = 1' b.json >b-archive.json
out=$("$DBG_BIN" audit verify-export b-archive.json --pubkey k.pub --tenant B); rc=$?
expect_eq "... a file claiming to be an archive of all tenants is not B's: exit 1" 1 "$rc"
expect_match "... saying so" "an export of all tenants \(an archive\), not of tenant 'B'" "$out"
jq '.records[0].record.outcome = "failure"' b.json >b-altered.json
out=$("$DBG_BIN" audit verify-export b-altered.json --pubkey k.pub --format json); rc=$?
expect_eq "altered export fails" 1 "$rc"
expect_match "altered export names the seq" "seq 3: inclusion proof" "$(jq -r .problem <<<"$out")"
out=$("$DBG_BIN" audit verify-export b-altered.json --pubkey k.pub)
expect_match "altered export, text: file and seq said once" "^FAILED: b-altered.json: first bad seq 3: inclusion proof" "$out"
# The proof is checked against the record's own hash, and the file's leaf_hash was never read:
# an export with every leaf_hash changed verified OK, vouching for hashes it had not checked.
jq '.records[1].leaf_hash = .records[0].leaf_hash' b.json >b-leaf.json
out=$("$DBG_BIN" audit verify-export b-leaf.json --pubkey k.pub); rc=$?
expect_eq "export with a leaf_hash that is not its record's fails" 1 "$rc"
expect_match "... naming the entry and seq" "records\[1\]: seq [0-9]*: 'leaf_hash' is not the hash of the record" "$out"
"$DBG_BIN" audit export --log L --tenant A -o a.json >/dev/null
# A --since-size the log cannot have is bad input (2) naming the option, as for consistency;
# it was a runtime error (3) that did not say which option was wrong.
"$DBG_BIN" audit export --log L --tenant B -o b-beyond.json --since-size 9999 2>err.txt; rc=$?
expect_eq "export --since-size beyond the log: usage error" 2 "$rc"
expect_match "... naming the option" "--since-size 9999: the earlier tree size 9999 is beyond" "$(cat err.txt)"
expect_eq "... writing no export" "" "$(ls b-beyond.json 2>/dev/null)"
"$DBG_BIN" audit export --log L --tenant B -o b-x.json --since no-such-old.json 2>err.txt; rc=$?
expect_eq "export --since OLD_EXPORT that is missing: runtime error, as verify-export's" 3 "$rc"
expect_match "naming it" "no-such-old.json" "$(cat err.txt)"
"$DBG_BIN" audit verify-export no-such-old.json --pubkey k.pub >/dev/null 2>&1
expect_eq "... verify-export of a missing file: the same" 3 $?
"$DBG_BIN" audit export --log L --tenant B -o b-beyond.json --since-size 12x 2>err.txt; rc=$?
expect_eq "export --since-size not a number: usage error" 2 "$rc"
expect_match "... naming the option" "--since-size: '12x' is not a non-negative integer" "$(cat err.txt)"
jq --slurpfile a a.json '.records += [$a[0].records[0]] | .records |= sort_by(.seq) | .count += 1' b.json >b-mixed.json
out=$("$DBG_BIN" audit verify-export b-mixed.json --pubkey k.pub --format json); rc=$?
expect_eq "export with a foreign tenant's record fails" 1 "$rc"
expect_match "foreign record named" "belongs to tenant 'A'" "$(jq -r .problem <<<"$out")"
jq '.records |= del(.[2]) ' b.json >b-dropped.json
out=$("$DBG_BIN" audit verify-export b-dropped.json --pubkey k.pub --format json); rc=$?
expect_eq "export with a dropped record but old count fails" 1 "$rc"
"$DBG_BIN" audit keygen --out evil >/dev/null
out=$("$DBG_BIN" audit verify-export b.json --pubkey evil.pub); rc=$?
expect_eq "export against the wrong key fails" 1 "$rc"
# the file was named twice: "FAILED: b.json: b.json: the signed tree head does not verify ..."
expect_eq "wrong key: the file named once" "FAILED: b.json: the signed tree head does not verify with this public key" "$out"
# A writer checked its key only against log.pub: with log.pub replaced by the key's own, it
# chained heads under that key onto a log signed with k, which then verified with neither key.
cp -a L LK && cp evil.pub LK/log.pub && cp -a LK LK.before
"$DBG_BIN" audit append --log LK --key evil.key --actor x --action a --outcome o >out.txt 2>err.txt; rc=$?
expect_eq "append with log.pub and key replaced: refused (exit 3)" 3 "$rc"
expect_match "... naming the latest head and both key ids" \
    "audit log LK: its latest signed tree head \(size [0-9]+, key_id [0-9a-f]{64}\) does not verify with this signing key \(key_id [0-9a-f]{64}\)" "$(cat err.txt)"
expect_eq "... no seq, the segments untouched" "|same" \
    "$(cat out.txt)|$(diff -rq -x lock -x 'index.sqlite*' LK LK.before >/dev/null && echo same)"

# bad input: clear errors naming the line, nothing after it appended
printf '{"actor":"x","action":"a","outcome":"o"}\n{"actor": "x", "action": \n' |
    "$DBG_BIN" audit append --log L --key k.key >out.txt 2>err.txt; rc=$?
expect_eq "malformed JSON: exit 2" 2 "$rc"
expect_match "malformed JSON: names the line" "stdin line 2: malformed JSON" "$(cat err.txt)"
expect_eq "good line before it appended" 31 "$(cat out.txt)"
printf '{"actor":"\xff\xfe","action":"a","outcome":"o"}\n' | "$DBG_BIN" audit append --log L --key k.key 2>err.txt >/dev/null; rc=$?
expect_eq "non-UTF-8: exit 2" 2 "$rc"
expect_match "non-UTF-8: said" "stdin line 1: not valid UTF-8" "$(cat err.txt)"
big=$(head -c 5000 /dev/zero | tr '\0' x)
"$DBG_BIN" audit append --log L --key k.key --actor "$big" --action a --outcome o 2>err.txt; rc=$?
expect_eq "oversized field: exit 2" 2 "$rc"
expect_match "oversized field: said" "field 'actor' is 5000 bytes \\(limit 4096\\)" "$(cat err.txt)"
"$DBG_BIN" audit append --log L --key k.key --actor a --action b --outcome c --details '[1]' 2>err.txt; rc=$?
expect_eq "details not an object: exit 2" 2 "$rc"
expect_match "details: said" "details must be a JSON object" "$(cat err.txt)"
printf '{"actor":"x","action":"a"}\n' | "$DBG_BIN" audit append --log L --key k.key 2>err.txt; rc=$?
expect_match "missing field: said" "stdin line 1: audit record: field 'outcome' is required" "$(cat err.txt)"
# The tenant id 'provider' is refused as `dengbao serve` without --policy refuses it (an O=provider
# certificate is the provider): a record filed under it, an export of it, and a query of it (which
# reads as the provider's view) were taken.
before=$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json | jq .records)
"$DBG_BIN" audit append --log L --key k.key --actor a --role r --tenant provider --action b --outcome c >out.txt 2>err.txt; rc=$?
expect_eq "append --tenant provider: exit 2" 2 "$rc"
expect_match "... in serve's words" "append --tenant: without --policy the tenant id 'provider' is reserved: O=provider is the provider's certificate" "$(cat err.txt)"
printf '{"actor":"x","tenant":"provider","action":"a","outcome":"o"}\n' | "$DBG_BIN" audit append --log L --key k.key >out.txt 2>err.txt; rc=$?
expect_eq "stdin tenant provider: exit 2" 2 "$rc"
expect_match "... naming the line" "stdin line 1: tenant: without --policy the tenant id 'provider' is reserved" "$(cat err.txt)"
expect_eq "... nothing appended" "$before" "$("$DBG_BIN" audit verify --log L --pubkey k.pub --format json | jq .records)"
"$DBG_BIN" audit export --log L --tenant provider -o prov.json >out.txt 2>err.txt; rc=$?
expect_eq "export --tenant provider: exit 2" 2 "$rc"
expect_match "... said" "export --tenant: without --policy the tenant id 'provider' is reserved" "$(cat err.txt)"
expect_eq "... no export written" no "$([ -e prov.json ] && echo yes || echo no)"
"$DBG_BIN" audit query --log L --tenant provider >out.txt 2>err.txt; rc=$?
expect_eq "query --tenant provider: exit 2" 2 "$rc"
expect_match "... pointing at the provider's view" "reserved.*; the provider's view is query without --tenant" "$(cat err.txt)"
"$DBG_BIN" audit append --log L 2>err.txt </dev/null; rc=$?
expect_eq "append without key: usage" 2 "$rc"
"$DBG_BIN" audit verify 2>err.txt; rc=$?
expect_eq "verify without --log: usage" 2 "$rc"
"$DBG_BIN" audit verify --log nowhere 2>err.txt; rc=$?
expect_eq "verify of a missing log: runtime error" 3 "$rc"
expect_match "missing log named" "no audit log at nowhere" "$(cat err.txt)"
"$DBG_BIN" audit frobnicate --log L 2>err.txt; rc=$?
expect_eq "unknown subcommand: usage" 2 "$rc"
"$DBG_BIN" audit verify-export missing.json --pubkey k.pub 2>err.txt; rc=$?
expect_eq "verify-export of a missing file: runtime error" 3 "$rc"
printf 'not json' >junk.json
"$DBG_BIN" audit verify-export junk.json --pubkey k.pub >out.txt; rc=$?
expect_eq "verify-export of junk: exit 1" 1 "$rc"
expect_match "junk named" "junk.json: not JSON" "$(cat out.txt)"
expect_eq "log still verifies after all that" 0 "$("$DBG_BIN" audit verify --log L --pubkey k.pub >/dev/null; echo $?)"

# several processes write one log at once (gateway, guard, a CLI append): each flush runs under
# the log's file lock after catching up with what the others wrote
REC='{"actor":"p","action":"x","outcome":"y","tenant":"M"}'
yes "$REC" | head -n 1500 | "$DBG_BIN" audit append --log M --key k.key --batch 5 --segment-size 16384 >m1.txt &
p1=$!
yes "$REC" | head -n 1500 | "$DBG_BIN" audit append --log M --key k.key --batch 3 --segment-size 16384 >m2.txt &
p2=$!
"$DBG_BIN" audit append --log M --key k.key --actor solo --action x --outcome y >m3.txt
wait $p1; rc1=$?
wait $p2; rc2=$?
expect_eq "two concurrent appender processes succeed" "0 0" "$rc1 $rc2"
expect_eq "all 3001 seqs distinct" 3001 "$(cat m1.txt m2.txt m3.txt | sort -u | wc -l)"
expect_eq "seqs are 0..3000" "0 3000" "$(cat m1.txt m2.txt m3.txt | sort -n | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//')"
out=$("$DBG_BIN" audit verify --log M --pubkey k.pub --format json)
expect_eq "log written by three processes verifies" true "$(jq .ok <<<"$out")"
expect_eq "and holds 3001 records" 3001 "$(jq .records <<<"$out")"

# retention: archive then prune; what stays verifies and keeps growing
printf '{"actor":"r","action":"a","outcome":"o","tenant":"A"}\n%.0s' $(seq 1 400) |
    "$DBG_BIN" audit append --log R --key k.key --segment-size 8192 --batch 16 >/dev/null
"$DBG_BIN" audit prune --log R --key k.key --before 2020-01-01T00:00:00Z --export-dir arch >out.txt
expect_match "nothing older than 2020" "pruned 0 record" "$(cat out.txt)"
"$DBG_BIN" audit prune --log R --key k.key --before 0s --export-dir arch >out.txt; rc=$?
expect_eq "prune exits 0" 0 "$rc"
removed=$(sed -n 's/pruned \([0-9]*\) .*/\1/p' out.txt)
if [ "${removed:-0}" -gt 0 ] && [ "$removed" -lt 400 ]; then pass "pruned $removed of 400"; else fail "prune" "$(cat out.txt)"; fi
expect_eq "one archive written" 1 "$(ls arch/*.json | wc -l)"
"$DBG_BIN" audit verify-export arch/*.json --pubkey k.pub >/dev/null; rc=$?
expect_eq "archive verifies" 0 "$rc"
# a record taken out of the archive (count fixed up): every other proof holds, the gap does not
a_first=$(jq '.records[0].seq' arch/*.json)
jq 'del(.records[3]) | .count -= 1' arch/*.json >arch-gap.json
out=$("$DBG_BIN" audit verify-export arch-gap.json --pubkey k.pub); rc=$?
expect_eq "archive with a record taken out: exit 1" 1 "$rc"
expect_match "archive with a record taken out: names the seq" \
    "FAILED: arch-gap.json: first bad seq $((a_first + 3)): records\[3\]: seq $((a_first + 4)) follows seq $((a_first + 2)): the archive is missing seq $((a_first + 3)) \(an archive holds" "$out"
# the ends: prune signs the archive's first and last seq, so a record cut from either end (count
# fixed up, the seqs still following each other) fails too, naming the seq that is missing
a_last=$(jq '.records[-1].seq' arch/*.json)
expect_eq "archive's signed range is its records" "$a_first $a_last" "$(jq -r '"\(.range.first_seq) \(.range.last_seq)"' arch/*.json)"
out=$("$DBG_BIN" audit verify-export arch/*.json --pubkey k.pub --format json)
expect_eq "untouched archive: ok, ends checked" "true 0" "$(jq -r '"\(.ok) \(.archive_ends_unchecked)"' <<<"$out")"
jq 'del(.records[0]) | .count -= 1' arch/*.json >arch-first.json
out=$("$DBG_BIN" audit verify-export arch-first.json --pubkey k.pub); rc=$?
expect_eq "archive with its first record cut: exit 1" 1 "$rc"
expect_match "archive with its first record cut: names the seq" \
    "FAILED: arch-first.json: first bad seq $a_first: the archive's signed range is seq $a_first..$a_last, but its first record is seq $((a_first + 1)): seq $a_first was cut from its start" "$out"
jq 'del(.records[0]) | .count -= 1 | .first_seq += 1' arch/*.json >arch-first2.json
out=$("$DBG_BIN" audit verify-export arch-first2.json --pubkey k.pub); rc=$?
expect_eq "archive with its first record cut and first_seq moved: exit 1" 1 "$rc"
jq 'del(.records[-1]) | .count -= 1' arch/*.json >arch-last.json
out=$("$DBG_BIN" audit verify-export arch-last.json --pubkey k.pub --format json); rc=$?
expect_eq "archive with its last record cut: exit 1" 1 "$rc"
expect_eq "archive with its last record cut: names the seq" \
    "false $a_last the archive's signed range is seq $a_first..$a_last, but its last record is seq $((a_last - 1)): seq $a_last was cut from its end" \
    "$(jq -r '"\(.ok) \(.first_bad_seq) \(.problem | sub("^arch-last.json: "; ""))"' <<<"$out")"
jq '.records |= .[:-2] | .count -= 2' arch/*.json >arch-last2.json
out=$("$DBG_BIN" audit verify-export arch-last2.json --pubkey k.pub); rc=$?
expect_match "archive with its last two records cut: exit 1, both said" \
    "^1 FAILED: arch-last2.json: first bad seq $((a_last - 1)): .*seq $a_last and more were cut from its end" "$rc $out"
# the range moved with the cut: its signature no longer holds
jq 'del(.records[-1]) | .count -= 1 | .range.last_seq -= 1' arch/*.json >arch-range.json
out=$("$DBG_BIN" audit verify-export arch-range.json --pubkey k.pub); rc=$?
expect_eq "archive cut with its range edited: exit 1" 1 "$rc"
expect_match "archive cut with its range edited: the range's signature fails" \
    "the archive's signed range \(seq $a_first..$((a_last - 1))\) does not verify with this public key" "$out"
jq '.range.first_seq += 1' arch/*.json >arch-range0.json
"$DBG_BIN" audit verify-export arch-range0.json --pubkey k.pub >/dev/null; rc=$?
expect_eq "archive whose range start was moved: exit 1" 1 "$rc"
# the range's key_id names the key that signed it: another key's id (a range signed again
# with another key names that key) is refused naming both, not verified as this key's
k_id=$(jq -r .range.key_id arch/*.json)
zero_id=0000000000000000000000000000000000000000000000000000000000000000
jq --arg z "$zero_id" '.range.key_id = $z' arch/*.json >arch-kid.json
out=$("$DBG_BIN" audit verify-export arch-kid.json --pubkey k.pub); rc=$?
expect_eq "archive whose range names another key: exit 1" 1 "$rc"
expect_match "archive whose range names another key: both key ids named" \
    "the archive's range names key_id $zero_id, not this public key's $k_id: it was signed with another key" "$out"
# an archive written before prune signed its range (the same file without 'range') still
# verifies, and says its ends are unchecked; so does one with a record cut from an end
jq 'del(.range)' arch/*.json >arch-old.json
out=$("$DBG_BIN" audit verify-export arch-old.json --pubkey k.pub); rc=$?
expect_eq "old-format archive: exit 0" 0 "$rc"
expect_match "old-format archive: its ends are said to be unchecked" \
    "note: the archive carries no signed range \(written by a prune from before prune signed its first and last seq\): a record cut from its first or last position is not detected from the file alone" "$out"
expect_eq "old-format archive (json)" "true 1" \
    "$("$DBG_BIN" audit verify-export arch-old.json --pubkey k.pub --format json | jq -r '"\(.ok) \(.archive_ends_unchecked)"')"
jq 'del(.range) | del(.records[-1]) | .count -= 1' arch/*.json >arch-old-cut.json
expect_eq "old-format archive cut at its end: still passes (the note says so)" 0 \
    "$("$DBG_BIN" audit verify-export arch-old-cut.json --pubkey k.pub >/dev/null; echo $?)"
# --require-range: an assessor who knows every archive is newer fails one without its range
# (a new archive whose range was taken out reads as old otherwise); a signed one passes
out=$("$DBG_BIN" audit verify-export arch-old-cut.json --pubkey k.pub --require-range); rc=$?
expect_eq "--require-range, archive without a range: exit 1" 1 "$rc"
expect_match "... naming why" "arch-old-cut.json: the archive carries no signed range \(--require-range\)" "$out"
expect_eq "--require-range (json): ok false" "false" \
    "$("$DBG_BIN" audit verify-export arch-old.json --pubkey k.pub --require-range --format json | jq -r .ok)"
"$DBG_BIN" audit verify-export arch/*.json --pubkey k.pub --require-range >/dev/null
expect_eq "--require-range, a signed archive: exit 0" 0 $?
# a range in a tenant's export is refused
"$DBG_BIN" audit export --log R --tenant A -o rx.json >/dev/null 2>&1
jq --slurpfile a arch/"$(basename arch/*.json)" '.range = $a[0].range' rx.json >rx-range.json
out=$("$DBG_BIN" audit verify-export rx-range.json --pubkey k.pub); rc=$?
expect_eq "tenant export with a range: exit 1" 1 "$rc"
expect_match "tenant export with a range: said" "'range' is only in an archive" "$out"
out=$("$DBG_BIN" audit verify --log R --pubkey k.pub --format json)
expect_eq "pruned log verifies" true "$(jq .ok <<<"$out")"
expect_eq "pruned count reported" "$removed" "$(jq .pruned <<<"$out")"
# an age is capped at 100 years whatever its unit (1000000000d once wrapped to a future cutoff)
"$DBG_BIN" audit prune --log R --key k.key --before 1000000000d --export-dir arch 2>err.txt; rc=$?
expect_eq "prune --before 1000000000d: usage" 2 "$rc"
expect_match "too old an age: said" "age '1000000000d' is more than 100 years" "$(cat err.txt)"
"$DBG_BIN" audit prune --log R --key k.key --before 36500d --export-dir arch >out.txt; rc=$?
expect_eq "prune --before 100 years ago" "0 pruned 0 record(s)" "$rc $(head -1 out.txt | cut -d' ' -f1-3)"
expect_eq "the log still holds the rest" "$((400 - removed))" \
    "$("$DBG_BIN" audit verify --log R --pubkey k.pub --format json | jq .records)"
"$DBG_BIN" audit prune --log R --key k.key --before 0s 2>err.txt; rc=$?
expect_eq "prune without export dir refused" 2 "$rc"
"$DBG_BIN" audit prune --log R --before 0s --export-dir arch 2>err.txt; rc=$?
expect_eq "prune without --key refused" 2 "$rc"
expect_match "prune without --key: said why" "prune needs --key FILE, the log's signing key" "$(cat err.txt)"
"$DBG_BIN" audit keygen --out other >/dev/null
"$DBG_BIN" audit prune --log R --key other.key --before 0s --export-dir arch-other 2>err.txt; rc=$?
expect_eq "prune with another key refused" "2 0" "$rc $(find arch-other -type f 2>/dev/null | wc -l)"
expect_match "prune with another key: names it" "prune --key other.key is not the signing key of audit log R" "$(cat err.txt)"


# export while the writer has records not yet under a signed head: they are not in the export,
# and the tenant is told how many (stderr; serve sends X-Dengbao-Records-Pending)
REC_P='{"actor":"r","action":"vm.delete","outcome":"success","tenant":"P"}'
printf '%s\n%s\n' "$REC_P" "$REC_P" | "$DBG_BIN" audit append --log PEND --key k.key >/dev/null
mkfifo pend.in
"$DBG_BIN" audit append --log PEND --key k.key --checkpoint-every 100000 --checkpoint-interval 3600 \
    <pend.in >pend.acks 2>pend.err &
writer=$!
exec 7>pend.in
printf '%s\n%s\n%s\n' "$REC_P" "$REC_P" '{"actor":"r","action":"a","outcome":"o","tenant":"Q"}' >&7
for _ in $(seq 1 100); do [ "$(wc -l <pend.acks)" -ge 3 ] && break; sleep 0.1; done
expect_eq "writer acknowledged 3 more records" 3 "$(wc -l <pend.acks)"
"$DBG_BIN" audit export --log PEND --tenant P -o pend.json >out.txt 2>err.txt; rc=$?
expect_eq "export beside a running writer exits 0" 0 "$rc"
expect_eq "... says what it holds" "wrote pend.json: 2 record(s) of tenant 'P', proved against the signed tree head of size 2" "$(cat out.txt)"
expect_match "... and that 2 newer records wait for a checkpoint" \
    "note: 2 newer record\(s\) of tenant 'P' are not yet under a signed tree head" "$(cat err.txt)"
expect_eq "... the export holds the sealed ones" 2 "$(jq .count pend.json)"
"$DBG_BIN" audit export --log PEND --tenant Q -o q.json >/dev/null 2>err.txt
expect_match "another tenant's pending record is counted for it alone" "note: 1 newer record" "$(cat err.txt)"
out=$("$DBG_BIN" audit prove 3 --log PEND 2>&1); rc=$?
expect_eq "prove of a record no signed tree head covers yet: exit 3" 3 "$rc"
expect_match "... saying so" "seq 3 is not covered by a signed tree head yet \(latest covers 2 records\)" "$out"
exec 7>&-
wait "$writer"
"$DBG_BIN" audit export --log PEND --tenant P -o pend.json >out.txt 2>err.txt
expect_eq "after the writer's checkpoint: all 4, no note" "wrote pend.json: 4 record(s) of tenant 'P', proved against the signed tree head of size 5|" \
    "$(cat out.txt)|$(cat err.txt)"
finish
