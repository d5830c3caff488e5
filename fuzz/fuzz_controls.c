/* libFuzzer target for the two small parsers of the control status files (platform.h
 * contract): the judge of one status file (JSON from a directory other processes write) and the
 * RFC 3339 time parser its "updated" goes through (also attestation dates and audit query
 * bounds). The first byte picks one; the rest is the input.
 * Properties beyond "no crash, no leak":
 *  - a control is judged healthy only when its file says "ok": true and has a fresh time;
 *  - a failed parse always carries a message;
 *  - a time that parses is printed and read back to the same instant (within years 0000-9999,
 *    the range the printer's four-digit year covers), and a UTC one prints the fields it was
 *    given (no day carried into the next month). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"
#include "platform/platform_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-12-06T00:00:00Z: a fixed "now", so a verdict depends on the input only */
#define FUZZ_NOW_US 1796515200000000LL
#define YEAR_10000_US 253402300800000000LL
#define YEAR_0000_US (-62167219200000000LL)

static void judge_status(const char *text, size_t len)
{
    dbg_control c = {0};
    if (dbg_platform_judge_control(&c, "fuzz.json", text, len, 0, FUZZ_NOW_US) < 0) {
        dbg_err_clear(); /* out of memory only */
        return;
    }
    if (!c.detail)
        abort();
    if (c.healthy) {
        json_t *j = json_loadb(text, len, 0, NULL);
        const char *upd = j ? json_string_value(json_object_get(j, "updated")) : NULL;
        int64_t us = 0;
        if (!j || !json_is_true(json_object_get(j, "ok")) || !upd ||
            dbg_time_parse_rfc3339(upd, &us) < 0 || us < FUZZ_NOW_US - 300 * 1000000LL ||
            us > FUZZ_NOW_US + 300 * 1000000LL)
            abort();
        json_decref(j);
    }
    /* a listed image always has an absolute path and a state (the check matches on them) */
    for (size_t i = 0; i < c.n_images; i++)
        if (!c.images[i].path || c.images[i].path[0] != '/' || !c.images[i].state)
            abort();
    dbg_platform_control_clear(&c);
}

static void parse_time(const char *text, size_t len)
{
    char *s = dbg_strndup(text, len);
    if (!s)
        return;
    int64_t us = 0;
    if (dbg_time_parse_rfc3339(s, &us) < 0) {
        if (dbg_err_msg()[0] == '\0')
            abort();
        dbg_err_clear();
    } else if (us >= YEAR_0000_US && us < YEAR_10000_US) {
        char buf[64];
        int64_t again = 0;
        dbg_time_rfc3339(us, buf, sizeof(buf));
        if (dbg_time_parse_rfc3339(buf, &again) < 0 || again != us)
            abort();
        /* in UTC (a date, or a time ending in Z) and not a leap second, the fields read are
         * the fields printed: nothing was carried into the next day or month */
        size_t n = strlen(s);
        int utc_time = n >= 20 && (s[n - 1] == 'Z' || s[n - 1] == 'z') && memcmp(s + 17, "60", 2);
        if ((n == 10 && memcmp(buf, s, 10)) || (utc_time && memcmp(buf, s, 19)))
            abort();
    }
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        parse_time((const char *)data + 1, size - 1);
    else
        judge_status((const char *)data + 1, size - 1);
    return 0;
}
