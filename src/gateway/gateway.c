/* The gateway core: one request from an authenticated caller -> decision -> durable intent
 * record -> libvirt call -> outcome record -> response. A denied or malformed request is
 * audited too; an operation whose intent record is not durable is not run. */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "dengbao/gateway.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"
#include "platform/virt_lazy.h"

struct dbg_gateway {
    char *uri;
    const dbg_gw_policy *policy;
    dbg_gw_ledger *ledger;
    dbg_gw_tickets *tickets;
    dbg_gw_audit_fn audit;
    void *audit_ctx;
    pthread_mutex_t conn_mu;
    virConnectPtr conn;
    uint64_t requests;
    gw_libvirt_call_fn libvirt_call; /* tests: in place of libvirt's call (gateway_int.h) */
    void *libvirt_call_ctx;
};


dbg_gateway *dbg_gateway_new(const dbg_gw_opts *o)
{
    dbg_gateway *gw = dbg_calloc(1, sizeof(*gw));
    if (!gw)
        return NULL;
    pthread_mutex_init(&gw->conn_mu, NULL);
    gw->policy = o->policy;
    gw->ledger = o->ledger;
    gw->audit = o->audit;
    gw->audit_ctx = o->audit_ctx;
    if (!(gw->uri = dbg_strdup(o->uri ? o->uri : "qemu:///system")) ||
        !(gw->tickets = dbg_gw_tickets_new(o->ticket_ttl_us)) ||
        (o->tickets_path && dbg_gw_tickets_persist(gw->tickets, o->tickets_path) != 0))
        goto fail;
    dbg_libvirt_quiet(); /* errors are read with virGetLastErrorMessage where they happen */
    if (!(gw->conn = virConnectOpen(gw->uri))) {
        dbg_err_set(DBG_ERR_LIBVIRT, "gateway: cannot connect to %s: %s", gw->uri,
                    virGetLastErrorMessage());
        goto fail;
    }
    return gw;
fail:
    dbg_gateway_free(gw);
    return NULL;
}

void dbg_gateway_free(dbg_gateway *gw)
{
    if (!gw)
        return;
    if (gw->conn)
        virConnectClose(gw->conn);
    dbg_gw_tickets_free(gw->tickets);
    free(gw->uri);
    pthread_mutex_destroy(&gw->conn_mu);
    free(gw);
}

void gw_set_libvirt_call(dbg_gateway *gw, gw_libvirt_call_fn fn, void *ctx)
{
    gw->libvirt_call = fn;
    gw->libvirt_call_ctx = ctx;
}

uint64_t dbg_gateway_requests(const dbg_gateway *gw)
{
    return __atomic_load_n(&gw->requests, __ATOMIC_RELAXED);
}

/* Returns a referenced connection, reconnecting when the daemon went away. */
static virConnectPtr get_conn(dbg_gateway *gw)
{
    dbg_libvirt_quiet(); /* this request's thread: the test driver parses XML in it */
    pthread_mutex_lock(&gw->conn_mu);
    if (gw->conn && virConnectIsAlive(gw->conn) != 1) {
        virConnectClose(gw->conn);
        gw->conn = NULL;
    }
    if (!gw->conn)
        gw->conn = virConnectOpen(gw->uri);
    virConnectPtr c = gw->conn;
    if (c)
        virConnectRef(c);
    else
        dbg_err_set(DBG_ERR_LIBVIRT, "cannot connect to %s: %s", gw->uri,
                    virGetLastErrorMessage());
    pthread_mutex_unlock(&gw->conn_mu);
    return c;
}

/* ---- audit ---- */
typedef struct {
    const dbg_gw_identity *id;
    const char *role, *tenant;  /* VM's tenant */
    const char *action, *outcome;
    const char *vm, *uuid;
    json_t *details;            /* borrowed */
} rec_args;

static int audit_rec(dbg_gateway *gw, const rec_args *a, uint64_t *seq)
{
    dbg_audit_record rec;
    memset(&rec, 0, sizeof(rec));
    DBG_AUTOFREE char *details = a->details ? json_dumps(a->details, JSON_COMPACT) : NULL;
    rec.actor = a->id->actor;
    rec.role = a->role && a->role[0] ? a->role : "unknown";
    rec.tenant = a->tenant ? a->tenant : "";
    rec.action = a->action;
    rec.target_type = "domain";
    rec.target_name = a->vm ? a->vm : "";
    rec.target_uuid = a->uuid ? a->uuid : "";
    rec.outcome = a->outcome;
    rec.source = a->id->source;
    rec.details_json = details;
    uint64_t s = 0;
    if (!gw->audit) {
        dbg_err_set(DBG_ERR_INTERNAL, "gateway has no audit log");
        return -1;
    }
    if (gw->audit(gw->audit_ctx, &rec, &s) != 0)
        return -1;
    if (seq)
        *seq = s;
    return 0;
}

void dbg_gateway_audit_refusal(dbg_gateway *gw, const char *source, const char *actor,
                               const char *reason)
{
    dbg_gw_identity id;
    memset(&id, 0, sizeof(id));
    snprintf(id.actor, sizeof(id.actor), "%s", actor && actor[0] ? actor : "unauthenticated");
    snprintf(id.source, sizeof(id.source), "%s", source ? source : "?");
    json_t *d = json_pack("{s:s}", "reason", reason ? reason : "");
    rec_args a = {&id, "unknown", "", "gateway.connect", "denied", "", "", d};
    if (audit_rec(gw, &a, NULL) != 0)
        dbg_warn("gateway: could not audit a refused connection from %s: %s", id.source,
                 dbg_err_msg());
    json_decref(d);
}

/* ---- responses ---- */
/* A create whose name or uuid a VM the caller may not see has: it learns no more than this. */
#define GW_TAKEN_UNSEEN                                                                           \
    "the name or uuid in the XML is already taken: create defines a new VM and does not "        \
    "replace one"

static char *respond(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        s = dbg_strdup("{\"ok\":false,\"status\":\"error\",\"error\":\"out of memory\"}");
    return s;
}

static char *respond_error(const char *status, const char *msg, const char *rule)
{
    json_t *o = json_pack("{s:b,s:s,s:s}", "ok", 0, "status", status, "error", msg ? msg : "");
    if (o && rule && rule[0])
        json_object_set_new(o, "rule", json_string(rule));
    return respond(o);
}

/* A create refused because its XML names an existing VM or another VM's disk (t is that VM).
 * The VM's name, uuid and owner go to an identity that may see it; another tenant, or a tenant
 * naming the provider's VM, learns only that the name or uuid is taken, or that the disk is a
 * VM's it may not see (the audit record keeps the detail, under the VM's tenant). A refusal,
 * as a policy's or an integrity check's: status "refused" (exit 1 in `dengbao vm`). */
typedef struct target target;
static char *respond_taken(const dbg_gateway *gw, const dbg_gw_identity *id, const target *t,
                           const char *detail);

/* ---- target resolution ---- */
struct target {
    char name[DBG_GW_NAME_MAX + 1];
    char uuid[37];
    char tenant[64];
    char *xml;        /* create: the XML to define (with uuid) */
    virDomainPtr dom;
    int found;        /* the VM the request named exists (tenant read), even when refused */
    char shown[1200]; /* create refused for a disk: what the requester is told (the record's
                       * reason may name a VM it may not see) */
    char xml_name[DBG_GW_NAME_MAX + 1], xml_tenant[64]; /* create: what its XML claims */
    int prepared;     /* create: the XML was read (xml_name, xml_tenant set) */
};

static char *respond_taken(const dbg_gateway *gw, const dbg_gw_identity *id, const target *t,
                           const char *detail)
{
    if (t->shown[0])
        return respond_error("refused", t->shown, NULL);
    if (dbg_gw_policy_may_see(gw->policy, id, t->tenant))
        return respond_error("refused", detail, NULL);
    return respond_error("refused", GW_TAKEN_UNSEEN, NULL);
}

/* The answer to a request naming a VM that does not exist, and to one naming a VM its
 * caller may not see (another tenant's, or the provider's for a tenant): the same words and
 * status, so that a tenant cannot tell another tenant's VM from no VM at all. An identity
 * that is not in the policy is told so instead, in both cases alike. */
static char *respond_no_such_vm(const dbg_gateway *gw, const dbg_gw_identity *id, const char *vm)
{
    char role[32], tenant[64];
    if (dbg_gw_policy_identify(gw->policy, id, role, tenant) != 0) {
        dbg_gw_decision d;
        dbg_gw_policy_decide(gw->policy, id, DBG_OP_LIST, "", "", &d);
        return respond_error("denied", d.reason, d.rule);
    }
    char msg[200];
    snprintf(msg, sizeof(msg), GW_NO_SUCH_VM, vm);
    return respond_error("error", msg, NULL);
}

static void target_clear(target *t)
{
    free(t->xml);
    if (t->dom)
        virDomainFree(t->dom);
    memset(t, 0, sizeof(*t));
}

