/* The image_seals status file of platform.h's control-status contract, so a collection (and
 * the assessment of 8.2.4.4b) can see which images are sealed and verified on this host. Each
 * run merges into the list earlier runs wrote: providers seal in batches, and a list of the
 * last batch alone made every earlier batch's disks read as unsealed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"

/* The status file is read before it is replaced: the collector reads at most 1 MiB. */
#define STATUS_MAX_BYTES ((size_t)1 << 20)

/* One image of the merged list. The run's images sort after the earlier ones and by seq
 * among themselves, so of two entries with one real path the run's (the later) wins. */
typedef struct {
    char *path;  /* real path, or the absolute name of an image that does not exist */
    char *named; /* absolute name given, when it differs; or NULL */
    char *state;
    size_t seq;
    int from_run;
} seal_entry;

static const char *const known_states[] = {"sealed",   "intact",       "seal_failed",
                                           "mismatch", "bad_manifest", "unverified"};

static int known_state(const char *s)
{
    for (size_t i = 0; i < sizeof(known_states) / sizeof(known_states[0]); i++)
        if (!strcmp(s, known_states[i]))
            return 1;
    return 0;
}

static void entry_clear(seal_entry *e)
{
    free(e->path);
    free(e->named);
    free(e->state);
    *e = (seal_entry){0};
}

/* The image as given, made absolute without resolving links (a VM's disk may name a link the
 * operator sealed by the same name). NULL when out of memory or no working directory. */
static char *absolute_named(const char *path)
{
    if (path[0] == '/')
        return dbg_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) {
        dbg_err_set(DBG_ERR_IO, "cannot name %s: no working directory (%s)", path, strerror(errno));
        return NULL;
    }
    return dbg_path_join(cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
}

/* A run's image as an entry: real path (a verify of a deleted image has none: the name is
 * all there is), and the name given when it differs. */
static int run_entry(const dbg_seal_status_image *im, size_t seq, seal_entry *out)
{
    char real[PATH_MAX];
    *out = (seal_entry){.seq = seq, .from_run = 1};
    if (!(out->named = absolute_named(im->path)))
        return -1;
    if (!realpath(im->path, real)) {
        out->path = out->named;
        out->named = NULL;
    } else if (!(out->path = dbg_strdup(real))) {
        return -1;
    } else if (!strcmp(out->path, out->named)) {
        free(out->named);
        out->named = NULL;
    }
    return (out->state = dbg_strdup(im->state)) ? 0 : -1;
}

