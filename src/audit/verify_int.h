/* Pieces of log verification shared by the full walk (verify.c) and the streaming fast path
 * (verify_fast.c). Internal to src/audit. */
#ifndef DENGBAO_AUDIT_VERIFY_INT_H
#define DENGBAO_AUDIT_VERIFY_INT_H

#include "audit/audit_int.h"

/* A signed tree head met in the log, for matching head.json against. */
typedef struct {
    uint64_t size;
    uint8_t root[AUD_HASH];
} aud_seen_head;

/* Seq of stored canonical record bytes (the last ,"seq": field); -1 when there is none. */
int aud_record_seq(const uint8_t *p, size_t len, uint64_t *seq);
/* 1 when two tree heads are the same in every field. */
int aud_same_sth(const aud_sth *a, const aud_sth *b);
/* head.json's text (malloc'ed, *len set), or NULL with why filled. Read before the segments. */
char *aud_read_head_text(const char *dir, size_t *len, char *why, size_t why_size);
/* Waits for a shared lock on the log's lock file, which no writer holds in the middle of a flush
 * or rotation. *fd (close it to unlock) is -1 when the lock file cannot be opened. */
int aud_lock_shared(const char *dir, int *fd);
/* The log as it is now, listed under the shared lock: its first seq (its first segment's; prune
 * deletes the segments and then the index rows of what it removes under the exclusive lock, so
 * what is below it is no longer in the log) and, end not NULL, the seq after its last record (the
 * last segment's first seq plus the records in it at its size then; writers append under the
 * exclusive lock, so every record below it is in the log). -1 when it cannot be read. */
int aud_log_span_now(const char *dir, uint64_t *first, uint64_t *end);
/* Checks head.json (text as read before the segments) against the heads met in the log: signed
 * with pub, vouching for no more than records, equal to one of heads. Reports into res. */
void aud_check_head_file(const char *text, size_t len, const char *why, EVP_PKEY *pub,
                         uint64_t pruned, const aud_seen_head *heads, size_t n_heads,
                         uint64_t records, dbg_audit_verify_result *res);

/* What aud_walk reads under the shared lock, one state of the log: head.json, and each segment
 * listed (the names go to the walk's aud_walk_out) with its size, held open so that a prune that
 * takes the lock after the listing cannot take it away. */
typedef struct {
    char *head_text; /* NULL: head_why says why */
    size_t head_len;
    char head_why[512];
    size_t *listed; /* per segment: its size when listed, SIZE_MAX when it could not be read */
    int *fds;       /* per segment: open read-only, or -1 (read by name) */
    size_t n;       /* entries in listed and fds */
} aud_walk_listing;
/* aud_walk in its two steps (a test changes the log between them as a prune that takes the lock
 * right after the listing would): aud_walk_list reads the listing (under the shared lock when
 * take_lock), aud_walk_listed verifies what it lists and takes its descriptors over. Both return
 * as aud_walk does; the listing stays the caller's to free (which closes any descriptor left). */
int aud_walk_list(const char *dir, const char *pubkey_path, int take_lock,
                  dbg_audit_verify_result *res, aud_walk_out *o, aud_walk_listing *ls);
int aud_walk_listed(const char *dir, aud_walk_listing *ls, dbg_audit_verify_result *res,
                    aud_walk_out *o);
void aud_walk_listing_free(aud_walk_listing *ls);

/* The streaming verification of a log without an index: every check of aud_walk, reading the
 * segments in pieces of piece_bytes (0 = the default) on all cores. Returns 1 when the whole log
 * verified (res filled exactly as aud_walk fills it), 0 when it did not or could not say (the
 * caller then runs aud_walk, which words the problem), never an error of its own. */
int aud_verify_fast(const char *dir, const char *pubkey_path, size_t piece_bytes,
                    dbg_audit_verify_result *res);

/* ---- the tenant chains (tchain.c) ----
 * What a range of records (in log order) says about tenants, read on any core: its distinct
 * tenants, and per record the index of its tenant (AUD_TC_NONE: provider-only, or not a record's
 * shape) and its tenant_prev. */
