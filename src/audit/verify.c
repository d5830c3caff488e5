/* Verification of a whole log directory: every frame's checksum, every record in its place
 * (seq = position, so deletions and reorderings show), the Merkle tree, every signed tree head
 * (signature, root, chain to the previous head), segment continuity, head.json, and the index.
 * The same walk gives proofs and exports the leaves and record locations they need. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "audit/verify_int.h"

static void problem(dbg_audit_verify_result *res, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(dbg_audit_verify_result *res, int64_t seq, const char *fmt, ...)
{
    if (!res->ok)
        return; /* the first problem is the one reported */
    res->ok = 0;
    res->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
    va_end(ap);
}

void aud_walk_out_free(aud_walk_out *o)
{
    if (!o)
        return;
    aud_free_names(o->names, o->n_names);
    free(o->leaves);
    free(o->locs);
    EVP_PKEY_free(o->pub);
    if (o->cached)
        fclose(o->cached);
    for (size_t i = 0; o->maps && i < o->n_names; i++)
        aud_unmap_file(o->maps[i], o->map_lens[i]);
    free(o->maps);
    free(o->map_lens);
    memset(o, 0, sizeof(*o));
}

/* Seq of a stored record: the last ,"seq": (only escaped strings follow it in canonical form).
 * The backward search steps over the 'q's rather than the commas: a record has far fewer. */
int aud_record_seq(const uint8_t *p, size_t len, uint64_t *seq)
{
    static const char pat[] = ",\"seq\":";
    const size_t pl = sizeof(pat) - 1;
    if (len < pl + 1)
        return -1;
    size_t lim = len - pl; /* candidate starts i lie in [0, lim) */
    for (;;) {
        const uint8_t *c = memrchr(p + 4, 'q', lim); /* the 'q' is pat[4] */
        if (!c)
            return -1;
        size_t i = (size_t)(c - p) - 4;
        lim = i;
        if (memcmp(p + i, pat, pl) == 0) {
            size_t j = i + pl;
            uint64_t v = 0;
            int digits = 0;
            while (j < len && p[j] >= '0' && p[j] <= '9' && digits < 20) {
                v = v * 10 + (uint64_t)(p[j] - '0');
                j++;
                digits++;
            }
            if (!digits || j >= len || p[j] != ',')
                return -1;
            *seq = v;
            return 0;
        }
    }
    return -1;
}

/* The scan's arrays start big: a segment holds hundreds of thousands of frames. */
static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    return dbg_grow_array(p, cap, need, elem, 1024);
}

int aud_same_sth(const aud_sth *a, const aud_sth *b)
{
    return a->size == b->size && a->time_us == b->time_us && !memcmp(a->root, b->root, AUD_HASH) &&
           !memcmp(a->prev, b->prev, AUD_HASH) && !strcmp(a->key_id, b->key_id) &&
           !memcmp(a->sig, b->sig, 64) && a->has_theads == b->has_theads &&
           a->theads_size == b->theads_size && !memcmp(a->theads, b->theads, AUD_HASH);
}

/* head.json is read before the segments: a writer syncs records before it writes the head, so
 * the segments read afterwards hold at least what the head vouches for. */
char *aud_read_head_text(const char *dir, size_t *len, char *why, size_t why_size)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_HEAD_FILE);
    char *text = NULL;
    if (!path || dbg_read_file(path, 1 << 20, &text, len) < 0) {
        snprintf(why, why_size, "%s", dbg_err_msg());
        return NULL;
    }
    return text;
}

/* A writer holds LOCK_EX on the lock file only for each flush (records, checkpoint, rotation,
 * head.json), not while it has the log open, so whether a writer is active says nothing about
 * the next moment. Under LOCK_SH head.json, the listing and the segments' sizes are one state of
 * the log: a rotation cannot fall between the listing and the reads, and no frame is half
 * written. The wait is at most one flush. No lock file: no writer has opened the log yet. No
 * permission to open it: the reader goes on unlocked, as it could before. */
int aud_lock_shared(const char *dir, int *fd)
{
    *fd = -1;
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_LOCK_FILE);
    if (!path)
        return -1;
    int lfd = open(path, O_RDONLY | O_CLOEXEC);
    if (lfd < 0) {
        if (errno == ENOENT || errno == EACCES)
            return 0;
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    while (flock(lfd, LOCK_SH) < 0) {
        if (errno != EINTR) {
            dbg_err_errno(DBG_ERR_IO, "audit log %s: cannot lock", dir);
            close(lfd);
            return -1;
        }
    }
    *fd = lfd;
    return 0;
}

/* Records in the first len bytes of a segment, up to the first frame that does not parse (its
 * size when listed under the shared lock, where no frame is half written). */
static uint64_t count_records(const uint8_t *data, size_t len)
{
    aud_frame f;
    const char *why;
    uint64_t n = 0;
    for (size_t off = 0; aud_frame_next(data, len, off, &f, &why) == 1;
         off += AUD_FRAME_HDR + f.len)
        n += f.type == AUD_FRAME_RECORD;
    return n;
}

