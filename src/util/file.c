/* Whole-file reads with a size limit, atomic writes, directories and paths. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dengbao/util.h"

static int read_fd(int fd, const char *path, size_t max, char **out, size_t *len)
{
    int r = -1;
    dbg_buf b;
    dbg_buf_init(&b, max);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dbg_err_errno(DBG_ERR_IO, "%s: read failed", path);
            goto out;
        }
        if (n == 0)
            break;
        if (dbg_buf_add(&b, chunk, (size_t)n) < 0) {
            dbg_err_set(DBG_ERR_LIMIT, "%s: file is larger than the limit of %zu bytes", path,
                        b.max);
            goto out;
        }
    }
    if (len)
        *len = b.len;
    *out = dbg_buf_steal(&b);
    r = *out ? 0 : -1;
out:
    dbg_buf_free(&b);
    close(fd);
    return r;
}

int dbg_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", path);
        return -1;
    }
    return read_fd(fd, path, max, out, len);
}

const char *dbg_file_kind(unsigned int st_mode)
{
    return S_ISREG(st_mode)    ? "a regular file"
           : S_ISDIR(st_mode)  ? "a directory"
           : S_ISFIFO(st_mode) ? "a FIFO"
           : S_ISSOCK(st_mode) ? "a socket"
           : S_ISCHR(st_mode)  ? "a character device"
           : S_ISBLK(st_mode)  ? "a block device"
           : S_ISLNK(st_mode)  ? "a symbolic link"
                               : "not a file";
}

/* O_NONBLOCK so that opening a FIFO with no writer returns at once instead of waiting for one
 * (a FIFO in a copied host root hung `dengbao collect` for ever); /dev/null (systemd's mask)
 * reads as empty. */
int dbg_read_regular_file(const char *path, size_t max, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot stat", path);
        close(fd);
        return -1;
    }
    int is_null = S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
    /* a directory fails in read() as it always did: "read failed: Is a directory" */
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !is_null) {
        dbg_err_set(DBG_ERR_IO, "%s: not a regular file (%s)", path, dbg_file_kind(st.st_mode));
        close(fd);
        return -1;
    }
    return read_fd(fd, path, max, out, len);
}

int dbg_write_all(int fd, const void *data, size_t len, const char *what)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            dbg_err_errno(DBG_ERR_IO, "%s: write failed", what);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* An existing path that is not a regular file (/dev/null, /dev/stdout, a FIFO) is written
 * through: renaming over it would replace the device node with a file (a "-o /dev/null" once
 * turned the host's /dev/null into a regular file). */
static int write_through(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", path);
        return -1;
    }
    int r = dbg_write_all(fd, data, len, path);
    if (close(fd) < 0 && r == 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: write failed", path);
        r = -1;
    }
    return r;
}

/* The temporary file next to PATH, created new: O_EXCL refuses any name that exists, a symbolic
 * link included, and the random part keeps its name from being guessed. The fixed
 * "PATH.tmp.PID" opened with O_TRUNC followed a link planted under that name and overwrote the
 * link's target with the output (as root, any file), then renamed the link over PATH. */
static int create_temp_beside(const char *path, char **tmp_out)
{
    *tmp_out = NULL;
    if (!*path) {
        dbg_err_set(DBG_ERR_IO, "cannot write a file with an empty name");
        return -1;
    }
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t rnd;
        if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
            dbg_err_errno(DBG_ERR_IO, "%s: no random name for the temporary file", path);
            return -1;
        }
        char *tmp = dbg_asprintf("%s.tmp.%016llx", path, (unsigned long long)rnd);
        if (!tmp)
            return -1;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0) {
            *tmp_out = tmp;
            return fd;
        }
        if (errno != EEXIST) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot write: cannot create its temporary file %s", path,
                          tmp);
            free(tmp);
            return -1;
        }
        free(tmp);
    }
    dbg_err_set(DBG_ERR_IO,
                "%s: cannot create a temporary file beside it (every name tried exists)", path);
    return -1;
}

int dbg_write_file_atomic(const char *path, const void *data, size_t len)
{
    struct stat st;
    int replaces = stat(path, &st) == 0;
    if (replaces && S_ISDIR(st.st_mode)) { /* else found only at the rename */
        dbg_err_set(DBG_ERR_IO, "%s: cannot write: is a directory", path);
        return -1;
    }
    if (replaces && !S_ISREG(st.st_mode))
        return write_through(path, data, len);
    int r = -1;
    char *tmp = NULL;
    int fd = create_temp_beside(path, &tmp);
    if (fd < 0)
        return -1;
    /* A file replaced keeps its mode (and, written by root, its owner), as a write in place
     * would: a result the user had made 0600 came back 0644, readable by everyone. */
    if (replaces && ((geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) < 0) ||
                     fchmod(fd, st.st_mode & 07777) < 0)) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot give %s the mode and owner of the file it replaces",
                      path, tmp);
        goto out;
    }
    if (dbg_write_all(fd, data, len, tmp) < 0)
        goto out;
    if (fsync(fd) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: fsync failed", tmp);
        goto out;
    }
    if (rename(tmp, path) < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot rename to %s", tmp, path);
        goto out;
    }
    r = 0;
out:
    close(fd);
    if (r < 0)
        unlink(tmp);
    free(tmp);
    return r;
}

