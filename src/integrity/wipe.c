/* Residual-information check (8.2.4.7a/b): a reclaimed volume must read back as zeros. Reads
 * the guest-visible content (raw or qcow2, so unallocated and zero clusters cost nothing to
 * fetch) and reports the non-zero 4 KiB blocks as merged ranges, and the non-zero bytes of
 * each internal qcow2 snapshot. */
#include <stdlib.h>
#include <string.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"
#include "integrity/qcow2_format.h"

#define WIPE_BLOCK 4096u
#define WIPE_READ (256u << 10)
#define WIPE_MAX_RANGES 1000

void dbg_wipe_result_free(dbg_wipe_result *w)
{
    if (!w)
        return;
    free(w->ranges);
    memset(w, 0, sizeof(*w));
}

uint64_t dbg_wipe_residual(const dbg_wipe_result *w)
{
    return w->nonzero_bytes + w->snapshot_nonzero_bytes + w->container_nonzero_bytes;
}

/* All zero: the first byte is zero and every byte equals its successor. */
static int all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Counts the non-zero blocks (block bytes, aligned to offset 0) of [start, end) of what rd
 * reads into *nonzero, the first one's offset into *first; with res, also lists them as ranges.
 * start is block-aligned. */
static int count_nonzero(dbg_image_reader *rd, uint64_t start, uint64_t end, size_t block,
                         uint8_t *buf, dbg_wipe_result *res, uint64_t *nonzero, uint64_t *first)
{
    for (uint64_t off = start; off < end;) {
        /* Holes and zero clusters are stepped over whole, without reading, in a time set by the
         * metadata rather than by the size (a few-MiB qcow2 can claim 2^56 bytes); the pieces
         * stay aligned to WIPE_READ, so the ranges come out as a piece-by-piece walk finds them. */
        uint64_t next = 0;
        if (dbg_image_next_nonzero(rd, off, end, &next) < 0)
            return -1;
        if (next == end)
            break;
        uint64_t piece = next - next % WIPE_READ; /* never back into what was counted */
        off = piece < off ? off : piece;
        size_t n = (size_t)(end - off < WIPE_READ ? end - off : WIPE_READ);
        if (dbg_image_read(rd, off, buf, n) < 0)
            return -1;
        if (!all_zero(buf, n)) {
            for (size_t b = 0; b < n; b += block) {
                size_t bl = n - b < block ? n - b : block;
                if (all_zero(buf + b, bl))
                    continue;
                if (*nonzero == 0 && first)
                    *first = off + b;
                *nonzero += bl;
                if (res && dbg_ranges_add(&res->ranges, &res->n_ranges, WIPE_MAX_RANGES, off + b,
                                          bl, &res->truncated) < 0)
                    return -1;
            }
        }
        off += n;
    }
    return 0;
}

/* Counts the non-zero 4 KiB blocks of img's guest content into *nonzero; with res, also
 * lists them as ranges. */
static int check_content(const dbg_image *img, uint8_t *buf, dbg_wipe_result *res,
                         uint64_t *nonzero)
{
    dbg_image_reader *rd = dbg_image_reader_new(img);
    if (!rd)
        return -1;
    int r = count_nonzero(rd, 0, dbg_image_virtual_size(img), WIPE_BLOCK, buf, res, nonzero, NULL);
    dbg_image_reader_free(rd);
    return r;
}

/* ---- what a qcow2 file holds besides its tables and the guest's data ----
 * The guest content can read as zeros while the file still stores the data: a cluster zeroed
 * with the zero flag keeps its old bytes allocated, and the clusters of a deleted snapshot or of
 * discarded data stay in the file unless the host punched them out. Every host cluster that no
 * table dengbao reads refers to (header, L1, L2, refcount table and blocks, snapshot table and
 * snapshot L1s, bitmap directory, tables and data) and that holds no guest data of the image or
 * of a snapshot (within its disk, so a snapshot's saved RAM is counted) is such residue. */
