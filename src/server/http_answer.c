/* HTTP/1.1 answers as the forwarder reads them from `dengbao serve`, or from a collector or a
 * proxy in front of a SIEM: the head (status line, Content-Length, Transfer-Encoding,
 * Connection) after any 1xx interim answers, and a chunked body. Pure functions over the bytes
 * received so far, so the libFuzzer target (fuzz/fuzz_http_answer.c) drives them directly: the
 * heads are read again from their start after each read, the chunked body goes on where it
 * stopped, so an answer split across reads reads the same. They refuse what two readers could
 * take differently (a second, different Content-Length, a length that is no number, a coding
 * other than chunked, chunked beside a length, folded or nameless lines, bare CR or LF, NUL, a
 * chunk size that is no hex number). */
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

/* The status line's start at byte off of the answer, "HTTP/1.x NNN" then SP or CR (the reason
 * phrase is not read): 0 when the bytes so far are a prefix of one, 1 when it is one (a->status
 * set), -1 when it cannot be. */
static int status_line(const char *buf, size_t len, size_t off, dbg_http_answer *a, char *msg,
                       size_t msgsz)
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
            return refuse(msg, msgsz, "status line: byte %zu is not 'HTTP/1.x NNN' (0x%02x)",
                          off + i, c);
    }
    if (len == 12)
        return 0;
    if (buf[12] != ' ' && buf[12] != '\r')
        return refuse(msg, msgsz,
                      "status line: byte %zu after the status code is not SP or CR (0x%02x)",
                      off + 12, (unsigned char)buf[12]);
    a->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    if (a->status < 100 || a->status > 599)
        return refuse(msg, msgsz, "status line at byte %zu: status %d is no answer (100..599)", off,
                      a->status);
    if (a->status == 101)
        return refuse(msg, msgsz,
                      "status line at byte %zu: 101 Switching Protocols to a POST, which asked "
                      "for no protocol switch",
                      off);
    a->version_minor = buf[7] - '0';
    a->close = a->version_minor == 0; /* HTTP/1.0: the connection ends after the answer */
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

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims SP and HTAB from both ends of [*v, *v + *n). */
static void trim_blanks(const char **v, size_t *n)
{
    while (*n && is_blank(**v))
        (*v)++, (*n)--;
    while (*n && is_blank((*v)[*n - 1]))
        (*n)--;
}

/* The form of one field line [p, p+n) (no CRLF) starting at byte off, in a head or a trailer
 * section: *nn its name's length, [*v, *v + *vn) its value with blanks trimmed. */
