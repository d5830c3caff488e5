/* PostgreSQL backend of dbg_store (libpq), for the central server that many agents feed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbg_config.h"
#include "dengbao/util.h"
#include "store/store_internal.h"

#if DBG_HAVE_LIBPQ
#include "store/pq_lazy.h"

typedef struct {
    PGconn *conn;
    int in_tx; /* between pg_begin and pg_commit: a lost connection took the batch with it */
} pg_store;

/* The schema, in one implicit transaction under an advisory lock: two servers opening one database
 * at the same time would otherwise race on the DDL ("tuple concurrently updated").
 *
 * Ids in commit order: GET /api/v1/events?after=ID hands out what is committed with an id above
 * the cursor, which skips nothing only if no transaction can still commit a smaller id. With
 * several writers (servers, `store ingest`) a sequence alone gives no such promise: writer A takes
 * id 5, writer B id 6 and commits, a reader pages past 6, A commits 5 and nobody sees it. So every
 * INSERT takes one transaction-level advisory lock first, in a statement trigger that fires before
 * any row (and its nextval) is made, whoever the writer is; the lock is released only after the
 * commit is visible, so the next writer's ids come after every id committed or still to commit.
 * Writers queue at each other's batches (short: a batch is parsed before its transaction).
 * CACHE 1 keeps nextval in call order across sessions (a per-session cache would not). */
static const char schema[] =
    "SELECT pg_advisory_xact_lock(6864758372730);"
    "CREATE TABLE IF NOT EXISTS events ("
    " id BIGSERIAL PRIMARY KEY, time_us BIGINT NOT NULL, kind TEXT NOT NULL, host TEXT NOT NULL,"
    " type TEXT NOT NULL, clause TEXT NOT NULL, tenant TEXT NOT NULL, tenant2 TEXT NOT NULL,"
    " body JSONB NOT NULL, dedup TEXT);"
    /* a store made before the dedup key: the column is added, its rows keyed at open */
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS dedup TEXT;"
    "CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events(dedup);"
    "CREATE INDEX IF NOT EXISTS events_tenant ON events(tenant, time_us);"
    "CREATE INDEX IF NOT EXISTS events_tenant2 ON events(tenant2, time_us);"
    "CREATE INDEX IF NOT EXISTS events_time ON events(time_us);"
    /* counts by type of a kind (dbg_store_count_types) from the index alone, and a type's
     * events in time order; built at the first open of a store made before it (which holds
     * off writers meanwhile: seconds for a million events) */
    "CREATE INDEX IF NOT EXISTS events_kind_type ON events(kind, type, time_us);"
    /* made once, not replaced at every open: replacing needs ownership of the function, and
     * each replace would write the catalog */
    "DO $d$ BEGIN"
    " IF to_regprocedure('dengbao_events_insert_lock()') IS NULL THEN"
    "  CREATE FUNCTION dengbao_events_insert_lock() RETURNS trigger LANGUAGE plpgsql AS"
    "   $f$ BEGIN PERFORM pg_advisory_xact_lock(6864758372732); RETURN NULL; END $f$;"
    " END IF;"
    " IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'events'::regclass"
    "  AND tgname = 'events_commit_order') THEN"
    "  CREATE TRIGGER events_commit_order BEFORE INSERT ON events FOR EACH STATEMENT"
    "  EXECUTE FUNCTION dengbao_events_insert_lock();"
    " END IF;"
    " IF (SELECT seqcache FROM pg_sequence"
    "  WHERE seqrelid = pg_get_serial_sequence('events', 'id')::regclass) <> 1 THEN"
    "  EXECUTE format('ALTER SEQUENCE %s CACHE 1', pg_get_serial_sequence('events', 'id'));"
    " END IF;"
    " END $d$;";

/* Connection strings may carry a password: never echo them, only the database name. */
static int pg_ok(PGresult *res, pg_store *s, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 1;
    /* No result at all (the command could not be sent) has no message of its own: the
     * connection's says why. */
    const char *why = res ? PQresultErrorMessage(res) : "";
    if (!why[0])
        why = PQerrorMessage(s->conn);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", why[0] ? why : "no reason given");
    msg[strcspn(msg, "\n")] = '\0';
    dbg_err_set(DBG_ERR_DB, "postgresql database '%s': %s: %s", PQdb(s->conn), what, msg);
    return 0;
}

