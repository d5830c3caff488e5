/* Growable byte buffer with a hard size limit, for anything that holds untrusted input. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"

void dbg_buf_init(dbg_buf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = max ? max : DBG_BUF_DEFAULT_MAX;
}

static int buf_reserve(dbg_buf *b, size_t extra)
{
    if (!b->max)
        b->max = DBG_BUF_DEFAULT_MAX;
    if (extra > b->max || b->len > b->max - extra) {
        dbg_err_set(DBG_ERR_LIMIT, "buffer would exceed its limit of %zu bytes", b->max);
        return -1;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = dbg_realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int dbg_buf_add(dbg_buf *b, const void *data, size_t len)
{
    if (buf_reserve(b, len) < 0)
        return -1;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int dbg_buf_adds(dbg_buf *b, const char *s) { return dbg_buf_add(b, s, strlen(s)); }

int dbg_buf_vprintf(dbg_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "bad format string '%s'", fmt);
        return -1;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int dbg_buf_printf(dbg_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = dbg_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return r;
}

char *dbg_buf_steal(dbg_buf *b)
{
    char *p = b->data;
    if (!p)
        p = dbg_strdup("");
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
    return p;
}

void dbg_buf_reset(dbg_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void dbg_buf_free(dbg_buf *b)
{
    free(b->data);
    size_t max = b->max;
    memset(b, 0, sizeof(*b));
    b->max = max;
}

int dbg_buf_add_markup(dbg_buf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        default:
            /* XML 1.0 forbids most control characters even escaped: drop them. */
            if ((unsigned char)*p < 0x20 && *p != '\n' && *p != '\t')
                continue;
            /* So are the noncharacters U+FFFE and U+FFFF: a host file's value holding one made
             * the JUnit report no XML at all (xmllint: "Char 0xFFFE out of allowed range"). */
            if ((unsigned char)p[0] == 0xef && (unsigned char)p[1] == 0xbf &&
                ((unsigned char)p[2] == 0xbe || (unsigned char)p[2] == 0xbf)) {
                p += 2;
                continue;
            }
            /* Bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069) reorder
             * the text around them in a browser as on a terminal: a name could show another
             * name or verdict. Shown as an escape, as dbg_text_visible does. */
            unsigned cp = dbg_utf8_invisible_control(p);
            if (cp >= 0x202a) { /* the separators U+2028/9 are only white space here */
                char e[16];
                snprintf(e, sizeof(e), "\\u%04x", cp);
                if (dbg_buf_adds(b, e))
                    return -1;
                p += 2;
                continue;
            }
        }
        if (rep ? dbg_buf_adds(b, rep) : dbg_buf_add(b, p, 1))
            return -1;
    }
    return 0;
}
