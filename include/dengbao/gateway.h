/* The privileged-operation gateway: the one authorized path for VM operations. It
 * authenticates a caller (Unix peer credentials or a TLS 1.3 client certificate), authorizes
 * the request against a YAML policy (roles, tenant scope, command filters, approval tickets),
 * writes an intent record to the audit log (the operation does not run unless that record is
 * durable), runs the libvirt call, writes the outcome record, and publishes the authorization
 * to the in-process ledger the guard matches libvirt events against. */
#ifndef DENGBAO_GATEWAY_H
#define DENGBAO_GATEWAY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dengbao/audit.h"

/* ---- operations ---- */
typedef enum {
    DBG_OP_LIST = 0,
    DBG_OP_CREATE,
    DBG_OP_START,
    DBG_OP_SHUTDOWN,
    DBG_OP_REBOOT,
    DBG_OP_RESET,
    DBG_OP_DESTROY,
    DBG_OP_DELETE,
    DBG_OP_SUSPEND,
    DBG_OP_RESUME,
    DBG_OP_MIGRATE,
    DBG_OP_SNAPSHOT,
    DBG_OP_APPROVE,
    DBG_OP__COUNT
} dbg_gw_op;
#define DBG_OP_BIT(op) (1u << (op))

const char *dbg_gw_op_name(dbg_gw_op op);
int dbg_gw_op_parse(const char *s, dbg_gw_op *out); /* 0, or -1 with dbg_err set */

/* ---- request protocol: one JSON object per line ----
 * {"v":1,"op":"delete","vm":"web1"}   {"v":1,"op":"create","xml":"<domain ..."}
 * {"v":1,"op":"snapshot","vm":"web1","name":"s1"}  {"v":1,"op":"migrate","vm":"web1","dest":"qemu+tls://h2/system"}
 * {"v":1,"op":"approve","ticket":"..."}
 * {"v":1,"op":"delete","vm":"web1","remove_storage":true}  {"v":1,"op":"migrate",...,"repair":true}
 * Unknown keys, wrong types, control characters and oversized fields are refused. */
#define DBG_GW_LINE_MAX (64 * 1024)
#define DBG_GW_XML_MAX (60 * 1024)
#define DBG_GW_NAME_MAX 128
#define DBG_GW_TICKET_LEN 24

typedef struct {
    dbg_gw_op op;
    char vm[DBG_GW_NAME_MAX + 1];       /* name or uuid */
    char name[DBG_GW_NAME_MAX + 1];     /* snapshot name */
    char dest[256];                     /* migration destination URI */
    char ticket[DBG_GW_TICKET_LEN + 1];
    char *xml;                          /* create: domain XML (owned) */
    int remove_storage;                 /* delete: also delete the VM's volumes, then check them */
    int repair;                         /* migrate: repair a destination disk that differs */
} dbg_gw_request;

/* 1 when s may be a name in a request (VM, snapshot, ticket), as the gateway judges it: the
 * client checks its arguments with it, so a name no request can carry is a usage error there. */
int dbg_gw_name_ok(const char *s);
/* What a name may hold, for messages. */
#define DBG_GW_NAME_RULE                                                                           \
    "UTF-8 text without spaces, control or invisible formatting characters, quotes, slashes, "    \
    "backslashes or <>&'"

int dbg_gw_request_parse(const char *line, size_t len, dbg_gw_request *out);
void dbg_gw_request_clear(dbg_gw_request *r);
char *dbg_gw_request_to_json(const dbg_gw_request *r); /* one line, no newline; caller frees */
struct json_t;
/* The same as a JSON object (caller owns it; NULL with dbg_err on no memory). */
struct json_t *dbg_gw_request_json(const dbg_gw_request *r);

/* ---- identity ---- */
typedef enum { DBG_GW_ID_UNIX = 1, DBG_GW_ID_TLS = 2, DBG_GW_ID_LOCAL = 3 } dbg_gw_id_kind;
typedef struct {
    dbg_gw_id_kind kind;
    uid_t uid;           /* unix */
    char user[64];       /* unix user name */
    char cn[128], org[128]; /* TLS subject */
    int cut;             /* TLS: cn or org is not the certificate's whole entry (too long to keep):
                          * matched against no policy identity, whose names are whole */
    char actor[300];     /* audit actor: "uid:1000(alice)" | "CN=ops1,O=provider" */
    char source[128];    /* "unix:uid=1000,pid=42" | "tls:127.0.0.1:40222" */
} dbg_gw_identity;

