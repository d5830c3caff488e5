/* 安全区域边界 checks (cloud 8.2.3): access control at virtual network boundaries, intrusion
 * detection (dengbao sensor), audit of privileged remote commands (gateway + audit log,
 * libvirt's own audit records) and tenants' ability to audit the provider. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

/* libvirt installs firewall rules for nat and route networks and isolated networks have no
 * way out; "open" installs none, and bridged / direct networks hand the boundary to the
 * physical network, so there the per-port nwfilter is the only virtual boundary control. */
static int mode_has_firewall(const char *mode)
{
    return !mode || !strcmp(mode, "nat") || !strcmp(mode, "route");
}

/* Tenant ports per network, counted in one pass over all interfaces (a 10,000-VM cloud has
 * 500 networks: a scan per network would be quadratic). */

/* A port is filtered when its nwfilter drops or rejects something (dbg_chk_port_filter): one
 * that accepts everything, as libvirt's allow-all, is no access control. */
typedef struct {
    size_t ports, unfiltered, unseen; /* unseen: a filter whose rules nobody could see */
    const dbg_domain *example, *unseen_example;
    const dbg_iface *example_iface, *unseen_iface;
} net_ports;

/* A tenant port on no libvirt network of the snapshot: a host bridge libvirt does not manage
 * or a macvtap (direct) device, where nothing of libvirt's firewalls it, or a network the
 * snapshot lacks (not listed), where whether libvirt does is not known. Either way its own
 * nwfilter is a virtual boundary control there. */
enum { PORT_BRIDGE, PORT_DIRECT, PORT_UNLISTED_NET };
static const char *const port_type[] = {"bridge", "direct", "network"};
static const char *const port_segment[] = {"host bridge", "direct device", "network"};
typedef struct {
    const char *segment; /* bridge, device or network name */
    int kind;            /* PORT_* */
    const dbg_domain *dom;
    const dbg_iface *iface;
} host_port;

typedef struct {
    net_ports *nets; /* per s->networks */
    host_port *host; /* sorted by kind, then segment */
    size_t n_host;
} tenant_ports;

static int host_port_cmp(const void *a, const void *b)
{
    const host_port *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    int c = strcmp(x->segment, y->segment);
    if (c)
        return c;
    return dbg_chk_port_order(x->dom, x->iface, y->dom, y->iface);
}

static void tenant_ports_free(tenant_ports *t)
{
    free(t->nets);
    free(t->host);
    t->nets = NULL;
    t->host = NULL;
}

static int count_tenant_ports(const dbg_snapshot *s, tenant_ports *t)
{
    int r = -1;
    size_t n = s->n_networks, total = 0;
    for (size_t d = 0; d < s->n_domains; d++)
        total += s->domains[d].n_ifaces;
    t->nets = dbg_calloc(n ? n : 1, sizeof(*t->nets));
    t->host = dbg_calloc(total ? total : 1, sizeof(*t->host));
    t->n_host = 0;
    dbg_chk_net_index ix = {0};
    if (!t->nets || !t->host || dbg_chk_net_index_build(s, &ix) < 0)
        goto done;
    for (size_t d = 0; d < s->n_domains; d++) {
        const dbg_domain *dom = &s->domains[d];
        if (!dbg_chk_is_tenant_vm(dom))
            continue;
        for (size_t j = 0; j < dom->n_ifaces; j++) {
            const dbg_iface *f = &dom->ifaces[j];
            int bridge = dbg_streq(f->type, "bridge"), direct = dbg_streq(f->type, "direct");
            int network = dbg_streq(f->type, "network");
            const dbg_network *hit = network  ? dbg_chk_net_by_name(s, &ix, f->source)
                                     : bridge ? dbg_chk_net_by_bridge(s, &ix, f->source)
                                              : NULL;
            if (!hit) {
                int kind = network ? PORT_UNLISTED_NET : direct ? PORT_DIRECT : PORT_BRIDGE;
                if ((bridge || direct || network) && f->source)
                    t->host[t->n_host++] = (host_port){f->source, kind, dom, f};
                continue;
            }
            net_ports *np = &t->nets[hit - s->networks];
            np->ports++;
            int filtered = dbg_chk_port_filter(s, f, NULL, 0);
            if (filtered == 0 && np->unfiltered++ == 0) {
                np->example = dom;
                np->example_iface = f;
            }
            if (filtered < 0 && np->unseen++ == 0) {
                np->unseen_example = dom;
                np->unseen_iface = f;
            }
        }
    }
    if (t->n_host)
        qsort(t->host, t->n_host, sizeof(*t->host), host_port_cmp);
    r = 0;
done:
    dbg_chk_net_index_free(&ix);
    if (r < 0)
        tenant_ports_free(t);
    return r;
}

