/* Proofs a tenant or assessor can check offline: inclusion of a record, consistency of two tree
 * sizes, per-tenant exports (records + inclusion proofs + the signed tree head, nothing of any
 * other tenant) and their offline verification with only the public key. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "audit/verify_int.h"

#define EXPORT_FORMAT "dengbao-audit-export-v1"
#define EXPORT_MAX (1u << 30)

static json_t *hex_array(const uint8_t (*v)[AUD_HASH], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char hex[2 * AUD_HASH + 1];
        dbg_hex_encode(v[i], AUD_HASH, hex);
        json_array_append_new(a, json_string(hex));
    }
    return a;
}

/* A hash as an export writes it: 64 hex digits. 0, or -1 when hx is not one (NULL included). */
static int hash_of_hex(const char *hx, uint8_t out[AUD_HASH])
{
    return hx && strlen(hx) == 2 * AUD_HASH && dbg_hex_decode(hx, out, AUD_HASH) == 0 ? 0 : -1;
}

/* The hashes of a proof array into out (room for its size): the index of the first element that
 * is not a hash, or -1 when all are. */
static long proof_of_json(const json_t *arr, uint8_t (*out)[AUD_HASH])
{
    for (size_t k = 0; k < json_array_size(arr); k++)
        if (hash_of_hex(json_string_value(json_array_get(arr, k)), out[k]) < 0)
            return (long)k;
    return -1;
}

static char *hex_of(const uint8_t h[AUD_HASH], char out[2 * AUD_HASH + 1])
{
    dbg_hex_encode(h, AUD_HASH, out);
    return out;
}

/* Loads and verifies the whole log, then builds the in-memory tree. Refuses a log that does not
 * verify: a proof from a tampered log would prove nothing. locked: the caller holds the log's
 * lock file exclusively (the walk must not wait for a lock of its own). */
static int load_tree(const char *dir, aud_walk_out *o, aud_tree **t, int locked)
{
    dbg_audit_verify_result res;
    if ((locked ? aud_walk_locked(dir, NULL, &res, o) : aud_walk(dir, NULL, &res, o)) < 0)
        return -1;
    if (!res.ok) {
        dbg_err_set(DBG_ERR_VERIFY, "audit log %s does not verify (first bad seq %lld: %s)", dir,
                    (long long)res.first_bad_seq, res.problem);
        aud_walk_out_free(o);
        return -1;
    }
    *t = aud_tree_new(&o->pruned_frontier, (const uint8_t(*)[AUD_HASH])o->leaves, o->n);
    if (!*t) {
        aud_walk_out_free(o);
        return -1;
    }
    return 0;
}

static json_t *record_object(const char *dir, aud_walk_out *o, uint64_t seq,
                             uint8_t leaf_out[AUD_HASH])
{
    char *data = NULL;
    size_t len = 0;
    if (aud_read_record(dir, o, seq, &data, &len) < 0)
        return NULL;
    json_error_t jerr;
    json_t *j = json_loadb(data, len, 0, &jerr);
    free(data);
    if (!j)
        dbg_err_set(DBG_ERR_PARSE, "record %llu is not JSON: %s", (unsigned long long)seq,
                    jerr.text);
    if (leaf_out)
        memcpy(leaf_out, o->leaves[seq - o->pruned_frontier.size], AUD_HASH);
    return j;
}

static json_t *inclusion_object(const char *dir, aud_walk_out *o, aud_tree *t, uint64_t seq,
                                uint64_t size)
{
    uint8_t(*proof)[AUD_HASH] = NULL;
    size_t n = 0;
    uint8_t leaf[AUD_HASH];
    char hex[2 * AUD_HASH + 1];
    if (aud_tree_inclusion(t, seq, size, &proof, &n) < 0)
        return NULL;
    json_t *rec = record_object(dir, o, seq, leaf);
    json_t *p = hex_array((const uint8_t(*)[AUD_HASH])proof, n);
    free(proof);
    if (!rec || !p) {
        json_decref(rec);
        json_decref(p);
        return NULL;
    }
    return json_pack("{s:I,s:s,s:o,s:o}", "seq", (json_int_t)seq, "leaf_hash", hex_of(leaf, hex),
                     "proof", p, "record", rec);
}

static char *dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s)
        dbg_err_set(DBG_ERR_NOMEM, "cannot build JSON output");
    return s;
}

char *dbg_audit_prove(const char *dir, uint64_t seq)
{
    aud_walk_out o;
    aud_tree *t = NULL;
    if (load_tree(dir, &o, &t, 0) < 0)
        return NULL;
    char *out = NULL;
    if (seq < o.pruned_frontier.size) {
        dbg_err_set(DBG_ERR_NOTFOUND,
                    "seq %llu was pruned (the log starts at %llu); see its archive export",
                    (unsigned long long)seq, (unsigned long long)o.pruned_frontier.size);
    } else if (seq >= aud_tree_size(t)) {
        /* bad input, as consistency's NEW beyond the log: "not covered yet" said the record
         * existed and a head would come */
        dbg_err_set(DBG_ERR_INVALID, "seq %llu is beyond the log's %llu records",
                    (unsigned long long)seq, (unsigned long long)aud_tree_size(t));
    } else if (seq >= o.last_sth.size) {
        dbg_err_set(
            DBG_ERR_NOTFOUND,
            "seq %llu is not covered by a signed tree head yet (latest covers %llu records)",
            (unsigned long long)seq, (unsigned long long)o.last_sth.size);
    } else {
        json_t *inc = inclusion_object(dir, &o, t, seq, o.last_sth.size);
        if (inc) {
            json_object_set_new(inc, "tree_size", json_integer((json_int_t)o.last_sth.size));
            json_object_set_new(inc, "sth", aud_sth_to_json(&o.last_sth));
            out = dump(inc);
        }
    }
    aud_tree_free(t);
    aud_walk_out_free(&o);
    return out;
}

char *dbg_audit_consistency(const char *dir, uint64_t old_size, uint64_t new_size)
{
    aud_walk_out o;
    aud_tree *t = NULL;
    if (load_tree(dir, &o, &t, 0) < 0)
        return NULL;
    char *out = NULL;
    uint8_t(*proof)[AUD_HASH] = NULL;
    size_t n = 0;
    uint8_t r1[AUD_HASH], r2[AUD_HASH];
    char h1[2 * AUD_HASH + 1], h2[2 * AUD_HASH + 1];
    if (old_size > new_size) {
        dbg_err_set(DBG_ERR_INVALID, "OLD (%llu) must not exceed NEW (%llu)",
                    (unsigned long long)old_size, (unsigned long long)new_size);
    } else if (new_size > aud_tree_size(t)) {
        dbg_err_set(DBG_ERR_INVALID, "NEW (%llu) is beyond the log's %llu records",
                    (unsigned long long)new_size, (unsigned long long)aud_tree_size(t));
    } else if (aud_tree_root(t, old_size, r1) == 0 && aud_tree_root(t, new_size, r2) == 0 &&
               aud_tree_consistency(t, old_size, new_size, &proof, &n) == 0) {
        aud_hasher h;
        if (aud_hasher_init(&h) == 0) {
            /* never hand out a proof that does not check */
            if (!aud_verify_consistency(&h, old_size, new_size, r1, r2,
                                        (const uint8_t(*)[AUD_HASH])proof, n))
                dbg_err_set(DBG_ERR_INTERNAL, "consistency proof %llu -> %llu does not verify",
                            (unsigned long long)old_size, (unsigned long long)new_size);
            else {
                json_t *j = json_pack("{s:I,s:I,s:s,s:s,s:o}", "old_size", (json_int_t)old_size,
                                      "new_size", (json_int_t)new_size, "old_root", hex_of(r1, h1),
                                      "new_root", hex_of(r2, h2), "proof",
                                      hex_array((const uint8_t(*)[AUD_HASH])proof, n));
                if (j && new_size == o.last_sth.size)
                    json_object_set_new(j, "sth", aud_sth_to_json(&o.last_sth));
                out = dump(j);
            }
            aud_hasher_free(&h);
        }
    }
    free(proof);
    aud_tree_free(t);
    aud_walk_out_free(&o);
    return out;
}

/* The export's "consistency" member: an RFC 9162 §2.1.4 proof that the tree of size old_size
 * (root old_root) is a prefix of the tree the export's signed head names. */
