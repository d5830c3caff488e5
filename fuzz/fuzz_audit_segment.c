/* libFuzzer target: `audit verify` on a damaged log, differentially. The input is HEAD NUL
 * SEGMENT: head.json and the one segment file of a log signed by a throwaway key. Both verifiers
 * read it: the streaming fast path (at its default piece size and at a piece size that cuts every
 * frame) and the full walk. Neither may crash; the fast path may say "verified" only when the walk
 * agrees in every field; a failed walk must say why. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/verify_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public half of a throwaway Ed25519 key whose private half signed the seed logs in the corpus and
 * was then discarded. */
static const char TEST_PUB[] = "-----BEGIN PUBLIC KEY-----\n"
                               "MCowBQYDK2VwAyEAF+uCZDd4eFWILjSZUg7V2XzrmJKh8D4bMWFvZSq0sCc=\n"
                               "-----END PUBLIC KEY-----\n";

static char dir[64];

static void put(const char *name, const void *d, size_t n)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n) || fclose(f) != 0)
        abort();
}

static void remove_dir(void)
{
    const char *names[] = {AUD_PUB_FILE, AUD_HEAD_FILE, "seg-00000000000000000000.log"};
    char path[128];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
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
        put(AUD_PUB_FILE, TEST_PUB, sizeof(TEST_PUB) - 1);
        atexit(remove_dir);
    }
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    size_t head_len = (size_t)(nul - data);
    put(AUD_HEAD_FILE, data, head_len);
    put("seg-00000000000000000000.log", nul + 1, size - head_len - 1);
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
