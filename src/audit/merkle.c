/* RFC 9162 §2.1 Merkle tree: leaf and node hashing, the compact frontier used while appending,
 * proof verification, and an in-memory tree that produces inclusion and consistency proofs. */
/* The one-shot SHA256_* calls skip the EVP provider dispatch, which costs more than hashing a
 * 300-byte record; they are deprecated in OpenSSL 3 but remain its SHA-256. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

int aud_hasher_init(aud_hasher *h)
{
    h->md = EVP_MD_fetch(NULL, "SHA256", NULL);
    h->ctx = EVP_MD_CTX_new();
    if (!h->md || !h->ctx) {
        aud_hasher_free(h);
        dbg_err_set(DBG_ERR_CRYPTO, "cannot set up SHA-256 (OpenSSL)");
        return -1;
    }
    return 0;
}

void aud_hasher_free(aud_hasher *h)
{
    EVP_MD_CTX_free(h->ctx);
    EVP_MD_free(h->md);
    h->ctx = NULL;
    h->md = NULL;
}

static void hash_two(aud_hasher *h, uint8_t prefix, const void *a, size_t alen, const void *b,
                     size_t blen, uint8_t out[AUD_HASH])
{
    (void)h;
    SHA256_CTX c;
    /* SHA-256 cannot fail on valid input; a failure would be an OpenSSL bug, so it aborts rather
     * than hand out a wrong hash. A short message (every node) is gathered and hashed with one
     * update: each update call costs as much as hashing a few dozen bytes. */
    if (alen + blen < 192) {
        uint8_t m[192];
        m[0] = prefix;
        if (alen)
            memcpy(m + 1, a, alen);
        if (blen)
            memcpy(m + 1 + alen, b, blen);
        if (!SHA256_Init(&c) || !SHA256_Update(&c, m, 1 + alen + blen) || !SHA256_Final(out, &c))
            abort();
        return;
    }
    if (!SHA256_Init(&c) || !SHA256_Update(&c, &prefix, 1) ||
        (alen && !SHA256_Update(&c, a, alen)) || (blen && !SHA256_Update(&c, b, blen)) ||
        !SHA256_Final(out, &c))
        abort();
}

void aud_leaf_hash(aud_hasher *h, const void *data, size_t len, uint8_t out[AUD_HASH])
{
    hash_two(h, 0x00, data, len, NULL, 0, out);
}

void aud_leaf_hash_in_place(uint8_t *data, size_t len, uint8_t out[AUD_HASH])
{
    SHA256_CTX c;
    data[-1] = 0x00;
    if (!SHA256_Init(&c) || !SHA256_Update(&c, data - 1, len + 1) || !SHA256_Final(out, &c))
        abort();
}

void aud_node_hash(aud_hasher *h, const uint8_t l[AUD_HASH], const uint8_t r[AUD_HASH],
                   uint8_t out[AUD_HASH])
{
    hash_two(h, 0x01, l, AUD_HASH, r, AUD_HASH, out);
}

/* ---- frontier ---- */

void aud_frontier_init(aud_frontier *f)
{
    memset(f, 0, sizeof(*f));
}

int aud_frontier_count_for(uint64_t size)
{
    return __builtin_popcountll(size);
}

void aud_frontier_add(aud_frontier *f, aud_hasher *h, const uint8_t leaf[AUD_HASH])
{
    memcpy(f->hash[f->count++], leaf, AUD_HASH);
    /* Each trailing 1-bit of the old size is a perfect subtree the new leaf completes. */
    for (uint64_t s = f->size; s & 1; s >>= 1) {
        aud_node_hash(h, f->hash[f->count - 2], f->hash[f->count - 1], f->hash[f->count - 2]);
        f->count--;
    }
    f->size++;
}

