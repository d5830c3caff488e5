/* `dengbao serve` listeners: HTTPS with TLS 1.3 client certificates (identity = subject) and a
 * Unix socket (identity = SO_PEERCRED uid), accepted by src/net/acceptor.c up to a cap (plain
 * clients beyond it get 503). A connection carries requests one after another (HTTP/1.1
 * persistent, up to keepalive_max, each waited for keepalive_idle_s) or one (Connection: close,
 * HTTP/1.0, any error), each read under size limits and timeouts, and every request is logged to
 * stderr in one line. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "server/server_int.h"

#define TCP_BACKLOG 128

typedef struct {
    dbg_server *s;
    dbg_net_conn *net;
    srv_identity id;
    char *buf;    /* the request head buffer, DBG_HTTP_HEAD_MAX + 1 */
    size_t carry; /* bytes of the next request already read (pipelined) at buf's start */
    int served;   /* requests answered on this connection */
} conn;

void srv_stat_add(dbg_server *s, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    *field += n;
    pthread_mutex_unlock(&s->mu);
}

static void send_response(conn *c, srv_response *r, int keep)
{
    const char *body = r->body.data ? r->body.data : "";
    char head[768];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "%sCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n",
                     r->status, dbg_http_status_text(r->status),
                     r->content_type ? r->content_type : "application/json", r->body.len,
                     keep ? "" : "Connection: close\r\n", r->extra_headers);
    /* the whole answer within the request's time, however slowly the client reads */
    c->net->write_deadline_us = dbg_monotonic_us() + (int64_t)c->s->o.request_timeout_s * 1000000;
    if (n > 0 && (size_t)n < sizeof(head) && dbg_net_conn_write(c->net, head, (size_t)n) == 0)
        dbg_net_conn_write(c->net, body, r->body.len);
}

/* After an early answer (413, 400 ...) the client may still be sending: read and drop a bounded
 * amount so closing does not reset the connection before the client reads the answer. */
static void drain(conn *c)
{
    struct timeval tv = {1, 0};
    setsockopt(c->net->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!c->net->ssl)
        shutdown(c->net->fd, SHUT_WR);
    char junk[16384];
    size_t total = 0;
    while (total < (4u << 20)) {
        ssize_t n = dbg_net_conn_read(c->net, junk, sizeof(junk));
        if (n <= 0)
            break;
        total += (size_t)n;
    }
}

static const char *view_name(const srv_identity *id, char *buf, size_t sz)
{
    if (id->view == SRV_VIEW_PROVIDER)
        snprintf(buf, sz, "%s", id->role);
    else if (id->view == SRV_VIEW_TENANT)
        snprintf(buf, sz, "%s:%s", id->role, id->tenant);
    else
        snprintf(buf, sz, "no-role");
    return buf;
}

/* Whether the answer to req may leave the connection open for another request: the client
 * wants it, the connection has requests left, and the table is not nearly full, where an idle
 * connection would hold a slot a new client (an agent with alerts to deliver) needs; HTTPS
 * clients beyond the table are closed before their handshake, with no reason given. */
static int may_keep(conn *c, const dbg_http_request *req)
{
    int max = c->s->o.max_conns;
    return !dbg_http_wants_close(req) && c->served + 1 < c->s->o.keepalive_max &&
           dbg_acceptor_active(c->net->acc) < max - max / 4;
}

