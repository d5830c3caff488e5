/* Internal pieces of the audit log shared by its files (not part of the public API):
 * hashing, canonical records, frame format of the segment files, signed tree heads. */
#ifndef DENGBAO_AUDIT_INT_H
#define DENGBAO_AUDIT_INT_H

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dengbao/audit.h"
#include "dengbao/util.h"

#define AUD_HASH 32
#define AUD_MAX_FRONTIER 64

/* ---- limits on untrusted record input ---- */
#define AUD_MAX_FIELD 4096          /* any one string field, bytes */
#define AUD_MAX_DETAILS 65536       /* canonical details object, bytes */
#define AUD_MAX_RECORD (128 * 1024) /* one canonical record, bytes */
#define AUD_MAX_DETAILS_DEPTH 16

/* ---- frames in a segment file ----
 * header (12 bytes): u8 type, u8 version (1), u16 reserved (0), u32 LE payload length,
 * u32 LE CRC-32C over the first 8 header bytes and the payload; then the payload.
 * A segment starts with a SEGMENT frame (first seq + the tree's frontier at that point, signed),
 * then RECORD and CHECKPOINT frames in log order; rotation ends it with a NEXT frame. */
enum {
    AUD_FRAME_RECORD = 'R',
    AUD_FRAME_CHECKPOINT = 'C',
    AUD_FRAME_SEGMENT = 'S',
    AUD_FRAME_NEXT = 'N'
};
#define AUD_FRAME_HDR 12
#define AUD_FRAME_VERSION 1
#define AUD_MAX_FRAME (1u << 20)
/* A crash can only tear the last, unacknowledged write; writes are at most this big, so damage
 * further from the end than this is tampering, never a torn tail. */
#define AUD_MAX_BATCH_BYTES (8u << 20)
/* How far ahead of now an appended record's own "time" may be: a clock step between the machine
 * that wrote the time and this one, not a date in the future. */
#define AUD_MAX_FUTURE_US (300LL * 1000000)

uint32_t aud_crc32c(uint32_t crc, const void *data, size_t len);
void aud_frame_header(uint8_t hdr[AUD_FRAME_HDR], uint8_t type, const void *payload, uint32_t len);

typedef struct {
    uint8_t type;
    uint32_t len;
    const uint8_t *payload;
    uint64_t offset; /* of the frame header in the segment */
} aud_frame;

/* Parses the frame at buf[off..size). Returns 1 and fills f, 0 at a clean end (off == size),
 * -1 on a torn / corrupt frame (*why says what). Does not set dbg_err. */
int aud_frame_next(const uint8_t *buf, size_t size, size_t off, aud_frame *f, const char **why);
/* aud_frame_next without the checksum: the same checks in the same order up to the CRC, so the
 * verifier can find frame boundaries on one core and check the CRCs (aud_frame_crc_ok, given the
 * payload of a peeked frame) on all of them. A failed CRC is reported as AUD_FRAME_CRC_WHY. */
#define AUD_FRAME_CRC_WHY "frame checksum mismatch"
int aud_frame_peek(const uint8_t *buf, size_t size, size_t off, aud_frame *f, const char **why);
int aud_frame_crc_ok(const uint8_t *payload, uint32_t len);
/* The payload length a frame header (AUD_FRAME_HDR bytes) claims, unchecked. */
uint32_t aud_frame_len(const uint8_t *hdr);
/* The same for three frames at once (faster than three calls). */
void aud_frame_crc_ok3(const uint8_t *const payload[3], const uint32_t len[3], int ok[3]);

/* ---- hashing (RFC 9162 §2.1.1) ---- */
typedef struct {
    EVP_MD_CTX *ctx;
    EVP_MD *md;
} aud_hasher;
int aud_hasher_init(aud_hasher *h);
void aud_hasher_free(aud_hasher *h);
void aud_leaf_hash(aud_hasher *h, const void *data, size_t len, uint8_t out[AUD_HASH]);
/* The same leaf hash with one update call: data[-1] is scratch the caller owns (a copy of the
 * frame in a buffer), and is overwritten with the 0x00 leaf prefix. */
