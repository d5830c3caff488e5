/* Opens raw and qcow2 images (v2/v3): probes the format, validates every header field and
 * table against the file size, loads the L1 table, lists internal snapshots and follows the
 * backing chain with loop detection and a depth limit. Reading lives in image_read.c. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"
#include "integrity/qcow2_format.h"

uint64_t dbg_qcow2_be64(const uint8_t *p)
{
    return ((uint64_t)dbg_qcow2_be32(p) << 32) | dbg_qcow2_be32(p + 4);
}

uint32_t dbg_qcow2_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(((unsigned)p[0] << 8) | p[1]);
}

ssize_t dbg_qcow2_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    return (ssize_t)done;
}

/* Reads exactly len bytes at off that the caller already bounds-checked against the size. */
static int read_exact(const dbg_image *img, void *buf, size_t len, uint64_t off, const char *what)
{
    ssize_t n = dbg_qcow2_pread_full(img->fd, buf, len, off);
    if (n < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot read %s at offset %llu", img->path, what,
                      (unsigned long long)off);
        return -1;
    }
    if ((size_t)n != len) {
        dbg_err_set(DBG_ERR_PARSE, "%s: truncated: %s at offset %llu needs %zu bytes, file ends",
                    img->path, what, (unsigned long long)off, len);
        return -1;
    }
    return 0;
}

/* 1 when [off, off+len) lies inside the file. */
static int in_file(const dbg_image *img, uint64_t off, uint64_t len)
{
    return off <= img->file_size && len <= img->file_size - off;
}

typedef struct {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct {
    file_id ids[DBG_IMAGE_MAX_BACKING_DEPTH + 2];
    int n;
    int max_depth;
} chain_state;

static dbg_image *open_at_depth(const char *path, const dbg_image_open_opts *opts,
                                const char *want_format, chain_state *chain);

void dbg_image_close(dbg_image *img)
{
    if (!img)
        return;
    if (img->fd >= 0)
        close(img->fd);
    dbg_image_close(img->backing);
    for (size_t i = 0; i < img->n_snapshots; i++) {
        free(img->snapshots[i].id);
        free(img->snapshots[i].name);
    }
    free(img->snapshots);
    free(img->l1);
    free(img->backing_name);
    free(img->backing_format);
    free(img->path);
    free(img);
}

static int load_l1(dbg_image *img, uint64_t l1_off, uint32_t l1_size, uint64_t vsize,
                   const char *what)
{
    uint64_t per_l1 = (uint64_t)img->cluster_size * img->l2_entries;
    uint64_t need = vsize / per_l1 + (vsize % per_l1 ? 1 : 0);
    if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES || need * 8 > QCOW2_MAX_L1_BYTES) {
        dbg_err_set(DBG_ERR_LIMIT,
                    "%s: %s: virtual size %llu needs %llu L1 entries, l1_size is %u; the limit is "
                    "%u entries (virtual size too large)",
                    img->path, what, (unsigned long long)vsize, (unsigned long long)need, l1_size,
                    QCOW2_MAX_L1_BYTES / 8);
        return -1;
    }
    if (l1_size < need) {
        dbg_err_set(DBG_ERR_PARSE, "%s: %s: l1_size %u is smaller than the %llu entries the "
                    "virtual size %llu needs", img->path, what, l1_size, (unsigned long long)need,
                    (unsigned long long)vsize);
        return -1;
    }
    img->l1_size = l1_size;
    if (l1_size == 0)
        return 0;
    if (l1_off % img->cluster_size || !in_file(img, l1_off, (uint64_t)l1_size * 8)) {
        dbg_err_set(DBG_ERR_PARSE, "%s: %s: L1 table at offset %llu (%u entries) is %s (file "
                    "size %llu)", img->path, what, (unsigned long long)l1_off, l1_size,
                    l1_off % img->cluster_size ? "not cluster-aligned" : "outside the file",
                    (unsigned long long)img->file_size);
        return -1;
    }
    img->l1 = dbg_reallocarray(NULL, l1_size, sizeof(uint64_t));
    if (!img->l1)
        return -1;
    if (read_exact(img, img->l1, (size_t)l1_size * 8, l1_off, "L1 table") < 0)
        return -1;
    for (uint32_t i = 0; i < l1_size; i++)
        img->l1[i] = dbg_qcow2_be64((const uint8_t *)&img->l1[i]);
    return 0;
}