void dbg_gw_identity_unix(dbg_gw_identity *id, uid_t uid, pid_t pid); /* resolves the user name */
void dbg_gw_identity_tls(dbg_gw_identity *id, const char *cn, const char *org, const char *peer);

/* ---- policy ---- */
typedef struct dbg_gw_policy dbg_gw_policy;
/* The agent's reading: parse, then check what the gateway will use on this host (the
 * integrity seal key must be readable) and warn when no request or no migration can pass. */
dbg_gw_policy *dbg_gw_policy_load(const char *path);
/* `dengbao serve`'s reading of the same file, for its identities and roles only: the gateway's
 * settings are parsed (a malformed one is still an error at its line) but not checked against
 * this host (the seal key lives on the hypervisors) and not warned about (a central server
 * runs no gateway request and no migration); it warns when no identity is named. */
dbg_gw_policy *dbg_gw_policy_load_identities(const char *path);
dbg_gw_policy *dbg_gw_policy_parse(const char *text, size_t len, const char *source_name);
void dbg_gw_policy_free(dbg_gw_policy *p);

typedef enum { DBG_GW_DENY = 0, DBG_GW_ALLOW = 1, DBG_GW_REVIEW = 2 } dbg_gw_verdict;
const char *dbg_gw_verdict_name(dbg_gw_verdict v);

typedef struct {
    dbg_gw_verdict verdict;
    char role[32];           /* caller's role ("" when unknown) */
    char tenant[64];         /* caller's tenant (tenant roles) */
    char rule[128];          /* the policy rule that decided, e.g. "filter:no-destroy-mgmt" */
    char reason[256];
    char approver_role[32];  /* REVIEW: who must approve */
    char approver_tenant[64];
} dbg_gw_decision;

/* Maps an identity to (role, tenant). 0 when known, -1 (DBG_ERR_DENIED) when not. */
int dbg_gw_policy_identify(const dbg_gw_policy *p, const dbg_gw_identity *id, char role[32],
                           char tenant[64]);
/* Decides op on a VM (vm_tenant "" = provider VM / none). Never fails: unknown = DENY. */
void dbg_gw_policy_decide(const dbg_gw_policy *p, const dbg_gw_identity *id, dbg_gw_op op,
                          const char *vm_name, const char *vm_tenant, dbg_gw_decision *out);
/* May this identity see a VM of vm_tenant ("" = the provider's)? 1 when it is in the policy
 * and its role's tenant scope covers that tenant (the scope `list` filters by), else 0. What
 * the gateway tells a caller about a VM it did not name itself (a create colliding with it)
 * depends on this, so that a tenant learns nothing of another tenant's or the provider's VMs. */
int dbg_gw_policy_may_see(const dbg_gw_policy *p, const dbg_gw_identity *id,
                          const char *vm_tenant);
/* Does this identity's scope cover every tenant's VMs (`tenants: any`)? 1/0. A VM the gateway
 * cannot list (on a migration's destination) is one only such an identity may hear of. */
int dbg_gw_policy_sees_all(const dbg_gw_policy *p, const dbg_gw_identity *id);
/* Is the identity in the policy with a role that has op, whatever the VM? 1/0. */
int dbg_gw_policy_role_may(const dbg_gw_policy *p, const dbg_gw_identity *id, dbg_gw_op op);
/* The policy's migration.destinations entry that dest (a request's URI) names, or NULL: the
 * same bytes, or the same but for the scheme's and host's case and one trailing '/' of the
 * path. The agent connects to the entry returned, never to dest as written. */
const char *dbg_gw_policy_migration_dest(const dbg_gw_policy *p, const char *dest);
/* May a VM be migrated to dest (dbg_gw_policy_migration_dest finds its entry)? 1 when listed;
 * 0 when not, with reason naming the URI and the setting (and how to allow one when the policy
 * lists none: then every migration is refused, since the root agent would otherwise connect
 * wherever a caller points it). */
int dbg_gw_policy_migration_allowed(const dbg_gw_policy *p, const char *dest, char *reason,
                                    size_t reason_size);
/* May this identity approve a ticket that needs (approver_role, approver_tenant)? 1/0. */
int dbg_gw_policy_may_approve(const dbg_gw_policy *p, const dbg_gw_identity *id,
                              const char *approver_role, const char *approver_tenant,
                              char rule[128]);

