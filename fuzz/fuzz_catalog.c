/* libFuzzer target for the catalog loader: any bytes through dbg_catalog_load_buffer, with a
 * check-id callback so that path runs too. Must never crash, leak or hang; errors are fine. */
#include <stdint.h>
#include <string.h>

#include "dengbao/catalog.h"
#include "dengbao/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int known_check(const char *id, void *opaque)
{
    (void)opaque;
    return strcmp(id, "unknown") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_catalog_opts opts = {.check_exists = known_check, .unknown_check_is_error = 1};
    dbg_catalog *cat = dbg_catalog_load_buffer("fuzz.yaml", (const char *)data, size, &opts);
    if (cat) {
        /* Touch what the loader built so use-after-free or bad pointers surface. */
        for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
            const dbg_item *it = dbg_catalog_item(cat, i);
            (void)dbg_catalog_find(cat, it->clause, 4);
            (void)dbg_catalog_sibling(cat, it, 3);
        }
        dbg_catalog_free(cat);
    }
    dbg_err_clear();
    return 0;
}
