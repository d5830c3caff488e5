/* Attribution: the sensor's own view of the platform inventory (VM ports with MAC, IPs, tap,
 * network/VLAN and tenant; the host's addresses and management ports), indexed by MAC and IP
 * with open addressing so a lookup on the packet path is a hash probe. Filled from a platform
 * snapshot (inventory_snapshot.c) or directly by tests. */
#include <stdlib.h>

#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

dbg_sensor_inventory *dbg_sensor_inventory_new(void)
{
    return dbg_calloc(1, sizeof(dbg_sensor_inventory));
}

void dbg_sensor_inventory_free(dbg_sensor_inventory *inv)
{
    if (!inv)
        return;
    free(inv->ports);
    free(inv->host_addrs);
    free(inv->allowed.pair);
    free(inv->unmatched.pair);
    free(inv->mac_index);
    free(inv->ip_index);
    free(inv);
}

size_t dbg_sensor_inventory_ports(const dbg_sensor_inventory *inv) { return inv ? inv->n_ports : 0; }

/* Names reach the alerts' JSON and syslog fields: cut between characters, never inside one. */
static void copy_text(char *dst, size_t size, const char *src)
{
    dbg_utf8_copy(dst, size, src);
}

int dbg_sensor_inventory_add_port(dbg_sensor_inventory *inv, const char *mac, const char *ips_csv,
                                  const char *vm_name, const char *vm_uuid, const char *tenant,
                                  const char *network, const char *tap, int vlan)
{
    dbg_sensor_port p;
    memset(&p, 0, sizeof(p));
    if (!mac || sn_mac_parse(mac, p.mac) != 0) {
        dbg_err_set(DBG_ERR_INVALID, "inventory: VM %s: bad MAC address '%s'",
                    vm_name ? vm_name : "?", mac ? mac : "(none)");
        return -1;
    }
    if (ips_csv && *ips_csv) {
        DBG_AUTOFREE char *copy = dbg_strdup(ips_csv);
        if (!copy)
            return -1;
        char *save = NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            char *slash = strchr(tok, '/');
            if (slash)
                *slash = '\0';
            sn_ip ip;
            if (sn_ip_parse(tok, &ip) != 0) {
                dbg_err_set(DBG_ERR_INVALID, "inventory: VM %s: bad IP address '%s'",
                            vm_name ? vm_name : "?", tok);
                return -1;
            }
            if (p.n_ips == DBG_SENSOR_PORT_IPS) {
                /* an address left out would make the VM's own traffic look spoofed */
                dbg_err_set(DBG_ERR_LIMIT, "inventory: VM %s: more than %d IP addresses on one "
                            "interface", vm_name ? vm_name : "?", DBG_SENSOR_PORT_IPS);
                return -1;
            }
            memcpy(p.ips[p.n_ips++], ip.b, 16);
        }
    }
    copy_text(p.vm_name, sizeof(p.vm_name), vm_name);
    copy_text(p.vm_uuid, sizeof(p.vm_uuid), vm_uuid);
    copy_text(p.tenant, sizeof(p.tenant), tenant);
    copy_text(p.network, sizeof(p.network), network);
    copy_text(p.tap, sizeof(p.tap), tap);
    p.vlan = vlan;
    if (dbg_grow_array((void **)&inv->ports, &inv->cap_ports, inv->n_ports + 1, sizeof(*inv->ports),
                       16) < 0)
        return -1;
    inv->ports[inv->n_ports++] = p;
    inv->dirty = 1;
    return sn_inv_prepare(inv);
}

int dbg_sensor_inventory_add_host_address(dbg_sensor_inventory *inv, const char *ip)
{
    sn_ip a;
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s", ip ? ip : "");
    char *slash = strchr(tmp, '/');
    if (slash)
        *slash = '\0';
    if (sn_ip_parse(tmp, &a) != 0) {
        dbg_err_set(DBG_ERR_INVALID, "inventory: bad host address '%s'", ip ? ip : "(none)");
        return -1;
    }
    sn_ip *na = dbg_reallocarray(inv->host_addrs, inv->n_host_addrs + 1, sizeof(*na));
    if (!na)
        return -1;
    inv->host_addrs = na;
    na[inv->n_host_addrs++] = a;
    unsigned bit = sn_inv_ip_bit(&a);
    inv->host_filter[bit >> 6] |= 1ull << (bit & 63);
    return 0;
}

