/* Detector thresholds: compiled-in defaults (the same values as data/rules/sensor.yaml) and a
 * YAML loader (libyaml document API). Unknown sections or keys and out-of-range values are
 * errors naming the file, line and key, so a typo never silently disables a detector. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "catalog/yaml_doc.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

void dbg_sensor_rules_defaults(dbg_sensor_rules *r)
{
    static const int brute[] = {21, 22, 23, 1433, 1521, 3306, 3389, 5432, 5900, 6379, 27017};
    memset(r, 0, sizeof(*r));
    r->scan_window_s = 300;
    r->port_scan_ports = 15;
    r->host_sweep_hosts = 25;
    r->trw_enabled = 1;
    r->trw_theta0 = 0.8;
    r->trw_theta1 = 0.2;
    r->trw_alpha = 0.01;
    r->trw_beta = 0.99;
    r->trw_timeout_s = 5;
    r->flood_window_s = 1;
    r->syn_flood_pkts = 500;
    r->udp_flood_pkts = 2000;
    r->icmp_flood_pkts = 500;
    r->tcp_flood_pkts = 1000;
    r->brute_window_s = 60;
    r->brute_attempts = 20;
    r->n_brute_ports = sizeof(brute) / sizeof(brute[0]);
    memcpy(r->brute_ports, brute, sizeof(brute));
    r->volume_bin_s = 10;
    r->volume_alpha = 0.1;
    r->volume_k = 6;
    r->volume_warmup_bins = 12;
    r->volume_min_bytes = 10 * 1000 * 1000;
    r->worm_window_s = 600;
    r->worm_fanout = 5;
    r->arp_binding_ttl_s = 3600;
    r->arp_request_ttl_s = 5;
    r->max_flows = 524288;
    r->max_flows_v6 = 131072;
    r->flow_timeout_s = 120;
    r->max_hosts = 131072;
    r->incident_timeout_s = 300;
}

typedef enum { K_DOUBLE, K_UINT, K_BOOL, K_U64, K_SIZE, K_PORTS, K_IPS } kind;
typedef struct {
    const char *section, *key;
    kind k;
    size_t off;
    double min, max;
} field;

#define F(sec, key, k, member, lo, hi) {sec, key, k, offsetof(dbg_sensor_rules, member), lo, hi}
static const field fields[] = {
    F("scan", "window_s", K_DOUBLE, scan_window_s, 1, 86400),
    F("scan", "port_scan_ports", K_UINT, port_scan_ports, 2, 65535),
    F("scan", "host_sweep_hosts", K_UINT, host_sweep_hosts, 2, 1e7),
    F("trw", "enabled", K_BOOL, trw_enabled, 0, 1),
    F("trw", "theta0", K_DOUBLE, trw_theta0, 0.01, 0.99),
    F("trw", "theta1", K_DOUBLE, trw_theta1, 0.01, 0.99),
    F("trw", "alpha", K_DOUBLE, trw_alpha, 1e-6, 0.5),
    F("trw", "beta", K_DOUBLE, trw_beta, 0.5, 0.999999),
    F("trw", "timeout_s", K_DOUBLE, trw_timeout_s, 0.01, 3600),
    F("flood", "window_s", K_DOUBLE, flood_window_s, 0.01, 3600),
    F("flood", "syn_packets", K_UINT, syn_flood_pkts, 1, 1e9),
    F("flood", "udp_packets", K_UINT, udp_flood_pkts, 1, 1e9),
    F("flood", "icmp_packets", K_UINT, icmp_flood_pkts, 1, 1e9),
    F("flood", "tcp_packets", K_UINT, tcp_flood_pkts, 1, 1e9),
    F("brute_force", "window_s", K_DOUBLE, brute_window_s, 1, 86400),
    F("brute_force", "attempts", K_UINT, brute_attempts, 2, 1e9),
    F("brute_force", "ports", K_PORTS, brute_ports, 1, 65535),
    F("volume", "bin_s", K_DOUBLE, volume_bin_s, 0.1, 86400),
    F("volume", "alpha", K_DOUBLE, volume_alpha, 0.001, 1),
    F("volume", "k", K_DOUBLE, volume_k, 0.5, 1000),
    F("volume", "warmup_bins", K_UINT, volume_warmup_bins, 1, 1e6),
    F("volume", "min_bytes", K_U64, volume_min_bytes, 0, 1e15),
    F("worm", "window_s", K_DOUBLE, worm_window_s, 1, 86400),
    F("worm", "fanout", K_UINT, worm_fanout, 2, 1e6),
    F("arp", "binding_ttl_s", K_DOUBLE, arp_binding_ttl_s, 1, 1e7),
    F("arp", "request_ttl_s", K_DOUBLE, arp_request_ttl_s, 0.01, 3600),
    F("flow", "max_flows", K_SIZE, max_flows, 64, 1e8),
    F("flow", "max_flows_v6", K_SIZE, max_flows_v6, 64, 1e8),
    F("flow", "timeout_s", K_DOUBLE, flow_timeout_s, 1, 86400),
    F("flow", "max_hosts", K_SIZE, max_hosts, 64, 1e8),
    F("incident", "timeout_s", K_DOUBLE, incident_timeout_s, 0, 86400),
    F("host", "mgmt_ports", K_PORTS, mgmt_ports, 1, 65535),
    F("dhcp", "servers", K_IPS, dhcp_servers, 0, 0),
};

/* Sets DBG_ERR_INVALID (code) "name:LINE:COLUMN: what" at node n; returns -1. Every message
 * names the place of the value (or key) it is about, as the other YAML loaders' do. */
