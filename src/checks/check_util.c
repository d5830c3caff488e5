/* Snapshot lookups and evidence-source naming shared by the check files. They read the
 * snapshot structs directly so checks stay pure functions of their input. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_util.h"
#include "dengbao/util.h"

const char *dbg_chk_value(const dbg_setting *st, char *buf, size_t size)
{
    if (!st || !st->value || size == 0)
        return NULL;
    const char *v = st->value;
    while (isspace((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n > 0 && isspace((unsigned char)v[n - 1]))
        n--;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    if (n >= size)
        n = size - 1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    dbg_utf8_trim_partial(buf);
    return buf;
}

int dbg_chk_long(const dbg_setting *st, long *out)
{
    char buf[64];
    const char *v = dbg_chk_value(st, buf, sizeof(buf));
    if (!v)
        return -1;
    return dbg_parse_long(v, -1000000000L, 1000000000L, out);
}

void dbg_chk_where(const dbg_host_file *f, const dbg_setting *st, const char *path, char *buf,
                   size_t size)
{
    if (st && st->file && st->line > 0)
        snprintf(buf, size, "%s:%d", st->file, st->line);
    else if (st && st->line > 0)
        snprintf(buf, size, "%s:%d", path, st->line);
    else if (!f || !f->present)
        snprintf(buf, size, "%s (absent%s%s)", path, f && f->error ? ": " : "",
                 f && f->error ? f->error : "");
    else
        snprintf(buf, size, "%s (not set)", path);
    dbg_utf8_trim_partial(buf);
}

void dbg_chk_dom_src(const dbg_domain *d, char *buf, size_t size)
{
    snprintf(buf, size, "libvirt virDomainGetXMLDesc(%s)", d->name ? d->name : "?");
    dbg_utf8_trim_partial(buf);
}

void dbg_chk_net_src(const char *net, char *buf, size_t size)
{
    snprintf(buf, size, "libvirt virNetworkGetXMLDesc(%s)", net ? net : "?");
    dbg_utf8_trim_partial(buf);
}

void dbg_chk_pool_src(const char *pool, char *buf, size_t size)
{
    snprintf(buf, size, "libvirt virStoragePoolGetXMLDesc(%s)", pool ? pool : "?");
    dbg_utf8_trim_partial(buf);
}

void dbg_chk_vol_src(const dbg_volume *v, char *buf, size_t size)
{
    snprintf(buf, size, "libvirt virStorageVolGetXMLDesc(%s/%s)", v->pool ? v->pool : "?",
             v->name ? v->name : "?");
    dbg_utf8_trim_partial(buf);
}

const char *dbg_chk_tenant_of(const dbg_domain *d)
{
    if (d->tenant_id && *d->tenant_id)
        return d->tenant_id;
    return d->tenant_name && *d->tenant_name ? d->tenant_name : NULL;
}

int dbg_chk_is_tenant_vm(const dbg_domain *d)
{
    return dbg_chk_tenant_of(d) && !d->role;
}

/* ------------------------------------------------------------ tenant identity */

static const char *nonempty(const char *s)
{
    return s && *s ? s : NULL;
}

dbg_chk_tenant dbg_chk_vm_tenant(const dbg_domain *d)
{
    return (dbg_chk_tenant){nonempty(d->tenant_id), nonempty(d->tenant_name)};
}

dbg_chk_tenant dbg_chk_net_owner(const dbg_network *n)
{
    return (dbg_chk_tenant){nonempty(n->tenant_id), nonempty(n->tenant_name)};
}

/* The ties twice: sorted by name (then id) and by id (then name), without repeats. */
int dbg_chk_port_order(const dbg_domain *a, const dbg_iface *fa, const dbg_domain *b,
                       const dbg_iface *fb)
{
    int c = strcmp(a->name ? a->name : "", b->name ? b->name : "");
    if (c || a != b)
        return c;
    return fa < fb ? -1 : fa > fb;
}