/* Per session. Inserting transactions take turns (the schema's events_commit_order), so one
 * writer stuck inside a batch would hold every other writer, and a server waiting for it holds
 * its own readers too (one connection per server). Bounded unless the operator set these (in
 * the URL's options, the role or the database): a wait for the turn over 10 s fails the batch
 * (500; agents resend it), and a session of ours idle inside a transaction for 60 s is ended by
 * PostgreSQL, which frees the turn. */
static const char session_setup[] =
    "SET client_min_messages TO WARNING;"
    "SELECT set_config('lock_timeout', '10s', false) WHERE current_setting('lock_timeout') = '0';"
    "SELECT set_config('idle_in_transaction_session_timeout', '60s', false)"
    " WHERE current_setting('idle_in_transaction_session_timeout') = '0';";

/* A server restart leaves the connection dead (CONNECTION_BAD) for good unless it is reset. */
static void pg_reconnect(pg_store *s)
{
    PQreset(s->conn);
    if (PQstatus(s->conn) == CONNECTION_OK)
        PQclear(PQexec(s->conn, session_setup));
}

/* Runs one statement. A connection found lost outside a batch is reset and the statement sent
 * once more; inside a batch it is not, as the batch's earlier statements went with it. */
static PGresult *pg_run_typed(pg_store *s, const char *sql, int n, const Oid *types,
                              const char *const *vals)
{
    if (!s->in_tx && PQstatus(s->conn) == CONNECTION_BAD)
        pg_reconnect(s);
    PGresult *res = PQexecParams(s->conn, sql, n, types, vals, NULL, NULL, 0);
    if (!s->in_tx && PQstatus(s->conn) == CONNECTION_BAD) {
        PQclear(res);
        pg_reconnect(s);
        res = PQexecParams(s->conn, sql, n, types, vals, NULL, NULL, 0);
    }
    return res;
}
static PGresult *pg_run(pg_store *s, const char *sql, int n, const char *const *vals)
{
    return pg_run_typed(s, sql, n, NULL, vals);
}

/* Keys the rows that have none (made before the dedup key, or by an older dengbao since), as
 * the SQLite backend does: a row whose key another row holds stays, as "legacy-duplicate:ID".
 * One transaction under an advisory lock, so two servers opening the store do not race. */
static int pg_backfill_dedup(pg_store *s)
{
    PGresult *res = pg_run(s, "SELECT 1 FROM events WHERE dedup IS NULL LIMIT 1", 0, NULL);
    int ok = pg_ok(res, s, "looking for events without a dedup key");
    int todo = ok && PQntuples(res) > 0;
    PQclear(res);
    if (!ok)
        return -1;
    if (!todo)
        return 0;
    res = pg_run(s, "BEGIN", 0, NULL);
    ok = pg_ok(res, s, "BEGIN (keying stored events)");
    PQclear(res);
    if (!ok)
        return -1;
    s->in_tx = 1;
    res = pg_run(s, "SELECT pg_advisory_xact_lock(6864758372731)", 0, NULL);
    ok = pg_ok(res, s, "locking the events to key them");
    PQclear(res);
    while (ok) {
        res = pg_run(s,
                     "SELECT id, host, body::text FROM events WHERE dedup IS NULL ORDER BY id"
                     " LIMIT 512",
                     0, NULL);
        if (!(ok = pg_ok(res, s, "reading the stored events to key them"))) {
            PQclear(res);
            break;
        }
        int n = PQntuples(res);
        for (int i = 0; i < n && ok; i++) {
            char key[STORE_DEDUP_KEY_MAX];
            if (store_dedup_key(PQgetvalue(res, i, 1), PQgetvalue(res, i, 2), key) < 0) {
                ok = 0;
                break;
            }
            const char *vals[2] = {key, PQgetvalue(res, i, 0)};
            PGresult *u = pg_run(s,
                                 "UPDATE events SET dedup = CASE WHEN EXISTS (SELECT 1 FROM events"
                                 " WHERE dedup=$1) THEN 'legacy-duplicate:' || id ELSE $1 END"
                                 " WHERE id=$2::bigint",
                                 2, vals);
            ok = pg_ok(u, s, "keying a stored event");
            PQclear(u);
        }
        PQclear(res);
        if (n == 0)
            break;
    }
    res = pg_run(s, ok ? "COMMIT" : "ROLLBACK", 0, NULL);
    if (ok)
        ok = pg_ok(res, s, "COMMIT (keying stored events)");
    PQclear(res);
    s->in_tx = 0;
    return ok ? 0 : -1;
}

