/* The status line dengbao agent's sensor process sends the agent through a pipe, both ends: the
 * child formats each status as one JSON line, the agent cuts what it reads into lines and parses
 * them. The agent treats the lines as untrusted: the process writing them decodes what tenants
 * send, and the agent holds the audit key. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/sensor.h"
#include "dengbao/util.h"

struct dbg_sensor_status_reader {
    dbg_buf line;   /* the line being received, without its newline */
    int discarding; /* it went over the limit: skipped up to its newline */
};

/* msg (taken) as one compact line, newline included; what names it in errors, hint says what
 * may have made it unbuildable. */
static char *line_of(json_t *msg, const char *what, const char *hint, size_t *len)
{
    char *line = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!line) {
        dbg_err_set(DBG_ERR_INVALID, "cannot build %s (%s)", what, hint);
        return NULL;
    }
    size_t n = strlen(line);
    if (n + 1 > DBG_SENSOR_STATUS_LINE_MAX) {
        free(line);
        dbg_err_set(DBG_ERR_LIMIT, "%s is %zu bytes, over the limit of %d", what, n + 1,
                    DBG_SENSOR_STATUS_LINE_MAX);
        return NULL;
    }
    line[n] = '\n'; /* json_dumps' terminator becomes the newline; the line goes by length */
    *len = n + 1;
    return line;
}

char *dbg_sensor_status_format(int ok, const char *detail, struct json_t *extra, size_t *len)
{
    if (extra && !json_is_object(extra)) {
        json_decref(extra);
        dbg_err_set(DBG_ERR_INTERNAL, "the sensor status' extra fields are not a JSON object");
        return NULL;
    }
    return line_of(json_pack("{s:b,s:s,s:o}", "ok", ok, "detail", detail ? detail : "", "extra",
                             extra ? extra : json_object()),
                   "the sensor status", "detail not UTF-8?", len);
}

char *dbg_sensor_step_format(const char *step, size_t *len)
{
    return line_of(json_pack("{s:s}", "step", step ? step : ""), "the sensor's start-up step",
                   "not UTF-8?", len);
}

/* Text from the line, for a message: valid UTF-8, controls escaped, at most about max bytes. */
static void visible(const char *s, size_t max, char *out, size_t size)
{
    char cut[128];
    dbg_utf8_copy(cut, max + 1 < sizeof(cut) ? max + 1 : sizeof(cut), s);
    int failed = 0;
    char *v = dbg_text_visible(cut, &failed);
    snprintf(out, size, "%s", v ? v : cut);
    dbg_utf8_trim_partial(out);
    free(v);
}

void dbg_sensor_status_clear(dbg_sensor_status *st)
{
    if (!st)
        return;
    free(st->detail);
    free(st->step);
    json_decref(st->extra);
    memset(st, 0, sizeof(*st));
}

