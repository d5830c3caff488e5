/* The gateway policy (YAML via libyaml): who is who (Unix users and certificate subjects ->
 * role and tenant), what each role may do on which tenants' VMs, JumpServer-style command
 * filters (accept / reject / review) and approval rules (e.g. a provider deleting a tenant's
 * VM needs a ticket approved by that tenant's admin). Decisions are pure functions of the
 * loaded policy. */
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <string.h>
#include <libxml/uri.h>
#include <yaml.h>

#include "catalog/yaml_doc.h"
#include "dengbao/gateway.h"
#include "dengbao/integrity.h"
#include "dengbao/util.h"

#define MAX_LIST 32

static const char *const known_roles[] = {"provider-admin", "provider-operator", "auditor",
                                          "tenant-admin", "tenant-user"};
#define N_ROLES 5

typedef enum { SCOPE_ANY, SCOPE_OWN, SCOPE_PROVIDER } scope_kind;
typedef enum { FILTER_ACCEPT, FILTER_REJECT, FILTER_REVIEW } filter_action;
typedef enum { TARGET_ANY, TARGET_TENANT_VM, TARGET_PROVIDER_VM } target_kind;

typedef struct {
    int defined;
    unsigned ops;
    scope_kind scope;
} role_def;

typedef struct {
    char *unix_user;     /* or */
    char *cn, *org;      /* certificate subject (org optional) */
    int role;
    char tenant[64];
    size_t line, role_line, role_col; /* of the entry and its role in the file, for messages */
} ident_def;

typedef struct {
    char id[64];
    unsigned roles;      /* bit per known role; 0 = any */
    unsigned ops;        /* 0 = any */
    char *vms[MAX_LIST]; /* globs; none = any */
    size_t n_vms;
    char *tenants[MAX_LIST];
    size_t n_tenants;
    filter_action action;
} filter_def;

typedef struct {
    char id[64];
    unsigned roles, ops;
    target_kind target;
    int approver;        /* role index: tenant-admin (of the VM's tenant) or provider-admin */
} approval_def;

struct dbg_gw_policy {
    role_def roles[N_ROLES];
    ident_def *idents;
    size_t n_idents;
    filter_def *filters;
    size_t n_filters;
    approval_def *approvals;
    size_t n_approvals;
    dbg_gw_integrity integrity;
    size_t pubkey_line, pubkey_col; /* of integrity.seal_pubkey, for dbg_gw_policy_load */
    char **migration_dests;         /* migration.destinations: exact URIs */
    size_t n_migration_dests;
};

/* ---- YAML helpers over libyaml's document tree ---- */
typedef struct {
    yaml_document_t *doc;
    const char *src;
} ycx;

static int yfail(ycx *c, yaml_node_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int yfail(ycx *c, yaml_node_t *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* no node (an empty document): the start of the file, never "file:0:0" */
    dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: %s", c->src, n ? n->start_mark.line + 1 : 1,
                n ? n->start_mark.column + 1 : 1, msg);
    return -1;
}

static const char *yscalar(yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int role_index(const char *s)
{
    for (int i = 0; i < N_ROLES; i++)
        if (s && strcmp(s, known_roles[i]) == 0)
            return i;
    return -1;
}

static int yscalar_req(ycx *c, yaml_node_t *n, const char *what, const char **out)
{
    if (!(*out = yscalar(n)))
        return yfail(c, n, "%s must be a scalar", what);
    return 0;
}

/* A scalar or a sequence of scalars -> strings, with a per-item callback. */
typedef int (*item_fn)(ycx *c, yaml_node_t *n, const char *s, void *arg);
static int yeach(ycx *c, yaml_node_t *n, const char *what, item_fn fn, void *arg)
{
    if (n->type == YAML_SCALAR_NODE)
        return fn(c, n, yscalar(n), arg);
    if (n->type != YAML_SEQUENCE_NODE)
        return yfail(c, n, "%s must be a list", what);
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, *it);
        const char *s;
        if (yscalar_req(c, e, what, &s) != 0 || fn(c, e, s, arg) != 0)
            return -1;
    }
    return 0;
}

/* A filter's or approval's selector: absent means any, so an empty list, which reads as
 * "none", is refused instead of silently meaning any. */
static int yselector(ycx *c, yaml_node_t *n, const char *what, item_fn fn, void *arg)
{
    if (n->type == YAML_SEQUENCE_NODE && n->data.sequence.items.top == n->data.sequence.items.start)
        return yfail(c, n, "'%s: []' matches nothing; leave '%s' out to match any", what, what);
    return yeach(c, n, what, fn, arg);
}

static int add_op(ycx *c, yaml_node_t *n, const char *s, void *arg)
{
    unsigned *ops = arg;
    if (strcmp(s, "all") == 0) {
        *ops |= (1u << DBG_OP__COUNT) - 1;
        return 0;
    }
    dbg_gw_op op;
    if (dbg_gw_op_parse(s, &op) != 0)
        return yfail(c, n, "unknown operation '%.64s'", s);
    *ops |= DBG_OP_BIT(op);
    return 0;
}

static int add_role(ycx *c, yaml_node_t *n, const char *s, void *arg)
{
    unsigned *roles = arg;
    int r = role_index(s);
    if (r < 0)
        return yfail(c, n, "unknown role '%.64s' (provider-admin, provider-operator, auditor, "
                     "tenant-admin, tenant-user)", s);
    *roles |= 1u << r;
    return 0;
}

