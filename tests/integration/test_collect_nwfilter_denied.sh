#!/bin/bash
# collect when libvirt refuses to list the nwfilters for another reason than "unsupported by
# this driver" (here: access denied, as a daemon whose polkit ACL refuses search-nwfilters
# answers): the collection used to stop there (exit 3, no snapshot). Now the filters are
# recorded as not collected with libvirt's reason, collect warns and goes on (domains,
# networks, host files), and the checks that read filters say 未检查 naming the reason.
# A session libvirtd run here as nobody serves the demo cloud (test driver); a proxy
# (libvirt_deny_proxy.py) passes the client's calls to it and answers the nwfilter listing
# with the daemon's access-denied error, which the client library decodes as its own.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to run the daemon as nobody)"
ensure_pkgs jq:jq setpriv:util-linux python3:python3 libvirtd:libvirt-daemon-system
command -v libvirtd >/dev/null || skip_all "needs libvirtd"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

chmod 711 "$TMP"
D="$TMP/denied"
mkdir -p "$D/home" "$D/run" "$D/root"
chown 65534:65534 "$D/home" "$D/run"
chmod 700 "$D/run"
cp "$DBG_SRCDIR/data/demo/cloud.xml" "$D/home/cloud.xml"
chmod 644 "$D/home/cloud.xml"
ENV="env -i PATH=/usr/sbin:/usr/bin:/bin HOME=$D/home XDG_RUNTIME_DIR=$D/run"
$NOBODY $ENV libvirtd --timeout 120 >"$D/libvirtd.log" 2>&1 &
DAEMON=$!
PROXY=""
trap 'kill $PROXY "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -S "$D/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
[ -S "$D/run/libvirt/libvirt-sock" ] || skip_all "session libvirtd did not start: $(tail -n 3 "$D/libvirtd.log")"
# 286 = REMOTE_PROC_CONNECT_LIST_ALL_NWFILTERS (libvirt's remote_protocol.x)
python3 "$DBG_SRCDIR/tests/integration/libvirt_deny_proxy.py" "$D/run/proxy.sock" \
    "$D/run/libvirt/libvirt-sock" 286 2>"$D/proxy.log" &
PROXY=$!
for _ in $(seq 1 50); do [ -S "$D/run/proxy.sock" ] && break; sleep 0.1; done
URI="test+unix://$D/home/cloud.xml?socket=$D/run/proxy.sock"
out=$($NOBODY $ENV virsh -c "$URI" nwfilter-list 2>&1)
expect_match "the proxy denies the nwfilter listing" "access denied" "$out"

err=$($NOBODY $ENV "$DBG_BIN" collect -c "$URI" --host-root "$D/root" -o "$D/home/s.json" 2>&1)
expect_eq "collect exits 0" 0 "$?"
expect_match "nwfilters not collected: warned, with libvirt's reason" \
    "warning: nwfilters: not collected: libvirt: cannot list nwfilters: access denied" "$err"
j() { jq -r "$1" "$D/home/s.json"; }
expect_match "recorded as not collected" "^false not collected: libvirt: cannot list nwfilters: access denied" \
    "$(j '"\(.nwfilter_supported) \(.nwfilter_note)"')"
expect_eq "no filter listed" 0 "$(j '.nwfilters | length')"
expect_eq "the rest is collected: the domains" \
    "$(virsh -c "test://$D/home/cloud.xml" list --all --name | grep -c .)" "$(j '.domains | length')"
expect_eq "the rest is collected: the networks" null "$(j .networks_error)"
expect_match "the rest is collected: the host files" "sshd_config" "$(j '[.host_files[].path] | join(" ")')"

"$DBG_BIN" assess --snapshot "$D/home/s.json" --level 3 --hosts-level 3 --format json \
    -o "$D/home/a.json" >/dev/null 2>&1
expect_match "8.2.2.1c says 未检查 for the filters, naming the reason" \
    "not checked: the nwfilter list could not be read \(not collected: libvirt: cannot list nwfilters: access denied" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1c") | .evidence[].observed' "$D/home/a.json")"
finish
