/* Reading a saved assessment result back (for `dengbao report` and `--baseline`): size
 * limit, JSON parse with line/column, and a structural validation that names the JSON path
 * of the first problem so renderers can trust what they read. */
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

/* The risk levels build_gaps writes; renderers put them in markup, so nothing else passes. */
static int risk_known(const char *risk)
{
    return dbg_streq(risk, "高") || dbg_streq(risk, "中") || dbg_streq(risk, "低");
}

/* The conclusion the score's own model gives a value: the thresholds saved in the result. */
static const char *conclusion_for(const json_t *thresholds, double value)
{
    static const char *const order[] = {"优", "良", "中"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *t = json_object_get(thresholds, order[i]);
        if (json_is_number(t) && value >= json_number_value(t))
            return order[i];
    }
    return "差";
}

/* Saved score fields that must agree with the value they summarise. */
static int summary_field_agrees(const json_t *score, const char *name, const char *key,
                                double value, int high_risk)
{
    const json_t *model = json_object_get(score, "model");
    const json_t *thresholds = json_object_get(model, "conclusions");
    const char *got = json_string_value(json_object_get(score, key));
    if (!json_is_object(thresholds))
        return 0;
    const char *want = conclusion_for(thresholds, value);
    /* an open or unchecked high-risk item may force 差 (the model's rule) */
    if (dbg_streq(got, want) || (high_risk && dbg_streq(got, "差")))
        return 0;
    dbg_err_set(DBG_ERR_INVALID,
                "%s: $.score.%s: '%s' does not follow from the score %.2f (the model's "
                "thresholds give '%s'): the result file is damaged or was edited",
                name, key, got, value, want);
    return -1;
}

static long long int_or_zero(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

/* A renderer prints the summary (counts, conclusion, bar) and the items side by side, so a
 * file whose summary contradicts its own items (damaged, or edited by hand) is refused: a
 * report saying 符合 100 and 优 over a list of 不符合 items must not be rendered as if valid. */
int dbg_assess_check_summary(const json_t *doc, const char *name)
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
    json_t *by_id = json_object();
    if (!by_id) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < json_array_size(items); k++) {
        json_t *it = json_array_get(items, k);
        const char *id = json_string_value(json_object_get(it, "id"));
        if (!json_object_get(by_id, id) && json_object_set(by_id, id, it) != 0) {
            json_decref(by_id);
            dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            return -1;
        }
    }
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
    double value = json_number_value(json_object_get(score, "value"));
    double after = json_number_value(json_object_get(score, "value_after_waivers"));
    long long hr_before =
        int_or_zero(score, "open_high_risk") + int_or_zero(score, "unchecked_high_risk");
    long long hr_after = int_or_zero(score, "open_high_risk_after_waivers") +
                         int_or_zero(score, "unchecked_high_risk_after_waivers");
    if (summary_field_agrees(score, name, "conclusion", value, hr_before > 0) ||
        summary_field_agrees(score, name, "conclusion_after_waivers", after, hr_after > 0))
        return -1;
    const json_t *line = json_object_get(score, "basic_compliance_line");
    const json_t *basic = json_object_get(score, "basic_compliance");
    if (json_is_number(line) && json_is_boolean(basic) &&
        json_is_true(basic) != (value >= json_number_value(line))) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.score.basic_compliance: %s, but the score %.2f is %s the line %.2f: "
                    "the result file is damaged or was edited",
                    name, json_is_true(basic) ? "true" : "false", value,
                    value >= json_number_value(line) ? "at or above" : "below",
                    json_number_value(line));
        return -1;
    }
    const json_t *bar = json_object_get(score, "bar");
    const json_t *meets = json_object_get(score, "meets_bar");
    const json_t *min = json_object_get(bar, "min_score");
    if (json_is_number(min) && json_is_boolean(meets)) {
        int want = after >= json_number_value(min) &&
                   !(json_is_true(json_object_get(bar, "no_open_high_risk")) && hr_after > 0);
        if (json_is_true(meets) != want) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.score.meets_bar: %s, but the score after waivers %.2f (bar %.2f) "
                        "and %lld open or unchecked high-risk item(s) say %s: the result file "
                        "is damaged or was edited",
                        name, json_is_true(meets) ? "true" : "false", after, json_number_value(min),
                        hr_after, want ? "true" : "false");
            return -1;
        }
    }
    return 0;
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
    const json_t *score = json_object_get(doc, "score");
    if (!json_is_object(score) || !json_is_number(json_object_get(score, "value")) ||
        !json_is_number(json_object_get(score, "value_after_waivers")) ||
        !json_is_object(json_object_get(score, "model")) ||
        !json_is_object(json_object_get(score, "counts")))
        return bad(name, "$.score", "missing value, value_after_waivers, model or counts");
    static const char *const score_keys[] = {"conclusion", "conclusion_after_waivers", NULL};
    if (want_strings(score, name, "$.score", score_keys))
        return -1;
    const json_t *items = json_object_get(doc, "items");
    if (!json_is_array(items))
        return bad(name, "$.items", "missing or not an array");
    static const char *const item_keys[] = {
        "id", "clause", "layer", "control_point", "text", "verdict", "reason", "remediation", NULL};
    static const char *const ev_keys[] = {"check", "source", "key", "observed", "expected", NULL};
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        snprintf(p, sizeof(p), "$.items[%zu]", i);
        if (!json_is_object(it))
            return bad(name, p, "not an object");
        if (want_strings(it, name, p, item_keys))
            return -1;
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
            if (want_strings(it, name, p, gap_keys))
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
