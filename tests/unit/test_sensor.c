/* Unit tests for src/sensor: decoders on malformed input, the bounded flow table, and each
 * detector on synthetic packets (with and without an inventory), asserting the alert type,
 * endpoints, VM/tenant attribution and MLPS clause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/sensor.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"
#include "tests/unit/sensor_fixture.h"

/* Two tenants: vm-a (tenant t1) 10.0.1.10, vm-b (tenant t2) 10.0.2.10, vm-c (t1) 10.0.1.11;
 * the host 10.0.1.1 / 10.0.2.1 with management ports 22 and 16509. */
static dbg_sensor_inventory *make_inventory(void)
{
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MA, "10.0.1.10", "vm-a", "uuid-a", "t1",
                                                   "net1", "vnet0", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MB, "10.0.2.10", "vm-b", "uuid-b", "t2",
                                                   "net2", "vnet1", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, MC, "10.0.1.11", "vm-c", "uuid-c", "t1",
                                                   "net1", "vnet2", -1),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "10.0.1.1"), 0);
    assert_int_equal(dbg_sensor_inventory_add_host_address(inv, "10.0.2.1"), 0);
    assert_int_equal(dbg_sensor_inventory_add_mgmt_port(inv, 22), 0);
    assert_int_equal(dbg_sensor_inventory_add_mgmt_port(inv, 16509), 0);
    assert_int_equal(
        dbg_sensor_inventory_add_port(inv, "zz", NULL, "bad", NULL, NULL, NULL, NULL, -1), -1);
    assert_non_null(strstr(dbg_err_msg(), "bad MAC"));
    return inv;
}

static int with_inventory(void **state)
{
    return sensor_setup(state, make_inventory());
}

/* SYN, SYN-ACK, ACK: a connection the sensor sees opened */
static void handshake_open(sensor_fixture *f, const char *src, const char *smac, const char *dst,
                           const char *dmac, uint16_t sport, uint16_t dport, int64_t t)
{
    tpkt p;
    t_tcp(&p, smac, dmac, -1, src, sport, dst, dport, 0x02, 0);
    feed(f, &p, t);
    t_tcp(&p, dmac, smac, -1, dst, dport, src, sport, 0x12, 0);
    feed(f, &p, t + 100);
    t_tcp(&p, smac, dmac, -1, src, sport, dst, dport, 0x10, 0);
    feed(f, &p, t + 200);
}

static void test_decode_malformed(void **state)
{
    sensor_fixture *f = *state;
    assert_non_null(f->sensor);
    tpkt p;
    t_tcp(&p, MA, MB, 100, "10.0.0.1", 1234, "10.0.0.2", 80, 0x02, 10);
    feed_prefixes(f, &p, T0);
    feed_corruptions(f, &p, T0);
    t_dhcp(&p, MA, "10.0.0.9", 2);
    feed_prefixes(f, &p, T0);
    dbg_sensor_flush(f->sensor);
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.packets > 100);
    assert_true(st.decode_errors > 40);
    assert_true(st.decode_events[0] >= 14); /* truncated ethernet */
    dbg_sensor_finish(f->sensor);
}

static void test_port_scan_window(void **state)
{
    sensor_fixture *f = *state;
    f->rules.trw_enabled = 0;
    sensor_restart(f, NULL);
    tpkt p;
    for (int port = 1; port <= 20; port++) {
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port, 0x02, 0);
        feed(f, &p, T0 + port * 1000);
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port, 0x02, 0);
        feed(f, &p, T0 + port * 1000 + 1); /* retransmission: not another port */
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "port_scan"), 1);
    const dbg_alert *a = find_type(f, "port_scan");
    assert_string_equal(a->src.ip, "192.168.2.154");
    assert_string_equal(a->dst.ip, "192.168.2.22");
    assert_string_equal(a->clause, "8.2.3.2b"); /* no inventory: not known as a tenant VM */
    assert_true(a->packets == 15);
    assert_non_null(strstr(a->evidence, "15 unique ports"));
    assert_int_equal(count_type(f, "host_sweep"), 0);
}

/* nmap -sF / -sN / -sX: segments with none of SYN, ACK, RST are probes (no connection sends
 * one) and count toward port_scan and host_sweep; ACK and FIN|ACK probes do not (a connection
 * seen mid-way sends those), nor do they reach TRW, which judges SYNs by their SYN-ACK. */
static void test_stealth_scans(void **state)
{
    sensor_fixture *f = *state;
    static const uint8_t scan_flags[] = {0x01, 0x00, 0x29}; /* FIN, NULL, Xmas */
    char ip[32];
    tpkt p;
    for (size_t k = 0; k < sizeof(scan_flags); k++) {
        sensor_restart(f, NULL);
        for (int port = 1; port <= 20; port++) {
            t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port,
                  scan_flags[k], 0);
            feed(f, &p, T0 + port * 1000);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(count_type(f, "port_scan"), 1);
        assert_non_null(strstr(find_type(f, "port_scan")->evidence, "15 unique ports"));
    }
    sensor_restart(f, NULL);
    for (int i = 1; i <= 30; i++) {
        snprintf(ip, sizeof(ip), "192.168.3.%d", i);
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, ip, 445, 0x01, 0);
        feed(f, &p, T0 + i * 1000);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    assert_int_equal(count_type(f, "port_scan"), 0);
    static const uint8_t midway_flags[] = {0x10, 0x11, 0x18};
    for (size_t k = 0; k < sizeof(midway_flags); k++) {
        sensor_restart(f, NULL);
        for (int port = 1; port <= 40; port++) {
            t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port,
                  midway_flags[k], 0);
            feed(f, &p, T0 + port * 1000);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(f->alerts.n, 0);
    }
}

/* Floods of TCP segments without SYN (tcp_flood): ACK, RST, FIN|ACK and SYN-ACK floods from
 * one source at one target, 2000 a second, each from a new source port (hping3's default);
 * SYN-ACKs reflected at a victim from many sources, which the victim resets (replies, not
 * counted); one tuple flooded with ACKs the target resets. None of them raised anything. */
static void test_tcp_flood(void **state)
{
    sensor_fixture *f = *state;
    static const uint8_t flood_flags[] = {0x10, 0x04, 0x11, 0x12};
    tpkt p;
    for (size_t k = 0; k < sizeof(flood_flags); k++) {
        sensor_restart(f, NULL);
        for (int i = 0; i < 1500; i++) {
            t_tcp(&p, MA, MB, -1, "10.0.1.10", (uint16_t)(1024 + i), "10.0.2.10", 80,
                  flood_flags[k], 0);
            feed(f, &p, T0 + i * 500);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(count_type(f, "tcp_flood"), 1);
        const dbg_alert *a = find_type(f, "tcp_flood");
        assert_string_equal(a->src.ip, "10.0.1.10");
        assert_string_equal(a->dst.ip, "10.0.2.10");
        assert_int_equal(a->dst.port, 80);
        assert_true(a->packets == 1000);
        assert_string_equal(a->clause, "8.2.3.2b");
        assert_non_null(strstr(a->evidence, "1000 TCP (no SYN, outside any connection) packets"));
        assert_int_equal(count_type(f, "syn_flood") + count_type(f, "port_scan"), 0);
    }
    /* reflection: SYN-ACKs from 1500 reflectors at one victim, which resets each */
    sensor_restart(f, NULL);
    char ip[32];
    for (int i = 0; i < 1500; i++) {
        snprintf(ip, sizeof(ip), "172.%d.%d.%d", 16 + i % 8, i / 250, 1 + i % 250);
        t_tcp(&p, MB, MA, -1, ip, 80, "10.0.1.10", (uint16_t)(2000 + i), 0x12, 0);
        feed(f, &p, T0 + i * 500);
        t_tcp(&p, MA, MB, -1, "10.0.1.10", (uint16_t)(2000 + i), ip, 80, 0x04, 0);
        feed(f, &p, T0 + i * 500 + 100);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "tcp_flood"), 1);
    const dbg_alert *a = find_type(f, "tcp_flood");
    assert_string_equal(a->src.ip, "");
    assert_string_equal(a->dst.ip, "10.0.1.10");
    assert_non_null(strstr(a->evidence, "from many (spoofed?) sources"));
    /* one tuple: 1500 ACKs, each reset by the target */
    sensor_restart(f, NULL);
    for (int i = 0; i < 1500; i++) {
        t_tcp(&p, MA, MB, -1, "10.0.1.10", 3333, "10.0.2.10", 443, 0x10, 0);
        feed(f, &p, T0 + i * 500);
        t_tcp(&p, MB, MA, -1, "10.0.2.10", 443, "10.0.1.10", 3333, 0x04, 0);
        feed(f, &p, T0 + i * 500 + 100);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "tcp_flood"), 1);
    assert_int_equal(count_type(f, "port_scan") + count_type(f, "syn_flood"), 0);
}

/* Heavy TCP that is not a flood: a bulk transfer in a connection the sensor saw open (5000
 * segments a second each way), and 300 connections the sensor starts in the middle of (each
 * sends 8 segments before its peer's first answer: 2400 segments at one server in 0.6 s, more
 * than flood.tcp_packets, taken back as each connection answers). */
