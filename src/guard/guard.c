/* The running guard: its own libvirt event connection (platform/virt_events.h) with lifecycle
 * and reboot callbacks, driven by libvirt's default event loop in a dedicated thread; a periodic
 * timer notices a lost connection, reconnects, and reconciles so that changes made while it was
 * blind are still explained or alerted. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>

#include "dengbao/guard.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"
#include "platform/virt_events.h"

#define LAT_RING 8192
#define TICK_MS 200
#define VERIFY_QUEUE 64

struct dbg_guard {
    char *uri, *state_path;
    dbg_guard_opts o;
    pthread_t thr;
    int have_thr;
    volatile int stop;
    dbg_virt_events ev; /* the connection, its callbacks, the reconnect period */
    int timer;
    int64_t disconnected_since;
    pthread_mutex_t mu;         /* view, stats */
    dbg_guard_view view;
    int have_baseline;
    dbg_guard_stats st;
    int64_t lat[LAT_RING];
    uint64_t lat_total;
    /* Disk verification of started VMs (opts.integrity): a bounded FIFO under mu, drained by
     * its own thread so that hashing a disk never delays the event loop. */
    pthread_t vthr;
    int have_vthr;
    pthread_cond_t vcond;
    struct verify_job {
        dbg_guard_vm vm;
        char event[64];
        dbg_gw_disk *disks; /* volume paths resolved when queued, on the event thread */
        size_t n_disks;
    } vq[VERIFY_QUEUE];
    size_t vq_n;
};

/* Kept for its callers: the loop is the process's, shared with the sensor (platform.h). */
int dbg_guard_event_loop_init(void)
{
    return dbg_libvirt_event_loop_init();
}

static dbg_vm_state map_state(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
    case VIR_DOMAIN_BLOCKED:
    case VIR_DOMAIN_SHUTDOWN: return DBG_VM_RUNNING;
    case VIR_DOMAIN_PAUSED:
    case VIR_DOMAIN_PMSUSPENDED: return DBG_VM_PAUSED;
    default: return DBG_VM_OFF;
    }
}

/* Reads a domain into a view entry: 0, or -1 when it no longer exists. */
static int read_vm(virDomainPtr d, dbg_guard_vm *m, int want_tenant)
{
    memset(m, 0, sizeof(*m));
    if (virDomainGetUUIDString(d, m->uuid) != 0)
        return -1;
    snprintf(m->name, sizeof(m->name), "%s", virDomainGetName(d));
    int st = 0, reason = 0;
    if (virDomainGetState(d, &st, &reason, 0) != 0)
        return -1;
    m->state = map_state(st);
    m->persistent = virDomainIsPersistent(d) == 1;
    if (want_tenant) {
        char *xml = virDomainGetXMLDesc(d, 0);
        if (xml && dbg_gw_domain_tenant(xml, m->tenant) != 0)
            m->tenant[0] = 0;
        free(xml);
    }
    return 0;
}

static void save_view(dbg_guard *g)
{
    if (g->state_path && dbg_guard_view_save(&g->view, g->state_path) != 0)
        dbg_warn("guard: cannot save state %s: %s", g->state_path, dbg_err_msg());
}

static void record_latency(dbg_guard *g, int64_t us)
{
    g->lat[g->lat_total % LAT_RING] = us;
    g->lat_total++;
}

/* The audit record of a detection (alert.TYPE, outcome "detected") under the VM's tenant, so the
 * tenant's export shows what the guard saw happen to its VM. */
