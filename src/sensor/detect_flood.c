/* SYN, UDP and ICMP floods: packets per window (flood.window_s) per target and per source.
 * A target over the threshold whose traffic mostly comes from one source is reported with that
 * source; spoofed or distributed floods are reported per target. Only requests count (SYN
 * without ACK, ICMP echo/timestamp/info requests, any UDP), so a victim's replies never make
 * it look like an attacker. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

static uint32_t rate_hit(sn_rate *r, int64_t now, int64_t window)
{
    if (now - r->start >= window) {
        r->start = now;
        r->count = 0;
        r->alerted = 0;
    }
    return ++r->count;
}

/* A fast SYN scan is a high SYN rate too; SYNs spread over many ports of the target are the
 * port scan the scan detector reports, not a flood. */
static int is_port_scan(dbg_sensor *s, const sn_pkt *p)
{
    sn_counter key;
    memset(&key, 0, sizeof(key));
    key.k.vlan = (int16_t)p->vlan;
    key.k.kind = 0;
    key.k.src = p->src;
    key.k.dst = p->dst;
    const sn_counter *c = sn_table_get(&s->counters, &key.k, s->now, 0, NULL);
    return c && c->count >= s->r.port_scan_ports;
}

static void check(dbg_sensor *s, const sn_pkt *p, const char *type, sn_rate *in, sn_rate *out,
                  unsigned threshold)
{
    int64_t win = sn_secs(s->r.flood_window_s);
    uint32_t nin = in ? rate_hit(in, s->now, win) : 0;
    uint32_t nout = out ? rate_hit(out, s->now, win) : 0;
    char sip[46], dip[46];
    if (in && nin >= threshold && !in->alerted) {
        in->alerted = 1;
        if (p->proto == 6 && is_port_scan(s, p))
            return;
        sn_ip_format(&p->dst, dip, sizeof(dip));
        int one_source = nout * 2 >= nin;
        snprintf(s->evidence, sizeof(s->evidence),
                 "%u %s packets to %s in %gs (threshold %u per target); %s", nin, type, dip,
                 s->r.flood_window_s, threshold,
                 one_source ? "mostly from one source" : "from many (spoofed?) sources");
        snprintf(s->extra, sizeof(s->extra),
                 "{\"flood\":{\"scope\":\"target\",\"packets_in_window\":%u,\"window_s\":%g}}",
                 nin, s->r.flood_window_s);
        char type_name[16];
        snprintf(type_name, sizeof(type_name), "%s_flood", type);
        sn_raise(s, type_name, sn_attack_clause(s, &p->src, p->src_mac), p->vlan,
                 one_source ? &p->src : NULL, one_source ? p->src_mac : NULL, &p->dst, NULL,
                 p->proto == 6 || p->proto == 17 ? p->dport : -1, p->proto,
                 in->start, s->now, nin, (uint64_t)nin * p->wirelen);
    }
    if (out && nout >= threshold && !out->alerted) {
        out->alerted = 1;
        if (p->proto == 6 && is_port_scan(s, p))
            return;
        sn_ip_format(&p->src, sip, sizeof(sip));
        int one_target = nin * 2 >= nout;
        snprintf(s->evidence, sizeof(s->evidence),
                 "%u %s packets from %s in %gs (threshold %u per source)", nout, type, sip,
                 s->r.flood_window_s, threshold);
        snprintf(s->extra, sizeof(s->extra),
                 "{\"flood\":{\"scope\":\"source\",\"packets_in_window\":%u,\"window_s\":%g}}",
                 nout, s->r.flood_window_s);
        char type_name[16];
        snprintf(type_name, sizeof(type_name), "%s_flood", type);
        sn_raise(s, type_name, sn_attack_clause(s, &p->src, p->src_mac), p->vlan, &p->src,
                 p->src_mac, one_target ? &p->dst : NULL, NULL,
                 p->proto == 6 || p->proto == 17 ? p->dport : -1, p->proto, out->start, s->now,
                 nout, (uint64_t)nout * p->wirelen);
    }
}

void sn_detect_flood(dbg_sensor *s, const sn_pkt *p, sn_host *src, sn_host *dst)
{
    if (p->proto == 6)
        check(s, p, "syn", dst ? &dst->syn[0] : NULL, src ? &src->syn[1] : NULL,
              s->r.syn_flood_pkts);
    else if (p->proto == 17)
        check(s, p, "udp", dst ? &dst->udp[0] : NULL, src ? &src->udp[1] : NULL,
              s->r.udp_flood_pkts);
    else
        check(s, p, "icmp", dst ? &dst->icmp[0] : NULL, src ? &src->icmp[1] : NULL,
              s->r.icmp_flood_pkts);
}
