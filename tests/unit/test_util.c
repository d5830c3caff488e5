/* Unit tests for src/util: errors, buffers with limits, time, hex, UTF-8, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/util.h"

static void test_grow_array(void **state)
{
    (void)state;
    int *a = NULL;
    size_t cap = 0;
    assert_int_equal(dbg_grow_array((void **)&a, &cap, 1, sizeof(*a), 8), 0);
    assert_int_equal(cap, 8); /* starts at first */
    a[7] = 7;
    int *before = a;
    assert_int_equal(dbg_grow_array((void **)&a, &cap, 8, sizeof(*a), 8), 0);
    assert_ptr_equal(a, before); /* room already: nothing moves */
    assert_int_equal(dbg_grow_array((void **)&a, &cap, 9, sizeof(*a), 8), 0);
    assert_int_equal(cap, 16); /* doubled */
    assert_int_equal(dbg_grow_array((void **)&a, &cap, 100, sizeof(*a), 8), 0);
    assert_int_equal(cap, 128);
    assert_int_equal(a[7], 7); /* contents kept */
    before = a;
    assert_int_equal(dbg_grow_array((void **)&a, &cap, SIZE_MAX / 2 + 2, sizeof(*a), 8), -1);
    assert_int_equal(dbg_err_last()->code, DBG_ERR_NOMEM);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 128); /* unchanged on failure */
    free(a);
}

static void test_error_slot(void **state)
{
    (void)state;
    dbg_err_clear();
    assert_int_equal(dbg_err_code(), DBG_OK);
    dbg_err_set(DBG_ERR_PARSE, "catalog.yaml:%d:%d: level 6 is not 1..4", 41, 3);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    assert_string_equal(dbg_err_msg(), "catalog.yaml:41:3: level 6 is not 1..4");
    assert_non_null(strstr(dbg_err_last()->src_file, "test_util.c"));
    assert_string_equal(dbg_strerror(DBG_ERR_PARSE), "parse error");
}

