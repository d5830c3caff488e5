/* Unit tests for the sensor's attribution filled from a platform snapshot (platform.h JSON):
 * VM ports by MAC, IP and tap, tenants, VLAN from the network, host addresses (snapshot and
 * networks), management ports (listed, graphics ports, defaults), and bad addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/platform.h"
#include "dengbao/sensor.h"
#include "sensor/sensor_internal.h"

static const char *snap_json =
    "{\"schema_version\": 1, \"uri\": \"test:///x\","
    " \"domains\": ["
    "  {\"name\": \"web-1\", \"uuid\": \"u1\", \"tenant_id\": \"acme\", \"role\": null,"
    "   \"ifaces\": [{\"mac\": \"52:54:00:00:00:01\", \"type\": \"network\", \"source\": \"acme-net\","
    "                \"target_dev\": \"vnet0\", \"ips\": [\"10.1.0.5\", \"fd00::5\"], \"vlan\": -1}],"
    "   \"graphics\": [{\"type\": \"vnc\", \"listen\": \"0.0.0.0\", \"port\": 5901}]},"
    "  {\"name\": \"mgmt-vm\", \"uuid\": \"u2\", \"role\": \"management\","
    "   \"ifaces\": [{\"mac\": \"52:54:00:00:00:02\", \"type\": \"bridge\", \"source\": \"br-mgmt\","
    "                \"ips\": [\"192.168.0.9\"], \"vlan\": -1, \"vlan_tags\": [30, 31]}]}"
    " ],"
    " \"networks\": [{\"name\": \"acme-net\", \"bridge\": \"virbr1\", \"vlan_tags\": [100],"
    "                 \"ip_address\": \"10.1.0.1\"}],"
    " \"pools\": [], \"volumes\": [], \"nwfilters\": [], \"bindings\": [], \"host_files\": [],"
    " \"controls\": [], \"host_addresses\": [\"192.168.0.1\"], \"mgmt_ports\": [22, 16509]}";

static void test_from_snapshot(void **state)
{
    (void)state;
    dbg_snapshot *s = dbg_snapshot_from_json(snap_json, strlen(snap_json), "t.json");
    if (!s)
        fail_msg("snapshot: %s", dbg_err_msg());
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_int_equal(dbg_sensor_inventory_from_snapshot(inv, s), 0);
    assert_int_equal(dbg_sensor_inventory_ports(inv), 2);
    sn_ip ip;
    assert_int_equal(sn_ip_parse("10.1.0.5", &ip), 0);
    const dbg_sensor_port *p = sn_inv_by_ip(inv, &ip, -1, NULL);
    assert_non_null(p);
    assert_string_equal(p->vm_name, "web-1");
    assert_string_equal(p->tenant, "acme");
    assert_string_equal(p->network, "acme-net");
    assert_int_equal(p->vlan, 100); /* from the network's single VLAN tag */
    assert_int_equal(p->is_mgmt, 0);
    assert_int_equal(sn_ip_parse("fd00::5", &ip), 0);
    assert_ptr_equal(sn_inv_by_ip(inv, &ip, -1, NULL), p);
    assert_ptr_equal(sn_inv_by_tap(inv, "vnet0"), p);
    uint8_t mac[6];
    assert_int_equal(sn_mac_parse("52:54:00:00:00:02", mac), 0);
    const dbg_sensor_port *m = sn_inv_by_mac(inv, mac);
    assert_non_null(m);
    assert_int_equal(m->is_mgmt, 1);
    assert_int_equal(m->vlan, 30); /* a trunk's first tag */
    assert_int_equal(sn_ip_parse("10.1.0.1", &ip), 0);
    assert_true(sn_inv_is_host_addr(inv, &ip)); /* network's host side */
    assert_int_equal(sn_ip_parse("192.168.0.1", &ip), 0);
    assert_true(sn_inv_is_host_addr(inv, &ip));
    assert_true(sn_inv_is_mgmt_port(inv, 22));
    assert_true(sn_inv_is_mgmt_port(inv, 16509));
    assert_true(sn_inv_is_mgmt_port(inv, 5901)); /* a VM's console port on the host */
    assert_false(sn_inv_is_mgmt_port(inv, 80));
    dbg_sensor_inventory_free(inv);
    dbg_snapshot_free(s);
}

static void test_bad_address(void **state)
{
    (void)state;
    const char *bad =
        "{\"schema_version\": 1, \"domains\": [{\"name\": \"x\", \"ifaces\": [{\"mac\": "
        "\"52:54:00:00:00:01\", \"ips\": [\"10.1.0.300\"]}]}], \"networks\": [], \"pools\": [],"
        " \"volumes\": [], \"nwfilters\": [], \"bindings\": [], \"host_files\": [],"
        " \"controls\": []}";
    dbg_snapshot *s = dbg_snapshot_from_json(bad, strlen(bad), "bad.json");
    assert_non_null(s);
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    assert_int_equal(dbg_sensor_inventory_from_snapshot(inv, s), -1);
    assert_non_null(strstr(dbg_err_msg(), "10.1.0.300"));
    assert_non_null(strstr(dbg_err_msg(), "VM x"));
    dbg_sensor_inventory_free(inv);
    dbg_snapshot_free(s);
    /* no management ports listed: the defaults */
    const char *none = "{\"schema_version\": 1, \"domains\": [], \"networks\": [], \"pools\": [],"
                       " \"volumes\": [], \"nwfilters\": [], \"bindings\": [], \"host_files\": [],"
                       " \"controls\": []}";
    s = dbg_snapshot_from_json(none, strlen(none), "none.json");
    assert_non_null(s);
    inv = dbg_sensor_inventory_new();
    assert_int_equal(dbg_sensor_inventory_from_snapshot(inv, s), 0);
    assert_true(sn_inv_is_mgmt_port(inv, 16514));
    assert_true(sn_inv_is_mgmt_port(inv, 22));
    dbg_sensor_inventory_free(inv);
    dbg_snapshot_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_from_snapshot),
        cmocka_unit_test(test_bad_address),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