static void test_tcp_flood_not_connections(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    handshake_open(f, "10.0.1.10", MA, "10.0.2.10", MB, 40000, 8080, T0);
    for (int i = 0; i < 5000; i++) {
        t_tcp(&p, MB, MA, -1, "10.0.2.10", 8080, "10.0.1.10", 40000, 0x18, 1200);
        feed(f, &p, T0 + 1000 + i * 200);
        t_tcp(&p, MA, MB, -1, "10.0.1.10", 40000, "10.0.2.10", 8080, 0x10, 0);
        feed(f, &p, T0 + 1000 + i * 200 + 100);
    }
    for (int c = 0; c < 300; c++) {
        int64_t t = T0 + 2000000 + c * 2000;
        for (int i = 0; i < 8; i++) {
            t_tcp(&p, MA, MB, -1, "10.0.1.20", (uint16_t)(30000 + c), "10.0.2.20", 443, 0x18, 100);
            feed(f, &p, t + i * 100);
        }
        t_tcp(&p, MB, MA, -1, "10.0.2.20", 443, "10.0.1.20", (uint16_t)(30000 + c), 0x10, 0);
        feed(f, &p, t + 900);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

/* nmap -sA (ACK) and -sM (FIN|ACK): probes the targets reset are port_scan / host_sweep;
 * connections seen mid-way (answered with an ACK) to as many ports are not. */
static void test_ack_maimon_scans(void **state)
{
    sensor_fixture *f = *state;
    static const uint8_t probe_flags[] = {0x10, 0x11};
    char ip[32];
    tpkt p;
    for (size_t k = 0; k < sizeof(probe_flags); k++) {
        sensor_restart(f, NULL);
        for (int port = 1; port <= 20; port++) {
            t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port,
                  probe_flags[k], 0);
            feed(f, &p, T0 + port * 1000);
            t_tcp(&p, MB, MA, -1, "192.168.2.22", (uint16_t)port, "192.168.2.154", 40000, 0x04,
                  0);
            feed(f, &p, T0 + port * 1000 + 100);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(count_type(f, "port_scan"), 1);
        const dbg_alert *a = find_type(f, "port_scan");
        assert_string_equal(a->src.ip, "192.168.2.154");
        assert_string_equal(a->dst.ip, "192.168.2.22");
        assert_non_null(strstr(a->evidence, "15 unique ports"));
    }
    sensor_restart(f, NULL);
    for (int i = 1; i <= 30; i++) {
        snprintf(ip, sizeof(ip), "192.168.3.%d", i);
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, ip, 445, 0x10, 0);
        feed(f, &p, T0 + i * 1000);
        t_tcp(&p, MB, MA, -1, ip, 445, "192.168.2.154", 40000, 0x04, 0);
        feed(f, &p, T0 + i * 1000 + 100);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    assert_string_equal(find_type(f, "host_sweep")->src.ip, "192.168.2.154");
    /* connections to 40 ports and 40 hosts, seen mid-way: answered, not reset */
    sensor_restart(f, NULL);
    for (int i = 1; i <= 40; i++) {
        snprintf(ip, sizeof(ip), "192.168.4.%d", i);
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)i, 0x10, 0);
        feed(f, &p, T0 + i * 1000);
        t_tcp(&p, MB, MA, -1, "192.168.2.22", (uint16_t)i, "192.168.2.154", 40000, 0x18, 50);
        feed(f, &p, T0 + i * 1000 + 100);
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40001, ip, 443, 0x11, 0);
        feed(f, &p, T0 + i * 1000 + 200);
        t_tcp(&p, MB, MA, -1, ip, 443, "192.168.2.154", 40001, 0x11, 0);
        feed(f, &p, T0 + i * 1000 + 300);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

/* The first fragment of a TCP segment cut inside its header (nmap -f: 8 bytes, ports and
 * sequence number; --mtu 16: the flags too), untagged IPv4: no stack sends one. */
static void t_tiny_first_fragment(tpkt *p, const char *src, const char *dst, uint16_t dport,
                                  size_t tcp_bytes)
{
    t_tcp(p, MA, MB, -1, src, 40000, dst, dport, 0x02, 0);
    p->b[14 + 2] = 0, p->b[14 + 3] = (uint8_t)(20 + tcp_bytes); /* total length */
    p->b[14 + 6] = 0x20, p->b[14 + 7] = 0;                      /* MF, offset 0 */
    p->len = 14 + 20 + tcp_bytes;
}

/* Scans in tiny fragments were decode errors only (truncated_l4): nothing was raised. */
static void test_tiny_fragment_scans(void **state)
{
    sensor_fixture *f = *state;
    static const size_t sizes[] = {8, 16};
    tpkt p;
    for (size_t k = 0; k < 2; k++) {
        sensor_restart(f, NULL);
        for (int port = 1; port <= 20; port++) {
            t_tiny_first_fragment(&p, "192.168.2.154", "192.168.2.22", (uint16_t)port, sizes[k]);
            feed(f, &p, T0 + port * 1000);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(count_type(f, "port_scan"), 1);
        dbg_sensor_stats st;
        dbg_sensor_get_stats(f->sensor, &st);
        assert_int_equal(st.decode_events[DEC_EV_TRUNC_L4], 20); /* still said */
    }
    /* a segment cut short by the capture (no MF) is not a probe */
    sensor_restart(f, NULL);
    for (int port = 1; port <= 20; port++) {
        t_tiny_first_fragment(&p, "192.168.2.154", "192.168.2.22", (uint16_t)port, 16);
        p.b[14 + 6] = 0;
        feed(f, &p, T0 + port * 1000);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

static void test_host_sweep_and_backscatter(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    char ip[32];
    /* backscatter: SYN-ACKs and resets to 200 hosts from one victim is not a scan */
    for (int i = 0; i < 200; i++) {
        snprintf(ip, sizeof(ip), "192.150.%d.%d", 186 + i / 200, 1 + i % 200);
        t_tcp(&p, MA, MB, -1, "202.229.120.98", 80, ip, (uint16_t)(2000 + i), 0x12, 0);
        feed(f, &p, T0 + i * 1000);
        t_tcp(&p, MB, MA, -1, ip, (uint16_t)(2000 + i), "202.229.120.98", 80, 0x04, 0);
        feed(f, &p, T0 + i * 1000 + 10);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);

    f->rules.trw_enabled = 0;
    sensor_restart(f, NULL);
    for (int i = 0; i < 30; i++) {
        snprintf(ip, sizeof(ip), "10.10.%d.%d", i, i + 1);
        t_tcp(&p, MA, MB, -1, "176.192.150.3", (uint16_t)(50000 + i), ip, 445, 0x02, 0);
        feed(f, &p, T0 + i * 1000000LL);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    const dbg_alert *a = find_type(f, "host_sweep");
    assert_string_equal(a->src.ip, "176.192.150.3");
    assert_int_equal(a->dst.port, 445);
    assert_true(a->last_us - a->first_us == 24 * 1000000LL);
}

/* ARP requests from mac/spa for n distinct addresses of 10.0.1.0/24, one a second. */
static void arp_sweep(sensor_fixture *f, const char *mac, const char *spa, int n, int64_t t0)
{
    tpkt p;
    char ip[32];
    for (int i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        t_arp(&p, mac, "ff:ff:ff:ff:ff:ff", 1, mac, spa, "00:00:00:00:00:00", ip);
        feed(f, &p, t0 + i * 1000000LL);
        t_arp(&p, mac, "ff:ff:ff:ff:ff:ff", 1, mac, spa, "00:00:00:00:00:00", ip);
        feed(f, &p, t0 + i * 1000000LL + 1000); /* a retry: not another host */
    }
}

static void test_arp_sweep(void **state)
{
    sensor_fixture *f = *state;
    arp_sweep(f, MA, "10.0.1.10", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 1);
    const dbg_alert *a = find_type(f, "host_sweep");
    assert_string_equal(a->src.ip, "10.0.1.10");
    assert_string_equal(a->src.vm_name, "vm-a");
    assert_string_equal(a->src.tenant, "t1");
    assert_string_equal(a->clause, "8.2.3.2a");
    assert_non_null(strstr(a->extra_json, "\"method\":\"arp\""));
    assert_non_null(strstr(a->evidence, "ARP requests for at least 25 unique hosts"));
    assert_true(a->last_us - a->first_us == 24 * 1000000LL);

    /* below the threshold */
    sensor_restart(f, f->inv);
    arp_sweep(f, MA, "10.0.1.10", 20, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);

    /* gratuitous ARP (sender == target) asks for nobody else; a probe (sender 0.0.0.0) for
     * the VM's own address is duplicate address detection */
    sensor_restart(f, f->inv);
    tpkt p;
    char ip[32];
    for (int i = 0; i < 40; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        t_arp(&p, MA, "ff:ff:ff:ff:ff:ff", 1, MA, ip, "00:00:00:00:00:00", ip);
        feed(f, &p, T0 + i * 1000000LL);
        t_arp(&p, MA, "ff:ff:ff:ff:ff:ff", 1, MA, "0.0.0.0", "00:00:00:00:00:00", "10.0.1.10");
        feed(f, &p, T0 + i * 1000000LL + 1000);
    }
    /* 24 requests for others and a gratuitous ARP for its own address: 24 hosts, not 25 */
    arp_sweep(f, MC, "10.0.1.11", 24, T0 + 50 * 1000000LL);
    t_arp(&p, MC, "ff:ff:ff:ff:ff:ff", 1, MC, "10.0.1.11", "00:00:00:00:00:00", "10.0.1.11");
    feed(f, &p, T0 + 80 * 1000000LL);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 0);

    /* the host (the segment's gateway) resolves every VM */
    sensor_restart(f, f->inv);
    arp_sweep(f, MH, "10.0.1.1", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);

    /* the window: 30 targets over 10 minutes is not 25 in 5 */
    sensor_restart(f, f->inv);
    for (int i = 0; i < 30; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        t_arp(&p, MA, "ff:ff:ff:ff:ff:ff", 1, MA, "10.0.1.10", "00:00:00:00:00:00", ip);
        feed(f, &p, T0 + i * 20 * 1000000LL);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

/* ARP requests from mac for n distinct addresses of 10.0.1.0/24, one a second, with sender IP
 * spa, or spa followed by the request's number when spa ends in '.' (a VM hiding its sweep
 * behind changing sender IPs). */
static void arp_sweep_spa(sensor_fixture *f, int iface, const char *mac, const char *spa,
                          int n, int64_t t0)
{
    tpkt p;
    char ip[32], sender[32];
    int numbered = spa[strlen(spa) - 1] == '.';
    for (int i = 0; i < n; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        snprintf(sender, sizeof(sender), "%s%.0d", spa, numbered ? i + 1 : 0);
        t_arp(&p, mac, "ff:ff:ff:ff:ff:ff", 1, mac, sender, "00:00:00:00:00:00", ip);
        dbg_sensor_packet(f->sensor, t0 + i * 1000000LL, p.b, p.len, p.len, iface);
    }
    dbg_sensor_flush(f->sensor);
}

/* A sweep is one station's however it varies the sender IP: counted per sender IP and per
 * station (the VM's port on its tap, else the source MAC), one alert either way. */
static void test_arp_sweep_evasion(void **state)
{
    sensor_fixture *f = *state;
    /* a new sender IP per request (none of them the VM's own): per sender IP each is one host */
    arp_sweep_spa(f, 0, MA, "10.0.3.", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 1);
    const dbg_alert *a = find_type(f, "host_sweep");
    assert_string_equal(a->src.ip, ""); /* the sender IPs are not its own: attributed by MAC */
    assert_string_equal(a->src.mac, MA);
    assert_string_equal(a->src.vm_name, "vm-a");
    assert_string_equal(a->clause, "8.2.3.2a");
    assert_non_null(strstr(a->extra_json, "\"method\":\"arp\""));
    assert_non_null(strstr(a->evidence, "52:54:00:00:00:0a sent ARP requests for at least 25 "
                                        "unique hosts from changing sender IPs, the last "
                                        "10.0.3.25"));

    /* the gateway's address borrowed by a VM: the host's exemption is the host's, not vm-a's */
    sensor_restart(f, f->inv);
    arp_sweep_spa(f, 0, MA, "10.0.1.1", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    assert_string_equal(find_type(f, "host_sweep")->src.vm_name, "vm-a");

    /* a sweep of probes (sender 0.0.0.0): any holder of the target answers one */
    sensor_restart(f, f->inv);
    arp_sweep_spa(f, 0, MA, "0.0.0.0", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    a = find_type(f, "host_sweep");
    assert_string_equal(a->src.mac, MA);
    assert_non_null(strstr(a->evidence, "sent ARP probes (sender 0.0.0.0) for at least 25"));

    /* on vm-a's tap, a new source MAC and sender IP per request is still vm-a's port */
    sensor_restart(f, f->inv);
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0);
    tpkt p;
    char ip[32], spa[32], mac[24];
    for (int i = 0; i < 30; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        snprintf(spa, sizeof(spa), "10.0.4.%d", i);
        snprintf(mac, sizeof(mac), "02:00:00:00:01:%02x", i);
        t_arp(&p, mac, "ff:ff:ff:ff:ff:ff", 1, mac, spa, "00:00:00:00:00:00", ip);
        dbg_sensor_packet(f->sensor, T0 + i * 1000000LL, p.b, p.len, p.len, 1);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    a = find_type(f, "host_sweep");
    assert_string_equal(a->src.mac, MA);
    assert_string_equal(a->src.vm_name, "vm-a");

    /* not sweeps: a VM probing the 40 addresses its port has (duplicate address detection);
     * the host (a learned host MAC) asking from its addresses; 24 changing sender IPs */
    dbg_sensor_inventory *inv = make_inventory();
    char ips[40 * 16] = "";
    for (int i = 0; i < 40; i++)
        snprintf(ips + strlen(ips), sizeof(ips) - strlen(ips), "%s10.0.1.%d", i ? "," : "",
                 100 + i);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, "52:54:00:00:00:0d", ips, "vm-d",
                                                   "uuid-d", "t1", "net1", "vnet3", -1),
                     0);
    sensor_restart(f, inv);
    arp_sweep_spa(f, 0, "52:54:00:00:00:0d", "0.0.0.0", 40, T0);
    t_arp(&p, MH, "ff:ff:ff:ff:ff:ff", 1, MH, "10.0.1.1", "00:00:00:00:00:00", "10.0.1.1");
    feed(f, &p, T0 + 50 * 1000000LL); /* MH learned as the host's */
    arp_sweep_spa(f, 0, MH, "10.0.9.", 30, T0 + 51 * 1000000LL);
    arp_sweep_spa(f, 0, MC, "10.0.5.", 24, T0 + 90 * 1000000LL);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 0);
    sensor_restart(f, f->inv);
    dbg_sensor_inventory_free(inv);

    /* without an inventory the station is the source MAC */
    sensor_restart(f, NULL);
    arp_sweep_spa(f, 0, MB, "192.168.7.", 30, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);
    assert_string_equal(find_type(f, "host_sweep")->src.mac, MB);
}

/* A VM's port is one station whatever VLAN tags its requests carry (a VM on a trunk, or on a
 * bridge that forwards tagged frames): a sweep spread over VLANs is still one sweeper. The
 * same address on two VLANs is two hosts. */
static void test_arp_sweep_vlans(void **state)
{
    sensor_fixture *f = *state;
    static const int vlans[3] = {-1, 10, 20};
    tpkt p;
    char ip[32];
    for (int tap = 0; tap < 2; tap++) {
        sensor_restart(f, f->inv);
        if (tap) /* on vm-a's tap, from MACs not its own */
            assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0);
        const char *mac = tap ? "02:00:00:00:07:01" : MA;
        for (int i = 0; i < 30; i++) { /* 10 hosts on each of 3 VLANs: none reaches 25 alone */
            snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
            t_arp_vlan(&p, mac, "ff:ff:ff:ff:ff:ff", vlans[i % 3], 1, mac, "10.0.1.10",
                       "00:00:00:00:00:00", ip);
            dbg_sensor_packet(f->sensor, T0 + i * 1000000LL, p.b, p.len, p.len, tap);
        }
        dbg_sensor_finish(f->sensor);
        assert_int_equal(count_type(f, "host_sweep"), 1);
        const dbg_alert *a = find_type(f, "host_sweep");
        assert_string_equal(a->src.vm_name, "vm-a");
        assert_non_null(strstr(a->evidence, "at least 25 unique hosts"));
    }

    /* one address asked on 25 VLANs is 25 hosts, each behind its own VLAN */
    sensor_restart(f, f->inv);
    for (int i = 0; i < 25; i++) {
        t_arp_vlan(&p, MA, "ff:ff:ff:ff:ff:ff", 100 + i, 1, MA, "10.0.1.10", "00:00:00:00:00:00",
                   "10.0.1.200");
        dbg_sensor_packet(f->sensor, T0 + i * 1000000LL, p.b, p.len, p.len, 0);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 1);

    /* an unknown MAC stays one station per VLAN (a router's subinterfaces share one MAC) */
    sensor_restart(f, f->inv);
    for (int i = 0; i < 30; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 100 + i);
        t_arp_vlan(&p, "02:00:00:00:07:02", "ff:ff:ff:ff:ff:ff", vlans[i % 3], 1,
                   "02:00:00:00:07:02", "10.0.7.1", "00:00:00:00:00:00", ip);
        dbg_sensor_packet(f->sensor, T0 + i * 1000000LL, p.b, p.len, p.len, 0);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "host_sweep"), 0);
    sensor_restart(f, f->inv);
}

static void test_trw(void **state)
{
    sensor_fixture *f = *state;
    f->rules.port_scan_ports = 1000;
    f->rules.host_sweep_hosts = 1000;
    sensor_restart(f, NULL);
    tpkt p;
    char ip[32];
    /* a benign client: 10 first contacts, all answered */
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
        t_tcp(&p, MA, MB, -1, "10.9.9.9", (uint16_t)(30000 + i), ip, 80, 0x02, 0);
        feed(f, &p, T0 + i * 1000);
        t_tcp(&p, MB, MA, -1, ip, 80, "10.9.9.9", (uint16_t)(30000 + i), 0x12, 0);
        feed(f, &p, T0 + i * 1000 + 100);
    }
    /* a scanner: 4 refused, 2 unanswered (time out) */
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof(ip), "10.2.0.%d", i + 1);
        t_tcp(&p, MA, MB, -1, "10.8.8.8", (uint16_t)(30000 + i), ip, 23, 0x02, 0);
        feed(f, &p, T0 + 20000 + i * 1000);
        if (i < 3) {
            t_tcp(&p, MB, MA, -1, ip, 23, "10.8.8.8", (uint16_t)(30000 + i), 0x14, 0);
            feed(f, &p, T0 + 20000 + i * 1000 + 100);
        }
    }
    assert_int_equal(f->alerts.n, 0); /* 3 failures: ratio 64 < 99 */
    /* time passes: the unanswered contacts fail */
    dbg_sensor_tick(f->sensor, T0 + 10 * 1000000LL);
    assert_int_equal(f->alerts.n, 1);
    assert_string_equal(f->alerts.a[0].type, "host_sweep");
    assert_string_equal(f->alerts.a[0].src.ip, "10.8.8.8");
    assert_non_null(strstr(f->alerts.a[0].evidence, "TRW"));
    assert_non_null(strstr(f->alerts.a[0].extra_json, "\"method\":\"trw\""));
    /* the traffic volume (8.2.3.2d) is what the scanner sent on its six probes (54-byte SYNs),
     * from its first probe on */
    assert_int_equal(f->alerts.a[0].packets, 6);
    assert_int_equal(f->alerts.a[0].bytes, 6 * 54);
    assert_int_equal(f->alerts.a[0].first_us, T0 + 20000);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 1);
}

