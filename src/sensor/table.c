/* A fixed-size set-associative table (like a CPU cache): a key hashes to a bucket of SN_WAYS
 * entries; a miss takes a free or expired entry, else evicts the bucket's least recently used
 * one and counts it. Memory is allocated once, so the per-packet path never allocates and the
 * sensor's memory is bounded whatever the traffic. */
#include <stdlib.h>
#include <sys/mman.h>

#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

/* Zeroed, page-aligned memory. Tables of 1 MiB or more are mapped as whole 2 MiB huge pages
 * on a 2 MiB boundary: random lookups over tens of MiB otherwise miss the TLB on nearly every
 * packet, and the kernel backs only the aligned 2 MiB stretches of a mapping with huge pages (a
 * 1 MiB bucket array, or the unaligned ends of a big one, stayed in 4 KiB pages and cost a page
 * walk per lookup). The memory is faulted in here, at start: otherwise the kernel allocates and
 * zeroes pages on the packet path (a fifth of the time in the benchmark), and a burst could find
 * memory missing. */
#define SN_HUGE ((size_t)2 << 20)
#define SN_HUGE_FROM ((size_t)1 << 20)

size_t sn_alloc_mapped(size_t size)
{
    return size >= SN_HUGE_FROM ? (size + SN_HUGE - 1) & ~(SN_HUGE - 1) : size;
}

void *sn_alloc_zeroed(size_t size)
{
    size_t len = sn_alloc_mapped(size);
    int huge = size >= SN_HUGE_FROM;
    /* over-map by one huge page and trim both ends to reach the alignment */
    size_t span = huge ? len + SN_HUGE : len;
    uint8_t *raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        dbg_err_errno(DBG_ERR_NOMEM, "sensor: cannot map %zu bytes of state", size);
        return NULL;
    }
    uint8_t *p = raw;
    if (huge) {
        p = (uint8_t *)(((uintptr_t)raw + SN_HUGE - 1) & ~(uintptr_t)(SN_HUGE - 1));
        if (p > raw)
            munmap(raw, (size_t)(p - raw));
        if (raw + span > p + len)
            munmap(p + len, (size_t)(raw + span - (p + len)));
#ifdef MADV_HUGEPAGE
        madvise(p, len, MADV_HUGEPAGE);
#endif
    }
    int populated = 0;
#ifdef MADV_POPULATE_WRITE
    populated = madvise(p, len, MADV_POPULATE_WRITE) == 0;
#endif
    if (!populated) /* older kernels: touch every page */
        for (size_t off = 0; off < len; off += 4096)
            ((volatile uint8_t *)p)[off] = 0;
    return p;
}

void sn_free_zeroed(void *p, size_t size)
{
    if (p)
        munmap(p, sn_alloc_mapped(size));
}

int sn_table_init(sn_table *t, size_t max_entries, size_t entry_size, size_t key_len, int64_t ttl)
{
    return sn_table_init_at(t, max_entries, entry_size, sizeof(sn_slot), key_len, ttl);
}

int sn_table_init_at(sn_table *t, size_t max_entries, size_t entry_size, size_t key_off,
                     size_t key_len, int64_t ttl)
{
    memset(t, 0, sizeof(*t));
    /* hot_size (entry_size here; an owner may lower it) must cover the slot and the key */
    if (key_off < sizeof(sn_slot) || entry_size < key_off + key_len) {
        dbg_err_set(DBG_ERR_INTERNAL, "sensor: table entry of %zu bytes cannot hold its key",
                    entry_size);
        return -1;
    }
    if (key_len % 8 != 0) { /* keys are hashed and compared as 8-byte words */
        dbg_err_set(DBG_ERR_INTERNAL, "sensor: table key of %zu bytes is not padded to 8", key_len);
        return -1;
    }
    size_t nb = 1;
    while (nb * SN_WAYS < max_entries && nb < ((size_t)1 << 28))
        nb <<= 1;
    t->nbuckets = nb;
    t->entry_size = entry_size;
    t->mem = sn_alloc_zeroed(nb * SN_WAYS * entry_size);
    t->meta = sn_alloc_zeroed(nb * sizeof(sn_bucket_meta));
    if (!t->mem || !t->meta) {
        sn_table_free(t);
        return -1;
    }
    t->key_off = key_off;
    t->key_len = key_len;
    t->hot_size = entry_size;
    t->ttl = ttl;
    t->ttl_st = sn_ttl_stamps(ttl);
    return 0;
}

void sn_table_free(sn_table *t)
{
    sn_free_zeroed(t->mem, t->nbuckets * SN_WAYS * t->entry_size);
    sn_free_zeroed(t->meta, t->nbuckets * sizeof(sn_bucket_meta));
    t->mem = NULL;
    t->meta = NULL;
}

size_t sn_table_capacity(const sn_table *t) { return t->nbuckets * SN_WAYS; }

void *sn_table_entry_at(sn_table *t, size_t index) { return t->mem + index * t->entry_size; }

size_t sn_table_expire_some(sn_table *t, int64_t now, size_t n)
{
    if (!t->ttl_st || !t->live)
        return 0;
    uint32_t st = sn_stamp(now);
    size_t released = 0;
    for (size_t k = 0; k < n && k < t->nbuckets; k++) {
        size_t b = t->sweep++ & (t->nbuckets - 1);
        sn_bucket_meta *m = &t->meta[b];
        unsigned mask = sn_stale_mask(m, st, t->ttl_st) & ~sn_tag_mask(m, 0) & 0xffu;
        for (; mask; mask &= mask - 1) {
            int way = __builtin_ctz(mask);
            sn_slot *sl = (sn_slot *)(t->mem + (b * SN_WAYS + (size_t)way) * t->entry_size);
            if (sl->used && now - sl->last > t->ttl) { /* the stamp is coarse: the time decides */
                sn_table_release(t, m, way, sl, 1);
                released++;
            }
        }
    }
    return released;
}

void sn_table_release(sn_table *t, sn_bucket_meta *m, int way, sn_slot *sl, int expired)
{
    if (t->on_evict)
        t->on_evict(t->ud, sl, expired);
    if (expired)
        t->expirations++;
    else
        t->evictions++;
    sl->used = 0;
    m->tag[way] = 0;
    t->live--;
}

void *sn_table_get(sn_table *t, const void *key, int64_t now, int create, int *is_new)
{
    return sn_table_get_h(t, key, sn_hash(key, t->key_len), now, create, is_new);
}


void *sn_table_get_h(sn_table *t, const void *key, uint64_t h, int64_t now, int create,
                     int *is_new)
{
    return sn_table_get_with(t, key, t->key_off, t->key_len, t->entry_size, t->hot_size, h, now,
                             create, is_new);
}

/* ---- fingerprint set ---- */
int sn_seen_init(sn_seen *t, size_t max_entries, int64_t ttl)
{
    memset(t, 0, sizeof(*t));
    size_t nb = 1;
    while (nb * SN_WAYS < max_entries && nb < ((size_t)1 << 28))
        nb <<= 1;
    t->nbuckets = nb;
    t->ttl_st = ttl > 0 ? sn_ttl_stamps(ttl) : UINT32_MAX;
    t->b = sn_alloc_zeroed(nb * sizeof(sn_bucket_meta));
    return t->b ? 0 : -1;
}

void sn_seen_free(sn_seen *t)
{
    sn_free_zeroed(t->b, t->nbuckets * sizeof(sn_bucket_meta));
    t->b = NULL;
}

