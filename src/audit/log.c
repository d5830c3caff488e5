/* The writing side of the audit log: open (with torn-tail recovery), durable appends with group
 * commit (leader/follower: whoever finds no write in progress writes and syncs everything queued
 * so far, the others wait for it), signed checkpoints every N records / T seconds / at close,
 * segment rotation, head.json and the control status file. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "dengbao/platform.h"

#define DEFAULT_EVERY 1000
#define DEFAULT_INTERVAL_US (10 * 1000000LL)
#define DEFAULT_SEGMENT (64ull << 20)
#define HEAD_MIN_INTERVAL_US 1000000LL

/* One caller's records waiting for a leader; lives on the caller's stack until done. */
typedef struct append_group {
    struct append_group *next;
    dbg_buf *bufs; /* canonical records with a placeholder seq (and tenant_prev) */
    size_t *at;    /* where the seq digit sits in each */
    size_t *tp_at; /* where the "null" of tenant_prev sits (0: no tenant, no tenant_prev) */
    char **tenant; /* each record's tenant (NULL for a provider-only record) */
    size_t n;
    uint64_t first; /* seq of the first record, set by the leader */
    int done, failed;
} append_group;

struct dbg_audit_log {
    char *dir;
    EVP_PKEY *key;
    uint64_t every;
    int64_t interval_us;
    uint64_t seg_max;
    int durable;
    int lock_fd;
    int writers_fd; /* AUD_WRITERS_FILE, flock'd shared while this handle is open */

    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* Guarded by mu. */
    append_group *queue_head, *queue_tail; /* waiting for the next leader */
    uint64_t pending_n;                    /* records in the queue */
    uint64_t durable_seq; /* every seq below this is written (and synced when durable) */
    int flushing;         /* a leader is writing */
    int failed;           /* sticky: a write or sync failed; no more acknowledgements */
    char fail_msg[512];
    int closing;
    uint64_t since_checkpoint; /* records after the last checkpoint */
    aud_sth published_sth;     /* copy of last_sth for readers outside the leader */

    /* Touched only by the current leader (flushing == 1) or under mu with no leader. */
    int seg_fd;
    char *seg_name;     /* current segment file name */
    uint64_t seg_bytes; /* bytes of it this process has seen (all whole frames) */
    aud_hasher h;
    aud_frontier fr;
    aud_sth last_sth;
    int64_t last_checkpoint_us; /* monotonic */
    int64_t last_head_us;
    dbg_buf spare;

    pthread_t timer;
    int timer_started;
    uint64_t recovered_bytes;

    /* Per tenant, the seq of its last record in the log: what the next record of that tenant
     * names as tenant_prev. Kept like the frontier (touched by the leader under the file lock,
     * brought up to date from the records other writers appended, restored at open from the
     * last segment's header plus the records after it), so it is right across processes,
     * restarts and prunes. Open addressing, names owned. */
    struct tenant_slot {
        char *name;
        uint64_t seq;
    } * tenants;
    size_t tenants_cap, tenants_n;
    int legacy_records; /* aud_log_write_legacy_records (tests) */
};

/* ---- each tenant's last record ---- */

static size_t tenant_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)h;
}

/* The slot of name, or the empty one where it would go; cap is a power of 2, never full. */
static struct tenant_slot *tenant_find(struct tenant_slot *t, size_t cap, const char *name)
{
    for (size_t i = tenant_hash(name) & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!t[i].name || !strcmp(t[i].name, name))
            return &t[i];
}

static void tenants_clear(dbg_audit_log *log)
{
    for (size_t i = 0; i < log->tenants_cap; i++)
        free(log->tenants[i].name);
    free(log->tenants);
    log->tenants = NULL;
    log->tenants_cap = log->tenants_n = 0;
}

/* Notes seq as tenant's last record ("" = provider-only: not tracked). */
static int tenant_set(dbg_audit_log *log, const char *tenant, uint64_t seq)
{
    if (!*tenant)
        return 0;
    if (2 * (log->tenants_n + 1) > log->tenants_cap) {
        size_t cap = log->tenants_cap ? 2 * log->tenants_cap : 64;
        struct tenant_slot *t = dbg_calloc(cap, sizeof(*t));
        if (!t)
            return -1;
        for (size_t i = 0; i < log->tenants_cap; i++)
            if (log->tenants[i].name)
                *tenant_find(t, cap, log->tenants[i].name) = log->tenants[i];
        free(log->tenants);
        log->tenants = t;
        log->tenants_cap = cap;
    }
    struct tenant_slot *e = tenant_find(log->tenants, log->tenants_cap, tenant);
    if (!e->name) {
        if (!(e->name = dbg_strdup(tenant)))
            return -1;
        log->tenants_n++;
    }
    e->seq = seq;
    return 0;
}

/* tenant_prev for the next record of tenant: its last record's seq, or none yet. */
static int64_t tenant_prev_of(dbg_audit_log *log, const char *tenant)
{
    if (!log->tenants_cap)
        return AUD_TPREV_NONE;
    struct tenant_slot *e = tenant_find(log->tenants, log->tenants_cap, tenant);
    return e->name ? (int64_t)e->seq : AUD_TPREV_NONE;
}

/* Notes the tenant of stored record bytes with seq. */
static int tenant_note_record(dbg_audit_log *log, const uint8_t *data, size_t len, uint64_t seq)
{
    char *tenant = aud_record_tenant(data, len);
    if (!tenant)
        return 0; /* not a record: verify says so; no tenant is linked to it */
    int r = tenant_set(log, tenant, seq);
    free(tenant);
    return r;
}

static json_t *tenants_json(const dbg_audit_log *log)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < log->tenants_cap; i++) {
        if (log->tenants[i].name &&
            json_object_set_new(o, log->tenants[i].name,
                                json_integer((json_int_t)log->tenants[i].seq)) < 0) {
            json_decref(o);
            o = NULL;
        }
    }
    if (!o)
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the tenants of a segment header");
    return o;
}

/* The "tenants" of a segment header payload: 1 when loaded (replacing what was known), 0 when
 * the header has none (written before tenant_prev existed), -1 when it is malformed or has an
 * entry no writer writes (judged as verify, export and prune judge it: aud_header_tenants_wrong);
 * linking the next records to such a table would sign a chain that fails verify. */
