/* dbg_store: picks the backend from the URL and forwards; EVE lines to events. */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"
#include "store/store_internal.h"

struct dbg_store {
    const dbg_store_ops *ops;
    void *impl;
    char *url; /* opened again by dbg_store_open_reader */
};

/* The SQLite file a URL names, NULL for a PostgreSQL URL. */
static const char *sqlite_path(const char *url)
{
    if (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11))
        return NULL;
    return !strncmp(url, "sqlite:", 7) ? url + 7 : url;
}

dbg_store *dbg_store_open(const char *url)
{
    dbg_store *st = dbg_calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    const char *path = sqlite_path(url);
    st->ops = path ? &dbg_store_sqlite_ops : &dbg_store_pg_ops;
    st->impl = path ? dbg_store_sqlite_open(path) : dbg_store_pg_open(url);
    if (!st->impl || !(st->url = dbg_strdup(url))) {
        if (st->impl)
            st->ops->close(st->impl);
        free(st);
        return NULL;
    }
    return st;
}

int dbg_store_temporary(const dbg_store *st)
{
    return st->ops->temporary && st->ops->temporary(st->impl);
}

dbg_store *dbg_store_open_reader(const dbg_store *st)
{
    /* SQLite gives each connection its own database for these: a second one would read an
     * empty store */
    if (dbg_store_temporary(st)) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "an in-memory SQLite store has one connection only");
        return NULL;
    }
    return dbg_store_open(st->url);
}

/* The key of host and a record's text: SHA-256 of the host, a NUL, then the text. */
static int dedup_hash(const char *host, const char *text, char out[STORE_DEDUP_KEY_MAX])
{
    const char *h = host ? host : "";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t md[32];
    unsigned int mdlen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, h, strlen(h) + 1) == 1 && /* the NUL separates host and body */
             EVP_DigestUpdate(ctx, text, strlen(text)) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == sizeof(md);
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        dbg_err_set(DBG_ERR_CRYPTO, "cannot hash an event for its dedup key");
        return -1;
    }
    dbg_hex_encode(md, sizeof(md), out);
    return 0;
}

/* The key of a record already parsed: its canonical form (keys sorted, no spaces) hashed. */
static int dedup_key_json(const char *host, const json_t *j, const char *body,
                          char out[STORE_DEDUP_KEY_MAX])
{
    DBG_AUTOFREE char *canon = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                                 : NULL;
    return dedup_hash(host, canon ? canon : body ? body : "", out);
}

int store_dedup_key(const char *host, const char *body, char out[STORE_DEDUP_KEY_MAX])
{
    /* Both backends hash the same canonical form: keys sorted, no spaces. A body that is not
     * JSON (only callers outside EVE ingest could pass one) is hashed as it is. */
    json_t *j = json_loads(body ? body : "", JSON_DECODE_ANY, NULL);
    int r = dedup_key_json(host, j, body, out);
    json_decref(j);
    return r;
}

/* An event's key: the one dbg_store_event_from_eve made from the record it parsed, which saves
 * parsing the body again (a third of `store ingest`'s time went to it), or made here. */
static int event_key(const dbg_store_event *ev, char out[STORE_DEDUP_KEY_MAX])
{
    if (ev->dedup && strlen(ev->dedup) == STORE_DEDUP_KEY_MAX - 1) {
        memcpy(out, ev->dedup, STORE_DEDUP_KEY_MAX);
        return 0;
    }
    return store_dedup_key(ev->host, ev->body, out);
}

