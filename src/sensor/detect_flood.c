/* SYN, UDP and ICMP floods: packets per window (flood.window_s) per target and per source.
 * A target over the threshold whose traffic mostly comes from one source is reported with that
 * source; spoofed or distributed floods are reported per target. Only requests count (SYN
 * without ACK, ICMP echo/timestamp/info requests, any UDP), so a victim's replies never make
 * it look like an attacker. TCP floods without SYN (ACK, RST, FIN, SYN-ACK reflection:
 * tcp_flood) count the segments that belong to no connection (sn_tcp_unopened); a reset
 * answering its peer is a reply and does not count. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

/* The two cells of hash h: one line of the sketch, two different cells in it. */
static inline __attribute__((always_inline)) void rate_cells(dbg_sensor *s, uint64_t h,
                                                             sn_rate_cell **c0, sn_rate_cell **c1)
{
    sn_rate_cell *line = &s->rates[(h & (SN_RATE_LINES - 1)) * 8];
    unsigned a = (unsigned)(h >> 32) & 7, b = (unsigned)(h >> 35) & 7;
    if (b == a)
        b = (a + 1) & 7;
    *c0 = &line[a];
    *c1 = &line[b];
}

/* Adds one packet to the cells of hash h and returns the count-min estimate for the window. A
 * cell of an older window starts again from zero (no branch: most cells of a busy line are
 * current, most of a quiet one are not). */
static inline uint32_t rate_hit(dbg_sensor *s, uint64_t h, uint32_t window)
{
    sn_rate_cell *c0, *c1;
    rate_cells(s, h, &c0, &c1);
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
static void raise_flood(dbg_sensor *s, const sn_pkt *p, const char *type_name, const char *type,
                        int by_target, uint32_t n, uint32_t other, unsigned threshold,
                        int64_t start)
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
    int name_src = !by_target || dominant, name_dst = by_target || dominant;
    sn_raise(s, type_name, sn_attack_clause(s, p->vlan, &p->src, p->src_mac), p->vlan,
             name_src ? &p->src : NULL, name_src ? p->src_mac : NULL, name_dst ? &p->dst : NULL,
             NULL, p->proto == 6 || p->proto == 17 ? p->dport : -1, p->proto, start, s->now, n,
             (uint64_t)n * p->wirelen);
}

/* A rate reached its threshold (rare): which flood, and whether the scan detector has it. */
static __attribute__((noinline, cold)) void crossed(dbg_sensor *s, const sn_pkt *p,
                                                   const char *type_name, const char *type,
                                                   uint32_t nin, uint32_t nout,
                                                   unsigned threshold, int64_t start)
{
    if (p->proto == 6 && is_port_scan(s, p))
        return;
    if (nin == threshold)
        raise_flood(s, p, type_name, type, 1, nin, nout, threshold, start);
    if (nout == threshold)
        raise_flood(s, p, type_name, type, 0, nout, nin, threshold, start);
}

/* the window number changes once a window: not a division per packet */
static inline void flood_window_now(dbg_sensor *s)
{
    if (s->now < s->flood_start || s->now - s->flood_start >= s->flood_win) {
        s->flood_window = (uint32_t)(s->now / s->flood_win);
        s->flood_start = (int64_t)s->flood_window * s->flood_win;
    }
}

void sn_detect_flood(dbg_sensor *s, const sn_pkt *p)
{
    unsigned threshold = p->proto == 6    ? s->r.syn_flood_pkts
                         : p->proto == 17 ? s->r.udp_flood_pkts
                                          : s->r.icmp_flood_pkts;
    flood_window_now(s);
    uint32_t window = s->flood_window;
    /* the sketch hashes were computed when the frame was queued (has_rate) */
    uint32_t nin = rate_hit(s, p->rhash[0], window);
    uint32_t nout = rate_hit(s, p->rhash[1], window);
    /* the estimate grows by at most one per packet: equality fires once per window */
    if (nin == threshold || nout == threshold)
        crossed(s, p, p->proto == 6 ? "syn_flood" : p->proto == 17 ? "udp_flood" : "icmp_flood",
                p->proto == 6 ? "syn" : p->proto == 17 ? "udp" : "icmp", nin, nout, threshold,
                s->flood_start);
}

/* tcp_flood's sketch kind (syn 0, udp 1, icmp 2) */
#define RATE_KIND_TCP 3