typedef struct {
    char **items;
    size_t *n;
} strlist;
static int add_str(ycx *c, yaml_node_t *n, const char *s, void *arg)
{
    strlist *l = arg;
    if (*l->n >= MAX_LIST)
        return yfail(c, n, "more than %s entries", "32");
    if (!(l->items[*l->n] = dbg_strdup(s)))
        return -1;
    (*l->n)++;
    return 0;
}

/* What is wrong with a VM name glob that fnmatch would take without complaint and read in a
 * way its author did not mean, or NULL. A '[' that opens no complete bracket expression ("[",
 * "web[1-3", "[!]", "[[:alpha:]") is read by glibc as a literal '[' in some places and as a
 * pattern that matches nothing in others; a trailing '\' and an unknown character class
 * ("[[:letter:]]") match nothing. A literal bracket is written "\[". */
static const char *glob_problem(const char *g)
{
    static const char *const classes[] = {"alnum", "alpha", "blank", "cntrl", "digit", "graph",
                                          "lower", "print", "punct", "space", "upper", "xdigit"};
    static const char unclosed[] = "has a '[' with no closing ']' (a literal bracket is '\\[')";
    for (const char *p = g; *p; p++) {
        if (*p == '\\') {
            if (!*++p)
                return "ends in a lone '\\', which escapes nothing";
            continue;
        }
        if (*p != '[')
            continue;
        const char *q = p + 1;
        if (*q == '!' || *q == '^')
            q++;
        if (*q == ']') /* first in the expression: a member, not its end */
            q++;
        for (;;) {
            if (!*q)
                return unclosed;
            if (*q == ']')
                break;
            if (*q == '\\' && q[1]) {
                q += 2;
            } else if (*q == '[' && (q[1] == ':' || q[1] == '.' || q[1] == '=')) {
                char kind = q[1];
                const char *name = q + 2, *e = strchr(name, kind);
                while (e && e[1] != ']')
                    e = strchr(e + 1, kind);
                if (!e)
                    return unclosed;
                if (kind == ':') {
                    int known = 0;
                    for (size_t i = 0; i < sizeof(classes) / sizeof(*classes); i++)
                        known |= (size_t)(e - name) == strlen(classes[i]) &&
                                 strncmp(name, classes[i], (size_t)(e - name)) == 0;
                    if (!known)
                        return "names a character class fnmatch does not know (alnum, alpha, "
                               "blank, cntrl, digit, graph, lower, print, punct, space, upper, "
                               "xdigit)";
                }
                q = e + 2;
            } else {
                q++;
            }
        }
        p = q;
    }
    return NULL;
}

static int add_glob(ycx *c, yaml_node_t *n, const char *s, void *arg)
{
    const char *problem = glob_problem(s);
    if (problem)
        return yfail(c, n, "VM name glob '%.64s' %s", s, problem);
    return add_str(c, n, s, arg);
}

#define YFOREACH_PAIR(c, map, p)                                                                  \
    for (yaml_node_pair_t *p = (map)->data.mapping.pairs.start; p < (map)->data.mapping.pairs.top; \
         p++)

static int parse_roles(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_MAPPING_NODE)
        return yfail(c, n, "%s must be a mapping of role name to definition", "roles");
    YFOREACH_PAIR(c, n, pair)
    {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        int ri = role_index(yscalar(k));
        if (ri < 0)
            return yfail(c, k, "unknown role '%.64s' (provider-admin, provider-operator, "
                         "auditor, tenant-admin, tenant-user)", yscalar(k) ? yscalar(k) : "?");
        if (v->type != YAML_MAPPING_NODE)
            return yfail(c, v, "role %s must be a mapping", known_roles[ri]);
        role_def *rd = &p->roles[ri];
        rd->defined = 1;
        rd->scope = ri >= 3 ? SCOPE_OWN : SCOPE_ANY;
        YFOREACH_PAIR(c, v, rp)
        {
            yaml_node_t *rk = yaml_document_get_node(c->doc, rp->key);
            yaml_node_t *rv = yaml_document_get_node(c->doc, rp->value);
            const char *key = yscalar(rk), *s;
            if (dbg_streq(key, "operations")) {
                if (yeach(c, rv, "operations", add_op, &rd->ops) != 0)
                    return -1;
            } else if (dbg_streq(key, "tenants")) {
                if (yscalar_req(c, rv, "tenants", &s) != 0)
                    return -1;
                if (strcmp(s, "any") == 0)
                    rd->scope = SCOPE_ANY;
                else if (strcmp(s, "own") == 0)
                    rd->scope = SCOPE_OWN;
                else if (strcmp(s, "provider") == 0)
                    rd->scope = SCOPE_PROVIDER;
                else
                    return yfail(c, rv, "tenants must be any, own or provider, not '%.64s'", s);
            } else {
                return yfail(c, rk, "unknown key '%.64s' in a role (operations, tenants)",
                             key ? key : "?");
            }
        }
        /* provider scope would be a tenant's identity acting on the provider's own VMs (the
         * management plane), which no tenant role may: only own is a tenant role's scope */
        if (ri >= 3 && rd->scope != SCOPE_OWN)
            return yfail(c, v, "tenant role %s cannot have tenants: %s (a tenant role acts on "
                         "its own tenant's VMs only: tenants: own)", known_roles[ri],
                         rd->scope == SCOPE_ANY ? "any" : "provider");
    }
    return 0;
}

