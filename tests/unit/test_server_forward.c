/* The agent -> central forwarder against a real in-process `dengbao serve` (dbg_server): over
 * HTTPS with a client certificate made here by the openssl command, and over the Unix socket.
 * Complete EVE lines arrive in the store, a half-written line waits for its newline, a restart
 * resumes from the saved offset without resending, a central outage is retried until the server
 * is back, and an identity the server refuses (a tenant) moves nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "dengbao/alert.h"
#include "dengbao/net.h"
#include "dengbao/server.h"
#include "dengbao/store.h"
#include "dengbao/tls.h"
#include "dengbao/util.h"

static char dir[] = "/tmp/dbg-fwd-XXXXXX";

static char *path(const char *name)
{
    return dbg_path_join(dir, name);
}

static int count_cb(const dbg_store_event *ev, void *opaque)
{
    (void)ev;
    (*(int *)opaque)++;
    return 0;
}

static int stored_events(void)
{
    DBG_AUTOFREE char *db = path("central.db");
    dbg_store *st = dbg_store_open(db);
    assert_non_null(st);
    dbg_store_filter f;
    memset(&f, 0, sizeof(f));
    int n = 0;
    assert_int_equal(dbg_store_query(st, &f, count_cb, &n), 0);
    dbg_store_close(st);
    return n;
}

static void append(const char *file, const char *text)
{
    DBG_AUTOFREE char *p = path(file);
    FILE *fp = fopen(p, "ab");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

#define EVE(sig, tenant)                                                                           \
    "{\"timestamp\":\"2026-11-25T01:02:03.000000+0000\",\"event_type\":\"alert\",\"alert\":{"      \
    "\"signature\":\"" sig "\"},\"dengbao\":{\"src\":{\"tenant\":\"" tenant "\"}}}\n"

/* Waits until the forwarder's accepted offset reaches want (or 10 s). */
static uint64_t wait_offset(dbg_forwarder *f, uint64_t want)
{
    dbg_forwarder_stats st;
    for (int i = 0; i < 200; i++) {
        dbg_forwarder_get_stats(f, &st);
        if (st.offset >= want)
            break;
        usleep(50000);
    }
    return st.offset;
}

/* Waits until the store holds want events (or 10 s): how many it holds. */
static int wait_stored(int want)
{
    int n = 0;
    for (int i = 0; i < 200 && (n = stored_events()) < want; i++)
        usleep(50000);
    return n;
}

static uint64_t file_size(const char *file)
{
    DBG_AUTOFREE char *p = path(file);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(p, 1 << 20, &data, &len), 0);
    free(data);
    return len;
}

static dbg_server *start_server(int with_tls)
{
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *db = path("central.db");
    DBG_AUTOFREE char *cert = path("server.pem");
    DBG_AUTOFREE char *key = path("server.key");
    DBG_AUTOFREE char *ca = path("ca.pem");
    dbg_server_opts o;
    memset(&o, 0, sizeof(o));
    o.socket_path = sock;
    o.store_url = db;
    if (with_tls) {
        o.listen = "127.0.0.1:0";
        o.tls_cert = cert;
        o.tls_key = key;
        o.tls_ca = ca;
    }
    o.io_timeout_s = 2; /* the slow handshake below is cut after it */
    o.keepalive_idle_s = 1;
    o.keepalive_max = 4;
    dbg_server *s = dbg_server_start(&o);
    if (!s)
        fail_msg("server: %s", dbg_err_msg());
    return s;
}

/* A client that starts a TLS handshake and sends it one byte at a time, each within the read
 * timeout: seconds until the server closes the connection (or limit_s when it never does). */
static double slow_handshake_lasts(int port, double limit_s)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    /* a handshake record header announcing 512 bytes, then its bytes one by one */
    static const unsigned char head[] = {0x16, 0x03, 0x01, 0x02, 0x00};
    int64_t t0 = dbg_monotonic_us();
    double lasted = limit_s;
    for (size_t i = 0;; i++) {
        unsigned char byte = i < sizeof(head) ? head[i] : 0;
        char junk[64];
        ssize_t r = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ||
            send(fd, &byte, 1, MSG_NOSIGNAL) != 1) {
            lasted = (double)(dbg_monotonic_us() - t0) / 1e6;
            break;
        }
        if ((double)(dbg_monotonic_us() - t0) / 1e6 > limit_s)
            break;
        usleep(300000);
    }
    close(fd);
    return lasted;
}

/* A TLS client of the server at port: sends GET /healthz; with leave, resets the connection at
 * once (SO_LINGER 0), so the server's writes that follow (its answer, its session tickets, its
 * close_notify) meet a closed socket; else returns the answer (caller frees). */
