/* Unit tests for src/grade: all 9 x 9 combinations of the two dimensions for both matrices,
 * against tables written out here independently of data/grade/grade.yaml; words, duties and
 * malformed tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/grade.h"
#include "dengbao/util.h"

/* GB/T 22240-2020 Table 1 (published) and the 2018 draft as shown in the reference deck:
 * rows citizen/legal persons, social order & public interest, national security; columns
 * 一般损害, 严重损害, 特别严重损害. */
static const int published[3][3] = {{1, 2, 2}, {2, 3, 4}, {3, 4, 5}};
static const int draft[3][3] = {{1, 2, 3}, {2, 3, 4}, {3, 4, 5}};
static const char *const objects_en[3] = {"citizen", "society", "nation"};
static const char *const objects_zh[3] = {"公民、法人和其他组织的合法权益", "社会秩序、公共利益",
                                          "国家安全"};
static const char *const degrees_en[3] = {"general", "serious", "especially-serious"};
static const char *const degrees_zh[3] = {"一般损害", "严重损害", "特别严重损害"};

static dbg_grade_tables *load_shipped(void)
{
    const char *src = getenv("DBG_SRCDIR");
    DBG_AUTOFREE char *path = dbg_path_join(src && *src ? src : ".", "data/grade/grade.yaml");
    dbg_grade_tables *t = dbg_grade_load(path);
    if (!t)
        print_error("load failed: %s\n", dbg_err_msg());
    return t;
}

static void run_all_81(const dbg_grade_tables *t, const char *matrix, const int table[3][3],
                       const char *const *objs, const char *const *degs)
{
    int combos = 0;
    for (int bo = 0; bo < 3; bo++)
        for (int bd = 0; bd < 3; bd++)
            for (int so = 0; so < 3; so++)
                for (int sd = 0; sd < 3; sd++) {
                    dbg_grade_result r;
                    assert_int_equal(
                        dbg_grade_decide(t, matrix, objs[bo], degs[bd], objs[so], degs[sd], &r), 0);
                    int want_b = table[bo][bd], want_s = table[so][sd];
                    assert_int_equal(r.business_level, want_b);
                    assert_int_equal(r.service_level, want_s);
                    assert_int_equal(r.level, want_b > want_s ? want_b : want_s);
                    assert_string_equal(r.business_object, objects_en[bo]);
                    assert_string_equal(r.service_degree, degrees_en[sd]);
                    assert_string_equal(r.matrix->id, matrix ? matrix : "gb22240-2020");
                    combos++;
                }
    assert_int_equal(combos, 81);
}

static void test_published_matrix_81(void **state)
{
    (void)state;
    dbg_grade_tables *t = load_shipped();
    assert_non_null(t);
    run_all_81(t, "gb22240-2020", published, objects_en, degrees_en);
    run_all_81(t, NULL, published, objects_en, degrees_en); /* the default */
    run_all_81(t, "gb22240-2020", published, objects_zh, degrees_zh);
    dbg_grade_free(t);
}

static void test_draft_matrix_81(void **state)
{
    (void)state;
    dbg_grade_tables *t = load_shipped();
    assert_non_null(t);
    run_all_81(t, "draft-2018", draft, objects_en, degrees_en);
    run_all_81(t, "draft-2018", draft, objects_zh, degrees_zh);
    dbg_grade_free(t);
}

