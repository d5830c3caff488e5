/* Terminal report: header, score and conclusion, verdict counts, one line per item, the gap
 * summary by layer with evidence and remediation, baseline changes (regressions first). */
#include <stdlib.h>
#include <string.h>

#include "report/report_util.h"

static const char *const colours[] = {"\033[32m", "\033[33m", "\033[31m", "\033[90m", "\033[35m"};
#define RESET "\033[0m"
#define BOLD "\033[1m"

static void verdict(dbg_buf *b, const dbg_report_opts *o, const char *zh)
{
    int i = dbg_rpt_verdict_index(zh);
    dbg_buf_printf(b, "%s%s%s", o->color ? colours[i] : "", dbg_rpt_verdict(o->lang, zh),
                   o->color ? RESET : "");
}

static void header(dbg_buf *b, const json_t *r, const dbg_report_opts *o)
{
    dbg_lang L = o->lang;
    const json_t *pf = json_object_get(r, "platform");
    const json_t *sc = json_object_get(r, "score");
    const json_t *model = json_object_get(sc, "model");
    dbg_buf_printf(b, "%s%s%s — %s %lld\n", o->color ? BOLD : "", dbg_rpt_label(L, "title"),
                   o->color ? RESET : "", dbg_rpt_label(L, "level"),
                   (long long)json_integer_value(json_object_get(r, "level")));
    dbg_buf_printf(b, "%s: %s (%s %s, %s)\n", dbg_rpt_label(L, "platform"), dbg_rpt_str(pf, "uri"),
                   dbg_rpt_str(pf, "hypervisor"), dbg_rpt_str(pf, "libvirt_version"),
                   dbg_rpt_str(pf, "hostname"));
    char inv[256];
    dbg_rpt_inventory(L, pf, inv, sizeof(inv));
    dbg_buf_printf(b, "%s: %s   %s: %s\n", dbg_rpt_label(L, "collected"),
                   dbg_rpt_str(pf, "collected"), dbg_rpt_label(L, "inventory"), inv);
    /* an assessment dated before its collection says so beside the collection time */
    if (json_is_string(json_object_get(r, "as_of")))
        dbg_buf_printf(b, "%s: %s\n", dbg_rpt_label(L, "as_of"), dbg_rpt_str(r, "as_of"));
    const json_t *hl = json_object_get(r, "hosts_level");
    if (json_is_integer(hl))
        dbg_buf_printf(b, "%s: %lld\n", dbg_rpt_label(L, "hosts_level"),
                       (long long)json_integer_value(hl));
    dbg_buf_printf(
        b, "\n%s%s: %.2f%s   %s: %s%s   %s: %s\n", o->color ? BOLD : "", dbg_rpt_label(L, "score"),
        json_number_value(json_object_get(sc, "value")), o->color ? RESET : "",
        dbg_rpt_label(L, "conclusion"), dbg_rpt_conclusion(L, dbg_rpt_str(sc, "conclusion")),
        dbg_rpt_conclusion_basis(L, r, 0), dbg_rpt_label(L, "basic"),
        dbg_rpt_label(L, json_is_true(json_object_get(sc, "basic_compliance")) ? "yes" : "no"));
    dbg_buf_printf(
        b, "%s: %.2f, %s %s%s   %s: %lld (%s: %lld)\n", dbg_rpt_label(L, "after_waivers"),
        json_number_value(json_object_get(sc, "value_after_waivers")),
        dbg_rpt_label(L, "conclusion"),
        dbg_rpt_conclusion(L, dbg_rpt_str(sc, "conclusion_after_waivers")),
        dbg_rpt_conclusion_basis(L, r, 1), dbg_rpt_label(L, "open_high_risk"),
        (long long)json_integer_value(json_object_get(sc, "open_high_risk")),
        dbg_rpt_label(L, "after_waivers"),
        (long long)json_integer_value(json_object_get(sc, "open_high_risk_after_waivers")));
    /* not known to be closed either: the count an assessor must not read as zero (absent from
     * results of older versions) */
    if (json_is_integer(json_object_get(sc, "unchecked_high_risk")))
        dbg_buf_printf(b, "%s: %lld (%s: %lld)\n", dbg_rpt_label(L, "unchecked_high_risk"),
                       (long long)json_integer_value(json_object_get(sc, "unchecked_high_risk")),
                       dbg_rpt_label(L, "after_waivers"),
                       (long long)json_integer_value(
                           json_object_get(sc, "unchecked_high_risk_after_waivers")));
    /* the flags behind those counts force 差; a reader must see when nobody verified them */
    DBG_AUTOFREE char *basis = dbg_rpt_unverified_high_risk(L, r);
    if (basis)
        dbg_buf_printf(b, "  (%s)\n", basis);
    dbg_buf_printf(b, "%s: %s — %s\n", dbg_rpt_label(L, "model"), dbg_rpt_str(model, "name"),
                   dbg_rpt_str(model, "formula"));
    if (json_is_true(json_object_get(model, "unverified")))
        dbg_buf_printf(b, "  (%s)\n", dbg_rpt_label(L, "unverified"));
    dbg_buf_printf(b, "%s:", dbg_rpt_label(L, "counts"));
    const json_t *counts = json_object_get(sc, "counts");
    static const char *const order[] = {"符合", "部分符合", "不符合", "不适用", "未检查"};
    for (size_t i = 0; i < 5; i++) {
        dbg_buf_adds(b, "  ");
        verdict(b, o, order[i]);
        dbg_buf_printf(b, " %lld",
                       (long long)json_integer_value(json_object_get(counts, order[i])));
    }
    dbg_buf_adds(b, "\n");
    size_t n_na = 0;
    DBG_AUTOFREE char *na = dbg_rpt_na_high_risk(L, json_object_get(r, "items"), "\n  ", &n_na);
    if (n_na)
        dbg_buf_printf(b, "%s: %zu\n  %s\n", dbg_rpt_label(L, "na_high_risk"), n_na, na ? na : "");
}

