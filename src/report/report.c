/* Report dispatch, labels in Chinese and English, and small helpers shared by the text,
 * HTML and JUnit renderers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/assess.h"
#include "report/report_util.h"

static const struct {
    const char *key, *zh, *en;
} labels[] = {
    {"title", "网络安全等级保护测评结果", "MLPS 2.0 assessment result"},
    {"level", "等级", "Level"},
    {"platform", "被测平台", "Platform"},
    {"collected", "采集时间", "Collected"},
    {"as_of", "测评基准时间 (--as-of)", "Assessed as of (--as-of)"},
    {"hypervisor", "虚拟化", "Hypervisor"},
    {"inventory", "资源", "Inventory"},
    {"score", "综合得分", "Score"},
    {"after_waivers", "豁免后", "After waivers"},
    {"conclusion", "测评结论", "Conclusion"},
    {"basic", "基本符合 (≥75分, 等保2.0)", "Basic compliance (>= 75, MLPS 2.0 rule)"},
    {"yes", "是", "yes"},
    {"no", "否", "no"},
    {"open_high_risk", "未整改高风险项", "Open high-risk items"},
    {"unchecked_high_risk", "未检查高风险项", "High-risk items not checked"},
    {"model", "评分模型", "Scoring model"},
    {"unverified", "未经官方模板核实", "not verified against the official template"},
    {"hr_unverified", "项的高风险判定依据未经核实的高风险清单",
     "of them flagged high-risk by a high-risk list not verified"},
    {"hr_unverified_concl", "高风险判定依据未经核实", "high-risk flags not verified"},
    {"hr_basis", "高风险判定依据", "High-risk basis"},
    {"hr_no_source", "目录未说明其依据", "the catalog states no basis"},
    {"counts", "结果分布", "Verdicts"},
    {"items", "测评项", "Items"},
    {"clause", "条款", "Clause"},
    {"control_point", "控制点", "Control point"},
    {"requirement", "要求", "Requirement"},
    {"verdict", "结果", "Verdict"},
    {"reason", "说明", "Reason"},
    {"evidence", "证据", "Evidence"},
    {"source", "来源", "Source"},
    {"key", "项目", "Key"},
    {"observed", "实际", "Observed"},
    {"expected", "期望", "Expected"},
    {"gaps", "差距汇总", "Gap summary"},
    {"risk", "风险", "Risk"},
    {"responsibility", "责任方", "Owner"},
    {"provider", "云服务商", "cloud provider"},
    {"tenant", "云服务客户", "cloud customer"},
    {"shared", "云服务商与云服务客户", "provider and customer"},
    {"remediation", "整改建议", "Remediation"},
    {"untranslated", "", "[Chinese only] "},
    {"na_high_risk", "不适用的高风险项 (不计分)", "High-risk items not applicable (not scored)"},
    {"waived", "已豁免", "waived"},
    {"waivers", "豁免", "Waivers"},
    {"expired", "已过期 (未生效)", "expired (not applied)"},
    {"baseline", "与基线对比", "Compared with baseline"},
    {"regressions", "退步", "Regressions"},
    {"improvements", "改进", "Improvements"},
    {"none", "无", "none"},
    {"attested", "人工确认", "Attested"},
    {"checks", "检查", "Checks"},
    {"warnings", "提示", "Warnings"},
    {"hosts_level", "承载系统最高等级", "Highest hosted level"},
    {"not_given", "未提供", "not given"},
    {"meets_bar", "达到通过线", "Meets the bar"},
    {"domains", "个虚拟机", "domains"},
    {"networks", "个网络", "networks"},
    {"pools", "个存储池", "pools"},
    {"volumes", "个卷", "volumes"},
};

const char *dbg_rpt_label(dbg_lang lang, const char *key)
{
    for (size_t i = 0; i < sizeof(labels) / sizeof(labels[0]); i++)
        if (!strcmp(labels[i].key, key))
            return lang == DBG_LANG_EN ? labels[i].en : labels[i].zh;
    return key;
}

const char *dbg_rpt_responsibility(dbg_lang lang, const char *resp)
{
    static const char *const known[] = {"provider", "tenant", "shared"};
    for (size_t i = 0; resp && i < sizeof(known) / sizeof(known[0]); i++)
        if (!strcmp(resp, known[i]))
            return dbg_rpt_label(lang, known[i]);
    return NULL;
}

int dbg_rpt_trunc(dbg_buf *b, const char *s, size_t max)
{
    size_t cps = 0, i = 0;
    s = s ? s : "";
    while (s[i] && cps < max) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        cps++;
    }
    if (dbg_buf_add(b, s, i))
        return -1;
    return s[i] ? dbg_buf_adds(b, "…") : 0;
}

const char *dbg_rpt_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s ? s : "";
}

const char *dbg_rpt_str_at(const json_t *arr, size_t i)
{
    const char *s = json_string_value(json_array_get(arr, i));
    return s ? s : "";
}

int dbg_rpt_verdict_index(const char *zh)
{
    dbg_verdict v;
    return dbg_verdict_parse(zh, &v) == 0 ? (int)v : 4;
}

const char *dbg_rpt_verdict(dbg_lang lang, const char *zh)
{
    dbg_verdict v;
    if (dbg_verdict_parse(zh, &v) != 0)
        return zh ? zh : "";
    return lang == DBG_LANG_EN ? dbg_verdict_name_en(v) : dbg_verdict_name(v);
}

/* A word of the result (Chinese) in the report's language, from a word list; as saved when the
 * list lacks it. */
