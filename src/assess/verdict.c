/* Verdict names and how an item's verdict follows from its checks' results. */
#include <string.h>

#include "dengbao/assess.h"
#include "dengbao/util.h"

static const char *const zh[] = {"符合", "部分符合", "不符合", "不适用", "未检查"};
static const char *const en[] = {"compliant", "partially compliant", "non-compliant",
                                 "not applicable", "not checked"};

const char *dbg_verdict_name(dbg_verdict v)
{
    return (unsigned)v < 5 ? zh[v] : zh[DBG_VERDICT_UNCHECKED];
}

const char *dbg_verdict_name_en(dbg_verdict v)
{
    return (unsigned)v < 5 ? en[v] : en[DBG_VERDICT_UNCHECKED];
}

int dbg_verdict_parse(const char *s, dbg_verdict *out)
{
    for (int i = 0; i < 5; i++)
        if (dbg_streq(s, zh[i]) || dbg_streq(s, en[i])) {
            *out = (dbg_verdict)i;
            return 0;
        }
    return -1;
}

/* Not-applicable results are ignored unless all are; a failure with nothing shown in its
 * favour is 不符合; what could not be established (error) alone is 未检查; any mix of shown
 * and missing parts is 部分符合; only all-pass is 符合. */
dbg_verdict dbg_verdict_combine(const dbg_check_result *results, size_t n)
{
    size_t pass = 0, fail = 0, partial = 0, error = 0;
    for (size_t i = 0; i < n; i++) {
        switch (results[i]) {
        case DBG_CHECK_PASS:
            pass++;
            break;
        case DBG_CHECK_FAIL:
            fail++;
            break;
        case DBG_CHECK_PARTIAL:
            partial++;
            break;
        case DBG_CHECK_ERROR:
            error++;
            break;
        case DBG_CHECK_NA:
            break;
        }
    }
    if (pass + fail + partial + error == 0)
        return n ? DBG_VERDICT_NA : DBG_VERDICT_UNCHECKED;
    if (pass + partial + fail == 0)
        return DBG_VERDICT_UNCHECKED;
    if (pass + partial == 0)
        return DBG_VERDICT_FAIL;
    if (fail + partial + error == 0)
        return DBG_VERDICT_PASS;
    return DBG_VERDICT_PARTIAL;
}
