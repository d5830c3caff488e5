/* Unit tests for the sensor's fused decode of the common frame (sn_decode_fast_v4): on every
 * frame it takes, it must leave the decoded packet exactly as the general decoders
 * (sn_decode_eth and below) do, and on every frame it declines it must write nothing. The
 * frames are TCP and UDP over IPv4 with header bytes and lengths mutated at random, so both
 * sides of each of its tests are reached. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/sensor_internal.h"
#include "tests/unit/sensor_pkt.h"

static void assert_same_decode(const sn_pkt *a, const sn_pkt *b)
{
    assert_int_equal(a->vlan, b->vlan);
    assert_int_equal(a->l3, b->l3);
    assert_int_equal(a->proto, b->proto);
    assert_int_equal(a->has_ports, b->has_ports);
    assert_int_equal(a->tcp_flags, b->tcp_flags);
    assert_int_equal(a->icmp_type, b->icmp_type);
    assert_int_equal(a->sport, b->sport);
    assert_int_equal(a->dport, b->dport);
    assert_int_equal(a->dhcp_type, b->dhcp_type);
    assert_int_equal(a->events, b->events);
    assert_int_equal(a->nd, b->nd);
    assert_int_equal(a->arp_op, b->arp_op);
    assert_memory_equal(a->src.b, b->src.b, 16);
    assert_memory_equal(a->dst.b, b->dst.b, 16);
    assert_memory_equal(a->macs, b->macs, 12);
    assert_true(a->src_mac == a->macs + 6 && b->src_mac == b->macs + 6);
    assert_true(a->dst_mac == a->macs && b->dst_mac == b->macs);
}

/* xorshift: the same mutations on every run */
static uint32_t next_rand(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static size_t base_frame(tpkt *f, uint8_t proto, uint16_t sport, uint16_t dport)
{
    memset(f, 0, sizeof(*f));
    size_t off = t_eth(f, "52:54:00:00:00:01", "52:54:00:00:00:02", -1, 0x0800);
    size_t l4len = proto == 6 ? 20 : 8 + 12;
    off = t_ipv4(f, off, "10.0.0.1", "10.0.0.2", proto, l4len);
    t_ports(f->b + off, sport, dport);
    if (proto == 6) {
        f->b[off + 12] = 5 << 4;
        f->b[off + 13] = TCP_SYN;
    } else {
        f->b[off + 5] = (uint8_t)l4len;
    }
    return off + l4len;
}

static void test_fast_decode_matches(void **state)
{
    (void)state;
    static const uint8_t protos[] = {6, 17};
    static const uint16_t ports[][2] = {{40000, 80}, {67, 68}, {68, 67},  {547, 546},
                                        {53, 547},   {66, 69}, {1234, 67}};
    uint32_t x = 0x9e3779b9u;
    unsigned taken = 0, declined = 0;
    for (int iter = 0; iter < 200000; iter++) {
        tpkt f;
        const uint16_t *pp = ports[iter % (sizeof(ports) / sizeof(ports[0]))];
        size_t len = base_frame(&f, protos[(iter / 7) & 1], pp[0], pp[1]);
        /* most frames keep their headers (the fast path's own case), the rest get up to three
         * bytes of the Ethernet, IP or L4 header changed, or their length cut or grown */
        unsigned mutations = iter % 4 == 0 ? 0 : next_rand(&x) % 4;
        for (unsigned m = 0; m < mutations; m++) {
            size_t at = 12 + next_rand(&x) % 48;
            uint32_t r = next_rand(&x);
            f.b[at] = (r & 0x100) ? (uint8_t)r : (uint8_t)(f.b[at] ^ (1u << (r % 8)));
        }
        if (iter % 5 == 1)
            len = next_rand(&x) % (len + 16);
        sn_pkt a, b;
        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        sn_decode_eth(&a, f.b, len);
        if (sn_decode_fast_v4(&b, f.b, len)) {
            taken++;
            assert_int_equal(a.events, 0);
            assert_same_decode(&a, &b);
        } else {
            declined++;
            sn_pkt zero;
            memset(&zero, 0, sizeof(zero));
            assert_memory_equal(&b, &zero, sizeof(b));
        }
    }
    /* both outcomes are exercised, the fast one on the plain frames at least */
    assert_true(taken > 50000);
    assert_true(declined > 50000);
}

/* A frame of ntags stacked tags (outermost 100, then 200, 201, ...) around IPv4 TCP 22 */
static size_t stacked_frame(tpkt *f, int ntags)
{
    memset(f, 0, sizeof(*f));
    t_mac(f->b, "52:54:00:00:00:02");
    t_mac(f->b + 6, "52:54:00:00:00:01");
    size_t off = 12;
    for (int i = 0; i < ntags; i++) {
        uint16_t tpid = i == 0 && ntags > 1 ? 0x88a8 : 0x8100;
        int vid = i == 0 ? 100 : 199 + i;
        f->b[off] = (uint8_t)(tpid >> 8), f->b[off + 1] = (uint8_t)tpid;
        f->b[off + 2] = (uint8_t)(vid >> 8), f->b[off + 3] = (uint8_t)vid;
        off += 4;
    }
    f->b[off] = 0x08, f->b[off + 1] = 0x00;
    off = t_ipv4(f, off + 2, "10.0.0.1", "10.0.0.2", 6, 20);
    t_tcp_at(f, off, 40000, 22, TCP_SYN, 0);
    return off + 20;
}

/* Three or more tags hid the IP traffic inside from every detector (a non-IP frame, no decode
 * event); up to SN_MAX_VLAN_TAGS are walked, and a deeper stack is a decode error. */
static void test_stacked_vlan_tags(void **state)
{
    (void)state;
    for (int n = 0; n <= SN_MAX_VLAN_TAGS + 1; n++) {
        tpkt f;
        size_t len = stacked_frame(&f, n);
        sn_pkt p;
        memset(&p, 0, sizeof(p));
        sn_decode_eth(&p, f.b, len);
        if (n <= SN_MAX_VLAN_TAGS) {
            assert_int_equal(p.l3, L3_IPV4);
            assert_int_equal(p.dport, 22);
            assert_int_equal(p.vlan, n ? 100 : -1);
            assert_int_equal(p.events, 0);
        } else {
            assert_int_equal(p.l3, L3_NONE);
            assert_int_equal(p.events, 1u << DEC_EV_VLAN_DEPTH);
            assert_true(p.events & DEC_EV_ERRORS_MASK);
        }
        /* cut inside the tags: a truncated header, not an IP packet */
        if (n >= 3) {
            memset(&p, 0, sizeof(p));
            sn_decode_eth(&p, f.b, 14 + 4 * 2 + 2);
            assert_int_equal(p.l3, L3_NONE);
            assert_int_equal(p.events, 1u << DEC_EV_TRUNC_ETH);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_decode_matches),
        cmocka_unit_test(test_stacked_vlan_tags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
