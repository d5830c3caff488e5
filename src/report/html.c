/* One self-contained HTML page: no external CSS, fonts, scripts or images. Chinese labels
 * by default (--lang en for English), a summary chart as inline SVG (verdicts per layer),
 * the gap summary, per-layer item tables with their evidence, baseline and waivers, and a
 * print stylesheet. Every value from the result is escaped. */
#include <stdlib.h>
#include <string.h>

#include "report/report_util.h"

static const char *const verdict_colour[] = {"#2e7d32", "#f9a825", "#c62828", "#9e9e9e", "#6a1b9a"};
static const char *const verdict_order[] = {"符合", "部分符合", "不符合", "不适用", "未检查"};

static const char css[] =
    "body{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;"
    "margin:2em auto;max-width:1100px;color:#222;line-height:1.45;padding:0 1em}"
    "h1{font-size:1.6em;border-bottom:3px solid #1a4d8f;padding-bottom:.3em}"
    "h2{font-size:1.3em;margin-top:2em;color:#1a4d8f}h3{font-size:1.1em;margin-bottom:.3em}"
    "table{border-collapse:collapse;width:100%;margin:.5em 0 1em}"
    "th,td{border:1px solid #ccc;padding:.3em "
    ".5em;vertical-align:top;text-align:left;font-size:.9em}"
    "th{background:#eef3fa}table.meta{width:auto}table.meta th{width:10em}"
    "table.ev td,table.ev th{font-size:.8em;border-color:#e2e2e2}table.ev{margin:.3em 0}"
    ".v{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;white-space:nowrap}"
    ".v0{background:#2e7d32}.v1{background:#f9a825;color:#222}.v2{background:#c62828}"
    ".v3{background:#9e9e9e}.v4{background:#6a1b9a}"
    ".ok{color:#2e7d32}.bad{color:#c62828}"
    ".summary{display:flex;gap:2em;align-items:flex-start;flex-wrap:wrap}"
    ".score{font-size:3em;font-weight:bold;color:#1a4d8f}.score small{font-size:.35em;color:#666}"
    ".concl{font-size:1.4em;font-weight:bold}.note{color:#666;font-size:.85em}"
    ".risk-高{color:#c62828;font-weight:bold}.waived{color:#6a1b9a;font-size:.85em}"
    "footer{margin-top:3em;color:#888;font-size:.8em}"
    "@media print{body{margin:0;max-width:none;font-size:10pt}h2{page-break-before:auto}"
    "tr,table.ev{page-break-inside:avoid}.summary{display:block}a{color:inherit}}";

static void esc(dbg_buf *b, const char *s)
{
    dbg_buf_add_markup(b, s);
}

/* One escaped text in the markup that opens and closes it, a shape this report repeats. */
static void tagged(dbg_buf *b, const char *open, const char *text, const char *close)
{
    dbg_buf_adds(b, open);
    esc(b, text);
    dbg_buf_adds(b, close);
}

/* The class comes from a fixed set: the risk text of a result file is only ever escaped. */
static const char *risk_class(const char *risk)
{
    if (dbg_streq(risk, "高"))
        return "risk-高";
    if (dbg_streq(risk, "中"))
        return "risk-中";
    return dbg_streq(risk, "低") ? "risk-低" : "risk-other";
}

static void badge(dbg_buf *b, dbg_lang L, const char *zh)
{
    dbg_buf_printf(b, "<span class=\"v v%d\">", dbg_rpt_verdict_index(zh));
    esc(b, dbg_rpt_verdict(L, zh));
    dbg_buf_adds(b, "</span>");
}

static void th(dbg_buf *b, dbg_lang L, const char *const *keys)
{
    dbg_buf_adds(b, "<tr>");
    for (size_t i = 0; keys[i]; i++) {
        tagged(b, "<th>", dbg_rpt_label(L, keys[i]), "</th>");
    }
    dbg_buf_adds(b, "</tr>\n");
}

