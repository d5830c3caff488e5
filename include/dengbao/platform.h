/* The inventory of one platform at one time (the snapshot): libvirt domains, networks,
 * nwfilters, pools and volumes, host configuration facts and the status of dengbao's own
 * controls. Collection does all the I/O (dbg_snapshot_collect); everything else (checks,
 * sensor attribution, the guard's reconciliation) reads these structs. Serialized as
 * versioned JSON so an assessor can evaluate it offline. */
#ifndef DENGBAO_PLATFORM_H
#define DENGBAO_PLATFORM_H

/* Namespaces of the domain metadata that names a VM's tenant: dengbao's own elements
 * (<dengbao:tenant id=..>, possibly wrapped in another dengbao element, since libvirt keeps one
 * metadata element per namespace) and OpenStack nova's (owner/project, any nova version). */
#define DBG_XMLNS_DENGBAO "https://dengbao.dev/xmlns/1"
#define DBG_XMLNS_NOVA_PREFIX "http://openstack.org/xmlns/libvirt/nova/"

#include <stddef.h>
#include <stdint.h>

#define DBG_SNAPSHOT_SCHEMA_VERSION 1

typedef struct {
    char *mac;          /* lower-case aa:bb:cc:dd:ee:ff */
    char *type;         /* network | bridge | direct | ethernet | user ... */
    char *source;       /* network name (type network) or bridge name (type bridge) */
    char *target_dev;   /* tap device, e.g. vnet3 (NULL when not running) */
    char *model;
    char *filterref;    /* nwfilter bound to this interface, or NULL */
    char **filter_params; /* "IP=10.0.0.5", "CTRL_IP_LEARNING=none", ... */
    size_t n_filter_params;
    char **ips;         /* addresses assigned to this port: filterref IP params and <ip>
                         * elements (DHCP leases are not collected) */
    size_t n_ips;
    int vlan;           /* VLAN tag on the port, -1 when none or several (a trunk) */
    int *vlan_tags;     /* every <vlan><tag> of the port (a trunk carries them all); empty in
                         * snapshots made before it */
    size_t n_vlan_tags;
    char *portgroup;
    int port_isolated;  /* <port isolated='yes'/> in the interface: no traffic with other
                         * isolated ports of the bridge */
    char *link_address; /* a QEMU socket link's (mcast, udp, server, client) <source> as
                         * "address:port" ("[v6]:port"; "*:port" without an address) */
    char *link_local;   /* a udp link's <local> the same way */
} dbg_iface;

typedef struct {
    char *device;       /* disk | cdrom | floppy */
    char *type;         /* file | block | volume | network */
    char *source;       /* file path, device, "pool/volume" or network name */
    /* a file or block source's real path on the collecting host (links resolved), when it
     * differs from source; NULL when equal or not resolved (no such file, another host, a copied
     * root), so a disk named by a link matches the image sealed under its real path */
    char *real_path;
    char *format;       /* raw | qcow2 | ... */
    char *target;       /* vda, sda ... */
    int encrypted;      /* <encryption> present (qcow2 luks or luks) */
    char *encryption_format;
    int readonly, shareable;
    char *backing;      /* first backing store path, if any */
    /* every store of the backing chain below source, nearest first (backing_chain[0] ==
     * backing): as libvirt shows it (a running domain's detected chain, or as defined). Empty
     * in snapshots made before this field */
    char **backing_chain;
    size_t n_backing_chain;
} dbg_disk;

typedef struct {
    char *type;         /* vnc | spice */
    char *listen;       /* listen address */
    int port;           /* -1 autoport / unknown */
    int tls_port;       /* SPICE tlsPort, -1 none / not assigned */
    int websocket;      /* VNC WebSocket port, -1 none / not assigned */
    int has_password;
    int tls;            /* spice tls channels or vnc with TLS on the host (qemu.conf vnc_tls) */
} dbg_graphics;

typedef struct {
    char *name;
    char *uuid;
    char *state;        /* running | paused | shutoff | crashed | pmsuspended | blocked | shutdown | nostate */
    int persistent, autostart;
    char *tenant_id;    /* from <dengbao:tenant> or nova:project; NULL = provider/unknown */
    char *tenant_name;
    char *tenant_source; /* "dengbao" | "nova" | NULL */
    char *role;          /* <dengbao:role> e.g. "management" for platform VMs, NULL for tenant VMs */
    uint64_t memory_kib;
    int vcpus;
    dbg_iface *ifaces;
    size_t n_ifaces;
    dbg_disk *disks;
    size_t n_disks;
    dbg_graphics *graphics;
    size_t n_graphics;
    int sensitive;       /* <dengbao:data classification="sensitive"> : holds sensitive data */
    char *classification; /* that attribute as given (e.g. "public"); NULL when not classified */
    char *secure_xml_error; /* why libvirt refused the XML with VIR_DOMAIN_XML_SECURE (read-only
                             * connection, no read_secure permission); NULL when it gave it. When
                             * set, the XML was read without secrets: graphics passwords are not
                             * shown, so has_password = 0 means "not known", not "none" */
} dbg_domain;