static json_t *consistency_object(aud_tree *t, uint64_t old_size, uint64_t new_size)
{
    uint8_t r1[AUD_HASH], r2[AUD_HASH];
    uint8_t(*proof)[AUD_HASH] = NULL;
    size_t n = 0;
    char h1[2 * AUD_HASH + 1];
    json_t *j = NULL;
    if (old_size > new_size) {
        dbg_err_set(DBG_ERR_INVALID,
                    "the earlier tree size %llu is beyond the latest signed tree head (size %llu)",
                    (unsigned long long)old_size, (unsigned long long)new_size);
        return NULL;
    }
    if (aud_tree_root(t, old_size, r1) < 0 || aud_tree_root(t, new_size, r2) < 0 ||
        aud_tree_consistency(t, old_size, new_size, &proof, &n) < 0)
        return NULL;
    aud_hasher h;
    if (aud_hasher_init(&h) == 0) {
        /* never hand out a proof that does not check */
        if (!aud_verify_consistency(&h, old_size, new_size, r1, r2,
                                    (const uint8_t(*)[AUD_HASH])proof, n))
            dbg_err_set(DBG_ERR_INTERNAL, "consistency proof %llu -> %llu does not verify",
                        (unsigned long long)old_size, (unsigned long long)new_size);
        else if (!(j = json_pack("{s:I,s:s,s:I,s:o}", "old_size", (json_int_t)old_size, "old_root",
                                 hex_of(r1, h1), "new_size", (json_int_t)new_size, "proof",
                                 hex_array((const uint8_t(*)[AUD_HASH])proof, n))))
            dbg_err_set(DBG_ERR_NOMEM, "cannot build the consistency proof");
        aud_hasher_free(&h);
    }
    free(proof);
    return j;
}

/* Adds the "tenants" of segment si's header (each tenant's last record before that segment) to
 * map (NULL: only says whether it has them). 1 when the header has the table, 0 when not (a
 * header without them adds nothing), -1 out of memory or unreadable, and -1 (DBG_ERR_VERIFY,
 * naming the segment and the entry) when the table cannot be right: no writer writes that, the
 * header was edited, and tenant heads built on it, or a log left starting at it, would be wrong.
 * refusing: what the caller does not do because of it, for the message. */
static int header_tenants(const char *dir, const aud_walk_out *o, size_t si, json_t *map,
                          const char *refusing)
{
    if (si >= o->n_names)
        return 0;
    uint8_t *data = o->maps && o->maps[si] ? o->maps[si] : NULL;
    size_t len = data ? o->map_lens[si] : 0;
    int mapped = 0;
    if (!data) {
        DBG_AUTOFREE char *path = dbg_asprintf("%s/%s", dir, o->names[si]);
        if (!path || aud_map_file(path, AUD_FRAME_HDR + AUD_MAX_FRAME, &data, &len) < 0)
            return -1;
        mapped = 1;
    }
    aud_frame f;
    const char *why = NULL;
    json_t *t = NULL;
    int state = 0;
    if (data && aud_frame_next(data, len, 0, &f, &why) == 1 && f.type == AUD_FRAME_SEGMENT)
        t = aud_header_tenants(f.payload, f.len, &state);
    if (mapped)
        aud_unmap_file(data, len);
    char bad[200];
    if (aud_header_tenants_wrong(t, state, aud_name_first_seq(o->names[si]), bad, sizeof(bad))) {
        json_decref(t);
        dbg_err_set(DBG_ERR_VERIFY,
                    "audit log %s: %s: segment header's tenants table cannot be right: %s; no "
                    "writer writes that, so the header was edited; %s",
                    dir, o->names[si], bad, refusing);
        return -1;
    }
    int r = state == 1;
    const char *k;
    json_t *v;
    json_object_foreach(map ? t : NULL, k, v)
    {
        if (json_object_set(map, k, v) < 0)
            r = -1;
    }
    json_decref(t);
    if (r < 0)
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the tenant heads");
    return r;
}

/* The first segment's header's tenants (those whose records were all pruned) into map. */
static int first_header_tenants(const char *dir, const aud_walk_out *o, json_t *map)
{
    return header_tenants(dir, o, 0, map, "no tenant head is built on it") < 0 ? -1 : 0;
}

/* The lowest of every tenant's last record in the log (the first segment's header's table
 * included), UINT64_MAX when no tenant has one. */
static int lowest_last_record(const char *dir, aud_walk_out *o, uint64_t *lowest)
{
    int r = -1;
    uint64_t p0 = o->pruned_frontier.size, *last = NULL;
    aud_tc_range rg;
    memset(&rg, 0, sizeof(rg));
    json_t *map = json_object();
    if (!map || header_tenants(dir, o, 0, map, "nothing pruned") < 0)
        goto out;
    for (uint64_t seq = p0; seq < p0 + o->n; seq++) {
        const uint8_t *view;
        size_t len;
        char *data = NULL;
        if (aud_record_view(o, seq, &view, &len) < 0) {
            if (aud_read_record(dir, o, seq, &data, &len) < 0)
                goto out;
            view = (const uint8_t *)data;
        }
        int ar = aud_tc_range_add(&rg, view, len);
        free(data);
        if (ar < 0)
            goto out;
    }
    if (!(last = dbg_calloc(rg.n_names ? rg.n_names : 1, sizeof(*last))))
        goto out;
    for (size_t i = 0; i < rg.n; i++)
        if (rg.tid[i] != AUD_TC_NONE)
            last[rg.tid[i]] = p0 + i;
    for (size_t k = 0; k < rg.n_names; k++)
        if (json_object_set_new(map, rg.names[k].name, json_integer((json_int_t)last[k])) < 0)
            goto out;
    *lowest = UINT64_MAX;
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        if ((uint64_t)json_integer_value(v) < *lowest)
            *lowest = (uint64_t)json_integer_value(v);
    }
    r = 0;
out:
    if (r < 0 && !map)
        dbg_err_set(DBG_ERR_NOMEM, "cannot read the tenants' last records");
    free(last);
    aud_tc_range_free(&rg);
    json_decref(map);
    return r;
}

/* Segments [0, drop) may go as far as their age goes; fewer when the first one left would be a
 * segment whose header has no tenant table while a record before it is some tenant's last: a
 * writer that knew that tenant (open across the prune, or reading a later header's table) signs
 * tenant heads that name it, and with the records gone nothing in the log would say who it was,
 * so no export could prove its tenant's entry again. A header with the table says it. Returns the
 * number of segments that may go, or -1. */
static int64_t keep_tenant_heads_provable(const char *dir, aud_walk_out *o, size_t drop)
{
    uint64_t lowest = 0;
    int have_lowest = 0;
    for (size_t k = drop; k > 0; k--) {
        /* the header that would be the first: verify reads its table for who was pruned away */
        int has =
            header_tenants(dir, o, k, NULL, "nothing pruned: the log would start at that segment");
        if (has < 0)
            return -1;
        if (has)
            return (int64_t)k;
        if (!have_lowest && lowest_last_record(dir, o, &lowest) < 0)
            return -1;
        have_lowest = 1;
        uint64_t cut = aud_name_first_seq(o->names[k]);
        if (cut <= lowest)
            return (int64_t)k;
        if (k == drop)
            dbg_warn("audit log %s: %s cannot become the first segment: its header has no "
                     "tenant table, and seq %llu before it is a tenant's last record, whose entry "
                     "in the signed tenant heads no export could prove once that record is gone; "
                     "the prune stops at an earlier segment",
                     dir, o->names[k], (unsigned long long)lowest);
    }
    return 0;
}

/* Sets j[k] = v (taking v; NULL v: nothing to set); with j NULL (out of memory) drops v. */
static int set_or_drop(json_t *j, const char *k, json_t *v)
{
    if (!v)
        return 0;
    if (!j) {
        json_decref(v);
        return -1;
    }
    return json_object_set_new(j, k, v);
}

/* One entry of the tenant heads with its inclusion proof; with name_hash, also the entry's name
 * hash (a neighbour in a proof of absence). */
static json_t *thead_entry(aud_tree *t, const aud_thead *e, size_t index, size_t n, int name_hash)
{
    uint8_t(*proof)[AUD_HASH] = NULL;
    size_t np = 0;
    char hex[2 * AUD_HASH + 1];
    if (aud_tree_inclusion(t, index, n, &proof, &np) < 0)
        return NULL;
    json_t *p = hex_array((const uint8_t(*)[AUD_HASH])proof, np);
    free(proof);
    json_t *j = p ? json_pack("{s:I,s:I,s:o}", "last_seq", (json_int_t)e->seq, "index",
                              (json_int_t)index, "proof", p)
                  : NULL;
    if (j && name_hash &&
        json_object_set_new(j, "name_hash", json_string(hex_of(e->name_hash, hex))) < 0) {
        json_decref(j);
        j = NULL;
    }
    if (!j)
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the tenant head");
    return j;
}

/* The export's "tenant_head": the tenant's entry in the tenant heads the exported head signs, and
 * its inclusion proof, or, for a tenant without records, its two neighbours in the order (a proof
 * of absence). map: every tenant's last record at the head's size, as read from the log; it must
 * give the signed root, else the export would prove nothing. */