int dbg_store_add(dbg_store *st, const dbg_store_event *ev, int64_t *id_out)
{
    char key[STORE_DEDUP_KEY_MAX];
    if (event_key(ev, key) < 0)
        return -1;
    return st->ops->add(st->impl, ev, key, id_out);
}
int dbg_store_add_batch(dbg_store *st, const dbg_store_event *const *events, size_t n, int *result)
{
    for (size_t i = 0; i < n; i++)
        result[i] = -1;
    if (!st->ops->add_batch) {
        for (size_t i = 0; i < n; i++)
            if ((result[i] = dbg_store_add(st, events[i], NULL)) < 0)
                return -1;
        return 0;
    }
    if (n == 0)
        return 0;
    char(*keys)[STORE_DEDUP_KEY_MAX] = dbg_calloc(n, sizeof(*keys));
    if (!keys)
        return -1;
    /* A key that cannot be made stops the batch there, as it stopped dbg_store_add one by one:
     * the events before it are still added, and its error is the one reported. */
    size_t keyed = 0;
    while (keyed < n && event_key(events[keyed], keys[keyed]) == 0)
        keyed++;
    int r = keyed ? st->ops->add_batch(st->impl, events, (const char(*)[STORE_DEDUP_KEY_MAX])keys,
                                       keyed, result)
                  : 0;
    free(keys);
    return r < 0 || keyed < n ? -1 : 0;
}
/* The conditions f sets, each as " AND ...": the tenant side a branch reads (0 none, 1 tenant,
 * 2 tenant2 without the rows of branch 1), then the others. */
static int sql_conds(dbg_buf *b, const dbg_store_filter *f, int side, int stored_order, char m)
{
    int r = 0;
    if (side == 1)
        r |= dbg_buf_printf(b, " AND tenant=%c2", m);
    else if (side == 2)
        r |= dbg_buf_printf(b, " AND tenant2=%c2 AND tenant<>%c2", m, m);
    /* SQLite, planning without statistics, took the kind's index for a tenant's branch (its
     * order suits GROUP BY type) and walked every alert of every tenant: "+kind" is no index
     * term, so the branch walks the tenant's index */
    if (f->kind)
        r |= dbg_buf_printf(b, " AND %skind=%c1", side && m == '?' ? "+" : "", m);
    if (f->type)
        r |= dbg_buf_printf(b, " AND type=%c3", m);
    if (f->since_us)
        r |= dbg_buf_printf(b, " AND time_us>=%c4", m);
    if (f->until_us)
        r |= dbg_buf_printf(b, " AND time_us<%c5", m);
    if (stored_order)
        r |= dbg_buf_printf(b, " AND id>%c7", m);
    return r;
}

int store_sql_build(dbg_buf *sql, const dbg_store_filter *f, store_sql_kind kind, char m)
{
    int pg = m == '$', r = 0;
    int first = f->tenant ? 1 : 0, last = f->tenant ? 2 : 0; /* the branches' tenant sides */
    dbg_buf_reset(sql);
    if (kind == STORE_SQL_COUNT) {
        /* Types in the order of their first event: its time is the least of the type's, its
         * id (which breaks a tie in time) the least of the type's events at that time. */
        r |= dbg_buf_adds(sql, "SELECT type, n, (SELECT min(id) FROM events e WHERE"
                               " e.type=c.type AND e.time_us=c.t0");
        if (f->tenant)
            r |= dbg_buf_printf(sql, " AND (tenant=%c2 OR tenant2=%c2)", m, m);
        r |= sql_conds(sql, f, 0, 0, m);
        r |= dbg_buf_printf(sql, ") AS id0, t0 FROM (SELECT type, %s AS n, min(t0) AS t0 FROM (",
                            pg ? "sum(n)::bigint" : "sum(n)");
        for (int side = first; side <= last; side++) {
            r |= dbg_buf_adds(sql, side == 2 ? " UNION ALL " : "");
            r |= dbg_buf_adds(sql, "SELECT type, count(*) AS n, min(time_us) AS t0 FROM events"
                                   " WHERE 1=1");
            r |= sql_conds(sql, f, side, 0, m);
            r |= dbg_buf_adds(sql, " GROUP BY type");
        }
        r |= dbg_buf_adds(sql, ") g GROUP BY type) c ORDER BY t0, id0");
        goto out;
    }
    const char *cols = pg ? "SELECT id,time_us,kind,host,type,clause,tenant,tenant2,body::text"
                            " FROM events"
                          : "SELECT id,time_us,kind,host,type,clause,tenant,tenant2,body"
                            " FROM events";
    const char *order = f->stored_order   ? "id"
                        : f->newest_first ? "time_us DESC, id DESC"
                                          : "time_us, id";
    /* With a limit each branch is cut to it in its own index's order before the two are
     * merged: PostgreSQL 15 merges no ordered branches of a UNION ALL, and sorted the tenant's
     * every event for the first page. */
    int cut = f->tenant && f->limit > 0;
    for (int side = first; side <= last; side++) {
        r |= dbg_buf_adds(sql, side == 2 ? " UNION ALL " : "");
        r |= dbg_buf_adds(sql, cut ? "SELECT * FROM (" : "");
        r |= dbg_buf_adds(sql, cols);
        r |= dbg_buf_adds(sql, " WHERE 1=1");
        r |= sql_conds(sql, f, side, f->stored_order, m);
        if (cut)
            r |= dbg_buf_printf(sql, " ORDER BY %s LIMIT %c6) b%d", order, m, side);
    }
    r |= dbg_buf_printf(sql, " ORDER BY %s", order);
    if (f->limit > 0)
        r |= dbg_buf_printf(sql, " LIMIT %c6", m);
out:
    if (r != 0) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build a store query");
        return -1;
    }
    return 0;
}

