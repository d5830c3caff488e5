/* Unit tests for src/server: the HTTP/1.1 request head parser (complete, partial, each refusal
 * with its status and message), query-string decoding, HTML escaping, and the listener (a slow
 * client, a full connection table, a client gone before its answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/server.h"
#include "dengbao/store.h"
#include "dengbao/util.h"
#include "server/server_int.h"

static int parse(const char *s, dbg_http_request *r, int *status, char *msg)
{
    return dbg_http_parse_head(s, strlen(s), r, status, msg, 256);
}

static void test_complete_get(void **state)
{
    (void)state;
    dbg_http_request r;
    int st = 0;
    char msg[256];
    const char *in = "GET /api/v1/events?type=port_scan&limit=5 HTTP/1.1\r\nHost: x\r\n"
                     "User-Agent:  curl/7.88  \r\n\r\nEXTRA";
    assert_int_equal(parse(in, &r, &st, msg), 1);
    assert_string_equal(r.method, "GET");
    assert_string_equal(r.path, "/api/v1/events");
    assert_string_equal(r.query, "type=port_scan&limit=5");
    assert_int_equal(r.version_minor, 1);
    assert_int_equal(r.n_headers, 2);
    assert_string_equal(dbg_http_header_get(&r, "user-agent"), "curl/7.88");
    assert_null(dbg_http_header_get(&r, "Cookie"));
    assert_int_equal(r.head_len, strlen(in) - 5);
    assert_int_equal(r.has_body_length, 0);
    dbg_http_request_clear(&r);
}

/* Who ends the connection after the answer: HTTP/1.0, or "close" in any Connection field, as
 * a token (not a substring: "closed" is another token). */
static void test_wants_close(void **state)
{
    (void)state;
    static const struct {
        const char *head;
        int close;
    } cases[] = {
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: closed, upgrade\r\n\r\n", 0},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: x\r\nconnection: Keep-Alive,CLOSE\r\n\r\n", 1},
        {"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\n\r\n", 1},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_http_request r;
        int st = 0;
        char msg[256];
        assert_int_equal(parse(cases[i].head, &r, &st, msg), 1);
        if (dbg_http_wants_close(&r) != cases[i].close)
            fail_msg("%s: wants_close %d", cases[i].head, !cases[i].close);
        dbg_http_request_clear(&r);
    }
}

static void test_post_with_length_and_bare_lf(void **state)
{
    (void)state;
    dbg_http_request r;
    int st = 0;
    char msg[256];
    assert_int_equal(parse("POST /api/v1/events HTTP/1.0\nContent-Length: 42\n\n", &r, &st, msg),
                     1);
    assert_int_equal(r.version_minor, 0); /* HTTP/1.0 needs no Host */
    assert_int_equal(r.has_body_length, 1);
    assert_int_equal(r.content_length, 42);
    assert_string_equal(r.query, "");
    dbg_http_request_clear(&r);
}

static void test_partial_needs_more(void **state)
{
    (void)state;
    dbg_http_request r;
    int st = 0;
    char msg[256];
    assert_int_equal(parse("", &r, &st, msg), 0);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &r, &st, msg), 0);
    assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n\r", &r, &st, msg), 0);
}

typedef struct {
    const char *in;
    int status;
    const char *msg_part;
} bad_case;