static int lookup_target(virConnectPtr c, const char *vm, target *t)
{
    virDomainPtr d = NULL;
    if (strlen(vm) == 36 && vm[8] == '-')
        d = virDomainLookupByUUIDString(c, vm);
    if (!d)
        d = virDomainLookupByName(c, vm);
    if (!d) {
        dbg_err_set(DBG_ERR_NOTFOUND, GW_NO_SUCH_VM, vm);
        return -1;
    }
    t->dom = d;
    t->found = 1;
    /* the tenant first: whether the caller may hear about this VM at all depends on it */
    virDomainGetUUIDString(d, t->uuid);
    char *xml = virDomainGetXMLDesc(d, 0);
    if (xml) {
        if (dbg_gw_domain_tenant(xml, t->tenant) != 0)
            t->tenant[0] = 0;
        free(xml);
    }
    const char *name = virDomainGetName(d);
    if (!name || strlen(name) >= sizeof(t->name)) {
        /* a shortened name would be matched against the policy's filters ("*-prod") */
        dbg_err_set(DBG_ERR_LIMIT, "VM '%.40s...' has a name longer than %d bytes; the gateway "
                    "does not act on it", name ? name : "", DBG_GW_NAME_MAX);
        virDomainFree(d);
        t->dom = NULL;
        return -1;
    }
    snprintf(t->name, sizeof(t->name), "%s", name);
    return 0;
}

/* The disks of every defined VM with their owners, read once per request that needs them
 * (each domain's XML parsed once, each pool volume resolved to its path once). */
typedef struct {
    dbg_gw_disk *d;
    size_t *vm; /* vm[i]: index in names and tenants of the VM disk i belongs to */
    size_t n;
    char **names;
    char (*tenants)[64]; /* each VM's tenant ("" = the provider's), for who may hear its name */
    char (*uuids)[VIR_UUID_STRING_BUFLEN];
    size_t n_vms;
} vm_disks;
static int vm_disks_load(virConnectPtr c, vm_disks *v, char *why, size_t whysz);
static void vm_disks_free(vm_disks *v);
static long disk_owner(const vm_disks *v, const dbg_gw_disk *d);

/* A new VM's disks must not be another VM's (a tenant would read or overwrite them through
 * its own VM); shared base images below a backing chain are fine. 0; 1 when a disk is another
 * VM's: dbg_err names that VM (for the record), shown gets what viewer is told (the disk, and
 * whose only when viewer may see that VM), owner that VM's name, uuid and tenant (its name ""
 * when too long for a target); -1 with dbg_err when the disks cannot be read. */
static int create_disks_free(const dbg_gateway *gw, const dbg_gw_identity *viewer,
                             virConnectPtr c, const char *xml, char *shown, size_t shownsz,
                             target *owner)
{
    dbg_gw_disk *d = NULL;
    size_t n = 0;
    if (dbg_gw_domain_disks(xml, &d, &n) != 0)
        return -1;
    gw_resolve_volumes(c, d, n); /* so a volume is matched against other VMs' files too */
    vm_disks others = {0};
    char why[300] = "";
    int r = 0, loaded = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (d[i].backing || (!d[i].path[0] && !(d[i].pool[0] && d[i].volume[0])))
            continue;
        if (!loaded && vm_disks_load(c, &others, why, sizeof(why)) != 0) {
            dbg_err_set(DBG_ERR_LIBVIRT, "disk %s: %s", d[i].target, why);
            r = -1;
            break;
        }
        loaded = 1;
        long who = disk_owner(&others, &d[i]);
        if (who >= 0) {
            const char *disk = d[i].path[0] ? d[i].path : d[i].volume;
            dbg_err_set(DBG_ERR_DENIED, "disk %s (%s) is a disk of VM '%s': a new VM may not "
                        "take another VM's disk", d[i].target, disk, others.names[who]);
            if (!dbg_gw_policy_may_see(gw->policy, viewer, others.tenants[who]))
                snprintf(shown, shownsz, "disk %s (%s) is a disk of a VM you may not see: a new "
                         "VM may not take another VM's disk", d[i].target, disk);
            else
                snprintf(shown, shownsz, "%s", dbg_err_msg());
            const char *oname = others.names[who];
            snprintf(owner->name, sizeof(owner->name), "%s",
                     strlen(oname) < sizeof(owner->name) ? oname : "");
            snprintf(owner->uuid, sizeof(owner->uuid), "%s", others.uuids[who]);
            snprintf(owner->tenant, sizeof(owner->tenant), "%s", others.tenants[who]);
            r = 1;
        }
    }
    vm_disks_free(&others);
    free(d);
    return r;
}

/* 0; -1 with dbg_err; 1 when a create names an existing VM or another VM's disk: dbg_err says
 * which VM (its name and uuid, or the disk and its VM) and t names it and its tenant, for the
 * record; the caller tells the requester only what respond_taken lets it see. viewer is who
 * reads the answer (the approver of a ticket). */
static int resolve_target(const dbg_gateway *gw, const dbg_gw_identity *viewer, virConnectPtr c,
                          const dbg_gw_request *req, target *t)
{
    memset(t, 0, sizeof(*t));
    if (req->op == DBG_OP_CREATE) {
        if (dbg_gw_prepare_create(req->xml, &t->xml, t->name, t->uuid, t->tenant) != 0) {
            t->name[0] = t->uuid[0] = t->tenant[0] = 0;
            return -1;
        }
        snprintf(t->xml_name, sizeof(t->xml_name), "%s", t->name);
        snprintf(t->xml_tenant, sizeof(t->xml_tenant), "%s", t->tenant);
        t->prepared = 1;
        for (char *p = t->uuid; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        /* libvirt's define replaces a VM of the same name and uuid: a create naming another
         * tenant's VM would take it over, authorized against the tenant the new XML claims. */
        virDomainPtr old = virDomainLookupByName(c, t->name);
        if (!old)
            old = virDomainLookupByUUIDString(c, t->uuid);
        if (old) {
            char ouuid[VIR_UUID_STRING_BUFLEN] = "";
            virDomainGetUUIDString(old, ouuid);
            dbg_err_set(DBG_ERR_INVALID, "a VM named '%s' (uuid %s) already exists: create defines "
                        "a new VM and does not replace one", virDomainGetName(old), ouuid);
            /* the refused create was aimed at that VM: its record names it and its tenant, who
             * is to see the attempt (the XML's own claims are the requester's) */
            const char *oname = virDomainGetName(old);
            snprintf(t->name, sizeof(t->name), "%s", oname && strlen(oname) < sizeof(t->name)
                                                         ? oname : "");
            snprintf(t->uuid, sizeof(t->uuid), "%s", ouuid);
            char *oxml = virDomainGetXMLDesc(old, 0);
            if (!oxml || dbg_gw_domain_tenant(oxml, t->tenant) != 0)
                t->tenant[0] = 0;
            free(oxml);
            virDomainFree(old);
            return 1;
        }
        target owner;
        memset(&owner, 0, sizeof(owner));
        int taken = create_disks_free(gw, viewer, c, t->xml, t->shown, sizeof(t->shown), &owner);
        if (taken != 0) {
            /* a create that would take another VM's disk was aimed at that VM: its record names
             * it and its tenant, who is to see the attempt (as for a name that is taken); a
             * failure to read the disks, or an owner whose name no target holds, is no VM of
             * anyone's */
            int named = owner.name[0] != 0;
            snprintf(t->name, sizeof(t->name), "%s", named ? owner.name : "");
            snprintf(t->uuid, sizeof(t->uuid), "%s", named ? owner.uuid : "");
            snprintf(t->tenant, sizeof(t->tenant), "%s", named ? owner.tenant : "");
            return taken;
        }
        return 0;
    }
    if (req->op == DBG_OP_LIST)
        return 0;
    return lookup_target(c, req->vm, t);
}

/* ---- execution ---- */
static const char *state_name(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutdown";
    case VIR_DOMAIN_SHUTOFF: return "shutoff";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "pmsuspended";
    default: return "nostate";
    }
}

static json_t *do_list(dbg_gateway *gw, virConnectPtr c, const dbg_gw_identity *id)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(c, &doms, 0);
    if (n < 0) {
        dbg_err_set(DBG_ERR_LIBVIRT, "listing domains: %s", virGetLastErrorMessage());
        return NULL;
    }
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN] = "", tenant[64] = "";
        virDomainGetUUIDString(doms[i], uuid);
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        if (xml && dbg_gw_domain_tenant(xml, tenant) != 0)
            tenant[0] = 0;
        free(xml);
        const char *name = virDomainGetName(doms[i]);
        dbg_gw_decision d;
        dbg_gw_policy_decide(gw->policy, id, DBG_OP_LIST, name, tenant, &d);
        int st = 0, reason = 0;
        if (d.verdict == DBG_GW_ALLOW && virDomainGetState(doms[i], &st, &reason, 0) == 0)
            json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", name, "uuid",
                                                 uuid, "state", state_name(st), "tenant", tenant,
                                                 "persistent",
                                                 virDomainIsPersistent(doms[i]) == 1));
        virDomainFree(doms[i]);
    }
    free(doms);
    return arr;
}

