/* SQLite backend of dbg_store: WAL, synchronous=FULL, one events table. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dengbao/util.h"
#include "store/store_internal.h"

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *insert;
    char *path;
    int follow; /* a file: check_path checks the path still names it (dev, ino) */
    dev_t dev;
    ino_t ino;
} sqlite_store;

static const char schema[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, time_us INTEGER NOT NULL, kind TEXT NOT NULL,"
    " host TEXT NOT NULL, type TEXT NOT NULL, clause TEXT NOT NULL, tenant TEXT NOT NULL,"
    " tenant2 TEXT NOT NULL, body TEXT NOT NULL, dedup TEXT);"
    "CREATE INDEX IF NOT EXISTS events_tenant ON events(tenant, time_us);"
    "CREATE INDEX IF NOT EXISTS events_tenant2 ON events(tenant2, time_us);"
    "CREATE INDEX IF NOT EXISTS events_time ON events(time_us);"
    /* counts by type of a kind (dbg_store_count_types) from the index alone, and a type's
     * events in time order; a store made before it gets it at its first open (one write) */
    "CREATE INDEX IF NOT EXISTS events_kind_type ON events(kind, type, time_us);";

/* Rows are keyed by a hash of host and body (store_dedup_key) so a resent shipment is skipped.
 * A store made before the key existed gets the column, and its rows their keys, when opened;
 * a row that store held twice keeps its place under "legacy-duplicate:ID". Rows that an older
 * dengbao adds later (without a key) are keyed at the next open the same way. */
static const char dedup_schema[] =
    "CREATE UNIQUE INDEX IF NOT EXISTS events_dedup ON events(dedup);";

/* The key of one row, or its legacy-duplicate mark when another row holds the key already. */
static const char backfill_update[] =
    "UPDATE events SET dedup = CASE WHEN EXISTS (SELECT 1 FROM events WHERE dedup=?1)"
    " THEN 'legacy-duplicate:' || id ELSE ?1 END WHERE id=?2";

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

static int exec_simple(sqlite_store *s, const char *sql);

/* Keys the rows that have none, a batch at a time (the SELECT is finished before the UPDATEs,
 * so it never walks an index it is changing). */
static int backfill_dedup(sqlite_store *s)
{
    enum { BATCH = 512 };
    sqlite3_stmt *sel = NULL, *upd = NULL;
    int r = -1;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, host, body FROM events WHERE dedup IS NULL ORDER BY id"
                           " LIMIT 512",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, backfill_update, -1, &upd, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: keying the stored events: %s", s->path,
                    sqlite3_errmsg(s->db));
        goto out;
    }
    for (;;) {
        int64_t ids[BATCH];
        char keys[BATCH][STORE_DEDUP_KEY_MAX];
        int n = 0, rc;
        sqlite3_reset(sel);
        while (n < BATCH && (rc = sqlite3_step(sel)) == SQLITE_ROW) {
            ids[n] = sqlite3_column_int64(sel, 0);
            if (store_dedup_key((const char *)sqlite3_column_text(sel, 1),
                                (const char *)sqlite3_column_text(sel, 2), keys[n]) < 0)
                goto out;
            n++;
        }
        if (n < BATCH && rc != SQLITE_DONE) {
            dbg_err_set(DBG_ERR_DB, "%s: reading the stored events to key them: %s", s->path,
                        sqlite3_errmsg(s->db));
            goto out;
        }
        sqlite3_reset(sel);
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            sqlite3_reset(upd);
            sqlite3_bind_text(upd, 1, keys[i], -1, SQLITE_STATIC);
            sqlite3_bind_int64(upd, 2, ids[i]);
            if (sqlite3_step(upd) != SQLITE_DONE) {
                dbg_err_set(DBG_ERR_DB, "%s: keying stored event %lld: %s", s->path,
                            (long long)ids[i], sqlite3_errmsg(s->db));
                goto out;
            }
        }
    }
    r = 0;
out:
    sqlite3_finalize(sel);
    sqlite3_finalize(upd);
    return r;
}

