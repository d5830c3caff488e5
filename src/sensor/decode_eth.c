/* Ethernet and 802.1Q/802.1ad decoding: MAC addresses, the (outer) VLAN tag that names a tenant
 * network, and dispatch to ARP / IPv4 / IPv6. Short frames are decode events, never errors. */
#include "sensor/sensor_internal.h"

void sn_decode_eth(sn_pkt *p, const uint8_t *d, size_t len)
{
    p->vlan = -1;
    p->l3 = L3_NONE;
    if (len < 14) {
        p->events |= 1u << DEC_EV_TRUNC_ETH;
        return;
    }
    /* kept past the capture library's buffer: copied */
    memcpy(p->macs, d, 12);
    p->dst_mac = p->macs;
    p->src_mac = p->macs + 6;
    uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
    size_t off = 14;
    /* The outermost tag names the network. Tags are stacked as deep as a VM cares to send
     * (Linux stacks any number): a third tag hid the frame's IP traffic from every detector
     * (it was counted as a non-IP frame), so up to SN_MAX_VLAN_TAGS are walked and a deeper
     * stack is a decode error, never read as something else. */
    for (int tags = 0; et == 0x8100 || et == 0x88a8; tags++) {
        if (tags == SN_MAX_VLAN_TAGS) {
            p->events |= 1u << DEC_EV_VLAN_DEPTH;
            return;
        }
        if (len < off + 4) {
            p->events |= 1u << DEC_EV_TRUNC_ETH;
            return;
        }
        if (p->vlan < 0)
            p->vlan = ((d[off] << 8) | d[off + 1]) & 0x0fff;
        et = (uint16_t)(d[off + 2] << 8 | d[off + 3]);
        off += 4;
    }
    if (et == 0x0800) /* most frames: tested first */
        sn_decode_ipv4(p, d + off, len - off);
    else if (et == 0x86dd)
        sn_decode_ipv6(p, d + off, len - off);
    else if (et == 0x0806)
        sn_decode_arp(p, d + off, len - off);
    else
        p->events |= 1u << DEC_EV_UNKNOWN_L3;
}
