/* Backend vtable behind dbg_store. */
#ifndef DENGBAO_STORE_INTERNAL_H
#define DENGBAO_STORE_INTERNAL_H

#include "dengbao/store.h"

typedef struct {
    const char *name;
    int (*add)(void *impl, const dbg_store_event *ev, int64_t *id_out);
    int (*begin)(void *impl);
    int (*commit)(void *impl);
    int (*query)(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque);
    void (*close)(void *impl);
} dbg_store_ops;

void *dbg_store_sqlite_open(const char *path);
void *dbg_store_pg_open(const char *conninfo);
extern const dbg_store_ops dbg_store_sqlite_ops;
extern const dbg_store_ops dbg_store_pg_ops;

#endif
