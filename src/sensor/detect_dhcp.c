/* Rogue DHCP server: a DHCP OFFER/ACK/NAK from a server that is neither one of the host's own
 * addresses (libvirt's dnsmasq) nor listed in dhcp.servers, or sent from a VM's MAC. Without
 * an inventory or list, the first server seen on a VLAN is trusted and any other is rogue. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

void sn_detect_dhcp(dbg_sensor *s, const sn_pkt *p)
{
    if (p->sport != 67 || (p->dhcp_type != 2 && p->dhcp_type != 5 && p->dhcp_type != 6))
        return;
    const sn_ip *server = &p->src;
    const char *why = NULL;
    const dbg_sensor_port *vm = s->have_inv ? sn_inv_by_mac(s->inv, p->src_mac) : NULL;
    int listed = 0;
    for (size_t i = 0; i < s->n_dhcp_auth; i++)
        if (memcmp(s->dhcp_auth[i].b, server->b, 16) == 0)
            listed = 1;
    int host = s->have_inv && sn_inv_is_host_addr(s->inv, server);
    if (vm && !listed) {
        why = "DHCP server answering from a VM's port";
    } else if (listed || host) {
        return;
    } else if (s->n_dhcp_auth || (s->have_inv && s->inv->n_host_addrs)) {
        why = "DHCP server not among the host's addresses or dhcp.servers";
    } else {
        /* trust on first use, per VLAN */
        size_t i;
        for (i = 0; i < 16; i++) {
            if (s->dhcp_tofu[i].set && s->dhcp_tofu[i].vlan == p->vlan) {
                if (memcmp(s->dhcp_tofu[i].server.b, server->b, 16) == 0)
                    return;
                why = "a second DHCP server on this network";
                break;
            }
        }
        if (!why) {
            for (i = 0; i < 16; i++) {
                if (!s->dhcp_tofu[i].set) {
                    s->dhcp_tofu[i].set = 1;
                    s->dhcp_tofu[i].vlan = (int16_t)p->vlan;
                    s->dhcp_tofu[i].server = *server;
                    break;
                }
            }
            return;
        }
    }
    char ip[46];
    sn_ip_format(server, ip, sizeof(ip));
    snprintf(s->evidence, sizeof(s->evidence), "DHCP %s from %s: %s",
             p->dhcp_type == 2 ? "OFFER" : p->dhcp_type == 5 ? "ACK" : "NAK", ip, why);
    sn_raise(s, "rogue_dhcp", "8.2.3.2b", p->vlan, &p->src, p->src_mac, NULL, NULL, 68, p->proto,
             s->now, s->now, 1, p->wirelen);
}
