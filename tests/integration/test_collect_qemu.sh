#!/bin/bash
# The same collector against a real libvirtd (qemu:///system): define a tiny diskless TCG
# domain with dengbao tenant metadata, start it, collect, check it appears with its tenant and
# that the nwfilter APIs are reported as supported, then remove it again.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root for qemu:///system"
ensure_pkgs jq:jq
start_libvirtd

NAME="dbg-it-$$"
TAP="dbgit$(( $$ % 1000000 ))"
MAC=$(printf '52:54:00:de:%02x:%02x' $(( ($$ >> 8) & 255 )) $(( $$ & 255 )))
URI=qemu:///system
FLT="dbg-it-accept-$$"
POOL="dbg-it-pool-$$"
cleanup_domain() {
    virsh -c "$URI" pool-undefine "$POOL" >/dev/null 2>&1
    virsh -c "$URI" destroy "$NAME" >/dev/null 2>&1
    virsh -c "$URI" undefine "$NAME" >/dev/null 2>&1
    virsh -c "$URI" nwfilter-undefine "$FLT" >/dev/null 2>&1
}
trap 'cleanup_domain; stop_started_daemons; rm -rf "$TMP"' EXIT

cat > "$TMP/dom.xml" <<XML
<domain type='qemu'>
  <name>$NAME</name>
  <metadata>
    <dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="tenant-it" name="集成测试"/>
  </metadata>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='network'/></os>
  <features><acpi/></features>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <interface type='ethernet'>
      <mac address='$MAC'/>
      <target dev='$TAP' managed='yes'/>
      <model type='e1000'/>
      <filterref filter='clean-traffic'><parameter name='IP' value='10.254.0.2'/></filterref>
    </interface>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1' passwd='it-pass1'/>
    <memballoon model='none'/>
  </devices>
</domain>
XML
# Shaped like libvirt's allow-all (not shipped by every distribution): it restricts nothing.
cat > "$TMP/flt.xml" <<XML
<filter name='$FLT' chain='root'><rule action='accept' direction='inout' priority='500'/></filter>
XML
virsh -c "$URI" nwfilter-define "$TMP/flt.xml" >/dev/null || fail "define an accept-only nwfilter"
if ! virsh -c "$URI" define "$TMP/dom.xml" >/dev/null; then fail "define test domain"; finish; exit; fi
if virsh -c "$URI" start "$NAME" >/dev/null 2>"$TMP/start.err"; then started=1; else
    started=0; echo "note: domain did not start: $(cat "$TMP/start.err")"; fi