static void test_buf_limit(void **state)
{
    (void)state;
    dbg_buf b;
    dbg_buf_init(&b, 8);
    assert_int_equal(dbg_buf_adds(&b, "abcd"), 0);
    assert_int_equal(dbg_buf_printf(&b, "%d", 1234), 0);
    assert_string_equal(b.data, "abcd1234");
    assert_int_equal(dbg_buf_adds(&b, "x"), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_string_equal(b.data, "abcd1234");
    dbg_buf_free(&b);
}

static void test_time_roundtrip(void **state)
{
    (void)state;
    char buf[40];
    dbg_time_rfc3339(1764032523123456LL, buf, sizeof(buf));
    assert_string_equal(buf, "2025-11-25T01:02:03.123456Z");
    int64_t us = 0;
    assert_int_equal(dbg_time_parse_rfc3339(buf, &us), 0);
    assert_true(us == 1764032523123456LL);
    assert_int_equal(dbg_time_parse_rfc3339("2025-11-25T09:02:03+08:00", &us), 0);
    assert_true(us == 1764032523000000LL);
    assert_int_equal(dbg_time_parse_rfc3339("yesterday", &us), -1);
}

/* Each case is copied to the heap so that a read past its NUL shows under ASan. */
static int parse_on_heap(const char *text, int64_t *us)
{
    char *copy = strdup(text);
    assert_non_null(copy);
    int r = dbg_time_parse_rfc3339(copy, us);
    free(copy);
    return r;
}

static void test_time_parse_strict(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "2000-01-01T00:00:00+1:2",
        "2000-01-01T00:00:00+01:2",
        "2000-01-01T00:00:00+01:",
        "2000-01-01T00:00:00+01",
        "2000-01-01T00:00:00+",
        "2000-01-01T00:00:00+0100",
        "2000-01-01T00:00:00+ 1:02",
        "2000-01-01T00:00:00+24:00",
        "2000-01-01T00:00:00-01:60",
        "2000-01-01T00:00:00+01:00x",
        "2000-01-01T00:00:00.Z",
        "2000-1-01T00:00:00Z",
        "2000-01-01T0:00:00Z",
        " 2000-01-01T00:00:00Z",
        "2000-01-1",
        "2000-01-01T",
        "2000",
        "",
        "2026-02-29",
        "2026-02-30T00:00:00Z",
        "2026-04-31T10:00:00Z",
        "1900-02-29T00:00:00Z",
        "2025-02-06T00:00:61z",
        "9999-12-31T23:59:59.9-23:59", /* year 10000 in UTC: written with 5 digits */
        "0000-01-01T00:00:00+00:01",   /* year -1 */
    };
    int64_t us = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse_on_heap(bad[i], &us) != -1)
            fail_msg("'%s' was accepted", bad[i]);
    assert_int_equal(parse_on_heap("2000-01-01T00:00:00-23:59", &us), 0);
    assert_true(us == 946684800000000LL + (23 * 3600 + 59 * 60) * 1000000LL);
    assert_int_equal(parse_on_heap("2000-01-01T00:00:00.5+00:30", &us), 0);
    assert_true(us == 946684800000000LL - 1800 * 1000000LL + 500000);
    assert_int_equal(parse_on_heap("2024-02-29T00:00:00Z", &us), 0); /* leap years */
    assert_int_equal(parse_on_heap("2000-02-29", &us), 0);
    assert_int_equal(parse_on_heap("2016-12-31T23:59:60Z", &us), 0); /* a leap second */
    assert_int_equal(parse_on_heap("2000-01-02", &us), 0);
    assert_true(us == 946684800000000LL + 86400 * 1000000LL);
    /* the first and last moments dbg_time_rfc3339 writes with four year digits read back */
    static const char *const ends[] = {"0000-01-01T00:00:00.000000Z", "9999-12-31T23:59:59.999999Z"};
    for (size_t i = 0; i < 2; i++) {
        char buf[40];
        assert_int_equal(parse_on_heap(ends[i], &us), 0);
        dbg_time_rfc3339(us, buf, sizeof(buf));
        assert_string_equal(buf, ends[i]);
    }
    assert_int_equal(parse_on_heap("9999-12-31T23:59:59-00:01", &us), -1);
    assert_string_equal(dbg_err_msg(), "'9999-12-31T23:59:59-00:01' is outside "
                                       "0000-01-01T00:00:00Z..9999-12-31T23:59:59Z");
}

/* A time without a zone was taken as UTC: 07:30 typed in Beijing was 15:30 there. Refused, saying
 * what to add; EVE timestamps written by other programs keep being taken. */
static void test_time_parse_zone(void **state)
{
    (void)state;
    const int64_t utc_0730 = 1795591800000000LL; /* 2026-11-25T07:30:00Z */
    int64_t us = 0;
    assert_int_equal(parse_on_heap("2026-11-25T07:30:00", &us), -1);
    assert_string_equal(dbg_err_msg(), "'2026-11-25T07:30:00' has no UTC offset: add Z for UTC or "
                                       "+08:00 for Beijing time (2026-11-25T07:30:00+08:00)");
    assert_int_equal(parse_on_heap("2026-11-25T07:30:00.5", &us), -1);
    assert_non_null(strstr(dbg_err_msg(), "has no UTC offset"));
    assert_int_equal(parse_on_heap("2026-11-25T07:30:00Z", &us), 0);
    assert_true(us == utc_0730);
    assert_int_equal(parse_on_heap("2026-11-25T15:30:00+08:00", &us), 0);
    assert_true(us == utc_0730);
    assert_int_equal(parse_on_heap("2026-11-25T15:30:00+0800", &us), -1); /* as before */
    assert_int_equal(parse_on_heap("2026-11-25", &us), 0); /* a bare date: unchanged */
    assert_true(us == utc_0730 - (7 * 3600 + 1800) * 1000000LL);
    dbg_err_clear();

    /* EVE: Suricata's offset without a colon, and no zone as UTC (as ingest always took it) */
    assert_int_equal(dbg_time_parse_eve("2026-11-25T07:30:00", &us), 0);
    assert_true(us == utc_0730);
    assert_int_equal(dbg_time_parse_eve("2026-11-25T15:30:00.123456+0800", &us), 0);
    assert_true(us == utc_0730 + 123456);
    assert_int_equal(dbg_time_parse_eve("2026-11-25T07:30:00.123456+0000", &us), 0);
    assert_true(us == utc_0730 + 123456);
    assert_int_equal(dbg_time_parse_eve("2026-11-25T02:30:00-0500", &us), 0);
    assert_true(us == utc_0730);
    assert_int_equal(dbg_time_parse_eve("2026-11-25T15:30:00+08:00", &us), 0);
    assert_true(us == utc_0730);
    assert_int_equal(dbg_time_parse_eve("2026-11-25T07:30:00Z", &us), 0);
    assert_true(us == utc_0730);
    static const char *const bad[] = {"2026-11-25T07:30:00+080",  "2026-11-25T07:30:00+08",
                                      "2026-11-25T07:30:00+0860", "2026-11-25T07:30:00+08000",
                                      "2026-11-25T07:30:00+",     "2026-11-25T07:30:00+08:0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *copy = strdup(bad[i]);
        assert_non_null(copy);
        if (dbg_time_parse_eve(copy, &us) != -1)
            fail_msg("EVE '%s' was accepted", bad[i]);
        free(copy);
    }
    dbg_err_clear();
}

