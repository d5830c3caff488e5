/* Internals of the sensor shared by its files: the decoded packet, the fixed-size
 * set-associative state tables, the flow table, per-host state and the detector hooks.
 * Everything on the per-packet path works in memory allocated once at start. */
#ifndef DBG_SENSOR_INTERNAL_H
#define DBG_SENSOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "dengbao/sensor.h"

/* The module's internal functions are hidden: libdengbao is built -fPIC, and a default-visibility
 * function could be interposed, so the compiler would not inline it into its callers (the per-
 * packet helpers call each other across this interface). */
#pragma GCC visibility push(hidden)

/* ---- decoded packet ---- */
enum {
    DEC_EV_TRUNC_ETH = 0, /* shorter than an Ethernet/VLAN header */
    DEC_EV_TRUNC_ARP,
    DEC_EV_BAD_IP,        /* bad version, header length or total length */
    DEC_EV_TRUNC_L4,
    DEC_EV_BAD_TCP,       /* data offset out of range */
    DEC_EV_BAD_DHCP,
    DEC_EV_IP_FRAGMENT,   /* later fragments: no ports (counted, not an error) */
    DEC_EV_UNKNOWN_L3,
    DEC_EV_BAD_ND,        /* ICMPv6 ND message too short, or an option of length 0 / past the end */
    DEC_EV_VLAN_DEPTH,    /* more than SN_MAX_VLAN_TAGS stacked VLAN tags */
    DEC_EV_KINDS
};
#define DEC_EV_ERRORS_MASK ((1u << DEC_EV_TRUNC_ETH) | (1u << DEC_EV_TRUNC_ARP) | \
                            (1u << DEC_EV_BAD_IP) | (1u << DEC_EV_TRUNC_L4) | \
                            (1u << DEC_EV_BAD_TCP) | (1u << DEC_EV_BAD_DHCP) | \
                            (1u << DEC_EV_BAD_ND) | (1u << DEC_EV_VLAN_DEPTH))

/* QinQ is two; Linux stacks any number, and a VM can send what it likes */
#define SN_MAX_VLAN_TAGS 8

enum { L3_NONE = 0, L3_ARP, L3_IPV4, L3_IPV6 };
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* A TCP segment with none of SYN, ACK, RST: nmap's FIN, NULL and Xmas scans. No connection
 * sends one (every segment after the SYN carries ACK, RFC 9293 3.10.7.4), so it is a probe
 * and counts as an initiation toward port_scan / host_sweep. ACK and FIN|ACK (Maimon) probes
 * look like a connection seen mid-way, so they count only when the peer resets them
 * (sn_tcp_unopened). */
static inline int sn_tcp_stealth_probe(unsigned flags)
{
    return (flags & (TCP_SYN | TCP_ACK | TCP_RST)) == 0;
}

/* IPv4 mapped as ::ffff:a.b.c.d. The words let keys be built, hashed and compared 8 bytes at a
 * time (byte-wise stores read back as words stall store forwarding on every lookup). */
typedef union {
    uint8_t b[16];
    uint64_t w[2];
} sn_ip;

/* Flow keys: both directions of a flow map to one key, its ends in a fixed order. IPv4 flows
 * have a 16-byte key (their entries fit one cache line), IPv6 flows a 40-byte one; each kind
 * has its own table. The first word is the same in both: vlan, protocol, the two ports. */
typedef struct {
    int16_t vlan;
    uint8_t proto;
    uint8_t pad;
    uint16_t port_a, port_b;
    uint32_t a, b;           /* the addresses as they are on the wire (a 4-byte load each);
                              * (a, port_a) <= (b, port_b) as sn_flow_key6 orders them */
} sn_flow_key4;
typedef struct {
    int16_t vlan;
    uint8_t proto;
    uint8_t pad;
    uint16_t port_a, port_b;
    sn_ip a, b;              /* (a, port_a) <= (b, port_b) */
} sn_flow_key6;

/* A decoded frame, waiting in the sensor's pipeline ring. The frame itself is not kept: what
 * the detectors need (MACs included) is copied out when the frame is decoded. The first part
 * (up to arp_sha, SN_PKT_ZEROED) is cleared for every frame; the rest is only read when a flag in the
 * first part says it was set (l3 for addresses, dhcp_type for the server id, the has_* flags). */
typedef struct {
    int64_t ts;
    uint32_t wirelen;
    int iface;
    const uint8_t *src_mac, *dst_mac; /* point into macs[], NULL when the frame is too short */
    int vlan;             /* -1 untagged */
    uint16_t arp_op;
    int l3;
    uint8_t proto;        /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 */
    uint8_t has_ports;    /* L4 header decoded */
    uint8_t tcp_flags;
    uint8_t icmp_type;
    uint16_t sport, dport; /* TCP and UDP only (0 for ICMP) */
    int dhcp_type;        /* DHCP message type option 53, 0 = none; DHCPv6 from port 547:
                           * SN_DHCP6 + its msg-type */
    unsigned events;      /* bitmask of DEC_EV_* raised while decoding */
    uint8_t has_flow;     /* 0, or the kind of flow key (SN_FLOW_V4, SN_FLOW_V6) */
    uint8_t from_b, has_contact, has_rate, has_scan;
    uint8_t flow_same;    /* same flow key as the frame queued just before (fhash copied) */
    uint8_t has_ahash;    /* hsrc and hdst are set */
    uint8_t nd;           /* ICMPv6 ND message (133..136) decoded well-formed: nd_* are set */
    uint8_t nd_has_lla, nd_flags; /* link-layer address option present; NA flags (R 0x80,
                                   * S 0x40, O 0x20) */
    uint8_t fast; /* decoded by sn_decode_fast_v4: untagged IPv4, TCP or UDP, ports set,
                   * no DHCP / ND (the packet path takes a copy specialised for it) */
    /* ---- end of the cleared part ---- */
    /* ARP (l3 == L3_ARP) */
    const uint8_t *arp_sha, *arp_tha; /* point into arp_macs[] */
    sn_ip arp_spa;
    union {
        sn_ip arp_tpa;
        sn_ip nd_target;  /* ND (nd set, so l3 == L3_IPV6): the NS/NA target */
    };
    /* IP (l3 == L3_IPV4 / L3_IPV6) */
    sn_ip src, dst;
    sn_ip dhcp_server_id; /* option 54 (dhcp_type set) */
    /* the inventory's port for the source IP and source MAC, looked up once per IP packet
     * (when there is an inventory) for every detector that attributes the source */
    const dbg_sensor_port *src_by_ip, *src_by_mac;
    uint8_t macs[12];     /* dst, src */
    union {
        uint8_t arp_macs[12]; /* sha, tha */
        uint8_t nd_lla[6];    /* ND: the source (RS/RA/NS) or target (NA) link-layer option */
    };
    /* computed when the packet is queued, so its table lines can be prefetched */
    union {
        sn_flow_key4 k4;  /* has_flow == SN_FLOW_V4 */
        sn_flow_key6 k6;  /* has_flow == SN_FLOW_V6 */
    } fkey;
    uint64_t fhash;
    uint64_t chash;       /* hash of the scan contact key (initiations) */
    uint64_t rhash[2];    /* flood sketch hashes: [0] target, [1] source */
    /* has_scan: a first contact is likely (no tag for the contact key): the scan counters and
     * the source's host record are looked up, so they are prefetched too */
    uint64_t scan_hash[2]; /* counters: [0] ports on (src, dst), [1] hosts on (src, dport) */
    uint64_t src_host_hash;
    uint64_t hsrc, hdst;  /* sn_addr_hash of src and dst (has_ahash) */
} sn_pkt;
#define SN_PKT_ZEROED offsetof(sn_pkt, arp_sha)
enum { SN_FLOW_V4 = 1, SN_FLOW_V6 = 2 };

/* Decoders: each fills what it can and raises events on malformed input. */
void sn_decode_eth(sn_pkt *p, const uint8_t *d, size_t len);
void sn_decode_arp(sn_pkt *p, const uint8_t *d, size_t len);
void sn_decode_ipv4(sn_pkt *p, const uint8_t *d, size_t len);
void sn_decode_ipv6(sn_pkt *p, const uint8_t *d, size_t len);
/* fragment: 0 (a whole datagram), SN_FRAG_FIRST (offset 0, more follow) or SN_FRAG_LATER */
enum { SN_FRAG_FIRST = 1, SN_FRAG_LATER = 2 };
void sn_decode_l4(sn_pkt *p, const uint8_t *d, size_t len, int fragment);
void sn_decode_dhcp(sn_pkt *p, const uint8_t *d, size_t len);
/* d: the ICMPv6 header of a type 133..136 message */
void sn_decode_nd(sn_pkt *p, const uint8_t *d, size_t len);
#define SN_DHCP6 256
#define SN_ND_RS 133
#define SN_ND_RA 134
#define SN_ND_NS 135
#define SN_ND_NA 136

