/* `dengbao audit restart`: a log that no longer verifies (a flipped byte, tampering) makes open
 * refuse, and so stops every writer (the agent's gateway and guard too) until someone acts. The
 * only safe act keeps the evidence whole: the directory is renamed aside as it is, and a new log
 * starts in its place whose first records say why, where the old one went and how far it
 * verified: one for the provider and one for each tenant the old log held records of, so that
 * every tenant's export shows the break in its own chain (§8.2.3.3). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit_int.h"

/* The keys of a set (a JSON object used as one), in the order they were added. */
static int set_names(json_t *set, char ***out, size_t *n)
{
    *n = 0;
    *out = dbg_calloc(json_object_size(set) + 1, sizeof(**out));
    if (!*out)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(set, k, v)
    {
        if (!((*out)[*n] = dbg_strdup(k)))
            return -1;
        (*n)++;
    }
    return 0;
}

/* The tenants of the old log's records, read from the segments themselves: the index stops at
 * the damage, and the tenant whose record was damaged is the one that most needs the notice.
 * Frames are walked without their checksums (a record whose JSON still parses names its tenant
 * even when a byte of it changed); a frame whose length cannot be right ends its segment's walk,
 * and *complete says whether every segment was walked to its end. Sets, not lists: a log holds
 * millions of records of a few hundred tenants. */
static int segment_tenants(const char *dir, char ***out, size_t *n, char ***suspect,
                           size_t *n_suspect, int *complete)
{
    char **segs = NULL;
    size_t nsegs = 0;
    *out = *suspect = NULL;
    *n = *n_suspect = 0;
    *complete = 1;
    json_t *clean = json_object(), *damaged = json_object();
    int r = clean && damaged && aud_list_segments(dir, &segs, &nsegs) == 0 ? 0 : -1;
    for (size_t i = 0; i < nsegs && r == 0; i++) {
        DBG_AUTOFREE char *path = dbg_path_join(dir, segs[i]);
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            *complete = 0;
            continue;
        }
        size_t size = (size_t)st.st_size;
        const uint8_t *buf =
            size ? mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0) : (const uint8_t *)"";
        close(fd);
        if (buf == MAP_FAILED) {
            *complete = 0;
            continue;
        }
        size_t off = 0;
        aud_frame f;
        const char *why;
        int got;
        while ((got = aud_frame_peek(buf, size, off, &f, &why)) == 1) {
            off = f.offset + AUD_FRAME_HDR + f.len;
            if (f.type != 'R')
                continue;
            json_t *rec = json_loadb((const char *)f.payload, f.len, 0, NULL);
            const char *t = json_string_value(json_object_get(rec, "tenant"));
            json_t *set = aud_frame_crc_ok(f.payload, f.len) ? clean : damaged;
            if (t && *t && !dbg_tenant_reserved(t) && !json_object_get(set, t) &&
                json_object_set_new(set, t, json_true()) < 0)
                r = -1;
            json_decref(rec);
        }
        if (got < 0)
            *complete = 0;
        if (size)
            munmap((void *)buf, size);
    }
    aud_free_names(segs, nsegs);
    /* a name read only from damaged records is notified too (it may be the damaged record's
     * true tenant, or an altered id), and named as such */
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(damaged, tmp, k, v)
    {
        if (r == 0 && json_object_get(clean, k))
            json_object_del(damaged, k);
        else if (r == 0 && json_object_set_new(clean, k, json_true()) < 0)
            r = -1;
    }
    if (r == 0 && (set_names(clean, out, n) < 0 || set_names(damaged, suspect, n_suspect) < 0))
        r = -1;
    json_decref(clean);
    json_decref(damaged);
    return r;
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* DIR.damaged-<UTC time>, with -2, -3 ... when that exists (two restarts in one second). */
static int moved_name(const char *dir, char *out, size_t size)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (int i = 1; i < 100; i++) {
        int w = i == 1 ? snprintf(out, size, "%s.damaged-%s", dir, stamp)
                       : snprintf(out, size, "%s.damaged-%s-%d", dir, stamp, i);
        if (w < 0 || (size_t)w >= size) {
            dbg_err_set(DBG_ERR_INVALID, "audit log %s: path too long to move it aside", dir);
            return -1;
        }
        struct stat st;
        if (lstat(out, &st) < 0 && errno == ENOENT)
            return 0;
    }
    dbg_err_set(DBG_ERR_IO, "audit log %s: no free name to move it aside to", dir);
    return -1;
}

