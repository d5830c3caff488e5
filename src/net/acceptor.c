/* The accepting half of dengbao's servers, shared by the gateway and `dengbao serve` so that
 * both name peers, cap and time out connections, verify TLS clients and shut down the same way;
 * each server only says how to serve, refuse and turn away a connection. One thread per
 * listener polls for connections; each connection gets a detached thread of its own. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/util.h"

#define UNIX_BACKLOG 64
/* How often the accept threads look at the stop flag. */
#define POLL_MS 200
/* Pause after accept failed for want of descriptors or memory (see accept_main). */
#define ACCEPT_BACKOFF_MS 100

struct dbg_acceptor {
    dbg_acceptor_opts o;
    int unix_fd, tcp_fd, port;
    char *socket_path; /* set once bound, so stop removes only a socket this acceptor made */
    SSL_CTX *tls;
    pthread_t unix_thr, tcp_thr;
    int have_unix_thr, have_tcp_thr;
    volatile int stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int active;
    int handshaking; /* TLS connections of active still in their handshake (unauthenticated) */
    int *fds; /* open connections (max_conns), so stop can wake their blocked reads */
};

typedef struct {
    dbg_net_conn c;
    dbg_acceptor *a;
} conn;

/* SSL_read/SSL_write take an int. */
static int ssl_len(size_t len)
{
    return len > (1u << 30) ? (1 << 30) : (int)len;
}

