/* Streaming verification of a log without an index (the common `dengbao audit verify`).
 *
 * Why it exists: aud_walk maps the segments, and on a paravirtualized host every 4 KiB page-table
 * entry of a mapping costs more than copying the page does; the walk also keeps every leaf for the
 * index check, proofs and exports, which plain verification does not need. Here each segment is
 * cut into pieces, and the cores read pieces into reused buffers and check them: each frame's
 * CRC, records' seqs (consecutive within the piece), leaf hashes, checkpoints' signatures, and
 * the piece's records as aligned subtrees (so every node of the tree is hashed exactly once).
 * Then one core checks, in log order, what needs order: each piece starts where the frames of the
 * one before it ended (a piece finds its first frame by itself, so this is what makes its
 * boundaries trustworthy), seqs continue, every checkpoint's size, root and chain, segment
 * headers and end markers, and head.json.
 *
 * It only ever says "all verified". At anything unexpected it gives up, and aud_walk checks the
 * log again and words the first problem; so what verify reports never depends on this file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/verify_int.h"

#define FAST_PIECE ((size_t)1 << 20) /* fits in a core's L2 with room for the hashing */
#define NONE UINT64_MAX
#define MAX_BLOCKS (2 * AUD_MAX_FRONTIER + 2)
#define NEXT_MAX 256 /* an end marker names the next segment file: a few dozen bytes */

/* Leaves [start, start + 2^level), start a multiple of 2^level. */
typedef struct {
    uint64_t start;
    unsigned level;
    uint8_t hash[AUD_HASH];
} blk;

typedef struct {
    blk v[MAX_BLOCKS];
    int n;
} blk_stack;

typedef struct {
    uint64_t k; /* records of its piece before it */
    aud_sth sth;
    uint8_t digest[AUD_HASH]; /* what the next head's prev must be */
    blk *blks;                /* the piece's records before it, as aligned blocks */
    int n_blks;
} fast_cp;

typedef struct {
    uint32_t seg;
    uint64_t a, b; /* the frames starting in [a, b) of the segment are this piece's */
    int bad;
    uint64_t first, end; /* first frame's offset (NONE: no frame starts here), end of the last */
    uint64_t x0, n_recs; /* seq of the first record, records */
    blk *blks;           /* all its records as aligned blocks */
    int n_blks;
    fast_cp *cps;
    size_t n_cps, cap_cps;
    int has_next;    /* the segment's end marker is its last frame */
    aud_tc_range tc; /* its records' tenants and tenant_prev */
} fast_piece;

typedef struct {
    int fd;
    uint64_t size, first;
    int has_hdr; /* its header frame parsed, its frontier's root and its signature hold */
    aud_sth hdr;
    aud_frontier hdr_fr;
    uint8_t next_payload[NEXT_MAX]; /* its end marker's, from the piece that has it */
    uint32_t next_len;
} fast_seg;

typedef struct {
    char **names;
    size_t n_segs;
    fast_seg *segs;
    fast_piece *pieces;
    size_t n_pieces, piece;
    EVP_PKEY *pub;
    atomic_size_t next;
} fast_ctx;

/* A window of one segment: buf holds the file's bytes [base, base + have). */
typedef struct {
    uint8_t *buf;
    size_t cap;
    int fd;
    uint64_t size, base, have;
} reader;

/* Makes [base, end) readable. -1 when end is past the file (or the file shrank). */
static int ensure(reader *r, uint64_t end)
{
    if (end <= r->base + r->have)
        return 0;
    if (end > r->size || end - r->base > r->cap)
        return -1;
    uint64_t want = end + 4096 < r->size ? end + 4096 : r->size;
    if (want - r->base > r->cap)
        want = r->base + r->cap;
    while (r->base + r->have < want) {
        ssize_t n =
            pread(r->fd, r->buf + r->have, want - r->base - r->have, (off_t)(r->base + r->have));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        r->have += (uint64_t)n;
    }
    return 0;
}

/* Reads the whole frame at off into the buffer and checks its header (not its CRC): 1 and f set,
 * 0 when no frame can start at off, -1 when not even a header fits before the end of the file. */
static int frame_at(reader *r, uint64_t off, aud_frame *f)
{
    const char *why;
    if (ensure(r, off + AUD_FRAME_HDR) < 0)
        return -1;
    uint32_t len = aud_frame_len(r->buf + (off - r->base));
    if (len <= AUD_MAX_FRAME && ensure(r, off + AUD_FRAME_HDR + len) < 0)
        return 0;
    return aud_frame_peek(r->buf, r->have, off - r->base, f, &why) == 1;
}

