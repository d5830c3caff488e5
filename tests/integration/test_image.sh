# Integration test for `dengbao image` and `dengbao volume`: images made here with qemu-img
# (plain, zlib- and zstd-compressed, with a backing file, with an internal snapshot) must read
# exactly as `qemu-img convert -O raw` does; seal/verify detects tampering of content, qcow2
# metadata, the manifest and its signature; EICAR at a window/chunk border is found in raw and
# compressed images; hostile images give clear errors (exit 3); migrate-check repairs; wipe-check
# reports residual data; malware spread is correlated with the sensor's EVE alerts.
. "$(dirname "$0")/lib.sh"
ensure_pkgs qemu-img:qemu-utils openssl:openssl jq:jq python3:python3

B="$DBG_BIN"
cd "$TMP" || exit 1
MiB=1048576
EICAR='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
put() { printf '%s' "$2" | dd of="$1" bs=1 seek="$3" conv=notrunc status=none; }
# Tamper with one byte so that it really changes: the byte is inverted, never overwritten with a
# fixed character (random base64 content holds any given letter at a given offset 1 time in 64,
# which made a "tamper" a no-op and the test flaky). The change is checked before going on.
flip() {
    local old new
    old=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((old ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
    new=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    [ -n "$old" ] && [ "$new" = $((old ^ 0xff)) ] || { echo "flip: byte $2 of $1 did not change ($old -> $new)" >&2; exit 1; }
}
root_of() { "$B" image info "$1" --no-progress | jq -r .content_root; }

out=$("$B" image --help); expect_match "image --help" "Usage: dengbao image" "$out"
out=$("$B" volume --help); expect_match "volume --help" "Usage: dengbao volume" "$out"
out=$("$B" image --help)
expect_match "image --help: a manifest signed by another key is exit 1, as verify answers" \
    "1 mismatch .* or a.*manifest that does not hold .*signed by a key.*other than --pubkey" "$(printf '%s' "$out" | tr '\n' ' ')"
expect_eq "image --help: no line wider than 90 columns" "" \
    "$(printf '%s\n' "$out" | awk 'length > 90')"
expect_match "image --help: exit 3 for a missing manifest or image" "3 error \(no manifest, image.*missing" \
    "$(printf '%s' "$out" | tr '\n' ' ' | tr -s ' ')"
"$B" image seal >/dev/null 2>&1; expect_eq "seal without files is a usage error" 2 $?

openssl genpkey -algorithm ed25519 -out seal.pem 2>/dev/null
openssl pkey -in seal.pem -pubout -out seal.pub
openssl genpkey -algorithm ed25519 -out other.pem 2>/dev/null

# 40 MiB of mixed content: compressible text, zeros, numbers; EICAR across the 16 MiB border
# (a 1 MiB chunk border and the default 16 MiB scan window border at once).
head -c $((12 * MiB)) /dev/urandom | base64 -w 76 | head -c $((16 * MiB)) > base.raw
seq 1 1000000 | dd of=base.raw bs=1M seek=28 conv=notrunc status=none
truncate -s $((40 * MiB)) base.raw
put base.raw "$EICAR" $((16 * MiB - 30))
head -c $((12 * MiB)) /dev/urandom | base64 -w 76 | head -c $((8 * MiB)) > clean.raw
truncate -s $((24 * MiB)) clean.raw

qemu-img convert -f raw -O qcow2 base.raw plain.qcow2
qemu-img convert -f raw -O qcow2 -c base.raw zlib.qcow2
qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd base.raw zstd.qcow2
qemu-img create -q -f qcow2 -F qcow2 -b zlib.qcow2 top.qcow2
qemu-io -c 'write -P 0xab 1M 64k' -c 'write -z 20M 2M' -c 'write -P 0x11 39M 1M' top.qcow2 >/dev/null
qemu-img snapshot -c snap1 top.qcow2
qemu-io -c 'write -P 0xcd 2M 128k' top.qcow2 >/dev/null
qemu-img convert -f qcow2 -O qcow2 -o cluster_size=4096,compat=0.10 base.raw v2small.qcow2 2>/dev/null ||
    qemu-img convert -f raw -O qcow2 -o cluster_size=4096,compat=0.10 base.raw v2small.qcow2

# ---- reader == qemu-img convert -O raw
want=$(root_of base.raw)
for img in plain zlib zstd v2small; do
    qemu-img convert -O raw "$img.qcow2" "$img.conv"
    expect_eq "$img.qcow2: qemu-img's raw is the source" "$want" "$(root_of "$img.conv")"
    expect_eq "$img.qcow2: our reader == qemu-img convert -O raw" "$want" "$(root_of "$img.qcow2")"
done
qemu-img convert -O raw top.qcow2 top.conv
expect_eq "backed top.qcow2: our reader == qemu-img convert" "$(root_of top.conv)" "$(root_of top.qcow2)"
cmp -s top.conv base.raw; expect_eq "top differs from its backing (writes landed)" 1 $?
qemu-img convert -O raw -l snapshot.name=snap1 top.qcow2 snap1.conv
info=$("$B" image info top.qcow2)
expect_match "info lists the backing file" '"backing_chain":\[\{"path":"[^"]*zlib.qcow2"' "$info"
expect_match "info lists the internal snapshot" '"name":"snap1"' "$info"

# ---- hashing from the page-cache mapping (src/integrity/file_view.c) == hashing what is read
# The files are dropped from the cache and read back so the kernel can cache them in 2 MiB folios,
# which is when seal maps them (raw files and qcow2 data clusters) instead of reading them. The
# roots are checked against an RFC 9162 tree computed here by Python from the bytes.
merkle_root() {
    python3 - "$1" <<'PY'
import hashlib, sys
def mth(h):
    if len(h) == 1:
        return h[0]
    k = 1
    while k * 2 < len(h):
        k *= 2
    return hashlib.sha256(b"\x01" + mth(h[:k]) + mth(h[k:])).digest()
leaves = []
with open(sys.argv[1], "rb") as f:
    while True:
        c = f.read(1 << 20)
        if not c:
            break
        leaves.append(hashlib.sha256(b"\x00" + c).digest())
print(mth(leaves).hex())
PY
}
head -c $((96 << 20)) /dev/urandom > big.raw
put big.raw "$EICAR" $((48 * MiB - 30)) # across a scan window border, read in place below
qemu-img convert -f raw -O qcow2 big.raw big.qcow2
sync
for f in big.raw big.qcow2; do dd if=$f iflag=nocache count=0 status=none; cat $f > /dev/null; done
want=$(merkle_root big.raw)
expect_eq "96 MiB raw: content root == Python's" "$want" "$(root_of big.raw)"
expect_eq "96 MiB qcow2: content root == Python's over the raw bytes" "$want" "$(root_of big.qcow2)"
"$B" image seal big.qcow2 --key seal.pem --status-dir "$TMP/status" --no-progress >/dev/null
expect_eq "96 MiB qcow2: container root == Python's over the file" "$(merkle_root big.qcow2)" \
    "$(jq -r .container.root big.qcow2.dengbao-seal)"
"$B" image verify big.qcow2 --pubkey seal.pub >/dev/null; expect_eq "96 MiB qcow2 verifies" 0 $?
out=$("$B" image scan big.raw big.qcow2 --no-progress 2>/dev/null)
expect_eq "96 MiB raw and qcow2, scanned in place: EICAR across the 48 MiB border in both" 2 \
    "$(printf '%s\n' "$out" | grep -c "FOUND EICAR_Test_File .* at offset $((48 * MiB - 30))")"
rm -f big.raw big.qcow2 big.qcow2.dengbao-seal

# ---- seal and verify
out=$("$B" image seal base.raw plain.qcow2 zlib.qcow2 zstd.qcow2 top.qcow2 --key seal.pem \
      --status-dir "$TMP/status" --no-progress); rc=$?
expect_eq "seal exits 0" 0 $rc
expect_match "seal reports the backing layer" "top.qcow2 \(qcow2, 41943040 bytes virtual, 1 backing layer, 1 snapshot\)" "$out"
[ -f top.qcow2.dengbao-seal ]; expect_eq "manifest beside the image" 0 $?
expect_eq "manifest names the snapshot's content root == qemu-img's" "$(root_of snap1.conv)" \
    "$(jq -r '.snapshots[0].content_root' top.qcow2.dengbao-seal)"
expect_eq "status file per platform.h" image_seals "$(jq -r .name "$TMP/status/image_seals.json")"
out=$("$B" image verify base.raw plain.qcow2 zlib.qcow2 zstd.qcow2 top.qcow2 --pubkey seal.pub); rc=$?
expect_eq "verify of untouched images exits 0" 0 $rc
expect_eq "five OK lines" 5 "$(printf '%s\n' "$out" | grep -c ': OK$')"

# tamper: one content byte of the raw image
cp base.raw t-raw.raw; "$B" image seal t-raw.raw --key seal.pem --status-dir "$TMP/status" >/dev/null
flip t-raw.raw $((7 * MiB + 5))
out=$("$B" image verify t-raw.raw --pubkey seal.pub --eve "$TMP/verify-eve.json"); rc=$?
expect_eq "raw: one changed byte -> exit 1" 1 $rc
expect_match "raw: names the chunk offset" "content changed in 1 range, first at offset 7340032" "$out"
expect_match "mismatch alert written" '"signature":"image_integrity_mismatch"' "$(cat "$TMP/verify-eve.json" 2>/dev/null)"

# tamper: one byte in a qcow2 data cluster (host offset from qemu-img map)
cp plain.qcow2 t-data.qcow2; "$B" image seal t-data.qcow2 --key seal.pem --status-dir "$TMP/status" >/dev/null
host=$(qemu-img map --output=json t-data.qcow2 | jq -r '[.[] | select(.data and .start <= 5242880 and .start + .length > 5242880)][0] | .offset + (5242880 - .start)')
flip t-data.qcow2 $((host + 3))
out=$("$B" image verify t-data.qcow2 --pubkey seal.pub --format json); rc=$?
expect_eq "qcow2 content byte -> exit 1" 1 $rc
expect_eq "qcow2 content byte: content changed at 5 MiB" "true 5242880" \
    "$(printf '%s' "$out" | jq -r '.[0] | "\(.content_changed) \(.content_ranges[0].offset)"')"

# tamper: qcow2 metadata -- the first L2 entry's offset bits (content becomes unreadable or different)
cp zlib.qcow2 t-meta.qcow2; "$B" image seal t-meta.qcow2 --key seal.pem --status-dir "$TMP/status" >/dev/null
l1=$(od -An -j40 -N8 -tx1 t-meta.qcow2 | tr -d ' \n'); l1=$((16#$l1))
l2=$(od -An -j"$l1" -N8 -tx1 t-meta.qcow2 | tr -d ' \n'); l2=$(( (16#$l2) & 0x00fffffffffffe00 ))
put t-meta.qcow2 "$(printf '\x3f')" $((l2 + 2))
out=$("$B" image verify t-meta.qcow2 --pubkey seal.pub); rc=$?
expect_eq "qcow2 metadata byte -> exit 1" 1 $rc
expect_match "metadata tamper: container and content both reported" "content (changed|unreadable).*container changed" "$out"

# tamper: the metadata of an unused header byte area changes the container only
cp plain.qcow2 t-hdr.qcow2; "$B" image seal t-hdr.qcow2 --key seal.pem --status-dir "$TMP/status" >/dev/null
flip t-hdr.qcow2 3000
out=$("$B" image verify t-hdr.qcow2 --pubkey seal.pub); rc=$?
expect_eq "unused header byte -> exit 1" 1 $rc
expect_match "only the container changed" "guest-visible content unchanged" "$out"

# tamper: the manifest and the signature; wrong signer
cp clean.raw t-man.raw; "$B" image seal t-man.raw --key seal.pem --status-dir "$TMP/status" >/dev/null
sed -i 's/"virtual_size": 25165824/"virtual_size": 25165825/' t-man.raw.dengbao-seal
out=$("$B" image verify t-man.raw --pubkey seal.pub); rc=$?
expect_eq "manifest byte -> exit 1" 1 $rc
expect_match "manifest tamper named" "signature does not verify" "$out"
"$B" image seal t-man.raw --key seal.pem --status-dir "$TMP/status" >/dev/null
sig=$(jq -r .signature.value t-man.raw.dengbao-seal)
bad=$(printf '%s' "$sig" | sed 's/^./X/; s/^X/'"$([ "${sig:0:1}" = 0 ] && echo 1 || echo 0)"'/')
sed -i "s/$sig/$bad/" t-man.raw.dengbao-seal
"$B" image verify t-man.raw --pubkey seal.pub >/dev/null; expect_eq "signature byte -> exit 1" 1 $?
"$B" image seal t-man.raw --key other.pem --status-dir "$TMP/status" >/dev/null
out=$("$B" image verify t-man.raw --pubkey seal.pub); rc=$?
expect_eq "other signer -> exit 1" 1 $rc
expect_match "other signer named" "key other than" "$out"
"$B" image verify clean.raw >/dev/null 2>&1; expect_eq "no manifest -> exit 3" 3 $?

# ---- audit records for seal and verify, with a key from `dengbao audit keygen`
"$B" audit keygen --out "$TMP/ak" >/dev/null
cp clean.raw aud.raw
"$B" image seal aud.raw --key "$TMP/ak.key" --audit-log "$TMP/audit" --audit-key "$TMP/ak.key" \
    --status-dir "$TMP/status" >/dev/null; expect_eq "seal with audit keygen key" 0 $?
"$B" image verify aud.raw --pubkey "$TMP/ak.pub" --audit-log "$TMP/audit" --audit-key "$TMP/ak.key" >/dev/null
flip aud.raw 100
"$B" image verify aud.raw --pubkey "$TMP/ak.pub" --audit-log "$TMP/audit" --audit-key "$TMP/ak.key" >/dev/null
expect_eq "tampered verify with audit -> exit 1" 1 $?
out=$("$B" audit query --log "$TMP/audit" --action 'image.*')
expect_match "audit: seal, verify success, verify detected" "image.seal .*outcome=success.*image.verify .*outcome=success.*image.verify .*outcome=detected" "$(printf '%s' "$out" | tr '\n' ' ')"
"$B" audit verify --log "$TMP/audit" --pubkey "$TMP/ak.pub" >/dev/null; expect_eq "audit log verifies" 0 $?
"$B" image seal aud.raw --key seal.pem --audit-log "$TMP/audit" >/dev/null 2>&1
expect_eq "--audit-log without --audit-key is a usage error" 2 $?
# an option the subcommand does not take is a usage error naming it, never taken and ignored:
# verify --key (the sealing key where --pubkey belongs) verified against the manifest's own key
# and said OK for a manifest anyone re-signed; scan --audit-log recorded nothing
cp aud.raw resealed.raw
"$B" image seal resealed.raw --key other.pem --status-dir "$TMP/status" --no-progress >/dev/null
out=$("$B" image verify resealed.raw --key seal.pem --no-progress 2>&1); rc=$?
expect_eq "verify --key: usage error" 2 $rc
expect_match "verify --key: points to --pubkey" "does not take --key .*--pubkey" "$out"
for args in "scan clean.raw --audit-log $TMP/audit --audit-key $TMP/ak.key" \
            "seal aud.raw --key seal.pem --eve $TMP/x.json" "verify aud.raw --chunk-size 4096" \
            "correlate --findings x.json --sensor-eve y.json --threads 2"; do
    # shellcheck disable=SC2086
    out=$("$B" image $args 2>&1); rc=$?
    expect_eq "image $args: usage error" 2 $rc
    expect_match "image $args: names the option" "does not take --" "$out"
done

# ---- scanning
out=$("$B" image scan base.raw zstd.qcow2 zlib.qcow2 --eve "$TMP/scan-eve.json" 2>/dev/null); rc=$?
expect_eq "scan finds EICAR -> exit 1" 1 $rc
expect_eq "EICAR at the border in raw, zstd and zlib qcow2" 3 \
    "$(printf '%s\n' "$out" | grep -c 'FOUND EICAR_Test_File .* at offset 16777186')"
expect_eq "one malware alert per infected image" 3 "$(grep -c '"signature":"malware_detected"' "$TMP/scan-eve.json")"
expect_eq "malware alert names image, rule, offset" "zstd.qcow2 EICAR_Test_File 16777186" \
    "$(jq -r 'select(.malware.image == "zstd.qcow2") | "\(.malware.image) \(.malware.rule) \(.malware.offset)"' "$TMP/scan-eve.json")"
out=$("$B" image scan clean.raw plain.qcow2 --window 1048576 --overlap 4096 2>/dev/null); rc=$?
expect_match "small windows still find EICAR across the 1 MiB border" "plain.qcow2: FOUND EICAR_Test_File .* offset 16777186" "$out"
out=$("$B" image scan clean.raw 2>&1); rc=$?
expect_eq "clean image -> exit 0" 0 $rc
expect_match "clean image says clean" "clean.raw: clean" "$out"
expect_match "ClamAV / libguestfs availability stated" "ClamAV: .*deep file extraction: " "$out"
# a scan leaves the "malware" control status that collection and 8.2.4.3c read
mkdir -p "$TMP/hr/run/dengbao/status"
"$B" image scan clean.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
expect_eq "scan writes the malware status" malware "$(jq -r .name "$TMP/hr/run/dengbao/status/malware.json")"
"$B" collect -c test:///default --host-root "$TMP/hr" -o "$TMP/hr.json" 2>/dev/null
expect_eq "collect sees malware scanning deployed and healthy" "true true" \
    "$(jq -r '.controls[] | select(.name == "malware") | "\(.deployed) \(.healthy)"' "$TMP/hr.json")"
# an image that cannot be scanned leaves the status not ok and says which, instead of the last
# scan's "nothing found" standing until it is stale
"$B" image scan clean.raw no-such-image.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
expect_eq "scan with an unreadable image: exit 3" 3 $?
expect_eq "and the status is not ok" false "$(jq -r .ok "$TMP/hr/run/dengbao/status/malware.json")"
expect_match "naming the image not scanned" "1 image\(s\) scanned .*nothing found; 1 NOT SCANNED \(first: no-such-image.raw" \
    "$(jq -r .detail "$TMP/hr/run/dengbao/status/malware.json")"
"$B" image scan clean.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
expect_eq "a clean rescan makes it ok again" true "$(jq -r .ok "$TMP/hr/run/dengbao/status/malware.json")"
# rules that no longer compile: nothing is scanned, and the status says so (the clean run's
# record stood, ok, until it went stale)
mkdir -p badrules; printf 'rule Broken { strings: $a = "x" condition: $b }\n' > badrules/b.yar
out=$("$B" image scan clean.raw base.raw --rules badrules --status-dir "$TMP/hr/run/dengbao/status" 2>&1)
expect_eq "scan with rules that do not compile: exit 3" 3 $?
expect_match "it names the rule file and line" "badrules/b.yar:1: undefined string" "$out"
expect_eq "and the status is not ok, with why" \
    'false 0 image(s) scanned with YARA rules; 2 NOT SCANNED (first: YARA rules do not compile: badrules/b.yar:1: undefined string "$b")' \
    "$(jq -r '"\(.ok) \(.detail)"' "$TMP/hr/run/dengbao/status/malware.json")"
# a rule directory whose files hold no rule (comments only) scanned with 0 rules and said
# "clean", exit 0, status ok: nothing was checked
mkdir -p norules; printf '// rules to come\n' > norules/todo.yar
out=$("$B" image scan clean.raw --no-shipped-rules --rules norules --status-dir "$TMP/hr/run/dengbao/status" 2>&1)
expect_eq "scan with rule files that hold no rule: exit 3" 3 $?
expect_match "it names the directory" "norules: its 1 rule file\(s\) hold no YARA rule" "$out"
expect_eq "and the status is not ok" false "$(jq -r .ok "$TMP/hr/run/dengbao/status/malware.json")"
"$B" image scan clean.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
# an include naming a FIFO held the scan for good in libyara's own fopen (timeout: fail, not
# hang); one naming a regular file is read, relative to the including file
mkdir -p incrules/lib; printf 'include "lib/marker.yar"\n' > incrules/main.yar
printf 'rule IncludedMarker { strings: $a = "dengbao-included-rule-5e2" condition: $a }\n' \
    > incrules/lib/marker.yar
cp clean.raw included.raw; put included.raw "dengbao-included-rule-5e2" 70000
out=$(timeout 60 "$B" image scan included.raw clean.raw --no-shipped-rules --rules incrules \
      --no-progress 2>&1); rc=$?
expect_eq "scan with a rule file that includes another: exit 1" 1 $rc
expect_match "the included rule matched" "IncludedMarker" "$out"
mkfifo incrules/lib/pipe.yar; printf 'include "lib/pipe.yar"\n' > incrules/main.yar
out=$(timeout 60 "$B" image scan clean.raw --rules incrules --status-dir "$TMP/hr/run/dengbao/status" \
      --no-progress 2>&1); rc=$?
expect_eq "scan with an include naming a FIFO: exit 3, no hang" 3 $rc
expect_match "it names the including file, line, include and why" \
    'incrules/main.yar:1: include "lib/pipe.yar": .*incrules/lib/pipe.yar: not a regular file \(a FIFO\)' "$out"
expect_match "and the status is not ok, NOT SCANNED" \
    '^false 0 image\(s\) scanned with YARA rules; 1 NOT SCANNED \(first: YARA rules do not compile: incrules/main.yar:1: include "lib/pipe.yar"' \
    "$(jq -r '"\(.ok) \(.detail)"' "$TMP/hr/run/dengbao/status/malware.json")"
rm -f incrules/lib/pipe.yar
"$B" image scan clean.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
# what a control found counts, not only that it ran: an infection or a seal mismatch in a
# fresh status file is not a healthy control, and 8.2.4.4b is not 符合
"$B" image scan base.raw --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
expect_eq "infected scan: status says ok false" false "$(jq -r .ok "$TMP/hr/run/dengbao/status/malware.json")"
"$B" image verify t-raw.raw --pubkey seal.pub --status-dir "$TMP/hr/run/dengbao/status" >/dev/null 2>&1
expect_eq "mismatch: status says ok false" "false 1" \
    "$(jq -r '"\(.ok) \(.mismatches)"' "$TMP/hr/run/dengbao/status/image_seals.json")"
"$B" collect -c test:///default --host-root "$TMP/hr" -o "$TMP/hr2.json" 2>/dev/null
expect_eq "collect: malware scan that found an infection is not healthy" "true false" \
    "$(jq -r '.controls[] | select(.name == "malware") | "\(.deployed) \(.healthy)"' "$TMP/hr2.json")"
expect_match "collect: image seals with a mismatch are not healthy, and say why" \
    "false .*reports a problem.*MISMATCH found" \
    "$(jq -r '.controls[] | select(.name == "image_seals") | "\(.healthy) \(.detail)"' "$TMP/hr2.json")"
"$B" assess --snapshot "$TMP/hr2.json" --level 3 --format json -o "$TMP/hr2-assess.json" >/dev/null 2>&1
expect_eq "seal mismatch reported: 8.2.4.4b 不符合" 不符合 \
    "$(jq -r '.items[] | select(.clause == "8.2.4.4b") | .verdict' "$TMP/hr2-assess.json")"
expect_match "8.2.4.4b evidence names the mismatch" "MISMATCH found" \
    "$(jq -r '.items[] | select(.clause == "8.2.4.4b") | .evidence[] | select(.ok | not) | .observed' "$TMP/hr2-assess.json")"
expect_eq "infection reported: 8.2.4.3c not 符合" 1 \
    "$(jq -r '[.items[] | select(.clause == "8.2.4.3c") | .verdict | select(. == "不符合" or . == "部分符合")] | length' "$TMP/hr2-assess.json")"
# an image that cannot be verified (its manifest deleted) is not intact: the status says so,
# rather than the seal's "ok" standing (alone) or "all intact" over the others
S="$TMP/hr/run/dengbao/status"
cp clean.raw t-gone.raw; cp clean.raw t-ok.raw
"$B" image seal t-ok.raw t-gone.raw --key seal.pem --status-dir "$S" >/dev/null
# the list is merged over runs: t-raw.raw's mismatch of the earlier verify still stands
expect_eq "sealed: both listed sealed, the earlier mismatch kept: status ok false" \
    "false sealed sealed mismatch" \
    "$(jq -r '"\(.ok) " + ([.images[] | select(.path | test("/t-(ok|gone|raw)\\.raw$")) | .state] | join(" "))' "$S/image_seals.json")"
rm t-gone.raw.dengbao-seal
"$B" image verify t-gone.raw --pubkey seal.pub --status-dir "$S" --eve "$TMP/gone-eve.json" >/dev/null 2>&1
expect_eq "verify without a manifest: exit 3" 3 $?
expect_eq "and an alert for the SIEM naming the image" "image_unverifiable t-gone.raw 8.2.4.4b" \
    "$(jq -r '"\(.alert.signature) \(.image.path) \(.dengbao.clause // .alert.metadata.clause // "?")"' "$TMP/gone-eve.json" 2>/dev/null | head -1)"
expect_match "its evidence says why" "no seal manifest" "$(cat "$TMP/gone-eve.json" 2>/dev/null)"
expect_eq "alone: status ok false, 1 unverified" "false 0 1" \
    "$(jq -r '"\(.ok) \(.verified) \(.unverified)"' "$S/image_seals.json")"
"$B" image verify t-ok.raw t-gone.raw --pubkey seal.pub --status-dir "$S" >/dev/null 2>&1
expect_eq "beside an intact image: status ok false, 1 verified, 1 unverified" "false 1 1" \
    "$(jq -r '"\(.ok) \(.verified) \(.unverified)"' "$S/image_seals.json")"
expect_match "the detail names the image not verified" \
    "1 image\(s\) verified, intact; 1 NOT VERIFIED \(first: t-gone.raw: no seal manifest" \
    "$(jq -r .detail "$S/image_seals.json")"
# the image itself deleted, its manifest left: an error naming the image (it said "MISMATCH:
# ... a moved image must be sealed again", exit 1, though nothing was moved)
cp clean.raw t-del.raw; "$B" image seal t-del.raw --key seal.pem --status-dir "$TMP/st-del" >/dev/null
rm t-del.raw
out=$("$B" image verify t-del.raw --pubkey seal.pub --eve "$TMP/del-eve.json" 2>&1); rc=$?
expect_eq "verify of a deleted image: exit 3" 3 $rc
expect_match "it says the image cannot be opened" "t-del.raw: cannot open image: No such file" "$out"
expect_nomatch "not a moved-image mismatch" "MISMATCH|moved" "$out"
expect_eq "the SIEM hears image_unverifiable" "image_unverifiable" \
    "$(jq -r .alert.signature "$TMP/del-eve.json" 2>/dev/null | head -1)"
"$B" collect -c test:///default --host-root "$TMP/hr" -o "$TMP/hr3.json" 2>/dev/null
expect_match "collect: image seals with an unverified image are not healthy" \
    "false .*NOT VERIFIED" \
    "$(jq -r '.controls[] | select(.name == "image_seals") | "\(.healthy) \(.detail)"' "$TMP/hr3.json")"
# a string with more matches in a window than libyara keeps (1,000,000): a rule counting them
# came out "clean" without a word; now said on stderr, as the yara command line does
mkdir -p manyrules
printf 'rule ManyA { strings: $a = "AAAA" condition: #a > 1500000 }\n' > manyrules/m.yar
head -c $((4 * MiB)) /dev/zero | tr '\0' A > many-a.raw
err=$("$B" image scan many-a.raw --no-shipped-rules --rules manyrules --window $((4 * MiB)) \
      --no-progress 2>&1 >/dev/null)
expect_match "too many matches: said, with rule, string and window" \
    "many-a.raw: YARA rule ManyA, string \\\$a: more than 1000000 matches in the window at offset 0; .* may be wrong" "$err"
mkdir -p myrules; printf 'rule Custom_Marker { strings: $a = "custom-marker-for-dengbao-test" condition: $a }\n' > myrules/c.yar
cp clean.raw custom.raw; put custom.raw "custom-marker-for-dengbao-test" 12345
out=$("$B" image scan custom.raw --rules myrules 2>/dev/null); rc=$?
expect_eq "user rule directory -> exit 1" 1 $rc
expect_match "user rule found" "FOUND Custom_Marker .* offset 12345" "$out"
printf 'rule Broken { condition: $nope }\n' > myrules/z.yar
out=$("$B" image scan custom.raw --rules myrules 2>&1); rc=$?
expect_eq "broken rule -> exit 3" 3 $rc
expect_match "broken rule names file and line" "z.yar:1" "$out"
out=$("$B" image scan custom.raw --no-shipped-rules 2>&1); rc=$?
expect_eq "--no-shipped-rules without --rules: usage error" 2 $rc
expect_match "and says what to give" "give --rules DIR" "$out"
# option values the hasher or scanner cannot use are usage errors (2), not failed runs (3)
for args in "scan custom.raw --window 1000" "scan custom.raw --window 8192 --overlap 8193" \
            "scan custom.raw --window 4096" "seal custom.raw --key seal.pem --chunk-size 1000" \
            "migrate-check --source custom.raw --dest custom.raw --chunk-size 3"; do
    # shellcheck disable=SC2086
    out=$("$B" image $args 2>&1); rc=$?
    expect_eq "image $args: usage error" 2 $rc
    expect_match "image $args: names the option" "(--window|--chunk-size) [0-9]+" "$out"
done
# a value that is no number, or out of every range, says what the option takes, as a number out
# of its range does (it said "'0' is not a whole number in 1..1099511627776")
out=$("$B" image seal custom.raw --key seal.pem --chunk-size 0 2>&1); rc=$?
expect_eq "seal --chunk-size 0: usage error" 2 $rc
expect_match "... says what it takes" "--chunk-size 0: need a power of two in 4096\.\.2\^30" "$out"
out=$("$B" image scan custom.raw --window 1M 2>&1); rc=$?
expect_eq "scan --window 1M: usage error" 2 $rc
expect_match "... says what it takes" "--window 1M: need a window of 4 KiB\.\.1 GiB in whole 4 KiB pages" "$out"

# --overlap 0 was refused as "'0' is not a whole number in 1..1099511627776", which said neither
# why nor what to give: 0 is the library's "default" and a user's "no overlap" (no match across a
# window border found, EICAR at 16777186 among them).
out=$("$B" image scan custom.raw --overlap 0 2>&1); rc=$?
expect_eq "scan --overlap 0: usage error" 2 $rc
expect_match "... says why and what to give" "--overlap 0: with no overlap a match that crosses a window border is never found; give the longest match to find across borders in bytes \(default 65536\)" "$out"
expect_match "scan --help: what --overlap means" "scanned with the next --overlap bytes" "$("$B" image scan --help)"
# ---- hostile images: clear errors, exit 3, never a crash
printf 'QFI\373\0\0\0\3' > trunc.qcow2
cp plain.qcow2 huge.qcow2; printf '\x40\0\0\0\0\0\0\0' | dd of=huge.qcow2 bs=1 seek=24 conv=notrunc status=none
qemu-img create -q -f qcow2 loopa.qcow2 1M; qemu-img create -q -f qcow2 -F qcow2 -b loopa.qcow2 loopb.qcow2
qemu-img rebase -q -u -F qcow2 -b loopb.qcow2 loopa.qcow2
cp plain.qcow2 l2out.qcow2
l1=$(od -An -j40 -N8 -tx1 l2out.qcow2 | tr -d ' \n'); l1=$((16#$l1))
l2=$(od -An -j"$l1" -N8 -tx1 l2out.qcow2 | tr -d ' \n'); l2=$(( (16#$l2) & 0x00fffffffffffe00 ))
printf '\x80\x00\x7f\x00\x00\x00\x00\x00' | dd of=l2out.qcow2 bs=1 seek="$l2" conv=notrunc status=none
for case in "trunc.qcow2:truncated" "huge.qcow2:virtual size" "loopa.qcow2:loop" "l2out.qcow2:outside the file"; do
    f=${case%%:*}; msg=${case#*:}
    out=$("$B" image scan "$f" 2>&1); rc=$?
    expect_eq "hostile $f: scan exit 3" 3 $rc
    expect_match "hostile $f: error says '$msg'" "$f.*$msg" "$out"
    out=$("$B" image seal "$f" --key seal.pem --status-dir "$TMP/status" 2>&1); rc=$?
    expect_eq "hostile $f: seal exit 3" 3 $rc
done

# a backing name is written by the image's owner: one naming a FIFO must not block the open
# (it waits for a writer forever) and one naming a device must not be opened at all
mkfifo fifo.img
qemu-img create -q -f qcow2 fifoback.qcow2 1M; qemu-img rebase -q -u -F raw -b fifo.img fifoback.qcow2
for f in fifoback.qcow2:qcow2 fifo.img:raw; do
    fmt=${f#*:}; f=${f%%:*}
    out=$(timeout 20 "$B" image info "$f" 2>&1); rc=$?
    expect_eq "$f (backing or image a FIFO): info exit 3, no hang" 3 $rc
    expect_match "$f: error names the FIFO" "fifo.img: not a regular file or block device" "$out"
    out=$(timeout 20 "$B" volume wipe-check "$f" --image-format "$fmt" 2>&1); rc=$?
    expect_eq "$f: wipe-check exit 3, no hang" 3 $rc
done
rm -f fifo.img
# a missing backing file: the error says whose backing file it is, not only its path
qemu-img create -q -f qcow2 gonebase.qcow2 1M
qemu-img create -q -f qcow2 -F qcow2 -b gonebase.qcow2 orphan.qcow2; rm gonebase.qcow2
out=$("$B" image info orphan.qcow2 2>&1); rc=$?
expect_eq "missing backing file: info exit 3" 3 $rc
expect_match "names the image and its backing file" \
    "orphan.qcow2: backing file: [^ ]*gonebase.qcow2: cannot open image" "$out"
out=$("$B" volume wipe-check orphan.qcow2 --image-format qcow2 2>&1)
expect_match "wipe-check too" "orphan.qcow2: backing file: [^ ]*gonebase.qcow2: cannot open" "$out"

# ---- sparse images: empty clusters and holes are skipped by metadata, not read
qemu-img create -q -f qcow2 sparse.qcow2 16G
qemu-io -c 'write -P 0x42 5G 4k' sparse.qcow2 >/dev/null
truncate -s 16G sparse.raw; printf 'B' | dd of=sparse.raw bs=1 seek=$((5 * 1024 * MiB)) conv=notrunc status=none
t0=$(date +%s)
"$B" image seal sparse.qcow2 sparse.raw --key seal.pem --status-dir "$TMP/status" >/dev/null; rc=$?
expect_eq "seal of 16 GiB sparse images" 0 $rc
"$B" image verify sparse.qcow2 sparse.raw --pubkey seal.pub >/dev/null; expect_eq "verify sparse images" 0 $?
out=$("$B" volume wipe-check sparse.qcow2 --image-format qcow2); rc=$?
out="$out
$("$B" volume wipe-check sparse.raw --image-format raw)"; rc="$rc $?"
expect_eq "sparse volumes with one written block -> exit 1" "1 1" "$rc"
expect_eq "each names its one block at 5 GiB" 2 "$(printf '%s\n' "$out" | grep -c 'range 5368709120\.\.5368713216')"
elapsed=$(( $(date +%s) - t0 ))
[ "$elapsed" -lt 60 ]; expect_eq "32 GiB of sparse content sealed, verified, wipe-checked in < 60 s (took ${elapsed}s)" 0 $?
# a 2 TiB raw disk in 1 MiB chunks needs a manifest larger than verify reads (256 MiB): seal
# refuses at once, naming a chunk size that fits, rather than write one verify cannot read
truncate -s 2T huge.raw
out=$("$B" image seal huge.raw --key seal.pem --manifest-dir "$TMP/hm" --no-progress 2>&1); rc=$?
expect_eq "2 TiB raw, 1 MiB chunks: seal exit 3" 3 $rc
expect_match "names the limit and a chunk size that fits" \
    "huge.raw: .*larger than the 256 MiB that verify reads; seal it with --chunk-size 2097152 or larger" "$out"
[ -z "$(ls "$TMP/hm" 2>/dev/null)" ]; expect_eq "no manifest written" 0 $?
"$B" image seal huge.raw --key seal.pem --manifest-dir "$TMP/hm" --chunk-size $((4 * MiB)) \
    --no-progress >/dev/null; expect_eq "2 TiB raw, 4 MiB chunks: sealed" 0 $?
"$B" image verify huge.raw --pubkey seal.pub --manifest-dir "$TMP/hm" --no-progress >/dev/null
expect_eq "and verifies" 0 $?
rm -rf huge.raw "$TMP/hm"

# ---- migration check and repair
cp base.raw dest.raw
out=$("$B" image migrate-check --source plain.qcow2 --dest dest.raw); rc=$?
expect_eq "identical migration -> exit 0" 0 $rc
out=$("$B" image migrate-check --source plain.qcow2 --dest dest.raw --image-format qcow2 \
      --dest-image-format raw --format json); rc=$?
expect_eq "--dest-image-format: each side read as declared -> exit 0" "0 qcow2 false raw false" \
    "$rc $(printf '%s' "$out" | jq -r '"\(.source_format) \(.source_format_probed) \(.dest_format) \(.dest_format_probed)"')"
put dest.raw "broken" $((3 * MiB + 17)); put dest.raw "broken" $((30 * MiB))
out=$("$B" image migrate-check --source plain.qcow2 --dest dest.raw); rc=$?
expect_eq "damaged migration -> exit 1" 1 $rc
expect_match "differing ranges listed" "range 3145728\.\.4194304.*range 31457280\.\.32505856" "$(printf '%s' "$out" | tr '\n' ' ')"
out=$("$B" image migrate-check --source plain.qcow2 --dest dest.raw --repair); rc=$?
expect_eq "repair -> exit 0" 0 $rc
expect_match "repair re-verified" "re-verified: identical" "$out"
cmp -s dest.raw base.raw; expect_eq "repaired destination equals the source" 0 $?
cp zstd.qcow2 dest.qcow2; flip dest.qcow2 $((host + 10))
out=$("$B" image migrate-check --source zstd.qcow2 --dest dest.qcow2 --repair); rc=$?
expect_eq "qcow2 destination repaired as a whole file" 0 $rc
expect_match "whole-file repair said" "whole file copied" "$out"
# A repair that fails says which ranges still differ, as the check without --repair lists them
# (it said only why it failed). A qcow2 destination from a raw source cannot be repaired.
cp base.raw changed.raw; put changed.raw "changed" $((3 * MiB + 17))
cp plain.qcow2 stuck.qcow2
out=$("$B" image migrate-check --source changed.raw --image-format raw --dest stuck.qcow2 \
      --dest-image-format qcow2 --repair 2>err.txt); rc=$?
expect_eq "failed repair -> exit 3" 3 $rc
expect_match "... says why" "repair of stuck.qcow2 FAILED: stuck.qcow2: cannot repair a qcow2 destination from a raw source" "$out"
expect_match "... lists what still differs" "still different: 1048576 bytes in 1 range.*still range 3145728\.\.4194304 \(1048576 bytes\)" "$(printf '%s' "$out" | tr '\n' ' ')"
expect_match "... stderr says so too" "repair of stuck.qcow2 failed: .*; still different: 1048576 bytes in 1 range \(listed on stdout\)" "$(cat err.txt)"
out=$("$B" image migrate-check --source changed.raw --image-format raw --dest stuck.qcow2 \
      --dest-image-format qcow2 --repair --format json 2>/dev/null); rc=$?
expect_eq "... JSON: exit 3, repair_error, still_ranges" "3 true 3145728 1048576" \
    "$rc $(printf '%s' "$out" | jq -r '"\(.repair_error != null) \(.still_ranges[0].offset) \(.still_differing_bytes)"')"
rm -f changed.raw stuck.qcow2

# ---- wipe check
truncate -s $((8 * MiB)) wiped.raw
out=$("$B" volume wipe-check wiped.raw); rc=$?
expect_eq "zeroed volume -> exit 0" 0 $rc
put wiped.raw "secret" $((5 * MiB + 100))
out=$("$B" volume wipe-check wiped.raw --format json --status-dir "$TMP/ws"); rc=$?
expect_match "wipe result recorded for assessment (8.2.4.7a)" \
    "wipe-check: 1 volume\(s\) checked, 1 with residual data" "$(jq -r .detail "$TMP/ws/wipe_check.json")"
expect_eq "residual data -> exit 1" 1 $rc
expect_eq "residual range named" "5242880 4096" "$(printf '%s' "$out" | jq -r '.[0].ranges[0] | "\(.offset) \(.length)"')"
# a volume the run cannot read back (a qcow2 header, no format given) is not left out of the
# record: the status is not ok and names it
truncate -s $((8 * MiB)) zero.raw; qemu-img create -q -f qcow2 hdr.raw 8M
out=$("$B" volume wipe-check zero.raw hdr.raw --status-dir "$TMP/ws2" 2>&1); rc=$?
expect_eq "one volume clean, one not checked -> exit 3" 3 $rc
expect_eq "not-checked volume: status ok false" false "$(jq -r .ok "$TMP/ws2/wipe_check.json")"
expect_match "the record counts and names it" \
    "wipe-check: 1 volume\(s\) checked, 0 with residual data, 1 NOT CHECKED \(first: hdr.raw: starts with a qcow2 header" \
    "$(jq -r .detail "$TMP/ws2/wipe_check.json")"
"$B" volume wipe-check hdr.raw --status-dir "$TMP/ws2" >/dev/null 2>&1
expect_match "none checked: still recorded, not the earlier record" "0 volume\(s\) checked, 0 with residual data, 1 NOT CHECKED" \
    "$(jq -r .detail "$TMP/ws2/wipe_check.json")"
rm -f zero.raw hdr.raw
qemu-img create -q -f qcow2 wiped.qcow2 64M
"$B" volume wipe-check wiped.qcow2 --image-format qcow2 >/dev/null
expect_eq "empty qcow2 volume -> exit 0" 0 $?
qemu-img bitmap --add wiped.qcow2 b0
"$B" volume wipe-check wiped.qcow2 --image-format qcow2 >/dev/null
expect_eq "empty qcow2 volume with a bitmap (its tables are no residue) -> exit 0" 0 $?
# the guest reads zeros, but the file still stores the data: a cluster zeroed with the zero flag
# keeps its bytes, a deleted snapshot's clusters stay in the file ("clean", exit 0, before)
qemu-img create -q -f qcow2 zeroed.qcow2 64M
qemu-io -c 'write -P 0x53 1M 64k' -c 'write -z 1M 64k' zeroed.qcow2 >/dev/null
out=$("$B" volume wipe-check zeroed.qcow2 --image-format qcow2 --format json); rc=$?
expect_eq "zeroed cluster that kept its data -> exit 1" 1 $rc
expect_eq "guest content itself reads as zeros" 0 "$(printf '%s' "$out" | jq -r '.[0].nonzero_bytes')"
expect_eq "the stored bytes are counted" 65536 "$(printf '%s' "$out" | jq -r '.[0].container_nonzero_bytes')"
expect_eq "and where the first is" "$(grep -abo SSSSSSSS zeroed.qcow2 | head -1 | cut -d: -f1)" \
    "$(printf '%s' "$out" | jq -r '.[0].container_first_offset')"
qemu-img create -q -f qcow2 snapdel.qcow2 8M
qemu-io -c 'write -P 0x54 0 1M' snapdel.qcow2 >/dev/null
qemu-img snapshot -c s1 snapdel.qcow2
qemu-io -c 'write -z 0 1M' snapdel.qcow2 >/dev/null
qemu-img snapshot -d s1 snapdel.qcow2
out=$("$B" volume wipe-check snapdel.qcow2 --image-format qcow2); rc=$?
expect_eq "a deleted snapshot's data still in the file -> exit 1" 1 $rc
expect_match "said as the file's residue" "NOT CLEAN: the qcow2 file still stores 1048576 non-zero bytes outside its tables" "$out"
rm -f snapdel.qcow2 zeroed.qcow2

# ---- a raw disk whose guest wrote a qcow2 header over its start: read as qcow2 (probed) the
# EICAR at 1 MiB is invisible, so the declared format is used, and without one it is not hidden
truncate -s $((16 * MiB)) ev.raw; put ev.raw "$EICAR" $MiB
qemu-img create -q -f qcow2 evhdr.qcow2 16M
dd if=evhdr.qcow2 of=ev.raw conv=notrunc status=none
out=$("$B" image scan ev.raw --image-format raw --no-progress 2>/dev/null); rc=$?
expect_eq "fake header, --image-format raw: EICAR found -> exit 1" 1 $rc
expect_match "found at guest offset 1 MiB" "ev.raw: FOUND EICAR_Test_File .* at offset $MiB" "$out"
out=$("$B" image scan ev.raw --no-progress --format json 2>/dev/null); rc=$?
expect_eq "fake header, probed: the raw bytes are scanned too -> exit 1" 1 $rc
expect_eq "probed format said, hit in the raw file bytes" "qcow2 true raw file bytes $MiB" \
    "$(printf '%s' "$out" | jq -r '.scans[0] | "\(.format) \(.format_probed) \(.hits[0].found_in) \(.hits[0].offset)"')"
out=$("$B" image scan ev.raw --no-progress 2>/dev/null)
expect_match "text says the format was probed" "ev.raw: format qcow2 probed" "$out"
out=$("$B" image scan plain.qcow2 --image-format qcow2 --no-progress --format json 2>/dev/null)
expect_eq "declared qcow2: not probed, no raw-bytes pass" "false null" \
    "$(printf '%s' "$out" | jq -r '.scans[0] | "\(.format_probed) \([.hits[] | select(.found_in)][0].found_in)"')"
out=$("$B" image scan base.raw --image-format qcow2 --no-progress 2>&1); rc=$?
expect_eq "raw declared qcow2 -> exit 3" 3 $rc
out=$("$B" volume wipe-check ev.raw --image-format raw); rc=$?
expect_eq "wipe-check, fake header, --image-format raw: residual -> exit 1" 1 $rc
expect_match "residual at 1 MiB named" "range $MiB\.\." "$out"
out=$("$B" volume wipe-check ev.raw 2>&1); rc=$?
expect_eq "wipe-check of a probed qcow2 -> exit 3" 3 $rc
expect_match "asks for --image-format" "no format was declared.*--image-format raw or qcow2" "$out"
out=$("$B" volume wipe-check wiped.raw --format json); rc=$?
expect_eq "wipe-check JSON says the format was probed" "raw true" \
    "$(printf '%s' "$out" | jq -r '.[0] | "\(.format) \(.format_probed)"')"

# ---- seal, verify, info and migrate-check of that disk: --image-format raw reads all of it, the
# manifest records the format it was sealed in, and verify reads the disk in that format again
cp ev.raw evs.raw
out=$("$B" image seal evs.raw --image-format raw --key seal.pem --status-dir "$TMP/status" --no-progress); rc=$?
expect_eq "fake header, seal --image-format raw -> exit 0" 0 $rc
expect_match "seal says the format was declared" "format +raw declared" "$out"
expect_eq "manifest records raw, not probed" "raw false" \
    "$(jq -r '"\(.format) \(.format_probed)"' evs.raw.dengbao-seal)"
expect_eq "sealed content is the whole raw file" "$(jq -r .container.root evs.raw.dengbao-seal)" \
    "$(jq -r .content.root evs.raw.dengbao-seal)"
out=$("$B" image verify evs.raw --pubkey seal.pub --format json); rc=$?
expect_eq "verify without --image-format reads it as sealed -> exit 0" 0 $rc
expect_eq "verify JSON: intact, raw, not probed" "intact raw false" \
    "$(printf '%s' "$out" | jq -r '.[0] | "\(.status) \(.format) \(.format_probed)"')"
"$B" image verify evs.raw --pubkey seal.pub --image-format raw >/dev/null
expect_eq "verify --image-format raw -> exit 0" 0 $?
out=$("$B" image verify evs.raw --pubkey seal.pub --image-format qcow2 2>&1); rc=$?
expect_eq "declared qcow2 against a raw seal -> exit 3" 3 $rc
expect_match "the error names both formats" "evs.raw: declared qcow2, but sealed as raw \(declared when sealed" "$out"
flip evs.raw $((3 * MiB + 7))
out=$("$B" image verify evs.raw --pubkey seal.pub); rc=$?
expect_eq "a guest byte behind the fake header changed -> exit 1" 1 $rc
expect_match "named as a content change at 3 MiB" "content changed in 1 range, first at offset $((3 * MiB))" "$out"
cp ev.raw evp.raw
out=$("$B" image seal evp.raw --key seal.pem --status-dir "$TMP/status" --no-progress)
expect_match "seal without --image-format says it probed" "format +qcow2 probed" "$out"
expect_eq "manifest records qcow2, probed" "qcow2 true" \
    "$(jq -r '"\(.format) \(.format_probed)"' evp.raw.dengbao-seal)"
out=$("$B" image verify evp.raw --pubkey seal.pub); rc=$?
expect_eq "verify of a probed seal -> exit 0" 0 $rc
expect_match "verify says the format was probed when sealed" "evp.raw: format qcow2 probed when sealed" "$out"
out=$("$B" image verify evp.raw --pubkey seal.pub --image-format raw 2>&1); rc=$?
expect_eq "declared raw against a probed qcow2 seal -> exit 3" 3 $rc
expect_match "names both and says it was probed" "declared raw, but sealed as qcow2 \(probed when sealed" "$out"
out=$("$B" image info ev.raw --image-format raw)
expect_eq "info --image-format raw: raw, declared, the header claims qcow2" "raw false qcow2 0" \
    "$(printf '%s' "$out" | jq -r '"\(.format) \(.format_probed) \(.header_format) \(.cluster_size)"')"
expect_eq "info --image-format raw: the content is the whole file" "$(jq -r .container.root evp.raw.dengbao-seal)" \
    "$(printf '%s' "$out" | jq -r .content_root)"
out=$("$B" image info ev.raw)
expect_eq "info without it: qcow2, probed" "qcow2 true qcow2" \
    "$(printf '%s' "$out" | jq -r '"\(.format) \(.format_probed) \(.header_format)"')"
"$B" image info ev.raw --image-format vmdk >/dev/null 2>&1; expect_eq "info --image-format vmdk -> exit 2" 2 $?
cp ev.raw evm.raw; flip evm.raw $((5 * MiB + 1))
out=$("$B" image migrate-check --source ev.raw --dest evm.raw --image-format raw); rc=$?
expect_eq "migrate-check --image-format raw: damage behind the fake header -> exit 1" 1 $rc
expect_match "declared formats and the range at 5 MiB" "source format raw, destination format raw .*range $((5 * MiB))\.\." \
    "$(printf '%s' "$out" | tr '\n' ' ')"
out=$("$B" image migrate-check --source ev.raw --dest evm.raw); rc=$?
expect_eq "probed: both read as the fake qcow2, the damage unseen -> exit 0" 0 $rc
expect_match "and the output says both were probed" "source format qcow2 probed, destination format qcow2 probed" "$out"
out=$("$B" image migrate-check --source ev.raw --dest evm.raw --image-format raw --repair); rc=$?
expect_eq "migrate-check --image-format raw --repair -> exit 0" 0 $rc
cmp -s ev.raw evm.raw; expect_eq "repaired behind the fake header" 0 $?

# ---- internal snapshots: EICAR kept only in a snapshot comes back on revert, so it is found
truncate -s $((8 * MiB)) snapev.raw; put snapev.raw "$EICAR" $MiB
qemu-img convert -f raw -O qcow2 snapev.raw snapev.qcow2
qemu-img snapshot -c snap1 snapev.qcow2
qemu-io -c "write -P 0x41 $MiB 4k" snapev.qcow2 >/dev/null
out=$("$B" image scan snapev.qcow2 --image-format qcow2 --no-progress --status-dir "$TMP/ss" 2>/dev/null); rc=$?
expect_eq "EICAR only in an internal snapshot -> exit 1" 1 $rc
expect_match "named as found in the snapshot" "snapev.qcow2: FOUND EICAR_Test_File .* at offset $MiB of the snapshot snap1" "$out"
expect_eq "malware status not ok" "false" "$(jq -r .ok "$TMP/ss/malware.json")"
out=$("$B" image scan snapev.qcow2 --image-format qcow2 --no-progress --format json 2>/dev/null)
expect_eq "JSON: one snapshot scanned, hit found_in it" "1 snapshot snap1" \
    "$(printf '%s' "$out" | jq -r '.scans[0] | "\(.snapshots_scanned) \(.hits[0].found_in)"')"
qemu-img create -q -f qcow2 snapw.qcow2 8M
qemu-io -c "write -P 0x5a $MiB 4k" snapw.qcow2 >/dev/null
qemu-img snapshot -c snap1 snapw.qcow2
qemu-io -c "write -z $MiB 4k" snapw.qcow2 >/dev/null
out=$("$B" volume wipe-check snapw.qcow2 --image-format qcow2); rc=$?
expect_eq "data only in an internal snapshot: residual -> exit 1" 1 $rc
expect_match "snapshot residue named" "1 of 1 internal snapshot\(s\) hold 4096 non-zero bytes" "$out"
out=$("$B" volume wipe-check snapw.qcow2 --image-format qcow2 --format json)
expect_eq "JSON: not clean, snapshot counted" "false 0 1 4096" \
    "$(printf '%s' "$out" | jq -r '.[0] | "\(.clean) \(.nonzero_bytes) \(.snapshots_with_data) \(.snapshot_nonzero_bytes)"')"

# ---- spread correlation with the sensor's EVE alerts (written by dengbao's alert sink)
cp clean.raw vm-a.raw; cp clean.raw vm-b.raw; cp clean.raw vm-c.raw
put vm-a.raw "DENGBAO-TEST-WORM-7f3a9c21-LATERAL-MOVEMENT-PAYLOAD" 4000000
put vm-b.raw "DENGBAO-TEST-WORM-7f3a9c21-LATERAL-MOVEMENT-PAYLOAD" 9000000
printf 'vm-a.raw vm-a 10.0.0.1\nvm-b.raw vm-b 10.0.0.2\nvm-c.raw vm-c 10.0.0.3\n' > vms.map
"$B" alert --type worm_spread --src-ip 10.0.0.1 --src-vm vm-a --dest-ip 10.0.0.2 --eve sensor.json >/dev/null
"$B" alert --type port_scan --src-ip 10.0.0.1 --src-vm vm-a --dest-ip 10.0.0.3 --eve sensor.json >/dev/null
out=$("$B" image scan vm-a.raw vm-b.raw vm-c.raw --vm-map vms.map --sensor-eve sensor.json \
      --eve spread-eve.json 2>/dev/null); rc=$?
expect_eq "spread scan -> exit 1" 1 $rc
expect_match "one spread incident A -> B" "INCIDENT malware spread vm-a -> vm-b: families DengbaoTest.Worm" "$out"
expect_eq "exactly one incident" 1 "$(printf '%s\n' "$out" | grep -c '^INCIDENT')"
expect_match "C contacted but clean: suspect" "SUSPECT vm-c \(10.0.0.3\): contacted by infected vm-a" "$out"
expect_eq "malware_spread alert with A and B" "vm-a vm-b" \
    "$(jq -r 'select(.alert.signature == "malware_spread") | "\(.dengbao.src.vm) \(.dengbao.dest.vm)"' spread-eve.json)"
# the map may name an image another way than the command line (./vm-a.raw, an absolute path):
# the same file gets its VM and IP (it once got none, and the spread went unreported)
printf './vm-a.raw vm-a 10.0.0.1\n%s/vm-b.raw vm-b 10.0.0.2\n' "$PWD" > vms-paths.map
out=$("$B" image scan vm-a.raw vm-b.raw --vm-map vms-paths.map --sensor-eve sensor.json \
      --no-progress 2>/dev/null); rc=$?
expect_eq "map paths spelled otherwise: spread scan -> exit 1" 1 $rc
expect_match "map paths spelled otherwise: incident A -> B" \
    "INCIDENT malware spread vm-a -> vm-b: families DengbaoTest.Worm" "$out"
out=$("$B" image scan vm-c.raw --vm-map vms-paths.map --no-progress 2>&1 >/dev/null)
expect_match "an image no map line names is said" \
    "vm-c.raw: no line of vms-paths.map names this image" "$out"
# correlation across runs: A scanned first, B later
"$B" image scan vm-a.raw --vm-map vms.map --format json > find-a.json 2>/dev/null
"$B" image scan vm-b.raw --vm-map vms.map --format json > find-b.json 2>/dev/null
out=$("$B" image correlate --findings find-a.json --findings find-b.json --sensor-eve sensor.json); rc=$?
expect_eq "correlate over saved findings -> exit 1" 1 $rc
expect_match "correlate finds the incident" "INCIDENT malware spread vm-a -> vm-b" "$out"
# --findings FILE... as the help writes it: the second file was once silently left out.
out=$("$B" image correlate --findings find-a.json find-b.json --sensor-eve sensor.json); rc=$?
expect_eq "correlate --findings A B -> exit 1" 1 $rc
expect_match "correlate --findings A B reads both" "INCIDENT malware spread vm-a -> vm-b" "$out"
out=$("$B" image correlate --findings find-a.json --sensor-eve sensor.json --vm-map vms.map); rc=$?
expect_eq "only A infected: no incident" 0 $rc
expect_match "B is a suspect" "SUSPECT vm-b" "$out"
# a sensor EVE path that cannot be read (a directory) gave "no spread incident", exit 0, from
# no contact at all
mkdir -p eve-dir
out=$("$B" image correlate --findings find-a.json find-b.json --sensor-eve eve-dir 2>&1); rc=$?
expect_eq "correlate --sensor-eve DIR: exit 3" 3 $rc
expect_match "correlate --sensor-eve DIR: says why" "eve-dir: cannot read sensor EVE file: Is a directory" "$out"
# and what the scan found still reaches the status: an infection found beside a sensor file
# that could not be read (or was missing) left the last run's "nothing found", ok, standing
"$B" image scan clean.raw --status-dir "$TMP/sp" >/dev/null 2>&1
for eve in eve-dir no-such-eve.json; do
    out=$("$B" image scan vm-a.raw --vm-map vms.map --sensor-eve $eve --status-dir "$TMP/sp" \
          --no-progress 2>&1); rc=$?
    expect_eq "scan --sensor-eve $eve: exit 3" 3 $rc
    expect_match "scan --sensor-eve $eve: the status has the infection, not ok" \
        "^false 1 image\(s\) scanned with YARA rules, infection found; spread correlation NOT DONE \($eve: cannot" \
        "$(jq -r '"\(.ok) \(.detail)"' "$TMP/sp/malware.json")"
done
# damaged sensor lines were skipped with a count at most: now the first is named, line and why
# (a stats event, which links no two hosts, is no damage)
{ cat sensor.json; printf '{"event_type":"stats","stats":{"uptime":1}}\n{"src_ip":"10.0.0.1",\n'
  printf '{"event_type":"flow","src_ip":1,"dest_ip":"10.0.0.2"}\n'; } > sensor-damaged.json
out=$("$B" image correlate --findings find-a.json find-b.json --sensor-eve sensor-damaged.json 2>&1); rc=$?
expect_eq "correlate with damaged sensor lines: the incident still found" 1 $rc
expect_match "damaged sensor lines: named once, with the first line and why" \
    "sensor-damaged.json: 2 damaged line\(s\) skipped, not used for spread correlation; the first, line $(( $(wc -l < sensor.json) + 2 )): not JSON" "$out"
expect_eq "damaged sensor lines: said once" 1 "$(printf '%s\n' "$out" | grep -c 'damaged line')"
# a saved scan's time that is no time was read as 1970
jq '.scans[0].time = "yesterday"' find-b.json > bad-time.json
out=$("$B" image correlate --findings find-a.json bad-time.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings time not RFC 3339: exit 3" 3 $rc
expect_match "findings time not RFC 3339: entry and value named" \
    "bad-time.json: scans\[0\] time: 'yesterday' is not an RFC 3339 time" "$out"
# a findings file that is not one was named at line -1
printf '{"scan": []}\n' > noscans.json
out=$("$B" image correlate --findings noscans.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings without scans: exit 3" 3 $rc
expect_match "findings without scans: named, no line -1" "correlate: noscans.json: not a scan result \(no \"scans\" array\)" "$out"
out=$("$B" image correlate --findings missing.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings missing: exit 3" 3 $rc
expect_match "findings missing: named, no line -1" "correlate: missing.json: unable to open" "$out"
# a findings entry not as the scan writes it was read quietly: B's "hits" no list made infected B
# a mere suspect, a hit without its family made A and B share none (no incident, exit 0)
jq '.scans[0].hits = .scans[0].hits[0]' find-b.json > hits-obj.json
out=$("$B" image correlate --findings find-a.json hits-obj.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings hits not a list: exit 3" 3 $rc
expect_match "findings hits not a list: named" "hits-obj.json: scans\[0\] has no \"hits\" list" "$out"
jq 'del(.scans[0].hits[0].family)' find-b.json > no-family.json
out=$("$B" image correlate --findings find-a.json no-family.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings hit without family: exit 3" 3 $rc
expect_match "findings hit without family: named" "no-family.json: scans\[0\] has a hit without a \"family\" string" "$out"
printf '{"scans": [\n  {"image": "a",}\n]}\n' > cut.json
out=$("$B" image correlate --findings cut.json --sensor-eve sensor.json 2>&1); rc=$?
expect_eq "findings not JSON: exit 3" 3 $rc
expect_match "findings not JSON: line and column" "correlate: cut.json:2:17: not a scan result" "$out"
# a bad --vm-map line is named by its real line number (blank lines count) and refused, also
# for an extra field or an address the sensor would never report (it would match no contact)
for bad in "vm-a.raw vm-a" "vm-a.raw vm-a 10.0.0.1 vm-z" "vm-a.raw vm-a 10.0.0.256" "vm-a.raw vm-a host-a"; do
    printf '# images of tenant a\n\n\nvm-b.raw vm-b 10.0.0.2\n\n%s\n' "$bad" > bad.map
    out=$("$B" image scan vm-a.raw --vm-map bad.map --no-progress 2>&1); rc=$?
    expect_eq "vm-map line '$bad': exit 3" 3 $rc
    expect_match "vm-map line '$bad': named at line 6" "bad.map:6: expected 'PATH VM IP'" "$out"
done

# 8.2.4.4b rests on the VMs' disks: an image sealed elsewhere made the demo cloud 符合 ("1
# image(s) sealed, last a.qcow2") though none of its VMs' disks is sealed
mkdir -p "$TMP/x"; cp clean.raw "$TMP/x/a.qcow2"
"$B" image seal "$TMP/x/a.qcow2" --key seal.pem --status-dir "$TMP/sx" --no-progress >/dev/null
expect_eq "the status lists the image sealed, by its real path" "$TMP/x/a.qcow2 sealed" \
    "$(jq -r '.images[] | "\(.path) \(.state)"' "$TMP/sx/image_seals.json")"
seal_verdict() { # URI controls-dir [host-root]
    "$B" assess -c "$1" --controls-dir "$2" ${3:+--host-root "$3"} --level 3 --format json \
        -o "$TMP/seals-assess.json" >/dev/null 2>&1
    jq -r '.items[] | select(.clause == "8.2.4.4b") | .verdict' "$TMP/seals-assess.json"
}
seal_evidence() { jq -r '.items[] | select(.clause == "8.2.4.4b") | .evidence[] | select(.ok == '"$1"') | .observed' "$TMP/seals-assess.json"; }
DEMO="test:///$DBG_SRCDIR/data/demo/cloud.xml"
expect_eq "an unrelated image sealed: the demo cloud's 8.2.4.4b 不符合" 不符合 \
    "$(seal_verdict "$DEMO" "$TMP/sx" "$DBG_SRCDIR/data/demo/host-root")"
expect_match "its evidence names a VM disk not sealed" \
    "/var/lib/libvirt/images/tenants/a-db-01.qcow2: not sealed or verified \\(the status lists 1 image" "$(seal_evidence false)"
expect_match "a pool volume by its path" "a-web-01.qcow2: not sealed" "$(seal_evidence false)"
# a status file of a dengbao before the list shows no coverage: 未检查, not 符合
jq -c 'del(.images, .images_omitted)' "$TMP/sx/image_seals.json" > "$TMP/sx/old" && mv "$TMP/sx/old" "$TMP/sx/image_seals.json"
expect_eq "a status file without the list: 8.2.4.4b 未检查" 未检查 \
    "$(seal_verdict "$DEMO" "$TMP/sx" "$DBG_SRCDIR/data/demo/host-root")"
expect_match "and the evidence says why" "does not list the images its run covered" "$(seal_evidence false)"
# a cloud of two VMs whose disks are files here: one sealed is partial, both verified is 符合
cp clean.raw "$TMP/x/vm1.raw"; cp clean.raw "$TMP/x/vm2.raw"; ln -sf "$TMP/x/vm2.raw" "$TMP/x/vm2-link.raw"
{ echo '<node>'
  for v in vm1 vm2-link; do
      printf '<domain type="test"><name>%s</name><memory>1024</memory><os><type>hvm</type></os>' "$v"
      printf '<devices><disk type="file" device="disk"><driver name="qemu" type="raw"/><source file="%s"/>' "$TMP/x/$v.raw"
      printf '<target dev="vda" bus="virtio"/></disk><disk type="file" device="cdrom"><source file="/nonexistent.iso"/>'
      printf '<target dev="sda" bus="sata"/></disk></devices></domain>\n'
  done
  echo '</node>'; } > "$TMP/x/two.xml"
TWO="test:///$TMP/x/two.xml"
"$B" image seal "$TMP/x/vm1.raw" --key seal.pem --status-dir "$TMP/s2" --no-progress >/dev/null
expect_eq "one of two VM disks sealed: 部分符合" 部分符合 "$(seal_verdict "$TWO" "$TMP/s2")"
expect_match "naming the disk not sealed" "vm2-link.raw: not sealed or verified" "$(seal_evidence false)"
# a second batch keeps the first's images (the list was the last run's: vm1 read as unsealed),
# and the disk naming a link matches the image sealed under its real path
"$B" image seal "$TMP/x/vm2.raw" --key seal.pem --status-dir "$TMP/s2" --no-progress >/dev/null
expect_eq "sealed in two batches, one disk through a link: 符合" 符合 "$(seal_verdict "$TWO" "$TMP/s2")"
expect_match "the link's disk is matched by its real path" \
    "^$TMP/x/vm2.raw: sealed" "$(seal_evidence true)"
"$B" image seal "$TMP/x/vm2-link.raw" --key seal.pem --status-dir "$TMP/s2" --no-progress >/dev/null
"$B" image verify "$TMP/x/vm1.raw" "$TMP/x/vm2-link.raw" --pubkey seal.pub --status-dir "$TMP/s2" \
    --no-progress >/dev/null
expect_eq "both verified intact (one through a link, the cdrom aside): 符合" 符合 "$(seal_verdict "$TWO" "$TMP/s2")"
expect_match "the evidence counts them" "2 of 2 VM disks sealed or verified intact" "$(seal_evidence true)"
flip "$TMP/x/vm2.raw" 4096
"$B" image verify "$TMP/x/vm1.raw" "$TMP/x/vm2-link.raw" --pubkey seal.pub --status-dir "$TMP/s2" \
    --no-progress >/dev/null 2>&1
expect_eq "a mismatch still fails: 不符合" 不符合 "$(seal_verdict "$TWO" "$TMP/s2")"
# a verify of one image updates its state only: vm2 re-sealed and verified, vm1's entry kept
"$B" image seal "$TMP/x/vm2.raw" --key seal.pem --status-dir "$TMP/s2" --no-progress >/dev/null
"$B" image verify "$TMP/x/vm2.raw" --pubkey seal.pub --status-dir "$TMP/s2" --no-progress >/dev/null
expect_eq "verify of one image: its state replaced, the other kept" \
    "true $TMP/x/vm2.raw=intact $TMP/x/vm1.raw=intact" \
    "$(jq -r '"\(.ok) " + ([.images[] | "\(.path)=\(.state)"] | join(" "))' "$TMP/s2/image_seals.json")"
# a seal that failed is not "ok" (the status said ok: true with an image seal_failed)
out=$("$B" image seal "$TMP/x/vm1.raw" "$TMP/x/nonexistent.raw" --key seal.pem --status-dir "$TMP/s2" \
    --no-progress 2>&1 >/dev/null); rc=$?
expect_eq "a seal that failed: exit 3" 3 $rc
expect_eq "status ok false, the image listed seal_failed" "false seal_failed" \
    "$(jq -r '"\(.ok) \(.images[] | select(.path | endswith("/nonexistent.raw")) | .state)"' "$TMP/s2/image_seals.json")"
expect_match "the detail says so" "1 image\(s\) sealed, 1 SEAL FAILED" "$(jq -r .detail "$TMP/s2/image_seals.json")"
expect_eq "8.2.4.4b 不符合" 不符合 "$(seal_verdict "$TWO" "$TMP/s2")"
expect_match "its evidence names the image" "nonexistent.raw: seal_failed" "$(seal_evidence false)"
# a key that cannot be used fails every image alike: refused before the status is touched
cp "$TMP/s2/image_seals.json" "$TMP/s2.before"
out=$("$B" image seal "$TMP/x/vm1.raw" --key /nonexistent.pem --status-dir "$TMP/s2" --no-progress 2>&1); rc=$?
expect_eq "an unusable key: exit 3" 3 $rc
expect_match "named" "/nonexistent.pem" "$out"
cmp -s "$TMP/s2.before" "$TMP/s2/image_seals.json" && pass "and the status is left as it was" \
    || fail "an unusable key changed the status"
# a damaged status file is not replaced by a shorter list, and the message names it and why
printf '{"name":"image_seals","images":[{"path":"/a","state":"sealed"}' > "$TMP/s2/image_seals.json"
out=$("$B" image seal "$TMP/x/vm1.raw" --key seal.pem --status-dir "$TMP/s2" --no-progress 2>&1 >/dev/null); rc=$?
expect_eq "damaged status: the seal itself succeeds" 0 $rc
expect_match "the warning names the file, where and why" \
    "warning: status file not written: $TMP/s2/image_seals.json:1:[0-9]+: not valid JSON: .*not replaced, as that would drop the images it lists: move it aside" "$out"
expect_eq "the file is left as it was" '{"name":"image_seals","images":[{"path":"/a","state":"sealed"}' \
    "$(cat "$TMP/s2/image_seals.json")"
# network disks cannot be read here: named as not checked, and a cloud of them only is not 符合
{ echo '<node>'
  printf '<domain type="test"><name>net1</name><memory>1024</memory><os><type>hvm</type></os>'
  printf '<devices><disk type="network" device="disk"><driver name="qemu" type="raw"/>'
  printf '<source protocol="rbd" name="pool/net1"><host name="ceph1" port="6789"/></source>'
  printf '<target dev="vda" bus="virtio"/></disk></devices></domain>\n'
  echo '</node>'; } > "$TMP/x/net.xml"
"$B" image seal "$TMP/x/vm1.raw" --key seal.pem --status-dir "$TMP/s4" --no-progress >/dev/null
expect_eq "a cloud of network disks only: 8.2.4.4b 未检查" 未检查 \
    "$(seal_verdict "test:///$TMP/x/net.xml" "$TMP/s4")"
expect_match "naming the disk" "not checked: a network disk" "$(seal_evidence false)"

finish