static json_t *tenant_head_object(const aud_sth *s, json_t *map, const char *tenant)
{
    size_t n = json_object_size(map);
    aud_thead *e = dbg_calloc(n ? n : 1, sizeof(*e));
    uint8_t(*leaves)[AUD_HASH] = dbg_calloc(n ? n : 1, AUD_HASH);
    aud_tree *t = NULL;
    json_t *j = NULL;
    aud_hasher h;
    if (!e || !leaves || aud_hasher_init(&h) < 0) {
        free(e);
        free(leaves);
        return NULL;
    }
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(map, k, v)
    {
        aud_thead_name_hash(&h, k, e[i].name_hash);
        e[i++].seq = (uint64_t)json_integer_value(v);
    }
    uint8_t root[AUD_HASH], nh[AUD_HASH];
    aud_theads_root(&h, e, n, root);
    if (n != s->theads_size || memcmp(root, s->theads, AUD_HASH) != 0) {
        dbg_err_set(DBG_ERR_VERIFY,
                    "cannot prove tenant '%s''s last record: the signed tree head of size %llu "
                    "commits to the last records of %llu tenants, and the log's records give %zu "
                    "tenants with another root (a first segment whose header has no tenant table, "
                    "after a prune?)",
                    tenant, (unsigned long long)s->size, (unsigned long long)s->theads_size, n);
        goto out;
    }
    for (i = 0; i < n; i++)
        aud_thead_leaf(&h, e[i].name_hash, e[i].seq, leaves[i]);
    if (n && !(t = aud_tree_new(NULL, (const uint8_t(*)[AUD_HASH])leaves, n)))
        goto out;
    aud_thead_name_hash(&h, tenant, nh);
    for (i = 0; i < n && memcmp(e[i].name_hash, nh, AUD_HASH) < 0; i++)
        ;
    if (i < n && !memcmp(e[i].name_hash, nh, AUD_HASH)) {
        j = thead_entry(t, &e[i], i, n, 0);
        goto out;
    }
    /* no record of the tenant: the entries just before and after where it would be */
    json_t *left = i > 0 ? thead_entry(t, &e[i - 1], i - 1, n, 1) : NULL;
    json_t *right = i < n ? thead_entry(t, &e[i], i, n, 1) : NULL;
    if ((i > 0 && !left) || (i < n && !right)) {
        json_decref(left);
        json_decref(right);
        goto out;
    }
    /* a side without a neighbour (the tenant would be first or last) is left out */
    j = json_object();
    int ra = set_or_drop(j, "absent", json_true()), rl = set_or_drop(j, "left", left),
        rr = set_or_drop(j, "right", right);
    if (!j || ra < 0 || rl < 0 || rr < 0) {
        json_decref(j);
        j = NULL;
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the tenant head");
    }
out:
    aud_tree_free(t);
    aud_hasher_free(&h);
    free(e);
    free(leaves);
    return j;
}

/* ---- an archive's range, signed by prune ----
 * Every record of an archive is proved against its signed tree head, but which records the archive
 * is of was not signed: one cut from its first or last position (count fixed up) left an archive
 * whose every proof held. Prune signs, with the log's key, the archive's first and last seq and the
 * head they are proved against (its digest: signed bytes and signature), so neither end can move
 * and the range cannot be carried to another head. No signed tree head could do it: they name
 * sizes, and heads exist at many sizes (every checkpoint), so an end cut back to one would hold. */
#define RANGE_DOMAIN "dengbao-audit-archive-range-v1\n"

static int range_signed_bytes(aud_hasher *h, const aud_sth *sth, uint64_t first, uint64_t last,
                              const char *key_id, dbg_buf *out)
{
    uint8_t d[AUD_HASH];
    char dh[2 * AUD_HASH + 1];
    if (aud_sth_digest(h, sth, d) < 0)
        return -1;
    return dbg_buf_printf(out,
                          RANGE_DOMAIN "{\"first_seq\":%llu,\"key_id\":\"%s\",\"last_seq\":%llu,"
                                       "\"sth\":\"%s\"}",
                          (unsigned long long)first, key_id, (unsigned long long)last,
                          hex_of(d, dh));
}

/* The archive's "range": {"first_seq", "last_seq", "key_id", "sig"} for records [first, last]. */
static json_t *range_object(const aud_sth *sth, uint64_t first, uint64_t last, EVP_PKEY *key)
{
    char kid[2 * AUD_HASH + 1], sig_hex[129];
    uint8_t sig[64];
    aud_hasher h;
    dbg_buf b;
    json_t *j = NULL;
    if (aud_key_id(key, kid) < 0 || aud_hasher_init(&h) < 0)
        return NULL;
    dbg_buf_init(&b, 4096);
    if (range_signed_bytes(&h, sth, first, last, kid, &b) == 0 &&
        aud_sign(key, b.data, b.len, sig) == 0) {
        dbg_hex_encode(sig, sizeof(sig), sig_hex);
        j = json_pack("{s:I,s:I,s:s,s:s}", "first_seq", (json_int_t)first, "last_seq",
                      (json_int_t)last, "key_id", kid, "sig", sig_hex);
        if (!j)
            dbg_err_set(DBG_ERR_NOMEM, "cannot build the archive's range");
    }
    dbg_buf_free(&b);
    aud_hasher_free(&h);
    return j;
}

/* Writes records [lo, hi) of tenant (NULL = all tenants, for archives) with proofs to path; with
 * since, also a consistency proof from tree size *since to the exported head. pending
 * (optional, with a tenant): the tenant's records in [lo, hi) after the signed tree head, which
 * no proof can cover yet, so the export leaves them out. range_key (an archive of [lo, hi), hi
 * at most the head's size): the log's signing key, which signs the archive's range. */
static int write_export(const char *dir, aud_walk_out *o, aud_tree *t, const char *tenant,
                        uint64_t lo, uint64_t hi, const uint64_t *since, const char *path,
                        uint64_t *count, uint64_t *pending, EVP_PKEY *range_key)
{
    uint64_t size = o->last_sth.size;
    json_t *recs = json_array();
    json_t *doc = NULL;
    /* each tenant's last record at the head's size, for the tenant heads it signs */
    int theads = tenant && *tenant && o->last_sth.has_theads; /* "": provider-only, no entry */
    json_t *map = theads ? json_object() : NULL;
    int r = -1;
    *count = 0;
    if (!recs || (theads && !map))
        goto out;
    if (theads && first_header_tenants(dir, o, map) < 0)
        goto out;
    if (pending)
        *pending = 0;
    else if (hi > size)
        hi = size; /* past the head only the tenant's pending records are counted */
    for (uint64_t seq = lo; seq < hi; seq++) {
        char *data = NULL;
        size_t len = 0;
        if (aud_read_record(dir, o, seq, &data, &len) < 0)
            goto out;
        aud_parsed_record p;
        int pr = aud_record_parse((const uint8_t *)data, len, "record", &p);
        free(data);
        if (pr < 0)
            goto out;
        int match = !tenant || strcmp(p.tenant ? p.tenant : "", tenant) == 0;
        if (seq >= size) {
            *pending += tenant && match;
            aud_parsed_record_free(&p);
            continue;
        }
        if (map && p.tenant && *p.tenant &&
            json_object_set_new(map, p.tenant, json_integer((json_int_t)seq)) < 0) {
            aud_parsed_record_free(&p);
            dbg_err_set(DBG_ERR_NOMEM, "cannot build the tenant heads");
            goto out;
        }
        aud_parsed_record_free(&p);
        if (!match)
            continue;
        json_t *inc = inclusion_object(dir, o, t, seq, size);
        if (!inc)
            goto out;
        json_array_append_new(recs, inc);
        (*count)++;
    }
    /* first_seq: the first record the log still holds (after pruning); every record of the
     * tenant from there on is in the export, which verify-export --previous holds it to */
    doc = json_pack("{s:s,s:s?,s:o,s:o,s:I,s:I}", "format", EXPORT_FORMAT, "tenant", tenant, "sth",
                    aud_sth_to_json(&o->last_sth), "records", recs, "count", (json_int_t)*count,
                    "first_seq", (json_int_t)lo);
    recs = NULL;
    if (!doc) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the export");
        goto out;
    }
    if (!tenant)
        json_object_set_new(doc, "archive", json_true());
    if (range_key) {
        json_t *rj = hi > lo ? range_object(&o->last_sth, lo, hi - 1, range_key) : NULL;
        if (!rj || json_object_set_new(doc, "range", rj) < 0)
            goto out;
    }
    if (theads) {
        json_t *th = tenant_head_object(&o->last_sth, map, tenant);
        if (!th)
            goto out;
        json_object_set_new(doc, "tenant_head", th);
    }
    if (since) {
        json_t *c = consistency_object(t, *since, size);
        if (!c)
            goto out;
        json_object_set_new(doc, "consistency", c);
    }
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot serialize the export");
        goto out;
    }
    r = dbg_write_file_atomic(path, text, strlen(text));
    free(text);
