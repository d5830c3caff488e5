/* The routes of `dengbao serve`: health, events in (agents) and out (per view), a tenant's audit
 * export with inclusion proofs, the latest assessment (provider only), and the dashboard. Every
 * refusal is a JSON error that says what was wrong. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/audit.h"
#include "server/server_int.h"

#define EVENTS_LIMIT_DEFAULT 1000
#define EVENTS_LIMIT_MAX 10000
#define POST_ERRORS_LISTED 100
#define EXPORT_MAX ((size_t)1 << 30)
#define ASSESSMENT_MAX ((size_t)64 << 20)

void srv_error(srv_response *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    resp->status = status;
    resp->content_type = "application/json";
    dbg_buf_reset(&resp->body);
    /* A message quoting the client's bytes (%ff in a parameter, a name cut inside a character)
     * is no UTF-8, which jansson refuses: shown repaired, not as "(message not printable)". */
    DBG_AUTOFREE char *fixed =
        dbg_utf8_valid(msg, strlen(msg)) ? NULL : dbg_utf8_sanitize(msg, strlen(msg));
    json_t *j = json_pack("{s:s, s:i}", "error", fixed ? fixed : msg, "status", status);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(j);
    if (text) {
        dbg_buf_adds(&resp->body, text);
        dbg_buf_adds(&resp->body, "\n");
    } else {
        dbg_buf_printf(&resp->body, "{\"error\":\"(message not printable)\",\"status\":%d}\n",
                       status);
    }
    free(text);
}

/* Takes ownership of j. */
static void send_json(srv_response *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        srv_error(resp, 500, "cannot build the JSON answer");
        return;
    }
    resp->status = status;
    resp->content_type = "application/json";
    dbg_buf_reset(&resp->body);
    if (dbg_buf_adds(&resp->body, text) != 0 || dbg_buf_adds(&resp->body, "\n") != 0)
        srv_error(resp, 500, "answer too large");
    free(text);
}

/* A tenant name from a query: what the store and the audit log can hold. */
static int tenant_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 63)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
            return 0;
    return dbg_utf8_valid(t, n);
}

/* Without --policy the certificate's O names the caller: O=provider is the provider, any other O
 * that tenant. A tenant whose id is "provider" would get O=provider under that rule, the very
 * certificate of the provider's agents and admins, and with it every tenant's events. So without
 * a policy "provider" is no tenant id: serve holds and hands out nothing as that tenant's, and a
 * cloud with such a tenant runs serve with --policy, where roles, not names, decide. */
static int tenant_reserved(const dbg_server *s, const char *t)
{
    return !s->policy && dbg_tenant_reserved(t);
}
#define SRV_RESERVED_WHY DBG_TENANT_RESERVED_WHY

/* The tenant a request is about: a tenant is always itself (asking for another is refused), the
 * provider names one with ?tenant= or sees all (NULL). */
static int scope_tenant(const dbg_server *s, const srv_identity *id, const char *asked,
                        const char **out, srv_response *resp)
{
    if (asked && !tenant_ok(asked)) {
        srv_error(resp, 400, "parameter tenant: 1-63 printable UTF-8 characters expected");
        return -1;
    }
    if (tenant_reserved(s, asked)) {
        srv_error(resp, 400, "parameter tenant: %s", SRV_RESERVED_WHY);
        return -1;
    }
    if (id->view == SRV_VIEW_TENANT) {
        if (asked && strcmp(asked, id->tenant) != 0) {
            srv_error(resp, 403, "%s sees only tenant %s, not %s", id->actor, id->tenant, asked);
            return -1;
        }
        *out = id->tenant;
        return 0;
    }
    *out = asked;
    return 0;
}

/* ---- GET /api/v1/events ---- */

typedef struct {
    dbg_store_filter f;
    const char *tenant_asked;
    char tenant_buf[1024], type_buf[1024], kind_buf[1024];
    char msg[256];
    int since_given, until_given;
} events_query;

