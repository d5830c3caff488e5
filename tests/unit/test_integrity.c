/* Unit tests for chunk hashing (RFC 9162 tree shape, threads agree), Ed25519 seal manifests
 * (round trip, content/manifest/signature/key tampering), migration check with repair, wipe
 * check and the image_seals status file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "integrity/file_view.h"

static char tmpdir[64];

static char *tpath(const char *name)
{
    char *p = dbg_path_join(tmpdir, name);
    assert_non_null(p);
    return p;
}

static void sha(const void *a, size_t an, const void *b, size_t bn, const void *c, size_t cn,
                uint8_t out[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    EVP_DigestUpdate(ctx, a, an);
    if (b)
        EVP_DigestUpdate(ctx, b, bn);
    if (c)
        EVP_DigestUpdate(ctx, c, cn);
    EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
}

static char *write_key(const char *name)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    assert_non_null(c);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
    char *path = tpath(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(f);
    DBG_AUTOFREE char *pub = dbg_asprintf("%s.pub", path);
    f = fopen(pub, "w");
    assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    fclose(f);
    EVP_PKEY_free(k);
    EVP_PKEY_CTX_free(c);
    return path;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        b[i] = (uint8_t)x;
    }
    return b;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbg-integ-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_merkle_shape(void **state)
{
    (void)state;
    uint8_t leaves[3][32], root[32], want[32], n01[32], empty[32];
    for (int i = 0; i < 3; i++)
        memset(leaves[i], i + 1, 32);
    dbg_merkle_root((const uint8_t (*)[32])leaves, 0, root);
    sha("", 0, NULL, 0, NULL, 0, empty);
    assert_memory_equal(root, empty, 32);
    dbg_merkle_root((const uint8_t (*)[32])leaves, 1, root);
    assert_memory_equal(root, leaves[0], 32);
    /* RFC 9162 2.1.1: n=3 splits at k=2: H(1 || H(1||l0||l1) || l2). */
    uint8_t one = 1;
    sha(&one, 1, leaves[0], 32, leaves[1], 32, n01);
    sha(&one, 1, n01, 32, leaves[2], 32, want);
    dbg_merkle_root((const uint8_t (*)[32])leaves, 3, root);
    assert_memory_equal(root, want, 32);
}

/* RFC 9162's tree hash written out plainly, to hold dbg_merkle_root's shortcut for runs of equal
 * leaves to the same roots. */
static void naive_mth(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32], one = 1;
    naive_mth(leaves, k, l);
    naive_mth(leaves + k, n - k, r);
    sha(&one, 1, l, 32, r, 32, out);
}

/* Sparse images give long runs of one zero leaf: the root hashes those subtrees in log time and
 * must still give the root of the plain recursion, wherever a different leaf sits. */
static void test_merkle_equal_leaves(void **state)
{
    (void)state;
    enum { N = 70 };
    uint8_t leaves[N][32], root[32], want[32];
    for (size_t n = 1; n <= N; n++)
        for (size_t odd = 0; odd <= n; odd++) { /* odd == n: all equal */
            for (size_t i = 0; i < n; i++)
                memset(leaves[i], 0x5a, 32);
            if (odd < n)
                leaves[odd][31] ^= 1;
            dbg_merkle_root((const uint8_t (*)[32])leaves, n, root);
            naive_mth((const uint8_t (*)[32])leaves, n, want);
            assert_memory_equal(root, want, 32);
        }
}

/* A content too large to hold one leaf per chunk is refused at once, naming the file and a chunk
 * size that fits (an 8 TiB sparse file in 4 KiB chunks asked for 64 GiB of leaves: "cannot
 * allocate ... x 32 bytes", naming no file, or minutes of hashing when it got them). */
static void test_too_many_chunks(void **state)
{
    (void)state;
    char *path = tpath("vast.raw");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), (off_t)1 << 43), 0);
    assert_int_equal(fclose(f), 0);
    dbg_hash_opts o = {.chunk_size = 4096, .threads = 1};
    dbg_chunk_hashes h;
    int64_t t0 = dbg_monotonic_us();
    assert_int_equal(dbg_hash_file(path, &o, &h), -1);
    assert_true(dbg_monotonic_us() - t0 < 2000000);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    if (!strstr(dbg_err_msg(), "vast.raw: 8796093022208 bytes in chunks of 4096 are 2147483648 "
                               "chunk hashes, more than the 33554432 hashed at once; give "
                               "--chunk-size 262144 or larger"))
        fail_msg("error: %s", dbg_err_msg());
    dbg_err_clear();
    assert_int_equal(unlink(path), 0);
    free(path);
}

static void test_hash_threads_agree(void **state)
{
    (void)state;
    size_t n = 10 * 4096 + 123; /* a short last chunk */
    uint8_t *data = pattern(n, 1);
    char *path = tpath("h.raw");
    assert_int_equal(dbg_write_file_atomic(path, data, n), 0);
    dbg_chunk_hashes a, b;
    dbg_hash_opts o1 = {.chunk_size = 4096, .threads = 1}, o2 = {.chunk_size = 4096, .threads = 2};
    assert_int_equal(dbg_hash_file(path, &o1, &a), 0);
    assert_int_equal(dbg_hash_file(path, &o2, &b), 0);
    assert_int_equal(a.n_chunks, 11);
    assert_memory_equal(a.chunks, b.chunks, 11 * 32);
    assert_memory_equal(a.root, b.root, 32);
    uint8_t zero = 0, leaf[32];
    sha(&zero, 1, data + 10 * 4096, 123, NULL, 0, leaf);
    assert_memory_equal(a.chunks[10], leaf, 32);
    dbg_chunk_hashes_free(&a);
    dbg_chunk_hashes_free(&b);
    dbg_hash_opts bad = {.chunk_size = 5000};
    assert_int_equal(dbg_hash_file(path, &bad, &b), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_INVALID);
    free(path);
    free(data);
}

