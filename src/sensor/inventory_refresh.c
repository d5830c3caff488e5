/* Keeps a live sensor's attribution current: VMs started, stopped or moved after the sensor
 * started (a new VM's spoofing, its cross-tenant traffic) are only attributed from an inventory
 * that lists them. A thread of its own reloads the --inventory file when it changes (a cron job
 * or the agent running `dengbao collect -o`) or collects -c URI again, so the capture loop never
 * waits on libvirt (a blocked loop fills the kernel buffer and drops); the loop takes the newer
 * inventory between packets. A failed reload keeps the previous inventory and is reported. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

struct sn_inv_refresher {
    char *path, *uri;
    int64_t interval_us;
    pthread_t thr;
    atomic_int stop;
    _Atomic(dbg_sensor_inventory *) fresh; /* loaded and not taken yet */
    struct stat file_st;                   /* the file as last loaded */
    pthread_mutex_t lock;                  /* guards the two below */
    int64_t loaded_us;                     /* wall clock of the inventory in use */
    char error[512];                       /* the last reload's failure, "" after a success */
    atomic_uint changes;                   /* bumped when the two above change */
};

/* The file's identity and age: a rewrite in place or a rename over it both change one. */
static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void reload(sn_inv_refresher *r)
{
    struct stat st;
    if (r->path) {
        if (stat(r->path, &st) != 0) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot look at the inventory", r->path);
            goto failed;
        }
        if (same_file(&st, &r->file_st))
            return;
    }
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    if (!inv || dbg_sensor_inventory_load(inv, r->path, r->uri) != 0) {
        dbg_sensor_inventory_free(inv);
        goto failed;
    }
    if (r->path)
        r->file_st = st;
    dbg_sensor_inventory_free(atomic_exchange(&r->fresh, inv)); /* one the loop never took */
    pthread_mutex_lock(&r->lock);
    r->loaded_us = dbg_now_us();
    if (r->error[0])
        dbg_warn("sensor: inventory reloaded from %s after the failure above",
                 r->path ? r->path : r->uri);
    r->error[0] = '\0';
    pthread_mutex_unlock(&r->lock);
    atomic_fetch_add(&r->changes, 1);
    return;
failed:
    pthread_mutex_lock(&r->lock);
    if (!r->error[0]) /* once per run of failures */
        dbg_warn("sensor: inventory not reloaded, the previous one stays in use: %s",
                 dbg_err_msg());
    int news = strncmp(r->error, dbg_err_msg(), sizeof(r->error) - 1) != 0;
    snprintf(r->error, sizeof(r->error), "%s", dbg_err_msg());
    dbg_utf8_trim_partial(r->error);
    pthread_mutex_unlock(&r->lock);
    if (news)
        atomic_fetch_add(&r->changes, 1);
    dbg_err_clear();
}

static void *refresher_main(void *arg)
{
    sn_inv_refresher *r = arg;
    int64_t next = dbg_monotonic_us() + r->interval_us;
    while (!atomic_load(&r->stop)) {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
        if (dbg_monotonic_us() < next)
            continue;
        reload(r);
        next = dbg_monotonic_us() + r->interval_us;
    }
    return NULL;
}

static void refresher_free(sn_inv_refresher *r)
{
    dbg_sensor_inventory_free(atomic_load(&r->fresh));
    pthread_mutex_destroy(&r->lock);
    free(r->path);
    free(r->uri);
    free(r);
}

sn_inv_refresher *sn_inv_refresher_start(const char *path, const char *uri, int interval_s)
{
    sn_inv_refresher *r = dbg_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    atomic_init(&r->stop, 0);
    atomic_init(&r->fresh, NULL);
    atomic_init(&r->changes, 0);
    pthread_mutex_init(&r->lock, NULL);
    r->interval_us = (int64_t)interval_s * 1000000;
    r->loaded_us = dbg_now_us(); /* the caller loaded the first one just now */
    if ((path && !(r->path = dbg_strdup(path))) || (uri && !(r->uri = dbg_strdup(uri)))) {
        refresher_free(r);
        return NULL;
    }
    /* the file the first inventory came from: a change after this is reloaded */
    if (path && stat(path, &r->file_st) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot look at the inventory", path);
        refresher_free(r);
        return NULL;
    }
    if (pthread_create(&r->thr, NULL, refresher_main, r) != 0) {
        dbg_err_set(DBG_ERR_IO, "cannot start the inventory refresh thread");
        refresher_free(r);
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

void sn_inv_refresher_state(sn_inv_refresher *r, int64_t *loaded_us, char *error, size_t size)
{
    pthread_mutex_lock(&r->lock);
    *loaded_us = r->loaded_us;
    snprintf(error, size, "%s", r->error);
    pthread_mutex_unlock(&r->lock);
}

void sn_inv_refresher_stop(sn_inv_refresher *r)
{
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->thr, NULL);
    refresher_free(r);
}
