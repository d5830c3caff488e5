/* The gateway's listeners: a Unix socket (identity = SO_PEERCRED uid) and a TLS 1.3 TCP port
 * (identity = client certificate subject), accepted by src/net/acceptor.c. Each connection
 * carries request lines (bounded) answered one by one; refusals go to the audit log. */
#include <stdlib.h>
#include <string.h>

#include "dengbao/net.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

#define MAX_CONNS 64
#define IO_TIMEOUT_S 30
#define TCP_BACKLOG 64

struct dbg_gw_server {
    dbg_gateway *gw;
    dbg_acceptor *acc;
};

typedef struct {
    dbg_gw_server *s;
    dbg_net_conn *net;
    dbg_gw_identity id;
} conn;

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
                dbg_net_conn_write(c->net, resp, strlen(resp));
                dbg_net_conn_write(c->net, "\n", 1);
                free(resp);
            }
            break;
        }
        if (!nl) {
            ssize_t n = dbg_net_conn_read(c->net, buf + len, cap - 1 - len);
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
            int w = resp ? dbg_net_conn_write(c->net, resp, strlen(resp)) : -1;
            if (w == 0)
                w = dbg_net_conn_write(c->net, "\n", 1);
            free(resp);
            if (w != 0)
                break;
        }
        memmove(buf, nl + 1, len - linelen - 1);
        len -= linelen + 1;
    }
    free(buf);
}

static void serve_conn(void *ctx, dbg_net_conn *nc)
{
    conn c = {.s = ctx, .net = nc};
    if (nc->ssl) {
        dbg_gw_identity_tls(&c.id, nc->cn, nc->org, nc->peer + 4); /* past "tls:" */
        c.id.cut = nc->subject_cut;
    } else
        dbg_gw_identity_unix(&c.id, nc->uid, nc->pid);
    serve_lines(&c);
}

static void refused(void *ctx, const dbg_net_conn *nc, const char *why, int in_handshake)
{
    dbg_gw_server *s = ctx;
    /* Only failed handshakes are logged: a subjectless certificate has always gone to the audit
     * log alone. */
    if (in_handshake)
        dbg_info("gateway: refused %s: %s", nc->peer, why);
    dbg_gateway_audit_refusal(s->gw, nc->peer, NULL, why);
}

static void turned_away(void *ctx, dbg_net_conn *nc, const char *why)
{
    dbg_warn("gateway: refusing %s: %s", nc->peer, why);
}

dbg_gw_server *dbg_gw_server_start(dbg_gateway *gw, const dbg_gw_listen_opts *o)
{
    if (!o->socket_path && !o->listen) {
        dbg_err_set(DBG_ERR_USAGE, "the gateway needs a socket path or a listen address");
        return NULL;
    }
    dbg_gw_server *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->gw = gw;
    dbg_acceptor_opts ao = {.socket_path = o->socket_path,
                            .listen = o->listen,
                            .tls_cert = o->tls_cert,
                            .tls_key = o->tls_key,
                            .tls_ca = o->tls_ca,
                            .tcp_backlog = TCP_BACKLOG,
                            .max_conns = MAX_CONNS,
                            .io_timeout_s = IO_TIMEOUT_S,
                            .ctx = s,
                            .serve = serve_conn,
                            .refused = refused,
                            .turned_away = turned_away};
    if (!(s->acc = dbg_acceptor_start(&ao))) {
        free(s);
        return NULL;
    }
    return s;
}

int dbg_gw_server_port(const dbg_gw_server *s)
{
    if (!s)
        return -1;
    /* 0 rather than the acceptor's -1 without a TCP listener, as this has always answered. */
    int port = dbg_acceptor_port(s->acc);
    return port < 0 ? 0 : port;
}

void dbg_gw_server_stop(dbg_gw_server *s)
{
    if (!s)
        return;
    dbg_acceptor_stop(s->acc);
    free(s);
}
