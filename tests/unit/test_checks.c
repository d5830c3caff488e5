/* Unit tests for src/checks: every registered check passes on a well-configured fixture
 * cloud built here in C, and each one fails (or errs) on a fixture with one deliberate gap,
 * with the evidence naming what was wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/catalog.h"
#include "dengbao/checks.h"
#include "dengbao/util.h"

typedef struct {
    dbg_snapshot s;
    dbg_check_params p;
    dbg_domain doms[4];
    dbg_iface ifs[8];
    dbg_disk disks[4];
    dbg_graphics gfx[2];
    dbg_network nets[4];
    dbg_pool pools[2];
    dbg_volume vols[4];
    dbg_nwfilter filters[10];
    dbg_nwfilter_rule rules[8];
    char *clean_refs[3];
    char *sg_refs[1];
    char *arp_refs[2];
    dbg_host_file files[20];
    dbg_setting settings[64];
    size_t n_settings;
    dbg_control controls[8];
    dbg_control_image seal_images[4];
} fixture;

static dbg_host_file *add_file(fixture *fx, const char *path, int present)
{
    dbg_host_file *f = &fx->files[fx->s.n_host_files++];
    assert_true(fx->s.n_host_files <= 20);
    f->path = (char *)path;
    f->present = present;
    f->settings = &fx->settings[fx->n_settings];
    return f;
}

/* Settings of a file must be added right after the file (they are contiguous). */
static void add_set(fixture *fx, dbg_host_file *f, const char *key, const char *value)
{
    dbg_setting *st = &fx->settings[fx->n_settings++];
    assert_true(fx->n_settings <= 64);
    st->file = f->path;
    st->line = (int)f->n_settings + 1;
    st->key = (char *)key;
    st->value = (char *)value;
    f->n_settings++;
}

static void add_control(fixture *fx, const char *name, int deployed, int healthy)
{
    dbg_control *c = &fx->controls[fx->s.n_controls++];
    c->name = (char *)name;
    c->deployed = deployed;
    c->healthy = healthy;
    c->detail = (char *)"pid 42, updated 10 s ago";
}

/* A small cloud where every check passes. */
static fixture *good_cloud(void)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    dbg_snapshot *s = &fx->s;
    fx->p.level = 3;
    fx->p.hosts_level = 3;
    s->schema_version = 1;
    s->uri = (char *)"test:///fixture";
    s->nwfilter_supported = 1;
    s->bindings_supported = 1;

    fx->nets[0] = (dbg_network){.name = (char *)"mgmt",
                                .forward_mode = (char *)"nat",
                                .bridge = (char *)"virbr-mgmt",
                                .role = (char *)"management"};
    fx->nets[1] = (dbg_network){.name = (char *)"tenant-a",
                                .forward_mode = (char *)"nat",
                                .bridge = (char *)"virbr-a",
                                .role = (char *)"tenant",
                                .tenant_id = (char *)"acme"};
    fx->nets[2] = (dbg_network){.name = (char *)"tenant-b",
                                .forward_mode = (char *)"route",
                                .bridge = (char *)"virbr-b",
                                .role = (char *)"tenant",
                                .tenant_id = (char *)"globex"};
    s->networks = fx->nets;
    s->n_networks = 3;

    fx->ifs[0] = (dbg_iface){.mac = (char *)"52:54:00:00:0a:01",
                             .type = (char *)"network",
                             .source = (char *)"tenant-a",
                             .filterref = (char *)"tenant-sg",
                             .vlan = -1};
    fx->ifs[1] = (dbg_iface){.mac = (char *)"52:54:00:00:0b:01",
                             .type = (char *)"network",
                             .source = (char *)"tenant-b",
                             .filterref = (char *)"tenant-sg",
                             .vlan = -1};
    fx->ifs[2] = (dbg_iface){.mac = (char *)"52:54:00:00:00:01",
                             .type = (char *)"network",
                             .source = (char *)"mgmt",
                             .vlan = -1};
    fx->disks[0] = (dbg_disk){.device = (char *)"disk",
                              .type = (char *)"volume",
                              .source = (char *)"/pool/acme-web.qcow2",
                              .target = (char *)"vda",
                              .encrypted = 1,
                              .encryption_format = (char *)"luks"};
    fx->disks[1] = (dbg_disk){.device = (char *)"disk",
                              .type = (char *)"file",
                              .source = (char *)"/pool/globex-db.qcow2",
                              .target = (char *)"vda",
                              .backing = (char *)"/pool/base.qcow2"};
    fx->gfx[0] = (dbg_graphics){.type = (char *)"vnc", .listen = (char *)"127.0.0.1", .port = -1};
    fx->doms[0] = (dbg_domain){.name = (char *)"acme-web",
                               .tenant_id = (char *)"acme",
                               .ifaces = &fx->ifs[0],
                               .n_ifaces = 1,
                               .disks = &fx->disks[0],
                               .n_disks = 1,
                               .graphics = &fx->gfx[0],
                               .n_graphics = 1,
                               .sensitive = 1};
    fx->doms[1] = (dbg_domain){.name = (char *)"globex-db",
                               .tenant_id = (char *)"globex",
                               .ifaces = &fx->ifs[1],
                               .n_ifaces = 1,
                               .disks = &fx->disks[1],
                               .n_disks = 1};
    fx->doms[2] = (dbg_domain){.name = (char *)"mgmt-ctl",
                               .role = (char *)"management",
                               .ifaces = &fx->ifs[2],
                               .n_ifaces = 1};
    s->domains = fx->doms;
    s->n_domains = 3;

    fx->clean_refs[0] = (char *)"no-mac-spoofing";
    fx->clean_refs[1] = (char *)"no-ip-spoofing";
    fx->clean_refs[2] = (char *)"no-arp-spoofing";
    fx->arp_refs[0] = (char *)"no-arp-mac-spoofing";
    fx->arp_refs[1] = (char *)"no-arp-ip-spoofing";
    fx->filters[0] =
        (dbg_nwfilter){.name = (char *)"clean-traffic", .refs = fx->clean_refs, .n_refs = 3};
    /* The rules as libvirt ships them: return what the port may send, drop the rest. */
    dbg_nwfilter_rule *r = fx->rules;
    r[0] = (dbg_nwfilter_rule){(char *)"return", (char *)"out", 500};
    r[1] = (dbg_nwfilter_rule){(char *)"drop", (char *)"out", 500};
    r[2] = (dbg_nwfilter_rule){(char *)"return", (char *)"out", 500};
    r[3] = (dbg_nwfilter_rule){(char *)"return", (char *)"out", 500};
    r[4] = (dbg_nwfilter_rule){(char *)"drop", (char *)"out", 1000};
    r[5] = (dbg_nwfilter_rule){(char *)"accept", (char *)"inout", 500};
    fx->filters[1] = (dbg_nwfilter){
        .name = (char *)"no-mac-spoofing", .n_rules = 2, .rules = &r[0], .n_rules_listed = 2};
    fx->filters[2] = (dbg_nwfilter){
        .name = (char *)"no-ip-spoofing", .n_rules = 3, .rules = &r[2], .n_rules_listed = 3};
    fx->filters[3] =
        (dbg_nwfilter){.name = (char *)"no-arp-spoofing", .refs = fx->arp_refs, .n_refs = 2};
    fx->filters[4] = (dbg_nwfilter){
        .name = (char *)"allow-all", .n_rules = 1, .rules = &r[5], .n_rules_listed = 1};
    /* A security group as a provider writes one: ssh in, the rest dropped, on clean-traffic. */
    r[6] = (dbg_nwfilter_rule){(char *)"accept", (char *)"in", 400};
    r[7] = (dbg_nwfilter_rule){(char *)"drop", (char *)"inout", 900};
    fx->sg_refs[0] = (char *)"clean-traffic";
    fx->filters[5] = (dbg_nwfilter){.name = (char *)"tenant-sg", .refs = fx->sg_refs,
                                    .n_refs = 1, .n_rules = 2, .rules = &r[6],
                                    .n_rules_listed = 2};
    fx->filters[6] = (dbg_nwfilter){
        .name = (char *)"no-arp-mac-spoofing", .n_rules = 2, .rules = &r[0], .n_rules_listed = 2};
    fx->filters[7] = (dbg_nwfilter){
        .name = (char *)"no-arp-ip-spoofing", .n_rules = 2, .rules = &r[0], .n_rules_listed = 2};
    s->nwfilters = fx->filters;
    s->n_nwfilters = 8;

    fx->pools[0] = (dbg_pool){.name = (char *)"ceph",
                              .type = (char *)"rbd",
                              .replicas = 3,
                              .supports_replicas = 1,
                              .wipe_algorithm = (char *)"zero"};
    s->pools = fx->pools;
    s->n_pools = 1;
    fx->vols[0] = (dbg_volume){.name = (char *)"acme-web.qcow2",
                               .pool = (char *)"ceph",
                               .path = (char *)"/pool/acme-web.qcow2",
                               .encrypted = 1,
                               .tenant_id = (char *)"acme",
                               .in_use = 1,
                               .allocation = 1 << 20};
    fx->vols[1] = (dbg_volume){.name = (char *)"globex-db.qcow2",
                               .pool = (char *)"ceph",
                               .path = (char *)"/pool/globex-db.qcow2",
                               .tenant_id = (char *)"globex",
                               .in_use = 1};
    fx->vols[2] = (dbg_volume){
        .name = (char *)"base.qcow2", .pool = (char *)"ceph", .path = (char *)"/pool/base.qcow2"};
    s->volumes = fx->vols;
    s->n_volumes = 3;

    s->host_files = fx->files;
    dbg_host_file *f = add_file(fx, "/etc/libvirt/libvirtd.conf", 1);
    add_set(fx, f, "listen_tls", "1");
    add_set(fx, f, "listen_tcp", "0");
    add_set(fx, f, "tls_allowed_dn_list", "[\"CN=admin\"]");
    add_set(fx, f, "audit_level", "2");
    f = add_file(fx, "/etc/libvirt/qemu.conf", 1);
    add_set(fx, f, "migrate_tls_force", "1");
    add_set(fx, f, "migrate_tls_x509_cert_dir", "\"/etc/pki/qemu-migrate\"");
    f = add_file(fx, "/etc/login.defs", 1);
    add_set(fx, f, "PASS_MAX_DAYS", "90");
    f = add_file(fx, "/etc/pam.d/common-password", 1);
    add_set(fx, f, "password", "requisite pam_pwquality.so retry=3 minlen=12 minclass=3");
    f = add_file(fx, "/etc/pam.d/common-auth", 1);
    add_set(fx, f, "auth", "required pam_faillock.so preauth deny=5 unlock_time=1800");
    f = add_file(fx, "/etc/profile", 1);
    add_set(fx, f, "readonly TMOUT", "900");
    f = add_file(fx, "/etc/ssh/sshd_config", 1);
    add_set(fx, f, "PermitRootLogin", "no");
    add_set(fx, f, "ClientAliveInterval", "300");
    add_set(fx, f, "ClientAliveCountMax", "2");
    f = add_file(fx, "/run/auditd.pid", 1);
    add_set(fx, f, "pid", "812");
    add_set(fx, f, "process", "running (/proc/812/comm is auditd)");
    f = add_file(fx, "/etc/audit/auditd.conf", 1);
    add_set(fx, f, "max_log_file_action", "keep_logs");
    f = add_file(fx, "/etc/audit/rules.d/dengbao.rules", 1);
    add_set(fx, f, "-D", NULL);
    add_set(fx, f, "-w", "/etc/passwd -p wa -k identity");
    add_set(fx, f, "-w", "/etc/libvirt -p wa -k libvirt");
    f = add_file(fx, "/etc/chrony/chrony.conf", 1);
    add_set(fx, f, "pool", "ntp.example.cn iburst");

    s->controls = fx->controls;
    add_control(fx, "audit_log", 1, 1);
    add_control(fx, "gateway", 1, 1);
    add_control(fx, "guard", 1, 1);
    add_control(fx, "sensor", 1, 1);
    add_control(fx, "image_seals", 1, 1);
    /* the last seal/verify run covered both VM disks */
    fx->seal_images[0] =
        (dbg_control_image){.path = (char *)"/pool/acme-web.qcow2", .state = (char *)"intact"};
    fx->seal_images[1] =
        (dbg_control_image){.path = (char *)"/pool/globex-db.qcow2", .state = (char *)"sealed"};
    dbg_control *seals = &fx->controls[fx->s.n_controls - 1];
    seals->images_listed = 1;
    seals->images = fx->seal_images;
    seals->n_images = 2;
    add_control(fx, "centralized_audit", 1, 1);
    add_control(fx, "malware", 1, 1);
    return fx;
}

static dbg_setting *setting(fixture *fx, const char *path, const char *key)
{
    for (size_t i = 0; i < fx->s.n_host_files; i++)
        if (!strcmp(fx->files[i].path, path))
            for (size_t j = 0; j < fx->files[i].n_settings; j++)
                if (!strcmp(fx->files[i].settings[j].key, key))
                    return &fx->files[i].settings[j];
    fail_msg("fixture has no %s in %s", key, path);
    abort();
}

static dbg_host_file *file(fixture *fx, const char *path)
{
    for (size_t i = 0; i < fx->s.n_host_files; i++)
        if (!strcmp(fx->files[i].path, path))
            return &fx->files[i];
    fail_msg("fixture has no %s", path);
    abort();
}

static dbg_control *control(fixture *fx, const char *name)
{
    for (size_t i = 0; i < fx->s.n_controls; i++)
        if (!strcmp(fx->controls[i].name, name))
            return &fx->controls[i];
    fail_msg("fixture has no control %s", name);
    abort();
}

static void dump(const dbg_evidence_list *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        print_message("  [%s] %s | %s | observed: %s | expected: %s\n",
                      ev->items[i].ok ? "ok" : "--", ev->items[i].source, ev->items[i].key,
                      ev->items[i].observed, ev->items[i].expected);
}

/* Runs check id on fx; asserts the result and that some evidence item with the given ok
 * flag mentions needle (in source, key or observed). */
static void expect(fixture *fx, const char *id, dbg_check_result want, int ok, const char *needle)
{
    const dbg_check *c = dbg_check_find(id);
    assert_non_null(c);
    dbg_evidence_list ev = {0};
    dbg_check_result r = dbg_check_run(c, &fx->s, &fx->p, &ev);
    int found = 0;
    for (size_t i = 0; i < ev.n && !found; i++) {
        const dbg_evidence *e = &ev.items[i];
        if (e->ok != ok)
            continue;
        found = (e->source && strstr(e->source, needle)) || (e->key && strstr(e->key, needle)) ||
                (e->observed && strstr(e->observed, needle));
    }
    if (r != want || !found) {
        print_message("%s: got %s, want %s, evidence (ok=%d) with '%s' %s\n", id,
                      dbg_check_result_name(r), dbg_check_result_name(want), ok, needle,
                      found ? "found" : "missing");
        dump(&ev);
    }
    dbg_evidence_list_free(&ev);
    assert_int_equal(r, want);
    assert_true(found);
}

