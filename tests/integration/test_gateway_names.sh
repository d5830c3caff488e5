#!/bin/bash
# `dengbao vm` and the gateway on libvirt's test driver: what a VM name may be and how the client
# says no. A name no request can carry is a usage error (2) found by the client; a start refused
# for a disk that fails its seal says "refused" once.
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
done
VM snapshot test 'snap 1' 2>err.txt; rc=$?
expect_eq "vm snapshot with an invalid snapshot name: usage error" 2 "$rc"
expect_match "... names the snapshot name" "snapshot name 'snap 1' is not a valid name" "$(cat err.txt)"
VM reboot "$(printf 'x%.0s' $(seq 1 200))" 2>err.txt; rc=$?
expect_eq "vm reboot with a name over the limit: usage error" 2 "$rc"
expect_match "... says the limit" "is too long \(at most 128 bytes\)" "$(cat err.txt)"
expect_eq "nothing reached the gateway (no audit record)" "$before" "$(audit_count)"
VM reboot no-such-vm 2>err.txt; rc=$?
expect_eq "a valid name of no VM is the gateway's answer (3)" 3 "$rc"

# A start refused because a disk fails its seal: "refused" once.
out=$(VM create sealed.xml); expect_eq "create the sealed VM" 0 $?
"$DBG_BIN" image seal disk.raw --key seal.pem --manifest-dir "$TMP/manifests" >/dev/null
expect_eq "seal its disk" 0 $?
printf 'X' | dd of=disk.raw bs=1 seek=100 conv=notrunc status=none
VM start sealed-1 >out.txt 2>err.txt; rc=$?
expect_eq "start with a tampered disk is refused (exit 1)" 1 "$rc"
expect_match "the refusal names the disk" "^dengbao vm: refused: 1 disk\(s\) of sealed-1 fail their seal" "$(cat err.txt)"
expect_nomatch "... and says 'refused' once" "refused: refused" "$(cat err.txt)"

kill -TERM "$AGENT"
wait "$AGENT"
expect_eq "agent stops cleanly" 0 $?
finish
