/* dbg_snapshot_collect: everything the checks need, read through the libvirt C API (domains,
 * networks, pools, volumes, nwfilters, bindings), the host's files and dengbao's own status
 * files, then put in a canonical order so two collections of the same platform, and a
 * snapshot reloaded from JSON, are identical. */
#include <errno.h>
#include <ifaddrs.h>
#include <libxml/uri.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "dengbao/util.h"
#include "platform/platform_internal.h"
#include "platform/snapshot_schema.h"
#include "platform/virt_events.h"

/* qsort/bsearch with an empty (possibly NULL) array is undefined; these skip it. */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

static void *search_n(const void *key, const void *base, size_t n, size_t size,
                      int (*cmp)(const void *, const void *))
{
    return n ? bsearch(key, base, n, size, cmp) : NULL;
}

static const char *virt_msg(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->message ? e->message : "unknown libvirt error";
}

/* An object that disappeared between listing and reading (a VM undefined, a port unplugged
 * while we collect) is skipped, not an error: the snapshot is of the platform as it is. */
static int vanished(int code)
{
    virErrorPtr e = virGetLastError();
    return e && e->code == code;
}

static int virt_fail(const char *what, const char *name)
{
    dbg_err_set(DBG_ERR_LIBVIRT, "libvirt: %s%s%s: %s", what, name ? " " : "", name ? name : "",
                virt_msg());
    return -1;
}

/* An unsupported API is recorded as such (evidence for the assessor), never as "there are
 * none" (no networks, no pools, no filters needed); any other failure is an error. */
/* The last libvirt call failed because this driver does not have it. */
static int driver_lacks_it(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->code == VIR_ERR_NO_SUPPORT;
}

static int unsupported_note(const char *what, char **note)
{
    if (driver_lacks_it()) {
        if (note && !*note && !(*note = dbg_strdup("not supported by this driver")))
            return -1;
        return 1;
    }
    return virt_fail(what, NULL);
}

/* ------------------------------------------------------------ domains */

static const char *state_name(int st)
{
    switch (st) {
    case VIR_DOMAIN_RUNNING:
        return "running";
    case VIR_DOMAIN_BLOCKED:
        return "blocked";
    case VIR_DOMAIN_PAUSED:
        return "paused";
    case VIR_DOMAIN_SHUTDOWN:
        return "shutdown";
    case VIR_DOMAIN_SHUTOFF:
        return "shutoff";
    case VIR_DOMAIN_CRASHED:
        return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
        return "pmsuspended";
    default:
        return "nostate";
    }
}

/* Bulk facts about all domains in one call each (state via GetAllDomainStats, persistent and
 * autostart via filtered listings), so a remote libvirtd answers one XML request per domain
 * instead of four calls. Sorted by UUID; ok = 0 means "ask per domain". */
typedef struct {
    unsigned char uuid[VIR_UUID_BUFLEN];
    int value;
} uuid_fact;

typedef struct {
    uuid_fact *v;
    size_t n;
    int ok;
} fact_set;

static int cmp_fact(const void *a, const void *b)
{
    return memcmp(((const uuid_fact *)a)->uuid, ((const uuid_fact *)b)->uuid, VIR_UUID_BUFLEN);
}

static void fact_set_listed(virConnectPtr conn, unsigned flags, fact_set *fs)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, flags);
    if (n < 0)
        return;
    fs->v = n ? dbg_calloc((size_t)n, sizeof(*fs->v)) : NULL;
    if (!n || fs->v) {
        for (int i = 0; i < n; i++) {
            if (virDomainGetUUID(doms[i], fs->v[fs->n].uuid) == 0)
                fs->v[fs->n++].value = 1;
        }
        sort_n(fs->v, fs->n, sizeof(*fs->v), cmp_fact);
        fs->ok = 1;
    }
    dbg_err_clear();
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
}

static void fact_set_states(virConnectPtr conn, fact_set *fs)
{
    virDomainStatsRecordPtr *recs = NULL;
    int n = virConnectGetAllDomainStats(conn, VIR_DOMAIN_STATS_STATE, &recs, 0);
    if (n < 0)
        return;
    fs->v = n ? dbg_calloc((size_t)n, sizeof(*fs->v)) : NULL;
    if (!n || fs->v) {
        for (int i = 0; i < n; i++) {
            int st;
            if (virTypedParamsGetInt(recs[i]->params, recs[i]->nparams, "state.state", &st) == 1 &&
                virDomainGetUUID(recs[i]->dom, fs->v[fs->n].uuid) == 0)
                fs->v[fs->n++].value = st;
        }
        sort_n(fs->v, fs->n, sizeof(*fs->v), cmp_fact);
        fs->ok = 1;
    }
    dbg_err_clear();
    virDomainStatsRecordListFree(recs);
}

/* 1 and *value when the set knows the domain, 0 when it does not, -1 when not collected. */
static int fact_get(const fact_set *fs, virDomainPtr dom, int *value)
{
    if (!fs->ok)
        return -1;
    uuid_fact probe;
    if (virDomainGetUUID(dom, probe.uuid) < 0)
        return -1;
    const uuid_fact *hit = search_n(&probe, fs->v, fs->n, sizeof(*fs->v), cmp_fact);
    if (!hit)
        return 0;
    *value = hit->value;
    return 1;
}

typedef struct {
    fact_set state, persistent, autostart;
} domain_facts;

