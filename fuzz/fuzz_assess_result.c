/* libFuzzer target for saved assessment results (`dengbao report`, `--baseline`): any bytes
 * through JSON parsing and validation; what validates is rendered in every format and diffed
 * against itself. Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>

#include "dengbao/assess.h"
#include "dengbao/error.h"
#include "dengbao/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (doc && dbg_assess_validate(doc, "fuzz.json") == 0) {
        /* `dengbao report` runs it too, with the shipped model (data/assess/scoring.yaml) */
        const dbg_score_model model = {
            .name = (char *)"dengbao-mlps2-deduction-v1",
            .formula = (char *)"M = 100 - 100 * sum(w * S) / sum(w); S: 符合 0, 部分符合 0.5, "
                               "不符合 1, 未检查 1; 不适用 excluded",
            .note = (char *)"",
            .unverified = 1,
            .deduction =
                {[DBG_VERDICT_PARTIAL] = 0.5, [DBG_VERDICT_FAIL] = 1, [DBG_VERDICT_UNCHECKED] = 1},
            .default_weight = 1,
            .basic_compliance = 75,
            .excellent = 90,
            .good = 80,
            .fair = 70,
            .high_risk_forces_poor = 1,
            .bar_min_score = 75,
            .bar_no_open_high_risk = 1};
        (void)dbg_assess_check_summary(doc, "fuzz.json", &model);
        (void)dbg_assess_check_gaps(doc, "fuzz.json");
        dbg_report_opts zh = {.lang = DBG_LANG_ZH, .color = 1},
                        en = {.lang = DBG_LANG_EN, .summary_only = 1};
        for (int f = DBG_REPORT_TEXT; f <= DBG_REPORT_JUNIT; f++) {
            free(dbg_report_render(doc, (dbg_report_format)f, &zh));
            free(dbg_report_render(doc, (dbg_report_format)f, &en));
        }
        json_t *copy = json_deep_copy(doc);
        if (copy && dbg_assess_baseline(copy, doc, "fuzz.json") == 0)
            free(dbg_report_render(copy, DBG_REPORT_TEXT, &zh));
        json_decref(copy);
    }
    json_decref(doc);
    dbg_err_clear();
    return 0;
}