static int net_key_cmp(const void *a, const void *b)
{
    const dbg_chk_net_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

void dbg_chk_net_index_free(dbg_chk_net_index *ix)
{
    free(ix->by_name);
    free(ix->by_bridge);
    ix->by_name = ix->by_bridge = NULL;
}

int dbg_chk_net_index_build(const dbg_snapshot *s, dbg_chk_net_index *ix)
{
    size_t n = s->n_networks;
    ix->n_name = ix->n_bridge = 0;
    ix->by_name = dbg_calloc(n ? n : 1, sizeof(*ix->by_name));
    ix->by_bridge = dbg_calloc(n ? n : 1, sizeof(*ix->by_bridge));
    if (!ix->by_name || !ix->by_bridge)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s->networks[i].name)
            ix->by_name[ix->n_name++] = (dbg_chk_net_key){s->networks[i].name, i};
        if (s->networks[i].bridge)
            ix->by_bridge[ix->n_bridge++] = (dbg_chk_net_key){s->networks[i].bridge, i};
    }
    if (ix->n_name > 1)
        qsort(ix->by_name, ix->n_name, sizeof(*ix->by_name), net_key_cmp);
    if (ix->n_bridge > 1)
        qsort(ix->by_bridge, ix->n_bridge, sizeof(*ix->by_bridge), net_key_cmp);
    return 0;
}

static const dbg_network *net_index_find(const dbg_snapshot *s, const dbg_chk_net_key *t, size_t n,
                                         const char *key)
{
    if (!key)
        return NULL;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(t[mid].key, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !strcmp(t[lo].key, key) ? &s->networks[t[lo].idx] : NULL;
}

const dbg_network *dbg_chk_net_by_name(const dbg_snapshot *s, const dbg_chk_net_index *ix,
                                       const char *name)
{
    return net_index_find(s, ix->by_name, ix->n_name, name);
}

const dbg_network *dbg_chk_net_by_bridge(const dbg_snapshot *s, const dbg_chk_net_index *ix,
                                         const char *br)
{
    return net_index_find(s, ix->by_bridge, ix->n_bridge, br);
}

int dbg_chk_port_segment(const dbg_snapshot *s, const dbg_chk_net_index *ix, const dbg_iface *f,
                         const char **segment, const dbg_network **net)
{
    *segment = f->source;
    *net = NULL;
    if (!f->type || !f->source)
        return -1;
    if (!strcmp(f->type, "network")) {
        *net = dbg_chk_net_by_name(s, ix, f->source);
        return 0;
    }
    if (!strcmp(f->type, "bridge")) {
        if (!(*net = dbg_chk_net_by_bridge(s, ix, f->source)))
            return 1;
        *segment = (*net)->name;
        return 0;
    }
    return !strcmp(f->type, "direct") ? 2 : -1;
}

struct dbg_chk_tenant_map {
    dbg_chk_tenant *by_name, *by_id;
    size_t n;
};

static int tie_by_name(const void *a, const void *b)
{
    const dbg_chk_tenant *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->id, y->id);
}

static int tie_by_id(const void *a, const void *b)
{
    const dbg_chk_tenant *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->name, y->name);
}

static size_t unique_ties(dbg_chk_tenant *t, size_t n, int (*cmp)(const void *, const void *))
{
    if (n == 0)
        return 0;
    qsort(t, n, sizeof(*t), cmp);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (cmp(&t[i], &t[k - 1]))
            t[k++] = t[i];
    return k;
}

dbg_chk_tenant_map *dbg_chk_tenant_map_new(const dbg_snapshot *s)
{
    dbg_chk_tenant_map *m = dbg_calloc(1, sizeof(*m));
    size_t cap = s->n_domains + s->n_networks;
    if (!m)
        return NULL;
    m->by_name = dbg_calloc(cap ? cap : 1, sizeof(*m->by_name));
    m->by_id = dbg_calloc(cap ? cap : 1, sizeof(*m->by_id));
    if (!m->by_name || !m->by_id) {
        dbg_chk_tenant_map_free(m);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        dbg_chk_tenant t = dbg_chk_vm_tenant(&s->domains[i]);
        if (t.id && t.name)
            m->by_name[n++] = t;
    }
    for (size_t i = 0; i < s->n_networks; i++) {
        dbg_chk_tenant t = dbg_chk_net_owner(&s->networks[i]);
        if (t.id && t.name)
            m->by_name[n++] = t;
    }
    m->n = unique_ties(m->by_name, n, tie_by_name);
    memcpy(m->by_id, m->by_name, m->n * sizeof(*m->by_id));
    if (m->n)
        qsort(m->by_id, m->n, sizeof(*m->by_id), tie_by_id);
    return m;
}

