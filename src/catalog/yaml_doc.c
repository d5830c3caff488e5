/* libyaml document helpers: one-document parsing with positions, typed node access and
 * "file:line:column: what" errors, shared by the catalog loader and the grading tables. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/yaml_doc.h"
#include "dengbao/util.h"

/* The character at s[0..avail) in libyaml's input encoding: its length in bytes (0 when the
 * bytes there are none, or one cut at avail) and code point. */
static size_t input_char(const unsigned char *s, size_t avail, yaml_encoding_t enc, uint32_t *cp)
{
    if (enc != YAML_UTF16LE_ENCODING && enc != YAML_UTF16BE_ENCODING)
        return dbg_utf8_decode((const char *)s, avail, cp);
    int le = enc == YAML_UTF16LE_ENCODING;
    if (avail < 2)
        return 0;
    uint32_t u = le ? (uint32_t)(s[0] | s[1] << 8) : (uint32_t)(s[0] << 8 | s[1]);
    if (u < 0xd800 || u > 0xdfff) {
        *cp = u;
        return 2;
    }
    if (u > 0xdbff || avail < 4)
        return 0;
    uint32_t low = le ? (uint32_t)(s[2] | s[3] << 8) : (uint32_t)(s[2] << 8 | s[3]);
    if (low < 0xdc00 || low > 0xdfff)
        return 0;
    *cp = 0x10000 + ((u - 0xd800) << 10) + (low - 0xdc00);
    return 4;
}

/* Line and column (1-based, in characters) of byte end of data; 0 when the bytes before it are
 * not all characters. */
static int position_at(const unsigned char *s, size_t len, yaml_encoding_t enc, size_t end,
                       size_t *line, size_t *col)
{
    size_t i = 0, n;
    uint32_t cp, prev = 0;
    *line = *col = 1;
    if (enc == YAML_UTF16LE_ENCODING || enc == YAML_UTF16BE_ENCODING)
        i = 2; /* the BOM that told libyaml the encoding */
    else if (len >= 3 && !memcmp(s, "\xef\xbb\xbf", 3))
        i = 3;
    for (; i < end && (n = input_char(s + i, end - i, enc, &cp)) > 0; i += n, prev = cp) {
        if (cp == '\n' && prev == '\r')
            continue; /* CR LF: one break, counted at the CR */
        if (cp == '\n' || cp == '\r' || cp == 0x85 || cp == 0x2028 || cp == 0x2029) {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
    return i >= end;
}

/* Where parser p stopped on data, 1-based (see dbg_yaml_parse_error). */
static void problem_at(const yaml_parser_t *p, const char *data, size_t len, size_t *line,
                       size_t *col)
{
    *line = p->problem_mark.line + 1;
    *col = p->problem_mark.column + 1;
    if (!data)
        return;
    const unsigned char *s = (const unsigned char *)data;
    if (p->error == YAML_READER_ERROR) {
        position_at(s, len, p->encoding, p->problem_offset < len ? p->problem_offset : len, line,
                    col);
    } else {
        dbg_yaml_mark_within(p, data, len, line, col);
    }
}

void dbg_yaml_mark_within(const yaml_parser_t *p, const char *data, size_t len, size_t *line,
                          size_t *col)
{
    size_t end_line, end_col;
    /* libyaml ends a last line without a break with one of its own, so an input cut short
     * was named at the start of a line after the last */
    if (data &&
        position_at((const unsigned char *)data, len, p->encoding, len, &end_line, &end_col) &&
        *line > end_line) {
        *line = end_line;
        *col = end_col;
    }
}

void dbg_yaml_parse_error(const yaml_parser_t *p, const char *name, const char *data, size_t len,
                          const char *fallback)
{
    size_t line, col;
    problem_at(p, data, len, &line, &col);
    dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: %s", name, line, col,
                p->problem ? p->problem : fallback);
}

static void syntax_error(const char *name, const yaml_parser_t *parser, const char *data,
                         size_t len)
{
    const char *ctx = parser->context;
    size_t line, col;
    problem_at(parser, data, len, &line, &col);
    dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: YAML syntax error: %s%s%s", name, line, col,
                parser->problem ? parser->problem : "unknown problem", ctx ? " " : "",
                ctx ? ctx : "");
}