static int parse_extensions(dbg_image *img, const uint8_t *cl, uint32_t start)
{
    uint32_t pos = start;
    while (pos + 8 <= img->cluster_size) {
        uint32_t type = dbg_qcow2_be32(cl + pos), len = dbg_qcow2_be32(cl + pos + 4);
        pos += 8;
        if (type == QCOW2_EXT_END)
            return 0;
        if (len > img->cluster_size - pos) {
            dbg_err_set(DBG_ERR_PARSE, "%s: header extension 0x%08x at offset %u has length %u "
                        "past the first cluster", img->path, type, pos - 8, len);
            return -1;
        }
        if (type == QCOW2_EXT_BITMAPS && len >= 24) {
            img->n_bitmaps = dbg_qcow2_be32(cl + pos);
            img->bitmaps_bytes = dbg_qcow2_be64(cl + pos + 8);
            img->bitmaps_offset = dbg_qcow2_be64(cl + pos + 16);
        }
        if (type == QCOW2_EXT_BACKING_FORMAT) {
            free(img->backing_format);
            img->backing_format = dbg_strndup((const char *)cl + pos, len);
            if (!img->backing_format)
                return -1;
        }
        pos += (len + 7) & ~7u;
    }
    return 0; /* no end marker inside the cluster: QEMU stops there too */
}

static int parse_snapshots(dbg_image *img, uint32_t count, uint64_t off)
{
    if (count == 0)
        return 0;
    if (count > QCOW2_MAX_SNAPSHOTS) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: nb_snapshots %u exceeds the limit %u", img->path, count,
                    QCOW2_MAX_SNAPSHOTS);
        return -1;
    }
    if (off % 8 || off >= img->file_size) {
        dbg_err_set(DBG_ERR_PARSE, "%s: snapshot table offset %llu is %s (file size %llu)",
                    img->path, (unsigned long long)off, off % 8 ? "unaligned" : "outside the file",
                    (unsigned long long)img->file_size);
        return -1;
    }
    img->snapshots = dbg_calloc(count, sizeof(*img->snapshots));
    if (!img->snapshots)
        return -1;
    uint8_t fixed[40];
    for (uint32_t i = 0; i < count; i++) {
        if (!in_file(img, off, sizeof(fixed)) ||
            read_exact(img, fixed, sizeof(fixed), off, "snapshot entry") < 0) {
            if (dbg_err_code() == DBG_OK)
                dbg_err_set(DBG_ERR_PARSE, "%s: snapshot entry %u at offset %llu is outside the "
                            "file", img->path, i, (unsigned long long)off);
            return -1;
        }
        dbg_image_snapshot *s = &img->snapshots[i];
        img->n_snapshots = i + 1;
        s->l1_table_offset = dbg_qcow2_be64(fixed);
        s->l1_size = dbg_qcow2_be32(fixed + 8);
        uint16_t id_len = be16(fixed + 12), name_len = be16(fixed + 14);
        s->date_sec = dbg_qcow2_be32(fixed + 16);
        s->vm_state_size = dbg_qcow2_be32(fixed + 32);
        uint32_t extra = dbg_qcow2_be32(fixed + 36);
        if (extra > 1024) {
            dbg_err_set(DBG_ERR_LIMIT, "%s: snapshot %u has %u bytes of extra data (limit 1024)",
                        img->path, i, extra);
            return -1;
        }
        uint64_t total = 40 + (uint64_t)extra + id_len + name_len;
        if (!in_file(img, off, total)) {
            dbg_err_set(DBG_ERR_PARSE, "%s: snapshot entry %u at offset %llu (%llu bytes) runs "
                        "past the end of the file", img->path, i, (unsigned long long)off,
                        (unsigned long long)total);
            return -1;
        }
        DBG_AUTOFREE uint8_t *var = dbg_malloc((size_t)(total - 40) + 1);
        if (!var || read_exact(img, var, (size_t)(total - 40), off + 40, "snapshot entry") < 0)
            return -1;
        if (extra >= 8) {
            uint64_t large = dbg_qcow2_be64(var);
            if (large)
                s->vm_state_size = large;
        }
        s->id = dbg_strndup((const char *)var + extra, id_len);
        s->name = dbg_strndup((const char *)var + extra + id_len, name_len);
        if (!s->id || !s->name)
            return -1;
        off += (total + 7) & ~7ull;
        img->snapshots_bytes = off - img->snapshots_offset;
    }
    return 0;
}

