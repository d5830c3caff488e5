/* UTF-8 repair and character-boundary truncation, for text that ends up in JSON, syslog
 * structured data or PostgreSQL, all of which reject invalid sequences outright. */
#include <string.h>

#include "dengbao/util.h"

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/* Bytes in a sequence led by c: 1 for ASCII, 2..4, or 0 when c cannot lead one. */
static size_t lead_len(unsigned char c)
{
    return c < 0x80                ? 1
           : c >= 0xC2 && c < 0xE0 ? 2
           : c >= 0xE0 && c < 0xF0 ? 3
           : c >= 0xF0 && c < 0xF5 ? 4
                                   : 0;
}

size_t dbg_utf8_seq_len(const char *s, size_t avail)
{
    size_t n = avail ? lead_len((unsigned char)s[0]) : 0;
    if (n == 0 || n > avail || (n > 1 && !dbg_utf8_valid(s, n)))
        return 0;
    return n;
}

size_t dbg_utf8_decode(const char *s, size_t avail, uint32_t *cp)
{
    size_t n = dbg_utf8_seq_len(s, avail);
    if (n == 0)
        return 0;
    const unsigned char *p = (const unsigned char *)s;
    uint32_t c = n == 1 ? p[0] : p[0] & (0x7fu >> n); /* the lead byte's payload bits */
    for (size_t i = 1; i < n; i++)
        c = c << 6 | (p[i] & 0x3fu);
    *cp = c;
    return n;
}

size_t dbg_utf8_prefix(const char *s, size_t max)
{
    size_t len = strnlen(s, max), i = 0;
    while (i < len) {
        size_t n = dbg_utf8_seq_len(s + i, len - i);
        if (n == 0 && lead_len((unsigned char)s[i]) > len - i) {
            size_t j = i + 1;
            while (j < len && ((unsigned char)s[j] & 0xC0) == 0x80)
                j++;
            if (j == len)
                break; /* the last character was cut by a byte limit */
        }
        i += n ? n : 1;
    }
    return i;
}

/* Appends s[0..len) with invalid bytes replaced, stopping before the first character that would
 * take out past cap - 1 bytes. Returns the length written. */
static size_t sanitize_into(char *out, size_t cap, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t n = dbg_utf8_seq_len(s + i, len - i);
        const char *piece = n ? s + i : replacement;
        size_t plen = n ? n : sizeof(replacement) - 1;
        if (o + plen >= cap)
            break;
        memcpy(out + o, piece, plen);
        o += plen;
        i += n ? n : 1;
    }
    out[o] = '\0';
    return o;
}

char *dbg_utf8_sanitize(const char *s, size_t len)
{
    if (!s)
        return NULL;
    if (len > (SIZE_MAX - 1) / 3) {
        dbg_err_set(DBG_ERR_LIMIT, "text too long");
        return NULL;
    }
    /* Every input byte becomes at most three output bytes. */
    char *out = dbg_malloc(dbg_utf8_valid(s, len) ? len + 1 : 3 * len + 1);
    if (!out)
        return NULL;
    sanitize_into(out, SIZE_MAX, s, len);
    return out;
}

size_t dbg_utf8_copy(char *dst, size_t size, const char *src)
{
    if (size == 0)
        return 0;
    if (!src) {
        dst[0] = '\0';
        return 0;
    }
    return sanitize_into(dst, size, src, strlen(src));
}

void dbg_utf8_trim_partial(char *s)
{
    s[dbg_utf8_prefix(s, strlen(s))] = '\0';
}

/* Code points a terminal or viewer does not show but obeys, as 3-byte UTF-8 sequences: the
 * bidirectional embeddings and overrides U+202A..U+202E and isolates U+2066..U+2069 reorder
 * what follows (a name could make "不符合" read as something else, or hide text), and the
 * line and paragraph separators U+2028/U+2029 start a new line in editors and browsers (a
 * name could forge a line of a report). Returns the code point, or 0. */
unsigned dbg_utf8_invisible_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] != 0xe2 || (p[1] != 0x80 && p[1] != 0x81) || p[2] < 0x80 || p[2] > 0xbf)
        return 0;
    unsigned cp = 0x2000u | (unsigned)(p[1] & 0x3f) << 6 | (unsigned)(p[2] & 0x3f);
    return (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ? cp : 0;
}