/* Brings a store made by an older dengbao (no dedup column) up to date, keeping every row. */
static int migrate_dedup(sqlite_store *s)
{
    sqlite3_stmt *probe = NULL;
    int has_column =
        sqlite3_prepare_v2(s->db, "SELECT dedup FROM events LIMIT 0", -1, &probe, NULL) == SQLITE_OK;
    sqlite3_finalize(probe);
    probe = NULL;
    /* Up to date (the common case) needs no write lock: a read-only copy still opens. */
    int current = 0;
    if (has_column &&
        sqlite3_prepare_v2(s->db,
                           "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type='index' AND"
                           " name='events_dedup') AND NOT EXISTS (SELECT 1 FROM events WHERE"
                           " dedup IS NULL)",
                           -1, &probe, NULL) == SQLITE_OK &&
        sqlite3_step(probe) == SQLITE_ROW)
        current = sqlite3_column_int(probe, 0);
    sqlite3_finalize(probe);
    if (current)
        return 0;
    if (exec_simple(s, "BEGIN IMMEDIATE") < 0)
        return -1;
    if ((!has_column && exec_simple(s, "ALTER TABLE events ADD COLUMN dedup TEXT") < 0) ||
        exec_simple(s, dedup_schema) < 0 || backfill_dedup(s) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return exec_simple(s, "COMMIT");
}

/* Opens s->path: the database, its schema, the insert statement, and which file it is. */
static int open_path(sqlite_store *s)
{
    const char *path = s->path;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: cannot open SQLite store: %s", path,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    if (sqlite3_exec(s->db, schema, NULL, NULL, &msg) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: cannot create store schema: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        return -1;
    }
    if (migrate_dedup(s) < 0)
        return -1;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO events(time_us,kind,host,type,clause,tenant,tenant2,body,"
                           "dedup) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(dedup) DO NOTHING",
                           -1, &s->insert, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: %s", path, sqlite3_errmsg(s->db));
        return -1;
    }
    struct stat st;
    s->follow = strcmp(path, ":memory:") != 0 && path[0] && stat(path, &st) == 0;
    if (s->follow) {
        s->dev = st.st_dev;
        s->ino = st.st_ino;
    }
    return 0;
}

/* The open database must still be the file the path names. Moved, removed or replaced under a
 * running server (a restore, a clean-up), it went on taking events into a file nobody would
 * open again, its WAL beside a path that named something else, and answered "stored": those
 * events were gone at the next start. Now every use fails, saying so, until the server is
 * restarted on the path: agents keep what they could not deliver and send it again. (Opening
 * the path again at once is no cure: what the WAL held of the old file does not follow it.) */
static int check_path(sqlite_store *s)
{
    struct stat st;
    if (!s->follow)
        return 0;
    int there = stat(s->path, &st) == 0;
    if (there && st.st_dev == s->dev && st.st_ino == s->ino)
        return 0;
    dbg_err_set(DBG_ERR_DB,
                "SQLite store %s was %s while open: nothing is stored into a file the path no "
                "longer names; restart on the path to go on",
                s->path, there ? "replaced" : "moved or removed");
    return -1;
}

void *dbg_store_sqlite_open(const char *path)
{
    sqlite_store *s = dbg_calloc(1, sizeof(*s));
    if (!s || !(s->path = dbg_strdup(path)) || open_path(s) < 0) {
        sqlite_close(s);
        return NULL;
    }
    return s;
}

static const char *nz(const char *s) { return s ? s : ""; }

