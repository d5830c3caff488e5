/* RFC 9162 Merkle tree against published Certificate Transparency test vectors.
 *
 * Vectors: transparency-dev/merkle (the Go module used by Trillian / CT logs),
 *   testonly/constants.go       — LeafInputs(), NodeHashes(), RootHashes() (RFC 6962 = RFC 9162
 * §2.1 hashing) testonly/reference_test.go  — TestRefInclusionProof, TestRefConsistencyProof
 * expected proofs https://github.com/transparency-dev/merkle/blob/main/testonly/ (the same eight
 * leaves and roots appear in google/certificate-transparency merkle_tree_test.cc). We reproduce
 * every root, every listed proof, and check that all proofs we generate for sizes 1..8 verify while
 * altered ones do not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

static const char *const LEAVES[] = {"",
                                     "00",
                                     "10",
                                     "2021",
                                     "3031",
                                     "40414243",
                                     "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f"};
static const char *const ROOTS[] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static const struct {
    uint64_t index, size;
    const char *proof[4];
} INCLUSION[] = {
    {0, 1, {NULL}},
    {0, 2, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"}},
    {1, 2, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static const struct {
    uint64_t size1, size2;
    const char *proof[4];
} CONSISTENCY[] = {
    {1, 1, {NULL}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

typedef struct {
    aud_hasher h;
    uint8_t leaves[8][AUD_HASH];
    aud_tree *tree;
} fixture;

static void unhex(const char *s, uint8_t *out)
{
    assert_int_equal(dbg_hex_decode(s, out, strlen(s) / 2), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(aud_hasher_init(&f->h), 0);
    for (int i = 0; i < 8; i++) {
        uint8_t in[16];
        size_t n = strlen(LEAVES[i]) / 2;
        if (n)
            unhex(LEAVES[i], in);
        aud_leaf_hash(&f->h, in, n, f->leaves[i]);
    }
    f->tree = aud_tree_new(NULL, (const uint8_t(*)[AUD_HASH])f->leaves, 8);
    assert_non_null(f->tree);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    aud_tree_free(f->tree);
    aud_hasher_free(&f->h);
    free(f);
    return 0;
}

static void test_roots(void **state)
{
    fixture *f = *state;
    aud_frontier fr;
    aud_frontier_init(&fr);
    for (int n = 0; n <= 8; n++) {
        uint8_t want[AUD_HASH], got[AUD_HASH];
        unhex(ROOTS[n], want);
        aud_frontier_root(&fr, &f->h, got);
        assert_memory_equal(got, want, AUD_HASH); /* compact frontier, used while appending */
        assert_int_equal(aud_tree_root(f->tree, (uint64_t)n, got), 0);
        assert_memory_equal(got, want, AUD_HASH); /* in-memory tree, used for proofs */
        if (n < 8)
            aud_frontier_add(&fr, &f->h, f->leaves[n]);
    }
}

static size_t count_proof(const char *const *p)
{
    size_t n = 0;
    while (n < 4 && p[n])
        n++;
    return n;
}

static void test_inclusion_vectors(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof(INCLUSION) / sizeof(INCLUSION[0]); i++) {
        uint8_t(*proof)[AUD_HASH] = NULL;
        size_t n = 0;
        assert_int_equal(
            aud_tree_inclusion(f->tree, INCLUSION[i].index, INCLUSION[i].size, &proof, &n), 0);
        assert_int_equal(n, count_proof(INCLUSION[i].proof));
        for (size_t k = 0; k < n; k++) {
            uint8_t want[AUD_HASH];
            unhex(INCLUSION[i].proof[k], want);
            assert_memory_equal(proof[k], want, AUD_HASH);
        }
        uint8_t root[AUD_HASH];
        unhex(ROOTS[INCLUSION[i].size], root);
        assert_true(aud_verify_inclusion(&f->h, INCLUSION[i].index, INCLUSION[i].size,
                                         f->leaves[INCLUSION[i].index],
                                         (const uint8_t(*)[AUD_HASH])proof, n, root));
        free(proof);
    }
}

static void test_consistency_vectors(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < sizeof(CONSISTENCY) / sizeof(CONSISTENCY[0]); i++) {
        uint8_t(*proof)[AUD_HASH] = NULL;
        size_t n = 0;
        assert_int_equal(
            aud_tree_consistency(f->tree, CONSISTENCY[i].size1, CONSISTENCY[i].size2, &proof, &n),
            0);
        assert_int_equal(n, count_proof(CONSISTENCY[i].proof));
        for (size_t k = 0; k < n; k++) {
            uint8_t want[AUD_HASH];
            unhex(CONSISTENCY[i].proof[k], want);
            assert_memory_equal(proof[k], want, AUD_HASH);
        }
        uint8_t r1[AUD_HASH], r2[AUD_HASH];
        unhex(ROOTS[CONSISTENCY[i].size1], r1);
        unhex(ROOTS[CONSISTENCY[i].size2], r2);
        assert_true(aud_verify_consistency(&f->h, CONSISTENCY[i].size1, CONSISTENCY[i].size2, r1,
                                           r2, (const uint8_t(*)[AUD_HASH])proof, n));
        free(proof);
    }
}