static const char *translate(dbg_lang lang, const char *zh, const char *const (*map)[2], size_t n)
{
    for (size_t i = 0; lang == DBG_LANG_EN && i < n; i++)
        if (dbg_streq(zh, map[i][0]))
            return map[i][1];
    return zh ? zh : "";
}

const char *dbg_rpt_conclusion(dbg_lang lang, const char *zh)
{
    static const char *const map[][2] = {
        {"优", "excellent"}, {"良", "good"}, {"中", "fair"}, {"差", "poor"}};
    return translate(lang, zh, map, sizeof(map) / sizeof(map[0]));
}

const char *dbg_rpt_risk(dbg_lang lang, const char *zh)
{
    static const char *const map[][2] = {{"高", "high"}, {"中", "medium"}, {"低", "low"}};
    return translate(lang, zh, map, sizeof(map) / sizeof(map[0]));
}

const char *dbg_rpt_remediation(dbg_lang lang, const json_t *item, int *untranslated)
{
    const char *zh = dbg_rpt_str(item, "remediation"), *en = dbg_rpt_str(item, "remediation_en");
    *untranslated = 0;
    if (lang != DBG_LANG_EN)
        return zh;
    if (*en)
        return en;
    *untranslated = *zh != 0;
    return zh;
}

char *dbg_rpt_na_high_risk(dbg_lang lang, const json_t *items, const char *sep, size_t *count)
{
    dbg_buf b;
    dbg_buf_init(&b, 0);
    *count = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (!json_is_true(json_object_get(it, "high_risk")) ||
            strcmp(dbg_rpt_str(it, "verdict"), "不适用"))
            continue;
        const json_t *att = json_object_get(it, "attestation");
        int r = dbg_buf_printf(&b, "%s%s %s: ", (*count)++ ? sep : "", dbg_rpt_str(it, "clause"),
                               dbg_rpt_str(it, "control_point"));
        /* an attestation says who took the item out and why (its note); else the checks' reason */
        if (!r && json_is_object(att))
            r = dbg_buf_printf(&b, "%s %s %s — %s", dbg_rpt_label(lang, "attested"),
                               dbg_rpt_str(att, "attested_by"), dbg_rpt_str(att, "date"),
                               dbg_rpt_str(att, "note"));
        else if (!r)
            r = dbg_buf_adds(&b, dbg_rpt_str(it, "reason"));
        if (r) {
            dbg_buf_free(&b);
            return NULL;
        }
    }
    return dbg_buf_steal(&b);
}

