/* HTTP/1.1 request heads for `dengbao serve`: request line, headers, Content-Length. Pure
 * functions over bytes a client sent, so the libFuzzer target (fuzz/fuzz_http.c) drives them
 * directly. Strict where leniency lets two parsers disagree (request smuggling): one
 * Content-Length, no Transfer-Encoding, no folded headers, no blanks before the colon. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/server.h"
#include "dengbao/util.h"

#define TARGET_MAX 8192
#define QUERY_PART_MAX 1024

const char *dbg_http_status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

int dbg_http_is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int fail(int *status, int code, char *msg, size_t msgsz, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(int *status, int code, char *msg, size_t msgsz, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msgsz, fmt, ap);
    va_end(ap);
    *status = code;
    return -1;
}

/* Where the head ends: the byte after the empty line (CRLF CRLF, or bare LF LF, which RFC 9112
 * lets a recipient accept), or 0 when not seen yet. */
static size_t head_end(const char *buf, size_t len)
{
    size_t line_start = 0;
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        size_t l = i - line_start;
        if (l == 0 || (l == 1 && buf[line_start] == '\r'))
            return line_start == 0 ? (size_t)-1 : i + 1; /* -1: empty request line */
        line_start = i + 1;
    }
    return 0;
}

/* Cuts the next line at *pos (NUL-terminates it in place, drops a trailing CR). */
static char *next_line(char *head, size_t head_len, size_t *pos)
{
    char *start = head + *pos;
    char *nl = memchr(start, '\n', head_len - *pos);
    if (!nl)
        return NULL;
    *nl = 0;
    if (nl > start && nl[-1] == '\r')
        nl[-1] = 0;
    *pos = (size_t)(nl - head) + 1;
    return start;
}

static int parse_request_line(char *line, dbg_http_request *req, int *status, char *msg,
                              size_t msgsz)
{
    char *sp1 = strchr(line, ' ');
    if (!sp1)
        return fail(status, 400, msg, msgsz, "request line: expected 'METHOD TARGET HTTP/1.1'");
    *sp1 = 0;
    size_t mlen = strlen(line);
    if (mlen == 0 || mlen > 15)
        return fail(status, 400, msg, msgsz, "request line: bad method length %zu", mlen);
    for (size_t i = 0; i < mlen; i++)
        if (!dbg_http_is_tchar((unsigned char)line[i]))
            return fail(status, 400, msg, msgsz, "request line: bad character 0x%02x in the method",
                        (unsigned char)line[i]);
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2)
        return fail(status, 400, msg, msgsz, "request line: no HTTP version after the target");
    *sp2 = 0;
    char *version = sp2 + 1;
    size_t tlen = strlen(target);
    if (tlen == 0 || target[0] != '/')
        return fail(status, 400, msg, msgsz, "request line: the target must start with '/'");
    if (tlen > TARGET_MAX)
        return fail(status, 431, msg, msgsz, "request line: target longer than %d bytes",
                    TARGET_MAX);
    for (size_t i = 0; i < tlen; i++) {
        unsigned char c = (unsigned char)target[i];
        if (c <= 0x20 || c >= 0x7f)
            return fail(
                status, 400, msg, msgsz,
                "request line: byte 0x%02x at target offset %zu (not a visible ASCII character)", c,
                i);
    }
    if (strncmp(version, "HTTP/", 5) != 0 || strlen(version) != 8 || version[6] != '.' ||
        version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9')
        return fail(status, 400, msg, msgsz, "request line: bad HTTP version '%.20s'", version);
    if (version[5] != '1')
        return fail(status, 505, msg, msgsz, "HTTP version %.8s not supported (HTTP/1.x only)",
                    version);
    req->method = line;
    req->target = target;
    req->version_minor = version[7] - '0';
    return 0;
}

static int parse_content_length(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 19)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