static int events_param(const char *name, const char *value, void *opaque)
{
    events_query *q = opaque;
    if (!strcmp(name, "type")) {
        snprintf(q->type_buf, sizeof(q->type_buf), "%s", value);
        q->f.type = q->type_buf;
    } else if (!strcmp(name, "kind")) {
        snprintf(q->kind_buf, sizeof(q->kind_buf), "%s", value);
        q->f.kind = q->kind_buf;
    } else if (!strcmp(name, "tenant")) {
        snprintf(q->tenant_buf, sizeof(q->tenant_buf), "%s", value);
        q->tenant_asked = q->tenant_buf;
    } else if (!strcmp(name, "since") || !strcmp(name, "until")) {
        int64_t us;
        int bad = dbg_time_parse_rfc3339(value, &us) != 0;
        if (bad && !strchr(value, ' ') && strlen(value) > 10 && value[10] == 'T') {
            /* the parser's words: a time without a zone (taken as UTC, 8 hours off for one
             * typed in Beijing) is told to add Z or +08:00, and how a '+' is sent */
            snprintf(q->msg, sizeof(q->msg),
                     "parameter %s: %.160s (in a query a '+' is sent as %%2B: +08:00 is %%2B08:00)",
                     name, dbg_err_msg());
            return -1;
        }
        if (bad) {
            /* a '+' of an offset (+08:00) sent unencoded arrives as a space (form encoding) */
            snprintf(q->msg, sizeof(q->msg), "parameter %s: '%.64s' is not an RFC 3339 time%s",
                     name, value,
                     strchr(value, ' ') ? " (a '+' in a query is sent as %2B: +08:00 is "
                                          "%2B08:00)"
                                        : "");
            return -1;
        }
        /* 0 is "no bound" to the query: until=1970-01-01T00:00:00Z listed every event */
        if (!strcmp(name, "until") && us <= 0) {
            snprintf(q->msg, sizeof(q->msg),
                     "parameter until: '%.64s' is not after 1970-01-01T00:00:00Z (the epoch)",
                     value);
            return -1;
        }
        *(!strcmp(name, "since") ? &q->f.since_us : &q->f.until_us) = us;
        *(!strcmp(name, "since") ? &q->since_given : &q->until_given) = 1;
    } else if (!strcmp(name, "after")) {
        long a;
        if (dbg_parse_long(value, 0, LONG_MAX, &a) != 0) {
            snprintf(q->msg, sizeof(q->msg),
                     "parameter after: '%.32s' is not an event id (a number from 0)", value);
            return -1;
        }
        q->f.stored_order = 1;
        q->f.after_id = a;
    } else if (!strcmp(name, "limit")) {
        long l;
        if (dbg_parse_long(value, 1, EVENTS_LIMIT_MAX, &l) != 0) {
            snprintf(q->msg, sizeof(q->msg),
                     "parameter limit: '%.32s' is not a number from 1 to %d", value,
                     EVENTS_LIMIT_MAX);
            return -1;
        }
        q->f.limit = l;
    } else {
        snprintf(q->msg, sizeof(q->msg),
                 "unknown parameter '%.64s' (type, kind, tenant, since, until, limit, after)",
                 name);
        return -1;
    }
    return 0;
}

/* A column may hold bytes that are not UTF-8 (a host stored before names were repaired on the way
 * in), which jansson refuses: repair them so one such row does not fail the whole listing. */
static json_t *text_json(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (!j && s) {
        DBG_AUTOFREE char *fixed = dbg_utf8_sanitize(s, strlen(s));
        j = fixed ? json_string(fixed) : NULL;
    }
    return j;
}

static json_t *event_json(const dbg_store_event *ev)
{
    char when[40];
    dbg_time_rfc3339(ev->time_us, when, sizeof(when));
    json_t *rec = json_loads(ev->body, 0, NULL);
    if (!rec)
        rec = text_json(ev->body);
    return json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o*}", "id", (json_int_t)ev->id,
                     "time", when, "kind", text_json(ev->kind), "host", text_json(ev->host), "type",
                     text_json(ev->type), "clause", text_json(ev->clause), "tenant",
                     text_json(ev->tenant), "tenant2", text_json(ev->tenant2), "record", rec);
}

static int collect_event(const dbg_store_event *ev, void *opaque)
{
    json_t *e = event_json(ev);
    if (!e || json_array_append_new(opaque, e) != 0) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot add event %lld to the answer", (long long)ev->id);
        return -1;
    }
    return 0;
}