/* A first contact's outcome counts for its source even when the source's host entry was evicted
 * (and the entry reused by another host) before the answer came: the outcome finds the source's
 * entry again by its address, never the entry's new owner. */
static void test_trw_host_evicted_before_outcome(void **state)
{
    sensor_fixture *f = *state;
    f->rules.port_scan_ports = 1000;
    f->rules.host_sweep_hosts = 1000;
    f->rules.max_hosts = 64; /* 8 buckets of 8 */
    sensor_restart(f, NULL);
    tpkt p;
    char ip[32];
    int64_t t = T0;
    /* the scanner's 8 first contacts, not answered yet */
    for (int i = 0; i < 8; i++) {
        snprintf(ip, sizeof(ip), "10.2.0.%d", i + 1);
        t_tcp(&p, MA, MB, -1, "10.8.8.8", (uint16_t)(30000 + i), ip, 23, 0x02, 0);
        feed(f, &p, t += 3000);
    }
    /* 100 other sources, one answered contact each: every older host entry is evicted and its
     * entry reused */
    for (int i = 0; i < 100; i++) {
        snprintf(ip, sizeof(ip), "10.60.%d.%d", i / 200, i % 200 + 1);
        t_tcp(&p, MC, MB, -1, ip, 40000, "10.3.0.1", 80, 0x02, 0);
        feed(f, &p, t += 3000);
        t_tcp(&p, MB, MC, -1, "10.3.0.1", 80, ip, 40000, 0x12, 0);
        feed(f, &p, t += 100);
    }
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.state_evictions >= 100 - 64);
    /* the scanner contacts once more (its host entry is made again), then all nine are refused */
    t_tcp(&p, MA, MB, -1, "10.8.8.8", 30008, "10.2.0.9", 23, 0x02, 0);
    feed(f, &p, t += 3000);
    for (int i = 0; i < 9; i++) {
        snprintf(ip, sizeof(ip), "10.2.0.%d", i + 1);
        t_tcp(&p, MB, MA, -1, ip, 23, "10.8.8.8", (uint16_t)(30000 + i), 0x14, 0);
        feed(f, &p, t += 100);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 1);
    assert_string_equal(f->alerts.a[0].src.ip, "10.8.8.8");
    assert_non_null(strstr(f->alerts.a[0].extra_json, "\"method\":\"trw\""));
    /* the walk that crossed is the scanner's new entry (one contact, four failures: 4 x log 4 >
     * log 99), not the entry's new owner (one success before: five failures) */
    assert_non_null(strstr(f->alerts.a[0].evidence, "after 1 first contacts, 4 failed"));
}

/* A port scan found by the window threshold and by TRW is one incident of two occurrences whose
 * packet counts both start at the scan's first probe: the summary's volume is the probes sent,
 * not their sum (which counted the first probes twice). */
