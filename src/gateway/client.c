/* The gateway client used by `dengbao vm`: one request line out, one response line back,
 * over the local Unix socket or TLS 1.3 with a client certificate. */
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        dbg_err_set(DBG_ERR_USAGE, "socket path %s is too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        dbg_err_errno(DBG_ERR_NET, "cannot reach the gateway at %s (is `dengbao agent` running?)",
                      path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int dbg_gw_client_call(const dbg_gw_client_opts *o, const char *request_json, char **response)
{
    int r = -1, fd = -1;
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    char *line = NULL;
    dbg_buf in;
    dbg_buf_init(&in, DBG_GW_LINE_MAX * 16);
    *response = NULL;
    if (o->connect) {
        char host[256], port[16];
        if (dbg_parse_hostport(o->connect, host, port) != 0)
            goto out;
        if (!(ctx = dbg_tls_client_ctx(o->cert, o->key, o->ca)))
            goto out;
        if ((fd = dbg_net_connect_tcp(host, port, 0)) < 0)
            goto out;
        if (!(ssl = SSL_new(ctx)) || dbg_tls_expect_host(ssl, host) != 0 ||
            dbg_tls_set_fd(ssl, fd) != 0)
            goto out;
    } else if (o->socket_path) {
        if ((fd = connect_unix(o->socket_path)) < 0)
            goto out;
    } else {
        dbg_err_set(DBG_ERR_USAGE, "give --socket PATH or --connect ADDR:PORT");
        goto out;
    }
    struct timeval tv = {o->timeout_s > 0 ? o->timeout_s : 600, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (ssl && SSL_connect(ssl) != 1) {
        char why[512];
        dbg_tls_failure(ssl, 0, why, sizeof(why));
        dbg_err_set(DBG_ERR_CRYPTO, "%s", why);
        goto out;
    }
    line = dbg_asprintf("%s\n", request_json);
    if (!line)
        goto out;
    dbg_net_conn conn = {.fd = fd, .ssl = ssl}; /* its writer: EPIPE, not SIGPIPE */
    if (dbg_net_conn_write(&conn, line, strlen(line)) != 0) {
        dbg_err_errno(DBG_ERR_NET, "sending the request");
        goto out;
    }
    for (;;) {
        char buf[4096];
        ssize_t n = ssl ? SSL_read(ssl, buf, sizeof(buf)) : read(fd, buf, sizeof(buf));
        if (n <= 0) {
            if (ssl) {
                char why[512];
                dbg_tls_failure(ssl, (int)n, why, sizeof(why));
                dbg_err_set(DBG_ERR_NET, "the gateway closed the connection without an answer "
                            "(%s)", why);
            } else {
                dbg_err_errno(DBG_ERR_NET, "the gateway closed the connection without an answer");
            }
            goto out;
        }
        if (dbg_buf_add(&in, buf, (size_t)n) != 0)
            goto out;
        char *nl = memchr(in.data, '\n', in.len);
        if (nl) {
            *nl = 0;
            *response = dbg_buf_steal(&in);
            r = 0;
            break;
        }
    }
out:
    if (ssl) {
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    if (fd >= 0)
        close(fd);
    dbg_buf_free(&in);
    free(line);
    ERR_clear_error();
    return r;
}
