/* Unit tests for the forwarder's reading of central's (or a collector's) answers: the head
 * (dbg_http_parse_answer) as serve sends it, after 1xx interim answers, with chunked framing,
 * split anywhere, and each refusal with the byte it names (lengths that are no number, two
 * lengths, codings other than chunked, 101, NUL, bare CR/LF, folded lines, no status line); and
 * chunked bodies (dbg_http_chunked_read) with extensions and trailers, fed whole and a byte at a
 * time, and each malformed one refused naming what and where. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/server.h"
#include "dengbao/util.h"

/* Parses len bytes from an exact-size copy (a read past them is ASan's to catch). */
static int parse_n(const char *s, size_t len, dbg_http_answer *a, char *msg)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, s, len);
    int rc = dbg_http_parse_answer(copy, len, a, msg, 256);
    free(copy);
    return rc;
}

static const char serve_ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                               "Content-Length: 28\r\nCache-Control: no-store\r\n"
                               "X-Content-Type-Options: nosniff\r\n\r\n"
                               "{\"stored\": 1, \"rejected\": 0}";

static void test_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int status, has_length, close;
        unsigned long long length;
    } cases[] = {
        {serve_ok, 200, 1, 0, 28},
        {"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 400, 1, 1,
         2},
        {"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 200, 1, 1,
         0},
        {"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nconnection: Close\r\n\r\n", 200, 0, 1, 0},
        {"HTTP/1.1 200 OK\r\nConnection: closed\r\n\r\n", 200, 0, 0, 0},
        {"HTTP/1.1 403\r\nContent-Length: 0\r\n\r\n", 403, 1, 0, 0},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length:\t2 \r\n\r\n{}", 200, 1, 0, 2},
        /* HTTP/1.0 answers end the connection (the keep-alive extension is not asked for) */
        {"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, 1, 1, 2},
        {"HTTP/1.1 503 Service Unavailable\r\nX-Odd: a\tb \r\n\r\nbusy", 503, 0, 0, 0},
        /* the largest length below 2^63 is a length (the forwarder then says it is over 1 MiB) */
        {"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n", 200, 1, 0,
         9223372036854775807ULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775800\r\n\r\n", 200, 1, 0,
         9223372036854775800ULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_http_answer a;
        char msg[256];
        int rc = parse_n(cases[i].in, strlen(cases[i].in), &a, msg);
        if (rc != 1 || a.status != cases[i].status || a.has_length != cases[i].has_length ||
            a.close != cases[i].close || a.content_length != cases[i].length || a.chunked ||
            a.interim)
            fail_msg("case %zu: rc %d status %d has_length %d close %d length %llu (%s)", i, rc,
                     a.status, a.has_length, a.close, (unsigned long long)a.content_length, msg);
        const char *end = strstr(cases[i].in, "\r\n\r\n");
        assert_int_equal(a.head_len, (size_t)(end - cases[i].in) + 4);
    }
}

/* What collectors and proxies in front of a SIEM send (nginx, Logstash, Splunk HEC): chunked
 * bodies, and 100 Continue or 103 Early Hints before the final answer. Interim answers' fields
 * are not the final answer's; head_len is where the final head ends. */
static void test_interim_and_chunked(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int status, chunked, has_length, close;
        unsigned interim;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 200, 1, 0, 0,
         0},
        {"HTTP/1.1 200 OK\r\ntransfer-encoding:\tChunked \r\n\r\n", 200, 1, 0, 0, 0},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked,\r\nConnection: close\r\n\r\n", 200, 1, 0,
         1, 0},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}", 200, 0, 1,
         0, 1},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n"
         "\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
         200, 1, 0, 0, 2},
        /* an interim answer ends at its blank line whatever its fields say (RFC 9112 6.3) */
        {"HTTP/1.1 100 Continue\r\nContent-Length: 5\r\nConnection: close\r\nTransfer-Encoding: "
         "gzip\r\n\r\nHTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n",
         503, 0, 1, 0, 1},
        {"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 199 Whatever\r\n\r\nHTTP/1.0 200 OK\r\n\r\n", 200,
         0, 0, 1, 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_http_answer a;
        char msg[256];
        size_t len = strlen(cases[i].in);
        int rc = parse_n(cases[i].in, len, &a, msg);
        if (rc != 1 || a.status != cases[i].status || a.chunked != cases[i].chunked ||
            a.has_length != cases[i].has_length || a.close != cases[i].close ||
            a.interim != cases[i].interim)
            fail_msg("case %zu: rc %d status %d chunked %d has_length %d close %d interim %u (%s)",
                     i, rc, a.status, a.chunked, a.has_length, a.close, a.interim, msg);
        /* the final head's end: the last CRLFCRLF up to it, found from the answers' count */
        const char *end = cases[i].in;
        for (unsigned k = 0; k <= a.interim; k++)
            end = strstr(end, "\r\n\r\n") + 4;
        assert_int_equal(a.head_len, (size_t)(end - cases[i].in));
        /* split anywhere inside the heads: more is needed, never another reading */
        dbg_http_answer part;
        for (size_t n = 0; n < a.head_len; n++)
            if (parse_n(cases[i].in, n, &part, msg) != 0)
                fail_msg("case %zu, prefix of %zu bytes: not 'need more' (%s)", i, n, msg);
    }
}

