/* Image, snapshot and volume integrity: a reader for raw and qcow2 images that returns what
 * the guest sees, chunked Merkle roots (SHA-256, hashed on all cores), Ed25519-signed seal
 * manifests and their verification, chunk-by-chunk migration checks with repair, and
 * wipe checks for reclaimed volumes (MLPS 8.2.4.4b, 8.2.4.5c, 8.2.4.7a/b). */
#ifndef DENGBAO_INTEGRITY_H
#define DENGBAO_INTEGRITY_H

#include <stddef.h>
#include <stdint.h>

#define DBG_CHUNK_DEFAULT ((uint64_t)1 << 20)   /* 1 MiB Merkle chunks */
#define DBG_IMAGE_MAX_BACKING_DEPTH 16
#define DBG_SEAL_SUFFIX ".dengbao-seal"

/* ---------------------------------------------------------------- image reader ---- */
typedef enum { DBG_IMAGE_RAW = 0, DBG_IMAGE_QCOW2 = 1 } dbg_image_format;

typedef struct {
    char *id;            /* snapshot id string */
    char *name;
    uint64_t vm_state_size;
    int64_t date_sec;
    uint64_t l1_table_offset;
    uint32_t l1_size;
} dbg_image_snapshot;

/* An opened image: immutable after open, so many threads may read it at once, each through
 * its own dbg_image_reader (which holds the per-thread caches and decompressors). */
typedef struct dbg_image dbg_image;
typedef struct dbg_image_reader dbg_image_reader;

typedef struct {
    int force_raw;        /* treat the file as raw even if it starts with the qcow2 magic */
    int no_backing;       /* do not open the backing chain (unallocated clusters read as zero) */
    int max_depth;        /* backing chain depth limit (0 = DBG_IMAGE_MAX_BACKING_DEPTH) */
    const char *format;   /* "raw" or "qcow2" as declared by the owner (libvirt's <driver
                             type>, --image-format); NULL probes, which lets a guest that writes
                             a qcow2 header into its raw disk choose what the host reads */
} dbg_image_open_opts;

/* Opens path in opts->format, or probing it when none is declared; every header field and table is checked against the file
 * size. Errors (DBG_ERR_PARSE/LIMIT/UNSUPPORTED/IO) name the file and the offending field. */
dbg_image *dbg_image_open(const char *path, const dbg_image_open_opts *opts);
void dbg_image_close(dbg_image *img);

dbg_image_format dbg_image_get_format(const dbg_image *img);
/* What the file's first bytes claim (DBG_IMAGE_QCOW2 when they are the qcow2 magic), whatever
 * format it was opened in: what a probe would have chosen. */
dbg_image_format dbg_image_header_format(const dbg_image *img);
const char *dbg_image_format_name(dbg_image_format f);
/* "raw" or "qcow2" to *out (when out is not NULL): 0, or -1 for any other name (dbg_err is not
 * set: the caller says which option or field held it). */
int dbg_image_format_parse(const char *name, dbg_image_format *out);
const char *dbg_image_path(const dbg_image *img);
uint64_t dbg_image_virtual_size(const dbg_image *img);
uint64_t dbg_image_container_size(const dbg_image *img);
uint32_t dbg_image_cluster_size(const dbg_image *img);       /* 0 for raw */
const dbg_image *dbg_image_backing(const dbg_image *img);     /* NULL when none */
const char *dbg_image_backing_name(const dbg_image *img);     /* as written in the header */
size_t dbg_image_snapshot_count(const dbg_image *img);
const dbg_image_snapshot *dbg_image_snapshot_at(const dbg_image *img, size_t i);
/* An image view on internal snapshot i (reads the snapshot's L1 table); close it separately. */
dbg_image *dbg_image_open_snapshot(const dbg_image *img, size_t i);
/* A view on what snapshot i's L1 table maps past its disk, where QEMU keeps the saved RAM
 * (vm_state_size > 0): the disk's L1 entries read as zeros (no backing file), the rest as
 * mapped, up to the table's end. NULL with DBG_ERR_NOTFOUND when the table maps nothing past
 * the disk. Reverting the snapshot loads that RAM, so scanners read it too. */
dbg_image *dbg_image_open_snapshot_state(const dbg_image *img, size_t i);

