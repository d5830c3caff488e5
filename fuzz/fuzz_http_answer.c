/* libFuzzer target for the forwarder's reading of central's answer head (dbg_http_parse_answer):
 * any bytes a server, or whatever sits between, can send back. Beside not crashing, a reading
 * must not depend on how the bytes were split across reads (a prefix never completes a head the
 * whole input does not, and an error on a prefix stays an error), must take its values from the
 * head alone, and must agree with a plain reading of the head done here: the status digits,
 * one Content-Length value however often it is given, "close" in a Connection field. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/server.h"

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

/* The field lines between the status line and the blank line, as "Name: value" CRLF lines. */
static void check_fields(const char *head, size_t head_len, const dbg_http_answer *a)
{
    const char *p = memchr(head, '\n', head_len);
    const char *end = head + head_len - 2; /* the blank line's CRLF */
    int lengths = 0, close = head[7] == '0';
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
            abort(); /* chunked bodies are not read: the answer must be refused */
        }
        p = eol + 1;
    }
    if (a->has_length != (lengths > 0) || (lengths && a->content_length != value) ||
        a->close != close)
        abort();
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
    const char *head = (const char *)data;
    if (a.head_len < 16 || a.head_len > size || memcmp(head + a.head_len - 4, "\r\n\r\n", 4) != 0 ||
        memchr(head, 0, a.head_len))
        abort();
    if (memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') || head[8] != ' ' ||
        (head[12] != ' ' && head[12] != '\r'))
        abort();
    int digits = (head[9] - '0') * 100 + (head[10] - '0') * 10 + (head[11] - '0');
    if (a.status != digits || a.status < 200 || a.status > 599)
        abort();
    check_fields(head, a.head_len, &a);
    return 0;
}