int dbg_mkdir_p(const char *path, unsigned mode)
{
    DBG_AUTOFREE char *copy = dbg_strdup(path);
    if (!copy)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) < 0 && errno != EEXIST) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot create directory", copy);
            return -1;
        }
        *p = '/';
    }
    if (mkdir(copy, mode) < 0 && errno != EEXIST) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot create directory", copy);
        return -1;
    }
    return 0;
}

int dbg_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *dbg_path_join(const char *a, const char *b)
{
    if (!a || !*a || b[0] == '/')
        return dbg_strdup(b);
    size_t la = strlen(a);
    return dbg_asprintf("%s%s%s", a, a[la - 1] == '/' ? "" : "/", b);
}

/* Resolution of a host's path inside a copy of its root (--host-root): what chroot or openat2's
 * RESOLVE_IN_ROOT do, without either (a copy is read as any user, and the kernel need not have
 * openat2). A copied /etc keeps the host's absolute links (RHEL's /etc/pam.d/system-auth ->
 * /etc/authselect/system-auth, alternatives, systemd's units): followed by the kernel from the
 * copy they would name this machine's files, whose settings would then be judged as the host's. */
#define IN_ROOT_MAX_LINKS 40

int dbg_path_in_root(const char *root, const char *path, int follow_last, char **out)
{
    *out = NULL;
    size_t rlen = strlen(root);
    while (rlen > 0 && root[rlen - 1] == '/')
        rlen--;
    dbg_buf res;
    dbg_buf_init(&res, 0);
    char *todo = dbg_strdup(path);
    char target[4096];
    int links = 0, err = 0;
    if (!todo || dbg_buf_add(&res, root, rlen) != 0)
        goto nomem;
    for (const char *p = todo;;) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        if (!end)
            end = p + strlen(p);
        size_t clen = (size_t)(end - p);
        if (clen == 1 && p[0] == '.') {
            p = end;
            continue;
        }
        if (clen == 2 && p[0] == '.' && p[1] == '.') { /* never above the root */
            while (res.len > rlen && res.data[res.len - 1] != '/')
                res.len--;
            if (res.len > rlen)
                res.len--;
            res.data[res.len] = '\0';
            p = end;
            continue;
        }
        size_t mark = res.len;
        if (dbg_buf_adds(&res, "/") != 0 || dbg_buf_add(&res, p, clen) != 0)
            goto nomem;
        const char *rest = end;
        while (*rest == '/')
            rest++;
        struct stat st;
        if (!*rest && !follow_last) {
            p = end;
            continue;
        }
        if (lstat(res.data, &st) != 0) {
            /* absent or not to be looked at: the rest as written, so that opening the result
             * fails as the host's path would */
            if (dbg_buf_add(&res, end, strlen(end)) != 0)
                goto nomem;
            break;
        }
        if (!S_ISLNK(st.st_mode)) {
            p = end;
            continue;
        }
        if (++links > IN_ROOT_MAX_LINKS) {
            err = ELOOP;
            goto fail;
        }
        ssize_t tl = readlink(res.data, target, sizeof(target));
        if (tl < 0 || (size_t)tl >= sizeof(target)) {
            err = tl < 0 ? errno : ENAMETOOLONG;
            goto fail;
        }
        target[tl] = '\0';
        res.len = mark;
        res.data[res.len] = '\0';
        if (!strcmp(target, "/dev/null")) {
            /* systemd's mask: the device, which no copy holds and which is empty everywhere */
            dbg_buf_reset(&res);
            if (dbg_buf_adds(&res, "/dev/null") != 0 || dbg_buf_add(&res, end, strlen(end)) != 0)
                goto nomem;
            break;
        }
        if (target[0] == '/') {
            res.len = rlen;
            res.data[res.len] = '\0';
        }
        char *next = dbg_asprintf("%s%s", target, end);
        if (!next)
            goto nomem;
        free(todo);
        todo = next;
        p = todo;
    }
    if (res.len == 0 && dbg_buf_adds(&res, "/") != 0)
        goto nomem;
    free(todo);
    *out = dbg_buf_steal(&res);
    return 0;
nomem:
    err = ENOMEM;
fail:
    free(todo);
    dbg_buf_free(&res);
    errno = err;
    return -1;
}

int dbg_file_follow_rotation(FILE **f, const char *path, int *reopen_failed, const char *what)
{
    struct stat open_st, path_st;
    if (fstat(fileno(*f), &open_st) != 0)
        return 0;
    if (stat(path, &path_st) == 0 && path_st.st_ino == open_st.st_ino &&
        path_st.st_dev == open_st.st_dev)
        return 0;
    /* the new file is opened as the old one was: a reader of its own lines keeps reading */
    int rw = (fcntl(fileno(*f), F_GETFL) & O_ACCMODE) == O_RDWR;
    FILE *nf = fopen(path, rw ? "a+e" : "ae");
    if (!nf) {
        if (!*reopen_failed)
            dbg_warn("%s: rotated away and cannot be opened again (%s): %s go on into the old "
                     "file", path, strerror(errno), what);
        *reopen_failed = 1;
        return 0;
    }
    fclose(*f);
    *f = nf;
    *reopen_failed = 0;
    return 1;
}
