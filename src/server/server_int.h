/* Internals of src/server shared by the listener (server.c), identities (roles.c), the API
 * routes (api.c) and the dashboard (dashboard.c). */
#ifndef DENGBAO_SERVER_INT_H
#define DENGBAO_SERVER_INT_H

#include <openssl/ssl.h>
#include <pthread.h>

#include "dengbao/gateway.h"
#include "dengbao/net.h"
#include "dengbao/server.h"
#include "dengbao/store.h"
#include "dengbao/util.h"

/* Without --policy, the certificate O of the provider (agents, provider admins); any other O is a
 * tenant id, and this one is therefore no tenant's (api.c refuses it as one). */
#define SRV_PROVIDER_ORG DBG_TENANT_RESERVED_ID

/* What a caller may see and do. */
typedef enum {
    SRV_VIEW_NONE = 0, /* authenticated but not mapped to a role: healthz only */
    SRV_VIEW_PROVIDER, /* every tenant's events, the assessment */
    SRV_VIEW_TENANT,   /* only events and audit records concerning `tenant` */
} srv_view;

typedef struct {
    char actor[300]; /* "CN=ops1,O=provider" | "uid:0(root)" (the gateway's form) */
    char host[160];  /* what stored events name as the reporting host: CN or unix user */
    char role[32];   /* provider-admin, tenant-admin, provider (no policy), ... */
    char tenant[64]; /* tenant views */
    srv_view view;
    int may_post;  /* may submit events (agents, provider admins/operators) */
    char why[256]; /* SRV_VIEW_NONE: why no role */
} srv_identity;

/* Connections that answer queries (event listings, the dashboard) beside the one that stores:
 * with a single connection a listing waited for every batch queued before it (hundreds of ms
 * with 16 agents posting), and on PostgreSQL for another server's batch too. By default one
 * per online CPU (a SQLite query runs on the server's own CPUs), at least the 4 there always
 * were and at most 16 (each is a PostgreSQL session); dbg_server_opts.store_readers sets it,
 * up to the width of readers_busy. */
#define SRV_STORE_READERS_MIN 4
#define SRV_STORE_READERS_DEFAULT_MAX 16
#define SRV_STORE_READERS_MAX 32

struct dbg_server {
    dbg_server_opts o;
    dbg_store *store;
    /* The one connection that stores: batches stay one transaction after another, so ids grow
     * in commit order (what ?after= paging needs). Also queries when there are no readers. */
    pthread_mutex_t store_mu;
    dbg_store *readers[SRV_STORE_READERS_MAX]; /* none for an in-memory SQLite store */
    size_t n_readers;
    unsigned readers_busy; /* bit i: readers[i] is lent out */
    pthread_mutex_t readers_mu;
    pthread_cond_t readers_cv;
    dbg_gw_policy *policy;
    uid_t own_uid;
    dbg_acceptor *acc;
    pthread_mutex_t mu; /* stats */
    dbg_server_stats stats;
    char *tmpdir;             /* private directory for audit exports */
    unsigned long export_seq; /* names the export files in tmpdir (atomic) */
};

typedef struct {
    int status;
    const char *content_type;
    char extra_headers[256];
    dbg_buf body;
} srv_response;

/* roles.c */
/* cut: cn or org is not the certificate's whole entry (dbg_net_conn.subject_cut). */
void srv_identity_tls(const dbg_server *s, const char *cn, const char *org, int cut,
                      srv_identity *id);
void srv_identity_unix(const dbg_server *s, uid_t uid, srv_identity *id);

/* api.c: fills resp for one parsed request with its body. */
/* Whether this request's body is read at all: only an event submission by someone who may
 * submit. Any other request is answered from its head, so a body nobody may send is never
 * buffered (it would be up to the body limit per connection, from anyone who can connect). */
int srv_takes_body(const srv_identity *id, const dbg_http_request *req);
void srv_handle(dbg_server *s, const srv_identity *id, const dbg_http_request *req,
                const char *body, size_t body_len, srv_response *resp);
/* A JSON error document {"error": msg, "status": n}. */
void srv_error(srv_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void srv_stat_add(dbg_server *s, uint64_t *field, uint64_t n);

/* server.c: a connection for one query, lent until srv_store_read_end (which must be called,
 * with what this returned): a free reader, waiting for one when all are lent; without readers
 * the storing connection, held under store_mu meanwhile. */
dbg_store *srv_store_read_begin(dbg_server *s);
void srv_store_read_end(dbg_server *s, dbg_store *st);

/* dashboard.c */
void srv_dashboard(dbg_server *s, const srv_identity *id, srv_response *resp);

#endif
