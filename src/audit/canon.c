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
    size_t k = 0;
    while (k < len && (unsigned char)s[k] >= 0x20 && s[k] != '"' && s[k] != '\\')
        k++;
    if (k == len && len < 256) {
        char tmp[258];
        tmp[0] = '"';
        memcpy(tmp + 1, s, len);
        tmp[len + 1] = '"';
        return dbg_buf_add(out, tmp, len + 2);
    }
    if (dbg_buf_add(out, "\"", 1) < 0)
        return -1;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > run && dbg_buf_add(out, s + run, i - run) < 0)
            return -1;
        /* JSON's two-character escapes where there is one, else \u00xx */
        static const char named[] = "\"\\\b\f\n\r\t", letter[] = "\"\\bfnrt";
        const char *named_at = memchr(named, c, sizeof(named) - 1);
        char esc[7] = {
            '\\', named_at ? letter[named_at - named] : 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        size_t el = named_at ? 2 : 6;
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
            else if (canon_string(out, keys[i], strlen(keys[i])) < 0 ||
                     dbg_buf_add(out, ":", 1) < 0 ||
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
            if ((i && dbg_buf_add(out, ",", 1) < 0) ||
                aud_canon_json(out, json_array_get(v, i), depth + 1) < 0)
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

/* dbg_utf8_valid with an ASCII fast path: most audit fields are ASCII. */
static int utf8_ok(const char *s, size_t len)
{
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, s + i, 8);
        if (v & 0x8080808080808080ull)
            return dbg_utf8_valid(s + i, len - i);
    }
    for (; i < len; i++)
        if ((unsigned char)s[i] & 0x80)
            return dbg_utf8_valid(s + i, len - i);
    return 1;
}

static int check_field(const char *name, const char *v, int required, size_t *len_out)
{
    *len_out = 0;
    if (!v || !*v) {
        if (required) {
            dbg_err_set(DBG_ERR_INVALID, "audit record: field '%s' is required", name);
            return -1;
        }
        return 0;
    }
    size_t len = strlen(v);
    if (len > AUD_MAX_FIELD) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record: field '%s' is %zu bytes (limit %d)", name, len,
                    AUD_MAX_FIELD);
        return -1;
    }
    if (!utf8_ok(v, len)) {
        dbg_err_set(DBG_ERR_INVALID, "audit record: field '%s' is not valid UTF-8", name);
        return -1;
    }
    *len_out = len;
    return 0;
}

/* ---- fast path: details text that is already canonical is copied as is ----
 * The checker accepts only a subset of canonical JSON it can judge without decoding (no reals,
 * no backslash in keys, no \u escapes other than the canonical control-character ones); anything
 * else goes through jansson and aud_canon_json, which give the same bytes for canonical input. */
typedef struct {
    const char *p, *end;
} cursor;

static int cc_value(cursor *c, int depth);

static int cc_string(cursor *c, int is_key)
{
    if (c->p >= c->end || *c->p != '"')
        return 0;
    c->p++;
    while (c->p < c->end) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            return 1;
        }
        if (ch < 0x20)
            return 0;
        if (ch == '\\') {
            if (is_key || c->end - c->p < 2)
                return 0;
            char e = c->p[1];
            if (e == '"' || e == '\\' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
                c->p += 2;
                continue;
            }
            if (e != 'u' || c->end - c->p < 6 || c->p[2] != '0' || c->p[3] != '0' ||
                (c->p[4] != '0' && c->p[4] != '1'))
                return 0;
            char h = c->p[5];
            int v = (c->p[4] - '0') * 16 + (h >= '0' && h <= '9'   ? h - '0'
                                            : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                                                   : -100);
            if (v <= 0 || v == '\b' || v == '\f' || v == '\n' || v == '\r' || v == '\t')
                return 0;
            c->p += 6;
            continue;
        }
        c->p++;
    }
    return 0;
}

