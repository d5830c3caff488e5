/* Approval tickets: an operation the policy sends to review waits here until the named
 * approver runs `dengbao vm approve TICKET`. Tickets are single use and expire. With a store
 * file (the agent's <state-dir>/gateway-tickets.json) the pending ones survive a restart of the
 * agent: a tenant's approval is not lost to an upgrade or a crash, and a used ticket stays used,
 * because the file is rewritten (atomically) before a filing or an approval is acknowledged. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

#define MAX_TICKETS 1024

struct dbg_gw_tickets {
    pthread_mutex_t mu;
    int64_t ttl_us;
    dbg_gw_ticket *items;
    size_t n, cap;
    char *path; /* store file, or NULL */
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
    free(t->path);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

/* Drops used tickets, and expired ones once their expiry is recorded and a ttl has passed
 * (an approval that late is still answered "expired"), so the table stays bounded. Caller
 * holds mu. */
static void compact(dbg_gw_tickets *t, int64_t now_us)
{
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        dbg_gw_ticket *k = &t->items[i];
        if (k->state == DBG_TICKET_APPROVED ||
            (k->expiry_recorded && now_us > k->expires_us + t->ttl_us)) {
            free(k->request.xml);
            continue;
        }
        t->items[w++] = *k;
    }
    t->n = w;
}

/* Room for one more ticket. Caller holds mu. */
static int reserve_one(dbg_gw_tickets *t)
{
    return dbg_grow_array((void **)&t->items, &t->cap, t->n + 1, sizeof(*t->items), 16);
}

/* ---- the store file: a JSON array of the pending tickets ---- */

static json_t *ticket_json(const dbg_gw_ticket *k)
{
    json_t *rq = dbg_gw_request_json(&k->request);
    if (!rq)
        return NULL;
    const dbg_gw_identity *i = &k->requester;
    const dbg_gw_decision *d = &k->decision;
    return json_pack(
        "{s:s, s:{s:i, s:I, s:s, s:s, s:s, s:s, s:s}, "
        "s:{s:i, s:s, s:s, s:s, s:s, s:s, s:s}, s:o, s:s, s:s, s:s, s:I, s:I}",
        "id", k->id, "requester", "kind", (int)i->kind, "uid", (json_int_t)i->uid, "user", i->user,
        "cn", i->cn, "org", i->org, "actor", i->actor, "source", i->source, "decision", "verdict",
        (int)d->verdict, "role", d->role, "tenant", d->tenant, "rule", d->rule, "reason", d->reason,
        "approver_role", d->approver_role, "approver_tenant", d->approver_tenant, "request", rq,
        "vm_uuid", k->vm_uuid, "vm_name", k->vm_name, "vm_tenant", k->vm_tenant, "created_us",
        (json_int_t)k->created_us, "expires_us", (json_int_t)k->expires_us);
}

/* Rewrites the store with the tickets still pending, and the expired ones whose expiry is not
 * recorded yet (a restart must still record it). Caller holds mu. */
static int save_locked(dbg_gw_tickets *t)
{
    if (!t->path)
        return 0;
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < t->n; i++) {
        const dbg_gw_ticket *k = &t->items[i];
        if (k->state == DBG_TICKET_APPROVED || k->expiry_recorded)
            continue;
        json_t *j = ticket_json(k);
        if (!j || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    char *text = arr ? json_dumps(arr, JSON_INDENT(1)) : NULL;
    json_decref(arr);
    if (!text) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot write the approval tickets to %s", t->path);
        return -1;
    }
    int r = dbg_write_file_atomic(t->path, text, strlen(text));
    free(text);
    return r;
}

