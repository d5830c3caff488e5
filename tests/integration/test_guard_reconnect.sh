#!/bin/bash
# The guard's reconnect path, against a libvirtd of the test's own: libvirt's test driver served
# over a Unix socket in the scratch directory by a daemon running as nobody (session mode, so it
# shares nothing with a system libvirtd other tests may be using). The daemon is killed and
# started again; the guard must notice the closed connection, reconnect, reconcile what changed
# while it was blind, and still alert on VMs defined behind its back afterwards. The gateway must
# work again too. Last, a pending approval ticket survives a restart of the agent, and a used one
# does not come back.
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (the daemon runs as nobody)"
ensure_pkgs jq:jq setpriv:util-linux virsh:libvirt-clients libvirtd:libvirt-daemon-system

chmod 755 "$TMP"
cd "$TMP" || exit 1
LV="$TMP/lv"
mkdir -p "$LV/run" "$LV/home"
cat > "$LV/lv.conf" <<EOF
unix_sock_dir = "$LV/run"
unix_sock_rw_perms = "0777"
auth_unix_rw = "none"
auth_unix_ro = "none"
EOF
chown -R nobody "$LV"
URI="test+unix:///default?socket=$LV/run/libvirt-sock"
V="virsh -q -c $URI"
DAEMON=""
AGENT=""
HOLDER=""
trap 'kill "$AGENT" $HOLDER 2>/dev/null; kill -9 "$DAEMON" 2>/dev/null; wait 2>/dev/null; [ -n "${DBG_KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT

start_daemon() {
    rm -f "$LV/run/libvirt-sock"
    setpriv --reuid nobody --regid nogroup --clear-groups \
        env -i PATH="$PATH" HOME="$LV/home" XDG_RUNTIME_DIR="$LV/home" \
        XDG_CONFIG_HOME="$LV/home/.config" XDG_CACHE_HOME="$LV/home/.cache" \
        libvirtd -f "$LV/lv.conf" >>"$LV/daemon.log" 2>&1 &
    DAEMON=$!
    local i
    for i in $(seq 1 100); do
        $V list --all >/dev/null 2>&1 && return 0
        kill -0 "$DAEMON" 2>/dev/null || break
        sleep 0.1
    done
    tail -5 "$LV/daemon.log"
    skip_all "a private libvirtd with the test driver did not start"
}

domxml() { # name tenant
    cat <<X
<domain type='test'>
  <name>$1</name>
  <memory>65536</memory>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="$2"/></metadata>
  <os><type>hvm</type></os>
</domain>
X
}
domxml rc-a tenant-a > a.xml
domxml rc-b tenant-b > b.xml
domxml rc-c tenant-a > c.xml

"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
cat > policy.yaml <<'Y'
version: 1
identities:
  - unix: root
    role: provider-admin
  - unix: nobody
    role: tenant-admin
    tenant: tenant-a
roles:
  provider-admin: {operations: all, tenants: any}
  tenant-admin: {operations: [list, approve], tenants: own}
approvals:
  - id: provider-acts-on-tenant-vm
    roles: [provider-admin]
    operations: [reboot]
    target: tenant-vm
    approver: tenant-admin
Y

alerts() { # TYPE VM -> count
    [ -f eve.json ] || { echo 0; return; }
    jq -s --arg t "$1" --arg v "$2" '[.[] | select(.alert.signature==$t and .vm==$v)] | length' eve.json
}
wait_alert() { # TYPE VM
    local i
    for i in $(seq 1 300); do [ "$(alerts "$1" "$2")" -ge 1 ] && break; sleep 0.1; done
    expect_eq "$1 for $2" 1 "$([ "$(alerts "$1" "$2")" -ge 1 ] && echo 1 || echo 0)"
}
wait_log() { # PATTERN -> 0 when agent.log has it within 30 s
    local i
    for i in $(seq 1 300); do grep -q -- "$1" agent.log && return 0; sleep 0.1; done
    return 1
}

start_agent() {
    rm -f gw.sock
    start_gateway_agent "$URI"
}
stop_agent() {
    kill -TERM "$AGENT"
    wait "$AGENT"
    local rc=$?
    AGENT=""
    return $rc
}
AS_NOBODY() {
    setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups \
        "$DBG_BIN" vm --socket "$TMP/gw.sock" "$@"
}

start_daemon
start_agent

# Before: events arrive over the remote connection.
$V define a.xml >/dev/null
wait_alert unauthorized_vm_create rc-a

# The daemon dies. The test driver keeps its domains in memory, so the restarted daemon has lost
# rc-a: to the guard it was deleted while it was blind, with no audited delete.
kill -9 "$DAEMON"
wait "$DAEMON" 2>/dev/null
if wait_log "closed"; then pass "guard notices the closed connection"; else fail "guard notices the closed connection" "$(tail -5 agent.log)"; fi
out=$("$DBG_BIN" vm --socket gw.sock list 2>&1)
expect_nomatch "gateway does not pretend to list while libvirt is gone" "rc-a" "$out"
start_daemon
if wait_log "reconnected"; then pass "guard reconnects"; else fail "guard reconnects" "$(tail -5 agent.log)"; fi
wait_alert unaudited_vm_delete rc-a
expect_eq "found by reconciliation" "reconcile" \
    "$(jq -s -r '[.[] | select(.vm=="rc-a" and .alert.signature=="unaudited_vm_delete")][0].detection' eve.json)"

# After: events are subscribed again, and the gateway works on the new connection.
$V define b.xml >/dev/null
wait_alert unauthorized_vm_create rc-b
expect_eq "one create alert for rc-b" 1 "$(alerts unauthorized_vm_create rc-b)"
"$DBG_BIN" vm --socket gw.sock create c.xml >/dev/null 2>>agent.log
expect_eq "gateway create after the reconnect" 0 $?
sleep 2
expect_eq "no alert for the gateway's own create" 0 "$(alerts unauthorized_vm_create rc-c)"
expect_match "gateway lists the new daemon's VMs" "rc-b" "$("$DBG_BIN" vm --socket gw.sock list 2>&1)"

# A pending approval survives a restart of the agent; a used one does not come back. The daemon's
# test driver drops its domains when its last connection closes, so a virsh stays connected
# across the agent's restarts.
$V event --all --loop >/dev/null 2>&1 &
HOLDER=$!
"$DBG_BIN" vm --socket gw.sock start rc-c >/dev/null 2>>agent.log
expect_eq "gateway start rc-c" 0 $?
json=$("$DBG_BIN" vm --socket gw.sock --format json reboot rc-c)
expect_eq "provider reboot of a tenant VM waits for approval" "pending" "$(echo "$json" | jq -r .status)"
ticket=$(echo "$json" | jq -r .ticket)
stop_agent
expect_eq "agent stops cleanly" 0 $?
start_agent
out=$(AS_NOBODY approve "$ticket" 2>&1)
expect_eq "ticket approved after a restart" 0 $?
expect_match "approved reboot ran" "reboot rc-c: done" "$out"
stop_agent
start_agent
out=$(AS_NOBODY approve "$ticket" 2>&1)
expect_eq "a used ticket does not come back after a restart" 1 $?
expect_match "used ticket: not found" "no ticket" "$out"
stop_agent
expect_eq "agent stops cleanly again" 0 $?
kill "$HOLDER" 2>/dev/null
"$DBG_BIN" audit verify --log "$TMP/audit" --pubkey "$TMP/k.pub" >/dev/null
expect_eq "audit log verifies" 0 $?
finish
