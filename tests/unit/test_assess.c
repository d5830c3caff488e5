/* Unit tests for src/assess and src/report: verdict combination, manual items and
 * attestations, waivers (including expired ones), the score and conclusion, the gap summary,
 * the baseline diff, input-file errors, result validation and every report format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/assess.h"
#include "dengbao/report.h"
#include "dengbao/util.h"

/* 2026-11-25T00:00:00Z */
#define COLLECTED_US 1795564800000000LL

static char *guard_checks[] = {(char *)"ctl.guard"};
static char *time_checks[] = {(char *)"host.time_sync"};
static char *bogus_checks[] = {(char *)"no.such.check"};
static char *console_checks[] = {(char *)"cmp.console_exposure"};

static dbg_item items_def[] = {
    {.id = (char *)"L3-cloud-8.2.4.3b",
     .level = 3,
     .clause = (char *)"8.2.4.3b",
     .extension = DBG_EXT_CLOUD,
     .layer = (char *)"安全计算环境",
     .control_point = (char *)"入侵防范",
     .text = (char *)"应能检测非授权新建虚拟机或者重新启用虚拟机，并进行告警。",
     .weight = 1,
     .high_risk = 1,
     .checks = guard_checks,
     .n_checks = 1,
     .remediation = (char *)"部署 dengbao guard",
     .remediation_en = (char *)"Deploy dengbao guard"},
    {.id = (char *)"L3-cloud-8.2.6.1a",
     .level = 3,
     .clause = (char *)"8.2.6.1a",
     .extension = DBG_EXT_CLOUD,
     .layer = (char *)"安全建设管理",
     .control_point = (char *)"云服务商选择",
     .text = (char *)"应选择安全合规的云服务商。",
     .weight = 1,
     .remediation = (char *)"签署合同"},
    {.id = (char *)"L3-cloud-8.2.1.1",
     .level = 3,
     .clause = (char *)"8.2.1.1",
     .extension = DBG_EXT_CLOUD,
     .layer = (char *)"安全物理环境",
     .control_point = (char *)"基础设施位置",
     .text = (char *)"应保证云计算基础设施位于中国境内。",
     .weight = 1,
     .high_risk = 1,
     .remediation = (char *)"境内机房"},
    {.id = (char *)"L3-general-8.1.4.3b",
     .level = 3,
     .clause = (char *)"8.1.4.3b",
     .extension = DBG_EXT_GENERAL,
     .layer = (char *)"安全计算环境",
     .control_point = (char *)"安全审计",
     .text = (char *)"审计记录应包括事件的日期和时间。",
     .weight = 1,
     .checks = time_checks,
     .n_checks = 1,
     .remediation = (char *)"chrony"},
    {.id = (char *)"L3-test-bogus",
     .level = 3,
     .clause = (char *)"8.9.9.9",
     .extension = DBG_EXT_GENERAL,
     .layer = (char *)"安全区域边界",
     .control_point = (char *)"x",
     .text = (char *)"x",
     .weight = 1,
     .checks = bogus_checks,
     .n_checks = 1,
     .remediation = (char *)"x"},
    {.id = (char *)"L3-general-8.1.4.1c",
     .level = 3,
     .clause = (char *)"8.1.4.1c",
     .extension = DBG_EXT_GENERAL,
     .layer = (char *)"安全计算环境",
     .control_point = (char *)"身份鉴别",
     .text = (char *)"防止鉴别信息在网络传输过程中被窃听。",
     .weight = 1,
     .checks = console_checks,
     .n_checks = 1,
     .remediation = (char *)"VNC TLS"},
};
#define N_ITEMS (sizeof(items_def) / sizeof(items_def[0]))

static dbg_setting chrony_set = {.file = (char *)"/etc/chrony/chrony.conf",
                                 .line = 3,
                                 .key = (char *)"pool",
                                 .value = (char *)"ntp.example.cn"};
static dbg_host_file chrony = {.path = (char *)"/etc/chrony/chrony.conf",
                               .present = 1,
                               .settings = &chrony_set,
                               .n_settings = 1};

static dbg_snapshot snap(void)
{
    return (dbg_snapshot){.schema_version = 1,
                          .uri = (char *)"test:///unit",
                          .hypervisor = (char *)"Test",
                          .hostname = (char *)"h1",
                          .collected_us = COLLECTED_US,
                          .host_files = &chrony,
                          .n_host_files = 1};
}

static const dbg_item *item_ptrs[N_ITEMS];

static dbg_score_model *model(void)
{
    dbg_score_model *m = dbg_score_model_load(NULL);
    if (!m)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(m);
    return m;
}

static json_t *run_dated(dbg_snapshot *s, const dbg_score_model *m, const dbg_assess_inputs *in,
                         const char *attest_path, int max_age_days, int64_t as_of_us,
                         int as_of_day);

static json_t *run_aged(dbg_snapshot *s, const dbg_score_model *m, const dbg_assess_inputs *in,
                        const char *attest_path, int max_age_days)
{
    return run_dated(s, m, in, attest_path, max_age_days, 0, 0);
}

/* An assessment dated as_of_us (`assess --as-of`; 0 = at the collection), a date's first
 * moment when as_of_day. */
static json_t *run_dated(dbg_snapshot *s, const dbg_score_model *m, const dbg_assess_inputs *in,
                         const char *attest_path, int max_age_days, int64_t as_of_us, int as_of_day)
{
    for (size_t i = 0; i < N_ITEMS; i++)
        item_ptrs[i] = &items_def[i];
    dbg_assess_request req = {.items = item_ptrs,
                              .n_items = N_ITEMS,
                              .snapshot = s,
                              .params = {.level = 3, .hosts_level = -1},
                              .model = m,
                              .inputs = in,
                              .attest_path = attest_path,
                              .waivers_path = "waivers.yaml",
                              .attest_max_age_days = max_age_days,
                              .attest_max_age_from = "level 3's assessment period",
                              .as_of_us = as_of_us,
                              .as_of_day = as_of_day};
    json_t *r = dbg_assess_run(&req);
    if (!r)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(r);
    assert_int_equal(dbg_assess_validate(r, "result"), 0);
    if (dbg_assess_check_summary(r, "result", m) != 0)
        print_message("%s\n", dbg_err_msg());
    assert_int_equal(dbg_assess_check_summary(r, "result", m), 0);
    return r;
}

static json_t *run_with(dbg_snapshot *s, const dbg_score_model *m, const dbg_assess_inputs *in,
                        const char *attest_path)
{
    return run_aged(s, m, in, attest_path, 0);
}

static json_t *run(dbg_snapshot *s, const dbg_score_model *m, const dbg_assess_inputs *in)
{
    return run_with(s, m, in, "attest.yaml");
}

static const json_t *item(const json_t *r, const char *id)
{
    const json_t *items = json_object_get(r, "items");
    for (size_t i = 0; i < json_array_size(items); i++)
        if (!strcmp(json_string_value(json_object_get(json_array_get(items, i), "id")), id))
            return json_array_get(items, i);
    fail_msg("no item %s", id);
    abort();
}

static const char *verdict(const json_t *r, const char *id)
{
    return json_string_value(json_object_get(item(r, id), "verdict"));
}

static double score_of(const json_t *r, const char *key)
{
    return json_number_value(json_object_get(json_object_get(r, "score"), key));
}

static const char *score_str(const json_t *r, const char *key)
{
    return json_string_value(json_object_get(json_object_get(r, "score"), key));
}

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/dbg-test-assess-XXXXXX");
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_combine(void **state)
{
    (void)state;
    dbg_check_result pass_fail[] = {DBG_CHECK_PASS, DBG_CHECK_FAIL};
    dbg_check_result fail_err[] = {DBG_CHECK_FAIL, DBG_CHECK_ERROR};
    dbg_check_result pass_na[] = {DBG_CHECK_PASS, DBG_CHECK_NA};
    dbg_check_result na_na[] = {DBG_CHECK_NA, DBG_CHECK_NA};
    dbg_check_result err[] = {DBG_CHECK_ERROR};
    dbg_check_result pass_err[] = {DBG_CHECK_PASS, DBG_CHECK_ERROR};
    dbg_check_result partial[] = {DBG_CHECK_PARTIAL};
    assert_int_equal(dbg_verdict_combine(pass_fail, 2), DBG_VERDICT_PARTIAL);
    assert_int_equal(dbg_verdict_combine(fail_err, 2), DBG_VERDICT_FAIL);
    assert_int_equal(dbg_verdict_combine(pass_na, 2), DBG_VERDICT_PASS);
    assert_int_equal(dbg_verdict_combine(na_na, 2), DBG_VERDICT_NA);
    assert_int_equal(dbg_verdict_combine(err, 1), DBG_VERDICT_UNCHECKED);
    assert_int_equal(dbg_verdict_combine(pass_err, 2), DBG_VERDICT_PARTIAL);
    assert_int_equal(dbg_verdict_combine(partial, 1), DBG_VERDICT_PARTIAL);
    assert_int_equal(dbg_verdict_combine(NULL, 0), DBG_VERDICT_UNCHECKED);
    dbg_verdict v;
    assert_int_equal(dbg_verdict_parse("部分符合", &v), 0);
    assert_int_equal(v, DBG_VERDICT_PARTIAL);
    assert_int_equal(dbg_verdict_parse("not checked", &v), 0);
    assert_int_equal(v, DBG_VERDICT_UNCHECKED);
    assert_int_equal(dbg_verdict_parse("基本符合", &v), -1);
}

/* Without attestations: manual items are 未检查, an absent control is 不符合 with the reason,
 * an unregistered check is 未检查, no graphics is 不适用; the open high-risk item forces 差. */
static void test_verdicts_and_score(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    assert_string_equal(verdict(r, "L3-cloud-8.2.4.3b"), "不符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "未检查");
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "符合");
    assert_string_equal(verdict(r, "L3-test-bogus"), "未检查");
    assert_string_equal(verdict(r, "L3-general-8.1.4.1c"), "不适用");
    const json_t *g = item(r, "L3-cloud-8.2.4.3b");
    assert_non_null(strstr(json_string_value(json_object_get(g, "reason")), "ctl.guard: fail"));
    /* a manual item says whether an attestation file was read at all */
    assert_string_equal(json_string_value(json_object_get(item(r, "L3-cloud-8.2.6.1a"), "reason")),
                        "manual item: not attested in attest.yaml");
    json_t *r_none = run_with(&s, m, NULL, NULL);
    assert_string_equal(
        json_string_value(json_object_get(item(r_none, "L3-cloud-8.2.6.1a"), "reason")),
        "manual item: no attestation file given (--attest)");
    json_decref(r_none);
    const json_t *ev = json_array_get(json_object_get(g, "evidence"), 0);
    assert_string_equal(json_string_value(json_object_get(ev, "source")),
                        "/run/dengbao/status/guard.json");
    /* 5 applicable items, deductions 1 + 1 + 1 + 0 + 1 -> 100 - 80 = 20. */
    assert_true(score_of(r, "value") > 19.99 && score_of(r, "value") < 20.01);
    assert_string_equal(score_str(r, "conclusion"), "差");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "score"), "open_high_risk")), 1);
    assert_false(dbg_assess_meets_bar(r));
    assert_true(json_is_true(
        json_object_get(json_object_get(json_object_get(r, "score"), "model"), "unverified")));
    /* Gaps: by layer in the standard's order, 不适用 and 符合 left out. */
    const json_t *gaps = json_object_get(r, "gaps");
    assert_string_equal(json_string_value(json_object_get(json_array_get(gaps, 0), "layer")),
                        "安全物理环境");
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(gaps); i++)
        n += json_array_size(json_object_get(json_array_get(gaps, i), "items"));
    assert_int_equal(n, 4);
    const json_t *hr = json_array_get(json_object_get(json_array_get(gaps, 2), "items"), 0);
    assert_string_equal(json_string_value(json_object_get(hr, "clause")), "8.2.4.3b");
    assert_string_equal(json_string_value(json_object_get(hr, "risk")), "高");
    json_decref(r);
    dbg_score_model_free(m);
}