/* East Asian wide and fullwidth characters (UAX #11: Hangul Jamo, CJK and its punctuation,
 * Hangul syllables, compatibility ideographs, fullwidth forms, planes 2-3) take two columns. */
static int wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
           (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
}

size_t dbg_utf8_columns(const char *s)
{
    size_t cols = 0, left = s ? strlen(s) : 0;
    while (left) {
        uint32_t cp = 0;
        size_t n = dbg_utf8_decode(s, left, &cp); /* 0: cut or invalid, a column per byte */
        cols += n && wide(cp) ? 2 : 1;
        s += n ? n : 1;
        left -= n ? n : 1;
    }
    return cols;
}

/* Code points that show as nothing, so that two names that look the same can differ: the soft
 * hyphen U+00AD, the Arabic letter mark U+061C, the Mongolian vowel separator U+180E, the
 * zero-width space, non-joiner and joiner and the left-to-right and right-to-left marks
 * (U+200B..U+200F), the word joiner, invisible operators and deprecated format characters
 * (U+2060..U+206F; its isolates U+2066..U+2069 are dbg_utf8_invisible_control's), the BOM or
 * zero-width no-break space U+FEFF, the interlinear annotation marks U+FFF9..U+FFFB and the
 * tag characters U+E0000..U+E007F (which can spell ASCII no one sees). The gateway's name rules
 * refuse all of them in VM names (name_cp_refused calls this); libvirt, results and records may
 * still hold them. */
int dbg_utf8_invisible_format(uint32_t cp)
{
    return cp == 0xad || cp == 0x61c || cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb) ||
           (cp >= 0xe0000 && cp <= 0xe007f);
}

int dbg_utf8_space(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x20 || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
           cp == 0x205f || cp == 0x3000;
}

int dbg_utf8_blank(const char *s)
{
    size_t left = strlen(s);
    while (left) {
        uint32_t cp;
        size_t n = dbg_utf8_decode(s, left, &cp);
        if (!n || !(dbg_utf8_space(cp) || dbg_utf8_invisible_format(cp)))
            return 0;
        s += n;
        left -= n;
    }
    return 1;
}

/* Whether dbg_text_visible shows the character at s (left > 0 bytes) as an escape, with its
 * code point (or byte) in *cp; *n is its length (1 for an invalid byte, shown as it is). */
static int shown_escaped(const char *s, size_t left, uint32_t *cp, size_t *n)
{
    unsigned char c = (unsigned char)*s;
    size_t len = dbg_utf8_decode(s, left, cp);
    *n = len ? len : 1;
    if (c < 0x20 || c == 0x7f) {
        *cp = c;
        return 1;
    }
    if (len < 2)
        return 0;
    return *cp <= 0x9f /* C1 */ || dbg_utf8_invisible_control(s) ||
           dbg_utf8_invisible_format(*cp);
}

char *dbg_text_visible(const char *s, int *failed)
{
    size_t left = strlen(s), n = 0, at;
    uint32_t cp;
    int any = 0;
    for (at = 0; at < left && !any; at += n)
        any = shown_escaped(s + at, left - at, &cp, &n);
    if (!any)
        return NULL;
    dbg_buf b;
    dbg_buf_init(&b, 0);
    int err = 0;
    for (at = 0; at < left && !err; at += n) {
        if (!shown_escaped(s + at, left - at, &cp, &n))
            err = dbg_buf_add(&b, s + at, n);
        else if (cp == '\n')
            err = dbg_buf_adds(&b, "\\n");
        else if (cp == '\t')
            err = dbg_buf_adds(&b, "\\t");
        else if (cp == '\r')
            err = dbg_buf_adds(&b, "\\r");
        else if (cp < 0x20 || cp == 0x7f)
            err = dbg_buf_printf(&b, "\\x%02x", (unsigned)cp);
        else if (cp > 0xffff)
            err = dbg_buf_printf(&b, "\\U%08x", (unsigned)cp);
        else
            err = dbg_buf_printf(&b, "\\u%04x", (unsigned)cp);
    }
    if (err) {
        dbg_buf_free(&b);
        *failed = 1;
        return NULL;
    }
    return dbg_buf_steal(&b);
}