static char *resolve_backing(const char *image_path, const char *name)
{
    if (name[0] == '/')
        return dbg_strdup(name);
    DBG_AUTOFREE char *copy = dbg_strdup(image_path);
    if (!copy)
        return NULL;
    return dbg_path_join(dirname(copy), name);
}

static int open_backing(dbg_image *img, const dbg_image_open_opts *opts, chain_state *chain)
{
    if (strchr(img->backing_name, ':') && strncmp(img->backing_name, "file:", 5) != 0) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: backing file \"%s\" is not a local file (protocol "
                    "or json: backing names are not supported)", img->path, img->backing_name);
        return -1;
    }
    const char *name = img->backing_name;
    if (strncmp(name, "file:", 5) == 0)
        name += 5;
    const char *fmt = img->backing_format;
    if (fmt && strcmp(fmt, "raw") != 0 && strcmp(fmt, "qcow2") != 0) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: backing file format \"%s\" is not supported (raw, "
                    "qcow2)", img->path, fmt);
        return -1;
    }
    DBG_AUTOFREE char *bpath = resolve_backing(img->path, name);
    if (!bpath)
        return -1;
    img->backing = open_at_depth(bpath, opts, fmt, chain);
    if (!img->backing) { /* the error names the backing file: say whose it is */
        DBG_AUTOFREE char *cause = dbg_strdup(dbg_err_msg());
        dbg_err_set(dbg_err_code(), "%s: backing file: %s", img->path, cause ? cause : bpath);
        return -1;
    }
    return 0;
}

