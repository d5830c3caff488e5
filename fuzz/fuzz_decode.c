/* libFuzzer target for the sensor's decoders and detectors: the input is a sequence of frames,
 * each prefixed by a 2-byte big-endian length, fed with advancing timestamps to a sensor with
 * small tables and a small inventory (so attribution paths run too). Any crash, sanitizer
 * report or leak is a bug: malformed packets must only be counted. */
#include <stddef.h>
#include <stdint.h>

#include "dengbao/sensor.h"

static void ignore_alert(void *ud, const dbg_alert *a)
{
    (void)ud;
    (void)a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    r.max_flows = 256;
    r.max_hosts = 256;
    r.port_scan_ports = 3;
    r.host_sweep_hosts = 3;
    r.syn_flood_pkts = r.udp_flood_pkts = r.icmp_flood_pkts = 4;
    r.brute_attempts = 2;
    r.worm_fanout = 2;
    r.volume_warmup_bins = 1;
    r.volume_min_bytes = 0;
    r.volume_bin_s = 0.1;
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    if (!inv)
        return 0;
    dbg_sensor_inventory_add_port(inv, "52:54:00:00:00:0a", "10.0.0.10,fd00::a", "a", "ua", "t1",
                                  "n1", "vnet0", -1);
    dbg_sensor_inventory_add_port(inv, "52:54:00:00:00:0b", "10.0.0.11,fd00::11", "b", "ub", "t2",
                                  "n1", "vnet1", 100);
    dbg_sensor_inventory_add_host_address(inv, "10.0.0.1");
    dbg_sensor_inventory_add_host_address(inv, "fd00::1");
    dbg_sensor_inventory_add_mgmt_port(inv, 22);
    dbg_sensor *s = dbg_sensor_new(&r, (size && (data[0] & 1)) ? inv : NULL, ignore_alert, NULL);
    if (!s) {
        dbg_sensor_inventory_free(inv);
        return 0;
    }
    dbg_sensor_set_iface(s, 1, "vnet0");
    int64_t t = 1764032523000000LL;
    size_t off = size ? 1 : 0;
    while (off + 2 <= size) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        dbg_sensor_packet(s, t, data + off, len, len, (int)(len & 1));
        t += 50000 + (int64_t)(len * 997);
        off += len;
    }
    dbg_sensor_finish(s);
    dbg_sensor_free(s);
    dbg_sensor_inventory_free(inv);
    return 0;
}