static char *restart_details(const char *reason, const char *moved,
                             const dbg_audit_verify_result *v, size_t n_tenants,
                             char *const *suspect, size_t n_suspect, int tenants_complete)
{
    json_t *o = json_object();
    json_t *prev = json_object();
    if (!o || !prev) {
        json_decref(o);
        json_decref(prev);
        return NULL;
    }
    json_object_set_new(o, "reason", json_string(reason));
    json_object_set_new(prev, "moved_to", json_string(moved));
    json_object_set_new(prev, "records_read", json_integer((json_int_t)v->records));
    json_object_set_new(prev, "first_bad_seq",
                        v->first_bad_seq >= 0 ? json_integer((json_int_t)v->first_bad_seq)
                                              : json_null());
    json_object_set_new(prev, "problem", json_string(v->problem));
    if (v->head_size > 0 && v->head[0]) {
        json_t *h = json_object();
        json_object_set_new(h, "tree_size", json_integer((json_int_t)v->head_size));
        json_object_set_new(h, "root_hash", json_string(v->head));
        json_object_set_new(prev, "last_verified_head", h);
    } else {
        json_object_set_new(prev, "last_verified_head", json_null());
    }
    json_object_set_new(prev, "tenants_notified", json_integer((json_int_t)n_tenants));
    json_object_set_new(prev, "tenants_complete", json_boolean(tenants_complete));
    json_t *sus = json_array();
    for (size_t i = 0; i < n_suspect; i++)
        json_array_append_new(sus, json_string(suspect[i]));
    json_object_set_new(prev, "tenants_only_in_damaged_records", sus);
    json_object_set_new(o, "previous_log", prev);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

/* Takes the writers' file exclusively: no writer may have the log open. Not the flush lock:
 * only writers flush, and verify and the index sync below take it themselves. */
static int lock_out_writers(const char *dir, int *writers_fd)
{
    DBG_AUTOFREE char *wpath = dbg_path_join(dir, AUD_WRITERS_FILE);
    if (!wpath)
        return -1;
    *writers_fd = open(wpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*writers_fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", wpath);
        return -1;
    }
    if (flock(*writers_fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno == EWOULDBLOCK)
            dbg_err_set(DBG_ERR_INVALID,
                        "audit log %s is open in a running writer (the agent, a gateway, an "
                        "'audit append'): stop it first; nothing was moved",
                        dir);
        else
            dbg_err_errno(DBG_ERR_IO, "cannot lock %s", wpath);
        return -1;
    }
    return 0;
}

/* The key must be the one log.pub names: verified with another key every log fails, and a
 * healthy log would be moved aside for a typo. A replaced log.pub is restored by hand. */
static int key_is_logs(const char *dir, EVP_PKEY *key)
{
    DBG_AUTOFREE char *path = dbg_path_join(dir, AUD_PUB_FILE);
    if (!path)
        return -1;
    EVP_PKEY *pub = access(path, F_OK) == 0 ? aud_key_load_public(path) : NULL;
    if (!pub) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit log %s: no readable %s to check the key against; nothing was moved",
                    dir, AUD_PUB_FILE);
        return -1;
    }
    int same = EVP_PKEY_eq(pub, key) == 1;
    EVP_PKEY_free(pub);
    if (!same) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit log %s: the key is not the one its %s names (pass the log's signing "
                    "key; if %s was replaced, restore it); nothing was moved",
                    dir, AUD_PUB_FILE, AUD_PUB_FILE);
        return -1;
    }
    return 0;
}

