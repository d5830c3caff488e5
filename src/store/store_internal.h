/* Backend vtable behind dbg_store. */
#ifndef DENGBAO_STORE_INTERNAL_H
#define DENGBAO_STORE_INTERNAL_H

#include <stddef.h>

#include "dengbao/store.h"
#include "dengbao/util.h"

/* Length of an event's dedup key: SHA-256 in hex, or "legacy-duplicate:ID" for a row that an
 * older schema stored twice (kept, but marked so the unique index holds). */
#define STORE_DEDUP_KEY_MAX 65

/* The key that makes re-ingest idempotent: SHA-256 over the host and the body as JSON with
 * sorted keys, so a record and its copy stored earlier (in SQLite verbatim, in PostgreSQL as
 * JSONB text with other spacing and key order) give the same key. */
int store_dedup_key(const char *host, const char *body, char out[STORE_DEDUP_KEY_MAX]);

typedef struct {
    const char *name;
    /* 0 stored, DBG_STORE_DUPLICATE (1) an identical event was there already, -1 error */
    int (*add)(void *impl, const dbg_store_event *ev, const char *dedup, int64_t *id_out);
    /* NULL: dbg_store_add_batch calls add per event. Else the same results for the n events
     * (keys[i] is events[i]'s dedup key), result[i] -1 for those a failure left unstored. */
    int (*add_batch)(void *impl, const dbg_store_event *const *events,
                     const char (*keys)[STORE_DEDUP_KEY_MAX], size_t n, int *result);
    int (*begin)(void *impl);
    int (*commit)(void *impl);
    int (*rollback)(void *impl); /* ends the transaction, keeping nothing of it */
    int (*query)(void *impl, const dbg_store_filter *f, dbg_store_cb cb, void *opaque);
    int (*count_types)(void *impl, const dbg_store_filter *f, dbg_store_count_cb cb, void *opaque);
    void (*close)(void *impl);
    /* NULL: never. Else 1 when the database lives only as long as this connection. */
    int (*temporary)(const void *impl);
} dbg_store_ops;

/* The SELECTs both backends run, one text for both: parameters are numbered (?N in SQLite, $N
 * in PostgreSQL: mark) as 1 kind, 2 tenant, 3 type, 4 since, 5 until, 6 limit, 7 after.
 * A tenant's view ("tenant or tenant2 is T") is written as two branches under UNION ALL, the
 * second leaving out the rows the first has: each branch walks its own index in time order,
 * where an OR of two columns made both databases collect and sort the tenant's every event.
 * Only the conditions f sets are written, so the planner sees which indexes apply (SQLite plans
 * a statement once, whatever its parameters turn out to be). */
typedef enum { STORE_SQL_LIST, STORE_SQL_COUNT } store_sql_kind;
int store_sql_build(dbg_buf *sql, const dbg_store_filter *f, store_sql_kind kind, char mark);

void *dbg_store_sqlite_open(const char *path);
void *dbg_store_pg_open(const char *conninfo);
extern const dbg_store_ops dbg_store_sqlite_ops;
extern const dbg_store_ops dbg_store_pg_ops;

#endif
