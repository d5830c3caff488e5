/* Unit tests for the qcow2/raw reader: images built byte by byte here (4 KiB clusters) with
 * data, zero, unallocated, zlib- and zstd-compressed clusters, backing chains and internal
 * snapshots, and hostile variants (huge sizes, loops, pointers out of the file, truncation)
 * that must fail with a clear error naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>

#include "dengbao/integrity.h"
#include "dengbao/malware.h"
#include "dengbao/util.h"

#define CB 12
#define CS (1u << CB)
#define VSIZE (16u * CS)

static char tmpdir[64];

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

/* A qcow2 v3 image: cluster 0 header, 1 L1, 2 L2, 3.. data. */
typedef struct {
    uint8_t *buf;
    size_t len;
} image_bytes;

static void grow(image_bytes *im, size_t len)
{
    if (len > im->len) {
        im->buf = realloc(im->buf, len);
        assert_non_null(im->buf);
        memset(im->buf + im->len, 0, len - im->len);
        im->len = len;
    }
}

static image_bytes base_image(uint64_t vsize, const char *backing)
{
    image_bytes im = {0};
    grow(&im, 4 * CS);
    uint8_t *h = im.buf;
    put32(h, 0x514649fb);
    put32(h + 4, 3);
    put32(h + 20, CB);
    put64(h + 24, vsize);
    put32(h + 36, 1);       /* l1_size */
    put64(h + 40, CS);      /* l1 offset */
    put64(h + 48, 0);       /* refcounts: unused by a reader */
    put32(h + 96, 4);       /* refcount_order */
    put32(h + 100, 104);    /* header_length */
    put64(im.buf + CS, 2 * CS); /* L1[0] -> L2 at cluster 2 */
    if (backing) {
        put64(h + 8, 512);
        put32(h + 16, (uint32_t)strlen(backing));
        memcpy(h + 512, backing, strlen(backing));
    }
    return im;
}

static void set_l2(image_bytes *im, unsigned idx, uint64_t entry)
{
    put64(im->buf + 2 * CS + 8 * idx, entry);
}

/* Puts a data cluster filled with byte at guest cluster idx; returns its host offset. */
static uint64_t add_data(image_bytes *im, unsigned idx, uint8_t byte)
{
    uint64_t host = im->len;
    grow(im, im->len + CS);
    memset(im->buf + host, byte, CS);
    set_l2(im, idx, host | (1ull << 63));
    return host;
}

static void add_compressed(image_bytes *im, unsigned idx, const uint8_t *plain, int zstd)
{
    uint8_t out[2 * CS];
    size_t clen;
    if (zstd) {
        clen = ZSTD_compress(out, sizeof(out), plain, CS, 3);
        assert_false(ZSTD_isError(clen));
    } else {
        z_stream zs = {0};
        assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY), Z_OK);
        zs.next_in = (uint8_t *)plain;
        zs.avail_in = CS;
        zs.next_out = out;
        zs.avail_out = sizeof(out);
        assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
        clen = sizeof(out) - zs.avail_out;
        deflateEnd(&zs);
    }
    uint64_t host = im->len + 100; /* deliberately not sector-aligned, as QEMU packs them */
    grow(im, host + clen);
    memcpy(im->buf + host, out, clen);
    uint64_t nsect = (host + clen - 1) / 512 - host / 512; /* additional sectors */
    unsigned shift = 62 - (CB - 8);
    set_l2(im, idx, (1ull << 62) | (nsect << shift) | host);
}

