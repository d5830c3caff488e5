/* Unit tests for the sensor's IPv6 detectors on crafted frames: neighbour discovery spoofing
 * (arp_spoof with "protocol":"ndp"), IPv6 source spoofing (ip_spoof, EUI-64 link-local and ::
 * allowed), rogue routers and DHCPv6 servers (rogue_dhcp), benign ND / DAD / ping6 giving no
 * alert, and malformed ND options counted as decode events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/sensor.h"
#include "dengbao/util.h"
#include "tests/unit/sensor_pkt.h"

#define MAXA 64
typedef struct {
    dbg_alert a[MAXA];
    char evidence[MAXA][512];
    char extra[MAXA][512];
    size_t n;
} collected;

static void collect(void *ud, const dbg_alert *a)
{
    collected *c = ud;
    if (c->n < MAXA) {
        c->a[c->n] = *a;
        snprintf(c->evidence[c->n], 512, "%s", a->evidence ? a->evidence : "");
        snprintf(c->extra[c->n], 512, "%s", a->extra_json ? a->extra_json : "");
        c->a[c->n].evidence = c->evidence[c->n];
        c->a[c->n].extra_json = c->extra[c->n];
    }
    c->n++;
}

static size_t count_type(const collected *c, const char *type)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n && i < MAXA; i++)
        n += strcmp(c->a[i].type, type) == 0 && c->a[i].count == 1;
    return n;
}

static const dbg_alert *find_type(const collected *c, const char *type)
{
    static dbg_alert none = {.evidence = "", .extra_json = ""};
    for (size_t i = 0; i < c->n && i < MAXA; i++)
        if (strcmp(c->a[i].type, type) == 0)
            return &c->a[i];
    print_error("no %s alert among %zu\n", type, c->n);
    return &none;
}

#define T0 1764032523000000LL
#define MA "52:54:00:00:00:0a"
#define MB "52:54:00:00:00:0b"
#define MC "52:54:00:00:00:0c"
#define MH "52:54:00:00:00:01"
#define LLA "fe80::5054:ff:fe00:a" /* EUI-64 of MA */
#define LLC "fe80::5054:ff:fe00:c"
#define LLH "fe80::5054:ff:fe00:1"
#define A6 "fd00:10:10::a"
#define C6 "fd00:10:10::c"

static void feed(dbg_sensor *s, const tpkt *p, int64_t ts)
{
    dbg_sensor_packet(s, ts, p->b, p->len, p->len, 0);
    dbg_sensor_flush(s);
}

static dbg_sensor_rules rules_default(void)
{
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    r.max_flows = 4096;
    r.max_hosts = 4096;
    return r;
}

/* vm-a and vm-c have IPv4 and IPv6 addresses, vm-b IPv4 only; the host fd00:10:10::1. */
static dbg_sensor_inventory *make_inventory(void)
{
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MA, "10.0.1.10," A6, "vm-a", "uuid-a",
                                                   "t1", "net1", "vnet0", -1), 0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MB, "10.0.1.12", "vm-b", "uuid-b", "t1",
                                                   "net1", "vnet1", -1), 0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MC, "10.0.1.11," C6, "vm-c", "uuid-c",
                                                   "t1", "net1", "vnet2", -1), 0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "10.0.1.1"), 0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "fd00:10:10::1"), 0);
    return inv;
}

static void t_echo6(tpkt *p, const char *smac, const char *dmac, const char *src,
                    const char *dst, uint8_t type)
{
    size_t off = t_eth(p, smac, dmac, -1, 0x86dd);
    off = t_ipv6(p, off, src, dst, 58, 64);
    memset(p->b + off, 0, 64);
    p->b[off] = type;
    p->len = off + 64;
}

