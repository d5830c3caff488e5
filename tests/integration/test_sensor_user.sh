#!/bin/bash
# dengbao sensor --user: tenants' packets are decoded without root. Once the capture, the
# outputs and the status file are open the sensor is USER (uid, gid, groups), keeps only
# CAP_NET_RAW (live) and cannot become root again (no_new_privs); detection, the status file and
# the reopening of a lost interface still work. A status directory USER cannot write is an
# error at start, not a control that silently looks absent; an unknown user is a usage error.
# Namespaces and a veth pair made here (root only); the scan goes from the peer to an address in
# its own subnet (a static neighbour entry, nothing answers).
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to give it up, and for network namespaces)"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq
NOBODY=$(id -u nobody 2>/dev/null) || skip_all "no user nobody"

P="dsu$$"
SENSOR=""
cleanup() {
    [ -n "$SENSOR" ] && kill "$SENSOR" 2>/dev/null
    ip netns del "$P-h" 2>/dev/null
    ip netns del "$P-a" 2>/dev/null
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
ip netns add "$P-h" || skip_all "cannot create a network namespace"
ip netns add "$P-a"
link() {
    ip -n "$P-h" link add a0 type veth peer name a1 netns "$P-a"
    ip -n "$P-h" link set a0 up
    ip -n "$P-a" link set a1 up
    ip -n "$P-a" addr add 10.97.1.1/24 dev a1
    ip -n "$P-a" neigh replace 10.97.1.2 lladdr 02:00:00:00:00:02 dev a1
}
scan() { # 30 ports of 10.97.1.2: a vertical scan
    local p pids=""
    for p in $(seq 2000 2029); do
        ip netns exec "$P-a" timeout 0.5 bash -c ": </dev/tcp/10.97.1.2/$p" 2>/dev/null &
        pids="$pids $!"
    done
    wait $pids
}
link
chmod 711 "$TMP" # nobody reaches the status directory below it, nothing else
mkdir -p "$TMP/st" "$TMP/rootonly"
chown "$NOBODY" "$TMP/st"

"$DBG_BIN" sensor -i a0 --user no-such-user-here --eve "$TMP/x.json" 2>"$TMP/err0"
expect_eq "an unknown user: usage error" 2 $?
expect_match "naming it" "no-such-user-here" "$(cat "$TMP/err0")"

ip netns exec "$P-h" "$DBG_BIN" sensor -i a0 --user nobody --eve "$TMP/x.json" \
    --status-dir "$TMP/rootonly" 2>"$TMP/err1"
expect_eq "a status directory nobody cannot write: runtime error at start" 3 $?
expect_match "saying which directory and what to do" \
    "as user nobody the status file $TMP/rootonly/sensor.json cannot be written .*--status-dir" \
    "$(cat "$TMP/err1")"

ip netns exec "$P-h" "$DBG_BIN" sensor -i a0 --user nobody --eve "$TMP/eve.json" \
    --status-dir "$TMP/st" 2>"$TMP/err" &
SENSOR=$!
wait_for '"running": *true' 10 "$TMP/st/sensor.json"
expect_eq "capturing, status written as nobody" 0 $?
st=$(cat "/proc/$SENSOR/status")
expect_eq "uids all nobody" "$NOBODY $NOBODY $NOBODY $NOBODY" \
    "$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$st")"
expect_eq "gids all nobody's group" "$(id -g nobody) $(id -g nobody) $(id -g nobody) $(id -g nobody)" \
    "$(awk '/^Gid:/ {print $2, $3, $4, $5}' <<<"$st")"
expect_eq "only CAP_NET_RAW effective" 0000000000002000 "$(awk '/^CapEff:/ {print $2}' <<<"$st")"
expect_eq "only CAP_NET_RAW permitted" 0000000000002000 "$(awk '/^CapPrm:/ {print $2}' <<<"$st")"
expect_eq "no capability inheritable" 0000000000000000 "$(awk '/^CapInh:/ {print $2}' <<<"$st")"
expect_eq "no_new_privs" 1 "$(awk '/^NoNewPrivs:/ {print $2}' <<<"$st")"
expect_eq "the status file is nobody's" "$NOBODY" "$(stat -c %u "$TMP/st/sensor.json")"

scan
wait_for '"alert":{.*"signature":"port_scan"' 10 "$TMP/eve.json"
expect_eq "detection works as nobody" 0 $?

ip -n "$P-h" link del a0
wait_for "a0: capture lost" 5 "$TMP/err"
expect_eq "the interface is lost" 0 $?
link
wait_for "a0: capturing" 12 "$TMP/err"
expect_eq "and reopened without root (CAP_NET_RAW)" 0 $?
wait_for '"ok": *true' 5 "$TMP/st/sensor.json"
expect_eq "status ok again" 0 $?

kill -TERM "$SENSOR"
wait "$SENSOR"
rc=$?
SENSOR=""
expect_eq "a clean stop (1: alerts were raised)" 1 $rc
expect_eq "final status written as nobody" false "$(jq -r .running "$TMP/st/sensor.json")"

# offline: the capture is opened as root and read as nobody (a FIFO, so the process can be
# looked at while it waits for the packets after the file header)
mkfifo "$TMP/cap.fifo"
"$DBG_BIN" sensor -r "$TMP/cap.fifo" --user nobody --eve "$TMP/off.json" 2>"$TMP/err2" &
OFF=$!
exec 3>"$TMP/cap.fifo"
head -c 24 "$DBG_SRCDIR/tests/cases/sensor/bed_attacks.pcap" >&3
wait_for "^Uid:.$NOBODY" 10 "/proc/$OFF/status"
expect_eq "offline: nobody once the file is open" 0 $?
expect_eq "offline: no capability at all" 0000000000000000 \
    "$(awk '/^CapEff:/ {print $2}' "/proc/$OFF/status")"
tail -c +25 "$DBG_SRCDIR/tests/cases/sensor/bed_attacks.pcap" >&3
exec 3>&-
wait "$OFF"
expect_eq "offline as nobody: the capture is analysed (1: alerts)" 1 $?
expect_match "with its alerts" '"signature":"port_scan"' "$(cat "$TMP/off.json")"
finish
