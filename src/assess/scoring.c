/* The scoring model loaded from data/assess/scoring.yaml (deduction per verdict, the
 * basic-compliance line, conclusion thresholds, the exit-code bar) and the score it gives a
 * list of item verdicts: one function for `dengbao assess` and for `dengbao report`'s check
 * of a saved result. Mechanism only; every number is data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "assess/yaml_doc.h"
#include "dengbao/assess.h"
#include "dengbao/util.h"

/* A field the mapping lacks has no place of its own: the mapping's line and the field's name.
 * Returns -1. */
static int missing(const json_t *map, const char *key, const char *file)
{
    dbg_err_set(DBG_ERR_INVALID, "%s:%d: '%s' is missing from the mapping at this line", file,
                dbg_yaml_line(map), key);
    return -1;
}

/* The text of a field, NULL when it is absent or YAML null (`~`: no value); a list or mapping
 * there is an error at the value (its number would be lost), -1. */
static int field_text(const json_t *map, const char *key, const char *file, const char **out)
{
    const json_t *v = json_object_get(map, key);
    *out = json_string_value(v);
    if (!v || *out || json_is_null(v))
        return 0;
    return dbg_yaml_bad_field(map, key, file, "'%s' is a list or mapping, not text", key);
}

/* Errors name the value's line and column ("scoring.yaml:27:8: '不符合' is 'x', not a number
 * 0..1000"), as the attestation and waiver files' do. */
static int num(const json_t *map, const char *key, const char *file, double *out, int required)
{
    const char *s;
    if (field_text(map, key, file, &s) != 0)
        return -1;
    if (!s)
        return required ? missing(map, key, file) : 0;
    if (dbg_parse_double(s, 0, 1000, out) < 0)
        return dbg_yaml_bad_field(map, key, file, "'%s' is '%.64s', not a decimal number 0..1000",
                                  key, s);
    return 0;
}

static int flag(const json_t *map, const char *key, const char *file, int *out)
{
    const char *s;
    if (field_text(map, key, file, &s) != 0)
        return -1;
    if (!s)
        return 0;
    if (!strcmp(s, "true") || !strcmp(s, "yes"))
        *out = 1;
    else if (!strcmp(s, "false") || !strcmp(s, "no"))
        *out = 0;
    else
        return dbg_yaml_bad_field(map, key, file, "'%s' is '%.64s', must be true or false", key, s);
    return 0;
}

/* A section of the model ('deduction', 'conclusions', 'bar') holding only the keys allowed;
 * NULL + dbg_err when it is missing, not a mapping, or has a key it does not (a typo such as
 * 'min_scor' would keep the default, or be reported as a missing key far from the typo). */
static const json_t *section(const json_t *doc, const char *key, const char *file,
                             const char *const *allowed)
{
    const json_t *v = json_object_get(doc, key);
    if (json_is_object(v)) {
        DBG_AUTOFREE char *what = dbg_asprintf("'%s'", key);
        return what && dbg_yaml_known_keys(v, file, what, allowed) == 0 ? v : NULL;
    }
    if (!v)
        missing(doc, key, file);
    else
        dbg_yaml_bad_field(doc, key, file, "'%s' must be a mapping", key);
    return NULL;
}

/* The model from its parsed document; path names it in errors, root is where the document's
 * top node starts. Takes doc. */
