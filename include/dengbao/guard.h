/* The VM lifecycle guard: subscribes to libvirt lifecycle and reboot events, reconciles the
 * domain list against its last durable view on start and after every reconnect, matches every
 * change against the gateway's authorization ledger, and raises an alert plus an audit record
 * for each one nothing authorized: unauthorized_vm_create, unauthorized_vm_start,
 * unauthorized_vm_restart, unaudited_vm_delete, unaudited_vm_destroy,
 * unauthorized_vm_redefine. */
#ifndef DENGBAO_GUARD_H
#define DENGBAO_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "dengbao/alert.h"
#include "dengbao/gateway.h"

/* What a libvirt event means for authorization. */
typedef enum {
    DBG_GEV_OTHER = 0, /* crash, guest shutdown, pmsuspend ...: no authorization needed */
    DBG_GEV_CREATE,    /* DEFINED/ADDED, or a transient domain STARTED that was never defined */
    DBG_GEV_START,     /* STARTED (booted, restored, from snapshot, wakeup, migrated in) */
    DBG_GEV_RESUME,    /* RESUMED: a paused VM re-enabled */
    DBG_GEV_RESTART,   /* VIR_DOMAIN_EVENT_ID_REBOOT */
    DBG_GEV_DELETE,    /* UNDEFINED */
    DBG_GEV_DESTROY,   /* STOPPED/DESTROYED */
    DBG_GEV_STOP,      /* STOPPED otherwise (guest shutdown, saved, migrated out, failed) */
    DBG_GEV_SUSPEND,   /* SUSPENDED */
    DBG_GEV_REDEFINE,  /* DEFINED/UPDATED, RENAMED, FROM_SNAPSHOT: a definition replaced */
    DBG_GEV__COUNT
} dbg_guard_kind;

#define DBG_GUARD_REBOOT_EVENT (-1) /* `event` value for VIR_DOMAIN_EVENT_ID_REBOOT */

/* (lifecycle event, detail) or (DBG_GUARD_REBOOT_EVENT, 0) -> kind. */
dbg_guard_kind dbg_guard_classify(int event, int detail);
/* "started/booted", "reboot", "undefined/removed" ... (static string). */
const char *dbg_guard_event_name(int event, int detail);
/* Gateway operations that explain an event of this kind (bit mask of DBG_OP_BIT); for a
 * RESUMED, the most any resume allows (dbg_guard_resume_ops narrows it). */
unsigned dbg_guard_authorizing_ops(dbg_guard_kind k);
/* Gateway operations that explain a RESUMED with this detail (virDomainEventResumedDetailType)
 * of a VM that `paused` (dbg_guard_vm.paused) or not; *own_ops: those that explain it only as
 * the very operation that paused it (dbg_guard_vm.paused_by). */
unsigned dbg_guard_resume_ops(int detail, int paused, unsigned *own_ops);
/* The event kinds (as bits 1 << kind) an event of kind k ends: after a stop, an earlier
 * operation's start no longer explains a start (dbg_gw_ledger_close). */
unsigned dbg_guard_closed_kinds(dbg_guard_kind k);
/* Alert type raised when nothing explains an event of this kind; NULL = none needed. */
const char *dbg_guard_alert_type(dbg_guard_kind k);

/* One VM as the guard last saw it. */
typedef enum { DBG_VM_OFF = 0, DBG_VM_RUNNING = 1, DBG_VM_PAUSED = 2 } dbg_vm_state;
typedef struct {
    char uuid[37];
    char name[DBG_GW_NAME_MAX + 1];
    char tenant[64];
    dbg_vm_state state;
    int persistent;
    /* From the events in their order (state is read when an event is handled and can be ahead
     * of it): 1 from a SUSPENDED event, or a paused state found without one (reconciliation,
     * the state file), to the next RESUMED, STARTED or STOPPED. paused_by: the ledger id of the
     * gateway operation that explained that SUSPENDED (0 = none). Not saved: the ledger is in
     * memory too. */
    int paused;
    uint64_t paused_by;
} dbg_guard_vm;

typedef struct {
    dbg_guard_vm *vms;
    size_t n, cap;
    int64_t saved_us;
} dbg_guard_view;

