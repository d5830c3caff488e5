/* libyaml events -> jansson tree with line numbers (see yaml_doc.h). Input size and
 * nesting depth are limited: these files come from users. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "assess/yaml_doc.h"
#include "catalog/yaml_doc.h"
#include "dengbao/util.h"

#define YAML_MAX_BYTES (4u << 20)
#define YAML_MAX_DEPTH 32

typedef struct {
    yaml_parser_t parser;
    const char *name;
    const char *text; /* the input, to place a byte libyaml's reader refuses */
    size_t len;
    size_t end_line, end_col; /* where text ends, 1-based; end_line 0 until worked out */
} reader;

/* libyaml ends a last line without a break with one of its own and places what it finds there
 * (the empty value after a last '{1', the empty node after a last '---') on a line after the
 * last: such a mark is moved to the end of the last line, so no message names a line the input
 * does not have. The end is worked out once per input. */
static void mark_within(reader *r, yaml_mark_t *m)
{
    if (!r->end_line) {
        r->end_line = SIZE_MAX; /* stays so when the text cannot be measured: no move */
        r->end_col = 1;
        dbg_yaml_mark_within(&r->parser, r->text, r->len, &r->end_line, &r->end_col);
    }
    if (m->line >= r->end_line) {
        m->line = r->end_line - 1;
        m->column = r->end_col - 1;
    }
}

static int next_event(reader *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->parser, ev)) {
        dbg_yaml_parse_error(&r->parser, r->name, r->text, r->len, "malformed YAML");
        return -1;
    }
    mark_within(r, &ev->start_mark);
    /* "\0" in a quoted scalar: C strings end there, so '"0\0junk"' read as 0 and a key
     * '"model\0x"' as model */
    if (ev->type == YAML_SCALAR_EVENT && memchr(ev->data.scalar.value, 0, ev->data.scalar.length)) {
        dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: text holds a NUL character ('\\0')", r->name,
                    ev->start_mark.line + 1, ev->start_mark.column + 1);
        yaml_event_delete(ev);
        return -1;
    }
    return 0;
}

static json_t *parse_node(reader *r, yaml_event_t *ev, int depth);

static json_t *parse_collection(reader *r, yaml_event_t *start, int depth)
{
    int is_map = start->type == YAML_MAPPING_START_EVENT;
    json_t *out = is_map ? json_object() : json_array();
    if (!out) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    json_t *pos = NULL;
    if (is_map) {
        json_object_set_new(out, "__line__", json_integer((json_int_t)start->start_mark.line + 1));
        if (!(pos = json_object()) || json_object_set_new(out, "__pos__", pos) != 0) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    for (;;) {
        yaml_event_t ev;
        if (next_event(r, &ev) != 0)
            goto fail;
        if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return out;
        }
        if (!is_map) {
            json_t *v = parse_node(r, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (!v || json_array_append_new(out, v) != 0)
                goto fail;
            continue;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: mapping keys must be plain text", r->name,
                        ev.start_mark.line + 1, ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            goto fail;
        }
        char *key = dbg_strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
        size_t kline = ev.start_mark.line + 1, kcol = ev.start_mark.column + 1;
        yaml_event_delete(&ev);
        if (!key)
            goto fail;
        yaml_event_t vev;
        if (next_event(r, &vev) != 0) {
            free(key);
            goto fail;
        }
        json_t *v = parse_node(r, &vev, depth + 1);
        /* The key's and the value's own places, for errors about this field rather than its
         * entry: a key the format lacks is at its key, a bad value at the value. */
        json_t *at =
            json_pack("[I,I,I,I]", (json_int_t)kline, (json_int_t)kcol,
                      (json_int_t)vev.start_mark.line + 1, (json_int_t)vev.start_mark.column + 1);
        yaml_event_delete(&vev);
        if (!v || !at) {
            if (v && !at)
                dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            json_decref(v);
            json_decref(at);
            free(key);
            goto fail;
        }
        if (json_object_get(out, key)) {
            dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: duplicate key '%.64s' (first at line %d)",
                        r->name, kline, kcol, key,
                        (int)json_integer_value(json_array_get(json_object_get(pos, key), 0)));
            json_decref(v);
            json_decref(at);
            free(key);
            goto fail;
        }
        int stored = json_object_set_new(out, key, v) == 0; /* _new takes v even on failure */
        if (!stored)
            json_decref(at);
        if (!stored || json_object_set_new(pos, key, at) != 0) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory");
            free(key);
            goto fail;
        }
        free(key);
    }
