/* The server-rendered dashboard (`GET /`): the caller's view only — alert counts by type, the
 * latest alerts, and links to the audit export and (provider) the assessment. No JavaScript;
 * every value from the store is HTML-escaped. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "server/server_int.h"

#define LATEST_N 20

typedef struct {
    int64_t time_us;
    char *type, *clause, *tenant, *tenant2, *host;
} latest_event;

typedef struct {
    json_t *counts; /* type -> count, types in the order of their first event */
    uint64_t total;
    latest_event latest[LATEST_N]; /* newest first */
    size_t n_latest;
} dash_data;

static void latest_free(latest_event *e)
{
    free(e->type);
    free(e->clause);
    free(e->tenant);
    free(e->tenant2);
    free(e->host);
    memset(e, 0, sizeof(*e));
}

static int dash_count(const char *type, int64_t count, void *opaque)
{
    dash_data *d = opaque;
    /* an empty type and a type named "(none)" share the row, as they share its label */
    const char *label = type[0] ? type : "(none)";
    json_t *c = json_object_get(d->counts, label);
    if (json_object_set_new(d->counts, label,
                            json_integer((c ? json_integer_value(c) : 0) + count)) != 0) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot count events of type '%s'", label);
        return -1;
    }
    d->total += (uint64_t)count;
    return 0;
}

/* The store returns the latest events newest first. */
static int dash_latest(const dbg_store_event *ev, void *opaque)
{
    dash_data *d = opaque;
    latest_event *e = &d->latest[d->n_latest];
    e->time_us = ev->time_us;
    e->type = dbg_strdup(ev->type[0] ? ev->type : "(none)");
    e->clause = dbg_strdup(ev->clause);
    e->tenant = dbg_strdup(ev->tenant);
    e->tenant2 = dbg_strdup(ev->tenant2);
    e->host = dbg_strdup(ev->host);
    d->n_latest++;
    if (!e->type || !e->clause || !e->tenant || !e->tenant2 || !e->host) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot keep event %lld", (long long)ev->id);
        return -1;
    }
    return d->n_latest == LATEST_N;
}

static void cell(dbg_buf *b, const char *s)
{
    dbg_buf_adds(b, "<td>");
    dbg_buf_add_markup(b, s && *s ? s : "-");
    dbg_buf_adds(b, "</td>");
}

static void render(const srv_identity *id, const dash_data *d, const char *backend, dbg_buf *b)
{
    dbg_buf_adds(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
                    "<title>dengbao 集中审计</title><style>body{font-family:sans-serif;margin:2em}"
                    "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:.2em .6em;"
                    "text-align:left}</style></head><body>\n<h1>dengbao 集中审计 / centralized "
                    "audit</h1>\n<p>");
    dbg_buf_add_markup(b, id->actor);
    dbg_buf_adds(b, " — ");
    if (id->view == SRV_VIEW_TENANT) {
        dbg_buf_adds(b, "tenant view: <b>");
        dbg_buf_add_markup(b, id->tenant);
        dbg_buf_adds(b, "</b> (only events concerning this tenant; MLPS 8.2.5.1c)");
    } else {
        dbg_buf_adds(b, "provider view (all tenants; role ");
        dbg_buf_add_markup(b, id->role);
        dbg_buf_adds(b, ")");
    }
    dbg_buf_printf(b, ". Store: %s.</p>\n<h2>Alerts by type (%llu)</h2>\n", backend,
                   (unsigned long long)d->total);
    if (d->total == 0) {
        dbg_buf_adds(b, "<p>No events.</p>\n");
    } else {
        dbg_buf_adds(b, "<table><tr><th>type</th><th>count</th></tr>\n");
        const char *k;
        json_t *v;
        json_object_foreach(d->counts, k, v)
        {
            dbg_buf_adds(b, "<tr>");
            cell(b, k);
            dbg_buf_printf(b, "<td>%lld</td></tr>\n", (long long)json_integer_value(v));
        }
        dbg_buf_adds(b, "</table>\n");
        dbg_buf_printf(b,
                       "<h2>Latest %d</h2>\n<table><tr><th>time (UTC)</th><th>type</th>"
                       "<th>clause</th><th>tenant</th><th>other tenant</th><th>host</th></tr>\n",
                       LATEST_N);
        for (size_t i = 0; i < d->n_latest; i++) {
            const latest_event *e = &d->latest[i];
            char when[40];
            dbg_time_rfc3339(e->time_us, when, sizeof(when));
            dbg_buf_adds(b, "<tr>");
            cell(b, when);
            cell(b, e->type);
            cell(b, e->clause);
            cell(b, e->tenant);
            cell(b, e->tenant2);
            cell(b, e->host);
            dbg_buf_adds(b, "</tr>\n");
        }
        dbg_buf_adds(b, "</table>\n");
    }
    dbg_buf_adds(
        b, "<h2>Evidence</h2>\n<ul>\n<li><a href=\"/api/v1/events\">events (JSON)</a></li>\n");
    if (id->view == SRV_VIEW_TENANT) {
        dbg_buf_adds(b,
                     "<li><a href=\"/api/v1/audit/export\">audit records with inclusion proofs</a>"
                     " and <a href=\"/api/v1/audit/pubkey\">the log's public key</a> (compare "
                     "its key id with the one agreed with the provider, keep it); verify offline: "
                     "<code>dengbao audit verify-export FILE --pubkey KEY --tenant ");
        dbg_buf_add_markup(b, id->tenant);
        dbg_buf_adds(b, "</code></li>\n");
    } else
        dbg_buf_adds(
            b, "<li>audit export of a tenant: <code>/api/v1/audit/export?tenant=T</code></li>\n"
               "<li><a href=\"/api/v1/assessment\">latest assessment (JSON)</a></li>\n");
    dbg_buf_adds(b, "</ul>\n</body></html>\n");
}

void srv_dashboard(dbg_server *s, const srv_identity *id, srv_response *resp)
{
    dash_data d;
    memset(&d, 0, sizeof(d));
    if (!(d.counts = json_object())) {
        srv_error(resp, 500, "out of memory");
        return;
    }
    dbg_store_filter f;
    memset(&f, 0, sizeof(f));
    f.tenant = id->view == SRV_VIEW_TENANT ? id->tenant : NULL;
    f.kind = "alert"; /* "Alerts by type": flow and other EVE records are not alerts */
    dbg_store *rd = srv_store_read_begin(s);
    int r = dbg_store_count_types(rd, &f, dash_count, &d);
    f.newest_first = 1;
    f.limit = LATEST_N;
    /* Two queries, two snapshots: an alert stored between them may be among the latest but
     * not yet counted, which the next view puts right. */
    if (r == 0)
        r = dbg_store_query(rd, &f, dash_latest, &d);
    srv_store_read_end(s, rd);
    if (r < 0) {
        srv_error(resp, 500, "store query failed: %s", dbg_err_msg());
    } else {
        resp->status = 200;
        resp->content_type = "text/html; charset=utf-8";
        dbg_buf_reset(&resp->body);
        render(id, &d, dbg_store_backend(s->store), &resp->body);
    }
    json_decref(d.counts);
    for (size_t i = 0; i < LATEST_N; i++)
        latest_free(&d.latest[i]);
}