static int tenants_load(dbg_audit_log *log, const uint8_t *p, size_t len, const char *what,
                        uint64_t first)
{
    int r;
    char why[200];
    json_t *t = aud_header_tenants(p, len, &r);
    if (aud_header_tenants_wrong(t, r, first, why, sizeof(why))) {
        json_decref(t);
        dbg_err_set(DBG_ERR_VERIFY,
                    "%s: segment header's 'tenants' must map tenants to seqs before the segment "
                    "(%s): no writer writes that, so the header was edited; not linking records "
                    "to it (run 'dengbao audit verify')",
                    what, why);
        return -1;
    }
    if (r == 1) {
        tenants_clear(log);
        const char *k;
        json_t *v;
        json_object_foreach(t, k, v)
        {
            if (tenant_set(log, k, (uint64_t)json_integer_value(v)) < 0) {
                json_decref(t);
                return -1;
            }
        }
    }
    json_decref(t);
    return r;
}

/* ---- small file helpers ---- */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open directory %s", dir);
        return -1;
    }
    int r = fsync(fd);
    close(fd);
    if (r < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot sync directory %s", dir);
        return -1;
    }
    return 0;
}

static int add_frame(dbg_buf *b, uint8_t type, const void *payload, size_t len)
{
    uint8_t hdr[AUD_FRAME_HDR];
    aud_frame_header(hdr, type, payload, (uint32_t)len);
    if (dbg_buf_add(b, hdr, sizeof(hdr)) < 0 || dbg_buf_add(b, payload, len) < 0)
        return -1;
    return 0;
}

/* ---- checkpoints ---- */

/* Signs a new tree head over the current frontier; it becomes last_sth. */
static int new_head(dbg_audit_log *log)
{
    aud_sth s;
    memset(&s, 0, sizeof(s));
    s.size = log->fr.size;
    aud_frontier_root(&log->fr, &log->h, s.root);
    s.time_us = dbg_now_us();
    if (log->last_sth.key_id[0] && aud_sth_digest(&log->h, &log->last_sth, s.prev) < 0)
        return -1;
    /* the tenant heads at this size: the table is brought up to the frontier's size (the
     * leader's records and catch_up's) before any head is made */
    aud_thead *e = dbg_calloc(log->tenants_n ? log->tenants_n : 1, sizeof(*e));
    if (!e)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < log->tenants_cap; i++) {
        if (!log->tenants[i].name)
            continue;
        aud_thead_name_hash(&log->h, log->tenants[i].name, e[n].name_hash);
        e[n++].seq = log->tenants[i].seq;
    }
    aud_theads_root(&log->h, e, n, s.theads);
    free(e);
    s.theads_size = n;
    s.has_theads = 1;
    if (aud_sth_sign(&s, log->key) < 0)
        return -1;
    log->last_sth = s;
    return 0;
}

/* A new tree head, appended to b as a CHECKPOINT frame. */
static int make_checkpoint(dbg_audit_log *log, dbg_buf *b)
{
    aud_sth saved = log->last_sth;
    if (new_head(log) < 0)
        return -1;
    dbg_buf p;
    dbg_buf_init(&p, 1u << 20);
    int r = aud_checkpoint_payload(&log->last_sth, NULL, NULL, &p);
    if (r == 0)
        r = add_frame(b, AUD_FRAME_CHECKPOINT, p.data, p.len);
    dbg_buf_free(&p);
    if (r < 0)
        log->last_sth = saved;
    return r;
}

/* Segment header: repeats the latest tree head and carries the frontier, so a segment can be
 * verified (and the log reopened) without the segments before it. */
static int segment_header(dbg_audit_log *log, dbg_buf *b)
{
    dbg_buf p;
    dbg_buf_init(&p, AUD_MAX_FRAME);
    json_t *tenants = tenants_json(log);
    if (!tenants)
        return -1;
    int r = aud_checkpoint_payload(&log->last_sth, &log->fr, tenants, &p);
    json_decref(tenants);
    if (r < 0 && dbg_err_code() == DBG_ERR_LIMIT) {
        /* more tenants than a frame holds: a header without them, and a writer that opens
         * this segment rebuilds them from the segments (slower, as for a log from before) */
        dbg_buf_reset(&p);
        r = aud_checkpoint_payload(&log->last_sth, &log->fr, NULL, &p);
    }
    if (r == 0)
        r = add_frame(b, AUD_FRAME_SEGMENT, p.data, p.len);
    dbg_buf_free(&p);
    return r;
}

static int write_head(dbg_audit_log *log)
{
    json_t *o = aud_sth_to_json(&log->last_sth);
    if (!o)
        return -1;
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(o);
    DBG_AUTOFREE char *path = dbg_path_join(log->dir, AUD_HEAD_FILE);
    int r = -1;
    if (text && path)
        r = dbg_write_file_atomic(path, text, strlen(text));
    free(text);
    if (r == 0)
        log->last_head_us = dbg_monotonic_us();
    return r;
}

static int create_segment(dbg_audit_log *log)
{
    DBG_AUTOFREE char *name = aud_segment_name(log->fr.size);
    DBG_AUTOFREE char *path = name ? dbg_path_join(log->dir, name) : NULL;
    if (!path)
        return -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot create segment %s", path);
        return -1;
    }
    dbg_buf b;
    dbg_buf_init(&b, 0);
    int r = segment_header(log, &b);
    if (r == 0)
        r = dbg_write_all(fd, b.data, b.len, path);
    if (r == 0 && fsync(fd) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot sync %s", path);
        r = -1;
    }
    if (r == 0)
        r = fsync_dir(log->dir);
    if (r < 0) {
        close(fd);
        dbg_buf_free(&b);
        return -1;
    }
    if (log->seg_fd >= 0)
        close(log->seg_fd);
    log->seg_fd = fd;
    log->seg_bytes = b.len;
    free(log->seg_name);
    log->seg_name = name;
    name = NULL;
    dbg_buf_free(&b);
    return 0;
}

/* Ends the current segment (checkpoint + NEXT frame, synced) and starts the next one. */
static int rotate(dbg_audit_log *log)
{
    dbg_buf b;
    dbg_buf_init(&b, 0);
    DBG_AUTOFREE char *next = aud_segment_name(log->fr.size);
    int r = next ? 0 : -1;
    if (r == 0 && log->last_sth.size != log->fr.size)
        r = make_checkpoint(log, &b);
    if (r == 0) {
        DBG_AUTOFREE char *payload = dbg_asprintf("{\"next\":\"%s\"}", next);
        r = payload ? add_frame(&b, AUD_FRAME_NEXT, payload, strlen(payload)) : -1;
    }
    if (r == 0)
        r = dbg_write_all(log->seg_fd, b.data, b.len, "segment");
    if (r == 0 && fdatasync(log->seg_fd) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot sync segment");
        r = -1;
    }
    dbg_buf_free(&b);
    if (r == 0)
        r = create_segment(log);
    if (r == 0)
        r = write_head(log);
    return r;
}

/* ---- sharing the directory between processes ---- */

