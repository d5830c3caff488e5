# Shared helpers for tests/integration/*.sh: assertions that count, and a summary at the end.
# Exit 77 means "skipped" to meson.
: "${DBG_BIN:?DBG_BIN must point at the dengbao binary}"
: "${DBG_SRCDIR:?DBG_SRCDIR must point at the source tree}"
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d /tmp/dbg-it-XXXXXX)
# DBG_KEEP_TMP=1 keeps the scratch directory for a post-mortem (the path is printed).
[ -n "${DBG_KEEP_TMP:-}" ] && echo "keeping $TMP" || trap 'rm -rf "$TMP"' EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
expect_match() { if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1" "'$2' not in: $(printf '%s' "$3" | head -c 600)"; fi; }
expect_nomatch() { if printf '%s' "$3" | grep -Eq -- "$2"; then fail "$1" "'$2' unexpectedly in output"; else pass "$1"; fi; }
skip_all() { echo "SKIP: $1"; exit 77; }
finish() { echo "$T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }
# wait_for ERE SECONDS FILE: 0 once FILE has a line matching ERE, 1 after SECONDS without one.
wait_for() {
    local i
    for i in $(seq $(($2 * 10))); do grep -Eq -- "$1" "$3" 2>/dev/null && return 0; sleep 0.1; done
    return 1
}

# ensure_pkgs CMD:PACKAGE ... installs (as root, via apt) the packages whose command is missing;
# skips the whole test when it cannot. Tests install their own extras so CI on a fresh machine
# needs nothing by hand.
ensure_pkgs() {
    local missing="" spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing="$missing ${spec##*:}"
    done
    [ -z "$missing" ] && return 0
    [ "$(id -u)" = 0 ] || skip_all "needs packages:$missing (not root)"
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    local i
    for i in 1 2 3; do   # another apt may hold the dpkg lock for a while
        # shellcheck disable=SC2086
        if apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; then return 0; fi
        apt-get update -qq >/dev/null 2>&1 || true
        sleep 5
    done
    skip_all "could not install:$missing"
}

# start_libvirtd: makes sure a system libvirtd (qemu:///system) and its virtlogd answer. Daemons
# that already ran before any test are used and left alone. Otherwise they are started here,
# without systemd, and shared by every test that runs meanwhile (meson runs tests in parallel):
# each such test holds a shared lock on $DBG_DAEMON_DIR/lock for its whole run, and the last
# one to leave stops what the tests started, by the PIDs they recorded.
DBG_DAEMON_DIR=/run/dengbao-test-daemons
DBG_DAEMON_HELD=0
start_libvirtd() {
    ensure_pkgs libvirtd:libvirt-daemon-system qemu-system-x86_64:qemu-system-x86 virsh:libvirt-clients \
        flock:util-linux python3:python3
    # Without udev, /dev/kvm stays root:root 0600. libvirt then probes QEMU as "KVM usable"
    # but finds it unusable for the qemu user on every lookup, throws its capabilities cache
    # away and re-probes (seconds each, minutes per define). Debian's udev rule makes it
    # root:kvm 0660; restore exactly that.
    if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" != kvm ] && getent group kvm >/dev/null; then
        chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
    fi
    mkdir -p "$DBG_DAEMON_DIR" /run/libvirt
    exec 9>>"$DBG_DAEMON_DIR/lock"
    flock -x 9 # one test at a time decides what to start
    DBG_DAEMON_HELD=1
    # A virtlogd is there when its socket accepts (a process of that name may be a zombie).
    if ! python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect("/run/libvirt/virtlogd-sock")' 2>/dev/null; then
        virtlogd -d -p "$DBG_DAEMON_DIR/virtlogd.pid" || skip_all "virtlogd would not start"
    fi
    if ! virsh -c qemu:///system version >/dev/null 2>&1; then
        libvirtd -d -p "$DBG_DAEMON_DIR/libvirtd.pid" || skip_all "libvirtd would not start"
        local i
        for i in $(seq 1 50); do
            virsh -c qemu:///system version >/dev/null 2>&1 && break
            sleep 0.2
        done
    fi
    flock -s 9 # held (shared) until this test ends
    virsh -c qemu:///system version >/dev/null 2>&1 || skip_all "libvirtd did not answer on qemu:///system"
}
stop_started_daemons() {
    [ "$DBG_DAEMON_HELD" = 1 ] || return 0
    DBG_DAEMON_HELD=0
    flock -u 9
    # Only the last test holding the daemons gets the exclusive lock at once.
    if flock -xn 9; then
        local f
        for f in "$DBG_DAEMON_DIR/libvirtd.pid" "$DBG_DAEMON_DIR/virtlogd.pid"; do
            [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
            rm -f "$f"
        done
        flock -u 9
    fi
    exec 9>&-
}
trap 'stop_started_daemons; rm -rf "$TMP"' EXIT

# root_agent_setup: the audit key pair $TMP/k.key/.pub and, in the current directory, a
# policy.yaml that makes root the provider administrator (agent tests act as root).
root_agent_setup() {
    "$DBG_BIN" audit keygen --out "$TMP/k" >/dev/null || skip_all "audit keygen failed"
    cat > policy.yaml <<'Y'
version: 1
identities:
  - unix: root
    role: provider-admin
roles:
  provider-admin: {operations: all, tenants: any}
Y
}

# start_gateway_agent URI: dengbao agent on URI as the gateway and guard tests run it (the key
# and policy.yaml of root_agent_setup or the test's own; audit log, EVE, socket, state and status
# under $TMP; its log appended to agent.log), in the background, PID in AGENT; fails the test
# when the socket has not appeared after 30 s or the agent died.
start_gateway_agent() {
    DENGBAO_LOG=info "$DBG_BIN" agent -c "$1" --audit-log "$TMP/audit" --key "$TMP/k.key" \
        --policy policy.yaml --eve "$TMP/eve.json" --socket "$TMP/gw.sock" --state-dir "$TMP/st" \
        --status-dir "$TMP/status" 2>>agent.log &
    AGENT=$!
    for _ in $(seq 1 300); do [ -S "$TMP/gw.sock" ] && return 0; kill -0 "$AGENT" 2>/dev/null || break; sleep 0.1; done
    cat agent.log; fail "agent did not start"; finish; exit 1
}