ssize_t dbg_net_conn_read(dbg_net_conn *c, void *buf, size_t len)
{
    for (;;) {
        errno = 0;
        if (c->ssl) {
            int n = SSL_read(c->ssl, buf, ssl_len(len));
            if (n > 0)
                return n;
            int e = SSL_get_error(c->ssl, n);
            ERR_clear_error();
            if (e == SSL_ERROR_ZERO_RETURN)
                return DBG_NET_EOF;
            if ((e == SSL_ERROR_SYSCALL || e == SSL_ERROR_WANT_READ) &&
                (errno == EAGAIN || errno == EWOULDBLOCK))
                return DBG_NET_TIMEOUT;
            /* A peer that closes without close_notify is an EOF to the servers, not an error. */
            return e == SSL_ERROR_SYSCALL && errno == 0 ? DBG_NET_EOF : DBG_NET_ERR;
        }
        ssize_t n = read(c->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? DBG_NET_TIMEOUT : DBG_NET_ERR;
    }
}

/* A TLS write within c->write_deadline_us: SSL_write on a blocking socket returns when all of
 * len is out, sending again after every partial send that the send timeout ended, so a reader
 * taking a few hundred bytes a second held the answer (and its connection slot) for as long as
 * it liked. Non-blocking here, waiting for the socket up to the deadline. Not also up to the
 * send timeout per wait: poll says writable only once a third of the queued bytes are out,
 * which a reader on a slow link (64 KB/s against a send buffer grown to megabytes) took longer
 * than 10 s to take while it kept reading. */
static int tls_write_within(dbg_net_conn *c, const char *p, size_t len)
{
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int r = 0;
    while (len > 0) {
        /* retried with the same buffer and length until it is all out, as OpenSSL asks */
        int n = SSL_write(c->ssl, p, ssl_len(len));
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        int e = SSL_get_error(c->ssl, n);
        ERR_clear_error();
        int64_t left_ms = (c->write_deadline_us - dbg_monotonic_us()) / 1000;
        if ((e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) || left_ms <= 0) {
            errno = e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? ETIMEDOUT : EIO;
            r = -1;
            break;
        }
        struct pollfd pfd = {.fd = c->fd, .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
        int pr = poll(&pfd, 1, (int)left_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            errno = ETIMEDOUT;
            r = -1;
            break;
        }
    }
    fcntl(c->fd, F_SETFL, fl); /* reads block again, under the socket timeouts */
    return r;
}

int dbg_net_conn_write(dbg_net_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    if (c->ssl && c->write_deadline_us)
        return tls_write_within(c, p, len);
    while (len > 0) {
        if (c->write_deadline_us && dbg_monotonic_us() > c->write_deadline_us) {
            errno = ETIMEDOUT;
            return -1;
        }
        /* a peer that has gone is an error here (EPIPE), not a SIGPIPE that kills whatever
         * process embeds the server: send with MSG_NOSIGNAL, and TLS through dbg_tls_set_fd's
         * BIO, which does the same */
        /* a plain send of everything would block inside one call for as long as the reader
         * keeps taking some (each wait has the timeout, not the call): 64 KiB at a time, so the
         * deadline is looked at (TLS with a deadline: tls_write_within) */
        size_t chunk = len < 65536 ? len : 65536;
        ssize_t n = c->ssl ? SSL_write(c->ssl, p, ssl_len(len)) : send(c->fd, p, chunk, MSG_NOSIGNAL);
        if (n <= 0) {
            if (!c->ssl && n < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The TLS handshake within timeout_s in all: 1, 0 on timeout, -1 on a failed handshake. The
 * socket's read timeout bounds each read, not the handshake, so a client (no certificate needed
 * yet) sending a byte every few seconds held a connection slot for as long as it liked, and a
 * few dozen such clients closed the HTTPS port to everyone. */
static int accept_within(SSL *ssl, int fd, int timeout_s, int *rc)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        *rc = SSL_accept(ssl); /* cannot bound it: as before */
        return *rc == 1 ? 1 : -1;
    }
    int64_t deadline = dbg_monotonic_us() + (int64_t)timeout_s * 1000000;
    int r;
    for (;;) {
        *rc = SSL_accept(ssl);
        if (*rc == 1) {
            r = 1;
            break;
        }
        int e = SSL_get_error(ssl, *rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            r = -1;
            break;
        }
        int64_t left_ms = (deadline - dbg_monotonic_us()) / 1000;
        struct pollfd pfd = {.fd = fd, .events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT};
        int pr = left_ms > 0 ? poll(&pfd, 1, (int)left_ms) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            r = 0;
            break;
        }
    }
    fcntl(fd, F_SETFL, fl); /* reads and writes after it block again, under the socket timeouts */
    return r;
}

/* Under a->mu. */
static void release_slot(dbg_acceptor *a, int fd)
{
    for (int i = 0; i < a->o.max_conns; i++)
        if (a->fds[i] == fd)
            a->fds[i] = -1;
    a->active--;
}

static void *conn_main(void *arg)
{
    conn *k = arg;
    dbg_net_conn *c = &k->c;
    dbg_acceptor *a = k->a;
    struct timeval tv = {a->o.io_timeout_s, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (c->ssl) {
        int rc = -1;
        int hs = dbg_tls_set_fd(c->ssl, c->fd) == 0
                     ? accept_within(c->ssl, c->fd, a->o.io_timeout_s, &rc)
                     : -1;
        pthread_mutex_lock(&a->mu);
        a->handshaking--;
        pthread_mutex_unlock(&a->mu);
        char why[512];
        if (hs == 0) {
            snprintf(why, sizeof(why), "TLS handshake not complete within %d s", a->o.io_timeout_s);
            a->o.refused(a->o.ctx, c, why, 1);
            goto out;
        }
        if (hs != 1) {
            dbg_tls_failure(c->ssl, rc, why, sizeof(why));
            a->o.refused(a->o.ctx, c, why, 1);
            goto out;
        }
        if (dbg_tls_peer_subject(c->ssl, c->cn, c->org, &c->subject_cut) != 0) {
            snprintf(why, sizeof(why), "%s", dbg_err_msg());
            a->o.refused(a->o.ctx, c, why, 0);
            goto out;
        }
    }
    a->o.serve(a->o.ctx, c);
out:
    if (c->ssl) {
        SSL_shutdown(c->ssl);
        SSL_free(c->ssl);
    }
    pthread_mutex_lock(&a->mu);
    close(c->fd);
    release_slot(a, c->fd);
    free(k);
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Connections in their TLS handshake may fill the table up to this: the rest stays for the Unix
 * socket (root, the local admins) and for clients already past their handshake. Anyone who can
 * reach the port may open a connection and send nothing for io_timeout_s, no certificate needed:
 * 64 such connections, opened again as they were closed, turned every caller away, root on the
 * Unix socket included (503). */
static int handshakes_max(int max_conns)
{
    return max_conns - max_conns / 4;
}

static void spawn(dbg_acceptor *a, conn *k)
{
    pthread_mutex_lock(&a->mu);
    int slot = -1;
    int hs_full = k->c.ssl && a->handshaking >= handshakes_max(a->o.max_conns);
    if (a->active < a->o.max_conns && !hs_full) {
        for (int i = 0; i < a->o.max_conns && slot < 0; i++)
            if (a->fds[i] < 0)
                slot = i;
    }
    if (slot >= 0) {
        a->fds[slot] = k->c.fd;
        a->active++;
        a->handshaking += k->c.ssl != NULL;
    }
    pthread_mutex_unlock(&a->mu);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    if (slot < 0 || pthread_create(&t, &at, conn_main, k) != 0) {
        if (slot >= 0) {
            pthread_mutex_lock(&a->mu);
            release_slot(a, k->c.fd);
            a->handshaking -= k->c.ssl != NULL;
            pthread_mutex_unlock(&a->mu);
        }
        char why[96];
        if (hs_full)
            snprintf(why, sizeof(why), "too many connections in their TLS handshake (%d)",
                     handshakes_max(a->o.max_conns));
        else
            snprintf(why, sizeof(why), "%s", slot < 0 ? "too many connections" : "no thread");
        a->o.turned_away(a->o.ctx, &k->c, why);
        if (k->c.ssl)
            SSL_free(k->c.ssl);
        close(k->c.fd);
        free(k);
    }
    pthread_attr_destroy(&at);
}

/* Names the peer before anything is read from it: the kernel's word for a Unix peer, the
 * address for a TLS one until its certificate is checked. */
static int name_peer(dbg_acceptor *a, int is_tcp, const struct sockaddr_storage *ss, socklen_t sl,
                     dbg_net_conn *c)
{
    if (is_tcp) {
        /* An answer goes out in two writes (head, body): on a kept-alive connection Nagle held
         * the second until the client's delayed ACK, 40 ms per request, more than a handshake. */
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char host[INET6_ADDRSTRLEN] = "?", port[8] = "";
        getnameinfo((const struct sockaddr *)ss, sl, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(c->peer, sizeof(c->peer), "tls:%s:%s", host, port);
        return (c->ssl = SSL_new(a->tls)) ? 0 : -1;
    }
    struct ucred cr;
    socklen_t cl = sizeof(cr);
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cr, &cl) != 0)
        return -1;
    c->uid = cr.uid;
    c->pid = cr.pid;
    snprintf(c->peer, sizeof(c->peer), "unix:uid=%u,pid=%ld", (unsigned)cr.uid, (long)cr.pid);
    return 0;
}

static void *accept_main(dbg_acceptor *a, int is_tcp)
{
    int lfd = is_tcp ? a->tcp_fd : a->unix_fd;
    int starved = 0; /* warned about the current run of resource failures */
    while (!a->stop) {
        struct pollfd p = {lfd, POLLIN, 0};
        if (poll(&p, 1, POLL_MS) <= 0)
            continue;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) {
            int e = errno;
            /* The connection stays queued, so poll reports the listener ready again at once:
             * without a pause this loop spins a core until a descriptor is freed. */
            if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
                if (!starved) {
                    char why[128];
                    dbg_warn("%s listener: cannot accept connections (%s); retrying every %d ms",
                             is_tcp ? "TLS" : "Unix socket", strerror_r(e, why, sizeof(why)),
                             ACCEPT_BACKOFF_MS);
                    starved = 1;
                }
                poll(NULL, 0, ACCEPT_BACKOFF_MS);
            }
            continue;
        }
        starved = 0;
        conn *k = dbg_calloc(1, sizeof(*k));
        if (!k) {
            close(fd);
            continue;
        }
        k->a = a;
        k->c.acc = a;
        k->c.fd = fd;
        if (name_peer(a, is_tcp, &ss, sl, &k->c) != 0) {
            close(fd);
            free(k);
            continue;
        }
        spawn(a, k);
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

dbg_acceptor *dbg_acceptor_start(const dbg_acceptor_opts *o)
{
    dbg_acceptor *a = dbg_calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->o = *o;
    a->unix_fd = a->tcp_fd = a->port = -1;
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (!(a->fds = dbg_calloc((size_t)o->max_conns, sizeof(int))))
        goto fail;
    for (int i = 0; i < o->max_conns; i++)
        a->fds[i] = -1;
    if (o->socket_path) {
        if ((a->unix_fd = dbg_net_listen_unix(o->socket_path, UNIX_BACKLOG)) < 0 ||
            !(a->socket_path = dbg_strdup(o->socket_path)))
            goto fail;
    }
    if (o->listen) {
        if (!(a->tls = dbg_tls_server_ctx(o->tls_cert, o->tls_key, o->tls_ca)) ||
            (a->tcp_fd = dbg_net_listen_tcp(o->listen, o->tcp_backlog, &a->port)) < 0)
            goto fail;
    }
    if (a->unix_fd >= 0) {
        if (pthread_create(&a->unix_thr, NULL, accept_unix, a) != 0)
            goto fail_thr;
        a->have_unix_thr = 1;
    }
    if (a->tcp_fd >= 0) {
        if (pthread_create(&a->tcp_thr, NULL, accept_tcp, a) != 0)
            goto fail_thr;
        a->have_tcp_thr = 1;
    }
    return a;
fail_thr:
    dbg_err_set(DBG_ERR_INTERNAL, "cannot start listener threads");
fail:
    dbg_acceptor_stop(a);
    return NULL;
}

int dbg_acceptor_port(const dbg_acceptor *a)
{
    return a ? a->port : -1;
}

int dbg_acceptor_active(dbg_acceptor *a)
{
    pthread_mutex_lock(&a->mu);
    int n = a->active;
    pthread_mutex_unlock(&a->mu);
    return n;
}

void dbg_acceptor_stop(dbg_acceptor *a)
{
    if (!a)
        return;
    a->stop = 1;
    if (a->have_unix_thr)
        pthread_join(a->unix_thr, NULL);
    if (a->have_tcp_thr)
        pthread_join(a->tcp_thr, NULL);
    if (a->unix_fd >= 0)
        close(a->unix_fd);
    if (a->tcp_fd >= 0)
        close(a->tcp_fd);
    if (a->socket_path)
        unlink(a->socket_path);
    /* Connection threads may sit in a read for io_timeout_s: wake them rather than wait. */
    pthread_mutex_lock(&a->mu);
    for (int i = 0; a->fds && i < a->o.max_conns; i++)
        if (a->fds[i] >= 0)
            shutdown(a->fds[i], SHUT_RDWR);
    while (a->active > 0)
        pthread_cond_wait(&a->cv, &a->mu);
    pthread_mutex_unlock(&a->mu);
    SSL_CTX_free(a->tls);
    free(a->socket_path);
    free(a->fds);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}
