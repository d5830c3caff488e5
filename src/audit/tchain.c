/* The tenant chains as verify checks them: every record's tenant_prev names the same tenant's
 * record before it, and every version 2 tree head's tenant heads are the tenants' last records up
 * to its size. Records are read in ranges on all cores (aud_tc_range_add), checked in log order
 * (aud_tc_apply, aud_tc_check_head). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "audit/verify_int.h"

/* FNV-1a: the keys are short tenant names, and this only spreads them over a table. */
static uint64_t name_hash64(const uint8_t *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* The raw (escaped as stored) tenant of canonical record bytes and its tenant_prev: the tenant is
 * the last '},"tenant":"' (aud_record_tenant says why), tenant_prev the key right after it. 0 when
 * found, -1 when the bytes do not have that shape. */
static int record_tenant_view(const uint8_t *d, size_t len, size_t *at, size_t *nlen, int64_t *tp)
{
    static const char pat[] = "},\"tenant\":\"";
    static const char tpk[] = ",\"tenant_prev\":";
    const size_t pl = sizeof(pat) - 1, tl = sizeof(tpk) - 1;
    if (len < pl + 1)
        return -1;
    /* from the end by the '}' (memrchr is vectorized): in a canonical record the first one met
     * before the closing brace is the target object's, which the tenant follows */
    size_t lim = len - 1, i;
    for (;;) {
        const uint8_t *c = memrchr(d, '}', lim);
        if (!c)
            return -1;
        i = (size_t)(c - d);
        if (len - i >= pl && memcmp(d + i, pat, pl) == 0)
            break;
        lim = i;
    }
    size_t s = i + pl, e = s;
    for (;;) { /* the closing quote: one after an even run of backslashes */
        const uint8_t *q = memchr(d + e, '"', len - e);
        if (!q)
            return -1;
        e = (size_t)(q - d);
        size_t bs = 0;
        while (e - bs > s && d[e - bs - 1] == '\\')
            bs++;
        if (bs % 2 == 0)
            break;
        e++;
    }
    *at = s;
    *nlen = e - s;
    e++;
    if (len - e < tl || memcmp(d + e, tpk, tl) != 0) {
        *tp = AUD_TPREV_ABSENT;
        return 0;
    }
    e += tl;
    if (len - e >= 4 && memcmp(d + e, "null", 4) == 0) {
        *tp = AUD_TPREV_NONE;
        return 0;
    }
    int64_t v = 0;
    int digits = 0;
    while (e < len && d[e] >= '0' && d[e] <= '9' && digits < 18) {
        v = v * 10 + (d[e++] - '0');
        digits++;
    }
    if (!digits || e >= len || d[e] != ',')
        return -1;
    *tp = v;
    return 0;
}

/* A new open-addressing index of cap (a power of two) slots over n items whose 64-bit hash is
 * at hash_off in each stride-byte item: the range's names and the tenants share it. */
static uint32_t *slots_build(const void *items, size_t n, size_t stride, size_t hash_off,
                             size_t cap)
{
    uint32_t *s = dbg_reallocarray(NULL, cap, sizeof(*s));
    if (!s)
        return NULL;
    for (size_t i = 0; i < cap; i++)
        s[i] = AUD_TC_NONE;
    for (size_t k = 0; k < n; k++) {
        uint64_t h;
        memcpy(&h, (const uint8_t *)items + k * stride + hash_off, sizeof(h));
        size_t j = h & (cap - 1);
        while (s[j] != AUD_TC_NONE)
            j = (j + 1) & (cap - 1);
        s[j] = (uint32_t)k;
    }
    return s;
}

static int range_slots_grow(aud_tc_range *r)
{
    size_t cap = r->slots_cap ? 2 * r->slots_cap : 16;
    uint32_t *s =
        slots_build(r->names, r->n_names, sizeof(*r->names), offsetof(aud_tc_name, hash), cap);
    if (!s)
        return -1;
    free(r->slots);
    r->slots = s;
    r->slots_cap = cap;
    return 0;
}

int aud_tc_range_add(aud_tc_range *r, const uint8_t *rec, size_t len)
{
    size_t at = 0, nlen = 0;
    int64_t tp = AUD_TPREV_ABSENT;
    uint32_t id = AUD_TC_NONE;
    if (r->n == r->cap &&
        (dbg_grow_array((void **)&r->tid, &r->cap, r->n + 1, sizeof(*r->tid), 1024) < 0 ||
         dbg_grow_array((void **)&r->tprev, &r->cap_prev, r->n + 1, sizeof(*r->tprev), 1024) < 0))
        return -1;
    /* not a record's shape: no tenant is linked to it (the writer does the same) */
    if (record_tenant_view(rec, len, &at, &nlen, &tp) == 0 && nlen > 0) {
        /* most records are of the tenant of the one before */
        if (r->n && r->tid[r->n - 1] != AUD_TC_NONE) {
            const aud_tc_name *n = &r->names[r->tid[r->n - 1]];
            if (n->raw_len == nlen && memcmp(n->raw, rec + at, nlen) == 0) {
                id = r->tid[r->n - 1];
                goto store;
            }
        }
        uint64_t h = name_hash64(rec + at, nlen);
        if (2 * (r->n_names + 1) > r->slots_cap && range_slots_grow(r) < 0)
            return -1;
        size_t j = h & (r->slots_cap - 1);
        for (; r->slots[j] != AUD_TC_NONE; j = (j + 1) & (r->slots_cap - 1)) {
            const aud_tc_name *n = &r->names[r->slots[j]];
            if (n->hash == h && n->raw_len == nlen && memcmp(n->raw, rec + at, nlen) == 0) {
                id = r->slots[j];
                break;
            }
        }
        if (id == AUD_TC_NONE) {
            if (dbg_grow_array((void **)&r->names, &r->cap_names, r->n_names + 1, sizeof(*r->names),
                               16) < 0)
                return -1;
            aud_tc_name *n = &r->names[r->n_names];
            memset(n, 0, sizeof(*n));
            n->hash = h;
            n->raw_len = nlen;
            if (!(n->raw = dbg_malloc(nlen + 1)))
                return -1;
            memcpy(n->raw, rec + at, nlen);
            n->raw[nlen] = '\0';
            /* unescaped once per tenant and range: the name the heads hash */
            n->name = aud_record_tenant(rec, len);
            if (!n->name) {
                free(n->raw);
                tp = AUD_TPREV_ABSENT;
                goto store;
            }
            id = r->n_names++;
            r->slots[j] = id;
        }
    } else {
        tp = AUD_TPREV_ABSENT;
    }
store:
    r->tid[r->n] = id;
    r->tprev[r->n++] = id == AUD_TC_NONE ? AUD_TPREV_ABSENT : tp;
    return 0;
}

void aud_tc_range_free(aud_tc_range *r)
{
    if (!r)
        return;
    for (uint32_t k = 0; k < r->n_names; k++) {
        free(r->names[k].raw);
        free(r->names[k].name);
    }
    free(r->names);
    free(r->slots);
    free(r->tid);
    free(r->tprev);
    free(r->global);
    memset(r, 0, sizeof(*r));
}

/* ---- the log-order state ---- */

struct aud_tc_tenant {
    char *name;
    uint64_t hash;
    int64_t last;  /* seq of its last record so far, -1 none */
    int64_t table; /* what the first segment's header says (records pruned), -1 nothing */
    int seen;      /* a record of it at or after the log's first seq was met */
    int linked;    /* and one that carries tenant_prev */
    uint8_t name_hash[AUD_HASH];
    int64_t leaf_seq; /* the seq leaf was hashed for (-1: none yet) */
    uint8_t leaf[AUD_HASH];
};
typedef struct aud_tc_tenant tc_tenant;

int aud_tc_init(aud_tc *c, uint64_t first)
{
    memset(c, 0, sizeof(*c));
    c->first = first;
    c->complete = first == 0; /* pruned: only a header table says who was before */
    c->unlinked_after_first = c->theads_unchecked_from = c->tables_unchecked_from = -1;
    if (aud_hasher_init(&c->h) < 0)
        return -1;
    c->have_h = 1;
    return 0;
}

void aud_tc_free(aud_tc *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].name);
    free(c->v);
    free(c->slots);
    free(c->order);
    if (c->have_h)
        aud_hasher_free(&c->h);
    memset(c, 0, sizeof(*c));
}