static int parse_identities(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return yfail(c, n, "%s must be a list", "identities");
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(p->idents = dbg_calloc(count ? count : 1, sizeof(ident_def))))
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, *it);
        if (e->type != YAML_MAPPING_NODE)
            return yfail(c, e, "%s entries must be mappings", "identities");
        ident_def *d = &p->idents[p->n_idents++];
        d->role = -1;
        YFOREACH_PAIR(c, e, pair)
        {
            yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
            const char *key = yscalar(k), *s;
            if (yscalar_req(c, v, key ? key : "value", &s) != 0)
                return -1;
            if (dbg_streq(key, "unix")) {
                if (!(d->unix_user = dbg_strdup(s)))
                    return -1;
            } else if (dbg_streq(key, "cn")) {
                if (!(d->cn = dbg_strdup(s)))
                    return -1;
            } else if (dbg_streq(key, "o")) {
                if (!(d->org = dbg_strdup(s)))
                    return -1;
            } else if (dbg_streq(key, "role")) {
                if ((d->role = role_index(s)) < 0)
                    return yfail(c, v, "unknown role '%.64s'", s);
                d->role_line = v->start_mark.line + 1;
                d->role_col = v->start_mark.column + 1;
            } else if (dbg_streq(key, "tenant")) {
                if (strlen(s) >= sizeof(d->tenant) || !*s)
                    return yfail(c, v, "tenant id '%.64s' is empty or too long", s);
                memcpy(d->tenant, s, strlen(s) + 1);
            } else {
                return yfail(c, k, "unknown key '%.64s' in an identity (unix, cn, o, role, "
                             "tenant)", key ? key : "?");
            }
        }
        if (!d->unix_user == !d->cn)
            return yfail(c, e, "an identity needs exactly one of %s", "unix: USER or cn: NAME");
        if (d->role < 0)
            return yfail(c, e, "an identity needs a %s", "role");
        if (d->role >= 3 && !d->tenant[0])
            return yfail(c, e, "role %s needs a tenant", known_roles[d->role]);
        if (d->role < 3 && d->tenant[0])
            return yfail(c, e, "provider role %s takes no tenant", known_roles[d->role]);
        d->line = e->start_mark.line + 1;
        /* the first entry that matches a caller decides (find_ident): a later one for the same
         * user or subject would never apply, and the policy would not say what it seems to */
        for (const ident_def *o = p->idents; o < d; o++) {
            int same = d->unix_user ? o->unix_user && strcmp(o->unix_user, d->unix_user) == 0
                                    : o->cn && strcmp(o->cn, d->cn) == 0 &&
                                          (!o->org || (d->org && strcmp(o->org, d->org) == 0));
            if (same)
                return yfail(c, e, "identity %s: %.64s%s%.64s is already given a role at line %zu "
                             "(the first match decides, so this entry would never apply)",
                             d->unix_user ? "unix" : "cn", d->unix_user ? d->unix_user : d->cn,
                             d->org ? ", o: " : "", d->org ? d->org : "", o->line);
        }
    }
    return 0;
}

static int parse_target(ycx *c, yaml_node_t *v, target_kind *t)
{
    const char *s;
    if (yscalar_req(c, v, "target", &s) != 0)
        return -1;
    if (strcmp(s, "any") == 0)
        *t = TARGET_ANY;
    else if (strcmp(s, "tenant-vm") == 0)
        *t = TARGET_TENANT_VM;
    else if (strcmp(s, "provider-vm") == 0)
        *t = TARGET_PROVIDER_VM;
    else
        return yfail(c, v, "target must be any, tenant-vm or provider-vm, not '%.64s'", s);
    return 0;
}

static int copy_id(ycx *c, yaml_node_t *v, char dst[64])
{
    const char *s;
    if (yscalar_req(c, v, "id", &s) != 0)
        return -1;
    if (!s || !*s || strlen(s) >= 64)
        return yfail(c, v, "id '%.64s' is empty or longer than 63", s);
    memcpy(dst, s, strlen(s) + 1);
    return 0;
}

static int parse_filters(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return yfail(c, n, "%s must be a list", "filters");
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(p->filters = dbg_calloc(count ? count : 1, sizeof(filter_def))))
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, *it);
        if (e->type != YAML_MAPPING_NODE)
            return yfail(c, e, "%s entries must be mappings", "filters");
        filter_def *f = &p->filters[p->n_filters++];
        int have_action = 0;
        YFOREACH_PAIR(c, e, pair)
        {
            yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
            const char *key = yscalar(k), *s;
            if (dbg_streq(key, "id")) {
                if (copy_id(c, v, f->id) != 0)
                    return -1;
            } else if (dbg_streq(key, "roles")) {
                if (yselector(c, v, "roles", add_role, &f->roles) != 0)
                    return -1;
            } else if (dbg_streq(key, "operations")) {
                if (yselector(c, v, "operations", add_op, &f->ops) != 0)
                    return -1;
            } else if (dbg_streq(key, "vms")) {
                strlist l = {f->vms, &f->n_vms};
                if (yselector(c, v, "vms", add_glob, &l) != 0)
                    return -1;
            } else if (dbg_streq(key, "tenants")) {
                strlist l = {f->tenants, &f->n_tenants};
                if (yselector(c, v, "tenants", add_str, &l) != 0)
                    return -1;
            } else if (dbg_streq(key, "action")) {
                if (yscalar_req(c, v, "action", &s) != 0)
                    return -1;
                if (strcmp(s, "accept") == 0)
                    f->action = FILTER_ACCEPT;
                else if (strcmp(s, "reject") == 0)
                    f->action = FILTER_REJECT;
                else if (strcmp(s, "review") == 0)
                    f->action = FILTER_REVIEW;
                else
                    return yfail(c, v, "action must be accept, reject or review, not '%.64s'", s);
                have_action = 1;
            } else {
                return yfail(c, k, "unknown key '%.64s' in a filter (id, roles, operations, vms, "
                             "tenants, action)", key ? key : "?");
            }
        }
        if (!f->id[0] || !have_action)
            return yfail(c, e, "a filter needs %s", "an id and an action");
    }
    return 0;
}