int aud_log_span_now(const char *dir, uint64_t *first, uint64_t *end)
{
    int r = -1, lock_fd = -1, fd = -1;
    char **names = NULL;
    size_t n = 0;
    DBG_AUTOFREE char *last = NULL;
    struct stat st;
    uint8_t *data = NULL;
    size_t len = 0;
    if (aud_lock_shared(dir, &lock_fd) < 0)
        return -1;
    if (aud_list_segments(dir, &names, &n) < 0)
        goto out;
    if (n == 0) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no segment files in %s", dir);
        goto out;
    }
    /* the last segment, open with its size as listed; its records are counted without the lock
     * (a segment only grows, and its first st_size bytes stay as they were) */
    if (end) {
        if (!(last = dbg_path_join(dir, names[n - 1])))
            goto out;
        if ((fd = open(last, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot open %s", last);
            goto out;
        }
    }
    if (lock_fd >= 0)
        close(lock_fd);
    lock_fd = -1;
    if (end) {
        if (aud_map_fd(fd, last, (size_t)st.st_size, &data, &len) < 0)
            goto out;
        *end = aud_name_first_seq(names[n - 1]) + count_records(data, len);
    }
    *first = aud_name_first_seq(names[0]);
    r = 0;
out:
    if (lock_fd >= 0)
        close(lock_fd);
    aud_unmap_file(data, len);
    if (fd >= 0)
        close(fd);
    aud_free_names(names, n);
    return r;
}

void aud_verify_result_init(dbg_audit_verify_result *res)
{
    memset(res, 0, sizeof(*res));
    res->ok = 1;
    res->first_bad_seq = -1;
    res->linked_from = -1;
    res->tenant_last = -1;
    res->unlinked_after_first = -1;
    res->theads_unchecked_from = -1;
    res->header_tables_unchecked_from = -1;
    res->head_file_unmatched = -1;
}

void aud_check_head_file(const char *text, size_t len, const char *why, EVP_PKEY *pub,
                         uint64_t pruned, const aud_seen_head *heads, size_t n_heads,
                         uint64_t records, dbg_audit_verify_result *res)
{
    if (!text) {
        problem(res, (int64_t)records, "head.json missing or unreadable: %s", why);
        return;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    aud_sth h;
    if (!j || aud_sth_from_json(j, "head.json", &h) < 0) {
        problem(res, (int64_t)records, "head.json is not a tree head: %s",
                j ? dbg_err_msg() : jerr.text);
        json_decref(j);
        return;
    }
    json_decref(j);
    if (!aud_sth_verify(&h, pub)) {
        problem(res, (int64_t)records, "head.json: signature does not verify");
        return;
    }
    if (h.size > records) {
        problem(res, (int64_t)records,
                "log truncated: head.json vouches for %llu records but the log holds %llu (first "
                "missing seq %llu)",
                (unsigned long long)h.size, (unsigned long long)records,
                (unsigned long long)records);
        return;
    }
    for (size_t i = 0; i < n_heads; i++)
        if (heads[i].size == h.size && !memcmp(heads[i].root, h.root, AUD_HASH))
            return;
    if (h.size >= pruned)
        problem(res, (int64_t)h.size, "head.json (size %llu) matches no tree head in the log",
                (unsigned long long)h.size);
    else /* the heads it could match were pruned: said, not failed (audit.md) */
        res->head_file_unmatched = (int64_t)h.size;
}

/* ---- the scan: where every frame is, on one core (only the 12-byte headers are read) ---- */

/* Leaves per chunk of the parallel pass. Chunks are aligned in leaf index, so a full chunk is a
 * perfect subtree of the log's tree: the ordered walk adds its root to the frontier in one step
 * and never hashes its nodes again (the frontier stays exactly what leaf-by-leaf gives). */
#define CHUNK_LEVEL 12
#define CHUNK ((uint64_t)1 << CHUNK_LEVEL)

enum { SEG_UNREAD = 0, SEG_MAP_FAILED, SEG_SCANNED };

/* A frame that is not a record (segment header, checkpoint, end marker). */
typedef struct {
    uint64_t offset;     /* of the frame header in its segment */
    uint64_t rec_before; /* record frames before it in the whole log */
    uint32_t seg;
    uint32_t len;
    uint8_t type;
    uint8_t has_local; /* local is set (a checkpoint strictly inside a chunk) */
    int8_t parsed;     /* checkpoint parsed by the pass into sth: 1, or -1 (the walk says why) */
    uint8_t sig_ok;    /* and its signature holds */
    uint8_t local[AUD_HASH]; /* root of the leaves from its chunk's start up to the frame */
    aud_sth sth;
} frame_mark;

typedef struct {
    uint8_t *data;
    size_t size;
    size_t listed; /* its size when listed: bytes a writer added since are not part of this state */
    int fd;        /* opened when listed, closed once mapped; -1: mapped by name */
    uint64_t rec_lo, rec_hi; /* ordinals of its record frames (index into locs and leaves) */
    size_t mark_lo, mark_hi; /* its other frames in marks */
    int state;
    int stopped; /* the scan stopped at a bad frame header at stop_off */
    size_t stop_off;
    const char *why;
    /* filled by the segment's scan, moved into the log-wide arrays after */
    aud_loc *locs;
    size_t n_locs;
    frame_mark *marks;
    size_t n_marks;
} seg_scan;

typedef struct {
    seg_scan *segs;
    size_t n_segs;
    frame_mark *marks;
    size_t n_marks;
    size_t *cps; /* indices of the checkpoint marks, in log order */
    size_t n_cps;
    uint64_t n_recs; /* record frames found (their places go to o->locs) */
    size_t reach;    /* segments [0, reach) hold them */
    /* the scan's work list */
    const char *dir;
    char **names;
    atomic_size_t next_seg;
    atomic_int failed;
} log_scan;

static void log_scan_free(log_scan *sc)
{
    for (size_t i = 0; sc->segs && i < sc->n_segs; i++) {
        aud_unmap_file(sc->segs[i].data, sc->segs[i].size);
        if (sc->segs[i].fd >= 0)
            close(sc->segs[i].fd);
        free(sc->segs[i].locs);
        free(sc->segs[i].marks);
    }
    free(sc->segs);
    free(sc->marks);
    free(sc->cps);
    memset(sc, 0, sizeof(*sc));
}

/* Big arrays the pass fills once: 2 MiB pages where the kernel has them, so filling them takes
 * few page faults (a 600,000-record log needs ~40 MB of them). Only a hint. */
static void want_huge_pages(void *p, size_t bytes)
{
    if (!p || bytes < (4u << 20))
        return;
    uintptr_t a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095,
              e = ((uintptr_t)p + bytes) & ~(uintptr_t)4095;
    if (e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
}

/* Maps a listed segment: through the descriptor the listing opened, which still reads the file
 * listed when a prune has deleted it since, else (fd -1) by name. */
static int map_listed(const char *dir, const char *name, int fd, size_t max_len, uint8_t **data,
                      size_t *len)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, name);
    if (!path)
        return -1;
    return fd >= 0 ? aud_map_fd(fd, path, max_len, data, len)
                   : aud_map_file(path, max_len, data, len);
}

/* Frame boundaries of one segment (no CRCs: the parallel pass checks those of records, the walk
 * the others). Returns -1 only when out of memory. */
static int scan_segment(log_scan *sc, size_t si)
{
    seg_scan *g = &sc->segs[si];
    if (map_listed(sc->dir, sc->names[si], g->fd, g->listed, &g->data, &g->size) < 0) {
        g->state = SEG_MAP_FAILED; /* the walk reports it if it gets here */
        return 0;
    }
    if (g->fd >= 0) { /* the mapping keeps the file: hold few descriptors at a time */
        close(g->fd);
        g->fd = -1;
    }
    g->state = SEG_SCANNED;
    size_t cap_locs = 0, cap_marks = 0;
    /* room for the records up front (a record frame is well over 128 bytes) */
    if (grow((void **)&g->locs, &cap_locs, g->size / 128 + 1, sizeof(aud_loc)) < 0)
        return -1;
    want_huge_pages(g->locs, cap_locs * sizeof(aud_loc));
    size_t off = 0, fetched = 0;
    aud_frame f;
    int got;
    while ((got = aud_frame_peek(g->data, g->size, off, &f, &g->why)) == 1) {
        /* each header's place depends on the one before: fetch every line some way ahead so the
         * chain of loads does not wait on memory at every frame */
        for (; fetched < off + 8192 && fetched < g->size; fetched += 64)
            __builtin_prefetch(g->data + fetched);
        if (f.type == AUD_FRAME_RECORD) {
            if (grow((void **)&g->locs, &cap_locs, g->n_locs + 1, sizeof(aud_loc)) < 0)
                return -1;
            g->locs[g->n_locs].segment = (uint32_t)si;
            g->locs[g->n_locs].len = f.len;
            g->locs[g->n_locs].offset = off + AUD_FRAME_HDR;
            g->n_locs++;
        } else {
            if (grow((void **)&g->marks, &cap_marks, g->n_marks + 1, sizeof(frame_mark)) < 0)
                return -1;
            frame_mark *m = &g->marks[g->n_marks++];
            memset(m, 0, sizeof(*m));
            m->offset = off;
            m->rec_before = g->n_locs; /* within the segment until the merge */
            m->seg = (uint32_t)si;
            m->len = f.len;
            m->type = f.type;
        }
        off += AUD_FRAME_HDR + f.len;
    }
    if (got < 0) {
        g->stopped = 1;
        g->stop_off = off;
    }
    return 0;
}

static void *scan_worker(void *arg)
{
    log_scan *sc = arg;
    size_t si;
    while ((si = atomic_fetch_add(&sc->next_seg, 1)) < sc->n_segs)
        if (scan_segment(sc, si) < 0)
            atomic_store(&sc->failed, 1);
    return NULL;
}

/* Finds every frame of every segment, one segment per core at a time, then numbers the records in
 * log order (ordinal = leaf index - pruned; o->locs is allocated, the pass fills it) and lays the
 * other frames out in sc->marks. The
 * walk ends at the first segment whose frames stop early or that cannot be mapped, so what comes
 * after it is dropped. */
static int scan_log(const char *dir, aud_walk_out *o, aud_walk_listing *ls, log_scan *sc)
{
    if (!(sc->segs = dbg_calloc(o->n_names, sizeof(*sc->segs))))
        return -1;
    sc->n_segs = o->n_names;
    for (size_t si = 0; si < sc->n_segs; si++) { /* the scan closes the descriptors from here on */
        sc->segs[si].listed = ls->listed[si];
        sc->segs[si].fd = ls->fds[si];
        ls->fds[si] = -1;
    }
    sc->dir = dir;
    sc->names = o->names;
    atomic_init(&sc->next_seg, 0);
    atomic_init(&sc->failed, 0);
    int nt = dbg_online_cores(8);
    if ((size_t)nt > o->n_names)
        nt = (int)o->n_names;
    dbg_run_on_threads(scan_worker, sc, nt);
    if (atomic_load(&sc->failed)) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory scanning the log");
        return -1;
    }
    size_t reach = 0, n_marks = 0, n_cps = 0;
    uint64_t n_recs = 0;
    for (; reach < sc->n_segs; reach++) {
        seg_scan *g = &sc->segs[reach];
        n_recs += g->n_locs;
        n_marks += g->n_marks;
        if (g->state != SEG_SCANNED || g->stopped) {
            reach++;
            break;
        }
    }
    for (size_t si = reach; si < sc->n_segs; si++) /* past where the walk must stop */
        sc->segs[si].state = SEG_UNREAD;
    if (!(o->locs = dbg_reallocarray(NULL, n_recs ? n_recs : 1, sizeof(aud_loc))))
        return -1;
    want_huge_pages(o->locs, n_recs * sizeof(aud_loc));
    if (!(sc->marks = dbg_reallocarray(NULL, n_marks ? n_marks : 1, sizeof(frame_mark))))
        return -1;
    for (size_t si = 0; si < reach; si++) {
        seg_scan *g = &sc->segs[si];
        g->rec_lo = sc->n_recs;
        g->rec_hi = g->rec_lo + g->n_locs;
        g->mark_lo = sc->n_marks;
        g->mark_hi = g->mark_lo + g->n_marks;
        for (size_t k = 0; k < g->n_marks; k++) {
            frame_mark *m = &sc->marks[sc->n_marks++];
            *m = g->marks[k];
            m->rec_before += g->rec_lo;
            n_cps += m->type == AUD_FRAME_CHECKPOINT;
        }
        sc->n_recs = g->rec_hi;
        free(g->marks); /* its locs stay: the parallel pass copies them to o->locs */
        g->marks = NULL;
    }
    sc->reach = reach;
    if (!(sc->cps = dbg_reallocarray(NULL, n_cps ? n_cps : 1, sizeof(size_t))))
        return -1;
    for (size_t k = 0; k < sc->n_marks; k++)
        if (sc->marks[k].type == AUD_FRAME_CHECKPOINT)
            sc->cps[sc->n_cps++] = k;
    return 0;
}