static int undefine(virDomainPtr d)
{
    if (virDomainUndefineFlags(d, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                      VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA) == 0)
        return 0;
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_SUPPORT)
        return virDomainUndefine(d);
    return -1;
}

/* The libvirt call of req: 0, -1 with libvirt's error set, or -2 (dbg_err set) for an
 * operation that is not run so. */
static int call_libvirt(virConnectPtr c, const dbg_gw_request *req, const target *t)
{
    int r = -1;
    virDomainPtr d = t->dom;
    switch (req->op) {
    case DBG_OP_CREATE: {
        virDomainPtr nd = virDomainDefineXML(c, t->xml);
        if (nd) {
            virDomainFree(nd);
            r = 0;
        }
        break;
    }
    case DBG_OP_START: r = virDomainCreate(d); break;
    case DBG_OP_SHUTDOWN: r = virDomainShutdown(d); break;
    case DBG_OP_REBOOT: r = virDomainReboot(d, 0); break;
    case DBG_OP_RESET: r = virDomainReset(d, 0); break;
    case DBG_OP_DESTROY: r = virDomainDestroy(d); break;
    case DBG_OP_SUSPEND: r = virDomainSuspend(d); break;
    case DBG_OP_RESUME: r = virDomainResume(d); break;
    case DBG_OP_DELETE:
        r = 0;
        if (virDomainIsActive(d) == 1)
            r = virDomainDestroy(d);
        if (r == 0)
            r = undefine(d);
        break;
    case DBG_OP_SNAPSHOT: {
        DBG_AUTOFREE char *x = dbg_asprintf("<domainsnapshot><name>%s</name></domainsnapshot>",
                                            req->name);
        virDomainSnapshotPtr s = x ? virDomainSnapshotCreateXML(d, x, 0) : NULL;
        if (s) {
            virDomainSnapshotFree(s);
            r = 0;
        }
        break;
    }
    case DBG_OP_MIGRATE:
        r = virDomainMigrateToURI(d, req->dest, VIR_MIGRATE_LIVE | VIR_MIGRATE_PEER2PEER, NULL,
                                  0);
        break;
    default:
        dbg_err_set(DBG_ERR_INTERNAL, "operation %s is not executable", dbg_gw_op_name(req->op));
        return -2;
    }
    return r;
}

/* Runs req on t: 0, or -1 with dbg_err set to libvirt's message. */
static int execute(dbg_gateway *gw, virConnectPtr c, const dbg_gw_request *req, target *t)
{
    const char *faked = gw->libvirt_call ? gw->libvirt_call(gw->libvirt_call_ctx, req) : NULL;
    int r = !gw->libvirt_call ? call_libvirt(c, req, t) : faked ? -1 : 0;
    if (r == -2)
        return -1; /* not libvirt's error: said already */
    if (r != 0)
        dbg_err_set(DBG_ERR_LIBVIRT, "%s %s: %s", dbg_gw_op_name(req->op), t->name,
                    faked ? faked : virGetLastErrorMessage());
    return r;
}

/* ---- disk hooks: verify before start, volumes after delete, disks after migration ---- */

/* Parses a report made by the storage helpers into det[key]. */
static void attach_report(json_t *det, const char *key, char *report)
{
    json_t *j = report ? json_loads(report, 0, NULL) : NULL;
    if (j)
        json_object_set_new(det, key, j);
    free(report);
}

/* Start: every sealed disk must verify. 0 = go ahead, 1 = refuse (msg says why). The report
 * goes into the outcome record either way. */
static int verify_before_start(dbg_gateway *gw, const target *t, json_t *post, char *msg,
                               size_t msgsz)
{
    dbg_gw_integrity in;
    dbg_gw_policy_integrity(gw->policy, &in);
    if (!in.verify_before_start)
        return 0;
    char *xml = virDomainGetXMLDesc(t->dom, VIR_DOMAIN_XML_INACTIVE);
    char *report = NULL;
    dbg_gw_disk *d = NULL;
    size_t n = 0;
    int bad = -1;
    if (xml && dbg_gw_domain_disks(xml, &d, &n) == 0) {
        gw_resolve_volumes(virDomainGetConnect(t->dom), d, n); /* a pool volume has no path here */
        bad = dbg_gw_verify_disk_list(d, n, &in, &report);
    }
    free(d);
    free(xml);
    if (bad < 0) {
        snprintf(msg, msgsz, "disk integrity could not be checked, so %s was not started: %s",
                 t->name, xml ? dbg_err_msg() : virGetLastErrorMessage());
        return 1;
    }
    attach_report(post, "integrity", report);
    if (bad) {
        json_t *arr = json_object_get(post, "integrity");
        size_t i;
        json_t *e, *first = NULL, *missing = NULL;
        json_array_foreach(arr, i, e)
        {
            const char *st = json_string_value(json_object_get(e, "status"));
            if (!st || !strcmp(st, "intact") || (!in.require_seal && !strcmp(st, "unsealed")))
                continue;
            if (!strcmp(st, "missing") && !json_is_true(json_object_get(e, "optional")) && !missing)
                missing = e;
            else if (strcmp(st, "missing") != 0 && !first)
                first = e;
        }
        /* A disk that is not there is said as such first: it is no seal failure, and the
         * operator's fix (the file, or the VM's definition) is another one. */
        json_t *shown = missing ? missing : first;
        const char *disk = json_string_value(json_object_get(shown, "disk"));
        const char *path = json_string_value(json_object_get(shown, "path"));
        const char *status = json_string_value(json_object_get(shown, "status"));
        const char *detail = json_string_value(json_object_get(shown, "detail"));
        /* the status says "refused"; the client prints it before this ("refused: refused: ") */
        const char *pool = json_string_value(json_object_get(shown, "pool"));
        const char *vol = json_string_value(json_object_get(shown, "volume"));
        char gone[1100];
        if (path && path[0])
            snprintf(gone, sizeof(gone), "%s does not exist", path);
        else /* a pool volume libvirt says is not there: the detail says which part */
            snprintf(gone, sizeof(gone), "volume '%s' of pool '%s': %.*s", vol ? vol : "?",
                     pool ? pool : "?",
                     (int)strcspn(detail ? detail : "", ","), detail ? detail : "");
        if (missing)
            snprintf(msg, msgsz, "disk %s of %s is missing: %.600s, so it was not started%s",
                     disk ? disk : "?", t->name, gone,
                     bad > 1 ? " (and other disks fail too: see the integrity report)" : "");
        else
            snprintf(msg, msgsz,
                     "%d disk(s) of %s fail their seal (8.2.4.4b), so it was not "
                     "started: %s (%s): %s: %s",
                     bad, t->name, disk ? disk : "?", path ? path : "?", status ? status : "?",
                     detail ? detail : "");
        return 1;
    }
    return 0;
}

/* The path of a <source pool volume> disk into d->path, or "" (the inactive XML does not give
 * it) with d->volume_state saying whether libvirt said the pool or the volume is not there. */
static int last_virt_error(void)
{
    virErrorPtr e = virGetLastError();
    return e ? e->code : VIR_ERR_OK;
}

static void volume_path(virConnectPtr c, dbg_gw_disk *d)
{
    d->path[0] = 0;
    virStoragePoolPtr pool = virStoragePoolLookupByName(c, d->pool);
    if (!pool && last_virt_error() == VIR_ERR_NO_STORAGE_POOL)
        d->volume_state = DBG_GW_VOL_NO_POOL;
    virStorageVolPtr vol = pool ? virStorageVolLookupByName(pool, d->volume) : NULL;
    if (pool && !vol) {
        /* the code is taken first (the next call resets it); an inactive pool's lookup fails
         * too, so "no such volume" counts only from an active one */
        int code = last_virt_error();
        int active = virStoragePoolIsActive(pool);
        if (active == 0)
            d->volume_state = DBG_GW_VOL_POOL_INACTIVE;
        else if (active == 1 && code == VIR_ERR_NO_STORAGE_VOL)
            d->volume_state = DBG_GW_VOL_NO_VOLUME;
    }
    char *p = vol ? virStorageVolGetPath(vol) : NULL;
    if (p)
        snprintf(d->path, sizeof(d->path), "%s", p);
    free(p);
    if (vol)
        virStorageVolFree(vol);
    if (pool)
        virStoragePoolFree(pool);
}

void gw_resolve_volumes(virConnectPtr c, dbg_gw_disk *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!d[i].path[0] && d[i].pool[0] && d[i].volume[0])
            volume_path(c, &d[i]);
}

static void vm_disks_free(vm_disks *v)
{
    for (size_t i = 0; i < v->n_vms; i++)
        free(v->names[i]);
    free(v->names);
    free(v->tenants);
    free(v->uuids);
    free(v->vm);
    free(v->d);
    memset(v, 0, sizeof(*v));
}

