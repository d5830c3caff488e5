/* Status of dengbao's own runtime controls, read from the status files each control refreshes
 * (<status dir>/<name>.json, contract in platform.h): deployed = file present, healthy = the
 * control's own result "ok": true, refreshed within 300 s of collection (a one-shot control,
 * "oneshot": true, within 24 h) and, on the live host, its pid alive unless it is one-shot. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dengbao/util.h"
#include "platform/platform_internal.h"

/* image_seals lists the images its run covered (platform.h: DBG_SEAL_STATUS_MAX_*) */
#define STATUS_MAX_BYTES ((size_t)1 << 20)
#define STATUS_FRESH_US ((int64_t)300 * 1000000)
/* A one-shot control (image seal/verify/scan, volume wipe-check) writes its status once per run,
 * not every 60 s: a daily run (a timer) keeps its result current. 300 s made a provider who
 * verified the night before read "stale", a 不符合 on 8.2.4.4b, unless each collection came
 * within five minutes of a run. */
#define ONESHOT_FRESH_US ((int64_t)24 * 3600 * 1000000)

static const char *const control_names[] = {"audit_log", "gateway",     "guard",
                                            "sensor",    "image_seals", "centralized_audit",
                                            "malware",   "wipe_check"};

static int pid_alive(long pid)
{
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The "images" a seal or verify run covered (platform.h). An entry without an absolute path
 * or a state, or past DBG_SEAL_STATUS_MAX_IMAGES, is counted as omitted: coverage is never
 * read into what the file does not say. */
static int read_images(dbg_control *c, const json_t *j)
{
    const json_t *list = json_object_get(j, "images");
    if (!json_is_array(list))
        return 0;
    const json_t *om = json_object_get(j, "images_omitted");
    json_int_t omitted = json_is_integer(om) ? json_integer_value(om) : 0;
    c->images_omitted = omitted > 0 ? (size_t)omitted : 0;
    size_t n = json_array_size(list);
    c->images = dbg_calloc(n < DBG_SEAL_STATUS_MAX_IMAGES ? n + 1 : DBG_SEAL_STATUS_MAX_IMAGES,
                           sizeof(*c->images));
    if (!c->images)
        return -1;
    c->images_listed = 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *named = json_string_value(json_object_get(e, "named"));
        const char *state = json_string_value(json_object_get(e, "state"));
        if (c->n_images >= DBG_SEAL_STATUS_MAX_IMAGES || !path || path[0] != '/' || !state ||
            (named && named[0] != '/')) {
            c->images_omitted++;
            continue;
        }
        dbg_control_image *im = &c->images[c->n_images++];
        if (!(im->path = dbg_strdup(path)) || !(im->state = dbg_strdup(state)) ||
            (named && !(im->named = dbg_strdup(named))))
            return -1;
    }
    return 0;
}

int dbg_platform_judge_control(dbg_control *c, const char *file, const char *text, size_t len,
                               int check_pids, int64_t now_us)
{
    json_error_t jerr;
    /* A key given twice ("ok": false, then "ok": true) is no status any writer of ours makes:
     * jansson keeps the last, so it read as healthy; malformed, as the snapshot reader has it */
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        c->detail = j ? dbg_asprintf("%s: malformed status file: not a JSON object", file)
                      : dbg_asprintf("%s:%d:%d: malformed status file: %s", file, jerr.line,
                                     jerr.column, jerr.text);
        json_decref(j);
        return c->detail ? 0 : -1;
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    const char *updated = json_string_value(json_object_get(j, "updated"));
    const json_t *pidv = json_object_get(j, "pid");
    long pid = json_is_integer(pidv) ? (long)json_integer_value(pidv) : 0;
    const char *detail = json_string_value(json_object_get(j, "detail"));
    const json_t *okv = json_object_get(j, "ok");
    int64_t upd_us = 0;
    const char *why = NULL;
    int oneshot = json_is_true(json_object_get(j, "oneshot"));
    if (name && c->name && strcmp(name, c->name)) {
        /* another control's file under this name (copied or renamed by hand) */
        why = "the file is another control's status";
    } else if (!updated || dbg_time_parse_rfc3339(updated, &upd_us) < 0) {
        dbg_err_clear();
        why = "no valid \"updated\" time";
    } else if (json_is_false(okv)) {
        /* Named before staleness or a gone pid: what the control last found still stands. */
        why = "the control reports a problem (\"ok\": false)";
    } else if (!oneshot && now_us - upd_us > STATUS_FRESH_US) {
        why = "stale: not refreshed within 300 s";
    } else if (oneshot && now_us - upd_us > ONESHOT_FRESH_US) {
        why = "stale: its last run was more than 24 h before the collection (run it daily)";
    } else if (upd_us - now_us > STATUS_FRESH_US) {
        why = "\"updated\" lies in the future";
    } else if (check_pids && !oneshot && !pid_alive(pid)) {
        /* a one-shot control (image verify/scan, wipe-check) has exited by design; a running
         * one (guard, sensor, gateway, audit log, serve) must still be there */
        why = "process not running";
    } else if (!json_is_boolean(okv)) {
        /* A fresh file only shows the control ran, not what it found. */
        why = "result unknown: no \"ok\" in the status file";
    }
    c->healthy = why == NULL;
    /* what a running control says it does not cover: only a healthy one's counts (one not
     * healthy fails its checks whatever it says) */
    const char *degraded = json_string_value(json_object_get(j, "degraded"));
    if (c->healthy && degraded && degraded[0] && !(c->degraded = dbg_strdup(degraded))) {
        json_decref(j);
        return -1;
    }
    if (read_images(c, j) < 0) {
        json_decref(j);
        return -1;
    }
    c->detail = dbg_asprintf("%s; updated %s; pid %ld; %s%s%s", file, updated ? updated : "-", pid,
                             why ? why : "healthy", detail ? "; " : "", detail ? detail : "");
    json_decref(j);
    return c->detail ? 0 : -1;
}

