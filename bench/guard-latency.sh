#!/bin/bash
# Guard event -> alert latency against the real libvirtd (qemu:///system, TCG): a diskless
# domain is created and started through the gateway, then reset N times behind dengbao's back
# with virsh. Each reset is one REBOOT event and one unauthorized_vm_restart alert. Measured:
#   end-to-end: the alert's EVE timestamp minus the time an independent subscriber
#               (bench/guard_probe.c) received the same event;
#   internal:   the guard's own receipt -> alert-written figure (status file).
# Target: p99 < 50 ms. N defaults to 40 (GUARD_BENCH_N).
set -u
cd "$(dirname "$0")/.." || exit 1
: "${DBG_BIN:=build/dengbao}" "${DBG_SRCDIR:=$(pwd)}"
export DBG_BIN DBG_SRCDIR
. tests/integration/lib.sh
[ "$(id -u)" = 0 ] || { echo "guard-latency: needs root for qemu:///system (skipped)"; exit 0; }
start_libvirtd
N=${GUARD_BENCH_N:-40}
V="virsh -q -c qemu:///system"
NAME="dbg-gw-bench-$$"
trap 'kill $PROBE $AGENT 2>/dev/null; $V destroy $NAME >/dev/null 2>&1; $V undefine $NAME >/dev/null 2>&1; stop_started_daemons; rm -rf "$TMP"' EXIT

cc -O2 -std=c11 -D_GNU_SOURCE -o "$TMP/guard_probe" bench/guard_probe.c $(pkg-config --cflags --libs libvirt) || exit 1
"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null
printf 'version: 1\nidentities:\n  - unix: root\n    role: provider-admin\nroles:\n  provider-admin: {operations: all}\n' > "$TMP/policy.yaml"
cat > "$TMP/vm.xml" <<X
<domain type='qemu'><name>$NAME</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>$(command -v qemu-system-x86_64)</emulator></devices></domain>
X
"$DBG_BIN" agent -c qemu:///system --audit-log "$TMP/audit" --key "$TMP/k.key" --policy "$TMP/policy.yaml" \
    --eve "$TMP/eve.json" --socket "$TMP/gw.sock" --state-dir "$TMP/st" --status-dir "$TMP/status" 2>"$TMP/agent.log" &
AGENT=$!
for _ in $(seq 1 300); do [ -S "$TMP/gw.sock" ] && break; sleep 0.1; done
"$TMP/guard_probe" qemu:///system "$NAME" > "$TMP/probe.txt" 2>"$TMP/probe.err" &
PROBE=$!
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@" >/dev/null; }
VM create "$TMP/vm.xml" && VM start "$NAME" || { echo "guard-latency: could not start the domain"; exit 1; }
sleep 1
for i in $(seq 1 "$N"); do $V reset "$NAME" >/dev/null; sleep 0.2; done
sleep 2
VM delete "$NAME"
kill -TERM "$AGENT"; wait "$AGENT"; AGENT=""
kill "$PROBE"; wait "$PROBE" 2>/dev/null; PROBE=""

python3 - "$TMP/probe.txt" "$TMP/eve.json" "$NAME" "$TMP/status/guard.json" "$N" <<'PY'
import json, sys, datetime
probe = [int(l) for l in open(sys.argv[1]) if l.strip()]
alerts = []
for line in open(sys.argv[2]):
    a = json.loads(line)
    if a.get("vm") == sys.argv[3] and a["alert"]["signature"] == "unauthorized_vm_restart":
        t = datetime.datetime.strptime(a["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
        alerts.append(int(t.timestamp() * 1e6))
st = json.load(open(sys.argv[4]))
n = min(len(probe), len(alerts))
lat = sorted((alerts[i] - probe[i]) / 1000.0 for i in range(n))
def pct(p): return lat[min(len(lat) - 1, max(0, int(round(p / 100.0 * len(lat) + 0.5)) - 1))]
print(f"resets: {sys.argv[5]}, reboot events seen by the probe: {len(probe)}, alerts: {len(alerts)}")
if lat:
    print(f"event -> alert (EVE timestamp - independent subscriber receipt): "
          f"p50 {pct(50):.2f} ms, p99 {pct(99):.2f} ms, max {lat[-1]:.2f} ms (target p99 < 50 ms)")
print(f"guard internal (receipt -> alert handed to sinks): p50 {st['latency_p50_us']/1000:.3f} ms, "
      f"p99 {st['latency_p99_us']/1000:.3f} ms over {st['events']} events")
sys.exit(0 if lat and len(alerts) >= int(sys.argv[5]) and pct(99) < 50 else 1)
PY
