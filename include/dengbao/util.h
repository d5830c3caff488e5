/* Small shared helpers: checked allocation, bounded buffers, files, time, hex, logging. */
#ifndef DENGBAO_UTIL_H
#define DENGBAO_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dengbao/error.h"

/* Exit codes of every command (DESIGN.md). */
enum { DBG_EXIT_OK = 0, DBG_EXIT_FINDINGS = 1, DBG_EXIT_USAGE = 2, DBG_EXIT_RUNTIME = 3 };

/* ---- allocation: failures set DBG_ERR_NOMEM and return NULL ---- */
void *dbg_malloc(size_t n);
void *dbg_calloc(size_t count, size_t size);
void *dbg_realloc(void *p, size_t n);
void *dbg_reallocarray(void *p, size_t count, size_t size);
/* Room for need elements of elem bytes in the array *p of capacity *cap, which grows by
 * doubling from first: 0, or -1 with DBG_ERR_NOMEM and *p, *cap unchanged. */
int dbg_grow_array(void **p, size_t *cap, size_t need, size_t elem, size_t first);
char *dbg_strdup(const char *s);               /* NULL in -> NULL out, no error */
char *dbg_strndup(const char *s, size_t n);
char *dbg_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *dbg_vasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
void dbg_free_secret(void *p, size_t n);      /* explicit_bzero then free */

/* __attribute__((cleanup)) helpers so early returns leak nothing (libvirt's g_autofree). */
void dbg_autofree_cleanup(void *pp);
void dbg_autofclose_cleanup(FILE **fp);
#define DBG_AUTOFREE __attribute__((cleanup(dbg_autofree_cleanup)))
#define DBG_AUTOFCLOSE __attribute__((cleanup(dbg_autofclose_cleanup)))

/* ---- growable buffer with a hard limit (curl's dynbuf): untrusted input never grows it past max ---- */
typedef struct {
    char *data;   /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max;   /* 0 = DBG_BUF_DEFAULT_MAX */
} dbg_buf;
#define DBG_BUF_DEFAULT_MAX ((size_t)1 << 30)
void dbg_buf_init(dbg_buf *b, size_t max);
int dbg_buf_add(dbg_buf *b, const void *data, size_t len);
int dbg_buf_adds(dbg_buf *b, const char *s);
/* Appends s (NULL = "") escaped for HTML/XML text and attributes (& < > " '); control
 * characters other than newline and tab, and U+FFFE / U+FFFF, which XML 1.0 forbids even
 * escaped, are dropped. */
