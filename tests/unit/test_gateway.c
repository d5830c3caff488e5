/* Unit tests for src/gateway: the request protocol, policy loading and decisions (role x
 * operation x tenant, filters, approvals), tickets, the ledger's time windows, and request
 * handling on libvirt's in-process test driver with an injected audit log (intent first,
 * nothing runs when the intent is not durable). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/audit.h"
#include "dengbao/gateway.h"
#include "dengbao/integrity.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "gateway/gateway_int.h"
#include "platform/platform_internal.h"

/* ---- request protocol ---- */
static int parse(const char *s, dbg_gw_request *r)
{
    return dbg_gw_request_parse(s, strlen(s), r);
}

static void test_request_valid(void **state)
{
    (void)state;
    dbg_gw_request r;
    assert_int_equal(parse("{\"v\":1,\"op\":\"delete\",\"vm\":\"web1\"}", &r), 0);
    assert_int_equal(r.op, DBG_OP_DELETE);
    assert_string_equal(r.vm, "web1");
    dbg_gw_request_clear(&r);
    assert_int_equal(parse("{\"v\":1,\"op\":\"snapshot\",\"vm\":\"w\",\"name\":\"s1\"}", &r), 0);
    assert_string_equal(r.name, "s1");
    dbg_gw_request_clear(&r);
    assert_int_equal(parse("{\"v\":1,\"op\":\"create\",\"xml\":\"<domain/>\\n\"}", &r), 0);
    assert_string_equal(r.xml, "<domain/>\n");
    char *js = dbg_gw_request_to_json(&r);
    dbg_gw_request r2;
    assert_int_equal(parse(js, &r2), 0);
    assert_string_equal(r2.xml, r.xml);
    free(js);
    dbg_gw_request_clear(&r2);
    dbg_gw_request_clear(&r);
    assert_int_equal(parse("{\"v\":1,\"op\":\"list\"}", &r), 0);
    assert_int_equal(r.op, DBG_OP_LIST);
    assert_int_equal(parse("{\"v\":1,\"op\":\"approve\",\"ticket\":\"abc\"}", &r), 0);
    /* libvirt takes UTF-8 domain names; Chinese clouds name VMs so (财务-web1): raw or escaped */
    assert_int_equal(parse("{\"v\":1,\"op\":\"reboot\",\"vm\":\"\xe8\xb4\xa2\xe5\x8a\xa1-web1\"}", &r), 0);
    assert_string_equal(r.vm, "\xe8\xb4\xa2\xe5\x8a\xa1-web1");
    js = dbg_gw_request_to_json(&r);
    assert_non_null(js);
    assert_int_equal(parse(js, &r2), 0);
    assert_string_equal(r2.vm, "\xe8\xb4\xa2\xe5\x8a\xa1-web1");
    free(js);
    assert_int_equal(parse("{\"v\":1,\"op\":\"snapshot\",\"vm\":\"\\u8d22\\u52a1-web1\",\"name\":"
                           "\"\xe5\xbf\xab\xe7\x85\xa7\xf0\x9f\x93\xb8\"}",
                           &r),
                     0);
    assert_string_equal(r.vm, "\xe8\xb4\xa2\xe5\x8a\xa1-web1");
}

static void test_name_ok(void **state)
{
    (void)state;
    const char *good[] = {"web1", "web-01.a_b:c@d", "\xe8\xb4\xa2\xe5\x8a\xa1-web1",
                          "\xe6\xb5\x8b\xe8\xaf\x95", "caf\xc3\xa9", "\xf0\x9f\x93\xb8"};
    for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
        if (!dbg_gw_name_ok(good[i]))
            fail_msg("'%s' refused", good[i]);
    const char *bad[] = {
        "", "a b", "a/b", "a\\b", "a\"b", "a'b", "a<b", "a&b", "a\x7f", "a\tb",
        "\xe8\xb4", /* cut inside a character */
        "\xc0\xaf", /* overlong '/' */
        "\xed\xa0\x80", /* a UTF-16 surrogate */
        "\xff", "a\xc2\x85" "b", /* C1 NEL */
        "a\xc2\xa0" "b", /* no-break space */
        "\xe8\xb4\xa2\xe3\x80\x80" "web", /* U+3000 ideographic space */
        "web\xe2\x80\xae" "1gpj", /* U+202E right-to-left override */
        "a\xe2\x80\x8b" "b", /* zero-width space */
        "a\xe2\x80\xa8" "b", /* line separator */
        "a\xef\xbb\xbf", /* BOM */
        "a\xef\xbf\xbf", /* U+FFFF */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (dbg_gw_name_ok(bad[i]))
            fail_msg("bad name %zu accepted", i);
}

static void expect_bad(const char *line, dbg_errcode code, const char *needle)
{
    dbg_gw_request r;
    assert_int_equal(parse(line, &r), -1);
    if (dbg_err_code() != code || !strstr(dbg_err_msg(), needle))
        fail_msg("for %s: got %d '%s', wanted %d '%s'", line, dbg_err_code(), dbg_err_msg(), code,
                 needle);
    assert_null(r.xml);
}

static void test_request_invalid(void **state)
{
    (void)state;
    expect_bad("{\"v\":1,\"op\":\"format-disk\",\"vm\":\"a\"}", DBG_ERR_INVALID,
               "unknown operation 'format-disk'");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\",\"force\":true}", DBG_ERR_INVALID,
               "unknown field 'force'");
    expect_bad("{\"v\":1,\"op\":\"start\"}", DBG_ERR_INVALID, "needs field 'vm'");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":7}", DBG_ERR_INVALID, "'vm' must be a string");
    expect_bad("{\"v\":2,\"op\":\"list\"}", DBG_ERR_INVALID, "'v' must be the integer 1");
    expect_bad("{\"op\":\"list\"}", DBG_ERR_INVALID, "'v' must be");
    expect_bad("[1,2]", DBG_ERR_INVALID, "must be a JSON object");
    expect_bad("{\"v\":1,\"op\":\"list\"", DBG_ERR_PARSE, "malformed JSON");
    expect_bad("{\"v\":1,\"op\":\"list\",\"op\":\"delete\"}", DBG_ERR_PARSE, "malformed JSON");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a b\"}", DBG_ERR_INVALID, "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\\u0001\"}", DBG_ERR_INVALID, "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\\u0000b\"}", DBG_ERR_PARSE, "malformed");
    expect_bad("{\"v\":1,\"op\":\"list\",\"vm\":\"a\"}", DBG_ERR_INVALID, "takes no field 'vm'");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\",\"xml\":\"<d/>\"}", DBG_ERR_INVALID,
               "only 'create' takes field 'xml'");
    expect_bad("{\"v\":1,\"op\":\"snapshot\",\"vm\":\"a\",\"name\":\"<x>\"}", DBG_ERR_INVALID,
               "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\\u3000b\"}", DBG_ERR_INVALID, "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\\u202eb\"}", DBG_ERR_INVALID, "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\\u0085b\"}", DBG_ERR_INVALID, "not allowed");
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\xff" "b\"}", DBG_ERR_PARSE, "malformed");
    /* Oversized fields and lines. */
    char big[400];
    memset(big, 'a', 300);
    big[300] = 0;
    char line[600];
    snprintf(line, sizeof(line), "{\"v\":1,\"op\":\"start\",\"vm\":\"%s\"}", big);
    expect_bad(line, DBG_ERR_LIMIT, "limit 128");
    size_t n = DBG_GW_LINE_MAX + 10;
    char *huge = malloc(n + 1);
    memset(huge, ' ', n);
    huge[n] = 0;
    dbg_gw_request r;
    assert_int_equal(dbg_gw_request_parse(huge, n, &r), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    free(huge);
    n = DBG_GW_XML_MAX + 100;
    huge = malloc(n + 64);
    int off = snprintf(huge, 64, "{\"v\":1,\"op\":\"create\",\"xml\":\"");
    memset(huge + off, 'x', n - (size_t)off - 2);
    memcpy(huge + n - 2, "\"}", 3);
    expect_bad(huge, DBG_ERR_LIMIT, "'xml' is");
    free(huge);
}

/* ---- policy ---- */
static dbg_gw_policy *example_policy(void)
{
    char *path = dbg_path_join(getenv("DBG_SRCDIR") ? getenv("DBG_SRCDIR") : ".",
                               "data/policy/example.yaml");
    dbg_gw_policy *p = dbg_gw_policy_load(path);
    if (!p)
        fail_msg("loading %s: %s", path, dbg_err_msg());
    free(path);
    return p;
}

static void unix_id(dbg_gw_identity *id, const char *user)
{
    memset(id, 0, sizeof(*id));
    id->kind = DBG_GW_ID_UNIX;
    id->uid = 4242;
    snprintf(id->user, sizeof(id->user), "%s", user);
    snprintf(id->actor, sizeof(id->actor), "uid:4242(%s)", user);
    snprintf(id->source, sizeof(id->source), "unix:uid=4242");
}

static void expect_decision(const dbg_gw_policy *p, const char *user, dbg_gw_op op,
                            const char *vm, const char *tenant, dbg_gw_verdict v,
                            const char *rule)
{
    dbg_gw_identity id;
    dbg_gw_decision d;
    unix_id(&id, user);
    dbg_gw_policy_decide(p, &id, op, vm, tenant, &d);
    if (d.verdict != v || strcmp(d.rule, rule) != 0)
        fail_msg("%s %s %s (tenant '%s'): got %s by %s (%s), wanted %s by %s", user,
                 dbg_gw_op_name(op), vm, tenant, dbg_gw_verdict_name(d.verdict), d.rule, d.reason,
                 dbg_gw_verdict_name(v), rule);
}

static void test_policy_decisions(void **state)
{
    (void)state;
    dbg_gw_policy *p = example_policy();
    /* provider-admin: anything on provider VMs; tenant VMs' destructive ops need the tenant. */
    expect_decision(p, "root", DBG_OP_START, "web", "tenant-a", DBG_GW_ALLOW, "role:provider-admin");
    expect_decision(p, "root", DBG_OP_DELETE, "infra", "", DBG_GW_ALLOW, "role:provider-admin");
    expect_decision(p, "root", DBG_OP_DELETE, "web", "tenant-a", DBG_GW_REVIEW,
                    "approval:provider-acts-on-tenant-vm");
    expect_decision(p, "root", DBG_OP_REBOOT, "web", "tenant-b", DBG_GW_REVIEW,
                    "approval:provider-acts-on-tenant-vm");
    /* operator: no create; filter protects management VMs before approvals. */
    expect_decision(p, "ops", DBG_OP_CREATE, "x", "", DBG_GW_DENY, "role:provider-operator:operations");
    expect_decision(p, "ops", DBG_OP_DELETE, "mgmt-db", "", DBG_GW_DENY, "filter:protect-management-vms");
    expect_decision(p, "ops", DBG_OP_DELETE, "app", "", DBG_GW_ALLOW, "role:provider-operator");
    expect_decision(p, "ops", DBG_OP_MIGRATE, "app", "tenant-a", DBG_GW_REVIEW, "filter:review-migrations");
    /* auditor: list only. */
    expect_decision(p, "assessor", DBG_OP_LIST, "", "", DBG_GW_ALLOW, "role:auditor");
    expect_decision(p, "assessor", DBG_OP_START, "web", "tenant-a", DBG_GW_DENY, "role:auditor:operations");
    /* tenant-admin: own tenant only, no approval needed on its own VMs. */
    expect_decision(p, "alice", DBG_OP_DELETE, "web", "tenant-a", DBG_GW_ALLOW, "role:tenant-admin");
    expect_decision(p, "alice", DBG_OP_DELETE, "web", "tenant-b", DBG_GW_DENY, "role:tenant-admin:tenants");
    expect_decision(p, "alice", DBG_OP_START, "infra", "", DBG_GW_DENY, "role:tenant-admin:tenants");
    expect_decision(p, "alice", DBG_OP_CREATE, "new", "tenant-a", DBG_GW_ALLOW, "role:tenant-admin");
    expect_decision(p, "alice", DBG_OP_CREATE, "new", "", DBG_GW_DENY, "role:tenant-admin:tenants");
    expect_decision(p, "alice", DBG_OP_MIGRATE, "web", "tenant-a", DBG_GW_DENY, "role:tenant-admin:operations");
    /* tenant-user: start/reboot own VMs, no delete. */
    expect_decision(p, "bob", DBG_OP_REBOOT, "web", "tenant-a", DBG_GW_ALLOW, "role:tenant-user");
    expect_decision(p, "bob", DBG_OP_DELETE, "web", "tenant-a", DBG_GW_DENY, "role:tenant-user:operations");
    expect_decision(p, "bob", DBG_OP_LIST, "web", "tenant-b", DBG_GW_DENY, "role:tenant-user:tenants");
    /* strangers are denied. */
    expect_decision(p, "mallory", DBG_OP_LIST, "", "", DBG_GW_DENY, "identity:unknown");
    /* The approver of a provider's delete on tenant-a's VM is tenant-a's admin. */
    dbg_gw_identity id;
    dbg_gw_decision d;
    unix_id(&id, "root");
    dbg_gw_policy_decide(p, &id, DBG_OP_DELETE, "web", "tenant-a", &d);
    assert_string_equal(d.approver_role, "tenant-admin");
    assert_string_equal(d.approver_tenant, "tenant-a");
    char rule[128];
    unix_id(&id, "alice");
    assert_int_equal(dbg_gw_policy_may_approve(p, &id, "tenant-admin", "tenant-a", rule), 1);
    assert_int_equal(dbg_gw_policy_may_approve(p, &id, "tenant-admin", "tenant-b", rule), 0);
    unix_id(&id, "bob");
    assert_int_equal(dbg_gw_policy_may_approve(p, &id, "tenant-admin", "tenant-a", rule), 0);
    /* Who may see a VM (be told its name and uuid when a create collides with it): its own
     * tenant's identities and the provider's, not another tenant's, nor strangers. */
    assert_int_equal(dbg_gw_policy_may_see(p, &id, "tenant-a"), 1);
    assert_int_equal(dbg_gw_policy_may_see(p, &id, "tenant-b"), 0);
    assert_int_equal(dbg_gw_policy_may_see(p, &id, ""), 0);
    unix_id(&id, "root");
    assert_int_equal(dbg_gw_policy_may_see(p, &id, "tenant-b"), 1);
    assert_int_equal(dbg_gw_policy_may_see(p, &id, ""), 1);
    unix_id(&id, "mallory");
    assert_int_equal(dbg_gw_policy_may_see(p, &id, ""), 0);
    /* TLS identities by subject. */
    dbg_gw_identity_tls(&id, "admin-a", "tenant-a", "127.0.0.1:1");
    dbg_gw_policy_decide(p, &id, DBG_OP_DELETE, "web", "tenant-a", &d);
    assert_int_equal(d.verdict, DBG_GW_ALLOW);
    dbg_gw_identity_tls(&id, "admin-a", "other-org", "127.0.0.1:1");
    dbg_gw_policy_decide(p, &id, DBG_OP_DELETE, "web", "tenant-a", &d);
    assert_int_equal(d.verdict, DBG_GW_DENY);
    /* The actor string audit records carry: plain names as they are; a CN holding ",O=provider"
     * is escaped as RFC 4514 writes a DN, so it cannot read as a second O. */
    assert_string_equal(id.actor, "CN=admin-a,O=other-org");
    dbg_gw_identity_tls(&id, "x,O=provider", "tenant-a", "127.0.0.1:1");
    assert_string_equal(id.actor, "CN=x\\,O\\=provider,O=tenant-a");
    dbg_gw_identity_tls(&id, " #lead+trail ", "财务", "127.0.0.1:1");
    assert_string_equal(id.actor, "CN=\\ #lead\\+trail\\ ,O=财务");
    dbg_gw_policy_free(p);
}

static void expect_policy_error(const char *yaml, const char *needle)
{
    dbg_gw_policy *p = dbg_gw_policy_parse(yaml, strlen(yaml), "t.yaml");
    if (p || !strstr(dbg_err_msg(), needle))
        fail_msg("policy error '%s' not in '%s'", needle, dbg_err_msg());
}

