/* JUnit XML for CI gates: one testsuite per layer, one testcase per item. 不符合 and 部分符合
 * are failures (unless waived), with the evidence that did not meet expectations and the
 * remediation; 未检查, 不适用 and waived findings are skipped with the reason. */
#include <stdlib.h>
#include <string.h>

#include "report/report_util.h"

/* A field of a failure's body, where each piece of evidence is one line: a newline inside a
 * field (a VM named "web\n8.2.4.3b 符合") is shown as \n, as the text report shows it, instead
 * of starting a line of its own that reads as another piece of evidence. */
static void add_line_field(dbg_buf *b, const char *s)
{
    for (const char *p = s ? s : "";;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            dbg_buf_add_markup(b, p);
            return;
        }
        char *part = strndup(p, (size_t)(nl - p));
        if (!part)
            return;
        dbg_buf_add_markup(b, part);
        free(part);
        dbg_buf_adds(b, "\\n");
        p = nl + 1;
    }
}

/* The last line of a failure's body: what to do about it, in the report's language, as the text
 * report's gap summary gives it (an English report marks a Chinese-only remediation). CI
 * systems show this body to whoever broke the build. */
static void add_remediation(dbg_buf *b, dbg_lang lang, const json_t *item)
{
    int untranslated;
    const char *fix = dbg_rpt_remediation(lang, item, &untranslated);
    if (!*fix)
        return;
    dbg_buf_add_markup(b, dbg_rpt_label(lang, "remediation"));
    dbg_buf_adds(b, ": ");
    if (untranslated)
        dbg_buf_add_markup(b, dbg_rpt_label(lang, "untranslated"));
    add_line_field(b, fix);
    dbg_buf_adds(b, "\n");
}

char *dbg_report_junit(const json_t *r, const dbg_report_opts *o)
{
    dbg_lang L = o->lang;
    const json_t *items = json_object_get(r, "items");
    size_t nl = 0;
    const char **layers = dbg_rpt_layers(items, &nl);
    if (!layers)
        return NULL;
    dbg_buf b;
    dbg_buf_init(&b, 0);
    size_t tests = json_array_size(items), failures = 0, skipped = 0;
    for (size_t i = 0; i < tests; i++) {
        const json_t *it = json_array_get(items, i);
        int v = dbg_rpt_verdict_index(dbg_rpt_str(it, "verdict"));
        int waived = json_is_object(json_object_get(it, "waiver"));
        if ((v == 1 || v == 2) && !waived)
            failures++;
        else if (v != 0)
            skipped++;
    }
    dbg_buf_printf(&b,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<testsuites name=\"dengbao assess level %lld\" tests=\"%zu\" failures=\"%zu\" "
                   "skipped=\"%zu\">\n",
                   (long long)json_integer_value(json_object_get(r, "level")), tests, failures,
                   skipped);
    for (size_t l = 0; l < nl; l++) {
        size_t t = 0, f = 0, s = 0;
        for (size_t i = 0; i < tests; i++) {
            const json_t *it = json_array_get(items, i);
            if (strcmp(dbg_rpt_str(it, "layer"), layers[l]))
                continue;
            int v = dbg_rpt_verdict_index(dbg_rpt_str(it, "verdict"));
            int waived = json_is_object(json_object_get(it, "waiver"));
            t++;
            f += (v == 1 || v == 2) && !waived;
            s += v != 0 && !((v == 1 || v == 2) && !waived);
        }
        dbg_buf_adds(&b, "  <testsuite name=\"");
        dbg_buf_add_markup(&b, dbg_rpt_layer(L, layers[l]));
        dbg_buf_printf(&b, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", t, f, s);
        for (size_t i = 0; i < tests; i++) {
            const json_t *it = json_array_get(items, i);
            if (strcmp(dbg_rpt_str(it, "layer"), layers[l]))
                continue;
            const char *verdict = dbg_rpt_str(it, "verdict");
            int v = dbg_rpt_verdict_index(verdict);
            int waived = json_is_object(json_object_get(it, "waiver"));
            dbg_buf_adds(&b, "    <testcase classname=\"mlps.");
            dbg_buf_add_markup(&b, dbg_rpt_str(it, "id"));
            dbg_buf_adds(&b, "\" name=\"");
            dbg_buf_add_markup(&b, dbg_rpt_str(it, "clause"));
            dbg_buf_adds(&b, " ");
            dbg_buf_add_markup(&b, dbg_rpt_str(it, "control_point"));
            dbg_buf_adds(&b, "\"");
            if (v == 0) {
                dbg_buf_adds(&b, "/>\n");
                continue;
            }
            const char *tag = (v == 1 || v == 2) && !waived ? "failure" : "skipped";
            dbg_buf_printf(&b, ">\n      <%s message=\"", tag);
            dbg_buf_add_markup(&b, dbg_rpt_verdict(L, verdict));
            if (waived) {
                dbg_buf_adds(&b, " (");
                dbg_buf_add_markup(&b, dbg_rpt_label(L, "waived"));
                dbg_buf_adds(&b, ")");
            }
            dbg_buf_adds(&b, ": ");
            dbg_buf_add_markup(&b, dbg_rpt_str(it, "reason"));
            dbg_buf_printf(&b, "\" type=\"%s\">", verdict);
            const json_t *ev = json_object_get(it, "evidence");
            for (size_t e = 0; e < json_array_size(ev); e++) {
                const json_t *x = json_array_get(ev, e);
                if (json_is_true(json_object_get(x, "ok")))
                    continue;
                add_line_field(&b, dbg_rpt_str(x, "source"));
                dbg_buf_adds(&b, ": ");
                add_line_field(&b, dbg_rpt_str(x, "key"));
                dbg_buf_adds(&b, " = ");
                add_line_field(&b, dbg_rpt_str(x, "observed"));
                /* in the report's language, as the text report gives it: "(期望: ...)" */
                dbg_buf_adds(&b, " (");
                dbg_buf_add_markup(&b, dbg_rpt_label(L, "expected"));
                dbg_buf_adds(&b, ": ");
                add_line_field(&b, dbg_rpt_str(x, "expected"));
                dbg_buf_adds(&b, ")\n");
            }
            if (!strcmp(tag, "failure"))
                add_remediation(&b, L, it);
            dbg_buf_adds(&b, "</");
            dbg_buf_adds(&b, tag);
            dbg_buf_adds(&b, ">\n    </testcase>\n");
        }
        dbg_buf_adds(&b, "  </testsuite>\n");
    }
    dbg_buf_adds(&b, "</testsuites>\n");
    free(layers);
    return dbg_buf_steal(&b);
}
