#!/bin/bash
# The README's agent, `dengbao agent -c qemu:///system ... --sensor-iface IF --sensor-user
# nobody` without --sensor-inventory, against a real system libvirtd: the sensor collects its
# first inventory as root, gives up root, and must keep the inventory current from libvirt as
# nobody. A system libvirtd lets nobody open its read-write socket only with a polkit agent to
# ask ("no polkit agent available to authenticate action 'org.libvirt.unix.manage'") and its
# read-only one only through polkitd on the system bus ("Unable to get system bus connection"
# without one), so a refresh that connects after the drop never succeeds and the sensor keeps
# attributing to the VMs of its start. Here a VM is defined after the agent started, with the
# refresh period an hour: only the libvirt event and a collection as nobody can make its
# traffic (a spoofed source from its MAC, sent on a veth in a namespace made here) an ip_spoof
# alert naming it.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (qemu:///system, network namespaces, giving up root)"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq
NOBODY=$(id -u nobody 2>/dev/null) || skip_all "no user nobody"
start_libvirtd
V="virsh -q -c qemu:///system"
P="dsl$$"
AGENT=""
cleanup() {
    [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    $V undefine "$P-old" >/dev/null 2>&1
    $V undefine "$P-new" >/dev/null 2>&1
    ip netns del "$P-h" 2>/dev/null
    ip netns del "$P-a" 2>/dev/null
    stop_started_daemons
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1
chmod 711 "$TMP"

# The VM's NIC as libvirt gives it: MAC and, through clean-traffic's IP parameter, its address.
domxml() { # name mac ip
    echo "<domain type='qemu'><name>$1</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>"
    echo "<os><type arch='x86_64'>hvm</type></os><devices><interface type='ethernet'>"
    echo "<mac address='$2'/><filterref filter='clean-traffic'><parameter name='IP' value='$3'/>"
    echo "</filterref></interface></devices></domain>"
}
domxml "$P-old" 02:00:00:00:09:09 10.98.1.9 > old.xml
domxml "$P-new" 02:00:00:00:01:01 10.98.1.5 > new.xml
$V define old.xml >/dev/null || skip_all "cannot define a VM on qemu:///system"

ip netns add "$P-h" || skip_all "cannot create a network namespace"
ip netns add "$P-a"
ip -n "$P-h" link add a0 type veth peer name a1 netns "$P-a"
ip -n "$P-a" link set a1 address 02:00:00:00:01:01
ip -n "$P-h" link set a0 up
ip -n "$P-a" link set a1 up
ip -n "$P-a" addr add 10.98.1.1/24 dev a1
ip -n "$P-a" neigh replace 10.98.1.2 lladdr 02:00:00:00:00:02 dev a1
send() { # from the new VM's MAC, not from its address
    local i
    for i in 1 2 3; do
        ip netns exec "$P-a" bash -c 'echo probe > /dev/udp/10.98.1.2/9999'
        sleep 0.1
    done
}

root_agent_setup
ip netns exec "$P-h" "$DBG_BIN" agent -c qemu:///system --audit-log "$TMP/audit" \
    --key "$TMP/k.key" --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" \
    --state-dir "$TMP/state" --status-dir "$TMP/status" --sensor-iface a0 --sensor-user nobody \
    2>agent.log &
AGENT=$!
wait_for "running:" 30 agent.log
expect_eq "agent running" 0 $?
SENSOR=$(tr -d ' ' < "/proc/$AGENT/task/$AGENT/children" 2>/dev/null)
expect_match "its sensor is a process of its own" '^[0-9]+$' "$SENSOR"
expect_eq "the sensor runs as nobody" "$NOBODY" "$(awk '/^Uid:/ {print $2}' "/proc/$SENSOR/status")"
expect_eq "its inventory comes from libvirt" "qemu:///system" \
    "$(jq -r .inventory.source status/sensor.json 2>/dev/null)"
loaded0=$(jq -r .inventory.loaded status/sensor.json)

send
sleep 1
expect_nomatch "before: the sender is in no VM's inventory, nothing attributed" "$P-new" \
    "$(cat eve.json 2>/dev/null)"

$V define new.xml >/dev/null
expect_eq "the VM is defined after the start" 0 $?
# the agent's sensor collects every 60 s as well: the event must do it well before that
for _ in $(seq 50); do
    [ "$(jq -r .inventory.loaded status/sensor.json)" != "$loaded0" ] && break
    sleep 0.2
done
expect_eq "collected again within 10 s of the event" yes \
    "$([ "$(jq -r .inventory.loaded status/sensor.json)" != "$loaded0" ] && echo yes || echo no)"
expect_eq "as nobody, without an error" "" \
    "$(jq -r '.inventory.reload_error // ""' status/sensor.json)"
expect_nomatch "no warning about libvirt events or reloads" \
    "no libvirt events|inventory not reloaded" "$(cat agent.log)"
send
for _ in $(seq 50); do grep -q "\"$P-new\"" eve.json 2>/dev/null && break; sleep 0.1; done
line=$(grep '"ip_spoof"' eve.json 2>/dev/null | grep "\"$P-new\"" | head -1)
expect_match "after: the new VM's spoofed source is an ip_spoof alert naming it" \
    '"src_ip":"10.98.1.1"' "$line"

kill -TERM "$AGENT"
wait "$AGENT"
expect_eq "a clean stop" 0 $?
AGENT=""
finish
