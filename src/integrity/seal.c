/* Seal manifests: what was hashed (content Merkle root and chunk leaves, the container file's,
 * each backing layer's, each internal snapshot's), signed with Ed25519 over the canonical
 * JSON (sorted keys, compact) of everything but the signature; and verification, which
 * re-hashes and names the first differing chunk ranges and which part changed. */
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dbg_config.h"
#include "dengbao/integrity.h"
#include "dengbao/util.h"

#define SEAL_SCHEMA "dengbao-seal/1"
#define MAX_MANIFEST_BYTES ((size_t)256 << 20)
/* one chunk hash in the written manifest: `   "<64 hex>",` and a newline */
#define MANIFEST_BYTES_PER_CHUNK 71u
#define MAX_RANGES 16

char *dbg_seal_manifest_path(const char *image_path, const char *manifest_dir)
{
    if (!manifest_dir)
        return dbg_asprintf("%s%s", image_path, DBG_SEAL_SUFFIX);
    char real[PATH_MAX];
    const char *id = realpath(image_path, real) ? real : image_path;
    uint8_t h[32];
    unsigned int hl = 0;
    EVP_Digest(id, strlen(id), h, &hl, EVP_sha256(), NULL);
    char hex[65];
    dbg_hex_encode(h, 8, hex);
    DBG_AUTOFREE char *copy = dbg_strdup(image_path);
    if (!copy)
        return NULL;
    return dbg_asprintf("%s/%s-%s%s", manifest_dir, basename(copy), hex, DBG_SEAL_SUFFIX);
}

static json_t *hex_json(const uint8_t *b, size_t n)
{
    char hex[129];
    dbg_hex_encode(b, n, hex);
    return json_string(hex);
}

static json_t *chunks_json(const dbg_chunk_hashes *h)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < h->n_chunks; i++)
        json_array_append_new(a, hex_json(h->chunks[i], 32));
    return a;
}

static json_t *tree_json(const dbg_chunk_hashes *h)
{
    return json_pack("{s:o, s:I, s:o}", "root", hex_json(h->root, 32), "size", (json_int_t)h->size,
                     "chunks", chunks_json(h));
}

static json_t *checked_string(const char *s, const char *what)
{
    json_t *j = json_string(s ? s : "");
    if (!j)
        dbg_err_set(DBG_ERR_INVALID, "%s \"%s\" is not valid UTF-8", what, s);
    return j;
}

static char *canonical(json_t *obj)
{
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        dbg_err_set(DBG_ERR_NOMEM, "cannot serialize manifest");
    return s;
}

void dbg_seal_info_free(dbg_seal_info *s)
{
    if (!s)
        return;
    free(s->manifest_path);
    free(s->format);
    memset(s, 0, sizeof(*s));
}

/* Content and container trees of one image; for raw files they are the same bytes, hashed once. */
static int hash_both(const dbg_image *img, const dbg_hash_opts *o, dbg_chunk_hashes *content,
                     dbg_chunk_hashes *container)
{
    if (dbg_hash_image(img, o, content) < 0)
        return -1;
    if (dbg_image_get_format(img) == DBG_IMAGE_RAW) {
        *container = *content;
        container->chunks = dbg_calloc(content->n_chunks ? content->n_chunks : 1, 32);
        if (!container->chunks)
            return -1;
        if (content->n_chunks)
            memcpy(container->chunks, content->chunks, content->n_chunks * 32);
        return 0;
    }
    return dbg_hash_file(dbg_image_path(img), o, container);
}

static json_t *backing_json(const dbg_image *img, const dbg_hash_opts *o, size_t *count)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (const dbg_image *b = dbg_image_backing(img); b; b = dbg_image_backing(b)) {
        dbg_chunk_hashes h;
        if (dbg_hash_file(dbg_image_path(b), o, &h) < 0) {
            json_decref(arr);
            return NULL;
        }
        char real[PATH_MAX];
        const char *bp = realpath(dbg_image_path(b), real) ? real : dbg_image_path(b);
        json_t *path = checked_string(bp, "backing path");
        json_t *e = path ? json_pack("{s:o, s:s, s:I, s:o}", "path", path, "format",
                                     dbg_image_format_name(dbg_image_get_format(b)),
                                     "container_size", (json_int_t)dbg_image_container_size(b),
                                     "container_root", hex_json(h.root, 32))
                         : NULL;
        dbg_chunk_hashes_free(&h);
        if (!e) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, e);
        (*count)++;
    }
    return arr;
}

