/* The one canonical JSON form of an audit record (sorted keys, no whitespace, validated UTF-8),
 * so that the leaf hash of a record can be reproduced by anyone holding its fields; plus the
 * strict parser that reads stored records and user-supplied JSON records back. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

static int canon_string(dbg_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (dbg_buf_add(out, "\"", 1) < 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > run && dbg_buf_add(out, s + run, i - run) < 0)
            return -1;
        char esc[7];
        size_t el = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        if (dbg_buf_add(out, esc, el) < 0)
            return -1;
        run = i + 1;
    }
    if (len > run && dbg_buf_add(out, s + run, len - run) < 0)
        return -1;
    return dbg_buf_add(out, "\"", 1);
}

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int aud_canon_json(dbg_buf *out, const json_t *v, int depth)
{
    if (depth > AUD_MAX_DETAILS_DEPTH) {
        dbg_err_set(DBG_ERR_LIMIT, "JSON nested deeper than %d levels", AUD_MAX_DETAILS_DEPTH);
        return -1;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = dbg_calloc(n ? n : 1, sizeof(*keys));
        if (!keys)
            return -1;
        const char *k;
        json_t *val;
        json_object_foreach((json_t *)v, k, val) keys[i++] = k;
        qsort(keys, n, sizeof(*keys), cmp_keys);
        int r = dbg_buf_add(out, "{", 1);
        for (i = 0; r == 0 && i < n; i++) {
            if (i && dbg_buf_add(out, ",", 1) < 0)
                r = -1;
            else if (canon_string(out, keys[i], strlen(keys[i])) < 0 || dbg_buf_add(out, ":", 1) < 0 ||
                     aud_canon_json(out, json_object_get(v, keys[i]), depth + 1) < 0)
                r = -1;
        }
        free(keys);
        return r < 0 ? -1 : dbg_buf_add(out, "}", 1);
    }
    case JSON_ARRAY: {
        if (dbg_buf_add(out, "[", 1) < 0)
            return -1;
        for (size_t i = 0; i < json_array_size(v); i++) {
            if ((i && dbg_buf_add(out, ",", 1) < 0) || aud_canon_json(out, json_array_get(v, i), depth + 1) < 0)
                return -1;
        }
        return dbg_buf_add(out, "]", 1);
    }
    case JSON_STRING:
        return canon_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return dbg_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: {
        char tmp[40];
        snprintf(tmp, sizeof(tmp), "%.17g", json_real_value(v));
        if (!strpbrk(tmp, ".eEn"))
            return dbg_buf_printf(out, "%s.0", tmp);
        return dbg_buf_adds(out, tmp);
    }
    case JSON_TRUE:
        return dbg_buf_adds(out, "true");
    case JSON_FALSE:
        return dbg_buf_adds(out, "false");
    case JSON_NULL:
        return dbg_buf_adds(out, "null");
    }
    dbg_err_set(DBG_ERR_INTERNAL, "unknown JSON type");
    return -1;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int check_field(const char *name, const char *v, int required)
{
    if (!v || !*v) {
        if (required) {
            dbg_err_set(DBG_ERR_INVALID, "audit record: field '%s' is required", name);
            return -1;
        }
        return 0;
    }
    size_t len = strlen(v);
    if (len > AUD_MAX_FIELD) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record: field '%s' is %zu bytes (limit %d)", name, len, AUD_MAX_FIELD);
        return -1;
    }
    if (!dbg_utf8_valid(v, len)) {
        dbg_err_set(DBG_ERR_INVALID, "audit record: field '%s' is not valid UTF-8", name);
        return -1;
    }
    return 0;
}

/* Parses and canonicalizes details (a JSON object) into out. */
static int canon_details(const char *details, dbg_buf *out)
{
    if (!details || !*details)
        return dbg_buf_add(out, "{}", 2);
    size_t len = strlen(details);
    if (len > AUD_MAX_DETAILS) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record: details is %zu bytes (limit %d)", len, AUD_MAX_DETAILS);
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_loadb(details, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        dbg_err_set(DBG_ERR_PARSE, "audit record: details: %s at line %d column %d", jerr.text, jerr.line,
                    jerr.column);
        return -1;
    }
    int r;
    if (!json_is_object(j)) {
        dbg_err_set(DBG_ERR_INVALID, "audit record: details must be a JSON object");
        r = -1;
    } else {
        r = aud_canon_json(out, j, 1);
    }
    json_decref(j);
    return r;
}

int aud_record_validate(const dbg_audit_record *rec)
{
    if (check_field("actor", rec->actor, 1) < 0 || check_field("action", rec->action, 1) < 0 ||
        check_field("outcome", rec->outcome, 1) < 0 || check_field("role", rec->role, 0) < 0 ||
        check_field("tenant", rec->tenant, 0) < 0 || check_field("target_type", rec->target_type, 0) < 0 ||
        check_field("target_name", rec->target_name, 0) < 0 ||
        check_field("target_uuid", rec->target_uuid, 0) < 0 || check_field("source", rec->source, 0) < 0)
        return -1;
    return 0;
}