static void test_policy_errors(void **state)
{
    (void)state;
    expect_policy_error("roles: {}\n", "missing 'version: 1'");
    /* An empty file, or one of only comments, has no node to point at: it was reported at
     * "t.yaml:0:0"; a document that is not a mapping, at its first node. */
    expect_policy_error("", "t.yaml:1:1: the policy is empty");
    /* a byte libyaml's reader refuses was put at 1:1 wherever it was */
    expect_policy_error("version: 1\nroles: {a\x7f: 1}\n",
                        "t.yaml:2:10: control characters are not allowed");
    expect_policy_error("# nothing yet\n\n", "t.yaml:1:1: the policy is empty");
    expect_policy_error("---\n", "t.yaml:1:1: the policy is empty");
    expect_policy_error("- a\n- b\n", "t.yaml:1:1: the policy must be a mapping");
    expect_policy_error("# c\n\n  - a\n", "t.yaml:3:3: the policy must be a mapping");
    expect_policy_error("hello\n", "t.yaml:1:1: the policy must be a mapping");
    expect_policy_error("version: 1\nroles:\n  superuser:\n    operations: all\n",
                        "t.yaml:3:3: unknown role 'superuser'");
    expect_policy_error("version: 1\nroles:\n  auditor:\n    operation: [list]\n",
                        "t.yaml:4:5: unknown key 'operation' in a role (operations, tenants)");
    expect_policy_error("version: 1\nroles:\n  auditor:\n    operations: [list, rm]\n",
                        "t.yaml:4:24: unknown operation 'rm'");
    expect_policy_error("version: 1\nidentities:\n  - unix: a\n    role: tenant-user\n",
                        "role tenant-user needs a tenant");
    expect_policy_error("version: 1\nidentities:\n  - unix: a\n    role: auditor\n",
                        "t.yaml:4:11: identity 1 has role auditor, which 'roles' does not define");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    action: maybe\n",
                        "action must be accept, reject or review");
    expect_policy_error("version: 1\nfoo: 1\n", "unknown top-level key 'foo'");
    expect_policy_error("version: 1\nroles: [\n", "t.yaml:");
    /* nesting past 32 levels is refused before libyaml loads it (a 1 MiB '[[[[...' took
     * libyaml minutes) */
    {
        char deep[80];
        memset(deep, '[', 40);
        strcpy(deep + 40, "\n");
        expect_policy_error(deep, "t.yaml:1:33: nesting deeper than 32 levels");
    }
    expect_policy_error("version: 1\nroles:\n  tenant-user:\n    tenants: any\n",
                        "tenant role tenant-user cannot have tenants: any");
    /* provider scope for a tenant role let tenant-a's users act on the provider's VMs (and on
     * no VM of their own tenant); it was accepted */
    expect_policy_error("version: 1\nroles:\n  tenant-admin:\n    operations: all\n"
                        "    tenants: provider\n",
                        "t.yaml:4:5: tenant role tenant-admin cannot have tenants: provider");
    /* A repeated key, at the top (a second list was once written past the first's array) or
     * inside an entry, is an error, not a second reading. */
    expect_policy_error("version: 1\nroles:\n  auditor:\n    operations: [list]\n"
                        "identities:\n  - unix: a\n    role: auditor\n  - unix: b\n    role: auditor\n"
                        "identities:\n  - unix: c\n    role: auditor\n",
                        "t.yaml:10:1: duplicate key 'identities' (first at line 5)");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: []\n    action: accept\n",
                        "t.yaml:4:10: 'vms: []' matches nothing; leave 'vms' out to match any");
    /* A VM name glob that fnmatch takes but that does not say what it seems to was accepted
     * silently: an unbalanced '[' (glibc matches "[" only against a VM named "[", "[a-" and
     * "[[:alpha:]" against nothing), a trailing '\\', an unknown class. Refused at the glob. */
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: \"[\"\n    action: reject\n",
                        "t.yaml:4:10: VM name glob '[' has a '[' with no closing ']'");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: [web1, \"web[1-3\"]\n"
                        "    action: reject\n",
                        "t.yaml:4:17: VM name glob 'web[1-3' has a '[' with no closing ']'");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms:\n      - \"[!]\"\n"
                        "    action: reject\n",
                        "t.yaml:5:9: VM name glob '[!]' has a '[' with no closing ']'");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: \"[[:alpha:]\"\n"
                        "    action: reject\n", "glob '[[:alpha:]' has a '[' with no closing");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: \"[[:letter:]]*\"\n"
                        "    action: reject\n", "t.yaml:4:10: VM name glob '[[:letter:]]*' names "
                        "a character class fnmatch does not know");
    expect_policy_error("version: 1\nfilters:\n  - id: f\n    vms: 'db\\'\n    action: reject\n",
                        "t.yaml:4:10: VM name glob 'db\\' ends in a lone '\\'");
    /* well-formed globs load, and match as fnmatch reads them */
    const char *globs = "version: 1\nroles:\n  provider-admin: {operations: all}\n"
                        "identities:\n  - unix: root\n    role: provider-admin\n"
                        "filters:\n  - id: f\n    vms: [\"web[1-3]\", \"[]x]*\", \"[!a-z]?\", "
                        "\"\\\\[lit\", \"[[:digit:]][[:upper:]]\", \"db-*\"]\n    action: reject\n";
    dbg_gw_policy *gp = dbg_gw_policy_parse(globs, strlen(globs), "t.yaml");
    if (!gp)
        fail_msg("well-formed globs refused: %s", dbg_err_msg());
    const char *hit[] = {"web2", "]x1", "xx", "9b", "[lit", "db-1"};
    const char *miss[] = {"web4", "web[1-3]", "ab", "a9z", "lit"};
    dbg_gw_identity gid;
    dbg_gw_decision gd;
    unix_id(&gid, "root");
    for (size_t i = 0; i < sizeof(hit) / sizeof(*hit); i++) {
        dbg_gw_policy_decide(gp, &gid, DBG_OP_DELETE, hit[i], "", &gd);
        if (gd.verdict != DBG_GW_DENY)
            fail_msg("'%s' not matched by the globs", hit[i]);
    }
    for (size_t i = 0; i < sizeof(miss) / sizeof(*miss); i++) {
        dbg_gw_policy_decide(gp, &gid, DBG_OP_DELETE, miss[i], "", &gd);
        if (gd.verdict != DBG_GW_ALLOW)
            fail_msg("'%s' matched by the globs", miss[i]);
    }
    dbg_gw_policy_free(gp);
    expect_policy_error("version: 1\napprovals:\n  - id: a\n    roles: []\n    operations: [delete]\n"
                        "    approver: tenant-admin\n", "'roles: []' matches nothing");
    expect_policy_error("version: 1\nidentities:\n  - unix: a\n    role: auditor\n    unix: b\n",
                        "t.yaml:5:5: duplicate key 'unix' (first at line 3)");
    /* The first identity that matches a caller decides: a second entry for the same user or
     * certificate subject (or one an earlier cn without o already covers) never applies. */
    expect_policy_error("version: 1\nroles:\n  auditor: {operations: [list], tenants: any}\n"
                        "  tenant-admin: {operations: all, tenants: own}\nidentities:\n"
                        "  - unix: alice\n    role: auditor\n"
                        "  - unix: alice\n    role: tenant-admin\n    tenant: t1\n",
                        "t.yaml:8:5: identity unix: alice is already given a role at line 6");
    expect_policy_error("version: 1\nroles:\n  auditor: {operations: [list], tenants: any}\n"
                        "identities:\n  - cn: ops\n    role: auditor\n"
                        "  - cn: ops\n    o: provider\n    role: auditor\n",
                        "t.yaml:7:5: identity cn: ops, o: provider is already given a role at "
                        "line 5");
    /* the same CN under different organizations, and a Unix user of that name, are others */
    const char *distinct = "version: 1\nroles:\n  auditor: {operations: [list], tenants: any}\n"
                           "identities:\n  - cn: ops\n    o: a\n    role: auditor\n"
                           "  - cn: ops\n    o: b\n    role: auditor\n"
                           "  - cn: ops\n    role: auditor\n  - unix: ops\n    role: auditor\n";
    dbg_gw_policy *p = dbg_gw_policy_parse(distinct, strlen(distinct), "t.yaml");
    assert_non_null(p);
    dbg_gw_policy_free(p);
}

/* Loads policy text from a file as the agent does; *warnings gets what went to stderr. */
static dbg_gw_policy *load_policy_text(const char *text, char **warnings)
{
    char dir[] = "/tmp/dbg-gw-pol-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *path = dbg_path_join(dir, "policy.yaml");
    DBG_AUTOFREE char *errpath = dbg_path_join(dir, "stderr");
    assert_int_equal(dbg_write_file_atomic(path, text, strlen(text)), 0);
    fflush(stderr);
    int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 2), 2);
    close(fd);
    dbg_gw_policy *p = dbg_gw_policy_load(path);
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    size_t len = 0;
    assert_int_equal(dbg_read_file(errpath, 1 << 16, warnings, &len), 0);
    unlink(errpath);
    unlink(path);
    rmdir(dir);
    return p;
}

/* A policy under which no identity can do anything loads (it may be meant), but says so: the
 * agent started on `version: 1` alone denied every request without a word. */
static void test_policy_grants_nothing(void **state)
{
    (void)state;
    const char *nothing[] = {
        "version: 1\n",
        "version: 1\nroles:\n  provider-admin: {operations: all}\n",
        ("version: 1\nroles:\n  auditor: {tenants: any}\nidentities:\n  - unix: a\n"
         "    role: auditor\n"), /* one policy (clang's -Wstring-concatenation asks this) */
    };
    const char *why[] = {"it names no identities", "it names no identities",
                         "the roles of its identities have no operations"};
    for (size_t i = 0; i < 3; i++) {
        char *err = NULL;
        dbg_gw_policy *p = load_policy_text(nothing[i], &err);
        assert_non_null(p);
        if (!strstr(err, "policy.yaml: no identity can do anything under this policy") ||
            !strstr(err, why[i]) || !strstr(err, "every gateway request will be denied"))
            fail_msg("policy %zu: stderr was '%s'", i, err);
        free(err);
        dbg_gw_policy_free(p);
    }
    /* one identity with one operation is enough: no warning */
    char *err = NULL;
    dbg_gw_policy *p = load_policy_text("version: 1\nroles:\n  auditor: {operations: [list]}\n"
                                        "identities:\n  - unix: a\n    role: auditor\n",
                                        &err);
    assert_non_null(p);
    assert_string_equal(err, "");
    free(err);
    dbg_gw_policy_free(p);
}

/* The root requester and a review decision that a tenant admin must approve. */
static void review_fixture(dbg_gw_identity *id, dbg_gw_decision *d)
{
    unix_id(id, "root");
    memset(d, 0, sizeof(*d));
    d->verdict = DBG_GW_REVIEW;
    snprintf(d->approver_role, sizeof(d->approver_role), "tenant-admin");
}

/* A restart of the agent keeps pending tickets and forgets used ones; a damaged store is named
 * and left alone. */
static void test_tickets_persist(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-tickets-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/gateway-tickets.json", dir);
    dbg_gw_identity id;
    dbg_gw_decision d;
    review_fixture(&id, &d);
    snprintf(d.approver_tenant, sizeof(d.approver_tenant), "tenant-a");
    snprintf(d.rule, sizeof(d.rule), "approval:provider-acts-on-tenant-vm");
    dbg_gw_request req;
    memset(&req, 0, sizeof(req));
    req.op = DBG_OP_CREATE;
    req.xml = "<domain type='test'><name>web \"1\"</name></domain>";
    char used[DBG_GW_TICKET_LEN + 1], kept[DBG_GW_TICKET_LEN + 1];
    dbg_gw_tickets *t = dbg_gw_tickets_new(1000);
    assert_int_equal(dbg_gw_tickets_persist(t, path), 0); /* no file yet: empty */
    assert_int_equal(dbg_gw_tickets_file(t, &id, &d, &req, "u1", "web", "tenant-a", 100, used), 0);
    assert_int_equal(dbg_gw_tickets_file(t, &id, &d, &req, "u2", "web2", "tenant-a", 100, kept), 0);
    dbg_gw_ticket k;
    assert_int_equal(dbg_gw_tickets_take(t, used, 200, &k), 0);
    dbg_gw_request_clear(&k.request);
    dbg_gw_tickets_free(t);

    t = dbg_gw_tickets_new(1000);
    assert_int_equal(dbg_gw_tickets_persist(t, path), 0);
    assert_int_equal(dbg_gw_tickets_take(t, used, 300, &k), -1); /* used stays used */
    assert_int_equal(dbg_err_code(), DBG_ERR_NOTFOUND);
    assert_int_equal(dbg_gw_tickets_take(t, kept, 300, &k), 0);
    assert_string_equal(k.vm_uuid, "u2");
    assert_string_equal(k.vm_tenant, "tenant-a");
    assert_string_equal(k.requester.actor, id.actor);
    assert_string_equal(k.decision.approver_tenant, "tenant-a");
    assert_string_equal(k.decision.rule, "approval:provider-acts-on-tenant-vm");
    assert_int_equal(k.request.op, DBG_OP_CREATE);
    assert_string_equal(k.request.xml, req.xml);
    assert_int_equal(k.expires_us, 1100);
    dbg_gw_request_clear(&k.request);
    dbg_gw_tickets_free(t);

    /* damaged store: refused with its name, and not rewritten */
    static const char bad[] = "[{\"id\": 5}]";
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(bad, f);
    fclose(f);
    t = dbg_gw_tickets_new(1000);
    assert_int_equal(dbg_gw_tickets_persist(t, path), -1);
    assert_non_null(strstr(dbg_err_msg(), path));
    assert_non_null(strstr(dbg_err_msg(), "ticket 0"));
    dbg_gw_tickets_free(t);
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(dbg_read_file(path, 4096, &text, &len), 0);
    assert_string_equal(text, bad);
    free(text);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("[{\"id\": ", f); /* truncated JSON */
    fclose(f);
    t = dbg_gw_tickets_new(1000);
    assert_int_equal(dbg_gw_tickets_persist(t, path), -1);
    assert_non_null(strstr(dbg_err_msg(), path));
    dbg_gw_tickets_free(t);
    unlink(path);
    rmdir(dir);
}