static json_t *snapshots_json(const dbg_image *img, const dbg_hash_opts *o)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < dbg_image_snapshot_count(img); i++) {
        const dbg_image_snapshot *s = dbg_image_snapshot_at(img, i);
        dbg_image *view = dbg_image_open_snapshot(img, i);
        dbg_chunk_hashes h;
        if (!view || dbg_hash_image(view, o, &h) < 0) {
            dbg_image_close(view);
            json_decref(arr);
            return NULL;
        }
        json_t *id = checked_string(s->id, "snapshot id"), *name = checked_string(s->name, "snapshot name");
        json_t *e = id && name ? json_pack("{s:o, s:o, s:I, s:I, s:I, s:o}", "id", id, "name", name,
                                           "date", (json_int_t)s->date_sec, "vm_state_size",
                                           (json_int_t)s->vm_state_size, "virtual_size",
                                           (json_int_t)dbg_image_virtual_size(view),
                                           "content_root", hex_json(h.root, 32))
                               : NULL;
        dbg_chunk_hashes_free(&h);
        dbg_image_close(view);
        if (!e) {
            json_decref(id);
            json_decref(name);
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, e);
    }
    return arr;
}

/* ------------------------------------------------- files changed while read ---- */
/* A seal or verify reads an image (and its backing layers) more than once and over time: a write
 * in between made verify answer "intact" for a file that no longer held the bytes it hashed, and
 * seal sign a mix of old and new bytes. Each file is stat'ed before it is first read and again
 * before the answer: a write changes its mtime and ctime (or size), a replacement its inode. */
typedef struct {
    char *path;
    struct stat st;
} file_stamp;

typedef struct {
    file_stamp *f;
    size_t n;
} file_stamps;

/* Remembers path as it is now; a file that cannot be stat'ed is left to the reader to report. */
static int stamps_add(file_stamps *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;
    file_stamp *nf = dbg_reallocarray(s->f, s->n + 1, sizeof(*nf));
    if (!nf)
        return -1;
    s->f = nf;
    if (!(nf[s->n].path = dbg_strdup(path)))
        return -1;
    nf[s->n++].st = st;
    return 0;
}

static int same_time(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* 0 when every file is as it was; else -1 with dbg_err naming the first that changed and how. */
static int stamps_check(const file_stamps *s, const char *doing)
{
    for (size_t i = 0; i < s->n; i++) {
        const struct stat *a = &s->f[i].st;
        struct stat b;
        const char *how = stat(s->f[i].path, &b) < 0                          ? "removed"
                          : a->st_dev != b.st_dev || a->st_ino != b.st_ino ? "replaced"
                          : a->st_size != b.st_size                         ? "resized"
                          : !same_time(&a->st_mtim, &b.st_mtim)             ? "written"
                          : !same_time(&a->st_ctim, &b.st_ctim) ? "changed (its ctime moved)"
                                                                : NULL;
        if (how) {
            dbg_err_set(DBG_ERR_IO, "%s was %s while being %s: the bytes read are not what it "
                        "holds now; %s it again when nothing writes to it", s->f[i].path, how,
                        doing, strcmp(doing, "sealed") == 0 ? "seal" : "verify");
            return -1;
        }
    }
    return 0;
}

static void stamps_free(file_stamps *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->f[i].path);
    free(s->f);
    s->f = NULL;
    s->n = 0;
}

/* Verify reads at most MAX_MANIFEST_BYTES of manifest, so a seal whose chunk lists (content
 * and container) would not fit is refused before hours of hashing, naming a chunk size that
 * fits; 1 MiB chunks reach the limit near 1.8 TiB of raw disk. */