/* Every flush runs under an flock on the lock file, after reading whatever other processes
 * appended since this process last looked, so several processes can write one log. */
static int lock_file(dbg_audit_log *log)
{
    while (flock(log->lock_fd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            dbg_err_errno(DBG_ERR_IO, "audit log %s: cannot lock", log->dir);
            return -1;
        }
    }
    return 0;
}

static void unlock_file(dbg_audit_log *log)
{
    flock(log->lock_fd, LOCK_UN);
}

static int scan_segment(dbg_audit_log *log, const char *name, uint64_t start, int expect_header,
                        uint64_t *since);
static int segment_has_header(const char *path);
static int check_head_not_ahead(dbg_audit_log *log, const char *damage);

/* Brings this process's view (tree, last head, segment, offset) up to what is on disk. */
static int catch_up(dbg_audit_log *log, uint64_t *since)
{
    struct stat st;
    if (fstat(log->seg_fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "audit log %s: cannot stat %s", log->dir, log->seg_name);
        return -1;
    }
    if ((uint64_t)st.st_size == log->seg_bytes)
        return 0;
    if ((uint64_t)st.st_size < log->seg_bytes) {
        dbg_err_set(DBG_ERR_VERIFY, "audit log %s: %s shrank underneath this writer", log->dir,
                    log->seg_name);
        return -1;
    }
    DBG_AUTOFREE char *name = dbg_strdup(log->seg_name);
    return name ? scan_segment(log, name, log->seg_bytes, 0, since) : -1;
}

/* ---- the leader's write ---- */

static void fail_locked(dbg_audit_log *log)
{
    log->failed = 1;
    snprintf(log->fail_msg, sizeof(log->fail_msg), "%s", dbg_err_msg());
}

/* Appends a serialized record to batch as a frame carrying seq and, when it has a tenant_prev
 * placeholder ("null" at tp_at, after seq_at), tenant_prev (AUD_TPREV_NONE keeps the null). */
static int frame_record(dbg_buf *batch, const dbg_buf *rec, size_t seq_at, uint64_t seq,
                        size_t tp_at, int64_t tenant_prev)
{
    char digits[24], prev[24];
    int dl = snprintf(digits, sizeof(digits), "%" PRIu64, seq);
    /* the pieces: up to the seq digit, seq, up to the null, tenant_prev, the rest */
    const char *piece[5];
    size_t plen[5], np = 0;
    piece[np] = rec->data;
    plen[np++] = seq_at;
    piece[np] = digits;
    plen[np++] = (size_t)dl;
    if (tp_at) {
        piece[np] = rec->data + seq_at + 1;
        plen[np++] = tp_at - seq_at - 1;
        if (tenant_prev >= 0) {
            piece[np] = prev;
            plen[np++] = (size_t)snprintf(prev, sizeof(prev), "%" PRId64, tenant_prev);
        } else {
            piece[np] = "null";
            plen[np++] = 4;
        }
        piece[np] = rec->data + tp_at + 4;
        plen[np++] = rec->len - tp_at - 4;
    } else {
        piece[np] = rec->data + seq_at + 1;
        plen[np++] = rec->len - seq_at - 1;
    }
    size_t len = 0;
    for (size_t i = 0; i < np; i++)
        len += plen[i];
    uint8_t hdr[AUD_FRAME_HDR];
    hdr[0] = AUD_FRAME_RECORD;
    hdr[1] = AUD_FRAME_VERSION;
    hdr[2] = hdr[3] = 0;
    hdr[4] = (uint8_t)len;
    hdr[5] = (uint8_t)(len >> 8);
    hdr[6] = (uint8_t)(len >> 16);
    hdr[7] = (uint8_t)(len >> 24);
    uint32_t crc = aud_crc32c(0, hdr, 8);
    for (size_t i = 0; i < np; i++)
        crc = aud_crc32c(crc, piece[i], plen[i]);
    hdr[8] = (uint8_t)crc;
    hdr[9] = (uint8_t)(crc >> 8);
    hdr[10] = (uint8_t)(crc >> 16);
    hdr[11] = (uint8_t)(crc >> 24);
    if (dbg_buf_add(batch, hdr, sizeof(hdr)) < 0)
        return -1;
    for (size_t i = 0; i < np; i++)
        if (dbg_buf_add(batch, piece[i], plen[i]) < 0)
            return -1;
    return 0;
}

/* Called with mu held and flushing == 0. Takes every queued group, and under the file lock: catches
 * up with other writers, gives the records their seqs, writes them (plus a checkpoint when one is
 * due or forced), syncs, and rotates when the segment is full. Returns with mu held. */
