/* Reading a saved assessment result back (for `dengbao report` and `--baseline`): size
 * limit, JSON parse with line/column, and a structural validation that names the JSON path
 * of the first problem so renderers can trust what they read. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/assess.h"
#include "dengbao/util.h"

#define RESULT_MAX_BYTES ((size_t)512 << 20)

static int bad(const char *name, const char *path, const char *what)
{
    dbg_err_set(DBG_ERR_INVALID, "%s: %s: %s", name, path, what);
    return -1;
}

static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* "$.score.value: a string, should be a number" or "$.score.value: missing (should be a
 * number)": the path of the key itself and what it holds. */
static int want_kind(const char *name, const char *path, const json_t *got, const char *want)
{
    if (!got)
        dbg_err_set(DBG_ERR_INVALID, "%s: %s: missing (should be %s)", name, path, want);
    else
        dbg_err_set(DBG_ERR_INVALID, "%s: %s: %s, should be %s", name, path, json_kind_name(got),
                    want);
    return -1;
}

static int want_strings(const json_t *obj, const char *name, const char *path,
                        const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++)
        if (!json_is_string(json_object_get(obj, keys[i]))) {
            char p[256];
            snprintf(p, sizeof(p), "%s.%s", path, keys[i]);
            return bad(name, p, "missing or not a string");
        }
    return 0;
}

/* Keys a result may lack (older than them) but, when present, hold text. */
static int want_optional_strings(const json_t *obj, const char *name, const char *path,
                                 const char *const *keys)
{
    for (size_t i = 0; keys[i]; i++) {
        const json_t *v = json_object_get(obj, keys[i]);
        if (v && !json_is_string(v)) {
            char p[256];
            snprintf(p, sizeof(p), "%s.%s", path, keys[i]);
            return bad(name, p, "not a string");
        }
    }
    return 0;
}

/* The risk levels build_gaps writes; renderers put them in markup, so nothing else passes. */
static int risk_known(const char *risk)
{
    return dbg_streq(risk, "高") || dbg_streq(risk, "中") || dbg_streq(risk, "低");
}

/* The differences between a saved score and the recomputed one, "; "-separated, into a
 * bounded buffer (an error message holds 1 KiB; the first differences name the problem). */
typedef struct {
    char text[640];
    size_t len;
} diff_list;