static void record_detection(dbg_guard *g, const char *type, const dbg_guard_vm *vm,
                             const char *extra)
{
    if (!g->o.audit)
        return;
    dbg_audit_record rec;
    memset(&rec, 0, sizeof(rec));
    char action[80], source[300];
    snprintf(action, sizeof(action), "alert.%s", type);
    snprintf(source, sizeof(source), "libvirt:%s", g->uri);
    rec.actor = "dengbao-guard";
    rec.role = "system";
    rec.tenant = vm->tenant;
    rec.action = action;
    rec.target_type = "domain";
    rec.target_name = vm->name;
    rec.target_uuid = vm->uuid;
    rec.outcome = "detected";
    rec.source = source;
    rec.details_json = extra;
    uint64_t seq;
    if (g->o.audit(g->o.audit_ctx, &rec, &seq) != 0)
        dbg_warn("guard: audit record for %s not written: %s", type, dbg_err_msg());
}

/* Raises the alert and writes its audit record; caller holds mu. */
static void raise_alert(dbg_guard *g, const dbg_guard_change *c, const char *type, int64_t t_recv)
{
    dbg_alert a;
    char evidence[1024], extra[2048];
    dbg_guard_make_alert(c, type, &a, evidence, sizeof(evidence), extra, sizeof(extra));
    if (g->o.alert && g->o.alert(g->o.alert_ctx, &a) < 0)
        dbg_warn("guard: alert %s for %s not written: %s", type, c->vm.name, dbg_err_msg());
    int64_t lat = dbg_now_us() - t_recv;
    if (!c->from_reconcile)
        record_latency(g, lat);
    g->st.alerts++;
    dbg_info("guard: %s: %s (%lld us after the event)", type, evidence, (long long)lat);
    record_detection(g, type, &c->vm, extra);
}

/* ---- disk verification of started VMs ---- */

/* Queues a started VM's disks for verification; caller holds mu. */
static void queue_verify(dbg_guard *g, virDomainPtr dom, const dbg_guard_vm *vm, const char *event)
{
    if (!g->o.integrity || !g->have_vthr)
        return;
    if (g->vq_n == VERIFY_QUEUE) {
        dbg_warn("guard: disk verification queue full; %s not verified", vm->name);
        return;
    }
    /* The live definition: the disks the VM was started on. The stored (inactive) one can
     * name other disks (`virsh create` of a defined domain's name and uuid, a definition
     * replaced while it runs). */
    char *xml = virDomainGetXMLDesc(dom, 0);
    if (!xml) {
        dbg_warn("guard: cannot read the XML of %s to verify its disks: %s", vm->name,
                 virGetLastErrorMessage());
        return;
    }
    dbg_gw_disk *d = NULL;
    size_t n = 0;
    int parsed = dbg_gw_domain_disks(xml, &d, &n);
    free(xml);
    if (parsed != 0) {
        dbg_warn("guard: disks of %s not verified: %s", vm->name, dbg_err_msg());
        return;
    }
    gw_resolve_volumes(virDomainGetConnect(dom), d, n); /* pool volumes: no path in the XML */
    /* The VM runs: libvirt found its volume at start. A pool undefined since (a directory
     * pool's files stay where they were) says nothing of the file, so it is not "missing"
     * here as it is to a start; a volume deleted from its active pool is gone with its file. */
    for (size_t i = 0; i < n; i++)
        if (d[i].volume_state == DBG_GW_VOL_NO_POOL)
            d[i].volume_state = DBG_GW_VOL_UNKNOWN;
    struct verify_job *j = &g->vq[g->vq_n++];
    j->vm = *vm;
    snprintf(j->event, sizeof(j->event), "%s", event);
    j->disks = d;
    j->n_disks = n;
    pthread_cond_signal(&g->vcond);
}