static int cc_literal(cursor *c, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

static int cc_value(cursor *c, int depth)
{
    if (c->p >= c->end || depth > AUD_MAX_DETAILS_DEPTH)
        return 0;
    char ch = *c->p;
    if (ch == '{') {
        c->p++;
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return 1;
        }
        const char *prev = NULL;
        size_t prev_len = 0;
        for (;;) {
            const char *k = c->p + 1;
            if (!cc_string(c, 1))
                return 0;
            size_t klen = (size_t)(c->p - 1 - k);
            if (prev) {
                size_t m = prev_len < klen ? prev_len : klen;
                int cmp = memcmp(prev, k, m);
                if (cmp > 0 || (cmp == 0 && prev_len >= klen))
                    return 0; /* not strictly increasing: unsorted or duplicate */
            }
            prev = k;
            prev_len = klen;
            if (c->p >= c->end || *c->p != ':')
                return 0;
            c->p++;
            if (!cc_value(c, depth + 1))
                return 0;
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == '}') {
                c->p++;
                return 1;
            }
            return 0;
        }
    }
    if (ch == '[') {
        c->p++;
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return 1;
        }
        for (;;) {
            if (!cc_value(c, depth + 1))
                return 0;
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                continue;
            }
            if (c->p < c->end && *c->p == ']') {
                c->p++;
                return 1;
            }
            return 0;
        }
    }
    if (ch == '"')
        return cc_string(c, 0);
    if (ch == 't')
        return cc_literal(c, "true");
    if (ch == 'f')
        return cc_literal(c, "false");
    if (ch == 'n')
        return cc_literal(c, "null");
    if (ch == '-' || (ch >= '0' && ch <= '9')) {
        const char *st = c->p;
        if (ch == '-')
            c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return 0;
        if (*c->p == '0') {
            c->p++;
            if (ch == '-')
                return 0; /* -0 is written 0 */
        } else {
            while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
                c->p++;
        }
        if (c->p - st > 18)
            return 0; /* leave range questions to jansson */
        if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
            return 0;
        return 1;
    }
    return 0;
}

/* 1 when details (UTF-8 validated) is already a canonical JSON object. */
static int details_already_canonical(const char *d, size_t len)
{
    if (len < 2 || d[0] != '{')
        return 0;
    cursor c = {d, d + len};
    return cc_value(&c, 1) && c.p == c.end;
}