__attribute__((format(printf, 2, 3))) static void diff_add(diff_list *d, const char *fmt, ...)
{
    if (d->len + 1 >= sizeof(d->text))
        return;
    if (d->len) {
        int n = snprintf(d->text + d->len, sizeof(d->text) - d->len, "; ");
        d->len = n < 0 ? d->len : d->len + (size_t)n;
        if (d->len >= sizeof(d->text))
            d->len = sizeof(d->text) - 1;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(d->text + d->len, sizeof(d->text) - d->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        d->len = d->len + (size_t)n >= sizeof(d->text) ? sizeof(d->text) - 1 : d->len + (size_t)n;
}

static void diff_number(diff_list *d, const json_t *score, const char *key, double want)
{
    const json_t *v = json_object_get(score, key);
    if (!json_is_number(v))
        diff_add(d, "$.score.%s: %s, recomputed %.15g", key, v ? "not a number" : "missing", want);
    else if (fabs(json_number_value(v) - want) > 1e-6) /* %.15g: 24.221 is not shown as 24.22 */
        diff_add(d, "$.score.%s: %.15g saved, %.15g recomputed", key, json_number_value(v), want);
}

/* optional: a key results before unchecked_high_risk lack, which renderers then leave out */
static void diff_count(diff_list *d, const json_t *score, const char *key, size_t want,
                       int optional)
{
    const json_t *v = json_object_get(score, key);
    if (!v && optional && want == 0)
        return;
    if (!json_is_integer(v))
        diff_add(d, "$.score.%s: %s, recomputed %zu", key, v ? "not an integer" : "missing", want);
    else if (json_integer_value(v) < 0 || (unsigned long long)json_integer_value(v) != want)
        diff_add(d, "$.score.%s: %lld saved, %zu recomputed", key, (long long)json_integer_value(v),
                 want);
}

static void diff_bool(diff_list *d, const json_t *score, const char *key, int want)
{
    const json_t *v = json_object_get(score, key);
    if (!json_is_boolean(v))
        diff_add(d, "$.score.%s: %s, recomputed %s", key, v ? "not a boolean" : "missing",
                 want ? "true" : "false");
    else if (json_is_true(v) != !!want)
        diff_add(d, "$.score.%s: %s saved, %s recomputed", key, json_is_true(v) ? "true" : "false",
                 want ? "true" : "false");
}

static void diff_string(diff_list *d, const json_t *score, const char *key, const char *want)
{
    const char *got = json_string_value(json_object_get(score, key));
    if (!dbg_streq(got, want))
        diff_add(d, "$.score.%s: '%s' saved, '%s' recomputed", key, got ? got : "(missing)", want);
}

/* A saved flag of the model (a boolean) that must be the model's. */
static int flag_agrees(const json_t *v, const char *path, int want, const char *name,
                       const char *model)
{
    if (json_is_boolean(v) && json_is_true(v) == !!want)
        return 0;
    dbg_err_set(DBG_ERR_INVALID,
                "%s: %s: %s, but the model '%s' it names has %s: the result file is damaged or "
                "was edited",
                name, path,
                !json_is_boolean(v) ? (v ? "not a boolean" : "missing")
                : json_is_true(v)   ? "true"
                                    : "false",
                model, want ? "true" : "false");
    return -1;
}

/* The deductions per verdict and the high-risk rule are not saved in a result: the score can
 * be recomputed only with the model the file was scored with. The file names it and saves its
 * thresholds; they must be m's. */
static int model_agrees(const json_t *score, const char *name, const dbg_score_model *m)
{
    const json_t *saved = json_object_get(score, "model");
    const char *sname = json_string_value(json_object_get(saved, "name"));
    const char *sformula = json_string_value(json_object_get(saved, "formula"));
    if (!dbg_streq(sname, m->name) || !dbg_streq(sformula, m->formula)) {
        int by_name = !dbg_streq(sname, m->name);
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.score.model.%s: '%s', but this dengbao scores with '%s': a result "
                    "does not save the deductions per verdict nor whether an open high-risk item "
                    "forces 差, so its score can be recomputed only with the model it names: "
                    "render it with the dengbao (or DENGBAO_DATADIR) that assessed it",
                    name, by_name ? "name" : "formula",
                    by_name ? (sname ? sname : "(missing)") : (sformula ? sformula : "(missing)"),
                    by_name ? m->name : m->formula);
        return -1;
    }
    const json_t *thr = json_object_get(saved, "conclusions");
    const json_t *bar = json_object_get(score, "bar");
    const struct {
        const json_t *obj;
        const char *path, *key;
        double want;
    } nums[] = {
        {thr, "$.score.model.conclusions.优", "优", m->excellent},
        {thr, "$.score.model.conclusions.良", "良", m->good},
        {thr, "$.score.model.conclusions.中", "中", m->fair},
        {saved, "$.score.model.basic_compliance_line", "basic_compliance_line",
         m->basic_compliance},
        {score, "$.score.basic_compliance_line", "basic_compliance_line", m->basic_compliance},
        {bar, "$.score.bar.min_score", "min_score", m->bar_min_score},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        const json_t *v = json_object_get(nums[i].obj, nums[i].key);
        if (json_is_number(v) && fabs(json_number_value(v) - nums[i].want) <= 1e-9)
            continue;
        char got[64];
        if (json_is_number(v))
            snprintf(got, sizeof(got), "%g", json_number_value(v));
        else
            snprintf(got, sizeof(got), "%s", v ? "not a number" : "missing");
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s: %s, but the model '%s' it names has %g: the result file is damaged "
                    "or was edited",
                    name, nums[i].path, got, m->name, nums[i].want);
        return -1;
    }
    /* what every report says of the model: that it is unverified, and its note; an edited
     * file dropped "(未经官方模板核实)" and showed a note of its own */
    if (flag_agrees(json_object_get(saved, "unverified"), "$.score.model.unverified", m->unverified,
                    name, m->name) != 0)
        return -1;
    const char *snote = json_string_value(json_object_get(saved, "note"));
    if (!dbg_streq(snote, m->note)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.score.model.note differs from the note of the model '%s' it names: "
                    "the result file is damaged or was edited",
                    name, m->name);
        return -1;
    }
    if (flag_agrees(json_object_get(bar, "no_open_high_risk"), "$.score.bar.no_open_high_risk",
                    m->bar_no_open_high_risk, name, m->name) != 0)
        return -1;
    return 0;
}

