/* Unit tests for the sensor's set-associative tables (src/sensor/table.c): which way an
 * insertion takes (a free way, else an expired one, else the least recently used, each
 * counted), and the fingerprint set's answers (new, seen, seen but expired). Every key of a
 * test lands in one bucket (the tables have a single bucket), so the choice of way is what is
 * tested. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "sensor/sensor_internal.h"

typedef struct {
    sn_slot h;
    uint64_t key;
    uint64_t value;
} entry;

/* stamps are in units of 1.024 ms: keep the times of a test well apart */
#define MS(x) ((int64_t)(x) * 1000)

static entry *get(sn_table *t, uint64_t key, int64_t now, int *is_new)
{
    return sn_table_get(t, &key, now, 1, is_new);
}

static void test_free_then_lru(void **state)
{
    (void)state;
    sn_table t;
    assert_int_equal(sn_table_init(&t, SN_WAYS, sizeof(entry), sizeof(uint64_t), 0), 0);
    assert_int_equal(t.nbuckets, 1);
    int is_new = 0;
    for (uint64_t k = 1; k <= SN_WAYS; k++) {
        entry *e = get(&t, k, MS(10 * k), &is_new);
        assert_true(is_new);
        e->value = k;
    }
    assert_int_equal(t.live, SN_WAYS);
    assert_int_equal(t.evictions, 0);
    /* key 1 is used again: key 2 is now the least recently used */
    entry *e1 = get(&t, 1, MS(200), &is_new);
    assert_false(is_new);
    assert_int_equal(e1->value, 1);
    entry *e9 = get(&t, 9, MS(210), &is_new);
    assert_true(is_new);
    assert_int_equal(e9->value, 0); /* cleared on insertion */
    assert_int_equal(t.evictions, 1);
    assert_int_equal(t.live, SN_WAYS);
    uint64_t k2 = 2, k1 = 1, k3 = 3;
    assert_null(sn_table_get(&t, &k2, MS(220), 0, NULL));
    assert_non_null(sn_table_get(&t, &k1, MS(220), 0, NULL));
    assert_non_null(sn_table_get(&t, &k3, MS(220), 0, NULL));
    sn_table_free(&t);
}

static int evicted_expired, evicted_lru;
static void on_evict(void *ud, void *e, int expired)
{
    (void)ud;
    (void)e;
    if (expired)
        evicted_expired++;
    else
        evicted_lru++;
}

static void test_expired_way_reused(void **state)
{
    (void)state;
    sn_table t;
    /* entries idle for more than 100 ms expire */
    assert_int_equal(sn_table_init(&t, SN_WAYS, sizeof(entry), sizeof(uint64_t), MS(100)), 0);
    t.on_evict = on_evict;
    evicted_expired = evicted_lru = 0;
    int is_new = 0;
    /* ways 0..7: keys 1..8; all but keys 4 and 6 are used again before they expire */
    for (uint64_t k = 1; k <= SN_WAYS; k++)
        get(&t, k, MS(0), &is_new);
    for (int64_t at = 80; at <= 160; at += 80)
        for (uint64_t k = 1; k <= SN_WAYS; k++)
            if (k != 4 && k != 6) {
                get(&t, k, MS(at), &is_new);
                assert_false(is_new);
            }
    /* a new key takes the first expired way (key 4's), not the least recently used */
    get(&t, 100, MS(200), &is_new);
    assert_true(is_new);
    assert_int_equal(evicted_expired, 1);
    assert_int_equal(evicted_lru, 0);
    assert_int_equal(t.expirations, 1);
    assert_int_equal(t.evictions, 0);
    uint64_t k4 = 4, k6 = 6;
    assert_null(sn_table_get(&t, &k4, MS(200), 0, NULL));
    /* key 6 is still there but expired: a lookup releases it */
    assert_null(sn_table_get(&t, &k6, MS(200), 0, NULL));
    assert_int_equal(t.expirations, 2);
    assert_int_equal(t.live, SN_WAYS - 1);
    /* now there is a free way: no eviction */
    get(&t, 101, MS(210), &is_new);
    assert_true(is_new);
    assert_int_equal(t.evictions + t.expirations, 2);
    /* full and nothing expired: the least recently used goes */
    get(&t, 102, MS(220), &is_new);
    assert_int_equal(t.evictions, 1);
    assert_int_equal(evicted_lru, 1);
    uint64_t k1 = 1, k2 = 2;
    assert_null(sn_table_get(&t, &k1, MS(220), 0, NULL)); /* way 0: first of the oldest */
    assert_non_null(sn_table_get(&t, &k2, MS(220), 0, NULL));
    sn_table_free(&t);
}

/* Stamps are times modulo 2^32 units of 1.024 ms: ages still compare right when the stamps wrap
 * between two uses, and a ttl longer than the stamps' range (51 days) is the whole range, not
 * its remainder (a 60-day ttl once left 9 days, so a 10-day-old entry was taken as expired). */