/* Verifies one VM's sealed disks; a failure is an alert and an audit record. */
static void verify_vm(dbg_guard *g, struct verify_job *j)
{
    char *report = NULL;
    int bad = dbg_gw_verify_disk_list(j->disks, j->n_disks, g->o.integrity, &report);
    if (bad < 0) {
        dbg_warn("guard: disks of %s not verified: %s", j->vm.name, dbg_err_msg());
        return;
    }
    pthread_mutex_lock(&g->mu);
    g->st.disk_checks++;
    if (bad)
        g->st.disk_alerts++;
    pthread_mutex_unlock(&g->mu);
    if (!bad) {
        dbg_debug("guard: sealed disks of %s intact", j->vm.name);
        free(report);
        return;
    }
    dbg_alert a;
    dbg_alert_init(&a, "image_integrity_mismatch", DBG_SEV_HIGH, "8.2.4.4b");
    snprintf(a.category, sizeof(a.category), "Image or snapshot tampering");
    a.src.port = a.dst.port = -1;
    snprintf(a.dst.vm_name, sizeof(a.dst.vm_name), "%.127s", j->vm.name);
    snprintf(a.dst.vm_uuid, sizeof(a.dst.vm_uuid), "%s", j->vm.uuid);
    snprintf(a.dst.tenant, sizeof(a.dst.tenant), "%s", j->vm.tenant);
    char evidence[1024];
    if (g->o.integrity->require_seal) /* an unsealed disk counts: it proves nothing either */
        snprintf(evidence, sizeof(evidence),
                 "VM %s (uuid %s) was started (%s) with %d disk(s) "
                 "that fail their seal manifest, have none (integrity.require_seal) or whose "
                 "file is missing; it is running on content not shown to be a sealed image",
                 j->vm.name, j->vm.uuid, j->event, bad);
    else
        snprintf(evidence, sizeof(evidence),
                 "VM %s (uuid %s) was started (%s) with %d disk(s) "
                 "that fail their seal manifest or whose file is missing; it is running on "
                 "content not shown to be the sealed image",
                 j->vm.name, j->vm.uuid, j->event, bad);
    a.evidence = evidence;
    json_t *x = json_pack("{s:s,s:s,s:s,s:o*}", "vm", j->vm.name, "uuid", j->vm.uuid, "event",
                          j->event, "disks", report ? json_loads(report, 0, NULL) : NULL);
    char *extra = x ? json_dumps(x, JSON_COMPACT) : NULL;
    json_decref(x);
    free(report);
    a.extra_json = extra;
    if (g->o.alert && g->o.alert(g->o.alert_ctx, &a) < 0)
        dbg_warn("guard: alert image_integrity_mismatch for %s not written: %s", j->vm.name,
                 dbg_err_msg());
    dbg_info("guard: image_integrity_mismatch: %s", evidence);
    record_detection(g, "image_integrity_mismatch", &j->vm, extra);
    free(extra);
}

static void *verify_main(void *arg)
{
    dbg_guard *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->vq_n && !g->stop)
            pthread_cond_wait(&g->vcond, &g->mu);
        if (g->stop)
            break;
        struct verify_job j = g->vq[0];
        memmove(&g->vq[0], &g->vq[1], (g->vq_n - 1) * sizeof(g->vq[0]));
        g->vq_n--;
        pthread_mutex_unlock(&g->mu);
        verify_vm(g, &j);
        free(j.disks);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* Alerts c when nothing explains it; returns the ledger id of what did (0 = none). */
static uint64_t handle_change(dbg_guard *g, const dbg_guard_change *c, int64_t t_recv,
                              const dbg_gw_window *w)
{
    const char *type = NULL;
    char actor[300];
    uint64_t by = 0;
    if (dbg_guard_evaluate(g->o.ledger, c, w, &type, actor, &by)) {
        raise_alert(g, c, type, t_recv);
    } else if (actor[0]) {
        g->st.authorized++;
        dbg_debug("guard: %s of %s explained by the gateway (%s)", c->event, c->vm.name, actor);
    }
    return by;
}