void aud_leaf_hash_in_place(uint8_t *data, size_t len, uint8_t out[AUD_HASH]);
void aud_node_hash(aud_hasher *h, const uint8_t l[AUD_HASH], const uint8_t r[AUD_HASH],
                   uint8_t out[AUD_HASH]);

/* The compact form of a tree of size n: the roots of its maximal perfect subtrees, left to right
 * (one per 1-bit of n, biggest first). Enough to append and to compute the root. */
typedef struct {
    uint64_t size;
    int count;
    uint8_t hash[AUD_MAX_FRONTIER][AUD_HASH];
} aud_frontier;
void aud_frontier_init(aud_frontier *f);
void aud_frontier_add(aud_frontier *f, aud_hasher *h, const uint8_t leaf[AUD_HASH]);
/* Adds the root of a perfect subtree of 2^level leaves; f->size must be a multiple of 2^level.
 * Gives the same frontier as adding its leaves one by one. */
void aud_frontier_add_subtree(aud_frontier *f, aud_hasher *h, const uint8_t root[AUD_HASH],
                              unsigned level);
void aud_frontier_root(const aud_frontier *f, aud_hasher *h, uint8_t out[AUD_HASH]);
int aud_frontier_count_for(uint64_t size);

/* Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2. Return 1 when the proof holds. */
int aud_verify_inclusion(aud_hasher *h, uint64_t index, uint64_t size, const uint8_t leaf[AUD_HASH],
                         const uint8_t (*proof)[AUD_HASH], size_t n, const uint8_t root[AUD_HASH]);
int aud_verify_consistency(aud_hasher *h, uint64_t size1, uint64_t size2,
                           const uint8_t root1[AUD_HASH], const uint8_t root2[AUD_HASH],
                           const uint8_t (*proof)[AUD_HASH], size_t n);

/* A tree held in memory to answer many proofs: leaf hashes for [pruned, size) plus the frontier of
 * the pruned prefix [0, pruned). Every perfect subtree hash is computed once. */
typedef struct aud_tree aud_tree;
aud_tree *aud_tree_new(const aud_frontier *pruned_prefix, const uint8_t (*leaves)[AUD_HASH],
                       uint64_t n_leaves);
void aud_tree_free(aud_tree *t);
uint64_t aud_tree_size(const aud_tree *t);
int aud_tree_root(aud_tree *t, uint64_t size, uint8_t out[AUD_HASH]);
/* Proof arrays are malloc'ed (*proof), *n entries. */
int aud_tree_inclusion(aud_tree *t, uint64_t index, uint64_t size, uint8_t (**proof)[AUD_HASH],
                       size_t *n);
int aud_tree_consistency(aud_tree *t, uint64_t size1, uint64_t size2, uint8_t (**proof)[AUD_HASH],
                         size_t *n);

/* ---- canonical records ----
 * One canonical JSON form: keys sorted by bytes, no whitespace, strings UTF-8 with only
 * '"', '\\' and control characters escaped (\b \f \n \r \t, else \u00XX), integers in decimal,
 * reals as %.17g. The stored bytes of a record are its canonical form; leaf = H(0x00 || bytes). */
int aud_canon_json(dbg_buf *out, const json_t *v, int depth);
/* A record of a tenant (tenant not "") carries "tenant_prev": the seq of the same tenant's
 * previous record in the log, null for the tenant's first. It is inside the hashed bytes, so an
 * export that leaves out a record of the tenant between two it holds shows a break in the chain.
 * Records written before the field existed have no such key (AUD_TPREV_ABSENT). */
#define AUD_TPREV_ABSENT (-2) /* no "tenant_prev" key (provider-only record, or an old one) */
#define AUD_TPREV_NONE (-1)   /* "tenant_prev":null, the tenant's first record */
/* Canonical bytes of rec with its seq, time (time_us must be set) and tenant_prev (a seq below
 * seq, AUD_TPREV_NONE or AUD_TPREV_ABSENT; only a record with a tenant may carry one). */
