/* The sensor core: the per-packet pipeline (decode -> flow -> per-host state -> detectors),
 * incident folding and alert construction, timers and statistics. Pure: packets and time in,
 * dbg_alert structs out through a callback. All tables are sized once in dbg_sensor_new. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "dengbao/util.h"
#include "sensor/sensor_internal.h"


/* An IPv4 flow is one cache line (a 512-byte bucket of 8); an IPv6 flow exactly two. */
_Static_assert(sizeof(sn_flow) == 48 && sizeof(sn_flow4) == 64 && sizeof(sn_flow6) == 96,
               "flow entries are meant to be 64 (IPv4) and 96 (IPv6) bytes");
_Static_assert(offsetof(sn_flow4, k) == SN_FLOW_KEY_OFF && offsetof(sn_flow6, k) == SN_FLOW_KEY_OFF,
               "both flow keys follow the common part");
/* Counters and hosts start on a cache line; what a lookup touches is their leading lines. */
_Static_assert(sizeof(sn_counter) == 192, "sn_counter is meant to be 192 bytes");
_Static_assert(sizeof(sn_host) == 256, "sn_host is meant to be 256 bytes");
_Static_assert(SN_PENDING_MAX <= 65536, "pending slots must fit sn_flow.pend_slot");

static const char *const decode_event_names[DEC_EV_KINDS] = {
    "truncated_ethernet", "bad_arp", "bad_ip", "truncated_l4",
    "bad_tcp",            "bad_dhcp", "ip_fragment", "unknown_ethertype", "bad_nd",
    "too_many_vlan_tags",
};
_Static_assert(DEC_EV_KINDS <= sizeof(((dbg_sensor_stats *)0)->decode_events) / sizeof(uint64_t),
               "decode event kinds fit the stats");

const char *dbg_sensor_decode_event_name(int kind)
{
    return kind >= 0 && kind < DEC_EV_KINDS ? decode_event_names[kind] : "?";
}

/* ---- flow tables ---- */
uint64_t sn_flow_id(const sn_flow *f)
{
    sn_flow_key6 k;
    sn_flow_key_of(f, &k);
    uint64_t h = sn_hash(&k, sizeof(k)) ^ (uint64_t)f->first * 0x9e3779b97f4a7c15ull;
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 29;
    return (h & ((1ull << 51) - 1)) | 1;
}

static void flow_record(dbg_sensor *s, const sn_flow *f, const char *reason)
{
    if (!s->on_flow)
        return;
    dbg_sensor_flow_record r;
    memset(&r, 0, sizeof(r));
    sn_flow_key6 k;
    sn_flow_key_of(f, &k);
    int ib = f->init_is_b;
    r.first_us = f->first;
    r.last_us = f->h.last;
    memcpy(r.src, ib ? k.b.b : k.a.b, 16);
    memcpy(r.dst, ib ? k.a.b : k.b.b, 16);
    r.sport = ib ? k.port_b : k.port_a;
    r.dport = ib ? k.port_a : k.port_b;
    r.proto = k.proto;
    r.vlan = k.vlan;
    r.pkts_toserver = f->pkts[ib];
    r.pkts_toclient = f->pkts[!ib];
    r.bytes_toserver = sn_flow_bytes(f, ib);
    r.bytes_toclient = sn_flow_bytes(f, !ib);
    r.reason = reason;
    r.flow_id = sn_flow_id(f);
    r.src_port = sn_attribute(s, k.vlan, ib ? &k.b : &k.a, NULL);
    r.dst_port = sn_attribute(s, k.vlan, ib ? &k.a : &k.b, NULL);
    s->on_flow(s->flow_ud, &r);
}

static void flow_evicted(void *ud, void *entry, int expired)
{
    dbg_sensor *s = ud;
    sn_flow *f = entry;
    if (f == s->last_flow) /* its way may take another key now: the shortcut must not */
        s->last_flow = NULL;
    if (f->trw_pending)
        sn_trw_outcome(s, f, 0);
    flow_record(s, f, expired ? "timeout" : "evicted");
}

/* The flow key: both directions map to one key; from_b says which side sent this packet. A
 * frame of the same flow as the one queued just before it (a handshake, a burst: most frames of
 * a busy flow) takes its hash, and its lookups are skipped (sn_table_touch_held). fast: the
 * frame is one sn_decode_fast_v4 took (see queue_keys). */
static inline __attribute__((always_inline)) void flow_key(sn_pkt *p, const sn_pkt *prev,
                                                           const uint8_t *frame, int fast)
{
    uint16_t sp = p->sport, dp = p->dport; /* 0 for ICMP: flows of two addresses */
    int v4 = fast || p->l3 == L3_IPV4;
    int vlan = fast ? -1 : p->vlan;
    uint32_t sa = 0, da = 0; /* IPv4: the addresses as 4-byte loads */
    int b;
    /* any consistent order of the two ends will do: (address, port) compared as one number
     * (an IPv4 address as it compares in the words of its mapped form) */
    if (v4) {
        memcpy(&sa, fast ? frame + 26 : p->src.b + 12, 4);
        memcpy(&da, fast ? frame + 30 : p->dst.b + 12, 4);
        b = ((uint64_t)sa << 16 | sp) > ((uint64_t)da << 16 | dp);
    } else {
        int c = p->src.w[0] != p->dst.w[0] ? (p->src.w[0] > p->dst.w[0] ? 1 : -1)
                : p->src.w[1] != p->dst.w[1] ? (p->src.w[1] > p->dst.w[1] ? 1 : -1) : 0;
        b = c > 0 || (c == 0 && sp > dp);
    }
    uint16_t pa = b ? dp : sp, pb = b ? sp : dp;
    /* the first word of both key kinds, put together in registers and stored whole (a load of
     * a word written in pieces stalls); the same-flow test below compares register values with
     * the previous frame's stored words, not the key just stored. It is also the hash's word of
     * the key's other fields. */
    uint64_t w0 = SN_WORD16(vlan, 0) | SN_WORD8(p->proto, 2) | SN_WORD16(pa, 4) | SN_WORD16(pb, 6);
    p->from_b = (uint8_t)b;
    p->has_flow = (uint8_t)(v4 ? SN_FLOW_V4 : SN_FLOW_V6);
    int same = prev->has_flow == p->has_flow;
    if (v4) {
        uint64_t w[2] = {w0, b ? SN_WORD32(da, 0) | SN_WORD32(sa, 4)
                               : SN_WORD32(sa, 0) | SN_WORD32(da, 4)};
        memcpy(&p->fkey.k4, w, sizeof(w));
        uint64_t q[2];
        memcpy(q, &prev->fkey.k4, sizeof(q));
        same &= ((q[0] ^ w[0]) | (q[1] ^ w[1])) == 0;
    } else {
        const sn_ip *x = b ? &p->dst : &p->src, *y = b ? &p->src : &p->dst;
        memcpy(&p->fkey.k6, &w0, sizeof(w0));
        p->fkey.k6.a = *x;
        p->fkey.k6.b = *y;
        const sn_flow_key6 *q = &prev->fkey.k6;
        uint64_t q0;
        memcpy(&q0, q, sizeof(q0));
        same = same && q0 == w0 && sn_ip_eq(&q->a, x) && sn_ip_eq(&q->b, y);
    }
    if (same) {
        p->fhash = prev->fhash;
        p->flow_same = 1;
        return;
    }
    /* the one place a flow hash is computed: from the two ends' address hashes, in key order */
    if (fast)
        sn_pkt_hash_addrs_v4(p, sa, da);
    else
        sn_pkt_hash_addrs(p);
    p->fhash = sn_key_hash(b ? p->hdst : p->hsrc, b ? p->hsrc : p->hdst, w0);
}