/* The first offset in [a, b) where a whole frame with a valid CRC starts, or NONE. Record and
 * checkpoint payloads are JSON text, which has no 0x00 or 0x01 bytes, so the header checks rule
 * out nearly every other place before a CRC is computed. */
static uint64_t resync(reader *r, uint64_t a, uint64_t b)
{
    aud_frame f;
    for (uint64_t q = a; q < b; q++) {
        int got = frame_at(r, q, &f);
        if (got < 0)
            return NONE;
        if (got == 1 && aud_frame_crc_ok(f.payload, f.len))
            return q;
    }
    return NONE;
}

/* Pushing leaves one by one and merging the top two blocks whenever they form an aligned block
 * keeps the stack the split of the range into the fewest aligned blocks. */
static int stack_push_leaf(blk_stack *s, uint64_t index, const uint8_t leaf[AUD_HASH])
{
    if (s->n == MAX_BLOCKS)
        return -1;
    blk *t = &s->v[s->n++];
    t->start = index;
    t->level = 0;
    memcpy(t->hash, leaf, AUD_HASH);
    while (s->n >= 2) {
        blk *l = &s->v[s->n - 2], *r = &s->v[s->n - 1];
        if (l->level != r->level || (l->start & (((uint64_t)2 << l->level) - 1)) != 0)
            break;
        aud_node_hash(NULL, l->hash, r->hash, l->hash);
        l->level++;
        s->n--;
    }
    return 0;
}

static blk *stack_copy(const blk_stack *s)
{
    blk *c = dbg_reallocarray(NULL, s->n ? (size_t)s->n : 1, sizeof(blk));
    if (c)
        memcpy(c, s->v, (size_t)s->n * sizeof(blk));
    return c;
}

/* Records waiting for their CRCs, which are computed three at a time. */
typedef struct {
    uint8_t *payload[3]; /* in the reader's buffer */
    uint32_t len[3];
    int n;
} pending;

static int flush_records(fast_piece *p, pending *w, blk_stack *st)
{
    int ok[3] = {1, 1, 1};
    if (w->n == 3)
        aud_frame_crc_ok3((const uint8_t *const *)w->payload, w->len, ok);
    else
        for (int i = 0; i < w->n; i++)
            ok[i] = aud_frame_crc_ok(w->payload[i], w->len[i]);
    for (int i = 0; i < w->n; i++) {
        uint64_t seq;
        if (!ok[i] || aud_record_seq(w->payload[i], w->len[i], &seq) < 0)
            return -1;
        if (p->n_recs == 0)
            p->x0 = seq;
        else if (seq != p->x0 + p->n_recs)
            return -1;
        if (aud_tc_range_add(&p->tc, w->payload[i], w->len[i]) < 0)
            return -1;
        uint8_t leaf[AUD_HASH];
        aud_leaf_hash_in_place(w->payload[i], w->len[i], leaf); /* over the CRC, checked above */
        if (stack_push_leaf(st, seq, leaf) < 0)
            return -1;
        p->n_recs++;
    }
    w->n = 0;
    return 0;
}

/* A frame other than a record, its CRC already checked. */
static int other_frame(fast_ctx *c, fast_piece *p, const blk_stack *st, aud_hasher *h, uint64_t off,
                       const aud_frame *f)
{
    fast_seg *g = &c->segs[p->seg];
    if (f->type == AUD_FRAME_SEGMENT) {
        uint8_t root[AUD_HASH];
        if (off != 0 ||
            aud_checkpoint_parse(f->payload, f->len, "segment", &g->hdr, &g->hdr_fr) < 0)
            return -1;
        aud_frontier_root(&g->hdr_fr, h, root);
        if (g->hdr.size != g->first || memcmp(root, g->hdr.root, AUD_HASH) != 0 ||
            !aud_sth_verify(&g->hdr, c->pub))
            return -1;
        g->has_hdr = 1;
        return 0;
    }
    if (off == 0) /* a segment starts with its header */
        return -1;
    if (f->type == AUD_FRAME_CHECKPOINT) {
        if (dbg_grow_array((void **)&p->cps, &p->cap_cps, p->n_cps + 1, sizeof(fast_cp), 16) < 0)
            return -1;
        fast_cp *cp = &p->cps[p->n_cps];
        memset(cp, 0, sizeof(*cp));
        if (aud_checkpoint_parse(f->payload, f->len, "checkpoint", &cp->sth, NULL) < 0 ||
            !aud_sth_verify(&cp->sth, c->pub) || aud_sth_digest(h, &cp->sth, cp->digest) < 0 ||
            !(cp->blks = stack_copy(st)))
            return -1;
        cp->k = p->n_recs;
        cp->n_blks = st->n;
        p->n_cps++;
        return 0;
    }
    if (f->type == AUD_FRAME_NEXT) { /* the last frame of its segment */
        if (f->len > NEXT_MAX || off + AUD_FRAME_HDR + f->len != g->size)
            return -1;
        memcpy(g->next_payload, f->payload, f->len);
        g->next_len = f->len;
        p->has_next = 1;
        return 0;
    }
    return -1;
}