void dbg_chk_tenant_map_free(dbg_chk_tenant_map *m)
{
    if (!m)
        return;
    free(m->by_name);
    free(m->by_id);
    free(m);
}

/* The ties whose name (by_name) or id (by_id) is key: *first and the count. */
static size_t ties_of(const dbg_chk_tenant *t, size_t n, int by_id, const char *key, size_t *first)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(by_id ? t[mid].id : t[mid].name, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t k = lo;
    while (k < n && !strcmp(by_id ? t[k].id : t[k].name, key))
        k++;
    *first = lo;
    return k - lo;
}

dbg_chk_tenant dbg_chk_tenant_resolve(const dbg_chk_tenant_map *m, dbg_chk_tenant t)
{
    size_t first;
    if (!t.id && t.name && m && ties_of(m->by_name, m->n, 0, t.name, &first) == 1)
        t.id = m->by_name[first].id;
    return t;
}

/* Whether some id is tied to both names (each tied to several ids, so neither resolved). */
static int share_an_id(const dbg_chk_tenant_map *m, const char *a, const char *b)
{
    size_t fa, fb;
    size_t na = ties_of(m->by_name, m->n, 0, a, &fa);
    size_t nb = ties_of(m->by_name, m->n, 0, b, &fb);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (!strcmp(m->by_name[fa + i].id, m->by_name[fb + j].id))
                return 1;
    return 0;
}

dbg_chk_tenant_rel dbg_chk_tenant_relation(const dbg_chk_tenant_map *m, dbg_chk_tenant a,
                                           dbg_chk_tenant b)
{
    static const dbg_chk_tenant_map none = {0};
    if (!m)
        m = &none;
    a = dbg_chk_tenant_resolve(m, a);
    b = dbg_chk_tenant_resolve(m, b);
    if (a.id && b.id)
        return strcmp(a.id, b.id) ? DBG_CHK_OTHER_TENANT : DBG_CHK_SAME_TENANT;
    if (!a.id && !b.id) {
        if (!a.name || !b.name)
            return DBG_CHK_TENANT_UNKNOWN; /* a reference to no tenant at all */
        size_t first;
        if (strcmp(a.name, b.name))
            return share_an_id(m, a.name, b.name) ? DBG_CHK_TENANT_UNKNOWN : DBG_CHK_OTHER_TENANT;
        /* One name tied to several ids may be any of them, on each side. */
        return ties_of(m->by_name, m->n, 0, a.name, &first) ? DBG_CHK_TENANT_UNKNOWN
                                                            : DBG_CHK_SAME_TENANT;
    }
    const char *id = a.id ? a.id : b.id;
    const char *name = a.id ? b.name : a.name;
    if (!name)
        return DBG_CHK_TENANT_UNKNOWN;
    size_t first;
    size_t n_ids = ties_of(m->by_name, m->n, 0, name, &first);
    if (n_ids) { /* several (one would have resolved): is id among them? */
        for (size_t i = 0; i < n_ids; i++)
            if (!strcmp(m->by_name[first + i].id, id))
                return DBG_CHK_TENANT_UNKNOWN;
        return DBG_CHK_OTHER_TENANT;
    }
    /* The name is tied to no id: only a known, different name of the id's tenant decides. */
    return ties_of(m->by_id, m->n, 1, id, &first) ? DBG_CHK_OTHER_TENANT : DBG_CHK_TENANT_UNKNOWN;
}

