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
#include "tests/unit/sensor_fixture.h"

#define LLA "fe80::5054:ff:fe00:a" /* EUI-64 of MA */
#define LLC "fe80::5054:ff:fe00:c"
#define LLH "fe80::5054:ff:fe00:1"
#define A6 "fd00:10:10::a"
#define C6 "fd00:10:10::c"

/* vm-a and vm-c have IPv4 and IPv6 addresses, vm-b IPv4 only; the host fd00:10:10::1. */
static dbg_sensor_inventory *make_inventory(void)
{
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MA, "10.0.1.10," A6, "vm-a", "uuid-a", "t1",
                                                   "net1", "vnet0", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MB, "10.0.1.12", "vm-b", "uuid-b", "t1",
                                                   "net1", "vnet1", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MC, "10.0.1.11," C6, "vm-c", "uuid-c", "t1",
                                                   "net1", "vnet2", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "10.0.1.1"), 0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "fd00:10:10::1"), 0);
    return inv;
}

static int with_inventory(void **state)
{
    return sensor_setup(state, make_inventory());
}

/* DAD, address resolution, router and DHCPv6 traffic of the host, ping6 between VMs. */
static void benign(sensor_fixture *f, int64_t t)
{
    tpkt p;
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(f, &p, t); /* the host's router advertisement */
    t_nd(&p, MA, "33:33:ff:00:00:0a", "::", "ff02::1:ff00:a", 135, 0, A6, 0, NULL);
    feed(f, &p, t + 10); /* DAD */
    t_nd(&p, MA, "33:33:ff:00:00:0a", "::", "ff02::1:ff00:a", 135, 0, LLA, 0, NULL);
    feed(f, &p, t + 20);
    t_nd(&p, MA, "33:33:00:00:00:01", LLA, "ff02::1", 136, 0x20, LLA, 2, MA);
    feed(f, &p, t + 30); /* unsolicited announcement of its own address */
    t_udp6(&p, MH, MA, LLH, 547, LLA, 546, 7, 60);
    feed(f, &p, t + 40); /* the host's DHCPv6 reply */
    t_nd(&p, MA, "33:33:ff:00:00:0c", A6, "ff02::1:ff00:c", 135, 0, C6, 1, MA);
    feed(f, &p, t + 50);
    t_nd(&p, MC, MA, C6, A6, 136, 0x60, C6, 2, MC);
    feed(f, &p, t + 60);
    for (int i = 0; i < 5; i++) {
        t_icmp6(&p, MA, MC, A6, C6, 128);
        feed(f, &p, t + 100 + i * 1000000LL);
        t_icmp6(&p, MC, MA, C6, A6, 129);
        feed(f, &p, t + 200 + i * 1000000LL);
    }
    t_nd(&p, MH, MA, "fd00:10:10::1", A6, 136, 0xe0, "fd00:10:10::1", 2, MH);
    feed(f, &p, t + 6000000); /* the router's own address */
    t_nd(&p, MC, MA, LLC, LLA, 135, 0, LLA, 1, MC);
    feed(f, &p, t + 7000000); /* unicast reachability probe */
    t_nd(&p, MA, MC, LLA, LLC, 136, 0x60, LLA, 2, MA);
    feed(f, &p, t + 7000100);
}