static char *tls_get(int port, const char *cert, const char *key, const char *ca, int leave)
{
    SSL_CTX *ctx = dbg_tls_client_ctx(cert, key, ca);
    assert_non_null(ctx);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    SSL *ssl = SSL_new(ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    char *answer = NULL;
    if (SSL_connect(ssl) == 1) {
        static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        assert_int_equal(SSL_write(ssl, req, sizeof(req) - 1), (int)(sizeof(req) - 1));
        if (!leave) {
            dbg_buf b;
            dbg_buf_init(&b, 1 << 20);
            char chunk[4096];
            int n;
            while ((n = SSL_read(ssl, chunk, sizeof(chunk))) > 0)
                assert_int_equal(dbg_buf_add(&b, chunk, (size_t)n), 0);
            answer = dbg_buf_steal(&b);
        }
    }
    if (leave) {
        struct linger l = {1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(fd);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    return answer;
}

/* A TLS connection to the server at port with the given client certificate. */
static SSL *tls_open(SSL_CTX *ctx, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    SSL *ssl = SSL_new(ctx);
    assert_non_null(ssl);
    SSL_set_fd(ssl, fd);
    assert_int_equal(SSL_connect(ssl), 1);
    return ssl;
}

static void tls_close(SSL *ssl)
{
    int fd = SSL_get_fd(ssl);
    SSL_free(ssl);
    close(fd);
}

/* The next answer on ssl, framed by its Content-Length (bytes read past it stay in *rest): its
 * head and body, or NULL when the server closed the connection before one came. */
static char *tls_answer(SSL *ssl, dbg_buf *rest)
{
    char chunk[4096];
    for (;;) {
        const char *end = rest->data ? strstr(rest->data, "\r\n\r\n") : NULL;
        if (end) {
            const char *cl = strcasestr(rest->data, "Content-Length:");
            assert_non_null(cl);
            size_t whole = (size_t)(end + 4 - rest->data) + strtoul(cl + 15, NULL, 10);
            if (rest->len >= whole) {
                char *ans = dbg_strndup(rest->data, whole);
                dbg_buf b;
                dbg_buf_init(&b, 1 << 20);
                dbg_buf_add(&b, rest->data + whole, rest->len - whole);
                dbg_buf_free(rest);
                *rest = b;
                return ans;
            }
        }
        int n = SSL_read(ssl, chunk, sizeof(chunk));
        if (n <= 0)
            return NULL;
        assert_int_equal(dbg_buf_add(rest, chunk, (size_t)n), 0);
    }
}

static void tls_send(SSL *ssl, const char *req)
{
    assert_int_equal(SSL_write(ssl, req, (int)strlen(req)), (int)strlen(req));
}

/* Seconds until the server ends the connection (close_notify or EOF), at most limit_s. */
static double closed_after(SSL *ssl, double limit_s)
{
    struct timeval tv = {(time_t)limit_s + 1, 0};
    setsockopt(SSL_get_fd(ssl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    int64_t t0 = dbg_monotonic_us();
    char c;
    int n = SSL_read(ssl, &c, 1);
    double t = (double)(dbg_monotonic_us() - t0) / 1e6;
    return n <= 0 && t <= limit_s ? t : limit_s;
}

#define GET_HEALTHZ "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

/* Requests one after another on one TLS connection (one handshake): answered in order, each
 * without Connection: close until the last one the connection may carry (keepalive_max 4);
 * pipelined requests are answered in order too, and garbage after a good request gets a 400
 * that names it, then the end of the connection; an idle connection is closed after the idle
 * timeout (1 s), not held. */
static void persistent_tls(int port, const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = dbg_tls_client_ctx(cert, key, ca);
    assert_non_null(ctx);
    dbg_buf rest;
    dbg_buf_init(&rest, 1 << 20);

    SSL *ssl = tls_open(ctx, port);
    for (int i = 1; i <= 4; i++) {
        tls_send(ssl, GET_HEALTHZ);
        DBG_AUTOFREE char *ans = tls_answer(ssl, &rest);
        if (!ans)
            fail_msg("request %d on the kept connection: no answer", i);
        assert_non_null(strstr(ans, "HTTP/1.1 200 "));
        assert_non_null(strstr(ans, "{\"ok\":true"));
        if (i < 4)
            assert_null(strcasestr(ans, "Connection: close"));
        else
            assert_non_null(strstr(ans, "\r\nConnection: close\r\n")); /* the cap */
    }
    assert_true(closed_after(ssl, 3.0) < 3.0);
    assert_int_equal(rest.len, 0);
    tls_close(ssl);

    /* pipelined: two requests in one write, two answers in order; then garbage */
    ssl = tls_open(ctx, port);
    tls_send(ssl, GET_HEALTHZ "GET /api/v1/nope HTTP/1.1\r\nHost: x\r\n\r\n");
    DBG_AUTOFREE char *a1 = tls_answer(ssl, &rest);
    DBG_AUTOFREE char *a2 = tls_answer(ssl, &rest);
    assert_non_null(a1);
    assert_non_null(a2);
    assert_non_null(strstr(a1, "HTTP/1.1 200 "));
    assert_non_null(strstr(a2, "HTTP/1.1 404 "));
    tls_send(ssl, GET_HEALTHZ "\x16\x03garbage\r\n\r\n");
    DBG_AUTOFREE char *a3 = tls_answer(ssl, &rest);
    DBG_AUTOFREE char *a4 = tls_answer(ssl, &rest);
    assert_non_null(a3);
    assert_non_null(strstr(a3, "HTTP/1.1 200 "));
    if (!a4 || !strstr(a4, "HTTP/1.1 400 ") || !strstr(a4, "\"error\":\"request line") ||
        !strstr(a4, "Connection: close"))
        fail_msg("garbage after a request: %s", a4 ? a4 : "no answer");
    assert_true(closed_after(ssl, 3.0) < 3.0);
    tls_close(ssl);
    dbg_buf_reset(&rest);

    /* idle: the server closes after keepalive_idle_s (1 s), well before the I/O timeouts */
    ssl = tls_open(ctx, port);
    tls_send(ssl, GET_HEALTHZ);
    DBG_AUTOFREE char *a5 = tls_answer(ssl, &rest);
    assert_non_null(a5);
    double idle = closed_after(ssl, 4.0);
    if (idle < 0.8 || idle > 1.9)
        fail_msg("an idle kept connection was closed after %.2f s (keepalive_idle_s is 1)", idle);
    tls_close(ssl);

    /* Connection: close and HTTP/1.0 still end the connection after the answer */
    static const char *const once[] = {
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, close\r\n\r\n",
        "GET /healthz HTTP/1.0\r\n\r\n"};
    for (size_t i = 0; i < 2; i++) {
        ssl = tls_open(ctx, port);
        tls_send(ssl, once[i]);
        DBG_AUTOFREE char *a = tls_answer(ssl, &rest);
        assert_non_null(a);
        assert_non_null(strstr(a, "HTTP/1.1 200 "));
        assert_non_null(strstr(a, "\r\nConnection: close\r\n"));
        assert_true(closed_after(ssl, 0.5) < 0.5);
        tls_close(ssl);
    }
    dbg_buf_free(&rest);
    SSL_CTX_free(ctx);
}

/* The CA and the certificates of central (for 127.0.0.1), an agent and a tenant, made once
 * with the openssl command: 0, or -1 when it cannot (the test is skipped). */
static int make_certs(void)
{
    DBG_AUTOFREE char *ca_pem = path("ca.pem");
    if (access(ca_pem, R_OK) == 0)
        return 0;
    DBG_AUTOFREE char *cmd = dbg_asprintf(
        "cd %s && mk() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "
        "$1.key; }"
        " && mk ca && openssl req -x509 -new -key ca.key -out ca.pem -days 2 -subj /CN=ca"
        " && printf 'subjectAltName=IP:127.0.0.1\\n' > srv.ext"
        " && for c in server:/CN=central agent:/CN=hv-01/O=provider tenant:/CN=admin-a/O=tenant-a; "
        "do"
        "  n=${c%%%%:*}; mk $n && openssl req -new -key $n.key -out $n.csr -subj ${c#*:} &&"
        "  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days "
        "2"
        "  -extfile srv.ext || exit 1; done",
        dir);
    DBG_AUTOFREE char *quiet = dbg_asprintf("(%s) >/dev/null 2>&1", cmd);
    if (system("command -v openssl >/dev/null 2>&1") != 0 || system(quiet) != 0) {
        unlink(ca_pem);
        return -1;
    }
    return 0;
}

static void test_forward_https(void **state)
{
    (void)state;
    if (make_certs() != 0)
        skip();
    dbg_server *srv = start_server(1);
    DBG_AUTOFREE char *central = dbg_asprintf("https://127.0.0.1:%d", dbg_server_port(srv));
    DBG_AUTOFREE char *eve = path("eve.json");
    DBG_AUTOFREE char *statef = path("fwd.state");
    DBG_AUTOFREE char *acert = path("agent.pem");
    DBG_AUTOFREE char *akey = path("agent.key");
    DBG_AUTOFREE char *tcert = path("tenant.pem");
    DBG_AUTOFREE char *tkey = path("tenant.key");
    DBG_AUTOFREE char *ca = path("ca.pem");

    append("eve.json", EVE("port_scan", "tenant-a") EVE("cross_tenant", "tenant-b"));
    append("eve.json", "{\"timestamp\":\"2026-11-25T01:02:04Z\",\"alert\":{\"sig"); /* mid-write */
    uint64_t complete =
        file_size("eve.json") - strlen("{\"timestamp\":\"2026-11-25T01:02:04Z\",\"alert\":{\"sig");
    dbg_forwarder_opts fo = {.eve_path = eve,
                             .central = central,
                             .tls_cert = acert,
                             .tls_key = akey,
                             .tls_ca = ca,
                             .state_path = statef,
                             .interval_ms = 50};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    assert_int_equal(wait_offset(f, complete), complete);
    usleep(200000);
    dbg_forwarder_stats st;
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.offset, complete); /* the half line is not sent */
    assert_int_equal(stored_events(), 2);
    append("eve.json", "nature\":\"host_sweep\"}}\n");
    assert_int_equal(wait_offset(f, file_size("eve.json")), file_size("eve.json"));
    assert_int_equal(stored_events(), 3);
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.failures, 0);
    /* The server closes the forwarder's kept connection when it has been idle for 1 s: the next
     * batch goes on a new connection, without a failure. */
    usleep(1500000);
    append("eve.json", EVE("after_idle", "tenant-a"));
    assert_int_equal(wait_offset(f, file_size("eve.json")), file_size("eve.json"));
    assert_int_equal(stored_events(), 4);
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.failures, 0);
    dbg_forwarder_stop(f);

    persistent_tls(dbg_server_port(srv), acert, akey, ca);

    /* A restart resumes from the saved offset: nothing is sent twice. */
    f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    usleep(300000);
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.batches, 0);
    assert_int_equal(st.offset, file_size("eve.json"));
    dbg_forwarder_stop(f);
    assert_int_equal(stored_events(), 4);

    /* A tenant certificate may not submit: the server answers 403 and the offset stays. */
    DBG_AUTOFREE char *statef2 = path("fwd2.state");
    dbg_forwarder_opts to = fo;
    to.tls_cert = tcert;
    to.tls_key = tkey;
    to.state_path = statef2;
    f = dbg_forwarder_start(&to);
    assert_non_null(f);
    for (int i = 0; i < 100; i++) {
        dbg_forwarder_get_stats(f, &st);
        if (st.failures > 0)
            break;
        usleep(50000);
    }
    assert_true(st.failures > 0);
    assert_int_equal(st.offset, 0);
    assert_non_null(strstr(st.last_error, "403"));
    dbg_forwarder_stop(f);
    assert_int_equal(stored_events(), 4);

    /* Clients that leave before the answer: the server's TLS writes fail (EPIPE) instead of
     * raising SIGPIPE, which would kill this process (it keeps SIGPIPE's default action, as a
     * program embedding the server may), and the server goes on answering. */
    for (int i = 0; i < 20; i++)
        assert_null(tls_get(dbg_server_port(srv), acert, akey, ca, 1));
    usleep(300000);
    DBG_AUTOFREE char *ans = tls_get(dbg_server_port(srv), acert, akey, ca, 0);
    assert_non_null(ans);
    assert_non_null(strstr(ans, "HTTP/1.1 200 "));

    /* A handshake trickled a byte at a time is cut after the I/O timeout (2 s) in all: each
     * byte used to restart the read timeout, so anyone who could connect, without a
     * certificate, held a connection slot as long as it liked (64 such: no HTTPS for anyone). */
    double lasted = slow_handshake_lasts(dbg_server_port(srv), 8.0);
    dbg_server_stop(srv);
    if (lasted > 4.0)
        fail_msg("a trickled TLS handshake held its connection %.1f s (the I/O timeout is 2 s)",
                 lasted);
}

static void test_forward_outage_unix(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-unix.json");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    int before = stored_events();
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 50};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    append("eve-unix.json", EVE("arp_spoof", "tenant-b"));
    dbg_forwarder_stats st;
    for (int i = 0; i < 100; i++) {
        dbg_forwarder_get_stats(f, &st);
        if (st.failures > 1)
            break;
        usleep(50000);
    }
    assert_true(st.failures > 1); /* no server: retried */
    assert_int_equal(st.offset, 0);
    dbg_server *srv = start_server(0);
    assert_int_equal(wait_offset(f, file_size("eve-unix.json")), file_size("eve-unix.json"));
    assert_int_equal(stored_events(), before + 1);
    /* Lines that are not EVE are refused for good (400) and passed over, not resent forever. */
    append("eve-unix.json", "not json at all\n");
    assert_int_equal(wait_offset(f, file_size("eve-unix.json")), file_size("eve-unix.json"));
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.refused_batches, 1);
    assert_int_equal(st.rejected_lines, 1);
    /* A batch central takes in part (200) still had lines refused for good: they are counted. */
    append("eve-unix.json", EVE("port_scan", "tenant-a") "still not json\n");
    assert_int_equal(wait_offset(f, file_size("eve-unix.json")), file_size("eve-unix.json"));
    dbg_forwarder_get_stats(f, &st);
    assert_int_equal(st.refused_batches, 1);
    assert_int_equal(st.rejected_lines, 2);
    dbg_forwarder_stop(f);
    dbg_server_stop(srv);
    assert_int_equal(stored_events(), before + 2);
}

