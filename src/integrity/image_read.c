/* Guest-visible reads of raw and qcow2 images. A reader is per thread: it caches one L2
 * table and one decompressed cluster and owns its zlib/zstd contexts, so the image itself
 * stays immutable and many threads hash it at once. Runs of clusters that are contiguous in
 * the file are read with one pread (large sequential I/O). */
#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"
#include "integrity/qcow2_format.h"

struct dbg_image_reader {
    const dbg_image *img;
    uint64_t *l2;           /* cached L2 table (big-endian entries as on disk) */
    uint64_t l2_host;       /* its host offset, 0 = none */
    uint64_t l2_zero_host;  /* an L2 table found to map only zeros, 0 = none: a hostile L1 can
                             * point every entry at one such table */
    uint64_t l2_mixed_host; /* the last L2 table found not to, 0 = none: not scanned again */
    uint8_t *cbuf;          /* compressed input, 2 clusters */
    uint8_t *dbuf;          /* decompressed cluster */
    uint64_t dbuf_host;     /* descriptor it came from, 0 = none */
    z_stream zs;
    int zs_ready;
    ZSTD_DCtx *zstd;
    dbg_image_reader *backing;
};

dbg_image_reader *dbg_image_reader_new(const dbg_image *img)
{
    dbg_image_reader *r = dbg_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->img = img;
    if (img->format == DBG_IMAGE_QCOW2) {
        r->l2 = dbg_malloc(img->cluster_size);
        r->cbuf = dbg_malloc((size_t)img->cluster_size * 2);
        r->dbuf = dbg_malloc(img->cluster_size);
        if (!r->l2 || !r->cbuf || !r->dbuf)
            goto fail;
    }
    if (img->backing && !(r->backing = dbg_image_reader_new(img->backing)))
        goto fail;
    return r;
fail:
    dbg_image_reader_free(r);
    return NULL;
}

void dbg_image_reader_free(dbg_image_reader *r)
{
    if (!r)
        return;
    if (r->zs_ready)
        inflateEnd(&r->zs);
    ZSTD_freeDCtx(r->zstd);
    dbg_image_reader_free(r->backing);
    free(r->l2);
    free(r->cbuf);
    free(r->dbuf);
    free(r);
}

/* Reads from the container; bytes past the end of the file read as zero, like QEMU's file
 * driver does for the last, partly written cluster. */
static int container_read(const dbg_image *img, void *buf, size_t len, uint64_t off)
{
    ssize_t n = dbg_qcow2_pread_full(img->fd, buf, len, off);
    if (n < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: read of %zu bytes at offset %llu failed", img->path, len,
                      (unsigned long long)off);
        return -1;
    }
    if ((size_t)n < len)
        memset((char *)buf + n, 0, len - (size_t)n);
    return 0;
}

typedef enum { RUN_ZERO, RUN_BACKING, RUN_DATA, RUN_COMPRESSED } run_kind;

/* Looks up the L2 entry for guest cluster ci. *entry = 0 means unallocated. */
static int l2_lookup(dbg_image_reader *r, uint64_t ci, uint64_t *entry)
{
    const dbg_image *img = r->img;
    uint64_t l1_idx = ci / img->l2_entries, l2_idx = ci % img->l2_entries;
    *entry = 0;
    if (l1_idx >= img->l1_size)
        return 0;
    uint64_t l2_host = img->l1[l1_idx] & QCOW2_OFFSET_MASK;
    if (l2_host == 0)
        return 0;
    if (l2_host != r->l2_host) {
        if (l2_host % img->cluster_size || l2_host >= img->file_size ||
            img->cluster_size > img->file_size - l2_host) {
            dbg_err_set(DBG_ERR_PARSE, "%s: L1 entry %llu points to an L2 table at offset %llu "
                        "that is %s (file size %llu)", img->path, (unsigned long long)l1_idx,
                        (unsigned long long)l2_host,
                        l2_host % img->cluster_size ? "not cluster-aligned" : "outside the file",
                        (unsigned long long)img->file_size);
            return -1;
        }
        r->l2_host = 0;
        ssize_t n = dbg_qcow2_pread_full(img->fd, r->l2, img->cluster_size, l2_host);
        if (n != (ssize_t)img->cluster_size) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot read L2 table at offset %llu", img->path,
                          (unsigned long long)l2_host);
            return -1;
        }
        r->l2_host = l2_host;
    }
    *entry = dbg_qcow2_be64((const uint8_t *)&r->l2[l2_idx]);
    return 0;
}

