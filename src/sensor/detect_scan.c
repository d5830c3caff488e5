/* Port scan (vertical: one source, many ports on one host) and host sweep (horizontal: one
 * source, many hosts on one port), counted over first contacts in a window as Zeek's scan
 * policy does (defaults 15 ports / 25 hosts per 5 minutes). Only initiations count (a TCP SYN
 * without ACK, a new UDP flow, an ICMP echo request), so replies to spoofed traffic
 * (backscatter: SYN-ACKs, resets, unreachables) are never a scan. */
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
        sn_raise(s, "port_scan", sn_attack_clause(s, &p->src, p->src_mac), p->vlan, &p->src,
                 p->src_mac, &p->dst, NULL, -1, p->proto, v->first, s->now, v->pkts, v->bytes);
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
        sn_raise(s, "host_sweep", sn_attack_clause(s, &p->src, p->src_mac), p->vlan, &p->src,
                 p->src_mac, NULL, NULL, dport, p->proto, h->first, s->now, h->pkts, h->bytes);
    }
    sn_detect_worm_outbound(s, p, h);
    return 1;
}

/* ARP sweep: a host sweep at addresses on the local segment that do not answer never gets past
 * ARP (nmap -sn, arp-scan), so the IP counters above never see it. Counted over distinct
 * targets of ARP requests with the host sweep's threshold and window. Called for ARP frames
 * only, so the IP path pays nothing for it. Exempt: probes (sender 0.0.0.0, RFC 5227 DAD) and
 * gratuitous ARP (sender == target) ask for nobody else; the host and the platform's DHCP
 * servers resolve every VM of the segment as a matter of course. */
void sn_detect_arp_sweep(dbg_sensor *s, const sn_pkt *p)
{
    const sn_ip *spa = &p->arp_spa, *tpa = &p->arp_tpa;
    if (sn_ip_is_zero(spa) || sn_ip_is_zero(tpa) || sn_ip_eq(spa, tpa))
        return;
    if (s->have_inv && sn_inv_is_host_addr(s->inv, spa))
        return;
    if (sn_is_host_mac(s, p->arp_sha))
        return;
    for (size_t i = 0; i < s->n_dhcp_auth; i++)
        if (sn_ip_eq(&s->dhcp_auth[i], spa))
            return;
    /* bit 62 keeps these apart from IP contacts (whose fields stop at bit 47) in the same set */
    uint64_t ch = sn_key_hash(sn_addr_hash(spa), sn_addr_hash(tpa),
                              (uint64_t)(uint16_t)p->vlan | (uint64_t)1 << 62);
    if (!sn_seen_add(&s->contacts, ch, s->now))
        return;
    sn_counter *h = sn_counter_get(s, 3, p->vlan, 0, spa, NULL, sn_secs(s->r.scan_window_s), NULL);
    h->count++;
    h->pkts++;
    h->bytes += p->wirelen;
    add_sample(h, tpa, 0);
    if (h->alerted || h->count < s->r.host_sweep_hosts)
        return;
    h->alerted = 1;
    char sip[46], t[4][46];
    sn_ip_format(spa, sip, sizeof(sip));
    for (int i = 0; i < 4; i++)
        sn_ip_format(&h->samples[i], t[i], sizeof(t[i]));
    snprintf(s->evidence, sizeof(s->evidence),
             "%s sent ARP requests for at least %u unique hosts (window threshold %u in %gs; "
             "first targets %s %s %s %s)",
             sip, h->count, s->r.host_sweep_hosts, s->r.scan_window_s, t[0], t[1], t[2], t[3]);
    snprintf(s->extra, sizeof(s->extra),
             "{\"scan\":{\"method\":\"arp\",\"unique_hosts\":%u}}", h->count);
    /* keyed on the broadcast address the requests went to, apart from the IP sweeps' incident */
    sn_ip bcast;
    sn_ip_from_v4(&bcast, (const uint8_t[4]){255, 255, 255, 255});
    sn_raise_keyed(s, "host_sweep", sn_attack_clause(s, spa, p->arp_sha), p->vlan, spa,
                   p->arp_sha, NULL, NULL, -1, 0, h->first, s->now, h->pkts, h->bytes, &bcast);
}