/* ---- addresses ---- */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SN_V4_PREFIX_WORD 0xffff0000ull /* bytes 8..11 = 00 00 ff ff */
/* an 8-, 16- or 32-bit field at byte offset `at` of an 8-byte word, as the word reads in memory */
#define SN_WORD8(v, at) ((uint64_t)(uint8_t)(v) << (8 * (at)))
#define SN_WORD16(v, at) ((uint64_t)(uint16_t)(v) << (8 * (at)))
#define SN_WORD32(v, at) ((uint64_t)(uint32_t)(v) << (8 * (at)))
#else
#define SN_V4_PREFIX_WORD 0x0000ffff00000000ull
#define SN_WORD8(v, at) ((uint64_t)(uint8_t)(v) << (8 * (7 - (at))))
#define SN_WORD16(v, at) ((uint64_t)(uint16_t)(v) << (8 * (6 - (at))))
#define SN_WORD32(v, at) ((uint64_t)(uint32_t)(v) << (8 * (4 - (at))))
#endif
static inline void sn_ip_from_v4(sn_ip *ip, const uint8_t *v4)
{
    uint32_t a;
    memcpy(&a, v4, 4);
    ip->w[0] = 0;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    ip->w[1] = SN_V4_PREFIX_WORD | (uint64_t)a << 32;
#else
    ip->w[1] = SN_V4_PREFIX_WORD | a;
#endif
}
static inline int sn_ip_is_v4(const sn_ip *ip)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return ip->w[0] == 0 && (uint32_t)ip->w[1] == (uint32_t)SN_V4_PREFIX_WORD;
#else
    return ip->w[0] == 0 && (ip->w[1] >> 32) == (SN_V4_PREFIX_WORD >> 32);
#endif
}
static inline int sn_ip_eq(const sn_ip *a, const sn_ip *b)
{
    return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1])) == 0;
}

static inline int sn_ip_is_zero(const sn_ip *ip)
{
    if (sn_ip_is_v4(ip))
        return (ip->b[12] | ip->b[13] | ip->b[14] | ip->b[15]) == 0;
    return (ip->w[0] | ip->w[1]) == 0;
}
/* sn_ip_is_unicast_internal of an IPv4 address (its 4 bytes as on the wire) */
static inline int sn_v4_is_unicast_internal(const uint8_t *a)
{
    return (a[0] | a[1] | a[2] | a[3]) != 0 && a[0] < 224 && a[3] != 255;
}
static inline int sn_ip_is_unicast_internal(const sn_ip *ip)
{
    if (sn_ip_is_zero(ip))
        return 0;
    if (sn_ip_is_v4(ip)) {
        const uint8_t *a = ip->b + 12;
        if (a[0] >= 224) /* multicast, reserved, broadcast */
            return 0;
        if (a[3] == 255) /* directed broadcast of common /24s */
            return 0;
        return 1;
    }
    return ip->b[0] != 0xff;
}

/* The common frame (untagged IPv4 of a 20-byte header, not a later fragment, TCP with a valid
 * data offset or UDP that is neither DHCP nor DHCPv6) decoded in one pass, straight into the
 * fields sn_decode_eth would set for it (events none): the general decoders cost ~95
 * instructions a frame in three calls, most of them tests this frame passes. Returns 0, having
 * written nothing, for any other frame (sn_decode_eth then). test_sensor_decode holds it to the
 * general decoders. */
static inline int sn_decode_fast_v4(sn_pkt *p, const uint8_t *d, size_t len)
{
    if (len < 14 + 20 + 8 || d[12] != 0x08 || d[13] != 0x00 || d[14] != 0x45)
        return 0;
    size_t total = (size_t)(d[16] << 8 | d[17]);
    size_t l4len = (total < len - 14 ? total : len - 14);
    /* a total below 20 is a bad header (and wraps l4len): the general decoder says so */
    if (total < 20 || ((d[20] & 0x1f) | d[21]) != 0)
        return 0;
    l4len -= 20;
    const uint8_t *l4 = d + 34;
    uint8_t proto = d[23];
    uint16_t sport = (uint16_t)(l4[0] << 8 | l4[1]), dport = (uint16_t)(l4[2] << 8 | l4[3]);
    if (proto == 6) {
        size_t doff;
        if (l4len < 20 || (doff = (size_t)(l4[12] >> 4) * 4) < 20 || doff > l4len)
            return 0;
        p->tcp_flags = l4[13];
    } else if (proto == 17) {
        /* DHCP (67 <-> 68) and DHCPv6 answers (from 547) take the general path */
        if (l4len < 8 || sport == 547 || (unsigned)(sport - 67) <= 1 || (unsigned)(dport - 67) <= 1)
            return 0;
    } else {
        return 0;
    }
    memcpy(p->macs, d, 12);
    p->dst_mac = p->macs;
    p->src_mac = p->macs + 6;
    p->vlan = -1;
    p->l3 = L3_IPV4;
    sn_ip_from_v4(&p->src, d + 26);
    sn_ip_from_v4(&p->dst, d + 30);
    p->proto = proto;
    p->sport = sport;
    p->dport = dport;
    p->has_ports = 1;
    p->fast = 1;
    return 1;
}

/* Prefetch for writing, always emitted: GCC 12 drops a __builtin_prefetch in an inlined function
 * when its address is computed from a load of table contents (the entry prefetches vanished
 * from the binary when sn_table_prefetch_entry was made inline; seen with objdump). */
static inline void sn_prefetch(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetcht0 %0" : : "m"(*(const char *)p));
#else
    __builtin_prefetch(p, 1);
#endif
}

/* Hash of a table key: keys are multiples of 8 bytes (explicit padding, zeroed). Pairs of
 * words go through independent 64x64->128 multiplies (folded), so the cost is a few cycles,
 * not a serial chain of one multiply per word. Not keyed: a crafted key set can only crowd one
 * bucket, whose least recently used entries are then evicted (and counted). */
static inline uint64_t sn_mum(uint64_t a, uint64_t b)
{
    __uint128_t m = (__uint128_t)a * b;
    return (uint64_t)m ^ (uint64_t)(m >> 64);
}
static inline uint64_t sn_load64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}
static const uint64_t sn_hash_seed[8] = {0xa0761d6478bd642full, 0xe7037ed1a0b428dbull,
                                         0x8ebc6af09c88c6e3ull, 0x589965cc75374cc3ull,
                                         0x1d8e4e27c47d124full, 0x9e3779b97f4a7c15ull,
                                         0xbf58476d1ce4e5b9ull, 0x94d049bb133111ebull};
/* The hash of a key in memory (len a multiple of 8 for table keys; other lengths allowed). */
static inline uint64_t sn_hash(const void *key, size_t len)
{
    const uint64_t *seed = sn_hash_seed;
    const uint8_t *p = key;
    uint64_t h = sn_mum(len ^ seed[0], seed[1]);
    size_t i = 0, n = len / 8;
    for (; i + 2 <= n; i += 2)
        h ^= sn_mum(sn_load64(p + 8 * i) ^ seed[i & 7], sn_load64(p + 8 * i + 8) ^ seed[(i + 1) & 7]);
    if (i < n)
        h ^= sn_mum(sn_load64(p + 8 * i) ^ seed[i & 7], seed[(i + 3) & 7]);
    if (len & 7) {
        uint64_t w = 0;
        memcpy(&w, p + 8 * n, len & 7);
        h ^= sn_mum(w ^ seed[5], seed[6]);
    }
    return sn_mum(h ^ seed[2], seed[7]);
}
/* The per-packet tables (flows, scan contacts, flood sketch, counters, hosts) hash their keys from
 * the hashes of the key's addresses: a frame's two addresses are hashed once (one multiply each)
 * and each key then costs one more multiply over them and one word of its other fields, instead
 * of hashing every key's full words (the same addresses five times over for a SYN). */
static inline uint64_t sn_addr_hash(const sn_ip *ip)
{
    return sn_mum(ip->w[0] ^ sn_hash_seed[0], ip->w[1] ^ sn_hash_seed[1]);
}
/* A frame's two address hashes (hsrc, hdst), computed once for all its keys. */
static inline void sn_pkt_hash_addrs(sn_pkt *p)
{
    if (!p->has_ahash) {
        p->hsrc = sn_addr_hash(&p->src);
        p->hdst = sn_addr_hash(&p->dst);
        p->has_ahash = 1;
    }
}
/* The same for a frame whose addresses are IPv4 a and b (4-byte loads of the header): their
 * mapped forms' hashes, from registers (the first word of a mapped address is 0). */