static int fail_at(dbg_errcode code, const char *name, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(dbg_errcode code, const char *name, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dbg_err_set(code, "%s:%zu:%zu: %s", name, n->start_mark.line + 1, n->start_mark.column + 1,
                msg);
    return -1;
}

/* The text of scalar n, or NULL when it holds a NUL (a quoted "5\0junk" is 5 to C). */
static const char *scalar_text(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    return strlen(v) == n->data.scalar.length ? v : NULL;
}

static int set_scalar(dbg_sensor_rules *r, const field *f, const yaml_node_t *n, const char *name)
{
    const char *v = scalar_text(n);
    void *dst = (char *)r + f->off;
    double d;
    if (!v)
        return fail_at(DBG_ERR_INVALID, name, n, "%s.%s: text holds a NUL character ('\\0')",
                       f->section, f->key);
    if (f->k == K_BOOL) {
        if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
            *(int *)dst = 1;
        else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
            *(int *)dst = 0;
        else
            goto bad;
        return 0;
    }
    if (dbg_parse_double(v, f->min, f->max, &d) < 0)
        goto bad;
    if (f->k != K_DOUBLE && d != floor(d))
        goto bad;
    switch (f->k) {
    case K_DOUBLE: *(double *)dst = d; break;
    case K_UINT: *(unsigned *)dst = (unsigned)d; break;
    case K_U64: *(uint64_t *)dst = (uint64_t)d; break;
    case K_SIZE: *(size_t *)dst = (size_t)d; break;
    default: goto bad;
    }
    return 0;
bad:
    if (f->k == K_BOOL)
        return fail_at(DBG_ERR_INVALID, name, n, "%s.%s: '%.64s' is not true or false", f->section,
                       f->key, v);
    if (f->k == K_DOUBLE)
        return fail_at(DBG_ERR_INVALID, name, n, "%s.%s: '%.64s' is not a decimal number in %g..%g",
                       f->section, f->key, v, f->min, f->max);
    /* whole numbers: the range as such, not 1e+08 */
    return fail_at(DBG_ERR_INVALID, name, n, "%s.%s: '%.64s' is not a whole number in %.0f..%.0f",
                   f->section, f->key, v, f->min, f->max);
}

static int set_sequence(dbg_sensor_rules *r, const field *f, yaml_document_t *doc,
                        yaml_node_t *seq, const char *name)
{
    size_t n = 0;
    /* the list given replaces the default one, also when it is empty ("ports: []" turns the
     * brute-force detector off; it used to leave the eleven default ports in place) */
    if (f->k == K_IPS)
        r->n_dhcp_servers = 0;
    else if (f->off == offsetof(dbg_sensor_rules, brute_ports))
        r->n_brute_ports = 0;
    else
        r->n_mgmt_ports = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (!item || item->type != YAML_SCALAR_NODE)
            return fail_at(DBG_ERR_INVALID, name, item ? item : seq, "%s.%s: items must be scalars",
                           f->section, f->key);
        const char *v = scalar_text(item);
        if (!v)
            return fail_at(DBG_ERR_INVALID, name, item, "%s.%s: text holds a NUL character ('\\0')",
                           f->section, f->key);
        size_t max = f->k == K_IPS ? sizeof(r->dhcp_servers) / sizeof(r->dhcp_servers[0])
                                   : DBG_SENSOR_MAX_PORTS;
        if (n >= max) /* the item is fine, the list too long */
            return fail_at(DBG_ERR_LIMIT, name, item, "%s.%s: more than %zu items (%zu given)",
                           f->section, f->key, max,
                           (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start));
        if (f->k == K_IPS) {
            sn_ip ip;
            if (sn_ip_parse(v, &ip) != 0)
                return fail_at(DBG_ERR_INVALID, name, item, "%s.%s: '%.64s' is not an IP address",
                               f->section, f->key, v);
            snprintf(r->dhcp_servers[n++], sizeof(r->dhcp_servers[0]), "%s", v);
            r->n_dhcp_servers = n;
            continue;
        }
        long port;
        if (dbg_parse_long(v, 1, 65535, &port) != 0)
            return fail_at(DBG_ERR_INVALID, name, item, "%s.%s: '%.64s' is not a port 1..65535",
                           f->section, f->key, v);
        int *ports = (int *)((char *)r + f->off);
        ports[n++] = (int)port;
        if (f->off == offsetof(dbg_sensor_rules, brute_ports))
            r->n_brute_ports = n;
        else
            r->n_mgmt_ports = n;
    }
    return 0;
}

