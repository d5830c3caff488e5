#!/bin/bash
# dengbao-agent.service's CapabilityBoundingSet is what the agent needs, and no more: the agent
# run as root under exactly that bounding set (setpriv, as systemd sets it) captures on a veth
# leg in promiscuous mode through its sensor, which gives up root for nobody, passes SIGUSR1 on
# to that sensor and stops it on SIGTERM, reads a sealed disk owned by another user to verify it
# before a start, and (when libvirtd is here) manages qemu:///system over its socket. Each
# capability taken out of the set breaks the thing the unit's comment says it is for (without
# CAP_KILL the agent used to hang on SIGTERM; now it exits 3 saying why, its sensor orphaned).
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (network namespace, capability sets)"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
NOBODY=$(id -u nobody 2>/dev/null) || skip_all "no user nobody"
ensure_pkgs setpriv:util-linux python3:python3 jq:jq openssl:openssl

UNIT=$DBG_SRCDIR/contrib/systemd/dengbao-agent.service.in
CAPS=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT")
expect_match "the agent's unit sets a capability bounding set" '^CAP_[A-Z_]+( CAP_[A-Z_]+)*$' "$CAPS"
[ -n "$CAPS" ] || { finish; exit 1; }
# setpriv's spelling of a set: -all,+net_raw,...; "without" leaves one out
bset() {
    local c out="-all"
    for c in $CAPS; do
        [ "$c" = "${1:-}" ] || out="$out,+$(printf '%s' "${c#CAP_}" | tr 'A-Z' 'a-z')"
    done
    printf '%s' "$out"
}

NS="dcap$$"
PIDS=""
cleanup() {
    local pid
    for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    stop_started_daemons
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1
chmod 711 "$TMP"

ip netns add "$NS" || skip_all "cannot create a network namespace"
ip netns exec "$NS" ip link add v0 type veth peer name v1
ip netns exec "$NS" ip link set v0 up
ip netns exec "$NS" ip link set v1 up

root_agent_setup
# A disk libvirt has handed to its qemu user: owned by someone else, 0600; sealed by root.
openssl genpkey -algorithm ed25519 -out seal.pem 2>/dev/null
openssl pkey -in seal.pem -pubout -out seal.pub
head -c 1048576 /dev/urandom > disk.raw
"$DBG_BIN" image seal disk.raw --key seal.pem --status-dir "$TMP/is" >/dev/null
expect_eq "seal the disk" 0 $?
chown "$NOBODY" disk.raw && chmod 600 disk.raw
cat >> policy.yaml <<Y
integrity:
  verify_before_start: true
  seal_pubkey: $TMP/seal.pub
Y
cat > vm.xml <<X
<domain type='test'><name>capvm</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$TMP/disk.raw'/><target dev='vda' bus='virtio'/></disk>
</devices></domain>
X
printf '{"schema_version":1,"uri":"test:///x","hostname":"x","domains":[],"networks":[],"pools":[],"volumes":[],"nwfilters":[],"bindings":[],"host_files":[],"controls":[],"host_addresses":[],"mgmt_ports":[22]}\n' \
    > inventory.json
chmod 644 inventory.json

# start_agent NAME SETPRIV-SET [agent options]: in the namespace, under that bounding set
start_agent() {
    local n=$1 set=$2
    shift 2
    mkdir -p "$TMP/$n" # the EVE file's directory (the unit's LogsDirectory=)
    ip netns exec "$NS" setpriv --bounding-set "$set" "$DBG_BIN" agent -c test:///default \
        --audit-log "$TMP/$n/audit" --key "$TMP/k.key" --policy policy.yaml \
        --eve "$TMP/$n/eve.json" --socket "$TMP/$n/gw.sock" --state-dir "$TMP/$n/st" \
        --status-dir "$TMP/$n/status" --sensor-iface v0 --sensor-inventory inventory.json \
        --sensor-user nobody "$@" 2>"$n.log" &
    AGENT=$!
    PIDS="$PIDS $AGENT"
}
# frames to a MAC that is not v0's: seen only in promiscuous mode
send_foreign() {
    ip netns exec "$NS" python3 -c '
import socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("v1", 0))
for _ in range(20):
    s.send(bytes.fromhex("02aabbccddee" "021122334455" "0800") + bytes(46))'
}
gone_within() {  # PID SECONDS
    local i
    for i in $(seq 1 $(($2 * 10))); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done
    return 1
}
# RC=the agent's exit status once it ended within SECONDS, else "running" (then killed): a
# hang fails the test instead of holding it
agent_rc() {
    if gone_within "$AGENT" "$1"; then
        wait "$AGENT"
        RC=$?
    else
        RC="running after $1 s"
        kill -KILL "$AGENT"
        wait "$AGENT" 2>/dev/null
    fi
}

# The unit's whole set: everything works.
start_agent full "$(bset)"
wait_for "running:" 20 full.log
expect_match "under the unit's set the agent runs, its sensor as nobody" \
    "running: .*sensor on v0 \\(pid [0-9]+, as nobody\\)" "$(cat full.log)"
expect_eq "the agent's capabilities are the unit's set and no more" \
    "$(awk '/^CapBnd:/ {print $2}' "/proc/$AGENT/status")" \
    "$(awk '/^CapEff:/ {print $2}' "/proc/$AGENT/status")"
expect_match "capture in promiscuous mode (no CAP_NET_ADMIN)" "promiscuity [1-9]" \
    "$(ip netns exec "$NS" ip -d link show v0)"
send_foreign
sleep 0.5
kill -USR1 "$AGENT"
wait_for "sensor stats:" 5 full.log
pk=$(sed -n 's/.*sensor stats: packets=\([0-9]*\).*/\1/p' full.log | tail -1)
expect_eq "SIGUSR1 passed on to the sensor (CAP_KILL); it saw the foreign frames" yes \
    "$([ "${pk:-0}" -ge 20 ] && echo yes || echo "no (packets=${pk:-none})")"
"$DBG_BIN" vm --socket "$TMP/full/gw.sock" create vm.xml >/dev/null
expect_eq "vm create through the gateway" 0 $?
out=$("$DBG_BIN" vm --socket "$TMP/full/gw.sock" --format json start capvm 2>&1)
expect_eq "vm start: the disk verified though not root's (CAP_DAC_READ_SEARCH)" "0 intact" \
    "$? $(printf '%s' "$out" | jq -r '[.integrity[].status] | join(" ")' 2>/dev/null)"
kill -TERM "$AGENT"
agent_rc 10
expect_eq "SIGTERM stops the agent and its sensor, exit 0" 0 "$RC"

# Each capability left out breaks what it is kept for.
for cap in $CAPS; do
    rm -rf "$TMP/w" w.log
    case $cap in
    CAP_NET_RAW | CAP_SETUID | CAP_SETGID)
        start_agent w "$(bset "$cap")"
        agent_rc 20
        why="cannot start capture: socket: Operation not permitted"
        [ "$cap" = CAP_NET_RAW ] || why="--user nobody: cannot (set its groups|switch group|switch user)"
        expect_eq "without $cap: the agent does not start (exit 3)" 3 "$RC"
        expect_match "without $cap: saying why" "$why" "$(cat w.log)"
        ;;
    CAP_KILL)
        # the agent used to wait on forever for a sensor it could not signal
        start_agent w "$(bset "$cap")"
        wait_for "running:" 20 w.log
        SENSOR=$(cat "/proc/$AGENT/task/$AGENT/children" 2>/dev/null | tr -d ' ')
        PIDS="$PIDS $SENSOR"
        kill -TERM "$AGENT"
        agent_rc 5
        expect_eq "without $cap: SIGTERM, the sensor cannot be signalled: exit 3" 3 "$RC"
        expect_match "without $cap: saying so" \
            "cannot signal the sensor \\(pid $SENSOR\\), which runs as another user: the agent needs CAP_KILL; the sensor is left running" \
            "$(cat w.log)"
        # the kernel sends the parent-death signal with the dying agent's permissions
        expect_eq "without $cap: not even the parent-death signal ends the sensor" yes \
            "$(gone_within "$SENSOR" 1 && echo no || echo yes)"
        kill -KILL "$SENSOR" 2>/dev/null
        ;;
    CAP_DAC_READ_SEARCH)
        start_agent w "$(bset "$cap")"
        wait_for "running:" 20 w.log
        "$DBG_BIN" vm --socket "$TMP/w/gw.sock" create vm.xml >/dev/null
        out=$("$DBG_BIN" vm --socket "$TMP/w/gw.sock" start capvm 2>&1)
        rc=$?
        expect_eq "without $cap: the other user's disk cannot be verified, the start refused" \
            "1 yes" "$rc $(printf '%s' "$out" | grep -q 'Permission denied' && echo yes)"
        kill -TERM "$AGENT"
        agent_rc 10
        ;;
    *)
        fail "$cap: kept in the unit but not tested here (say what it is for, and test it)"
        ;;
    esac