int aud_record_canonical(const dbg_audit_record *rec, uint64_t seq, int64_t time_us,
                         int64_t tenant_prev, dbg_buf *out);
/* The tenant of stored canonical record bytes, unescaped (malloc'ed; "" for a provider-only
 * record), without a full parse: the top-level "tenant" is the last '},"tenant":"' in the bytes,
 * since only escaped strings follow the target object. NULL when not found (not a record). */
char *aud_record_tenant(const uint8_t *data, size_t len);
/* Canonical form of a details object (fast path for already-canonical text, else jansson), and
 * the jansson-only path (tests compare the two). */
int aud_canon_details(const char *details, dbg_buf *out);
int aud_canon_details_slow(const char *details, dbg_buf *out);
/* RFC 3339 UTC with microseconds, same text as dbg_time_rfc3339, without gmtime/printf. */
size_t aud_format_time(int64_t us, char out[32]);
/* Validates the fields of rec (required fields, UTF-8, sizes, details is an object). */
int aud_record_validate(const dbg_audit_record *rec);
/* A record parsed back from its canonical bytes; strings owned by the struct. */
typedef struct {
    dbg_audit_record rec;
    int64_t tenant_prev; /* AUD_TPREV_ABSENT, AUD_TPREV_NONE or a seq */
    char *actor, *role, *tenant, *action, *target_type, *target_name, *target_uuid, *outcome,
        *source, *details;
} aud_parsed_record;
/* Parses stored record bytes; strict: must be exactly canonical (re-serializes and compares).
 * what names the input in errors. */
int aud_record_parse(const uint8_t *data, size_t len, const char *what, aud_parsed_record *out);
/* Same without the canonical-form check, for bytes whose leaf hash was already verified (index). */
int aud_record_parse_fields(const uint8_t *data, size_t len, const char *what,
                            aud_parsed_record *out);
void aud_parsed_record_free(aud_parsed_record *p);
/* 1 when stored canonical record bytes hold exactly f's fields (all but details; time_us from f)
 * and seq, by comparing their canonical bytes around the details object; 0 when not. No parse. */
int aud_record_fields_match(const uint8_t *data, size_t len, const dbg_audit_record *f,
                            uint64_t seq, dbg_buf *scratch);
/* Parses one user-supplied JSON object (append from stdin) into a record; strings owned by out. */
int aud_record_from_json(const char *text, size_t len, const char *what, aud_parsed_record *out);

/* ---- keys and signed tree heads ---- */
EVP_PKEY *aud_key_load_private(const char *path);
EVP_PKEY *aud_key_load_public(const char *path);
/* key id = hex SHA-256 of the raw 32-byte public key */
int aud_key_id(EVP_PKEY *k, char out[2 * AUD_HASH + 1]);
int aud_sign(EVP_PKEY *k, const void *msg, size_t len, uint8_t sig[64]);
int aud_verify_sig(EVP_PKEY *k, const void *msg, size_t len, const uint8_t sig[64]);

typedef struct {
    uint64_t size;
    uint8_t root[AUD_HASH];
    int64_t time_us;
    uint8_t prev[AUD_HASH]; /* hash of the previous tree head's signed bytes (zero for the first) */
    char key_id[2 * AUD_HASH + 1];
    uint8_t sig[64];
    /* The tenant heads (version 2 heads): the root of the tree over every tenant's last record at
     * this size and how many tenants it has (aud_theads_root). has_theads 0: a version 1 head,
     * written before the log signed them. */
    int has_theads;
    uint64_t theads_size;
    uint8_t theads[AUD_HASH];
} aud_sth;
/* The exact bytes that are signed: "dengbao-audit-sth-v1\n" + canonical JSON of the head, or for
 * a head with tenant heads "dengbao-audit-sth-v2\n" + the same JSON with "tenant_heads" (hex root)
 * and "tenant_heads_size" (how many tenants) added. */