static void test_attest_and_waivers(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    char *attest = write_tmp("attestations:\n"
                             "  - item: L3-cloud-8.2.1.1\n"
                             "    verdict: 符合\n"
                             "    attested_by: 张三 (安全负责人)\n"
                             "    date: 2026-11-01\n"
                             "    document: 机房租赁合同 HT-2026-013 第4条\n"
                             "  - item: 8.2.6.1a\n"
                             "    verdict: 部分符合\n"
                             "    attested_by: 李四\n"
                             "    date: 2026-11-02\n"
                             "    document: SLA v3\n"
                             "  - item: L3-general-8.1.4.3b\n"
                             "    verdict: 符合\n"
                             "    attested_by: 王五\n"
                             "    date: 2026-11-02\n"
                             "    document: none\n");
    char *waivers = write_tmp("waivers:\n"
                              "  - item: L3-cloud-8.2.4.3b\n"
                              "    justification: guard rollout planned for Q1\n"
                              "    owner: ops-team\n"
                              "    expiry: 2026-12-31\n"
                              "  - check: no.such.check\n"
                              "    justification: x\n"
                              "    owner: y\n"
                              "    expiry: 2027-01-01\n");
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    /* A waiver naming an unknown check is an input error. */
    assert_int_equal(dbg_waivers_load(&in, waivers), -1);
    assert_non_null(strstr(dbg_err_msg(), ":6:12: no check 'no.such.check'"));
    dbg_assess_inputs_free(&in);
    unlink(waivers);
    free(waivers);
    waivers = write_tmp("waivers:\n"
                        "  - item: L3-cloud-8.2.4.3b\n"
                        "    justification: guard rollout planned for Q1\n"
                        "    owner: ops-team\n"
                        "    expiry: 2026-12-31\n"
                        "  - check: host.time_sync\n"
                        "    justification: old\n"
                        "    owner: ops\n"
                        "    expiry: 2026-11-24\n");
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    assert_int_equal(dbg_waivers_load(&in, waivers), 0);
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, &in);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "部分符合");
    const json_t *a = item(r, "L3-cloud-8.2.1.1");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(a, "attestation"), "attested_by")),
        "张三 (安全负责人)");
    const json_t *ev = json_array_get(json_object_get(a, "evidence"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(ev, "source")), "attest.yaml:2"));
    /* An attestation adds nothing to what an automated item's checks found 符合; the warning
     * names its item value's line and column, not the entry's line. */
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "符合");
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
                           "attest.yaml:12:11: attestation for L3-general-8.1.4.3b ignored: its "
                           "checks decided it (符合)"));
    assert_true(json_is_null(json_object_get(item(r, "L3-general-8.1.4.3b"), "attestation")));
    /* Waived high-risk item: still 不符合, but not open after waivers. */
    assert_string_equal(verdict(r, "L3-cloud-8.2.4.3b"), "不符合");
    assert_true(json_is_object(json_object_get(item(r, "L3-cloud-8.2.4.3b"), "waiver")));
    /* before: deductions 1 + 0.5 + 0 + 0 + 1 = 2.5 of 5 -> 50; after: 1.5 of 5 -> 70. */
    assert_true(score_of(r, "value") > 49.99 && score_of(r, "value") < 50.01);
    assert_true(score_of(r, "value_after_waivers") > 69.99 &&
                score_of(r, "value_after_waivers") < 70.01);
    assert_string_equal(score_str(r, "conclusion"), "差");
    assert_string_equal(score_str(r, "conclusion_after_waivers"), "中");
    /* The expired check waiver is listed and not applied. */
    const json_t *expired = json_object_get(json_object_get(r, "waivers"), "expired");
    assert_int_equal(json_array_size(expired), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(expired, 0), "check")),
                        "host.time_sync");
    /* the waivers listed as applied are the items' own: one added or edited is refused */
    assert_int_equal(dbg_assess_check_gaps(r, "saved.json"), 0);
    /* as a file loads it: the item's waiver and the listed one are two objects */
    json_t *saved = json_deep_copy(r);
    json_t *applied = json_object_get(json_object_get(saved, "waivers"), "applied");
    json_t *forged = json_deep_copy(json_array_get(applied, 0));
    json_object_set_new(forged, "owner", json_string("someone else"));
    json_array_append_new(applied, forged);
    assert_int_equal(dbg_assess_check_gaps(saved, "saved.json"), -1);
    assert_non_null(
        strstr(dbg_err_msg(), "$.waivers.applied: 2 waiver(s), but $.items has 1 waived item(s)"));
    json_array_remove(applied, 1);
    json_object_set_new(json_array_get(applied, 0), "owner", json_string("someone else"));
    assert_int_equal(dbg_assess_check_gaps(saved, "saved.json"), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.waivers.applied[0]: not the waiver of $.items["));
    json_object_set_new(json_array_get(applied, 0), "owner", json_string("ops-team"));
    assert_int_equal(dbg_assess_check_gaps(saved, "saved.json"), 0);
    json_decref(saved);
    /* the text report names who waived what, why and until when, as the HTML report does */
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, en = {.lang = DBG_LANG_EN};
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_non_null(strstr(
        text, "\n豁免: L3-cloud-8.2.4.3b — guard rollout planned for Q1 (ops-team, 2026-12-31)\n"));
    assert_non_null(strstr(text, "\n豁免 已过期 (未生效): host.time_sync (ops, 2026-11-24)\n"));
    free(text);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(
        text,
        "\nWaivers: L3-cloud-8.2.4.3b — guard rollout planned for Q1 (ops-team, 2026-12-31)\n"));
    free(text);
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(attest);
    unlink(waivers);
    free(attest);
    free(waivers);
    dbg_score_model_free(m);
}

/* A checked item its checks could not decide (the host's time settings were not readable)
 * takes the assessor's attestation; the checks' evidence stays beside the document. */
static void test_attest_completes_unchecked(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    char *attest = write_tmp("attestations:\n"
                             "  - item: 8.1.4.3b\n"
                             "    verdict: 符合\n"
                             "    attested_by: 王五\n"
                             "    date: 2026-11-02\n"
                             "    document: chronyc sources 截图 2026-11-02\n"
                             "  - item: L3-cloud-8.2.4.3b\n"
                             "    verdict: 符合\n"
                             "    attested_by: 王五\n"
                             "    date: 2026-11-02\n"
                             "    document: guard 部署说明\n");
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    dbg_host_file unread = {.path = (char *)"/etc/chrony/chrony.conf",
                            .error = (char *)"not read: permission denied"};
    dbg_snapshot s = snap();
    s.host_files = &unread;
    json_t *plain = run(&s, m, NULL);
    assert_string_equal(verdict(plain, "L3-general-8.1.4.3b"), "未检查");
    size_t checked_evidence =
        json_array_size(json_object_get(item(plain, "L3-general-8.1.4.3b"), "evidence"));
    assert_true(checked_evidence > 0);
    json_decref(plain);

    json_t *r = run(&s, m, &in);
    const json_t *t = item(r, "L3-general-8.1.4.3b");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "符合");
    const char *reason = json_string_value(json_object_get(t, "reason"));
    assert_non_null(strstr(reason, "checks could not decide (host.time_sync: error"));
    assert_non_null(strstr(reason, "attested by 王五 on 2026-11-02"));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(t, "attestation"), "verdict")), "符合");
    const json_t *ev = json_object_get(t, "evidence");
    assert_int_equal(json_array_size(ev), checked_evidence + 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 0), "check")),
                        "host.time_sync");
    const json_t *doc = json_array_get(ev, checked_evidence);
    assert_string_equal(json_string_value(json_object_get(doc, "check")), "attestation");
    assert_non_null(strstr(json_string_value(json_object_get(doc, "source")), ":2"));
    /* the checks still count as they ran */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(t, "checks"), 0), "result")),
                        "error");
    /* an item whose checks found a gap (the guard is absent: 不符合) keeps its verdict; the
     * attestation's document is recorded beside the evidence, and the warning says why */
    const json_t *g = item(r, "L3-cloud-8.2.4.3b");
    assert_string_equal(verdict(r, "L3-cloud-8.2.4.3b"), "不符合");
    assert_true(json_is_null(json_object_get(g, "attestation")));
    const json_t *gev = json_object_get(g, "evidence");
    const json_t *gdoc = json_array_get(gev, json_array_size(gev) - 1);
    assert_string_equal(json_string_value(json_object_get(gdoc, "check")), "attestation");
    assert_string_equal(json_string_value(json_object_get(gdoc, "observed")), "guard 部署说明");
    assert_non_null(strstr(json_string_value(json_object_get(g, "reason")),
                           "ctl.guard: fail; attestation attest.yaml:7 (符合, by 王五 on "
                           "2026-11-02) recorded, not applied: the checks found a gap"));
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(
        json_string_value(json_array_get(w, 0)),
        "attest.yaml:7:11: attestation for L3-cloud-8.2.4.3b (符合) recorded beside "
        "the evidence but not applied: its checks found a gap (不符合: ctl.guard: "
        "fail), and an attestation never outweighs evidence of one; it decides "
        "only what the checks could not");
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(attest);
    free(attest);
    dbg_score_model_free(m);
}

static json_t *run_items(dbg_item *defs, size_t n, dbg_snapshot *s, const dbg_score_model *m,
                         const dbg_assess_inputs *in)
{
    const dbg_item *ptrs[4];
    assert_true(n <= 4);
    for (size_t i = 0; i < n; i++)
        ptrs[i] = &defs[i];
    dbg_assess_request req = {.items = ptrs,
                              .n_items = n,
                              .snapshot = s,
                              .params = {.level = 3, .hosts_level = -1},
                              .model = m,
                              .inputs = in,
                              .attest_path = "attest.yaml"};
    json_t *r = dbg_assess_run(&req);
    if (!r)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(r);
    assert_int_equal(dbg_assess_validate(r, "result"), 0);
    if (dbg_assess_check_summary(r, "result", m) != 0)
        print_message("%s\n", dbg_err_msg());
    assert_int_equal(dbg_assess_check_summary(r, "result", m), 0);
    return r;
}

/* 部分符合 items and attestations. Where the checks that did not pass only could not decide
 * (time sync shown, the other check not established), the attestation answers for that part
 * and the verdict is combined again. Where a check found a gap (the guard absent), the verdict
 * stays: the document is recorded beside the evidence and the warning says why. */
static void test_attest_partial(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static char *time_and_unknown[] = {(char *)"host.time_sync", (char *)"no.such.check"};
    static char *time_and_guard[] = {(char *)"host.time_sync", (char *)"ctl.guard"};
    dbg_item defs[] = {
        {.id = (char *)"L3-t-undecided",
         .level = 3,
         .clause = (char *)"8.9.1.1a",
         .layer = (char *)"安全计算环境",
         .control_point = (char *)"x",
         .text = (char *)"x",
         .weight = 1,
         .checks = time_and_unknown,
         .n_checks = 2,
         .remediation = (char *)"x"},
        {.id = (char *)"L3-t-gap",
         .level = 3,
         .clause = (char *)"8.9.1.1b",
         .layer = (char *)"安全计算环境",
         .control_point = (char *)"x",
         .text = (char *)"x",
         .weight = 1,
         .checks = time_and_guard,
         .n_checks = 2,
         .remediation = (char *)"x"},
    };
    dbg_snapshot s = snap();
    json_t *plain = run_items(defs, 2, &s, m, NULL);
    assert_string_equal(verdict(plain, "L3-t-undecided"), "部分符合");
    assert_string_equal(verdict(plain, "L3-t-gap"), "部分符合");
    size_t gap_evidence = json_array_size(json_object_get(item(plain, "L3-t-gap"), "evidence"));
    json_decref(plain);

    static const char text[] = "attestations:\n"
                               "  - item: L3-t-undecided\n"
                               "    verdict: 符合\n"
                               "    attested_by: 王五\n"
                               "    date: 2026-11-02\n"
                               "    document: 检查记录 JC-7\n"
                               "  - item: L3-t-gap\n"
                               "    verdict: 符合\n"
                               "    attested_by: 王五\n"
                               "    date: 2026-11-02\n"
                               "    document: guard 部署说明\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    json_t *r = run_items(defs, 2, &s, m, &in);
    const json_t *u = item(r, "L3-t-undecided");
    assert_string_equal(verdict(r, "L3-t-undecided"), "符合");
    assert_string_equal(
        json_string_value(json_object_get(u, "reason")),
        "checks could not decide part of it (host.time_sync: pass; no.such.check: not "
        "registered); that part 符合, attested by 王五 on 2026-11-02");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(u, "attestation"), "document")),
        "检查记录 JC-7");

    const json_t *g = item(r, "L3-t-gap");
    assert_string_equal(verdict(r, "L3-t-gap"), "部分符合");
    assert_true(json_is_null(json_object_get(g, "attestation")));
    const json_t *ev = json_object_get(g, "evidence");
    assert_int_equal(json_array_size(ev), gap_evidence + 1);
    const json_t *doc = json_array_get(ev, gap_evidence);
    assert_string_equal(json_string_value(json_object_get(doc, "check")), "attestation");
    assert_string_equal(json_string_value(json_object_get(doc, "source")),
                        "attestation attest.yaml:7");
    assert_string_equal(json_string_value(json_object_get(doc, "observed")), "guard 部署说明");
    const json_t *w = json_object_get(r, "warnings");
    /* 2: this two-item catalog has no cloud item, which the result says last */
    assert_int_equal(json_array_size(w), 2);
    assert_non_null(strstr(json_string_value(json_array_get(w, 1)),
                           "the catalog has no 云计算安全扩展要求 (cloud extension) items"));
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "attest.yaml:7:11: attestation for L3-t-gap (符合) recorded beside the "
                        "evidence but not applied: its checks found a gap (部分符合: "
                        "host.time_sync: pass; ctl.guard: fail), and an attestation never "
                        "outweighs evidence of one; it decides only what the checks could not");
    json_decref(r);
    dbg_assess_inputs_free(&in);

    /* attested 不符合 for the undecided part: part shown, part not met -> 部分符合 */
    static const char worse[] = "attestations:\n"
                                "  - item: L3-t-undecided\n"
                                "    verdict: 不符合\n"
                                "    attested_by: 王五\n"
                                "    date: 2026-11-02\n"
                                "    document: 检查记录 JC-8\n";
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", worse, strlen(worse)), 0);
    r = run_items(defs, 2, &s, m, &in);
    assert_string_equal(verdict(r, "L3-t-undecided"), "部分符合");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(item(r, "L3-t-undecided"), "attestation"), "verdict")),
                        "不符合");
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

/* A snapshot without a collection time cannot say whether a waiver has expired: none is
 * applied (with 0 as "now", every waiver would stay valid forever). */