static dbg_score_model *model_from_doc(json_t *doc, const char *path, dbg_yaml_pos root)
{
    dbg_score_model *m = dbg_calloc(1, sizeof(*m));
    if (!m)
        goto fail;
    /* Each names its line and column, as every other error of the model does: the top node's
     * (1:1 for an empty document), the value's when 'model' is there. */
    const char *model_name = NULL;
    if (!json_is_object(doc)) {
        dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: not a scoring model (%s, not a mapping)", path,
                    root.line, root.column, dbg_yaml_kind(doc));
        goto fail;
    }
    if (!json_object_get(doc, "model")) {
        dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: not a scoring model (no 'model' name in %s)", path,
                    root.line, root.column,
                    dbg_yaml_line(doc) ? "the mapping at this line" : "an empty document");
        goto fail;
    }
    if (field_text(doc, "model", path, &model_name) != 0)
        goto fail;
    /* the report states the model by its name: an empty one names none */
    if (!model_name || dbg_utf8_blank(model_name)) {
        dbg_yaml_bad_field(doc, "model", path, "not a scoring model ('model' is %s)",
                           model_name ? "blank" : "null");
        goto fail;
    }
    /* A typo of an optional key ('default_wieght:', 'high_risk_forces_pooor:') kept the default
     * without a word and changed every score. */
    static const char *const model_keys[] = {"model",
                                             "formula",
                                             "unverified",
                                             "note",
                                             "deduction",
                                             "default_weight",
                                             "basic_compliance",
                                             "conclusions",
                                             "high_risk_forces_poor",
                                             "bar",
                                             NULL};
    if (dbg_yaml_known_keys(doc, path, "the scoring model", model_keys) != 0)
        goto fail;
    /* a list or mapping here is refused at its value as where a number goes: it became "" and
     * the report stated no formula without a word */
    const char *formula, *note;
    if (field_text(doc, "formula", path, &formula) != 0 || field_text(doc, "note", path, &note))
        goto fail;
    m->name = dbg_strdup(model_name);
    m->formula = dbg_strdup(formula ? formula : "");
    m->note = dbg_strdup(note ? note : "");
    if (!m->name || !m->formula || !m->note)
        goto fail;
    m->unverified = 1;
    m->high_risk_forces_poor = 1;
    m->bar_no_open_high_risk = 1;
    if (flag(doc, "unverified", path, &m->unverified) ||
        flag(doc, "high_risk_forces_poor", path, &m->high_risk_forces_poor))
        goto fail;
    static const dbg_verdict scored[] = {DBG_VERDICT_PASS, DBG_VERDICT_PARTIAL, DBG_VERDICT_FAIL,
                                         DBG_VERDICT_UNCHECKED};
    /* 不适用 is no key: those items are out of the score, a deduction for them would say
     * otherwise */
    const char *ded_keys[5] = {NULL};
    for (size_t i = 0; i < 4; i++)
        ded_keys[i] = dbg_verdict_name(scored[i]);
    static const char *const con_keys[] = {"优", "良", "中", NULL};
    static const char *const bar_keys[] = {"min_score", "no_open_high_risk", NULL};
    const json_t *ded, *con, *bar;
    if (!(ded = section(doc, "deduction", path, ded_keys)) ||
        !(con = section(doc, "conclusions", path, con_keys)) ||
        !(bar = section(doc, "bar", path, bar_keys)))
        goto fail;
    for (size_t i = 0; i < 4; i++)
        if (num(ded, dbg_verdict_name(scored[i]), path, &m->deduction[scored[i]], 1))
            goto fail;
    m->default_weight = 1;
    if (num(doc, "default_weight", path, &m->default_weight, 0) ||
        num(doc, "basic_compliance", path, &m->basic_compliance, 1) ||
        num(con, "优", path, &m->excellent, 1) || num(con, "良", path, &m->good, 1) ||
        num(con, "中", path, &m->fair, 1) || num(bar, "min_score", path, &m->bar_min_score, 1) ||
        flag(bar, "no_open_high_risk", path, &m->bar_no_open_high_risk))
        goto fail;
    for (size_t i = 0; i < 4; i++) {
        const char *name = dbg_verdict_name(scored[i]);
        if (m->deduction[scored[i]] > 1) {
            dbg_yaml_bad_field(ded, name, path, "deduction '%s' is '%s', not within 0..1", name,
                               dbg_yaml_str(ded, name));
            goto fail;
        }
    }
    /* at the threshold out of order: the lower conclusion's, above the one it ranks under */
    const char *above = m->excellent < m->good ? "良" : m->good < m->fair ? "中" : NULL;
    if (above) {
        const char *under = !strcmp(above, "良") ? "优" : "良";
        dbg_yaml_bad_field(con, above, path,
                           "%s '%s' is above %s '%s': conclusions must satisfy 优 >= 良 >= 中",
                           above, dbg_yaml_str(con, above), under, dbg_yaml_str(con, under));
        goto fail;
    }
    json_decref(doc);
    return m;
fail:
    json_decref(doc);
    dbg_score_model_free(m);
    return NULL;
}