static char *write_image(const char *name, const image_bytes *im)
{
    char *path = dbg_path_join(tmpdir, name);
    assert_non_null(path);
    assert_int_equal(dbg_write_file_atomic(path, im->buf, im->len), 0);
    return path;
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbg-qcow2-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static uint8_t *read_all(dbg_image *img)
{
    uint64_t n = dbg_image_virtual_size(img);
    uint8_t *buf = malloc(n ? n : 1);
    dbg_image_reader *r = dbg_image_reader_new(img);
    assert_non_null(buf);
    assert_non_null(r);
    assert_int_equal(dbg_image_read(r, 0, buf, n), 0);
    dbg_image_reader_free(r);
    return buf;
}

static void test_cluster_kinds(void **state)
{
    (void)state;
    image_bytes im = base_image(VSIZE, NULL);
    add_data(&im, 0, 0xaa);
    add_data(&im, 1, 0xbb);                 /* contiguous with cluster 0: one pread */
    uint64_t h = add_data(&im, 3, 0xcc);
    set_l2(&im, 4, h | 1);                  /* zero flag with a preallocated offset */
    uint8_t plain[CS];
    for (unsigned i = 0; i < CS; i++)
        plain[i] = (uint8_t)(i / 64);
    add_compressed(&im, 5, plain, 0);
    char *path = write_image("kinds.qcow2", &im);
    dbg_image *img = dbg_image_open(path, NULL);
    assert_non_null(img);
    assert_int_equal(dbg_image_get_format(img), DBG_IMAGE_QCOW2);
    assert_int_equal(dbg_image_virtual_size(img), VSIZE);
    uint8_t *all = read_all(img);
    for (unsigned i = 0; i < CS; i++) {
        assert_int_equal(all[i], 0xaa);
        assert_int_equal(all[CS + i], 0xbb);
        assert_int_equal(all[2 * CS + i], 0);     /* unallocated, no backing */
        assert_int_equal(all[3 * CS + i], 0xcc);
        assert_int_equal(all[4 * CS + i], 0);     /* zero flag */
        assert_int_equal(all[5 * CS + i], plain[i]);
    }
    /* An unaligned read across cluster borders gives the same bytes. */
    dbg_image_reader *r = dbg_image_reader_new(img);
    uint8_t part[CS + 10];
    assert_int_equal(dbg_image_read(r, CS - 5, part, sizeof(part)), 0);
    assert_memory_equal(part, all + CS - 5, sizeof(part));
    assert_int_equal(dbg_image_read(r, VSIZE - 1, part, 2), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_INVALID);
    /* Metadata-proven zeros: unallocated (2), zero flag (4), the unused tail (6..15). */
    assert_int_equal(dbg_image_range_is_zero(r, 2 * CS, CS), 1);
    assert_int_equal(dbg_image_range_is_zero(r, 4 * CS + 5, 10), 1);
    assert_int_equal(dbg_image_range_is_zero(r, 6 * CS, 10 * CS), 1);
    assert_int_equal(dbg_image_range_is_zero(r, 2 * CS, 2 * CS), 0); /* 3 holds data */
    assert_int_equal(dbg_image_range_is_zero(r, 5 * CS, CS), 0);     /* compressed */
    assert_int_equal(dbg_image_range_is_zero(r, VSIZE, 1), -1);
    dbg_image_reader_free(r);
    free(all);
    dbg_image_close(img);
    free(path);
    free(im.buf);
}

static void test_zstd_cluster(void **state)
{
    (void)state;
    image_bytes im = base_image(VSIZE, NULL);
    put64(im.buf + 72, 1ull << 3);  /* incompatible: compression type */
    put32(im.buf + 100, 112);
    im.buf[104] = 1;                /* zstd */
    uint8_t plain[CS];
    for (unsigned i = 0; i < CS; i++)
        plain[i] = (uint8_t)("dengbao"[i % 7] ^ (i >> 9));
    add_compressed(&im, 2, plain, 1);
    char *path = write_image("zstd.qcow2", &im);
    dbg_image *img = dbg_image_open(path, NULL);
    assert_non_null(img);
    uint8_t *all = read_all(img);
    assert_memory_equal(all + 2 * CS, plain, CS);
    free(all);
    dbg_image_close(img);
    /* Garbage in the compressed stream is an error naming the guest offset. */
    uint64_t entry = 0;
    for (int i = 0; i < 8; i++)
        entry = entry << 8 | im.buf[2 * CS + 16 + i];
    uint64_t host = entry & ((1ull << (62 - (CB - 8))) - 1);
    memset(im.buf + host, 0x5a, 16);
    free(path);
    path = write_image("zstd-bad.qcow2", &im);
    img = dbg_image_open(path, NULL);
    assert_non_null(img);
    dbg_image_reader *r = dbg_image_reader_new(img);
    uint8_t buf[CS];
    assert_int_equal(dbg_image_read(r, 2 * CS, buf, CS), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    assert_non_null(strstr(dbg_err_msg(), "does not decompress"));
    dbg_image_reader_free(r);
    dbg_image_close(img);
    free(path);
    free(im.buf);
}

static void test_backing_chain(void **state)
{
    (void)state;
    image_bytes base = base_image(VSIZE, NULL);
    add_data(&base, 0, 0x11);
    add_data(&base, 1, 0x22);
    char *bpath = write_image("base.qcow2", &base);
    image_bytes top = base_image(VSIZE, "base.qcow2"); /* relative to the top's directory */
    add_data(&top, 1, 0x33);
    char *tpath = write_image("top.qcow2", &top);
    dbg_image *img = dbg_image_open(tpath, NULL);
    assert_non_null(img);
    assert_non_null(dbg_image_backing(img));
    assert_string_equal(dbg_image_backing_name(img), "base.qcow2");
    uint8_t *all = read_all(img);
    assert_int_equal(all[0], 0x11);
    assert_int_equal(all[CS], 0x33);
    assert_int_equal(all[2 * CS], 0);
    free(all);
    dbg_image_reader *r = dbg_image_reader_new(img);
    assert_int_equal(dbg_image_range_is_zero(r, 0, CS), 0);      /* data in the backing file */
    assert_int_equal(dbg_image_range_is_zero(r, 2 * CS, CS), 1); /* unallocated in both */
    dbg_image_reader_free(r);
    dbg_image_close(img);
    dbg_image_open_opts nob = {.no_backing = 1};
    img = dbg_image_open(tpath, &nob);
    assert_non_null(img);
    all = read_all(img);
    assert_int_equal(all[0], 0);
    free(all);
    dbg_image_close(img);
    free(bpath);
    free(tpath);
    free(base.buf);
    free(top.buf);
}

static void expect_open_error(const char *name, const image_bytes *im, dbg_errcode code,
                              const char *needle)
{
    char *path = write_image(name, im);
    dbg_err_clear();
    dbg_image *img = dbg_image_open(path, NULL);
    if (img) {
        dbg_image_close(img);
        fail_msg("%s opened although it is hostile", name);
    }
    assert_int_equal(dbg_err_code(), code);
    if (!strstr(dbg_err_msg(), needle))
        fail_msg("error \"%s\" lacks \"%s\"", dbg_err_msg(), needle);
    assert_non_null(strstr(dbg_err_msg(), name)); /* names the file */
    free(path);
}

static void test_backing_loop_and_depth(void **state)
{
    (void)state;
    image_bytes a = base_image(VSIZE, "loop-b.qcow2"), b = base_image(VSIZE, "loop-a.qcow2");
    free(write_image("loop-b.qcow2", &b));
    expect_open_error("loop-a.qcow2", &a, DBG_ERR_PARSE, "loop");
    image_bytes self = base_image(VSIZE, "self.qcow2");
    expect_open_error("self.qcow2", &self, DBG_ERR_PARSE, "loop");
    /* A chain of 20 distinct files exceeds the depth limit of 16. */
    for (int i = 20; i >= 1; i--) {
        char me[32], next[32];
        snprintf(me, sizeof(me), "chain%02d.qcow2", i);
        snprintf(next, sizeof(next), "chain%02d.qcow2", i + 1);
        image_bytes c = base_image(VSIZE, i < 20 ? next : NULL);
        free(write_image(me, &c));
        free(c.buf);
    }
    char *first = dbg_path_join(tmpdir, "chain01.qcow2");
    assert_null(dbg_image_open(first, NULL));
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_non_null(strstr(dbg_err_msg(), "deeper than 16"));
    free(first);
    image_bytes proto = base_image(VSIZE, "nbd://10.0.0.1/export");
    expect_open_error("proto.qcow2", &proto, DBG_ERR_UNSUPPORTED, "not a local file");
    free(a.buf);
    free(b.buf);
    free(self.buf);
    free(proto.buf);
}

static void test_hostile_headers(void **state)
{
    (void)state;
    image_bytes im = base_image(VSIZE, NULL);
    put64(im.buf + 24, 1ull << 60);
    expect_open_error("huge.qcow2", &im, DBG_ERR_LIMIT, "virtual size");
    put64(im.buf + 24, 1ull << 40); /* 1 TiB needs 512 L1 entries, l1_size is 1 */
    expect_open_error("l1small.qcow2", &im, DBG_ERR_PARSE, "l1_size 1 is smaller");
    put64(im.buf + 24, VSIZE);
    put64(im.buf + 40, 1ull << 40);
    expect_open_error("l1out.qcow2", &im, DBG_ERR_PARSE, "L1 table at offset");
    put64(im.buf + 40, CS);
    put32(im.buf + 20, 30);
    expect_open_error("cbits.qcow2", &im, DBG_ERR_PARSE, "cluster_bits 30");
    put32(im.buf + 20, CB);
    put32(im.buf + 32, 1);
    expect_open_error("crypt.qcow2", &im, DBG_ERR_UNSUPPORTED, "encrypted");
    put32(im.buf + 32, 0);
    put64(im.buf + 72, 1ull << 40);
    expect_open_error("incompat.qcow2", &im, DBG_ERR_UNSUPPORTED, "incompatible feature");
    put64(im.buf + 72, 0);
    put32(im.buf + 60, 1000000);
    put64(im.buf + 64, 3 * CS);
    expect_open_error("snaps.qcow2", &im, DBG_ERR_LIMIT, "nb_snapshots");
    put32(im.buf + 60, 3);
    put64(im.buf + 64, 4 * CS - 8);
    expect_open_error("snapout.qcow2", &im, DBG_ERR_PARSE, "snapshot");
    put32(im.buf + 60, 0);
    put64(im.buf + 8, 1ull << 50);
    put32(im.buf + 16, 10);
    expect_open_error("bname.qcow2", &im, DBG_ERR_PARSE, "backing file name");
    put64(im.buf + 8, 0);
    put32(im.buf + 4, 4);
    expect_open_error("version.qcow2", &im, DBG_ERR_UNSUPPORTED, "version 4");
    put32(im.buf + 4, 3);
    image_bytes trunc = {.buf = im.buf, .len = 60};
    expect_open_error("trunc.qcow2", &trunc, DBG_ERR_PARSE, "truncated");
    image_bytes trunc2 = {.buf = im.buf, .len = 90};
    expect_open_error("trunc2.qcow2", &trunc2, DBG_ERR_PARSE, "truncated");
    free(im.buf);
}

static void test_pointers_out_of_file(void **state)
{
    (void)state;
    image_bytes im = base_image(VSIZE, NULL);
    set_l2(&im, 0, (1ull << 45) | (1ull << 63));
    char *path = write_image("l2out.qcow2", &im);
    dbg_image *img = dbg_image_open(path, NULL);
    assert_non_null(img);
    dbg_chunk_hashes h;
    dbg_hash_opts o = {.chunk_size = 4096, .threads = 2};
    assert_int_equal(dbg_hash_image(img, &o, &h), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    assert_non_null(strstr(dbg_err_msg(), "outside the file"));
    dbg_image_close(img);
    free(path);
    set_l2(&im, 0, 0);
    put64(im.buf + CS, 1ull << 44); /* L1 -> L2 beyond EOF */
    path = write_image("l1ptr.qcow2", &im);
    img = dbg_image_open(path, NULL);
    assert_non_null(img);
    dbg_image_reader *r = dbg_image_reader_new(img);
    uint8_t buf[16];
    assert_int_equal(dbg_image_read(r, 0, buf, sizeof(buf)), -1);
    assert_non_null(strstr(dbg_err_msg(), "L2 table"));
    dbg_image_reader_free(r);
    dbg_image_close(img);
    free(path);
    put64(im.buf + CS, 2 * CS + 512); /* unaligned L2 */
    path = write_image("l2unal.qcow2", &im);
    img = dbg_image_open(path, NULL);
    r = dbg_image_reader_new(img);
    assert_int_equal(dbg_image_read(r, 0, buf, sizeof(buf)), -1);
    assert_non_null(strstr(dbg_err_msg(), "not cluster-aligned"));
    dbg_image_reader_free(r);
    dbg_image_close(img);
    free(path);
    free(im.buf);
}

static void test_raw_and_snapshot(void **state)
{
    (void)state;
    /* A raw file is read as is. */
    uint8_t data[10000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7);
    char *rpath = dbg_path_join(tmpdir, "plain.raw");
    assert_int_equal(dbg_write_file_atomic(rpath, data, sizeof(data)), 0);
    dbg_image *img = dbg_image_open(rpath, NULL);
    assert_non_null(img);
    assert_int_equal(dbg_image_get_format(img), DBG_IMAGE_RAW);
    uint8_t *all = read_all(img);
    assert_memory_equal(all, data, sizeof(data));
    free(all);
    dbg_image_close(img);
    free(rpath);
    /* Internal snapshot: its own L1 (cluster 4) -> L2 (cluster 5) -> data 0x77. */
    image_bytes im = base_image(VSIZE, NULL);
    add_data(&im, 0, 0x66);
    grow(&im, im.len + 3 * CS);
    uint64_t l1 = im.len - 3 * CS, l2 = l1 + CS, d = l2 + CS;
    put64(im.buf + l1, l2);
    put64(im.buf + l2, d | (1ull << 63));
    memset(im.buf + d, 0x77, CS);
    uint64_t st = im.len;
    grow(&im, st + 64);
    put64(im.buf + st, l1);
    put32(im.buf + st + 8, 1);
    im.buf[st + 13] = 1;  /* id_str_size */
    im.buf[st + 15] = 4;  /* name_size */
    memcpy(im.buf + st + 40, "1snap", 5);
    put32(im.buf + 60, 1);
    put64(im.buf + 64, st);
    char *path = write_image("snap.qcow2", &im);
    img = dbg_image_open(path, NULL);
    assert_non_null(img);
    assert_int_equal(dbg_image_snapshot_count(img), 1);
    assert_string_equal(dbg_image_snapshot_at(img, 0)->name, "snap");
    assert_string_equal(dbg_image_snapshot_at(img, 0)->id, "1");
    dbg_image *sv = dbg_image_open_snapshot(img, 0);
    assert_non_null(sv);
    all = read_all(sv);
    assert_int_equal(all[0], 0x77);
    free(all);
    all = read_all(img);
    assert_int_equal(all[0], 0x66);
    free(all);
    dbg_image_close(sv);
    dbg_image_close(img);
    /* The wipe check reads the snapshot too: its data comes back on revert. */
    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(path, "qcow2", &w), 0);
    assert_int_equal(w.nonzero_bytes, CS);
    assert_int_equal(w.n_snapshots, 1);
    assert_int_equal(w.n_dirty_snapshots, 1);
    assert_int_equal(w.snapshot_nonzero_bytes, CS);
    dbg_wipe_result_free(&w);
    /* A declared format wins over the probe: the qcow2 file read as raw is its bytes, and a
     * raw file declared qcow2 is refused. */
    dbg_image_open_opts raw = {.format = "raw"}, q = {.format = "qcow2"}, bad = {.format = "vmdk"};
    img = dbg_image_open(path, &raw);
    assert_non_null(img);
    assert_int_equal(dbg_image_get_format(img), DBG_IMAGE_RAW);
    assert_int_equal(dbg_image_virtual_size(img), im.len);
    dbg_image_close(img);
    rpath = dbg_path_join(tmpdir, "plain.raw");
    assert_null(dbg_image_open(rpath, &q));
    assert_int_equal(dbg_err_last()->code, DBG_ERR_PARSE);
    assert_null(dbg_image_open(rpath, &bad));
    assert_int_equal(dbg_err_last()->code, DBG_ERR_INVALID);
    free(rpath);
    free(path);
    free(im.buf);
}

/* A qcow2 destination reached through a symlink (a pool path linking to the real disk): the
 * whole-file repair replaces the file the link points to and keeps its mode. It used to rename
 * the copy over the link: the real disk stayed damaged, the link became a 0600 file, and the
 * re-verify (through the new file) reported the destination identical. */
static void test_migrate_repair_through_symlink(void **state)
{
    (void)state;
    image_bytes src = base_image(VSIZE, NULL), dst = base_image(VSIZE, NULL);
    add_data(&src, 0, 0x31);
    add_data(&dst, 0, 0x32);
    char *spath = write_image("mig-src.qcow2", &src), *real = write_image("mig-real.qcow2", &dst);
    char *link = dbg_path_join(tmpdir, "mig-link.qcow2");
    assert_non_null(link);
    assert_int_equal(chmod(real, 0644), 0);
    assert_int_equal(symlink("mig-real.qcow2", link), 0);
    dbg_migrate_opts mo = {.repair = 1};
    mo.hash.chunk_size = CS;
    dbg_migrate_result r;
    assert_int_equal(dbg_migrate_check(spath, link, &mo, &r), 0);
    assert_true(r.repaired);
    assert_true(r.repair_whole_file);
    assert_true(r.identical);
    dbg_migrate_result_free(&r);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode)); /* still the link */
    assert_int_equal(stat(real, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644); /* mode kept */
    mo.repair = 0;
    assert_int_equal(dbg_migrate_check(spath, real, &mo, &r), 0);
    assert_true(r.identical); /* the real disk is the one repaired */
    dbg_migrate_result_free(&r);
    free(spath);
    free(real);
    free(link);
    free(src.buf);
    free(dst.buf);
}

/* A hostile sparse qcow2: a few MiB on disk that claim 2^56 bytes (2 MiB clusters, so the L1
 * table is 1 MiB). Guest clusters listed in data get a cluster of byte 0xA5 with a marker at
 * +10; those in zeros get the zero flag. Written sparse with pwrite. */
#define HB 21
#define HC ((uint64_t)1 << HB)
#define HUGE_VSIZE ((uint64_t)1 << 56)

static char *write_huge(const char *name, uint64_t vsize, const char *backing, const uint64_t *data,
                        size_t n_data, const uint64_t *zeros, size_t n_zeros)
{
    char *path = dbg_path_join(tmpdir, name);
    assert_non_null(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint64_t span = (HC / 8) << HB, l1_entries = vsize / span;
    uint8_t h[4096] = {0};
    put32(h, 0x514649fb);
    put32(h + 4, 3);
    put32(h + 20, HB);
    put64(h + 24, vsize);
    put32(h + 36, (uint32_t)l1_entries);
    put64(h + 40, HC);
    put32(h + 96, 4);
    put32(h + 100, 104);
    if (backing) {
        put64(h + 8, 512);
        put32(h + 16, (uint32_t)strlen(backing));
        memcpy(h + 512, backing, strlen(backing));
    }
    assert_int_equal(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    /* One L2 table per L1 entry used, in order of first use, then the data clusters. */
    uint64_t l1_used[16], l2_at[16], next_host = 2 * HC;
    size_t n_l2 = 0;
    const uint64_t *lists[2] = {data, zeros};
    size_t counts[2] = {n_data, n_zeros};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < counts[k]; i++) {
            uint64_t l1 = lists[k][i] / span;
            size_t j = 0;
            while (j < n_l2 && l1_used[j] != l1)
                j++;
            if (j == n_l2) {
                assert_true(n_l2 < 16);
                l1_used[n_l2] = l1;
                l2_at[n_l2++] = next_host;
                uint8_t e[8];
                put64(e, next_host | (1ull << 63));
                assert_int_equal(pwrite(fd, e, 8, (off_t)(HC + 8 * l1)), 8);
                next_host += HC;
            }
            uint8_t e[8];
            uint64_t l2_off = l2_at[j] + 8 * ((lists[k][i] % span) >> HB);
            if (k == 0) {
                uint8_t *cl = malloc(HC);
                assert_non_null(cl);
                memset(cl, 0xA5, HC);
                memcpy(cl + 10, "MARKER-dengbao-huge", 19);
                assert_int_equal(pwrite(fd, cl, HC, (off_t)next_host), (ssize_t)HC);
                free(cl);
                put64(e, next_host | (1ull << 63));
                next_host += HC;
            } else {
                put64(e, 1); /* QCOW_OFLAG_ZERO */
            }
            assert_int_equal(pwrite(fd, e, 8, (off_t)l2_off), 8);
        }
    assert_int_equal(ftruncate(fd, (off_t)next_host), 0);
    assert_int_equal(close(fd), 0);
    return path;
}

/* Data in the top layer at T1 and in the last cluster, in the backing file at B1; B2 is data in
 * the backing file hidden by a zero cluster of the top. Wipe-check and a scan cross the 2^56
 * bytes of holes in the time of their metadata (cluster by cluster or window by window they did
 * not finish: 2^38 wipe pieces, 2^32 scan windows), with the results a full walk gives. */
static void test_huge_sparse(void **state)
{
    (void)state;
    const uint64_t T1 = ((uint64_t)5 << 39) + 3 * HC, B1 = ((uint64_t)1 << 50) + 7 * HC,
                   B2 = ((uint64_t)1 << 52) + 16 * HC, LAST = HUGE_VSIZE - HC;
    uint64_t bdata[] = {B1, B2}, tdata[] = {T1, LAST}, tzero[] = {B2};
    char *bpath = write_huge("huge-base.qcow2", HUGE_VSIZE, NULL, bdata, 2, NULL, 0);
    char *tpath = write_huge("huge-top.qcow2", HUGE_VSIZE, "huge-base.qcow2", tdata, 2, tzero, 1);

    dbg_image *img = dbg_image_open(tpath, NULL);
    assert_non_null(img);
    dbg_image_reader *r = dbg_image_reader_new(img);
    assert_non_null(r);
    uint64_t next = 0;
    assert_int_equal(dbg_image_next_nonzero(r, 0, HUGE_VSIZE, &next), 0);
    assert_int_equal(next, T1);
    assert_int_equal(dbg_image_next_nonzero(r, T1 + HC, HUGE_VSIZE, &next), 0);
    assert_int_equal(next, B1); /* from the backing file */
    assert_int_equal(dbg_image_next_nonzero(r, B1 + 5, B1 + 100, &next), 0);
    assert_int_equal(next, B1 + 5);
    assert_int_equal(dbg_image_next_nonzero(r, B1 + HC, HUGE_VSIZE, &next), 0);
    assert_int_equal(next, LAST); /* B2 is hidden by the top's zero cluster */
    assert_int_equal(dbg_image_range_is_zero(r, B1 + HC, LAST - B1 - HC), 1);
    assert_int_equal(dbg_image_range_is_zero(r, B2, HC), 1);
    assert_int_equal(dbg_image_range_is_zero(r, B1 - HC, 2 * HC), 0);
    dbg_image_reader_free(r);
    dbg_image_close(img);

    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(tpath, "qcow2", &w), 0);
    assert_int_equal(w.size, HUGE_VSIZE);
    assert_int_equal(w.nonzero_bytes, 3 * HC);
    assert_int_equal(w.n_ranges, 3);
    assert_int_equal(w.ranges[0].offset, T1);
    assert_int_equal(w.ranges[1].offset, B1);
    assert_int_equal(w.ranges[2].offset, LAST);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(w.ranges[i].length, HC);
    dbg_wipe_result_free(&w);

    char *dir = dbg_path_join(tmpdir, "hugerules");
    assert_int_equal(dbg_mkdir_p(dir, 0755), 0);
    char *f = dbg_path_join(dir, "h.yar");
    const char *text = "rule ZeroDword { condition: uint32(100) == 0 }\n"
                       "rule Marker { strings: $a = \"MARKER-dengbao-huge\" condition: $a }\n";
    assert_int_equal(dbg_write_file_atomic(f, text, strlen(text)), 0);
    const char *dirs[] = {dir};
    dbg_malware_rules *rules = dbg_malware_rules_load(dirs, 1, 0);
    assert_non_null(rules);
    for (int threads = 1; threads <= 2; threads++) {
        dbg_scan_opts o = {
            .window = 16 * HC, .overlap = 4096, .threads = threads, .format = "qcow2"};
        dbg_malware_report rep;
        memset(&rep, 0, sizeof(rep));
        assert_int_equal(dbg_malware_scan_image(rules, tpath, &o, &rep), 0);
        size_t guest_hits = 0;
        for (size_t i = 0; i < rep.n_hits; i++) {
            if (rep.hits[i].found_in)
                continue;
            guest_hits++;
            if (strcmp(rep.hits[i].rule, "Marker") == 0) {
                assert_int_equal(rep.hits[i].offset, T1 + 10);
                assert_int_equal(rep.hits[i].windows, 3);
            } else {
                assert_string_equal(rep.hits[i].rule, "ZeroDword");
                assert_int_equal(rep.hits[i].offset, 0);
                /* every window: the zero ones credited, the three with data scanned */
                assert_int_equal(rep.hits[i].windows, HUGE_VSIZE / (16 * HC));
            }
        }
        assert_int_equal(guest_hits, 2);
        dbg_malware_report_free(&rep);
    }
    dbg_malware_rules_free(rules);
    free(f);
    free(dir);
    free(bpath);
    free(tpath);
}

/* Hashing a 32 TiB qcow2 holding two clusters in 64 MiB chunks gives the zero leaf to the 2^19
 * chunks of holes in runs (asked of the metadata once per run, not per chunk) and the same leaves
 * and root on one thread as on two, whichever worker claims a run. */
static void test_huge_sparse_hash(void **state)
{
    (void)state;
    const uint64_t vsize = (uint64_t)1 << 45, T1 = ((uint64_t)5 << 39) + 3 * HC, LAST = vsize - HC;
    uint64_t tdata[] = {T1, LAST};
    char *path = write_huge("huge-hash.qcow2", vsize, NULL, tdata, 2, NULL, 0);
    dbg_image *img = dbg_image_open(path, NULL);
    assert_non_null(img);
    dbg_chunk_hashes h[2];
    for (int t = 0; t < 2; t++) {
        dbg_hash_opts o = {.chunk_size = (uint64_t)1 << 26, .threads = t + 1};
        assert_int_equal(dbg_hash_image(img, &o, &h[t]), 0);
        assert_int_equal(h[t].n_chunks, (size_t)1 << 19);
        for (size_t j = 1; j < h[t].n_chunks; j++) {
            int data = j == (size_t)(T1 >> 26) || j == (size_t)(LAST >> 26);
            assert_int_equal(memcmp(h[t].chunks[j], h[t].chunks[0], 32) != 0, data);
        }
    }
    assert_memory_equal(h[0].root, h[1].root, 32);
    assert_memory_equal(h[0].chunks, h[1].chunks, 32 * h[0].n_chunks);
    dbg_chunk_hashes_free(&h[0]);
    dbg_chunk_hashes_free(&h[1]);
    dbg_image_close(img);
    free(path);
}

/* Every L1 entry of a 2^56-byte image points at one L2 table whose entries all carry the zero
 * flag: the table is read and found all-zero once, not once per each of the 2^17 L1 entries
 * (2^35 entry reads), so wipe-check finds it clean at once. */
static void test_huge_shared_zero_l2(void **state)
{
    (void)state;
    char *path = dbg_path_join(tmpdir, "huge-shared.qcow2");
    assert_non_null(path);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint64_t l1_entries = HUGE_VSIZE / ((HC / 8) << HB);
    uint8_t h[4096] = {0};
    put32(h, 0x514649fb);
    put32(h + 4, 3);
    put32(h + 20, HB);
    put64(h + 24, HUGE_VSIZE);
    put32(h + 36, (uint32_t)l1_entries);
    put64(h + 40, HC);
    put32(h + 96, 4);
    put32(h + 100, 104);
    assert_int_equal(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
    uint8_t *t = malloc(HC);
    assert_non_null(t);
    for (uint64_t i = 0; i < l1_entries; i++)
        put64(t + 8 * i, (2 * HC) | (1ull << 63));
    assert_int_equal(pwrite(fd, t, 8 * l1_entries, (off_t)HC), (ssize_t)(8 * l1_entries));
    for (uint64_t i = 0; i < HC / 8; i++)
        put64(t + 8 * i, 1); /* QCOW_OFLAG_ZERO */
    assert_int_equal(pwrite(fd, t, HC, (off_t)(2 * HC)), (ssize_t)HC);
    free(t);
    assert_int_equal(close(fd), 0);
    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(path, "qcow2", &w), 0);
    assert_int_equal(w.size, HUGE_VSIZE);
    assert_int_equal(w.nonzero_bytes, 0);
    assert_int_equal(w.n_ranges, 0);
    dbg_wipe_result_free(&w);
    free(path);
}

/* Data a qcow2 file still stores where its guest reads zeros: a cluster zeroed with the zero flag
 * keeps its old bytes, a freed cluster (a deleted snapshot's) keeps its data, and a snapshot's
 * saved RAM lies past its disk. The wipe check said "clean" for all three; a bitmap's directory,
 * table and data are the file's own tables and are not residue. */
static void test_wipe_container_residue(void **state)
{
    (void)state;
    image_bytes im = base_image(VSIZE, NULL);
    uint64_t kept = add_data(&im, 0, 0x53);
    set_l2(&im, 0, kept | 1); /* zero flag: reads as zeros, the bytes stay */
    add_data(&im, 1, 0);      /* written zeros: clean */
    uint64_t freed = im.len;
    grow(&im, im.len + CS);
    memset(im.buf + freed + 100, 0x54, 10);
    uint64_t dir = im.len, table = dir + CS, bits = table + CS;
    grow(&im, bits + CS);
    put32(im.buf + 104, 0x23852875); /* bitmaps extension */
    put32(im.buf + 108, 24);
    put32(im.buf + 112, 1);
    put64(im.buf + 120, 32);
    put64(im.buf + 128, dir);
    put64(im.buf + dir, table);
    put32(im.buf + dir + 8, 1);
    im.buf[dir + 16] = 1;
    im.buf[dir + 17] = 16;
    im.buf[dir + 19] = 2;
    memcpy(im.buf + dir + 24, "b0", 2);
    put64(im.buf + table, bits);
    memset(im.buf + bits, 0xff, CS);
    char *path = write_image("residue.qcow2", &im);
    dbg_wipe_result w;
    assert_int_equal(dbg_wipe_check(path, "qcow2", &w), 0);
    assert_int_equal(w.nonzero_bytes, 0);
    assert_int_equal(w.container_nonzero_bytes, 2 * CS);
    assert_int_equal(w.container_first, kept);
    assert_int_equal(dbg_wipe_residual(&w), 2 * CS);
    dbg_wipe_result_free(&w);
    free(im.buf);
    free(path);

    /* An internal snapshot without disk data whose saved RAM (past its disk) is still there. */
    im = base_image(VSIZE, NULL);
    grow(&im, im.len + 3 * CS);
    uint64_t l1 = im.len - 3 * CS, l2 = l1 + CS, ram = l2 + CS;
    put64(im.buf + l1, l2);
    put64(im.buf + l2 + 8 * 20, ram | (1ull << 63)); /* guest cluster 20: past the 16 of the disk */
    memset(im.buf + ram, 0x99, CS);
    uint64_t st = im.len;
    grow(&im, st + 64);
    put64(im.buf + st, l1);
    put32(im.buf + st + 8, 1);
    put32(im.buf + st + 32, CS); /* vm_state_size */
    im.buf[st + 13] = 1;
    im.buf[st + 15] = 4;
    memcpy(im.buf + st + 40, "1snap", 5);
    put32(im.buf + 60, 1);
    put64(im.buf + 64, st);
    path = write_image("ram.qcow2", &im);
    assert_int_equal(dbg_wipe_check(path, "qcow2", &w), 0);
    assert_int_equal(w.n_snapshots, 1);
    assert_int_equal(w.snapshot_nonzero_bytes, 0);
    assert_int_equal(w.container_nonzero_bytes, CS);
    assert_int_equal(w.container_first, ram);
    dbg_wipe_result_free(&w);
    free(im.buf);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_kinds),       cmocka_unit_test(test_zstd_cluster),
        cmocka_unit_test(test_backing_chain),       cmocka_unit_test(test_backing_loop_and_depth),
        cmocka_unit_test(test_hostile_headers),     cmocka_unit_test(test_pointers_out_of_file),
        cmocka_unit_test(test_raw_and_snapshot),
        cmocka_unit_test(test_migrate_repair_through_symlink),
        cmocka_unit_test(test_huge_sparse),
        cmocka_unit_test(test_huge_sparse_hash),
        cmocka_unit_test(test_huge_shared_zero_l2),
        cmocka_unit_test(test_wipe_container_residue),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
