#!/bin/bash
# A real migration refused by its destination for holding a VM of that uuid under another name
# ("domain 'X' is already defined with uuid U") or of that name under another uuid ("domain 'X'
# already exists with uuid U"): the gateway on qemu:///system (TCG, a diskless 64 MiB VM)
# migrates peer-to-peer to a second libvirtd, a session daemon of user daemon on loopback TCP
# with a host uuid of its own. The destination's VM is one tenant-a may not hear of: its
# tenant-admin is told the neutral text and tenant-a's record keeps it, the provider is told
# libvirt's text, and the full text is recorded under the provider's records.
# (test_gateway.c: test_gateway_libvirt_names_vm feeds the other messages.)
set -u
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for qemu:///system and a second user's libvirtd"
ensure_pkgs jq:jq setpriv:util-linux python3:python3
start_libvirtd
V="virsh -q -c qemu:///system"
P="dbg-mig-$$"
SESS="$TMP/sess"
cleanup() {
    [ -n "${AGENT:-}" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    local d
    for d in $($V list --all --name 2>/dev/null | grep "^$P-"); do
        $V destroy "$d" >/dev/null 2>&1
        $V undefine "$d" >/dev/null 2>&1
    done
    [ -n "${DEST_PID:-}" ] && kill "$DEST_PID" 2>/dev/null && wait "$DEST_PID" 2>/dev/null
    stop_started_daemons
    rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1
chmod 755 "$TMP"

domxml() {  # name tenant [uuid]
    cat <<X
<domain type='qemu'>
  <name>$1</name>
  ${3:+<uuid>$3</uuid>}
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="$2"/></metadata>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>$(command -v qemu-system-x86_64)</emulator><graphics type='vnc' listen='127.0.0.1' autoport='yes'/></devices>
</domain>
X
}

# The destination: user daemon's session libvirtd, TCP on loopback without auth, with a host
# uuid other than this host's (libvirt refuses a migration to the same host).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
DEST="qemu+tcp://127.0.0.1:$PORT/session"
mkdir -p "$SESS/home" "$SESS/run"
chown -R daemon:daemon "$SESS"
chmod 700 "$SESS/run"
cat > "$SESS/libvirtd.conf" <<C
listen_tls = 0
listen_tcp = 1
listen_addr = "127.0.0.1"
tcp_port = "$PORT"
auth_tcp = "none"
host_uuid = "$(python3 -c 'import uuid; print(uuid.uuid4())')"
C
chmod 644 "$SESS/libvirtd.conf"
env -i HOME="$SESS/home" XDG_RUNTIME_DIR="$SESS/run" PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    setpriv --reuid=daemon --regid=daemon --clear-groups \
    libvirtd --listen -f "$SESS/libvirtd.conf" >"$TMP/dest.log" 2>&1 &
DEST_PID=$!
D="virsh -q -c $DEST"
for _ in $(seq 1 100); do $D version >/dev/null 2>&1 && break; kill -0 $DEST_PID 2>/dev/null || break; sleep 0.2; done
$D version >/dev/null 2>&1 || { tail -5 "$TMP/dest.log"; skip_all "the destination libvirtd did not answer on $DEST"; }

"$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
cat > policy.yaml <<Y
version: 1
identities:
  - unix: root
    role: provider-admin
  - unix: nobody
    role: tenant-admin
    tenant: tenant-a
roles:
  provider-admin: {operations: all, tenants: any}
  tenant-admin: {operations: [list, migrate], tenants: own}
migration:
  destinations: ['$DEST']
Y
start_gateway_agent qemu:///system
VM() { "$DBG_BIN" vm --socket "$TMP/gw.sock" --timeout 600 "$@"; }
AS_TENANT() {
    setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups \
        "$DBG_BIN" vm --socket "$TMP/gw.sock" --timeout 600 "$@"
}

domxml "$P-1" tenant-a > vm1.xml
VM create vm1.xml >/dev/null; expect_eq "create the VM to migrate" 0 $?
VM start "$P-1" >/dev/null; expect_eq "start it" 0 $?
SRC_UUID=$($V domuuid "$P-1" | tr -d '[:space:]')
NEUTRAL="migrate $P-1 failed; libvirt's message names another VM and is kept in the audit record"

# 1. The destination has a VM of that uuid under another name: libvirt names it.
domxml "$P-other" tenant-b "$SRC_UUID" > dest-other.xml
$D define dest-other.xml >/dev/null; expect_eq "destination: define $P-other with the VM's uuid" 0 $?
out=$(AS_TENANT migrate "$P-1" "$DEST" 2>&1); rc=$?
expect_eq "tenant-a's migrate fails (exit 3)" 3 "$rc"
expect_match "... with the neutral text" "$NEUTRAL" "$out"
expect_nomatch "... not naming the destination's VM" "$P-other" "$out"
out=$(VM migrate "$P-1" "$DEST" 2>&1); rc=$?
expect_eq "the provider's migrate fails (exit 3)" 3 "$rc"
expect_match "... with libvirt's text" "domain '$P-other' is already defined with uuid $SRC_UUID" "$out"
$D undefine "$P-other" >/dev/null

# 2. The destination has a VM of that name under another uuid: libvirt gives that uuid.
domxml "$P-1" tenant-b > dest-same.xml
$D define dest-same.xml >/dev/null; expect_eq "destination: define $P-1 with another uuid" 0 $?
DEST_UUID=$($D domuuid "$P-1" | tr -d '[:space:]')
out=$(AS_TENANT migrate "$P-1" "$DEST" 2>&1); rc=$?
expect_eq "tenant-a's second migrate fails (exit 3)" 3 "$rc"
expect_match "... with the neutral text" "$NEUTRAL" "$out"
expect_nomatch "... not giving the destination VM's uuid" "$DEST_UUID" "$out"
out=$(VM migrate "$P-1" "$DEST" 2>&1)
expect_match "the provider is told libvirt's text" "domain '$P-1' already exists with uuid $DEST_UUID" "$out"
$D undefine "$P-1" >/dev/null
expect_eq "the VM still runs here" running "$($V domstate "$P-1" | tr -d '[:space:]')"

# The records: tenant-a's outcomes hold the neutral text, the provider's the full ones.
kill -TERM "$AGENT"; wait "$AGENT"; AGENT=""
all=$("$DBG_BIN" audit query --log "$TMP/audit" --format json)
recs() { echo "$all" | jq -c "[.[]? // .records[]? | select(.action==\"vm.migrate.outcome\" and $1)]"; }
mine=$(recs '.tenant=="tenant-a"')
expect_eq "four outcomes under tenant-a" 4 "$(echo "$mine" | jq length)"
expect_eq "... all neutral" 4 "$(echo "$mine" | jq '[.[] | select(.details.result | test("names another VM"))] | length')"
expect_nomatch "... none names the destination's VMs" "$P-other|$DEST_UUID" "$mine"
full=$(recs '.tenant==""')
expect_eq "four full texts under the provider's records" 4 "$(echo "$full" | jq length)"
expect_match "... the first names $P-other" "$P-other" "$(echo "$full" | jq -r '.[0].details.result')"
expect_match "... the last the destination VM's uuid" "$DEST_UUID" "$(echo "$full" | jq -r '.[3].details.result')"
"$DBG_BIN" audit verify --log "$TMP/audit" --pubkey "$TMP/k.pub" >/dev/null
expect_eq "audit log verifies" 0 $?
finish