fail:
    json_decref(out);
    return NULL;
}

/* YAML's null written out (`note: ~`, `note: null`, unquoted): no value, as YAML means it, not
 * the text "~" (which once passed for the reason a 不适用 item does not apply). An empty value
 * stays "" so that it reads as blank. */
static int plain_null(const yaml_event_t *ev)
{
    static const char *const spellings[] = {"~", "null", "Null", "NULL"};
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++)
        if (ev->data.scalar.length == strlen(spellings[i]) &&
            !memcmp(ev->data.scalar.value, spellings[i], ev->data.scalar.length))
            return 1;
    return 0;
}

static json_t *parse_node(reader *r, yaml_event_t *ev, int depth)
{
    if (depth > YAML_MAX_DEPTH) {
        dbg_err_set(DBG_ERR_LIMIT, "%s:%zu:%zu: nesting deeper than %d", r->name,
                    ev->start_mark.line + 1, ev->start_mark.column + 1, YAML_MAX_DEPTH);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        if (plain_null(ev))
            return json_null();
        json_t *s = json_stringn((const char *)ev->data.scalar.value, ev->data.scalar.length);
        if (!s)
            dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: text is not valid UTF-8", r->name,
                        ev->start_mark.line + 1, ev->start_mark.column + 1);
        return s;
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return parse_collection(r, ev, depth);
    case YAML_ALIAS_EVENT:
        dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: aliases are not supported", r->name,
                    ev->start_mark.line + 1, ev->start_mark.column + 1);
        return NULL;
    default:
        dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: unexpected YAML structure", r->name,
                    ev->start_mark.line + 1, ev->start_mark.column + 1);
        return NULL;
    }
}

json_t *dbg_yaml_load_text_at(const char *text, size_t len, const char *name, dbg_yaml_pos *root_at)
{
    reader r = {.name = name, .text = text, .len = len};
    if (root_at) /* an empty document: its start */
        *root_at = (dbg_yaml_pos){1, 1};
    json_t *root = NULL;
    if (!yaml_parser_initialize(&r.parser)) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    yaml_event_t ev;
    int done = 0;
    while (!done) {
        if (next_event(&r, &ev) != 0)
            goto out;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
            break;
        case YAML_DOCUMENT_END_EVENT:
            /* A second document ('---' between two lists, two files concatenated) is refused:
             * its entries would otherwise be dropped without a word. */
            yaml_event_delete(&ev);
            if (next_event(&r, &ev) != 0)
                goto fail;
            if (ev.type != YAML_STREAM_END_EVENT) {
                dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: more than one YAML document ('---')", name,
                            ev.start_mark.line + 1, ev.start_mark.column + 1);
                yaml_event_delete(&ev);
                goto fail;
            }
            done = 1;
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            if (root) {
                dbg_err_set(DBG_ERR_PARSE, "%s:%zu:%zu: more than one top-level node", name,
                            ev.start_mark.line + 1, ev.start_mark.column + 1);
                yaml_event_delete(&ev);
                json_decref(root);
                root = NULL;
                goto out;
            }
            if (root_at) {
                /* the empty node after a last '---' is put past the text's last line */
                size_t line = ev.start_mark.line + 1, col = ev.start_mark.column + 1;
                dbg_yaml_mark_within(&r.parser, text, len, &line, &col);
                *root_at = (dbg_yaml_pos){(int)line, (int)col};
            }
            root = parse_node(&r, &ev, 0);
            if (!root) {
                yaml_event_delete(&ev);
                goto out;
            }
        }
        yaml_event_delete(&ev);
    }
    if (!root)
        root = json_object();
