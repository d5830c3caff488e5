/* Residual-information check (8.2.4.7a/b): a reclaimed volume must read back as zeros. Reads
 * the guest-visible content (raw or qcow2, so unallocated and zero clusters cost nothing to
 * fetch) and reports the non-zero 4 KiB blocks as merged ranges, and the non-zero bytes of
 * each internal qcow2 snapshot. */
#include <stdlib.h>
#include <string.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

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

/* All zero: the first byte is zero and every byte equals its successor. */
static int all_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Counts the non-zero 4 KiB blocks of img's guest content into *nonzero; with res, also
 * lists them as ranges. */
static int check_content(const dbg_image *img, uint8_t *buf, dbg_wipe_result *res,
                         uint64_t *nonzero)
{
    int r = -1;
    dbg_image_reader *rd = dbg_image_reader_new(img);
    if (!rd)
        return -1;
    uint64_t size = dbg_image_virtual_size(img);
    for (uint64_t off = 0; off < size;) {
        /* Holes and zero clusters are stepped over whole, without reading, in a time set by the
         * metadata rather than by the size (a few-MiB qcow2 can claim 2^56 bytes); the pieces
         * stay aligned to WIPE_READ, so the ranges come out as a piece-by-piece walk finds them. */
        uint64_t next = 0;
        if (dbg_image_next_nonzero(rd, off, size, &next) < 0)
            goto out;
        if (next == size)
            break;
        off = next - next % WIPE_READ;
        size_t n = (size_t)(size - off < WIPE_READ ? size - off : WIPE_READ);
        if (dbg_image_read(rd, off, buf, n) < 0)
            goto out;
        if (!all_zero(buf, n)) {
            for (size_t b = 0; b < n; b += WIPE_BLOCK) {
                size_t bl = n - b < WIPE_BLOCK ? n - b : WIPE_BLOCK;
                if (all_zero(buf + b, bl))
                    continue;
                *nonzero += bl;
                if (res && dbg_ranges_add(&res->ranges, &res->n_ranges, WIPE_MAX_RANGES, off + b,
                                          bl, &res->truncated) < 0)
                    goto out;
            }
        }
        off += n;
    }
    r = 0;
out:
    dbg_image_reader_free(rd);
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