static void on_event(dbg_guard *g, virDomainPtr dom, int event, int detail)
{
    int64_t t_recv = dbg_now_us();
    dbg_guard_change c;
    memset(&c, 0, sizeof(c));
    c.kind = dbg_guard_classify(event, detail);
    c.time_us = t_recv;
    c.detail = detail;
    snprintf(c.event, sizeof(c.event), "%s", dbg_guard_event_name(event, detail));
    virDomainGetUUIDString(dom, c.vm.uuid);
    snprintf(c.vm.name, sizeof(c.vm.name), "%s", virDomainGetName(dom));
    pthread_mutex_lock(&g->mu);
    g->st.events++;
    dbg_guard_vm *known = dbg_guard_view_find(&g->view, c.vm.uuid);
    /* qemu starts a domain with CPUs paused and then resumes them: the RESUMED event of a VM
     * that was off is part of the start, which its own STARTED event accounts for. */
    if (known && c.kind == DBG_GEV_RESUME && known->state == DBG_VM_OFF)
        c.kind = DBG_GEV_OTHER;
    if (known) {
        snprintf(c.vm.tenant, sizeof(c.vm.tenant), "%s", known->tenant);
        c.vm.persistent = known->persistent;
        c.vm.paused = known->paused;
        c.vm.paused_by = known->paused_by;
    } else if (c.kind != DBG_GEV_DELETE) {
        dbg_guard_vm m;
        if (read_vm(dom, &m, 1) == 0) {
            snprintf(c.vm.tenant, sizeof(c.vm.tenant), "%s", m.tenant);
            c.vm.persistent = m.persistent;
            /* `virsh create`: a transient domain never defined starts -> a creation. (A domain
             * already gone when the event is read is not known to be transient.) */
            if (c.kind == DBG_GEV_START && !m.persistent)
                c.kind = DBG_GEV_CREATE;
        }
    }
    uint64_t by = handle_change(g, &c, t_recv, &g->o.window);
    if (c.kind == DBG_GEV_START || (c.kind == DBG_GEV_CREATE && event == VIR_DOMAIN_EVENT_STARTED))
        queue_verify(g, dom, &c.vm, c.event);
    /* Then bring the view up to date and make it durable. */
    dbg_guard_vm m;
    if (read_vm(dom, &m, !known) == 0) {
        if (known)
            snprintf(m.tenant, sizeof(m.tenant), "%s", known->tenant);
        /* what paused it goes with the events, not with the state read now */
        m.paused = known ? known->paused : 0;
        m.paused_by = known ? known->paused_by : 0;
        if (event == VIR_DOMAIN_EVENT_SUSPENDED) {
            m.paused = 1;
            m.paused_by = by;
        } else if (event == VIR_DOMAIN_EVENT_RESUMED || event == VIR_DOMAIN_EVENT_STARTED ||
                   event == VIR_DOMAIN_EVENT_STOPPED) {
            m.paused = 0;
            m.paused_by = 0;
        }
        dbg_guard_view_put(&g->view, &m);
    } else {
        dbg_guard_view_remove(&g->view, c.vm.uuid);
    }
    save_view(g);
    pthread_mutex_unlock(&g->mu);
}

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
    (void)conn;
    on_event(opaque, dom, event, detail);
    return 0;
}

static void on_reboot(virConnectPtr conn, virDomainPtr dom, void *opaque)
{
    (void)conn;
    on_event(opaque, dom, DBG_GUARD_REBOOT_EVENT, 0);
}

static const dbg_virt_event_sub guard_events[] = {
    {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 1},
    {VIR_DOMAIN_EVENT_ID_REBOOT, VIR_DOMAIN_EVENT_CALLBACK(on_reboot), 1},
};

static void on_close(void *opaque, int reason)
{
    dbg_guard *g = opaque;
    dbg_warn("guard: connection to %s closed (reason %d); will reconnect and reconcile", g->uri,
             reason);
}