out:
    json_decref(recs);
    json_decref(doc);
    json_decref(map);
    return r;
}

static int export_tenant(const char *dir, const char *tenant, const uint64_t *since,
                         const char *out_path, dbg_audit_export_info *info)
{
    if (!tenant) {
        dbg_err_set(DBG_ERR_USAGE, "export needs a tenant");
        return -1;
    }
    aud_walk_out o;
    aud_tree *t = NULL;
    if (load_tree(dir, &o, &t, 0) < 0)
        return -1;
    uint64_t count = 0;
    int r = write_export(dir, &o, t, tenant, o.pruned_frontier.size, o.pruned_frontier.size + o.n,
                         since, out_path, &count, info ? &info->pending : NULL, NULL);
    if (r == 0 && info) {
        info->records = count;
        info->tree_size = o.last_sth.size;
    }
    aud_tree_free(t);
    aud_walk_out_free(&o);
    return r;
}

int dbg_audit_export(const char *dir, const char *tenant, const char *out_path)
{
    return export_tenant(dir, tenant, NULL, out_path, NULL);
}

int dbg_audit_export_since(const char *dir, const char *tenant, uint64_t since_size,
                           const char *out_path)
{
    return export_tenant(dir, tenant, &since_size, out_path, NULL);
}

int dbg_audit_export_ex(const char *dir, const char *tenant, const uint64_t *since_size,
                        const char *out_path, dbg_audit_export_info *info)
{
    if (info)
        memset(info, 0, sizeof(*info));
    return export_tenant(dir, tenant, since_size, out_path, info);
}

int dbg_audit_export_tree_size(const char *path, uint64_t *size)
{
    char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, EXPORT_MAX, &text, &len) < 0)
        return -1;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    aud_sth s;
    int r = -1;
    if (!doc)
        dbg_err_set(DBG_ERR_PARSE, "%s: not JSON: %s (line %d)", path, jerr.text, jerr.line);
    else if (aud_sth_from_json(json_object_get(doc, "sth"), path, &s) == 0) {
        *size = s.size;
        r = 0;
    }
    json_decref(doc);
    return r;
}

/* ---- offline verification of an export ---- */

static void eproblem(dbg_audit_verify_result *res, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void eproblem(dbg_audit_verify_result *res, int64_t seq, const char *fmt, ...)
{
    if (!res->ok)
        return;
    res->ok = 0;
    res->first_bad_seq = seq;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->problem, sizeof(res->problem), fmt, ap);
    va_end(ap);
}

/* What a verified export says about the log beyond its records: its signed head and, when it
 * carries one, the consistency proof from an earlier tree size. */
typedef struct {
    aud_sth sth;
    int has_consistency;
    uint64_t old_size;
    uint8_t old_root[AUD_HASH];
    uint8_t (*proof)[AUD_HASH];
    size_t n_proof;
    char tenant[256];   /* "" for an archive */
    uint64_t first_seq; /* the first seq the log held (0 when the export does not say) */
    struct export_leaf {
        uint64_t seq;
        int64_t tenant_prev; /* AUD_TPREV_ABSENT, AUD_TPREV_NONE or a seq */
        uint8_t hash[AUD_HASH];
    } * recs; /* the records' seqs (increasing), tenant_prev and leaf hashes */
    size_t n_recs, cap_recs;
} export_info;

static void export_info_free(export_info *x)
{
    free(x->proof);
    free(x->recs);
    memset(x, 0, sizeof(*x));
}

#define MAX_CONSISTENCY_PROOF 128 /* 2 x 64 levels: more than any tree's proof */

/* Reads and checks the "consistency" member: well-formed, and the proof holds between the root it
 * names for old_size and the export's signed root. Returns 0, or 1 after a problem. */
static int read_consistency(aud_hasher *h, json_t *cj, const aud_sth *sth, const char *what,
                            export_info *x, dbg_audit_verify_result *res)
{
    json_t *os = json_object_get(cj, "old_size"), *ns = json_object_get(cj, "new_size");
    const char *oroot = json_string_value(json_object_get(cj, "old_root"));
    json_t *proof = json_object_get(cj, "proof");
    if (!json_is_object(cj) || !json_is_integer(os) || json_integer_value(os) < 0 || !oroot ||
        !json_is_array(proof) || json_array_size(proof) > MAX_CONSISTENCY_PROOF ||
        (ns && !json_is_integer(ns))) {
        eproblem(res, -1,
                 "%s: 'consistency' needs old_size, old_root and a proof array (at most %d hashes)",
                 what, MAX_CONSISTENCY_PROOF);
        return 1;
    }
    x->old_size = (uint64_t)json_integer_value(os);
    if (x->old_size > sth->size || (ns && (uint64_t)json_integer_value(ns) != sth->size)) {
        eproblem(
            res, -1,
            "%s: consistency proof is for sizes %llu -> %lld but the signed tree head has size "
            "%llu",
            what, (unsigned long long)x->old_size, ns ? (long long)json_integer_value(ns) : -1LL,
            (unsigned long long)sth->size);
        return 1;
    }
    if (hash_of_hex(oroot, x->old_root) < 0) {
        eproblem(res, -1, "%s: consistency old_root is not 64 hex digits", what);
        return 1;
    }
    x->n_proof = json_array_size(proof);
    if (!(x->proof = dbg_calloc(x->n_proof ? x->n_proof : 1, AUD_HASH)))
        return -1;
    long bad = proof_of_json(proof, x->proof);
    if (bad >= 0) {
        eproblem(res, -1, "%s: consistency proof[%zu] is not 64 hex digits", what, (size_t)bad);
        return 1;
    }
    if (!aud_verify_consistency(h, x->old_size, sth->size, x->old_root, sth->root,
                                (const uint8_t(*)[AUD_HASH])x->proof, x->n_proof)) {
        eproblem(res, -1,
                 "%s: consistency proof from tree size %llu to the signed tree head (size %llu) "
                 "does not hold",
                 what, (unsigned long long)x->old_size, (unsigned long long)sth->size);
        return 1;
    }
    x->has_consistency = 1;
    return 0;
}

/* Every record of the tenant that carries tenant_prev must name the record before it in the
 * export: a record of the tenant left out between two the export holds breaks the chain at the
 * later one. The first one names a record below first_seq (pruned, which the export says) or
 * null. With ox (an earlier export of the tenant, prev_what), its records below nx's first_seq
 * come first: the tenant saw them, so the chain goes on from its last one. Records without
 * tenant_prev (from before the log linked them) are not checked, and the tail of an export (its
 * newest records cut off) shows only once a later record names one of them. */
static void check_tenant_chain(const export_info *ox, const export_info *nx, const char *what,
                               const char *prev_what, dbg_audit_verify_result *res)
{
    size_t no = 0;
    while (ox && no < ox->n_recs && ox->recs[no].seq < nx->first_seq)
        no++;
    int64_t last = -1; /* seq of the tenant's record before, -1 none */
    for (size_t k = 0; k < no + nx->n_recs; k++) {
        const struct export_leaf *e = k < no ? &ox->recs[k] : &nx->recs[k - no];
        int64_t p = e->tenant_prev, seq = (int64_t)e->seq;
        const char *in = k < no ? prev_what : what, *last_in = k <= no ? prev_what : what;
        if (p == AUD_TPREV_ABSENT || p == last || (p > last && (uint64_t)p < nx->first_seq)) {
            last = seq; /* linked, or it names a record pruned before the export's first seq */
            continue;
        }
        if (p > last)
            eproblem(res, p,
                     "records of tenant '%s' between seq %lld and %lld are missing from the "
                     "export %s: seq %lld names seq %lld as the tenant's previous record",
                     nx->tenant, last >= 0 ? (long long)last : (long long)nx->first_seq,
                     (long long)seq, in, (long long)seq, (long long)p);
        else if (p == AUD_TPREV_NONE)
            eproblem(
                res, seq,
                "%s: seq %lld says it is the first record of tenant '%s', but seq %lld in %s is "
                "one of its records too",
                in, (long long)seq, nx->tenant, (long long)last, last_in ? last_in : what);
        else
            eproblem(res, seq,
                     "%s: seq %lld names seq %lld as the previous record of tenant '%s', but "
                     "seq %lld in %s comes between",
                     in, (long long)seq, (long long)p, nx->tenant, (long long)last,
                     last_in ? last_in : what);
        return;
    }
}

