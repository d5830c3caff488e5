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

static pthread_once_t lib_once[DBG_LAZY_N] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT,
                                              PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};
static void *lib_handle[DBG_LAZY_N];
static char lib_why[DBG_LAZY_N][512];

static void load(dbg_lazy_lib lib)
{
    for (int i = 0; lib_names[lib][i] && !lib_handle[lib]; i++) {
        /* RTLD_GLOBAL: libvirt's loadable drivers resolve their symbols against it */
        lib_handle[lib] = dlopen(lib_names[lib][i], RTLD_NOW | RTLD_GLOBAL);
        if (!lib_handle[lib] && i == 0) {
            const char *e = dlerror();
            snprintf(lib_why[lib], sizeof(lib_why[lib]), "%s", e ? e : "unknown error");
        }
    }
}
static void load_virt(void)
{
    load(DBG_LAZY_VIRT);
}
static void load_pq(void)
{
    load(DBG_LAZY_PQ);
}
static void load_pcap(void)
{
    load(DBG_LAZY_PCAP);
}
static void load_yara(void)
{
    load(DBG_LAZY_YARA);
}

void *dbg_lazy_sym(dbg_lazy_lib lib, const char *name)
{
    static void (*const loaders[DBG_LAZY_N])(void) = {load_virt, load_pq, load_pcap, load_yara};
    if ((unsigned)lib >= DBG_LAZY_N) {
        fprintf(stderr, "dengbao: no such lazily loaded library (%d)\n", (int)lib);
        exit(3);
    }
    pthread_once(&lib_once[lib], loaders[lib]);
    if (!lib_handle[lib]) {
        fprintf(stderr, "dengbao: cannot load %s: %s\n", lib_names[lib][0], lib_why[lib]);
        exit(3);
    }
    void *p = dlsym(lib_handle[lib], name);
    if (!p) {
        const char *e = dlerror();
        fprintf(stderr, "dengbao: %s has no %s: %s\n", lib_names[lib][0], name,
                e ? e : "not found");
        exit(3);
    }
    return p;
}