/* ---- tickets ---- */
static void test_tickets(void **state)
{
    (void)state;
    dbg_gw_tickets *t = dbg_gw_tickets_new(1000);
    dbg_gw_identity id;
    dbg_gw_decision d;
    review_fixture(&id, &d);
    dbg_gw_request req;
    memset(&req, 0, sizeof(req));
    req.op = DBG_OP_DELETE;
    snprintf(req.vm, sizeof(req.vm), "web");
    char tid[DBG_GW_TICKET_LEN + 1], tid2[DBG_GW_TICKET_LEN + 1];
    assert_int_equal(dbg_gw_tickets_file(t, &id, &d, &req, "u", "web", "tenant-a", 100, tid), 0);
    assert_int_equal(strlen(tid), DBG_GW_TICKET_LEN);
    assert_int_equal(dbg_gw_tickets_file(t, &id, &d, &req, "u", "web", "tenant-a", 100, tid2), 0);
    assert_string_not_equal(tid, tid2);
    dbg_gw_ticket k;
    assert_int_equal(dbg_gw_tickets_peek(t, tid, 200, &k), 0);
    assert_string_equal(k.vm_tenant, "tenant-a");
    assert_int_equal(dbg_gw_tickets_take(t, tid, 200, &k), 0);
    assert_int_equal(k.request.op, DBG_OP_DELETE);
    dbg_gw_request_clear(&k.request);
    /* single use */
    assert_int_equal(dbg_gw_tickets_take(t, tid, 300, &k), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_INVALID);
    /* a refused peek still names the ticket's VM (used, expired), so the refusal is recorded
     * against it; an unknown id names nothing */
    assert_int_equal(dbg_gw_tickets_peek(t, tid, 300, &k), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_INVALID);
    assert_string_equal(k.vm_tenant, "tenant-a");
    assert_string_equal(k.vm_name, "web");
    assert_null(k.request.xml);
    /* expiry */
    assert_int_equal(dbg_gw_tickets_take(t, tid2, 100 + 1001, &k), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_int_equal(dbg_gw_tickets_peek(t, tid2, 100 + 1002, &k), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_string_equal(k.vm_tenant, "tenant-a");
    assert_string_equal(k.id, tid2);
    assert_int_equal(dbg_gw_tickets_peek(t, "nonexistent", 100, &k), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_NOTFOUND);
    assert_string_equal(k.id, "");
    assert_string_equal(k.vm_tenant, "");
    dbg_gw_tickets_free(t);
}

/* ---- gateway on the test driver, with an injected audit log ---- */
typedef struct {
    int fail_from;  /* fail the Nth append onwards (0 = never) */
    int n;
    char actions[64][64];
    char outcomes[64][32];
    char rules[64][128];
    char tenants[64][64];
    char targets[64][160];
    char details[64][1200];
    /* run once at the next allowed intent record, between the gateway's checks and its libvirt
     * call: what another request may do meanwhile (the record's fsync takes milliseconds) */
    const char *race_xml;
} recorder;

static int record(void *ctx, const dbg_audit_record *rec, uint64_t *seq)
{
    recorder *r = ctx;
    if (r->race_xml && !strcmp(rec->outcome, "allowed")) {
        virConnectPtr c = virConnectOpen("test:///default");
        virDomainPtr d = virDomainDefineXML(c, r->race_xml);
        if (!d)
            fail_msg("the racing define failed");
        virDomainFree(d);
        virConnectClose(c);
        r->race_xml = NULL;
    }
    if (r->fail_from && r->n + 1 >= r->fail_from) {
        dbg_err_set(DBG_ERR_IO, "injected: disk full");
        return -1;
    }
    { /* the last 64 (record n is at n % 64) */
        int i = r->n % 64;
        snprintf(r->actions[i], 64, "%s", rec->action);
        snprintf(r->outcomes[i], 32, "%s", rec->outcome);
        snprintf(r->tenants[i], 64, "%s", rec->tenant ? rec->tenant : "");
        snprintf(r->targets[i], 160, "%s", rec->target_name ? rec->target_name : "");
        snprintf(r->details[i], 1200, "%s", rec->details_json ? rec->details_json : "");
        const char *rule = rec->details_json ? strstr(rec->details_json, "\"rule\":\"") : NULL;
        snprintf(r->rules[i], 128, "%.*s", rule ? (int)strcspn(rule + 8, "\"") : 0,
                 rule ? rule + 8 : "");
    }
    *seq = (uint64_t)++r->n;
    return 0;
}

static char *call(dbg_gateway *gw, const dbg_gw_identity *id, const char *line)
{
    char *resp = NULL;
    assert_int_equal(dbg_gateway_handle(gw, id, line, strlen(line), &resp), 0);
    assert_non_null(resp);
    return resp;
}

static int domain_active(const char *name)
{
    virConnectPtr c = virConnectOpen("test:///default");
    virDomainPtr d = virDomainLookupByName(c, name);
    int r = d ? virDomainIsActive(d) : -1;
    if (d)
        virDomainFree(d);
    virConnectClose(c);
    return r;
}

static void test_gateway_flow(void **state)
{
    (void)state;
    dbg_gw_policy *p = example_policy();
    recorder rec;
    memset(&rec, 0, sizeof(rec));
    dbg_gw_ledger *ledger = dbg_gw_ledger_new();
    dbg_gw_opts o = {.uri = "test:///default", .policy = p, .ledger = ledger, .audit = record,
                     .audit_ctx = &rec};
    dbg_gateway *gw = dbg_gateway_new(&o);
    assert_non_null(gw);
    dbg_gw_identity root, alice, bob;
    unix_id(&root, "root");
    unix_id(&alice, "alice");
    unix_id(&bob, "bob");

    /* tenant-a's admin creates a VM carrying its tenant: intent + outcome, allowed. */
    const char *xml = "<domain type='test'><name>gw-a1</name><memory>65536</memory>"
                      "<metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' "
                      "id='tenant-a'/></metadata><os><type>hvm</type></os></domain>";
    dbg_gw_request cr;
    memset(&cr, 0, sizeof(cr));
    cr.op = DBG_OP_CREATE;
    cr.xml = (char *)xml;
    char *line = dbg_gw_request_to_json(&cr);
    char *resp = call(gw, &alice, line);
    free(line);
    assert_non_null(strstr(resp, "\"status\":\"done\""));
    free(resp);
    assert_int_equal(rec.n, 2);
    assert_string_equal(rec.actions[0], "vm.create.intent");
    assert_string_equal(rec.outcomes[0], "allowed");
    assert_string_equal(rec.rules[0], "role:tenant-admin");
    assert_string_equal(rec.actions[1], "vm.create.outcome");
    assert_string_equal(rec.outcomes[1], "success");

    /* A create naming an existing VM, by name or by uuid, is refused: libvirt's define would
     * replace it, so tenant-a's admin could take over the provider's VM "test" by claiming it
     * for tenant-a in the new XML. A refusal (exit 1 in `dengbao vm`), not an error (3); the
     * VM's name and uuid are told to an identity that may see it (its own tenant's)... */
    line = dbg_gw_request_to_json(&cr);
    resp = call(gw, &alice, line);
    free(line);
    assert_non_null(strstr(resp, "a VM named 'gw-a1'"));
    assert_non_null(strstr(resp, "already exists"));
    assert_non_null(strstr(resp, "\"status\":\"refused\""));
    free(resp);
    const char *steal[] = {
        "<domain type='test'><name>test</name><memory>65536</memory><metadata><dengbao:tenant "
        "xmlns:dengbao='https://dengbao.dev/xmlns/1' id='tenant-a'/></metadata><os><type>hvm"
        "</type></os></domain>",
        "<domain type='test'><name>other</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
        "<memory>65536</memory><metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/"
        "xmlns/1' id='tenant-a'/></metadata><os><type>hvm</type></os></domain>"};
    for (size_t i = 0; i < 2; i++) {
        dbg_gw_request st;
        memset(&st, 0, sizeof(st));
        st.op = DBG_OP_CREATE;
        st.xml = (char *)steal[i];
        line = dbg_gw_request_to_json(&st);
        resp = call(gw, &alice, line);
        free(line);
        /* ... but not to a tenant naming the provider's (or another tenant's) VM: it answered
         * "a VM named 'test' (uuid 6695eb01-...) already exists", which tenant-a may not see */
        assert_null(strstr(resp, "6695eb01"));
        assert_null(strstr(resp, "'test'"));
        assert_non_null(strstr(resp, "the name or uuid in the XML is already taken"));
        assert_non_null(strstr(resp, "\"status\":\"refused\""));
        free(resp);
    }
    assert_int_equal(rec.n, 5); /* each refusal is audited as an invalid intent */
    for (int i = 2; i < 5; i++) {
        assert_string_equal(rec.actions[i], "vm.create.intent");
        assert_string_equal(rec.outcomes[i], "invalid");
    }
    /* ... about the VM it would have replaced, under that VM's tenant (it had no target and
     * no tenant: tenant-a never saw an attempt on its gw-a1) */
    assert_string_equal(rec.targets[2], "gw-a1");
    assert_string_equal(rec.tenants[2], "tenant-a");
    assert_string_equal(rec.targets[3], "test");
    assert_string_equal(rec.tenants[3], ""); /* the provider's */
    assert_string_equal(rec.targets[4], "test");
    /* the provider may see its VM: it is told which one */
    {
        dbg_gw_request st;
        memset(&st, 0, sizeof(st));
        st.op = DBG_OP_CREATE;
        st.xml = (char *)steal[1];
        line = dbg_gw_request_to_json(&st);
        resp = call(gw, &root, line);
        free(line);
        assert_non_null(strstr(resp, "a VM named 'test' (uuid 6695eb01-f6a4-8304-79aa-97f2502e193f)"
                                     " already exists"));
        assert_non_null(strstr(resp, "\"status\":\"refused\""));
        free(resp);
        assert_int_equal(rec.n, 6);
        assert_string_equal(rec.outcomes[5], "invalid");
        assert_string_equal(rec.targets[5], "test");
    }
    virConnectPtr vc = virConnectOpen("test:///default");
    virDomainPtr vd = virDomainLookupByName(vc, "test");
    assert_non_null(vd);
    char *vx = virDomainGetXMLDesc(vd, 0);
    assert_null(strstr(vx, "tenant-a")); /* still the provider's */
    free(vx);
    virDomainFree(vd);
    virConnectClose(vc);

    /* bob (tenant-user of tenant-a) may start it but not delete it. */
    resp = call(gw, &bob, "{\"v\":1,\"op\":\"start\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "\"status\":\"done\""));
    free(resp);
    assert_int_equal(domain_active("gw-a1"), 1);
    resp = call(gw, &bob, "{\"v\":1,\"op\":\"delete\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "\"status\":\"denied\""));
    assert_non_null(strstr(resp, "role:tenant-user:operations"));
    free(resp);
    assert_string_equal(rec.actions[rec.n - 1], "vm.delete.intent");
    assert_string_equal(rec.outcomes[rec.n - 1], "denied");
    assert_int_equal(domain_active("gw-a1"), 1);

    /* The provider's reboot of a tenant VM files a ticket; bob may not approve, the provider
     * may not approve its own request, alice may; the approval runs the reboot. */
    resp = call(gw, &root, "{\"v\":1,\"op\":\"destroy\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "\"status\":\"pending\""));
    const char *tk = strstr(resp, "\"ticket\":\"");
    assert_non_null(tk);
    char ticket[DBG_GW_TICKET_LEN + 1];
    snprintf(ticket, sizeof(ticket), "%.*s", DBG_GW_TICKET_LEN, tk + 10);
    free(resp);
    assert_string_equal(rec.outcomes[rec.n - 1], "pending");
    assert_int_equal(domain_active("gw-a1"), 1);
    char approve[128];
    snprintf(approve, sizeof(approve), "{\"v\":1,\"op\":\"approve\",\"ticket\":\"%s\"}", ticket);
    resp = call(gw, &bob, approve);
    assert_non_null(strstr(resp, "\"status\":\"denied\""));
    free(resp);
    resp = call(gw, &root, approve);
    assert_non_null(strstr(resp, "\"status\":\"denied\""));
    free(resp);
    assert_int_equal(domain_active("gw-a1"), 1);
    int before = rec.n;
    resp = call(gw, &alice, approve);
    assert_non_null(strstr(resp, "\"status\":\"done\""));
    free(resp);
    assert_int_equal(domain_active("gw-a1"), 0);
    assert_int_equal(rec.n, before + 3);
    assert_string_equal(rec.actions[before], "vm.approve");
    assert_string_equal(rec.outcomes[before], "approved");
    assert_string_equal(rec.actions[before + 1], "vm.destroy.intent");
    assert_string_equal(rec.actions[before + 2], "vm.destroy.outcome");
    /* A ticket is single use. The refused second approval is about tenant-a's VM, so it is
     * recorded as such: it was recorded with no tenant and no VM, out of tenant-a's view. */
    resp = call(gw, &alice, approve);
    assert_non_null(strstr(resp, "already approved"));
    free(resp);
    assert_string_equal(rec.actions[rec.n - 1], "vm.approve");
    assert_string_equal(rec.outcomes[rec.n - 1], "denied");
    assert_string_equal(rec.tenants[rec.n - 1], "tenant-a");
    assert_string_equal(rec.targets[rec.n - 1], "gw-a1");

    /* A ticket nobody approves expires, and its expiry is recorded as the request's outcome
     * under the VM's tenant (it stayed "pending" in the tenant's records for good), once, also
     * when it expired while the agent was down. */
    {
        char tdir[] = "/tmp/dbg-gw-exp-XXXXXX";
        assert_non_null(mkdtemp(tdir));
        DBG_AUTOFREE char *tpath = dbg_path_join(tdir, "tickets.json");
        dbg_gw_opts o2 = o;
        o2.ticket_ttl_us = 100000;
        o2.tickets_path = tpath;
        dbg_gateway *g2 = dbg_gateway_new(&o2);
        assert_non_null(g2);
        resp = call(g2, &root, "{\"v\":1,\"op\":\"destroy\",\"vm\":\"gw-a1\"}");
        assert_non_null(strstr(resp, "\"status\":\"pending\""));
        tk = strstr(resp, "\"ticket\":\"");
        assert_non_null(tk);
        snprintf(ticket, sizeof(ticket), "%.*s", DBG_GW_TICKET_LEN, tk + 10);
        free(resp);
        assert_int_equal(dbg_gateway_expire_tickets(g2, dbg_now_us()), 0); /* not yet */
        dbg_gateway_free(g2);
        usleep(150000);
        g2 = dbg_gateway_new(&o2); /* restarted after the expiry */
        assert_non_null(g2);
        int n1 = rec.n;
        assert_int_equal(dbg_gateway_expire_tickets(g2, dbg_now_us()), 1);
        assert_int_equal(rec.n, n1 + 1);
        assert_string_equal(rec.actions[n1], "vm.destroy.outcome");
        assert_string_equal(rec.outcomes[n1], "expired");
        assert_string_equal(rec.tenants[n1], "tenant-a");
        assert_string_equal(rec.targets[n1], "gw-a1");
        assert_int_equal(dbg_gateway_expire_tickets(g2, dbg_now_us()), 0); /* once */
        snprintf(approve, sizeof(approve), "{\"v\":1,\"op\":\"approve\",\"ticket\":\"%s\"}",
                 ticket);
        resp = call(g2, &alice, approve);
        assert_non_null(strstr(resp, "expired"));
        free(resp);
        dbg_gateway_free(g2);
        g2 = dbg_gateway_new(&o2); /* and not again after another restart */
        assert_non_null(g2);
        assert_int_equal(dbg_gateway_expire_tickets(g2, dbg_now_us()), 0);
        dbg_gateway_free(g2);
        DBG_AUTOFREE char *rm = dbg_asprintf("rm -rf %s", tdir);
        assert_int_equal(system(rm), 0);
    }

    /* The intent record fails -> the operation does not run. */
    rec.fail_from = rec.n + 1;
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"start\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "could not be made durable"));
    free(resp);
    assert_int_equal(domain_active("gw-a1"), 0);
    rec.fail_from = 0;

    /* A libvirt failure is an outcome "failure" with libvirt's message. */
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"resume\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "\"status\":\"failed\""));
    free(resp);
    assert_string_equal(rec.outcomes[rec.n - 1], "failure");

    /* list shows alice only tenant-a's VMs. */
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"list\"}");
    assert_non_null(strstr(resp, "gw-a1"));
    assert_null(strstr(resp, "\"name\":\"test\""));
    free(resp);
    resp = call(gw, &root, "{\"v\":1,\"op\":\"list\"}");
    assert_non_null(strstr(resp, "\"name\":\"test\""));
    free(resp);

    /* Malformed input is audited and answered. */
    int n0 = rec.n;
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"rm -rf\"}");
    assert_non_null(strstr(resp, "bad request"));
    free(resp);
    assert_int_equal(rec.n, n0 + 1);
    assert_string_equal(rec.outcomes[n0], "invalid");
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"start\",\"vm\":\"no-such-vm\"}");
    assert_non_null(strstr(resp, "no VM named"));
    free(resp);

    /* A delete with --remove-storage whose disks cannot be read (more layers than the gateway
     * reads; such a VM can only be defined behind its back) deletes nothing: it once deleted
     * the VM, removed no storage and answered done. */
    {
        dbg_buf x = {0};
        dbg_buf_adds(&x, "<domain type='test'><name>gw-many</name><memory>65536</memory><metadata>"
                         "<dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' id='tenant-a'/>"
                         "</metadata><os><type>hvm</type></os><devices>");
        for (int i = 0; i < 300; i++)
            dbg_buf_printf(&x, "<disk type='file' device='disk'><source file='/nonexistent/%d.img'/>"
                               "<target dev='vd%c%c'/></disk>", i, 'a' + i / 26, 'a' + i % 26);
        dbg_buf_adds(&x, "</devices></domain>");
        virConnectPtr mc = virConnectOpen("test:///default");
        virDomainPtr md = virDomainDefineXML(mc, x.data);
        assert_non_null(md);
        virDomainFree(md);
        virConnectClose(mc);
        dbg_buf_free(&x);
        resp = call(gw, &alice,
                    "{\"v\":1,\"op\":\"delete\",\"vm\":\"gw-many\",\"remove_storage\":true}");
        assert_non_null(strstr(resp, "\"status\":\"refused\""));
        assert_non_null(strstr(resp, "so nothing was deleted"));
        free(resp);
        assert_int_equal(domain_active("gw-many"), 0); /* still defined */
    }

    /* delete through the gateway, as tenant-a's admin */
    resp = call(gw, &alice, "{\"v\":1,\"op\":\"delete\",\"vm\":\"gw-a1\"}");
    assert_non_null(strstr(resp, "\"status\":\"done\""));
    free(resp);
    assert_int_equal(domain_active("gw-a1"), -1);

    dbg_gateway_free(gw);
    dbg_gw_ledger_free(ledger);
    dbg_gw_policy_free(p);
}


/* Defines a VM on the test driver behind the gateway's back (as another tenant's tooling or an
 * earlier version would have). tenant NULL = the provider's. */
static void define_vm(const char *name, const char *tenant, const char *disk)
{
    DBG_AUTOFREE char *meta = tenant ? dbg_asprintf("<metadata><dengbao:tenant xmlns:dengbao="
                                                    "'https://dengbao.dev/xmlns/1' id='%s'/>"
                                                    "</metadata>", tenant)
                                     : dbg_strdup("");
    DBG_AUTOFREE char *x = dbg_asprintf(
        "<domain type='test'><name>%s</name><memory>65536</memory>%s<os><type>hvm</type></os>"
        "<devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk>"
        "</devices></domain>", name, meta, disk);
    virConnectPtr c = virConnectOpen("test:///default");
    virDomainPtr d = virDomainDefineXML(c, x);
    if (!d)
        fail_msg("defining %s failed", name);
    virDomainFree(d);
    virConnectClose(c);
}

/* The answer to who for op on vm, with other written where vm was: "no VM named 'gw-b1'"
 * read as "no VM named 'gw-none'", so two answers compare whole. */
static char *answer_as(dbg_gateway *gw, const dbg_gw_identity *who, const char *op,
                       const char *vm, const char *other)
{
    const char *extra = !strcmp(op, "snapshot")  ? ",\"name\":\"s1\""
                        : !strcmp(op, "migrate") ? ",\"dest\":\"test:///default\""
                                                 : "";
    DBG_AUTOFREE char *line = dbg_asprintf("{\"v\":1,\"op\":\"%s\",\"vm\":\"%s\"%s}", op, vm,
                                           extra);
    char *resp = call(gw, who, line);
    dbg_buf b = {0};
    size_t n = strlen(vm);
    for (const char *p = resp; *p;) {
        if (!strncmp(p, vm, n)) {
            dbg_buf_adds(&b, other);
            p += n;
        } else {
            dbg_buf_printf(&b, "%c", *p++);
        }
    }
    free(resp);
    return b.data;
}

/* The gateway on the test driver as one tenant's identity sees it: tenant-b's VM gw-b1 (whose
 * disk is a volume of the driver's pool), tenant-a's gw-a7, the provider's "test". */
typedef struct {
    dbg_gw_policy *p;
    recorder rec;
    dbg_gw_ledger *ledger;
    dbg_gateway *gw;
    dbg_gw_identity root, alice, bob, mallory;
    virConnectPtr vc;
    char *vpath; /* gw-b1's disk */
    char b1uuid[VIR_UUID_STRING_BUFLEN];
} unseen;

static void unseen_open(unseen *u)
{
    memset(u, 0, sizeof(*u));
    u->p = example_policy();
    u->ledger = dbg_gw_ledger_new();
    dbg_gw_opts o = {.uri = "test:///default", .policy = u->p, .ledger = u->ledger,
                     .audit = record, .audit_ctx = &u->rec};
    assert_non_null(u->gw = dbg_gateway_new(&o));
    unix_id(&u->root, "root");
    unix_id(&u->alice, "alice");
    unix_id(&u->bob, "bob");
    unix_id(&u->mallory, "mallory"); /* not in the policy */
    assert_non_null(u->vc = virConnectOpen("test:///default"));
    virStoragePoolPtr pool = virStoragePoolLookupByName(u->vc, "default-pool");
    assert_non_null(pool);
    virStorageVolPtr vol = virStorageVolCreateXML(
        pool, "<volume><name>unseen.img</name><capacity>1048576</capacity></volume>", 0);
    assert_non_null(vol);
    assert_non_null(u->vpath = virStorageVolGetPath(vol));
    virStorageVolFree(vol);
    virStoragePoolFree(pool);
    define_vm("gw-b1", "tenant-b", u->vpath);
    define_vm("gw-a7", "tenant-a", "/var/lib/dbg-test/gw-a7.img");
    virDomainPtr b1 = virDomainLookupByName(u->vc, "gw-b1");
    assert_non_null(b1);
    virDomainGetUUIDString(b1, u->b1uuid);
    virDomainFree(b1);
}

/* tidies the test driver, which the other tests share */
static void unseen_close(unseen *u)
{
    const char *mine[] = {"gw-b1", "gw-a7"};
    for (size_t i = 0; i < 2; i++) {
        virDomainPtr d = virDomainLookupByName(u->vc, mine[i]);
        assert_non_null(d);
        assert_int_equal(virDomainUndefine(d), 0);
        virDomainFree(d);
    }
    virStorageVolPtr vol = virStorageVolLookupByPath(u->vc, u->vpath);
    if (vol) {
        virStorageVolDelete(vol, 0);
        virStorageVolFree(vol);
    }
    free(u->vpath);
    virConnectClose(u->vc);
    dbg_gateway_free(u->gw);
    dbg_gw_ledger_free(u->ledger);
    dbg_gw_policy_free(u->p);
}

/* the record made n records ago (1 = the last) */
#define REC(u, field, back) ((u)->rec.field[((u)->rec.n - (back)) % 64])