/* Parses and canonicalizes details (a JSON object) into out. */
static int canon_details(const char *details, dbg_buf *out)
{
    if (!details || !*details)
        return dbg_buf_add(out, "{}", 2);
    size_t len = strlen(details);
    if (len > AUD_MAX_DETAILS) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record: details is %zu bytes (limit %d)", len,
                    AUD_MAX_DETAILS);
        return -1;
    }
    if (utf8_ok(details, len) && details_already_canonical(details, len))
        return dbg_buf_add(out, details, len);
    json_error_t jerr;
    json_t *j = json_loadb(details, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        dbg_err_set(DBG_ERR_PARSE, "audit record: details: %s at line %d column %d", jerr.text,
                    jerr.line, jerr.column);
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

int aud_canon_details_slow(const char *details, dbg_buf *out)
{
    json_error_t jerr;
    json_t *j = json_loads(details, JSON_REJECT_DUPLICATES, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        dbg_err_set(DBG_ERR_PARSE, "details: not a JSON object");
        return -1;
    }
    int r = aud_canon_json(out, j, 1);
    json_decref(j);
    return r;
}

int aud_canon_details(const char *details, dbg_buf *out)
{
    return canon_details(details, out);
}

int aud_record_validate(const dbg_audit_record *rec)
{
    size_t l;
    if (check_field("actor", rec->actor, 1, &l) < 0 ||
        check_field("action", rec->action, 1, &l) < 0 ||
        check_field("outcome", rec->outcome, 1, &l) < 0 ||
        check_field("role", rec->role, 0, &l) < 0 ||
        check_field("tenant", rec->tenant, 0, &l) < 0 ||
        check_field("target_type", rec->target_type, 0, &l) < 0 ||
        check_field("target_name", rec->target_name, 0, &l) < 0 ||
        check_field("target_uuid", rec->target_uuid, 0, &l) < 0 ||
        check_field("source", rec->source, 0, &l) < 0)
        return -1;
    return 0;
}

/* Record times are stored as four-digit years, the only form the parser reads back: 0000-01-01
 * to 9999-12-31, in microseconds since the epoch. */
#define TIME_MIN_US (DBG_TIME_FIRST_S * 1000000)
#define TIME_END_US ((DBG_TIME_LAST_S + 1) * 1000000)

static int time_storable(int64_t us)
{
    return us >= TIME_MIN_US && us < TIME_END_US;
}

/* RFC 3339 UTC with microseconds without gmtime/printf: civil date from days since the epoch
 * (H. Hinnant's algorithm). Same output as dbg_time_rfc3339. */
static size_t format_time(int64_t us, char out[32])
{
    int64_t secs = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
    int64_t frac = us - secs * 1000000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    if (y < 0 || y > 9999) {
        dbg_time_rfc3339(us, out, 32);
        return strlen(out);
    }
    int64_t hh = rem / 3600, mm = rem / 60 % 60, ss = rem % 60;
    char *p = out;
    *p++ = (char)('0' + y / 1000);
    *p++ = (char)('0' + y / 100 % 10);
    *p++ = (char)('0' + y / 10 % 10);
    *p++ = (char)('0' + y % 10);
    *p++ = '-';
    *p++ = (char)('0' + m / 10);
    *p++ = (char)('0' + m % 10);
    *p++ = '-';
    *p++ = (char)('0' + d / 10);
    *p++ = (char)('0' + d % 10);
    *p++ = 'T';
    *p++ = (char)('0' + hh / 10);
    *p++ = (char)('0' + hh % 10);
    *p++ = ':';
    *p++ = (char)('0' + mm / 10);
    *p++ = (char)('0' + mm % 10);
    *p++ = ':';
    *p++ = (char)('0' + ss / 10);
    *p++ = (char)('0' + ss % 10);
    *p++ = '.';
    for (int64_t div = 100000; div; div /= 10)
        *p++ = (char)('0' + frac / div % 10);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

size_t aud_format_time(int64_t us, char out[32])
{
    return format_time(us, out);
}

static size_t format_u64(uint64_t v, char out[24])
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

#define ADD_LIT(b, lit) dbg_buf_add((b), (lit), sizeof(lit) - 1)

/* Keys in byte order: action actor details outcome role seq source target{name type uuid} tenant
 * tenant_prev time (tenant_prev only in a record of a tenant; see audit_int.h) */
int aud_record_canonical(const dbg_audit_record *rec, uint64_t seq, int64_t time_us,
                         int64_t tenant_prev, dbg_buf *out)
{
    if (aud_record_validate(rec) < 0)
        return -1;
    if (tenant_prev != AUD_TPREV_ABSENT &&
        (!rec->tenant || !*rec->tenant || tenant_prev < AUD_TPREV_NONE ||
         (tenant_prev >= 0 && (uint64_t)tenant_prev >= seq))) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit record: field 'tenant_prev' (%lld) must be a seq below the record's "
                    "own (%llu) in a record of a tenant",
                    (long long)tenant_prev, (unsigned long long)seq);
        return -1;
    }
    if (!time_storable(time_us)) {
        dbg_err_set(DBG_ERR_INVALID,
                    "audit record: field 'time' (%lld us since 1970) is outside years 0000-9999",
                    (long long)time_us);
        return -1;
    }
    char ts[32], num[24];
    size_t tl = format_time(time_us, ts), nl = format_u64(seq, num);
    const char *role = nz(rec->role), *source = nz(rec->source), *tn = nz(rec->target_name),
               *tt = nz(rec->target_type), *tu = nz(rec->target_uuid), *tenant = nz(rec->tenant);
    if (ADD_LIT(out, "{\"action\":") < 0 ||
        canon_string(out, rec->action, strlen(rec->action)) < 0 ||
        ADD_LIT(out, ",\"actor\":") < 0 || canon_string(out, rec->actor, strlen(rec->actor)) < 0 ||
        ADD_LIT(out, ",\"details\":") < 0 || canon_details(rec->details_json, out) < 0 ||
        ADD_LIT(out, ",\"outcome\":") < 0 ||
        canon_string(out, rec->outcome, strlen(rec->outcome)) < 0 ||
        ADD_LIT(out, ",\"role\":") < 0 || canon_string(out, role, strlen(role)) < 0 ||
        ADD_LIT(out, ",\"seq\":") < 0 || dbg_buf_add(out, num, nl) < 0 ||
        ADD_LIT(out, ",\"source\":") < 0 || canon_string(out, source, strlen(source)) < 0 ||
        ADD_LIT(out, ",\"target\":{\"name\":") < 0 || canon_string(out, tn, strlen(tn)) < 0 ||
        ADD_LIT(out, ",\"type\":") < 0 || canon_string(out, tt, strlen(tt)) < 0 ||
        ADD_LIT(out, ",\"uuid\":") < 0 || canon_string(out, tu, strlen(tu)) < 0 ||
        ADD_LIT(out, "},\"tenant\":") < 0 || canon_string(out, tenant, strlen(tenant)) < 0)
        return -1;
    if (tenant_prev != AUD_TPREV_ABSENT) {
        char pn[24];
        size_t pl = tenant_prev >= 0 ? format_u64((uint64_t)tenant_prev, pn) : 0;
        if (ADD_LIT(out, ",\"tenant_prev\":") < 0 ||
            (tenant_prev >= 0 ? dbg_buf_add(out, pn, pl) : ADD_LIT(out, "null")) < 0)
            return -1;
    }
    if (ADD_LIT(out, ",\"time\":\"") < 0 || dbg_buf_add(out, ts, tl) < 0 || ADD_LIT(out, "\"}") < 0)
        return -1;
    if (out->len > AUD_MAX_RECORD) {
        dbg_err_set(DBG_ERR_LIMIT, "audit record is %zu bytes (limit %d)", out->len,
                    AUD_MAX_RECORD);
        return -1;
    }
    return 0;
}

