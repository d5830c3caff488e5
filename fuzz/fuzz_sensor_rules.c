/* libFuzzer target for the sensor rules (data/rules/sensor.yaml, `dengbao sensor --rules`): any
 * bytes through dbg_sensor_rules_parse over the defaults. An error must name the input, a line
 * within it and a column; rules that load must hold what the loader promises (each threshold
 * in its range, theta1 below theta0, ports 1..65535, the DHCP servers IP addresses). Must never
 * crash, leak or hang. */
#include <arpa/inet.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/sensor.h"
#include "fuzz/yaml_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "fuzz.yaml:LINE:COL: ..." with LINE within the input's lines and COL >= 1: every rules error
 * names a value, a key or where libyaml stopped; only an allocation failure names no place. */
static void check_position(const uint8_t *data, size_t size)
{
    if (dbg_err_code() != DBG_ERR_NOMEM && fuzz_yaml_place(dbg_err_msg(), data, size, 1) != 1)
        abort();
}

static int in_range(double v, double lo, double hi)
{
    return isfinite(v) && v >= lo && v <= hi;
}

static void check_ports(const int *ports, size_t n)
{
    if (n > DBG_SENSOR_MAX_PORTS)
        abort();
    for (size_t i = 0; i < n; i++)
        if (ports[i] < 1 || ports[i] > 65535)
            abort();
}

/* The ranges are rules.c's table's; a value outside one would reach a detector unchecked. */
static void check_rules(const dbg_sensor_rules *r)
{
    if (!in_range(r->scan_window_s, 1, 86400) || r->port_scan_ports < 2 ||
        r->port_scan_ports > 65535 || r->host_sweep_hosts < 2 || r->host_sweep_hosts > 10000000)
        abort();
    if ((r->trw_enabled & ~1) || !in_range(r->trw_theta0, 0.01, 0.99) ||
        !in_range(r->trw_theta1, 0.01, 0.99) || !(r->trw_theta1 < r->trw_theta0) ||
        !in_range(r->trw_alpha, 1e-6, 0.5) || !in_range(r->trw_beta, 0.5, 0.999999) ||
        !in_range(r->trw_timeout_s, 0.01, 3600))
        abort();
    if (!in_range(r->flood_window_s, 0.01, 3600) || !r->syn_flood_pkts || !r->udp_flood_pkts ||
        !r->icmp_flood_pkts)
        abort();
    if (!in_range(r->brute_window_s, 1, 86400) || r->brute_attempts < 2)
        abort();
    check_ports(r->brute_ports, r->n_brute_ports);
    check_ports(r->mgmt_ports, r->n_mgmt_ports);
    if (!in_range(r->volume_bin_s, 0.1, 86400) || !in_range(r->volume_alpha, 0.001, 1) ||
        !in_range(r->volume_k, 0.5, 1000) || !r->volume_warmup_bins ||
        r->volume_min_bytes > (uint64_t)1e15)
        abort();
    if (!in_range(r->worm_window_s, 1, 86400) || r->worm_fanout < 2 ||
        !in_range(r->arp_binding_ttl_s, 1, 1e7) || !in_range(r->arp_request_ttl_s, 0.01, 3600))
        abort();
    if (r->max_flows < 64 || r->max_flows_v6 < 64 || r->max_hosts < 64 ||
        r->max_flows > 100000000 || r->max_flows_v6 > 100000000 || r->max_hosts > 100000000 ||
        !in_range(r->flow_timeout_s, 1, 86400) || !in_range(r->incident_timeout_s, 0, 86400))
        abort();
    /* kept as text: cut short, it would be another address or none */
    if (r->n_dhcp_servers > sizeof(r->dhcp_servers) / sizeof(r->dhcp_servers[0]))
        abort();
    for (size_t i = 0; i < r->n_dhcp_servers; i++) {
        unsigned char ip[16];
        const char *s = r->dhcp_servers[i];
        if (!memchr(s, '\0', sizeof(r->dhcp_servers[i])) ||
            (inet_pton(AF_INET, s, ip) != 1 && inet_pton(AF_INET6, s, ip) != 1))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    dbg_err_clear();
    if (dbg_sensor_rules_parse(&r, (const char *)data, size, "fuzz.yaml") == 0)
        check_rules(&r);
    else
        check_position(data, size);
    dbg_err_clear();
    return 0;
}
