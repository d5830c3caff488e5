#!/bin/bash
# A live capture interface that goes away (a stopped VM's tap, a deleted bridge) must not end
# the sensor: it keeps capturing on the others, says which one it lost (stderr, status file:
# not ok while lost), reopens it when it is back, and detects there again. One missing at start
# (a stopped VM's tap when the agent restarts) is waited for the same way; only when none of the
# interfaces opens is the run an error. Namespaces and veth
# pairs made here (root only): the sensor runs in $P-h on a0 and b0, whose peers a1 / b1 sit in
# $P-a / $P-b; scans go from those to an address inside their own namespace's subnet (a static
# neighbour entry, nothing answers), so traffic stays inside namespaces made here.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq

P="dil$$"
SENSOR=""
cleanup() {
    [ -n "$SENSOR" ] && kill "$SENSOR" 2>/dev/null
    for ns in h a b c; do ip netns del "$P-$ns" 2>/dev/null; done
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$P-h" || skip_all "cannot create a network namespace"
ip netns add "$P-a"
ip netns add "$P-b"
ip netns add "$P-c"

# veth X0 (sensor side, namespace h) <-> X1 (namespace X), X1 at 10.99.N.1
link() {
    local x=$1 net=$2
    ip -n "$P-h" link add "${x}0" type veth peer name "${x}1" netns "$P-$x"
    ip -n "$P-h" link set "${x}0" up
    ip -n "$P-$x" link set "${x}1" up
    ip -n "$P-$x" addr add "10.99.$net.1/24" dev "${x}1"
    ip -n "$P-$x" neigh replace "10.99.$net.2" lladdr 02:00:00:00:00:02 dev "${x}1"
}
# 30 connection attempts to distinct ports of 10.99.N.2: a vertical scan (15 ports in 5 min)
scan() {
    local x=$1 net=$2 p pids=""
    for p in $(seq 2000 2029); do
        ip netns exec "$P-$x" timeout 0.5 bash -c ": </dev/tcp/10.99.$net.2/$p" 2>/dev/null &
        pids="$pids $!"
    done
    wait $pids # not a bare wait: the sensor is a child too
}
link a 1
link b 2

mkdir -p "$TMP/st"
ip netns exec "$P-h" "$DBG_BIN" sensor -i nosuch0 --eve "$TMP/none.json" \
    --status-dir "$TMP/st" 2>"$TMP/err0"
expect_eq "no interface opens: runtime error" 3 $?
expect_match "naming it" "nosuch0" "$(cat "$TMP/err0")"

ip netns exec "$P-h" "$DBG_BIN" sensor -i a0 -i b0 -i c0 --eve "$TMP/eve.json" \
    --status-dir "$TMP/st" 2>"$TMP/err" &
SENSOR=$!
wait_for '"running": *true' 10 "$TMP/st/sensor.json"
expect_eq "sensor capturing on a0 and b0" 0 $?
expect_match "c0, missing at start, is reported" "c0: not captured" "$(cat "$TMP/err")"
expect_eq "and in the status" "c0 false false" \
    "$(jq -r '"\(.interfaces[2].name) \(.interfaces[2].capturing) \(.ok)"' "$TMP/st/sensor.json")"
link c 3
wait_for "c0: capturing" 12 "$TMP/err"
expect_eq "c0 is captured once it exists" 0 $?
wait_for '"ok": *true' 5 "$TMP/st/sensor.json"
expect_eq "status ok with every interface captured" 0 $?

ip -n "$P-h" link del b0 # the peer b1 goes with it
wait_for "b0: capture lost" 5 "$TMP/err"
expect_eq "the lost interface is reported on stderr" 0 $?
kill -0 "$SENSOR" 2>/dev/null
expect_eq "the sensor keeps running" 0 $?
wait_for '"ok": *false' 5 "$TMP/st/sensor.json"
expect_eq "status: not ok while an interface is lost" 0 $?
expect_eq "status names the interface not captured" "b0 false" \
    "$(jq -r '.interfaces[] | select(.name == "b0") | "\(.name) \(.capturing)"' "$TMP/st/sensor.json")"
expect_match "status detail says since when and why" "b0 \(not captured since [0-9-]+T" \
    "$(jq -r .detail "$TMP/st/sensor.json")"

scan a 1
wait_for '"src_ip":"10.99.1.1"' 10 "$TMP/eve.json"
expect_eq "traffic on the remaining interface is still analysed" 0 $?

link b 2 # the same name comes back (a restarted VM's tap, a re-created bridge)
wait_for "b0: capturing" 12 "$TMP/err"
expect_eq "the interface is reopened when it is back" 0 $?
wait_for '"ok": *true' 5 "$TMP/st/sensor.json"
expect_eq "status ok again" 0 $?
scan b 2
wait_for '"src_ip":"10.99.2.1"' 10 "$TMP/eve.json"
expect_eq "and its traffic is analysed again" 0 $?

kill -TERM "$SENSOR"
wait "$SENSOR"
rc=$?
SENSOR=""
expect_eq "a clean stop (1: alerts were raised)" 1 $rc
expect_eq "final status: stopped" false "$(jq -r .running "$TMP/st/sensor.json")"
finish