/* The model's inputs from one item; error names what is missing. */
static int score_input(const json_t *it, size_t i, const char *name, dbg_score_item *out)
{
    const json_t *w = json_object_get(it, "weight");
    const json_t *hr = json_object_get(it, "high_risk");
    const json_t *waiver = json_object_get(it, "waiver");
    const char *bad_key = NULL, *why = NULL;
    if (!json_is_number(w) || !isfinite(json_number_value(w)) || json_number_value(w) <= 0)
        bad_key = "weight", why = "missing or not a positive number";
    else if (!json_is_boolean(hr))
        bad_key = "high_risk", why = "missing or not true/false";
    else if (!json_is_null(waiver) && !json_is_object(waiver))
        bad_key = "waiver", why = "missing, or neither null nor an object";
    if (bad_key) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.items[%zu].%s: %s: the score cannot be recomputed without it", name, i,
                    bad_key, why);
        return -1;
    }
    dbg_verdict_parse(json_string_value(json_object_get(it, "verdict")), &out->verdict);
    out->weight = json_number_value(w);
    out->high_risk = json_is_true(hr);
    out->waived = json_is_object(waiver);
    /* no basis (a result older than it): not known to be unverified; the catalog check holds a
     * result that counts unverified items to have one on each high-risk item */
    const json_t *basis = json_object_get(it, "high_risk_basis");
    out->high_risk_unverified =
        out->high_risk && basis && !json_is_true(json_object_get(basis, "verified"));
    return 0;
}

/* Every value the model derives from the items, recomputed and compared with the saved one. */
static int score_agrees(const json_t *doc, const char *name, const dbg_score_model *m)
{
    const json_t *score = json_object_get(doc, "score");
    const json_t *items = json_object_get(doc, "items");
    size_t n = json_array_size(items);
    if (model_agrees(score, name, m) != 0)
        return -1;
    dbg_score_item *in = dbg_calloc(n ? n : 1, sizeof(*in));
    if (!in)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (score_input(json_array_get(items, i), i, name, &in[i]) != 0) {
            free(in);
            return -1;
        }
    dbg_score_summary sum;
    dbg_score_compute(m, in, n, &sum);
    free(in);
    diff_list d = {.len = 0};
    diff_number(&d, score, "value", sum.value);
    diff_number(&d, score, "value_after_waivers", sum.value_after_waivers);
    diff_string(&d, score, "conclusion", sum.conclusion);
    diff_string(&d, score, "conclusion_after_waivers", sum.conclusion_after_waivers);
    diff_bool(&d, score, "basic_compliance", sum.basic_compliance);
    diff_bool(&d, score, "meets_bar", sum.meets_bar);
    diff_count(&d, score, "open_high_risk", sum.open_high_risk, 0);
    diff_count(&d, score, "open_high_risk_after_waivers", sum.open_high_risk_after_waivers, 0);
    diff_count(&d, score, "unchecked_high_risk", sum.unchecked_high_risk, 1);
    diff_count(&d, score, "unchecked_high_risk_after_waivers",
               sum.unchecked_high_risk_after_waivers, 1);
    diff_count(&d, score, "unverified_high_risk", sum.unverified_high_risk, 1);
    diff_count(&d, score, "unverified_high_risk_after_waivers",
               sum.unverified_high_risk_after_waivers, 1);
    diff_count(&d, score, "waived_items", sum.waived_items, 0);
    if (!d.len)
        return 0;
    dbg_err_set(DBG_ERR_INVALID,
                "%s: the saved score does not follow from $.items by the model '%s': %s: the "
                "result file is damaged or was edited",
                name, m->name, d.text);
    return -1;
}

/* A renderer prints the summary (counts, conclusion, bar) and the items side by side, so a
 * file whose summary contradicts its own items (damaged, or edited by hand) is refused: a
 * report saying 符合 100 and 优 over a list of 不符合 items must not be rendered as if valid. */
/* The items by id (the first of an id); NULL with dbg_err when out of memory. */
static json_t *items_by_id(const json_t *items)
{
    json_t *by_id = json_object();
    for (size_t k = 0; by_id && k < json_array_size(items); k++) {
        json_t *it = json_array_get(items, k);
        const char *id = json_string_value(json_object_get(it, "id"));
        if (!json_object_get(by_id, id) && json_object_set(by_id, id, it) != 0) {
            json_decref(by_id);
            by_id = NULL;
        }
    }
    if (!by_id)
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
    return by_id;
}

/* A gap shows its item to whoever reads the gap summary: what it copies from the item (clause,
 * control point, layer, reason, remediation, responsibility, the evidence not met) and what follows
 * from it (the risk from high_risk and the verdict, waived from the waiver) must be the item's. An
 * edited gap read "9.9.9 ... 风险: 低 ... 已豁免" for a high-risk 不符合 item the score counts
 * open. A key an older result lacks (remediation_en, responsibility, waived) is not asked for. */