static int parse_approvals(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_SEQUENCE_NODE)
        return yfail(c, n, "%s must be a list", "approvals");
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (!(p->approvals = dbg_calloc(count ? count : 1, sizeof(approval_def))))
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(c->doc, *it);
        if (e->type != YAML_MAPPING_NODE)
            return yfail(c, e, "%s entries must be mappings", "approvals");
        approval_def *a = &p->approvals[p->n_approvals++];
        a->approver = -1;
        a->target = TARGET_ANY;
        YFOREACH_PAIR(c, e, pair)
        {
            yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
            yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
            const char *key = yscalar(k), *s;
            if (dbg_streq(key, "id")) {
                if (copy_id(c, v, a->id) != 0)
                    return -1;
            } else if (dbg_streq(key, "roles")) {
                if (yselector(c, v, "roles", add_role, &a->roles) != 0)
                    return -1;
            } else if (dbg_streq(key, "operations")) {
                if (yselector(c, v, "operations", add_op, &a->ops) != 0)
                    return -1;
            } else if (dbg_streq(key, "target")) {
                if (parse_target(c, v, &a->target) != 0)
                    return -1;
            } else if (dbg_streq(key, "approver")) {
                if (yscalar_req(c, v, "approver", &s) != 0)
                    return -1;
                a->approver = role_index(s);
                if (a->approver != 0 && a->approver != 3)
                    return yfail(c, v, "approver must be tenant-admin or provider-admin, not "
                                 "'%.64s'", s);
            } else {
                return yfail(c, k, "unknown key '%.64s' in an approval (id, roles, operations, "
                             "target, approver)", key ? key : "?");
            }
        }
        if (!a->id[0] || a->approver < 0 || !a->ops)
            return yfail(c, e, "an approval needs %s", "an id, operations and an approver");
        if (a->approver == 3 && a->target != TARGET_TENANT_VM)
            return yfail(c, e, "%s", "approver tenant-admin needs target: tenant-vm");
    }
    return 0;
}

/* integrity: {verify_before_start: bool, require_seal: bool, seal_pubkey: PATH,
 *             manifest_dir: DIR} */
static int parse_integrity(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_MAPPING_NODE)
        return yfail(c, n, "%s must be a mapping (verify_before_start, require_seal, "
                     "seal_pubkey, manifest_dir)", "integrity");
    yaml_node_t *verify_node = NULL, *require_node = NULL;
    YFOREACH_PAIR(c, n, pair)
    {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        const char *key = yscalar(k), *val = yscalar(v);
        if (!val)
            return yfail(c, v, "integrity.%.64s must be a scalar", key ? key : "?");
        if (dbg_streq(key, "verify_before_start") || dbg_streq(key, "require_seal")) {
            int verify = key[0] == 'v';
            if (!dbg_streq(val, "true") && !dbg_streq(val, "false"))
                return yfail(c, v, "integrity.%s must be true or false", key);
            *(verify ? &p->integrity.verify_before_start : &p->integrity.require_seal) =
                dbg_streq(val, "true");
            *(verify ? &verify_node : &require_node) = v;
        } else if (dbg_streq(key, "seal_pubkey") || dbg_streq(key, "manifest_dir")) {
            char *dst = key[0] == 's' ? p->integrity.seal_pubkey : p->integrity.manifest_dir;
            if (!val[0] || strlen(val) >= sizeof(p->integrity.seal_pubkey))
                return yfail(c, v, "integrity.%s must be a path shorter than 1024 bytes", key);
            snprintf(dst, sizeof(p->integrity.seal_pubkey), "%s", val);
            if (key[0] == 's') {
                p->pubkey_line = v->start_mark.line + 1;
                p->pubkey_col = v->start_mark.column + 1;
            }
        } else {
            return yfail(c, k, "unknown key 'integrity.%.64s' (verify_before_start, "
                         "require_seal, seal_pubkey, manifest_dir)", key ? key : "?");
        }
    }
    /* A manifest carries its own public key: checked against that alone, it proves only that
     * someone sealed the disk, and whoever can rewrite the disk can seal it again. An enforced
     * start check must know whose seals count. */
    /* the starts it would refuse and the guard's alerts are verify_before_start's */
    if (p->integrity.require_seal && !p->integrity.verify_before_start)
        return yfail(c, require_node, "%s", "integrity.require_seal needs "
                     "integrity.verify_before_start: true (it makes an unsealed disk fail that "
                     "check; alone it checks nothing)");
    if (p->integrity.verify_before_start && !p->integrity.seal_pubkey[0])
        return yfail(c, verify_node, "%s", "integrity.verify_before_start needs integrity.seal_pubkey (the "
                     "signer whose seals count): a manifest's embedded key proves nothing to "
                     "whoever can rewrite the disk and seal it again");
    return 0;
}

/* What is wrong with a migration destination URI, or NULL. libvirt reads a URI with libxml2's
 * parser (virURIParse), so the same parser judges it here; beyond that the URI must name
 * another host (a migration does not go to this one, and a URI without a host is a local
 * daemon or socket) and a path, the driver's "/system". It must also fit in a request, or no
 * request could ever match it. */
