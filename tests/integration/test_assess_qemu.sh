#!/bin/bash
# `dengbao assess` against a real libvirtd (qemu:///system): the same checks, unchanged. Two
# tiny TCG domains of one tenant are defined (not started), one bound to clean-traffic and one
# without a filter; the real nwfilter driver lets the anti-spoofing check show its verdict
# (on the test driver it can only say "not provable").
. "$(dirname "$0")/lib.sh"
ensure_pkgs jq:jq
start_libvirtd
cd "$DBG_SRCDIR" || exit 1
export NO_COLOR=1
tag="dbgassess$$"
cleanup() { for d in "$tag-good" "$tag-bare"; do virsh -c qemu:///system undefine "$d" >/dev/null 2>&1; done; }
trap 'cleanup; stop_started_daemons; rm -rf "$TMP"' EXIT
define() { # NAME FILTERREF-XML
    cat >"$TMP/$1.xml" <<X
<domain type='qemu'>
  <name>$1</name>
  <metadata><dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="$tag" name="测试租户"/></metadata>
  <memory unit='MiB'>32</memory><vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><interface type='network'><source network='default'/>$2</interface></devices>
</domain>
X
    virsh -c qemu:///system define "$TMP/$1.xml" >/dev/null 2>&1 || skip_all "cannot define a qemu domain here"
}
define "$tag-good" "<filterref filter='clean-traffic'/>"
define "$tag-bare" ""
"$DBG_BIN" assess -c qemu:///system --level 3 --format json -o "$TMP/r.json" >/dev/null
rc=$?
expect_match "assess on qemu:///system exits 0 or 1" "^[01]$" "$rc"
expect_eq "the real driver implements nwfilter" true "$(jq .platform.nwfilter_supported "$TMP/r.json")"
ev=$(jq -r '.items[] | select(.clause == "8.2.4.2b") | .evidence[] | "\(.ok) \(.source) \(.observed)"' "$TMP/r.json")
expect_match "clean-traffic resolved through the real filter definitions" \
    "true libvirt virDomainGetXMLDesc\($tag-good\) clean-traffic: blocks MAC spoofing: yes, IP spoofing: yes, ARP spoofing: yes" "$ev"
expect_match "the unfiltered VM is named" "false libvirt virDomainGetXMLDesc\($tag-bare\) none" "$ev"
expect_eq "8.2.4.2b 不符合 because of the unfiltered VM" 不符合 \
    "$(jq -r '.items[] | select(.clause == "8.2.4.2b") | .verdict' "$TMP/r.json")"
expect_eq "result validates" 0 "$("$DBG_BIN" report "$TMP/r.json" --format junit >/dev/null; echo $?)"
finish
