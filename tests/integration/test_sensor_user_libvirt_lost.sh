#!/bin/bash
# sensor -c URI --user nobody: the libvirt connection the sensor opened as root (before giving up
# root) is lost, and libvirt refuses nobody a new one, as a system libvirtd without polkit's
# consent does. The inventory then stays as last collected; that must be said at once, naming
# the URI, the uid and libvirt's reason, in a warning and in the status file (reload_error), not
# found out at the next period or never. Once libvirt takes the user again, the inventory is
# collected and the error cleared.
# A session libvirtd run as nobody serves a test-driver cloud; the sensor reaches it through a
# proxy run as root (libvirt_deny_proxy.py, denying nothing) whose socket is in a directory only
# root may enter: root's connection works, nobody's is refused ("Permission denied"). Stopping
# the proxy loses the connection; starting it again leaves nobody refused; opening the
# directory lets nobody in.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to give it up, and to run the daemon as nobody)"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs jq:jq setpriv:util-linux python3:python3 libvirtd:libvirt-daemon-system
command -v libvirtd >/dev/null || skip_all "needs libvirtd"
NOBODY_UID=$(id -u nobody 2>/dev/null) || skip_all "no user nobody"
NOBODY="setpriv --reuid=$NOBODY_UID --regid=$(id -g nobody) --clear-groups"