static void test_scan_incident_volume(void **state)
{
    sensor_fixture *f = *state;
    f->rules.port_scan_ports = 10;
    sensor_restart(f, NULL);
    tpkt p;
    for (int port = 1; port <= 30; port++) {
        t_tcp(&p, MA, MB, -1, "192.168.2.154", 40000, "192.168.2.22", (uint16_t)port, 0x02, 0);
        feed(f, &p, T0 + port * 1000);
        t_tcp(&p, MB, MA, -1, "192.168.2.22", (uint16_t)port, "192.168.2.154", 40000, 0x14, 0);
        feed(f, &p, T0 + port * 1000 + 100);
    }
    dbg_sensor_finish(f->sensor);
    const dbg_alert *summary = NULL;
    for (size_t i = 0; i < f->alerts.n; i++)
        if (!strcmp(f->alerts.a[i].type, "port_scan") && f->alerts.a[i].count == 2)
            summary = &f->alerts.a[i];
    assert_non_null(summary); /* window and TRW: one incident */
    if (!summary)
        return;
    assert_int_equal(summary->first_us, T0 + 1000);
    /* TRW after 4 refused probes, the window at the 10th: the incident spans 10 probes */
    assert_int_equal(summary->last_us, T0 + 10 * 1000);
    assert_int_equal(summary->packets, 10);
    assert_int_equal(summary->bytes, 10 * 54);
}

static void test_syn_flood(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    for (int i = 0; i < 1200; i++) {
        t_tcp(&p, MA, MB, -1, "10.0.1.10", (uint16_t)(1024 + i), "10.0.2.10", 80, 0x02, 0);
        feed(f, &p, T0 + i * 500); /* 2000 SYN/s */
    }
    /* a spoofed flood at another target: per target only */
    for (int i = 0; i < 600; i++) {
        char ip[32];
        snprintf(ip, sizeof(ip), "172.%d.%d.%d", 16 + i % 8, i / 250, 1 + i % 250);
        t_tcp(&p, MA, MC, -1, ip, 1000, "10.0.1.11", 443, 0x02, 0);
        feed(f, &p, T0 + 700000 + i * 100);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "syn_flood"), 2);
    const dbg_alert *a = find_type(f, "syn_flood");
    assert_string_equal(a->src.ip, "10.0.1.10");
    assert_string_equal(a->dst.ip, "10.0.2.10");
    assert_true(a->packets == 500);
    assert_string_equal(f->alerts.a[1].src.ip, "");
    assert_string_equal(f->alerts.a[1].dst.ip, "10.0.1.11");
    assert_int_equal(count_type(f, "port_scan") + count_type(f, "brute_force"), 0);
}

/* A fast SYN scan is the port scan, not a flood; a SYN flood on one port from the same source
 * after it (scan, then attack what answered) is a flood: the scan counter reaching the port
 * threshold earlier in its 5-minute window does not make every later SYN burst a scan. */
static void test_syn_flood_after_port_scan(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    for (int i = 0; i < 1000; i++) { /* 1000 ports in 0.5 s */
        t_tcp(&p, MA, MB, -1, "10.0.1.10", 40000, "10.0.2.10", (uint16_t)(1 + i), 0x02, 0);
        feed(f, &p, T0 + i * 500);
    }
    for (int i = 0; i < 1200; i++) { /* 3 s later: 2000 SYN/s to port 80 */
        t_tcp(&p, MA, MB, -1, "10.0.1.10", (uint16_t)(1024 + i), "10.0.2.10", 80, 0x02, 0);
        feed(f, &p, T0 + 3000000 + i * 500);
    }
    dbg_sensor_finish(f->sensor);
    assert_true(count_type(f, "port_scan") >= 1);
    assert_int_equal(count_type(f, "syn_flood"), 1);
    const dbg_alert *a = find_type(f, "syn_flood");
    assert_string_equal(a->src.ip, "10.0.1.10");
    assert_string_equal(a->dst.ip, "10.0.2.10");
    assert_int_equal(a->dst.port, 80);
    assert_true(a->first_us >= T0 + 3000000);
}

static void test_udp_icmp_flood(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    for (int i = 0; i < 2500; i++) {
        t_udp(&p, MA, MB, -1, "10.0.1.10", 5000, "10.0.2.10", 9, 100);
        feed(f, &p, T0 + i * 100);
    }
    for (int i = 0; i < 600; i++) {
        t_icmp(&p, MA, MB, "10.0.1.10", "10.0.2.10", 8);
        feed(f, &p, T0 + 300000 + i * 100);
        t_icmp(&p, MB, MA, "10.0.2.10", "10.0.1.10", 0); /* replies are not a flood */
        feed(f, &p, T0 + 300000 + i * 100 + 50);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "udp_flood"), 1);
    assert_int_equal(count_type(f, "icmp_flood"), 1);
    assert_string_equal(find_type(f, "icmp_flood")->src.ip, "10.0.1.10");
}

static void test_arp_spoof(void **state)
{
    sensor_fixture *f = *state;
    /* without an inventory: a solicited reply is fine, an unsolicited one is poisoning */
    tpkt p;
    t_arp(&p, MA, "ff:ff:ff:ff:ff:ff", 1, MA, "172.16.0.107", "00:00:00:00:00:00", "172.16.0.1");
    feed(f, &p, T0);
    t_arp(&p, MH, MA, 2, MH, "172.16.0.1", MA, "172.16.0.107");
    feed(f, &p, T0 + 1000);
    /* a gratuitous ARP on its own is benign */
    t_arp(&p, MB, "ff:ff:ff:ff:ff:ff", 1, MB, "172.16.0.50", "ff:ff:ff:ff:ff:ff", "172.16.0.50");
    feed(f, &p, T0 + 2000);
    assert_int_equal(f->alerts.n, 0);
    t_arp(&p, MC, MA, 2, MC, "172.16.0.1", MA, "172.16.0.107");
    feed(f, &p, T0 + 10 * 1000000LL);
    assert_int_equal(f->alerts.n, 1);
    assert_string_equal(f->alerts.a[0].type, "arp_spoof");
    assert_string_equal(f->alerts.a[0].src.mac, MC);
    assert_string_equal(f->alerts.a[0].dst.ip, "172.16.0.1");
    assert_string_equal(f->alerts.a[0].clause, "8.2.3.2b");

    /* with an inventory: vm-c claims vm-a's address in a gratuitous ARP */
    f->inv = make_inventory();
    sensor_restart(f, f->inv);
    t_arp(&p, MC, "ff:ff:ff:ff:ff:ff", 1, MC, "10.0.1.10", "ff:ff:ff:ff:ff:ff", "10.0.1.10");
    feed(f, &p, T0);
    feed(f, &p, T0 + 1000); /* repeats fold into the incident */
    assert_int_equal(f->alerts.n, 1);
    assert_string_equal(f->alerts.a[0].type, "arp_spoof");
    assert_string_equal(f->alerts.a[0].src.vm_name, "vm-c");
    assert_string_equal(f->alerts.a[0].src.tenant, "t1");
    assert_string_equal(f->alerts.a[0].dst.vm_name, "vm-a");
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.incidents_folded == 1);
    /* the incident closes at the end with its count */
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 2);
    assert_string_equal(f->alerts.a[1].type, "arp_spoof");
    assert_true(f->alerts.a[1].count == 2);
    assert_true(f->alerts.a[1].packets == 2);
    assert_non_null(strstr(f->alerts.a[1].evidence, "incident summary: 2 occurrences"));
}

static void test_ip_mac_spoof(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    /* legitimate */
    t_udp(&p, MA, MC, -1, "10.0.1.10", 5000, "10.0.1.11", 53, 20);
    feed(f, &p, T0);
    /* the host (gateway) forwarding vm-b's packet onto net1 is not spoofing */
    t_arp(&p, MH, "ff:ff:ff:ff:ff:ff", 1, MH, "10.0.1.1", "00:00:00:00:00:00", "10.0.1.11");
    feed(f, &p, T0 + 10);
    t_udp(&p, MH, MC, -1, "10.0.2.10", 5000, "10.0.1.11", 53, 20);
    feed(f, &p, T0 + 20);
    assert_int_equal(count_type(f, "mac_spoof") + count_type(f, "ip_spoof"), 0);
    assert_int_equal(count_type(f, "cross_tenant"), 1); /* vm-b reached tenant t1 */
    /* vm-a sends from an address it was not given */
    t_udp(&p, MA, MC, -1, "10.0.1.99", 5000, "10.0.1.11", 53, 20);
    feed(f, &p, T0 + 100);
    assert_int_equal(count_type(f, "ip_spoof"), 1);
    assert_string_equal(find_type(f, "ip_spoof")->src.vm_name, "vm-a");
    /* an unknown MAC uses vm-c's address */
    t_udp(&p, "02:00:00:00:00:66", MA, -1, "10.0.1.11", 5000, "10.0.1.10", 53, 20);
    feed(f, &p, T0 + 200);
    assert_int_equal(count_type(f, "mac_spoof"), 1);

    /* on a tap device, the port is known by the interface */
    sensor_restart(f, f->inv);
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0);
    t_udp(&p, "02:00:00:00:00:77", MB, -1, "10.0.1.10", 5000, "10.0.2.10", 53, 20);
    dbg_sensor_packet(f->sensor, T0, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(count_type(f, "mac_spoof"), 1);
    assert_string_equal(f->alerts.a[0].clause, "8.2.3.2b");
}

/* A capture on a VM's tap sees both ways: what the VM sends and what the bridge forwards to it
 * (libpcap does not say which). Before, every frame another VM or the host sent to the VM was
 * taken as the VM's own: a ping from a neighbour was mac_spoof, the platform's DHCP offer
 * rogue_dhcp "from a VM's port". What the VM itself sends is still checked against its port. */
static void test_tap_sees_both_ways(void **state)
{
    sensor_fixture *f = *state;
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0); /* vm-a's tap */
    tpkt p;
    int64_t t = T0;
    /* forwarded to vm-a: vm-c's unicast and broadcast, the host's ARP and DHCP offer */
    t_udp(&p, MC, MA, -1, "10.0.1.11", 5000, "10.0.1.10", 53, 20);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    t_udp(&p, MC, "ff:ff:ff:ff:ff:ff", -1, "10.0.1.11", 5000, "10.0.1.255", 137, 20);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    t_udp(&p, MH, MA, -1, "10.0.1.1", 53, "10.0.1.10", 5000, 20);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    t_dhcp(&p, MH, "10.0.1.1", 2);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 0);
    /* sent by vm-a: another MAC, an address not its own, a DHCP offer */
    t_udp(&p, "02:00:00:00:00:77", "ff:ff:ff:ff:ff:ff", -1, "10.0.1.10", 5000, "10.0.1.255",
          137, 20);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    t_udp(&p, MA, MC, -1, "10.0.1.99", 5000, "10.0.1.11", 53, 20);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    t_dhcp(&p, MA, "10.0.1.10", 2);
    dbg_sensor_packet(f->sensor, t += 10, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(count_type(f, "mac_spoof"), 1);
    assert_int_equal(count_type(f, "ip_spoof"), 1);
    assert_string_equal(find_type(f, "ip_spoof")->src.vm_name, "vm-a");
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_string_equal(find_type(f, "rogue_dhcp")->src.vm_name, "vm-a");
    assert_int_equal(f->alerts.n, 3);
}