static void test_waiver_without_collection_time(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    char *waivers = write_tmp("waivers:\n"
                              "  - item: L3-cloud-8.2.4.3b\n"
                              "    justification: guard rollout planned for Q1\n"
                              "    owner: ops-team\n"
                              "    expiry: 2026-12-31\n");
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_waivers_load(&in, waivers), 0);
    dbg_snapshot s = snap();
    json_t *timed = run(&s, m, &in);
    assert_true(json_is_object(json_object_get(item(timed, "L3-cloud-8.2.4.3b"), "waiver")));
    json_decref(timed);
    s.collected_us = 0;
    json_t *r = run(&s, m, &in);
    assert_true(json_is_null(json_object_get(item(r, "L3-cloud-8.2.4.3b"), "waiver")));
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "warnings"), 0)),
                           "no collection time"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "waivers"), "applied")), 0);
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(waivers);
    free(waivers);
    dbg_score_model_free(m);
}

/* An attestation dated after the collection (after now, without a collection time) cannot
 * vouch for what was collected: refused with a warning naming file, line and date, and not
 * applied. The collection day itself is accepted. */
static void test_attest_future_dated(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "attestations:\n"
                               "  - item: L3-cloud-8.2.1.1\n"
                               "    verdict: 符合\n"
                               "    attested_by: 张三\n"
                               "    date: 2026-11-26\n"
                               "    document: 机房租赁合同\n"
                               "  - item: L3-cloud-8.2.6.1a\n"
                               "    verdict: 符合\n"
                               "    attested_by: 李四\n"
                               "    date: 2026-11-25\n"
                               "    document: SLA v3\n"
                               "  - item: 8.1.4.3b\n"
                               "    verdict: 符合\n"
                               "    attested_by: 王五\n"
                               "    date: 2999-01-01\n"
                               "    document: chronyc sources\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    dbg_host_file unread = {.path = (char *)"/etc/chrony/chrony.conf",
                            .error = (char *)"not read: permission denied"};
    dbg_snapshot s = snap(); /* collected 2026-11-25T00:00:00Z */
    s.host_files = &unread;
    json_t *r = run(&s, m, &in);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_true(json_is_null(json_object_get(item(r, "L3-cloud-8.2.1.1"), "attestation")));
    assert_int_equal(json_array_size(json_object_get(item(r, "L3-cloud-8.2.1.1"), "evidence")), 0);
    assert_string_equal(
        json_string_value(json_object_get(item(r, "L3-cloud-8.2.1.1"), "reason")),
        "manual item: the attestation at attest.yaml:5:11 is dated 2026-11-26, after the "
        "collection, and was refused");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合"); /* the collection day */
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "未检查");
    assert_true(json_is_null(json_object_get(item(r, "L3-general-8.1.4.3b"), "attestation")));
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "attest.yaml:5:11: attestation for L3-cloud-8.2.1.1 refused: dated "
                        "2026-11-26, after the snapshot was collected "
                        "(2026-11-25T00:00:00.000000Z); nothing can have been checked on a day "
                        "that had not come, so it is not applied");
    assert_non_null(
        strstr(json_string_value(json_array_get(w, 1)),
               "attest.yaml:15:11: attestation for 8.1.4.3b refused: dated 2999-01-01"));
    json_decref(r);

    /* without a collection time the clock judges: 2999 has not come, 2026-11-25 has */
    s.collected_us = 0;
    r = run(&s, m, &in);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "未检查");
    w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_non_null(strstr(json_string_value(json_array_get(w, 0)),
                           "attest.yaml:15:11: attestation for 8.1.4.3b refused: dated 2999-01-01, "
                           "after now (the snapshot has no collection time)"));
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

/* An attestation older than the level's assessment period at the collection was made for an
 * earlier assessment: refused with a warning naming file, line, date and limit, its item
 * assessed as if unattested. The limit counts whole days in the latest zone (UTC-12): collected
 * at 2026-11-25T00:00Z it is 2026-11-24 there, so 2025-11-23 is 366 days old (inside a limit
 * of 366) and 2025-11-22 is 367. */
static void test_attest_stale(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "attestations:\n"
                               "  - item: L3-cloud-8.2.1.1\n"
                               "    verdict: 符合\n"
                               "    attested_by: 张三\n"
                               "    date: 2025-11-22\n"
                               "    document: 机房租赁合同\n"
                               "  - item: L3-cloud-8.2.6.1a\n"
                               "    verdict: 符合\n"
                               "    attested_by: 李四\n"
                               "    date: 2025-11-23\n"
                               "    document: SLA v3\n"
                               "  - item: 8.1.4.3b\n"
                               "    verdict: 符合\n"
                               "    attested_by: 王五\n"
                               "    date: 1899-01-01\n"
                               "    document: chronyc sources\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    dbg_host_file unread = {.path = (char *)"/etc/chrony/chrony.conf",
                            .error = (char *)"not read: permission denied"};
    dbg_snapshot s = snap(); /* collected 2026-11-25T00:00:00Z */
    s.host_files = &unread;
    json_t *r = run_aged(&s, m, &in, "attest.yaml", 366);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_true(json_is_null(json_object_get(item(r, "L3-cloud-8.2.1.1"), "attestation")));
    assert_int_equal(json_array_size(json_object_get(item(r, "L3-cloud-8.2.1.1"), "evidence")), 0);
    assert_string_equal(
        json_string_value(json_object_get(item(r, "L3-cloud-8.2.1.1"), "reason")),
        "manual item: the attestation at attest.yaml:5:11 is dated 2025-11-22, more than 366 "
        "days before the collection, and was refused");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合"); /* just inside */
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "未检查");
    assert_true(json_is_null(json_object_get(item(r, "L3-general-8.1.4.3b"), "attestation")));
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "attest.yaml:5:11: attestation for L3-cloud-8.2.1.1 refused: dated "
                        "2025-11-22, more than 366 days before the snapshot was collected "
                        "(2026-11-25T00:00:00.000000Z), the limit of level 3's assessment period; "
                        "it is evidence of an earlier assessment, not of this one, so it is not "
                        "applied");
    assert_non_null(strstr(json_string_value(json_array_get(w, 1)),
                           "attest.yaml:15:11: attestation for 8.1.4.3b refused: dated 1899-01-01, "
                           "more than 366 days before"));
    json_decref(r);

    /* a lower limit refuses the 366-day-old one too; a higher one takes both; none takes 1899 */
    r = run_aged(&s, m, &in, "attest.yaml", 365);
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "未检查");
    json_decref(r);
    r = run_aged(&s, m, &in, "attest.yaml", 367);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "未检查");
    assert_int_equal(json_array_size(json_object_get(r, "warnings")), 1);
    json_decref(r);
    r = run_aged(&s, m, &in, "attest.yaml", 0);
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "符合");
    assert_int_equal(json_array_size(json_object_get(r, "warnings")), 0);
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

/* `assess --as-of`: a snapshot collected a year and more after its attestations refuses them
 * as stale; assessed as of a day within the period they stand again, with the result saying
 * so. One signed after that day is refused as not yet made, and waivers expire at that day. */
static void test_attest_as_of(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "attestations:\n"
                               "  - item: L3-cloud-8.2.1.1\n"
                               "    verdict: 符合\n"
                               "    attested_by: 张三\n"
                               "    date: 2025-11-20\n"
                               "    document: 机房租赁合同\n"
                               "  - item: L3-cloud-8.2.6.1a\n"
                               "    verdict: 符合\n"
                               "    attested_by: 李四\n"
                               "    date: 2025-11-22\n"
                               "    document: SLA v3\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    char *waivers = write_tmp("waivers:\n"
                              "  - item: L3-cloud-8.2.4.3b\n"
                              "    justification: guard rollout planned for Q4\n"
                              "    owner: ops-team\n"
                              "    expiry: 2025-12-31\n");
    assert_int_equal(dbg_waivers_load(&in, waivers), 0);
    dbg_snapshot s = snap(); /* collected 2026-11-25T00:00:00Z: both are over 366 days old */
    json_t *r = run_aged(&s, m, &in, "attest.yaml", 366);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "未检查");
    assert_true(json_is_null(json_object_get(item(r, "L3-cloud-8.2.4.3b"), "waiver")));
    assert_null(json_object_get(r, "as_of"));
    json_decref(r);

    const int64_t day = 86400LL * 1000000;
    int64_t as_of = COLLECTED_US - 364 * day; /* 2025-11-26T00:00:00Z */
    r = run_dated(&s, m, &in, "attest.yaml", 366, as_of, 0);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合");
    assert_true(json_is_object(json_object_get(item(r, "L3-cloud-8.2.4.3b"), "waiver")));
    assert_string_equal(json_string_value(json_object_get(r, "as_of")),
                        "2025-11-26T00:00:00.000000Z");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(r, "platform"), "collected")),
        "2026-11-25T00:00:00.000000Z");
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "assessed as of 2025-11-26T00:00:00.000000Z (--as-of): attestation dates "
                        "and waiver expiry are judged at that time, not at the collection "
                        "(2026-11-25T00:00:00.000000Z); the platform is the one collected");
    json_decref(r);

    /* as of 2025-11-21 the 11-22 attestation had not been signed */
    r = run_dated(&s, m, &in, "attest.yaml", 366, COLLECTED_US - 369 * day, 0);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "未检查");
    assert_string_equal(
        json_string_value(json_object_get(item(r, "L3-cloud-8.2.6.1a"), "reason")),
        "manual item: the attestation at attest.yaml:10:11 is dated 2025-11-22, after the "
        "assessment date, and was refused");
    w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(json_string_value(json_array_get(w, 1)),
                        "attest.yaml:10:11: attestation for L3-cloud-8.2.6.1a refused: dated "
                        "2025-11-22, after the assessment date (--as-of) "
                        "(2025-11-21T00:00:00.000000Z); nothing can have been checked on a day "
                        "that had not come, so it is not applied");
    json_decref(r);

    /* as of 2027-01-01 both are stale again, the message naming the assessment date (the
     * engine takes any date; dbg_assess refuses one after the collection) */
    r = run_dated(&s, m, &in, "attest.yaml", 366, COLLECTED_US + 37 * day, 0);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "warnings"), 1)),
                           "more than 366 days before the assessment date (--as-of) "
                           "(2027-01-01T00:00:00.000000Z)"));
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(waivers);
    free(waivers);
    dbg_score_model_free(m);
}

/* `assess --as-of YYYY-MM-DD` names a day: an attestation more than the limit of days before
 * it is stale, counted in dates (not from the day's end in the latest zone, as from a time of
 * unknown zone, which let one a day older stand). */
static void test_attest_as_of_day_age(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "attestations:\n"
                               "  - item: L3-cloud-8.2.1.1\n"
                               "    verdict: 符合\n"
                               "    attested_by: 张三\n"
                               "    date: 2025-11-23\n"
                               "    document: 机房租赁合同\n"
                               "  - item: L3-cloud-8.2.6.1a\n"
                               "    verdict: 符合\n"
                               "    attested_by: 李四\n"
                               "    date: 2025-11-24\n"
                               "    document: SLA v3\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    dbg_snapshot s = snap(); /* collected 2026-11-25T00:00:00Z */
    /* as of the day 2026-11-25: 2025-11-23 is 367 days before it, 2025-11-24 366 */
    json_t *r = run_dated(&s, m, &in, "attest.yaml", 366, COLLECTED_US, 1);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合");
    assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "warnings"), 1)),
                           "attestation for L3-cloud-8.2.1.1 refused: dated 2025-11-23, more "
                           "than 366 days before the assessment date (--as-of)"));
    json_decref(r);
    /* as of the time 2026-11-25T00:00:00Z, whose date is 11-24 in UTC-12: both stand */
    r = run_dated(&s, m, &in, "attest.yaml", 366, COLLECTED_US, 0);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "符合");
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    static const struct {
        const char *text, *needle;
        int waivers;
    } cases[] = {
        {"attestations:\n  - item: X\n    verdict: [\n", ":4:1: did not find expected node content",
         0},
        {"attestations: nope\n", ":1:15: 'attestations' must be a list of entries", 0},
        /* each shape refused names a line and column: the top node, the file's mapping, the list */
        {"# signed\n\n- item: X\n", ":3:1: expected a top-level 'attestations:' list, not a list",
         0},
        {"# signed\n\njust text\n", ":3:1: expected a top-level 'attestations:' list, not text", 0},
        {"# signed\n~\n", ":2:1: expected a top-level 'attestations:' list, not null", 0},
        {"", ":1:1: expected a top-level 'attestations:' list; the file has none", 0},
        {"attestations:\n", ":1:14: 'attestations' must be a list", 0},
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: a\n    date: "
         "2026-11-01\n    document: d\n  - 8.2.1.1\n",
         ":2:3: entry 2 of the 'attestations' list starting here is not a mapping", 0},
        {"# w\nwaivers: {item: X}\n", ":2:10: 'waivers' must be a list", 1},
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: a\n    date: "
         "2026-11-01\n",
         ":2: 'document' is missing", 0},
        {"attestations:\n  - item: X\n    verdict: 未检查\n    attested_by: a\n    date: "
         "2026-11-01\n    document: d\n",
         ":3:14: verdict '未检查' is not 符合, 部分符合, 不符合 or 不适用", 0},
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: a\n    date: yesterday\n "
         "   document: d\n",
         "not YYYY-MM-DD", 0},
        {"attestations:\n  - item: X\n    verdict: 符合\n    verdict: 不符合\n", "duplicate key",
         0},
        {"waivers:\n  - item: X\n    check: host.time_sync\n    justification: j\n    owner: o\n   "
         " expiry: 2027-01-01\n",
         "exactly one", 1},
        {"waivers:\n  - item: X\n    justification: j\n    owner: o\n    expiry: 2027-13-45\n",
         "not YYYY-MM-DD", 1},
        {"waivers:\n  - item: X\n    owner: o\n    expiry: 2027-01-01\n",
         "'justification' is missing", 1},
        /* a typo's value would be lost without a word */
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: a\n    date: "
         "2026-11-01\n    document: d\n    notes: n\n",
         ":7:5: unknown key 'notes' in an entry", 0},
        {"attestations: []\nwaivers: []\n", ":2:1: unknown key 'waivers' in the file", 0},
        {"waivers:\n  - item: X\n    justification: j\n    owner: o\n    expiry: 2027-01-01\n"
         "    expires: 2026-01-01\n",
         "unknown key 'expires'", 1},
        /* nobody vouches in a blank */
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: '  '\n    date: "
         "2026-11-01\n    document: d\n",
         ":4:18: 'attested_by' is blank", 0},
        {"attestations:\n  - item: X\n    verdict: 符合\n    attested_by: a\n    date: "
         "2026-11-01\n    document: d\n    note: [a, b]\n",
         ":7:11: 'note' is not text", 0},
        {"waivers:\n  - item: ''\n    justification: j\n    owner: o\n    expiry: 2027-01-01\n",
         ":2:11: 'item' is blank", 1},
        /* a second document's entries would be dropped */
        {"attestations: []\n---\nattestations:\n  - item: X\n", ":2:1: more than one YAML document",
         0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *p = write_tmp(cases[i].text);
        dbg_assess_inputs in = {0};
        int r = cases[i].waivers ? dbg_waivers_load(&in, p) : dbg_attest_load(&in, p);
        if (r != -1 || !strstr(dbg_err_msg(), cases[i].needle) || !strstr(dbg_err_msg(), p))
            print_message("case %zu: r=%d msg=%s\n", i, r, dbg_err_msg());
        assert_int_equal(r, -1);
        assert_non_null(strstr(dbg_err_msg(), cases[i].needle));
        assert_non_null(strstr(dbg_err_msg(), p));
        dbg_assess_inputs_free(&in);
        unlink(p);
        free(p);
    }
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load(&in, "/nonexistent/attest.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(), "/nonexistent/attest.yaml"));
    char *bad_model = write_tmp("model: x\ndeduction: {符合: '0'}\nconclusions: {}\nbar: {}\n");
    assert_null(dbg_score_model_load(bad_model));
    assert_non_null(strstr(dbg_err_msg(), "部分符合"));
    unlink(bad_model);
    free(bad_model);
}