static const char *dest_problem(const char *s)
{
    if (strlen(s) >= sizeof(((dbg_gw_request *)0)->dest))
        return "is longer than a request's dest can be (255 bytes)";
    for (const unsigned char *q = (const unsigned char *)s; *q; q++)
        if (*q <= ' ' || *q == 0x7f)
            return "holds a space or a control character";
    const char *sep = strstr(s, "://");
    if (!sep || sep == s)
        return "is not of the form scheme://host/path (e.g. qemu+tls://host2/system)";
    for (const char *q = s; q < sep; q++)
        if (!(isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.'))
            return "has a scheme that is not letters, digits, '+', '-' or '.'";
    xmlURIPtr u = xmlParseURI(s);
    const char *problem = NULL;
    if (!u)
        problem = "is not a URI libvirt can parse";
    else if (!u->server || !u->server[0])
        problem = "names no host (a URI without one is this host's daemon or a local socket, "
                  "never a migration destination)";
    else if (!u->path || !u->path[0] || !strcmp(u->path, "/"))
        problem = "names no path (the driver's, e.g. /system)";
    else if (u->fragment)
        problem = "has a '#' fragment, which libvirt does not take";
    xmlFreeURI(u);
    return problem;
}

/* strncasecmp follows the locale (a Turkish one folds 'I' to a dotless i): URIs are ASCII. */
static int ascii_same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

/* Length of a URI path without one trailing '/' ("/system/" reads as "/system"; "/" stays). */
static size_t path_len_no_slash(const char *path, size_t len)
{
    return len > 1 && path[len - 1] == '/' ? len - 1 : len;
}

/* Do a listed destination and a request's dest name the same place, as people write it? RFC
 * 3986 makes the scheme and the host case-insensitive (DNS is), and a trailing '/' after the
 * driver's path is a slip nobody means as another destination; everything else (user, port,
 * the rest of the path, the query, percent-escapes) must be byte for byte the same, since
 * libvirt reads each of them. The caller then connects to the listed spelling, so the URIs the
 * agent may open are still exactly the listed ones. */
static int dest_same(const char *listed, const char *dest)
{
    const char *ls = strstr(listed, "://"), *ds = strstr(dest, "://");
    if (!ls || !ds || ls - listed != ds - dest ||
        !ascii_same_nocase(listed, dest, (size_t)(ls - listed)))
        return 0;
    listed = ls + 3;
    dest = ds + 3;
    size_t la = strcspn(listed, "/?#"), da = strcspn(dest, "/?#");
    if (la != da)
        return 0;
    /* [user@]host[:port]: the user part is compared exactly, the rest without case (a port is
     * digits, an IPv6 literal hex) */
    const char *lat = memchr(listed, '@', la), *dat = memchr(dest, '@', da);
    size_t lu = lat ? (size_t)(lat - listed) + 1 : 0, du = dat ? (size_t)(dat - dest) + 1 : 0;
    if (lu != du || memcmp(listed, dest, lu) != 0 ||
        !ascii_same_nocase(listed + lu, dest + du, la - lu))
        return 0;
    listed += la;
    dest += da;
    size_t lp = strcspn(listed, "?#"), dp = strcspn(dest, "?#");
    size_t lpn = path_len_no_slash(listed, lp), dpn = path_len_no_slash(dest, dp);
    return lpn == dpn && memcmp(listed, dest, lpn) == 0 && strcmp(listed + lp, dest + dp) == 0;
}

static int add_dest(ycx *c, yaml_node_t *n, const char *s, void *arg)
{
    dbg_gw_policy *p = arg;
    const char *problem = dest_problem(s);
    if (problem)
        return yfail(c, n, "migration.destinations entry '%.100s' %s", s, problem);
    for (size_t i = 0; i < p->n_migration_dests; i++) {
        if (strcmp(p->migration_dests[i], s) == 0)
            return yfail(c, n, "migration.destinations lists '%.100s' twice", s);
        /* two spellings of one destination: a request would match the first, so the second
         * is dead text that reads as if it did something */
        if (dest_same(p->migration_dests[i], s))
            return yfail(c, n, "migration.destinations entry '%.100s' is '%.100s', listed "
                         "before, written otherwise (scheme and host case, a trailing '/')",
                         s, p->migration_dests[i]);
    }
    char **grown = dbg_reallocarray(p->migration_dests, p->n_migration_dests + 1, sizeof(char *));
    if (!grown)
        return -1;
    p->migration_dests = grown;
    if (!(p->migration_dests[p->n_migration_dests] = dbg_strdup(s)))
        return -1;
    p->n_migration_dests++;
    return 0;
}

/* migration: {destinations: [URI, ...]} */
static int parse_migration(ycx *c, yaml_node_t *n, dbg_gw_policy *p)
{
    if (n->type != YAML_MAPPING_NODE)
        return yfail(c, n, "%s must be a mapping (destinations)", "migration");
    YFOREACH_PAIR(c, n, pair)
    {
        yaml_node_t *k = yaml_document_get_node(c->doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pair->value);
        const char *key = yscalar(k);
        if (!dbg_streq(key, "destinations"))
            return yfail(c, k, "unknown key 'migration.%.64s' (destinations)", key ? key : "?");
        if (yeach(c, v, "migration.destinations", add_dest, p) != 0)
            return -1;
    }
    return 0;
}

void dbg_gw_policy_integrity(const dbg_gw_policy *p, dbg_gw_integrity *out)
{
    if (p)
        *out = p->integrity;
    else
        memset(out, 0, sizeof(*out));
}

void dbg_gw_policy_free(dbg_gw_policy *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_idents; i++) {
        free(p->idents[i].unix_user);
        free(p->idents[i].cn);
        free(p->idents[i].org);
    }
    free(p->idents);
    for (size_t i = 0; i < p->n_filters; i++) {
        for (size_t j = 0; j < p->filters[i].n_vms; j++)
            free(p->filters[i].vms[j]);
        for (size_t j = 0; j < p->filters[i].n_tenants; j++)
            free(p->filters[i].tenants[j]);
    }
    free(p->filters);
    free(p->approvals);
    for (size_t i = 0; i < p->n_migration_dests; i++)
        free(p->migration_dests[i]);
    free(p->migration_dests);
    free(p);
}

dbg_gw_policy *dbg_gw_policy_parse(const char *text, size_t len, const char *source_name)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    dbg_gw_policy *p = NULL, *ret = NULL;
    ycx c = {&doc, source_name ? source_name : "policy"};
    if (!yaml_parser_initialize(&parser)) {
        dbg_err_set(DBG_ERR_NOMEM, "yaml parser");
        return NULL;
    }
    /* libyaml's load slows with the nesting: a policy of deep '[[[[' would hold the agent's
     * start-up (and a reload) for minutes */
    if (dbg_yaml_check_depth(c.src, text, len) < 0) {
        yaml_parser_delete(&parser);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        dbg_yaml_parse_error(&parser, c.src, text, len, "bad YAML");
        yaml_parser_delete(&parser);
        return NULL;
    }
    if (dbg_yaml_unique_keys(&doc, c.src) < 0) /* a second 'identities:' would be read twice */
        goto out;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)) {
        /* an empty file, comments only, or a bare "---" (an empty scalar after it) */
        yfail(&c, NULL, "%s", "the policy is empty: it needs 'version: 1' and the identities, "
              "roles, filters and approvals that decide requests");
        goto out;
    }
    if (root->type != YAML_MAPPING_NODE) {
        yfail(&c, root, "%s", "the policy must be a mapping (version, identities, roles, "
              "filters, approvals)");
        goto out;
    }
    if (!(p = dbg_calloc(1, sizeof(*p))))
        goto out;
    int have_version = 0;
    YFOREACH_PAIR(&c, root, pair)
    {
        yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
        yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
        const char *key = yscalar(k);
        int r;
        if (dbg_streq(key, "version")) {
            if (!dbg_streq(yscalar(v), "1")) {
                yfail(&c, v, "%s", "version must be 1");
                goto out;
            }
            have_version = 1;
            r = 0;
        } else if (dbg_streq(key, "identities")) {
            r = parse_identities(&c, v, p);
        } else if (dbg_streq(key, "roles")) {
            r = parse_roles(&c, v, p);
        } else if (dbg_streq(key, "filters")) {
            r = parse_filters(&c, v, p);
        } else if (dbg_streq(key, "approvals")) {
            r = parse_approvals(&c, v, p);
        } else if (dbg_streq(key, "integrity")) {
            r = parse_integrity(&c, v, p);
        } else if (dbg_streq(key, "migration")) {
            r = parse_migration(&c, v, p);
        } else {
            r = yfail(&c, k, "unknown top-level key '%.64s' (version, identities, roles, filters, "
                      "approvals, integrity, migration)", key ? key : "?");
        }
        if (r != 0)
            goto out;
    }
    if (!have_version) {
        yfail(&c, root, "%s", "missing 'version: 1'");
        goto out;
    }
    for (size_t i = 0; i < p->n_idents; i++) {
        if (!p->roles[p->idents[i].role].defined) {
            dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: identity %zu has role %s, which 'roles' "
                        "does not define", c.src, p->idents[i].role_line, p->idents[i].role_col,
                        i + 1, known_roles[p->idents[i].role]);
            goto out;
        }
    }
    ret = p;
    p = NULL;
