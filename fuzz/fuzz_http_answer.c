/* libFuzzer target for the forwarder's reading of central's (or a collector's) answer: the heads
 * (dbg_http_parse_answer, 1xx interim answers then the final one) and a chunked body
 * (dbg_http_chunked_read): any bytes a server, or whatever sits between, can send back. Beside
 * not crashing, a reading must not depend on how the bytes were split across reads (a prefix
 * never completes a head the whole input does not, an error on a prefix stays an error, a body
 * fed in pieces reads as fed whole), must take the head's values from the heads alone, and must
 * agree with a plain reading done here: the interim answers skipped, the status digits, one
 * Content-Length value however often it is given, chunked alone as the coding and never beside a
 * length, "close" in a Connection field; the chunks' data and where the body ends. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/server.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(const uint8_t *data, size_t size, dbg_http_answer *a)
{
    char msg[256];
    /* an exact-size copy, so reading a byte past the input is caught by ASan */
    char *copy = malloc(size ? size : 1);
    if (!copy)
        abort();
    if (size)
        memcpy(copy, data, size);
    int rc = dbg_http_parse_answer(copy, size, a, msg, sizeof(msg));
    free(copy);
    if (rc < -1 || rc > 1 || (rc < 0 && !msg[0]))
        abort();
    return rc;
}

/* The field lines between the final status line and the blank line, as "Name: value" CRLF
 * lines. */
static void check_fields(const char *head, size_t head_len, const dbg_http_answer *a)
{
    const char *p = memchr(head, '\n', head_len);
    const char *end = head + head_len - 2; /* the blank line's CRLF */
    int lengths = 0, close = head[7] == '0', codings = 0, chunked = 0;
    uint64_t value = 0;
    while (p && ++p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!eol || !colon)
            abort(); /* an accepted head has only Name: value lines ending in CRLF */
        const char *v = colon + 1;
        size_t vn = (size_t)(eol - v);
        while (vn && (*v == ' ' || *v == '\t'))
            v++, vn--;
        while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t'))
            vn--;
        size_t nn = (size_t)(colon - p);
        if (nn == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
            uint64_t n = 0;
            for (size_t i = 0; i < vn; i++) {
                if (v[i] < '0' || v[i] > '9')
                    abort(); /* a length that is no number was accepted */
                n = n * 10 + (uint64_t)(v[i] - '0');
            }
            if (!vn || (lengths++ && n != value))
                abort(); /* an empty length, or two different ones, was accepted */
            value = n;
        } else if (nn == 10 && strncasecmp(p, "Connection", 10) == 0) {
            close |= dbg_http_connection_lists_close(v, vn);
        } else if (nn == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
            /* each comma-separated element, blanks trimmed, empty ones skipped */
            for (size_t i = 0; i <= vn; i++) {
                size_t j = i;
                while (j < vn && v[j] != ',')
                    j++;
                size_t s = i, e = j;
                while (s < e && (v[s] == ' ' || v[s] == '\t'))
                    s++;
                while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
                    e--;
                if (e > s) {
                    codings++;
                    chunked |= e - s == 7 && strncasecmp(v + s, "chunked", 7) == 0;
                }
                i = j;
            }
        }
        p = eol + 1;
    }
    if (codings && (codings != 1 || !chunked || lengths || head[7] == '0'))
        abort(); /* another coding, chunked twice, beside a length or in HTTP/1.0 was accepted */
    if (a->has_length != (lengths > 0) || (lengths && a->content_length != value) ||
        a->close != close || a->chunked != chunked)
        abort();
}

/* Where the line from p[0] ends: its CRLF's offset, or n when there is none. */
static size_t crlf_at(const char *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (p[i] == '\r' && p[i + 1] == '\n')
            return i;
    return n;
}

