/* Checked allocation: every failure is reported once as DBG_ERR_NOMEM. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"

void *dbg_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        dbg_err_set(DBG_ERR_NOMEM, "cannot allocate %zu bytes", n);
    return p;
}

void *dbg_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        dbg_err_set(DBG_ERR_NOMEM, "cannot allocate %zu x %zu bytes", count, size);
    return p;
}

void *dbg_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        dbg_err_set(DBG_ERR_NOMEM, "cannot reallocate to %zu bytes", n);
    return q;
}

void *dbg_reallocarray(void *p, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size) {
        dbg_err_set(DBG_ERR_NOMEM, "array of %zu x %zu bytes overflows", count, size);
        return NULL;
    }
    return dbg_realloc(p, count * size);
}

int dbg_grow_array(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : (first ? first : 1);
    while (nc < need) {
        if (nc > SIZE_MAX / 2) {
            dbg_err_set(DBG_ERR_NOMEM, "array of %zu elements overflows", need);
            return -1;
        }
        nc *= 2;
    }
    void *np = dbg_reallocarray(*p, nc, elem);
    if (!np)
        return -1;
    *p = np;
    *cap = nc;
    return 0;
}

char *dbg_strdup(const char *s)
{
    if (!s)
        return NULL;
    return dbg_strndup(s, strlen(s));
}

char *dbg_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *p = dbg_malloc(len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *dbg_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "bad format string '%s'", fmt);
        return NULL;
    }
    char *p = dbg_malloc((size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *dbg_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = dbg_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void dbg_free_secret(void *p, size_t n)
{
    if (!p)
        return;
    explicit_bzero(p, n);
    free(p);
}

void dbg_autofree_cleanup(void *pp)
{
    void **p = pp;
    free(*p);
    *p = NULL;
}

void dbg_autofclose_cleanup(FILE **fp)
{
    if (*fp)
        fclose(*fp);
    *fp = NULL;
}