/* Copies a string member into dst; a missing, non-string or over-long one is an error. */
static int get_str(json_t *o, const char *key, char *dst, size_t size, const char *path, size_t n)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) >= size) {
        dbg_err_set(DBG_ERR_PARSE, "%s: ticket %zu: '%s' missing, not a string or too long", path,
                    n, key);
        return -1;
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

static int ticket_from_json(json_t *j, dbg_gw_ticket *k, const char *path, size_t n)
{
    memset(k, 0, sizeof(*k));
    json_t *i = json_object_get(j, "requester"), *d = json_object_get(j, "decision");
    json_t *rq = json_object_get(j, "request");
    if (!json_is_object(i) || !json_is_object(d) || !json_is_object(rq)) {
        dbg_err_set(DBG_ERR_PARSE,
                    "%s: ticket %zu: requester, decision and request must be objects", path, n);
        return -1;
    }
    if (get_str(j, "id", k->id, sizeof(k->id), path, n))
        return -1;
    if (strlen(k->id) != DBG_GW_TICKET_LEN) {
        dbg_err_set(DBG_ERR_PARSE, "%s: ticket %zu: id is not %d characters", path, n,
                    DBG_GW_TICKET_LEN);
        return -1;
    }
    if (get_str(i, "user", k->requester.user, sizeof(k->requester.user), path, n) ||
        get_str(i, "cn", k->requester.cn, sizeof(k->requester.cn), path, n) ||
        get_str(i, "org", k->requester.org, sizeof(k->requester.org), path, n) ||
        get_str(i, "actor", k->requester.actor, sizeof(k->requester.actor), path, n) ||
        get_str(i, "source", k->requester.source, sizeof(k->requester.source), path, n) ||
        get_str(d, "role", k->decision.role, sizeof(k->decision.role), path, n) ||
        get_str(d, "tenant", k->decision.tenant, sizeof(k->decision.tenant), path, n) ||
        get_str(d, "rule", k->decision.rule, sizeof(k->decision.rule), path, n) ||
        get_str(d, "reason", k->decision.reason, sizeof(k->decision.reason), path, n) ||
        get_str(d, "approver_role", k->decision.approver_role, sizeof(k->decision.approver_role),
                path, n) ||
        get_str(d, "approver_tenant", k->decision.approver_tenant,
                sizeof(k->decision.approver_tenant), path, n) ||
        get_str(j, "vm_uuid", k->vm_uuid, sizeof(k->vm_uuid), path, n) ||
        get_str(j, "vm_name", k->vm_name, sizeof(k->vm_name), path, n) ||
        get_str(j, "vm_tenant", k->vm_tenant, sizeof(k->vm_tenant), path, n))
        return -1;
    json_t *kind = json_object_get(i, "kind"), *uid = json_object_get(i, "uid"),
           *verdict = json_object_get(d, "verdict"), *cr = json_object_get(j, "created_us"),
           *ex = json_object_get(j, "expires_us");
    if (!json_is_integer(kind) || !json_is_integer(uid) || !json_is_integer(verdict) ||
        !json_is_integer(cr) || !json_is_integer(ex) ||
        json_integer_value(verdict) != DBG_GW_REVIEW || json_integer_value(kind) < DBG_GW_ID_UNIX ||
        json_integer_value(kind) > DBG_GW_ID_LOCAL) {
        dbg_err_set(DBG_ERR_PARSE,
                    "%s: ticket %zu: kind, uid, verdict (2 = review), created_us "
                    "and expires_us must be integers in range",
                    path, n);
        return -1;
    }
    k->requester.kind = (dbg_gw_id_kind)json_integer_value(kind);
    k->requester.uid = (uid_t)json_integer_value(uid);
    k->decision.verdict = DBG_GW_REVIEW;
    k->created_us = json_integer_value(cr);
    k->expires_us = json_integer_value(ex);
    k->state = DBG_TICKET_PENDING;
    char *line = json_dumps(rq, JSON_COMPACT);
    int r = line ? dbg_gw_request_parse(line, strlen(line), &k->request) : -1;
    free(line);
    if (r != 0) {
        dbg_err_set(DBG_ERR_PARSE, "%s: ticket %zu: request: %s", path, n, dbg_err_msg());
        return -1;
    }
    return 0;
}

int dbg_gw_tickets_persist(dbg_gw_tickets *t, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    json_t *arr = NULL;
    int r = -1;
    pthread_mutex_lock(&t->mu);
    if (access(path, F_OK) == 0) {
        if (dbg_read_file(path, (size_t)MAX_TICKETS * (DBG_GW_LINE_MAX + 4096), &text, &len) != 0)
            goto out;
        json_error_t e;
        arr = json_loadb(text, len, 0, &e);
        if (!json_is_array(arr)) {
            dbg_err_set(DBG_ERR_PARSE, "%s:%d:%d: %s", path, e.line, e.column,
                        arr ? "a JSON array of tickets expected" : e.text);
            goto out;
        }
        if (json_array_size(arr) > MAX_TICKETS) {
            dbg_err_set(DBG_ERR_LIMIT, "%s: more than %d tickets", path, MAX_TICKETS);
            goto out;
        }
        size_t n;
        json_t *j;
        json_array_foreach(arr, n, j)
        {
            dbg_gw_ticket k;
            if (ticket_from_json(j, &k, path, n) != 0)
                goto out;
            if (reserve_one(t) != 0) {
                dbg_gw_request_clear(&k.request);
                goto out;
            }
            t->items[t->n++] = k;
        }
    }
    if (!(t->path = dbg_strdup(path)))
        goto out;
    r = 0;
out:
    if (r != 0) { /* all or nothing: a half-read store is not used */
        for (size_t i = 0; i < t->n; i++)
            free(t->items[i].request.xml);
        t->n = 0;
    }
    pthread_mutex_unlock(&t->mu);
    json_decref(arr);
    free(text);
    return r;
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
    if (reserve_one(t) != 0)
        goto out;
    t->items[t->n++] = k;
    if (save_locked(t) != 0) {
        t->n--; /* not durable: not filed */
        goto out;
    }
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
        dbg_err_set(DBG_ERR_NOTFOUND, GW_NO_SUCH_TICKET, id);
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
    memset(out, 0, sizeof(*out));
    if (k) { /* also a used or expired one: its refusal is recorded as about its VM */
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
        /* used before it runs: a restart must not bring it back */
        k->state = DBG_TICKET_APPROVED;
        if (save_locked(t) != 0) {
            k->state = DBG_TICKET_PENDING;
            r = -1;
        }
    }
    if (r == 0) {
        *out = *k;
        out->request.xml = k->request.xml; /* ownership moves to the caller */
        k->request.xml = NULL;
        out->state = DBG_TICKET_APPROVED;
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}

size_t dbg_gw_tickets_expired(dbg_gw_tickets *t, int64_t now_us, dbg_gw_ticket *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&t->mu);
    for (size_t i = 0; i < t->n && n < max; i++) {
        dbg_gw_ticket *k = &t->items[i];
        if (k->state == DBG_TICKET_APPROVED || k->expiry_recorded || now_us <= k->expires_us)
            continue;
        k->state = DBG_TICKET_EXPIRED;
        out[n] = *k;
        out[n++].request.xml = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    return n;
}

int dbg_gw_tickets_expiry_recorded(dbg_gw_tickets *t, const char *id)
{
    pthread_mutex_lock(&t->mu);
    dbg_gw_ticket *k = find(t, id);
    int r = 0;
    if (k && !k->expiry_recorded) {
        k->expiry_recorded = 1;
        r = save_locked(t);
    }
    pthread_mutex_unlock(&t->mu);
    return r;
}