static void meta_row(dbg_buf *b, dbg_lang L, const char *label, const char *value)
{
    tagged(b, "<tr><th>", dbg_rpt_label(L, label), "</th><td>");
    esc(b, value);
    dbg_buf_adds(b, "</td></tr>\n");
}

/* Stacked horizontal bars, one per layer, segments = verdict counts. */
static void chart(dbg_buf *b, const json_t *items, dbg_lang L)
{
    size_t nl = 0;
    const char **layers = dbg_rpt_layers(items, &nl);
    if (!layers)
        return;
    const int label_w = 190, bar_w = 480, row_h = 26, top = 10;
    int height = top + (int)nl * row_h + 40;
    size_t max = 1;
    size_t(*counts)[5] = dbg_calloc(nl ? nl : 1, sizeof(*counts));
    if (!counts) {
        free(layers);
        return;
    }
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        for (size_t l = 0; l < nl; l++)
            if (!strcmp(dbg_rpt_str(it, "layer"), layers[l]))
                counts[l][dbg_rpt_verdict_index(dbg_rpt_str(it, "verdict"))]++;
    }
    for (size_t l = 0; l < nl; l++) {
        size_t t = 0;
        for (int v = 0; v < 5; v++)
            t += counts[l][v];
        max = t > max ? t : max;
    }
    dbg_buf_printf(b,
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "role=\"img\" font-size=\"12\">\n",
                   label_w + bar_w + 60, height);
    for (size_t l = 0; l < nl; l++) {
        int y = top + (int)l * row_h;
        dbg_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 6, y + 15);
        esc(b, dbg_rpt_layer(L, layers[l]));
        dbg_buf_adds(b, "</text>");
        double x = label_w;
        size_t total = 0;
        for (int v = 0; v < 5; v++) {
            if (!counts[l][v])
                continue;
            double w = (double)bar_w * (double)counts[l][v] / (double)max;
            dbg_buf_printf(b,
                           "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\">"
                           "<title>%zu</title></rect>",
                           x, y + 2, w, verdict_colour[v], counts[l][v]);
            x += w;
            total += counts[l][v];
        }
        dbg_buf_printf(b, "<text x=\"%.1f\" y=\"%d\">%zu</text>\n", x + 4, y + 15, total);
    }
    int ly = top + (int)nl * row_h + 14;
    for (int v = 0; v < 5; v++) {
        int lx = label_w + v * 100;
        dbg_buf_printf(b,
                       "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                       "<text x=\"%d\" y=\"%d\">",
                       lx, ly, verdict_colour[v], lx + 16, ly + 11);
        esc(b, dbg_rpt_verdict(L, verdict_order[v]));
        dbg_buf_adds(b, "</text>");
    }
    dbg_buf_adds(b, "\n</svg>\n");
    free(counts);
    free(layers);
}

static void evidence_table(dbg_buf *b, const json_t *ev, dbg_lang L)
{
    if (json_array_size(ev) == 0)
        return;
    static const char *const keys[] = {"checks", "source", "key", "observed", "expected", NULL};
    dbg_buf_adds(b, "<table class=\"ev\">");
    th(b, L, keys);
    for (size_t e = 0; e < json_array_size(ev); e++) {
        const json_t *x = json_array_get(ev, e);
        int ok = json_is_true(json_object_get(x, "ok"));
        dbg_buf_printf(b, "<tr class=\"%s\"><td>", ok ? "ok" : "bad");
        esc(b, dbg_rpt_str(x, "check"));
        dbg_buf_adds(b, "</td><td>");
        esc(b, dbg_rpt_str(x, "source"));
        dbg_buf_adds(b, "</td><td>");
        esc(b, dbg_rpt_str(x, "key"));
        dbg_buf_printf(b, "</td><td>%s ", ok ? "✔" : "✘");
        esc(b, dbg_rpt_str(x, "observed"));
        dbg_buf_adds(b, "</td><td>");
        esc(b, dbg_rpt_str(x, "expected"));
        dbg_buf_adds(b, "</td></tr>\n");
    }
    dbg_buf_adds(b, "</table>");
}

