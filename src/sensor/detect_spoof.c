/* IP and MAC spoofing against the inventory (what libvirt's clean-traffic filter would drop):
 * on a VM's tap, any source MAC other than the port's is mac_spoof and any source IP the
 * inventory does not assign to the port is ip_spoof. On a bridge the port is known by MAC: a
 * VM's MAC sending from an address not assigned to it is ip_spoof; a VM's address sent from a
 * MAC that is neither that VM's nor the host's (gateway) is mac_spoof. Unassigned source
 * addresses (0.0.0.0 for DHCP, IPv6 link-local) are allowed. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static int exempt_source(const sn_ip *ip)
{
    if (sn_ip_is_zero(ip))
        return 1;
    if (!sn_ip_is_v4(ip) && ip->b[0] == 0xfe && (ip->b[1] & 0xc0) == 0x80)
        return 1; /* fe80::/10 */
    if (sn_ip_is_v4(ip) && ip->b[12] == 169 && ip->b[13] == 254)
        return 1;
    return 0;
}

/* Host/gateway MACs are learned from frames carrying a host address. */
static int is_host_mac(const dbg_sensor *s, const uint8_t *mac)
{
    for (size_t i = 0; i < s->n_host_macs; i++)
        if (memcmp(s->host_macs[i], mac, 6) == 0)
            return 1;
    return 0;
}

void sn_learn_host_mac(dbg_sensor *s, const uint8_t *mac)
{
    if (!is_host_mac(s, mac) && s->n_host_macs < 16)
        memcpy(s->host_macs[s->n_host_macs++], mac, 6);
}

static void raise_spoof(dbg_sensor *s, const sn_pkt *p, const char *type,
                        const dbg_sensor_port *port, const char *why)
{
    char ip[46], mac[18];
    sn_ip_format(&p->src, ip, sizeof(ip));
    sn_mac_format(p->src_mac, mac, sizeof(mac));
    snprintf(s->evidence, sizeof(s->evidence), "frame from %s / %s on VM port %s (%s): %s", mac,
             ip, port->vm_name, port->tap[0] ? port->tap : "bridge", why);
    sn_raise(s, type, "8.2.3.2b", p->vlan, &p->src, p->src_mac, &p->dst, p->dst_mac,
             p->has_ports && (p->proto == 6 || p->proto == 17) ? p->dport : -1, p->proto, s->now,
             s->now, 1, p->wirelen);
}

void sn_detect_spoof(dbg_sensor *s, const sn_pkt *p)
{
    if (sn_inv_is_host_addr(s->inv, &p->src)) {
        sn_learn_host_mac(s, p->src_mac);
        return;
    }
    if (exempt_source(&p->src))
        return;
    const dbg_sensor_port *tap_port = s->iface_port[p->iface];
    if (tap_port) {
        if (memcmp(tap_port->mac, p->src_mac, 6) != 0)
            raise_spoof(s, p, "mac_spoof", tap_port, "source MAC is not the port's MAC");
        else if (tap_port->n_ips && !sn_inv_port_has_ip(tap_port, &p->src))
            raise_spoof(s, p, "ip_spoof", tap_port, "source IP is not assigned to the port");
        return;
    }
    const dbg_sensor_port *by_mac = p->src_by_mac;
    if (by_mac) {
        if (by_mac->n_ips && !sn_inv_port_has_ip(by_mac, &p->src) &&
            sn_ip_is_unicast_internal(&p->src))
            raise_spoof(s, p, "ip_spoof", by_mac, "source IP is not assigned to this VM's port");
        return;
    }
    const dbg_sensor_port *by_ip = p->src_by_ip;
    if (by_ip && (by_ip->vlan < 0 || p->vlan < 0 || by_ip->vlan == p->vlan) &&
        !is_host_mac(s, p->src_mac))
        raise_spoof(s, p, "mac_spoof", by_ip,
                    "the VM's address sent from a MAC the inventory does not assign to it");
}
