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
                         "a level 1..5 from the grading of the hosted systems (--hosts-level)");
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
    const char *segment;   /* network name, or bridge/device name */
    int kind;              /* 0 libvirt network, 1 host bridge, 2 macvtap direct, 3 QEMU
                            * socket link (its key in link, segment set after sorting) */
    char link[200];
    dbg_chk_tenant tenant; /* the VM's, its id filled in from the snapshot's name ties */
    const char *key;       /* groups one tenant's ports: the id, else the name */
    int by_name;           /* key is a name tied to no single id */
    int vlan;
    const dbg_domain *dom;
    const dbg_iface *iface;
} port;

/* A port's segment, also while qsort moves ports (a link's key is inside its port) */
static const char *segment_of(const port *p)
{
    return p->kind == 3 ? p->link : p->segment;
}

static int port_cmp(const void *a, const void *b)
{
    const port *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind - y->kind;
    int c = strcmp(segment_of(x), segment_of(y));
    if (c)
        return c;
    if (x->by_name != y->by_name)
        return x->by_name - y->by_name;
    c = strcmp(x->key, y->key);
    if (c)
        return c;
    /* One tenant's ports in VM name order, whatever qsort does with equal elements. */
    return dbg_chk_port_order(x->dom, x->iface, y->dom, y->iface);
}

static int same_key(const port *x, const port *y)
{
    return x->by_name == y->by_name && !strcmp(x->key, y->key);
}

/* The key both ends of one socket link share: a multicast group, the address a TCP client
 * connects to and its server listens on, or a UDP link's two ends in either order. */
static void link_key(const dbg_iface *f, char *out, size_t size)
{
    const char *a = f->link_address, *b = f->link_local;
    if (!strcmp(f->type, "mcast"))
        snprintf(out, size, "multicast group %s", a);
    else if (!strcmp(f->type, "udp") && b)
        snprintf(out, size, "UDP link %s <-> %s", strcmp(a, b) < 0 ? a : b,
                 strcmp(a, b) < 0 ? b : a);
    else if (!strcmp(f->type, "udp"))
        snprintf(out, size, "UDP link to %s", a);
    else
        snprintf(out, size, "TCP link %s", a);
}

static size_t collect_ports(const dbg_snapshot *s, const dbg_chk_net_index *ix,
                            const dbg_chk_tenant_map *m, port *ports)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!dbg_chk_is_tenant_vm(d))
            continue;
        dbg_chk_tenant t = dbg_chk_tenant_resolve(m, dbg_chk_vm_tenant(d));
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const dbg_iface *f = &d->ifaces[j];
            const dbg_network *net;
            const char *seg;
            int kind = dbg_chk_port_segment(s, ix, f, &seg, &net);
            if (kind < 0 && dbg_iface_is_socket_link(f) && f->link_address)
                kind = 3;
            else if (kind < 0)
                continue; /* user-mode networking is private to the VM; other ports libvirt
                           * does not describe are dbg_chk_unseen_segment_ports' */
            port *pt = &ports[n++];
            *pt = (port){.kind = kind,
                         .segment = seg,
                         .tenant = t,
                         .key = t.id ? t.id : t.name,
                         .by_name = !t.id,
                         .vlan = f->vlan,
                         .dom = d,
                         .iface = f};
            if (kind == 3)
                link_key(f, pt->link, sizeof(pt->link));
        }
    }
    return n;
}

static dbg_chk_tenant_rel port_relation(const dbg_chk_tenant_map *m, const port *x, const port *y)
{
    if (x->dom == y->dom || (!x->by_name && same_key(x, y)))
        return DBG_CHK_SAME_TENANT;
    return dbg_chk_tenant_relation(m, x->tenant, y->tenant);
}

