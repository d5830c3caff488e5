/* Chunked Merkle hashing of an image's guest content or of a container file: fixed-size
 * chunks are hashed (SHA-256 leaf = H(0x00 || chunk)) by a pool of threads pulling chunk
 * numbers from an atomic counter, each with its own image reader and buffer; the root is the
 * RFC 9162 Merkle tree hash over the leaves, so a mismatch can name the chunk. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"
#include "integrity/file_view.h"

/* Half of a 1 MiB L2: the copy out of the page cache is still read back from L2 by SHA-256, and
 * a 1 MiB chunk takes 2 reads instead of 16 (measured on a 4 GiB raw seal, one thread, 4 rounds
 * each: 64 KiB 2.87-2.92 s, 512 KiB 2.76-2.92 s, 0.25 s of system time instead of 0.33 s). */
#define HASH_PIECE ((size_t)512 << 10)
/* Leaves one tree may hold: 1 GiB of hashes, 32 TiB in 1 MiB chunks (a seal stops near 1.8 TiB,
 * its manifest's limit; migrate-check and info go up to this). */
#define MAX_CHUNKS ((uint64_t)1 << 25)

typedef struct {
    const dbg_image *img;
    uint64_t size, chunk;
    size_t n_chunks;
    uint8_t (*leaves)[32];
    atomic_size_t next;
    atomic_uint_fast64_t done;
    atomic_int failed;
    const dbg_hash_opts *opts;
    pthread_mutex_t progress_lock;
    int64_t last_progress_us;
    EVP_MD *md;
    dbg_file_view *view;     /* the image's file mapped, or NULL: read it */
    uint8_t zero_leaf[32];   /* leaf of a full chunk of zeros */
    pthread_mutex_t err_lock;
    dbg_err first_err;       /* error slots are thread-local: copy the first to the caller */
} hash_job;

static void record_error(hash_job *job)
{
    pthread_mutex_lock(&job->err_lock);
    if (!atomic_exchange(&job->failed, 1))
        job->first_err = *dbg_err_last();
    pthread_mutex_unlock(&job->err_lock);
}

static void report_progress(hash_job *job, int final)
{
    if (!job->opts->progress)
        return;
    if (!final && pthread_mutex_trylock(&job->progress_lock) != 0)
        return;
    if (final)
        pthread_mutex_lock(&job->progress_lock);
    int64_t now = dbg_monotonic_us();
    if (final || now - job->last_progress_us >= 200000) {
        job->last_progress_us = now;
        job->opts->progress(job->opts->progress_ctx, atomic_load(&job->done), job->size);
    }
    pthread_mutex_unlock(&job->progress_lock);
}

/* After a zero chunk ending at from: claims the full chunks after it that the metadata also
 * proves zero, up to the first that it may not, and gives them the zero leaf without asking
 * chunk by chunk (a few-MiB qcow2 can claim 2^56 bytes). Chunks another worker already took
 * stay its own; *claimed: how many this one took. */
static int claim_zero_chunks(hash_job *job, dbg_image_reader *rd, uint64_t from, uint64_t *claimed)
{
    uint64_t q = 0;
    *claimed = 0;
    if (dbg_image_next_nonzero(rd, from, job->size, &q) < 0)
        return -1;
    size_t jend = (size_t)(q / job->chunk); /* chunk j is zero when (j + 1) * chunk <= q */
    if (jend > job->n_chunks)
        jend = job->n_chunks;
    size_t cur = dbg_claim_upto(&job->next, jend);
    for (size_t j = cur; j < jend; j++)
        memcpy(job->leaves[j], job->zero_leaf, 32);
    *claimed = cur < jend ? jend - cur : 0;
    return 0;
}

