/* IPv4 and IPv6 headers: addresses, protocol, fragments (only the first fragment carries
 * ports), IPv6 extension headers (hop-by-hop, routing, destination options, fragment). */
#include "sensor/sensor_internal.h"

void sn_decode_ipv4(sn_pkt *p, const uint8_t *d, size_t len)
{
    if (len < 20 || (d[0] >> 4) != 4) {
        p->events |= 1u << DEC_EV_BAD_IP;
        return;
    }
    size_t ihl = (size_t)(d[0] & 0x0f) * 4;
    size_t total = (size_t)(d[2] << 8 | d[3]);
    if (ihl < 20 || ihl > len || total < ihl) {
        p->events |= 1u << DEC_EV_BAD_IP;
        return;
    }
    /* A capture may be shorter than the datagram (snaplen); a datagram longer than the frame
     * is only decoded as far as captured. Ethernet padding makes len > total: trim it. */
    if (total < len)
        len = total;
    p->l3 = L3_IPV4;
    sn_ip_from_v4(&p->src, d + 12);
    sn_ip_from_v4(&p->dst, d + 16);
    p->proto = d[9];
    uint16_t frag = (uint16_t)(d[6] << 8 | d[7]);
    int later = (frag & 0x1fff) != 0;
    if (later)
        p->events |= 1u << DEC_EV_IP_FRAGMENT;
    sn_decode_l4(p, d + ihl, len - ihl,
                 later ? SN_FRAG_LATER : (frag & 0x2000) ? SN_FRAG_FIRST : 0);
}

void sn_decode_ipv6(sn_pkt *p, const uint8_t *d, size_t len)
{
    if (len < 40 || (d[0] >> 4) != 6) {
        p->events |= 1u << DEC_EV_BAD_IP;
        return;
    }
    size_t plen = (size_t)(d[4] << 8 | d[5]);
    if (40 + plen < len)
        len = 40 + plen;
    p->l3 = L3_IPV6;
    memcpy(p->src.b, d + 8, 16);
    memcpy(p->dst.b, d + 24, 16);
    uint8_t nh = d[6];
    size_t off = 40;
    int fragment = 0; /* SN_FRAG_FIRST, SN_FRAG_LATER */
    /* Walk a bounded number of extension headers. */
    for (int i = 0; i < 8; i++) {
        if (nh == 0 || nh == 43 || nh == 60) {
            if (len < off + 8) {
                p->events |= 1u << DEC_EV_BAD_IP;
                p->proto = nh;
                return;
            }
            uint8_t next = d[off];
            off += ((size_t)d[off + 1] + 1) * 8;
            nh = next;
        } else if (nh == 44) {
            if (len < off + 8) {
                p->events |= 1u << DEC_EV_BAD_IP;
                p->proto = nh;
                return;
            }
            uint16_t fo = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
            fragment = (fo & 0xfff8) != 0 ? SN_FRAG_LATER : (fo & 1) ? SN_FRAG_FIRST : 0;
            if (fragment == SN_FRAG_LATER)
                p->events |= 1u << DEC_EV_IP_FRAGMENT;
            nh = d[off];
            off += 8;
        } else {
            break;
        }
    }
    p->proto = nh;
    if (off > len) {
        p->events |= 1u << DEC_EV_BAD_IP;
        return;
    }
    sn_decode_l4(p, d + off, len - off, fragment);
}