static int manifest_fits(const dbg_image *img, const dbg_hash_opts *h)
{
    uint64_t chunk = h->chunk_size ? h->chunk_size : DBG_CHUNK_DEFAULT;
    uint64_t vsize = dbg_image_virtual_size(img), csize = dbg_image_container_size(img);
    uint64_t room = (MAX_MANIFEST_BYTES - ((size_t)1 << 20)) / MANIFEST_BYTES_PER_CHUNK;
    uint64_t fit = chunk;
    while (fit < ((uint64_t)1 << 40) && vsize / fit + csize / fit + 2 > room)
        fit *= 2;
    if (fit == chunk)
        return 0;
    dbg_err_set(DBG_ERR_LIMIT, "%s: content of %llu bytes and container of %llu bytes in chunks "
                "of %llu need a manifest larger than the %zu MiB that verify reads; seal it with "
                "--chunk-size %llu or larger",
                dbg_image_path(img), (unsigned long long)vsize, (unsigned long long)csize,
                (unsigned long long)chunk, MAX_MANIFEST_BYTES >> 20, (unsigned long long)fit);
    return -1;
}

int dbg_image_seal(const char *image_path, const dbg_seal_opts *opts, dbg_seal_info *info)
{
    int r = -1;
    uint8_t priv[32], pub[32], sig[64];
    dbg_image *img = NULL;
    dbg_chunk_hashes content = {0}, container = {0};
    json_t *m = NULL;
    char *body = NULL, *text = NULL, *mpath = NULL;
    size_t n_backing = 0;
    file_stamps stamps = {0};
    memset(info, 0, sizeof(*info));
    if (!opts->key_path) {
        dbg_err_set(DBG_ERR_USAGE, "no signing key: pass --key FILE (make one with: openssl "
                    "genpkey -algorithm ed25519 -out FILE)");
        return -1;
    }
    if (dbg_ed25519_load_private(opts->key_path, priv, pub) < 0)
        return -1;
    dbg_image_open_opts oo = {.format = opts->format};
    if (stamps_add(&stamps, image_path) < 0 || !(img = dbg_image_open(image_path, &oo)) ||
        manifest_fits(img, &opts->hash) < 0)
        goto out;
    for (const dbg_image *b = dbg_image_backing(img); b; b = dbg_image_backing(b))
        if (stamps_add(&stamps, dbg_image_path(b)) < 0)
            goto out;
    if (hash_both(img, &opts->hash, &content, &container) < 0)
        goto out;
    json_t *backing = backing_json(img, &opts->hash, &n_backing);
    json_t *snaps = backing ? snapshots_json(img, &opts->hash) : NULL;
    char real[PATH_MAX], when[40];
    const char *abs = realpath(image_path, real) ? real : image_path;
    json_t *jpath = checked_string(abs, "image path");
    dbg_time_rfc3339(dbg_now_us(), when, sizeof(when));
    if (!backing || !snaps || !jpath) {
        json_decref(backing);
        json_decref(snaps);
        json_decref(jpath);
        goto out;
    }
    /* format_probed: verify reads the image in the manifest's format either way (a later probe
     * could choose otherwise on the guest's say-so), but only a declared one is the owner's. */
    m = json_pack("{s:s, s:o, s:s, s:b, s:I, s:I, s:i, s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:s}",
                  "schema", SEAL_SCHEMA, "image", jpath, "format",
                  dbg_image_format_name(dbg_image_get_format(img)), "format_probed",
                  !opts->format, "virtual_size", (json_int_t)dbg_image_virtual_size(img),
                  "container_size", (json_int_t)dbg_image_container_size(img), "cluster_size",
                  (int)dbg_image_cluster_size(img), "chunk_size", (json_int_t)content.chunk_size,
                  "hash", "sha256, RFC 9162 Merkle tree over chunk leaves H(0x00||chunk)",
                  "content", tree_json(&content), "container", tree_json(&container),
                  "backing", backing, "snapshots", snaps, "sealed_at", when, "sealed_by",
                  "dengbao " DBG_VERSION);
    if (!m) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build manifest for %s", image_path);
        goto out;
    }
    if (!(body = canonical(m)) || dbg_ed25519_sign(priv, body, strlen(body), sig) < 0)
        goto out;
    json_object_set_new(m, "signature", json_pack("{s:s, s:o, s:o}", "algorithm", "ed25519",
                                                  "public_key", hex_json(pub, 32), "value",
                                                  hex_json(sig, 64)));
    if (!(text = json_dumps(m, JSON_INDENT(1) | JSON_SORT_KEYS)) ||
        stamps_check(&stamps, "sealed") < 0)
        goto out;
    if (strlen(text) + 1 > MAX_MANIFEST_BYTES) { /* manifest_fits estimates; this is exact */
        dbg_err_set(DBG_ERR_LIMIT, "%s: its manifest would be %zu bytes, more than the %zu that "
                    "verify reads; seal it with a larger --chunk-size", image_path,
                    strlen(text) + 1, MAX_MANIFEST_BYTES);
        goto out;
    }
    if (!(mpath = dbg_seal_manifest_path(image_path, opts->manifest_dir)))
        goto out;
    if (opts->manifest_dir && dbg_mkdir_p(opts->manifest_dir, 0755) < 0)
        goto out;
    size_t tlen = strlen(text);
    text[tlen] = '\n'; /* replaces the NUL; length passed explicitly */
    if (dbg_write_file_atomic(mpath, text, tlen + 1) < 0)
        goto out;
    info->manifest_path = mpath;
    mpath = NULL;
    info->format = dbg_strdup(dbg_image_format_name(dbg_image_get_format(img)));
    info->format_probed = !opts->format;
    info->virtual_size = dbg_image_virtual_size(img);
    info->container_size = dbg_image_container_size(img);
    dbg_hex_encode(content.root, 32, info->content_root);
    dbg_hex_encode(container.root, 32, info->container_root);
    info->n_backing = n_backing;
    info->n_snapshots = dbg_image_snapshot_count(img);
    r = 0;