/* An error in an attestation or waiver names the line (and column) of the field that is wrong,
 * not the line its entry starts on: the second entry starts at line 10, its bad field is on
 * line 14. A field the entry lacks has no line of its own: the entry's line and its name. */
static void test_input_error_lines(void **state)
{
    (void)state;
    static const char head[] = "attestations:\n"              /* 1 */
                               "  - item: L3-cloud-8.2.1.1\n" /* 2 */
                               "    verdict: 符合\n"
                               "    attested_by: a\n"
                               "    date: 2026-11-01\n"
                               "    document: d\n"
                               "\n"
                               "\n"
                               "\n"
                               "  - item: L3-cloud-8.2.6.1a\n" /* 10 */
                               "    attested_by: 王磊\n";
    static const struct {
        const char *tail, *want;
    } cases[] = {
        {"    verdict: 符合\n    document: d\n    date: 2026-13-01\n",
         ":14:11: date '2026-13-01' is not YYYY-MM-DD"},
        {"    date: 2026-11-01\n    document: d\n    verdict: 通过\n",
         ":14:14: verdict '通过' is not 符合, 部分符合, 不符合 or 不适用"},
        {"    verdict: 符合\n    date: 2026-11-01\n    note: x\n",
         ":10: 'document' is missing from the entry at this line"},
        {"    verdict: 符合\n    date: 2026-11-01\n    document: d\n    notes: x\n",
         ":15:5: unknown key 'notes' in an entry (allowed: item, verdict, attested_by, date, "
         "document, note)"},
        {"    verdict: 符合\n    date: 2026-11-01\n    document:\n      - a\n",
         ":15:7: 'document' is not text"},
        /* a byte that is not UTF-8 (Latin-1 é) was put at 1:1 wherever it was */
        {"    verdict: 符合\n    date: 2026-11-01\n    document: d\xe9\n",
         ":14:16: incomplete UTF-8 octet sequence"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text), "%s%s", head, cases[i].tail);
        dbg_assess_inputs in = {0};
        int r = dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text));
        char want[256];
        snprintf(want, sizeof(want), "attest.yaml%s", cases[i].want);
        if (r != -1 || strcmp(dbg_err_msg(), want))
            print_message("case %zu: r=%d\n  want %s\n  got  %s\n", i, r, want, dbg_err_msg());
        assert_int_equal(r, -1);
        assert_string_equal(dbg_err_msg(), want);
        dbg_assess_inputs_free(&in);
    }
    static const struct {
        const char *text, *want;
    } waivers[] = {
        {"waivers:\n  - item: 8.2.1.1\n    owner: o\n    justification: j\n\n    expiry: "
         "2027-02-30\n",
         "waivers.yaml:6:13: expiry '2027-02-30' is not YYYY-MM-DD"},
        {"waivers:\n  - justification: j\n    owner: o\n    check: no.such\n    expiry: "
         "2027-01-01\n",
         "waivers.yaml:4:12: no check 'no.such'"},
        {"waivers:\n  - item: 8.2.1.1\n    justification: j\n    expiry: 2027-01-01\n",
         "waivers.yaml:2: 'owner' is missing from the entry at this line"},
    };
    for (size_t i = 0; i < sizeof(waivers) / sizeof(waivers[0]); i++) {
        dbg_assess_inputs in = {0};
        int r =
            dbg_waivers_load_buffer(&in, "waivers.yaml", waivers[i].text, strlen(waivers[i].text));
        if (r != -1 || strcmp(dbg_err_msg(), waivers[i].want))
            print_message("waiver case %zu: got %s\n", i, dbg_err_msg());
        assert_int_equal(r, -1);
        assert_string_equal(dbg_err_msg(), waivers[i].want);
        dbg_assess_inputs_free(&in);
    }
}

/* An error in the scoring model names the line and column of the value that is wrong, as the
 * attestation and waiver files' do, not the line its mapping starts on (of the key, for a key
 * the model does not have); a field a mapping lacks has no place of its own: the mapping's line
 * and the field's name. */
static void test_model_error_lines(void **state)
{
    (void)state;
    static const char fmt[] = "model: t\n"   /* 1 */
                              "formula: f\n" /* 2 */
                              "%s\n"         /* 3: unverified */
                              "deduction:\n"
                              "  符合: \"0\"\n"
                              "%s\n" /* 6: 部分符合 */
                              "  不符合: \"1\"\n"
                              "  未检查: \"1\"\n"
                              "%s\n" /* 9: basic_compliance */
                              "conclusions:\n"
                              "  优: \"90\"\n"
                              "%s\n" /* 12: 良 */
                              "  中: \"70\"\n"
                              "bar:\n"
                              "%s\n"; /* 15: min_score */
    static const struct {
        const char *unverified, *partial, *basic, *good, *min_score, *want;
    } cases[] = {
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  min_score: \"75\"", NULL},
        {"unverified: maybe", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  min_score: \"75\"", ":3:13: 'unverified' is 'maybe', must be true or false"},
        {"unverified: true", "  部分符合: half", "basic_compliance: \"75\"", "  良: \"80\"",
         "  min_score: \"75\"", ":6:9: '部分符合' is 'half', not a decimal number 0..1000"},
        /* strtod's hex and blanks: "0x4B" was 75, " 75" 75 */
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"0x4B\"", "  良: \"80\"",
         "  min_score: \"75\"",
         ":9:19: 'basic_compliance' is '0x4B', not a decimal number 0..1000"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \" 75\"", "  良: \"80\"",
         "  min_score: \"75\"", ":9:19: 'basic_compliance' is ' 75', not a decimal number 0..1000"},
        {"unverified: true", "  部分符合: \"1.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  min_score: \"75\"", ":6:9: deduction '部分符合' is '1.5', not within 0..1"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: [75]", "  良: \"80\"",
         "  min_score: \"75\"", ":9:19: 'basic_compliance' is a list or mapping, not text"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"95\"",
         "  min_score: \"75\"",
         ":12:6: 良 '95' is above 优 '90': conclusions must satisfy 优 >= 良 >= 中"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"60\"",
         "  min_score: \"75\"",
         ":13:6: 中 '70' is above 良 '60': conclusions must satisfy 优 >= 良 >= 中"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  no_open_high_risk: \"true\"",
         ":15: 'min_score' is missing from the mapping at this line"},
        /* A key the model does not have is refused at the key with the keys allowed there: a
         * typo of an optional one kept its default without a word, one of a required one was
         * reported as that key missing. */
        {"unverified: true\ndefault_wieght: \"2\"", "  部分符合: \"0.5\"",
         "basic_compliance: \"75\"", "  良: \"80\"", "  min_score: \"75\"",
         ":4:1: unknown key 'default_wieght' in the scoring model (allowed: model, formula, "
         "unverified, note, deduction, default_weight, basic_compliance, conclusions, "
         "high_risk_forces_poor, bar)"},
        {"unverified: true", "  部分符合: \"0.5\"\n  不适用: \"0\"", "basic_compliance: \"75\"",
         "  良: \"80\"", "  min_score: \"75\"",
         ":7:3: unknown key '不适用' in 'deduction' (allowed: 符合, 部分符合, 不符合, 未检查)"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"",
         "  良: \"80\"\n  差: \"0\"", "  min_score: \"75\"",
         ":13:3: unknown key '差' in 'conclusions' (allowed: 优, 良, 中)"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  min_score: \"75\"\n  no_open_high_risks: \"false\"",
         ":16:3: unknown key 'no_open_high_risks' in 'bar' (allowed: min_score, "
         "no_open_high_risk)"},
        {"unverified: true", "  部分符合: \"0.5\"", "basic_compliance: \"75\"", "  良: \"80\"",
         "  - 75", ":15:3: 'bar' must be a mapping"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text), fmt, cases[i].unverified, cases[i].partial, cases[i].basic,
                 cases[i].good, cases[i].min_score);
        char *path = write_tmp(text);
        dbg_score_model *m = dbg_score_model_load(path);
        char want[256] = "";
        if (cases[i].want)
            snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
        if (cases[i].want ? m || strcmp(dbg_err_msg(), want) : !m)
            print_message("case %zu:\n  want %s\n  got  %s\n", i, want,
                          m ? "(loaded)" : dbg_err_msg());
        if (cases[i].want) {
            assert_null(m);
            assert_string_equal(dbg_err_msg(), want);
        } else {
            assert_non_null(m);
        }
        dbg_score_model_free(m);
        unlink(path);
        free(path);
    }
}

/* A file that is no scoring model names its line like every other error of the model (the
 * document's top node, the mapping without 'model', the 'model' value): it named the file alone,
 * and an empty or blank name, which the report would state as the model's, loaded. The texts
 * the report states beside it, formula and note, are refused at their value when a list or
 * mapping, as a number or flag is (they became ""). */
static void test_model_not_a_model(void **state)
{
    (void)state;
    static const char rest[] =
        "deduction: {符合: \"0\", 部分符合: \"0.5\", 不符合: \"1\", 未检查: \"1\"}\n"
        "basic_compliance: \"75\"\n"
        "conclusions: {优: \"90\", 良: \"80\", 中: \"70\"}\n"
        "bar: {min_score: \"75\"}\n";
    static const struct {
        const char *head, *want;
        int with_rest; /* the model's other keys follow head */
    } cases[] = {
        {"model: t\n", NULL, 1},
        {"# a comment\n\n- model: t\n", "m.yaml:3:1: not a scoring model (a list, not a mapping)",
         0},
        {"just text\n", "m.yaml:1:1: not a scoring model (text, not a mapping)", 0},
        /* libyaml puts the empty node after a last '---' without a line break on a line after
         * the last: it is named on the last line */
        {"# a comment\n---", "m.yaml:2:4: not a scoring model (text, not a mapping)", 0},
        /* so is the empty value after a last '{1', here one level too deep */
        {"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{1", "m.yaml:1:35: nesting deeper than 32", 0},
        {"", "m.yaml:1:1: not a scoring model (no 'model' name in an empty document)", 0},
        {"# two lines\n# of comments\n",
         "m.yaml:1:1: not a scoring model (no 'model' name in an empty document)", 0},
        {"# a comment\nformula: f\n",
         "m.yaml:2:1: not a scoring model (no 'model' name in the mapping at this line)", 1},
        {"# a comment\nmodel: ~\n", "m.yaml:2:8: not a scoring model ('model' is null)", 1},
        {"model: \"\"\n", "m.yaml:1:8: not a scoring model ('model' is blank)", 1},
        {"model: \"\u3000 \"\n", "m.yaml:1:8: not a scoring model ('model' is blank)", 1},
        {"model: [t]\n", "m.yaml:1:8: 'model' is a list or mapping, not text", 1},
        /* formula and note as a list or mapping became "" without a word */
        {"model: t\nformula: ~\nnote: ~\n", NULL, 1},
        {"model: t\nformula:\n  - M = 100\n",
         "m.yaml:3:3: 'formula' is a list or mapping, not text", 1},
        {"model: t\nnote: {a: b}\n", "m.yaml:2:7: 'note' is a list or mapping, not text", 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text), "%s%s", cases[i].head, cases[i].with_rest ? rest : "");
        dbg_score_model *m = dbg_score_model_load_buffer("m.yaml", text, strlen(text));
        if (cases[i].want ? m || strcmp(dbg_err_msg(), cases[i].want) : !m)
            print_message("case %zu:\n  want %s\n  got  %s\n", i,
                          cases[i].want ? cases[i].want : "(loaded)",
                          m ? "(loaded)" : dbg_err_msg());
        if (cases[i].want) {
            assert_null(m);
            assert_string_equal(dbg_err_msg(), cases[i].want);
        } else {
            assert_non_null(m);
            assert_string_equal(m->name, "t");
        }
        dbg_score_model_free(m);
    }
    /* the file is named by its path, as before */
    char *path = write_tmp("- model: t\n");
    assert_null(dbg_score_model_load(path));
    char want[512];
    snprintf(want, sizeof(want), "%s:1:1: not a scoring model (a list, not a mapping)", path);
    assert_string_equal(dbg_err_msg(), want);
    unlink(path);
    free(path);
}