static void test_forward_bad_options(void **state)
{
    (void)state;
    dbg_forwarder_opts fo = {.eve_path = "/x", .central = "http://127.0.0.1:1"};
    assert_null(dbg_forwarder_start(&fo));
    assert_non_null(strstr(dbg_err_msg(), "https://HOST:PORT"));
    fo.central = "https://127.0.0.1:99999";
    assert_null(dbg_forwarder_start(&fo));
}

/* Log rotation (logrotate's default: the file renamed, a new one made on the next write):
 * the EVE sink opens the path again, and the forwarder finishes the renamed file before it
 * moves on to the new one, so no alert is lost to central. Both once went wrong: the sink kept
 * writing into the renamed file, and the forwarder followed only the path. */
static void test_forward_rotation(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-rot.json");
    DBG_AUTOFREE char *old = path("eve-rot.json.1");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    int before = stored_events();
    dbg_alerter *al = dbg_alerter_new(0);
    dbg_alert_sink *sink = dbg_alert_sink_eve(eve);
    assert_non_null(sink);
    dbg_alerter_add_sink(al, sink);
    dbg_alert a;
    dbg_alert_init(&a, "port_scan", DBG_SEV_MEDIUM, "8.2.3.2a");
    snprintf(a.src.tenant, sizeof(a.src.tenant), "tenant-a");
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 50};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    assert_int_equal(wait_offset(f, file_size("eve-rot.json")), file_size("eve-rot.json"));
    /* central goes away, so the line written before the rotation is still unsent after it.
     * Each alert is raised a microsecond later: the store keeps one of identical records. */
    dbg_server_stop(srv);
    a.time_us++;
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    assert_int_equal(rename(eve, old), 0);
    a.time_us++;
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    a.time_us++;
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(eve, 1 << 20, &data, &len), 0); /* made again by the sink */
    int lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += data[i] == '\n';
    free(data);
    assert_int_equal(lines, 2);
    srv = start_server(0);
    int n = wait_stored(before + 4);
    assert_int_equal(n, before + 4); /* 1 + the renamed file's last line + the new file's 2 */
    dbg_forwarder_stop(f);
    dbg_alerter_free(al);
    dbg_server_stop(srv);
}