t0=$(date +%s%N)
"$DBG_BIN" collect -c "$URI" -o "$TMP/s.json" 2>"$TMP/s.err"; rc=$?
t1=$(date +%s%N)
expect_eq "collect qemu:///system exits 0" 0 "$rc"
echo "collect took $(( (t1 - t0) / 1000000 )) ms"
j() { jq -r "$1" "$TMP/s.json"; }
expect_eq "hypervisor" QEMU "$(j .hypervisor)"
expect_eq "our domain is listed once" 1 "$(j "[.domains[] | select(.name == \"$NAME\")] | length")"
expect_eq "tenant from metadata" "tenant-it|集成测试|dengbao" \
  "$(j ".domains[] | select(.name == \"$NAME\") | \"\(.tenant_id)|\(.tenant_name)|\(.tenant_source)\"")"
expect_eq "memory in KiB" 32768 "$(j ".domains[] | select(.name == \"$NAME\") | .memory_kib")"
expect_eq "VNC password seen (not its value)" "true" \
  "$(j ".domains[] | select(.name == \"$NAME\") | .graphics[0].has_password")"
expect_nomatch "password value never stored" "it-pass1" "$(cat "$TMP/s.json")"
if [ "$started" = 1 ]; then
    expect_eq "state running" running "$(j ".domains[] | select(.name == \"$NAME\") | .state")"
    expect_match "VNC port assigned and recorded" "^59[0-9][0-9]$" \
      "$(j ".domains[] | select(.name == \"$NAME\") | .graphics[0].port")"
    expect_eq "interface tap, MAC, filter and IP" "$TAP|$MAC|clean-traffic|10.254.0.2" \
      "$(j ".domains[] | select(.name == \"$NAME\") | .ifaces[0] | \"\(.target_dev)|\(.mac)|\(.filterref)|\(.ips[0])\"")"
    expect_eq "nwfilter binding of our port" "$NAME|$MAC|clean-traffic" \
      "$(j ".bindings[] | select(.portdev == \"$TAP\") | \"\(.owner_name)|\(.mac)|\(.filter)\"")"
    expect_eq "domain found by MAC" "$NAME" "$(j ".domains[] | select(any(.ifaces[]; .mac == \"$MAC\")) | .name")"
fi
expect_eq "secure XML read (no refusal recorded)" null \
  "$(j ".domains[] | select(.name == \"$NAME\") | .secure_xml_error")"
# On the daemon's read-only socket libvirt refuses VIR_DOMAIN_XML_SECURE although the client
# did not ask for read-only: the refusal is recorded and the password is "not known".
RO_SOCK=/run/libvirt/libvirt-sock-ro
if [ -S "$RO_SOCK" ]; then
    err=$("$DBG_BIN" collect -c "qemu:///system?socket=$RO_SOCK" -o "$TMP/ro.json" 2>&1); rc=$?
    expect_eq "collect on the read-only socket exits 0" 0 "$rc"
    # the user did not ask for read-only, so collect says what it could not see
    expect_match "read-only socket: unknown console passwords warned" \
      "warning: the console passwords of [0-9]+ domain\(s\) \(.*\): read without VIR_DOMAIN_XML_SECURE \(.*secure flag" "$err"
    expect_match "secure XML refused on the read-only socket" "secure flag" \
      "$(jq -r ".domains[] | select(.name == \"$NAME\") | .secure_xml_error" "$TMP/ro.json")"
    expect_eq "password hidden there" false \
      "$(jq -r ".domains[] | select(.name == \"$NAME\") | .graphics[0].has_password" "$TMP/ro.json")"
else
    echo "note: no $RO_SOCK (modular daemons?): read-only socket not tried"
fi
expect_eq "nwfilter supported by the qemu driver" true "$(j .nwfilter_supported)"
expect_eq "no 'unsupported' note" null "$(j .nwfilter_note)"
expect_match "clean-traffic filter collected" "clean-traffic" "$(j '[.nwfilters[].name] | join(" ")')"
expect_eq "clean-traffic includes no-mac-spoofing" true \
  "$(j '[.nwfilters[] | select(.name == "clean-traffic") | .refs[]] | index("no-mac-spoofing") != null')"
expect_eq "the accept-only filter's one rule, with its action" "accept|inout|500" \
  "$(j ".nwfilters[] | select(.name == \"$FLT\") | .rules | map(\"\\(.action)|\\(.direction)|\\(.priority)\") | join(\",\")")"
expect_eq "no-mac-spoofing: return for the port's MAC, drop the rest" "return,drop" \
  "$(j '[.nwfilters[] | select(.name == "no-mac-spoofing") | .rules[].action] | join(",")')"
expect_eq "bindings API supported" true "$(j .bindings_supported)"
expect_eq "live host: sshd or libvirt ports known" true "$(j '.mgmt_ports | length > 0')"

expect_nomatch "secure XML read: no console warning" "console passwords" "$(cat "$TMP/s.err" 2>/dev/null)"

# A defined pool that is not started cannot list its volumes (they still exist): recorded, and
# collect says so instead of showing an empty pool without a word.
mkdir -p "$TMP/pool"
virsh -c "$URI" pool-define-as "$POOL" dir --target "$TMP/pool" >/dev/null || fail "define an inactive pool"
err=$("$DBG_BIN" collect -c "$URI" -o "$TMP/p.json" 2>&1); rc=$?
expect_eq "collect with an inactive pool exits 0" 0 "$rc"
expect_match "inactive pool recorded" "not active" \
  "$(jq -r ".pools[] | select(.name == \"$POOL\") | .volumes_error" "$TMP/p.json")"
expect_match "inactive pool warned" "warning: the volumes of storage pool $POOL: .*not active" "$err"

cleanup_domain
"$DBG_BIN" collect -c "$URI" -o "$TMP/t.json"
expect_eq "domain gone after undefine" 0 "$(jq "[.domains[] | select(.name == \"$NAME\")] | length" "$TMP/t.json")"
finish