/* Parses the qcow2 header in the first cluster; l1 from the header (snap < 0) or a snapshot. */
static int parse_qcow2(dbg_image *img, const dbg_image_open_opts *opts, chain_state *chain)
{
    uint8_t hdr[112] = {0};
    if (img->file_size < 72) {
        dbg_err_set(DBG_ERR_PARSE, "%s: truncated qcow2 header (%llu bytes, need at least 72)",
                    img->path, (unsigned long long)img->file_size);
        return -1;
    }
    size_t hlen = img->file_size < sizeof(hdr) ? (size_t)img->file_size : sizeof(hdr);
    if (read_exact(img, hdr, hlen, 0, "qcow2 header") < 0)
        return -1;
    img->version = dbg_qcow2_be32(hdr + 4);
    if (img->version != 2 && img->version != 3) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: qcow2 version %u is not supported (2, 3)",
                    img->path, img->version);
        return -1;
    }
    uint64_t backing_off = dbg_qcow2_be64(hdr + 8);
    uint32_t backing_len = dbg_qcow2_be32(hdr + 16);
    img->cluster_bits = dbg_qcow2_be32(hdr + 20);
    img->virtual_size = dbg_qcow2_be64(hdr + 24);
    uint32_t crypt = dbg_qcow2_be32(hdr + 32);
    uint32_t l1_size = dbg_qcow2_be32(hdr + 36);
    uint64_t l1_off = dbg_qcow2_be64(hdr + 40);
    uint32_t nb_snapshots = dbg_qcow2_be32(hdr + 60);
    uint64_t snap_off = dbg_qcow2_be64(hdr + 64);
    img->l1_offset = l1_off;
    img->refcount_table_offset = dbg_qcow2_be64(hdr + 48);
    img->refcount_table_clusters = dbg_qcow2_be32(hdr + 56);
    img->backing_name_offset = backing_off;
    img->backing_name_len = backing_len;
    img->snapshots_offset = snap_off;
    if (img->cluster_bits < QCOW2_MIN_CLUSTER_BITS || img->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        dbg_err_set(DBG_ERR_PARSE, "%s: cluster_bits %u is outside %d..%d", img->path,
                    img->cluster_bits, QCOW2_MIN_CLUSTER_BITS, QCOW2_MAX_CLUSTER_BITS);
        return -1;
    }
    img->cluster_size = 1u << img->cluster_bits;
    img->l2_entries = img->cluster_size / 8;
    if (crypt != 0) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: encrypted qcow2 (crypt_method %u): the guest "
                    "content cannot be read without the key", img->path, crypt);
        return -1;
    }
    if (img->virtual_size > ((uint64_t)1 << 56)) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: virtual size %llu is larger than 2^56 bytes", img->path,
                    (unsigned long long)img->virtual_size);
        return -1;
    }
    uint32_t ext_start = 72;
    img->compression = QCOW2_COMPRESS_ZLIB;
    if (img->version == 3) {
        if (img->file_size < 104) {
            dbg_err_set(DBG_ERR_PARSE, "%s: truncated qcow2 v3 header (%llu bytes, need 104)",
                        img->path, (unsigned long long)img->file_size);
            return -1;
        }
        img->incompatible = dbg_qcow2_be64(hdr + 72);
        uint32_t header_len = dbg_qcow2_be32(hdr + 100);
        if (header_len < 104 || header_len > img->cluster_size || header_len % 8) {
            dbg_err_set(DBG_ERR_PARSE, "%s: header_length %u is invalid (104..%u, multiple of 8)",
                        img->path, header_len, img->cluster_size);
            return -1;
        }
        uint64_t known = QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT |
                         QCOW2_INCOMPAT_DATA_FILE | QCOW2_INCOMPAT_COMPRESSION |
                         QCOW2_INCOMPAT_EXTL2;
        if (img->incompatible & ~known) {
            dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: unknown incompatible feature bits 0x%llx",
                        img->path, (unsigned long long)(img->incompatible & ~known));
            return -1;
        }
        if (img->incompatible & QCOW2_INCOMPAT_DATA_FILE) {
            dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: qcow2 with an external data file is not "
                        "supported", img->path);
            return -1;
        }
        if (img->incompatible & QCOW2_INCOMPAT_EXTL2) {
            dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: qcow2 with extended L2 entries (subclusters) "
                        "is not supported", img->path);
            return -1;
        }
        if (img->incompatible & QCOW2_INCOMPAT_CORRUPT)
            dbg_warn("%s: image is marked corrupt by QEMU; reading it anyway", img->path);
        if (img->incompatible & QCOW2_INCOMPAT_COMPRESSION) {
            if (header_len < 112) {
                dbg_err_set(DBG_ERR_PARSE, "%s: compression-type feature set but header_length "
                            "%u has no compression_type field", img->path, header_len);
                return -1;
            }
            img->compression = hdr[104];
            if (img->compression != QCOW2_COMPRESS_ZLIB &&
                img->compression != QCOW2_COMPRESS_ZSTD) {
                dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: compression_type %d is not supported "
                            "(0 zlib, 1 zstd)", img->path, img->compression);
                return -1;
            }
        }
        ext_start = header_len;
    }
    /* Header extensions live in the first cluster. */
    uint64_t first = img->file_size < img->cluster_size ? img->file_size : img->cluster_size;
    DBG_AUTOFREE uint8_t *cl = dbg_calloc(1, img->cluster_size);
    if (!cl || read_exact(img, cl, (size_t)first, 0, "first cluster") < 0)
        return -1;
    if (parse_extensions(img, cl, ext_start) < 0)
        return -1;
    if (backing_off) {
        if (backing_len == 0 || backing_len > QCOW2_MAX_BACKING_NAME ||
            !in_file(img, backing_off, backing_len)) {
            dbg_err_set(DBG_ERR_PARSE, "%s: backing file name at offset %llu, length %u is "
                        "invalid (length 1..%u inside the file of %llu bytes)", img->path,
                        (unsigned long long)backing_off, backing_len, QCOW2_MAX_BACKING_NAME,
                        (unsigned long long)img->file_size);
            return -1;
        }
        img->backing_name = dbg_calloc(1, backing_len + 1);
        if (!img->backing_name ||
            read_exact(img, img->backing_name, backing_len, backing_off, "backing file name") < 0)
            return -1;
        if (strlen(img->backing_name) != backing_len) {
            dbg_err_set(DBG_ERR_PARSE, "%s: backing file name contains a NUL byte", img->path);
            return -1;
        }
    }
    if (load_l1(img, l1_off, l1_size, img->virtual_size, "active L1 table") < 0)
        return -1;
    if (parse_snapshots(img, nb_snapshots, snap_off) < 0)
        return -1;
    if (img->backing_name && !opts->no_backing && open_backing(img, opts, chain) < 0)
        return -1;
    return 0;
}

