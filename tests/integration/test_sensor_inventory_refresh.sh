#!/bin/bash
# A live sensor's inventory follows the platform: a VM added to the --inventory snapshot after
# the sensor started is attributed once the file changes (here: its spoofed source address is
# an ip_spoof alert naming the VM, where before it was nobody's traffic); a snapshot that cannot
# be read keeps the previous inventory in use, with a warning and the error in the status file.
# Namespaces and a veth pair made here (root only): the sensor runs in $P-h on a0, the "VM" is
# a1 in $P-a (MAC 02:00:00:00:01:01, 10.99.1.1/24) sending UDP to an address of its own subnet.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq

P="dir$$"
SENSOR=""
cleanup() {
    [ -n "$SENSOR" ] && kill "$SENSOR" 2>/dev/null
    for ns in h a; do ip netns del "$P-$ns" 2>/dev/null; done
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$P-h" || skip_all "cannot create a network namespace"
ip netns add "$P-a"
ip -n "$P-h" link add a0 type veth peer name a1 netns "$P-a"
ip -n "$P-a" link set a1 address 02:00:00:00:01:01
ip -n "$P-h" link set a0 up
ip -n "$P-a" link set a1 up
ip -n "$P-a" addr add 10.99.1.1/24 dev a1
ip -n "$P-a" neigh replace 10.99.1.2 lladdr 02:00:00:00:00:02 dev a1

send() {
    local i
    for i in 1 2 3; do
        ip netns exec "$P-a" bash -c 'echo probe > /dev/udp/10.99.1.2/9999'
        sleep 0.1
    done
}
# snapshot with the given domains (a JSON array), written whole and renamed into place
inventory() {
    jq -n --argjson d "$1" '{schema_version: 1, uri: "test:///refresh", hostname: "h",
        networks: [], pools: [], volumes: [], nwfilters: [], bindings: [], host_files: [],
        controls: [], host_addresses: ["10.99.1.254"], mgmt_ports: [22], domains: $d}' \
        > "$TMP/inv.tmp" && mv "$TMP/inv.tmp" "$TMP/inv.json"
}
OTHER='{"name":"vm-old","uuid":"00000000-0000-4000-8000-000000000001","state":"running",
  "tenant_id":"t1","ifaces":[{"mac":"02:00:00:00:09:09","type":"bridge","source":"br0",
  "target_dev":"tap9","ips":["10.99.1.9"],"vlan":-1}]}'
NEW='{"name":"vm-new","uuid":"00000000-0000-4000-8000-000000000002","state":"running",
  "tenant_id":"t1","ifaces":[{"mac":"02:00:00:00:01:01","type":"bridge","source":"br0",
  "target_dev":"tap1","ips":["10.99.1.5"],"vlan":-1}]}'
inventory "[$OTHER]"
mkdir -p "$TMP/st"
ip netns exec "$P-h" "$DBG_BIN" sensor -i a0 --inventory "$TMP/inv.json" --inventory-refresh 1 \
    --eve "$TMP/eve.json" --status-dir "$TMP/st" 2>"$TMP/err" &
SENSOR=$!
wait_for '"running": *true' 10 "$TMP/st/sensor.json"
expect_eq "sensor running" 0 $?
expect_eq "status: the inventory in use" "$TMP/inv.json 1" \
    "$(jq -r '"\(.inventory.source) \(.inventory.ports)"' "$TMP/st/sensor.json")"

send
sleep 1
expect_eq "before: the sender is in no inventory, nothing to attribute" "" \
    "$(cat "$TMP/eve.json" 2>/dev/null)"

inventory "[$OTHER, $NEW]" # the VM started after the sensor
for _ in $(seq 50); do
    [ "$(jq -r .inventory.ports "$TMP/st/sensor.json" 2>/dev/null)" = 2 ] && break
    sleep 0.1
done
expect_eq "the changed snapshot is taken within the refresh interval" 2 \
    "$(jq -r .inventory.ports "$TMP/st/sensor.json")"
send
wait_for '"signature":"ip_spoof"' 5 "$TMP/eve.json"
expect_eq "after: the new VM's spoofed source is an ip_spoof alert" 0 $?
expect_match "naming the VM the refreshed inventory gives" '"vm-new"' "$(cat "$TMP/eve.json")"

echo '{"schema_version": 1, "domains": [' > "$TMP/inv.tmp" && mv "$TMP/inv.tmp" "$TMP/inv.json"
wait_for "inventory not reloaded, the previous one stays in use" 5 "$TMP/err"
expect_eq "a broken snapshot is reported" 0 $?
wait_for '"reload_error": *"' 5 "$TMP/st/sensor.json"
expect_match "status keeps the error" "inv.json:[0-9:]+ not valid JSON" \
    "$(jq -r .inventory.reload_error "$TMP/st/sensor.json")"
expect_eq "and the previous inventory stays in use" 2 "$(jq -r .inventory.ports "$TMP/st/sensor.json")"
kill -0 "$SENSOR" 2>/dev/null
expect_eq "the sensor runs on" 0 $?

kill -TERM "$SENSOR"
wait "$SENSOR"
rc=$?
SENSOR=""
expect_eq "a clean stop (1: alerts were raised)" 1 $rc
finish