done

# libvirt over its socket as uid 0 needs no capability: the guard connects and the gateway
# lists the VMs of qemu:///system.
if command -v libvirtd >/dev/null; then
    start_libvirtd
    setpriv --bounding-set "$(bset)" "$DBG_BIN" agent -c qemu:///system \
        --audit-log "$TMP/q/audit" --key "$TMP/k.key" --policy policy.yaml \
        --eve "$TMP/q/eve.json" --socket "$TMP/q/gw.sock" --state-dir "$TMP/q/st" \
        --status-dir "$TMP/q/status" 2>q.log &
    AGENT=$!
    PIDS="$PIDS $AGENT"
    wait_for "running:" 20 q.log
    for _ in $(seq 1 50); do
        [ "$(jq -r .connected q/status/guard.json 2>/dev/null)" = true ] && break
        sleep 0.1
    done
    expect_eq "qemu:///system under the unit's set: the guard is connected" true \
        "$(jq -r .connected q/status/guard.json 2>/dev/null)"
    "$DBG_BIN" vm --socket "$TMP/q/gw.sock" list >/dev/null
    expect_eq "and the gateway lists its VMs" 0 $?
    kill -TERM "$AGENT"
    agent_rc 10
    expect_eq "and stops with exit 0" 0 "$RC"
else
    echo "# skipped qemu:///system: no libvirtd"
fi
finish