/* Rotated while the agent was stopped: the saved offset belongs to the renamed file, and the
 * lines written to it after that offset were never sent (the forwarder started the new file at
 * 0). It sends the renamed file's rest first now, found beside the path by its inode. */
static void test_forward_resume_after_rotation(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-res.json");
    DBG_AUTOFREE char *old = path("eve-res.json.1");
    DBG_AUTOFREE char *offset_file = path("eve-res.offset");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    int before = stored_events();
    dbg_forwarder_opts fo = {
        .eve_path = eve, .central = central, .interval_ms = 50, .state_path = offset_file};
    append("eve-res.json", EVE("resume_one", "tenant-a"));
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    assert_int_equal(wait_offset(f, file_size("eve-res.json")), file_size("eve-res.json"));
    dbg_forwarder_stop(f);
    /* stopped: one more line, then the rotation, then a line in the new file */
    append("eve-res.json", EVE("resume_two", "tenant-a"));
    assert_int_equal(rename(eve, old), 0);
    append("eve-res.json", EVE("resume_three", "tenant-a"));
    f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    int n = wait_stored(before + 3);
    assert_int_equal(wait_offset(f, file_size("eve-res.json")), file_size("eve-res.json"));
    dbg_forwarder_stop(f);
    dbg_server_stop(srv);
    assert_int_equal(n, before + 3);
}

/* Sends stderr (the warnings) to the file at p until stderr_back. */
static int stderr_to(const char *p)
{
    fflush(stderr);
    int saved = dup(2), fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    close(fd);
    return saved;
}

static void stderr_back(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static void expect_in_file(const char *p, const char *want)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(p, 1 << 20, &text, &len), 0);
    if (!strstr(text, want))
        fail_msg("no '%s' in: %s", want, text);
    free(text);
}

/* A file rotated away ending inside a line (its writer killed mid-write) is dropped from there
 * on, and the warning names that file as it is called now and the bytes dropped: it named
 * only the path (the new file) and a length, so nobody could find what was lost. */
static void test_forward_rotated_cut_line_named(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-cut.json");
    DBG_AUTOFREE char *old = path("eve-cut.json.1");
    DBG_AUTOFREE char *log = path("eve-cut.stderr");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    int before = stored_events();
    append("eve-cut.json", EVE("cut_one", "tenant-a"));
    uint64_t whole = file_size("eve-cut.json");
    append("eve-cut.json", "{\"timestamp\":\"2026-11-25T01:0");
    uint64_t cut_end = file_size("eve-cut.json") - 1;
    int saved = stderr_to(log);
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 50};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    uint64_t got = wait_offset(f, whole);
    assert_int_equal(rename(eve, old), 0);
    append("eve-cut.json", EVE("cut_two", "tenant-a"));
    int n = wait_stored(before + 2);
    dbg_forwarder_stop(f);
    dbg_server_stop(srv);
    stderr_back(saved);
    assert_int_equal(got, whole);
    assert_int_equal(n, before + 2);
    DBG_AUTOFREE char *want =
        dbg_asprintf("%s (rotated away from %s) ends inside a line, bytes "
                     "%llu..%llu",
                     old, eve, (unsigned long long)whole, (unsigned long long)cut_end);
    expect_in_file(log, want);
}

/* Lines central refuses are lost to it for good: the warning says where they are in the EVE
 * file. It gave the line's number inside the batch, which nobody reading the file could use. */
static void test_forward_refused_line_located(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-ref.json");
    DBG_AUTOFREE char *log = path("eve-ref.stderr");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    append("eve-ref.json", EVE("ref_one", "tenant-a"));
    uint64_t bad_at = file_size("eve-ref.json");
    append("eve-ref.json", "still not json\n" EVE("ref_two", "tenant-a"));
    int saved = stderr_to(log);
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 50};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    uint64_t got1 = wait_offset(f, file_size("eve-ref.json"));
    uint64_t all_bad_at = file_size("eve-ref.json");
    append("eve-ref.json", "not json at all\n");
    uint64_t got2 = wait_offset(f, file_size("eve-ref.json"));
    dbg_forwarder_stop(f);
    dbg_server_stop(srv);
    stderr_back(saved);
    assert_int_equal(got1, all_bad_at);
    assert_int_equal(got2, file_size("eve-ref.json"));
    DBG_AUTOFREE char *want = dbg_asprintf("(first: %s byte %llu, line 2 of the batch: ", eve,
                                           (unsigned long long)bad_at);
    expect_in_file(log, want);
    DBG_AUTOFREE char *want400 = dbg_asprintf("central refused every line of %s bytes %llu..%llu",
                                              eve, (unsigned long long)all_bad_at,
                                              (unsigned long long)file_size("eve-ref.json") - 1);
    expect_in_file(log, want400);
}