#define AUD_TC_NONE UINT32_MAX
typedef struct {
    char *raw;  /* as stored (escaped), for matching records of the range */
    char *name; /* unescaped */
    size_t raw_len;
    uint64_t hash;
} aud_tc_name;
typedef struct {
    aud_tc_name *names;
    size_t n_names, cap_names;
    uint32_t *slots; /* open addressing over names */
    size_t slots_cap;
    uint32_t *tid;
    int64_t *tprev;
    size_t n, cap, cap_prev;
    uint32_t *global; /* names' indices in the log-order state, set by the first aud_tc_apply */
} aud_tc_range;
/* Notes the next record (stored canonical bytes) of the range; -1 only when out of memory. */
int aud_tc_range_add(aud_tc_range *r, const uint8_t *rec, size_t len);
void aud_tc_range_free(aud_tc_range *r);

/* Every tenant's last record so far, in log order. */
struct aud_tc_tenant;
typedef struct {
    struct aud_tc_tenant *v;
    size_t n, cap;
    uint32_t *slots;
    size_t slots_cap;
    uint64_t first;  /* the log's first seq (records below it were pruned) */
    int complete;    /* every tenant with a record is known (not pruned, or a header table) */
    uint32_t *order; /* indexes into v sorted by name hash (of n_order tenants) */
    size_t n_order, cap_order;
    aud_hasher h;
    int have_h;
    /* what the checks passed over, for the output to say (aud_tc_report) */
    uint64_t unlinked;             /* records of a tenant without tenant_prev */
    uint64_t unlinked_after;       /* of those, after one of the same tenant that had it */
    int64_t unlinked_after_first;  /* the first of those (-1: none) */
    uint64_t heads_v1;             /* version 1 heads: no tenant heads to check */
    uint64_t theads_unchecked;     /* version 2 heads not checkable (pruned, no header table) */
    int64_t theads_unchecked_from; /* the size of the first (-1: none) */
    uint64_t tables_checked;       /* later segment headers' tables that held */
    uint64_t tables_unchecked;     /* later segment headers without a table */
    int64_t tables_unchecked_from; /* the first seq of the first of those segments (-1: none) */
} aud_tc;
int aud_tc_init(aud_tc *c, uint64_t first);
void aud_tc_free(aud_tc *c);
/* Takes the first segment's header's "tenants" (each tenant's last record before the segment;
 * NULL: none) as what was pruned; state is aud_header_tenants's. 0 when taken (or none), 1 with
 * why when the table cannot be right (not a map, or an entry that is not a tenant's seq before
 * the segment: no writer writes that, the header was edited), -1 out of memory. */
int aud_tc_load_header(aud_tc *c, const json_t *tenants, int state, char *why, size_t why_size);
/* Checks records [i0, i1) of r (the first of r has seq seq0) in order: each one's tenant_prev
 * names its tenant's previous record (null or a pruned one for the tenant's first here; records
 * without tenant_prev, written before it existed, are not checked but count as the tenant's, and
 * are counted, apart those after a record of the tenant that had it).
 * 0 when all hold, 1 with why and *bad_seq set at the first that does not, -1 out of memory. */
int aud_tc_apply(aud_tc *c, aud_tc_range *r, size_t i0, size_t i1, uint64_t seq0, char *why,
                 size_t why_size, int64_t *bad_seq);
/* Checks the "tenants" of a segment header after the first (aud_header_tenants's result and
 * state) once the records before the segment (first: its first seq) were applied: every entry
 * must be the tenant's last record so far, and every tenant with one must be listed (a tenant
 * pruned away that the log cannot know, having no first header table, is taken on its word).
 * 0 when it holds or there is no table (counted), 1 with why (not naming the segment) when not. */
int aud_tc_check_table(aud_tc *c, const json_t *tenants, int state, uint64_t first, char *why,
                       size_t why_size);
/* Checks a head of the size up to which records were applied: a version 2 head's tenant heads
 * must be the tenants' last records. 0 when they are (or cannot be known: pruned without a
 * header table, and the head has more tenants than the records show; counted), 1 with why when
 * not, -1 out of memory. */
int aud_tc_check_head(aud_tc *c, const aud_sth *s, char *why, size_t why_size);
/* Puts what the checks so far passed over (records without tenant_prev, heads whose tenant heads
 * were not checked) into res, where the output says it. */
void aud_tc_report(const aud_tc *c, dbg_audit_verify_result *res);

#endif