static inline uint64_t sn_addr_hash_v4(uint32_t a)
{
    return sn_mum(sn_hash_seed[0], (SN_V4_PREFIX_WORD | SN_WORD32(a, 4)) ^ sn_hash_seed[1]);
}
static inline void sn_pkt_hash_addrs_v4(sn_pkt *p, uint32_t src, uint32_t dst)
{
    if (!p->has_ahash) {
        p->hsrc = sn_addr_hash_v4(src);
        p->hdst = sn_addr_hash_v4(dst);
        p->has_ahash = 1;
    }
}
/* A key of up to two hashed addresses (0 for none) and one word of other fields. */
static inline uint64_t sn_key_hash(uint64_t ha, uint64_t hb, uint64_t fields)
{
    return sn_mum(ha ^ fields ^ sn_hash_seed[4], hb ^ sn_hash_seed[5]);
}
/* Key equality over 8-byte words (len a multiple of 8). */
static inline int sn_key_eq(const void *a, const void *b, size_t len)
{
    const uint8_t *x = a, *y = b;
    uint64_t d = 0;
    /* unrolled where len is a constant (the inline lookups): no loop counter per word */
#pragma GCC unroll 8
    for (size_t i = 0; i < len; i += 8)
        d |= sn_load64(x + i) ^ sn_load64(y + i);
    return d == 0;
}
int sn_ip_parse(const char *text, sn_ip *out);
void sn_ip_format(const sn_ip *ip, char *buf, size_t size);
int sn_mac_parse(const char *text, uint8_t mac[6]);
void sn_mac_format(const uint8_t *mac, char *buf, size_t size);

/* ---- set-associative state table: fixed memory, O(1), evicts the least recently used entry of
 * a full bucket (counted). Entries start with sn_slot; the key is at key_off (right after the
 * slot unless the table says otherwise). ---- */
typedef struct {
    int64_t last;
    uint8_t used;
    uint8_t way;      /* its way in the bucket (set on insertion): a held entry is checked
                       * against the bucket of its key without a division */
    uint16_t pad;
    uint32_t gen;     /* bumped on every reuse, so references can detect reuse */
} sn_slot;

#define SN_WAYS 8
typedef void (*sn_table_evict_fn)(void *ud, void *entry, int expired);
/* One cache line per bucket with a hash tag and a coarse last-use stamp per way, so a lookup
 * reads this line and only the entry whose tag matches (not all eight entries). */
typedef struct {
    uint32_t tag[SN_WAYS];    /* 0 = free */
    uint32_t stamp[SN_WAYS];  /* last use, sn_stamp */
} sn_bucket_meta;
/* A hash's tag (or fingerprint) in a bucket: its high half, never 0 (0 marks a free way). */
static inline uint32_t sn_tag_of(uint64_t h)
{
    return (uint32_t)(h >> 32) | 1u;
}
/* A time as a bucket stamp: units of 1.024 ms, modulo 2^32 (they wrap every 51 days; stamps are
 * only ever subtracted, so ages up to that compare right). Two instructions, no per-table base
 * to test on every lookup. */
static inline uint32_t sn_stamp(int64_t now)
{
    return (uint32_t)((uint64_t)now >> 10);
}
/* A time-to-live in stamp units, one more for the rounding down of stamps; 0 for no ttl. Ages
 * beyond the stamps' range are not told apart: a longer ttl is the whole range (such entries
 * only leave by eviction), not its remainder modulo 2^32. */
static inline uint32_t sn_ttl_stamps(int64_t ttl)
{
    if (ttl <= 0)
        return 0;
    uint64_t st = ((uint64_t)ttl >> 10) + 1;
    return st < UINT32_MAX ? (uint32_t)st : UINT32_MAX;
}
typedef struct {
    uint8_t *mem;
    sn_bucket_meta *meta;
    size_t entry_size, key_off, key_len, nbuckets;
    size_t hot_size;          /* leading bytes of an entry worth prefetching and cleared on
                               * insertion (entry_size); the owner initializes the rest */
    int64_t ttl;              /* entries idle longer are free; 0 = never expire */
    uint32_t ttl_st;          /* sn_ttl_stamps(ttl) */
    uint64_t evictions, expirations, live;
    sn_table_evict_fn on_evict;
    void *ud;
    size_t sweep;             /* the next bucket sn_table_expire_some looks at */
} sn_table;

void *sn_alloc_zeroed(size_t size);
size_t sn_alloc_mapped(size_t size); /* what sn_alloc_zeroed(size) maps */
void sn_free_zeroed(void *p, size_t size);
int sn_table_init(sn_table *t, size_t max_entries, size_t entry_size, size_t key_len, int64_t ttl);
/* The same with the key at byte key_off of an entry (after the slot and the owner's fields). */
int sn_table_init_at(sn_table *t, size_t max_entries, size_t entry_size, size_t key_off,
                     size_t key_len, int64_t ttl);
void sn_table_free(sn_table *t);
/* Releases as expired (on_evict, expirations) the entries idle longer than the table's ttl in
 * the next n buckets, a cursor going round the table; returns how many. Lookups find such an
 * entry expired only when a packet reaches its bucket: a live run calls this so that idle flows
 * end and idle incidents close as time passes. Only the buckets' stamps are read, and an entry
 * only when its stamp says stale. */
size_t sn_table_expire_some(sn_table *t, int64_t now, size_t n);
/* Finds the entry with key (at the table's key_off); with create, makes it
 * (zeroed, key set) and sets *is_new. Returns NULL when absent and !create. */
void *sn_table_get(sn_table *t, const void *key, int64_t now, int create, int *is_new);
void *sn_table_get_h(sn_table *t, const void *key, uint64_t hash, int64_t now, int create,
                     int *is_new);
/* Bit i set when way i of the bucket carries tag (tag 0: the free ways). */
static inline unsigned sn_tag_mask(const sn_bucket_meta *m, uint32_t tag)
{
#ifdef __SSE2__
    __m128i t = _mm_set1_epi32((int)tag);
    __m128i lo = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)m->tag), t);
    __m128i hi = _mm_cmpeq_epi32(_mm_loadu_si128((const __m128i *)(const void *)(m->tag + 4)), t);
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(lo)) |
           (unsigned)_mm_movemask_ps(_mm_castsi128_ps(hi)) << 4;
#else
    unsigned mask = 0;
    for (int i = 0; i < SN_WAYS; i++)
        mask |= (unsigned)(m->tag[i] == tag) << i;
    return mask;
#endif
}

/* Bit i set when way i's stamp is more than ttl units before st (unsigned, as the stamps wrap):
 * the ways an insertion may take over as expired. ttl UINT32_MAX: none. */
static inline unsigned sn_stale_mask(const sn_bucket_meta *m, uint32_t st, uint32_t ttl)
{
#ifdef __SSE2__
    /* SSE2 compares signed: flipping the top bit of both sides compares them unsigned */
    const __m128i flip = _mm_set1_epi32((int)0x80000000u);
    __m128i now = _mm_set1_epi32((int)st), lim = _mm_set1_epi32((int)(ttl ^ 0x80000000u));
    __m128i lo = _mm_sub_epi32(now, _mm_loadu_si128((const __m128i *)(const void *)m->stamp));
    __m128i hi = _mm_sub_epi32(now, _mm_loadu_si128((const __m128i *)(const void *)(m->stamp + 4)));
    lo = _mm_cmpgt_epi32(_mm_xor_si128(lo, flip), lim);
    hi = _mm_cmpgt_epi32(_mm_xor_si128(hi, flip), lim);
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(lo)) |
           (unsigned)_mm_movemask_ps(_mm_castsi128_ps(hi)) << 4;
#else
    unsigned mask = 0;
    for (int i = 0; i < SN_WAYS; i++)
        mask |= (unsigned)(st - m->stamp[i] > ttl) << i;
    return mask;
#endif
}

/* The least recently used way of a full bucket (the first of equals; stamps compared with
 * wrap-around). */
static inline int sn_oldest_way(const sn_bucket_meta *m)
{
    int oldest = 0;
    for (int i = 1; i < SN_WAYS; i++)
        if ((int32_t)(m->stamp[i] - m->stamp[oldest]) < 0)
            oldest = i;
    return oldest;
}