/* The reader's own refusals name line and column, as libyaml's syntax errors and every field
 * error do: a duplicate key, nesting too deep, an alias and a second document named the line
 * alone. */
static void test_yaml_reader_columns(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"model: t\nbar: {min_score: \"75\"}\n  \nbar: {}\n",
         "m.yaml:4:1: duplicate key 'bar' (first at line 2)"},
        {"model: t\nbar:\n  min_score: \"75\"\n  min_score: \"80\"\n",
         "m.yaml:4:3: duplicate key 'min_score' (first at line 3)"},
        {"model: t\nx: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
         "m.yaml:2:36: nesting deeper than 32"},
        {"model: &m t\nnote: *m\n", "m.yaml:2:7: aliases are not supported"},
        {"model: t\n---\nmodel: u\n", "m.yaml:2:1: more than one YAML document ('---')"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_score_model *m =
            dbg_score_model_load_buffer("m.yaml", cases[i].text, strlen(cases[i].text));
        if (m || strcmp(dbg_err_msg(), cases[i].want))
            print_message("case %zu:\n  want %s\n  got  %s\n", i, cases[i].want,
                          m ? "(loaded)" : dbg_err_msg());
        assert_null(m);
        assert_string_equal(dbg_err_msg(), cases[i].want);
    }
}

/* YAML's "\0" escape puts a NUL in a quoted text, where a C string ends: a deduction
 * "0\0junk" loaded as 0, an attester "李四\0x" as 李四. The reader refuses it at the text. */
static void test_yaml_nul(void **state)
{
    (void)state;
    static const char model[] =
        "model: t\n"
        "deduction: {符合: \"0\\0junk\", 部分符合: \"0.5\", 不符合: \"1\", 未检查: \"1\"}\n"
        "basic_compliance: \"75\"\n"
        "conclusions: {优: \"90\", 良: \"80\", 中: \"70\"}\n"
        "bar: {min_score: \"75\"}\n";
    dbg_score_model *m = dbg_score_model_load_buffer("m.yaml", model, strlen(model));
    if (m)
        print_message("loaded, 符合 %g\n", m->deduction[DBG_VERDICT_PASS]);
    assert_null(m);
    assert_string_equal(dbg_err_msg(), "m.yaml:2:17: text holds a NUL character ('\\0')");
    static const char attest[] = "attestations:\n"
                                 "  - item: L3-cloud-8.2.1.1\n"
                                 "    \"attested_by\\0x\": 李四\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", attest, strlen(attest)), -1);
    assert_string_equal(dbg_err_msg(), "a.yaml:3:5: text holds a NUL character ('\\0')");
    dbg_assess_inputs_free(&in);
}

/* 不适用 takes an item out of the score, a high-risk one out of the open and unchecked high-risk
 * counts: an attestation of it needs a reason (its note), the item's reason carries it, and the
 * text and HTML summaries list every high-risk item out of the score with who said so and why. */
static void test_attest_not_applicable(void **state)
{
    (void)state;
    static const char no_note[] = "attestations:\n"
                                  "  - item: L3-cloud-8.2.6.1a\n"
                                  "    attested_by: 李四\n"
                                  "    verdict: 不适用\n"
                                  "    date: 2026-11-02\n"
                                  "    document: SLA v3\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", no_note, strlen(no_note)), -1);
    assert_string_equal(
        dbg_err_msg(), "a.yaml:4:14: verdict 不适用 needs a 'note' giving the reason the item does "
                       "not apply (it takes the item out of the score; the report shows the "
                       "reason)");
    dbg_assess_inputs_free(&in);
    char blank_note[sizeof(no_note) + 32];
    /* blanks as they look: ASCII, the ideographic space of a Chinese input method, NBSP, a
     * zero-width space */
    static const char *const blanks[] = {"' '", "'\u3000\u3000'", "\"\\u00a0\"",
                                         "\"\\u200b \\u3000\""};
    for (size_t i = 0; i < sizeof(blanks) / sizeof(blanks[0]); i++) {
        snprintf(blank_note, sizeof(blank_note), "%s    note: %s\n", no_note, blanks[i]);
        assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", blank_note, strlen(blank_note)), -1);
        assert_non_null(strstr(dbg_err_msg(), "a.yaml:4:14: verdict 不适用 needs a 'note'"));
        dbg_assess_inputs_free(&in);
    }
    /* YAML's null is no note (it once read as the text "~"); quoted, "~" is text */
    static const char *const nulls[] = {"~", "null", "NULL"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        snprintf(blank_note, sizeof(blank_note), "%s    note: %s\n", no_note, nulls[i]);
        assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", blank_note, strlen(blank_note)), -1);
        assert_non_null(strstr(dbg_err_msg(), "a.yaml:4:14: verdict 不适用 needs a 'note'"));
        dbg_assess_inputs_free(&in);
    }
    snprintf(blank_note, sizeof(blank_note), "%s    note: '~'\n", no_note);
    assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", blank_note, strlen(blank_note)), 0);
    dbg_assess_inputs_free(&in);
    /* a required field given as null is named so */
    static const char null_doc[] = "attestations:\n"
                                   "  - item: L3-cloud-8.2.6.1a\n"
                                   "    attested_by: 李四\n"
                                   "    verdict: 符合\n"
                                   "    date: 2026-11-02\n"
                                   "    document: ~\n"
                                   "    note: ~\n";
    assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", null_doc, strlen(null_doc)), -1);
    assert_string_equal(dbg_err_msg(), "a.yaml:6:15: 'document' is null (YAML ~ or null: no text)");
    dbg_assess_inputs_free(&in);
    /* a note with something visible beside its blanks is one */
    snprintf(blank_note, sizeof(blank_note), "%s    note: '\u3000无\u3000'\n", no_note);
    assert_int_equal(dbg_attest_load_buffer(&in, "a.yaml", blank_note, strlen(blank_note)), 0);
    dbg_assess_inputs_free(&in);

    dbg_score_model *m = model();
    char *attest = write_tmp("attestations:\n"
                             "  - item: L3-cloud-8.2.1.1\n"
                             "    verdict: 不适用\n"
                             "    attested_by: 张三\n"
                             "    date: 2026-11-01\n"
                             "    document: 定级报告\n"
                             "    note: 平台无自有机房\n"
                             "  - item: L3-cloud-8.2.6.1a\n"
                             "    verdict: 不适用\n"
                             "    attested_by: 李四\n"
                             "    date: 2026-11-02\n"
                             "    document: SLA v3\n"
                             "    note: 自建平台\n");
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    dbg_snapshot s = snap();
    json_t *r = run_with(&s, m, &in, attest);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "不适用");
    assert_non_null(
        strstr(json_string_value(json_object_get(item(r, "L3-cloud-8.2.1.1"), "reason")),
               "attested by 张三 on 2026-11-01; not applicable: 平台无自有机房"));
    /* out of the score and of the unchecked high-risk count, as the model says */
    const json_t *sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "unchecked_high_risk")), 0);
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, sum = {.lang = DBG_LANG_ZH, .summary_only = 1},
                    en = {.lang = DBG_LANG_EN};
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &sum);
    assert_non_null(strstr(text,
                           "\n不适用的高风险项 (不计分): 1\n"
                           "  8.2.1.1 基础设施位置: 人工确认 张三 2026-11-01 — 平台无自有机房\n"));
    assert_null(strstr(text, "自建平台")); /* an ordinary item is not listed */
    free(text);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(text,
                           "\nHigh-risk items not applicable (not scored): 1\n"
                           "  8.2.1.1 基础设施位置: Attested 张三 2026-11-01 — 平台无自有机房\n"));
    free(text);
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_non_null(strstr(html, "<tr><th>不适用的高风险项 (不计分)</th><td>8.2.1.1 基础设施位置: "
                                 "人工确认 张三 2026-11-01 — 平台无自有机房</td></tr>"));
    free(html);
    json_decref(r);
    /* none: no line at all, so a report without such items reads as before */
    r = run(&s, m, NULL);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_null(strstr(text, "不适用的高风险项"));
    assert_null(strstr(html, "不适用的高风险项"));
    free(text);
    free(html);
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(attest);
    free(attest);
    dbg_score_model_free(m);
}

/* An attestation names its item by id or by clause as `dengbao catalog show` takes it; two
 * entries naming one item by different names are refused, whatever their order. */
static void test_attest_names(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    char *attest = write_tmp("attestations:\n"
                             "  - item: 8.2.6.1 a)\n"
                             "    verdict: 部分符合\n"
                             "    attested_by: 李四\n"
                             "    date: 2026-11-02\n"
                             "    document: SLA v3\n"
                             "  - verdict: 符合\n"
                             "    attested_by: 李四\n"
                             "    date: 2026-11-02\n"
                             "    document: SLA v3\n"
                             "    item:   8.2.6.9z\n");
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, &in);
    assert_string_equal(verdict(r, "L3-cloud-8.2.6.1a"), "部分符合");
    /* an item the level lacks: the warning points at the item's value, not at the entry */
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 1);
    assert_string_equal(json_string_value(json_array_get(w, 0)),
                        "attest.yaml:11:13: attestation for 8.2.6.9z ignored: no such item at "
                        "this level");
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(attest);
    free(attest);
    attest = write_tmp("attestations:\n"
                       "  - item: L3-cloud-8.2.1.1\n"
                       "    verdict: 符合\n"
                       "    attested_by: 张三\n"
                       "    date: 2026-11-01\n"
                       "    document: 合同\n"
                       "  - item: 8.2.1.1\n"
                       "    verdict: 不符合\n"
                       "    attested_by: 李四\n"
                       "    date: 2026-11-02\n"
                       "    document: 巡检记录\n");
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    for (size_t i = 0; i < N_ITEMS; i++)
        item_ptrs[i] = &items_def[i];
    dbg_assess_request req = {.items = item_ptrs,
                              .n_items = N_ITEMS,
                              .snapshot = &s,
                              .params = {.level = 3, .hosts_level = -1},
                              .model = m,
                              .inputs = &in,
                              .attest_path = "attest.yaml"};
    assert_null(dbg_assess_run(&req));
    assert_non_null(strstr(
        dbg_err_msg(),
        "attest.yaml:7:11: item 8.2.1.1 is already attested at line 2 (as L3-cloud-8.2.1.1)"));
    dbg_assess_inputs_free(&in);
    unlink(attest);
    free(attest);
    dbg_score_model_free(m);
}

/* A waiver for an item or check this level does not have is a mistake the result says, not
 * only an unused waiver. */
static void test_waiver_covers_nothing(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "waivers:\n"
                               "  - item: 8.2.4.3 b)\n"
                               "    justification: j\n"
                               "    owner: o\n"
                               "    expiry: 2027-01-01\n"
                               "  - item: L3-cloud-8.2.4.3c\n"
                               "    justification: j\n"
                               "    owner: o\n"
                               "    expiry: 2027-01-01\n"
                               "  - check: ctl.sensor\n"
                               "    justification: j\n"
                               "    owner: o\n"
                               "    expiry: 2027-01-01\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_waivers_load_buffer(&in, "w.yaml", text, strlen(text)), 0);
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, &in);
    assert_true(json_is_object(json_object_get(item(r, "L3-cloud-8.2.4.3b"), "waiver")));
    const json_t *w = json_object_get(r, "warnings");
    assert_int_equal(json_array_size(w), 2);
    assert_string_equal(
        json_string_value(json_array_get(w, 0)),
        "waivers.yaml:6:11: waiver for item L3-cloud-8.2.4.3c covers nothing: no such "
        "item at this level");
    assert_string_equal(
        json_string_value(json_array_get(w, 1)),
        "waivers.yaml:10:12: waiver for check ctl.sensor covers nothing: no item at "
        "this level runs that check");
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

static void test_baseline(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *old = run(&s, m, NULL);
    /* The old run had the guard; now it is gone (regression); time sync was failing before. */
    json_object_set_new((json_t *)item(old, "L3-cloud-8.2.4.3b"), "verdict", json_string("符合"));
    json_object_set_new((json_t *)item(old, "L3-general-8.1.4.3b"), "verdict",
                        json_string("不符合"));
    json_t *now = run(&s, m, NULL);
    assert_int_equal(dbg_assess_baseline(now, old, "old.json"), 0);
    const json_t *b = json_object_get(now, "baseline");
    const json_t *reg = json_object_get(b, "regressions");
    assert_int_equal(json_array_size(reg), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(reg, 0), "id")),
                        "L3-cloud-8.2.4.3b");
    assert_string_equal(json_string_value(json_object_get(json_array_get(reg, 0), "to")), "不符合");
    const json_t *imp = json_object_get(b, "improvements");
    assert_int_equal(json_array_size(imp), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(imp, 0), "from")),
                        "不符合");
    assert_int_equal(dbg_assess_validate(now, "now"), 0);
    assert_int_equal(json_array_size(json_object_get(now, "warnings")), 0);
    /* another level's result: nothing is compared, and the result says so */
    json_t *again = run(&s, m, NULL);
    json_object_set_new(old, "level", json_integer(2));
    assert_int_equal(dbg_assess_baseline(again, old, "l2.json"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(again, "warnings"), 0)),
                        "baseline l2.json is a level-2 result and this assessment is level 3: no "
                        "item is compared (0 new, 0 removed)");
    json_decref(again);
    json_decref(old);
    json_decref(now);
    dbg_score_model_free(m);
}