/* Takes n packets off the cells of hash h for the window (never below zero: other keys share
 * the cells, and a withdrawal may cover a reset that did not count). */
static void rate_withdraw(dbg_sensor *s, uint64_t h, uint32_t window, uint32_t n)
{
    sn_rate_cell *c[2];
    rate_cells(s, h, &c[0], &c[1]);
    for (int i = 0; i < 2; i++)
        if (c[i]->window == window)
            c[i]->count = c[i]->count > n ? c[i]->count - n : 0;
}

static void tcp_flood_count(dbg_sensor *s, const sn_pkt *p)
{
    flood_window_now(s);
    uint32_t window = s->flood_window;
    uint32_t nin = rate_hit(s, sn_rate_hash(RATE_KIND_TCP, 0, p->vlan, sn_addr_hash(&p->dst)), window);
    uint32_t nout = rate_hit(s, sn_rate_hash(RATE_KIND_TCP, 1, p->vlan, sn_addr_hash(&p->src)), window);
    if (nin == s->r.tcp_flood_pkts || nout == s->r.tcp_flood_pkts)
        crossed(s, p, "tcp_flood", "TCP (no SYN, outside any connection)", nin, nout,
                s->r.tcp_flood_pkts, s->flood_start);
}

/* The flow turned out to be a connection (seen mid-way: the sensor started, or the flow
 * expired or was evicted while idle): what it counted is taken back when all of it fell in the
 * current window. The segment p does not count; the flow's earlier segments did (those from
 * p's side toward p->dst, the peer's toward p->src). */
static void tcp_flood_withdraw(dbg_sensor *s, const sn_pkt *p, const sn_flow *f, int b)
{
    flood_window_now(s);
    if (f->first < s->flood_start)
        return;
    uint32_t window = s->flood_window, mine = f->pkts[b] - 1, theirs = f->pkts[!b];
    uint64_t hs = sn_addr_hash(&p->src), hd = sn_addr_hash(&p->dst);
    if (mine) {
        rate_withdraw(s, sn_rate_hash(RATE_KIND_TCP, 0, p->vlan, hd), window, mine);
        rate_withdraw(s, sn_rate_hash(RATE_KIND_TCP, 1, p->vlan, hs), window, mine);
    }
    if (theirs) {
        rate_withdraw(s, sn_rate_hash(RATE_KIND_TCP, 0, p->vlan, hs), window, theirs);
        rate_withdraw(s, sn_rate_hash(RATE_KIND_TCP, 1, p->vlan, hd), window, theirs);
    }
}

/* nmap -sA / -sM: an ACK or FIN|ACK probe opened the flow and the peer reset it, as a host
 * does for a segment of no connection (RFC 9293 3.10.7.1); a connection seen mid-way is
 * answered otherwise. Counted as the prober's initiation, now that the reset says what it was;
 * an unanswered (filtered) probe stays uncounted. */
static void tcp_probe_refused(dbg_sensor *s, const sn_pkt *p)
{
    sn_pkt q = *p;
    q.src = p->dst;
    q.dst = p->src;
    q.sport = p->dport;
    q.dport = p->sport;
    memcpy(q.macs, p->macs + 6, 6);
    memcpy(q.macs + 6, p->macs, 6);
    q.dst_mac = p->src_mac ? q.macs : NULL;
    q.src_mac = p->dst_mac ? q.macs + 6 : NULL;
    q.tcp_flags = TCP_ACK;
    q.has_contact = q.has_scan = q.has_ahash = q.has_rate = 0;
    q.src_by_ip = q.src_by_mac = NULL;
    if (sn_ip_is_unicast_internal(&q.dst))
        sn_detect_scan_contact(s, &q);
}

void sn_tcp_unopened(dbg_sensor *s, const sn_pkt *p, sn_flow *f, int b, int from_init)
{
    unsigned flags = p->tcp_flags;
    if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) { /* opened now (a port reused) */
        f->tcp_open = 1;
        return;
    }
    if (!(flags & TCP_RST))
        f->tcp_sent |= (unsigned)(1 << b);
    if (f->tcp_sent == 3) {
        f->tcp_open = 1;
        tcp_flood_withdraw(s, p, f, b);
        return;
    }
    if ((flags & TCP_RST) && f->pkts[!b]) { /* a reply */
        if (!from_init && f->pkts[b] == 1 && (f->tcp_sent & (1 << !b)))
            tcp_probe_refused(s, p);
        return;
    }
    tcp_flood_count(s, p);
}
