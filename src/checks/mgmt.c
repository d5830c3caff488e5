/* 集中管控 checks (cloud 8.2.5): management traffic separated from tenant traffic,
 * centralized audit and central monitoring (dengbao's own controls). */
#include <stdio.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

static int iface_on(const dbg_iface *f, const dbg_network *net)
{
    return (dbg_streq(f->type, "network") && dbg_streq(f->source, net->name)) ||
           (dbg_streq(f->type, "bridge") && net->bridge && dbg_streq(f->source, net->bridge));
}

static int iface_on_network(const dbg_snapshot *s, const dbg_iface *f, const void *net)
{
    (void)s;
    return iface_on(f, net);
}

/* Interfaces of VMs that may be a tenant's (all but the platform's own) on a network the
 * snapshot lacks: it may be a management network. Lists them and returns how many there are. */
static size_t unlisted_network_ports(const dbg_snapshot *s, const char *expected,
                                     dbg_evidence_list *ev)
{
    dbg_chk_net_index ix = {0};
    size_t n = 0;
    if (dbg_chk_net_index_build(s, &ix) < 0) {
        ev->failed = 1;
        goto out;
    }
    for (size_t d = 0; d < s->n_domains; d++) {
        const dbg_domain *dom = &s->domains[d];
        for (size_t j = 0; !dom->role && j < dom->n_ifaces; j++) {
            const dbg_iface *f = &dom->ifaces[j];
            if (!dbg_streq(f->type, "network") || !f->source ||
                dbg_chk_net_by_name(s, &ix, f->source) || n++ >= DBG_CHK_MAX_LISTED)
                continue;
            char src[300], key[300];
            dbg_chk_net_src(f->source, src, sizeof(src));
            snprintf(key, sizeof(key), "VM %s interface %s", dom->name, f->mac ? f->mac : "?");
            dbg_evidence_addf(ev, 0, src, key, expected,
                              "network %s is not in the snapshot (not listed): whether it is a "
                              "management network cannot be told",
                              f->source);
        }
    }
    dbg_chk_more(ev, 0, "libvirt", n, "interfaces on networks not in the snapshot", expected);
out:
    dbg_chk_net_index_free(&ix);
    return n;
}

dbg_check_result dbg_chk_traffic_separation(const dbg_snapshot *s, const dbg_check_params *p,
                                            dbg_evidence_list *ev)
{
    (void)p;
    const char *expected = "a management network that carries no tenant VM traffic";
    size_t mgmt = 0, bad = 0, lb = 0, unplaced = 0;
    for (size_t i = 0; i < s->n_networks; i++) {
        const dbg_network *net = &s->networks[i];
        if (!dbg_streq(net->role, "management"))
            continue;
        mgmt++;
        char src[300];
        dbg_chk_net_src(net->name, src, sizeof(src));
        size_t here = 0;
        for (size_t d = 0; d < s->n_domains; d++) {
            const dbg_domain *dom = &s->domains[d];
            if (!dbg_chk_is_tenant_vm(dom))
                continue;
            for (size_t j = 0; j < dom->n_ifaces; j++) {
                if (!iface_on(&dom->ifaces[j], net))
                    continue;
                here++;
                if (lb++ < DBG_CHK_MAX_LISTED) {
                    char key[300];
                    snprintf(key, sizeof(key), "VM %s interface %s", dom->name,
                             dom->ifaces[j].mac ? dom->ifaces[j].mac : "?");
                    dbg_evidence_addf(ev, 0, src, key, expected,
                                      "tenant %s's VM attached to management network %s",
                                      dbg_chk_tenant_of(dom), net->name);
                }
            }
        }
        /* A tenant network on the same bridge shares the management L2 segment. */
        for (size_t k = 0; k < s->n_networks; k++) {
            const dbg_network *o = &s->networks[k];
            if (o == net || dbg_streq(o->role, "management") || !net->bridge ||
                !dbg_streq(o->bridge, net->bridge))
                continue;
            here++;
            dbg_evidence_addf(ev, 0, src, "bridge", expected, "bridge %s also carries network %s",
                              net->bridge, o->name);
        }
        /* A VM here that names neither a tenant nor a role may be a tenant's. */
        char where[300];
        snprintf(where, sizeof(where), " on management network %s", net->name);
        dbg_utf8_trim_partial(where);
        size_t unknown = dbg_chk_unplaced_vms_on(s, iface_on_network, net, where, ev);
        if (!here && !unknown)
            dbg_evidence_addf(ev, 1, src, "attached tenant VM interfaces", expected,
                              "none on management network %s (bridge %s)", net->name,
                              net->bridge ? net->bridge : "?");
        bad += here;
        unplaced += unknown;
    }
    /* Networks the driver could not list: the management network, and what is on it, may be
     * among them. */
    if (s->networks_error)
        dbg_evidence_addf(ev, 0, "libvirt virConnectListAllNetworks",
                          "<dengbao:role>management</dengbao:role>", expected,
                          "networks not listed (%s): the management network and the VMs on it "
                          "cannot be seen",
                          s->networks_error);
    size_t unlisted = unlisted_network_ports(s, expected, ev);
    if (mgmt == 0) {
        if (!s->networks_error)
            dbg_evidence_addf(ev, 0, "libvirt virConnectListAllNetworks",
                              "<dengbao:role>management</dengbao:role>", expected,
                              "no network of %zu is declared as the management network",
                              s->n_networks);
        return s->networks_error || unlisted ? DBG_CHECK_ERROR : DBG_CHECK_FAIL;
    }
    dbg_chk_more(ev, 0, "libvirt", lb, "tenant interfaces on management networks", expected);
    if (bad)
        return DBG_CHECK_FAIL;
    return unplaced || unlisted || s->networks_error ? DBG_CHECK_ERROR : DBG_CHECK_PASS;
}

dbg_check_result dbg_chk_ctl_centralized_audit(const dbg_snapshot *s, const dbg_check_params *p,
                                               dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_status(
        s, "centralized_audit",
        "provider and tenant audit data collected centrally, each for their own part", ev);
}

dbg_check_result dbg_chk_central_monitor(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_pair(s, "guard", "VM state and lifecycle monitored centrally", "sensor",
                                "virtual network traffic monitored centrally", ev);
}