/* 0, or -1 with the reason in why (v then empty) when the VMs cannot be listed or read. */
static int vm_disks_load(virConnectPtr c, vm_disks *v, char *why, size_t whysz)
{
    memset(v, 0, sizeof(*v));
    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(c, &doms, 0);
    if (nd < 0) {
        snprintf(why, whysz, "cannot list the VMs to see who else uses it: %s",
                 virGetLastErrorMessage());
        return -1;
    }
    size_t room = nd ? (size_t)nd : 1;
    int r = (v->names = dbg_calloc(room, sizeof(*v->names))) &&
                    (v->tenants = dbg_calloc(room, sizeof(*v->tenants))) &&
                    (v->uuids = dbg_calloc(room, sizeof(*v->uuids)))
                ? 0
                : -1;
    size_t cap = 0, vcap = 0;
    for (int i = 0; i < nd; i++) {
        char *xml = r == 0 ? virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE) : NULL;
        dbg_gw_disk *od = NULL;
        size_t on = 0;
        if (xml && dbg_gw_domain_disks(xml, &od, &on) == 0 && on) {
            if (!(v->names[v->n_vms] = dbg_strdup(virDomainGetName(doms[i]))) ||
                dbg_grow_array((void **)&v->d, &cap, v->n + on, sizeof(*v->d), 16) < 0 ||
                dbg_grow_array((void **)&v->vm, &vcap, v->n + on, sizeof(*v->vm), 16) < 0) {
                r = -1;
            } else {
                gw_resolve_volumes(c, od, on);
                if (dbg_gw_domain_tenant(xml, v->tenants[v->n_vms]) != 0)
                    v->tenants[v->n_vms][0] = 0;
                if (virDomainGetUUIDString(doms[i], v->uuids[v->n_vms]) != 0)
                    v->uuids[v->n_vms][0] = 0;
                for (size_t j = 0; j < on; j++) {
                    v->d[v->n] = od[j];
                    v->vm[v->n++] = v->n_vms;
                }
            }
            v->n_vms += v->names[v->n_vms] != NULL;
        }
        free(od);
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    if (r != 0) {
        snprintf(why, whysz, "out of memory listing the VMs' disks");
        vm_disks_free(v);
    }
    return r;
}

/* The VM that has this disk (same pool volume or same file, any layer): its index in
 * v->names and v->tenants, or -1. A delete with --remove-storage must not take the disk of a
 * VM it was not asked to delete, which the deleted VM's XML could name (another tenant's
 * volume, say), nor a create give it to a new VM. */
static long disk_owner(const vm_disks *v, const dbg_gw_disk *d)
{
    for (size_t j = 0; j < v->n; j++) {
        const dbg_gw_disk *o = &v->d[j];
        if ((d->pool[0] && d->volume[0] && !strcmp(d->pool, o->pool) &&
             !strcmp(d->volume, o->volume)) ||
            (d->path[0] && !strcmp(d->path, o->path)))
            return (long)v->vm[j];
    }
    return -1;
}

/* Who reads an answer or a record: an identity (viewer), or, viewer NULL, the readers of the
 * records of tenant ("" = the provider, who reads every tenant's). */
static int reader_may_see(const dbg_gateway *gw, const dbg_gw_identity *viewer,
                          const char *tenant, const char *vm_tenant)
{
    if (viewer)
        return dbg_gw_policy_may_see(gw->policy, viewer, vm_tenant);
    return !tenant[0] || strcmp(tenant, vm_tenant) == 0;
}

/* Delete with storage: deletes each top disk's libvirt volume (backing layers may be shared
 * and are kept; so is a volume another VM has), then checks every path is gone or reads as
 * zeros. The report goes into post, for the record under the deleted VM's tenant (tenant): it
 * names the VM that has a kept volume when that VM is that tenant's too; shown gets the one
 * viewer reads, without the name of a VM viewer may not see; elsewhere gets, for each kept
 * volume whose VM the record leaves unnamed, that VM and the full detail, to be recorded
 * under it. */
static void remove_storage(const dbg_gateway *gw, const dbg_gw_identity *viewer,
                           const char *tenant, virConnectPtr c, dbg_gw_disk *d, size_t n,
                           json_t *post, json_t *shown, json_t *elsewhere)
{
    json_t *arr = json_array(), *arr_shown = json_array();
    vm_disks others = {0};
    char listing_failed[300] = "";
    int loaded = 0;
    for (size_t i = 0; i < n; i++) {
        if (d[i].backing)
            continue;
        virStorageVolPtr vol = NULL;
        if (d[i].pool[0] && d[i].volume[0]) {
            virStoragePoolPtr pool = virStoragePoolLookupByName(c, d[i].pool);
            if (pool) {
                vol = virStorageVolLookupByName(pool, d[i].volume);
                virStoragePoolFree(pool);
            }
            char *vpath = vol && !d[i].path[0] ? virStorageVolGetPath(vol) : NULL;
            if (vpath) /* so the residual check can look at it after the delete */
                snprintf(d[i].path, sizeof(d[i].path), "%s", vpath);
            free(vpath);
        } else if (d[i].path[0]) {
            vol = virStorageVolLookupByPath(c, d[i].path);
        }
        const char *st = "not_a_volume", *why = "in no libvirt storage pool: left in place";
        char err[512] = "";
        if (vol && !loaded) {
            loaded = 1;
            if (vm_disks_load(c, &others, listing_failed, sizeof(listing_failed)) != 0 &&
                !listing_failed[0])
                snprintf(listing_failed, sizeof(listing_failed), "cannot list the VMs' disks");
        }
        long who = vol && !listing_failed[0] ? disk_owner(&others, &d[i]) : -1;
        int used = !vol ? 0 : listing_failed[0] ? -1 : who >= 0 ? 1 : 0;
        const char *why_shown = NULL;  /* when viewer is told less than the detail says */
        const char *why_record = NULL; /* when the tenant's record says less */
        if (used) {
            st = used > 0 ? "in_use" : "delete_failed";
            snprintf(err, sizeof(err), used > 0 ? "also a disk of VM '%s': left in place" : "%s",
                     used > 0 ? others.names[who] : listing_failed);
            why = err;
            if (used > 0 && !dbg_gw_policy_may_see(gw->policy, viewer, others.tenants[who]))
                why_shown = "also a disk of a VM you may not see: left in place";
            if (used > 0 && !reader_may_see(gw, NULL, tenant, others.tenants[who]))
                why_record = "also a disk of another tenant's VM: left in place (recorded "
                             "under that VM)";
        } else if (vol) {
            if (virStorageVolDelete(vol, 0) == 0) {
                st = "deleted";
                why = "";
            } else {
                snprintf(err, sizeof(err), "%s", virGetLastErrorMessage());
                st = "delete_failed";
                why = err;
            }
        }
        if (vol)
            virStorageVolFree(vol);
        const char *path = d[i].path[0] ? d[i].path : d[i].volume;
        json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:s}", "disk", d[i].target, "path",
                                             path, "volume", st, "detail",
                                             why_record ? why_record : why));
        if (why_record)
            json_array_append_new(elsewhere,
                                  json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "vm", others.names[who],
                                            "uuid", others.uuids[who], "tenant",
                                            others.tenants[who], "disk", d[i].target, "path",
                                            path, "detail", why));
        json_array_append_new(arr_shown, json_pack("{s:s,s:s,s:s,s:s}", "disk", d[i].target,
                                                   "path", path, "volume", st, "detail",
                                                   why_shown ? why_shown : why));
        d[i].in_use = used > 0; /* another VM's live data, not residue */
    }
    vm_disks_free(&others);
    json_object_set_new(post, "volumes", arr);
    json_object_set_new(shown, "volumes", arr_shown);
    char *report = NULL;
    int residual = dbg_gw_residual_check(d, n, &report);
    attach_report(post, "residual_check", report);
    json_object_set_new(post, "residual_data", residual < 0 ? json_null() : json_boolean(residual));
}

/* After a migration: the destination's disks against the source's, repaired when asked. */
static void check_migration(const dbg_gw_request *req, const target *t, const char *src_xml,
                            json_t *post)
{
    dbg_libvirt_quiet();
    virConnectPtr dc = virConnectOpen(req->dest);
    virDomainPtr dd = dc ? virDomainLookupByUUIDString(dc, t->uuid) : NULL;
    char *dst_xml = dd ? virDomainGetXMLDesc(dd, 0) : NULL;
    if (!dst_xml) {
        json_object_set_new(post, "migration_check",
                            json_pack("{s:s,s:s}", "status", "not_compared", "detail",
                                      virGetLastErrorMessage()));
    } else {
        char *report = NULL;
        int differ = dbg_gw_migrate_disks(src_xml, dst_xml, req->repair, &report);
        if (differ < 0)
            json_object_set_new(post, "migration_check",
                                json_pack("{s:s,s:s}", "status", "error", "detail", dbg_err_msg()));
        else
            attach_report(post, "migration_check", report);
        json_object_set_new(post, "migration_intact", differ < 0 ? json_null()
                                                                 : json_boolean(differ == 0));
    }
    free(dst_xml);
    if (dd)
        virDomainFree(dd);
    if (dc)
        virConnectClose(dc);
}