static void test_registry(void **state)
{
    (void)state;
    assert_true(dbg_check_count() >= 30);
    for (size_t i = 0; i < dbg_check_count(); i++) {
        const dbg_check *c = dbg_check_at(i);
        assert_non_null(c->fn);
        assert_non_null(c->title);
        assert_non_null(c->title_en);
        assert_true(strlen(c->items) > 0);
        assert_true(dbg_check_exists(c->id, NULL));
        for (size_t j = i + 1; j < dbg_check_count(); j++)
            assert_string_not_equal(c->id, dbg_check_at(j)->id);
    }
    assert_null(dbg_check_find("no.such.check"));
    assert_null(dbg_check_at(dbg_check_count()));
    dbg_check_result r;
    assert_int_equal(dbg_check_result_parse("not-applicable", &r), 0);
    assert_int_equal(r, DBG_CHECK_NA);
    assert_int_equal(dbg_check_result_parse("maybe", &r), -1);
}

/* Every check passes on the good cloud, always with supporting evidence. */
static void test_all_pass_on_good_cloud(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    for (size_t i = 0; i < dbg_check_count(); i++) {
        const dbg_check *c = dbg_check_at(i);
        dbg_evidence_list ev = {0};
        dbg_check_result r = dbg_check_run(c, &fx->s, &fx->p, &ev);
        int ok = 0;
        for (size_t j = 0; j < ev.n; j++)
            ok |= ev.items[j].ok;
        if (r != DBG_CHECK_PASS || !ok) {
            print_message("%s -> %s\n", c->id, dbg_check_result_name(r));
            dump(&ev);
        }
        dbg_evidence_list_free(&ev);
        assert_int_equal(r, DBG_CHECK_PASS);
        assert_true(ok);
    }
    free(fx);
}

static void test_platform_level(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "net.platform_level", DBG_CHECK_PASS, 1,
           "platform level 3, hosted systems up to level 3");
    fx->p.hosts_level = 4;
    expect(fx, "net.platform_level", DBG_CHECK_FAIL, 0,
           "platform level 3, hosted systems up to level 4");
    fx->p.hosts_level = -1;
    expect(fx, "net.platform_level", DBG_CHECK_ERROR, 0, "not given");
    free(fx);
}

static void test_tenant_isolation(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "single tenant");
    /* globex's VM joins acme's network: two tenants on one L2 segment. */
    fx->ifs[1].source = (char *)"tenant-a";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "owned by another tenant");
    fx->nets[1].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "shared by several tenants on one L2 segment without port isolation or per-tenant "
           "VLANs: tenant acme: acme-web; tenant globex: globex-db");
    /* Attached by bridge name instead of network name: still the same segment. */
    fx->ifs[1].type = (char *)"bridge";
    fx->ifs[1].source = (char *)"virbr-a";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "tenant globex: globex-db");
    /* Per-tenant VLANs isolate them; a shared VLAN does not. */
    fx->ifs[0].vlan = 100;
    fx->ifs[1].vlan = 200;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "a separate VLAN per tenant");
    fx->ifs[1].vlan = 100;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "without port isolation");
    /* A trunk is on each of its VLANs: one carrying the other tenant's VLAN shares it (its
     * first tag alone, 300, once read as a separate VLAN), one carrying others does not. */
    int trunk[] = {300, 100};
    fx->ifs[0].vlan = -1;
    fx->ifs[0].vlan_tags = trunk;
    fx->ifs[0].n_vlan_tags = 2;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "without port isolation");
    trunk[1] = 400;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "a separate VLAN per tenant");
    fx->ifs[0].vlan_tags = NULL;
    fx->ifs[0].n_vlan_tags = 0;
    fx->ifs[0].vlan = 100;
    fx->nets[1].port_isolated = 1;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "ports isolated");
    /* The same isolation per interface: every tenant port on the segment must have it. */
    fx->nets[1].port_isolated = 0;
    fx->ifs[0].port_isolated = 1;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "without port isolation");
    fx->ifs[1].port_isolated = 1;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1,
           "shared, every tenant port isolated (<interface> <port isolated='yes'/>)");
    fx->ifs[0].port_isolated = fx->ifs[1].port_isolated = 0;
    /* Two tenants on one macvtap device: one L2 segment too. */
    fx->ifs[0].type = fx->ifs[1].type = (char *)"direct";
    fx->ifs[0].source = fx->ifs[1].source = (char *)"eth1";
    fx->ifs[0].vlan = fx->ifs[1].vlan = -1;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "direct device eth1");
    fx->ifs[1].source = (char *)"eth2";
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "single tenant: tenant globex");
    fx->nets[1].port_isolated = 1;
    fx->ifs[0].type = (char *)"network";
    fx->ifs[1].type = (char *)"bridge";
    fx->ifs[0].source = (char *)"tenant-a";
    fx->ifs[1].source = (char *)"virbr-a";
    /* VMs naming no tenant cannot be placed: not checked, never not-applicable. */
    fx->doms[0].tenant_id = fx->doms[1].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "2 VM(s) with network interfaces name no tenant and are not marked as platform VMs, "
           "so this cannot be judged for them: acme-web, globex-db");
    /* No tenant VMs with a network at all. */
    fx->doms[0].n_ifaces = fx->doms[1].n_ifaces = 0;
    expect(fx, "net.tenant_isolation", DBG_CHECK_NA, 1, "no VM names a tenant");
    free(fx);
}

/* A VM with neither tenant nor role metadata (usual on a plain libvirt host) may be any
 * tenant's: checks that depend on tenancy must not pass or be not-applicable because of it,
 * while a failure among the labelled VMs stays a failure. */
static void test_unplaced_vms(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->doms[1].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "VMs naming neither a tenant nor a role");
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "cannot be judged for them: globex-db");
    /* It shares acme's segment: "single tenant" is not established. */
    fx->ifs[1].source = (char *)"tenant-a";
    fx->nets[1].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "globex-db");
    /* A tenant named without an id is that tenant; whether it is acme, known by id only,
     * cannot be told. */
    fx->doms[1].tenant_name = (char *)"Globex";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "whether tenants id acme (VM acme-web) and name Globex (VM globex-db) are one tenant "
           "cannot be told");
    /* acme's name is known and is another one: two tenants. */
    fx->doms[0].tenant_name = (char *)"Acme";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "tenant Globex: globex-db");
    fx->ifs[1].source = (char *)"tenant-b";
    fx->nets[2].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "single tenant: tenant Globex");
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_PASS, 1, "none on management network");
    fx->ifs[1].source = (char *)"mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0, "tenant Globex's VM attached");
    fx->ifs[1].source = (char *)"tenant-b";
    /* The platform's own VM loses its role: unplaced, and a labelled failure stays one. */
    fx->doms[2].role = NULL;
    fx->nets[1].tenant_id = (char *)"acme";
    fx->ifs[1].source = (char *)"tenant-a";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "owned by another tenant");
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "cannot be judged for them: mgmt-ctl");
    fx->ifs[1].source = (char *)"tenant-b";
    fx->doms[2].role = (char *)"management";

    /* Every tenant VM unlabelled. */
    fx->doms[0].tenant_id = fx->doms[0].tenant_name = fx->doms[1].tenant_name = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "acme-web, globex-db");
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_ERROR, 0, "acme-web, globex-db");
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_ERROR, 0, "acme-web, globex-db");
    fx->nets[1].role = fx->nets[2].role = NULL;
    fx->nets[1].tenant_id = fx->nets[2].tenant_id = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "acme-web, globex-db");
    /* One labelled VM with a gap: a failure whatever the unplaced one is. */
    fx->doms[0].tenant_id = (char *)"acme";
    fx->ifs[0].filterref = NULL;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "interface 52:54:00:00:0a:01");
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "globex-db");
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_FAIL, 0, "no filterref");
    fx->ifs[0].filterref = (char *)"clean-traffic";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_ERROR, 0, "globex-db");
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_ERROR, 0, "globex-db");
    free(fx);
}

/* A tenant may be named by id, by name or both; networks name their owner the same way. A
 * name is compared with an id only through a VM or network that gives both: otherwise the
 * relation is unknown, neither a match nor a mismatch, and the check is not checked for that
 * pair, naming it, unless other evidence decides it. */
static void test_tenant_name_vs_id(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    /* globex's VM gives only its tenant's name; tenant-b's owner is given by id only. */
    fx->doms[1].tenant_id = NULL;
    fx->doms[1].tenant_name = (char *)"Globex";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "single tenant; whether tenant name Globex (VM globex-db) is the network's owner id "
           "globex cannot be told");
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "give both in the metadata");
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 1, "network tenant-a");
    /* Another VM ties the name to the id: the owner's. */
    fx->ifs[3] = (dbg_iface){.mac = (char *)"52:54:00:00:0b:02",
                             .type = (char *)"network",
                             .source = (char *)"tenant-b",
                             .filterref = (char *)"clean-traffic",
                             .vlan = -1};
    fx->doms[3] = (dbg_domain){.name = (char *)"globex-app",
                               .tenant_id = (char *)"globex",
                               .tenant_name = (char *)"Globex",
                               .ifaces = &fx->ifs[3],
                               .n_ifaces = 1};
    fx->s.n_domains = 4;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1,
           "single tenant: tenant globex: globex-app globex-db");
    /* A name the snapshot does not tie to globex, which is known as Globex: another tenant. */
    fx->doms[1].tenant_name = (char *)"Initech";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "network owned by another tenant (owner id globex): tenant globex: globex-app; "
           "tenant Initech: globex-db");
    /* The same name given with two ids: either tenant's. */
    fx->doms[1].tenant_name = (char *)"Globex";
    fx->doms[2].tenant_id = (char *)"globex-2"; /* the platform VM's metadata: a tie too */
    fx->doms[2].tenant_name = (char *)"Globex";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "whether tenants id globex (name Globex) (VM globex-app) and name Globex (VM "
           "globex-db) are one tenant cannot be told");
    fx->doms[3].n_ifaces = 0; /* globex-app off the network: only the owner to compare with */
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "whether tenant name Globex (VM globex-db) is the network's owner id globex cannot");
    fx->doms[3].n_ifaces = 1;
    fx->doms[2].tenant_id = fx->doms[2].tenant_name = NULL;
    fx->s.n_domains = 3;

    /* A shared segment with no owner: acme known by id only, Globex by name only. */
    fx->ifs[1].source = (char *)"tenant-a";
    fx->nets[1].tenant_id = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "shared without port isolation or per-tenant VLANs, if its VMs' tenants differ; "
           "whether tenants id acme (VM acme-web) and name Globex (VM globex-db) are one tenant "
           "cannot be told");
    /* Isolation that does not depend on who is whom decides it. */
    fx->nets[1].port_isolated = 1;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "ports isolated");
    fx->nets[1].port_isolated = 0;
    fx->ifs[0].vlan = 100;
    fx->ifs[1].vlan = 200;
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "a separate VLAN per tenant");
    fx->ifs[1].vlan = 100;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "are one tenant cannot be told");
    fx->ifs[0].vlan = fx->ifs[1].vlan = -1;
    /* acme's VM gives its name too, and it is another one: two tenants, a failure. */
    fx->doms[0].tenant_name = (char *)"Acme";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "shared by several tenants on one L2 segment without port isolation or per-tenant "
           "VLANs: tenant acme: acme-web; tenant Globex: globex-db");
    /* ... or it is the same name: one tenant. */
    fx->doms[0].tenant_name = (char *)"Globex";
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "single tenant: tenant acme");
    /* A failure elsewhere stays a failure next to an unknown pair. */
    fx->doms[0].tenant_name = NULL;
    fx->ifs[2].source = (char *)"tenant-b";
    fx->doms[2].role = NULL;
    fx->doms[2].tenant_id = (char *)"initech";
    fx->nets[0].role = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "owned by another tenant (owner id globex): tenant initech: mgmt-ctl");
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "are one tenant cannot be told");
    free(fx);
}

/* A network may name its owner by name only; it is compared through the same ties. */
static void test_network_owner_by_name(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->doms[0].tenant_name = (char *)"Acme";
    fx->nets[1].tenant_id = NULL;
    fx->nets[1].tenant_name = (char *)"Acme";
    expect(fx, "net.tenant_isolation", DBG_CHECK_PASS, 1, "single tenant: tenant acme");
    /* tenant-b declared as Acme's: globex's VM is on another tenant's network. */
    fx->nets[2].tenant_id = NULL;
    fx->nets[2].tenant_name = (char *)"Acme";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "network owned by another tenant (owner name Acme): tenant globex: globex-db");
    /* A network ties a name to an id as a VM does. */
    fx->doms[0].tenant_name = NULL;
    fx->nets[2].tenant_id = (char *)"globex";
    fx->nets[2].tenant_name = (char *)"Globex";
    fx->doms[1].tenant_id = NULL;
    fx->doms[1].tenant_name = (char *)"Globex";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "whether tenant id acme (VM acme-web) is the network's owner name Acme cannot");
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 1, "single tenant: tenant globex");
    /* An owner named by name alone makes a network a tenant network for the boundary check. */
    fx->nets[3] = (dbg_network){
        .name = (char *)"spare", .forward_mode = (char *)"bridge", .tenant_name = (char *)"Acme"};
    fx->s.n_networks = 4;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1, "virNetworkGetXMLDesc(spare)");
    free(fx);
}

static void test_security_mechanisms(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    control(fx, "sensor")->deployed = 0;
    expect(fx, "net.security_mechanisms", DBG_CHECK_PARTIAL, 0, "not deployed");
    /* nwfilters not listed: what the platform offers is not seen. With the sensor running
     * that part is unknown (未检查), not missing (部分符合); without it, the gap seen stands. */
    fx->s.nwfilter_supported = 0;
    fx->s.nwfilter_note = (char *)"not supported by this driver";
    expect(fx, "net.security_mechanisms", DBG_CHECK_FAIL, 0, "not deployed");
    expect(fx, "net.security_mechanisms", DBG_CHECK_FAIL, 0,
           "not checked: the nwfilter list could not be read (not supported by this driver)");
    control(fx, "sensor")->deployed = 1;
    expect(fx, "net.security_mechanisms", DBG_CHECK_ERROR, 0,
           "not checked: the nwfilter list could not be read (not supported by this driver)");
    expect(fx, "net.security_mechanisms", DBG_CHECK_ERROR, 1, "deployed and healthy");
    /* running but degraded (attribution on a stale inventory): a gap seen, partial */
    control(fx, "sensor")->degraded = (char *)"attribution rests on the inventory of T0";
    expect(fx, "net.security_mechanisms", DBG_CHECK_PARTIAL, 0,
           "degraded: attribution rests on the inventory of T0");
    fx->s.nwfilter_supported = 1;
    expect(fx, "net.security_mechanisms", DBG_CHECK_PARTIAL, 0,
           "degraded: attribution rests on the inventory of T0");
    free(fx);
}

/* Two ports with one MAC address on one L2 segment: the bridge delivers one VM's frames to the
 * other and no-mac-spoofing lets both send with it, so anti-spoofing fails whatever the
 * filters say. The same address on another network or another VLAN is another station. */