/* The tap's host side sends on it too: the kernel's IPv6 router solicitation (and MLD reports)
 * from the tap's own MAC and link-local when it comes up with the VM. That was mac_spoof
 * against the VM at every start. */
static void test_tap_own_mac(void **state)
{
    sensor_fixture *f = *state;
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0); /* vm-a's tap */
    uint8_t tap_mac[6] = {0xfe, 0x54, 0x00, 0x00, 0x00, 0x0a};
    sn_set_iface_macs(f->sensor, 1, tap_mac, NULL);
    tpkt p;
    t_udp6(&p, "fe:54:00:00:00:0a", "33:33:00:00:00:02", "fe80::fc54:ff:fe00:a", 5000,
           "ff02::2", 5000, 0, 8);
    dbg_sensor_packet(f->sensor, T0, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 0);
    /* vm-a using another MAC is still its own frame */
    t_udp6(&p, "02:00:00:00:00:77", "33:33:00:00:00:02", "fe80::ff:fe00:77", 5000, "ff02::2",
           5000, 0, 8);
    dbg_sensor_packet(f->sensor, T0 + 10, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(count_type(f, "mac_spoof"), 1);
    assert_string_equal(find_type(f, "mac_spoof")->src.mac, "02:00:00:00:00:77");
}

/* What the unit tests' "sysfs" says the bridge's MAC is, for the reader below. */
static uint8_t fake_bridge_mac[6];
static int fake_reads;
static void fake_iface_macs(dbg_sensor *s, int iface, const char *name)
{
    static const uint8_t tap_mac[6] = {0xfe, 0x54, 0x00, 0x00, 0x00, 0x0a};
    assert_string_equal(name, "vnet0");
    fake_reads++;
    sn_set_iface_macs(s, iface, tap_mac, fake_bridge_mac);
}

/* The host bridge a tap is a port of sends on it too: its IPv6 router and neighbour
 * solicitations and MLD reports from its own MAC and link-local (which the inventory seldom
 * lists). That was mac_spoof against the VM. The bridge's MAC is known when the capture opens;
 * when it changes (a bridge takes its ports' lowest MAC) or the tap joins a bridge later, the
 * first frame from the unknown MAC has the capture read them again. */
static void test_tap_bridge_mac(void **state)
{
    sensor_fixture *f = *state;
    assert_int_equal(dbg_sensor_set_iface(f->sensor, 1, "vnet0"), 0); /* vm-a's tap */
    const uint8_t tap_mac[6] = {0xfe, 0x54, 0x00, 0x00, 0x00, 0x0a};
    const uint8_t br_mac[6] = {0x02, 0x00, 0x00, 0x00, 0xb0, 0x01};
    sn_set_iface_macs(f->sensor, 1, tap_mac, br_mac);
    tpkt p;
    t_udp6(&p, "02:00:00:00:b0:01", "33:33:00:00:00:02", "fe80::ff:fe00:b001", 5000, "ff02::2",
           5000, 0, 8);
    dbg_sensor_packet(f->sensor, T0, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 0);

    /* the bridge's MAC changed since: read again when its first frame is processed */
    memcpy(fake_bridge_mac, (const uint8_t[6]){0x02, 0x00, 0x00, 0x00, 0xb0, 0x02}, 6);
    fake_reads = 0;
    sn_set_iface_macs_reader(f->sensor, fake_iface_macs);
    t_udp6(&p, "02:00:00:00:b0:02", "33:33:00:00:00:02", "fe80::ff:fe00:b001", 5000, "ff02::2",
           5000, 0, 8);
    dbg_sensor_packet(f->sensor, T0 + 1000000, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 0);
    assert_int_equal(fake_reads, 1);
    /* a frame the bridge sent before the change, processed after it was read */
    t_udp6(&p, "02:00:00:00:b0:01", "33:33:00:00:00:02", "fe80::ff:fe00:b001", 5000, "ff02::2",
           5000, 0, 8);
    dbg_sensor_packet(f->sensor, T0 + 1500000, p.b, p.len, p.len, 1);
    dbg_sensor_flush(f->sensor);
    assert_int_equal(f->alerts.n, 0);

    /* vm-a sending from another MAC is still caught, also from the bridge's old MAC 2 s after
     * the change; a burst of such frames has the MACs read at most every 100 ms */
    for (int i = 0; i < 20; i++) {
        t_udp6(&p, i % 2 ? "02:00:00:00:00:77" : "02:00:00:00:b0:01", "33:33:00:00:00:02",
               i % 2 ? "fe80::ff:fe00:77" : "fe80::ff:fe00:b001", 5000, "ff02::2", 5000, 0, 8);
        dbg_sensor_packet(f->sensor, T0 + 3100000 + i * 10000, p.b, p.len, p.len, 1);
    }
    dbg_sensor_flush(f->sensor);
    assert_int_equal(count_type(f, "mac_spoof"), 2); /* one incident per source */
    assert_true(fake_reads >= 2 && fake_reads <= 3);
}

static void test_rogue_dhcp(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    t_dhcp(&p, MH, "10.0.1.1", 2);
    feed(f, &p, T0);
    t_dhcp(&p, MH, "10.0.1.1", 5);
    feed(f, &p, T0 + 10);
    assert_int_equal(f->alerts.n, 0);
    t_dhcp(&p, MC, "10.0.1.11", 2);
    feed(f, &p, T0 + 20);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_string_equal(f->alerts.a[0].src.vm_name, "vm-c");

    /* no inventory: the first server is trusted, a second one is rogue */
    sensor_restart(f, NULL);
    t_dhcp(&p, MH, "192.168.0.1", 2);
    feed(f, &p, T0);
    assert_int_equal(f->alerts.n, 0);
    t_dhcp(&p, MB, "192.168.0.66", 2);
    feed(f, &p, T0 + 10);
    assert_int_equal(count_type(f, "rogue_dhcp"), 1);
    assert_string_equal(f->alerts.a[0].src.ip, "192.168.0.66");
}

/* a connection opened, one request, then a reset: a login attempt */
static void handshake(sensor_fixture *f, const char *src, const char *smac, const char *dst,
                      const char *dmac, uint16_t sport, uint16_t dport, int64_t t)
{
    tpkt p;
    handshake_open(f, src, smac, dst, dmac, sport, dport, t);
    t_tcp(&p, smac, dmac, -1, src, sport, dst, dport, 0x18, 40);
    feed(f, &p, t + 300);
    t_tcp(&p, smac, dmac, -1, src, sport, dst, dport, 0x04, 0);
    feed(f, &p, t + 400);
}

static void test_brute_force(void **state)
{
    sensor_fixture *f = *state;
    for (int i = 0; i < 19; i++)
        handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, (uint16_t)(40000 + i), 22,
                  T0 + i * 1000000LL);
    assert_int_equal(f->alerts.n, 0);
    handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, 40100, 22, T0 + 30 * 1000000LL);
    assert_int_equal(count_type(f, "brute_force"), 1);
    assert_int_equal(f->alerts.a[0].dst.port, 22);
    assert_true(f->alerts.a[0].packets == 60); /* SYN, SYN-ACK, ACK of each */
    /* 25 connections to a web port are not brute force */
    for (int i = 0; i < 25; i++)
        handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, (uint16_t)(41000 + i), 80,
                  T0 + 40 * 1000000LL + i * 1000);
    assert_int_equal(count_type(f, "brute_force"), 1);
}

static void test_cross_tenant_and_host(void **state)
{
    sensor_fixture *f = *state;
    /* same tenant: fine; host DNS: fine */
    handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, 40000, 80, T0);
    tpkt p;
    t_udp(&p, MA, MH, -1, "10.0.1.10", 5353, "10.0.1.1", 53, 30);
    feed(f, &p, T0 + 1000);
    assert_int_equal(f->alerts.n, 0);
    handshake(f, "10.0.1.10", MA, "10.0.2.10", MB, 40001, 80, T0 + 2000);
    assert_int_equal(count_type(f, "cross_tenant"), 1);
    const dbg_alert *a = find_type(f, "cross_tenant");
    assert_string_equal(a->clause, "8.2.4.3a");
    assert_string_equal(a->src.tenant, "t1");
    assert_string_equal(a->dst.tenant, "t2");
    assert_string_equal(a->dst.vm_name, "vm-b");
    handshake(f, "10.0.1.10", MA, "10.0.1.1", MH, 40002, 16509, T0 + 3000);
    assert_int_equal(count_type(f, "vm_to_host"), 1);
    a = find_type(f, "vm_to_host");
    assert_string_equal(a->clause, "8.2.3.2c");
    assert_int_equal(a->dst.port, 16509);
    assert_string_equal(a->src.vm_name, "vm-a");

    /* allowed tenant pairs are not isolation failures */
    assert_int_equal(dbg_sensor_inventory_allow_tenants(f->inv, "t2", "t1"), 0);
    sensor_restart(f, f->inv);
    handshake(f, "10.0.1.10", MA, "10.0.2.10", MB, 40001, 80, T0);
    assert_int_equal(f->alerts.n, 0);
}

/* A FIN probe across tenants is cross_tenant, and its evidence says it was a probe: it said
 * "opened a TCP connection" for a segment that opens none. */
static void test_cross_tenant_probe_wording(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    t_tcp(&p, MA, MB, -1, "10.0.1.10", 40000, "10.0.2.10", 80, 0x01, 0);
    feed(f, &p, T0);
    t_tcp(&p, MA, MB, -1, "10.0.1.10", 40001, "10.0.2.10", 81, 0x29, 0);
    feed(f, &p, T0 + 1000);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "cross_tenant"), 1); /* one incident: the second folds */
    const dbg_alert *a = find_type(f, "cross_tenant");
    assert_non_null(strstr(a->evidence, "VM vm-a (tenant t1, network net1) sent a TCP probe "
                                        "without SYN (flags FIN) to VM vm-b (tenant t2"));
    assert_null(strstr(a->evidence, "opened"));
    sensor_restart(f, f->inv);
    handshake_open(f, "10.0.1.10", MA, "10.0.2.10", MB, 40002, 80, T0);
    dbg_sensor_finish(f->sensor);
    assert_non_null(strstr(find_type(f, "cross_tenant")->evidence, "opened a TCP connection"));
}