/* Every operation on gw-b1 (tenant-b's, by name or uuid) or on the provider's "test", by
 * tenant-a's admin or user, reads as on a VM that does not exist: it was "denied ... may not
 * act on a VM of tenant tenant-b" (rule role:tenant-admin:tenants), or for an operation the
 * role does not have "role tenant-user may not delete", where no VM gave "no VM named" (exit 3
 * against 1 in `dengbao vm`). An identity not in the policy is told so about either. The
 * attempt is recorded under the VM's tenant as the denial it was. */
static void test_gateway_unseen_vm(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    static const char *const ops[] = {"start", "shutdown", "reboot", "reset", "destroy",
                                      "delete", "suspend", "resume", "snapshot", "migrate"};
    const dbg_gw_identity *callers[] = {&u.alice, &u.bob, &u.mallory};
    const char *hidden_vms[] = {"gw-b1", "test", u.b1uuid};
    for (size_t w = 0; w < 3; w++) {
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            for (size_t v = 0; v < 3; v++) {
                const char *none = v == 2 ? "00000000-0000-4000-8000-000000000b01" : "gw-none";
                char *seen = answer_as(u.gw, callers[w], ops[i], hidden_vms[v], none);
                char *nothing = answer_as(u.gw, callers[w], ops[i], none, none);
                if (strcmp(seen, nothing) != 0)
                    fail_msg("%s %s %s: '%s', but for no VM: '%s'", callers[w]->user, ops[i],
                             hidden_vms[v], seen, nothing);
                if (w < 2)
                    assert_non_null(strstr(nothing, "\"status\":\"error\",\"error\":\"no VM named"));
                else
                    assert_non_null(strstr(nothing, "identity:unknown"));
                free(seen);
                free(nothing);
                DBG_AUTOFREE char *act = dbg_asprintf("vm.%s.intent", ops[i]);
                assert_string_equal(REC(&u, actions, 2), act);
                assert_string_equal(REC(&u, outcomes, 2), "denied");
                assert_string_equal(REC(&u, tenants, 2), v == 1 ? "" : "tenant-b");
                assert_string_equal(REC(&u, targets, 2), v == 1 ? "test" : "gw-b1");
            }
        }
    }
    char *resp = call(u.gw, &u.alice, "{\"v\":1,\"op\":\"reboot\",\"vm\":\"gw-b1\"}");
    free(resp);
    assert_string_equal(REC(&u, rules, 1), "role:tenant-admin:tenants");
    assert_non_null(strstr(REC(&u, details, 1), "may not act on a VM of tenant tenant-b"));
    /* tenant-a's own VM and the provider are answered as before */
    resp = call(u.gw, &u.bob, "{\"v\":1,\"op\":\"delete\",\"vm\":\"gw-a7\"}");
    assert_non_null(strstr(resp, "role:tenant-user:operations"));
    free(resp);
    resp = call(u.gw, &u.root, "{\"v\":1,\"op\":\"suspend\",\"vm\":\"gw-b1\"}");
    assert_non_null(strstr(resp, "\"status\":\"failed\"")); /* not running: libvirt says so */
    free(resp);
    unseen_close(&u);
}

/* A ticket for gw-b1 (the provider's destroy, which tenant-b's admin is to approve) is, to
 * tenant-a, no ticket: its approval was answered "uid:4242(alice) may not approve ticket T
 * (needs tenant-admin of tenant tenant-b, ...)", telling whose VM it is about, where a ticket
 * that does not exist is "no ticket T". The attempt is recorded under gw-b1 and tenant-b. */
static void test_gateway_unseen_ticket(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    char ticket[2][DBG_GW_TICKET_LEN + 1];
    const char *vms[] = {"gw-b1", "gw-a7"};
    for (size_t i = 0; i < 2; i++) {
        DBG_AUTOFREE char *line = dbg_asprintf("{\"v\":1,\"op\":\"destroy\",\"vm\":\"%s\"}",
                                               vms[i]);
        char *resp = call(u.gw, &u.root, line);
        const char *tk = strstr(resp, "\"ticket\":\"");
        assert_non_null(tk);
        snprintf(ticket[i], sizeof(ticket[i]), "%.*s", DBG_GW_TICKET_LEN, tk + 10);
        free(resp);
    }
    const dbg_gw_identity *callers[] = {&u.alice, &u.bob, &u.mallory};
    for (size_t w = 0; w < 3; w++) {
        DBG_AUTOFREE char *ap = dbg_asprintf("{\"v\":1,\"op\":\"approve\",\"ticket\":\"%s\"}",
                                             ticket[0]);
        char *seen = call(u.gw, callers[w], ap);
        assert_string_equal(REC(&u, actions, 1), "vm.approve");
        assert_string_equal(REC(&u, outcomes, 1), "denied");
        assert_string_equal(REC(&u, tenants, 1), "tenant-b");
        assert_string_equal(REC(&u, targets, 1), "gw-b1");
        char *nothing = call(u.gw, callers[w], "{\"v\":1,\"op\":\"approve\",\"ticket\":"
                                               "\"0123456789abcdef01234567\"}");
        DBG_AUTOFREE char *want = dbg_asprintf("{\"ok\":false,\"status\":\"denied\",\"error\":"
                                               "\"no ticket %s\",\"rule\":\"ticket\"}", ticket[0]);
        assert_string_equal(seen, want);
        assert_string_equal(nothing, "{\"ok\":false,\"status\":\"denied\",\"error\":\"no ticket "
                                     "0123456789abcdef01234567\",\"rule\":\"ticket\"}");
        free(seen);
        free(nothing);
    }
    /* tenant-a's user may see gw-a7: it is told who is to approve its ticket, as before */
    DBG_AUTOFREE char *ap = dbg_asprintf("{\"v\":1,\"op\":\"approve\",\"ticket\":\"%s\"}",
                                         ticket[1]);
    char *resp = call(u.gw, &u.bob, ap);
    assert_non_null(strstr(resp, "needs tenant-admin of tenant tenant-a"));
    free(resp);
    unseen_close(&u);
}

/* A create taking gw-b1's disk was told "disk vda (PATH) is a disk of VM 'gw-b1'", and a delete
 * with storage of a VM sharing gw-b1's volume "also a disk of VM 'gw-b1': left in place",
 * whoever asked. Tenant-a (the requester, or the approver who reads the answer) is now told
 * the disk is another VM's, not whose; the provider, and tenant-a about its own gw-a7, are
 * told which; the records of gw-b1's tenant name it (tenant-a's records, which tenant-a
 * exports, named it too: now they do not). The create is a refusal, as one naming a taken VM name is:
 * it was answered "error" (exit 3 in `dengbao vm`, as for a libvirt failure). */
static void test_gateway_unseen_disks(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    const char *creators[] = {"tenant-a", NULL, "tenant-a"};
    const char *disks[] = {u.vpath, u.vpath, "/var/lib/dbg-test/gw-a7.img"};
    const dbg_gw_identity *who[] = {&u.alice, &u.root, &u.alice};
    const char *owner[] = {"gw-b1", "gw-b1", "gw-a7"};
    for (size_t i = 0; i < 3; i++) {
        DBG_AUTOFREE char *meta = creators[i]
            ? dbg_asprintf("<metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1'"
                           " id='%s'/></metadata>", creators[i])
            : dbg_strdup("");
        DBG_AUTOFREE char *x = dbg_asprintf(
            "<domain type='test'><name>gw-new</name><memory>65536</memory>%s<os><type>hvm</type>"
            "</os><devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/>"
            "</disk></devices></domain>", meta, disks[i]);
        dbg_gw_request cr;
        memset(&cr, 0, sizeof(cr));
        cr.op = DBG_OP_CREATE;
        cr.xml = x;
        char *line = dbg_gw_request_to_json(&cr);
        char *resp = call(u.gw, who[i], line);
        free(line);
        DBG_AUTOFREE char *named = dbg_asprintf("is a disk of VM '%s'", owner[i]);
        if (i == 0) {
            assert_null(strstr(resp, "gw-b1"));
            DBG_AUTOFREE char *want = dbg_asprintf(
                "{\"ok\":false,\"status\":\"refused\",\"error\":\"disk vda (%s) is a disk of a VM "
                "you may not see: a new VM may not take another VM's disk\"}", u.vpath);
            assert_string_equal(resp, want);
        } else {
            assert_non_null(strstr(resp, named));
            assert_non_null(strstr(resp, "\"status\":\"refused\""));
        }
        free(resp);
        assert_string_equal(REC(&u, actions, 1), "vm.create.intent");
        assert_string_equal(REC(&u, outcomes, 1), "invalid");
        assert_non_null(strstr(REC(&u, details, 1), named)); /* the record says whose */
        /* and is the disk owner's tenant's, who is to see that its VM's disk was reached for
         * (it had no tenant: the provider's records only) */
        assert_string_equal(REC(&u, targets, 1), owner[i]);
        assert_string_equal(REC(&u, tenants, 1), i < 2 ? "tenant-b" : "tenant-a");
    }
    assert_int_equal(domain_active("gw-new"), -1);

    /* delete with storage: by tenant-a's admin, by the provider (its own VM), and by the
     * provider on tenant-a's VM, approved by tenant-a's admin, who reads the answer */
    const char *owners[] = {"tenant-a", NULL, "tenant-a"};
    const dbg_gw_identity *dw[] = {&u.alice, &u.root, &u.root};
    const char *del = "{\"v\":1,\"op\":\"delete\",\"vm\":\"gw-del\",\"remove_storage\":true}";
    for (size_t i = 0; i < 3; i++) {
        define_vm("gw-del", owners[i], u.vpath);
        char *resp = call(u.gw, dw[i], del);
        if (i == 2) {
            const char *tk = strstr(resp, "\"ticket\":\"");
            assert_non_null(tk);
            DBG_AUTOFREE char *ap = dbg_asprintf("{\"v\":1,\"op\":\"approve\",\"ticket\":"
                                                 "\"%.*s\"}", DBG_GW_TICKET_LEN, tk + 10);
            free(resp);
            resp = call(u.gw, &u.alice, ap);
        }
        assert_non_null(strstr(resp, "\"status\":\"done\""));
        assert_non_null(strstr(resp, "\"volume\":\"in_use\""));
        if (i != 1) {
            assert_null(strstr(resp, "gw-b1"));
            assert_non_null(strstr(resp, "also a disk of a VM you may not see: left in place"));
        } else {
            assert_non_null(strstr(resp, "also a disk of VM 'gw-b1': left in place"));
        }
        free(resp);
        assert_string_equal(REC(&u, actions, 1), "vm.delete.outcome");
        if (i != 1) {
            /* tenant-a's record (in its audit export) named gw-b1: it now says whose only under
             * gw-b1 and tenant-b, who sees its disk was reached for */
            assert_string_equal(REC(&u, tenants, 1), "tenant-a");
            assert_null(strstr(REC(&u, details, 1), "gw-b1"));
            assert_non_null(strstr(REC(&u, details, 1), "another tenant's VM: left in place"));
            assert_string_equal(REC(&u, actions, 2), "vm.delete.outcome");
            assert_string_equal(REC(&u, tenants, 2), "tenant-b");
            assert_string_equal(REC(&u, targets, 2), "gw-b1");
            assert_non_null(strstr(REC(&u, details, 2), "also a disk of VM 'gw-b1'"));
        } else {
            assert_string_equal(REC(&u, tenants, 1), ""); /* the provider's, who may see it */
            assert_non_null(strstr(REC(&u, details, 1), "also a disk of VM 'gw-b1'"));
        }
        assert_int_equal(domain_active("gw-del"), -1);
    }
    unseen_close(&u);
}

/* A create request line for a VM named name, of tenant (NULL: the provider's), with one disk. */
static char *create_line(const char *name, const char *tenant, const char *disk)
{
    DBG_AUTOFREE char *meta = tenant ? dbg_asprintf("<metadata><dengbao:tenant xmlns:dengbao="
                                                    "'https://dengbao.dev/xmlns/1' id='%s'/>"
                                                    "</metadata>", tenant)
                                     : dbg_strdup("");
    DBG_AUTOFREE char *x = dbg_asprintf(
        "<domain type='test'><name>%s</name><memory>65536</memory>%s<os><type>hvm</type></os>"
        "<devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/></disk>"
        "</devices></domain>", name, meta, disk);
    dbg_gw_request cr;
    memset(&cr, 0, sizeof(cr));
    cr.op = DBG_OP_CREATE;
    cr.xml = x;
    return dbg_gw_request_to_json(&cr);
}

/* A create the policy denies anyway (tenant-a's user has no create; tenant-a's admin creating
 * a VM of tenant-b; an identity not in the policy) was first checked against the existing VMs
 * and their disks: naming the provider's "test" it was answered "the name ... is already
 * taken", naming gw-b1's disk "is a disk of VM 'gw-b1'", so anyone could probe for names and
 * disks in use. It is now answered with the policy's denial, as the same create of a free name
 * and disk is; the record is about the VM it named, with the rule. */
static void test_gateway_unseen_create(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    const dbg_gw_identity *callers[] = {&u.bob, &u.alice, &u.mallory};
    const char *claims[] = {"tenant-a", "tenant-b", "tenant-a"};
    for (size_t w = 0; w < 3; w++) {
        DBG_AUTOFREE char *free_line = create_line("gw-fresh", claims[w], "/var/lib/dbg-test/f.img");
        char *free_answer = call(u.gw, callers[w], free_line);
        assert_non_null(strstr(free_answer, "\"status\":\"denied\""));
        char *taken[3];
        DBG_AUTOFREE char *l0 = create_line("gw-fresh", claims[w], u.vpath); /* gw-b1's disk */
        DBG_AUTOFREE char *l1 = create_line("test", claims[w], "/var/lib/dbg-test/f.img");
        DBG_AUTOFREE char *l2 = create_line("gw-b1", claims[w], "/var/lib/dbg-test/f.img");
        taken[0] = call(u.gw, callers[w], l0);
        taken[1] = call(u.gw, callers[w], l1);
        assert_string_equal(REC(&u, targets, 1), "test");
        assert_string_equal(REC(&u, outcomes, 1), "denied");
        assert_non_null(strstr(REC(&u, details, 1), "already exists"));
        taken[2] = call(u.gw, callers[w], l2);
        assert_string_equal(REC(&u, targets, 1), "gw-b1");
        assert_string_equal(REC(&u, tenants, 1), "tenant-b");
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(taken[i], free_answer) != 0)
                fail_msg("%s create %zu: '%s', but for a free name and disk: '%s'",
                         callers[w]->user, i, taken[i], free_answer);
            free(taken[i]);
        }
        free(free_answer);
    }
    /* tenant-a's admin, who may create VMs of tenant-a, is still told the name is taken */
    DBG_AUTOFREE char *mine = create_line("test", "tenant-a", "/var/lib/dbg-test/f.img");
    char *resp = call(u.gw, &u.alice, mine);
    assert_non_null(strstr(resp, "the name or uuid in the XML is already taken"));
    free(resp);
    unseen_close(&u);
}

/* The uuid of the test driver's VM name ("" when there is none). */
static void uuid_of(const char *name, char uuid[VIR_UUID_STRING_BUFLEN])
{
    virConnectPtr c = virConnectOpen("test:///default");
    virDomainPtr d = virDomainLookupByName(c, name);
    uuid[0] = 0;
    if (d) {
        virDomainGetUUIDString(d, uuid);
        virDomainFree(d);
    }
    virConnectClose(c);
}

static void undefine_vm(const char *name)
{
    virConnectPtr c = virConnectOpen("test:///default");
    virDomainPtr d = virDomainLookupByName(c, name);
    assert_non_null(d);
    assert_int_equal(virDomainUndefine(d), 0);
    virDomainFree(d);
    virConnectClose(c);
}

/* libvirt's own error text is passed on when an operation fails, and a define colliding with a
 * VM another request defined after the gateway's check says "domain 'gw-race' already exists
 * with uuid U" (U: tenant-b's VM's) or "domain 'gw-b-secret' is already defined with uuid U":
 * tenant-a was told tenant-b's VM's uuid or name, and so was anyone reading tenant-a's records
 * (the outcome record kept the text), also when the provider ran the create. The requester who
 * may not see that VM is answered as when it was there before the create (the name or uuid is
 * taken), tenant-a's records keep a neutral text, and the full text is recorded under tenant-b's
 * VM. The provider, who may see it, is told libvirt's text. */