static void lead_flush(dbg_audit_log *log, int force_checkpoint)
{
    log->flushing = 1;
    append_group *groups = log->queue_head;
    log->queue_head = log->queue_tail = NULL;
    log->pending_n = 0;
    uint64_t since = log->since_checkpoint;
    dbg_buf batch = log->spare;
    log->spare = (dbg_buf){0};
    dbg_buf_reset(&batch);
    pthread_mutex_unlock(&log->mu);

    int r = lock_file(log);
    int locked = r == 0;
    if (r == 0)
        r = catch_up(log, &since);
    for (append_group *g = groups; r == 0 && g; g = g->next) {
        g->first = log->fr.size;
        for (size_t i = 0; r == 0 && i < g->n; i++) {
            size_t start = batch.len;
            /* under the file lock and after catch_up: the tenant's last record is known */
            int64_t tprev = g->tenant[i] ? tenant_prev_of(log, g->tenant[i]) : AUD_TPREV_NONE;
            r = frame_record(&batch, &g->bufs[i], g->at[i], log->fr.size, g->tp_at[i], tprev);
            if (r == 0 && g->tenant[i])
                r = tenant_set(log, g->tenant[i], log->fr.size);
            if (r == 0) {
                uint8_t leaf[AUD_HASH];
                aud_leaf_hash(&log->h, batch.data + start + AUD_FRAME_HDR,
                              batch.len - start - AUD_FRAME_HDR, leaf);
                aud_frontier_add(&log->fr, &log->h, leaf);
                since++;
            }
            /* Bound what is unsynced at any time: open tells a torn tail from tampering by its
             * distance from the end of the file. */
            if (r == 0 && batch.len >= AUD_MAX_BATCH_BYTES / 2) {
                r = dbg_write_all(log->seg_fd, batch.data, batch.len, "audit segment");
                if (r == 0 && log->durable && fdatasync(log->seg_fd) < 0) {
                    dbg_err_errno(DBG_ERR_IO, "audit segment: fdatasync failed");
                    r = -1;
                }
                if (r == 0) {
                    log->seg_bytes += batch.len;
                    dbg_buf_reset(&batch);
                }
            }
        }
    }
    int64_t now = dbg_monotonic_us();
    int checkpointed = 0;
    int64_t new_cp = 0;
    if (r == 0 && since > 0 &&
        (force_checkpoint || since >= log->every ||
         now - log->last_checkpoint_us >= log->interval_us)) {
        r = make_checkpoint(log, &batch);
        checkpointed = r == 0;
    }
    if (r == 0 && batch.len)
        r = dbg_write_all(log->seg_fd, batch.data, batch.len, "audit segment");
    if (r == 0 && batch.len && log->durable && fdatasync(log->seg_fd) < 0) {
        dbg_err_errno(DBG_ERR_IO, "audit segment: fdatasync failed");
        r = -1;
    }
    if (r == 0) {
        log->seg_bytes += batch.len;
        if (checkpointed) {
            new_cp = now;
            since = 0;
            if (force_checkpoint ||
                (log->durable && now - log->last_head_us >= HEAD_MIN_INTERVAL_US)) {
                /* head.json is synced, so the records it vouches for must reach the disk first
                 * even with --no-sync: a power loss would otherwise leave a head ahead of the
                 * segment, and the log would refuse to reopen */
                if (!log->durable && fdatasync(log->seg_fd) < 0) {
                    dbg_err_errno(DBG_ERR_IO, "audit segment: fdatasync failed");
                    r = -1;
                }
                if (r == 0)
                    r = write_head(log);
            }
        }
    }
    if (r == 0 && log->seg_bytes >= log->seg_max) {
        r = rotate(log);
        if (r == 0) {
            since = 0;
            new_cp = now;
        }
    }
    if (locked)
        unlock_file(log);
    dbg_buf_reset(&batch);

    pthread_mutex_lock(&log->mu);
    dbg_buf_free(&log->spare);
    log->spare = batch;
    if (r < 0)
        fail_locked(log);
    for (append_group *g = groups; g; g = g->next) {
        g->failed = r < 0;
        g->done = 1;
    }
    if (r == 0) {
        log->durable_seq = log->fr.size;
        log->since_checkpoint = since;
        log->published_sth = log->last_sth;
        if (new_cp)
            log->last_checkpoint_us = new_cp;
    }
    log->flushing = 0;
    pthread_cond_broadcast(&log->cond);
}

/* ---- appends ---- */

/* Canonical bytes of rec with a placeholder seq, split around the seq digits, and for a record
 * of a tenant a placeholder tenant_prev ("null" at *tp_at; else *tp_at = 0). */
static int serialize_split(const dbg_audit_record *rec, dbg_buf *out, size_t *seq_at, size_t *tp_at)
{
    int has_tenant = rec->tenant && *rec->tenant;
    int64_t t = rec->time_us ? rec->time_us : dbg_now_us();
    dbg_buf_init(out, AUD_MAX_RECORD + 64);
    /* one allocation up front instead of growing 64 -> 512 */
    static const char room[512];
    if (dbg_buf_add(out, room, sizeof(room)) < 0) {
        dbg_buf_free(out);
        return -1;
    }
    out->len = 0;
    out->data[0] = '\0';
    if (aud_record_canonical(rec, 0, t, has_tenant ? AUD_TPREV_NONE : AUD_TPREV_ABSENT, out) < 0) {
        dbg_buf_free(out);
        return -1;
    }
    /* tenant_prev is the last key but time, whose value holds no quote */
    static const char tpat[] = ",\"tenant_prev\":null,\"time\":\"";
    size_t tl = sizeof(tpat) - 1;
    *tp_at = 0;
    for (size_t i = out->len - tl + 1; has_tenant && i-- > 0;) {
        if (memcmp(out->data + i, tpat, tl) == 0) {
            *tp_at = i + sizeof(",\"tenant_prev\":") - 1;
            break;
        }
    }
    if (has_tenant && !*tp_at) {
        dbg_buf_free(out);
        dbg_err_set(DBG_ERR_INTERNAL, "canonical record without tenant_prev");
        return -1;
    }
    /* The top-level seq is the last ,"seq": in the record: only strings (with quotes escaped)
     * follow it, while details (which may hold its own "seq") come before. */
    static const char pat[] = ",\"seq\":0";
    size_t pl = sizeof(pat) - 1;
    for (size_t i = out->len - pl + 1; i-- > 0;) {
        if (memcmp(out->data + i, pat, pl) == 0) {
            *seq_at = i + pl - 1;
            return 0;
        }
    }
    dbg_buf_free(out);
    dbg_err_set(DBG_ERR_INTERNAL, "canonical record without seq");
    return -1;
}

int dbg_audit_append_batch(dbg_audit_log *log, const dbg_audit_record *recs, size_t n,
                           uint64_t *first_seq)
{
    if (!log || (n && !recs)) {
        dbg_err_set(DBG_ERR_INVALID, "dbg_audit_append_batch: no log or records");
        return -1;
    }
    if (n == 0) {
        if (first_seq)
            *first_seq = dbg_audit_size(log);
        return 0;
    }
    append_group g = {0};
    g.bufs = dbg_calloc(n, sizeof(*g.bufs));
    g.at = dbg_calloc(n, sizeof(*g.at));
    g.tp_at = dbg_calloc(n, sizeof(*g.tp_at));
    g.tenant = dbg_calloc(n, sizeof(*g.tenant));
    int r = -1;
    size_t done = 0;
    if (!g.bufs || !g.at || !g.tp_at || !g.tenant)
        goto out;
    for (; done < n; done++) {
        if (serialize_split(&recs[done], &g.bufs[done], &g.at[done], &g.tp_at[done]) < 0)
            goto out;
        if (g.tp_at[done] && !(g.tenant[done] = dbg_strdup(recs[done].tenant))) {
            dbg_buf_free(&g.bufs[done]);
            goto out;
        }
        if (g.tp_at[done] && log->legacy_records) {
            /* as a writer from before tenant_prev: the key out, the record still the tenant's */
            static const char key[] = ",\"tenant_prev\":";
            dbg_buf *b = &g.bufs[done];
            size_t from = g.tp_at[done] - (sizeof(key) - 1), to = g.tp_at[done] + 4;
            memmove(b->data + from, b->data + to, b->len - to + 1);
            b->len -= to - from;
            g.tp_at[done] = 0;
        }
    }
    g.n = n;
    pthread_mutex_lock(&log->mu);
    if (log->failed || log->closing) {
        dbg_err_set(DBG_ERR_IO, "audit log %s is %s%s%s", log->dir,
                    log->failed ? "failed" : "closing", log->failed ? ": " : "",
                    log->failed ? log->fail_msg : "");
        pthread_mutex_unlock(&log->mu);
        goto out;
    }
    if (log->queue_tail)
        log->queue_tail->next = &g;
    else
        log->queue_head = &g;
    log->queue_tail = &g;
    log->pending_n += n;
    /* Whoever finds no write in progress leads one; it takes our group too. */
    while (!g.done) {
        if (!log->flushing)
            lead_flush(log, 0);
        else
            pthread_cond_wait(&log->cond, &log->mu);
    }
    if (g.failed)
        dbg_err_set(DBG_ERR_IO, "audit log %s: records not written: %s", log->dir, log->fail_msg);
    pthread_mutex_unlock(&log->mu);
    if (!g.failed) {
        r = 0;
        if (first_seq)
            *first_seq = g.first;
    }
out:
    for (size_t i = 0; g.bufs && i < done; i++)
        dbg_buf_free(&g.bufs[i]);
    for (size_t i = 0; g.tenant && i < n; i++)
        free(g.tenant[i]);
    free(g.bufs);
    free(g.at);
    free(g.tp_at);
    free(g.tenant);
    return r;
}

