#!/bin/bash
# collect through a libvirt URI that names another host (test+tcp://127.0.0.2:PORT/default, a
# session libvirtd run here as nobody, listening on that loopback address only): this machine's
# /etc, /proc, pid files, addresses and dengbao status files say nothing about that host, so
# none is read; every host file is listed as not read with the reason, collect warns, and the
# checks resting on them say 未检查 instead of judging this machine. With --host-root (a copy of
# that host's files) they are read from the copy. A local URI still reads this machine.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to run the daemon as nobody)"
ensure_pkgs jq:jq setpriv:util-linux
command -v libvirtd >/dev/null || skip_all "needs libvirtd"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$NOBODY "$DBG_BIN" --help >/dev/null 2>&1 || skip_all "user nobody cannot run $DBG_BIN"

chmod 711 "$TMP"
D="$TMP/remote"
mkdir -p "$D/home" "$D/run"
chown 65534:65534 "$D/home" "$D/run"
chmod 700 "$D/run"
PORT=$((20000 + $$ % 20000))
cat > "$D/libvirtd.conf" <<CONF
listen_tls = 0
listen_tcp = 1
tcp_port = "$PORT"
listen_addr = "127.0.0.2"
auth_tcp = "none"
CONF
chmod 644 "$D/libvirtd.conf"
ENV="env -i PATH=/usr/sbin:/usr/bin:/bin HOME=$D/home XDG_RUNTIME_DIR=$D/run"
$NOBODY $ENV libvirtd --listen -f "$D/libvirtd.conf" --timeout 120 >"$D/libvirtd.log" 2>&1 &
DAEMON=$!
trap 'kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; rm -rf "$TMP"' EXIT
URI="test+tcp://127.0.0.2:$PORT/default"
for _ in $(seq 1 100); do virsh -c "$URI" version >/dev/null 2>&1 && break; sleep 0.1; done
virsh -c "$URI" version >/dev/null 2>&1 || skip_all "libvirtd on 127.0.0.2:$PORT did not answer: $(tail -n 3 "$D/libvirtd.log")"

err=$("$DBG_BIN" collect -c "$URI" -o "$TMP/remote.json" 2>&1)
expect_eq "collect through a remote URI exits 0" 0 "$?"
expect_match "says the host files were not read, and why" \
    "warning: [0-9]+ host files \(.*\): not read: the libvirt URI names another host \(127\.0\.0\.2\)" "$err"
j() { jq -r "$1" "$TMP/remote.json"; }
expect_match "sshd_config listed as not read" "another host" \
    "$(j '.host_files[] | select(.path == "/etc/ssh/sshd_config") | .error')"
expect_eq "no setting of this machine recorded" 0 "$(j '[.host_files[].settings[]] | length')"
expect_eq "no socket table of this machine" "" "$(j '.host_files[] | select(.path | startswith("/proc")) | .path')"
expect_eq "no address of this machine taken for the host's" "" \
    "$(j '.host_addresses[]' | grep -Fx -f <(hostname -I | tr ' ' '\n' | grep .) || true)"
expect_eq "every control's status unknown" "8 8" "$(j '"\(.controls | length) \([.controls[] | select(.unknown)] | length)"')"
expect_eq "the VMs come from the remote driver" test "$(j '.domains[0].name')"

"$DBG_BIN" assess --snapshot "$TMP/remote.json" --level 3 --hosts-level 3 --format json \
    -o "$TMP/a.json" >/dev/null 2>&1
res() { jq -r --arg c "$1" '[.items[].checks[] | select(.id == $c) | .result] | unique | join(" ")' "$TMP/a.json"; }
for c in host.root_login host.password_policy host.auditd_running host.time_sync cmp.remote_tls \
    bnd.libvirt_audit ctl.guard ctl.sensor; do
    expect_eq "$c not checked for another host" error "$(res "$c")"
done

# assessed live through the same URI: one warning says what could not be read, and why
"$DBG_BIN" assess -c "$URI" --level 3 --format json -o "$TMP/live.json" >/dev/null 2>"$TMP/assess.err"
expect_match "assess -c warns once about what it could not read" \
    "assess: [0-9]+ host file\(s\) and 8 control status\(es\) could not be read \(/etc/libvirt/libvirtd.conf: not read: the libvirt URI names another host \(127\.0\.0\.2\)" \
    "$(cat "$TMP/assess.err")"
expect_eq "the same verdict there" error \
    "$(jq -r '[.items[].checks[] | select(.id == "host.root_login") | .result] | unique | join(" ")' "$TMP/live.json")"

# a copy of that host's files, given with --host-root, is read
mkdir -p "$TMP/copy/etc/ssh"
echo "PermitRootLogin no" > "$TMP/copy/etc/ssh/sshd_config"
"$DBG_BIN" collect -c "$URI" --host-root "$TMP/copy" -o "$TMP/copy.json" 2>/dev/null
expect_eq "with --host-root the copy is read" "no" \
    "$(jq -r '.host_files[] | select(.path == "/etc/ssh/sshd_config") | .settings[] | select(.key == "PermitRootLogin") | .value' "$TMP/copy.json")"

# a local URI reads this machine, as before
"$DBG_BIN" collect -c test:///default -o "$TMP/local.json" 2>/dev/null
expect_nomatch "a local URI: files are read" "another host" \
    "$(jq -r '.host_files[].error // empty' "$TMP/local.json")"
finish
