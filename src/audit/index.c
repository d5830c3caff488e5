/* The SQLite index beside the segments: kept up to date lazily (query, prove and export index
 * what was appended since the last time, so appends never wait for SQLite), rebuilt from the
 * segments by reindex, and checked row by row against the segments by verify. */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "audit/verify_int.h"

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
    "CREATE TABLE IF NOT EXISTS records(seq INTEGER PRIMARY KEY, time_us INTEGER NOT NULL, actor "
    "TEXT, role TEXT,"
    " tenant TEXT, action TEXT, target_type TEXT, target_name TEXT, target_uuid TEXT, outcome "
    "TEXT, source TEXT,"
    " leaf BLOB NOT NULL, segment TEXT NOT NULL, off INTEGER NOT NULL, len INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS records_tenant ON records(tenant, seq);"
    "CREATE INDEX IF NOT EXISTS records_actor ON records(actor, seq);"
    "CREATE INDEX IF NOT EXISTS records_action ON records(action, seq);"
    "CREATE INDEX IF NOT EXISTS records_time ON records(time_us);";

static int db_err(sqlite3 *db, const char *what)
{
    dbg_err_set(DBG_ERR_DB, "audit index: %s: %s", what, db ? sqlite3_errmsg(db) : "cannot open");
    return -1;
}

/* damaged (optional): set to 1 when the file is there but SQLite cannot read it as a database. */
static sqlite3 *index_open_checked(const char *dir, int *damaged)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_INDEX_FILE);
    sqlite3 *db = NULL;
    if (damaged)
        *damaged = 0;
    if (!path)
        return NULL;
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        db_err(db, path);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_exec(db, SCHEMA, NULL, NULL, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(db);
        int bad = code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
        if (damaged)
            *damaged = bad;
        dbg_err_set(DBG_ERR_DB, "audit index %s: %s%s", path, sqlite3_errmsg(db),
                    bad ? " (run 'dengbao audit reindex')" : "");
        sqlite3_close(db);
        return NULL;
    }
    /* the segments are the truth; the index can always be rebuilt */
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return db;
}

static sqlite3 *index_open(const char *dir)
{
    return index_open_checked(dir, NULL);
}

static int meta_get(sqlite3 *db, const char *k, char *buf, size_t size, int64_t *num)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT v FROM meta WHERE k=?", -1, &st, NULL) != SQLITE_OK)
        return db_err(db, "meta");
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = 1;
        if (buf)
            snprintf(buf, size, "%s",
                     (const char *)sqlite3_column_text(st, 0)
                         ? (const char *)sqlite3_column_text(st, 0)
                         : "");
        if (num)
            *num = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return found;
}

static int meta_set(sqlite3 *db, const char *k, const char *text, int64_t num)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", -1, &st, NULL) !=
        SQLITE_OK)
        return db_err(db, "meta");
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_int64(st, 2, num);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : db_err(db, "meta");
}

static int insert_record(sqlite3_stmt *ins, aud_hasher *h, const char *seg, const aud_frame *f,
                         const char *where)
{
    aud_parsed_record p;
    if (aud_record_parse_fields(f->payload, f->len, where, &p) < 0)
        return -1;
    uint8_t leaf[AUD_HASH];
    aud_leaf_hash(h, f->payload, f->len, leaf);
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, (sqlite3_int64)p.rec.seq);
    sqlite3_bind_int64(ins, 2, p.rec.time_us);
    const char *vals[] = {p.actor,       p.role,        p.tenant,  p.action, p.target_type,
                          p.target_name, p.target_uuid, p.outcome, p.source};
    for (int i = 0; i < 9; i++)
        sqlite3_bind_text(ins, 3 + i, vals[i] ? vals[i] : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 12, leaf, AUD_HASH, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 13, seg, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 14, (sqlite3_int64)(f->offset + AUD_FRAME_HDR));
    sqlite3_bind_int64(ins, 15, f->len);
    int rc = sqlite3_step(ins);
    aud_parsed_record_free(&p);
    if (rc != SQLITE_DONE) {
        dbg_err_set(DBG_ERR_DB, "audit index: insert seq: %s",
                    sqlite3_errmsg(sqlite3_db_handle(ins)));
        return -1;
    }
    return 0;
}