/* An export holds every record of its tenant below its tree size from its first_seq on. A record
 * the new export holds below the previous export's tree size, at or after both first seqs, that
 * the previous one lacks was cut from the previous one (a tail cut off shows here, once the log
 * has grown past it). */
static void cut_from_previous(const export_info *ox, const export_info *nx, const char *what,
                              const char *prev_what, dbg_audit_verify_result *res)
{
    size_t j = 0;
    uint64_t from = ox->first_seq > nx->first_seq ? ox->first_seq : nx->first_seq;
    for (size_t i = 0; i < nx->n_recs && nx->recs[i].seq < ox->sth.size; i++) {
        uint64_t seq = nx->recs[i].seq;
        if (seq < from)
            continue;
        while (j < ox->n_recs && ox->recs[j].seq < seq)
            j++;
        if (j == ox->n_recs || ox->recs[j].seq != seq) {
            eproblem(res, (int64_t)seq,
                     "%s left out seq %llu, a record of tenant '%s' in its tree (size %llu) that "
                     "%s holds: the previous export was cut short",
                     prev_what, (unsigned long long)seq, nx->tenant,
                     (unsigned long long)ox->sth.size, what);
            return;
        }
    }
}

/* Reads one proven entry of the tenant heads ({"last_seq", "index", "proof"}, and "name_hash"
 * for a neighbour: nh NULL). Returns 1 when it is well-formed and its proof leads to the signed
 * tenant heads root, 0 when not. */
static int thead_entry_holds(aud_hasher *h, const json_t *j, const aud_sth *sth,
                             uint8_t nh[AUD_HASH], int read_name, uint64_t *seq, uint64_t *index)
{
    json_t *sj = json_object_get(j, "last_seq"), *ij = json_object_get(j, "index");
    json_t *pj = json_object_get(j, "proof");
    if (!json_is_integer(sj) || json_integer_value(sj) < 0 ||
        (uint64_t)json_integer_value(sj) >= sth->size || !json_is_integer(ij) ||
        json_integer_value(ij) < 0 || (uint64_t)json_integer_value(ij) >= sth->theads_size ||
        !json_is_array(pj) || json_array_size(pj) > 64)
        return 0;
    if (read_name && hash_of_hex(json_string_value(json_object_get(j, "name_hash")), nh) < 0)
        return 0;
    *seq = (uint64_t)json_integer_value(sj);
    *index = (uint64_t)json_integer_value(ij);
    uint8_t p[64][AUD_HASH], leaf[AUD_HASH];
    size_t n = json_array_size(pj);
    if (proof_of_json(pj, p) >= 0)
        return 0;
    aud_thead_leaf(h, nh, *seq, leaf);
    return aud_verify_inclusion(h, *index, sth->theads_size, leaf, (const uint8_t(*)[AUD_HASH])p, n,
                                sth->theads);
}

/* The export's last record of its tenant must be the one the signed tenant heads name (else its
 * newest records were cut off), and a tenant the heads do not name may have none: a proof that it
 * sits between two neighbours in the order, or an empty tree. Heads from before the tenant heads
 * (version 1) have nothing to check against (res->tenant_heads 0, said in the output). */
static void check_tenant_head(aud_hasher *h, const json_t *tj, const aud_sth *sth,
                              const export_info *x, const char *what, dbg_audit_verify_result *res)
{
    res->tenant_heads = sth->has_theads && x->tenant[0];
    res->tenant_last = -1;
    if (!res->tenant_heads)
        return; /* a version 1 head, or provider-only records (tenant ""), which have no entry */
    int64_t end = x->n_recs ? (int64_t)x->recs[x->n_recs - 1].seq : -1;
    if (!json_is_object(tj)) {
        eproblem(res, -1,
                 "%s: the signed tree head (size %llu) names every tenant's last record, but the "
                 "export has no 'tenant_head' for tenant '%s'",
                 what, (unsigned long long)sth->size, x->tenant);
        return;
    }
    uint8_t nh[AUD_HASH];
    aud_thead_name_hash(h, x->tenant, nh);
    uint64_t seq = 0, index = 0;
    if (json_is_true(json_object_get(tj, "absent"))) {
        const json_t *lj = json_object_get(tj, "left"), *rj = json_object_get(tj, "right");
        if (json_is_null(lj))
            lj = NULL;
        if (json_is_null(rj))
            rj = NULL;
        uint8_t lh[AUD_HASH], rh[AUD_HASH];
        uint64_t li = 0, ri = 0;
        int holds = (!lj || thead_entry_holds(h, lj, sth, lh, 1, &seq, &li)) &&
                    (!rj || thead_entry_holds(h, rj, sth, rh, 1, &seq, &ri));
        if (holds && sth->theads_size == 0) {
            uint8_t empty[AUD_HASH];
            aud_theads_root(h, NULL, 0, empty);
            holds = !lj && !rj && !memcmp(empty, sth->theads, AUD_HASH);
        } else if (holds) {
            /* the neighbours are adjacent (or the first / last entry) and the tenant's name hash
             * falls strictly between theirs */
            holds = (lj || rj) && (!lj || memcmp(lh, nh, AUD_HASH) < 0) &&
                    (!rj || memcmp(nh, rh, AUD_HASH) < 0) && (lj || ri == 0) &&
                    (rj || li + 1 == sth->theads_size) && (!lj || !rj || li + 1 == ri);
        }
        if (!holds)
            eproblem(res, -1,
                     "%s: the proof that tenant '%s' has no record in the signed tenant heads "
                     "(tree head size %llu) does not hold",
                     what, x->tenant, (unsigned long long)sth->size);
        else if (end >= 0)
            eproblem(res, end,
                     "%s: the signed tree head (size %llu) names no record of tenant '%s', but "
                     "the export holds seq %lld",
                     what, (unsigned long long)sth->size, x->tenant, (long long)end);
        return;
    }
    if (!thead_entry_holds(h, tj, sth, nh, 0, &seq, &index)) {
        eproblem(res, -1,
                 "%s: the proof of tenant '%s''s last record does not lead to the signed tenant "
                 "heads (tree head size %llu)",
                 what, x->tenant, (unsigned long long)sth->size);
        return;
    }
    res->tenant_last = (int64_t)seq;
    if (end < 0 && seq < x->first_seq)
        return; /* all its records pruned, which the export says (first_seq) */
    if (end < (int64_t)seq) {
        char ends[64];
        if (end >= 0)
            snprintf(ends, sizeof(ends), "ends at seq %lld", (long long)end);
        else
            snprintf(ends, sizeof(ends), "holds none of its records");
        eproblem(res, (int64_t)seq,
                 "the newest records of tenant '%s' were cut off: the signed head names seq %llu "
                 "as %s's last, the export %s",
                 x->tenant, (unsigned long long)seq, x->tenant, ends);
    } else if (end > (int64_t)seq) {
        eproblem(res, end,
                 "%s: seq %lld of tenant '%s' comes after seq %llu, which the signed head names "
                 "as its last",
                 what, (long long)end, x->tenant, (unsigned long long)seq);
    }
}

/* Reads an archive's signed "range" (range_object): well-formed, within the head, and its
 * signature holds with pub over that head. Returns 0 with *first and *last, 1 after a problem. */
static int read_range(aud_hasher *h, const json_t *rj, const aud_sth *sth, EVP_PKEY *pub,
                      const char *what, uint64_t *first, uint64_t *last,
                      dbg_audit_verify_result *res)
{
    json_t *fj = json_object_get(rj, "first_seq"), *lj = json_object_get(rj, "last_seq");
    const char *sig_hex = json_string_value(json_object_get(rj, "sig"));
    char kid[2 * AUD_HASH + 1];
    uint8_t sig[64];
    if (!json_is_integer(fj) || !json_is_integer(lj) || json_integer_value(fj) < 0 ||
        json_integer_value(lj) < json_integer_value(fj) ||
        (uint64_t)json_integer_value(lj) >= sth->size || !sig_hex || strlen(sig_hex) != 128 ||
        dbg_hex_decode(sig_hex, sig, sizeof(sig)) < 0) {
        eproblem(res, -1,
                 "%s: the archive's 'range' needs first_seq <= last_seq below the tree size %llu "
                 "and a signature (128 hex digits)",
                 what, (unsigned long long)sth->size);
        return 1;
    }
    *first = (uint64_t)json_integer_value(fj);
    *last = (uint64_t)json_integer_value(lj);
    if (aud_key_id(pub, kid) < 0)
        return -1;
    /* the key_id it names is not under its signature (the verifier's is): one naming another
     * key is refused by name, not passed as a range this key signed */
    const char *named = json_string_value(json_object_get(rj, "key_id"));
    if (!named || strcmp(named, kid) != 0) {
        eproblem(res, -1,
                 "%s: the archive's range names key_id %.64s, not this public key's %s: it was "
                 "signed with another key",
                 what, named ? named : "(none)", kid);
        return 1;
    }
    dbg_buf b;
    dbg_buf_init(&b, 4096);
    int ok = range_signed_bytes(h, sth, *first, *last, kid, &b) == 0 &&
             aud_verify_sig(pub, b.data, b.len, sig);
    dbg_buf_free(&b);
    if (!ok) {
        eproblem(res, -1,
                 "%s: the archive's signed range (seq %llu..%llu) does not verify with this public "
                 "key over its signed tree head: the range or the head was changed",
                 what, (unsigned long long)*first, (unsigned long long)*last);
        return 1;
    }
    return 0;
}

