/* Shared pieces of the report renderers: labels in both languages, escaping for HTML/XML,
 * UTF-8-safe truncation, verdict and layer helpers. Not public API. */
#ifndef DENGBAO_REPORT_UTIL_H
#define DENGBAO_REPORT_UTIL_H

#include <jansson.h>

#include "dengbao/report.h"
#include "dengbao/util.h"

const char *dbg_rpt_label(dbg_lang lang, const char *key);
/* The label of a gap's responsibility ("provider", "tenant", "shared"); NULL for anything
 * else (a result older than the key, or a value no assess writes: never shown raw). */
const char *dbg_rpt_responsibility(dbg_lang lang, const char *resp);
/* Appends at most max code points of s, with "…" when cut. */
int dbg_rpt_trunc(dbg_buf *b, const char *s, size_t max);
const char *dbg_rpt_str(const json_t *obj, const char *key); /* "" when absent */
const char *dbg_rpt_str_at(const json_t *arr, size_t i);     /* "" when not text */
/* Verdict as shown: the Chinese word, or its English name for --lang en. */
const char *dbg_rpt_verdict(dbg_lang lang, const char *zh);
const char *dbg_rpt_conclusion(dbg_lang lang, const char *zh);
const char *dbg_rpt_layer(dbg_lang lang, const char *zh);
/* A gap's risk as shown: 高/中/低, or high/medium/low for --lang en (anything else as saved). */
const char *dbg_rpt_risk(dbg_lang lang, const char *zh);
/* An item's or gap's remediation in the report's language: for en the catalog's English text
 * (remediation_en), else the Chinese one, with *untranslated set so the report marks it (a
 * catalog or a saved result without the English key). */
const char *dbg_rpt_remediation(dbg_lang lang, const json_t *item, int *untranslated);
/* Index 0..4 of a verdict word (order of dbg_verdict); 4 when unknown. */
int dbg_rpt_verdict_index(const char *zh);

/* The high-risk items out of the score as 不适用, sep-separated, each "CLAUSE CONTROL_POINT:
 * WHY" (an attestation's attester, date and note, else the item's reason), so a reader sees
 * every one; *count of them. Caller frees; NULL when out of memory. */
char *dbg_rpt_na_high_risk(dbg_lang lang, const json_t *items, const char *sep, size_t *count);
/* When the result counts open or unchecked high-risk items whose flag follows an unverified
 * high-risk list ($.score.unverified_high_risk > 0), the sentence that says so with each list
 * (the items' high_risk_basis source, English for en when given) once: "其中 N 项的高风险判定依据
 * 未经核实的高风险清单: SRC". NULL when there is none to say (all verified, a result older than
 * the count) or out of memory. Caller frees. */
char *dbg_rpt_unverified_high_risk(dbg_lang lang, const json_t *result);
/* " (高风险判定依据未经核实)" after a conclusion whose high-risk count (unverified_high_risk, or
 * after waivers) is above 0, else "". */
const char *dbg_rpt_conclusion_basis(dbg_lang lang, const json_t *result, int after_waivers);
/* "7 个虚拟机 · 5 个网络 · ..." from the result's platform object. */
void dbg_rpt_inventory(dbg_lang lang, const json_t *platform, char *buf, size_t size);
/* Layers present in the items, in the standard's order; caller frees the array (strings are
 * borrowed from result). */
const char **dbg_rpt_layers(const json_t *items, size_t *n);

char *dbg_report_text(const json_t *r, const dbg_report_opts *o);
char *dbg_report_html(const json_t *r, const dbg_report_opts *o);
char *dbg_report_junit(const json_t *r, const dbg_report_opts *o);

#endif
