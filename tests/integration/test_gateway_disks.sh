#!/bin/bash
# The gateway's disk hooks against a real libvirtd (qemu:///system, TCG): with the policy's
# `integrity: verify_before_start`, `vm start` verifies the sealed disks and refuses a VM whose
# disk no longer matches its seal (8.2.4.4b), auditing the refusal; `vm delete
# --remove-storage` deletes the VM's pool volumes and then checks every disk path is gone or
# reads as zeros, reporting a disk outside any pool that still holds data (8.2.4.7a/b).
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for qemu:///system"
ensure_pkgs jq:jq qemu-img:qemu-utils openssl:openssl
start_libvirtd
V="virsh -q -c qemu:///system"
P="dbg-dk-$$"
cleanup() {
    local d
    for d in $($V list --all --name 2>/dev/null | grep "^$P-"); do
        $V destroy "$d" >/dev/null 2>&1
        $V undefine "$d" >/dev/null 2>&1
    done
    $V pool-destroy "$P-pool" >/dev/null 2>&1
    $V pool-undefine "$P-pool" >/dev/null 2>&1
}
trap 'kill "${AGENT:-}" 2>/dev/null; cleanup; stop_started_daemons; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
chmod 755 "$TMP"
MiB=1048576
flip() {  # inverts one byte, so the change is certain
    local old
    old=$(od -An -tu1 -j"$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf '%03o' $((old ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# A directory pool with two volumes, and two files outside any pool.
mkdir -p pool
$V pool-define-as "$P-pool" dir --target "$TMP/pool" >/dev/null &&
    $V pool-start "$P-pool" >/dev/null || skip_all "cannot make a directory pool"
head -c $((4 * MiB)) /dev/urandom > pool/a.raw
truncate -s $((8 * MiB)) pool/a.raw
qemu-img create -q -f qcow2 pool/b.qcow2 16M
qemu-io -c 'write -P 0x5a 1M 64k' pool/b.qcow2 >/dev/null
$V pool-refresh "$P-pool" >/dev/null
head -c $((2 * MiB)) /dev/urandom > loose-data.raw
truncate -s $((4 * MiB)) loose-zero.raw

domxml() {  # name, then disk lines "target type path"
    local name=$1; shift
    echo "<domain type='qemu'><name>$name</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    echo "<os><type arch='x86_64' machine='pc'>hvm</type></os><devices>"
    echo "<emulator>$(command -v qemu-system-x86_64)</emulator>"
    while [ $# -gt 0 ]; do
        echo "<disk type='file' device='disk'><driver name='qemu' type='$2'/><source file='$3'/><target dev='$1' bus='virtio'/></disk>"
        shift 3
    done
    echo "<graphics type='vnc' listen='127.0.0.1' autoport='yes'/></devices></domain>"
}
domxml "$P-1" vda raw "$TMP/pool/a.raw" vdb qcow2 "$TMP/pool/b.qcow2" vdc raw "$TMP/loose-data.raw" \
    vdd raw "$TMP/loose-zero.raw" > vm1.xml

root_agent_setup
openssl genpkey -algorithm ed25519 -out seal.pem 2>/dev/null
openssl pkey -in seal.pem -pubout -out seal.pub
cat >> policy.yaml <<Y
integrity:
  verify_before_start: true
  seal_pubkey: $TMP/seal.pub
Y
printf 'version: 1\nintegrity:\n  verify_before_start: yes-please\n' > bad.yaml
out=$("$DBG_BIN" agent -c qemu:///system --audit-log a --key k.key --policy bad.yaml --eve e \
    --socket s.sock --state-dir st2 --status-dir status2 2>&1)
expect_match "bad integrity setting named with file and line" \
    "bad.yaml:3:.*verify_before_start must be true or false" "$out"

start_gateway_agent qemu:///system
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@"; }

out=$(VM create vm1.xml); expect_eq "create" 0 $?
# Seal two disks (vda raw, vdb qcow2); vdc and vdd stay unsealed (verified only when sealed).
"$DBG_BIN" image seal pool/a.raw pool/b.qcow2 --key seal.pem --status-dir "$TMP/is" >/dev/null
expect_eq "seal the disks" 0 $?

out=$(VM --format json start "$P-1"); rc=$?
expect_eq "start with intact sealed disks" 0 $rc
[ $rc = 0 ] || echo "start answered: $out" >&2
expect_eq "both sealed disks intact, the others unsealed" "intact intact unsealed unsealed" \
    "$(printf '%s' "$out" | jq -r '[.integrity[].status] | join(" ")')"
VM destroy "$P-1" >/dev/null; expect_eq "destroy" 0 $?

flip pool/b.qcow2 $(( $(qemu-img map --output=json pool/b.qcow2 | jq '[.[] | select(.data)][0].offset') + 100 ))
out=$(VM start "$P-1" 2>&1); rc=$?
expect_eq "start with a tampered sealed disk is refused (exit 1)" 1 $rc
expect_match "refusal names the disk and the seal" "refused: 1 disk\(s\) of $P-1 fail their seal.*vdb.*mismatch" "$out"
expect_eq "the VM did not start" "shut off" "$($V domstate "$P-1")"
out=$("$DBG_BIN" audit query --log "$TMP/audit" --action 'vm.start.outcome')
expect_match "refusal audited" "outcome=refused" "$out"

# Started behind the gateway's back, the agent's guard (given the policy's integrity section)
# verifies the same disks and alerts: detection, since the VM already runs.
$V start "$P-1" >/dev/null; expect_eq "virsh start behind the gateway" 0 $?
for _ in $(seq 1 300); do grep -q '"image_integrity_mismatch"' eve.json 2>/dev/null && break; sleep 0.1; done
expect_eq "agent's guard: image_integrity_mismatch for the tampered VM" "$P-1" \
    "$(jq -r 'select(.alert.signature=="image_integrity_mismatch") | .vm' eve.json 2>/dev/null | head -1)"
expect_eq "agent's guard: and the start itself is unauthorized" 1 \
    "$(for _ in $(seq 1 300); do n=$(jq -s --arg v "$P-1" '[.[] | select(.alert.signature=="unauthorized_vm_start" and .vm==$v)] | length' eve.json); [ "$n" -ge 1 ] && break; sleep 0.1; done; [ "$n" -ge 1 ] && echo 1 || { jq -c . eve.json >&2; echo 0; })"
$V destroy "$P-1" >/dev/null 2>&1

# Delete with storage: both pool volumes deleted; the loose data file remains -> finding.
out=$(VM --format json --remove-storage delete "$P-1"); rc=$?
expect_eq "delete with residual data on a non-pool disk exits 1" 1 $rc
expect_eq "volumes: deleted deleted not_a_volume not_a_volume" "deleted deleted not_a_volume not_a_volume" \
    "$(printf '%s' "$out" | jq -r '[.volumes[].volume] | join(" ")')"
expect_eq "residual check: gone gone residual wiped" "gone gone residual wiped" \
    "$(printf '%s' "$out" | jq -r '[.residual_check[].status] | join(" ")')"
[ ! -e pool/a.raw ] && [ ! -e pool/b.qcow2 ]; expect_eq "pool files are gone" 0 $?
out=$("$DBG_BIN" audit query --log "$TMP/audit" --action 'vm.delete.outcome' --format json)
expect_match "delete outcome audited with the residual check" 'residual_data.*true' "$out"

# A VM whose only disk is a pool volume: deleted and gone -> exit 0.
# Its second disk is given as pool/volume (no path in the XML): resolved before the delete.
head -c $MiB /dev/urandom > pool/c.raw; head -c $MiB /dev/urandom > pool/d.raw
$V pool-refresh "$P-pool" >/dev/null
domxml "$P-2" vda raw "$TMP/pool/c.raw" |
    sed "s|</devices>|<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='$P-pool' volume='d.raw'/><target dev='vdb' bus='virtio'/></disk></devices>|" > vm2.xml
VM create vm2.xml >/dev/null
out=$(VM --remove-storage delete "$P-2"); rc=$?
expect_eq "delete with storage, nothing left -> exit 0" 0 $rc
expect_match "text names the disk gone" "storage vda $TMP/pool/c.raw: gone" "$out"
expect_match "the pool/volume disk resolved and gone" "storage vdb $TMP/pool/d.raw: gone" "$out"
[ ! -e pool/d.raw ]; expect_eq "pool/volume file deleted" 0 $?

# A VM whose XML names another VM's volume (by path, or as pool/volume): deleting it with
# storage keeps that volume, as another VM's disk, and the residual check leaves it out.
head -c $MiB /dev/urandom > pool/e.raw
$V pool-refresh "$P-pool" >/dev/null
domxml "$P-3" vda raw "$TMP/pool/e.raw" > vm3.xml
VM create vm3.xml >/dev/null; expect_eq "create the owner of e.raw" 0 $?
domxml "$P-4" vda raw "$TMP/pool/e.raw" |
    sed "s|</devices>|<disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='$P-pool' volume='e.raw'/><target dev='vdb' bus='virtio'/></disk></devices>|" > vm4.xml
out=$(VM create vm4.xml 2>&1); rc=$?
expect_eq "the gateway refuses a new VM with another VM's disk (exit 1, a refusal)" 1 $rc
expect_match "naming the disk and its VM" "refused: disk vda .*/pool/e.raw. is a disk of VM '$P-3'" "$out"
# defined behind the gateway's back (the guard alerts on that), then deleted through it
$V define vm4.xml >/dev/null; expect_eq "virsh define of a VM naming e.raw twice" 0 $?
out=$(VM --format json --remove-storage delete "$P-4"); rc=$?
expect_eq "delete keeps the other VM's volume: in_use in_use" "in_use in_use" \
    "$(printf '%s' "$out" | jq -r '[.volumes[].volume] | join(" ")')"
expect_match "the detail names the VM that has it" "also a disk of VM '$P-3'" "$out"
expect_eq "residual check: kept kept" "kept kept" \
    "$(printf '%s' "$out" | jq -r '[.residual_check[].status] | join(" ")')"
expect_eq "and exits 0 (nothing residual)" 0 $rc
[ -e pool/e.raw ]; expect_eq "e.raw is still there" 0 $?
out=$(VM --format json --remove-storage delete "$P-3")
expect_eq "its owner's delete then deletes it" "deleted" \
    "$(printf '%s' "$out" | jq -r '[.volumes[].volume] | join(" ")')"
[ ! -e pool/e.raw ]; expect_eq "e.raw is gone" 0 $?

# A sealed disk given as pool/volume (no path in the inactive XML) is verified too: it was once
# reported "unsealed" and the start went ahead.
head -c $MiB /dev/urandom > pool/f.raw
$V pool-refresh "$P-pool" >/dev/null
echo "<domain type='qemu'><name>$P-5</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>$(command -v qemu-system-x86_64)</emulator><disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='$P-pool' volume='f.raw'/><target dev='vda' bus='virtio'/></disk></devices></domain>" > vm5.xml
VM create vm5.xml >/dev/null; expect_eq "create a VM with a pool-volume disk" 0 $?
"$DBG_BIN" image seal pool/f.raw --key seal.pem --status-dir "$TMP/is" >/dev/null
flip pool/f.raw 4096
out=$(VM start "$P-5" 2>&1); rc=$?
expect_eq "start with a tampered sealed pool volume is refused (exit 1)" 1 $rc
expect_match "the refusal names the volume's path" "vda .*/pool/f.raw.: mismatch" "$out"
expect_eq "that VM did not start" "shut off" "$($V domstate "$P-5")"
$V undefine "$P-5" >/dev/null 2>&1

# A disk whose file does not exist refuses the start by itself (no require_seal here): the
# gateway names the VM, the disk and the path, where it used to list the disk "unsealed" and
# leave the start to fail in libvirt ("failed", exit 3, libvirt's own words). One declared
# startupPolicy='optional' does not refuse: libvirt starts the VM without it.
head -c $MiB /dev/urandom > here.raw
domxml "$P-6" vda raw "$TMP/here.raw" vdb raw "$TMP/not-there.raw" > vm6.xml
VM create vm6.xml >/dev/null; expect_eq "create a VM with a missing disk" 0 $?
out=$(VM start "$P-6" 2>&1); rc=$?
expect_eq "start with a missing disk is refused (exit 1)" 1 $rc
expect_match "the refusal names the VM, the disk and its path" \
    "refused: disk vdb of $P-6 is missing: $TMP/not-there.raw does not exist, so it was not started" "$out"
expect_eq "that VM did not start" "shut off" "$($V domstate "$P-6")"
"$DBG_BIN" image seal here.raw --key seal.pem --status-dir "$TMP/is" >/dev/null
flip here.raw 4096
out=$(VM start "$P-6" 2>&1)
expect_match "with its other disk tampered too, the missing one is named and the rest pointed to" \
    "refused: disk vdb of $P-6 is missing: .* \(and other disks fail too: see the integrity report\)" "$out"
cp here.raw here7.raw  # its own file: the gateway refuses a VM with another VM's disk
sed -e "s|file='$TMP/not-there.raw'|file='$TMP/not-there.raw' startupPolicy='optional'|" \
    -e "s|here.raw|here7.raw|" -e "s/$P-6/$P-7/" vm6.xml > vm7.xml
VM create vm7.xml >/dev/null; expect_eq "create one whose missing disk is optional" 0 $?
out=$(VM --format json start "$P-7"); rc=$?
expect_eq "its start goes ahead" 0 $rc
[ $rc = 0 ] || echo "start answered: $out" >&2
expect_eq "reported: vda unsealed, vdb missing (optional)" "unsealed missing:true" \
    "$(printf '%s' "$out" | jq -r '[.integrity[] | .status + (if .optional then ":true" else "" end)] | join(" ")')"
expect_eq "libvirt started it" "running" "$($V domstate "$P-7")"
$V destroy "$P-7" >/dev/null 2>&1
$V undefine "$P-6" >/dev/null 2>&1; $V undefine "$P-7" >/dev/null 2>&1

# The same for a pool volume (no path in the inactive XML): a volume deleted from its pool, or a
# pool that is not defined, refuses the start naming volume and pool; it read as "unsealed" (not
# a local file) and left the start to fail in libvirt. An inactive pool is said as such and, as
# before, refuses nothing by itself (libvirt does not start the VM either).
head -c $MiB /dev/urandom > pool/g.raw
$V pool-refresh "$P-pool" >/dev/null
volxml() {  # name, volume, pool
    echo "<domain type='qemu'><name>$1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type arch='x86_64' machine='pc'>hvm</type></os><devices><emulator>$(command -v qemu-system-x86_64)</emulator><disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='$3' volume='$2'/><target dev='vda' bus='virtio'/></disk></devices></domain>"
}
volxml "$P-8" g.raw "$P-pool" > vm8.xml
VM create vm8.xml >/dev/null; expect_eq "create a VM on pool volume g.raw" 0 $?
$V vol-delete g.raw --pool "$P-pool" >/dev/null; expect_eq "virsh vol-delete g.raw" 0 $?
out=$(VM start "$P-8" 2>&1); rc=$?
expect_eq "start with its pool volume deleted is refused (exit 1)" 1 $rc
expect_match "the refusal names the volume and the pool" \
    "refused: disk vda of $P-8 is missing: volume 'g.raw' of pool '$P-pool': the pool has no volume of that name, so it was not started" "$out"
expect_eq "that VM did not start" "shut off" "$($V domstate "$P-8")"
out=$(VM --format json start "$P-8" 2>/dev/null)
expect_eq "JSON: status missing, with pool and volume" "missing $P-pool g.raw" \
    "$(printf '%s' "$out" | jq -r '.integrity[0] | "\(.status) \(.pool) \(.volume)"' 2>/dev/null)"
volxml "$P-9" h.raw "$P-nopool" > vm9.xml
$V define vm9.xml >/dev/null; expect_eq "virsh define a VM on a pool that does not exist" 0 $?
out=$(VM start "$P-9" 2>&1); rc=$?
expect_eq "start on an undefined pool is refused (exit 1)" 1 $rc
expect_match "naming the pool" \
    "missing: volume 'h.raw' of pool '$P-nopool': libvirt has no storage pool of that name" "$out"
head -c $MiB /dev/urandom > pool/i.raw
$V pool-refresh "$P-pool" >/dev/null
volxml "$P-10" i.raw "$P-pool" > vm10.xml
VM create vm10.xml >/dev/null; expect_eq "create a VM on pool volume i.raw" 0 $?
$V pool-destroy "$P-pool" >/dev/null; expect_eq "virsh pool-destroy (the pool stays defined)" 0 $?
out=$(VM --format json start "$P-10" 2>/dev/null)
expect_eq "inactive pool: unsealed, its detail says the pool is not active" \
    "unsealed its pool is not active" \
    "$(printf '%s' "$out" | jq -r '.integrity[0] | "\(.status) \(.detail)"' 2>/dev/null | cut -c1-31)"
$V pool-start "$P-pool" >/dev/null
$V undefine "$P-8" >/dev/null 2>&1; $V undefine "$P-9" >/dev/null 2>&1
$V undefine "$P-10" >/dev/null 2>&1

"$DBG_BIN" vm --socket "$TMP/gw.sock" --remove-storage start x >/dev/null 2>&1
expect_eq "--remove-storage with start is a usage error" 2 $?

kill -TERM "$AGENT"; wait "$AGENT"; AGENT=""
finish
