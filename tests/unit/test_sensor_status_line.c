/* Unit tests for the status line dengbao agent's sensor process sends the agent (status_line.c):
 * the round trip, and malformed lines (truncated, oversize, NUL bytes, bad JSON, fields missing,
 * unknown or of the wrong type) each rejected with a message saying what is wrong; the reader
 * cutting lines however the pipe's reads split them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/sensor.h"

static void test_round_trip(void **state)
{
    (void)state;
    size_t n = 0;
    char *line =
        dbg_sensor_status_format(1, "capturing br0 ✓", json_pack("{s:i}", "packets", 7), &n);
    assert_non_null(line);
    assert_int_equal(line[n - 1], '\n');
    assert_null(memchr(line, '\n', n - 1));
    dbg_sensor_status st;
    assert_int_equal(dbg_sensor_status_parse(line, n - 1, &st), 0);
    assert_int_equal(st.ok, 1);
    assert_string_equal(st.detail, "capturing br0 ✓");
    assert_int_equal(json_integer_value(json_object_get(st.extra, "packets")), 7);
    dbg_sensor_status_clear(&st);
    free(line);
    /* no extra: {} */
    line = dbg_sensor_status_format(0, NULL, NULL, &n);
    assert_non_null(line);
    assert_int_equal(dbg_sensor_status_parse(line, n - 1, &st), 0);
    assert_int_equal(st.ok, 0);
    assert_string_equal(st.detail, "");
    assert_int_equal(json_object_size(st.extra), 0);
    dbg_sensor_status_clear(&st);
    free(line);
}

/* The line is rejected, with a message containing want. */
static void rejected(const char *line, size_t len, const char *want)
{
    dbg_sensor_status st;
    dbg_err_clear();
    if (dbg_sensor_status_parse(line, len, &st) == 0)
        fail_msg("accepted: %.*s", (int)(len > 200 ? 200 : len), line);
    assert_null(st.detail);
    assert_null(st.extra);
    if (!strstr(dbg_err_msg(), want))
        fail_msg("message '%s' does not say '%s'", dbg_err_msg(), want);
}
#define REJECTED(lit, want) rejected((lit), sizeof(lit) - 1, (want))

/* A start-up step goes as its own line and comes back as a step, not a status. */
static void test_step(void **state)
{
    (void)state;
    size_t n = 0;
    char *line = dbg_sensor_step_format("collecting its inventory from libvirt (test:///x)", &n);
    assert_non_null(line);
    assert_int_equal(line[n - 1], '\n');
    dbg_sensor_status st;
    assert_int_equal(dbg_sensor_status_parse(line, n - 1, &st), 0);
    assert_string_equal(st.step, "collecting its inventory from libvirt (test:///x)");
    assert_null(st.detail);
    assert_null(st.extra);
    dbg_sensor_status_clear(&st);
    free(line);
    /* a status has none */
    const char good[] = "{\"ok\":true,\"detail\":\"d\",\"extra\":{}}";
    assert_int_equal(dbg_sensor_status_parse(good, sizeof(good) - 1, &st), 0);
    assert_null(st.step);
    dbg_sensor_status_clear(&st);
}

static void test_malformed(void **state)
{
    (void)state;
    const char good[] = "{\"ok\":true,\"detail\":\"d\",\"extra\":{}}";
    /* truncated anywhere: not JSON */
    for (size_t i = 0; i < sizeof(good) - 1; i++)
        rejected(good, i, i ? "not JSON" : "empty status line");
    /* a NUL byte: after it, a C string parser would see nothing (and accept the line) */
    REJECTED("{\"ok\":true,\"detail\":\"d\",\"extra\":{}}\0garbage", "NUL byte at offset 35");
    REJECTED("{\"ok\":true,\"detail\":\"d\0\",\"extra\":{}}", "NUL byte at offset 22");
    REJECTED("{\"ok\":true,\"detail\":\"a\\u0000b\",\"extra\":{}}", "not JSON");
    /* bad JSON */
    REJECTED("{\"ok\":true,\"detail\":\"d\",\"extra\":{}} {}", "not JSON");
    REJECTED("{\"ok\":true,\"detail\":\"\xff\xfe\",\"extra\":{}}", "not JSON");
    REJECTED("{\"ok\":true,\"ok\":false,\"detail\":\"d\",\"extra\":{}}", "not JSON");
    REJECTED("[true,\"d\",{}]", "not a JSON object");
    REJECTED("\"ok\"", "not JSON");
    /* fields */
    REJECTED("{\"detail\":\"d\",\"extra\":{}}", "\"ok\" is missing");
    REJECTED("{\"ok\":1,\"detail\":\"d\",\"extra\":{}}", "\"ok\" is of another type");
    REJECTED("{\"ok\":true,\"extra\":{}}", "\"detail\" is missing");
    REJECTED("{\"ok\":true,\"detail\":null,\"extra\":{}}", "\"detail\" is of another type");
    REJECTED("{\"ok\":true,\"detail\":\"d\"}", "\"extra\" is missing");
    REJECTED("{\"ok\":true,\"detail\":\"d\",\"extra\":[]}", "\"extra\" is of another type");
    /* a start-up step line: "step" alone, a string */
    REJECTED("{\"step\":1}", "\"step\" is not a string");
    REJECTED("{\"step\":\"s\",\"ok\":true}", "other fields than \"step\"");
    REJECTED("{\"ok\":true,\"detail\":\"d\",\"extra\":{},\"pid\":1}", "unknown field \"pid\"");
    /* an unknown field's name is shown escaped: it cannot start a line of its own in the log */
    REJECTED("{\"ok\":true,\"detail\":\"d\",\"extra\":{},\"a\\nb\\u001b[2J\":1}",
             "unknown field \"a\\nb\\x1b[2J\"");
    /* deep nesting is refused by the parser, not a stack overflow */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    assert_non_null(deep);
    const char head[] = "{\"ok\":true,\"detail\":\"d\",\"extra\":{\"x\":";
    size_t k = sizeof(head) - 1;
    memcpy(deep, head, k);
    memset(deep + k, '[', depth);
    memset(deep + k + depth, ']', depth);
    k += 2 * depth;
    memcpy(deep + k, "}}", 2);
    rejected(deep, k + 2, "not JSON");
    free(deep);
    /* oversize */
    size_t big = DBG_SENSOR_STATUS_LINE_MAX;
    char *huge = malloc(big);
    assert_non_null(huge);
    memset(huge, ' ', big);
    memcpy(huge, good, sizeof(good) - 1);
    dbg_sensor_status st;
    assert_int_equal(dbg_sensor_status_parse(huge, big - 1, &st), 0); /* at the limit: taken */
    dbg_sensor_status_clear(&st);
    rejected(huge, big, "over the limit");
    free(huge);
}

