# Shared helpers for tests/integration/*.sh: assertions that count, and a summary at the end.
# Exit 77 means "skipped" to meson.
: "${DBG_BIN:?DBG_BIN must point at the dengbao binary}"
: "${DBG_SRCDIR:?DBG_SRCDIR must point at the source tree}"
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d /tmp/dbg-it-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $1${2:+: $2}"; }
expect_eq() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2', got '$3'"; fi; }
expect_match() { if printf '%s' "$3" | grep -Eq -- "$2"; then pass "$1"; else fail "$1" "'$2' not in: $(printf '%s' "$3" | head -c 600)"; fi; }
expect_nomatch() { if printf '%s' "$3" | grep -Eq -- "$2"; then fail "$1" "'$2' unexpectedly in output"; else pass "$1"; fi; }
skip_all() { echo "SKIP: $1"; exit 77; }
finish() { echo "$T_PASS passed, $T_FAIL failed"; [ "$T_FAIL" -eq 0 ]; }

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

# start_libvirtd: makes sure a system libvirtd (qemu:///system) answers. When one already runs
# it is used and left alone; otherwise virtlogd and libvirtd are started here without systemd
# and stopped by PID when the test exits.
DBG_STARTED_PIDS=""
start_libvirtd() {
    ensure_pkgs libvirtd:libvirt-daemon-system qemu-system-x86_64:qemu-system-x86 virsh:libvirt-clients
    # Without udev, /dev/kvm stays root:root 0600. libvirt then probes QEMU as "KVM usable"
    # but finds it unusable for the qemu user on every lookup, throws its capabilities cache
    # away and re-probes (seconds each, minutes per define). Debian's udev rule makes it
    # root:kvm 0660; restore exactly that.
    if [ -c /dev/kvm ] && [ "$(stat -c %G /dev/kvm)" != kvm ] && getent group kvm >/dev/null; then
        chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
    fi
    if virsh -c qemu:///system version >/dev/null 2>&1; then return 0; fi
    mkdir -p /run/libvirt /var/run/libvirt
    if ! pgrep -x virtlogd >/dev/null; then
        virtlogd -d -p "$TMP/virtlogd.pid" && DBG_STARTED_PIDS="$DBG_STARTED_PIDS $TMP/virtlogd.pid"
    fi
    libvirtd -d -p "$TMP/libvirtd.pid" || skip_all "libvirtd would not start"
    DBG_STARTED_PIDS="$DBG_STARTED_PIDS $TMP/libvirtd.pid"
    local i
    for i in $(seq 1 50); do
        virsh -c qemu:///system version >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    skip_all "libvirtd did not answer on qemu:///system"
}
stop_started_daemons() {
    local f
    for f in $DBG_STARTED_PIDS; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    DBG_STARTED_PIDS=""
}
trap 'stop_started_daemons; rm -rf "$TMP"' EXIT
