/* DHCP (BOOTP with the magic cookie): the message type (option 53) and server identifier
 * (option 54), walking options with bounds checks. A broken option list is a decode event. */
#include "sensor/sensor_internal.h"

void sn_decode_dhcp(sn_pkt *p, const uint8_t *d, size_t len)
{
    static const uint8_t cookie[4] = {99, 130, 83, 99};
    memset(&p->dhcp_server_id, 0, sizeof(p->dhcp_server_id));
    if (len < 240 || memcmp(d + 236, cookie, 4) != 0) {
        p->events |= 1u << DEC_EV_BAD_DHCP;
        return;
    }
    size_t off = 240;
    while (off < len) {
        uint8_t opt = d[off];
        if (opt == 255)
            return;
        if (opt == 0) {
            off++;
            continue;
        }
        if (off + 2 > len || off + 2 + d[off + 1] > len) {
            p->events |= 1u << DEC_EV_BAD_DHCP;
            return;
        }
        uint8_t olen = d[off + 1];
        const uint8_t *v = d + off + 2;
        if (opt == 53 && olen >= 1)
            p->dhcp_type = v[0];
        else if (opt == 54 && olen >= 4)
            sn_ip_from_v4(&p->dhcp_server_id, v);
        off += 2 + (size_t)olen;
    }
}