void dbg_chk_tenant_describe(dbg_chk_tenant t, char *buf, size_t size)
{
    if (t.id && t.name)
        snprintf(buf, size, "id %s (name %s)", t.id, t.name);
    else if (t.id)
        snprintf(buf, size, "id %s", t.id);
    else
        snprintf(buf, size, "name %s", t.name ? t.name : "?");
    dbg_utf8_trim_partial(buf);
}

size_t dbg_chk_unplaced_vms_on(const dbg_snapshot *s, dbg_chk_iface_filter on, const void *arg,
                               const char *where, dbg_evidence_list *ev)
{
    size_t n = 0;
    dbg_buf names;
    dbg_buf_init(&names, 0);
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (d->role || dbg_chk_tenant_of(d))
            continue;
        size_t ports = 0;
        for (size_t j = 0; j < d->n_ifaces; j++)
            ports += on ? on(s, &d->ifaces[j], arg) != 0 : !dbg_streq(d->ifaces[j].type, "user");
        if (!ports)
            continue; /* no network (or none the check looks at): nothing to judge */
        if (n < DBG_CHK_MAX_LISTED &&
            dbg_buf_printf(&names, "%s%s", n ? ", " : "", d->name ? d->name : "?") < 0)
            ev->failed = 1;
        n++;
    }
    if (n > DBG_CHK_MAX_LISTED)
        dbg_buf_printf(&names, " and %zu more", n - DBG_CHK_MAX_LISTED);
    if (n)
        dbg_evidence_addf(ev, 0, "libvirt virConnectListAllDomains",
                          "VMs naming neither a tenant nor a role",
                          "every VM placed: <dengbao:tenant id='..' name='..'/> (or nova "
                          "<nova:owner><nova:project>) in a tenant VM's metadata, "
                          "<dengbao:role>management</dengbao:role> in a platform VM's",
                          "%zu VM(s) with network interfaces%s name no tenant and are not marked "
                          "as platform VMs, so this cannot be judged for them: %s",
                          n, where ? where : "", names.data ? names.data : "");
    dbg_buf_free(&names);
    return n;
}

size_t dbg_chk_unplaced_vms(const dbg_snapshot *s, dbg_evidence_list *ev)
{
    return dbg_chk_unplaced_vms_on(s, NULL, NULL, NULL, ev);
}

size_t dbg_chk_unseen_segment_ports(const dbg_snapshot *s, int links_judged,
                                    dbg_evidence_list *ev)
{
    static const char *const seen[] = {"network", "bridge", "direct", "user"};
    size_t n = 0;
    dbg_buf names;
    dbg_buf_init(&names, 0);
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!dbg_chk_is_tenant_vm(d))
            continue;
        for (size_t j = 0; j < d->n_ifaces; j++) {
            const char *type = d->ifaces[j].type;
            size_t k = 0;
            while (k < sizeof(seen) / sizeof(*seen) && !dbg_streq(type, seen[k]))
                k++;
            if (k < sizeof(seen) / sizeof(*seen) ||
                (links_judged && dbg_iface_is_socket_link(&d->ifaces[j]) &&
                 d->ifaces[j].link_address))
                continue;
            if (n < DBG_CHK_MAX_LISTED &&
                dbg_buf_printf(&names, "%s%s (%s)", n ? ", " : "", d->name ? d->name : "?",
                               type ? type : "no type") < 0)
                ev->failed = 1;
            n++;
        }
    }
    if (n > DBG_CHK_MAX_LISTED)
        dbg_buf_printf(&names, " and %zu more", n - DBG_CHK_MAX_LISTED);
    if (n)
        dbg_evidence_addf(ev, 0, "libvirt virDomainGetXMLDesc",
                          "tenant VM interfaces outside libvirt's networks",
                          "tenant ports on a libvirt network, host bridge or direct device",
                          "%zu interface(s) of tenant VMs join no network, bridge or device "
                          "libvirt shows (a QEMU socket link joins VMs directly; a host tap, "
                          "vhost-user, vDPA or host device port hangs on a switch libvirt does "
                          "not describe), so whom they reach and what guards them is not seen: %s",
                          n, names.data ? names.data : "");
    dbg_buf_free(&names);
    return n;
}

