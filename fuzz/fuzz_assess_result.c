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
        (void)dbg_assess_check_summary(doc, "fuzz.json"); /* `dengbao report` runs it too */
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
