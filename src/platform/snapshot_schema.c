/* Field tables of the snapshot JSON (schema_version 1). Key order here is the order in the
 * written JSON, so output is deterministic; adding a field is one line here. */
#include <stdint.h>
#include <stdlib.h>

#include "dengbao/platform.h"
#include "platform/platform_internal.h"
#include "platform/snapshot_schema.h"

// clang-format off
#define N(a) (sizeof(a) / sizeof((a)[0]))
#define STR(T, f) {#f, DBG_F_STR, offsetof(T, f), 0, NULL, 0, 0}
#define STR_REQ(T, f) {#f, DBG_F_STR, offsetof(T, f), 0, NULL, 0, 1}
/* Never NULL for readers (checks compare these without NULL tests). */
#define STR_NN(T, f) {#f, DBG_F_STR, offsetof(T, f), 0, NULL, 1, 0}
#define BOOL(T, f) {#f, DBG_F_BOOL, offsetof(T, f), 0, NULL, 0, 0}
#define INT(T, f, d) {#f, DBG_F_INT, offsetof(T, f), 0, NULL, (d), 0}
#define I64(T, f) {#f, DBG_F_I64, offsetof(T, f), 0, NULL, 0, 0}
#define U64(T, f) {#f, DBG_F_U64, offsetof(T, f), 0, NULL, 0, 0}
#define SIZE(T, f) {#f, DBG_F_SIZE, offsetof(T, f), 0, NULL, 0, 0}
#define STRV(T, f, c) {#f, DBG_F_STRV, offsetof(T, f), offsetof(T, c), NULL, 0, 0}
#define INTV(T, f, c) {#f, DBG_F_INTV, offsetof(T, f), offsetof(T, c), NULL, 0, 0}
#define OBJV(T, f, c, d, req) {#f, DBG_F_OBJV, offsetof(T, f), offsetof(T, c), &(d), 0, (req)}

static const dbg_field iface_fields[] = {
    STR(dbg_iface, mac),
    STR(dbg_iface, type),
    STR(dbg_iface, source),
    STR(dbg_iface, target_dev),
    STR(dbg_iface, model),
    STR(dbg_iface, filterref),
    STRV(dbg_iface, filter_params, n_filter_params),
    STRV(dbg_iface, ips, n_ips),
    INT(dbg_iface, vlan, -1),
    INTV(dbg_iface, vlan_tags, n_vlan_tags),
    STR(dbg_iface, portgroup),
    BOOL(dbg_iface, port_isolated),
    STR(dbg_iface, link_address),
    STR(dbg_iface, link_local),
};
static const dbg_objdesc iface_desc = {"interface", sizeof(dbg_iface), iface_fields, N(iface_fields)};

static const dbg_field disk_fields[] = {
    STR(dbg_disk, device),
    STR(dbg_disk, type),
    STR(dbg_disk, source),
    STR(dbg_disk, real_path),
    STR(dbg_disk, format),
    STR(dbg_disk, target),
    BOOL(dbg_disk, encrypted),
    STR(dbg_disk, encryption_format),
    BOOL(dbg_disk, readonly),
    BOOL(dbg_disk, shareable),
    STR(dbg_disk, backing),
    STRV(dbg_disk, backing_chain, n_backing_chain),
};
static const dbg_objdesc disk_desc = {"disk", sizeof(dbg_disk), disk_fields, N(disk_fields)};

static const dbg_field graphics_fields[] = {
    STR(dbg_graphics, type),
    STR(dbg_graphics, listen),
    INT(dbg_graphics, port, -1),
    INT(dbg_graphics, tls_port, -1),
    INT(dbg_graphics, websocket, -1),
    BOOL(dbg_graphics, has_password),
    BOOL(dbg_graphics, tls),
};
static const dbg_objdesc graphics_desc = {"graphics", sizeof(dbg_graphics), graphics_fields,
                                          N(graphics_fields)};

static const dbg_field domain_fields[] = {
    STR_REQ(dbg_domain, name),
    STR(dbg_domain, uuid),
    STR(dbg_domain, state),
    BOOL(dbg_domain, persistent),
    BOOL(dbg_domain, autostart),
    STR(dbg_domain, tenant_id),
    STR(dbg_domain, tenant_name),
    STR(dbg_domain, tenant_source),
    STR(dbg_domain, role),
    BOOL(dbg_domain, sensitive),
    STR(dbg_domain, classification),
    U64(dbg_domain, memory_kib),
    INT(dbg_domain, vcpus, 0),
    OBJV(dbg_domain, ifaces, n_ifaces, iface_desc, 0),
    OBJV(dbg_domain, disks, n_disks, disk_desc, 0),
    OBJV(dbg_domain, graphics, n_graphics, graphics_desc, 0),
    STR(dbg_domain, secure_xml_error),
};
static const dbg_objdesc domain_desc = {"domain", sizeof(dbg_domain), domain_fields,
                                        N(domain_fields)};