typedef struct {
    const dbg_image *img;
    uint8_t *used;   /* a bit per host cluster */
    uint8_t *walked; /* a bit per host cluster: an L2 table whose every entry was marked */
    uint64_t *table; /* one cluster, for L2 and bitmap tables */
} cluster_map;

static void mark(cluster_map *m, uint64_t off, uint64_t len)
{
    uint64_t size = m->img->file_size;
    if (!len || off >= size)
        return;
    uint64_t end = len > size - off ? size : off + len;
    for (uint64_t c = off >> m->img->cluster_bits; c <= (end - 1) >> m->img->cluster_bits; c++)
        m->used[c / 8] |= (uint8_t)(1u << (c % 8));
}

static int bit(const uint8_t *map, uint64_t c)
{
    return map[c / 8] & (1u << (c % 8));
}

/* The cluster of big-endian 64-bit entries at off, into m->table; a pointer outside the file is
 * an error naming it. */
static int read_table(cluster_map *m, uint64_t off, const char *what, uint64_t index)
{
    const dbg_image *img = m->img;
    if (off % img->cluster_size || off >= img->file_size ||
        img->cluster_size > img->file_size - off) {
        dbg_err_set(DBG_ERR_PARSE, "%s: %s %llu points to offset %llu, %s (file size %llu)",
                    img->path, what, (unsigned long long)index, (unsigned long long)off,
                    off % img->cluster_size ? "not cluster-aligned" : "outside the file",
                    (unsigned long long)img->file_size);
        return -1;
    }
    if (dbg_qcow2_pread_full(img->fd, m->table, img->cluster_size, off) !=
        (ssize_t)img->cluster_size) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot read the table at offset %llu", img->path,
                      (unsigned long long)off);
        return -1;
    }
    for (uint64_t i = 0; i < img->l2_entries; i++)
        m->table[i] = dbg_qcow2_be64((const uint8_t *)&m->table[i]);
    return 0;
}

/* Marks the L1 table at l1_off, its L2 tables and the clusters they map below disk bytes of
 * guest content; zero-flagged clusters are not the guest's data, whatever they hold. */
static int mark_l1(cluster_map *m, const uint64_t *l1, uint32_t l1_size, uint64_t l1_off,
                   uint64_t disk)
{
    const dbg_image *img = m->img;
    uint32_t shift = 62 - (img->cluster_bits - 8);
    uint64_t csize_mask = ((uint64_t)1 << (img->cluster_bits - 8)) - 1;
    mark(m, l1_off, (uint64_t)l1_size * 8);
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2 = l1[i] & QCOW2_OFFSET_MASK;
        /* a hostile L1 may point every entry at one table: it is walked once */
        if (!l2 || (l2 % img->cluster_size == 0 && l2 < img->file_size &&
                    bit(m->walked, l2 >> img->cluster_bits)))
            continue;
        if (read_table(m, l2, "L1 entry", i) < 0)
            return -1;
        mark(m, l2, img->cluster_size);
        uint64_t j = 0;
        for (; j < img->l2_entries; j++) {
            uint64_t e = m->table[j], guest = ((uint64_t)i * img->l2_entries + j)
                                              << img->cluster_bits;
            if (guest >= disk)
                break;
            if (e & QCOW2_OFLAG_COMPRESSED) {
                uint64_t coff = e & (((uint64_t)1 << shift) - 1);
                uint64_t nsect = ((e >> shift) & csize_mask) + 1;
                mark(m, coff & ~511ull, nsect * 512);
            } else if (!(e & QCOW2_OFLAG_ZERO)) {
                mark(m, e & QCOW2_OFFSET_MASK, (e & QCOW2_OFFSET_MASK) ? img->cluster_size : 0);
            }
        }
        if (j == img->l2_entries) {
            uint64_t c = l2 >> img->cluster_bits;
            m->walked[c / 8] |= (uint8_t)(1u << (c % 8));
        }
    }
    return 0;
}