/* Any number of interim answers up to DBG_HTTP_INTERIM_MAX, then a refusal naming the limit:
 * a server sending 100 Continue for ever does not hold the forwarder for ever. */
static void test_interim_limit(void **state)
{
    (void)state;
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    dbg_buf b;
    dbg_buf_init(&b, 1 << 20);
    for (unsigned i = 0; i < DBG_HTTP_INTERIM_MAX; i++)
        assert_int_equal(dbg_buf_adds(&b, cont), 0);
    size_t interims = b.len;
    assert_int_equal(dbg_buf_adds(&b, ok), 0);
    dbg_http_answer a;
    char msg[256];
    assert_int_equal(parse_n(b.data, b.len, &a, msg), 1);
    assert_int_equal(a.interim, DBG_HTTP_INTERIM_MAX);
    assert_int_equal(a.head_len, b.len);
    b.len = interims;
    assert_int_equal(dbg_buf_adds(&b, cont), 0);
    assert_int_equal(dbg_buf_adds(&b, ok), 0);
    assert_int_equal(parse_n(b.data, b.len, &a, msg), -1);
    assert_non_null(strstr(msg, "more than 32 interim (1xx) answers"));
    dbg_buf_free(&b);
}

/* The forwarder parses after every read: each prefix of a head needs more, and what follows
 * the head (the body, or the start of something else) does not change its reading. */