/* The dense index of tenant name, added (with no record yet) when new; -1 out of memory. */
static int64_t tc_find(aud_tc *c, const char *name)
{
    size_t len = strlen(name);
    uint64_t h = name_hash64((const uint8_t *)name, len);
    if (2 * (c->n + 1) > c->slots_cap) {
        size_t cap = c->slots_cap ? 2 * c->slots_cap : 64;
        uint32_t *s = slots_build(c->v, c->n, sizeof(*c->v), offsetof(tc_tenant, hash), cap);
        if (!s)
            return -1;
        free(c->slots);
        c->slots = s;
        c->slots_cap = cap;
    }
    size_t j = h & (c->slots_cap - 1);
    for (; c->slots[j] != AUD_TC_NONE; j = (j + 1) & (c->slots_cap - 1))
        if (c->v[c->slots[j]].hash == h && strcmp(c->v[c->slots[j]].name, name) == 0)
            return c->slots[j];
    if (dbg_grow_array((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v), 64) < 0)
        return -1;
    tc_tenant *t = &c->v[c->n];
    memset(t, 0, sizeof(*t));
    if (!(t->name = dbg_strdup(name)))
        return -1;
    t->hash = h;
    t->last = t->table = t->leaf_seq = -1;
    aud_thead_name_hash(&c->h, name, t->name_hash);
    c->slots[j] = (uint32_t)c->n;
    return (int64_t)c->n++;
}

