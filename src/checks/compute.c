/* 安全计算环境 checks (cloud 8.2.4.1-8.2.4.3): mutual authentication for remote management,
 * console exposure, per-port anti-spoofing filters that travel with the VM, and the runtime
 * controls that detect unauthorized VMs (guard) and malware. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

static int loopback(const char *addr)
{
    return !addr || !*addr || !strncmp(addr, "127.", 4) || !strcmp(addr, "::1") ||
           !strcmp(addr, "localhost");
}

/* Where the enabled socket unit name (enabled by link) listens, as an evidence line: 1 when
 * reachable over the network (a loopback address or a UNIX socket is this host's only). */
static int unit_listener(const dbg_snapshot *s, const char *name, const char *link,
                         const char *kind, long def_port, int ok_if_found, const char *expected,
                         int *unknown, dbg_evidence_list *ev)
{
    dbg_unit_sockets u;
    char key[128], where[300], val[128];
    snprintf(key, sizeof(key), "systemd socket unit %s", name);
    if (dbg_snapshot_unit_sockets(s, name, (int)def_port, &u) < 0) {
        ev->failed = 1;
        dbg_unit_sockets_clear(&u);
        return 0;
    }
    if (u.unreadable) {
        *unknown = 1;
        dbg_evidence_addf(ev, 0, u.unreadable->path, key, expected,
                          "enabled by %s; where it listens is unknown: %s", link,
                          u.unreadable->error);
        dbg_unit_sockets_clear(&u);
        return 0;
    }
    const dbg_unit_listen *shown = NULL; /* the first reachable one, else the first */
    dbg_buf list;
    dbg_buf_init(&list, 0);
    for (size_t i = 0; i < u.n_listen; i++) {
        const dbg_unit_listen *l = &u.listen[i];
        if (!shown || (l->network && !shown->network))
            shown = l;
        if (l->setting)
            dbg_chk_value(l->setting, val, sizeof(val));
        else
            snprintf(val, sizeof(val), "%d (libvirt's packaged default: no unit file collected)",
                     l->port);
        if (dbg_buf_printf(&list, "%s%s", i ? ", " : "", val) < 0)
            ev->failed = 1;
    }
    int network = shown && shown->network;
    const char *src = link;
    if (shown && shown->setting) {
        dbg_chk_where(NULL, shown->setting, "?", where, sizeof(where));
        src = where;
    }
    const char *ls = list.data ? list.data : "";
    if (network)
        dbg_evidence_addf(ev, ok_if_found, src, key, expected,
                          "enabled by %s, ListenStream %s: a %s listener on the network "
                          "(listen_%s in the daemon's file does not apply to socket activation)",
                          link, ls, kind, kind);
    else if (u.n_listen)
        dbg_evidence_addf(ev, 1, src, key, expected,
                          "enabled by %s, ListenStream %s: on this host only (loopback or a UNIX "
                          "socket), no remote %s listener",
                          link, ls, kind);
    else
        dbg_evidence_addf(ev, 1, src, key, expected,
                          "enabled by %s, but its ListenStream= are cleared: no socket", link);
    dbg_buf_free(&list);
    dbg_unit_sockets_clear(&u);
    return network;
}

/* A libvirt listener other than the one libvirtd.conf asks for: an enabled systemd socket unit
 * (under socket activation, Debian 12's default, listen_tcp / listen_tls are ignored and the
 * units decide), or a socket listening on the port now, on a network address (the live host's
 * /proc/net/tcp{,6}). Each adds an evidence line; returns whether any was found, and sets
 * *unknown when a unit's state could not be seen. */