/* A damaged state file (here a number cut by a bad disk, and a negative offset that strtoull
 * would wrap) sends the EVE file again from its start: said, naming the file, where it was
 * silent. The lines come back as duplicates; none is lost. */
static void test_forward_damaged_state_said(void **state)
{
    (void)state;
    static const char *const damaged[] = {"12345 6x\n", "12345 -3\n", "\n"};
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-st.json");
    DBG_AUTOFREE char *offset_file = path("eve-st.offset");
    DBG_AUTOFREE char *log = path("eve-st.stderr");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    append("eve-st.json", EVE("state_one", "tenant-a"));
    dbg_forwarder_opts fo = {
        .eve_path = eve, .central = central, .interval_ms = 50, .state_path = offset_file};
    for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
        assert_int_equal(dbg_write_file_atomic(offset_file, damaged[i], strlen(damaged[i])), 0);
        int saved = stderr_to(log);
        dbg_forwarder *f = dbg_forwarder_start(&fo);
        assert_non_null(f);
        uint64_t got = wait_offset(f, file_size("eve-st.json"));
        dbg_forwarder_stop(f);
        stderr_back(saved);
        assert_int_equal(got, file_size("eve-st.json"));
        DBG_AUTOFREE char *want = dbg_asprintf(
            "%s is not '<inode> <offset> [<head>]': sending %s from its start", offset_file, eve);
        expect_in_file(log, want);
    }
    dbg_server_stop(srv);
}

/* The EVE file written again in place while the agent was stopped (same inode, now longer
 * than the saved offset; or a new file on a reused inode number): the offset was taken for it,
 * and its first lines were never sent. The file's first bytes, kept with the offset, tell it
 * is another file: it is sent from its start. */
static void test_forward_same_inode_other_file(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("serve.sock");
    DBG_AUTOFREE char *eve = path("eve-head.json");
    DBG_AUTOFREE char *offset_file = path("eve-head.offset");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    dbg_server *srv = start_server(0);
    int before = stored_events();
    dbg_forwarder_opts fo = {
        .eve_path = eve, .central = central, .interval_ms = 50, .state_path = offset_file};
    append("eve-head.json", EVE("head_one", "tenant-a") EVE("head_two", "tenant-a"));
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    assert_int_equal(wait_offset(f, file_size("eve-head.json")), file_size("eve-head.json"));
    dbg_forwarder_stop(f);
    struct stat st1, st2;
    assert_int_equal(stat(eve, &st1), 0);
    FILE *fp = fopen(eve, "w"); /* truncated, same inode */
    assert_non_null(fp);
    fputs(EVE("head_new1", "tenant-a") EVE("head_new2", "tenant-a") EVE("head_new3", "tenant-a"),
          fp);
    fclose(fp);
    assert_int_equal(stat(eve, &st2), 0);
    assert_true(st1.st_ino == st2.st_ino && st2.st_size > st1.st_size);
    f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    int n = wait_stored(before + 5);
    dbg_forwarder_stop(f);
    dbg_server_stop(srv);
    assert_int_equal(n, before + 5);
}

/* A central on a slow link, played by a Unix-socket server that drops every request whose body
 * is over 300 KB (as a request timeout would): the forwarder halves its batch after each
 * failure and so gets everything through. It once resent the same 4 MiB batch for ever. */
typedef struct {
    int lfd;
    size_t received;   /* body bytes of accepted batches */
    int dropped;
} slow_central;

static void *slow_central_main(void *arg)
{
    slow_central *sc = arg;
    for (;;) {
        int fd = accept(sc->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        dbg_buf in;
        dbg_buf_init(&in, 8 << 20);
        char chunk[65536];
        ssize_t n;
        char *end = NULL;
        while (!end && (n = read(fd, chunk, sizeof(chunk))) > 0) {
            dbg_buf_add(&in, chunk, (size_t)n);
            dbg_buf_add(&in, "", 1); /* a NUL to search in, taken back */
            in.len--;
            end = strstr(in.data, "\r\n\r\n");
        }
        const char *cl = end ? strcasestr(in.data, "Content-Length:") : NULL;
        size_t len = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        if (!end || len > 300000) {
            sc->dropped++;
        } else {
            size_t have = in.len - (size_t)(end + 4 - in.data);
            while (have < len && (n = read(fd, chunk, sizeof(chunk))) > 0)
                have += (size_t)n;
            sc->received += have;
            static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     "Content-Length: 27\r\nConnection: close\r\n\r\n"
                                     "{\"stored\": 1, \"rejected\": 0}";
            assert_true(write(fd, ok, sizeof(ok) - 1) > 0);
        }
        dbg_buf_free(&in);
        close(fd);
    }
}

static void test_forward_shrinks_batches(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("slow.sock");
    DBG_AUTOFREE char *eve = path("eve-slow.json");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    slow_central sc = {.lfd = dbg_net_listen_unix(sock, 8)};
    assert_true(sc.lfd >= 0);
    pthread_t thr;
    assert_int_equal(pthread_create(&thr, NULL, slow_central_main, &sc), 0);
    FILE *fp = fopen(eve, "w");
    assert_non_null(fp);
    char pad[301];
    memset(pad, 'x', 300);
    pad[300] = 0;
    for (int i = 0; i < 4000; i++) /* ~1.3 MB */
        fprintf(fp, "{\"event_type\":\"alert\",\"n\":%d,\"pad\":\"%s\"}\n", i, pad);
    fclose(fp);
    struct stat est;
    assert_int_equal(stat(eve, &est), 0);
    uint64_t size = (uint64_t)est.st_size;
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 20};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    assert_int_equal(wait_offset(f, size), size);
    dbg_forwarder_stop(f);
    shutdown(sc.lfd, SHUT_RDWR);
    close(sc.lfd);
    pthread_join(thr, NULL);
    assert_int_equal(sc.received, size);
    assert_true(sc.dropped >= 3); /* 4 MiB was never going through: it had to shrink */
}

/* A central that keeps the first connection after answering once, then reads the next
 * request on it and closes without a byte of an answer (as a server does whose idle timeout
 * fires while the request is on its way); later connections are answered and closed. */
typedef struct {
    int lfd;
    int requests, answered, connections;
} racing_central;

