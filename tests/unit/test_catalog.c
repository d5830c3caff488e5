/* Unit tests for src/catalog: the shipped catalog loads cleanly with the counts of GB/T 22239,
 * lookups by id and clause across levels, and every malformed fixture in tests/cases/catalog/
 * fails with its expected "file:line:column: what" (first line "# expect: ..."). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/catalog.h"
#include "dengbao/checks.h"
#include "dengbao/util.h"

static char *src_path(const char *rel)
{
    const char *src = getenv("DBG_SRCDIR");
    return dbg_path_join(src && *src ? src : ".", rel);
}

static dbg_catalog *load_shipped(const dbg_catalog_opts *opts)
{
    DBG_AUTOFREE char *dir = src_path("data/catalog");
    dbg_catalog *cat = dbg_catalog_load(dir, opts);
    if (!cat)
        print_error("load failed: %s\n", dbg_err_msg());
    return cat;
}

static int check_calls;
/* The shipped catalog names checks of the assess module's registry (src/checks/registry.c). */
static int registered_check_exists(const char *id, void *opaque)
{
    check_calls++;
    return dbg_check_exists(id, opaque);
}

static void test_shipped_loads_clean(void **state)
{
    (void)state;
    dbg_catalog_opts opts = {.check_exists = registered_check_exists, .unknown_check_is_error = 1};
    dbg_err_clear();
    check_calls = 0;
    dbg_catalog *cat = load_shipped(&opts);
    assert_non_null(cat);
    assert_int_equal(dbg_err_code(), DBG_OK);
    assert_int_equal(dbg_catalog_warning_count(cat), 0);
    assert_true(check_calls > 0); /* items with checks were validated against the registry */
    for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        char want[96];
        snprintf(want, sizeof(want), "L%d-%s-%s", it->level, dbg_extension_name(it->extension),
                 it->clause);
        assert_string_equal(it->id, want);
        assert_true(it->level >= 1 && it->level <= 4);
        assert_int_equal(it->clause[0] - '0', it->level + 5);
        assert_true(strlen(it->text) > 0 && strlen(it->layer) > 0 && strlen(it->control_point) > 0);
        assert_non_null(it->remediation);
        /* --lang en reports show it; the shipped catalog leaves no item in Chinese only. */
        assert_non_null(it->remediation_en);
        assert_true(strlen(it->remediation_en) > 0);
        assert_true(it->n_objects > 0);
        assert_true(it->weight > 0);
        for (size_t k = 0; k < it->n_checks; k++)
            assert_true(dbg_check_exists(it->checks[k], NULL));
        if (!it->verified)
            assert_non_null(it->note); /* unverified items say why */
    }
    dbg_catalog_free(cat);
}

static size_t count_where(const dbg_catalog *cat, int level, int ext, const char *prefix)
{
    size_t n = 0;
    for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if (it->level == level && (ext < 0 || (int)it->extension == ext) &&
            (!prefix || !strncmp(it->clause, prefix, strlen(prefix))))
            n++;
    }
    return n;
}

