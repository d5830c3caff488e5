/* Synthetic frame builders for the sensor's unit tests and fuzz seeds: Ethernet (optional
 * 802.1Q), ARP, IPv4 with TCP/UDP/ICMP, DHCP, IPv6 with ICMPv6 echo and neighbour discovery,
 * and UDP. Checksums are left zero (the sensor ignores them). */
#ifndef DBG_TEST_SENSOR_PKT_H
#define DBG_TEST_SENSOR_PKT_H

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    uint8_t b[1600];
    size_t len;
} tpkt;

static inline void t_mac(uint8_t *out, const char *s)
{
    unsigned v[6] = {0};
    sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
    for (int i = 0; i < 6; i++)
        out[i] = (uint8_t)v[i];
}

static inline size_t t_eth(tpkt *p, const char *smac, const char *dmac, int vlan, uint16_t et)
{
    t_mac(p->b, dmac);
    t_mac(p->b + 6, smac);
    size_t off = 12;
    if (vlan >= 0) {
        p->b[off] = 0x81, p->b[off + 1] = 0;
        p->b[off + 2] = (uint8_t)(vlan >> 8), p->b[off + 3] = (uint8_t)vlan;
        off += 4;
    }
    p->b[off] = (uint8_t)(et >> 8), p->b[off + 1] = (uint8_t)et;
    return off + 2;
}

static inline size_t t_ipv4(tpkt *p, size_t off, const char *src, const char *dst, uint8_t proto,
                            size_t l4len)
{
    uint8_t *ip = p->b + off;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    size_t total = 20 + l4len;
    ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total;
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    return off + 20;
}

/* Source and destination port, the first four bytes of both TCP and UDP headers. */
static inline void t_ports(uint8_t *l4, uint16_t sport, uint16_t dport)
{
    l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
    l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
}

/* UDP header at off and payload zero bytes after it; returns the payload's offset. */
static inline size_t t_udp_at(tpkt *p, size_t off, uint16_t sport, uint16_t dport, size_t payload)
{
    uint8_t *u = p->b + off;
    memset(u, 0, 8 + payload);
    t_ports(u, sport, dport);
    u[4] = (uint8_t)((8 + payload) >> 8), u[5] = (uint8_t)(8 + payload);
    p->len = off + 8 + payload;
    return off + 8;
}

/* ICMP or ICMPv6 message of 64 bytes at off with only its type set. */
static inline void t_icmp_at(tpkt *p, size_t off, uint8_t type)
{
    memset(p->b + off, 0, 64);
    p->b[off] = type;
    p->len = off + 64;
}

/* TCP header at off with flags (0x02 SYN, 0x12 SYN-ACK, 0x10 ACK, 0x04 RST, 0x14 RST-ACK) and
 * payload zero bytes after it. */
static inline void t_tcp_at(tpkt *p, size_t off, uint16_t sport, uint16_t dport, uint8_t flags,
                            size_t payload)
{
    uint8_t *t = p->b + off;
    memset(t, 0, 20 + payload);
    t_ports(t, sport, dport);
    t[12] = 5 << 4;
    t[13] = flags;
    p->len = off + 20 + payload;
}

static inline void t_tcp(tpkt *p, const char *smac, const char *dmac, int vlan, const char *src,
                         uint16_t sport, const char *dst, uint16_t dport, uint8_t flags,
                         size_t payload)
{
    size_t off = t_eth(p, smac, dmac, vlan, 0x0800);
    off = t_ipv4(p, off, src, dst, 6, 20 + payload);
    t_tcp_at(p, off, sport, dport, flags, payload);
}

static inline void t_udp(tpkt *p, const char *smac, const char *dmac, int vlan, const char *src,
                         uint16_t sport, const char *dst, uint16_t dport, size_t payload)
{
    size_t off = t_eth(p, smac, dmac, vlan, 0x0800);
    off = t_ipv4(p, off, src, dst, 17, 8 + payload);
    t_udp_at(p, off, sport, dport, payload);
}

static inline void t_icmp(tpkt *p, const char *smac, const char *dmac, const char *src,
                          const char *dst, uint8_t type)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x0800);
    off = t_ipv4(p, off, src, dst, 1, 64);
    t_icmp_at(p, off, type);
}