/* The tree size head.json vouches for (0 when it cannot be read). */
static uint64_t head_size(const char *dir)
{
    char why[256];
    size_t len = 0;
    char *text = aud_read_head_text(dir, &len, why, sizeof(why));
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    aud_sth h;
    uint64_t n = j && aud_sth_from_json(j, AUD_HEAD_FILE, &h) == 0 ? h.size : 0;
    json_decref(j);
    free(text);
    return n;
}

/* Indexes records from (segment, offset) on; stops quietly at an incomplete tail (a writer may be
 * in the middle of a write), and with a warning at a bad frame before records head.json vouches
 * for (damage: queries would otherwise come back short without a word). */
static int sync_db(const char *dir, sqlite3 *db)
{
    char seg[64] = "";
    int64_t off = 0;
    if (meta_get(db, "segment", seg, sizeof(seg), NULL) < 0 ||
        meta_get(db, "offset", NULL, 0, &off) < 0)
        return -1;
    char **names = NULL;
    size_t n = 0;
    if (aud_list_segments(dir, &names, &n) < 0)
        return -1;
    size_t si = 0;
    if (seg[0]) {
        while (si < n && strcmp(names[si], seg) != 0)
            si++;
        if (si == n) {
            /* the segment the index stopped in is gone (pruned): start after what remains */
            si = 0;
            off = 0;
            while (si < n && strcmp(names[si], seg) < 0)
                si++;
        }
    } else {
        off = 0;
    }
    /* head.json before the segments: what it vouches for was synced before it was written */
    uint64_t vouched = head_size(dir);
    char damage[256] = "";
    aud_hasher h;
    sqlite3_stmt *ins = NULL;
    int r = -1;
    if (aud_hasher_init(&h) < 0) {
        aud_free_names(names, n);
        return -1;
    }
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        db_err(db, "begin");
        goto out;
    }
    if (sqlite3_prepare_v2(
            db,
            "INSERT OR REPLACE INTO records(seq, time_us, actor, role, tenant, action, target_type,"
            " target_name, target_uuid, outcome, source, leaf, segment, off, len)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &ins, NULL) != SQLITE_OK) {
        db_err(db, "prepare");
        goto rollback;
    }
    for (; si < n; si++, off = 0) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, names[si]);
        uint8_t *data = NULL;
        size_t size = 0;
        if (!path || aud_read_whole(path, &data, &size) < 0)
            goto rollback;
        aud_frame f;
        const char *why;
        int got, next = 0;
        size_t pos = (size_t)off;
        if (pos > size)
            pos = 0; /* file replaced underneath: reread it */
        while ((got = aud_frame_next(data, size, pos, &f, &why)) == 1) {
            if (f.type == AUD_FRAME_RECORD) {
                DBG_AUTOFREE char *where = dbg_asprintf("%s offset %zu", names[si], pos);
                if (!where || insert_record(ins, &h, names[si], &f, where) < 0) {
                    free(data);
                    goto rollback;
                }
            } else if (f.type == AUD_FRAME_NEXT) {
                next = 1;
            }
            pos += AUD_FRAME_HDR + f.len;
        }
        if (got < 0)
            snprintf(damage, sizeof(damage), "%s offset %zu: %s", names[si], pos, why);
        free(data);
        snprintf(seg, sizeof(seg), "%s", names[si]);
        off = (int64_t)pos;
        if (!next)
            break;
    }
    if (meta_set(db, "segment", seg, 0) < 0 || meta_set(db, "offset", NULL, off) < 0)
        goto rollback;
    sqlite3_finalize(ins);
    ins = NULL;
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_err(db, "commit");
        goto rollback;
    }
    r = 0;
    if (damage[0] && vouched) {
        sqlite3_stmt *st = NULL;
        uint64_t next_seq = 0;
        if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq) + 1, 0) FROM records", -1, &st,
                               NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            next_seq = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (next_seq < vouched)
            dbg_warn("audit log %s: %s; the index stops before seq %llu but head.json vouches for "
                     "%llu records: queries leave the rest out (run 'dengbao audit verify')",
                     dir, damage, (unsigned long long)next_seq, (unsigned long long)vouched);
    }
    goto out;
rollback:
    sqlite3_finalize(ins);
    ins = NULL;
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
    aud_hasher_free(&h);
    aud_free_names(names, n);
    return r;
}

int dbg_audit_index_sync(const char *dir)
{
    if (!dbg_path_is_dir(dir)) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no audit log at %s", dir);
        return -1;
    }
    sqlite3 *db = index_open(dir);
    if (!db)
        return -1;
    int r = sync_db(dir, db);
    sqlite3_close(db);
    return r;
}

