/* The streaming verify (src/audit/verify_fast.c) against the full walk: on sound logs it gives
 * the same result whatever the piece size (pieces smaller than a frame, pieces that cut frames
 * anywhere), and on every kind of damage it declines, so that the walk finds and words it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit/verify_int.h"
#include "dengbao/audit.h"
#include "tests/unit/audit_fixture.h"

/* the log's segment files, in order */
typedef struct {
    char path[64][160];
    int n;
} segs;

static const size_t pieces[] = {0, 13, 100, 333, 1000, 4096, 70000};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))

/* n records of varying size (so frames fall differently in every piece), a signed tree head every
 * cp_every records, segments of seg_bytes; record i is dated t0 + i seconds. */
static void make_log(env *e, int n, uint64_t seg_bytes, uint64_t cp_every, segs *sg)
{
    dbg_audit_opts o = {.dir = e->log,
                        .key_path = e->key,
                        .checkpoint_every = cp_every,
                        .durable = 0,
                        .segment_max_bytes = seg_bytes};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    for (int i = 0; i < n; i++) {
        /* every 97th record is ~30 kB: frames far bigger than the small pieces */
        static char pad[30001];
        if (!pad[0])
            memset(pad, 'y', sizeof(pad) - 1);
        char details[30100], name[32];
        snprintf(details, sizeof(details), "{\"n\":%d,\"pad\":\"%.*s\"}", i,
                 i % 97 == 50 ? 30000 : (i * 7) % 60, pad);
        snprintf(name, sizeof(name), "vm%d", i);
        dbg_audit_record r = {.actor = "uid:0(root)",
                              .role = "provider-admin",
                              .tenant = i % 2 ? "tenant-a" : "tenant-b",
                              .action = "vm.reboot",
                              .target_type = "domain",
                              .target_name = name,
                              .outcome = "success",
                              .source = "unix:uid=0",
                              .details_json = details,
                              .time_us = 1700000000000000LL + (int64_t)i * 1000000};
        uint64_t seq;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    char **names;
    size_t n_names;
    assert_int_equal(aud_list_segments(e->log, &names, &n_names), 0);
    assert_true(n_names <= 64);
    sg->n = (int)n_names;
    for (size_t i = 0; i < n_names; i++)
        snprintf(sg->path[i], sizeof(sg->path[i]), "%s/%s", e->log, names[i]);
    aud_free_names(names, n_names);
}

static void walk_result(env *e, dbg_audit_verify_result *res)
{
    aud_walk_out o;
    assert_int_equal(aud_walk(e->log, e->pub, res, &o), 0);
    aud_walk_out_free(&o);
}

static void assert_same(const dbg_audit_verify_result *a, const dbg_audit_verify_result *b)
{
    assert_int_equal(a->ok, b->ok);
    assert_true(a->records == b->records);
    assert_true(a->checkpoints == b->checkpoints);
    assert_true(a->bytes == b->bytes);
    assert_true(a->pruned == b->pruned);
    assert_true(a->unsealed == b->unsealed);
    assert_true(a->head_size == b->head_size);
    assert_true(a->first_bad_seq == b->first_bad_seq);
    assert_string_equal(a->head, b->head);
    assert_true(a->unlinked == b->unlinked && a->unlinked_after == b->unlinked_after &&
                a->unlinked_after_first == b->unlinked_after_first);
    assert_true(a->heads_v1 == b->heads_v1 && a->theads_unchecked == b->theads_unchecked &&
                a->theads_unchecked_from == b->theads_unchecked_from &&
                a->head_file_unmatched == b->head_file_unmatched);
    assert_true(a->header_tables == b->header_tables &&
                a->header_tables_unchecked == b->header_tables_unchecked &&
                a->header_tables_unchecked_from == b->header_tables_unchecked_from);
}

static void assert_agrees(env *e)
{
    dbg_audit_verify_result w, f;
    walk_result(e, &w);
    assert_true(w.ok);
    for (size_t i = 0; i < N_PIECES; i++) {
        memset(&f, 0x5a, sizeof(f));
        assert_int_equal(aud_verify_fast(e->log, e->pub, pieces[i], &f), 1);
        assert_same(&f, &w);
    }
}

typedef struct {
    const char *log, *pub;
    dbg_audit_verify_result res;
    int verified;
    atomic_int done;
} fast_job;

static void *fast_worker(void *arg)
{
    fast_job *j = arg;
    j->verified = aud_verify_fast(j->log, j->pub, 0, &j->res);
    atomic_store(&j->done, 1);
    return NULL;
}

static void test_agrees_with_walk(void **state)
{
    env *e = *state;
    segs sg;
    make_log(e, 700, 16 * 1024, 7, &sg);
    assert_true(sg.n >= 4);
    assert_agrees(e);

    /* after a prune the first segment starts mid-tree, with the pruned prefix's frontier */
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    uint64_t removed = 0;
    assert_int_equal(
        dbg_audit_prune(e->log, 1700000000000000LL + 300 * 1000000LL, arch, e->key, &removed), 0);
    assert_true(removed > 0);
    dbg_audit_verify_result f;
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &f), 1);
    assert_true(f.pruned == removed);
    assert_agrees(e);

    /* a writer in the middle of a flush (holding the lock): the fast path waits for it rather
     * than read the segments while they change */
    char lock[160];
    snprintf(lock, sizeof(lock), "%s/lock", e->log);
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    fast_job job = {.log = e->log, .pub = e->pub};
    atomic_init(&job.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fast_worker, &job), 0);
    usleep(300000);
    assert_false(atomic_load(&job.done));
    close(fd);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(job.verified, 1);
    assert_true(job.res.ok);

    /* a log with an index is the walk's (it compares every row); verify still passes */
    assert_int_equal(dbg_audit_reindex(e->log), 0);
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &f), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &f), 0);
    assert_true(f.ok);
}

