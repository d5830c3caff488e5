/* The image_seals status file of platform.h's control-status contract, so a collection (and
 * the assessment of 8.2.4.4b) can see that images are sealed and verified on this host. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

int dbg_integrity_write_status(const char *dir, const char *detail, size_t n_sealed,
                               size_t n_verified, size_t n_mismatch)
{
    char when[40];
    dbg_time_rfc3339(dbg_now_us(), when, sizeof(when));
    if (dbg_mkdir_p(dir, 0755) < 0)
        return -1;
    json_t *j = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I}", "name", "image_seals", "pid",
                          (json_int_t)getpid(), "updated", when, "detail", detail ? detail : "",
                          "sealed", (json_int_t)n_sealed, "verified", (json_int_t)n_verified,
                          "mismatches", (json_int_t)n_mismatch);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        dbg_err_set(DBG_ERR_INVALID, "cannot build the image_seals status (detail not UTF-8?)");
        return -1;
    }
    DBG_AUTOFREE char *path = dbg_path_join(dir, "image_seals.json");
    int r = path ? dbg_write_file_atomic(path, text, strlen(text)) : -1;
    free(text);
    return r;
}

int dbg_control_write_status(const char *dir, const char *name, const char *detail)
{
    char when[40];
    dbg_time_rfc3339(dbg_now_us(), when, sizeof(when));
    if (dbg_mkdir_p(dir, 0755) < 0)
        return -1;
    json_t *j = json_pack("{s:s, s:I, s:s, s:s}", "name", name, "pid", (json_int_t)getpid(),
                          "updated", when, "detail", detail ? detail : "");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        dbg_err_set(DBG_ERR_INVALID, "cannot build the %s status (detail not UTF-8?)", name);
        return -1;
    }
    DBG_AUTOFREE char *file = dbg_asprintf("%s.json", name);
    DBG_AUTOFREE char *path = file ? dbg_path_join(dir, file) : NULL;
    int r = path ? dbg_write_file_atomic(path, text, strlen(text)) : -1;
    free(text);
    return r;
}
