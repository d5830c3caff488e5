/* Snapshot <-> JSON. The writer streams into a bounded buffer in the field tables' order
 * (deterministic bytes for the same snapshot); the reader uses jansson and names the file
 * and the JSON path ($.domains[3].ifaces[0].mac) of whatever is wrong. */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "platform/snapshot_schema.h"

#define AT(obj, off, T) ((T *)((char *)(obj) + (off)))

/* Snapshots of very large clouds stay well under this; anything bigger is not ours. */
#define SNAPSHOT_MAX_BYTES ((size_t)512 << 20)

/* ------------------------------------------------------------------ writer */

/* JSON string with escapes; invalid UTF-8 becomes U+FFFD (collectors sanitize first, so a
 * collected snapshot and its reloaded copy hold the same text). */
static int put_string(dbg_buf *b, const char *s)
{
    if (!s)
        return dbg_buf_adds(b, "null");
    if (dbg_buf_add(b, "\"", 1) < 0)
        return -1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        const unsigned char *run = p;
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run && dbg_buf_add(b, run, (size_t)(p - run)) < 0)
            return -1;
        if (!*p)
            break;
        int r = 0;
        if (*p == '"') {
            r = dbg_buf_adds(b, "\\\"");
            p++;
        } else if (*p == '\\') {
            r = dbg_buf_adds(b, "\\\\");
            p++;
        } else if (*p == '\n') {
            r = dbg_buf_adds(b, "\\n");
            p++;
        } else if (*p == '\t') {
            r = dbg_buf_adds(b, "\\t");
            p++;
        } else if (*p == '\r') {
            r = dbg_buf_adds(b, "\\r");
            p++;
        } else if (*p < 0x20) {
            r = dbg_buf_printf(b, "\\u%04x", *p);
            p++;
        } else {
            /* at most 4 bytes looked at, none past the NUL */
            size_t n = dbg_utf8_seq_len((const char *)p, strnlen((const char *)p, 4));
            if (n == 0) {
                r = dbg_buf_adds(b, "\xEF\xBF\xBD");
                p++;
            } else {
                r = dbg_buf_add(b, p, n);
                p += n;
            }
        }
        if (r < 0)
            return -1;
    }
    return dbg_buf_add(b, "\"", 1);
}

static int put_indent(dbg_buf *b, int depth)
{
    static const char spaces[] = "                                                            ";
    size_t n = (size_t)depth * 2;
    if (n > sizeof(spaces) - 1)
        n = sizeof(spaces) - 1;
    return dbg_buf_add(b, "\n", 1) < 0 ? -1 : dbg_buf_add(b, spaces, n);
}

static int put_object(dbg_buf *b, const dbg_objdesc *d, const void *obj, int depth,
                      int with_version);