int dbg_store_begin(dbg_store *st) { return st->ops->begin(st->impl); }
int dbg_store_commit(dbg_store *st) { return st->ops->commit(st->impl); }
int dbg_store_rollback(dbg_store *st) { return st->ops->rollback(st->impl); }
int dbg_store_query(dbg_store *st, const dbg_store_filter *f, dbg_store_cb cb, void *opaque)
{
    return st->ops->query(st->impl, f, cb, opaque);
}
int dbg_store_count_types(dbg_store *st, const dbg_store_filter *f, dbg_store_count_cb cb,
                          void *opaque)
{
    return st->ops->count_types(st->impl, f, cb, opaque);
}
const char *dbg_store_backend(const dbg_store *st) { return st->ops->name; }

void dbg_store_close(dbg_store *st)
{
    if (!st)
        return;
    st->ops->close(st->impl);
    free(st->url);
    free(st);
}

/* Owned strings of one converted EVE line. */
typedef struct {
    char *kind, *type, *clause, *tenant, *tenant2, *body, *host;
    char dedup[STORE_DEDUP_KEY_MAX];
} eve_strings;

/* The text at root.a[.b[.c]], "" when absent or null; NULL, with the error naming the field, when
 * it is something else: a tenant given as a number was stored as no tenant, so that tenant never
 * saw its own event. The same holds for a level on the way that is no object
 * ("dengbao":{"src":"tenant-a"} was stored as no tenant too). */
static const char *path_str(json_t *root, const char *a, const char *b, const char *c)
{
    const char *name[3] = {a, b, c};
    json_t *o = root;
    for (int i = 0; i < 3 && name[i]; i++) {
        if (!json_is_object(o)) {
            dbg_err_set(DBG_ERR_PARSE, "EVE record's \"%s%s%s\" is not an object", a,
                        i > 1 ? "." : "", i > 1 ? b : "");
            return NULL;
        }
        o = json_object_get(o, name[i]);
        if (!o || json_is_null(o))
            return "";
    }
    if (json_is_string(o))
        return json_string_value(o);
    dbg_err_set(DBG_ERR_PARSE, "EVE record's \"%s%s%s%s%s\" is not a string", a, b ? "." : "",
                b ? b : "", c ? "." : "", c ? c : "");
    return NULL;
}

