/* The central store: one interface, two backends — SQLite (embedded default, one host) and
 * PostgreSQL (the central server many agents feed). It keeps events (alerts, assessment
 * summaries, audit digests) with the tenants they concern, so the provider sees everything and
 * each tenant only its own part (集中审计 by responsibility, 8.2.5.1c). */
#ifndef DENGBAO_STORE_H
#define DENGBAO_STORE_H

#include <stdint.h>

typedef struct dbg_store dbg_store;

typedef struct {
    int64_t id;           /* assigned by the store */
    int64_t time_us;
    const char *kind;     /* "alert" | "assessment" | "audit" | ... */
    const char *host;     /* agent / hypervisor that reported it */
    const char *type;     /* e.g. alert signature "port_scan" */
    const char *clause;   /* MLPS clause, may be "" */
    const char *tenant;   /* primary tenant concerned ("" = provider only) */
    const char *tenant2;  /* second tenant (e.g. the target's), may be "" */
    const char *body;     /* the full JSON record */
    const char *dedup;    /* its dedup key when made with it (dbg_store_event_from_eve), or NULL */
} dbg_store_event;

typedef struct {
    const char *kind;     /* NULL = any */
    const char *tenant;   /* NULL = provider view (all); else events concerning this tenant */
    const char *type;
    int64_t since_us, until_us; /* 0 = open */
    int64_t limit;        /* 0 = no limit */
    /* 0: oldest first (time, then id). 1: in the order stored (id), only ids > after_id: a
     * cursor that neither repeats nor skips an event, also one delivered late with an old time
     * (an agent catching up after an outage), or many with the same time. Ids grow in commit
     * order in both backends (PostgreSQL: inserting transactions take turns, see store.md), so
     * no event can commit later below a cursor already handed out. */
    int stored_order;
    int64_t after_id;
    /* With stored_order 0: newest first (time, then id, both descending), so the latest N
     * events are read without walking the older ones (the dashboard's latest alerts). */
    int newest_first;
} dbg_store_filter;

/* url: "sqlite:PATH" (or a plain path) | "postgresql://..." | "postgres://..." */
dbg_store *dbg_store_open(const char *url);
/* Another connection to st's database, for queries from another thread while st (or another
 * reader) is busy: a PostgreSQL session, or a SQLite connection, whose WAL lets it read beside
 * the writer. NULL with DBG_ERR_UNSUPPORTED when the database has no second connection (an
 * in-memory or temporary SQLite database is private to its connection): query through st. */
dbg_store *dbg_store_open_reader(const dbg_store *st);
/* 1 when st's database is gone once st is closed (a SQLite "", ":memory:" or mode=memory URI):
 * what is stored in it is kept by no one else. */
int dbg_store_temporary(const dbg_store *st);
/* Adds an event unless an identical one (same host, same body as JSON) is stored already, so an
 * agent or SIEM resending a shipment stores nothing twice: returns 0 when added (id_out set),
 * DBG_STORE_DUPLICATE when skipped as a duplicate, -1 on error. */
#define DBG_STORE_DUPLICATE 1
int dbg_store_add(dbg_store *st, const dbg_store_event *ev, int64_t *id_out);
/* Adds events[0..n) as dbg_store_add adds each, in that order (ids grow in it), and sets
 * result[i] to 0 (stored), DBG_STORE_DUPLICATE (stored before, or earlier in events) or -1 (not
 * stored: the batch failed at or before it). Call it inside dbg_store_begin/commit. PostgreSQL
 * sends up to 1000 events per INSERT statement (one round trip and one statement instead of
 * one each); SQLite adds them one by one, as its statements do not leave the process. Returns
 * 0, or -1 with the error set, as the first failing dbg_store_add would. */
int dbg_store_add_batch(dbg_store *st, const dbg_store_event *const *events, size_t n, int *result);
int dbg_store_begin(dbg_store *st);   /* batch many adds in one transaction */
int dbg_store_commit(dbg_store *st);
/* Ends the transaction dbg_store_begin started, storing nothing of it: a batch that failed part
 * way is not kept in part (the events stored before it stay as they were). */
int dbg_store_rollback(dbg_store *st);
/* > 0 stops the query, which succeeds; < 0 fails it (the callback sets the error), so a caller
 * never takes a list cut short by a failure for the whole answer. */
typedef int (*dbg_store_cb)(const dbg_store_event *ev, void *opaque);
int dbg_store_query(dbg_store *st, const dbg_store_filter *f, dbg_store_cb cb, void *opaque);
/* The events f selects (kind, tenant, type, since, until; not limit or order), counted by type:
 * cb once per type with its count, types in the order of each one's first event (time, then
 * id), the order a walk over the events oldest first meets them. Counted by the database over
 * its indexes, instead of every event crossing to the caller. cb's return as for
 * dbg_store_query. */
typedef int (*dbg_store_count_cb)(const char *type, int64_t count, void *opaque);
int dbg_store_count_types(dbg_store *st, const dbg_store_filter *f, dbg_store_count_cb cb,
                          void *opaque);
const char *dbg_store_backend(const dbg_store *st); /* "sqlite" | "postgresql" */
void dbg_store_close(dbg_store *st);

/* Turns one EVE JSON line into an event (kind = its event_type: "alert", "flow", ...; "alert"
 * when the line has none); strings point into *owned (free it). */
int dbg_store_event_from_eve(const char *line, const char *host, dbg_store_event *ev, void **owned);
void dbg_store_eve_owned_free(void *owned);

#endif