/* A plain reading of an accepted chunked body: the data of its chunks, and where it ends. */
static void check_chunks(const char *b, size_t used, const dbg_buf *out)
{
    size_t at = 0, data = 0;
    for (;;) {
        size_t eol = at + crlf_at(b + at, used - at);
        if (eol == used)
            abort();
        uint64_t size = strtoull(b + at, NULL, 16);
        at = eol + 2;
        if (size == 0)
            break;
        if (size > used - at || data + size > out->len || memcmp(b + at, out->data + data, size))
            abort(); /* the data handed on is not the chunk's */
        data += size;
        at += size;
        if (used - at < 2 || memcmp(b + at, "\r\n", 2) != 0)
            abort();
        at += 2;
    }
    /* the trailer section: lines up to a blank one, which is the body's end */
    while (used - at >= 2 && memcmp(b + at, "\r\n", 2) != 0) {
        size_t eol = at + crlf_at(b + at, used - at);
        if (eol == used || !memchr(b + at, ':', eol - at))
            abort();
        at = eol + 2;
    }
    if (data != out->len || at + 2 != used)
        abort();
}

/* Reads the body [b, b+n) in pieces of step bytes (0: whole): rc, the data and the bytes used. */
static int read_body(const char *b, size_t n, size_t step, dbg_buf *out, size_t *used)
{
    dbg_http_chunked *c = calloc(1, sizeof(*c));
    if (!c)
        abort();
    c->max = 1 << 16;
    char msg[256];
    int rc = 0;
    *used = 0;
    for (size_t at = 0; at < n && rc == 0;) {
        size_t k = step && n - at > step ? step : n - at, u = 0;
        char *copy = malloc(k); /* exact size: a read past the piece is ASan's */
        if (!copy)
            abort();
        memcpy(copy, b + at, k);
        rc = dbg_http_chunked_read(c, copy, k, &u, out, msg, sizeof(msg));
        free(copy);
        if (rc < -1 || rc > 1 || (rc < 0 && !msg[0]) || u > k || (rc == 0 && u != k))
            abort();
        at += u;
        *used = at;
    }
    free(c);
    return rc;
}

static void check_body(const char *b, size_t n)
{
    dbg_buf whole, part;
    dbg_buf_init(&whole, 1 << 20);
    size_t used, pused;
    int rc = read_body(b, n, 0, &whole, &used);
    size_t steps[] = {1, 7, n / 2 + 1};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (steps[i] == 1 && n > 4096)
            continue;
        dbg_buf_init(&part, 1 << 20);
        int prc = read_body(b, n, steps[i], &part, &pused);
        if (prc != rc || (rc == 1 && pused != used) || part.len != whole.len ||
            (part.len && memcmp(part.data, whole.data, part.len) != 0))
            abort(); /* the body read differently in pieces */
        dbg_buf_free(&part);
    }
    if (rc == 1)
        check_chunks(b, used, &whole);
    dbg_buf_free(&whole);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_http_answer a, b;
    int rc = parse(data, size, &a);
    /* the forwarder reads in pieces: each prefix must read as the start of the same answer */
    size_t cuts[] = {size / 2, size ? size - 1 : 0, a.head_len ? a.head_len - 1 : 0};
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        int prc = parse(data, cuts[i], &b);
        if ((prc == 1 && rc != 1) || (prc == -1 && rc != -1))
            abort(); /* a prefix read differently from the whole */
        if (prc == 1 && memcmp(&a, &b, sizeof(a)) != 0)
            abort(); /* the bytes after the head changed its reading */
    }
    if (rc != 1)
        return 0;
    const char *text = (const char *)data;
    if (a.head_len < 16 || a.head_len > size || memcmp(text + a.head_len - 4, "\r\n\r\n", 4) != 0 ||
        memchr(text, 0, a.head_len))
        abort();
    /* the interim answers: each up to its first blank line, a 1xx status other than 101 */
    const char *head = text;
    for (unsigned k = 0; k < a.interim; k++) {
        if (head[9] != '1' || (head[10] == '0' && head[11] == '1'))
            abort();
        const char *end = memmem(head, a.head_len - (size_t)(head - text), "\r\n\r\n", 4);
        if (!end)
            abort();
        head = end + 4;
    }
    size_t head_len = a.head_len - (size_t)(head - text);
    if (memmem(head, head_len, "\r\n\r\n", 4) != head + head_len - 4 ||
        a.interim > DBG_HTTP_INTERIM_MAX)
        abort(); /* the final head is not the answer after the interim ones */
    if (memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
        (head[12] != ' ' && head[12] != '\r'))
        abort();
    int digits = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    if (a.status != digits || a.status < 200 || a.status > 599)
        abort();
    check_fields(head, head_len, &a);
    if (a.chunked)
        check_body(text + a.head_len, size - a.head_len);
    return 0;
}
