/* Worm-like spread (lateral movement): host B accepted a connection on port P from A, then
 * within worm.window_s B itself contacts at least worm.fanout distinct hosts on the same port.
 * Reported once as an incident with the chain (Z ->) A -> B -> [C, D, ...]. UDP too (Slammer on
 * 1434): B received a first-contact datagram on P and did not answer it, then fans out on P; a
 * host that answers on UDP P serves P (a DNS resolver, an NTP server, which query others on
 * the port they serve as their job) and is not taken for a worm on P while that lasts. */
#include <stdio.h>

#include "sensor/sensor_internal.h"

/* Records on dst an inbound first contact on port from `from`; udp: a datagram, else an
 * answered SYN (inline: constant udp, the SYN-ACK path stays as short as before). */
static inline __attribute__((always_inline)) void
inbound_record(dbg_sensor *s, sn_host *dst, uint16_t port, const sn_ip *from, int udp)
{
    sn_host_cold(dst);
    int slot = 0;
    for (int i = 0; i < SN_WORM_INBOUND; i++) {
        if (dst->inbound.port[i] == port && ((dst->inbound_udp >> i) & 1) == (unsigned)udp) {
            slot = i;
            break;
        }
        if (dst->inbound.at[i] < dst->inbound.at[slot])
            slot = i;
    }
    dst->inbound.port[slot] = port;
    dst->inbound.from[slot] = *from;
    dst->inbound.at[slot] = s->now;
    dst->inbound_udp = (uint8_t)((dst->inbound_udp & ~(1u << slot)) | (unsigned)udp << slot);
}

void sn_detect_worm_inbound(dbg_sensor *s, const sn_pkt *p, sn_host *dst)
{
    /* p is the SYN-ACK from the responder (dst of the connection) to the initiator; only
     * first contacts are recorded (a worm's connection into B is one). */
    inbound_record(s, dst, p->sport, &p->dst, 0);
}

void sn_detect_worm_inbound_udp(dbg_sensor *s, const sn_pkt *p)
{
    sn_host *dst = sn_host_get(s, p->vlan, &p->dst, 1);
    if (!dst)
        return;
    /* a host already known to answer on the port serves it: nothing to record */
    if (dst->cold_ready)
        for (int i = 0; i < SN_WORM_INBOUND; i++)
            if (dst->inbound.port[i] == p->dport && ((dst->inbound_udp >> i) & 1) &&
                sn_ip_is_zero(&dst->inbound.from[i]) &&
                s->now - dst->inbound.at[i] <= sn_secs(s->r.worm_window_s))
                return;
    inbound_record(s, dst, p->dport, &p->src, 1);
}

void sn_detect_worm_udp_answered(dbg_sensor *s, const sn_pkt *p)
{
    /* p is the answer from the responder (p->src, port p->sport): it serves the port. Kept as
     * the port's slot with no sender (inbound_from finds no delivery in it) for the window, so
     * its own queries on the port (a resolver's recursion) are no worm's fan-out. */
    sn_host *h = sn_host_get(s, p->vlan, &p->src, 1);
    if (!h)
        return;
    sn_ip none;
    memset(&none, 0, sizeof(none));
    inbound_record(s, h, p->sport, &none, 1);
}

static const sn_ip *inbound_from(const dbg_sensor *s, const sn_host *h, uint16_t port, int udp)
{
    int64_t win = sn_secs(s->r.worm_window_s);
    if (!h->cold_ready) /* never accepted a connection */
        return NULL;
    for (int i = 0; i < SN_WORM_INBOUND; i++)
        if (h->inbound.at[i] && h->inbound.port[i] == port &&
            ((h->inbound_udp >> i) & 1) == (unsigned)udp && s->now - h->inbound.at[i] <= win)
            return sn_ip_is_zero(&h->inbound.from[i]) ? NULL : &h->inbound.from[i];
    return NULL;
}

void sn_detect_worm_outbound(dbg_sensor *s, const sn_pkt *p, const sn_counter *sweep)
{
    if ((p->proto != 6 && p->proto != 17) || sweep->count < s->r.worm_fanout)
        return;
    sn_host *src = sn_host_get(s, p->vlan, &p->src, 0);
    if (!src)
        return;
    int udp = p->proto == 17;
    const sn_ip *a = inbound_from(s, src, p->dport, udp);
    if (!a)
        return;
    char chain[384], ip[46];
    size_t n = 0;
    chain[0] = '\0';
    sn_host *ah = sn_host_get(s, p->vlan, a, 0);
    const sn_ip *z = ah ? inbound_from(s, ah, p->dport, udp) : NULL;
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
             "%s received a %s on port %u from %s, then contacted %u hosts on port %u%s", bip,
             udp ? "UDP datagram it did not answer" : "connection", p->dport, aip, sweep->count,
             p->dport, udp ? "/udp" : "");
    snprintf(s->extra, sizeof(s->extra),
             "{\"worm\":{\"port\":%u,\"chain\":[%s],\"fanout\":%u,\"targets\":[%s]}}", p->dport,
             chain, sweep->count, targets);
    sn_raise(s, "worm_spread", "8.2.3.2c", p->vlan, &p->src, p->src_mac, NULL, NULL, p->dport,
             p->proto, sweep->first, s->now, sweep->pkts, sweep->bytes);
}
