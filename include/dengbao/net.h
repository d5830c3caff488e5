/* Listening sockets and the accept loop for dengbao's servers (the gateway in `dengbao agent`,
 * `dengbao serve`). */
#ifndef DENGBAO_NET_H
#define DENGBAO_NET_H

#include <sys/types.h>

#include "dengbao/tls.h"

/* A Unix stream socket at path (a stale socket there is replaced; any other file is an error),
 * mode 0666: the servers identify peers by SO_PEERCRED, not by file permissions. Returns the
 * listening fd, or -1 with dbg_err set. */
int dbg_net_listen_unix(const char *path, int backlog);
/* A TCP socket on "ADDR:PORT" / "[V6]:PORT" (numeric; port 0 = any, the chosen one in *port).
 * Returns the listening fd, or -1 with dbg_err set. */
int dbg_net_listen_tcp(const char *listen_on, int backlog, int *port);

/* A TCP connection to host:port, trying each address the name resolves to in turn; with
 * timeout_s > 0 each connect is bounded by it. Returns the fd, or -1 with dbg_err naming
 * host:port and the last error. */
int dbg_net_connect_tcp(const char *host, const char *port, int timeout_s);

/* ---- accepting connections (src/net/acceptor.c) ---- */

typedef struct dbg_acceptor dbg_acceptor;

/* One accepted connection, handed to a server's serve hook on a thread of its own. */
typedef struct {
    int fd;
    SSL *ssl;       /* TLS listener: handshake done and peer verified; NULL on the Unix socket */
    char peer[128]; /* "tls:127.0.0.1:40222" | "unix:uid=1000,pid=42" */
    uid_t uid;      /* Unix socket: SO_PEERCRED */
    pid_t pid;
    char cn[128], org[128];    /* TLS: the client certificate's subject (O may be empty) */
    int subject_cut;           /* TLS: cn or org is cut (dbg_tls_peer_subject) */
    int64_t write_deadline_us; /* dbg_net_conn_write fails past this dbg_monotonic_us() time
                                * (0 = none): the send timeout bounds each send, so a reader
                                * taking a few bytes now and then held the connection as long
                                * as it liked */
    dbg_acceptor *acc; /* the acceptor serving it (for dbg_acceptor_active): the server's own
                        * pointer to it is not set yet while the first connections are served */
} dbg_net_conn;

typedef struct {
    const char *socket_path; /* Unix socket, or NULL */
    const char *listen;      /* "ADDR:PORT" for TLS 1.3 with client certificates, or NULL */
    const char *tls_cert, *tls_key, *tls_ca;
    int tcp_backlog;
    int max_conns;    /* connections served at once; the rest are turned away */
    int io_timeout_s; /* SO_RCVTIMEO and SO_SNDTIMEO of every connection */
    void *ctx;        /* first argument of the hooks */
    /* Serves c; the acceptor shuts TLS down and closes the socket when it returns. */
    void (*serve)(void *ctx, dbg_net_conn *c);
    /* A TLS client that did not get through: in_handshake = the handshake failed, otherwise
     * the certificate names no usable subject. */
    void (*refused)(void *ctx, const dbg_net_conn *c, const char *why, int in_handshake);
    /* Turned away unserved (why: "too many connections" or "no thread"). No TLS handshake has
     * run, so only a plain (Unix socket) peer can still be answered on c->fd. */
    void (*turned_away)(void *ctx, dbg_net_conn *c, const char *why);
} dbg_acceptor_opts;

/* Listens where o says and serves until stopped; NULL with dbg_err set. */
dbg_acceptor *dbg_acceptor_start(const dbg_acceptor_opts *o);
/* Stops accepting, removes the socket file, wakes blocked connections and waits for them. */
void dbg_acceptor_stop(dbg_acceptor *a);
int dbg_acceptor_port(const dbg_acceptor *a); /* the bound TCP port, or -1 without one */
int dbg_acceptor_active(dbg_acceptor *a);     /* connections being served */

/* What dbg_net_conn_read returns instead of a byte count. */
enum { DBG_NET_EOF = 0, DBG_NET_ERR = -1, DBG_NET_TIMEOUT = -2 };
/* > 0 bytes, DBG_NET_EOF, DBG_NET_TIMEOUT (SO_RCVTIMEO expired) or DBG_NET_ERR. */
ssize_t dbg_net_conn_read(dbg_net_conn *c, void *buf, size_t len);
/* All of buf, or -1. */
int dbg_net_conn_write(dbg_net_conn *c, const void *buf, size_t len);

#endif