static int check_piece(fast_ctx *c, fast_piece *p, reader *r, blk_stack *st, aud_hasher *h)
{
    fast_seg *g = &c->segs[p->seg];
    r->fd = g->fd;
    r->size = g->size;
    r->base = p->a;
    r->have = 0;
    st->n = 0;
    p->first = p->end = NONE;
    if (ensure(r, p->b) < 0)
        return -1;
    uint64_t off = p->a == 0 ? 0 : resync(r, p->a, p->b);
    if (off == NONE)
        return 0; /* a frame from an earlier piece covers this one; the ordered check sees that */
    p->first = off;
    pending w = {.n = 0};
    while (off < p->b) {
        aud_frame f;
        if (frame_at(r, off, &f) != 1)
            return -1;
        if (f.type == AUD_FRAME_RECORD) {
            if (off == 0)
                return -1;
            w.payload[w.n] = r->buf + (off - r->base) + AUD_FRAME_HDR;
            w.len[w.n++] = f.len;
            if (w.n == 3 && flush_records(p, &w, st) < 0)
                return -1;
        } else {
            if (flush_records(p, &w, st) < 0 || !aud_frame_crc_ok(f.payload, f.len) ||
                other_frame(c, p, st, h, off, &f) < 0)
                return -1;
        }
        off += AUD_FRAME_HDR + f.len;
    }
    if (flush_records(p, &w, st) < 0 || !(p->blks = stack_copy(st)))
        return -1;
    p->n_blks = st->n;
    p->end = off;
    return 0;
}

static void *fast_worker(void *arg)
{
    fast_ctx *c = arg;
    reader r = {.cap = c->piece + 2 * AUD_FRAME_HDR + AUD_MAX_FRAME + 4096};
    blk_stack *st = dbg_malloc(sizeof(*st));
    aud_hasher h;
    int have_h = aud_hasher_init(&h) == 0;
    r.buf = dbg_malloc(r.cap);
    size_t i;
    while ((i = atomic_fetch_add(&c->next, 1)) < c->n_pieces) {
        fast_piece *p = &c->pieces[i];
        if (!r.buf || !st || !have_h || check_piece(c, p, &r, st, &h) < 0)
            p->bad = 1;
    }
    if (have_h)
        aud_hasher_free(&h);
    free(st);
    free(r.buf);
    return NULL;
}

/* The root of fr extended by blocks (fr itself is not changed). */
static void root_with(const aud_frontier *fr, const blk *blks, int n, aud_hasher *h,
                      uint8_t out[AUD_HASH])
{
    aud_frontier t = *fr;
    for (int i = 0; i < n; i++)
        aud_frontier_add_subtree(&t, h, blks[i].hash, blks[i].level);
    aud_frontier_root(&t, h, out);
}

/* The tenants table of a segment's header, read again in the ordered check rather than kept from
 * the pieces: one table may be up to a frame (1 MiB) of JSON, and a log has many segments. -1 when
 * the header no longer reads as one (aud_walk then says why). */
static int header_tenants_now(const fast_seg *g, reader *r, json_t **tenants, int *state)
{
    if (!r->buf && !(r->buf = dbg_malloc(r->cap)))
        return -1;
    r->fd = g->fd;
    r->size = g->size;
    r->base = r->have = 0;
    aud_frame f;
    if (frame_at(r, 0, &f) != 1 || f.type != AUD_FRAME_SEGMENT ||
        !aud_frame_crc_ok(f.payload, f.len))
        return -1;
    *tenants = aud_header_tenants(f.payload, f.len, state);
    return 0;
}

