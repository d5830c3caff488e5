/* libFuzzer target for the collector's parsers of untrusted text: libvirt XML (domain,
 * network, pool, volume, nwfilter, binding) and host configuration files (every syntax).
 * The first byte picks the parser; the rest is the input. No crash, no leak, and a failure
 * always carries a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"
#include "platform/platform_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_failure(int r)
{
    if (r < 0 && dbg_err_msg()[0] == '\0')
        abort();
    dbg_err_clear();
}

/* sshd Include, chrony include / confdir and ntpd includefile resolve under a host root that
 * does not exist: no real files. */
static int parse(const char *s, dbg_conf_syntax syntax, dbg_host_file *f)
{
    int r = dbg_platform_parse_host_file("/nonexistent-fuzz-root", "/etc/fuzz.conf", s, syntax, f);
    check_failure(r);
    for (size_t i = 0; i < f->n_settings; i++)
        if (!f->settings[i].key || !f->settings[i].value ||
            !dbg_utf8_valid(f->settings[i].value, strlen(f->settings[i].value)))
            abort();
    return r;
}

static int same_settings(const dbg_host_file *a, const dbg_host_file *b)
{
    if (a->n_settings != b->n_settings)
        return 0;
    for (size_t i = 0; i < a->n_settings; i++)
        if (a->settings[i].line != b->settings[i].line ||
            strcmp(a->settings[i].key, b->settings[i].key) != 0 ||
            strcmp(a->settings[i].value, b->settings[i].value) != 0)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned which = data[0] % 19;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if (which < 6) {
        switch (which) {
        case 0: {
            dbg_domain d = {0};
            check_failure(dbg_platform_parse_domain_xml(text, len, &d));
            dbg_platform_domain_clear(&d);
            break;
        }
        case 1: {
            dbg_network n = {0};
            check_failure(dbg_platform_parse_network_xml(text, len, &n));
            dbg_platform_network_clear(&n);
            break;
        }
        case 2: {
            dbg_pool p = {0};
            check_failure(dbg_platform_parse_pool_xml(text, len, &p));
            dbg_platform_pool_clear(&p);
            break;
        }
        case 3: {
            dbg_volume v = {0};
            check_failure(dbg_platform_parse_volume_xml(text, len, "pool", &v));
            dbg_platform_volume_clear(&v);
            break;
        }
        case 4: {
            dbg_nwfilter f = {0};
            check_failure(dbg_platform_parse_nwfilter_xml(text, len, &f));
            dbg_platform_nwfilter_clear(&f);
            break;
        }
        default: {
            dbg_nwfilter_binding b = {0};
            check_failure(dbg_platform_parse_binding_xml(text, len, &b));
            dbg_platform_binding_clear(&b);
            break;
        }
        }
        return 0;
    }
    /* Host files are C strings once read (the collector rejects embedded NULs). */
    char *s = dbg_strndup(text, len);
    if (!s)
        return 0;
    static const dbg_conf_syntax syntaxes[] = {
        DBG_CONF_NONE, DBG_CONF_LIBVIRT,  DBG_CONF_KV_EQ,       DBG_CONF_KV_SPACE,
        DBG_CONF_SSHD, DBG_CONF_PAM,      DBG_CONF_AUDIT_RULES, DBG_CONF_PIDFILE,
        DBG_CONF_LINK, DBG_CONF_PROC_TCP, DBG_CONF_CHRONY,     DBG_CONF_NTP,
        DBG_CONF_SYSTEMD_UNIT};
    dbg_host_file f = {0};
    int r = parse(s, syntaxes[which - 6], &f);
    /* The key = value syntaxes that end a line at a '#' (pwquality/faillock: anywhere; shell
     * start-up files: where a word begins) take the same input without choosing a new first
     * byte, which would give every committed seed another parser. Without a '#' they read
     * exactly as plain key = value; with one, the '#'-anywhere reading keeps none. */
    if (syntaxes[which - 6] == DBG_CONF_KV_EQ) {
        static const dbg_conf_syntax hash_syntaxes[] = {DBG_CONF_KV_EQ_HASH, DBG_CONF_SHELL};
        for (size_t k = 0; k < sizeof(hash_syntaxes) / sizeof(hash_syntaxes[0]); k++) {
            dbg_host_file g = {0};
            int rg = parse(s, hash_syntaxes[k], &g);
            if (!strchr(s, '#') && (rg != r || !same_settings(&f, &g)))
                abort();
            if (hash_syntaxes[k] == DBG_CONF_KV_EQ_HASH)
                for (size_t i = 0; i < g.n_settings; i++)
                    if (strchr(g.settings[i].key, '#') || strchr(g.settings[i].value, '#'))
                        abort();
            dbg_platform_host_file_clear(&g);
        }
    }
    dbg_platform_host_file_clear(&f);
    free(s);
    return 0;
}
