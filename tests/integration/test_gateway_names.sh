#!/bin/bash
# `dengbao vm` and the gateway on libvirt's test driver: what a VM name may be and how the client
# says no. UTF-8 names (财务-web1) pass through the request, the gateway, libvirt and the audit
# record intact; a name no request can carry (spaces, controls, invisible formatting, bad UTF-8)
# is a usage error (2) found by the client; a refused start says "refused" once.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq openssl:openssl

cd "$TMP" || exit 1
"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
openssl genpkey -algorithm ed25519 -out seal.pem 2>/dev/null
openssl pkey -in seal.pem -pubout -out seal.pub
cat > policy.yaml <<P
version: 1
identities:
  - unix: $(id -un)
    role: provider-admin
roles:
  provider-admin: {operations: all, tenants: any}
integrity:
  verify_before_start: true
  seal_pubkey: $TMP/seal.pub
  manifest_dir: $TMP/manifests
P
head -c 65536 /dev/urandom > disk.raw
cat > sealed.xml <<X
<domain type='test'>
  <name>sealed-1</name>
  <memory>65536</memory>
  <os><type>hvm</type></os>
  <devices><disk type='file' device='disk'><source file='$TMP/disk.raw'/><target dev='vda'/></disk></devices>
</domain>
X

"$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" --key "$TMP/k.key" \
    --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" --state-dir "$TMP/st" \
    --status-dir "$TMP/status" 2>agent.log &
AGENT=$!
trap 'kill "$AGENT" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -S gw.sock ] && break; kill -0 $AGENT 2>/dev/null || break; sleep 0.1; done
[ -S gw.sock ] || { cat agent.log; fail "agent socket"; finish; exit 1; }
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@"; }
audit_count() { "$DBG_BIN" audit query --log "$TMP/audit" --format json | jq length; }

# A VM name the gateway would refuse: a usage error, found before anything is sent (it was the
# gateway's "bad request", exit 3, as if the operation had failed).
before=$(audit_count)
for bad in 'web 1' 'a/b' $'vm\e[2J' 'quote"d'; do
    VM reboot "$bad" >out.txt 2>err.txt; rc=$?
    expect_eq "vm reboot '$bad': usage error" 2 "$rc"
    expect_match "... says the VM name is not valid" "VM '.*' is not a valid name" "$(cat err.txt)"
    expect_nomatch "... with no raw escape character (it reached the terminal)" $'\e' "$(cat err.txt)"
done
expect_match "... shows the escape character as \\x1b" "VM 'vm\\\\x1b\\[2J' is not a valid name" \
    "$(VM reboot $'vm\e[2J' 2>&1)"
# a zero-width space is invisible on the terminal: "web1" and "web<U+200B>1" looked the same in
# the message that says one of them is not a valid name
VM reboot $'web\xe2\x80\x8b1' 2>err.txt; rc=$?
expect_eq "vm reboot 'web<ZWSP>1': usage error" 2 "$rc"
expect_match "... shows the zero-width space as \\u200b" "VM 'web\\\\u200b1' is not a valid name" \
    "$(cat err.txt)"

VM snapshot test 'snap 1' 2>err.txt; rc=$?
expect_eq "vm snapshot with an invalid snapshot name: usage error" 2 "$rc"
expect_match "... names the snapshot name" "snapshot name 'snap 1' is not a valid name" "$(cat err.txt)"
VM reboot "$(printf 'x%.0s' $(seq 1 200))" 2>err.txt; rc=$?
expect_eq "vm reboot with a name over the limit: usage error" 2 "$rc"
expect_match "... says the limit" "is too long \(at most 128 bytes\)" "$(cat err.txt)"
VM migrate test $'qemu+ssh://h2/system\n' 2>err.txt; rc=$?
expect_eq "vm migrate to a URI holding a newline: usage error" 2 "$rc"
expect_match "... names the destination" "destination: a URI holds no control" "$(cat err.txt)"
expect_eq "nothing reached the gateway (no audit record)" "$before" "$(audit_count)"
VM reboot no-such-vm 2>err.txt; rc=$?
expect_eq "a valid name of no VM is the gateway's answer (3)" 3 "$rc"