/* ---- libvirt's messages about other VMs ---- */

/* Is word in msg as a whole (not inside a longer name: "web1" is not in "web10")? Names may
 * hold any of these besides letters and digits, and UTF-8 beyond ASCII. */
static int has_word(const char *msg, const char *word)
{
    size_t n = strlen(word);
    if (!n)
        return 0;
    for (const char *p = msg; (p = strstr(p, word)) != NULL; p++) {
        unsigned char before = p > msg ? (unsigned char)p[-1] : ' ';
        unsigned char after = (unsigned char)p[n];
        int in_name_before = isalnum(before) || before >= 0x80 || strchr("-_.@", before);
        int in_name_after = isalnum(after) || after >= 0x80 || (after && strchr("-_@", after)) ||
                            (after == '.' && p[n + 1] && p[n + 1] != ' ');
        if (!in_name_before && !in_name_after)
            return 1;
    }
    return 0;
}

/* Is the uuid at p (36 characters) one libvirt could print: 8-4-4-4-12 hex? */
static int uuid_at(const char *p)
{
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? p[i] != '-' : !isxdigit((unsigned char)p[i]))
            return 0;
    }
    return 1;
}

/* Where libvirt keeps mediated devices, by uuid: its messages name them by this path. */
#define GW_MDEV_DIR "/sys/bus/mdev/devices/"

/* A domain name libvirt's message gives (a part of the message, not 0-terminated). */
typedef struct {
    const char *at;
    size_t len;
    int here; /* a VM of this name is on this host */
} named_domain;

#define GW_NAMED_MAX 8

/* The domain names in msg where libvirt's messages put them: quoted after "domain '"
 * (virdomainobjlist.c: "domain '%s' already exists with uuid %s", "... is already defined
 * with uuid %s", "... is already active", "... is already being removed"), and last, after
 * "in use by driver %s, domain " or "... driver %s domain " (a host device: "PCI device %s is
 * in use by driver %s, domain %s" and USB's, virhostdev.c; "mediated device ...", virmdev.c;
 * "NVMe device %s already in use by driver %s domain %s", virhostdev.c). Returns how many,
 * of which the first GW_NAMED_MAX are in out. */
static size_t named_domains(const char *msg, named_domain *out)
{
    size_t n = 0;
    for (const char *p = msg; (p = strstr(p, "domain '")) != NULL; n++) {
        const char *name = p + strlen("domain '"), *end = name;
        /* the closing quote ends the message or a word: a name may hold one */
        while (*end && !(end[0] == '\'' && (!end[1] || strchr(" ,.:;)", end[1]))))
            end++;
        if (n < GW_NAMED_MAX)
            out[n] = (named_domain){name, (size_t)(end - name), 0};
        p = *end ? end + 1 : end;
    }
    const char *in_use = strstr(msg, "in use by driver ");
    const char *dom = in_use ? strstr(in_use, "domain ") : NULL;
    if (dom) {
        const char *name = dom + strlen("domain ");
        size_t len = strlen(name);
        while (len && isspace((unsigned char)name[len - 1]))
            len--;
        if (n < GW_NAMED_MAX)
            out[n] = (named_domain){name, len, 0};
        n++;
    }
    return n;
}

static int is_named(const named_domain *d, const char *name)
{
    return strlen(name) == d->len && !memcmp(d->at, name, d->len);
}

/* Does libvirt's message about t (the VM an operation ran on) name a VM viewer may not see?
 * libvirt's errors name other domains: a define colliding with one ("domain 'X' already
 * exists with uuid U", a VM another request defined since the gateway looked), a host device
 * "in use by driver QEMU, domain X", a migration's destination holding a VM of that name or
 * uuid, or by name only ("domain 'X' is already defined with uuid U", U t's own). Looked for:
 * the uuid, the name (as a whole word) and the disk paths of each VM here viewer may not see,
 * any other uuid (a mediated device's path aside), and a domain name where libvirt puts one
 * (named_domains) that is neither t's nor a VM's here; the last two may be a VM on another
 * host or of another driver (only an identity that sees every tenant may hear of those). 1
 * when found: owner then holds that VM, or is empty when it is not on this host; 0 when not;
 * the answer is then libvirt's text. */