/* 0 collected, 1 the domain vanished meanwhile (skip it), -1 error. */
static int collect_domain(virDomainPtr dom, const domain_facts *df, dbg_domain *d)
{
    /* SECURE: only to learn whether a graphics password is set; the text is wiped after use.
     * libvirt refuses it on a read-only connection or without read_secure permission; the
     * plain XML then omits every passwd, so the refusal is kept: "no password" would be a
     * verdict on data libvirt hid. */
    DBG_AUTOFREE char *secure_error = NULL;
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_SECURE);
    if (!xml) {
        if (!(secure_error = dbg_strdup(virt_msg())))
            return -1;
        xml = virDomainGetXMLDesc(dom, 0);
    }
    if (!xml) {
        if (vanished(VIR_ERR_NO_DOMAIN))
            return 1;
        return virt_fail("cannot read XML of domain", virDomainGetName(dom));
    }
    size_t len = strlen(xml);
    int r = dbg_platform_parse_domain_xml(xml, len, d);
    dbg_free_secret(xml, len);
    if (r < 0)
        return -1;
    d->secure_xml_error = secure_error;
    secure_error = NULL;
    int st = VIR_DOMAIN_NOSTATE, reason = 0;
    if (fact_get(&df->state, dom, &st) != 1 && virDomainGetState(dom, &st, &reason, 0) < 0)
        st = VIR_DOMAIN_NOSTATE;
    d->state = dbg_strdup(state_name(st));
    int v = 0;
    int k = fact_get(&df->persistent, dom, &v);
    d->persistent = k >= 0 ? k == 1 : virDomainIsPersistent(dom) == 1;
    k = fact_get(&df->autostart, dom, &v);
    if (k >= 0) {
        d->autostart = k == 1;
    } else {
        int autostart = 0;
        d->autostart = virDomainGetAutostart(dom, &autostart) == 0 && autostart;
    }
    return d->state ? 0 : -1;
}

static int cmp_domain(const void *a, const void *b)
{
    return strcmp(((const dbg_domain *)a)->name, ((const dbg_domain *)b)->name);
}

static int collect_domains(virConnectPtr conn, dbg_snapshot *s)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    if (n < 0)
        return virt_fail("cannot list domains", NULL);
    int r = -1;
    domain_facts df = {{0}, {0}, {0}};
    fact_set_states(conn, &df.state);
    fact_set_listed(conn, VIR_CONNECT_LIST_DOMAINS_PERSISTENT, &df.persistent);
    fact_set_listed(conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART, &df.autostart);
    if (n > 0 && !(s->domains = dbg_calloc((size_t)n, sizeof(*s->domains))))
        goto out;
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        s->n_domains = k + 1;
        int rc = collect_domain(doms[i], &df, &s->domains[k]);
        if (rc < 0)
            goto out;
        if (rc > 0)
            dbg_platform_domain_clear(&s->domains[k]);
        else
            k++;
    }
    s->n_domains = k;
    sort_n(s->domains, s->n_domains, sizeof(*s->domains), cmp_domain);
    r = 0;
out:
    free(df.state.v);
    free(df.persistent.v);
    free(df.autostart.v);
    for (int i = 0; i < n; i++)
        virDomainFree(doms[i]);
    free(doms);
    return r;
}

/* ------------------------------------------------------------ networks */

static int cmp_network(const void *a, const void *b)
{
    return strcmp(((const dbg_network *)a)->name, ((const dbg_network *)b)->name);
}

/* Network facts in bulk, as for domains: the listing filtered by a flag gives the set of
 * UUIDs having it (one call instead of one per network); ok = 0 means ask per network. */
static void net_set_listed(virConnectPtr conn, unsigned flags, fact_set *fs)
{
    virNetworkPtr *nets = NULL;
    int n = virConnectListAllNetworks(conn, &nets, flags);
    if (n < 0)
        return;
    fs->v = n ? dbg_calloc((size_t)n, sizeof(*fs->v)) : NULL;
    if (!n || fs->v) {
        for (int i = 0; i < n; i++)
            if (virNetworkGetUUID(nets[i], fs->v[fs->n].uuid) == 0)
                fs->v[fs->n++].value = 1;
        sort_n(fs->v, fs->n, sizeof(*fs->v), cmp_fact);
        fs->ok = 1;
    }
    for (int i = 0; i < n; i++)
        virNetworkFree(nets[i]);
    free(nets);
}

static int net_fact(const fact_set *fs, virNetworkPtr net, int (*ask)(virNetworkPtr))
{
    uuid_fact probe;
    if (fs->ok && virNetworkGetUUID(net, probe.uuid) == 0)
        return search_n(&probe, fs->v, fs->n, sizeof(*fs->v), cmp_fact) != NULL;
    return ask(net) == 1;
}

static int net_autostart(virNetworkPtr net)
{
    int autostart = 0;
    return virNetworkGetAutostart(net, &autostart) == 0 && autostart;
}