static void get_events(dbg_server *s, const srv_identity *id, const dbg_http_request *req,
                       srv_response *resp)
{
    events_query q;
    memset(&q, 0, sizeof(q));
    q.f.limit = EVENTS_LIMIT_DEFAULT;
    if (dbg_http_query_each(req->query, events_param, &q, q.msg, sizeof(q.msg)) != 0) {
        srv_error(resp, 400, "%s", q.msg);
        return;
    }
    if (scope_tenant(s, id, q.tenant_asked, &q.f.tenant, resp) != 0)
        return;
    json_t *arr = json_array();
    if (!arr) {
        srv_error(resp, 500, "out of memory");
        return;
    }
    /* One more than asked for says whether the limit cut the list ("more"). */
    int64_t limit = q.f.limit;
    q.f.limit = limit + 1;
    dbg_store *rd = srv_store_read_begin(s);
    int r = dbg_store_query(rd, &q.f, collect_event, arr);
    srv_store_read_end(s, rd);
    if (r < 0) {
        json_decref(arr);
        srv_error(resp, 500, "store query failed: %s", dbg_err_msg());
        return;
    }
    int more = json_array_size(arr) > (size_t)limit;
    if (more)
        json_array_remove(arr, json_array_size(arr) - 1);
    size_t n = json_array_size(arr);
    json_t *j = json_pack("{s:s, s:s*, s:I, s:b, s:o}", "view",
                          id->view == SRV_VIEW_TENANT ? "tenant" : "provider", "tenant", q.f.tenant,
                          "count", (json_int_t)n, "more", more, "events", arr);
    /* The cursor for the next page: ?after=<next_after> (in the order stored, so an event that
     * arrives late with an old time is still listed once, never skipped). */
    if (j && q.f.stored_order)
        json_object_set_new(
            j, "next_after",
            json_integer(n ? json_integer_value(json_object_get(json_array_get(arr, n - 1), "id"))
                           : q.f.after_id));
    /* The instants the bounds were taken as, in UTC: a bare date is its first moment in UTC
     * (08:00 in Beijing), which an HTTP client has no stderr to be told on (the CLI says it). */
    char when[40];
    if (j && q.since_given) {
        dbg_time_rfc3339(q.f.since_us, when, sizeof(when));
        json_object_set_new(j, "since", json_string(when));
    }
    if (j && q.until_given) {
        dbg_time_rfc3339(q.f.until_us, when, sizeof(when));
        json_object_set_new(j, "until", json_string(when));
    }
    send_json(resp, 200, j);
}

/* ---- POST /api/v1/events ---- */

typedef struct {
    dbg_store_event ev;
    void *owned;
    unsigned line;
} parsed_line;