/* Names and attesters longer than any fixed buffer: nothing is cut inside a character and
 * dropped; text jansson cannot store fails the run instead of vanishing. */
static void test_long_utf8(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_buf name;
    dbg_buf_init(&name, 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(dbg_buf_adds(&name, "门户"), 0);
    assert_int_equal(dbg_buf_adds(&name, "-b-portal-01"), 0);
    dbg_graphics gfx = {.type = (char *)"vnc", .listen = (char *)"0.0.0.0", .port = -1};
    dbg_domain dom = {.name = name.data, .graphics = &gfx, .n_graphics = 1};
    dbg_snapshot s = snap();
    s.domains = &dom;
    s.n_domains = 1;
    json_t *r = run(&s, m, NULL);
    const json_t *ev = json_object_get(item(r, "L3-general-8.1.4.1c"), "evidence");
    assert_int_equal(json_array_size(ev), 1);
    const json_t *e = json_array_get(ev, 0);
    assert_true(json_is_false(json_object_get(e, "ok")));
    assert_non_null(strstr(json_string_value(json_object_get(e, "source")), "门户门户"));
    assert_string_equal(verdict(r, "L3-general-8.1.4.1c"), "不符合");
    json_decref(r);
    dbg_buf_free(&name);

    dbg_buf yaml;
    dbg_buf_init(&yaml, 0);
    assert_int_equal(dbg_buf_adds(&yaml, "attestations:\n  - item: L3-cloud-8.2.1.1\n"
                                         "    verdict: 符合\n    attested_by: a"),
                     0);
    for (int i = 0; i < 340; i++)
        assert_int_equal(dbg_buf_adds(&yaml, "陈"), 0);
    assert_int_equal(dbg_buf_adds(&yaml, "\n    date: 2026-11-01\n    document: 合同\n"), 0);
    char *attest = write_tmp(yaml.data);
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load(&in, attest), 0);
    s.n_domains = 0;
    r = run(&s, m, &in);
    const char *reason = json_string_value(json_object_get(item(r, "L3-cloud-8.2.1.1"), "reason"));
    assert_non_null(reason);
    assert_non_null(strstr(reason, "陈陈 on 2026-11-01"));
    json_decref(r);
    dbg_assess_inputs_free(&in);
    unlink(attest);
    free(attest);
    dbg_buf_free(&yaml);

    dom.name = (char *)"bad\xff-vm";
    s.n_domains = 1;
    for (size_t i = 0; i < N_ITEMS; i++)
        item_ptrs[i] = &items_def[i];
    dbg_assess_request req = {.items = item_ptrs,
                              .n_items = N_ITEMS,
                              .snapshot = &s,
                              .params = {.level = 3, .hosts_level = -1},
                              .model = m};
    assert_null(dbg_assess_run(&req));
    assert_non_null(strstr(dbg_err_msg(), "L3-general-8.1.4.1c: a piece of evidence could not be "
                                          "stored in the result"));
    dbg_score_model_free(m);
}

static void test_validate(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } cases[] = {
        {"[]", "$: not a JSON object"},
        {"{}", "$.schema_version"},
        {"{\"schema_version\": 9}", "this dengbao reads 1"},
        {"{\"schema_version\": 1, \"platform\": {}, \"level\": 3, \"score\": {\"value\": 1, "
         "\"value_after_waivers\": 1, \"model\": {}, \"counts\": {}, \"conclusion\": \"差\", "
         "\"conclusion_after_waivers\": \"差\"}, \"items\": [{\"id\": \"a\", \"clause\": \"c\", "
         "\"layer\": \"l\", \"control_point\": \"p\", \"text\": \"t\", \"verdict\": \"maybe\", "
         "\"reason\": \"r\", \"remediation\": \"x\", \"evidence\": [], \"checks\": []}], \"gaps\": "
         "[]}",
         "$.items[0].verdict"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *doc = json_loads(cases[i].json, 0, NULL);
        assert_non_null(doc);
        assert_int_equal(dbg_assess_validate(doc, "saved.json"), -1);
        if (!strstr(dbg_err_msg(), cases[i].needle))
            print_message("%s\n", dbg_err_msg());
        assert_non_null(strstr(dbg_err_msg(), cases[i].needle));
        json_decref(doc);
    }
    /* A gap's risk goes into markup: only the levels the assessment writes are accepted. */
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    assert_int_equal(dbg_assess_validate(r, "saved.json"), 0);
    json_t *gap =
        json_array_get(json_object_get(json_array_get(json_object_get(r, "gaps"), 0), "items"), 0);
    assert_non_null(gap);
    json_object_set_new(gap, "risk", json_string("x\"><script>alert(1)</script>"));
    assert_int_equal(dbg_assess_validate(r, "saved.json"), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.gaps[0].items[0].risk: not one of 高 中 低"));
    json_object_set_new(gap, "risk", json_string("高"));
    json_object_del(gap, "remediation");
    assert_int_equal(dbg_assess_validate(r, "saved.json"), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.gaps[0].items[0].remediation"));
    json_object_set_new(gap, "remediation", json_string("x"));
    json_object_set_new(gap, "evidence", json_pack("[{s:s}]", "source", "s"));
    assert_int_equal(dbg_assess_validate(r, "saved.json"), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.gaps[0].items[0].evidence[0].check"));
    json_decref(r);
    dbg_score_model_free(m);

    char *p = write_tmp("{\"schema_version\": 1,");
    assert_null(dbg_assess_load(p));
    assert_non_null(strstr(dbg_err_msg(), p));
    unlink(p);
    free(p);
}

static void test_reports(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    s.uri = (char *)"test:///<script>alert(1)</script>";
    s.hostname = (char *)"h1\033[2J\033]0;owned\007\r\n\xc2\x9b"
                         "31m";
    json_t *r = run(&s, m, NULL);
    json_array_append_new(json_object_get(r, "warnings"), json_string("attest <b>ignored</b>"));
    char *json = dbg_report_render(r, DBG_REPORT_JSON, NULL);
    assert_non_null(json);
    json_t *back = json_loads(json, 0, NULL);
    assert_non_null(back);
    assert_int_equal(dbg_assess_validate(back, "roundtrip"), 0);
    char *again = dbg_report_render(back, DBG_REPORT_JSON, NULL);
    assert_string_equal(json, again); /* stable bytes: what `assess --snapshot` relies on */
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, en = {.lang = DBG_LANG_EN}, col = {.color = 1};
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_non_null(strstr(html, "<html lang=\"zh-CN\">"));
    assert_non_null(strstr(html, "<svg"));
    assert_non_null(strstr(html, "差距汇总"));
    assert_non_null(strstr(html, "@media print"));
    assert_null(strstr(html, "<script>"));
    assert_non_null(strstr(html, "&lt;script&gt;"));
    assert_null(strstr(html, "<link")); /* self-contained: nothing fetched */
    assert_null(strstr(html, " src="));
    /* the run's warnings are on the page as in the text report */
    assert_non_null(strstr(html, "<li>attest &lt;b&gt;ignored&lt;/b&gt;</li>"));
    /* A renderer handed a risk it does not know keeps it out of the markup. */
    json_t *gap =
        json_array_get(json_object_get(json_array_get(json_object_get(r, "gaps"), 0), "items"), 0);
    json_object_set_new(gap, "risk", json_string("x\"><script>alert(1)</script>"));
    char *evil = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_non_null(evil);
    assert_null(strstr(evil, "<script>"));
    assert_non_null(strstr(evil, "<td class=\"risk-other\">x&quot;&gt;&lt;script&gt;"));
    free(evil);
    json_object_set_new(gap, "risk", json_string("高"));
    char *html_en = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_non_null(strstr(html_en, "Gap summary"));
    assert_non_null(strstr(html_en, "non-compliant"));
    /* the risk is shown in the report's language, as the verdict and conclusion are */
    assert_non_null(strstr(html_en, "<td class=\"risk-高\">high</td>"));
    assert_non_null(strstr(html, "<td class=\"risk-高\">高</td>"));
    char *text_en = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(text_en, "Risk: high"));
    assert_null(strstr(text_en, "Risk: 高"));
    free(text_en);
    char *junit = dbg_report_render(r, DBG_REPORT_JUNIT, &zh);
    assert_non_null(strstr(junit, "tests=\"6\" failures=\"1\" skipped=\"4\""));
    size_t cases = 0;
    for (const char *p = junit; (p = strstr(p, "<testcase ")); p++)
        cases++;
    assert_int_equal(cases, 6);
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_non_null(strstr(text, "综合得分: 20.00"));
    assert_non_null(strstr(text, "8.2.4.3b"));
    assert_null(strstr(text, "\033["));
    /* a name's control characters are shown, never sent to the terminal */
    assert_non_null(strstr(text, "h1\\x1b[2J\\x1b]0;owned\\x07\\r\\n\\u009b31m)"));
    assert_null(strstr(text, "\033"));
    assert_null(strstr(text, "\xc2\x9b"));
    assert_non_null(strstr(text, "提示: attest <b>ignored</b>"));
    char *coloured = dbg_report_render(r, DBG_REPORT_TEXT, &col);
    assert_non_null(strstr(coloured, "\033[31m不符合"));
    assert_null(strstr(coloured, "\033[2J"));
    free(json);
    free(again);
    free(html);
    free(html_en);
    free(junit);
    free(text);
    free(coloured);
    json_decref(back);
    json_decref(r);
    dbg_score_model_free(m);
}

static const json_t *gap_of(const json_t *r, const char *id)
{
    const json_t *groups = json_object_get(r, "gaps");
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const json_t *items = json_object_get(json_array_get(groups, g), "items");
        for (size_t i = 0; i < json_array_size(items); i++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(items, i), "id")), id))
                return json_array_get(items, i);
    }
    fail_msg("no gap %s", id);
    abort();
}

/* --lang en shows the catalog's English remediation (8.2.4.3b fails: no guard), the Chinese
 * reports do not change for it, and a result without it (a catalog older than remediation_en,
 * or a saved result) shows the Chinese in English reports, marked. JUnit gives it as the last
 * line of a failure's body, which CI shows; skipped items carry none. */
static void test_remediation_lang(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    assert_string_equal(verdict(r, "L3-cloud-8.2.4.3b"), "不符合");
    json_t *it = (json_t *)item(r, "L3-cloud-8.2.4.3b"),
           *gap = (json_t *)gap_of(r, "L3-cloud-8.2.4.3b");
    assert_string_equal(json_string_value(json_object_get(it, "remediation_en")),
                        "Deploy dengbao guard");
    assert_string_equal(json_string_value(json_object_get(gap, "remediation_en")),
                        "Deploy dengbao guard");
    assert_null(json_object_get(item(r, "L3-cloud-8.2.1.1"), "remediation_en"));
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, en = {.lang = DBG_LANG_EN};
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(text, "      Remediation: Deploy dengbao guard\n"));
    assert_null(strstr(text, "部署 dengbao guard"));
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_non_null(strstr(html, "<td>Deploy dengbao guard</td>"));
    char *zh_text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    char *zh_html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_non_null(strstr(zh_text, "      整改建议: 部署 dengbao guard\n"));
    assert_null(strstr(zh_text, "Deploy"));
    char *junit = dbg_report_render(r, DBG_REPORT_JUNIT, &en);
    char *zh_junit = dbg_report_render(r, DBG_REPORT_JUNIT, &zh);
    assert_non_null(strstr(junit, "Remediation: Deploy dengbao guard\n</failure>"));
    assert_non_null(strstr(zh_junit, "\n整改建议: 部署 dengbao guard\n</failure>"));
    /* the evidence line in the report's language too, as the text report gives it */
    assert_non_null(strstr(zh_junit, " (期望: "));
    assert_null(strstr(zh_junit, "(expected "));
    assert_non_null(strstr(junit, " (Expected: "));
    assert_null(strstr(zh_junit, "Deploy"));
    /* one failure (8.2.4.3b); the skipped 未检查 items' remediation is not shown */
    assert_non_null(strstr(zh_junit, "failures=\"1\""));
    assert_null(strstr(strstr(junit, "Remediation:") + 1, "Remediation:"));
    assert_null(strstr(zh_junit, "签署合同"));

    json_object_del(it, "remediation_en");
    json_object_del(gap, "remediation_en");
    assert_int_equal(dbg_assess_validate(r, "older"), 0);
    char *old_text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(old_text, "      Remediation: [Chinese only] 部署 dengbao guard\n"));
    char *old_html = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_non_null(strstr(old_html, "<td>[Chinese only] 部署 dengbao guard</td>"));
    char *old_junit = dbg_report_render(r, DBG_REPORT_JUNIT, &en);
    assert_non_null(
        strstr(old_junit, "Remediation: [Chinese only] 部署 dengbao guard\n</failure>"));
    char *old_zh_text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    char *old_zh_html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    char *old_zh_junit = dbg_report_render(r, DBG_REPORT_JUNIT, &zh);
    assert_string_equal(old_zh_text, zh_text); /* zh: the English key changes no byte */
    assert_string_equal(old_zh_html, zh_html);
    assert_string_equal(old_zh_junit, zh_junit);

    /* the remediation is text of a saved result: markup escaped, what XML cannot hold dropped,
     * a newline shown as \n so it starts no line that reads as evidence */
    json_object_set_new(it, "remediation",
                        json_string("<b>a & \"b\"</b>\x01\xef\xbf\xbe\n8.2.4.3b 符合 </failure>"));
    char *evil = dbg_report_render(r, DBG_REPORT_JUNIT, &zh);
    assert_non_null(strstr(evil,
                           "整改建议: &lt;b&gt;a &amp; &quot;b&quot;&lt;/b&gt;\\n8.2.4.3b 符合 "
                           "&lt;/failure&gt;\n</failure>"));
    assert_null(strstr(evil, "\x01"));
    assert_null(strstr(evil, "\xef\xbf\xbe")); /* U+FFFE: no XML character */

    json_object_set_new(gap, "remediation_en", json_integer(1));
    assert_int_equal(dbg_assess_validate(r, "bad"), -1);
    assert_non_null(strstr(dbg_err_msg(), "].remediation_en: not a string"));
    free(text);
    free(html);
    free(zh_text);
    free(zh_html);
    free(old_text);
    free(old_html);
    free(old_zh_text);
    free(old_zh_html);
    free(junit);
    free(zh_junit);
    free(old_junit);
    free(old_zh_junit);
    free(evil);
    json_decref(r);
    dbg_score_model_free(m);
}

