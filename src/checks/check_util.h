/* Helpers shared by the check files (src/checks/ only): snapshot lookups that read the
 * structs directly, setting values with quotes stripped, evidence sources named the same
 * way everywhere. Not part of the public API. */
#ifndef DENGBAO_CHECK_UTIL_H
#define DENGBAO_CHECK_UTIL_H

#include <stddef.h>

#include "dengbao/checks.h"

/* Snapshot lookups are platform.h's: dbg_snapshot_host_file, dbg_host_file_get (last
 * occurrence wins, keys without case), dbg_snapshot_control, dbg_snapshot_network. */

/* Value without surrounding quotes/whitespace in buf; NULL when the setting is NULL. */
const char *dbg_chk_value(const dbg_setting *st, char *buf, size_t size);
/* Parses the setting's value as a long (quotes stripped); 0 on success. */
int dbg_chk_long(const dbg_setting *st, long *out);

/* "path:line" of a setting, or "path (absent)" / "path (not set)" for a missing one. */
void dbg_chk_where(const dbg_host_file *f, const dbg_setting *st, const char *path, char *buf,
                   size_t size);
/* "libvirt virDomainGetXMLDesc(<name>)" and friends. */
void dbg_chk_dom_src(const dbg_domain *d, char *buf, size_t size);
void dbg_chk_net_src(const char *net, char *buf, size_t size);
void dbg_chk_pool_src(const char *pool, char *buf, size_t size);
void dbg_chk_vol_src(const dbg_volume *v, char *buf, size_t size);

/* The tenant a VM names: its id, else its name (<dengbao:tenant name=..> without an id);
 * NULL when it names none. */
const char *dbg_chk_tenant_of(const dbg_domain *d);
/* A tenant VM: it names a tenant and is not one of the platform's own (role) VMs. */
int dbg_chk_is_tenant_vm(const dbg_domain *d);
/* VMs with network interfaces that name neither a tenant nor a role cannot be placed, so a
 * check that depends on tenancy cannot pass or be not-applicable while they exist. Lists
 * them in ev (not ok, with the metadata to add) and returns how many there are. */
size_t dbg_chk_unplaced_vms(const dbg_snapshot *s, dbg_evidence_list *ev);
/* The same for a check that depends only on some interfaces (e.g. those on a management
 * network): counts the unplaced VMs with an interface for which on(s, iface, arg) is nonzero;
 * where (e.g. " on management network mgmt", NULL for none) goes into the evidence text. */
typedef int (*dbg_chk_iface_filter)(const dbg_snapshot *s, const dbg_iface *f, const void *arg);
size_t dbg_chk_unplaced_vms_on(const dbg_snapshot *s, dbg_chk_iface_filter on, const void *arg,
                               const char *where, dbg_evidence_list *ev);
/* Interfaces of tenant VMs on an L2 segment libvirt does not show: not a libvirt network, host
 * bridge or direct device, nor user-mode networking (the VM's own NAT). A QEMU socket link
 * (mcast, udp, server, client) joins VMs directly; a tap the host wires (ethernet), a
 * vhost-user or vDPA port, a host device or a vds port hang on a switch libvirt does not
 * describe. Whom such a port reaches, and what guards it, is not seen, so a tenancy check
 * cannot pass or be not-applicable while one exists: lists them in ev (not ok) and returns how
 * many there are. With links_judged, socket links whose address the snapshot holds are left
 * out: the caller judged them as segments of their own. */
size_t dbg_chk_unseen_segment_ports(const dbg_snapshot *s, int links_judged,
                                    dbg_evidence_list *ev);

/* Tenant identity. Metadata names a tenant by id, by name or by both (a VM's tenant, a
 * network's owner). The snapshot ties a name to an id wherever a VM or a network gives both;
 * a name tied to exactly one id stands for that id. Two references are then
 *   - the same tenant when their ids are equal, or their names are and no id tells them apart;
 *   - other tenants when their ids differ, or their names do (a tenant has one name), or a
 *     name is compared with an id whose own name is known and is another one;
 *   - unknown when a name tied to no id meets an id whose name is unknown, or a name tied to
 *     several ids meets one of them (or itself on another VM).
 * Unknown is neither a match nor a mismatch: checks report it instead of guessing. */