out:
    dbg_gw_policy_free(p);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return ret;
}

/* What a policy under which no identity can do anything lacks, or NULL when some identity's
 * role has an operation. Such a policy is valid (an agent may be meant to refuse everything
 * for a while), but far more often it is an unfinished file: every request would be denied. */
static const char *grants_nothing(const dbg_gw_policy *p)
{
    if (p->n_idents == 0)
        return "it names no identities";
    for (size_t i = 0; i < p->n_idents; i++)
        if (p->roles[p->idents[i].role].ops)
            return NULL;
    return "the roles of its identities have no operations";
}

/* The first role an identity holds that has migrate, or NULL. */
static const char *migrating_role(const dbg_gw_policy *p)
{
    for (size_t i = 0; i < p->n_idents; i++)
        if (p->roles[p->idents[i].role].ops & DBG_OP_BIT(DBG_OP_MIGRATE))
            return known_roles[p->idents[i].role];
    return NULL;
}

static dbg_gw_policy *read_policy(const char *path)
{
    DBG_AUTOFREE char *text = NULL;
    size_t len = 0;
    if (dbg_read_file(path, 1 << 20, &text, &len) != 0)
        return NULL;
    return dbg_gw_policy_parse(text, len, path);
}

dbg_gw_policy *dbg_gw_policy_load_identities(const char *path)
{
    dbg_gw_policy *p = read_policy(path);
    if (p && p->n_idents == 0)
        dbg_warn("%s: the policy names no identities: every client certificate, and every Unix "
                 "user but root and this server's own, will be refused (403)", path);
    return p;
}

dbg_gw_policy *dbg_gw_policy_load(const char *path)
{
    dbg_gw_policy *p = read_policy(path);
    /* A seal key that cannot be read would refuse every sealed VM's start, found only then:
     * say so now, where it is set. (Parsing itself stays free of I/O.) */
    uint8_t pub[32];
    if (p && p->integrity.verify_before_start && p->integrity.seal_pubkey[0] &&
        dbg_ed25519_load_public(p->integrity.seal_pubkey, pub) < 0) {
        DBG_AUTOFREE char *cause = dbg_strdup(dbg_err_msg());
        dbg_err_set(DBG_ERR_INVALID, "%s:%zu:%zu: integrity.seal_pubkey: %s", path,
                    p->pubkey_line, p->pubkey_col, cause ? cause : p->integrity.seal_pubkey);
        dbg_gw_policy_free(p);
        return NULL;
    }
    const char *lacks = p ? grants_nothing(p) : NULL;
    if (lacks)
        dbg_warn("%s: no identity can do anything under this policy (%s): every gateway request "
                 "will be denied", path, lacks);
    else if (p && p->n_migration_dests == 0 && migrating_role(p))
        dbg_warn("%s: role %s may migrate, but 'migration: destinations:' lists none: every "
                 "migration will be refused", path, migrating_role(p));
    return p;
}