/* Reads one request (head and Content-Length body) from fd: 1, or 0 at EOF. */
static int read_request(int fd)
{
    dbg_buf in;
    dbg_buf_init(&in, 8 << 20);
    char chunk[65536];
    ssize_t n;
    const char *end = NULL;
    while (!end && (n = read(fd, chunk, sizeof(chunk))) > 0) {
        dbg_buf_add(&in, chunk, (size_t)n);
        end = strstr(in.data, "\r\n\r\n");
    }
    int got = end != NULL;
    if (end) {
        const char *cl = strcasestr(in.data, "Content-Length:");
        size_t len = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        size_t have = in.len - (size_t)(end + 4 - in.data);
        while (have < len && (n = read(fd, chunk, sizeof(chunk))) > 0)
            have += (size_t)n;
    }
    dbg_buf_free(&in);
    return got;
}

static void *racing_central_main(void *arg)
{
    racing_central *rc = arg;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: 28\r\n\r\n{\"stored\": 1, \"rejected\": 0}";
    for (;;) {
        int fd = accept(rc->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        int first = rc->connections++ == 0;
        while (read_request(fd)) {
            rc->requests++;
            if (first && rc->requests == 2)
                break; /* closed with the request read and no answer */
            assert_true(write(fd, ok, sizeof(ok) - 1) > 0);
            rc->answered++;
            if (!first)
                break;
        }
        close(fd);
    }
}

static void test_forward_resends_when_kept_connection_closed(void **state)
{
    (void)state;
    DBG_AUTOFREE char *sock = path("racing.sock");
    DBG_AUTOFREE char *eve = path("eve-racing.json");
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    racing_central rc = {.lfd = dbg_net_listen_unix(sock, 8)};
    assert_true(rc.lfd >= 0);
    pthread_t thr;
    assert_int_equal(pthread_create(&thr, NULL, racing_central_main, &rc), 0);
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 20};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    append("eve-racing.json", EVE("one", "tenant-a"));
    assert_int_equal(wait_offset(f, file_size("eve-racing.json")), file_size("eve-racing.json"));
    append("eve-racing.json", EVE("two", "tenant-a"));
    assert_int_equal(wait_offset(f, file_size("eve-racing.json")), file_size("eve-racing.json"));
    dbg_forwarder_stats st;
    dbg_forwarder_get_stats(f, &st);
    dbg_forwarder_stop(f);
    shutdown(rc.lfd, SHUT_RDWR);
    close(rc.lfd);
    pthread_join(thr, NULL);
    assert_int_equal(st.failures, 0); /* resent at once, not a failed batch retried later */
    assert_int_equal(rc.requests, 3); /* the second batch twice: at least once */
    assert_int_equal(rc.answered, 2);
    assert_int_equal(rc.connections, 2);
}

/* A central that answers every request on a connection with one fixed answer, keeping the
 * connection until the forwarder closes it (or closing it after the answer: close_after). */
typedef struct {
    int lfd;
    const char *answer;
    int requests;
    int close_after;
} scripted_central;

static void *scripted_central_main(void *arg)
{
    scripted_central *sc = arg;
    for (;;) {
        int fd = accept(sc->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        while (read_request(fd)) {
            sc->requests++;
            assert_true(write(fd, sc->answer, strlen(sc->answer)) > 0);
            if (sc->close_after)
                break;
        }
        close(fd);
    }
}

static dbg_forwarder *start_scripted(scripted_central *sc, pthread_t *thr, const char *name)
{
    DBG_AUTOFREE char *sock = dbg_asprintf("%s/%s.sock", dir, name);
    DBG_AUTOFREE char *eve = dbg_asprintf("%s/%s.json", dir, name);
    DBG_AUTOFREE char *central = dbg_asprintf("unix:%s", sock);
    sc->lfd = dbg_net_listen_unix(sock, 8);
    assert_true(sc->lfd >= 0);
    assert_int_equal(pthread_create(thr, NULL, scripted_central_main, sc), 0);
    dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .interval_ms = 20};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    return f;
}

static void stop_scripted(scripted_central *sc, pthread_t thr, dbg_forwarder *f)
{
    dbg_forwarder_stop(f);
    shutdown(sc->lfd, SHUT_RDWR);
    close(sc->lfd);
    pthread_join(thr, NULL);
}

/* What central says about a batch is its Content-Length bytes: bytes after them (a proxy's
 * leftovers) once made the verdict unreadable, and the rejected line went uncounted. */
static void test_forward_reads_verdict_within_length(void **state)
{
    (void)state;
    scripted_central sc = {
        .answer = "HTTP/1.1 200 OK\r\nContent-Length: 67\r\n\r\n"
                  "{\"stored\": 0, \"rejected\": 1, \"errors\": [{\"line\": 1, \"error\": \"x\"}]}"
                  "HTTP/1.1 200 OK\r\n\r\n"};
    pthread_t thr;
    dbg_forwarder *f = start_scripted(&sc, &thr, "verdict");
    append("verdict.json", EVE("one", "tenant-a"));
    assert_int_equal(wait_offset(f, file_size("verdict.json")), file_size("verdict.json"));
    dbg_forwarder_stats st;
    dbg_forwarder_get_stats(f, &st);
    stop_scripted(&sc, thr, f);
    assert_int_equal(st.rejected_lines, 1);
}

/* Forwards one line to sc as central (file NAME-I.json): the batch fails within 5 s with why in
 * the error, and the offset stays. */
static void expect_batch_fails(scripted_central *sc, const char *name, size_t i, const char *why)
{
    pthread_t thr;
    char base[48];
    snprintf(base, sizeof(base), "%s-%zu", name, i);
    dbg_forwarder *f = start_scripted(sc, &thr, base);
    DBG_AUTOFREE char *file = dbg_asprintf("%s.json", base);
    append(file, EVE("one", "tenant-a"));
    dbg_forwarder_stats st;
    int64_t t0 = dbg_monotonic_us();
    do {
        usleep(20000);
        dbg_forwarder_get_stats(f, &st);
    } while (st.failures == 0 && dbg_monotonic_us() - t0 < 5000000);
    stop_scripted(sc, thr, f);
    if (st.failures == 0 || st.offset != 0 || !strstr(st.last_error, why))
        fail_msg("%s: failures %llu, offset %llu, last error '%s'", base,
                 (unsigned long long)st.failures, (unsigned long long)st.offset, st.last_error);
}

/* An answer announcing more than the forwarder reads fails at once, not after waiting out
 * the read timeout (10 s) for a body that is never going to fit. */
static void test_forward_refuses_huge_length_at_once(void **state)
{
    (void)state;
    scripted_central sc = {.answer = "HTTP/1.1 200 OK\r\nContent-Length: 5000000\r\n\r\n{}"};
    expect_batch_fails(&sc, "huge", 0, "Content-Length 5000000");
}

/* Counts the lines of the collector's log that start with prefix (0 when there is none). */
static int log_lines(const char *file, const char *prefix)
{
    DBG_AUTOFREE char *p = path(file);
    char *data = NULL;
    size_t len = 0;
    if (dbg_read_file(p, 1 << 20, &data, &len) != 0) {
        dbg_err_clear();
        return 0;
    }
    int n = 0;
    for (char *l = data; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        n += strncmp(l, prefix, strlen(prefix)) == 0;
    free(data);
    return n;
}

/* A real HTTPS collector on 127.0.0.1 (python3's http.server, tests/unit/chunked_collector.py)
 * that answers 100 Continue and 103 Early Hints first and then a chunked verdict with chunk
 * extensions and a trailer, in pieces: every batch is taken (the verdict read from the chunks,
 * so the line it refused is counted) and the connection is kept between batches, which needs
 * the chunked body's end found without waiting for the connection to close. Both answers were
 * refused before ("Transfer-Encoding", "status 100 is no final answer"). */
static void test_forward_chunked_collector(void **state)
{
    (void)state;
    const char *srcdir = getenv("DBG_SRCDIR");
    if (!srcdir || make_certs() != 0 || system("python3 -c 'import ssl' 2>/dev/null") != 0)
        skip();
    DBG_AUTOFREE char *script = dbg_path_join(srcdir, "tests/unit/chunked_collector.py");
    DBG_AUTOFREE char *port_file = path("collector.port");
    DBG_AUTOFREE char *log = path("collector.log");
    DBG_AUTOFREE char *cert = path("server.pem");
    DBG_AUTOFREE char *key = path("server.key");
    DBG_AUTOFREE char *ca = path("ca.pem");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("python3", "python3", script, port_file, log, cert, key, ca, (char *)NULL);
        _exit(127);
    }
    char *port = NULL;
    size_t plen = 0;
    for (int i = 0; i < 200 && dbg_read_file(port_file, 64, &port, &plen) != 0; i++)
        usleep(50000);
    dbg_err_clear();
    if (!port) {
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        fail_msg("the collector did not start");
    }
    DBG_AUTOFREE char *central = dbg_asprintf("https://127.0.0.1:%s", port);
    free(port);
    DBG_AUTOFREE char *eve = path("eve-collector.json");
    DBG_AUTOFREE char *acert = path("agent.pem");
    DBG_AUTOFREE char *akey = path("agent.key");
    dbg_forwarder_opts fo = {.eve_path = eve,
                             .central = central,
                             .tls_cert = acert,
                             .tls_key = akey,
                             .tls_ca = ca,
                             .interval_ms = 20};
    dbg_forwarder *f = dbg_forwarder_start(&fo);
    assert_non_null(f);
    append("eve-collector.json", EVE("one", "tenant-a") EVE("two", "tenant-a") EVE("three", "t"));
    uint64_t first = wait_offset(f, file_size("eve-collector.json"));
    append("eve-collector.json", EVE("four", "tenant-a") EVE("five", "tenant-b"));
    uint64_t second = wait_offset(f, file_size("eve-collector.json"));
    dbg_forwarder_stats st;
    dbg_forwarder_get_stats(f, &st);
    dbg_forwarder_stop(f);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    if (second != file_size("eve-collector.json") || st.failures != 0)
        fail_msg("offset %llu then %llu of %llu, %llu failures, last: %s",
                 (unsigned long long)first, (unsigned long long)second,
                 (unsigned long long)file_size("eve-collector.json"),
                 (unsigned long long)st.failures, st.last_error);
    assert_int_equal(st.batches, 2);
    assert_int_equal(st.rejected_lines, 2); /* one per batch, read from the chunks */
    assert_int_equal(log_lines("collector.log", "{\"timestamp\""), 5);
    assert_int_equal(log_lines("collector.log", "connection "), 1);
}

/* Answers the forwarder must not take: a protocol switch to its POST, and chunk sizes that are
 * no hex number. Each fails the batch with the reason named, and the offset stays. */
static void test_forward_refuses_bad_answers(void **state)
{
    (void)state;
    static const struct {
        const char *answer, *why;
    } cases[] = {
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n",
         "status line at byte 25: 101 Switching Protocols to a POST"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
         "central's chunked answer: chunk size line at byte 0 does not start with a hex size"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n1x\r\n",
         "central's chunked answer: chunk size line at byte 7: byte 8 is no ';'"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\n",
         "chunk of 2097152 bytes at byte 0: the body would be over 1048576 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scripted_central sc = {.answer = cases[i].answer};
        expect_batch_fails(&sc, "bad-answer", i, cases[i].why);
    }
}

/* A 400 that is no verdict on the lines (a proxy's page, central refusing the request itself)
 * dropped the batch as if central had refused every line: its alerts were never sent. It is
 * a failure now, and the batch waits to go again. */
static void test_forward_keeps_batch_on_foreign_400(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 46\r\n\r\n"
        "<html><h1>400 Bad Request</h1>nginx</html>\r\n\r\n",
        "HTTP/1.1 400 Bad Request\r\nContent-Length: 66\r\n\r\n"
        "{\"error\": \"HTTP/1.1 needs exactly one Host header\", \"status\": 400}",
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        scripted_central sc = {.answer = answers[i]};
        expect_batch_fails(&sc, "foreign-400", i,
                           "central answered 400 without refusing any line (kept to send again)");
    }
}