/* A packet's flow in one of the two tables (constant sizes: each call is its own inline
 * lookup): the flow of the frame processed just before when the key is the same (checked),
 * else the lookup, which inserts a new flow. */
static inline __attribute__((always_inline)) sn_flow *
flow_find(dbg_sensor *s, sn_table *t, const sn_pkt *p, const void *key, size_t key_len,
          size_t entry_size, int *is_new)
{
    /* the frame processed just before had the same key (flow_same, so the same table), so
     * last_flow, while set, is its entry */
    sn_flow *f = p->flow_same && s->last_flow
                     ? sn_table_touch_held(t, s->last_flow, entry_size, p->ts)
                     : NULL;
    if (f) {
        *is_new = 0;
        return f;
    }
    return sn_table_get_with(t, key, SN_FLOW_KEY_OFF, key_len, entry_size, entry_size, p->fhash,
                             p->ts, 1, is_new);
}

static inline __attribute__((always_inline)) sn_flow *
flow_update(dbg_sensor *s, const sn_pkt *p, int *is_new, int *from_b, int fast)
{
    int b = p->from_b;
    int v6 = !fast && p->has_flow == SN_FLOW_V6;
    sn_flow *f = v6 ? flow_find(s, &s->flows6, p, &p->fkey.k6, sizeof(sn_flow_key6),
                                sizeof(sn_flow6), is_new)
                    : flow_find(s, &s->flows4, p, &p->fkey.k4, sizeof(sn_flow_key4),
                                sizeof(sn_flow4), is_new);
    if (*is_new) {
        f->v6 = (uint8_t)v6;
        f->first = p->ts;
        /* A flow first seen on a SYN-ACK (backscatter, capture start) was begun by the peer. */
        int synack = p->proto == 6 && (p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK);
        f->init_is_b = (uint8_t)(synack ? !b : b);
        /* the usual TCP flow: seen opened, never passes sn_tcp_unopened */
        f->tcp_open = (uint8_t)((p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN);
        s->st.flows_total++;
    }
    if (f->pkts[b] != UINT32_MAX)
        f->pkts[b]++;
    sn_flow_add_bytes(f, b, p->wirelen);
    *from_b = b;
    s->last_flow = f;
    return f;
}

/* ---- host and counter state ---- */
/* A key is compared as 8-byte words right after it is built, so its words are put together in
 * registers and stored whole, padding included (no memset first): a load that spans several
 * smaller stores (the fields written one by one) waits for them to reach the cache instead of
 * being forwarded. Hashes are computed from the same register values, not read back. */
_Static_assert(offsetof(sn_host_key, ip) == 8, "host key: vlan word, then the address");
static void host_key(sn_host_key *k, int vlan, const sn_ip *ip)
{
    uint64_t w0 = SN_WORD16(vlan, 0);
    memcpy(k, &w0, sizeof(w0));
    k->ip = *ip;
}

/* A host's hash: sn_host_hash_a of its address's hash. */
uint64_t sn_host_hash(int vlan, const sn_ip *ip)
{
    return sn_host_hash_a(vlan, sn_addr_hash(ip));
}

/* Inline in the packet path's two lookups (a first contact's source, the responder of an
 * accepted first contact) and out of line for the detectors' rarer ones. */
static inline __attribute__((always_inline)) sn_host *
host_get(dbg_sensor *s, int vlan, const sn_ip *ip, uint64_t hash, int create)
{
    sn_host_key k;
    host_key(&k, vlan, ip);
    return sn_table_get_with(&s->hosts, &k, sizeof(sn_slot), sizeof(k), sizeof(sn_host),
                             SN_HOST_HOT, hash, s->now, create, NULL);
}

sn_host *sn_host_get_h(dbg_sensor *s, int vlan, const sn_ip *ip, uint64_t hash, int create)
{
    return host_get(s, vlan, ip, hash, create);
}

sn_host *sn_host_get(dbg_sensor *s, int vlan, const sn_ip *ip, int create)
{
    return sn_host_get_h(s, vlan, ip, sn_host_hash(vlan, ip), create);
}

/* A counter's hash: sn_counter_hash_a of its addresses' hashes. */
uint64_t sn_counter_hash(uint32_t kind, int vlan, uint16_t port, const sn_ip *src,
                         const sn_ip *dst)
{
    return sn_counter_hash_a(kind, vlan, port, sn_addr_hash(src), dst ? sn_addr_hash(dst) : 0);
}

const sn_counter *sn_counter_find(dbg_sensor *s, uint32_t kind, int vlan, uint16_t port,
                                  const sn_ip *src, const sn_ip *dst)
{
    sn_counter key;
    sn_counter_key(&key, kind, vlan, port, src, dst);
    return sn_table_get_h(&s->counters, &key.k, sn_counter_hash(kind, vlan, port, src, dst),
                          s->now, 0, NULL);
}

sn_counter *sn_counter_get(dbg_sensor *s, uint32_t kind, int vlan, uint16_t port,
                           const sn_ip *src, const sn_ip *dst, int64_t window, int *is_new)
{
    return sn_counter_get_h(s, kind, vlan, port, src, dst,
                            sn_counter_hash(kind, vlan, port, src, dst), window, is_new);
}

const dbg_sensor_port *sn_attribute(const dbg_sensor *s, int vlan, const sn_ip *ip,
                                    const uint8_t *mac)
{
    if (!s->have_inv)
        return NULL;
    /* A VM's MAC is the VM that put the frame on the wire, whatever address it sends from: by
     * the address first, a VM sending from another tenant's VM's address put its scan, and a
     * cross_tenant that VM never opened, in the other tenant's view. */
    const dbg_sensor_port *p = mac ? sn_inv_by_mac(s->inv, mac) : NULL;
    if (!p && ip)
        p = sn_inv_by_ip(s->inv, ip, vlan, mac);
    return p;
}

const char *sn_attack_clause(const dbg_sensor *s, int vlan, const sn_ip *src,
                             const uint8_t *src_mac)
{
    const dbg_sensor_port *p = sn_attribute(s, vlan, src, src_mac);
    return p && !p->is_mgmt ? "8.2.3.2a" : "8.2.3.2b";
}

/* is_src: the frame's sender, attributed by its MAC first (sn_attribute); a target by its
 * address first: a frame to a VM that routes for others (its MAC) is for the address's VM,
 * whose tenant must see the alert (cross_tenant names that VM). */
static const dbg_sensor_port *endpoint_port(const dbg_sensor *s, int vlan, const sn_ip *ip,
                                            const uint8_t *mac, int is_src)
{
    if (is_src || !s->have_inv)
        return sn_attribute(s, vlan, ip, mac);
    const dbg_sensor_port *p = ip ? sn_inv_by_ip(s->inv, ip, vlan, mac) : NULL;
    return p ? p : sn_attribute(s, vlan, NULL, mac);
}

static void fill_endpoint(const dbg_sensor *s, dbg_endpoint *e, int vlan, const sn_ip *ip,
                          const uint8_t *mac, int port, int is_src)
{
    memset(e, 0, sizeof(*e));
    e->port = port;
    if (ip)
        sn_ip_format(ip, e->ip, sizeof(e->ip));
    if (mac)
        sn_mac_format(mac, e->mac, sizeof(e->mac));
    const dbg_sensor_port *p = endpoint_port(s, vlan, ip, mac, is_src);
    if (p) {
        snprintf(e->vm_name, sizeof(e->vm_name), "%s", p->vm_name);
        snprintf(e->vm_uuid, sizeof(e->vm_uuid), "%s", p->vm_uuid);
        snprintf(e->tenant, sizeof(e->tenant), "%s", p->tenant);
        if (!mac)
            sn_mac_format(p->mac, e->mac, sizeof(e->mac));
    }
}

void sn_raise(dbg_sensor *s, const char *type, const char *clause, int vlan, const sn_ip *src_ip,
              const uint8_t *src_mac, const sn_ip *dst_ip, const uint8_t *dst_mac, int dport,
              uint8_t proto, int64_t first, int64_t last, uint64_t pkts, uint64_t bytes)
{
    sn_raise_keyed(s, type, clause, vlan, src_ip, src_mac, dst_ip, dst_mac, dport, proto, first,
                   last, pkts, bytes, dst_ip);
}

void sn_raise_keyed(dbg_sensor *s, const char *type, const char *clause, int vlan,
                    const sn_ip *src_ip, const uint8_t *src_mac, const sn_ip *dst_ip,
                    const uint8_t *dst_mac, int dport, uint8_t proto, int64_t first, int64_t last,
                    uint64_t pkts, uint64_t bytes, const sn_ip *key_dst)
{
    sn_incident key;
    memset(&key, 0, sizeof(key));
    snprintf(key.k.type, sizeof(key.k.type), "%s", type);
    key.k.vlan = (int16_t)vlan;
    if (src_ip)
        key.k.src = *src_ip;
    else if (src_mac)
        memcpy(key.k.src.b, src_mac, 6);
    if (key_dst)
        key.k.dst = *key_dst;
    int is_new = 0;
    sn_incident *inc = sn_table_get(&s->incidents, &key.k, s->now, 1, &is_new);
    if (!is_new) {
        inc->count++;
        if (last > inc->alert.last_us)
            inc->alert.last_us = last;
        if (first == inc->first) {
            /* counted from the incident's own first packet (a port scan's window threshold and
             * TRW both count from the first probe): the same traffic again, not more of it */
            if (pkts > inc->alert.packets)
                inc->alert.packets = pkts;
            if (bytes > inc->alert.bytes)
                inc->alert.bytes = bytes;
        } else {
            inc->alert.packets += pkts;
            inc->alert.bytes += bytes;
        }
        s->st.incidents_folded++;
        s->evidence[0] = s->extra[0] = '\0';
        return;
    }
    inc->first = first;
    inc->count = 1;

    const dbg_sensor_detector_info *info = dbg_sensor_detector(type);
    dbg_alert a;
    memset(&a, 0, sizeof(a));
    a.time_us = s->now;
    a.first_us = first;
    a.last_us = last;
    snprintf(a.type, sizeof(a.type), "%s", type);
    snprintf(a.category, sizeof(a.category), "%s", info ? info->category : "network");
    a.severity = info ? info->severity : DBG_SEV_MEDIUM;
    snprintf(a.clause, sizeof(a.clause), "%s", clause ? clause : info ? info->clause : "");
    snprintf(a.proto, sizeof(a.proto), "%s",
             proto == 6 ? "TCP" : proto == 17 ? "UDP" : proto == 1 ? "ICMP"
             : proto == 58 ? "ICMPv6" : "");
    fill_endpoint(s, &a.src, vlan, src_ip, src_mac, -1, 1);
    fill_endpoint(s, &a.dst, vlan, dst_ip, dst_mac, dport, 0);
    a.packets = pkts;
    a.bytes = bytes;
    a.count = 1;
    a.flow_id = s->cur_flow ? sn_flow_id(s->cur_flow) : 0;
    if (s->cur_iface >= 0 && s->cur_iface < SN_MAX_IFACES)
        snprintf(a.in_iface, sizeof(a.in_iface), "%s", s->ifaces[s->cur_iface]);
    a.evidence = s->evidence[0] ? s->evidence : NULL;
    a.extra_json = s->extra[0] ? s->extra : NULL;
    s->st.alerts++;
    if (s->on_alert)
        s->on_alert(s->alert_ud, &a);
    inc->alert = a;
    inc->alert.evidence = NULL;
    inc->alert.extra_json = NULL;
    s->evidence[0] = s->extra[0] = '\0';
}

/* An incident that folded repeats is re-emitted once when it closes (idle for
 * incident.timeout_s, evicted, or at the end) with its count, span and totals. */
static void incident_closed(void *ud, void *entry, int expired)
{
    dbg_sensor *s = ud;
    sn_incident *inc = entry;
    (void)expired;
    if (inc->count < 2)
        return;
    dbg_alert a = inc->alert;
    char first[40], last[40];
    dbg_time_rfc3339(a.first_us, first, sizeof(first));
    dbg_time_rfc3339(a.last_us, last, sizeof(last));
    char ev[160], extra[96];
    snprintf(ev, sizeof(ev), "incident summary: %" PRIu64 " occurrences from %s to %s", inc->count,
             first, last);
    snprintf(extra, sizeof(extra), "{\"incident\":{\"summary\":true,\"occurrences\":%" PRIu64 "}}",
             inc->count);
    a.count = inc->count;
    a.time_us = s->now;
    a.evidence = ev;
    a.extra_json = extra;
    inc->count = 1;
    s->st.alerts++;
    if (s->on_alert)
        s->on_alert(s->alert_ud, &a);
}

/* ---- life cycle ---- */
dbg_sensor *dbg_sensor_new(const dbg_sensor_rules *rules, const dbg_sensor_inventory *inv,
                           dbg_sensor_alert_fn on_alert, void *alert_ud)
{
    dbg_sensor *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->cur_iface = -1;
    if (rules)
        s->r = *rules;
    else
        dbg_sensor_rules_defaults(&s->r);
    s->inv = inv;
    s->have_inv = inv && (inv->n_ports > 0 || inv->n_host_addrs > 0);
    s->on_alert = on_alert;
    s->alert_ud = alert_ud;
    const dbg_sensor_rules *r = &s->r;
    size_t hosts = r->max_hosts;
    if (sn_table_init_at(&s->flows4, r->max_flows, sizeof(sn_flow4), SN_FLOW_KEY_OFF,
                         sizeof(sn_flow_key4), sn_secs(r->flow_timeout_s)) != 0 ||
        sn_table_init_at(&s->flows6, r->max_flows_v6, sizeof(sn_flow6), SN_FLOW_KEY_OFF,
                         sizeof(sn_flow_key6), sn_secs(r->flow_timeout_s)) != 0 ||
        sn_table_init(&s->hosts, hosts, sizeof(sn_host), sizeof(sn_host_key), 0) != 0 ||
        sn_seen_init(&s->contacts, hosts * 2, sn_secs(r->scan_window_s)) != 0 ||
        sn_table_init(&s->counters, hosts, sizeof(sn_counter), sizeof(((sn_counter *)0)->k),
                      0) != 0 ||
        sn_table_init(&s->arp_bindings, 4096, sizeof(sn_arp_binding),
                      sizeof(((sn_arp_binding *)0)->k), sn_secs(r->arp_binding_ttl_s)) != 0 ||
        sn_table_init(&s->arp_requests, 4096, sizeof(sn_arp_request),
                      sizeof(((sn_arp_request *)0)->k), sn_secs(r->arp_request_ttl_s)) != 0 ||
        sn_table_init(&s->incidents, 4096, sizeof(sn_incident), sizeof(((sn_incident *)0)->k),
                      r->incident_timeout_s > 0 ? sn_secs(r->incident_timeout_s) : 1) != 0 ||
        !(s->pending = dbg_calloc(SN_PENDING_MAX, sizeof(sn_pending))) ||
        !(s->rates = sn_alloc_zeroed(SN_RATE_CELLS * sizeof(sn_rate_cell)))) {
        dbg_sensor_free(s);
        return NULL;
    }
    /* a lookup's prefetch covers what the per-packet path touches: of a counter's target
     * samples only the first, not a host's worm/volume parts */
    s->counters.hot_size = SN_COUNTER_HOT;
    s->hosts.hot_size = SN_HOST_HOT;
    s->flood_win = sn_secs(r->flood_window_s) > 0 ? sn_secs(r->flood_window_s) : 1;
    s->flood_start = 0; /* window 0 covers [0, flood_win) */
    s->flows4.on_evict = s->flows6.on_evict = flow_evicted;
    s->flows4.ud = s->flows6.ud = s;
    s->incidents.on_evict = incident_closed;
    s->incidents.ud = s;
    /* TRW in log space: each success multiplies the likelihood ratio by theta1/theta0, each
     * failure by (1-theta1)/(1-theta0); decide scanner at eta1 = beta/alpha, benign at
     * eta0 = (1-beta)/(1-alpha). */
    s->trw_up = log((1 - r->trw_theta1) / (1 - r->trw_theta0));
    s->trw_down = log(r->trw_theta1 / r->trw_theta0);
    s->trw_eta1 = log(r->trw_beta / r->trw_alpha);
    s->trw_eta0 = log((1 - r->trw_beta) / (1 - r->trw_alpha));
    for (size_t i = 0; i < r->n_brute_ports; i++)
        s->brute_port_bits[r->brute_ports[i] >> 3] |= (uint8_t)(1u << (r->brute_ports[i] & 7));
    for (size_t i = 0; i < r->n_dhcp_servers && i < 8; i++)
        if (sn_ip_parse(r->dhcp_servers[i], &s->dhcp_auth[s->n_dhcp_auth]) == 0)
            s->n_dhcp_auth++;
    s->st.memory_bytes = sizeof(*s) + SN_PENDING_MAX * sizeof(sn_pending) +
                         sn_alloc_mapped(SN_RATE_CELLS * sizeof(sn_rate_cell));
    s->st.memory_bytes += sn_alloc_mapped(s->contacts.nbuckets * sizeof(sn_bucket_meta));
    const sn_table *tabs[] = {&s->flows4, &s->flows6, &s->hosts, &s->counters,
                              &s->arp_bindings, &s->arp_requests, &s->incidents};
    for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++)
        s->st.memory_bytes += sn_alloc_mapped(sn_table_capacity(tabs[i]) * tabs[i]->entry_size) +
                              sn_alloc_mapped(tabs[i]->nbuckets * sizeof(sn_bucket_meta));
    return s;
}

