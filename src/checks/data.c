/* 数据 checks (cloud 8.2.4.5-8.2.4.7): migration over verified TLS, replicas of tenant
 * storage, and no storage left behind unwiped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

dbg_check_result dbg_chk_migration_tls(const dbg_snapshot *s, const dbg_check_params *p,
                                       dbg_evidence_list *ev)
{
    (void)p;
    const char *path = "/etc/libvirt/qemu.conf";
    const dbg_host_file *f = dbg_snapshot_host_file(s, path);
    char where[512];
    if (dbg_chk_unreadable(f, path, "migrate_tls_force, migrate_tls_x509_verify", ev))
        return DBG_CHECK_ERROR;
    if (!f || !f->present) {
        dbg_chk_where(f, NULL, path, where, sizeof(where));
        dbg_evidence_add(ev, 0, where, "migrate_tls_force", "file not available",
                         "qemu driver configuration to read");
        return DBG_CHECK_ERROR;
    }
    long force = 0, verify = 1;
    const dbg_setting *st_force = dbg_host_file_get(f, "migrate_tls_force");
    const dbg_setting *st_verify = dbg_host_file_get(f, "migrate_tls_x509_verify");
    if (!st_verify)
        st_verify = dbg_host_file_get(f, "default_tls_x509_verify");
    const dbg_setting *st_dir = dbg_host_file_get(f, "migrate_tls_x509_cert_dir");
    if (!st_dir)
        st_dir = dbg_host_file_get(f, "default_tls_x509_cert_dir");
    if ((st_force && dbg_chk_long(st_force, &force)) ||
        (st_verify && dbg_chk_long(st_verify, &verify))) {
        dbg_evidence_add(ev, 0, path, "migrate_tls_force / migrate_tls_x509_verify",
                         "a value that is not a number", "0 or 1");
        return DBG_CHECK_ERROR;
    }
    dbg_chk_where(f, st_force, path, where, sizeof(where));
    dbg_evidence_addf(ev, force == 1, where, "migrate_tls_force",
                      "1 (every migration over TLS: integrity and confidentiality)", "%ld%s", force,
                      st_force ? "" : " (default: TLS only when asked for with --tls)");
    dbg_chk_where(f, st_verify, path, where, sizeof(where));
    dbg_evidence_addf(ev, verify != 0, where,
                      st_verify ? st_verify->key : "migrate_tls_x509_verify",
                      "1 (the peer host's certificate is verified)", "%ld%s", verify,
                      st_verify ? "" : " (default)");
    char dir[256] = "";
    dbg_chk_where(f, st_dir, path, where, sizeof(where));
    dbg_evidence_add(ev, 1, where, st_dir ? st_dir->key : "default_tls_x509_cert_dir",
                     st_dir ? dbg_chk_value(st_dir, dir, sizeof(dir)) : "/etc/pki/qemu (default)",
                     "certificates for migration TLS");
    if (verify == 0)
        return DBG_CHECK_FAIL;
    return force == 1 ? DBG_CHECK_PASS : DBG_CHECK_PARTIAL;
}

static int pool_holds_tenant_data(const dbg_snapshot *s, const dbg_pool *pool)
{
    for (size_t i = 0; i < s->n_volumes; i++)
        if (dbg_streq(s->volumes[i].pool, pool->name) &&
            (s->volumes[i].tenant_id || s->volumes[i].in_use))
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every volume's path and "pool/name", sorted: what a disk's source is when a listed pool
 * holds it. NULL when out of memory. */
static char **volume_keys(const dbg_snapshot *s, size_t *n_out)
{
    char **keys = dbg_calloc(2 * s->n_volumes + 1, sizeof(*keys));
    size_t n = 0;
    for (size_t i = 0; keys && i < s->n_volumes; i++) {
        const dbg_volume *v = &s->volumes[i];
        if ((v->path && !(keys[n++] = dbg_strdup(v->path))) ||
            !(keys[n++] = dbg_asprintf("%s/%s", v->pool ? v->pool : "", v->name ? v->name : ""))) {
            for (size_t k = 0; k < n; k++)
                free(keys[k]);
            free(keys);
            return NULL;
        }
    }
    if (keys)
        qsort(keys, n, sizeof(*keys), cmp_str);
    *n_out = n;
    return keys;
}