static int field_split(const char *p, size_t n, uint64_t off, size_t *nn, const char **v,
                       size_t *vn, char *msg, size_t msgsz)
{
    if (n && is_blank(p[0]))
        return refuse(msg, msgsz, "folded field line at byte %llu", (unsigned long long)off);
    size_t k = 0;
    while (k < n && dbg_http_is_tchar((unsigned char)p[k]))
        k++;
    if (k == 0 || k == n || p[k] != ':')
        return refuse(msg, msgsz, "field line at byte %llu is not 'Name: value'",
                      (unsigned long long)off);
    *nn = k;
    *v = p + k + 1;
    *vn = n - k - 1;
    trim_blanks(v, vn);
    for (size_t i = 0; i < *vn; i++) {
        unsigned char c = (unsigned char)(*v)[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return refuse(msg, msgsz, "control byte 0x%02x in a field value at byte %llu", c,
                          (unsigned long long)(off + (uint64_t)(*v + i - p)));
    }
    return 0;
}

/* A Transfer-Encoding value: the codings, comma-separated, must be chunked alone (given over
 * one field or several), the one coding read here. Any other left the body's end unknown. */
static int transfer_codings(const char *v, size_t vn, size_t off, dbg_http_answer *a, char *msg,
                            size_t msgsz)
{
    if (a->version_minor == 0) /* RFC 9112 6.1: its framing is to be taken as faulty */
        return refuse(msg, msgsz, "Transfer-Encoding at byte %zu in an HTTP/1.0 answer", off);
    int named = 0;
    for (size_t i = 0; i <= vn; i++) {
        size_t j = i;
        while (j < vn && v[j] != ',')
            j++;
        const char *e = v + i;
        size_t en = j - i;
        trim_blanks(&e, &en);
        i = j;
        if (!en)
            continue; /* an empty list element (RFC 9110 5.6.1) */
        named = 1;
        if (a->chunked)
            return refuse(msg, msgsz,
                          "Transfer-Encoding at byte %zu: '%.*s' after chunked (the body's end "
                          "would be unknown)",
                          off, (int)(en > 40 ? 40 : en), e);
        if (en != 7 || strncasecmp(e, "chunked", 7) != 0)
            return refuse(msg, msgsz, "Transfer-Encoding '%.*s' at byte %zu: only chunked is read",
                          (int)(en > 40 ? 40 : en), e, off);
        a->chunked = 1;
    }
    if (!named)
        return refuse(msg, msgsz, "Transfer-Encoding at byte %zu names no coding", off);
    return 0;
}

/* One field line [p, p+n) (no CRLF) of a head, starting at byte off of the answer. An interim
 * answer's lines are checked for form only: it ends at its blank line whatever they say. */
static int field_line(const char *p, size_t n, size_t off, dbg_http_answer *a, char *msg,
                      size_t msgsz)
{
    size_t nn, vn;
    const char *v;
    if (field_split(p, n, off, &nn, &v, &vn, msg, msgsz) != 0)
        return -1;
    if (a->status < 200)
        return 0;
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
        if (transfer_codings(v, vn, off, a, msg, msgsz) != 0)
            return -1;
    } else if (nn == 10 && strncasecmp(p, "Connection", 10) == 0) {
        a->close |= dbg_http_connection_lists_close(v, vn);
    }
    if (a->chunked && a->has_length) /* RFC 9112 6.3: a sign of smuggling, not to be guessed at */
        return refuse(msg, msgsz,
                      "Transfer-Encoding chunked and a Content-Length (byte %zu): two framings "
                      "of one body",
                      off);
    return 0;
}

/* One answer head from byte start of buf[0..len): 1 complete (a->head_len its end in buf), 0
 * more bytes needed, -1 refused. */
static int one_head(const char *buf, size_t len, size_t start, dbg_http_answer *a, char *msg,
                    size_t msgsz)
{
    int r = status_line(buf + start, len - start, start, a, msg, msgsz);
    if (r <= 0)
        return r;
    /* every line ends in CRLF; the reason phrase is skipped, the field lines read as they end */
    size_t line = start; /* start of the current line (start: the status line) */
    for (size_t i = start + 12; i < len; i++) {
        if (i - start >= DBG_HTTP_HEAD_MAX)
            return refuse(msg, msgsz, "answer head over %u bytes (from byte %zu)",
                          DBG_HTTP_HEAD_MAX, start);
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
        if (line > start && i == line) { /* the blank line: the head is complete */
            a->head_len = i + 2;
            return 1;
        }
        if (line > start && field_line(buf + line, i - line, line, a, msg, msgsz) != 0)
            return -1;
        line = ++i + 1;
    }
    return 0;
}

int dbg_http_parse_answer(const char *buf, size_t len, dbg_http_answer *a, char *msg, size_t msgsz)
{
    memset(a, 0, sizeof(*a));
    if (msgsz)
        msg[0] = 0;
    /* 1xx answers (100 Continue, 103 Early Hints from a proxy) come before the final one and
     * have no body (RFC 9110 15.2): each is skipped once its head is complete */
    size_t start = 0;
    for (unsigned interim = 0;; interim++) {
        int r = one_head(buf, len, start, a, msg, msgsz);
        if (r <= 0)
            return r;
        if (a->status >= 200) {
            a->interim = interim;
            return 1;
        }
        if (interim == DBG_HTTP_INTERIM_MAX)
            return refuse(msg, msgsz,
                          "more than %u interim (1xx) answers before the final one (byte %zu)",
                          DBG_HTTP_INTERIM_MAX, start);
        start = a->head_len;
        memset(a, 0, sizeof(*a));
    }
}