static void test_counts(void **state)
{
    (void)state;
    dbg_catalog *cat = load_shipped(NULL);
    assert_non_null(cat);
    /* Cloud extension: 46 at level 3 (8.2.1.1 ... 8.2.7.1), 49 at level 4 (+ 网络架构 f, g, h). */
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, NULL), 46);
    assert_int_equal(count_where(cat, 4, DBG_EXT_CLOUD, NULL), 49);
    assert_int_equal(count_where(cat, 2, DBG_EXT_CLOUD, NULL), 28);
    assert_int_equal(count_where(cat, 1, DBG_EXT_CLOUD, NULL), 12);
    /* GB/T 28448 test-ID counts for level 3: PES2 1, CNS2 5, ABS2 8, CES2 19. */
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.1."), 1);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.2."), 5);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.3."), 8);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.4."), 19);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.5."), 4);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.6."), 8);
    assert_int_equal(count_where(cat, 3, DBG_EXT_CLOUD, "8.2.7."), 1);
    assert_int_equal(count_where(cat, 4, DBG_EXT_CLOUD, "9.2.2."), 8);
    /* General level 3: 8.1.2 = 8, 8.1.3 = 20 (L3-ABS1), 8.1.4 = 34 (L3-CES1), 8.1.5 = 12 (L3-SMC1).
     */
    assert_int_equal(count_where(cat, 3, DBG_EXT_GENERAL, "8.1.2."), 8);
    assert_int_equal(count_where(cat, 3, DBG_EXT_GENERAL, "8.1.3."), 20);
    assert_int_equal(count_where(cat, 3, DBG_EXT_GENERAL, "8.1.4."), 34);
    assert_int_equal(count_where(cat, 3, DBG_EXT_GENERAL, "8.1.5."), 12);
    assert_int_equal(count_where(cat, 3, DBG_EXT_GENERAL, NULL), 74);
    for (int l = 1; l <= 4; l++) {
        if (l != 3)
            assert_int_equal(count_where(cat, l, DBG_EXT_GENERAL, NULL), 0);
    }
    dbg_catalog_free(cat);
}

static void test_find(void **state)
{
    (void)state;
    dbg_catalog *cat = load_shipped(NULL);
    assert_non_null(cat);
    const dbg_item *it = dbg_catalog_find(cat, "L3-cloud-8.2.4.3b", 0);
    assert_non_null(it);
    assert_string_equal(it->clause, "8.2.4.3b");
    assert_string_equal(it->control_point, "入侵防范");
    assert_string_equal(it->text, "应能检测非授权新建虚拟机或者重新启用虚拟机，并进行告警。");
    assert_string_equal(it->objects[0], "云管理平台或相关组件");
    assert_int_equal(it->resp_iaas, DBG_RESP_PROVIDER);
    assert_true(it->high_risk);
    assert_ptr_equal(dbg_catalog_find(cat, "8.2.4.3b", 3), it);
    assert_ptr_equal(dbg_catalog_find(cat, "8.2.4.3 b)", 0), it);
    assert_ptr_equal(dbg_catalog_find(cat, "8.2.4.3.B", 0), it);
    /* The same requirement at level 4 via the level-3 clause, and back. */
    const dbg_item *l4 = dbg_catalog_find(cat, "8.2.4.3b", 4);
    assert_non_null(l4);
    assert_string_equal(l4->id, "L4-cloud-9.2.4.3b");
    assert_string_equal(l4->text, it->text);
    assert_ptr_equal(dbg_catalog_sibling(cat, l4, 3), it);
    /* Not at level 2: the cloud 入侵防范 of 计算环境 is new at level 3. */
    assert_null(dbg_catalog_find(cat, "8.2.4.3b", 2));
    /* Wording differs per level: 8.2.4.5c. */
    const dbg_item *l2 = dbg_catalog_find(cat, "8.2.4.5c", 2);
    assert_non_null(l2);
    assert_string_equal(l2->clause, "7.2.4.3c");
    assert_null(strstr(l2->text, "校验码"));
    assert_non_null(strstr(dbg_catalog_find(cat, "8.2.4.5c", 3)->text, "校验码或密码技术"));
    assert_false(l2->verified); /* level-2 numbering is derived */
    assert_non_null(l2->note);
    /* 8.2.2.1a at level 1 is flagged unverified. */
    const dbg_item *l1 = dbg_catalog_find(cat, "8.2.2.1a", 1);
    assert_non_null(l1);
    assert_string_equal(l1->id, "L1-cloud-6.2.2.1a");
    assert_false(l1->verified);
    /* Weights come from scoring.yaml's classes. */
    assert_string_equal(it->importance, "key");
    assert_true(it->weight == 1.0);
    const dbg_item *gen = dbg_catalog_find(cat, "L3-general-8.1.4.3d", 0);
    assert_non_null(gen);
    assert_true(gen->weight == 0.5);
    assert_null(dbg_catalog_find(cat, "8.9.9.9", 0));
    assert_null(dbg_catalog_find(cat, "L3-cloud-nope", 0));
    dbg_catalog_free(cat);
}