/* The file descriptor of a raw image (its bytes are the guest's), for zero-copy mmap by
 * scanners; -1 for qcow2. Owned by the image. */
int dbg_image_raw_fd(const dbg_image *img);

dbg_image_reader *dbg_image_reader_new(const dbg_image *img);
void dbg_image_reader_free(dbg_image_reader *r);
/* Reads len guest-visible bytes at off (zero beyond the virtual size is an error). */
int dbg_image_read(dbg_image_reader *r, uint64_t off, void *buf, size_t len);
/* 1 when the metadata alone proves [off, off+len) reads as zeros (qcow2 zero or unallocated
 * clusters down the backing chain, holes in a raw file), 0 when the data must be read, -1 on
 * error. Lets hashing and wipe checks skip the empty parts of sparse images. */
int dbg_image_range_is_zero(dbg_image_reader *r, uint64_t off, uint64_t len);
/* Stores in *next the first offset in [off, end] from which the metadata no longer proves the
 * content zero: [off, *next) reads as zeros, and *next == end when all of it does. Costs the L1
 * entries and allocated L2 tables in the range, not its size, so a few-MiB qcow2 that claims
 * 2^56 bytes is crossed at once. Same errors as dbg_image_range_is_zero; 0 or -1. */
int dbg_image_next_nonzero(dbg_image_reader *r, uint64_t off, uint64_t end, uint64_t *next);
/* Where guest bytes [off, off + len) are stored: 1 when the first *run of them (0 < *run <= len)
 * are the container file's bytes from offset *host on, verbatim (raw files; contiguous qcow2
 * data clusters), so they can be hashed from a mapping of the container; 0 when the first *run
 * of them are not (zero, compressed, backing, or past the end of the file) and must be read with
 * dbg_image_read; -1 on error. */
int dbg_image_stored_run(dbg_image_reader *r, uint64_t off, uint64_t len, uint64_t *host,
                         uint64_t *run);
/* The descriptor of the image's own file (raw or qcow2 container). Owned by the image. */
int dbg_image_file_fd(const dbg_image *img);

/* ---------------------------------------------------------------- chunk hashing ---- */
typedef void (*dbg_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct {
    uint64_t chunk_size;  /* 0 = DBG_CHUNK_DEFAULT; must be a power of two >= 4096 */
    int threads;          /* 0 = all online cores */
    dbg_progress_fn progress;  /* called from one thread at a time, at most ~5 times/s */
    void *progress_ctx;
} dbg_hash_opts;

typedef struct {
    uint64_t size;        /* bytes hashed */
    uint64_t chunk_size;
    size_t n_chunks;
    uint8_t (*chunks)[32]; /* leaf hash per chunk: SHA-256(0x00 || chunk bytes) */
    uint8_t root[32];      /* RFC 9162 Merkle tree hash over the leaves */
} dbg_chunk_hashes;

/* Guest-visible content of img. */
int dbg_hash_image(const dbg_image *img, const dbg_hash_opts *opts, dbg_chunk_hashes *out);
/* The container file byte for byte (the qcow2 file itself, metadata included). */
int dbg_hash_file(const char *path, const dbg_hash_opts *opts, dbg_chunk_hashes *out);
void dbg_chunk_hashes_free(dbg_chunk_hashes *h);
/* RFC 9162 MTH over n leaf hashes (leaves already include their 0x00 prefix hashing). */
void dbg_merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32]);

/* ---------------------------------------------------------------- keys ---- */
/* Ed25519 keys in PEM (openssl genpkey -algorithm ed25519; `dengbao audit keygen`). A public
 * key file may also be a private key: its public half is used. Raw keys are 32 bytes. */
int dbg_ed25519_load_private(const char *path, uint8_t priv[32], uint8_t pub[32]);
int dbg_ed25519_load_public(const char *path, uint8_t pub[32]);
int dbg_ed25519_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64]);
int dbg_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64]);

/* ---------------------------------------------------------------- seal / verify ---- */
typedef struct {
    const char *key_path;       /* Ed25519 private key (required to seal) */
    const char *pubkey_path;    /* verify: pinned signer; NULL = key embedded in the manifest */
    const char *manifest_dir;   /* NULL = manifest beside the image as FILE.dengbao-seal */
    const char *format;         /* declared "raw" or "qcow2" (--image-format, <driver type>).
                                 * Seal: read the image in it (NULL probes; the manifest says
                                 * which). Verify: must be the format the manifest was made in;
                                 * NULL reads the image in the manifest's format, never probes */
    dbg_hash_opts hash;
} dbg_seal_opts;

