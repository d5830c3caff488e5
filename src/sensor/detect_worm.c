/* Worm-like spread (lateral movement): host B accepted a connection on port P from A, then
 * within worm.window_s B itself contacts at least worm.fanout distinct hosts on the same port.
 * Reported once as an incident with the chain (Z ->) A -> B -> [C, D, ...]. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

void sn_detect_worm_inbound(dbg_sensor *s, const sn_pkt *p, sn_host *dst)
{
    /* p is the SYN-ACK from the responder (dst of the connection) to the initiator; only
     * first contacts are recorded (a worm's connection into B is one). */
    sn_host_cold(dst);
    int slot = 0;
    for (int i = 0; i < SN_WORM_INBOUND; i++) {
        if (dst->inbound.port[i] == p->sport) {
            slot = i;
            break;
        }
        if (dst->inbound.at[i] < dst->inbound.at[slot])
            slot = i;
    }
    dst->inbound.port[slot] = p->sport;
    dst->inbound.from[slot] = p->dst;
    dst->inbound.at[slot] = s->now;
}

static const sn_ip *inbound_from(const dbg_sensor *s, const sn_host *h, uint16_t port)
{
    int64_t win = sn_secs(s->r.worm_window_s);
    if (!h->cold_ready) /* never accepted a connection */
        return NULL;
    for (int i = 0; i < SN_WORM_INBOUND; i++)
        if (h->inbound.at[i] && h->inbound.port[i] == port && s->now - h->inbound.at[i] <= win)
            return &h->inbound.from[i];
    return NULL;
}

void sn_detect_worm_outbound(dbg_sensor *s, const sn_pkt *p, const sn_counter *sweep)
{
    if (p->proto != 6 || sweep->count < s->r.worm_fanout)
        return;
    sn_host *src = sn_host_get(s, p->vlan, &p->src, 0);
    if (!src)
        return;
    const sn_ip *a = inbound_from(s, src, p->dport);
    if (!a)
        return;
    char chain[384], ip[46];
    size_t n = 0;
    chain[0] = '\0';
    sn_host *ah = sn_host_get(s, p->vlan, a, 0);
    const sn_ip *z = ah ? inbound_from(s, ah, p->dport) : NULL;
    if (z) {
        sn_ip_format(z, ip, sizeof(ip));
        n += (size_t)snprintf(chain + n, sizeof(chain) - n, "\"%s\",", ip);
    }
    sn_ip_format(a, ip, sizeof(ip));
    n += (size_t)snprintf(chain + n, sizeof(chain) - n, "\"%s\",", ip);
    sn_ip_format(&p->src, ip, sizeof(ip));
    n += (size_t)snprintf(chain + n, sizeof(chain) - n, "\"%s\"", ip);
    char targets[256];
    size_t t = 0;
    targets[0] = '\0';
    for (int i = 0; i < sweep->n_samples && t < sizeof(targets) - 48; i++) {
        sn_ip_format(&sweep->samples[i], ip, sizeof(ip));
        t += (size_t)snprintf(targets + t, sizeof(targets) - t, "%s\"%s\"", i ? "," : "", ip);
    }
    char aip[46], bip[46];
    sn_ip_format(a, aip, sizeof(aip));
    sn_ip_format(&p->src, bip, sizeof(bip));
    snprintf(s->evidence, sizeof(s->evidence),
             "%s received a connection on port %u from %s, then contacted %u hosts on port %u",
             bip, p->dport, aip, sweep->count, p->dport);
    snprintf(s->extra, sizeof(s->extra),
             "{\"worm\":{\"port\":%u,\"chain\":[%s],\"fanout\":%u,\"targets\":[%s]}}", p->dport,
             chain, sweep->count, targets);
    sn_raise(s, "worm_spread", "8.2.3.2c", p->vlan, &p->src, p->src_mac, NULL, NULL, p->dport,
             p->proto, sweep->first, s->now, sweep->pkts, sweep->bytes);
}