/* ---- the parallel pass: per record its CRC, its seq, its leaf hash; per full chunk its root ----
 */

typedef struct {
    log_scan *sc;
    aud_loc *locs; /* o->locs, filled by the pass */
    uint8_t (*leaves)[AUD_HASH];
    uint64_t p0;                /* leaf index of the first record (records before were pruned) */
    uint64_t c_lo, n_chunks;    /* chunks c_lo .. c_lo + n_chunks - 1 hold the records */
    uint8_t (*roots)[AUD_HASH]; /* per chunk: root of its 2^CHUNK_LEVEL leaves when full */
    uint64_t *first_bad;        /* per chunk: ordinal of its first bad record, UINT64_MAX none */
    EVP_PKEY *pub;
    aud_tc_range *tc;             /* per chunk: its records' tenants and tenant_prev */
    atomic_int tc_failed;         /* out of memory noting them */
    atomic_uint_fast64_t next;    /* next chunk to take (relative to c_lo) */
    atomic_uint_fast64_t next_cp; /* next checkpoint to parse and check the signature of */
} hash_pass;

static void fold_frontier(const aud_frontier *f, uint8_t out[AUD_HASH])
{
    /* the root of a non-empty frontier, as aud_frontier_root computes it */
    memcpy(out, f->hash[f->count - 1], AUD_HASH);
    for (int i = f->count - 2; i >= 0; i--)
        aud_node_hash(NULL, f->hash[i], out, out);
}