/* The same for stamps all less than 2^31 units old (as in a full bucket of a table whose ttl
 * is shorter: an older way would be expired), where the wrap-around comparison orders the
 * stamps as their differences from the first: the first way of their minimum, eight at a time
 * with SSE2 (about 30 instructions against the loop's 45). */
static inline int sn_oldest_way_recent(const sn_bucket_meta *m)
{
#ifdef __SSE2__
    __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)m->stamp);
    __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(m->stamp + 4));
    __m128i base = _mm_shuffle_epi32(lo, 0);
    lo = _mm_sub_epi32(lo, base);
    hi = _mm_sub_epi32(hi, base);
    __m128i lt = _mm_cmplt_epi32(hi, lo);
    __m128i mn = _mm_or_si128(_mm_and_si128(lt, hi), _mm_andnot_si128(lt, lo));
    __m128i sh = _mm_shuffle_epi32(mn, _MM_SHUFFLE(1, 0, 3, 2));
    lt = _mm_cmplt_epi32(sh, mn);
    mn = _mm_or_si128(_mm_and_si128(lt, sh), _mm_andnot_si128(lt, mn));
    sh = _mm_shuffle_epi32(mn, _MM_SHUFFLE(2, 3, 0, 1));
    lt = _mm_cmplt_epi32(sh, mn);
    mn = _mm_or_si128(_mm_and_si128(lt, sh), _mm_andnot_si128(lt, mn));
    unsigned eq = (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lo, mn))) |
                  (unsigned)_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(hi, mn))) << 4;
    return __builtin_ctz(eq);
#else
    return sn_oldest_way(m);
#endif
}

/* The way an insertion takes in bucket m at stamp st: the first free or expired way (ttl in
 * stamp units, 0 for none), else the least recently used one, which *evicts says is taken from a
 * live entry. */
static inline int sn_insert_way(const sn_bucket_meta *m, uint32_t st, uint32_t ttl, int *evicts)
{
    unsigned avail = sn_tag_mask(m, 0) | (ttl ? sn_stale_mask(m, st, ttl) : 0);
    *evicts = !avail;
    if (avail)
        return __builtin_ctz(avail);
    /* no way is stale: with a ttl below 2^31 units each is younger (no ttl, or a longer one:
     * the loop, whose order is the same for such stamps and defined for any) */
    return ttl - 1u < 0x7fffffffu ? sn_oldest_way_recent(m) : sn_oldest_way(m);
}

/* A use of way i (entry sl) of bucket m at stamp st (see sn_table_get_with): 0 when the entry
 * has expired (the lookup releases it), else the use is recorded for expiry and LRU. */
static inline int sn_table_touch(const sn_table *t, sn_bucket_meta *m, int i, sn_slot *sl,
                                 uint32_t st, int64_t now)
{
    if (t->ttl_st && st - m->stamp[i] > t->ttl_st && now - sl->last > t->ttl)
        return 0;
    m->stamp[i] = st;
    if (now > sl->last)
        sl->last = now;
    return 1;
}

/* Frees way of bucket m (entry sl): the owner's on_evict first, counted as an expiry or an
 * eviction. */
void sn_table_release(sn_table *t, sn_bucket_meta *m, int way, sn_slot *sl, int expired);

/* sn_table_get_h with the table's sizes given as constants (key_off, key_len, entry_size,
 * hot_size must be the table's): the per-packet lookups and insertions inline, with fixed-size
 * copies (always: GCC keeps it out of line otherwise, and the copies stay library calls). */
static inline __attribute__((always_inline)) void *
sn_table_get_with(sn_table *t, const void *key, size_t key_off, size_t key_len, size_t entry_size,
                  size_t hot_size, uint64_t h, int64_t now, int create, int *is_new)
{
    uint32_t tag = sn_tag_of(h);
    size_t b = h & (t->nbuckets - 1);
    sn_bucket_meta *m = &t->meta[b];
    uint8_t *bucket = t->mem + b * SN_WAYS * entry_size;
    uint32_t st = sn_stamp(now);
    uint32_t ttl = t->ttl_st;
    if (is_new)
        *is_new = 0;
    for (unsigned mask = sn_tag_mask(m, tag); mask; mask &= mask - 1) {
        int i = __builtin_ctz(mask);
        sn_slot *sl = (sn_slot *)(bucket + (size_t)i * entry_size);
        if (!sn_key_eq((uint8_t *)sl + key_off, key, key_len))
            continue;
        if (sn_table_touch(t, m, i, sl, st, now))
            return sl;
        sn_table_release(t, m, i, sl, 1); /* expired: the key is inserted anew below */
        break;
    }
    if (!create)
        return NULL;
    int evicts;
    int way = sn_insert_way(m, st, ttl, &evicts);
    sn_slot *sl = (sn_slot *)(bucket + (size_t)way * entry_size);
    if (m->tag[way]) /* an expired entry, or a live one evicted */
        sn_table_release(t, m, way, sl, !evicts);
    /* every byte of the hot part written once: the header, zeros up to the key, the key, zeros
     * after it */
    sl->gen = sl->gen + 1;
    sl->used = 1;
    sl->way = (uint8_t)way;
    sl->pad = 0;
    sl->last = now;
    if (key_off > sizeof(sn_slot))
        memset((uint8_t *)sl + sizeof(sn_slot), 0, key_off - sizeof(sn_slot));
    memcpy((uint8_t *)sl + key_off, key, key_len);
    memset((uint8_t *)sl + key_off + key_len, 0, hot_size - key_off - key_len);
    m->tag[way] = tag;
    m->stamp[way] = st;
    t->live++;
    if (is_new)
        *is_new = 1;
    return sl;
}

/* The same hit path for an entry the caller holds and knows to be in use with the key it wants
 * (the sensor's last flow: forgotten by its on_evict when the entry is released, and every
 * reuse of a way releases it first), so neither is read again: only whether it has expired
 * (NULL: the lookup releases it and inserts the key anew), and the use is recorded. */
static inline void *sn_table_touch_held(sn_table *t, void *entry, size_t entry_size, int64_t now)
{
    sn_slot *sl = entry;
    size_t b = (size_t)((uint8_t *)sl - t->mem) / (entry_size * SN_WAYS);
    return sn_table_touch(t, &t->meta[b], sl->way, sl, sn_stamp(now), now) ? sl : NULL;
}

/* The entry at index (sn_table_index_of) when it is still in use with generation gen and has
 * not expired; the use is recorded as a lookup would record it. Else NULL (look it up). */
static inline void *sn_table_at_again(sn_table *t, size_t index, uint32_t gen, size_t entry_size,
                                      int64_t now)
{
    if (index >= t->nbuckets * SN_WAYS)
        return NULL;
    sn_slot *sl = (sn_slot *)(t->mem + index * entry_size);
    if (!sl->used || sl->gen != gen)
        return NULL;
    return sn_table_touch(t, &t->meta[index / SN_WAYS], (int)(index % SN_WAYS), sl, sn_stamp(now),
                          now)
               ? sl
               : NULL;
}

/* Second stage of a pipelined lookup: with the bucket's tags in cache, prefetch the entry that
 * will be read (the matching one, else the one an insertion would take): the lines of its first
 * hot_size bytes. Inline with the table's constant sizes, so the prefetches are straight-line
 * code. Returns whether a way carries the tag. */
static inline int sn_table_prefetch_entry(const sn_table *t, uint64_t h, size_t entry_size,
                                          size_t hot_size)
{
    uint32_t tag = sn_tag_of(h);
    size_t b = h & (t->nbuckets - 1);
    const sn_bucket_meta *m = &t->meta[b];
    unsigned hit = sn_tag_mask(m, tag), free_ways = sn_tag_mask(m, 0);
    /* only a prefetch: the recent ways' order is close enough for any table */
    int way = hit         ? __builtin_ctz(hit)
              : free_ways ? __builtin_ctz(free_ways)
                          : sn_oldest_way_recent(m);
    const uint8_t *e = t->mem + (b * SN_WAYS + (size_t)way) * entry_size;
    for (size_t o = 0; o < hot_size; o += 64)
        sn_prefetch(e + o);
    sn_prefetch(e + hot_size - 1); /* an unaligned entry's last line */
    return hit != 0;
}
void *sn_table_entry_at(sn_table *t, size_t index);

static inline void sn_table_prefetch_meta(const sn_table *t, uint64_t h)
{
    sn_prefetch(&t->meta[h & (t->nbuckets - 1)]);
}