typedef struct {
    const char *id;   /* NULL when the metadata gives only a name */
    const char *name; /* NULL when the metadata gives only an id */
} dbg_chk_tenant;

typedef enum {
    DBG_CHK_SAME_TENANT,
    DBG_CHK_OTHER_TENANT,
    DBG_CHK_TENANT_UNKNOWN,
} dbg_chk_tenant_rel;

/* qsort order of two VM ports on one segment: by VM name, then the port's place in its VM, so
 * evidence lists come out the same whatever qsort does with equal keys. */
int dbg_chk_port_order(const dbg_domain *a, const dbg_iface *fa, const dbg_domain *b,
                       const dbg_iface *fb);

/* A snapshot's networks by name and by bridge, sorted, so a lookup is a binary search (a scan
 * per port made checks O(ports x networks)). Equal keys stay in snapshot order and a lookup
 * returns the first, as dbg_snapshot_network does. */
typedef struct {
    const char *key;
    size_t idx;
} dbg_chk_net_key;
typedef struct {
    dbg_chk_net_key *by_name, *by_bridge;
    size_t n_name, n_bridge;
} dbg_chk_net_index;
/* -1 when out of memory; free with dbg_chk_net_index_free either way. */
int dbg_chk_net_index_build(const dbg_snapshot *s, dbg_chk_net_index *ix);
void dbg_chk_net_index_free(dbg_chk_net_index *ix);
/* The first network named name / whose bridge is br; NULL for none (or a NULL argument). */
const dbg_network *dbg_chk_net_by_name(const dbg_snapshot *s, const dbg_chk_net_index *ix,
                                       const char *name);
const dbg_network *dbg_chk_net_by_bridge(const dbg_snapshot *s, const dbg_chk_net_index *ix,
                                         const char *br);
/* The L2 segment a VM port is on: 0 a libvirt network (a host bridge a listed network owns
 * counts as that network; *net set when the snapshot lists it), 1 a host bridge no listed
 * network owns, 2 a direct (macvtap) device; *segment the network, bridge or device name.
 * -1 for a port on no shared segment (user-mode networking, no type or source). */
int dbg_chk_port_segment(const dbg_snapshot *s, const dbg_chk_net_index *ix, const dbg_iface *f,
                         const char **segment, const dbg_network **net);

/* The name <-> id ties of one snapshot. */
typedef struct dbg_chk_tenant_map dbg_chk_tenant_map;
/* NULL when out of memory. */
dbg_chk_tenant_map *dbg_chk_tenant_map_new(const dbg_snapshot *s);
void dbg_chk_tenant_map_free(dbg_chk_tenant_map *m);
/* The tenant a VM names / a network's owner ({NULL, NULL} for none; "" counts as absent). */
dbg_chk_tenant dbg_chk_vm_tenant(const dbg_domain *d);
dbg_chk_tenant dbg_chk_net_owner(const dbg_network *n);
/* t with its id filled in when it has none and its name is tied to exactly one id. */
dbg_chk_tenant dbg_chk_tenant_resolve(const dbg_chk_tenant_map *m, dbg_chk_tenant t);
dbg_chk_tenant_rel dbg_chk_tenant_relation(const dbg_chk_tenant_map *m, dbg_chk_tenant a,
                                           dbg_chk_tenant b);
/* "id acme (name Acme)", "id acme", "name Acme" into buf. */
void dbg_chk_tenant_describe(dbg_chk_tenant t, char *buf, size_t size);

/* Status check shared by the runtime-control checks: pass when deployed and healthy, partial
 * when healthy but degraded (the control says what it does not cover: evidence). */
dbg_check_result dbg_chk_control_status(const dbg_snapshot *s, const char *name, const char *what,
                                        dbg_evidence_list *ev);

/* Two controls that together meet a requirement: pass with both, partial with one (or one
 * degraded). */