static int collect_networks(virConnectPtr conn, dbg_snapshot *s)
{
    virNetworkPtr *nets = NULL;
    int n = virConnectListAllNetworks(conn, &nets, 0);
    if (n < 0) {
        /* A driver without networks lists none, but the VMs' interfaces may still name some:
         * recorded, so the checks do not read the empty list as "no networks". */
        int u = unsupported_note("cannot list networks", &s->networks_error);
        return u > 0 ? 0 : -1;
    }
    int r = -1;
    fact_set active = {0}, persistent = {0}, autostart = {0};
    net_set_listed(conn, VIR_CONNECT_LIST_NETWORKS_ACTIVE, &active);
    net_set_listed(conn, VIR_CONNECT_LIST_NETWORKS_PERSISTENT, &persistent);
    net_set_listed(conn, VIR_CONNECT_LIST_NETWORKS_AUTOSTART, &autostart);
    if (n > 0 && !(s->networks = dbg_calloc((size_t)n, sizeof(*s->networks))))
        goto out;
    for (int i = 0; i < n; i++) {
        char *xml = virNetworkGetXMLDesc(nets[i], 0);
        if (!xml) {
            if (vanished(VIR_ERR_NO_NETWORK))
                continue;
            virt_fail("cannot read XML of network", virNetworkGetName(nets[i]));
            goto out;
        }
        dbg_network *nw = &s->networks[s->n_networks++];
        int pr = dbg_platform_parse_network_xml(xml, strlen(xml), nw);
        free(xml);
        if (pr < 0)
            goto out;
        nw->active = net_fact(&active, nets[i], virNetworkIsActive);
        nw->persistent = net_fact(&persistent, nets[i], virNetworkIsPersistent);
        nw->autostart = net_fact(&autostart, nets[i], net_autostart);
    }
    sort_n(s->networks, s->n_networks, sizeof(*s->networks), cmp_network);
    r = 0;
out:
    free(active.v);
    free(persistent.v);
    free(autostart.v);
    for (int i = 0; i < n; i++)
        virNetworkFree(nets[i]);
    free(nets);
    return r;
}

/* ------------------------------------------------------------ storage */

static int cmp_pool(const void *a, const void *b)
{
    return strcmp(((const dbg_pool *)a)->name, ((const dbg_pool *)b)->name);
}

static int cmp_volume(const void *a, const void *b)
{
    const dbg_volume *x = a, *y = b;
    int c = strcmp(x->pool ? x->pool : "", y->pool ? y->pool : "");
    return c ? c : strcmp(x->name, y->name);
}

static int collect_volumes(virStoragePoolPtr pool, dbg_pool *p, dbg_snapshot *s)
{
    const char *pool_name = p->name;
    virStorageVolPtr *vols = NULL;
    int n = virStoragePoolListAllVolumes(pool, &vols, 0);
    if (n < 0) {
        /* An inactive pool cannot list volumes; that is a fact of the pool, not a failure.
         * Its volumes still exist and are not in the snapshot, so why is kept: the storage
         * checks must not read their absence as "none left behind". */
        DBG_AUTOFREE char *why = dbg_strdup(virt_msg());
        if (!why)
            return -1;
        if (virStoragePoolIsActive(pool) == 0) {
            p->volumes_error = why;
            why = NULL;
            return 0;
        }
        /* The listing's message: virStoragePoolIsActive has reset libvirt's last error. */
        dbg_err_set(DBG_ERR_LIBVIRT, "libvirt: cannot list volumes of pool %s: %s", pool_name,
                    why);
        return -1;
    }
    int r = -1;
    if (n > 0) {
        dbg_volume *a = dbg_reallocarray(s->volumes, s->n_volumes + (size_t)n, sizeof(*a));
        if (!a)
            goto out;
        memset(a + s->n_volumes, 0, (size_t)n * sizeof(*a));
        s->volumes = a;
    }
    for (int i = 0; i < n; i++) {
        char *xml = virStorageVolGetXMLDesc(vols[i], 0);
        if (!xml) {
            if (vanished(VIR_ERR_NO_STORAGE_VOL))
                continue;
            virt_fail("cannot read XML of volume", virStorageVolGetName(vols[i]));
            goto out;
        }
        dbg_volume *v = &s->volumes[s->n_volumes++];
        int pr = dbg_platform_parse_volume_xml(xml, strlen(xml), pool_name, v);
        free(xml);
        if (pr < 0)
            goto out;
    }
    r = 0;
out:
    for (int i = 0; i < n; i++)
        virStorageVolFree(vols[i]);
    free(vols);
    return r;
}

static int collect_pools(virConnectPtr conn, dbg_snapshot *s)
{
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(conn, &pools, 0);
    if (n < 0) {
        /* Likewise: the VMs' disks are there, their pools and the volumes left behind in them
         * are not seen. */
        int u = unsupported_note("cannot list storage pools", &s->pools_error);
        return u > 0 ? 0 : -1;
    }
    int r = -1;
    if (n > 0 && !(s->pools = dbg_calloc((size_t)n, sizeof(*s->pools))))
        goto out;
    for (int i = 0; i < n; i++) {
        s->n_pools = (size_t)i + 1;
        char *xml = virStoragePoolGetXMLDesc(pools[i], 0);
        if (!xml) {
            virt_fail("cannot read XML of pool", virStoragePoolGetName(pools[i]));
            goto out;
        }
        dbg_pool *p = &s->pools[i];
        int pr = dbg_platform_parse_pool_xml(xml, strlen(xml), p);
        free(xml);
        if (pr < 0)
            goto out;
        p->active = virStoragePoolIsActive(pools[i]) == 1;
        int autostart = 0;
        p->autostart = virStoragePoolGetAutostart(pools[i], &autostart) == 0 && autostart;
        if (collect_volumes(pools[i], p, s) < 0)
            goto out;
    }
    sort_n(s->pools, s->n_pools, sizeof(*s->pools), cmp_pool);
    sort_n(s->volumes, s->n_volumes, sizeof(*s->volumes), cmp_volume);
    r = 0;
out:
    for (int i = 0; i < n; i++)
        virStoragePoolFree(pools[i]);
    free(pools);
    return r;
}

