#!/bin/bash
# The sensor on a VM's tap (-i tap1) sees the host bridge's own frames too: IPv6 neighbour and
# router solicitations, MLD reports and pings from the bridge's MAC and link-local, which the
# inventory does not list. They were mac_spoof against the VM. Here the bridge's MAC is known:
# the tap joins the bridge after the capture opened, the bridge's MAC then changes, and the
# bridge's multicast frames right after each raise nothing, while the VM sending from a MAC of
# its own choosing is still mac_spoof. A namespace test bed made here (root only): br0 and
# tap1 (a veth) in $P-h, the VM's end in $P-vm; all traffic stays inside them.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq tcpdump:tcpdump ping:iputils-ping

P="dtb$$"
SENSOR=""
DUMP=""
cleanup() {
    [ -n "$SENSOR" ] && kill "$SENSOR" 2>/dev/null
    [ -n "$DUMP" ] && kill "$DUMP" 2>/dev/null
    ip netns del "$P-h" 2>/dev/null
    ip netns del "$P-vm" 2>/dev/null
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$P-h" || skip_all "cannot create a network namespace"
ip netns add "$P-vm"
h() { ip netns exec "$P-h" "$@"; }
vm() { ip netns exec "$P-vm" "$@"; }

# addresses usable at once (no duplicate address detection), so the bridge's link-local exists
# as soon as it has a port
h sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
vm sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
h ip link set lo up
h ip link add br0 type bridge stp_state 0 forward_delay 0
h ip link set br0 address 02:00:00:00:b0:01 up
h ip addr add 10.98.1.1/24 dev br0
h ip link add tap1 type veth peer name eth0 netns "$P-vm"
h ip link set tap1 up # not a port of br0 yet
vm ip link set eth0 address 52:54:00:aa:00:01 up
vm ip addr add 10.98.1.5/24 dev eth0

INV="$TMP/inventory.json"
cat >"$INV" <<'EOF'
{"schema_version": 1, "uri": "test:///tap-bridge", "hostname": "bed-host",
 "domains": [{"name":"vm1","uuid":"00000000-0000-4000-8000-000000000001","state":"running",
   "tenant_id":"tenant-a","ifaces":[{"mac":"52:54:00:aa:00:01","type":"bridge","source":"br0",
   "target_dev":"tap1","ips":["10.98.1.5"],"vlan":-1}]}],
 "networks": [], "pools": [], "volumes": [], "nwfilters": [], "bindings": [], "host_files": [],
 "controls": [], "host_addresses": ["10.98.1.1"], "mgmt_ports": [22]}
EOF
mkdir -p "$TMP/st"
# started directly, not through h(): `ip netns exec` execs, so $! is the sensor's own PID
ip netns exec "$P-h" "$DBG_BIN" sensor -i tap1 --inventory "$INV" --inventory-refresh 0 --eve "$TMP/eve.json" \
    --status-dir "$TMP/st" 2>"$TMP/err" &
SENSOR=$!
# what tap1 carries, to show the bridge's frames were there to be judged
ip netns exec "$P-h" tcpdump -i tap1 -w "$TMP/tap1.pcap" -U >/dev/null 2>&1 &
DUMP=$!
wait_for '"running": *true' 10 "$TMP/st/sensor.json"
expect_eq "sensor capturing on tap1" 0 $?
sleep 0.5

bridge_pings() { # multicast echo requests from br0 (from $1): not addressed to the VM's MAC
    h ping -6 -c 3 -i 0.2 -w 3 -I "$1" ff02::1%br0 >/dev/null 2>&1
}
# the tap joins the bridge after its capture opened: the bridge comes up with its link-local
# (and its own router solicitation and MLD reports) at once
h ip link set tap1 master br0
bridge_pings br0
# the bridge's MAC changes (an operator, or the lowest of its ports' when none is set); pinged
# at once, before any periodic re-read
h ip link set br0 address 02:00:00:00:b0:02
# from another of its addresses: an incident of its own, not folded into the first one's
h ip addr add fd00:98::1/64 dev br0 nodad
bridge_pings fd00:98::1
# the VM spoofs its MAC
vm ip link set eth0 address 02:00:00:00:00:66
vm ping -c 2 -i 0.2 -w 3 10.98.1.1 >/dev/null 2>&1
sleep 1

kill -TERM "$SENSOR"
wait "$SENSOR"
rc=$?
SENSOR=""
kill "$DUMP" 2>/dev/null
wait "$DUMP" 2>/dev/null
DUMP=""
expect_eq "a clean stop (1: alerts were raised)" 1 "$rc"
for mac in 02:00:00:00:b0:01 02:00:00:00:b0:02; do
    n=$(tcpdump -r "$TMP/tap1.pcap" -nn "ether src $mac and ip6" 2>/dev/null | wc -l)
    expect_match "tap1 carried IPv6 frames from the bridge's MAC $mac" "^[1-9]" "$n"
    expect_eq "no alert from the bridge's MAC $mac" "" \
        "$(jq -c "select(.ether.src_mac == \"$mac\") | .alert.signature" "$TMP/eve.json")"
done
expect_match "the VM sending from another MAC is still mac_spoof" '"mac_spoof","02:00:00:00:00:66","vm1"' \
    "$(jq -c '[.alert.signature, .ether.src_mac, .dengbao.src.vm]' "$TMP/eve.json")"
expect_eq "and nothing else is alerted" "" \
    "$(jq -c 'select(.ether.src_mac != "02:00:00:00:00:66") | [.alert.signature, .ether.src_mac]' "$TMP/eve.json")"
finish
