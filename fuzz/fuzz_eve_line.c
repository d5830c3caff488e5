/* libFuzzer target: one EVE JSON line into a store event (the central store's ingest parser). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/store.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = dbg_strndup((const char *)data, size);
    if (!line)
        return 0;
    dbg_store_event ev;
    void *owned = NULL;
    if (dbg_store_event_from_eve(line, "fuzz", &ev, &owned) == 0)
        dbg_store_eve_owned_free(owned);
    free(line);
    return 0;
}
