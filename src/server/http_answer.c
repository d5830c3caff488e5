/* HTTP/1.1 answer heads as the forwarder reads them from `dengbao serve` (or a proxy in front
 * of it): status line, Content-Length, Connection. Pure functions over the bytes received so
 * far, so the libFuzzer target (fuzz/fuzz_http_answer.c) drives them directly. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/server.h"

/* The value of the field name in an answer's head (head_len bytes, lines ending in CRLF) after
 * *from (NULL: the first), its length in *len up to the line's end; NULL when there is none. */
static const char *head_field(const char *head, size_t head_len, const char *name, const char *from,
                              size_t *len)
{
    const char *end = head + head_len;
    size_t nl = strlen(name);
    const char *p = from ? memchr(from, '\n', (size_t)(end - from)) : head;
    for (; p && p < end; p = memchr(p, '\n', (size_t)(end - p))) {
        p += *p == '\n';
        if ((size_t)(end - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            const char *eol = memchr(v, '\n', (size_t)(end - v));
            *len = (size_t)((eol ? eol : end) - v);
            return v;
        }
    }
    return NULL;
}

/* Content-Length of an answer: -1 when absent or not a number. */
static long long head_content_length(const char *head, size_t head_len)
{
    size_t n;
    const char *v = head_field(head, head_len, "Content-Length", NULL, &n);
    if (!v)
        return -1;
    char *end;
    errno = 0;
    long long len = strtoll(v, &end, 10);
    return errno || end == v || len < 0 ? -1 : len;
}

/* Whether a Connection field of the answer lists "close" (central ends the connection after
 * it), read as the server reads a request's (dbg_http_wants_close). */
static int head_says_close(const char *head, size_t head_len)
{
    size_t n;
    for (const char *v = head_field(head, head_len, "Connection", NULL, &n); v;
         v = head_field(head, head_len, "Connection", v, &n))
        if (dbg_http_connection_lists_close(v, n))
            return 1;
    return 0;
}

int dbg_http_parse_answer(const char *buf, size_t len, dbg_http_answer *a, char *msg, size_t msgsz)
{
    memset(a, 0, sizeof(*a));
    if (msgsz)
        msg[0] = 0;
    const char *end = len ? strstr(buf, "\r\n\r\n") : NULL;
    if (!end)
        return 0;
    a->head_len = (size_t)(end - buf) + 4;
    int code;
    if (sscanf(buf, "HTTP/1.%*1[01] %3d", &code) != 1 || code < 100 || code > 599) {
        snprintf(msg, msgsz, "no HTTP status line");
        return -1;
    }
    a->status = code;
    long long clen = head_content_length(buf, a->head_len);
    a->has_length = clen >= 0;
    a->content_length = clen >= 0 ? (uint64_t)clen : 0;
    a->close = head_says_close(buf, a->head_len);
    return 1;
}