static void test_words(void **state)
{
    (void)state;
    dbg_grade_tables *t = load_shipped();
    assert_non_null(t);
    assert_string_equal(dbg_grade_object_id(t, "公民"), "citizen");
    assert_string_equal(dbg_grade_object_id(t, "法人"), "citizen");
    assert_string_equal(dbg_grade_object_id(t, "社会秩序"), "society");
    assert_string_equal(dbg_grade_object_id(t, "公共利益"), "society");
    assert_string_equal(dbg_grade_object_id(t, "国家安全"), "nation");
    assert_string_equal(dbg_grade_degree_id(t, "特别严重"), "especially-serious");
    assert_null(dbg_grade_object_id(t, "alien"));
    assert_null(dbg_grade_degree_id(t, "catastrophic"));
    dbg_grade_result r;
    assert_int_equal(dbg_grade_decide(t, NULL, "alien", "general", "citizen", "general", &r), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_USAGE);
    assert_non_null(strstr(dbg_err_msg(), "unknown object 'alien'"));
    assert_non_null(strstr(dbg_err_msg(), "citizen"));
    assert_non_null(strstr(dbg_err_msg(), "国家安全"));
    assert_int_equal(dbg_grade_decide(t, NULL, "citizen", "general", "citizen", "huge", &r), -1);
    assert_non_null(strstr(dbg_err_msg(), "unknown degree 'huge'"));
    assert_non_null(strstr(dbg_err_msg(), "特别严重损害"));
    assert_int_equal(dbg_grade_decide(t, "gb22239", "citizen", "general", "citizen", "general", &r),
                     -1);
    assert_non_null(strstr(dbg_err_msg(), "draft-2018"));
    dbg_grade_free(t);
}

static int has_duty(const dbg_grade_tables *t, int level, const char *id)
{
    const dbg_grade_duty *d[64];
    size_t n = dbg_grade_duties(t, level, d, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        assert_true(strlen(d[i]->source) > 0);
        if (!strcmp(d[i]->id, id))
            return 1;
    }
    return 0;
}

static void test_duties(void **state)
{
    (void)state;
    dbg_grade_tables *t = load_shipped();
    assert_non_null(t);
    assert_true(has_duty(t, 1, "self-protection"));
    assert_false(has_duty(t, 1, "filing"));
    assert_true(has_duty(t, 1, "log-retention"));
    for (int l = 2; l <= 5; l++) {
        assert_true(has_duty(t, l, "expert-review"));
        assert_true(has_duty(t, l, "filing"));
        assert_true(has_duty(t, l, "pass-score") == (l < 5));
        assert_true(has_duty(t, l, "log-retention"));
    }
    assert_true(has_duty(t, 3, "assessment-yearly"));
    assert_false(has_duty(t, 3, "assessment-half-yearly"));
    assert_true(has_duty(t, 4, "assessment-half-yearly"));
    assert_false(has_duty(t, 2, "assessment-yearly"));
    /* an attestation's age limit follows the assessment period: yearly at 3, half-yearly at
     * 4, dengbao's two years at 2 (no legal period), none at 1 and 5 */
    assert_int_equal(dbg_grade_attest_max_age_days(t, 1), 0);
    assert_int_equal(dbg_grade_attest_max_age_days(t, 2), 731);
    assert_int_equal(dbg_grade_attest_max_age_days(t, 3), 366);
    assert_int_equal(dbg_grade_attest_max_age_days(t, 4), 184);
    assert_int_equal(dbg_grade_attest_max_age_days(t, 5), 0);
    const dbg_grade_duty *rule = dbg_grade_hosts_rule(t);
    assert_non_null(rule);
    assert_non_null(strstr(rule->source, "8.2.2.1"));
    dbg_grade_free(t);
}

