/* TCP, UDP, ICMP and ICMPv6 headers: ports, flags, the ICMP type (what the detectors read); DHCP
 * is decoded from UDP 67/68, the DHCPv6 message type from UDP 547 -> 546, neighbour discovery
 * from ICMPv6 133..136 (decode_nd.c). Truncated headers are decode events; the packet still
 * counts. */
#include "sensor/sensor_internal.h"

void sn_decode_l4(sn_pkt *p, const uint8_t *d, size_t len, int fragment)
{
    if (fragment == SN_FRAG_LATER)
        return;
    if (p->proto == 6) { /* most frames: tested first */
        if (len < 20) {
            p->events |= 1u << DEC_EV_TRUNC_L4;
            /* A first fragment that splits the TCP header (RFC 1858's tiny fragment; nmap -f,
             * --mtu 8/16) is sent only to slip past filters: dropped as truncated, a SYN scan
             * or SYN to the host's SSH in such fragments raised nothing. Its ports are taken,
             * and its flags when they are in it; without them it is a probe with none
             * (sn_tcp_stealth_probe). */
            if (fragment == SN_FRAG_FIRST && len >= 4) {
                p->sport = (uint16_t)(d[0] << 8 | d[1]);
                p->dport = (uint16_t)(d[2] << 8 | d[3]);
                p->tcp_flags = len >= 14 ? d[13] : 0;
                p->has_ports = 1;
            }
            return;
        }
        size_t doff = (size_t)(d[12] >> 4) * 4;
        if (doff < 20 || doff > len) {
            p->events |= 1u << DEC_EV_BAD_TCP;
            return;
        }
        p->sport = (uint16_t)(d[0] << 8 | d[1]);
        p->dport = (uint16_t)(d[2] << 8 | d[3]);
        p->tcp_flags = d[13];
        p->has_ports = 1;
    } else if (p->proto == 17) {
        if (len < 8) {
            p->events |= 1u << DEC_EV_TRUNC_L4;
            return;
        }
        p->sport = (uint16_t)(d[0] << 8 | d[1]);
        p->dport = (uint16_t)(d[2] << 8 | d[3]);
        p->has_ports = 1;
        if ((p->sport == 67 && p->dport == 68) || (p->sport == 68 && p->dport == 67))
            sn_decode_dhcp(p, d + 8, len - 8);
        else if (__builtin_expect(p->sport == 547, 0) && p->dport == 546 && len > 8)
            p->dhcp_type = SN_DHCP6 + d[8]; /* DHCPv6 server to client: its msg-type */
    } else if (p->proto == 1 || p->proto == 58) {
        if (len < 4) {
            p->events |= 1u << DEC_EV_TRUNC_L4;
            return;
        }
        p->icmp_type = d[0];
        if (__builtin_expect((unsigned)d[0] - SN_ND_RS <= SN_ND_NA - SN_ND_RS, 0) && p->proto == 58)
            sn_decode_nd(p, d, len);
        /* ICMP has no ports: its flows are keyed by the two addresses (so an echo request and
         * its reply are one flow) */
        p->has_ports = 1;
    }
}