static int gap_differs(const json_t *gap, const char *layer, const json_t *item, const char *name,
                       const char *p)
{
    static const char *const copied[] = {"clause",      "control_point",  "reason",
                                         "remediation", "remediation_en", "responsibility"};
    const char *id = json_string_value(json_object_get(item, "id"));
    for (size_t k = 0; k < sizeof(copied) / sizeof(copied[0]); k++) {
        const json_t *gv = json_object_get(gap, copied[k]), *iv = json_object_get(item, copied[k]);
        if ((gv || iv) && !json_equal((json_t *)gv, (json_t *)iv)) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: %s.%s: '%s', but item '%s' in $.items has '%s': the result file is "
                        "damaged or was edited",
                        name, p, copied[k], json_is_string(gv) ? json_string_value(gv) : "(none)",
                        id, json_is_string(iv) ? json_string_value(iv) : "(none)");
            return -1;
        }
    }
    /* the evidence that did not meet expectations, as the item holds it, in its order */
    const json_t *gev = json_object_get(gap, "evidence"), *iev = json_object_get(item, "evidence");
    size_t n = 0;
    for (size_t e = 0; e < json_array_size(iev); e++) {
        const json_t *x = json_array_get(iev, e);
        if (json_is_true(json_object_get(x, "ok")))
            continue;
        if (!json_equal((json_t *)json_array_get(gev, n), (json_t *)x)) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: %s.evidence[%zu]: not evidence[%zu] of item '%s' (the evidence that "
                        "did not meet expectations): the result file is damaged or was edited",
                        name, p, n, e, id);
            return -1;
        }
        n++;
    }
    if (json_array_size(gev) != n) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s.evidence: %zu entries, but item '%s' has %zu that did not meet "
                    "expectations: the result file is damaged or was edited",
                    name, p, json_array_size(gev), id, n);
        return -1;
    }
    const char *item_layer = json_string_value(json_object_get(item, "layer"));
    if (!dbg_streq(layer, item_layer)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s: listed under layer '%s', but item '%s' in $.items is in '%s': the "
                    "result file is damaged or was edited",
                    name, p, layer ? layer : "", id, item_layer ? item_layer : "");
        return -1;
    }
    dbg_verdict v = DBG_VERDICT_UNCHECKED;
    (void)dbg_verdict_parse(json_string_value(json_object_get(item, "verdict")), &v);
    const char *risk = dbg_gap_risk(json_is_true(json_object_get(item, "high_risk")), v);
    const char *saved = json_string_value(json_object_get(gap, "risk"));
    if (!dbg_streq(saved, risk)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s.risk: %s saved, %s recomputed from item '%s' (high_risk %s, %s)", name,
                    p, saved ? saved : "", risk, id,
                    json_is_true(json_object_get(item, "high_risk")) ? "true" : "false",
                    dbg_verdict_name(v));
        return -1;
    }
    const json_t *waived = json_object_get(gap, "waived");
    int item_waived = json_is_object(json_object_get(item, "waiver"));
    if (waived && (!json_is_boolean(waived) || json_is_true(waived) != item_waived)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s.waived: %s, but item '%s' in $.items has %s: the result file is "
                    "damaged or was edited",
                    name, p,
                    json_is_boolean(waived) ? (json_is_true(waived) ? "true" : "false")
                                            : "not a boolean",
                    id, item_waived ? "a waiver" : "no waiver");
        return -1;
    }
    return 0;
}