out:
    stamps_free(&stamps);
    explicit_bzero(priv, sizeof(priv));
    free(mpath);
    free(text);
    free(body);
    json_decref(m);
    dbg_chunk_hashes_free(&content);
    dbg_chunk_hashes_free(&container);
    dbg_image_close(img);
    return r;
}

/* ------------------------------------------------------------------ verify ---- */

void dbg_verify_result_free(dbg_verify_result *v)
{
    if (!v)
        return;
    free(v->content_error);
    free(v->content_ranges);
    free(v->container_ranges);
    free(v->detail);
    memset(v, 0, sizeof(*v));
}

static int hex32(json_t *j, uint8_t out[32])
{
    const char *s = json_string_value(j);
    return s && strlen(s) == 64 && dbg_hex_decode(s, out, 32) == 0 ? 0 : -1;
}

/* Compares a recomputed tree with the sealed one; appends differing chunk ranges. */
static int compare_tree(json_t *sealed, const dbg_chunk_hashes *now, dbg_range **ranges,
                        size_t *n_ranges, int *changed, int *truncated)
{
    uint8_t root[32];
    json_t *chunks = json_object_get(sealed, "chunks");
    if (hex32(json_object_get(sealed, "root"), root) < 0 || !json_is_array(chunks))
        return -1;
    if (memcmp(root, now->root, 32) == 0 && json_array_size(chunks) == now->n_chunks)
        return 0;
    *changed = 1;
    size_t n = json_array_size(chunks) > now->n_chunks ? json_array_size(chunks) : now->n_chunks;
    /* A range ends where the longer of the sealed and the present bytes ends, not at the end of
     * the last chunk: a 2-byte file said "changed at 0..1048576". */
    json_int_t sealed_size = json_integer_value(json_object_get(sealed, "size"));
    uint64_t end =
        sealed_size > 0 && (uint64_t)sealed_size > now->size ? (uint64_t)sealed_size : now->size;
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        int differs = i >= json_array_size(chunks) || i >= now->n_chunks ||
                      hex32(json_array_get(chunks, i), h) < 0 || memcmp(h, now->chunks[i], 32);
        uint64_t off = (uint64_t)i * now->chunk_size;
        uint64_t len = end > off && end - off < now->chunk_size ? end - off : now->chunk_size;
        if (differs && dbg_ranges_add(ranges, n_ranges, MAX_RANGES, off, len, truncated) < 0)
            return -1;
    }
    return 0;
}