dbg_score_model *dbg_score_model_load_buffer(const char *name, const char *text, size_t len)
{
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_text_at(text, len, name, &root);
    return doc ? model_from_doc(doc, name, root) : NULL;
}

dbg_score_model *dbg_score_model_load(const char *path)
{
    DBG_AUTOFREE char *def = NULL;
    if (!path) {
        def = dbg_datadir_join("assess/scoring.yaml");
        if (!def)
            return NULL;
        path = def;
    }
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_file_at(path, &root);
    return doc ? model_from_doc(doc, path, root) : NULL;
}

void dbg_score_model_free(dbg_score_model *m)
{
    if (!m)
        return;
    free(m->name);
    free(m->formula);
    free(m->note);
    free(m);
}

static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

/* high_risk: the open high-risk items plus those not checked. The model counts an item nobody
 * showed as not compliant (未检查 deducts as 不符合), so a high-risk item nobody showed is
 * treated as open: no 优/良/中 and no bar met while whether it is open is not known. */
static const char *conclusion(const dbg_score_model *m, double value, size_t high_risk)
{
    if (high_risk && m->high_risk_forces_poor)
        return "差";
    if (value >= m->excellent)
        return "优";
    if (value >= m->good)
        return "良";
    if (value >= m->fair)
        return "中";
    return "差";
}

/* M = 100 - 100 * sum(w * S) / sum(w) over applicable items; waived items count S = 0 when
 * after_waivers. Open high-risk = a high-risk 不符合 item not waived; unchecked high-risk = a
 * high-risk 未检查 item not waived (whether it is open is not known). */
static double score(const dbg_score_model *m, const dbg_score_item *s, size_t n, int after_waivers,
                    size_t *open_high_risk, size_t *unchecked_high_risk,
                    size_t *unverified_high_risk)
{
    double total = 0, deducted = 0;
    *open_high_risk = *unchecked_high_risk = *unverified_high_risk = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].verdict == DBG_VERDICT_NA)
            continue;
        int waived = after_waivers && s[i].waived;
        total += s[i].weight;
        if (!waived)
            deducted += s[i].weight * m->deduction[s[i].verdict];
        if (s[i].high_risk && s[i].verdict == DBG_VERDICT_FAIL && !waived)
            (*open_high_risk)++;
        if (s[i].high_risk && s[i].verdict == DBG_VERDICT_UNCHECKED && !waived)
            (*unchecked_high_risk)++;
        if (s[i].high_risk && s[i].high_risk_unverified && !waived &&
            (s[i].verdict == DBG_VERDICT_FAIL || s[i].verdict == DBG_VERDICT_UNCHECKED))
            (*unverified_high_risk)++;
    }
    return total > 0 ? round2(100.0 - 100.0 * deducted / total) : 100.0;
}

double dbg_score_item_weight(const dbg_score_model *m, double catalog_weight)
{
    return catalog_weight > 0 ? catalog_weight : m->default_weight;
}

void dbg_score_compute(const dbg_score_model *m, const dbg_score_item *items, size_t n,
                       dbg_score_summary *out)
{
    *out = (dbg_score_summary){0};
    out->value = score(m, items, n, 0, &out->open_high_risk, &out->unchecked_high_risk,
                       &out->unverified_high_risk);
    out->value_after_waivers =
        score(m, items, n, 1, &out->open_high_risk_after_waivers,
              &out->unchecked_high_risk_after_waivers, &out->unverified_high_risk_after_waivers);
    for (size_t i = 0; i < n; i++) {
        out->counts[items[i].verdict]++;
        out->waived_items += items[i].waived != 0;
    }
    out->basic_compliance = out->value >= m->basic_compliance;
    out->conclusion = conclusion(m, out->value, out->open_high_risk + out->unchecked_high_risk);
    out->conclusion_after_waivers =
        conclusion(m, out->value_after_waivers,
                   out->open_high_risk_after_waivers + out->unchecked_high_risk_after_waivers);
    out->meets_bar = out->value_after_waivers >= m->bar_min_score &&
                     !(m->bar_no_open_high_risk &&
                       out->open_high_risk_after_waivers + out->unchecked_high_risk_after_waivers);
}