static dbg_image *open_at_depth(const char *path, const dbg_image_open_opts *opts,
                                const char *want_format, chain_state *chain)
{
    if (chain->n > chain->max_depth) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: backing chain is deeper than %d images", path,
                    chain->max_depth);
        return NULL;
    }
    dbg_image *img = dbg_calloc(1, sizeof(*img));
    if (!img)
        return NULL;
    img->fd = -1;
    img->path = dbg_strdup(path);
    if (!img->path)
        goto fail;
    /* A backing name comes from the image's header, which its owner (or, probed, its guest)
     * wrote: look before opening, since opening a FIFO blocks until a writer comes and opening
     * a character device can act (a watchdog starts counting); O_NONBLOCK covers a swap in
     * between, and is cleared once the type is known. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        dbg_err_set(DBG_ERR_INVALID, "%s: not a regular file or block device", path);
        goto fail;
    }
    img->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (img->fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open image", path);
        goto fail;
    }
    if (fstat(img->fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot stat", path);
        goto fail;
    }
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        dbg_err_set(DBG_ERR_INVALID, "%s: not a regular file or block device", path);
        goto fail;
    }
    int fl = fcntl(img->fd, F_GETFL);
    if (fl < 0 || fcntl(img->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot set blocking mode", path);
        goto fail;
    }
    img->dev = st.st_dev;
    img->ino = st.st_ino;
    (void)posix_fadvise(img->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* a hint; failure is harmless */
    for (int i = 0; i < chain->n; i++) {
        if (chain->ids[i].dev == st.st_dev && chain->ids[i].ino == st.st_ino) {
            dbg_err_set(DBG_ERR_PARSE, "%s: backing chain loop: this file already appears in "
                        "the chain at depth %d", path, i);
            goto fail;
        }
    }
    chain->ids[chain->n].dev = st.st_dev;
    chain->ids[chain->n].ino = st.st_ino;
    chain->n++;
    if (S_ISBLK(st.st_mode)) {
        off_t end = lseek(img->fd, 0, SEEK_END);
        if (end < 0) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot size block device", path);
            goto fail;
        }
        img->file_size = (uint64_t)end;
    } else {
        img->file_size = (uint64_t)st.st_size;
    }
    uint8_t magic[4] = {0};
    ssize_t n = dbg_qcow2_pread_full(img->fd, magic, 4, 0);
    if (n < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot read", path);
        goto fail;
    }
    int is_qcow2 = n == 4 && dbg_qcow2_be32(magic) == QCOW2_MAGIC;
    img->header_format = is_qcow2 ? DBG_IMAGE_QCOW2 : DBG_IMAGE_RAW;
    if (want_format && strcmp(want_format, "qcow2") == 0 && !is_qcow2) {
        dbg_err_set(DBG_ERR_PARSE, "%s: declared as qcow2 but has no qcow2 magic", path);
        goto fail;
    }
    if (is_qcow2 && !opts->force_raw && !(want_format && strcmp(want_format, "raw") == 0)) {
        img->format = DBG_IMAGE_QCOW2;
        if (parse_qcow2(img, opts, chain) < 0)
            goto fail;
    } else {
        img->format = DBG_IMAGE_RAW;
        img->virtual_size = img->file_size;
    }
    return img;
fail:
    dbg_image_close(img);
    return NULL;
}

dbg_image *dbg_image_open(const char *path, const dbg_image_open_opts *opts)
{
    dbg_image_open_opts def = {0};
    if (!opts)
        opts = &def;
    chain_state chain = {.n = 0};
    chain.max_depth = opts->max_depth > 0 && opts->max_depth <= DBG_IMAGE_MAX_BACKING_DEPTH
                          ? opts->max_depth
                          : DBG_IMAGE_MAX_BACKING_DEPTH;
    if (opts->format && dbg_image_format_parse(opts->format, NULL) < 0) {
        dbg_err_set(DBG_ERR_INVALID, "%s: image format '%s': expected raw or qcow2", path,
                    opts->format);
        return NULL;
    }
    return open_at_depth(path, opts, opts->format, &chain);
}