static int verify_signature(json_t *m, const dbg_seal_opts *opts, char **why)
{
    json_t *sig = json_object_get(m, "signature");
    uint8_t embedded[32], pinned[32], value[64];
    const char *v = json_string_value(json_object_get(sig, "value"));
    if (!json_is_object(sig) || hex32(json_object_get(sig, "public_key"), embedded) < 0 || !v ||
        strlen(v) != 128 || dbg_hex_decode(v, value, 64) < 0) {
        *why = dbg_strdup("manifest has no well-formed Ed25519 signature");
        return 1;
    }
    if (opts->pubkey_path) {
        if (dbg_ed25519_load_public(opts->pubkey_path, pinned) < 0)
            return -1;
        if (memcmp(pinned, embedded, 32) != 0) {
            *why = dbg_asprintf("manifest is signed by a key other than %s", opts->pubkey_path);
            return 1;
        }
    } else {
        dbg_warn("no --pubkey: checking the manifest against the key embedded in it, which "
                 "proves it is unmodified but not who sealed it");
    }
    json_incref(sig);
    json_object_del(m, "signature");
    char *body = canonical(m);
    json_object_set_new(m, "signature", sig);
    if (!body)
        return -1;
    int ok = dbg_ed25519_verify(embedded, body, strlen(body), value) == 0;
    free(body);
    dbg_err_clear();
    if (!ok) {
        *why = dbg_strdup("manifest signature does not verify: the manifest or its signature "
                          "was altered");
        return 1;
    }
    return 0;
}

static void describe(dbg_buf *b, const char *what, const dbg_range *r, size_t n, int truncated)
{
    dbg_buf_printf(b, "%s changed in %s%zu range%s, first at offset %llu (+%llu bytes)", what,
                   truncated ? "more than " : "", n, n == 1 && !truncated ? "" : "s",
                   (unsigned long long)r[0].offset,
                   (unsigned long long)r[0].length);
}

static int check_backing(json_t *list, const dbg_hash_opts *o, dbg_buf *why)
{
    int changed = 0;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *path = json_string_value(json_object_get(e, "path"));
        uint8_t want[32];
        dbg_chunk_hashes h;
        if (!path || hex32(json_object_get(e, "container_root"), want) < 0)
            return -1;
        if (dbg_hash_file(path, o, &h) < 0) {
            dbg_buf_printf(why, "%sbacking layer %zu (%s) unreadable: %s", why->len ? "; " : "",
                           i, path, dbg_err_msg());
            changed = 1;
            continue;
        }
        if (memcmp(h.root, want, 32)) {
            dbg_buf_printf(why, "%sbacking layer %zu (%s) changed", why->len ? "; " : "", i, path);
            changed = 1;
        }
        dbg_chunk_hashes_free(&h);
    }
    dbg_err_clear();
    return changed;
}

static int check_snapshots(json_t *list, const dbg_image *img, const dbg_hash_opts *o,
                           dbg_buf *why)
{
    if (json_array_size(list) != dbg_image_snapshot_count(img)) {
        dbg_buf_printf(why, "%sinternal snapshots: %zu sealed, %zu now", why->len ? "; " : "",
                       json_array_size(list), dbg_image_snapshot_count(img));
        return 1;
    }
    int changed = 0;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *e = json_array_get(list, i);
        uint8_t want[32];
        if (hex32(json_object_get(e, "content_root"), want) < 0)
            return -1;
        const dbg_image_snapshot *s = dbg_image_snapshot_at(img, i);
        dbg_image *view = dbg_image_open_snapshot(img, i);
        dbg_chunk_hashes h = {0};
        if (!view || dbg_hash_image(view, o, &h) < 0 || memcmp(h.root, want, 32) ||
            !dbg_streq(s->name, json_string_value(json_object_get(e, "name")))) {
            dbg_buf_printf(why, "%sinternal snapshot %s (%s) changed", why->len ? "; " : "",
                           s->id, s->name);
            changed = 1;
        }
        dbg_chunk_hashes_free(&h);
        dbg_image_close(view);
    }
    dbg_err_clear();
    return changed;
}