void dbg_sensor_set_flow_sink(dbg_sensor *s, dbg_sensor_flow_fn fn, void *ud)
{
    s->on_flow = fn;
    s->flow_ud = ud;
}

void dbg_sensor_set_inventory(dbg_sensor *s, const dbg_sensor_inventory *inv)
{
    /* frames hold inventory pointers only while they are processed (ip_packet), and the tap
     * mapping is the one other place: nothing else points into the old inventory */
    s->inv = inv;
    s->have_inv = inv && (inv->n_ports > 0 || inv->n_host_addrs > 0);
    for (int i = 0; i < SN_MAX_IFACES; i++)
        s->iface_port[i] = s->have_inv && s->ifaces[i][0] ? sn_inv_by_tap(inv, s->ifaces[i]) : NULL;
}

void sn_set_iface_macs(dbg_sensor *s, int iface_index, const uint8_t *own, const uint8_t *bridge)
{
    if (iface_index < 0 || iface_index >= SN_MAX_IFACES)
        return;
    const uint8_t *macs[2] = {[SN_IFACE_OWN] = own, [SN_IFACE_BRIDGE] = bridge};
    /* A live capture hands frames over in blocks (every 100 ms at most) and they are processed
     * in the poll round after: the bridge's frames sent just before its MAC changed may be
     * processed after the change was read. Its old MAC stays known for 2 s. */
    uint8_t *old = s->iface_mac[iface_index][SN_IFACE_BRIDGE];
    if (s->iface_mac_set[iface_index][SN_IFACE_BRIDGE] && (!bridge || memcmp(old, bridge, 6))) {
        memcpy(s->iface_old_bridge_mac[iface_index], old, 6);
        s->iface_old_bridge_until[iface_index] = s->now + 2000000;
    }
    for (int i = 0; i < 2; i++) {
        s->iface_mac_set[iface_index][i] = macs[i] != NULL;
        if (macs[i])
            memcpy(s->iface_mac[iface_index][i], macs[i], 6);
    }
}

