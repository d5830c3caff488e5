/* Fills the sensor's attribution tables from a platform snapshot (platform.h): each domain's
 * interfaces (MAC, assigned IPs, tap device, source network/bridge, VLAN) with the domain's
 * tenant, the host's own addresses (snapshot host_addresses and each network's host-side
 * address) and management ports. Loads a snapshot file or collects one from a libvirt URI. */
#include <stdlib.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

/* Used when the snapshot lists no management ports: SSH, libvirt TCP/TLS, VNC displays. */
static const int default_mgmt_ports[] = {22, 16509, 16514};

static int add_ips_csv(dbg_buf *b, const dbg_iface *ifc)
{
    for (size_t i = 0; i < ifc->n_ips; i++)
        if (dbg_buf_printf(b, "%s%s", i ? "," : "", ifc->ips[i]) != 0)
            return -1;
    return 0;
}

int dbg_sensor_inventory_from_snapshot(dbg_sensor_inventory *inv, const dbg_snapshot *s)
{
    for (size_t d = 0; d < s->n_domains; d++) {
        const dbg_domain *dom = &s->domains[d];
        const char *tenant = dom->tenant_id ? dom->tenant_id : dom->tenant_name;
        for (size_t i = 0; i < dom->n_ifaces; i++) {
            const dbg_iface *ifc = &dom->ifaces[i];
            if (!ifc->mac)
                continue;
            int vlan = ifc->vlan;
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
        dbg_collect_opts co = {.uri = uri, .host_root = "/", .controls_dir = NULL};
        s = dbg_snapshot_collect(&co);
    }
    if (!s)
        return -1;
    int r = dbg_sensor_inventory_from_snapshot(inv, s);
    dbg_snapshot_free(s);
    return r;
}
