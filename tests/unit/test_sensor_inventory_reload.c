/* Unit tests for the live sensor's --inventory FILE reload (inventory_refresh.c): a snapshot
 * that now gives a tap to another tenant's VM is taken within about a second, not at the next
 * period (an hour here), so that VM's traffic is not attributed to the VM that had the tap. A
 * half-written or malformed file keeps the inventory in use and reports the file and the
 * position; the file completed is taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/error.h"
#include "dengbao/sensor.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

#define TAP "vnet0"

/* A snapshot whose one VM (vm, tenant) has TAP. */
static char *snapshot(const char *vm, const char *tenant, const char *mac)
{
    return dbg_asprintf(
        "{\"schema_version\": 1, \"uri\": \"test:///reload\", \"hostname\": \"h\",\n"
        " \"networks\": [], \"pools\": [], \"volumes\": [], \"nwfilters\": [], \"bindings\": [],\n"
        " \"host_files\": [], \"controls\": [], \"host_addresses\": [\"10.9.0.254\"],\n"
        " \"mgmt_ports\": [22], \"domains\": [{\"name\": \"%s\",\n"
        " \"uuid\": \"00000000-0000-4000-8000-000000000001\", \"state\": \"running\",\n"
        " \"tenant_id\": \"%s\", \"ifaces\": [{\"mac\": \"%s\", \"type\": \"bridge\",\n"
        " \"source\": \"br0\", \"target_dev\": \"" TAP "\", \"ips\": [\"10.9.0.5\"],\n"
        " \"vlan\": -1}]}]}\n",
        vm, tenant, mac);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Written whole beside it and renamed over it, as `dengbao collect -o` and cron jobs do. */
static void replace_file(const char *path, const char *text)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    write_file(tmp, text, strlen(text));
    assert_int_equal(rename(tmp, path), 0);
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The next inventory handed over within ms; NULL when none came. */
static dbg_sensor_inventory *next_inventory(sn_inv_refresher *r, long ms)
{
    for (long waited = 0; waited <= ms; waited += 50) {
        dbg_sensor_inventory *inv = sn_inv_refresher_take(r);
        if (inv)
            return inv;
        nap_ms(50);
    }
    return NULL;
}

static void assert_tap_on(dbg_sensor_inventory *inv, const char *vm, const char *tenant)
{
    assert_non_null(inv);
    const dbg_sensor_port *p = sn_inv_by_tap(inv, TAP);
    assert_non_null(p);
    assert_string_equal(p->vm_name, vm);
    assert_string_equal(p->tenant, tenant);
    dbg_sensor_inventory_free(inv);
}

/* The refresher's last reload error, "" when none. */
static void reload_error(sn_inv_refresher *r, char *err, size_t size)
{
    int64_t loaded = 0, failing = 0;
    sn_inv_refresher_state(r, &loaded, &failing, err, size);
}

static void test_file_change_taken_at_once(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-inv-reload-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/inv.json", dir);
    DBG_AUTOFREE char *acme = snapshot("web-a", "acme", "52:54:00:aa:00:01");
    DBG_AUTOFREE char *globex = snapshot("web-b", "globex", "52:54:00:bb:00:02");
    DBG_AUTOFREE char *initech = snapshot("web-c", "initech", "52:54:00:cc:00:03");
    replace_file(path, acme);

    /* the period is an hour: only looking at the file on each tick takes the change soon */
    sn_inv_refresher *r = sn_inv_refresher_start(path, NULL, 3600);
    assert_non_null(r);
    assert_null(next_inventory(r, 400)); /* unchanged: nothing reloaded */

    /* acme's VM gone, globex's VM given its tap; the snapshot replaced */
    replace_file(path, globex);
    dbg_sensor_inventory *inv = next_inventory(r, 3000);
    if (!inv)
        fail_msg(TAP " still acme's 3 s after the snapshot changed: reloaded only every hour");
    assert_tap_on(inv, "web-b", "globex");

    /* half-written in place (a writer that does not rename): the inventory in use stays, the
     * error names the file and where the JSON stops */
    size_t half = strlen(initech) / 2;
    write_file(path, initech, half);
    assert_null(next_inventory(r, 1500));
    char err[512];
    reload_error(r, err, sizeof(err));
    char want[300];
    snprintf(want, sizeof(want), "%s:", path);
    if (!strstr(err, want) || !strstr(err, "not valid JSON"))
        fail_msg("half-written snapshot: error '%s' names neither file nor position", err);
    const char *pos = err + strlen(want);
    assert_true(pos[0] >= '1' && pos[0] <= '9'); /* LINE:COL */

    /* valid JSON that is no snapshot: refused, naming the file and the member */
    replace_file(path, "{\"schema_version\": 1, \"domains\": [{\"name\": \"x\", \"ifaces\": 5}]}");
    assert_null(next_inventory(r, 1500));
    reload_error(r, err, sizeof(err));
    if (!strstr(err, path) || !strstr(err, "$.domains[0].ifaces"))
        fail_msg("malformed snapshot: error '%s' names neither the file nor the member", err);

    /* the file completed: taken, the error gone */
    replace_file(path, initech);
    inv = next_inventory(r, 3000);
    if (!inv)
        fail_msg("the completed snapshot was not taken within 3 s");
    assert_tap_on(inv, "web-c", "initech");
    reload_error(r, err, sizeof(err));
    assert_string_equal(err, "");

    /* removed: said, the inventory in use stays; back: taken */
    assert_int_equal(unlink(path), 0);
    assert_null(next_inventory(r, 600));
    reload_error(r, err, sizeof(err));
    if (!strstr(err, "cannot look at the inventory"))
        fail_msg("a removed snapshot: error '%s'", err);
    replace_file(path, acme);
    inv = next_inventory(r, 3000);
    if (!inv)
        fail_msg("the snapshot put back was not taken within 3 s");
    assert_tap_on(inv, "web-a", "acme");

    sn_inv_refresher_stop(r);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_change_taken_at_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