dbg_check_result dbg_chk_control_status(const dbg_snapshot *s, const char *name, const char *what,
                                        dbg_evidence_list *ev)
{
    const dbg_control *c = dbg_snapshot_control(s, name);
    char src[256];
    if (c && c->path)
        snprintf(src, sizeof(src), "%s", c->path);
    else
        snprintf(src, sizeof(src), "/run/dengbao/status/%s.json", name);
    if (c && c->unknown) {
        dbg_evidence_addf(ev, 0, src, name, "deployed and healthy", "unknown: %s",
                          c->detail ? c->detail : "status file not readable");
        return DBG_CHECK_ERROR;
    }
    if (!c || !c->deployed) {
        dbg_evidence_addf(ev, 0, src, name, "deployed and healthy", "not deployed (%s)",
                          c && c->detail ? c->detail
                                         : "no status file: no "
                                           "dengbao control provides this");
        dbg_evidence_addf(ev, 0, src, "requirement", "a running control", "%s", what);
        return DBG_CHECK_FAIL;
    }
    if (!c->healthy) {
        dbg_evidence_addf(ev, 0, src, name, "deployed and healthy", "deployed but not healthy: %s",
                          c->detail ? c->detail : "status not refreshed within 300 s");
        return DBG_CHECK_FAIL;
    }
    if (c->degraded) {
        /* it runs, and says what of its job it is not doing: that part is the gap */
        dbg_evidence_addf(ev, 1, src, name, "deployed and healthy", "deployed and running: %s",
                          c->detail ? c->detail : "status fresh");
        dbg_evidence_addf(ev, 0, src, name, "doing all of its job", "degraded: %s", c->degraded);
        return DBG_CHECK_PARTIAL;
    }
    dbg_evidence_addf(ev, 1, src, name, "deployed and healthy", "deployed and healthy: %s",
                      c->detail ? c->detail : "status fresh");
    return DBG_CHECK_PASS;
}

void dbg_chk_more(dbg_evidence_list *ev, int ok, const char *source, size_t total, const char *what,
                  const char *expected)
{
    if (total > DBG_CHK_MAX_LISTED)
        dbg_evidence_addf(ev, ok, source, what, expected, "and %zu more not listed",
                          total - DBG_CHK_MAX_LISTED);
}

/* A daemon's pid file f (collected at path) and the process the collector found for it: 1
 * running, 0 not (no file, no pid, or its process is gone), -1 unknown (unreadable, or
 * collected under a copied root where no process is looked up). buf gets the reason. */
static int pidfile_state(const dbg_host_file *f, const char *path, char *buf, size_t size)
{
    char pid[32];
    const dbg_setting *proc = dbg_host_file_get(f, "process");
    if (f->error) { /* even absent: whether it exists could not be seen */
        snprintf(buf, size, "%s (%s)", path, f->error);
        return -1;
    }
    if (!f->present) {
        dbg_chk_where(f, NULL, path, buf, size);
        return 0;
    }
    if (!dbg_chk_value(dbg_host_file_get(f, "pid"), pid, sizeof(pid))) {
        snprintf(buf, size, "%s (holds no pid)", path);
        return 0;
    }
    if (!proc || !proc->value) {
        /* Collected under a copied host root: a pid file alone does not show a process. */
        snprintf(buf, size, "%s (pid %s; process not confirmed: not collected on the live host)",
                 path, pid);
        return -1;
    }
    snprintf(buf, size, "%s (pid %s; %s)", path, pid, proc->value);
    return !strncmp(proc->value, "running", 7) ? 1 : 0;
}

