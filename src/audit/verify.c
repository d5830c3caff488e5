/* Verification of a whole log directory: every frame's checksum, every record in its place
 * (seq = position, so deletions and reorderings show), the Merkle tree, every signed tree head
 * (signature, root, chain to the previous head), segment continuity, head.json, and the index.
 * The same walk gives proofs and exports the leaves and record locations they need. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit/audit_int.h"

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
    memset(o, 0, sizeof(*o));
}

/* Seq of a stored record: the last ,"seq": (only escaped strings follow it in canonical form). */
static int record_seq(const uint8_t *p, size_t len, uint64_t *seq)
{
    static const char pat[] = ",\"seq\":";
    const size_t pl = sizeof(pat) - 1;
    if (len < pl + 1)
        return -1;
    size_t lim = len - pl;
    for (;;) {
        const uint8_t *c = memrchr(p, ',', lim);
        if (!c)
            return -1;
        size_t i = (size_t)(c - p);
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

typedef struct {
    uint64_t size;
    uint8_t root[AUD_HASH];
} seen_head;

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 1024;
    while (nc < need)
        nc *= 2;
    void *np = dbg_reallocarray(*p, nc, elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

static int same_sth(const aud_sth *a, const aud_sth *b)
{
    return a->size == b->size && a->time_us == b->time_us && !memcmp(a->root, b->root, AUD_HASH) &&
           !memcmp(a->prev, b->prev, AUD_HASH) && !strcmp(a->key_id, b->key_id) &&
           !memcmp(a->sig, b->sig, 64);
}

typedef struct {
    const aud_frame *frames;
    size_t lo, hi;     /* frame index range */
    size_t first_leaf; /* index in out of the first record frame in the range */
    uint8_t (*out)[AUD_HASH];
    int64_t *seqs; /* each record's own seq, -1 when unreadable */
} leaf_job;

static void *leaf_worker(void *arg)
{
    leaf_job *j = arg;
    size_t k = j->first_leaf;
    for (size_t i = j->lo; i < j->hi; i++)
        if (j->frames[i].type == AUD_FRAME_RECORD) {
            uint64_t seq;
            j->seqs[k] =
                record_seq(j->frames[i].payload, j->frames[i].len, &seq) == 0 ? (int64_t)seq : -1;
            aud_leaf_hash(NULL, j->frames[i].payload, j->frames[i].len, j->out[k++]);
        }
    return NULL;
}

/* Leaf hashes of the record frames, in order, split over up to 4 threads for big segments. */
static int hash_leaves_parallel(const aud_frame *frames, size_t nf, uint8_t (*out)[AUD_HASH],
                                int64_t *seqs)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nt = cores > 4 ? 4 : cores < 1 ? 1 : (int)cores;
    if (nf < 4096)
        nt = 1;
    leaf_job jobs[4];
    pthread_t th[4];
    size_t leaf = 0;
    for (int t = 0; t < nt; t++) {
        jobs[t] = (leaf_job){
            frames, nf * (size_t)t / (size_t)nt, nf * (size_t)(t + 1) / (size_t)nt, leaf, out,
            seqs};
        for (size_t i = jobs[t].lo; i < jobs[t].hi; i++)
            leaf += frames[i].type == AUD_FRAME_RECORD;
    }
    int started = 0;
    for (int t = 1; t < nt; t++) {
        if (pthread_create(&th[t], NULL, leaf_worker, &jobs[t]) != 0)
            break;
        started = t;
    }
    leaf_worker(&jobs[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    for (int t = started + 1; t < nt; t++) /* threads that could not start: do their part here */
        leaf_worker(&jobs[t]);
    return 0;
}

static uint64_t name_first_seq(const char *name)
{
    return strtoull(name + 4, NULL, 10);
}

/* head.json is read before the segments: a writer syncs records before it writes the head, so
 * the segments read afterwards hold at least what the head vouches for. */
static char *read_head_text(const char *dir, size_t *len, char *why, size_t why_size)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_HEAD_FILE);
    char *text = NULL;
    if (!path || dbg_read_file(path, 1 << 20, &text, len) < 0) {
        snprintf(why, why_size, "%s", dbg_err_msg());
        return NULL;
    }
    return text;
}

/* 1 when a process holds the log open for writing (its flock on the lock file). */
static int writer_active(const char *dir)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_LOCK_FILE);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0)
        return 0;
    int busy = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