void sn_set_iface_macs_reader(dbg_sensor *s,
                              void (*reader)(dbg_sensor *s, int iface_index, const char *name))
{
    s->iface_macs_reader = reader;
}

int dbg_sensor_set_iface(dbg_sensor *s, int iface_index, const char *name)
{
    if (iface_index < 0 || iface_index >= SN_MAX_IFACES) {
        dbg_err_set(DBG_ERR_LIMIT, "sensor: at most %d capture interfaces", SN_MAX_IFACES);
        return -1;
    }
    snprintf(s->ifaces[iface_index], sizeof(s->ifaces[0]), "%s", name ? name : "");
    s->iface_port[iface_index] = s->have_inv ? sn_inv_by_tap(s->inv, name) : NULL;
    return 0;
}

void dbg_sensor_free(dbg_sensor *s)
{
    if (!s)
        return;
    sn_table_free(&s->flows4);
    sn_table_free(&s->flows6);
    sn_table_free(&s->hosts);
    sn_seen_free(&s->contacts);
    sn_table_free(&s->counters);
    sn_table_free(&s->arp_bindings);
    sn_table_free(&s->arp_requests);
    sn_table_free(&s->incidents);
    free(s->pending);
    sn_free_zeroed(s->rates, SN_RATE_CELLS * sizeof(sn_rate_cell));
    free(s);
}