/* Tenants as the platform's metadata gives them: vm-a (id t1, name Acme) ties the name to the
 * id, vm-c names only "Acme", vm-b gives only the id t2, vm-d only the name "Globex". */
static dbg_sensor_inventory *inventory_from_tenant_refs(void)
{
    static char *ips[4][1] = {{"10.0.1.10"}, {"10.0.1.11"}, {"10.0.2.10"}, {"10.0.2.11"}};
    static char *macs[4] = {MA, MC, MB, "52:54:00:00:00:0d"};
    static char *names[4] = {"vm-a", "vm-c", "vm-b", "vm-d"};
    static char *ids[4] = {"t1", NULL, "t2", NULL};
    static char *tnames[4] = {"Acme", "Acme", NULL, "Globex"};
    dbg_iface ifc[4];
    dbg_domain dom[4];
    memset(ifc, 0, sizeof(ifc));
    memset(dom, 0, sizeof(dom));
    for (int i = 0; i < 4; i++) {
        ifc[i] = (dbg_iface){.mac = macs[i], .ips = ips[i], .n_ips = 1, .vlan = -1};
        dom[i] = (dbg_domain){.name = names[i], .tenant_id = ids[i], .tenant_name = tnames[i],
                              .ifaces = &ifc[i], .n_ifaces = 1};
    }
    dbg_snapshot snap;
    memset(&snap, 0, sizeof(snap));
    snap.domains = dom;
    snap.n_domains = 4;
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_from_snapshot(inv, &snap), 0);
    return inv;
}

static int with_tenant_refs(void **state)
{
    return sensor_setup(state, inventory_from_tenant_refs());
}

/* A tenant named only by name is the tenant some other VM ties that name to; where nothing ties
 * the two references, the alert is raised and says they may be one tenant. */
static void test_cross_tenant_by_name_and_id(void **state)
{
    sensor_fixture *f = *state;
    handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, 40000, 80, T0); /* t1 -> Acme: one tenant */
    handshake(f, "10.0.1.11", MC, "10.0.1.10", MA, 40001, 80, T0 + 1000);
    assert_int_equal(count_type(f, "cross_tenant"), 0);
    handshake(f, "10.0.1.11", MC, "10.0.2.10", MB, 40002, 80, T0 + 2000); /* Acme (t1) -> t2 */
    assert_int_equal(count_type(f, "cross_tenant"), 1);
    const dbg_alert *a = find_type(f, "cross_tenant");
    assert_string_equal(a->src.tenant, "t1");
    assert_string_equal(a->dst.tenant, "t2");
    assert_null(strstr(a->evidence, "may be one tenant"));
    sensor_restart(f, f->inv);
    handshake(f, "10.0.2.11", "52:54:00:00:00:0d", "10.0.1.10", MA, 40003, 80, T0);
    assert_int_equal(count_type(f, "cross_tenant"), 1); /* Globex vs t1, named Acme: others */
    assert_null(strstr(find_type(f, "cross_tenant")->evidence, "may be one tenant"));
    sensor_restart(f, f->inv);
    handshake(f, "10.0.2.11", "52:54:00:00:00:0d", "10.0.2.10", MB, 40004, 80, T0);
    assert_int_equal(count_type(f, "cross_tenant"), 1); /* Globex vs t2 (no name): unknown */
    a = find_type(f, "cross_tenant");
    assert_string_equal(a->src.tenant, "Globex");
    assert_non_null(strstr(a->evidence, "may be one tenant"));
}

/* Two tenants reusing one private subnet on their own VLANs: an address is the port's on the
 * frame's VLAN. The first port in the inventory with it took every frame: tenant t2's VMs
 * talking to each other were a cross_tenant from t1's VM, each ARP of theirs an arp_spoof, and
 * their scans t1's. */
static void test_overlapping_subnets(void **state)
{
    sensor_fixture *f = *state;
    static const char A1[] = "52:54:00:0a:00:01", A2[] = "52:54:00:0a:00:02",
                      B1[] = "52:54:00:0b:00:01", B3[] = "52:54:00:0b:00:03";
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, A1, "10.0.0.5", "a1", "u-a1", "t1", "net",
                                                   "tap1", 100),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, A2, "10.0.0.6", "a2", "u-a2", "t1", "net",
                                                   "tap2", 100),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, B1, "10.0.0.5", "b1", "u-b1", "t2", "net",
                                                   "tap3", 200),
                     0);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, B3, "10.0.0.9", "b3", "u-b3", "t2", "net",
                                                   "tap4", 200),
                     0);
    dbg_sensor_inventory_free(f->inv);
    f->inv = inv;
    sensor_restart(f, f->inv);
    tpkt p;
    t_tcp(&p, B1, B3, 200, "10.0.0.5", 40000, "10.0.0.9", 80, 0x02, 0);
    feed(f, &p, T0);
    t_arp_vlan(&p, B1, "ff:ff:ff:ff:ff:ff", 200, 1, B1, "10.0.0.5", "00:00:00:00:00:00",
               "10.0.0.9");
    feed(f, &p, T0 + 1000);
    for (int port = 1; port <= 15; port++) {
        t_tcp(&p, B1, B3, 200, "10.0.0.5", 40001, "10.0.0.9", (uint16_t)(1000 + port), 0x02, 0);
        feed(f, &p, T0 + 2000 + port);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "cross_tenant"), 0);
    assert_int_equal(count_type(f, "arp_spoof"), 0);
    const dbg_alert *a = find_type(f, "port_scan");
    assert_non_null(a);
    assert_string_equal(a->src.vm_name, "b1");
    assert_string_equal(a->src.tenant, "t2");
    /* on VLAN 100 the address is a1's: b1 claiming it there is still spoofing */
    sensor_restart(f, f->inv);
    t_arp_vlan(&p, B1, "ff:ff:ff:ff:ff:ff", 100, 1, B1, "10.0.0.5", "00:00:00:00:00:00",
               "10.0.0.6");
    feed(f, &p, T0);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "arp_spoof"), 1);
}

/* vm-a (t1) scanning vm-c from vm-b's address (t2): the frame is vm-a's (its MAC). Attributed
 * by the address, the scan and the ip_spoof alert named vm-b of t2, and a cross_tenant from
 * vm-b to vm-c was raised that vm-b never opened. */
static void test_spoofed_source_attribution(void **state)
{
    sensor_fixture *f = *state;
    tpkt p;
    for (int port = 1; port <= 15; port++) {
        t_tcp(&p, MA, MC, -1, "10.0.2.10", 40000, "10.0.1.11", (uint16_t)port, 0x02, 0);
        feed(f, &p, T0 + port * 1000);
    }
    dbg_sensor_finish(f->sensor);
    assert_int_equal(count_type(f, "cross_tenant"), 0);
    static const char *const types[] = {"ip_spoof", "port_scan"};
    for (size_t i = 0; i < 2; i++) {
        const dbg_alert *a = find_type(f, types[i]);
        assert_non_null(a);
        assert_string_equal(a->src.vm_name, "vm-a");
        assert_string_equal(a->src.tenant, "t1");
        assert_string_equal(a->src.ip, "10.0.2.10");
    }
    /* a target stays its address's VM: vm-a reaching vm-b (t2) through vm-c (t1) routing */
    sensor_restart(f, f->inv);
    t_tcp(&p, MA, MC, -1, "10.0.1.10", 40001, "10.0.2.10", 80, 0x02, 0);
    feed(f, &p, T0);
    dbg_sensor_finish(f->sensor);
    const dbg_alert *x = find_type(f, "cross_tenant");
    assert_non_null(x);
    assert_string_equal(x->src.vm_name, "vm-a");
    assert_string_equal(x->dst.vm_name, "vm-b");
    assert_string_equal(x->dst.tenant, "t2");
}

static void test_volume_anomaly(void **state)
{
    sensor_fixture *f = *state;
    f->rules.volume_min_bytes = 100000;
    sensor_restart(f, f->inv);
    tpkt p;
    int64_t t = T0;
    /* 30 bins of 10 s with ~10 packets of 1000 bytes each: the baseline */
    for (int bin = 0; bin < 30; bin++) {
        for (int i = 0; i < 10 + bin % 3; i++) {
            t_udp(&p, MA, MC, -1, "10.0.1.10", 5000, "10.0.1.11", 9000, 950);
            feed(f, &p, t + i * 100000LL);
        }
        t += 10 * 1000000LL;
    }
    assert_int_equal(f->alerts.n, 0);
    /* then 2000 packets in one bin */
    for (int i = 0; i < 1000; i++) {
        t_udp(&p, MA, MC, -1, "10.0.1.10", 5000, "10.0.1.11", 9000, 950);
        feed(f, &p, t + i * 5000LL);
    }
    t += 10 * 1000000LL;
    t_udp(&p, MA, MC, -1, "10.0.1.10", 5000, "10.0.1.11", 9000, 950);
    feed(f, &p, t);
    assert_int_equal(count_type(f, "volume_anomaly"), 1);
    const dbg_alert *a = find_type(f, "volume_anomaly");
    assert_string_equal(a->src.vm_name, "vm-a");
    assert_true(a->bytes > 900000);
    assert_string_equal(a->clause, "8.2.3.2c");
}

static void test_worm(void **state)
{
    sensor_fixture *f = *state;
    /* A -> B on 4444, then B -> 6 hosts on 4444 (answered, so not a TRW scanner) */
    handshake(f, "10.0.1.10", MA, "10.0.1.11", MC, 40000, 4444, T0);
    char ip[32];
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 20 + i);
        handshake(f, "10.0.1.11", MC, ip, MB, (uint16_t)(42000 + i), 4444, T0 + (i + 1) * 100000);
    }
    assert_int_equal(count_type(f, "worm_spread"), 1);
    const dbg_alert *a = find_type(f, "worm_spread");
    assert_string_equal(a->src.ip, "10.0.1.11");
    assert_non_null(strstr(a->extra_json, "\"chain\":[\"10.0.1.10\",\"10.0.1.11\"]"));
    assert_non_null(strstr(a->extra_json, "10.0.1.20"));
    /* fan-out without a prior inbound connection is not a worm */
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 40 + i);
        handshake(f, "10.0.1.12", MB, ip, MC, (uint16_t)(42000 + i), 4444, T0 + 900000 + i * 1000);
    }
    assert_int_equal(count_type(f, "worm_spread"), 1);
}

/* A UDP worm (Slammer: one datagram to 1434, no answer, then the same port on other hosts) is
 * worm_spread; a DNS resolver (answers queries on 53, then queries 6 servers on 53) and a DNS
 * client (queries 6 servers, never received a query) are not. */