int dbg_store_event_from_eve(const char *line, const char *host, dbg_store_event *ev, void **owned)
{
    json_error_t jerr;
    json_t *root = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        dbg_err_set(DBG_ERR_PARSE, "column %d: %s", root ? 1 : jerr.column,
                    root ? "EVE record is not a JSON object" : jerr.text);
        json_decref(root);
        return -1;
    }
    int r = -1;
    eve_strings *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        goto out;
    const json_t *tsv = json_object_get(root, "timestamp");
    int64_t us = 0;
    if (!tsv) {
        dbg_err_set(DBG_ERR_PARSE, "EVE record has no \"timestamp\"");
        goto out;
    }
    if (!json_is_string(tsv)) {
        /* the value as written ({"timestamp":5} showed as ('')), bounded: it is untrusted */
        char *shown = json_dumps(tsv, JSON_ENCODE_ANY | JSON_COMPACT);
        dbg_err_set(DBG_ERR_PARSE,
                    "EVE record has no valid \"timestamp\" (%.80s%s, not a string with a time)",
                    shown ? shown : "?", shown && strlen(shown) > 80 ? "..." : "");
        free(shown);
        goto out;
    }
    const char *ts = json_string_value(tsv);
    /* Suricata's "+0000" offset has no colon, and a line without a zone was always stored as
     * UTC: refusing it would drop a sensor's event, which no one would see again */
    if (!*ts || dbg_time_parse_eve(ts, &us) < 0) {
        dbg_err_set(DBG_ERR_PARSE, "EVE record has no valid \"timestamp\" ('%s')", ts);
        goto out;
    }
    /* The kind is the EVE event_type, so `store query --kind flow` finds the sensor's --flows
     * records and Suricata's flow/dns/... lines are not taken for alerts; a line without one
     * (older dengbao alerts) is an alert. */
    const char *kind, *type = NULL, *clause = NULL, *tenant = NULL, *tenant2 = NULL;
    /* the first bad field is the one named */
    if (!(kind = path_str(root, "event_type", NULL, NULL)) ||
        !(type = path_str(root, "alert", "signature", NULL)) ||
        !(clause = path_str(root, "dengbao", "clause", NULL)) ||
        !(tenant = path_str(root, "dengbao", "src", "tenant")) ||
        !(tenant2 = path_str(root, "dengbao", "dest", "tenant")))
        goto out;
    s->kind = dbg_strdup(*kind ? kind : "alert");
    s->type = dbg_strdup(type);
    s->clause = dbg_strdup(clause);
    s->tenant = dbg_strdup(tenant);
    s->tenant2 = dbg_strdup(tenant2);
    s->body = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    /* The host is a TLS client's CN or a command-line name, not checked text: PostgreSQL refuses
     * bytes that are not UTF-8 and the API could not list them. */
    s->host = dbg_utf8_sanitize(host ? host : "", host ? strlen(host) : 0);
    if (!s->kind || !s->type || !s->clause || !s->tenant || !s->tenant2 || !s->body || !s->host) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot convert EVE record");
        goto out;
    }
    /* the key store_dedup_key would make from host and body, from the record parsed here: the
     * body is this record's dump, which reads back as the same record */
    if (dedup_key_json(s->host, root, s->body, s->dedup) < 0)
        goto out;
    memset(ev, 0, sizeof(*ev));
    ev->time_us = us;
    ev->kind = s->kind;
    ev->host = s->host;
    ev->type = s->type;
    ev->clause = s->clause;
    ev->tenant = s->tenant;
    ev->tenant2 = s->tenant2;
    ev->body = s->body;
    ev->dedup = s->dedup;
    *owned = s;
    s = NULL;
    r = 0;
out:
    if (s) {
        free(s->kind);
        free(s->type);
        free(s->clause);
        free(s->tenant);
        free(s->tenant2);
        free(s->body);
        free(s->host);
        free(s);
    }
    json_decref(root);
    return r;
}

void dbg_store_eve_owned_free(void *owned)
{
    eve_strings *s = owned;
    if (!s)
        return;
    free(s->kind);
    free(s->type);
    free(s->clause);
    free(s->tenant);
    free(s->tenant2);
    free(s->body);
    free(s->host);
    free(s);
}