/* ------------------------------------------------------------ nwfilters */

static int cmp_nwfilter(const void *a, const void *b)
{
    return strcmp(((const dbg_nwfilter *)a)->name, ((const dbg_nwfilter *)b)->name);
}

static int cmp_binding(const void *a, const void *b)
{
    const dbg_nwfilter_binding *x = a, *y = b;
    return strcmp(x->portdev ? x->portdev : "", y->portdev ? y->portdev : "");
}

/* The filters not collected: the note says why (the checks that read filters say 未检查 with
 * it, `dengbao collect` warns) and none of those read so far is kept, since a filter missing
 * from a partial list would read as "not defined". -1 only when out of memory. */
static int nwfilters_not_collected(dbg_snapshot *s, const char *what, const char *name)
{
    dbg_snapshot read = {.nwfilters = s->nwfilters, .n_nwfilters = s->n_nwfilters};
    dbg_objdesc_free_members(&dbg_snapshot_desc, &read);
    s->nwfilters = NULL;
    s->n_nwfilters = 0;
    s->nwfilter_supported = 0;
    free(s->nwfilter_note);
    s->nwfilter_note = dbg_asprintf("not collected: libvirt: %s%s%s: %s", what, name ? " " : "",
                                    name ? name : "", virt_msg());
    return s->nwfilter_note ? 0 : -1;
}

/* A failure to list or read them (a daemon whose access control denies it, the nwfilter driver
 * not answering) no longer stops the collection: the rest of the platform is still evidence. */
static int collect_nwfilters(virConnectPtr conn, dbg_snapshot *s)
{
    virNWFilterPtr *filters = NULL;
    int n = virConnectListAllNWFilters(conn, &filters, 0);
    if (n < 0) {
        if (driver_lacks_it())
            return unsupported_note("cannot list nwfilters", &s->nwfilter_note) > 0 ? 0 : -1;
        return nwfilters_not_collected(s, "cannot list nwfilters", NULL);
    }
    s->nwfilter_supported = 1;
    int r = -1;
    if (n > 0 && !(s->nwfilters = dbg_calloc((size_t)n, sizeof(*s->nwfilters))))
        goto out;
    for (int i = 0; i < n; i++) {
        char *xml = virNWFilterGetXMLDesc(filters[i], 0);
        if (!xml) {
            if (vanished(VIR_ERR_NO_NWFILTER))
                continue;
            r = nwfilters_not_collected(s, "cannot read XML of nwfilter",
                                        virNWFilterGetName(filters[i]));
            goto out;
        }
        int pr = dbg_platform_parse_nwfilter_xml(xml, strlen(xml), &s->nwfilters[s->n_nwfilters++]);
        free(xml);
        if (pr < 0)
            goto out;
    }
    sort_n(s->nwfilters, s->n_nwfilters, sizeof(*s->nwfilters), cmp_nwfilter);
    r = 0;
out:
    for (int i = 0; i < n; i++)
        virNWFilterFree(filters[i]);
    free(filters);
    return r;
}

static int collect_bindings(virConnectPtr conn, dbg_snapshot *s)
{
    virNWFilterBindingPtr *b = NULL;
    int n = virConnectListAllNWFilterBindings(conn, &b, 0);
    if (n < 0) {
        /* no check reads the bindings yet: not collected, said, and the collection goes on */
        if (!driver_lacks_it())
            dbg_warn("collect: nwfilter bindings not collected: libvirt: cannot list them: %s",
                     virt_msg());
        return 0;
    }
    s->bindings_supported = 1;
    int r = -1;
    if (n > 0 && !(s->bindings = dbg_calloc((size_t)n, sizeof(*s->bindings))))
        goto out;
    for (int i = 0; i < n; i++) {
        char *xml = virNWFilterBindingGetXMLDesc(b[i], 0);
        if (!xml) {
            if (vanished(VIR_ERR_NO_NWFILTER_BINDING))
                continue;
            virt_fail("cannot read XML of nwfilter binding", virNWFilterBindingGetPortDev(b[i]));
            goto out;
        }
        int pr = dbg_platform_parse_binding_xml(xml, strlen(xml), &s->bindings[s->n_bindings++]);
        free(xml);
        if (pr < 0)
            goto out;
    }
    sort_n(s->bindings, s->n_bindings, sizeof(*s->bindings), cmp_binding);
    r = 0;
out:
    for (int i = 0; i < n; i++)
        virNWFilterBindingFree(b[i]);
    free(b);
    return r;
}

/* ------------------------------------------------------------ derived facts */

/* Volume -> domain using it: by "pool/volume" for volume disks, by path for file/block disks.
 * Two sorted index arrays and binary search keep this O((V + D) log V) for 20,000 volumes. */
typedef struct {
    const char *key;
    dbg_volume *vol;
} vol_index;

static int cmp_index(const void *a, const void *b)
{
    return strcmp(((const vol_index *)a)->key, ((const vol_index *)b)->key);
}

