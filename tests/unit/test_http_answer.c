/* Unit tests for dbg_http_parse_answer, the forwarder's reading of central's answer head: what
 * serve sends, heads split anywhere, and each refusal with the byte it names (lengths that are no
 * number, two lengths, Transfer-Encoding, NUL, bare CR/LF, folded lines, no status line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/server.h"

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
            a.close != cases[i].close || a.content_length != cases[i].length)
            fail_msg("case %zu: rc %d status %d has_length %d close %d length %llu (%s)", i, rc,
                     a.status, a.has_length, a.close, (unsigned long long)a.content_length, msg);
        const char *end = strstr(cases[i].in, "\r\n\r\n");
        assert_int_equal(a.head_len, (size_t)(end - cases[i].in) + 4);
    }
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
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 0,
         "Transfer-Encoding at byte 17"},
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
        {"HTTP/1.1 100 Continue\r\n\r\n", 0, "status 100 is no final answer"},
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_split_anywhere),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_head_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