/* A port's VLANs: its tags (a trunk carries several), or a snapshot's older single vlan. */
static size_t port_vlans(const port *p, const int **tags)
{
    if (p->iface && p->iface->n_vlan_tags) {
        *tags = p->iface->vlan_tags;
        return p->iface->n_vlan_tags;
    }
    *tags = &p->vlan;
    return p->vlan >= 0;
}

static int share_vlan(const port *x, const port *y)
{
    const int *a, *b;
    size_t na = port_vlans(x, &a), nb = port_vlans(y, &b);
    for (size_t i = 0; i < na; i++)
        for (size_t k = 0; k < nb; k++)
            if (a[i] == b[k])
                return 1;
    return 0;
}

/* Per-tenant VLANs separate tenants when every port is tagged and no VLAN is used by two
 * tenants (a trunk is on each of its tags): 1 yes, 0 no, -1 unknown (a VLAN shared by VMs
 * whose tenants cannot be compared). */
static int vlans_separate(const dbg_chk_tenant_map *m, const port *g, size_t n)
{
    int unknown = 0;
    for (size_t i = 0; i < n; i++) {
        const int *tags;
        if (!port_vlans(&g[i], &tags))
            return 0;
        for (size_t j = i + 1; j < n; j++) {
            if (!share_vlan(&g[i], &g[j]))
                continue;
            dbg_chk_tenant_rel r = port_relation(m, &g[i], &g[j]);
            if (r == DBG_CHK_OTHER_TENANT)
                return 0;
            unknown |= r == DBG_CHK_TENANT_UNKNOWN;
        }
    }
    return unknown ? -1 : 1;
}

static void describe_tenants(const port *g, size_t n, dbg_buf *b)
{
    const port *last = NULL;
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        if (!last || !same_key(last, &g[i])) {
            dbg_buf_printf(b, "%stenant %s:", last ? "; " : "", g[i].key);
            last = &g[i];
            shown = 0;
        }
        if (shown < 4)
            dbg_buf_printf(b, " %s", g[i].dom->name);
        else if (shown == 4)
            dbg_buf_adds(b, " ...");
        shown++;
    }
}

/* How the tenants on one segment [g, g + n) (sorted, so one tenant's ports are together)
 * relate: whether two are certainly different, and the first two that cannot be compared. */
typedef struct {
    int other;
    const port *unknown_a, *unknown_b;
} segment_tenants;

/* Isolated ports of a bridge exchange no traffic with each other (libvirt's <port
 * isolated='yes'/> on each interface): with every tenant port so, tenants cannot meet there. */
static int all_ports_isolated(const port *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!g[i].iface || !g[i].iface->port_isolated)
            return 0;
    return n > 0;
}

static segment_tenants relate_tenants(const dbg_chk_tenant_map *m, const port *g, size_t n)
{
    segment_tenants r = {0};
    size_t ids = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && same_key(&g[i], &g[i - 1]))
            continue;
        if (!g[i].by_name) {
            r.other |= ++ids > 1; /* distinct ids: distinct tenants */
            continue;
        }
        /* A name tied to no single id: against every tenant before it, and against itself on
         * another VM (a name tied to several ids may stand for different tenants). */
        for (size_t k = i; k < n && same_key(&g[k], &g[i]) && !r.unknown_a; k++)
            if (port_relation(m, &g[i], &g[k]) == DBG_CHK_TENANT_UNKNOWN) {
                r.unknown_a = &g[i];
                r.unknown_b = &g[k];
            }
        for (size_t k = 0; k < i; k++) {
            if (k > 0 && same_key(&g[k], &g[k - 1]))
                continue;
            dbg_chk_tenant_rel rel = dbg_chk_tenant_relation(m, g[i].tenant, g[k].tenant);
            if (rel == DBG_CHK_OTHER_TENANT) {
                r.other = 1;
            } else if (rel == DBG_CHK_TENANT_UNKNOWN && !r.unknown_a) {
                r.unknown_a = &g[k];
                r.unknown_b = &g[i];
            }
        }
    }
    return r;
}