/* Every fixture under tests/cases/catalog/ declares the message it must produce. */
static void test_malformed_fixtures(void **state)
{
    (void)state;
    DBG_AUTOFREE char *dir = src_path("tests/cases/catalog");
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int cases = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strstr(e->d_name, ".yaml"))
            continue;
        DBG_AUTOFREE char *path = dbg_path_join(dir, e->d_name);
        DBG_AUTOFREE char *data = NULL;
        size_t len;
        assert_int_equal(dbg_read_file(path, 1 << 20, &data, &len), 0);
        assert_true(!strncmp(data, "# expect: ", 10));
        char *nl = strchr(data, '\n');
        assert_non_null(nl);
        *nl = '\0';
        /* "@PATH@" in an expectation stands for the fixture's own path. */
        dbg_buf want;
        dbg_buf_init(&want, 0);
        assert_int_equal(dbg_buf_printf(&want, "%s:", path), 0);
        for (const char *p = data + 10; *p;) {
            const char *at = strstr(p, "@PATH@");
            size_t n = at ? (size_t)(at - p) : strlen(p);
            assert_int_equal(dbg_buf_add(&want, p, n), 0);
            if (!at)
                break;
            assert_int_equal(dbg_buf_adds(&want, path), 0);
            p = at + 6;
        }
        dbg_err_clear();
        dbg_catalog *cat = dbg_catalog_load(path, NULL);
        if (cat || strcmp(dbg_err_msg(), want.data))
            print_error("fixture %s:\n  want %s\n  got  %s\n", e->d_name, want.data,
                        cat ? "(loaded)" : dbg_err_msg());
        assert_null(cat);
        assert_string_equal(dbg_err_msg(), want.data);
        dbg_buf_free(&want);
        cases++;
    }
    closedir(d);
    assert_true(cases >= 10);
}

static const char good[] = "schema: 1\n"
                           "extension: cloud\n"
                           "importance: {key: {weight: 2.5}}\n"
                           "requirements:\n"
                           "  - levels: {2: 7.2.4.3c, 3: 8.2.4.5c}\n"
                           "    layer: 安全计算环境\n"
                           "    control_point: 数据完整性和保密性\n"
                           "    text: {2: two, 3: three}\n"
                           "    responsibility: {iaas: shared, paas: provider, saas: tenant}\n"
                           "    weight: key\n"
                           "    checks: [compute.migration-tls, compute.unknown]\n";

static int only_tls(const char *id, void *opaque)
{
    (void)opaque;
    return !strcmp(id, "compute.migration-tls");
}

