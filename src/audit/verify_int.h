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

#endif
