/* Cross-tenant traffic: a connection initiated by one tenant's VM to another tenant's VM when
 * the inventory does not allow the pair. The packet crossed the boundary the platform's
 * network isolation should enforce, so it is an isolation failure (MLPS 8.2.4.3a). */
#include <stdio.h>

#include "sensor/sensor_internal.h"

void sn_detect_tenant(dbg_sensor *s, const sn_pkt *p, const dbg_sensor_port *a)
{
    if (!a || !a->tenant[0]) /* the source is not a tenant's VM: no lookup of the target */
        return;
    const dbg_sensor_port *b = sn_inv_by_ip(s->inv, &p->dst, p->vlan, p->dst_mac);
    if (!b || !b->tenant[0] || strcmp(a->tenant, b->tenant) == 0)
        return;
    if (sn_tenant_pairs_has(&s->inv->allowed, a->tenant, b->tenant))
        return;
    /* Still raised: a missed isolation failure costs more than a checked false alarm. */
    int unmatched = sn_tenant_pairs_has(&s->inv->unmatched, a->tenant, b->tenant);
    /* what was seen: a SYN opens a connection; a FIN, NULL or Xmas probe only reached it */
    char what[64];
    if (p->proto == 6 && !(p->tcp_flags & TCP_SYN))
        snprintf(what, sizeof(what), "sent a TCP probe without SYN (flags%s%s%s%s%s)",
                 p->tcp_flags & TCP_FIN ? " FIN" : "", p->tcp_flags & TCP_PSH ? " PSH" : "",
                 p->tcp_flags & TCP_URG ? " URG" : "", p->tcp_flags & TCP_ACK ? " ACK" : "",
                 p->tcp_flags & (TCP_FIN | TCP_PSH | TCP_URG | TCP_ACK) ? "" : " none");
    else
        snprintf(what, sizeof(what), "opened a %s connection",
                 p->proto == 6 ? "TCP" : p->proto == 17 ? "UDP" : "ICMP");
    snprintf(s->evidence, sizeof(s->evidence),
             "VM %s (tenant %s, network %s) %s to VM %s (tenant %s, network %s): tenants are "
             "isolated%s",
             a->vm_name, a->tenant, a->network, what, b->vm_name, b->tenant, b->network,
             unmatched ? "; but the two may be one tenant: one is given only by name, the other "
                         "only by id, and no VM or network of the inventory gives both"
                       : "");
    sn_raise(s, "cross_tenant", "8.2.4.3a", p->vlan, &p->src, p->src_mac, &p->dst, p->dst_mac,
             p->proto == 6 || p->proto == 17 ? p->dport : -1, p->proto, s->now, s->now, 1,
             p->wirelen);
}