/* Keys in byte order: action actor details outcome role seq source target{name type uuid} tenant time */
int aud_record_canonical(const dbg_audit_record *rec, uint64_t seq, int64_t time_us, dbg_buf *out)
{
    char ts[40];
    dbg_time_rfc3339(time_us, ts, sizeof(ts));
    if (aud_record_validate(rec) < 0)
        return -1;
    if (dbg_buf_adds(out, "{\"action\":") < 0 || canon_string(out, rec->action, strlen(rec->action)) < 0 ||
        dbg_buf_adds(out, ",\"actor\":") < 0 || canon_string(out, rec->actor, strlen(rec->actor)) < 0 ||
        dbg_buf_adds(out, ",\"details\":") < 0 || canon_details(rec->details_json, out) < 0 ||
        dbg_buf_adds(out, ",\"outcome\":") < 0 || canon_string(out, rec->outcome, strlen(rec->outcome)) < 0 ||
        dbg_buf_adds(out, ",\"role\":") < 0 || canon_string(out, nz(rec->role), strlen(nz(rec->role))) < 0 ||
        dbg_buf_printf(out, ",\"seq\":%" PRIu64 ",\"source\":", seq) < 0 ||
        canon_string(out, nz(rec->source), strlen(nz(rec->source))) < 0 ||
        dbg_buf_adds(out, ",\"target\":{\"name\":") < 0 ||
        canon_string(out, nz(rec->target_name), strlen(nz(rec->target_name))) < 0 ||
        dbg_buf_adds(out, ",\"type\":") < 0 ||
        canon_string(out, nz(rec->target_type), strlen(nz(rec->target_type))) < 0 ||
        dbg_buf_adds(out, ",\"uuid\":") < 0 ||
        canon_string(out, nz(rec->target_uuid), strlen(nz(rec->target_uuid))) < 0 ||
        dbg_buf_adds(out, "},\"tenant\":") < 0 ||
        canon_string(out, nz(rec->tenant), strlen(nz(rec->tenant))) < 0 ||
        dbg_buf_printf(out, ",\"time\":\"%s\"}", ts) < 0)
        return -1;
    if (out->len > AUD_MAX_RECORD) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record is %zu bytes (limit %d)", out->len, AUD_MAX_RECORD);
        return -1;
    }
    return 0;
}

void aud_parsed_record_free(aud_parsed_record *p)
{
    free(p->actor);
    free(p->role);
    free(p->tenant);
    free(p->action);
    free(p->target_type);
    free(p->target_name);
    free(p->target_uuid);
    free(p->outcome);
    free(p->source);
    free(p->details);
    memset(p, 0, sizeof(*p));
}

/* Copies string member key of o into *dst; absent is allowed unless required. */
static int take_string(const json_t *o, const char *key, const char *what, const char *label, char **dst)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        dbg_err_set(DBG_ERR_INVALID, "%s: field '%s' must be a string", what, label);
        return -1;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        dbg_err_set(DBG_ERR_INVALID, "%s: field '%s' contains a NUL character", what, label);
        return -1;
    }
    *dst = dbg_strdup(json_string_value(v));
    return *dst ? 0 : -1;
}

