/* 安全通信网络 checks (cloud 8.2.2): platform level vs hosted systems, isolation between
 * tenants' virtual networks, security mechanisms the platform can offer tenants. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

dbg_check_result dbg_chk_platform_level(const dbg_snapshot *s, const dbg_check_params *p,
                                        dbg_evidence_list *ev)
{
    (void)s;
    const char *src = "grading input (dengbao assess --level / --hosts-level)";
    if (p->hosts_level < 1) {
        dbg_evidence_add(ev, 0, src, "hosted systems' highest level", "not given",
                         "a level 1..4 from the grading of the hosted systems (--hosts-level)");
        return DBG_CHECK_ERROR;
    }
    int ok = p->level >= p->hosts_level;
    dbg_evidence_addf(ev, ok, src, "platform level vs hosted systems' highest level",
                      "platform level >= every hosted system's level",
                      "platform level %d, hosted systems up to level %d", p->level, p->hosts_level);
    return ok ? DBG_CHECK_PASS : DBG_CHECK_FAIL;
}

/* One tenant VM port on an L2 segment (a libvirt network, or a host bridge / direct device). */
typedef struct {
    const char *segment; /* network name, or bridge/device name */
    int kind;            /* 0 libvirt network, 1 host bridge, 2 macvtap direct */
    const char *tenant;
    int vlan;
    const dbg_domain *dom;
    const dbg_iface *iface;
} port;

static int port_cmp(const void *a, const void *b)
{
    const port *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    int c = strcmp(x->segment, y->segment);
    if (c)
        return c;
    return strcmp(x->tenant, y->tenant);
}

/* Maps a host bridge back to the libvirt network that owns it, so a VM attached by bridge
 * name and one attached by network name are seen on the same segment. */
static const dbg_network *network_by_bridge(const dbg_snapshot *s, const char *br)
{
    for (size_t i = 0; i < s->n_networks; i++)
        if (s->networks[i].bridge && dbg_streq(s->networks[i].bridge, br))
            return &s->networks[i];
    return NULL;
}

static size_t collect_ports(const dbg_snapshot *s, port *ports)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!dbg_chk_is_tenant_vm(d))
            continue;
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const dbg_iface *f = &d->ifaces[j];
            if (!f->source || !f->type)
                continue;
            port pt = {.segment = f->source,
                       .tenant = dbg_chk_tenant_of(d),
                       .vlan = f->vlan,
                       .dom = d,
                       .iface = f};
            if (!strcmp(f->type, "network")) {
                pt.kind = 0;
            } else if (!strcmp(f->type, "bridge")) {
                const dbg_network *net = network_by_bridge(s, f->source);
                pt.kind = net ? 0 : 1;
                if (net)
                    pt.segment = net->name;
            } else if (!strcmp(f->type, "direct")) {
                pt.kind = 2;
            } else {
                continue; /* user-mode networking is private to the VM */
            }
            ports[n++] = pt;
        }
    }
    return n;
}

/* Per-tenant VLANs separate tenants when every port is tagged and no tag is used by two
 * tenants. */
static int vlans_separate(const port *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (g[i].vlan < 0)
            return 0;
        for (size_t j = i + 1; j < n; j++)
            if (g[j].vlan == g[i].vlan && strcmp(g[j].tenant, g[i].tenant))
                return 0;
    }
    return 1;
}

static void describe_tenants(const port *g, size_t n, dbg_buf *b)
{
    const char *last = NULL;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!last || strcmp(last, g[i].tenant)) {
            dbg_buf_printf(b, "%stenant %s:", last ? "; " : "", g[i].tenant);
            last = g[i].tenant;
            shown = 0;
        }
        if (shown < 4)
            dbg_buf_printf(b, " %s", g[i].dom->name);
        else if (shown == 4)
            dbg_buf_adds(b, " ...");
        shown++;
    }
}

