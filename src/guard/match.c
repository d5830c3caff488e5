/* The guard's pure core: what a libvirt event means, which gateway operations explain it,
 * which alert an unexplained one raises, and the alert itself. No I/O here. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/guard.h"
#include "dengbao/util.h"
#include "platform/virt_lazy.h"

dbg_guard_kind dbg_guard_classify(int event, int detail)
{
    if (event == DBG_GUARD_REBOOT_EVENT)
        return DBG_GEV_RESTART;
    switch (event) {
    case VIR_DOMAIN_EVENT_DEFINED:
        switch (detail) {
        case VIR_DOMAIN_EVENT_DEFINED_ADDED:
            return DBG_GEV_CREATE;
        case VIR_DOMAIN_EVENT_DEFINED_UPDATED:
        case VIR_DOMAIN_EVENT_DEFINED_RENAMED:
        case VIR_DOMAIN_EVENT_DEFINED_FROM_SNAPSHOT:
            return DBG_GEV_REDEFINE;
        default:
            return DBG_GEV_OTHER;
        }
    case VIR_DOMAIN_EVENT_UNDEFINED:
        return detail == VIR_DOMAIN_EVENT_UNDEFINED_REMOVED ? DBG_GEV_DELETE : DBG_GEV_OTHER;
    case VIR_DOMAIN_EVENT_STARTED:
        return DBG_GEV_START;
    case VIR_DOMAIN_EVENT_RESUMED:
        return DBG_GEV_RESUME;
    case VIR_DOMAIN_EVENT_SUSPENDED:
        return DBG_GEV_SUSPEND;
    case VIR_DOMAIN_EVENT_STOPPED:
        return detail == VIR_DOMAIN_EVENT_STOPPED_DESTROYED ? DBG_GEV_DESTROY : DBG_GEV_STOP;
    default:
        return DBG_GEV_OTHER;
    }
}

const char *dbg_guard_event_name(int event, int detail)
{
    static const char *const defined[] = {"defined/added", "defined/updated", "defined/renamed",
                                          "defined/from_snapshot"};
    static const char *const started[] = {"started/booted", "started/migrated",
                                          "started/restored", "started/from_snapshot",
                                          "started/wakeup"};
    static const char *const stopped[] = {"stopped/shutdown", "stopped/destroyed",
                                          "stopped/crashed", "stopped/migrated", "stopped/saved",
                                          "stopped/failed", "stopped/from_snapshot"};
    static const char *const resumed[] = {"resumed/unpaused", "resumed/migrated",
                                          "resumed/from_snapshot", "resumed/postcopy",
                                          "resumed/postcopy_failed"};
#define PICK(arr, fallback)                                                                       \
    ((detail >= 0 && (size_t)detail < sizeof(arr) / sizeof(arr[0])) ? arr[detail] : fallback)
    switch (event) {
    case DBG_GUARD_REBOOT_EVENT: return "reboot";
    case VIR_DOMAIN_EVENT_DEFINED: return PICK(defined, "defined");
    case VIR_DOMAIN_EVENT_UNDEFINED: return detail == 0 ? "undefined/removed" : "undefined";
    case VIR_DOMAIN_EVENT_STARTED: return PICK(started, "started");
    case VIR_DOMAIN_EVENT_STOPPED: return PICK(stopped, "stopped");
    case VIR_DOMAIN_EVENT_RESUMED: return PICK(resumed, "resumed");
    case VIR_DOMAIN_EVENT_SUSPENDED: return "suspended";
    case VIR_DOMAIN_EVENT_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_EVENT_PMSUSPENDED: return "pmsuspended";
    case VIR_DOMAIN_EVENT_CRASHED: return "crashed";
    default: return "other";
    }
#undef PICK
}

unsigned dbg_guard_authorizing_ops(dbg_guard_kind k)
{
    switch (k) {
    case DBG_GEV_CREATE: return DBG_OP_BIT(DBG_OP_CREATE);
    case DBG_GEV_START:
        /* Only a start: the gateway's snapshot (create, flags 0) and migration never start the
         * VM here (a migration's STARTED is the destination's), so letting them explain one hid
         * a start behind the gateway's back just after either. */
        return DBG_OP_BIT(DBG_OP_START);
    case DBG_GEV_RESUME:
        /* libvirt resumes CPUs as part of start, snapshots, migration and resets too. */
        return DBG_OP_BIT(DBG_OP_RESUME) | DBG_OP_BIT(DBG_OP_START) | DBG_OP_BIT(DBG_OP_SNAPSHOT) |
               DBG_OP_BIT(DBG_OP_MIGRATE) | DBG_OP_BIT(DBG_OP_RESET) | DBG_OP_BIT(DBG_OP_REBOOT);
    case DBG_GEV_REDEFINE:
        /* The gateway replaces no definition: its create refuses a name or uuid in use. */
        return 0;
    case DBG_GEV_RESTART: return DBG_OP_BIT(DBG_OP_REBOOT) | DBG_OP_BIT(DBG_OP_RESET);
    case DBG_GEV_DELETE: return DBG_OP_BIT(DBG_OP_DELETE);
    case DBG_GEV_DESTROY: return DBG_OP_BIT(DBG_OP_DESTROY) | DBG_OP_BIT(DBG_OP_DELETE);
    case DBG_GEV_STOP:
        return DBG_OP_BIT(DBG_OP_SHUTDOWN) | DBG_OP_BIT(DBG_OP_MIGRATE) |
               DBG_OP_BIT(DBG_OP_DESTROY) | DBG_OP_BIT(DBG_OP_DELETE);
    case DBG_GEV_SUSPEND:
        return DBG_OP_BIT(DBG_OP_SUSPEND) | DBG_OP_BIT(DBG_OP_SNAPSHOT) |
               DBG_OP_BIT(DBG_OP_MIGRATE);
    default: return 0;
    }
}