static void test_gateway_unseen_libvirt_text(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    const char *meta_b = "<metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' "
                         "id='tenant-b'/></metadata>";
    const char *race_uuid = "0b0b0b0b-0000-4000-8000-00000000ace1";
    /* by name: tenant-b's gw-race (its own uuid); by uuid: tenant-b's gw-b-secret */
    DBG_AUTOFREE char *b_by_name = dbg_asprintf(
        "<domain type='test'><name>gw-race</name><memory>65536</memory>%s<os><type>hvm</type>"
        "</os></domain>", meta_b);
    DBG_AUTOFREE char *b_by_uuid = dbg_asprintf(
        "<domain type='test'><name>gw-b-secret</name><uuid>%s</uuid><memory>65536</memory>%s"
        "<os><type>hvm</type></os></domain>", race_uuid, meta_b);
    DBG_AUTOFREE char *a_by_uuid = dbg_asprintf(
        "<domain type='test'><name>gw-race2</name><uuid>%s</uuid><memory>65536</memory>"
        "<metadata><dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' id='tenant-a'/>"
        "</metadata><os><type>hvm</type></os></domain>", race_uuid);
    dbg_gw_request cr;
    memset(&cr, 0, sizeof(cr));
    cr.op = DBG_OP_CREATE;
    cr.xml = a_by_uuid;
    DBG_AUTOFREE char *line_uuid = dbg_gw_request_to_json(&cr);
    DBG_AUTOFREE char *line_name = create_line("gw-race", "tenant-a", "/var/lib/dbg-test/r.img");
    const struct {
        const dbg_gw_identity *who;
        const char *line, *racer, *b_name;
    } cases[] = {
        {&u.alice, line_name, b_by_name, "gw-race"},
        {&u.alice, line_uuid, b_by_uuid, "gw-b-secret"},
        {&u.root, line_name, b_by_name, "gw-race"}, /* a create of tenant-a's VM by the provider */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int before = u.rec.n;
        u.rec.race_xml = cases[i].racer;
        char *resp = call(u.gw, cases[i].who, cases[i].line);
        assert_null(u.rec.race_xml); /* the racing define ran */
        char b_uuid[VIR_UUID_STRING_BUFLEN];
        uuid_of(cases[i].b_name, b_uuid);
        assert_true(b_uuid[0] != 0);
        int provider = cases[i].who == &u.root;
        /* (by uuid, the uuid is the one the requester's own XML gave) */
        int b_uuid_news = strcmp(b_uuid, race_uuid) != 0;
        if (!provider) {
            if ((b_uuid_news && strstr(resp, b_uuid)) || strstr(resp, "gw-b-secret"))
                fail_msg("case %zu: tenant-a told of tenant-b's VM: %s", i, resp);
            assert_non_null(strstr(resp, "\"status\":\"refused\""));
            assert_non_null(strstr(resp, "\"error\":\"the name or uuid in the XML is already "
                                         "taken: create defines a new VM and does not replace "
                                         "one\""));
        } else {
            assert_non_null(strstr(resp, "already exists with uuid")); /* libvirt's text */
            assert_non_null(strstr(resp, b_uuid));
            assert_non_null(strstr(resp, "\"status\":\"failed\""));
        }
        free(resp);
        /* intent (tenant-a's), the full text under tenant-b's VM, the outcome (tenant-a's) */
        assert_int_equal(u.rec.n - before, 3);
        assert_string_equal(REC(&u, actions, 3), "vm.create.intent");
        assert_string_equal(REC(&u, tenants, 3), "tenant-a");
        assert_string_equal(REC(&u, actions, 2), "vm.create.outcome");
        assert_string_equal(REC(&u, tenants, 2), "tenant-b");
        assert_string_equal(REC(&u, targets, 2), cases[i].b_name);
        assert_non_null(strstr(REC(&u, details, 2), b_uuid));
        assert_string_equal(REC(&u, actions, 1), "vm.create.outcome");
        assert_string_equal(REC(&u, outcomes, 1), "failure");
        assert_string_equal(REC(&u, tenants, 1), "tenant-a");
        if ((b_uuid_news && strstr(REC(&u, details, 1), b_uuid)) ||
            strstr(REC(&u, details, 1), "gw-b-secret"))
            fail_msg("case %zu: tenant-a's record names tenant-b's VM: %s", i,
                     REC(&u, details, 1));
        assert_non_null(strstr(REC(&u, details, 1), "libvirt's message names another VM"));
        undefine_vm(cases[i].b_name);
    }
    assert_int_equal(domain_active("gw-race"), -1);
    assert_int_equal(domain_active("gw-race2"), -1);
    unseen_close(&u);
}

/* libvirt's failure for the operation run, in place of libvirt's call (gw_set_libvirt_call) */
static const char *fail_as_libvirt(void *ctx, const dbg_gw_request *req)
{
    (void)req;
    return ctx;
}

/* One operation on tenant-a's gw-a7 that libvirt fails with a message of its own. */
typedef struct {
    const dbg_gw_identity *who;
    const char *libvirt;  /* libvirt's message (virGetLastErrorMessage), as libvirt 9.0 says it */
    int answer_hidden;    /* who reads the neutral text, not libvirt's */
    int record_hidden;    /* tenant-a's outcome record holds the neutral text */
    const char *named_vm; /* the VM whose record gets the full text (NULL: no such record) */
    const char *named_tenant;
} named_case;

/* Runs c through gw and checks the answer and the records: the intent, the full text under
 * the VM it names when hidden, and the outcome under tenant-a. */
static void check_named_case(unseen *u, dbg_gateway *gw, const char *op, const char *line,
                             const named_case *c, size_t i)
{
    gw_set_libvirt_call(gw, fail_as_libvirt, (void *)c->libvirt);
    int before = u->rec.n;
    char *resp = call(gw, c->who, line);
    DBG_AUTOFREE char *neutral = dbg_asprintf("\"error\":\"%s gw-a7 failed; libvirt's message "
                                              "names another VM and is kept in the audit "
                                              "record\"",
                                              op);
    if (!strstr(resp, "\"status\":\"failed\"") ||
        (c->answer_hidden ? !strstr(resp, neutral) || strstr(resp, c->libvirt) != NULL
                          : !strstr(resp, c->libvirt)))
        fail_msg("%s case %zu (%s): answered %s", op, i, c->libvirt, resp);
    free(resp);
    DBG_AUTOFREE char *intent = dbg_asprintf("vm.%s.intent", op);
    DBG_AUTOFREE char *outcome = dbg_asprintf("vm.%s.outcome", op);
    int n = u->rec.n - before;
    if (n != (c->named_vm ? 3 : 2))
        fail_msg("%s case %zu (%s): %d records", op, i, c->libvirt, n);
    assert_string_equal(REC(u, actions, n), intent);
    assert_string_equal(REC(u, tenants, n), "tenant-a");
    if (c->named_vm) {
        assert_string_equal(REC(u, actions, 2), outcome);
        assert_string_equal(REC(u, outcomes, 2), "failure");
        if (strcmp(REC(u, targets, 2), c->named_vm) != 0 ||
            strcmp(REC(u, tenants, 2), c->named_tenant) != 0 ||
            !strstr(REC(u, details, 2), c->libvirt))
            fail_msg("%s case %zu (%s): the full text was recorded under %s of '%s': %s", op, i,
                     c->libvirt, REC(u, targets, 2), REC(u, tenants, 2), REC(u, details, 2));
    }
    assert_string_equal(REC(u, actions, 1), outcome);
    assert_string_equal(REC(u, outcomes, 1), "failure");
    assert_string_equal(REC(u, tenants, 1), "tenant-a");
    assert_string_equal(REC(u, targets, 1), "gw-a7");
    const char *d = REC(u, details, 1);
    if (c->record_hidden
            ? !strstr(d, "libvirt's message names another VM") || strstr(d, c->libvirt) != NULL
            : !strstr(d, c->libvirt))
        fail_msg("%s case %zu (%s): tenant-a's record: %s", op, i, c->libvirt, d);
}

/* libvirt 9.0's messages naming another VM where the test driver cannot produce them, through
 * the handling test_gateway_unseen_libvirt_text follows for a define's: a host device in use
 * ("PCI|USB device %s is in use by driver %s, domain %s", "mediated device %s is in use by
 * driver %s, domain %s": virhostdev.c, virmdev.c; "NVMe device %s already in use by driver %s
 * domain %s": virhostdev.c) when a VM starts, and a migration's destination refusing the VM
 * (virdomainobjlist.c: "domain '%s' already exists with uuid %s", "domain '%s' is already
 * defined with uuid %s", "domain '%s' is already active", "domain '%s' is already being
 * removed"). The VM named may be here (hidden or seen), or on the destination or in another
 * driver, which only an identity that sees every tenant may hear of: the name of a VM that is
 * not here was passed on to tenant-a, and an mdev's uuid (a device of tenant-a's own VM) read
 * as another VM's. */
static void test_gateway_libvirt_names_vm(void **state)
{
    (void)state;
    static unseen u;
    unseen_open(&u);
    define_vm("gw-b1.bak", "tenant-a", "/var/lib/dbg-test/gw-b1.bak.img");
    char a7[VIR_UUID_STRING_BUFLEN], b1_upper[VIR_UUID_STRING_BUFLEN];
    uuid_of("gw-a7", a7);
    for (size_t i = 0; i < sizeof(b1_upper); i++)
        b1_upper[i] = (char)toupper((unsigned char)u.b1uuid[i]);
    const char *mdev = "/sys/bus/mdev/devices/53764d0e-85a0-42b4-af5c-2046b460b1dc";
    const char *pci = "Requested operation is not valid: PCI device 0000:01:00.0 is in use by "
                      "driver QEMU, domain ";
    DBG_AUTOFREE char *s1 = dbg_asprintf("%sgw-b1", pci);
    DBG_AUTOFREE char *s2 = dbg_strdup("Requested operation is not valid: USB device 001:004 is "
                                       "in use by driver QEMU, domain gw-b1");
    DBG_AUTOFREE char *s3 = dbg_strdup("Requested operation is not valid: NVMe device "
                                       "0000:02:00.0 already in use by driver QEMU domain "
                                       "gw-b1.bak");
    DBG_AUTOFREE char *s4 = dbg_asprintf("Requested operation is not valid: mediated device %s "
                                         "is in use by driver QEMU, domain gw-b1.bak",
                                         mdev);
    DBG_AUTOFREE char *s5 = dbg_asprintf("%sgw-lxc-9", pci); /* another driver's */
    DBG_AUTOFREE char *s6 = dbg_asprintf("Requested operation is not valid: mediated device %s "
                                         "is in use by driver QEMU, domain gw-b1",
                                         mdev);
    DBG_AUTOFREE char *s7 = dbg_asprintf("%stest", pci);  /* the provider's */
    DBG_AUTOFREE char *s8 = dbg_asprintf("%sgw-a7", pci); /* itself (a second device) */
    const named_case starts[] = {
        {&u.alice, s1, 1, 1, "gw-b1", "tenant-b"}, /* tenant-b's VM has the PCI device */
        {&u.root, s2, 0, 1, "gw-b1", "tenant-b"},  /* the provider may hear of it */
        {&u.alice, s3, 0, 0, NULL, NULL},          /* tenant-a's own (gw-b1 inside its name) */
        {&u.alice, s4, 0, 0, NULL, NULL},          /* the same with an mdev's uuid */
        {&u.alice, s5, 1, 1, "gw-a7", ""},         /* no VM here: the provider's records */
        {&u.root, s5, 0, 1, "gw-a7", ""},          /* ... which the provider may hear of */
        {&u.alice, s6, 1, 1, "gw-b1", "tenant-b"}, /* an mdev of gw-b1's */
        {&u.alice, s7, 1, 1, "test", ""},          /* the provider's VM */
        {&u.alice, s8, 0, 0, NULL, NULL},
    };
    const char *start = "{\"v\":1,\"op\":\"start\",\"vm\":\"gw-a7\"}";
    for (size_t i = 0; i < sizeof(starts) / sizeof(*starts); i++)
        check_named_case(&u, u.gw, "start", start, &starts[i], i);

    /* a migration, by the provider (who may hear of any VM) or tenant-a's admin */
    char *warn = NULL;
    dbg_gw_policy *p =
        load_policy_text("version: 1\nidentities:\n  - unix: root\n    role: provider-admin\n"
                         "  - unix: alice\n    role: tenant-admin\n    tenant: tenant-a\n"
                         "roles:\n  provider-admin: {operations: all, tenants: any}\n"
                         "  tenant-admin: {operations: [list, migrate], tenants: own}\n"
                         "migration:\n  destinations: [qemu+tls://h2/system]\n",
                         &warn);
    free(warn);
    assert_non_null(p);
    dbg_gw_opts o = {.uri = "test:///default", .policy = p, .audit = record, .audit_ctx = &u.rec};
    dbg_gateway *gw = dbg_gateway_new(&o);
    assert_non_null(gw);
    const char *elsewhere = "0d15ea5e-0000-4000-8000-00000000beef"; /* no VM here */
    DBG_AUTOFREE char *m1 = dbg_asprintf("operation failed: domain 'gw-a7' already exists with "
                                         "uuid %s",
                                         elsewhere);
    DBG_AUTOFREE char *m2 = dbg_asprintf("operation failed: domain 'gw-dest-x' is already "
                                         "defined with uuid %s",
                                         a7);
    DBG_AUTOFREE char *m3 = dbg_strdup("Requested operation is not valid: domain 'gw-a7' is "
                                       "already active");
    DBG_AUTOFREE char *m4 = dbg_asprintf("operation failed: domain 'gw-a7' already exists with "
                                         "uuid %s",
                                         b1_upper);
    DBG_AUTOFREE char *m5 = dbg_asprintf("operation failed: domain 'gw-b1.bak' is already "
                                         "defined with uuid %s",
                                         u.b1uuid);
    DBG_AUTOFREE char *m6 = dbg_strdup("operation failed: domain 'gw-b1' is already being "
                                       "removed");
    DBG_AUTOFREE char *m7 = dbg_asprintf("%sgw-dest-3", pci); /* the destination's device */
    DBG_AUTOFREE char *m8 = dbg_strdup("Requested operation is not valid: domain 'gw-b1.bak' is "
                                       "already active");
    /* a destination's VM whose name holds a quote (libvirt takes any name), and a message
     * naming more domains than are looked at */
    DBG_AUTOFREE char *m9 = dbg_asprintf("operation failed: domain 'gw-a7's twin' is already "
                                         "defined with uuid %s",
                                         a7);
    DBG_AUTOFREE char *m10 = dbg_strdup("Requested operation is not valid: domain 'gw-a7' "
                                        "domain 'gw-a7' domain 'gw-a7' domain 'gw-a7' domain "
                                        "'gw-a7' domain 'gw-a7' domain 'gw-a7' domain 'gw-a7' "
                                        "domain 'gw-dest-z' is already active");
    const named_case migrations[] = {
        {&u.alice, m1, 1, 1, "gw-a7", ""}, /* the destination's VM of that name, by uuid */
        {&u.root, m1, 0, 1, "gw-a7", ""},
        {&u.alice, m2, 1, 1, "gw-a7", ""}, /* the destination's VM of that uuid, by name */
        {&u.root, m2, 0, 1, "gw-a7", ""},
        {&u.alice, m3, 0, 0, NULL, NULL},          /* names only gw-a7 */
        {&u.alice, m4, 1, 1, "gw-b1", "tenant-b"}, /* gw-b1's uuid in upper case */
        {&u.alice, m5, 1, 1, "gw-b1", "tenant-b"}, /* tenant-a's gw-b1.bak and gw-b1's uuid */
        {&u.alice, m6, 1, 1, "gw-b1", "tenant-b"}, /* quoted */
        {&u.alice, m7, 1, 1, "gw-a7", ""},         /* a VM of the destination has the device */
        {&u.alice, m8, 0, 0, NULL, NULL},
        {&u.alice, m9, 1, 1, "gw-a7", ""},
        {&u.alice, m10, 1, 1, "gw-a7", ""},
    };
    const char *migrate = "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-a7\",\"dest\":"
                          "\"qemu+tls://h2/system\"}";
    for (size_t i = 0; i < sizeof(migrations) / sizeof(*migrations); i++)
        check_named_case(&u, gw, "migrate", migrate, &migrations[i], i);
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);
    undefine_vm("gw-b1.bak");
    assert_int_equal(domain_active("gw-a7"), 0); /* libvirt was never called */
    unseen_close(&u);
}

/* A reviewed create whose name or disk another tenant's VM took between the filing and the
 * approval is refused when approved. The refusal was never recorded (the ticket's tenant saw it
 * filed and approved, and nothing after), and a disk's was answered "failed" (exit 3). Now the
 * ticket's VM gets an outcome record 'refused' that does not name the other tenant's VM, which
 * gets the invalid intent record a create reaching for it gets when it is not reviewed; the
 * approver reads a refusal that does not name it either. */
static void test_gateway_approved_create_refused(void **state)
{
    (void)state;
    char *warn = NULL;
    dbg_gw_policy *p = load_policy_text(
        "version: 1\nidentities:\n  - unix: root\n    role: provider-admin\n"
        "  - unix: alice\n    role: tenant-admin\n    tenant: tenant-a\n"
        "roles:\n  provider-admin: {operations: all, tenants: any}\n"
        "  tenant-admin: {operations: [list, create, approve], tenants: own}\n"
        "filters:\n  - id: review-creates\n    operations: [create]\n    action: review\n",
        &warn);
    free(warn);
    assert_non_null(p);
    recorder rec;
    memset(&rec, 0, sizeof(rec));
    dbg_gw_opts o = {.uri = "test:///default", .policy = p, .audit = record, .audit_ctx = &rec};
    dbg_gateway *gw = dbg_gateway_new(&o);
    assert_non_null(gw);
    dbg_gw_identity root, alice;
    unix_id(&root, "root");
    unix_id(&alice, "alice");
    static const struct {
        const char *name, *b_name, *disk, *b_disk, *answer;
    } cases[] = {
        {"gw-ap1", "gw-apb", "/var/lib/dbg-test/ap.img", "/var/lib/dbg-test/ap.img",
         "disk vda (/var/lib/dbg-test/ap.img) is a disk of a VM you may not see"},
        {"gw-ap2", "gw-ap2", "/var/lib/dbg-test/ap2.img", "/var/lib/dbg-test/apb2.img",
         "the name or uuid in the XML is already taken"},
    };
    for (size_t i = 0; i < 2; i++) {
        DBG_AUTOFREE char *line = create_line(cases[i].name, "tenant-a", cases[i].disk);
        char *resp = call(gw, &root, line);
        const char *tk = strstr(resp, "\"ticket\":\"");
        assert_non_null(tk);
        DBG_AUTOFREE char *ap = dbg_asprintf("{\"v\":1,\"op\":\"approve\",\"ticket\":\"%.*s\"}",
                                             DBG_GW_TICKET_LEN, tk + 10);
        free(resp);
        define_vm(cases[i].b_name, "tenant-b", cases[i].b_disk); /* meanwhile */
        int before = rec.n;
        resp = call(gw, &alice, ap);
        if (!strstr(resp, "\"status\":\"refused\"") || !strstr(resp, cases[i].answer) ||
            strstr(resp, "gw-apb"))
            fail_msg("case %zu: %s", i, resp);
        free(resp);
        assert_int_equal(rec.n - before, 3);
        assert_string_equal(rec.actions[before % 64], "vm.approve");
        assert_string_equal(rec.actions[(before + 1) % 64], "vm.create.outcome");
        assert_string_equal(rec.outcomes[(before + 1) % 64], "refused");
        assert_string_equal(rec.tenants[(before + 1) % 64], "tenant-a");
        assert_string_equal(rec.targets[(before + 1) % 64], cases[i].name);
        if (strstr(rec.details[(before + 1) % 64], "gw-apb") ||
            strstr(rec.details[(before + 1) % 64], "(uuid "))
            fail_msg("case %zu: tenant-a's record names tenant-b's VM: %s", i,
                     rec.details[(before + 1) % 64]);
        assert_string_equal(rec.actions[(before + 2) % 64], "vm.create.intent");
        assert_string_equal(rec.outcomes[(before + 2) % 64], "invalid");
        assert_string_equal(rec.tenants[(before + 2) % 64], "tenant-b");
        assert_string_equal(rec.targets[(before + 2) % 64], cases[i].b_name);
        undefine_vm(cases[i].b_name);
        assert_int_equal(domain_active(cases[i].name), -1); /* the create did not run */
    }
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);
}

