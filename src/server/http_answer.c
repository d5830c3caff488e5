/* HTTP/1.1 answer heads as the forwarder reads them from `dengbao serve` (or a proxy in front
 * of it): status line, Content-Length, Connection. A pure function over the bytes received so
 * far, so the libFuzzer target (fuzz/fuzz_http_answer.c) drives it directly. It reads the head
 * alone, byte by byte, so a head split across reads reads the same, and refuses what two
 * readers could take differently (a second, different Content-Length, a length that is no
 * number, Transfer-Encoding, folded or nameless lines, bare CR or LF, NUL). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dengbao/server.h"

static int refuse(char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (msgsz)
        vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    return -1;
}

/* The status line's start, "HTTP/1.x NNN" then SP or CR (the reason phrase is not read): 0 when
 * the bytes so far are a prefix of one, 1 when it is one (a->status set), -1 when it cannot be. */
static int status_line(const char *buf, size_t len, dbg_http_answer *a, char *msg, size_t msgsz)
{
    static const char pattern[] = "HTTP/1.V DDD";
    for (size_t i = 0; i < sizeof(pattern) - 1; i++) {
        if (i >= len)
            return 0;
        unsigned char c = (unsigned char)buf[i], want = (unsigned char)pattern[i];
        int ok = want == 'V'   ? c == '0' || c == '1'
                 : want == 'D' ? c >= '0' && c <= '9'
                               : c == want;
        if (!ok)
            return refuse(msg, msgsz, "status line: byte %zu is not 'HTTP/1.x NNN' (0x%02x)", i, c);
    }
    if (len == 12)
        return 0;
    if (buf[12] != ' ' && buf[12] != '\r')
        return refuse(msg, msgsz,
                      "status line: byte 12 after the status code is not SP or CR (0x%02x)",
                      (unsigned char)buf[12]);
    a->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (a->status < 200 || a->status > 599)
        return refuse(msg, msgsz, "status line: status %d is no final answer", a->status);
    a->close = buf[7] == '0'; /* HTTP/1.0: the connection ends after the answer */
    return 1;
}

/* A Content-Length value (blanks trimmed): digits only, below 2^63. */
static int length_value(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        unsigned d = (unsigned)(v[i] - '0');
        if (x > ((uint64_t)INT64_MAX - d) / 10) /* x * 10 + d would reach 2^63 */
            return -1;
        x = x * 10 + d;
    }
    *out = x;
    return 0;
}

/* One field line [p, p+n) (no CRLF), starting at byte off of the answer. */
static int field_line(const char *p, size_t n, size_t off, dbg_http_answer *a, char *msg,
                      size_t msgsz)
{
    if (p[0] == ' ' || p[0] == '\t')
        return refuse(msg, msgsz, "folded field line at byte %zu", off);
    size_t nn = 0;
    while (nn < n && dbg_http_is_tchar((unsigned char)p[nn]))
        nn++;
    if (nn == 0 || nn == n || p[nn] != ':')
        return refuse(msg, msgsz, "field line at byte %zu is not 'Name: value'", off);
    const char *v = p + nn + 1;
    size_t vn = n - nn - 1;
    while (vn && (*v == ' ' || *v == '\t'))
        v++, vn--;
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
        vn--;
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return refuse(msg, msgsz, "control byte 0x%02x in a field value at byte %zu", c,
                          off + (size_t)(v + i - p));
    }
    if (nn == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
        uint64_t x;
        if (length_value(v, vn, &x) != 0)
            return refuse(msg, msgsz,
                          "Content-Length '%.*s' at byte %zu is not a length (digits, below 2^63)",
                          (int)(vn > 40 ? 40 : vn), v, off);
        if (a->has_length && x != a->content_length)
            return refuse(msg, msgsz, "two Content-Length values, %llu and %llu",
                          (unsigned long long)a->content_length, (unsigned long long)x);
        a->has_length = 1;
        a->content_length = x;
    } else if (nn == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
        return refuse(msg, msgsz,
                      "Transfer-Encoding at byte %zu: only Content-Length bodies "
                      "are read",
                      off);
    } else if (nn == 10 && strncasecmp(p, "Connection", 10) == 0) {
        a->close |= dbg_http_connection_lists_close(v, vn);
    }
    return 0;
}

int dbg_http_parse_answer(const char *buf, size_t len, dbg_http_answer *a, char *msg, size_t msgsz)
{
    memset(a, 0, sizeof(*a));
    if (msgsz)
        msg[0] = 0;
    int r = status_line(buf, len, a, msg, msgsz);
    if (r <= 0)
        return r;
    /* every line ends in CRLF; the reason phrase is skipped, the field lines read as they end */
    size_t line = 0; /* start of the current line */
    for (size_t i = 12; i < len; i++) {
        if (i >= DBG_HTTP_HEAD_MAX)
            return refuse(msg, msgsz, "answer head over %u bytes", DBG_HTTP_HEAD_MAX);
        unsigned char c = (unsigned char)buf[i];
        if (c == 0)
            return refuse(msg, msgsz, "NUL in the answer head at byte %zu", i);
        if (c == '\n')
            return refuse(msg, msgsz, "LF without CR at byte %zu", i);
        if (c != '\r')
            continue;
        if (i + 1 == len)
            return 0;
        if (buf[i + 1] != '\n')
            return refuse(msg, msgsz, "CR without LF at byte %zu", i);
        if (line > 0 && i == line) { /* the blank line: the head is complete */
            a->head_len = i + 2;
            return 1;
        }
        if (line > 0 && field_line(buf + line, i - line, line, a, msg, msgsz) != 0)
            return -1;
        line = ++i + 1;
    }
    return 0;
}
