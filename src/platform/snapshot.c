/* Snapshot lifetime and the lookups checks and the sensor use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/platform.h"
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

int dbg_snapshot_unit_enabled(const dbg_snapshot *s, const char *unit, char *path, size_t size)
{
    snprintf(path, size, "/etc/systemd/system/sockets.target.wants/%s", unit);
    const dbg_host_file *f = dbg_snapshot_host_file(s, path);
    return f && f->present;
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
