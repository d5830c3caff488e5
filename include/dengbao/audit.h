/* The tamper-evident audit log every dengbao part writes to: append-only segments, an RFC 9162
 * Merkle tree over the records, Ed25519-signed tree heads at checkpoints, an SQLite index.
 * Thread-safe; an append returns only once the record is durable (group commit). */
#ifndef DENGBAO_AUDIT_H
#define DENGBAO_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seq;       /* assigned by the log */
    int64_t time_us;    /* assigned by the log when 0 */
    const char *actor;  /* who: "uid:1000(alice)", "CN=ops1,O=provider", "dengbao-guard" */
    const char *role;   /* provider-admin, tenant-admin, system, ... */
    const char *tenant; /* tenant the target belongs to ("" = provider-only) */
    const char
        *action; /* e.g. "vm.delete.intent", "vm.delete.outcome", "alert.unauthorized_vm_start" */
    const char *target_type; /* "domain", "image", "volume", ... */
    const char *target_name;
    const char *target_uuid;
    const char *outcome;      /* "allowed", "denied", "success", "failure", "detected", ... */
    const char *source;       /* source address or "unix:uid=0" */
    const char *details_json; /* a JSON object, or NULL */
} dbg_audit_record;

typedef struct {
    const char *dir;           /* created on first open */
    const char *key_path;      /* Ed25519 private key (PEM); NULL = unsigned checkpoints refused */
    uint64_t checkpoint_every; /* records between signed tree heads (0 = default 1000) */
    int64_t checkpoint_interval_us; /* and/or time between them (0 = default 10 s) */
    uint64_t segment_max_bytes;     /* rotation size (0 = default 64 MiB) */
    int durable;                    /* 1 = fdatasync before acknowledging (default path) */
} dbg_audit_opts;

typedef struct dbg_audit_log dbg_audit_log;

dbg_audit_log *dbg_audit_open(const dbg_audit_opts *opts);
/* Appends rec durably; fills *seq_out. Returns 0 or -1 (dbg_err set); nothing is acknowledged
 * that is not on disk. */
int dbg_audit_append(dbg_audit_log *log, const dbg_audit_record *rec, uint64_t *seq_out);
uint64_t dbg_audit_size(dbg_audit_log *log);
int dbg_audit_checkpoint(dbg_audit_log *log); /* write a signed tree head now */
int dbg_audit_close(dbg_audit_log *log);      /* final checkpoint, then free */

/* ---- additions by the audit module (issue #4) ---- */

/* Appends n records with consecutive seqs and waits once for all of them to be durable: the
 * high-throughput path (one fdatasync for the whole batch, shared with concurrent callers).
 * *first_seq gets the first record's seq. */
int dbg_audit_append_batch(dbg_audit_log *log, const dbg_audit_record *recs, size_t n,
                           uint64_t *first_seq);
/* Bytes of a torn tail cut (and kept in <dir>/torn-*.bin) when this log was opened. */
uint64_t dbg_audit_recovered_bytes(dbg_audit_log *log);
const char *dbg_audit_dir(dbg_audit_log *log);
/* Writes <host_root>/run/dengbao/status/audit_log.json (platform.h's control status contract);
 * a long-running owner of the log calls it at least once a minute. */
int dbg_audit_write_status(dbg_audit_log *log, const char *host_root);
/* The same file as DIR/audit_log.json (`dengbao agent --status-dir DIR`); stopping = 1 for the
 * last write before the log is closed ("ok": false, "state": "stopped"). */
int dbg_audit_write_status_dir(dbg_audit_log *log, const char *status_dir, int stopping);

/* Writes PREFIX.key (Ed25519 private key, PEM, mode 0600) and PREFIX.pub (public key, PEM). */
int dbg_audit_keygen(const char *prefix);