int dbg_assess_check_summary(const json_t *doc, const char *name, const dbg_score_model *m)
{
    const json_t *score = json_object_get(doc, "score");
    const json_t *items = json_object_get(doc, "items");
    const json_t *counts = json_object_get(score, "counts");
    size_t tally[5] = {0}, open = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        dbg_verdict vd;
        dbg_verdict_parse(json_string_value(json_object_get(json_array_get(items, i), "verdict")),
                          &vd);
        tally[vd]++;
        open += vd == DBG_VERDICT_PARTIAL || vd == DBG_VERDICT_FAIL || vd == DBG_VERDICT_UNCHECKED;
    }
    for (int v = 0; v < 5; v++) {
        const char *vn = dbg_verdict_name((dbg_verdict)v);
        const json_t *c = json_object_get(counts, vn);
        if (!json_is_integer(c)) {
            dbg_err_set(DBG_ERR_INVALID, "%s: $.score.counts.%s: missing or not an integer", name,
                        vn);
            return -1;
        }
        if (json_integer_value(c) != (json_int_t)tally[v]) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.score.counts.%s: %lld, but $.items has %zu %s item(s): the result "
                        "file is damaged or was edited",
                        name, vn, (long long)json_integer_value(c), tally[v], vn);
            return -1;
        }
    }
    /* every gap names an item of the same verdict, and every open item has its gap */
    const json_t *gaps = json_object_get(doc, "gaps");
    size_t n_gaps = 0;
    char p[256];
    /* by id, so a crafted file of many items and gaps costs n + m, not n * m */
    json_t *by_id = items_by_id(items);
    if (!by_id)
        return -1;
    int r = -1;
    for (size_t g = 0; g < json_array_size(gaps); g++) {
        const json_t *gitems = json_object_get(json_array_get(gaps, g), "items");
        for (size_t i = 0; i < json_array_size(gitems); i++, n_gaps++) {
            const json_t *gi = json_array_get(gitems, i);
            const char *id = json_string_value(json_object_get(gi, "id"));
            const char *verdict = json_string_value(json_object_get(gi, "verdict"));
            const json_t *match = json_object_get(by_id, id);
            snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu]", g, i);
            if (!match) {
                dbg_err_set(DBG_ERR_INVALID, "%s: %s: item '%s' is not in $.items", name, p, id);
                goto out;
            }
            const char *item_verdict = json_string_value(json_object_get(match, "verdict"));
            if (!dbg_streq(verdict, item_verdict)) {
                dbg_err_set(DBG_ERR_INVALID,
                            "%s: %s.verdict: %s, but item '%s' in $.items is %s: the result file "
                            "is damaged or was edited",
                            name, p, verdict, id, item_verdict);
                goto out;
            }
        }
    }
    r = 0;
out:
    json_decref(by_id);
    if (r)
        return -1;
    if (n_gaps != open) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.gaps: %zu item(s), but $.items has %zu 部分符合/不符合/未检查 item(s): "
                    "the result file is damaged or was edited",
                    name, n_gaps, open);
        return -1;
    }
    return score_agrees(doc, name, m);
}

int dbg_assess_check_gaps(const json_t *doc, const char *name)
{
    const json_t *items = json_object_get(doc, "items");
    const json_t *gaps = json_object_get(doc, "gaps");
    json_t *by_id = items_by_id(items), *seen = json_object(); /* gap id -> its path */
    int r = -1;
    if (!by_id || !seen) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        goto out;
    }
    char p[256];
    for (size_t g = 0; g < json_array_size(gaps); g++) {
        const json_t *grp = json_array_get(gaps, g);
        const json_t *gitems = json_object_get(grp, "items");
        for (size_t i = 0; i < json_array_size(gitems); i++) {
            const json_t *gi = json_array_get(gitems, i);
            const char *id = json_string_value(json_object_get(gi, "id"));
            const json_t *match = json_object_get(by_id, id);
            snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu]", g, i);
            if (!match) {
                dbg_err_set(DBG_ERR_INVALID, "%s: %s: item '%s' is not in $.items", name, p, id);
                goto out;
            }
            /* one gap per item: with the count equal, a gap given twice hides another item's */
            const json_t *first = json_object_get(seen, id);
            if (first) {
                dbg_err_set(DBG_ERR_INVALID,
                            "%s: %s: a second gap for item '%s' (the first is %s): the result "
                            "file is damaged or was edited",
                            name, p, id, json_string_value(first));
                goto out;
            }
            if (json_object_set_new(seen, id, json_string(p)) != 0) {
                dbg_err_set(DBG_ERR_NOMEM, "out of memory");
                goto out;
            }
            if (gap_differs(gi, json_string_value(json_object_get(grp, "layer")), match, name, p))
                goto out;
        }
    }
    /* the waivers listed as applied (who waived what, why, until when: the text and HTML
     * reports show them) are the items' own, in item order, as assess writes them; a waiver
     * listed that no item has, or one an item has left out, read as another decision */
    const json_t *applied = json_object_get(json_object_get(doc, "waivers"), "applied");
    if (applied) {
        size_t n = 0;
        for (size_t k = 0; k < json_array_size(items); k++) {
            const json_t *w = json_object_get(json_array_get(items, k), "waiver");
            if (!json_is_object(w))
                continue;
            if (!json_equal((json_t *)json_array_get(applied, n), (json_t *)w)) {
                dbg_err_set(DBG_ERR_INVALID,
                            "%s: $.waivers.applied[%zu]: not the waiver of $.items[%zu] ('%s'): "
                            "the result file is damaged or was edited",
                            name, n, k,
                            json_string_value(json_object_get(json_array_get(items, k), "id")));
                goto out;
            }
            n++;
        }
        if (!json_is_array(applied) || json_array_size(applied) != n) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.waivers.applied: %zu waiver(s), but $.items has %zu waived "
                        "item(s): the result file is damaged or was edited",
                        name, json_array_size(applied), n);
            goto out;
        }
    }
    r = 0;