int dbg_image_format_parse(const char *name, dbg_image_format *out)
{
    dbg_image_format f;
    if (name && strcmp(name, "raw") == 0)
        f = DBG_IMAGE_RAW;
    else if (name && strcmp(name, "qcow2") == 0)
        f = DBG_IMAGE_QCOW2;
    else
        return -1;
    if (out)
        *out = f;
    return 0;
}

dbg_image *dbg_image_open_snapshot(const dbg_image *img, size_t i)
{
    if (img->format != DBG_IMAGE_QCOW2 || i >= img->n_snapshots) {
        dbg_err_set(DBG_ERR_NOTFOUND, "%s: no internal snapshot #%zu", img->path, i);
        return NULL;
    }
    dbg_image_open_opts opts = {.format = "qcow2"};
    dbg_image *snap = dbg_image_open(img->path, &opts);
    if (!snap)
        return NULL;
    const dbg_image_snapshot *s = &img->snapshots[i];
    free(snap->l1);
    snap->l1 = NULL;
    char what[64];
    snprintf(what, sizeof(what), "L1 table of snapshot %zu", i);
    /* The snapshot's disk size is its own (v3 extra data); QEMU keeps it equal to the
     * current size unless resized, so bound reads by l1_size coverage. */
    uint64_t cover = (uint64_t)s->l1_size * snap->l2_entries * snap->cluster_size;
    if (cover < snap->virtual_size)
        snap->virtual_size = cover;
    if (load_l1(snap, s->l1_table_offset, s->l1_size, snap->virtual_size, what) < 0) {
        dbg_image_close(snap);
        return NULL;
    }
    return snap;
}

dbg_image *dbg_image_open_snapshot_state(const dbg_image *img, size_t i)
{
    dbg_image *view = dbg_image_open_snapshot(img, i);
    if (!view)
        return NULL;
    /* QEMU puts the state at the first L1 entry past the disk (qcow2_vm_state_offset) */
    uint64_t per_l1 = (uint64_t)view->cluster_size * view->l2_entries;
    uint64_t disk_entries = view->virtual_size / per_l1 + (view->virtual_size % per_l1 != 0);
    uint64_t end = (uint64_t)img->snapshots[i].l1_size * per_l1;
    int any = 0;
    for (uint64_t k = 0; k < view->l1_size; k++) {
        if (k < disk_entries)
            view->l1[k] = 0;
        else
            any |= (view->l1[k] & QCOW2_OFFSET_MASK) != 0;
    }
    if (!any) {
        dbg_err_set(DBG_ERR_NOTFOUND, "%s: snapshot %zu maps nothing past its disk", img->path, i);
        dbg_image_close(view);
        return NULL;
    }
    dbg_image_close(view->backing); /* the zeroed disk entries must not read the backing file */
    view->backing = NULL;
    view->virtual_size = end < ((uint64_t)1 << 56) ? end : (uint64_t)1 << 56; /* as at open */
    return view;
}

dbg_image_format dbg_image_get_format(const dbg_image *img) { return img->format; }
dbg_image_format dbg_image_header_format(const dbg_image *img) { return img->header_format; }
const char *dbg_image_format_name(dbg_image_format f) { return f == DBG_IMAGE_QCOW2 ? "qcow2" : "raw"; }
const char *dbg_image_path(const dbg_image *img) { return img->path; }
uint64_t dbg_image_virtual_size(const dbg_image *img) { return img->virtual_size; }
uint64_t dbg_image_container_size(const dbg_image *img) { return img->file_size; }
uint32_t dbg_image_cluster_size(const dbg_image *img) { return img->format == DBG_IMAGE_QCOW2 ? img->cluster_size : 0; }
const dbg_image *dbg_image_backing(const dbg_image *img) { return img->backing; }
const char *dbg_image_backing_name(const dbg_image *img) { return img->backing_name; }
size_t dbg_image_snapshot_count(const dbg_image *img) { return img->n_snapshots; }
int dbg_image_raw_fd(const dbg_image *img) { return img->format == DBG_IMAGE_RAW ? img->fd : -1; }

int dbg_image_file_fd(const dbg_image *img) { return img->fd; }

const dbg_image_snapshot *dbg_image_snapshot_at(const dbg_image *img, size_t i)
{
    return i < img->n_snapshots ? &img->snapshots[i] : NULL;
}
