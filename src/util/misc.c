/* Time, hex, UTF-8, strict number parsing, logging and the data directory. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/util.h"

int64_t dbg_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t dbg_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void dbg_time_rfc3339(int64_t us, char *buf, size_t size)
{
    time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
    long frac = (long)(us - (int64_t)secs * 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* 1 when p starts with n digits. Stops at the first non-digit, so never reads past a NUL. */
static int digits_at(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)p[i]))
            return 0;
    return 1;
}

/* The value of the two digits at p, or -1. */
static int two_digits(const char *p)
{
    return digits_at(p, 2) ? (p[0] - '0') * 10 + (p[1] - '0') : -1;
}

/* zoneless_utc: a time without Z or an offset is taken as UTC (else refused); offset_no_colon:
 * +0800 is taken as +08:00. */
static int parse_time(const char *s, int zoneless_utc, int offset_no_colon, int64_t *us)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    /* RFC 3339 fields have fixed widths; strptime alone also takes "2026-1-2T3:4:5" and blanks */
    int date_ok =
        digits_at(s, 4) && s[4] == '-' && digits_at(s + 5, 2) && s[7] == '-' && digits_at(s + 8, 2);
    int time_ok = date_ok && s[10] == 'T' && digits_at(s + 11, 2) && s[13] == ':' &&
                  digits_at(s + 14, 2) && s[16] == ':' && digits_at(s + 17, 2);
    const char *p = time_ok ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!p) {
        memset(&tm, 0, sizeof(tm));
        p = date_ok && !s[10] ? strptime(s, "%Y-%m-%d", &tm) : NULL;
        if (!p || *p) {
            dbg_err_set(DBG_ERR_PARSE, "'%s' is not an RFC 3339 time (2026-01-02T03:04:05Z)", s);
            return -1;
        }
    }
    /* strptime takes any day up to 31 and timegm would carry "02-30" into March */
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = tm.tm_year + 1900;
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    if (tm.tm_sec > 60) { /* glibc's %S takes 61; RFC 3339 stops at a leap second's 60 */
        dbg_err_set(DBG_ERR_PARSE, "'%s': second %d is out of range (00-60)", s, tm.tm_sec);
        return -1;
    }
    if (tm.tm_mday > month_days[tm.tm_mon] + (tm.tm_mon == 1 && leap)) {
        dbg_err_set(DBG_ERR_PARSE, "'%s': day %d does not exist in %04d-%02d", s, tm.tm_mday, year,
                    tm.tm_mon + 1);
        return -1;
    }
    long frac = 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p)) {
            dbg_err_set(DBG_ERR_PARSE, "'%s': no digits after the decimal point", s);
            return -1;
        }
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 6) {
                frac = frac * 10 + (*p - '0');
                digits++;
            }
            p++;
        }
        while (digits++ < 6)
            frac *= 10;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh = two_digits(p + 1); /* p[3] is read only after two digits: not past a NUL */
        int colon = hh >= 0 && (p[3] == ':' || !offset_no_colon);
        int mm = hh < 0 ? -1 : colon ? (p[3] == ':' ? two_digits(p + 4) : -1) : two_digits(p + 3);
        if (hh < 0 || hh > 23 || mm < 0 || mm > 59) {
            dbg_err_set(DBG_ERR_PARSE, "'%s': bad UTC offset (want +HH:MM or -HH:MM)", s);
            return -1;
        }
        offset = sign * (hh * 3600L + mm * 60L);
        p += colon ? 6 : 5;
    } else if (time_ok && !*p && !zoneless_utc) {
        /* Taken as UTC, a local time typed in Beijing (UTC+8) was 8 hours off without a word */
        dbg_err_set(DBG_ERR_PARSE,
                    "'%s' has no UTC offset: add Z for UTC or +08:00 for Beijing time "
                    "(%.19s+08:00)",
                    s, s);
        return -1;
    }
    if (*p) {
        dbg_err_set(DBG_ERR_PARSE, "'%s' has trailing characters after the time", s);
        return -1;
    }
    /* 9999-12-31T23:59:59-23:59 is in year 10000 in UTC: dbg_time_rfc3339 writes five digits
     * there (and a sign before year 0) that no reader takes back, so a saved scan's time read
     * as 1970 (found by fuzz_malware_findings) */
    int64_t secs = (int64_t)timegm(&tm) - offset;
    if (secs < DBG_TIME_FIRST_S || secs > DBG_TIME_LAST_S) {
        dbg_err_set(DBG_ERR_PARSE, "'%s' is outside 0000-01-01T00:00:00Z..9999-12-31T23:59:59Z", s);
        return -1;
    }
    *us = secs * 1000000 + frac;
    return 0;
}