/* Result of verifying a log directory or an export. */
typedef struct {
    int ok;                /* 1 when everything holds */
    uint64_t records;      /* records read */
    uint64_t checkpoints;  /* signed tree heads checked */
    uint64_t bytes;        /* bytes of segments read */
    uint64_t pruned;       /* records before the first remaining segment (pruned) */
    uint64_t unsealed;     /* records after the last signed tree head (a crash, or not yet due) */
    int64_t first_bad_seq; /* -1 when ok, else the first record seq that is wrong or missing */
    char problem[1024];    /* what is wrong (first problem), "" when ok */
    char head[2 * 32 + 1]; /* root of the latest verified tree head (hex) */
    uint64_t head_size;
    uint64_t previous_size; /* verify-export with a previous export: its tree size, else 0 */
    int archive;            /* an export: an archive of all tenants' records (prune) */
    char tenant[256];       /* an export: the tenant it is of ("" for a log or an archive) */
    /* an export of a tenant: records that carry no tenant_prev (written before the log linked
     * each tenant's records to the previous one), and the first seq that does (-1: none). The
     * check that none of the tenant's records were left out covers the export from there on,
     * except just before the unlinked_after of them that follow one that carries it (below).
     * A log: unlinked is the same count over all tenants (linked_from is not set). */
    uint64_t unlinked;
    int64_t linked_from;
    /* an export of a tenant: 1 when its signed tree head names every tenant's last record (the
     * tenant heads, version 2 heads) and the export's last record was checked against the
     * tenant's; 0 when the head predates them. tenant_last: the seq the head names, -1 none. */
    int tenant_heads;
    int64_t tenant_last;
    /* a log (and unlinked_after, _first: an export of a tenant too): what the tenant checks
     * passed over, counted so that the output can say so (each
     * only a note: the log verifies). unlinked (above) counts the records of a tenant that carry
     * no tenant_prev, whose link is not checked; unlinked_after of them follow a record of the
     * same tenant that carries it (a writer older than tenant_prev still appending), the first
     * at seq unlinked_after_first (-1: none). heads_v1: signed tree heads from before the tenant
     * heads (version 1), which sign no tenant's last record. theads_unchecked: version 2 heads
     * whose tenant heads were not checked, the first of size theads_unchecked_from (-1: none):
     * the log was pruned and its first segment header has no tenants table, so who was pruned
     * away is unknown, and these heads name more tenants than the records left show. */
    uint64_t unlinked_after;
    int64_t unlinked_after_first;
    uint64_t heads_v1;
    uint64_t theads_unchecked;
    int64_t theads_unchecked_from;
    /* a log: segment headers after the first whose tenants table (each tenant's last record
     * before the segment, which a prune makes the trusted one) was checked against the records,
     * and those that have none (written before tenant_prev), the first of which starts at seq
     * header_tables_unchecked_from (-1: none). */
    uint64_t header_tables;
    uint64_t header_tables_unchecked;
    int64_t header_tables_unchecked_from;
    /* a log: the size head.json vouches for when it is below the log's first seq (pruned), so
     * that no signed head in the log could match it (-1: none; head.json matched, or failed).
     * Said, not failed (audit.md): it bounds no truncation of the records left. */
    int64_t head_file_unmatched;
    /* an archive: 1 when it carries no signed range (written by a prune from before prune signed
     * the archive's first and last seq), so a record cut from either end is not detected from
     * the file alone; 0 when its range is signed and was checked, and for anything else. */
    uint64_t archive_ends_unchecked;
} dbg_audit_verify_result;

/* Verifies every frame, every record's position (seq), the tree, every signature, the chain of
 * tree heads, head.json, and the SQLite index against the segments. pubkey_path NULL = the key
 * kept in the log directory (log.pub). Returns 0 when the check ran (look at res->ok), -1 when it
 * could not run (no such log, unreadable key). */
int dbg_audit_verify(const char *dir, const char *pubkey_path, dbg_audit_verify_result *res);

/* What dbg_audit_restart did. */
typedef struct {
    dbg_audit_verify_result previous; /* the old log's verification (why it was restarted) */
    char moved_to[4096];              /* where the old log now is ("" when not moved) */
    int tenants_complete; /* every segment of the old log was walked for its records' tenants */
    size_t n_tenants;                 /* tenants given a notice in the new log */
    size_t n_suspect; /* of them, read only from records whose checksum fails (maybe altered) */
    int64_t first_seq;                /* the new log's first restart record (-1: none) */
    size_t records;                   /* restart records written: 1 + n_tenants */
} dbg_audit_restart_result;
/* For a log that no longer verifies with its key (key_path must be the one log.pub names):
 * renames DIR to DIR.damaged-<UTC time> as it is, and starts a new log in DIR with one record
 * audit.log_restarted for the provider and one for each tenant of the old log (read from its segments),
 * carrying the reason, where the old log went and how far it verified. Refuses, moving nothing,
 * while any writer has DIR open, when DIR verifies, or with another key (DBG_ERR_INVALID). */