static void test_one_segment_big_pieces(void **state)
{
    env *e = *state;
    segs sg;
    make_log(e, 5000, 0, 1000, &sg); /* one segment, checkpoints far apart */
    assert_int_equal(sg.n, 1);
    assert_agrees(e);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    char *t;
    assert_int_equal(dbg_read_file(path, 1 << 26, &t, len), 0);
    return (uint8_t *)t;
}

static void spit(const char *path, const uint8_t *d, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(d, 1, len, f) == len);
    assert_int_equal(fclose(f), 0);
}

/* Damage must make the fast path decline at every piece size, and the walk must see it too. */
static void assert_declines_at(env *e, const char *what, size_t n_pieces)
{
    dbg_audit_verify_result f, w;
    for (size_t i = 0; i < n_pieces; i++)
        if (aud_verify_fast(e->log, e->pub, pieces[i], &f) != 0)
            fail_msg("%s: the fast path accepted it (piece %zu)", what, pieces[i]);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &w), 0);
    if (w.ok)
        fail_msg("%s: verify passed", what);
}

static void assert_declines(env *e, const char *what)
{
    assert_declines_at(e, what, N_PIECES);
}

/* Offsets and lengths of the frames of a segment image. */
static size_t frames(const uint8_t *d, size_t len, size_t *off, uint8_t *type, size_t max)
{
    size_t n = 0, o = 0;
    aud_frame f;
    const char *why;
    while (n < max && aud_frame_next(d, len, o, &f, &why) == 1) {
        off[n] = o;
        type[n++] = f.type;
        o += AUD_FRAME_HDR + f.len;
    }
    off[n] = o;
    return n;
}

