/* Migration integrity (8.2.4.5c): compare a migrated disk with its source chunk by chunk over
 * the guest-visible content, report the differing ranges and, on request, repair the
 * destination from the source (range copies into raw destinations, a verified whole-file copy
 * for qcow2 destinations of the same format), then re-hash to confirm. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

#define MIGRATE_MAX_RANGES 100000

void dbg_migrate_result_free(dbg_migrate_result *m)
{
    if (!m)
        return;
    free(m->ranges);
    free(m->still_ranges);
    memset(m, 0, sizeof(*m));
}

/* Chunk i differs: its hashes differ, or only one side has it (a size difference). */
static int chunk_differs(const dbg_chunk_hashes *a, const dbg_chunk_hashes *b, size_t i)
{
    return i >= a->n_chunks || i >= b->n_chunks || memcmp(a->chunks[i], b->chunks[i], 32) != 0;
}

static size_t chunk_count(const dbg_chunk_hashes *a, const dbg_chunk_hashes *b)
{
    return a->n_chunks > b->n_chunks ? a->n_chunks : b->n_chunks;
}

/* The differing chunks of a and b as merged ranges (the first max_ranges) and their bytes. */
static int diff_trees(const dbg_chunk_hashes *a, const dbg_chunk_hashes *b, size_t max_ranges,
                      dbg_range **ranges, size_t *n_ranges, int *truncated, uint64_t *bytes)
{
    size_t n = chunk_count(a, b);
    uint64_t end = a->size > b->size ? a->size : b->size;
    for (size_t i = 0; i < n; i++) {
        if (!chunk_differs(a, b, i))
            continue;
        uint64_t off = (uint64_t)i * a->chunk_size;
        uint64_t len = end - off < a->chunk_size ? end - off : a->chunk_size;
        *bytes += len;
        if (dbg_ranges_add(ranges, n_ranges, max_ranges, off, len, truncated) < 0)
            return -1;
    }
    return 0;
}

static int write_full(int fd, const uint8_t *buf, size_t len, uint64_t off, const char *path)
{
    while (len) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dbg_err_errno(DBG_ERR_IO, "%s: write at offset %llu failed", path,
                          (unsigned long long)off);
            return -1;
        }
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Raw destination: copy each differing source chunk into place. From the hashes, not the
 * result's list of ranges, which names only the first ones. */
static int repair_ranges(const dbg_image *src, const char *dest, const dbg_chunk_hashes *hs,
                         const dbg_chunk_hashes *hd)
{
    int r = -1;
    uint64_t chunk = hs->chunk_size;
    int fd = open(dest, O_WRONLY | O_CLOEXEC);
    uint8_t *buf = dbg_malloc((size_t)chunk);
    dbg_image_reader *rd = dbg_image_reader_new(src);
    if (fd < 0)
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open for repair", dest);
    if (fd < 0 || !buf || !rd)
        goto out;
    uint64_t ssize = dbg_image_virtual_size(src);
    struct stat dst_st;
    if (fstat(fd, &dst_st) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot stat", dest);
        goto out;
    }
    int regular = S_ISREG(dst_st.st_mode);
    if (!regular) {
        /* a block device (an LVM volume, say) cannot be resized: it must hold the source, and
         * is checked before anything is written */
        off_t dev_size = lseek(fd, 0, SEEK_END);
        if (dev_size < 0 || (uint64_t)dev_size < ssize) {
            dbg_err_set(DBG_ERR_INVALID, "%s: a device of %lld bytes cannot hold the %llu-byte "
                        "source: nothing was written", dest, (long long)dev_size,
                        (unsigned long long)ssize);
            goto out;
        }
    }
    for (size_t i = 0, n = chunk_count(hs, hd); i < n; i++) {
        uint64_t off = (uint64_t)i * chunk;
        if (off >= ssize || !chunk_differs(hs, hd, i))
            continue; /* past the source's end: the truncation below removes it */
        size_t len = (size_t)(ssize - off < chunk ? ssize - off : chunk);
        if (dbg_image_read(rd, off, buf, len) < 0 || write_full(fd, buf, len, off, dest) < 0)
            goto out;
    }
    if (regular && ftruncate(fd, (off_t)ssize) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot set size to %llu", dest, (unsigned long long)ssize);
        goto out;
    }
    if (fsync(fd) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: fsync failed", dest);
        goto out;
    }
    r = 0;
out:
    dbg_image_reader_free(rd);
    free(buf);
    if (fd >= 0)
        close(fd);
    return r;
}

/* qcow2 destination: replace it by a copy of the source container (temp file + rename). The
 * file replaced is the one DEST resolves to, not a symlink on the way (renaming over the link
 * left the real disk damaged and reported it repaired), and the copy keeps its mode and owner
 * (a 0600 root-owned copy is a disk qemu can no longer open). */