/* Marks the bitmap directory (bitmaps extension), each bitmap's table and its data clusters. */
static int mark_bitmaps(cluster_map *m)
{
    const dbg_image *img = m->img;
    if (!img->n_bitmaps || !img->bitmaps_bytes)
        return 0;
    if (img->bitmaps_bytes > (64u << 20) || !(img->bitmaps_offset < img->file_size &&
                                              img->bitmaps_bytes <= img->file_size -
                                                                        img->bitmaps_offset)) {
        dbg_err_set(DBG_ERR_PARSE, "%s: bitmap directory at offset %llu (%llu bytes) is outside "
                    "the file or larger than 64 MiB", img->path,
                    (unsigned long long)img->bitmaps_offset,
                    (unsigned long long)img->bitmaps_bytes);
        return -1;
    }
    DBG_AUTOFREE uint8_t *dir = dbg_malloc((size_t)img->bitmaps_bytes);
    if (!dir || dbg_qcow2_pread_full(img->fd, dir, (size_t)img->bitmaps_bytes,
                                     img->bitmaps_offset) != (ssize_t)img->bitmaps_bytes) {
        if (dir)
            dbg_err_errno(DBG_ERR_IO, "%s: cannot read the bitmap directory", img->path);
        return -1;
    }
    mark(m, img->bitmaps_offset, img->bitmaps_bytes);
    uint64_t pos = 0;
    for (uint32_t b = 0; b < img->n_bitmaps && pos + 24 <= img->bitmaps_bytes; b++) {
        uint64_t table = dbg_qcow2_be64(dir + pos);
        uint32_t entries = dbg_qcow2_be32(dir + pos + 8);
        uint64_t len = 24 + (uint64_t)(dir[pos + 18] << 8 | dir[pos + 19]) + dbg_qcow2_be32(dir + pos + 20);
        mark(m, table, (uint64_t)entries * 8);
        for (uint64_t done = 0; table && done < entries; done += img->l2_entries) {
            uint64_t at = table + done * 8, c = at >> img->cluster_bits;
            if (at % img->cluster_size == 0 && at < img->file_size && bit(m->walked, c))
                continue; /* tables shared by hostile entries are walked once */
            if (read_table(m, at, "bitmap table of bitmap", b) < 0)
                return -1;
            for (uint64_t k = 0; k < img->l2_entries && done + k < entries; k++)
                mark(m, m->table[k] & QCOW2_OFFSET_MASK,
                     (m->table[k] & QCOW2_OFFSET_MASK) ? img->cluster_size : 0);
            if (done + img->l2_entries <= entries)
                m->walked[c / 8] |= (uint8_t)(1u << (c % 8));
        }
        pos += (len + 7) & ~7ull;
    }
    return 0;
}

/* Counts the non-zero bytes (in blocks of up to 4 KiB) of the qcow2 file img outside its tables
 * and the guest data of the image and its snapshots. */