static void test_split_anywhere(void **state)
{
    (void)state;
    dbg_http_answer whole, part;
    char msg[256];
    size_t head_len = (size_t)(strstr(serve_ok, "\r\n\r\n") - serve_ok) + 4;
    assert_int_equal(parse_n(serve_ok, strlen(serve_ok), &whole, msg), 1);
    for (size_t n = 0; n < head_len; n++)
        if (parse_n(serve_ok, n, &part, msg) != 0)
            fail_msg("prefix of %zu bytes: not 'need more' (%s)", n, msg);
    /* a missing blank line leaves the head open, whatever comes */
    assert_int_equal(parse_n(serve_ok, head_len - 2, &part, msg), 0);
    for (size_t n = head_len; n <= strlen(serve_ok); n++) {
        assert_int_equal(parse_n(serve_ok, n, &part, msg), 1);
        assert_memory_equal(&part, &whole, sizeof(whole));
    }
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        const char *msg;
    } cases[] = {
        /* lengths that are no number were read as "no length": the body then ran to EOF */
        {"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}", 0, "Content-Length '-5' at byte 17"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n{}", 0, "is not a length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n{}", 0, "not a length"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2abc\r\n\r\n{}", 0, "'2abc'"},
        {"HTTP/1.1 200 OK\r\nContent-Length: +2\r\n\r\n{}", 0, "'+2'"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}", 0, "'2, 2'"},
        /* an empty length took its digits from the body */
        {"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n12345", 0, "Content-Length '' at byte 17"},
        /* the first of two lengths won */
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 20\r\n\r\n{}", 0,
         "two Content-Length values, 2 and 20"},
        {"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}", 0, "byte 17 is not 'Name: value'"},
        {"HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}", 0, "not 'Name: value'"},
        {"HTTP/1.1 200 OK\r\nContent-Length:\r\n 2\r\n\r\n{}", 0, "Content-Length ''"},
        {"HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n\r\n{}", 0, "folded field line at byte 25"},
        /* codings the forwarder does not undo: the body's end would be unknown */
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0,
         "Transfer-Encoding 'gzip' at byte 17: only chunked is read"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0,
         "Transfer-Encoding at byte 17: 'gzip' after chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         "Transfer-Encoding at byte 45: 'chunked' after chunked"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n", 0, "'identity' at byte 17"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: , \r\n\r\n", 0,
         "Transfer-Encoding at byte 17 names no coding"},
        /* two framings of one body: the smuggling shape, refused in either order */
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n{}", 0,
         "Transfer-Encoding chunked and a Content-Length (byte 45)"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}", 0,
         "two framings"},
        {"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
         "Transfer-Encoding at byte 17 in an HTTP/1.0 answer"},
        /* a POST asked for no protocol switch, before or after an interim answer */
        {"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0,
         "status line at byte 0: 101 Switching Protocols to a POST"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n", 0,
         "status line at byte 25: 101 Switching Protocols"},
        /* an interim answer's lines are still lines */
        {"HTTP/1.1 103 Early Hints\r\nLink\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0,
         "field line at byte 26 is not 'Name: value'"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX: a\nb\r\n\r\n", 0,
         "LF without CR at byte 46"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/2 200\r\n\r\n", 0, "byte 30 is not 'HTTP/1.x NNN'"},
        /* a NUL hid the head's end: the forwarder read on until its limit or timeout */
        {"HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 2\r\n\r\n{}", 49,
         "NUL in the answer head at byte 23"},
        {"HTTP/1.1 200 OK\r\nX-A: a\x01"
         "b\r\n\r\n",
         0, "control byte 0x01"},
        {"HTTP/1.1 200 OK\nContent-Length: 2\n\n{}", 0, "LF without CR at byte 15"},
        {"HTTP/1.1 200 OK\rContent-Length: 2\r\n\r\n{}", 0, "CR without LF at byte 15"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{}\r\n\r\n", 0, "byte 36 is not 'Name: value'"},
        /* status lines: sscanf took "2000" as 200 and read "200" from the body */
        {"HTTP/1.1 2000 OK\r\n\r\n", 0, "byte 12 after the status code is not SP or CR (0x30)"},
        /* a bare LF after the code was called "not 3 digits" */
        {"HTTP/1.1 200\nContent-Length: 0\n\n", 0,
         "byte 12 after the status code is not SP or CR (0x0a)"},
        {"HTTP/1.1\r\n\r\n200", 0, "byte 8"},
        {"HTTP/1.1 +20 OK\r\n\r\n", 0, "byte 9"},
        {"HTTP/1.1 600 Odd\r\n\r\n", 0, "status 600 is no answer (100..599)"},
        {"HTTP/1.1 099 Odd\r\n\r\n", 0, "status 99 is no answer"},
        {"HTTP/2 200\r\n\r\n", 0, "byte 5"},
        /* refused at once, not after waiting for a CRLFCRLF that never comes */
        {"SSH-2.0-OpenSSH_9.2", 0, "byte 0"},
        {"\0HTTP/1.1 200 OK\r\n\r\n", 21, "byte 0"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_http_answer a;
        char msg[256];
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        int rc = parse_n(cases[i].in, len, &a, msg);
        if (rc != -1 || !strstr(msg, cases[i].msg))
            fail_msg("case %zu: rc %d, message '%s', wanted '%s'", i, rc, msg, cases[i].msg);
    }
}

/* A head with no end is refused at the limit, not read on to the forwarder's 1 MiB. */
static void test_head_limit(void **state)
{
    (void)state;
    size_t n = DBG_HTTP_HEAD_MAX + 100;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ", 24);
    dbg_http_answer a;
    char msg[256];
    assert_int_equal(parse_n(big, DBG_HTTP_HEAD_MAX - 1, &a, msg), 0);
    assert_int_equal(parse_n(big, n, &a, msg), -1);
    assert_non_null(strstr(msg, "answer head over 16384 bytes"));
    free(big);
}

/* Reads a chunked body [s, s+len) whole (step 0) or step bytes a read, each read from an
 * exact-size copy: the result, the data in out, the bytes the body took in *taken. */
static int read_chunked(const char *s, size_t len, size_t step, uint64_t max, dbg_buf *out,
                        size_t *taken, char *msg)
{
    dbg_http_chunked *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->max = max;
    int rc = 0;
    *taken = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        size_t n = step && len - at > step ? step : len - at, used = 0;
        char *copy = malloc(n);
        assert_non_null(copy);
        memcpy(copy, s + at, n);
        rc = dbg_http_chunked_read(c, copy, n, &used, out, msg, 256);
        free(copy);
        if (rc >= 0)
            assert_true(used == n || rc == 1); /* short only when the body ended */
        at += used;
        *taken = at;
    }
    free(c);
    return rc;
}

