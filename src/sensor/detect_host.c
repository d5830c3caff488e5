/* VM to host: a tenant VM opening a connection to one of the hypervisor's own addresses on a
 * management port (SSH, libvirt 16509/16514, VNC/SPICE, the agent; from the inventory and
 * host.mgmt_ports). Abnormal VM-host traffic, MLPS 8.2.3.2c. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

void sn_detect_host_access(dbg_sensor *s, const sn_pkt *p)
{
    if (p->proto != 6 && p->proto != 17)
        return;
    if (!sn_inv_is_host_addr(s->inv, &p->dst))
        return;
    int mgmt = sn_inv_is_mgmt_port(s->inv, p->dport);
    for (size_t i = 0; !mgmt && i < s->r.n_mgmt_ports; i++)
        mgmt = s->r.mgmt_ports[i] == p->dport;
    if (!mgmt)
        return;
    const dbg_sensor_port *vm = sn_attribute(s, p->vlan, &p->src, p->src_mac);
    if (!vm || vm->is_mgmt)
        return;
    char dip[46];
    sn_ip_format(&p->dst, dip, sizeof(dip));
    snprintf(s->evidence, sizeof(s->evidence),
             "VM %s (tenant %s) connected to the host's management port %s:%u",
             vm->vm_name, vm->tenant[0] ? vm->tenant : "-", dip, p->dport);
    sn_raise(s, "vm_to_host", "8.2.3.2c", p->vlan, &p->src, p->src_mac, &p->dst, p->dst_mac,
             p->dport, p->proto, s->now, s->now, 1, p->wirelen);
}