static void test_sparse_equals_dense(void **state)
{
    (void)state;
    /* A sparse raw file (hashed through the zero-chunk shortcut) and the same bytes written
     * out in full must have the same leaves and root. */
    size_t n = 9 * 4096 + 500;
    uint8_t *data = calloc(1, n);
    memset(data + 3 * 4096 + 10, 0x5a, 100);
    char *dense = tpath("dense.raw"), *sparse = tpath("sparse.raw");
    assert_int_equal(dbg_write_file_atomic(dense, data, n), 0);
    FILE *f = fopen(sparse, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, 3 * 4096 + 10, SEEK_SET), 0);
    assert_int_equal(fwrite(data + 3 * 4096 + 10, 1, 100, f), 100);
    assert_int_equal(ftruncate(fileno(f), (off_t)n), 0);
    fclose(f);
    dbg_chunk_hashes a, b;
    dbg_hash_opts o = {.chunk_size = 4096, .threads = 2};
    assert_int_equal(dbg_hash_file(dense, &o, &a), 0);
    assert_int_equal(dbg_hash_file(sparse, &o, &b), 0);
    assert_int_equal(a.n_chunks, 10);
    assert_memory_equal(a.chunks, b.chunks, 10 * 32);
    assert_memory_equal(a.root, b.root, 32);
    uint8_t zero = 0, leaf[32], zeros[4096] = {0};
    sha(&zero, 1, zeros, sizeof(zeros), NULL, 0, leaf);
    assert_memory_equal(b.chunks[0], leaf, 32);
    dbg_chunk_hashes_free(&a);
    dbg_chunk_hashes_free(&b);
    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(sparse, NULL, &w), 0);
    assert_int_equal(w.nonzero_bytes, 4096);
    assert_int_equal(w.ranges[0].offset, 3 * 4096);
    dbg_wipe_result_free(&w);
    free(dense);
    free(sparse);
    free(data);
}

static void flip_byte(const char *path, long off)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    int c = fgetc(f);
    assert_int_equal(fseek(f, off, SEEK_SET), 0);
    fputc(c ^ 0x01, f);
    fclose(f);
}