out:
    yaml_parser_delete(&r.parser);
    return root;
fail:
    json_decref(root);
    root = NULL;
    goto out;
}

json_t *dbg_yaml_load_text(const char *text, size_t len, const char *name)
{
    return dbg_yaml_load_text_at(text, len, name, NULL);
}

json_t *dbg_yaml_load_file_at(const char *path, dbg_yaml_pos *root)
{
    char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, YAML_MAX_BYTES, &text, &len) != 0)
        return NULL;
    json_t *doc = dbg_yaml_load_text_at(text, len, path, root);
    free(text);
    return doc;
}

json_t *dbg_yaml_load_file(const char *path)
{
    return dbg_yaml_load_file_at(path, NULL);
}

const char *dbg_yaml_str(const json_t *map, const char *key)
{
    return json_string_value(json_object_get(map, key));
}

int dbg_yaml_line(const json_t *map)
{
    return (int)json_integer_value(json_object_get(map, "__line__"));
}

static int place(const json_t *map, const char *key, size_t first, int *column)
{
    const json_t *at = json_object_get(json_object_get(map, "__pos__"), key);
    *column = (int)json_integer_value(json_array_get(at, first + 1));
    return at ? (int)json_integer_value(json_array_get(at, first)) : dbg_yaml_line(map);
}

int dbg_yaml_key_line(const json_t *map, const char *key, int *column)
{
    return place(map, key, 0, column);
}

int dbg_yaml_value_line(const json_t *map, const char *key, int *column)
{
    return place(map, key, 2, column);
}

const char *dbg_yaml_kind(const json_t *v)
{
    return json_is_object(v)  ? "a mapping"
           : json_is_array(v) ? "a list"
           : json_is_null(v)  ? "null"
                              : "text";
}

int dbg_yaml_is_meta(const char *key)
{
    return !strcmp(key, "__line__") || !strcmp(key, "__pos__");
}

char *dbg_yaml_place(const char *path, int line, int column)
{
    return column ? dbg_asprintf("%s:%d:%d", path, line, column)
                  : dbg_asprintf("%s:%d", path, line);
}

char *dbg_yaml_field_at(const char *path, const json_t *map, const char *key, int at_key)
{
    int col;
    int line = at_key ? dbg_yaml_key_line(map, key, &col) : dbg_yaml_value_line(map, key, &col);
    return dbg_yaml_place(path, line, col);
}

int dbg_yaml_bad_field(const json_t *map, const char *key, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    DBG_AUTOFREE char *what = dbg_vasprintf(fmt, ap);
    va_end(ap);
    DBG_AUTOFREE char *at = dbg_yaml_field_at(path, map, key, 0);
    dbg_err_set(DBG_ERR_INVALID, "%s: %s", at ? at : path, what ? what : fmt);
    return -1;
}

int dbg_yaml_known_keys(const json_t *map, const char *path, const char *what,
                        const char *const *allowed)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)map, key, v)
    {
        int ok = dbg_yaml_is_meta(key);
        for (size_t i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(key, allowed[i]);
        if (ok)
            continue;
        dbg_buf list;
        dbg_buf_init(&list, 0);
        for (size_t i = 0; allowed[i]; i++)
            dbg_buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
        DBG_AUTOFREE char *at = dbg_yaml_field_at(path, map, key, 1);
        dbg_err_set(DBG_ERR_INVALID, "%s: unknown key '%.64s' in %s (allowed: %s)", at ? at : path,
                    key, what, list.data ? list.data : "");
        dbg_buf_free(&list);
        return -1;
    }
    return 0;
}
