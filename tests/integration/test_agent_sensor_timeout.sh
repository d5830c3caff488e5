#!/bin/bash
# dengbao agent waits for its sensor's first status before it starts the rest; that wait is
# bounded by --sensor-start-timeout. Here the sensor's inventory comes from a libvirt URI whose
# socket (a listener made here) accepts and never answers, as a hung libvirtd does: the agent
# must give up after the (shortened) timeout with exit 3, naming the step the sensor is in (it
# reports each over the status pipe before its first status),
# having started nothing else and left no sensor process behind. It used to wait forever,
# silently. A sensor that does capture in time still starts the agent.
set -u
. "$(dirname "$0")/lib.sh"
ensure_pkgs python3:python3
cd "$TMP" || exit 1

HANG=""
cleanup() {
    [ -n "$HANG" ] && kill "$HANG" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])  # kept open, never answered
' "$TMP/hang.sock" &
HANG=$!
for _ in $(seq 1 50); do [ -S hang.sock ] && break; sleep 0.1; done
[ -S hang.sock ] || { fail "the hanging listener"; finish; exit 1; }
HUNG_URI="test+unix:///default?socket=$TMP/hang.sock"

root_agent_setup
agent() {
    local d="$1"
    shift
    timeout 30 "$DBG_BIN" agent --audit-log "$TMP/$d/audit" --key "$TMP/k.key" \
        --policy policy.yaml --eve "$TMP/$d/eve.json" --socket "$TMP/$d/gw.sock" \
        --state-dir "$TMP/$d/st" --status-dir "$TMP/$d/status" "$@"
}

# Usage errors name the option and the value.
out=$(agent u -c test:///default --sensor-iface lo --sensor-start-timeout 0 2>&1)
expect_eq "--sensor-start-timeout 0: usage error" 2 $?
expect_match "it names the option and value" "--sensor-start-timeout: '0' is not 1..86400" "$out"
out=$(agent u -c test:///default --sensor-iface lo --sensor-start-timeout 5s 2>&1)
expect_eq "--sensor-start-timeout 5s: usage error" 2 $?
expect_match "it names the value" "'5s' is not" "$out"
out=$(agent u -c test:///default --sensor-start-timeout 5 2>&1)
expect_eq "--sensor-start-timeout without --sensor-iface: usage error" 2 $?
expect_match "it says so" "--sensor-start-timeout needs --sensor-iface" "$out"

# The hung libvirt: the sensor never reports.
start=$(date +%s)
agent hung -c "$HUNG_URI" --sensor-iface lo --sensor-iface dbgt0 --sensor-start-timeout 2 \
    2>hung.log
rc=$?
took=$(($(date +%s) - start))
out=$(cat hung.log)
expect_eq "a sensor that never reports: exit 3" 3 "$rc"
expect_eq "given up soon after the timeout (2 s), not waiting on (took ${took} s)" yes \
    "$([ "$took" -le 8 ] && echo yes || echo no)"
expect_match "it says it waited for the sensor and how long" \
    "the sensor \\(pid [0-9]+\\) did not capture within 2 s \\(--sensor-start-timeout\\)" "$out"
# the step it reported over the status pipe before hanging, not a list of what it could be doing
expect_match "and the step the sensor is in: collecting its inventory from libvirt at the URI" \
    "\\(--sensor-start-timeout\\): it was still collecting its inventory from libvirt \\(test\\+unix:///default\\?socket=$TMP/hang.sock\\); killed it" \
    "$out"
expect_nomatch "not a list of guesses" "opening its capture on" "$out"
expect_nomatch "nothing said running" "running:" "$out"
expect_nomatch "no second error line" "dengbao agent: sensor stopped" "$out"
expect_eq "no audit log made" no "$([ -e hung/audit ] && echo yes || echo no)"
expect_eq "no gateway socket made" no "$([ -e hung/gw.sock ] && echo yes || echo no)"
SENSOR=$(sed -n 's/.*the sensor (pid \([0-9]*\)).*/\1/p' hung.log)
expect_match "the sensor's pid named" '^[0-9]+$' "$SENSOR"
expect_eq "the hung sensor process is gone" "" \
    "$([ -n "$SENSOR" ] && ls -d "/proc/$SENSOR" 2>/dev/null)"

# A sensor that captures within the timeout starts the agent as before (capturing needs root).
if [ "$(id -u)" = 0 ]; then
    printf '{"schema_version":1,"uri":"test:///x","hostname":"x","domains":[],"networks":[],"pools":[],"volumes":[],"nwfilters":[],"bindings":[],"host_files":[],"controls":[],"host_addresses":[],"mgmt_ports":[22]}\n' \
        > inventory.json
    # the sensor opens --eve as soon as it starts, while the agent may still be creating the
    # other paths' directories: the EVE file's directory must exist first, as under systemd
    # (LogsDirectory=)
    mkdir -p "$TMP/ok"
    "$DBG_BIN" agent -c test:///default --audit-log "$TMP/ok/audit" --key "$TMP/k.key" \
        --policy policy.yaml --eve "$TMP/ok/eve.json" --socket "$TMP/ok/gw.sock" \
        --state-dir "$TMP/ok/st" --status-dir "$TMP/ok/status" --sensor-iface lo \
        --sensor-inventory inventory.json --sensor-start-timeout 5 2>ok.log &
    AGENT=$!
    wait_for "running:" 20 ok.log
    expect_match "a sensor ready in time: the agent runs" "running: .*sensor on lo" "$(cat ok.log)"
    kill -TERM "$AGENT"
    wait "$AGENT"
    expect_eq "and stops cleanly" 0 $?
else
    echo "# skipped the capturing case: needs root"
fi
finish