dbg_check_result dbg_chk_vnet_boundary_acl(const dbg_snapshot *s, const dbg_check_params *p,
                                           dbg_evidence_list *ev)
{
    (void)p;
    size_t bad = 0, good = 0, unknown = 0, lb = 0, lg = 0;
    const char *expected =
        "nat/route/isolated network (libvirt firewall rules), or every port filtered (an nwfilter "
        "with drop/reject rules)";
    tenant_ports tp = {0};
    if (count_tenant_ports(s, &tp) < 0) {
        ev->failed = 1;
        return DBG_CHECK_ERROR;
    }
    for (size_t i = 0; i < s->n_networks; i++) {
        const dbg_network *net = &s->networks[i];
        if (dbg_streq(net->role, "management") || dbg_streq(net->role, "storage"))
            continue;
        size_t unfiltered = tp.nets[i].unfiltered;
        const dbg_domain *example = tp.nets[i].example;
        dbg_chk_tenant owner = dbg_chk_net_owner(net);
        int tenant = tp.nets[i].ports || dbg_streq(net->role, "tenant") || owner.id || owner.name;
        if (!tenant)
            continue;
        char src[300];
        dbg_chk_net_src(net->name, src, sizeof(src));
        const char *mode = net->forward_mode ? net->forward_mode : "none (isolated)";
        size_t unseen_ports = tp.nets[i].unseen;
        int ok = mode_has_firewall(net->forward_mode) || (unfiltered == 0 && unseen_ports == 0);
        /* filters named but not shown by the driver: protected or not cannot be told */
        int unseen = !ok && unfiltered == 0;
        if (ok ? lg < DBG_CHK_MAX_LISTED : lb < DBG_CHK_MAX_LISTED) {
            char why[300] = "";
            if (!ok)
                dbg_chk_port_filter(s, unseen ? tp.nets[i].unseen_iface : tp.nets[i].example_iface,
                                    why, sizeof(why));
            if (ok && mode_has_firewall(net->forward_mode))
                dbg_evidence_addf(ev, 1, src, "forward mode", expected,
                                  "%s: libvirt applies its firewall rules at this boundary", mode);
            else if (ok)
                dbg_evidence_addf(ev, 1, src, "forward mode", expected,
                                  "%s: no libvirt firewall, but every tenant port has an nwfilter "
                                  "that drops or rejects traffic",
                                  mode);
            else if (unseen)
                dbg_evidence_addf(ev, 0, src, "forward mode", expected,
                                  "%s: no libvirt firewall; %zu tenant port(s) have an nwfilter "
                                  "whose rules cannot be seen (e.g. VM %s: %s)",
                                  mode, unseen_ports,
                                  tp.nets[i].unseen_example && tp.nets[i].unseen_example->name
                                      ? tp.nets[i].unseen_example->name
                                      : "?",
                                  why);
            else
                dbg_evidence_addf(ev, 0, src, "forward mode", expected,
                                  "%s: no libvirt firewall rules and %zu tenant port(s) without "
                                  "a restricting nwfilter (e.g. VM %s: %s)",
                                  mode, unfiltered, example && example->name ? example->name : "?",
                                  why);
            ok ? lg++ : lb++;
        }
        ok ? good++ : unseen ? unknown++ : bad++;
    }
    /* Tenant ports straight on a host bridge or a direct device, or on a network the snapshot
     * lacks: a segment of its own each. */
    for (size_t i = 0; i < tp.n_host;) {
        size_t j = i, unfiltered = 0, unseen_ports = 0;
        const host_port *example = NULL;
        for (; j < tp.n_host && tp.host[j].kind == tp.host[i].kind &&
               !strcmp(tp.host[j].segment, tp.host[i].segment);
             j++) {
            int filtered = dbg_chk_port_filter(s, tp.host[j].iface, NULL, 0);
            if (filtered == 0 && unfiltered++ == 0)
                example = &tp.host[j];
            if (filtered < 0 && unseen_ports++ == 0 && !example)
                example = &tp.host[j];
        }
        const host_port *h = example ? example : &tp.host[i];
        int ok = unfiltered == 0 && unseen_ports == 0;
        /* A network the snapshot lacks, or a bridge when no network was listed (it may be a
         * nat/route network's): whether libvirt firewalls it is not known, so unfiltered ports
         * there are not known to be unprotected. */
        char why[400] = "";
        if (h->kind != PORT_DIRECT && s->networks_error)
            snprintf(why, sizeof(why),
                     "networks not listed (%s): whether libvirt firewalls this %s cannot be told",
                     s->networks_error, h->kind == PORT_BRIDGE ? "bridge" : "network");
        else if (h->kind == PORT_UNLISTED_NET)
            snprintf(why, sizeof(why),
                     "not in the snapshot (no network of that name was listed): whether libvirt "
                     "firewalls it cannot be told");
        else if (unfiltered == 0 && unseen_ports)
            snprintf(why, sizeof(why), "%zu port(s) have an nwfilter whose rules cannot be seen",
                     unseen_ports);
        int unseen = !ok && *why;
        if (ok ? lg < DBG_CHK_MAX_LISTED : lb < DBG_CHK_MAX_LISTED) {
            char src[300], key[300], port_why[300] = "";
            if (!ok)
                dbg_chk_port_filter(s, h->iface, port_why, sizeof(port_why));
            snprintf(src, sizeof(src), "libvirt virDomainGetXMLDesc(%s) <interface type='%s'>",
                     h->dom->name ? h->dom->name : "?", port_type[h->kind]);
            dbg_utf8_trim_partial(src);
            snprintf(key, sizeof(key), "%s %s", port_segment[h->kind], h->segment);
            dbg_utf8_trim_partial(key);
            if (ok)
                dbg_evidence_addf(ev, 1, src, key, expected,
                                  "%s, but all %zu tenant port(s) on it have an nwfilter that "
                                  "drops or rejects traffic",
                                  *why ? why : "not a libvirt network (no libvirt firewall)",
                                  j - i);
            else if (unseen && unfiltered == 0)
                dbg_evidence_addf(ev, 0, src, key, expected,
                                  "%s, of %zu tenant port(s) (e.g. VM %s: %s)", why, j - i,
                                  h->dom->name ? h->dom->name : "?", port_why);
            else if (unseen)
                dbg_evidence_addf(ev, 0, src, key, expected,
                                  "%s, and %zu of %zu tenant port(s) on it have no restricting "
                                  "nwfilter (e.g. VM %s: %s)",
                                  why, unfiltered, j - i, h->dom->name ? h->dom->name : "?",
                                  port_why);
            else
                dbg_evidence_addf(ev, 0, src, key, expected,
                                  "not a libvirt network: no libvirt firewall rules and %zu of "
                                  "%zu tenant port(s) without a restricting nwfilter (e.g. VM "
                                  "%s: %s)",
                                  unfiltered, j - i, h->dom->name ? h->dom->name : "?", port_why);
            ok ? lg++ : lb++;
        }
        ok ? good++ : unseen ? unknown++ : bad++;
        i = j;
    }
    tenant_ports_free(&tp);
    if (good + bad + unknown == 0) {
        /* No tenant port anywhere, but tenant networks may exist unseen. */
        if (s->networks_error)
            dbg_evidence_addf(ev, 0, "libvirt virConnectListAllNetworks", "tenant networks",
                              expected, "networks not listed (%s): tenant networks cannot be seen",
                              s->networks_error);
        if (dbg_chk_unplaced_vms(s, ev) + dbg_chk_unseen_segment_ports(s, 0, ev) || s->networks_error)
            return DBG_CHECK_ERROR;
        dbg_evidence_add(ev, 1, "libvirt virConnectListAllNetworks", "tenant networks", "none",
                         expected);
        return DBG_CHECK_NA;
    }
    dbg_chk_more(ev, 0, "libvirt", bad, "networks without boundary control", expected);
    dbg_chk_more(ev, 0, "libvirt", unknown, "segments whose boundary control cannot be told",
                 expected);
    dbg_chk_more(ev, 1, "libvirt", good, "networks with boundary control", expected);
    /* The networks of unplaced VMs were not counted as tenant networks. */
    size_t unplaced = dbg_chk_unplaced_vms(s, ev) + dbg_chk_unseen_segment_ports(s, 0, ev);
    return bad ? DBG_CHECK_FAIL : unplaced || unknown ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

dbg_check_result dbg_chk_ctl_sensor(const dbg_snapshot *s, const dbg_check_params *p,
                                    dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_status(
        s, "sensor",
        "detect and alert on attacks by tenants, on virtual nodes and anomalous VM/host traffic",
        ev);
}

dbg_check_result dbg_chk_ctl_audit_log(const dbg_snapshot *s, const dbg_check_params *p,
                                       dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_status(
        s, "audit_log",
        "a tamper-evident log of provider operations that tenants can verify for their VMs", ev);
}

dbg_check_result dbg_chk_ctl_gateway_audit(const dbg_snapshot *s, const dbg_check_params *p,
                                           dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_pair(
        s, "gateway", "privileged VM operations (delete, reboot) pass an audited gateway",
        "audit_log", "the gateway's records kept in a tamper-evident audit log", ev);
}

dbg_check_result dbg_chk_libvirt_audit(const dbg_snapshot *s, const dbg_check_params *p,
                                       dbg_evidence_list *ev)
{
    (void)p;
    const char *path;
    const dbg_host_file *f = dbg_chk_libvirt_conf(s, "virtqemud", &path, ev);
    char where[512];
    if (dbg_chk_unreadable(f, path, "audit_level", ev))
        return DBG_CHECK_ERROR;
    if (!f || !f->present) {
        dbg_chk_where(f, NULL, path, where, sizeof(where));
        dbg_evidence_add(ev, 0, where, "audit_level", "file not available",
                         "libvirt daemon configuration to read");
        return DBG_CHECK_ERROR;
    }
    const dbg_setting *st = dbg_host_file_get(f, "audit_level");
    long level = 1; /* libvirt's default: audit when the host's audit subsystem is on */
    dbg_chk_where(f, st, path, where, sizeof(where));
    if (st && dbg_chk_long(st, &level) != 0) {
        dbg_evidence_add(ev, 0, where, "audit_level", st->value, "0, 1 or 2");
        return DBG_CHECK_ERROR;
    }
    int lvl_ok = level != 0;
    dbg_evidence_addf(ev, lvl_ok, where, "audit_level",
                      "1 or 2 (libvirt emits VIRT_* audit records)", "%ld%s", level,
                      st ? "" : " (default)");
    char pidwhere[256];
    int running = dbg_chk_auditd_state(s, pidwhere, sizeof(pidwhere));
    if (running < 0) {
        dbg_evidence_add(ev, 0, pidwhere, "auditd", "cannot be confirmed", "auditd running");
        return lvl_ok ? DBG_CHECK_ERROR : DBG_CHECK_FAIL;
    }
    dbg_evidence_add(ev, running, pidwhere, "auditd", running ? "running" : "not running",
                     "auditd running to receive libvirt's records");
    return lvl_ok && running ? DBG_CHECK_PASS : DBG_CHECK_FAIL;
}