typedef struct {
    char *name;
    char *uuid;
    int active, persistent, autostart;
    char *forward_mode;  /* NULL (isolated), nat, route, open, bridge, private, vepa, passthrough, hostdev */
    char *bridge;        /* bridge device name */
    int *vlan_tags;
    size_t n_vlan_tags;
    int port_isolated;   /* <port isolated='yes'/> */
    char *ip_address;    /* host side address on the network, if any */
    char *netmask;       /* or prefix as text */
    char **ip_addresses; /* every <ip address> (IPv4 and IPv6: the host's addresses on the
                          * network), in document order; empty in snapshots made before it */
    size_t n_ip_addresses;
    char **dhcp_ranges;  /* "start-end" */
    size_t n_dhcp_ranges;
    char *role;          /* <dengbao:role> in network metadata: "management" | "storage" | "tenant" | NULL */
    char *tenant_id;     /* network's owner tenant when declared in metadata, else NULL */
    char *tenant_name;   /* the owner's name from the same <dengbao:tenant>, when given */
} dbg_network;

typedef struct {
    char *name;
    char *key;
    char *path;
    char *pool;
    char *type;          /* file | block | dir | network ... */
    char *format;        /* raw | qcow2 | ... */
    int encrypted;
    char *encryption_format;
    uint64_t capacity, allocation;
    char *tenant_id;     /* from the domain that uses it, when any */
    int in_use;          /* referenced by some domain's disk, directly or as a store of its
                          * backing chain (the disk's, or the volumes' own <backingStore>) */
    char *backing;       /* the volume's own <backingStore><path> (qcow2 overlay), or NULL */
} dbg_volume;

typedef struct {
    char *name;
    char *uuid;
    char *type;          /* dir | logical | rbd | gluster | iscsi ... */
    int active, autostart;
    char *target_path;
    uint64_t capacity, allocation, available;
    int replicas;        /* replication factor where the pool type exposes one, -1 unknown */
    int supports_replicas; /* distributed pool types (rbd, gluster, sheepdog) */
    char *wipe_algorithm;  /* from metadata/config when known, else NULL */
    char *volumes_error;   /* why its volumes could not be listed (an inactive pool); NULL when
                            * listed. The snapshot then lacks them: not "no volumes" */
} dbg_pool;

/* One <rule> of an nwfilter: what the checks need to tell a filter that restricts traffic
 * from one that accepts everything (the protocol matches are not kept). */
typedef struct {
    char *action;        /* accept | drop | reject | return | continue, as libvirt writes it */
    char *direction;     /* in | out | inout */
    int priority;        /* -1000..1000; libvirt's default 500 when the XML omits it */
} dbg_nwfilter_rule;

typedef struct {
    char *name;
    char *uuid;
    char *chain;
    char **refs;         /* filters this one includes (<filterref filter=...>) */
    size_t n_refs;
    size_t n_rules;      /* <rule> elements */
    dbg_nwfilter_rule *rules; /* each <rule>, in document order. Snapshots made before this
                               * field have only n_rules, which says nothing of accept or drop:
                               * the rules are known only when n_rules_listed == n_rules */
    size_t n_rules_listed;
} dbg_nwfilter;

typedef struct {
    char *portdev;
    char *mac;
    char *filter;
    char *owner_name;
    char *owner_uuid;
} dbg_nwfilter_binding;

/* One setting read from a host configuration file, with where it came from. */
typedef struct {
    char *file;          /* path as read (under --host-root, but recorded without the prefix) */
    int line;            /* 1-based; 0 = whole file / absent */
    char *key;
    char *value;
} dbg_setting;

/* A host file: present or not (absence is evidence too). */
typedef struct {
    char *path;          /* path without the host root, e.g. /etc/libvirt/libvirtd.conf */
    int present;
    char *error;         /* why it could not be read, NULL when fine */
    dbg_setting *settings;
    size_t n_settings;
} dbg_host_file;