static long long score_count(const json_t *sc, const char *key, int after_waivers)
{
    char name[64];
    snprintf(name, sizeof(name), "%s%s", key, after_waivers ? "_after_waivers" : "");
    const json_t *v = json_object_get(sc, name);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static long long unverified_count(const json_t *result, int after_waivers)
{
    return score_count(json_object_get(result, "score"), "unverified_high_risk", after_waivers);
}

/* Said at the conclusion only when the conclusion rests on unverified flags: a 差 the score
 * alone gives (below the model's 中) stands without them, and one that a verified high-risk
 * item forces too does not rest on them. A result without the thresholds keeps the mark. */
const char *dbg_rpt_conclusion_basis(dbg_lang lang, const json_t *result, int after_waivers)
{
    long long unverified = unverified_count(result, after_waivers);
    if (unverified <= 0)
        return "";
    const json_t *sc = json_object_get(result, "score");
    const json_t *fair =
        json_object_get(json_object_get(json_object_get(sc, "model"), "conclusions"), "中");
    const json_t *value = json_object_get(sc, after_waivers ? "value_after_waivers" : "value");
    if (strcmp(dbg_rpt_str(sc, after_waivers ? "conclusion_after_waivers" : "conclusion"), "差"))
        return "";
    if (json_is_number(fair) && json_is_number(value) &&
        json_number_value(value) < json_number_value(fair))
        return "";
    if (unverified < score_count(sc, "open_high_risk", after_waivers) +
                         score_count(sc, "unchecked_high_risk", after_waivers))
        return "";
    return lang == DBG_LANG_EN ? " (high-risk flags not verified)" : " (高风险判定依据未经核实)";
}

/* The list an item the unverified count holds follows (high-risk, 不符合 or 未检查, flag
 * unverified), in the report's language; NULL for any other item. */
static const char *unverified_source(dbg_lang lang, const json_t *it)
{
    const json_t *basis = json_object_get(it, "high_risk_basis");
    const char *v = dbg_rpt_str(it, "verdict");
    if (!json_is_true(json_object_get(it, "high_risk")) || !json_is_object(basis) ||
        json_is_true(json_object_get(basis, "verified")) ||
        (strcmp(v, "不符合") && strcmp(v, "未检查")))
        return NULL;
    const char *src = dbg_rpt_str(basis, "source");
    if (lang == DBG_LANG_EN && *dbg_rpt_str(basis, "source_en"))
        src = dbg_rpt_str(basis, "source_en");
    return *src ? src : dbg_rpt_label(lang, "hr_no_source");
}

char *dbg_rpt_unverified_high_risk(dbg_lang lang, const json_t *result)
{
    long long n = unverified_count(result, 0);
    if (n <= 0)
        return NULL;
    const json_t *items = json_object_get(result, "items");
    json_t *said = json_object(); /* a set: a saved result may hold many items */
    dbg_buf b;
    dbg_buf_init(&b, 0);
    int r = !said ||
            (lang == DBG_LANG_EN
                 ? dbg_buf_printf(&b, "%lld %s: ", n, dbg_rpt_label(lang, "hr_unverified"))
                 : dbg_buf_printf(&b, "其中 %lld %s: ", n, dbg_rpt_label(lang, "hr_unverified")));
    for (size_t i = 0; !r && i < json_array_size(items); i++) {
        const char *src = unverified_source(lang, json_array_get(items, i));
        if (!src || json_object_get(said, src))
            continue;
        r = json_object_set_new(said, src, json_true()) ||
            dbg_buf_printf(&b, "%s%s", json_object_size(said) > 1 ? "; " : "", src);
    }
    json_decref(said);
    if (r) {
        dbg_buf_free(&b);
        return NULL;
    }
    return dbg_buf_steal(&b);
}

const char *dbg_rpt_layer(dbg_lang lang, const char *zh)
{
    return lang == DBG_LANG_EN ? dbg_layer_name_en(zh) : zh;
}

static int layer_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int ox = dbg_layer_order(x), oy = dbg_layer_order(y);
    ox = ox < 0 ? 100 : ox;
    oy = oy < 0 ? 100 : oy;
    return ox != oy ? ox - oy : strcmp(x, y);
}

const char **dbg_rpt_layers(const json_t *items, size_t *n)
{
    size_t cap = json_array_size(items);
    const char **out = dbg_calloc(cap ? cap : 1, sizeof(*out));
    *n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < cap; i++) {
        const char *l = dbg_rpt_str(json_array_get(items, i), "layer");
        size_t k = 0;
        while (k < *n && strcmp(out[k], l))
            k++;
        if (k == *n)
            out[(*n)++] = l;
    }
    qsort(out, *n, sizeof(*out), layer_cmp);
    return out;
}

void dbg_rpt_inventory(dbg_lang lang, const json_t *platform, char *buf, size_t size)
{
    snprintf(buf, size, "%lld %s · %lld %s · %lld %s · %lld %s",
             (long long)json_integer_value(json_object_get(platform, "domains")),
             dbg_rpt_label(lang, "domains"),
             (long long)json_integer_value(json_object_get(platform, "networks")),
             dbg_rpt_label(lang, "networks"),
             (long long)json_integer_value(json_object_get(platform, "pools")),
             dbg_rpt_label(lang, "pools"),
             (long long)json_integer_value(json_object_get(platform, "volumes")),
             dbg_rpt_label(lang, "volumes"));
}

int dbg_lang_parse(const char *s, dbg_lang *out)
{
    if (dbg_streq(s, "zh"))
        *out = DBG_LANG_ZH;
    else if (dbg_streq(s, "en"))
        *out = DBG_LANG_EN;
    else
        return -1;
    return 0;
}

char *dbg_report_render(const json_t *result, dbg_report_format format, const dbg_report_opts *opts)
{
    dbg_report_opts def = {0};
    if (!opts)
        opts = &def;
    switch (format) {
    case DBG_REPORT_TEXT:
        return dbg_report_text(result, opts);
    case DBG_REPORT_HTML:
        return dbg_report_html(result, opts);
    case DBG_REPORT_JUNIT:
        return dbg_report_junit(result, opts);
    case DBG_REPORT_JSON: {
        /* Insertion order and fixed real precision: the same result gives the same bytes. */
        char *s =
            json_dumps(result, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
        if (!s) {
            dbg_err_set(DBG_ERR_NOMEM, "cannot serialise the result");
            return NULL;
        }
        char *out = dbg_asprintf("%s\n", s);
        free(s);
        return out;
    }
    }
    dbg_err_set(DBG_ERR_USAGE, "unknown report format");
    return NULL;
}