/* what the reader reported, in order */
typedef struct {
    int n_ok, n_err;
    char last_detail[64];
    char errors[8][160];
} seen;

static void on_status(void *ud, const dbg_sensor_status *st, const char *error)
{
    seen *s = ud;
    if (st) {
        s->n_ok++;
        snprintf(s->last_detail, sizeof(s->last_detail), "%s", st->detail);
    } else {
        assert_non_null(error);
        if (s->n_err < 8)
            snprintf(s->errors[s->n_err], sizeof(s->errors[0]), "%s", error);
        s->n_err++;
    }
}

static void test_reader(void **state)
{
    (void)state;
    const char two[] = "{\"ok\":true,\"detail\":\"one\",\"extra\":{}}\n"
                       "{\"ok\":false,\"detail\":\"two\",\"extra\":{\"n\":2}}\n";
    /* cut at every byte: the same two statuses */
    for (size_t cut = 0; cut <= sizeof(two) - 1; cut++) {
        seen s = {0};
        dbg_sensor_status_reader *r = dbg_sensor_status_reader_new();
        assert_non_null(r);
        dbg_sensor_status_reader_feed(r, two, cut, on_status, &s);
        dbg_sensor_status_reader_feed(r, two + cut, sizeof(two) - 1 - cut, on_status, &s);
        dbg_sensor_status_reader_end(r, on_status, &s);
        assert_int_equal(s.n_ok, 2);
        assert_int_equal(s.n_err, 0);
        assert_string_equal(s.last_detail, "two");
        dbg_sensor_status_reader_free(r);
    }
    /* a bad line is reported and the next good one still read */
    seen s = {0};
    dbg_sensor_status_reader *r = dbg_sensor_status_reader_new();
    const char bad[] = "{\"ok\":tru\n\n{\"ok\":true,\"detail\":\"after\",\"extra\":{}}\n";
    dbg_sensor_status_reader_feed(r, bad, sizeof(bad) - 1, on_status, &s);
    assert_int_equal(s.n_ok, 1);
    assert_string_equal(s.last_detail, "after");
    assert_int_equal(s.n_err, 2);
    assert_non_null(strstr(s.errors[0], "not JSON"));
    assert_non_null(strstr(s.errors[1], "empty status line"));
    /* a line over the limit, fed in pieces: one error, skipped to its newline, then in step */
    memset(&s, 0, sizeof(s));
    char *chunk = malloc(100000);
    assert_non_null(chunk);
    memset(chunk, 'x', 100000);
    for (int i = 0; i < 4; i++)
        dbg_sensor_status_reader_feed(r, chunk, 100000, on_status, &s);
    free(chunk);
    assert_int_equal(s.n_err, 1);
    assert_non_null(strstr(s.errors[0], "longer than 262143 bytes"));
    const char tail[] = "xx\n{\"ok\":true,\"detail\":\"resync\",\"extra\":{}}\n";
    dbg_sensor_status_reader_feed(r, tail, sizeof(tail) - 1, on_status, &s);
    assert_int_equal(s.n_err, 1);
    assert_int_equal(s.n_ok, 1);
    assert_string_equal(s.last_detail, "resync");
    /* the pipe ends in the middle of a line: cut off, said so */
    const char cut[] = "{\"ok\":true,\"detail\":\"las";
    dbg_sensor_status_reader_feed(r, cut, sizeof(cut) - 1, on_status, &s);
    assert_int_equal(s.n_err, 1);
    dbg_sensor_status_reader_end(r, on_status, &s);
    assert_int_equal(s.n_err, 2);
    assert_non_null(strstr(s.errors[1], "cut off after 24 bytes"));
    assert_int_equal(s.n_ok, 1);
    dbg_sensor_status_reader_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_step),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