int dbg_audit_append(dbg_audit_log *log, const dbg_audit_record *rec, uint64_t *seq_out)
{
    return dbg_audit_append_batch(log, rec, 1, seq_out);
}

uint64_t dbg_audit_size(dbg_audit_log *log)
{
    pthread_mutex_lock(&log->mu);
    uint64_t s = log->durable_seq;
    pthread_mutex_unlock(&log->mu);
    return s;
}

int dbg_audit_checkpoint(dbg_audit_log *log)
{
    pthread_mutex_lock(&log->mu);
    while (log->flushing)
        pthread_cond_wait(&log->cond, &log->mu);
    int r = 0;
    if (log->failed) {
        dbg_err_set(DBG_ERR_IO, "audit log %s failed earlier: %s", log->dir, log->fail_msg);
        r = -1;
    } else {
        /* always lead one: other processes may have appended records nobody sealed yet */
        lead_flush(log, 1);
        if (log->failed) {
            dbg_err_set(DBG_ERR_IO, "audit log %s: checkpoint failed: %s", log->dir, log->fail_msg);
            r = -1;
        }
    }
    pthread_mutex_unlock(&log->mu);
    return r;
}

/* Time-driven checkpoints: records that arrive and then go quiet still get sealed within T. */
static void *timer_main(void *arg)
{
    dbg_audit_log *log = arg;
    pthread_mutex_lock(&log->mu);
    while (!log->closing) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t wait_us = log->interval_us;
        ts.tv_sec += wait_us / 1000000;
        ts.tv_nsec += (wait_us % 1000000) * 1000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&log->cond, &log->mu, &ts);
        if (log->closing || log->failed)
            break;
        if (!log->flushing && log->since_checkpoint && !log->pending_n &&
            dbg_monotonic_us() - log->last_checkpoint_us >= log->interval_us)
            lead_flush(log, 1);
    }
    pthread_mutex_unlock(&log->mu);
    return NULL;
}

/* ---- open and recovery ---- */

static int check_pubkey_file(dbg_audit_log *log)
{
    DBG_AUTOFREE char *path = dbg_path_join(log->dir, AUD_PUB_FILE);
    if (!path)
        return -1;
    if (access(path, F_OK) == 0) {
        EVP_PKEY *pub = aud_key_load_public(path);
        if (!pub)
            return -1;
        int same = EVP_PKEY_eq(pub, log->key) == 1;
        EVP_PKEY_free(pub);
        if (!same) {
            dbg_err_set(DBG_ERR_CRYPTO, "signing key does not match the log's public key %s", path);
            return -1;
        }
        return 0;
    }
    BIO *b = BIO_new(BIO_s_mem());
    if (!b || !PEM_write_bio_PUBKEY(b, log->key)) {
        BIO_free(b);
        dbg_err_set(DBG_ERR_CRYPTO, "cannot encode the public key");
        return -1;
    }
    char *data;
    long len = BIO_get_mem_data(b, &data);
    int r = dbg_write_file_atomic(path, data, (size_t)len);
    BIO_free(b);
    return r;
}

/* log.pub only says which key the writers use now: a log.pub replaced along with the key let a
 * writer chain heads under another key onto the log, which then verified with neither. */
static int check_last_head_key(dbg_audit_log *log)
{
    if (!log->last_sth.key_id[0] || aud_sth_verify(&log->last_sth, log->key))
        return 0;
    char kid[2 * AUD_HASH + 1] = "";
    (void)aud_key_id(log->key, kid);
    dbg_err_set(DBG_ERR_CRYPTO,
                "audit log %s: its latest signed tree head (size %llu, key_id %s) does not verify "
                "with this signing key (key_id %s): the log was signed with another key (or "
                "log.pub and the key were replaced); nothing written, run 'dengbao audit verify "
                "--pubkey' with the key you trust",
                log->dir, (unsigned long long)log->last_sth.size, log->last_sth.key_id, kid);
    return -1;
}

/* Quarantines and cuts a torn tail of the last segment: data holds the file from offset base on,
 * the damage starts at data[off]. */
static int cut_torn_tail(dbg_audit_log *log, const char *path, const uint8_t *data, size_t size,
                         size_t off, uint64_t base, const char *why)
{
    if (size - off > AUD_MAX_BATCH_BYTES + AUD_MAX_FRAME) {
        dbg_err_set(DBG_ERR_VERIFY,
                    "%s: damaged at offset %llu (%s), %zu bytes before the end: too far back to "
                    "be a torn write; run 'dengbao audit verify'",
                    path, (unsigned long long)(base + off), why, size - off);
        return -1;
    }
    /* head.json vouches only for synced records: damage before the last of them is no torn
     * write, and cutting there would take acknowledged records out of the evidence. */
    DBG_AUTOFREE char *damage = dbg_asprintf("%s is damaged at offset %llu (%s)", path,
                                             (unsigned long long)(base + off), why);
    if (!damage || check_head_not_ahead(log, damage) < 0)
        return -1;
    /* A write cut short leaves nothing after it (verify says so too): intact frames after the
     * damage are records synced and acknowledged after it, which head.json may not cover yet
     * (it is rewritten at checkpoints), and cutting would drop them and reuse their seqs. */
    uint64_t intact = 0;
    aud_frame f;
    const char *fwhy = NULL;
    if (aud_frame_peek(data, size, off, &f, &fwhy) == 1)
        for (size_t at = off + AUD_FRAME_HDR + f.len;
             aud_frame_next(data, size, at, &f, &fwhy) == 1; at += AUD_FRAME_HDR + f.len)
            intact++;
    if (intact) {
        dbg_err_set(DBG_ERR_VERIFY,
                    "audit log %s: %s, but %llu intact frame(s) follow it: not a torn write (one "
                    "cut short leaves nothing after it), and the records there may have been "
                    "acknowledged; nothing cut, run 'dengbao audit verify'",
                    log->dir, damage, (unsigned long long)intact);
        return -1;
    }
    DBG_AUTOFREE char *qname = dbg_asprintf("torn-%" PRId64 ".bin", dbg_now_us());
    DBG_AUTOFREE char *qpath = qname ? dbg_path_join(log->dir, qname) : NULL;
    if (!qpath || dbg_write_file_atomic(qpath, data + off, size - off) < 0)
        return -1;
    if (truncate(path, (off_t)(base + off)) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot truncate torn tail of %s", path);
        return -1;
    }
    dbg_warn("audit log %s: torn tail at offset %llu of %s (%s): %zu bytes of unacknowledged "
             "writes cut, kept in %s",
             log->dir, (unsigned long long)(base + off), path, why, size - off, qname);
    log->recovered_bytes += size - off;
    return 0;
}