/* A high-risk item not checked (the manual 8.2.1.1, unattested) is not shown as low risk:
 * its gap carries its catalog risk beside 未检查, the score counts it, and the text report
 * (full and summary, which otherwise folds 未检查 items into a count) and the HTML summary say
 * so. A 未检查 item that is not high-risk keeps 低. */
static void test_unchecked_high_risk(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_string_equal(json_string_value(json_object_get(gap_of(r, "L3-cloud-8.2.1.1"), "risk")),
                        "高");
    assert_string_equal(json_string_value(json_object_get(gap_of(r, "L3-cloud-8.2.6.1a"), "risk")),
                        "低");
    const json_t *sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "unchecked_high_risk")), 1);
    assert_int_equal(json_integer_value(json_object_get(sc, "unchecked_high_risk_after_waivers")),
                     1);
    assert_int_equal(json_integer_value(json_object_get(sc, "open_high_risk")), 1);

    dbg_report_opts full = {.lang = DBG_LANG_ZH}, sum = {.lang = DBG_LANG_ZH, .summary_only = 1},
                    en = {.lang = DBG_LANG_EN};
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &full);
    assert_non_null(strstr(text, "未检查高风险项: 1 (豁免后: 1)\n"));
    assert_non_null(strstr(text, "  8.2.1.1 基础设施位置 未检查  风险: 高  责任方: 云服务商\n"));
    free(text);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &sum);
    assert_non_null(strstr(text, "未检查高风险项: 1 (豁免后: 1)\n"));
    assert_non_null(strstr(text, "  8.2.1.1 基础设施位置 未检查  风险: 高  责任方: 云服务商\n"
                                 "      - manual item: not attested in attest.yaml\n"));
    /* the low-risk one is still folded into the count */
    assert_null(strstr(text, "8.2.6.1a"));
    assert_non_null(strstr(text, "  + 1 未检查\n"));
    free(text);
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_non_null(strstr(html, "<tr><th>High-risk items not checked</th><td>1 (After waivers: "
                                 "1)</td></tr>"));
    free(html);
    json_decref(r);
    dbg_score_model_free(m);
}

/* Gap risk: a high-risk item partly met is 中, an ordinary one partly met 低. */
static void test_partial_high_risk(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static char *time_and_unknown[] = {(char *)"host.time_sync", (char *)"no.such.check"};
    dbg_item defs[] = {
        {.id = (char *)"L3-t-hr-part",
         .level = 3,
         .clause = (char *)"8.9.2.1a",
         .layer = (char *)"安全计算环境",
         .control_point = (char *)"x",
         .text = (char *)"x",
         .weight = 1,
         .high_risk = 1,
         .checks = time_and_unknown,
         .n_checks = 2,
         .remediation = (char *)"x"},
        {.id = (char *)"L3-t-part",
         .level = 3,
         .clause = (char *)"8.9.2.1b",
         .layer = (char *)"安全计算环境",
         .control_point = (char *)"x",
         .text = (char *)"x",
         .weight = 1,
         .checks = time_and_unknown,
         .n_checks = 2,
         .remediation = (char *)"x"},
    };
    dbg_snapshot s = snap();
    json_t *r = run_items(defs, 2, &s, m, NULL);
    assert_string_equal(verdict(r, "L3-t-hr-part"), "部分符合");
    assert_string_equal(verdict(r, "L3-t-part"), "部分符合");
    assert_string_equal(json_string_value(json_object_get(gap_of(r, "L3-t-hr-part"), "risk")),
                        "中");
    assert_string_equal(json_string_value(json_object_get(gap_of(r, "L3-t-part"), "risk")), "低");
    json_decref(r);
    dbg_score_model_free(m);
}

/* A gap the assessor found where the checks saw none counts: 符合 attested 不符合 becomes
 * 部分符合 (the checks' part holds, the assessor's does not), with the document beside the
 * checks' evidence and both in the reason; attested 部分符合 the same. */
static void test_attest_finds_gap(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "attestations:\n"
                               "  - item: L3-general-8.1.4.3b\n"
                               "    verdict: 不符合\n"
                               "    attested_by: 王五\n"
                               "    date: 2026-11-02\n"
                               "    document: 现场核查：审计记录时间与标准时间相差 9 分钟\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    dbg_snapshot s = snap();
    json_t *plain = run(&s, m, NULL);
    assert_string_equal(verdict(plain, "L3-general-8.1.4.3b"), "符合");
    json_decref(plain);
    json_t *r = run(&s, m, &in);
    const json_t *it = item(r, "L3-general-8.1.4.3b");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "部分符合");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(it, "attestation"), "attested_by")),
        "王五");
    const char *why = json_string_value(json_object_get(it, "reason"));
    assert_non_null(strstr(why, "checks found no gap ("));
    assert_non_null(strstr(why, "the assessor found one: attested by 王五 on 2026-11-02"));
    const json_t *ev = json_object_get(it, "evidence");
    assert_true(json_array_size(ev) >= 2); /* the checks' and the attestation's */
    const json_t *last = json_array_get(ev, json_array_size(ev) - 1);
    assert_non_null(strstr(json_string_value(json_object_get(last, "source")), "attest.yaml:2"));
    assert_non_null(gap_of(r, "L3-general-8.1.4.3b"));
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

/* A high-risk item nobody showed counts as open for the conclusion and the bar, as 未检查
 * deducts as 不符合: a score high enough for 优 gives 差 and no bar met while it is not known,
 * and 优 and the bar once an assessor attests it. A model whose thresholds every score meets
 * isolates the rule. */
static void test_unchecked_high_risk_conclusion(void **state)
{
    (void)state;
    char *path =
        write_tmp("model: t\nformula: f\nunverified: true\nnote: n\n"
                  "deduction: {符合: \"0\", 部分符合: \"0.5\", 不符合: \"1\", 未检查: \"1\"}\n"
                  "default_weight: \"1\"\nbasic_compliance: \"0\"\n"
                  "conclusions: {优: \"0\", 良: \"0\", 中: \"0\"}\n"
                  "high_risk_forces_poor: \"true\"\n"
                  "bar: {min_score: \"0\", no_open_high_risk: \"true\"}\n");
    dbg_score_model *m = dbg_score_model_load(path);
    if (!m)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(m);
    dbg_item defs[2] = {items_def[2], items_def[3]}; /* 8.2.1.1 manual, high risk; chrony */
    dbg_snapshot s = snap();
    json_t *r = run_items(defs, 2, &s, m, NULL);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "未检查");
    assert_string_equal(verdict(r, "L3-general-8.1.4.3b"), "符合");
    const json_t *sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "open_high_risk")), 0);
    assert_int_equal(json_integer_value(json_object_get(sc, "unchecked_high_risk")), 1);
    assert_string_equal(score_str(r, "conclusion"), "差");
    assert_string_equal(score_str(r, "conclusion_after_waivers"), "差");
    assert_false(dbg_assess_meets_bar(r));
    json_decref(r);
    static const char text[] = "attestations:\n"
                               "  - item: L3-cloud-8.2.1.1\n"
                               "    verdict: 符合\n"
                               "    attested_by: 王五\n"
                               "    date: 2026-11-02\n"
                               "    document: 机房合同 HT-1\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_attest_load_buffer(&in, "attest.yaml", text, strlen(text)), 0);
    r = run_items(defs, 2, &s, m, &in);
    assert_string_equal(verdict(r, "L3-cloud-8.2.1.1"), "符合");
    assert_string_equal(score_str(r, "conclusion"), "优");
    assert_true(dbg_assess_meets_bar(r));
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
    unlink(path);
    free(path);
}

/* The high-risk item left 未检查 forces 差; its flag's basis says whether a verified list made it
 * high-risk. Unverified (or stated by no catalog): counted, and the reports say so at the
 * counts and the conclusion; verified: the same score, nothing extra. */
static void test_unverified_high_risk(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_item defs[2] = {items_def[2], items_def[3]}; /* 8.2.1.1 manual, high risk; chrony */
    dbg_snapshot s = snap();
    json_t *r = run_items(defs, 2, &s, m, NULL);
    const json_t *sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "unverified_high_risk")), 1);
    assert_int_equal(json_integer_value(json_object_get(sc, "unverified_high_risk_after_waivers")),
                     1);
    const json_t *basis =
        json_object_get(json_array_get(json_object_get(r, "items"), 0), "high_risk_basis");
    assert_true(json_is_false(json_object_get(basis, "verified")));
    assert_true(json_is_null(json_object_get(basis, "source")));
    assert_null(json_object_get(json_array_get(json_object_get(r, "items"), 1), "high_risk_basis"));
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, en = {.lang = DBG_LANG_EN};
    char *text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_non_null(
        strstr(text, "未检查高风险项: 1 (豁免后: 1)\n"
                     "  (其中 1 项的高风险判定依据未经核实的高风险清单: 目录未说明其依据)\n"));
    /* the score alone (50) is below 中: the 差 stands without the flags, said at the counts only */
    assert_non_null(strstr(text, "测评结论: 差   "));
    free(text);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(text, "  (1 of them flagged high-risk by a high-risk list not verified: "
                                 "the catalog states no basis)\n"));
    free(text);
    json_decref(r);
    /* with 中 from 40 up the score alone would be 中: the 差 rests on the unverified flag */
    double fair = m->fair;
    m->fair = 40;
    r = run_items(defs, 2, &s, m, NULL);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_non_null(strstr(text, "测评结论: 差 (高风险判定依据未经核实)   "));
    free(text);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &en);
    assert_non_null(strstr(text, "poor (high-risk flags not verified)"));
    free(text);
    json_decref(r);
    m->fair = fair;

    defs[0].high_risk_verified = 1;
    defs[0].high_risk_source = "T/ISEAA 001-2020";
    r = run_items(defs, 2, &s, m, NULL);
    sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "unverified_high_risk")), 0);
    assert_int_equal(json_integer_value(json_object_get(sc, "unchecked_high_risk")), 1);
    assert_string_equal(score_str(r, "conclusion"), "差");
    assert_int_equal(dbg_assess_check_summary(r, "r.json", m), 0);
    text = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_null(strstr(text, "高风险判定依据"));
    free(text);
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_null(strstr(html, "High-risk basis"));
    assert_null(strstr(html, "not verified)"));
    free(html);
    json_decref(r);
    dbg_score_model_free(m);
}

/* With the high-risk 8.2.4.3b waived, the HTML summary gives the open high-risk count before
 * and after waivers, as the text report does, so the page agrees with its own conclusion
 * after waivers. */
static void test_html_high_risk_after_waivers(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    static const char text[] = "waivers:\n"
                               "  - item: L3-cloud-8.2.4.3b\n"
                               "    justification: guard rollout planned for Q1\n"
                               "    owner: ops-team\n"
                               "    expiry: 2026-12-31\n";
    dbg_assess_inputs in = {0};
    assert_int_equal(dbg_waivers_load_buffer(&in, "w.yaml", text, strlen(text)), 0);
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, &in);
    const json_t *sc = json_object_get(r, "score");
    assert_int_equal(json_integer_value(json_object_get(sc, "open_high_risk")), 1);
    assert_int_equal(json_integer_value(json_object_get(sc, "open_high_risk_after_waivers")), 0);
    dbg_report_opts zh = {.lang = DBG_LANG_ZH}, en = {.lang = DBG_LANG_EN};
    char *txt = dbg_report_render(r, DBG_REPORT_TEXT, &zh);
    assert_non_null(strstr(txt, "未整改高风险项: 1 (豁免后: 0)"));
    char *html = dbg_report_render(r, DBG_REPORT_HTML, &zh);
    assert_non_null(strstr(html, "<tr><th>未整改高风险项</th><td>1 (豁免后: 0)</td></tr>"));
    char *html_en = dbg_report_render(r, DBG_REPORT_HTML, &en);
    assert_non_null(
        strstr(html_en, "<tr><th>Open high-risk items</th><td>1 (After waivers: 0)</td></tr>"));
    free(txt);
    free(html);
    free(html_en);
    json_decref(r);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(m);
}