void aud_frontier_add_subtree(aud_frontier *f, aud_hasher *h, const uint8_t root[AUD_HASH],
                              unsigned level)
{
    memcpy(f->hash[f->count++], root, AUD_HASH);
    /* As for one leaf, one level up: each trailing 1-bit of size / 2^level is a completed pair. */
    for (uint64_t s = f->size >> level; s & 1; s >>= 1) {
        aud_node_hash(h, f->hash[f->count - 2], f->hash[f->count - 1], f->hash[f->count - 2]);
        f->count--;
    }
    f->size += (uint64_t)1 << level;
}

void aud_frontier_root(const aud_frontier *f, aud_hasher *h, uint8_t out[AUD_HASH])
{
    if (f->count == 0) {
        /* RFC 9162: the empty tree's hash is SHA-256 of the empty string. */
        if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) || !EVP_DigestFinal_ex(h->ctx, out, NULL))
            abort();
        return;
    }
    uint8_t r[AUD_HASH];
    memcpy(r, f->hash[f->count - 1], AUD_HASH);
    for (int i = f->count - 2; i >= 0; i--)
        aud_node_hash(h, f->hash[i], r, r);
    memcpy(out, r, AUD_HASH);
}

/* ---- verification, RFC 9162 §2.1.3.2 ---- */

int aud_verify_inclusion(aud_hasher *h, uint64_t index, uint64_t size, const uint8_t leaf[AUD_HASH],
                         const uint8_t (*proof)[AUD_HASH], size_t n, const uint8_t root[AUD_HASH])
{
    if (index >= size)
        return 0;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[AUD_HASH];
    memcpy(r, leaf, AUD_HASH);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            aud_node_hash(h, proof[i], r, r);
            if (!(fn & 1)) {
                do {
                    fn >>= 1;
                    sn >>= 1;
                } while (!(fn & 1) && fn != 0);
            }
        } else {
            aud_node_hash(h, r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, AUD_HASH) == 0;
}

/* ---- verification, RFC 9162 §2.1.4.2 ---- */

