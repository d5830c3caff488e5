/* `dengbao serve` listeners: HTTPS with TLS 1.3 client certificates (identity = subject) and a
 * Unix socket (identity = SO_PEERCRED uid). One thread per connection up to a cap; each
 * connection carries one request (Connection: close) read under size limits and timeouts, and
 * every request is logged to stderr in one line. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/tls.h"
#include "server/server_int.h"

enum { READ_EOF = 0, READ_ERR = -1, READ_TIMEOUT = -2 };

typedef struct {
    dbg_server *s;
    int fd;
    SSL *ssl;
    char peer[128]; /* "tls:127.0.0.1:40222" | "unix:uid=0" */
    uid_t uid;
    srv_identity id;
} conn;

void srv_stat_add(dbg_server *s, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    *field += n;
    pthread_mutex_unlock(&s->mu);
}

static int conn_write(conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len)
                           : write(c->fd, buf, len);
        if (n <= 0) {
            if (!c->ssl && n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* > 0 bytes, READ_EOF, READ_TIMEOUT (SO_RCVTIMEO expired) or READ_ERR. */
static ssize_t conn_read(conn *c, char *buf, size_t len)
{
    for (;;) {
        errno = 0;
        if (c->ssl) {
            int n = SSL_read(c->ssl, buf, len > (1u << 30) ? (1 << 30) : (int)len);
            if (n > 0)
                return n;
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            if (e == SSL_ERROR_ZERO_RETURN)
                return READ_EOF;
            if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ) &&
                (errno == EAGAIN || errno == EWOULDBLOCK))
                return READ_TIMEOUT;
            return e == SSL_ERROR_SYSCALL && errno == 0 ? READ_EOF : READ_ERR;
        }
        ssize_t n = read(c->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? READ_TIMEOUT : READ_ERR;
    }
}

static void send_response(conn *c, srv_response *r)
{
    const char *body = r->body.data ? r->body.data : "";
    char head[768];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\nCache-Control: no-store\r\n"
                     "X-Content-Type-Options: nosniff\r\n%s\r\n",
                     r->status, dbg_http_status_text(r->status),
                     r->content_type ? r->content_type : "application/json", r->body.len,
                     r->extra_headers);
    if (n > 0 && (size_t)n < sizeof(head) && conn_write(c, head, (size_t)n) == 0)
        conn_write(c, body, r->body.len);
}

/* After an early answer (413, 400 ...) the client may still be sending: read and drop a bounded
 * amount so closing does not reset the connection before the client reads the answer. */