/* A VM name is printed in the gap summary's evidence: a newline in it would forge a line of
 * the report, and a bidi override (U+202E) would reorder what follows it on the terminal.
 * Both are shown as escapes, in the full report and in the summary. */
static void test_text_escapes_names(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_graphics gfx = {.type = (char *)"vnc", .listen = (char *)"0.0.0.0", .port = -1};
    dbg_domain dom = {.name = (char *)"vm\n  8.2.4.3b 入侵防范 符合\xe2\x80\xae"
                                      "lanif\xe2\x81\xa6",
                      .graphics = &gfx,
                      .n_graphics = 1};
    dbg_snapshot s = snap();
    s.domains = &dom;
    s.n_domains = 1;
    json_t *r = run(&s, m, NULL);
    assert_string_equal(verdict(r, "L3-general-8.1.4.1c"), "不符合");
    dbg_report_opts full = {.lang = DBG_LANG_ZH}, sum = {.lang = DBG_LANG_ZH, .summary_only = 1};
    const dbg_report_opts *opts[] = {&full, &sum};
    for (size_t i = 0; i < 2; i++) {
        char *text = dbg_report_render(r, DBG_REPORT_TEXT, opts[i]);
        assert_non_null(text);
        assert_non_null(strstr(text, "(vm\\n  8.2.4.3b 入侵防范 符合\\u202elanif\\u2066)"));
        assert_null(strstr(text, "\n  8.2.4.3b 入侵防范 符合"));
        assert_null(strstr(text, "\xe2\x80\xae"));
        assert_null(strstr(text, "\xe2\x81\xa6"));
        free(text);
    }
    json_decref(r);
    dbg_score_model_free(m);
}

/* `dengbao report` recomputes the score from the items with the model: a saved value or count
 * that was edited is refused naming the field, the saved and the recomputed value; a result
 * named by another model cannot be recomputed (its deductions are not saved) and is refused. */
static void test_summary_recomputed(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    json_t *sc = json_object_get(r, "score");
    json_int_t ohr = json_integer_value(json_object_get(sc, "open_high_risk"));
    double value = json_number_value(json_object_get(sc, "value"));
    json_t *edited = json_deep_copy(r);
    json_t *esc = json_object_get(edited, "score");
    json_object_set_new(esc, "open_high_risk", json_integer(ohr + 1));
    json_object_set_new(esc, "value", json_real(value + 1));
    assert_int_equal(dbg_assess_check_summary(edited, "saved.json", m), -1);
    char want[200];
    snprintf(want, sizeof(want), "$.score.value: %.15g saved, %.15g recomputed", value + 1, value);
    if (!strstr(dbg_err_msg(), want))
        print_message("%s\n", dbg_err_msg());
    assert_non_null(strstr(dbg_err_msg(), want));
    snprintf(want, sizeof(want), "$.score.open_high_risk: %lld saved, %lld recomputed",
             (long long)ohr + 1, (long long)ohr);
    assert_non_null(strstr(dbg_err_msg(), want));
    json_decref(edited);
    /* an item's input to the score missing */
    edited = json_deep_copy(r);
    json_object_del(json_array_get(json_object_get(edited, "items"), 1), "high_risk");
    assert_int_equal(dbg_assess_check_summary(edited, "saved.json", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.items[1].high_risk: missing or not true/false"));
    json_decref(edited);
    /* the model the file names is not the one given */
    char *name = m->name;
    m->name = (char *)"another-model";
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), -1);
    m->name = name;
    assert_non_null(strstr(dbg_err_msg(), "$.score.model.name: 'dengbao-mlps2-deduction-v1', but "
                                          "this dengbao scores with 'another-model'"));
    m->good = 85;
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.score.model.conclusions.良: 80, but the model"));
    m->good = 80;
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), 0);
    /* what every report says of the model is the model's: unverified, and its note */
    json_t *saved_model = json_object_get(json_object_get(r, "score"), "model");
    json_object_set_new(saved_model, "unverified", json_false());
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.score.model.unverified: false, but the model"));
    json_object_set_new(saved_model, "unverified", json_true());
    json_object_set_new(saved_model, "note", json_string("verified against the official one"));
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.score.model.note differs from the note of the model"));
    json_object_set_new(saved_model, "note", json_string(m->note));
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), 0);
    json_decref(r);
    dbg_score_model_free(m);
}

/* A saved result's gaps are its items' as assess wrote them: each open item's once (a gap given
 * twice, another dropped, kept the count and hid a 不符合 item from the gap summary), with the
 * item's clause, layer and remediation, the risk and waived flag its item gives. */
static json_t *nth_gap(json_t *r, size_t n)
{
    json_t *groups = json_object_get(r, "gaps");
    for (size_t g = 0; g < json_array_size(groups); g++) {
        json_t *items = json_object_get(json_array_get(groups, g), "items");
        if (n < json_array_size(items))
            return json_array_get(items, n);
        n -= json_array_size(items);
    }
    return NULL;
}

static void test_gaps_follow_items(void **state)
{
    (void)state;
    dbg_score_model *m = model();
    dbg_snapshot s = snap();
    json_t *r = run(&s, m, NULL);
    assert_int_equal(dbg_assess_check_summary(r, "saved.json", m), 0);
    assert_int_equal(dbg_assess_check_gaps(r, "saved.json"), 0);
    assert_non_null(nth_gap(r, 1));
    struct {
        const char *key;
        json_t *value;
        const char *want;
    } edits[] = {
        {"clause", json_string("9.9.9"), ".clause: '9.9.9', but item '"},
        {"control_point", json_string("x"), ".control_point: 'x', but item '"},
        {"remediation", json_string("nothing to do"), ".remediation: 'nothing to do', but item"},
        {"risk", json_string("低"), ".risk: 低 saved, "},
        {"waived", json_true(), ".waived: true, but item '"},
        {"reason", json_string("all fine"), ".reason: 'all fine', but item '"},
        {"evidence",
         json_pack("[{s:s,s:s,s:s,s:s,s:b}]", "source", "s", "key", "k", "observed", "fine",
                   "expected", "e", "ok", 0),
         "].evidence"},
    };
    for (size_t k = 0; k < sizeof(edits) / sizeof(edits[0]); k++) {
        json_t *edited = json_deep_copy(r);
        json_t *gap = nth_gap(edited, 0);
        /* a risk no edit: the one the item gives is kept, so 低 is changed to 高 */
        if (!strcmp(edits[k].key, "risk") &&
            !strcmp(json_string_value(json_object_get(gap, "risk")), "低")) {
            json_decref(edits[k].value);
            edits[k].value = json_string("高");
            edits[k].want = ".risk: 高 saved, 低 recomputed from item '";
        }
        json_object_set_new(gap, edits[k].key, edits[k].value);
        assert_int_equal(dbg_assess_check_gaps(edited, "saved.json"), -1);
        if (!strstr(dbg_err_msg(), edits[k].want))
            print_message("%s\n", dbg_err_msg());
        assert_non_null(strstr(dbg_err_msg(), edits[k].want));
        json_decref(edited);
    }
    /* the first gap given twice in place of the second: the count still agrees */
    json_t *edited = json_deep_copy(r);
    const char *id = json_string_value(json_object_get(nth_gap(edited, 0), "id"));
    json_t *second = nth_gap(edited, 1);
    json_t *copy = json_deep_copy(nth_gap(edited, 0));
    json_object_update(second, copy);
    json_decref(copy);
    assert_int_equal(dbg_assess_check_gaps(edited, "saved.json"), -1);
    char want[200];
    snprintf(want, sizeof(want), ": a second gap for item '%s' (the first is $.gaps[0].items[0])",
             id);
    if (!strstr(dbg_err_msg(), want))
        print_message("%s\n", dbg_err_msg());
    assert_non_null(strstr(dbg_err_msg(), want));
    json_decref(edited);
    json_decref(r);
    dbg_score_model_free(m);
}

/* The items of a saved result against the catalog it names: each item of the level once, with
 * the catalog's weight (the model's default for an item without one) and high_risk. */
static void test_items_against_catalog(void **state)
{
    (void)state;
    static const char yaml[] = "schema: 1\n"
                               "extension: cloud\n"
                               "requirements:\n"
                               "  - levels: {3: 8.2.1.1}\n"
                               "    layer: 安全物理环境\n"
                               "    control_point: 基础设施位置\n"
                               "    text: t\n"
                               "    objects: [o]\n"
                               "    weight: 0.5\n"
                               "    high_risk: true\n"
                               "    checks: []\n"
                               "    remediation: r\n"
                               "  - levels: {3: 8.2.2.1b, 4: 9.2.2.1b}\n"
                               "    layer: 安全通信网络\n"
                               "    control_point: 网络架构\n"
                               "    text: t\n"
                               "    objects: [o]\n"
                               "    checks: []\n"
                               "    remediation: r\n";
    dbg_catalog_opts co = {0};
    dbg_catalog *cat = dbg_catalog_load_buffer("cat.yaml", yaml, sizeof(yaml) - 1, &co);
    if (!cat)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(cat);
    dbg_score_model *m = model();
    const dbg_item *key = dbg_catalog_find(cat, "L3-cloud-8.2.1.1", 3);
    const dbg_item *plain = dbg_catalog_find(cat, "L3-cloud-8.2.2.1b", 3);
    assert_non_null(key);
    assert_non_null(plain);
    double wkey = key->weight > 0 ? key->weight : m->default_weight;
    double wplain = plain->weight > 0 ? plain->weight : m->default_weight;
    json_t *doc = json_pack("{s:i,s:[{s:s,s:f,s:b},{s:s,s:f,s:b}]}", "level", 3, "items", "id",
                            "L3-cloud-8.2.1.1", "weight", wkey, "high_risk", 1, "id",
                            "L3-cloud-8.2.2.1b", "weight", wplain, "high_risk", 0);
    assert_non_null(doc);
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), 0);
    json_t *items = json_object_get(doc, "items");
    json_t *it0 = json_array_get(items, 0);
    /* high_risk edited (the summary may follow it: only the catalog shows it) */
    json_object_set_new(it0, "high_risk", json_false());
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "r.json: $.items[0].high_risk: false saved for item "
                                          "'L3-cloud-8.2.1.1', but the catalog (cat.yaml) has "
                                          "true"));
    json_object_set_new(it0, "high_risk", json_true());
    /* weight edited */
    json_object_set_new(it0, "weight", json_real(wkey * 2));
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), -1);
    char want[200];
    snprintf(want, sizeof(want),
             "$.items[0].weight: %g saved for item 'L3-cloud-8.2.1.1', but the catalog "
             "(cat.yaml) gives it %g",
             wkey * 2, wkey);
    assert_non_null(strstr(dbg_err_msg(), want));
    json_object_set_new(it0, "weight", json_real(wkey));
    /* an item counted twice */
    assert_int_equal(json_array_append(items, it0), 0);
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), -1);
    assert_non_null(
        strstr(dbg_err_msg(), "$.items[2]: item 'L3-cloud-8.2.1.1' is also $.items[0]"));
    /* an item missing */
    assert_int_equal(json_array_remove(items, 2), 0);
    assert_int_equal(json_array_remove(items, 1), 0);
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.items: item 'L3-cloud-8.2.2.1b' of the catalog "
                                          "(cat.yaml) at level 3 is missing"));
    /* an item the catalog lacks at the level (another level's) */
    assert_int_equal(
        json_array_append_new(items, json_pack("{s:s,s:f,s:b}", "id", "L4-cloud-9.2.2.1b", "weight",
                                               wplain, "high_risk", 0)),
        0);
    assert_int_equal(dbg_assess_check_catalog(doc, "r.json", cat, "cat.yaml", m), -1);
    assert_non_null(strstr(dbg_err_msg(), "$.items[1]: item 'L4-cloud-9.2.2.1b' is not in the "
                                          "catalog (cat.yaml) at level 3"));
    json_decref(doc);
    dbg_score_model_free(m);
    dbg_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_combine),
        cmocka_unit_test(test_verdicts_and_score),
        cmocka_unit_test(test_attest_and_waivers),
        cmocka_unit_test(test_attest_completes_unchecked),
        cmocka_unit_test(test_attest_partial),
        cmocka_unit_test(test_waiver_without_collection_time),
        cmocka_unit_test(test_attest_future_dated),
        cmocka_unit_test(test_attest_stale),
        cmocka_unit_test(test_attest_as_of),
        cmocka_unit_test(test_attest_as_of_day_age),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_attest_names),
        cmocka_unit_test(test_waiver_covers_nothing),
        cmocka_unit_test(test_baseline),
        cmocka_unit_test(test_long_utf8),
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_summary_recomputed),
        cmocka_unit_test(test_gaps_follow_items),
        cmocka_unit_test(test_items_against_catalog),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_text_escapes_names),
        cmocka_unit_test(test_unchecked_high_risk),
        cmocka_unit_test(test_remediation_lang),
        cmocka_unit_test(test_input_error_lines),
        cmocka_unit_test(test_model_error_lines),
        cmocka_unit_test(test_model_not_a_model),
        cmocka_unit_test(test_yaml_nul),
        cmocka_unit_test(test_yaml_reader_columns),
        cmocka_unit_test(test_attest_not_applicable),
        cmocka_unit_test(test_unchecked_high_risk_conclusion),
        cmocka_unit_test(test_unverified_high_risk),
        cmocka_unit_test(test_attest_finds_gap),
        cmocka_unit_test(test_partial_high_risk),
        cmocka_unit_test(test_html_high_risk_after_waivers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