static dbg_volume *index_find(vol_index *idx, size_t n, const char *key)
{
    vol_index probe = {key, NULL};
    vol_index *hit = search_n(&probe, idx, n, sizeof(*idx), cmp_index);
    return hit ? hit->vol : NULL;
}

/* A volume by a path: its own path first (a link volume, current.qcow2 -> vm-2.qcow2, is
 * not the file it names), then the real path of either side (on the live host). */
typedef struct {
    vol_index *path, *real;
    size_t n_path, n_real;
} path_index;

static dbg_volume *path_find(const path_index *ix, const char *path, const char *real)
{
    dbg_volume *v = index_find(ix->path, ix->n_path, path);
    if (!v && real)
        v = index_find(ix->path, ix->n_path, real);
    if (!v)
        v = index_find(ix->real, ix->n_real, path);
    if (!v && real)
        v = index_find(ix->real, ix->n_real, real);
    return v;
}

static int map_volume_owners(dbg_snapshot *s, int live_host)
{
    if (s->n_volumes == 0)
        return 0;
    int r = -1;
    path_index ix = {dbg_calloc(s->n_volumes, sizeof(*ix.path)),
                     dbg_calloc(s->n_volumes, sizeof(*ix.real)), 0, 0};
    vol_index *by_name = dbg_calloc(s->n_volumes, sizeof(*by_name));
    char **names = dbg_calloc(s->n_volumes, sizeof(*names));
    char **reals = dbg_calloc(s->n_volumes, sizeof(*reals));
    if (!ix.path || !ix.real || !by_name || !names || !reals)
        goto out;
    for (size_t i = 0; i < s->n_volumes; i++) {
        dbg_volume *v = &s->volumes[i];
        if (v->path)
            ix.path[ix.n_path++] = (vol_index){v->path, v};
        /* a disk may name the volume by its real path (a pool defined on a linked
         * directory, an LV by /dev/mapper): resolved here as the disks' are */
        if (v->path && v->path[0] == '/' && live_host) {
            char *real = realpath(v->path, NULL);
            if (real && strcmp(real, v->path))
                ix.real[ix.n_real++] = (vol_index){reals[i] = real, v};
            else
                free(real);
        }
        names[i] = dbg_asprintf("%s/%s", v->pool ? v->pool : "", v->name);
        if (!names[i])
            goto out;
        by_name[i] = (vol_index){names[i], v};
    }
    sort_n(ix.path, ix.n_path, sizeof(*ix.path), cmp_index);
    sort_n(ix.real, ix.n_real, sizeof(*ix.real), cmp_index);
    sort_n(by_name, s->n_volumes, sizeof(*by_name), cmp_index);
    /* Domains are sorted by name: the first user in that order gives the tenant. A disk uses
     * its source and every store of its backing chain; a volume used so also uses the
     * volume its own XML names as backing store (libvirt shows a shut-off domain's disk
     * without its chain), and so on down. A volume already in use had its chain followed
     * when it was marked, which also ends a cycle of backing paths. A disk naming its volume
     * through a link (or the volume its file through one) is matched by real paths: it was a
     * leftover to 8.2.4.7a. */
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        for (size_t k = 0; k < d->n_disks; k++) {
            const dbg_disk *dk = &d->disks[k];
            for (size_t b = 0; b <= dk->n_backing_chain; b++) {
                const char *ref = b ? dk->backing_chain[b - 1] : dk->source;
                if (!ref)
                    continue;
                /* a backing store is "pool/volume" or a path, as its disk's source */
                int by_volume = b ? ref[0] != '/' : dbg_streq(dk->type, "volume");
                dbg_volume *v = by_volume ? index_find(by_name, s->n_volumes, ref)
                                          : path_find(&ix, ref, b ? NULL : dk->real_path);
                while (v && !v->in_use) {
                    if (d->tenant_id && !(v->tenant_id = dbg_strdup(d->tenant_id)))
                        goto out;
                    v->in_use = 1;
                    v = v->backing ? path_find(&ix, v->backing, NULL) : NULL;
                }
            }
        }
    }
    r = 0;
out:
    for (size_t i = 0; i < s->n_volumes; i++) {
        free(names ? names[i] : NULL);
        free(reals ? reals[i] : NULL);
    }
    free(names);
    free(reals);
    free(ix.path);
    free(ix.real);
    free(by_name);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Addresses and ports are appended, then sorted and deduplicated once at the end: a scan
 * for a duplicate on every add was quadratic in the consoles' assigned ports (one per running
 * VM with a console) and in the networks' addresses. */
static int add_address(dbg_snapshot *s, size_t *cap, const char *addr)
{
    if (!addr || !*addr || !strcmp(addr, "0.0.0.0") || !strcmp(addr, "::"))
        return 0;
    if (dbg_grow_array((void **)&s->host_addresses, cap, s->n_host_addresses + 1,
                       sizeof(*s->host_addresses), 16) < 0)
        return -1;
    if (!(s->host_addresses[s->n_host_addresses] = dbg_strdup(addr)))
        return -1;
    s->n_host_addresses++;
    return 0;
}