static int check_container(const dbg_image *img, uint8_t *buf, dbg_wipe_result *res)
{
    int r = -1;
    uint64_t n = img->file_size / img->cluster_size + (img->file_size % img->cluster_size != 0);
    cluster_map m = {.img = img};
    dbg_image_open_opts ro = {.force_raw = 1, .no_backing = 1};
    dbg_image *file = NULL, *snap = NULL;
    dbg_image_reader *rd = NULL;
    if (!(m.used = dbg_calloc(n / 8 + 1, 1)) || !(m.walked = dbg_calloc(n / 8 + 1, 1)) ||
        !(m.table = dbg_malloc(img->cluster_size)))
        goto out;
    mark(&m, 0, img->cluster_size); /* header and its extensions */
    mark(&m, img->backing_name_offset, img->backing_name_len);
    mark(&m, img->refcount_table_offset, (uint64_t)img->refcount_table_clusters << img->cluster_bits);
    mark(&m, img->snapshots_offset, img->snapshots_bytes);
    uint64_t rt_entries = ((uint64_t)img->refcount_table_clusters << img->cluster_bits) / 8;
    for (uint64_t done = 0; done < rt_entries; done += img->l2_entries) {
        uint64_t at = img->refcount_table_offset + done * 8;
        if (at >= img->file_size)
            break; /* QEMU's refcount table may be longer than the file holds */
        if (read_table(&m, at, "refcount table cluster", done / img->l2_entries) < 0)
            goto out;
        for (uint64_t k = 0; k < img->l2_entries; k++)
            mark(&m, m.table[k] & ~511ull, (m.table[k] & ~511ull) ? img->cluster_size : 0);
    }
    if (mark_l1(&m, img->l1, img->l1_size, img->l1_offset, img->virtual_size) < 0 ||
        mark_bitmaps(&m) < 0)
        goto out;
    for (size_t i = 0; i < img->n_snapshots; i++) {
        if (!(snap = dbg_image_open_snapshot(img, i)) ||
            mark_l1(&m, snap->l1, snap->l1_size, img->snapshots[i].l1_table_offset,
                    snap->virtual_size) < 0)
            goto out;
        dbg_image_close(snap);
        snap = NULL;
    }
    if (!(file = dbg_image_open(img->path, &ro)) || !(rd = dbg_image_reader_new(file)))
        goto out;
    size_t block = img->cluster_size < WIPE_BLOCK ? img->cluster_size : WIPE_BLOCK;
    for (uint64_t c = 0; c < n;) {
        if (bit(m.used, c)) {
            c++;
            continue;
        }
        uint64_t e = c;
        while (e < n && !bit(m.used, e))
            e++;
        uint64_t end = e << img->cluster_bits;
        if (end > file->virtual_size)
            end = file->virtual_size;
        if (count_nonzero(rd, c << img->cluster_bits, end, block, buf, NULL,
                          &res->container_nonzero_bytes, &res->container_first) < 0)
            goto out;
        c = e;
    }
    r = 0;
out:
    dbg_image_reader_free(rd);
    dbg_image_close(file);
    dbg_image_close(snap);
    free(m.table);
    free(m.walked);
    free(m.used);
    return r;
}

int dbg_wipe_check(const char *path, const char *format, dbg_wipe_result *res)
{
    int r = -1;
    memset(res, 0, sizeof(*res));
    dbg_image_open_opts oo = {.format = format};
    dbg_image *img = dbg_image_open(path, &oo), *snap = NULL;
    uint8_t *buf = NULL;
    if (!img)
        goto out;
    if (!format && dbg_image_get_format(img) == DBG_IMAGE_QCOW2) {
        dbg_err_set(DBG_ERR_INVALID, "%s: starts with a qcow2 header but no format was declared; "
                    "a raw volume can carry a fake one that hides its data: give --image-format "
                    "raw or qcow2", path);
        goto out;
    }
    if (!(buf = dbg_malloc(WIPE_READ)) || check_content(img, buf, res, &res->nonzero_bytes) < 0)
        goto out;
    /* Reverting an internal snapshot brings its content back, so it is residual data too. */
    for (size_t i = 0; i < dbg_image_snapshot_count(img); i++) {
        uint64_t nz = 0;
        if (!(snap = dbg_image_open_snapshot(img, i)) || check_content(snap, buf, NULL, &nz) < 0)
            goto out;
        dbg_image_close(snap);
        snap = NULL;
        res->n_snapshots++;
        res->snapshot_nonzero_bytes += nz;
        res->n_dirty_snapshots += nz != 0;
    }
    if (dbg_image_get_format(img) == DBG_IMAGE_QCOW2 && check_container(img, buf, res) < 0)
        goto out;
    res->size = dbg_image_virtual_size(img);
    res->format = dbg_image_get_format(img);
    res->format_probed = !format;
    r = 0;
out:
    if (r < 0)
        dbg_wipe_result_free(res);
    free(buf);
    dbg_image_close(snap);
    dbg_image_close(img);
    return r;
}