/* libyaml's scanner costs O(depth) per token, so "[[[[..." a megabyte deep takes minutes in
 * yaml_parser_load. A first pass over events stops at the first node deeper than the data
 * files ever need, after a few hundred tokens. */
int dbg_yaml_check_depth(const char *name, const char *data, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    int depth = 0, r = 0;
    if (!yaml_parser_initialize(&parser)) {
        dbg_err_set(DBG_ERR_NOMEM, "%s: cannot initialise the YAML parser", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    /* a syntax error ends the pass within the limit; the caller's load meets it and names it
     * in its own words */
    while (yaml_parser_parse(&parser, &ev)) {
        yaml_event_type_t type = ev.type;
        if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            if (++depth > DBG_YAML_MAX_DEPTH) {
                dbg_err_set(DBG_ERR_LIMIT, "%s:%zu:%zu: nesting deeper than %d levels", name,
                            ev.start_mark.line + 1, ev.start_mark.column + 1, DBG_YAML_MAX_DEPTH);
                yaml_event_delete(&ev);
                r = -1;
                break;
            }
        } else if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        yaml_event_delete(&ev);
        if (type == YAML_STREAM_END_EVENT)
            break;
    }
    yaml_parser_delete(&parser);
    return r;
}

int dbg_yaml_doc_load(dbg_yaml_doc *d, const char *name, const char *data, size_t len)
{
    yaml_parser_t parser;
    memset(d, 0, sizeof(*d));
    d->name = dbg_strdup(name ? name : "<memory>");
    if (!d->name)
        return -1;
    if (len > DBG_YAML_MAX_BYTES) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: %zu bytes is larger than the %zu-byte limit", d->name, len,
                    DBG_YAML_MAX_BYTES);
        return -1;
    }
    if (dbg_yaml_check_depth(d->name, data, len) < 0)
        return -1;
    if (!yaml_parser_initialize(&parser)) {
        dbg_err_set(DBG_ERR_NOMEM, "%s: cannot initialise the YAML parser", d->name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    int r = -1;
    if (!yaml_parser_load(&parser, &d->doc)) {
        syntax_error(d->name, &parser, data, len);
        goto out;
    }
    d->loaded = 1;
    if (yaml_document_get_root_node(&d->doc)) {
        /* A second document would be silently ignored by a one-shot load; say so instead. */
        yaml_document_t extra;
        if (!yaml_parser_load(&parser, &extra)) {
            syntax_error(d->name, &parser, data, len);
            goto out;
        }
        yaml_node_t *root2 = yaml_document_get_root_node(&extra);
        if (root2) {
            dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: more than one YAML document in one file",
                        d->name, root2->start_mark.line + 1, root2->start_mark.column + 1);
            yaml_document_delete(&extra);
            goto out;
        }
        yaml_document_delete(&extra);
    }
    r = 0;
out:
    yaml_parser_delete(&parser);
    return r;
}

int dbg_yaml_doc_load_file(dbg_yaml_doc *d, const char *path)
{
    DBG_AUTOFREE char *data = NULL;
    size_t len = 0;
    memset(d, 0, sizeof(*d));
    if (dbg_read_file(path, DBG_YAML_MAX_BYTES, &data, &len) < 0)
        return -1;
    return dbg_yaml_doc_load(d, path, data, len);
}

void dbg_yaml_doc_free(dbg_yaml_doc *d)
{
    if (!d)
        return;
    if (d->loaded)
        yaml_document_delete(&d->doc);
    free(d->name);
    memset(d, 0, sizeof(*d));
}