out:
    json_decref(seen);
    json_decref(by_id);
    return r;
}

const char *dbg_assess_result_catalog_path(const json_t *doc)
{
    const json_t *c = json_object_get(doc, "catalog");
    if (!json_is_object(c) || json_is_true(json_object_get(c, "shipped")))
        return NULL;
    return json_string_value(json_object_get(c, "path"));
}

/* A high-risk item's basis is the catalog's: "verified": true written over an unverified flag
 * (with the count that follows) would drop the report's word that the conclusion rests on an
 * unverified list. A result without the basis is older than it, unless it counts unverified
 * items ($.score.unverified_high_risk): then dropping the basis would hide them. */
static int basis_agrees(const json_t *doc, const json_t *ji, size_t i, const char *name,
                        const dbg_item *it, const char *cat_name)
{
    const json_t *basis = json_object_get(ji, "high_risk_basis");
    const char *id = it->id;
    if (!it->high_risk) {
        if (!basis)
            return 0;
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.items[%zu].high_risk_basis: saved for item '%s', which is not "
                    "high-risk: the result file is damaged or was edited",
                    name, i, id);
        return -1;
    }
    if (!basis) {
        if (!json_object_get(json_object_get(doc, "score"), "unverified_high_risk"))
            return 0;
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.items[%zu].high_risk_basis: missing for high-risk item '%s', whose "
                    "catalog (%s) flag is %s: the result file is damaged or was edited",
                    name, i, id, cat_name, it->high_risk_verified ? "verified" : "unverified");
        return -1;
    }
    int v = json_is_true(json_object_get(basis, "verified"));
    const char *src = json_string_value(json_object_get(basis, "source"));
    const char *src_en = json_string_value(json_object_get(basis, "source_en"));
    const char *what = v != !!it->high_risk_verified                 ? "verified"
                       : !dbg_streq(src, it->high_risk_source)       ? "source"
                       : !dbg_streq(src_en, it->high_risk_source_en) ? "source_en"
                                                                     : NULL;
    if (!what)
        return 0;
    dbg_err_set(DBG_ERR_INVALID,
                "%s: $.items[%zu].high_risk_basis.%s: item '%s' differs from the catalog (%s), "
                "whose high-risk basis is %s (%s): the result file is damaged or was edited",
                name, i, what, id, cat_name, it->high_risk_verified ? "verified" : "unverified",
                it->high_risk_source ? it->high_risk_source : "no source stated");
    return -1;
}

/* Each item's weight and high_risk come from the catalog: an edit of an item's weight or flag
 * together with the summary that follows from it passes dbg_assess_check_summary, so the
 * items are held against the catalog the file names, and the file must hold each of that
 * catalog's items at its level once (an item dropped, or counted twice, changes the score). */