static void test_domxml(void **state)
{
    (void)state;
    char t[64];
    assert_int_equal(dbg_gw_domain_tenant("<domain><metadata><x:tenant xmlns:x='"
                                          DBG_XMLNS_DENGBAO "' id='t9'/></metadata></domain>", t), 0);
    assert_string_equal(t, "t9");
    /* wrapped, as libvirt keeps several facts of one namespace (the demo cloud's a-db-01) */
    assert_int_equal(dbg_gw_domain_tenant("<domain><metadata><d:instance xmlns:d='" DBG_XMLNS_DENGBAO
                                          "'><d:tenant id='t8'/><d:data classification='secret'/>"
                                          "</d:instance></metadata></domain>", t), 0);
    assert_string_equal(t, "t8");
    /* other namespaces, or none (libvirt drops such metadata when it stores the XML), do not
     * name a tenant */
    assert_int_equal(dbg_gw_domain_tenant("<domain><metadata><x:tenant xmlns:x='u' id='t9'/>"
                                          "</metadata></domain>", t), 0);
    assert_string_equal(t, "");
    assert_int_equal(dbg_gw_domain_tenant("<domain><metadata><tenant id='t9'/></metadata></domain>",
                                          t), 0);
    assert_string_equal(t, "");
    assert_int_equal(dbg_gw_domain_tenant(
                         "<domain><metadata><nova:instance xmlns:nova='http://openstack.org/xmlns/"
                         "libvirt/nova/1.1'><nova:owner><nova:project uuid='p1'>demo</nova:project>"
                         "</nova:owner></nova:instance></metadata></domain>", t), 0);
    assert_string_equal(t, "p1");
    assert_int_equal(dbg_gw_domain_tenant("<domain/>", t), 0);
    assert_string_equal(t, "");
    /* dengbao's element, when there is one, decides alone, as for the collector (whose tenant
     * the sensor and serve attribute the VM's alerts to): one without an id is no tenant the
     * gateway can act for, never nova's project beside it. It read as that project, so tenant
     * p1 created a VM the sensor attributed to tenant 'B' by name. */
    const char *both[] = {
        "<domain><name>v</name><uuid>11111111-1111-4111-8111-111111111111</uuid><metadata><d:tenant xmlns:d='" DBG_XMLNS_DENGBAO "' name='B'/><nova:instance "
        "xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:owner><nova:project "
        "uuid='p1'>demo</nova:project></nova:owner></nova:instance></metadata></domain>",
        "<domain><name>v</name><uuid>11111111-1111-4111-8111-111111111111</uuid><metadata><d:tenant xmlns:d='" DBG_XMLNS_DENGBAO "' id=''/><nova:instance "
        "xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'><nova:owner><nova:project "
        "uuid='p1'/></nova:owner></nova:instance></metadata></domain>",
        "<domain><name>v</name><uuid>11111111-1111-4111-8111-111111111111</uuid><metadata><d:tenant xmlns:d='" DBG_XMLNS_DENGBAO "'/><d:tenant xmlns:d='"
        DBG_XMLNS_DENGBAO "' id='t2'/></metadata></domain>"};
    for (size_t i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
        assert_int_equal(dbg_gw_domain_tenant(both[i], t), 0);
        dbg_domain dom = {0};
        assert_int_equal(dbg_platform_parse_domain_xml(both[i], strlen(both[i]), &dom), 0);
        assert_true(!dom.tenant_id || !dom.tenant_id[0]);
        if (t[0])
            fail_msg("case %zu: the gateway reads tenant '%s', the collector none", i, t);
        dbg_platform_domain_clear(&dom);
    }
    /* A tenant id over 63 bytes is no tenant, never its first 63 bytes (another tenant's id) */
    char id63[64], xml_long[300];
    memset(id63, 'x', 63);
    id63[63] = 0;
    snprintf(xml_long, sizeof(xml_long), "<domain><metadata><x:tenant xmlns:x='" DBG_XMLNS_DENGBAO
             "' id='%s'/></metadata></domain>", id63);
    assert_int_equal(dbg_gw_domain_tenant(xml_long, t), 0);
    assert_string_equal(t, id63);
    snprintf(xml_long, sizeof(xml_long), "<domain><metadata><x:tenant xmlns:x='" DBG_XMLNS_DENGBAO
             "' id='%sz'/></metadata></domain>", id63);
    assert_int_equal(dbg_gw_domain_tenant(xml_long, t), -1);
    assert_string_equal(t, "");
    assert_non_null(strstr(dbg_err_msg(), "is 64 bytes; a tenant id is at most 63"));
    snprintf(xml_long, sizeof(xml_long), "<domain><metadata><n:instance xmlns:n='http://openstack"
             ".org/xmlns/libvirt/nova/1.1'><n:owner><n:project uuid='%sz'/></n:owner></n:instance>"
             "</metadata></domain>", id63);
    assert_int_equal(dbg_gw_domain_tenant(xml_long, t), -1);
    assert_string_equal(t, "");
    assert_int_equal(dbg_gw_domain_tenant("<network/>", t), -1);
    assert_int_equal(dbg_gw_domain_tenant("<domain", t), -1);
    /* a malformed file is named at its line, without libxml2's newline (a blank line after the
     * message), and an empty one as empty (it said 'malformed') */
    char *bad = NULL, bname[DBG_GW_NAME_MAX + 1], buuid[37];
    assert_int_equal(dbg_gw_prepare_create("<domain>\n<name>n</name>\n<os", &bad, bname, buuid, t),
                     -1);
    assert_non_null(strstr(dbg_err_msg(), "domain XML line 3: "));
    assert_null(strchr(dbg_err_msg(), '\n'));
    assert_int_equal(dbg_gw_prepare_create("", &bad, bname, buuid, t), -1);
    assert_string_equal(dbg_err_msg(), "domain XML: empty");
    char *out = NULL, name[DBG_GW_NAME_MAX + 1], uuid[37];
    assert_int_equal(dbg_gw_prepare_create("<domain><name>n</name></domain>", &out, name, uuid, t),
                     0);
    assert_int_equal(strlen(uuid), 36);
    assert_non_null(strstr(out, uuid));
    free(out);
    assert_int_equal(dbg_gw_prepare_create("<domain></domain>", &out, name, uuid, t), -1);
    /* An empty <uuid> is no uuid to libvirt, which makes one of its own: the one the create is
     * authorized and recorded under must be the one libvirt defines (it added a second <uuid>,
     * which libvirt ignores, so the records named a uuid no VM had and the guard alerted on the
     * authorized define as unauthorized_vm_create). */
    virConnectPtr tc = virConnectOpen("test:///default");
    assert_non_null(tc);
    const char *empty_uuid[] = {"<domain type='test'><name>gw-empty-uuid</name><uuid></uuid>"
                                "<memory>65536</memory><os><type>hvm</type></os></domain>",
                                "<domain type='test'><name>gw-empty-uuid</name><uuid/>"
                                "<memory>65536</memory><os><type>hvm</type></os></domain>"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(dbg_gw_prepare_create(empty_uuid[i], &out, name, uuid, t), 0);
        virDomainPtr dd = virDomainDefineXML(tc, out);
        assert_non_null(dd);
        char defined[VIR_UUID_STRING_BUFLEN];
        assert_int_equal(virDomainGetUUIDString(dd, defined), 0);
        assert_int_equal(virDomainUndefine(dd), 0);
        virDomainFree(dd);
        free(out);
        if (strcmp(defined, uuid) != 0)
            fail_msg("case %zu: authorized as %s, libvirt defined %s", i, uuid, defined);
    }
    virConnectClose(tc);
    /* libvirt reads dashes anywhere and stores the canonical form: only that form is taken */
    assert_int_equal(dbg_gw_prepare_create("<domain><name>n</name><uuid>6B-0C-5E-1E-0d6a4a51-"
                                           "8f1c-4e7b-9a2d-3c4b5a6d</uuid></domain>",
                                           &out, name, uuid, t), -1);
    assert_non_null(strstr(dbg_err_msg(), "8-4-4-4-12 hex form"));
    assert_int_equal(dbg_gw_prepare_create("<domain><name>n</name><uuid>6b0c5e1e-0d6a-4a51-8f1c-"
                                           "4e7b9a2d3c4g</uuid></domain>", &out, name, uuid, t), -1);
    assert_int_equal(dbg_gw_prepare_create("<domain><name>n</name><uuid>6B0C5E1E-0d6a-4a51-8f1c-"
                                           "4e7b9a2d3c4b</uuid></domain>", &out, name, uuid, t), 0);
    free(out);
    /* A name no later request could carry (start, delete: no spaces, controls, invisible
     * formatting, quotes, slashes or <>&') would make a VM the gateway cannot act on again. */
    const char *unaddressable[] = {"\xe6\xb5\x8b\xe8\xaf\x95\xe3\x80\x80vm", "my vm", "a/b", "a'b",
                                   "a&amp;b", "a&lt;b", "a\\b", "a\tb", "a&#x202E;b"};
    for (size_t i = 0; i < sizeof(unaddressable) / sizeof(*unaddressable); i++) {
        DBG_AUTOFREE char *x = dbg_asprintf("<domain><name>%s</name></domain>", unaddressable[i]);
        out = NULL;
        assert_int_equal(dbg_gw_prepare_create(x, &out, name, uuid, t), -1);
        assert_null(out);
        assert_non_null(strstr(dbg_err_msg(), "<name> holds characters a request cannot name"));
    }
    assert_int_equal(dbg_gw_prepare_create("<domain><name>web-01.a_b:c@d</name></domain>", &out,
                                           name, uuid, t), 0);
    assert_string_equal(name, "web-01.a_b:c@d");
    free(out);
    /* UTF-8 names, as libvirt takes them (测试-vm) */
    assert_int_equal(dbg_gw_prepare_create("<domain><name>\xe6\xb5\x8b\xe8\xaf\x95-vm</name></domain>",
                                           &out, name, uuid, t), 0);
    assert_string_equal(name, "\xe6\xb5\x8b\xe8\xaf\x95-vm");
    free(out);
    /* No entity expansion, no external fetches. */
    assert_int_equal(dbg_gw_prepare_create("<!DOCTYPE d [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
                                           "<domain><name>&e;</name></domain>", &out, name, uuid,
                                           t), -1);
}

/* The disk hooks' pure parts: request fields, the policy's integrity section, disks from
 * domain XML (backing chains, cdroms skipped), post-migration compare with repair, and the
 * residual check after a delete. */
static void write_bytes(const char *path, size_t n, unsigned seed)
{
    char *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)(i * seed + (i >> 9));
    assert_int_equal(dbg_write_file_atomic(path, b, n), 0);
    free(b);
}

static void test_disk_hooks(void **state)
{
    (void)state;
    dbg_gw_request r;
    assert_int_equal(parse("{\"v\":1,\"op\":\"delete\",\"vm\":\"a\",\"remove_storage\":true}", &r), 0);
    assert_int_equal(r.remove_storage, 1);
    char *js = dbg_gw_request_to_json(&r);
    assert_non_null(strstr(js, "\"remove_storage\":true"));
    free(js);
    dbg_gw_request_clear(&r);
    assert_int_equal(parse("{\"v\":1,\"op\":\"migrate\",\"vm\":\"a\",\"dest\":\"x\",\"repair\":true}", &r), 0);
    assert_int_equal(r.repair, 1);
    dbg_gw_request_clear(&r);
    expect_bad("{\"v\":1,\"op\":\"start\",\"vm\":\"a\",\"remove_storage\":true}", DBG_ERR_INVALID,
               "only 'delete' takes field 'remove_storage'");
    expect_bad("{\"v\":1,\"op\":\"delete\",\"vm\":\"a\",\"remove_storage\":1}", DBG_ERR_INVALID,
               "must be true or false");
    expect_bad("{\"v\":1,\"op\":\"delete\",\"vm\":\"a\",\"repair\":true}", DBG_ERR_INVALID,
               "only 'migrate' takes field 'repair'");
    expect_policy_error("version: 1\nintegrity:\n  verify: true\n", "unknown key 'integrity.verify'");
    expect_policy_error("version: 1\nintegrity: [a]\n", "integrity must be a mapping");

    char dir[] = "/tmp/dbg-gwdisk-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *a = dbg_path_join(dir, "a.raw");
    DBG_AUTOFREE char *b = dbg_path_join(dir, "b.raw");
    DBG_AUTOFREE char *z = dbg_path_join(dir, "z.raw");
    write_bytes(a, 3 << 20, 7);
    write_bytes(b, 3 << 20, 7);
    FILE *f = fopen(b, "r+b");
    fseek(f, (1 << 20) + 5, SEEK_SET);
    fputc('!', f);
    fclose(f);
    f = fopen(z, "w");
    fclose(f);
    assert_int_equal(truncate(z, 1 << 20), 0);
    DBG_AUTOFREE char *src = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/>"
        "<backingStore type='file'><source file='/base/one.qcow2'/><backingStore type='file'>"
        "<source file='/base/two.raw'/></backingStore></backingStore></disk>"
        "<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='hdc'/></disk>"
        "<disk type='volume' device='disk'><source pool='p1' volume='v1'/><target dev='vdb'/>"
        "</disk><disk type='file' device='disk'><source file='%s'/><target dev='vdc'/></disk>"
        "</devices></domain>", a, z);
    dbg_gw_disk *d = NULL;
    size_t n = 0;
    assert_int_equal(dbg_gw_domain_disks(src, &d, &n), 0);
    assert_int_equal(n, 5);
    assert_string_equal(d[0].target, "vda");
    assert_int_equal(d[1].backing, 1);
    assert_string_equal(d[2].path, "/base/two.raw");
    assert_string_equal(d[3].pool, "p1");
    assert_string_equal(d[3].volume, "v1");
    assert_string_equal(d[4].target, "vdc");
    char *rep = NULL;
    /* After a delete: vda still there with data, its backing layers kept, vdb a network/volume
     * disk without a path, vdc all zeros. */
    assert_int_equal(dbg_gw_residual_check(d, n, &rep), 1);
    assert_non_null(strstr(rep, "\"status\":\"residual\""));
    assert_non_null(strstr(rep, "\"status\":\"kept\""));
    assert_non_null(strstr(rep, "\"status\":\"wiped\""));
    free(rep);
    free(d);

    /* A raw disk whose guest wrote the qcow2 magic over its start is checked as libvirt's
     * <driver type='raw'> says, not as the probe would read it. */
    DBG_AUTOFREE char *fake = dbg_path_join(dir, "fake.raw");
    write_bytes(fake, 1 << 20, 3);
    f = fopen(fake, "r+b");
    fwrite("QFI\xfb", 1, 4, f);
    fclose(f);
    DBG_AUTOFREE char *fx = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='%s'/><target dev='vda'/></disk></devices></domain>", fake);
    assert_int_equal(dbg_gw_domain_disks(fx, &d, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(d[0].format, "raw");
    assert_int_equal(dbg_gw_residual_check(d, n, &rep), 1);
    assert_non_null(strstr(rep, "\"status\":\"residual\""));
    free(rep);
    free(d);
    /* Verify before start and the migration check read it as <driver type> says too: sealed as
     * raw, a domain calling it qcow2 is an error naming both; a migrated copy that differs
     * behind the magic differs (the probe cannot open it at all). */
    DBG_AUTOFREE char *kp = dbg_path_join(dir, "seal");
    DBG_AUTOFREE char *key = dbg_asprintf("%s.key", kp);
    assert_int_equal(dbg_audit_keygen(kp), 0);
    dbg_seal_opts so = {.key_path = key, .format = "raw"};
    dbg_seal_info si;
    assert_int_equal(dbg_image_seal(fake, &so, &si), 0);
    dbg_seal_info_free(&si);
    assert_int_equal(dbg_gw_verify_disks(fx, NULL, &rep), 0);
    assert_non_null(strstr(rep, "\"status\":\"intact\""));
    free(rep);
    DBG_AUTOFREE char *fq = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vda'/></disk></devices></domain>", fake);
    assert_int_equal(dbg_gw_verify_disks(fq, NULL, &rep), 1);
    assert_non_null(strstr(rep, "\"status\":\"error\""));
    assert_non_null(strstr(rep, "declared qcow2, but sealed as raw"));
    free(rep);
    DBG_AUTOFREE char *fake2 = dbg_path_join(dir, "fake2.raw");
    write_bytes(fake2, 1 << 20, 3);
    f = fopen(fake2, "r+b");
    fwrite("QFI\xfb", 1, 4, f);
    fseek(f, 600000, SEEK_SET);
    fputc('!', f);
    fclose(f);
    DBG_AUTOFREE char *fx2 = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='%s'/><target dev='vda'/></disk></devices></domain>", fake2);
    assert_int_equal(dbg_gw_migrate_disks(fx, fx2, 0, &rep), 1);
    assert_non_null(strstr(rep, "\"status\":\"differs\""));
    assert_non_null(strstr(rep, "\"first_offset\":0"));
    free(rep);

    DBG_AUTOFREE char *dst = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><source file='%s'/><target dev='vda'/>"
        "</disk><disk type='file' device='disk'><source file='%s'/><target dev='vdc'/></disk>"
        "</devices></domain>", b, z);
    assert_int_equal(dbg_gw_migrate_disks(src, dst, 0, &rep), 2); /* vda differs, vdb missing */
    assert_non_null(strstr(rep, "\"status\":\"differs\""));
    assert_non_null(strstr(rep, "\"first_offset\":1048576"));
    assert_non_null(strstr(rep, "\"status\":\"missing\""));
    assert_non_null(strstr(rep, "\"status\":\"shared\"")); /* vdc: same path */
    free(rep);
    assert_int_equal(dbg_gw_migrate_disks(src, dst, 1, &rep), 1); /* repaired; vdb still missing */
    assert_non_null(strstr(rep, "\"status\":\"repaired\""));
    free(rep);
    assert_int_equal(dbg_gw_migrate_disks("<domain", dst, 0, &rep), -1);

    /* A policy file whose seal_pubkey cannot be read is refused when loaded, at that line,
     * rather than refusing every sealed VM's start later. */
    DBG_AUTOFREE char *pol = dbg_path_join(dir, "p.yaml");
    const char *bad = "version: 1\nintegrity:\n  verify_before_start: true\n"
                      "  seal_pubkey: /nonexistent/seal.pub\n";
    assert_int_equal(dbg_write_file_atomic(pol, bad, strlen(bad)), 0);
    assert_null(dbg_gw_policy_load(pol));
    DBG_AUTOFREE char *want = dbg_asprintf("%s:4:16: integrity.seal_pubkey: /nonexistent/seal.pub: "
                                           "cannot open key", pol);
    if (!strstr(dbg_err_msg(), want))
        fail_msg("'%s' not in '%s'", want, dbg_err_msg());
    /* An enforced start check without a pinned signer is refused at its line: a manifest
     * checked only against its own embedded key can be re-sealed by whoever changed the disk. */
    const char *unpinned = "version: 1\nintegrity:\n  manifest_dir: /var/lib/seals\n"
                           "  verify_before_start: true\n";
    assert_int_equal(dbg_write_file_atomic(pol, unpinned, strlen(unpinned)), 0);
    assert_null(dbg_gw_policy_load(pol));
    DBG_AUTOFREE char *want_pin = dbg_asprintf("%s:4:24: integrity.verify_before_start needs "
                                               "integrity.seal_pubkey", pol);
    if (!strstr(dbg_err_msg(), want_pin))
        fail_msg("'%s' not in '%s'", want_pin, dbg_err_msg());
    /* the same without verify_before_start (nothing reads it), and a readable key, load */
    const char *off = "version: 1\nintegrity:\n  verify_before_start: false\n"
                      "  seal_pubkey: /nonexistent/seal.pub\n";
    assert_int_equal(dbg_write_file_atomic(pol, off, strlen(off)), 0);
    dbg_gw_policy *lp = dbg_gw_policy_load(pol);
    assert_non_null(lp);
    dbg_gw_policy_free(lp);
    DBG_AUTOFREE char *pub = dbg_path_join(dir, "seal.pub");
    DBG_AUTOFREE char *gen = dbg_asprintf("openssl genpkey -algorithm ed25519 2>/dev/null | "
                                          "openssl pkey -pubout -out %s", pub);
    assert_int_equal(system(gen), 0);
    DBG_AUTOFREE char *good = dbg_asprintf("version: 1\nintegrity:\n  verify_before_start: true\n"
                                           "  seal_pubkey: %s\n", pub);
    assert_int_equal(dbg_write_file_atomic(pol, good, strlen(good)), 0);
    assert_non_null(lp = dbg_gw_policy_load(pol));
    dbg_gw_integrity in;
    dbg_gw_policy_integrity(lp, &in);
    assert_int_equal(in.require_seal, 0);
    dbg_gw_policy_free(lp);
    /* require_seal: an unsealed disk fails too, so deleting a manifest (or pointing a disk at
     * an unsealed file) does not turn the check off; alone it is refused at its line */
    DBG_AUTOFREE char *strict = dbg_asprintf("version: 1\nintegrity:\n  verify_before_start: true\n"
                                             "  require_seal: true\n  seal_pubkey: %s\n", pub);
    assert_int_equal(dbg_write_file_atomic(pol, strict, strlen(strict)), 0);
    assert_non_null(lp = dbg_gw_policy_load(pol));
    dbg_gw_policy_integrity(lp, &in);
    assert_int_equal(in.require_seal, 1);
    dbg_gw_policy_free(lp);
    const char *alone = "version: 1\nintegrity:\n  require_seal: true\n";
    assert_int_equal(dbg_write_file_atomic(pol, alone, strlen(alone)), 0);
    assert_null(dbg_gw_policy_load(pol));
    DBG_AUTOFREE char *want_req = dbg_asprintf("%s:3:17: integrity.require_seal needs "
                                               "integrity.verify_before_start: true", pol);
    if (!strstr(dbg_err_msg(), want_req))
        fail_msg("'%s' not in '%s'", want_req, dbg_err_msg());
    const char *notbool = "version: 1\nintegrity:\n  require_seal: always\n";
    assert_int_equal(dbg_write_file_atomic(pol, notbool, strlen(notbool)), 0);
    assert_null(dbg_gw_policy_load(pol));
    assert_non_null(strstr(dbg_err_msg(), "integrity.require_seal must be true or false"));
    /* the disk list: fake2.raw has no manifest; a network disk has no file */
    DBG_AUTOFREE char *unsealed = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='%s'/><target dev='vda'/></disk>"
        "<disk type='network' device='disk'><driver name='qemu' type='raw'/>"
        "<source protocol='nbd' name='x'><host name='127.0.0.1' port='10809'/></source>"
        "<target dev='vdb'/></disk></devices></domain>", fake2);
    assert_int_equal(dbg_gw_verify_disks(unsealed, NULL, &rep), 0);
    assert_non_null(strstr(rep, "\"detail\":\"no seal manifest\""));
    free(rep);
    assert_int_equal(dbg_gw_verify_disks(unsealed, &in, &rep), 2);
    assert_non_null(strstr(rep, "no seal manifest, and integrity.require_seal asks every disk "
                                "to be sealed"));
    assert_non_null(strstr(rep, "not verifiable here, and integrity.require_seal"));
    free(rep);
    DBG_AUTOFREE char *cmd = dbg_asprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A pool volume libvirt says is gone (no such volume in an active pool, or no such pool) is
 * "missing" like a gone file and refuses the start unless optional; an inactive pool's volume
 * stays "unsealed" and says why. gw_resolve_volumes sets volume_state from libvirt's answers
 * (tests/integration/test_gateway_disks.sh checks that against a real libvirtd). */
