/* cmocka fixture shared by the sensor's unit tests: a sensor under test with the tests' rules and
 * an optional inventory, the alerts it raised, and lookups and feeders over them. */
#ifndef DBG_TEST_SENSOR_FIXTURE_H
#define DBG_TEST_SENSOR_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/sensor.h"
#include "tests/unit/sensor_pkt.h"

#define T0 1764032523000000LL
#define MA "52:54:00:00:00:0a"
#define MB "52:54:00:00:00:0b"
#define MC "52:54:00:00:00:0c"
#define MH "52:54:00:00:00:01"

#define MAXA 64
typedef struct {
    dbg_alert a[MAXA];
    char evidence[MAXA][512];
    char extra[MAXA][512];
    size_t n;
} collected;

/* The alert's strings live only for the call, so they are copied for later assertions. */
static inline void collect(void *ud, const dbg_alert *a)
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

/* Built by a cmocka setup and freed by sensor_teardown rather than in the test, so that a failed
 * assertion leaves nothing behind for the sanitizer build's leak check to report. */
typedef struct {
    dbg_sensor_rules rules;
    dbg_sensor_inventory *inv; /* owned; a sensor may run without it (sensor_restart) */
    dbg_sensor *sensor;
    collected alerts;
} sensor_fixture;

static inline dbg_sensor_rules rules_default(void)
{
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    r.max_flows = 4096;
    r.max_hosts = 4096;
    return r;
}

/* For a test that changes f->rules or runs without f->inv (inv NULL): a fresh sensor, and no
 * alerts, so the assertions that follow see only what the new sensor raised. */
static inline void sensor_restart(sensor_fixture *f, const dbg_sensor_inventory *inv)
{
    dbg_sensor_free(f->sensor);
    memset(&f->alerts, 0, sizeof(f->alerts));
    f->sensor = dbg_sensor_new(&f->rules, inv, collect, &f->alerts);
}

/* For a test file's own setups: the fixture takes inv (NULL: none) and starts the sensor. */
static inline int sensor_setup(void **state, dbg_sensor_inventory *inv)
{
    sensor_fixture *f = calloc(1, sizeof(*f));
    if (!f) {
        dbg_sensor_inventory_free(inv);
        return -1;
    }
    f->rules = rules_default();
    f->inv = inv;
    sensor_restart(f, inv);
    *state = f;
    return 0;
}

static inline int without_inventory(void **state)
{
    return sensor_setup(state, NULL);
}

static inline int sensor_teardown(void **state)
{
    sensor_fixture *f = *state;
    dbg_sensor_free(f->sensor);
    dbg_sensor_inventory_free(f->inv);
    free(f);
    return 0;
}

/* A cmocka test entry on a fresh fixture from setup (with_inventory or without_inventory). */
#define SENSOR_TEST(test, setup) cmocka_unit_test_setup_teardown(test, setup, sensor_teardown)

static inline void feed(sensor_fixture *f, const tpkt *p, int64_t ts)
{
    dbg_sensor_packet(f->sensor, ts, p->b, p->len, p->len, 0);
    dbg_sensor_flush(f->sensor);
}

/* Decoders must survive every prefix of a valid frame... */
static inline void feed_prefixes(sensor_fixture *f, const tpkt *p, int64_t ts)
{
    for (size_t n = 0; n <= p->len; n++)
        dbg_sensor_packet(f->sensor, ts, p->b, n, p->len, 0);
}

/* ...and every single-byte corruption of it. */
static inline void feed_corruptions(sensor_fixture *f, const tpkt *p, int64_t ts)
{
    for (size_t i = 0; i < p->len; i++) {
        tpkt q = *p;
        q.b[i] ^= 0xff;
        dbg_sensor_packet(f->sensor, ts, q.b, q.len, q.len, 0);
    }
}

/* First alerts of incidents (summaries of folded repeats carry count > 1). */
static inline size_t count_type(const sensor_fixture *f, const char *type)
{
    const collected *c = &f->alerts;
    size_t n = 0;
    for (size_t i = 0; i < c->n && i < MAXA; i++)
        n += strcmp(c->a[i].type, type) == 0 && c->a[i].count == 1;
    return n;
}

/* Never NULL: a missing alert is an empty one, whose fields then fail the assertions. */
static inline const dbg_alert *find_type(const sensor_fixture *f, const char *type)
{
    static dbg_alert none = {.evidence = "", .extra_json = ""};
    const collected *c = &f->alerts;
    for (size_t i = 0; i < c->n && i < MAXA; i++)
        if (strcmp(c->a[i].type, type) == 0)
            return &c->a[i];
    print_error("no %s alert among %zu\n", type, c->n);
    return &none;
}

#endif