static int sqlite_add(void *impl, const dbg_store_event *ev, const char *dedup, int64_t *id_out)
{
    sqlite_store *s = impl;
    if (check_path(s) < 0)
        return -1;
    sqlite3_reset(s->insert);
    sqlite3_bind_int64(s->insert, 1, ev->time_us);
    sqlite3_bind_text(s->insert, 2, nz(ev->kind), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 3, nz(ev->host), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 4, nz(ev->type), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 5, nz(ev->clause), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 6, nz(ev->tenant), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 7, nz(ev->tenant2), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 8, nz(ev->body), -1, SQLITE_STATIC);
    sqlite3_bind_text(s->insert, 9, dedup, -1, SQLITE_STATIC);
    if (sqlite3_step(s->insert) != SQLITE_DONE) {
        dbg_err_set(DBG_ERR_DB, "%s: insert failed: %s", s->path, sqlite3_errmsg(s->db));
        return -1;
    }
    if (sqlite3_changes(s->db) == 0)
        return DBG_STORE_DUPLICATE;
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

static int sqlite_begin(void *impl)
{
    sqlite_store *s = impl;
    return check_path(s) < 0 ? -1 : exec_simple(s, "BEGIN IMMEDIATE");
}

/* Checked once more at the end: a batch that began before the file was moved is not claimed
 * stored (ROLLBACK, so the connection is not left inside it). */
static int sqlite_commit(void *impl)
{
    sqlite_store *s = impl;
    if (check_path(s) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (exec_simple(s, "COMMIT") == 0)
        return 0;
    /* SQLite ends the transaction itself after most failed COMMITs (a write refused at
     * commit: checked with RLIMIT_FSIZE), but not after all (its docs ask for an explicit
     * ROLLBACK when one is still open); left open, every later BEGIN would fail */
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* After SQLITE_FULL or an I/O error SQLite may have rolled back already: then there is nothing
 * left to end. */
static int sqlite_rollback(void *impl)
{
    sqlite_store *s = impl;
    return sqlite3_get_autocommit(s->db) ? 0 : exec_simple(s, "ROLLBACK");
}

/* Prepares the statement store_sql_build writes for f and binds f's values. */
static int sqlite_prepare(sqlite_store *s, const dbg_store_filter *f, store_sql_kind kind,
                          sqlite3_stmt **out)
{
    dbg_buf sql;
    dbg_buf_init(&sql, 0);
    int r = -1;
    if (check_path(s) < 0 || store_sql_build(&sql, f, kind, '?') < 0)
        goto out;
    if (sqlite3_prepare_v2(s->db, sql.data, -1, out, NULL) != SQLITE_OK) {
        dbg_err_set(DBG_ERR_DB, "%s: %s", s->path, sqlite3_errmsg(s->db));
        goto out;
    }
    /* a number the statement does not use is refused with SQLITE_RANGE, which is harmless */
    if (f->kind)
        sqlite3_bind_text(*out, 1, f->kind, -1, SQLITE_STATIC);
    if (f->tenant)
        sqlite3_bind_text(*out, 2, f->tenant, -1, SQLITE_STATIC);
    if (f->type)
        sqlite3_bind_text(*out, 3, f->type, -1, SQLITE_STATIC);
    sqlite3_bind_int64(*out, 4, f->since_us);
    sqlite3_bind_int64(*out, 5, f->until_us);
    sqlite3_bind_int64(*out, 6, f->limit);
    sqlite3_bind_int64(*out, 7, f->after_id);
    r = 0;
out:
    dbg_buf_free(&sql);
    return r;
}

static int sqlite_query(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque)
{
    sqlite_store *s = impl;
    sqlite3_stmt *st = NULL;
    if (sqlite_prepare(s, f, STORE_SQL_LIST, &st) < 0)
        return -1;
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

static int sqlite_count_types(void *impl, const dbg_store_filter *f, dbg_store_count_cb cb,
                              void *opaque)
{
    sqlite_store *s = impl;
    sqlite3_stmt *st = NULL;
    if (sqlite_prepare(s, f, STORE_SQL_COUNT, &st) < 0)
        return -1;
    int rc, r = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int c = cb((const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1), opaque);
        if (c < 0)
            r = -1;
        if (c)
            break;
    }
    if (r == 0 && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        dbg_err_set(DBG_ERR_DB, "%s: counting events failed: %s", s->path, sqlite3_errmsg(s->db));
        r = -1;
    }
    sqlite3_finalize(st);
    return r;
}

/* SQLite's own word, not the path's spelling: "", ":memory:" and URIs such as
 * file::memory: or file:x.db?mode=memory all open a database without a file. */
static int sqlite_temporary(const void *impl)
{
    const sqlite_store *s = impl;
    const char *file = sqlite3_db_filename(s->db, "main");
    return !file || !file[0];
}

const dbg_store_ops dbg_store_sqlite_ops = {
    .name = "sqlite", .add = sqlite_add, .begin = sqlite_begin, .commit = sqlite_commit,
    .rollback = sqlite_rollback, .query = sqlite_query, .count_types = sqlite_count_types,
    .close = sqlite_close, .temporary = sqlite_temporary,
};