int dbg_assess_check_catalog(const json_t *doc, const char *name, const dbg_catalog *cat,
                             const char *cat_name, const dbg_score_model *m)
{
    const json_t *items = json_object_get(doc, "items");
    int level = (int)json_integer_value(json_object_get(doc, "level"));
    size_t n_cat = dbg_catalog_count(cat);
    /* by id (a crafted file of many items costs n + m); value = index in the catalog */
    json_t *by_id = json_object(), *seen = json_object();
    int r = -1;
    if (!by_id || !seen) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t k = 0; k < n_cat; k++) {
        const dbg_item *it = dbg_catalog_item(cat, k);
        if (it->level == level && json_object_set_new(by_id, it->id, json_integer((json_int_t)k))) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *ji = json_array_get(items, i);
        const char *id = json_string_value(json_object_get(ji, "id"));
        const json_t *k = json_object_get(by_id, id);
        if (!k) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.items[%zu]: item '%s' is not in the catalog (%s) at level %d: the "
                        "result was assessed with another catalog, or was edited",
                        name, i, id, cat_name, level);
            goto out;
        }
        const json_t *prev = json_object_get(seen, id);
        if (prev) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.items[%zu]: item '%s' is also $.items[%lld]: an item is assessed "
                        "and scored once; the result file is damaged or was edited",
                        name, i, id, (long long)json_integer_value(prev));
            goto out;
        }
        if (json_object_set_new(seen, id, json_integer((json_int_t)i))) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            goto out;
        }
        const dbg_item *it = dbg_catalog_item(cat, (size_t)json_integer_value(k));
        double w = json_number_value(json_object_get(ji, "weight"));
        if (fabs(w - dbg_score_item_weight(m, it->weight)) > 1e-9) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.items[%zu].weight: %g saved for item '%s', but the catalog (%s) "
                        "gives it %g: the result file is damaged or was edited",
                        name, i, w, id, cat_name, dbg_score_item_weight(m, it->weight));
            goto out;
        }
        int hr = json_is_true(json_object_get(ji, "high_risk"));
        if (hr != !!it->high_risk) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.items[%zu].high_risk: %s saved for item '%s', but the catalog (%s) "
                        "has %s: the result file is damaged or was edited",
                        name, i, hr ? "true" : "false", id, cat_name,
                        it->high_risk ? "true" : "false");
            goto out;
        }
        if (basis_agrees(doc, ji, i, name, it, cat_name) != 0)
            goto out;
    }
    for (size_t k = 0; k < n_cat; k++) {
        const dbg_item *it = dbg_catalog_item(cat, k);
        if (it->level == level && !json_object_get(seen, it->id)) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.items: item '%s' of the catalog (%s) at level %d is missing: the "
                        "score leaves it out; the result file is damaged or was edited",
                        name, it->id, cat_name, level);
            goto out;
        }
    }
    r = 0;
out:
    json_decref(by_id);
    json_decref(seen);
    return r;
}

