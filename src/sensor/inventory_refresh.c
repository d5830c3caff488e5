/* Keeps a live sensor's attribution current: VMs started, stopped or moved after the sensor
 * started (a new VM's spoofing, its cross-tenant traffic) are only attributed from an inventory
 * that lists them. A thread of its own reloads the --inventory file when it changes (a cron job
 * or the agent running `dengbao collect -o`) or collects -c URI again, so the capture loop never
 * waits on libvirt (a blocked loop fills the kernel buffer and drops); the loop takes the newer
 * inventory between packets. A failed reload keeps the previous inventory and is reported.
 * The file is looked at (stat: inode, size, mtime) every tick, not every period: a tap name
 * another tenant's VM took over is misattributed until the new snapshot is read, and a stat
 * costs about a microsecond. Not SIGHUP: what writes the file (cron, collect -o, an
 * orchestrator) does not know the sensor's pid, nor that the agent's sensor is its child. A
 * change is read once it has stayed the same for FILE_SETTLE_US (a file written in place is
 * seldom read half-written), and a file that failed is not read again until it changes.
 * With -c URI the thread also listens to libvirt's domain events: a VM started, stopped,
 * defined, undefined or given a device is collected again at once, not at the next period,
 * because libvirt hands a destroyed VM's tap name (vnet0) to the next VM started, maybe another
 * tenant's, whose traffic would be attributed to the old VM until then. The period stays as the
 * fallback (events missed while the connection was down, a driver without events).
 * The event connection is opened read-only before the sensor gives up root (--user) and the
 * inventory is collected over it: a system libvirtd lets an unprivileged process open its
 * read-write socket only with a polkit agent to ask (org.libvirt.unix.manage), and its
 * read-only one only through polkitd on the system bus, which a host may not run; a connection
 * root opened keeps root's standing. Only one lost later is opened again as the user. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/util.h"
#include "platform/virt_events.h"
#include "sensor/sensor_internal.h"

#define TICK_MS 100
#define EVENT_SETTLE_US (200 * 1000)        /* a burst of events, one reload */
#define FILE_SETTLE_US (200 * 1000)         /* a file being written, read once it stopped */
#define EVENT_RECONNECT_US (10 * 1000000LL) /* a lost event connection, opened again */

struct sn_inv_refresher {
    char *path, *uri;
    int64_t interval_us;
    pthread_t thr;
    atomic_int stop;
    _Atomic(dbg_sensor_inventory *) fresh; /* loaded and not taken yet */
    struct stat file_st;                   /* the file as last loaded */
    struct stat failed_st;                 /* the file as it last failed to load */
    struct stat pending_st;                /* a change seen, not read yet */
    int failed_valid, pending_valid;       /* the two above are set */
    int64_t pending_us;                    /* monotonic: the pending change first seen */
    int stat_errno;                        /* the last look at the file failed (0: no) */
    pthread_mutex_t lock;                  /* guards the two below */
    int64_t loaded_us;                     /* wall clock of the inventory in use */
    int64_t failing_us;                    /* wall clock: reloads fail since (0 = they don't) */
    char error[512];                       /* the last reload's failure, "" after a success */
    atomic_uint changes;                   /* bumped when the two above change */
    /* libvirt events (-c URI). The callbacks run on the thread that runs libvirt's event loop,
     * the refresher's own unless another part of the process runs it too (the guard): what
     * they set is atomic (dirty_us, ev.lost); the rest is the refresher thread's. */
    atomic_llong dirty_us; /* an event asked for a reload since (0 = none) */
    dbg_virt_events ev;    /* the connection, its callbacks, the reconnect period */
    int events;            /* libvirt's event loop registered, ev in use */
    int timer;             /* wakes the event loop every TICK_MS */
    int said_no_events;    /* the warning below, once per failure */
    int running;           /* the thread was started */
};

/* The file's identity and age: a rewrite in place or a rename over it both change one. */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* A reload that failed (dbg_err set): the previous inventory stays; said once per run of
 * failures with the same error (a new error is said too), kept for the status file. */