static void pg_close(void *impl)
{
    pg_store *s = impl;
    if (!s)
        return;
    PQfinish(s->conn);
    free(s);
}

void *dbg_store_pg_open(const char *conninfo)
{
    pg_store *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->conn = PQconnectdb(conninfo);
    if (PQstatus(s->conn) != CONNECTION_OK) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(s->conn));
        char *nl = strchr(msg, '\n');
        if (nl)
            *nl = '\0';
        dbg_err_set(DBG_ERR_DB, "cannot connect to PostgreSQL: %s", msg);
        pg_close(s);
        return NULL;
    }
    PQclear(PQexec(s->conn, session_setup));
    PGresult *res = PQexec(s->conn, schema);
    int ok = pg_ok(res, s, "creating the schema");
    PQclear(res);
    if (!ok || pg_backfill_dedup(s) < 0) {
        pg_close(s);
        return NULL;
    }
    return s;
}

static const char *nz(const char *s) { return s ? s : ""; }

static int pg_add(void *impl, const dbg_store_event *ev, const char *dedup, int64_t *id_out)
{
    pg_store *s = impl;
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)ev->time_us);
    const char *vals[9] = {t,           nz(ev->kind),   nz(ev->host),    nz(ev->type),
                           nz(ev->clause), nz(ev->tenant), nz(ev->tenant2), ev->body ? ev->body : "{}",
                           dedup};
    /* DO NOTHING keeps the batch's transaction alive (a unique violation would abort it) */
    PGresult *res = pg_run(s,
                           "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,body,"
                           "dedup) VALUES($1,$2,$3,$4,$5,$6,$7,$8::jsonb,$9)"
                           " ON CONFLICT (dedup) DO NOTHING RETURNING id",
                           9, vals);
    int ok = pg_ok(res, s, "insert");
    int dup = ok && PQntuples(res) == 0;
    if (ok && !dup && id_out)
        *id_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return !ok ? -1 : dup ? DBG_STORE_DUPLICATE : 0;
}

/* Events per INSERT: one statement and one round trip for many rows instead of one each (100
 * single-row INSERTs took 23 ms, one of 100 rows 6). 9 parameters a row stay far below libpq's
 * 65535 per statement. */
#define PG_BATCH_ROWS 1000

/* A chunk's events by dedup key, then by place: the first of equal keys is the one inserted. */
typedef struct {
    const char *key;
    size_t i;
} pg_keyed_row;

static int pg_keyed_row_cmp(const void *a, const void *b)
{
    const pg_keyed_row *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

/* Inserts rows [0, n) of a chunk (n <= PG_BATCH_ROWS) in one statement. ON CONFLICT DO NOTHING
 * skips a row whose key is stored, also by an earlier row of the same statement, and RETURNING
 * names the rows inserted by their keys: the first row of each returned key is the stored one
 * (rows are inserted in VALUES order, so the ids grow in it as with one INSERT per row, a
 * skipped row using up its id too), every other row a duplicate. */
static int pg_insert_chunk(pg_store *s, dbg_buf *sql, const dbg_store_event *const *evs,
                           const char (*keys)[STORE_DEDUP_KEY_MAX], size_t n, int *result,
                           const char **vals, char (*times)[24], pg_keyed_row *by_key)
{
    dbg_buf_reset(sql);
    int ok = dbg_buf_adds(sql, "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,"
                               "body,dedup) VALUES") == 0;
    for (size_t i = 0; i < n && ok; i++) {
        const dbg_store_event *ev = evs[i];
        size_t p = i * 9;
        snprintf(times[i], sizeof(times[i]), "%lld", (long long)ev->time_us);
        vals[p] = times[i];
        vals[p + 1] = nz(ev->kind);
        vals[p + 2] = nz(ev->host);
        vals[p + 3] = nz(ev->type);
        vals[p + 4] = nz(ev->clause);
        vals[p + 5] = nz(ev->tenant);
        vals[p + 6] = nz(ev->tenant2);
        vals[p + 7] = ev->body ? ev->body : "{}";
        vals[p + 8] = keys[i];
        /* typed, as a VALUES list of many rows does not take its types from the columns */
        ok = dbg_buf_printf(sql,
                            "%s($%zu::bigint,$%zu::text,$%zu::text,$%zu::text,$%zu::text,"
                            "$%zu::text,$%zu::text,$%zu::jsonb,$%zu::text)",
                            i ? "," : "", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7, p + 8,
                            p + 9) == 0;
        by_key[i] = (pg_keyed_row){.key = keys[i], .i = i};
    }
    /* DO NOTHING keeps the batch's transaction alive (a unique violation would abort it) */
    if (!ok || dbg_buf_adds(sql, " ON CONFLICT (dedup) DO NOTHING RETURNING dedup") != 0) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the INSERT of %zu events", n);
        return -1;
    }
    PGresult *res = pg_run(s, sql->data, (int)(n * 9), vals);
    if (!pg_ok(res, s, "insert")) {
        PQclear(res);
        return -1;
    }
    qsort(by_key, n, sizeof(*by_key), pg_keyed_row_cmp);
    for (size_t i = 0; i < n; i++)
        result[i] = DBG_STORE_DUPLICATE;
    int rows = PQntuples(res);
    for (int t = 0; t < rows; t++) {
        pg_keyed_row want = {.key = PQgetvalue(res, t, 0), .i = 0};
        /* the first row with that key: the least place among equal keys */
        size_t lo = 0, hi = n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (pg_keyed_row_cmp(&by_key[mid], &want) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == n || strcmp(by_key[lo].key, want.key) != 0) {
            dbg_err_set(DBG_ERR_DB,
                        "postgresql database '%s': insert returned a key it was not given",
                        PQdb(s->conn));
            PQclear(res);
            return -1;
        }
        result[by_key[lo].i] = 0;
    }
    PQclear(res);
    return 0;
}