static int repair_whole(const char *source, const char *dest)
{
    int r = -1, in = open(source, O_RDONLY | O_CLOEXEC), out = -1;
    char real[PATH_MAX];
    struct stat st;
    DBG_AUTOFREE char *tmp = NULL;
    DBG_AUTOFREE uint8_t *buf = dbg_malloc(1 << 20);
    if (in < 0)
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", source);
    if (in < 0 || !buf)
        goto done;
    if (!realpath(dest, real) || stat(real, &st) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot resolve the file to repair", dest);
        goto done;
    }
    if (!(tmp = dbg_asprintf("%s.dengbao-repair.%ld", real, (long)getpid())))
        goto done;
    out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot create", tmp);
        goto done;
    }
    if (fchown(out, st.st_uid, st.st_gid) != 0 || fchmod(out, st.st_mode & 07777) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot give the repaired copy the owner and mode of %s "
                      "(uid %u, gid %u, mode %04o): nothing was replaced", tmp, real,
                      (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)(st.st_mode & 07777));
        goto done;
    }
    uint64_t off = 0;
    for (;;) {
        ssize_t n = read(in, buf, 1 << 20);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            dbg_err_errno(DBG_ERR_IO, "%s: read failed", source);
            goto done;
        }
        if (n == 0)
            break;
        if (write_full(out, buf, (size_t)n, off, tmp) < 0)
            goto done;
        off += (uint64_t)n;
    }
    if (fsync(out) < 0 || rename(tmp, real) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot replace with the repaired copy", real);
        goto done;
    }
    r = 0;
done:
    if (r < 0 && out >= 0) /* only a copy this call created */
        unlink(tmp);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    return r;
}

int dbg_migrate_check(const char *source, const char *dest, const dbg_migrate_opts *opts,
                      dbg_migrate_result *res)
{
    int r = -1;
    dbg_migrate_opts def = {0};
    if (!opts)
        opts = &def;
    memset(res, 0, sizeof(*res));
    dbg_image_open_opts so = {.format = opts->source_format}, dopts = {.format = opts->dest_format};
    dbg_image *src = dbg_image_open(source, &so), *dst = NULL;
    dbg_chunk_hashes hs = {0}, hd = {0};
    if (!src || !(dst = dbg_image_open(dest, &dopts)))
        goto out;
    res->source_format = dbg_image_get_format(src);
    res->dest_format = dbg_image_get_format(dst);
    res->source_format_probed = !opts->source_format;
    res->dest_format_probed = !opts->dest_format;
    if (dbg_hash_image(src, &opts->hash, &hs) < 0 || dbg_hash_image(dst, &opts->hash, &hd) < 0)
        goto out;
    res->source_size = dbg_image_virtual_size(src);
    res->dest_size = dbg_image_virtual_size(dst);
    dbg_hex_encode(hs.root, 32, res->source_root);
    dbg_hex_encode(hd.root, 32, res->dest_root);
    size_t max_ranges = opts->max_ranges ? opts->max_ranges : MIGRATE_MAX_RANGES;
    if (diff_trees(&hs, &hd, max_ranges, &res->ranges, &res->n_ranges, &res->ranges_truncated,
                   &res->differing_bytes) < 0)
        goto out;
    res->identical = res->n_ranges == 0 && res->source_size == res->dest_size;
    if (res->identical || !opts->repair) {
        r = 0;
        goto out;
    }
    dbg_image_format df = dbg_image_get_format(dst), sf = dbg_image_get_format(src);
    int repair_r = -1;
    if (df == DBG_IMAGE_RAW) {
        repair_r = repair_ranges(src, dest, &hs, &hd);
    } else if (sf == df && !dbg_image_backing(src)) {
        if ((repair_r = repair_whole(source, dest)) == 0)
            res->repair_whole_file = 1;
    } else {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: cannot repair a %s destination from a %s%s source: "
                    "range repair needs a raw destination, whole-file repair the same format "
                    "without a backing chain", dest, dbg_image_format_name(df),
                    dbg_image_format_name(sf), dbg_image_backing(src) ? " (backed)" : "");
    }
    /* A failed repair is no failed check: it says why, and below what still differs (a range
     * repair may have written part of it), as the check without --repair lists its ranges. */
    if (repair_r < 0)
        snprintf(res->repair_error, sizeof(res->repair_error), "%s", dbg_err_msg());
    else
        res->repaired = 1;
    /* Re-verify from scratch: the repaired destination must hash like the source as first read
     * (a source changed since then shows as still differing). */
    dbg_image_close(dst);
    dbg_chunk_hashes_free(&hd);
    if (!(dst = dbg_image_open(dest, &dopts)) || dbg_hash_image(dst, &opts->hash, &hd) < 0) {
        if (repair_r == 0)
            goto out;
        /* nothing better known than the ranges before the repair */
        size_t len = strlen(res->repair_error);
        snprintf(res->repair_error + len, sizeof(res->repair_error) - len,
                 " (and the destination cannot be read again: %s; the ranges still differing are "
                 "those before the repair)", dbg_err_msg());
        for (size_t i = 0; i < res->n_ranges; i++)
            if (dbg_ranges_add(&res->still_ranges, &res->n_still, max_ranges,
                               res->ranges[i].offset, res->ranges[i].length,
                               &res->still_truncated) < 0)
                goto out;
        res->still_truncated |= res->ranges_truncated;
        res->still_differing_bytes = res->differing_bytes;
        res->identical = 0;
        r = 0;
        goto out;
    }
    dbg_hex_encode(hd.root, 32, res->dest_root);
    res->identical = !memcmp(hd.root, hs.root, 32) && dbg_image_virtual_size(dst) == res->source_size;
    if (diff_trees(&hs, &hd, max_ranges, &res->still_ranges, &res->n_still, &res->still_truncated,
                   &res->still_differing_bytes) < 0)
        goto out;
    r = 0;
out:
    dbg_chunk_hashes_free(&hs);
    dbg_chunk_hashes_free(&hd);
    dbg_image_close(src);
    dbg_image_close(dst);
    if (r < 0)
        dbg_migrate_result_free(res);
    return r;
}
