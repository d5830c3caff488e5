/* Whole-file reads with a size limit, atomic writes, directories and paths. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/util.h"

int dbg_read_file(const char *path, size_t max, char **out, size_t *len)
{
    int r = -1;
    dbg_buf b;
    dbg_buf_init(&b, max);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", path);
        return -1;
    }
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

int dbg_write_file_atomic(const char *path, const void *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
        return write_through(path, data, len);
    int r = -1;
    DBG_AUTOFREE char *tmp = dbg_asprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot create", tmp);
        return -1;
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