unsigned dbg_guard_resume_ops(int detail, int paused, unsigned *own_ops)
{
    *own_ops = 0;
    switch (detail) {
    case VIR_DOMAIN_EVENT_RESUMED_FROM_SNAPSHOT:
        /* qemu's resume after a restore (a start from a managed save image: started/restored,
         * then this) or a revert. The gateway reverts nothing: only its start, of a VM that no
         * SUSPENDED paused. */
        return paused ? 0 : DBG_OP_BIT(DBG_OP_START);
    case VIR_DOMAIN_EVENT_RESUMED_MIGRATED:
    case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY:
    case VIR_DOMAIN_EVENT_RESUMED_POSTCOPY_FAILED:
        /* a migration that failed or was cancelled on the source resumes what it paused */
        if (paused) {
            *own_ops = DBG_OP_BIT(DBG_OP_MIGRATE);
            return 0;
        }
        return DBG_OP_BIT(DBG_OP_MIGRATE);
    default:
        /* An unpause. Of a paused VM, only the gateway's resume, or the snapshot that paused it
         * itself (qemu gives that pause and resume the plain paused/unpaused details): a
         * snapshot, reset or reboot of a paused VM leaves it paused (qemu), so none of them
         * explains a resume by hand after it. A VM no SUSPENDED paused resumes as part of its
         * boot (start) or of a reboot the guest carried out. */
        if (paused) {
            *own_ops = DBG_OP_BIT(DBG_OP_SNAPSHOT);
            return DBG_OP_BIT(DBG_OP_RESUME);
        }
        return dbg_guard_authorizing_ops(DBG_GEV_RESUME);
    }
}

const char *dbg_guard_alert_type(dbg_guard_kind k)
{
    switch (k) {
    case DBG_GEV_CREATE: return "unauthorized_vm_create";
    case DBG_GEV_START:
    case DBG_GEV_RESUME: return "unauthorized_vm_start";
    case DBG_GEV_RESTART: return "unauthorized_vm_restart";
    case DBG_GEV_DELETE: return "unaudited_vm_delete";
    case DBG_GEV_DESTROY: return "unaudited_vm_destroy";
    case DBG_GEV_REDEFINE: return "unauthorized_vm_redefine";
    default: return NULL; /* guest shutdowns and pauses need no authorization */
    }
}

#define KIND_BIT(k) (1u << (k))
unsigned dbg_guard_closed_kinds(dbg_guard_kind k)
{
    switch (k) {
    case DBG_GEV_STOP:
    case DBG_GEV_DESTROY:
        /* the VM stopped: a start, resume or reboot after this is of a new run */
        return KIND_BIT(DBG_GEV_START) | KIND_BIT(DBG_GEV_RESUME) | KIND_BIT(DBG_GEV_RESTART) |
               KIND_BIT(DBG_GEV_DESTROY);
    case DBG_GEV_START:
    case DBG_GEV_RESUME: return KIND_BIT(DBG_GEV_DESTROY);
    case DBG_GEV_SUSPEND: return KIND_BIT(DBG_GEV_RESUME);
    case DBG_GEV_CREATE: return KIND_BIT(DBG_GEV_DELETE);
    case DBG_GEV_DELETE: return KIND_BIT(DBG_GEV_CREATE);
    default: return 0;
    }
}
#undef KIND_BIT

