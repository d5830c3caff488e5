/* Approval tickets: an operation the policy sends to review waits here until the named
 * approver runs `dengbao vm approve TICKET`. Tickets are single use and expire. */
#include <stdio.h>
#include <stdlib.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"

#define MAX_TICKETS 1024

struct dbg_gw_tickets {
    pthread_mutex_t mu;
    int64_t ttl_us;
    dbg_gw_ticket *items;
    size_t n, cap;
};

dbg_gw_tickets *dbg_gw_tickets_new(int64_t ttl_us)
{
    dbg_gw_tickets *t = dbg_calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    pthread_mutex_init(&t->mu, NULL);
    t->ttl_us = ttl_us > 0 ? ttl_us : 3600LL * 1000000;
    return t;
}

void dbg_gw_tickets_free(dbg_gw_tickets *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->items[i].request.xml);
    free(t->items);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Drops used and long-expired tickets so the table stays bounded. Caller holds mu. */
static void compact(dbg_gw_tickets *t, int64_t now_us)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        dbg_gw_ticket *k = &t->items[i];
        if (k->state == DBG_TICKET_APPROVED || now_us > k->expires_us + t->ttl_us) {
            free(k->request.xml);
            continue;
        }
        t->items[w++] = *k;
    }
    t->n = w;
}

int dbg_gw_tickets_file(dbg_gw_tickets *t, const dbg_gw_identity *requester,
                        const dbg_gw_decision *d, const dbg_gw_request *req, const char *vm_uuid,
                        const char *vm_name, const char *vm_tenant, int64_t now_us,
                        char id_out[DBG_GW_TICKET_LEN + 1])
{
    uint8_t rnd[DBG_GW_TICKET_LEN / 2];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        dbg_err_set(DBG_ERR_CRYPTO, "no random bytes for a ticket id");
        return -1;
    }
    dbg_gw_ticket k;
    memset(&k, 0, sizeof(k));
    dbg_hex_encode(rnd, sizeof(rnd), k.id);
    k.requester = *requester;
    k.decision = *d;
    k.request = *req;
    k.request.xml = NULL;
    if (req->xml && !(k.request.xml = dbg_strdup(req->xml)))
        return -1;
    snprintf(k.vm_uuid, sizeof(k.vm_uuid), "%s", vm_uuid ? vm_uuid : "");
    snprintf(k.vm_name, sizeof(k.vm_name), "%s", vm_name ? vm_name : "");
    snprintf(k.vm_tenant, sizeof(k.vm_tenant), "%s", vm_tenant ? vm_tenant : "");
    k.created_us = now_us;
    k.expires_us = now_us + t->ttl_us;
    k.state = DBG_TICKET_PENDING;
    int r = -1;
    pthread_mutex_lock(&t->mu);
    compact(t, now_us);
    if (t->n >= MAX_TICKETS) {
        dbg_err_set(DBG_ERR_LIMIT, "%d approval tickets are pending; approve or let them expire",
                    MAX_TICKETS);
        goto out;
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        dbg_gw_ticket *n = dbg_reallocarray(t->items, cap, sizeof(*n));
        if (!n)
            goto out;
        t->items = n;
        t->cap = cap;
    }
    t->items[t->n++] = k;
    k.request.xml = NULL;
    memcpy(id_out, k.id, DBG_GW_TICKET_LEN + 1);
    r = 0;
out:
    pthread_mutex_unlock(&t->mu);
    free(k.request.xml);
    return r;
}

static dbg_gw_ticket *find(dbg_gw_tickets *t, const char *id)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->items[i].id, id) == 0)
            return &t->items[i];
    return NULL;
}

static int check(dbg_gw_ticket *k, const char *id, int64_t now_us)
{
    if (!k) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no ticket %.32s", id);
        return -1;
    }
    if (k->state == DBG_TICKET_APPROVED) {
        dbg_err_set(DBG_ERR_INVALID, "ticket %s was already approved and used", k->id);
        return -1;
    }
    if (now_us > k->expires_us) {
        k->state = DBG_TICKET_EXPIRED;
        dbg_err_set(DBG_ERR_LIMIT, "ticket %s expired", k->id);
        return -1;
    }
    return 0;
}

int dbg_gw_tickets_peek(dbg_gw_tickets *t, const char *id, int64_t now_us, dbg_gw_ticket *out)
{
    pthread_mutex_lock(&t->mu);
    dbg_gw_ticket *k = find(t, id);
    int r = check(k, id, now_us);
    if (r == 0) {
        *out = *k;
        out->request.xml = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

int dbg_gw_tickets_take(dbg_gw_tickets *t, const char *id, int64_t now_us, dbg_gw_ticket *out)
{
    pthread_mutex_lock(&t->mu);
    dbg_gw_ticket *k = find(t, id);
    int r = check(k, id, now_us);
    if (r == 0) {
        *out = *k;
        out->request.xml = k->request.xml; /* ownership moves to the caller */
        k->request.xml = NULL;
        k->state = DBG_TICKET_APPROVED;
        out->state = DBG_TICKET_APPROVED;
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}