static int add_port(dbg_snapshot *s, size_t *cap, long port)
{
    if (port <= 0 || port > 65535)
        return 0;
    if (dbg_grow_array((void **)&s->mgmt_ports, cap, s->n_mgmt_ports + 1, sizeof(*s->mgmt_ports),
                       16) < 0)
        return -1;
    s->mgmt_ports[s->n_mgmt_ports++] = (int)port;
    return 0;
}

/* Sorts the addresses and ports and drops repeats (the sets the per-add scans kept). */
static void sort_unique_host_facts(dbg_snapshot *s)
{
    sort_n(s->host_addresses, s->n_host_addresses, sizeof(char *), cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < s->n_host_addresses; i++) {
        if (k && !strcmp(s->host_addresses[k - 1], s->host_addresses[i]))
            free(s->host_addresses[i]);
        else
            s->host_addresses[k++] = s->host_addresses[i];
    }
    s->n_host_addresses = k;
    sort_n(s->mgmt_ports, s->n_mgmt_ports, sizeof(int), cmp_int);
    k = 0;
    for (size_t i = 0; i < s->n_mgmt_ports; i++)
        if (!k || s->mgmt_ports[k - 1] != s->mgmt_ports[i])
            s->mgmt_ports[k++] = s->mgmt_ports[i];
    s->n_mgmt_ports = k;
}

static const char *setting_value(const dbg_snapshot *s, const char *file, const char *key)
{
    const dbg_setting *st = dbg_host_file_get(dbg_snapshot_host_file(s, file), key);
    return st ? st->value : NULL;
}

static long setting_long(const dbg_snapshot *s, const char *file, const char *key, long dflt)
{
    const char *v = setting_value(s, file, key);
    long x;
    if (!v || dbg_parse_long(v, 0, 65535, &x) < 0) {
        dbg_err_clear();
        return dflt;
    }
    return x;
}

/* Socket activation ignores libvirtd.conf's listen_* and *_port: an enabled TCP or TLS socket
 * unit listens where its ListenStream= say. Ports on loopback are not reachable from a VM; a
 * unit whose link or files could not be read gets libvirt's default port. */
static int add_unit_ports(dbg_snapshot *s, size_t *port_cap)
{
    static const struct {
        const char *unit;
        int port;
    } units[] = {{"libvirtd-tcp.socket", 16509},
                 {"virtproxyd-tcp.socket", 16509},
                 {"libvirtd-tls.socket", 16514},
                 {"virtproxyd-tls.socket", 16514}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        char path[512];
        int en = dbg_snapshot_unit_enabled(s, units[i].unit, path, sizeof(path));
        dbg_unit_sockets u;
        if (en == 0)
            continue;
        int r = dbg_snapshot_unit_sockets(s, units[i].unit, units[i].port, &u);
        if (r == 0 && (en < 0 || u.unreadable))
            r = add_port(s, port_cap, units[i].port);
        for (size_t k = 0; r == 0 && en > 0 && !u.unreadable && k < u.n_listen; k++)
            if (u.listen[k].network && u.listen[k].port)
                r = add_port(s, port_cap, u.listen[k].port);
        dbg_unit_sockets_clear(&u);
        if (r < 0)
            return -1;
    }
    return 0;
}

/* The hypervisor's own addresses and management ports, for the sensor's "VM to host
 * management port" detector and the management-plane checks. */
static int derive_host_facts(dbg_snapshot *s, int live_host)
{
    size_t addr_cap = s->n_host_addresses, port_cap = s->n_mgmt_ports;
    /* every address of a network: a dual-stack one's IPv4 gateway, after an IPv6 <ip>, is
     * where its VMs reach the host, and was not counted as the host's */
    for (size_t i = 0; i < s->n_networks; i++) {
        const dbg_network *n = &s->networks[i];
        if (add_address(s, &addr_cap, n->ip_address) < 0)
            return -1;
        for (size_t k = 0; k < n->n_ip_addresses; k++)
            if (add_address(s, &addr_cap, n->ip_addresses[k]) < 0)
                return -1;
    }
    const char *listen_addr = setting_value(s, "/etc/libvirt/libvirtd.conf", "listen_addr");
    if (add_address(s, &addr_cap, listen_addr) < 0)
        return -1;
    if (live_host) {
        struct ifaddrs *ifa = NULL;
        if (getifaddrs(&ifa) == 0) {
            for (struct ifaddrs *p = ifa; p; p = p->ifa_next) {
                if (!p->ifa_addr ||
                    (p->ifa_addr->sa_family != AF_INET && p->ifa_addr->sa_family != AF_INET6))
                    continue;
                char host[NI_MAXHOST];
                socklen_t sl = p->ifa_addr->sa_family == AF_INET ? sizeof(struct sockaddr_in)
                                                                 : sizeof(struct sockaddr_in6);
                if (getnameinfo(p->ifa_addr, sl, host, sizeof(host), NULL, 0, NI_NUMERICHOST))
                    continue;
                char *pct = strchr(host, '%');
                if (pct)
                    *pct = '\0';
                if (!strcmp(host, "127.0.0.1") || !strcmp(host, "::1"))
                    continue;
                if (add_address(s, &addr_cap, host) < 0) {
                    freeifaddrs(ifa);
                    return -1;
                }
            }
            freeifaddrs(ifa);
        }
    }
    /* sshd: every Port (default 22); libvirtd: TLS 16514 unless listen_tls = 0, TCP 16509
     * when listen_tcp = 1; the graphics ports of the domains. */
    const dbg_host_file *sshd = dbg_snapshot_host_file(s, "/etc/ssh/sshd_config");
    int ssh_ports = 0;
    for (size_t i = 0; sshd && i < sshd->n_settings; i++) {
        long p;
        if (!strcasecmp(sshd->settings[i].key, "Port") &&
            dbg_parse_long(sshd->settings[i].value, 1, 65535, &p) == 0) {
            ssh_ports++;
            if (add_port(s, &port_cap, p) < 0)
                return -1;
        }
        dbg_err_clear();
    }
    if (!ssh_ports && add_port(s, &port_cap, 22) < 0)
        return -1;
    const char *conf = "/etc/libvirt/libvirtd.conf";
    if (setting_long(s, conf, "listen_tls", 1) != 0 &&
        add_port(s, &port_cap, setting_long(s, conf, "tls_port", 16514)) < 0)
        return -1;
    if (setting_long(s, conf, "listen_tcp", 0) == 1 &&
        add_port(s, &port_cap, setting_long(s, conf, "tcp_port", 16509)) < 0)
        return -1;
    if (add_unit_ports(s, &port_cap) < 0)
        return -1;
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t k = 0; k < s->domains[i].n_graphics; k++) {
            const dbg_graphics *g = &s->domains[i].graphics[k];
            if (add_port(s, &port_cap, g->port) < 0 || add_port(s, &port_cap, g->tls_port) < 0 ||
                add_port(s, &port_cap, g->websocket) < 0)
                return -1;
        }
    sort_unique_host_facts(s);
    return 0;
}