/* An answer the connection ends inside: the error says how many bytes of it came, each
 * counted once (the body's first bytes, read with the head, were counted twice, and a chunked
 * body's framing not at all). A 204 without a length on a kept connection has no body: its
 * status is reported at once, not a timeout after the read timeout (10 s). */
static void test_forward_answer_cut(void **state)
{
    (void)state;
    static const struct {
        const char *answer, *why;
        int close_after;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}",
         "central closed the connection after 41 bytes of an answer", 1},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\n{}\r\n",
         "central closed the connection after 58 bytes of an answer", 1},
        {"HTTP/1.1 100 Continue\r\n\r\n",
         "central closed the connection after 25 bytes of an answer", 1},
        {"HTTP/1.1 204 No Content\r\n\r\n", "central answered 204", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        scripted_central sc = {.answer = cases[i].answer, .close_after = cases[i].close_after};
        expect_batch_fails(&sc, "cut-answer", i, cases[i].why);
    }
}

/* The outgoing connect shared by the forwarder and `dengbao vm --connect`: it reaches a
 * listener, and a name that does not resolve or a port with no listener is an error naming
 * host:port. (Trying each resolved address in turn is not exercised: no name on the test
 * machines resolves to two loopback addresses.) */
static void test_connect_tcp(void **state)
{
    (void)state;
    int port = 0;
    int lfd = dbg_net_listen_tcp("127.0.0.1:0", 4, &port);
    assert_true(lfd >= 0);
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    int fd = dbg_net_connect_tcp("localhost", ps, 5);
    assert_true(fd >= 0);
    close(fd);
    close(lfd); /* now nothing listens there */
    assert_int_equal(dbg_net_connect_tcp("127.0.0.1", ps, 5), -1);
    assert_non_null(strstr(dbg_err_msg(), "cannot connect to 127.0.0.1:"));
    assert_int_equal(dbg_net_connect_tcp("no-such-host.invalid", "80", 5), -1);
    assert_non_null(strstr(dbg_err_msg(), "no-such-host.invalid:80"));
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DBG_AUTOFREE char *cmd = dbg_asprintf("rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Connections that never finish a TLS handshake (opened by anyone who reaches the port, no
 * certificate needed, each held for the I/O timeout) fill at most 3/4 of the table: root on the
 * Unix socket is still answered. The whole table used to go to them, and root got 503. */
static void test_handshakes_leave_room(void **state)
{
    (void)state;
    if (make_certs() != 0)
        skip();
    dbg_server *srv = start_server(1); /* max_conns 64 */
    int idle[64];
    for (size_t i = 0; i < 64; i++) {
        idle[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)dbg_server_port(srv))};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        assert_int_equal(connect(idle[i], (struct sockaddr *)&a, sizeof(a)), 0);
    }
    usleep(500000); /* accepted, each in its handshake */
    DBG_AUTOFREE char *sock = path("serve.sock");
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    snprintf(ua.sun_path, sizeof(ua.sun_path), "%s", sock);
    assert_int_equal(connect(fd, (struct sockaddr *)&ua, sizeof(ua)), 0);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    assert_int_equal(send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL), (ssize_t)sizeof(req) - 1);
    char ans[512] = "";
    size_t got = 0;
    ssize_t n;
    while (got < sizeof(ans) - 1 && (n = recv(fd, ans + got, sizeof(ans) - 1 - got, 0)) > 0)
        got += (size_t)n;
    ans[got] = 0;
    close(fd);
    for (size_t i = 0; i < 64; i++)
        close(idle[i]);
    dbg_server_stop(srv);
    if (!strstr(ans, "HTTP/1.1 200 "))
        fail_msg("root on the Unix socket beside 64 unfinished handshakes: %s", ans);
}