/* Reads one request and answers it; 1 when the connection stays open for the next. */
static int serve_one(conn *c)
{
    dbg_server *s = c->s;
    int64_t t0 = dbg_monotonic_us();
    int64_t deadline = t0 + (int64_t)s->o.request_timeout_s * 1000000;
    srv_response resp;
    memset(&resp, 0, sizeof(resp));
    dbg_buf_init(&resp.body, 0);
    dbg_http_request req;
    memset(&req, 0, sizeof(req));
    char *buf = c->buf;
    char *body = NULL;
    size_t len = c->carry;
    int status = 0, early = 0, keep = 0;
    char msg[256];
    c->carry = 0;
    for (;;) {
        int r = dbg_http_parse_head(buf, len, &req, &status, msg, sizeof(msg));
        if (r == 1)
            break;
        if (r < 0) {
            srv_error(&resp, status, "%s", msg);
            early = 1;
            goto answer;
        }
        if (dbg_monotonic_us() > deadline) {
            srv_error(&resp, 408, "request head not complete within %d s", s->o.request_timeout_s);
            goto answer;
        }
        ssize_t n = dbg_net_conn_read(c->net, buf + len, DBG_HTTP_HEAD_MAX - len);
        if (n == DBG_NET_EOF && len == 0)
            goto out; /* connected and left: nothing to answer or log */
        if (n == DBG_NET_TIMEOUT) {
            srv_error(&resp, 408, "timed out waiting for the request head (%zu bytes so far)", len);
            goto answer;
        }
        if (n <= 0) {
            srv_error(&resp, 400, "connection closed in the middle of the request head (%zu bytes)",
                      len);
            goto answer;
        }
        len += (size_t)n;
    }
    size_t blen = (size_t)req.content_length, have = len - req.head_len;
    if (blen > 0 && !srv_takes_body(&c->id, &req)) {
        /* answered from the head (403, 404, 405, or a GET whose body is ignored) */
        srv_handle(s, &c->id, &req, "", 0, &resp);
        early = 1;
        goto answer;
    }
    keep = may_keep(c, &req);
    if (have > blen) {
        if (dbg_http_wants_close(&req)) {
            keep = 0;
            srv_error(&resp, 400,
                      "%zu bytes after the declared Content-Length of %zu (one request per "
                      "connection)",
                      have - blen, blen);
            goto answer;
        }
        /* the next request, pipelined: answered after this one, in order. Past the cap or in
         * a full table it is not read: this answer says Connection: close. */
        c->carry = keep ? have - blen : 0;
        early = !keep; /* unread bytes at close would reset the connection before the answer */
        have = blen;
    }
    if (!(body = dbg_malloc(blen + 1))) {
        keep = 0;
        srv_error(&resp, 500, "out of memory for a %zu byte body", blen);
        goto answer;
    }
    memcpy(body, buf + req.head_len, have);
    if (c->carry)
        memmove(buf, buf + req.head_len + blen, c->carry); /* req has its own copy of the head */
    while (have < blen) {
        if (dbg_monotonic_us() > deadline) {
            keep = 0;
            srv_error(&resp, 408, "body not complete within %d s (%zu of %zu bytes)",
                      s->o.request_timeout_s, have, blen);
            goto answer;
        }
        ssize_t n = dbg_net_conn_read(c->net, body + have, blen - have);
        if (n <= 0)
            keep = 0;
        if (n == DBG_NET_TIMEOUT) {
            srv_error(&resp, 408, "timed out waiting for the body (%zu of %zu bytes)", have, blen);
            goto answer;
        }
        if (n <= 0) {
            srv_error(&resp, 400,
                      "body truncated: got %zu of the %zu bytes Content-Length declared", have,
                      blen);
            goto answer;
        }
        have += (size_t)n;
    }
    body[blen] = 0;
    srv_handle(s, &c->id, &req, body, blen, &resp);
answer:
    send_response(c, &resp, keep);
    if (early)
        drain(c);
    {
        char vbuf[128];
        int64_t ms = (dbg_monotonic_us() - t0) / 1000;
        /* One fprintf per line so concurrent threads do not interleave within a line. */
        fprintf(stderr, "dengbao serve: %s [%s] %s %s %s %d %zu %lldms\n",
                c->id.actor[0] ? c->id.actor : "-", view_name(&c->id, vbuf, sizeof(vbuf)),
                c->net->peer, req.method ? req.method : "-", req.path ? req.path : "-", resp.status,
                resp.body.len, (long long)ms);
        pthread_mutex_lock(&s->mu);
        s->stats.requests++;
        if (resp.status >= 400)
            s->stats.errors++;
        pthread_mutex_unlock(&s->mu);
    }
    c->served++;
out:
    dbg_http_request_clear(&req);
    dbg_buf_free(&resp.body);
    free(body);
    return keep;
}