static void reload_failed(sn_inv_refresher *r)
{
    pthread_mutex_lock(&r->lock);
    int news = strncmp(r->error, dbg_err_msg(), sizeof(r->error) - 1) != 0;
    if (news)
        dbg_warn("sensor: inventory not reloaded, the previous one stays in use: %s",
                 dbg_err_msg());
    if (!r->error[0]) /* the first of a run of failures: since when the inventory is stale */
        r->failing_us = dbg_now_us();
    snprintf(r->error, sizeof(r->error), "%s", dbg_err_msg());
    dbg_utf8_trim_partial(r->error);
    pthread_mutex_unlock(&r->lock);
    if (news)
        atomic_fetch_add(&r->changes, 1);
    dbg_err_clear();
}

/* Loads the inventory again (the file, or -c collected); st: the file as looked at just
 * before, recorded as loaded or as failed. The new one is handed over whole or not at all. */
static int load(sn_inv_refresher *r, dbg_sensor_inventory *inv)
{
    if (r->path)
        return dbg_sensor_inventory_load(inv, r->path, NULL);
    /* Read-only: the sensor only reads (no secure XML then), and a user may open no other
     * kind. Without the event connection (lost, or a driver without events) on one of its
     * own, as the inventory before this change was. */
    dbg_collect_opts co = {.uri = r->uri, .host_root = "/", .read_only = 1, .no_storage = 1};
    dbg_snapshot *s =
        r->ev.conn ? dbg_platform_collect_on(r->ev.conn, &co) : dbg_snapshot_collect(&co);
    if (!s)
        return -1;
    int rc = dbg_sensor_inventory_from_snapshot(inv, s);
    dbg_snapshot_free(s);
    return rc;
}

static void reload(sn_inv_refresher *r, const struct stat *st)
{
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    if (!inv || load(r, inv) != 0) {
        dbg_sensor_inventory_free(inv);
        if (st) {
            r->failed_st = *st;
            r->failed_valid = 1;
        }
        reload_failed(r);
        return;
    }
    if (st) {
        r->file_st = *st;
        r->failed_valid = 0;
    }
    dbg_sensor_inventory_free(atomic_exchange(&r->fresh, inv)); /* one the loop never took */
    pthread_mutex_lock(&r->lock);
    r->loaded_us = dbg_now_us();
    if (r->error[0])
        dbg_warn("sensor: inventory reloaded from %s after the failure above",
                 r->path ? r->path : r->uri);
    r->error[0] = '\0';
    r->failing_us = 0;
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_add(&r->changes, 1);
}

/* --inventory FILE, every tick: reloaded once a change has stayed FILE_SETTLE_US. */
static void file_check(sn_inv_refresher *r, int64_t now)
{
    struct stat st;
    if (stat(r->path, &st) != 0) {
        if (errno != r->stat_errno) { /* gone while being replaced, or for good: said once */
            r->stat_errno = errno;
            dbg_err_errno(DBG_ERR_IO, "%s: cannot look at the inventory", r->path);
            reload_failed(r);
        }
        r->pending_valid = 0;
        return;
    }
    int looked_again = r->stat_errno != 0;
    r->stat_errno = 0;
    if (same_file(&st, &r->file_st)) { /* unchanged, or back as it was loaded */
        r->pending_valid = 0;
        if (looked_again) {
            pthread_mutex_lock(&r->lock);
            r->error[0] = '\0';
            r->failing_us = 0;
            pthread_mutex_unlock(&r->lock);
            atomic_fetch_add(&r->changes, 1);
        }
        return;
    }
    if (r->failed_valid && same_file(&st, &r->failed_st)) {
        r->pending_valid = 0; /* what failed is read again only once it changes */
        return;
    }
    if (!r->pending_valid || !same_file(&st, &r->pending_st)) {
        r->pending_st = st;
        r->pending_valid = 1;
        r->pending_us = now;
        return;
    }
    if (now - r->pending_us < FILE_SETTLE_US)
        return;
    r->pending_valid = 0;
    reload(r, &st);
}

/* ---- libvirt events: each marks the inventory out of date ---- */
static void mark_dirty(sn_inv_refresher *r)
{
    long long none = 0; /* the first event of a burst sets the time */
    atomic_compare_exchange_strong(&r->dirty_us, &none, (long long)dbg_monotonic_us());
}

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
    (void)c;
    (void)d;
    (void)event;
    (void)detail;
    mark_dirty(opaque);
    return 0;
}