/* Every proof for every size 1..8 verifies; flipping any bit of any proof hash, or using the
 * wrong index, size or root, makes it fail. */
static void test_all_proofs_and_mutations(void **state)
{
    fixture *f = *state;
    for (uint64_t size = 1; size <= 8; size++) {
        uint8_t root[AUD_HASH];
        unhex(ROOTS[size], root);
        for (uint64_t idx = 0; idx < size; idx++) {
            uint8_t(*p)[AUD_HASH] = NULL;
            size_t n = 0;
            assert_int_equal(aud_tree_inclusion(f->tree, idx, size, &p, &n), 0);
            assert_true(aud_verify_inclusion(&f->h, idx, size, f->leaves[idx],
                                             (const uint8_t(*)[AUD_HASH])p, n, root));
            for (size_t k = 0; k < n; k++) {
                p[k][k % AUD_HASH] ^= 0x01;
                assert_false(aud_verify_inclusion(&f->h, idx, size, f->leaves[idx],
                                                  (const uint8_t(*)[AUD_HASH])p, n, root));
                p[k][k % AUD_HASH] ^= 0x01;
            }
            if (size > 1)
                assert_false(aud_verify_inclusion(&f->h, (idx + 1) % size, size, f->leaves[idx],
                                                  (const uint8_t(*)[AUD_HASH])p, n, root));
            if (size < 8) {
                uint8_t bigger[AUD_HASH];
                unhex(ROOTS[size + 1], bigger);
                assert_false(aud_verify_inclusion(&f->h, idx, size + 1, f->leaves[idx],
                                                  (const uint8_t(*)[AUD_HASH])p, n, bigger));
            }
            if (n)
                assert_false(aud_verify_inclusion(&f->h, idx, size, f->leaves[idx],
                                                  (const uint8_t(*)[AUD_HASH])p, n - 1, root));
            free(p);
        }
        for (uint64_t s1 = 1; s1 <= size; s1++) {
            uint8_t r1[AUD_HASH];
            unhex(ROOTS[s1], r1);
            uint8_t(*p)[AUD_HASH] = NULL;
            size_t n = 0;
            assert_int_equal(aud_tree_consistency(f->tree, s1, size, &p, &n), 0);
            assert_true(aud_verify_consistency(&f->h, s1, size, r1, root,
                                               (const uint8_t(*)[AUD_HASH])p, n));
            for (size_t k = 0; k < n; k++) {
                p[k][0] ^= 0x80;
                assert_false(aud_verify_consistency(&f->h, s1, size, r1, root,
                                                    (const uint8_t(*)[AUD_HASH])p, n));
                p[k][0] ^= 0x80;
            }
            if (s1 < size) {
                uint8_t other[AUD_HASH];
                unhex(ROOTS[s1 == 1 ? 2 : s1 - 1], other);
                assert_false(aud_verify_consistency(&f->h, s1, size, other, root,
                                                    (const uint8_t(*)[AUD_HASH])p, n));
            }
            free(p);
        }
    }
}

/* A tree whose first P leaves are gone (pruned) but whose frontier was kept gives the same roots
 * and proofs for everything after P. */
static void test_pruned_prefix(void **state)
{
    fixture *f = *state;
    for (uint64_t p = 1; p < 8; p++) {
        aud_frontier fr;
        aud_frontier_init(&fr);
        for (uint64_t i = 0; i < p; i++)
            aud_frontier_add(&fr, &f->h, f->leaves[i]);
        aud_tree *t = aud_tree_new(&fr, (const uint8_t(*)[AUD_HASH])(f->leaves + p), 8 - p);
        assert_non_null(t);
        for (uint64_t size = p; size <= 8; size++) {
            uint8_t got[AUD_HASH], want[AUD_HASH];
            assert_int_equal(aud_tree_root(t, size, got), 0);
            unhex(ROOTS[size], want);
            assert_memory_equal(got, want, AUD_HASH);
            for (uint64_t idx = p; idx < size; idx++) {
                uint8_t(*a)[AUD_HASH] = NULL, (*b)[AUD_HASH] = NULL;
                size_t na = 0, nb = 0;
                assert_int_equal(aud_tree_inclusion(t, idx, size, &a, &na), 0);
                assert_int_equal(aud_tree_inclusion(f->tree, idx, size, &b, &nb), 0);
                assert_int_equal(na, nb);
                assert_memory_equal(a, b, na * AUD_HASH);
                free(a);
                free(b);
            }
        }
        aud_tree_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inclusion_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consistency_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_proofs_and_mutations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pruned_prefix, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