static int listener_elsewhere(const dbg_snapshot *s, const char *kind, const dbg_setting *port_st,
                              long def_port, int ok_if_found, const char *expected, int *unknown,
                              dbg_evidence_list *ev)
{
    const char *daemons[] = {"libvirtd", "virtproxyd"};
    int found = 0;
    for (size_t i = 0; i < 2; i++) {
        char name[64], unit[512];
        snprintf(name, sizeof(name), "%s-%s.socket", daemons[i], kind);
        int en = dbg_snapshot_unit_enabled(s, name, unit, sizeof(unit));
        if (en > 0) {
            found |=
                unit_listener(s, name, unit, kind, def_port, ok_if_found, expected, unknown, ev);
        } else if (en < 0) {
            const dbg_host_file *f = dbg_snapshot_host_file(s, unit);
            *unknown = 1;
            dbg_evidence_addf(ev, 0, unit, "systemd socket unit", expected, "unknown: %s",
                              f && f->error ? f->error : "not seen");
        } else if (*unit) {
            dbg_evidence_addf(ev, 1, unit, "systemd socket unit", expected,
                              "%s masked: systemd starts it for no wants link", name);
        }
    }
    char val[32];
    long port = def_port;
    if (port_st && dbg_chk_value(port_st, val, sizeof(val)) &&
        dbg_parse_long(val, 1, 65535, &port) < 0) {
        dbg_err_clear();
        port = def_port;
    }
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    for (size_t t = 0; t < 2; t++) {
        const dbg_host_file *f = dbg_snapshot_host_file(s, tables[t]);
        for (size_t j = 0; f && j < f->n_settings; j++) {
            const char *a = f->settings[j].value ? f->settings[j].value : "";
            const char *colon = strrchr(a, ':');
            char host[64];
            long p;
            if (!colon || dbg_parse_long(colon + 1, 1, 65535, &p) < 0 || p != port) {
                dbg_err_clear();
                continue;
            }
            snprintf(host, sizeof(host), "%.*s", (int)(colon - a), a);
            if (loopback(host) || !strcmp(host, "[::1]"))
                continue; /* reachable from this host only */
            found = 1;
            char where[300];
            dbg_chk_where(f, &f->settings[j], tables[t], where, sizeof(where));
            dbg_evidence_addf(ev, ok_if_found, where, "listening socket", expected,
                              "%s: libvirt's %s port is listening on a network address now", a,
                              kind);
        }
    }
    return found;
}