int aud_sth_signed_bytes(const aud_sth *s, dbg_buf *out);
/* Hash of signed bytes + signature: what the next head's prev names. */
int aud_sth_digest(aud_hasher *h, const aud_sth *s, uint8_t out[AUD_HASH]);
int aud_sth_sign(aud_sth *s, EVP_PKEY *k);
int aud_sth_verify(const aud_sth *s, EVP_PKEY *k);
json_t *aud_sth_to_json(const aud_sth *s);
int aud_sth_from_json(const json_t *o, const char *what, aud_sth *out);
/* Checkpoint / segment frame payload: {"frontier":[..], "sth":{..}} (frontier only for SEGMENT).
 * A segment header may also carry "tenants": {tenant: seq of its last record before the
 * segment}, the writers' state for tenant_prev (borrowed; NULL = none). Not signed: verify takes
 * the first header's for what was pruned and checks every later one against the records; a writer
 * that finds a header without it rebuilds that state from the segments. */
int aud_checkpoint_payload(const aud_sth *s, const aud_frontier *fr, json_t *tenants, dbg_buf *out);
int aud_checkpoint_parse(const uint8_t *p, size_t len, const char *what, aud_sth *s,
                         aud_frontier *fr);
/* The "tenants" of a segment header payload, the one reading of it (open, verify, export, prune):
 * a new reference to it when it is an object (*state 1); NULL with *state 0 when the header has
 * none, or is not JSON without duplicate keys (aud_checkpoint_parse refuses that header anyway),
 * and with *state -1 when it is there but is no object. Its entries are for the caller to judge. */
json_t *aud_header_tenants(const uint8_t *p, size_t len, int *state);
/* 1 with why when a header's tenants (aud_header_tenants's result and state) cannot be right for a
 * segment whose first seq is first: 'tenants' there but no map, or an entry that is not a
 * non-empty tenant to a seq below first. No writer writes that (the table is not signed, but the
 * writer refuses to open on one), so the header was edited. 0 when it is such a map, or absent. */
int aud_header_tenants_wrong(const json_t *tenants, int state, uint64_t first, char *why,
                             size_t why_size);

/* ---- tenant heads: every tenant's last record, committed in a signed head ----
 * One leaf per tenant with records, sorted by the SHA-256 of the tenant's name:
 * leaf = SHA-256(0x00 || SHA-256(name) || last seq as 8 bytes big-endian), the tree over them as
 * RFC 9162 (empty: SHA-256 of nothing). A tenant's entry is proven by an inclusion proof (its
 * neighbours' hashes only); a tenant with no record by its two neighbours in the order. */
typedef struct {
    uint8_t name_hash[AUD_HASH];
    uint64_t seq;
} aud_thead;
void aud_thead_name_hash(aud_hasher *h, const char *tenant, uint8_t out[AUD_HASH]);
void aud_thead_leaf(aud_hasher *h, const uint8_t name_hash[AUD_HASH], uint64_t seq,
                    uint8_t out[AUD_HASH]);
/* Sorts e by name hash, then out = the root over them. */
void aud_theads_root(aud_hasher *h, aud_thead *e, size_t n, uint8_t out[AUD_HASH]);

/* ---- segment files in a log directory ---- */
/* Sorted list of segment file names (seg-<first seq, 20 digits>.log). */
int aud_list_segments(const char *dir, char ***names, size_t *n);
void aud_free_names(char **names, size_t n);
char *aud_segment_name(uint64_t first_seq);
/* First seq of a segment from its file name (seg-<20 digits>.log). */
uint64_t aud_name_first_seq(const char *name);
int aud_read_whole(const char *path, uint8_t **data, size_t *len);
/* Maps the first max_len bytes of a file read-only, or all of it when it is shorter (returns 0;
 * data NULL for an empty file). Release with aud_unmap_file. */
int aud_map_file(const char *path, size_t max_len, uint8_t **data, size_t *len);
/* The same for a file already open (what names it in errors); fd stays open. A file deleted since
 * it was opened still maps. */