int dbg_assess_validate(const json_t *doc, const char *name)
{
    char p[256];
    if (!json_is_object(doc))
        return bad(name, "$", "not a JSON object");
    const json_t *v = json_object_get(doc, "schema_version");
    if (!json_is_integer(v))
        return bad(name, "$.schema_version", "missing: not an assessment result");
    /* the other JSON an assessor holds: said as such, not as "$.platform: missing" */
    if (json_is_array(json_object_get(doc, "domains")) &&
        json_is_array(json_object_get(doc, "host_files")) && !json_object_get(doc, "items"))
        return bad(name, "$",
                   "a platform snapshot (dengbao collect), not an assessment result: assess it "
                   "with 'dengbao assess --snapshot FILE'");
    if (json_integer_value(v) != DBG_ASSESS_SCHEMA_VERSION) {
        dbg_err_set(DBG_ERR_INVALID, "%s: $.schema_version: %lld, this dengbao reads %d", name,
                    (long long)json_integer_value(v), DBG_ASSESS_SCHEMA_VERSION);
        return -1;
    }
    if (!json_is_object(json_object_get(doc, "platform")))
        return bad(name, "$.platform", "missing or not an object");
    if (!json_is_integer(json_object_get(doc, "level")))
        return bad(name, "$.level", "missing or not an integer");
    const json_t *as_of = json_object_get(doc, "as_of");
    if (as_of && !json_is_string(as_of))
        return bad(name, "$.as_of", "not a string (the time the result was assessed as of)");
    const json_t *score = json_object_get(doc, "score");
    if (!json_is_object(score))
        return want_kind(name, "$.score", score, "an object");
    /* each key named with what it holds ("$.score: missing value, ..." for a string value) */
    if (!json_is_number(json_object_get(score, "value")))
        return want_kind(name, "$.score.value", json_object_get(score, "value"), "a number");
    if (!json_is_number(json_object_get(score, "value_after_waivers")))
        return want_kind(name, "$.score.value_after_waivers",
                         json_object_get(score, "value_after_waivers"), "a number");
    if (!json_is_object(json_object_get(score, "model")))
        return want_kind(name, "$.score.model", json_object_get(score, "model"), "an object");
    if (!json_is_object(json_object_get(score, "counts")))
        return want_kind(name, "$.score.counts", json_object_get(score, "counts"), "an object");
    static const char *const score_keys[] = {"conclusion", "conclusion_after_waivers", NULL};
    if (want_strings(score, name, "$.score", score_keys))
        return -1;
    const json_t *items = json_object_get(doc, "items");
    if (!json_is_array(items))
        return bad(name, "$.items", "missing or not an array");
    static const char *const item_keys[] = {
        "id", "clause", "layer", "control_point", "text", "verdict", "reason", "remediation", NULL};
    static const char *const ev_keys[] = {"check", "source", "key", "observed", "expected", NULL};
    static const char *const en_keys[] = {"remediation_en", NULL};
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        snprintf(p, sizeof(p), "$.items[%zu]", i);
        if (!json_is_object(it))
            return bad(name, p, "not an object");
        if (want_strings(it, name, p, item_keys) || want_optional_strings(it, name, p, en_keys))
            return -1;
        const json_t *basis = json_object_get(it, "high_risk_basis");
        if (basis) {
            static const char *const basis_en[] = {"source_en", NULL};
            snprintf(p, sizeof(p), "$.items[%zu].high_risk_basis", i);
            const json_t *src = json_object_get(basis, "source");
            if (!json_is_object(basis))
                return want_kind(name, p, basis, "an object");
            if (!json_is_boolean(json_object_get(basis, "verified")))
                return bad(name, p, "its verified is missing or not true/false");
            if (!json_is_null(src) && !json_is_string(src))
                return bad(name, p, "its source is missing, or neither null nor a string");
            if (want_optional_strings(basis, name, p, basis_en))
                return -1;
            snprintf(p, sizeof(p), "$.items[%zu]", i);
        }
        dbg_verdict vd;
        if (dbg_verdict_parse(json_string_value(json_object_get(it, "verdict")), &vd) != 0) {
            snprintf(p, sizeof(p), "$.items[%zu].verdict", i);
            return bad(name, p, "not one of 符合 部分符合 不符合 不适用 未检查");
        }
        const json_t *ev = json_object_get(it, "evidence");
        const json_t *ck = json_object_get(it, "checks");
        if (!json_is_array(ev) || !json_is_array(ck)) {
            snprintf(p, sizeof(p), "$.items[%zu]", i);
            return bad(name, p, "evidence and checks must be arrays");
        }
        for (size_t e = 0; e < json_array_size(ev); e++) {
            snprintf(p, sizeof(p), "$.items[%zu].evidence[%zu]", i, e);
            if (want_strings(json_array_get(ev, e), name, p, ev_keys))
                return -1;
        }
    }
    const json_t *warn = json_object_get(doc, "warnings");
    if (warn && !json_is_array(warn))
        return bad(name, "$.warnings", "not an array");
    for (size_t i = 0; i < json_array_size(warn); i++)
        if (!json_is_string(json_array_get(warn, i))) {
            snprintf(p, sizeof(p), "$.warnings[%zu]", i);
            return bad(name, p, "not a string");
        }
    const json_t *gaps = json_object_get(doc, "gaps");
    if (!json_is_array(gaps))
        return bad(name, "$.gaps", "missing or not an array");
    static const char *const gap_keys[] = {"id",   "clause", "control_point", "verdict",
                                           "risk", "reason", "remediation",   NULL};
    for (size_t g = 0; g < json_array_size(gaps); g++) {
        const json_t *grp = json_array_get(gaps, g);
        snprintf(p, sizeof(p), "$.gaps[%zu]", g);
        if (!json_is_string(json_object_get(grp, "layer")) ||
            !json_is_array(json_object_get(grp, "items")))
            return bad(name, p, "needs layer and items");
        const json_t *gitems = json_object_get(grp, "items");
        for (size_t i = 0; i < json_array_size(gitems); i++) {
            const json_t *it = json_array_get(gitems, i);
            snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu]", g, i);
            if (!json_is_object(it))
                return bad(name, p, "not an object");
            if (want_strings(it, name, p, gap_keys) || want_optional_strings(it, name, p, en_keys))
                return -1;
            dbg_verdict vd;
            if (dbg_verdict_parse(json_string_value(json_object_get(it, "verdict")), &vd) != 0) {
                snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu].verdict", g, i);
                return bad(name, p, "not one of 符合 部分符合 不符合 不适用 未检查");
            }
            if (!risk_known(json_string_value(json_object_get(it, "risk")))) {
                snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu].risk", g, i);
                return bad(name, p, "not one of 高 中 低");
            }
            const json_t *ev = json_object_get(it, "evidence");
            if (!json_is_array(ev)) {
                snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu].evidence", g, i);
                return bad(name, p, "missing or not an array");
            }
            for (size_t e = 0; e < json_array_size(ev); e++) {
                snprintf(p, sizeof(p), "$.gaps[%zu].items[%zu].evidence[%zu]", g, i, e);
                if (want_strings(json_array_get(ev, e), name, p, ev_keys))
                    return -1;
            }
        }
    }
    return 0;
}

json_t *dbg_assess_load(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, RESULT_MAX_BYTES, &text, &len) != 0)
        return NULL;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc) {
        dbg_err_set(DBG_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (dbg_assess_validate(doc, path) != 0) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}