/* Reads segment name from offset start on (start 0: from its header), adding records to the tree
 * and taking note of tree heads; follows an end marker into the next segment. A torn tail is cut
 * (the caller holds the file lock, so nobody is writing it). */
static int scan_segment(dbg_audit_log *log, const char *name, uint64_t start, int expect_header,
                        uint64_t *since)
{
    DBG_AUTOFREE char *path = dbg_path_join(log->dir, name);
    if (!path)
        return -1;
    int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot stat %s", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size > start ? (size_t)st.st_size - start : 0;
    uint8_t *data = dbg_malloc(size ? size : 1);
    if (!data) {
        close(fd);
        return -1;
    }
    size_t got_bytes = 0;
    while (got_bytes < size) {
        ssize_t n = pread(fd, data + got_bytes, size - got_bytes, (off_t)(start + got_bytes));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot read %s", path);
            free(data);
            close(fd);
            return -1;
        }
        got_bytes += (size_t)n;
    }
    size_t off = 0;
    aud_frame f;
    const char *why = NULL;
    int got, have_header = !expect_header;
    char next[64] = "";
    DBG_AUTOFREE char *npath =
        NULL; /* declared before any goto: clang refuses jumps past cleanup vars */
    while ((got = aud_frame_next(data, size, off, &f, &why)) == 1) {
        if (!have_header) {
            if (f.type != AUD_FRAME_SEGMENT ||
                aud_checkpoint_parse(f.payload, f.len, path, &log->last_sth, &log->fr) < 0) {
                dbg_err_set(DBG_ERR_VERIFY, "%s: does not start with a segment header", path);
                goto fail;
            }
            /* a header without tenants keeps what is known (recover rebuilt it) */
            if (tenants_load(log, f.payload, f.len, path, log->fr.size) < 0)
                goto fail;
            have_header = 1;
        } else if (f.type == AUD_FRAME_RECORD) {
            if (tenant_note_record(log, f.payload, f.len, log->fr.size) < 0)
                goto fail;
            uint8_t leaf[AUD_HASH];
            aud_leaf_hash(&log->h, f.payload, f.len, leaf);
            aud_frontier_add(&log->fr, &log->h, leaf);
            (*since)++;
        } else if (f.type == AUD_FRAME_CHECKPOINT) {
            if (aud_checkpoint_parse(f.payload, f.len, path, &log->last_sth, NULL) < 0)
                goto fail;
            *since = 0;
        } else if (f.type == AUD_FRAME_NEXT) {
            DBG_AUTOFREE char *want = aud_segment_name(log->fr.size);
            if (!want || !memmem(f.payload, f.len, want, strlen(want))) {
                dbg_err_set(DBG_ERR_VERIFY, "%s: end marker does not name %s", path,
                            want ? want : "");
                goto fail;
            }
            snprintf(next, sizeof(next), "%s", want);
        }
        off += AUD_FRAME_HDR + f.len;
    }
    if (got == 0 && !have_header) {
        dbg_err_set(DBG_ERR_VERIFY, "%s: empty segment without a header", path);
        goto fail;
    }
    if (got < 0) {
        if (!have_header) {
            dbg_err_set(DBG_ERR_VERIFY,
                        "%s: segment header unreadable (%s); run 'dengbao audit verify'", path,
                        why);
            goto fail;
        }
        if (cut_torn_tail(log, path, data, size, off, start, why) < 0)
            goto fail;
    }
    free(data);
    if (log->seg_fd >= 0 && log->seg_fd != fd)
        close(log->seg_fd);
    log->seg_fd = fd;
    log->seg_bytes = start + off;
    if (!log->seg_name || strcmp(log->seg_name, name) != 0) {
        char *copy = dbg_strdup(name);
        if (!copy)
            return -1;
        free(log->seg_name);
        log->seg_name = copy;
    }
    if (!next[0])
        return 0;
    /* the segment ended: go on in the next one, or finish a rotation a crash cut short */
    npath = dbg_path_join(log->dir, next);
    if (!npath)
        return -1;
    if (segment_has_header(npath))
        return scan_segment(log, next, 0, 1, since);
    *since = 0; /* the end marker follows a checkpoint */
    return create_segment(log);
fail:
    free(data);
    close(fd);
    return -1;
}

/* 1 when the segment file starts with a whole, checksummed segment header. A segment is only
 * written to after its header is synced, so one without is the remnant of a rotation a crash cut
 * short and holds nothing acknowledged. */
static int segment_has_header(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (aud_read_whole(path, &data, &len) < 0)
        return 0;
    aud_frame f;
    const char *why;
    int ok = aud_frame_next(data, len, 0, &f, &why) == 1 && f.type == AUD_FRAME_SEGMENT;
    free(data);
    return ok;
}

/* head.json is written only after the records it covers are synced, so it can never be ahead of
 * the segments. If it is, records were lost or removed: refuse to write over the evidence. damage
 * (or NULL): what open found where the readable records end. */