static void test_ipv6_benign(void **state)
{
    sensor_fixture *f = *state;
    benign(f, T0);
    dbg_sensor_finish(f->sensor);
    for (size_t i = 0; i < f->alerts.n && i < MAXA; i++)
        print_error("unexpected %s: %s\n", f->alerts.a[i].type, f->alerts.a[i].evidence);
    assert_int_equal(f->alerts.n, 0);
    /* and without an inventory */
    sensor_restart(f, NULL);
    benign(f, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

static void test_ndp_spoof(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    /* vm-c claims vm-a's address in an unsolicited override advertisement */
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    feed(f, &p, T0);
    feed(f, &p, T0 + 1000); /* folds */
    assert_int_equal(count_type(f, "arp_spoof"), 1);
    const dbg_alert *a = find_type(f, "arp_spoof");
    assert_string_equal(a->src.vm_name, "vm-c");
    assert_string_equal(a->src.mac, MC);
    assert_string_equal(a->dst.ip, A6);
    assert_string_equal(a->dst.vm_name, "vm-a");
    assert_string_equal(a->clause, "8.2.3.2b");
    assert_non_null(strstr(a->extra_json, "\"protocol\":\"ndp\""));
    assert_non_null(strstr(a->evidence, "unsolicited neighbor advertisement"));
    assert_non_null(strstr(a->evidence, "assigned to another VM"));
    assert_int_equal(count_type(f, "ip_spoof"), 0); /* its link-local source is its own */

    /* vm-c answers for its own address with a third station's MAC */
    memset(&f->alerts, 0, sizeof(f->alerts));
    t_nd(&p, MC, MA, C6, A6, 136, 0x60, C6, 2, "02:00:00:00:00:99");
    feed(f, &p, T0 + 2000);
    assert_int_equal(count_type(f, "arp_spoof"), 1);
    assert_non_null(
        strstr(f->alerts.a[0].evidence, "target link-layer address is not the sender's MAC"));

    /* a solicitation from vm-a's address with vm-c's MAC as source link-layer option, sent by
     * vm-c: the option claims vm-a's address; the source address is spoofed too (a new sensor:
     * the first incident, vm-c claiming vm-a's address, would fold this one) */
    sensor_restart(f, f->inv);
    t_nd(&p, MC, "33:33:ff:00:00:0b", A6, "ff02::1:ff00:b", 135, 0, "fd00:10:10::b", 1, MC);
    feed(f, &p, T0 + 3000);
    assert_int_equal(count_type(f, "arp_spoof"), 1);
    assert_int_equal(count_type(f, "ip_spoof"), 1);
    assert_non_null(strstr(find_type(f, "arp_spoof")->evidence, "neighbor solicitation"));

    /* without an inventory: a link-local bound to vm-a's MAC, overridden by vm-b */
    sensor_restart(f, NULL);
    t_nd(&p, MA, MC, LLA, LLC, 136, 0x60, LLA, 2, MA);
    feed(f, &p, T0);
    assert_int_equal(f->alerts.n, 0);
    t_nd(&p, MB, "33:33:00:00:00:01", LLA, "ff02::1", 136, 0x20, LLA, 2, MB);
    feed(f, &p, T0 + 5000);
    assert_int_equal(count_type(f, "arp_spoof"), 1);
    assert_string_equal(f->alerts.a[0].src.mac, MB);
    assert_string_equal(f->alerts.a[0].dst.ip, LLA);
    assert_string_equal(f->alerts.a[0].dst.mac, MA);
    assert_non_null(strstr(f->alerts.a[0].evidence, "unsolicited advertisement overriding"));
}

static void test_ip6_spoof(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    t_udp6(&p, MA, MC, A6, 5000, C6, 53, 0, 20);
    feed(f, &p, T0);
    t_udp6(&p, MA, MC, LLA, 5000, LLC, 53, 0, 20);
    feed(f, &p, T0 + 10);
    t_udp6(&p, MB, MC, "fd00:10:10::b", 5000, C6, 53, 0, 20); /* vm-b: no IPv6 listed */
    feed(f, &p, T0 + 20);
    assert_int_equal(f->alerts.n, 0);
    t_udp6(&p, MA, MC, "fd00:10:10::99", 5000, C6, 53, 0, 20);
    feed(f, &p, T0 + 30);
    assert_int_equal(count_type(f, "ip_spoof"), 1);
    assert_string_equal(f->alerts.a[0].src.vm_name, "vm-a");
    assert_string_equal(f->alerts.a[0].src.ip, "fd00:10:10::99");
    t_udp6(&p, MA, MC, "fe80::1234", 5000, C6, 53, 0, 20); /* not its EUI-64 link-local */
    feed(f, &p, T0 + 40);
    assert_int_equal(count_type(f, "ip_spoof"), 2);
    /* another MAC sending from vm-c's IPv6 address */
    t_udp6(&p, "02:00:00:00:00:66", MA, C6, 5000, A6, 53, 0, 20);
    feed(f, &p, T0 + 50);
    assert_int_equal(count_type(f, "mac_spoof"), 1);

    /* on vm-a's tap */
    sensor_restart(f, f->inv);
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0);
    t_udp6(&p, MA, MC, LLA, 5000, LLC, 53, 0, 20);
    dbg_sensor_packet(f->sensor, T0, p.b, p.len, p.len, 1);
    t_udp6(&p, MA, MC, "2001:db8::1", 5000, C6, 53, 0, 20);
    dbg_sensor_packet(f->sensor, T0 + 10, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 1);
    assert_string_equal(f->alerts.a[0].type, "ip_spoof");
    assert_string_equal(f->alerts.a[0].src.ip, "2001:db8::1");
}

static void test_rogue_router_dhcp6(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(f, &p, T0);
    assert_int_equal(f->alerts.n, 0);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 134, 0, NULL, 1, MC);
    feed(f, &p, T0 + 10);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_string_equal(f->alerts.a[0].src.vm_name, "vm-c");
    assert_non_null(strstr(f->alerts.a[0].evidence, "router advertisement"));
    assert_non_null(strstr(f->alerts.a[0].evidence, "VM's port"));
    assert_string_equal(f->alerts.a[0].clause, "8.2.3.2b");
    sensor_restart(f, f->inv); /* a DHCPv6 reply from vm-c would fold into that incident */
    t_udp6(&p, MC, MA, LLC, 546, LLA, 547, 1, 60); /* a client SOLICIT is not a server */
    feed(f, &p, T0 + 5);
    assert_int_equal(f->alerts.n, 0);
    t_udp6(&p, MC, MA, LLC, 547, LLA, 546, 7, 60); /* DHCPv6 REPLY */
    feed(f, &p, T0 + 20);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_non_null(strstr(f->alerts.a[0].evidence, "DHCPv6 REPLY"));
    assert_non_null(strstr(f->alerts.a[0].extra_json, "dhcpv6"));
    assert_string_equal(f->alerts.a[0].src.vm_name, "vm-c");

    /* an IPv6 server listed in dhcp.servers: others are rogue even off VM ports */
    snprintf(f->rules.dhcp_servers[0], sizeof(f->rules.dhcp_servers[0]), "fe80::1");
    f->rules.n_dhcp_servers = 1;
    sensor_restart(f, f->inv);
    t_udp6(&p, "02:00:00:00:00:01", MA, "fe80::1", 547, LLA, 546, 2, 60);
    feed(f, &p, T0);
    t_nd(&p, "02:00:00:00:00:01", "33:33:00:00:00:01", "fe80::1", "ff02::1", 134, 0, NULL, 1,
         "02:00:00:00:00:01");
    feed(f, &p, T0 + 5);
    assert_int_equal(f->alerts.n, 0);
    t_udp6(&p, "02:00:00:00:00:66", MA, "fe80::66", 547, LLA, 546, 2, 60);
    feed(f, &p, T0 + 10);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_non_null(strstr(f->alerts.a[0].evidence, "DHCPv6 ADVERTISE"));
    assert_non_null(strstr(f->alerts.a[0].evidence, "not among"));

    /* no inventory: the first router per VLAN is trusted, a second is rogue */
    f->rules = rules_default();
    sensor_restart(f, NULL);
    t_nd(&p, MH, "33:33:00:00:00:01", LLH, "ff02::1", 134, 0, NULL, 1, MH);
    feed(f, &p, T0);
    feed(f, &p, T0 + 100);
    assert_int_equal(f->alerts.n, 0);
    t_nd(&p, MB, "33:33:00:00:00:01", "fe80::66", "ff02::1", 134, 0, NULL, 1, MB);
    feed(f, &p, T0 + 200);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_string_equal(f->alerts.a[0].src.ip, "fe80::66");
    assert_non_null(strstr(f->alerts.a[0].evidence, "a second router"));
}