/* ---- decisions ---- */
const char *dbg_gw_verdict_name(dbg_gw_verdict v)
{
    return v == DBG_GW_ALLOW ? "allow" : v == DBG_GW_REVIEW ? "review" : "deny";
}

#define CUT_NAME_WHY                                                                               \
    "the certificate's CN or O is longer than the %zu bytes kept, so it is not matched against "   \
    "the policy's identities under a cut name"

static const ident_def *find_ident(const dbg_gw_policy *p, const dbg_gw_identity *id)
{
    /* a name cut to what is kept matched the identity whose name is that prefix: a 43-character
     * CN cut to 42 was another tenant's admin */
    if (id->kind == DBG_GW_ID_TLS && id->cut)
        return NULL;
    for (size_t i = 0; i < p->n_idents; i++) {
        const ident_def *d = &p->idents[i];
        if (id->kind == DBG_GW_ID_UNIX && d->unix_user && id->user[0] &&
            strcmp(d->unix_user, id->user) == 0)
            return d;
        if (id->kind == DBG_GW_ID_TLS && d->cn && strcmp(d->cn, id->cn) == 0 &&
            (!d->org || strcmp(d->org, id->org) == 0))
            return d;
    }
    return NULL;
}

int dbg_gw_policy_identify(const dbg_gw_policy *p, const dbg_gw_identity *id, char role[32],
                           char tenant[64])
{
    const ident_def *d = find_ident(p, id);
    role[0] = tenant[0] = 0;
    if (!d && id->kind == DBG_GW_ID_TLS && id->cut) {
        dbg_err_set(DBG_ERR_DENIED, "%s: " CUT_NAME_WHY, id->actor, sizeof(id->cn) - 1);
        return -1;
    }
    if (!d) {
        dbg_err_set(DBG_ERR_DENIED, "%s is not in the policy's identities", id->actor);
        return -1;
    }
    snprintf(role, 32, "%s", known_roles[d->role]);
    snprintf(tenant, 64, "%s", d->tenant);
    return 0;
}

static int in_list(char *const *items, size_t n, const char *s, int glob)
{
    if (n == 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (glob ? fnmatch(items[i], s, 0) == 0 : strcmp(items[i], s) == 0)
            return 1;
    }
    return 0;
}

static int scope_covers(const role_def *rd, const ident_def *d, const char *vm_tenant)
{
    return rd->scope == SCOPE_ANY ||
           (rd->scope == SCOPE_OWN && vm_tenant[0] && strcmp(vm_tenant, d->tenant) == 0) ||
           (rd->scope == SCOPE_PROVIDER && !vm_tenant[0]);
}

int dbg_gw_policy_may_see(const dbg_gw_policy *p, const dbg_gw_identity *id,
                          const char *vm_tenant)
{
    const ident_def *d = p ? find_ident(p, id) : NULL;
    return d && scope_covers(&p->roles[d->role], d, vm_tenant ? vm_tenant : "");
}

int dbg_gw_policy_sees_all(const dbg_gw_policy *p, const dbg_gw_identity *id)
{
    const ident_def *d = p ? find_ident(p, id) : NULL;
    return d && p->roles[d->role].scope == SCOPE_ANY;
}

int dbg_gw_policy_role_may(const dbg_gw_policy *p, const dbg_gw_identity *id, dbg_gw_op op)
{
    const ident_def *d = p ? find_ident(p, id) : NULL;
    return d && (p->roles[d->role].ops & DBG_OP_BIT(op)) != 0;
}

const char *dbg_gw_policy_migration_dest(const dbg_gw_policy *p, const char *dest)
{
    size_t n = p ? p->n_migration_dests : 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(p->migration_dests[i], dest) == 0)
            return p->migration_dests[i];
    for (size_t i = 0; i < n; i++)
        if (dest_same(p->migration_dests[i], dest))
            return p->migration_dests[i];
    return NULL;
}

int dbg_gw_policy_migration_allowed(const dbg_gw_policy *p, const char *dest, char *reason,
                                    size_t reason_size)
{
    size_t n = p ? p->n_migration_dests : 0;
    if (dbg_gw_policy_migration_dest(p, dest))
        return 1;
    if (n == 0)
        snprintf(reason, reason_size, "migration to '%.255s' refused: the policy lists no "
                 "migration.destinations, so this host sends VMs nowhere; to allow one, add its "
                 "exact URI under 'migration: destinations:' in the policy and restart the "
                 "agent", dest);
    else
        snprintf(reason, reason_size, "migration to '%.255s' refused: it is not one of the "
                 "policy's migration.destinations (the URIs this host may send VMs to; only the "
                 "scheme's and host's case and a trailing '/' may differ)", dest);
    return 0;
}

static void set_review(dbg_gw_decision *out, int approver, const char *vm_tenant)
{
    out->verdict = DBG_GW_REVIEW;
    if (approver == 3 && vm_tenant[0]) {
        snprintf(out->approver_role, sizeof(out->approver_role), "tenant-admin");
        snprintf(out->approver_tenant, sizeof(out->approver_tenant), "%s", vm_tenant);
    } else {
        snprintf(out->approver_role, sizeof(out->approver_role), "provider-admin");
        out->approver_tenant[0] = 0;
    }
}

