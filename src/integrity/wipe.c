/* Residual-information check (8.2.4.7a/b): a reclaimed volume must read back as zeros. Reads
 * the guest-visible content (raw or qcow2, so unallocated and zero clusters cost nothing to
 * fetch) and reports the non-zero 4 KiB blocks as merged ranges. */
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

static int note_nonzero(dbg_wipe_result *res, uint64_t off, uint64_t len)
{
    res->nonzero_bytes += len;
    return dbg_ranges_add(&res->ranges, &res->n_ranges, WIPE_MAX_RANGES, off, len,
                          &res->truncated);
}

int dbg_wipe_check(const char *path, const char *format, dbg_wipe_result *res)
{
    int r = -1;
    memset(res, 0, sizeof(*res));
    dbg_image_open_opts oo = {.format = format};
    dbg_image *img = dbg_image_open(path, &oo);
    if (img && !format && dbg_image_get_format(img) == DBG_IMAGE_QCOW2) {
        dbg_err_set(DBG_ERR_INVALID, "%s: starts with a qcow2 header but no format was declared; "
                    "a raw volume can carry a fake one that hides its data: give --image-format "
                    "raw or qcow2", path);
        dbg_image_close(img);
        return -1;
    }
    dbg_image_reader *rd = img ? dbg_image_reader_new(img) : NULL;
    uint8_t *buf = rd ? dbg_malloc(WIPE_READ) : NULL;
    if (!buf)
        goto out;
    uint64_t size = dbg_image_virtual_size(img);
    for (uint64_t off = 0; off < size;) {
        size_t n = (size_t)(size - off < WIPE_READ ? size - off : WIPE_READ);
        int zero = dbg_image_range_is_zero(rd, off, n);
        if (zero < 0)
            goto out;
        if (zero) { /* a hole or zero clusters: nothing to read */
            off += n;
            continue;
        }
        if (dbg_image_read(rd, off, buf, n) < 0)
            goto out;
        if (!all_zero(buf, n)) {
            for (size_t b = 0; b < n; b += WIPE_BLOCK) {
                size_t bl = n - b < WIPE_BLOCK ? n - b : WIPE_BLOCK;
                if (!all_zero(buf + b, bl) && note_nonzero(res, off + b, bl) < 0)
                    goto out;
            }
        }
        off += n;
    }
    res->size = size;
    res->format = dbg_image_get_format(img);
    res->format_probed = !format;
    r = 0;
out:
    free(buf);
    dbg_image_reader_free(rd);
    dbg_image_close(img);
    return r;
}