static void test_hex_and_utf8(void **state)
{
    (void)state;
    uint8_t in[3] = {0x00, 0xab, 0xff}, out[3];
    char hex[7];
    dbg_hex_encode(in, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(dbg_hex_decode(hex, out, 3), 0);
    assert_memory_equal(in, out, 3);
    assert_int_equal(dbg_hex_decode("zz00ff", out, 3), -1);
    assert_int_equal(dbg_hex_value('F'), 15);
    assert_int_equal(dbg_hex_value('a'), 10);
    assert_int_equal(dbg_hex_value('g'), -1);
    dbg_buf m;
    dbg_buf_init(&m, 256);
    assert_int_equal(dbg_buf_add_markup(&m, "<a href=\"x\">'&'\x01\n</a>"), 0);
    assert_int_equal(dbg_buf_add_markup(&m, NULL), 0);
    assert_string_equal(m.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;\n&lt;/a&gt;");
    dbg_buf_free(&m);
    /* U+FFFE and U+FFFF are no XML characters either; U+FFFD and U+FFFC next to them are */
    dbg_buf_init(&m, 256);
    assert_int_equal(dbg_buf_add_markup(&m, "a\xef\xbf\xbe" "b\xef\xbf\xbf" "c\xef\xbf\xbd"
                                            "\xef\xbf\xbc|\xef\xbf"),
                     0);
    assert_string_equal(m.data, "abc\xef\xbf\xbd\xef\xbf\xbc|\xef\xbf");
    dbg_buf_free(&m);
    /* Terminal columns: CJK two each, ASCII and other scripts one, a cut sequence one a byte. */
    assert_int_equal(dbg_utf8_columns("财务-web1"), 9);
    assert_int_equal(dbg_utf8_columns("web-1"), 5);
    assert_int_equal(dbg_utf8_columns("Ünïcode"), 7);
    assert_int_equal(dbg_utf8_columns("ｗ\xf0\xa0\x80\x80"), 4); /* fullwidth w, U+20000 */
    assert_int_equal(dbg_utf8_columns("a\xe8\xb4"), 3);
    assert_int_equal(dbg_utf8_columns(NULL), 0);
    /* A bidi override in a VM name would reorder the cell it stands in: shown, not obeyed;
     * the characters just outside the ranges (U+2029, U+202F, U+2065, U+206A) and a cut
     * sequence pass as they are. */
    dbg_buf_init(&m, 256);
    assert_int_equal(dbg_buf_add_markup(&m, "vm\xe2\x80\xaegpj\xe2\x81\xa6x\xe2\x81\xa9|"
                                             "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa|\xe2\x80"),
                     0);
    assert_string_equal(m.data, "vm\\u202egpj\\u2066x\\u2069|"
                                "\xe2\x80\xa9\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa|\xe2\x80");
    dbg_buf_free(&m);
    const char *ok = "等保2.0";
    assert_true(dbg_utf8_valid(ok, strlen(ok)));
    assert_false(dbg_utf8_valid("\xc3\x28", 2));
    assert_false(dbg_utf8_valid("\xed\xa0\x80", 3)); /* surrogate */
    /* What snprintf leaves of a cut character is dropped; whole characters stay. */
    char cut[] = "ab\xe9\x97";
    dbg_utf8_trim_partial(cut);
    assert_string_equal(cut, "ab");
    char cut4[] = "x\xf0\x9f\x98";
    dbg_utf8_trim_partial(cut4);
    assert_string_equal(cut4, "x");
    char whole[] = "门户";
    dbg_utf8_trim_partial(whole);
    assert_string_equal(whole, "门户");
    char lead[] = "a\xc3";
    dbg_utf8_trim_partial(lead);
    assert_string_equal(lead, "a");
    char empty[] = "";
    dbg_utf8_trim_partial(empty);
    assert_string_equal(empty, "");
}

static void test_utf8_repair(void **state)
{
    (void)state;
    DBG_AUTOFREE char *fixed = dbg_utf8_sanitize("a\xff\xe7\xa7"
                                                 "b\xe7\xa7\x9f",
                                                 8);
    assert_string_equal(fixed, "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                               "b\xe7\xa7\x9f");
    assert_null(dbg_utf8_sanitize(NULL, 0));

    /* "租" is three bytes: 7 bytes hold two of them, never a third cut short. */
    char out[8];
    assert_int_equal(dbg_utf8_copy(out, sizeof(out), "\xe7\xa7\x9f\xe7\xa7\x9f\xe7\xa7\x9f"), 6);
    assert_string_equal(out, "\xe7\xa7\x9f\xe7\xa7\x9f");
    assert_int_equal(dbg_utf8_copy(out, sizeof(out), "ab\xc3"), 5);
    assert_string_equal(out, "ab\xef\xbf\xbd");
    assert_int_equal(dbg_utf8_copy(out, sizeof(out), NULL), 0);
    assert_string_equal(out, "");

    assert_int_equal(dbg_utf8_prefix("\xe7\xa7\x9f\xe7\xa7\x9f", 5), 3);
    assert_int_equal(dbg_utf8_prefix("\xe7\xa7\x9f\xe7\xa7\x9f", 6), 6);
    assert_int_equal(dbg_utf8_prefix("ab\xe7\xa7", 10), 2); /* already cut at the end */
    assert_int_equal(dbg_utf8_prefix("ab\xff", 10), 3);     /* invalid, not cut: kept */
    assert_int_equal(dbg_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4);
    assert_int_equal(dbg_utf8_seq_len("\xf0\x9f\x98\x80", 3), 0);
    assert_int_equal(dbg_utf8_seq_len("\xc0\x80", 2), 0); /* overlong */
}

/* What a terminal or viewer obeys without showing is shown as an escape: controls, and the
 * bidi overrides/isolates and line separators that reorder or break a line of a report. */
static void test_text_visible(void **state)
{
    (void)state;
    int failed = 0;
    assert_null(dbg_text_visible("租户 a-web-01 \xe2\x80\x94 ok", &failed)); /* em dash stays */
    assert_int_equal(failed, 0);
    DBG_AUTOFREE char *nl = dbg_text_visible("a\n  8.2.4.3b 符合\r", &failed);
    assert_string_equal(nl, "a\\n  8.2.4.3b 符合\\r");
    /* U+202E RLO, U+202A LRE, U+2066 LRI, U+2069 PDI, U+2028 LINE SEPARATOR */
    DBG_AUTOFREE char *bidi = dbg_text_visible("x\xe2\x80\xae"
                                               "abc\xe2\x80\xaa\xe2\x81\xa6"
                                               "d\xe2\x81\xa9\xe2\x80\xa8"
                                               "y",
                                               &failed);
    assert_non_null(bidi);
    assert_string_equal(bidi, "x\\u202eabc\\u202a\\u2066d\\u2069\\u2028y");
    /* Invisible format characters: "web1" and "web\u200b1" look the same raw. U+200B ZWSP,
     * U+200D ZWJ, U+200F RLM, U+2060 WJ, U+2064, U+206A, U+FEFF, U+00AD soft hyphen, U+061C,
     * U+E0041 TAG LATIN CAPITAL LETTER A (4 bytes). */
    DBG_AUTOFREE char *zw = dbg_text_visible("web\xe2\x80\x8b" "1 a\xe2\x80\x8d\xe2\x80\x8f"
                                             "b\xe2\x81\xa0\xe2\x81\xa4\xe2\x81\xaa"
                                             "c\xef\xbb\xbf\xc2\xad\xd8\x9c"
                                             "d\xf3\xa0\x81\x81" "e",
                                             &failed);
    assert_non_null(zw);
    assert_string_equal(zw, "web\\u200b1 a\\u200d\\u200fb\\u2060\\u2064\\u206ac\\ufeff\\u00ad"
                            "\\u061cd\\U000e0041e");
    /* the escapes are ASCII: a table padded by dbg_utf8_columns lines up (the raw ZWSP took
     * no column on the terminal but counted one) */
    assert_int_equal(dbg_utf8_columns(zw), strlen(zw));
    DBG_AUTOFREE char *wide = dbg_text_visible("\xe8\xb4\xa2\xe5\x8a\xa1\xe2\x80\x8b", &failed);
    assert_string_equal(wide, "\xe8\xb4\xa2\xe5\x8a\xa1\\u200b");
    assert_int_equal(dbg_utf8_columns(wide), 4 + 6);
    /* neighbours of the ranges are ordinary text: U+2027, U+202F, U+205F, U+2070, U+200A,
     * U+00AC, U+FEFE, U+E0080 */
    assert_null(dbg_text_visible("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\x9f\xe2\x81\xb0"
                                 "\xe2\x80\x8a\xc2\xac\xef\xbb\xbe\xf3\xa0\x82\x80",
                                 &failed));
    /* text around the escapes is kept whole: 财务, é */
    DBG_AUTOFREE char *mixed = dbg_text_visible("caf\xc3\xa9\x1b\xe8\xb4\xa2", &failed);
    assert_string_equal(mixed, "caf\xc3\xa9\\x1b\xe8\xb4\xa2");
    /* an invalid byte stays as it is, and does not hide the escape after it */
    DBG_AUTOFREE char *inval = dbg_text_visible("\xff\xe2\x80\x8b", &failed);
    assert_string_equal(inval, "\xff\\u200b");
    /* a sequence cut at the end of the string is not read past */
    assert_null(dbg_text_visible("a\xe2\x80", &failed));
    assert_int_equal(failed, 0);
}

static void test_parse_long(void **state)
{
    (void)state;
    long v;
    assert_int_equal(dbg_parse_long("42", 0, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(dbg_parse_long("42x", 0, 100, &v), -1);
    assert_int_equal(dbg_parse_long("101", 0, 100, &v), -1);
    /* strtol skips leading blanks; a number people write has none */
    assert_int_equal(dbg_parse_long(" 42", 0, 100, &v), -1);
    assert_int_equal(dbg_parse_long("0x10", 0, 100, &v), -1);
    assert_int_equal(dbg_parse_long("-", -100, 100, &v), -1);
    assert_int_equal(dbg_parse_long("-7", -100, 100, &v), 0);
    assert_int_equal(v, -7);
}

/* Decimal only: strtod also reads hex ("0x10" 16, "0x1p3" 8), inf, nan and leading blanks. */
static void test_parse_double(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "0x10", "0X1P3", "0x1p3", "inf", "-INF", "nan",  "infinity", " 5",  "5 ",    "5x", "",
        "1e",   "1e+",   "e5",    ".",   "-",    "+.e1", "1.5.2",    "1,5", "1e400", "\t1"};
    double d = -1;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (dbg_parse_double(refused[i], -1e9, 1e9, &d) != -1)
            fail_msg("'%s' read as %g", refused[i], d);
        assert_true(d == -1);
    }
    assert_int_equal(dbg_parse_double("0x10", 0, 100, &d), -1);
    assert_non_null(strstr(dbg_err_msg(), "'0x10'"));
    static const struct {
        const char *s;
        double v;
    } read[] = {{"16", 16},     {"-0.5", -0.5}, {".5", 0.5},    {"5.", 5},
                {"1.5e2", 150}, {"+2", 2},      {"1E-2", 0.01}, {"007", 7}};
    for (size_t i = 0; i < sizeof(read) / sizeof(read[0]); i++) {
        assert_int_equal(dbg_parse_double(read[i].s, -1e9, 1e9, &d), 0);
        assert_true(d == read[i].v);
    }
    assert_int_equal(dbg_parse_double("101", 0, 100, &d), -1);
}

/* An output path that is a FIFO (or /dev/null, /dev/stdout) is written through, not replaced
 * by a renamed file: "-o /dev/null" once turned the host's /dev/null into a regular file. */
static void test_write_atomic_through_fifo(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-util-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *fifo = dbg_path_join(dir, "out.fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so the writer's open succeeds */
    assert_true(rd >= 0);
    assert_int_equal(dbg_write_file_atomic(fifo, "abc", 3), 0);
    char buf[8] = "";
    assert_int_equal(read(rd, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    struct stat st;
    assert_int_equal(stat(fifo, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    close(rd);
    unlink(fifo);
    rmdir(dir);
}

static void test_file_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-util-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *sub = dbg_path_join(dir, "a/b");
    assert_int_equal(dbg_mkdir_p(sub, 0755), 0);
    DBG_AUTOFREE char *f = dbg_path_join(sub, "x.txt");
    assert_int_equal(dbg_write_file_atomic(f, "hello", 5), 0);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(f, 100, &data, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    assert_int_equal(dbg_read_file(f, 3, &data, &len), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_int_equal(dbg_read_file("/nonexistent/zz", 3, &data, &len), -1);
    assert_non_null(strstr(dbg_err_msg(), "/nonexistent/zz"));
    unlink(f);
    DBG_AUTOFREE char *dirb = dbg_path_join(dir, "a/b");
    rmdir(dirb);
    DBG_AUTOFREE char *dira = dbg_path_join(dir, "a");
    rmdir(dira);
    rmdir(dir);
}

/* A host's path resolved inside a copy of its root: absolute links from the root, ".." never
 * above it, a loop an error, /dev/null (a systemd mask) itself, a final link kept on request. */
static void test_path_in_root(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-util-root-XXXXXX";
    assert_non_null(mkdtemp(root));
    DBG_AUTOFREE char *etc = dbg_path_join(root, "etc/alt");
    assert_int_equal(dbg_mkdir_p(etc, 0755), 0);
    DBG_AUTOFREE char *real = dbg_path_join(root, "etc/alt/login.defs");
    assert_int_equal(dbg_write_file_atomic(real, "x", 1), 0);
    static const struct {
        const char *link, *target;
    } links[] = {
        {"etc/login.defs", "/etc/alt/login.defs"}, /* absolute: from the root */
        {"etc/up", "../../../../../../etc/alt"},   /* ".." stops at the root */
        {"etc/loop", "/etc/loop"},                 /* itself */
        {"etc/mask.socket", "/dev/null"},          /* systemd's mask */
        {"etc/dirlink", "/etc/alt"},               /* a directory on the way */
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        DBG_AUTOFREE char *l = dbg_path_join(root, links[i].link);
        assert_int_equal(symlink(links[i].target, l), 0);
    }
    char *out = NULL;
    assert_int_equal(dbg_path_in_root(root, "/etc/login.defs", 1, &out), 0);
    assert_string_equal(out, real);
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/etc/dirlink/login.defs", 1, &out), 0);
    assert_string_equal(out, real);
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/etc/up/login.defs", 1, &out), 0);
    assert_string_equal(out, real);
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/../../etc/./alt//login.defs", 1, &out), 0);
    assert_string_equal(out, real);
    free(out);
    /* not followed at the end: the link itself, for lstat */
    DBG_AUTOFREE char *link = dbg_path_join(root, "etc/login.defs");
    assert_int_equal(dbg_path_in_root(root, "/etc/login.defs", 0, &out), 0);
    assert_string_equal(out, link);
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/etc/mask.socket", 1, &out), 0);
    assert_string_equal(out, "/dev/null");
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/etc/loop", 1, &out), -1);
    assert_int_equal(errno, ELOOP);
    assert_null(out);
    /* an absent component: the rest as written, still under the root */
    DBG_AUTOFREE char *absent = dbg_path_join(root, "etc/none/../../x");
    assert_int_equal(dbg_path_in_root(root, "/etc/none/../../x", 1, &out), 0);
    assert_string_equal(out, absent);
    free(out);
    assert_int_equal(dbg_path_in_root(root, "/", 1, &out), 0);
    assert_string_equal(out, root);
    free(out);
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        DBG_AUTOFREE char *l = dbg_path_join(root, links[i].link);
        unlink(l);
    }
    unlink(real);
    rmdir(etc);
    DBG_AUTOFREE char *etc0 = dbg_path_join(root, "etc");
    rmdir(etc0);
    rmdir(root);
}

static void *count_run(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return NULL;
}

static void test_run_on_threads(void **state)
{
    (void)state;
    assert_true(dbg_online_cores(0) >= 1);
    assert_int_equal(dbg_online_cores(1), 1);
    const int want[][2] = {{1, 1}, {0, 1}, {3, 3}, {64, 64}, {100, 64}};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        atomic_int runs;
        atomic_init(&runs, 0);
        assert_int_equal(dbg_run_on_threads(count_run, &runs, want[i][0]), want[i][1]);
        assert_int_equal(atomic_load(&runs), want[i][1]);
    }
}

/* dbg_datadir_find: this test runs from the build directory, so the source tree's data/, and
 * $DENGBAO_DATADIR over it as given. */
static void test_datadir_find(void **state)
{
    const char *how = NULL;
    unsetenv("DENGBAO_DATADIR");
    char *d = dbg_datadir_find(&how);
    assert_non_null(d);
    assert_string_equal(d, DBG_SOURCE_DATADIR);
    assert_non_null(strstr(how, "build directory"));
    free(d);
    d = dbg_datadir_join("grade/grade.yaml");
    assert_non_null(d);
    assert_string_equal(d, DBG_SOURCE_DATADIR "/grade/grade.yaml");
    free(d);
    setenv("DENGBAO_DATADIR", "/nonexistent/dengbao-data", 1);
    d = dbg_datadir_find(&how);
    assert_string_equal(d, "/nonexistent/dengbao-data");
    assert_string_equal(how, "$DENGBAO_DATADIR");
    free(d);
    setenv("DENGBAO_DATADIR", "", 1); /* empty: as unset */
    d = dbg_datadir_find(NULL);
    assert_string_equal(d, DBG_SOURCE_DATADIR);
    free(d);
    unsetenv("DENGBAO_DATADIR");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grow_array),
        cmocka_unit_test(test_error_slot),
        cmocka_unit_test(test_buf_limit),
        cmocka_unit_test(test_time_roundtrip),
        cmocka_unit_test(test_time_parse_strict),
        cmocka_unit_test(test_time_parse_zone),
        cmocka_unit_test(test_hex_and_utf8),
        cmocka_unit_test(test_utf8_repair),
        cmocka_unit_test(test_text_visible),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_parse_double),
        cmocka_unit_test(test_file_roundtrip),
        cmocka_unit_test(test_write_atomic_through_fifo),
        cmocka_unit_test(test_run_on_threads),
        cmocka_unit_test(test_path_in_root),
        cmocka_unit_test(test_datadir_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