int dbg_chk_auditd_state(const dbg_snapshot *s, char *where, size_t size)
{
    static const char *const pidfiles[] = {"/run/auditd.pid", "/var/run/auditd.pid"};
    /* Best state wins: running, then unconfirmed, then not running; -2 = none collected. */
    int best = -2;
    for (size_t i = 0; i < 2; i++) {
        const dbg_host_file *f = dbg_snapshot_host_file(s, pidfiles[i]);
        if (!f)
            continue;
        char buf[512];
        int st = pidfile_state(f, pidfiles[i], buf, sizeof(buf));
        int rank = st == 1 ? 3 : st == -1 ? 2 : 1;
        int best_rank = best == 1 ? 3 : best == -1 ? 2 : best == 0 ? 1 : 0;
        if (rank > best_rank) {
            best = st;
            snprintf(where, size, "%s", buf);
        }
    }
    if (best == -2) {
        snprintf(where, size, "%s (not collected)", pidfiles[0]);
        return -1;
    }
    return best;
}

const dbg_nwfilter *dbg_chk_find_filter(const dbg_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_nwfilters; i++)
        if (dbg_streq(s->nwfilters[i].name, name))
            return &s->nwfilters[i];
    return NULL;
}

/* The walk over a filter's <filterref>s: libvirt refuses loops, but the snapshot is untrusted
 * input, so both the depth and the filters visited per port are bounded (a filter including
 * the next one twice, 16 deep, would otherwise be 65,536 visits for each of 10,000 ports). */
enum { FILTER_MAX_DEPTH = 16, FILTER_MAX_VISITS = 256 };
typedef struct {
    const dbg_snapshot *s;
    int visits;
    char *why; /* the first reason the answer is unknown; never NULL */
    size_t size;
    const char *hygiene; /* the first of libvirt's hygiene filters found dropping */
} filter_walk;

/* libvirt's stock filters whose drops keep a port's traffic honest (its own MAC and IP, no
 * stray L2 protocols, broadcasts or multicasts) and say nothing of who may talk to whom: a port
 * whose only drops are theirs, as one with just clean-traffic, has no access control rule.
 * (clean-traffic-gateway drops in its own rules: traffic not to or from the gateway, which is
 * an isolation rule, and counts.) */
