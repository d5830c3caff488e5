/* Unit tests for what `dengbao sensor --rules FILE` tells an operator about a bad rules file
 * (rules.c): each message names the file, line and key and says what is wrong with the value
 * given, not a limit of something else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/sensor.h"

/* text is refused with exactly want */
static void refused(const char *text, const char *want)
{
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    dbg_err_clear();
    if (dbg_sensor_rules_parse(&r, text, strlen(text), "r.yaml") == 0)
        fail_msg("accepted: %s", text);
    assert_string_equal(dbg_err_msg(), want);
}

static void test_list_too_long(void **state)
{
    (void)state;
    char text[512] = "brute_force:\n  ports: [";
    for (int i = 1; i <= 33; i++) /* 33 valid ports, one more than the 32 kept */
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%d", i > 1 ? "," : "", i);
    snprintf(text + strlen(text), sizeof(text) - strlen(text), "]\n");
    refused(text, "r.yaml:2:98: brute_force.ports: more than 32 items (33 given)");
    refused("dhcp:\n  servers: [10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4, 10.0.0.5, 10.0.0.6,"
            " 10.0.0.7, 10.0.0.8, 10.0.0.9]\n",
            "r.yaml:2:93: dhcp.servers: more than 8 items (9 given)");
}

static void test_bad_values(void **state)
{
    (void)state;
    refused("brute_force:\n  ports: [22, 70000]\n",
            "r.yaml:2:15: brute_force.ports: '70000' is not a port 1..65535");
    refused("dhcp:\n  servers: [10.0.0.300]\n",
            "r.yaml:2:13: dhcp.servers: '10.0.0.300' is not an IP address");
    refused("trw:\n  enabled: maybe\n", "r.yaml:2:12: trw.enabled: 'maybe' is not true or false");
    refused("flow:\n  max_flows: 1\n",
            "r.yaml:2:14: flow.max_flows: '1' is not a whole number in 64..100000000");
    refused("scan:\n  port_scan_ports: 2.5\n",
            "r.yaml:2:20: scan.port_scan_ports: '2.5' is not a whole number in 2..65535");
    refused("trw:\n  theta0: 2\n",
            "r.yaml:2:11: trw.theta0: '2' is not a decimal number in 0.01..0.99");
    /* the pair's check names the value that made it wrong (it named the file alone) */
    refused("trw:\n  theta1: 0.1\n  theta0: 0.05\n",
            "r.yaml:3:11: trw.theta1 (0.1) must be below trw.theta0 (0.05)");
    /* a byte libyaml's reader refuses was put at 1:1 wherever it was */
    refused("scan:\n  port_scan_ports: 5\x01\n", "r.yaml:2:21: control characters are not allowed");
}

/* Numbers are decimal: strtod took hex ("0x10" was 16 ports, "0x1p-1" 0.5), leading blanks
 * and a quoted "20\0junk" (20), each without a word. */
static void test_numbers_decimal_only(void **state)
{
    (void)state;
    refused("scan:\n  port_scan_ports: 0x10\n",
            "r.yaml:2:20: scan.port_scan_ports: '0x10' is not a whole number in 2..65535");
    refused("trw:\n  theta0: 0x1p-1\n",
            "r.yaml:2:11: trw.theta0: '0x1p-1' is not a decimal number in 0.01..0.99");
    refused("flow:\n  timeout_s: nan\n",
            "r.yaml:2:14: flow.timeout_s: 'nan' is not a decimal number in 1..86400");
    refused("flow:\n  timeout_s: INF\n",
            "r.yaml:2:14: flow.timeout_s: 'INF' is not a decimal number in 1..86400");
    refused("scan:\n  window_s: \" 60\"\n",
            "r.yaml:2:13: scan.window_s: ' 60' is not a decimal number in 1..86400");
    refused("scan:\n  window_s: 60s\n",
            "r.yaml:2:13: scan.window_s: '60s' is not a decimal number in 1..86400");
    refused("scan:\n  port_scan_ports: \"20\\0junk\"\n",
            "r.yaml:2:20: scan.port_scan_ports: text holds a NUL character ('\\0')");
    refused("brute_force:\n  ports: [22, \" 23\"]\n",
            "r.yaml:2:15: brute_force.ports: ' 23' is not a port 1..65535");
    refused("brute_force:\n  ports: [22, \"23\\0\"]\n",
            "r.yaml:2:15: brute_force.ports: text holds a NUL character ('\\0')");
    /* decimal spellings still read */
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    static const char ok[] = "scan:\n  window_s: 1.5e2\n  port_scan_ports: 20\n"
                             "trw:\n  theta0: .9\n  theta1: 0.1\n";
    assert_int_equal(dbg_sensor_rules_parse(&r, ok, strlen(ok), "r.yaml"), 0);
    assert_true(r.scan_window_s == 150.0);
    assert_int_equal(r.port_scan_ports, 20);
    assert_true(r.trw_theta0 == 0.9);
}

/* Nesting deeper than the catalog and assess readers take is refused before libyaml loads it:
 * its load costs grow with the depth, and "[[[[..." a megabyte deep (the file limit) kept the
 * sensor from starting for minutes. */
static void test_nesting_limit(void **state)
{
    (void)state;
    char text[128] = "brute_force:\n  ports: ";
    size_t at = strlen(text);
    /* with the two mappings 32 levels: read, then refused for what it holds */
    memset(text + at, '[', 30);
    memset(text + at + 30, ']', 30);
    refused(text, "r.yaml:2:11: brute_force.ports: items must be scalars");
    memset(text + at, '[', 31);
    memset(text + at + 31, ']', 31);
    refused(text, "r.yaml:2:40: nesting deeper than 32 levels");
    static char deep[1 << 20];
    memset(deep, '[', sizeof(deep) - 1);
    refused(deep, "r.yaml:1:33: nesting deeper than 32 levels");
}

/* A mapping with no keys before any with some ("{}" or "- {}" at the top) passed NULL to qsort
 * in the duplicate-key check, which UBSan stops on. It is the defaults. */
static void test_empty_mapping(void **state)
{
    (void)state;
    dbg_sensor_rules r, defaults;
    dbg_sensor_rules_defaults(&r);
    dbg_sensor_rules_defaults(&defaults);
    assert_int_equal(dbg_sensor_rules_parse(&r, "{}\n", 3, "r.yaml"), 0);
    assert_memory_equal(&r, &defaults, sizeof(r));
}

/* The empty document after a last '---' without a line break was named on the line after it,
 * one the file does not have (r.yaml:2:1). */
static void test_top_level_place(void **state)
{
    (void)state;
    refused("---", "r.yaml:1:4: the top level must be a mapping of sections");
    refused("# rules\n---\n", "r.yaml:3:1: the top level must be a mapping of sections");
    refused("- scan\n", "r.yaml:1:1: the top level must be a mapping of sections");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_too_long),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_numbers_decimal_only),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_empty_mapping),
        cmocka_unit_test(test_top_level_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