/* First checkpoint mark whose tree size (p0 + records before it) is > size. */
static size_t first_cp_after(const hash_pass *hp, uint64_t size)
{
    size_t lo = 0, hi = hp->sc->n_cps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (hp->p0 + hp->sc->marks[hp->sc->cps[mid]].rec_before <= size)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The segment that holds record ordinal i (segments [0, reach) hold them in order). */
static size_t seg_of(const log_scan *sc, uint64_t i)
{
    size_t lo = 0, hi = sc->reach;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (sc->segs[mid].rec_lo <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static void hash_chunk(hash_pass *hp, uint64_t rel)
{
    uint64_t a = (hp->c_lo + rel) << CHUNK_LEVEL, b = a + CHUNK, end = hp->p0 + hp->sc->n_recs;
    uint64_t lo = a < hp->p0 ? hp->p0 : a, hi = b < end ? b : end;
    int tree = a >= hp->p0; /* the first chunk is partial when records were pruned: no subtree */
    aud_frontier lf;
    aud_frontier_init(&lf);
    size_t ci = first_cp_after(hp, a);
    uint64_t bad = UINT64_MAX;
    int crc_ok[3] = {1, 1, 1};
    /* the records' places come from their segments' scans; each is copied to the log-wide array
     * here, so that copy is on all cores too */
    const seg_scan *segs = hp->sc->segs;
    size_t si = seg_of(hp->sc, lo - hp->p0);
    for (uint64_t x = lo; x < hi; x++) {
        uint64_t i = x - hp->p0;
        const aud_loc *l = &hp->locs[i];
        if ((x - lo) % 3 == 0) { /* places and CRCs three records at a time */
            uint64_t k, nk = hi - x < 3 ? hi - x : 3;
            const uint8_t *ps[3];
            uint32_t ls[3];
            for (k = 0; k < nk; k++) {
                while (i + k >= segs[si].rec_hi)
                    si++;
                hp->locs[i + k] = segs[si].locs[i + k - segs[si].rec_lo];
                ps[k] = segs[si].data + hp->locs[i + k].offset;
                ls[k] = hp->locs[i + k].len;
            }
            if (nk == 3)
                aud_frame_crc_ok3(ps, ls, crc_ok);
            else
                for (k = 0; k < nk; k++)
                    crc_ok[k] = aud_frame_crc_ok(ps[k], ls[k]);
        }
        const uint8_t *p = segs[l->segment].data + l->offset;
        if (bad == UINT64_MAX) {
            uint64_t seq;
            if (!crc_ok[(x - lo) % 3] || aud_record_seq(p, l->len, &seq) < 0 || seq != x)
                bad = i;
        }
        aud_leaf_hash(NULL, p, l->len, hp->leaves[i]);
        if (aud_tc_range_add(&hp->tc[rel], p, l->len) < 0)
            atomic_store(&hp->tc_failed, 1);
        if (!tree)
            continue;
        for (; ci < hp->sc->n_cps; ci++) { /* checkpoints at tree size x: the leaves [a, x) */
            frame_mark *m = &hp->sc->marks[hp->sc->cps[ci]];
            if (hp->p0 + m->rec_before != x)
                break;
            fold_frontier(&lf, m->local);
            m->has_local = 1;
        }
        aud_frontier_add(&lf, NULL, hp->leaves[i]);
    }
    for (; tree && hi < b && ci < hp->sc->n_cps; ci++) { /* at the end of a partial last chunk */
        frame_mark *m = &hp->sc->marks[hp->sc->cps[ci]];
        if (hp->p0 + m->rec_before != hi || hi == a)
            break;
        fold_frontier(&lf, m->local);
        m->has_local = 1;
    }
    if (tree && hi == b)
        memcpy(hp->roots[rel], lf.hash[0], AUD_HASH);
    hp->first_bad[rel] = bad;
}

static void *hash_worker(void *arg)
{
    hash_pass *hp = arg;
    uint64_t rel;
    while ((rel = atomic_fetch_add(&hp->next, 1)) < hp->n_chunks)
        hash_chunk(hp, rel);
    /* Checkpoints: parsing and the Ed25519 check are the costly part of each, and neither depends
     * on the order; the walk checks size, root and chain with what is found here. */
    while ((rel = atomic_fetch_add(&hp->next_cp, 1)) < hp->sc->n_cps) {
        frame_mark *m = &hp->sc->marks[hp->sc->cps[rel]];
        const uint8_t *payload = hp->sc->segs[m->seg].data + m->offset + AUD_FRAME_HDR;
        m->parsed =
            aud_checkpoint_parse(payload, m->len, "checkpoint", &m->sth, NULL) == 0 ? 1 : -1;
        m->sig_ok = m->parsed == 1 && aud_sth_verify(&m->sth, hp->pub);
    }
    return NULL;
}

/* Runs the pass on every core (the caller's thread included). */
static int hash_records(hash_pass *hp)
{
    int nt = hp->n_chunks + hp->sc->n_cps / 64 < 2 ? 1 : dbg_online_cores(8);
    dbg_run_on_threads(hash_worker, hp, nt);
    return 0;
}

/* ---- the ordered walk's tree: a frontier that moves a whole chunk at a time ---- */

typedef struct {
    aud_frontier fr; /* of the tree of size fr.size */
    hash_pass *hp;
    aud_hasher *h;
} walk_tree;

/* Moves fr towards size s: per leaf up to the first chunk boundary (only after a prune), then by
 * whole chunks; stops at the chunk that contains s. */
static void tree_advance(walk_tree *w, uint64_t s)
{
    while (w->fr.size < s) {
        uint64_t f = w->fr.size;
        if ((f & (CHUNK - 1)) == 0) {
            if (f + CHUNK > s)
                break;
            aud_frontier_add_subtree(&w->fr, w->h, w->hp->roots[(f >> CHUNK_LEVEL) - w->hp->c_lo],
                                     CHUNK_LEVEL);
        } else {
            aud_frontier_add(&w->fr, w->h, w->hp->leaves[f - w->hp->p0]);
        }
    }
}

/* The whole frontier at size s (a segment header is compared with it). */
static void tree_frontier_at(walk_tree *w, uint64_t s, aud_frontier *out)
{
    tree_advance(w, s);
    *out = w->fr;
    while (out->size < s)
        aud_frontier_add(out, w->h, w->hp->leaves[out->size - w->hp->p0]);
}

/* The root at size s for checkpoint mark m: the frontier's hashes folded over the part of m's
 * chunk that a worker already folded. */
static void tree_root_at(walk_tree *w, uint64_t s, const frame_mark *m, uint8_t out[AUD_HASH])
{
    tree_advance(w, s);
    if (w->fr.size == s) {
        aud_frontier_root(&w->fr, w->h, out);
    } else if (m->has_local) {
        memcpy(out, m->local, AUD_HASH);
        for (int i = w->fr.count - 1; i >= 0; i--)
            aud_node_hash(w->h, w->fr.hash[i], out, out);
    } else { /* not expected: the pass folds every checkpoint inside a chunk */
        aud_frontier full;
        tree_frontier_at(w, s, &full);
        aud_frontier_root(&full, w->h, out);
    }
}

/* The record frames [ri, rj) of segment g, in order (records between two other frames). Returns 0
 * when all hold, 1 when a problem was reported, 2 when a record's CRC fails (*stop_off set: the
 * segment's frames end there, as a bad header ends them). */
typedef struct {
    uint64_t expected, since_sth;
    int ended;
} walk_pos;

static int walk_records(aud_walk_out *o, hash_pass *hp, const char *name, const seg_scan *g,
                        uint64_t ri, uint64_t rj, walk_pos *pos, dbg_audit_verify_result *res,
                        size_t *stop_off)
{
    const aud_loc *l = &o->locs[ri];
    size_t off = (size_t)l->offset - AUD_FRAME_HDR;
    if (pos->ended || off == 0) {
        if (!aud_frame_crc_ok(g->data + l->offset, l->len)) {
            *stop_off = off;
            return 2;
        }
        if (pos->ended)
            problem(res, (int64_t)pos->expected,
                    "%s offset %zu: data after the segment's end marker", name, off);
        else
            problem(res, (int64_t)pos->expected, "%s: no valid segment header", name);
        return 1;
    }
    /* the pass noted each chunk's first bad record; an earlier one would have ended the walk */
    uint64_t bad = UINT64_MAX;
    for (uint64_t c = (hp->p0 + ri) >> CHUNK_LEVEL; c <= (hp->p0 + rj - 1) >> CHUNK_LEVEL; c++) {
        uint64_t b = hp->first_bad[c - hp->c_lo];
        if (b >= ri && b < rj) {
            bad = b;
            break;
        }
    }
    uint64_t good = (bad == UINT64_MAX ? rj : bad) - ri;
    pos->expected += good;
    pos->since_sth += good;
    res->records += good;
    if (bad == UINT64_MAX)
        return 0;
    l = &o->locs[bad];
    off = (size_t)l->offset - AUD_FRAME_HDR;
    const uint8_t *p = g->data + l->offset;
    if (!aud_frame_crc_ok(p, l->len)) {
        *stop_off = off;
        return 2;
    }
    uint64_t seq;
    if (aud_record_seq(p, l->len, &seq) < 0)
        problem(res, (int64_t)pos->expected,
                "%s offset %zu: record without a readable seq (expected seq %llu)", name, off,
                (unsigned long long)pos->expected);
    else if (seq > pos->expected)
        problem(
            res, (int64_t)pos->expected,
            "%s offset %zu: found seq %llu where seq %llu belongs: record(s) %llu..%llu missing",
            name, off, (unsigned long long)seq, (unsigned long long)pos->expected,
            (unsigned long long)pos->expected, (unsigned long long)seq - 1);
    else
        problem(res, (int64_t)pos->expected,
                "%s offset %zu: found seq %llu where seq %llu belongs: records out of order", name,
                off, (unsigned long long)seq, (unsigned long long)pos->expected);
    return 1;
}

/* Checks the tenant chain of records [*done, upto) (ordinals) in log order, chunk by chunk. 0 when
 * it holds, 1 when a problem was reported, -1 out of memory. */
static int walk_tenants(hash_pass *hp, aud_tc *tc, uint64_t *done, uint64_t upto,
                        dbg_audit_verify_result *res)
{
    while (*done < upto) {
        uint64_t x = hp->p0 + *done, rel = (x >> CHUNK_LEVEL) - hp->c_lo;
        uint64_t a = (hp->c_lo + rel) << CHUNK_LEVEL, lo = a < hp->p0 ? hp->p0 : a;
        uint64_t end = a + CHUNK - hp->p0 < upto ? a + CHUNK - hp->p0 : upto;
        char why[512];
        int64_t bad;
        int r =
            aud_tc_apply(tc, &hp->tc[rel], x - lo, end + hp->p0 - lo, lo, why, sizeof(why), &bad);
        if (r < 0)
            return -1;
        if (r > 0) {
            problem(res, bad, "%s", why);
            return 1;
        }
        *done = end;
    }
    return 0;
}

/* Descriptors a listing gives back when the process runs out of them, so that the rest of the
 * process (other threads of a server) is not left at its limit while the scan runs. */
#define FD_HEADROOM 16

/* The segment names, each one open, and each one's size now (SIZE_MAX when it cannot be read:
 * mapping it then says why). Segments only grow, so those sizes can be mapped later and read the
 * same; and a segment held open is still read after a prune has deleted it. At the descriptor
 * limit (EMFILE, ENFILE) the remaining segments are listed by name, as before they were all: a
 * prune that deletes one of those before the scan maps it makes the walk fail, only for a log of
 * more segments than the process may open files. Raising RLIMIT_NOFILE instead would change a
 * limit of the whole calling process (the server's too) from inside a library call. */
static int list_segments_open(const char *dir, aud_walk_out *o, aud_walk_listing *ls)
{
    if (aud_list_segments(dir, &o->names, &o->n_names) < 0)
        return -1;
    size_t cap = o->n_names ? o->n_names : 1;
    if (!(ls->listed = dbg_reallocarray(NULL, cap, sizeof(*ls->listed))) ||
        !(ls->fds = dbg_reallocarray(NULL, cap, sizeof(*ls->fds))))
        return -1;
    ls->n = o->n_names;
    for (size_t si = 0; si < ls->n; si++)
        ls->fds[si] = -1;
    int by_name = 0;
    for (size_t si = 0; si < ls->n; si++) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, o->names[si]);
        if (!path)
            return -1;
        if (!by_name && (ls->fds[si] = open(path, O_RDONLY | O_CLOEXEC)) < 0 &&
            (errno == EMFILE || errno == ENFILE)) {
            by_name = 1;
            for (size_t k = si; k-- > 0 && si - k <= FD_HEADROOM;) {
                if (ls->fds[k] >= 0)
                    close(ls->fds[k]);
                ls->fds[k] = -1;
            }
        }
        struct stat st;
        int got = ls->fds[si] >= 0 ? fstat(ls->fds[si], &st) : stat(path, &st);
        ls->listed[si] = got == 0 ? (size_t)st.st_size : SIZE_MAX;
    }
    return 0;
}

void aud_walk_listing_free(aud_walk_listing *ls)
{
    if (!ls)
        return;
    free(ls->head_text);
    free(ls->listed);
    for (size_t i = 0; ls->fds && i < ls->n; i++)
        if (ls->fds[i] >= 0)
            close(ls->fds[i]);
    free(ls->fds);
    memset(ls, 0, sizeof(*ls));
}

int aud_walk_list(const char *dir, const char *pubkey_path, int take_lock,
                  dbg_audit_verify_result *res, aud_walk_out *o, aud_walk_listing *ls)
{
    aud_verify_result_init(res);
    memset(o, 0, sizeof(*o));
    memset(ls, 0, sizeof(*ls));
    if (!dbg_path_is_dir(dir)) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no audit log at %s", dir);
        return -1;
    }
    DBG_AUTOFREE char *own_pub = dbg_path_join(dir, AUD_PUB_FILE);
    if (!own_pub || !(o->pub = aud_key_load_public(pubkey_path ? pubkey_path : own_pub)))
        return -1;
    int lock_fd = -1;
    if (take_lock && aud_lock_shared(dir, &lock_fd) < 0)
        return -1;
    ls->head_text = aud_read_head_text(dir, &ls->head_len, ls->head_why, sizeof(ls->head_why));
    int lr = list_segments_open(dir, o, ls);
    if (lock_fd >= 0)
        close(lock_fd); /* mapping (which reads every byte) runs without holding writers up */
    return lr;
}