/* The checks that need log order, over what the pieces found. 1 when all hold. */
static int ordered_check(fast_ctx *c, aud_hasher *h, const char *head_text, size_t head_len,
                         const char *head_why, dbg_audit_verify_result *res)
{
    aud_frontier fr;
    aud_sth last;
    uint8_t last_digest[AUD_HASH];
    uint64_t expected = 0, pruned = 0;
    aud_seen_head *heads = NULL;
    size_t n_heads = 0, cap_heads = 0, pi = 0;
    int verified = 0;
    aud_tc tc;
    char why[700];
    int64_t bad_seq;
    reader r = {.cap = 2 * AUD_FRAME_HDR + AUD_MAX_FRAME + 4096};
    if (aud_tc_init(&tc, c->segs[0].first) < 0)
        goto out;
    for (size_t si = 0; si < c->n_segs; si++) {
        fast_seg *g = &c->segs[si];
        if (!g->has_hdr)
            goto out;
        /* the first header's table is what was pruned, a later one's must be what the records
         * before it say; one that cannot be right fails (aud_walk words it) */
        json_t *table = NULL;
        int state, bad_table;
        if (header_tenants_now(g, &r, &table, &state) < 0)
            goto out;
        bad_table = si == 0 ? aud_tc_load_header(&tc, table, state, why, sizeof(why))
                            : aud_tc_check_table(&tc, table, state, g->first, why, sizeof(why));
        json_decref(table);
        if (bad_table != 0)
            goto out;
        if (si == 0) {
            fr = g->hdr_fr;
            expected = pruned = g->first;
            last = g->hdr;
            if (aud_sth_digest(h, &last, last_digest) < 0)
                goto out;
            res->checkpoints++;
        } else if (g->first != expected || !aud_same_sth(&g->hdr, &last) ||
                   g->hdr_fr.count != fr.count ||
                   memcmp(g->hdr_fr.hash, fr.hash, sizeof(fr.hash[0]) * (size_t)fr.count) != 0) {
            goto out;
        }
        /* its signed head counts for head.json like a checkpoint's (see aud_walk) */
        if (dbg_grow_array((void **)&heads, &cap_heads, n_heads + 1, sizeof(*heads), 1024) < 0)
            goto out;
        heads[n_heads].size = g->hdr.size;
        memcpy(heads[n_heads++].root, g->hdr.root, AUD_HASH);
        uint64_t cursor = 0;
        int ended = 0;
        for (; pi < c->n_pieces && c->pieces[pi].seg == si; pi++) {
            fast_piece *p = &c->pieces[pi];
            if (p->bad)
                goto out;
            if (p->first == NONE) {
                if (cursor < p->b)
                    goto out;
                continue;
            }
            if (p->first != cursor || ended || (p->n_recs && p->x0 != expected))
                goto out;
            cursor = p->end;
            size_t linked = 0; /* the piece's records whose tenant chain is checked */
            for (size_t k = 0; k < p->n_cps; k++) {
                const fast_cp *cp = &p->cps[k];
                uint8_t root[AUD_HASH];
                if (cp->sth.size != expected + cp->k)
                    goto out;
                root_with(&fr, cp->blks, cp->n_blks, h, root);
                if (memcmp(root, cp->sth.root, AUD_HASH) != 0 ||
                    memcmp(cp->sth.prev, last_digest, AUD_HASH) != 0)
                    goto out;
                /* the records this head vouches for, then its tenant heads */
                if (aud_tc_apply(&tc, &p->tc, linked, cp->k, p->x0, why, sizeof(why), &bad_seq) !=
                        0 ||
                    aud_tc_check_head(&tc, &cp->sth, why, sizeof(why)) != 0)
                    goto out;
                linked = cp->k;
                if (dbg_grow_array((void **)&heads, &cap_heads, n_heads + 1, sizeof(*heads), 1024) <
                    0)
                    goto out;
                heads[n_heads].size = cp->sth.size;
                memcpy(heads[n_heads++].root, cp->sth.root, AUD_HASH);
                last = cp->sth;
                memcpy(last_digest, cp->digest, AUD_HASH);
                res->checkpoints++;
            }
            if (aud_tc_apply(&tc, &p->tc, linked, p->n_recs, p->x0, why, sizeof(why), &bad_seq) !=
                0)
                goto out;
            for (int k = 0; k < p->n_blks; k++)
                aud_frontier_add_subtree(&fr, h, p->blks[k].hash, p->blks[k].level);
            expected += p->n_recs;
            res->records += p->n_recs;
            if (p->has_next) {
                DBG_AUTOFREE char *want = aud_segment_name(expected);
                if (!want || !memmem(g->next_payload, g->next_len, want, strlen(want)) ||
                    si + 1 >= c->n_segs || strcmp(c->names[si + 1], want) != 0)
                    goto out;
                ended = 1;
            }
        }
        if (cursor != g->size || (!ended && si + 1 < c->n_segs))
            goto out;
        res->bytes += g->size;
    }
    aud_tc_report(&tc, res);
    res->pruned = pruned;
    res->unsealed = expected - last.size;
    res->head_size = last.size;
    dbg_hex_encode(last.root, AUD_HASH, res->head);
    aud_check_head_file(head_text, head_len, head_why, c->pub, pruned, heads, n_heads, expected,
                        res);
    verified = res->ok;
out:
    aud_tc_free(&tc);
    free(r.buf);
    free(heads);
    return verified;
}