/* Classifies one cluster; for data clusters *host is its file offset. */
static int classify(dbg_image_reader *r, uint64_t ci, run_kind *kind, uint64_t *host,
                    uint64_t *entry)
{
    const dbg_image *img = r->img;
    if (l2_lookup(r, ci, entry) < 0)
        return -1;
    uint64_t e = *entry;
    if (e & QCOW2_OFLAG_COMPRESSED) {
        *kind = RUN_COMPRESSED;
        return 0;
    }
    if (e & QCOW2_OFLAG_ZERO) {
        *kind = RUN_ZERO;
        return 0;
    }
    uint64_t off = e & QCOW2_OFFSET_MASK;
    if (off == 0) {
        *kind = img->backing ? RUN_BACKING : RUN_ZERO;
        return 0;
    }
    if (off % img->cluster_size) {
        dbg_err_set(DBG_ERR_PARSE, "%s: L2 entry for guest offset %llu points to unaligned host "
                    "offset %llu", img->path, (unsigned long long)(ci << img->cluster_bits),
                    (unsigned long long)off);
        return -1;
    }
    if (off >= img->file_size) {
        dbg_err_set(DBG_ERR_PARSE, "%s: L2 entry for guest offset %llu points to host offset "
                    "%llu outside the file (size %llu)", img->path,
                    (unsigned long long)(ci << img->cluster_bits), (unsigned long long)off,
                    (unsigned long long)img->file_size);
        return -1;
    }
    *kind = RUN_DATA;
    *host = off;
    return 0;
}

static int decompress_cluster(dbg_image_reader *r, uint64_t entry, uint64_t guest)
{
    const dbg_image *img = r->img;
    if (r->dbuf_host == entry && entry)
        return 0;
    r->dbuf_host = 0;
    uint32_t shift = 62 - (img->cluster_bits - 8);
    uint64_t csize_mask = ((uint64_t)1 << (img->cluster_bits - 8)) - 1;
    uint64_t coff = entry & (((uint64_t)1 << shift) - 1);
    uint64_t nsect = ((entry >> shift) & csize_mask) + 1;
    uint64_t csize = nsect * 512 - (coff & 511);
    if (coff >= img->file_size) {
        dbg_err_set(DBG_ERR_PARSE, "%s: compressed cluster for guest offset %llu at host offset "
                    "%llu is outside the file (size %llu)", img->path, (unsigned long long)guest,
                    (unsigned long long)coff, (unsigned long long)img->file_size);
        return -1;
    }
    if (csize > (uint64_t)img->cluster_size * 2)
        csize = (uint64_t)img->cluster_size * 2;
    if (container_read(img, r->cbuf, (size_t)csize, coff) < 0)
        return -1;
    int ok = 0;
    if (img->compression == QCOW2_COMPRESS_ZLIB) {
        if (!r->zs_ready) {
            memset(&r->zs, 0, sizeof(r->zs));
            if (inflateInit2(&r->zs, -12) != Z_OK) {
                dbg_err_set(DBG_ERR_NOMEM, "zlib inflateInit2 failed");
                return -1;
            }
            r->zs_ready = 1;
        } else {
            inflateReset(&r->zs);
        }
        r->zs.next_in = r->cbuf;
        r->zs.avail_in = (uInt)csize;
        r->zs.next_out = r->dbuf;
        r->zs.avail_out = img->cluster_size;
        int zr = inflate(&r->zs, Z_FINISH);
        ok = (zr == Z_STREAM_END || zr == Z_BUF_ERROR) && r->zs.avail_out == 0;
    } else {
        if (!r->zstd && !(r->zstd = ZSTD_createDCtx())) {
            dbg_err_set(DBG_ERR_NOMEM, "ZSTD_createDCtx failed");
            return -1;
        }
        ZSTD_DCtx_reset(r->zstd, ZSTD_reset_session_only);
        ZSTD_inBuffer in = {r->cbuf, (size_t)csize, 0};
        ZSTD_outBuffer out = {r->dbuf, img->cluster_size, 0};
        ok = 1;
        while (out.pos < out.size) {
            size_t before_in = in.pos, before_out = out.pos;
            size_t zr = ZSTD_decompressStream(r->zstd, &out, &in);
            if (ZSTD_isError(zr) || (zr == 0 && out.pos < out.size) ||
                (in.pos == before_in && out.pos == before_out)) {
                ok = 0;
                break;
            }
        }
    }
    if (!ok) {
        dbg_err_set(DBG_ERR_PARSE, "%s: compressed cluster for guest offset %llu (host offset "
                    "%llu, %llu bytes, %s) does not decompress to %u bytes", img->path,
                    (unsigned long long)guest, (unsigned long long)coff,
                    (unsigned long long)csize,
                    img->compression == QCOW2_COMPRESS_ZLIB ? "zlib" : "zstd", img->cluster_size);
        return -1;
    }
    r->dbuf_host = entry;
    return 0;
}