static void test_shared_mac(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->ifs[3] = fx->ifs[0]; /* same MAC, network tenant-a, tenant-sg */
    fx->doms[3] = (dbg_domain){.name = (char *)"zeta-db",
                               .tenant_id = (char *)"acme",
                               .ifaces = &fx->ifs[3],
                               .n_ifaces = 1};
    fx->s.n_domains = 4;
    const char *both = "52:54:00:00:0a:01 is also used by VM zeta-db on the same L2 segment "
                       "(network tenant-a";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, both);
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "virDomainGetXMLDesc(acme-web)");
    /* A hand-made snapshot may spell it in capitals: still one address. */
    fx->ifs[3].mac = (char *)"52:54:00:00:0A:01";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, both);
    /* A port on the network's bridge by name is on that network. */
    fx->ifs[3].type = (char *)"bridge";
    fx->ifs[3].source = (char *)"virbr-a";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, both);
    /* Two VLANs of one bridge: two forwarding tables, two stations. */
    fx->ifs[0].vlan = 10;
    fx->ifs[3].vlan = 20;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_PASS, 1, "blocks MAC spoofing: yes");
    fx->ifs[3].vlan = 10;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "(network tenant-a, VLAN 10)");
    /* a trunk (vlan -1, its tags listed) is taken on its first VLAN */
    int trunk[] = {10, 20};
    fx->ifs[0].vlan = -1;
    fx->ifs[0].vlan_tags = trunk;
    fx->ifs[0].n_vlan_tags = 2;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "(network tenant-a, VLAN 10)");
    fx->ifs[0].vlan_tags = NULL;
    fx->ifs[0].n_vlan_tags = 0;
    fx->ifs[0].vlan = 10;
    /* Another network is another segment. */
    fx->ifs[3].type = (char *)"network";
    fx->ifs[3].source = (char *)"tenant-b";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_PASS, 1, "blocks MAC spoofing: yes");
    /* A platform VM with a tenant VM's address on the network counts too, and so does
     * another tenant's VM. */
    fx->ifs[3].source = (char *)"tenant-a";
    fx->ifs[3].vlan = 10;
    fx->doms[3].tenant_id = NULL;
    fx->doms[3].role = (char *)"management";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, both);
    fx->doms[3].role = NULL;
    fx->doms[3].tenant_id = (char *)"globex";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, both);
    free(fx);
}

/* A tenant VM interface that joins no bridge or device libvirt shows (a QEMU multicast, UDP or
 * TCP socket link, a tap the host wires itself, a vhost-user or vDPA switch port, a host
 * device) is an L2 segment the snapshot does not hold: two tenants' VMs joined by one multicast
 * group share a wire no firewall or filter sees. Isolation and the boundary control are not
 * shown for it (未检查), never a pass nor, with no other port, not applicable. */
static void test_tenant_ports_outside_libvirt(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->ifs[3] = fx->ifs[1];
    fx->ifs[4] =
        (dbg_iface){.mac = (char *)"52:54:00:00:0b:02", .type = (char *)"mcast", .vlan = -1};
    fx->doms[1].ifaces = &fx->ifs[3];
    fx->doms[1].n_ifaces = 2;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "globex-db (mcast)");
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "globex-db (mcast)");
    /* a failure seen elsewhere still decides */
    fx->ifs[3].source = (char *)"tenant-a";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "network owned by another tenant");
    /* only such ports: not "no tenant VM" */
    fx->ifs[0].type = (char *)"mcast";
    fx->ifs[0].source = NULL;
    fx->ifs[3].type = (char *)"vhostuser";
    fx->ifs[3].source = (char *)"/run/openvswitch/vhu0";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "acme-web (mcast)");
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "globex-db (vhostuser)");
    /* user-mode networking is the VM's own NAT: no segment shared with anyone */
    fx->ifs[0].type = (char *)"user";
    fx->ifs[3].type = (char *)"user";
    fx->ifs[4].type = (char *)"user";
    expect(fx, "net.tenant_isolation", DBG_CHECK_NA, 1, "none");
    free(fx);
}

/* A QEMU socket link joins NICs by address alone. Two tenants' VMs on one multicast group, or
 * at the two ends of one UDP link, share a wire nothing can filter: isolation fails. One
 * tenant's link is still not a pass: another host's VMs, or any process, can be its other end. */
static void test_socket_link_tenants(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->ifs[3] = fx->ifs[1];
    fx->ifs[4] = (dbg_iface){.mac = (char *)"52:54:00:00:0b:02", .type = (char *)"mcast",
                             .link_address = (char *)"230.0.0.1:5558", .vlan = -1};
    fx->doms[1].ifaces = &fx->ifs[3];
    fx->doms[1].n_ifaces = 2;
    fx->ifs[5] = fx->ifs[0];
    fx->ifs[6] = (dbg_iface){.mac = (char *)"52:54:00:00:0a:02", .type = (char *)"mcast",
                             .link_address = (char *)"230.0.0.1:5558", .vlan = -1};
    fx->doms[0].ifaces = &fx->ifs[5];
    fx->doms[0].n_ifaces = 2;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "QEMU socket link multicast group 230.0.0.1:5558");
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "joins VMs of different tenants");
    /* the filter check still cannot see what guards the link */
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "globex-db (mcast)");
    /* another group: each tenant alone on its own, which is not seen to be isolated either */
    fx->ifs[6].link_address = (char *)"230.0.0.2:5558";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "may be outside this host");
    /* a UDP link: each VM's remote end is the other's local end */
    fx->ifs[4] = (dbg_iface){.mac = (char *)"52:54:00:00:0b:02", .type = (char *)"udp",
                             .link_address = (char *)"127.0.0.1:5555",
                             .link_local = (char *)"127.0.0.1:5556", .vlan = -1};
    fx->ifs[6] = (dbg_iface){.mac = (char *)"52:54:00:00:0a:02", .type = (char *)"udp",
                             .link_address = (char *)"127.0.0.1:5556",
                             .link_local = (char *)"127.0.0.1:5555", .vlan = -1};
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0,
           "UDP link 127.0.0.1:5555 <-> 127.0.0.1:5556");
    /* a TCP link: the client connects where the server listens */
    fx->ifs[4].type = (char *)"server";
    fx->ifs[4].link_local = NULL;
    fx->ifs[6].type = (char *)"client";
    fx->ifs[6].link_address = (char *)"127.0.0.1:5555";
    fx->ifs[6].link_local = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "TCP link 127.0.0.1:5555");
    /* both ends one tenant's: not seen to be isolated, not failed */
    fx->doms[0].tenant_id = (char *)"globex";
    fx->ifs[5].source = (char *)"tenant-b";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "may be outside this host");
    /* a link whose address the snapshot lacks (an older snapshot) is listed as unseen */
    fx->ifs[6].link_address = NULL;
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0, "acme-web (client)");
    free(fx);
}

static void test_vnet_boundary_acl(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1, "nat: libvirt applies its firewall");
    fx->nets[1].forward_mode = (char *)"open";
    fx->ifs[0].filterref = NULL;
    expect(
        fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
        "open: no libvirt firewall rules and 1 tenant port(s) without a restricting nwfilter (e.g. "
        "VM acme-web: no filterref)");
    fx->ifs[0].filterref = (char *)"tenant-sg";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1, "every tenant port has an nwfilter");
    /* libvirt's clean-traffic drops spoofed frames and nothing else: it says nothing of who
     * may reach the VM, so it is no access control rule. */
    fx->ifs[0].filterref = (char *)"clean-traffic";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "1 tenant port(s) without a restricting nwfilter (e.g. VM acme-web: filter "
           "clean-traffic drops only spoofed or stray traffic (libvirt's no-mac-spoofing): no "
           "rule on who may reach the VM)");
    /* A filter is the control only if it exists: the listed filters lack it (libvirt would
     * not start the VM), or the driver shows no filters at all (the test driver): a name
     * nobody saw protects nothing known. */
    fx->ifs[0].filterref = (char *)"no-such-filter";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "1 tenant port(s) without a restricting nwfilter (e.g. VM acme-web: filter "
           "no-such-filter is not defined)");
    fx->ifs[0].filterref = (char *)"clean-traffic";
    fx->s.nwfilter_supported = 0;
    fx->s.nwfilter_note = (char *)"not supported by this driver";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "open: no libvirt firewall; 1 tenant port(s) have an nwfilter whose rules cannot be "
           "seen (e.g. VM acme-web: filter clean-traffic: the driver cannot show it (not "
           "supported by this driver))");
    fx->ifs[0].type = (char *)"bridge";
    fx->ifs[0].source = (char *)"br0";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "1 port(s) have an nwfilter whose rules cannot be seen, of 1 tenant port(s) (e.g. VM "
           "acme-web: filter clean-traffic: the driver cannot show it");
    fx->ifs[0].filterref = NULL; /* unfiltered is unfiltered, seen or not */
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0, "host bridge br0");
    free(fx);
}

/* A filter is an access-control rule set only if something in it, or in the filters it
 * includes, drops or rejects: libvirt's allow-all accepts everything. */
static void test_vnet_boundary_acl_filter_rules(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->nets[1].forward_mode = (char *)"open";
    fx->ifs[0].filterref = (char *)"allow-all";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "open: no libvirt firewall rules and 1 tenant port(s) without a restricting nwfilter "
           "(e.g. VM acme-web: filter allow-all accepts everything (no drop/reject rule))");
    /* On a nat network libvirt's firewall is the control whatever the port's filter. */
    fx->nets[1].forward_mode = (char *)"nat";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1, "nat: libvirt applies its firewall");
    /* Through includes: a filter of return/accept rules including only allow-all is none; the
     * drop of tenant-sg, reached through an include, counts (clean-traffic's would not). */
    fx->nets[1].forward_mode = (char *)"open";
    char *wrap_refs[2] = {(char *)"allow-all", (char *)"tenant-sg"};
    fx->filters[8] = (dbg_nwfilter){.name = (char *)"tenant-policy",
                                    .refs = wrap_refs,
                                    .n_refs = 1,
                                    .n_rules = 1,
                                    .rules = &fx->rules[2],
                                    .n_rules_listed = 1};
    fx->s.n_nwfilters = 9;
    fx->ifs[0].filterref = (char *)"tenant-policy";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "filter tenant-policy accepts everything (no drop/reject rule)");
    fx->filters[8].n_refs = 2;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1,
           "every tenant port has an nwfilter that drops or rejects traffic");
    /* A reject restricts as a drop does. */
    dbg_nwfilter_rule reject = {(char *)"reject", (char *)"in", 100};
    fx->filters[8].n_refs = 0;
    fx->filters[8].rules = &reject;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1,
           "every tenant port has an nwfilter that drops or rejects traffic");
    /* An included filter the snapshot lacks may hold the drop: unknown, not restricting, and
     * not "accepts everything" either; a drop elsewhere still decides. */
    char *gone_refs[2] = {(char *)"no-such-filter", (char *)"tenant-sg"};
    fx->filters[8].rules = &fx->rules[5]; /* accept */
    fx->filters[8].refs = gone_refs;
    fx->filters[8].n_refs = 1;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "1 tenant port(s) have an nwfilter whose rules cannot be seen (e.g. VM acme-web: "
           "filter no-such-filter is included but not in the snapshot)");
    fx->filters[8].n_refs = 2;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1, "drops or rejects traffic");
    /* Includes that loop (libvirt refuses them, a snapshot need not) end as unknown. */
    char *self_ref[1] = {(char *)"tenant-policy"};
    fx->filters[8].refs = self_ref;
    fx->filters[8].n_refs = 1;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "too deep or too often to follow");
    /* An action libvirt does not have says nothing either way. */
    dbg_nwfilter_rule odd = {(char *)"mirror", (char *)"in", 500};
    fx->filters[8].n_refs = 0;
    fx->filters[8].rules = &odd;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "rule action 'mirror'");
    /* A snapshot made before rule actions were recorded has counts only: whether clean-traffic
     * drops was not seen, so 未检查, neither 符合 nor 不符合. */
    fx->ifs[0].filterref = (char *)"clean-traffic";
    for (size_t i = 0; i < fx->s.n_nwfilters; i++) {
        fx->filters[i].rules = NULL;
        fx->filters[i].n_rules_listed = 0;
    }
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "filter no-mac-spoofing: the actions of its rules were not recorded");
    fx->ifs[0].filterref = (char *)"allow-all";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "filter allow-all: the actions of its rules were not recorded");
    /* The same port on a host bridge: the filter is judged the same way. */
    fx->filters[4].rules = &fx->rules[5];
    fx->filters[4].n_rules_listed = 1;
    fx->ifs[0].type = (char *)"bridge";
    fx->ifs[0].source = (char *)"br0";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "1 of 1 tenant port(s) without a restricting nwfilter (e.g. VM acme-web: filter "
           "allow-all accepts everything (no drop/reject rule))");
    /* Whether a policy travels with the VM is another question: allow-all migrates too. */
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_PASS, 1, "all 2 tenant interfaces");
    free(fx);
}

/* The same read from snapshot JSON: an old snapshot's allow-all (n_rules only) is 未检查,
 * the collected one with its accept rule 不符合. */
static void test_vnet_boundary_acl_snapshot_json(void **state)
{
    (void)state;
    static const char head[] =
        "{\"schema_version\": 1, \"nwfilter_supported\": true,"
        " \"domains\": [{\"name\": \"vm1\", \"tenant_id\": \"acme\", \"ifaces\": [{\"type\":"
        " \"network\", \"source\": \"t\", \"filterref\": \"allow-all\"}]}],"
        " \"networks\": [{\"name\": \"t\", \"forward_mode\": \"open\", \"role\": \"tenant\"}],"
        " \"pools\": [], \"volumes\": [], \"bindings\": [], \"host_files\": [],"
        " \"controls\": [], \"nwfilters\": [{\"name\": \"allow-all\", \"n_rules\": 1";
    const struct {
        const char *tail;
        dbg_check_result want;
    } cases[] = {
        {"}]}", DBG_CHECK_ERROR},
        {", \"rules\": [{\"action\": \"accept\", \"direction\": \"inout\"}]}]}", DBG_CHECK_FAIL},
        {", \"rules\": [{\"action\": \"drop\", \"direction\": \"inout\"}]}]}", DBG_CHECK_PASS},
    };
    dbg_check_params p = {.level = 3, .hosts_level = 3};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        DBG_AUTOFREE char *text = dbg_asprintf("%s%s", head, cases[i].tail);
        dbg_snapshot *s = dbg_snapshot_from_json(text, strlen(text), "case.json");
        assert_non_null(s);
        dbg_evidence_list ev = {0};
        dbg_check_result r = dbg_check_run(dbg_check_find("bnd.vnet_boundary_acl"), s, &p, &ev);
        if (r != cases[i].want)
            dump(&ev);
        assert_int_equal(r, cases[i].want);
        dbg_evidence_list_free(&ev);
        dbg_snapshot_free(s);
    }
}

/* A tenant port straight on a host bridge that no libvirt network owns, or on a macvtap
 * device, has no libvirt firewall: only its nwfilter is a virtual boundary control. */
static void test_vnet_boundary_acl_host_ports(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->ifs[0].type = (char *)"bridge";
    fx->ifs[0].source = (char *)"br0";
    fx->ifs[0].filterref = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "not a libvirt network: no libvirt firewall rules and 1 of 1 tenant port(s) without "
           "a restricting nwfilter (e.g. VM acme-web: no filterref)");
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0, "host bridge br0");
    fx->ifs[0].filterref = (char *)"clean-traffic";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0,
           "filter clean-traffic drops only spoofed or stray traffic");
    fx->ifs[0].filterref = (char *)"tenant-sg";
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1,
           "not a libvirt network (no libvirt firewall), but all 1 tenant port(s) on it have an "
           "nwfilter");
    /* The only tenant ports are on host devices and no network is a tenant's: still judged,
     * not "no tenant networks". */
    fx->nets[1].role = fx->nets[2].role = NULL;
    fx->nets[1].tenant_id = fx->nets[2].tenant_id = NULL;
    fx->doms[1].n_ifaces = 0;
    fx->ifs[0].type = (char *)"direct";
    fx->ifs[0].source = (char *)"eth1";
    fx->ifs[0].filterref = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0, "direct device eth1");
    /* No tenant port anywhere and no tenant network: nothing this applies to. */
    fx->doms[0].n_ifaces = 0;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_NA, 1, "tenant networks");
    free(fx);
}