int aud_tc_load_header(aud_tc *c, const json_t *tenants, int state, char *why, size_t why_size)
{
    if (aud_header_tenants_wrong(tenants, state, c->first, why, why_size))
        return 1;
    if (!json_is_object(tenants))
        return 0; /* none (written before tenant_prev): who was pruned away stays unknown */
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tenants, k, v)
    {
        int64_t i = tc_find(c, k);
        if (i < 0)
            return -1;
        c->v[i].last = c->v[i].table = json_integer_value(v);
    }
    c->complete = 1;
    return 0;
}

/* The dense index of tenant name, or -1 when no record of it was met (nor a header named it). */
static int64_t tc_lookup(const aud_tc *c, const char *name)
{
    if (!c->slots_cap)
        return -1;
    uint64_t h = name_hash64((const uint8_t *)name, strlen(name));
    for (size_t j = h & (c->slots_cap - 1); c->slots[j] != AUD_TC_NONE;
         j = (j + 1) & (c->slots_cap - 1))
        if (c->v[c->slots[j]].hash == h && strcmp(c->v[c->slots[j]].name, name) == 0)
            return c->slots[j];
    return -1;
}

int aud_tc_check_table(aud_tc *c, const json_t *tenants, int state, uint64_t first, char *why,
                       size_t why_size)
{
    char bad[200];
    if (aud_header_tenants_wrong(tenants, state, first, bad, sizeof(bad))) {
        snprintf(why, why_size,
                 "segment header's tenants table cannot be right: %s; no writer writes that, so "
                 "the header was edited",
                 bad);
        return 1;
    }
    if (!json_is_object(tenants)) { /* written before tenant_prev: nothing to compare */
        if (!c->tables_unchecked++)
            c->tables_unchecked_from = (int64_t)first;
        return 0;
    }
    /* The writer that rotated wrote its table as it was at this seq (it had read every record
     * before under the lock), and a prune will make this header the one verify and export trust
     * for the tenants it removes: a table that differs was edited, and must fail while the
     * records that show it still exist. */
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tenants, k, v)
    {
        int64_t i = tc_lookup(c, k);
        int64_t want = i >= 0 ? c->v[i].last : -1;
        long long have = (long long)json_integer_value(v);
        /* pruned and no first header to say who was: a tenant whose records are all gone is
         * unknown here but known to a writer that was open across the prune */
        if (want < 0 && !c->complete && (uint64_t)have < c->first)
            continue;
        if (want == have)
            continue;
        if (want < 0)
            snprintf(
                why, why_size,
                "segment header's tenants table is not the tenants' last records before seq "
                "%llu: it has tenant '%.200s' -> seq %lld, but the tenant has no record before "
                "seq %llu; the table is not signed, but every writer writes it as the log "
                "stands, so the header was edited",
                (unsigned long long)first, k, have, (unsigned long long)first);
        else
            snprintf(
                why, why_size,
                "segment header's tenants table is not the tenants' last records before seq "
                "%llu: it has tenant '%.200s' -> seq %lld, but the tenant's last record before "
                "it is seq %lld; the table is not signed, but every writer writes it as the "
                "log stands, so the header was edited",
                (unsigned long long)first, k, have, (long long)want);
        return 1;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].last < 0 || json_object_get(tenants, c->v[i].name))
            continue;
        snprintf(
            why, why_size,
            "segment header's tenants table is not the tenants' last records before seq "
            "%llu: it leaves out tenant '%.200s', whose last record before it is seq %lld; the "
            "table is not signed, but every writer writes it as the log stands, so the "
            "header was edited",
            (unsigned long long)first, c->v[i].name, (long long)c->v[i].last);
        return 1;
    }
    c->tables_checked++;
    return 0;
}