/* Compares libvirt's domains now with the durable view; alerts what nothing explains. */
static int reconcile(dbg_guard *g)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(g->ev.conn, &doms, 0);
    if (n < 0) {
        dbg_err_set(DBG_ERR_LIBVIRT, "guard: listing domains: %s", virGetLastErrorMessage());
        return -1;
    }
    dbg_guard_view now;
    memset(&now, 0, sizeof(now));
    for (int i = 0; i < n; i++) {
        dbg_guard_vm m;
        if (read_vm(doms[i], &m, 1) == 0)
            dbg_guard_view_put(&now, &m);
        virDomainFree(doms[i]);
    }
    free(doms);
    int64_t t = dbg_now_us();
    pthread_mutex_lock(&g->mu);
    g->st.reconciles++;
    if (g->have_baseline) {
        dbg_guard_change *ch = NULL;
        size_t nch = 0;
        if (dbg_guard_view_diff(&g->view, &now, t, &ch, &nch) == 0) {
            /* What the gateway authorized while we were blind still counts. */
            dbg_gw_window w = g->o.window;
            if (g->disconnected_since)
                w.grace_us += t - g->disconnected_since;
            for (size_t i = 0; i < nch; i++) {
                handle_change(g, &ch[i], t, &w);
                if (ch[i].kind == DBG_GEV_START && g->o.integrity) {
                    virDomainPtr d = virDomainLookupByUUIDString(g->ev.conn, ch[i].vm.uuid);
                    if (d) {
                        queue_verify(g, d, &ch[i].vm, ch[i].event);
                        virDomainFree(d);
                    }
                }
            }
        }
        free(ch);
    } else {
        dbg_info("guard: no earlier state; %zu domains taken as the baseline", now.n);
    }
    for (size_t i = 0; i < now.n; i++) {
        /* Paused with no SUSPENDED seen (it came while the guard was blind, or before it ran):
         * by someone, so only a resume explains its end. Still paused as when the view had it
         * so: the same pause, by whatever paused it then. */
        dbg_guard_vm *m = &now.vms[i], *was = dbg_guard_view_find(&g->view, m->uuid);
        m->paused = m->state == DBG_VM_PAUSED;
        m->paused_by = m->paused && was && was->paused ? was->paused_by : 0;
    }
    dbg_guard_view_clear(&g->view);
    g->view = now;
    g->have_baseline = 1;
    save_view(g);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

static void set_connected(dbg_guard *g, int connected)
{
    pthread_mutex_lock(&g->mu);
    g->st.connected = connected;
    pthread_mutex_unlock(&g->mu);
}

static void disconnect(dbg_guard *g)
{
    if (!g->ev.conn)
        return;
    dbg_virt_events_close(&g->ev);
    set_connected(g, 0);
}

/* After the connection was opened: subscribed first, then reconciled, so nothing falls between
 * the two. */
static int sync_after_connect(dbg_guard *g)
{
    if (reconcile(g) != 0) {
        disconnect(g);
        return -1;
    }
    set_connected(g, 1);
    g->disconnected_since = 0;
    return 0;
}

static void on_tick(int timer, void *opaque)
{
    (void)timer;
    dbg_guard *g = opaque;
    if (g->stop)
        return;
    int dropped = 0;
    int opened = dbg_virt_events_keep(&g->ev, &dropped);
    if (dropped) {
        set_connected(g, 0);
        g->disconnected_since = dbg_now_us();
    }
    if (opened == 0)
        return;
    if (opened == 1 && sync_after_connect(g) == 0) {
        pthread_mutex_lock(&g->mu);
        g->st.reconnects++;
        pthread_mutex_unlock(&g->mu);
        dbg_warn("guard: reconnected to %s and reconciled", g->uri);
    } else {
        dbg_debug("guard: reconnect failed: %s", dbg_err_msg());
    }
}

static void *loop_main(void *arg)
{
    dbg_guard *g = arg;
    while (!g->stop) {
        if (virEventRunDefaultImpl() < 0)
            break;
    }
    return NULL;
}