static int fill_from_object(json_t *o, const char *what, int stored, aud_parsed_record *out)
{
    static const char *const top[] = {"action", "actor", "details", "outcome", "role", "seq",
                                      "source", "target", "tenant", "time",
                                      /* flat spellings accepted on input */
                                      "target_type", "target_name", "target_uuid"};
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        size_t i, n = stored ? 10 : sizeof(top) / sizeof(top[0]);
        for (i = 0; i < n; i++)
            if (!strcmp(k, top[i]))
                break;
        if (i == n) {
            dbg_err_set(DBG_ERR_INVALID, "%s: unknown field '%s'", what, k);
            return -1;
        }
    }
    if (take_string(o, "action", what, "action", &out->action) < 0 ||
        take_string(o, "actor", what, "actor", &out->actor) < 0 ||
        take_string(o, "outcome", what, "outcome", &out->outcome) < 0 ||
        take_string(o, "role", what, "role", &out->role) < 0 ||
        take_string(o, "source", what, "source", &out->source) < 0 ||
        take_string(o, "tenant", what, "tenant", &out->tenant) < 0 ||
        take_string(o, "target_type", what, "target_type", &out->target_type) < 0 ||
        take_string(o, "target_name", what, "target_name", &out->target_name) < 0 ||
        take_string(o, "target_uuid", what, "target_uuid", &out->target_uuid) < 0)
        return -1;
    json_t *t = json_object_get(o, "target");
    if (t) {
        if (!json_is_object(t)) {
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'target' must be an object {type, name, uuid}", what);
            return -1;
        }
        json_object_foreach(t, k, v)
        {
            if (strcmp(k, "type") && strcmp(k, "name") && strcmp(k, "uuid")) {
                dbg_err_set(DBG_ERR_INVALID, "%s: unknown field 'target.%s'", what, k);
                return -1;
            }
        }
        if ((!out->target_type && take_string(t, "type", what, "target.type", &out->target_type) < 0) ||
            (!out->target_name && take_string(t, "name", what, "target.name", &out->target_name) < 0) ||
            (!out->target_uuid && take_string(t, "uuid", what, "target.uuid", &out->target_uuid) < 0))
            return -1;
    }
    json_t *d = json_object_get(o, "details");
    if (d && !json_is_null(d)) {
        if (!json_is_object(d)) {
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'details' must be a JSON object", what);
            return -1;
        }
        dbg_buf b;
        dbg_buf_init(&b, AUD_MAX_DETAILS);
        if (aud_canon_json(&b, d, 1) < 0) {
            dbg_buf_free(&b);
            return -1;
        }
        out->details = dbg_buf_steal(&b);
        if (!out->details)
            return -1;
    }
    json_t *s = json_object_get(o, "seq");
    if (s) {
        if (!json_is_integer(s) || json_integer_value(s) < 0) {
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'seq' must be a non-negative integer", what);
            return -1;
        }
        out->rec.seq = (uint64_t)json_integer_value(s);
    } else if (stored) {
        dbg_err_set(DBG_ERR_INVALID, "%s: no 'seq'", what);
        return -1;
    }
    json_t *tm = json_object_get(o, "time");
    if (tm) {
        if (!json_is_string(tm) || dbg_time_parse_rfc3339(json_string_value(tm), &out->rec.time_us) < 0) {
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'time' must be an RFC 3339 time", what);
            return -1;
        }
    } else if (stored) {
        dbg_err_set(DBG_ERR_INVALID, "%s: no 'time'", what);
        return -1;
    }
    out->rec.actor = out->actor;
    out->rec.role = out->role;
    out->rec.tenant = out->tenant;
    out->rec.action = out->action;
    out->rec.target_type = out->target_type;
    out->rec.target_name = out->target_name;
    out->rec.target_uuid = out->target_uuid;
    out->rec.outcome = out->outcome;
    out->rec.source = out->source;
    out->rec.details_json = out->details;
    if (aud_record_validate(&out->rec) < 0) {
        char msg[sizeof(((dbg_err *)0)->msg)];
        snprintf(msg, sizeof(msg), "%s", dbg_err_msg());
        dbg_err_set(dbg_err_code(), "%s: %s", what, msg);
        return -1;
    }
    return 0;
}

static json_t *load_object(const char *text, size_t len, const char *what)
{
    if (len > AUD_MAX_RECORD) {
        dbg_err_set(DBG_ERR_LIMIT, "%s: record is %zu bytes (limit %d)", what, len, AUD_MAX_RECORD);
        return NULL;
    }
    if (!dbg_utf8_valid(text, len)) {
        dbg_err_set(DBG_ERR_PARSE, "%s: not valid UTF-8", what);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        dbg_err_set(DBG_ERR_PARSE, "%s: malformed JSON: %s (column %d)", what, jerr.text, jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        dbg_err_set(DBG_ERR_INVALID, "%s: a record must be a JSON object", what);
        json_decref(j);
        return NULL;
    }
    return j;
}

int aud_record_from_json(const char *text, size_t len, const char *what, aud_parsed_record *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load_object(text, len, what);
    if (!j)
        return -1;
    int r = fill_from_object(j, what, 0, out);
    json_decref(j);
    if (r < 0)
        aud_parsed_record_free(out);
    return r;
}

int aud_record_parse(const uint8_t *data, size_t len, const char *what, aud_parsed_record *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load_object((const char *)data, len, what);
    if (!j)
        return -1;
    int r = fill_from_object(j, what, 1, out);
    json_decref(j);
    if (r == 0) {
        /* Stored bytes must be exactly the canonical form, else two byte strings could stand for
         * one record. */
        dbg_buf b;
        dbg_buf_init(&b, AUD_MAX_RECORD + 1);
        r = aud_record_canonical(&out->rec, out->rec.seq, out->rec.time_us, &b);
        if (r == 0 && (b.len != len || memcmp(b.data, data, len) != 0)) {
            dbg_err_set(DBG_ERR_INVALID, "%s: record is not in canonical form", what);
            r = -1;
        }
        dbg_buf_free(&b);
    }
    if (r < 0)
        aud_parsed_record_free(out);
    return r;
}