static void test_control_checks(void **state)
{
    (void)state;
    static const struct {
        const char *check, *control;
        dbg_check_result without;
    } cases[] = {
        {"ctl.sensor", "sensor", DBG_CHECK_FAIL},
        {"ctl.audit_log", "audit_log", DBG_CHECK_FAIL},
        {"ctl.gateway_audit", "gateway", DBG_CHECK_PARTIAL},
        {"ctl.gateway_audit", "audit_log", DBG_CHECK_PARTIAL},
        {"ctl.guard", "guard", DBG_CHECK_FAIL},
        {"ctl.malware", "malware", DBG_CHECK_PARTIAL},
        {"ctl.image_seals", "image_seals", DBG_CHECK_FAIL},
        {"ctl.centralized_audit", "centralized_audit", DBG_CHECK_FAIL},
        {"mgmt.central_monitor", "guard", DBG_CHECK_PARTIAL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fixture *fx = good_cloud();
        expect(fx, cases[i].check, DBG_CHECK_PASS, 1, "deployed and healthy");
        control(fx, cases[i].control)->healthy = 0;
        expect(fx, cases[i].check, cases[i].without, 0, "deployed but not healthy");
        control(fx, cases[i].control)->deployed = 0;
        expect(fx, cases[i].check, cases[i].without, 0, "not deployed");
        free(fx);
    }
    /* Absent status file altogether: the reason names it. */
    fixture *fx = good_cloud();
    fx->s.n_controls = 0;
    expect(fx, "ctl.guard", DBG_CHECK_FAIL, 0, "no status file");
    expect(fx, "ctl.gateway_audit", DBG_CHECK_FAIL, 0, "/run/dengbao/status/gateway.json");
    expect(fx, "mgmt.central_monitor", DBG_CHECK_FAIL, 0, "/run/dengbao/status/sensor.json");
    expect(fx, "ctl.malware", DBG_CHECK_FAIL, 0, "/run/dengbao/status/malware.json");
    expect(fx, "ctl.malware", DBG_CHECK_FAIL, 0, "/run/dengbao/status/sensor.json");
    free(fx);
    /* Each of a pair alone is partial: the sensor without image scanning. */
    fx = good_cloud();
    control(fx, "malware")->deployed = 0;
    expect(fx, "ctl.malware", DBG_CHECK_PARTIAL, 1, "/run/dengbao/status/sensor.json");
    control(fx, "sensor")->healthy = 0;
    expect(fx, "ctl.malware", DBG_CHECK_FAIL, 0, "deployed but not healthy");
    free(fx);
    /* A control that runs but says it is degraded (the sensor's inventory not reloaded since
     * T0): partial, never pass, with its reason as evidence; in a pair, partial too, even
     * beside one missing. Not healthy stays a failure whatever it says. */
    fx = good_cloud();
    control(fx, "sensor")->degraded = (char *)"not reloaded since T0: VMs since not attributed";
    expect(fx, "ctl.sensor", DBG_CHECK_PARTIAL, 0,
           "degraded: not reloaded since T0: VMs since not attributed");
    expect(fx, "ctl.sensor", DBG_CHECK_PARTIAL, 1, "deployed and running");
    expect(fx, "mgmt.central_monitor", DBG_CHECK_PARTIAL, 0, "degraded: not reloaded since T0");
    control(fx, "guard")->deployed = 0;
    expect(fx, "mgmt.central_monitor", DBG_CHECK_PARTIAL, 0, "degraded: not reloaded since T0");
    control(fx, "sensor")->healthy = 0;
    expect(fx, "ctl.sensor", DBG_CHECK_FAIL, 0, "deployed but not healthy");
    free(fx);
}

/* 8.2.4.4b rests on the VMs' disks, not on the status file's "ok": an image sealed elsewhere
 * (the status said "1 image(s) sealed" and the check passed) covers none of them. */
static void test_image_seals_coverage(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    dbg_control *c = control(fx, "image_seals");
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "/pool/acme-web.qcow2: verified intact");
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "/pool/globex-db.qcow2: sealed");
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1,
           "2 of 2 VM disks sealed or verified intact (the status lists 2");
    /* one disk covered: partial, naming the other */
    c->n_images = 1;
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 0,
           "/pool/globex-db.qcow2: not sealed or verified (the status lists 1");
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 1, "/pool/acme-web.qcow2: verified intact");
    /* only an unrelated image sealed: no VM disk is, whatever the status file says */
    fx->seal_images[0].path = (char *)"/tmp/x/a.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_FAIL, 0,
           "/pool/acme-web.qcow2: not sealed or verified (the status lists 1 image(s)");
    expect(fx, "ctl.image_seals", DBG_CHECK_FAIL, 0, "/pool/globex-db.qcow2: not sealed");
    expect(fx, "ctl.image_seals", DBG_CHECK_FAIL, 0, "0 of 2 VM disks");
    /* sealed by a link's name: the disk names the link */
    fx->seal_images[0] = (dbg_control_image){.path = (char *)"/srv/images/acme-web.qcow2",
                                             .named = (char *)"/pool/acme-web.qcow2",
                                             .state = (char *)"sealed"};
    c->n_images = 2;
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "/srv/images/acme-web.qcow2: sealed");
    /* a seal that failed covers nothing */
    fx->seal_images[1].state = (char *)"seal_failed";
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 0,
           "/pool/globex-db.qcow2: seal_failed (its latest state)");
    fx->seal_images[1].state = (char *)"sealed";
    /* a pool volume is found by its pool and name */
    fx->disks[0].source = (char *)"ceph/acme-web.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "disk vda (ceph/acme-web.qcow2)");
    /* one whose path the snapshot does not give: not known, so not checked */
    fx->disks[0].source = (char *)"ceph/gone.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0, "a pool volume whose path is not known");
    /* ... and partial beside a disk known not to be sealed */
    c->n_images = 0;
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 0, "/pool/globex-db.qcow2: not sealed");
    c->n_images = 2;
    fx->disks[0].source = (char *)"/pool/acme-web.qcow2";
    /* a network disk is not read by dengbao: not checked, named, rather than a gap (it may be
     * sealed where its storage is) */
    fx->disks[1].type = (char *)"network";
    fx->disks[1].source = (char *)"rbd/globex-db";
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0,
           "not checked: a network disk (rbd, iSCSI, NBD, Gluster...)");
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 1, "/srv/images/acme-web.qcow2: sealed");
    /* ... and a cloud of network disks only is not 符合 without any evidence */
    fx->disks[0].type = (char *)"network";
    fx->disks[0].source = (char *)"iscsi-target/1";
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0, "0 of 2 VM disks sealed");
    /* an NVMe namespace passed through or a vhost-user backend is no local file either (it
     * was judged not sealed by its socket path or PCI address) */
    fx->disks[0].type = (char *)"vhostuser";
    fx->disks[0].source = (char *)"/pool/acme-web.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0, "not checked: no local image");
    fx->disks[0].type = (char *)"file";
    fx->disks[0].source = (char *)"/pool/acme-web.qcow2";
    /* beside a local disk not sealed, still a gap */
    fx->seal_images[0].path = (char *)"/tmp/x/a.qcow2";
    fx->seal_images[0].named = NULL;
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 0, "/pool/acme-web.qcow2: not sealed");
    fx->seal_images[0] = (dbg_control_image){.path = (char *)"/srv/images/acme-web.qcow2",
                                             .named = (char *)"/pool/acme-web.qcow2",
                                             .state = (char *)"sealed"};
    fx->disks[1].type = (char *)"file";
    fx->disks[1].source = (char *)"/pool/globex-db.qcow2";
    /* the disk names a link to the sealed image: matched by the real path the collector
     * found on the disk's host; without it, the link's name is all there is */
    fx->seal_images[1].path = (char *)"/srv/images/globex-db.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_PARTIAL, 0, "/pool/globex-db.qcow2: not sealed");
    fx->disks[1].real_path = (char *)"/srv/images/globex-db.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "/srv/images/globex-db.qcow2: sealed");
    /* an image sealed by one link's name, the disk by another's: both resolve to one file */
    fx->seal_images[1].named = (char *)"/other/link.qcow2";
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "/srv/images/globex-db.qcow2: sealed");
    fx->seal_images[1] =
        (dbg_control_image){.path = (char *)"/pool/globex-db.qcow2", .state = (char *)"sealed"};
    fx->disks[1].real_path = NULL;
    /* the run covered more images than the file lists: an unlisted disk is not known */
    c->n_images = 1;
    c->images_omitted = 3;
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0, "its runs covered 3 more it does not list");
    c->images_omitted = 0;
    c->n_images = 2;
    /* a status file written before the list: which disks are sealed is not shown */
    c->images_listed = 0;
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 0,
           "the status file does not list the images its run covered");
    expect(fx, "ctl.image_seals", DBG_CHECK_ERROR, 1, "deployed and healthy");
    /* VMs without disks (a cdrom aside): nothing to seal, the control's status decides */
    fx->disks[1] = (dbg_disk){
        .device = (char *)"cdrom", .source = (char *)"/iso/install.iso", .target = (char *)"sda"};
    fx->doms[0].n_disks = 0;
    expect(fx, "ctl.image_seals", DBG_CHECK_PASS, 1, "nothing to seal");
    /* a mismatch still fails (the control is not healthy), list or not */
    c->healthy = 0;
    expect(fx, "ctl.image_seals", DBG_CHECK_FAIL, 0, "deployed but not healthy");
    /* ... naming the images whose state is the problem, an earlier run's included */
    c->images_listed = 1;
    fx->seal_images[1].state = (char *)"seal_failed";
    expect(fx, "ctl.image_seals", DBG_CHECK_FAIL, 0, "/pool/globex-db.qcow2: seal_failed");
    free(fx);
}

static void test_libvirt_audit(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_PASS, 1, "/etc/libvirt/libvirtd.conf:4");
    setting(fx, "/etc/libvirt/libvirtd.conf", "audit_level")->value = (char *)"0";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "audit_level");
    setting(fx, "/etc/libvirt/libvirtd.conf", "audit_level")->value = (char *)"1";
    setting(fx, "/run/auditd.pid", "process")->value = (char *)"not running (no process 812)";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "no process 812");
    file(fx, "/run/auditd.pid")->present = 0;
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "not running");
    file(fx, "/etc/libvirt/libvirtd.conf")->present = 0;
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_ERROR, 0, "/etc/libvirt/libvirtd.conf (absent)");
    free(fx);

    /* auditd collected under a copied root: not confirmed, so not checked; with audit_level 0
     * libvirt emits nothing whatever auditd does. */
    fx = good_cloud();
    file(fx, "/run/auditd.pid")->n_settings = 1; /* pid, no process */
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_ERROR, 0, "process not confirmed");
    setting(fx, "/etc/libvirt/libvirtd.conf", "audit_level")->value = (char *)"0";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "audit_level");
    setting(fx, "/etc/libvirt/libvirtd.conf", "audit_level")->value = (char *)"on";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_ERROR, 0, "on");
    free(fx);

    /* The modular daemons: the QEMU driver runs in virtqemud, whose own file holds its
     * audit_level; used when libvirtd.conf is absent. */
    fx = good_cloud();
    file(fx, "/etc/libvirt/libvirtd.conf")->present = 0;
    dbg_host_file *f = add_file(fx, "/etc/libvirt/virtqemud.conf", 1);
    add_set(fx, f, "audit_level", "1");
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_PASS, 1, "/etc/libvirt/virtqemud.conf:1");
    setting(fx, "/etc/libvirt/virtqemud.conf", "audit_level")->value = (char *)"0";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "/etc/libvirt/virtqemud.conf:1");
    free(fx);

    /* Both files present (distributions install libvirtd.conf with the modular daemons): the
     * daemon that runs decides. libvirtd.conf's audit_level = 2 must not stand for a running
     * virtqemud whose own file turns auditing off. */
    fx = good_cloud();
    f = add_file(fx, "/etc/libvirt/virtqemud.conf", 1);
    add_set(fx, f, "audit_level", "0");
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_PASS, 1, "/etc/libvirt/libvirtd.conf:4");
    dbg_host_file *pid = add_file(fx, "/run/virtqemud.pid", 1);
    add_set(fx, pid, "pid", "900");
    add_set(fx, pid, "process", "running (/proc/900/comm is virtqemud)");
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "/etc/libvirt/virtqemud.conf:1");
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 1, "virtqemud: /etc/libvirt/virtqemud.conf applies");
    /* a running libvirtd outranks a modular unit that is only enabled */
    pid->path = (char *)"/run/libvirtd.pid";
    fx->settings[fx->n_settings - 1].value = (char *)"running (/proc/900/comm is libvirtd)";
    dbg_host_file *unit = add_file(fx, "/etc/systemd/system/sockets.target.wants/virtqemud.socket", 1);
    (void)unit;
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_PASS, 1, "libvirtd: /etc/libvirt/libvirtd.conf applies");
    /* under a copied root (no process), an enabled modular unit alone decides */
    pid->n_settings = 1;
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 1,
           "sockets.target.wants/virtqemud.socket (enabled)");
    free(fx);
}

static void test_remote_tls(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "tls_no_verify_certificate");
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "/etc/libvirt/libvirtd.conf:2");
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"0";
    setting(fx, "/etc/libvirt/libvirtd.conf", "tls_allowed_dn_list")->key =
        (char *)"tls_no_verify_certificate";
    setting(fx, "/etc/libvirt/libvirtd.conf", "tls_no_verify_certificate")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "tls_no_verify_certificate");
    setting(fx, "/etc/libvirt/libvirtd.conf", "tls_no_verify_certificate")->value = (char *)"yes";
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0, "not a number");
    file(fx, "/etc/libvirt/libvirtd.conf")->present = 0;
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0, "(absent)");
    free(fx);
}

/* Under systemd socket activation libvirtd.conf's listen_tcp / listen_tls are ignored: an
 * enabled socket unit, or a socket listening now, is a listener whatever the file says. */
static void test_remote_tls_socket_activation(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    const char *tcp_unit = "/etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket";
    dbg_host_file *u = add_file(fx, tcp_unit, 0);
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "listen_tcp");
    u->present = 1;
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, tcp_unit);
    /* seen outside the file, it fails even when the file cannot be read */
    file(fx, "/etc/libvirt/libvirtd.conf")->error = (char *)"cannot be read (x)";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, tcp_unit);
    file(fx, "/etc/libvirt/libvirtd.conf")->error = NULL;
    u->present = 0;
    /* the live host's socket table: 16509 on all addresses fails, on loopback it does not */
    dbg_host_file *t = add_file(fx, "/proc/net/tcp6", 1);
    add_set(fx, t, "listen", "[::1]:16509");
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "listen_tcp");
    t->settings[0].value = (char *)"[::]:16509";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0,
           "[::]:16509: libvirt's tcp port is listening on a network address now");
    t->settings[0].value = (char *)"[::]:22";
    /* listen_tls = 0, yet a TLS unit listens: client certificates must still be verified */
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tls")->value = (char *)"0";
    setting(fx, "/etc/libvirt/libvirtd.conf", "tls_allowed_dn_list")->key =
        (char *)"tls_no_verify_certificate";
    setting(fx, "/etc/libvirt/libvirtd.conf", "tls_no_verify_certificate")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "no network listener");
    u->path = (char *)"/etc/systemd/system/sockets.target.wants/virtproxyd-tls.socket";
    u->present = 1;
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "tls_no_verify_certificate");
    free(fx);
}