/* VNC has no TLS of its own in the domain XML: qemu.conf vnc_tls = 1 turns it on host-wide. */
static void apply_vnc_tls(dbg_snapshot *s)
{
    if (setting_long(s, "/etc/libvirt/qemu.conf", "vnc_tls", 0) != 1)
        return;
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t k = 0; k < s->domains[i].n_graphics; k++)
            if (dbg_streq(s->domains[i].graphics[k].type, "vnc"))
                s->domains[i].graphics[k].tls = 1;
}

/* ------------------------------------------------------------ top level */

static int collect_controls(const dbg_collect_opts *opts, const char *root, int live_host,
                            dbg_snapshot *s)
{
    DBG_AUTOFREE char *status_dir = NULL;
    /* a copied root's /run may be a link: followed inside the copy, as its host files are */
    if (opts->controls_dir || live_host)
        status_dir = dbg_strdup(opts->controls_dir ? opts->controls_dir : "/run/dengbao/status");
    else if (dbg_path_in_root(root, "/run/dengbao/status", 1, &status_dir) < 0 && errno != ENOMEM)
        status_dir = dbg_asprintf("%s/run/dengbao/status", root); /* a loop: not found there */
    if (!status_dir)
        return -1;
    return dbg_platform_collect_controls(status_dir,
                                         opts->controls_dir ? NULL : "/run/dengbao/status",
                                         live_host, s->collected_us, s);
}

static int64_t cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* SOURCE_DATE_EPOCH fixes the collection time, for reproducible test output. */
static int64_t collection_time(void)
{
    const char *e = getenv("SOURCE_DATE_EPOCH");
    long v;
    if (e && dbg_parse_long(e, 0, DBG_TIME_LAST_S, &v) == 0)
        return (int64_t)v * 1000000;
    dbg_err_clear();
    return dbg_now_us();
}

static char *version_text(unsigned long v)
{
    return dbg_asprintf("%lu.%lu.%lu", v / 1000000, (v / 1000) % 1000, v % 1000);
}

int dbg_platform_uri_host(const char *uri, char *host, size_t size)
{
    xmlURIPtr u = uri ? xmlParseURI(uri) : NULL;
    const char *h = u && u->server ? u->server : "";
    size_t len = strlen(h);
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') { /* [::1] */
        h++;
        len -= 2;
    }
    int other = len && !(len == 9 && !strncasecmp(h, "localhost", 9)) &&
                !(len == 9 && !strncmp(h, "127.0.0.1", 9)) && !(len == 3 && !strncmp(h, "::1", 3));
    snprintf(host, size, "%.*s", other ? (int)len : 0, h);
    xmlFreeURI(u);
    return other;
}

/* Each local disk's real path on this host (a disk may name a link to the image that was
 * sealed, or the image a link that was). Only on the live host: the snapshot is judged
 * elsewhere, where these paths mean nothing, and a copied root's links name the original's. */
static int resolve_disk_paths(dbg_snapshot *s)
{
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t j = 0; j < s->domains[i].n_disks; j++) {
            dbg_disk *k = &s->domains[i].disks[j];
            if (!k->source || k->source[0] != '/' || dbg_streq(k->type, "network"))
                continue;
            char *real = realpath(k->source, NULL);
            if (!real || !strcmp(real, k->source)) {
                free(real);
                continue;
            }
            free(k->real_path);
            if (!(k->real_path = dbg_strdup(real))) {
                free(real);
                return -1;
            }
            free(real);
        }
    return 0;
}

