/* Alert model and its two wire formats: EVE-style JSON (Suricata field names, so Wazuh/ELK
 * take it as-is) and RFC 5424 syslog with a structured-data element. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/alert.h"
#include "dengbao/util.h"

void dbg_endpoint_clear(dbg_endpoint *e)
{
    memset(e, 0, sizeof(*e));
    e->port = -1;
}

void dbg_alert_init(dbg_alert *a, const char *type, dbg_severity sev, const char *clause)
{
    memset(a, 0, sizeof(*a));
    dbg_endpoint_clear(&a->src);
    dbg_endpoint_clear(&a->dst);
    /* cut between characters: a type cut inside one became U+FFFD in alert.signature, so a
     * SIEM rule on the type's first characters stopped matching */
    dbg_utf8_copy(a->type, sizeof(a->type), type);
    dbg_utf8_copy(a->clause, sizeof(a->clause), clause);
    a->severity = sev;
    a->time_us = dbg_now_us();
    a->count = 1;
}

/* Suricata writes "2026-11-25T01:02:03.123456+0000"; consumers parse that shape. */
void dbg_eve_time(int64_t us, char *buf, size_t size)
{
    if (us < 0)
        us = 0;
    time_t secs = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06u+0000", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(us % 1000000));
}

/* Stable numeric id per type name, as Suricata consumers expect a signature_id. */
static unsigned signature_id(const char *type)
{
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)type; *p; p++)
        h = (h ^ *p) * 16777619u;
    return 9100000u + h % 100000u;
}

/* jansson refuses invalid UTF-8, and callers fill fixed-size fields from names that may have been
 * cut inside a character: repair the text rather than lose the field. */
static json_t *text_json(const char *val)
{
    json_t *j = json_string(val);
    if (!j) {
        char *fixed = dbg_utf8_sanitize(val, strlen(val));
        j = fixed ? json_string(fixed) : NULL;
        free(fixed);
    }
    return j;
}

static int set_str(json_t *obj, const char *key, const char *val)
{
    if (!val || !*val)
        return 0;
    return json_object_set_new(obj, key, text_json(val));
}

static json_t *endpoint_json(const dbg_endpoint *e)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    set_str(o, "ip", e->ip);
    set_str(o, "mac", e->mac);
    if (e->port >= 0)
        json_object_set_new(o, "port", json_integer(e->port));
    set_str(o, "vm", e->vm_name);
    set_str(o, "vm_uuid", e->vm_uuid);
    set_str(o, "tenant", e->tenant);
    return o;
}

char *dbg_alert_to_eve(const dbg_alert *a)
{
    char ts[64], first[64], last[64];
    json_t *root = json_object(), *alert = json_object(), *flow = json_object(),
           *ext = json_object(), *ether = json_object();
    char *out = NULL;
    if (!root || !alert || !flow || !ext || !ether) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot build EVE record");
        goto out;
    }
    dbg_eve_time(a->time_us, ts, sizeof(ts));
    json_object_set_new(root, "timestamp", json_string(ts));
    if (a->flow_id)
        json_object_set_new(root, "flow_id", json_integer((json_int_t)a->flow_id));
    set_str(root, "in_iface", a->in_iface);
    json_object_set_new(root, "event_type", json_string("alert"));
    set_str(root, "src_ip", a->src.ip);
    if (a->src.port >= 0)
        json_object_set_new(root, "src_port", json_integer(a->src.port));
    set_str(root, "dest_ip", a->dst.ip);
    if (a->dst.port >= 0)
        json_object_set_new(root, "dest_port", json_integer(a->dst.port));
    set_str(root, "proto", a->proto);
    set_str(ether, "src_mac", a->src.mac);
    set_str(ether, "dest_mac", a->dst.mac);
    if (json_object_size(ether))
        json_object_set(root, "ether", ether);

    json_object_set_new(alert, "action", json_string("allowed"));
    json_object_set_new(alert, "gid", json_integer(1));
    json_object_set_new(alert, "signature_id", json_integer(signature_id(a->type)));
    json_object_set_new(alert, "rev", json_integer(1));
    json_object_set_new(alert, "signature", text_json(a->type));
    json_object_set_new(alert, "category", text_json(a->category[0] ? a->category : a->type));
    json_object_set_new(alert, "severity", json_integer(a->severity));
    json_object_set(root, "alert", alert);

    dbg_eve_time(a->first_us ? a->first_us : a->time_us, first, sizeof(first));
    dbg_eve_time(a->last_us ? a->last_us : a->time_us, last, sizeof(last));
    json_object_set_new(flow, "pkts_toserver", json_integer((json_int_t)a->packets));
    json_object_set_new(flow, "bytes_toserver", json_integer((json_int_t)a->bytes));
    json_object_set_new(flow, "start", json_string(first));
    json_object_set_new(flow, "end", json_string(last));
    json_object_set(root, "flow", flow);

    json_object_set_new(ext, "type", text_json(a->type));
    set_str(ext, "clause", a->clause);
    json_object_set_new(ext, "count", json_integer((json_int_t)(a->count ? a->count : 1)));
    json_object_set_new(ext, "first", json_string(first));
    json_object_set_new(ext, "last", json_string(last));
    json_object_set_new(ext, "packets", json_integer((json_int_t)a->packets));
    json_object_set_new(ext, "bytes", json_integer((json_int_t)a->bytes));
    json_object_set_new(ext, "src", endpoint_json(&a->src));
    json_object_set_new(ext, "dest", endpoint_json(&a->dst));
    set_str(ext, "evidence", a->evidence);
    json_object_set(root, "dengbao", ext);

    if (a->extra_json && *a->extra_json) {
        json_error_t jerr;
        json_t *extra = json_loads(a->extra_json, 0, &jerr);
        if (!extra || !json_is_object(extra)) {
            json_decref(extra);
            dbg_err_set(DBG_ERR_INVALID, "alert %s: extra_json is not a JSON object (%s)", a->type,
                        jerr.text);
            goto out;
        }
        json_object_update_missing(root, extra);
        json_decref(extra);
    }
    out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!out)
        dbg_err_set(DBG_ERR_NOMEM, "cannot serialize EVE record");