int dbg_time_parse_rfc3339(const char *s, int64_t *us)
{
    return parse_time(s, 0, 0, us);
}

int dbg_time_parse_eve(const char *s, int64_t *us)
{
    return parse_time(s, 1, 1, us);
}

void dbg_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int dbg_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int dbg_hex_decode(const char *in, uint8_t *out, size_t outlen)
{
    if (strlen(in) != outlen * 2)
        return -1;
    for (size_t i = 0; i < outlen; i++) {
        int hi = dbg_hex_value(in[2 * i]), lo = dbg_hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int dbg_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        size_t n;
        unsigned min;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

int dbg_streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

int dbg_tenant_reserved(const char *tenant)
{
    return tenant && strcmp(tenant, DBG_TENANT_RESERVED_ID) == 0;
}

/* Length of the decimal number at the start of s ([-+]digits, with fraction: [-+] then digits
 * with an optional '.' and more digits, or '.' and digits, then an optional [eE][-+]digits, as
 * YAML 1.2's core schema writes them), 0 when s does not start with one. strtod alone also reads
 * "0x1p3", "inf", "nan" and skips leading blanks, and strtol leading blanks: a threshold
 * `0x10` was silently 16. */
static size_t decimal_span(const char *s, int fraction)
{
    size_t i = (*s == '-' || *s == '+'), digits = 0;
    for (; isdigit((unsigned char)s[i]); i++)
        digits++;
    if (fraction && s[i] == '.')
        for (i++; isdigit((unsigned char)s[i]); i++)
            digits++;
    if (!digits)
        return 0;
    if (fraction && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = i + 1 + (s[i + 1] == '-' || s[i + 1] == '+');
        if (!isdigit((unsigned char)s[e]))
            return 0;
        for (i = e; isdigit((unsigned char)s[i]); i++)
            ;
    }
    return i;
}

int dbg_parse_long(const char *s, long min, long max, long *out)
{
    if (!s || !*s) {
        dbg_err_set(DBG_ERR_INVALID, "empty number");
        return -1;
    }
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (decimal_span(s, 0) != strlen(s) || errno || *end || v < min || v > max) {
        dbg_err_set(DBG_ERR_INVALID, "'%s' is not a whole number in %ld..%ld", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

int dbg_parse_double(const char *s, double min, double max, double *out)
{
    if (!s || !*s) {
        dbg_err_set(DBG_ERR_INVALID, "empty number");
        return -1;
    }
    char *end = (char *)s;
    double v = 0;
    errno = 0;
    if (decimal_span(s, 1) == strlen(s))
        v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < min || v > max) {
        dbg_err_set(DBG_ERR_INVALID, "'%.64s' is not a decimal number in %g..%g", s, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

char *dbg_strip(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static dbg_log_level log_threshold(void)
{
    const char *e = getenv("DENGBAO_LOG");
    if (!e)
        return DBG_LOG_WARN;
    if (!strcmp(e, "debug"))
        return DBG_LOG_DEBUG;
    if (!strcmp(e, "info"))
        return DBG_LOG_INFO;
    if (!strcmp(e, "error"))
        return DBG_LOG_ERROR;
    return DBG_LOG_WARN;
}

void dbg_log(dbg_log_level lvl, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warning", "error"};
    if (lvl < log_threshold())
        return;
    char ts[40];
    dbg_time_rfc3339(dbg_now_us(), ts, sizeof(ts));
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s dengbao %s: ", ts, names[lvl]);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* The directory this process's binary is in (newly allocated); NULL when /proc cannot say. */
static char *self_dir(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0 || (size_t)n >= sizeof(buf) - 1)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (!slash)
        return NULL;
    slash[slash == buf ? 1 : 0] = '\0';
    return dbg_strdup(buf);
}

/* dir is top or below it; top is resolved first (the build directory may be reached by a link). */
static int dir_is_under(const char *dir, const char *top)
{
    DBG_AUTOFREE char *real = realpath(top, NULL);
    if (!real)
        return 0;
    size_t n = strlen(real);
    return !strncmp(dir, real, n) && (dir[n] == '\0' || dir[n] == '/' || !strcmp(real, "/"));
}

/* ROOT when dir is ROOT + suffix (suffix absolute; ROOT may be empty), newly allocated. */
static char *strip_suffix_dir(const char *dir, const char *suffix)
{
    size_t ld = strlen(dir), ls = strlen(suffix);
    while (ls > 1 && suffix[ls - 1] == '/')
        ls--;
    if (ld < ls || strncmp(dir + ld - ls, suffix, ls) != 0)
        return NULL;
    return dbg_asprintf("%.*s", (int)(ld - ls), dir);
}

static int holds_catalog(const char *dir)
{
    DBG_AUTOFREE char *cat = dbg_path_join(dir, "catalog");
    struct stat st;
    return cat && stat(cat, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The rule is in include/dengbao/util.h. DBG_BUILD_ROOT, DBG_SOURCE_DATADIR, DBG_INSTALL_BINDIR
 * and DBG_INSTALL_DATADIR come from meson.build. */
char *dbg_datadir_find(const char **how)
{
    const char *e = getenv("DENGBAO_DATADIR");
    const char *unused;
    if (!how)
        how = &unused;
    if (e && *e) {
        *how = "$DENGBAO_DATADIR";
        return dbg_strdup(e);
    }
    DBG_AUTOFREE char *self = self_dir();
    if (self && dir_is_under(self, DBG_BUILD_ROOT)) {
        *how = "the source tree: this binary runs from its build directory";
        if (holds_catalog(DBG_SOURCE_DATADIR))
            return dbg_strdup(DBG_SOURCE_DATADIR);
        dbg_err_set(DBG_ERR_NOTFOUND,
                    "no dengbao data directory: looked in %s (the source tree of the build "
                    "directory %s this binary runs from), which has no catalog/; set "
                    "DENGBAO_DATADIR to a directory that has",
                    DBG_SOURCE_DATADIR, DBG_BUILD_ROOT);
        return NULL;
    }
    DBG_AUTOFREE char *root = self ? strip_suffix_dir(self, DBG_INSTALL_BINDIR) : NULL;
    DBG_AUTOFREE char *beside =
        root && *root ? dbg_asprintf("%s%s", root, DBG_INSTALL_DATADIR) : NULL;
    if (beside && holds_catalog(beside)) {
        *how = "installed: staged or copied with the binary under the same root";
        char *r = beside;
        beside = NULL;
        return r;
    }
    if (holds_catalog(DBG_INSTALL_DATADIR)) {
        *how = "installed";
        return dbg_strdup(DBG_INSTALL_DATADIR);
    }
    dbg_err_set(DBG_ERR_NOTFOUND,
                "no dengbao data directory: looked in %s%s%s (installed), none of which has "
                "catalog/; install dengbao (meson install) or set DENGBAO_DATADIR",
                beside ? beside : "", beside ? " (beside the binary) and " : "",
                DBG_INSTALL_DATADIR);
    return NULL;
}

char *dbg_datadir_join(const char *rel)
{
    DBG_AUTOFREE char *dir = dbg_datadir_find(NULL);
    return dir ? dbg_path_join(dir, rel) : NULL;
}