/* ---- chunked bodies (RFC 9112 7.1) ---- */

enum { CHUNK_SIZE, CHUNK_DATA, CHUNK_DATA_END, CHUNK_TRAILER, CHUNK_DONE };

static int is_hex(unsigned char c, unsigned *d)
{
    if (c >= '0' && c <= '9')
        *d = c - '0';
    else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        *d = (c | 0x20) - 'a' + 10;
    else
        return 0;
    return 1;
}

/* A chunk extension's quoted value at p[*i] (the opening quote): qdtext and quoted-pairs up to
 * the closing quote (RFC 9110 5.6.4). */
static int quoted_value(const char *p, size_t n, size_t *i, uint64_t off, char *msg, size_t msgsz)
{
    size_t k = *i + 1;
    for (; k < n && p[k] != '"'; k++) {
        unsigned char c = (unsigned char)p[k];
        if (c == '\\' && ++k == n)
            break; /* a quoted-pair cut by the line's end */
        if (c == '\\')
            c = (unsigned char)p[k]; /* a quoted-pair: any of HTAB, SP, VCHAR, obs-text */
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return refuse(msg, msgsz, "control byte 0x%02x in a chunk extension at byte %llu", c,
                          (unsigned long long)(off + k));
    }
    if (k == n)
        return refuse(msg, msgsz, "chunk extension value at byte %llu has no closing quote",
                      (unsigned long long)(off + *i));
    *i = k + 1;
    return 0;
}

/* The chunk-size line [p, p+n) at byte off of the body: hex digits, then extensions
 * (BWS ";" BWS name [BWS "=" BWS (token / quoted-string)]), read and ignored. */
static int chunk_size_line(const char *p, size_t n, uint64_t off, uint64_t *size, char *msg,
                           size_t msgsz)
{
    size_t i = 0;
    uint64_t x = 0;
    unsigned d;
    for (; i < n && is_hex((unsigned char)p[i], &d); i++) {
        if (x > UINT64_MAX >> 4)
            return refuse(msg, msgsz, "chunk size at byte %llu does not fit 64 bits",
                          (unsigned long long)off);
        x = x << 4 | d;
    }
    if (i == 0)
        return refuse(msg, msgsz, "chunk size line at byte %llu does not start with a hex size%s",
                      (unsigned long long)off, n ? "" : " (an empty line)");
    for (;;) {
        while (i < n && is_blank(p[i]))
            i++;
        if (i == n)
            break;
        if (p[i] != ';')
            return refuse(msg, msgsz,
                          "chunk size line at byte %llu: byte %llu is no ';' starting an "
                          "extension (0x%02x)",
                          (unsigned long long)off, (unsigned long long)(off + i),
                          (unsigned char)p[i]);
        for (i++; i < n && is_blank(p[i]);)
            i++;
        size_t name = i;
        while (i < n && dbg_http_is_tchar((unsigned char)p[i]))
            i++;
        if (i == name)
            return refuse(msg, msgsz, "chunk extension at byte %llu has no name",
                          (unsigned long long)(off + name));
        while (i < n && is_blank(p[i]))
            i++;
        if (i == n || p[i] != '=')
            continue;
        for (i++; i < n && is_blank(p[i]);)
            i++;
        size_t value = i;
        if (i < n && p[i] == '"') {
            if (quoted_value(p, n, &i, off, msg, msgsz) != 0)
                return -1;
            continue;
        }
        while (i < n && dbg_http_is_tchar((unsigned char)p[i]))
            i++;
        if (i == value)
            return refuse(msg, msgsz, "chunk extension at byte %llu has an empty value",
                          (unsigned long long)(off + name));
    }
    *size = x;
    return 0;
}

