/* The image_seals status file of platform.h's control-status contract, so a collection (and
 * the assessment of 8.2.4.4b) can see which images are sealed and verified on this host. */
#include <limits.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"

/* The image as given, made absolute without resolving links (a VM's disk may name a link the
 * operator sealed by the same name). NULL when out of memory or no working directory. */
static char *absolute_named(const char *path)
{
    if (path[0] == '/')
        return dbg_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        return NULL;
    return dbg_path_join(cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

/* {"path": real path, "named": as given when it differs, "state"}; NULL when a path is not
 * UTF-8 (JSON cannot carry it) or out of memory: the caller counts it as omitted. */
static json_t *image_entry(const dbg_seal_status_image *im, size_t *bytes)
{
    char real[PATH_MAX];
    DBG_AUTOFREE char *named = absolute_named(im->path);
    /* verify of a deleted image: no real path, the name is all there is */
    const char *path = realpath(im->path, real) ? real : named;
    if (!path)
        return NULL;
    json_t *e = json_pack("{s:s, s:s}", "path", path, "state", im->state);
    if (e && named && strcmp(named, path) &&
        json_object_set_new(e, "named", json_string(named)) != 0) {
        json_decref(e);
        return NULL;
    }
    *bytes = strlen(path) + (named ? strlen(named) : 0) + 64;
    return e;
}

int dbg_integrity_write_status(const char *dir, const char *detail, size_t n_sealed,
                               size_t n_verified, size_t n_mismatch, size_t n_unverified,
                               const dbg_seal_status_image *images, size_t n_images)
{
    json_t *list = json_array();
    size_t omitted = 0, bytes = 0;
    for (size_t i = 0; list && i < n_images; i++) {
        size_t b = 0;
        int room = json_array_size(list) < DBG_SEAL_STATUS_MAX_IMAGES &&
                   bytes < DBG_SEAL_STATUS_MAX_PATH_BYTES;
        json_t *e = room ? image_entry(&images[i], &b) : NULL;
        if (!e || json_array_append_new(list, e) != 0) {
            omitted++;
            continue;
        }
        bytes += b;
    }
    json_t *extra =
        list ? json_pack("{s:I, s:I, s:I, s:I, s:b, s:o, s:I}", "sealed", (json_int_t)n_sealed,
                         "verified", (json_int_t)n_verified, "mismatches", (json_int_t)n_mismatch,
                         "unverified", (json_int_t)n_unverified, "oneshot", 1, "images", list,
                         "images_omitted", (json_int_t)omitted)
             : NULL;
    if (!extra) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the image_seals status");
        return -1;
    }
    return dbg_status_write(dir, "image_seals", n_mismatch == 0 && n_unverified == 0, detail,
                            extra);
}

/* The one-shot controls (image scan, volume wipe-check) end with their run: "oneshot" tells
 * the collector not to hold their exited pid against them. */
int dbg_control_write_status(const char *dir, const char *name, int ok, const char *detail)
{
    return dbg_status_write(dir, name, ok, detail, json_pack("{s:b}", "oneshot", 1));
}