/* The status of one of dengbao's own runtime controls on this platform.
 * Contract: every running control writes <host_root>/run/dengbao/status/<name>.json
 *   {"name": "guard", "pid": 1234, "updated": "<RFC 3339>", "ok": true, "detail": "...", ...}
 * and refreshes "updated" at least every 60 s; "ok" is the control's own result: false when it
 * found a problem (an image mismatch, an infection, residual data, a write failure) or has
 * stopped, and "detail" says which. Names: audit_log, gateway, guard, sensor, image_seals,
 * malware, wipe_check, centralized_audit. The collector records deployed = file present,
 * healthy = "ok": true and updated within 300 s of collection (and, for host_root "/", the pid
 * alive), unless the file says "oneshot": true: image seal/verify/scan and wipe-check end with
 * their run, so their result holds for 24 h and no pid is looked at; a file without "ok" is
 * not healthy (result unknown). A healthy control may also say
 * "degraded": "<why>": it runs and what it found holds, but part of what it covers is not
 * (the sensor's attribution resting on an inventory it could not reload since a given time):
 * its checks are then partial (部分符合), with the reason as evidence.
 * image_seals (image seal / image verify --status-dir) also lists the images its runs covered,
 * merged over runs (each replaces its images' entries by real path, keeps the others):
 * "images": [{"path": real path, "named": the absolute path as given when it differs,
 * "state": "sealed" | "seal_failed" | "intact" | "mismatch" | "bad_manifest" | "unverified"}],
 * "images_omitted": how many more were covered than it lists (a bounded list) and
 * "images_omitted_problems": how many of those were in a state other than sealed/intact. "ok"
 * is false while any of them is. A file written before the list (no "images") shows no
 * coverage: 8.2.4.4b is then not checked.
 * The list holds at most DBG_SEAL_STATUS_MAX_IMAGES entries and DBG_SEAL_STATUS_MAX_PATH_BYTES of
 * paths (the collector reads a status file of at most 1 MiB); the writer counts the rest in
 * "images_omitted" and the reader counts entries past the bound as omitted. */
#define DBG_SEAL_STATUS_MAX_IMAGES 4096
#define DBG_SEAL_STATUS_MAX_PATH_BYTES ((size_t)512 << 10)
/* A listed state that shows the image sealed or verified intact (every other is a problem:
 * the writer's "ok", the 8.2.4.4b check's coverage) */
int dbg_seal_state_ok(const char *state);
typedef struct {
    char *path;  /* real path of the image when it was sealed or verified */
    char *named; /* the absolute path it was given as, when not the real path; or NULL */
    char *state; /* see the contract above */
} dbg_control_image;

typedef struct {
    char *name;          /* "audit_log" | "guard" | "sensor" | "image_seals" | "centralized_audit" */
    int deployed;        /* configured on this host */
    int healthy;         /* running/verified as of collection */
    char *detail;        /* evidence text: path, last checkpoint, pid, ... */
    char *path;          /* the status file judged, as shown (without the host root); NULL in
                          * snapshots made before this field */
    int unknown;         /* the status file could not be read or even looked for (permission):
                          * deployed and healthy say nothing, detail says why */
    char *degraded;      /* healthy, but the control says part of its job is not done, and
                          * why ("degraded" in its file); NULL: not, or snapshots before it */
    int images_listed;   /* its file lists the images its run covered ("images"); 0 in files
                          * and snapshots made before the list, and for the other controls */
    dbg_control_image *images;
    size_t n_images;
    size_t images_omitted; /* covered by the run but not listed (the list is bounded) */
} dbg_control;

/* Stops libvirt ("libvirt: ... error : ...") and libxml2 ("I/O warning : failed to load
 * external entity ...") printing their own error lines: the caller reports the error with
 * libvirt's reason. libxml2's handler is per thread: call it in each thread before a libvirt
 * call (every virConnectOpen of dengbao does). */
void dbg_libvirt_quiet(void);

/* Registers libvirt's default event loop, once per process; must precede any virConnectOpen
 * whose events are wanted. The guard and the sensor's inventory refresher call it. */
int dbg_libvirt_event_loop_init(void);

struct json_t;
/* Writes <dir>/<name>.json of the contract above (one compact line, keys sorted): name, pid,
 * updated, ok and detail, plus the control's own fields from extra (a JSON object, consumed;
 * NULL for none). Creates dir. 0, or -1 with dbg_err set. */
int dbg_status_write(const char *dir, const char *name, int ok, const char *detail,
                     struct json_t *extra);