/* Canonical bytes of the fields before and after the details object, compared in place with the
 * stored bytes: the index check's fast path (no parse, no allocation beyond scratch). */
int aud_record_fields_match(const uint8_t *data, size_t len, const dbg_audit_record *f,
                            uint64_t seq, dbg_buf *scratch)
{
    char ts[32], num[24];
    size_t tl = format_time(f->time_us, ts), nl = format_u64(seq, num);
    const char *action = nz(f->action), *actor = nz(f->actor), *outcome = nz(f->outcome),
               *role = nz(f->role), *source = nz(f->source), *tn = nz(f->target_name),
               *tt = nz(f->target_type), *tu = nz(f->target_uuid), *tenant = nz(f->tenant);
    dbg_buf_reset(scratch);
    if (ADD_LIT(scratch, "{\"action\":") < 0 || canon_string(scratch, action, strlen(action)) < 0 ||
        ADD_LIT(scratch, ",\"actor\":") < 0 || canon_string(scratch, actor, strlen(actor)) < 0 ||
        ADD_LIT(scratch, ",\"details\":") < 0)
        return 0; /* not representable: cannot be what the record holds */
    size_t pre = scratch->len;
    if (pre > len || memcmp(data, scratch->data, pre) != 0)
        return 0;
    dbg_buf_reset(scratch);
    if (ADD_LIT(scratch, ",\"outcome\":") < 0 ||
        canon_string(scratch, outcome, strlen(outcome)) < 0 || ADD_LIT(scratch, ",\"role\":") < 0 ||
        canon_string(scratch, role, strlen(role)) < 0 || ADD_LIT(scratch, ",\"seq\":") < 0 ||
        dbg_buf_add(scratch, num, nl) < 0 || ADD_LIT(scratch, ",\"source\":") < 0 ||
        canon_string(scratch, source, strlen(source)) < 0 ||
        ADD_LIT(scratch, ",\"target\":{\"name\":") < 0 ||
        canon_string(scratch, tn, strlen(tn)) < 0 || ADD_LIT(scratch, ",\"type\":") < 0 ||
        canon_string(scratch, tt, strlen(tt)) < 0 || ADD_LIT(scratch, ",\"uuid\":") < 0 ||
        canon_string(scratch, tu, strlen(tu)) < 0 || ADD_LIT(scratch, "},\"tenant\":") < 0 ||
        canon_string(scratch, tenant, strlen(tenant)) < 0)
        return 0;
    size_t mid = scratch->len;
    if (ADD_LIT(scratch, ",\"time\":\"") < 0 || dbg_buf_add(scratch, ts, tl) < 0 ||
        ADD_LIT(scratch, "\"}") < 0)
        return 0;
    /* the record's own tenant_prev (not a column of the index; the leaf hash covers it) sits
     * between tenant and time: skip it */
    size_t tail = scratch->len - mid, end = len;
    if (tail > end || memcmp(data + end - tail, scratch->data + mid, tail) != 0)
        return 0;
    end -= tail;
    static const char key[] = ",\"tenant_prev\":";
    size_t kl = sizeof(key) - 1, v = end;
    while (v > 0 && data[v - 1] >= '0' && data[v - 1] <= '9')
        v--;
    if (v == end && end >= 4 && memcmp(data + end - 4, "null", 4) == 0)
        v = end - 4;
    if (v < end && v >= kl && memcmp(data + v - kl, key, kl) == 0)
        end = v - kl;
    /* at least "{}" of details between the two parts */
    return pre + 2 + mid <= end && memcmp(data + end - mid, scratch->data, mid) == 0;
}

