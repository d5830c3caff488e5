/* The catalog's private representation, shared by the loader and the accessors. */
#ifndef DENGBAO_CATALOG_PRIV_H
#define DENGBAO_CATALOG_PRIV_H

#include "dengbao/catalog.h"
#include "dengbao/util.h"

struct dbg_catalog {
    dbg_item *items; /* in definition order: files sorted by name, requirements, then levels */
    size_t n, cap;
    size_t warnings;
};

/* "安全物理环境, 安全通信网络, ..." appended to b, for messages. */
int dbg_catalog_layer_names(dbg_buf *b);

#endif
