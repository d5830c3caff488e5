/* Unit tests for the event connection the guard and the sensor's inventory refresher share
 * (platform/virt_events.c), on libvirt's test driver: a required subscription that fails leaves
 * nothing open and names the part, an optional one does not stop the others, and a failed
 * attempt is not made again before the retry period. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "platform/virt_events.h"

#define URI "test:///default"

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
    (void)c;
    (void)d;
    (void)event;
    (void)detail;
    (void)opaque;
    return 0;
}

/* no such event: libvirt refuses to subscribe to it */
#define NO_SUCH_EVENT 10000
static const dbg_virt_event_sub bad_required[] = {
    {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 1},
    {NO_SUCH_EVENT, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 1},
};
static const dbg_virt_event_sub bad_optional[] = {
    {VIR_DOMAIN_EVENT_ID_LIFECYCLE, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 1},
    {NO_SUCH_EVENT, VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), 0},
};

static void test_required_subscription_refused(void **state)
{
    (void)state;
    assert_int_equal(dbg_libvirt_event_loop_init(), 0);
    dbg_virt_events ev;
    dbg_virt_events_init(&ev, URI, "part: ", 1, bad_required, 2, NULL, NULL, 1000000);
    assert_int_equal(dbg_virt_events_open(&ev), -1);
    assert_null(ev.conn);
    assert_non_null(strstr(dbg_err_msg(), "part: cannot subscribe to domain events on " URI));
    dbg_err_clear();
}

static void test_optional_subscription_missing(void **state)
{
    (void)state;
    assert_int_equal(dbg_libvirt_event_loop_init(), 0);
    dbg_virt_events ev;
    dbg_virt_events_init(&ev, URI, "", 0, bad_optional, 2, NULL, NULL, 1000000);
    assert_int_equal(dbg_virt_events_keep(&ev, NULL), 1); /* opened just now */
    assert_non_null(ev.conn);
    assert_true(ev.cb[0] >= 0);
    assert_int_equal(ev.cb[1], -1);
    int dropped = 0;
    assert_int_equal(dbg_virt_events_keep(&ev, &dropped), 0); /* alive: nothing to do */
    assert_int_equal(dropped, 0);
    dbg_virt_events_close(&ev);
    assert_null(ev.conn);
}

static void test_retry_waits_for_the_period(void **state)
{
    (void)state;
    assert_int_equal(dbg_libvirt_event_loop_init(), 0);
    dbg_virt_events ev;
    /* a URI no driver takes: every attempt fails */
    dbg_virt_events_init(&ev, "nosuchdriver:///", "", 1, bad_optional, 1, NULL, NULL,
                         3600 * 1000000LL);
    assert_int_equal(dbg_virt_events_keep(&ev, NULL), -1);
    assert_non_null(strstr(dbg_err_msg(), "cannot connect to nosuchdriver:///"));
    dbg_err_clear();
    assert_int_equal(dbg_virt_events_keep(&ev, NULL), 0); /* the next attempt is in an hour */
    ev.next_attempt_us = 0;
    assert_int_equal(dbg_virt_events_keep(&ev, NULL), -1);
    dbg_err_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_required_subscription_refused),
        cmocka_unit_test(test_optional_subscription_missing),
        cmocka_unit_test(test_retry_waits_for_the_period),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
