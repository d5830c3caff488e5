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

int dbg_assess_validate(const json_t *doc, const char *name)
{
    char p[256];
    if (!json_is_object(doc))
        return bad(name, "$", "not a JSON object");
    const json_t *v = json_object_get(doc, "schema_version");
    if (!json_is_integer(v))
        return bad(name, "$.schema_version", "missing: not an assessment result");
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