dbg_check_result dbg_chk_remote_tls(const dbg_snapshot *s, const dbg_check_params *p,
                                    dbg_evidence_list *ev)
{
    (void)p;
    const char *path;
    const dbg_host_file *f = dbg_chk_libvirt_conf(s, "virtproxyd", &path, ev);
    char where[512];
    /* a plain-TCP listener seen outside the file fails whatever the file says */
    int tcp_unknown = 0, tls_unknown = 0;
    int tcp_elsewhere = listener_elsewhere(s, "tcp", dbg_host_file_get(f, "tcp_port"), 16509, 0,
                                           "no plain-TCP listener", &tcp_unknown, ev);
    if (dbg_chk_unreadable(f, path, "listen_tcp, listen_tls, tls_no_verify_certificate", ev))
        return tcp_elsewhere ? DBG_CHECK_FAIL : DBG_CHECK_ERROR;
    if (!f || !f->present) {
        dbg_chk_where(f, NULL, path, where, sizeof(where));
        dbg_evidence_add(ev, 0, where, "libvirt daemon configuration", "not available",
                         "listen_tcp = 0, tls_no_verify_certificate = 0");
        return tcp_elsewhere ? DBG_CHECK_FAIL : DBG_CHECK_ERROR;
    }
    long tcp = 0, tls = 1, noverify = 0;
    const dbg_setting *st_tcp = dbg_host_file_get(f, "listen_tcp");
    const dbg_setting *st_tls = dbg_host_file_get(f, "listen_tls");
    const dbg_setting *st_nv = dbg_host_file_get(f, "tls_no_verify_certificate");
    const dbg_setting *st_dn = dbg_host_file_get(f, "tls_allowed_dn_list");
    const dbg_setting *st_auth = dbg_host_file_get(f, "auth_tcp");
    if ((st_tcp && dbg_chk_long(st_tcp, &tcp)) || (st_tls && dbg_chk_long(st_tls, &tls)) ||
        (st_nv && dbg_chk_long(st_nv, &noverify))) {
        dbg_evidence_add(ev, 0, path, "listen_tcp/listen_tls/tls_no_verify_certificate",
                         "a value that is not a number", "0 or 1");
        return tcp_elsewhere ? DBG_CHECK_FAIL : DBG_CHECK_ERROR;
    }
    int ok = 1;
    dbg_chk_where(f, st_tcp, path, where, sizeof(where));
    char auth[64] = "";
    dbg_chk_value(st_auth, auth, sizeof(auth));
    dbg_evidence_addf(ev, tcp == 0, where, "listen_tcp", "0 (no plain-TCP listener)", "%ld%s%s%s",
                      tcp, st_tcp ? "" : " (default)", tcp && *auth ? ", auth_tcp = " : "",
                      tcp ? auth : "");
    ok &= tcp == 0 && !tcp_elsewhere;
    int tls_elsewhere = listener_elsewhere(s, "tls", dbg_host_file_get(f, "tls_port"), 16514, 1,
                                           "remote access over TLS with client certificates",
                                           &tls_unknown, ev);
    /* with listen_tls = 0 only a unit that could not be seen may run a TLS listener */
    int tls_unseen = tls == 0 && !tls_elsewhere && tls_unknown;
    int unknown = tcp_unknown;
    dbg_chk_where(f, st_tls, path, where, sizeof(where));
    if (tls == 0 && !tls_elsewhere && !tls_unknown) {
        dbg_evidence_add(ev, 1, where, "listen_tls",
                         "0 (no network listener; remote access only through SSH)",
                         "remote access over TLS with client certificates, or none");
    } else {
        dbg_evidence_addf(ev, 1, where, "listen_tls", "1", "%ld%s", tls,
                          tls_unseen ? " (a TLS socket unit may listen all the same: not seen)"
                          : tls == 0 ? " (not in effect: a TLS listener runs all the same)"
                          : st_tls   ? ""
                                     : " (default)");
        dbg_chk_where(f, st_nv, path, where, sizeof(where));
        dbg_evidence_addf(ev, noverify == 0, where, "tls_no_verify_certificate",
                          "0 (client certificates verified: mutual authentication)", "%ld%s",
                          noverify, st_nv ? "" : " (default)");
        if (tls_unseen)
            unknown |= noverify != 0;
        else
            ok &= noverify == 0;
        char dn[256] = "";
        dbg_chk_where(f, st_dn, path, where, sizeof(where));
        dbg_evidence_add(ev, 1, where, "tls_allowed_dn_list",
                         st_dn ? dbg_chk_value(st_dn, dn, sizeof(dn))
                               : "not set (any client certificate issued by the CA is accepted)",
                         "client certificates restricted to named administrators (recommended)");
    }
    return !ok ? DBG_CHECK_FAIL : unknown ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

/* Where a console without a listen address of its own listens: qemu.conf's vnc_listen or
 * spice_listen, else libvirt's built-in 127.0.0.1. addr gets the address, how says whence.
 * qf is qemu.conf as collected (at qp), looked up once per check, not per console. Returns -1
 * when it could not be read: the address is unknown. */
static int default_listen(const dbg_host_file *qf, const char *qp, const dbg_graphics *g,
                          char *addr, size_t asize, char *how, size_t hsize)
{
    const char *key = dbg_streq(g->type, "vnc")     ? "vnc_listen"
                      : dbg_streq(g->type, "spice") ? "spice_listen"
                                                    : NULL;
    if (key && qf && qf->error) {
        snprintf(addr, asize, "unknown");
        snprintf(how, hsize, "%s would say, but %s cannot be read: %s", key, qp, qf->error);
        return -1;
    }
    const dbg_setting *st = key ? dbg_host_file_get(qf, key) : NULL;
    if (st && dbg_chk_value(st, addr, asize) && *addr) {
        char where[300];
        dbg_chk_where(NULL, st, qp, where, sizeof(where));
        snprintf(how, hsize, "qemu.conf %s at %s", key, where);
        return 0;
    }
    snprintf(addr, asize, "127.0.0.1");
    snprintf(how, hsize, "libvirt default%s%s%s", key ? ", " : "", key ? key : "",
             key ? " not set in qemu.conf" : "");
    return 0;
}

dbg_check_result dbg_chk_console_exposure(const dbg_snapshot *s, const dbg_check_params *p,
                                          dbg_evidence_list *ev)
{
    (void)p;
    size_t good = 0, bad = 0, unknown = 0, lg = 0, lb = 0;
    const char *expected = "loopback only, or TLS and a password";

    const char *qp = "/etc/libvirt/qemu.conf";
    const dbg_host_file *qconf = dbg_snapshot_host_file(s, qp);
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        for (size_t j = 0; j < d->n_graphics; j++) {
            const dbg_graphics *g = &d->graphics[j];
            char addr[256], how[400] = "";
            /* The collector writes "socket" / "none" for <listen type='socket'|'none'>: a UNIX
             * socket on the host, or no listener at all; neither is reachable over a network. */
            int local = dbg_streq(g->listen, "socket") || dbg_streq(g->listen, "none");
            if (local)
                snprintf(how, sizeof(how), "%s",
                         dbg_streq(g->listen, "socket")
                             ? "UNIX socket on the host: no network listener"
                             : "no listener at all");
            int known = 1;
            if (g->listen && *g->listen)
                snprintf(addr, sizeof(addr), "%s", g->listen);
            else
                known = default_listen(qconf, qp, g, addr, sizeof(addr), how, sizeof(how)) == 0;
            int ok = local || (known && loopback(addr)) || (g->tls && g->has_password);
            /* TLS and a password may be there unseen: the collector takes VNC's TLS from
             * qemu.conf's vnc_tls (unknown if that file could not be read), and without the
             * secure XML libvirt leaves passwd out. */
            int tls_unseen = !g->tls && qconf && qconf->error;
            int pw_unseen = !g->has_password && d->secure_xml_error;
            int maybe = (g->tls || tls_unseen) && (g->has_password || pw_unseen);
            if (!ok && known && maybe && tls_unseen)
                snprintf(how, sizeof(how), "TLS unknown: %s cannot be read: %s", qp,
                         qconf->error);
            int hidden = !ok && (!known || maybe);
            char src[300], key[64], pw[400];
            dbg_chk_dom_src(d, src, sizeof(src));
            snprintf(key, sizeof(key), "<graphics type='%s'>", g->type ? g->type : "?");
            if (hidden && pw_unseen)
                snprintf(pw, sizeof(pw), "not known (XML read without VIR_DOMAIN_XML_SECURE: %s)",
                         d->secure_xml_error);
            else
                snprintf(pw, sizeof(pw), "%s", g->has_password ? "yes" : "no");
            if (ok ? lg < DBG_CHK_MAX_LISTED : lb < DBG_CHK_MAX_LISTED) {
                dbg_evidence_addf(ev, ok, src, key, expected,
                                  "listen %s%s%s%s, TLS %s, password %s", addr, *how ? " (" : "",
                                  how, *how ? ")" : "", g->tls ? "yes" : "no", pw);
                ok ? lg++ : lb++;
            }
            ok ? good++ : hidden ? unknown++ : bad++;
        }
    }
    if (good + bad + unknown == 0) {
        dbg_evidence_add(ev, 1, "libvirt virDomainGetXMLDesc", "graphics consoles", "none defined",
                         expected);
        return DBG_CHECK_NA;
    }
    dbg_chk_more(ev, 0, "libvirt", bad + unknown, "exposed consoles, or not fully seen",
                 expected);
    dbg_chk_more(ev, 1, "libvirt", good, "protected consoles", expected);
    return bad ? DBG_CHECK_FAIL : unknown ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

enum { BLOCK_MAC = 1, BLOCK_IP = 2, BLOCK_ARP = 4, BLOCK_ALL = 7 };

/* What a filter blocks, following its <filterref>s (depth-limited: filters may not loop,
 * but a snapshot is untrusted input). */
static int filter_blocks(const dbg_snapshot *s, const char *name, int depth)
{
    int bits = 0;
    if (!name || depth > 16)
        return 0;
    if (!strcmp(name, "no-mac-spoofing"))
        bits |= BLOCK_MAC;
    else if (!strcmp(name, "no-ip-spoofing"))
        bits |= BLOCK_IP;
    else if (!strcmp(name, "no-arp-spoofing") || !strcmp(name, "no-arp-ip-spoofing"))
        bits |= BLOCK_ARP;
    const dbg_nwfilter *f = dbg_chk_find_filter(s, name);
    if (f)
        for (size_t i = 0; i < f->n_refs && bits != BLOCK_ALL; i++)
            bits |= filter_blocks(s, f->refs[i], depth + 1);
    return bits;
}

static void describe_bits(int bits, char *buf, size_t size)
{
    snprintf(buf, size, "blocks MAC spoofing: %s, IP spoofing: %s, ARP spoofing: %s",
             bits & BLOCK_MAC ? "yes" : "no", bits & BLOCK_IP ? "yes" : "no",
             bits & BLOCK_ARP ? "yes" : "no");
}

/* One VM port on an L2 segment, to find a MAC address two ports use there. The segment is
 * the libvirt network (a host bridge a network owns counts as that network), else the host
 * bridge or the direct (macvtap) device, and the VLAN: the port's tag, else its network's only
 * one, else none (-1). The same MAC on two VLANs of one bridge is two stations: each VLAN has
 * its own forwarding table. */
typedef struct {
    int kind; /* 0 libvirt network, 1 host bridge no listed network owns, 2 direct device */
    const char *segment;
    int vlan;
    const dbg_domain *dom;
    const dbg_iface *iface;
} mac_port;

static int mac_port_cmp(const void *a, const void *b)
{
    const mac_port *x = a, *y = b;
    int c = x->kind - y->kind;
    if (!c)
        c = strcmp(x->segment, y->segment);
    if (!c)
        c = (x->vlan > y->vlan) - (x->vlan < y->vlan);
    if (!c)
        c = strcasecmp(x->iface->mac, y->iface->mac);
    return c ? c : dbg_chk_port_order(x->dom, x->iface, y->dom, y->iface);
}

static int same_station(const mac_port *x, const mac_port *y)
{
    return x->kind == y->kind && !strcmp(x->segment, y->segment) && x->vlan == y->vlan &&
           !strcasecmp(x->iface->mac, y->iface->mac);
}

/* MAC addresses that two or more ports of any VMs use on one L2 segment, where one of them is
 * a tenant VM's: the bridge learns the address on whichever port sent last and delivers the
 * other VM's frames there, and no-mac-spoofing lets each send with it (it is its own), so the
 * filter cannot tell them apart. One evidence line per address, on the first tenant VM's
 * port, naming the other VMs. Returns how many; sets ev->failed when out of memory. */
static size_t shared_macs(const dbg_snapshot *s, const char *expected, dbg_evidence_list *ev)
{
    size_t total = 0, n = 0, shared = 0, listed = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        total += s->domains[i].n_ifaces;
    dbg_chk_net_index ix;
    mac_port *ports = total ? dbg_calloc(total, sizeof(*ports)) : NULL;
    if (dbg_chk_net_index_build(s, &ix) < 0 || (total && !ports)) {
        ev->failed = 1;
        goto out;
    }
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const dbg_iface *f = &d->ifaces[j];
            if (!f->mac || !*f->mac)
                continue;
            mac_port pt = {.dom = d, .iface = f};
            const dbg_network *net;
            if ((pt.kind = dbg_chk_port_segment(s, &ix, f, &pt.segment, &net)) < 0)
                continue; /* user-mode networking, or a tap on no bridge libvirt names */
            /* a trunk (vlan -1, several tags) by its first tag, as before the collector kept
             * them all: a station is one VLAN here */
            pt.vlan = f->vlan >= 0                   ? f->vlan
                      : f->n_vlan_tags               ? f->vlan_tags[0]
                      : net && net->n_vlan_tags == 1 ? net->vlan_tags[0]
                                                     : -1;
            ports[n++] = pt;
        }
    }
    if (n > 1)
        qsort(ports, n, sizeof(*ports), mac_port_cmp);
    for (size_t i = 0, j; i < n; i = j) {
        const mac_port *tenant = NULL;
        for (j = i; j < n && same_station(&ports[i], &ports[j]); j++)
            if (!tenant && dbg_chk_is_tenant_vm(ports[j].dom))
                tenant = &ports[j];
        if (j - i < 2 || !tenant)
            continue;
        if (listed++ < DBG_CHK_MAX_LISTED) {
            dbg_buf others;
            dbg_buf_init(&others, 4096);
            size_t shown = 0;
            int oom = 0;
            for (size_t k = i; k < j; k++) {
                if (&ports[k] == tenant)
                    continue;
                if (shown++ < 4)
                    oom |= dbg_buf_printf(&others, "%sVM %s", shown > 1 ? ", " : "",
                                          ports[k].dom->name ? ports[k].dom->name : "?") < 0;
                else if (shown == 5)
                    oom |= dbg_buf_printf(&others, " and %zu more", j - i - 5) < 0;
            }
            char src[300], key[160], vlan[32] = "";
            dbg_chk_dom_src(tenant->dom, src, sizeof(src));
            snprintf(key, sizeof(key), "interface %s MAC address", tenant->iface->mac);
            if (tenant->vlan >= 0)
                snprintf(vlan, sizeof(vlan), ", VLAN %d", tenant->vlan);
            dbg_evidence_addf(ev, 0, src, key, expected,
                              "%s is also used by %s on the same L2 segment (%s %s%s): "
                              "no-mac-spoofing cannot tell the ports apart, and one VM's frames "
                              "may be delivered to the other",
                              tenant->iface->mac, others.data ? others.data : "?",
                              tenant->kind == 0   ? "network"
                              : tenant->kind == 1 ? "host bridge"
                                                  : "direct device",
                              tenant->segment, vlan);
            if (oom)
                ev->failed = 1;
            dbg_buf_free(&others);
        }
        shared++;
    }
    dbg_chk_more(ev, 0, "libvirt", shared, "MAC addresses shared on one L2 segment", expected);