typedef struct {
    int schema_version;
    char *uri;           /* libvirt URI */
    char *hypervisor;    /* virConnectGetType */
    char *libvirt_version;
    char *hostname;
    char *host_root;
    int64_t collected_us;
    int nwfilter_supported;   /* the driver implements nwfilter APIs */
    char *nwfilter_note;      /* e.g. "not supported by this driver" */
    int bindings_supported;
    char *networks_error;     /* why networks could not be listed (a driver without networks:
                               * "not supported by this driver"); NULL when listed. Then the
                               * snapshot has none: not "no networks" */
    char *pools_error;        /* the same for storage pools (and so their volumes) */
    dbg_domain *domains;
    size_t n_domains;
    dbg_network *networks;
    size_t n_networks;
    dbg_pool *pools;
    size_t n_pools;
    dbg_volume *volumes;
    size_t n_volumes;
    dbg_nwfilter *nwfilters;
    size_t n_nwfilters;
    dbg_nwfilter_binding *bindings;
    size_t n_bindings;
    dbg_host_file *host_files;
    size_t n_host_files;
    dbg_control *controls;
    size_t n_controls;
    char **host_addresses;    /* the hypervisor's own IPs (from networks and host facts) */
    size_t n_host_addresses;
    int *mgmt_ports;          /* management ports on the host: 22, 16509, 16514, VNC range, agent */
    size_t n_mgmt_ports;
} dbg_snapshot;

typedef struct {
    const char *uri;          /* libvirt URI, e.g. test:///abs/path/cloud.xml or qemu:///system */
    const char *host_root;    /* default "/" */
    const char *controls_dir; /* where dengbao's controls keep state (status files); NULL = default */
    int read_only;            /* open with VIR_CONNECT_RO (virsh -r): no secure XML then */
    int no_storage;           /* skip pools and volumes (the sensor's inventory needs neither,
                               * and listing every volume is the slow part on big storage);
                               * pools_error then says so */
} dbg_collect_opts;

dbg_snapshot *dbg_snapshot_collect(const dbg_collect_opts *opts);
/* JSON (jansson) round trip; errors name the file and JSON path. */
char *dbg_snapshot_to_json(const dbg_snapshot *s);
dbg_snapshot *dbg_snapshot_from_json(const char *text, size_t len, const char *source_name);
dbg_snapshot *dbg_snapshot_load(const char *path);
int dbg_snapshot_save(const dbg_snapshot *s, const char *path);
void dbg_snapshot_free(dbg_snapshot *s);

/* Lookups used by checks and the sensor. NULL when absent. */
const dbg_host_file *dbg_snapshot_host_file(const dbg_snapshot *s, const char *path);
const dbg_setting *dbg_host_file_get(const dbg_host_file *f, const char *key); /* last wins */
/* Whether the systemd socket unit (e.g. "libvirtd-tcp.socket") is enabled: 1 for a collected
 * sockets.target.wants link in any unit directory (/etc, /run, /usr/local/lib, /usr/lib, /lib
 * systemd/system), whose path goes to path; 0 when there is none (path "") or the unit is
 * masked (path: the mask); -1 when none was seen but one could not be looked at (path: it). */
int dbg_snapshot_unit_enabled(const dbg_snapshot *s, const char *unit, char *path, size_t size);

/* One ListenStream= of a socket unit. */
typedef struct {
    const dbg_setting *setting; /* the assignment (file, line, value); NULL for the default */
    int port;                   /* 0 when not a TCP port (a UNIX socket, vsock, not understood) */
    int network;                /* reachable from other hosts: a bare port (the wildcard
                                 * address) or a non-loopback address */
} dbg_unit_listen;

/* Where a socket unit listens, as systemd reads it: the ListenStream= of the unit file in
 * effect (the first unit directory's), then of its drop-ins (the .conf files of <dir>/<unit>.d)
 * in file-name order, an empty assignment clearing the list. */
typedef struct {
    dbg_unit_listen *listen;         /* allocated */
    size_t n_listen;
    const char *unit_file;           /* its path; NULL when none was collected: the list then
                                      * starts from the caller's default port */
    const dbg_host_file *unreadable; /* a unit file or drop-in in effect that could not be
                                      * read (or a drop-in directory not listed): the list is
                                      * not known */
} dbg_unit_sockets;
/* 0, or -1 out of memory; dbg_unit_sockets_clear frees either way. */
int dbg_snapshot_unit_sockets(const dbg_snapshot *s, const char *unit, int default_port,
                              dbg_unit_sockets *out);
void dbg_unit_sockets_clear(dbg_unit_sockets *u);
const dbg_control *dbg_snapshot_control(const dbg_snapshot *s, const char *name);
const dbg_network *dbg_snapshot_network(const dbg_snapshot *s, const char *name);
const dbg_domain *dbg_snapshot_domain_by_mac(const dbg_snapshot *s, const char *mac, const dbg_iface **iface);
/* A QEMU socket link (mcast, udp, server, client): it joins VMs' NICs directly, by address, with
 * no bridge, device or filter between them. */
int dbg_iface_is_socket_link(const dbg_iface *i);

#endif