static int names_unseen_vm(const dbg_gateway *gw, virConnectPtr c, const dbg_gw_identity *viewer,
                           const char *tenant, const target *t, const char *msg, target *owner)
{
    memset(owner, 0, sizeof(*owner));
    if (viewer ? dbg_gw_policy_sees_all(gw->policy, viewer) : !tenant[0])
        return 0;
    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(c, &doms, 0);
    /* the uuids the reader may hear (t's and those of the VMs it may see): any other in msg is
     * hidden */
    char (*heard)[VIR_UUID_STRING_BUFLEN] = dbg_calloc(nd > 0 ? (size_t)nd + 1 : 1,
                                                       sizeof(*heard));
    size_t n_heard = 0;
    int found = nd < 0 || !heard; /* who msg names is unknown: hide rather than tell */
    if (heard && t->uuid[0])
        snprintf(heard[n_heard++], sizeof(*heard), "%s", t->uuid);
    named_domain names[GW_NAMED_MAX];
    size_t n_names = named_domains(msg, names);
    if (n_names > GW_NAMED_MAX) { /* not libvirt's shapes: who is named is unknown */
        found = 1;
        n_names = GW_NAMED_MAX;
    }
    for (int i = 0; i < nd; i++) {
        char uuid[VIR_UUID_STRING_BUFLEN] = "", vm_tenant[64] = "";
        const char *name = virDomainGetName(doms[i]);
        char *xml = NULL;
        for (size_t k = 0; k < n_names && name; k++)
            names[k].here |= is_named(&names[k], name);
        /* t itself, unless another VM took its uuid (a create's, defined meanwhile) */
        int itself = virDomainGetUUIDString(doms[i], uuid) == 0 && !strcasecmp(uuid, t->uuid) &&
                     name && !strcmp(name, t->name);
        if (!found && uuid[0] && !itself) {
            xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
            if (!xml || dbg_gw_domain_tenant(xml, vm_tenant) != 0)
                vm_tenant[0] = 0;
            if (reader_may_see(gw, viewer, tenant, vm_tenant)) {
                snprintf(heard[n_heard++], sizeof(*heard), "%s", uuid);
            } else {
                int named = strcasestr(msg, uuid) != NULL || (name && has_word(msg, name));
                dbg_gw_disk *d = NULL;
                size_t n = 0;
                if (!named && xml && dbg_gw_domain_disks(xml, &d, &n) == 0) {
                    gw_resolve_volumes(c, d, n);
                    for (size_t j = 0; j < n && !named; j++)
                        named = d[j].path[0] && strstr(msg, d[j].path) != NULL;
                }
                free(d);
                if (named && name && strlen(name) < sizeof(owner->name)) {
                    snprintf(owner->name, sizeof(owner->name), "%s", name);
                    snprintf(owner->uuid, sizeof(owner->uuid), "%s", uuid);
                    snprintf(owner->tenant, sizeof(owner->tenant), "%s", vm_tenant);
                }
                found = named;
            }
        }
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    /* a name of no VM here (t's, a create's, is not here yet): a VM of the migration's
     * destination or of another driver, which only an identity that sees every tenant hears of */
    for (size_t k = 0; k < n_names && !found; k++)
        found = !names[k].here && !is_named(&names[k], t->name);
    size_t len = strlen(msg), mdev_len = strlen(GW_MDEV_DIR);
    for (size_t i = 0; !found && i + 36 <= len; i++) {
        if (!uuid_at(msg + i))
            continue;
        /* a mediated device's path ("mediated device /sys/bus/mdev/devices/U is in use by
         * driver QEMU, domain X", virmdev.c) names a device of t's own XML, not a VM */
        int known = i >= mdev_len && !strncmp(msg + i - mdev_len, GW_MDEV_DIR, mdev_len);
        for (size_t k = 0; k < n_heard && !known; k++)
            known = strncasecmp(msg + i, heard[k], 36) == 0;
        found = !known;
        i += 35;
    }
    free(heard);
    return found;
}

/* Intent (durable) -> ledger -> libvirt -> outcome, for an allowed operation run as id; the
 * answer is read by viewer (id, or the approver of id's ticket). */
static char *run_allowed(dbg_gateway *gw, virConnectPtr c, const dbg_gw_identity *id,
                         const dbg_gw_identity *viewer, const dbg_gw_request *req, target *t,
                         const dbg_gw_decision *dec, json_t *extra)
{
    const char *opn = dbg_gw_op_name(req->op);
    DBG_AUTOFREE char *a_intent = dbg_asprintf("vm.%s.intent", opn);
    DBG_AUTOFREE char *a_outcome = dbg_asprintf("vm.%s.outcome", opn);
    json_t *det = json_pack("{s:s,s:s,s:s}", "decision", "allow", "rule", dec->rule, "request_op",
                            opn);
    if (extra)
        json_object_update(det, extra);
    if (req->op == DBG_OP_SNAPSHOT)
        json_object_set_new(det, "snapshot", json_string(req->name));
    if (req->op == DBG_OP_MIGRATE)
        json_object_set_new(det, "dest", json_string(req->dest));
    uint64_t intent_seq = 0, outcome_seq = 0;
    rec_args a = {id, dec->role, t->tenant, a_intent, "allowed", t->name, t->uuid, det};
    if (!a_intent || !a_outcome || audit_rec(gw, &a, &intent_seq) != 0) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "the intent record could not be made durable, so %s was not "
                 "executed: %s", opn, dbg_err_msg());
        dbg_warn("gateway: %s", msg);
        json_decref(det);
        return respond_error("error", msg, dec->rule);
    }
    json_t *result = NULL;
    json_t *post = json_object(); /* what the disk hooks found, for the outcome and response */
    json_t *shown = json_object(); /* the parts of post viewer reads otherwise */
    json_t *elsewhere = json_array(); /* what the record leaves out, to record under other VMs */
    int ok = 0, refused = 0;
    char errmsg[1024] = "";
    dbg_gw_disk *disks = NULL;
    size_t n_disks = 0;
    char *src_xml = NULL;
    if (req->op == DBG_OP_LIST) {
        result = do_list(gw, c, id);
        ok = result != NULL;
    } else if (req->op == DBG_OP_START &&
               (refused = verify_before_start(gw, t, post, errmsg, sizeof(errmsg)))) {
        /* not run: no ledger entry, so the guard would alert on a start anyway */
    } else {
        if ((req->op == DBG_OP_DELETE && req->remove_storage) || req->op == DBG_OP_MIGRATE)
            src_xml = virDomainGetXMLDesc(t->dom, 0);
        if (req->op == DBG_OP_DELETE && req->remove_storage &&
            (!src_xml || dbg_gw_domain_disks(src_xml, &disks, &n_disks) != 0)) {
            /* the storage could not be removed as asked: the VM is not deleted either */
            snprintf(errmsg, sizeof(errmsg), "the disks of %s could not be read (%s), so nothing "
                     "was deleted", t->name, src_xml ? dbg_err_msg() : virGetLastErrorMessage());
            refused = 1;
        } else {
            uint64_t lid = 0;
            if (gw->ledger)
                lid = dbg_gw_ledger_begin(gw->ledger, t->uuid, req->op, id->actor, intent_seq,
                                          dbg_now_us());
            ok = execute(gw, c, req, t) == 0;
            if (gw->ledger)
                dbg_gw_ledger_end(gw->ledger, lid, ok, dbg_now_us());
            if (!ok)
                snprintf(errmsg, sizeof(errmsg), "%s", dbg_err_msg());
            else if (req->op == DBG_OP_DELETE && req->remove_storage && disks)
                remove_storage(gw, viewer, t->tenant, c, disks, n_disks, post, shown,
                               elsewhere);
            else if (req->op == DBG_OP_MIGRATE && src_xml)
                check_migration(req, t, src_xml, post);
        }
    }
    free(disks);
    free(src_xml);
    if (!ok && !errmsg[0])
        snprintf(errmsg, sizeof(errmsg), "%s", dbg_err_msg());
    /* libvirt's message may name a VM that neither the reader of the answer nor the readers of
     * this VM's tenant's records may see: they get a neutral text, and the full one is recorded
     * under the VM it names (under the provider's records when that VM is not on this host). */
    target named, named_r;
    memset(&named, 0, sizeof(named));
    int hidden_answer = 0, hidden_record = 0;
    char neutral[300] = "";
    if (!ok && !refused) {
        hidden_answer = names_unseen_vm(gw, c, viewer, "", t, errmsg, &named);
        hidden_record = names_unseen_vm(gw, c, NULL, t->tenant, t, errmsg, &named_r);
        if (!named.name[0])
            named = named_r;
        if (hidden_answer || hidden_record)
            snprintf(neutral, sizeof(neutral), "%s %s failed; libvirt's message names another "
                     "VM and is kept in the audit record", opn, t->name);
    }
    size_t k;
    json_t *e;
    json_array_foreach(elsewhere, k, e)
    {
        /* the tenant whose VM's disk the delete reached for is to see that it was kept */
        json_t *ed = json_pack("{s:I,s:s,s:[{s:O,s:O,s:s,s:O}]}", "intent_seq",
                               (json_int_t)intent_seq, "request_op", opn, "volumes", "disk",
                               json_object_get(e, "disk"), "path", json_object_get(e, "path"),
                               "volume", "in_use", "detail", json_object_get(e, "detail"));
        rec_args er = {id, dec->role, json_string_value(json_object_get(e, "tenant")), a_outcome,
                       ok ? "success" : "failure", json_string_value(json_object_get(e, "vm")),
                       json_string_value(json_object_get(e, "uuid")), ed};
        if (!ed || audit_rec(gw, &er, NULL) != 0)
            dbg_warn("gateway: the record of %s %s under the VM that has its disk failed: %s",
                     opn, t->name, dbg_err_msg());
        json_decref(ed);
    }
    json_decref(elsewhere);
    if (hidden_answer || hidden_record) {
        json_t *nd = json_pack("{s:I,s:s,s:s}", "intent_seq", (json_int_t)intent_seq, "request_op",
                               opn, "result", errmsg);
        rec_args n = {id, dec->role, named.name[0] ? named.tenant : "", a_outcome, "failure",
                      named.name[0] ? named.name : t->name, named.name[0] ? named.uuid : t->uuid,
                      nd};
        if (audit_rec(gw, &n, NULL) != 0)
            dbg_warn("gateway: the record of %s %s under the VM libvirt named failed: %s", opn,
                     t->name, dbg_err_msg());
        json_decref(nd);
    }
    json_t *od = json_pack("{s:I,s:s}", "intent_seq", (json_int_t)intent_seq, "result",
                           ok ? "ok" : hidden_record ? neutral : errmsg);
    json_object_update(od, post);
    rec_args b = {id, dec->role, t->tenant, a_outcome,
                  ok ? "success" : refused ? "refused" : "failure", t->name, t->uuid, od};
    int outcome_ok = audit_rec(gw, &b, &outcome_seq) == 0;
    if (!outcome_ok)
        dbg_warn("gateway: outcome record of %s %s failed: %s", opn, t->name, dbg_err_msg());
    json_decref(od);
    json_decref(det);
    json_t *o;
    if (ok)
        o = json_pack("{s:b,s:s,s:s}", "ok", 1, "status", "done", "op", opn);
    else if (hidden_answer && req->op == DBG_OP_CREATE)
        /* a VM of that name or uuid was defined since resolve_target looked: answered as when
         * it was there before */
        o = json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "status", "refused", "op", opn, "error",
                      GW_TAKEN_UNSEEN);
    else
        o = json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "status", refused ? "refused" : "failed",
                      "op", opn, "error", hidden_answer ? neutral : errmsg);
    json_object_update(o, post);
    json_object_update(o, shown);
    json_decref(post);
    json_decref(shown);
    if (t->name[0])
        json_object_set_new(o, "vm", json_string(t->name));
    if (t->uuid[0])
        json_object_set_new(o, "uuid", json_string(t->uuid));
    json_object_set_new(o, "rule", json_string(dec->rule));
    json_object_set_new(o, "audit", json_pack("{s:I,s:I}", "intent", (json_int_t)intent_seq,
                                              "outcome", (json_int_t)outcome_seq));
    if (result)
        json_object_set_new(o, "vms", result);
    return respond(o);
}

#define GW_RULE_DESTINATIONS "migration:destinations"

/* A migration to a destination the policy does not list. It is refused before libvirt is
 * asked anything: the root agent would connect to that URI (PEER2PEER, then the disk check
 * after it), any transport to any host or socket. Only once the answer is decided is the
 * gateway's own connection asked which VM the request named, so that the record is that VM's,
 * under its tenant, as a policy denial's is; the answer does not depend on it, so it tells no
 * caller whether that VM exists. */
static char *refuse_destination(dbg_gateway *gw, const dbg_gw_identity *id, const char *role,
                                const dbg_gw_request *req, const char *why)
{
    target t;
    memset(&t, 0, sizeof(t));
    virConnectPtr c = get_conn(gw);
    if (!c || lookup_target(c, req->vm, &t) != 0)
        memset(&t, 0, sizeof(t));
    json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "decision", "deny", "rule", GW_RULE_DESTINATIONS,
                          "reason", why, "dest", req->dest);
    rec_args a = {id, role, t.tenant, "vm.migrate.intent", "refused", t.name[0] ? t.name : req->vm,
                  t.uuid, d};
    if (!d || audit_rec(gw, &a, NULL) != 0)
        dbg_warn("gateway: could not audit a refused migration: %s", dbg_err_msg());
    json_decref(d);
    target_clear(&t);
    if (c)
        virConnectClose(c);
    return respond_error("refused", why, GW_RULE_DESTINATIONS);
}