static int put_field(dbg_buf *b, const dbg_field *f, const void *obj, int depth)
{
    switch (f->kind) {
    case DBG_F_STR:
        return put_string(b, *AT(obj, f->off, char *const));
    case DBG_F_BOOL:
        return dbg_buf_adds(b, *AT(obj, f->off, const int) ? "true" : "false");
    case DBG_F_INT:
        return dbg_buf_printf(b, "%d", *AT(obj, f->off, const int));
    case DBG_F_I64:
        return dbg_buf_printf(b, "%" PRId64, *AT(obj, f->off, const int64_t));
    case DBG_F_U64:
        return dbg_buf_printf(b, "%" PRIu64, *AT(obj, f->off, const uint64_t));
    case DBG_F_SIZE:
        return dbg_buf_printf(b, "%zu", *AT(obj, f->off, const size_t));
    case DBG_F_STRV: {
        char *const *v = *AT(obj, f->off, char **const);
        size_t n = *AT(obj, f->count_off, const size_t);
        if (dbg_buf_adds(b, "[") < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if ((i && dbg_buf_adds(b, ", ") < 0) || put_string(b, v[i]) < 0)
                return -1;
        return dbg_buf_adds(b, "]");
    }
    case DBG_F_INTV: {
        const int *v = *AT(obj, f->off, int *const);
        size_t n = *AT(obj, f->count_off, const size_t);
        if (dbg_buf_adds(b, "[") < 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (dbg_buf_printf(b, i ? ", %d" : "%d", v[i]) < 0)
                return -1;
        return dbg_buf_adds(b, "]");
    }
    case DBG_F_OBJV: {
        const char *v = *AT(obj, f->off, char *const);
        size_t n = *AT(obj, f->count_off, const size_t);
        if (n == 0)
            return dbg_buf_adds(b, "[]");
        if (dbg_buf_adds(b, "[") < 0)
            return -1;
        for (size_t i = 0; i < n; i++) {
            if ((i && dbg_buf_adds(b, ",") < 0) || put_indent(b, depth + 1) < 0 ||
                put_object(b, f->sub, v + i * f->sub->size, depth + 1, 0) < 0)
                return -1;
        }
        if (put_indent(b, depth) < 0)
            return -1;
        return dbg_buf_adds(b, "]");
    }
    }
    return -1;
}

static int put_object(dbg_buf *b, const dbg_objdesc *d, const void *obj, int depth,
                      int with_version)
{
    if (dbg_buf_adds(b, "{") < 0)
        return -1;
    if (with_version) {
        if (put_indent(b, depth + 1) < 0 ||
            dbg_buf_printf(b, "\"schema_version\": %d,", DBG_SNAPSHOT_SCHEMA_VERSION) < 0)
            return -1;
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        const dbg_field *f = &d->fields[i];
        if ((i && dbg_buf_adds(b, ",") < 0) || put_indent(b, depth + 1) < 0 ||
            dbg_buf_printf(b, "\"%s\": ", f->key) < 0 || put_field(b, f, obj, depth + 1) < 0)
            return -1;
    }
    if (put_indent(b, depth) < 0)
        return -1;
    return dbg_buf_adds(b, "}");
}

char *dbg_snapshot_to_json(const dbg_snapshot *s)
{
    if (!s) {
        dbg_err_set(DBG_ERR_INTERNAL, "dbg_snapshot_to_json: no snapshot");
        return NULL;
    }
    dbg_buf b;
    dbg_buf_init(&b, SNAPSHOT_MAX_BYTES);
    if (put_object(&b, &dbg_snapshot_desc, s, 0, 1) < 0 || dbg_buf_adds(&b, "\n") < 0) {
        dbg_buf_free(&b);
        return NULL;
    }
    return dbg_buf_steal(&b);
}

/* ------------------------------------------------------------------ reader */

typedef struct {
    const char *source;
    char path[512]; /* JSON path of the value being read */
} reader;

static const char *json_kind_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "value";
}

static int type_error(reader *r, const char *want, const json_t *got)
{
    dbg_err_set(DBG_ERR_INVALID, "%s: %s: expected %s, got %s", r->source, r->path, want,
                json_kind_name(got));
    return -1;
}

/* Append a path component (".key" or "[i]"); return the old length to restore. */
static size_t path_push_key(reader *r, const char *key)
{
    size_t old = strlen(r->path);
    snprintf(r->path + old, sizeof(r->path) - old, ".%s", key);
    return old;
}

static size_t path_push_index(reader *r, size_t idx)
{
    size_t old = strlen(r->path);
    snprintf(r->path + old, sizeof(r->path) - old, "[%zu]", idx);
    return old;
}

static int read_object(reader *r, const dbg_objdesc *d, const json_t *j, void *obj);

static int read_string(reader *r, const json_t *v, char **out, int allow_null)
{
    if (json_is_null(v) && allow_null) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v))
        return type_error(r, allow_null ? "string or null" : "string", v);
    *out = dbg_strndup(json_string_value(v), json_string_length(v));
    return *out ? 0 : -1;
}