/* A path whose file is gone from this host (not merely unreadable) */
static int path_gone(const char *p)
{
    struct stat st;
    return lstat(p, &st) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

typedef struct {
    seal_entry *entries;
    size_t n, cap;
    size_t omitted;          /* images earlier runs covered and did not list */
    size_t omitted_problems; /* of those, how many were not sealed/intact */
    size_t dropped;          /* earlier entries whose image no longer exists */
    char *first_dropped;
} seal_list;

static int list_add(seal_list *l, seal_entry *e)
{
    if (dbg_grow_array((void **)&l->entries, &l->cap, l->n + 1, sizeof(*l->entries), 64) < 0)
        return -1;
    l->entries[l->n++] = *e;
    *e = (seal_entry){0};
    return 0;
}

/* The earlier runs' list from the existing file, or nothing when there is none or it was
 * written before the list existed (it names no image, so nothing is lost). A file that cannot
 * be read or is damaged is an error naming it and why: replacing it would drop what it lists. */
static int read_earlier(const char *file, seal_list *l)
{
    struct stat st;
    if (lstat(file, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        dbg_err_set(DBG_ERR_IO, "%s: cannot be looked for (%s)", file, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: %s, not a status file dengbao wrote (it writes "
                    "them by rename)",
                    file, S_ISLNK(st.st_mode) ? "a symbolic link" : dbg_file_kind(st.st_mode));
        return -1;
    }
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    if (dbg_read_regular_file(file, STATUS_MAX_BYTES, &text, &len) < 0) {
        DBG_AUTOFREE char *why = dbg_strdup(dbg_err_msg()); /* dbg_err_set overwrites it */
        dbg_err_set(dbg_err_code(), "%s: cannot be read (%s)", file, why ? why : "?");
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    int r = -1;
    if (!j) {
        dbg_err_set(DBG_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", file, jerr.line, jerr.column,
                    jerr.text);
        return -1;
    }
    const char *name = json_string_value(json_object_get(j, "name"));
    const json_t *list = json_object_get(j, "images");
    const json_t *om = json_object_get(j, "images_omitted");
    const json_t *omp = json_object_get(j, "images_omitted_problems");
    if (!json_is_object(j) || !name || strcmp(name, "image_seals")) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: not an image_seals status (no \"name\": "
                    "\"image_seals\")",
                    file);
        goto out;
    }
    if (!list) {
        r = 0; /* written before the list: it shows no image to keep */
        goto out;
    }
    if (!json_is_array(list) || (om && !(json_is_integer(om) && json_integer_value(om) >= 0)) ||
        (omp && !(json_is_integer(omp) && json_integer_value(omp) >= 0))) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: \"images\" is not a list, or \"images_omitted\" / "
                    "\"images_omitted_problems\" not a count",
                    file);
        goto out;
    }
    l->omitted = om ? (size_t)json_integer_value(om) : 0;
    size_t n = json_array_size(list), problems = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(list, i);
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *named = json_string_value(json_object_get(e, "named"));
        const char *state = json_string_value(json_object_get(e, "state"));
        if (!path || path[0] != '/' || !state || !known_state(state) ||
            (json_object_get(e, "named") && (!named || named[0] != '/'))) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: $.images[%zu]: not an image entry (an absolute "
                        "\"path\", a known \"state\", an absolute \"named\" if any)",
                        file, i);
            goto out;
        }
        problems += !dbg_seal_state_ok(state);
        /* an image deleted since: nothing is left to seal or verify, and keeping it would
         * keep its last problem in "ok" for good */
        if (path_gone(path) && (!named || path_gone(named))) {
            if (!l->dropped++ && !(l->first_dropped = dbg_strdup(named ? named : path)))
                goto out;
            continue;
        }
        seal_entry se = {.path = dbg_strdup(path),
                         .named = named ? dbg_strdup(named) : NULL,
                         .state = dbg_strdup(state),
                         .seq = i};
        if (!se.path || !se.state || (named && !se.named) || list_add(l, &se) < 0) {
            entry_clear(&se);
            goto out;
        }
    }
    /* a file of a dengbao without the problem count: when it said "not ok" and no listed
     * image explains it, the problem is among those it did not list */
    l->omitted_problems = omp ? (size_t)json_integer_value(omp)
                          : json_is_false(json_object_get(j, "ok")) && !problems ? l->omitted
                                                                                 : 0;
    r = 0;
out:
    json_decref(j);
    return r;
}