static int pg_add_batch(void *impl, const dbg_store_event *const *evs,
                        const char (*keys)[STORE_DEDUP_KEY_MAX], size_t n, int *result)
{
    pg_store *s = impl;
    size_t rows = n < PG_BATCH_ROWS ? n : PG_BATCH_ROWS;
    DBG_AUTOFREE const char **vals = dbg_calloc(rows * 9, sizeof(*vals));
    DBG_AUTOFREE char(*times)[24] = dbg_calloc(rows, sizeof(*times));
    DBG_AUTOFREE pg_keyed_row *by_key = dbg_calloc(rows, sizeof(*by_key));
    if (!vals || !times || !by_key)
        return -1;
    dbg_buf sql;
    dbg_buf_init(&sql, 0);
    int r = 0;
    for (size_t done = 0; done < n && r == 0; done += rows) {
        size_t k = n - done < rows ? n - done : rows;
        r = pg_insert_chunk(s, &sql, evs + done, keys + done, k, result + done, vals, times,
                            by_key);
    }
    dbg_buf_free(&sql);
    return r;
}

static int pg_begin(void *impl)
{
    pg_store *s = impl;
    PGresult *res = pg_run(s, "BEGIN", 0, NULL);
    int ok = pg_ok(res, s, "BEGIN");
    PQclear(res);
    s->in_tx = ok;
    return ok ? 0 : -1;
}

static int pg_commit(void *impl)
{
    pg_store *s = impl;
    /* After a failed statement PostgreSQL answers COMMIT with success and the tag "ROLLBACK":
     * none of the batch was stored, which SQLite's COMMIT (keeping what was added) never does. */
    int aborted = PQtransactionStatus(s->conn) == PQTRANS_INERROR;
    PGresult *res = pg_run(s, "COMMIT", 0, NULL);
    int ok = pg_ok(res, s, "COMMIT");
    if (ok && (aborted || strcmp(PQcmdStatus(res), "COMMIT") != 0)) {
        dbg_err_set(DBG_ERR_DB,
                    "postgresql database '%s': the transaction was rolled back after an error in "
                    "it: nothing of it was stored",
                    PQdb(s->conn));
        ok = 0;
    }
    PQclear(res);
    s->in_tx = 0;
    return ok ? 0 : -1;
}

static int pg_rollback(void *impl)
{
    pg_store *s = impl;
    PGresult *res = pg_run(s, "ROLLBACK", 0, NULL);
    int ok = pg_ok(res, s, "ROLLBACK");
    PQclear(res);
    s->in_tx = 0;
    return ok ? 0 : -1;
}

/* f's values for the statement store_sql_build writes, typed, as a statement need not use every
 * number (f sets some conditions only). */
typedef struct {
    char since[32], until[32], limit[32], after[32];
    const char *vals[7];
} pg_filter_params;
enum { PG_TEXT_OID = 25, PG_INT8_OID = 20 };
static const Oid pg_filter_types[7] = {PG_TEXT_OID, PG_TEXT_OID, PG_TEXT_OID, PG_INT8_OID,
                                       PG_INT8_OID, PG_INT8_OID, PG_INT8_OID};