/* Bodies as servers and proxies write them: extensions (tokens, quoted strings with escapes,
 * blanks around), upper- and lower-case hex, leading zeros, trailer fields; whole and a byte at
 * a time, the same data and the same end. */
static void test_chunked_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *in, *data;
    } cases[] = {
        {"1c\r\n{\"stored\": 1, \"rejected\": 0}\r\n0\r\n\r\n", "{\"stored\": 1, \"rejected\": 0}"},
        {"5;name=value\r\nhello\r\n6 ; a ; b = \"q \\\" \\\\ x\"\r\n world\r\n0;last\r\n\r\n",
         "hello world"},
        {"A\r\n0123456789\r\n0000b\r\nabcdefghijk\r\n000\r\nX-Checksum: abc\r\nServer-Timing: "
         "db;dur=5\r\n"
         "\r\n",
         "0123456789abcdefghijk"},
        {"3 \t\r\nabc\r\n0\r\n\r\n", "abc"},
        {"0\r\n\r\n", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 0; step <= 3; step++) {
            dbg_buf out;
            dbg_buf_init(&out, 1 << 20);
            char msg[256];
            size_t taken;
            size_t len = strlen(cases[i].in);
            /* the next answer's bytes after the body are not the body's */
            char *in = dbg_asprintf("%sHTTP/1.1 200 OK\r\n", cases[i].in);
            int rc = read_chunked(in, strlen(in), step, 1 << 20, &out, &taken, msg);
            if (rc != 1 || taken != len || out.len != strlen(cases[i].data) ||
                memcmp(out.len ? out.data : "", cases[i].data, out.len) != 0)
                fail_msg("case %zu step %zu: rc %d taken %zu of %zu, data '%s' (%s)", i, step, rc,
                         taken, len, out.data ? out.data : "", msg);
            /* every prefix needs more */
            for (size_t n = 0; n < len; n++) {
                dbg_buf_reset(&out);
                if (read_chunked(in, n, 0, 1 << 20, &out, &taken, msg) != 0)
                    fail_msg("case %zu: prefix of %zu bytes: %s", i, n, msg);
            }
            free(in);
            dbg_buf_free(&out);
        }
    }
}

