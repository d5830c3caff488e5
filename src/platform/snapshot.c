/* Snapshot lifetime and the lookups checks and the sensor use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/platform.h"
#include "platform/platform_internal.h"
#include "platform/snapshot_schema.h"

void dbg_snapshot_free(dbg_snapshot *s)
{
    if (!s)
        return;
    dbg_objdesc_free_members(&dbg_snapshot_desc, s);
    free(s);
}

const dbg_host_file *dbg_snapshot_host_file(const dbg_snapshot *s, const char *path)
{
    if (!s || !path)
        return NULL;
    for (size_t i = 0; i < s->n_host_files; i++)
        if (s->host_files[i].path && !strcmp(s->host_files[i].path, path))
            return &s->host_files[i];
    return NULL;
}

const char *const dbg_platform_unit_dirs[DBG_PLATFORM_N_UNIT_DIRS] = {
    "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    /* split-/usr builds such as Debian 12's; on a merged /usr the same files as /usr/lib */
    "/lib/systemd/system",
};

/* The unit file systemd loads for unit: the first directory's that was seen (or could not be
 * read); its path goes to path. NULL when none was collected. */
static const dbg_host_file *unit_file(const dbg_snapshot *s, const char *unit, char *path,
                                      size_t size)
{
    for (size_t d = 0; d < DBG_PLATFORM_N_UNIT_DIRS; d++) {
        snprintf(path, size, "%s/%s", dbg_platform_unit_dirs[d], unit);
        const dbg_host_file *f = dbg_snapshot_host_file(s, path);
        if (f && (f->present || f->error))
            return f;
    }
    return NULL;
}

int dbg_snapshot_unit_enabled(const dbg_snapshot *s, const char *unit, char *path, size_t size)
{
    char link[512], unseen[512] = "";
    const dbg_host_file *uf = unit_file(s, unit, path, size);
    const dbg_setting *mask = dbg_host_file_get(uf, "masked");
    if (uf && !uf->error && mask && mask->line == 0)
        return 0; /* path: the mask */
    for (size_t d = 0; d < DBG_PLATFORM_N_UNIT_DIRS; d++) {
        snprintf(link, sizeof(link), "%s/sockets.target.wants/%s", dbg_platform_unit_dirs[d],
                 unit);
        const dbg_host_file *f = dbg_snapshot_host_file(s, link);
        if (f && f->present && !f->error) {
            snprintf(path, size, "%s", link);
            return 1;
        }
        if (f && f->error && !*unseen)
            snprintf(unseen, sizeof(unseen), "%s", link);
    }
    snprintf(path, size, "%s", unseen);
    return *unseen ? -1 : 0;
}

/* Keys compare without case: sshd_config keywords are case-insensitive and no other file we
 * read has two keys differing only in case. The last occurrence wins (libvirt, login.defs,
 * auditd); the sshd_config parser records only the first, effective, occurrence. */
const dbg_setting *dbg_host_file_get(const dbg_host_file *f, const char *key)
{
    if (!f || !key)
        return NULL;
    for (size_t i = f->n_settings; i-- > 0;)
        if (f->settings[i].key && !strcasecmp(f->settings[i].key, key))
            return &f->settings[i];
    return NULL;
}

const dbg_control *dbg_snapshot_control(const dbg_snapshot *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (size_t i = 0; i < s->n_controls; i++)
        if (s->controls[i].name && !strcmp(s->controls[i].name, name))
            return &s->controls[i];
    return NULL;
}

const dbg_network *dbg_snapshot_network(const dbg_snapshot *s, const char *name)
{
    if (!s || !name)
        return NULL;
    for (size_t i = 0; i < s->n_networks; i++)
        if (s->networks[i].name && !strcmp(s->networks[i].name, name))
            return &s->networks[i];
    return NULL;
}

const dbg_domain *dbg_snapshot_domain_by_mac(const dbg_snapshot *s, const char *mac,
                                             const dbg_iface **iface)
{
    if (iface)
        *iface = NULL;
    if (!s || !mac)
        return NULL;
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        for (size_t k = 0; k < d->n_ifaces; k++) {
            if (d->ifaces[k].mac && !strcasecmp(d->ifaces[k].mac, mac)) {
                if (iface)
                    *iface = &d->ifaces[k];
                return d;
            }
        }
    }
    return NULL;
}
