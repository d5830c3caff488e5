/* libFuzzer target: one EVE JSON line into a store event (the central store's ingest parser).
 * The dedup key the parser makes from the record it parsed must be the one the store makes from
 * the event's host and body (store_dedup_key, as for rows keyed when a store is opened): else
 * a resent line would be stored twice. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/store.h"
#include "dengbao/util.h"
#include "store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = dbg_strndup((const char *)data, size);
    if (!line)
        return 0;
    dbg_store_event ev;
    void *owned = NULL;
    /* a host that is not UTF-8: the event's host is its sanitized copy, which the key must use */
    if (dbg_store_event_from_eve(line, size % 2 ? "fuzz" : "h\xff", &ev, &owned) == 0) {
        char key[STORE_DEDUP_KEY_MAX];
        if (!ev.dedup || store_dedup_key(ev.host, ev.body, key) != 0 || strcmp(key, ev.dedup) != 0)
            abort();
        dbg_store_eve_owned_free(owned);
    }
    free(line);
    return 0;
}