static void summary(dbg_buf *b, const json_t *r, dbg_lang L)
{
    const json_t *sc = json_object_get(r, "score");
    const json_t *model = json_object_get(sc, "model");
    dbg_buf_printf(
        b,
        "<section class=\"summary\"><div><div class=\"score\">%.2f<small> / 100</small></div>"
        "<div class=\"concl\">",
        json_number_value(json_object_get(sc, "value")));
    esc(b, dbg_rpt_label(L, "conclusion"));
    dbg_buf_adds(b, ": ");
    esc(b, dbg_rpt_conclusion(L, dbg_rpt_str(sc, "conclusion")));
    esc(b, dbg_rpt_conclusion_basis(L, r, 0));
    dbg_buf_adds(b, "</div><table class=\"meta\">");
    char num[128];
    snprintf(num, sizeof(num), "%.2f (%s%s)",
             json_number_value(json_object_get(sc, "value_after_waivers")),
             dbg_rpt_conclusion(L, dbg_rpt_str(sc, "conclusion_after_waivers")),
             dbg_rpt_conclusion_basis(L, r, 1));
    meta_row(b, L, "after_waivers", num);
    meta_row(
        b, L, "basic",
        dbg_rpt_label(L, json_is_true(json_object_get(sc, "basic_compliance")) ? "yes" : "no"));
    /* before and after waivers, as the text report gives them: a page showing only the count
     * before waivers contradicts its own conclusion after waivers */
    snprintf(num, sizeof(num), "%lld (%s: %lld)",
             (long long)json_integer_value(json_object_get(sc, "open_high_risk")),
             dbg_rpt_label(L, "after_waivers"),
             (long long)json_integer_value(json_object_get(sc, "open_high_risk_after_waivers")));
    meta_row(b, L, "open_high_risk", num);
    if (json_is_integer(json_object_get(sc, "unchecked_high_risk"))) {
        snprintf(num, sizeof(num), "%lld (%s: %lld)",
                 (long long)json_integer_value(json_object_get(sc, "unchecked_high_risk")),
                 dbg_rpt_label(L, "after_waivers"),
                 (long long)json_integer_value(
                     json_object_get(sc, "unchecked_high_risk_after_waivers")));
        meta_row(b, L, "unchecked_high_risk", num);
    }
    DBG_AUTOFREE char *basis = dbg_rpt_unverified_high_risk(L, r);
    if (basis)
        meta_row(b, L, "hr_basis", basis);
    size_t n_na = 0;
    DBG_AUTOFREE char *na = dbg_rpt_na_high_risk(L, json_object_get(r, "items"), "; ", &n_na);
    if (n_na)
        meta_row(b, L, "na_high_risk", na ? na : "");
    meta_row(b, L, "meets_bar",
             dbg_rpt_label(L, json_is_true(json_object_get(sc, "meets_bar")) ? "yes" : "no"));
    const json_t *counts = json_object_get(sc, "counts");
    tagged(b, "<tr><th>", dbg_rpt_label(L, "counts"), "</th><td>");
    for (int v = 0; v < 5; v++) {
        badge(b, L, verdict_order[v]);
        dbg_buf_printf(b, " %lld ",
                       (long long)json_integer_value(json_object_get(counts, verdict_order[v])));
    }
    dbg_buf_adds(b, "</td></tr></table></div><div>");
    chart(b, json_object_get(r, "items"), L);
    dbg_buf_adds(b, "</div></section>\n<p class=\"note\">");
    esc(b, dbg_rpt_label(L, "model"));
    dbg_buf_adds(b, ": <b>");
    esc(b, dbg_rpt_str(model, "name"));
    dbg_buf_adds(b, "</b> — ");
    esc(b, dbg_rpt_str(model, "formula"));
    dbg_buf_adds(b, ". ");
    if (json_is_true(json_object_get(model, "unverified"))) {
        tagged(b, "<b>", dbg_rpt_label(L, "unverified"), "</b>. ");
    }
    esc(b, dbg_rpt_str(model, "note"));
    dbg_buf_adds(b, "</p>\n");
}