static void run_pieces(fast_ctx *c)
{
    int nt = dbg_online_cores(8);
    if ((size_t)nt > c->n_pieces)
        nt = (int)c->n_pieces;
    dbg_run_on_threads(fast_worker, c, nt);
}

/* Opens the segments and cuts them into pieces. -1: give up (an empty or unreadable segment is
 * for aud_walk to report). */
static int plan(fast_ctx *c, const char *dir)
{
    if (!(c->segs = dbg_calloc(c->n_segs, sizeof(*c->segs))))
        return -1;
    for (size_t si = 0; si < c->n_segs; si++)
        c->segs[si].fd = -1;
    size_t cap = 0;
    for (size_t si = 0; si < c->n_segs; si++) {
        fast_seg *g = &c->segs[si];
        DBG_AUTOFREE char *path = dbg_path_join(dir, c->names[si]);
        struct stat stt;
        if (!path || (g->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(g->fd, &stt) < 0 ||
            stt.st_size <= 0)
            return -1;
        g->size = (uint64_t)stt.st_size;
        g->first = aud_name_first_seq(c->names[si]);
        for (uint64_t a = 0; a < g->size; a += c->piece) {
            if (dbg_grow_array((void **)&c->pieces, &cap, c->n_pieces + 1, sizeof(fast_piece), 64) <
                0)
                return -1;
            fast_piece *p = &c->pieces[c->n_pieces++];
            memset(p, 0, sizeof(*p));
            p->seg = (uint32_t)si;
            p->a = a;
            p->b = a + c->piece < g->size ? a + c->piece : g->size;
        }
    }
    return 0;
}

int aud_verify_fast(const char *dir, const char *pubkey_path, size_t piece_bytes,
                    dbg_audit_verify_result *res)
{
    aud_verify_result_init(res);
    DBG_AUTOFREE char *index = dbg_path_join(dir, AUD_INDEX_FILE);
    DBG_AUTOFREE char *own_pub = dbg_path_join(dir, AUD_PUB_FILE);
    /* the index check needs aud_walk's leaves */
    if (!index || !own_pub || access(index, F_OK) == 0)
        return 0;
    fast_ctx c;
    memset(&c, 0, sizeof(c));
    c.piece = piece_bytes ? piece_bytes : FAST_PIECE;
    atomic_init(&c.next, 0);
    int verified = 0;
    char head_why[512] = "";
    size_t head_len = 0;
    aud_hasher h;
    int have_h = 0;
    DBG_AUTOFREE char *head_text = NULL;
    if (!(c.pub = aud_key_load_public(pubkey_path ? pubkey_path : own_pub)))
        goto out;
    /* the open segments and their sizes are the state read, so they are taken under the lock */
    int lock_fd;
    if (aud_lock_shared(dir, &lock_fd) < 0)
        goto out;
    head_text = aud_read_head_text(dir, &head_len, head_why, sizeof(head_why));
    int planned =
        aud_list_segments(dir, &c.names, &c.n_segs) == 0 && c.n_segs > 0 && plan(&c, dir) == 0;
    if (lock_fd >= 0)
        close(lock_fd);
    if (!planned || aud_hasher_init(&h) < 0)
        goto out;
    have_h = 1;
    run_pieces(&c);
    verified = ordered_check(&c, &h, head_text, head_len, head_why, res);
out:
    if (have_h)
        aud_hasher_free(&h);
    for (size_t i = 0; i < c.n_pieces; i++) {
        for (size_t k = 0; k < c.pieces[i].n_cps; k++)
            free(c.pieces[i].cps[k].blks);
        free(c.pieces[i].cps);
        free(c.pieces[i].blks);
        aud_tc_range_free(&c.pieces[i].tc);
    }
    free(c.pieces);
    for (size_t si = 0; c.segs && si < c.n_segs; si++) {
        if (c.segs[si].fd >= 0)
            close(c.segs[si].fd);
    }
    free(c.segs);
    aud_free_names(c.names, c.n_segs);
    EVP_PKEY_free(c.pub);
    dbg_err_clear();
    return verified;
}