static void drain(conn *c)
{
    struct timeval tv = {1, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (!c->ssl)
        shutdown(c->fd, SHUT_WR);
    char junk[16384];
    size_t total = 0;
    while (total < (4u << 20)) {
        ssize_t n = conn_read(c, junk, sizeof(junk));
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

/* Reads one request and answers it. */
static void serve_one(conn *c)
{
    dbg_server *s = c->s;
    int64_t t0 = dbg_monotonic_us();
    int64_t deadline = t0 + (int64_t)s->o.request_timeout_s * 1000000;
    srv_response resp;
    memset(&resp, 0, sizeof(resp));
    dbg_buf_init(&resp.body, 0);
    dbg_http_request req;
    memset(&req, 0, sizeof(req));
    char *buf = dbg_malloc(DBG_HTTP_HEAD_MAX + 1);
    char *body = NULL;
    size_t len = 0;
    int status = 0, early = 0;
    char msg[256];
    if (!buf) {
        srv_error(&resp, 500, "out of memory");
        goto answer;
    }
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
        ssize_t n = conn_read(c, buf + len, DBG_HTTP_HEAD_MAX - len);
        if (n == READ_EOF && len == 0)
            goto out; /* connected and left: nothing to answer or log */
        if (n == READ_TIMEOUT) {
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
    if (have > blen) {
        srv_error(&resp, 400,
                  "%zu bytes after the declared Content-Length of %zu (one request per "
                  "connection)",
                  have - blen, blen);
        goto answer;
    }
    if (!(body = dbg_malloc(blen + 1))) {
        srv_error(&resp, 500, "out of memory for a %zu byte body", blen);
        goto answer;
    }
    memcpy(body, buf + req.head_len, have);
    while (have < blen) {
        if (dbg_monotonic_us() > deadline) {
            srv_error(&resp, 408, "body not complete within %d s (%zu of %zu bytes)",
                      s->o.request_timeout_s, have, blen);
            goto answer;
        }
        ssize_t n = conn_read(c, body + have, blen - have);
        if (n == READ_TIMEOUT) {
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
    send_response(c, &resp);
    if (early)
        drain(c);
    {
        char vbuf[128];
        int64_t ms = (dbg_monotonic_us() - t0) / 1000;
        /* One fprintf per line so concurrent threads do not interleave within a line. */
        fprintf(stderr, "dengbao serve: %s [%s] %s %s %s %d %zu %lldms\n",
                c->id.actor[0] ? c->id.actor : "-", view_name(&c->id, vbuf, sizeof(vbuf)), c->peer,
                req.method ? req.method : "-", req.path ? req.path : "-", resp.status,
                resp.body.len, (long long)ms);
        pthread_mutex_lock(&s->mu);
        s->stats.requests++;
        if (resp.status >= 400)
            s->stats.errors++;
        pthread_mutex_unlock(&s->mu);
    }
out:
    dbg_http_request_clear(&req);
    dbg_buf_free(&resp.body);
    free(buf);
    free(body);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    dbg_server *s = c->s;
    int c_fd = c->fd;
    struct timeval tv = {s->o.io_timeout_s, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (c->ssl) {
        SSL_set_fd(c->ssl, c->fd);
        int rc = SSL_accept(c->ssl);
        char cn[128], org[128];
        if (rc != 1 || dbg_tls_peer_subject(c->ssl, cn, org) != 0) {
            char why[512];
            if (rc != 1)
                dbg_tls_failure(c->ssl, rc, why, sizeof(why));
            else
                snprintf(why, sizeof(why), "%s", dbg_err_msg());
            fprintf(stderr, "dengbao serve: refused %s: %s\n", c->peer, why);
            srv_stat_add(s, &s->stats.refused_tls, 1);
            goto out;
        }
        srv_identity_tls(s, cn, org, &c->id);
    } else {
        srv_identity_unix(s, c->uid, &c->id);
    }
    serve_one(c);
out:
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    pthread_mutex_lock(&s->mu);
    close(c->fd);
    free(c);
    for (int i = 0; i < s->o.max_conns; i++)
        if (s->fds[i] == c_fd)
            s->fds[i] = -1;
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void spawn(dbg_server *s, conn *c)
{
    pthread_mutex_lock(&s->mu);
    int slot = -1;
    if (s->active < s->o.max_conns) {
        for (int i = 0; i < s->o.max_conns && slot < 0; i++)
            if (s->fds[i] < 0)
                slot = i;
    }
    if (slot >= 0) {
        s->fds[slot] = c->fd;
        s->active++;
    }
    pthread_mutex_unlock(&s->mu);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (slot < 0 || pthread_create(&t, &at, conn_main, c) != 0) {
        fprintf(stderr, "dengbao serve: refusing %s: %s\n", c->peer,
                slot < 0 ? "too many connections" : "no thread");
        if (!c->ssl) {
            static const char msg[] =
                "{\"error\":\"too many connections, retry later\",\"status\":503}\n";
            char busy[256];
            int n =
                snprintf(busy, sizeof(busy),
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                         sizeof(msg) - 1, msg);
            if (n > 0 && (size_t)n < sizeof(busy))
                (void)!write(c->fd, busy, (size_t)n);
        }
        pthread_mutex_lock(&s->mu);
        if (slot >= 0) {
            s->fds[slot] = -1;
            s->active--;
        }
        s->stats.errors++;
        pthread_mutex_unlock(&s->mu);
        if (c->ssl)
            SSL_free(c->ssl);
        close(c->fd);
        free(c);
    }
    pthread_attr_destroy(&at);
}

static void *accept_main(dbg_server *s, int is_tcp)
{
    int lfd = is_tcp ? s->tcp_fd : s->unix_fd;
    while (!s->stop) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        conn *c = dbg_calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        c->s = s;
        c->fd = fd;
        if (is_tcp) {
            char host[INET6_ADDRSTRLEN] = "?", port[8] = "";
            getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV);
            snprintf(c->peer, sizeof(c->peer), "tls:%s:%s", host, port);
            if (!(c->ssl = SSL_new(s->tls))) {
                close(fd);
                free(c);
                continue;
            }
        } else {
            struct ucred cr;
            socklen_t cl = sizeof(cr);
            if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0) {
                close(fd);
                free(c);
                continue;
            }
            c->uid = cr.uid;
            snprintf(c->peer, sizeof(c->peer), "unix:uid=%u,pid=%ld", (unsigned)cr.uid,
                     (long)cr.pid);
        }
        spawn(s, c);
    }
    return NULL;
}

static void *accept_unix(void *arg)
{
    return accept_main(arg, 0);
}
static void *accept_tcp(void *arg)
{
    return accept_main(arg, 1);
}

static int open_unix(dbg_server *s, const char *path)
{
    if ((s->unix_fd = dbg_net_listen_unix(path, 64)) < 0)
        return -1;
    return 0;
}

static int open_tcp(dbg_server *s, const char *listen_on)
{
    return (s->tcp_fd = dbg_net_listen_tcp(listen_on, 128, &s->port)) < 0 ? -1 : 0;
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
    s->unix_fd = s->tcp_fd = -1;
    s->port = -1;
    s->own_uid = getuid();
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->store_mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (!(s->fds = dbg_calloc((size_t)s->o.max_conns, sizeof(int))))
        goto fail;
    for (int i = 0; i < s->o.max_conns; i++)
        s->fds[i] = -1;
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
    if (o->policy && !(s->policy = dbg_gw_policy_load(o->policy)))
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
    if (!(s->store = dbg_store_open(o->store_url)))
        goto fail;
    if (o->socket_path && open_unix(s, o->socket_path) != 0)
        goto fail;
    if (o->listen) {
        if (!(s->tls = dbg_tls_server_ctx(o->tls_cert, o->tls_key, o->tls_ca)) ||
            open_tcp(s, o->listen) != 0)
            goto fail;
    }
    if (s->unix_fd >= 0) {
        if (pthread_create(&s->unix_thr, NULL, accept_unix, s) != 0)
            goto fail_thr;
        s->have_unix_thr = 1;
    }
    if (s->tcp_fd >= 0) {
        if (pthread_create(&s->tcp_thr, NULL, accept_tcp, s) != 0)
            goto fail_thr;
        s->have_tcp_thr = 1;
    }
    return s;
fail_thr:
    dbg_err_set(DBG_ERR_INTERNAL, "cannot start listener threads");
fail:
    dbg_server_stop(s);
    return NULL;
}

int dbg_server_port(const dbg_server *s)
{
    return s ? s->port : -1;
}

const char *dbg_server_backend(const dbg_server *s)
{
    return s && s->store ? dbg_store_backend(s->store) : "";
}

void dbg_server_get_stats(dbg_server *s, dbg_server_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->stats;
    out->active_conns = s->active;
    pthread_mutex_unlock(&s->mu);
}

void dbg_server_stop(dbg_server *s)
{
    if (!s)
        return;
    s->stop = 1;
    if (s->have_unix_thr)
        pthread_join(s->unix_thr, NULL);
    if (s->have_tcp_thr)
        pthread_join(s->tcp_thr, NULL);
    if (s->unix_fd >= 0) {
        close(s->unix_fd);
        unlink(s->o.socket_path);
    }
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    /* Wake connection threads blocked in reads, then wait for them to finish. */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; s->fds && i < s->o.max_conns; i++)
        if (s->fds[i] >= 0)
            shutdown(s->fds[i], SHUT_RDWR);
    while (s->active > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    SSL_CTX_free(s->tls);
    dbg_store_close(s->store);
    dbg_gw_policy_free(s->policy);
    if (s->tmpdir)
        rmdir(s->tmpdir);
    free(s->tmpdir);
    free(s->fds);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->store_mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