# UTF-8 names, as libvirt takes them and Chinese clouds use them: through the request, the
# gateway, libvirt and the audit record intact.
CN='财务-web1'
sed "s/<name>sealed-1</<name>$CN</; s|<devices>.*</devices>||" sealed.xml > cn.xml
out=$(VM create cn.xml); expect_eq "create $CN" 0 $?
expect_match "... done, named intact" "create $CN: done" "$out"
out=$(VM list); expect_match "vm list shows $CN" "^$CN " "$out"
# its columns line up with the ASCII names': 财务 takes four terminal columns, not six bytes
ucol() { # the display column the UUID starts at, on the line of VM $1
    printf '%s\n' "$out" | awk -v n="$1" '$1 == n' | python3 -c 'import sys,unicodedata as u
l = sys.stdin.readline().rstrip("\n"); i = l.index(l.split()[1])
print(sum(2 if u.east_asian_width(c) in "WF" else 1 for c in l[:i]))'
}
other=$(printf '%s\n' "$out" | awk 'NR > 1 && $1 !~ /^[^ -~]/ {print $1; exit}')
expect_eq "vm list: UUID column of $CN lines up with $other's" "$(ucol "$other")" "$(ucol "$CN")"
out=$(VM start "$CN"); expect_eq "start $CN" 0 $?
out=$(VM reboot "$CN"); expect_eq "reboot $CN" 0 $?
expect_match "... done" "reboot $CN: done" "$out"
out=$(VM --format json snapshot "$CN" '快照1'); expect_eq "snapshot $CN 快照1" 0 $?
expect_eq "... the answer names the VM intact" "$CN" "$(jq -r .vm <<<"$out")"
out=$(VM destroy "$CN"); expect_eq "destroy $CN" 0 $?
out=$(VM delete "$CN"); expect_eq "delete $CN" 0 $?
expect_nomatch "... gone from libvirt's list" "$CN" "$(VM list)"
recs=$("$DBG_BIN" audit query --log "$TMP/audit" --target "$CN" --format json)
expect_eq "audit: intent and outcome of each operation, found by the name" \
    "vm.create.intent vm.create.outcome vm.start.intent vm.start.outcome vm.reboot.intent vm.reboot.outcome vm.snapshot.intent vm.snapshot.outcome vm.destroy.intent vm.destroy.outcome vm.delete.intent vm.delete.outcome" \
    "$(jq -r '[.[].action] | join(" ")' <<<"$recs")"
expect_eq "audit: the name intact in every record" "[\"$CN\"]" "$(jq -c '[.[].target.name] | unique' <<<"$recs")"
expect_eq "audit: every outcome a success" '["allowed","success"]' "$(jq -c '[.[].outcome] | unique' <<<"$recs")"
expect_eq "audit: the snapshot name intact" "快照1" \
    "$(jq -r '[.[] | select(.action=="vm.snapshot.intent") | .details | if type=="string" then fromjson else . end | .snapshot][0]' <<<"$recs")"
out=$("$DBG_BIN" audit query --log "$TMP/audit" --target "$CN")
expect_match "audit text listing shows the name" "target=domain/$CN/" "$out"
"$DBG_BIN" audit verify --log "$TMP/audit" --pubkey "$TMP/k.pub" >/dev/null
expect_eq "audit log verifies" 0 $?
# ... but not what could hide or fake a name in an audit line.
for bad in "ideographic space:财务"$'\xe3\x80\x80'web1 "bidi override:web"$'\xe2\x80\xae'1gpj \
    "zero-width space:a"$'\xe2\x80\x8b'b "cut UTF-8:"$'\xe8\xb4'; do
    VM reboot "${bad#*:}" >out.txt 2>err.txt; rc=$?
    expect_eq "vm reboot, ${bad%%:*} in the name: usage error" 2 "$rc"
done

# A start refused because a disk fails its seal: "refused" once.
out=$(VM create sealed.xml); expect_eq "create the sealed VM" 0 $?
"$DBG_BIN" image seal disk.raw --key seal.pem --manifest-dir "$TMP/manifests" >/dev/null
expect_eq "seal its disk" 0 $?
printf 'X' | dd of=disk.raw bs=1 seek=100 conv=notrunc status=none
VM start sealed-1 >out.txt 2>err.txt; rc=$?
expect_eq "start with a tampered disk is refused (exit 1)" 1 "$rc"
expect_match "the refusal names the disk" "^dengbao vm: refused: 1 disk\(s\) of sealed-1 fail their seal" "$(cat err.txt)"
expect_nomatch "... and says 'refused' once" "refused: refused" "$(cat err.txt)"

# A sealed disk reached through a symlink whose image was removed: the manifest is named from the
# disk's real path, which a missing file does not have, so it read as "unsealed" and the start
# went ahead (the test driver starts a VM on any path). It is "missing", and refuses by itself.
head -c 65536 /dev/urandom > img2.raw
ln -s "$TMP/img2.raw" "$TMP/link2.raw"
sed -e 's/sealed-1/sealed-2/' -e "s|$TMP/disk.raw|$TMP/link2.raw|" sealed.xml > sealed2.xml
out=$(VM create sealed2.xml); expect_eq "create a VM whose disk is a symlink" 0 $?
"$DBG_BIN" image seal "$TMP/link2.raw" --key seal.pem --manifest-dir "$TMP/manifests" >/dev/null
expect_eq "seal it through the link" 0 $?
rm img2.raw
VM start sealed-2 >out.txt 2>err.txt; rc=$?
expect_eq "start with the disk's file gone is refused (exit 1)" 1 "$rc"
expect_eq "the refusal says which disk of which VM is missing, and where" \
    "dengbao vm: refused: disk vda of sealed-2 is missing: $TMP/link2.raw does not exist, so it was not started (rule role:provider-admin)" \
    "$(cat err.txt)"
expect_eq "the VM did not start" "shutoff" \
    "$(VM --format json list | jq -r '.vms[] | select(.name=="sealed-2") | .state')"
expect_eq "audit: the outcome record is refused, its disk missing" "refused missing" \
    "$("$DBG_BIN" audit query --log "$TMP/audit" --action vm.start.outcome --target sealed-2 \
        --format json | jq -r '.[-1] | (.details | if type=="string" then fromjson else . end) as $d | "\(.outcome) \([$d.integrity[].status] | join(","))"')"

kill -TERM "$AGENT"
wait "$AGENT"
expect_eq "agent stops cleanly" 0 $?
finish