int aud_verify_consistency(aud_hasher *h, uint64_t size1, uint64_t size2,
                           const uint8_t root1[AUD_HASH], const uint8_t root2[AUD_HASH],
                           const uint8_t (*proof)[AUD_HASH], size_t n)
{
    if (size1 > size2)
        return 0;
    if (size1 == size2)
        return n == 0 && memcmp(root1, root2, AUD_HASH) == 0;
    if (size1 == 0)
        return n == 0; /* the empty tree is consistent with everything */
    if (n == 0)
        return 0;
    size_t start = 0;
    uint8_t first[AUD_HASH];
    /* If size1 is an exact power of two, prepend first_hash to the proof. */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(first, root1, AUD_HASH);
    } else {
        memcpy(first, proof[0], AUD_HASH);
        start = 1;
    }
    uint64_t fn = size1 - 1, sn = size2 - 1;
    if (fn & 1) {
        while (fn & 1) {
            fn >>= 1;
            sn >>= 1;
        }
    }
    uint8_t fr[AUD_HASH], sr[AUD_HASH];
    memcpy(fr, first, AUD_HASH);
    memcpy(sr, first, AUD_HASH);
    for (size_t i = start; i < n; i++) {
        if (sn == 0)
            return 0;
        if ((fn & 1) || fn == sn) {
            aud_node_hash(h, proof[i], fr, fr);
            aud_node_hash(h, proof[i], sr, sr);
            if (!(fn & 1)) {
                do {
                    fn >>= 1;
                    sn >>= 1;
                } while (!(fn & 1) && fn != 0);
            }
        } else {
            aud_node_hash(h, sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, root1, AUD_HASH) == 0 && memcmp(sr, root2, AUD_HASH) == 0;
}

/* ---- in-memory tree ---- */

struct aud_tree {
    aud_hasher h;
    uint64_t size;
    int levels;
    /* level[k][i] = hash of the perfect subtree [i << k, (i + 1) << k); known[k][i] says whether
     * it could be computed (not for subtrees strictly inside a pruned prefix). */
    uint8_t (**level)[AUD_HASH];
    uint8_t **known;
};

void aud_tree_free(aud_tree *t)
{
    if (!t)
        return;
    for (int k = 0; k < t->levels; k++) {
        free(t->level[k]);
        free(t->known[k]);
    }
    free(t->level);
    free(t->known);
    aud_hasher_free(&t->h);
    free(t);
}

aud_tree *aud_tree_new(const aud_frontier *pruned, const uint8_t (*leaves)[AUD_HASH],
                       uint64_t n_leaves)
{
    uint64_t p = pruned ? pruned->size : 0;
    aud_tree *t = dbg_calloc(1, sizeof(*t));
    if (!t || aud_hasher_init(&t->h) < 0) {
        free(t);
        return NULL;
    }
    t->size = p + n_leaves;
    int levels = 1;
    while (levels < 64 && (t->size >> levels) > 0)
        levels++;
    t->level = dbg_calloc((size_t)levels, sizeof(*t->level));
    t->known = dbg_calloc((size_t)levels, sizeof(*t->known));
    if (!t->level || !t->known) {
        aud_tree_free(t);
        return NULL;
    }
    t->levels = levels;
    for (int k = 0; k < levels; k++) {
        uint64_t cnt = t->size >> k;
        t->level[k] = dbg_calloc(cnt ? cnt : 1, AUD_HASH);
        t->known[k] = dbg_calloc(cnt ? cnt : 1, 1);
        if (!t->level[k] || !t->known[k]) {
            aud_tree_free(t);
            return NULL;
        }
    }
    for (uint64_t i = 0; i < n_leaves; i++) {
        memcpy(t->level[0][p + i], leaves[i], AUD_HASH);
        t->known[0][p + i] = 1;
    }
    /* The pruned prefix's frontier pieces are perfect subtrees at aligned positions. */
    if (pruned) {
        uint64_t start = 0;
        int piece = 0;
        for (int bit = 63; bit >= 0; bit--) {
            if (!(p & ((uint64_t)1 << bit)))
                continue;
            if (bit < levels) {
                memcpy(t->level[bit][start >> bit], pruned->hash[piece], AUD_HASH);
                t->known[bit][start >> bit] = 1;
            }
            start += (uint64_t)1 << bit;
            piece++;
        }
    }
    for (int k = 1; k < levels; k++) {
        uint64_t cnt = t->size >> k;
        for (uint64_t i = 0; i < cnt; i++) {
            if (t->known[k][i])
                continue;
            if (t->known[k - 1][2 * i] && t->known[k - 1][2 * i + 1]) {
                aud_node_hash(&t->h, t->level[k - 1][2 * i], t->level[k - 1][2 * i + 1],
                              t->level[k][i]);
                t->known[k][i] = 1;
            }
        }
    }
    return t;
}

uint64_t aud_tree_size(const aud_tree *t)
{
    return t->size;
}

/* MTH of leaves [a, b), b <= size. Perfect aligned subtrees come from the levels; the rest splits
 * at the largest power of two below the width (RFC 9162 §2.1.1). */
static int subtree_hash(aud_tree *t, uint64_t a, uint64_t b, uint8_t out[AUD_HASH])
{
    uint64_t w = b - a;
    if (w == 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "empty subtree");
        return -1;
    }
    if ((w & (w - 1)) == 0 && (a % w) == 0) {
        int k = __builtin_ctzll(w);
        if (k >= t->levels || !t->known[k][a >> k]) {
            dbg_err_set(DBG_ERR_NOTFOUND, "subtree [%llu, %llu) lies in the pruned part of the log",
                        (unsigned long long)a, (unsigned long long)b);
            return -1;
        }
        memcpy(out, t->level[k][a >> k], AUD_HASH);
        return 0;
    }
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(w - 1));
    uint8_t l[AUD_HASH], r[AUD_HASH];
    if (subtree_hash(t, a, a + k, l) < 0 || subtree_hash(t, a + k, b, r) < 0)
        return -1;
    aud_node_hash(&t->h, l, r, out);
    return 0;
}