yaml_node_t *dbg_yaml_root(dbg_yaml_doc *d)
{
    return d->loaded ? yaml_document_get_root_node(&d->doc) : NULL;
}

yaml_node_t *dbg_yaml_node(dbg_yaml_doc *d, int index)
{
    return yaml_document_get_node(&d->doc, index);
}

int dbg_yaml_fail(dbg_yaml_doc *d, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t line = n ? n->start_mark.line + 1 : 1, col = n ? n->start_mark.column + 1 : 1;
    dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: %s", d->name, line, col, msg);
    return -1;
}

static const char *node_kind(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "scalar";
    case YAML_SEQUENCE_NODE:
        return "list";
    case YAML_MAPPING_NODE:
        return "mapping";
    default:
        return "empty node";
    }
}

const char *dbg_yaml_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int dbg_yaml_want_map(dbg_yaml_doc *d, const yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_MAPPING_NODE)
        return 0;
    return dbg_yaml_fail(d, n, "%s must be a mapping, not a %s", what,
                         n ? node_kind(n) : "nothing");
}

int dbg_yaml_want_seq(dbg_yaml_doc *d, const yaml_node_t *n, const char *what)
{
    if (n && n->type == YAML_SEQUENCE_NODE)
        return 0;
    return dbg_yaml_fail(d, n, "%s must be a list, not a %s", what, n ? node_kind(n) : "nothing");
}

int dbg_yaml_get_str(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, const char **out)
{
    const char *s = dbg_yaml_scalar(n);
    if (!s)
        return dbg_yaml_fail(d, n, "%s must be a string, not a %s", what,
                             n ? node_kind(n) : "nothing");
    if (!dbg_utf8_valid(s, n->data.scalar.length) || strlen(s) != n->data.scalar.length)
        return dbg_yaml_fail(d, n, "%s is not valid UTF-8 text", what);
    *out = s;
    return 0;
}

int dbg_yaml_get_text(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, const char **out)
{
    if (dbg_yaml_get_str(d, n, what, out) < 0)
        return -1;
    const char *p = *out;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (!*p)
        return dbg_yaml_fail(d, n, "%s is empty", what);
    return 0;
}

int dbg_yaml_get_bool(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, int *out)
{
    const char *s = dbg_yaml_scalar(n);
    if (s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        if (!strcmp(s, "true") || !strcmp(s, "yes")) {
            *out = 1;
            return 0;
        }
        if (!strcmp(s, "false") || !strcmp(s, "no")) {
            *out = 0;
            return 0;
        }
    }
    return dbg_yaml_fail(d, n, "%s must be true or false", what);
}

int dbg_yaml_get_long(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, long min, long max,
                      long *out)
{
    const char *s = dbg_yaml_scalar(n);
    if (!s || strlen(s) != n->data.scalar.length || dbg_parse_long(s, min, max, out) < 0)
        return dbg_yaml_fail(d, n, "%s must be an integer %ld..%ld, not '%.40s'", what, min, max,
                             s ? s : node_kind(n));
    return 0;
}

int dbg_yaml_get_double(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, double min,
                        double max, double *out)
{
    const char *s = dbg_yaml_scalar(n);
    /* a quoted "5\0junk" is 5 to C */
    if (!s || strlen(s) != n->data.scalar.length || dbg_parse_double(s, min, max, out) < 0)
        return dbg_yaml_fail(d, n, "%s must be a decimal number %g..%g, not '%.40s'", what, min,
                             max, s ? s : node_kind(n));
    return 0;
}

void dbg_yaml_str_list_free(char **list, size_t count)
{
    if (!list)
        return;
    for (size_t i = 0; i < count; i++)
        free(list[i]);
    free(list);
}