/* Where the manifest of image_path lives (caller frees). With a manifest_dir the name carries
 * a hash of the image's absolute path, so equal basenames in different directories differ. */
char *dbg_seal_manifest_path(const char *image_path, const char *manifest_dir);

typedef struct {
    char *manifest_path;
    char *format;
    int format_probed;          /* no format was declared: it was read from the first bytes */
    uint64_t virtual_size, container_size;
    char content_root[65], container_root[65];
    size_t n_backing;           /* backing layers sealed with the image */
    size_t n_snapshots;         /* internal snapshots sealed with the image */
} dbg_seal_info;
void dbg_seal_info_free(dbg_seal_info *s);

/* Seals one image: hashes content (guest view, in opts->format or the probed format),
 * container, each backing layer's container and each internal snapshot's content, signs the
 * manifest (which records the format and whether it was probed) and writes it atomically. */
int dbg_image_seal(const char *image_path, const dbg_seal_opts *opts, dbg_seal_info *info);

typedef enum {
    DBG_VERIFY_INTACT = 0,
    DBG_VERIFY_MISMATCH = 1,    /* content, container, backing or snapshot differs */
    DBG_VERIFY_BAD_MANIFEST = 2 /* signature invalid, signer not the pinned key, or manifest malformed */
} dbg_verify_status;

typedef struct {
    uint64_t offset, length;
} dbg_range;

/* Appends [off, off + len) to *ranges (found in offset order): merged into the last range when
 * it continues it; when *n already holds max ranges nothing is added and *truncated is set.
 * 0, or -1 out of memory. */
int dbg_ranges_add(dbg_range **ranges, size_t *n, size_t max, uint64_t off, uint64_t len,
                   int *truncated);

typedef struct {
    dbg_verify_status status;
    int content_changed;        /* guest-visible bytes differ (or can no longer be read) */
    int container_changed;      /* the image file itself differs */
    int size_changed;
    int backing_changed;        /* a backing layer's container differs or is missing */
    int snapshot_changed;
    char *content_error;        /* why the content could not be read, when it could not */
    dbg_range *content_ranges;  /* differing guest ranges (merged, the first 16) */
    size_t n_content_ranges;
    int content_ranges_truncated; /* more differing guest ranges than listed */
    dbg_range *container_ranges;
    size_t n_container_ranges;
    int container_ranges_truncated;
    char *detail;               /* one human sentence: what changed and where */
    const char *format;         /* "raw"/"qcow2" the content was read in (the manifest's); NULL
                                 * when verification stopped at the manifest */
    int format_probed;          /* not declared to verify, and probed when sealed */
} dbg_verify_result;
void dbg_verify_result_free(dbg_verify_result *v);

/* Returns 0 with *res filled (status says intact/mismatch/bad manifest), -1 on error (missing
 * manifest, unreadable image, a declared opts->format other than the one the authentic manifest
 * was made in: the error names both). Used by `dengbao image verify` and the guard before a
 * start. */
int dbg_image_verify_file(const char *image_path, const dbg_seal_opts *opts, dbg_verify_result *res);

/* ---------------------------------------------------------------- migration ---- */
typedef struct {
    int repair;                 /* copy differing source ranges to the destination, re-verify */
    size_t max_ranges;          /* differing ranges listed in the result; 0 = 100,000 (the
                                 * repair copies every differing range, listed or not) */
    const char *source_format;  /* declared "raw"/"qcow2" of each side; NULL probes it */
    const char *dest_format;
    dbg_hash_opts hash;
} dbg_migrate_opts;