static int read_backing(dbg_image_reader *r, uint64_t off, uint8_t *buf, size_t len)
{
    uint64_t bsize = r->img->backing->virtual_size;
    size_t avail = off >= bsize ? 0 : (bsize - off < len ? (size_t)(bsize - off) : len);
    if (avail && dbg_image_read(r->backing, off, buf, avail) < 0)
        return -1;
    if (avail < len)
        memset(buf + avail, 0, len - avail);
    return 0;
}

/* How far the run that starts at guest offset off goes, at most len: its cluster and the ones
 * after it of the same kind (data: stored right after it in the file; host is off's offset in
 * the file). */
static int run_length(dbg_image_reader *r, uint64_t off, uint64_t len, run_kind kind,
                      uint64_t host, uint64_t *out)
{
    const dbg_image *img = r->img;
    uint64_t in_cl = off & (img->cluster_size - 1), ci = off >> img->cluster_bits;
    uint64_t n = img->cluster_size - in_cl;
    while (n < len) {
        run_kind k2;
        uint64_t h2 = 0, e2 = 0;
        if (classify(r, ci + ((in_cl + n) >> img->cluster_bits), &k2, &h2, &e2) < 0)
            return -1;
        if (k2 != kind || (kind == RUN_DATA && h2 != host + n))
            break;
        n += img->cluster_size;
    }
    *out = n < len ? n : len;
    return 0;
}

static int qcow2_read(dbg_image_reader *r, uint64_t off, uint8_t *buf, size_t len)
{
    const dbg_image *img = r->img;
    uint64_t cmask = img->cluster_size - 1;
    while (len) {
        uint64_t ci = off >> img->cluster_bits;
        run_kind kind;
        uint64_t host = 0, entry = 0;
        if (classify(r, ci, &kind, &host, &entry) < 0)
            return -1;
        size_t in_cl = (size_t)(off & cmask);
        size_t n = img->cluster_size - in_cl;
        if (n > len)
            n = len;
        if (kind == RUN_COMPRESSED) {
            if (decompress_cluster(r, entry, off) < 0)
                return -1;
            memcpy(buf, r->dbuf + in_cl, n);
        } else {
            uint64_t run;
            if (run_length(r, off, len, kind, host + in_cl, &run) < 0)
                return -1;
            n = (size_t)run;
            if (kind == RUN_ZERO)
                memset(buf, 0, n);
            else if (kind == RUN_BACKING) {
                if (read_backing(r, off, buf, n) < 0)
                    return -1;
            } else if (container_read(img, buf, n, host + in_cl) < 0)
                return -1;
        }
        off += n;
        buf += n;
        len -= n;
    }
    return 0;
}