static int check_head_not_ahead(dbg_audit_log *log, const char *damage)
{
    DBG_AUTOFREE char *path = dbg_path_join(log->dir, AUD_HEAD_FILE);
    char *text = NULL;
    size_t len = 0;
    if (!path || access(path, F_OK) != 0)
        return 0;
    if (dbg_read_file(path, 1 << 20, &text, &len) < 0)
        return -1;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    free(text);
    aud_sth h;
    int r = 0;
    if (j && aud_sth_from_json(j, path, &h) == 0 && h.size > log->fr.size) {
        if (damage)
            dbg_err_set(DBG_ERR_VERIFY,
                        "audit log %s: %s, but head.json vouches for %llu records and only %llu "
                        "come before it: acknowledged records are damaged, not a torn write; "
                        "nothing was cut (run 'dengbao audit verify')",
                        log->dir, damage, (unsigned long long)h.size,
                        (unsigned long long)log->fr.size);
        else
            dbg_err_set(DBG_ERR_VERIFY,
                        "audit log %s holds %llu records but head.json vouches for %llu: records "
                        "were lost or removed; not writing over the evidence (run 'dengbao audit "
                        "verify')",
                        log->dir, (unsigned long long)log->fr.size, (unsigned long long)h.size);
        r = -1;
    }
    json_decref(j);
    return r;
}

/* 1 when the segment's header carries the tenants' last records, 0 when not (or unreadable:
 * the scan that follows says what is wrong). */
static int header_has_tenants(const char *path)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (aud_map_file(path, AUD_FRAME_HDR + AUD_MAX_FRAME, &data, &len) < 0)
        return 0;
    aud_frame f;
    const char *why;
    int has = 0;
    if (data && aud_frame_next(data, len, 0, &f, &why) == 1 && f.type == AUD_FRAME_SEGMENT)
        json_decref(aud_header_tenants(f.payload, f.len, &has));
    if (has < 0)
        has = 0; /* no table to load: the scan says it is not one */
    aud_unmap_file(data, len);
    return has;
}

/* Every tenant's last record, read from the records of segments names[0..n) (the last segment's
 * header, written before tenant_prev existed, does not carry them). Once, at open, until the next
 * rotation writes a header that does. Records pruned before are gone: a tenant whose records all
 * were starts again with null, which verify-export accepts (they are before the log's first
 * seq), unless the first segment's header says who they were: then they stay, as verify and
 * export take them from it (a head that left them out would not verify). A damaged segment ends
 * the reading; verify reports it. */
static int rebuild_tenants(dbg_audit_log *log, char **names, size_t n)
{
    tenants_clear(log);
    for (size_t i = 0; i < n; i++) {
        DBG_AUTOFREE char *path = dbg_path_join(log->dir, names[i]);
        uint8_t *data = NULL;
        size_t len = 0;
        if (!path || aud_map_file(path, SIZE_MAX, &data, &len) < 0)
            return -1;
        uint64_t seq = aud_name_first_seq(names[i]);
        size_t off = 0;
        aud_frame f;
        const char *why;
        int r = 0, got;
        while (r == 0 && (got = aud_frame_next(data, len, off, &f, &why)) == 1) {
            if (f.type == AUD_FRAME_RECORD)
                r = tenant_note_record(log, f.payload, f.len, seq++);
            else if (i == 0 && off == 0 && f.type == AUD_FRAME_SEGMENT)
                r = tenants_load(log, f.payload, f.len, path, seq) < 0 ? -1 : 0;
            off += AUD_FRAME_HDR + f.len;
        }
        aud_unmap_file(data, len);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* Loads tree state from the last segment: its header's frontier, then every record after it. */
static int recover(dbg_audit_log *log)
{
    char **names = NULL;
    size_t n = 0;
    if (aud_list_segments(log->dir, &names, &n) < 0)
        return -1;
    int r = -1;
    uint64_t since = 0;
    size_t n_alloc = n;
    if (n > 0) {
        DBG_AUTOFREE char *last = dbg_path_join(log->dir, names[n - 1]);
        if (last && !segment_has_header(last)) {
            DBG_AUTOFREE char *aside = dbg_asprintf("%s.noheader-%" PRId64, last, dbg_now_us());
            dbg_warn("audit log %s: %s has no segment header (rotation cut short by a crash); "
                     "moved aside",
                     log->dir, names[n - 1]);
            if (!aside || rename(last, aside) < 0) {
                dbg_err_errno(DBG_ERR_IO, "cannot move %s aside", last);
                aud_free_names(names, n_alloc);
                return -1;
            }
            n--; /* the previous segment's end marker leads to a fresh one */
        }
    }
    if (n == 0) {
        /* A new log: the first tree head is the empty tree's. */
        aud_frontier_init(&log->fr);
        r = new_head(log);
        if (r == 0)
            r = create_segment(log);
    } else {
        DBG_AUTOFREE char *last = dbg_path_join(log->dir, names[n - 1]);
        r = last ? 0 : -1;
        if (r == 0 && !header_has_tenants(last))
            r = rebuild_tenants(log, names, n - 1);
        if (r == 0)
            r = scan_segment(log, names[n - 1], 0, 1, &since);
    }
    if (r == 0)
        r = check_head_not_ahead(log, NULL);
    if (r == 0 && since) {
        /* records a crash left unsealed get a tree head now */
        dbg_buf b;
        dbg_buf_init(&b, 0);
        r = make_checkpoint(log, &b);
        if (r == 0)
            r = dbg_write_all(log->seg_fd, b.data, b.len, log->seg_name);
        if (r == 0 && fdatasync(log->seg_fd) < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot sync %s", log->seg_name);
            r = -1;
        }
        if (r == 0)
            log->seg_bytes += b.len;
        dbg_buf_free(&b);
    }
    log->since_checkpoint = 0;
    if (r == 0)
        r = write_head(log);
    aud_free_names(names, n_alloc);
    return r;
}

static void free_log(dbg_audit_log *log)
{
    if (!log)
        return;
    if (log->seg_fd >= 0)
        close(log->seg_fd);
    if (log->lock_fd >= 0)
        close(log->lock_fd); /* releases the flock */
    if (log->writers_fd >= 0)
        close(log->writers_fd);
    EVP_PKEY_free(log->key);
    tenants_clear(log);
    aud_hasher_free(&log->h);
    dbg_buf_free(&log->spare);
    free(log->seg_name);
    pthread_mutex_destroy(&log->mu);
    pthread_cond_destroy(&log->cond);
    free(log->dir);
    free(log);
}

/* A writer holds AUD_WRITERS_FILE shared for as long as it has the log open (the lock file is
 * held only while flushing), so that `audit restart`, which takes it exclusively, never moves a
 * log away from under a running writer. A writer that opened the file just before a restart
 * moved the directory finds the name no longer its file, and refuses rather than write into the
 * moved log. */
static int hold_writers(dbg_audit_log *log)
{
    DBG_AUTOFREE char *path = dbg_path_join(log->dir, AUD_WRITERS_FILE);
    if (!path)
        return -1;
    log->writers_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (log->writers_fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    while (flock(log->writers_fd, LOCK_SH) < 0) {
        if (errno != EINTR) {
            dbg_err_errno(DBG_ERR_IO, "cannot lock %s", path);
            return -1;
        }
    }
    struct stat held, named;
    if (fstat(log->writers_fd, &held) < 0 || stat(path, &named) < 0 ||
        held.st_dev != named.st_dev || held.st_ino != named.st_ino) {
        dbg_err_set(DBG_ERR_IO,
                    "audit log %s was moved while it was being opened ('dengbao audit restart' "
                    "ran); open it again",
                    log->dir);
        return -1;
    }
    return 0;
}

dbg_audit_log *dbg_audit_open(const dbg_audit_opts *opts)
{
    if (!opts || !opts->dir || !*opts->dir) {
        dbg_err_set(DBG_ERR_INVALID, "audit log: no directory given");
        return NULL;
    }
    if (!opts->key_path) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit log %s: a signing key is required (unsigned checkpoints are refused)",
                    opts->dir);
        return NULL;
    }
    dbg_audit_log *log = dbg_calloc(1, sizeof(*log));
    if (!log)
        return NULL;
    log->seg_fd = -1;
    log->lock_fd = -1;
    log->writers_fd = -1;
    pthread_mutex_init(&log->mu, NULL);
    pthread_cond_init(&log->cond, NULL);
    dbg_buf_init(&log->spare, 0);
    log->every = opts->checkpoint_every ? opts->checkpoint_every : DEFAULT_EVERY;
    log->interval_us =
        opts->checkpoint_interval_us > 0 ? opts->checkpoint_interval_us : DEFAULT_INTERVAL_US;
    log->seg_max = opts->segment_max_bytes ? opts->segment_max_bytes : DEFAULT_SEGMENT;
    log->durable = opts->durable;
    if (!(log->dir = dbg_strdup(opts->dir)) || aud_hasher_init(&log->h) < 0)
        goto fail;
    if (!(log->key = aud_key_load_private(opts->key_path)))
        goto fail;
    if (dbg_mkdir_p(log->dir, 0700) < 0)
        goto fail;
    {
        DBG_AUTOFREE char *lock = dbg_path_join(log->dir, AUD_LOCK_FILE);
        if (!lock)
            goto fail;
        log->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (log->lock_fd < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot open %s", lock);
            goto fail;
        }
    }
    if (hold_writers(log) < 0)
        goto fail;
    /* Other processes may write this log too: recovery runs under the same file lock as every
     * flush, so it never mistakes someone's write in progress for a torn tail. */
    if (lock_file(log) < 0)
        goto fail;
    if (check_pubkey_file(log) < 0 || recover(log) < 0 || check_last_head_key(log) < 0) {
        unlock_file(log);
        goto fail;
    }
    unlock_file(log);
    log->durable_seq = log->fr.size;
    log->published_sth = log->last_sth;
    log->last_checkpoint_us = dbg_monotonic_us();
    if (pthread_create(&log->timer, NULL, timer_main, log) != 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "cannot start the checkpoint timer thread");
        goto fail;
    }
    log->timer_started = 1;
    return log;
fail:
    /* damage stops every writer until someone acts: name the act that keeps the evidence */
    if (dbg_err_code() == DBG_ERR_VERIFY) {
        char msg[sizeof(dbg_err_last()->msg)];
        snprintf(msg, sizeof(msg), "%s", dbg_err_msg());
        dbg_err_set(DBG_ERR_VERIFY,
                    "%s. To keep this log as evidence and start a new one: dengbao audit restart "
                    "--log %s --key KEY --reason TEXT",
                    msg, opts->dir);
    }
    free_log(log);
    return NULL;
}