static int under(const char *src, const char *dir)
{
    size_t n = dir ? strlen(dir) : 0;
    return n && !strncmp(src, dir, n) && src[n] == '/';
}

/* A disk in a pool whose volumes were not listed ("pool/volume", or a file under its target
 * path): that pool's own verdict covers it. */
static int in_unlisted_pool(const dbg_snapshot *s, const char *src)
{
    for (size_t i = 0; i < s->n_pools; i++)
        if (s->pools[i].volumes_error &&
            (under(src, s->pools[i].name) || under(src, s->pools[i].target_path)))
            return 1;
    return 0;
}

/* Writable disks of VMs that are not the platform's own and that are no listed volume (plain
 * files or devices, network disks): tenant data all the same, whose copies libvirt does not
 * show. Lists them and returns how many there are. */
static size_t disks_outside_pools(const dbg_snapshot *s, const char *expected,
                                  dbg_evidence_list *ev)
{
    size_t nk = 0, n = 0;
    char **keys = volume_keys(s, &nk);
    if (!keys) {
        ev->failed = 1;
        return 0;
    }
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (d->role)
            continue;
        for (size_t k = 0; k < d->n_disks; k++) {
            const dbg_disk *dk = &d->disks[k];
            const char *src = dk->source;
            if (!src || dk->readonly || (dk->device && strcmp(dk->device, "disk")) ||
                (nk && bsearch(&src, keys, nk, sizeof(*keys), cmp_str)) || in_unlisted_pool(s, src))
                continue;
            if (n++ >= DBG_CHK_MAX_LISTED)
                continue;
            char where[300], key[300];
            dbg_chk_dom_src(d, where, sizeof(where));
            snprintf(key, sizeof(key), "disk %s", dk->target ? dk->target : "?");
            dbg_evidence_addf(ev, 0, where, key, expected,
                              "%s %s is no volume of a storage pool libvirt lists: one copy as "
                              "far as libvirt shows; copies made below it (RAID, storage array, "
                              "backup) must be attested",
                              dk->type ? dk->type : "disk", src);
        }
    }
    for (size_t k = 0; k < nk; k++)
        free(keys[k]);
    free(keys);
    dbg_chk_more(ev, 0, "libvirt", n, "VM disks outside the listed pools", expected);
    return n;
}

dbg_check_result dbg_chk_replicas(const dbg_snapshot *s, const dbg_check_params *p,
                                  dbg_evidence_list *ev)
{
    (void)p;
    size_t good = 0, bad = 0, unseen = 0, pools = 0;
    const char *expected = "at least 2 replicas of tenant data";
    /* No pool listed because the driver could not list them: not "no tenant data". */
    if (s->pools_error) {
        pools++;
        unseen++;
        dbg_evidence_addf(ev, 0, "libvirt virConnectListAllStoragePools", "replicas", expected,
                          "storage pools not listed (%s): where tenant data is kept and how many "
                          "copies it has cannot be seen",
                          s->pools_error);
    }
    for (size_t i = 0; i < s->n_pools; i++) {
        const dbg_pool *pool = &s->pools[i];
        /* A pool whose volumes were not listed may hold tenant data nobody saw. */
        if (!pool->volumes_error && !pool_holds_tenant_data(s, pool))
            continue;
        pools++;
        char src[300], note[400] = "";
        dbg_chk_pool_src(pool->name, src, sizeof(src));
        if (pool->volumes_error)
            snprintf(note, sizeof(note),
                     "; its volumes could not be listed (%s), so whether it holds tenant data "
                     "is not known",
                     pool->volumes_error);
        if (!pool->supports_replicas) {
            unseen++;
            dbg_evidence_addf(ev, 0, src, "replicas", expected,
                              "pool type %s keeps one copy as far as libvirt shows; copies made "
                              "below it (RAID, storage array) must be attested%s",
                              pool->type ? pool->type : "?", note);
            continue;
        }
        if (pool->replicas < 0) {
            /* The collector never sees the factor (it lives in the storage cluster): unknown is
             * not fewer than two, so it is not checked rather than a failure. */
            unseen++;
            dbg_evidence_addf(ev, 0, src, "replicas", expected,
                              "%s pool, replication factor unknown: it is set in the storage "
                              "cluster (e.g. Ceph pool size), which libvirt does not show%s",
                              pool->type ? pool->type : "?", note);
            continue;
        }
        int ok = pool->replicas >= 2;
        dbg_evidence_addf(ev, ok, src, "replicas", expected, "%s pool, %d replica(s)%s",
                          pool->type ? pool->type : "?", pool->replicas, ok ? "" : note);
        /* Too few copies fails only for tenant data that was seen. */
        ok ? good++ : pool->volumes_error ? unseen++ : bad++;
    }
    /* A VM's disk kept outside every pool holds tenant data too: no pools is not "nothing to
     * replicate". */
    if (disks_outside_pools(s, expected, ev)) {
        pools++;
        unseen++;
    }
    if (pools == 0) {
        dbg_evidence_add(ev, 1, "libvirt virConnectListAllStoragePools", "pools with tenant data",
                         "none, and no VM disk outside a pool", expected);
        return DBG_CHECK_NA;
    }
    if (bad)
        return DBG_CHECK_FAIL;
    if (unseen)
        return good ? DBG_CHECK_PARTIAL : DBG_CHECK_ERROR;
    return DBG_CHECK_PASS;
}