static int cmp_path_seq(const void *a, const void *b)
{
    const seal_entry *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    if (c || x->from_run != y->from_run)
        return c ? c : x->from_run - y->from_run;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* the run's images first (in the order given), then the earlier ones still standing */
static int cmp_output(const void *a, const void *b)
{
    const seal_entry *x = a, *y = b;
    if (x->from_run != y->from_run)
        return y->from_run - x->from_run;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* One entry per real path, the latest state winning. */
static void dedup(seal_list *l)
{
    qsort(l->entries, l->n, sizeof(*l->entries), cmp_path_seq);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (i + 1 < l->n && !strcmp(l->entries[i].path, l->entries[i + 1].path)) {
            entry_clear(&l->entries[i]);
            continue;
        }
        l->entries[w++] = l->entries[i];
    }
    l->n = w;
    qsort(l->entries, l->n, sizeof(*l->entries), cmp_output);
}

static void list_free(seal_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        entry_clear(&l->entries[i]);
    free(l->entries);
    free(l->first_dropped);
}

static json_t *entry_json(const seal_entry *e)
{
    json_t *o = json_pack("{s:s, s:s}", "path", e->path, "state", e->state);
    if (o && e->named && json_object_set_new(o, "named", json_string(e->named)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Serializes the status's read-merge-write: two batches sealed at once would each write the
 * list without the other's images. The lock is on the directory, so no lock file is left. */
static int lock_dir(const char *dir)
{
    if (dbg_mkdir_p(dir, 0755) < 0)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        dbg_err_set(DBG_ERR_IO, "%s: cannot lock the status directory (%s)", dir, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int dbg_integrity_write_status(const char *dir, const char *detail, size_t n_sealed,
                               size_t n_verified, size_t n_mismatch, size_t n_unverified,
                               const dbg_seal_status_image *images, size_t n_images)
{
    int r = -1, lock = -1;
    seal_list l = {0};
    json_t *list = NULL;
    DBG_AUTOFREE char *file = dbg_path_join(dir, "image_seals.json");
    DBG_AUTOFREE char *full = NULL;
    if (!file || (lock = lock_dir(dir)) < 0)
        goto out;
    if (read_earlier(file, &l) < 0) {
        DBG_AUTOFREE char *why = dbg_strdup(dbg_err_msg()); /* dbg_err_set overwrites it */
        dbg_err_set(why ? dbg_err_code() : DBG_ERR_NOMEM,
                    "%s; not replaced, as that would drop the images it lists: move it aside "
                    "to start a new list",
                    why ? why : file);
        goto out;
    }
    for (size_t i = 0; i < n_images; i++) {
        seal_entry e;
        if (run_entry(&images[i], i, &e) < 0 || list_add(&l, &e) < 0) {
            entry_clear(&e);
            goto out;
        }
    }
    dedup(&l);
    size_t omitted = l.omitted, omitted_problems = l.omitted_problems, listed_problems = 0;
    size_t bytes = 0, kept = 0;
    if (!(list = json_array()))
        goto out;
    for (size_t i = 0; i < l.n; i++) {
        const seal_entry *e = &l.entries[i];
        int bad = !dbg_seal_state_ok(e->state);
        size_t b = strlen(e->path) + (e->named ? strlen(e->named) : 0) + 64;
        int room = json_array_size(list) < DBG_SEAL_STATUS_MAX_IMAGES &&
                   bytes + b <= DBG_SEAL_STATUS_MAX_PATH_BYTES;
        /* a path that is not UTF-8 cannot be carried by JSON: counted, never dropped unsaid */
        json_t *o = room ? entry_json(e) : NULL;
        if (!o || json_array_append_new(list, o) != 0) {
            omitted++;
            omitted_problems += bad;
            continue;
        }
        bytes += b;
        kept += !e->from_run;
        listed_problems += bad;
    }
    full =
        dbg_asprintf("%s; the list holds %zu image(s), %zu of them from earlier runs%s%s%s",
                     detail ? detail : "", json_array_size(list), kept,
                     l.dropped ? "; dropped earlier entries of images that no longer exist: " : "",
                     l.first_dropped ? l.first_dropped : "", l.dropped > 1 ? " and more" : "");
    json_t *extra =
        full ? json_pack("{s:I, s:I, s:I, s:I, s:b, s:O, s:I, s:I}", "sealed", (json_int_t)n_sealed,
                         "verified", (json_int_t)n_verified, "mismatches", (json_int_t)n_mismatch,
                         "unverified", (json_int_t)n_unverified, "oneshot", 1, "images", list,
                         "images_omitted", (json_int_t)omitted, "images_omitted_problems",
                         (json_int_t)omitted_problems)
             : NULL;
    if (!extra) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build the image_seals status");
        goto out;
    }
    /* "ok" is the state of every image the list covers, this run's and the earlier ones':
     * a seal that failed, a mismatch or an image not verifiable is a problem until a later
     * run seals or verifies that image again */
    r = dbg_status_write(dir, "image_seals",
                         listed_problems + omitted_problems == 0 && n_mismatch == 0 &&
                             n_unverified == 0,
                         full, extra);
out:
    json_decref(list);
    list_free(&l);
    if (lock >= 0)
        close(lock);
    return r;
}

/* The one-shot controls (image scan, volume wipe-check) end with their run: "oneshot" tells
 * the collector not to hold their exited pid against them. */
int dbg_control_write_status(const char *dir, const char *name, int ok, const char *detail)
{
    return dbg_status_write(dir, name, ok, detail, json_pack("{s:b}", "oneshot", 1));
}