static void pg_filter_params_set(pg_filter_params *p, const dbg_store_filter *f)
{
    snprintf(p->since, sizeof(p->since), "%lld", (long long)f->since_us);
    snprintf(p->until, sizeof(p->until), "%lld", (long long)f->until_us);
    snprintf(p->limit, sizeof(p->limit), "%lld", (long long)f->limit);
    snprintf(p->after, sizeof(p->after), "%lld", (long long)f->after_id);
    const char *vals[7] = {f->kind, f->tenant, f->type, p->since, p->until, p->limit, p->after};
    memcpy(p->vals, vals, sizeof(vals));
}

/* Runs the statement store_sql_build writes for f with f's values. */
static PGresult *pg_select(pg_store *s, const dbg_store_filter *f, store_sql_kind kind)
{
    dbg_buf sql;
    dbg_buf_init(&sql, 0);
    if (store_sql_build(&sql, f, kind, '$') < 0)
        return NULL;
    pg_filter_params p;
    pg_filter_params_set(&p, f);
    PGresult *res = pg_run_typed(s, sql.data, 7, pg_filter_types, p.vals);
    dbg_buf_free(&sql);
    if (!pg_ok(res, s, kind == STORE_SQL_COUNT ? "counting events" : "query")) {
        PQclear(res);
        return NULL;
    }
    return res;
}

/* Whether the integer digits at d (n of them, no sign) are outside int64 (neg: the negative
 * side, one more). JSON writes no leading zeros. */
static int int_digits_too_big(const char *d, size_t n, int neg)
{
    static const char max[] = "9223372036854775807", min[] = "9223372036854775808";
    if (n != sizeof(max) - 1)
        return n > sizeof(max) - 1;
    return memcmp(d, neg ? min : max, n) > 0;
}

/* A record as JSON text that reads back as the record stored. JSONB keeps a number as numeric
 * and writes it without an exponent: the 1e19 that jansson dumped came back as
 * 10000000000000000000, an integer jansson refuses ("too big integer"), so the record of that
 * event was missing from `store query --format json` and a string in the API, on PostgreSQL
 * only. Such an integer gets ".0" (a real again, as it was written); other text is unchanged.
 * Returns 0 with *out NULL when nothing needs it, 0 with *out to free, or -1. */
static int pg_body_readable(const char *text, char **out)
{
    *out = NULL;
    dbg_buf b;
    dbg_buf_init(&b, 0);
    size_t copied = 0, i = 0;
    while (text[i]) {
        if (text[i] == '"') {
            for (i++; text[i] && text[i] != '"'; i++)
                if (text[i] == '\\' && text[i + 1])
                    i++;
            if (text[i])
                i++;
            continue;
        }
        if (text[i] != '-' && (text[i] < '0' || text[i] > '9')) {
            i++;
            continue;
        }
        int neg = text[i] == '-';
        size_t start = i + (size_t)neg, end = start;
        while (text[end] >= '0' && text[end] <= '9')
            end++;
        i = end;
        if (text[end] == '.' || text[end] == 'e' || text[end] == 'E') {
            while (text[i] == '.' || text[i] == 'e' || text[i] == 'E' || text[i] == '+' ||
                   text[i] == '-' || (text[i] >= '0' && text[i] <= '9'))
                i++;
            continue;
        }
        if (!int_digits_too_big(text + start, end - start, neg))
            continue;
        if (dbg_buf_add(&b, text + copied, end - copied) != 0 || dbg_buf_adds(&b, ".0") != 0)
            goto nomem;
        copied = end;
    }
    if (copied == 0)
        return 0;
    if (dbg_buf_adds(&b, text + copied) != 0)
        goto nomem;
    *out = dbg_buf_steal(&b);
    return 0;
nomem:
    dbg_buf_free(&b);
    dbg_err_set(DBG_ERR_NOMEM, "cannot read a stored event's record");
    return -1;
}

/* Hands one row to cb as an event: 0 go on, > 0 stop, < 0 failed. */
static int pg_row_event(const PGresult *res, int i, dbg_store_cb cb, void *opaque)
{
    DBG_AUTOFREE char *body = NULL;
    if (pg_body_readable(PQgetvalue(res, i, 8), &body) < 0)
        return -1;
    dbg_store_event ev = {
        .id = strtoll(PQgetvalue(res, i, 0), NULL, 10),
        .time_us = strtoll(PQgetvalue(res, i, 1), NULL, 10),
        .kind = PQgetvalue(res, i, 2),
        .host = PQgetvalue(res, i, 3),
        .type = PQgetvalue(res, i, 4),
        .clause = PQgetvalue(res, i, 5),
        .tenant = PQgetvalue(res, i, 6),
        .tenant2 = PQgetvalue(res, i, 7),
        .body = body ? body : PQgetvalue(res, i, 8),
    };
    return cb(&ev, opaque);
}

