/* The network sensor: decodes packets (live or from pcap/pcapng), keeps a bounded flow table and
 * per-host state, attributes addresses to VMs and tenants through the platform inventory, and
 * runs the detectors of MLPS 8.2.3.2 a-d and 8.2.4.3a. The core (dbg_sensor_*) is pure: packets
 * in, dbg_alert structs out through a callback; capture, EVE output and status files are at the
 * edge (dbg_sensor_run). Thresholds are data (data/rules/sensor.yaml). */
#ifndef DENGBAO_SENSOR_H
#define DENGBAO_SENSOR_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dengbao/alert.h"
#include "dengbao/platform.h"

/* ---- thresholds (data/rules/sensor.yaml) ---- */
#define DBG_SENSOR_MAX_PORTS 32
typedef struct {
    /* scans (Zeek defaults: 15 ports on one host / 25 hosts on one port per 5 minutes) */
    double scan_window_s;
    unsigned port_scan_ports;
    unsigned host_sweep_hosts;
    /* TRW (Jung et al. 2004) */
    int trw_enabled;
    double trw_theta0, trw_theta1, trw_alpha, trw_beta;
    double trw_timeout_s;      /* an unanswered first contact is a failure after this long */
    /* floods: packets per window per target and per source */
    double flood_window_s;
    unsigned syn_flood_pkts, udp_flood_pkts, icmp_flood_pkts;
    unsigned tcp_flood_pkts;   /* TCP segments outside any connection (ACK, RST, FIN, SYN-ACK) */
    /* brute force: completed handshakes from one source to one service */
    double brute_window_s;
    unsigned brute_attempts;
    int brute_ports[DBG_SENSOR_MAX_PORTS];
    size_t n_brute_ports;
    /* volume anomaly: EWMA of bytes per bin, per VM */
    double volume_bin_s, volume_alpha, volume_k;
    unsigned volume_warmup_bins;
    uint64_t volume_min_bytes;
    /* worm-like spread */
    double worm_window_s;
    unsigned worm_fanout;
    /* ARP */
    double arp_binding_ttl_s, arp_request_ttl_s;
    /* flow tables: IPv4 flows (64-byte entries) and IPv6 flows (96-byte entries) */
    size_t max_flows, max_flows_v6;
    double flow_timeout_s;
    size_t max_hosts;          /* per-host and per-pair state tables */
    /* incidents: repeats of one (type, source, target) within this time are folded */
    double incident_timeout_s;
    /* extra management ports of the host (besides the inventory's) */
    int mgmt_ports[DBG_SENSOR_MAX_PORTS];
    size_t n_mgmt_ports;
    /* authorized DHCP servers (IP text), besides the host's own addresses */
    char dhcp_servers[8][46];
    size_t n_dhcp_servers;
} dbg_sensor_rules;

void dbg_sensor_rules_defaults(dbg_sensor_rules *r);
/* Reads a YAML rules file over the defaults; errors name the file, line and key. */
int dbg_sensor_rules_load(dbg_sensor_rules *r, const char *path);
int dbg_sensor_rules_parse(dbg_sensor_rules *r, const char *text, size_t len, const char *name);

/* ---- attribution: which VM, tenant and network an address or tap device belongs to ---- */
#define DBG_SENSOR_PORT_IPS 64
typedef struct {
    uint8_t mac[6];
    char vm_name[128];
    char vm_uuid[37];
    char tenant[64];        /* "" = provider / unknown */
    char network[64];       /* libvirt network or bridge name */
    char tap[32];           /* target dev, "" when unknown */
    int vlan;               /* -1 = untagged */
    int is_mgmt;            /* a platform VM (role management) */
    uint8_t ips[DBG_SENSOR_PORT_IPS][16]; /* IPv4 as ::ffff:a.b.c.d */
    size_t n_ips;
} dbg_sensor_port;

typedef struct dbg_sensor_inventory dbg_sensor_inventory;
dbg_sensor_inventory *dbg_sensor_inventory_new(void);
void dbg_sensor_inventory_free(dbg_sensor_inventory *inv);
/* Adds a VM port; ips_csv is "10.0.0.5,fd00::5" or NULL. mac text "aa:bb:cc:dd:ee:ff". */
int dbg_sensor_inventory_add_port(dbg_sensor_inventory *inv, const char *mac, const char *ips_csv,
                                  const char *vm_name, const char *vm_uuid, const char *tenant,
                                  const char *network, const char *tap, int vlan);
int dbg_sensor_inventory_add_host_address(dbg_sensor_inventory *inv, const char *ip);
int dbg_sensor_inventory_add_mgmt_port(dbg_sensor_inventory *inv, int port);
/* Two tenants allowed to talk (else traffic between tenants is an isolation failure). */
int dbg_sensor_inventory_allow_tenants(dbg_sensor_inventory *inv, const char *a, const char *b);
size_t dbg_sensor_inventory_ports(const dbg_sensor_inventory *inv);
/* Fills from a platform snapshot: domains' interfaces (mac, ips, target dev, source, vlan),
 * tenants, host addresses and management ports. */
