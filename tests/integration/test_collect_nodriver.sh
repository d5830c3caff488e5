#!/bin/bash
# collect against a real libvirtd that has no network and no storage driver (a session daemon
# run as nobody with LIBVIRT_DRIVER_DIR holding only the qemu driver): the listings fail with
# VIR_ERR_NO_SUPPORT. The snapshot must say the networks and pools were not listed, collect
# must warn, and the checks that need them must say 未检查 instead of "no management network"
# (不符合) or "no storage" (不适用).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "needs root (to run the daemon as nobody)"
ensure_pkgs jq:jq setpriv:util-linux
command -v libvirtd >/dev/null || skip_all "needs libvirtd"
QEMU_DRV=$(find /usr/lib* -name libvirt_driver_qemu.so -path '*connection-driver*' 2>/dev/null | head -n 1)
[ -n "$QEMU_DRV" ] || skip_all "needs libvirt's qemu driver module"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
$NOBODY "$DBG_BIN" --help >/dev/null 2>&1 || skip_all "user nobody cannot run $DBG_BIN"

chmod 711 "$TMP"
D="$TMP/nodrv"
mkdir -p "$D/drivers" "$D/home" "$D/run" "$D/root"
ln -s "$QEMU_DRV" "$D/drivers/"
chown 65534:65534 "$D/home" "$D/run" "$D/root"
chmod 700 "$D/run"
ENV="env -i PATH=/usr/sbin:/usr/bin:/bin HOME=$D/home XDG_RUNTIME_DIR=$D/run"
$NOBODY $ENV LIBVIRT_DRIVER_DIR="$D/drivers" libvirtd --timeout 120 >"$D/libvirtd.log" 2>&1 &
DAEMON=$!
trap 'kill "$DAEMON" 2>/dev/null; wait "$DAEMON" 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 1 100); do [ -S "$D/run/libvirt/libvirt-sock" ] && break; sleep 0.1; done
[ -S "$D/run/libvirt/libvirt-sock" ] || skip_all "session libvirtd did not start: $(tail -n 3 "$D/libvirtd.log")"
URI=qemu:///session
nets=$($NOBODY $ENV virsh -c "$URI" net-list --all 2>&1)
expect_match "the daemon has no network driver" "not supported" "$nets"

# A tenant VM on a network (no nwfilter) and on a plain disk file (defined, never started).
cat > "$D/home/dom.xml" <<'XML'
<domain type='qemu'>
  <name>nodrv-web</name>
  <metadata>
    <dengbao:tenant xmlns:dengbao="https://dengbao.dev/xmlns/1" id="acme"/>
  </metadata>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/nodrv/web.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='tenant-a'/>
    </interface>
  </devices>
</domain>
XML
$NOBODY $ENV virsh -c "$URI" define "$D/home/dom.xml" >/dev/null 2>&1 || skip_all "cannot define a domain on $URI"

err=$($NOBODY $ENV "$DBG_BIN" collect -c "$URI" --host-root "$D/root" -o "$D/home/s.json" 2>&1)
expect_eq "collect exits 0" 0 "$?"
expect_match "networks not listed: warned" "warning: networks: not supported by this driver" "$err"
expect_match "pools not listed: warned" "warning: storage pools: not supported by this driver" "$err"
expect_match "nwfilters not listed: warned" "warning: nwfilters: not supported by this driver" "$err"
# Not "will say 未检查" flat: the VM's port has no filterref at all, a gap seen without them.
expect_match "the warning does not promise 未检查 for every check" \
    "will say 未检查 \(not checked\) unless a gap seen elsewhere decides them" "$err"
j() { jq -r "$1" "$D/home/s.json"; }
expect_eq "networks_error recorded" "not supported by this driver" "$(j .networks_error)"
expect_eq "pools_error recorded" "not supported by this driver" "$(j .pools_error)"
expect_eq "nwfilters not listed: recorded" "false not supported by this driver" \
    "$(j '"\(.nwfilter_supported) \(.nwfilter_note)"')"
expect_eq "the VM is listed" "nodrv-web acme" "$(j '.domains[] | "\(.name) \(.tenant_id)"')"

"$DBG_BIN" assess --snapshot "$D/home/s.json" --level 3 --hosts-level 3 --format json \
    -o "$D/home/a.json" >/dev/null 2>&1
res() { jq -r --arg c "$1" '[.items[].checks[] | select(.id == $c) | .result] | unique | join(" ")' "$D/home/a.json"; }
for c in mgmt.traffic_separation bnd.vnet_boundary_acl net.tenant_isolation data.replicas \
    data.residual_wipe; do
    expect_eq "$c not checked without networks/pools listed" error "$(res "$c")"
done
expect_match "evidence names the unlisted networks" "networks not listed \(not supported by this driver\)" \
    "$(jq -r '.items[].evidence[].observed' "$D/home/a.json")"
# The filters the platform offers are not seen: 8.2.2.1c says so; the sensor is not deployed
# here, so the item stays 不符合 for that, not for the filters.
expect_eq "a port with no filterref is a gap seen without the nwfilter list" fail \
    "$(res cmp.nwfilter_antispoof)"
expect_match "8.2.2.1c names the unread nwfilter list" \
    "not checked: the nwfilter list could not be read \(not supported by this driver\)" \
    "$(jq -r '.items[] | select(.clause == "8.2.2.1c") | .evidence[].observed' "$D/home/a.json")"
expect_match "the VM's disk file is tenant data whose copies are not seen" \
    "file /var/lib/nodrv/web.qcow2 is no volume of a storage pool libvirt lists" \
    "$(jq -r '.items[].evidence[].observed' "$D/home/a.json")"
finish