static void gaps(dbg_buf *b, const json_t *r, dbg_lang L)
{
    tagged(b, "<h2 id=\"gaps\">", dbg_rpt_label(L, "gaps"), "</h2>\n");
    const json_t *groups = json_object_get(r, "gaps");
    if (json_array_size(groups) == 0) {
        tagged(b, "<p>", dbg_rpt_label(L, "none"), "</p>\n");
    }
    static const char *const keys[] = {"clause",   "control_point", "verdict",        "risk",
                                       "evidence", "remediation",   "responsibility", NULL};
    for (size_t g = 0; g < json_array_size(groups); g++) {
        const json_t *grp = json_array_get(groups, g);
        tagged(b, "<h3>", dbg_rpt_layer(L, dbg_rpt_str(grp, "layer")), "</h3>\n<table>");
        th(b, L, keys);
        const json_t *items = json_object_get(grp, "items");
        for (size_t i = 0; i < json_array_size(items); i++) {
            const json_t *it = json_array_get(items, i);
            tagged(b, "<tr><td><a href=\"#", dbg_rpt_str(it, "id"), "\">");
            esc(b, dbg_rpt_str(it, "clause"));
            dbg_buf_adds(b, "</a></td><td>");
            esc(b, dbg_rpt_str(it, "control_point"));
            dbg_buf_adds(b, "</td><td>");
            badge(b, L, dbg_rpt_str(it, "verdict"));
            if (json_is_true(json_object_get(it, "waived"))) {
                dbg_buf_adds(b, " <span class=\"waived\">");
                esc(b, dbg_rpt_label(L, "waived"));
                dbg_buf_adds(b, "</span>");
            }
            dbg_buf_printf(b, "</td><td class=\"%s\">", risk_class(dbg_rpt_str(it, "risk")));
            esc(b, dbg_rpt_risk(L, dbg_rpt_str(it, "risk")));
            dbg_buf_adds(b, "</td><td>");
            const json_t *ev = json_object_get(it, "evidence");
            if (json_array_size(ev) == 0)
                esc(b, dbg_rpt_str(it, "reason"));
            for (size_t e = 0; e < json_array_size(ev) && e < 5; e++) {
                const json_t *x = json_array_get(ev, e);
                esc(b, dbg_rpt_str(x, "source"));
                dbg_buf_adds(b, ": ");
                esc(b, dbg_rpt_str(x, "observed"));
                dbg_buf_adds(b, "<br>");
            }
            if (json_array_size(ev) > 5)
                dbg_buf_printf(b, "… +%zu", json_array_size(ev) - 5);
            dbg_buf_adds(b, "</td><td>");
            int untranslated;
            const char *fix = dbg_rpt_remediation(L, it, &untranslated);
            if (untranslated)
                esc(b, dbg_rpt_label(L, "untranslated"));
            esc(b, fix);
            dbg_buf_adds(b, "</td><td>");
            const char *owner = dbg_rpt_responsibility(L, dbg_rpt_str(it, "responsibility"));
            esc(b, owner ? owner : "");
            dbg_buf_adds(b, "</td></tr>\n");
        }
        dbg_buf_adds(b, "</table>\n");
    }
}