static void test_verify_missing_volume(void **state)
{
    (void)state;
    dbg_gw_disk d[4];
    memset(d, 0, sizeof(d));
    const char *names[] = {"vda", "vdb", "vdc", "vdd"};
    const int states[] = {DBG_GW_VOL_NO_VOLUME, DBG_GW_VOL_NO_POOL, DBG_GW_VOL_POOL_INACTIVE,
                          DBG_GW_VOL_NO_VOLUME};
    for (int i = 0; i < 4; i++) {
        snprintf(d[i].target, sizeof(d[i].target), "%s", names[i]);
        snprintf(d[i].pool, sizeof(d[i].pool), "p%d", i);
        snprintf(d[i].volume, sizeof(d[i].volume), "v%d.qcow2", i);
        d[i].volume_state = states[i];
    }
    d[3].optional = 1;
    dbg_gw_integrity in;
    memset(&in, 0, sizeof(in));
    in.verify_before_start = 1;
    char *rep = NULL;
    assert_int_equal(dbg_gw_verify_disk_list(d, 4, &in, &rep), 2);
    assert_string_equal(
        rep,
        "[{\"disk\":\"vda\",\"path\":\"\",\"status\":\"missing\",\"detail\":\"the pool has no "
        "volume of that name, so the VM cannot start on it\",\"pool\":\"p0\",\"volume\":"
        "\"v0.qcow2\"},{\"disk\":\"vdb\",\"path\":\"\",\"status\":\"missing\",\"detail\":"
        "\"libvirt has no storage pool of that name, so the VM cannot start on it\",\"pool\":"
        "\"p1\",\"volume\":\"v1.qcow2\"},{\"disk\":\"vdc\",\"path\":\"\",\"status\":"
        "\"unsealed\",\"detail\":\"its pool is not active, so the volume's file is not known "
        "here (libvirt does not start the VM on it either)\",\"pool\":\"p2\",\"volume\":"
        "\"v2.qcow2\"},{\"disk\":\"vdd\",\"path\":\"\",\"status\":\"missing\",\"detail\":"
        "\"the pool has no volume of that name; its startupPolicy is optional, so libvirt "
        "starts the VM without this disk\",\"optional\":true,\"pool\":\"p3\",\"volume\":"
        "\"v3.qcow2\"}]");
    free(rep);
    /* a lookup that failed otherwise (state unknown) is not called missing */
    d[0].volume_state = DBG_GW_VOL_UNKNOWN;
    assert_int_equal(dbg_gw_verify_disk_list(d, 1, &in, &rep), 0);
    assert_non_null(strstr(rep, "\"status\":\"unsealed\",\"detail\":\"not a local file"));
    free(rep);
}

/* A disk whose file is gone is "missing" and refuses the start by itself, whatever require_seal
 * says. With a manifest_dir its manifest is named from the disk's real path, which a missing file
 * does not have: a sealed disk reached through a symlink whose target was removed read as
 * "unsealed" and counted nothing, so the gateway went on to the start. */
