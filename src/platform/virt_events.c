/* libvirt's default event loop, registered once per process for every part that subscribes to
 * libvirt events (the guard, the sensor's inventory refresher); each runs it in a thread, and
 * keeps its event connection with the functions of virt_events.h. */
#include <pthread.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "platform/virt_events.h"

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_rc = -1;

static void loop_init(void)
{
    dbg_libvirt_quiet(); /* errors are reported where they happen, once */
    loop_rc = virEventRegisterDefaultImpl();
}

int dbg_libvirt_event_loop_init(void)
{
    pthread_once(&loop_once, loop_init);
    if (loop_rc != 0) {
        dbg_err_set(DBG_ERR_LIBVIRT, "cannot register libvirt's event loop: %s",
                    virGetLastErrorMessage());
        return -1;
    }
    return 0;
}

/* ---- one event connection ---- */

void dbg_virt_events_init(dbg_virt_events *ev, const char *uri, const char *who, int read_only,
                          const dbg_virt_event_sub *subs, size_t n_subs, void *opaque,
                          void (*on_close)(void *opaque, int reason), int64_t retry_us)
{
    ev->uri = uri;
    ev->who = who;
    ev->read_only = read_only;
    ev->subs = subs;
    ev->n_subs = n_subs < DBG_VIRT_EVENTS_MAX ? n_subs : DBG_VIRT_EVENTS_MAX;
    ev->opaque = opaque;
    ev->on_close = on_close;
    ev->retry_us = retry_us;
    ev->conn = NULL;
    for (size_t i = 0; i < DBG_VIRT_EVENTS_MAX; i++)
        ev->cb[i] = -1;
    atomic_init(&ev->lost, 0);
    ev->next_attempt_us = 0;
    ev->refused = 0;
}

static void closed_by_libvirt(virConnectPtr conn, int reason, void *opaque)
{
    (void)conn;
    dbg_virt_events *ev = opaque;
    atomic_store(&ev->lost, 1);
    if (ev->on_close)
        ev->on_close(ev->opaque, reason);
}

void dbg_virt_events_close(dbg_virt_events *ev)
{
    if (!ev->conn)
        return;
    for (size_t i = 0; i < ev->n_subs; i++)
        if (ev->cb[i] >= 0)
            virConnectDomainEventDeregisterAny(ev->conn, ev->cb[i]);
    virConnectUnregisterCloseCallback(ev->conn, closed_by_libvirt);
    virConnectClose(ev->conn);
    ev->conn = NULL;
    for (size_t i = 0; i < DBG_VIRT_EVENTS_MAX; i++)
        ev->cb[i] = -1;
}

int dbg_virt_events_open(dbg_virt_events *ev)
{
    atomic_store(&ev->lost, 0);
    dbg_libvirt_quiet(); /* the guard opens in the main thread, reopens in the loop's */
    ev->conn = ev->read_only ? virConnectOpenAuth(ev->uri, virConnectAuthPtrDefault, VIR_CONNECT_RO)
                             : virConnectOpen(ev->uri);
    ev->refused = !ev->conn;
    if (!ev->conn) {
        dbg_err_set(DBG_ERR_LIBVIRT, "%scannot connect to %s: %s", ev->who, ev->uri,
                    virGetLastErrorMessage());
        return -1;
    }
    virConnectSetKeepAlive(ev->conn, 5, 3); /* remote drivers: notice a dead daemon */
    virConnectRegisterCloseCallback(ev->conn, closed_by_libvirt, ev, NULL);
    for (size_t i = 0; i < ev->n_subs; i++) {
        ev->cb[i] = virConnectDomainEventRegisterAny(ev->conn, NULL, ev->subs[i].id, ev->subs[i].cb,
                                                     ev->opaque, NULL);
        if (ev->cb[i] < 0 && ev->subs[i].required) {
            dbg_err_set(DBG_ERR_LIBVIRT, "%scannot subscribe to domain events on %s: %s", ev->who,
                        ev->uri, virGetLastErrorMessage());
            dbg_virt_events_close(ev);
            return -1;
        }
    }
    return 0;
}

int dbg_virt_events_keep(dbg_virt_events *ev, int *dropped)
{
    if (ev->conn && !atomic_load(&ev->lost) && virConnectIsAlive(ev->conn) == 1)
        return 0;
    if (ev->conn) {
        dbg_virt_events_close(ev);
        if (dropped)
            *dropped = 1;
    }
    int64_t now = dbg_monotonic_us();
    if (now < ev->next_attempt_us)
        return 0;
    ev->next_attempt_us = now + ev->retry_us;
    return dbg_virt_events_open(ev) == 0 ? 1 : -1;
}