/* Rows come one at a time (libpq's single-row mode), as SQLite steps through them: the whole
 * answer used to be held first, 114 MB for 20000 events of 5 KB (under `ulimit -v 200000` the
 * listing failed, out of memory), so a provider's listing of a year of events could exhaust the
 * machine. A connection found lost before any row arrived is reset and the query sent once more,
 * outside a batch, as pg_run does. */
static int pg_query(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque)
{
    pg_store *s = impl;
    dbg_buf sql;
    dbg_buf_init(&sql, 0);
    if (store_sql_build(&sql, f, STORE_SQL_LIST, '$') < 0)
        return -1;
    pg_filter_params p;
    pg_filter_params_set(&p, f);
    int r = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!s->in_tx && PQstatus(s->conn) == CONNECTION_BAD)
            pg_reconnect(s);
        int sent = PQsendQueryParams(s->conn, sql.data, 7, pg_filter_types, p.vals, NULL, NULL, 0);
        if (sent && !PQsetSingleRowMode(s->conn)) {
            dbg_err_set(DBG_ERR_DB, "postgresql database '%s': query: cannot read rows one by one",
                        PQdb(s->conn));
            sent = 0;
        } else if (!sent) {
            pg_ok(NULL, s, "query");
        }
        int rows = 0, stop = 0;
        r = sent ? 0 : -1;
        PGresult *res;
        /* read to the end, also once stopped or failed: the connection takes no other
         * statement before */
        while ((res = PQgetResult(s->conn))) {
            ExecStatusType st = PQresultStatus(res);
            if (st == PGRES_SINGLE_TUPLE) {
                rows++;
                int c = r == 0 && !stop ? pg_row_event(res, 0, cb, opaque) : 0;
                if (c < 0)
                    r = -1;
                else if (c > 0)
                    stop = 1;
            } else if (st != PGRES_TUPLES_OK && r == 0 && !pg_ok(res, s, "query")) {
                r = -1;
            }
            PQclear(res);
        }
        if (r == 0 || rows > 0 || s->in_tx || PQstatus(s->conn) != CONNECTION_BAD)
            break;
    }
    dbg_buf_free(&sql);
    return r;
}

static int pg_count_types(void *impl, const dbg_store_filter *f, dbg_store_count_cb cb,
                          void *opaque)
{
    pg_store *s = impl;
    PGresult *res = pg_select(s, f, STORE_SQL_COUNT);
    if (!res)
        return -1;
    int n = PQntuples(res), r = 0;
    for (int i = 0; i < n; i++) {
        int c = cb(PQgetvalue(res, i, 0), strtoll(PQgetvalue(res, i, 1), NULL, 10), opaque);
        if (c < 0)
            r = -1;
        if (c)
            break;
    }
    PQclear(res);
    return r;
}

#else
void *dbg_store_pg_open(const char *conninfo)
{
    (void)conninfo;
    dbg_err_set(DBG_ERR_UNSUPPORTED, "this build has no PostgreSQL support (libpq-dev missing)");
    return NULL;
}
static int pg_add(void *impl, const dbg_store_event *ev, const char *dedup, int64_t *id_out)
{
    return -1;
}
static int pg_add_batch(void *impl, const dbg_store_event *const *evs,
                        const char (*keys)[STORE_DEDUP_KEY_MAX], size_t n, int *result)
{
    return -1;
}
static int pg_begin(void *impl) { return -1; }
static int pg_commit(void *impl) { return -1; }
static int pg_rollback(void *impl) { return -1; }
static int pg_query(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque) { return -1; }
static int pg_count_types(void *impl, const dbg_store_filter *f, dbg_store_count_cb cb,
                          void *opaque)
{
    return -1;
}
static void pg_close(void *impl) {}
#endif

const dbg_store_ops dbg_store_pg_ops = {
    .name = "postgresql", .add = pg_add, .add_batch = pg_add_batch, .begin = pg_begin, .commit = pg_commit,
    .rollback = pg_rollback, .query = pg_query, .count_types = pg_count_types, .close = pg_close,
};