int aud_tc_apply(aud_tc *c, aud_tc_range *r, size_t i0, size_t i1, uint64_t seq0, char *why,
                 size_t why_size, int64_t *bad_seq)
{
    if (!r->global && r->n_names) {
        if (!(r->global = dbg_reallocarray(NULL, r->n_names, sizeof(*r->global))))
            return -1;
        for (uint32_t k = 0; k < r->n_names; k++) {
            int64_t g = tc_find(c, r->names[k].name);
            if (g < 0)
                return -1;
            r->global[k] = (uint32_t)g;
        }
    }
    for (size_t i = i0; i < i1; i++) {
        if (r->tid[i] == AUD_TC_NONE)
            continue;
        tc_tenant *t = &c->v[r->global[r->tid[i]]];
        uint64_t seq = seq0 + i;
        int64_t p = r->tprev[i];
        int ok;
        if (p == AUD_TPREV_ABSENT) { /* written before tenant_prev: nothing to check */
            ok = 1;
            c->unlinked++;
            /* after one that had it: a writer from before tenant_prev still appends (said, not
             * failed: see docs/internals/audit.md) */
            if (t->linked && !c->unlinked_after++)
                c->unlinked_after_first = (int64_t)seq;
        } else if (t->seen)
            ok = p == t->last;
        else /* its first record here: null, or one pruned (as the header says, when it does) */
            ok = p == AUD_TPREV_NONE ||
                 (p >= 0 && (uint64_t)p < c->first && (t->table < 0 || p == t->table));
        if (!ok) {
            char want[96];
            if (t->seen)
                snprintf(want, sizeof(want), "seq %lld", (long long)t->last);
            else if (c->first == 0)
                snprintf(want, sizeof(want), "none (it is the tenant's first)");
            else if (t->table >= 0)
                snprintf(want, sizeof(want), "seq %lld (the first segment's header) or null",
                         (long long)t->table);
            else
                snprintf(want, sizeof(want), "null or a pruned seq below %llu",
                         (unsigned long long)c->first);
            char have[32];
            if (p == AUD_TPREV_NONE)
                snprintf(have, sizeof(have), "null");
            else
                snprintf(have, sizeof(have), "seq %lld", (long long)p);
            snprintf(why, why_size,
                     "record %llu of tenant '%s': tenant_prev is %s, but the tenant's previous "
                     "record in the log is %s (a record of the tenant missing, or tenant_prev "
                     "wrong)",
                     (unsigned long long)seq, t->name, have, want);
            *bad_seq = (int64_t)seq;
            return 1;
        }
        t->last = (int64_t)seq;
        t->seen = 1;
        if (p != AUD_TPREV_ABSENT)
            t->linked = 1;
    }
    return 0;
}