void dbg_gw_policy_decide(const dbg_gw_policy *p, const dbg_gw_identity *id, dbg_gw_op op,
                          const char *vm_name, const char *vm_tenant, dbg_gw_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->verdict = DBG_GW_DENY;
    vm_name = vm_name ? vm_name : "";
    vm_tenant = vm_tenant ? vm_tenant : "";
    const ident_def *d = find_ident(p, id);
    if (!d) {
        snprintf(out->rule, sizeof(out->rule), "identity:unknown");
        /* the actor cut between characters: "%.200s" cut a CN of Chinese characters inside
         * one, and the answer, no longer UTF-8, could not be encoded ("out of memory") */
        if (id->kind == DBG_GW_ID_TLS && id->cut) {
            char who[101];
            dbg_utf8_copy(who, sizeof(who), id->actor);
            snprintf(out->reason, sizeof(out->reason), "%s: " CUT_NAME_WHY, who,
                     sizeof(id->cn) - 1);
        } else {
            char who[201];
            dbg_utf8_copy(who, sizeof(who), id->actor);
            snprintf(out->reason, sizeof(out->reason), "%s is not in the policy's identities",
                     who);
        }
        return;
    }
    snprintf(out->role, sizeof(out->role), "%s", known_roles[d->role]);
    snprintf(out->tenant, sizeof(out->tenant), "%s", d->tenant);
    const role_def *rd = &p->roles[d->role];
    if (!(rd->ops & DBG_OP_BIT(op))) {
        snprintf(out->rule, sizeof(out->rule), "role:%s:operations", out->role);
        snprintf(out->reason, sizeof(out->reason), "role %s may not %s", out->role,
                 dbg_gw_op_name(op));
        return;
    }
    if (op == DBG_OP_APPROVE || (op == DBG_OP_LIST && !vm_name[0])) {
        /* approve is checked against the ticket; list without a VM is filtered per VM by the
         * caller (asking again with the VM's name). */
        out->verdict = DBG_GW_ALLOW;
        snprintf(out->rule, sizeof(out->rule), "role:%s", out->role);
        return;
    }
    if (!scope_covers(rd, d, vm_tenant)) {
        snprintf(out->rule, sizeof(out->rule), "role:%s:tenants", out->role);
        snprintf(out->reason, sizeof(out->reason), "role %s%s%s may not act on %s%s", out->role,
                 d->tenant[0] ? " of tenant " : "", d->tenant,
                 vm_tenant[0] ? "a VM of tenant " : "a provider VM", vm_tenant);
        return;
    }
    if (op == DBG_OP_LIST) {
        out->verdict = DBG_GW_ALLOW;
        snprintf(out->rule, sizeof(out->rule), "role:%s", out->role);
        return;
    }
    for (size_t i = 0; i < p->n_filters; i++) {
        const filter_def *f = &p->filters[i];
        if (f->roles && !(f->roles & (1u << d->role)))
            continue;
        if (f->ops && !(f->ops & DBG_OP_BIT(op)))
            continue;
        if (!in_list(f->vms, f->n_vms, vm_name, 1) ||
            !in_list(f->tenants, f->n_tenants, vm_tenant, 0))
            continue;
        snprintf(out->rule, sizeof(out->rule), "filter:%s", f->id);
        if (f->action == FILTER_REJECT) {
            snprintf(out->reason, sizeof(out->reason), "command filter %s rejects %s on %s", f->id,
                     dbg_gw_op_name(op), vm_name);
        } else if (f->action == FILTER_ACCEPT) {
            out->verdict = DBG_GW_ALLOW;
        } else {
            set_review(out, vm_tenant[0] ? 3 : 0, vm_tenant);
            snprintf(out->reason, sizeof(out->reason), "command filter %s sends %s to review",
                     f->id, dbg_gw_op_name(op));
        }
        return;
    }
    for (size_t i = 0; i < p->n_approvals; i++) {
        const approval_def *a = &p->approvals[i];
        if (a->roles && !(a->roles & (1u << d->role)))
            continue;
        if (!(a->ops & DBG_OP_BIT(op)))
            continue;
        if ((a->target == TARGET_TENANT_VM && !vm_tenant[0]) ||
            (a->target == TARGET_PROVIDER_VM && vm_tenant[0]))
            continue;
        snprintf(out->rule, sizeof(out->rule), "approval:%s", a->id);
        set_review(out, a->approver, vm_tenant);
        snprintf(out->reason, sizeof(out->reason), "%s of %s needs approval by %s%s%s",
                 dbg_gw_op_name(op), vm_name, out->approver_role,
                 out->approver_tenant[0] ? " of tenant " : "", out->approver_tenant);
        return;
    }
    out->verdict = DBG_GW_ALLOW;
    snprintf(out->rule, sizeof(out->rule), "role:%s", out->role);
}

int dbg_gw_policy_may_approve(const dbg_gw_policy *p, const dbg_gw_identity *id,
                              const char *approver_role, const char *approver_tenant,
                              char rule[128])
{
    const ident_def *d = find_ident(p, id);
    snprintf(rule, 128, "approver:%s%s%s", approver_role, approver_tenant[0] ? ":" : "",
             approver_tenant);
    if (!d || !(p->roles[d->role].ops & DBG_OP_BIT(DBG_OP_APPROVE)))
        return 0;
    if (strcmp(known_roles[d->role], approver_role) != 0)
        return 0;
    return strcmp(d->tenant, approver_tenant) == 0;
}
