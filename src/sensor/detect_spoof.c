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
    if (ip->b[12] == 169 && ip->b[13] == 254)
        return 1;
    return 0;
}

/* Host/gateway MACs are learned from frames carrying a host address. */
int sn_is_host_mac(const dbg_sensor *s, const uint8_t *mac)
{
    for (size_t i = 0; i < s->n_host_macs; i++)
        if (memcmp(s->host_macs[i], mac, 6) == 0)
            return 1;
    return 0;
}

void sn_learn_host_mac(dbg_sensor *s, const uint8_t *mac)
{
    if (!sn_is_host_mac(s, mac) && s->n_host_macs < 16)
        memcpy(s->host_macs[s->n_host_macs++], mac, 6);
}

/* The capture interface's own MAC or its bridge's (or the bridge's old one just after it
 * changed): the host's own frames on a VM's tap. */
static int is_iface_host_mac(const dbg_sensor *s, int iface, const uint8_t *mac)
{
    for (int i = 0; i < 2; i++)
        if (s->iface_mac_set[iface][i] && memcmp(mac, s->iface_mac[iface][i], 6) == 0)
            return 1;
    return s->now < s->iface_old_bridge_until[iface] &&
           memcmp(mac, s->iface_old_bridge_mac[iface], 6) == 0;
}

/* The VM port a frame captured on a tap was sent from, or NULL. A tap capture sees both ways:
 * what the VM sends and what the bridge forwards to it, and libpcap does not say which. A frame
 * addressed to the port's own MAC, or from another port's, the host's, the tap's own or its
 * bridge's MAC, is one forwarded to the VM (it is that sender's, checked as on a bridge) or the
 * host's own; the rest is the VM's. So a VM that takes a neighbour's MAC and address both is
 * not seen on its tap, as not on a bridge. */
/* A frame on a VM's tap from a MAC that is neither the VM's nor known: the bridge's MAC may have
 * changed (a Linux bridge with no address set takes its ports' lowest), or the tap joined a
 * bridge, since the capture last read them. Asking the capture to read them again now, as the
 * frame is processed, is later than the frame was sent, so the change is seen; at most every
 * 100 ms per interface, so a VM sending from many MACs costs a read per 100 ms. 1 if read. */
static int reread_iface_macs(dbg_sensor *s, int iface)
{
    if (!s->iface_macs_reader || s->now - s->iface_macs_read[iface] < 100000)
        return 0;
    s->iface_macs_read[iface] = s->now;
    s->iface_macs_reader(s, iface, s->ifaces[iface]);
    return 1;
}

const dbg_sensor_port *sn_tap_sender(dbg_sensor *s, const sn_pkt *p)
{
    const dbg_sensor_port *port = s->iface_port[p->iface];
    if (!port || memcmp(p->dst_mac, port->mac, 6) == 0)
        return NULL;
    /* the tap's host side itself (the kernel's IPv6 router solicitations and MLD reports when
     * the tap comes up) and the bridge's (its own router solicitations, neighbour solicitations
     * and MLD reports from its link-local, which the inventory seldom lists as a host address) */
    if (is_iface_host_mac(s, p->iface, p->src_mac))
        return NULL;
    if (memcmp(p->src_mac, port->mac, 6) != 0 &&
        (sn_is_host_mac(s, p->src_mac) || sn_inv_by_mac(s->inv, p->src_mac) ||
         (reread_iface_macs(s, p->iface) && is_iface_host_mac(s, p->iface, p->src_mac))))
        return NULL;
    return port;
}

const dbg_sensor_port *sn_sender_port(dbg_sensor *s, const sn_pkt *p)
{
    const dbg_sensor_port *port = sn_tap_sender(s, p); /* set only with an inventory */
    if (!port && s->have_inv)
        port = sn_inv_by_mac(s->inv, p->src_mac);
    return port;
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

/* fe80::/64 with the modified EUI-64 interface identifier of mac (RFC 4291 appendix A). */
static int is_eui64_link_local(const sn_ip *ip, const uint8_t *mac)
{
    static const uint8_t prefix[8] = {0xfe, 0x80};
    const uint8_t iid[8] = {(uint8_t)(mac[0] ^ 0x02), mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4],
                            mac[5]};
    return memcmp(ip->b, prefix, 8) == 0 && memcmp(ip->b + 8, iid, 8) == 0;
}

static int port_has_v6(const dbg_sensor_port *port)
{
    for (size_t i = 0; i < port->n_ips; i++) {
        sn_ip a;
        memcpy(a.b, port->ips[i], 16);
        if (!sn_ip_is_v4(&a))
            return 1;
    }
    return 0;
}

/* An IPv6 source on a VM's port: checked only when the inventory lists IPv6 addresses for the
 * port (many inventories know a VM's IPv4 address only). Allowed besides those: :: (duplicate
 * address detection) and the link-local address derived from the port's MAC (EUI-64);
 * multicast sources are never valid and left to the receivers. */
static void ip6_check(dbg_sensor *s, const sn_pkt *p, const dbg_sensor_port *port,
                      const char *why)
{
    if (p->src.b[0] == 0xff || !port_has_v6(port) || sn_inv_port_has_ip(port, &p->src) ||
        is_eui64_link_local(&p->src, port->mac))
        return;
    raise_spoof(s, p, "ip_spoof", port, why);
}

/* IPv6 counterpart of the checks below: only IPv6 packets come here. */
static void detect_spoof6(dbg_sensor *s, const sn_pkt *p)
{
    if (sn_ip_is_zero(&p->src))
        return;
    const dbg_sensor_port *tap_port = sn_tap_sender(s, p);
    if (tap_port) {
        if (memcmp(tap_port->mac, p->src_mac, 6) != 0)
            raise_spoof(s, p, "mac_spoof", tap_port, "source MAC is not the port's MAC");
        else
            ip6_check(s, p, tap_port, "source IPv6 address is not assigned to the port");
        return;
    }
    if (p->src_by_mac) {
        ip6_check(s, p, p->src_by_mac, "source IPv6 address is not assigned to this VM's port");
        return;
    }
    const dbg_sensor_port *by_ip = p->src_by_ip;
    if (by_ip && (by_ip->vlan < 0 || p->vlan < 0 || by_ip->vlan == p->vlan) &&
        !sn_is_host_mac(s, p->src_mac))
        raise_spoof(s, p, "mac_spoof", by_ip,
                    "the VM's address sent from a MAC the inventory does not assign to it");
}

void sn_detect_spoof(dbg_sensor *s, const sn_pkt *p)
{
    if (sn_inv_is_host_addr(s->inv, &p->src)) {
        sn_learn_host_mac(s, p->src_mac);
        return;
    }
    if (__builtin_expect(!sn_ip_is_v4(&p->src), 0)) {
        detect_spoof6(s, p);
        return;
    }
    if (exempt_source(&p->src))
        return;
    const dbg_sensor_port *tap_port = sn_tap_sender(s, p);
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
        !sn_is_host_mac(s, p->src_mac))
        raise_spoof(s, p, "mac_spoof", by_ip,
                    "the VM's address sent from a MAC the inventory does not assign to it");
}