typedef struct {
    uint64_t source_size, dest_size;
    int identical;              /* guest-visible content equal (after repair when repaired) */
    dbg_range *ranges;          /* differing ranges before repair (merged, the first max_ranges) */
    size_t n_ranges;
    int ranges_truncated;       /* more differing ranges than listed */
    uint64_t differing_bytes;   /* all of them */
    int repaired;               /* a repair ran */
    int repair_whole_file;      /* qcow2 destination: replaced by a copy of the source container */
    char source_root[65], dest_root[65]; /* content roots (dest after repair) */
    dbg_image_format source_format, dest_format;  /* as read */
    int source_format_probed, dest_format_probed; /* no format was declared for that side */
    /* After a repair (run to its end or failed): what still differs between the source as first
     * read and the destination read again; a repair that failed also says why. The destination
     * unreadable after a failed repair: the ranges before it, and repair_error says so. */
    char repair_error[512];     /* "" = the repair ran to its end (or none was asked for) */
    dbg_range *still_ranges;    /* merged, the first max_ranges */
    size_t n_still;
    int still_truncated;
    uint64_t still_differing_bytes;
} dbg_migrate_result;
void dbg_migrate_result_free(dbg_migrate_result *m);

/* Compares source and destination chunk by chunk. 0 with *res (identical or not; a repair that
 * failed is 0 with res->repair_error and what still differs), -1 error (nothing to free). */
int dbg_migrate_check(const char *source, const char *dest, const dbg_migrate_opts *opts,
                      dbg_migrate_result *res);

/* ---------------------------------------------------------------- wiping ---- */
typedef struct {
    uint64_t size;              /* guest-visible bytes checked */
    uint64_t nonzero_bytes;     /* bytes inside non-zero 4 KiB blocks */
    dbg_range *ranges;          /* non-zero ranges at 4 KiB granularity (merged, first 1000) */
    size_t n_ranges;
    int truncated;              /* more ranges than kept */
    dbg_image_format format;    /* as read */
    int format_probed;          /* no format was declared */
    size_t n_snapshots;         /* internal qcow2 snapshots checked */
    size_t n_dirty_snapshots;   /* of those, how many hold non-zero data */
    uint64_t snapshot_nonzero_bytes; /* their non-zero bytes together (not in ranges) */
    /* qcow2: non-zero bytes of the file outside its tables and the guest data of the image and
     * its snapshots (zeroed or discarded clusters that kept their data, a deleted snapshot's
     * clusters, a snapshot's saved RAM), and the file offset of the first */
    uint64_t container_nonzero_bytes;
    uint64_t container_first;
} dbg_wipe_result;
void dbg_wipe_result_free(dbg_wipe_result *w);

/* Reads the guest-visible content sequentially (256 KiB reads, cache-sized; one thread) of path
 * in format ("raw", "qcow2"), then each internal snapshot's, then (qcow2) the file's clusters
 * that hold neither tables nor guest data. 0 with *res (clean when dbg_wipe_residual is 0), -1
 * on error.
 * With format NULL a file probed as qcow2 is refused (DBG_ERR_INVALID): its raw bytes are never
 * all zero, and reading it as qcow2 on a guest's say-so could hide the guest's data. */
int dbg_wipe_check(const char *path, const char *format, dbg_wipe_result *res);
/* Non-zero bytes found anywhere: guest content, snapshots, the qcow2 file's residue. */
uint64_t dbg_wipe_residual(const dbg_wipe_result *w);

/* ---------------------------------------------------------------- status ---- */
/* Writes <dir>/image_seals.json per platform.h's status contract. */
/* Writes <dir>/<name>.json of platform.h's control-status contract (e.g. "malware" after a
 * scan), so assessment can see the control is deployed, when it last ran and whether it found
 * a problem (ok = 0). */
int dbg_control_write_status(const char *dir, const char *name, int ok, const char *detail);

/* One image a seal or verify run covered, for the image_seals status: path as given to the
 * command, state "sealed", "seal_failed", "intact", "mismatch", "bad_manifest" or
 * "unverified" (no manifest, image unreadable). */
typedef struct {
    const char *path;
    const char *state;
} dbg_seal_status_image;
/* Also lists the images ("images": [{"path": real path, "named": absolute path as given
 * when it differs, "state"}], bounded as platform.h's contract says), so an assessment can tell
 * which VM disks are covered: merged into the existing file's list (the run's images replace
 * their entries by real path; earlier entries of files that no longer exist are dropped), "ok"
 * false while any listed or omitted image is in a state other than sealed/intact. An existing
 * file that cannot be read or merged is left as it is: -1 naming it and why. detail is
 * followed by what the list holds. */
int dbg_integrity_write_status(const char *dir, const char *detail, size_t n_sealed,
                               size_t n_verified, size_t n_mismatch, size_t n_unverified,
                               const dbg_seal_status_image *images, size_t n_images);

#endif