P="dul$$"
DAEMON="" PROXY="" SENSOR=""
cleanup() {
    local pid
    for pid in $SENSOR $PROXY $DAEMON; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
    ip netns del "$P" 2>/dev/null
    [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT
chmod 711 "$TMP"
D="$TMP/d"
mkdir -p "$D/home" "$D/run" "$TMP/rootonly" "$TMP/st"
chown "$NOBODY_UID" "$D/home" "$D/run" "$TMP/st"
chmod 700 "$D/run" "$TMP/rootonly"
cp "$DBG_SRCDIR/data/demo/cloud.xml" "$D/home/cloud.xml"
chmod 644 "$D/home/cloud.xml"
ENV="env -i PATH=/usr/sbin:/usr/bin:/bin HOME=$D/home XDG_RUNTIME_DIR=$D/run"
$NOBODY $ENV libvirtd --timeout 300 >"$D/libvirtd.log" 2>&1 &
DAEMON=$!
for _ in $(seq 1 100); do [ -S "$D/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
[ -S "$D/run/libvirt/libvirt-sock" ] || skip_all "session libvirtd did not start: $(tail -n 3 "$D/libvirtd.log")"
SOCK="$TMP/rootonly/proxy.sock"
proxy() {
    python3 "$DBG_SRCDIR/tests/integration/libvirt_deny_proxy.py" "$SOCK" \
        "$D/run/libvirt/libvirt-sock" 2>>"$TMP/proxy.log" &
    PROXY=$!
    for _ in $(seq 1 50); do [ -S "$SOCK" ] && break; sleep 0.1; done
}
proxy
URI="test+unix:///$D/home/cloud.xml?socket=$SOCK"
out=$($NOBODY virsh -r -c "$URI" list --all 2>&1)
expect_match "nobody is refused by the proxy's socket" "Permission denied" "$out"

ip netns add "$P" || skip_all "cannot create a network namespace"
ip -n "$P" link set lo up
ip netns exec "$P" "$DBG_BIN" sensor -c "$URI" -i lo --user nobody --inventory-refresh 3600 \
    --eve "$TMP/eve.json" --status-dir "$TMP/st" 2>"$TMP/err" &
SENSOR=$!
wait_for '"running": *true' 15 "$TMP/st/sensor.json"
expect_eq "sensor running as nobody" "$NOBODY_UID" "$(awk '/^Uid:/ {print $2}' "/proc/$SENSOR/status")"
sleep 1
expect_eq "its connection, opened as root, serves it as nobody" "" \
    "$(jq -r '.inventory.reload_error // ""' "$TMP/st/sensor.json")"

kill "$PROXY" && wait "$PROXY" 2>/dev/null
proxy # back, and still refusing nobody
wait_for '"reload_error": *"' 15 "$TMP/st/sensor.json"
err=$(jq -r '.inventory.reload_error // ""' "$TMP/st/sensor.json")
expect_match "status: the lost connection, naming the URI, the uid and libvirt's reason" \
    "cannot connect to test\\+unix:///$D/home/cloud.xml\\?socket=$SOCK: .*Permission denied \\(as uid $NOBODY_UID" "$err"
expect_match "and what would let it in" "polkit allows it org.libvirt.unix.monitor" "$err"
expect_match "warned at once, not at the next period" \
    "inventory not reloaded, the previous one stays in use: .*Permission denied \\(as uid $NOBODY_UID" \
    "$(cat "$TMP/err")"
expect_eq "warned once while it stays so" 1 "$(grep -c 'inventory not reloaded' "$TMP/err")"
expect_eq "the status stays ok: detection goes on with the older attribution" true \
    "$(jq -r .ok "$TMP/st/sensor.json")"
loaded=$(jq -r .inventory.loaded "$TMP/st/sensor.json")
# but it says it is degraded, and since when: VMs defined since are not attributed
since=$(jq -r '.inventory.reload_failing_since // ""' "$TMP/st/sensor.json")
expect_match "since when the inventory is stale" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$since"
expect_match "the status says it is degraded, since when and what is missed" \
    "attribution rests on the inventory of $loaded .*not reloaded since $since: VMs started, defined or moved since are not attributed \\(no ip_spoof, mac_spoof or cross_tenant" \
    "$(jq -r '.degraded // ""' "$TMP/st/sensor.json")"
# An assessment reading that status: the sensor's items are 部分符合, not 符合, and the
# evidence gives the reason. (Was: 符合, "deployed and healthy".)
"$DBG_BIN" assess -c test:///default --controls-dir "$TMP/st" --level 3 --format json \
    -o "$TMP/assess.json" >/dev/null 2>"$TMP/assess.err"
expect_eq "ctl.sensor: partial" partial \
    "$(jq -r '[.items[].checks[] | select(.id == "ctl.sensor") | .result] | unique | join(",")' "$TMP/assess.json")"
expect_eq "8.2.3.2c (VM-to-VM anomalous traffic): 部分符合" 部分符合 \
    "$(jq -r '.items[] | select(.clause == "8.2.3.2c") | .verdict' "$TMP/assess.json")"
expect_match "the evidence gives the reason and since when" \
    "degraded: attribution rests on the inventory of $loaded .*not reloaded since $since" \
    "$(jq -r '.items[] | select(.clause == "8.2.3.2c") | .evidence[] | select(.ok == false) | .observed' "$TMP/assess.json")"
# and offline: the snapshot carries it to assess --snapshot
"$DBG_BIN" collect -c test:///default --controls-dir "$TMP/st" -o "$TMP/snap.json" 2>>"$TMP/assess.err"
expect_match "the snapshot keeps the reason" "not reloaded since $since" \
    "$(jq -r '.controls[] | select(.name == "sensor") | .degraded // ""' "$TMP/snap.json")"
expect_eq "assess --snapshot: 8.2.3.2c 部分符合" 部分符合 \
    "$("$DBG_BIN" assess --snapshot "$TMP/snap.json" --level 3 --format json 2>>"$TMP/assess.err" |
        jq -r '.items[] | select(.clause == "8.2.3.2c") | .verdict')"

chmod 711 "$TMP/rootonly" # nobody may connect now
for _ in $(seq 1 150); do
    [ "$(jq -r '.inventory.reload_error // ""' "$TMP/st/sensor.json")" = "" ] && break
    sleep 0.1
done
expect_eq "reconnected as nobody: the error cleared" "" \
    "$(jq -r '.inventory.reload_error // ""' "$TMP/st/sensor.json")"
expect_eq "and no longer degraded" "" "$(jq -r '.degraded // ""' "$TMP/st/sensor.json")"
expect_eq "and the inventory collected again" yes \
    "$([ "$(jq -r .inventory.loaded "$TMP/st/sensor.json")" != "$loaded" ] && echo yes || echo no)"
expect_match "said so" "inventory reloaded from test\\+unix" "$(cat "$TMP/err")"

kill -TERM "$SENSOR"
wait "$SENSOR"
expect_eq "a clean stop" 0 $?
SENSOR=""
finish
