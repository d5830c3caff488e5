#!/bin/bash
# Tampering with an audit log on disk is detected by `dengbao audit verify`, which names the
# first bad sequence number: a flipped byte (with and without a fixed-up CRC), a deleted record,
# two records swapped, a truncated tail (mid-record and at a frame boundary), a stale signed tree
# head put in place of a newer one, a removed tree head, a missing segment, an altered index
# (repaired by reindex), and a foreign key.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq python3:python3
TAMPER="$DBG_SRCDIR/tests/cases/audit/tamper.py"

cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out k >/dev/null || { fail keygen; finish; exit 1; }

# 100 records, one per batch, a signed tree head every 10 records (sizes 10, 20, ..., 100).
for i in $(seq 0 99); do
    t=$([ $((i % 2)) = 0 ] && echo tenant-a || echo tenant-b)
    printf '{"actor":"op%d","role":"provider-admin","tenant":"%s","action":"vm.start","target":{"type":"domain","name":"vm%d"},"outcome":"success"}\n' "$i" "$t" "$i"
done | "$DBG_BIN" audit append --log pristine --key k.key --batch 1 --checkpoint-every 10 >acked.txt
expect_eq "100 records acknowledged" 100 "$(wc -l <acked.txt)"
"$DBG_BIN" audit query --log pristine --tenant tenant-a >/dev/null   # builds the index
out=$("$DBG_BIN" audit verify --log pristine --pubkey k.pub --format json); rc=$?
expect_eq "pristine log verifies" 0 "$rc"
expect_eq "pristine: 100 records" 100 "$(jq .records <<<"$out")"
expect_eq "pristine: tree head covers all" 100 "$(jq .head_size <<<"$out")"
SEG=seg-00000000000000000000.log

# tamper_case NAME EXPECTED_SEQ PATTERN TAMPER-ARGS...: copy, tamper, verify must fail (exit 1)
# naming EXPECTED_SEQ and a problem matching PATTERN.
tamper_case() {
    local name=$1 want=$2 pat=$3
    shift 3
    rm -rf case && cp -a pristine case
    python3 "$TAMPER" case/$SEG "$@" || { fail "$name: tamper tool"; return; }
    local out rc
    out=$("$DBG_BIN" audit verify --log case --pubkey k.pub --format json); rc=$?
    expect_eq "$name: verify exits 1" 1 "$rc"
    expect_eq "$name: first bad seq" "$want" "$(jq -r .first_bad_seq <<<"$out")"
    expect_match "$name: says what is wrong" "$pat" "$(jq -r .problem <<<"$out")"
}

# a byte flipped mid-log is not a torn tail: frames follow it (it was said to be one)
tamper_case "flipped byte" 37 "checksum mismatch.*; [0-9]+ frame\\(s\\) follow it, so it is not a torn tail" flip 37
tamper_case "flipped byte, CRC fixed" 37 "checkpoint at size 40: root does not match.*record 37 differs from the leaf hash the index took" flip-fixcrc 37
# without an index only the tree speaks: records from the last good tree head (30) are suspect
rm -rf case && cp -a pristine case && rm case/index.sqlite* && python3 "$TAMPER" case/$SEG flip-fixcrc 37
out=$("$DBG_BIN" audit verify --log case --pubkey k.pub --format json)
expect_eq "flipped byte, CRC fixed, no index: first bad seq" 30 "$(jq -r .first_bad_seq <<<"$out")"
expect_match "flipped byte, CRC fixed, no index: says what" "checkpoint at size 40: root does not match the records$" "$(jq -r .problem <<<"$out")"
tamper_case "deleted record" 37 "found seq 38 where seq 37 belongs.*missing" delete 37
tamper_case "reordered records" 37 "found seq 38 where seq 37 belongs.*out of order|found seq 38 where seq 37" swap 37
tamper_case "tail cut inside a record" 99 "torn or truncated tail" cut-into 99
tamper_case "tail cut at a record boundary" 95 "log truncated: head.json vouches for 100 records but the log holds 95" cut-before 95
tamper_case "stale tree head replaces a newer one" 90 "checkpoint after seq 99 claims tree size 50" stale-sth 50 100
tamper_case "tree head removed" 40 "does not chain to the previous tree head" drop-sth 50