/* systemd reads wants links from /run (systemctl enable --runtime) and from the vendor
 * directories (a package or preset) too; a unit masked in /etc starts for none of them. */
static void test_remote_tls_unit_dirs(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    const char *vendor = "/usr/lib/systemd/system/sockets.target.wants/libvirtd-tcp.socket";
    dbg_host_file *u = add_file(fx, vendor, 1);
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, vendor);
    u->path = (char *)"/run/systemd/system/sockets.target.wants/virtproxyd-tcp.socket";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, u->path);
    u->path = (char *)"/lib/systemd/system/sockets.target.wants/virtproxyd-tcp.socket";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, u->path);
    /* the collector records a mask (a unit file linked to /dev/null, or empty) on line 0 */
    dbg_host_file *mask = add_file(fx, "/etc/systemd/system/virtproxyd-tcp.socket", 1);
    add_set(fx, mask, "masked", "an empty file or a link to /dev/null");
    mask->settings[0].line = 0;
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "virtproxyd-tcp.socket masked");
    /* a vendor unit file loses to /etc's mask, and does not mask on its own */
    mask->path = (char *)"/lib/systemd/system/virtproxyd-tcp.socket";
    mask->settings[0].line = 1;
    mask->settings[0].key = (char *)"ListenStream";
    mask->settings[0].value = (char *)"16509";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, u->path);
    /* a link the collector could not look at: the listener is unknown */
    u->present = 0;
    u->error = (char *)"cannot stat: Permission denied";
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0, "unknown: cannot stat: Permission denied");
    /* other evidence decides: listen_tcp = 1 fails whatever the unit does */
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "/etc/libvirt/libvirtd.conf:2");
    free(fx);
}

/* A socket unit listens where its ListenStream= say (the unit file, then its drop-ins; an
 * empty one clears the list), whatever libvirtd.conf's tcp_port says. A plain-TCP unit moved to
 * loopback is reachable from this host only, like libvirt's UNIX socket: no remote listener,
 * so it passes (the evidence says where it listens). */
static void test_remote_tls_listen_stream(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    const char *link = "/etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket";
    add_file(fx, link, 1);
    dbg_host_file *unit = add_file(fx, "/usr/lib/systemd/system/libvirtd-tcp.socket", 1);
    add_set(fx, unit, "ListenStream", "16509");
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0,
           "/usr/lib/systemd/system/libvirtd-tcp.socket:1");
    dbg_host_file *d = add_file(fx, "/etc/systemd/system/libvirtd-tcp.socket.d/local.conf", 1);
    add_set(fx, d, "ListenStream", "");
    add_set(fx, d, "ListenStream", "127.0.0.1:16509");
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1,
           "ListenStream 127.0.0.1:16509: on this host only");
    /* a drop-in of another unit does not apply */
    dbg_host_file *other = add_file(fx, "/etc/systemd/system/libvirtd-tls.socket.d/x.conf", 1);
    add_set(fx, other, "ListenStream", "0.0.0.0:16509");
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "on this host only");
    /* a later drop-in (by name) adds a port on every address */
    other->path = other->settings[0].file =
        (char *)"/run/systemd/system/libvirtd-tcp.socket.d/z.conf";
    other->settings[0].value = (char *)"0.0.0.0:16600";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0,
           "ListenStream 127.0.0.1:16509, 0.0.0.0:16600: a tcp listener on the network");
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0,
           "/run/systemd/system/libvirtd-tcp.socket.d/z.conf:1");
    other->settings[0].value = (char *)"[::1]:16600";
    expect(fx, "cmp.remote_tls", DBG_CHECK_PASS, 1, "[::1]:16600: on this host only");
    /* a drop-in (or a drop-in directory) the collector could not read: unknown */
    other->present = 0;
    other->path = (char *)"/run/systemd/system/libvirtd-tcp.socket.d/*.conf";
    other->error = (char *)"the directory cannot be listed (Permission denied)";
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0,
           "where it listens is unknown: the directory cannot be listed (Permission denied)");
    other->present = 1;
    other->path = (char *)"/etc/systemd/system/libvirtd-tcp.socket.d/a.conf";
    other->error = (char *)"cannot be read (cannot open: Permission denied)";
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0,
           "/etc/systemd/system/libvirtd-tcp.socket.d/a.conf");
    /* unless other evidence decides: the daemon's own file asks for a TCP listener */
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "/etc/libvirt/libvirtd.conf:2");
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"0";
    /* so is an unreadable unit file */
    other->error = NULL;
    unit->error = (char *)"cannot be read (cannot open: Permission denied)";
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0, "/usr/lib/systemd/system/libvirtd-tcp.socket");
    free(fx);
}

static void test_console_exposure(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1, "listen 127.0.0.1");
    fx->gfx[0].listen = (char *)"0.0.0.0";
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen 0.0.0.0, TLS no, password no");
    fx->gfx[0].tls = fx->gfx[0].has_password = 1;
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1, "TLS yes, password yes");
    /* Read without VIR_DOMAIN_XML_SECURE (read-only connection): libvirt leaves passwd out,
     * so "no password" there is not known, not a failure; without TLS it fails regardless. */
    fx->gfx[0].has_password = 0;
    fx->doms[0].secure_xml_error =
        (char *)"operation forbidden: virDomainGetXMLDesc with secure flag";
    expect(fx, "cmp.console_exposure", DBG_CHECK_ERROR, 0,
           "TLS yes, password not known (XML read without VIR_DOMAIN_XML_SECURE: operation "
           "forbidden: virDomainGetXMLDesc with secure flag)");
    fx->gfx[0].tls = 0;
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen 0.0.0.0, TLS no, password no");
    fx->gfx[0].listen = (char *)"127.0.0.1";
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1, "listen 127.0.0.1, TLS no, password no");
    fx->doms[0].secure_xml_error = NULL;
    /* No listen address of its own: the console listens where qemu.conf says, else on
     * libvirt's default 127.0.0.1. */
    fx->gfx[0] = (dbg_graphics){.type = (char *)"vnc", .port = -1};
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1,
           "listen 127.0.0.1 (libvirt default, vnc_listen not set in qemu.conf)");
    dbg_setting *st = setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_x509_cert_dir");
    st->key = (char *)"vnc_listen";
    st->value = (char *)"\"0.0.0.0\"";
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0,
           "listen 0.0.0.0 (qemu.conf vnc_listen at /etc/libvirt/qemu.conf:2), TLS no");
    fx->gfx[0].type = (char *)"spice";
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1, "spice_listen not set in qemu.conf");
    st->key = (char *)"spice_listen";
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen 0.0.0.0 (qemu.conf spice_listen");
    /* <listen type='socket'> and <listen type='none'>: no network listener to expose. */
    fx->gfx[0].listen = (char *)"socket";
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1,
           "listen socket (UNIX socket on the host: no network listener), TLS no, password no");
    fx->gfx[0].listen = (char *)"none";
    expect(fx, "cmp.console_exposure", DBG_CHECK_PASS, 1, "listen none (no listener at all)");
    /* <listen type='network'>: the network's address, reachable from its VMs. */
    fx->gfx[0].listen = (char *)"network:tenant-a";
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen network:tenant-a, TLS no");
    fx->doms[0].n_graphics = 0;
    expect(fx, "cmp.console_exposure", DBG_CHECK_NA, 1, "none defined");
    free(fx);
}

static void test_nwfilter_antispoof(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_PASS, 1,
           "tenant-sg: blocks MAC spoofing: yes, IP spoofing: yes, ARP spoofing: yes");
    fx->ifs[1].filterref = (char *)"allow-all";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0,
           "allow-all: blocks MAC spoofing: no, IP spoofing: no, ARP spoofing: no");
    fx->ifs[1].filterref = NULL;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0,
           "interface 52:54:00:00:0b:01 filterref");
    /* clean-traffic referenced but the ARP part is missing from the platform's filters. */
    fx->ifs[1].filterref = (char *)"clean-traffic";
    fx->clean_refs[2] = (char *)"no-other-l2-traffic";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "ARP spoofing: no");
    fx->clean_refs[2] = (char *)"no-arp-spoofing";
    /* A driver without nwfilter: bound but not provable -> error, never pass. */
    fx->s.nwfilter_supported = 0;
    fx->s.nwfilter_note = (char *)"not supported by this driver";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_ERROR, 0, "not supported by this driver");
    free(fx);

    /* Tenant VMs with user-mode networking only: no port this applies to. */
    fx = good_cloud();
    fx->ifs[0].type = fx->ifs[1].type = (char *)"user";
    fx->ifs[0].filterref = fx->ifs[1].filterref = NULL;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_NA, 1, "tenant VM interfaces");
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_NA, 1, "tenant VM interfaces");
    fx->ifs[1].type = (char *)"network";
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "interface 52:54:00:00:0b:01");
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_FAIL, 0, "interface 52:54:00:00:0b:01");
    free(fx);
}

static void test_filter_follows_vm(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_PASS, 1, "all 2 tenant interfaces");
    fx->ifs[0].filterref = (char *)"no-such-filter";
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_FAIL, 0, "not defined");
    fx->ifs[0].filterref = NULL;
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_FAIL, 0, "no filterref");
    fx->ifs[0].filterref = (char *)"clean-traffic";
    fx->s.nwfilter_supported = 0;
    expect(fx, "cmp.filter_follows_vm", DBG_CHECK_ERROR, 0, "nwfilter definitions");
    free(fx);
}

static void test_sensitive_encrypted(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_PASS, 1, "luks");
    /* Installation media are not the VM's data: an unencrypted cdrom is no finding. */
    fx->disks[1] = (dbg_disk){
        .device = (char *)"cdrom", .source = (char *)"/iso/install.iso", .target = (char *)"sda"};
    fx->doms[1].n_disks = 0;
    fx->doms[0].n_disks = 2;
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_PASS, 1, "disk vda (/pool/acme-web.qcow2)");
    /* A sensitive VM with only the cdrom: nothing to encrypt, and the evidence says why. */
    fx->doms[0].disks = &fx->disks[1];
    fx->doms[0].n_disks = 1;
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_NA, 1,
           "1 VM(s) marked sensitive, none with a disk (cdrom/floppy aside): nothing to encrypt");
    fx->doms[0].disks = &fx->disks[0];
    fx->disks[0].encrypted = 0;
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_FAIL, 0, "disk vda (/pool/acme-web.qcow2)");
    /* No VM marked sensitive shows nothing while VMs are not classified at all. */
    fx->doms[0].sensitive = 0;
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_ERROR, 0,
           "no VM of 3 is marked as holding sensitive data, but 3 are not classified at all, so "
           "whether they hold any is not known: acme-web, globex-db, mgmt-ctl");
    fx->doms[0].classification = fx->doms[1].classification = (char *)"internal";
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_ERROR, 0, "not known: mgmt-ctl");
    fx->doms[2].classification = (char *)"public";
    expect(fx, "img.sensitive_encrypted", DBG_CHECK_NA, 1,
           "all 3 VMs are classified in their metadata and none as sensitive");
    free(fx);
}

static void test_migration_tls(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "data.migration_tls", DBG_CHECK_PASS, 1, "/etc/libvirt/qemu.conf:1");
    setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_force")->value = (char *)"0";
    expect(fx, "data.migration_tls", DBG_CHECK_PARTIAL, 0, "migrate_tls_force");
    setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_x509_cert_dir")->key =
        (char *)"migrate_tls_x509_verify";
    setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_x509_verify")->value = (char *)"0";
    expect(fx, "data.migration_tls", DBG_CHECK_FAIL, 0, "migrate_tls_x509_verify");
    setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_force")->value = (char *)"yes";
    expect(fx, "data.migration_tls", DBG_CHECK_ERROR, 0, "not a number");
    file(fx, "/etc/libvirt/qemu.conf")->present = 0;
    expect(fx, "data.migration_tls", DBG_CHECK_ERROR, 0, "qemu.conf (absent)");
    free(fx);
}

static void test_replicas(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "data.replicas", DBG_CHECK_PASS, 1, "rbd pool, 3 replica(s)");
    fx->pools[0].replicas = 1;
    expect(fx, "data.replicas", DBG_CHECK_FAIL, 0, "rbd pool, 1 replica(s)");
    /* The collector leaves the factor unknown (-1) on every pool: not shown, not a failure. */
    fx->pools[0].replicas = -1;
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0, "rbd pool, replication factor unknown");
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0, "which libvirt does not show");
    fx->pools[0].supports_replicas = 0;
    fx->pools[0].type = (char *)"dir";
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0, "pool type dir keeps one copy");
    /* One pool shown replicated, another whose copies cannot be seen: partial. */
    fx->pools[1] = (dbg_pool){
        .name = (char *)"ceph2", .type = (char *)"rbd", .replicas = 3, .supports_replicas = 1};
    fx->s.n_pools = 2;
    fx->vols[3] = (dbg_volume){
        .name = (char *)"v", .pool = (char *)"ceph2", .tenant_id = (char *)"acme", .in_use = 1};
    fx->s.n_volumes = 4;
    expect(fx, "data.replicas", DBG_CHECK_PARTIAL, 1, "virStoragePoolGetXMLDesc(ceph2)");
    expect(fx, "data.replicas", DBG_CHECK_PARTIAL, 0, "pool type dir keeps one copy");
    /* A pool shown with one copy stays a failure next to unknown ones. */
    fx->pools[1].replicas = 1;
    expect(fx, "data.replicas", DBG_CHECK_FAIL, 0, "rbd pool, 1 replica(s)");
    /* No pool holds tenant data (no tenant volume, none in use). */
    fx->s.n_volumes = 3;
    fx->vols[0].tenant_id = fx->vols[1].tenant_id = NULL;
    fx->vols[0].in_use = fx->vols[1].in_use = 0;
    expect(fx, "data.replicas", DBG_CHECK_NA, 1, "pools with tenant data");
    /* A pool whose volumes were not listed (inactive) may hold tenant data nobody saw: not
     * "no tenant data", and one copy there is not known to be a failure either. */
    fx->s.n_pools = 1;
    fx->s.n_volumes = 0;
    fx->pools[0] = (dbg_pool){.name = (char *)"cold",
                              .type = (char *)"rbd",
                              .target_path = (char *)"/pool",
                              .replicas = 1,
                              .supports_replicas = 1,
                              .volumes_error = (char *)"storage pool is not active"};
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0,
           "rbd pool, 1 replica(s); its volumes could not be listed (storage pool is not active), "
           "so whether it holds tenant data is not known");
    /* Whatever it holds is replicated: that does not depend on seeing it. */
    fx->pools[0].replicas = 3;
    expect(fx, "data.replicas", DBG_CHECK_PASS, 1, "rbd pool, 3 replica(s)");
    fx->pools[0].supports_replicas = 0;
    fx->pools[0].type = (char *)"dir";
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0,
           "must be attested; its volumes could not be listed (storage pool is not active)");
    /* Listed, but without the VMs' disks among its volumes: those disks are seen outside it. */
    fx->pools[0].volumes_error = NULL;
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0, "is no volume of a storage pool libvirt lists");
    free(fx);
}