/* Three steps: frame boundaries of all segments (one core, headers only); CRCs, seqs, leaf hashes
 * and chunk roots on all cores; then every check in log order, which needs only a few node hashes
 * per checkpoint. The first problem in log order is the one reported, as a one-pass walk would. */
int aud_walk_listed(const char *dir, aud_walk_listing *ls, dbg_audit_verify_result *res,
                    aud_walk_out *o)
{
    if (o->n_names == 0) {
        problem(res, 0, "no segment files in %s", dir);
        return 0;
    }
    aud_hasher h;
    if (aud_hasher_init(&h) < 0)
        return -1;
    int rc = -1;
    size_t cap_heads = 0, n_heads = 0;
    aud_seen_head *heads = NULL;
    log_scan sc;
    memset(&sc, 0, sizeof(sc));
    hash_pass hp;
    memset(&hp, 0, sizeof(hp));
    walk_tree wt = {.hp = &hp, .h = &h};
    aud_frontier_init(&wt.fr);
    walk_pos pos = {0, 0, 0};
    aud_sth last;
    memset(&last, 0, sizeof(last));
    int have_last = 0;
    uint64_t good_size = 0; /* size of the last head that verified */
    aud_tc tc;
    memset(&tc, 0, sizeof(tc));
    uint64_t linked = 0; /* records (ordinals) whose tenant chain was checked */

    if (scan_log(dir, o, ls, &sc) < 0)
        goto out;
    hp.sc = &sc;
    hp.locs = o->locs;
    hp.p0 = aud_name_first_seq(o->names[0]);
    hp.c_lo = hp.p0 >> CHUNK_LEVEL;
    hp.n_chunks = ((hp.p0 + sc.n_recs + CHUNK - 1) >> CHUNK_LEVEL) - hp.c_lo;
    o->leaves = dbg_reallocarray(NULL, sc.n_recs ? sc.n_recs : 1, AUD_HASH);
    want_huge_pages(o->leaves, sc.n_recs * AUD_HASH);
    hp.leaves = o->leaves;
    hp.roots = dbg_reallocarray(NULL, hp.n_chunks ? hp.n_chunks : 1, AUD_HASH);
    hp.first_bad = dbg_reallocarray(NULL, hp.n_chunks ? hp.n_chunks : 1, sizeof(uint64_t));
    hp.tc = dbg_calloc(hp.n_chunks ? hp.n_chunks : 1, sizeof(*hp.tc));
    if (!o->leaves || !hp.roots || !hp.first_bad || !hp.tc || aud_tc_init(&tc, hp.p0) < 0)
        goto out;
    atomic_init(&hp.tc_failed, 0);
    atomic_init(&hp.next, 0);
    atomic_init(&hp.next_cp, 0);
    hp.pub = o->pub;
    hash_records(&hp);
    if (atomic_load(&hp.tc_failed)) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory reading the records' tenants");
        goto out;
    }

    for (size_t si = 0; si < o->n_names && res->ok; si++) {
        const char *name = o->names[si];
        seg_scan *g = &sc.segs[si];
        if (g->state == SEG_MAP_FAILED) {
            DBG_AUTOFREE char *path = dbg_path_join(dir, name);
            uint8_t *d = NULL;
            size_t dl = 0;
            /* it maps now: a race; say so */
            if (path && map_listed(dir, name, g->fd, SIZE_MAX, &d, &dl) == 0) {
                aud_unmap_file(d, dl);
                dbg_err_set(DBG_ERR_IO, "%s changed while being verified", path);
            }
            goto out;
        }
        if (g->state != SEG_SCANNED)
            break; /* not reached: the scan ends where the walk must end */
        res->bytes += g->size;
        uint64_t first = aud_name_first_seq(name);
        int stopped = g->stopped;
        size_t stop_off = g->stop_off;
        const char *why = g->why;
        pos.ended = 0;
        if (si > 0 && first != pos.expected)
            problem(res, (int64_t)pos.expected,
                    "%s: segment starts at seq %llu, expected %llu (segment missing?)", name,
                    (unsigned long long)first, (unsigned long long)pos.expected);
        uint64_t ri = g->rec_lo;
        size_t mi = g->mark_lo;
        while (res->ok && (ri < g->rec_hi || mi < g->mark_hi)) {
            if (ri < g->rec_hi && (mi >= g->mark_hi || o->locs[ri].offset < sc.marks[mi].offset)) {
                uint64_t rj = mi < g->mark_hi ? sc.marks[mi].rec_before : g->rec_hi;
                int r = walk_records(o, &hp, name, g, ri, rj, &pos, res, &stop_off);
                if (r == 2) {
                    stopped = 1;
                    why = AUD_FRAME_CRC_WHY;
                    break;
                }
                ri = rj;
                continue;
            }
            frame_mark *m = &sc.marks[mi++];
            size_t off = (size_t)m->offset;
            const uint8_t *payload = g->data + off + AUD_FRAME_HDR;
            if (!aud_frame_crc_ok(payload, m->len)) {
                stopped = 1;
                stop_off = off;
                why = AUD_FRAME_CRC_WHY;
                break;
            }
            if (pos.ended) {
                problem(res, (int64_t)pos.expected,
                        "%s offset %zu: data after the segment's end marker", name, off);
                break;
            }
            if (off == 0) {
                aud_sth s;
                aud_frontier hf;
                if (m->type != AUD_FRAME_SEGMENT ||
                    aud_checkpoint_parse(payload, m->len, name, &s, &hf) < 0) {
                    problem(res, (int64_t)pos.expected, "%s: no valid segment header", name);
                    break;
                }
                uint8_t root[AUD_HASH];
                aud_frontier_root(&hf, &h, root);
                if (s.size != first || memcmp(root, s.root, AUD_HASH) ||
                    !aud_sth_verify(&s, o->pub)) {
                    problem(res, (int64_t)pos.expected,
                            "%s: segment header's tree head does not verify", name);
                    break;
                }
                /* a signed head like any checkpoint's: a log with no checkpoint after its last
                 * header (empty, or all pruned) has head.json naming this one */
                if (grow((void **)&heads, &cap_heads, n_heads + 1, sizeof(*heads)) < 0)
                    goto out;
                heads[n_heads].size = s.size;
                memcpy(heads[n_heads++].root, s.root, AUD_HASH);
                if (si == 0) {
                    /* who the prune took away: the tenants' last records before this segment */
                    int st;
                    json_t *ht = aud_header_tenants(payload, m->len, &st);
                    char bad[200];
                    int lr = aud_tc_load_header(&tc, ht, st, bad, sizeof(bad));
                    json_decref(ht);
                    if (lr < 0)
                        goto out;
                    if (lr > 0) {
                        /* not signed, but evidence: no writer writes it (audit.md) */
                        problem(res, (int64_t)first,
                                "%s: segment header's tenants table cannot be right: %s; no writer "
                                "writes that, so the header was edited",
                                name, bad);
                        break;
                    }
                    wt.fr = hf;
                    pos.expected = first;
                    o->pruned_frontier = hf;
                    res->pruned = first;
                    last = s;
                    have_last = 1;
                    good_size = first;
                    res->checkpoints++;
                    continue;
                }
                aud_frontier cur;
                tree_frontier_at(&wt, pos.expected, &cur);
                if (!have_last || !aud_same_sth(&s, &last) || hf.count != cur.count ||
                    memcmp(hf.hash, cur.hash, sizeof(cur.hash[0]) * (size_t)cur.count) != 0) {
                    problem(res, (int64_t)good_size,
                            "%s: segment header does not continue the previous segment", name);
                    break;
                }
                /* its tenants table, against the records before it: a prune would make it the
                 * one trusted for who was pruned away */
                int tr = walk_tenants(&hp, &tc, &linked, first - o->pruned_frontier.size, res);
                if (tr < 0)
                    goto out;
                if (tr > 0)
                    break;
                int st;
                json_t *ht = aud_header_tenants(payload, m->len, &st);
                char table_why[700];
                tr = aud_tc_check_table(&tc, ht, st, first, table_why, sizeof(table_why));
                json_decref(ht);
                if (tr > 0) {
                    problem(res, (int64_t)first, "%s: %s", name, table_why);
                    break;
                }
            } else if (m->type == AUD_FRAME_CHECKPOINT) {
                aud_sth s = m->sth;
                if (m->parsed != 1 && aud_checkpoint_parse(payload, m->len, name, &s, NULL) < 0) {
                    problem(res, (int64_t)good_size, "%s offset %zu: unreadable checkpoint: %s",
                            name, off, dbg_err_msg());
                    break;
                }
                if (s.size != pos.expected) {
                    problem(res, (int64_t)good_size,
                            "%s offset %zu: checkpoint after seq %lld claims tree size %llu (stale "
                            "or moved tree head)",
                            name, off, (long long)pos.expected - 1, (unsigned long long)s.size);
                    break;
                }
                uint8_t root[AUD_HASH], prev[AUD_HASH];
                tree_root_at(&wt, pos.expected, m, root);
                if (memcmp(root, s.root, AUD_HASH) != 0) {
                    /* The tree says "something in [good_size, size) changed"; the index, if it
                     * was built before the change, says which record. */
                    uint64_t p0 = o->pruned_frontier.size;
                    int64_t which =
                        good_size >= p0
                            ? aud_index_first_leaf_mismatch(dir, good_size, s.size,
                                                            (const uint8_t(*)[AUD_HASH])o->leaves +
                                                                (good_size - p0))
                            : -1;
                    if (which >= 0)
                        problem(res, which,
                                "%s offset %zu: checkpoint at size %llu: root does not match the "
                                "records; record %lld differs from the leaf hash the index took "
                                "when it was indexed (altered since)",
                                name, off, (unsigned long long)s.size, (long long)which);
                    else
                        problem(res, (int64_t)good_size,
                                "%s offset %zu: checkpoint at size %llu: root does not match the "
                                "records",
                                name, off, (unsigned long long)s.size);
                    break;
                }
                if (m->parsed == 1 ? !m->sig_ok : !aud_sth_verify(&s, o->pub)) {
                    problem(res, (int64_t)good_size,
                            "%s offset %zu: checkpoint at size %llu: bad signature", name, off,
                            (unsigned long long)s.size);
                    break;
                }
                if (have_last) {
                    if (aud_sth_digest(&h, &last, prev) < 0)
                        goto out;
                    if (memcmp(prev, s.prev, AUD_HASH) != 0) {
                        problem(res, (int64_t)good_size,
                                "%s offset %zu: checkpoint at size %llu does not chain to the "
                                "previous tree head "
                                "(a tree head was removed or replaced)",
                                name, off, (unsigned long long)s.size);
                        break;
                    }
                }
                /* the records it vouches for link up, and its tenant heads are theirs */
                int tr = walk_tenants(&hp, &tc, &linked, s.size - o->pruned_frontier.size, res);
                if (tr < 0)
                    goto out;
                if (tr > 0)
                    break;
                char head_why[512];
                if ((tr = aud_tc_check_head(&tc, &s, head_why, sizeof(head_why))) < 0)
                    goto out;
                if (tr > 0) {
                    problem(res, (int64_t)good_size, "%s offset %zu: %s", name, off, head_why);
                    break;
                }
                if (grow((void **)&heads, &cap_heads, n_heads + 1, sizeof(*heads)) < 0)
                    goto out;
                heads[n_heads].size = s.size;
                memcpy(heads[n_heads++].root, s.root, AUD_HASH);
                last = s;
                have_last = 1;
                good_size = s.size;
                pos.since_sth = 0;
                res->checkpoints++;
            } else if (m->type == AUD_FRAME_NEXT) {
                DBG_AUTOFREE char *want = aud_segment_name(pos.expected);
                if (!want || !memmem(payload, m->len, want, strlen(want))) {
                    problem(res, (int64_t)pos.expected,
                            "%s: end marker names the wrong next segment", name);
                    break;
                }
                if (si + 1 >= o->n_names || strcmp(o->names[si + 1], want) != 0) {
                    problem(res, (int64_t)pos.expected,
                            "segment %s is missing: records from seq %llu are gone", want,
                            (unsigned long long)pos.expected);
                    break;
                }
                pos.ended = 1;
            } else {
                problem(res, (int64_t)pos.expected, "%s offset %zu: unexpected frame", name, off);
                break;
            }
        }
        if (res->ok && stopped) {
            /* A write cut short leaves nothing after it: frames whose headers the scan read
             * past the bad one say the log was altered or damaged where it stands, which
             * "torn or truncated tail" hid. */
            uint64_t after = 0;
            for (uint64_t k = g->rec_lo; k < g->rec_hi; k++)
                after += o->locs[k].offset - AUD_FRAME_HDR > stop_off;
            for (size_t k = g->mark_lo; k < g->mark_hi; k++)
                after += sc.marks[k].offset > stop_off;
            char tail[160] = "";
            if (after)
                snprintf(tail, sizeof(tail),
                         "; %llu frame(s) follow it, so it is not a torn tail: the segment was "
                         "altered or damaged there",
                         (unsigned long long)after);
            else if (si + 1 == o->n_names)
                snprintf(tail, sizeof(tail), "; torn or truncated tail");
            problem(res, (int64_t)pos.expected,
                    "%s offset %zu: %s (first record not readable: seq %llu)%s", name, stop_off,
                    why, (unsigned long long)pos.expected, tail);
        }
        if (res->ok && !pos.ended && si + 1 < o->n_names)
            problem(res, (int64_t)pos.expected, "%s: ends without an end marker but %s follows",
                    name, o->names[si + 1]);
    }
    /* records after the last head: not vouched for, but linked as any */
    if (res->ok && walk_tenants(&hp, &tc, &linked, pos.expected - o->pruned_frontier.size, res) < 0)
        goto out;
    aud_tc_report(&tc, res);
    o->n = pos.expected - o->pruned_frontier.size;
    o->last_sth = last;
    o->have_sth = have_last;
    res->unsealed = pos.since_sth;
    res->head_size = last.size;
    dbg_hex_encode(last.root, AUD_HASH, res->head);
    if (res->ok)
        aud_check_head_file(ls->head_text, ls->head_len, ls->head_why, o->pub,
                            o->pruned_frontier.size, heads, n_heads, pos.expected, res);
    rc = 0;
