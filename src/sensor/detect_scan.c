/* Port scan (vertical: one source, many ports on one host) and host sweep (horizontal: one
 * source, many hosts on one port), counted over first contacts in a window as Zeek's scan
 * policy does (defaults 15 ports / 25 hosts per 5 minutes). Only initiations count (a TCP SYN
 * without ACK or a FIN/NULL/Xmas probe, a new UDP flow, an ICMP echo request), so replies to
 * spoofed traffic (backscatter: SYN-ACKs, resets, unreachables) are never a scan. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static void add_sample(sn_counter *c, const sn_ip *ip, uint16_t port)
{
    if (c->n_samples < 4) {
        if (ip)
            c->samples[c->n_samples] = *ip;
        c->ports[c->n_samples] = port;
        c->n_samples++;
    }
}

int sn_detect_scan_first(dbg_sensor *s, const sn_pkt *p)
{
    uint16_t dport = (p->proto == 6 || p->proto == 17) ? p->dport : 0;
    int64_t win = sn_secs(s->r.scan_window_s);
    char sip[46], dip[46];

    sn_counter *v = sn_counter_get_h(s, 0, p->vlan, 0, &p->src, &p->dst,
                                     p->has_scan ? p->scan_hash[0]
                                                 : sn_counter_hash(0, p->vlan, 0, &p->src, &p->dst),
                                     win, NULL);
    v->count++;
    v->pkts++;
    v->bytes += p->wirelen;
    add_sample(v, NULL, dport);
    if (!v->alerted && v->count >= s->r.port_scan_ports) {
        v->alerted = 1;
        sn_ip_format(&p->src, sip, sizeof(sip));
        sn_ip_format(&p->dst, dip, sizeof(dip));
        snprintf(s->evidence, sizeof(s->evidence),
                 "%s scanned at least %u unique ports on host %s (window threshold %u in %gs; "
                 "first ports %u %u %u %u)",
                 sip, v->count, dip, s->r.port_scan_ports, s->r.scan_window_s, v->ports[0],
                 v->ports[1], v->ports[2], v->ports[3]);
        snprintf(s->extra, sizeof(s->extra),
                 "{\"scan\":{\"method\":\"window\",\"unique_ports\":%u}}", v->count);
        sn_raise(s, "port_scan", sn_attack_clause(s, p->vlan, &p->src, p->src_mac), p->vlan,
                 &p->src, p->src_mac, &p->dst, NULL, -1, p->proto, v->first, s->now, v->pkts,
                 v->bytes);
    }

    sn_counter *h = sn_counter_get_h(s, 1, p->vlan, dport, &p->src, NULL,
                                     p->has_scan ? p->scan_hash[1]
                                                 : sn_counter_hash(1, p->vlan, dport, &p->src, NULL),
                                     win, NULL);
    h->count++;
    h->pkts++;
    h->bytes += p->wirelen;
    add_sample(h, &p->dst, dport);
    if (!h->alerted && h->count >= s->r.host_sweep_hosts) {
        h->alerted = 1;
        sn_ip_format(&p->src, sip, sizeof(sip));
        snprintf(s->evidence, sizeof(s->evidence),
                 "%s scanned at least %u unique hosts on port %u/%s (window threshold %u in %gs)",
                 sip, h->count, dport, p->proto == 6 ? "tcp" : p->proto == 17 ? "udp" : "icmp",
                 s->r.host_sweep_hosts, s->r.scan_window_s);
        snprintf(s->extra, sizeof(s->extra),
                 "{\"scan\":{\"method\":\"window\",\"unique_hosts\":%u,\"port\":%u}}", h->count,
                 dport);
        sn_raise(s, "host_sweep", sn_attack_clause(s, p->vlan, &p->src, p->src_mac), p->vlan,
                 &p->src, p->src_mac, NULL, NULL, dport, p->proto, h->first, s->now, h->pkts,
                 h->bytes);
    }
    sn_detect_worm_outbound(s, p, h);
    return 1;
}

/* A sender IP of the host or of a platform DHCP server, which resolve every VM of the segment as
 * a matter of course; not when the frame is known to be a VM's that the inventory does not give
 * that address (a VM borrowing the gateway's address to hide a sweep). */
static int trusted_sender_ip(const dbg_sensor *s, const sn_ip *spa, const dbg_sensor_port *vm)
{
    int trusted = (s->have_inv && sn_inv_is_host_addr(s->inv, spa)) || sn_is_dhcp_server(s, spa);
    return trusted && !(vm && !sn_inv_port_has_ip(vm, spa));
}

/* The counter VLAN of a VM port's station: one counter over every VLAN its frames are tagged
 * with (a VLAN id has 12 bits, untagged is -1), so tags cannot split one VM's sweep. */
#define ARP_SWEEP_ANY_VLAN (-2)

/* The ARP sweep counter of kind 3 (a sender IP) or 4 (a station: MAC in the first 6 bytes) on
 * counter VLAN vlan, counting the request's target (an address on the frame's VLAN) if the set
 * has not seen it from who yet. */
