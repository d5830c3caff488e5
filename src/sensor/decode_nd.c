/* ICMPv6 neighbour discovery (RFC 4861): router solicitation/advertisement, neighbour
 * solicitation/advertisement. Keeps the NS/NA target, the NA flags and the link-layer address
 * option (source for RS/RA/NS, target for NA). A message shorter than its fixed part or with an
 * option of length 0 or running past the end is a decode event and is not decoded (receivers
 * must discard it, RFC 4861 sections 6.1 and 7.1), so detectors never see half a message. */
#include "sensor/sensor_internal.h"

void sn_decode_nd(sn_pkt *p, const uint8_t *d, size_t len)
{
    uint8_t type = d[0];
    /* fixed part before the options: header 4 + reserved 4 (RS), + 12 (RA), + 4 + target 16 */
    size_t fixed = type == SN_ND_RS ? 8 : type == SN_ND_RA ? 16 : 24;
    if (len < fixed) {
        p->events |= 1u << DEC_EV_BAD_ND;
        return;
    }
    memset(&p->nd_target, 0, sizeof(p->nd_target));
    if (type == SN_ND_NS || type == SN_ND_NA) {
        memcpy(p->nd_target.b, d + 8, 16);
        p->nd_flags = type == SN_ND_NA ? d[4] : 0;
    }
    uint8_t want = type == SN_ND_NA ? 2 : 1; /* target / source link-layer address */
    for (size_t off = fixed; off < len;) {
        if (len - off < 2 || d[off + 1] == 0 || (size_t)d[off + 1] * 8 > len - off) {
            p->events |= 1u << DEC_EV_BAD_ND;
            return;
        }
        size_t olen = (size_t)d[off + 1] * 8;
        if (d[off] == want && !p->nd_has_lla) { /* olen >= 8: room for 6 bytes after 2 */
            memcpy(p->nd_lla, d + off + 2, 6);
            p->nd_has_lla = 1;
        }
        off += olen;
    }
    p->nd = 1;
}
