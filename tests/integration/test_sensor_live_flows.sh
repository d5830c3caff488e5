#!/bin/bash
# Live --flows: a flow record leaves when its flow ends, not when stdio's buffer fills. Before,
# a live run wrote flow records only in 4 KiB blocks (on a quiet bridge: at exit), so a reader
# following the file (Filebeat, tail -F) got them hours late. A flow table of 64 entries
# (rules flow.max_flows) makes some of 66 one-packet UDP flows end (fewer records than
# one stdio block) while the sensor runs; their records
# must be in the file before it stops; so must the record of a flow that went idle longer than
# flow.timeout_s, with nothing else on the wire. A veth pair in a namespace made here (root only); the
# frames go to a static neighbour entry, nothing answers, nothing leaves the namespace.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"

P="dlf$$"
SENSOR=""
cleanup() {
    [ -n "$SENSOR" ] && kill "$SENSOR" 2>/dev/null
    ip netns del "$P" 2>/dev/null
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$P" || skip_all "cannot create a network namespace"
ip -n "$P" link add v0 type veth peer name v1
ip -n "$P" addr add 10.98.0.1/24 dev v0
ip -n "$P" link set v0 up
ip -n "$P" link set v1 up
ip -n "$P" neigh replace 10.98.0.2 lladdr 02:00:00:00:00:02 dev v0

printf 'flow:\n  max_flows: 64\n  timeout_s: 1\n' >"$TMP/rules.yaml"
mkdir -p "$TMP/st"
ip netns exec "$P" "$DBG_BIN" sensor -i v1 --rules "$TMP/rules.yaml" --eve "$TMP/eve.json" \
    --flows "$TMP/flows.json" --status-dir "$TMP/st" --duration 60 2>"$TMP/err" &
SENSOR=$!
wait_for '"running": *true' 10 "$TMP/st/sensor.json"
expect_eq "sensor capturing on v1" 0 $?
ip netns exec "$P" bash -c 'for p in $(seq 3000 3065); do echo x >/dev/udp/10.98.0.2/$p; done'
for _ in $(seq 1 30); do [ -s "$TMP/flows.json" ] && break; sleep 0.1; done
n=$(wc -l <"$TMP/flows.json")
expect_match "flow records in the file while the sensor runs" "^[1-9][0-9]*$" "$n"
expect_eq "each a whole EVE flow line" "$n" \
    "$(jq -c 'select(.event_type=="flow" and .dest_ip=="10.98.0.2")' "$TMP/flows.json" | wc -l)"
# A flow idle past flow.timeout_s (1 s) ends while the sensor runs, with nothing else on the
# wire to reuse its slot: its record leaves as a timeout (before, only at exit).
ip netns exec "$P" bash -c 'echo x >/dev/udp/10.98.0.2/4444'
wait_for '"dest_port":4444.*"reason":"timeout"' 6 "$TMP/flows.json"
expect_eq "an idle flow's record while running, reason timeout" 0 $?
# logrotate renames the file: the next records go to a new file at the path, as alerts do
mv "$TMP/flows.json" "$TMP/flows.json.1"
ip netns exec "$P" bash -c 'echo x >/dev/udp/10.98.0.2/5555'
wait_for '"dest_port":5555' 6 "$TMP/flows.json"
expect_eq "after rotation the next record is in a new file at the path" 0 $?
expect_nomatch "... not in the renamed one" '"dest_port":5555' "$(cat "$TMP/flows.json.1")"
kill -TERM "$SENSOR"
wait "$SENSOR"
expect_eq "stops cleanly (1: the 66 ports are a port scan)" 1 $?
SENSOR=""
expect_eq "and at exit the rest (66 or more, over both files)" 1 \
    "$([ "$(cat "$TMP/flows.json" "$TMP/flows.json.1" | wc -l)" -ge 66 ] && echo 1)"
finish