static void test_refusals(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"\r\n\r\n", 400, "empty request line"},
        {"GARBAGE\r\n\r\n", 400, "METHOD TARGET"},
        {"GET /\r\n\r\n", 400, "no HTTP version"},
        {"GET http://x/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "must start with '/'"},
        {"GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "byte 0x01"},
        {"G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "method"},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "not supported"},
        {"GET / HTTX/1.1\r\nHost: x\r\n\r\n", 400, "bad HTTP version"},
        {"GET / HTTP/1.1\r\n\r\n", 400, "Host"},
        {"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400, "Host"},
        {"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400, "folded"},
        {"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "field name"},
        {"GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400, "Name:"},
        {"GET / HTTP/1.1\r\nHost: x\r\nX: a\x7f\r\n\r\n", 400, "control byte"},
        {"POST / HTTP/1.1\r\nHost: x\r\n\r\n", 411, "Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "'-1'"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400,
         "2 Content-Length"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400,
         "decimal"},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16777217\r\n\r\n", 413, "over the limit"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
         "Transfer-Encoding"},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
         501, "chunked"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_http_request r;
        int st = 0;
        char msg[256];
        int rc = parse(cases[i].in, &r, &st, msg);
        if (rc != -1 || st != cases[i].status || !strstr(msg, cases[i].msg_part))
            fail_msg("case %zu (%s): rc %d status %d msg '%s'", i, cases[i].in, rc, st, msg);
    }
}

static void test_limits(void **state)
{
    (void)state;
    dbg_http_request r;
    int st = 0;
    char msg[256];
    /* A head that never ends within the limit: 431 as soon as the limit is reached. */
    size_t n = DBG_HTTP_HEAD_MAX + 10;
    char *big = dbg_malloc(n + 1);
    assert_non_null(big);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    memset(big + 19, 'a', n - 19);
    big[n] = 0;
    assert_int_equal(dbg_http_parse_head(big, DBG_HTTP_HEAD_MAX - 1, &r, &st, msg, sizeof(msg)), 0);
    assert_int_equal(dbg_http_parse_head(big, n, &r, &st, msg, sizeof(msg)), -1);
    assert_int_equal(st, 431);
    free(big);
    /* Too many header fields. */
    dbg_buf b;
    dbg_buf_init(&b, 0);
    dbg_buf_adds(&b, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < DBG_HTTP_HEADERS_MAX; i++)
        dbg_buf_printf(&b, "X-%d: y\r\n", i);
    dbg_buf_adds(&b, "\r\n");
    assert_int_equal(parse(b.data, &r, &st, msg), -1);
    assert_int_equal(st, 431);
    dbg_buf_free(&b);
    /* NUL in the head. */
    static const char nul[] = "GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n";
    assert_int_equal(dbg_http_parse_head(nul, sizeof(nul) - 1, &r, &st, msg, sizeof(msg)), -1);
    assert_int_equal(st, 400);
}

typedef struct {
    char out[512];
} q_acc;

static int q_collect(const char *name, const char *value, void *opaque)
{
    q_acc *a = opaque;
    size_t l = strlen(a->out);
    snprintf(a->out + l, sizeof(a->out) - l, "[%s=%s]", name, value);
    return 0;
}

static void test_query(void **state)
{
    (void)state;
    q_acc a = {""};
    char msg[256];
    assert_int_equal(
        dbg_http_query_each("type=port%5Fscan&since=2026-01-01T00%3A00%3A00Z&&x&a+b=c%20d",
                            q_collect, &a, msg, sizeof(msg)),
        0);
    assert_string_equal(a.out, "[type=port_scan][since=2026-01-01T00:00:00Z][x=][a b=c d]");
    assert_int_equal(dbg_http_query_each("a=%zz", q_collect, &a, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "percent escape"));
    assert_int_equal(dbg_http_query_each("a=%4", q_collect, &a, msg, sizeof(msg)), -1);
    assert_int_equal(dbg_http_query_each("a=%00", q_collect, &a, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "NUL"));
    char longq[3000];
    memset(longq, 'a', sizeof(longq) - 1);
    longq[sizeof(longq) - 1] = 0;
    assert_int_equal(dbg_http_query_each(longq, q_collect, &a, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "longer"));
    /* A name given twice is refused, also when spelled differently (percent-encoded): the last
     * one used to win, so tenant=a&tenant=b was b to this server and a to a filter reading the
     * first. The callback never sees the second one. */
    a.out[0] = 0;
    assert_int_equal(
        dbg_http_query_each("tenant=a&limit=5&%74enant=b", q_collect, &a, msg, sizeof(msg)), -1);
    assert_string_equal(a.out, "[tenant=a][limit=5]");
    assert_non_null(strstr(msg, "parameter 'tenant' given more than once"));
    a.out[0] = 0;
    assert_int_equal(dbg_http_query_each("x&x=", q_collect, &a, msg, sizeof(msg)), -1);
    assert_string_equal(a.out, "[x=]");
}

static void test_html_escape(void **state)
{
    (void)state;
    dbg_buf b;
    dbg_buf_init(&b, 0);
    assert_int_equal(dbg_buf_add_markup(&b, "<a href=\"x\">&'</a> 集中"), 0);
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt; 集中");
    dbg_buf_free(&b);
    assert_string_equal(dbg_http_status_text(413), "Content Too Large");
}

/* ---- the listener with a slow client and a full connection table ---- */

static int connect_unix(const char *path)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static char *read_all(int fd)
{
    dbg_buf b;
    dbg_buf_init(&b, 1 << 20);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        dbg_buf_add(&b, buf, (size_t)n);
    return dbg_buf_steal(&b);
}

/* A scratch directory for one server: its socket and its SQLite store, removed at the end. */
typedef struct {
    char dir[32];
    char *sock, *db;
} scratch;

static void scratch_new(scratch *x)
{
    snprintf(x->dir, sizeof(x->dir), "/tmp/dbg-srv-XXXXXX");
    assert_non_null(mkdtemp(x->dir));
    x->sock = dbg_path_join(x->dir, "s.sock");
    x->db = dbg_path_join(x->dir, "c.db");
    assert_true(x->sock && x->db);
}

static void scratch_free(scratch *x)
{
    DBG_AUTOFREE char *cmd = dbg_asprintf("rm -rf %s", x->dir);
    assert_int_equal(system(cmd), 0);
    free(x->sock);
    free(x->db);
}

/* A server on x's socket and SQLite store, made here. */
static dbg_server *start_scratch_server(scratch *x)
{
    scratch_new(x);
    dbg_server_opts o = {.socket_path = x->sock, .store_url = x->db, .io_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    return s;
}

static void test_slow_client_and_cap(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    const char *sock = x.sock, *db = x.db;
    dbg_server_opts o = {.socket_path = sock,
                         .store_url = db,
                         .max_conns = 2,
                         .io_timeout_s = 1,
                         .request_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    /* A client that sends half a head and stalls gets 408 after the read timeout. */
    int slow = connect_unix(sock);
    assert_int_equal(write(slow, "GET /healthz HTTP/1.1\r\nHo", 25), 25);
    int64_t t0 = dbg_monotonic_us();
    /* While it stalls, a second one fills the table of 2; a third is turned away with 503. */
    int idle = connect_unix(sock);
    usleep(200000);
    int third = connect_unix(sock);
    DBG_AUTOFREE char *busy = read_all(third);
    assert_non_null(strstr(busy, "HTTP/1.1 503 "));
    assert_non_null(strstr(busy, "too many connections"));
    close(third);
    DBG_AUTOFREE char *ans = read_all(slow);
    int64_t waited = dbg_monotonic_us() - t0;
    assert_non_null(strstr(ans, "HTTP/1.1 408 "));
    assert_non_null(strstr(ans, "timed out waiting for the request head"));
    assert_true(waited >= 800000 && waited < 5000000);
    close(slow);
    close(idle);
    dbg_server_stats st;
    dbg_server_get_stats(s, &st);
    assert_true(st.errors >= 2);
    dbg_server_stop(s);
    scratch_free(&x);
}

/* A request whose body the server would not take (an unknown path here; likewise a role that
 * may not post) is answered from its head: the server neither waits for nor buffers the
 * declared 16 MiB. It once read every body first, so anyone who could connect made it hold
 * up to 16 MiB per connection. */
static void test_body_not_read_when_refused(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    const char *sock = x.sock, *db = x.db;
    dbg_server_opts o = {.socket_path = sock, .store_url = db, .request_timeout_s = 5};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    static const char req[] = "POST /api/v1/nope HTTP/1.1\r\nHost: x\r\n"
                              "Content-Length: 16000000\r\n\r\n";
    int fd = connect_unix(sock);
    int64_t t0 = dbg_monotonic_us();
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    DBG_AUTOFREE char *ans = read_all(fd);
    int64_t waited = dbg_monotonic_us() - t0;
    close(fd);
    assert_non_null(strstr(ans, "HTTP/1.1 404 "));
    assert_true(waited < 3000000); /* not the 5 s the body would have been waited for */
    dbg_server_stop(s);
    scratch_free(&x);
}

/* A client that leaves before its answer: the answer's write fails (EPIPE) instead of raising
 * SIGPIPE, which would kill whatever process embeds the server (here, this test), and the
 * server goes on answering. */
static void test_client_gone_before_answer(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    const char *sock = x.sock, *db = x.db;
    dbg_server_opts o = {.socket_path = sock, .store_url = db, .io_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    for (int i = 0; i < 3; i++) {
        int gone = connect_unix(sock);
        assert_int_equal(write(gone, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
        close(gone); /* before the server has answered */
    }
    dbg_server_stats st;
    int64_t t0 = dbg_monotonic_us();
    do { /* until the three answers have been attempted */
        usleep(20000);
        dbg_server_get_stats(s, &st);
    } while (st.requests < 3 && dbg_monotonic_us() - t0 < 5000000);
    assert_true(st.requests >= 3);
    int fd = connect_unix(sock);
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    DBG_AUTOFREE char *ans = read_all(fd);
    close(fd);
    assert_non_null(strstr(ans, "HTTP/1.1 200 "));
    dbg_server_stop(s);
    scratch_free(&x);
}

static int64_t cpu_us(const struct rusage *r)
{
    return (r->ru_utime.tv_sec + r->ru_stime.tv_sec) * 1000000LL + r->ru_utime.tv_usec +
           r->ru_stime.tv_usec;
}

/* Out of descriptors, accept fails with the connection still queued and poll says "ready" at
 * once: the accept thread spun a core. It now pauses, and serves the client once it can. */
static void test_accept_out_of_descriptors(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    const char *sock = x.sock, *db = x.db;
    dbg_server_opts o = {.socket_path = sock, .store_url = db, .io_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = connect_unix(sock);

    /* No descriptor left for the server's accept: the limit at the highest one open, and every
     * one below it taken. */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int fillers[1024], n_fill = 0;
    int top = fd;
    for (int probe = fd + 1; probe < fd + 64; probe++)
        if (fcntl(probe, F_GETFD) >= 0)
            top = probe;
    lim = old;
    lim.rlim_cur = (rlim_t)top + 1;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    while (n_fill < 1024 && (fillers[n_fill] = dup(0)) >= 0)
        n_fill++;
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    int64_t t0 = dbg_monotonic_us();
    usleep(1000000);
    getrusage(RUSAGE_SELF, &r1);
    int64_t wall = dbg_monotonic_us() - t0;
    int64_t cpu = cpu_us(&r1) - cpu_us(&r0);

    for (int i = 0; i < n_fill; i++)
        close(fillers[i]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    if (cpu > wall / 4)
        fail_msg("the accept thread used %lld us of CPU in %lld us", (long long)cpu,
                 (long long)wall);
    DBG_AUTOFREE char *ans = read_all(fd);
    close(fd);
    assert_non_null(strstr(ans, "HTTP/1.1 200 "));
    dbg_server_stop(s);
    scratch_free(&x);
}

/* ---- the event listing and the store query under it ---- */

static int fail_on_second(const dbg_store_event *ev, void *opaque)
{
    (void)ev;
    if (++*(int *)opaque == 2) {
        dbg_err_set(DBG_ERR_NOMEM, "callback failed");
        return -1;
    }
    return 0;
}

static int stop_at_first(const dbg_store_event *ev, void *opaque)
{
    (void)ev;
    ++*(int *)opaque;
    return 1;
}

/* A host that is not UTF-8 (a TLS CN cut inside a character, `store ingest --host`) made the
 * row's JSON fail, and the failed callback was taken for "stop": 200 with a short list. Now the
 * host is repaired, and a callback that fails fails the query. */
static void test_events_listing_complete(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    const char *sock = x.sock, *db = x.db;
    dbg_store *st = dbg_store_open(db);
    assert_non_null(st);
    const char *hosts[] = {"hv-01", "bad\xff", "hv-03"};
    for (int i = 0; i < 3; i++) {
        dbg_store_event ev = {.time_us = 1000 + i,
                              .kind = "alert",
                              .host = hosts[i],
                              .type = "port_scan",
                              .clause = "",
                              .tenant = "",
                              .tenant2 = "",
                              .body = "{}"};
        assert_int_equal(dbg_store_add(st, &ev, NULL), 0);
    }
    dbg_store_filter f;
    memset(&f, 0, sizeof(f));
    int calls = 0;
    assert_int_equal(dbg_store_query(st, &f, fail_on_second, &calls), -1);
    assert_string_equal(dbg_err_msg(), "callback failed");
    calls = 0;
    assert_int_equal(dbg_store_query(st, &f, stop_at_first, &calls), 0);
    assert_int_equal(calls, 1);
    dbg_store_close(st);

    dbg_server_opts o = {.socket_path = sock, .store_url = db, .io_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    static const char req[] = "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    int fd = connect_unix(sock);
    assert_int_equal(write(fd, req, sizeof(req) - 1), (ssize_t)(sizeof(req) - 1));
    DBG_AUTOFREE char *ans = read_all(fd);
    close(fd);
    assert_non_null(strstr(ans, "HTTP/1.1 200 "));
    assert_non_null(strstr(ans, "\"count\":3"));
    assert_non_null(strstr(ans, "\"host\":\"bad\xef\xbf\xbd\""));
    dbg_server_stop(s);
    scratch_free(&x);
}

/* One request over the Unix socket; the whole answer. */
static char *ask(const char *sock, const char *req)
{
    int fd = connect_unix(sock);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char *ans = read_all(fd);
    close(fd);
    return ans;
}

static const char post_one[] =
    "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 63\r\n\r\n"
    "{\"timestamp\":\"2026-01-01T00:00:00Z\",\"alert\":{\"signature\":\"a\"}}\n";

/* A listing is answered while the storing connection is taken (held here as a batch waiting for
 * a lock would hold it): it reads through a connection of its own. It used to queue behind. */
typedef struct {
    const char *sock;
    char *ans;
} asker;

static void *ask_events(void *arg)
{
    asker *a = arg;
    a->ans = ask(a->sock, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return NULL;
}

static void test_listing_beside_a_batch(void **state)
{
    (void)state;
    scratch x;
    dbg_server *s = start_scratch_server(&x);
    int cpus = dbg_online_cores(SRV_STORE_READERS_DEFAULT_MAX);
    assert_int_equal(s->n_readers, cpus < SRV_STORE_READERS_MIN ? SRV_STORE_READERS_MIN : cpus);
    DBG_AUTOFREE char *posted = ask(x.sock, post_one);
    assert_non_null(strstr(posted, "\"stored\":1"));
    pthread_mutex_lock(&s->store_mu);
    asker a = {.sock = x.sock};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, ask_events, &a), 0);
    int64_t stop = dbg_monotonic_us() + 3000000;
    while (!__atomic_load_n(&a.ans, __ATOMIC_ACQUIRE) && dbg_monotonic_us() < stop)
        usleep(10000);
    int answered = __atomic_load_n(&a.ans, __ATOMIC_ACQUIRE) != NULL;
    pthread_mutex_unlock(&s->store_mu); /* lets a queued listing finish either way */
    pthread_join(th, NULL);
    DBG_AUTOFREE char *ans = a.ans;
    if (!answered)
        fail_msg("the listing waited for the storing connection");
    assert_non_null(strstr(ans, "HTTP/1.1 200 "));
    assert_non_null(strstr(ans, "\"count\":1"));
    dbg_server_stop(s);
    scratch_free(&x);
}

/* The reader pool follows dbg_server_opts.store_readers (`serve --store-readers`): an operator
 * sizing PostgreSQL sessions, or a large machine, sets it; beyond what the pool can lend out
 * the start fails naming the limit. With one reader, listings still answer one after another. */
static void test_store_readers_option(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    dbg_server_opts o = {.socket_path = x.sock, .store_url = x.db, .io_timeout_s = 2,
                         .store_readers = 1};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    assert_int_equal(s->n_readers, 1);
    DBG_AUTOFREE char *posted = ask(x.sock, post_one);
    assert_non_null(strstr(posted, "\"stored\":1"));
    for (int i = 0; i < 3; i++) {
        DBG_AUTOFREE char *ans =
            ask(x.sock, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_non_null(strstr(ans, "\"count\":1"));
    }
    dbg_server_stop(s);
    o.store_readers = 20;
    assert_non_null(s = dbg_server_start(&o));
    assert_int_equal(s->n_readers, 20);
    dbg_server_stop(s);
    o.store_readers = SRV_STORE_READERS_MAX + 1;
    assert_null(dbg_server_start(&o));
    assert_non_null(strstr(dbg_err_msg(), "33 store readers: at most 32"));
    scratch_free(&x);
}

/* A batch that fails part way stores nothing of itself: SQLite committed the lines added
 * before the failure (here a trigger refusing the second line, as a full disk or an I/O error
 * would stop it), so the agent's resend of the batch was part duplicates and the answer said
 * "1 of the 3 events were stored". What was stored before the batch stays. */
static void test_failed_batch_stores_nothing(void **state)
{
    (void)state;
    scratch x;
    dbg_server *s = start_scratch_server(&x);
    DBG_AUTOFREE char *before = ask(x.sock, post_one);
    assert_non_null(strstr(before, "\"stored\":1"));
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(x.db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "CREATE TRIGGER boom BEFORE INSERT ON events WHEN "
                                  "NEW.type='boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    static const char batch[] =
        "{\"timestamp\":\"2026-01-01T00:00:01Z\",\"alert\":{\"signature\":\"first\"}}\n"
        "{\"timestamp\":\"2026-01-01T00:00:02Z\",\"alert\":{\"signature\":\"boom\"}}\n"
        "{\"timestamp\":\"2026-01-01T00:00:03Z\",\"alert\":{\"signature\":\"third\"}}\n";
    DBG_AUTOFREE char *req = dbg_asprintf("POST /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: "
                                          "close\r\nContent-Length: %zu\r\n\r\n%s",
                                          strlen(batch), batch);
    DBG_AUTOFREE char *failed = ask(x.sock, req);
    if (!strstr(failed, "HTTP/1.1 500 ") || !strstr(failed, "0 of the 3 events were stored") ||
        !strstr(failed, "boom refused"))
        fail_msg("answer: %s", failed);
    DBG_AUTOFREE char *ans =
        ask(x.sock, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    if (!strstr(ans, "\"count\":1") || strstr(ans, "first"))
        fail_msg("listing after the failed batch: %s", ans);
    /* the store goes on: the next batch is stored */
    DBG_AUTOFREE char *after = ask(
        x.sock, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                "Content-Length: 66\r\n\r\n"
                "{\"timestamp\":\"2026-01-01T00:00:04Z\",\"alert\":{\"signature\":\"next\"}}\n");
    assert_non_null(strstr(after, "\"stored\":1"));
    dbg_server_stop(s);
    scratch_free(&x);
}

/* An in-memory SQLite store is private to its connection: a reader of its own would list an
 * empty store, so listings go through the storing connection and see what was posted. */
static void test_memory_store_lists_what_was_posted(void **state)
{
    (void)state;
    scratch x;
    scratch_new(&x);
    dbg_server_opts o = {.socket_path = x.sock, .store_url = "sqlite::memory:", .io_timeout_s = 2};
    dbg_server *s = dbg_server_start(&o);
    assert_non_null(s);
    assert_int_equal(s->n_readers, 0);
    DBG_AUTOFREE char *posted = ask(x.sock, post_one);
    assert_non_null(strstr(posted, "\"stored\":1"));
    DBG_AUTOFREE char *ans =
        ask(x.sock, "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(ans, "\"count\":1"));
    DBG_AUTOFREE char *dash = ask(x.sock, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_non_null(strstr(dash, "HTTP/1.1 200 "));
    dbg_server_stop(s);
    scratch_free(&x);
}

/* A refusal quoting what the client sent names it even when those bytes are no UTF-8 (a %ff in
 * a parameter, a name cut inside a character by the message's %.64s): the JSON error used to be
 * "(message not printable)", since jansson takes no invalid UTF-8. */
static void test_error_quotes_non_utf8(void **state)
{
    (void)state;
    scratch x;
    dbg_server *s = start_scratch_server(&x);
#define A63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    static const struct {
        const char *target, *says;
    } cases[] = {
        {"/api/v1/events?%ff=1", "\"unknown parameter '\\uFFFD' (type, kind"},
        {"/api/v1/events?since=%ff", "\"parameter since: '\\uFFFD' is not an RFC 3339 time"},
        {"/api/v1/audit/export?x%ff=1", "\"unknown parameter 'x\\uFFFD' (tenant, since_size)"},
        /* 63 bytes and a 3-byte character: the message keeps 64 bytes of the name */
        {"/api/v1/events?" A63 "%E7%A7%9F=1", "\"unknown parameter '" A63 "\\uFFFD'"},
    };
#undef A63
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        DBG_AUTOFREE char *req = dbg_asprintf(
            "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", cases[i].target);
        DBG_AUTOFREE char *ans = ask(x.sock, req);
        if (!strstr(ans, "HTTP/1.1 400 ") || !strstr(ans, cases[i].says))
            fail_msg("%s: expected 400 with %s, got\n%s", cases[i].target, cases[i].says, ans);
    }
    dbg_server_stop(s);
    scratch_free(&x);
}

/* A reader taking 16 KiB every 50 ms (a client reading a large export or event list slowly)
 * frees the socket's buffer well within each send's 2 s timeout, so every send makes progress:
 * only the answer's deadline ends it. The reader gives up after 4 s, so without a deadline the
 * write ends then (EPIPE) instead of hanging the test. */
typedef struct {
    int fd;
} trickle;

static void *trickle_reader(void *arg)
{
    trickle *t = arg;
    static char b[16384];
    int64_t stop = dbg_monotonic_us() + 4000000;
    while (dbg_monotonic_us() < stop && read(t->fd, b, sizeof(b)) > 0)
        usleep(50000);
    shutdown(t->fd, SHUT_RDWR);
    return NULL;
}

static void test_write_deadline(void **state)
{
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct timeval tv = {2, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    trickle t = {sv[1]};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, trickle_reader, &t), 0);
    size_t len = 16u << 20;
    char *big = calloc(1, len);
    assert_non_null(big);
    dbg_net_conn c = {.fd = sv[0]};
    c.write_deadline_us = dbg_monotonic_us() + 1000000;
    int64_t t0 = dbg_monotonic_us();
    assert_int_equal(dbg_net_conn_write(&c, big, len), -1);
    int64_t took = dbg_monotonic_us() - t0;
    if (took > 3000000)
        fail_msg("the write went on %lld ms past its 1 s deadline", (long long)(took - 1000000) / 1000);
    close(sv[0]); /* the reader's read ends */
    pthread_join(th, NULL);
    free(big);
    close(sv[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_complete_get),
        cmocka_unit_test(test_wants_close),
        cmocka_unit_test(test_post_with_length_and_bare_lf),
        cmocka_unit_test(test_partial_needs_more),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_html_escape),
        cmocka_unit_test(test_slow_client_and_cap),
        cmocka_unit_test(test_client_gone_before_answer),
        cmocka_unit_test(test_body_not_read_when_refused),
        cmocka_unit_test(test_accept_out_of_descriptors),
        cmocka_unit_test(test_events_listing_complete),
        cmocka_unit_test(test_write_deadline),
        cmocka_unit_test(test_listing_beside_a_batch),
        cmocka_unit_test(test_failed_batch_stores_nothing),
        cmocka_unit_test(test_store_readers_option),
        cmocka_unit_test(test_memory_store_lists_what_was_posted),
        cmocka_unit_test(test_error_quotes_non_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