char *aud_record_tenant(const uint8_t *data, size_t len)
{
    static const char pat[] = "},\"tenant\":\"";
    size_t pl = sizeof(pat) - 1, at = len;
    for (size_t i = len >= pl ? len - pl + 1 : 0; i-- > 0;) {
        if (memcmp(data + i, pat, pl) == 0) {
            at = i + pl;
            break;
        }
    }
    if (at == len)
        return NULL;
    dbg_buf b;
    dbg_buf_init(&b, AUD_MAX_FIELD + 1);
    for (size_t i = at; i < len; i++) {
        char c = (char)data[i];
        if (c == '"')
            return dbg_buf_steal(&b);
        if (c == '\\') {
            if (++i >= len)
                break;
            static const char from[] = "\"\\bfnrt", to[] = "\"\\\b\f\n\r\t";
            const char *e = memchr(from, data[i], sizeof(from) - 1);
            unsigned v;
            if (e)
                c = to[e - from];
            else if (data[i] == 'u' && i + 4 < len &&
                     sscanf((const char *)data + i + 1, "%4x", &v) == 1 &&
                     v < 0x20) /* canonical form escapes nothing else */
                c = (char)v, i += 4;
            else
                break;
        }
        if (dbg_buf_add(&b, &c, 1) < 0)
            break;
    }
    dbg_buf_free(&b);
    return NULL;
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
static int take_string(const json_t *o, const char *key, const char *what, const char *label,
                       char **dst)
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
    out->tenant_prev = AUD_TPREV_ABSENT;
    json_object_foreach(o, k, v)
    {
        size_t i, n = stored ? 10 : sizeof(top) / sizeof(top[0]);
        for (i = 0; i < n; i++)
            if (!strcmp(k, top[i]))
                break;
        if (i == n && stored && !strcmp(k, "tenant_prev"))
            continue;
        if (i == n && !strcmp(k, "tenant_prev")) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: field 'tenant_prev' is not taken: the log links a tenant's records "
                        "itself",
                        what);
            return -1;
        }
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
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'target' must be an object {type, name, uuid}",
                        what);
            return -1;
        }
        json_object_foreach(t, k, v)
        {
            if (strcmp(k, "type") && strcmp(k, "name") && strcmp(k, "uuid")) {
                dbg_err_set(DBG_ERR_INVALID, "%s: unknown field 'target.%s'", what, k);
                return -1;
            }
        }
        if ((!out->target_type &&
             take_string(t, "type", what, "target.type", &out->target_type) < 0) ||
            (!out->target_name &&
             take_string(t, "name", what, "target.name", &out->target_name) < 0) ||
            (!out->target_uuid &&
             take_string(t, "uuid", what, "target.uuid", &out->target_uuid) < 0))
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
        if (!json_is_string(tm)) {
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'time' must be an RFC 3339 time", what);
            return -1;
        }
        if (dbg_time_parse_rfc3339(json_string_value(tm), &out->rec.time_us) < 0) {
            /* the parser's words: a time without a zone (8 hours off if it was Beijing's) is
             * told to add Z or +08:00 */
            char msg[sizeof(((dbg_err *)0)->msg)];
            snprintf(msg, sizeof(msg), "%s", dbg_err_msg());
            dbg_err_set(DBG_ERR_INVALID, "%s: field 'time' must be an RFC 3339 time: %s", what,
                        msg);
            return -1;
        }
        if (!time_storable(out->rec.time_us)) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: field 'time' ('%s') is outside years 0000-9999 in UTC", what,
                        json_string_value(tm));
            return -1;
        }
        /* A record dated ahead of the writer's clock (beyond a clock step's slack) is dated
         * after the head that will sign it, and prune, which drops a segment only when every
         * record in it is old enough, would keep that segment and every later one until then. */
        int64_t now = dbg_now_us();
        if (!stored && out->rec.time_us > now + AUD_MAX_FUTURE_US) {
            char nowtxt[40];
            dbg_time_rfc3339(now, nowtxt, sizeof(nowtxt));
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: field 'time' ('%s') is after now (%s): a record is not dated in "
                        "the future",
                        what, json_string_value(tm), nowtxt);
            return -1;
        }
    } else if (stored) {
        dbg_err_set(DBG_ERR_INVALID, "%s: no 'time'", what);
        return -1;
    }
    json_t *tp = json_object_get(o, "tenant_prev");
    if (tp) {
        if (!out->tenant || !*out->tenant ||
            !(json_is_null(tp) || (json_is_integer(tp) && json_integer_value(tp) >= 0 &&
                                   (uint64_t)json_integer_value(tp) < out->rec.seq))) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s: field 'tenant_prev' must be null or a seq below the record's own, in "
                        "a record of a tenant",
                        what);
            return -1;
        }
        out->tenant_prev = json_is_null(tp) ? AUD_TPREV_NONE : (int64_t)json_integer_value(tp);
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
        dbg_err_set(DBG_ERR_PARSE, "%s: malformed JSON: %s (column %d)", what, jerr.text,
                    jerr.column);
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

int aud_record_parse_fields(const uint8_t *data, size_t len, const char *what,
                            aud_parsed_record *out)
{
    memset(out, 0, sizeof(*out));
    json_t *j = load_object((const char *)data, len, what);
    if (!j)
        return -1;
    int r = fill_from_object(j, what, 1, out);
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
        r = aud_record_canonical(&out->rec, out->rec.seq, out->rec.time_us, out->tenant_prev, &b);
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