/* Buckets looked at per sweep: the IPv4 flow table's 65,536 (default) in about 1.6 s of
 * sweeps, 10 a second. */
enum { SWEEP_BUCKETS = 4096, SWEEP_INCIDENT_BUCKETS = 256 };

void dbg_sensor_tick(dbg_sensor *s, int64_t now_us)
{
    dbg_sensor_flush(s); /* the ring is empty after: nothing in flight points at a flow */
    if (now_us > s->now)
        s->now = now_us;
    sn_trw_expire_pending(s, s->now, 0);
    /* A live run's idle flows end (their records leave, "timeout") and idle incidents close
     * (their summaries leave) as time passes, not only when a packet reuses the slot, which on
     * a quiet network is never. */
    if (s->now >= s->next_sweep) {
        s->next_sweep = s->now + 100000;
        sn_table_expire_some(&s->flows4, s->now, SWEEP_BUCKETS);
        sn_table_expire_some(&s->flows6, s->now, SWEEP_BUCKETS);
        sn_table_expire_some(&s->incidents, s->now, SWEEP_INCIDENT_BUCKETS);
    }
}

void dbg_sensor_finish(dbg_sensor *s)
{
    dbg_sensor_flush(s);
    sn_trw_expire_pending(s, s->now, 1);
    /* Every pending first contact was in the ring, now resolved; what is left to do per flow is
     * its record, so without a flow sink the (large) flow table is not walked. */
    sn_table *flows[] = {&s->flows4, &s->flows6};
    for (size_t t = 0; s->on_flow && t < 2; t++)
        for (size_t i = 0; i < sn_table_capacity(flows[t]); i++) {
            sn_flow *f = sn_table_entry_at(flows[t], i);
            if (!f->h.used)
                continue;
            if (f->trw_pending)
                sn_trw_outcome(s, f, 0);
            flow_record(s, f, "shutdown");
        }
    for (size_t i = 0; s->incidents.live && i < sn_table_capacity(&s->incidents); i++) {
        sn_incident *inc = sn_table_entry_at(&s->incidents, i);
        if (inc->h.used)
            incident_closed(s, inc, 0);
    }
}

void dbg_sensor_add_drops(dbg_sensor *s, uint64_t drops) { s->st.drops += drops; }

void dbg_sensor_get_stats(const dbg_sensor *s, dbg_sensor_stats *st)
{
    *st = s->st;
    st->flows_active = s->flows4.live + s->flows6.live;
    st->flow_evictions = s->flows4.evictions + s->flows6.evictions;
    st->flow_timeouts = s->flows4.expirations + s->flows6.expirations;
    st->state_evictions = s->hosts.evictions + s->contacts.evictions + s->counters.evictions +
                          s->arp_bindings.evictions + s->incidents.evictions;
}