dbg_check_result dbg_chk_control_pair(const dbg_snapshot *s, const char *a, const char *what_a,
                                      const char *b, const char *what_b, dbg_evidence_list *ev);

/* At most this many individual objects are listed per check and kind; the rest are
 * summarised in one "and N more" line so reports of 10,000-VM clouds stay readable. */
#define DBG_CHK_MAX_LISTED 20
/* Checks list objects in order while fewer than DBG_CHK_MAX_LISTED were listed; this adds
 * the summary line for the rest of total. */
void dbg_chk_more(dbg_evidence_list *ev, int ok, const char *source, size_t total, const char *what,
                  const char *expected);

/* auditd state from its pid files and the process the collector found for them on the live
 * host: 1 running, 0 not running (no pid file, or its process is gone), -1 unknown (not
 * collected, unreadable, or collected under a copied host root). Fills where with the reason. */
int dbg_chk_auditd_state(const dbg_snapshot *s, char *where, size_t size);
/* The nwfilter of that name in the snapshot, or NULL. */
const dbg_nwfilter *dbg_chk_find_filter(const dbg_snapshot *s, const char *name);
/* A port's nwfilter as an access-control rule set: 1 a filter the snapshot holds with a drop
 * or reject rule, itself or in a filter it includes; 0 none: no filterref, one naming a filter
 * the listed ones lack (libvirt would not start the VM with it), or a filter that accepts
 * everything (libvirt's allow-all: no drop/reject rule anywhere in it); -1 unknown: a
 * filterref, but the driver lists no filters (libvirt's test driver), or no drop/reject rule
 * was seen where some rule's action was not (a snapshot made before rule actions were
 * recorded, an included filter the snapshot lacks). Fills why (may be NULL) with the reason
 * for 0 and -1, e.g. "filter allow-all accepts everything (no drop/reject rule)". */
int dbg_chk_port_filter(const dbg_snapshot *s, const dbg_iface *f, char *why, size_t size);

/* A host file the collector found, or tried to, but could not read (permission denied, too
 * large, not text, an Include or a directory it could not follow): its settings are unknown,
 * so neither a value nor its absence (a default) is evidence. Adds an evidence line naming the
 * file and the reason and returns 1 for such a file; 0 otherwise (NULL too: a file the snapshot
 * does not list is the caller's case). */
int dbg_chk_unreadable(const dbg_host_file *f, const char *path, const char *key,
                       dbg_evidence_list *ev);
/* A key = value file its program reads together with drop-in files (pwquality.conf and
 * pwquality.conf.d/, timesyncd.conf and the timesyncd.conf.d/ directories): the setting of key in
 * effect, the last one the program reads. The drop-ins are the snapshot's files in a directory
 * named after main plus ".d", in the order the collector listed them (the program's; a directory
 * it could not list comes as its pattern with an error); main is read before them, or after them
 * when main_last (libpwquality). *unsure is set when a file read after that setting (after all
 * of them when none sets key) could not be read: what it says may change the value. */
const dbg_setting *dbg_chk_dropin_get(const dbg_snapshot *s, const char *main, int main_last,
                                      const char *key, int *unsure);
/* dbg_chk_unreadable for main and each of its drop-ins; returns how many could not be read. */
size_t dbg_chk_dropin_unreadable(const dbg_snapshot *s, const char *main, const char *key,
                                 dbg_evidence_list *ev);
/* The configuration file in effect for a libvirt role: the monolithic libvirtd.conf, or the
 * modular daemon's own (`modular` = "virtqemud" for the QEMU driver, else "virtproxyd" for
 * the remote listeners). Which daemon runs decides: its pid file's live process, else its enabled
 * socket unit (then an evidence line says why); when neither shows, libvirtd.conf if listed as
 * present or unreadable, else the modular file. *path gets the file's path. */
const dbg_host_file *dbg_chk_libvirt_conf(const dbg_snapshot *s, const char *modular,
                                          const char **path, dbg_evidence_list *ev);
#endif