static void items(dbg_buf *b, const json_t *r, dbg_lang L)
{
    const json_t *list = json_object_get(r, "items");
    size_t nl = 0;
    const char **layers = dbg_rpt_layers(list, &nl);
    tagged(b, "<h2>", dbg_rpt_label(L, "items"), "</h2>\n");
    static const char *const keys[] = {"clause",  "control_point", "requirement",
                                       "verdict", "reason",        NULL};
    for (size_t l = 0; layers && l < nl; l++) {
        tagged(b, "<h3>", dbg_rpt_layer(L, layers[l]), "</h3>\n<table>");
        th(b, L, keys);
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *it = json_array_get(list, i);
            if (strcmp(dbg_rpt_str(it, "layer"), layers[l]))
                continue;
            tagged(b, "<tr id=\"", dbg_rpt_str(it, "id"), "\"><td>");
            esc(b, dbg_rpt_str(it, "clause"));
            if (json_is_true(json_object_get(it, "high_risk")))
                dbg_buf_adds(b, " <span class=\"risk-高\">★</span>");
            dbg_buf_adds(b, "</td><td>");
            esc(b, dbg_rpt_str(it, "control_point"));
            dbg_buf_adds(b, "</td><td>");
            esc(b, dbg_rpt_str(it, "text"));
            dbg_buf_adds(b, "</td><td>");
            badge(b, L, dbg_rpt_str(it, "verdict"));
            dbg_buf_adds(b, "</td><td>");
            esc(b, dbg_rpt_str(it, "reason"));
            const json_t *w = json_object_get(it, "waiver");
            if (json_is_object(w)) {
                tagged(b, "<br><span class=\"waived\">", dbg_rpt_label(L, "waived"), ": ");
                esc(b, dbg_rpt_str(w, "justification"));
                dbg_buf_adds(b, " (");
                esc(b, dbg_rpt_str(w, "owner"));
                dbg_buf_adds(b, ", ");
                esc(b, dbg_rpt_str(w, "expiry"));
                dbg_buf_adds(b, ")</span>");
            }
            evidence_table(b, json_object_get(it, "evidence"), L);
            dbg_buf_adds(b, "</td></tr>\n");
        }
        dbg_buf_adds(b, "</table>\n");
    }
    free(layers);
}

static void baseline(dbg_buf *b, const json_t *r, dbg_lang L)
{
    const json_t *base = json_object_get(r, "baseline");
    if (!json_is_object(base))
        return;
    tagged(b, "<h2>", dbg_rpt_label(L, "baseline"), "</h2>\n<p>");
    esc(b, dbg_rpt_str(base, "file"));
    dbg_buf_printf(b, ": %.2f → %.2f</p>\n",
                   json_number_value(json_object_get(base, "score_before")),
                   json_number_value(json_object_get(base, "score_now")));
    static const char *const kinds[] = {"regressions", "improvements"};
    for (size_t k = 0; k < 2; k++) {
        const json_t *list = json_object_get(base, kinds[k]);
        dbg_buf_adds(b, "<h3>");
        esc(b, dbg_rpt_label(L, kinds[k]));
        dbg_buf_printf(b, " (%zu)</h3>\n<ul>", json_array_size(list));
        for (size_t i = 0; i < json_array_size(list); i++) {
            const json_t *c = json_array_get(list, i);
            tagged(b, "<li>", dbg_rpt_str(c, "clause"), " ");
            badge(b, L, dbg_rpt_str(c, "from"));
            dbg_buf_adds(b, " → ");
            badge(b, L, dbg_rpt_str(c, "to"));
            dbg_buf_adds(b, "</li>");
        }
        dbg_buf_adds(b, "</ul>\n");
    }
}

/* What the run itself says about its inputs (an attestation or waiver for no item at this
 * level, an attestation its item's checks overrode): the text report ends with them, and an
 * assessor reading only this page must see them too. */
static void warnings(dbg_buf *b, const json_t *r, dbg_lang L)
{
    const json_t *warn = json_object_get(r, "warnings");
    if (json_array_size(warn) == 0)
        return;
    tagged(b, "<h2 id=\"warnings\">", dbg_rpt_label(L, "warnings"), "</h2>\n<ul>");
    for (size_t i = 0; i < json_array_size(warn); i++) {
        tagged(b, "<li>", dbg_rpt_str_at(warn, i), "</li>");
    }
    dbg_buf_adds(b, "</ul>\n");
}

