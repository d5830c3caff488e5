/* Unit tests for the live sensor's inventory refresher (inventory_refresh.c) on libvirt's test
 * driver in this process: a VM destroyed and another tenant's VM started on the tap name it
 * left (qemu hands out the lowest free vnetN; here both ask for one name) is attributed to the new
 * VM within seconds, from libvirt's lifecycle events, not at the next periodic refresh (an hour
 * here). test:///default's state is shared by the connections of one process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dengbao/error.h"
#include "dengbao/platform.h"
#include "dengbao/sensor.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

#define URI "test:///default"
/* the tap libvirt gives each VM in turn (qemu's vnetN is not a name a domain XML may ask for) */
#define TAP "dbgtap0"

static virDomainPtr start_vm(virConnectPtr c, const char *name, const char *tenant, const char *mac)
{
    char xml[1024];
    snprintf(xml, sizeof(xml),
             "<domain type='test'><name>%s</name><memory>65536</memory><vcpu>1</vcpu>"
             "<os><type>hvm</type></os><metadata><dengbao:instance xmlns:dengbao='%s'>"
             "<dengbao:tenant id='%s' name='%s'/></dengbao:instance></metadata>"
             "<devices><interface type='network'><mac address='%s'/>"
             "<source network='default'/><target dev='" TAP "'/></interface></devices></domain>",
             name, DBG_XMLNS_DENGBAO, tenant, tenant, mac);
    virDomainPtr d = virDomainCreateXML(c, xml, 0);
    if (!d)
        fail_msg("cannot start %s: %s", name, virGetLastErrorMessage());
    return d;
}

/* The next inventory the refresher hands over, within secs; NULL when none came. */
static dbg_sensor_inventory *next_inventory(sn_inv_refresher *r, int secs)
{
    for (int i = 0; i < secs * 20; i++) {
        dbg_sensor_inventory *inv = sn_inv_refresher_take(r);
        if (inv)
            return inv;
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    return NULL;
}

/* Takes the inventories handed over until one has TAP on vm (NULL: on no VM), for at most
 * secs (a reload may fall between two events); 1 when one had. */
static int wait_tap_on(sn_inv_refresher *r, const char *vm, const char *tenant, int secs)
{
    int64_t give_up = dbg_monotonic_us() + secs * 1000000LL;
    while (dbg_monotonic_us() < give_up) {
        dbg_sensor_inventory *inv = next_inventory(r, 1);
        if (!inv)
            continue;
        const dbg_sensor_port *p = sn_inv_by_tap(inv, TAP);
        int match = vm ? p && !strcmp(p->vm_name, vm) && !strcmp(p->tenant, tenant) : !p;
        dbg_sensor_inventory_free(inv);
        if (match)
            return 1;
    }
    return 0;
}

static void test_tap_reused_by_another_tenant(void **state)
{
    (void)state;
    virConnectPtr c = virConnectOpen(URI);
    assert_non_null(c);
    virDomainPtr a = start_vm(c, "web-a", "acme", "52:54:00:aa:00:01");
    /* the sensor's first inventory, collected at its start */
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    if (dbg_sensor_inventory_load(inv, NULL, URI) != 0)
        fail_msg("load: %s", dbg_err_msg());
    const dbg_sensor_port *p = sn_inv_by_tap(inv, TAP);
    assert_non_null(p);
    assert_string_equal(p->tenant, "acme");
    dbg_sensor_inventory_free(inv);

    sn_inv_refresher *r = sn_inv_refresher_start(NULL, URI, 3600);
    assert_non_null(r);
    /* once subscribed it collects again (what changed before that is not missed) */
    inv = next_inventory(r, 10);
    if (!inv)
        fail_msg("no inventory within 10 s of the start: collected again only every hour");
    dbg_sensor_inventory_free(inv);

    /* acme's VM destroyed, another tenant's started: it gets the same tap */
    assert_int_equal(virDomainDestroy(a), 0);
    virDomainFree(a);
    virDomainPtr b = start_vm(c, "web-b", "globex", "52:54:00:bb:00:02");
    if (!wait_tap_on(r, "web-b", "globex", 10))
        fail_msg(TAP " not globex's web-b within 10 s of its start: refreshed only every hour");

    /* destroyed: its tap is nobody's */
    assert_int_equal(virDomainDestroy(b), 0);
    virDomainFree(b);
    if (!wait_tap_on(r, NULL, NULL, 10))
        fail_msg(TAP " still attributed 10 s after its VM was destroyed");

    sn_inv_refresher_stop(r);
    virConnectClose(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tap_reused_by_another_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