int dbg_audit_reindex(const char *dir)
{
    if (!dbg_path_is_dir(dir)) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no audit log at %s", dir);
        return -1;
    }
    int damaged = 0;
    sqlite3 *db = index_open_checked(dir, &damaged);
    if (!db && damaged) {
        /* The index is only a cache of the segments: one SQLite cannot read (overwritten,
         * truncated) is what reindex is for, so it is removed and built again, with its WAL
         * and shared memory, whose frames would otherwise be replayed into the new file. */
        static const char *const files[] = {AUD_INDEX_FILE, AUD_INDEX_FILE "-wal",
                                            AUD_INDEX_FILE "-shm"};
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            DBG_AUTOFREE char *p = dbg_path_join(dir, files[i]);
            if (!p)
                return -1;
            if (unlink(p) < 0 && errno != ENOENT) {
                dbg_err_errno(DBG_ERR_IO, "%s: cannot remove the damaged index", p);
                return -1;
            }
        }
        dbg_warn("audit log %s: the index could not be read as a database; built it again from "
                 "the segments",
                 dir);
        db = index_open(dir);
    }
    if (!db)
        return -1;
    int r = 0;
    if (sqlite3_exec(db, "DELETE FROM records; DELETE FROM meta;", NULL, NULL, NULL) != SQLITE_OK)
        r = db_err(db, "clear");
    if (r == 0)
        r = sync_db(dir, db);
    sqlite3_close(db);
    return r;
}

/* ---- verify's check of the index ---- */

/* The fast path of the index check for one row (seq's leaf already matched): the record's bytes,
 * read in place from the walk's mapping, are the canonical form of the row's columns around the
 * details, and the row names the record's place. 1 = all hold; 0 = look closer (slow path). */
static int row_matches(const aud_walk_out *o, sqlite3_stmt *st, uint64_t seq, dbg_buf *scratch)
{
    const uint8_t *data;
    size_t len;
    if (aud_record_view(o, seq, &data, &len) < 0)
        return 0;
    dbg_audit_record f = {
        .time_us = sqlite3_column_int64(st, 1),
        .actor = (const char *)sqlite3_column_text(st, 2),
        .role = (const char *)sqlite3_column_text(st, 3),
        .tenant = (const char *)sqlite3_column_text(st, 4),
        .action = (const char *)sqlite3_column_text(st, 5),
        .target_type = (const char *)sqlite3_column_text(st, 6),
        .target_name = (const char *)sqlite3_column_text(st, 7),
        .target_uuid = (const char *)sqlite3_column_text(st, 8),
        .outcome = (const char *)sqlite3_column_text(st, 9),
        .source = (const char *)sqlite3_column_text(st, 10),
    };
    const aud_loc *l = &o->locs[seq - o->pruned_frontier.size];
    const char *seg = (const char *)sqlite3_column_text(st, 12);
    return aud_record_fields_match(data, len, &f, seq, scratch) == 1 &&
           (uint64_t)sqlite3_column_int64(st, 13) == l->offset && seg &&
           strcmp(seg, o->names[l->segment]) == 0;
}

/* One seq range of the index check, run by its own thread on its own connection. */
typedef struct {
    const char *dir, *path;
    aud_walk_out *o;
    pthread_mutex_t *slow; /* the slow path reads records through o's shared FILE */
    uint64_t lo, hi;       /* rows with lo <= seq < hi (hi UINT64_MAX: no upper end) */
    uint64_t want;         /* on return: the seq after the last row that held */
    uint64_t rows;         /* rows seen in the range */
    int64_t bad_seq;       /* -1: none */
    char problem[400];
    int open_failed;    /* the index cannot be opened or read (problem says why) */
    int now_read;       /* what of the log now was read: 0 nothing, 1 first_now, 2 and end_now */
    uint64_t first_now; /* the log's first seq when a gap was met (0: not known) */
    uint64_t end_now;   /* the seq after its last record when a row past the walk's was (0: not
                           known) */
} index_range;

/* Reads the log as it is now (aud_log_span_now, under the lock prunes and writers hold), at most
 * once per half of the check for each need, and only when a row needs it: its end (which counts
 * the last segment's records) only for a row past the walk's. Read after the rows were (a query
 * reads one snapshot of the index, from its first row on), so it covers any change to the log
 * that the rows show. When it cannot be read it excuses nothing. */