# A writer opening a log damaged before the records head.json vouches for refuses and leaves the
# segment as it is (open took the damage for a torn tail, moved seqs 37-99 into torn-*.bin and
# cut the segment, and only then refused, calling them unacknowledged writes).
rm -rf case && cp -a pristine case && python3 "$TAMPER" case/$SEG flip 37 && cp case/$SEG damaged.seg
"$DBG_BIN" audit append --log case --key k.key --actor a --action x --outcome y >/dev/null 2>err.open
expect_eq "damaged log: append refused (exit 3)" 3 $?
expect_match "damaged log: open names offset and counts" "damaged at offset [0-9]+ \\(frame checksum mismatch\\), but head.json vouches for 100 records and only 37" "$(cat err.open)"
expect_eq "damaged log: segment untouched" 0 "$(cmp -s damaged.seg case/$SEG; echo $?)"
expect_eq "damaged log: nothing moved aside" 0 "$(ls case/torn-*.bin 2>/dev/null | wc -l)"
out=$("$DBG_BIN" audit verify --log case --pubkey k.pub --format json)
expect_eq "damaged log: verify still names seq 37" 37 "$(jq -r .first_bad_seq <<<"$out")"

# A query that indexes the damaged log says where its records end instead of coming back short
# without a word (tenant-a's records from seq 37 on were left out silently, and reindex said done).
rm -f case/index.sqlite*
out=$("$DBG_BIN" audit query --log case --tenant tenant-a --format json 2>err.query)
expect_eq "damaged log: query lists what precedes the damage" 19 "$(jq length <<<"$out")"
expect_match "damaged log: query warns where the index stops" "offset [0-9]+: frame checksum mismatch; the index stops before seq 37 but head.json vouches for 100 records" "$(cat err.query)"
rm -f case/index.sqlite*
"$DBG_BIN" audit reindex --log case >/dev/null 2>err.reindex
expect_match "damaged log: reindex warns too" "index stops before seq 37" "$(cat err.reindex)"
"$DBG_BIN" audit query --log pristine --tenant tenant-a >/dev/null 2>err.query
expect_eq "intact log: query warns of nothing" "" "$(cat err.query)"

# The text form names the seq too.
rm -rf case && cp -a pristine case && python3 "$TAMPER" case/$SEG delete 12
out=$("$DBG_BIN" audit verify --log case --pubkey k.pub); rc=$?
expect_eq "text verify exits 1" 1 "$rc"
expect_match "text verify names the seq" "FAILED: case: first bad seq 12:" "$out"

# A missing segment in a rotated log.
printf '{"actor":"a","action":"x","outcome":"y","tenant":"t"}\n%.0s' $(seq 1 300) |
    "$DBG_BIN" audit append --log multi --key k.key --batch 7 --segment-size 8192 >/dev/null
nseg=$(ls multi/seg-*.log | wc -l)
if [ "$nseg" -ge 3 ]; then pass "log rotated into $nseg segments"; else fail "rotation" "$nseg segments"; fi
expect_eq "rotated log verifies" 0 "$("$DBG_BIN" audit verify --log multi --pubkey k.pub >/dev/null; echo $?)"
second=$(ls multi/seg-*.log | sed -n 2p)
first_of_second=$((10#$(basename "$second" .log | sed 's/seg-//')))
rm "$second"
out=$("$DBG_BIN" audit verify --log multi --pubkey k.pub --format json); rc=$?
expect_eq "missing segment: exit 1" 1 "$rc"
expect_eq "missing segment: first bad seq" "$first_of_second" "$(jq -r .first_bad_seq <<<"$out")"
expect_match "missing segment: named" "is missing" "$(jq -r .problem <<<"$out")"

# The index: a changed tenant (to hide a record from a tenant's query) is found; reindex repairs it.
rm -rf case && cp -a pristine case
python3 - case/index.sqlite <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE records SET tenant='tenant-b' WHERE seq=42")
db.commit()
EOF
before=$("$DBG_BIN" audit query --log case --tenant tenant-a --format json | jq length)
expect_eq "altered index hides a record from tenant-a" 49 "$before"
out=$("$DBG_BIN" audit verify --log case --pubkey k.pub --format json); rc=$?
expect_eq "altered index: verify exits 1" 1 "$rc"
expect_eq "altered index: first bad seq" 42 "$(jq -r .first_bad_seq <<<"$out")"
expect_match "altered index: names the index" "index: seq 42" "$(jq -r .problem <<<"$out")"
"$DBG_BIN" audit reindex --log case >/dev/null
expect_eq "after reindex verify passes" 0 "$("$DBG_BIN" audit verify --log case --pubkey k.pub >/dev/null; echo $?)"
expect_eq "after reindex tenant-a sees its 50 records" 50 \
    "$("$DBG_BIN" audit query --log case --tenant tenant-a --format json | jq length)"

# An index SQLite cannot read at all (overwritten, cut short): query and verify say to run
# reindex, and reindex builds it again from the segments. It opened the file to empty it and
# failed the same way ('file is not a database', exit 3), so the remedy named did nothing.
for damage in overwritten truncated; do
    rm -rf case && cp -a pristine case
    case $damage in
    overwritten) echo garbage > case/index.sqlite ;;
    truncated) head -c 5000 pristine/index.sqlite > case/index.sqlite ;;
    esac
    rm -f case/index.sqlite-wal case/index.sqlite-shm
    "$DBG_BIN" audit query --log case --tenant tenant-a >/dev/null 2>err.query
    expect_match "$damage index: query names it and the remedy" \
        "case/index.sqlite: .*run 'dengbao audit reindex'" "$(cat err.query)"
    "$DBG_BIN" audit reindex --log case >/dev/null 2>err.reindex
    expect_eq "$damage index: reindex exits 0" 0 $?
    expect_match "$damage index: reindex says it rebuilt it" "built it again" "$(cat err.reindex)"
    expect_eq "$damage index: then verify passes" 0 \
        "$("$DBG_BIN" audit verify --log case --pubkey k.pub >/dev/null; echo $?)"
    expect_eq "$damage index: then tenant-a sees its 50 records" 50 \
        "$("$DBG_BIN" audit query --log case --tenant tenant-a --format json | jq length)"