int dbg_audit_restart(const char *dir, const char *key_path, const char *actor,
                      const char *source, const char *reason, dbg_audit_restart_result *res);

/* Query filters; NULL/0 = any. */
typedef struct {
    const char *tenant;
    const char *actor;
    const char *action; /* exact, or prefix when it ends with '*' */
    const char *target; /* matches target name or uuid */
    int64_t since_us, until_us;
    uint64_t limit; /* 0 = no limit */
} dbg_audit_query_opts;
/* Brings the index up to date, then returns a JSON array (text) of the matching stored records
 * in seq order. */
char *dbg_audit_query(const char *dir, const dbg_audit_query_opts *q);
/* Rebuilds the SQLite index from the segments. */
int dbg_audit_reindex(const char *dir);
/* Indexes records appended since the last call (done by query/prove/export automatically). */
int dbg_audit_index_sync(const char *dir);

/* Inclusion proof of record seq against the latest signed tree head, as JSON text:
 * {"seq","leaf_index","tree_size","leaf_hash","proof":[hex..],"record":{..},"sth":{..}}. */
char *dbg_audit_prove(const char *dir, uint64_t seq);
/* Consistency proof between tree sizes old and new (RFC 9162 §2.1.4), as JSON text with both roots.
 */
char *dbg_audit_consistency(const char *dir, uint64_t old_size, uint64_t new_size);
/* Writes tenant's records, each with an inclusion proof, and the signed tree head they are proved
 * against into out_path (one JSON document). No other tenant's data is in it. */
int dbg_audit_export(const char *dir, const char *tenant, const char *out_path);
/* The log's public key (DIR/log.pub) as PEM text (malloc'd; only the public half, whatever the
 * file holds) and its key_id (hex SHA-256 of the raw key, as in every signed tree head), for a
 * tenant who verifies exports and has no access to the log directory. NULL on error. */
char *dbg_audit_public_key(const char *dir, char key_id[2 * 32 + 1]);
/* Checks an export offline with only the public key. */
int dbg_audit_verify_export(const char *path, const char *pubkey_path,
                            dbg_audit_verify_result *res);
/* As dbg_audit_export, and the export also carries an RFC 9162 consistency proof from tree size
 * since_size (an earlier export's) to the signed tree head it is proved against. */
int dbg_audit_export_since(const char *dir, const char *tenant, uint64_t since_size,
                           const char *out_path);
/* What an export holds, and what it cannot hold yet: records appended after the latest signed
 * tree head (since the writer's last checkpoint) have no proof, so they are left out. */
typedef struct {
    uint64_t records;   /* the tenant's records in the export */
    uint64_t tree_size; /* the size of the signed tree head they are proved against */
    uint64_t pending;   /* the tenant's records after that head, not in the export */
} dbg_audit_export_info;
/* dbg_audit_export (since_size NULL) or dbg_audit_export_since, and what the export holds
 * (info may be NULL). */
int dbg_audit_export_ex(const char *dir, const char *tenant, const uint64_t *since_size,
                        const char *out_path, dbg_audit_export_info *info);
/* Tree size of the signed tree head in an export file (for export --since OLD_EXPORT). */
int dbg_audit_export_tree_size(const char *path, uint64_t *size);
/* As dbg_audit_verify_export; with previous_path (an earlier export the tenant kept), also checks
 * that export with the same key and that the log behind the new export extends the one behind the
 * earlier (the new export's consistency proof from the earlier size, against the earlier signed
 * root). A rewritten or forked log fails here even when it is signed with the same key.
 * res->previous_size gets the earlier export's tree size. */
int dbg_audit_verify_export_since(const char *path, const char *previous_path,
                                  const char *pubkey_path, dbg_audit_verify_result *res);

/* Retention: removes whole segments whose records are all older than before_us, only after their
 * records (all tenants') were written with proofs to one archive file in export_dir and that
 * archive verified. key_path is the log's Ed25519 private key (the one its writers sign with): it
 * signs the archive's range, its first and last seq, so that a record cut from either end of the
 * archive shows. The next segment's header keeps the frontier, so the remaining log still
 * verifies. *removed = records dropped. */
int dbg_audit_prune(const char *dir, int64_t before_us, const char *export_dir,
                    const char *key_path, uint64_t *removed);

#endif