static void read_log_now(index_range *r, int need_end)
{
    if (r->now_read >= 1 + need_end)
        return;
    r->now_read = 1 + need_end;
    if (aud_log_span_now(r->dir, &r->first_now, need_end ? &r->end_now : NULL) < 0)
        r->first_now = r->end_now = 0;
}

/* Where the rows missing from want on, up to the next row (next), start for the log as it is now.
 * The walk read an earlier state; a prune since, which deletes the segments and then drops their
 * records' rows, leaves the rows below the log's first seq missing, and those records are no
 * longer in the log, so there is nothing for them to hide. */
static uint64_t missing_from(index_range *r, uint64_t want, uint64_t next)
{
    read_log_now(r, 0);
    if (r->first_now <= want)
        return want;
    return r->first_now < next ? r->first_now : next;
}

/* Whether a row past the records the walk listed is for a record appended since: writers append
 * after the listing and a query indexes what they appended, and then the log as it is now holds
 * seq. The walk has no leaf to check such a row against (the next verify checks it); a row for a
 * seq the log does not hold even now is reported. */
static int appended_since(index_range *r, uint64_t seq)
{
    read_log_now(r, 1);
    return seq < r->end_now;
}

/* Checks one row against its record; NULL when it holds, else what differs. */
static const char *check_row(index_range *r, sqlite3_stmt *st, uint64_t seq, dbg_buf *scratch)
{
    aud_walk_out *o = r->o;
    uint64_t p0 = o->pruned_frontier.size;
    if (seq != r->want)
        return seq > r->want ? "rows missing from the index" : "duplicate row";
    if (seq - p0 >= o->n)
        return appended_since(r, seq) ? NULL : "index row for a record the log does not hold";
    if (sqlite3_column_bytes(st, 11) != AUD_HASH ||
        memcmp(sqlite3_column_blob(st, 11), o->leaves[seq - p0], AUD_HASH) != 0)
        return "leaf hash differs from the segment";
    if (row_matches(o, st, seq, scratch))
        return NULL;
    /* every searchable column must be what the record says; the fast path could not show it,
     * so parse the record to say which one differs */
    const char *bad = NULL;
    char *data = NULL;
    size_t len = 0;
    aud_parsed_record p;
    pthread_mutex_lock(r->slow);
    int readable = aud_read_record(r->dir, o, seq, &data, &len) == 0;
    pthread_mutex_unlock(r->slow);
    if (!readable || aud_record_parse_fields((const uint8_t *)data, len, "record", &p) < 0) {
        free(data);
        return "record unreadable";
    }
    const char *vals[] = {p.actor,       p.role,        p.tenant,  p.action, p.target_type,
                          p.target_name, p.target_uuid, p.outcome, p.source};
    if (sqlite3_column_int64(st, 1) != p.rec.time_us)
        bad = "time differs from the segment";
    for (int i = 0; !bad && i < 9; i++) {
        const char *col = (const char *)sqlite3_column_text(st, 2 + i);
        if (strcmp(col ? col : "", vals[i] ? vals[i] : "") != 0)
            bad = "a searchable field differs from the segment";
    }
    const aud_loc *l = &o->locs[seq - p0];
    const char *seg = (const char *)sqlite3_column_text(st, 12);
    if (!bad && ((uint64_t)sqlite3_column_int64(st, 13) != l->offset || !seg ||
                 strcmp(seg, o->names[l->segment]) != 0))
        bad = "record location differs from the segment";
    aud_parsed_record_free(&p);
    free(data);
    return bad;
}

static void *check_range(void *arg)
{
    index_range *r = arg;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(r->path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(r->problem, sizeof(r->problem),
                 "index %s cannot be opened: %s (run 'dengbao audit reindex')", r->path,
                 sqlite3_errmsg(db));
        r->open_failed = 1;
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, time_us, actor, role, tenant, action, target_type, "
                           "target_name, target_uuid, outcome, source, leaf, segment, off, len "
                           "FROM records WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(r->problem, sizeof(r->problem),
                 "index unreadable: %s (run 'dengbao audit reindex')", sqlite3_errmsg(db));
        r->open_failed = 1;
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(r->lo > INT64_MAX ? INT64_MAX : r->lo));
    sqlite3_bind_int64(st, 2, r->hi == UINT64_MAX ? INT64_MAX : (sqlite3_int64)(r->hi - 1));
    dbg_buf scratch;
    dbg_buf_init(&scratch, 4 * AUD_MAX_RECORD);
    uint64_t p0 = r->o->pruned_frontier.size;
    while (sqlite3_step(st) == SQLITE_ROW) {
        uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
        if (seq < p0)
            continue; /* rows of pruned records are harmless leftovers */
        r->rows++;
        if (seq > r->want)
            r->want = missing_from(r, r->want, seq);
        const char *bad = check_row(r, st, seq, &scratch);
        if (bad) {
            r->bad_seq = (int64_t)(seq < r->want ? seq : r->want);
            snprintf(r->problem, sizeof(r->problem), "%s", bad);
            break;
        }
        r->want++;
    }
    dbg_buf_free(&scratch);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