int dbg_sensor_inventory_from_snapshot(dbg_sensor_inventory *inv, const dbg_snapshot *s);
/* Loads a snapshot file (snapshot_path) or collects one from a libvirt URI, then fills inv. */
int dbg_sensor_inventory_load(dbg_sensor_inventory *inv, const char *snapshot_path,
                              const char *uri);

/* ---- the sensor core ---- */
typedef struct {
    uint64_t packets, bytes;
    uint64_t drops;            /* capture drops (kernel + interface), live only */
    uint64_t decode_errors;    /* malformed packets (decode events) */
    uint64_t decode_events[16]; /* by kind: see dbg_sensor_decode_event_name */
    uint64_t non_ip;           /* ARP and other ethertypes */
    uint64_t flows_active, flows_total, flow_evictions, flow_timeouts;
    uint64_t state_evictions;  /* per-host / per-pair state entries evicted when full */
    uint64_t alerts, incidents_folded;
    uint64_t memory_bytes;     /* tables (allocated once at start) */
    int64_t first_us, last_us; /* packet time span */
} dbg_sensor_stats;
const char *dbg_sensor_decode_event_name(int kind);

typedef void (*dbg_sensor_alert_fn)(void *ud, const dbg_alert *a);
/* Flow records (--flows): called when a flow ends, is evicted, or at the finish. */
typedef struct {
    int64_t first_us, last_us;
    uint8_t src[16], dst[16];  /* initiator, responder */
    uint16_t sport, dport;
    uint8_t proto;
    int vlan;
    uint64_t pkts_toserver, pkts_toclient, bytes_toserver, bytes_toclient;
    const char *reason;        /* "timeout" | "evicted" | "shutdown" */
    uint64_t flow_id;          /* EVE flow_id, the same in the alerts this flow raised */
    /* the inventory's VM at each end, by address on the flow's VLAN (a flow keeps no MAC);
     * NULL when none (or no inventory); valid during the callback */
    const dbg_sensor_port *src_port, *dst_port;
} dbg_sensor_flow_record;
typedef void (*dbg_sensor_flow_fn)(void *ud, const dbg_sensor_flow_record *f);

typedef struct dbg_sensor dbg_sensor;
/* inv may be NULL (no attribution); the sensor keeps a pointer, caller keeps ownership. */
dbg_sensor *dbg_sensor_new(const dbg_sensor_rules *rules, const dbg_sensor_inventory *inv,
                           dbg_sensor_alert_fn on_alert, void *alert_ud);
void dbg_sensor_set_flow_sink(dbg_sensor *s, dbg_sensor_flow_fn fn, void *ud);
/* One captured frame (Ethernet). iface_index: which capture interface (for tap attribution),
 * with its name registered by dbg_sensor_set_iface. Never fails: bad packets are counted. */
void dbg_sensor_packet(dbg_sensor *s, int64_t ts_us, const uint8_t *data, size_t caplen,
                       size_t wirelen, int iface_index);
int dbg_sensor_set_iface(dbg_sensor *s, int iface_index, const char *name);
/* Replaces the inventory (a newer snapshot of the platform) between packets; NULL = none. The
 * sensor keeps no pointer into the old one afterwards: the caller may free it. */
void dbg_sensor_set_inventory(dbg_sensor *s, const dbg_sensor_inventory *inv);
/* Packets are handled in small batches (for memory-level parallelism); this handles the
 * queued ones now. dbg_sensor_tick and dbg_sensor_finish flush too. */
void dbg_sensor_flush(dbg_sensor *s);
/* Advances time without a packet (live: idle periods) so pending outcomes resolve. */
void dbg_sensor_tick(dbg_sensor *s, int64_t now_us);
/* End of input: resolves pending first contacts, emits flow records. */
void dbg_sensor_finish(dbg_sensor *s);
void dbg_sensor_get_stats(const dbg_sensor *s, dbg_sensor_stats *st);
void dbg_sensor_add_drops(dbg_sensor *s, uint64_t drops);
void dbg_sensor_free(dbg_sensor *s);
/* "packets=.. bytes=.. ..." one line, and a JSON object (caller frees). */
void dbg_sensor_stats_print(const dbg_sensor_stats *st, double elapsed_s, FILE *f);
char *dbg_sensor_stats_json(const dbg_sensor_stats *st, double elapsed_s);

/* ---- detectors: one registration record each ---- */
typedef struct {
    const char *name;          /* alert.signature, e.g. "port_scan" */
    const char *category;      /* alert.category */
    const char *clause;        /* default MLPS clause */
    dbg_severity severity;
    const char *description;
} dbg_sensor_detector_info;
const dbg_sensor_detector_info *dbg_sensor_detectors(size_t *n);
const dbg_sensor_detector_info *dbg_sensor_detector(const char *name);