static void on_device(virConnectPtr c, virDomainPtr d, const char *alias, void *opaque)
{
    (void)c;
    (void)d;
    (void)alias;
    mark_dirty(opaque); /* a NIC hot-plugged or unplugged: a tap came or went */
}

static void on_metadata(virConnectPtr c, virDomainPtr d, int type, const char *nsuri, void *opaque)
{
    (void)c;
    (void)d;
    (void)type;
    (void)nsuri;
    mark_dirty(opaque); /* the tenant is metadata */
}

/* drivers without the last three still give the lifecycle events */
static const dbg_virt_event_sub refresh_events[] = {
    {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 1},
    {VIR_DOMAIN_EVENT_ID_DEVICE_ADDED, VIR_DOMAIN_EVENT_CALLBACK(on_device), 0},
    {VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, VIR_DOMAIN_EVENT_CALLBACK(on_device), 0},
    {VIR_DOMAIN_EVENT_ID_METADATA_CHANGE, VIR_DOMAIN_EVENT_CALLBACK(on_metadata), 0},
};

static void on_tick(int timer, void *opaque)
{
    (void)timer;
    (void)opaque; /* only wakes virEventRunDefaultImpl, so the thread sees stop and the time */
}

/* Keeps the event connection open (tried again every EVENT_RECONNECT_US): 1 when it was
 * opened just now, so what happened while there was none (before the first, since the
 * inventory in use was collected) is collected: subscribed first, then collected. */
static int events_keep(sn_inv_refresher *r)
{
    int opened = dbg_virt_events_keep(&r->ev, NULL);
    if (opened == 0)
        return 0;
    if (opened < 0 && r->ev.refused && geteuid() != 0) {
        /* As a user (--user): the connection root opened is gone and libvirt refuses the user
         * one (a system libvirtd: unless polkit allows it). Collecting on a connection of its
         * own would be refused the same way, so the inventory now stays as it was: said at
         * once, in the warning and the status, not at the next period. */
        char why[400];
        snprintf(why, sizeof(why), "%s", dbg_err_msg());
        dbg_utf8_trim_partial(why);
        dbg_err_set(DBG_ERR_LIBVIRT,
                    "%s (as uid %u, after the connection was lost; tried again every %lld s; a "
                    "system libvirtd lets an unprivileged client connect, read-only, only where "
                    "polkit allows it org.libvirt.unix.monitor)",
                    why, (unsigned)geteuid(), EVENT_RECONNECT_US / 1000000);
        reload_failed(r);
        r->said_no_events = 1;
        return 0;
    }
    if (opened < 0) {
        if (!r->said_no_events)
            dbg_warn("sensor: no libvirt events from %s (%s): the inventory is collected again "
                     "every %lld s only, tried again every %lld s",
                     r->uri, dbg_err_msg(), (long long)(r->interval_us / 1000000),
                     EVENT_RECONNECT_US / 1000000);
        r->said_no_events = 1;
        dbg_err_clear();
        return 0;
    }
    if (r->said_no_events)
        dbg_warn("sensor: libvirt events from %s again", r->uri);
    r->said_no_events = 0;
    return 1;
}