static void test_seal_verify_tamper(void **state)
{
    (void)state;
    char *key = write_key("seal.pem");
    DBG_AUTOFREE char *pub = dbg_asprintf("%s.pub", key);
    char *other = write_key("other.pem");
    DBG_AUTOFREE char *other_pub = dbg_asprintf("%s.pub", other);
    size_t n = 64 * 4096;
    uint8_t *data = pattern(n, 2);
    char *img = tpath("disk.raw");
    assert_int_equal(dbg_write_file_atomic(img, data, n), 0);
    dbg_seal_opts so = {.key_path = key, .pubkey_path = pub};
    so.hash.chunk_size = 4096;
    dbg_seal_info info;
    assert_int_equal(dbg_image_seal(img, &so, &info), 0);
    assert_string_equal(info.format, "raw");
    assert_string_equal(info.content_root, info.container_root);
    DBG_AUTOFREE char *mpath = dbg_asprintf("%s" DBG_SEAL_SUFFIX, img);
    assert_string_equal(info.manifest_path, mpath);
    dbg_seal_info_free(&info);

    dbg_verify_result v;
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    dbg_verify_result_free(&v);

    /* The image is gone (its manifest is still there, also with a manifest directory): an
     * error naming the image, not a "moved image" mismatch or a missing manifest. */
    {
        DBG_AUTOFREE char *gone = dbg_asprintf("%s.gone", img);
        assert_int_equal(rename(img, gone), 0);
        assert_int_equal(dbg_image_verify_file(img, &so, &v), -1);
        assert_int_equal(dbg_err_code(), DBG_ERR_IO);
        if (!strstr(dbg_err_msg(), "disk.raw: cannot open image: No such file"))
            fail_msg("error: %s", dbg_err_msg());
        dbg_seal_opts sod = so;
        sod.manifest_dir = tmpdir;
        assert_int_equal(dbg_image_verify_file(img, &sod, &v), -1);
        if (!strstr(dbg_err_msg(), "disk.raw: cannot open image: No such file"))
            fail_msg("error with a manifest directory: %s", dbg_err_msg());
        dbg_err_clear();
        assert_int_equal(rename(gone, img), 0);
    }

    /* One content byte in chunk 37 changes: the range names chunk 37's offset. */
    flip_byte(img, 37 * 4096 + 99);
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
    assert_true(v.content_changed);
    assert_int_equal(v.n_content_ranges, 1);
    assert_int_equal(v.content_ranges[0].offset, 37 * 4096);
    assert_int_equal(v.content_ranges[0].length, 4096);
    assert_non_null(strstr(v.detail, "offset 151552"));
    assert_false(v.content_ranges_truncated);
    dbg_verify_result_free(&v);
    flip_byte(img, 37 * 4096 + 99);

    /* 20 separate chunks change: 16 are listed, and the result and its sentence say there are
     * more. */
    for (int c = 0; c < 40; c += 2)
        flip_byte(img, (size_t)c * 4096 + 5);
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
    assert_int_equal(v.n_content_ranges, 16);
    assert_true(v.content_ranges_truncated);
    assert_true(v.container_ranges_truncated);
    assert_non_null(strstr(v.detail, "content changed in more than 16 ranges, first at offset 0"));
    dbg_verify_result_free(&v);
    for (int c = 0; c < 40; c += 2)
        flip_byte(img, (size_t)c * 4096 + 5);

    /* The image grew by 100 bytes: the sentence gives both sizes (it said "format or virtual
     * size changed", with the sealed size only, though the format is never re-probed). */
    {
        FILE *f = fopen(img, "ab");
        assert_non_null(f);
        for (int i = 0; i < 100; i++)
            fputc('g', f);
        fclose(f);
        assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
        assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
        assert_true(v.size_changed);
        if (!strstr(v.detail, "virtual size changed: sealed 262144 bytes, now 262244 (raw)"))
            fail_msg("detail: %s", v.detail);
        /* the range of the new bytes ends with them, not 3996 bytes past the end of the file */
        assert_int_equal(v.n_content_ranges, 1);
        assert_int_equal(v.content_ranges[0].offset, 262144);
        assert_int_equal(v.content_ranges[0].length, 100);
        assert_int_equal(v.n_container_ranges, 1);
        assert_int_equal(v.container_ranges[0].length, 100);
        dbg_verify_result_free(&v);
        assert_int_equal(truncate(img, (off_t)n), 0);
    }

    /* The manifest: one byte of its body, then one of its signature. */
    DBG_AUTOFREE char *text = NULL;
    size_t tlen = 0;
    assert_int_equal(dbg_read_file(mpath, 1 << 24, &text, &tlen), 0);
    char *p = strstr(text, "\"virtual_size\": ");
    assert_non_null(p);
    p += strlen("\"virtual_size\": ");
    *p = *p == '9' ? '8' : (char)(*p + 1);
    assert_int_equal(dbg_write_file_atomic(mpath, text, tlen), 0);
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_BAD_MANIFEST);
    assert_non_null(strstr(v.detail, "signature does not verify"));
    dbg_verify_result_free(&v);

    assert_int_equal(dbg_image_seal(img, &so, &info), 0);
    dbg_seal_info_free(&info);
    free(text);
    text = NULL;
    assert_int_equal(dbg_read_file(mpath, 1 << 24, &text, &tlen), 0);
    p = strstr(text, "\"value\": \"");
    assert_non_null(p);
    p += strlen("\"value\": \"") + 10;
    *p = *p == 'a' ? 'b' : 'a';
    assert_int_equal(dbg_write_file_atomic(mpath, text, tlen), 0);
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_BAD_MANIFEST);
    dbg_verify_result_free(&v);

    /* Sealed with another key than the pinned one. */
    dbg_seal_opts so2 = so;
    so2.key_path = other;
    assert_int_equal(dbg_image_seal(img, &so2, &info), 0);
    dbg_seal_info_free(&info);
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_BAD_MANIFEST);
    assert_non_null(strstr(v.detail, "key other than"));
    dbg_verify_result_free(&v);
    so2.pubkey_path = other_pub;
    assert_int_equal(dbg_image_verify_file(img, &so2, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    dbg_verify_result_free(&v);

    /* Another image sealed with the same key, copied over this one together with its manifest:
     * authentic, but it seals the other path (it once verified as OK). */
    {
        char *other_img = tpath("other.raw");
        uint8_t *od = pattern(8 * 4096, 9);
        assert_int_equal(dbg_write_file_atomic(other_img, od, 8 * 4096), 0);
        assert_int_equal(dbg_image_seal(other_img, &so, &info), 0);
        dbg_seal_info_free(&info);
        char *swap_img = tpath("swapped.raw");
        DBG_AUTOFREE char *swap_m = dbg_asprintf("%s" DBG_SEAL_SUFFIX, swap_img);
        DBG_AUTOFREE char *other_m = dbg_asprintf("%s" DBG_SEAL_SUFFIX, other_img);
        DBG_AUTOFREE char *mtext = NULL;
        size_t mlen = 0;
        assert_int_equal(dbg_write_file_atomic(swap_img, od, 8 * 4096), 0);
        assert_int_equal(dbg_read_file(other_m, 1 << 20, &mtext, &mlen), 0);
        assert_int_equal(dbg_write_file_atomic(swap_m, mtext, mlen), 0);
        assert_int_equal(dbg_image_verify_file(swap_img, &so, &v), 0);
        assert_int_equal(v.status, DBG_VERIFY_BAD_MANIFEST);
        assert_non_null(strstr(v.detail, "other.raw, not"));
        dbg_verify_result_free(&v);
        assert_int_equal(dbg_image_verify_file(other_img, &so, &v), 0);
        assert_int_equal(v.status, DBG_VERIFY_INTACT); /* where it was sealed: fine */
        dbg_verify_result_free(&v);
        free(od);
        free(other_img);
        free(swap_img);
    }

    /* Manifest directory: name carries a path hash; missing manifest is an error. */
    char *mdir = tpath("manifests");
    dbg_seal_opts so3 = so;
    so3.manifest_dir = mdir;
    assert_int_equal(dbg_image_seal(img, &so3, &info), 0);
    assert_true(strncmp(info.manifest_path, mdir, strlen(mdir)) == 0);
    assert_non_null(strstr(info.manifest_path, "disk.raw-"));
    dbg_seal_info_free(&info);
    assert_int_equal(dbg_image_verify_file(img, &so3, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    dbg_verify_result_free(&v);
    char *lonely = tpath("lonely.raw");
    assert_int_equal(dbg_write_file_atomic(lonely, "x", 1), 0);
    assert_int_equal(dbg_image_verify_file(lonely, &so, &v), -1);
    assert_non_null(strstr(dbg_err_msg(), "no seal manifest"));
    dbg_seal_opts nokey = {0};
    assert_int_equal(dbg_image_seal(img, &nokey, &info), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_USAGE);
    free(lonely);
    free(mdir);
    free(img);
    free(data);
    free(key);
    free(other);
}

/* A raw disk whose guest wrote the qcow2 magic over its first bytes (the probe cannot even open
 * it) sealed with a declared format: the manifest records raw and that it was declared, verify
 * reads it as raw without being told, a declared format other than the manifest's is an error
 * naming both, and migrate-check compares it as declared. A probed seal is recorded as probed. */
static void test_declared_format(void **state)
{
    (void)state;
    char *key = write_key("fmt.pem");
    DBG_AUTOFREE char *pub = dbg_asprintf("%s.pub", key);
    size_t n = 16 * 4096;
    uint8_t *data = pattern(n, 4);
    memcpy(data, "QFI\xfb", 4);
    char *img = tpath("fake.raw");
    assert_int_equal(dbg_write_file_atomic(img, data, n), 0);
    dbg_image_open_opts raw = {.format = "raw"};
    dbg_image *im = dbg_image_open(img, &raw);
    assert_non_null(im);
    assert_int_equal(dbg_image_get_format(im), DBG_IMAGE_RAW);
    assert_int_equal(dbg_image_header_format(im), DBG_IMAGE_QCOW2);
    dbg_image_close(im);

    dbg_seal_opts so = {.key_path = key, .pubkey_path = pub, .format = "raw"};
    so.hash.chunk_size = 4096;
    dbg_seal_info info;
    assert_int_equal(dbg_image_seal(img, &so, &info), 0);
    assert_string_equal(info.format, "raw");
    assert_false(info.format_probed);
    dbg_seal_info_free(&info);
    DBG_AUTOFREE char *mpath = dbg_asprintf("%s" DBG_SEAL_SUFFIX, img);
    DBG_AUTOFREE char *text = NULL;
    assert_int_equal(dbg_read_file(mpath, 1 << 24, &text, NULL), 0);
    assert_non_null(strstr(text, "\"format_probed\": false"));

    dbg_verify_result v;
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    assert_string_equal(v.format, "raw");
    assert_false(v.format_probed);
    dbg_verify_result_free(&v);
    dbg_seal_opts undeclared = so;
    undeclared.format = NULL;
    assert_int_equal(dbg_image_verify_file(img, &undeclared, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    assert_string_equal(v.format, "raw");
    assert_false(v.format_probed); /* declared when sealed */
    dbg_verify_result_free(&v);
    flip_byte(img, 9 * 4096 + 3);
    assert_int_equal(dbg_image_verify_file(img, &undeclared, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
    assert_true(v.content_changed);
    assert_int_equal(v.n_content_ranges, 1);
    assert_int_equal(v.content_ranges[0].offset, 9 * 4096);
    dbg_verify_result_free(&v);
    flip_byte(img, 9 * 4096 + 3);
    dbg_seal_opts other = so;
    other.format = "qcow2";
    assert_int_equal(dbg_image_verify_file(img, &other, &v), -1);
    assert_non_null(
        strstr(dbg_err_msg(), "declared qcow2, but sealed as raw (declared when sealed"));

    /* Sealed by probing: said in the manifest and by verify unless a format is declared then. */
    char *plain = tpath("plain-fmt.raw");
    assert_int_equal(dbg_write_file_atomic(plain, data + 4096, n - 4096), 0);
    assert_int_equal(dbg_image_seal(plain, &undeclared, &info), 0);
    assert_true(info.format_probed);
    dbg_seal_info_free(&info);
    assert_int_equal(dbg_image_verify_file(plain, &undeclared, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    assert_true(v.format_probed);
    dbg_verify_result_free(&v);
    assert_int_equal(dbg_image_verify_file(plain, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_INTACT);
    assert_false(v.format_probed);
    dbg_verify_result_free(&v);
    assert_int_equal(dbg_image_verify_file(plain, &other, &v), -1);
    assert_non_null(strstr(dbg_err_msg(), "declared qcow2, but sealed as raw (probed when sealed"));

    /* Migration of the disk with the fake magic: compared as declared. */
    char *dst = tpath("fake-dst.raw");
    data[12 * 4096 + 5] ^= 0x40;
    assert_int_equal(dbg_write_file_atomic(dst, data, n), 0);
    dbg_migrate_opts mo = {.source_format = "raw", .dest_format = "raw"};
    mo.hash.chunk_size = 4096;
    dbg_migrate_result r;
    assert_int_equal(dbg_migrate_check(img, dst, &mo, &r), 0);
    assert_false(r.identical);
    assert_int_equal(r.n_ranges, 1);
    assert_int_equal(r.ranges[0].offset, 12 * 4096);
    assert_int_equal(r.source_format, DBG_IMAGE_RAW);
    assert_false(r.source_format_probed);
    assert_false(r.dest_format_probed);
    dbg_migrate_result_free(&r);
    free(dst);
    free(plain);
    free(img);
    free(data);
    free(key);
}

/* Regression for a suspected miss of the sparse fast path (lseek SEEK_DATA): bytes written into
 * a hole of a sealed sparse file just before verifying -- still only in the page cache, not
 * allocated on disk -- must be seen, as must a changed byte in a data chunk. (The flaky
 * integration test turned out to overwrite a byte with the value it already had.) */
static void test_fresh_write_into_hole_detected(void **state)
{
    (void)state;
    char *key = write_key("hole.pem");
    DBG_AUTOFREE char *pub = dbg_asprintf("%s.pub", key);
    char *img = tpath("holes.raw");
    FILE *f = fopen(img, "w");
    assert_non_null(f);
    assert_int_equal(fseek(f, 3 * 4096 + 7, SEEK_SET), 0);
    assert_int_equal(fwrite("data", 1, 4, f), 4);
    assert_int_equal(ftruncate(fileno(f), 64 * 4096), 0);
    fclose(f);
    dbg_seal_opts so = {.key_path = key, .pubkey_path = pub};
    so.hash.chunk_size = 4096;
    so.hash.threads = 2;
    dbg_seal_info info;
    for (int round = 0; round < 20; round++) {
        assert_int_equal(dbg_image_seal(img, &so, &info), 0);
        dbg_seal_info_free(&info);
        long hole_off = (long)(40 + round) * 4096 + 123;
        flip_byte(img, hole_off);        /* 0x00 -> 0x01 inside a hole */
        flip_byte(img, 3 * 4096 + 8);    /* inside the data chunk */
        dbg_verify_result v;
        assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
        assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
        assert_int_equal(v.n_content_ranges, 2);
        assert_int_equal(v.content_ranges[0].offset, 3 * 4096);
        assert_int_equal(v.content_ranges[1].offset, (40 + round) * 4096);
        dbg_verify_result_free(&v);
    }
    free(img);
    free(key);
}

static void test_migrate_repair(void **state)
{
    (void)state;
    size_t n = 32 * 4096;
    uint8_t *data = pattern(n, 3);
    char *src = tpath("src.raw"), *dst = tpath("dst.raw");
    assert_int_equal(dbg_write_file_atomic(src, data, n), 0);
    data[5 * 4096 + 1] ^= 0xff;
    data[6 * 4096 + 2] ^= 0xff;
    data[20 * 4096] ^= 0xff;
    assert_int_equal(dbg_write_file_atomic(dst, data, n - 100), 0); /* also short */
    dbg_migrate_opts mo = {.repair = 0};
    mo.hash.chunk_size = 4096;
    dbg_migrate_result r;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_false(r.identical);
    assert_int_equal(r.n_ranges, 3);
    assert_int_equal(r.ranges[0].offset, 5 * 4096);
    assert_int_equal(r.ranges[0].length, 2 * 4096);
    assert_int_equal(r.ranges[1].offset, 20 * 4096);
    assert_int_equal(r.ranges[2].offset, 31 * 4096);
    dbg_migrate_result_free(&r);
    mo.repair = 1;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_true(r.repaired);
    assert_true(r.identical);
    assert_string_equal(r.source_root, r.dest_root);
    dbg_migrate_result_free(&r);
    DBG_AUTOFREE char *a = NULL, *b = NULL;
    size_t al, bl;
    assert_int_equal(dbg_read_file(src, 1 << 20, &a, &al), 0);
    assert_int_equal(dbg_read_file(dst, 1 << 20, &b, &bl), 0);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    mo.repair = 0;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_true(r.identical);
    assert_int_equal(r.n_ranges, 0);
    dbg_migrate_result_free(&r);
    free(src);
    free(dst);
    free(data);
}

/* The source changes again after it was read (a VM still writing): the repair copies the new
 * bytes, the re-verification against the source as read finds that chunk still different, and
 * the result lists it (it said only STILL DIFFERENT). */
typedef struct {
    const char *src;
    int changed;
} change_ctx;

static void change_source_once_read(void *opaque, uint64_t done, uint64_t total)
{
    change_ctx *c = opaque;
    if (c->changed || done != total)
        return;
    c->changed = 1; /* the first hash (the source's) is complete: change its chunk 5 */
    FILE *f = fopen(c->src, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 5 * 4096 + 100, SEEK_SET), 0);
    assert_int_equal(fwrite("again", 1, 5, f), 5);
    assert_int_equal(fclose(f), 0);
}

static void test_migrate_repair_source_changed(void **state)
{
    (void)state;
    size_t n = 16 * 4096;
    uint8_t *data = pattern(n, 7);
    char *src = tpath("src-moving.raw"), *dst = tpath("dst-moving.raw");
    assert_int_equal(dbg_write_file_atomic(src, data, n), 0);
    data[5 * 4096 + 1] ^= 0xff;
    data[9 * 4096 + 1] ^= 0xff;
    assert_int_equal(dbg_write_file_atomic(dst, data, n), 0);
    change_ctx c = {.src = src};
    dbg_migrate_opts mo = {.repair = 1};
    mo.hash.chunk_size = 4096;
    mo.hash.threads = 1;
    mo.hash.progress = change_source_once_read;
    mo.hash.progress_ctx = &c;
    dbg_migrate_result r;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_true(c.changed);
    assert_true(r.repaired);
    assert_string_equal(r.repair_error, "");
    assert_false(r.identical);
    assert_int_equal(r.n_ranges, 2); /* before: chunks 5 and 9 */
    assert_int_equal(r.n_still, 1);  /* after: chunk 5, changed again; 9 repaired */
    assert_int_equal(r.still_ranges[0].offset, 5 * 4096);
    assert_int_equal(r.still_ranges[0].length, 4096);
    assert_int_equal(r.still_differing_bytes, 4096);
    dbg_migrate_result_free(&r);
    free(src);
    free(dst);
    free(data);
}

/* The image is written while it is being verified (or sealed): verify said "intact" for a file
 * that no longer held the bytes it had hashed, and seal signed bytes the file no longer held. */
static void write_once_read(void *opaque, uint64_t done, uint64_t total)
{
    change_ctx *c = opaque; /* src: the image */
    (void)total;
    if (c->changed || done == 0)
        return;
    c->changed = 1; /* chunk 0 is hashed: change it */
    flip_byte(c->src, 100);
}

static void test_changed_while_read(void **state)
{
    (void)state;
    char *key = write_key("moving.pem");
    DBG_AUTOFREE char *pub = dbg_asprintf("%s.pub", key);
    char *img = tpath("moving.raw");
    uint8_t *data = pattern(16 * 4096, 11);
    assert_int_equal(dbg_write_file_atomic(img, data, 16 * 4096), 0);
    dbg_seal_opts so = {.key_path = key, .pubkey_path = pub};
    so.hash.chunk_size = 4096;
    so.hash.threads = 1;
    dbg_seal_info info;
    assert_int_equal(dbg_image_seal(img, &so, &info), 0);
    dbg_seal_info_free(&info);
    change_ctx c = {.src = img};
    so.hash.progress = write_once_read;
    so.hash.progress_ctx = &c;
    dbg_verify_result v;
    assert_int_equal(dbg_image_verify_file(img, &so, &v), -1);
    assert_true(c.changed);
    assert_non_null(strstr(dbg_err_msg(), "moving.raw was written while being verified"));
    so.hash.progress = NULL; /* read again at rest: the change is a mismatch */
    assert_int_equal(dbg_image_verify_file(img, &so, &v), 0);
    assert_int_equal(v.status, DBG_VERIFY_MISMATCH);
    dbg_verify_result_free(&v);
    /* a seal of a file written meanwhile is refused; the earlier manifest stays */
    DBG_AUTOFREE char *mpath = dbg_seal_manifest_path(img, NULL);
    DBG_AUTOFREE char *before = NULL;
    size_t blen = 0;
    assert_int_equal(dbg_read_file(mpath, 1 << 20, &before, &blen), 0);
    c.changed = 0;
    so.hash.progress = write_once_read;
    assert_int_equal(dbg_image_seal(img, &so, &info), -1);
    assert_true(c.changed);
    assert_non_null(strstr(dbg_err_msg(), "moving.raw was written while being sealed"));
    DBG_AUTOFREE char *after = NULL;
    size_t alen = 0;
    assert_int_equal(dbg_read_file(mpath, 1 << 20, &after, &alen), 0);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    free(data);
    free(img);
    free(key);
}

/* More differing ranges than the result lists: the list stops and says so, the byte count and
 * the repair cover all of them (the repair once copied only the listed ranges). */
static void test_migrate_more_ranges_than_listed(void **state)
{
    (void)state;
    size_t n = 16 * 4096;
    uint8_t *data = pattern(n, 5);
    char *src = tpath("src-many.raw"), *dst = tpath("dst-many.raw");
    assert_int_equal(dbg_write_file_atomic(src, data, n), 0);
    for (size_t c = 1; c < 16; c += 2) /* 8 separate differing chunks */
        data[c * 4096 + 7] ^= 0x5a;
    assert_int_equal(dbg_write_file_atomic(dst, data, n), 0);
    dbg_migrate_opts mo = {.max_ranges = 3};
    mo.hash.chunk_size = 4096;
    dbg_migrate_result r;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_false(r.identical);
    assert_int_equal(r.n_ranges, 3);
    assert_true(r.ranges_truncated);
    assert_int_equal(r.differing_bytes, 8 * 4096);
    assert_int_equal(r.ranges[2].offset, 5 * 4096);
    dbg_migrate_result_free(&r);
    mo.repair = 1;
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_true(r.repaired);
    assert_true(r.identical);
    assert_string_equal(r.source_root, r.dest_root);
    dbg_migrate_result_free(&r);
    mo.repair = 0;
    mo.max_ranges = 0; /* the default lists all 8 */
    for (size_t c = 1; c < 16; c += 2)
        data[c * 4096 + 9] ^= 0x11;
    assert_int_equal(dbg_write_file_atomic(dst, data, n), 0);
    assert_int_equal(dbg_migrate_check(src, dst, &mo, &r), 0);
    assert_int_equal(r.n_ranges, 8);
    assert_false(r.ranges_truncated);
    dbg_migrate_result_free(&r);
    free(src);
    free(dst);
    free(data);
}

static void test_wipe_and_status(void **state)
{
    (void)state;
    size_t n = 10u << 20;
    uint8_t *z = calloc(1, n);
    char *vol = tpath("vol.raw");
    assert_int_equal(dbg_write_file_atomic(vol, z, n), 0);
    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(vol, NULL, &w), 0);
    assert_int_equal(w.nonzero_bytes, 0);
    assert_int_equal(w.size, n);
    dbg_wipe_result_free(&w);
    z[5000] = 1;
    z[(5u << 20) - 1] = 2; /* last byte of a read block */
    z[(5u << 20)] = 3;     /* first byte of the next: merged into one range */
    assert_int_equal(dbg_write_file_atomic(vol, z, n), 0);
    assert_int_equal(dbg_wipe_check(vol, NULL, &w), 0);
    assert_int_equal(w.nonzero_bytes, 3 * 4096);
    assert_int_equal(w.n_ranges, 2);
    assert_int_equal(w.ranges[0].offset, 4096);
    assert_int_equal(w.ranges[1].offset, (5u << 20) - 4096);
    assert_int_equal(w.ranges[1].length, 8192);
    dbg_wipe_result_free(&w);
    char *sdir = tpath("status");
    /* the status lists the images the run covered by real path, with the name given when
     * that is a link (a VM disk may name the link), and a missing one by its name */
    DBG_AUTOFREE char *link = tpath("vol-link.raw");
    DBG_AUTOFREE char *gone = tpath("gone.raw");
    unlink(link);
    assert_int_equal(symlink(vol, link), 0);
    char real[PATH_MAX];
    assert_non_null(realpath(vol, real));
    dbg_seal_status_image ims[] = {{link, "sealed"}, {gone, "seal_failed"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, ims, 2), 0);
    DBG_AUTOFREE char *spath = dbg_path_join(sdir, "image_seals.json");
    json_error_t jerr;
    json_t *j = json_load_file(spath, 0, &jerr);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "image_seals");
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
    int64_t t = 0;
    assert_int_equal(dbg_time_parse_rfc3339(json_string_value(json_object_get(j, "updated")), &t), 0);
    assert_true(dbg_now_us() - t < 60 * 1000000LL);
    const json_t *list = json_object_get(j, "images");
    assert_int_equal(json_array_size(list), 2);
    const json_t *e0 = json_array_get(list, 0), *e1 = json_array_get(list, 1);
    assert_string_equal(json_string_value(json_object_get(e0, "path")), real);
    assert_string_equal(json_string_value(json_object_get(e0, "named")), link);
    assert_string_equal(json_string_value(json_object_get(e0, "state")), "sealed");
    assert_string_equal(json_string_value(json_object_get(e1, "path")), gone);
    assert_null(json_object_get(e1, "named"));
    assert_string_equal(json_string_value(json_object_get(e1, "state")), "seal_failed");
    assert_int_equal(json_integer_value(json_object_get(j, "images_omitted")), 0);
    json_decref(j);
    /* bounded: the rest are counted, so the file stays within what the collector reads (the
     * earlier run's vol, still there, is one more; its gone.raw, never there, is dropped) */
    size_t many = DBG_SEAL_STATUS_MAX_IMAGES + 4;
    dbg_seal_status_image *lots = calloc(many, sizeof(*lots));
    char **names = calloc(many, sizeof(*names));
    assert_non_null(lots);
    assert_non_null(names);
    for (size_t i = 0; i < many; i++) {
        names[i] = dbg_asprintf("/nonexistent/many-%zu.raw", i);
        lots[i] = (dbg_seal_status_image){names[i], "intact"};
    }
    assert_int_equal(dbg_integrity_write_status(sdir, "many", 0, many, 0, 0, lots, many), 0);
    for (size_t i = 0; i < many; i++)
        free(names[i]);
    free(names);
    free(lots);
    j = json_load_file(spath, 0, &jerr);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "images")), DBG_SEAL_STATUS_MAX_IMAGES);
    assert_int_equal(json_integer_value(json_object_get(j, "images_omitted")), 5);
    assert_true(json_is_true(json_object_get(j, "ok")));
    json_decref(j);
    unlink(link);
    free(sdir);
    free(vol);
    free(z);
}

/* The image_seals.json a run left, as the state of each image it lists ("path=state ..."),
 * with its "ok" flag first. */
static char *seal_states(const char *sdir)
{
    DBG_AUTOFREE char *spath = dbg_path_join(sdir, "image_seals.json");
    json_error_t jerr;
    json_t *j = json_load_file(spath, 0, &jerr);
    assert_non_null(j);
    dbg_buf b;
    dbg_buf_init(&b, 0);
    dbg_buf_printf(&b, "ok=%s", json_is_true(json_object_get(j, "ok")) ? "true" : "false");
    const json_t *list = json_object_get(j, "images");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *base = strrchr(path, '/');
        dbg_buf_printf(&b, " %s=%s", base ? base + 1 : path,
                       json_string_value(json_object_get(e, "state")));
    }
    json_decref(j);
    return dbg_buf_steal(&b);
}

/* Providers seal in batches: each run merges into the list, keyed by real path, the latest
 * state winning, and "ok" is the state of the whole list (a list of the last batch only made
 * the assessment call the earlier batches' disks unsealed; a failed seal said ok). */
static void test_seal_status_merge(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sdir = tpath("merge-status");
    DBG_AUTOFREE char *a = tpath("merge-a.raw");
    DBG_AUTOFREE char *b = tpath("merge-b.raw");
    DBG_AUTOFREE char *la = tpath("merge-a-link.raw");
    DBG_AUTOFREE char *spath = dbg_path_join(sdir, "image_seals.json");
    assert_int_equal(dbg_write_file_atomic(a, "a", 1), 0);
    assert_int_equal(dbg_write_file_atomic(b, "b", 1), 0);
    unlink(la);
    assert_int_equal(symlink(a, la), 0);
    char *st;
    dbg_seal_status_image run1[] = {{a, "sealed"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run1, 1), 0);
    dbg_seal_status_image run2[] = {{b, "sealed"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run2, 1), 0);
    /* the second batch keeps the first's image */
    assert_string_equal(st = seal_states(sdir), "ok=true merge-b.raw=sealed merge-a.raw=sealed");
    free(st);
    /* a seal that failed: ok false, and the image's entry replaced (by its real path, though
     * given by a link's name) */
    dbg_seal_status_image run3[] = {{la, "seal_failed"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "0 sealed", 0, 0, 0, 0, run3, 1), 0);
    assert_string_equal(st = seal_states(sdir),
                        "ok=false merge-a.raw=seal_failed merge-b.raw=sealed");
    free(st);
    /* ... until a later run seals or verifies it: a verify of b alone leaves a's problem */
    dbg_seal_status_image run4[] = {{b, "intact"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "1 verified", 0, 1, 0, 0, run4, 1), 0);
    assert_string_equal(st = seal_states(sdir),
                        "ok=false merge-b.raw=intact merge-a.raw=seal_failed");
    free(st);
    /* one image given twice in a run (by a link and by itself): one entry, the later state */
    dbg_seal_status_image run5[] = {{la, "mismatch"}, {a, "intact"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "2 verified", 0, 2, 0, 0, run5, 2), 0);
    assert_string_equal(st = seal_states(sdir), "ok=true merge-a.raw=intact merge-b.raw=intact");
    free(st);
    /* an earlier entry whose image is gone is dropped (nothing is left to seal), and said */
    unlink(b);
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run1, 1), 0);
    assert_string_equal(st = seal_states(sdir), "ok=true merge-a.raw=sealed");
    free(st);
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(spath, 1 << 20, &text, &len), 0);
    assert_non_null(strstr(text, "dropped earlier entries of images that no longer exist: "));
    assert_non_null(strstr(text, "merge-b.raw"));
    free(text);
    text = NULL;
    /* a file of a dengbao before the list names no image: replaced */
    const char *old = "{\"name\":\"image_seals\",\"ok\":true,\"updated\":\"x\"}";
    assert_int_equal(dbg_write_file_atomic(spath, old, strlen(old)), 0);
    dbg_seal_status_image run6[] = {{b, "unverified"}};
    assert_int_equal(dbg_integrity_write_status(sdir, "0 verified", 0, 0, 0, 1, run6, 1), 0);
    assert_string_equal(st = seal_states(sdir), "ok=false merge-b.raw=unverified");
    free(st);
    /* a damaged file is not replaced by a shorter list: an error naming it and why, the file
     * left as it was */
    const char *bad[] = {
        "{\"name\":\"image_seals\",\"images\":[{\"path\":\"/x\",\"state\":\"sealed\"}",
        "{\"name\":\"image_seals\",\"images\":[{\"path\":\"x\",\"state\":\"sealed\"}]}",
        "{\"name\":\"image_seals\",\"images\":[{\"path\":\"/x\",\"state\":\"fine\"}]}",
        "{\"name\":\"image_seals\",\"images\":{}}",
        "{\"name\":\"guard\",\"images\":[]}",
    };
    const char *why[] = {":1:", "$.images[0]: not an image entry", "$.images[0]",
                         "\"images\" is not a list", "not an image_seals status"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(dbg_write_file_atomic(spath, bad[i], strlen(bad[i])), 0);
        assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run1, 1), -1);
        const char *m = dbg_err_msg();
        assert_non_null(strstr(m, spath));
        assert_non_null(strstr(m, why[i]));
        assert_non_null(strstr(m, "move it aside"));
        dbg_err_clear();
        assert_int_equal(dbg_read_file(spath, 1 << 20, &text, &len), 0);
        assert_string_equal(text, bad[i]);
        free(text);
        text = NULL;
    }
    /* nor is one that is a link (dengbao writes by rename) */
    unlink(spath);
    assert_int_equal(symlink(a, spath), 0);
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run1, 1), -1);
    assert_non_null(strstr(dbg_err_msg(), "a symbolic link"));
    dbg_err_clear();
    unlink(spath);
    /* an earlier run's omitted problem stands while the list cannot show it */
    const char *om = "{\"name\":\"image_seals\",\"ok\":false,\"images\":[],"
                     "\"images_omitted\":2,\"images_omitted_problems\":1}";
    assert_int_equal(dbg_write_file_atomic(spath, om, strlen(om)), 0);
    assert_int_equal(dbg_integrity_write_status(sdir, "1 sealed", 1, 0, 0, 0, run1, 1), 0);
    assert_string_equal(st = seal_states(sdir), "ok=false merge-a.raw=sealed");
    free(st);
    unlink(spath);
    unlink(la);
    unlink(a);
}

