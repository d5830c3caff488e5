/* A fixed-size set-associative table (like a CPU cache): a key hashes to a bucket of SN_WAYS
 * entries; a miss takes a free or expired entry, else evicts the bucket's least recently used
 * one and counts it. Memory is allocated once, so the per-packet path never allocates and the
 * sensor's memory is bounded whatever the traffic. */
#include <stdlib.h>

#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

uint64_t sn_hash(const void *key, size_t len)
{
    /* 64-bit multiply-xorshift over 8-byte words (keys are small and fixed-size). */
    const uint8_t *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (uint64_t)len;
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= w;
        h *= 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    h ^= w;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 32;
    return h;
}

int sn_table_init(sn_table *t, size_t max_entries, size_t entry_size, size_t key_len, int64_t ttl)
{
    memset(t, 0, sizeof(*t));
    size_t nb = 1;
    while (nb * SN_WAYS < max_entries && nb < ((size_t)1 << 28))
        nb <<= 1;
    t->mem = dbg_calloc(nb * SN_WAYS, entry_size);
    if (!t->mem)
        return -1;
    t->nbuckets = nb;
    t->entry_size = entry_size;
    t->key_len = key_len;
    t->ttl = ttl;
    return 0;
}

void sn_table_free(sn_table *t)
{
    free(t->mem);
    t->mem = NULL;
}

size_t sn_table_capacity(const sn_table *t) { return t->nbuckets * SN_WAYS; }

void *sn_table_entry_at(sn_table *t, size_t index) { return t->mem + index * t->entry_size; }

size_t sn_table_index_of(const sn_table *t, const void *entry)
{
    return (size_t)((const uint8_t *)entry - t->mem) / t->entry_size;
}

static void release(sn_table *t, sn_slot *sl, int expired)
{
    if (t->on_evict)
        t->on_evict(t->ud, sl, expired);
    if (expired)
        t->expirations++;
    else
        t->evictions++;
    sl->used = 0;
    t->live--;
}

void *sn_table_get(sn_table *t, const void *key, int64_t now, int create, int *is_new)
{
    uint64_t h = sn_hash(key, t->key_len);
    uint8_t *bucket = t->mem + (h & (t->nbuckets - 1)) * SN_WAYS * t->entry_size;
    sn_slot *free_slot = NULL, *oldest = NULL;
    if (is_new)
        *is_new = 0;
    for (int i = 0; i < SN_WAYS; i++) {
        sn_slot *sl = (sn_slot *)(bucket + (size_t)i * t->entry_size);
        if (!sl->used) {
            if (!free_slot)
                free_slot = sl;
            continue;
        }
        if (memcmp((uint8_t *)sl + sizeof(sn_slot), key, t->key_len) == 0) {
            if (t->ttl > 0 && now - sl->last > t->ttl) {
                release(t, sl, 1);
                if (!free_slot)
                    free_slot = sl;
                break;
            }
            sl->last = now > sl->last ? now : sl->last;
            return sl;
        }
        if (t->ttl > 0 && now - sl->last > t->ttl) {
            release(t, sl, 1);
            if (!free_slot)
                free_slot = sl;
            continue;
        }
        if (!oldest || sl->last < oldest->last)
            oldest = sl;
    }
    if (!create)
        return NULL;
    sn_slot *sl = free_slot;
    if (!sl) {
        release(t, oldest, 0);
        sl = oldest;
    }
    uint32_t gen = sl->gen + 1;
    memset(sl, 0, t->entry_size);
    sl->gen = gen;
    sl->used = 1;
    sl->last = now;
    memcpy((uint8_t *)sl + sizeof(sn_slot), key, t->key_len);
    t->live++;
    if (is_new)
        *is_new = 1;
    return sl;
}