static void item_table(dbg_buf *b, const json_t *r, const dbg_report_opts *o)
{
    const json_t *items = json_object_get(r, "items");
    size_t nl = 0;
    const char **layers = dbg_rpt_layers(items, &nl);
    for (size_t l = 0; layers && l < nl; l++) {
        dbg_buf_printf(b, "\n%s[%s]%s\n", o->color ? BOLD : "", dbg_rpt_layer(o->lang, layers[l]),
                       o->color ? RESET : "");
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            if (strcmp(dbg_rpt_str(it, "layer"), layers[l]))
                continue;
            dbg_buf_printf(b, "  %-11s ", dbg_rpt_str(it, "clause"));
            verdict(b, o, dbg_rpt_str(it, "verdict"));
            dbg_buf_printf(b, "  %s  ", dbg_rpt_str(it, "control_point"));
            dbg_rpt_trunc(b, dbg_rpt_str(it, "text"), 40);
            if (json_is_object(json_object_get(it, "waiver")))
                dbg_buf_printf(b, " [%s]", dbg_rpt_label(o->lang, "waived"));
            dbg_buf_adds(b, "\n");
        }
    }
    free(layers);
}

static void gaps(dbg_buf *b, const json_t *r, const dbg_report_opts *o)
{
    dbg_lang L = o->lang;
    const json_t *groups = json_object_get(r, "gaps");
    dbg_buf_printf(b, "\n%s%s%s\n", o->color ? BOLD : "", dbg_rpt_label(L, "gaps"),
                   o->color ? RESET : "");
    if (json_array_size(groups) == 0)
        dbg_buf_printf(b, "  %s\n", dbg_rpt_label(L, "none"));
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const json_t *grp = json_array_get(groups, g);
        dbg_buf_printf(b, "[%s]\n", dbg_rpt_layer(L, dbg_rpt_str(grp, "layer")));
        const json_t *items = json_object_get(grp, "items");
        size_t unchecked = 0;
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            /* the summary lists findings and the high-risk items not checked (whose risk is
             * 高); the report lists every gap */
            if (o->summary_only && !strcmp(dbg_rpt_str(it, "verdict"), "未检查") &&
                strcmp(dbg_rpt_str(it, "risk"), "高")) {
                unchecked++;
                continue;
            }
            dbg_buf_printf(b, "  %s %s ", dbg_rpt_str(it, "clause"),
                           dbg_rpt_str(it, "control_point"));
            verdict(b, o, dbg_rpt_str(it, "verdict"));
            dbg_buf_printf(b, "  %s: %s", dbg_rpt_label(L, "risk"),
                           dbg_rpt_risk(L, dbg_rpt_str(it, "risk")));
            /* whose duty the gap is (IaaS split): a tenant's item is not the provider's to fix */
            const char *owner = dbg_rpt_responsibility(L, dbg_rpt_str(it, "responsibility"));
            if (owner)
                dbg_buf_printf(b, "  %s: %s", dbg_rpt_label(L, "responsibility"), owner);
            dbg_buf_printf(b, "%s%s\n", json_is_true(json_object_get(it, "waived")) ? "  " : "",
                           json_is_true(json_object_get(it, "waived")) ? dbg_rpt_label(L, "waived")
                                                                       : "");
            if (o->summary_only) {
                const json_t *ev = json_object_get(it, "evidence");
                if (json_array_size(ev)) {
                    const json_t *x = json_array_get(ev, 0);
                    dbg_buf_printf(b, "      - %s: %s = ", dbg_rpt_str(x, "source"),
                                   dbg_rpt_str(x, "key"));
                    dbg_rpt_trunc(b, dbg_rpt_str(x, "observed"), 100);
                    dbg_buf_adds(b, "\n");
                } else {
                    dbg_buf_adds(b, "      - ");
                    dbg_rpt_trunc(b, dbg_rpt_str(it, "reason"), 100);
                    dbg_buf_adds(b, "\n");
                }
                continue;
            }
            const json_t *ev = json_object_get(it, "evidence");
            size_t shown = json_array_size(ev) < 3 ? json_array_size(ev) : 3;
            for (size_t e = 0; e < shown; e++) {
                const json_t *x = json_array_get(ev, e);
                dbg_buf_printf(b, "      - %s: %s = ", dbg_rpt_str(x, "source"),
                               dbg_rpt_str(x, "key"));
                dbg_rpt_trunc(b, dbg_rpt_str(x, "observed"), 120);
                dbg_buf_printf(b, " (%s: ", dbg_rpt_label(L, "expected"));
                dbg_rpt_trunc(b, dbg_rpt_str(x, "expected"), 60);
                dbg_buf_adds(b, ")\n");
            }
            if (json_array_size(ev) > shown)
                dbg_buf_printf(b, "      - ... +%zu\n", json_array_size(ev) - shown);
            if (json_array_size(ev) == 0)
                dbg_buf_printf(b, "      - %s\n", dbg_rpt_str(it, "reason"));
            int untranslated;
            const char *fix = dbg_rpt_remediation(L, it, &untranslated);
            dbg_buf_printf(b, "      %s: %s", dbg_rpt_label(L, "remediation"),
                           untranslated ? dbg_rpt_label(L, "untranslated") : "");
            /* English takes about three letters for a Chinese character: the same advice. */
            dbg_rpt_trunc(b, fix, L == DBG_LANG_EN && !untranslated ? 480 : 160);
            dbg_buf_adds(b, "\n");
        }
        if (unchecked) {
            dbg_buf_printf(b, "  + %zu ", unchecked);
            verdict(b, o, "未检查");
            dbg_buf_adds(b, "\n");
        }
    }
}