static void *hash_worker(void *arg)
{
    hash_job *job = arg;
    static const uint8_t leaf_prefix = 0x00;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = dbg_malloc(HASH_PIECE);
    dbg_image_reader *rd = dbg_image_reader_new(job->img);
    if (!ctx || !buf || !rd) {
        if (!ctx)
            dbg_err_set(DBG_ERR_NOMEM, "EVP_MD_CTX_new failed");
        record_error(job);
        goto out;
    }
    for (;;) {
        if (atomic_load(&job->failed))
            break;
        size_t i = atomic_fetch_add(&job->next, 1);
        if (i >= job->n_chunks)
            break;
        uint64_t off = (uint64_t)i * job->chunk;
        size_t len = (size_t)(job->size - off < job->chunk ? job->size - off : job->chunk);
        unsigned int mdlen = 0;
        int zero = dbg_image_range_is_zero(rd, off, len);
        if (zero < 0) {
            record_error(job);
            break;
        }
        if (zero && len == job->chunk) {
            /* Sparse: the leaf of a full all-zero chunk is a constant, hashed once. */
            memcpy(job->leaves[i], job->zero_leaf, 32);
            uint64_t claimed = 0;
            if (claim_zero_chunks(job, rd, off + len, &claimed) < 0) {
                record_error(job);
                break;
            }
            atomic_fetch_add(&job->done, len + claimed * job->chunk);
            report_progress(job, 0);
            continue;
        }
        int ok = EVP_DigestInit_ex(ctx, job->md, NULL) && EVP_DigestUpdate(ctx, &leaf_prefix, 1);
        for (uint64_t done = 0; ok && done < len;) {
            uint64_t host = 0, run = len - done;
            int stored = 0;
            if (!zero && job->view &&
                (stored = dbg_image_stored_run(rd, off + done, len - done, &host, &run)) < 0) {
                record_error(job);
                goto out;
            }
            if (stored) { /* straight from the mapped container */
                if (dbg_file_view_digest(job->view, host, (size_t)run, ctx) < 0) {
                    record_error(job);
                    goto out;
                }
                done += run;
                continue;
            }
            /* read the rest in pieces that stay in L2 (HASH_PIECE) */
            for (uint64_t end = done + run; ok && done < end;) {
                size_t piece = end - done < HASH_PIECE ? (size_t)(end - done) : HASH_PIECE;
                if (zero)
                    memset(buf, 0, piece);
                else if (dbg_image_read(rd, off + done, buf, piece) < 0) {
                    record_error(job);
                    goto out;
                }
                ok = EVP_DigestUpdate(ctx, buf, piece);
                done += piece;
            }
        }
        if (!ok || !EVP_DigestFinal_ex(ctx, job->leaves[i], &mdlen)) {
            dbg_err_set(DBG_ERR_CRYPTO, "SHA-256 failed");
            record_error(job);
            break;
        }
        atomic_fetch_add(&job->done, len);
        report_progress(job, 0);
    }
out:
    dbg_image_reader_free(rd);
    free(buf);
    EVP_MD_CTX_free(ctx);
    return NULL;
}

static void node_hash(const uint8_t l[32], const uint8_t r[32], uint8_t out[32])
{
    uint8_t in[65];
    in[0] = 0x01;
    memcpy(in + 1, l, 32);
    memcpy(in + 33, r, 32);
    unsigned int len = 0;
    EVP_Digest(in, sizeof(in), out, &len, EVP_sha256(), NULL);
}

static void mth(const uint8_t (*leaves)[32], size_t n, uint8_t out[32])
{
    if (n == 1) {
        memcpy(out, leaves[0], 32);
        return;
    }
    /* A subtree of 2^k equal leaves (the zero chunks of a sparse image) hashes in k steps, each
     * level being its own left and right half: an empty 64 TiB image in 2 MiB chunks is 2^25
     * such leaves, which were 2^25 node hashes. The compare stops at the first differing leaf,
     * so dense content pays little for it. */
    if ((n & (n - 1)) == 0 && memcmp(leaves[0], leaves[1], (n - 1) * 32) == 0) {
        memcpy(out, leaves[0], 32);
        for (size_t m = 1; m < n; m *= 2)
            node_hash(out, out, out);
        return;
    }
    size_t k = 1;
    while (k * 2 < n)
        k *= 2;
    uint8_t l[32], r[32];
    mth(leaves, k, l);
    mth(leaves + k, n - k, r);
    node_hash(l, r, out);
}

void dbg_merkle_root(const uint8_t (*leaves)[32], size_t n, uint8_t root[32])
{
    if (n == 0) {
        unsigned int len = 0;
        EVP_Digest("", 0, root, &len, EVP_sha256(), NULL);
        return;
    }
    mth(leaves, n, root);
}

void dbg_chunk_hashes_free(dbg_chunk_hashes *h)
{
    if (!h)
        return;
    free(h->chunks);
    memset(h, 0, sizeof(*h));
}

static int zero_chunk_leaf(const EVP_MD *md, uint64_t chunk, uint8_t out[32])
{
    static const uint8_t prefix = 0x00;
    uint8_t *z = dbg_calloc(1, HASH_PIECE);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = z && ctx && EVP_DigestInit_ex(ctx, md, NULL) && EVP_DigestUpdate(ctx, &prefix, 1);
    for (uint64_t done = 0; ok && done < chunk; done += HASH_PIECE)
        ok = EVP_DigestUpdate(ctx, z, chunk - done < HASH_PIECE ? chunk - done : HASH_PIECE);
    ok = ok && EVP_DigestFinal_ex(ctx, out, &len);
    EVP_MD_CTX_free(ctx);
    free(z);
    if (!ok && z)
        dbg_err_set(DBG_ERR_CRYPTO, "SHA-256 failed");
    return ok ? 0 : -1;
}

