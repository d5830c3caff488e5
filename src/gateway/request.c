/* The gateway's request protocol: one JSON object per line, strictly validated (known keys
 * only, typed, bounded, no control characters) before anything else looks at it. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"

static const char *const op_names[DBG_OP__COUNT] = {
    [DBG_OP_LIST] = "list",         [DBG_OP_CREATE] = "create",   [DBG_OP_START] = "start",
    [DBG_OP_SHUTDOWN] = "shutdown", [DBG_OP_REBOOT] = "reboot",   [DBG_OP_RESET] = "reset",
    [DBG_OP_DESTROY] = "destroy",   [DBG_OP_DELETE] = "delete",   [DBG_OP_SUSPEND] = "suspend",
    [DBG_OP_RESUME] = "resume",     [DBG_OP_MIGRATE] = "migrate", [DBG_OP_SNAPSHOT] = "snapshot",
    [DBG_OP_APPROVE] = "approve",
};

const char *dbg_gw_op_name(dbg_gw_op op)
{
    if ((unsigned)op >= DBG_OP__COUNT)
        return "unknown";
    return op_names[op];
}

int dbg_gw_op_parse(const char *s, dbg_gw_op *out)
{
    for (int i = 0; i < DBG_OP__COUNT; i++) {
        if (s && strcmp(s, op_names[i]) == 0) {
            *out = (dbg_gw_op)i;
            return 0;
        }
    }
    dbg_err_set(DBG_ERR_INVALID, "unknown operation '%.64s' (expected list, create, start, "
                "shutdown, reboot, reset, destroy, delete, suspend, resume, migrate, snapshot, "
                "approve)", s ? s : "(null)");
    return -1;
}

/* A code point beyond ASCII a name may not hold: C1 controls, spaces and line separators
 * (U+3000, the ideographic space, among them), invisible formatting (zero-width, bidi overrides
 * that can make an audit line read differently from what it holds) and non-characters. */
static int name_cp_refused(uint32_t c)
{
    return c <= 0x9f || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           (c >= 0x2028 && c <= 0x202f) || c == 0x205f || c == 0x3000 ||
           (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) == 0xfffe ||
           dbg_utf8_invisible_format(c);
}

/* Names: VM and snapshot names, uuids, tickets. Printable ASCII without spaces, quotes or <>&
 * keeps them safe in audit records, alerts and log lines; beyond ASCII, valid UTF-8 (libvirt
 * takes UTF-8 domain names: 财务-web1) without what name_cp_refused lists. The length bound is
 * the request's (DBG_GW_NAME_MAX bytes). A VM the gateway creates must have such a name, or no
 * later request could address it. */
int dbg_gw_name_ok(const char *s)
{
    size_t left = strlen(s);
    if (!left)
        return 0;
    while (left) {
        uint32_t c;
        size_t n = dbg_utf8_decode(s, left, &c);
        if (!n)
            return 0; /* not UTF-8 */
        if (n == 1 ? c <= 0x20 || c == 0x7f || strchr("\"\\/<>&'", (int)c) : name_cp_refused(c))
            return 0;
        s += n;
        left -= n;
    }
    return 1;
}

static int no_controls(const char *s, int allow_newlines)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 && !(allow_newlines && (*p == '\n' || *p == '\r' || *p == '\t')))
            return 0;
        if (*p == 0x7f)
            return 0;
    }
    return 1;
}