int dbg_buf_add_markup(dbg_buf *b, const char *s);
int dbg_buf_printf(dbg_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int dbg_buf_vprintf(dbg_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
char *dbg_buf_steal(dbg_buf *b);  /* returns data ("" if empty) and resets b */
void dbg_buf_reset(dbg_buf *b);
void dbg_buf_free(dbg_buf *b);

/* ---- files ---- */
/* Reads a whole file (at most max bytes, else DBG_ERR_LIMIT). *out is NUL-terminated. */
int dbg_read_file(const char *path, size_t max, char **out, size_t *len);
/* The same for a file that must be a regular one (a host's configuration): a FIFO, socket or
 * device is an error at once, never waited on; /dev/null reads as empty. */
int dbg_read_regular_file(const char *path, size_t max, char **out, size_t *len);
/* What a file of st_mode is, for messages: "a FIFO", "a directory", "a regular file"... */
const char *dbg_file_kind(unsigned int st_mode);
/* After a log rotation (the file renamed or removed, logrotate's default) path names another
 * file or none: opens it again (append) in place of *f, so output goes where readers look, not
 * into the renamed file; 1 when it did. One that cannot be reopened keeps the old file, warned
 * about once (*reopen_failed; `what` names the output: "alerts", "flow records"). */
int dbg_file_follow_rotation(FILE **f, const char *path, int *reopen_failed, const char *what);
/* Writes all of data to fd, retrying on EINTR and short writes; errors name `what`. */
int dbg_write_all(int fd, const void *data, size_t len, const char *what);
/* Writes atomically: a new temp file with a random name in the same directory (O_EXCL, so a
 * link planted there is never followed), fsync, rename. An existing path that is not a regular
 * file or directory (/dev/null, a FIFO) is written through instead. */
int dbg_write_file_atomic(const char *path, const void *data, size_t len);
int dbg_mkdir_p(const char *path, unsigned mode);
int dbg_path_is_dir(const char *path);
char *dbg_path_join(const char *a, const char *b);
/* The host path path (absolute) as a path on this machine under root, a copy of the host's root,
 * each symbolic link on the way resolved as on the host: an absolute target from root, ".."
 * never above it (as chroot); a link to /dev/null (systemd's mask) is /dev/null itself. With
 * follow_last 0 a link at the end stays a link (for lstat). A component that cannot be looked
 * at (absent, no search right) ends the walk with the rest appended as written, so that opening
 * the result fails as on the host. 0 with *out (to free), or -1 with errno: ELOOP (more than 40
 * links), ENAMETOOLONG, ENOMEM (dbg_err set too). */
int dbg_path_in_root(const char *root, const char *path, int follow_last, char **out);

/* ---- privileges ---- */
/* Switches a root process to USER (its uid, gid and groups) for good, keeping only CAP_NET_RAW
 * when keep_net_raw (to open capture handles again); no_new_privs is set. A process already
 * running as USER is left as it is. Must be called while the process has one thread. */
int dbg_drop_privileges(const char *user, int keep_net_raw);

/* ---- time ---- */
int64_t dbg_now_us(void);                       /* wall clock, microseconds since epoch (UTC) */
int64_t dbg_monotonic_us(void);
/* The seconds since the epoch of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times whose
 * four-digit years the parsers below read back (a time outside prints otherwise). */
#define DBG_TIME_FIRST_S (-62167219200LL)
#define DBG_TIME_LAST_S 253402300799LL
/* RFC 3339 UTC with microseconds: 2026-11-25T01:02:03.123456Z (buf >= 32 bytes). */
void dbg_time_rfc3339(int64_t us, char *buf, size_t size);
/* RFC 3339: 2026-11-25T07:30:00Z, 2026-11-25T15:30:00.5+08:00, or a bare date 2026-11-25 (its
 * first moment in UTC). A time without Z or an offset is refused (DBG_ERR_PARSE, saying to add Z
 * or +08:00): taken as UTC, a local time typed in China would be 8 hours off. For what people
 * type or write. */
int dbg_time_parse_rfc3339(const char *s, int64_t *us);
/* The same for timestamps written by other programs (EVE lines: Suricata's
 * 2026-12-07T08:00:00.123456+0000): also an offset without its colon, and a time without a zone
 * taken as UTC, as ingest always did; refusing it would drop the event. */
int dbg_time_parse_eve(const char *s, int64_t *us);

/* ---- encoding ---- */
void dbg_hex_encode(const uint8_t *in, size_t len, char *out); /* out: 2*len+1 */
int dbg_hex_decode(const char *in, uint8_t *out, size_t outlen);  /* exact length, -1 on bad hex */
int dbg_hex_value(char c); /* 0..15, or -1 when c is not a hex digit */
int dbg_utf8_valid(const char *s, size_t len);
/* Length of the valid UTF-8 character at s (1..4, looking at no more than avail bytes), 0 when
 * the bytes there are not one. */
size_t dbg_utf8_seq_len(const char *s, size_t avail);
/* The same, with the character's code point in *cp (set only when the length is not 0). */
size_t dbg_utf8_decode(const char *s, size_t avail, uint32_t *cp);
/* Length of the longest prefix of s, at most max bytes, that does not end inside a character
 * (a character already cut short at the end of s is dropped too). */
size_t dbg_utf8_prefix(const char *s, size_t max);
/* Copy of len bytes of s in which each byte that is not part of a valid character becomes
 * U+FFFD; NULL in -> NULL out. */
char *dbg_utf8_sanitize(const char *s, size_t len);
/* snprintf(dst, size, "%s", src) that cuts only between characters and replaces invalid bytes by
 * U+FFFD, so the copy is always valid UTF-8. NULL src copies "". Returns the length copied. */
size_t dbg_utf8_copy(char *dst, size_t size, const char *src);
/* Drops a UTF-8 character cut off at the end of s, as snprintf leaves one when the buffer is
 * too small: JSON (jansson) refuses the whole string otherwise. */
void dbg_utf8_trim_partial(char *s);
/* For a terminal: s with every C0 control, DEL and C1 control shown as an escape (\n, \x1b,
 * \u009b), so text from a VM, tenant or record name cannot recolour, retitle or clear it, nor
 * start a line of its own; likewise the bidirectional embeddings, overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069) that reorder what is shown and the line and paragraph
 * separators (U+2028, U+2029), as \u202e, and the invisible format characters that would make
 * two names that differ look the same (U+00AD, U+200B..U+200F, U+2060..U+206F, U+FEFF, tag
 * characters, ...), as \u200b or \U000e0041. Escapes are ASCII, so dbg_utf8_columns of the
 * result is what a terminal shows. NULL when s has none (or out of memory: *failed set). */
char *dbg_text_visible(const char *s, int *failed);
/* The code point (U+2028..U+202E, U+2066..U+2069) when s starts with a line or paragraph
 * separator or a bidi embedding, override or isolate; else 0. */
unsigned dbg_utf8_invisible_control(const char *s);
/* 1 for a code point that shows as nothing (zero-width, soft hyphen, BOM, tag characters and
 * the like: the list is in utf8.c), so two strings that look the same can differ. */
int dbg_utf8_invisible_format(uint32_t cp);
/* 1 for a Unicode White_Space code point: ASCII blanks, NBSP, the ideographic space U+3000 a
 * Chinese input method types, the other spaces and line separators. */
int dbg_utf8_space(uint32_t cp);
/* 1 when s holds nothing a reader sees: only spaces (dbg_utf8_space) and invisible formatting
 * (dbg_utf8_invisible_format), or nothing; an invalid byte is something. */
int dbg_utf8_blank(const char *s);
/* Terminal columns s takes: two for an East Asian wide character (财务), one for any other,
 * one per byte of an invalid sequence. For padding tables of names. */
size_t dbg_utf8_columns(const char *s);

/* ---- tenant ids ---- */
/* Without a policy `dengbao serve` names a caller by its certificate's O: O=provider is the
 * provider, any other O that tenant. A tenant with the id "provider" could not be told from the
 * provider there, so where no policy decides by roles (serve without --policy, the store and
 * audit commands, whose output goes to such a serve or to a tenant) the id is refused, with this
 * wording everywhere. */
#define DBG_TENANT_RESERVED_ID "provider"
#define DBG_TENANT_RESERVED_WHY                                                                    \
    "without --policy the tenant id 'provider' is reserved: O=provider is the provider's "         \
    "certificate, so that tenant's people could not be told from the provider (serve a tenant "    \
    "with this id with --policy)"
int dbg_tenant_reserved(const char *tenant); /* 1 for "provider"; NULL-safe */

/* ---- strings ---- */
int dbg_streq(const char *a, const char *b); /* NULL-safe */
/* Decimal only ([-+]digits; no leading blanks, hex, or trailing text), in min..max. */
int dbg_parse_long(const char *s, long min, long max, long *out); /* strict, no atoi */
/* A decimal number ("12", "-0.5", ".5", "1e3") in min..max: no hex ("0x10", "0x1p3"), inf,
 * nan, blanks or trailing text, which strtod takes. Else DBG_ERR_INVALID naming the value. */
int dbg_parse_double(const char *s, double min, double max, double *out);
char *dbg_strip(char *s);

/* ---- logging to stderr; level from DENGBAO_LOG=debug|info|warn|error (default warn) ---- */
typedef enum { DBG_LOG_DEBUG, DBG_LOG_INFO, DBG_LOG_WARN, DBG_LOG_ERROR } dbg_log_level;
void dbg_log(dbg_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define dbg_debug(...) dbg_log(DBG_LOG_DEBUG, __VA_ARGS__)
#define dbg_info(...) dbg_log(DBG_LOG_INFO, __VA_ARGS__)
#define dbg_warn(...) dbg_log(DBG_LOG_WARN, __VA_ARGS__)

/* ---- threads ---- */
/* Online cores, at least 1 and (max > 0) at most max. */
int dbg_online_cores(int max);
/* Runs fn(arg) on n threads, the calling thread being one of them, and waits for all of them.
 * Fewer run when threads cannot be created, so fn must share out its work (an atomic counter).
 * Returns how many ran (at least 1; at most 64). */
int dbg_run_on_threads(void *(*fn)(void *), void *arg, int n);
/* A worker that knows items up to end need no visit (a hole of a sparse image) takes them all
 * at once: moves the shared counter *next (the index of the next item to hand out) up to end
 * unless it is there already. Returns where it stood: the caller took [returned, end) when that
 * is below end, none otherwise (other workers' items stay theirs). */
size_t dbg_claim_upto(atomic_size_t *next, size_t end);

/* The directory shipped data (catalog, grade tables, scoring, rules) is read from, newly
 * allocated; *how (when how is not NULL) says why, as a constant phrase. In this order:
 *  1. $DENGBAO_DATADIR when set and not empty, as given;
 *  2. a binary in its build directory: the source tree's data/ (tests and `make demo`), and
 *     nothing else, so a build never reads an older installed copy;
 *  3. a binary at ROOT$bindir: ROOT$datadir/dengbao, ROOT being a `meson install --destdir`
 *     staging tree or a copy of the installed tree;
 *  4. $prefix/$datadir/dengbao as configured: the installed binary.
 * 2-4 count only with a catalog/ inside. NULL (DBG_ERR_NOTFOUND, naming the places looked in)
 * when none has. */
char *dbg_datadir_find(const char **how);
/* The path of rel inside dbg_datadir_find()'s directory, newly allocated; NULL with its error. */
char *dbg_datadir_join(const char *rel);

#endif