/* The archive's records must be exactly its signed range: the seqs already follow each other,
 * so only the ends are left to compare. */
static void check_range_ends(const export_info *x, uint64_t first, uint64_t last, const char *what,
                             dbg_audit_verify_result *res)
{
    if (!x->n_recs) {
        eproblem(res, (int64_t)first,
                 "%s: the archive's signed range is seq %llu..%llu, but it holds none of its "
                 "records",
                 what, (unsigned long long)first, (unsigned long long)last);
        return;
    }
    uint64_t a = x->recs[0].seq, z = x->recs[x->n_recs - 1].seq;
    if (a > first)
        eproblem(res, (int64_t)first,
                 "%s: the archive's signed range is seq %llu..%llu, but its first record is seq "
                 "%llu: seq %llu%s cut from its start",
                 what, (unsigned long long)first, (unsigned long long)last, (unsigned long long)a,
                 (unsigned long long)first, a > first + 1 ? " and more were" : " was");
    else if (z < last)
        eproblem(res, (int64_t)z + 1,
                 "%s: the archive's signed range is seq %llu..%llu, but its last record is seq "
                 "%llu: seq %llu%s cut from its end",
                 what, (unsigned long long)first, (unsigned long long)last, (unsigned long long)z,
                 (unsigned long long)last, z + 1 < last ? " and more were" : " was");
    else if (a < first || z > last)
        eproblem(res, (int64_t)(a < first ? a : z),
                 "%s: seq %llu is outside the archive's signed range seq %llu..%llu", what,
                 (unsigned long long)(a < first ? a : z), (unsigned long long)first,
                 (unsigned long long)last);
}

static int verify_export_doc(const char *text, size_t len, EVP_PKEY *pub, const char *what,
                             dbg_audit_verify_result *res, export_info *x)
{
    aud_verify_result_init(res);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        eproblem(res, -1, "%s: not JSON: %s (line %d column %d)", what, jerr.text, jerr.line,
                 jerr.column);
        return 0;
    }
    aud_hasher h;
    if (aud_hasher_init(&h) < 0) {
        json_decref(doc);
        return -1;
    }
    dbg_buf canon;
    dbg_buf_init(&canon, AUD_MAX_RECORD);
    const char *fmt = json_string_value(json_object_get(doc, "format"));
    json_t *tj = json_object_get(doc, "tenant");
    const char *tenant = json_string_value(tj);
    int archive = json_is_true(json_object_get(doc, "archive"));
    json_t *recs = json_object_get(doc, "records");
    aud_sth sth;
    if (!fmt || strcmp(fmt, EXPORT_FORMAT) != 0) {
        eproblem(res, -1, "%s: not a dengbao audit export (format %s)", what,
                 fmt ? fmt : "missing");
        goto out;
    }
    if ((!tenant && !archive) || !json_is_array(recs)) {
        eproblem(res, -1, "%s: export needs 'tenant' and a 'records' array", what);
        goto out;
    }
    if (tenant && strlen(tenant) >= sizeof(x->tenant)) { /* kept whole, never cut to another's */
        eproblem(res, -1, "%s: 'tenant' is longer than %zu bytes", what, sizeof(x->tenant) - 1);
        goto out;
    }
    if (aud_sth_from_json(json_object_get(doc, "sth"), what, &sth) < 0) {
        eproblem(res, -1, "%s", dbg_err_msg());
        goto out;
    }
    if (!aud_sth_verify(&sth, pub)) {
        eproblem(res, -1, "%s: the signed tree head does not verify with this public key", what);
        goto out;
    }
    json_t *fj = json_object_get(doc, "first_seq");
    if (fj && (!json_is_integer(fj) || json_integer_value(fj) < 0 ||
               (uint64_t)json_integer_value(fj) > sth.size)) {
        eproblem(res, -1, "%s: 'first_seq' is not a seq from 0 to the tree size %llu", what,
                 (unsigned long long)sth.size);
        goto out;
    }
    x->first_seq = fj ? (uint64_t)json_integer_value(fj) : 0;
    res->pruned = x->first_seq; /* a claim the export makes: said in verify-export's output */
    /* an archive is of all tenants, whatever 'tenant' it also carries (its records are not
     * checked against one) */
    snprintf(x->tenant, sizeof(x->tenant), "%s", tenant && !archive ? tenant : "");
    snprintf(res->tenant, sizeof(res->tenant), "%s", x->tenant);
    res->archive = archive;
    res->checkpoints = 1;
    res->head_size = sth.size;
    dbg_hex_encode(sth.root, AUD_HASH, res->head);
    x->sth = sth;
    /* an archive's range, signed by prune; an archive from before it has none, and its ends
     * are unchecked (said in the output) */
    json_t *rj = json_object_get(doc, "range");
    uint64_t range_first = 0, range_last = 0;
    if (rj && !archive) {
        eproblem(res, -1, "%s: 'range' is only in an archive (a prune's export of all tenants)",
                 what);
        goto out;
    }
    if (rj) {
        int c = read_range(&h, rj, &sth, pub, what, &range_first, &range_last, res);
        if (c < 0)
            goto fail;
        if (c > 0)
            goto out;
    } else if (archive)
        res->archive_ends_unchecked = 1;
    json_t *cj = json_object_get(doc, "consistency");
    if (cj) {
        int c = read_consistency(&h, cj, &sth, what, x, res);
        if (c < 0)
            goto fail;
        if (c > 0)
            goto out;
    }
    int64_t prev_seq = -1;
    for (size_t i = 0; i < json_array_size(recs); i++) {
        json_t *e = json_array_get(recs, i);
        json_t *sj = json_object_get(e, "seq");
        json_t *rec = json_object_get(e, "record");
        json_t *proof = json_object_get(e, "proof");
        if (!json_is_integer(sj) || json_integer_value(sj) < 0 || !json_is_object(rec) ||
            !json_is_array(proof) || json_array_size(proof) > 64) {
            eproblem(res, -1, "%s: records[%zu]: needs seq, record and proof", what, i);
            goto out;
        }
        int64_t seq = (int64_t)json_integer_value(sj);
        if (seq <= prev_seq) {
            eproblem(res, seq, "%s: records[%zu]: seq %lld not in increasing order", what, i,
                     (long long)seq);
            goto out;
        }
        /* an archive holds every record of its range (prune checks that it wrote them all); a
         * gap is a record taken out of the file, which no inclusion proof shows missing */
        if (archive && i > 0 && seq != prev_seq + 1) {
            eproblem(res, prev_seq + 1,
                     "%s: records[%zu]: seq %lld follows seq %lld: the archive is missing seq "
                     "%lld%s (an archive holds every record of its range)",
                     what, i, (long long)seq, (long long)prev_seq, (long long)prev_seq + 1,
                     seq > prev_seq + 2 ? " and more" : "");
            goto out;
        }
        prev_seq = seq;
        if ((uint64_t)seq < x->first_seq) {
            eproblem(res, seq, "%s: records[%zu]: seq %lld is before first_seq %llu", what, i,
                     (long long)seq, (unsigned long long)x->first_seq);
            goto out;
        }
        json_t *rs = json_object_get(rec, "seq");
        if (!json_is_integer(rs) || json_integer_value(rs) != seq) {
            eproblem(res, seq, "%s: records[%zu]: the record's own seq differs from %lld", what, i,
                     (long long)seq);
            goto out;
        }
        const char *rt = json_string_value(json_object_get(rec, "tenant"));
        if (!archive && (!rt || strcmp(rt, tenant) != 0)) {
            eproblem(res, seq, "%s: seq %lld belongs to tenant '%s', not '%s'", what,
                     (long long)seq, rt ? rt : "", tenant);
            goto out;
        }
        dbg_buf_reset(&canon);
        if (aud_canon_json(&canon, rec, 0) < 0) {
            eproblem(res, seq, "%s: seq %lld: %s", what, (long long)seq, dbg_err_msg());
            goto out;
        }
        uint8_t leaf[AUD_HASH];
        aud_leaf_hash(&h, canon.data, canon.len, leaf);
        size_t n = json_array_size(proof);
        uint8_t(*p)[AUD_HASH] = dbg_calloc(n ? n : 1, AUD_HASH);
        if (!p)
            goto fail;
        int holds = proof_of_json(proof, p) < 0 &&
                    aud_verify_inclusion(&h, (uint64_t)seq, sth.size, leaf,
                                         (const uint8_t(*)[AUD_HASH])p, n, sth.root);
        free(p);
        if (!holds) {
            eproblem(
                res, seq,
                "%s: seq %lld: inclusion proof does not lead to the signed root (record altered?)",
                what, (long long)seq);
            goto out;
        }
        /* the proof held for the record's own hash, so a leaf_hash the file states would
         * otherwise pass unread: a reader who takes it (to match a prove, a ticket, the
         * provider's log) must be able to trust whatever a verified export says */
        json_t *lj = json_object_get(e, "leaf_hash");
        if (lj) {
            char lhex[2 * AUD_HASH + 1];
            const char *ls = json_string_value(lj);
            if (!ls || strcmp(ls, hex_of(leaf, lhex)) != 0) {
                eproblem(res, seq,
                         "%s: records[%zu]: seq %lld: 'leaf_hash' is not the hash of the record "
                         "(which is %s)",
                         what, i, (long long)seq, lhex);
                goto out;
            }
        }
        /* signed with the record (the proof held): a tenant's record names the tenant's record
         * before it, null for its first; none in a record from before the log did this */
        json_t *tp = json_object_get(rec, "tenant_prev");
        int64_t tprev = AUD_TPREV_ABSENT;
        int tp_ok = !tp || (rt && *rt);
        if (tp && json_is_null(tp))
            tprev = AUD_TPREV_NONE;
        else if (json_is_integer(tp) && json_integer_value(tp) >= 0 && json_integer_value(tp) < seq)
            tprev = (int64_t)json_integer_value(tp);
        else if (tp)
            tp_ok = 0;
        if (!tp_ok) {
            eproblem(res, seq,
                     "%s: seq %lld: 'tenant_prev' must be null or a seq below the record's own, "
                     "in a record of a tenant",
                     what, (long long)seq);
            goto out;
        }
        if (tprev == AUD_TPREV_ABSENT) {
            res->unlinked++;
            /* after a record of the tenant that has it (a writer from before tenant_prev still
             * appending): one left out just before it is not detected, which the output says */
            if (!archive && res->linked_from >= 0 && !res->unlinked_after++)
                res->unlinked_after_first = seq;
        } else if (res->linked_from < 0)
            res->linked_from = seq;
        if (dbg_grow_array((void **)&x->recs, &x->cap_recs, x->n_recs + 1, sizeof(*x->recs), 64))
            goto fail;
        x->recs[x->n_recs].seq = (uint64_t)seq;
        x->recs[x->n_recs].tenant_prev = tprev;
        memcpy(x->recs[x->n_recs].hash, leaf, AUD_HASH);
        x->n_recs++;
        res->records++;
    }
    json_t *cnt = json_object_get(doc, "count");
    if (cnt && (!json_is_integer(cnt) || (uint64_t)json_integer_value(cnt) != res->records))
        eproblem(res, -1, "%s: 'count' says %lld records but %llu are present", what,
                 (long long)json_integer_value(cnt), (unsigned long long)res->records);
    if (res->ok && rj)
        check_range_ends(x, range_first, range_last, what, res);
    if (res->ok && !archive)
        check_tenant_chain(NULL, x, what, NULL, res);
    if (res->ok && !archive)
        check_tenant_head(&h, json_object_get(doc, "tenant_head"), &sth, x, what, res);
