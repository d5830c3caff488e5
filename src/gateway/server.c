/* The gateway's listeners: a Unix socket (identity = SO_PEERCRED uid) and a TLS 1.3 TCP port
 * (identity = client certificate subject). One thread per listener polls for connections;
 * each connection gets a thread that reads request lines (bounded) and writes responses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

#define MAX_CONNS 64
#define IO_TIMEOUT_S 30

struct dbg_gw_server {
    dbg_gateway *gw;
    int unix_fd, tcp_fd, port;
    char *socket_path;
    SSL_CTX *tls;
    pthread_t unix_thr, tcp_thr;
    int have_unix_thr, have_tcp_thr;
    volatile int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;
    int fds[MAX_CONNS]; /* open connections, so stop can wake their blocked reads */
};

typedef struct {
    dbg_gw_server *s;
    int fd;
    SSL *ssl;
    dbg_gw_identity id;
} conn;

static int conn_write(conn *c, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = c->ssl ? SSL_write(c->ssl, buf, (int)len) : write(c->fd, buf, len);
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

static ssize_t conn_read(conn *c, char *buf, size_t len)
{
    for (;;) {
        ssize_t n = c->ssl ? SSL_read(c->ssl, buf, (int)len) : read(c->fd, buf, len);
        if (!c->ssl && n < 0 && errno == EINTR)
            continue;
        return n;
    }
}

static void serve_lines(conn *c)
{
    dbg_gateway *gw = c->s->gw;
    size_t cap = DBG_GW_LINE_MAX + 2, len = 0;
    char *buf = dbg_malloc(cap);
    if (!buf)
        return;
    for (;;) {
        char *nl = len ? memchr(buf, '\n', len) : NULL;
        if (!nl && len >= DBG_GW_LINE_MAX + 1) {
            /* Oversized: answer once (the parser audits and refuses it), then hang up, since
             * the framing is lost. */
            char *resp = NULL;
            dbg_gateway_handle(gw, &c->id, buf, len, &resp);
            if (resp) {
                conn_write(c, resp, strlen(resp));
                conn_write(c, "\n", 1);
                free(resp);
            }
            break;
        }
        if (!nl) {
            ssize_t n = conn_read(c, buf + len, cap - 1 - len);
            if (n <= 0)
                break;
            len += (size_t)n;
            continue;
        }
        size_t linelen = (size_t)(nl - buf);
        size_t l2 = linelen;
        if (l2 > 0 && buf[l2 - 1] == '\r')
            l2--;
        char *resp = NULL;
        if (l2 > 0) {
            dbg_gateway_handle(gw, &c->id, buf, l2, &resp);
            int w = resp ? conn_write(c, resp, strlen(resp)) : -1;
            if (w == 0)
                w = conn_write(c, "\n", 1);
            free(resp);
            if (w != 0)
                break;
        }
        memmove(buf, nl + 1, len - linelen - 1);
        len -= linelen + 1;
    }
    free(buf);
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    dbg_gw_server *s = c->s;
    int c_fd = c->fd;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (c->ssl) {
        SSL_set_fd(c->ssl, c->fd);
        int rc = SSL_accept(c->ssl);
        char cn[128], org[128];
        if (rc != 1) {
            char why[512];
            dbg_tls_failure(c->ssl, rc, why, sizeof(why));
            dbg_info("gateway: refused %s: %s", c->id.source, why);
            dbg_gateway_audit_refusal(s->gw, c->id.source, NULL, why);
            goto out;
        }
        if (dbg_tls_peer_subject(c->ssl, cn, org) != 0) {
            dbg_gateway_audit_refusal(s->gw, c->id.source, NULL, dbg_err_msg());
            goto out;
        }
        char src[128];
        snprintf(src, sizeof(src), "%s", c->id.source + 4); /* strip "tls:" */
        dbg_gw_identity_tls(&c->id, cn, org, src);
    }
    serve_lines(c);
out:
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    pthread_mutex_lock(&s->mu);
    close(c->fd);
    free(c);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->fds[i] == c_fd)
            s->fds[i] = -1;
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void spawn(dbg_gw_server *s, conn *c)
{
    pthread_mutex_lock(&s->mu);
    int full = s->active >= MAX_CONNS;
    if (!full) {
        s->active++;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (s->fds[i] < 0) {
                s->fds[i] = c->fd;
                break;
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (full || pthread_create(&t, &at, conn_main, c) != 0) {
        dbg_warn("gateway: refusing %s: %s", c->id.source,
                 full ? "too many connections" : "no thread");
        if (!full) {
            pthread_mutex_lock(&s->mu);
            for (int i = 0; i < MAX_CONNS; i++)
                if (s->fds[i] == c->fd)
                    s->fds[i] = -1;
            s->active--;
            pthread_mutex_unlock(&s->mu);
        }
        if (c->ssl)
            SSL_free(c->ssl);
        close(c->fd);
        free(c);
    }
    pthread_attr_destroy(&at);
}

static void *accept_main(void *arg, int is_tcp)
{
    dbg_gw_server *s = arg;
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
            c->id.kind = DBG_GW_ID_TLS;
            snprintf(c->id.source, sizeof(c->id.source), "tls:%s:%s", host, port);
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
            dbg_gw_identity_unix(&c->id, cr.uid, cr.pid);
        }
        spawn(s, c);
    }
    return NULL;
}

static void *accept_unix(void *arg) { return accept_main(arg, 0); }
static void *accept_tcp(void *arg) { return accept_main(arg, 1); }

static int open_unix(dbg_gw_server *s, const char *path)
{
    if ((s->unix_fd = dbg_net_listen_unix(path, 64)) < 0)
        return -1;
    return (s->socket_path = dbg_strdup(path)) ? 0 : -1;
}

static int open_tcp(dbg_gw_server *s, const char *listen_on)
{
    return (s->tcp_fd = dbg_net_listen_tcp(listen_on, 64, &s->port)) < 0 ? -1 : 0;
}

dbg_gw_server *dbg_gw_server_start(dbg_gateway *gw, const dbg_gw_listen_opts *o)
{
    dbg_gw_server *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->gw = gw;
    s->unix_fd = s->tcp_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        s->fds[i] = -1;
    if (!o->socket_path && !o->listen) {
        dbg_err_set(DBG_ERR_USAGE, "the gateway needs a socket path or a listen address");
        goto fail;
    }
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
    dbg_gw_server_stop(s);
    return NULL;
}

int dbg_gw_server_port(const dbg_gw_server *s)
{
    return s ? s->port : -1;
}

void dbg_gw_server_stop(dbg_gw_server *s)
{
    if (!s)
        return;
    s->stop = 1;
    if (s->have_unix_thr)
        pthread_join(s->unix_thr, NULL);
    if (s->have_tcp_thr)
        pthread_join(s->tcp_thr, NULL);
    if (s->unix_fd >= 0)
        close(s->unix_fd);
    if (s->tcp_fd >= 0)
        close(s->tcp_fd);
    if (s->socket_path)
        unlink(s->socket_path);
    /* Wake connection threads blocked in reads, then wait for them to finish. */
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->fds[i] >= 0)
            shutdown(s->fds[i], SHUT_RDWR);
    while (s->active > 0)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    SSL_CTX_free(s->tls);
    free(s->socket_path);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