static void *refresher_main(void *arg)
{
    sn_inv_refresher *r = arg;
    int64_t next = dbg_monotonic_us() + r->interval_us;
    int events = r->events;
    if (events && (r->timer = virEventAddTimeout(TICK_MS, on_tick, r, NULL)) < 0) {
        dbg_warn("sensor: cannot add a timer to libvirt's event loop: the inventory is collected "
                 "again every %lld s only",
                 (long long)(r->interval_us / 1000000));
        events = 0;
    }
    if (events && events_keep(r))
        mark_dirty(r);
    while (!atomic_load(&r->stop)) {
        if (events) {
            virEventRunDefaultImpl(); /* events, or the tick within TICK_MS */
            if (events_keep(r))
                mark_dirty(r);
        } else {
            struct timespec nap = {0, TICK_MS * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
        int64_t now = dbg_monotonic_us();
        long long dirty = atomic_load(&r->dirty_us);
        if (r->path) {
            file_check(r, now);
        } else if (events && r->ev.refused && geteuid() != 0) {
            continue; /* refused as the user: said by events_keep, which tries again */
        } else if (dirty && now - dirty >= EVENT_SETTLE_US) {
            atomic_store(&r->dirty_us, 0); /* an event during the reload asks for the next */
            reload(r, NULL);
            next = dbg_monotonic_us() + r->interval_us;
        } else if (now >= next) {
            reload(r, NULL);
            next = dbg_monotonic_us() + r->interval_us;
        }
    }
    dbg_virt_events_close(&r->ev);
    if (r->timer >= 0)
        virEventRemoveTimeout(r->timer);
    return NULL;
}

static void refresher_free(sn_inv_refresher *r)
{
    dbg_virt_events_close(&r->ev); /* opened and the thread never started */
    dbg_sensor_inventory_free(atomic_load(&r->fresh));
    pthread_mutex_destroy(&r->lock);
    free(r->path);
    free(r->uri);
    free(r);
}

sn_inv_refresher *sn_inv_refresher_new(const char *path, const char *uri, int interval_s)
{
    sn_inv_refresher *r = dbg_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    atomic_init(&r->stop, 0);
    atomic_init(&r->fresh, NULL);
    atomic_init(&r->changes, 0);
    atomic_init(&r->dirty_us, 0);
    pthread_mutex_init(&r->lock, NULL);
    r->timer = -1;
    r->interval_us = (int64_t)interval_s * 1000000;
    r->loaded_us = dbg_now_us(); /* the caller loaded the first one just now */
    if ((path && !(r->path = dbg_strdup(path))) || (uri && !(r->uri = dbg_strdup(uri)))) {
        refresher_free(r);
        return NULL;
    }
    dbg_virt_events_init(&r->ev, r->uri, "", 1, refresh_events,
                         sizeof(refresh_events) / sizeof(refresh_events[0]), r, NULL,
                         EVENT_RECONNECT_US);
    /* the file the first inventory came from: a change after this is reloaded */
    if (path && stat(path, &r->file_st) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot look at the inventory", path);
        refresher_free(r);
        return NULL;
    }
    if (r->uri && !(r->events = dbg_libvirt_event_loop_init() == 0)) {
        dbg_warn("sensor: %s: the inventory is collected again every %lld s only", dbg_err_msg(),
                 (long long)(r->interval_us / 1000000));
        dbg_err_clear();
    }
    /* opened here, while the caller may still be root (see the top); what happened since the
     * caller's first inventory is collected once the thread runs */
    if (r->events && events_keep(r))
        mark_dirty(r);
    return r;
}

int sn_inv_refresher_run(sn_inv_refresher *r)
{
    if (pthread_create(&r->thr, NULL, refresher_main, r) != 0) {
        dbg_err_set(DBG_ERR_IO, "cannot start the inventory refresh thread");
        return -1;
    }
    r->running = 1;
    return 0;
}

sn_inv_refresher *sn_inv_refresher_start(const char *path, const char *uri, int interval_s)
{
    sn_inv_refresher *r = sn_inv_refresher_new(path, uri, interval_s);
    if (r && sn_inv_refresher_run(r) != 0) {
        sn_inv_refresher_stop(r);
        return NULL;
    }
    return r;
}

dbg_sensor_inventory *sn_inv_refresher_take(sn_inv_refresher *r)
{
    return r ? atomic_exchange(&r->fresh, NULL) : NULL;
}

unsigned sn_inv_refresher_changes(sn_inv_refresher *r)
{
    return r ? atomic_load(&r->changes) : 0;
}

void sn_inv_refresher_state(sn_inv_refresher *r, int64_t *loaded_us, int64_t *failing_us,
                            char *error, size_t size)
{
    pthread_mutex_lock(&r->lock);
    *loaded_us = r->loaded_us;
    *failing_us = r->error[0] ? r->failing_us : 0;
    snprintf(error, size, "%s", r->error);
    pthread_mutex_unlock(&r->lock);
}

void sn_inv_refresher_stop(sn_inv_refresher *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    if (r->running)
        pthread_join(r->thr, NULL);
    refresher_free(r);
}