static void check_head_file(char *text, size_t len, const char *why, aud_walk_out *o,
                            const seen_head *heads, size_t n_heads, uint64_t records,
                            dbg_audit_verify_result *res)
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
    if (!aud_sth_verify(&h, o->pub)) {
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
    if (h.size >= o->pruned_frontier.size)
        problem(res, (int64_t)h.size, "head.json (size %llu) matches no tree head in the log",
                (unsigned long long)h.size);
}

int aud_walk(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
             aud_walk_out *o)
{
    memset(res, 0, sizeof(*res));
    memset(o, 0, sizeof(*o));
    res->ok = 1;
    res->first_bad_seq = -1;
    if (!dbg_path_is_dir(dir)) {
        dbg_err_set(DBG_ERR_NOTFOUND, "no audit log at %s", dir);
        return -1;
    }
    DBG_AUTOFREE char *own_pub = dbg_path_join(dir, AUD_PUB_FILE);
    if (!own_pub || !(o->pub = aud_key_load_public(pubkey_path ? pubkey_path : own_pub)))
        return -1;
    char head_why[512] = "";
    size_t head_len = 0;
    int live = writer_active(dir);
    DBG_AUTOFREE char *head_text = read_head_text(dir, &head_len, head_why, sizeof(head_why));
    if (aud_list_segments(dir, &o->names, &o->n_names) < 0)
        return -1;
    if (o->n_names == 0) {
        problem(res, 0, "no segment files in %s", dir);
        return 0;
    }
    aud_hasher h;
    if (aud_hasher_init(&h) < 0)
        return -1;
    int rc = -1;
    size_t cap_leaves = 0, cap_locs = 0, cap_heads = 0, n_heads = 0;
    seen_head *heads = NULL;
    aud_frontier fr;
    aud_frontier_init(&fr);
    uint64_t expected = 0, since_sth = 0;
    aud_sth last;
    memset(&last, 0, sizeof(last));
    int have_last = 0;
    int verified_last = 0;  /* last is a head whose signature and root held */
    uint64_t good_size = 0; /* size of the last head that verified */

    for (size_t si = 0; si < o->n_names && res->ok; si++) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, o->names[si]);
        uint8_t *data = NULL;
        size_t size = 0;
        if (!path || aud_map_file(path, &data, &size) < 0)
            goto out;
        res->bytes += size;
        uint64_t first = name_first_seq(o->names[si]);
        size_t off = 0;
        aud_frame f;
        const char *why = NULL;
        int got = 0, ended = 0;
        if (si > 0 && first != expected)
            problem(res, (int64_t)expected,
                    "%s: segment starts at seq %llu, expected %llu (segment missing?)",
                    o->names[si], (unsigned long long)first, (unsigned long long)expected);
        /* Frame scan first, then the leaf hashes of this segment on all cores, then the checks in
         * order (they need the leaves one after another). */
        aud_frame *frames = NULL;
        size_t nf = 0, capf = 0, nrec = 0, ri = 0;
        size_t scan_off = 0;
        while ((got = aud_frame_next(data, size, scan_off, &f, &why)) == 1) {
            if (grow((void **)&frames, &capf, nf + 1, sizeof(*frames)) < 0) {
                free(frames);
                aud_unmap_file(data, size);
                goto out;
            }
            frames[nf++] = f;
            nrec += f.type == AUD_FRAME_RECORD;
            scan_off += AUD_FRAME_HDR + f.len;
        }
        uint8_t(*seg_leaves)[AUD_HASH] = dbg_calloc(nrec ? nrec : 1, AUD_HASH);
        int64_t *seg_seqs = dbg_calloc(nrec ? nrec : 1, sizeof(int64_t));
        if (!seg_leaves || !seg_seqs ||
            hash_leaves_parallel(frames, nf, seg_leaves, seg_seqs) < 0) {
            free(seg_leaves);
            free(seg_seqs);
            free(frames);
            aud_unmap_file(data, size);
            goto out;
        }
        for (size_t fi = 0; res->ok && fi < nf; fi++) {
            f = frames[fi];
            off = (size_t)f.offset;
            if (ended) {
                problem(res, (int64_t)expected,
                        "%s offset %zu: data after the segment's end marker", o->names[si], off);
                break;
            }
            if (off == 0) {
                aud_sth s;
                aud_frontier hf;
                if (f.type != AUD_FRAME_SEGMENT ||
                    aud_checkpoint_parse(f.payload, f.len, o->names[si], &s, &hf) < 0) {
                    problem(res, (int64_t)expected, "%s: no valid segment header", o->names[si]);
                    break;
                }
                uint8_t root[AUD_HASH];
                aud_frontier_root(&hf, &h, root);
                if (s.size != first || memcmp(root, s.root, AUD_HASH) ||
                    !aud_sth_verify(&s, o->pub)) {
                    problem(res, (int64_t)expected,
                            "%s: segment header's tree head does not verify", o->names[si]);
                    break;
                }
                if (si == 0) {
                    fr = hf;
                    expected = first;
                    o->pruned_frontier = hf;
                    res->pruned = first;
                    last = s;
                    have_last = verified_last = 1;
                    good_size = first;
                    res->checkpoints++;
                } else if (!have_last || !same_sth(&s, &last) || hf.count != fr.count ||
                           memcmp(hf.hash, fr.hash, sizeof(fr.hash[0]) * (size_t)fr.count) != 0) {
                    problem(res, (int64_t)good_size,
                            "%s: segment header does not continue the previous segment",
                            o->names[si]);
                    break;
                }
            } else if (f.type == AUD_FRAME_RECORD) {
                uint64_t seq = (uint64_t)seg_seqs[ri];
                if (seg_seqs[ri] < 0) {
                    problem(res, (int64_t)expected,
                            "%s offset %zu: record without a readable seq (expected seq %llu)",
                            o->names[si], off, (unsigned long long)expected);
                    break;
                }
                if (seq != expected) {
                    if (seq > expected)
                        problem(res, (int64_t)expected,
                                "%s offset %zu: found seq %llu where seq %llu belongs: record(s) "
                                "%llu..%llu missing",
                                o->names[si], off, (unsigned long long)seq,
                                (unsigned long long)expected, (unsigned long long)expected,
                                (unsigned long long)seq - 1);
                    else
                        problem(res, (int64_t)expected,
                                "%s offset %zu: found seq %llu where seq %llu belongs: records out "
                                "of order",
                                o->names[si], off, (unsigned long long)seq,
                                (unsigned long long)expected);
                    break;
                }
                uint64_t idx = expected - o->pruned_frontier.size;
                if (grow((void **)&o->leaves, &cap_leaves, idx + 1, AUD_HASH) < 0 ||
                    grow((void **)&o->locs, &cap_locs, idx + 1, sizeof(aud_loc)) < 0) {
                    aud_unmap_file(data, size);
                    goto out;
                }
                memcpy(o->leaves[idx], seg_leaves[ri++], AUD_HASH);
                aud_frontier_add(&fr, &h, o->leaves[idx]);
                o->locs[idx].segment = (uint32_t)si;
                o->locs[idx].offset = off + AUD_FRAME_HDR;
                o->locs[idx].len = f.len;
                expected++;
                since_sth++;
                res->records++;
            } else if (f.type == AUD_FRAME_CHECKPOINT) {
                aud_sth s;
                if (aud_checkpoint_parse(f.payload, f.len, o->names[si], &s, NULL) < 0) {
                    problem(res, (int64_t)good_size, "%s offset %zu: unreadable checkpoint: %s",
                            o->names[si], off, dbg_err_msg());
                    break;
                }
                uint8_t root[AUD_HASH], prev[AUD_HASH];
                aud_frontier_root(&fr, &h, root);
                if (s.size != expected) {
                    problem(res, (int64_t)good_size,
                            "%s offset %zu: checkpoint after seq %lld claims tree size %llu (stale "
                            "or moved tree head)",
                            o->names[si], off, (long long)expected - 1, (unsigned long long)s.size);
                    break;
                }
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
                                o->names[si], off, (unsigned long long)s.size, (long long)which);
                    else
                        problem(res, (int64_t)good_size,
                                "%s offset %zu: checkpoint at size %llu: root does not match the "
                                "records",
                                o->names[si], off, (unsigned long long)s.size);
                    break;
                }
                if (!aud_sth_verify(&s, o->pub)) {
                    problem(res, (int64_t)good_size,
                            "%s offset %zu: checkpoint at size %llu: bad signature", o->names[si],
                            off, (unsigned long long)s.size);
                    break;
                }
                if (have_last) {
                    if (aud_sth_digest(&h, &last, prev) < 0) {
                        aud_unmap_file(data, size);
                        goto out;
                    }
                    if (memcmp(prev, s.prev, AUD_HASH) != 0) {
                        problem(res, (int64_t)good_size,
                                "%s offset %zu: checkpoint at size %llu does not chain to the "
                                "previous tree head "
                                "(a tree head was removed or replaced)",
                                o->names[si], off, (unsigned long long)s.size);
                        break;
                    }
                }
                if (grow((void **)&heads, &cap_heads, n_heads + 1, sizeof(*heads)) < 0) {
                    aud_unmap_file(data, size);
                    goto out;
                }
                heads[n_heads].size = s.size;
                memcpy(heads[n_heads++].root, s.root, AUD_HASH);
                last = s;
                have_last = verified_last = 1;
                good_size = s.size;
                since_sth = 0;
                res->checkpoints++;
            } else if (f.type == AUD_FRAME_NEXT) {
                DBG_AUTOFREE char *want = aud_segment_name(expected);
                if (!want || !memmem(f.payload, f.len, want, strlen(want))) {
                    problem(res, (int64_t)expected, "%s: end marker names the wrong next segment",
                            o->names[si]);
                    break;
                }
                if (si + 1 >= o->n_names || strcmp(o->names[si + 1], want) != 0) {
                    problem(res, (int64_t)expected,
                            "segment %s is missing: records from seq %llu are gone", want,
                            (unsigned long long)expected);
                    break;
                }
                ended = 1;
            } else {
                problem(res, (int64_t)expected, "%s offset %zu: unexpected frame", o->names[si],
                        off);
                break;
            }
        }
        off = scan_off;
        free(seg_leaves);
        free(seg_seqs);
        free(frames);
        if (res->ok && got < 0 && live && si + 1 == o->n_names)
            got = 0; /* a live writer is in the middle of a write: stop at the last whole frame */
        if (res->ok && got < 0)
            problem(res, (int64_t)expected,
                    "%s offset %zu: %s (first record not readable: seq %llu)%s", o->names[si], off,
                    why, (unsigned long long)expected,
                    si + 1 == o->n_names ? "; torn or truncated tail" : "");
        if (res->ok && !ended && si + 1 < o->n_names)
            problem(res, (int64_t)expected, "%s: ends without an end marker but %s follows",
                    o->names[si], o->names[si + 1]);
        aud_unmap_file(data, size);
    }
    (void)verified_last;
    o->n = expected - o->pruned_frontier.size;
    o->last_sth = last;
    o->have_sth = have_last;
    res->unsealed = since_sth;
    res->head_size = last.size;
    dbg_hex_encode(last.root, AUD_HASH, res->head);
    if (res->ok)
        check_head_file(head_text, head_len, head_why, o, heads, n_heads, expected, res);
    rc = 0;
out:
    free(heads);
    aud_hasher_free(&h);
    return rc;
}

int aud_read_record(const char *dir, aud_walk_out *o, uint64_t seq, char **data, size_t *len)
{
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
    aud_walk_out o;
    int r = aud_walk(dir, pubkey_path, res, &o);
    if (r == 0 && res->ok)
        r = aud_index_check(dir, &o, res);
    aud_walk_out_free(&o);
    return r;
}