/* ---- approval tickets (JumpServer-style review) ---- */
typedef struct dbg_gw_tickets dbg_gw_tickets;
typedef enum { DBG_TICKET_PENDING, DBG_TICKET_APPROVED, DBG_TICKET_EXPIRED } dbg_ticket_state;
typedef struct {
    char id[DBG_GW_TICKET_LEN + 1];
    dbg_gw_identity requester;
    dbg_gw_decision decision;     /* the REVIEW decision, incl. approver */
    dbg_gw_request request;       /* xml owned by the ticket */
    char vm_uuid[37], vm_name[DBG_GW_NAME_MAX + 1], vm_tenant[64];
    int64_t created_us, expires_us;
    dbg_ticket_state state;
    int expiry_recorded;          /* its expiry is in the audit log (dbg_gw_tickets_expired) */
} dbg_gw_ticket;

dbg_gw_tickets *dbg_gw_tickets_new(int64_t ttl_us);
void dbg_gw_tickets_free(dbg_gw_tickets *t);
/* Files a pending ticket (copies everything); writes its id. */
int dbg_gw_tickets_file(dbg_gw_tickets *t, const dbg_gw_identity *requester,
                        const dbg_gw_decision *d, const dbg_gw_request *req, const char *vm_uuid,
                        const char *vm_name, const char *vm_tenant, int64_t now_us,
                        char id_out[DBG_GW_TICKET_LEN + 1]);
/* Keeps the pending tickets in path (a JSON array, rewritten atomically before a filing or an
 * approval is acknowledged) and loads the ones already there. 0, or -1 with dbg_err naming the
 * file and the ticket when it cannot be read (the file is left as it is). */
int dbg_gw_tickets_persist(dbg_gw_tickets *t, const char *path);
/* Takes a pending, unexpired ticket for approval: on success *out is a copy the caller owns
 * (clear out->request) and the ticket is marked approved (single use). -1 with dbg_err:
 * NOTFOUND, INVALID (already used), LIMIT (expired). */
int dbg_gw_tickets_take(dbg_gw_tickets *t, const char *id, int64_t now_us, dbg_gw_ticket *out);
/* Peeks (copy without xml) for the approver check before taking. On -1 for a ticket it still
 * knows (used or expired: state says which) *out is that ticket all the same, so a refused
 * approval can be recorded against the ticket's VM and tenant; out->id is "" otherwise. */
int dbg_gw_tickets_peek(dbg_gw_tickets *t, const char *id, int64_t now_us, dbg_gw_ticket *out);
/* Tickets that expired unapproved and whose expiry is not recorded yet: up to max copies
 * (without xml) into out; returns how many. The caller records each, then marks it with
 * dbg_gw_tickets_expiry_recorded (which drops it from the store file), so a crash in between
 * records it again rather than never. */
size_t dbg_gw_tickets_expired(dbg_gw_tickets *t, int64_t now_us, dbg_gw_ticket *out, size_t max);
int dbg_gw_tickets_expiry_recorded(dbg_gw_tickets *t, const char *id);

/* ---- authorization ledger: what the gateway let through, for the guard ---- */
typedef struct dbg_gw_ledger dbg_gw_ledger;
dbg_gw_ledger *dbg_gw_ledger_new(void);
void dbg_gw_ledger_free(dbg_gw_ledger *l);
/* Opened before the libvirt call (so an event can never precede it); returns an id. */
uint64_t dbg_gw_ledger_begin(dbg_gw_ledger *l, const char *vm_uuid, dbg_gw_op op,
                             const char *actor, uint64_t intent_seq, int64_t now_us);
void dbg_gw_ledger_end(dbg_gw_ledger *l, uint64_t id, int success, int64_t now_us);
/* Finds an authorization for an event of kind `event_kind` (a small int chosen by the caller,
 * < 32) on vm_uuid at event_us by any op in op_mask. An authorization whose outcome is not yet
 * recorded is open for inflight_us after it began (the event may arrive before the outcome);
 * a finished one covers events up to grace_us after its end. Each authorization covers one
 * event of each kind (or a burst of them within 2 s of the first), and none of a kind closed
 * for it. 1 = matched (actor and the authorization's id copied out), 0 = none. */
typedef struct {
    int64_t skew_us;     /* events may be stamped this much before begin (clock granularity) */
    int64_t grace_us;    /* after the outcome */
    int64_t inflight_us; /* max age of an unfinished authorization */
} dbg_gw_window;
int dbg_gw_ledger_match(dbg_gw_ledger *l, const char *vm_uuid, unsigned op_mask, int event_kind,
                        int64_t event_us, const dbg_gw_window *w, char actor_out[300],
                        uint64_t *id_out);
