/* Threshold Random Walk (Jung, Paxson, Berger, Balakrishnan 2004): a sequential hypothesis
 * test per source over the outcomes of its first contacts (a new (host, port) it never
 * contacted in the scan window). A SYN-ACK is a success, a reset or no answer within
 * trw.timeout_s a failure. The log-likelihood ratio moves by log(theta1/theta0) on success and
 * log((1-theta1)/(1-theta0)) on failure; crossing log(beta/alpha) marks a scanner, crossing
 * log((1-beta)/(1-alpha)) a benign source (the walk restarts). Unanswered contacts wait in a
 * fixed ring, so nothing allocates. */
#include <math.h>
#include <stdio.h>

#include "sensor/sensor_internal.h"

/* Takes the oldest contact off the pending ring: unanswered, a failure, unless its flow was
 * answered in time (the slot marked resolved) or has since been evicted or reused. */
static void pending_drop_oldest(dbg_sensor *s)
{
    const sn_pending *o = &s->pending[s->pend_head];
    s->pend_head = (s->pend_head + 1) % SN_PENDING_MAX;
    s->pend_len--;
    if (o->flow_ref == UINT32_MAX) /* answered in time: no need to read the flow */
        return;
    sn_flow *f = sn_flow_at(s, o->flow_ref);
    if (f->h.used && f->h.gen == o->gen && f->trw_pending)
        sn_trw_outcome(s, f, 0);
}

void sn_trw_contact(dbg_sensor *s, sn_flow *f, const sn_pkt *p, sn_host *src)
{
    /* Only first contacts: the scan detector's contact set said this (src, dst, port) is new
     * when the flow is new; a retransmitted SYN on the same flow is not another contact. */
    if (!src || f->trw_pending || f->answered || f->refused || (uint64_t)f->pkts[0] + f->pkts[1] > 1)
        return;
    if (src->trw_contacts == 0) {
        src->trw_first_dst = p->dst;
        src->trw_first = s->now;
    } else if (memcmp(src->trw_first_dst.b, p->dst.b, 16) != 0) {
        src->trw_multi_dst = 1;
    }
    src->trw_contacts++;
    src->trw_bytes += p->wirelen;
    f->trw_pending = 1;
    if (s->pend_len == SN_PENDING_MAX) /* full: resolve the oldest now */
        pending_drop_oldest(s);
    size_t slot = (s->pend_head + s->pend_len) % SN_PENDING_MAX;
    sn_pending *n = &s->pending[slot];
    f->pend_slot = (uint16_t)slot;
    n->flow_ref = sn_flow_ref(s, f);
    n->gen = f->h.gen;
    n->at = s->now;
    n->host_index = (uint32_t)sn_table_index_of(&s->hosts, src, sizeof(sn_host));
    n->host_gen = src->h.gen;
    s->pend_len++;
}

void sn_trw_expire_pending(dbg_sensor *s, int64_t now, int all)
{
    int64_t timeout = sn_secs(s->r.trw_timeout_s);
    /* most contacts were answered in time: those slots are passed over here, in registers
     * (the ring's head and length stored once), without a call each */
    size_t head = s->pend_head, len = s->pend_len;
    while (len && (all || now - s->pending[head].at >= timeout)) {
        if (s->pending[head].flow_ref != UINT32_MAX) {
            s->pend_head = head;
            s->pend_len = len;
            pending_drop_oldest(s); /* may raise an alert: the ring is as it says */
            head = s->pend_head;
            len = s->pend_len;
            continue;
        }
        head = (head + 1) % SN_PENDING_MAX;
        len--;
    }
    s->pend_head = head;
    s->pend_len = len;
}

static void trw_outcome(dbg_sensor *s, sn_flow *f, int success);

void sn_trw_outcome(dbg_sensor *s, sn_flow *f, int success)
{
    /* an outcome may be another flow's (a pending contact timed out, evicted): its alerts
     * belong to that flow */
    const sn_flow *cur = s->cur_flow;
    int cur_iface = s->cur_iface;
    if (f != cur)
        s->cur_iface = -1; /* which interface saw that flow is not kept */
    s->cur_flow = f;
    trw_outcome(s, f, success);
    s->cur_flow = cur;
    s->cur_iface = cur_iface;
}

static void trw_outcome(dbg_sensor *s, sn_flow *f, int success)
{
    f->trw_pending = 0;
    /* mark its ring slot resolved, so the timeout sweep skips it without reading the flow */
    sn_pending *o = &s->pending[f->pend_slot % SN_PENDING_MAX];
    sn_flow_key6 k;
    sn_flow_key_of(f, &k);
    const sn_ip *init = f->init_is_b ? &k.b : &k.a;
    const sn_ip *resp = f->init_is_b ? &k.a : &k.b;
    uint16_t dport = f->init_is_b ? k.port_a : k.port_b;
    sn_host *h = NULL;
    if (o->flow_ref == sn_flow_ref(s, f) && o->gen == f->h.gen) {
        o->flow_ref = UINT32_MAX;
        /* the entry the contact counted in, unless it has since been evicted or reused */
        h = sn_table_at_again(&s->hosts, o->host_index, o->host_gen, sizeof(sn_host), s->now);
        if (h && !(h->k.vlan == k.vlan && sn_ip_eq(&h->k.ip, init)))
            h = NULL;
    }
    if (!h)
        h = sn_host_get(s, k.vlan, init, 0);
    if (!h || h->trw_decided)
        return;
    h->trw_llr += success ? s->trw_down : s->trw_up;
    if (!success)
        h->trw_failures++;
    if (h->trw_llr <= s->trw_eta0) { /* benign: start a new walk */
        h->trw_llr = 0;
        h->trw_contacts = 0;
        h->trw_failures = 0;
        h->trw_multi_dst = 0;
        h->trw_bytes = 0;
        return;
    }
    if (h->trw_llr < s->trw_eta1)
        return;
    h->trw_decided = 1;
    char sip[46];
    sn_ip_format(init, sip, sizeof(sip));
    const char *type = h->trw_multi_dst ? "host_sweep" : "port_scan";
    snprintf(s->evidence, sizeof(s->evidence),
             "TRW: %s is a scanner after %u first contacts, %u failed (likelihood ratio %.1f >= "
             "%.1f; theta0 %.2f theta1 %.2f alpha %.3f beta %.3f)",
             sip, h->trw_contacts, h->trw_failures, exp(h->trw_llr), exp(s->trw_eta1),
             s->r.trw_theta0, s->r.trw_theta1, s->r.trw_alpha, s->r.trw_beta);
    snprintf(s->extra, sizeof(s->extra),
             "{\"scan\":{\"method\":\"trw\",\"first_contacts\":%u,\"failures\":%u}}",
             h->trw_contacts, h->trw_failures);
    const sn_ip *dst = h->trw_multi_dst ? NULL : resp;
    sn_raise(s, type, sn_attack_clause(s, k.vlan, init, NULL), k.vlan, init, NULL, dst, NULL,
             h->trw_multi_dst ? dport : -1, k.proto, h->trw_first, s->now, h->trw_contacts,
             h->trw_bytes);
}