static void test_verify_missing_disk(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-gwmiss-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *img = dbg_path_join(dir, "img.raw");
    DBG_AUTOFREE char *link = dbg_path_join(dir, "vm1-disk.raw");
    DBG_AUTOFREE char *mdir = dbg_path_join(dir, "manifests");
    DBG_AUTOFREE char *kp = dbg_path_join(dir, "seal");
    DBG_AUTOFREE char *key = dbg_asprintf("%s.key", kp);
    DBG_AUTOFREE char *gone = dbg_path_join(dir, "never-made.qcow2");
    assert_int_equal(mkdir(mdir, 0700), 0);
    assert_int_equal(dbg_audit_keygen(kp), 0);
    write_bytes(img, 1 << 20, 9);
    assert_int_equal(symlink(img, link), 0);
    dbg_seal_opts so = {.key_path = key, .format = "raw", .manifest_dir = mdir};
    dbg_seal_info si;
    assert_int_equal(dbg_image_seal(link, &so, &si), 0);
    dbg_seal_info_free(&si);
    dbg_gw_integrity in;
    memset(&in, 0, sizeof(in));
    in.verify_before_start = 1;
    snprintf(in.manifest_dir, sizeof(in.manifest_dir), "%s", mdir);
    DBG_AUTOFREE char *xml = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        "<source file='%s'/><target dev='vda'/></disk></devices></domain>",
        link);
    char *rep = NULL;
    assert_int_equal(dbg_gw_verify_disks(xml, &in, &rep), 0);
    assert_non_null(strstr(rep, "\"status\":\"intact\""));
    free(rep);

    /* the image behind the link is removed: one failing disk, said missing, not unsealed */
    assert_int_equal(unlink(img), 0);
    assert_int_equal(dbg_gw_verify_disks(xml, &in, &rep), 1);
    DBG_AUTOFREE char *want = dbg_asprintf(
        "[{\"disk\":\"vda\",\"path\":\"%s\",\"status\":\"missing\",\"detail\":\"the file does not "
        "exist, so the VM cannot start on it\"}]",
        link);
    assert_string_equal(rep, want);
    free(rep);

    /* never sealed and never there: missing too, without require_seal; a path through a
     * regular file (ENOTDIR) likewise; one declared startupPolicy='optional' is reported and
     * does not count, since libvirt starts the VM without it */
    DBG_AUTOFREE char *through = dbg_asprintf("%s/x.raw", key);
    DBG_AUTOFREE char *xml2 = dbg_asprintf(
        "<domain><devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
        "<source file='%s'/><target dev='vdb'/></disk>"
        "<disk type='file' device='disk'><source file='%s'/><target dev='vdc'/></disk>"
        "<disk type='file' device='disk'><source file='%s' startupPolicy='optional'/>"
        "<target dev='vdd'/></disk></devices></domain>",
        gone, through, gone);
    assert_int_equal(dbg_gw_verify_disks(xml2, &in, &rep), 2);
    DBG_AUTOFREE char *want2 = dbg_asprintf(
        "[{\"disk\":\"vdb\",\"path\":\"%s\",\"status\":\"missing\",\"detail\":\"the file does not "
        "exist, so the VM cannot start on it\"},{\"disk\":\"vdc\",\"path\":\"%s\",\"status\":"
        "\"missing\",\"detail\":\"the file does not exist, so the VM cannot start on it\"},"
        "{\"disk\":\"vdd\",\"path\":\"%s\",\"status\":\"missing\",\"detail\":\"the file does not "
        "exist; its startupPolicy is optional, so libvirt starts the VM without this disk\","
        "\"optional\":true}]",
        gone, through, gone);
    assert_string_equal(rep, want2);
    free(rep);

    /* a file that is there but has no manifest stays "unsealed" (and counts only with
     * require_seal) */
    write_bytes(img, 4096, 1);
    DBG_AUTOFREE char *xml3 =
        dbg_asprintf("<domain><devices><disk type='file' device='disk'><source file='%s'/>"
                     "<target dev='vde'/></disk></devices></domain>",
                     img);
    assert_int_equal(dbg_gw_verify_disks(xml3, &in, &rep), 0);
    assert_non_null(strstr(rep, "\"status\":\"unsealed\""));
    free(rep);
    DBG_AUTOFREE char *cmd = dbg_asprintf("rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- migration destinations ---- */
#define MIG_POLICY_HEAD                                                                           \
    "version: 1\n"                                                                                \
    "identities:\n"                                                                               \
    "  - unix: root\n    role: provider-admin\n"                                                  \
    "  - unix: ops\n    role: provider-operator\n"                                                \
    "  - unix: bob\n    role: tenant-user\n    tenant: tenant-a\n"                                \
    "  - unix: alice\n    role: tenant-admin\n    tenant: tenant-a\n"                             \
    "roles:\n"                                                                                    \
    "  provider-admin: {operations: all, tenants: any}\n"                                         \
    "  provider-operator: {operations: [list, migrate], tenants: any}\n"                         \
    "  tenant-user: {operations: [list, start], tenants: own}\n"                                 \
    "  tenant-admin: {operations: [list, approve], tenants: own}\n"
#define MIG_DESTS                                                                                 \
    "migration:\n  destinations:\n    - qemu+tls://h2/system\n"                                   \
    "    - qemu+ssh://root@h3:22/system?keyfile=/etc/dengbao/k\n"

/* The policy's list of the URIs this host may migrate VMs to: a malformed entry stops the
 * load at its line, naming it; a request's URI finds its entry when only the scheme's and
 * host's case or a trailing '/' differ, and otherwise only byte for byte; a policy that lets a role
 * migrate and lists no destination says at load that every migration will be refused. */
static void test_policy_migration(void **state)
{
    (void)state;
    expect_policy_error("version: 1\nmigration:\n  destinations: [qemu+tls://h2/system, "
                        "qemu:///system]\n",
                        "t.yaml:3:40: migration.destinations entry 'qemu:///system' names no host");
    expect_policy_error("version: 1\nmigration:\n  destinations:\n    - qemu+tls://h2/system\n"
                        "    - h3/system\n",
                        "t.yaml:5:7: migration.destinations entry 'h3/system' is not of the form "
                        "scheme://host/path");
    expect_policy_error("version: 1\nmigration:\n  destinations: ['qemu+unix:///system?socket="
                        "/tmp/s']\n", "entry 'qemu+unix:///system?socket=/tmp/s' names no host");
    expect_policy_error("version: 1\nmigration:\n  destinations: [qemu+tls://h2]\n",
                        "t.yaml:3:18: migration.destinations entry 'qemu+tls://h2' names no path");
    expect_policy_error("version: 1\nmigration:\n  destinations: ['qemu+tls://h 2/system']\n",
                        "holds a space or a control character");
    expect_policy_error("version: 1\nmigration:\n  destinations: ['qemu+tls://h2/system#x']\n",
                        "has a '#' fragment");
    expect_policy_error("version: 1\nmigration:\n  destinations: ['qemu+tls://h2:port/system']\n",
                        "'qemu+tls://h2:port/system' is not a URI libvirt can parse");
    expect_policy_error("version: 1\nmigration:\n  destinations: ['q?x://h2/system']\n",
                        "has a scheme that is not letters");
    expect_policy_error("version: 1\nmigration:\n  destinations: [qemu+tls://h2/system, "
                        "qemu+tls://h2/system]\n",
                        "t.yaml:3:40: migration.destinations lists 'qemu+tls://h2/system' twice");
    /* one destination in two spellings: the second could never be the one a request finds */
    expect_policy_error("version: 1\nmigration:\n  destinations: [qemu+tls://h2/system, "
                        "qemu+tls://H2/system/]\n",
                        "t.yaml:3:40: migration.destinations entry 'qemu+tls://H2/system/' is "
                        "'qemu+tls://h2/system', listed before, written otherwise");
    expect_policy_error("version: 1\nmigration: [qemu+tls://h2/system]\n",
                        "t.yaml:2:12: migration must be a mapping (destinations)");
    expect_policy_error("version: 1\nmigration:\n  destination: [qemu+tls://h2/system]\n",
                        "t.yaml:3:3: unknown key 'migration.destination' (destinations)");
    expect_policy_error("version: 1\nmigration:\n  destinations: {h2: qemu+tls://h2/system}\n",
                        "t.yaml:3:17: migration.destinations must be a list");
    char longer[400];
    snprintf(longer, sizeof(longer), "version: 1\nmigration:\n  destinations: [qemu+tls://h2/%0250d]\n", 0);
    expect_policy_error(longer, "t.yaml:3:18: migration.destinations entry 'qemu+tls://h2/000");
    expect_policy_error(longer, "is longer than a request's dest can be (255 bytes)");

    const char *text = MIG_POLICY_HEAD MIG_DESTS;
    char *err = NULL;
    dbg_gw_policy *p = load_policy_text(text, &err);
    assert_non_null(p);
    assert_string_equal(err, ""); /* destinations listed: no warning */
    free(err);
    char why[600];
    assert_int_equal(dbg_gw_policy_migration_allowed(p, "qemu+tls://h2/system", why, sizeof(why)), 1);
    assert_int_equal(dbg_gw_policy_migration_allowed(p, "qemu+ssh://root@h3:22/system?keyfile="
                                                        "/etc/dengbao/k", why, sizeof(why)), 1);
    /* The scheme's and host's case and one trailing '/' are how people write one place (RFC
     * 3986: scheme and host are case-insensitive): they find the listed entry, which is what
     * the agent then opens. */
    const char *same[][2] = {
        {"qemu+tls://H2/system", "qemu+tls://h2/system"},
        {"QEMU+TLS://h2/system/", "qemu+tls://h2/system"},
        {"qemu+ssh://root@H3:22/system/?keyfile=/etc/dengbao/k",
         "qemu+ssh://root@h3:22/system?keyfile=/etc/dengbao/k"}};
    for (size_t i = 0; i < sizeof(same) / sizeof(*same); i++) {
        const char *listed = dbg_gw_policy_migration_dest(p, same[i][0]);
        if (!listed || strcmp(listed, same[i][1]) != 0)
            fail_msg("'%s' found '%s', not '%s'", same[i][0], listed ? listed : "(none)",
                     same[i][1]);
        assert_int_equal(dbg_gw_policy_migration_allowed(p, same[i][0], why, sizeof(why)), 1);
    }
    /* anything else libvirt reads (port, user, transport, the rest of the path, the query,
     * escapes, a second '/') is another destination */
    const char *not_listed[] = {"qemu+tls://h2:16514/system", "qemu+ssh://h2/system",
                                "qemu+ssh://root@h3:22/system", "qemu+tls://h2/system//",
                                "qemu+tls://h2/systemx", "qemu+tls://h2/System",
                                "qemu+tls://h2/system#x", "qemu+tls://h2./system",
                                "qemu+tls://h%32/system", "qemu+tls://x@h2/system",
                                "qemu+ssh://ROOT@h3:22/system?keyfile=/etc/dengbao/k",
                                "qemu+ssh://root@h3:22/system?keyfile=/etc/dengbao/K",
                                "qemu+tls:/h2/system", "qemu+tls//h2/system", ""};
    for (size_t i = 0; i < sizeof(not_listed) / sizeof(*not_listed); i++) {
        assert_int_equal(dbg_gw_policy_migration_allowed(p, not_listed[i], why, sizeof(why)), 0);
        DBG_AUTOFREE char *want = dbg_asprintf("migration to '%s' refused: it is not one of the "
                                               "policy's migration.destinations", not_listed[i]);
        if (!strstr(why, want))
            fail_msg("'%s': reason '%s'", not_listed[i], why);
    }
    dbg_gw_policy_free(p);
    /* a role may migrate and nothing is listed (the shipped example): said at load */
    p = load_policy_text(MIG_POLICY_HEAD, &err);
    assert_non_null(p);
    if (!strstr(err, "policy.yaml: role provider-admin may migrate, but 'migration: "
                     "destinations:' lists none: every migration will be refused"))
        fail_msg("stderr was '%s'", err);
    free(err);
    assert_int_equal(dbg_gw_policy_migration_allowed(p, "qemu+tls://h2/system", why, sizeof(why)), 0);
    assert_non_null(strstr(why, "the policy lists no migration.destinations"));
    assert_non_null(strstr(why, "add its exact URI under 'migration: destinations:'"));
    dbg_gw_policy_free(p);
    /* an empty list is no destination at all */
    p = load_policy_text("version: 1\nmigration:\n  destinations: []\n", &err);
    assert_non_null(p);
    free(err);
    assert_int_equal(dbg_gw_policy_migration_allowed(p, "qemu+tls://h2/system", why, sizeof(why)), 0);
    dbg_gw_policy_free(p);
}

/* A migrate request: a listed destination goes to libvirt (the test driver then refuses
 * peer-to-peer migration for its own reason); any other, or any at all when the policy lists
 * none, is refused (status refused, rule migration:destinations) before libvirt is called, so
 * the root agent never opens that URI: no intent 'allowed', no ledger entry, one record
 * 'refused' under the VM's tenant. An identity whose role may not migrate is denied as before
 * and learns nothing of the list. A ticket filed under a policy that listed its destination is
 * refused at approval under one that does not. */
static void test_gateway_migration(void **state)
{
    (void)state;
    /* held open so that the test driver keeps its state between connections */
    virConnectPtr vc = virConnectOpen("test:///default");
    define_vm("gw-m1", "tenant-a", "/var/lib/dbg-test/gw-m1.img");
    virDomainPtr m1 = virDomainLookupByName(vc, "gw-m1");
    assert_non_null(m1);
    char m1uuid[VIR_UUID_STRING_BUFLEN];
    virDomainGetUUIDString(m1, m1uuid);
    dbg_gw_identity root, ops, bob, alice;
    unix_id(&root, "root");
    unix_id(&alice, "alice");
    unix_id(&ops, "ops");
    unix_id(&bob, "bob");
    static recorder rec;
    memset(&rec, 0, sizeof(rec));
    const char *text = MIG_POLICY_HEAD MIG_DESTS;
    dbg_gw_policy *p = dbg_gw_policy_parse(text, strlen(text), "t.yaml");
    assert_non_null(p);
    dbg_gw_ledger *ledger = dbg_gw_ledger_new();
    dbg_gw_opts o = {.uri = "test:///default", .policy = p, .ledger = ledger, .audit = record,
                     .audit_ctx = &rec};
    dbg_gateway *gw = dbg_gateway_new(&o);
    assert_non_null(gw);
    dbg_gw_window w = {.skew_us = 1000000, .grace_us = 10000000, .inflight_us = 300000000};
    char actor[300];
    uint64_t lid;

    /* a local socket: the root agent would connect to whatever listens there */
    char *resp = call(gw, &root, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                                 "\"qemu+unix:///system?socket=/tmp/evil.sock\"}");
    if (!strstr(resp, "\"status\":\"refused\"") ||
        !strstr(resp, "migration to 'qemu+unix:///system?socket=/tmp/evil.sock' refused: it is "
                      "not one of the policy's migration.destinations") ||
        !strstr(resp, "\"rule\":\"migration:destinations\""))
        fail_msg("unlisted destination: %s", resp);
    free(resp);
    assert_int_equal(rec.n, 1); /* the refusal only: no intent 'allowed', no outcome */
    assert_string_equal(rec.actions[0], "vm.migrate.intent");
    assert_string_equal(rec.outcomes[0], "refused");
    assert_string_equal(rec.rules[0], "migration:destinations");
    assert_string_equal(rec.tenants[0], "tenant-a");
    assert_string_equal(rec.targets[0], "gw-m1");
    assert_non_null(strstr(rec.details[0], "\"dest\":\"qemu+unix:///system?socket=/tmp/evil.sock\""));
    assert_int_equal(dbg_gw_ledger_match(ledger, m1uuid, DBG_OP_BIT(DBG_OP_MIGRATE), 1,
                                         dbg_now_us(), &w, actor, &lid), 0);
    /* the same host on another port is not the listed destination */
    resp = call(gw, &ops, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                          "\"qemu+tls://h2:16514/system\"}");
    assert_non_null(strstr(resp, "\"status\":\"refused\""));
    free(resp);
    assert_int_equal(rec.n, 2);
    /* the answer is the same for a VM that does not exist (the record names what was asked) */
    resp = call(gw, &root, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-none\",\"dest\":"
                           "\"qemu+ssh://evil/system\"}");
    assert_non_null(strstr(resp, "\"status\":\"refused\""));
    assert_null(strstr(resp, "no VM named"));
    free(resp);
    assert_string_equal(rec.targets[2], "gw-none");
    assert_string_equal(rec.tenants[2], "");
    /* a role without migrate is denied for that, whatever the destination */
    resp = call(gw, &bob, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                          "\"qemu+ssh://evil/system\"}");
    assert_non_null(strstr(resp, "\"status\":\"denied\""));
    assert_non_null(strstr(resp, "role:tenant-user:operations"));
    assert_null(strstr(resp, "destinations"));
    free(resp);

    /* listed: libvirt is called with it, and the test driver refuses for its own reason */
    int before = rec.n;
    resp = call(gw, &root, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                           "\"qemu+tls://h2/system\"}");
    if (!strstr(resp, "\"status\":\"failed\"") ||
        !strstr(resp, "p2p migration is not supported"))
        fail_msg("listed destination: %s", resp);
    free(resp);
    assert_int_equal(rec.n, before + 2);
    assert_string_equal(rec.actions[before], "vm.migrate.intent");
    assert_string_equal(rec.outcomes[before], "allowed");
    assert_non_null(strstr(rec.details[before], "\"dest\":\"qemu+tls://h2/system\""));
    assert_string_equal(rec.actions[before + 1], "vm.migrate.outcome");
    assert_string_equal(rec.outcomes[before + 1], "failure");
    assert_int_equal(dbg_gw_ledger_match(ledger, m1uuid, DBG_OP_BIT(DBG_OP_MIGRATE), 1,
                                         dbg_now_us(), &w, actor, &lid), 1);
    /* the listed host in capitals with a trailing '/': allowed, and what goes to libvirt and
     * into the record is the listed spelling, never the caller's */
    before = rec.n;
    resp = call(gw, &root, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                           "\"qemu+tls://H2/system/\"}");
    if (!strstr(resp, "\"status\":\"failed\"") ||
        !strstr(resp, "p2p migration is not supported"))
        fail_msg("listed destination spelled otherwise: %s", resp);
    free(resp);
    assert_int_equal(rec.n, before + 2);
    assert_string_equal(rec.outcomes[before], "allowed");
    if (!strstr(rec.details[before], "\"dest\":\"qemu+tls://h2/system\""))
        fail_msg("intent record: %s", rec.details[before]);
    assert_null(strstr(rec.details[before], "H2"));
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);

    /* No list: every migration is refused, and the answer says how to allow one. */
    p = dbg_gw_policy_parse(MIG_POLICY_HEAD, strlen(MIG_POLICY_HEAD), "t.yaml");
    assert_non_null(p);
    o.policy = p;
    assert_non_null(gw = dbg_gateway_new(&o));
    before = rec.n;
    resp = call(gw, &root, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                           "\"qemu+tls://h2/system\"}");
    if (!strstr(resp, "\"status\":\"refused\"") ||
        !strstr(resp, "migration to 'qemu+tls://h2/system' refused: the policy lists no "
                      "migration.destinations") ||
        !strstr(resp, "add its exact URI under 'migration: destinations:'"))
        fail_msg("no list: %s", resp);
    free(resp);
    assert_int_equal(rec.n, before + 1);
    assert_string_equal(rec.outcomes[before], "refused");
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);

    /* A reviewed migration filed while its destination was listed, approved after a restart
     * with a policy that no longer lists it: refused, not run; the ticket's VM's tenant sees
     * the request closed. */
    char tdir[] = "/tmp/dbg-gw-mig-XXXXXX";
    assert_non_null(mkdtemp(tdir));
    DBG_AUTOFREE char *tpath = dbg_path_join(tdir, "tickets.json");
    const char *review = MIG_POLICY_HEAD MIG_DESTS
        "filters:\n  - id: review-migrations\n    operations: [migrate]\n    action: review\n";
    p = dbg_gw_policy_parse(review, strlen(review), "t.yaml");
    assert_non_null(p);
    o.policy = p;
    o.tickets_path = tpath;
    assert_non_null(gw = dbg_gateway_new(&o));
    resp = call(gw, &ops, "{\"v\":1,\"op\":\"migrate\",\"vm\":\"gw-m1\",\"dest\":"
                          "\"qemu+tls://h2/system\"}");
    assert_non_null(strstr(resp, "\"status\":\"pending\""));
    const char *tk = strstr(resp, "\"ticket\":\"");
    assert_non_null(tk);
    char approve[128];
    snprintf(approve, sizeof(approve), "{\"v\":1,\"op\":\"approve\",\"ticket\":\"%.*s\"}",
             DBG_GW_TICKET_LEN, tk + 10);
    free(resp);
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);
    const char *unlisted = MIG_POLICY_HEAD
        "migration:\n  destinations: [qemu+tls://h4/system]\n"
        "filters:\n  - id: review-migrations\n    operations: [migrate]\n    action: review\n";
    p = dbg_gw_policy_parse(unlisted, strlen(unlisted), "t.yaml");
    assert_non_null(p);
    o.policy = p;
    assert_non_null(gw = dbg_gateway_new(&o));
    before = rec.n;
    resp = call(gw, &alice, approve);
    if (!strstr(resp, "\"status\":\"refused\"") ||
        !strstr(resp, "migration to 'qemu+tls://h2/system' refused: it is not one of"))
        fail_msg("approval of an unlisted destination: %s", resp);
    free(resp);
    assert_int_equal(rec.n, before + 2);
    assert_string_equal(rec.actions[before], "vm.approve");
    assert_string_equal(rec.actions[before + 1], "vm.migrate.outcome");
    assert_string_equal(rec.outcomes[before + 1], "refused");
    assert_string_equal(rec.tenants[before + 1], "tenant-a");
    assert_string_equal(rec.targets[before + 1], "gw-m1");
    resp = call(gw, &alice, approve); /* used */
    assert_non_null(strstr(resp, "already approved"));
    free(resp);
    dbg_gateway_free(gw);
    dbg_gw_policy_free(p);
    dbg_gw_ledger_free(ledger);
    DBG_AUTOFREE char *rm = dbg_asprintf("rm -rf %s", tdir);
    assert_int_equal(system(rm), 0);
    assert_int_equal(virDomainUndefine(m1), 0);
    virDomainFree(m1);
    virConnectClose(vc);
}

/* A VM whose tenant id is longer than 63 bytes (no identity can hold one) was read as the
 * tenant whose 63-byte id began it: that tenant listed it, could act on it, and could create
 * VMs the rest of dengbao files under the longer id. Now it is no tenant's VM: hidden from
 * every tenant, as a provider VM is, and a create carrying such an id is refused. */
static void test_gateway_long_tenant(void **state)
{
    (void)state;
    virConnectPtr vc = virConnectOpen("test:///default");
    char id63[64];
    memset(id63, 'q', 63);
    id63[63] = 0;
    DBG_AUTOFREE char *id64 = dbg_asprintf("%sz", id63);
    DBG_AUTOFREE char *text = dbg_asprintf(
        "version: 1\nidentities:\n  - unix: root\n    role: provider-admin\n"
        "  - unix: long\n    role: tenant-admin\n    tenant: %s\n"
        "roles:\n  provider-admin: {operations: all, tenants: any}\n"
        "  tenant-admin: {operations: [list, create, start], tenants: own}\n", id63);
    dbg_gw_policy *p = dbg_gw_policy_parse(text, strlen(text), "t.yaml");
    assert_non_null(p);
    static recorder rec;
    memset(&rec, 0, sizeof(rec));
    dbg_gw_ledger *ledger = dbg_gw_ledger_new();
    dbg_gw_opts o = {.uri = "test:///default", .policy = p, .ledger = ledger, .audit = record,
                     .audit_ctx = &rec};
    dbg_gateway *gw = dbg_gateway_new(&o);
    assert_non_null(gw);
    dbg_gw_identity root, lg;
    unix_id(&root, "root");
    unix_id(&lg, "long");
    define_vm("gw-long", id64, "/var/lib/dbg-test/gw-long.img");
    define_vm("gw-own63", id63, "/var/lib/dbg-test/gw-own63.img");

    char *resp = call(gw, &lg, "{\"v\":1,\"op\":\"list\"}");
    if (strstr(resp, "gw-long") || !strstr(resp, "gw-own63"))
        fail_msg("the 63-byte tenant's list: %s", resp);
    free(resp);
    resp = call(gw, &lg, "{\"v\":1,\"op\":\"start\",\"vm\":\"gw-long\"}");
    if (!strstr(resp, "no VM named 'gw-long'"))
        fail_msg("start of a VM with a longer tenant id: %s", resp);
    free(resp);
    assert_int_equal(domain_active("gw-long"), 0);
    resp = call(gw, &root, "{\"v\":1,\"op\":\"list\"}");
    assert_non_null(strstr(resp, "gw-long"));
    free(resp);
    /* a create carrying the longer id: refused, naming why, and nothing defined */
    DBG_AUTOFREE char *line = create_line("gw-long2", id64, "/var/lib/dbg-test/gw-long2.img");
    resp = call(gw, &lg, line);
    if (strstr(resp, "\"ok\":true") || !strstr(resp, "is 64 bytes; a tenant id is at most 63"))
        fail_msg("create with a longer tenant id: %s", resp);
    free(resp);
    assert_null(virDomainLookupByName(vc, "gw-long2"));
    dbg_gateway_free(gw);
    dbg_gw_ledger_free(ledger);
    dbg_gw_policy_free(p);
    undefine_vm("gw-long");
    undefine_vm("gw-own63");
    virConnectClose(vc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_valid),
        cmocka_unit_test(test_request_invalid),
        cmocka_unit_test(test_name_ok),
        cmocka_unit_test(test_policy_decisions),
        cmocka_unit_test(test_policy_errors),
        cmocka_unit_test(test_policy_grants_nothing),
        cmocka_unit_test(test_tickets),
        cmocka_unit_test(test_tickets_persist),
        cmocka_unit_test(test_domxml),
        cmocka_unit_test(test_gateway_flow),
        cmocka_unit_test(test_gateway_unseen_vm),
        cmocka_unit_test(test_gateway_unseen_ticket),
        cmocka_unit_test(test_gateway_unseen_disks),
        cmocka_unit_test(test_gateway_unseen_create),
        cmocka_unit_test(test_gateway_unseen_libvirt_text),
        cmocka_unit_test(test_gateway_libvirt_names_vm),
        cmocka_unit_test(test_gateway_approved_create_refused),
        cmocka_unit_test(test_disk_hooks),
        cmocka_unit_test(test_verify_missing_disk),
        cmocka_unit_test(test_verify_missing_volume),
        cmocka_unit_test(test_policy_migration),
        cmocka_unit_test(test_gateway_migration),
        cmocka_unit_test(test_gateway_long_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