dbg_check_result dbg_chk_tenant_isolation(const dbg_snapshot *s, const dbg_check_params *p,
                                          dbg_evidence_list *ev)
{
    (void)p;
    size_t total = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        total += s->domains[i].n_ifaces;
    port *ports = dbg_calloc(total ? total : 1, sizeof(*ports));
    dbg_chk_tenant_map *map = dbg_chk_tenant_map_new(s);
    dbg_chk_net_index nets = {0};
    if (!ports || !map || dbg_chk_net_index_build(s, &nets) < 0) {
        free(ports);
        dbg_chk_tenant_map_free(map);
        dbg_chk_net_index_free(&nets);
        ev->failed = 1;
        return DBG_CHECK_ERROR;
    }
    size_t n = collect_ports(s, &nets, map, ports);
    if (n == 0) {
        free(ports);
        dbg_chk_tenant_map_free(map);
        dbg_chk_net_index_free(&nets);
        if (dbg_chk_unplaced_vms(s, ev) + dbg_chk_unseen_segment_ports(s, 1, ev))
            return DBG_CHECK_ERROR;
        dbg_evidence_add(ev, 1, "libvirt virConnectListAllDomains", "tenant VM interfaces",
                         "none (no VM names a tenant)", "tenant VMs on tenant networks");
        return DBG_CHECK_NA;
    }
    qsort(ports, n, sizeof(*ports), port_cmp);
    for (size_t k = 0; k < n; k++)
        ports[k].segment = segment_of(&ports[k]);
    size_t bad = 0, good = 0, unknown = 0, listed_bad = 0, listed_good = 0, listed_unknown = 0;
    char src[300];
    static const char *const kinds[] = {"network", "host bridge", "direct device",
                                        "QEMU socket link"};
    const char *expected = "one tenant per L2 segment, or port isolation / a VLAN per tenant";
    const char *untied = "no VM or network in the snapshot ties that name to one id (give both "
                         "in the metadata: <dengbao:tenant id='..' name='..'/>)";
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && ports[j].kind == ports[i].kind &&
               !strcmp(ports[j].segment, ports[i].segment))
            j++;
        const dbg_network *net =
            ports[i].kind == 0 ? dbg_chk_net_by_name(s, &nets, ports[i].segment) : NULL;
        if (ports[i].kind == 0)
            dbg_chk_net_src(ports[i].segment, src, sizeof(src));
        else
            snprintf(src, sizeof(src), "libvirt virDomainGetXMLDesc(%s) <interface type='%s'>",
                     ports[i].dom->name, ports[i].iface->type);
        char key[300];
        snprintf(key, sizeof(key), "%s %s", kinds[ports[i].kind], ports[i].segment);
        segment_tenants rel = relate_tenants(map, ports + i, j - i);
        /* A network that declares an owner must carry that tenant's VMs only. */
        dbg_chk_tenant owner = net ? dbg_chk_net_owner(net) : (dbg_chk_tenant){0};
        const port *foreign = NULL, *owner_unknown = NULL;
        if (owner.id || owner.name)
            for (size_t k = i; k < j; k++) {
                if (k > i && same_key(&ports[k], &ports[k - 1]))
                    continue;
                dbg_chk_tenant_rel r = dbg_chk_tenant_relation(map, ports[k].tenant, owner);
                if (r == DBG_CHK_OTHER_TENANT)
                    foreign = &ports[k];
                else if (r == DBG_CHK_TENANT_UNKNOWN && !owner_unknown)
                    owner_unknown = &ports[k];
            }
        /* A network the snapshot lacks, or a host bridge when the networks could not be listed
         * (it may be a libvirt network's): the owner and port isolation that decide are not
         * seen, so nothing here decides either way. */
        char unseen[400] = "";
        if (ports[i].kind == 1 && s->networks_error)
            snprintf(unseen, sizeof(unseen),
                     "networks not listed (%s): whether this bridge is a libvirt network's, "
                     "with an owner or port isolation, cannot be told",
                     s->networks_error);
        else if (ports[i].kind == 0 && !net && s->networks_error)
            snprintf(unseen, sizeof(unseen),
                     "networks not listed (%s): this network's owner and port isolation cannot "
                     "be seen",
                     s->networks_error);
        else if (ports[i].kind == 0 && !net)
            snprintf(unseen, sizeof(unseen),
                     "no network of that name in the snapshot (not listed): its owner and port "
                     "isolation cannot be seen");
        int ok; /* 1 isolated, 0 not, -1 cannot be told */
        const char *how;
        if (*unseen) {
            ok = -1;
            how = unseen;
        } else if (ports[i].kind == 3 && rel.other) {
            ok = 0;
            how = "one socket link joins VMs of different tenants directly: no bridge, port "
                  "isolation, VLAN or filter can come between them";
        } else if (ports[i].kind == 3) {
            ok = -1;
            how = "a socket link's other ends may be outside this host's libvirt (another "
                  "host's VMs in a multicast group, any process at the address), so whom it "
                  "reaches is not seen";
        } else if (foreign) {
            ok = 0;
            how = "network owned by another tenant";
        } else if (!rel.other && !rel.unknown_a) {
            ok = owner_unknown ? -1 : 1;
            how = "single tenant";
        } else if (net && net->port_isolated) {
            ok = owner_unknown ? -1 : 1;
            how = "shared, ports isolated (<port isolated='yes'/>)";
        } else if (all_ports_isolated(ports + i, j - i)) {
            ok = owner_unknown ? -1 : 1;
            how = "shared, every tenant port isolated (<interface> <port isolated='yes'/>)";
        } else {
            int vs = vlans_separate(map, ports + i, j - i);
            if (vs == 1) {
                ok = owner_unknown ? -1 : 1;
                how = "shared, a separate VLAN per tenant";
            } else if (vs == 0 && rel.other) {
                ok = 0;
                how = "shared by several tenants on one L2 segment without port isolation or "
                      "per-tenant VLANs";
            } else {
                ok = -1;
                how = "shared without port isolation or per-tenant VLANs, if its VMs' tenants "
                      "differ";
            }
        }
        size_t *listed = ok == 1 ? &listed_good : ok == 0 ? &listed_bad : &listed_unknown;
        if (*listed < DBG_CHK_MAX_LISTED) {
            dbg_buf b;
            dbg_buf_init(&b, 4096);
            describe_tenants(ports + i, j - i, &b);
            char owner_s[300];
            dbg_chk_tenant_describe(owner, owner_s, sizeof(owner_s));
            if (foreign) {
                dbg_evidence_addf(ev, 0, src, key, expected, "%s (owner %s): %s", how, owner_s,
                                  b.data ? b.data : "");
            } else if (ok == -1 && rel.unknown_a && !*unseen) {
                char x[300], y[300];
                dbg_chk_tenant_describe(rel.unknown_a->tenant, x, sizeof(x));
                dbg_chk_tenant_describe(rel.unknown_b->tenant, y, sizeof(y));
                dbg_evidence_addf(ev, 0, src, key, expected,
                                  "%s; whether tenants %s (VM %s) and %s (VM %s) are one tenant "
                                  "cannot be told: %s: %s",
                                  how, x, rel.unknown_a->dom->name, y, rel.unknown_b->dom->name,
                                  untied, b.data ? b.data : "");
            } else if (ok == -1 && owner_unknown) {
                char x[300];
                dbg_chk_tenant_describe(owner_unknown->tenant, x, sizeof(x));
                dbg_evidence_addf(ev, 0, src, key, expected,
                                  "%s; whether tenant %s (VM %s) is the network's owner %s cannot "
                                  "be told: %s: %s",
                                  how, x, owner_unknown->dom->name, owner_s, untied,
                                  b.data ? b.data : "");
            } else {
                dbg_evidence_addf(ev, ok == 1, src, key, expected, "%s: %s", how,
                                  b.data ? b.data : "");
            }
            dbg_buf_free(&b);
            (*listed)++;
        }
        ok == 1 ? good++ : ok == 0 ? bad++ : unknown++;
        i = j;
    }
    dbg_chk_more(ev, 0, "libvirt", bad, "segments shared without isolation",
                 "isolation between tenants");
    dbg_chk_more(ev, 0, "libvirt", unknown, "segments whose VMs' tenants cannot be compared",
                 "isolation between tenants");
    dbg_chk_more(ev, 1, "libvirt", good, "isolated segments", "isolation between tenants");
    free(ports);
    dbg_chk_tenant_map_free(map);
    dbg_chk_net_index_free(&nets);
    /* An unplaced VM on a "single tenant" segment may well be another tenant's. */
    size_t unplaced = dbg_chk_unplaced_vms(s, ev) + dbg_chk_unseen_segment_ports(s, 1, ev);
    return bad ? DBG_CHECK_FAIL : unknown || unplaced ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