static dbg_snapshot *collect_over(virConnectPtr given, const dbg_collect_opts *opts)
{
    if (!opts || !opts->uri || !*opts->uri) {
        dbg_err_set(DBG_ERR_USAGE, "no libvirt URI given");
        return NULL;
    }
    const char *root = opts->host_root && *opts->host_root ? opts->host_root : "/";
    int live_host = !strcmp(root, "/"), elsewhere = 0;
    DBG_AUTOFREE char *not_here = NULL;
    dbg_snapshot *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->schema_version = DBG_SNAPSHOT_SCHEMA_VERSION;
    s->collected_us = collection_time();
    dbg_libvirt_quiet();
    int64_t t0 = dbg_monotonic_us(), c0 = cpu_us();
    /* The default auth callback prompts on the terminal (SASL, ssh), as virsh does. */
    virConnectPtr conn = given ? given
                               : virConnectOpenAuth(opts->uri, virConnectAuthPtrDefault,
                                                    opts->read_only ? VIR_CONNECT_RO : 0);
    if (!conn) {
        /* libvirt follows an XML parse error with libxml2's context line and a caret; where
         * libxml2 had no context (a file cut short, an empty one) that is "(null)" and a lone
         * '^', which say nothing after the file:line that came before. */
        const char *m = virt_msg(), *junk = strstr(m, "\n(null)\n");
        dbg_err_set(DBG_ERR_LIBVIRT, "cannot connect to libvirt at '%s': %.*s", opts->uri,
                    junk ? (int)(junk - m) : (int)strlen(m), m);
        dbg_snapshot_free(s);
        return NULL;
    }
    int ok = 0;
    s->uri = dbg_strdup(opts->uri);
    s->host_root = dbg_strdup(root);
    if (!s->uri || !s->host_root)
        goto out;
    const char *type = virConnectGetType(conn);
    if (type && !(s->hypervisor = dbg_strdup(type)))
        goto out;
    unsigned long lv = 0;
    if (virConnectGetLibVersion(conn, &lv) == 0 && !(s->libvirt_version = version_text(lv)))
        goto out;
    char *hn = virConnectGetHostname(conn);
    if (hn) {
        s->hostname = dbg_strdup(hn);
        free(hn);
        if (!s->hostname)
            goto out;
    }
    /* A URI naming another host (qemu+ssh://hv1/system): this machine's /etc, /proc, pid files,
     * addresses and status files say nothing about that host. libvirt's canonical URI is asked,
     * so an alias from libvirt.conf counts by what it stands for. */
    char other[256];
    char *canon = virConnectGetURI(conn);
    if (dbg_platform_uri_host(canon ? canon : opts->uri, other, sizeof(other)) && live_host) {
        elsewhere = 1;
        live_host = 0;
        not_here = dbg_asprintf("not read: the libvirt URI names another host (%s); collect on "
                                "that host, or give a copy of its files with --host-root",
                                other);
    }
    free(canon);
    if (elsewhere && !not_here)
        goto out;
    int64_t t1 = dbg_monotonic_us(), c1 = cpu_us();
    if (collect_domains(conn, s) < 0 || (live_host && resolve_disk_paths(s) < 0))
        goto out;
    int64_t t2 = dbg_monotonic_us();
    if (opts->no_storage && !(s->pools_error = dbg_strdup("not collected (an inventory for the sensor)")))
        goto out;
    if (collect_networks(conn, s) < 0 || (!opts->no_storage && collect_pools(conn, s) < 0) ||
        collect_nwfilters(conn, s) < 0 || collect_bindings(conn, s) < 0)
        goto out;
    int64_t t3 = dbg_monotonic_us();
    if (elsewhere ? dbg_platform_host_files_not_read(s, not_here) < 0
                  : dbg_platform_collect_host_files(root, s) < 0)
        goto out;
    if (elsewhere && !opts->controls_dir ? dbg_platform_controls_not_read(s, not_here) < 0
                                         : collect_controls(opts, root, live_host, s) < 0)
        goto out;
    apply_vnc_tls(s);
    if (map_volume_owners(s, live_host) < 0 || derive_host_facts(s, live_host) < 0)
        goto out;
    /* Where the time goes, for bench/collect.sh (DENGBAO_LOG=info): wall and CPU seconds of
     * opening the connection (for test:/// that is libvirt parsing the node file) and of
     * dengbao's own part (listing, XML, parsing, host facts). */
    dbg_info("collect: connect %.3f s (cpu %.3f s); %zu domains %.3f s, networks/storage/"
             "filters %.3f s, host facts %.3f s; dengbao part %.3f s (cpu %.3f s)",
             (double)(t1 - t0) / 1e6, (double)(c1 - c0) / 1e6, s->n_domains,
             (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6,
             (double)(dbg_monotonic_us() - t3) / 1e6, (double)(dbg_monotonic_us() - t1) / 1e6,
             (double)(cpu_us() - c1) / 1e6);
    ok = 1;
out:
    if (!given)
        virConnectClose(conn);
    if (!ok) {
        if (dbg_err_code() == DBG_OK)
            dbg_err_set(DBG_ERR_NOMEM, "collect: out of memory");
        dbg_snapshot_free(s);
        return NULL;
    }
    return s;
}

dbg_snapshot *dbg_snapshot_collect(const dbg_collect_opts *opts)
{
    return collect_over(NULL, opts);
}

dbg_snapshot *dbg_platform_collect_on(virConnectPtr conn, const dbg_collect_opts *opts)
{
    if (!conn) {
        dbg_err_set(DBG_ERR_USAGE, "collect: no libvirt connection given");
        return NULL;
    }
    return collect_over(conn, opts);
}
