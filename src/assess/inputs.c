/* The assessor's inputs besides the snapshot: attestations for manual items (--attest) and
 * waivers of accepted findings (--waivers), both YAML lists. Every field is checked here so
 * a malformed file stops the run with the file and line, before anything is scored. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/yaml_doc.h"
#include "dengbao/assess.h"
#include "dengbao/util.h"

#define MAX_ENTRIES 10000
#define DAY_US (86400LL * 1000000)

/* Text a field holds; a field that is there but not text (a list or mapping there would be
 * lost) or blank where nonblank is an error at the field. Blank is dbg_utf8_blank's: an
 * attester, a document or a justification of only blanks says nothing about who vouches for
 * what, nor does one of ideographic spaces (U+3000, as a Chinese input method types them),
 * NBSP or zero-width characters, which look as empty. */
static int field_text(const json_t *e, const char *key, const char *path, int nonblank, char **out)
{
    const char *s = dbg_yaml_str(e, key);
    if (!s || (nonblank && dbg_utf8_blank(s))) {
        DBG_AUTOFREE char *at = dbg_yaml_field_at(path, e, key, 0);
        dbg_err_set(DBG_ERR_INVALID, "%s: '%s' is %s", at ? at : path, key,
                    s                                       ? "blank"
                    : json_is_null(json_object_get(e, key)) ? "null (YAML ~ or null: no text)"
                                                            : "not text");
        return -1;
    }
    *out = dbg_strdup(s);
    return *out ? 0 : -1;
}

static int need(const json_t *e, const char *key, const char *path, char **out)
{
    if (!json_object_get(e, key)) {
        dbg_err_set(DBG_ERR_INVALID, "%s:%d: '%s' is missing from the entry at this line", path,
                    dbg_yaml_line(e), key);
        return -1;
    }
    return field_text(e, key, path, 1, out);
}

/* A key that may be left out (or given as YAML null, `note: ~`, which says the same); when
 * given it is text, and not blank where nonblank. */
static int optional(const json_t *e, const char *key, const char *path, int nonblank, char **out)
{
    const json_t *v = json_object_get(e, key);
    return v && !json_is_null(v) ? field_text(e, key, path, nonblank, out) : 0;
}

/* YYYY-MM-DD; *end_us = the last microsecond of that day (UTC). */
static int parse_day(const char *s, int64_t *end_us)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return -1;
    char buf[40];
    snprintf(buf, sizeof(buf), "%sT23:59:59.999999Z", s);
    int64_t us = 0;
    if (dbg_time_parse_rfc3339(buf, &us) != 0)
        return -1;
    if (end_us)
        *end_us = us;
    return 0;
}

static int attest_from_doc(dbg_assess_inputs *in, const char *path, json_t *doc, dbg_yaml_pos root);
static int waivers_from_doc(dbg_assess_inputs *in, const char *path, json_t *doc,
                            dbg_yaml_pos root);

/* Each refusal names a line and column: the file's top node when it is no mapping or has no key
 * (root, 1:1 for an empty file), the value's when it is no list, and for an entry that is no
 * mapping the list's own start (a scalar in the tree keeps no place of its own). */
static const json_t *entries(const char *path, json_t *doc, dbg_yaml_pos root, const char *key,
                             const char *const *entry_keys)
{
    if (!json_is_object(doc)) {
        dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: expected a top-level '%s:' list, not %s", path,
                    root.line, root.column, key, dbg_yaml_kind(doc));
        return NULL;
    }
    /* a misspelt key is named as one, before the list it should have been is missed */
    const char *const top[] = {key, NULL};
    if (dbg_yaml_known_keys(doc, path, "the file", top) != 0)
        return NULL;
    const json_t *list = json_object_get(doc, key);
    if (!list) {
        /* the top mapping, or 1:1 for an empty file */
        dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: expected a top-level '%s:' list; the file has none",
                    path, root.line, root.column, key);
        return NULL;
    }
    if (!json_is_array(list)) {
        dbg_yaml_bad_field(doc, key, path, "'%s' must be a list of entries (- item: ...)", key);
        return NULL;
    }
    if (json_array_size(list) > MAX_ENTRIES) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: more than %d entries", path, MAX_ENTRIES);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        if (!json_is_object(e)) {
            DBG_AUTOFREE char *at = dbg_yaml_field_at(path, doc, key, 0);
            dbg_err_set(DBG_ERR_INVALID, "%s: entry %zu of the '%s' list starting here is not a "
                        "mapping of fields",
                        at ? at : path, i + 1, key);
            return NULL;
        }
        if (dbg_yaml_known_keys(e, path, "an entry", entry_keys) != 0)
            return NULL;
    }
    return list;
}

int dbg_attest_load(dbg_assess_inputs *in, const char *path)
{
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_file_at(path, &root);
    if (!doc)
        return -1;
    return attest_from_doc(in, path, doc, root);
}

int dbg_attest_load_buffer(dbg_assess_inputs *in, const char *name, const char *text, size_t len)
{
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_text_at(text, len, name, &root);
    if (!doc)
        return -1;
    return attest_from_doc(in, name, doc, root);
}

