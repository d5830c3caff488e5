#!/bin/bash
# The guard against a real libvirtd (qemu:///system, TCG, 64 MiB domains, all diskless but one):
# operations through the gateway produce audit records and no alert; the same operations with
# plain virsh behind dengbao's back each produce the right alert (and an audit record); a paused
# VM resumed by hand right after a gateway snapshot or reset still alerts, as does a definition
# replaced by hand; a VM started while the agent was down is found by reconciliation when it
# comes back.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for qemu:///system"
ensure_pkgs jq:jq qemu-img:qemu-utils
start_libvirtd
V="virsh -q -c qemu:///system"
P="dbg-gw-$$"
cleanup_vms() {
    local d
    for d in $($V list --all --name 2>/dev/null | grep "^$P-"); do
        $V destroy "$d" >/dev/null 2>&1
        $V undefine "$d" >/dev/null 2>&1
    done
}
trap 'kill "${AGENT:-}" 2>/dev/null; cleanup_vms; stop_started_daemons; rm -rf "$TMP"' EXIT
cd "$TMP" || exit 1
chmod 755 "$TMP"

domxml() {  # name tenant [qcow2 disk]
    cat <<X
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="$2"/></metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator><graphics type='vnc' listen='127.0.0.1' autoport='yes'/>
  ${3:+<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='$3'/><target dev='vda' bus='virtio'/></disk>}</devices>
</domain>
X
}
domxml "$P-1" tenant-a > vm1.xml
domxml "$P-2" tenant-b > vm2.xml
domxml "$P-3" tenant-a > vm3.xml