/* A tenant VM's disk that is no listed volume (a plain file, no pool at all) is tenant data
 * whose copies libvirt does not show: not checked, never not-applicable. */
static void test_replicas_disks_outside_pools(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->s.n_pools = fx->s.n_volumes = 0;
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0,
           "file /pool/globex-db.qcow2 is no volume of a storage pool libvirt lists: one copy as "
           "far as libvirt shows; copies made below it (RAID, storage array, backup) must be "
           "attested");
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0, "virDomainGetXMLDesc(acme-web)");
    /* Next to a pool shown replicated: partial. */
    fx->s.n_pools = fx->s.n_volumes = 1;
    expect(fx, "data.replicas", DBG_CHECK_PARTIAL, 0, "file /pool/globex-db.qcow2 is no volume");
    /* A read-only disk (an ISO) and the platform's own VMs hold no tenant data. */
    fx->s.n_pools = fx->s.n_volumes = 0;
    fx->disks[1].readonly = 1;
    fx->doms[0].role = (char *)"management";
    expect(fx, "data.replicas", DBG_CHECK_NA, 1, "none, and no VM disk outside a pool");
    free(fx);
}

static void test_residual_wipe(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "data.residual_wipe", DBG_CHECK_PASS, 1, "zero");
    /* A second pool whose volumes could not be listed (inactive): leftovers there are not
     * seen, so no pass. */
    fx->pools[1] = (dbg_pool){.name = (char *)"cold",
                              .type = (char *)"dir",
                              .wipe_algorithm = (char *)"zero",
                              .volumes_error = (char *)"storage pool is not active"};
    fx->s.n_pools = 2;
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0,
           "virStoragePoolListAllVolumes(cold)");
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0,
           "not listed (storage pool is not active): leftover volumes in this pool cannot be seen");
    fx->s.n_pools = 1;
    fx->vols[3] = (dbg_volume){.name = (char *)"deleted-vm.qcow2",
                               .pool = (char *)"ceph",
                               .path = (char *)"/pool/deleted-vm.qcow2",
                               .allocation = 4096};
    fx->s.n_volumes = 4;
    expect(fx, "data.residual_wipe", DBG_CHECK_FAIL, 0, "ceph/deleted-vm.qcow2");
    fx->s.n_volumes = 3;
    fx->pools[0].wipe_algorithm = NULL;
    /* No wipe policy and no recorded wipe check: not shown either way. */
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0, "wiping not checked");
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0, "virStorageVolDelete does not wipe");
    /* Recorded wipe checks: clean -> partial (a pool still has no policy); residual -> fail. */
    add_control(fx, "wipe_check", 1, 0);
    control(fx, "wipe_check")->detail =
        (char *)"/run/dengbao/status/wipe_check.json; updated 2026-11-25T01:00:00Z; pid 9; "
                "stale: not refreshed within 300 s; wipe-check: 3 volume(s) checked, 0 with "
                "residual data";
    expect(fx, "data.residual_wipe", DBG_CHECK_PARTIAL, 1, "3 volume(s) checked, 0 with residual");
    control(fx, "wipe_check")->detail = (char *)"wipe-check: 3 volume(s) checked, 1 with residual "
                                                "data";
    expect(fx, "data.residual_wipe", DBG_CHECK_FAIL, 0, "1 with residual data");
    /* A run that could not read some volumes back shows those not wiped: no clean record. */
    control(fx, "wipe_check")->detail =
        (char *)"wipe-check: 3 volume(s) checked, 0 with residual data, 1 NOT CHECKED (first: "
                "v.img: starts with a qcow2 header but no format was declared) (last run x)";
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0, "0 with residual data, 1 not checked");
    control(fx, "wipe_check")->detail =
        (char *)"wipe-check: 3 volume(s) checked, 2 with residual data, 1 NOT CHECKED (first: x)";
    expect(fx, "data.residual_wipe", DBG_CHECK_FAIL, 0, "2 with residual data");
    /* Volumes but no pool listed: no wipe policy seen anywhere, so wiping is not shown. */
    fx->s.n_controls--; /* the wipe_check record */
    fx->pools[0].wipe_algorithm = (char *)"zero";
    fx->s.n_pools = 0;
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0, "wiping not checked");
    /* No storage at all: nothing to wipe. */
    fx->s.n_pools = fx->s.n_volumes = 0;
    expect(fx, "data.residual_wipe", DBG_CHECK_NA, 1, "storage pools");
    free(fx);
}

static void test_traffic_separation(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_PASS, 1, "none on management network mgmt");
    fx->ifs[1].source = (char *)"mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "tenant globex's VM attached to management network mgmt");
    fx->ifs[1].source = (char *)"tenant-b";
    fx->nets[2].bridge = (char *)"virbr-mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "bridge virbr-mgmt also carries network tenant-b");
    fx->nets[0].role = NULL;
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0, "no network of 3 is declared");
    free(fx);
}

/* A VM on the management network that names neither a tenant nor a role may be a tenant's:
 * separation is not established (not checked, naming it) unless a placed tenant VM or a shared
 * bridge already breaks it. Unplaced VMs elsewhere do not matter to this check. */
static void test_traffic_separation_unplaced(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->doms[1].tenant_id = NULL;
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_PASS, 1, "none on management network mgmt");
    fx->ifs[1].source = (char *)"mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_ERROR, 0,
           "1 VM(s) with network interfaces on management network mgmt name no tenant and are "
           "not marked as platform VMs, so this cannot be judged for them: globex-db");
    /* Attached by the management network's bridge: the same segment. */
    fx->ifs[1].type = (char *)"bridge";
    fx->ifs[1].source = (char *)"virbr-mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_ERROR, 0,
           "cannot be judged for them: globex-db");
    /* The platform's own VM: placed, and allowed there. */
    fx->doms[1].role = (char *)"management";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_PASS, 1, "none on management network mgmt");
    fx->doms[1].role = NULL;
    /* A placed tenant VM on it too: a failure whatever the unplaced one is. */
    fx->ifs[0].source = (char *)"mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "tenant acme's VM attached to management network mgmt");
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "cannot be judged for them: globex-db");
    fx->ifs[0].source = (char *)"tenant-a";
    /* A tenant network on the management bridge: also a failure. */
    fx->nets[2].bridge = (char *)"virbr-mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "bridge virbr-mgmt also carries network tenant-b");
    free(fx);
}

/* A driver without networks (VIR_ERR_NO_SUPPORT) lists none: the snapshot says so
 * (networks_error) and the checks that need networks do not read the empty list as "there are
 * none", while a failure seen elsewhere (a direct device) still decides. */
static void test_networks_not_listed(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->s.networks_error = (char *)"not supported by this driver";
    fx->s.n_networks = 0;
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_ERROR, 0,
           "networks not listed (not supported by this driver): the management network and the "
           "VMs on it cannot be seen");
    /* Every tenant port has its own nwfilter: that decides, whatever the networks are. */
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1,
           "networks not listed (not supported by this driver): whether libvirt firewalls this "
           "network cannot be told, but all 1 tenant port(s) on it have an nwfilter");
    /* An unfiltered port on a bridge that may be a nat network's: not known to be open. */
    fx->ifs[0].type = fx->ifs[1].type = (char *)"bridge";
    fx->ifs[0].source = fx->ifs[1].source = (char *)"virbr-a";
    fx->ifs[0].filterref = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "whether libvirt firewalls this bridge cannot be told, and 1 of 2 tenant port(s) on it "
           "have no restricting nwfilter (e.g. VM acme-web: no filterref)");
    /* Two tenants on that bridge: its network's port isolation is not seen. */
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "whether this bridge is a libvirt network's, with an owner or port isolation, cannot "
           "be told: tenant acme: acme-web; tenant globex: globex-db");
    /* A macvtap device is no libvirt network's: what is seen there still fails. */
    fx->ifs[1].type = (char *)"direct";
    fx->ifs[1].source = (char *)"eth1";
    fx->ifs[1].filterref = NULL;
    fx->doms[0].ifaces = &fx->ifs[1];
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0, "direct device eth1");
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "direct device eth1");
    /* No tenant port at all: tenant networks may still exist unseen. */
    fx->doms[0].n_ifaces = fx->doms[1].n_ifaces = 0;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "networks not listed (not supported by this driver): tenant networks cannot be seen");
    free(fx);
}

/* Likewise for storage pools (pools_error): tenant data and leftover volumes are not seen, so
 * neither data.replicas nor data.residual_wipe is not-applicable; a recorded wipe check that
 * found residual data still fails. */
static void test_pools_not_listed(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->s.pools_error = (char *)"not supported by this driver";
    fx->s.n_pools = fx->s.n_volumes = 0;
    fx->doms[0].n_disks = fx->doms[1].n_disks = 0;
    expect(fx, "data.replicas", DBG_CHECK_ERROR, 0,
           "storage pools not listed (not supported by this driver): where tenant data is kept "
           "and how many copies it has cannot be seen");
    expect(fx, "data.residual_wipe", DBG_CHECK_ERROR, 0,
           "storage pools not listed (not supported by this driver): leftover volumes cannot be "
           "seen");
    add_control(fx, "wipe_check", 1, 0);
    control(fx, "wipe_check")->detail = (char *)"wipe-check: 3 volume(s) checked, 1 with residual "
                                                "data";
    expect(fx, "data.residual_wipe", DBG_CHECK_FAIL, 0, "1 with residual data");
    free(fx);
}

/* A tenant port on a network the snapshot lacks (removed between the listings, or hidden from
 * the collecting user): its owner, port isolation, forward mode and role are not seen, so it
 * makes no check pass; a failure seen elsewhere still decides. */
static void test_network_not_in_snapshot(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    fx->ifs[0].source = (char *)"tenant-gone";
    expect(fx, "net.tenant_isolation", DBG_CHECK_ERROR, 0,
           "no network of that name in the snapshot (not listed): its owner and port isolation "
           "cannot be seen: tenant acme: acme-web");
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_ERROR, 0,
           "network tenant-gone is not in the snapshot (not listed): whether it is a management "
           "network cannot be told");
    /* Its own nwfilter is a boundary control whatever the network is; without one, unknown. */
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_PASS, 1,
           "not in the snapshot (no network of that name was listed): whether libvirt firewalls "
           "it cannot be told, but all 1 tenant port(s) on it have an nwfilter");
    fx->ifs[0].filterref = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0,
           "whether libvirt firewalls it cannot be told, and 1 of 1 tenant port(s) on it have no "
           "restricting nwfilter (e.g. VM acme-web: no filterref)");
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_ERROR, 0, "network tenant-gone");
    /* No management network declared: it may be the one not seen. */
    fx->nets[0].role = NULL;
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_ERROR, 0, "no network of 3 is declared");
    fx->nets[0].role = (char *)"management";
    /* Definite failures elsewhere decide. */
    fx->nets[2].forward_mode = (char *)"open";
    fx->ifs[1].filterref = NULL;
    expect(fx, "bnd.vnet_boundary_acl", DBG_CHECK_FAIL, 0, "open: no libvirt firewall rules");
    fx->ifs[1].source = (char *)"tenant-a";
    expect(fx, "net.tenant_isolation", DBG_CHECK_FAIL, 0, "owned by another tenant");
    fx->ifs[1].source = (char *)"mgmt";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_FAIL, 0,
           "tenant globex's VM attached to management network mgmt");
    /* The platform's own VM on a network not seen does not touch the separation. */
    fx->ifs[0].source = (char *)"tenant-a";
    fx->ifs[1].source = (char *)"tenant-b";
    fx->ifs[2].source = (char *)"gone-too";
    expect(fx, "mgmt.traffic_separation", DBG_CHECK_PASS, 1, "none on management network mgmt");
    free(fx);
}

static void test_password_policy(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1, "/etc/pam.d/common-password:1");
    setting(fx, "/etc/login.defs", "PASS_MAX_DAYS")->value = (char *)"99999";
    expect(fx, "host.password_policy", DBG_CHECK_PARTIAL, 0, "/etc/login.defs:1");
    /* shadow reads "90 # policy" as no number (unset); the evidence showed a bare 99999 */
    setting(fx, "/etc/login.defs", "PASS_MAX_DAYS")->value = (char *)"90 # policy";
    expect(fx, "host.password_policy", DBG_CHECK_PARTIAL, 0,
           "99999 ('90 # policy' is not a number; shadow's tools take it as not set");
    /* Classes required through negative credits instead of minclass. */
    setting(fx, "/etc/login.defs", "PASS_MAX_DAYS")->value = (char *)"60";
    setting(fx, "/etc/pam.d/common-password", "password")->value =
        (char *)"requisite pam_pwquality.so minlen=10 dcredit=-1 ucredit=-1 lcredit=-1";
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1, "minclass 0, 3 required class credits");
    setting(fx, "/etc/pam.d/common-password", "password")->value =
        (char *)"requisite pam_pwquality.so minlen=10 dcredit=-1 ucredit=-1";
    expect(fx, "host.password_policy", DBG_CHECK_PARTIAL, 0,
           "minclass 0, 2 required class credits");
    setting(fx, "/etc/pam.d/common-password", "password")->value = (char *)"requisite pam_unix.so";
    setting(fx, "/etc/login.defs", "PASS_MAX_DAYS")->value = (char *)"99999";
    expect(fx, "host.password_policy", DBG_CHECK_FAIL, 0, "neither pam_pwquality nor pam_cracklib");
    free(fx);
}

/* libpwquality reads the *.conf of pwquality.conf.d in name order and pwquality.conf last: the last
 * assignment wins, and the module's own arguments override both. */
static void test_password_policy_dropins(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    setting(fx, "/etc/pam.d/common-password", "password")->value =
        (char *)"requisite pam_pwquality.so retry=3";
    dbg_host_file *main_conf = add_file(fx, "/etc/security/pwquality.conf", 1);
    add_set(fx, main_conf, "difok", "5");
    dbg_host_file *local = add_file(fx, "/etc/security/pwquality.conf.d/50-local.conf", 1);
    add_set(fx, local, "minlen", "12");
    add_set(fx, local, "minclass", "3");
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1,
           "/etc/security/pwquality.conf.d/50-local.conf:2");
    /* a later drop-in overrides an earlier one */
    dbg_host_file *weak = add_file(fx, "/etc/security/pwquality.conf.d/90-weak.conf", 1);
    add_set(fx, weak, "minclass", "1");
    expect(fx, "host.password_policy", DBG_CHECK_PARTIAL, 0,
           "/etc/security/pwquality.conf.d/90-weak.conf:1");
    /* pwquality.conf is read after the drop-ins: it has the last word */
    main_conf->settings[0].key = (char *)"minclass";
    main_conf->settings[0].value = (char *)"4";
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1, "/etc/security/pwquality.conf:1");
    /* an unreadable drop-in read after the deciding one may set anything */
    main_conf->n_settings = 0;
    weak->n_settings = 0;
    weak->error = (char *)"cannot be read (cannot open: Permission denied)";
    expect(fx, "host.password_policy", DBG_CHECK_ERROR, 0,
           "unknown: cannot be read (cannot open: Permission denied)");
    /* one read before it cannot */
    dbg_host_file early = *weak, later = *local;
    early.path = (char *)"/etc/security/pwquality.conf.d/10-early.conf";
    *local = early; /* the collector lists them in name order */
    *weak = later;
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1,
           "/etc/security/pwquality.conf.d/50-local.conf:1");
    /* pwquality.conf, read last, may override them all when it cannot be read; it does not
     * matter when the module's arguments set everything */
    main_conf->error = (char *)"cannot be read (cannot open: Permission denied)";
    expect(fx, "host.password_policy", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    setting(fx, "/etc/pam.d/common-password", "password")->value =
        (char *)"requisite pam_pwquality.so minlen=10 minclass=3";
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1, "/etc/pam.d/common-password:1");
    free(fx);

    /* negative credits count class by class, from the arguments or else the configuration */
    fx = good_cloud();
    setting(fx, "/etc/pam.d/common-password", "password")->value =
        (char *)"requisite pam_pwquality.so minlen=10 dcredit=-1";
    local = add_file(fx, "/etc/security/pwquality.conf.d/50-local.conf", 1);
    add_set(fx, local, "dcredit", "0");
    add_set(fx, local, "ucredit", "-1");
    add_set(fx, local, "lcredit", "-1");
    expect(fx, "host.password_policy", DBG_CHECK_PASS, 1, "minclass 0, 3 required class credits");
    free(fx);
}