/* serve's answer over TLS within its deadline (dbg_net_conn.write_deadline_us), as on the Unix
 * socket (test_server's test_write_deadline): a client taking 16 KiB every 50 ms makes every send
 * progress, and SSL_write, which returns only when all of its buffer is out, kept writing a
 * 16 MiB answer until that client gave up (6 s here) instead of stopping at the 1 s deadline. */
typedef struct {
    SSL *ssl;
    int handshake_ok;
} tls_trickle;

static void *tls_trickle_main(void *arg)
{
    tls_trickle *t = arg;
    if (!(t->handshake_ok = SSL_connect(t->ssl) == 1))
        return NULL;
    static char b[16384];
    int64_t stop = dbg_monotonic_us() + 6000000;
    while (dbg_monotonic_us() < stop && SSL_read(t->ssl, b, sizeof(b)) > 0)
        usleep(50000);
    shutdown(SSL_get_fd(t->ssl), SHUT_RDWR);
    return NULL;
}

static void test_tls_write_deadline(void **state)
{
    (void)state;
    if (make_certs() != 0)
        skip();
    DBG_AUTOFREE char *scert = path("server.pem");
    DBG_AUTOFREE char *skey = path("server.key");
    DBG_AUTOFREE char *acert = path("agent.pem");
    DBG_AUTOFREE char *akey = path("agent.key");
    DBG_AUTOFREE char *ca = path("ca.pem");
    SSL_CTX *sctx = dbg_tls_server_ctx(scert, skey, ca);
    SSL_CTX *cctx = dbg_tls_client_ctx(acert, akey, ca);
    assert_non_null(sctx);
    assert_non_null(cctx);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct timeval tv = {2, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL *server = SSL_new(sctx);
    tls_trickle t = {.ssl = SSL_new(cctx)};
    assert_non_null(server);
    assert_non_null(t.ssl);
    assert_int_equal(dbg_tls_set_fd(server, sv[0]), 0);
    assert_int_equal(dbg_tls_set_fd(t.ssl, sv[1]), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tls_trickle_main, &t), 0);
    assert_int_equal(SSL_accept(server), 1);

    size_t len = 16u << 20;
    char *big = calloc(1, len);
    assert_non_null(big);
    dbg_net_conn c = {.fd = sv[0], .ssl = server};
    c.write_deadline_us = dbg_monotonic_us() + 1000000;
    int64_t t0 = dbg_monotonic_us();
    assert_int_equal(dbg_net_conn_write(&c, big, len), -1);
    int64_t took = dbg_monotonic_us() - t0;
    if (took > 3000000)
        fail_msg("the TLS write went on %lld ms past its 1 s deadline",
                 (long long)(took - 1000000) / 1000);
    shutdown(sv[0], SHUT_RDWR); /* the reader's read ends */
    pthread_join(th, NULL);
    assert_true(t.handshake_ok);
    free(big);
    SSL_free(server);
    SSL_free(t.ssl);
    close(sv[0]);
    close(sv[1]);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_https),
        cmocka_unit_test(test_forward_outage_unix),
        cmocka_unit_test(test_forward_bad_options),
        cmocka_unit_test(test_connect_tcp),
        cmocka_unit_test(test_forward_rotation),
        cmocka_unit_test(test_forward_resume_after_rotation),
        cmocka_unit_test(test_forward_rotated_cut_line_named),
        cmocka_unit_test(test_forward_refused_line_located),
        cmocka_unit_test(test_forward_damaged_state_said),
        cmocka_unit_test(test_forward_same_inode_other_file),
        cmocka_unit_test(test_forward_shrinks_batches),
        cmocka_unit_test(test_forward_resends_when_kept_connection_closed),
        cmocka_unit_test(test_forward_reads_verdict_within_length),
        cmocka_unit_test(test_forward_refuses_huge_length_at_once),
        cmocka_unit_test(test_forward_chunked_collector),
        cmocka_unit_test(test_forward_refuses_bad_answers),
        cmocka_unit_test(test_forward_keeps_batch_on_foreign_400),
        cmocka_unit_test(test_forward_answer_cut),
        cmocka_unit_test(test_tls_write_deadline),
        cmocka_unit_test(test_handshakes_leave_room),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
