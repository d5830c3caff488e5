/* ARP spoofing, three ways (libvirt's no-arp-spoofing filter drops such packets silently; we
 * record them): (1) the inventory assigns the claimed IP to another VM's MAC (a gratuitous
 * ARP claiming another VM's address); (2) an IP learned with one MAC within arp.binding_ttl_s
 * is claimed by another; (3) an unsolicited unicast ARP reply: nobody asked the reply's target
 * for that address within arp.request_ttl_s (ARP cache poisoning). */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static const uint8_t zero_mac[6];
static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void raise_arp(dbg_sensor *s, const sn_pkt *p, const char *why, const uint8_t *owner_mac)
{
    char ip[46], claimed_by[18], owner[18];
    sn_ip_format(&p->arp_spa, ip, sizeof(ip));
    sn_mac_format(p->arp_sha, claimed_by, sizeof(claimed_by));
    sn_mac_format(owner_mac, owner, sizeof(owner));
    snprintf(s->evidence, sizeof(s->evidence), "ARP %s: %s claims %s%s%s (%s)",
             p->arp_op == 2 ? "reply" : "request", claimed_by, ip, owner_mac ? " which belongs to " : "",
             owner_mac ? owner : "", why);
    snprintf(s->extra, sizeof(s->extra), "{\"arp\":{\"op\":%u,\"claimed_ip\":\"%s\",\"reason\":\"%s\"}}",
             p->arp_op, ip, why);
    /* The attacker is identified by its MAC: the IP it claims is not its own. */
    sn_raise(s, "arp_spoof", "8.2.3.2b", p->vlan, NULL, p->arp_sha, &p->arp_spa, owner_mac, -1, 0,
             s->now, s->now, 1, p->wirelen);
}

void sn_detect_arp(dbg_sensor *s, const sn_pkt *p)
{
    if (p->arp_op != 1 && p->arp_op != 2)
        return;
    if (p->arp_op == 1 && !sn_ip_is_zero(&p->arp_spa)) {
        sn_arp_request key;
        memset(&key, 0, sizeof(key));
        key.k.vlan = (int16_t)p->vlan;
        key.k.requester = p->arp_spa;
        key.k.target = p->arp_tpa;
        sn_table_get(&s->arp_requests, &key.k, s->now, 1, NULL);
    }
    if (p->arp_op == 1)
        sn_detect_arp_sweep(s, p);
    if (sn_ip_is_zero(&p->arp_spa)) /* ARP probe (RFC 5227): claims nothing */
        return;

    int host_mac = 0;
    if (s->have_inv && sn_inv_is_host_addr(s->inv, &p->arp_spa)) {
        host_mac = 1;
        /* a VM claiming the host's address does not make its MAC the host's (exempt from the
         * sweep and spoof checks from then on) */
        if (!sn_inv_by_mac(s->inv, p->arp_sha) && !sn_tap_sender(s, p))
            sn_learn_host_mac(s, p->arp_sha);
    }
    if (s->have_inv && !host_mac) {
        const dbg_sensor_port *owner = sn_inv_by_ip(s->inv, &p->arp_spa, p->vlan, p->arp_sha);
        if (owner && memcmp(owner->mac, p->arp_sha, 6) != 0) {
            raise_arp(s, p, "address assigned to another VM by the inventory", owner->mac);
            return;
        }
    }

    sn_arp_binding key;
    memset(&key, 0, sizeof(key));
    key.k.vlan = (int16_t)p->vlan;
    key.k.ip = p->arp_spa;
    int is_new = 0;
    sn_arp_binding *b = sn_table_get(&s->arp_bindings, &key.k, s->now, 1, &is_new);
    if (is_new) {
        memcpy(b->mac, p->arp_sha, 6);
        b->since = s->now;
    } else if (memcmp(b->mac, p->arp_sha, 6) != 0 && memcmp(b->mac, zero_mac, 6) != 0) {
        raise_arp(s, p, "address bound to another MAC recently", b->mac);
        return; /* keep the first binding so repeats fold into one incident */
    }

    int gratuitous = memcmp(p->arp_spa.b, p->arp_tpa.b, 16) == 0;
    if (p->arp_op == 2 && !gratuitous && p->dst_mac && memcmp(p->dst_mac, bcast_mac, 6) != 0) {
        sn_arp_request rk;
        memset(&rk, 0, sizeof(rk));
        rk.k.vlan = (int16_t)p->vlan;
        rk.k.requester = p->arp_tpa;
        rk.k.target = p->arp_spa;
        if (!sn_table_get(&s->arp_requests, &rk.k, s->now, 0, NULL))
            raise_arp(s, p, "unsolicited ARP reply", NULL);
    }
}