static void test_login_lockout(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.login_lockout", DBG_CHECK_PASS, 1, "deny = 5");
    setting(fx, "/etc/pam.d/common-auth", "auth")->value =
        (char *)"required pam_faillock.so deny=10";
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "deny = 10");
    setting(fx, "/etc/pam.d/common-auth", "auth")->value = (char *)"required pam_unix.so";
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "neither pam_faillock nor pam_tally2");
    /* No deny= on the PAM line: faillock.conf, else pam_faillock's built-in 3. */
    setting(fx, "/etc/pam.d/common-auth", "auth")->value =
        (char *)"required pam_faillock.so preauth";
    expect(fx, "host.login_lockout", DBG_CHECK_PASS, 1, "deny = 3");
    dbg_host_file *f = add_file(fx, "/etc/security/faillock.conf", 1);
    add_set(fx, f, "deny", "4");
    expect(fx, "host.login_lockout", DBG_CHECK_PASS, 1, "/etc/security/faillock.conf:1");
    setting(fx, "/etc/security/faillock.conf", "deny")->value = (char *)"0"; /* never locks */
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "deny = 0");
    /* conf=FILE on the rule: that file, not faillock.conf, holds deny */
    setting(fx, "/etc/security/faillock.conf", "deny")->value = (char *)"4";
    setting(fx, "/etc/pam.d/common-auth", "auth")->value =
        (char *)"required pam_faillock.so preauth conf=/etc/security/faillock-ssh.conf";
    expect(fx, "host.login_lockout", DBG_CHECK_ERROR, 0,
           "conf=/etc/security/faillock-ssh.conf was not collected");
    f = add_file(fx, "/etc/security/faillock-ssh.conf", 1);
    add_set(fx, f, "deny", "10");
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "/etc/security/faillock-ssh.conf:1");
    setting(fx, "/etc/security/faillock-ssh.conf", "deny")->value = (char *)"5";
    expect(fx, "host.login_lockout", DBG_CHECK_PASS, 1, "/etc/security/faillock-ssh.conf:1");
    setting(fx, "/etc/pam.d/common-auth", "auth")->value =
        (char *)"required pam_faillock.so preauth";
    setting(fx, "/etc/security/faillock.conf", "deny")->value = (char *)"0";
    /* pam_tally2 has no default limit. */
    setting(fx, "/etc/pam.d/common-auth", "auth")->value = (char *)"required pam_tally2.so";
    file(fx, "/etc/security/faillock.conf")->present = 0;
    file(fx, "/etc/security/faillock.conf")->n_settings = 0;
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "deny = -1 (no limit)");
    free(fx);
}

static void test_idle_timeout(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.idle_timeout", DBG_CHECK_PASS, 1, "900 s");
    /* The usual line: the assignment's value ends at the first unquoted ';' or blank. */
    setting(fx, "/etc/profile", "readonly TMOUT")->value = (char *)"900; export TMOUT";
    expect(fx, "host.idle_timeout", DBG_CHECK_PASS, 1, "900 s");
    setting(fx, "/etc/profile", "readonly TMOUT")->value = (char *)"'600' && export TMOUT";
    expect(fx, "host.idle_timeout", DBG_CHECK_PASS, 1, "600 s");
    /* TMOUT= (empty) turns the timeout off */
    setting(fx, "/etc/profile", "readonly TMOUT")->value = (char *)"";
    expect(fx, "host.idle_timeout", DBG_CHECK_PARTIAL, 0, "0 s");
    setting(fx, "/etc/profile", "readonly TMOUT")->value = (char *)"7200";
    expect(fx, "host.idle_timeout", DBG_CHECK_PARTIAL, 0, "7200 s");
    setting(fx, "/etc/ssh/sshd_config", "ClientAliveInterval")->value = (char *)"0";
    expect(fx, "host.idle_timeout", DBG_CHECK_FAIL, 0, "/etc/ssh/sshd_config:2");
    setting(fx, "/etc/ssh/sshd_config", "ClientAliveInterval")->value = (char *)"300";
    expect(fx, "host.idle_timeout", DBG_CHECK_PARTIAL, 0, "7200 s");
    /* A Match block's value is what the connections it matches get: sshd applies it over the
     * global one, so one that turns the keepalive off leaves those sessions open forever. */
    dbg_setting *m = setting(fx, "/etc/ssh/sshd_config", "PermitRootLogin");
    m->key = (char *)"Match User backup/ClientAliveInterval";
    m->value = (char *)"0";
    expect(fx, "host.idle_timeout", DBG_CHECK_FAIL, 0, "Match User backup");
    m->value = (char *)"600"; /* 600 s x the global 2: within 1800 s */
    expect(fx, "host.idle_timeout", DBG_CHECK_PARTIAL, 1, "Match User backup");
    m->key = (char *)"match user backup/clientalivecountmax";
    m->value = (char *)"10"; /* the global 300 s x 10 */
    expect(fx, "host.idle_timeout", DBG_CHECK_FAIL, 0, "300 s x 10");
    /* Shell start-up files not collected at all: unknown, not a finding. */
    file(fx, "/etc/profile")->path = (char *)"/etc/motd";
    expect(fx, "host.idle_timeout", DBG_CHECK_ERROR, 0, "not collected");
    free(fx);
}

static void test_root_login(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.root_login", DBG_CHECK_PASS, 1, "/etc/ssh/sshd_config:1");
    setting(fx, "/etc/ssh/sshd_config", "PermitRootLogin")->value = (char *)"yes";
    expect(fx, "host.root_login", DBG_CHECK_FAIL, 0, "yes");
    /* PermitRootLogin no, but a Match block lets root in with a password from some addresses:
     * those logins are what sshd allows, whatever the global line says. */
    setting(fx, "/etc/ssh/sshd_config", "PermitRootLogin")->value = (char *)"no";
    dbg_setting *m = setting(fx, "/etc/ssh/sshd_config", "ClientAliveCountMax");
    m->key = (char *)"Match Address 10.0.0.0/8/PermitRootLogin";
    m->value = (char *)"yes";
    expect(fx, "host.root_login", DBG_CHECK_FAIL, 0, "Match Address 10.0.0.0/8");
    m->value = (char *)"prohibit-password";
    expect(fx, "host.root_login", DBG_CHECK_PARTIAL, 0, "Match Address 10.0.0.0/8");
    m->value = (char *)"no";
    expect(fx, "host.root_login", DBG_CHECK_PASS, 1, "Match Address 10.0.0.0/8");
    m->key = (char *)"ClientAliveCountMax";
    m->value = (char *)"2";
    setting(fx, "/etc/ssh/sshd_config", "PermitRootLogin")->key = (char *)"Port";
    expect(fx, "host.root_login", DBG_CHECK_PARTIAL, 0, "prohibit-password (default)");
    file(fx, "/etc/ssh/sshd_config")->present = 0;
    expect(fx, "host.root_login", DBG_CHECK_NA, 1, "no SSH server");
    free(fx);
}

static void test_auditd(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.auditd_running", DBG_CHECK_PASS, 1,
           "/run/auditd.pid (pid 812; running (/proc/812/comm is auditd))");
    /* A pid file left behind by an auditd that is gone is not a running auditd. */
    setting(fx, "/run/auditd.pid", "process")->value = (char *)"not running (no process 812)";
    expect(fx, "host.auditd_running", DBG_CHECK_FAIL, 0, "no process 812");
    /* Collected under a copied root: the process could not be looked up. */
    file(fx, "/run/auditd.pid")->n_settings = 1;
    expect(fx, "host.auditd_running", DBG_CHECK_ERROR, 0, "process not confirmed");
    file(fx, "/run/auditd.pid")->error = (char *)"cannot be read";
    expect(fx, "host.auditd_running", DBG_CHECK_ERROR, 0, "/run/auditd.pid (cannot be read");
    file(fx, "/run/auditd.pid")->error = NULL;
    file(fx, "/run/auditd.pid")->present = 0;
    expect(fx, "host.auditd_running", DBG_CHECK_FAIL, 0, "not running");
    file(fx, "/run/auditd.pid")->path = (char *)"/run/other.pid";
    expect(fx, "host.auditd_running", DBG_CHECK_ERROR, 0, "not collected");
    free(fx);

    fx = good_cloud();
    expect(fx, "host.audit_rules", DBG_CHECK_PASS, 1, "2 rule(s) in 1 file(s)");
    setting(fx, "/etc/audit/rules.d/dengbao.rules", "-w")->value = (char *)"/etc/hosts -p wa";
    expect(fx, "host.audit_rules", DBG_CHECK_PARTIAL, 0, "no rule on /etc/passwd");
    file(fx, "/etc/audit/rules.d/dengbao.rules")->n_settings = 1; /* only "-D" left */
    expect(fx, "host.audit_rules", DBG_CHECK_FAIL, 0, "0 rule(s) in 1 file(s)");
    free(fx);

    /* auditctl applies the lines in order: "-e 0" turns auditing off whatever the rules, and
     * "-a task,never" gives no task an audit context, so no syscall rule or watch reports. */
    fx = good_cloud();
    dbg_setting *ctl = setting(fx, "/etc/audit/rules.d/dengbao.rules", "-D");
    ctl->key = (char *)"-e";
    ctl->value = (char *)"0";
    expect(fx, "host.audit_rules", DBG_CHECK_FAIL, 0, "-e 0");
    ctl->value = (char *)"2"; /* enabled and locked */
    expect(fx, "host.audit_rules", DBG_CHECK_PASS, 1, "2 rule(s) in 1 file(s)");
    ctl->key = (char *)"-a";
    ctl->value = (char *)"task,never";
    expect(fx, "host.audit_rules", DBG_CHECK_FAIL, 0, "-a task,never");
    ctl->value = (char *)"never,task";
    expect(fx, "host.audit_rules", DBG_CHECK_FAIL, 0, "-a never,task");
    /* a rule that suppresses records on /etc/passwd does not audit it */
    ctl->key = (char *)"-D";
    ctl->value = NULL;
    dbg_setting *w = setting(fx, "/etc/audit/rules.d/dengbao.rules", "-w");
    w->key = (char *)"-a";
    w->value = (char *)"exit,never -F path=/etc/passwd";
    expect(fx, "host.audit_rules", DBG_CHECK_PARTIAL, 0, "no rule on /etc/passwd");
    free(fx);

    /* Rules on disk but auditd stopped: none of them is in effect. */
    fx = good_cloud();
    file(fx, "/run/auditd.pid")->present = 0;
    expect(fx, "host.audit_rules", DBG_CHECK_FAIL, 0, "auditd is not running");
    free(fx);

    fx = good_cloud();
    expect(fx, "host.audit_retention", DBG_CHECK_PASS, 1, "keep_logs");
    setting(fx, "/etc/audit/auditd.conf", "max_log_file_action")->value = (char *)"ROTATE";
    expect(fx, "host.audit_retention", DBG_CHECK_PARTIAL, 0, "180 days not shown");
    setting(fx, "/etc/audit/auditd.conf", "max_log_file_action")->value = (char *)"HALT";
    expect(fx, "host.audit_retention", DBG_CHECK_FAIL, 0, "HALT");
    free(fx);
}

/* A host file the collector could not read (permission denied, or its directory unreachable),
 * or a control's status file, says nothing: no check may judge from its silence. On the good cloud each check either still
 * passes on other evidence or is 未检查 naming the file; none fails, partly passes or calls
 * itself not applicable because of it. */
static void test_unreadable_host_files(void **state)
{
    (void)state;
    const char *why = "cannot be read (cannot open: Permission denied)";
    for (int reachable = 0; reachable < 2; reachable++) {
        fixture *fx = good_cloud();
        for (size_t i = 0; i < fx->s.n_host_files; i++) {
            dbg_host_file *f = &fx->files[i], saved = *f;
            f->present = reachable; /* 0: stat failed; 1: open or read failed */
            f->n_settings = 0;
            f->error = (char *)why;
            size_t errs = 0;
            for (size_t c = 0; c < dbg_check_count(); c++) {
                const dbg_check *chk = dbg_check_at(c);
                dbg_evidence_list ev = {0};
                dbg_check_result r = dbg_check_run(chk, &fx->s, &fx->p, &ev);
                int named = 0;
                for (size_t j = 0; j < ev.n; j++) {
                    const dbg_evidence *e = &ev.items[j];
                    named |= !e->ok && e->source && !strncmp(e->source, f->path, strlen(f->path)) &&
                             (strstr(e->source, why) || (e->observed && strstr(e->observed, why)));
                }
                if (r != DBG_CHECK_PASS && (r != DBG_CHECK_ERROR || !named)) {
                    print_message("%s unreadable (present=%d): %s -> %s\n", f->path, reachable,
                                  chk->id, dbg_check_result_name(r));
                    dump(&ev);
                }
                errs += r == DBG_CHECK_ERROR;
                dbg_evidence_list_free(&ev);
                assert_true(r == DBG_CHECK_PASS || (r == DBG_CHECK_ERROR && named));
            }
            assert_true(errs > 0); /* every fixture file is some check's evidence */
            *f = saved;
        }
        free(fx);
    }
    /* the same for a control's status file that could not be read or looked for */
    fixture *fx = good_cloud();
    for (size_t i = 0; i < fx->s.n_controls; i++) {
        dbg_control *c = &fx->controls[i], saved = *c;
        c->unknown = 1;
        c->detail = (char *)"/run/dengbao/status/x.json: cannot be looked for (Permission denied)";
        size_t errs = 0;
        for (size_t k = 0; k < dbg_check_count(); k++) {
            const dbg_check *chk = dbg_check_at(k);
            dbg_evidence_list ev = {0};
            dbg_check_result r = dbg_check_run(chk, &fx->s, &fx->p, &ev);
            int named = 0;
            for (size_t j = 0; j < ev.n; j++)
                named |= !ev.items[j].ok && ev.items[j].observed &&
                         strstr(ev.items[j].observed, "unknown: /run/dengbao/status/x.json");
            if (r != DBG_CHECK_PASS && (r != DBG_CHECK_ERROR || !named)) {
                print_message("control %s unknown: %s -> %s\n", c->name, chk->id,
                              dbg_check_result_name(r));
                dump(&ev);
            }
            errs += r == DBG_CHECK_ERROR;
            dbg_evidence_list_free(&ev);
            assert_true(r == DBG_CHECK_PASS || (r == DBG_CHECK_ERROR && named));
        }
        assert_true(errs > 0);
        *c = saved;
    }
    free(fx);
}

