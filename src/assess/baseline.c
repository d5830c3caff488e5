/* The baseline diff: this result against an older one, item by item (by id). Regressions
 * come first because they are what a security engineer must act on. */
#include <string.h>

#include "dengbao/assess.h"
#include "dengbao/util.h"

/* Higher is better; 不适用 ranks with 符合 (nothing to do). */
static int rank(dbg_verdict v)
{
    switch (v) {
    case DBG_VERDICT_PASS:
    case DBG_VERDICT_NA:
        return 3;
    case DBG_VERDICT_PARTIAL:
        return 2;
    case DBG_VERDICT_UNCHECKED:
        return 1;
    case DBG_VERDICT_FAIL:
        return 0;
    }
    return 0;
}

static const json_t *find_item(const json_t *items, const char *id)
{
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        if (dbg_streq(json_string_value(json_object_get(it, "id")), id))
            return it;
    }
    return NULL;
}

int dbg_assess_baseline(json_t *result, const json_t *old, const char *old_name)
{
    const json_t *now_items = json_object_get(result, "items");
    const json_t *old_items = json_object_get(old, "items");
    json_t *regressions = json_array(), *improvements = json_array(), *added = json_array(),
           *removed = json_array();
    for (size_t i = 0; i < json_array_size(now_items); i++) {
        const json_t *it = json_array_get(now_items, i);
        const char *id = json_string_value(json_object_get(it, "id"));
        const json_t *was = find_item(old_items, id);
        if (!was) {
            json_array_append_new(added, json_string(id));
            continue;
        }
        const char *from = json_string_value(json_object_get(was, "verdict"));
        const char *to = json_string_value(json_object_get(it, "verdict"));
        dbg_verdict vf, vt;
        if (dbg_verdict_parse(from, &vf) || dbg_verdict_parse(to, &vt) || vf == vt)
            continue;
        json_t *change = json_pack("{s:s,s:O,s:s,s:s}", "id", id, "clause",
                                   json_object_get(it, "clause"), "from", from, "to", to);
        json_array_append_new(rank(vt) < rank(vf) ? regressions : improvements, change);
    }
    for (size_t i = 0; i < json_array_size(old_items); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(old_items, i), "id"));
        if (!find_item(now_items, id))
            json_array_append_new(removed, json_string(id));
    }
    const json_t *os = json_object_get(old, "score");
    const json_t *ns = json_object_get(result, "score");
    json_t *b = json_pack(
        "{s:s,s:O?,s:O?,s:O?,s:O?,s:o,s:o,s:o,s:o}", "file", old_name, "collected",
        json_object_get(json_object_get(old, "platform"), "collected"), "score_before",
        json_object_get(os, "value"), "score_now", json_object_get(ns, "value"),
        "conclusion_before", json_object_get(os, "conclusion"), "regressions", regressions,
        "improvements", improvements, "new_items", added, "removed_items", removed);
    if (!b) {
        dbg_err_set(DBG_ERR_INVALID, "%s: baseline lacks platform.collected or score", old_name);
        return -1;
    }
    json_object_set_new(result, "baseline", b);
    /* Items are compared by id, and ids carry the level: against another level's result every
     * item is new, and "0 regressions" would read as nothing got worse. */
    const json_t *ol = json_object_get(old, "level"), *nl = json_object_get(result, "level");
    if (json_integer_value(ol) != json_integer_value(nl)) {
        DBG_AUTOFREE char *msg = dbg_asprintf(
            "baseline %s is a level-%lld result and this assessment is level %lld: no item is "
            "compared (%zu new, %zu removed)",
            old_name, (long long)json_integer_value(ol), (long long)json_integer_value(nl),
            json_array_size(added), json_array_size(removed));
        if (!msg || json_array_append_new(json_object_get(result, "warnings"), json_string(msg))) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory noting the baseline's level");
            return -1;
        }
    }
    return 0;
}