int dbg_yaml_get_str_list(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, char ***out,
                          size_t *count)
{
    if (dbg_yaml_want_seq(d, n, what) < 0)
        return -1;
    size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    char **list = dbg_calloc(total + 1, sizeof(*list));
    if (!list)
        return -1;
    size_t i = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++, i++) {
        const char *s;
        if (dbg_yaml_get_text(d, dbg_yaml_node(d, *it), what, &s) < 0 ||
            !(list[i] = dbg_strdup(s))) {
            dbg_yaml_str_list_free(list, i);
            return -1;
        }
    }
    *out = list;
    *count = total;
    return 0;
}

int dbg_yaml_check_keys(dbg_yaml_doc *d, const yaml_node_t *map, const char *what,
                        const char *const *allowed)
{
    if (dbg_yaml_want_map(d, map, what) < 0)
        return -1;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key);
        const char *key = dbg_yaml_scalar(k);
        if (!key)
            return dbg_yaml_fail(d, k, "keys of %s must be strings", what);
        int known = 0;
        for (const char *const *a = allowed; *a; a++)
            known |= !strcmp(*a, key);
        if (!known) {
            char list[400] = "";
            for (const char *const *a = allowed; *a; a++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof(list) - l, "%s%s", l ? ", " : "", *a);
            }
            return dbg_yaml_fail(d, k, "unknown key '%.60s' in %s (allowed: %s)", key, what, list);
        }
        for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
            if (dbg_streq(dbg_yaml_scalar(dbg_yaml_node(d, q->key)), key))
                return dbg_yaml_fail(d, k, "duplicate key '%.60s' in %s", key, what);
        }
    }
    return 0;
}

yaml_node_t *dbg_yaml_map_get(dbg_yaml_doc *d, const yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        if (dbg_streq(dbg_yaml_scalar(dbg_yaml_node(d, p->key)), key))
            return dbg_yaml_node(d, p->value);
    }
    return NULL;
}

static int key_cmp(const void *a, const void *b)
{
    const yaml_node_t *x = *(yaml_node_t *const *)a, *y = *(yaml_node_t *const *)b;
    size_t n = x->data.scalar.length < y->data.scalar.length ? x->data.scalar.length
                                                             : y->data.scalar.length;
    int c = memcmp(x->data.scalar.value, y->data.scalar.value, n);
    if (c)
        return c;
    if (x->data.scalar.length != y->data.scalar.length)
        return x->data.scalar.length < y->data.scalar.length ? -1 : 1;
    /* equal keys: the earlier in the file first, so it is reported as the first */
    return x->start_mark.index < y->start_mark.index ? -1
                                                     : x->start_mark.index > y->start_mark.index;
}

int dbg_yaml_unique_keys(yaml_document_t *doc, const char *name)
{
    yaml_node_t **keys = NULL;
    size_t cap = 0;
    int r = 0;
    for (yaml_node_t *m = doc->nodes.start; m && m < doc->nodes.top && r == 0; m++) {
        if (m->type != YAML_MAPPING_NODE)
            continue;
        size_t n = 0, total = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (total > cap) {
            yaml_node_t **nk = dbg_reallocarray(keys, total, sizeof(*nk));
            if (!nk) {
                r = -1;
                break;
            }
            keys = nk;
            cap = total;
        }
        for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            if (k && k->type == YAML_SCALAR_NODE)
                keys[n++] = k;
        }
        if (n < 2) /* keys is still NULL after only empty mappings, and qsort takes no NULL */
            continue;
        qsort(keys, n, sizeof(*keys), key_cmp);
        for (size_t i = 1; i < n; i++) {
            const yaml_node_t *a = keys[i - 1], *b = keys[i];
            if (a->data.scalar.length == b->data.scalar.length &&
                memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0) {
                dbg_err_set(
                    DBG_ERR_INVALID, "%s:%zu:%zu: duplicate key '%.64s' (first at line %zu)",
                    name ? name : "<memory>", b->start_mark.line + 1, b->start_mark.column + 1,
                    (const char *)b->data.scalar.value, a->start_mark.line + 1);
                r = -1;
                break;
            }
        }
    }
    free(keys);
    return r;
}