/* ---- the per-packet path ---- */
static inline int is_initiation(const sn_pkt *p, int flow_new, int fast)
{
    if (p->proto == 6) /* a SYN, or a stealth probe (sn_tcp_stealth_probe) */
        return (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN ||
               sn_tcp_stealth_probe(p->tcp_flags);
    if (fast || p->proto == 17)
        return flow_new;
    if (p->proto == 1)
        return flow_new && p->icmp_type == 8;
    if (p->proto == 58)
        return flow_new && p->icmp_type == 128;
    return 0;
}

/* DHCP / DHCPv6 answers and neighbour discovery: rare, kept out of line so the common path's
 * code stays as it was (one test for both). */
static __attribute__((noinline, cold)) void address_servers(dbg_sensor *s, const sn_pkt *p)
{
    if (p->dhcp_type)
        sn_detect_dhcp(s, p);
    if (p->nd)
        sn_detect_ndp(s, p);
}

/* An IP frame. fast (constant in each inlined copy): the frame is one sn_decode_fast_v4 took,
 * so the tests for what such a frame cannot be (IPv6, DHCP, ND, no ports, ICMP) fold away. */
static inline __attribute__((always_inline)) void ip_packet(dbg_sensor *s, sn_pkt *p, int fast)
{
    const dbg_sensor_port *src_vm = NULL; /* the source's VM port, by MAC else by IP */
    if (s->have_inv) {
        /* Most sources are neither VMs nor host addresses: the filters say so without a call.
         * The spoof checks have nothing to look at for a source that is not a host address,
         * not on a VM's tap and neither a VM's address nor a VM's MAC. */
        const dbg_sensor_inventory *inv = s->inv;
        unsigned ib = fast ? sn_inv_ip_bit_v4(&p->src) : sn_inv_ip_bit(&p->src);
        p->src_by_ip = sn_inv_filter_has(inv->ip_filter, ib)
                           ? sn_inv_probe_ip(inv, &p->src, p->vlan, p->src_mac)
                           : NULL;
        p->src_by_mac = p->src_mac && sn_inv_filter_has(inv->mac_filter, sn_inv_mac_bit(p->src_mac))
                            ? sn_inv_probe_mac(inv, p->src_mac)
                            : NULL;
        src_vm = p->src_by_mac ? p->src_by_mac : p->src_by_ip; /* as sn_attribute */
        if (src_vm || s->iface_port[p->iface] || sn_inv_filter_has(inv->host_filter, ib))
            sn_detect_spoof(s, p);
    }
    if (!fast && __builtin_expect((p->dhcp_type | p->nd) != 0, 0))
        address_servers(s, p);
    if (!fast && !p->has_ports)
        return;
    int is_new = 0, from_b = 0;
    sn_flow *f = flow_update(s, p, &is_new, &from_b, fast);
    int from_init = from_b == f->init_is_b;
    s->cur_flow = f; /* until the end of this packet: the flow its alerts belong to */

    /* Outcome of the handshake: the responder answered or refused. */
    if (p->proto == 6 && !from_init) {
        if ((p->tcp_flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) && !f->answered) {
            f->answered = 1;
            if (f->trw_pending)
                sn_trw_outcome(s, f, 1);
            if (f->first_contact)
                sn_detect_worm_inbound(
                    s, p, host_get(s, p->vlan, &p->src, sn_host_hash(p->vlan, &p->src), 1));
        } else if ((p->tcp_flags & TCP_RST) && !f->answered) {
            f->refused = 1;
            if (f->trw_pending)
                sn_trw_outcome(s, f, 0);
        }
    } else if (p->proto == 6 && from_init && f->answered && !f->handshake_counted &&
               (p->tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_ACK) {
        f->handshake_counted = 1;
        if ((s->brute_port_bits[p->dport >> 3] >> (p->dport & 7)) & 1)
            sn_detect_brute(s, p, f);
    } else if (p->proto != 6 && !from_init && !f->answered) {
        f->answered = 1;
        if (f->first_contact)
            sn_detect_worm_udp_answered(s, p);
    }
    if (p->proto == 6 && __builtin_expect(!f->tcp_open, 0))
        sn_tcp_unopened(s, p, f, from_b, from_init);

    int floodable = p->has_rate; /* a flood request (request_kind), seen when queued */
    int init = from_init && is_initiation(p, is_new, fast);
    if (floodable)
        sn_detect_flood(s, p);
    if (init &&
        (fast ? sn_v4_is_unicast_internal(p->dst.b + 12) : sn_ip_is_unicast_internal(&p->dst))) {
        int first_contact = sn_detect_scan_contact(s, p);
        /* TRW and the worm's inbound side judge a first contact by its SYN-ACK */
        if (first_contact && p->proto == 6 && (p->tcp_flags & TCP_SYN)) {
            f->first_contact = 1;
            if (s->r.trw_enabled)
                sn_trw_contact(
                    s, f, p,
                    host_get(s, p->vlan, &p->src,
                             p->has_scan ? p->src_host_hash : sn_host_hash(p->vlan, &p->src), 1));
        } else if (first_contact && p->proto == 17) {
            f->first_contact = 1; /* its answer, if any, says the target serves the port */
            sn_detect_worm_inbound_udp(s, p);
        }
        if (s->have_inv) {
            /* the filters again: only a tenant VM's connection can cross tenants, only one to a
             * host address can reach the host's management ports */
            if (src_vm)
                sn_detect_tenant(s, p, src_vm);
            if (sn_inv_filter_has(s->inv->host_filter,
                                  fast ? sn_inv_ip_bit_v4(&p->dst) : sn_inv_ip_bit(&p->dst)))
                sn_detect_host_access(s, p);
        }
    }
    if (src_vm)
        sn_detect_volume(s, p, sn_host_cold(sn_host_get(s, p->vlan, &p->src, 1)));
    s->cur_flow = NULL;
}

/* fast: as for ip_packet (a fast-decoded frame raised no decode event and is IP) */
static inline __attribute__((always_inline)) void process_frame(dbg_sensor *s, sn_pkt *p, int fast)
{
    if (p->ts > s->now)
        s->now = p->ts;
    p->ts = s->now;
    s->st.packets++;
    s->st.bytes += p->wirelen;
    if (!s->st.first_us)
        s->st.first_us = s->now;
    s->st.last_us = s->now;
    if (!fast && p->events) {
        for (int i = 0; i < DEC_EV_KINDS; i++)
            if (p->events & (1u << i))
                s->st.decode_events[i]++;
        if (p->events & DEC_EV_ERRORS_MASK)
            s->st.decode_errors++;
    }
    s->cur_iface = p->iface; /* the alerts this packet raises name where it was seen */
    if (fast) {
        ip_packet(s, p, 1);
    } else if (p->l3 == L3_IPV4 || p->l3 == L3_IPV6) {
        ip_packet(s, p, 0);
    } else {
        s->st.non_ip++;
        if (p->l3 == L3_ARP)
            sn_detect_arp(s, p);
    }
    s->cur_iface = -1;
    if (s->pend_len && s->now >= s->next_tick) {
        sn_trw_expire_pending(s, s->now, 0);
        s->next_tick = s->now + 100000; /* resolve timeouts ten times a second of packet time */
    }
}

static void process(dbg_sensor *s, sn_pkt *p)
{
    if (p->fast) /* most frames */
        process_frame(s, p, 1);
    else
        process_frame(s, p, 0);
}

/* What a frame with ports may be: an initiation (looks up the scan contact set) and a request
 * that counts toward floods (SYN without ACK, any UDP, ICMP echo / timestamp / information /
 * address mask requests, ICMPv6 echo). One pass over the protocol for both: most frames are
 * neither. */
enum { SN_REQ_CONTACT = 1, SN_REQ_FLOOD = 2 };
static inline unsigned request_kind(const sn_pkt *p)
{
    unsigned flags = p->tcp_flags;
    if (p->proto == 6) /* most frames: TCP, and not a SYN */
        return (flags & (TCP_SYN | TCP_ACK)) != TCP_SYN
                   ? (sn_tcp_stealth_probe(flags) ? SN_REQ_CONTACT : 0)
               : flags & TCP_RST ? SN_REQ_FLOOD
                                 : SN_REQ_CONTACT | SN_REQ_FLOOD;
    if (p->proto == 17)
        return SN_REQ_CONTACT | SN_REQ_FLOOD;
    if (p->proto == 1)
        return p->icmp_type == 8 ? SN_REQ_CONTACT | SN_REQ_FLOOD
               : p->icmp_type == 13 || p->icmp_type == 15 || p->icmp_type == 17 ? SN_REQ_FLOOD
                                                                                 : 0;
    if (p->proto == 58)
        return p->icmp_type == 128 ? SN_REQ_CONTACT | SN_REQ_FLOOD : 0;
    return 0;
}

/* Pipeline stage 2 (SN_STAGE frames after queueing): the flow's and contact's entries; a
 * contact whose tag is absent will be a first contact, so the scan counters' and the source
 * host's buckets are fetched too. Inline in both stage loops (its call and register saves were
 * 3.5 M instructions of the benchmark run). */
static inline __attribute__((always_inline)) void stage_entries_of(dbg_sensor *s, sn_pkt *p,
                                                                   int fast)
{
    if (!fast && !p->has_flow)
        return;
    if (!p->flow_same) {
        if (!fast && p->has_flow == SN_FLOW_V6)
            sn_table_prefetch_entry(&s->flows6, p->fhash, sizeof(sn_flow6), sizeof(sn_flow6));
        else
            sn_table_prefetch_entry(&s->flows4, p->fhash, sizeof(sn_flow4), sizeof(sn_flow4));
    }
    if (p->has_contact && !sn_seen_has(&s->contacts, p->chash) &&
        (fast ? sn_v4_is_unicast_internal(p->dst.b + 12) : sn_ip_is_unicast_internal(&p->dst))) {
        uint16_t dport = fast || p->proto == 6 || p->proto == 17 ? p->dport : 0;
        int vlan = fast ? -1 : p->vlan;
        p->scan_hash[0] = sn_counter_hash_a(0, vlan, 0, p->hsrc, p->hdst);
        p->scan_hash[1] = sn_counter_hash_a(1, vlan, dport, p->hsrc, 0);
        p->src_host_hash = sn_host_hash_a(vlan, p->hsrc);
        p->has_scan = 1;
        sn_table_prefetch_meta(&s->counters, p->scan_hash[0]);
        sn_table_prefetch_meta(&s->counters, p->scan_hash[1]);
        sn_table_prefetch_meta(&s->hosts, p->src_host_hash);
    }
}

/* fast: as for ip_packet */
static inline __attribute__((always_inline)) void stage_entries(dbg_sensor *s, sn_pkt *p)
{
    if (p->fast)
        stage_entries_of(s, p, 1);
    else
        stage_entries_of(s, p, 0);
}

/* Pipeline stage 3: the entries of a likely first contact's counters and host. */
static void stage_scan_entries(dbg_sensor *s, const sn_pkt *p)
{
    if (!p->has_scan)
        return;
    sn_table_prefetch_entry(&s->counters, p->scan_hash[0], sizeof(sn_counter), SN_COUNTER_HOT);
    sn_table_prefetch_entry(&s->counters, p->scan_hash[1], sizeof(sn_counter), SN_COUNTER_HOT);
    sn_table_prefetch_entry(&s->hosts, p->src_host_hash, sizeof(sn_host), SN_HOST_HOT);
}

/* A decoded frame with ports: its flow key and hashes, and the first stage's prefetches. Inline
 * twice: with fast set (sn_decode_fast_v4 took the frame: untagged IPv4, TCP or UDP) the
 * vlan, the key kind and the protocol's cases are known and the addresses are taken from the
 * frame in registers (22 instructions a frame less on the benchmark capture than one general
 * copy). */
static inline __attribute__((always_inline)) void
queue_keys(dbg_sensor *s, sn_pkt *p, const sn_pkt *prev, const uint8_t *frame, int fast)
{
    flow_key(p, prev, frame, fast);
    if (!p->flow_same)
        sn_table_prefetch_meta(p->has_flow == SN_FLOW_V6 ? &s->flows6 : &s->flows4, p->fhash);
    unsigned req = fast && p->proto != 6 ? SN_REQ_CONTACT | SN_REQ_FLOOD : request_kind(p);
    if (req) { /* a same-flow frame's addresses are not hashed yet */
        if (fast) {
            uint32_t sa, da;
            memcpy(&sa, frame + 26, 4);
            memcpy(&da, frame + 30, 4);
            sn_pkt_hash_addrs_v4(p, sa, da);
        } else {
            sn_pkt_hash_addrs(p);
        }
    }
    if (req & SN_REQ_CONTACT) {
        p->chash = fast ? sn_key_hash(p->hsrc, p->hdst,
                                      (uint64_t)(uint16_t)-1 | (uint64_t)p->proto << 16 |
                                          (uint64_t)p->dport << 32)
                        : sn_contact_hash(p);
        p->has_contact = 1;
        sn_seen_prefetch(&s->contacts, p->chash);
    }
    if (req & SN_REQ_FLOOD) {
        unsigned kind = p->proto == 6 ? 0 : p->proto == 17 || fast ? 1 : 2;
        int vlan = fast ? -1 : p->vlan;
        p->rhash[0] = sn_rate_hash(kind, 0, vlan, p->hdst);
        p->rhash[1] = sn_rate_hash(kind, 1, vlan, p->hsrc);
        p->has_rate = 1;
        sn_rate_prefetch(s, p->rhash[0]);
        sn_rate_prefetch(s, p->rhash[1]);
    }
}

void dbg_sensor_flush(dbg_sensor *s)
{
    while (s->ring_head < s->ring_tail)
        process(s, &s->ring[s->ring_head++ & (SN_RING - 1)]);
}

void dbg_sensor_packet(dbg_sensor *s, int64_t ts_us, const uint8_t *data, size_t caplen,
                       size_t wirelen, int iface_index)
{
    uint64_t t = s->ring_tail;
    sn_pkt *p = &s->ring[t & (SN_RING - 1)];
    s->ring_tail = t + 1;
    memset(p, 0, SN_PKT_ZEROED);
    p->ts = ts_us;
    p->wirelen = (uint32_t)(wirelen > caplen ? wirelen : caplen);
    p->iface = iface_index >= 0 && iface_index < SN_MAX_IFACES ? iface_index : 0;
    /* decoded now, while the capture library's buffer is valid; the decoders copy out what is
     * kept (MACs included) */
    if (sn_decode_fast_v4(p, data, caplen)) {
        queue_keys(s, p, &s->ring[(t - 1) & (SN_RING - 1)], data, 1);
    } else {
        sn_decode_eth(p, data, caplen);
        if (p->has_ports) /* only IPv4 / IPv6 frames have ports */
            queue_keys(s, p, &s->ring[(t - 1) & (SN_RING - 1)], data, 0);
    }

    /* advance the pipeline: the frames behind the new one move a stage, the oldest is
     * processed. Last, so that nothing of this call is live across the processing (a tail
     * call: no registers saved for it). The stages only prefetch and pick which hashes to
     * compute early, so doing them before the processing of an older frame changes no result. */
    if (t - s->ring_head == 3 * SN_STAGE) { /* a full pipeline (the usual case): every stage */
        stage_entries(s, &s->ring[(t - SN_STAGE) & (SN_RING - 1)]);
        stage_scan_entries(s, &s->ring[(t - 2 * SN_STAGE) & (SN_RING - 1)]);
        process(s, &s->ring[s->ring_head++ & (SN_RING - 1)]);
    } else { /* filling (at the start, after a flush): the stages that hold a frame */
        if (t >= SN_STAGE && t - SN_STAGE >= s->ring_head)
            stage_entries(s, &s->ring[(t - SN_STAGE) & (SN_RING - 1)]);
        if (t >= 2 * SN_STAGE && t - 2 * SN_STAGE >= s->ring_head)
            stage_scan_entries(s, &s->ring[(t - 2 * SN_STAGE) & (SN_RING - 1)]);
    }
}

/* ---- stats output ---- */
void dbg_sensor_stats_print(const dbg_sensor_stats *st, double elapsed_s, FILE *f)
{
    double pps = elapsed_s > 0 ? (double)st->packets / elapsed_s : 0;
    fprintf(f,
            "sensor stats: packets=%" PRIu64 " bytes=%" PRIu64 " drops=%" PRIu64
            " decode_errors=%" PRIu64 " flows_active=%" PRIu64 " flows_total=%" PRIu64
            " flow_evictions=%" PRIu64 " flow_timeouts=%" PRIu64 " state_evictions=%" PRIu64
            " alerts=%" PRIu64 " folded=%" PRIu64 " memory_bytes=%" PRIu64
            " elapsed_s=%.3f packets_per_s=%.0f\n",
            st->packets, st->bytes, st->drops, st->decode_errors, st->flows_active,
            st->flows_total, st->flow_evictions, st->flow_timeouts, st->state_evictions,
            st->alerts, st->incidents_folded, st->memory_bytes, elapsed_s, pps);
}

char *dbg_sensor_stats_json(const dbg_sensor_stats *st, double elapsed_s)
{
    dbg_buf b;
    dbg_buf_init(&b, 1 << 16);
    double pps = elapsed_s > 0 ? (double)st->packets / elapsed_s : 0;
    int rc = dbg_buf_printf(&b,
                            "{\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"drops\":%" PRIu64
                            ",\"decode_errors\":%" PRIu64 ",\"flows_active\":%" PRIu64
                            ",\"flows_total\":%" PRIu64 ",\"flow_evictions\":%" PRIu64
                            ",\"flow_timeouts\":%" PRIu64 ",\"state_evictions\":%" PRIu64
                            ",\"alerts\":%" PRIu64 ",\"incidents_folded\":%" PRIu64
                            ",\"memory_bytes\":%" PRIu64 ",\"elapsed_s\":%.3f"
                            ",\"packets_per_s\":%.0f,\"decode_events\":{",
                            st->packets, st->bytes, st->drops, st->decode_errors,
                            st->flows_active, st->flows_total, st->flow_evictions,
                            st->flow_timeouts, st->state_evictions, st->alerts,
                            st->incidents_folded, st->memory_bytes, elapsed_s, pps);
    for (int i = 0; i < DEC_EV_KINDS && rc == 0; i++)
        rc = dbg_buf_printf(&b, "%s\"%s\":%" PRIu64, i ? "," : "", decode_event_names[i],
                            st->decode_events[i]);
    if (rc == 0)
        rc = dbg_buf_adds(&b, "}}");
    if (rc != 0) {
        dbg_buf_free(&b);
        return NULL;
    }
    return dbg_buf_steal(&b);
}
