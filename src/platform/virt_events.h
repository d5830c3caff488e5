/* One libvirt connection kept open for its domain events (platform/virt_events.c): opened,
 * subscribed to the events a part wants, watched for a lost daemon and opened again no more
 * often than a retry period. The guard and the sensor's inventory refresher each keep one; what
 * they do with the events, and when they call dbg_virt_events_keep, stays theirs. */
#ifndef DBG_PLATFORM_VIRT_EVENTS_H
#define DBG_PLATFORM_VIRT_EVENTS_H

#include <stdatomic.h>
#include <stdint.h>

#include "dengbao/platform.h"
#include "platform/virt_lazy.h"

#define DBG_VIRT_EVENTS_MAX 8

/* One domain event to subscribe to: VIR_DOMAIN_EVENT_ID_*, its callback (through
 * VIR_DOMAIN_EVENT_CALLBACK, called with the connection's opaque) and whether the connection is
 * of no use without it (1), or a driver that lacks it still gives the others (0). */
typedef struct {
    int id;
    virConnectDomainEventGenericCallback cb;
    int required;
} dbg_virt_event_sub;

typedef struct {
    /* Set with dbg_virt_events_init, then read only. */
    const char *uri;
    const char *who; /* prefix of the error messages: "guard: " or "" */
    int read_only;   /* 1: virConnectOpenAuth(default auth, read-only); 0: virConnectOpen */
    const dbg_virt_event_sub *subs;
    size_t n_subs;
    void *opaque;                               /* given to every callback */
    void (*on_close)(void *opaque, int reason); /* optional, when libvirt closes it */
    int64_t retry_us;                           /* between two attempts of _keep */
    /* The connection's own. The close callback runs on the thread running libvirt's loop. */
    virConnectPtr conn;          /* NULL: none (yet, or lost) */
    int cb[DBG_VIRT_EVENTS_MAX]; /* callback ids, -1 = none */
    atomic_int lost;             /* libvirt closed it */
    int64_t next_attempt_us;     /* monotonic; 0: at once */
    int refused;                 /* the last open failed to connect (not to subscribe) */
} dbg_virt_events;

/* Fills ev (no connection yet); n_subs is at most DBG_VIRT_EVENTS_MAX. */
void dbg_virt_events_init(dbg_virt_events *ev, const char *uri, const char *who, int read_only,
                          const dbg_virt_event_sub *subs, size_t n_subs, void *opaque,
                          void (*on_close)(void *opaque, int reason), int64_t retry_us);
/* Opens the connection (keepalive 5 s x 3, so a dead remote daemon is noticed), registers the
 * close callback and subscribes to ev->subs in order: 0, or -1 with dbg_err set and nothing left
 * open when it cannot connect or a required subscription fails. */
int dbg_virt_events_open(dbg_virt_events *ev);
/* Unsubscribes and closes; nothing when none is open. */
void dbg_virt_events_close(dbg_virt_events *ev);
/* Keeps it open: a connection libvirt closed or that is no longer alive is closed (*dropped set
 * to 1 when dropped is given), and opened again once retry_us has passed since the last attempt.
 * 1: opened just now; 0: open already, or no attempt due; -1: the attempt failed (dbg_err). */
int dbg_virt_events_keep(dbg_virt_events *ev, int *dropped);

/* Collects a snapshot (as dbg_snapshot_collect, opts->uri naming it in messages) over a
 * connection the caller opened and keeps: the sensor's refresher collects over its event
 * connection because, opened before the sensor gave up root, it is the one connection still
 * allowed once the sensor runs as an unprivileged user (platform/collect.c). */
dbg_snapshot *dbg_platform_collect_on(virConnectPtr conn, const dbg_collect_opts *opts);

#endif