static void test_declines_damage(void **state)
{
    env *e = *state;
    segs sg;
    make_log(e, 300, 12 * 1024, 10, &sg);
    assert_true(sg.n >= 3);
    assert_agrees(e);
    const char *seg = sg.path[1]; /* a middle segment: header, records, checkpoints, end marker */
    size_t len;
    uint8_t *orig = slurp(seg, &len);
    uint8_t *d = malloc(len + 4096);
    assert_non_null(d);

    /* any one byte changed, anywhere (every byte is under some frame's CRC) */
    for (size_t off = 0; off < len; off += 89) {
        memcpy(d, orig, len);
        d[off] ^= 0x20;
        spit(seg, d, len);
        char what[64];
        snprintf(what, sizeof(what), "byte %zu flipped", off);
        assert_declines_at(e, what, 3); /* the default, 13 and 100 bytes */
    }

    size_t off[4096];
    uint8_t type[4096];
    size_t n = frames(orig, len, off, type, 4095);
    assert_true(off[n] == len);
    size_t r1 = 0, cp = 0, cp2 = 0; /* a record in the middle, the first and a later checkpoint */
    for (size_t i = 1; i < n; i++) {
        if (type[i] == AUD_FRAME_RECORD && !r1 && i > n / 2 && type[i + 1] == AUD_FRAME_RECORD)
            r1 = i;
        if (type[i] == AUD_FRAME_CHECKPOINT && !cp)
            cp = i;
        else if (type[i] == AUD_FRAME_CHECKPOINT && cp && !cp2 && off[i] > off[cp] + 1000)
            cp2 = i;
    }
    assert_true(r1 && cp && cp2);

    /* a record altered and its CRC made right again: only the tree can tell */
    memcpy(d, orig, len);
    uint8_t *payload = d + off[r1] + AUD_FRAME_HDR;
    uint32_t plen = (uint32_t)(off[r1 + 1] - off[r1] - AUD_FRAME_HDR);
    uint8_t *v = memmem(payload, plen, "vm.reboot", 9);
    assert_non_null(v);
    v[3] = 'R';
    aud_frame_header(d + off[r1], AUD_FRAME_RECORD, payload, plen);
    spit(seg, d, len);
    assert_declines(e, "record rewritten with its CRC");

    /* a record deleted */
    size_t rl = off[r1 + 1] - off[r1];
    memcpy(d, orig, off[r1]);
    memcpy(d + off[r1], orig + off[r1 + 1], len - off[r1 + 1]);
    spit(seg, d, len - rl);
    assert_declines(e, "record deleted");

    /* two records swapped */
    size_t rl2 = off[r1 + 2] - off[r1 + 1];
    memcpy(d, orig, len);
    memcpy(d + off[r1], orig + off[r1 + 1], rl2);
    memcpy(d + off[r1] + rl2, orig + off[r1], rl);
    spit(seg, d, len);
    assert_declines(e, "records swapped");

    /* a later checkpoint replaced by an earlier one, and a checkpoint removed */
    size_t cl = off[cp + 1] - off[cp], cl2 = off[cp2 + 1] - off[cp2];
    memcpy(d, orig, off[cp2]);
    memcpy(d + off[cp2], orig + off[cp], cl);
    memcpy(d + off[cp2] + cl, orig + off[cp2 + 1], len - off[cp2 + 1]);
    spit(seg, d, len - cl2 + cl);
    assert_declines(e, "stale checkpoint");
    memcpy(d, orig, off[cp2]);
    memcpy(d + off[cp2], orig + off[cp2 + 1], len - off[cp2 + 1]);
    spit(seg, d, len - cl2);
    assert_declines(e, "checkpoint removed");

    /* cut inside a frame, and at a frame boundary (the end marker gone) */
    spit(seg, orig, off[r1] + 20);
    assert_declines(e, "cut inside a record");
    spit(seg, orig, off[r1]);
    assert_declines(e, "cut at a record");

    /* bytes appended after the end marker */
    memcpy(d, orig, len);
    memcpy(d + len, orig + off[r1], rl);
    spit(seg, d, len + rl);
    assert_declines(e, "a record after the end marker");

    /* the segment removed */
    spit(seg, orig, len);
    assert_agrees(e); /* restored: sound again */
    assert_int_equal(unlink(seg), 0);
    assert_declines(e, "segment removed");
    spit(seg, orig, len);

    /* the last segment's tail cut at a frame boundary: head.json vouches for more */
    size_t llen;
    uint8_t *last = slurp(sg.path[sg.n - 1], &llen);
    n = frames(last, llen, off, type, 4095);
    assert_true(n > 3);
    spit(sg.path[sg.n - 1], last, off[n - 2]);
    assert_declines(e, "tail cut");
    spit(sg.path[sg.n - 1], last, llen);
    assert_agrees(e);

    /* a foreign key */
    char prefix[96], other[112];
    snprintf(prefix, sizeof(prefix), "%s/other", e->dir);
    assert_int_equal(dbg_audit_keygen(prefix), 0);
    snprintf(other, sizeof(other), "%s.pub", prefix);
    dbg_audit_verify_result f;
    assert_int_equal(aud_verify_fast(e->log, other, 0, &f), 0);
    free(last);
    free(d);
    free(orig);
}

/* head.json signed by the log's key for size with a root no tree head of the log has */
static void forge_head(env *e, uint64_t size)
{
    EVP_PKEY *k = aud_key_load_private(e->key);
    assert_non_null(k);
    aud_sth s;
    memset(&s, 0, sizeof(s));
    s.size = size;
    memset(s.root, 0xab, sizeof(s.root));
    s.time_us = 1700000000000000LL;
    assert_int_equal(aud_key_id(k, s.key_id), 0);
    assert_int_equal(aud_sth_sign(&s, k), 0);
    EVP_PKEY_free(k);
    json_t *j = aud_sth_to_json(&s);
    assert_non_null(j);
    char path[160];
    snprintf(path, sizeof(path), "%s/head.json", e->log);
    assert_int_equal(json_dump_file(j, path, 0), 0);
    json_decref(j);
}

/* With no checkpoint after the last segment header (a log with no records, or one pruned to
 * nothing), head.json names the header's signed head; that is sound, a forged one is not. */
static void test_head_at_segment_header(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .durable = 0};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    assert_int_equal(dbg_audit_close(log), 0);
    assert_agrees(e);
    forge_head(e, 0);
    assert_declines(e, "forged head for the empty log");
}

static void test_head_after_prune_to_nothing(void **state)
{
    env *e = *state;
    segs sg;
    /* segments of one byte: every flush rotates, so the last segment holds only its header
     * whatever the frames' sizes (with 4000 bytes it did only while a head fit a given size) */
    make_log(e, 50, 1, 7, &sg);
    assert_true(sg.n >= 2);
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    uint64_t removed = 0;
    assert_int_equal(
        dbg_audit_prune(e->log, 4102444800000000LL /* 2100-01-01 */, arch, e->key, &removed), 0);
    assert_true(removed == 50);
    assert_agrees(e);
    forge_head(e, 50);
    assert_declines(e, "forged head for the pruned log");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_agrees_with_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_segment_big_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_declines_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_at_segment_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head_after_prune_to_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