/* Where a file's defaults would pass, an unreadable file must not: the value it holds may be
 * the bad one. Each case first shows the file's bad value failing, then the same file
 * unreadable as 未检查. */
static void unreadable(fixture *fx, const char *path)
{
    dbg_host_file *f = file(fx, path);
    f->n_settings = 0;
    f->error = (char *)"cannot be read (cannot open: Permission denied)";
}

static void test_unreadable_not_default(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    setting(fx, "/etc/libvirt/libvirtd.conf", "listen_tcp")->value = (char *)"1";
    expect(fx, "cmp.remote_tls", DBG_CHECK_FAIL, 0, "listen_tcp");
    setting(fx, "/etc/libvirt/libvirtd.conf", "audit_level")->value = (char *)"0";
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_FAIL, 0, "audit_level");
    unreadable(fx, "/etc/libvirt/libvirtd.conf");
    expect(fx, "cmp.remote_tls", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    expect(fx, "bnd.libvirt_audit", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    free(fx);

    /* a console without a listen address of its own listens where qemu.conf says */
    fx = good_cloud();
    fx->gfx[0] = (dbg_graphics){.type = (char *)"vnc", .port = -1};
    dbg_setting *st = setting(fx, "/etc/libvirt/qemu.conf", "migrate_tls_x509_cert_dir");
    st->key = (char *)"vnc_listen";
    st->value = (char *)"\"0.0.0.0\"";
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen 0.0.0.0");
    unreadable(fx, "/etc/libvirt/qemu.conf");
    expect(fx, "cmp.console_exposure", DBG_CHECK_ERROR, 0,
           "listen unknown (vnc_listen would say, but /etc/libvirt/qemu.conf cannot be read");
    expect(fx, "data.migration_tls", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    /* one listening everywhere with a password: TLS (qemu.conf vnc_tls) is unknown */
    fx->gfx[0].listen = (char *)"0.0.0.0";
    fx->gfx[0].has_password = 1;
    expect(fx, "cmp.console_exposure", DBG_CHECK_ERROR, 0, "TLS unknown");
    /* without a password TLS would not help: exposed whatever qemu.conf says */
    fx->gfx[0].has_password = 0;
    expect(fx, "cmp.console_exposure", DBG_CHECK_FAIL, 0, "listen 0.0.0.0, TLS no, password no");
    free(fx);

    /* no deny= on the PAM line: faillock.conf decides, else the module's default 3 */
    fx = good_cloud();
    setting(fx, "/etc/pam.d/common-auth", "auth")->value =
        (char *)"required pam_faillock.so preauth";
    dbg_host_file *f = add_file(fx, "/etc/security/faillock.conf", 1);
    add_set(fx, f, "deny", "10");
    expect(fx, "host.login_lockout", DBG_CHECK_FAIL, 0, "deny = 10");
    unreadable(fx, "/etc/security/faillock.conf");
    expect(fx, "host.login_lockout", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    free(fx);

    /* sshd_config: its absence means no SSH server, its unreadability nothing */
    fx = good_cloud();
    unreadable(fx, "/etc/ssh/sshd_config");
    file(fx, "/etc/ssh/sshd_config")->present = 0;
    expect(fx, "host.root_login", DBG_CHECK_ERROR, 0, "unknown: cannot be read");
    free(fx);

    /* a rules directory that cannot be listed may hold the rules not found elsewhere */
    fx = good_cloud();
    setting(fx, "/etc/audit/rules.d/dengbao.rules", "-w")->value = (char *)"/etc/hosts -p wa";
    expect(fx, "host.audit_rules", DBG_CHECK_PARTIAL, 0, "no rule on /etc/passwd");
    f = add_file(fx, "/etc/audit/rules.d/*.rules", 0);
    f->error = (char *)"the directory cannot be listed (Permission denied)";
    expect(fx, "host.audit_rules", DBG_CHECK_ERROR, 0, "unknown: the directory cannot be listed");
    free(fx);
}

static void test_time_sync(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "ntp.example.cn");
    /* A loopback server is the host's own clock (ntpd's LOCAL driver 127.127.1.0, chrony asking
     * itself), not a time source; every server line counts, not only the last. */
    dbg_setting *src = setting(fx, "/etc/chrony/chrony.conf", "pool");
    src->value = (char *)"127.127.1.0";
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "127.127.1.0");
    src->value = (char *)"localhost iburst";
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "localhost");
    add_set(fx, file(fx, "/etc/chrony/chrony.conf"), "server", "ntp2.example.cn iburst");
    add_set(fx, file(fx, "/etc/chrony/chrony.conf"), "server", "::1");
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "ntp2.example.cn");
    free(fx);
    fx = good_cloud();
    /* a source chrony reads from a confdir / sourcedir file is recorded with its own file */
    setting(fx, "/etc/chrony/chrony.conf", "pool")->file =
        (char *)"/etc/chrony/sources.d/site.sources";
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "/etc/chrony/sources.d/site.sources:1");
    /* without a source, a directory it could not list may hold one */
    setting(fx, "/etc/chrony/chrony.conf", "pool")->key = (char *)"sourcedir";
    file(fx, "/etc/chrony/chrony.conf")->error =
        (char *)"sourcedir /etc/chrony/sources.d cannot be listed (Permission denied)";
    expect(fx, "host.time_sync", DBG_CHECK_ERROR, 0, "unknown: sourcedir /etc/chrony/sources.d");
    file(fx, "/etc/chrony/chrony.conf")->error = NULL;
    file(fx, "/etc/chrony/chrony.conf")->present = 0; /* an absent file has no settings */
    file(fx, "/etc/chrony/chrony.conf")->n_settings = 0;
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "none configured");
    /* systemd-timesyncd: its drop-ins are read after timesyncd.conf, an empty NTP= empties the
     * list and a later NTP= adds to it */
    dbg_host_file *main_conf = add_file(fx, "/etc/systemd/timesyncd.conf", 1);
    add_set(fx, main_conf, "NTP", "ntp.example.cn");
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "/etc/systemd/timesyncd.conf:1");
    dbg_host_file *reset = add_file(fx, "/etc/systemd/timesyncd.conf.d/50-reset.conf", 1);
    add_set(fx, reset, "NTP", "");
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "none configured");
    dbg_host_file *vendor = add_file(fx, "/usr/lib/systemd/timesyncd.conf.d/60-vendor.conf", 1);
    add_set(fx, vendor, "NTP", "ntp.vendor.example");
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1,
           "/usr/lib/systemd/timesyncd.conf.d/60-vendor.conf:1");
    /* a drop-in with no main file counts as well */
    main_conf->present = 0;
    main_conf->n_settings = 0;
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "ntp.vendor.example");
    /* a drop-in read later that cannot be read, or a directory that cannot be listed, may
     * empty the list */
    dbg_host_file *run = add_file(fx, "/run/systemd/timesyncd.conf.d/*.conf", 0);
    run->error = (char *)"the directory cannot be listed (Permission denied)";
    expect(fx, "host.time_sync", DBG_CHECK_ERROR, 0, "unknown: the directory cannot be listed");
    free(fx);

    /* Debian's default: timesyncd enabled, every NTP= commented out: it syncs from its built-in
     * fallback (the public pool). A source, none chosen for the platform: partial, not none. */
    fx = good_cloud();
    file(fx, "/etc/chrony/chrony.conf")->present = 0;
    file(fx, "/etc/chrony/chrony.conf")->n_settings = 0;
    add_file(fx, "/etc/systemd/timesyncd.conf", 1);
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "none configured");
    add_file(fx, "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service", 1);
    expect(fx, "host.time_sync", DBG_CHECK_PARTIAL, 0,
           "systemd-timesyncd enabled without NTP=: only its built-in fallback servers");
    /* ... unless systemd-networkd gives it a link's servers (its .network file, DHCP) */
    dbg_host_file *lo = add_file(fx, "/run/systemd/netif/links/1", 1);
    add_set(fx, lo, "ADMIN_STATE", "unmanaged");
    expect(fx, "host.time_sync", DBG_CHECK_PARTIAL, 0, "built-in fallback servers");
    dbg_host_file *links = add_file(fx, "/run/systemd/netif/links/*", 0);
    links->error = (char *)"the directory cannot be listed (Permission denied)";
    expect(fx, "host.time_sync", DBG_CHECK_ERROR, 0, "unknown: the directory cannot be listed");
    dbg_host_file *eth = add_file(fx, "/run/systemd/netif/links/2", 1);
    add_set(fx, eth, "NTP", "10.0.0.1 10.0.0.2");
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1,
           "10.0.0.1 10.0.0.2 (systemd-networkd's servers for this link");
    /* not a source for a timesyncd that is not enabled */
    file(fx, "/etc/systemd/system/sysinit.target.wants/systemd-timesyncd.service")->present = 0;
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "none configured");
    free(fx);

    /* Debian's ntpd wrapper runs ntpd on the copy its DHCP hook wrote */
    fx = good_cloud();
    file(fx, "/etc/chrony/chrony.conf")->present = 0;
    file(fx, "/etc/chrony/chrony.conf")->n_settings = 0;
    expect(fx, "host.time_sync", DBG_CHECK_FAIL, 0, "none configured");
    dbg_host_file *dhcp = add_file(fx, "/run/ntpsec/ntp.conf.dhcp", 1);
    add_set(fx, dhcp, "server", "10.0.0.1 iburst");
    expect(fx, "host.time_sync", DBG_CHECK_PASS, 1, "/run/ntpsec/ntp.conf.dhcp:1");
    free(fx);
}

/* Evidence lists cap per-object listings so huge clouds keep readable reports. */
static void test_evidence_cap(void **state)
{
    (void)state;
    fixture *fx = good_cloud();
    dbg_domain *many = calloc(60, sizeof(*many));
    dbg_iface *ifs = calloc(60, sizeof(*ifs));
    assert_non_null(many);
    assert_non_null(ifs);
    char macs[60][18];
    for (int i = 0; i < 60; i++) {
        snprintf(macs[i], sizeof(macs[i]), "52:54:00:00:ff:%02x", i);
        ifs[i] = (dbg_iface){.mac = macs[i],
                             .type = (char *)"network",
                             .source = (char *)"tenant-b",
                             .vlan = -1};
        many[i] = (dbg_domain){
            .name = (char *)"vm", .tenant_id = (char *)"globex", .ifaces = &ifs[i], .n_ifaces = 1};
    }
    fx->s.domains = many;
    fx->s.n_domains = 60;
    expect(fx, "cmp.nwfilter_antispoof", DBG_CHECK_FAIL, 0, "and 40 more not listed");
    dbg_evidence_list ev = {0};
    dbg_check_run(dbg_check_find("cmp.nwfilter_antispoof"), &fx->s, &fx->p, &ev);
    assert_int_equal(ev.n, 21);
    dbg_evidence_list_free(&ev);
    free(many);
    free(ifs);
    free(fx);
}

/* The registry and the shipped catalog agree: every clause a check says it serves lists the
 * check at level 3, and the catalog names only registered checks. */
/* A fixed buffer that cut a name inside a character must not make the piece unstorable. */
static void test_evidence_cut_utf8(void **state)
{
    (void)state;
    dbg_evidence_list ev = {0};
    assert_int_equal(dbg_evidence_add(&ev, 0, "libvirt virDomainGetXMLDesc(门\xe6\x88", "key \xe6",
                                      "observed", "expected"),
                     0);
    assert_string_equal(ev.items[0].source, "libvirt virDomainGetXMLDesc(门");
    assert_string_equal(ev.items[0].key, "key ");
    dbg_evidence_list_free(&ev);
}

static void test_catalog_wiring(void **state)
{
    (void)state;
    dbg_catalog_opts opts = {.check_exists = dbg_check_exists, .unknown_check_is_error = 1};
    dbg_catalog *cat = dbg_catalog_load(NULL, &opts);
    if (!cat)
        print_message("%s\n", dbg_err_msg());
    assert_non_null(cat);
    for (size_t i = 0; i < dbg_check_count(); i++) {
        const dbg_check *c = dbg_check_at(i);
        char clauses[256];
        snprintf(clauses, sizeof(clauses), "%s", c->items);
        char *save = NULL;
        for (char *cl = strtok_r(clauses, " ", &save); cl; cl = strtok_r(NULL, " ", &save)) {
            const dbg_item *it = dbg_catalog_find(cat, cl, 3);
            if (!it)
                fail_msg("%s serves %s, which the catalog lacks", c->id, cl);
            int listed = 0;
            for (size_t k = 0; it && k < it->n_checks; k++)
                listed |= !strcmp(it->checks[k], c->id);
            if (!listed)
                fail_msg("%s (%s) does not list %s", it ? it->id : cl, cl, c->id);
        }
    }
    dbg_catalog_free(cat);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_all_pass_on_good_cloud),
        cmocka_unit_test(test_platform_level),
        cmocka_unit_test(test_tenant_isolation),
        cmocka_unit_test(test_unplaced_vms),
        cmocka_unit_test(test_tenant_name_vs_id),
        cmocka_unit_test(test_network_owner_by_name),
        cmocka_unit_test(test_security_mechanisms),
        cmocka_unit_test(test_vnet_boundary_acl),
        cmocka_unit_test(test_tenant_ports_outside_libvirt),
        cmocka_unit_test(test_socket_link_tenants),
        cmocka_unit_test(test_vnet_boundary_acl_host_ports),
        cmocka_unit_test(test_vnet_boundary_acl_filter_rules),
        cmocka_unit_test(test_vnet_boundary_acl_snapshot_json),
        cmocka_unit_test(test_control_checks),
        cmocka_unit_test(test_image_seals_coverage),
        cmocka_unit_test(test_libvirt_audit),
        cmocka_unit_test(test_remote_tls),
        cmocka_unit_test(test_remote_tls_socket_activation),
        cmocka_unit_test(test_remote_tls_unit_dirs),
        cmocka_unit_test(test_remote_tls_listen_stream),
        cmocka_unit_test(test_console_exposure),
        cmocka_unit_test(test_nwfilter_antispoof),
        cmocka_unit_test(test_shared_mac),
        cmocka_unit_test(test_filter_follows_vm),
        cmocka_unit_test(test_sensitive_encrypted),
        cmocka_unit_test(test_migration_tls),
        cmocka_unit_test(test_replicas),
        cmocka_unit_test(test_replicas_disks_outside_pools),
        cmocka_unit_test(test_residual_wipe),
        cmocka_unit_test(test_traffic_separation),
        cmocka_unit_test(test_traffic_separation_unplaced),
        cmocka_unit_test(test_networks_not_listed),
        cmocka_unit_test(test_pools_not_listed),
        cmocka_unit_test(test_network_not_in_snapshot),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_password_policy_dropins),
        cmocka_unit_test(test_login_lockout),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_root_login),
        cmocka_unit_test(test_auditd),
        cmocka_unit_test(test_time_sync),
        cmocka_unit_test(test_unreadable_host_files),
        cmocka_unit_test(test_unreadable_not_default),
        cmocka_unit_test(test_evidence_cap),
        cmocka_unit_test(test_evidence_cut_utf8),
        cmocka_unit_test(test_catalog_wiring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