static int parse_header_line(char *line, unsigned lineno, dbg_http_request *req, int *status,
                             char *msg, size_t msgsz)
{
    if (line[0] == ' ' || line[0] == '\t')
        return fail(status, 400, msg, msgsz, "header line %u: folded (obsolete) continuation line",
                    lineno);
    char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return fail(status, 400, msg, msgsz, "header line %u: no 'Name:' before the value", lineno);
    for (char *p = line; p < colon; p++)
        if (!dbg_http_is_tchar((unsigned char)*p))
            return fail(status, 400, msg, msgsz, "header line %u: byte 0x%02x in the field name",
                        lineno, (unsigned char)*p);
    *colon = 0;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t vl = strlen(v);
    while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
        v[--vl] = 0;
    for (size_t i = 0; i < vl; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(status, 400, msg, msgsz, "header %.64s: control byte 0x%02x in the value",
                        line, c);
    }
    if (req->n_headers >= DBG_HTTP_HEADERS_MAX)
        return fail(status, 431, msg, msgsz, "more than %d header fields", DBG_HTTP_HEADERS_MAX);
    req->headers[req->n_headers].name = line;
    req->headers[req->n_headers].value = v;
    req->n_headers++;
    return 0;
}

const char *dbg_http_header_get(const dbg_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers; i++)
        if (strcasecmp(req->headers[i].name, name) == 0)
            return req->headers[i].value;
    return NULL;
}

int dbg_http_wants_close(const dbg_http_request *req)
{
    if (req->version_minor < 1)
        return 1;
    /* every Connection field, not the first: a proxy in front may read another one */
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strcasecmp(req->headers[i].name, "Connection") == 0 &&
            dbg_http_connection_lists_close(req->headers[i].value,
                                            strlen(req->headers[i].value)))
            return 1;
    }
    return 0;
}

int dbg_http_connection_lists_close(const char *value, size_t len)
{
    for (size_t i = 0; i < len;) {
        while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
            i++;
        size_t n = 0;
        while (i + n < len && value[i + n] != ' ' && value[i + n] != '\t' && value[i + n] != ',')
            n++;
        if (n == 5 && strncasecmp(value + i, "close", 5) == 0)
            return 1;
        i += n;
    }
    return 0;
}

static int count_header(const dbg_http_request *req, const char *name)
{
    int n = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        n += strcasecmp(req->headers[i].name, name) == 0;
    return n;
}

/* What the headers say about the body, checked once all are in. */
static int check_framing(dbg_http_request *req, int *status, char *msg, size_t msgsz)
{
    if (req->version_minor >= 1 && count_header(req, "Host") != 1)
        return fail(status, 400, msg, msgsz, "HTTP/1.1 needs exactly one Host header (got %d)",
                    count_header(req, "Host"));
    if (dbg_http_header_get(req, "Transfer-Encoding"))
        return fail(status, 501, msg, msgsz,
                    "Transfer-Encoding is not supported (no chunked bodies): send Content-Length");
    int ncl = count_header(req, "Content-Length");
    if (ncl > 1)
        return fail(status, 400, msg, msgsz, "%d Content-Length headers (one is allowed)", ncl);
    if (ncl == 1) {
        const char *v = dbg_http_header_get(req, "Content-Length");
        if (parse_content_length(v, &req->content_length) != 0)
            return fail(status, 400, msg, msgsz,
                        "Content-Length '%.40s' is not a decimal byte count", v);
        if (req->content_length > DBG_HTTP_BODY_MAX)
            return fail(status, 413, msg, msgsz, "body of %llu bytes is over the limit of %u bytes",
                        (unsigned long long)req->content_length, DBG_HTTP_BODY_MAX);
        req->has_body_length = 1;
    } else if (!strcmp(req->method, "POST") || !strcmp(req->method, "PUT") ||
               !strcmp(req->method, "PATCH")) {
        return fail(status, 411, msg, msgsz, "%s needs a Content-Length header", req->method);
    }
    return 0;
}