/* A set of 32-bit key fingerprints with a last-seen stamp, one 64-byte line per bucket of
 * SN_WAYS: a lookup reads one line, where a table reads its tag line and then the entry. For
 * sets where a key only needs to be "seen recently" (scan contacts). A key is taken for another
 * when both land in one bucket (the hash's low bits) with equal fingerprints (its high 32
 * bits): below 8 in 2^32 per lookup. Full buckets evict their least recently seen key
 * (counted). */
typedef struct {
    sn_bucket_meta *b;
    size_t nbuckets;
    uint32_t ttl_st;     /* sn_ttl_stamps(ttl), UINT32_MAX for none */
    uint64_t evictions, live;
} sn_seen;
int sn_seen_init(sn_seen *t, size_t max_entries, int64_t ttl);
void sn_seen_free(sn_seen *t);
/* Records hash as seen now; returns 1 when it was not seen within the ttl (inline: a scan
 * contact per initiation). */
static inline int sn_seen_add(sn_seen *t, uint64_t h, int64_t now)
{
    uint32_t fp = sn_tag_of(h);
    sn_bucket_meta *m = &t->b[h & (t->nbuckets - 1)];
    uint32_t st = sn_stamp(now);
    uint32_t ttl = t->ttl_st;
    unsigned hit = sn_tag_mask(m, fp);
    if (hit) {
        int i = __builtin_ctz(hit);
        int fresh = st - m->stamp[i] <= ttl;
        m->stamp[i] = st;
        return !fresh;
    }
    int evicts;
    int way = sn_insert_way(m, st, ttl, &evicts);
    if (evicts)
        t->evictions++;
    else if (!m->tag[way])
        t->live++;
    m->tag[way] = fp;
    m->stamp[way] = st;
    return 1;
}
/* With the bucket in cache: whether hash is present (maybe expired). */
static inline int sn_seen_has(const sn_seen *t, uint64_t h)
{
    return sn_tag_mask(&t->b[h & (t->nbuckets - 1)], sn_tag_of(h)) != 0;
}
static inline void sn_seen_prefetch(const sn_seen *t, uint64_t hash)
{
    sn_prefetch(&t->b[hash & (t->nbuckets - 1)]);
}
size_t sn_table_capacity(const sn_table *t);
/* An entry's index in its table; entry_size must be the table's, given as a constant so that
 * the division is a shift or a multiply (a 64-bit divide costs tens of cycles, once per TRW
 * first contact and outcome). */
static inline size_t sn_table_index_of(const sn_table *t, const void *entry, size_t entry_size)
{
    return (size_t)((const uint8_t *)entry - t->mem) / entry_size;
}

/* ---- flows ---- */

/* What every flow entry holds, in both flow tables; its key follows (sn_flow4, sn_flow6). */
typedef struct {
    sn_slot h;
    int64_t first;
    uint32_t pkts[2];           /* [0] from a, [1] from b; saturating (as Suricata's 32-bit flow
                                 * packet counts) */
    uint32_t bytes_lo[2];       /* bytes from a / b: 48 bits each, saturating (sn_flow_bytes):
                                 * 256 TiB, and the entry of an IPv4 flow fits one cache line */
    uint16_t bytes_hi[2];
    uint16_t pend_slot;         /* its pending-ring slot while trw_pending */
    uint8_t v6 : 1;             /* in the IPv6 table (an sn_flow6) */
    uint8_t init_is_b : 1;      /* initiator is b */
    uint8_t trw_pending : 1;    /* a first contact awaiting its outcome (in the pending ring) */
    uint8_t answered : 1;       /* responder replied (SYN-ACK / any packet for UDP) */
    uint8_t refused : 1;        /* responder reset */
    uint8_t handshake_counted : 1; /* brute force: counted once */
    uint8_t first_contact : 1;  /* the SYN (or UDP datagram) was the initiator's first contact
                                 * of (dst, port) */
    /* TCP: a connection, seen opened by a SYN or sending other than resets both ways; until
     * then its segments count toward tcp_flood (sn_tcp_unopened) */
    uint8_t tcp_open : 1;
    uint8_t tcp_sent : 2;       /* sides (bit 0 a, bit 1 b) that sent a segment without RST */
    uint8_t pad : 6;
} sn_flow;
typedef struct {
    sn_flow f;
    sn_flow_key4 k;
} sn_flow4;
typedef struct {
    sn_flow f;
    sn_flow_key6 k;
    uint8_t pad[8];             /* 96 bytes: entries stay aligned to cache lines */
} sn_flow6;
#define SN_FLOW_KEY_OFF sizeof(sn_flow)
#define SN_FLOW_BYTES_MAX (((uint64_t)1 << 48) - 1)
static inline uint64_t sn_flow_bytes(const sn_flow *f, int side)
{
    return (uint64_t)f->bytes_hi[side] << 32 | f->bytes_lo[side];
}
static inline void sn_flow_add_bytes(sn_flow *f, int side, uint32_t n)
{
    uint32_t lo = f->bytes_lo[side] + n;
    if (__builtin_expect(lo < n, 0)) { /* carried into the high part, or saturated */
        if (f->bytes_hi[side] == UINT16_MAX)
            lo = UINT32_MAX;
        else
            f->bytes_hi[side]++;
    }
    f->bytes_lo[side] = lo;
}
/* A flow's key in the IPv6 form (an IPv4 flow's addresses mapped): for the paths that report
 * or look up its ends (inline: a TRW outcome, one per answered first contact, reads it). */
static inline void sn_flow_key_of(const sn_flow *f, sn_flow_key6 *k)
{
    if (f->v6) {
        *k = ((const sn_flow6 *)(const void *)f)->k;
        return;
    }
    const sn_flow_key4 *k4 = &((const sn_flow4 *)(const void *)f)->k;
    k->vlan = k4->vlan;
    k->proto = k4->proto;
    k->pad = 0;
    k->port_a = k4->port_a;
    k->port_b = k4->port_b;
    sn_ip_from_v4(&k->a, (const uint8_t *)&k4->a);
    sn_ip_from_v4(&k->b, (const uint8_t *)&k4->b);
}

/* The flow's EVE flow_id: from its key and start, so its record and its alerts agree; below
 * 2^51 (JSON readers keep it exact) and never 0. */
uint64_t sn_flow_id(const sn_flow *f);

/* ---- per-host state (keyed by vlan + address) ---- */
typedef struct {
    int16_t vlan;
    uint16_t pad;
    uint32_t pad2;
    sn_ip ip;
} sn_host_key;

/* Flood rates: a blocked count-min sketch of packets per (kind, scope, address) in the current
 * window: a key hashes to one 64-byte line of 8 cells and to two different cells in it, and its
 * estimate is the smaller of the two. One line per update (a two-row sketch reads two), and a
 * fixed 256 KiB, so the per-packet rate update costs no table lookup. Collisions can only
 * over-count. */
#define SN_RATE_LINES 4096
#define SN_RATE_CELLS (SN_RATE_LINES * 8)
typedef struct {
    uint32_t window;  /* window number the count belongs to */
    uint32_t count;
} sn_rate_cell;

#define SN_WORM_INBOUND 4
typedef struct {
    sn_slot h;
    sn_host_key k;
    /* TRW: log-likelihood ratio over first contacts */
    double trw_llr;
    uint32_t trw_contacts, trw_failures;
    int64_t trw_first;            /* the walk's first contact */
    uint64_t trw_bytes;           /* of the walk's first contacts' opening packets: with
                                   * trw_contacts, the alert's traffic volume (8.2.3.2d) */
    sn_ip trw_first_dst;
    uint8_t trw_multi_dst, trw_decided;
    uint8_t cold_ready;       /* inbound and the volume part are initialized (sn_host_cold) */
    /* worm: recent inbound connections (port, from, time) */
    struct { /* arrays, not an array of structs: no padding after each port */
        uint16_t port[SN_WORM_INBOUND];
        sn_ip from[SN_WORM_INBOUND];
        int64_t at[SN_WORM_INBOUND];
    } inbound;
    /* volume: bytes sent per bin, EWMA mean and variance */
    int64_t vol_bin_start;
    uint64_t vol_bin_bytes, vol_bin_pkts;
    double vol_mean, vol_var;
    uint32_t vol_bins;
    /* worm: bit i set: inbound slot i is a UDP datagram, not an answered SYN; a UDP port the
     * host answered on (a service: a resolver, an NTP server) is not a worm's */
    uint8_t inbound_udp;
    uint8_t pad_to_lines[11]; /* 256 bytes: entries stay aligned to cache lines */
} sn_host;
/* What a lookup touches of a host (prefetched, cleared on insertion): the rest is sn_host_cold */
#define SN_HOST_HOT offsetof(sn_host, inbound)
_Static_assert(SN_HOST_HOT >= sizeof(sn_slot) + sizeof(sn_host_key),
               "a host's hot part holds its key");