void dbg_guard_view_clear(dbg_guard_view *v);
dbg_guard_vm *dbg_guard_view_find(dbg_guard_view *v, const char *uuid);
/* Adds or replaces (by uuid). */
int dbg_guard_view_put(dbg_guard_view *v, const dbg_guard_vm *vm);
void dbg_guard_view_remove(dbg_guard_view *v, const char *uuid);
/* Durable state file (JSON, written atomically). load: 1 = loaded, 0 = no file, -1 = error. */
int dbg_guard_view_save(const dbg_guard_view *v, const char *path);
int dbg_guard_view_load(dbg_guard_view *v, const char *path);

/* A change the guard must explain: from an event or from reconciliation. */
typedef struct {
    dbg_guard_kind kind;
    dbg_guard_vm vm;
    int64_t time_us;      /* when it happened (event receipt, or reconciliation time) */
    char event[64];       /* "started/booted", "reboot", "reconcile: shutoff -> running" */
    int detail;           /* libvirt's event detail; 0 from reconciliation */
    int from_reconcile;
} dbg_guard_change;

/* Differences between the last durable view and the domains now: created, deleted,
 * (re)started. Appends to *out (caller frees *out). */
int dbg_guard_view_diff(const dbg_guard_view *old_view, const dbg_guard_view *now_view,
                        int64_t now_us, dbg_guard_change **out, size_t *n_out);

/* Matches one change against the ledger. Returns 1 when an alert is due and fills alert_type;
 * 0 when authorized (actor copied, and *auth_id = the authorization's ledger id when auth_id is
 * not NULL; else 0) or no authorization is needed. */
int dbg_guard_evaluate(dbg_gw_ledger *ledger, const dbg_guard_change *c, const dbg_gw_window *w,
                       const char **alert_type, char actor[300], uint64_t *auth_id);

/* Builds the alert for an unexplained change (type, severity, clause, VM, tenant, evidence). The
 * strings extra_json/evidence point into buffers the caller gives. */
void dbg_guard_make_alert(const dbg_guard_change *c, const char *type, dbg_alert *a,
                          char *evidence, size_t evsz, char *extra, size_t exsz);

/* ---- the running guard ---- */
typedef int (*dbg_guard_alert_fn)(void *ctx, const dbg_alert *a);

typedef struct {
    const char *uri;
    const char *state_path;      /* durable view; its directory is created */
    dbg_gw_ledger *ledger;       /* borrowed */
    dbg_gw_audit_fn audit;
    void *audit_ctx;
    dbg_guard_alert_fn alert;
    void *alert_ctx;
    dbg_gw_window window;        /* zeros = defaults (skew 1 s, grace 10 s, in flight 300 s) */
    int reconnect_ms;            /* 0 = 1000 */
    /* Verify the sealed disks of every VM seen starting (event or reconciliation); a mismatch
     * raises image_integrity_mismatch (8.2.4.4b). Detection only: the VM is already running
     * when libvirt reports the start (the gateway's `vm start` refuses before it). Hashing
     * runs in its own thread, so it never delays event handling. NULL = off. Borrowed. */
    const dbg_gw_integrity *integrity;
} dbg_guard_opts;

typedef struct {
    uint64_t events, alerts, authorized, reconciles, reconnects;
    uint64_t disk_checks, disk_alerts; /* start-time seal verifications, and mismatches among them */
    int connected;
    uint64_t latency_n;          /* event receipt -> alert handed to the sinks */
    int64_t latency_p50_us, latency_p99_us, latency_max_us;
} dbg_guard_stats;

typedef struct dbg_guard dbg_guard;
/* Registers libvirt's default event loop (once per process; must precede any virConnectOpen
 * whose events are wanted). dbg_guard_start calls it; call it earlier if the process opens
 * other connections first. */
int dbg_guard_event_loop_init(void);
/* Connects, reconciles, subscribes, and runs the event loop in its own thread. */
dbg_guard *dbg_guard_start(const dbg_guard_opts *o);
void dbg_guard_stop(dbg_guard *g);
void dbg_guard_get_stats(dbg_guard *g, dbg_guard_stats *out);

#endif
