#!/usr/bin/python3
"""Makes the IPv6 captures of tests/cases/sensor (committed; rerun to regenerate):
ipv6_benign.pcap - router advertisement and DHCPv6 reply of the host, DAD, address resolution,
unsolicited announcements of own addresses, ping6 between VMs: must give no alert;
ipv6_attacks.pcap - the same, then from va3: an unsolicited NA overriding va2's address, an NA
with a target link-layer address that is not its MAC, a router advertisement, a DHCPv6
ADVERTISE, a packet from an address not assigned to it, and an NA whose option has length 0
(malformed: a decode event, no alert). Addresses only in fd00:10:10::/64 and fe80::/64.
Usage: gen_ipv6.py OUTDIR"""
import sys

from scapy.all import (ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6ND_NA, ICMPv6ND_NS,
                       ICMPv6ND_RA, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo,
                       ICMPv6NDOptSrcLLAddr, IPv6, UDP, Ether, Raw, wrpcap)
from scapy.layers.dhcp6 import (DHCP6_Advertise, DHCP6_Reply, DHCP6OptClientId,
                                DHCP6OptServerId, DUID_LL)

HOST = ("52:54:00:0a:00:01", "fd00:10:10::1", "fe80::5054:ff:fe0a:1")
VA1 = ("52:54:00:0a:00:11", "fd00:10:10::11", "fe80::5054:ff:fe0a:11")
VA2 = ("52:54:00:0a:00:12", "fd00:10:10::12", "fe80::5054:ff:fe0a:12")
VA3 = ("52:54:00:0a:00:13", "fd00:10:10::13", "fe80::5054:ff:fe0a:13")
T0 = 1764032523.0


def snma(addr):
    """Solicited-node multicast address and MAC of addr."""
    import ipaddress
    b = ipaddress.IPv6Address(addr).packed
    ip = "ff02::1:ff%02x:%02x%02x" % (b[13], b[14], b[15])
    return ip, "33:33:ff:%02x:%02x:%02x" % (b[13], b[14], b[15])


def ra(who):
    return (Ether(src=who[0], dst="33:33:00:00:00:01") /
            IPv6(src=who[2], dst="ff02::1", hlim=255) /
            ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=who[0]) /
            ICMPv6NDOptPrefixInfo(prefix="fd00:10:10::", prefixlen=64))


def dad(who, addr):
    ip, mac = snma(addr)
    return (Ether(src=who[0], dst=mac) / IPv6(src="::", dst=ip, hlim=255) /
            ICMPv6ND_NS(tgt=addr))


def announce(who, addr):
    return (Ether(src=who[0], dst="33:33:00:00:00:01") /
            IPv6(src=who[2], dst="ff02::1", hlim=255) /
            ICMPv6ND_NA(tgt=addr, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=who[0]))


def resolve(a, b):
    ip, mac = snma(b[1])
    return [Ether(src=a[0], dst=mac) / IPv6(src=a[1], dst=ip, hlim=255) /
            ICMPv6ND_NS(tgt=b[1]) / ICMPv6NDOptSrcLLAddr(lladdr=a[0]),
            Ether(src=b[0], dst=a[0]) / IPv6(src=b[1], dst=a[1], hlim=255) /
            ICMPv6ND_NA(tgt=b[1], R=0, S=1, O=1) / ICMPv6NDOptDstLLAddr(lladdr=b[0])]


def dhcp6(server, client, msg, src_ip):
    duid = DUID_LL(lladdr=server[0])
    return (Ether(src=server[0], dst=client[0]) / IPv6(src=src_ip, dst=client[2]) /
            UDP(sport=547, dport=546) / msg(trid=0x1234) /
            DHCP6OptServerId(duid=duid) / DHCP6OptClientId(duid=DUID_LL(lladdr=client[0])))


def benign():
    pkts = [ra(HOST)]
    for vm in (VA1, VA2, VA3):
        pkts += [dad(vm, vm[2]), dad(vm, vm[1]), announce(vm, vm[1])]
    pkts.append(dhcp6(HOST, VA1, DHCP6_Reply, HOST[2]))
    pkts += resolve(VA1, VA2)
    pkts += resolve(VA1, HOST)
    for i in range(5):
        pkts.append(Ether(src=VA1[0], dst=VA2[0]) / IPv6(src=VA1[1], dst=VA2[1]) /
                    ICMPv6EchoRequest(id=7, seq=i, data=b"x" * 56))
        pkts.append(Ether(src=VA2[0], dst=VA1[0]) / IPv6(src=VA2[1], dst=VA1[1]) /
                    ICMPv6EchoReply(id=7, seq=i, data=b"x" * 56))
    pkts += resolve(VA2, VA1)
    return pkts


def attacks():
    pkts = benign()
    # the IPv6 gratuitous-ARP attack: va3 announces va2's address as its own
    pkts.append(Ether(src=VA3[0], dst="33:33:00:00:00:01") /
                IPv6(src=VA3[2], dst="ff02::1", hlim=255) /
                ICMPv6ND_NA(tgt=VA2[1], R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=VA3[0]))
    # va3 answers for its own address with a third station's MAC
    pkts.append(Ether(src=VA3[0], dst=VA1[0]) / IPv6(src=VA3[1], dst=VA1[1], hlim=255) /
                ICMPv6ND_NA(tgt=VA3[1], R=0, S=1, O=1) /
                ICMPv6NDOptDstLLAddr(lladdr="02:00:00:00:00:99"))
    pkts.append(ra(VA3))
    pkts.append(dhcp6(VA3, VA1, DHCP6_Advertise, VA3[1]))
    pkts.append(Ether(src=VA3[0], dst=VA1[0]) / IPv6(src="fd00:10:10::99", dst=VA1[1]) /
                UDP(sport=4000, dport=53) / Raw(b"q" * 20))
    # a malformed NA (option length 0) claiming va1's address: dropped by receivers
    bad = (Ether(src=VA3[0], dst="33:33:00:00:00:01") /
           IPv6(src=VA3[2], dst="ff02::1", hlim=255) /
           ICMPv6ND_NA(tgt=VA1[1], R=0, S=0, O=1) / Raw(bytes([2, 0]) + bytes.fromhex(
               VA3[0].replace(":", ""))))
    pkts.append(bad)
    return pkts


def write(path, pkts):
    for i, p in enumerate(pkts):
        p.time = T0 + i * 0.01
    wrpcap(path, pkts)


if __name__ == "__main__":
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    write(out + "/ipv6_benign.pcap", benign())
    write(out + "/ipv6_attacks.pcap", attacks())