out:
    free(ports);
    dbg_chk_net_index_free(&ix);
    return shared;
}

/* The two filter checks with no tenant port to judge: not applicable, unless ports of VMs
 * whose tenant is not known might be tenant ports (then not provable). */
static dbg_check_result no_tenant_ports(const dbg_snapshot *s, const char *expected,
                                        dbg_evidence_list *ev)
{
    if (dbg_chk_unplaced_vms(s, ev))
        return DBG_CHECK_ERROR;
    dbg_evidence_add(ev, 1, "libvirt virConnectListAllDomains", "tenant VM interfaces", "none",
                     expected);
    return DBG_CHECK_NA;
}

/* What the ports showed passes only when the filters they name could be read: a driver
 * without the nwfilter list (the test driver) leaves it unproven. */
static dbg_check_result pass_if_filters_read(const dbg_snapshot *s, const char *expected,
                                             dbg_evidence_list *ev)
{
    if (s->nwfilter_supported)
        return DBG_CHECK_PASS;
    dbg_evidence_add(ev, 0, "libvirt virConnectListAllNWFilters", "nwfilter definitions",
                     s->nwfilter_note ? s->nwfilter_note : "not supported by this driver",
                     expected);
    return DBG_CHECK_ERROR;
}

dbg_check_result dbg_chk_nwfilter_antispoof(const dbg_snapshot *s, const dbg_check_params *p,
                                            dbg_evidence_list *ev)
{
    (void)p;
    size_t ports = 0, missing = 0, weak = 0, good = 0, lb = 0, lg = 0;
    const char *expected =
        "filterref to clean-traffic or a filter including no-mac/no-ip/no-arp-spoofing";
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!dbg_chk_is_tenant_vm(d))
            continue;
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const dbg_iface *f = &d->ifaces[j];
            if (dbg_streq(f->type, "user"))
                continue;
            ports++;
            char src[300], key[128];
            dbg_chk_dom_src(d, src, sizeof(src));
            snprintf(key, sizeof(key), "interface %s filterref", f->mac ? f->mac : "?");
            if (!f->filterref) {
                if (lb++ < DBG_CHK_MAX_LISTED)
                    dbg_evidence_add(ev, 0, src, key, "none (no nwfilter bound)", expected);
                missing++;
                continue;
            }
            if (!s->nwfilter_supported) {
                good++; /* bound, but what the filter does cannot be seen */
                if (lg++ < DBG_CHK_MAX_LISTED)
                    dbg_evidence_addf(ev, 1, src, key, expected, "%s (contents not visible)",
                                      f->filterref);
                continue;
            }
            char what[160];
            int bits = filter_blocks(s, f->filterref, 0);
            describe_bits(bits, what, sizeof(what));
            int ok = bits == BLOCK_ALL;
            if (ok ? lg++ < DBG_CHK_MAX_LISTED : lb++ < DBG_CHK_MAX_LISTED)
                dbg_evidence_addf(ev, ok, src, key, expected, "%s%s: %s", f->filterref,
                                  dbg_chk_find_filter(s, f->filterref) ? "" : " (not defined)", what);
            ok ? good++ : weak++;
        }
    }
    if (ports == 0)
        return no_tenant_ports(s, expected, ev);
    dbg_chk_more(ev, 0, "libvirt", missing + weak, "unprotected interfaces", expected);
    dbg_chk_more(ev, 1, "libvirt", good, "protected interfaces", expected);
    /* A filter keeps a port to its own MAC address; a second port with that address on the
     * segment defeats it whatever the filter says. */
    size_t shared = shared_macs(s, "a MAC address no other port on its L2 segment uses", ev);
    /* Whether an unplaced VM's ports need the filter depends on whose VM it is. */
    size_t unplaced = dbg_chk_unplaced_vms(s, ev);
    if (missing + weak + shared)
        return DBG_CHECK_FAIL;
    if (unplaced)
        return DBG_CHECK_ERROR;
    return pass_if_filters_read(s, "filter definitions readable to show they block spoofing", ev);
}

