/* The image_seals status file of platform.h's control-status contract, so a collection (and
 * the assessment of 8.2.4.4b) can see that images are sealed and verified on this host. */
#include <jansson.h>

#include "dengbao/integrity.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"

int dbg_integrity_write_status(const char *dir, const char *detail, size_t n_sealed,
                               size_t n_verified, size_t n_mismatch, size_t n_unverified)
{
    json_t *extra = json_pack("{s:I, s:I, s:I, s:I, s:b}", "sealed", (json_int_t)n_sealed,
                              "verified", (json_int_t)n_verified, "mismatches",
                              (json_int_t)n_mismatch, "unverified", (json_int_t)n_unverified,
                              "oneshot", 1);
    return dbg_status_write(dir, "image_seals", n_mismatch == 0 && n_unverified == 0, detail,
                            extra);
}

/* The one-shot controls (image scan, volume wipe-check) end with their run: "oneshot" tells
 * the collector not to hold their exited pid against them. */
int dbg_control_write_status(const char *dir, const char *name, int ok, const char *detail)
{
    return dbg_status_write(dir, name, ok, detail, json_pack("{s:b}", "oneshot", 1));
}
