/* One error type for all of libdengbao: a code plus a message naming what and where.
 * An error is reported once, where it happens (dbg_err_set); callers only return -1/NULL
 * and the top level prints dbg_err_last(). The slot is thread-local. */
#ifndef DENGBAO_ERROR_H
#define DENGBAO_ERROR_H

typedef enum {
    DBG_OK = 0,
    DBG_ERR_NOMEM,
    DBG_ERR_IO,          /* open/read/write/fsync failed */
    DBG_ERR_PARSE,       /* malformed input: YAML, JSON, XML, packet, qcow2 ... */
    DBG_ERR_INVALID,     /* well-formed but semantically wrong input */
    DBG_ERR_NOTFOUND,
    DBG_ERR_LIBVIRT,
    DBG_ERR_CRYPTO,
    DBG_ERR_USAGE,       /* bad command-line arguments */
    DBG_ERR_VERIFY,      /* a verification (signature, hash, proof) did not hold */
    DBG_ERR_DB,          /* SQLite / PostgreSQL */
    DBG_ERR_NET,
    DBG_ERR_DENIED,      /* authorization refused */
    DBG_ERR_UNSUPPORTED,
    DBG_ERR_LIMIT,       /* a size or count limit on untrusted input was exceeded */
    DBG_ERR_INTERNAL,
    DBG_ERR__COUNT
} dbg_errcode;

typedef struct {
    dbg_errcode code;
    const char *src_file; /* where in dengbao's source it was raised */
    const char *src_func;
    int src_line;
    char msg[1024];       /* names the input and position, e.g. "catalog.yaml:41:3: level 6 is not 1..4" */
} dbg_err;

void dbg_err_set_full(dbg_errcode code, const char *file, const char *func, int line,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define dbg_err_set(code, ...) dbg_err_set_full((code), __FILE__, __func__, __LINE__, __VA_ARGS__)
/* errno-flavoured helper: appends ": strerror(errno)". */
#define dbg_err_errno(code, ...) dbg_err_set_errno_full((code), __FILE__, __func__, __LINE__, __VA_ARGS__)
void dbg_err_set_errno_full(dbg_errcode code, const char *file, const char *func, int line,
                            const char *fmt, ...) __attribute__((format(printf, 5, 6)));

const dbg_err *dbg_err_last(void);  /* never NULL; code DBG_OK when none */
dbg_errcode dbg_err_code(void);
const char *dbg_err_msg(void);
void dbg_err_clear(void);
const char *dbg_strerror(dbg_errcode code);

#endif
