/* Evidence lists: recording what a check saw. An allocation failure sets a sticky flag
 * (SQLite's "failed" idea) so the runner reports the check as error instead of aborting. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/checks.h"
#include "dengbao/util.h"

static void evidence_clear(dbg_evidence *e)
{
    free(e->source);
    free(e->key);
    free(e->observed);
    free(e->expected);
}

int dbg_evidence_add(dbg_evidence_list *l, int ok, const char *source, const char *key,
                     const char *observed, const char *expected)
{
    if (dbg_grow_array((void **)&l->items, &l->cap, l->n + 1, sizeof(*l->items), 8) < 0) {
        l->failed = 1;
        return -1;
    }
    dbg_evidence e = {
        .source = dbg_strdup(source),
        .key = dbg_strdup(key),
        .observed = dbg_strdup(observed),
        .expected = dbg_strdup(expected),
        .ok = ok ? 1 : 0,
    };
    if ((source && !e.source) || (key && !e.key) || (observed && !e.observed) ||
        (expected && !e.expected)) {
        evidence_clear(&e);
        l->failed = 1;
        return -1;
    }
    /* Checks build names in fixed buffers: a character cut at the end would make the piece
     * unstorable as JSON, and the evidence would be lost with it. */
    char *fields[] = {e.source, e.key, e.observed, e.expected};
    for (size_t i = 0; i < 4; i++)
        if (fields[i])
            dbg_utf8_trim_partial(fields[i]);
    l->items[l->n++] = e;
    return 0;
}

int dbg_evidence_addf(dbg_evidence_list *l, int ok, const char *source, const char *key,
                      const char *expected, const char *observed_fmt, ...)
{
    va_list ap;
    va_start(ap, observed_fmt);
    char *observed = dbg_vasprintf(observed_fmt, ap);
    va_end(ap);
    if (!observed) {
        l->failed = 1;
        return -1;
    }
    int r = dbg_evidence_add(l, ok, source, key, observed, expected);
    free(observed);
    return r;
}

void dbg_evidence_list_free(dbg_evidence_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        evidence_clear(&l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}