root_agent_setup
start_agent() { start_gateway_agent qemu:///system; }
stop_agent() {
    kill -TERM "$AGENT"; wait "$AGENT"; local rc=$?; AGENT=""
    return $rc
}
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" --timeout 600 "$@"; }
# alerts TYPE VM: how many alerts of TYPE name VM
alerts() { [ -f eve.json ] || { echo 0; return; }; jq -s --arg t "$1" --arg v "$2" '[.[] | select(.alert.signature==$t and .vm==$v)] | length' eve.json; }
wait_alert() {  # TYPE VM [timeout s]
    local i
    for i in $(seq 1 $((${3:-60} * 10))); do [ "$(alerts "$1" "$2")" -ge 1 ] && break; sleep 0.1; done
    expect_eq "$1 for $2" 1 "$([ "$(alerts "$1" "$2")" -ge 1 ] && echo 1 || echo 0)"
}
vm_alerts() { [ -f eve.json ] || { echo 0; return; }; jq -s --arg v "$1" '[.[] | select(.vm==$v)] | length' eve.json; }

start_agent

# 1. Through the gateway: audited twice each, no alert.
VM create vm1.xml >/dev/null; expect_eq "gateway create" 0 $?
VM start "$P-1" >/dev/null; expect_eq "gateway start" 0 $?
VM reboot "$P-1" >/dev/null; expect_eq "gateway reboot" 0 $?
VM reset "$P-1" >/dev/null; expect_eq "gateway reset" 0 $?
VM suspend "$P-1" >/dev/null; expect_eq "gateway suspend" 0 $?
VM resume "$P-1" >/dev/null; expect_eq "gateway resume" 0 $?
VM delete "$P-1" >/dev/null; expect_eq "gateway delete (destroy + undefine)" 0 $?
expect_eq "VM 1 gone" "" "$($V list --all --name | grep -x "$P-1")"
sleep 3
expect_eq "no alerts for gateway operations" 0 "$(vm_alerts "$P-1")"

# 2. Behind dengbao's back with plain virsh: each action alerts.
$V define vm2.xml >/dev/null
wait_alert unauthorized_vm_create "$P-2"
$V start "$P-2" >/dev/null
wait_alert unauthorized_vm_start "$P-2" 60
expect_eq "one start alert per start (the RESUMED of a boot is part of it)" 1 "$(alerts unauthorized_vm_start "$P-2")"
$V reset "$P-2" >/dev/null
wait_alert unauthorized_vm_restart "$P-2"
$V destroy "$P-2" >/dev/null
wait_alert unaudited_vm_destroy "$P-2"
$V undefine "$P-2" >/dev/null
wait_alert unaudited_vm_delete "$P-2"
a=$(jq -s --arg v "$P-2" '[.[] | select(.vm==$v)][0]' eve.json)
expect_eq "alert names the tenant" "tenant-b" "$(echo "$a" | jq -r .tenant)"
expect_match "alert names the uuid" "^[0-9a-f-]{36}$" "$(echo "$a" | jq -r .uuid)"
expect_eq "alert says no authorization" "no authorization found" "$(echo "$a" | jq -r .authorization)"
expect_eq "alert names the event" "defined/added" "$(echo "$a" | jq -r .event)"

# 3. A paused VM (a snapshot needs a qcow2 disk). The gateway's snapshot of it running pauses
# and resumes it (qemu: suspended/paused, resumed/unpaused): no alert. Paused by hand, a gateway
# snapshot or reset leaves it paused; the virsh resume that follows is not theirs.
qemu-img create -q -f qcow2 "$TMP/d4.qcow2" 16M && chmod 666 "$TMP/d4.qcow2"
domxml "$P-4" tenant-a "$TMP/d4.qcow2" > vm4.xml
VM create vm4.xml >/dev/null; expect_eq "gateway create VM 4" 0 $?
VM start "$P-4" >/dev/null; expect_eq "gateway start VM 4" 0 $?
VM snapshot "$P-4" s1 >/dev/null; expect_eq "gateway snapshot of the running VM" 0 $?
sleep 2
expect_eq "no alert for the gateway's snapshot (its own pause and resume)" 0 "$(vm_alerts "$P-4")"
$V suspend "$P-4" >/dev/null
sleep 1 # the pause is the guard's before the snapshot begins (else it is taken for the snapshot's)
VM snapshot "$P-4" s2 >/dev/null; expect_eq "gateway snapshot of the paused VM" 0 $?
expect_eq "the snapshot left it paused" paused "$($V domstate "$P-4" | tr -d '[:space:]')"
$V resume "$P-4" >/dev/null
wait_alert unauthorized_vm_start "$P-4"
$V suspend "$P-4" >/dev/null
sleep 1
VM reset "$P-4" >/dev/null; expect_eq "gateway reset of the paused VM" 0 $?
$V resume "$P-4" >/dev/null
for _ in $(seq 1 100); do [ "$(alerts unauthorized_vm_start "$P-4")" -ge 2 ] && break; sleep 0.1; done
expect_eq "virsh resume after a gateway reset: a second start alert" 2 "$(alerts unauthorized_vm_start "$P-4")"
VM suspend "$P-4" >/dev/null; VM resume "$P-4" >/dev/null
# The definition replaced by hand (here its memory; a disk or network the same way).
$V dumpxml --inactive "$P-4" | sed "s|<memory unit='KiB'>65536</memory>|<memory unit='KiB'>98304</memory>|" > vm4b.xml
$V define vm4b.xml >/dev/null; expect_eq "virsh define of VM 4's changed XML" 0 $?
wait_alert unauthorized_vm_redefine "$P-4"
expect_eq "the redefine alert names the event" "defined/updated" \
    "$(jq -s -r --arg v "$P-4" '[.[] | select(.vm==$v and .alert.signature=="unauthorized_vm_redefine")][0].event' eve.json)"
VM delete "$P-4" >/dev/null; expect_eq "gateway delete VM 4" 0 $?
sleep 2
expect_eq "VM 4: two start alerts (not the gateway's suspend and resume)" 2 "$(alerts unauthorized_vm_start "$P-4")"
expect_eq "VM 4: one redefine alert" 1 "$(alerts unauthorized_vm_redefine "$P-4")"
expect_eq "VM 4: no create, delete or destroy alert" 0 \
    "$(jq -s --arg v "$P-4" '[.[] | select(.vm==$v and (.alert.signature|test("create|delete|destroy")))] | length' eve.json)"

# 4. Reconciliation: the agent is down while virsh starts a gateway-created VM.
VM create vm3.xml >/dev/null; expect_eq "gateway create VM 3" 0 $?
sleep 1
stop_agent; expect_eq "agent stops cleanly" 0 $?
$V start "$P-3" >/dev/null; expect_eq "virsh start while the agent is down" 0 $?
start_agent
wait_alert unauthorized_vm_start "$P-3" 60
expect_eq "found by reconciliation" "reconcile" \
    "$(jq -s -r --arg v "$P-3" '[.[] | select(.vm==$v and .alert.signature=="unauthorized_vm_start")][0].detection' eve.json)"
expect_eq "no create alert for the gateway's VM" 0 "$(alerts unauthorized_vm_create "$P-3")"
VM delete "$P-3" >/dev/null; expect_eq "gateway delete VM 3" 0 $?
sleep 1
stop_agent; expect_eq "agent stops cleanly again" 0 $?
expect_eq "VM 3: only the reconciliation alert" 1 "$(vm_alerts "$P-3")"

# The audit log has both halves of every gateway operation and a record per alert.
all=$("$DBG_BIN" audit query --log "$TMP/audit" --format json)
n() { echo "$all" | jq -r "[.[]? // .records[]? | select($1)] | length"; }
for op in create start reboot reset suspend resume delete; do
    expect_eq "audit: $op intent + outcome for VM 1" 2 \
        "$(n ".target.name==\"$P-1\" and (.action==\"vm.$op.intent\" or .action==\"vm.$op.outcome\")")"
done
# One alert per libvirt event: a reset of a guest without an OS can bring more than one REBOOT
# event, so the restart count is at least one; every alert has its audit record.
for t in unauthorized_vm_create unauthorized_vm_start unaudited_vm_destroy unaudited_vm_delete; do
    expect_eq "exactly one $t for VM 2" 1 "$(alerts $t "$P-2")"
done
expect_eq "audit: one record per alert for VM 2" "$(vm_alerts "$P-2")" \
    "$(n ".target.name==\"$P-2\" and (.action|startswith(\"alert.\"))")"
expect_eq "audit: alert record by the guard" "dengbao-guard" \
    "$(echo "$all" | jq -r "[.[]? // .records[]? | select(.target.name==\"$P-2\" and (.action|startswith(\"alert.\")))][0].actor")"
"$DBG_BIN" audit verify --log "$TMP/audit" --pubkey "$TMP/k.pub" >/dev/null
expect_eq "audit log verifies" 0 $?
finish