/* ---- the whole program: capture -> sensor -> EVE (dengbao sensor, dengbao agent) ---- */
typedef struct {
    const char *read_file;        /* -r */
    const char *const *ifaces;    /* -i ... */
    size_t n_ifaces;
    const char *inventory_path;   /* --inventory */
    const char *uri;              /* -c (libvirt URI, collected at start) */
    const char *rules_path;       /* --rules, NULL = data/rules/sensor.yaml */
    const char *eve_path;         /* --eve */
    const char *syslog_target;    /* --syslog (unix:PATH, udp:HOST:PORT), or NULL */
    const char *flows_path;       /* --flows */
    int print_stats;              /* --stats: also print stats every 10 s (live) */
    const char *status_dir;       /* NULL = $DENGBAO_STATUS_DIR or /run/dengbao/status */
    volatile int *stop;           /* set to 1 (signal handler) to end a live run */
    volatile int *dump_stats;     /* set to 1 (SIGUSR1) to print stats now */
    double duration_s;            /* live: stop after this long (0 = until *stop) */
    int inventory_refresh_s;      /* live: reload --inventory when the file changes, or collect
                                   * -c again, this often; 0 = 60 s, -1 = never */
    const char *run_as;           /* --user: give up root for it once the capture, the outputs
                                   * and the status file are open (NULL = stay as started) */
    /* Set: each status goes here instead of status_dir/sensor.json (ok, detail and extra as
     * dbg_status_write takes them; extra is consumed). dengbao agent's sensor process hands its
     * statuses to the agent so, which keeps the status directory to itself. */
    int (*status_out)(void *ctx, int ok, const char *detail, struct json_t *extra);
    void *status_ctx;
    /* Set: called with status_ctx as each step of the start-up begins, before the first status
     * ("collecting its inventory from libvirt (URI)", "opening its capture on IF", ...), so a
     * supervisor that gives up waiting can say which step it hung in. */
    void (*progress)(void *ctx, const char *step);
} dbg_sensor_run_opts;
/* Returns the number of alerts (>= 0) or -1 on error (dbg_err set). Stats go to stderr. */
long dbg_sensor_run(const dbg_sensor_run_opts *o);
/* What dbg_sensor_run would refuse of its configuration, checked without starting anything:
 * the interfaces (DBG_ERR_USAGE: too many, one named twice), the rules file and the inventory
 * file (not -c URI: that collects from libvirt). dengbao agent checks before it forks its
 * sensor, so a typo stops it before its gateway and guard start, not after. 0 or -1. */
int dbg_sensor_run_check(const dbg_sensor_run_opts *o);

/* ---- dengbao agent's sensor process hands each status to the agent as one line on a pipe ---- */
/* {"ok":BOOL,"detail":STRING,"extra":OBJECT} and a newline; no longer than this with it.
 * Before the first status, {"step":STRING} lines say which step of its start-up it is in. */
#define DBG_SENSOR_STATUS_LINE_MAX (256 * 1024)
typedef struct {
    int ok;
    char *detail;
    struct json_t *extra; /* a JSON object */
    char *step;           /* set: a start-up step line, not a status (the rest unset) */
} dbg_sensor_status;
/* The line for a start-up step, newline included (*len its length; caller frees). */
char *dbg_sensor_step_format(const char *step, size_t *len);
/* The line for a status, newline included (*len its length; caller frees); extra is consumed
 * (NULL = {}). NULL with dbg_err set: detail not UTF-8, line over the limit, no memory. */
char *dbg_sensor_status_format(int ok, const char *detail, struct json_t *extra, size_t *len);
/* One line of len bytes, without its newline; untrusted (the sensor reads what tenants send).
 * 0 with *st filled (dbg_sensor_status_clear frees it), or -1 with dbg_err set saying what is
 * wrong, in printable text: over the limit, a NUL byte, not JSON, a field missing, unknown or
 * of the wrong type. */
int dbg_sensor_status_parse(const char *line, size_t len, dbg_sensor_status *st);
void dbg_sensor_status_clear(dbg_sensor_status *st);
/* Cuts what is read from the pipe into lines however the reads split them, and parses each:
 * fn gets a status, or st NULL and why a line was dropped (a line over the limit is reported
 * once and skipped up to its newline). */
typedef void (*dbg_sensor_status_fn)(void *ud, const dbg_sensor_status *st, const char *error);
typedef struct dbg_sensor_status_reader dbg_sensor_status_reader;
dbg_sensor_status_reader *dbg_sensor_status_reader_new(void);
void dbg_sensor_status_reader_feed(dbg_sensor_status_reader *r, const char *data, size_t len,
                                   dbg_sensor_status_fn fn, void *ud);
/* The pipe ended: a last line without its newline (cut off) is reported to fn as an error. */
void dbg_sensor_status_reader_end(dbg_sensor_status_reader *r, dbg_sensor_status_fn fn, void *ud);
void dbg_sensor_status_reader_free(dbg_sensor_status_reader *r);

#endif