/* Every known control, named, with its status file's path under display_dir. */
static int controls_new(dbg_snapshot *s, const char *display_dir)
{
    size_t n = sizeof(control_names) / sizeof(control_names[0]);
    s->controls = dbg_calloc(n, sizeof(*s->controls));
    if (!s->controls)
        return -1;
    s->n_controls = n;
    for (size_t i = 0; i < n; i++) {
        dbg_control *c = &s->controls[i];
        c->name = dbg_strdup(control_names[i]);
        c->path = dbg_asprintf("%s/%s.json", display_dir, control_names[i]);
        if (!c->name || !c->path)
            return -1;
    }
    return 0;
}

int dbg_platform_controls_not_read(dbg_snapshot *s, const char *why)
{
    if (controls_new(s, "/run/dengbao/status") < 0)
        return -1;
    for (size_t i = 0; i < s->n_controls; i++) {
        dbg_control *c = &s->controls[i];
        c->unknown = 1;
        if (!(c->detail = dbg_asprintf("%s: %s", c->path, why)))
            return -1;
    }
    return 0;
}

int dbg_platform_collect_controls(const char *status_dir, const char *display_dir, int check_pids,
                                  int64_t now_us, dbg_snapshot *s)
{
    if (!display_dir)
        display_dir = status_dir;
    if (controls_new(s, display_dir) < 0)
        return -1;
    for (size_t i = 0; i < s->n_controls; i++) {
        dbg_control *c = &s->controls[i];
        DBG_AUTOFREE char *path = dbg_asprintf("%s/%s.json", status_dir, control_names[i]);
        const char *shown = c->path;
        if (!path)
            return -1;
        struct stat st;
        if (lstat(path, &st) < 0) {
            /* e.g. a status directory the collecting user may not search: absent is not shown */
            c->unknown = errno != ENOENT && errno != ENOTDIR;
            c->detail = c->unknown ? dbg_asprintf("%s: cannot be looked for (%s)", shown,
                                                  strerror(errno))
                                   : dbg_asprintf("%s: absent (control not deployed)", shown);
            if (!c->detail)
                return -1;
            continue;
        }
        c->deployed = 1;
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            /* dengbao writes its status files by rename, never as links: a link (in a copied
             * root, to a file of this machine's) or a FIFO or device (reading would block or
             * never end) is not read, and says nothing; a directory fails to read below */
            c->unknown = 1;
            c->detail = dbg_asprintf("%s: not a regular file (%s), not read", shown,
                                     S_ISLNK(st.st_mode) ? "a symbolic link" : "a special file");
            if (!c->detail)
                return -1;
            continue;
        }
        DBG_AUTOFREE char *text = NULL;
        size_t len = 0;
        if (dbg_read_regular_file(path, STATUS_MAX_BYTES, &text, &len) < 0) {
            c->unknown = 1;
            c->detail =
                dbg_asprintf("%s: cannot be read (%s)", shown, dbg_strerror(dbg_err_code()));
            dbg_err_clear();
            if (!c->detail)
                return -1;
            continue;
        }
        if (dbg_platform_judge_control(c, shown, text, len, check_pids, now_us) < 0)
            return -1;
    }
    return 0;
}
