/* IPv6 neighbour discovery spoofing, the IPv6 form of ARP spoofing (reported as arp_spoof with
 * "protocol":"ndp"): a neighbour advertisement (or a neighbour solicitation's source
 * link-layer option) that (1) claims an address the inventory assigns to another VM's port,
 * (2) carries a link-layer address option that is not the sender's own MAC (redirecting the
 * victims' traffic to a third station), or (3) claims an address bound to another MAC within
 * arp.binding_ttl_s (an unsolicited override is the IPv6 gratuitous-ARP attack). Router
 * advertisements go to the rogue server check. Only ND messages (nd set) come here. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static void raise_ndp(dbg_sensor *s, const sn_pkt *p, const sn_ip *claimed, const uint8_t *mac,
                      const char *why, const uint8_t *owner_mac)
{
    char ip[46], claimer[18], owner[18], lla[18];
    sn_ip_format(claimed, ip, sizeof(ip));
    sn_mac_format(p->src_mac, claimer, sizeof(claimer));
    sn_mac_format(mac, lla, sizeof(lla));
    sn_mac_format(owner_mac, owner, sizeof(owner));
    int na = p->icmp_type == SN_ND_NA;
    const char *msg = !na ? "neighbor solicitation"
                      : (p->nd_flags & 0x40) ? "neighbor advertisement"
                                             : "unsolicited neighbor advertisement";
    snprintf(s->evidence, sizeof(s->evidence), "NDP %s: %s claims %s at %s%s%s (%s)", msg,
             claimer, ip, lla, owner_mac ? " which belongs to " : "", owner_mac ? owner : "",
             why);
    snprintf(s->extra, sizeof(s->extra),
             "{\"protocol\":\"ndp\",\"ndp\":{\"type\":\"%s\",\"claimed_ip\":\"%s\","
             "\"link_layer_address\":\"%s\",\"override\":%s,\"solicited\":%s,\"reason\":\"%s\"}}",
             na ? "neighbor_advertisement" : "neighbor_solicitation", ip, lla,
             na && (p->nd_flags & 0x20) ? "true" : "false",
             na && (p->nd_flags & 0x40) ? "true" : "false", why);
    /* as for ARP: the attacker is its MAC, the target the address it claims */
    sn_raise(s, "arp_spoof", "8.2.3.2b", p->vlan, NULL, p->src_mac, claimed, owner_mac, -1, 58,
             s->now, s->now, 1, p->wirelen);
}

void sn_detect_ndp(dbg_sensor *s, const sn_pkt *p)
{
    if (p->icmp_type == SN_ND_RA) {
        sn_detect_rogue_server(s, p, SN_SRV_ROUTER);
        return;
    }
    if (p->icmp_type != SN_ND_NA && p->icmp_type != SN_ND_NS)
        return;
    int na = p->icmp_type == SN_ND_NA;
    /* An NS binds its source address only through a source link-layer option; one from ::
     * (duplicate address detection) carries none and claims nothing. */
    if (!na && (!p->nd_has_lla || sn_ip_is_zero(&p->src)))
        return;
    const sn_ip *claimed = na ? &p->nd_target : &p->src;
    if (sn_ip_is_zero(claimed) || claimed->b[0] == 0xff)
        return;
    const uint8_t *mac = p->nd_has_lla ? p->nd_lla : p->src_mac;
    if (s->have_inv && sn_inv_is_host_addr(s->inv, claimed)) {
        sn_learn_host_mac(s, p->src_mac);
        return;
    }
    /* the host (gateway, proxy ND) answers for others */
    if (sn_is_host_mac(s, p->src_mac))
        return;
    if (memcmp(mac, p->src_mac, 6) != 0) {
        raise_ndp(s, p, claimed, mac,
                  na ? "target link-layer address is not the sender's MAC"
                     : "source link-layer address is not the sender's MAC",
                  NULL);
        return;
    }
    if (s->have_inv) {
        const dbg_sensor_port *owner = sn_inv_by_ip(s->inv, claimed, p->vlan, p->src_mac);
        if (owner && memcmp(owner->mac, mac, 6) != 0) {
            raise_ndp(s, p, claimed, mac, "address assigned to another VM by the inventory",
                      owner->mac);
            return;
        }
    }
    sn_arp_binding key;
    memset(&key, 0, sizeof(key));
    key.k.vlan = (int16_t)p->vlan;
    key.k.ip = *claimed;
    int is_new = 0;
    sn_arp_binding *b = sn_table_get(&s->arp_bindings, &key.k, s->now, 1, &is_new);
    if (!b)
        return;
    if (is_new) {
        memcpy(b->mac, mac, 6);
        b->since = s->now;
    } else if (memcmp(b->mac, mac, 6) != 0) {
        raise_ndp(s, p, claimed, mac,
                  na && !(p->nd_flags & 0x40) ? "unsolicited advertisement overriding an "
                                                "address bound to another MAC recently"
                                              : "address bound to another MAC recently",
                  b->mac);
    }
}
