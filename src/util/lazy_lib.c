/* The loader behind lazy_lib.h. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/lazy_lib.h"

/* Sonames tried in order: the one Debian 12 ships first, then newer ABIs' and the dev link. */
static const char *const lib_names[DBG_LAZY_N][4] = {
    [DBG_LAZY_VIRT] = {"libvirt.so.0", NULL},
    [DBG_LAZY_PQ] = {"libpq.so.5", NULL},
    [DBG_LAZY_PCAP] = {"libpcap.so.0.8", "libpcap.so.1", "libpcap.so", NULL},
    [DBG_LAZY_YARA] = {"libyara.so.9", "libyara.so.10", "libyara.so", NULL},
};

/* Loading happens once per library under one lock; each call site then keeps its own pointer
 * (DBG_LAZY), so the lock is taken once per site, not per call. */
static pthread_mutex_t lib_mu = PTHREAD_MUTEX_INITIALIZER;
static int lib_tried[DBG_LAZY_N];
static void *lib_handle[DBG_LAZY_N];
static char lib_why[DBG_LAZY_N][512];

/* Caller holds lib_mu. */
static void load(dbg_lazy_lib lib)
{
    lib_tried[lib] = 1;
    for (int i = 0; lib_names[lib][i] && !lib_handle[lib]; i++) {
        /* RTLD_GLOBAL: libvirt's loadable drivers resolve their symbols against it */
        lib_handle[lib] = dlopen(lib_names[lib][i], RTLD_NOW | RTLD_GLOBAL);
        if (!lib_handle[lib] && i == 0) {
            const char *e = dlerror();
            snprintf(lib_why[lib], sizeof(lib_why[lib]), "%s", e ? e : "unknown error");
        }
    }
}

void *dbg_lazy_sym(dbg_lazy_lib lib, const char *name)
{
    if ((unsigned)lib >= DBG_LAZY_N) {
        fprintf(stderr, "dengbao: no such lazily loaded library (%d)\n", (int)lib);
        exit(3);
    }
    pthread_mutex_lock(&lib_mu);
    if (!lib_tried[lib])
        load(lib);
    void *handle = lib_handle[lib];
    pthread_mutex_unlock(&lib_mu);
    if (!handle) {
        fprintf(stderr, "dengbao: cannot load %s: %s\n", lib_names[lib][0], lib_why[lib]);
        exit(3);
    }
    void *p = dlsym(handle, name);
    if (!p) {
        const char *e = dlerror();
        fprintf(stderr, "dengbao: %s has no %s: %s\n", lib_names[lib][0], name,
                e ? e : "not found");
        exit(3);
    }
    return p;
}
