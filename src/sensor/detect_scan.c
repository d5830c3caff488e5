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