static int read_integer(reader *r, const json_t *v, json_int_t min, json_int_t max, json_int_t *out)
{
    if (!json_is_integer(v))
        return type_error(r, "integer", v);
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) {
        dbg_err_set(DBG_ERR_INVALID, "%s: %s: %lld is out of range %lld..%lld", r->source, r->path,
                    (long long)x, (long long)min, (long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

static int read_array(reader *r, const dbg_field *f, const json_t *v, void *obj)
{
    if (!json_is_array(v))
        return type_error(r, "array", v);
    size_t n = json_array_size(v);
    size_t elem = f->kind == DBG_F_STRV   ? sizeof(char *)
                  : f->kind == DBG_F_INTV ? sizeof(int)
                                          : f->sub->size;
    char *arr = n ? dbg_calloc(n, elem) : NULL;
    if (n && !arr)
        return -1;
    /* Hand the array over first so a failure half-way is freed by the caller's cleanup. */
    *AT(obj, f->off, char *) = arr;
    *AT(obj, f->count_off, size_t) = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        size_t old = path_push_index(r, i);
        int rc;
        if (f->kind == DBG_F_STRV) {
            rc = read_string(r, e, (char **)(arr + i * elem), 0);
        } else if (f->kind == DBG_F_INTV) {
            json_int_t x;
            rc = read_integer(r, e, INT32_MIN, INT32_MAX, &x);
            if (rc == 0)
                ((int *)arr)[i] = (int)x;
        } else {
            rc = read_object(r, f->sub, e, arr + i * elem);
        }
        if (rc < 0)
            return -1;
        r->path[old] = '\0';
    }
    return 0;
}

static int set_default(const dbg_field *f, void *obj)
{
    if (f->kind == DBG_F_INT)
        *AT(obj, f->off, int) = f->dflt;
    else if (f->kind == DBG_F_STR && f->dflt && !(*AT(obj, f->off, char *) = dbg_strdup("")))
        return -1;
    return 0;
}

static int read_field(reader *r, const dbg_field *f, const json_t *v, void *obj)
{
    json_int_t x;
    switch (f->kind) {
    case DBG_F_STR:
        if (read_string(r, v, AT(obj, f->off, char *), !f->required) < 0)
            return -1;
        if (f->dflt && !*AT(obj, f->off, char *) && !(*AT(obj, f->off, char *) = dbg_strdup("")))
            return -1;
        return 0;
    case DBG_F_BOOL:
        if (!json_is_boolean(v))
            return type_error(r, "boolean", v);
        *AT(obj, f->off, int) = json_is_true(v);
        return 0;
    case DBG_F_INT:
        if (read_integer(r, v, INT32_MIN, INT32_MAX, &x) < 0)
            return -1;
        *AT(obj, f->off, int) = (int)x;
        return 0;
    case DBG_F_I64:
        if (read_integer(r, v, INT64_MIN, INT64_MAX, &x) < 0)
            return -1;
        *AT(obj, f->off, int64_t) = (int64_t)x;
        return 0;
    case DBG_F_U64:
        if (read_integer(r, v, 0, INT64_MAX, &x) < 0)
            return -1;
        *AT(obj, f->off, uint64_t) = (uint64_t)x;
        return 0;
    case DBG_F_SIZE:
        if (read_integer(r, v, 0, INT64_MAX, &x) < 0)
            return -1;
        *AT(obj, f->off, size_t) = (size_t)x;
        return 0;
    case DBG_F_STRV:
    case DBG_F_INTV:
    case DBG_F_OBJV:
        return read_array(r, f, v, obj);
    }
    return -1;
}

static int read_object(reader *r, const dbg_objdesc *d, const json_t *j, void *obj)
{
    if (!json_is_object(j)) {
        char want[64];
        snprintf(want, sizeof(want), "%s object", d->name);
        return type_error(r, want, j);
    }
    for (size_t i = 0; i < d->n_fields; i++) {
        const dbg_field *f = &d->fields[i];
        const json_t *v = json_object_get(j, f->key);
        if (!v) {
            if (f->required) {
                dbg_err_set(DBG_ERR_INVALID, "%s: %s: %s has no \"%s\"", r->source, r->path,
                            d->name, f->key);
                return -1;
            }
            if (set_default(f, obj) < 0)
                return -1;
            continue;
        }
        size_t old = path_push_key(r, f->key);
        if (read_field(r, f, v, obj) < 0)
            return -1;
        r->path[old] = '\0';
    }
    return 0;
}

dbg_snapshot *dbg_snapshot_from_json(const char *text, size_t len, const char *source_name)
{
    reader r = {.source = source_name ? source_name : "<snapshot>", .path = "$"};
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        dbg_err_set(DBG_ERR_PARSE, "%s:%d:%d: not valid JSON: %s", r.source, jerr.line, jerr.column,
                    jerr.text);
        return NULL;
    }
    dbg_snapshot *s = NULL;
    if (!json_is_object(root)) {
        type_error(&r, "snapshot object", root);
        goto out;
    }
    const json_t *ver = json_object_get(root, "schema_version");
    if (!ver) {
        dbg_err_set(DBG_ERR_INVALID, "%s: $.schema_version: missing (not a dengbao snapshot?)",
                    r.source);
        goto out;
    }
    if (!json_is_integer(ver)) {
        snprintf(r.path, sizeof(r.path), "$.schema_version");
        type_error(&r, "integer", ver);
        goto out;
    }
    if (json_integer_value(ver) != DBG_SNAPSHOT_SCHEMA_VERSION) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $.schema_version: %lld is not supported (this dengbao reads version %d)",
                    r.source, (long long)json_integer_value(ver), DBG_SNAPSHOT_SCHEMA_VERSION);
        goto out;
    }
    /* the other JSON an assessor holds: said as such, not as '$: snapshot has no "domains"' */
    if (json_is_array(json_object_get(root, "items")) &&
        json_is_object(json_object_get(root, "score")) && !json_object_get(root, "domains")) {
        dbg_err_set(DBG_ERR_INVALID,
                    "%s: $: an assessment result (dengbao assess), not a platform snapshot: "
                    "render it with 'dengbao report FILE'",
                    r.source);
        goto out;
    }
    s = dbg_calloc(1, sizeof(*s));
    if (!s)
        goto out;
    s->schema_version = DBG_SNAPSHOT_SCHEMA_VERSION;
    if (read_object(&r, &dbg_snapshot_desc, root, s) < 0) {
        dbg_snapshot_free(s);
        s = NULL;
    }
out:
    json_decref(root);
    return s;
}

dbg_snapshot *dbg_snapshot_load(const char *path)
{
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, SNAPSHOT_MAX_BYTES, &text, &len) < 0)
        return NULL;
    return dbg_snapshot_from_json(text, len, path);
}

int dbg_snapshot_save(const dbg_snapshot *s, const char *path)
{
    DBG_AUTOFREE char *text = dbg_snapshot_to_json(s);
    if (!text)
        return -1;
    if (!strcmp(path, "-")) {
        size_t n = strlen(text);
        if (fwrite(text, 1, n, stdout) != n || fflush(stdout) != 0) {
            dbg_err_errno(DBG_ERR_IO, "stdout: write failed");
            return -1;
        }
        return 0;
    }
    return dbg_write_file_atomic(path, text, strlen(text));
}
