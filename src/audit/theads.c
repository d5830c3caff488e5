/* Tenant heads: every tenant's last record at a tree size, as a Merkle tree a signed head commits
 * to, so one export shows whether the tenant's newest records were cut off. */
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

void aud_thead_name_hash(aud_hasher *h, const char *tenant, uint8_t out[AUD_HASH])
{
    if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) ||
        !EVP_DigestUpdate(h->ctx, tenant, strlen(tenant)) || !EVP_DigestFinal_ex(h->ctx, out, NULL))
        abort(); /* as aud_leaf_hash: SHA-256 of memory we hold does not fail */
}

void aud_thead_leaf(aud_hasher *h, const uint8_t name_hash[AUD_HASH], uint64_t seq,
                    uint8_t out[AUD_HASH])
{
    uint8_t b[AUD_HASH + 8];
    memcpy(b, name_hash, AUD_HASH);
    for (int i = 0; i < 8; i++)
        b[AUD_HASH + i] = (uint8_t)(seq >> (56 - 8 * i));
    aud_leaf_hash(h, b, sizeof(b), out);
}

static int cmp_thead(const void *a, const void *b)
{
    return memcmp(((const aud_thead *)a)->name_hash, ((const aud_thead *)b)->name_hash, AUD_HASH);
}

void aud_theads_root(aud_hasher *h, aud_thead *e, size_t n, uint8_t out[AUD_HASH])
{
    if (n)
        qsort(e, n, sizeof(*e), cmp_thead);
    aud_frontier f;
    aud_frontier_init(&f);
    for (size_t i = 0; i < n; i++) {
        uint8_t leaf[AUD_HASH];
        aud_thead_leaf(h, e[i].name_hash, e[i].seq, leaf);
        aud_frontier_add(&f, h, leaf);
    }
    aud_frontier_root(&f, h, out);
}