/* DAD, address resolution, router and DHCPv6 traffic of the host, ping6 between VMs. */
static void benign(dbg_sensor *s, int64_t t)
{
    tpkt p;
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(s, &p, t); /* the host's router advertisement */
    t_nd(&p, MA, "33:33:ff:00:00:0a", "::", "ff02::1:ff00:a", 135, 0, A6, 0, NULL);
    feed(s, &p, t + 10); /* DAD */
    t_nd(&p, MA, "33:33:ff:00:00:0a", "::", "ff02::1:ff00:a", 135, 0, LLA, 0, NULL);
    feed(s, &p, t + 20);
    t_nd(&p, MA, "33:33:00:00:00:01", LLA, "ff02::1", 136, 0x20, LLA, 2, MA);
    feed(s, &p, t + 30); /* unsolicited announcement of its own address */
    t_udp6(&p, MH, MA, LLH, 547, LLA, 546, 7, 60);
    feed(s, &p, t + 40); /* the host's DHCPv6 reply */
    t_nd(&p, MA, "33:33:ff:00:00:0c", A6, "ff02::1:ff00:c", 135, 0, C6, 1, MA);
    feed(s, &p, t + 50);
    t_nd(&p, MC, MA, C6, A6, 136, 0x60, C6, 2, MC);
    feed(s, &p, t + 60);
    for (int i = 0; i < 5; i++) {
        t_echo6(&p, MA, MC, A6, C6, 128);
        feed(s, &p, t + 100 + i * 1000000LL);
        t_echo6(&p, MC, MA, C6, A6, 129);
        feed(s, &p, t + 200 + i * 1000000LL);
    }
    t_nd(&p, MH, MA, "fd00:10:10::1", A6, 136, 0xe0, "fd00:10:10::1", 2, MH);
    feed(s, &p, t + 6000000); /* the router's own address */
    t_nd(&p, MC, MA, LLC, LLA, 135, 0, LLA, 1, MC);
    feed(s, &p, t + 7000000); /* unicast reachability probe */
    t_nd(&p, MA, MC, LLA, LLC, 136, 0x60, LLA, 2, MA);
    feed(s, &p, t + 7000100);
}

static void test_ipv6_benign(void **state)
{
    (void)state;
    dbg_sensor_rules r = rules_default();
    collected c = {0};
    dbg_sensor_inventory *inv = make_inventory();
    dbg_sensor *s = dbg_sensor_new(&r, inv, collect, &c);
    benign(s, T0);
    dbg_sensor_finish(s);
    for (size_t i = 0; i < c.n && i < MAXA; i++)
        print_error("unexpected %s: %s\n", c.a[i].type, c.a[i].evidence);
    assert_int_equal(c.n, 0);
    dbg_sensor_free(s);
    /* and without an inventory */
    s = dbg_sensor_new(&r, NULL, collect, &c);
    benign(s, T0);
    dbg_sensor_finish(s);
    assert_int_equal(c.n, 0);
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
}

static void test_ndp_spoof(void **state)
{
    (void)state;
    dbg_sensor_rules r = rules_default();
    collected c = {0};
    dbg_sensor_inventory *inv = make_inventory();
    dbg_sensor *s = dbg_sensor_new(&r, inv, collect, &c);
    tpkt p;
    /* vm-c claims vm-a's address in an unsolicited override advertisement */
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    feed(s, &p, T0);
    feed(s, &p, T0 + 1000); /* folds */
    assert_int_equal(count_type(&c, "arp_spoof"), 1);
    const dbg_alert *a = find_type(&c, "arp_spoof");
    assert_string_equal(a->src.vm_name, "vm-c");
    assert_string_equal(a->src.mac, MC);
    assert_string_equal(a->dst.ip, A6);
    assert_string_equal(a->dst.vm_name, "vm-a");
    assert_string_equal(a->clause, "8.2.3.2b");
    assert_non_null(strstr(a->extra_json, "\"protocol\":\"ndp\""));
    assert_non_null(strstr(a->evidence, "unsolicited neighbor advertisement"));
    assert_non_null(strstr(a->evidence, "assigned to another VM"));
    assert_int_equal(count_type(&c, "ip_spoof"), 0); /* its link-local source is its own */

    /* vm-c answers for its own address with a third station's MAC */
    memset(&c, 0, sizeof(c));
    t_nd(&p, MC, MA, C6, A6, 136, 0x60, C6, 2, "02:00:00:00:00:99");
    feed(s, &p, T0 + 2000);
    assert_int_equal(count_type(&c, "arp_spoof"), 1);
    assert_non_null(strstr(c.a[0].evidence, "target link-layer address is not the sender's MAC"));

    /* a solicitation from vm-a's address with vm-c's MAC as source link-layer option, sent by
     * vm-c: the option claims vm-a's address; the source address is spoofed too (a new sensor:
     * the first incident, vm-c claiming vm-a's address, would fold this one) */
    dbg_sensor_free(s);
    memset(&c, 0, sizeof(c));
    s = dbg_sensor_new(&r, inv, collect, &c);
    t_nd(&p, MC, "33:33:ff:00:00:0b", A6, "ff02::1:ff00:b", 135, 0, "fd00:10:10::b", 1, MC);
    feed(s, &p, T0 + 3000);
    assert_int_equal(count_type(&c, "arp_spoof"), 1);
    assert_int_equal(count_type(&c, "ip_spoof"), 1);
    assert_non_null(strstr(find_type(&c, "arp_spoof")->evidence, "neighbor solicitation"));
    dbg_sensor_free(s);

    /* without an inventory: a link-local bound to vm-a's MAC, overridden by vm-b */
    memset(&c, 0, sizeof(c));
    s = dbg_sensor_new(&r, NULL, collect, &c);
    t_nd(&p, MA, MC, LLA, LLC, 136, 0x60, LLA, 2, MA);
    feed(s, &p, T0);
    assert_int_equal(c.n, 0);
    t_nd(&p, MB, "33:33:00:00:00:01", LLA, "ff02::1", 136, 0x20, LLA, 2, MB);
    feed(s, &p, T0 + 5000);
    assert_int_equal(count_type(&c, "arp_spoof"), 1);
    assert_string_equal(c.a[0].src.mac, MB);
    assert_string_equal(c.a[0].dst.ip, LLA);
    assert_string_equal(c.a[0].dst.mac, MA);
    assert_non_null(strstr(c.a[0].evidence, "unsolicited advertisement overriding"));
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
}