/* Waits up to keepalive_idle_s for the next request's first byte: 1 when there is one (or the
 * peer closed, which the read then sees), 0 when the wait ran out. Bytes already read (pipelined)
 * or decrypted by OpenSSL do not show in poll. The wait is not the read timeout: between requests
 * the client owes nothing, and the connection gives its slot back instead of answering 408.
 * Stopping the server shuts the socket down, which ends the wait at once. */
static int next_request_comes(conn *c)
{
    if (c->carry > 0 || (c->net->ssl && SSL_has_pending(c->net->ssl)))
        return 1;
    int64_t deadline = dbg_monotonic_us() + (int64_t)c->s->o.keepalive_idle_s * 1000000;
    for (;;) {
        int64_t left_ms = (deadline - dbg_monotonic_us()) / 1000;
        struct pollfd p = {.fd = c->net->fd, .events = POLLIN};
        int r = left_ms > 0 ? poll(&p, 1, (int)left_ms) : 0;
        if (r < 0 && errno == EINTR)
            continue;
        return r > 0;
    }
}

static void serve_conn(void *ctx, dbg_net_conn *nc)
{
    conn c = {.s = ctx, .net = nc};
    if (nc->ssl)
        srv_identity_tls(c.s, nc->cn, nc->org, nc->subject_cut, &c.id);
    else
        srv_identity_unix(c.s, nc->uid, &c.id);
    if (!(c.buf = dbg_malloc(DBG_HTTP_HEAD_MAX + 1)))
        return;
    while (serve_one(&c) && next_request_comes(&c))
        ;
    free(c.buf);
}

static void refused(void *ctx, const dbg_net_conn *nc, const char *why, int in_handshake)
{
    dbg_server *s = ctx;
    fprintf(stderr, "dengbao serve: refused %s: %s\n", nc->peer, why);
    srv_stat_add(s, &s->stats.refused_tls, 1);
}

static void turned_away(void *ctx, dbg_net_conn *nc, const char *why)
{
    dbg_server *s = ctx;
    fprintf(stderr, "dengbao serve: refusing %s: %s\n", nc->peer, why);
    /* A plain HTTP client gets a reason it can act on; a TLS one has not handshaken yet. */
    if (!nc->ssl) {
        static const char msg[] =
            "{\"error\":\"too many connections, retry later\",\"status\":503}\n";
        char busy[256];
        int n = snprintf(busy, sizeof(busy),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         sizeof(msg) - 1, msg);
        if (n > 0 && (size_t)n < sizeof(busy))
            (void)!send(nc->fd, busy, (size_t)n, MSG_NOSIGNAL); /* no SIGPIPE if it left */
    }
    srv_stat_add(s, &s->stats.errors, 1);
}

dbg_store *srv_store_read_begin(dbg_server *s)
{
    if (s->n_readers == 0) {
        pthread_mutex_lock(&s->store_mu);
        return s->store;
    }
    pthread_mutex_lock(&s->readers_mu);
    for (;;) {
        for (size_t i = 0; i < s->n_readers; i++)
            if (!(s->readers_busy & (1u << i))) {
                s->readers_busy |= 1u << i;
                pthread_mutex_unlock(&s->readers_mu);
                return s->readers[i];
            }
        pthread_cond_wait(&s->readers_cv, &s->readers_mu);
    }
}

void srv_store_read_end(dbg_server *s, dbg_store *st)
{
    if (st == s->store) {
        pthread_mutex_unlock(&s->store_mu);
        return;
    }
    pthread_mutex_lock(&s->readers_mu);
    for (size_t i = 0; i < s->n_readers; i++)
        if (s->readers[i] == st)
            s->readers_busy &= ~(1u << i);
    pthread_cond_signal(&s->readers_cv);
    pthread_mutex_unlock(&s->readers_mu);
}

/* The readers beside s->store. A database that has no second connection (in-memory SQLite)
 * is read through s->store; any other failure (PostgreSQL out of connections) stops the start,
 * as a server that cannot open what it is configured with should. */