out:
    dbg_buf_free(&canon);
    aud_hasher_free(&h);
    json_decref(doc);
    return 0;
fail:
    dbg_buf_free(&canon);
    aud_hasher_free(&h);
    json_decref(doc);
    return -1;
}

int aud_verify_export_text(const char *text, size_t len, EVP_PKEY *pub, const char *what,
                           dbg_audit_verify_result *res)
{
    export_info x;
    memset(&x, 0, sizeof(x));
    int r = verify_export_doc(text, len, pub, what, res, &x);
    export_info_free(&x);
    return r;
}

/* With the two logs consistent, every record of the previous export the log still holds (seq
 * from the new export's first_seq) must be in the new one, the same: inclusion proofs show what
 * an export holds, not that it holds everything, so a record the tenant saw before and the
 * provider then left out of the export was not noticed. */
static void left_out_records(const export_info *ox, const export_info *nx, const char *what,
                             const char *prev_what, dbg_audit_verify_result *res)
{
    size_t j = 0;
    for (size_t i = 0; i < ox->n_recs; i++) {
        uint64_t seq = ox->recs[i].seq;
        if (seq < nx->first_seq)
            continue; /* pruned since, which the new export says */
        while (j < nx->n_recs && nx->recs[j].seq < seq)
            j++;
        if (j == nx->n_recs || nx->recs[j].seq != seq) {
            eproblem(res, (int64_t)seq,
                     "%s leaves out seq %llu, a record of %s that the log still holds (it starts "
                     "at seq %llu): the export hides a record the tenant was shown before",
                     what, (unsigned long long)seq, prev_what, (unsigned long long)nx->first_seq);
            return;
        }
        if (memcmp(nx->recs[j].hash, ox->recs[i].hash, AUD_HASH) != 0) {
            eproblem(res, (int64_t)seq, "%s: seq %llu differs from the same record in %s", what,
                     (unsigned long long)seq, prev_what);
            return;
        }
    }
}

int aud_verify_export_pair_text(const char *text, size_t len, const char *what,
                                const char *prev_text, size_t prev_len, const char *prev_what,
                                EVP_PKEY *pub, dbg_audit_verify_result *res)
{
    export_info nx, ox;
    memset(&nx, 0, sizeof(nx));
    memset(&ox, 0, sizeof(ox));
    dbg_audit_verify_result pres;
    int r = verify_export_doc(text, len, pub, what, res, &nx);
    if (r < 0 || !res->ok)
        goto out;
    if ((r = verify_export_doc(prev_text, prev_len, pub, prev_what, &pres, &ox)) < 0)
        goto out;
    uint64_t n1 = ox.sth.size, n2 = nx.sth.size;
    res->previous_size = n1;
    if (pres.ok && strcmp(ox.tenant, nx.tenant) != 0) {
        eproblem(res, -1, "%s is an export of %s%s%s, the previous one %s of %s%s%s", what,
                 nx.tenant[0] ? "tenant '" : "", nx.tenant[0] ? nx.tenant : "all tenants",
                 nx.tenant[0] ? "'" : "", prev_what, ox.tenant[0] ? "tenant '" : "",
                 ox.tenant[0] ? ox.tenant : "all tenants", ox.tenant[0] ? "'" : "");
        goto out;
    }
    char r1[2 * AUD_HASH + 1], r2[2 * AUD_HASH + 1];
    dbg_hex_encode(ox.sth.root, AUD_HASH, r1);
    if (!pres.ok)
        eproblem(res, -1, "previous export does not verify: %s", pres.problem);
    else if (n1 > n2)
        eproblem(res, -1,
                 "consistency check failed: the previous export's signed tree head has size %llu, "
                 "more than this one's %llu (an older export, or the log was cut back)",
                 (unsigned long long)n1, (unsigned long long)n2);
    else if (n1 == n2) {
        if (memcmp(ox.sth.root, nx.sth.root, AUD_HASH) != 0)
            eproblem(
                res, -1,
                "consistency check failed: both exports sign tree size %llu but with different "
                "roots (%s before, %s now): the log was rewritten",
                (unsigned long long)n1, r1, res->head);
    } else if (!nx.has_consistency)
        eproblem(res, -1,
                 "%s carries no consistency proof; ask for an export made with --since-size %llu "
                 "(or --since the previous export)",
                 what, (unsigned long long)n1);
    else if (nx.old_size != n1)
        eproblem(res, -1,
                 "%s proves consistency from tree size %llu, but the previous export is at size "
                 "%llu; ask for an export made with --since-size %llu",
                 what, (unsigned long long)nx.old_size, (unsigned long long)n1,
                 (unsigned long long)n1);
    else if (memcmp(nx.old_root, ox.sth.root, AUD_HASH) != 0) {
        dbg_hex_encode(nx.old_root, AUD_HASH, r2);
        eproblem(res, -1,
                 "consistency check failed: the log behind this export had root %s at tree size "
                 "%llu, but the previous export's signed tree head says %s: records before seq "
                 "%llu were changed, removed or reordered since (the log was rewritten or forked)",
                 r2, (unsigned long long)n1, r1, (unsigned long long)n1);
    } else {
        /* the single-file check proved nx.old_root -> new root; with the roots equal that is the
         * proof from the previous signed head, but check it once more against that head itself */
        aud_hasher h;
        if ((r = aud_hasher_init(&h)) < 0)
            goto out;
        if (!aud_verify_consistency(&h, n1, n2, ox.sth.root, nx.sth.root,
                                    (const uint8_t(*)[AUD_HASH])nx.proof, nx.n_proof))
            eproblem(res, -1,
                     "consistency check failed: the proof does not lead from the previous signed "
                     "tree head (size %llu) to this one (size %llu)",
                     (unsigned long long)n1, (unsigned long long)n2);
        aud_hasher_free(&h);
    }
    if (res->ok)
        left_out_records(&ox, &nx, what, prev_what, res);
    if (res->ok && nx.tenant[0]) {
        cut_from_previous(&ox, &nx, what, prev_what, res);
        check_tenant_chain(&ox, &nx, what, prev_what, res);
    }
out:
    export_info_free(&nx);
    export_info_free(&ox);
    return r < 0 ? -1 : 0;
}