dbg_check_result dbg_chk_filter_follows_vm(const dbg_snapshot *s, const dbg_check_params *p,
                                           dbg_evidence_list *ev)
{
    (void)p;
    size_t ports = 0, bad = 0, lb = 0;
    const char *expected = "an nwfilter bound in the domain definition (migrates with the VM) and "
                           "defined on the platform";
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!dbg_chk_is_tenant_vm(d))
            continue;
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const dbg_iface *f = &d->ifaces[j];
            if (dbg_streq(f->type, "user"))
                continue;
            ports++;
            const char *why = NULL;
            if (!f->filterref)
                why = "no filterref: the VM carries no access policy to its destination";
            /* Whether the policy travels with the VM, not what it allows: an allow-all filter
             * migrates too (bnd.vnet_boundary_acl judges its rules). */
            else if (s->nwfilter_supported && !dbg_chk_find_filter(s, f->filterref))
                why = "filterref names a filter that is not defined";
            if (!why)
                continue;
            bad++;
            if (lb++ < DBG_CHK_MAX_LISTED) {
                char src[300], key[128];
                dbg_chk_dom_src(d, src, sizeof(src));
                snprintf(key, sizeof(key), "interface %s filterref", f->mac ? f->mac : "?");
                dbg_evidence_addf(ev, 0, src, key, expected, "%s%s%s",
                                  f->filterref ? f->filterref : "", f->filterref ? ": " : "", why);
            }
        }
    }
    if (ports == 0)
        return no_tenant_ports(s, expected, ev);
    dbg_chk_more(ev, 0, "libvirt", bad, "interfaces without a migrating policy", expected);
    size_t unplaced = dbg_chk_unplaced_vms(s, ev);
    if (bad)
        return DBG_CHECK_FAIL;
    dbg_evidence_addf(ev, 1, "libvirt virDomainGetXMLDesc", "tenant VM interfaces", expected,
                      "all %zu tenant interfaces bind an nwfilter in their domain XML", ports);
    if (unplaced)
        return DBG_CHECK_ERROR;
    return pass_if_filters_read(s, "filters defined on the platform", ev);
}

dbg_check_result dbg_chk_ctl_guard(const dbg_snapshot *s, const dbg_check_params *p,
                                   dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_status(
        s, "guard",
        "libvirt lifecycle events matched against authorizations, alerting on unauthorized VMs",
        ev);
}

/* Malware: infection is found by scanning images (dengbao image scan, control "malware"),
 * spread between VMs by the sensor's worm-spread detector; each alone is partial. */
dbg_check_result dbg_chk_ctl_malware(const dbg_snapshot *s, const dbg_check_params *p,
                                     dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_pair(
        s, "malware", "malware scanning of VM images and volumes with alerting", "sensor",
        "detection of infection spreading between VMs (network sensor)", ev);
}
