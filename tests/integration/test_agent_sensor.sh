#!/bin/bash
# One hypervisor host's agent end to end: `dengbao agent` runs the gateway, the guard and the
# network sensor live on a bridge, and forwards its EVE alerts to `dengbao serve`, the central
# server, over a Unix socket. A namespace test bed made here (bridge br0 in a "switch"
# namespace, two tenant-a VMs as namespaces on veth legs) carries a real nmap SYN scan from va1
# to va2; the alert must appear in the agent's EVE file, in the central store, and in tenant-a's
# view (not tenant-b's). The sensor's status file must say it is capturing, then stopped after
# SIGTERM; the agent says "running:" only once its sensor captures (a missing interface stops it
# before). The sensor is a process of its own, started before the audit key is read, and with
# --sensor-user it decodes as that user (only CAP_NET_RAW kept), holding neither the audit log
# nor its key; the agent writes its status. A sensor process that dies stops the agent (exit 3,
# saying so): a control that is down must not look deployed. Traffic stays inside the
# namespaces; everything created is removed on exit.
set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root for network namespaces"
ip netns list >/dev/null 2>&1 || skip_all "no ip netns support"
ensure_pkgs nmap:nmap curl:curl jq:jq

P="das$$"
SW="$P-sw"
PIDS=""
cleanup() {
    local pid
    for pid in $PIDS; do kill "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $PIDS; do kill -9 "$pid" 2>/dev/null; done
    ip netns del "$P-va1" 2>/dev/null
    ip netns del "$P-va2" 2>/dev/null
    ip netns del "$SW" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1

ip netns add "$SW" || skip_all "cannot create a network namespace"
ip netns exec "$SW" ip link set lo up
ip netns exec "$SW" ip link add br0 type bridge
ip netns exec "$SW" ip link set br0 type bridge stp_state 0 forward_delay 0
ip netns exec "$SW" ip link set br0 up
declare -A MAC=([va1]=52:54:00:0a:01:11 [va2]=52:54:00:0a:01:12)
declare -A IP=([va1]=10.77.0.11 [va2]=10.77.0.12)
i=0
for n in va1 va2; do
    i=$((i + 1))
    ip netns add "$P-$n"
    ip netns exec "$P-$n" ip link set lo up
    ip netns exec "$SW" ip link add "tap$i" type veth peer name eth0 netns "$P-$n"
    ip netns exec "$SW" ip link set "tap$i" master br0 up
    ip netns exec "$P-$n" ip link set eth0 address "${MAC[$n]}" up
    ip netns exec "$P-$n" ip addr add "${IP[$n]}/24" dev eth0
done

# the inventory: a snapshot as `dengbao collect` writes it (schema_version 1), two tenant-a VMs
printf '{"schema_version":1,"uri":"test:///bed","hostname":"bed","domains":[%s,%s],"networks":[],"pools":[],"volumes":[],"nwfilters":[],"bindings":[],"host_files":[],"controls":[],"host_addresses":["10.77.0.1"],"mgmt_ports":[22,16509,16514]}\n' \
    "$(printf '{"name":"va1","uuid":"00000000-0000-4000-8000-000000000011","state":"running","tenant_id":"tenant-a","ifaces":[{"mac":"%s","type":"bridge","source":"br0","target_dev":"tap1","ips":["%s"],"vlan":-1}]}' "${MAC[va1]}" "${IP[va1]}")" \
    "$(printf '{"name":"va2","uuid":"00000000-0000-4000-8000-000000000012","state":"running","tenant_id":"tenant-a","ifaces":[{"mac":"%s","type":"bridge","source":"br0","target_dev":"tap2","ips":["%s"],"vlan":-1}]}' "${MAC[va2]}" "${IP[va2]}")" \
    > inventory.json

root_agent_setup

# Usage errors of the new options.
"$DBG_BIN" agent -c test:///default --audit-log a --key k --policy p --eve e --socket s \
    --sensor-rules r.yaml >/dev/null 2>&1
expect_eq "--sensor-rules without --sensor-iface" 2 $?
"$DBG_BIN" agent -c test:///default --audit-log a --key k --policy p --eve e --socket s \
    --central https://127.0.0.1:1 >/dev/null 2>&1
expect_eq "--central https without a client certificate" 2 $?
"$DBG_BIN" agent -c test:///default --audit-log a --key k --policy p --eve e --socket s \
    --sensor-user nobody >/dev/null 2>&1
expect_eq "--sensor-user without --sensor-iface" 2 $?
out=$("$DBG_BIN" agent -c test:///default --audit-log a --key k --policy p --eve e --socket s \
    --sensor-iface br0 --sensor-user no-such-user-here 2>&1)
expect_eq "--sensor-user: an unknown user" 2 $?
expect_match "naming it" "no-such-user-here" "$out"
# A sensor configuration the sensor would refuse stops the agent before anything starts: it
# used to start its gateway and guard, say "running", and stop once its sensor had failed.
bad_agent() {
    rm -rf "$TMP/bad"
    timeout 20 "$DBG_BIN" agent -c test:///default --audit-log "$TMP/bad/audit" --key "$TMP/k.key" \
        --policy policy.yaml --eve "$TMP/bad/eve.json" --socket "$TMP/bad/gw.sock" \
        --state-dir "$TMP/bad/st" --status-dir "$TMP/bad/status" "$@" 2>&1
}
printf 'brute_force:\n  ports: [22, 70000]\n' > bad-rules.yaml
out=$(bad_agent --sensor-iface br0 --sensor-rules bad-rules.yaml)
expect_eq "a bad --sensor-rules: exit 3" 3 $?
expect_match "it names the file, line, column and key" "bad-rules.yaml:2:15: brute_force.ports: '70000'" "$out"
expect_nomatch "nothing started before" "running:" "$out"
expect_eq "no audit log made" "no" "$([ -e "$TMP/bad/audit" ] && echo yes || echo no)"
echo '{"schema_version": 99}' > bad-inventory.json
out=$(bad_agent --sensor-iface br0 --sensor-inventory bad-inventory.json)
expect_eq "a bad --sensor-inventory: exit 3" 3 $?
expect_match "it names the file" "bad-inventory.json: .*99 is not supported" "$out"
expect_nomatch "nothing started before (inventory)" "running:" "$out"
# An interface that is not there (none of them opens, so the sensor cannot capture): the agent
# used to start its gateway and guard and print "running:", then stop once its sensor ended.
out=$(bad_agent --sensor-iface dbgnosuch0)
expect_eq "a --sensor-iface that does not exist: exit 3" 3 $?
expect_match "it names the interface" "dbgnosuch0: cannot start capture" "$out"
expect_nomatch "nothing said running (interface)" "running:" "$out"
expect_eq "no audit log made (interface)" "no" "$([ -e "$TMP/bad/audit" ] && echo yes || echo no)"
expect_eq "no gateway socket made (interface)" "no" "$([ -e "$TMP/bad/gw.sock" ] && echo yes || echo no)"
out=$(bad_agent --sensor-iface br0 --sensor-iface br0)
expect_eq "--sensor-iface br0 twice: usage error" 2 $?
expect_match "it says so" "interface br0 given twice" "$out"
out=$("$DBG_BIN" sensor -i br0 -i br0 --eve "$TMP/dup.json" 2>&1)
expect_eq "sensor -i br0 -i br0: usage error" 2 $?
expect_match "it says so (sensor)" "interface br0 given twice" "$out"
# A bridge and one of its ports: the bridge's capture sees the port's frames too, so each was
# counted twice (a 40-port scan across tenants was a cross_tenant incident of 80).
out=$(ip netns exec "$SW" timeout 10 "$DBG_BIN" sensor -i br0 -i tap1 --eve "$TMP/dup.json" \
    --status-dir "$TMP" 2>&1)
expect_eq "sensor -i br0 -i tap1 (a port of br0): usage error" 2 $?
expect_match "it names the port and its bridge" "interface tap1 is a port of bridge br0" "$out"
rm -rf "$TMP/bad"
out=$(ip netns exec "$SW" timeout 20 "$DBG_BIN" agent -c test:///default \
    --audit-log "$TMP/bad/audit" --key "$TMP/k.key" --policy policy.yaml \
    --eve "$TMP/bad/eve.json" --socket "$TMP/bad/gw.sock" --state-dir "$TMP/bad/st" \
    --status-dir "$TMP/bad/status" --sensor-iface tap2 --sensor-iface br0 \
    --sensor-start-timeout 5 2>&1)
expect_eq "agent --sensor-iface tap2 --sensor-iface br0: usage error" 2 $?
expect_match "it names the port and its bridge (agent)" "interface tap2 is a port of bridge br0" \
    "$out"
expect_nomatch "nothing said running (bridge and port)" "running:" "$out"

NOBODY=$(id -u nobody 2>/dev/null) || NOBODY=""
SU=()
if [ -n "$NOBODY" ]; then
    SU=(--sensor-user nobody)
    chmod 711 "$TMP"  # nobody reads the inventory on refresh, nothing else here
    chmod 644 inventory.json
fi

"$DBG_BIN" serve --socket "$TMP/serve.sock" --store "sqlite:$TMP/central.db" \
    --status-dir "$TMP/central-status" 2>serve.log &
PIDS="$PIDS $!"
for _ in $(seq 1 100); do [ -S serve.sock ] && break; sleep 0.1; done
[ -S serve.sock ] || { cat serve.log; fail "central server socket"; finish; exit 1; }

# `ip netns exec` execs the agent, so $! is the agent itself.
ip netns exec "$SW" "$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" \
    --key "$TMP/k.key" --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" \
    --state-dir "$TMP/st" --status-dir "$TMP/status" --sensor-iface br0 \
    --sensor-inventory inventory.json --central "unix:$TMP/serve.sock" "${SU[@]}" 2>agent.log &
AGENT=$!
PIDS="$PIDS $AGENT"
for _ in $(seq 1 100); do [ -s status/sensor.json ] && break; sleep 0.1; done
expect_eq "sensor status file: capturing" "true" "$(jq -r .running status/sensor.json 2>/dev/null)"
# the sensor's first status comes before the rest starts, "running:" once all of it is up
wait_for "running:" 20 agent.log
expect_match "agent says the sensor runs" "sensor on br0" "$(cat agent.log)"
# the sensor: the agent's one child process, and what it holds
SENSOR=$(cat "/proc/$AGENT/task/$AGENT/children" 2>/dev/null | tr -d ' ')
expect_match "the sensor is a process of its own" '^[0-9]+$' "$SENSOR"
expect_match "the agent names it" "sensor on br0 \\(pid $SENSOR" "$(cat agent.log)"
held=$(ls -l "/proc/$SENSOR/fd" 2>/dev/null | grep -E "$TMP/(audit|k\.key)")
expect_eq "the sensor holds neither the audit log nor its key" "" "$held"
expect_eq "the sensor's status file is the agent's (written by it)" "$AGENT" \
    "$(jq -r .pid status/sensor.json 2>/dev/null)"
if [ -n "$NOBODY" ]; then
    expect_eq "sensor decodes as nobody" "$NOBODY" \
        "$(awk '/^Uid:/ {print $2}' "/proc/$SENSOR/status")"
    expect_eq "keeping only CAP_NET_RAW" "0000000000002000" \
        "$(awk '/^CapEff:/ {print $2}' "/proc/$SENSOR/status")"
    expect_eq "the agent stays root (gateway, audit)" "0" \
        "$(awk '/^Uid:/ {print $2}' "/proc/$AGENT/status")"
    expect_match "and says as whom the sensor runs" "pid $SENSOR, as nobody" "$(cat agent.log)"
fi

ip netns exec "$P-va1" nmap -n -sS -Pn -p 1-300 --max-retries 0 -T5 "${IP[va2]}" >/dev/null 2>&1
expect_eq "nmap ran" 0 $?

for _ in $(seq 1 100); do grep -q '"port_scan"' eve.json 2>/dev/null && break; sleep 0.1; done
line=$(grep '"port_scan"' eve.json | head -1)
expect_eq "agent EVE: port scan from va1" "10.77.0.11" "$(echo "$line" | jq -r .src_ip)"
expect_eq "agent EVE: attributed to tenant-a" "tenant-a" \
    "$(echo "$line" | jq -r .dengbao.src.tenant)"
expect_eq "agent EVE: in_iface names the bridge that saw it, as Suricata's" "br0" \
    "$(echo "$line" | jq -r .in_iface)"
got=""
for _ in $(seq 1 100); do
    got=$(curl -sS --unix-socket serve.sock "http://local/api/v1/events?type=port_scan" 2>/dev/null)
    echo "$got" | grep -q 10.77.0.11 && break
    sleep 0.1
done
expect_match "central store got the forwarded alert" "10.77.0.11" "$got"
n=$(curl -sS --unix-socket serve.sock "http://local/api/v1/events?tenant=tenant-a&type=port_scan" | jq '.events | length')
expect_eq "tenant-a's view holds the scan" 1 "$([ "${n:-0}" -ge 1 ] && echo 1)"
n=$(curl -sS --unix-socket serve.sock "http://local/api/v1/events?tenant=tenant-b&type=port_scan" | jq '.events | length')
expect_eq "tenant-b's view does not" 0 "${n:-x}"

# SIGUSR1 asks for the sensor's stats, as of `dengbao sensor`: sent to the sensor process or to
# the agent (which passes it on), neither may end (its default action would).
kill -USR1 "$SENSOR"
for _ in $(seq 1 30); do grep -q 'sensor stats:' agent.log && break; sleep 0.1; done
expect_match "SIGUSR1 to the sensor: its stats in the agent's log" "sensor stats: packets=[1-9]" \
    "$(cat agent.log)"
kill -USR1 "$AGENT"
for _ in $(seq 1 30); do [ "$(grep -c 'sensor stats:' agent.log)" -ge 2 ] && break; sleep 0.1; done
expect_eq "SIGUSR1 to the agent is passed on to the sensor" 2 "$(grep -c 'sensor stats:' agent.log)"
expect_match "both still run" "^yes yes$" \
    "$([ -d "/proc/$SENSOR" ] && echo yes) $([ -d "/proc/$AGENT" ] && echo yes)"

kill -TERM "$AGENT"
wait "$AGENT"
expect_eq "agent stops cleanly on SIGTERM" 0 $?
expect_eq "sensor status after stop" "false" "$(jq -r .running status/sensor.json 2>/dev/null)"
expect_match "forwarder kept its offset" '^[0-9]+' "$(cat st/central.offset 2>/dev/null)"
expect_eq "agent log has no sensor error" "" "$(grep -i 'sensor:.*cannot\|sensor stopped' agent.log)"
expect_eq "the sensor process ended with the agent" "" "$(ls -d "/proc/$SENSOR" 2>/dev/null)"

# A sensor process that dies takes the agent down with a reason.
ip netns exec "$SW" "$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" \
    --key "$TMP/k.key" --policy policy.yaml --eve "$TMP/eve2.json" --socket "$TMP/gw2.sock" \
    --state-dir "$TMP/st2" --status-dir "$TMP/status2" --sensor-iface br0 \
    --sensor-inventory inventory.json 2>agent2.log &
AGENT2=$!
PIDS="$PIDS $AGENT2"
for _ in $(seq 1 100); do [ -s status2/sensor.json ] && grep -q 'running:' agent2.log && break; sleep 0.1; done
SENSOR2=$(cat "/proc/$AGENT2/task/$AGENT2/children" 2>/dev/null | tr -d ' ')
expect_match "second agent's sensor" '^[0-9]+$' "$SENSOR2"
kill -KILL "$SENSOR2"
wait "$AGENT2"
expect_eq "agent exits 3 when its sensor dies" 3 $?
expect_match "saying why" "sensor stopped: its process \\(pid $SENSOR2\\) was killed by signal 9" \
    "$(cat agent2.log)"

# An agent killed outright takes its sensor along (parent-death signal), also one that gave up
# root: the kernel clears that signal when a process changes its user.
ip netns exec "$SW" "$DBG_BIN" agent -c test:///default --audit-log "$TMP/audit" \
    --key "$TMP/k.key" --policy policy.yaml --eve "$TMP/eve3.json" --socket "$TMP/gw3.sock" \
    --state-dir "$TMP/st3" --status-dir "$TMP/status3" --sensor-iface br0 \
    --sensor-inventory inventory.json "${SU[@]}" 2>agent3.log &
AGENT3=$!
PIDS="$PIDS $AGENT3"
for _ in $(seq 1 100); do [ -s status3/sensor.json ] && grep -q 'running:' agent3.log && break; sleep 0.1; done
SENSOR3=$(cat "/proc/$AGENT3/task/$AGENT3/children" 2>/dev/null | tr -d ' ')
expect_match "third agent's sensor" '^[0-9]+$' "$SENSOR3"
kill -KILL "$AGENT3"
wait "$AGENT3" 2>/dev/null
for _ in $(seq 1 100); do [ -d "/proc/$SENSOR3" ] || break; sleep 0.1; done
expect_eq "the sensor ends with an agent killed outright${SU:+ (as nobody)}" "" \
    "$(ls -d "/proc/$SENSOR3" 2>/dev/null)"
[ -d "/proc/$SENSOR3" ] && kill -KILL "$SENSOR3" 2>/dev/null
finish