int dbg_image_verify_file(const char *image_path, const dbg_seal_opts *opts, dbg_verify_result *res)
{
    int r = -1;
    json_t *m = NULL;
    dbg_image *img = NULL;
    dbg_chunk_hashes content = {0}, container = {0};
    DBG_AUTOFREE char *text = NULL;
    DBG_AUTOFREE char *mpath = NULL;
    DBG_AUTOFREE char *sigwhy = NULL;
    size_t tlen = 0;
    file_stamps stamps = {0};
    dbg_buf why;
    dbg_buf_init(&why, 1 << 16);
    memset(res, 0, sizeof(*res));
    /* An image that is not there cannot be verified (exit 3, image_unverifiable); without this
     * its unresolved path was compared with the manifest's and a deleted image was reported as a
     * mismatch "a moved image must be sealed again", or, with a manifest directory, as "no seal
     * manifest" (the manifest's name is derived from the real path). */
    char real[PATH_MAX];
    if (!realpath(image_path, real)) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open image", image_path);
        return -1;
    }
    if (!(mpath = dbg_seal_manifest_path(image_path, opts->manifest_dir)))
        return -1;
    if (dbg_read_file(mpath, MAX_MANIFEST_BYTES, &text, &tlen) < 0) {
        DBG_AUTOFREE char *cause = dbg_strdup(dbg_err_msg());
        dbg_err_set(dbg_err_code(), "%s: no seal manifest readable (seal it first): %s",
                    image_path, cause ? cause : mpath);
        return -1;
    }
    json_error_t jerr;
    m = json_loadb(text, tlen, 0, &jerr);
    if (!m || !json_is_object(m) ||
        !dbg_streq(json_string_value(json_object_get(m, "schema")), SEAL_SCHEMA)) {
        res->status = DBG_VERIFY_BAD_MANIFEST;
        res->detail = m ? dbg_asprintf("%s: not a %s manifest", mpath, SEAL_SCHEMA)
                        : dbg_asprintf("%s:%d:%d: manifest is not valid JSON: %s", mpath,
                                       jerr.line, jerr.column, jerr.text);
        r = 0;
        goto out;
    }
    int sv = verify_signature(m, opts, &sigwhy);
    if (sv < 0)
        goto out;
    if (sv > 0) {
        res->status = DBG_VERIFY_BAD_MANIFEST;
        res->detail = dbg_asprintf("%s: %s", mpath, sigwhy);
        r = 0;
        goto out;
    }
    /* An authentic manifest vouches for one image: the one it names. Another image sealed with
     * the same key, copied over this one together with its manifest, must not pass. */
    {
        const char *here = real;
        const char *sealed_for = json_string_value(json_object_get(m, "image"));
        if (!sealed_for || strcmp(sealed_for, here) != 0) {
            res->status = DBG_VERIFY_BAD_MANIFEST;
            res->detail = dbg_asprintf("%s: seals %s, not %s (a moved image must be sealed "
                                       "again where it now is)", mpath,
                                       sealed_for ? sealed_for : "no image", here);
            r = 0;
            goto out;
        }
    }
    /* From here the manifest is authentic; malformed fields would mean a bad sealer. */
    dbg_hash_opts ho = opts->hash;
    ho.chunk_size = (uint64_t)json_integer_value(json_object_get(m, "chunk_size"));
    const char *fmt = json_string_value(json_object_get(m, "format"));
    uint64_t vsize = (uint64_t)json_integer_value(json_object_get(m, "virtual_size"));
    /* The content tree was hashed reading the image in the manifest's format, so it is read in
     * that format again (never probed: a guest could have written a qcow2 header since); a
     * manifest from before "format_probed" was made by probing. */
    dbg_image_format sealed_format;
    json_t *jprobed = json_object_get(m, "format_probed");
    if (dbg_image_format_parse(fmt, &sealed_format) < 0 || (jprobed && !json_is_boolean(jprobed)))
        goto bad_fields;
    int sealed_probed = !json_is_false(jprobed);
    if (opts->format && strcmp(opts->format, fmt) != 0) {
        dbg_err_set(DBG_ERR_INVALID, "%s: declared %s, but sealed as %s (%s when sealed; "
                    "manifest %s): the sealed content cannot be compared; seal it again as %s",
                    image_path, opts->format, fmt, sealed_probed ? "probed" : "declared", mpath,
                    opts->format);
        goto out;
    }
    res->format = dbg_image_format_name(sealed_format);
    res->format_probed = !opts->format && sealed_probed;
    if (stamps_add(&stamps, image_path) < 0)
        goto out;
    {
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(m, "backing"), i, e) {
            const char *bp = json_string_value(json_object_get(e, "path"));
            if (bp && stamps_add(&stamps, bp) < 0)
                goto out;
        }
    }
    if (dbg_hash_file(image_path, &ho, &container) < 0)
        goto out;
    if (compare_tree(json_object_get(m, "container"), &container, &res->container_ranges,
                     &res->n_container_ranges, &res->container_changed,
                     &res->container_ranges_truncated) < 0)
        goto bad_fields;
    dbg_image_open_opts oo = {.format = fmt};
    img = dbg_image_open(image_path, &oo);
    if (!img) {
        res->content_changed = 1;
        res->content_error = dbg_strdup(dbg_err_msg());
        dbg_err_clear();
    } else {
        if (!dbg_streq(fmt, dbg_image_format_name(dbg_image_get_format(img))) ||
            vsize != dbg_image_virtual_size(img)) {
            res->size_changed = 1;
            res->content_changed = 1;
        }
        if (dbg_image_get_format(img) == DBG_IMAGE_RAW) {
            content = container;
            content.chunks = NULL; /* shared: compare then drop */
            int cc = 0;
            if (compare_tree(json_object_get(m, "content"), &container, &res->content_ranges,
                             &res->n_content_ranges, &cc,
                             &res->content_ranges_truncated) < 0)
                goto bad_fields;
            res->content_changed |= cc;
        } else if (dbg_hash_image(img, &ho, &content) < 0) {
            res->content_changed = 1;
            res->content_error = dbg_strdup(dbg_err_msg());
            dbg_err_clear();
        } else {
            int cc = 0;
            if (compare_tree(json_object_get(m, "content"), &content, &res->content_ranges,
                             &res->n_content_ranges, &cc,
                             &res->content_ranges_truncated) < 0)
                goto bad_fields;
            res->content_changed |= cc;
        }
    }
    if (res->content_changed) {
        if (res->content_error)
            dbg_buf_printf(&why, "content unreadable: %s", res->content_error);
        else if (res->size_changed)
            /* the image was opened in the manifest's format: only the size can differ */
            dbg_buf_printf(&why, "virtual size changed: sealed %llu bytes, now %llu (%s)",
                           (unsigned long long)vsize,
                           (unsigned long long)dbg_image_virtual_size(img), fmt);
        else if (res->n_content_ranges)
            describe(&why, "content", res->content_ranges, res->n_content_ranges,
                     res->content_ranges_truncated);
    }
    if (res->container_changed) {
        if (why.len)
            dbg_buf_adds(&why, "; ");
        if (res->n_container_ranges)
            describe(&why, "container", res->container_ranges, res->n_container_ranges,
                     res->container_ranges_truncated);
        else
            dbg_buf_adds(&why, "container changed");
        if (!res->content_changed)
            dbg_buf_adds(&why, " (guest-visible content unchanged: metadata or unused space)");
    }
    int bc = check_backing(json_object_get(m, "backing"), &ho, &why);
    if (bc < 0)
        goto bad_fields;
    res->backing_changed = bc;
    if (img) {
        int sc = check_snapshots(json_object_get(m, "snapshots"), img, &ho, &why);
        if (sc < 0)
            goto bad_fields;
        res->snapshot_changed = sc;
    }
    if (stamps_check(&stamps, "verified") < 0)
        goto out;
    res->status = res->content_changed || res->container_changed || res->backing_changed ||
                          res->snapshot_changed
                      ? DBG_VERIFY_MISMATCH
                      : DBG_VERIFY_INTACT;
    res->detail = res->status == DBG_VERIFY_INTACT ? dbg_strdup("intact") : dbg_buf_steal(&why);
    r = 0;
    goto out;
bad_fields:
    res->status = DBG_VERIFY_BAD_MANIFEST;
    free(res->detail);
    res->detail = dbg_asprintf("%s: manifest fields are malformed", mpath);
    r = 0;
out:
    if (r < 0)
        dbg_verify_result_free(res); /* no answer: the ranges found so far mean nothing */
    stamps_free(&stamps);
    dbg_buf_free(&why);
    if (content.chunks != container.chunks)
        dbg_chunk_hashes_free(&content);
    dbg_chunk_hashes_free(&container);
    dbg_image_close(img);
    json_decref(m);
    return r;
}