static sn_counter *arp_sweep_count(dbg_sensor *s, const sn_pkt *p, uint32_t kind, const sn_ip *who,
                                   int vlan)
{
    /* bit 62 keeps these apart from IP contacts (whose fields stop at bit 47) in the same set,
     * bit 61 stations from sender IPs */
    uint64_t ch =
        sn_key_hash(sn_addr_hash(who), sn_addr_hash(&p->arp_tpa),
                    (uint64_t)(uint16_t)p->vlan | (uint64_t)1 << 62 | (uint64_t)(kind == 4) << 61);
    int new_target = sn_seen_add(&s->contacts, ch, s->now);
    sn_counter *c = sn_counter_get(s, kind, vlan, 0, who, NULL, sn_secs(s->r.scan_window_s), NULL);
    if (new_target) {
        c->count++;
        c->pkts++;
        c->bytes += p->wirelen;
        add_sample(c, &p->arp_tpa, 0);
    }
    return c;
}

/* ARP sweep: a host sweep at addresses on the local segment that do not answer never gets past
 * ARP (nmap -sn, arp-scan), so the IP counters above never see it. Counted over distinct
 * targets of ARP requests with the host sweep's threshold and window, twice: per sender IP and
 * per station (the VM's port when the frame is known to be from it, on every VLAN it tags,
 * else the source MAC, per VLAN), so a VM that changes the sender IP of its requests, forges
 * one per request or spreads them over VLAN tags is still one sweeper; one alert either way. Probes
 * (sender 0.0.0.0) are counted per station only: RFC 5227 probes one candidate address at a time,
 * and any holder of the target answers a probe, so one station probing 25 others is a sweep that
 * hides its address; a VM probing the addresses the inventory gives its port (duplicate address
 * detection) is not counted. Exempt: gratuitous ARP (sender == target) asks for nobody else; the
 * host's addresses and learned MACs and the platform's DHCP servers resolve every VM
 * (trusted_sender_ip). Called for ARP frames only, so the IP path pays nothing for it. */
void sn_detect_arp_sweep(dbg_sensor *s, const sn_pkt *p)
{
    const sn_ip *spa = &p->arp_spa, *tpa = &p->arp_tpa;
    int probe = sn_ip_is_zero(spa);
    if (sn_ip_is_zero(tpa) || sn_ip_eq(spa, tpa) || sn_is_host_mac(s, p->src_mac))
        return;
    const dbg_sensor_port *vm = sn_sender_port(s, p);
    if (probe ? vm && sn_inv_port_has_ip(vm, tpa) : trusted_sender_ip(s, spa, vm))
        return;
    const uint8_t *mac = vm ? vm->mac : p->src_mac;
    sn_ip station;
    memset(&station, 0, sizeof(station));
    memcpy(station.b, mac, 6);
    sn_counter *by_ip = probe ? NULL : arp_sweep_count(s, p, 3, spa, p->vlan);
    /* a VM's port is one station on every VLAN it tags; an unknown MAC is one per VLAN (a
     * router's subinterfaces share one MAC) */
    sn_counter *by_station = arp_sweep_count(s, p, 4, &station, vm ? ARP_SWEEP_ANY_VLAN : p->vlan);
    int ip_hit = by_ip && by_ip->count >= s->r.host_sweep_hosts;
    if ((!ip_hit && by_station->count < s->r.host_sweep_hosts) || by_station->alerted ||
        (by_ip && by_ip->alerted))
        return;
    by_station->alerted = 1;
    if (by_ip)
        by_ip->alerted = 1;
    const sn_counter *h = ip_hit ? by_ip : by_station;
    char sip[46], smac[18], t[4][46], threshold[300];
    sn_ip_format(spa, sip, sizeof(sip));
    sn_mac_format(mac, smac, sizeof(smac));
    for (int i = 0; i < 4; i++)
        sn_ip_format(&h->samples[i], t[i], sizeof(t[i]));
    snprintf(threshold, sizeof(threshold), "window threshold %u in %gs; first targets %s %s %s %s",
             s->r.host_sweep_hosts, s->r.scan_window_s, t[0], t[1], t[2], t[3]);
    if (ip_hit)
        snprintf(s->evidence, sizeof(s->evidence),
                 "%s sent ARP requests for at least %u unique hosts (%s)", sip, h->count,
                 threshold);
    else if (probe)
        snprintf(s->evidence, sizeof(s->evidence),
                 "%s sent ARP probes (sender 0.0.0.0) for at least %u unique hosts (%s)", smac,
                 h->count, threshold);
    else
        snprintf(s->evidence, sizeof(s->evidence),
                 "%s sent ARP requests for at least %u unique hosts from changing sender IPs, "
                 "the last %s (%s)", smac, h->count, sip, threshold);
    snprintf(s->extra, sizeof(s->extra),
             "{\"scan\":{\"method\":\"arp\",\"unique_hosts\":%u}}", h->count);
    /* keyed on the broadcast address the requests went to, apart from the IP sweeps' incident;
     * a station's sweep names no source IP (its sender IPs are not its own: attributed by MAC) */
    sn_ip bcast;
    sn_ip_from_v4(&bcast, (const uint8_t[4]){255, 255, 255, 255});
    const sn_ip *src = ip_hit ? spa : NULL;
    sn_raise_keyed(s, "host_sweep", sn_attack_clause(s, p->vlan, src, mac), p->vlan, src, mac, NULL,
                   NULL, -1, 0, h->first, s->now, h->pkts, h->bytes, &bcast);
}