static void test_buffer_and_check_ids(void **state)
{
    (void)state;
    dbg_catalog *cat = dbg_catalog_load_buffer("mem.yaml", good, strlen(good), NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_count(cat), 2);
    const dbg_item *a = dbg_catalog_item(cat, 0), *b = dbg_catalog_item(cat, 1);
    assert_string_equal(a->id, "L2-cloud-7.2.4.3c");
    assert_string_equal(a->text, "two");
    assert_string_equal(b->text, "three");
    assert_string_equal(a->requirement, b->requirement);
    assert_int_equal(a->resp_iaas, DBG_RESP_SHARED);
    assert_int_equal(a->resp_saas, DBG_RESP_TENANT);
    assert_true(a->weight == 2.5);
    assert_int_equal(a->n_checks, 2);
    assert_string_equal(a->src_file, "mem.yaml");
    assert_int_equal(a->src_line, 5);
    dbg_catalog_free(cat);

    /* Unknown check ids: a warning by default, an error when asked. */
    dbg_catalog_opts warn = {.check_exists = only_tls};
    cat = dbg_catalog_load_buffer("mem.yaml", good, strlen(good), &warn);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_warning_count(cat), 2); /* one per level item */
    dbg_catalog_free(cat);
    dbg_catalog_opts strict = {.check_exists = only_tls, .unknown_check_is_error = 1};
    assert_null(dbg_catalog_load_buffer("mem.yaml", good, strlen(good), &strict));
    assert_string_equal(
        dbg_err_msg(),
        "mem.yaml:5:5: L2-cloud-7.2.4.3c: check 'compute.unknown' is not registered");

    /* Empty input is an empty catalog, not an error; a bare scalar is. */
    cat = dbg_catalog_load_buffer("empty.yaml", "", 0, NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_count(cat), 0);
    dbg_catalog_free(cat);
    /* Deep nesting is refused before libyaml's O(depth) per token scanner gets slow. */
    char deep[4001];
    memset(deep, '[', 4000);
    deep[4000] = '\0';
    int64_t t0 = dbg_monotonic_us();
    assert_null(dbg_catalog_load_buffer("deep.yaml", deep, 4000, NULL));
    assert_string_equal(dbg_err_msg(), "deep.yaml:1:33: nesting deeper than 32 levels");
    assert_true(dbg_monotonic_us() - t0 < 1000000);
    assert_null(dbg_catalog_load_buffer("s.yaml", "hello", 5, NULL));
    assert_string_equal(dbg_err_msg(),
                        "s.yaml:1:1: a catalog file must be a mapping, not a scalar");
}

/* remediation_en is optional: a catalog written before it loads (reports fall back to the
 * Chinese), and one that gives it carries it to every level's item. */
static void test_remediation_en(void **state)
{
    (void)state;
    static const char base[] = "schema: 1\n"
                               "extension: cloud\n"
                               "requirements:\n"
                               "  - levels: {3: 8.2.1.1, 4: 9.2.1.1}\n"
                               "    layer: 安全物理环境\n"
                               "    control_point: 基础设施位置\n"
                               "    text: 应保证云计算基础设施位于中国境内。\n"
                               "    remediation: 机房置于境内。\n";
    dbg_catalog *cat = dbg_catalog_load_buffer("old.yaml", base, strlen(base), NULL);
    assert_non_null(cat);
    assert_string_equal(dbg_catalog_item(cat, 0)->remediation, "机房置于境内。");
    assert_null(dbg_catalog_item(cat, 0)->remediation_en);
    assert_int_equal(dbg_catalog_warning_count(cat), 0);
    dbg_catalog_free(cat);

    char both[sizeof(base) + 64];
    snprintf(both, sizeof(both), "%s    remediation_en: Keep machine rooms in China.\n", base);
    cat = dbg_catalog_load_buffer("new.yaml", both, strlen(both), NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_count(cat), 2);
    for (size_t i = 0; i < 2; i++)
        assert_string_equal(dbg_catalog_item(cat, i)->remediation_en,
                            "Keep machine rooms in China.");
    dbg_catalog_free(cat);

    char blank[sizeof(base) + 64];
    snprintf(blank, sizeof(blank), "%s    remediation_en: \"\"\n", base);
    assert_null(dbg_catalog_load_buffer("blank.yaml", blank, strlen(blank), NULL));
    assert_non_null(strstr(dbg_err_msg(), "blank.yaml:9:21: "));
}

/* high_risk_basis: a file's high_risk flags are verified only when it says so; without the key
 * they are unverified with no source, and the shipped files say theirs are unverified. */