/* op 1 request, 2 reply; vlan -1: untagged */
static inline void t_arp_vlan(tpkt *p, const char *smac, const char *dmac, int vlan, uint16_t op,
                              const char *sha, const char *spa, const char *tha, const char *tpa)
{
    size_t off = t_eth(p, smac, dmac, vlan, 0x0806);
    uint8_t *a = p->b + off;
    a[0] = 0, a[1] = 1, a[2] = 8, a[3] = 0, a[4] = 6, a[5] = 4;
    a[6] = 0, a[7] = (uint8_t)op;
    t_mac(a + 8, sha);
    inet_pton(AF_INET, spa, a + 14);
    t_mac(a + 18, tha);
    inet_pton(AF_INET, tpa, a + 24);
    p->len = off + 28;
}

static inline void t_arp(tpkt *p, const char *smac, const char *dmac, uint16_t op, const char *sha,
                         const char *spa, const char *tha, const char *tpa)
{
    t_arp_vlan(p, smac, dmac, -1, op, sha, spa, tha, tpa);
}

/* DHCP message from a server (sport 67) of type msg_type (2 OFFER, 5 ACK). */
static inline void t_dhcp(tpkt *p, const char *smac, const char *src, uint8_t msg_type)
{
    size_t off = t_eth(p, smac, "ff:ff:ff:ff:ff:ff", -1, 0x0800);
    size_t blen = 240 + 3 + 6 + 1;
    off = t_ipv4(p, off, src, "255.255.255.255", 17, 8 + blen);
    uint8_t *d = p->b + t_udp_at(p, off, 67, 68, blen);
    d[0] = 2;
    d[236] = 99, d[237] = 130, d[238] = 83, d[239] = 99;
    d[240] = 53, d[241] = 1, d[242] = msg_type;
    d[243] = 54, d[244] = 4;
    inet_pton(AF_INET, src, d + 245);
    d[249] = 255;
}

/* IPv6 header (hop limit 255, as ND requires) followed by l4len bytes of next header nh. */
static inline size_t t_ipv6(tpkt *p, size_t off, const char *src, const char *dst, uint8_t nh,
                            size_t l4len)
{
    uint8_t *ip = p->b + off;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    ip[4] = (uint8_t)(l4len >> 8), ip[5] = (uint8_t)l4len;
    ip[6] = nh;
    ip[7] = 255;
    inet_pton(AF_INET6, src, ip + 8);
    inet_pton(AF_INET6, dst, ip + 24);
    return off + 40;
}

/* ICMPv6 message (128 echo request, 129 echo reply). */
static inline void t_icmp6(tpkt *p, const char *smac, const char *dmac, const char *src,
                           const char *dst, uint8_t type)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x86dd);
    off = t_ipv6(p, off, src, dst, 58, 64);
    t_icmp_at(p, off, type);
}

/* ICMPv6 neighbour discovery: type 133..136; target for NS/NA (NULL: none); lla_type 1 source /
 * 2 target link-layer option with lla (NULL: no option); flags: NA R/S/O byte. */
static inline void t_nd(tpkt *p, const char *smac, const char *dmac, const char *src,
                        const char *dst, uint8_t type, uint8_t flags, const char *target,
                        uint8_t lla_type, const char *lla)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x86dd);
    size_t fixed = type == 133 ? 8 : type == 134 ? 16 : 24;
    size_t l4 = fixed + (lla ? 8 : 0);
    off = t_ipv6(p, off, src, dst, 58, l4);
    uint8_t *m = p->b + off;
    memset(m, 0, l4);
    m[0] = type;
    m[4] = flags;
    if (type == 134)
        m[4] = 64, m[6] = 0x07, m[7] = 0x08; /* hop limit, router lifetime 1800 s */
    if (target)
        inet_pton(AF_INET6, target, m + 8);
    if (lla) {
        m[fixed] = lla_type;
        m[fixed + 1] = 1;
        t_mac(m + fixed + 2, lla);
    }
    p->len = off + l4;
}

/* TCP over IPv6 (flags as t_tcp). */
static inline void t_tcp6(tpkt *p, const char *smac, const char *dmac, const char *src,
                          uint16_t sport, const char *dst, uint16_t dport, uint8_t flags,
                          size_t payload)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x86dd);
    off = t_ipv6(p, off, src, dst, 6, 20 + payload);
    t_tcp_at(p, off, sport, dport, flags, payload);
}

/* UDP over IPv6 with payload bytes (first byte: DHCPv6 msg-type when ports are 547/546). */
static inline void t_udp6(tpkt *p, const char *smac, const char *dmac, const char *src,
                          uint16_t sport, const char *dst, uint16_t dport, uint8_t first,
                          size_t payload)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x86dd);
    off = t_ipv6(p, off, src, dst, 17, 8 + payload);
    off = t_udp_at(p, off, sport, dport, payload);
    if (payload)
        p->b[off] = first;
}

#endif