dbg_check_result dbg_chk_security_mechanisms(const dbg_snapshot *s, const dbg_check_params *p,
                                             dbg_evidence_list *ev)
{
    (void)p;
    const char *lsrc = "libvirt virConnectListAllNWFilters", *lkey = "boundary protection",
               *lexp = "network filters available to attach to tenant ports";
    /* 1 filters defined, 0 none, -1 not seen: the driver lists none (the test driver, a daemon
     * without the nwfilter driver), so whether the platform offers them is not known. */
    int filters = !s->nwfilter_supported ? -1 : s->n_nwfilters > 0;
    if (filters >= 0)
        dbg_evidence_addf(ev, filters, lsrc, lkey, lexp, "%zu nwfilters defined", s->n_nwfilters);
    else
        dbg_evidence_addf(ev, 0, lsrc, lkey, lexp,
                          "not checked: the nwfilter list could not be read (%s), so which "
                          "filters the platform offers is not seen",
                          s->nwfilter_note ? s->nwfilter_note : "nwfilter not supported");
    const dbg_control *sensor = dbg_snapshot_control(s, "sensor");
    if (sensor && sensor->unknown) {
        dbg_evidence_addf(ev, 0, sensor->path ? sensor->path : "/run/dengbao/status/sensor.json",
                          "intrusion detection", "a running network intrusion detection sensor",
                          "unknown: %s", sensor->detail ? sensor->detail : "not readable");
        return DBG_CHECK_ERROR;
    }
    int ids = sensor && sensor->deployed && sensor->healthy;
    dbg_evidence_addf(ev, ids,
                      sensor && sensor->path ? sensor->path : "/run/dengbao/status/sensor.json",
                      "intrusion detection", "a running network intrusion detection sensor", "%s",
                      !sensor || !sensor->deployed ? "not deployed"
                      : sensor->healthy            ? "deployed and healthy"
                                                   : "deployed but not healthy");
    /* running, but saying what it does not cover (an inventory it cannot reload): a gap */
    int degraded = ids && sensor->degraded;
    if (degraded)
        dbg_evidence_addf(ev, 0, sensor->path ? sensor->path : "/run/dengbao/status/sensor.json",
                          "intrusion detection", "a sensor doing all of its job", "degraded: %s",
                          sensor->degraded);
    /* Filters not seen: with the sensor running, the rest is unknown (未检查, not a partial);
     * without it (or with it degraded) the gap seen stands, as a failing check does beside an
     * erring one. */
    if (filters < 0)
        return degraded ? DBG_CHECK_PARTIAL : ids ? DBG_CHECK_ERROR : DBG_CHECK_FAIL;
    if (filters && ids && !degraded)
        return DBG_CHECK_PASS;
    return filters || ids ? DBG_CHECK_PARTIAL : DBG_CHECK_FAIL;
}
