/* libFuzzer target: `audit verify` on a damaged log, differentially. The input is HEAD NUL
 * SEGMENT: head.json and the one segment file of a log signed by a throwaway key; or, when its
 * first byte is a mode byte (1 to 3), MODE HEAD NUL SEGMENTS: a log of several segments signed
 * by a second throwaway key, its files one after the other. Mode bit 1 cuts the bytes into files
 * after each end-of-segment frame that names a next file past the current one (the first file is
 * named by its header's frontier size, so a pruned log stays one); bit 2 gives every frame that
 * still parses its right CRC first, so a mutation inside a payload (a later segment header's
 * tenants table, its frontier, a record) reaches the checks behind the CRC. Both verifiers read
 * the log: the streaming fast path (at its default piece size and at piece sizes that cut every
 * frame) and the full walk. Neither may crash; the fast path may say "verified" only when the
 * walk agrees in every field; a failed walk must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "audit/verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public half of a throwaway Ed25519 key whose private half signed the seed logs in the corpus and
 * was then discarded. */
static const char TEST_PUB[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MCowBQYDK2VwAyEAF+uCZDd4eFWILjSZUg7V2XzrmJKh8D4bMWFvZSq0sCc=\n"
                               "-----END PUBLIC KEY-----\n";

/* The same for the multi-segment seeds (fuzz/corpus/fuzz_audit_segment/multi-*), whose private
 * half was discarded too. */
static const char TEST_PUB_MULTI[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAyDBhpPEP4gRvqRmXxBglRrN/z99F/80qWrnIxSiNyyw=\n"
    "-----END PUBLIC KEY-----\n";

#define MAX_FILES 16
#define MODE_SPLIT 1
#define MODE_FIX_CRC 2

static char dir[64];
/* the segment files the last input was cut into, removed before the next one */
static char files[MAX_FILES][32];
static size_t n_files;

static void put(const char *name, const void *d, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

static void remove_files(void)
{
    char path[128];
    for (size_t i = 0; i < n_files; i++) {
        snprintf(path, sizeof(path), "%s/%.31s", dir, files[i]);
        unlink(path);
    }
    n_files = 0;
}

static void remove_dir(void)
{
    const char *names[] = {AUD_PUB_FILE, AUD_HEAD_FILE, AUD_LOCK_FILE};
    char path[128];
    remove_files();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void put_segment(const char *name, const uint8_t *d, size_t n)
{
    put(name, d, n);
    snprintf(files[n_files++], sizeof(files[0]), "%s", name);
}

/* The file an end-of-segment frame names, when it is a segment name past the current file's
 * (so that the files list in the order they were cut); else 0. */
static int next_name(const aud_frame *f, uint64_t current, char out[32])
{
    json_t *j = json_loadb((const char *)f->payload, f->len, 0, NULL);
    const char *next = json_string_value(json_object_get(j, "next"));
    int ok = 0;
    if (next && strlen(next) < 32) {
        uint64_t seq = strncmp(next, "seg-", 4) == 0 ? aud_name_first_seq(next) : 0;
        char *canon = aud_segment_name(seq);
        ok = canon && strcmp(canon, next) == 0 && seq > current;
        if (ok)
            snprintf(out, 32, "%s", next);
        free(canon);
    }
    json_decref(j);
    return ok;
}

/* The first file's name: the size of the frontier in its header (a pruned log starts past 0). */
static void first_name(const uint8_t *d, size_t n, char out[32], uint64_t *first)
{
    aud_frame f;
    const char *why;
    aud_sth s;
    aud_frontier fr;
    *first = 0;
    if (aud_frame_peek(d, n, 0, &f, &why) == 1 && f.type == AUD_FRAME_SEGMENT &&
        aud_checkpoint_parse(f.payload, f.len, "header", &s, &fr) == 0)
        *first = fr.size;
    char *name = aud_segment_name(*first);
    if (!name)
        abort();
    snprintf(out, 32, "%s", name);
    free(name);
}

/* Writes the segment files of a multi-segment input (d is the fuzzer's copy, written to). */
static void put_segments(uint8_t *d, size_t n, unsigned mode)
{
    char name[32];
    uint64_t first;
    first_name(d, n, name, &first);
    size_t start = 0, off = 0;
    aud_frame f;
    const char *why;
    while (aud_frame_peek(d, n, off, &f, &why) == 1) {
        if (mode & MODE_FIX_CRC) {
            uint8_t hdr[AUD_FRAME_HDR];
            aud_frame_header(hdr, f.type, f.payload, f.len);
            memcpy(d + off + 8, hdr + 8, 4);
        }
        off += AUD_FRAME_HDR + f.len;
        char next[32];
        if ((mode & MODE_SPLIT) && f.type == AUD_FRAME_NEXT && n_files + 2 <= MAX_FILES &&
            next_name(&f, first, next)) {
            put_segment(name, d + start, off - start);
            start = off;
            snprintf(name, sizeof(name), "%s", next);
            first = aud_name_first_seq(next);
        }
    }
    put_segment(name, d + start, n - start);
}

static void same(const dbg_audit_verify_result *a, const dbg_audit_verify_result *b)
{
    if (a->records != b->records || a->checkpoints != b->checkpoints || a->bytes != b->bytes ||
        a->pruned != b->pruned || a->unsealed != b->unsealed || a->head_size != b->head_size ||
        strcmp(a->head, b->head) != 0 || a->unlinked != b->unlinked ||
        a->unlinked_after != b->unlinked_after ||
        a->unlinked_after_first != b->unlinked_after_first || a->heads_v1 != b->heads_v1 ||
        a->theads_unchecked != b->theads_unchecked ||
        a->theads_unchecked_from != b->theads_unchecked_from ||
        a->header_tables != b->header_tables ||
        a->header_tables_unchecked != b->header_tables_unchecked ||
        a->header_tables_unchecked_from != b->header_tables_unchecked_from ||
        a->head_file_unmatched != b->head_file_unmatched)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/dbg-fuzz-segment-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        atexit(remove_dir);
    }
    unsigned mode = size && data[0] >= 1 && data[0] <= 3 ? data[0] : 0;
    if (mode) {
        data++;
        size--;
    }
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    size_t head_len = (size_t)(nul - data);
    remove_files();
    if (mode)
        put(AUD_PUB_FILE, TEST_PUB_MULTI, sizeof(TEST_PUB_MULTI) - 1);
    else
        put(AUD_PUB_FILE, TEST_PUB, sizeof(TEST_PUB) - 1);
    put(AUD_HEAD_FILE, data, head_len);
    if (mode) {
        size_t n = size - head_len - 1;
        uint8_t *copy = malloc(n ? n : 1);
        if (!copy)
            abort();
        memcpy(copy, nul + 1, n);
        put_segments(copy, n, mode);
        free(copy);
    } else {
        put_segment("seg-00000000000000000000.log", nul + 1, size - head_len - 1);
    }
    dbg_audit_verify_result walk, fast;
    aud_walk_out o;
    if (aud_walk(dir, NULL, &walk, &o) < 0)
        abort(); /* the log, its key and its head are all there */
    aud_walk_out_free(&o);
    if (!walk.ok && walk.problem[0] == '\0')
        abort();
    const size_t pieces[] = {0, 7, 97};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        if (aud_verify_fast(dir, NULL, pieces[i], &fast) != 1)
            continue;
        if (!walk.ok)
            abort(); /* the fast path passed a log the walk rejects */
        same(&fast, &walk);
    }
    return 0;
}