static void waivers(dbg_buf *b, const json_t *r, dbg_lang L)
{
    const json_t *w = json_object_get(r, "waivers");
    const json_t *applied = json_object_get(w, "applied"), *expired = json_object_get(w, "expired");
    if (json_array_size(applied) + json_array_size(expired) == 0)
        return;
    tagged(b, "<h2>", dbg_rpt_label(L, "waivers"), "</h2>\n<ul>");
    const json_t *lists[] = {applied, expired};
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < json_array_size(lists[k]); i++) {
            const json_t *x = json_array_get(lists[k], i);
            dbg_buf_adds(b, "<li>");
            if (k == 1) {
                esc(b, dbg_rpt_label(L, "expired"));
                dbg_buf_adds(b, ": ");
            }
            esc(b, *dbg_rpt_str(x, "item") ? dbg_rpt_str(x, "item") : dbg_rpt_str(x, "check"));
            dbg_buf_adds(b, " — ");
            esc(b, dbg_rpt_str(x, "justification"));
            dbg_buf_adds(b, " (");
            esc(b, dbg_rpt_str(x, "owner"));
            dbg_buf_adds(b, ", ");
            esc(b, dbg_rpt_str(x, "expiry"));
            dbg_buf_adds(b, ")</li>");
        }
    dbg_buf_adds(b, "</ul>\n");
}

char *dbg_report_html(const json_t *r, const dbg_report_opts *o)
{
    dbg_lang L = o->lang;
    dbg_buf b;
    dbg_buf_init(&b, 0);
    const json_t *pf = json_object_get(r, "platform");
    dbg_buf_printf(
        &b,
        "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
        L == DBG_LANG_EN ? "en" : "zh-CN");
    esc(&b, dbg_rpt_label(L, "title"));
    dbg_buf_adds(&b, " — ");
    esc(&b, dbg_rpt_str(pf, "uri"));
    dbg_buf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
    esc(&b, dbg_rpt_label(L, "title"));
    dbg_buf_printf(&b, " · %s %lld</h1>\n<table class=\"meta\">\n", dbg_rpt_label(L, "level"),
                   (long long)json_integer_value(json_object_get(r, "level")));
    meta_row(&b, L, "platform", dbg_rpt_str(pf, "uri"));
    /* built to its full length: a long host name cut in a buffer would end in half a character */
    DBG_AUTOFREE char *hv =
        dbg_asprintf("%s %s (%s)", dbg_rpt_str(pf, "hypervisor"),
                     dbg_rpt_str(pf, "libvirt_version"), dbg_rpt_str(pf, "hostname"));
    meta_row(&b, L, "hypervisor", hv ? hv : "");
    char line[256];
    meta_row(&b, L, "collected", dbg_rpt_str(pf, "collected"));
    if (json_is_string(json_object_get(r, "as_of")))
        meta_row(&b, L, "as_of", dbg_rpt_str(r, "as_of"));
    dbg_rpt_inventory(L, pf, line, sizeof(line));
    meta_row(&b, L, "inventory", line);
    const json_t *hl = json_object_get(r, "hosts_level");
    snprintf(line, sizeof(line), "%lld", (long long)json_integer_value(hl));
    meta_row(&b, L, "hosts_level", json_is_integer(hl) ? line : dbg_rpt_label(L, "not_given"));
    dbg_buf_adds(&b, "</table>\n");
    summary(&b, r, L);
    gaps(&b, r, L);
    items(&b, r, L);
    baseline(&b, r, L);
    waivers(&b, r, L);
    warnings(&b, r, L);
    const json_t *gen = json_object_get(r, "generator");
    dbg_buf_adds(&b, "<footer>");
    esc(&b, dbg_rpt_str(gen, "name"));
    dbg_buf_adds(&b, " ");
    esc(&b, dbg_rpt_str(gen, "version"));
    dbg_buf_adds(&b, " · GB/T 22239-2019</footer>\n</body>\n</html>\n");
    if (b.len == 0) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory rendering the HTML report");
        return NULL;
    }
    return dbg_buf_steal(&b);
}