/* As dbg_gw_ledger_match, but only authorization `id`, and only for its first event of that kind
 * (no burst): the resume that undoes a pause the operation made itself (a snapshot or a
 * migration of a running VM pauses and resumes it once). 1 = matched (actor copied out). */
int dbg_gw_ledger_match_first(dbg_gw_ledger *l, uint64_t id, const char *vm_uuid, unsigned op_mask,
                              int event_kind, int64_t event_us, const dbg_gw_window *w,
                              char actor_out[300]);
/* An event that ends the state earlier operations on vm_uuid left the VM in (a stop after a
 * start) closes `kinds` for each of them except except_id (the one that explained this event,
 * 0 = none), so a later event of those kinds, even inside their window or burst, needs an
 * authorization of its own. A kind is closed only for operations that already explained an
 * event of it. */
void dbg_gw_ledger_close(dbg_gw_ledger *l, const char *vm_uuid, unsigned kinds, uint64_t except_id);
/* As dbg_gw_ledger_close, also for kinds not explained yet, but only for operations whose
 * outcome was recorded before before_us: their call is over, so an event of theirs was
 * emitted before it ended. */
void dbg_gw_ledger_close_finished(dbg_gw_ledger *l, const char *vm_uuid, unsigned kinds,
                                  uint64_t except_id, int64_t before_us);
void dbg_gw_ledger_prune(dbg_gw_ledger *l, int64_t older_than_us);

/* ---- domain XML ---- */
/* A domain's tenant from its metadata: <dengbao:tenant id=".."/> (any namespace prefix) or
 * nova's <nova:owner><nova:project uuid=".."/>. tenant = "" when none; -1 on malformed XML and
 * on an id longer than 63 bytes (tenant "", never the id cut). */
int dbg_gw_domain_tenant(const char *xml, char tenant[64]);
/* For create: checks the XML is one <domain> with a name, adds a <uuid> when it has none (so
 * the guard can match the DEFINED event to this authorization), and reads the tenant. */
int dbg_gw_prepare_create(const char *xml, char **xml_out, char name[DBG_GW_NAME_MAX + 1],
                          char uuid[37], char tenant[64]);

/* ---- integrity settings (policy section `integrity:`) ---- */
typedef struct {
    int verify_before_start;     /* start/resume: verify sealed disks, refuse on mismatch */
    int require_seal;            /* an unsealed disk fails too (no manifest, or not a local
                                  * file): a deleted manifest must not turn a check off */
    char seal_pubkey[1024];      /* pinned signer of seal manifests ("" = embedded key) */
    char manifest_dir[1024];     /* "" = manifests beside the images */
} dbg_gw_integrity;
/* The policy's integrity section (zeros when it has none). */
void dbg_gw_policy_integrity(const dbg_gw_policy *p, dbg_gw_integrity *out);

/* ---- a VM's disks and their integrity (8.2.4.4b, 8.2.4.5c, 8.2.4.7a/b) ---- */
typedef struct {
    char target[32];             /* "vda" */
    char path[1024];             /* file or block device; "" for network disks */
    char pool[128], volume[256]; /* <source pool= volume=> when given that way */
    char format[16];             /* <driver type=> ("raw", "qcow2"); "" when libvirt gave none */
    int backing;                 /* a lower layer of a <backingStore> chain */
    int in_use;                  /* delete --remove-storage: another VM has it, so it was kept */
    int optional;                /* <source startupPolicy='optional'>: libvirt starts the VM
                                  * without this disk when its file is missing */
    int volume_state;            /* a pool volume's lookup (gw_resolve_volumes): one of
                                  * DBG_GW_VOL_* */
} dbg_gw_disk;
/* What looking a <source pool volume> disk up in libvirt found. Only libvirt's own "no such
 * pool"/"no such volume" answers count as gone: any other failure (a dropped connection) leaves
 * the disk unknown, never missing. */
enum {
    DBG_GW_VOL_UNKNOWN = 0,  /* not a pool volume, resolved, or the lookup failed otherwise */
    DBG_GW_VOL_NO_POOL,      /* libvirt has no pool of that name */
    DBG_GW_VOL_POOL_INACTIVE, /* the pool is defined but not started: its volumes are unknown */
    DBG_GW_VOL_NO_VOLUME,    /* the pool is active and has no volume of that name */
};
/* Disks (device='disk') of a domain XML, top layers and their backing chains. */
int dbg_gw_domain_disks(const char *xml, dbg_gw_disk **out, size_t *n);
/* Verifies every top disk that has a seal manifest (dbg_image_verify_file). *report_json: a
 * JSON array [{"disk","path","status":"intact|mismatch|bad_manifest|unsealed|missing|error",
 * "detail"}] (caller frees). Returns how many disks failed (mismatch, bad manifest, error, a
 * file that does not exist unless its startupPolicy is optional, and with require_seal an
 * unsealed disk), or -1 when the XML cannot be read. */