static void test_worm_udp(void **state)
{
    sensor_fixture *f = *state;
    char ip[32];
    tpkt p;
    t_udp(&p, MA, MC, -1, "10.0.1.10", 40000, "10.0.1.11", 1434, 376);
    feed(f, &p, T0);
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof(ip), "10.0.1.%d", 20 + i);
        t_udp(&p, MC, MB, -1, "10.0.1.11", (uint16_t)(42000 + i), ip, 1434, 376);
        feed(f, &p, T0 + (i + 1) * 1000);
    }
    assert_int_equal(count_type(f, "worm_spread"), 1);
    const dbg_alert *a = find_type(f, "worm_spread");
    assert_string_equal(a->src.ip, "10.0.1.11");
    assert_int_equal(a->dst.port, 1434);
    assert_non_null(strstr(a->extra_json, "\"chain\":[\"10.0.1.10\",\"10.0.1.11\"]"));
    assert_non_null(strstr(a->evidence, "UDP datagram it did not answer on port 1434"));
    assert_non_null(strstr(a->evidence, "hosts on port 1434/udp"));
    /* the resolver 10.0.1.53: a query answered, then its own queries; a client querying */
    sensor_restart(f, NULL);
    t_udp(&p, MA, MC, -1, "10.0.1.10", 40000, "10.0.1.53", 53, 40);
    feed(f, &p, T0);
    t_udp(&p, MC, MA, -1, "10.0.1.53", 53, "10.0.1.10", 40000, 80);
    feed(f, &p, T0 + 500);
    for (int i = 0; i < 6; i++) {
        snprintf(ip, sizeof(ip), "10.0.3.%d", 20 + i);
        t_udp(&p, MC, MB, -1, "10.0.1.53", (uint16_t)(42000 + i), ip, 53, 40);
        feed(f, &p, T0 + (i + 1) * 1000);
        t_udp(&p, MB, MC, -1, ip, 53, "10.0.1.53", (uint16_t)(42000 + i), 90);
        feed(f, &p, T0 + (i + 1) * 1000 + 300);
        t_udp(&p, MA, MB, -1, "10.0.1.10", (uint16_t)(43000 + i), ip, 53, 40);
        feed(f, &p, T0 + (i + 1) * 1000 + 500);
    }
    /* the next query from another client, not yet answered when the resolver recurses */
    t_udp(&p, MB, MC, -1, "10.0.1.12", 40000, "10.0.1.53", 53, 40);
    feed(f, &p, T0 + 10000);
    t_udp(&p, MC, MB, -1, "10.0.1.53", 42100, "10.0.3.99", 53, 40);
    feed(f, &p, T0 + 10100);
    dbg_sensor_finish(f->sensor);
    assert_int_equal(f->alerts.n, 0);
}

/* A fresh sensor whose scan detectors stay quiet on many flows from many sources. */
static void restart_without_scans(sensor_fixture *f)
{
    f->rules.trw_enabled = 0;
    f->rules.host_sweep_hosts = 100000;
    f->rules.port_scan_ports = 100000;
    sensor_restart(f, NULL);
}

static void test_flow_eviction(void **state)
{
    sensor_fixture *f = *state;
    f->rules.max_flows = 256;
    restart_without_scans(f);
    dbg_sensor_stats st0;
    dbg_sensor_get_stats(f->sensor, &st0);
    tpkt p;
    char ip[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        t_udp(&p, MA, MB, -1, ip, 1000, "10.200.0.1", 53, 10);
        feed(f, &p, T0 + i);
    }
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.flows_total == 5000);
    assert_true(st.flows_active <= 256);
    assert_true(st.flow_evictions >= 5000 - 256);
    assert_true(st.memory_bytes == st0.memory_bytes);
    /* flows time out */
    t_udp(&p, MA, MB, -1, "10.250.0.1", 1000, "10.200.0.1", 53, 10);
    feed(f, &p, T0 + 1000 * 1000000LL);
    dbg_sensor_get_stats(f->sensor, &st);
    char *js = dbg_sensor_stats_json(&st, 1.0);
    assert_non_null(js);
    assert_non_null(strstr(js, "\"flows_total\":5001"));
    /* --stats JSON says what the text line says: timeouts and folded repeats too */
    assert_true(st.flow_timeouts > 0);
    char want[64];
    snprintf(want, sizeof(want), "\"flow_timeouts\":%llu", (unsigned long long)st.flow_timeouts);
    assert_non_null(strstr(js, want));
    assert_non_null(strstr(js, "\"incidents_folded\":0"));
    free(js);
}

typedef struct {
    dbg_sensor_flow_record r[8];
    size_t n;
} flow_log;

static void log_flow(void *ud, const dbg_sensor_flow_record *r)
{
    flow_log *l = ud;
    if (l->n < 8)
        l->r[l->n++] = *r;
}

static void queue(sensor_fixture *f, const tpkt *p, int64_t ts)
{
    dbg_sensor_packet(f->sensor, ts, p->b, p->len, p->len, 0);
}

/* Frames of one flow queued back to back take the previous frame's flow (the same-flow
 * shortcut): counts and direction as by lookup, and a flow idle past flow.timeout_s still ends
 * and a new one starts even when its next frame follows the previous frame in the ring, whether
 * that frame's lookup or a tick's sweep ends it. */
static void test_same_flow_frames(void **state)
{
    sensor_fixture *f = *state;
    flow_log log = {0};
    dbg_sensor_set_flow_sink(f->sensor, log_flow, &log);
    tpkt syn, synack, data;
    t_tcp(&syn, MA, MB, -1, "10.0.0.1", 40000, "10.0.0.2", 80, 0x02, 0);
    t_tcp(&synack, MB, MA, -1, "10.0.0.2", 80, "10.0.0.1", 40000, 0x12, 0);
    t_tcp(&data, MA, MB, -1, "10.0.0.1", 40000, "10.0.0.2", 80, 0x18, 100);
    queue(f, &syn, T0);
    queue(f, &synack, T0 + 100);
    queue(f, &data, T0 + 200);
    queue(f, &data, T0 + 300);
    int64_t later = T0 + 300 + (int64_t)(f->rules.flow_timeout_s + 1) * 1000000;
    queue(f, &data, later);
    /* a live run's tick ends the idle flow (released by the sweep, not by a lookup): the next
     * frame, queued right after the flow's last one, still begins a new flow */
    int64_t swept = later + (int64_t)(f->rules.flow_timeout_s + 1) * 1000000;
    for (int i = 0; i < 20; i++) /* the sweep goes round the table 4,096 buckets a tick */
        dbg_sensor_tick(f->sensor, swept + i * 100000);
    queue(f, &data, swept + 2000000);
    dbg_sensor_finish(f->sensor);
    dbg_sensor_set_flow_sink(f->sensor, NULL, NULL);

    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_int_equal(st.packets, 6);
    assert_int_equal(st.flows_total, 3);
    assert_int_equal(st.flow_timeouts, 2);
    assert_int_equal(log.n, 3);
    /* the first flow: initiator 10.0.0.1 (SYN, two data frames), responder one SYN-ACK */
    const dbg_sensor_flow_record *a = &log.r[0];
    assert_string_equal(a->reason, "timeout");
    assert_int_equal(a->sport, 40000);
    assert_int_equal(a->dport, 80);
    assert_int_equal(a->pkts_toserver, 3);
    assert_int_equal(a->pkts_toclient, 1);
    assert_int_equal(a->bytes_toserver, syn.len + 2 * data.len);
    assert_int_equal(a->bytes_toclient, synack.len);
    assert_true(a->first_us == T0 && a->last_us == T0 + 300);
    /* the frame after the silence began a new flow */
    const dbg_sensor_flow_record *b = &log.r[1];
    assert_string_equal(b->reason, "timeout");
    assert_int_equal(b->pkts_toserver + b->pkts_toclient, 1);
    assert_true(b->first_us == later);
    const dbg_sensor_flow_record *c = &log.r[2];
    assert_string_equal(c->reason, "shutdown");
    assert_int_equal(c->pkts_toserver + c->pkts_toclient, 1);
    assert_true(c->first_us == swept + 2000000);
}

/* IPv4 and IPv6 flows live in two tables (64- and 96-byte entries): frames of both kinds
 * interleaved, and back to back, end in one record per flow with its own addresses, ports and
 * counts. */