done

# A deleted index row is found too.
rm -rf case && cp -a pristine case
python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute('DELETE FROM records WHERE seq=7'); d.commit()" case/index.sqlite
out=$("$DBG_BIN" audit verify --log case --pubkey k.pub --format json)
expect_eq "deleted index row: first bad seq" 7 "$(jq -r .first_bad_seq <<<"$out")"

# Signed by someone else: a log re-signed with another key fails against the real public key.
"$DBG_BIN" audit keygen --out other >/dev/null
out=$("$DBG_BIN" audit verify --log pristine --pubkey other.pub --format json); rc=$?
expect_eq "foreign key: verify exits 1" 1 "$rc"
expect_match "foreign key: signature" "does not verify|signature" "$(jq -r .problem <<<"$out")"

# A bigger log (20,000 records, ~7 segments, several 4096-leaf chunks) so verify's parallel pass
# (CRCs, seqs and leaf hashes on all cores, chunk roots combined in order) is what finds the damage.
for i in $(seq 0 19999); do
    printf '{"actor":"op%d","role":"provider-admin","tenant":"tenant-%d","action":"vm.start","target":{"type":"domain","name":"vm%d"},"outcome":"success"}\n' "$i" $((i % 7)) "$i"
done | "$DBG_BIN" audit append --log big --key k.key --batch 500 --segment-size 1000000 >/dev/null
expect_eq "big log verifies" 0 "$("$DBG_BIN" audit verify --log big --pubkey k.pub >/dev/null; echo $?)"
# seg_of SEQ: the segment file that holds record SEQ
seg_of() {
    local s best=
    for s in big/seg-*.log; do
        [ $((10#$(basename "$s" .log | sed 's/seg-//'))) -le "$1" ] && best=$s
    done
    basename "$best"
}
big_case() {
    local name=$1 want=$2 pat=$3 seq=$4
    shift 4
    rm -rf bigcase && cp -a big bigcase
    python3 "$TAMPER" "bigcase/$(seg_of "$seq")" "$@" || { fail "$name: tamper tool"; return; }
    local out rc
    out=$("$DBG_BIN" audit verify --log bigcase --pubkey k.pub --format json); rc=$?
    expect_eq "$name: verify exits 1" 1 "$rc"
    expect_eq "$name: first bad seq" "$want" "$(jq -r .first_bad_seq <<<"$out")"
    expect_match "$name: says what is wrong" "$pat" "$(jq -r .problem <<<"$out")"
}
# checkpoint sizes depend on how stdin arrived in batches: read them from the segments
cps=$(for s in big/seg-*.log; do python3 "$TAMPER" "$s" list | awk '$1 == "C" { print $4 }'; done | sort -n)
cp_before=$(awk '$1 <= 13377' <<<"$cps" | tail -1)
cp_after=$(awk '$1 > 13377' <<<"$cps" | head -1)
# a checkpoint inside a segment (one right before an end marker is repeated by the next segment's
# header, and removing it is reported there instead): which ones are depends on record sizes
inner=$(for s in big/seg-*.log; do
    python3 "$TAMPER" "$s" list | awk 'c && $1 != "N" { print v } { c = ($1 == "C"); v = $4 }'
done | sort -n)
cp_drop=$(awk '$1 > 7000' <<<"$inner" | head -1)
cp_drop_prev=$(awk -v d="$cp_drop" '$1 < d' <<<"$cps" | tail -1)
big_case "big: flipped byte" 13377 "checksum mismatch" 13377 flip 13377
big_case "big: flipped byte, CRC fixed" "$cp_before" "checkpoint at size $cp_after: root does not match the records$" 13377 flip-fixcrc 13377
big_case "big: deleted record" 9001 "found seq 9002 where seq 9001 belongs" 9001 delete 9001
big_case "big: reordered records" 17000 "found seq 17001 where seq 17000" 17000 swap 17000
big_case "big: tree head removed" "$cp_drop_prev" "does not chain to the previous tree head" "$((cp_drop - 1))" drop-sth "$cp_drop"

finish