int dbg_audit_verify_export_since(const char *path, const char *previous_path,
                                  const char *pubkey_path, dbg_audit_verify_result *res)
{
    if (!previous_path)
        return dbg_audit_verify_export(path, pubkey_path, res);
    EVP_PKEY *pub = aud_key_load_public(pubkey_path);
    if (!pub)
        return -1;
    char *text = NULL, *prev = NULL;
    size_t len = 0, plen = 0;
    int r = -1;
    if (dbg_read_file(path, EXPORT_MAX, &text, &len) == 0 &&
        dbg_read_file(previous_path, EXPORT_MAX, &prev, &plen) == 0)
        r = aud_verify_export_pair_text(text, len, path, prev, plen, previous_path, pub, res);
    if (r == 0)
        res->bytes = len + plen; /* both files were read through */
    free(text);
    free(prev);
    EVP_PKEY_free(pub);
    return r;
}

int dbg_audit_verify_export(const char *path, const char *pubkey_path, dbg_audit_verify_result *res)
{
    EVP_PKEY *pub = aud_key_load_public(pubkey_path);
    if (!pub)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, EXPORT_MAX, &text, &len) < 0) {
        EVP_PKEY_free(pub);
        return -1;
    }
    int r = aud_verify_export_text(text, len, pub, path, res);
    if (r == 0)
        res->bytes = len;
    free(text);
    EVP_PKEY_free(pub);
    return r;
}

/* ---- retention ---- */

/* The lock every writer flushes under and every reader lists the segments under (LOCK_SH), taken
 * exclusively: no flush, rotation or recovery and no reader's listing falls inside a prune. A
 * read-only descriptor can hold it. A log no writer has opened yet has no lock file: it is created
 * as a writer creates it, but only in a directory that holds a log (its public key). */
static int lock_exclusive(const char *dir, int *fd)
{
    *fd = -1;
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_LOCK_FILE);
    DBG_AUTOFREE char *pub = dbg_path_join(dir, AUD_PUB_FILE);
    if (!path || !pub)
        return -1;
    int lfd = open(path, O_RDONLY | O_CLOEXEC);
    if (lfd < 0 && errno == ENOENT) {
        if (access(pub, F_OK) != 0)
            return 0; /* no log here: the walk says so */
        lfd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
    }
    if (lfd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    while (flock(lfd, LOCK_EX) < 0) {
        if (errno != EINTR) {
            dbg_err_errno(DBG_ERR_IO, "audit log %s: cannot lock", dir);
            close(lfd);
            return -1;
        }
    }
    *fd = lfd;
    return 0;
}

/* The archive's range is signed with the key the log's heads are: another key's signature would
 * only fail when the archive is checked. 0, or -1 naming both key ids. */
static int key_of_log(EVP_PKEY *key, const char *key_path, EVP_PKEY *pub, const char *dir)
{
    char kid[2 * AUD_HASH + 1], log_kid[2 * AUD_HASH + 1];
    if (aud_key_id(key, kid) < 0 || aud_key_id(pub, log_kid) < 0)
        return -1;
    if (strcmp(kid, log_kid) != 0) {
        dbg_err_set(DBG_ERR_USAGE,
                    "prune --key %s is not the signing key of audit log %s (key_id %s, the "
                    "log's is %s); nothing pruned",
                    key_path, dir, kid, log_kid);
        return -1;
    }
    return 0;
}

/* Holds the lock from the walk that decides what to drop to the last index row dropped: the
 * segments it verified, archived and deletes are the ones on disk, and a reader never lists one
 * that is about to go. A writer of this process keeps its own descriptor of the lock file and
 * takes the lock only inside a flush, so it waits here for the prune and never the other way. */
int dbg_audit_prune(const char *dir, int64_t before_us, const char *export_dir,
                    const char *key_path, uint64_t *removed)
{
    *removed = 0;
    if (!export_dir) {
        dbg_err_set(DBG_ERR_USAGE,
                    "prune needs an export directory: records leave the log only after an export");
        return -1;
    }
    if (!key_path) {
        dbg_err_set(DBG_ERR_USAGE, "prune needs the log's signing key: it signs the archive's "
                                   "range, so that a record cut from either end of it shows");
        return -1;
    }
    EVP_PKEY *key = aud_key_load_private(key_path);
    if (!key)
        return -1;
    int lock_fd;
    if (lock_exclusive(dir, &lock_fd) < 0) {
        EVP_PKEY_free(key);
        return -1;
    }
    aud_walk_out o;
    aud_tree *t = NULL;
    if (load_tree(dir, &o, &t, 1) < 0) {
        if (lock_fd >= 0)
            close(lock_fd);
        EVP_PKEY_free(key);
        return -1;
    }
    int r = -1;
    char *name = NULL, *apath = NULL;
    if (key_of_log(key, key_path, o.pub, dir) < 0 || dbg_mkdir_p(export_dir, 0700) < 0)
        goto out;
    /* whole segments only, oldest first, never the last (it is being written) */
    uint64_t p0 = o.pruned_frontier.size;
    size_t drop = 0;
    uint64_t cut = p0;
    for (size_t si = 0; si + 1 < o.n_names; si++) {
        uint64_t start = aud_name_first_seq(o.names[si]), end = aud_name_first_seq(o.names[si + 1]);
        int old = end <=
                  o.last_sth.size; /* only records a tree head covers can be archived with proofs */
        for (uint64_t seq = start; old && seq < end; seq++) {
            char *data = NULL;
            size_t len = 0;
            aud_parsed_record p;
            if (aud_read_record(dir, &o, seq, &data, &len) < 0)
                goto out;
            int pr = aud_record_parse((const uint8_t *)data, len, "record", &p);
            free(data);
            if (pr < 0)
                goto out;
            if (p.rec.time_us >= before_us)
                old = 0;
            aud_parsed_record_free(&p);
        }
        if (!old)
            break;
        drop = si + 1;
        cut = end;
    }
    if (drop > 0) {
        int64_t may = keep_tenant_heads_provable(dir, &o, drop);
        if (may < 0)
            goto out;
        drop = (size_t)may;
        cut = drop ? aud_name_first_seq(o.names[drop]) : p0;
    }
    if (drop == 0) {
        r = 0;
        goto out;
    }
    name = dbg_asprintf("audit-archive-%020llu-%020llu.json", (unsigned long long)p0,
                        (unsigned long long)cut - 1);
    apath = name ? dbg_path_join(export_dir, name) : NULL;
    uint64_t count = 0;
    if (!apath || write_export(dir, &o, t, NULL, p0, cut, NULL, apath, &count, NULL, key) < 0)
        goto out;
    /* the archive must check before anything is deleted */
    dbg_audit_verify_result vr;
    char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(apath, EXPORT_MAX, &text, &len) < 0)
        goto out;
    int vrc = aud_verify_export_text(text, len, o.pub, apath, &vr);
    free(text);
    if (vrc < 0 || !vr.ok || vr.records != cut - p0 || vr.archive_ends_unchecked) {
        dbg_err_set(DBG_ERR_VERIFY, "archive %s does not verify (%s); nothing pruned", apath,
                    vr.problem);
        goto out;
    }
    for (size_t si = 0; si < drop; si++) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, o.names[si]);
        if (!path || unlink(path) < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot remove %s", o.names[si]);
            goto out;
        }
    }
    if (aud_index_drop_below(dir, cut) < 0)
        goto out;
    *removed = cut - p0;
    r = 0;
out:
    free(name);
    free(apath);
    aud_tree_free(t);
    aud_walk_out_free(&o);
    EVP_PKEY_free(key);
    if (lock_fd >= 0)
        close(lock_fd); /* releases the lock */
    return r;
}