/* Every path or "pool/volume" a domain disk uses directly or as its backing store. */
static const char **referenced_paths(const dbg_snapshot *s, size_t *n_out)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        n += 2 * s->domains[i].n_disks;
    const char **refs = dbg_calloc(n ? n : 1, sizeof(*refs));
    if (!refs)
        return NULL;
    n = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t j = 0; j < s->domains[i].n_disks; j++) {
            const dbg_disk *k = &s->domains[i].disks[j];
            if (k->source)
                refs[n++] = k->source;
            if (k->backing)
                refs[n++] = k->backing;
        }
    qsort(refs, n, sizeof(*refs), cmp_str);
    *n_out = n;
    return refs;
}

static int is_referenced(const char **refs, size_t n, const dbg_volume *v)
{
    char pv[512];
    if (v->path && bsearch(&v->path, refs, n, sizeof(*refs), cmp_str))
        return 1;
    snprintf(pv, sizeof(pv), "%s/%s", v->pool ? v->pool : "", v->name ? v->name : "");
    const char *key = pv;
    return bsearch(&key, refs, n, sizeof(*refs), cmp_str) != NULL;
}

dbg_check_result dbg_chk_residual_wipe(const dbg_snapshot *s, const dbg_check_params *p,
                                       dbg_evidence_list *ev)
{
    (void)p;
    if (s->n_pools == 0 && s->n_volumes == 0 && !s->pools_error) {
        dbg_evidence_add(ev, 1, "libvirt virConnectListAllStoragePools", "storage pools", "none",
                         "released storage wiped");
        return DBG_CHECK_NA;
    }
    size_t nrefs = 0;
    const char **refs = referenced_paths(s, &nrefs);
    if (!refs) {
        ev->failed = 1;
        return DBG_CHECK_ERROR;
    }
    size_t leftovers = 0;
    const char *expected = "no volume left behind after its VM was deleted (wiped and deleted)";
    for (size_t i = 0; i < s->n_volumes; i++) {
        const dbg_volume *v = &s->volumes[i];
        if (v->in_use || is_referenced(refs, nrefs, v))
            continue;
        if (leftovers++ < DBG_CHK_MAX_LISTED) {
            char src[400];
            dbg_chk_vol_src(v, src, sizeof(src));
            dbg_evidence_addf(ev, 0, src, "in use", expected,
                              "not attached to any VM nor a backing store; %llu bytes allocated, "
                              "%s",
                              (unsigned long long)v->allocation,
                              v->encrypted ? "encrypted (crypto-erase possible)" : "not encrypted");
        }
    }
    free(refs);
    dbg_chk_more(ev, 0, "libvirt", leftovers, "leftover volumes", expected);
    if (!leftovers && !s->pools_error)
        dbg_evidence_addf(ev, 1, "libvirt virStoragePoolListAllVolumes", "volumes", expected,
                          "all %zu volumes are attached to a VM or back one", s->n_volumes);
    /* Volumes of a pool that could not list them (an inactive pool), or of pools that could
     * not be listed at all, are not in the snapshot: leftovers among them cannot be seen. */
    size_t unlisted = 0;
    if (s->pools_error) {
        unlisted++;
        dbg_evidence_addf(ev, 0, "libvirt virConnectListAllStoragePools", "volumes",
                          "every pool's volumes listed",
                          "storage pools not listed (%s): leftover volumes cannot be seen",
                          s->pools_error);
    }
    for (size_t i = 0; i < s->n_pools; i++) {
        const dbg_pool *pool = &s->pools[i];
        if (!pool->volumes_error)
            continue;
        unlisted++;
        char src[300];
        snprintf(src, sizeof(src), "libvirt virStoragePoolListAllVolumes(%s)",
                 pool->name ? pool->name : "?");
        dbg_utf8_trim_partial(src);
        dbg_evidence_addf(ev, 0, src, "volumes", "every pool's volumes listed",
                          "not listed (%s): leftover volumes in this pool cannot be seen",
                          pool->volumes_error);
    }
    /* Recorded wipe checks (`dengbao volume wipe-check --status-dir`): reclaimed volumes read
     * back and found zero, or not. Their age does not matter: they are records, not a
     * heartbeat. */
    const dbg_control *wc = dbg_snapshot_control(s, "wipe_check");
    const char *rec = wc && wc->deployed && wc->detail ? strstr(wc->detail, "wipe-check: ") : NULL;
    unsigned long checked = 0, dirty = 0, unchecked = 0;
    int fields = rec ? sscanf(rec, "wipe-check: %lu volume(s) checked, %lu with residual data, "
                              "%lu NOT CHECKED", &checked, &dirty, &unchecked)
                     : 0;
    /* volumes the run could not read back are not shown wiped: such a record is no clean one */
    int have_record = fields >= 2 && (checked > 0 || unchecked > 0);
    if (have_record)
        dbg_evidence_addf(ev, dirty == 0 && unchecked == 0,
                          "dengbao volume wipe-check (status wipe_check)",
                          "reclaimed volumes read back", "every checked volume reads as zeros",
                          "%lu volume(s) checked, %lu with residual data, %lu not checked (%s)",
                          checked, dirty, unchecked, wc->detail);
    size_t no_policy = 0;
    for (size_t i = 0; i < s->n_pools; i++) {
        const dbg_pool *pool = &s->pools[i];
        char src[300];
        dbg_chk_pool_src(pool->name, src, sizeof(src));
        int ok = pool->wipe_algorithm != NULL;
        if (!ok)
            no_policy++;
        dbg_evidence_add(ev, ok, src, "wipe algorithm",
                         ok ? pool->wipe_algorithm
                            : "none declared (virStorageVolDelete does not wipe)",
                         "a wipe policy applied before volumes are deleted");
    }
    if (leftovers || (have_record && dirty))
        return DBG_CHECK_FAIL;
    if (unlisted)
        return DBG_CHECK_ERROR;
    /* Volumes with no pool listed (a snapshot may say so) show no wipe policy either. */
    if (!no_policy && s->n_pools)
        return DBG_CHECK_PASS;
    if (have_record && !unchecked)
        return DBG_CHECK_PARTIAL; /* checked volumes were zero; pools without a wipe policy */
    if (have_record)
        return DBG_CHECK_ERROR; /* some volumes could not be read back: the record says which */
    /* No leftover volumes says nothing about what deleted volumes left on the disk: without a
     * wipe policy or a recorded wipe check, wiping is not shown (not checked, not a pass). */
    dbg_evidence_add(ev, 0, "dengbao volume wipe-check (status wipe_check)",
                     "reclaimed volumes read back",
                     wc && wc->unknown && wc->detail ? wc->detail
                                                      : "none recorded: wiping not checked",
                     "wipe-check results or a wipe policy on every pool");
    return DBG_CHECK_ERROR;
}
