/* The writer side of the control-status contract (platform.h): one place builds the common
 * fields so every control's file looks the same to the collector and to an assessor reading it. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"

int dbg_status_write(const char *dir, const char *name, int ok, const char *detail, json_t *extra)
{
    char when[40];
    dbg_time_rfc3339(dbg_now_us(), when, sizeof(when));
    json_t *j = json_pack("{s:s, s:I, s:s, s:b, s:s}", "name", name, "pid", (json_int_t)getpid(),
                          "updated", when, "ok", ok, "detail", detail ? detail : "");
    /* The control's own fields never override the contract's five. */
    if (j && extra && json_object_update_missing(j, extra) != 0) {
        json_decref(j);
        j = NULL;
    }
    json_decref(extra);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text) {
        dbg_err_set(DBG_ERR_INVALID, "cannot build the %s status (detail not UTF-8?)", name);
        return -1;
    }
    int r = -1;
    DBG_AUTOFREE char *file = dbg_asprintf("%s.json", name);
    DBG_AUTOFREE char *path = file ? dbg_path_join(dir, file) : NULL;
    if (!path)
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the %s status path", name);
    else if (dbg_mkdir_p(dir, 0755) == 0)
        r = dbg_write_file_atomic(path, text, strlen(text));
    free(text);
    return r;
}
