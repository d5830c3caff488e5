/* The thread-local error slot behind dbg_err_set / dbg_err_last. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dengbao/error.h"

static _Thread_local dbg_err last_error;

static const char *const error_names[DBG_ERR__COUNT] = {
    [DBG_OK] = "ok",
    [DBG_ERR_NOMEM] = "out of memory",
    [DBG_ERR_IO] = "I/O error",
    [DBG_ERR_PARSE] = "parse error",
    [DBG_ERR_INVALID] = "invalid input",
    [DBG_ERR_NOTFOUND] = "not found",
    [DBG_ERR_LIBVIRT] = "libvirt error",
    [DBG_ERR_CRYPTO] = "cryptography error",
    [DBG_ERR_USAGE] = "usage error",
    [DBG_ERR_VERIFY] = "verification failed",
    [DBG_ERR_DB] = "database error",
    [DBG_ERR_NET] = "network error",
    [DBG_ERR_DENIED] = "permission denied",
    [DBG_ERR_UNSUPPORTED] = "not supported",
    [DBG_ERR_LIMIT] = "limit exceeded",
    [DBG_ERR_INTERNAL] = "internal error",
};

const char *dbg_strerror(dbg_errcode code)
{
    if ((int)code < 0 || code >= DBG_ERR__COUNT)
        return "unknown error";
    return error_names[code];
}

__attribute__((format(printf, 6, 0))) static void set_v(dbg_errcode code, const char *file,
                                                       const char *func, int line,
                                                       const char *suffix, const char *fmt,
                                                       va_list ap)
{
    last_error.code = code;
    last_error.src_file = file;
    last_error.src_func = func;
    last_error.src_line = line;
    int n = vsnprintf(last_error.msg, sizeof(last_error.msg), fmt, ap);
    if (suffix && n >= 0 && (size_t)n < sizeof(last_error.msg))
        snprintf(last_error.msg + n, sizeof(last_error.msg) - (size_t)n, ": %s", suffix);
}

void dbg_err_set_full(dbg_errcode code, const char *file, const char *func, int line,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    set_v(code, file, func, line, NULL, fmt, ap);
    va_end(ap);
}

void dbg_err_set_errno_full(dbg_errcode code, const char *file, const char *func, int line,
                            const char *fmt, ...)
{
    char ebuf[256];
    int saved = errno;
    const char *es = strerror_r(saved, ebuf, sizeof(ebuf));
    va_list ap;
    va_start(ap, fmt);
    set_v(code, file, func, line, es, fmt, ap);
    va_end(ap);
    errno = saved;
}

const dbg_err *dbg_err_last(void) { return &last_error; }
dbg_errcode dbg_err_code(void) { return last_error.code; }
const char *dbg_err_msg(void) { return last_error.code == DBG_OK ? "" : last_error.msg; }
void dbg_err_clear(void) { memset(&last_error, 0, sizeof(last_error)); }