int dbg_http_parse_head(const char *buf, size_t len, dbg_http_request *req, int *status, char *msg,
                        size_t msgsz)
{
    memset(req, 0, sizeof(*req));
    msg[0] = 0;
    size_t scan = len < DBG_HTTP_HEAD_MAX ? len : DBG_HTTP_HEAD_MAX;
    size_t end = head_end(buf, scan);
    if (end == (size_t)-1)
        return fail(status, 400, msg, msgsz, "empty request line");
    if (end == 0) {
        if (len >= DBG_HTTP_HEAD_MAX)
            return fail(status, 431, msg, msgsz,
                        "request head (request line + headers) over %u bytes", DBG_HTTP_HEAD_MAX);
        return 0;
    }
    if (memchr(buf, 0, end))
        return fail(status, 400, msg, msgsz, "NUL byte in the request head");
    /* The head copy, then room for the path copy (at most as long as the head). */
    req->head = dbg_malloc(2 * end + 2);
    if (!req->head)
        return fail(status, 500, msg, msgsz, "out of memory");
    memcpy(req->head, buf, end);
    req->head[end] = 0;
    req->head_len = end;
    size_t pos = 0;
    char *line = next_line(req->head, end, &pos);
    int r = parse_request_line(line, req, status, msg, msgsz);
    unsigned lineno = 1;
    while (r == 0 && (line = next_line(req->head, end, &pos)) != NULL && line[0]) {
        lineno++;
        r = parse_header_line(line, lineno, req, status, msg, msgsz);
    }
    if (r == 0)
        r = check_framing(req, status, msg, msgsz);
    if (r != 0) {
        dbg_http_request_clear(req);
        return -1;
    }
    char *path = req->head + end + 1;
    const char *q = strchr(req->target, '?');
    size_t plen = q ? (size_t)(q - req->target) : strlen(req->target);
    memcpy(path, req->target, plen);
    path[plen] = 0;
    req->path = path;
    req->query = q ? q + 1 : "";
    return 1;
}

void dbg_http_request_clear(dbg_http_request *req)
{
    free(req->head);
    memset(req, 0, sizeof(*req));
}

/* Decodes s[0..n) into out (QUERY_PART_MAX). */
static int decode_part(const char *s, size_t n, char *out, char *msg, size_t msgsz)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n || dbg_hex_value(s[i + 1]) < 0 || dbg_hex_value(s[i + 2]) < 0) {
                snprintf(msg, msgsz, "query: bad percent escape at '%.*s'",
                         (int)(n - i > 8 ? 8 : n - i), s + i);
                return -1;
            }
            c = (char)(dbg_hex_value(s[i + 1]) * 16 + dbg_hex_value(s[i + 2]));
            i += 2;
            if (c == 0) {
                snprintf(msg, msgsz, "query: %%00 (NUL) is not allowed");
                return -1;
            }
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= QUERY_PART_MAX) {
            snprintf(msg, msgsz, "query: a parameter is longer than %d bytes", QUERY_PART_MAX - 1);
            return -1;
        }
        out[o++] = c;
    }
    out[o] = 0;
    return 0;
}

int dbg_http_query_each(const char *query, dbg_http_query_cb cb, void *opaque, char *msg,
                        size_t msgsz)
{
    char name[QUERY_PART_MAX], value[QUERY_PART_MAX];
    /* The names seen so far: a name given twice is refused, never "the last one wins" (or the
     * first): a proxy or filter in front that reads the other occurrence of tenant= or limit=
     * would check one request while this server answers another. */
    char **seen = NULL;
    size_t n_seen = 0, cap = 0;
    int r = 0;
    const char *p = query;
    while (*p && r == 0) {
        const char *amp = strchr(p, '&');
        size_t n = amp ? (size_t)(amp - p) : strlen(p);
        if (n > 0) {
            const char *eq = memchr(p, '=', n);
            size_t nl = eq ? (size_t)(eq - p) : n;
            if (decode_part(p, nl, name, msg, msgsz) != 0 ||
                decode_part(eq ? eq + 1 : "", eq ? n - nl - 1 : 0, value, msg, msgsz) != 0) {
                r = -1;
                break;
            }
            for (size_t i = 0; i < n_seen; i++)
                if (!strcmp(seen[i], name)) {
                    snprintf(msg, msgsz, "query: parameter '%.64s' given more than once", name);
                    r = -1;
                }
            if (r != 0)
                break;
            if (dbg_grow_array((void **)&seen, &cap, n_seen + 1, sizeof(*seen), 8) < 0 ||
                !(seen[n_seen] = dbg_strdup(name))) {
                snprintf(msg, msgsz, "query: out of memory");
                r = -1;
                break;
            }
            n_seen++;
            r = cb(name, value, opaque);
        }
        p += n;
        if (*p == '&')
            p++;
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i]);
    free(seen);
    return r;
}