dbg_guard *dbg_guard_start(const dbg_guard_opts *o)
{
    if (dbg_guard_event_loop_init() != 0)
        return NULL;
    dbg_guard *g = dbg_calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->vcond, NULL);
    g->o = *o;
    if (g->o.integrity) {
        if (pthread_create(&g->vthr, NULL, verify_main, g) != 0) {
            dbg_err_set(DBG_ERR_INTERNAL, "guard: cannot start the disk verification thread");
            goto fail;
        }
        g->have_vthr = 1;
    }
    g->timer = -1;
    if (!g->o.window.skew_us && !g->o.window.grace_us && !g->o.window.inflight_us) {
        g->o.window.skew_us = 1000000;
        g->o.window.grace_us = 10000000;
        g->o.window.inflight_us = 300000000;
    }
    if (g->o.reconnect_ms <= 0)
        g->o.reconnect_ms = 1000;
    if (!(g->uri = dbg_strdup(o->uri ? o->uri : "qemu:///system")))
        goto fail;
    dbg_virt_events_init(&g->ev, g->uri, "guard: ", 0, guard_events,
                         sizeof(guard_events) / sizeof(guard_events[0]), g, on_close,
                         (int64_t)g->o.reconnect_ms * 1000);
    if (o->state_path) {
        if (!(g->state_path = dbg_strdup(o->state_path)))
            goto fail;
        char *dir = dbg_strdup(o->state_path);
        char *slash = dir ? strrchr(dir, '/') : NULL;
        if (slash && slash != dir) {
            *slash = 0;
            dbg_mkdir_p(dir, 0700);
        }
        free(dir);
        int lr = dbg_guard_view_load(&g->view, g->state_path);
        if (lr < 0)
            goto fail;
        g->have_baseline = lr == 1;
    }
    if (dbg_virt_events_open(&g->ev) != 0 || sync_after_connect(g) != 0)
        goto fail;
    if ((g->timer = virEventAddTimeout(TICK_MS, on_tick, g, NULL)) < 0) {
        dbg_err_set(DBG_ERR_LIBVIRT, "guard: cannot add a timer to the event loop");
        goto fail;
    }
    if (pthread_create(&g->thr, NULL, loop_main, g) != 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "guard: cannot start the event loop thread");
        goto fail;
    }
    g->have_thr = 1;
    return g;
fail:
    dbg_guard_stop(g);
    return NULL;
}

void dbg_guard_stop(dbg_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->mu);
    g->stop = 1;
    pthread_cond_broadcast(&g->vcond);
    pthread_mutex_unlock(&g->mu);
    if (g->have_thr)
        pthread_join(g->thr, NULL); /* the tick wakes the loop within TICK_MS */
    if (g->have_vthr)
        pthread_join(g->vthr, NULL); /* a verification under way finishes first */
    for (size_t i = 0; i < g->vq_n; i++)
        free(g->vq[i].disks); /* not verified: the guard is stopping */
    if (g->timer >= 0)
        virEventRemoveTimeout(g->timer);
    disconnect(g);
    dbg_guard_view_clear(&g->view);
    free(g->uri);
    free(g->state_path);
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->vcond);
    free(g);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void dbg_guard_get_stats(dbg_guard *g, dbg_guard_stats *out)
{
    pthread_mutex_lock(&g->mu);
    *out = g->st;
    size_t n = g->lat_total < LAT_RING ? (size_t)g->lat_total : LAT_RING;
    int64_t *copy = n ? dbg_malloc(n * sizeof(int64_t)) : NULL;
    if (copy)
        memcpy(copy, g->lat, n * sizeof(int64_t));
    out->latency_n = g->lat_total;
    pthread_mutex_unlock(&g->mu);
    if (copy) {
        qsort(copy, n, sizeof(int64_t), cmp_i64);
        out->latency_p50_us = copy[(n - 1) / 2];
        out->latency_p99_us = copy[(n * 99 + 99) / 100 - 1];
        out->latency_max_us = copy[n - 1];
        free(copy);
    }
}