static void changes(dbg_buf *b, const json_t *r, const dbg_report_opts *o)
{
    const json_t *base = json_object_get(r, "baseline");
    if (!json_is_object(base))
        return;
    dbg_lang L = o->lang;
    dbg_buf_printf(b, "\n%s: %s (%.2f -> %.2f)\n", dbg_rpt_label(L, "baseline"),
                   dbg_rpt_str(base, "file"),
                   json_number_value(json_object_get(base, "score_before")),
                   json_number_value(json_object_get(base, "score_now")));
    static const char *const kinds[] = {"regressions", "improvements"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *list = json_object_get(base, kinds[k]);
        dbg_buf_printf(b, "  %s: %zu\n", dbg_rpt_label(L, kinds[k]), json_array_size(list));
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *c = json_array_get(list, i);
            dbg_buf_printf(b, "    %s ", dbg_rpt_str(c, "clause"));
            verdict(b, o, dbg_rpt_str(c, "from"));
            dbg_buf_adds(b, " -> ");
            verdict(b, o, dbg_rpt_str(c, "to"));
            dbg_buf_adds(b, "\n");
        }
    }
}

static void notes(dbg_buf *b, const json_t *r, const dbg_report_opts *o)
{
    const json_t *w = json_object_get(r, "waivers");
    /* who waived what, why and until when, as the HTML report lists them: a gap line says only
     * 已豁免, and a waived item counts as met in the score after waivers */
    const json_t *applied = json_object_get(w, "applied");
    for (size_t i = 0; i < json_array_size(applied); i++) {
        const json_t *x = json_array_get(applied, i);
        dbg_buf_printf(b, "%s: %s%s — %s (%s, %s)\n", dbg_rpt_label(o->lang, "waivers"),
                       dbg_rpt_str(x, "item"), dbg_rpt_str(x, "check"),
                       dbg_rpt_str(x, "justification"), dbg_rpt_str(x, "owner"),
                       dbg_rpt_str(x, "expiry"));
    }
    const json_t *expired = json_object_get(w, "expired");
    for (size_t i = 0; i < json_array_size(expired); i++) {
        const json_t *x = json_array_get(expired, i);
        dbg_buf_printf(b, "%s %s: %s%s (%s, %s)\n", dbg_rpt_label(o->lang, "waivers"),
                       dbg_rpt_label(o->lang, "expired"), dbg_rpt_str(x, "item"),
                       dbg_rpt_str(x, "check"), dbg_rpt_str(x, "owner"), dbg_rpt_str(x, "expiry"));
    }
    const json_t *warn = json_object_get(r, "warnings");
    for (size_t i = 0; i < json_array_size(warn); i++)
        dbg_buf_printf(b, "%s: %s\n", dbg_rpt_label(o->lang, "warnings"), dbg_rpt_str_at(warn, i));
}

