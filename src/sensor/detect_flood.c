/* SYN, UDP and ICMP floods: packets per window (flood.window_s) per target and per source.
 * A target over the threshold whose traffic mostly comes from one source is reported with that
 * source; spoofed or distributed floods are reported per target. Only requests count (SYN
 * without ACK, ICMP echo/timestamp/info requests, any UDP), so a victim's replies never make
 * it look like an attacker. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

/* Adds one packet to the cells of hash h and returns the count-min estimate for the window. A
 * cell of an older window starts again from zero (no branch: most cells of a busy line are
 * current, most of a quiet one are not). */
static inline uint32_t rate_hit(dbg_sensor *s, uint64_t h, uint32_t window)
{
    sn_rate_cell *line = &s->rates[(h & (SN_RATE_LINES - 1)) * 8];
    unsigned a = (unsigned)(h >> 32) & 7, b = (unsigned)(h >> 35) & 7;
    if (b == a)
        b = (a + 1) & 7;
    sn_rate_cell *c0 = &line[a], *c1 = &line[b];
    uint32_t n0 = (c0->window == window ? c0->count : 0) + 1;
    uint32_t n1 = (c1->window == window ? c1->count : 0) + 1;
    c0->window = c1->window = window;
    c0->count = n0;
    c1->count = n1;
    return n0 < n1 ? n0 : n1;
}

/* A fast SYN scan is a high SYN rate too; SYNs spread over many ports of the target are the
 * port scan the scan detector reports, not a flood. Only while the scan goes on: the counter
 * stays at the threshold for the scan window (5 minutes), and a flood on one port that follows
 * the scan (c->last, its last new port, before this flood window) is a flood. */
static int is_port_scan(dbg_sensor *s, const sn_pkt *p)
{
    const sn_counter *c = sn_counter_find(s, 0, p->vlan, 0, &p->src, &p->dst);
    return c && c->count >= s->r.port_scan_ports && c->last >= s->flood_start;
}

/* One flood alert. by_target: the target's rate crossed (the source is named when it sent at
 * least half of it); else the source's rate crossed (the target is named likewise). */
static void raise_flood(dbg_sensor *s, const sn_pkt *p, const char *type, int by_target,
                        uint32_t n, uint32_t other, unsigned threshold, int64_t start)
{
    char ip[46];
    sn_ip_format(by_target ? &p->dst : &p->src, ip, sizeof(ip));
    int dominant = other * 2 >= n;
    if (by_target)
        snprintf(s->evidence, sizeof(s->evidence),
                 "%u %s packets to %s in %gs (threshold %u per target); %s", n, type, ip,
                 s->r.flood_window_s, threshold,
                 dominant ? "mostly from one source" : "from many (spoofed?) sources");
    else
        snprintf(s->evidence, sizeof(s->evidence),
                 "%u %s packets from %s in %gs (threshold %u per source)", n, type, ip,
                 s->r.flood_window_s, threshold);
    snprintf(s->extra, sizeof(s->extra),
             "{\"flood\":{\"scope\":\"%s\",\"packets_in_window\":%u,\"window_s\":%g}}",
             by_target ? "target" : "source", n, s->r.flood_window_s);
    char type_name[16];
    snprintf(type_name, sizeof(type_name), "%s_flood", type);
    int name_src = !by_target || dominant, name_dst = by_target || dominant;
    sn_raise(s, type_name, sn_attack_clause(s, p->vlan, &p->src, p->src_mac), p->vlan,
             name_src ? &p->src : NULL, name_src ? p->src_mac : NULL, name_dst ? &p->dst : NULL,
             NULL, p->proto == 6 || p->proto == 17 ? p->dport : -1, p->proto, start, s->now, n,
             (uint64_t)n * p->wirelen);
}

/* A rate reached its threshold (rare): which flood, and whether the scan detector has it. */
static __attribute__((noinline, cold)) void crossed(dbg_sensor *s, const sn_pkt *p, uint32_t nin,
                                                   uint32_t nout, unsigned threshold,
                                                   int64_t start)
{
    const char *type = p->proto == 6 ? "syn" : p->proto == 17 ? "udp" : "icmp";
    if (p->proto == 6 && is_port_scan(s, p))
        return;
    if (nin == threshold)
        raise_flood(s, p, type, 1, nin, nout, threshold, start);
    if (nout == threshold)
        raise_flood(s, p, type, 0, nout, nin, threshold, start);
}

void sn_detect_flood(dbg_sensor *s, const sn_pkt *p)
{
    unsigned threshold = p->proto == 6    ? s->r.syn_flood_pkts
                         : p->proto == 17 ? s->r.udp_flood_pkts
                                          : s->r.icmp_flood_pkts;
    /* the window number changes once a window: not a division per packet */
    if (s->now < s->flood_start || s->now - s->flood_start >= s->flood_win) {
        s->flood_window = (uint32_t)(s->now / s->flood_win);
        s->flood_start = (int64_t)s->flood_window * s->flood_win;
    }
    uint32_t window = s->flood_window;
    /* the sketch hashes were computed when the frame was queued (has_rate) */
    uint32_t nin = rate_hit(s, p->rhash[0], window);
    uint32_t nout = rate_hit(s, p->rhash[1], window);
    /* the estimate grows by at most one per packet: equality fires once per window */
    if (nin == threshold || nout == threshold)
        crossed(s, p, nin, nout, threshold, s->flood_start);
}