int aud_tree_root(aud_tree *t, uint64_t size, uint8_t out[AUD_HASH])
{
    if (size > t->size) {
        dbg_err_set(DBG_ERR_INVALID, "tree size %llu is beyond the log's %llu records",
                    (unsigned long long)size, (unsigned long long)t->size);
        return -1;
    }
    if (size == 0) {
        aud_frontier f;
        aud_frontier_init(&f);
        aud_frontier_root(&f, &t->h, out);
        return 0;
    }
    return subtree_hash(t, 0, size, out);
}

typedef struct {
    uint8_t (*v)[AUD_HASH];
    size_t n, cap;
} proof_vec;

static int proof_push(proof_vec *p, const uint8_t h[AUD_HASH])
{
    if (dbg_grow_array((void **)&p->v, &p->cap, p->n + 1, AUD_HASH, 16) < 0)
        return -1;
    memcpy(p->v[p->n++], h, AUD_HASH);
    return 0;
}

/* PATH(m, D[a:b]) from RFC 9162 §2.1.3.1, leaves offset by a. */
static int inclusion_path(aud_tree *t, uint64_t m, uint64_t a, uint64_t b, proof_vec *p)
{
    uint64_t w = b - a;
    if (w <= 1)
        return 0;
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(w - 1));
    uint8_t h[AUD_HASH];
    if (m < k) {
        if (inclusion_path(t, m, a, a + k, p) < 0 || subtree_hash(t, a + k, b, h) < 0)
            return -1;
    } else {
        if (inclusion_path(t, m - k, a + k, b, p) < 0 || subtree_hash(t, a, a + k, h) < 0)
            return -1;
    }
    return proof_push(p, h);
}

int aud_tree_inclusion(aud_tree *t, uint64_t index, uint64_t size, uint8_t (**proof)[AUD_HASH],
                       size_t *n)
{
    if (size > t->size || index >= size) {
        dbg_err_set(DBG_ERR_INVALID, "no record %llu in a tree of size %llu",
                    (unsigned long long)index, (unsigned long long)size);
        return -1;
    }
    proof_vec p = {0};
    if (inclusion_path(t, index, 0, size, &p) < 0) {
        free(p.v);
        return -1;
    }
    *proof = p.v;
    *n = p.n;
    return 0;
}

/* SUBPROOF(m, D[a:b], have_root) from RFC 9162 §2.1.4.1. */
static int consistency_sub(aud_tree *t, uint64_t m, uint64_t a, uint64_t b, int have_root,
                           proof_vec *p)
{
    uint64_t w = b - a;
    uint8_t h[AUD_HASH];
    if (m == w) {
        if (have_root)
            return 0;
        if (subtree_hash(t, a, b, h) < 0)
            return -1;
        return proof_push(p, h);
    }
    uint64_t k = (uint64_t)1 << (63 - __builtin_clzll(w - 1));
    if (m <= k) {
        if (consistency_sub(t, m, a, a + k, have_root, p) < 0 || subtree_hash(t, a + k, b, h) < 0)
            return -1;
    } else {
        if (consistency_sub(t, m - k, a + k, b, 0, p) < 0 || subtree_hash(t, a, a + k, h) < 0)
            return -1;
    }
    return proof_push(p, h);
}

int aud_tree_consistency(aud_tree *t, uint64_t size1, uint64_t size2, uint8_t (**proof)[AUD_HASH],
                         size_t *n)
{
    if (size2 > t->size || size1 > size2) {
        dbg_err_set(
            DBG_ERR_INVALID, "no consistency proof from size %llu to %llu (log has %llu records)",
            (unsigned long long)size1, (unsigned long long)size2, (unsigned long long)t->size);
        return -1;
    }
    proof_vec p = {0};
    if (size1 > 0 && size1 < size2 && consistency_sub(t, size1, 0, size2, 1, &p) < 0) {
        free(p.v);
        return -1;
    }
    *proof = p.v;
    *n = p.n;
    return 0;
}