int dbg_sensor_inventory_add_mgmt_port(dbg_sensor_inventory *inv, int port)
{
    if (port <= 0 || port > 65535) {
        dbg_err_set(DBG_ERR_INVALID, "inventory: management port %d is not 1..65535", port);
        return -1;
    }
    inv->mgmt_port_bits[port >> 3] |= (uint8_t)(1u << (port & 7));
    return 0;
}

int sn_tenant_pairs_add(sn_tenant_pairs *l, const char *a, const char *b)
{
    char(*np)[2][64] = dbg_reallocarray(l->pair, l->n + 1, sizeof(*np));
    if (!np)
        return -1;
    l->pair = np;
    copy_text(np[l->n][0], 64, a);
    copy_text(np[l->n][1], 64, b);
    l->n++;
    return 0;
}

int sn_tenant_pairs_has(const sn_tenant_pairs *l, const char *a, const char *b)
{
    for (size_t i = 0; i < l->n; i++)
        if ((strcmp(l->pair[i][0], a) == 0 && strcmp(l->pair[i][1], b) == 0) ||
            (strcmp(l->pair[i][0], b) == 0 && strcmp(l->pair[i][1], a) == 0))
            return 1;
    return 0;
}

int dbg_sensor_inventory_allow_tenants(dbg_sensor_inventory *inv, const char *a, const char *b)
{
    return sn_tenant_pairs_add(&inv->allowed, a, b);
}

/* Index size: a power of two at least 4x the number of keys, so probes stay short. */
int sn_inv_prepare(dbg_sensor_inventory *inv)
{
    if (!inv->dirty && (inv->mac_index || inv->n_ports == 0))
        return 0;
    size_t keys = inv->n_ports * (1 + DBG_SENSOR_PORT_IPS);
    size_t size = 64;
    while (size < keys * 4)
        size <<= 1;
    uint32_t *mi = dbg_calloc(size, sizeof(*mi));
    sn_inv_ip_slot *ii = dbg_calloc(size, sizeof(*ii));
    if (!mi || !ii) {
        free(mi);
        free(ii);
        return -1;
    }
    memset(inv->ip_filter, 0, sizeof(inv->ip_filter));
    memset(inv->mac_filter, 0, sizeof(inv->mac_filter));
    for (size_t i = 0; i < inv->n_ports; i++) {
        const dbg_sensor_port *p = &inv->ports[i];
        unsigned bit = sn_inv_mac_bit(p->mac);
        inv->mac_filter[bit >> 6] |= 1ull << (bit & 63);
        size_t h = sn_hash(p->mac, 6) & (size - 1);
        while (mi[h])
            h = (h + 1) & (size - 1);
        mi[h] = (uint32_t)i + 1;
        for (size_t j = 0; j < p->n_ips; j++) {
            sn_ip ip;
            memcpy(ip.b, p->ips[j], 16);
            unsigned ibit = sn_inv_ip_bit(&ip);
            inv->ip_filter[ibit >> 6] |= 1ull << (ibit & 63);
            size_t k = sn_hash(p->ips[j], 16) & (size - 1);
            while (ii[k].port && memcmp(ii[k].ip, p->ips[j], 16) != 0)
                k = (k + 1) & (size - 1);
            if (!ii[k].port) { /* the first port with an address is the index's */
                memcpy(ii[k].ip, p->ips[j], 16);
                ii[k].port = (uint32_t)i + 1;
            } else if (ii[k].port != (uint32_t)i + 1) {
                ii[k].shared = 1;
            }
        }
    }
    free(inv->mac_index);
    free(inv->ip_index);
    inv->mac_index = mi;
    inv->ip_index = ii;
    inv->index_size = size;
    inv->dirty = 0;
    return 0;
}

const dbg_sensor_port *sn_inv_by_mac(const dbg_sensor_inventory *inv, const uint8_t *mac)
{
    if (!inv || !mac || !sn_inv_filter_has(inv->mac_filter, sn_inv_mac_bit(mac)))
        return NULL;
    return sn_inv_probe_mac(inv, mac);
}