/* The index is checked in two halves of the log at once (each row against its record is most
 * of a verify's time once a log has an index); the first problem in log order is reported. */
int aud_index_check(const char *dir, aud_walk_out *o, dbg_audit_verify_result *res)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_INDEX_FILE);
    if (!path)
        return -1;
    if (access(path, F_OK) != 0)
        return 0; /* never indexed: nothing to check */
    pthread_mutex_t slow = PTHREAD_MUTEX_INITIALIZER;
    uint64_t p0 = o->pruned_frontier.size, mid = p0 + o->n / 2;
    index_range r[2] = {
        {.dir = dir,
         .path = path,
         .o = o,
         .slow = &slow,
         .lo = 0,
         .hi = mid,
         .want = p0,
         .bad_seq = -1},
        {.dir = dir,
         .path = path,
         .o = o,
         .slow = &slow,
         .lo = mid,
         .hi = UINT64_MAX,
         .want = mid,
         .bad_seq = -1},
    };
    pthread_t th;
    int threaded = o->n >= 8192 && pthread_create(&th, NULL, check_range, &r[1]) == 0;
    check_range(&r[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        check_range(&r[1]);
    const char *why = NULL;
    int64_t at = -1;
    if (r[0].open_failed || r[1].open_failed) {
        res->ok = 0;
        res->first_bad_seq = (int64_t)p0;
        snprintf(res->problem, sizeof(res->problem), "%s",
                 r[0].open_failed ? r[0].problem : r[1].problem);
        return 0;
    }
    if (r[0].bad_seq >= 0) {
        at = r[0].bad_seq;
        why = r[0].problem;
    } else if (r[1].rows && (r[0].want = missing_from(&r[0], r[0].want, mid)) != mid) {
        at = (int64_t)r[0].want; /* the first half stops short of rows in the second */
        why = "rows missing from the index";
    } else if (r[1].bad_seq >= 0) {
        at = r[1].bad_seq;
        why = r[1].problem;
    }
    if (why) {
        res->ok = 0;
        res->first_bad_seq = at;
        snprintf(res->problem, sizeof(res->problem),
                 "index: seq %llu: %s (run 'dengbao audit reindex')", (unsigned long long)at, why);
    }
    return 0;
}

/* ---- query ---- */

char *dbg_audit_query(const char *dir, const dbg_audit_query_opts *q)
{
    if (dbg_audit_index_sync(dir) < 0)
        return NULL;
    sqlite3 *db = index_open(dir);
    if (!db)
        return NULL;
    dbg_buf sql;
    dbg_buf_init(&sql, 4096);
    dbg_buf_adds(&sql, "SELECT seq, segment, off, len FROM records WHERE 1");
    if (q->tenant)
        dbg_buf_adds(&sql, " AND tenant = :tenant");
    if (q->actor)
        dbg_buf_adds(&sql, " AND actor = :actor");
    size_t alen = q->action ? strlen(q->action) : 0;
    int prefix = alen && q->action[alen - 1] == '*';
    if (q->action)
        dbg_buf_adds(&sql,
                     /* bytes, not characters: substr of TEXT counts characters, and the
                      * prefix's length is strlen, so a non-ASCII prefix matched nothing */
                     prefix ? " AND substr(CAST(action AS BLOB), 1, :alen) = :action"
                            : " AND action = :action");
    if (q->target)
        dbg_buf_adds(&sql, " AND (target_name = :target OR target_uuid = :target)");
    if (q->since_us)
        dbg_buf_adds(&sql, " AND time_us >= :since");
    if (q->until_us)
        dbg_buf_adds(&sql, " AND time_us < :until");
    dbg_buf_adds(&sql, " ORDER BY seq");
    if (q->limit)
        dbg_buf_printf(&sql, " LIMIT %llu", (unsigned long long)q->limit);
    sqlite3_stmt *st = NULL;
    char *result = NULL;
    dbg_buf out;
    dbg_buf_init(&out, 0);
    if (sqlite3_prepare_v2(db, sql.data, -1, &st, NULL) != SQLITE_OK) {
        db_err(db, "query");
        goto out;
    }
#define BIND_TEXT(name, v)                                                                         \
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, name), (v), -1, SQLITE_STATIC)
    if (q->tenant)
        BIND_TEXT(":tenant", q->tenant);
    if (q->actor)
        BIND_TEXT(":actor", q->actor);
    if (q->action) {
        if (prefix) {
            sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":action"), q->action,
                              (int)alen - 1, SQLITE_STATIC);
            sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":alen"),
                               (sqlite3_int64)alen - 1);
        } else {
            BIND_TEXT(":action", q->action);
        }
    }
    if (q->target)
        BIND_TEXT(":target", q->target);
    if (q->since_us)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), q->since_us);
    if (q->until_us)
        sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"), q->until_us);
