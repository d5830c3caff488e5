/* The authorization ledger: every operation the gateway let through, opened before the
 * libvirt call and closed with its outcome. The guard asks it whether a libvirt event (which
 * carries no caller identity) is explained by one of them: same domain, an operation that
 * produces that kind of event, inside the time window. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"

#define LEDGER_MAX 4096

typedef struct {
    uint64_t id;
    char uuid[37];
    dbg_gw_op op;
    char actor[300];
    uint64_t intent_seq;
    int64_t begin_us, end_us; /* end 0 = outcome not yet recorded */
    int success;
    int64_t matched_at[32];   /* per event kind: when it first explained one (0 = not yet) */
    unsigned closed;          /* event kinds it can no longer explain (dbg_gw_ledger_close) */
} entry;

/* One operation can make libvirt emit a short burst of the same event (an ACPI reboot of a
 * guest without an OS gives two REBOOT events): they all belong to it. Later events of that
 * kind need another authorization. */
#define BURST_US 2000000

#define FAILED_EXPLAIN_NOTHING                                                                    \
    (DBG_OP_BIT(DBG_OP_CREATE) | DBG_OP_BIT(DBG_OP_START) | DBG_OP_BIT(DBG_OP_RESUME) |           \
     DBG_OP_BIT(DBG_OP_REBOOT) | DBG_OP_BIT(DBG_OP_RESET))

struct dbg_gw_ledger {
    pthread_mutex_t mu;
    entry *e;
    size_t n, cap;
    uint64_t next_id;
};

dbg_gw_ledger *dbg_gw_ledger_new(void)
{
    dbg_gw_ledger *l = dbg_calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->next_id = 1;
    return l;
}

void dbg_gw_ledger_free(dbg_gw_ledger *l)
{
    if (!l)
        return;
    free(l->e);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

uint64_t dbg_gw_ledger_begin(dbg_gw_ledger *l, const char *vm_uuid, dbg_gw_op op,
                             const char *actor, uint64_t intent_seq, int64_t now_us)
{
    uint64_t id = 0;
    pthread_mutex_lock(&l->mu);
    if (l->n >= LEDGER_MAX) {
        /* Oldest first: drop the oldest finished half; the table stays bounded. */
        memmove(l->e, l->e + LEDGER_MAX / 2, (l->n - LEDGER_MAX / 2) * sizeof(entry));
        l->n -= LEDGER_MAX / 2;
    }
    if (dbg_grow_array((void **)&l->e, &l->cap, l->n + 1, sizeof(entry), 64) < 0)
        goto out;
    entry *e = &l->e[l->n++];
    memset(e, 0, sizeof(*e));
    e->id = id = l->next_id++;
    snprintf(e->uuid, sizeof(e->uuid), "%s", vm_uuid ? vm_uuid : "");
    e->op = op;
    snprintf(e->actor, sizeof(e->actor), "%s", actor ? actor : "");
    e->intent_seq = intent_seq;
    e->begin_us = now_us;
out:
    pthread_mutex_unlock(&l->mu);
    return id;
}

void dbg_gw_ledger_end(dbg_gw_ledger *l, uint64_t id, int success, int64_t now_us)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = l->n; i-- > 0;) {
        if (l->e[i].id == id) {
            l->e[i].end_us = now_us;
            l->e[i].success = success;
            break;
        }
    }
    pthread_mutex_unlock(&l->mu);
}

/* Whether e explains an event of kind k (< 32) on vm_uuid at event_us by an op in op_mask. */
static int explains(const entry *e, const char *vm_uuid, unsigned op_mask, int k, int64_t event_us,
                    const dbg_gw_window *w)
{
    if (!(op_mask & DBG_OP_BIT(e->op)) || (e->closed >> k & 1) || strcmp(e->uuid, vm_uuid) != 0)
        return 0;
    /* These are one libvirt call each, which emits its event only when it succeeds: one
     * that failed did nothing, and the start an operator then makes by hand is not its.
     * (A failed delete may have destroyed, a failed migration or snapshot resumed.) */
    if (e->end_us && !e->success && (DBG_OP_BIT(e->op) & FAILED_EXPLAIN_NOTHING))
        return 0;
    if (e->matched_at[k] && event_us > e->matched_at[k] + BURST_US)
        return 0;
    int64_t lo = e->begin_us - w->skew_us;
    int64_t hi = e->end_us ? e->end_us + w->grace_us : e->begin_us + w->inflight_us;
    return event_us >= lo && event_us <= hi;
}

static void take(entry *e, int k, int64_t event_us, char actor_out[300], uint64_t *id_out)
{
    if (!e->matched_at[k])
        e->matched_at[k] = event_us ? event_us : 1;
    if (actor_out)
        snprintf(actor_out, 300, "%s", e->actor);
    if (id_out)
        *id_out = e->id;
}

int dbg_gw_ledger_match(dbg_gw_ledger *l, const char *vm_uuid, unsigned op_mask, int event_kind,
                        int64_t event_us, const dbg_gw_window *w, char actor_out[300],
                        uint64_t *id_out)
{
    int found = 0;
    int k = event_kind & 31;
    pthread_mutex_lock(&l->mu);
    /* Oldest first, so two authorized starts explain two start events in order. */
    for (size_t i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        if (!explains(e, vm_uuid, op_mask, k, event_us, w))
            continue;
        take(e, k, event_us, actor_out, id_out);
        found = 1;
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return found;
}

int dbg_gw_ledger_match_first(dbg_gw_ledger *l, uint64_t id, const char *vm_uuid, unsigned op_mask,
                              int event_kind, int64_t event_us, const dbg_gw_window *w,
                              char actor_out[300])
{
    int found = 0;
    int k = event_kind & 31;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        if (e->id != id)
            continue;
        if (!e->matched_at[k] && explains(e, vm_uuid, op_mask, k, event_us, w)) {
            take(e, k, event_us, actor_out, NULL);
            found = 1;
        }
        break;
    }
    pthread_mutex_unlock(&l->mu);
    return found;
}

void dbg_gw_ledger_close(dbg_gw_ledger *l, const char *vm_uuid, unsigned kinds, uint64_t except_id)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        if (e->id == except_id || strcmp(e->uuid, vm_uuid) != 0)
            continue;
        /* Only kinds it already explained: libvirt delivers a domain's events in order, so
         * those came before this one. A kind it has not explained yet may still be on its way
         * (the guard can receive events well after the gateway's call returned), and closing
         * it would turn the operation's own event into an alert. */
        for (int k = 0; k < 32; k++)
            if ((kinds >> k & 1) && e->matched_at[k])
                e->closed |= 1u << k;
    }
    pthread_mutex_unlock(&l->mu);
}

void dbg_gw_ledger_close_finished(dbg_gw_ledger *l, const char *vm_uuid, unsigned kinds,
                                  uint64_t except_id, int64_t before_us)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        if (e->id != except_id && e->end_us && e->end_us < before_us &&
            strcmp(e->uuid, vm_uuid) == 0)
            e->closed |= kinds;
    }
    pthread_mutex_unlock(&l->mu);
}

void dbg_gw_ledger_prune(dbg_gw_ledger *l, int64_t older_than_us)
{
    pthread_mutex_lock(&l->mu);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        entry *e = &l->e[i];
        int64_t last = e->end_us ? e->end_us : e->begin_us;
        if (last < older_than_us)
            continue;
        l->e[w++] = *e;
    }
    l->n = w;
    pthread_mutex_unlock(&l->mu);
}
