/* Reports of an assessment result (the JSON document from dbg_assess_run, or one loaded
 * with dbg_assess_load): terminal text (colour optional), JSON, one self-contained HTML page
 * (Chinese by default, English on request, inline SVG chart, print CSS) and JUnit XML (one
 * test case per item, for CI gates). Renderers read only the validated JSON document. */
#ifndef DENGBAO_REPORT_H
#define DENGBAO_REPORT_H

#include <jansson.h>

typedef enum {
    DBG_REPORT_TEXT,
    DBG_REPORT_JSON,
    DBG_REPORT_HTML,
    DBG_REPORT_JUNIT
} dbg_report_format;
typedef enum { DBG_LANG_ZH, DBG_LANG_EN } dbg_lang;

typedef struct {
    dbg_lang lang;
    int color;        /* ANSI colours in text (for a TTY) */
    int summary_only; /* text: header, score and gap list only, no per-item table */
} dbg_report_opts;

/* NUL-terminated, caller frees; NULL + dbg_err on failure. */
char *dbg_report_render(const json_t *result, dbg_report_format format,
                        const dbg_report_opts *opts);
int dbg_lang_parse(const char *s, dbg_lang *out); /* "zh" | "en" */

#endif