dbg_check_result dbg_chk_tenant_isolation(const dbg_snapshot *s, const dbg_check_params *p,
                                          dbg_evidence_list *ev)
{
    (void)p;
    size_t total = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        total += s->domains[i].n_ifaces;
    port *ports = dbg_calloc(total ? total : 1, sizeof(*ports));
    if (!ports) {
        ev->failed = 1;
        return DBG_CHECK_ERROR;
    }
    size_t n = collect_ports(s, ports);
    if (n == 0) {
        free(ports);
        if (dbg_chk_unplaced_vms(s, ev))
            return DBG_CHECK_ERROR;
        dbg_evidence_add(ev, 1, "libvirt virConnectListAllDomains", "tenant VM interfaces",
                         "none (no VM names a tenant)", "tenant VMs on tenant networks");
        return DBG_CHECK_NA;
    }
    qsort(ports, n, sizeof(*ports), port_cmp);
    size_t bad = 0, good = 0, listed_bad = 0, listed_good = 0;
    char src[300];
    static const char *const kinds[] = {"network", "host bridge", "direct device"};
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        size_t tenants = 1;
        while (j < n && ports[j].kind == ports[i].kind &&
               !strcmp(ports[j].segment, ports[i].segment)) {
            if (strcmp(ports[j].tenant, ports[j - 1].tenant))
                tenants++;
            j++;
        }
        const dbg_network *net =
            ports[i].kind == 0 ? dbg_snapshot_network(s, ports[i].segment) : NULL;
        if (ports[i].kind == 0)
            dbg_chk_net_src(ports[i].segment, src, sizeof(src));
        else
            snprintf(src, sizeof(src), "libvirt virDomainGetXMLDesc(%s) <interface type='%s'>",
                     ports[i].dom->name, ports[i].iface->type);
        char key[300];
        snprintf(key, sizeof(key), "%s %s", kinds[ports[i].kind], ports[i].segment);
        const char *expected = "one tenant per L2 segment, or port isolation / a VLAN per tenant";
        /* A network that declares an owner must carry that tenant's VMs only. */
        const char *foreign = NULL;
        if (net && net->tenant_id)
            for (size_t k = i; k < j; k++)
                if (strcmp(ports[k].tenant, net->tenant_id))
                    foreign = ports[k].tenant;
        dbg_buf b;
        dbg_buf_init(&b, 4096);
        describe_tenants(ports + i, j - i, &b);
        int ok;
        const char *how;
        if (foreign) {
            ok = 0;
            how = "network owned by another tenant";
        } else if (tenants < 2) {
            ok = 1;
            how = "single tenant";
        } else if (net && net->port_isolated) {
            ok = 1;
            how = "shared, ports isolated (<port isolated='yes'/>)";
        } else if (vlans_separate(ports + i, j - i)) {
            ok = 1;
            how = "shared, a separate VLAN per tenant";
        } else {
            ok = 0;
            how = "shared by several tenants on one L2 segment without port isolation or "
                  "per-tenant VLANs";
        }
        if (ok ? listed_good < DBG_CHK_MAX_LISTED : listed_bad < DBG_CHK_MAX_LISTED) {
            if (foreign)
                dbg_evidence_addf(ev, 0, src, key, expected, "%s (owner %s): %s", how,
                                  net->tenant_id, b.data ? b.data : "");
            else
                dbg_evidence_addf(ev, ok, src, key, expected, "%s: %s", how, b.data ? b.data : "");
            ok ? listed_good++ : listed_bad++;
        }
        dbg_buf_free(&b);
        ok ? good++ : bad++;
        i = j;
    }
    dbg_chk_more(ev, 0, "libvirt", bad, "segments shared without isolation",
                 "isolation between tenants");
    dbg_chk_more(ev, 1, "libvirt", good, "isolated segments", "isolation between tenants");
    free(ports);
    /* An unplaced VM on a "single tenant" segment may well be another tenant's. */
    size_t unplaced = dbg_chk_unplaced_vms(s, ev);
    return bad ? DBG_CHECK_FAIL : unplaced ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

dbg_check_result dbg_chk_security_mechanisms(const dbg_snapshot *s, const dbg_check_params *p,
                                             dbg_evidence_list *ev)
{
    (void)p;
    int filters = s->nwfilter_supported && s->n_nwfilters > 0;
    if (s->nwfilter_supported)
        dbg_evidence_addf(ev, filters, "libvirt virConnectListAllNWFilters", "boundary protection",
                          "network filters available to attach to tenant ports",
                          "%zu nwfilters defined", s->n_nwfilters);
    else
        dbg_evidence_addf(ev, 0, "libvirt virConnectListAllNWFilters", "boundary protection",
                          "network filters available to attach to tenant ports", "%s",
                          s->nwfilter_note ? s->nwfilter_note
                                           : "nwfilter not supported by this driver");
    const dbg_control *sensor = dbg_snapshot_control(s, "sensor");
    int ids = sensor && sensor->deployed && sensor->healthy;
    dbg_evidence_addf(ev, ids, "/run/dengbao/status/sensor.json", "intrusion detection",
                      "a running network intrusion detection sensor", "%s",
                      !sensor || !sensor->deployed ? "not deployed"
                      : sensor->healthy            ? "deployed and healthy"
                                                   : "deployed but not healthy");
    if (filters && ids)
        return DBG_CHECK_PASS;
    return filters || ids ? DBG_CHECK_PARTIAL : DBG_CHECK_FAIL;
}