/* The index probe behind a set filter bit (the packet path tests the bit inline first). */
const dbg_sensor_port *sn_inv_probe_mac(const dbg_sensor_inventory *inv, const uint8_t *mac)
{
    if (!inv->mac_index)
        return NULL;
    size_t mask = inv->index_size - 1;
    for (size_t h = sn_hash(mac, 6) & mask;; h = (h + 1) & mask) {
        uint32_t v = inv->mac_index[h];
        if (!v)
            return NULL;
        if (memcmp(inv->ports[v - 1].mac, mac, 6) == 0)
            return &inv->ports[v - 1];
    }
}

const dbg_sensor_port *sn_inv_by_ip(const dbg_sensor_inventory *inv, const sn_ip *ip, int vlan,
                                    const uint8_t *mac)
{
    if (!inv || !ip || !sn_inv_filter_has(inv->ip_filter, sn_inv_ip_bit(ip)))
        return NULL;
    return sn_inv_probe_ip(inv, ip, vlan, mac);
}

/* The owner of an address several ports have. Taking the first for every frame put tenant B's
 * VM's traffic on tenant A's VM of the same address on another VLAN: cross_tenant raised for
 * B's VMs talking to each other, arp_spoof for each of B's ARP announcements, B's alerts in
 * A's view. A port on another VLAN with the frame's MAC wins only when none is on the VLAN, so
 * a VM claiming its address on a VLAN where another VM has it is still that VM's spoof. */
static __attribute__((noinline, cold)) const dbg_sensor_port *
shared_ip_owner(const dbg_sensor_inventory *inv, const sn_ip *ip, int vlan, const uint8_t *mac,
                const dbg_sensor_port *first)
{
    const dbg_sensor_port *best = first;
    int best_score = -1;
    for (size_t i = 0; i < inv->n_ports; i++) {
        const dbg_sensor_port *p = &inv->ports[i];
        if (!sn_inv_port_has_ip(p, ip))
            continue;
        int score = (p->vlan == vlan) * 2 + (mac && memcmp(p->mac, mac, 6) == 0);
        if (score > best_score) {
            best = p;
            best_score = score;
        }
    }
    return best;
}

const dbg_sensor_port *sn_inv_probe_ip(const dbg_sensor_inventory *inv, const sn_ip *ip,
                                       int vlan, const uint8_t *mac)
{
    if (!inv->ip_index)
        return NULL;
    size_t mask = inv->index_size - 1;
    for (size_t h = sn_hash(ip->b, 16) & mask;; h = (h + 1) & mask) {
        const sn_inv_ip_slot *sl = &inv->ip_index[h];
        if (!sl->port)
            return NULL;
        if (memcmp(sl->ip, ip->b, 16) == 0)
            return __builtin_expect(sl->shared != 0, 0)
                       ? shared_ip_owner(inv, ip, vlan, mac, &inv->ports[sl->port - 1])
                       : &inv->ports[sl->port - 1];
    }
}

const dbg_sensor_port *sn_inv_by_tap(const dbg_sensor_inventory *inv, const char *tap)
{
    if (!inv || !tap || !*tap)
        return NULL;
    for (size_t i = 0; i < inv->n_ports; i++)
        if (strcmp(inv->ports[i].tap, tap) == 0)
            return &inv->ports[i];
    return NULL;
}

int sn_inv_is_host_addr(const dbg_sensor_inventory *inv, const sn_ip *ip)
{
    if (!inv)
        return 0;
    if (!sn_inv_filter_has(inv->host_filter, sn_inv_ip_bit(ip)))
        return 0;
    for (size_t i = 0; i < inv->n_host_addrs; i++)
        if (memcmp(inv->host_addrs[i].b, ip->b, 16) == 0)
            return 1;
    return 0;
}

int sn_inv_is_mgmt_port(const dbg_sensor_inventory *inv, int port)
{
    if (!inv || port <= 0 || port > 65535)
        return 0;
    return (inv->mgmt_port_bits[port >> 3] >> (port & 7)) & 1;
}

int sn_inv_port_has_ip(const dbg_sensor_port *p, const sn_ip *ip)
{
    for (size_t i = 0; i < p->n_ips; i++)
        if (memcmp(p->ips[i], ip->b, 16) == 0)
            return 1;
    return 0;
}