static int is_hygiene_filter(const char *name)
{
    static const char *const names[] = {
        "no-mac-spoofing",     "no-ip-spoofing",        "no-ipv6-spoofing",
        "no-arp-spoofing",     "no-arp-ip-spoofing",    "no-arp-mac-spoofing",
        "no-other-l2-traffic", "no-other-rarp-traffic", "no-mac-broadcast",
        "no-ip-multicast",     "no-ipv6-multicast",     "qemu-announce-self",
        "qemu-announce-self-rarp",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (dbg_streq(name, names[i]))
            return 1;
    return 0;
}

static int filter_unknown(filter_walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int filter_unknown(filter_walk *w, const char *fmt, ...)
{
    if (!*w->why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(w->why, w->size, fmt, ap);
        va_end(ap);
        dbg_utf8_trim_partial(w->why);
    }
    return -1;
}

/* 1 a drop or reject rule in name or the filters it includes; 0 none (accept, return and
 * continue restrict nothing, and a hygiene filter's drops control no access); -1 cannot be
 * told. Stops at the first drop or reject. */
static int filter_restricts(filter_walk *w, const char *name, int depth)
{
    if (!name)
        return filter_unknown(w, "a filterref without a filter name");
    if (depth > FILTER_MAX_DEPTH || ++w->visits > FILTER_MAX_VISITS)
        return filter_unknown(w, "filter %s: included too deep or too often to follow", name);
    const dbg_nwfilter *f = dbg_chk_find_filter(w->s, name);
    if (!f)
        return filter_unknown(w, "filter %s is included but not in the snapshot", name);
    int r = 0;
    if (f->n_rules_listed != f->n_rules)
        r = filter_unknown(w,
                           "filter %s: the actions of its rules were not recorded (a snapshot "
                           "made before they were)",
                           name);
    int hygiene = is_hygiene_filter(name);
    for (size_t i = 0; i < f->n_rules_listed; i++) {
        const char *a = f->rules[i].action;
        if ((dbg_streq(a, "drop") || dbg_streq(a, "reject")) && hygiene) {
            if (!w->hygiene)
                w->hygiene = f->name;
            continue;
        }
        if (dbg_streq(a, "drop") || dbg_streq(a, "reject"))
            return 1;
        if (!dbg_streq(a, "accept") && !dbg_streq(a, "return") && !dbg_streq(a, "continue"))
            r = filter_unknown(w, "filter %s: rule action '%s' is not one libvirt has", name,
                               a ? a : "(none)");
    }
    for (size_t i = 0; i < f->n_refs; i++) {
        int sub = filter_restricts(w, f->refs[i], depth + 1);
        if (sub > 0)
            return 1;
        if (sub < 0)
            r = -1;
    }
    return r;
}

int dbg_chk_port_filter(const dbg_snapshot *s, const dbg_iface *f, char *why, size_t size)
{
    char none[1];
    if (!why || !size) {
        why = none;
        size = sizeof(none);
    }
    *why = '\0';
    if (!f->filterref) {
        snprintf(why, size, "no filterref");
        return 0;
    }
    if (!s->nwfilter_supported) {
        snprintf(why, size, "filter %s: the driver cannot show it (%s)", f->filterref,
                 s->nwfilter_note ? s->nwfilter_note : "nwfilter not supported");
        dbg_utf8_trim_partial(why);
        return -1;
    }
    if (!dbg_chk_find_filter(s, f->filterref)) {
        snprintf(why, size, "filter %s is not defined", f->filterref);
        dbg_utf8_trim_partial(why);
        return 0;
    }
    filter_walk w = {s, 0, why, size, NULL};
    int r = filter_restricts(&w, f->filterref, 0);
    if (r > 0) {
        *why = '\0'; /* a filter that could not be followed, where another one drops */
    } else if (r == 0 && w.hygiene) {
        snprintf(why, size, "filter %s drops only spoofed or stray traffic (libvirt's %s): no "
                 "rule on who may reach the VM", f->filterref, w.hygiene);
        dbg_utf8_trim_partial(why);
    } else if (r == 0) {
        snprintf(why, size, "filter %s accepts everything (no drop/reject rule)", f->filterref);
        dbg_utf8_trim_partial(why);
    }
    return r;
}

int dbg_chk_unreadable(const dbg_host_file *f, const char *path, const char *key,
                       dbg_evidence_list *ev)
{
    if (!f || !f->error)
        return 0;
    dbg_evidence_addf(ev, 0, path, key, "the file's settings, to judge from", "unknown: %s",
                      f->error);
    return 1;
}

/* Whether path lies in a directory named after main plus ".d" (/x/pwquality.conf.d/a.conf,
 * /usr/lib/systemd/timesyncd.conf.d/a.conf, or such a directory's pattern). */
static int is_dropin_of(const char *path, const char *main)
{
    const char *base = strrchr(main, '/');
    base = base ? base + 1 : main;
    size_t bl = strlen(base);
    const char *slash = path ? strrchr(path, '/') : NULL;
    size_t dl = slash ? (size_t)(slash - path) : 0; /* length of the directory */
    return dl >= bl + 3 && path[dl - bl - 3] == '/' && !strncmp(path + dl - bl - 2, base, bl) &&
           !strncmp(path + dl - 2, ".d", 2);
}

/* Position of host file i in the program's reading order of main and its drop-ins, 0 for
 * another file. */
static size_t dropin_pos(const dbg_snapshot *s, size_t i, const char *main, int main_last)
{
    const char *path = s->host_files[i].path;
    if (path && !strcmp(path, main))
        return main_last ? s->n_host_files + 2 : 1;
    return is_dropin_of(path, main) ? i + 2 : 0;
}

const dbg_setting *dbg_chk_dropin_get(const dbg_snapshot *s, const char *main, int main_last,
                                      const char *key, int *unsure)
{
    const dbg_setting *found = NULL;
    size_t found_pos = 0;
    for (size_t i = 0; i < s->n_host_files; i++) {
        size_t pos = dropin_pos(s, i, main, main_last);
        const dbg_setting *st = pos ? dbg_host_file_get(&s->host_files[i], key) : NULL;
        if (st && pos > found_pos) {
            found = st;
            found_pos = pos;
        }
    }
    *unsure = 0;
    for (size_t i = 0; i < s->n_host_files; i++)
        if (s->host_files[i].error && dropin_pos(s, i, main, main_last) > found_pos)
            *unsure = 1;
    return found;
}

size_t dbg_chk_dropin_unreadable(const dbg_snapshot *s, const char *main, const char *key,
                                 dbg_evidence_list *ev)
{
    size_t bad = 0;
    for (size_t i = 0; i < s->n_host_files; i++)
        if (dropin_pos(s, i, main, 0))
            bad += (size_t)dbg_chk_unreadable(&s->host_files[i], s->host_files[i].path, key, ev);
    return bad;
}

/* 2 running (the live process of its pid file), 1 socket unit enabled, 0 neither seen; where
 * gets the evidence. */
static int daemon_state(const dbg_snapshot *s, const char *name, char *where, size_t size)
{
    char path[160], unit[64];
    snprintf(path, sizeof(path), "/run/%s.pid", name);
    const dbg_host_file *pf = dbg_snapshot_host_file(s, path);
    if (pf && pidfile_state(pf, path, where, size) == 1)
        return 2;
    snprintf(unit, sizeof(unit), "%s.socket", name);
    if (dbg_snapshot_unit_enabled(s, unit, path, sizeof(path)) > 0) {
        snprintf(where, size, "%s (enabled)", path);
        return 1;
    }
    return 0;
}

const dbg_host_file *dbg_chk_libvirt_conf(const dbg_snapshot *s, const char *modular,
                                          const char **path, dbg_evidence_list *ev)
{
    static const char *const mono_path = "/etc/libvirt/libvirtd.conf";
    const char *mod_path = !strcmp(modular, "virtqemud") ? "/etc/libvirt/virtqemud.conf"
                                                         : "/etc/libvirt/virtproxyd.conf";
    char wm[300], wd[300];
    int mono = daemon_state(s, "libvirtd", wm, sizeof(wm));
    int mod = daemon_state(s, modular, wd, sizeof(wd));
    const dbg_host_file *f = dbg_snapshot_host_file(s, mono_path);
    if (mono || mod) {
        /* the stronger sign wins; a tie (both running, or both only enabled) goes to libvirtd,
         * which serves every driver itself */
        int use_mod = mod > mono;
        *path = use_mod ? mod_path : mono_path;
        dbg_evidence_addf(ev, 1, use_mod ? wd : wm, "libvirt daemon in use",
                          "the configuration file of the daemon that serves this", "%s: %s applies",
                          use_mod ? modular : "libvirtd", *path);
        return dbg_snapshot_host_file(s, *path);
    }
    *path = mono_path;
    if (f && (f->present || f->error)) /* unreadable is not absent: no fallback */
        return f;
    const dbg_host_file *m = dbg_snapshot_host_file(s, mod_path);
    if (m && (m->present || m->error)) {
        *path = mod_path;
        return m;
    }
    return f;
}

dbg_check_result dbg_chk_control_pair(const dbg_snapshot *s, const char *a, const char *what_a,
                                      const char *b, const char *what_b, dbg_evidence_list *ev)
{
    dbg_check_result ra = dbg_chk_control_status(s, a, what_a, ev);
    dbg_check_result rb = dbg_chk_control_status(s, b, what_b, ev);
    if (ra == DBG_CHECK_ERROR || rb == DBG_CHECK_ERROR)
        return DBG_CHECK_ERROR; /* partial or not, depending on what could not be read */
    if (ra == DBG_CHECK_PASS && rb == DBG_CHECK_PASS)
        return DBG_CHECK_PASS;
    /* one running, even degraded, is part of it */
    return ra == DBG_CHECK_FAIL && rb == DBG_CHECK_FAIL ? DBG_CHECK_FAIL : DBG_CHECK_PARTIAL;
}