static int open_readers(dbg_server *s)
{
    int want = s->o.store_readers;
    if (want <= 0) {
        want = dbg_online_cores(SRV_STORE_READERS_DEFAULT_MAX);
        want = want < SRV_STORE_READERS_MIN ? SRV_STORE_READERS_MIN : want;
    }
    if (want > SRV_STORE_READERS_MAX) {
        dbg_err_set(DBG_ERR_USAGE, "%d store readers: at most %d", want, SRV_STORE_READERS_MAX);
        return -1;
    }
    for (size_t i = 0; i < (size_t)want; i++) {
        dbg_store *r = dbg_store_open_reader(s->store);
        if (!r)
            return i == 0 && dbg_err_code() == DBG_ERR_UNSUPPORTED ? 0 : -1;
        s->readers[s->n_readers++] = r;
    }
    return 0;
}

dbg_server *dbg_server_start(const dbg_server_opts *o)
{
    dbg_server *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->o = *o;
    if (s->o.max_conns <= 0)
        s->o.max_conns = 64;
    if (s->o.io_timeout_s <= 0)
        s->o.io_timeout_s = 10;
    if (s->o.request_timeout_s <= 0)
        s->o.request_timeout_s = 30;
    if (s->o.keepalive_idle_s <= 0)
        s->o.keepalive_idle_s = 5;
    if (s->o.keepalive_max <= 0)
        s->o.keepalive_max = 100;
    s->own_uid = getuid();
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->store_mu, NULL);
    pthread_mutex_init(&s->readers_mu, NULL);
    pthread_cond_init(&s->readers_cv, NULL);
    if (!o->socket_path && !o->listen) {
        dbg_err_set(DBG_ERR_USAGE, "the server needs --listen ADDR:PORT and/or --socket PATH");
        goto fail;
    }
    if (!o->store_url) {
        dbg_err_set(DBG_ERR_USAGE, "the server needs a store URL");
        goto fail;
    }
    if (o->audit_dir && !dbg_path_is_dir(o->audit_dir)) {
        dbg_err_set(DBG_ERR_NOTFOUND, "--log %s: no such audit log directory", o->audit_dir);
        goto fail;
    }
    if (o->policy && !(s->policy = dbg_gw_policy_load_identities(o->policy)))
        goto fail;
    {
        const char *tmp = getenv("TMPDIR");
        DBG_AUTOFREE char *tmpl =
            dbg_asprintf("%s/dengbao-serve-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!tmpl || !(s->tmpdir = mkdtemp(tmpl))) {
            dbg_err_errno(DBG_ERR_IO, "cannot make a private temporary directory");
            goto fail;
        }
        tmpl = NULL; /* now s->tmpdir */
    }
    if (!(s->store = dbg_store_open(o->store_url)) || open_readers(s) < 0)
        goto fail;
    dbg_acceptor_opts ao = {.socket_path = o->socket_path,
                            .listen = o->listen,
                            .tls_cert = o->tls_cert,
                            .tls_key = o->tls_key,
                            .tls_ca = o->tls_ca,
                            .tcp_backlog = TCP_BACKLOG,
                            .max_conns = s->o.max_conns,
                            .io_timeout_s = s->o.io_timeout_s,
                            .ctx = s,
                            .serve = serve_conn,
                            .refused = refused,
                            .turned_away = turned_away};
    if (!(s->acc = dbg_acceptor_start(&ao)))
        goto fail;
    return s;
fail:
    dbg_server_stop(s);
    return NULL;
}

int dbg_server_port(const dbg_server *s)
{
    return s ? dbg_acceptor_port(s->acc) : -1;
}

const char *dbg_server_backend(const dbg_server *s)
{
    return s && s->store ? dbg_store_backend(s->store) : "";
}

void dbg_server_get_stats(dbg_server *s, dbg_server_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    pthread_mutex_unlock(&s->mu);
    out->active_conns = dbg_acceptor_active(s->acc);
}

void dbg_server_stop(dbg_server *s)
{
    if (!s)
        return;
    dbg_acceptor_stop(s->acc);
    for (size_t i = 0; i < s->n_readers; i++)
        dbg_store_close(s->readers[i]);
    dbg_store_close(s->store);
    dbg_gw_policy_free(s->policy);
    if (s->tmpdir)
        rmdir(s->tmpdir);
    free(s->tmpdir);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->store_mu);
    pthread_mutex_destroy(&s->readers_mu);
    pthread_cond_destroy(&s->readers_cv);
    free(s);
}