int dbg_guard_evaluate(dbg_gw_ledger *ledger, const dbg_guard_change *c, const dbg_gw_window *w,
                       const char **alert_type, char actor[300], uint64_t *auth_id)
{
    *alert_type = NULL;
    if (actor)
        actor[0] = 0;
    if (auth_id)
        *auth_id = 0;
    const char *type = dbg_guard_alert_type(c->kind);
    unsigned own = 0;
    unsigned ops = c->kind == DBG_GEV_RESUME ? dbg_guard_resume_ops(c->detail, c->vm.paused, &own)
                                             : dbg_guard_authorizing_ops(c->kind);
    uint64_t by = 0;
    int explained = ledger && ops &&
                    dbg_gw_ledger_match(ledger, c->vm.uuid, ops, (int)c->kind, c->time_us, w,
                                        actor, &by);
    if (!explained && ledger && own && c->vm.paused_by &&
        dbg_gw_ledger_match_first(ledger, c->vm.paused_by, c->vm.uuid, own, (int)c->kind,
                                  c->time_us, w, actor)) {
        explained = 1;
        by = c->vm.paused_by;
    }
    if (explained && auth_id)
        *auth_id = by;
    unsigned closes = dbg_guard_closed_kinds(c->kind);
    if (ledger && closes)
        dbg_gw_ledger_close(ledger, c->vm.uuid, closes, by);
    /* The VM runs again: a snapshot or migration whose call was over by then paused it before
     * this, if ever, so a pause after this is none of theirs (a pause by hand inside a
     * snapshot's window of a VM it found paused made it the resume's explanation). */
    if (ledger && c->kind == DBG_GEV_RESUME)
        dbg_gw_ledger_close_finished(ledger, c->vm.uuid, 1u << DBG_GEV_SUSPEND, by, c->time_us);
    if (explained)
        return 0;
    if (!type)
        return 0;
    *alert_type = type;
    return 1;
}

void dbg_guard_make_alert(const dbg_guard_change *c, const char *type, dbg_alert *a,
                          char *evidence, size_t evsz, char *extra, size_t exsz)
{
    memset(a, 0, sizeof(*a));
    int64_t now = dbg_now_us();
    a->time_us = now;
    a->first_us = a->last_us = c->time_us;
    snprintf(a->type, sizeof(a->type), "%s", type);
    /* a definition replaced behind the gateway is how a VM is re-enabled on another disk or
     * network: the next start, even an authorized one, runs what nobody authorized */
    int create_or_start = c->kind == DBG_GEV_CREATE || c->kind == DBG_GEV_START ||
                          c->kind == DBG_GEV_RESUME || c->kind == DBG_GEV_REDEFINE;
    snprintf(a->category, sizeof(a->category), "%s",
             create_or_start ? "Unauthorized VM creation or re-enabling"
                             : "Privileged VM operation outside the audited path");
    a->severity = create_or_start || c->kind == DBG_GEV_DELETE ? DBG_SEV_HIGH : DBG_SEV_MEDIUM;
    snprintf(a->clause, sizeof(a->clause), "%s", create_or_start ? "8.2.4.3b" : "8.2.3.3a");
    a->src.port = a->dst.port = -1; /* no network endpoint: a VM lifecycle alert */
    /* A 128-byte VM name does not fit: cut it between characters so it stays valid UTF-8. */
    dbg_utf8_copy(a->dst.vm_name, sizeof(a->dst.vm_name), c->vm.name);
    snprintf(a->dst.vm_uuid, sizeof(a->dst.vm_uuid), "%s", c->vm.uuid);
    dbg_utf8_copy(a->dst.tenant, sizeof(a->dst.tenant), c->vm.tenant);
    a->count = 1;
    char when[40];
    dbg_time_rfc3339(c->time_us, when, sizeof(when));
    snprintf(evidence, evsz, "%s %s of VM %s (uuid %s, tenant %s) at %s: no authorization found "
             "in the gateway's records", c->from_reconcile ? "reconciliation found" : "event",
             c->event, c->vm.name, c->vm.uuid, c->vm.tenant[0] ? c->vm.tenant : "-", when);
    evidence[dbg_utf8_prefix(evidence, evsz)] = '\0';
    a->evidence = evidence;
    json_t *x = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "vm", c->vm.name, "uuid", c->vm.uuid,
                          "tenant", c->vm.tenant, "event", c->event, "event_time", when,
                          "authorization", "no authorization found", "detection",
                          c->from_reconcile ? "reconcile" : "event");
    char *s = x ? json_dumps(x, JSON_COMPACT) : NULL;
    snprintf(extra, exsz, "%s", s ? s : "{}");
    free(s);
    json_decref(x);
    a->extra_json = extra;
}
