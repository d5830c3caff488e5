#!/bin/bash
# dengbao sensor on public captures (../shared/testdata, expected results in its README) and on
# the captures made by the network-namespace test bed (tests/cases/sensor/*.pcap): golden alert
# projections (signature, source, target, port, clause, VM, tenant). DBG_TEST_REGENERATE=1
# rewrites the golden files. Also: usage errors, bad inputs, truncated/garbage files, stats.
. "$(dirname "$0")/lib.sh"

CASES="$DBG_SRCDIR/tests/cases/sensor"
SHARED="$DBG_SRCDIR/../shared/testdata"
[ -d "$SHARED" ] || SHARED=/work/shared/testdata
command -v jq >/dev/null || ensure_pkgs jq:jq

project() { # EVE file -> sorted one-line projections
    jq -c '[.alert.signature, .src_ip, .ether.src_mac, .dest_ip, .dest_port, .dengbao.clause,
            .dengbao.src.vm, .dengbao.src.tenant, .dengbao.dest.vm, .dengbao.dest.tenant,
            .dengbao.count]' "$1" | LC_ALL=C sort
}

check_golden() { # name capture rules [inventory]
    local name=$1 cap=$2 rules=$3 inv=${4:-} eve="$TMP/$1.eve" golden="$CASES/golden/$1.golden"
    rm -f "$eve"
    local args=(-r "$cap" --rules "$rules" --eve "$eve")
    [ -n "$inv" ] && args+=(--inventory "$inv")
    "$DBG_BIN" sensor "${args[@]}" 2>"$TMP/$name.err"
    local rc=$?
    [ -f "$eve" ] || : >"$eve"
    if [ "${DBG_TEST_REGENERATE:-0}" = 1 ]; then
        mkdir -p "$CASES/golden"
        project "$eve" >"$golden"
    fi
    expect_eq "$name: alerts match golden" "$(cat "$golden" 2>/dev/null)" "$(project "$eve")"
    if [ -s "$golden" ]; then
        expect_eq "$name: exit 1 with alerts" 1 "$rc"
    else
        expect_eq "$name: exit 0 without alerts" 0 "$rc"
    fi
    expect_match "$name: stats printed at the end" "sensor stats: packets=[1-9]" "$(cat "$TMP/$name.err")"
}

if [ -d "$SHARED" ]; then
    R="$CASES/shared/rules.yaml"
    check_golden 445_scan "$SHARED/zeek-simple-scan/445_scan.pcap" "$R"
    check_golden multiport_scan "$SHARED/zeek-simple-scan/multiport_scan.pcap" "$R"
    check_golden port_scan "$SHARED/zeek-simple-scan/port_scan.pcap" "$R"
    check_golden scan_with_zero_windows "$SHARED/zeek-simple-scan/scan_with_zero_windows.pcap" "$R"
    check_golden backscatter "$SHARED/zeek-simple-scan/backscatter.trace" "$R"
    check_golden synscan "$SHARED/chrissanders-packets/synscan.pcapng" "$R"
    check_golden arppoison "$SHARED/chrissanders-packets/arppoison.pcapng" "$R"
    check_golden arp_gratuitous "$SHARED/chrissanders-packets/arp_gratuitous.pcapng" "$R"
    check_golden dhcp_nolease "$SHARED/chrissanders-packets/dhcp_nolease_initialization.pcapng" "$R"
    # The README's expectations, independent of the golden files:
    expect_match "445_scan: host sweep by 176.192.150.3 on 445" '"host_sweep","176.192.150.3",[^]]*445' "$(project "$TMP/445_scan.eve")"
    expect_match "multiport: host sweep by 125.27.226.209" '"host_sweep","125.27.226.209"' "$(project "$TMP/multiport_scan.eve")"
    expect_match "port_scan: 192.168.2.154 -> 192.168.2.22" '"port_scan","192.168.2.154",[^,]*,"192.168.2.22"' "$(project "$TMP/port_scan.eve")"
    expect_match "zero windows: host sweep by 10.0.0.1 on 23" '"host_sweep","10.0.0.1",[^]]*23' "$(project "$TMP/scan_with_zero_windows.eve")"
    expect_eq "backscatter: nothing" "" "$(cat "$TMP/backscatter.eve")"
    expect_match "synscan: port scan by 172.16.0.8" '"port_scan","172.16.0.8"' "$(project "$TMP/synscan.eve")"
    expect_match "arppoison: ARP spoofing by 00:25:b3:bf:91:ee" '"arp_spoof",null,"00:25:b3:bf:91:ee"' "$(project "$TMP/arppoison.eve")"
    expect_eq "gratuitous ARP alone: nothing" "" "$(cat "$TMP/arp_gratuitous.eve")"
    expect_eq "normal DHCP: nothing" "" "$(cat "$TMP/dhcp_nolease.eve")"
    # EVE fields a Suricata consumer needs
    line=$(head -1 "$TMP/port_scan.eve")
    for k in timestamp event_type src_ip dest_ip proto alert.signature alert.category alert.severity flow.pkts_toserver dengbao.first dengbao.last dengbao.packets dengbao.bytes dengbao.clause; do
        expect_eq "EVE has $k" true "$(printf '%s' "$line" | jq "getpath(\"$k\" | split(\".\")) != null")"
    done