static void test_high_risk_basis(void **state)
{
    (void)state;
    static const char req[] = "requirements:\n"
                              "  - levels: {3: 8.2.1.1}\n"
                              "    layer: 安全物理环境\n"
                              "    control_point: 基础设施位置\n"
                              "    text: t\n"
                              "    high_risk: true\n";
    char buf[1024];
    snprintf(buf, sizeof(buf), "schema: 1\nextension: cloud\n%s", req);
    dbg_catalog *cat = dbg_catalog_load_buffer("none.yaml", buf, strlen(buf), NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_item(cat, 0)->high_risk_verified, 0);
    assert_null(dbg_catalog_item(cat, 0)->high_risk_source);
    dbg_catalog_free(cat);

    snprintf(buf, sizeof(buf),
             "schema: 1\nextension: cloud\nhigh_risk_basis: {verified: true, source: T/ISEAA "
             "001-2020 表 1, source_en: T/ISEAA 001-2020 table 1}\n%s",
             req);
    cat = dbg_catalog_load_buffer("ok.yaml", buf, strlen(buf), NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_item(cat, 0)->high_risk_verified, 1);
    assert_string_equal(dbg_catalog_item(cat, 0)->high_risk_source, "T/ISEAA 001-2020 表 1");
    assert_string_equal(dbg_catalog_item(cat, 0)->high_risk_source_en, "T/ISEAA 001-2020 table 1");
    dbg_catalog_free(cat);

    snprintf(buf, sizeof(buf),
             "schema: 1\nextension: cloud\nhigh_risk_basis: {verified: maybe, source: x}\n%s", req);
    assert_null(dbg_catalog_load_buffer("bad.yaml", buf, strlen(buf), NULL));
    assert_string_equal(dbg_err_msg(), "bad.yaml:3:29: verified must be true or false");

    cat = dbg_catalog_load(NULL, NULL);
    assert_non_null(cat);
    size_t hr = 0;
    for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if (!it->high_risk)
            continue;
        hr++;
        assert_int_equal(it->high_risk_verified, 0);
        assert_non_null(it->high_risk_source);
        assert_non_null(strstr(it->high_risk_source, "T/ISEAA 001-2020"));
        assert_non_null(it->high_risk_source_en);
    }
    assert_true(hr > 0);
    dbg_catalog_free(cat);
}

/* A directory: files sorted, weights may come from another file, duplicates across files. */
static void test_directory(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-cat-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *a = dbg_path_join(dir, "a.yaml");
    DBG_AUTOFREE char *b = dbg_path_join(dir, "b.yaml");
    DBG_AUTOFREE char *s = dbg_path_join(dir, "z-scoring.yaml");
    const char *item = "extension: cloud\nrequirements:\n  - levels: {3: 8.2.1.1}\n"
                       "    layer: 安全物理环境\n    control_point: 基础设施位置\n"
                       "    text: x\n    weight: key\n";
    const char *scoring = "importance: {key: {weight: 1}}\n";
    assert_int_equal(dbg_write_file_atomic(a, item, strlen(item)), 0);
    assert_int_equal(dbg_write_file_atomic(s, scoring, strlen(scoring)), 0);
    dbg_catalog *cat = dbg_catalog_load(dir, NULL);
    assert_non_null(cat);
    assert_int_equal(dbg_catalog_count(cat), 1);
    dbg_catalog_free(cat);
    assert_int_equal(dbg_write_file_atomic(b, item, strlen(item)), 0);
    assert_null(dbg_catalog_load(dir, NULL));
    char want[512];
    snprintf(want, sizeof(want),
             "%s:3:5: duplicate id 'L3-cloud-8.2.1.1' (first defined at %s:3:5)", b, a);
    assert_string_equal(dbg_err_msg(), want);
    unlink(a);
    unlink(b);
    unlink(s);
    assert_null(dbg_catalog_load(dir, NULL)); /* no yaml files */
    assert_int_equal(dbg_err_code(), DBG_ERR_NOTFOUND);
    rmdir(dir);
    assert_null(dbg_catalog_load("/nonexistent/catalog.yaml", NULL));
    assert_int_equal(dbg_err_code(), DBG_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_loads_clean),
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_malformed_fixtures),
        cmocka_unit_test(test_buffer_and_check_ids),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_remediation_en),
        cmocka_unit_test(test_high_risk_basis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