static int by_name_hash(const void *a, const void *b, void *arg)
{
    const tc_tenant *v = arg;
    return memcmp(v[*(const uint32_t *)a].name_hash, v[*(const uint32_t *)b].name_hash, AUD_HASH);
}

int aud_tc_check_head(aud_tc *c, const aud_sth *s, char *why, size_t why_size)
{
    if (!s->has_theads) { /* a version 1 head signs no tenant heads */
        c->heads_v1++;
        return 0;
    }
    /* the tree of aud_theads_root, kept between heads: the order changes only when a tenant is
     * new, and a leaf only when its tenant has a new last record (every head would otherwise
     * sort and hash every tenant again, which with many tenants cost more than the records) */
    if (c->n_order != c->n) {
        if (dbg_grow_array((void **)&c->order, &c->cap_order, c->n, sizeof(*c->order), 64) < 0)
            return -1;
        for (size_t i = 0; i < c->n; i++)
            c->order[i] = (uint32_t)i;
        qsort_r(c->order, c->n, sizeof(*c->order), by_name_hash, c->v);
        c->n_order = c->n;
    }
    size_t n = 0;
    aud_frontier f;
    aud_frontier_init(&f);
    for (size_t k = 0; k < c->n; k++) {
        tc_tenant *t = &c->v[c->order[k]];
        if (t->last < 0)
            continue; /* met in a range, no record of it yet at this size */
        if (t->leaf_seq != t->last) {
            aud_thead_leaf(&c->h, t->name_hash, (uint64_t)t->last, t->leaf);
            t->leaf_seq = t->last;
        }
        aud_frontier_add(&f, &c->h, t->leaf);
        n++;
    }
    /* Pruned, and no header says who was before: the writer may have known tenants whose records
     * are all gone. It knew every tenant met here, at the same last record, so the head has at
     * least these; with as many, it has exactly these. */
    if (!c->complete && n < s->theads_size) {
        if (!c->theads_unchecked++)
            c->theads_unchecked_from = (int64_t)s->size;
        return 0;
    }
    uint8_t root[AUD_HASH];
    aud_frontier_root(&f, &c->h, root);
    if (n == s->theads_size && memcmp(root, s->theads, AUD_HASH) == 0)
        return 0;
    char signed_hex[2 * AUD_HASH + 1], have_hex[2 * AUD_HASH + 1];
    dbg_hex_encode(s->theads, AUD_HASH, signed_hex);
    dbg_hex_encode(root, AUD_HASH, have_hex);
    snprintf(why, why_size,
             "tree head of size %llu: its tenant heads (%llu tenants, root %s) are not the "
             "tenants' last records in the log up to that size (%zu tenants, root %s)",
             (unsigned long long)s->size, (unsigned long long)s->theads_size, signed_hex, n,
             have_hex);
    return 1;
}

void aud_tc_report(const aud_tc *c, dbg_audit_verify_result *res)
{
    res->unlinked = c->unlinked;
    res->unlinked_after = c->unlinked_after;
    res->unlinked_after_first = c->unlinked_after_first;
    res->heads_v1 = c->heads_v1;
    res->theads_unchecked = c->theads_unchecked;
    res->theads_unchecked_from = c->theads_unchecked_from;
    res->header_tables = c->tables_checked;
    res->header_tables_unchecked = c->tables_unchecked;
    res->header_tables_unchecked_from = c->tables_unchecked_from;
}
