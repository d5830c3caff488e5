/* ARP over Ethernet/IPv4: opcode, sender and target hardware and protocol addresses. Other
 * hardware/protocol types are ignored; short packets are decode events. */
#include "sensor/sensor_internal.h"

void sn_decode_arp(sn_pkt *p, const uint8_t *d, size_t len)
{
    if (len < 28) {
        p->events |= 1u << DEC_EV_TRUNC_ARP;
        return;
    }
    uint16_t htype = (uint16_t)(d[0] << 8 | d[1]);
    uint16_t ptype = (uint16_t)(d[2] << 8 | d[3]);
    if (htype != 1 || ptype != 0x0800 || d[4] != 6 || d[5] != 4) {
        p->events |= 1u << DEC_EV_TRUNC_ARP;
        return;
    }
    p->l3 = L3_ARP;
    p->arp_op = (uint16_t)(d[6] << 8 | d[7]);
    memcpy(p->arp_macs, d + 8, 6); /* kept past the capture library's buffer: copied */
    memcpy(p->arp_macs + 6, d + 18, 6);
    p->arp_sha = p->arp_macs;
    sn_ip_from_v4(&p->arp_spa, d + 14);
    p->arp_tha = p->arp_macs + 6;
    sn_ip_from_v4(&p->arp_tpa, d + 24);
}
