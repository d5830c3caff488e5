/* libFuzzer target for the assess scoring model (data/assess/scoring.yaml, `assess --model`):
 * any bytes through dbg_score_model_load_buffer. An error must name the input and a line within
 * it; a model that loads must hold what the loader promises (deductions 0..1, numbers 0..1000,
 * 优 >= 良 >= 中, flags 0 or 1) and score any items at 0..100 with a conclusion its thresholds
 * give. Must never crash, leak or hang. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/assess.h"
#include "dengbao/error.h"
#include "dengbao/util.h"
#include "fuzz/yaml_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "fuzz.yaml:LINE: ..." or "fuzz.yaml:LINE:COL: ..." with LINE within the input's lines and
 * COL >= 1; only an allocation failure names no place. */
static void check_position(const uint8_t *data, size_t size)
{
    if (dbg_err_code() != DBG_ERR_NOMEM && fuzz_yaml_place(dbg_err_msg(), data, size, 0) != 1)
        abort();
}

static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

static void check_model(const dbg_score_model *m)
{
    static const dbg_verdict scored[] = {DBG_VERDICT_PASS, DBG_VERDICT_PARTIAL, DBG_VERDICT_FAIL,
                                         DBG_VERDICT_UNCHECKED};
    if (!m->name || dbg_utf8_blank(m->name) || !m->formula || !m->note)
        abort();
    for (size_t i = 0; i < 4; i++)
        if (!in_range(m->deduction[scored[i]], 0, 1))
            abort();
    if (m->deduction[DBG_VERDICT_NA] != 0) /* out of the score, never deducted */
        abort();
    if (!in_range(m->default_weight, 0, 1000) || !in_range(m->basic_compliance, 0, 1000) ||
        !in_range(m->excellent, 0, 1000) || !in_range(m->good, 0, 1000) ||
        !in_range(m->fair, 0, 1000) || !in_range(m->bar_min_score, 0, 1000))
        abort();
    if (m->excellent < m->good || m->good < m->fair)
        abort();
    if ((m->unverified | m->high_risk_forces_poor | m->bar_no_open_high_risk) & ~1)
        abort();
}

/* Every mix of one item per verdict (high risk, waived, weighted or not, by the bits of mix):
 * the score stays 0..100, waivers never lower it, and the conclusion is the thresholds'. */
static void check_scores(const dbg_score_model *m)
{
    static const dbg_verdict all[] = {DBG_VERDICT_PASS, DBG_VERDICT_PARTIAL, DBG_VERDICT_FAIL,
                                      DBG_VERDICT_UNCHECKED, DBG_VERDICT_NA};
    for (unsigned mix = 0; mix < 64; mix++) {
        dbg_score_item it[5];
        for (size_t i = 0; i < 5; i++)
            it[i] = (dbg_score_item){
                .verdict = all[i],
                .weight = dbg_score_item_weight(m, (mix >> i) & 1 ? 0 : (double)(i + 1)),
                .high_risk = (int)((mix >> 5) & 1),
                .waived = (int)(i == (mix % 5))};
        dbg_score_summary s;
        dbg_score_compute(m, it, 5, &s);
        if (!in_range(s.value, 0, 100) || !in_range(s.value_after_waivers, 0, 100) ||
            s.value_after_waivers < s.value)
            abort();
        const char *want = s.value >= m->excellent ? "优"
                           : s.value >= m->good    ? "良"
                           : s.value >= m->fair    ? "中"
                                                   : "差";
        size_t high = s.open_high_risk + s.unchecked_high_risk;
        if (high && m->high_risk_forces_poor)
            want = "差";
        if (!s.conclusion || strcmp(s.conclusion, want) != 0)
            abort();
        if (s.basic_compliance != (s.value >= m->basic_compliance))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_score_model *m = dbg_score_model_load_buffer("fuzz.yaml", (const char *)data, size);
    if (m) {
        check_model(m);
        check_scores(m);
        dbg_score_model_free(m);
    } else {
        check_position(data, size);
    }
    dbg_err_clear();
    return 0;
}