static void test_ip6_spoof(void **state)
{
    (void)state;
    dbg_sensor_rules r = rules_default();
    collected c = {0};
    dbg_sensor_inventory *inv = make_inventory();
    dbg_sensor *s = dbg_sensor_new(&r, inv, collect, &c);
    tpkt p;
    t_udp6(&p, MA, MC, A6, 5000, C6, 53, 0, 20);
    feed(s, &p, T0);
    t_udp6(&p, MA, MC, LLA, 5000, LLC, 53, 0, 20);
    feed(s, &p, T0 + 10);
    t_udp6(&p, MB, MC, "fd00:10:10::b", 5000, C6, 53, 0, 20); /* vm-b: no IPv6 listed */
    feed(s, &p, T0 + 20);
    assert_int_equal(c.n, 0);
    t_udp6(&p, MA, MC, "fd00:10:10::99", 5000, C6, 53, 0, 20);
    feed(s, &p, T0 + 30);
    assert_int_equal(count_type(&c, "ip_spoof"), 1);
    assert_string_equal(c.a[0].src.vm_name, "vm-a");
    assert_string_equal(c.a[0].src.ip, "fd00:10:10::99");
    t_udp6(&p, MA, MC, "fe80::1234", 5000, C6, 53, 0, 20); /* not its EUI-64 link-local */
    feed(s, &p, T0 + 40);
    assert_int_equal(count_type(&c, "ip_spoof"), 2);
    /* another MAC sending from vm-c's IPv6 address */
    t_udp6(&p, "02:00:00:00:00:66", MA, C6, 5000, A6, 53, 0, 20);
    feed(s, &p, T0 + 50);
    assert_int_equal(count_type(&c, "mac_spoof"), 1);
    dbg_sensor_free(s);

    /* on vm-a's tap */
    memset(&c, 0, sizeof(c));
    s = dbg_sensor_new(&r, inv, collect, &c);
    assert_int_equal(dbg_sensor_set_iface(s, 1, "vnet0"), 0);
    t_udp6(&p, MA, MC, LLA, 5000, LLC, 53, 0, 20);
    dbg_sensor_packet(s, T0, p.b, p.len, p.len, 1);
    t_udp6(&p, MA, MC, "2001:db8::1", 5000, C6, 53, 0, 20);
    dbg_sensor_packet(s, T0 + 10, p.b, p.len, p.len, 1);
    dbg_sensor_flush(s);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.a[0].type, "ip_spoof");
    assert_string_equal(c.a[0].src.ip, "2001:db8::1");
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
}

