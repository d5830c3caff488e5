#!/bin/bash
# `dengbao assess` against a real libvirtd (qemu:///system): the same checks, unchanged. One
# tiny TCG domain of a test tenant is defined (not started) with two interfaces, one bound to
# clean-traffic and one without a filter, and a dir pool holds one volume no domain uses.
# The real nwfilter driver lets the anti-spoofing check show its verdict (on the test driver
# it can only say "not provable"); the leftover volume is found on a real storage driver.
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq
start_libvirtd
cd "$DBG_SRCDIR" || exit 1
export NO_COLOR=1
V="virsh -c qemu:///system"
tag="dbgassess$$"
cleanup() {
    $V undefine "$tag" >/dev/null 2>&1
    $V vol-delete --pool "$tag" leftover.qcow2 >/dev/null 2>&1
    $V pool-destroy "$tag" >/dev/null 2>&1
    $V pool-undefine "$tag" >/dev/null 2>&1
}
trap 'cleanup; stop_started_daemons; rm -rf "$TMP"' EXIT
cat >"$TMP/dom.xml" <<X
<domain type='qemu'>
  <name>$tag</name>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="$tag" name="测试租户"/></metadata>
  <memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <interface type='network'><mac address='52:54:00:db:9a:01'/><source network='default'/><filterref filter='clean-traffic'/></interface>
    <interface type='network'><mac address='52:54:00:db:9a:02'/><source network='default'/></interface>
  </devices>
</domain>
X
$V define "$TMP/dom.xml" >/dev/null 2>&1 || skip_all "cannot define a qemu domain here"
mkdir -p "$TMP/pool"
$V pool-define-as "$tag" dir --target "$TMP/pool" >/dev/null && $V pool-start "$tag" >/dev/null &&
    $V vol-create-as "$tag" leftover.qcow2 1M --format qcow2 >/dev/null || skip_all "cannot create a dir pool here"

"$DBG_BIN" assess -c qemu:///system --level 3 --format json -o "$TMP/r.json" >/dev/null
rc=$?
expect_match "assess on qemu:///system exits 0 or 1" "^[01]$" "$rc"
expect_eq "the real driver implements nwfilter" true "$(jq .platform.nwfilter_supported "$TMP/r.json")"
ev=$(jq -r '.items[] | select(.clause == "8.2.4.2b") | .evidence[] | "\(.ok) \(.source) \(.key) \(.observed)"' "$TMP/r.json")
expect_match "clean-traffic resolved through the real filter definitions" \
    "true libvirt virDomainGetXMLDesc\($tag\) interface 52:54:00:db:9a:01 filterref clean-traffic: blocks MAC spoofing: yes, IP spoofing: yes, ARP spoofing: yes" "$ev"
expect_match "the unfiltered interface is named" \
    "false libvirt virDomainGetXMLDesc\($tag\) interface 52:54:00:db:9a:02 filterref none" "$ev"
expect_eq "8.2.4.2b 不符合 because of the unfiltered interface" 不符合 \
    "$(jq -r '.items[] | select(.clause == "8.2.4.2b") | .verdict' "$TMP/r.json")"
expect_match "the unused volume is a leftover (8.2.4.7a)" "false libvirt virStorageVolGetXMLDesc\($tag/leftover.qcow2\)" \
    "$(jq -r '.items[] | select(.clause == "8.2.4.7a") | .evidence[] | "\(.ok) \(.source)"' "$TMP/r.json")"
"$DBG_BIN" report "$TMP/r.json" --format junit >/dev/null
expect_eq "the saved result re-renders" 0 $?
finish