static void post_events(dbg_server *s, const srv_identity *id, const char *body, size_t len,
                        srv_response *resp)
{
    if (!id->may_post) {
        srv_error(resp, 403,
                  "%s (%s) may not submit events: agents and provider admins/operators only",
                  id->actor, id->view == SRV_VIEW_TENANT ? "tenant view" : id->role);
        return;
    }
    json_t *errors = json_array();
    parsed_line *lines = NULL;
    size_t n_ok = 0, cap = 0, n_bad = 0, n_lines = 0;
    unsigned lineno = 0;
    for (size_t pos = 0; pos < len && errors;) {
        const char *start = body + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - start) : len - pos;
        pos += l + (nl ? 1 : 0);
        lineno++;
        while (l > 0 && (start[l - 1] == '\r' || start[l - 1] == ' ' || start[l - 1] == '\t'))
            l--;
        if (l == 0)
            continue;
        n_lines++;
        const char *why = NULL;
        char *line = NULL;
        parsed_line pl = {.line = lineno};
        if (memchr(start, 0, l))
            why = "NUL byte in the line";
        else if (!(line = dbg_strndup(start, l)))
            why = "out of memory";
        else if (dbg_store_event_from_eve(line, id->host, &pl.ev, &pl.owned) != 0)
            why = dbg_err_msg();
        else if (tenant_reserved(s, pl.ev.tenant) || tenant_reserved(s, pl.ev.tenant2)) {
            dbg_store_eve_owned_free(pl.owned);
            why = "tenant 'provider': " SRV_RESERVED_WHY;
        } else if (dbg_grow_array((void **)&lines, &cap, n_ok + 1, sizeof(*lines), 64) < 0) {
            dbg_store_eve_owned_free(pl.owned);
            why = "out of memory";
        }
        if (!why)
            lines[n_ok++] = pl;
        else {
            n_bad++;
            if (json_array_size(errors) < POST_ERRORS_LISTED)
                json_array_append_new(errors,
                                      json_pack("{s:i, s:s}", "line", (int)lineno, "error", why));
        }
        free(line);
    }
    int db_failed = 0;
    char db_msg[256] = "";
    size_t stored = 0, duplicates = 0;
    const dbg_store_event **evs = n_ok ? dbg_calloc(n_ok, sizeof(*evs)) : NULL;
    int *added = n_ok ? dbg_calloc(n_ok, sizeof(*added)) : NULL;
    if (n_ok > 0 && (!evs || !added)) {
        db_failed = 1;
        snprintf(db_msg, sizeof(db_msg), "%s", dbg_err_msg());
    } else if (n_ok > 0) {
        for (size_t i = 0; i < n_ok; i++)
            evs[i] = &lines[i].ev;
        pthread_mutex_lock(&s->store_mu);
        if (dbg_store_begin(s->store) != 0) {
            db_failed = 1;
        } else {
            db_failed = dbg_store_add_batch(s->store, evs, n_ok, added) != 0;
            for (size_t i = 0; i < n_ok; i++) {
                if (added[i] == DBG_STORE_DUPLICATE) /* an agent resending a batch */
                    duplicates++;
                else if (added[i] == 0)
                    stored++;
            }
            /* A batch is stored whole or not at all: SQLite kept the lines added before a
             * failure and committed them, so a resent batch was partly duplicates and an
             * answer's "stored" was neither 0 nor all. stored counts what the commit kept,
             * never what was only sent. */
            if (db_failed) {
                snprintf(db_msg, sizeof(db_msg), "%s", dbg_err_msg());
                dbg_store_rollback(s->store);
                stored = 0;
                duplicates = 0;
            } else if (dbg_store_commit(s->store) != 0) {
                snprintf(db_msg, sizeof(db_msg), "%s", dbg_err_msg());
                db_failed = 1;
                stored = 0;
                duplicates = 0;
            }
        }
        if (db_failed && !db_msg[0])
            snprintf(db_msg, sizeof(db_msg), "%s", dbg_err_msg());
        pthread_mutex_unlock(&s->store_mu);
    }
    free(evs);
    free(added);
    for (size_t i = 0; i < n_ok; i++)
        dbg_store_eve_owned_free(lines[i].owned);
    free(lines);
    srv_stat_add(s, &s->stats.events_stored, stored);
    srv_stat_add(s, &s->stats.events_rejected, n_bad);
    if (!errors) {
        srv_error(resp, 500, "out of memory");
        return;
    }
    if (db_failed) {
        json_decref(errors);
        srv_error(resp, 500, "store failed; %zu of the %zu events were stored: %s", stored, n_ok,
                  db_msg);
        return;
    }
    if (n_lines == 0) {
        json_decref(errors);
        srv_error(resp, 400, "the body has no EVE JSON lines");
        return;
    }
    /* Some lines stored, some refused: 200, the refused ones are listed by line and will never
     * be accepted, so a client must not resend the batch. Nothing stored: 400, unless the lines
     * were stored before (a resent batch: duplicates, 200). */
    json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:o}", "lines", (json_int_t)n_lines, "stored",
                          (json_int_t)stored, "duplicates", (json_int_t)duplicates, "rejected",
                          (json_int_t)n_bad, "errors", errors);
    int none_valid = stored == 0 && duplicates == 0;
    if (j && none_valid) {
        char msg[160];
        snprintf(msg, sizeof(msg), "none of the %zu lines is an EVE JSON record", n_lines);
        json_object_set_new(j, "error", json_string(msg));
        json_object_set_new(j, "status", json_integer(400));
    }
    send_json(resp, none_valid ? 400 : 200, j);
}

/* ---- GET /api/v1/audit/export ---- */

typedef struct {
    char tenant[1024];
    int has_tenant;
    long since_size;
    int has_since;
    char msg[256];
} export_query;

static int export_param(const char *name, const char *value, void *opaque)
{
    export_query *q = opaque;
    if (!strcmp(name, "since_size")) {
        /* the tree size of the tenant's previous export: the new one carries the consistency
         * proof from it, which `verify-export --previous OLD` needs */
        if (dbg_parse_long(value, 0, LONG_MAX, &q->since_size) != 0) {
            snprintf(q->msg, sizeof(q->msg),
                     "parameter since_size: '%.32s' is not a tree size (a number from 0)", value);
            return -1;
        }
        q->has_since = 1;
        return 0;
    }
    if (strcmp(name, "tenant") != 0) {
        snprintf(q->msg, sizeof(q->msg), "unknown parameter '%.64s' (tenant, since_size)", name);
        return -1;
    }
    snprintf(q->tenant, sizeof(q->tenant), "%s", value);
    q->has_tenant = 1;
    return 0;
}