/* Strings of a result reach the terminal as they are in the text report: a VM, tenant or
 * network name (or a crafted result file) holding ESC or CSI could recolour, retitle or clear
 * the terminal, or move the cursor to overwrite a 不符合 line. The renderer works on a copy whose
 * strings show their control characters instead; its own colours are added afterwards. */
static int make_visible(json_t *v)
{
    int failed = 0;
    if (json_is_string(v)) {
        DBG_AUTOFREE char *shown = dbg_text_visible(json_string_value(v), &failed);
        return failed || (shown && json_string_set(v, shown) != 0) ? -1 : 0;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (make_visible(json_array_get(v, i)) != 0)
                return -1;
    } else if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            if (make_visible(x) != 0)
                return -1;
        }
    }
    return 0;
}

char *dbg_report_text(const json_t *result, const dbg_report_opts *o)
{
    json_t *r = json_deep_copy(result);
    if (!r || make_visible(r) != 0) {
        json_decref(r);
        dbg_err_set(DBG_ERR_NOMEM, "out of memory rendering the text report");
        return NULL;
    }
    dbg_buf b;
    dbg_buf_init(&b, 0);
    header(&b, r, o);
    if (!o->summary_only)
        item_table(&b, r, o);
    gaps(&b, r, o);
    changes(&b, r, o);
    notes(&b, r, o);
    json_decref(r);
    if (b.len == 0) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory rendering the text report");
        dbg_buf_free(&b);
        return NULL;
    }
    return dbg_buf_steal(&b);
}