int dbg_image_stored_run(dbg_image_reader *r, uint64_t off, uint64_t len, uint64_t *host,
                         uint64_t *run)
{
    const dbg_image *img = r->img;
    *host = 0;
    *run = len;
    if (off > img->virtual_size || len > img->virtual_size - off || len == 0) {
        dbg_err_set(DBG_ERR_INVALID, "%s: range %llu+%llu is past the virtual size %llu",
                    img->path, (unsigned long long)off, (unsigned long long)len,
                    (unsigned long long)img->virtual_size);
        return -1;
    }
    if (img->format == DBG_IMAGE_RAW) {
        *host = off;
        return off + len <= img->file_size; /* bytes past the end read as zero: read them */
    }
    uint64_t in_cl = off & (img->cluster_size - 1), n = img->cluster_size - in_cl;
    run_kind kind;
    uint64_t h = 0, entry = 0;
    if (classify(r, off >> img->cluster_bits, &kind, &h, &entry) < 0)
        return -1;
    if (kind != RUN_DATA) {
        *run = n < len ? n : len;
        return 0;
    }
    if (run_length(r, off, len, RUN_DATA, h + in_cl, run) < 0)
        return -1;
    *host = h + in_cl;
    return *host + *run <= img->file_size; /* else a last cluster written only in part: read it */
}

int dbg_image_read(dbg_image_reader *r, uint64_t off, void *buf, size_t len)
{
    const dbg_image *img = r->img;
    if (off > img->virtual_size || len > img->virtual_size - off) {
        dbg_err_set(DBG_ERR_INVALID, "%s: read of %zu bytes at %llu is past the virtual size %llu",
                    img->path, len, (unsigned long long)off,
                    (unsigned long long)img->virtual_size);
        return -1;
    }
    if (img->format == DBG_IMAGE_RAW)
        return container_read(img, buf, len, off);
    return qcow2_read(r, off, buf, len);
}

/* Raw: where the next data extent at or after off starts (end when none before it): the bytes
 * before lie in a hole. */
static uint64_t raw_next_nonzero(const dbg_image *img, uint64_t off, uint64_t end)
{
    off_t data = lseek(img->fd, (off_t)off, SEEK_DATA);
    if (data < 0)
        return errno == ENXIO ? end : off; /* ENXIO: no data after off; else unsupported: read it */
    return (uint64_t)data < off ? off : (uint64_t)data > end ? end : (uint64_t)data;
}

/* Whether the L2 table of L1 entry l1_idx (allocated) maps only zeros without the backing file:
 * then its whole span can be skipped at once. Loads the table into the cache. */
static int l2_table_all_zero(dbg_image_reader *r, uint64_t l1_idx, int *all_zero)
{
    const dbg_image *img = r->img;
    uint64_t e = 0;
    *all_zero = 0;
    if (l2_lookup(r, l1_idx * img->l2_entries, &e) < 0)
        return -1;
    for (uint64_t i = 0; i < img->l2_entries; i++) {
        e = dbg_qcow2_be64((const uint8_t *)&r->l2[i]);
        if ((e & QCOW2_OFLAG_COMPRESSED) ||
            (!(e & QCOW2_OFLAG_ZERO) && ((e & QCOW2_OFFSET_MASK) || img->backing)))
            return 0;
    }
    *all_zero = 1;
    return 0;
}

/* Backing-file part of next_nonzero: guest bytes [a, b) of r's image come from its backing
 * file, which reads as zeros past its own end. */
static int backing_next_nonzero(dbg_image_reader *r, uint64_t a, uint64_t b, uint64_t *next)
{
    uint64_t bsize = r->img->backing->virtual_size;
    *next = b;
    if (a >= bsize)
        return 0;
    uint64_t q = 0;
    if (dbg_image_next_nonzero(r->backing, a, b < bsize ? b : bsize, &q) < 0)
        return -1;
    if (q < (b < bsize ? b : bsize))
        *next = q;
    return 0;
}