/* A destination allowed as another spelling of a listed one (a host's case, a trailing '/')
 * goes to libvirt, the records and any ticket as the policy writes it: the agent opens only
 * URIs the policy holds, byte for byte. */
static void use_listed_dest(const dbg_gw_policy *p, dbg_gw_request *req)
{
    const char *listed = dbg_gw_policy_migration_dest(p, req->dest);
    if (listed && strcmp(listed, req->dest) != 0)
        snprintf(req->dest, sizeof(req->dest), "%s", listed);
}

int dbg_gateway_expire_tickets(dbg_gateway *gw, int64_t now_us)
{
    dbg_gw_ticket due[16];
    int recorded = 0;
    dbg_gw_identity sys;
    memset(&sys, 0, sizeof(sys));
    sys.kind = DBG_GW_ID_LOCAL;
    snprintf(sys.actor, sizeof(sys.actor), "dengbao-gateway");
    snprintf(sys.source, sizeof(sys.source), "gateway:ticket-expiry");
    size_t n;
    while ((n = dbg_gw_tickets_expired(gw->tickets, now_us, due, 16)) > 0) {
        for (size_t i = 0; i < n; i++) {
            const dbg_gw_ticket *k = &due[i];
            const char *opn = dbg_gw_op_name(k->request.op);
            char until[40];
            dbg_time_rfc3339(k->expires_us, until, sizeof(until));
            json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ticket", k->id, "requester",
                                  k->requester.actor, "request_op", opn, "approver_role",
                                  k->decision.approver_role, "approver_tenant",
                                  k->decision.approver_tenant, "expired_at", until, "reason",
                                  "not approved before the ticket expired; the request was not run");
            DBG_AUTOFREE char *action = dbg_asprintf("vm.%s.outcome", opn);
            rec_args a = {&sys, "system", k->vm_tenant, action ? action : "vm.outcome", "expired",
                          k->vm_name, k->vm_uuid, d};
            int ok = action && d && audit_rec(gw, &a, NULL) == 0;
            json_decref(d);
            if (!ok || dbg_gw_tickets_expiry_recorded(gw->tickets, k->id) != 0)
                return -1; /* it stays due: the next call records it */
            recorded++;
        }
    }
    return recorded;
}

static char *handle_approve(dbg_gateway *gw, virConnectPtr c, const dbg_gw_identity *id,
                            const dbg_gw_request *req)
{
    dbg_gw_ticket k;
    char role[32] = "", mytenant[64] = "", rule[128] = "";
    int64_t now = dbg_now_us();
    (void)dbg_gw_policy_identify(gw->policy, id, role, mytenant);
    int known = dbg_gw_tickets_peek(gw->tickets, req->ticket, now, &k) == 0;
    char why[600]; /* why a ticket cannot be approved ("no ticket X", "... expired") */
    snprintf(why, sizeof(why), "%s", known ? "pending" : dbg_err_msg());
    /* A ticket for a VM the caller may not see (another tenant's) is, to it, no ticket: the
     * answer would name the VM's tenant, the operation or whether the ticket was used. Its
     * approver is told, whatever its scope. */
    int hidden = k.id[0] && !dbg_gw_policy_may_see(gw->policy, id, k.vm_tenant) &&
                 !dbg_gw_policy_may_approve(gw->policy, id, k.decision.approver_role,
                                            k.decision.approver_tenant, rule);
    if (!known || hidden) {
        char msg[1100];
        if (hidden)
            snprintf(msg, sizeof(msg), "%s may not see the VM of ticket %s (%s); told there is "
                     "no such ticket", id->actor, k.id, why);
        else
            snprintf(msg, sizeof(msg), "%s", why);
        json_t *d = json_pack("{s:s,s:s}", "ticket", req->ticket, "reason", msg);
        /* A used or expired ticket is still known: an attempt to approve it again or too late
         * is about its VM, and that VM's tenant is to see it in its records. */
        if (k.id[0]) {
            json_object_set_new(d, "requester", json_string(k.requester.actor));
            json_object_set_new(d, "request_op", json_string(dbg_gw_op_name(k.request.op)));
        }
        rec_args a = {id, role, k.vm_tenant, "vm.approve", "denied", k.vm_name, k.vm_uuid, d};
        (void)audit_rec(gw, &a, NULL);
        json_decref(d);
        if (hidden)
            snprintf(msg, sizeof(msg), GW_NO_SUCH_TICKET, req->ticket);
        return respond_error("denied", msg, "ticket");
    }
    int may = dbg_gw_policy_may_approve(gw->policy, id, k.decision.approver_role,
                                        k.decision.approver_tenant, rule);
    if (may && strcmp(k.requester.actor, id->actor) == 0)
        may = 0; /* no one approves their own request */
    json_t *d = json_pack("{s:s,s:s,s:s,s:s}", "ticket", k.id, "requester", k.requester.actor,
                          "request_op", dbg_gw_op_name(k.request.op), "rule", rule);
    rec_args a = {id, role, k.vm_tenant, "vm.approve", may ? "approved" : "denied", k.vm_name,
                  k.vm_uuid, d};
    int audited = audit_rec(gw, &a, NULL) == 0;
    json_decref(d);
    if (!may) {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s may not approve ticket %s (needs %s%s%s, not the "
                 "requester)", id->actor, k.id, k.decision.approver_role,
                 k.decision.approver_tenant[0] ? " of tenant " : "", k.decision.approver_tenant);
        return respond_error("denied", msg, rule);
    }
    if (!audited) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "the approval record could not be made durable; ticket %s "
                 "stays pending: %s", k.id, dbg_err_msg());
        return respond_error("error", msg, rule);
    }
    if (dbg_gw_tickets_take(gw->tickets, k.id, now, &k) != 0)
        return respond_error("denied", dbg_err_msg(), "ticket");
    /* A ticket filed under a policy that listed its destination, approved after the agent
     * restarted with one that does not (or filed by an earlier version): the policy now in
     * force decides where VMs may go. The ticket is used, as for any approved request that
     * cannot run, and its VM's tenant sees it closed. */
    if (k.request.op == DBG_OP_MIGRATE &&
        !dbg_gw_policy_migration_allowed(gw->policy, k.request.dest, why, sizeof(why))) {
        json_t *od = json_pack("{s:s,s:s,s:s,s:s,s:s}", "ticket", k.id, "approved_by", id->actor,
                               "rule", GW_RULE_DESTINATIONS, "reason", why, "dest",
                               k.request.dest);
        rec_args o = {&k.requester, k.decision.role, k.vm_tenant, "vm.migrate.outcome",
                      "refused", k.vm_name, k.vm_uuid, od};
        if (!od || audit_rec(gw, &o, NULL) != 0)
            dbg_warn("gateway: the record of approved ticket %s, not run, failed: %s", k.id,
                     dbg_err_msg());
        json_decref(od);
        dbg_gw_request_clear(&k.request);
        return respond_error("refused", why, GW_RULE_DESTINATIONS);
    }
    if (k.request.op == DBG_OP_MIGRATE)
        use_listed_dest(gw->policy, &k.request);
    /* Run the approved request as its requester, against the VM the ticket was filed for. */
    target t;
    memset(&t, 0, sizeof(t));
    char *resp;
    int rr;
    if (k.request.op == DBG_OP_CREATE) {
        rr = resolve_target(gw, id, c, &k.request, &t);
    } else {
        rr = lookup_target(c, k.vm_uuid[0] ? k.vm_uuid : k.request.vm, &t);
    }
    if (rr != 0) {
        /* The approved request does not run. Its ticket's VM's tenant saw it filed and approved
         * and is to see it closed (a refusal reached for another tenant's VM is recorded under
         * that VM, as when it is not reviewed, and said neutrally to the ticket's tenant). */
        char err[1100];
        snprintf(err, sizeof(err), "%s", dbg_err_msg());
        const char *opn = dbg_gw_op_name(k.request.op);
        DBG_AUTOFREE char *a_intent = dbg_asprintf("vm.%s.intent", opn);
        DBG_AUTOFREE char *a_outcome = dbg_asprintf("vm.%s.outcome", opn);
        int told = rr < 0 || reader_may_see(gw, NULL, k.vm_tenant, t.tenant);
        json_t *od = json_pack("{s:s,s:s,s:s}", "ticket", k.id, "approved_by", id->actor,
                               "reason", told ? err : "refused: a name, uuid or disk in the XML "
                               "is another tenant's VM's (recorded under that VM)");
        rec_args o = {&k.requester, k.decision.role, k.vm_tenant,
                      a_outcome ? a_outcome : "vm.outcome", rr > 0 ? "refused" : "failure",
                      k.vm_name, k.vm_uuid, od};
        int recorded = od && audit_rec(gw, &o, NULL) == 0;
        json_decref(od);
        if (rr > 0 && t.name[0]) {
            json_t *vd = json_pack("{s:s,s:s,s:s,s:s}", "decision", "deny", "reason", err,
                                   "ticket", k.id, "approved_by", id->actor);
            rec_args v = {&k.requester, k.decision.role, t.tenant,
                          a_intent ? a_intent : "vm.intent", "invalid", t.name, t.uuid, vd};
            recorded = recorded && vd && audit_rec(gw, &v, NULL) == 0;
            json_decref(vd);
        }
        if (!recorded)
            dbg_warn("gateway: the record of approved ticket %s, not run, failed: %s", k.id,
                     dbg_err_msg());
        if (rr > 0)
            resp = respond_taken(gw, id, &t, err); /* told to the approver */
        else
            resp = respond_error("failed", err, k.decision.rule);
    } else {
        dbg_gw_decision dec = k.decision;
        dec.verdict = DBG_GW_ALLOW;
        json_t *extra = json_pack("{s:s,s:s}", "ticket", k.id, "approved_by", id->actor);
        resp = run_allowed(gw, c, &k.requester, id, &k.request, &t, &dec, extra);
        json_decref(extra);
    }
    target_clear(&t);
    dbg_gw_request_clear(&k.request);
    return resp;
}