out:
    /* the mappings stay with o: reading records afterwards (index check, proofs, exports) needs
     * no system call per record */
    if (sc.segs && (o->maps = dbg_calloc(o->n_names, sizeof(*o->maps))) &&
        (o->map_lens = dbg_calloc(o->n_names, sizeof(*o->map_lens)))) {
        for (size_t i = 0; i < sc.n_segs && i < o->n_names; i++) {
            o->maps[i] = sc.segs[i].data;
            o->map_lens[i] = sc.segs[i].size;
            sc.segs[i].data = NULL;
            sc.segs[i].size = 0;
        }
    }
    free(heads);
    free(hp.roots);
    free(hp.first_bad);
    for (uint64_t c = 0; hp.tc && c < hp.n_chunks; c++)
        aud_tc_range_free(&hp.tc[c]);
    free(hp.tc);
    aud_tc_free(&tc);
    log_scan_free(&sc);
    aud_hasher_free(&h);
    return rc;
}

static int walk(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
                aud_walk_out *o, int take_lock)
{
    aud_walk_listing ls;
    int r = aud_walk_list(dir, pubkey_path, take_lock, res, o, &ls);
    if (r == 0)
        r = aud_walk_listed(dir, &ls, res, o);
    aud_walk_listing_free(&ls);
    return r;
}