/* How many chunks of chunk bytes size bytes make, the last one possibly short. */
static uint64_t chunks_in(uint64_t size, uint64_t chunk)
{
    return size / chunk + (size % chunk ? 1 : 0);
}

static int hash_source(const dbg_image *img, uint64_t size, const dbg_hash_opts *opts,
                       dbg_chunk_hashes *out)
{
    dbg_hash_opts def = {0};
    if (!opts)
        opts = &def;
    memset(out, 0, sizeof(*out));
    uint64_t chunk = opts->chunk_size ? opts->chunk_size : DBG_CHUNK_DEFAULT;
    if (chunk < 4096 || (chunk & (chunk - 1)) || chunk > ((uint64_t)1 << 30)) {
        dbg_err_set(DBG_ERR_INVALID, "chunk size %llu is not a power of two in 4096..2^30",
                    (unsigned long long)chunk);
        return -1;
    }
    /* The leaves are held in memory (32 bytes each): a qcow2 of a few MiB can claim 2^56 bytes,
     * which asked for 2 TiB ("cannot allocate ... x 32 bytes", naming nothing), and an empty
     * 64 TiB one hashed 2^26 constant leaves for minutes in 2 GiB. */
    uint64_t n = chunks_in(size, chunk);
    if (n > MAX_CHUNKS) {
        uint64_t fit = chunk;
        while (fit < ((uint64_t)1 << 30) && chunks_in(size, fit) > MAX_CHUNKS)
            fit *= 2;
        uint64_t fit_n = chunks_in(size, fit);
        DBG_AUTOFREE char *hint =
            fit_n <= MAX_CHUNKS
                ? dbg_asprintf("give --chunk-size %llu or larger", (unsigned long long)fit)
                : dbg_asprintf("even the largest --chunk-size, 1 GiB, gives %llu",
                               (unsigned long long)fit_n);
        dbg_err_set(DBG_ERR_LIMIT,
                    "%s: %llu bytes in chunks of %llu are %llu chunk hashes, more "
                    "than the %llu hashed at once; %s",
                    dbg_image_path(img), (unsigned long long)size, (unsigned long long)chunk,
                    (unsigned long long)n, (unsigned long long)MAX_CHUNKS,
                    hint ? hint : "use a larger --chunk-size");
        return -1;
    }
    hash_job job = {.img = img, .size = size, .chunk = chunk, .opts = opts};
    job.n_chunks = (size_t)n;
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_init(&job.failed, 0);
    pthread_mutex_init(&job.progress_lock, NULL);
    pthread_mutex_init(&job.err_lock, NULL);
    int r = -1;
    if (job.n_chunks && !(job.leaves = dbg_calloc(job.n_chunks, 32)))
        goto out;
    job.md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!job.md) {
        dbg_err_set(DBG_ERR_CRYPTO, "OpenSSL has no SHA256");
        goto out;
    }
    if (zero_chunk_leaf(job.md, chunk, job.zero_leaf) < 0)
        goto out;
    /* the container mapped: raw files and qcow2 data clusters are hashed from it */
    job.view = dbg_file_view_open(dbg_image_file_fd(img), dbg_image_container_size(img),
                                  dbg_image_path(img));
    int nthreads = opts->threads > 0 ? opts->threads : dbg_online_cores(64);
    if ((size_t)nthreads > job.n_chunks)
        nthreads = job.n_chunks ? (int)job.n_chunks : 1;
    dbg_run_on_threads(hash_worker, &job, nthreads);
    if (atomic_load(&job.failed)) {
        dbg_err_set_full(job.first_err.code, job.first_err.src_file, job.first_err.src_func,
                         job.first_err.src_line, "%s", job.first_err.msg);
        goto out;
    }
    report_progress(&job, 1);
    out->size = size;
    out->chunk_size = chunk;
    out->n_chunks = job.n_chunks;
    out->chunks = job.leaves;
    job.leaves = NULL;
    dbg_merkle_root((const uint8_t (*)[32])out->chunks, out->n_chunks, out->root);
    r = 0;
out:
    dbg_file_view_close(job.view);
    EVP_MD_free(job.md);
    free(job.leaves);
    pthread_mutex_destroy(&job.progress_lock);
    pthread_mutex_destroy(&job.err_lock);
    return r;
}

int dbg_hash_image(const dbg_image *img, const dbg_hash_opts *opts, dbg_chunk_hashes *out)
{
    return hash_source(img, dbg_image_virtual_size(img), opts, out);
}

int dbg_hash_file(const char *path, const dbg_hash_opts *opts, dbg_chunk_hashes *out)
{
    dbg_image_open_opts o = {.force_raw = 1, .no_backing = 1};
    dbg_image *img = dbg_image_open(path, &o);
    if (!img)
        return -1;
    int r = hash_source(img, dbg_image_virtual_size(img), opts, out);
    dbg_image_close(img);
    return r;
}