static void test_malformed_tables(void **state)
{
    (void)state;
    static const char head[] = "objects:\n"
                               "  a: {label: A, words: [aa]}\n"
                               "degrees:\n"
                               "  x: {label: X}\n";
    struct {
        const char *tail, *want;
    } cases[] = {
        {"matrices:\n  m: {table: {a: {x: 6}}}\n",
         "t.yaml:6:22: a level must be an integer 1..5, not '6'"},
        {"matrices:\n  m: {table: {}}\n", "t.yaml:6:14: table has no row for 'a'"},
        {"matrices:\n  m: {table: {a: {x: 1}}, colour: red}\n",
         "t.yaml:6:27: unknown key 'colour' in a matrix (allowed: default, title, source, "
         "verified, table)"},
        {"matrices:\n  m: {table: {a: {y: 1}}}\n", "t.yaml:6:19: 'y' is not a degree id"},
        {"matrices: [1]\n", "t.yaml:5:11: matrices must be a mapping, not a list"},
        {"matrices:\n  m: {table: {a: {x: 1}}}\nduties:\n  - {levels: [3], text: t, source: s, "
         "attest_max_age_days: 0}\n",
         "t.yaml:8:60: attest_max_age_days must be an integer 1..36500, not '0'"},
    };
    /* an entry that is not a mapping (a file cut after 'a:') is named, not its section */
    static const char cut[] = "objects:\n  a:\ndegrees:\n  x: {label: X}\n";
    dbg_grade_tables *c = dbg_grade_load_buffer("t.yaml", cut, strlen(cut));
    if (c)
        dbg_grade_free(c);
    assert_null(c);
    assert_string_equal(dbg_err_msg(), "t.yaml:2:5: objects.a must be a mapping, not a scalar");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        DBG_AUTOFREE char *doc = dbg_asprintf("%s%s", head, cases[i].tail);
        dbg_grade_tables *t = dbg_grade_load_buffer("t.yaml", doc, strlen(doc));
        if (t)
            dbg_grade_free(t);
        assert_null(t);
        assert_string_equal(dbg_err_msg(), cases[i].want);
    }
    /* Bytes libyaml's reader refuses (bad UTF-8, a control character) were all put at 1:1,
     * wherever they were: libyaml gives only their offset. Lengths are explicit (NUL, UTF-16). */
    static const struct {
        const char *doc;
        size_t len;
        const char *want;
    } bytes[] = {
        {"objects:\n  a: {label: caf\xc3\x28}\n", 29,
         "t.yaml:2:17: YAML syntax error: invalid trailing UTF-8 octet"},
        {"objects:\r\n  \xe4\xb8\xad: {label: \xe6\x96\x87\x01}\n", 31,
         "t.yaml:2:15: YAML syntax error: control characters are not allowed"},
        {"a: 1\rb: 2\n\xc2\x85"
         "c: \x00\n",
         17, "t.yaml:4:4: YAML syntax error: control characters are not allowed"},
        {"\xef\xbb\xbf"
         "a: [\x7f]\n",
         10, "t.yaml:1:5: YAML syntax error: control characters are not allowed"},
        {"\xff\xfe"
         "a\0:\0 \0\x3d\xd8\0\xde\n\0"
         "b\0:\0 \0\x01\0",
         22, "t.yaml:2:4: YAML syntax error: control characters are not allowed"},
        {"\xfe\xff\0"
         "a\0:\0 \xd8\x3d\0"
         "x",
         12, "t.yaml:1:4: YAML syntax error: expected low surrogate area"},
        /* cut short without a last line break: named at the end of the last line, not at 3:1 */
        {"objects:\n  a: {label: A, wo", 27,
         "t.yaml:2:19: YAML syntax error: did not find expected ',' or '}' while parsing a flow "
         "mapping"},
    };
    for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
        dbg_grade_tables *t = dbg_grade_load_buffer("t.yaml", bytes[i].doc, bytes[i].len);
        if (t)
            dbg_grade_free(t);
        assert_null(t);
        assert_string_equal(dbg_err_msg(), bytes[i].want);
    }
    DBG_AUTOFREE char *ok = dbg_asprintf("%smatrices:\n  m: {table: {a: {x: 4}}}\n", head);
    dbg_grade_tables *t = dbg_grade_load_buffer("t.yaml", ok, strlen(ok));
    assert_non_null(t);
    dbg_grade_result r;
    assert_int_equal(dbg_grade_decide(t, NULL, "aa", "x", "a", "x", &r), 0);
    assert_int_equal(r.level, 4);
    dbg_grade_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_matrix_81),
        cmocka_unit_test(test_draft_matrix_81),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_duties),
        cmocka_unit_test(test_malformed_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