/* A complete line of the body (its CRLF taken off): a chunk size, the end of a chunk's data, a
 * trailer field or the blank line that ends the body. */
static int chunk_line(dbg_http_chunked *c, char *msg, size_t msgsz)
{
    const char *p = c->line;
    size_t n = c->line_len;
    uint64_t off = c->line_start;
    if (c->state == CHUNK_DATA_END) {
        c->state = CHUNK_SIZE;
        return 0;
    }
    if (c->state == CHUNK_TRAILER) {
        size_t nn, vn;
        const char *v;
        if (n == 0)
            c->state = CHUNK_DONE;
        return n ? field_split(p, n, off, &nn, &v, &vn, msg, msgsz) : 0;
    }
    uint64_t size = 0;
    if (chunk_size_line(p, n, off, &size, msg, msgsz) != 0)
        return -1;
    if (c->max && size > c->max - c->data)
        return refuse(
            msg, msgsz, "chunk of %llu bytes at byte %llu: the body would be over %llu bytes",
            (unsigned long long)size, (unsigned long long)off, (unsigned long long)c->max);
    c->left = size;
    c->state = size ? CHUNK_DATA : CHUNK_TRAILER;
    return 0;
}

/* One framing byte b at byte off of the body: into the current line, or its end. */
static int chunk_byte(dbg_http_chunked *c, unsigned char b, uint64_t off, char *msg, size_t msgsz)
{
    if (off - c->data >= DBG_HTTP_CHUNK_FRAMING_MAX)
        return refuse(msg, msgsz,
                      "chunked body: its framing (sizes, extensions, trailers) is over %u bytes "
                      "at byte %llu",
                      DBG_HTTP_CHUNK_FRAMING_MAX, (unsigned long long)off);
    if (c->line_len && c->line[c->line_len - 1] == '\r') {
        if (b != '\n')
            return refuse(msg, msgsz, "CR without LF at byte %llu of the chunked body",
                          (unsigned long long)(off - 1));
        c->line_len--;
        int r = chunk_line(c, msg, msgsz);
        c->line_len = 0;
        return r;
    }
    if (b == '\n')
        return refuse(msg, msgsz, "LF without CR at byte %llu of the chunked body",
                      (unsigned long long)off);
    if (c->state == CHUNK_DATA_END && b != '\r')
        return refuse(msg, msgsz,
                      "chunk data is not followed by CRLF: byte %llu of the chunked body is 0x%02x",
                      (unsigned long long)off, b);
    if (b == 0)
        return refuse(msg, msgsz, "NUL at byte %llu of the chunked body", (unsigned long long)off);
    if (c->line_len == sizeof(c->line))
        return refuse(msg, msgsz, "line at byte %llu of the chunked body is over %u bytes",
                      (unsigned long long)c->line_start, DBG_HTTP_CHUNK_LINE_MAX);
    if (!c->line_len)
        c->line_start = off;
    c->line[c->line_len++] = (char)b;
    return 0;
}

int dbg_http_chunked_read(dbg_http_chunked *c, const char *in, size_t n, size_t *used, dbg_buf *out,
                          char *msg, size_t msgsz)
{
    size_t i = 0;
    *used = 0;
    if (msgsz)
        msg[0] = 0;
    while (i < n && c->state != CHUNK_DONE) {
        if (c->state == CHUNK_DATA) {
            size_t take = n - i < c->left ? n - i : (size_t)c->left;
            if (out && dbg_buf_add(out, in + i, take) != 0)
                return refuse(msg, msgsz, "chunk data at byte %llu: %s", (unsigned long long)c->off,
                              dbg_err_msg());
            c->left -= take;
            c->data += take;
            c->off += take;
            i += take;
            if (!c->left)
                c->state = CHUNK_DATA_END;
            continue;
        }
        if (chunk_byte(c, (unsigned char)in[i], c->off, msg, msgsz) != 0)
            return -1;
        c->off++;
        i++;
    }
    *used = i;
    return c->state == CHUNK_DONE;
}
