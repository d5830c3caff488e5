/* The tamper-evident audit log every dengbao part writes to: append-only segments, an RFC 9162
 * Merkle tree over the records, Ed25519-signed tree heads at checkpoints, an SQLite index.
 * Thread-safe; an append returns only once the record is durable (group commit). */
#ifndef DENGBAO_AUDIT_H
#define DENGBAO_AUDIT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t seq;            /* assigned by the log */
    int64_t time_us;         /* assigned by the log when 0 */
    const char *actor;       /* who: "uid:1000(alice)", "CN=ops1,O=provider", "dengbao-guard" */
    const char *role;        /* provider-admin, tenant-admin, system, ... */
    const char *tenant;      /* tenant the target belongs to ("" = provider-only) */
    const char *action;      /* e.g. "vm.delete.intent", "vm.delete.outcome", "alert.unauthorized_vm_start" */
    const char *target_type; /* "domain", "image", "volume", ... */
    const char *target_name;
    const char *target_uuid;
    const char *outcome;     /* "allowed", "denied", "success", "failure", "detected", ... */
    const char *source;      /* source address or "unix:uid=0" */
    const char *details_json; /* a JSON object, or NULL */
} dbg_audit_record;

typedef struct {
    const char *dir;                 /* created on first open */
    const char *key_path;            /* Ed25519 private key (PEM); NULL = unsigned checkpoints refused */
    uint64_t checkpoint_every;       /* records between signed tree heads (0 = default 1000) */
    int64_t checkpoint_interval_us;  /* and/or time between them (0 = default 10 s) */
    uint64_t segment_max_bytes;      /* rotation size (0 = default 64 MiB) */
    int durable;                     /* 1 = fdatasync before acknowledging (default path) */
} dbg_audit_opts;

typedef struct dbg_audit_log dbg_audit_log;

dbg_audit_log *dbg_audit_open(const dbg_audit_opts *opts);
/* Appends rec durably; fills *seq_out. Returns 0 or -1 (dbg_err set); nothing is acknowledged
 * that is not on disk. */
int dbg_audit_append(dbg_audit_log *log, const dbg_audit_record *rec, uint64_t *seq_out);
uint64_t dbg_audit_size(dbg_audit_log *log);
int dbg_audit_checkpoint(dbg_audit_log *log); /* write a signed tree head now */
int dbg_audit_close(dbg_audit_log *log);      /* final checkpoint, then free */

#endif