static void test_nd_malformed(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    /* vm-c's spoofing NA, made malformed: receivers drop it, so no alert, but counted */
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    size_t opt = p.len - 8;
    p.b[opt + 1] = 0; /* option length 0 */
    feed(f, &p, T0);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 2, MC);
    p.b[opt + 1] = 2; /* option runs past the end */
    feed(f, &p, T0 + 10);
    t_nd(&p, MC, "33:33:00:00:00:01", LLC, "ff02::1", 136, 0x20, A6, 0, NULL);
    p.b[14 + 5] = 20; /* payload length 20: shorter than an NA */
    p.len = 14 + 40 + 20;
    feed(f, &p, T0 + 20);
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_int_equal(st.decode_events[8], 3);
    assert_string_equal(dbg_sensor_decode_event_name(8), "bad_nd");
    assert_true(st.decode_errors >= 3);
    assert_int_equal(count_type(f, "arp_spoof"), 0);
    /* every prefix and every byte corruption of ND messages must be survivable */
    const uint8_t types[4] = {133, 134, 135, 136};
    for (int k = 0; k < 4; k++) {
        t_nd(&p, MC, MA, LLC, LLA, types[k], 0x20, types[k] >= 135 ? A6 : NULL,
             types[k] == 136 ? 2 : 1, MC);
        feed_prefixes(f, &p, T0 + 100);
        feed_corruptions(f, &p, T0 + 100);
    }
    dbg_sensor_flush(f->sensor);
    dbg_sensor_finish(f->sensor);
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.decode_events[8] > 10);
    char *json = dbg_sensor_stats_json(&st, 1.0);
    assert_non_null(json);
    assert_non_null(strstr(json, "\"bad_nd\":"));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SENSOR_TEST(test_ipv6_benign, with_inventory),
        SENSOR_TEST(test_ndp_spoof, with_inventory),
        SENSOR_TEST(test_ip6_spoof, with_inventory),
        SENSOR_TEST(test_rogue_router_dhcp6, with_inventory),
        SENSOR_TEST(test_nd_malformed, with_inventory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