int dbg_audit_close(dbg_audit_log *log)
{
    if (!log)
        return 0;
    int r = dbg_audit_checkpoint(log);
    pthread_mutex_lock(&log->mu);
    log->closing = 1;
    pthread_cond_broadcast(&log->cond);
    pthread_mutex_unlock(&log->mu);
    if (log->timer_started)
        pthread_join(log->timer, NULL);
    if (r == 0 && !log->failed) {
        if (log->seg_fd >= 0 && fsync(log->seg_fd) < 0) {
            dbg_err_errno(DBG_ERR_IO, "audit log %s: final sync failed", log->dir);
            r = -1;
        }
        /* under the file lock, so a head written by another writer is never replaced by an
         * older one from here */
        if (r == 0 && (r = lock_file(log)) == 0) {
            uint64_t since = 0;
            r = catch_up(log, &since);
            if (r == 0)
                r = write_head(log);
            unlock_file(log);
        }
    }
    free_log(log);
    return r;
}

void aud_log_write_legacy_records(dbg_audit_log *log, int on)
{
    pthread_mutex_lock(&log->mu);
    log->legacy_records = on;
    pthread_mutex_unlock(&log->mu);
}

uint64_t dbg_audit_recovered_bytes(dbg_audit_log *log)
{
    return log->recovered_bytes;
}

const char *dbg_audit_dir(dbg_audit_log *log)
{
    return log->dir;
}

int dbg_audit_write_status_dir(dbg_audit_log *log, const char *status_dir, int stopping)
{
    pthread_mutex_lock(&log->mu);
    uint64_t size = log->durable_seq;
    int failed = log->failed;
    aud_sth s = log->published_sth;
    pthread_mutex_unlock(&log->mu);
    char ct[40], root[2 * AUD_HASH + 1];
    dbg_time_rfc3339(s.time_us, ct, sizeof(ct));
    dbg_hex_encode(s.root, AUD_HASH, root);
    DBG_AUTOFREE char *detail = dbg_asprintf(
        "%slog %s: %" PRIu64 " records, last signed tree head size %" PRIu64 " at %s%s",
        stopping ? "stopped; " : "", log->dir, size, s.size, ct, failed ? "; WRITE FAILURE" : "");
    json_t *extra = json_pack("{s:s,s:I,s:I,s:s,s:s,s:b}", "dir", log->dir, "size",
                              (json_int_t)size, "checkpoint_size", (json_int_t)s.size,
                              "checkpoint_time", ct, "checkpoint_root", root, "healthy", !failed);
    if (extra && stopping)
        json_object_set_new(extra, "state", json_string("stopped"));
    if (!detail || !extra) {
        json_decref(extra);
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the audit_log status");
        return -1;
    }
    /* Stopped, nobody appends any more: like the gateway's, the control is then not running. */
    return dbg_status_write(status_dir, "audit_log", !failed && !stopping, detail, extra);
}

int dbg_audit_write_status(dbg_audit_log *log, const char *host_root)
{
    DBG_AUTOFREE char *sdir = dbg_asprintf("%s/run/dengbao/status", host_root ? host_root : "");
    if (!sdir) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the audit_log status path");
        return -1;
    }
    return dbg_audit_write_status_dir(log, sdir, 0);
}