static const dbg_field network_fields[] = {
    STR_REQ(dbg_network, name),
    STR(dbg_network, uuid),
    BOOL(dbg_network, active),
    BOOL(dbg_network, persistent),
    BOOL(dbg_network, autostart),
    STR(dbg_network, forward_mode),
    STR(dbg_network, bridge),
    INTV(dbg_network, vlan_tags, n_vlan_tags),
    BOOL(dbg_network, port_isolated),
    STR(dbg_network, ip_address),
    STR(dbg_network, netmask),
    STRV(dbg_network, ip_addresses, n_ip_addresses),
    STRV(dbg_network, dhcp_ranges, n_dhcp_ranges),
    STR(dbg_network, role),
    STR(dbg_network, tenant_id),
    STR(dbg_network, tenant_name),
};
static const dbg_objdesc network_desc = {"network", sizeof(dbg_network), network_fields,
                                         N(network_fields)};

static const dbg_field pool_fields[] = {
    STR_REQ(dbg_pool, name),
    STR(dbg_pool, uuid),
    STR(dbg_pool, type),
    BOOL(dbg_pool, active),
    BOOL(dbg_pool, autostart),
    STR(dbg_pool, target_path),
    U64(dbg_pool, capacity),
    U64(dbg_pool, allocation),
    U64(dbg_pool, available),
    INT(dbg_pool, replicas, -1),
    BOOL(dbg_pool, supports_replicas),
    STR(dbg_pool, wipe_algorithm),
    STR(dbg_pool, volumes_error),
};
static const dbg_objdesc pool_desc = {"pool", sizeof(dbg_pool), pool_fields, N(pool_fields)};

static const dbg_field volume_fields[] = {
    STR_REQ(dbg_volume, name),
    STR(dbg_volume, key),
    STR(dbg_volume, path),
    STR(dbg_volume, pool),
    STR(dbg_volume, type),
    STR(dbg_volume, format),
    BOOL(dbg_volume, encrypted),
    STR(dbg_volume, encryption_format),
    U64(dbg_volume, capacity),
    U64(dbg_volume, allocation),
    STR(dbg_volume, tenant_id),
    BOOL(dbg_volume, in_use),
    STR(dbg_volume, backing),
};
static const dbg_objdesc volume_desc = {"volume", sizeof(dbg_volume), volume_fields,
                                        N(volume_fields)};

static const dbg_field nwfilter_rule_fields[] = {
    STR(dbg_nwfilter_rule, action),
    STR(dbg_nwfilter_rule, direction),
    INT(dbg_nwfilter_rule, priority, 500),
};
static const dbg_objdesc nwfilter_rule_desc = {"nwfilter rule", sizeof(dbg_nwfilter_rule),
                                               nwfilter_rule_fields, N(nwfilter_rule_fields)};

static const dbg_field nwfilter_fields[] = {
    STR_REQ(dbg_nwfilter, name),
    STR(dbg_nwfilter, uuid),
    STR(dbg_nwfilter, chain),
    STRV(dbg_nwfilter, refs, n_refs),
    {"n_rules", DBG_F_SIZE, offsetof(dbg_nwfilter, n_rules), 0, NULL, 0, 0},
    OBJV(dbg_nwfilter, rules, n_rules_listed, nwfilter_rule_desc, 0),
};
static const dbg_objdesc nwfilter_desc = {"nwfilter", sizeof(dbg_nwfilter), nwfilter_fields,
                                          N(nwfilter_fields)};

static const dbg_field binding_fields[] = {
    STR(dbg_nwfilter_binding, portdev),
    STR(dbg_nwfilter_binding, mac),
    STR(dbg_nwfilter_binding, filter),
    STR(dbg_nwfilter_binding, owner_name),
    STR(dbg_nwfilter_binding, owner_uuid),
};
static const dbg_objdesc binding_desc = {"nwfilter binding", sizeof(dbg_nwfilter_binding),
                                         binding_fields, N(binding_fields)};

static const dbg_field setting_fields[] = {
    STR_NN(dbg_setting, file),
    INT(dbg_setting, line, 0),
    STR_REQ(dbg_setting, key),
    STR_NN(dbg_setting, value),
};
static const dbg_objdesc setting_desc = {"setting", sizeof(dbg_setting), setting_fields,
                                         N(setting_fields)};

static const dbg_field host_file_fields[] = {
    STR_REQ(dbg_host_file, path),
    BOOL(dbg_host_file, present),
    STR(dbg_host_file, error),
    OBJV(dbg_host_file, settings, n_settings, setting_desc, 0),
};
static const dbg_objdesc host_file_desc = {"host file", sizeof(dbg_host_file), host_file_fields,
                                           N(host_file_fields)};

static const dbg_field control_image_fields[] = {
    STR_NN(dbg_control_image, path),
    STR(dbg_control_image, named),
    STR_NN(dbg_control_image, state),
};
static const dbg_objdesc control_image_desc = {"control image", sizeof(dbg_control_image),
                                               control_image_fields, N(control_image_fields)};