static void test_flows_v4_and_v6(void **state)
{
    sensor_fixture *f = *state;
    flow_log log = {0};
    dbg_sensor_set_flow_sink(f->sensor, log_flow, &log);
    tpkt syn4, synack4, data4, syn6, synack6, data6;
    t_tcp(&syn4, MA, MB, -1, "10.0.0.1", 40000, "10.0.0.2", 80, 0x02, 0);
    t_tcp(&synack4, MB, MA, -1, "10.0.0.2", 80, "10.0.0.1", 40000, 0x12, 0);
    t_tcp(&data4, MA, MB, -1, "10.0.0.1", 40000, "10.0.0.2", 80, 0x18, 100);
    t_tcp6(&syn6, MA, MB, "fd00::1", 40000, "fd00::2", 80, 0x02, 0);
    t_tcp6(&synack6, MB, MA, "fd00::2", 80, "fd00::1", 40000, 0x12, 0);
    t_tcp6(&data6, MA, MB, "fd00::1", 40000, "fd00::2", 80, 0x18, 300);
    const tpkt *order[] = {&syn4, &syn6, &synack4, &synack6, &data6, &data6, &data4, &data6};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        queue(f, order[i], T0 + (int64_t)i * 100);
    dbg_sensor_finish(f->sensor);
    dbg_sensor_set_flow_sink(f->sensor, NULL, NULL);

    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_int_equal(st.flows_total, 2);
    assert_int_equal(log.n, 2);
    uint8_t a4[16] = {[10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1}, b4[16];
    memcpy(b4, a4, 16);
    b4[15] = 2;
    uint8_t a6[16], b6[16];
    inet_pton(AF_INET6, "fd00::1", a6);
    inet_pton(AF_INET6, "fd00::2", b6);
    int found4 = 0, found6 = 0;
    for (size_t i = 0; i < log.n; i++) {
        const dbg_sensor_flow_record *r = &log.r[i];
        assert_int_equal(r->proto, 6);
        assert_int_equal(r->sport, 40000);
        assert_int_equal(r->dport, 80);
        assert_int_equal(r->pkts_toclient, 1);
        if (!memcmp(r->src, a4, 16)) {
            found4++;
            assert_memory_equal(r->dst, b4, 16);
            assert_int_equal(r->pkts_toserver, 2);
            assert_int_equal(r->bytes_toserver, syn4.len + data4.len);
            assert_int_equal(r->bytes_toclient, synack4.len);
            assert_true(r->first_us == T0 && r->last_us == T0 + 600);
        } else {
            found6++;
            assert_memory_equal(r->src, a6, 16);
            assert_memory_equal(r->dst, b6, 16);
            assert_int_equal(r->pkts_toserver, 4);
            assert_int_equal(r->bytes_toserver, syn6.len + 3 * data6.len);
            assert_int_equal(r->bytes_toclient, synack6.len);
            assert_true(r->first_us == T0 + 100 && r->last_us == T0 + 700);
        }
    }
    assert_int_equal(found4, 1);
    assert_int_equal(found6, 1);
}

/* The IPv6 table has its own bound (flow.max_flows_v6), evicting and counting as the IPv4 one,
 * and a flood of IPv6 flows does not take the IPv4 flows' room. */
static void test_flow_eviction_v6(void **state)
{
    sensor_fixture *f = *state;
    f->rules.max_flows_v6 = 256;
    restart_without_scans(f);
    tpkt p;
    char ip[64];
    for (int i = 0; i < 100; i++) {
        snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
        t_udp(&p, MA, MB, -1, ip, 1000, "10.200.0.1", 53, 10);
        feed(f, &p, T0 + i);
    }
    for (int i = 0; i < 5000; i++) {
        snprintf(ip, sizeof(ip), "fd00::%x:%x", i >> 8, i & 255);
        t_udp6(&p, MA, MB, ip, 1000, "fd00::53", 53, 0, 10);
        feed(f, &p, T0 + 100 + i);
    }
    dbg_sensor_stats st;
    dbg_sensor_get_stats(f->sensor, &st);
    assert_true(st.flows_total == 5100);
    assert_true(st.flows_active <= 100 + 256);
    assert_true(st.flows_active >= 100); /* the IPv4 flows stayed */
    assert_true(st.flow_evictions >= 5000 - 256);
}

/* Byte counts are 48 bits per side: they carry past 32 bits exactly and stop at 2^48 - 1
 * (as packet counts stop at 2^32 - 1) instead of wrapping. */
static void test_flow_bytes_48bit(void **state)
{
    sensor_fixture *f = *state;
    flow_log log = {0};
    dbg_sensor_set_flow_sink(f->sensor, log_flow, &log);
    tpkt a, b;
    t_udp(&a, MA, MB, -1, "10.0.0.1", 1000, "10.0.0.2", 2000, 10);
    t_udp(&b, MA, MB, -1, "10.0.0.3", 1000, "10.0.0.2", 2000, 10);
    const size_t big = UINT32_MAX; /* each frame's wire length */
    for (int i = 0; i < 65536; i++)
        dbg_sensor_packet(f->sensor, T0 + i, a.b, a.len, big, 0);
    for (int i = 0; i < 65538; i++)
        dbg_sensor_packet(f->sensor, T0 + i, b.b, b.len, big, 0);
    dbg_sensor_finish(f->sensor);
    dbg_sensor_set_flow_sink(f->sensor, NULL, NULL);
    assert_int_equal(log.n, 2);
    for (size_t i = 0; i < 2; i++) {
        const dbg_sensor_flow_record *r = &log.r[i];
        if (r->src[15] == 1) {
            assert_int_equal(r->pkts_toserver, 65536);
            assert_true(r->bytes_toserver == 65536ull * UINT32_MAX); /* 2^48 - 2^16 */
        } else {
            assert_int_equal(r->pkts_toserver, 65538);
            assert_true(r->bytes_toserver == (1ull << 48) - 1);
        }
    }
}

/* A port with more addresses than an inventory entry holds is refused, not cut: an address
 * left out would make the VM's own traffic look spoofed. 64 fit. */
static void test_inventory_port_ips_limit(void **state)
{
    (void)state;
    dbg_buf csv = {0};
    for (int i = 0; i < DBG_SENSOR_PORT_IPS; i++)
        dbg_buf_printf(&csv, "%s10.9.0.%d", i ? "," : "", i + 1);
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_non_null(inv);
    assert_int_equal(dbg_sensor_inventory_add_port(inv, "52:54:00:00:00:01", csv.data, "vm-many",
                                                   "u", "t1", "n", "vnet0", -1), 0);
    dbg_buf_adds(&csv, ",10.9.1.1");
    assert_int_equal(dbg_sensor_inventory_add_port(inv, "52:54:00:00:00:02", csv.data, "vm-more",
                                                   "u2", "t1", "n", "vnet1", -1), -1);
    assert_non_null(strstr(dbg_err_msg(), "VM vm-more: more than 64 IP addresses"));
    dbg_sensor_inventory_free(inv);
    dbg_buf_free(&csv);
}

static void test_rules_file(void **state)
{
    (void)state;
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    const char *ok = "scan:\n  port_scan_ports: 5\n  host_sweep_hosts: 5\n"
                     "trw:\n  enabled: false\nbrute_force:\n  ports: [22, 2222]\n"
                     "dhcp:\n  servers: [10.0.0.1]\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, ok, strlen(ok), "t.yaml"), 0);
    assert_int_equal(r.port_scan_ports, 5);
    assert_int_equal(r.trw_enabled, 0);
    assert_int_equal(r.n_brute_ports, 2);
    assert_int_equal(r.brute_ports[1], 2222);
    assert_int_equal(r.n_dhcp_servers, 1);
    assert_int_equal(r.host_sweep_hosts, 5);
    /* an empty list is an empty list, not the defaults */
    const char *none = "brute_force:\n  ports: []\n";
    dbg_sensor_rules_defaults(&r);
    assert_int_equal(dbg_sensor_rules_parse(&r, none, strlen(none), "t.yaml"), 0);
    assert_int_equal(r.n_brute_ports, 0);
    const char *bad_key = "scan:\n  port_scan_portz: 5\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, bad_key, strlen(bad_key), "t.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(), "t.yaml:2:3: unknown setting 'scan.port_scan_portz' "
                                          "(scan has: window_s, port_scan_ports, host_sweep_hosts)"));
    /* a misspelt section is refused even with nothing under it (it disabled nothing, but its
     * reader thinks a detector is configured there) */
    const char *bad_sec = "scan:\n  window_s: 60\nbrute_forse: {}\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, bad_sec, strlen(bad_sec), "t.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(),
                           "t.yaml:3:1: unknown section 'brute_forse' (sections: scan, trw, flood, "
                           "brute_force, volume, worm, arp, flow, incident, host, dhcp)"));
    const char *bad_sec2 = "volumes:\n  k: 3\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, bad_sec2, strlen(bad_sec2), "t.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(), "t.yaml:1:1: unknown section 'volumes'"));
    const char *bad_val = "trw:\n  alpha: 7\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, bad_val, strlen(bad_val), "t.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(), "trw.alpha"));
    const char *dup = "scan:\n  port_scan_ports: 5\nscan:\n  port_scan_ports: 50\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, dup, strlen(dup), "t.yaml"), -1);
    assert_non_null(strstr(dbg_err_msg(), "t.yaml:3:1: duplicate key 'scan' (first at line 1)"));
    const char *bad_yaml = "scan: [1, 2\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, bad_yaml, strlen(bad_yaml), "t.yaml"), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    /* the shipped file loads and matches the compiled-in defaults */
    DBG_AUTOFREE char *path = dbg_datadir_join("rules/sensor.yaml");
    dbg_sensor_rules shipped, defaults;
    dbg_sensor_rules_defaults(&shipped);
    dbg_sensor_rules_defaults(&defaults);
    assert_int_equal(dbg_sensor_rules_load(&shipped, path), 0);
    assert_memory_equal(&shipped, &defaults, sizeof(shipped));
    size_t n = 0;
    const dbg_sensor_detector_info *d = dbg_sensor_detectors(&n);
    assert_int_equal(n, 15);
    assert_non_null(dbg_sensor_detector("tcp_flood"));
    assert_string_equal(d[0].name, "port_scan");
    assert_non_null(dbg_sensor_detector("worm_spread"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        SENSOR_TEST(test_decode_malformed, without_inventory),
        SENSOR_TEST(test_port_scan_window, without_inventory),
        SENSOR_TEST(test_stealth_scans, without_inventory),
        SENSOR_TEST(test_ack_maimon_scans, without_inventory),
        SENSOR_TEST(test_tcp_flood, without_inventory),
        SENSOR_TEST(test_tcp_flood_not_connections, without_inventory),
        SENSOR_TEST(test_tiny_fragment_scans, without_inventory),
        SENSOR_TEST(test_host_sweep_and_backscatter, without_inventory),
        SENSOR_TEST(test_trw, without_inventory),
        SENSOR_TEST(test_trw_host_evicted_before_outcome, without_inventory),
        SENSOR_TEST(test_scan_incident_volume, without_inventory),
        SENSOR_TEST(test_syn_flood, without_inventory),
        SENSOR_TEST(test_syn_flood_after_port_scan, without_inventory),
        SENSOR_TEST(test_udp_icmp_flood, without_inventory),
        SENSOR_TEST(test_arp_spoof, without_inventory),
        SENSOR_TEST(test_ip_mac_spoof, with_inventory),
        SENSOR_TEST(test_tap_sees_both_ways, with_inventory),
        SENSOR_TEST(test_tap_own_mac, with_inventory),
        SENSOR_TEST(test_tap_bridge_mac, with_inventory),
        SENSOR_TEST(test_arp_sweep, with_inventory),
        SENSOR_TEST(test_arp_sweep_evasion, with_inventory),
        SENSOR_TEST(test_arp_sweep_vlans, with_inventory),
        SENSOR_TEST(test_rogue_dhcp, with_inventory),
        SENSOR_TEST(test_brute_force, without_inventory),
        SENSOR_TEST(test_cross_tenant_and_host, with_inventory),
        SENSOR_TEST(test_cross_tenant_probe_wording, with_inventory),
        SENSOR_TEST(test_cross_tenant_by_name_and_id, with_tenant_refs),
        SENSOR_TEST(test_overlapping_subnets, without_inventory),
        SENSOR_TEST(test_spoofed_source_attribution, with_inventory),
        SENSOR_TEST(test_volume_anomaly, with_inventory),
        SENSOR_TEST(test_worm, without_inventory),
        SENSOR_TEST(test_worm_udp, without_inventory),
        SENSOR_TEST(test_flow_eviction, without_inventory),
        SENSOR_TEST(test_same_flow_frames, without_inventory),
        SENSOR_TEST(test_flows_v4_and_v6, without_inventory),
        SENSOR_TEST(test_flow_eviction_v6, without_inventory),
        SENSOR_TEST(test_flow_bytes_48bit, without_inventory),
        cmocka_unit_test(test_rules_file),
        cmocka_unit_test(test_inventory_port_ips_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