static void test_rogue_router_dhcp6(void **state)
{
    (void)state;
    dbg_sensor_rules r = rules_default();
    collected c = {0};
    dbg_sensor_inventory *inv = make_inventory();
    dbg_sensor *s = dbg_sensor_new(&r, inv, collect, &c);
    tpkt p;
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(s, &p, T0);
    assert_int_equal(c.n, 0);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 134, 0, NULL, 1, MC);
    feed(s, &p, T0 + 10);
    assert_int_equal(count_type(&c, "rogue_dhcp"), 1);
    assert_string_equal(c.a[0].src.vm_name, "vm-c");
    assert_non_null(strstr(c.a[0].evidence, "router advertisement"));
    assert_non_null(strstr(c.a[0].evidence, "VM's port"));
    assert_string_equal(c.a[0].clause, "8.2.3.2b");
    dbg_sensor_free(s); /* a DHCPv6 reply from vm-c would fold into that incident */
    memset(&c, 0, sizeof(c));
    s = dbg_sensor_new(&r, inv, collect, &c);
    t_udp6(&p, MC, MA, LLC, 546, LLA, 547, 1, 60); /* a client SOLICIT is not a server */
    feed(s, &p, T0 + 5);
    assert_int_equal(c.n, 0);
    t_udp6(&p, MC, MA, LLC, 547, LLA, 546, 7, 60); /* DHCPv6 REPLY */
    feed(s, &p, T0 + 20);
    assert_int_equal(count_type(&c, "rogue_dhcp"), 1);
    assert_non_null(strstr(c.a[0].evidence, "DHCPv6 REPLY"));
    assert_non_null(strstr(c.a[0].extra_json, "dhcpv6"));
    assert_string_equal(c.a[0].src.vm_name, "vm-c");
    dbg_sensor_free(s);

    /* an IPv6 server listed in dhcp.servers: others are rogue even off VM ports */
    memset(&c, 0, sizeof(c));
    dbg_sensor_rules r2 = rules_default();
    snprintf(r2.dhcp_servers[0], sizeof(r2.dhcp_servers[0]), "fe80::1");
    r2.n_dhcp_servers = 1;
    s = dbg_sensor_new(&r2, inv, collect, &c);
    t_udp6(&p, "02:00:00:00:00:01", MA, "fe80::1", 547, LLA, 546, 2, 60);
    feed(s, &p, T0);
    t_nd(&p, "02:00:00:00:00:01", "33:33:00:00:00:01", "fe80::1", "ff02::1", 134, 0, NULL, 1,
         "02:00:00:00:00:01");
    feed(s, &p, T0 + 5);
    assert_int_equal(c.n, 0);
    t_udp6(&p, "02:00:00:00:00:66", MA, "fe80::66", 547, LLA, 546, 2, 60);
    feed(s, &p, T0 + 10);
    assert_int_equal(count_type(&c, "rogue_dhcp"), 1);
    assert_non_null(strstr(c.a[0].evidence, "DHCPv6 ADVERTISE"));
    assert_non_null(strstr(c.a[0].evidence, "not among"));
    dbg_sensor_free(s);

    /* no inventory: the first router per VLAN is trusted, a second is rogue */
    memset(&c, 0, sizeof(c));
    s = dbg_sensor_new(&r, NULL, collect, &c);
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(s, &p, T0);
    feed(s, &p, T0 + 100);
    assert_int_equal(c.n, 0);
    t_nd(&p, MB, "33:33:00:00:00:01", "fe80::66", "ff02::1", 134, 0, NULL, 1, MB);
    feed(s, &p, T0 + 200);
    assert_int_equal(count_type(&c, "rogue_dhcp"), 1);
    assert_string_equal(c.a[0].src.ip, "fe80::66");
    assert_non_null(strstr(c.a[0].evidence, "a second router"));
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
}

static void test_nd_malformed(void **state)
{
    (void)state;
    dbg_sensor_rules r = rules_default();
    collected c = {0};
    dbg_sensor_inventory *inv = make_inventory();
    dbg_sensor *s = dbg_sensor_new(&r, inv, collect, &c);
    tpkt p;
    /* vm-c's spoofing NA, made malformed: receivers drop it, so no alert, but counted */
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    size_t opt = p.len - 8;
    p.b[opt + 1] = 0; /* option length 0 */
    feed(s, &p, T0);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    p.b[opt + 1] = 2; /* option runs past the end */
    feed(s, &p, T0 + 10);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 0, NULL);
    p.b[14 + 5] = 20; /* payload length 20: shorter than an NA */
    p.len = 14 + 40 + 20;
    feed(s, &p, T0 + 20);
    dbg_sensor_stats st;
    dbg_sensor_get_stats(s, &st);
    assert_int_equal(st.decode_events[8], 3);
    assert_string_equal(dbg_sensor_decode_event_name(8), "bad_nd");
    assert_true(st.decode_errors >= 3);
    assert_int_equal(count_type(&c, "arp_spoof"), 0);
    /* every prefix and every byte corruption of ND messages must be survivable */
    const uint8_t types[4] = {133, 134, 135, 136};
    for (int k = 0; k < 4; k++) {
        t_nd(&p, MC, MA, LLC, LLA, types[k], 0x20, types[k] >= 135 ? A6 : NULL,
             types[k] == 136 ? 2 : 1, MC);
        for (size_t n = 0; n <= p.len; n++)
            dbg_sensor_packet(s, T0 + 100, p.b, n, p.len, 0);
        for (size_t i = 0; i < p.len; i++) {
            tpkt q = p;
            q.b[i] ^= 0xff;
            dbg_sensor_packet(s, T0 + 100, q.b, q.len, q.len, 0);
        }
    }
    dbg_sensor_flush(s);
    dbg_sensor_finish(s);
    dbg_sensor_get_stats(s, &st);
    assert_true(st.decode_events[8] > 10);
    char *json = dbg_sensor_stats_json(&st, 1.0);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"bad_nd\":"));
    free(json);
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_benign),        cmocka_unit_test(test_ndp_spoof),
        cmocka_unit_test(test_ip6_spoof),          cmocka_unit_test(test_rogue_router_dhcp6),
        cmocka_unit_test(test_nd_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