/* Each malformed body is refused, naming what and the byte of the body, never read on. */
static void test_chunked_refused(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len; /* 0: strlen */
        uint64_t max;
        const char *msg;
    } cases[] = {
        {"zz\r\n", 0, 0, "chunk size line at byte 0 does not start with a hex size"},
        {"\r\n", 0, 0, "does not start with a hex size (an empty line)"},
        {"-1\r\n", 0, 0, "byte 0 does not start with a hex size"},
        {"0x5\r\nhello\r\n", 0, 0, "byte 1 is no ';' starting an extension (0x78)"},
        {"5 5\r\nhello\r\n", 0, 0, "byte 2 is no ';'"},
        {"10000000000000000\r\n", 0, 0, "chunk size at byte 0 does not fit 64 bits"},
        {"ffffffffffffffff\r\n", 0, 1 << 20, "chunk of 18446744073709551615 bytes at byte 0"},
        {"5\r\nhello\r\n100001\r\n", 0, 1 << 20,
         "chunk of 1048577 bytes at byte 10: the body would "
         "be over 1048576 bytes"},
        {"5\r\nhelloX\r\n", 0, 0,
         "chunk data is not followed by CRLF: byte 8 of the chunked body is "
         "0x58"},
        {"5\nhello\r\n", 0, 0, "LF without CR at byte 1 of the chunked body"},
        {"5\rhello\r\n", 0, 0, "CR without LF at byte 1"},
        {"5\r\nhello\r\r\n", 0, 0, "CR without LF at byte 8"},
        {"5;\r\nhello\r\n", 0, 0, "chunk extension at byte 2 has no name"},
        {"5;a=\r\nhello\r\n", 0, 0, "chunk extension at byte 2 has an empty value"},
        {"5;a=\"x\r\nhello\r\n", 0, 0, "chunk extension value at byte 4 has no closing quote"},
        {"5;a=\"x\\\r\nhello\r\n", 0, 0, "no closing quote"},
        {"5;a=\"x\x01\"\r\nhello\r\n", 0, 0, "control byte 0x01 in a chunk extension at byte 6"},
        {"5;a=b c\r\nhello\r\n", 0, 0, "byte 6 is no ';'"},
        {"5\0\r\nhello\r\n", 11, 0, "NUL at byte 1 of the chunked body"},
        {"0\r\nX-A b\r\n\r\n", 0, 0, "field line at byte 3 is not 'Name: value'"},
        {"0\r\nX-A: b\r\n c\r\n\r\n", 0, 0, "folded field line at byte 11"},
        {"0\r\nX-A: b\x7f\r\n\r\n", 0, 0, "control byte 0x7f in a field value at byte 9"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].in);
        for (size_t step = 0; step <= 1; step++) {
            char msg[256];
            size_t taken;
            int rc = read_chunked(cases[i].in, len, step, cases[i].max, NULL, &taken, msg);
            if (rc != -1 || !strstr(msg, cases[i].msg))
                fail_msg("case %zu step %zu: rc %d, message '%s', wanted '%s'", i, step, rc, msg,
                         cases[i].msg);
        }
    }
}

/* Lines and framing are bounded: a size line with endless extensions, and endless tiny chunks,
 * are refused at their limits, not read on. */
static void test_chunked_limits(void **state)
{
    (void)state;
    char msg[256];
    size_t taken;
    dbg_buf b;
    dbg_buf_init(&b, 4 << 20);
    assert_int_equal(dbg_buf_adds(&b, "1;x="), 0);
    for (unsigned i = 0; i < DBG_HTTP_CHUNK_LINE_MAX; i++)
        assert_int_equal(dbg_buf_adds(&b, "a"), 0);
    assert_int_equal(read_chunked(b.data, b.len, 0, 0, NULL, &taken, msg), -1);
    assert_non_null(strstr(msg, "line at byte 0 of the chunked body is over 4096 bytes"));
    /* a size line just within the limit is read */
    b.len = DBG_HTTP_CHUNK_LINE_MAX;
    assert_int_equal(dbg_buf_adds(&b, "\r\nx\r\n0\r\n\r\n"), 0);
    assert_int_equal(read_chunked(b.data, b.len, 0, 0, NULL, &taken, msg), 1);
    dbg_buf_reset(&b);
    for (unsigned i = 0; i < DBG_HTTP_CHUNK_FRAMING_MAX / 5 + 1; i++) /* 5 framing bytes each */
        assert_int_equal(dbg_buf_adds(&b, "1\r\nx\r\n"), 0);
    assert_int_equal(read_chunked(b.data, b.len, 0, 0, NULL, &taken, msg), -1);
    assert_non_null(strstr(msg, "framing (sizes, extensions, trailers) is over 262144 bytes"));
    /* the data has its own limit, the out buffer's: refused, not cut */
    dbg_buf small;
    dbg_buf_init(&small, 4);
    assert_int_equal(read_chunked("5\r\nhello\r\n0\r\n\r\n", 15, 0, 0, &small, &taken, msg), -1);
    assert_non_null(strstr(msg, "chunk data at byte 3: buffer would exceed its limit of 4 bytes"));
    dbg_buf_free(&small);
    dbg_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_head_limit),
        cmocka_unit_test(test_interim_and_chunked),
        cmocka_unit_test(test_interim_limit),
        cmocka_unit_test(test_chunked_bodies),
        cmocka_unit_test(test_chunked_refused),
        cmocka_unit_test(test_chunked_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