int aud_walk(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
             aud_walk_out *o)
{
    return walk(dir, pubkey_path, res, o, 1);
}

/* A shared lock of its own would wait for the caller's exclusive one for ever. */
int aud_walk_locked(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
                    aud_walk_out *o)
{
    return walk(dir, pubkey_path, res, o, 0);
}

int aud_record_view(const aud_walk_out *o, uint64_t seq, const uint8_t **data, size_t *len)
{
    if (seq < o->pruned_frontier.size || seq - o->pruned_frontier.size >= o->n)
        return -1;
    const aud_loc *l = &o->locs[seq - o->pruned_frontier.size];
    if (!o->maps || l->segment >= o->n_names || !o->maps[l->segment] ||
        l->offset + l->len > o->map_lens[l->segment])
        return -1;
    *data = o->maps[l->segment] + l->offset;
    *len = l->len;
    return 0;
}

int aud_read_record(const char *dir, aud_walk_out *o, uint64_t seq, char **data, size_t *len)
{
    const uint8_t *view;
    size_t vlen;
    if (aud_record_view(o, seq, &view, &vlen) == 0) {
        char *buf = dbg_malloc(vlen + 1);
        if (!buf)
            return -1;
        memcpy(buf, view, vlen);
        buf[vlen] = '\0';
        *data = buf;
        *len = vlen;
        return 0;
    }
    if (seq < o->pruned_frontier.size || seq - o->pruned_frontier.size >= o->n) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no record with seq %llu in %s", (unsigned long long)seq,
                    dir);
        return -1;
    }
    const aud_loc *l = &o->locs[seq - o->pruned_frontier.size];
    if (!o->cached || o->cached_segment != l->segment) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, o->names[l->segment]);
        if (!path)
            return -1;
        if (o->cached)
            fclose(o->cached);
        o->cached = fopen(path, "re");
        if (!o->cached) {
            dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
            return -1;
        }
        o->cached_segment = l->segment;
    }
    char *buf = dbg_malloc(l->len + 1);
    if (!buf || fseeko(o->cached, (off_t)l->offset, SEEK_SET) != 0 ||
        fread(buf, 1, l->len, o->cached) != l->len) {
        if (buf)
            dbg_err_set(DBG_ERR_IO, "cannot read seq %llu from %s", (unsigned long long)seq,
                        o->names[l->segment]);
        free(buf);
        return -1;
    }
    buf[l->len] = '\0';
    *data = buf;
    *len = l->len;
    return 0;
}

int dbg_audit_verify(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res)
{
    if (aud_verify_fast(dir, pubkey_path, 0, res) == 1)
        return 0;
    aud_walk_out o;
    int r = aud_walk(dir, pubkey_path, res, &o);
    if (r == 0 && res->ok)
        r = aud_index_check(dir, &o, res);
    aud_walk_out_free(&o);
    return r;
}