int aud_map_fd(int fd, const char *what, size_t max_len, uint8_t **data, size_t *len);
void aud_unmap_file(uint8_t *data, size_t len);

/* file names inside the log directory */
#define AUD_HEAD_FILE "head.json"
#define AUD_INDEX_FILE "index.sqlite"
#define AUD_LOCK_FILE "lock"
#define AUD_WRITERS_FILE "writers"
#define AUD_PUB_FILE "log.pub"

/* ---- walking a whole log (verify, proofs, export, index) ---- */
typedef struct {
    uint32_t segment; /* index into names */
    uint32_t len;
    uint64_t offset; /* of the payload within the segment */
} aud_loc;

typedef struct {
    /* filled by aud_walk when collecting */
    char **names;
    size_t n_names;
    uint8_t (*leaves)[AUD_HASH]; /* leaves of records [pruned, pruned + n) */
    aud_loc *locs;
    uint64_t n;
    aud_frontier pruned_frontier;
    aud_sth last_sth; /* latest verified tree head in the log */
    int have_sth;
    EVP_PKEY *pub;
    FILE *cached; /* aud_read_record keeps the last segment open */
    uint32_t cached_segment;
    uint8_t **maps; /* segments the walk mapped, kept for reading records (NULL = not mapped) */
    size_t *map_lens;
} aud_walk_out;

/* From now on the log's records carry no tenant_prev, as a writer from before it (one still
 * running during an upgrade) writes them; the writer still counts them as their tenants' last.
 * For tests of what verify says about such records. */
void aud_log_write_legacy_records(dbg_audit_log *log, int on);
/* A result before any check: ok, and every "first" seq and size -1 (none). */
void aud_verify_result_init(dbg_audit_verify_result *res);
/* Verifies the whole log; with out, also keeps what proofs and exports need. Returns 0 when the
 * walk ran (res->ok tells), -1 when it could not run. */
int aud_walk(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
             aud_walk_out *out);
/* aud_walk for a caller that holds the log's lock file exclusively (prune): the state it reads
 * cannot change under it, and it takes no lock of its own. */
int aud_walk_locked(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res,
                    aud_walk_out *out);
void aud_walk_out_free(aud_walk_out *o);
/* Reads the stored bytes of one record located by the walk (malloc'ed, NUL-terminated). */
int aud_read_record(const char *dir, aud_walk_out *o, uint64_t seq, char **data, size_t *len);
/* The stored bytes of one record in the walk's mapping of its segment, without a copy; -1 when
 * that segment is not mapped (then use aud_read_record). */
int aud_record_view(const aud_walk_out *o, uint64_t seq, const uint8_t **data, size_t *len);
/* Checks the SQLite index against the walk's leaves (verify step). */
int aud_index_check(const char *dir, aud_walk_out *o, dbg_audit_verify_result *res);
/* First seq in [lo, hi) whose leaf hash in the index differs from leaves[seq - lo]; -1 when none
 * (or no index). A hint for verify, which never trusts the index otherwise. */
int64_t aud_index_first_leaf_mismatch(const char *dir, uint64_t lo, uint64_t hi,
                                      const uint8_t (*leaves)[AUD_HASH]);
/* Removes index rows of records below seq (after a prune). */
int aud_index_drop_below(const char *dir, uint64_t seq);
/* Checks an export document (text) against a public key; the export reader the fuzzer drives. */
int aud_verify_export_text(const char *text, size_t len, EVP_PKEY *pub, const char *what,
                           dbg_audit_verify_result *res);
/* Checks an export (text) and an earlier one the tenant kept (prev_text): both verify with pub, and
 * the first carries a consistency proof that the earlier signed tree is a prefix of its own. */
int aud_verify_export_pair_text(const char *text, size_t len, const char *what,
                                const char *prev_text, size_t prev_len, const char *prev_what,
                                EVP_PKEY *pub, dbg_audit_verify_result *res);

#endif