static int copy_field(json_t *v, const char *key, char *dst, size_t dstsz, int strict_name)
{
    if (!json_is_string(v)) {
        dbg_err_set(DBG_ERR_INVALID, "request field '%s' must be a string", key);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= dstsz) {
        dbg_err_set(DBG_ERR_LIMIT, "request field '%s' is %zu bytes, limit %zu", key, n,
                    dstsz - 1);
        return -1;
    }
    if (strlen(s) != n || (strict_name ? !dbg_gw_name_ok(s) : !no_controls(s, 0))) {
        dbg_err_set(DBG_ERR_INVALID, "request field '%s' holds characters not allowed in it",
                    key);
        return -1;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

int dbg_gw_request_parse(const char *line, size_t len, dbg_gw_request *out)
{
    memset(out, 0, sizeof(*out));
    out->op = DBG_OP__COUNT;
    if (len > DBG_GW_LINE_MAX) {
        dbg_err_set(DBG_ERR_LIMIT, "request is %zu bytes, limit %d", len, DBG_GW_LINE_MAX);
        return -1;
    }
    json_error_t jerr;
    json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        dbg_err_set(DBG_ERR_PARSE, "request: malformed JSON at line %d column %d: %.120s",
                    jerr.line, jerr.column, jerr.text);
        return -1;
    }
    int r = -1;
    if (!json_is_object(root)) {
        dbg_err_set(DBG_ERR_INVALID, "request must be a JSON object");
        goto out;
    }
    json_t *v = json_object_get(root, "v");
    if (!json_is_integer(v) || json_integer_value(v) != 1) {
        dbg_err_set(DBG_ERR_INVALID, "request field 'v' must be the integer 1");
        goto out;
    }
    const char *key;
    json_t *val;
    int have_op = 0;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "v") == 0)
            continue;
        if (strcmp(key, "op") == 0) {
            char opname[32];
            if (copy_field(val, key, opname, sizeof(opname), 1) != 0 ||
                dbg_gw_op_parse(opname, &out->op) != 0)
                goto out;
            have_op = 1;
        } else if (strcmp(key, "vm") == 0) {
            if (copy_field(val, key, out->vm, sizeof(out->vm), 1) != 0)
                goto out;
        } else if (strcmp(key, "name") == 0) {
            if (copy_field(val, key, out->name, sizeof(out->name), 1) != 0)
                goto out;
        } else if (strcmp(key, "dest") == 0) {
            if (copy_field(val, key, out->dest, sizeof(out->dest), 0) != 0)
                goto out;
        } else if (strcmp(key, "ticket") == 0) {
            if (copy_field(val, key, out->ticket, sizeof(out->ticket), 1) != 0)
                goto out;
        } else if (strcmp(key, "remove_storage") == 0 || strcmp(key, "repair") == 0) {
            if (!json_is_boolean(val)) {
                dbg_err_set(DBG_ERR_INVALID, "request field '%s' must be true or false", key);
                goto out;
            }
            *(key[0] == 'r' && key[2] == 'm' ? &out->remove_storage : &out->repair) =
                json_is_true(val);
        } else if (strcmp(key, "xml") == 0) {
            if (!json_is_string(val)) {
                dbg_err_set(DBG_ERR_INVALID, "request field 'xml' must be a string");
                goto out;
            }
            size_t n = json_string_length(val);
            if (n > DBG_GW_XML_MAX) {
                dbg_err_set(DBG_ERR_LIMIT, "request field 'xml' is %zu bytes, limit %d", n,
                            DBG_GW_XML_MAX);
                goto out;
            }
            if (strlen(json_string_value(val)) != n || !no_controls(json_string_value(val), 1)) {
                dbg_err_set(DBG_ERR_INVALID, "request field 'xml' holds control characters");
                goto out;
            }
            if (!(out->xml = dbg_strdup(json_string_value(val))))
                goto out;
        } else {
            dbg_err_set(DBG_ERR_INVALID, "request has unknown field '%.64s'", key);
            goto out;
        }
    }
    if (!have_op) {
        dbg_err_set(DBG_ERR_INVALID, "request lacks field 'op'");
        goto out;
    }
    /* Which fields each operation needs and allows. */
    int need_vm = out->op != DBG_OP_LIST && out->op != DBG_OP_CREATE && out->op != DBG_OP_APPROVE;
    if (need_vm && !out->vm[0]) {
        dbg_err_set(DBG_ERR_INVALID, "operation '%s' needs field 'vm'", dbg_gw_op_name(out->op));
        goto out;
    }
    if (!need_vm && out->vm[0]) {
        dbg_err_set(DBG_ERR_INVALID, "operation '%s' takes no field 'vm'", dbg_gw_op_name(out->op));
        goto out;
    }
    if ((out->op == DBG_OP_CREATE) != (out->xml != NULL)) {
        dbg_err_set(DBG_ERR_INVALID, out->xml ? "only 'create' takes field 'xml'"
                                              : "operation 'create' needs field 'xml'");
        goto out;
    }
    if ((out->op == DBG_OP_SNAPSHOT) != (out->name[0] != 0)) {
        dbg_err_set(DBG_ERR_INVALID, out->name[0] ? "only 'snapshot' takes field 'name'"
                                                  : "operation 'snapshot' needs field 'name'");
        goto out;
    }
    if (out->remove_storage && out->op != DBG_OP_DELETE) {
        dbg_err_set(DBG_ERR_INVALID, "only 'delete' takes field 'remove_storage'");
        goto out;
    }
    if (out->repair && out->op != DBG_OP_MIGRATE) {
        dbg_err_set(DBG_ERR_INVALID, "only 'migrate' takes field 'repair'");
        goto out;
    }
    if ((out->op == DBG_OP_MIGRATE) != (out->dest[0] != 0)) {
        dbg_err_set(DBG_ERR_INVALID, out->dest[0] ? "only 'migrate' takes field 'dest'"
                                                  : "operation 'migrate' needs field 'dest'");
        goto out;
    }
    if ((out->op == DBG_OP_APPROVE) != (out->ticket[0] != 0)) {
        dbg_err_set(DBG_ERR_INVALID, out->ticket[0] ? "only 'approve' takes field 'ticket'"
                                                    : "operation 'approve' needs field 'ticket'");
        goto out;
    }
    r = 0;
out:
    json_decref(root);
    if (r != 0)
        dbg_gw_request_clear(out);
    return r;
}

void dbg_gw_request_clear(dbg_gw_request *r)
{
    if (!r)
        return;
    free(r->xml);
    memset(r, 0, sizeof(*r));
}

json_t *dbg_gw_request_json(const dbg_gw_request *r)
{
    json_t *o = json_pack("{s:i,s:s}", "v", 1, "op", dbg_gw_op_name(r->op));
    if (!o) {
        dbg_err_set(DBG_ERR_NOMEM, "building request JSON");
        return NULL;
    }
    if (r->vm[0])
        json_object_set_new(o, "vm", json_string(r->vm));
    if (r->name[0])
        json_object_set_new(o, "name", json_string(r->name));
    if (r->dest[0])
        json_object_set_new(o, "dest", json_string(r->dest));
    if (r->ticket[0])
        json_object_set_new(o, "ticket", json_string(r->ticket));
    if (r->xml)
        json_object_set_new(o, "xml", json_string(r->xml));
    if (r->remove_storage)
        json_object_set_new(o, "remove_storage", json_true());
    if (r->repair)
        json_object_set_new(o, "repair", json_true());
    return o;
}

char *dbg_gw_request_to_json(const dbg_gw_request *r)
{
    json_t *o = dbg_gw_request_json(r);
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!s)
        dbg_err_set(DBG_ERR_INVALID, "request holds text that is not UTF-8");
    return s;
}