/* ---- scan / brute force / worm counters ---- */
/* A scan contact: (vlan, proto, dport, src, dst) seen in the scan window (only its hash is
 * kept, in the fingerprint set). */
static inline uint64_t sn_contact_hash(const sn_pkt *p)
{
    uint16_t dport = (p->proto == 6 || p->proto == 17) ? p->dport : 0;
    uint64_t hs = p->has_ahash ? p->hsrc : sn_addr_hash(&p->src);
    uint64_t hd = p->has_ahash ? p->hdst : sn_addr_hash(&p->dst);
    return sn_key_hash(hs, hd,
                       (uint64_t)(uint16_t)p->vlan | (uint64_t)p->proto << 16 |
                           (uint64_t)dport << 32);
}


typedef struct {
    sn_slot h;
    struct {
        int16_t vlan;
        uint16_t pad;
        uint32_t kind;        /* 0 distinct ports on (src,dst); 1 distinct hosts on (src,port);
                               * 2 handshakes on (src,dst,port); 3 distinct ARP targets of src;
                               * 4 of a station (MAC in src) */
        uint16_t port, pad2;
        uint32_t pad3;
        sn_ip src, dst;
    } k;
    int64_t first, last;       /* first: start of the counting window */
    uint64_t pkts, bytes;
    uint32_t count;
    uint8_t alerted;
    uint8_t n_samples;
    uint16_t ports[4];
    sn_ip samples[4];          /* first distinct targets (host sweep); the first in the second
                                * line with the rest of what a new counter writes */
    uint8_t pad_to_lines[16];  /* 192 bytes: entries stay aligned to cache lines */
} sn_counter;
/* What a lookup touches of a counter (two lines): the first sample, not the others, which only
 * a source contacting many targets writes */
#define SN_COUNTER_HOT (offsetof(sn_counter, samples) + sizeof(sn_ip))
_Static_assert(SN_COUNTER_HOT <= 128, "a counter's hot part is its first two cache lines");
_Static_assert(SN_COUNTER_HOT >= offsetof(sn_counter, k) + sizeof(((sn_counter *)0)->k),
               "a counter's hot part holds its key");

typedef struct {
    sn_slot h;
    struct {
        int16_t vlan;
        uint16_t pad;
        uint32_t pad2;
        sn_ip ip;
    } k;
    uint8_t mac[6];
    int64_t since;
} sn_arp_binding;

typedef struct {
    sn_slot h;
    struct {
        int16_t vlan;
        uint16_t pad;
        uint32_t pad2;
        sn_ip requester, target;
    } k;
} sn_arp_request;

typedef struct {
    sn_slot h;
    struct {
        char type[16];
        int16_t vlan;
        uint16_t pad;
        uint32_t pad2;
        sn_ip src, dst;
    } k;
    int64_t first;
    uint64_t count;
    dbg_alert alert;     /* as first emitted; re-emitted as a summary when repeats folded */
} sn_incident;

/* ---- inventory internals ---- */
typedef struct {
    uint8_t ip[16];
    uint32_t port;   /* index into ports, +1; 0 = empty */
    uint32_t shared; /* other ports have the address too (tenants' overlapping subnets) */
} sn_inv_ip_slot;

/* Unordered pairs of tenant references (ids, or names when there is no id). */
typedef struct {
    char (*pair)[2][64];
    size_t n;
} sn_tenant_pairs;
int sn_tenant_pairs_add(sn_tenant_pairs *l, const char *a, const char *b);
int sn_tenant_pairs_has(const sn_tenant_pairs *l, const char *a, const char *b);

struct dbg_sensor_inventory {
    dbg_sensor_port *ports;
    size_t n_ports, cap_ports;
    sn_ip *host_addrs;
    size_t n_host_addrs;
    uint8_t mgmt_port_bits[65536 / 8];
    sn_tenant_pairs allowed;   /* tenants allowed to talk */
    sn_tenant_pairs unmatched; /* tenants named one only by name, one only by id, that nothing
                                * ties: may be one tenant (platform metadata), said in alerts */
    /* lookup indexes, rebuilt lazily; the filters (a bit per hash of every address / MAC in
     * the index, 512 bytes each, so they stay in cache) answer most misses without touching
     * the index */
    int dirty;
    uint64_t ip_filter[64], mac_filter[64];
    uint64_t host_filter[64]; /* host addresses (kept as they are added) */
    uint32_t *mac_index;     /* open addressing, port index + 1 */
    sn_inv_ip_slot *ip_index;
    size_t index_size;
};
static inline unsigned sn_inv_ip_bit(const sn_ip *ip)
{
    return (unsigned)(((ip->w[0] ^ ip->w[1]) * 0x9e3779b97f4a7c15ull) >> 52);
}
/* The same for an address known to be IPv4 (mapped: its first word is 0) */
static inline unsigned sn_inv_ip_bit_v4(const sn_ip *ip)
{
    return (unsigned)((ip->w[1] * 0x9e3779b97f4a7c15ull) >> 52);
}
static inline unsigned sn_inv_mac_bit(const uint8_t *mac)
{
    /* a 4-byte and a 2-byte load combined in registers (a 6-byte memcpy into a zeroed word on
     * the stack would be read back through a stalled store forward) */
    uint32_t hi;
    uint16_t lo;
    memcpy(&hi, mac, 4);
    memcpy(&lo, mac + 4, 2);
    uint64_t w = (uint64_t)hi | (uint64_t)lo << 32;
    return (unsigned)((w * 0x9e3779b97f4a7c15ull) >> 52);
}
/* Whether a filter (ip_filter, mac_filter, host_filter) has the bit of an address: when not, the
 * address is certainly absent. */
static inline int sn_inv_filter_has(const uint64_t *filter, unsigned bit)
{
    return (int)((filter[bit >> 6] >> (bit & 63)) & 1);
}
/* By MAC / IP: the filter test, then the index probe (the probe alone when the caller has
 * tested the filter bit itself). An address several ports have (tenants reusing a private
 * subnet on their own VLANs) is the port on the frame's VLAN, among those the one with the
 * frame's MAC (mac may be NULL); with none on that VLAN, the one with the MAC, else the first. */
const dbg_sensor_port *sn_inv_by_mac(const dbg_sensor_inventory *inv, const uint8_t *mac);
const dbg_sensor_port *sn_inv_by_ip(const dbg_sensor_inventory *inv, const sn_ip *ip, int vlan,
                                    const uint8_t *mac);
const dbg_sensor_port *sn_inv_probe_mac(const dbg_sensor_inventory *inv, const uint8_t *mac);
const dbg_sensor_port *sn_inv_probe_ip(const dbg_sensor_inventory *inv, const sn_ip *ip,
                                       int vlan, const uint8_t *mac);
const dbg_sensor_port *sn_inv_by_tap(const dbg_sensor_inventory *inv, const char *tap);
int sn_inv_is_host_addr(const dbg_sensor_inventory *inv, const sn_ip *ip);
int sn_inv_is_mgmt_port(const dbg_sensor_inventory *inv, int port);
int sn_inv_port_has_ip(const dbg_sensor_port *p, const sn_ip *ip);
int sn_inv_prepare(dbg_sensor_inventory *inv);

/* ---- the sensor context ---- */
#define SN_MAX_IFACES 16
/* Packets pass through a software pipeline (a ring of decoded frames): when a frame is queued
 * the bucket lines of its lookups are prefetched; SN_STAGE frames later (the lines have
 * arrived) the entries those buckets point to; another SN_STAGE frames later the frame is
 * processed. So the memory latency of one frame's lookups overlaps the work on others (the
 * tables are far larger than the caches). The scan counters and host record of a likely first
 * contact take one more stage (their bucket lines are fetched at the entry stage). Stages of 12
 * frames were ~5 % faster than 8 or 10 on the benchmark capture (a dependent miss takes
 * ~250 ns on this kind of VM; 4 were 40 % slower). */
#define SN_STAGE 12
#define SN_RING 64 /* >= 3 * SN_STAGE, a power of two */
#define SN_PENDING_MAX 65536 /* slots fit sn_flow.pend_slot */
typedef struct {
    uint32_t flow_ref, gen; /* sn_flow_ref; UINT32_MAX: resolved before its timeout */
    int64_t at;
    /* the initiator's host entry when the contact was made: its outcome updates it without a
     * hash and lookup (checked, not trusted: sn_table_at_again) */
    uint32_t host_index, host_gen;
} sn_pending;