static int touch_page(void *arg)
{
    const volatile uint8_t *p = *(const uint8_t **)arg;
    (void)p[0]; /* a volatile read: the access is the point */
    return 0;
}

/* Hashing from the page-cache mapping gives the same leaves as reading, and a file truncated
 * under the mapping is an error naming it, not a SIGBUS. The view exists only where the kernel
 * maps this file's cache in 2 MiB pages; the test evicts and re-reads the file so it can. */
static void test_file_view(void **state)
{
    (void)state;
    const size_t mib = (size_t)1 << 20, n = 80;
    DBG_AUTOFREE char *path = tpath("view.raw");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    uint8_t *buf = malloc(mib);
    assert_non_null(buf);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < mib; k++) {
            x ^= x << 13, x ^= x >> 17, x ^= x << 5;
            buf[k] = (uint8_t)x;
        }
        assert_int_equal(write(fd, buf, mib), (ssize_t)mib);
    }
    assert_int_equal(fdatasync(fd), 0);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    for (size_t i = 0; i < n; i++) /* read back in big pieces: readahead's folios grow */
        assert_int_equal(pread(fd, buf, mib, (off_t)(i * mib)), (ssize_t)mib);
    uint8_t (*leaves)[32] = malloc(n * 32);
    assert_non_null(leaves);
    static const uint8_t zero = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pread(fd, buf, mib, (off_t)(i * mib)), (ssize_t)mib);
        sha(&zero, 1, buf, mib, NULL, 0, leaves[i]);
    }
    uint8_t root[32];
    dbg_merkle_root((const uint8_t(*)[32])leaves, n, root);
    dbg_hash_opts o = {.threads = 2};
    dbg_chunk_hashes h;
    assert_int_equal(dbg_hash_file(path, &o, &h), 0);
    assert_memory_equal(h.root, root, 32);
    assert_memory_equal(h.chunks[n - 1], leaves[n - 1], 32);
    dbg_chunk_hashes_free(&h);

    dbg_file_view *v = dbg_file_view_open(fd, (uint64_t)n * mib, path);
    if (!v) {
        print_message("# no 2 MiB page-cache mapping here: only the read path was checked\n");
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        uint8_t got[32];
        unsigned int len = 0;
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        assert_int_equal(EVP_DigestUpdate(ctx, &zero, 1), 1);
        assert_int_equal(dbg_file_view_digest(v, 40 * mib, mib, ctx), 0);
        assert_int_equal(EVP_DigestFinal_ex(ctx, got, &len), 1);
        assert_memory_equal(got, leaves[40], 32);
        assert_int_equal(ftruncate(fd, (off_t)(10 * mib)), 0);
        assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
        assert_int_equal(dbg_file_view_digest(v, 60 * mib, mib, ctx), -1);
        assert_non_null(strstr(dbg_err_msg(), "view.raw"));
        assert_int_equal(dbg_file_view_digest(v, 2 * mib, mib, ctx), 0); /* what is left reads */
        assert_int_equal(dbg_file_view_digest(v, 90 * mib, mib, ctx), -1); /* past the view */
        EVP_MD_CTX_free(ctx);
        dbg_file_view_close(v);
    }
    /* the guard alone (what the scanner's plain mapping uses): a page gone under a mapping */
    assert_int_equal(ftruncate(fd, (off_t)(8 * mib)), 0);
    uint8_t *m = mmap(NULL, 8 * mib, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(m != MAP_FAILED);
    assert_int_equal(ftruncate(fd, (off_t)mib), 0);
    const uint8_t *past = m + 4 * mib;
    assert_int_equal(dbg_sigbus_guard(touch_page, (void *)&past), -2);
    past = m + 4096;
    assert_int_equal(dbg_sigbus_guard(touch_page, (void *)&past), 0);
    munmap(m, 8 * mib);
    close(fd);
    free(leaves);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle_shape),
        cmocka_unit_test(test_merkle_equal_leaves),
        cmocka_unit_test(test_hash_threads_agree),
        cmocka_unit_test(test_too_many_chunks),
        cmocka_unit_test(test_sparse_equals_dense),
        cmocka_unit_test(test_seal_verify_tamper),
        cmocka_unit_test(test_migrate_repair),
        cmocka_unit_test(test_migrate_more_ranges_than_listed),
        cmocka_unit_test(test_migrate_repair_source_changed),
        cmocka_unit_test(test_fresh_write_into_hole_detected),
        cmocka_unit_test(test_declared_format),
        cmocka_unit_test(test_wipe_and_status),
        cmocka_unit_test(test_changed_while_read),
        cmocka_unit_test(test_seal_status_merge),
        cmocka_unit_test(test_file_view),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
