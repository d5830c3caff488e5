/* Internal to src/integrity: the opened-image struct shared by the raw and qcow2 readers, and
 * the qcow2 on-disk constants (docs/interop/qcow2.txt in QEMU). Not a public header. */
#ifndef DBG_INTEGRITY_QCOW2_FORMAT_H
#define DBG_INTEGRITY_QCOW2_FORMAT_H

#include <stdint.h>
#include <sys/types.h>

#include "dengbao/integrity.h"

#define QCOW2_MAGIC 0x514649fbu           /* "QFI\xfb" */
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_L1_BYTES (32u << 20)    /* QEMU's QCOW_MAX_L1_SIZE */
#define QCOW2_MAX_SNAPSHOTS 65536u
#define QCOW2_MAX_BACKING_NAME 1023u
#define QCOW2_OFFSET_MASK 0x00fffffffffffe00ull
#define QCOW2_OFLAG_COMPRESSED (1ull << 62)
#define QCOW2_OFLAG_ZERO 1ull

#define QCOW2_INCOMPAT_DIRTY (1ull << 0)
#define QCOW2_INCOMPAT_CORRUPT (1ull << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ull << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ull << 3)
#define QCOW2_INCOMPAT_EXTL2 (1ull << 4)

#define QCOW2_EXT_END 0u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_BITMAPS 0x23852875u

enum { QCOW2_COMPRESS_ZLIB = 0, QCOW2_COMPRESS_ZSTD = 1 };

struct dbg_image {
    char *path;
    int fd;
    dbg_image_format format;
    dbg_image_format header_format; /* what the first bytes claim, whatever format was read */
    uint64_t virtual_size;
    uint64_t file_size;
    dev_t dev;
    ino_t ino;
    /* qcow2 only */
    uint32_t version;
    uint32_t cluster_bits;
    uint32_t cluster_size;
    uint64_t l2_entries;          /* entries per L2 table */
    uint64_t *l1;                 /* host byte order */
    uint32_t l1_size;
    int compression;
    uint64_t incompatible;
    char *backing_name;
    char *backing_format;
    dbg_image *backing;
    dbg_image_snapshot *snapshots;
    size_t n_snapshots;
    /* where the tables are, for the wipe check's walk of the file's clusters (wipe.c) */
    uint64_t l1_offset;
    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint64_t backing_name_offset;
    uint32_t backing_name_len;
    uint64_t snapshots_offset, snapshots_bytes; /* the snapshot table */
    uint64_t bitmaps_offset, bitmaps_bytes;     /* the bitmap directory (bitmaps extension) */
    uint32_t n_bitmaps;
};

uint64_t dbg_qcow2_be64(const uint8_t *p);
uint32_t dbg_qcow2_be32(const uint8_t *p);
/* pread until len bytes or EOF; returns bytes read or -1 (errno). */
ssize_t dbg_qcow2_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif
