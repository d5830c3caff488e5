/* Differing / non-zero byte ranges, as the integrity checks report them: found in offset order,
 * so a range that continues the last one extends it; the list is bounded (a report names the
 * first ranges, the byte totals count all) and says when it stopped. */
#include "dengbao/integrity.h"
#include "dengbao/util.h"

int dbg_ranges_add(dbg_range **ranges, size_t *n, size_t max, uint64_t off, uint64_t len,
                   int *truncated)
{
    if (*n && (*ranges)[*n - 1].offset + (*ranges)[*n - 1].length == off) {
        (*ranges)[*n - 1].length += len;
        return 0;
    }
    if (*n >= max) {
        *truncated = 1;
        return 0;
    }
    dbg_range *nr = dbg_reallocarray(*ranges, *n + 1, sizeof(*nr));
    if (!nr)
        return -1;
    *ranges = nr;
    nr[*n].offset = off;
    nr[*n].length = len;
    (*n)++;
    return 0;
}