static int qcow2_next_nonzero(dbg_image_reader *r, uint64_t off, uint64_t end, uint64_t *next)
{
    const dbg_image *img = r->img;
    uint64_t span = img->l2_entries << img->cluster_bits; /* guest bytes per L1 entry */
    uint64_t at = off;
    while (at < end) {
        uint64_t ci = at >> img->cluster_bits, l1_idx = ci / img->l2_entries;
        uint64_t span_end = at - at % span + span;
        if (span_end < at || span_end > end)
            span_end = end;
        uint64_t l2_host = l1_idx < img->l1_size ? img->l1[l1_idx] & QCOW2_OFFSET_MASK : 0;
        int all_zero = 0;
        if (l2_host && l2_host != r->l2_zero_host && l2_host != r->l2_mixed_host) {
            if (l2_table_all_zero(r, l1_idx, &all_zero) < 0)
                return -1;
            if (all_zero)
                r->l2_zero_host = l2_host;
            else
                r->l2_mixed_host = l2_host;
        }
        if (!l2_host || l2_host == r->l2_zero_host) {
            /* The whole span is unallocated (from the backing file, else zero) or zero. */
            if (!l2_host && img->backing) {
                uint64_t q = 0;
                if (backing_next_nonzero(r, at, span_end, &q) < 0)
                    return -1;
                if (q < span_end) {
                    *next = q;
                    return 0;
                }
            }
            at = span_end;
            continue;
        }
        /* Cluster by cluster inside this table, which stays cached (the all-zero test above
         * runs once per table visited, not once per cluster). */
        while (at < span_end) {
            run_kind kind;
            uint64_t host = 0, entry = 0;
            if (classify(r, at >> img->cluster_bits, &kind, &host, &entry) < 0)
                return -1;
            uint64_t ce = ((at >> img->cluster_bits) + 1) << img->cluster_bits;
            if (ce > span_end || ce < at)
                ce = span_end;
            if (kind == RUN_ZERO) {
                at = ce;
                continue;
            }
            if (kind != RUN_BACKING) {
                *next = at;
                return 0;
            }
            /* A run of backing clusters in this table, asked of the backing file at once. A
             * cluster that fails to classify ends the run; it is classified again (and fails)
             * only if the run reads as zeros, so errors come in the same order as a
             * cluster-by-cluster walk. */
            while (ce < span_end) {
                run_kind k2;
                uint64_t h2 = 0, e2 = 0;
                if (classify(r, ce >> img->cluster_bits, &k2, &h2, &e2) < 0) {
                    dbg_err_clear();
                    break;
                }
                if (k2 != RUN_BACKING)
                    break;
                ce += img->cluster_size;
            }
            if (ce > span_end)
                ce = span_end;
            uint64_t q = 0;
            if (backing_next_nonzero(r, at, ce, &q) < 0)
                return -1;
            if (q < ce) {
                *next = q;
                return 0;
            }
            at = ce;
        }
    }
    *next = end;
    return 0;
}

int dbg_image_next_nonzero(dbg_image_reader *r, uint64_t off, uint64_t end, uint64_t *next)
{
    const dbg_image *img = r->img;
    *next = off;
    if (off > end || end > img->virtual_size) {
        dbg_err_set(DBG_ERR_INVALID, "%s: range %llu..%llu is past the virtual size %llu",
                    img->path, (unsigned long long)off, (unsigned long long)end,
                    (unsigned long long)img->virtual_size);
        return -1;
    }
    if (off == end)
        return 0;
    if (img->format == DBG_IMAGE_RAW) {
        *next = raw_next_nonzero(img, off, end);
        return 0;
    }
    return qcow2_next_nonzero(r, off, end, next);
}

int dbg_image_range_is_zero(dbg_image_reader *r, uint64_t off, uint64_t len)
{
    const dbg_image *img = r->img;
    if (off > img->virtual_size || len > img->virtual_size - off) {
        dbg_err_set(DBG_ERR_INVALID, "%s: range %llu+%llu is past the virtual size %llu",
                    img->path, (unsigned long long)off, (unsigned long long)len,
                    (unsigned long long)img->virtual_size);
        return -1;
    }
    if (len == 0)
        return 1;
    if (img->format == DBG_IMAGE_RAW)
        return raw_next_nonzero(img, off, off + len) == off + len;
    uint64_t next = 0;
    if (qcow2_next_nonzero(r, off, off + len, &next) < 0)
        return -1;
    return next == off + len;
}
