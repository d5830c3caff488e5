/* Snapshot lookups and evidence-source naming shared by the check files. They read the
 * snapshot structs directly so checks stay pure functions of their input. */
#include <ctype.h>
#include <stdio.h>
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

dbg_check_result dbg_chk_control_status(const dbg_snapshot *s, const char *name, const char *what,
                                        dbg_evidence_list *ev)
{
    char src[256];
    snprintf(src, sizeof(src), "/run/dengbao/status/%s.json", name);
    const dbg_control *c = dbg_snapshot_control(s, name);
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
        char pid[32];
        const dbg_setting *proc = dbg_host_file_get(f, "process");
        int st;
        if (!f->present) {
            st = 0;
            dbg_chk_where(f, NULL, pidfiles[i], buf, sizeof(buf));
        } else if (f->error) {
            st = -1;
            snprintf(buf, sizeof(buf), "%s (cannot be read: %s)", pidfiles[i], f->error);
        } else if (!dbg_chk_value(dbg_host_file_get(f, "pid"), pid, sizeof(pid))) {
            st = 0;
            snprintf(buf, sizeof(buf), "%s (holds no pid)", pidfiles[i]);
        } else if (!proc || !proc->value) {
            /* Collected under a copied host root: a pid file alone does not show a process. */
            st = -1;
            snprintf(buf, sizeof(buf),
                     "%s (pid %s; process not confirmed: not collected on the live host)",
                     pidfiles[i], pid);
        } else {
            st = !strncmp(proc->value, "running", 7) ? 1 : 0;
            snprintf(buf, sizeof(buf), "%s (pid %s; %s)", pidfiles[i], pid, proc->value);
        }
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

const dbg_host_file *dbg_chk_libvirtd_conf(const dbg_snapshot *s, const char **path)
{
    const dbg_host_file *f = dbg_snapshot_host_file(s, "/etc/libvirt/libvirtd.conf");
    *path = "/etc/libvirt/libvirtd.conf";
    if (f && f->present)
        return f;
    const dbg_host_file *proxy = dbg_snapshot_host_file(s, "/etc/libvirt/virtproxyd.conf");
    if (proxy && proxy->present) {
        *path = "/etc/libvirt/virtproxyd.conf";
        return proxy;
    }
    return f;
}

dbg_check_result dbg_chk_control_pair(const dbg_snapshot *s, const char *a, const char *what_a,
                                      const char *b, const char *what_b, dbg_evidence_list *ev)
{
    dbg_check_result ra = dbg_chk_control_status(s, a, what_a, ev);
    dbg_check_result rb = dbg_chk_control_status(s, b, what_b, ev);
    if (ra == DBG_CHECK_PASS && rb == DBG_CHECK_PASS)
        return DBG_CHECK_PASS;
    return ra == DBG_CHECK_PASS || rb == DBG_CHECK_PASS ? DBG_CHECK_PARTIAL : DBG_CHECK_FAIL;
}