static void test_stamps_wrap_and_long_ttl(void **state)
{
    (void)state;
    /* a real-looking time (2025) whose stamp is 20 units before the wrap */
    const int64_t wrap = ((int64_t)400 << 42) + ((((int64_t)1 << 32) - 20) << 10);
    sn_table t;
    assert_int_equal(sn_table_init(&t, SN_WAYS, sizeof(entry), sizeof(uint64_t), MS(100)), 0);
    t.on_evict = on_evict;
    evicted_expired = evicted_lru = 0;
    int is_new = 0;
    get(&t, 1, wrap, &is_new);
    uint64_t k1 = 1;
    assert_non_null(sn_table_get(&t, &k1, wrap + MS(50), 0, NULL)); /* the stamp wrapped */
    assert_non_null(sn_table_get(&t, &k1, wrap + MS(140), 0, NULL));
    assert_null(sn_table_get(&t, &k1, wrap + MS(300), 0, NULL));
    assert_int_equal(t.expirations, 1);
    sn_table_free(&t);

    const int64_t day = (int64_t)86400 * 1000000;
    assert_int_equal(sn_table_init(&t, SN_WAYS, sizeof(entry), sizeof(uint64_t), 60 * day), 0);
    t.on_evict = on_evict;
    evicted_expired = evicted_lru = 0;
    for (uint64_t k = 1; k <= SN_WAYS; k++)
        get(&t, k, wrap + (int64_t)k, &is_new);
    /* ten days on, a full bucket: the least recently used is evicted, none has expired */
    get(&t, 100, wrap + 10 * day, &is_new);
    assert_true(is_new);
    assert_int_equal(t.expirations, 0);
    assert_int_equal(t.evictions, 1);
    assert_int_equal(evicted_lru, 1);
    uint64_t k2 = 2;
    assert_non_null(sn_table_get(&t, &k2, wrap + 10 * day, 0, NULL));
    sn_table_free(&t);
}

static void test_seen_set(void **state)
{
    (void)state;
    sn_seen set;
    assert_int_equal(sn_seen_init(&set, SN_WAYS, MS(100)), 0);
    assert_int_equal(set.nbuckets, 1);
    /* hashes differ in their high 32 bits (the fingerprint) */
    uint64_t h[SN_WAYS + 1];
    for (int i = 0; i <= SN_WAYS; i++)
        h[i] = (uint64_t)(i + 1) << 33;
    for (int i = 0; i < SN_WAYS; i++) {
        assert_int_equal(sn_seen_add(&set, h[i], MS(1000 + i)), 1);
        assert_true(sn_seen_has(&set, h[i]));
    }
    assert_false(sn_seen_has(&set, h[SN_WAYS]));
    assert_int_equal(set.live, SN_WAYS);
    assert_int_equal(sn_seen_add(&set, h[3], MS(1050)), 0); /* seen within the ttl */
    /* full, none expired: the least recently seen (h[0]) is evicted */
    assert_int_equal(sn_seen_add(&set, h[SN_WAYS], MS(1060)), 1);
    assert_int_equal(set.evictions, 1);
    assert_false(sn_seen_has(&set, h[0]));
    /* seen, but longer ago than the ttl: new again */
    assert_int_equal(sn_seen_add(&set, h[3], MS(1300)), 1);
    /* every other key has expired by now: a new key takes an expired way, no eviction */
    assert_int_equal(sn_seen_add(&set, h[0], MS(1310)), 1);
    assert_int_equal(set.evictions, 1);
    assert_int_equal(set.live, SN_WAYS);
    assert_true(sn_seen_has(&set, h[0]));
    /* the first expired way was h[SN_WAYS]'s (way 0) */
    assert_false(sn_seen_has(&set, h[SN_WAYS]));
    assert_true(sn_seen_has(&set, h[1]));
    sn_seen_free(&set);
}

/* A full bucket's least recently used way, as the SSE2 minimum takes it for stamps younger than
 * 2^31 units: the loop's way on random buckets (stamps across the wrap, many equal ones, whose
 * first way is the one taken). */
static void test_oldest_way_recent(void **state)
{
    (void)state;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int n = 0; n < 200000; n++) {
        sn_bucket_meta m;
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint32_t st = (uint32_t)x;
        /* ages from a small range (ties) or from the whole permitted one */
        uint32_t span = n & 1 ? 4u : 0x7fffffffu;
        for (int i = 0; i < SN_WAYS; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            m.tag[i] = 1;
            m.stamp[i] = st - (uint32_t)(x % span);
        }
        assert_int_equal(sn_oldest_way_recent(&m), sn_oldest_way(&m));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_then_lru),
        cmocka_unit_test(test_expired_way_reused),
        cmocka_unit_test(test_stamps_wrap_and_long_ttl),
        cmocka_unit_test(test_seen_set),
        cmocka_unit_test(test_oldest_way_recent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