/* Takes the reference to doc. */
static int attest_from_doc(dbg_assess_inputs *in, const char *path, json_t *doc, dbg_yaml_pos root)
{
    int r = -1;
    static const char *const keys[] = {"item",     "verdict", "attested_by", "date",
                                       "document", "note",    NULL};
    const json_t *list = entries(path, doc, root, "attestations", keys);
    if (!list)
        goto out;
    size_t n = json_array_size(list);
    in->attest = dbg_calloc(n ? n : 1, sizeof(*in->attest));
    if (!in->attest)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        dbg_attestation *a = &in->attest[in->n_attest++];
        a->line = dbg_yaml_line(e);
        char *verdict = NULL;
        if (need(e, "item", path, &a->item) || need(e, "verdict", path, &verdict))
            goto out;
        int bad =
            dbg_verdict_parse(verdict, &a->verdict) != 0 || a->verdict == DBG_VERDICT_UNCHECKED;
        free(verdict);
        if (bad) {
            dbg_yaml_bad_field(e, "verdict", path,
                               "verdict '%.64s' is not 符合, 部分符合, 不符合 or 不适用",
                               dbg_yaml_str(e, "verdict"));
            goto out;
        }
        if (need(e, "attested_by", path, &a->attested_by) || need(e, "date", path, &a->date) ||
            need(e, "document", path, &a->document) || optional(e, "note", path, 0, &a->note))
            goto out;
        /* 不适用 takes an item out of the score (a high-risk one out of the open high-risk
         * count): an assessor states why it does not apply, and the report shows it. */
        if (a->verdict == DBG_VERDICT_NA && (!a->note || dbg_utf8_blank(a->note))) {
            dbg_yaml_bad_field(
                e, "verdict", path,
                "verdict 不适用 needs a 'note' giving the reason the item does not apply "
                "(it takes the item out of the score; the report shows the reason)");
            goto out;
        }
        if (parse_day(a->date, &a->date_us) != 0) {
            dbg_yaml_bad_field(e, "date", path, "date '%.64s' is not YYYY-MM-DD", a->date);
            goto out;
        }
        a->date_us -= DAY_US - 1; /* the day's first microsecond */
        a->item_line = dbg_yaml_value_line(e, "item", &a->item_column);
        a->date_line = dbg_yaml_value_line(e, "date", &a->date_column);
        for (size_t j = 0; j + 1 < in->n_attest; j++)
            if (!strcmp(in->attest[j].item, a->item)) {
                DBG_AUTOFREE char *at = dbg_yaml_field_at(path, e, "item", 0);
                dbg_err_set(DBG_ERR_INVALID, "%s: item %s is already attested at line %d",
                            at ? at : path, a->item, in->attest[j].line);
                goto out;
            }
    }
    r = 0;
out:
    json_decref(doc);
    return r;
}

int dbg_waivers_load(dbg_assess_inputs *in, const char *path)
{
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_file_at(path, &root);
    if (!doc)
        return -1;
    return waivers_from_doc(in, path, doc, root);
}

int dbg_waivers_load_buffer(dbg_assess_inputs *in, const char *name, const char *text, size_t len)
{
    dbg_yaml_pos root;
    json_t *doc = dbg_yaml_load_text_at(text, len, name, &root);
    if (!doc)
        return -1;
    return waivers_from_doc(in, name, doc, root);
}

/* Takes the reference to doc. */
static int waivers_from_doc(dbg_assess_inputs *in, const char *path, json_t *doc, dbg_yaml_pos root)
{
    int r = -1;
    static const char *const keys[] = {"item", "check", "justification", "owner", "expiry", NULL};
    const json_t *list = entries(path, doc, root, "waivers", keys);
    if (!list)
        goto out;
    size_t n = json_array_size(list);
    in->waivers = dbg_calloc(n ? n : 1, sizeof(*in->waivers));
    if (!in->waivers)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        dbg_waiver *w = &in->waivers[in->n_waivers++];
        w->line = dbg_yaml_line(e);
        if (optional(e, "item", path, 1, &w->item) || optional(e, "check", path, 1, &w->check))
            goto out;
        if (!w->item == !w->check) {
            dbg_err_set(DBG_ERR_INVALID, "%s:%d: a waiver names exactly one 'item' or 'check'",
                        path, w->line);
            goto out;
        }
        w->name_line = dbg_yaml_value_line(e, w->item ? "item" : "check", &w->name_column);
        if (w->check && !dbg_check_find(w->check)) {
            dbg_yaml_bad_field(e, "check", path, "no check '%.64s'", w->check);
            goto out;
        }
        if (need(e, "justification", path, &w->justification) ||
            need(e, "owner", path, &w->owner) || need(e, "expiry", path, &w->expiry))
            goto out;
        if (parse_day(w->expiry, &w->expiry_us) != 0) {
            dbg_yaml_bad_field(e, "expiry", path, "expiry '%.64s' is not YYYY-MM-DD", w->expiry);
            goto out;
        }
    }
    r = 0;
out:
    json_decref(doc);
    return r;
}

void dbg_assess_inputs_free(dbg_assess_inputs *in)
{
    if (!in)
        return;
    for (size_t i = 0; i < in->n_attest; i++) {
        dbg_attestation *a = &in->attest[i];
        free(a->item);
        free(a->attested_by);
        free(a->date);
        free(a->document);
        free(a->note);
    }
    free(in->attest);
    for (size_t i = 0; i < in->n_waivers; i++) {
        dbg_waiver *w = &in->waivers[i];
        free(w->item);
        free(w->check);
        free(w->justification);
        free(w->owner);
        free(w->expiry);
    }
    free(in->waivers);
    free(in->path);
    memset(in, 0, sizeof(*in));
}