struct dbg_sensor {
    dbg_sensor_rules r;
    const dbg_sensor_inventory *inv;
    int have_inv;
    dbg_sensor_alert_fn on_alert;
    void *alert_ud;
    dbg_sensor_flow_fn on_flow;
    void *flow_ud;
    char ifaces[SN_MAX_IFACES][32];
    const dbg_sensor_port *iface_port[SN_MAX_IFACES];
    sn_table flows4, flows6;   /* IPv4 flows (sn_flow4), IPv6 flows (sn_flow6) */
    sn_table hosts, counters, arp_bindings, arp_requests, incidents;
    sn_seen contacts;          /* scan contacts (src, dst, dport) seen in the scan window */
    sn_rate_cell *rates;       /* [SN_RATE_LINES][8] */
    sn_pending *pending;       /* ring of TRW first contacts awaiting an outcome */
    size_t pend_head, pend_len;
    double trw_up, trw_down, trw_eta1, trw_eta0; /* log-space steps and bounds */
    int64_t now;
    int64_t next_tick;
    int64_t next_sweep;        /* dbg_sensor_tick: when idle entries are looked for next */
    const sn_flow *cur_flow;   /* the flow alerts raised now belong to (their flow_id), or NULL */
    int cur_iface;             /* the interface of the packet being processed, or -1 */
    int64_t flood_win;         /* flood window in us (> 0) */
    int64_t flood_start;       /* start of the current flood window */
    uint32_t flood_window;     /* its number (now / flood_win) */
    uint8_t brute_port_bits[65536 / 8];
    sn_ip dhcp_auth[8];
    size_t n_dhcp_auth;
    struct {
        int16_t vlan;
        sn_ip server;
        int set;
        int kind;              /* SN_SRV_* */
    } dhcp_tofu[16];           /* trust-on-first-use DHCP / DHCPv6 server, router per VLAN */
    uint8_t host_macs[16][6];  /* learned from frames carrying a host address (gateways) */
    size_t n_host_macs;
    sn_pkt ring[SN_RING];
    uint64_t ring_head, ring_tail; /* frames [head, tail) are queued, not yet processed */
    sn_flow *last_flow;   /* the flow of the frame processed last; NULL once that entry is
                           * released (flow_evicted) */
    dbg_sensor_stats st;
    char evidence[2048];
    char extra[2048];
    /* a capture interface's own MAC (a tap's host side) and that of the bridge it is a port of:
     * the host's own frames on a VM's tap, SN_IFACE_OWN and SN_IFACE_BRIDGE */
    uint8_t iface_mac[SN_MAX_IFACES][2][6];
    uint8_t iface_mac_set[SN_MAX_IFACES][2];
    /* the bridge's MAC before it last changed, known until iface_old_bridge_until (packet
     * time): the frames it sent just before are processed after the change is read */
    uint8_t iface_old_bridge_mac[SN_MAX_IFACES][6];
    int64_t iface_old_bridge_until[SN_MAX_IFACES];
    void (*iface_macs_reader)(dbg_sensor *s, int iface_index, const char *name);
    int64_t iface_macs_read[SN_MAX_IFACES]; /* packet time the reader was last asked */
};

/* attribution of one side of a packet */
typedef struct {
    const sn_ip *ip;
    const uint8_t *mac;
    const dbg_sensor_port *port; /* VM port by IP (else by MAC), NULL when unknown */
} sn_side;

/* ---- small per-packet helpers (inline: called for every frame) ---- */
/* The sketch hash of (kind, scope, address), from the address's hash; computed when the packet
 * is queued so the cells can be prefetched. */
static inline uint64_t sn_rate_hash(unsigned kind, unsigned scope, int vlan, uint64_t haddr)
{
    return sn_key_hash(haddr, 0, (uint64_t)(uint32_t)vlan | (uint64_t)(kind * 2 + scope) << 32);
}
static inline void sn_rate_prefetch(const dbg_sensor *s, uint64_t h)
{
    sn_prefetch(&s->rates[(h & (SN_RATE_LINES - 1)) * 8]);
}

/* ---- detectors (detect_*.c) ---- */
void sn_detect_arp(dbg_sensor *s, const sn_pkt *p);
void sn_detect_spoof(dbg_sensor *s, const sn_pkt *p);
void sn_learn_host_mac(dbg_sensor *s, const uint8_t *mac);
int sn_is_host_mac(const dbg_sensor *s, const uint8_t *mac);
const dbg_sensor_port *sn_tap_sender(dbg_sensor *s, const sn_pkt *p);
/* The VM port a frame comes from, when known: by its tap (whatever MAC the VM sends from), else
 * by its source MAC; NULL without an inventory. */
const dbg_sensor_port *sn_sender_port(dbg_sensor *s, const sn_pkt *p);
/* The capture interface's own MAC and its bridge's (NULL: unknown, or not a bridge port), read
 * by the capture when it opens one and while it captures. */
enum { SN_IFACE_OWN = 0, SN_IFACE_BRIDGE };
void sn_set_iface_macs(dbg_sensor *s, int iface_index, const uint8_t *own, const uint8_t *bridge);
/* What sets them again (sn_set_iface_macs) when a frame on a VM's tap comes from a MAC that is
 * neither the VM's nor known, before it is taken for the VM's: at most every 100 ms of packet
 * time per interface. NULL (offline): never. */
void sn_set_iface_macs_reader(dbg_sensor *s,
                              void (*reader)(dbg_sensor *s, int iface_index, const char *name));
void sn_detect_dhcp(dbg_sensor *s, const sn_pkt *p);
void sn_detect_ndp(dbg_sensor *s, const sn_pkt *p);
/* kinds of address-handing servers checked for rogues */
enum { SN_SRV_DHCP4 = 0, SN_SRV_DHCP6, SN_SRV_ROUTER };
void sn_detect_rogue_server(dbg_sensor *s, const sn_pkt *p, int kind);
/* ip is one of the rules' dhcp.servers */
int sn_is_dhcp_server(const dbg_sensor *s, const sn_ip *ip);
/* for a frame queued with has_rate set (a flood request): its sketch hashes are in rhash */
void sn_detect_flood(dbg_sensor *s, const sn_pkt *p);
/* A first contact's scan counters (sn_detect_scan_contact found it new); returns 1. */
int sn_detect_scan_first(dbg_sensor *s, const sn_pkt *p);
/* An ARP request's target counted toward a host sweep by ARP. */
void sn_detect_arp_sweep(dbg_sensor *s, const sn_pkt *p);
void sn_trw_contact(dbg_sensor *s, sn_flow *f, const sn_pkt *p, sn_host *src);
void sn_trw_outcome(dbg_sensor *s, sn_flow *f, int success);
void sn_trw_expire_pending(dbg_sensor *s, int64_t now, int all);
void sn_detect_brute(dbg_sensor *s, const sn_pkt *p, const sn_flow *f);
void sn_detect_tenant(dbg_sensor *s, const sn_pkt *p, const dbg_sensor_port *src_vm);
void sn_detect_host_access(dbg_sensor *s, const sn_pkt *p);
void sn_detect_volume(dbg_sensor *s, const sn_pkt *p, sn_host *src);
void sn_detect_worm_inbound(dbg_sensor *s, const sn_pkt *p, sn_host *dst);
/* UDP: a first contact p to p->dst's port p->dport (recorded as a worm's delivery), and the
 * responder's first answer p of a UDP flow (from p->sport: a service there, never a worm's) */
void sn_detect_worm_inbound_udp(dbg_sensor *s, const sn_pkt *p);
void sn_detect_worm_udp_answered(dbg_sensor *s, const sn_pkt *p);
/* A TCP segment of a flow not (yet) a connection (!f->tcp_open), rare: the flood count of
 * segments outside connections (tcp_flood), its withdrawal when the flow turns out to be a
 * connection seen mid-way, and ACK / FIN|ACK probes the peer reset (port_scan, host_sweep). */
void sn_tcp_unopened(dbg_sensor *s, const sn_pkt *p, sn_flow *f, int from_b, int from_init);
void sn_detect_worm_outbound(dbg_sensor *s, const sn_pkt *p, const sn_counter *sweep);

/* ---- shared helpers (sensor.c) ---- */
/* A reference to a flow that fits 32 bits (its index, its table in the top bit; the tables
 * hold fewer than 2^31 entries), for the pending ring. */
