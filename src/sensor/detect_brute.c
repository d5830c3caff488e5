/* Brute force against SSH, RDP, VNC, databases (brute_force.ports): many completed TCP
 * handshakes from one source to one service within brute_force.window_s. Counting completed
 * handshakes (the client's ACK after the server's SYN-ACK) separates login attempts from SYN
 * floods and scans, which never complete one. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

void sn_detect_brute(dbg_sensor *s, const sn_pkt *p, const sn_flow *f)
{
    (void)f;
    sn_counter *c = sn_counter_get(s, 2, p->vlan, p->dport, &p->src, &p->dst,
                                   sn_secs(s->r.brute_window_s), NULL);
    c->count++;
    c->pkts += (uint64_t)f->pkts[0] + f->pkts[1];
    c->bytes += sn_flow_bytes(f, 0) + sn_flow_bytes(f, 1);
    if (c->alerted || c->count < s->r.brute_attempts)
        return;
    c->alerted = 1;
    char sip[46], dip[46];
    sn_ip_format(&p->src, sip, sizeof(sip));
    sn_ip_format(&p->dst, dip, sizeof(dip));
    snprintf(s->evidence, sizeof(s->evidence),
             "%u connections from %s to %s port %u within %gs (threshold %u)", c->count, sip, dip,
             p->dport, s->r.brute_window_s, s->r.brute_attempts);
    snprintf(s->extra, sizeof(s->extra), "{\"brute_force\":{\"connections\":%u,\"service_port\":%u}}",
             c->count, p->dport);
    sn_raise(s, "brute_force", sn_attack_clause(s, p->vlan, &p->src, p->src_mac), p->vlan, &p->src,
             p->src_mac, &p->dst, p->dst_mac, p->dport, p->proto, c->first, s->now, c->pkts,
             c->bytes);
}