int dbg_gateway_handle(dbg_gateway *gw, const dbg_gw_identity *id, const char *line, size_t len,
                       char **response)
{
    dbg_gw_request req;
    target t;
    memset(&t, 0, sizeof(t));
    virConnectPtr c = NULL;
    char role[32] = "", mytenant[64] = "";
    char *action = NULL; /* freed at out: gotos below would skip an autofree's initializer */
    __atomic_add_fetch(&gw->requests, 1, __ATOMIC_RELAXED);
    (void)dbg_gw_policy_identify(gw->policy, id, role, mytenant);
    if (dbg_gw_request_parse(line, len, &req) != 0) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "bad request: %s", dbg_err_msg());
        json_t *d = json_pack("{s:s,s:I}", "reason", msg, "bytes", (json_int_t)len);
        rec_args a = {id, role, "", "vm.request", "invalid", "", "", d};
        if (audit_rec(gw, &a, NULL) != 0)
            dbg_warn("gateway: could not audit a bad request: %s", dbg_err_msg());
        json_decref(d);
        *response = respond_error("error", msg, NULL);
        return 0;
    }
    /* Only an identity whose role may migrate is told about destinations: any other is denied
     * as before, and would otherwise learn which hosts the policy lists. */
    if (req.op == DBG_OP_MIGRATE && dbg_gw_policy_role_may(gw->policy, id, DBG_OP_MIGRATE)) {
        char why[600];
        if (!dbg_gw_policy_migration_allowed(gw->policy, req.dest, why, sizeof(why))) {
            *response = refuse_destination(gw, id, role, &req, why);
            goto out;
        }
        use_listed_dest(gw->policy, &req);
    }
    if (!(c = get_conn(gw))) {
        *response = respond_error("error", dbg_err_msg(), NULL);
        goto out;
    }
    if (req.op == DBG_OP_APPROVE) {
        *response = handle_approve(gw, c, id, &req);
        goto out;
    }
    const char *opn = dbg_gw_op_name(req.op);
    int resolved = resolve_target(gw, id, c, &req, &t);
    if (t.found && !dbg_gw_policy_may_see(gw->policy, id, t.tenant)) {
        /* A VM the caller may not see is answered as no VM at all, whatever the policy would
         * have said (a scope denial names its tenant; any other answer tells it exists). The
         * record keeps what happened, under the VM's tenant. */
        dbg_gw_decision dec;
        dbg_gw_policy_decide(gw->policy, id, req.op, t.name, t.tenant, &dec);
        char msg[1100];
        snprintf(msg, sizeof(msg), "%s; the caller may not see this VM and was told it does "
                 "not exist", resolved == 0 ? dec.reason : dbg_err_msg());
        action = dbg_asprintf("vm.%s.intent", opn);
        json_t *d = json_pack("{s:s,s:s,s:s}", "decision", "deny", "rule",
                              resolved == 0 ? dec.rule : "", "reason", msg);
        rec_args a = {id, dec.role[0] ? dec.role : role, t.tenant,
                      action ? action : "vm.intent", resolved == 0 ? "denied" : "invalid",
                      t.name[0] ? t.name : req.vm, t.uuid, d};
        if (audit_rec(gw, &a, NULL) != 0)
            dbg_warn("gateway: could not audit a denied request: %s", dbg_err_msg());
        json_decref(d);
        *response = respond_no_such_vm(gw, id, req.vm);
        goto out;
    }
    if (resolved != 0) {
        char msg[1100];
        snprintf(msg, sizeof(msg), "%s", dbg_err_msg());
        /* A create the policy denies on its XML's own claims (a role without create, another
         * tenant's VM) is answered with that denial, not with whose name or disk it took:
         * those answers would let any identity probe other tenants' VM names and disks. */
        dbg_gw_decision pd;
        memset(&pd, 0, sizeof(pd));
        pd.verdict = DBG_GW_ALLOW;
        if (req.op == DBG_OP_CREATE && t.prepared)
            dbg_gw_policy_decide(gw->policy, id, req.op, t.xml_name, t.xml_tenant, &pd);
        action = dbg_asprintf("vm.%s.intent", opn);
        json_t *d = json_pack("{s:s,s:s}", "decision", "deny", "reason", msg);
        if (pd.verdict == DBG_GW_DENY) {
            json_object_set_new(d, "rule", json_string(pd.rule));
            json_object_set_new(d, "policy", json_string(pd.reason));
        }
        rec_args a = {id, pd.role[0] ? pd.role : role, t.tenant, action ? action : "vm.intent",
                      pd.verdict == DBG_GW_DENY ? "denied" : "invalid",
                      t.name[0] ? t.name : req.vm, t.uuid, d};
        (void)audit_rec(gw, &a, NULL);
        json_decref(d);
        if (pd.verdict == DBG_GW_DENY)
            *response = respond_error("denied", pd.reason, pd.rule);
        else if (resolved > 0)
            *response = respond_taken(gw, id, &t, msg);
        else if (req.op != DBG_OP_CREATE && !t.found)
            *response = respond_no_such_vm(gw, id, req.vm);
        else
            *response = respond_error("error", msg, NULL);
        goto out;
    }
    dbg_gw_decision dec;
    dbg_gw_policy_decide(gw->policy, id, req.op, t.name, t.tenant, &dec);
    if (dec.verdict == DBG_GW_ALLOW) {
        *response = run_allowed(gw, c, id, id, &req, &t, &dec, NULL);
        goto out;
    }
    action = dbg_asprintf("vm.%s.intent", opn);
    if (dec.verdict == DBG_GW_DENY) {
        json_t *d = json_pack("{s:s,s:s,s:s}", "decision", "deny", "rule", dec.rule, "reason",
                              dec.reason);
        rec_args a = {id, dec.role, t.tenant, action ? action : "vm.intent", "denied", t.name,
                      t.uuid, d};
        if (audit_rec(gw, &a, NULL) != 0)
            dbg_warn("gateway: could not audit a denied request: %s", dbg_err_msg());
        json_decref(d);
        *response = respond_error("denied", dec.reason, dec.rule);
        goto out;
    }
    /* REVIEW: file a ticket, audit it as pending; the approver's `vm approve` runs it. */
    if (req.op == DBG_OP_CREATE && t.xml) {
        /* the ticket keeps the prepared XML, whose uuid (made here when the request had none)
         * is the one the records name and the approval runs */
        char *x = req.xml;
        req.xml = t.xml;
        t.xml = x;
    }
    char tid[DBG_GW_TICKET_LEN + 1];
    if (dbg_gw_tickets_file(gw->tickets, id, &dec, &req, t.uuid, t.name, t.tenant, dbg_now_us(),
                            tid) != 0) {
        *response = respond_error("error", dbg_err_msg(), dec.rule);
        goto out;
    }
    json_t *d = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "decision", "review", "rule", dec.rule,
                          "reason", dec.reason, "ticket", tid, "approver_role", dec.approver_role,
                          "approver_tenant", dec.approver_tenant);
    rec_args a = {id, dec.role, t.tenant, action ? action : "vm.intent", "pending", t.name,
                  t.uuid, d};
    int audited = audit_rec(gw, &a, NULL) == 0;
    json_decref(d);
    if (!audited) {
        dbg_gw_ticket gone;
        if (dbg_gw_tickets_take(gw->tickets, tid, dbg_now_us(), &gone) == 0)
            dbg_gw_request_clear(&gone.request); /* withdrawn: nothing unaudited may run */
        *response = respond_error("error", "the intent record could not be made durable; no "
                                  "ticket was filed", dec.rule);
        goto out;
    }
    json_t *o = json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ok", 0, "status", "pending",
                          "op", opn, "vm", t.name, "ticket", tid, "rule", dec.rule,
                          "approver_role", dec.approver_role, "message", dec.reason);
    if (dec.approver_tenant[0])
        json_object_set_new(o, "approver_tenant", json_string(dec.approver_tenant));
    *response = respond(o);
out:
    free(action);
    target_clear(&t);
    dbg_gw_request_clear(&req);
    if (c)
        virConnectClose(c);
    return 0;
}