else
    echo "no shared testdata at $SHARED; public captures skipped"
fi

# Captures made by the namespace test bed, with the inventory snapshot they were made with.
for cap in "$CASES"/*.pcap; do
    [ -e "$cap" ] || continue
    name=$(basename "$cap" .pcap)
    inv="$CASES/$name.inventory.json"
    rules="$CASES/$name.rules.yaml"
    [ -f "$rules" ] || rules="$DBG_SRCDIR/data/rules/sensor.yaml"
    check_golden "$name" "$cap" "$rules" "$([ -f "$inv" ] && echo "$inv")"
done

# Flow records name each end's VM and tenant as alerts do, so the central store gives a tenant
# the flows of its own VMs (8.2.5.1c): the one flow from tenant-a's va1 to tenant-b's vb1 is
# tenant-b's, none of tenant-a's own flows is.
if [ -f "$CASES/bed_attacks.pcap" ]; then
    "$DBG_BIN" sensor -r "$CASES/bed_attacks.pcap" --inventory "$CASES/bed_attacks.inventory.json" \
        --rules "$CASES/bed_attacks.rules.yaml" --eve "$TMP/fa.eve" --flows "$TMP/fa-flows.json" 2>/dev/null
    expect_eq "flows: tenants of both ends" '{"src":{"vm":"va1","vm_uuid":"00000000-0000-4000-8000-000000000011","tenant":"tenant-a"},"dest":{"vm":"vb1","vm_uuid":"00000000-0000-4000-8000-000000000011","tenant":"tenant-b"}}' \
        "$(jq -c 'select(.dengbao.dest.tenant == "tenant-b") | .dengbao' "$TMP/fa-flows.json")"
    expect_eq "flows: no dengbao object when neither end is a VM" \
        "$(jq -c 'select(.src_ip == "0.0.0.0")' "$TMP/fa-flows.json" | wc -l)" \
        "$(jq -c 'select(.src_ip == "0.0.0.0" and .dengbao == null)' "$TMP/fa-flows.json" | wc -l)"
    "$DBG_BIN" store ingest --db "$TMP/flows.db" --host hv-01 "$TMP/fa-flows.json" 2>/dev/null
    out=$("$DBG_BIN" store query --db "$TMP/flows.db" --tenant tenant-b --kind flow --format json)
    expect_eq "store: tenant-b sees the flow into its VM, and no other" "10.10.1.11>10.10.2.11" \
        "$(printf '%s\n' "$out" | jq -r '"\(.record.src_ip)>\(.record.dest_ip)"')"
    expect_eq "store: tenant-a sees its VMs' flows" \
        "$(jq -c 'select(.dengbao.src.tenant == "tenant-a" or .dengbao.dest.tenant == "tenant-a")' "$TMP/fa-flows.json" | wc -l)" \
        "$("$DBG_BIN" store query --db "$TMP/flows.db" --tenant tenant-a --kind flow --format json | wc -l)"
fi

if [ -f "$CASES/bed_benign.pcap" ]; then
    expect_eq "bed_benign: benign traffic raises nothing" "" "$(cat "$TMP/bed_benign.eve")"
    expect_match "bed_attacks: every attack type of the bed" "$(printf '%s.*' arp_spoof brute_force cross_tenant host_sweep icmp_flood ip_spoof mac_spoof port_scan rogue_dhcp syn_flood udp_flood vm_to_host worm_spread)" "$(jq -r .alert.signature "$TMP/bed_attacks.eve" | sort -u | tr '\n' ' ')"
fi

# IPv6 captures (tests/cases/sensor/gen_ipv6.py, scapy): ND spoofing, rogue router / DHCPv6,
# IPv6 source spoofing; benign ND, DAD, ping6 and the host's RA / DHCPv6 raise nothing.
if [ -f "$CASES/ipv6_benign.pcap" ]; then
    expect_eq "ipv6_benign: benign IPv6 raises nothing" "" "$(cat "$TMP/ipv6_benign.eve")"
    a6=$(jq -c '[.alert.signature, .ether.src_mac, .dest_ip, .dengbao.src.vm, .dengbao.dest.vm, .protocol, .dengbao.evidence]' "$TMP/ipv6_attacks.eve")
    expect_match "ipv6: NA claiming va2's address" '"arp_spoof","52:54:00:0a:00:13","fd00:10:10::12","va3","va2","ndp"' "$a6"
    expect_match "ipv6: NA with a foreign target link-layer address" '"arp_spoof","52:54:00:0a:00:13","fd00:10:10::13","va3",[^]]*target link-layer address is not' "$a6"
    expect_match "ipv6: router advertisement from va3" '"rogue_dhcp","52:54:00:0a:00:13",null,"va3",[^]]*router advertisement' "$a6"
    expect_match "ipv6: DHCPv6 server on va3" '"rogue_dhcp","52:54:00:0a:00:13",null,"va3",[^]]*DHCPv6 ADVERTISE' "$a6"
    expect_match "ipv6: source address not va3's" '"ip_spoof","52:54:00:0a:00:13","fd00:10:10::11","va3"' "$a6"
    expect_eq "ipv6: five alerts, none for the malformed NA" 5 "$(wc -l <"$TMP/ipv6_attacks.eve")"
    out=$("$DBG_BIN" sensor -r "$CASES/ipv6_attacks.pcap" --inventory "$CASES/ipv6_attacks.inventory.json" --eve "$TMP/x6.eve" --stats 2>&1)
    expect_match "ipv6: the malformed NA is a bad_nd decode event" '"bad_nd":1' "$out"
fi

# Flow records and an inventory collected from libvirt (the test driver) at start.
if [ -f "$SHARED/chrissanders-packets/synscan.pcapng" ]; then
    "$DBG_BIN" sensor -r "$SHARED/chrissanders-packets/synscan.pcapng" --eve "$TMP/f.eve" \
        --flows "$TMP/flows.json" -c test:///default 2>/dev/null
    expect_eq "-c test:///default: runs and alerts" 1 "$?"
    expect_eq "flows: one record per flow" 1994 "$(wc -l <"$TMP/flows.json")"
    expect_eq "flows: EVE flow records" 1994 "$(jq -c 'select(.event_type=="flow" and .src_ip=="172.16.0.8" and .flow.pkts_toserver>=1)' "$TMP/flows.json" | wc -l)"
    # flow_id joins an alert to the flow whose packet raised it, as Suricata's does
    expect_eq "flows: every record has its own flow_id" 1994 \
        "$(jq -r '.flow_id | select(type=="number" and . > 0)' "$TMP/flows.json" | sort -u | wc -l)"
    ids=$(jq -r 'select(.event_type=="alert") | .flow_id // empty' "$TMP/f.eve" | sort -u)
    expect_match "alerts carry a flow_id" '^[0-9]+' "$ids"
    missing=$(comm -23 <(printf '%s\n' "$ids") \
        <(jq -r '.flow_id' "$TMP/flows.json" | sort -u) | head -3)
    expect_eq "each alert's flow_id is a flow record's" "" "$missing"
    first=$(jq -c 'select(.event_type=="alert" and .flow_id) | [.flow_id, .src_ip]' "$TMP/f.eve" | head -1)
    expect_eq "the alert's flow is one record, from the alert's source" \
        "[$(jq -r '.[1]' <<<"$first" | jq -R .)]" \
        "$(jq -c -s --argjson id "$(jq '.[0]' <<<"$first")" '[.[] | select(.flow_id == $id) | .src_ip]' "$TMP/flows.json")"
fi

# Flow records in Suricata's EVE shape: its timestamp form (as the alerts have it), and "vlan"
# a list of tags, absent for untagged frames. One UDP frame in VLAN 42, one untagged.
python3 - "$TMP/vlan.pcap" <<'PY'
import struct, sys
def frame(vlan, sport):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 1, 0, 64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    udp = struct.pack("!HHHH", sport, 53, 8, 0)
    tag = struct.pack("!HH", 0x8100, vlan) if vlan else b""
    return bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + tag + struct.pack("!H", 0x0800) + ip + udp
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate([frame(42, 1000), frame(0, 1001)]):
        f.write(struct.pack("<IIII", 1764000000 + i, 0, len(fr), len(fr)) + fr)
PY
"$DBG_BIN" sensor -r "$TMP/vlan.pcap" --eve "$TMP/vlan.eve" --flows "$TMP/vlan-flows.json" 2>/dev/null
expect_eq "flows: tagged frames' flow has vlan [42]" "[42]" \
    "$(jq -c 'select(.src_port==1000) | .vlan' "$TMP/vlan-flows.json")"
expect_eq "flows: an untagged flow has no vlan" "false" \
    "$(jq -c 'select(.src_port==1001) | has("vlan")' "$TMP/vlan-flows.json")"
expect_match "flows: timestamps as Suricata's (and the alerts')" \
    '^2025-11-24T16:00:00\.000000\+0000$' "$(jq -r 'select(.src_port==1000) | .timestamp' "$TMP/vlan-flows.json")"

# Bad input: clear errors, never a crash.
out=$("$DBG_BIN" sensor --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "no source: usage error" 2 "$rc"
expect_match "no source: says what" "either -r FILE or -i IFACE" "$out"
out=$("$DBG_BIN" sensor -r "$SHARED/zeek-simple-scan/port_scan.pcap" 2>&1); rc=$?
expect_eq "no --eve: usage error" 2 "$rc"
out=$("$DBG_BIN" sensor --help); expect_match "help" "Usage: dengbao sensor" "$out"
out=$("$DBG_BIN" sensor -r "$TMP/missing.pcap" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "missing capture: runtime error" 3 "$rc"
expect_match "missing capture: names the file" "missing.pcap" "$out"
expect_nomatch "missing capture: no stats of a run that never read" "sensor stats" "$out"
head -c 3000 /dev/urandom >"$TMP/garbage.pcap"
out=$("$DBG_BIN" sensor -r "$TMP/garbage.pcap" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "garbage file: runtime error, no crash" 3 "$rc"
if [ -f "$SHARED/zeek-simple-scan/backscatter.trace" ]; then
    head -c 100000 "$SHARED/zeek-simple-scan/backscatter.trace" >"$TMP/trunc.pcap"
    out=$("$DBG_BIN" sensor -r "$TMP/trunc.pcap" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
    # what was read is analysed and its stats printed, but the run is a runtime error: its
    # results do not cover the capture (it once exited 0 as if the file had ended there)
    expect_eq "truncated capture: runtime error" 3 "$rc"
    expect_match "truncated capture: says how far it got" "stopped after [0-9]+ packets: the record at byte [0-9]+ of the 100000-byte file is cut or malformed; the rest of the capture was not analysed" "$out"
    expect_match "truncated capture: stats as JSON" '"packets":[0-9]+' "$out"
    # reported once, where the run ends (it was warned and then said again as the error)
    expect_eq "truncated capture: said once" 1 "$(printf '%s\n' "$out" | grep -c 'stopped after')"
    # the byte named is where the good records end: the file cut there reads whole, to the
    # same packet count
    at=$(printf '%s\n' "$out" | grep -oE 'the record at byte [0-9]+' | head -1 | grep -oE '[0-9]+$')
    n=$(printf '%s\n' "$out" | grep -oE 'stopped after [0-9]+' | head -1 | grep -oE '[0-9]+$')
    head -c "${at:-0}" "$TMP/trunc.pcap" >"$TMP/whole.pcap"
    out=$("$DBG_BIN" sensor -r "$TMP/whole.pcap" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
    expect_eq "cut at the byte named: reads to the end" 0 "$rc"
    expect_match "cut at the byte named: the same packets" "\"packets\":${n:-x}," "$out"
    # standard input has no size to name: the packet count alone
    out=$("$DBG_BIN" sensor -r - --eve "$TMP/x.eve" <"$TMP/trunc.pcap" 2>&1); rc=$?
    expect_eq "truncated capture on stdin: runtime error" 3 "$rc"
    expect_match "truncated capture on stdin: how far it got" "stopped after ${n:-x} packets; the rest of the capture was not analysed" "$out"
fi
# A pcapng file cut mid-block: the message names the file, the block and the byte it starts
# at (pcapng blocks vary in size, so the sensor walks them), and the file cut at that byte
# reads whole to the same packet count. Cut copies are made here from the shared capture.
NG="$SHARED/chrissanders-packets/synscan.pcapng"
if [ -f "$NG" ]; then
    ng_size=$(stat -c %s "$NG")
    for cut in 100 5000 $((ng_size / 2 + 1)) $((ng_size - 7)); do
        head -c "$cut" "$NG" >"$TMP/cut.pcapng"
        out=$("$DBG_BIN" sensor -r "$TMP/cut.pcapng" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
        expect_eq "pcapng cut at $cut: runtime error" 3 "$rc"
        expect_match "pcapng cut at $cut: names the file, block and byte" "cut.pcapng: .*stopped after [0-9]+ packets: block [0-9]+ at byte [0-9]+ of the $cut-byte file is cut \([0-9]+ of its [0-9]+ bytes are there\); the rest of the capture was not analysed" "$out"
        at=$(printf '%s\n' "$out" | grep -oE 'block [0-9]+ at byte [0-9]+' | head -1 | grep -oE '[0-9]+$')
        n=$(printf '%s\n' "$out" | grep -oE 'stopped after [0-9]+' | head -1 | grep -oE '[0-9]+$')
        head -c "${at:-0}" "$NG" >"$TMP/whole.pcapng"
        out=$("$DBG_BIN" sensor -r "$TMP/whole.pcapng" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
        expect_match "pcapng cut at $cut, cut again at the byte named: reads to the end (0 or 1: alerts)" "^[01]$" "$rc"
        expect_match "pcapng cut at $cut, cut again at the byte named: the same packets" "\"packets\":${n:-x}," "$out"
    done
    # cut in its interface description block: libpcap cannot open it; where is said all the same
    head -c 40 "$NG" >"$TMP/cut.pcapng"
    out=$("$DBG_BIN" sensor -r "$TMP/cut.pcapng" --eve "$TMP/x.eve" 2>&1); rc=$?
    expect_eq "pcapng cut in its first interface block: runtime error" 3 "$rc"
    expect_match "pcapng cut in its first interface block: where" "cut.pcapng: cannot read capture: .*: block 2 at byte 28 of the 40-byte file is cut \(12 of its 32 bytes are there\)" "$out"
    # a block length that is not a multiple of 4 (the first packet block, at byte 60): malformed
    cp "$NG" "$TMP/bad.pcapng"
    printf '\x0d\x00\x00\x00' | dd of="$TMP/bad.pcapng" bs=1 seek=64 conv=notrunc 2>/dev/null
    out=$("$DBG_BIN" sensor -r "$TMP/bad.pcapng" --eve "$TMP/x.eve" 2>&1); rc=$?
    expect_eq "pcapng with a malformed block length: runtime error" 3 "$rc"
    expect_match "pcapng with a malformed block length: which block" "bad.pcapng: .*block 3 at byte 60 of the $ng_size-byte file is malformed \(its length is 13\)" "$out"
fi
# A pcapng file whose second section is in the other byte order: libpcap stops at that
# section's header ("block size ... > maximum"), which is named, not a cut further on; the
# file cut there reads whole.
python3 - "$TMP/bo.pcapng" <<'PY'
import struct, sys
def blk(e, btype, body):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(e + 'II', btype, n) + body + struct.pack(e + 'I', n)
arp = bytes.fromhex('ffffffffffff5254000000010806000108000604000152540000000'
                    '10a000001000000000000' '0a000002') + bytes(18)
out = b''
for e in '<>':
    out += blk(e, 0x0A0D0D0A, struct.pack(e + 'IHHq', 0x1A2B3C4D, 1, 0, -1))
    out += blk(e, 1, struct.pack(e + 'HHI', 1, 0, 65535))
    for i in range(3):
        out += blk(e, 6, struct.pack(e + 'IIIII', 0, 395812, i, len(arp), len(arp)) + arp)
open(sys.argv[1], 'wb').write(out)
PY
bo_size=$(stat -c %s "$TMP/bo.pcapng")
head -c $((bo_size - 30)) "$TMP/bo.pcapng" >"$TMP/bocut.pcapng"
for f in bo bocut; do
    out=$("$DBG_BIN" sensor -r "$TMP/$f.pcapng" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
    expect_eq "pcapng, second section in the other byte order ($f): runtime error" 3 "$rc"
    expect_match "pcapng, second section in the other byte order ($f): names the section" "$f.pcapng: .*stopped after 3 packets: section 2 \(block 6 at byte 324 of the [0-9]+-byte file\) is big-endian, the first little-endian, and libpcap reads no byte-order change" "$out"
done
head -c 324 "$TMP/bo.pcapng" >"$TMP/bofirst.pcapng"
out=$("$DBG_BIN" sensor -r "$TMP/bofirst.pcapng" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
expect_match "pcapng cut at the section named: reads to the end" "^[01]$" "$rc"
expect_match "pcapng cut at the section named: the same packets" '"packets":3,' "$out"
# Where a file stops is where libpcap stopped (fuzz_capture_file's findings): a classic pcap
# record longer than the file's snapshot length, which libpcap hands over cut to it, still takes
# its whole length in the file; a pcapng block whose framing is whole but whose content libpcap
# refuses (an interface of another link type) is named, not a cut further on; a first section
# header whose trailing length differs, which libpcap does not check, is not named. Each file
# cut at the byte named reads whole to the same packets.
python3 - "$TMP" <<'PY'
import struct, sys
d = sys.argv[1]
arp = bytes.fromhex('ffffffffffff5254000000010806000108000604000152540000000'
                    '10a000001000000000000' '0a000002') + bytes(18)
def blk(btype, body, trailer=None):
    body += b'\0' * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack('<II', btype, n) + body + struct.pack('<I', n if trailer is None else trailer)
shb = lambda bom=0x1A2B3C4D, trailer=None: blk(0x0A0D0D0A, struct.pack('<IHHq', bom, 1, 0, -1), trailer)
idb = lambda lt=1: blk(1, struct.pack('<HHI', lt, 0, 65535))
epb = lambda i=0: blk(6, struct.pack('<IIIII', 0, 395812, i, len(arp), len(arp)) + arp)
# 54- and 60-byte frames in a file whose snapshot length is 40; the last record cut by 5 bytes
recs = [arp[:54], arp, arp[:54]]
pcap = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 40, 1) + b''.join(
    struct.pack('<IIII', 1764032523 + i, 0, len(r), len(r)) + r for i, r in enumerate(recs))
open(d + '/snap.pcap', 'wb').write(pcap[:-5])
# block 4 at byte 140: a second interface of another link type; the last block cut
open(d + '/linktype.pcapng', 'wb').write((shb() + idb() + epb() + idb(101) + epb(1))[:-10])
# block 1's trailing length differs; block 4 at byte 140: a section header without its magic
open(d + '/trailer.pcapng', 'wb').write(shb(trailer=0x8001c) + idb() + epb() + shb(0x11223344))
PY
cut_reads_whole() { # label file byte packets
    head -c "$3" "$TMP/$2" >"$TMP/whole.$2"
    out=$("$DBG_BIN" sensor -r "$TMP/whole.$2" --eve "$TMP/x.eve" --stats 2>&1); rc=$?
    expect_match "$1, cut at the byte named: reads to the end (0 or 1: alerts)" "^[01]$" "$rc"
    expect_match "$1, cut at the byte named: the same packets" "\"packets\":$4," "$out"
}
out=$("$DBG_BIN" sensor -r "$TMP/snap.pcap" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "pcap records over the snapshot length, cut: runtime error" 3 "$rc"
expect_match "pcap records over the snapshot length, cut: the record's own start" "snap.pcap: .*stopped after 2 packets: the record at byte 170 of the 235-byte file is cut or malformed" "$out"
cut_reads_whole "pcap records over the snapshot length" snap.pcap 170 2
out=$("$DBG_BIN" sensor -r "$TMP/linktype.pcapng" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "pcapng, an interface of another link type: runtime error" 3 "$rc"
expect_match "pcapng, an interface of another link type: that block, not the cut after it" "linktype.pcapng: an interface has a type 101 .*stopped after 1 packets: block 4 at byte 140 of the 242-byte file is where libpcap stopped \(its framing is whole: libpcap objected to its content\)" "$out"
cut_reads_whole "pcapng, an interface of another link type" linktype.pcapng 140 1
out=$("$DBG_BIN" sensor -r "$TMP/trailer.pcapng" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "pcapng, first trailing length differs: runtime error" 3 "$rc"
expect_match "pcapng, first trailing length differs: the block libpcap stopped at" "trailer.pcapng: .*stopped after 1 packets: block 4 at byte 140 of the 168-byte file is malformed \(a section header without its byte-order magic\)" "$out"
cut_reads_whole "pcapng, first trailing length differs" trailer.pcapng 140 1
# a pcapng file of a section header alone: libpcap read it to the end and found no interface;
# no block is at fault
head -c 28 "$TMP/linktype.pcapng" >"$TMP/shbonly.pcapng"
out=$("$DBG_BIN" sensor -r "$TMP/shbonly.pcapng" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "pcapng of a section header alone: runtime error" 3 "$rc"
expect_match "pcapng of a section header alone: libpcap's reason" "shbonly.pcapng: cannot read capture: the capture file has no Interface Description Blocks" "$out"
expect_nomatch "pcapng of a section header alone: no block named" "block 1" "$out"
# Alerts that cannot be written are a runtime error, not "alerts raised" (exit 1).
out=$("$DBG_BIN" sensor -r "$SHARED/zeek-simple-scan/port_scan.pcap" --eve /dev/full 2>&1); rc=$?
expect_eq "alerts not written (--eve /dev/full): runtime error" 3 "$rc"
expect_match "and it says so" "alert\(s\) raised but writing them failed" "$out"
# Flow records that cannot be written likewise (they were dropped unnoticed, exit 1 or 0).
out=$("$DBG_BIN" sensor -r "$SHARED/zeek-simple-scan/port_scan.pcap" --eve "$TMP/full.eve" \
    --flows /dev/full 2>&1); rc=$?
expect_eq "flows not written (--flows /dev/full): runtime error" 3 "$rc"
expect_match "naming the flow file" "/dev/full: writing flow records failed: No space left on device" "$out"
expect_match "the alerts are still written" '"event_type":"alert"' "$(head -1 "$TMP/full.eve")"
# A capture of another link type names it, by number when libpcap has no name (it showed "?")
for lt in 9999 101; do
    python3 -c "import struct, sys; sys.stdout.buffer.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, $lt))" >"$TMP/lt$lt.pcap"
done
out=$("$DBG_BIN" sensor -r "$TMP/lt9999.pcap" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "unknown link type: runtime error" 3 "$rc"
expect_match "... named by its number" "lt9999.pcap: link type 9999 is not Ethernet" "$out"
out=$("$DBG_BIN" sensor -r "$TMP/lt101.pcap" --eve "$TMP/x.eve" 2>&1)
expect_match "... a known one by name" "lt101.pcap: link type RAW \\(DLT 12\\) is not Ethernet" "$out"
printf 'scan:\n  port_scan_portz: 3\n' >"$TMP/bad.yaml"
out=$("$DBG_BIN" sensor -r "$SHARED/zeek-simple-scan/port_scan.pcap" --rules "$TMP/bad.yaml" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "bad rules: runtime error" 3 "$rc"
expect_match "bad rules: names file, line, key" "bad.yaml:2:3: unknown setting 'scan.port_scan_portz' \(scan has: window_s, port_scan_ports, host_sweep_hosts\)" "$out"
printf '{"schema_version": 1, "domains": 3}' >"$TMP/bad-inv.json"
out=$("$DBG_BIN" sensor -r "$SHARED/zeek-simple-scan/port_scan.pcap" --inventory "$TMP/bad-inv.json" --eve "$TMP/x.eve" 2>&1); rc=$?
expect_eq "bad inventory: runtime error" 3 "$rc"
expect_match "bad inventory: names the file" "bad-inv.json" "$out"
finish