int dbg_sensor_status_parse(const char *line, size_t len, dbg_sensor_status *st)
{
    memset(st, 0, sizeof(*st));
    if (len + 1 > DBG_SENSOR_STATUS_LINE_MAX) {
        dbg_err_set(DBG_ERR_LIMIT, "status line of %zu bytes, over the limit of %d", len,
                    DBG_SENSOR_STATUS_LINE_MAX - 1);
        return -1;
    }
    if (len == 0) {
        dbg_err_set(DBG_ERR_PARSE, "empty status line");
        return -1;
    }
    /* a C string would end at it, and what follows would go unread */
    const char *nul = memchr(line, '\0', len);
    if (nul) {
        dbg_err_set(DBG_ERR_PARSE, "status line has a NUL byte at offset %zu",
                    (size_t)(nul - line));
        return -1;
    }
    json_error_t e;
    json_t *msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
    if (!msg) {
        char why[200];
        visible(e.text, 120, why, sizeof(why));
        dbg_err_set(DBG_ERR_PARSE, "status line is not JSON: %s (at byte %d)", why, e.position);
        return -1;
    }
    int r = -1;
    const char *key;
    json_t *v;
    if (!json_is_object(msg)) {
        dbg_err_set(DBG_ERR_PARSE, "status line is not a JSON object");
        goto out;
    }
    json_t *step = json_object_get(msg, "step");
    if (step) { /* a start-up step: that field alone */
        if (!json_is_string(step)) {
            dbg_err_set(DBG_ERR_INVALID, "status line's \"step\" is not a string");
            goto out;
        }
        if (json_object_size(msg) != 1) {
            dbg_err_set(DBG_ERR_INVALID, "a start-up step line has other fields than \"step\"");
            goto out;
        }
        if (!(st->step = dbg_strdup(json_string_value(step))))
            goto out;
        r = 0;
        goto out;
    }
    json_object_foreach(msg, key, v)
    {
        if (strcmp(key, "ok") != 0 && strcmp(key, "detail") != 0 && strcmp(key, "extra") != 0) {
            char name[200];
            visible(key, 60, name, sizeof(name));
            dbg_err_set(DBG_ERR_INVALID, "status line has an unknown field \"%s\"", name);
            goto out;
        }
    }
    json_t *ok = json_object_get(msg, "ok");
    json_t *detail = json_object_get(msg, "detail");
    json_t *extra = json_object_get(msg, "extra");
    if (!json_is_boolean(ok)) {
        dbg_err_set(DBG_ERR_INVALID, "status line's \"ok\" is %s, not true or false",
                    ok ? "of another type" : "missing");
        goto out;
    }
    if (!json_is_string(detail)) {
        dbg_err_set(DBG_ERR_INVALID, "status line's \"detail\" is %s, not a string",
                    detail ? "of another type" : "missing");
        goto out;
    }
    if (!json_is_object(extra)) {
        dbg_err_set(DBG_ERR_INVALID, "status line's \"extra\" is %s, not an object",
                    extra ? "of another type" : "missing");
        goto out;
    }
    if (!(st->detail = dbg_strdup(json_string_value(detail))))
        goto out;
    st->ok = json_is_true(ok);
    st->extra = json_incref(extra);
    r = 0;
out:
    json_decref(msg);
    return r;
}

dbg_sensor_status_reader *dbg_sensor_status_reader_new(void)
{
    dbg_sensor_status_reader *r = dbg_calloc(1, sizeof(*r));
    if (r)
        dbg_buf_init(&r->line, DBG_SENSOR_STATUS_LINE_MAX - 1);
    return r;
}

static void one_line(dbg_sensor_status_reader *r, dbg_sensor_status_fn fn, void *ud)
{
    dbg_sensor_status st;
    if (dbg_sensor_status_parse(r->line.data ? r->line.data : "", r->line.len, &st) != 0) {
        fn(ud, NULL, dbg_err_msg());
        dbg_err_clear();
        return;
    }
    fn(ud, &st, NULL);
    dbg_sensor_status_clear(&st);
}

void dbg_sensor_status_reader_feed(dbg_sensor_status_reader *r, const char *data, size_t len,
                                   dbg_sensor_status_fn fn, void *ud)
{
    for (const char *p = data, *end = data + len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t seg = (size_t)((nl ? nl : end) - p);
        if (!r->discarding && dbg_buf_add(&r->line, p, seg) != 0) {
            char why[100];
            snprintf(why, sizeof(why), "status line longer than %d bytes: skipped to its end",
                     DBG_SENSOR_STATUS_LINE_MAX - 1);
            dbg_err_clear();
            fn(ud, NULL, why);
            r->discarding = 1;
        }
        if (nl) {
            if (!r->discarding)
                one_line(r, fn, ud);
            dbg_buf_reset(&r->line);
            r->discarding = 0;
        }
        p += seg + (nl != NULL);
    }
}

void dbg_sensor_status_reader_end(dbg_sensor_status_reader *r, dbg_sensor_status_fn fn, void *ud)
{
    if (r->line.len && !r->discarding) {
        char why[100];
        snprintf(why, sizeof(why), "the last status line was cut off after %zu bytes", r->line.len);
        fn(ud, NULL, why);
    }
    dbg_buf_reset(&r->line);
    r->discarding = 0;
}

void dbg_sensor_status_reader_free(dbg_sensor_status_reader *r)
{
    if (!r)
        return;
    dbg_buf_free(&r->line);
    free(r);
}
