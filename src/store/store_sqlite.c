/* SQLite backend of dbg_store: WAL, synchronous=FULL, one events table. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"
#include "store/store_internal.h"

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *insert;
    char *path;
} sqlite_store;

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, kind TEXT NOT NULL,"
    " host TEXT NOT NULL, type TEXT NOT NULL, clause TEXT NOT NULL, tenant TEXT NOT NULL,"
    " tenant2 TEXT NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS events_tenant ON events(tenant, time_us);"
    "CREATE INDEX IF NOT EXISTS events_tenant2 ON events(tenant2, time_us);"
    "CREATE INDEX IF NOT EXISTS events_time ON events(time_us);";

static void sqlite_close(void *impl)
{
    sqlite_store *s = impl;
    if (!s)
        return;
    sqlite3_finalize(s->insert);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

void *dbg_store_sqlite_open(const char *path)
{
    sqlite_store *s = dbg_calloc(1, sizeof(*s));
    if (!s || !(s->path = dbg_strdup(path)))
        goto fail;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: cannot open SQLite store: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: cannot create store schema: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        goto fail;
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,body)"
                           " VALUES(?,?,?,?,?,?,?,?)",
                           -1, &s->insert, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    return s;
fail:
    sqlite_close(s);
    return NULL;
}

static const char *nz(const char *s) { return s ? s : ""; }

static int sqlite_add(void *impl, const dbg_store_event *ev, int64_t *id_out)
{
    sqlite_store *s = impl;
    sqlite3_reset(s->insert);
    sqlite3_bind_int64(s->insert, 1, ev->time_us);
    sqlite3_bind_text(s->insert, 2, nz(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 3, nz(ev->host), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 4, nz(ev->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 5, nz(ev->clause), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 6, nz(ev->tenant), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 7, nz(ev->tenant2), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 8, nz(ev->body), -1, SQLITE_STATIC);
    if (sqlite3_step(s->insert) != SQLITE_DONE) {
        dbg_err_set(DBG_ERR_DB, "%s: insert failed: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return 0;
}

static int exec_simple(sqlite_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: %s: %s", s->path, sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int sqlite_begin(void *impl) { return exec_simple(impl, "BEGIN IMMEDIATE"); }
static int sqlite_commit(void *impl) { return exec_simple(impl, "COMMIT"); }

static int sqlite_query(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque)
{
    sqlite_store *s = impl;
    sqlite3_stmt *st = NULL;
    const char *sql =
        "SELECT id,time_us,kind,host,type,clause,tenant,tenant2,body FROM events"
        " WHERE (?1 IS NULL OR kind=?1) AND (?2 IS NULL OR tenant=?2 OR tenant2=?2)"
        " AND (?3 IS NULL OR type=?3) AND (?4=0 OR time_us>=?4) AND (?5=0 OR time_us<?5)"
        " ORDER BY time_us, id LIMIT CASE WHEN ?6>0 THEN ?6 ELSE -1 END";
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (f->kind)
        sqlite3_bind_text(st, 1, f->kind, -1, SQLITE_STATIC);
    if (f->tenant)
        sqlite3_bind_text(st, 2, f->tenant, -1, SQLITE_STATIC);
    if (f->type)
        sqlite3_bind_text(st, 3, f->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, f->since_us);
    sqlite3_bind_int64(st, 5, f->until_us);
    sqlite3_bind_int64(st, 6, f->limit);
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        dbg_store_event ev = {
            .id = sqlite3_column_int64(st, 0),
            .time_us = sqlite3_column_int64(st, 1),
            .kind = (const char *)sqlite3_column_text(st, 2),
            .host = (const char *)sqlite3_column_text(st, 3),
            .type = (const char *)sqlite3_column_text(st, 4),
            .clause = (const char *)sqlite3_column_text(st, 5),
            .tenant = (const char *)sqlite3_column_text(st, 6),
            .tenant2 = (const char *)sqlite3_column_text(st, 7),
            .body = (const char *)sqlite3_column_text(st, 8),
        };
        int c = cb(&ev, opaque);
        if (c < 0)
            r = -1;
        if (c)
            break;
    }
    if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        dbg_err_set(DBG_ERR_DB, "%s: query failed: %s", s->path, sqlite3_errmsg(s->db));
        r = -1;
    }
    sqlite3_finalize(st);
    return r;
}

const dbg_store_ops dbg_store_sqlite_ops = {
    .name = "sqlite", .add = sqlite_add, .begin = sqlite_begin, .commit = sqlite_commit,
    .query = sqlite_query, .close = sqlite_close,
};