int dbg_audit_restart(const char *dir, const char *key_path, const char *actor,
                      const char *source, const char *reason, dbg_audit_restart_result *res)
{
    memset(res, 0, sizeof(*res));
    res->first_seq = -1;
    if (!reason || !*reason) {
        dbg_err_set(DBG_ERR_INVALID, "audit restart: a reason is required (it is recorded)");
        return -1;
    }
    char abs[PATH_MAX];
    struct stat st;
    if (!realpath(dir, abs) || stat(abs, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "audit log %s", dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        dbg_err_set(DBG_ERR_INVALID, "audit log %s is not a directory", dir);
        return -1;
    }
    /* the new log signs with this key: one it cannot load stops here, before anything moves */
    EVP_PKEY *key = aud_key_load_private(key_path);
    if (!key)
        return -1;
    int mine = key_is_logs(abs, key);
    EVP_PKEY_free(key);
    if (mine < 0)
        return -1;
    int writers_fd = -1, r = -1;
    char **tenants = NULL, **suspect = NULL;
    size_t n_tenants = 0, n_suspect = 0;
    char *details = NULL;
    dbg_audit_log *log = NULL;
    if (lock_out_writers(abs, &writers_fd) < 0)
        goto out;
    dbg_audit_verify_result *v = &res->previous;
    if (dbg_audit_verify(abs, key_path, v) < 0)
        goto out;
    if (v->ok) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit log %s verifies (%" PRIu64
                    " records) with this key: nothing to restart; nothing was moved",
                    dir, v->records);
        goto out;
    }
    if (segment_tenants(abs, &tenants, &n_tenants, &suspect, &n_suspect,
                        &res->tenants_complete) < 0)
        goto out;
    if (moved_name(abs, res->moved_to, sizeof(res->moved_to)) < 0)
        goto out;
    if (rename(abs, res->moved_to) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot move audit log %s to %s%s", abs, res->moved_to,
                      errno == EBUSY || errno == EXDEV ? " (a mount point? move its files by hand)"
                                                       : "");
        res->moved_to[0] = '\0';
        goto out;
    }
    close(writers_fd);
    writers_fd = -1;
    dbg_audit_opts o = {.dir = abs, .key_path = key_path, .durable = 1};
    if (!(log = dbg_audit_open(&o)))
        goto out;
    /* the new directory as the old one was, so that the writers' user still may write it */
    if (chmod(abs, st.st_mode & 07777) < 0 ||
        ((st.st_uid != getuid() || st.st_gid != getgid()) &&
         chown(abs, st.st_uid, st.st_gid) < 0 && errno != EPERM)) {
        dbg_err_errno(DBG_ERR_IO, "audit log %s: cannot give it the old directory's mode/owner",
                      abs);
        goto out;
    }
    if (!(details = restart_details(reason, res->moved_to, v, n_tenants, suspect, n_suspect,
                                   res->tenants_complete)))
        goto out;
    size_t n = 1 + n_tenants;
    dbg_audit_record *recs = dbg_calloc(n, sizeof(*recs));
    if (!recs)
        goto out;
    for (size_t i = 0; i < n; i++)
        recs[i] = (dbg_audit_record){.actor = actor,
                                     .role = "provider-admin",
                                     .tenant = i ? tenants[i - 1] : "",
                                     .action = "audit.log_restarted",
                                     .target_type = "audit_log",
                                     .target_name = abs,
                                     .outcome = "success",
                                     .source = source,
                                     .details_json = details};
    uint64_t first;
    int ar = dbg_audit_append_batch(log, recs, n, &first);
    free(recs);
    if (ar < 0)
        goto out;
    res->first_seq = (int64_t)first;
    res->records = n;
    res->n_tenants = n_tenants;
    res->n_suspect = n_suspect;
    r = 0;
out:
    if (log && dbg_audit_close(log) < 0)
        r = -1;
    if (writers_fd >= 0)
        close(writers_fd);
    free(details);
    free_names(tenants, n_tenants);
    free_names(suspect, n_suspect);
    return r;
}