#undef BIND_TEXT
    dbg_buf_adds(&out, "[");
    int rc, first = 1;
    FILE *f = NULL;
    char cur[64] = "";
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *seg = (const char *)sqlite3_column_text(st, 1);
        int64_t off = sqlite3_column_int64(st, 2), len = sqlite3_column_int64(st, 3);
        if (!seg || len <= 0 || len > AUD_MAX_FRAME) {
            dbg_err_set(DBG_ERR_DB,
                        "audit index: bad row for seq %lld (run 'dengbao audit reindex')",
                        (long long)sqlite3_column_int64(st, 0));
            goto fail;
        }
        if (!f || strcmp(cur, seg) != 0) {
            if (f)
                fclose(f);
            DBG_AUTOFREE char *path = dbg_path_join(dir, seg);
            if (!path || !(f = fopen(path, "re"))) {
                dbg_err_errno(DBG_ERR_IO, "cannot open segment %s", seg);
                goto fail;
            }
            snprintf(cur, sizeof(cur), "%s", seg);
        }
        char *buf = dbg_malloc((size_t)len);
        if (!buf)
            goto fail;
        if (fseeko(f, (off_t)off, SEEK_SET) != 0 || fread(buf, 1, (size_t)len, f) != (size_t)len) {
            free(buf);
            dbg_err_set(DBG_ERR_IO, "cannot read seq %lld from %s",
                        (long long)sqlite3_column_int64(st, 0), seg);
            goto fail;
        }
        if (!first)
            dbg_buf_adds(&out, ",\n");
        first = 0;
        int ar = dbg_buf_add(&out, buf, (size_t)len);
        free(buf);
        if (ar < 0)
            goto fail;
    }
    if (rc != SQLITE_DONE) {
        db_err(db, "query");
        goto fail;
    }
    if (dbg_buf_adds(&out, "]\n") < 0)
        goto fail;
    result = dbg_buf_steal(&out);
fail:
    if (f)
        fclose(f);
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    dbg_buf_free(&sql);
    dbg_buf_free(&out);
    return result;
}

int aud_index_drop_below(const char *dir, uint64_t seq)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_INDEX_FILE);
    if (!path || access(path, F_OK) != 0)
        return 0;
    sqlite3 *db = index_open(dir);
    if (!db)
        return -1;
    sqlite3_stmt *st = NULL;
    int r = -1;
    if (sqlite3_prepare_v2(db, "DELETE FROM records WHERE seq < ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
        r = sqlite3_step(st) == SQLITE_DONE ? 0 : db_err(db, "prune");
    } else {
        db_err(db, "prune");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return r;
}

int64_t aud_index_first_leaf_mismatch(const char *dir, uint64_t lo, uint64_t hi,
                                      const uint8_t (*leaves)[AUD_HASH])
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_INDEX_FILE);
    if (!path || access(path, F_OK) != 0)
        return -1;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    sqlite3_busy_timeout(db, 10000);
    sqlite3_stmt *st = NULL;
    int64_t found = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, leaf FROM records WHERE seq >= ? AND seq < ? ORDER BY seq",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)lo);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)hi);
        while (sqlite3_step(st) == SQLITE_ROW) {
            uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
            if (seq < lo || seq >= hi || sqlite3_column_bytes(st, 1) != AUD_HASH)
                continue;
            if (memcmp(sqlite3_column_blob(st, 1), leaves[seq - lo], AUD_HASH) != 0) {
                found = (int64_t)seq;
                break;
            }
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}
