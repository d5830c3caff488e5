/* Rogue address-handing servers: a DHCP OFFER/ACK/NAK, a DHCPv6 ADVERTISE/REPLY (UDP 547) or
 * an IPv6 router advertisement from a sender that is neither one of the host's own addresses
 * or MACs (libvirt's dnsmasq / radvd) nor listed in dhcp.servers, or sent from a VM's port.
 * Without an inventory or list, the first server (router) of each kind seen on a VLAN is
 * trusted and any other is rogue. IPv6 servers and routers answer from link-local addresses
 * the inventory rarely lists: for them the host is also known by its learned MACs, and unless
 * dhcp.servers lists IPv6 servers, the first non-VM one per VLAN is trusted. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static int tofu_check(dbg_sensor *s, const sn_pkt *p, int kind, const sn_ip *server)
{
    size_t i;
    for (i = 0; i < 16; i++)
        if (s->dhcp_tofu[i].set && s->dhcp_tofu[i].kind == kind &&
            s->dhcp_tofu[i].vlan == p->vlan)
            return sn_ip_eq(&s->dhcp_tofu[i].server, server) ? 0 : 1;
    for (i = 0; i < 16; i++) {
        if (!s->dhcp_tofu[i].set) {
            s->dhcp_tofu[i].set = 1;
            s->dhcp_tofu[i].kind = kind;
            s->dhcp_tofu[i].vlan = (int16_t)p->vlan;
            s->dhcp_tofu[i].server = *server;
            break;
        }
    }
    return 0;
}

/* IPv6 servers answer from link-local addresses that inventories seldom list, so only an
 * explicit IPv6 entry in dhcp.servers makes every other IPv6 server rogue. */
static int have_v6_authority(const dbg_sensor *s)
{
    for (size_t i = 0; i < s->n_dhcp_auth; i++)
        if (!sn_ip_is_v4(&s->dhcp_auth[i]))
            return 1;
    return 0;
}

int sn_is_dhcp_server(const dbg_sensor *s, const sn_ip *ip)
{
    for (size_t i = 0; i < s->n_dhcp_auth; i++)
        if (sn_ip_eq(&s->dhcp_auth[i], ip))
            return 1;
    return 0;
}

void sn_detect_rogue_server(dbg_sensor *s, const sn_pkt *p, int kind)
{
    const sn_ip *server = &p->src;
    const char *why = NULL;
    const dbg_sensor_port *vm = sn_sender_port(s, p);
    int listed = sn_is_dhcp_server(s, server);
    int host = s->have_inv && sn_inv_is_host_addr(s->inv, server);
    if (kind != SN_SRV_DHCP4 && !vm && sn_is_host_mac(s, p->src_mac))
        host = 1;
    const char *what = kind == SN_SRV_ROUTER ? "router" : "DHCP server";
    char whybuf[96];
    if (vm && !listed) {
        snprintf(whybuf, sizeof(whybuf), "%s answering from a VM's port", what);
        why = whybuf;
    } else if (listed || host) {
        return;
    } else if (kind == SN_SRV_DHCP4 ? (s->n_dhcp_auth || (s->have_inv && s->inv->n_host_addrs))
                                    : have_v6_authority(s)) {
        snprintf(whybuf, sizeof(whybuf), "%s not among the host's addresses or dhcp.servers",
                 what);
        why = whybuf;
    } else if (tofu_check(s, p, kind, server)) {
        snprintf(whybuf, sizeof(whybuf), "a second %s on this network", what);
        why = whybuf;
    } else {
        return;
    }
    char ip[46], mac[18];
    sn_ip_format(server, ip, sizeof(ip));
    sn_mac_format(p->src_mac, mac, sizeof(mac));
    const char *msg;
    int dport;
    if (kind == SN_SRV_DHCP4) {
        msg = p->dhcp_type == 2 ? "DHCP OFFER" : p->dhcp_type == 5 ? "DHCP ACK" : "DHCP NAK";
        dport = 68;
    } else if (kind == SN_SRV_DHCP6) {
        msg = p->dhcp_type == SN_DHCP6 + 2 ? "DHCPv6 ADVERTISE" : "DHCPv6 REPLY";
        dport = 546;
    } else {
        msg = "router advertisement";
        dport = -1;
    }
    snprintf(s->evidence, sizeof(s->evidence), "%s from %s (%s): %s", msg, ip, mac, why);
    snprintf(s->extra, sizeof(s->extra), "{\"protocol\":\"%s\"}",
             kind == SN_SRV_DHCP4 ? "dhcp" : kind == SN_SRV_DHCP6 ? "dhcpv6" : "ndp");
    sn_raise(s, "rogue_dhcp", "8.2.3.2b", p->vlan, &p->src, p->src_mac, NULL, NULL, dport,
             p->proto, s->now, s->now, 1, p->wirelen);
}

void sn_detect_dhcp(dbg_sensor *s, const sn_pkt *p)
{
    if (p->dhcp_type >= SN_DHCP6) {
        /* ADVERTISE (2) and REPLY (7) hand out addresses / configuration */
        if (p->dhcp_type == SN_DHCP6 + 2 || p->dhcp_type == SN_DHCP6 + 7)
            sn_detect_rogue_server(s, p, SN_SRV_DHCP6);
        return;
    }
    if (p->sport != 67 || (p->dhcp_type != 2 && p->dhcp_type != 5 && p->dhcp_type != 6))
        return;
    sn_detect_rogue_server(s, p, SN_SRV_DHCP4);
}