static void get_export(dbg_server *s, const srv_identity *id, const dbg_http_request *req,
                       srv_response *resp)
{
    export_query q;
    memset(&q, 0, sizeof(q));
    if (dbg_http_query_each(req->query, export_param, &q, q.msg, sizeof(q.msg)) != 0) {
        srv_error(resp, 400, "%s", q.msg);
        return;
    }
    const char *tenant = NULL;
    if (scope_tenant(s, id, q.has_tenant ? q.tenant : NULL, &tenant, resp) != 0)
        return;
    if (!tenant) {
        srv_error(resp, 400, "the provider names the tenant to export: ?tenant=T");
        return;
    }
    if (!s->o.audit_dir) {
        srv_error(resp, 404, "this server has no audit log (start it with --log DIR)");
        return;
    }
    unsigned long nr = __atomic_add_fetch(&s->export_seq, 1, __ATOMIC_RELAXED);
    DBG_AUTOFREE char *path = dbg_asprintf("%s/export-%lu.json", s->tmpdir, nr);
    char *data = NULL;
    size_t dlen = 0;
    uint64_t since = (uint64_t)q.since_size;
    dbg_audit_export_info info;
    int er = !path ? -1
                   : dbg_audit_export_ex(s->o.audit_dir, tenant, q.has_since ? &since : NULL, path,
                                         &info);
    if (er != 0 && q.has_since && dbg_err_code() == DBG_ERR_INVALID) {
        /* a size the log cannot have is the caller's mistake, not the server's failure */
        srv_error(resp, 400, "parameter since_size: %s", dbg_err_msg());
        unlink(path);
        return;
    }
    if (er != 0 || dbg_read_file(path, EXPORT_MAX, &data, &dlen) != 0) {
        srv_error(resp, 500, "audit export for %s failed: %s", tenant, dbg_err_msg());
        if (path)
            unlink(path);
        return;
    }
    unlink(path);
    resp->status = 200;
    resp->content_type = "application/json";
    /* The file name carries the tenant only when it is plain ASCII (it goes into a header). */
    int plain = 1;
    for (const char *p = tenant; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            plain = 0;
    /* X-Dengbao-Records-Pending: the tenant's records after the signed tree head, left out
     * (no proof can cover them before the writer's next checkpoint) */
    snprintf(resp->extra_headers, sizeof(resp->extra_headers),
             "Content-Disposition: attachment; filename=\"audit-export%s%s.json\"\r\n"
             "X-Dengbao-Records-Pending: %" PRIu64 "\r\n",
             plain ? "-" : "", plain ? tenant : "", info.pending);
    dbg_buf_reset(&resp->body);
    if (dbg_buf_add(&resp->body, data, dlen) != 0)
        srv_error(resp, 500, "export too large to send");
    free(data);
    srv_stat_add(s, &s->stats.exports, 1);
}

/* ---- GET /api/v1/audit/pubkey ---- */

/* The key a tenant needs for `audit verify-export --pubkey`, which it had no way to get without
 * the log directory. Served by the party it checks, so it is a key to pin, not to trust: the
 * key_id header is compared with the one the provider published out of band (contract), and the
 * kept file is used again next time (a log re-signed with another key then fails). */
static void get_pubkey(dbg_server *s, const dbg_http_request *req, srv_response *resp)
{
    if (req->query[0]) {
        srv_error(resp, 400, "/api/v1/audit/pubkey takes no query parameters");
        return;
    }
    if (!s->o.audit_dir) {
        srv_error(resp, 404, "this server has no audit log (start it with --log DIR)");
        return;
    }
    char key_id[2 * 32 + 1];
    char *pem = dbg_audit_public_key(s->o.audit_dir, key_id);
    if (!pem) {
        srv_error(resp, 500, "the audit log's public key cannot be read: %s", dbg_err_msg());
        return;
    }
    resp->status = 200;
    resp->content_type = "application/x-pem-file";
    snprintf(resp->extra_headers, sizeof(resp->extra_headers),
             "X-Dengbao-Key-Id: %s\r\nContent-Disposition: attachment; "
             "filename=\"audit-log.pub\"\r\n",
             key_id);
    dbg_buf_reset(&resp->body);
    if (dbg_buf_adds(&resp->body, pem) != 0)
        srv_error(resp, 500, "public key too large to send");
    free(pem);
}

/* ---- GET /api/v1/assessment ---- */

static void get_assessment(dbg_server *s, const srv_identity *id, srv_response *resp)
{
    if (id->view != SRV_VIEW_PROVIDER) {
        srv_error(resp, 403, "the assessment is the provider's: %s has a tenant view", id->actor);
        return;
    }
    if (!s->o.assessment) {
        srv_error(resp, 404, "no assessment configured (start the server with --assessment FILE)");
        return;
    }
    char *data = NULL;
    size_t len = 0;
    if (dbg_read_file(s->o.assessment, ASSESSMENT_MAX, &data, &len) != 0) {
        srv_error(resp, 503, "assessment %s cannot be read: %s", s->o.assessment, dbg_err_msg());
        return;
    }
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    if (!j) {
        srv_error(resp, 503, "assessment %s is not JSON (line %d: %s)", s->o.assessment, jerr.line,
                  jerr.text);
        free(data);
        return;
    }
    json_decref(j);
    resp->status = 200;
    resp->content_type = "application/json";
    dbg_buf_reset(&resp->body);
    if (dbg_buf_add(&resp->body, data, len) != 0)
        srv_error(resp, 500, "assessment too large to send");
    free(data);
}

/* ---- routing ---- */

static int method_is(const dbg_http_request *req, const char *m, const char *allow,
                     srv_response *resp)
{
    if (!strcmp(req->method, m))
        return 1;
    srv_error(resp, 405, "%s is not allowed on %s (allowed: %s)", req->method, req->path, allow);
    snprintf(resp->extra_headers, sizeof(resp->extra_headers), "Allow: %s\r\n", allow);
    return 0;
}

int srv_takes_body(const srv_identity *id, const dbg_http_request *req)
{
    return id->view != SRV_VIEW_NONE && id->may_post && !strcmp(req->path, "/api/v1/events") &&
           !strcmp(req->method, "POST");
}

void srv_handle(dbg_server *s, const srv_identity *id, const dbg_http_request *req,
                const char *body, size_t body_len, srv_response *resp)
{
    const char *p = req->path;
    if (!strcmp(p, "/healthz")) {
        if (method_is(req, "GET", "GET", resp))
            send_json(resp, 200,
                      json_pack("{s:b, s:s}", "ok", 1, "store", dbg_store_backend(s->store)));
        return;
    }
    int known = !strcmp(p, "/") || !strcmp(p, "/api/v1/events") ||
                !strcmp(p, "/api/v1/audit/export") || !strcmp(p, "/api/v1/audit/pubkey") ||
                !strcmp(p, "/api/v1/assessment");
    if (!known) {
        srv_error(resp, 404, "no such resource: %.200s", p);
        return;
    }
    if (id->view == SRV_VIEW_NONE) {
        srv_error(resp, 403, "%s has no role here: %s", id->actor, id->why);
        return;
    }
    if (!strcmp(p, "/api/v1/events")) {
        if (!strcmp(req->method, "POST")) {
            if (req->query[0]) {
                srv_error(resp, 400, "POST /api/v1/events takes no query parameters");
                return;
            }
            post_events(s, id, body, body_len, resp);
        } else if (method_is(req, "GET", "GET, POST", resp)) {
            get_events(s, id, req, resp);
        }
    } else if (!strcmp(p, "/api/v1/audit/export")) {
        if (method_is(req, "GET", "GET", resp))
            get_export(s, id, req, resp);
    } else if (!strcmp(p, "/api/v1/audit/pubkey")) {
        if (method_is(req, "GET", "GET", resp))
            get_pubkey(s, req, resp);
    } else if (!strcmp(p, "/api/v1/assessment")) {
        if (method_is(req, "GET", "GET", resp))
            get_assessment(s, id, resp);
    } else if (method_is(req, "GET", "GET", resp)) {
        if (req->query[0])
            srv_error(resp, 400, "the dashboard takes no query parameters");
        else
            srv_dashboard(s, id, resp);
    }
}
