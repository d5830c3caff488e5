/* Fills the sensor's attribution tables from a platform snapshot (platform.h): each domain's
 * interfaces (MAC, assigned IPs, tap device, source network/bridge, VLAN) with the domain's
 * tenant, the host's own addresses (snapshot host_addresses and each network's host-side
 * address) and management ports. Loads a snapshot file or collects one from a libvirt URI. */
#include <stdlib.h>

#include "dengbao/platform.h"
#include "checks/check_util.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

/* Used when the snapshot lists no management ports: SSH, libvirt TCP/TLS, VNC displays. */
static const int default_mgmt_ports[] = {22, 16509, 16514};

static int fill_from_snapshot(dbg_sensor_inventory *inv, const dbg_snapshot *s,
                              const dbg_chk_tenant_map *m);

static int add_ips_csv(dbg_buf *b, const dbg_iface *ifc)
{
    for (size_t i = 0; i < ifc->n_ips; i++)
        if (dbg_buf_printf(b, "%s%s", i ? "," : "", ifc->ips[i]) != 0)
            return -1;
    return 0;
}

/* A tenant given only by name stands for its id where some VM or network gives both (as the
 * assessment reads it, checks/check_util.h); the pairs that stay unknown are recorded, so a
 * cross-tenant alert between them says so. */
static const char *tenant_ref(dbg_chk_tenant t) { return t.id ? t.id : t.name; }

static int by_ref(const void *x, const void *y)
{
    return strcmp(tenant_ref(*(const dbg_chk_tenant *)x), tenant_ref(*(const dbg_chk_tenant *)y));
}

static int add_unmatched_tenants(dbg_sensor_inventory *inv, const dbg_snapshot *s,
                                 const dbg_chk_tenant_map *m)
{
    /* the distinct tenants first: a cloud has far fewer tenants than VMs */
    dbg_chk_tenant *t = dbg_calloc(s->n_domains ? s->n_domains : 1, sizeof(*t));
    if (!t)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        t[n] = dbg_chk_tenant_resolve(m, dbg_chk_vm_tenant(&s->domains[i]));
        if (tenant_ref(t[n]))
            n++;
    }
    qsort(t, n, sizeof(*t), by_ref);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!k || strcmp(tenant_ref(t[i]), tenant_ref(t[k - 1])))
            t[k++] = t[i];
    int rc = 0;
    for (size_t i = 0; i < k && rc == 0; i++)
        for (size_t j = 0; j < k && rc == 0; j++)
            if (!t[i].id && i != j && (t[j].id || i < j) &&
                dbg_chk_tenant_relation(m, t[i], t[j]) == DBG_CHK_TENANT_UNKNOWN)
                rc = sn_tenant_pairs_add(&inv->unmatched, t[i].name, tenant_ref(t[j]));
    free(t);
    return rc;
}

int dbg_sensor_inventory_from_snapshot(dbg_sensor_inventory *inv, const dbg_snapshot *s)
{
    dbg_chk_tenant_map *m = dbg_chk_tenant_map_new(s);
    int rc = m ? fill_from_snapshot(inv, s, m) : -1;
    dbg_chk_tenant_map_free(m);
    return rc;
}

static int fill_from_snapshot(dbg_sensor_inventory *inv, const dbg_snapshot *s,
                              const dbg_chk_tenant_map *m)
{
    if (add_unmatched_tenants(inv, s, m) < 0)
        return -1;
    for (size_t d = 0; d < s->n_domains; d++) {
        const dbg_domain *dom = &s->domains[d];
        dbg_chk_tenant t = dbg_chk_tenant_resolve(m, dbg_chk_vm_tenant(dom));
        const char *tenant = t.id ? t.id : t.name;
        for (size_t i = 0; i < dom->n_ifaces; i++) {
            const dbg_iface *ifc = &dom->ifaces[i];
            if (!ifc->mac)
                continue;
            /* a port holds one VLAN: a trunk's first tag, as before the collector kept them
             * all (it then set vlan to the first) */
            int vlan = ifc->vlan >= 0 || !ifc->n_vlan_tags ? ifc->vlan : ifc->vlan_tags[0];
            const dbg_network *net = ifc->source ? dbg_snapshot_network(s, ifc->source) : NULL;
            if (vlan < 0 && net && net->n_vlan_tags == 1)
                vlan = net->vlan_tags[0];
            dbg_buf ips;
            dbg_buf_init(&ips, 1 << 16);
            if (add_ips_csv(&ips, ifc) != 0 ||
                dbg_sensor_inventory_add_port(inv, ifc->mac, ips.data, dom->name, dom->uuid,
                                              tenant, ifc->source, ifc->target_dev, vlan) != 0) {
                dbg_buf_free(&ips);
                return -1;
            }
            dbg_buf_free(&ips);
            if (dom->role && !strcmp(dom->role, "management"))
                inv->ports[inv->n_ports - 1].is_mgmt = 1;
        }
        for (size_t g = 0; g < dom->n_graphics; g++)
            if (dom->graphics[g].port > 0 &&
                dbg_sensor_inventory_add_mgmt_port(inv, dom->graphics[g].port) != 0)
                return -1;
    }
    for (size_t i = 0; i < s->n_host_addresses; i++)
        if (dbg_sensor_inventory_add_host_address(inv, s->host_addresses[i]) != 0)
            return -1;
    for (size_t i = 0; i < s->n_networks; i++)
        if (s->networks[i].ip_address &&
            dbg_sensor_inventory_add_host_address(inv, s->networks[i].ip_address) != 0)
            return -1;
    for (size_t i = 0; i < s->n_mgmt_ports; i++)
        if (dbg_sensor_inventory_add_mgmt_port(inv, s->mgmt_ports[i]) != 0)
            return -1;
    if (!s->n_mgmt_ports)
        for (size_t i = 0; i < sizeof(default_mgmt_ports) / sizeof(default_mgmt_ports[0]); i++)
            dbg_sensor_inventory_add_mgmt_port(inv, default_mgmt_ports[i]);
    return 0;
}

int dbg_sensor_inventory_load(dbg_sensor_inventory *inv, const char *snapshot_path,
                              const char *uri)
{
    dbg_snapshot *s = NULL;
    if (snapshot_path) {
        s = dbg_snapshot_load(snapshot_path);
    } else {
        /* attribution needs the VMs, networks and host facts, not the storage */
        dbg_collect_opts co = {.uri = uri, .host_root = "/", .controls_dir = NULL,
                               .no_storage = 1};
        s = dbg_snapshot_collect(&co);
    }
    if (!s)
        return -1;
    int r = dbg_sensor_inventory_from_snapshot(inv, s);
    dbg_snapshot_free(s);
    return r;
}