int dbg_gw_verify_disks(const char *xml, const dbg_gw_integrity *in, char **report_json);
/* The same over a parsed disk list (volume paths resolved by the caller). */
int dbg_gw_verify_disk_list(const dbg_gw_disk *d, size_t n, const dbg_gw_integrity *in,
                            char **report_json);
/* After a migration: each top disk of the source XML against the disk with the same target in
 * the destination XML, chunk by chunk (dbg_migrate_check), repairing when asked. A pair on the
 * same path (shared storage) or a destination not readable from here is reported, not
 * compared. Returns the number of disks that differ after any repair, or -1. */
int dbg_gw_migrate_disks(const char *src_xml, const char *dst_xml, int repair, char **report_json);
/* After a delete with its storage: every disk path (top layers; backing layers are reported
 * as kept, they may be shared) must be gone, or read as zeros (dbg_wipe_check). Returns the
 * number of paths still holding data, or -1. */
int dbg_gw_residual_check(const dbg_gw_disk *disks, size_t n, char **report_json);

/* ---- the gateway ---- */
/* How the gateway writes audit records: the agent passes dbg_audit_append; tests can inject
 * failures. Must return 0 only once the record is durable. */
typedef int (*dbg_gw_audit_fn)(void *ctx, const dbg_audit_record *rec, uint64_t *seq_out);

typedef struct {
    const char *uri;             /* libvirt URI the gateway opens */
    const dbg_gw_policy *policy; /* borrowed */
    dbg_gw_ledger *ledger;       /* borrowed; may be NULL */
    dbg_gw_audit_fn audit;
    void *audit_ctx;
    int64_t ticket_ttl_us;       /* 0 = 1 hour */
    const char *tickets_path;    /* pending approval tickets kept here (NULL: in memory only) */
} dbg_gw_opts;

typedef struct dbg_gateway dbg_gateway;
dbg_gateway *dbg_gateway_new(const dbg_gw_opts *opts);
void dbg_gateway_free(dbg_gateway *gw);
/* Handles one request line from an authenticated caller; *response is one JSON line (no
 * newline) that the caller frees. Always produces a response; returns 0. */
int dbg_gateway_handle(dbg_gateway *gw, const dbg_gw_identity *id, const char *line, size_t len,
                       char **response);
/* Audits a refused connection (TLS handshake failure, unknown peer). */
void dbg_gateway_audit_refusal(dbg_gateway *gw, const char *source, const char *actor,
                               const char *reason);
uint64_t dbg_gateway_requests(const dbg_gateway *gw);
/* Records each ticket that expired unapproved: the outcome of its pending request
 * (vm.<op>.outcome "expired", actor dengbao-gateway, the VM's tenant), so a tenant's and an
 * assessor's view of it does not stay "pending" for good. Called periodically (the agent:
 * every 10 s). Returns how many were recorded, -1 when one could not be (it stays due). */
int dbg_gateway_expire_tickets(dbg_gateway *gw, int64_t now_us);

/* ---- listeners (Unix socket with SO_PEERCRED; TLS 1.3 with client certificates) ---- */
typedef struct {
    const char *socket_path;   /* NULL = none */
    const char *listen;        /* "ADDR:PORT" or NULL */
    const char *tls_cert, *tls_key, *tls_ca;
} dbg_gw_listen_opts;
typedef struct dbg_gw_server dbg_gw_server;
dbg_gw_server *dbg_gw_server_start(dbg_gateway *gw, const dbg_gw_listen_opts *o);
void dbg_gw_server_stop(dbg_gw_server *s); /* closes listeners, waits for connections */
int dbg_gw_server_port(const dbg_gw_server *s); /* bound TCP port (for ":0") */

/* ---- client ---- */
typedef struct {
    const char *socket_path;
    const char *connect;       /* "ADDR:PORT" */
    const char *cert, *key, *ca;
    int timeout_s;             /* 0 = 600 */
} dbg_gw_client_opts;
/* Sends one request line and reads one response line. */
int dbg_gw_client_call(const dbg_gw_client_opts *o, const char *request_json, char **response);

#endif