out:
    json_decref(root);
    json_decref(alert);
    json_decref(flow);
    json_decref(ext);
    json_decref(ether);
    return out;
}

/* RFC 5424 §6.3.3: inside PARAM-VALUE, '"', '\' and ']' must be escaped. */
static int sd_param(dbg_buf *b, const char *name, const char *value)
{
    if (!value || !*value)
        return 0;
    /* §6.3.3 also requires PARAM-VALUE to be UTF-8; receivers may drop the message otherwise. */
    DBG_AUTOFREE char *text = dbg_utf8_sanitize(value, strlen(value));
    if (!text || dbg_buf_printf(b, " %s=\"", name) < 0)
        return -1;
    for (const char *p = text; *p; p++) {
        if ((*p == '"' || *p == '\\' || *p == ']') && dbg_buf_add(b, "\\", 1) < 0)
            return -1;
        if (dbg_buf_add(b, p, 1) < 0)
            return -1;
    }
    return dbg_buf_add(b, "\"", 1);
}

/* RFC 5424 header fields are printable US-ASCII without spaces; anything else becomes '_'. */
static void header_token(const char *in, char *out, size_t size, size_t maxlen)
{
    size_t n = 0;
    for (; in && *in && n + 1 < size && n < maxlen; in++)
        out[n++] = (*in > 32 && *in < 127) ? *in : '_';
    if (n == 0 && size > 1)
        out[n++] = '-';
    out[n] = '\0';
}

char *dbg_alert_to_syslog(const dbg_alert *a, const char *hostname, const char *pen)
{
    /* facility 4 (security/authorization); severity by alert severity. */
    int sev = a->severity == DBG_SEV_HIGH ? 2 : a->severity == DBG_SEV_MEDIUM ? 4 : 5;
    char ts[64], host[256], msgid[33], num[32];
    dbg_time_rfc3339(a->time_us, ts, sizeof(ts));
    header_token(hostname, host, sizeof(host), 255);
    header_token(a->type, msgid, sizeof(msgid), 32);
    dbg_buf b;
    dbg_buf_init(&b, 65536);
    int r = dbg_buf_printf(&b, "<%d>1 %s %s dengbao %ld %s [dengbao@%s", 4 * 8 + sev, ts, host,
                           (long)getpid(), msgid, pen ? pen : DBG_SYSLOG_PEN_DEFAULT);
    r |= sd_param(&b, "type", a->type);
    r |= sd_param(&b, "clause", a->clause);
    r |= sd_param(&b, "src_ip", a->src.ip);
    r |= sd_param(&b, "src_mac", a->src.mac);
    r |= sd_param(&b, "src_vm", a->src.vm_name);
    r |= sd_param(&b, "src_tenant", a->src.tenant);
    r |= sd_param(&b, "dest_ip", a->dst.ip);
    r |= sd_param(&b, "dest_vm", a->dst.vm_name);
    r |= sd_param(&b, "dest_tenant", a->dst.tenant);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)a->packets);
    r |= sd_param(&b, "packets", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)a->bytes);
    r |= sd_param(&b, "bytes", num);
    snprintf(num, sizeof(num), "%llu", (unsigned long long)(a->count ? a->count : 1));
    r |= sd_param(&b, "count", num);
    r |= dbg_buf_printf(&b, "] %s %s", a->type, a->clause[0] ? a->clause : "-");
    if (a->src.ip[0] || a->src.vm_name[0])
        r |= dbg_buf_printf(&b, " from %s%s%s%s", a->src.ip, a->src.vm_name[0] ? " (" : "",
                            a->src.vm_name, a->src.vm_name[0] ? ")" : "");
    if (a->dst.ip[0] || a->dst.vm_name[0])
        r |= dbg_buf_printf(&b, " to %s%s%s%s", a->dst.ip, a->dst.vm_name[0] ? " (" : "",
                            a->dst.vm_name, a->dst.vm_name[0] ? ")" : "");
    if (a->evidence && *a->evidence) {
        /* One datagram must carry the whole message (a UDP datagram holds at most 65507
         * octets): longer evidence is cut between characters and says so, rather than the
         * alert never reaching the SIEM. The EVE record keeps all of it. */
        size_t len = strlen(a->evidence);
        char note[96];
        size_t nn = (size_t)snprintf(note, sizeof(note),
                                     " ... [cut: %zu bytes in all; the EVE record has them]", len);
        size_t used = b.len + 2; /* ": " */
        if (used + len <= DBG_SYSLOG_MSG_MAX)
            r |= dbg_buf_printf(&b, ": %s", a->evidence);
        else if (used + nn < DBG_SYSLOG_MSG_MAX)
            r |= dbg_buf_printf(&b, ": %.*s%s",
                                (int)dbg_utf8_prefix(a->evidence, DBG_SYSLOG_MSG_MAX - used - nn),
                                a->evidence, note);
    }
    if (r) {
        dbg_buf_free(&b);
        return NULL;
    }
    /* A syslog line must stay one line. */
    for (size_t i = 0; i < b.len; i++)
        if (b.data[i] == '\n' || b.data[i] == '\r')
            b.data[i] = ' ';
    return dbg_buf_steal(&b);
}