static inline uint32_t sn_flow_ref(dbg_sensor *s, const sn_flow *f)
{
    return f->v6 ? (uint32_t)sn_table_index_of(&s->flows6, f, sizeof(sn_flow6)) | 1u << 31
                 : (uint32_t)sn_table_index_of(&s->flows4, f, sizeof(sn_flow4));
}
static inline sn_flow *sn_flow_at(dbg_sensor *s, uint32_t ref)
{
    return sn_table_entry_at(ref >> 31 ? &s->flows6 : &s->flows4, ref & 0x7fffffffu);
}
sn_host *sn_host_get(dbg_sensor *s, int vlan, const sn_ip *ip, int create);
/* A new host's worm and volume parts are cleared on first use, not at insertion (most hosts
 * only ever use the TRW part: two of the entry's four cache lines). */
static inline sn_host *sn_host_cold(sn_host *h)
{
    if (!h->cold_ready) {
        memset(&h->inbound, 0, sizeof(*h) - offsetof(sn_host, inbound));
        h->cold_ready = 1;
    }
    return h;
}
/* Without creating; NULL when absent. */
const sn_counter *sn_counter_find(dbg_sensor *s, uint32_t kind, int vlan, uint16_t port,
                                  const sn_ip *src, const sn_ip *dst);
sn_counter *sn_counter_get(dbg_sensor *s, uint32_t kind, int vlan, uint16_t port,
                           const sn_ip *src, const sn_ip *dst, int64_t window, int *is_new);
/* The same with the key's hash already computed (sn_counter_hash). */
uint64_t sn_counter_hash(uint32_t kind, int vlan, uint16_t port, const sn_ip *src,
                         const sn_ip *dst);
uint64_t sn_host_hash(int vlan, const sn_ip *ip);
/* The same from the addresses' hashes (sn_addr_hash; hdst 0 for a counter without a target). */
static inline uint64_t sn_counter_hash_a(uint32_t kind, int vlan, uint16_t port, uint64_t hsrc,
                                         uint64_t hdst)
{
    return sn_key_hash(hsrc, hdst,
                       (uint64_t)(uint16_t)vlan | (uint64_t)port << 16 | (uint64_t)kind << 32);
}
static inline uint64_t sn_host_hash_a(int vlan, uint64_t haddr)
{
    return sn_key_hash(haddr, 0, (uint64_t)(uint16_t)vlan | (uint64_t)1 << 63);
}
sn_host *sn_host_get_h(dbg_sensor *s, int vlan, const sn_ip *ip, uint64_t hash, int create);
const dbg_sensor_port *sn_attribute(const dbg_sensor *s, int vlan, const sn_ip *ip,
                                    const uint8_t *mac);
_Static_assert(offsetof(sn_counter, k.kind) - offsetof(sn_counter, k) == 4 &&
                   offsetof(sn_counter, k.port) - offsetof(sn_counter, k) == 8 &&
                   offsetof(sn_counter, k.src) - offsetof(sn_counter, k) == 16,
               "counter key: vlan and kind word, port word, then the addresses");
/* A counter's key. Compared as 8-byte words right after it is built, so its first words are
 * put together in registers and stored whole, padding included: a load that spans several
 * smaller stores waits for them to reach the cache instead of being forwarded. */
static inline void sn_counter_key(sn_counter *key, uint32_t kind, int vlan, uint16_t port,
                                  const sn_ip *src, const sn_ip *dst)
{
    uint64_t w[2] = {SN_WORD16(vlan, 0) | SN_WORD32(kind, 4), SN_WORD16(port, 0)};
    memcpy(&key->k, w, sizeof(w));
    key->k.src = *src;
    if (dst)
        key->k.dst = *dst;
    else
        key->k.dst.w[0] = key->k.dst.w[1] = 0;
}
/* sn_counter_get with the key's hash already computed (sn_counter_hash). Inline: a first
 * contact looks up two counters, with the kind constant in each. */
static inline __attribute__((always_inline)) sn_counter *
sn_counter_get_h(dbg_sensor *s, uint32_t kind, int vlan, uint16_t port, const sn_ip *src,
                 const sn_ip *dst, uint64_t hash, int64_t window, int *is_new)
{
    sn_counter key;
    sn_counter_key(&key, kind, vlan, port, src, dst);
    int nw = 0;
    sn_counter *c = sn_table_get_with(&s->counters, &key.k, sizeof(sn_slot), sizeof(key.k),
                                      sizeof(sn_counter), SN_COUNTER_HOT, hash, s->now, 1, &nw);
    if (nw || s->now - c->first > window) {
        c->first = s->now;
        c->count = 0;
        c->pkts = c->bytes = 0;
        c->alerted = 0;
        c->n_samples = 0;
        nw = 1;
    }
    c->last = s->now;
    if (is_new)
        *is_new = nw;
    return c;
}
/* Whether an initiation is a first contact (not seen in the scan window; recorded now), and if
 * so its port scan / host sweep counting. The test inline: most initiations of a busy network
 * repeat a contact. */
static inline int sn_detect_scan_contact(dbg_sensor *s, const sn_pkt *p)
{
    uint64_t ch = p->has_contact ? p->chash : sn_contact_hash(p);
    return sn_seen_add(&s->contacts, ch, s->now) && sn_detect_scan_first(s, p);
}

/* ---- offline capture (capture.c) ---- */
/* dengbao sensor -r: reads o->read_file into s (which the caller finishes), using o's read_file,
 * stop, dump_stats and run_as. 0 at the end of the file; 1 when it is cut or malformed (what was
 * read is processed; dbg_err says where it stopped); -1 when it cannot be read (dbg_err set).
 * Internal so fuzz/fuzz_capture_file.c runs the path dengbao sensor -r takes. */
int sn_run_offline(const dbg_sensor_run_opts *o, dbg_sensor *s, int64_t started);

/* ---- live inventory refresh (inventory_refresh.c) ---- */
typedef struct sn_inv_refresher sn_inv_refresher;
/* Reloads snapshot path when the file changes, or collects uri again, every interval_s in a
 * thread of its own (the first inventory is the caller's). _new opens uri's read-only event
 * connection, which later collections use: call it before giving up root, and _run (the
 * thread) after, since dropping privileges needs a single thread. NULL / -1 with the error
 * set; a refresher that did not run is still stopped (freed) with _stop. */
sn_inv_refresher *sn_inv_refresher_new(const char *path, const char *uri, int interval_s);
int sn_inv_refresher_run(sn_inv_refresher *r);
/* Both at once, for a caller that keeps its privileges. */
sn_inv_refresher *sn_inv_refresher_start(const char *path, const char *uri, int interval_s);
/* The inventory loaded since the last call, or NULL; the caller owns it. */
dbg_sensor_inventory *sn_inv_refresher_take(sn_inv_refresher *r);
/* When the inventory in use was loaded (wall clock), the last reload's error ("" if none) and
 * since when reloads have failed (wall clock, the first of the run of failures; 0 if none). */
void sn_inv_refresher_state(sn_inv_refresher *r, int64_t *loaded_us, int64_t *failing_us,
                            char *error, size_t size);
/* A count that moves whenever that state does (for rewriting a status file). */
unsigned sn_inv_refresher_changes(sn_inv_refresher *r);
void sn_inv_refresher_stop(sn_inv_refresher *r);

/* Raises an alert for an incident (type, vlan, src, dst) unless one is open (then folds it).
 * src_ip/dst_ip may be NULL. Uses s->evidence and s->extra when non-empty. */
void sn_raise(dbg_sensor *s, const char *type, const char *clause, int vlan, const sn_ip *src_ip,
              const uint8_t *src_mac, const sn_ip *dst_ip, const uint8_t *dst_mac, int dport,
              uint8_t proto, int64_t first, int64_t last, uint64_t pkts, uint64_t bytes);
/* The same with the incident keyed on key_dst instead of dst_ip: for two kinds of evidence of
 * one alert type that each deserve their own alert (a host sweep seen by ARP must not absorb
 * the same source's sweep of one port seen over IP, which names the port). */
void sn_raise_keyed(dbg_sensor *s, const char *type, const char *clause, int vlan,
                    const sn_ip *src_ip, const uint8_t *src_mac, const sn_ip *dst_ip,
                    const uint8_t *dst_mac, int dport, uint8_t proto, int64_t first, int64_t last,
                    uint64_t pkts, uint64_t bytes, const sn_ip *key_dst);
/* Clause for attacks: 8.2.3.2a when a tenant VM launched it, else 8.2.3.2b. */
const char *sn_attack_clause(const dbg_sensor *s, int vlan, const sn_ip *src,
                             const uint8_t *src_mac);
static inline int64_t sn_secs(double s) { return (int64_t)(s * 1e6); }

#pragma GCC visibility pop

#endif