#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static const field *find_field(const char *sec, const char *key)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].section, sec) && !strcmp(fields[i].key, key))
            return &fields[i];
    return NULL;
}

static int known_section(const char *sec)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp(fields[i].section, sec))
            return 1;
    return 0;
}

/* "a, b, c": the sections (sec == NULL) or a section's keys, in the table's order, for an
 * error that should tell the reader what the typo was meant to be. */
static void allowed_names(const char *sec, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_FIELDS && used < size; i++) {
        const char *n = sec ? fields[i].key : fields[i].section;
        if (sec && strcmp(fields[i].section, sec))
            continue;
        if (!sec && i > 0 && !strcmp(fields[i - 1].section, n))
            continue;
        int w = snprintf(buf + used, size - used, "%s%s", used ? ", " : "", n);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

int dbg_sensor_rules_parse(dbg_sensor_rules *r, const char *text, size_t len, const char *name)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc = -1;
    if (dbg_yaml_check_depth(name, text, len) < 0)
        return -1;
    if (!yaml_parser_initialize(&parser)) {
        dbg_err_set(DBG_ERR_NOMEM, "%s: cannot initialize the YAML parser", name);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        dbg_yaml_parse_error(&parser, name, text, len, "bad YAML");
        yaml_parser_delete(&parser);
        return -1;
    }
    if (dbg_yaml_unique_keys(&doc, name) < 0)
        goto out;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    const yaml_node_t *trw_at = NULL; /* the last trw.theta0/theta1 value given, for their check */
    if (!root) { /* empty file: defaults */
        rc = 0;
        goto out;
    }
    if (root->type != YAML_MAPPING_NODE) {
        /* libyaml puts the empty node after a last '---' on a line the text does not have */
        size_t line = root->start_mark.line + 1, col = root->start_mark.column + 1;
        dbg_yaml_mark_within(&parser, text, len, &line, &col);
        dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: the top level must be a mapping of sections",
                    name, line, col);
        goto out;
    }
    for (yaml_node_pair_t *sp = root->data.mapping.pairs.start; sp < root->data.mapping.pairs.top;
         sp++) {
        yaml_node_t *sk = yaml_document_get_node(&doc, sp->key);
        yaml_node_t *sv = yaml_document_get_node(&doc, sp->value);
        if (!sk || sk->type != YAML_SCALAR_NODE || !sv) {
            fail_at(DBG_ERR_INVALID, name, sk ? sk : root, "a section name must be a scalar");
            goto out;
        }
        const char *sec = (const char *)sk->data.scalar.value;
        if (!known_section(sec)) {
            /* even with no settings under it: the file's readers take it for a detector's */
            char allowed[256];
            allowed_names(NULL, allowed, sizeof(allowed));
            dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: unknown section '%s' (sections: %s)", name,
                        sk->start_mark.line + 1, sk->start_mark.column + 1, sec, allowed);
            goto out;
        }
        if (sv->type != YAML_MAPPING_NODE) {
            fail_at(DBG_ERR_INVALID, name, sv, "section '%s' must be a mapping", sec);
            goto out;
        }
        for (yaml_node_pair_t *kp = sv->data.mapping.pairs.start;
             kp < sv->data.mapping.pairs.top; kp++) {
            yaml_node_t *kk = yaml_document_get_node(&doc, kp->key);
            yaml_node_t *kv = yaml_document_get_node(&doc, kp->value);
            if (!kk || kk->type != YAML_SCALAR_NODE || !kv) {
                fail_at(DBG_ERR_INVALID, name, kk ? kk : sv, "section '%s': keys must be scalars",
                        sec);
                goto out;
            }
            const char *key = (const char *)kk->data.scalar.value;
            const field *f = find_field(sec, key);
            if (!f) {
                char allowed[256];
                allowed_names(sec, allowed, sizeof(allowed));
                fail_at(DBG_ERR_INVALID, name, kk, "unknown setting '%s.%s' (%s has: %s)", sec, key,
                        sec, allowed);
                goto out;
            }
            int is_list = f->k == K_PORTS || f->k == K_IPS;
            if (is_list != (kv->type == YAML_SEQUENCE_NODE) ||
                (!is_list && kv->type != YAML_SCALAR_NODE)) {
                fail_at(DBG_ERR_INVALID, name, kv, "%s.%s must be a %s", sec, key,
                        is_list ? "list" : "single value");
                goto out;
            }
            if (is_list ? set_sequence(r, f, &doc, kv, name) != 0 : set_scalar(r, f, kv, name) != 0)
                goto out;
            if (f->off == offsetof(dbg_sensor_rules, trw_theta0) ||
                f->off == offsetof(dbg_sensor_rules, trw_theta1))
                trw_at = kv;
        }
    }
    if (r->trw_theta1 >= r->trw_theta0) {
        if (trw_at) /* a value given: at the last one, which made the pair wrong */
            fail_at(DBG_ERR_INVALID, name, trw_at, "trw.theta1 (%g) must be below trw.theta0 (%g)",
                    r->trw_theta1, r->trw_theta0);
        else
            dbg_err_set(DBG_ERR_INVALID, "%s: trw.theta1 (%g) must be below trw.theta0 (%g)", name,
                        r->trw_theta1, r->trw_theta0);
        goto out;
    }
    rc = 0;
out:
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return rc;
}

int dbg_sensor_rules_load(dbg_sensor_rules *r, const char *path)
{
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, 1 << 20, &text, &len) != 0)
        return -1;
    return dbg_sensor_rules_parse(r, text, len, path);
}