static const dbg_field control_fields[] = {
    STR_REQ(dbg_control, name),
    BOOL(dbg_control, deployed),
    BOOL(dbg_control, healthy),
    STR(dbg_control, detail),
    STR(dbg_control, path),
    BOOL(dbg_control, unknown),
    STR(dbg_control, degraded),
    BOOL(dbg_control, images_listed),
    OBJV(dbg_control, images, n_images, control_image_desc, 0),
    SIZE(dbg_control, images_omitted),
};
static const dbg_objdesc control_desc = {"control", sizeof(dbg_control), control_fields,
                                         N(control_fields)};

/* schema_version is handled by the reader/writer themselves (it must come first and match). */
static const dbg_field snapshot_fields[] = {
    STR(dbg_snapshot, uri),
    STR(dbg_snapshot, hypervisor),
    STR(dbg_snapshot, libvirt_version),
    STR(dbg_snapshot, hostname),
    STR(dbg_snapshot, host_root),
    I64(dbg_snapshot, collected_us),
    BOOL(dbg_snapshot, nwfilter_supported),
    STR(dbg_snapshot, nwfilter_note),
    BOOL(dbg_snapshot, bindings_supported),
    STR(dbg_snapshot, networks_error),
    STR(dbg_snapshot, pools_error),
    OBJV(dbg_snapshot, domains, n_domains, domain_desc, 1),
    OBJV(dbg_snapshot, networks, n_networks, network_desc, 1),
    OBJV(dbg_snapshot, pools, n_pools, pool_desc, 1),
    OBJV(dbg_snapshot, volumes, n_volumes, volume_desc, 1),
    OBJV(dbg_snapshot, nwfilters, n_nwfilters, nwfilter_desc, 1),
    OBJV(dbg_snapshot, bindings, n_bindings, binding_desc, 1),
    OBJV(dbg_snapshot, host_files, n_host_files, host_file_desc, 1),
    OBJV(dbg_snapshot, controls, n_controls, control_desc, 1),
    STRV(dbg_snapshot, host_addresses, n_host_addresses),
    INTV(dbg_snapshot, mgmt_ports, n_mgmt_ports),
};
const dbg_objdesc dbg_snapshot_desc = {"snapshot", sizeof(dbg_snapshot), snapshot_fields,
                                       N(snapshot_fields)};
// clang-format on

#define AT(obj, off, T) ((T *)((char *)(obj) + (off)))

void dbg_objdesc_free_members(const dbg_objdesc *d, void *obj)
{
    for (size_t i = 0; i < d->n_fields; i++) {
        const dbg_field *f = &d->fields[i];
        switch (f->kind) {
        case DBG_F_STR:
            free(*AT(obj, f->off, char *));
            *AT(obj, f->off, char *) = NULL;
            break;
        case DBG_F_STRV: {
            char **v = *AT(obj, f->off, char **);
            size_t n = *AT(obj, f->count_off, size_t);
            for (size_t k = 0; v && k < n; k++)
                free(v[k]);
            free(v);
            *AT(obj, f->off, char **) = NULL;
            *AT(obj, f->count_off, size_t) = 0;
            break;
        }
        case DBG_F_INTV:
            free(*AT(obj, f->off, int *));
            *AT(obj, f->off, int *) = NULL;
            *AT(obj, f->count_off, size_t) = 0;
            break;
        case DBG_F_OBJV: {
            char *v = *AT(obj, f->off, char *);
            size_t n = *AT(obj, f->count_off, size_t);
            for (size_t k = 0; v && k < n; k++)
                dbg_objdesc_free_members(f->sub, v + k * f->sub->size);
            free(v);
            *AT(obj, f->off, char *) = NULL;
            *AT(obj, f->count_off, size_t) = 0;
            break;
        }
        default:
            break;
        }
    }
}

void dbg_platform_domain_clear(dbg_domain *d)
{
    dbg_objdesc_free_members(&domain_desc, d);
}
void dbg_platform_network_clear(dbg_network *n)
{
    dbg_objdesc_free_members(&network_desc, n);
}
void dbg_platform_pool_clear(dbg_pool *p)
{
    dbg_objdesc_free_members(&pool_desc, p);
}
void dbg_platform_volume_clear(dbg_volume *v)
{
    dbg_objdesc_free_members(&volume_desc, v);
}
void dbg_platform_nwfilter_clear(dbg_nwfilter *f)
{
    dbg_objdesc_free_members(&nwfilter_desc, f);
}
void dbg_platform_binding_clear(dbg_nwfilter_binding *b)
{
    dbg_objdesc_free_members(&binding_desc, b);
}
void dbg_platform_host_file_clear(dbg_host_file *f)
{
    dbg_objdesc_free_members(&host_file_desc, f);
}
void dbg_platform_control_clear(dbg_control *c)
{
    dbg_objdesc_free_members(&control_desc, c);
}
void dbg_platform_snapshot_clear(dbg_snapshot *s)
{
    dbg_objdesc_free_members(&dbg_snapshot_desc, s);
}
