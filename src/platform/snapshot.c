/* Snapshot lifetime and the lookups checks and the sensor use. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"
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

/* Whether path is a drop-in of unit (<unit dir>/<unit>.d/NAME, or the pattern recorded for
 * such a directory that could not be listed). */
static int is_unit_dropin(const char *path, const char *unit)
{
    size_t ul = strlen(unit);
    for (size_t d = 0; d < DBG_PLATFORM_N_UNIT_DIRS; d++) {
        const char *dir = dbg_platform_unit_dirs[d];
        size_t dl = strlen(dir);
        const char *p = path + dl + 1;
        if (!strncmp(path, dir, dl) && path[dl] == '/' && !strncmp(p, unit, ul) &&
            !strncmp(p + ul, ".d/", 3) && !strchr(p + ul + 3, '/'))
            return 1;
    }
    return 0;
}

static int is_loopback(int family, const unsigned char *a)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char v6lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (family == AF_INET)
        return a[0] == 127;
    return !memcmp(a, v6lo, 16) || (!memcmp(a, v4mapped, 12) && a[12] == 127);
}

/* A ListenStream= value: a port (systemd binds the wildcard address), IPv4:port, [IPv6]:port;
 * anything else (a UNIX socket path, @abstract, vsock:) is no TCP port. */
static void parse_listen(const char *value, dbg_unit_listen *l)
{
    char buf[128], *addr = buf, *port;
    unsigned char a[16];
    long p;
    snprintf(buf, sizeof(buf), "%s", value);
    int family = AF_INET;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (!close || close[1] != ':')
            return;
        *close = '\0';
        addr = buf + 1;
        port = close + 2;
        family = AF_INET6;
        char *scope = strchr(addr, '%');
        if (scope)
            *scope = '\0';
    } else if ((port = strchr(buf, ':')) != NULL) {
        *port++ = '\0';
    } else {
        addr = NULL;
        port = buf;
    }
    if (dbg_parse_long(port, 1, 65535, &p) < 0 || (addr && inet_pton(family, addr, a) != 1)) {
        dbg_err_clear();
        return;
    }
    l->port = (int)p;
    l->network = !addr || !is_loopback(family, a);
}

static int add_listen(dbg_unit_sockets *u, size_t *cap, const dbg_setting *st, int port)
{
    if (dbg_grow_array((void **)&u->listen, cap, u->n_listen + 1, sizeof(*u->listen), 4) < 0)
        return -1;
    dbg_unit_listen *l = &u->listen[u->n_listen++];
    *l = (dbg_unit_listen){st, 0, 0};
    if (st)
        parse_listen(st->value ? st->value : "", l);
    else
        *l = (dbg_unit_listen){NULL, port, 1};
    return 0;
}

/* Applies f's ListenStream= assignments to u. */
static int apply_listen(dbg_unit_sockets *u, size_t *cap, const dbg_host_file *f)
{
    if (f->error) {
        if (!u->unreadable)
            u->unreadable = f;
        return 0;
    }
    for (size_t i = 0; i < f->n_settings; i++) {
        const dbg_setting *st = &f->settings[i];
        if (!st->key || strcmp(st->key, "ListenStream"))
            continue;
        if (!st->value || !*st->value)
            u->n_listen = 0;
        else if (add_listen(u, cap, st, 0) < 0)
            return -1;
    }
    return 0;
}

int dbg_snapshot_unit_sockets(const dbg_snapshot *s, const char *unit, int default_port,
                              dbg_unit_sockets *out)
{
    char path[512];
    size_t cap = 0;
    memset(out, 0, sizeof(*out));
    const dbg_host_file *uf = unit_file(s, unit, path, sizeof(path));
    out->unit_file = uf ? uf->path : NULL;
    if (uf ? apply_listen(out, &cap, uf) < 0 : add_listen(out, &cap, NULL, default_port) < 0)
        return -1;
    /* the collector records drop-ins in the order systemd applies them */
    for (size_t i = 0; i < s->n_host_files; i++)
        if (s->host_files[i].path && is_unit_dropin(s->host_files[i].path, unit) &&
            apply_listen(out, &cap, &s->host_files[i]) < 0)
            return -1;
    return 0;
}

void dbg_unit_sockets_clear(dbg_unit_sockets *u)
{
    free(u->listen);
    memset(u, 0, sizeof(*u));
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

int dbg_iface_is_socket_link(const dbg_iface *i)
{
    static const char *const types[] = {"mcast", "udp", "server", "client"};
    for (size_t k = 0; i->type && k < sizeof(types) / sizeof(*types); k++)
        if (!strcmp(i->type, types[k]))
            return 1;
    return 0;
}

int dbg_seal_state_ok(const char *state)
{
    return state && (!strcmp(state, "sealed") || !strcmp(state, "intact"));
}
