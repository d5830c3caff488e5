/* Unit tests for src/platform: snapshot JSON round trip and its error messages, libvirt XML
 * parsing (tenant mapping from our metadata and nova's), host-file parsers with line numbers,
 * control status files, and a collection of the demo cloud through libvirt's test driver. */
#include <jansson.h>
#include <libvirt/libvirt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dengbao/checks.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "platform/platform_internal.h"

static char *srcpath(const char *rel)
{
    const char *src = getenv("DBG_SRCDIR");
    char *p = dbg_asprintf("%s/%s", src ? src : ".", rel);
    assert_non_null(p);
    return p;
}

static dbg_snapshot *collect_demo_opts(int read_only)
{
    DBG_AUTOFREE char *xml = srcpath("data/demo/cloud.xml");
    DBG_AUTOFREE char *root = srcpath("data/demo/host-root");
    char real[4096];
    assert_non_null(realpath(xml, real));
    DBG_AUTOFREE char *uri = dbg_asprintf("test://%s", real);
    dbg_collect_opts o = {.uri = uri, .host_root = root, .read_only = read_only};
    dbg_snapshot *s = dbg_snapshot_collect(&o);
    if (!s)
        fail_msg("collect failed: %s", dbg_err_msg());
    return s;
}

static dbg_snapshot *collect_demo(void)
{
    return collect_demo_opts(0);
}

static const dbg_domain *find_domain(const dbg_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_domains; i++)
        if (!strcmp(s->domains[i].name, name))
            return &s->domains[i];
    fail_msg("no domain %s", name);
    return NULL;
}

static const dbg_volume *find_volume(const dbg_snapshot *s, const char *name)
{
    for (size_t i = 0; i < s->n_volumes; i++)
        if (!strcmp(s->volumes[i].name, name))
            return &s->volumes[i];
    fail_msg("no volume %s", name);
    return NULL;
}

/* ------------------------------------------------------------ collection of the demo */

static void test_collect_demo(void **state)
{
    (void)state;
    dbg_snapshot *s = collect_demo();
    assert_int_equal(s->schema_version, DBG_SNAPSHOT_SCHEMA_VERSION);
    assert_string_equal(s->hypervisor, "TEST");
    assert_int_equal(s->n_domains, 7);
    assert_int_equal(s->n_networks, 5);
    assert_int_equal(s->n_pools, 2);
    assert_int_equal(s->n_volumes, 8);
    /* The test driver has no nwfilter API: recorded, not mistaken for "no filters needed". */
    assert_false(s->nwfilter_supported);
    assert_string_equal(s->nwfilter_note, "not supported by this driver");
    assert_false(s->bindings_supported);
    /* Canonical order: domains by name. */
    for (size_t i = 1; i < s->n_domains; i++)
        assert_true(strcmp(s->domains[i - 1].name, s->domains[i].name) < 0);

    const dbg_domain *mgmt = find_domain(s, "mgmt-console");
    assert_string_equal(mgmt->role, "management");
    assert_null(mgmt->tenant_id);
    const dbg_domain *db = find_domain(s, "a-db-01");
    assert_string_equal(db->tenant_id, "tenant-a");
    assert_string_equal(db->tenant_name, "华东电商");
    assert_string_equal(db->tenant_source, "dengbao");
    assert_true(db->sensitive);
    assert_true(db->disks[0].encrypted);
    assert_string_equal(db->disks[0].encryption_format, "luks");
    const dbg_domain *portal = find_domain(s, "b-portal-01");
    assert_string_equal(portal->tenant_name, "政务办公");
    assert_int_equal(portal->n_graphics, 1);
    assert_string_equal(portal->graphics[0].listen, "0.0.0.0");
    assert_false(portal->graphics[0].has_password);
    assert_null(portal->ifaces[0].filterref);
    assert_true(mgmt->graphics[0].has_password);
    for (size_t i = 0; i < s->n_domains; i++)
        assert_null(s->domains[i].secure_xml_error);
    const dbg_domain *archive = find_domain(s, "b-archive-01");
    assert_string_equal(archive->state, "shutoff");
    assert_true(archive->sensitive);
    assert_false(archive->disks[0].encrypted);

    const dbg_network *mgmt_net = dbg_snapshot_network(s, "mgmt-net");
    assert_non_null(mgmt_net);
    assert_string_equal(mgmt_net->role, "management");
    assert_int_equal(mgmt_net->n_vlan_tags, 1);
    assert_int_equal(mgmt_net->vlan_tags[0], 10);
    const dbg_network *dmz = dbg_snapshot_network(s, "shared-dmz");
    assert_string_equal(dmz->forward_mode, "nat");
    assert_int_equal(dmz->n_vlan_tags, 0);
    assert_false(dmz->port_isolated);
    assert_int_equal(dmz->n_dhcp_ranges, 1);
    assert_string_equal(dmz->dhcp_ranges[0], "192.168.100.100-192.168.100.199");
    assert_null(dmz->tenant_id);
    assert_null(dmz->tenant_name);
    /* A network's owner keeps its name too: it ties the name to the id for the checks. */
    const dbg_network *a_web = dbg_snapshot_network(s, "tenant-a-web");
    assert_string_equal(a_web->tenant_id, "tenant-a");
    assert_string_equal(a_web->tenant_name, "华东电商");

    /* Tenant of a volume = tenant of the domain using it; the leftover has none. */
    assert_string_equal(find_volume(s, "b-archive-01.img")->tenant_id, "tenant-b");
    assert_string_equal(find_volume(s, "a-web-01.qcow2")->tenant_id, "tenant-a");
    assert_true(find_volume(s, "a-db-01.qcow2")->encrypted);
    const dbg_volume *left = find_volume(s, "old-b-crm-01.qcow2");
    assert_false(left->in_use);
    assert_null(left->tenant_id);

    const dbg_iface *ifc = NULL;
    const dbg_domain *byMac = dbg_snapshot_domain_by_mac(s, "52:54:00:A1:0D:02", &ifc);
    assert_non_null(byMac);
    assert_string_equal(byMac->name, "a-web-02");
    assert_string_equal(ifc->source, "shared-dmz");

    /* Host facts from the demo sysroot. */
    const dbg_host_file *lc = dbg_snapshot_host_file(s, "/etc/libvirt/libvirtd.conf");
    assert_non_null(lc);
    assert_true(lc->present);
    const dbg_setting *tcp = dbg_host_file_get(lc, "listen_tcp");
    assert_string_equal(tcp->value, "1");
    assert_int_equal(tcp->line, 12);
    assert_false(dbg_snapshot_host_file(s, "/etc/security/faillock.conf")->present);
    assert_string_equal(
        dbg_host_file_get(dbg_snapshot_host_file(s, "/etc/login.defs"), "PASS_MAX_DAYS")->value,
        "99999");
    /* No dengbao control is deployed on the demo host. */
    assert_int_equal(s->n_controls, 8);
    assert_false(dbg_snapshot_control(s, "guard")->deployed);
    /* Management ports: sshd 22, the plain TCP listener 16509, the VNC ports. */
    int want_ports[] = {22, 5900, 5901, 16509};
    assert_int_equal(s->n_mgmt_ports, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(s->mgmt_ports[i], want_ports[i]);
    dbg_snapshot_free(s);
}

/* A read-only connection gets no VIR_DOMAIN_XML_SECURE: libvirt leaves every passwd out. The
 * refusal is recorded per domain, so a console's "no password" is not taken as a fact. */
static void test_collect_read_only(void **state)
{
    (void)state;
    dbg_snapshot *s = collect_demo_opts(1);
    assert_int_equal(s->n_domains, 7);
    for (size_t i = 0; i < s->n_domains; i++) {
        assert_non_null(s->domains[i].secure_xml_error);
        assert_non_null(strstr(s->domains[i].secure_xml_error, "secure flag"));
    }
    const dbg_domain *mgmt = find_domain(s, "mgmt-console");
    assert_false(mgmt->graphics[0].has_password); /* set, but hidden from this connection */
    dbg_snapshot_free(s);
}

/* An inactive pool cannot list its volumes; they still exist. The snapshot says so
 * (volumes_error) instead of showing the pool as empty. test:///default keeps one state per
 * process while a connection is open, so the pool stopped here is what collect sees. */
static void test_collect_inactive_pool(void **state)
{
    (void)state;
    virConnectPtr c = virConnectOpen("test:///default");
    assert_non_null(c);
    virStoragePoolPtr pool = virStoragePoolLookupByName(c, "default-pool");
    assert_non_null(pool);
    virStorageVolPtr vol = virStorageVolCreateXML(
        pool, "<volume><name>left.img</name><capacity>1024</capacity></volume>", 0);
    assert_non_null(vol);
    virStorageVolFree(vol);
    dbg_collect_opts o = {.uri = "test:///default", .host_root = "/nonexistent-root"};
    dbg_snapshot *s = dbg_snapshot_collect(&o);
    assert_non_null(s);
    assert_int_equal(s->n_pools, 1);
    assert_null(s->pools[0].volumes_error);
    assert_int_equal(s->n_volumes, 1);
    dbg_snapshot_free(s);

    assert_int_equal(virStoragePoolDestroy(pool), 0);
    s = dbg_snapshot_collect(&o);
    if (!s)
        fail_msg("collect failed: %s", dbg_err_msg());
    assert_int_equal(s->n_pools, 1);
    assert_false(s->pools[0].active);
    assert_non_null(s->pools[0].volumes_error);
    assert_non_null(strstr(s->pools[0].volumes_error, "not active"));
    assert_int_equal(s->n_volumes, 0);
    dbg_snapshot_free(s);
    virStoragePoolFree(pool);
    virConnectClose(c);
}

static dbg_snapshot *collect_node_in(const char *node, const char *dir, const char *root);

/* A node file of the test driver written to a temporary directory and collected with no host
 * files; the caller frees the snapshot and removes *dir with remove_node. */
static dbg_snapshot *collect_node(const char *node, char *dir)
{
    assert_non_null(mkdtemp(dir));
    return collect_node_in(node, dir, "/nonexistent-root");
}

/* The same in an existing directory dir, with host root root; removes the node file, and dir
 * when that leaves it empty. */
static dbg_snapshot *collect_node_in(const char *node, const char *dir, const char *root)
{
    DBG_AUTOFREE char *path = dbg_asprintf("%s/node.xml", dir);
    DBG_AUTOFREE char *uri = dbg_asprintf("test://%s", path);
    assert_int_equal(dbg_write_file_atomic(path, node, strlen(node)), 0);
    dbg_collect_opts o = {.uri = uri, .host_root = root};
    dbg_snapshot *s = dbg_snapshot_collect(&o);
    if (!s)
        fail_msg("collect failed: %s", dbg_err_msg());
    unlink(path);
    rmdir(dir);
    return s;
}

#define NODE_VM(name, tenant, disks)                                                               \
    "<domain type='test'><name>" name "</name><metadata><d:tenant "                                \
    "xmlns:d='https://dengbao.dev/xmlns/1' id='" tenant "'/></metadata><memory>1024</memory>"      \
    "<vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os><devices>" disks "</devices></domain>"
#define NODE_VOL(name, backing)                                                                    \
    "<volume type='file'><name>" name "</name><key>/pool/" name "</key><capacity>1024</capacity>"  \
    "<target><path>/pool/" name "</path><format type='qcow2'/></target>" backing "</volume>"
#define NODE_BACKING(name) "<backingStore><path>/pool/" name "</path></backingStore>"

/* Every store of a disk's backing chain is in use, and so is the volume a used volume's own XML
 * names as backing store: a base two layers down, or the base of a shut-off VM's overlay (its
 * XML shows no chain), was reported as a leftover volume by 8.2.4.7a. */
static void test_collect_backing_chain(void **state)
{
    (void)state;
    // clang-format off
    const char *node =
        "<node>" NODE_VM(
            "vm1", "t1",
            "<disk type='file' device='disk'><source file='/pool/top.qcow2'/>"
            "<backingStore type='file'><format type='qcow2'/><source file='/pool/mid.qcow2'/>"
            "<backingStore type='file'><format type='qcow2'/><source file='/pool/base.qcow2'/>"
            "<backingStore/>"
            "</backingStore></backingStore><target dev='vda'/></disk>")
            NODE_VM("vm2", "t2",
                    "<disk type='volume' device='disk'><source pool='p' volume='ovl.qcow2'/>"
                    "<target dev='vda'/></disk>"
                    "<disk type='file' device='disk'><source file='/pool/cyc1.qcow2'/>"
                    "<target dev='vdb'/></disk>")
        "<pool type='dir'><name>p</name><target><path>/pool</path></target>"
        NODE_VOL("top.qcow2", "") NODE_VOL("mid.qcow2", "") NODE_VOL("base.qcow2", "")
        NODE_VOL("ovl.qcow2", NODE_BACKING("gold.qcow2")) NODE_VOL("gold.qcow2", "")
        NODE_VOL("orphan.qcow2", NODE_BACKING("gold.qcow2"))
        NODE_VOL("cyc1.qcow2", NODE_BACKING("cyc2.qcow2"))
        NODE_VOL("cyc2.qcow2", NODE_BACKING("cyc1.qcow2")) "</pool></node>";
    // clang-format on
    char dir[] = "/tmp/dbg-chain-XXXXXX";
    dbg_snapshot *s = collect_node(node, dir);
    const dbg_disk *k = &find_domain(s, "vm1")->disks[0];
    assert_string_equal(k->backing, "/pool/mid.qcow2");
    assert_int_equal(k->n_backing_chain, 2);
    assert_string_equal(k->backing_chain[0], "/pool/mid.qcow2");
    assert_string_equal(k->backing_chain[1], "/pool/base.qcow2");
    assert_true(find_volume(s, "base.qcow2")->in_use);
    assert_string_equal(find_volume(s, "base.qcow2")->tenant_id, "t1");
    assert_string_equal(find_volume(s, "ovl.qcow2")->backing, "/pool/gold.qcow2");
    assert_true(find_volume(s, "gold.qcow2")->in_use);
    assert_string_equal(find_volume(s, "gold.qcow2")->tenant_id, "t2");
    assert_false(find_volume(s, "orphan.qcow2")->in_use); /* backed by a used base: still left */
    assert_true(find_volume(s, "cyc2.qcow2")->in_use);
    /* the chain and the volumes' backing stores are kept through JSON */
    DBG_AUTOFREE char *json = dbg_snapshot_to_json(s);
    dbg_snapshot *t = dbg_snapshot_from_json(json, strlen(json), "chain");
    assert_non_null(t);
    assert_int_equal(find_domain(t, "vm1")->disks[0].n_backing_chain, 2);
    assert_string_equal(find_volume(t, "ovl.qcow2")->backing, "/pool/gold.qcow2");
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
}

/* On the live host a disk naming its volume through a linked directory uses it, and so does
 * one naming by its real path a volume of a pool defined on a link (each was a leftover volume
 * to 8.2.4.7a); a volume that is a link (cur.qcow2 -> vm2.qcow2) is not the file it names. */
static void test_collect_volume_by_real_path(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-vlink-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *pool = dbg_asprintf("%s/pool", dir);
    DBG_AUTOFREE char *link = dbg_asprintf("%s/images", dir);
    const char *files[] = {"vm.qcow2", "vm2.qcow2", "other.qcow2"};
    char *paths[3];
    assert_int_equal(mkdir(pool, 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        paths[i] = dbg_asprintf("%s/%s", pool, files[i]);
        assert_int_equal(dbg_write_file_atomic(paths[i], "x", 1), 0);
    }
    DBG_AUTOFREE char *cur = dbg_asprintf("%s/cur.qcow2", pool);
    assert_int_equal(symlink("vm2.qcow2", cur), 0);
    assert_int_equal(symlink(pool, link), 0);
#define VOL(name)                                                                                  \
    "<volume type='file'><name>" name "</name><capacity>1024</capacity><target><path>%s/" name     \
    "</path></target></volume>"
    // clang-format off
    DBG_AUTOFREE char *node = dbg_asprintf(
        "<node>" NODE_VM("vm1", "t1",
                         "<disk type='file' device='disk'><source file='%s/vm.qcow2'/>"
                         "<target dev='vda'/></disk>"
                         "<disk type='file' device='disk'><source file='%s/vm2.qcow2'/>"
                         "<target dev='vdb'/></disk>"
                         "<disk type='file' device='disk'><source file='%s/other.qcow2'/>"
                         "<target dev='vdc'/></disk>")
        "<pool type='dir'><name>p</name><target><path>%s</path></target>"
        VOL("vm.qcow2") VOL("vm2.qcow2") VOL("cur.qcow2") "</pool>"
        "<pool type='dir'><name>q</name><target><path>%s</path></target>"
        VOL("other.qcow2") "</pool></node>",
        link, pool, pool, pool, pool, pool, pool, link, link);
    // clang-format on
#undef VOL
    dbg_snapshot *s = collect_node_in(node, dir, "/");
    for (size_t i = 0; i < 3; i++) {
        unlink(paths[i]);
        free(paths[i]);
    }
    unlink(cur);
    unlink(link);
    rmdir(pool);
    rmdir(dir);
    DBG_AUTOFREE char *real = dbg_asprintf("%s/vm.qcow2", pool);
    assert_string_equal(find_domain(s, "vm1")->disks[0].real_path, real);
    assert_true(find_volume(s, "vm.qcow2")->in_use);
    assert_string_equal(find_volume(s, "vm.qcow2")->tenant_id, "t1");
    assert_true(find_volume(s, "vm2.qcow2")->in_use);
    assert_false(find_volume(s, "cur.qcow2")->in_use);
    assert_true(find_volume(s, "other.qcow2")->in_use);
    dbg_snapshot_free(s);
}

/* Every <ip> of a network is the host's address on it: a dual-stack network whose IPv6 <ip>
 * comes first had only that one counted, not the IPv4 gateway its VMs reach the host at. */
static void test_collect_network_addresses(void **state)
{
    (void)state;
    const char *node = "<node><network><name>ds</name><forward mode='nat'/>"
                       "<bridge name='virbr9'/><ip family='ipv6' address='fd00:9::1' prefix='64'/>"
                       "<ip address='10.9.0.1' netmask='255.255.255.0'/>"
                       "<ip family='ipv6' address='fd00:99::1' prefix='64'/></network></node>";
    char dir[] = "/tmp/dbg-net6-XXXXXX";
    dbg_snapshot *s = collect_node(node, dir);
    assert_int_equal(s->n_networks, 1);
    assert_string_equal(s->networks[0].ip_address, "fd00:9::1");
    assert_int_equal(s->networks[0].n_ip_addresses, 3);
    const char *want[] = {"10.9.0.1", "fd00:99::1", "fd00:9::1"};
    assert_int_equal(s->n_host_addresses, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(s->host_addresses[i], want[i]);
    dbg_snapshot_free(s);
}

/* A SPICE console's TLS port and a VNC console's WebSocket are management ports on the host
 * as much as their plain port: only that one was listed (and so known to the sensor). */
static void test_collect_console_ports(void **state)
{
    (void)state;
    const char *node =
        "<node>" NODE_VM("vm1", "t1",
                         "<graphics type='spice' port='5930' tlsPort='5931' autoport='no' "
                         "listen='0.0.0.0'/><graphics type='vnc' port='5940' websocket='5741' "
                         "autoport='no' listen='0.0.0.0'/>") "</node>";
    char dir[] = "/tmp/dbg-console-XXXXXX";
    dbg_snapshot *s = collect_node(node, dir);
    const dbg_domain *d = find_domain(s, "vm1");
    assert_int_equal(d->n_graphics, 2);
    assert_int_equal(d->graphics[0].tls_port, 5931);
    assert_int_equal(d->graphics[0].websocket, -1);
    assert_int_equal(d->graphics[1].websocket, 5741);
    const int want[] = {22, 5741, 5930, 5931, 5940, 16514};
    assert_int_equal(s->n_mgmt_ports, 6);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(s->mgmt_ports[i], want[i]);
    dbg_snapshot_free(s);
}

static void test_collect_unreachable(void **state)
{
    (void)state;
    dbg_collect_opts o = {.uri = "test:///nonexistent/dir/cloud.xml", .host_root = "/"};
    assert_null(dbg_snapshot_collect(&o));
    assert_int_equal(dbg_err_code(), DBG_ERR_LIBVIRT);
    assert_non_null(strstr(dbg_err_msg(), "test:///nonexistent/dir/cloud.xml"));
}

/* ------------------------------------------------------------ JSON */

static void test_json_roundtrip_collected(void **state)
{
    (void)state;
    dbg_snapshot *s = collect_demo();
    DBG_AUTOFREE char *j1 = dbg_snapshot_to_json(s);
    assert_non_null(j1);
    dbg_snapshot *t = dbg_snapshot_from_json(j1, strlen(j1), "demo.json");
    assert_non_null(t);
    DBG_AUTOFREE char *j2 = dbg_snapshot_to_json(t);
    assert_string_equal(j1, j2);
    /* Unknown defaults survive: -1 means "unknown" / "none". */
    assert_int_equal(find_domain(t, "a-web-01")->ifaces[0].vlan, -1);
    assert_int_equal(t->pools[0].replicas, -1);
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
}

static const char minimal[] =
    "{\"schema_version\": 1, \"uri\": \"test:///x\", \"domains\": [{\"name\": \"vm \\\"1\\\"\\n\","
    " \"ifaces\": [{\"mac\": \"52:54:00:00:00:01\", \"vlan\": 7}], \"memory_kib\": 1024}],"
    " \"networks\": [], \"pools\": [], \"volumes\": [], \"nwfilters\": [], \"bindings\": [],"
    " \"host_files\": [{\"path\": \"/etc/x\", \"present\": true, \"settings\": [{\"key\": \"k\","
    " \"value\": \"\\u4e2d\", \"line\": 3}]}], \"controls\": [], \"mgmt_ports\": [22]}";

static void test_json_roundtrip_text(void **state)
{
    (void)state;
    dbg_snapshot *s = dbg_snapshot_from_json(minimal, strlen(minimal), "min.json");
    assert_non_null(s);
    assert_string_equal(s->domains[0].name, "vm \"1\"\n");
    assert_int_equal(s->domains[0].ifaces[0].vlan, 7);
    assert_int_equal(s->domains[0].memory_kib, 1024);
    assert_string_equal(s->host_files[0].settings[0].value, "中");
    assert_int_equal(s->host_files[0].settings[0].line, 3);
    /* to_json(from_json(to_json(x))) is a fixed point. */
    DBG_AUTOFREE char *j1 = dbg_snapshot_to_json(s);
    dbg_snapshot *t = dbg_snapshot_from_json(j1, strlen(j1), "j1");
    assert_non_null(t);
    DBG_AUTOFREE char *j2 = dbg_snapshot_to_json(t);
    assert_string_equal(j1, j2);
    assert_non_null(strstr(j1, "\"name\": \"vm \\\"1\\\"\\n\""));
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
}

static void expect_json_error(const char *text, const char *want)
{
    dbg_err_clear();
    dbg_snapshot *s = dbg_snapshot_from_json(text, strlen(text), "snap.json");
    if (s) {
        dbg_snapshot_free(s);
        fail_msg("accepted: %s", text);
    }
    if (!strstr(dbg_err_msg(), want))
        fail_msg("error '%s' does not contain '%s'", dbg_err_msg(), want);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_json_error("{\"schema_version\": 1,\n  \"domains\": [", "snap.json:2:");
    expect_json_error("[]", "snap.json: $: expected snapshot object, got array");
    expect_json_error("{\"domains\": []}", "snap.json: $.schema_version: missing");
    expect_json_error("{\"schema_version\": 2}", "snap.json: $.schema_version: 2 is not supported");
    expect_json_error("{\"schema_version\": \"1\"}",
                      "$.schema_version: expected integer, got string");
    expect_json_error("{\"schema_version\": 1, \"domains\": {}}",
                      "snap.json: $.domains: expected array, got object");
    expect_json_error("{\"schema_version\": 1, \"domains\": []}", "snapshot has no \"networks\"");
    char *bad = dbg_strdup(minimal);
    char *p = strstr(bad, "\"vlan\": 7");
    memcpy(p, "\"vlan\":[]", 9);
    expect_json_error(bad, "snap.json: $.domains[0].ifaces[0].vlan: expected integer, got array");
    free(bad);
    bad = dbg_strdup(minimal);
    p = strstr(bad, "\"present\": true");
    memcpy(p, "\"present\": 1   ", 15);
    expect_json_error(bad, "$.host_files[0].present: expected boolean, got integer");
    free(bad);
    bad = dbg_strdup(minimal);
    p = strstr(bad, "\"memory_kib\": 1024");
    memcpy(p, "\"memory_kib\": -100", 18);
    expect_json_error(bad, "$.domains[0].memory_kib: -100 is out of range");
    free(bad);
    expect_json_error("{\"schema_version\": 1, \"domains\": [{\"uuid\": null}]}",
                      "$.domains[0]: domain has no \"name\"");
    expect_json_error("{\"schema_version\": 1, \"schema_version\": 1}", "duplicate");
    expect_json_error("{\"schema_version\": 1, \"domains\": [{\"name\": null}]}",
                      "$.domains[0].name: expected string, got null");
}

/* A snapshot made before rule actions were recorded has only n_rules: it reads back with no
 * rule listed, which the checks take as "actions unknown" (n_rules_listed != n_rules); one
 * with the rules keeps them through a round trip. */
static void test_json_nwfilter_rules(void **state)
{
    (void)state;
    const char *old =
        "{\"schema_version\": 1, \"domains\": [], \"networks\": [], \"pools\": [],"
        " \"volumes\": [], \"bindings\": [], \"host_files\": [], \"controls\": [],"
        " \"nwfilters\": [{\"name\": \"allow-all\", \"chain\": \"root\", \"refs\": [],"
        " \"n_rules\": 1}]}";
    dbg_snapshot *s = dbg_snapshot_from_json(old, strlen(old), "old.json");
    assert_non_null(s);
    assert_int_equal(s->nwfilters[0].n_rules, 1);
    assert_int_equal(s->nwfilters[0].n_rules_listed, 0);
    assert_null(s->nwfilters[0].rules);
    dbg_snapshot_free(s);

    const char *now =
        "{\"schema_version\": 1, \"domains\": [], \"networks\": [], \"pools\": [],"
        " \"volumes\": [], \"bindings\": [], \"host_files\": [], \"controls\": [],"
        " \"nwfilters\": [{\"name\": \"f\", \"n_rules\": 2, \"rules\": [{\"action\": \"drop\","
        " \"direction\": \"in\", \"priority\": -200}, {\"action\": \"accept\"}]}]}";
    s = dbg_snapshot_from_json(now, strlen(now), "now.json");
    assert_non_null(s);
    assert_int_equal(s->nwfilters[0].n_rules_listed, 2);
    assert_string_equal(s->nwfilters[0].rules[0].action, "drop");
    assert_int_equal(s->nwfilters[0].rules[0].priority, -200);
    assert_null(s->nwfilters[0].rules[1].direction);
    assert_int_equal(s->nwfilters[0].rules[1].priority, 500);
    DBG_AUTOFREE char *j1 = dbg_snapshot_to_json(s);
    assert_non_null(strstr(j1, "\"action\": \"drop\""));
    dbg_snapshot *t = dbg_snapshot_from_json(j1, strlen(j1), "j1");
    assert_non_null(t);
    DBG_AUTOFREE char *j2 = dbg_snapshot_to_json(t);
    assert_string_equal(j1, j2);
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
}

/* Fields checks compare without NULL tests read as "" when null or absent. */
static void test_json_nonnull_strings(void **state)
{
    (void)state;
    const char *text =
        "{\"schema_version\": 1, \"domains\": [], \"networks\": [], \"pools\": [],"
        " \"volumes\": [], \"nwfilters\": [], \"bindings\": [], \"controls\": [],"
        " \"host_files\": [{\"path\": \"/etc/x\", \"settings\": [{\"key\": \"a\", "
        "\"value\": null}, {\"key\": \"b\"}]}]}";
    dbg_snapshot *s = dbg_snapshot_from_json(text, strlen(text), "nn.json");
    assert_non_null(s);
    const dbg_host_file *f = dbg_snapshot_host_file(s, "/etc/x");
    assert_string_equal(dbg_host_file_get(f, "a")->value, "");
    assert_string_equal(dbg_host_file_get(f, "b")->value, "");
    assert_string_equal(dbg_host_file_get(f, "b")->file, "");
    assert_int_equal(f->present, 0);
    dbg_snapshot_free(s);
}

static void test_snapshot_load_save(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-plat-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *path = dbg_asprintf("%s/s.json", dir);
    dbg_snapshot *s = dbg_snapshot_from_json(minimal, strlen(minimal), "min");
    assert_int_equal(dbg_snapshot_save(s, path), 0);
    dbg_snapshot *t = dbg_snapshot_load(path);
    assert_non_null(t);
    assert_string_equal(t->uri, "test:///x");
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
    unlink(path);
    assert_null(dbg_snapshot_load(path));
    assert_non_null(strstr(dbg_err_msg(), path));
    rmdir(dir);
}

/* ------------------------------------------------------------ libvirt XML */

static void test_domain_tenant_dengbao(void **state)
{
    (void)state;
    const char *xml =
        "<domain type='kvm'><name>v</name><uuid>u</uuid><memory unit='KiB'>2048</memory>"
        "<vcpu current='2'>4</vcpu><metadata>"
        "<dengbao:tenant xmlns:dengbao='https://dengbao.dev/xmlns/1' id='t1' name='租户一'/>"
        "</metadata><devices>"
        "<interface type='bridge'><mac address='52:54:00:AB:CD:EF'/><source bridge='br0' "
        "portgroup='pg'/><target dev='vnet3'/><model type='virtio'/><vlan><tag id='42'/></vlan>"
        "<filterref filter='clean-traffic'><parameter name='IP' value='10.0.0.5'/>"
        "<parameter name='CTRL_IP_LEARNING' value='none'/></filterref></interface>"
        "<disk type='file' device='cdrom'><source file='/iso/x.iso'><encryption format='luks'/>"
        "</source><target dev='sda'/><readonly/><backingStore type='file'><source "
        "file='/b.qcow2'/></backingStore></disk>"
        "<graphics type='spice' autoport='yes'><listen type='network' network='mgmt'/>"
        "<channel name='main' mode='secure'/></graphics></devices></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_string_equal(d.tenant_id, "t1");
    assert_string_equal(d.tenant_name, "租户一");
    assert_string_equal(d.tenant_source, "dengbao");
    assert_null(d.role);
    assert_int_equal(d.vcpus, 2);
    assert_int_equal(d.memory_kib, 2048);
    assert_string_equal(d.ifaces[0].mac, "52:54:00:ab:cd:ef");
    assert_string_equal(d.ifaces[0].source, "br0");
    assert_string_equal(d.ifaces[0].portgroup, "pg");
    assert_string_equal(d.ifaces[0].target_dev, "vnet3");
    assert_int_equal(d.ifaces[0].vlan, 42);
    assert_int_equal(d.ifaces[0].n_filter_params, 2);
    assert_string_equal(d.ifaces[0].filter_params[1], "CTRL_IP_LEARNING=none");
    assert_int_equal(d.ifaces[0].n_ips, 1);
    assert_string_equal(d.ifaces[0].ips[0], "10.0.0.5");
    assert_string_equal(d.disks[0].device, "cdrom");
    assert_true(d.disks[0].encrypted); /* <encryption> under <source> (newer libvirt) */
    assert_true(d.disks[0].readonly);
    assert_string_equal(d.disks[0].backing, "/b.qcow2");
    assert_string_equal(d.graphics[0].listen, "network:mgmt");
    assert_int_equal(d.graphics[0].port, -1);
    /* Only the main channel is secure: display, inputs (keystrokes, guest passwords typed at
     * its console) and the rest stay on the plain port (libvirt's defaultMode 'any'). */
    assert_false(d.graphics[0].tls);
    dbg_platform_domain_clear(&d);
}

/* A SPICE console is TLS only when every channel must be: defaultMode='secure' and no channel
 * set back to 'insecure' or 'any'. */
/* Disks whose <source> has no file, dev, name or dir: an NBD export without a name (TCP or a
 * UNIX socket), an NVMe namespace by PCI address, a vhost-user socket. With no source they
 * were no disk to the checks, and 8.2.4.4b judged a VM on them by its other disks. */
static void test_domain_disk_sources(void **state)
{
    (void)state;
    const char *xml =
        "<domain><name>d</name><devices>"
        "<disk type='network' device='disk'><source protocol='nbd'>"
        "<host name='10.0.0.9' port='10809'/></source><target dev='vda'/></disk>"
        "<disk type='network' device='disk'><source protocol='nbd'>"
        "<host transport='unix' socket='/run/nbd.sock'/></source><target dev='vdb'/></disk>"
        "<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='2'>"
        "<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>"
        "<target dev='vdc'/></disk>"
        "<disk type='vhostuser' device='disk'><source type='unix' path='/run/vhost-blk.sock'>"
        "<reconnect enabled='yes' timeout='10'/></source><target dev='vdd'/></disk>"
        "<disk type='network' device='disk'><source protocol='rbd' name='pool/img'>"
        "<host name='mon1'/></source><target dev='vde'/></disk>"
        "</devices></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_int_equal(d.n_disks, 5);
    assert_string_equal(d.disks[0].source, "nbd://10.0.0.9:10809");
    assert_string_equal(d.disks[1].source, "nbd+unix:///run/nbd.sock");
    assert_string_equal(d.disks[2].source, "nvme://0000:01:00.0/2");
    assert_string_equal(d.disks[3].source, "/run/vhost-blk.sock");
    assert_string_equal(d.disks[4].source, "pool/img"); /* a named one keeps its name */
    dbg_platform_domain_clear(&d);
}

/* A trunk port is on every VLAN it carries: the first tag as the port's VLAN let a tenant's
 * trunk carrying another tenant's VLAN read as "a separate VLAN per tenant" (8.2.2.1b). */
static void test_domain_vlan_trunk(void **state)
{
    (void)state;
    const char *xml = "<domain><name>d</name><devices>"
                      "<interface type='bridge'><source bridge='ovs0'/>"
                      "<vlan trunk='yes'><tag id='10'/><tag id='20' nativeMode='untagged'/></vlan>"
                      "</interface><interface type='bridge'><source bridge='ovs0'/>"
                      "<vlan><tag id='30'/></vlan></interface></devices></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_int_equal(d.ifaces[0].vlan, -1);
    assert_int_equal(d.ifaces[0].n_vlan_tags, 2);
    assert_int_equal(d.ifaces[0].vlan_tags[0], 10);
    assert_int_equal(d.ifaces[0].vlan_tags[1], 20);
    assert_int_equal(d.ifaces[1].vlan, 30);
    assert_int_equal(d.ifaces[1].n_vlan_tags, 1);
    dbg_platform_domain_clear(&d);
}

static void test_domain_spice_tls(void **state)
{
    (void)state;
    static const struct {
        const char *graphics;
        int tls;
    } cases[] = {
        {"<graphics type='spice' defaultMode='secure'/>", 1},
        {"<graphics type='spice' defaultMode='secure'><channel name='main' mode='secure'/>"
         "</graphics>",
         1},
        {"<graphics type='spice' defaultMode='secure'><channel name='inputs' mode='insecure'/>"
         "</graphics>",
         0},
        {"<graphics type='spice' defaultMode='secure'><channel name='display' mode='any'/>"
         "</graphics>",
         0},
        {"<graphics type='spice'><channel name='main' mode='secure'/><channel name='inputs' "
         "mode='secure'/></graphics>",
         0},
        {"<graphics type='spice'/>", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        DBG_AUTOFREE char *xml = dbg_asprintf("<domain><name>v</name><devices>%s</devices>"
                                              "</domain>",
                                              cases[i].graphics);
        assert_non_null(xml);
        dbg_domain d = {0};
        assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
        assert_int_equal(d.n_graphics, 1);
        if (d.graphics[0].tls != cases[i].tls)
            fail_msg("%s: tls %d, want %d", cases[i].graphics, d.graphics[0].tls, cases[i].tls);
        dbg_platform_domain_clear(&d);
    }
}

/* <port isolated='yes'/> in an interface (libvirt 6.1+): that port talks to no other isolated
 * port of its bridge. */
static void test_domain_port_isolated(void **state)
{
    (void)state;
    const char *xml = "<domain><name>v</name><devices>"
                      "<interface type='bridge'><source bridge='br0'/><port isolated='yes'/>"
                      "</interface><interface type='bridge'><source bridge='br0'/>"
                      "<port isolated='no'/></interface><interface type='network'>"
                      "<source network='n'/></interface></devices></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_int_equal(d.n_ifaces, 3);
    assert_true(d.ifaces[0].port_isolated);
    assert_false(d.ifaces[1].port_isolated);
    assert_false(d.ifaces[2].port_isolated);
    dbg_platform_domain_clear(&d);
}

/* QEMU socket links (libvirt formatdomain "Multicast tunnel", "TCP tunnel", "UDP unicast
 * tunnel"): the address each end names, which the isolation check pairs the ends by. */
static void test_domain_socket_links(void **state)
{
    (void)state;
    const char *xml =
        "<domain><name>v</name><devices>"
        "<interface type='mcast'><source address='230.0.0.1' port='5558'/></interface>"
        "<interface type='udp'><source address='192.168.10.1' port='5555'>"
        "<local address='192.168.10.2' port='5556'/></source></interface>"
        "<interface type='server'><source port='5559'/></interface>"
        "<interface type='client'><source address='fd00::1' port='5559'/></interface>"
        "<interface type='bridge'><source bridge='br0' address='x'/></interface>"
        "</devices></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_int_equal(d.n_ifaces, 5);
    assert_string_equal(d.ifaces[0].link_address, "230.0.0.1:5558");
    assert_null(d.ifaces[0].link_local);
    assert_string_equal(d.ifaces[1].link_address, "192.168.10.1:5555");
    assert_string_equal(d.ifaces[1].link_local, "192.168.10.2:5556");
    assert_string_equal(d.ifaces[2].link_address, "*:5559");
    assert_string_equal(d.ifaces[3].link_address, "[fd00::1]:5559");
    assert_null(d.ifaces[4].link_address);
    assert_true(dbg_iface_is_socket_link(&d.ifaces[3]));
    assert_false(dbg_iface_is_socket_link(&d.ifaces[4]));
    dbg_platform_domain_clear(&d);
}

static void test_domain_tenant_nova(void **state)
{
    (void)state;
    const char *xml = "<domain type='kvm'><name>instance-0000002a</name><metadata>"
                      "<nova:instance xmlns:nova='http://openstack.org/xmlns/libvirt/nova/1.1'>"
                      "<nova:name>web-1</nova:name><nova:owner>"
                      "<nova:user uuid='a0b1'>alice</nova:user>"
                      "<nova:project uuid='9f3c2e1d8b7a4c6e'>gov-office</nova:project>"
                      "</nova:owner></nova:instance></metadata><devices/></domain>";
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(xml, strlen(xml), &d), 0);
    assert_string_equal(d.tenant_id, "9f3c2e1d8b7a4c6e");
    assert_string_equal(d.tenant_name, "gov-office");
    assert_string_equal(d.tenant_source, "nova");
    dbg_platform_domain_clear(&d);

    /* Wrapped facts (one metadata element per namespace), and no tenant at all. */
    const char *wrapped =
        "<domain><name>m</name><metadata><x:instance xmlns:x='https://dengbao.dev/xmlns/1'>"
        "<x:role>management</x:role><x:data classification='sensitive'/></x:instance>"
        "</metadata></domain>";
    dbg_domain w = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(wrapped, strlen(wrapped), &w), 0);
    assert_null(w.tenant_id);
    assert_null(w.tenant_source);
    assert_string_equal(w.role, "management");
    assert_true(w.sensitive);
    assert_string_equal(w.classification, "sensitive");
    dbg_platform_domain_clear(&w);
    const char *public = "<domain><name>p</name><metadata><x:data "
                         "xmlns:x='https://dengbao.dev/xmlns/1' classification='public'/>"
                         "</metadata></domain>";
    assert_int_equal(dbg_platform_parse_domain_xml(public, strlen(public), &w), 0);
    assert_false(w.sensitive);
    assert_string_equal(w.classification, "public");
    dbg_platform_domain_clear(&w);

    /* Same local names in a foreign namespace are not ours. */
    const char *foreign = "<domain><name>f</name><metadata><o:tenant xmlns:o='urn:other' "
                          "id='nope'/></metadata></domain>";
    dbg_domain f = {0};
    assert_int_equal(dbg_platform_parse_domain_xml(foreign, strlen(foreign), &f), 0);
    assert_null(f.tenant_id);
    dbg_platform_domain_clear(&f);
}

static void test_xml_errors(void **state)
{
    (void)state;
    dbg_domain d = {0};
    assert_int_equal(dbg_platform_parse_domain_xml("<domain><name>x</nam", 20, &d), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    assert_non_null(strstr(dbg_err_msg(), "domain XML:1:"));
    dbg_platform_domain_clear(&d);
    dbg_network n = {0};
    const char *wrong = "<pool><name>x</name></pool>";
    assert_int_equal(dbg_platform_parse_network_xml(wrong, strlen(wrong), &n), -1);
    assert_non_null(strstr(dbg_err_msg(), "root element is <pool>, expected <network>"));
    dbg_platform_network_clear(&n);
}

static void test_network_pool_volume_filter(void **state)
{
    (void)state;
    const char *net = "<network><name>n</name><forward/><bridge name='virbr1'/>"
                      "<port isolated='yes'/><ip address='10.1.0.1' prefix='24'><dhcp>"
                      "<range start='10.1.0.10' end='10.1.0.20'/></dhcp></ip>"
                      "<metadata><d:role xmlns:d='https://dengbao.dev/xmlns/1'>storage</d:role>"
                      "</metadata></network>";
    dbg_network n = {0};
    assert_int_equal(dbg_platform_parse_network_xml(net, strlen(net), &n), 0);
    assert_string_equal(n.forward_mode, "nat");
    assert_true(n.port_isolated);
    assert_string_equal(n.netmask, "24");
    assert_string_equal(n.role, "storage");
    dbg_platform_network_clear(&n);
    /* an <ip> without an address is skipped: the next one's address and mask are taken (this
     * leaked the first mask, found by fuzz_platform_parsers) */
    const char *two = "<network><name>n</name><ip netmask='255.255.0.0'/>"
                      "<ip address='10.2.0.1' netmask='255.255.255.0'/></network>";
    assert_int_equal(dbg_platform_parse_network_xml(two, strlen(two), &n), 0);
    assert_string_equal(n.ip_address, "10.2.0.1");
    assert_string_equal(n.netmask, "255.255.255.0");
    dbg_platform_network_clear(&n);
    /* an owner given by name only is kept (it used to be dropped, leaving no owner) */
    const char *owned = "<network><name>n</name><metadata>"
                        "<d:tenant xmlns:d='https://dengbao.dev/xmlns/1' name='租户一'/>"
                        "</metadata></network>";
    assert_int_equal(dbg_platform_parse_network_xml(owned, strlen(owned), &n), 0);
    assert_null(n.tenant_id);
    assert_string_equal(n.tenant_name, "租户一");
    dbg_platform_network_clear(&n);

    const char *pool = "<pool type='rbd'><name>ceph</name><capacity unit='GiB'>2</capacity>"
                       "</pool>";
    dbg_pool p = {0};
    assert_int_equal(dbg_platform_parse_pool_xml(pool, strlen(pool), &p), 0);
    assert_true(p.supports_replicas);
    assert_int_equal(p.replicas, -1);
    assert_int_equal(p.capacity, 2ULL << 30);
    dbg_platform_pool_clear(&p);

    const char *vol = "<volume type='file'><name>v</name><key>/p/v</key>"
                      "<capacity unit='bytes'>99999999999999999999999</capacity>"
                      "<target><path>/p/v</path><format type='qcow2'/>"
                      "<encryption format='qcow'/></target></volume>";
    dbg_volume v = {0};
    assert_int_equal(dbg_platform_parse_volume_xml(vol, strlen(vol), "pool1", &v), 0);
    assert_string_equal(v.pool, "pool1");
    assert_true(v.encrypted);
    assert_string_equal(v.encryption_format, "qcow");
    assert_int_equal(v.capacity, INT64_MAX); /* clamped: the snapshot holds signed 64-bit */
    dbg_platform_volume_clear(&v);

    const char *flt = "<filter name='clean-traffic' chain='root'><uuid>x</uuid>"
                      "<filterref filter='no-mac-spoofing'/><filterref filter='no-ip-spoofing'/>"
                      "<rule action='accept' direction='out'/></filter>";
    dbg_nwfilter f = {0};
    assert_int_equal(dbg_platform_parse_nwfilter_xml(flt, strlen(flt), &f), 0);
    assert_int_equal(f.n_refs, 2);
    assert_string_equal(f.refs[1], "no-ip-spoofing");
    assert_int_equal(f.n_rules, 1);
    assert_int_equal(f.n_rules_listed, 1);
    assert_string_equal(f.rules[0].action, "accept");
    assert_string_equal(f.rules[0].direction, "out");
    assert_int_equal(f.rules[0].priority, 500); /* libvirt's default when omitted */
    dbg_platform_nwfilter_clear(&f);

    /* As libvirt writes its allow-all: one accept rule, nothing restricted. */
    const char *allow = "<filter name='allow-all' chain='root'>\n"
                        "  <uuid>3ef1b37a-1f3c-4a36-9b41-0d2a1c5e7f01</uuid>\n"
                        "  <rule action='accept' direction='inout' priority='500'/>\n"
                        "</filter>\n";
    f = (dbg_nwfilter){0};
    assert_int_equal(dbg_platform_parse_nwfilter_xml(allow, strlen(allow), &f), 0);
    assert_int_equal(f.n_rules, 1);
    assert_int_equal(f.n_rules_listed, 1);
    assert_string_equal(f.rules[0].action, "accept");
    assert_string_equal(f.rules[0].direction, "inout");
    assert_int_equal(f.rules[0].priority, 500);
    dbg_platform_nwfilter_clear(&f);

    /* A mac-chain filter in the manner of no-mac-spoofing: return for the port's own MAC,
     * drop the rest; protocol matches inside the rules are not kept. */
    const char *spoof = "<filter name='no-mac-spoofing' chain='mac' priority='-800'>\n"
                        "  <rule action='return' direction='out' priority='-650'>\n"
                        "    <mac srcmacaddr='$MAC'/>\n"
                        "  </rule>\n"
                        "  <rule action='drop' direction='out' priority='500'>\n"
                        "    <mac/>\n"
                        "  </rule>\n"
                        "  <rule action='reject' direction='in' priority='-100'>"
                        "<ip protocol='tcp'/></rule>\n"
                        "</filter>\n";
    f = (dbg_nwfilter){0};
    assert_int_equal(dbg_platform_parse_nwfilter_xml(spoof, strlen(spoof), &f), 0);
    assert_string_equal(f.chain, "mac");
    assert_int_equal(f.n_rules, 3);
    assert_int_equal(f.n_rules_listed, 3);
    assert_string_equal(f.rules[0].action, "return");
    assert_int_equal(f.rules[0].priority, -650);
    assert_string_equal(f.rules[1].action, "drop");
    assert_string_equal(f.rules[1].direction, "out");
    assert_string_equal(f.rules[2].action, "reject");
    assert_string_equal(f.rules[2].direction, "in");
    assert_int_equal(f.rules[2].priority, -100);
    dbg_platform_nwfilter_clear(&f);

    const char *bind = "<filterbinding><owner><name>vm</name><uuid>u</uuid></owner>"
                       "<portdev name='vnet0'/><mac address='52:54:00:0A:0B:0C'/>"
                       "<filterref filter='clean-traffic'/></filterbinding>";
    dbg_nwfilter_binding b = {0};
    assert_int_equal(dbg_platform_parse_binding_xml(bind, strlen(bind), &b), 0);
    assert_string_equal(b.portdev, "vnet0");
    assert_string_equal(b.mac, "52:54:00:0a:0b:0c");
    assert_string_equal(b.owner_name, "vm");
    dbg_platform_binding_clear(&b);
}

/* ------------------------------------------------------------ host files */

static dbg_host_file parse_text(const char *text, dbg_conf_syntax syn)
{
    dbg_host_file f = {0};
    assert_int_equal(dbg_platform_parse_host_file(NULL, "/etc/x.conf", text, syn, &f), 0);
    return f;
}

static void expect_setting(const dbg_host_file *f, const char *key, const char *value, int line)
{
    const dbg_setting *s = dbg_host_file_get(f, key);
    if (!s)
        fail_msg("no setting %s", key);
    assert_string_equal(s->value, value);
    assert_int_equal(s->line, line);
    assert_string_equal(s->file, "/etc/x.conf");
}

static void test_host_libvirt_conf(void **state)
{
    (void)state;
    dbg_host_file f = parse_text("# comment\n"
                                 "listen_tls = 0   # trailing comment\n"
                                 "\n"
                                 "auth_tls = \"sasl\"\n"
                                 "tls_allowed_dn_list = [\"C=CN,O=a\",\n"
                                 "   \"C=CN,O=#b\" ]\n"
                                 "listen_tls=1\n"
                                 "tls_allowed_dn_list = [\"*\",\n"
                                 "   \"C=CN\" ]\n"
                                 "auth_tls = \"none\"\n"
                                 "LISTEN_TLS = 1\n"
                                 "Auth_Tcp = \"none\"\n",
                                 DBG_CONF_LIBVIRT);
    /* libvirt's virConfGetValue takes a key's first entry: a value given again below it (an
     * appended `listen_tcp = 0`, say) is not the one the daemon runs with. */
    expect_setting(&f, "listen_tls", "0", 2);
    expect_setting(&f, "auth_tls", "sasl", 4);
    expect_setting(&f, "tls_allowed_dn_list", "[\"C=CN,O=a\", \"C=CN,O=#b\" ]", 5);
    /* libvirt compares names case and all: LISTEN_TLS and Auth_Tcp set nothing it reads (the
     * lookup ignores case, and took LISTEN_TLS's 1 for listen_tls) */
    assert_int_equal(f.n_settings, 3);
    assert_null(dbg_host_file_get(&f, "auth_tcp"));
    dbg_platform_host_file_clear(&f);
}

static void test_host_kv_files(void **state)
{
    (void)state;
    dbg_host_file f =
        parse_text("[Time]\nminlen = 12\n; c\n  even_deny_root\ndeny=5\n", DBG_CONF_KV_EQ);
    expect_setting(&f, "minlen", "12", 2);
    expect_setting(&f, "even_deny_root", "", 4);
    expect_setting(&f, "deny", "5", 5);
    dbg_platform_host_file_clear(&f);

    /* libpwquality and pam_faillock end a line at any '#'; auditd.conf and systemd's files
     * do not (a '#' after a value is part of it there). */
    f = parse_text("deny = 10 # was 3\nminlen=6#TODO 14\neven_deny_root # root too\n",
                   DBG_CONF_KV_EQ_HASH);
    expect_setting(&f, "deny", "10", 1);
    expect_setting(&f, "minlen", "6", 2);
    expect_setting(&f, "even_deny_root", "", 3);
    dbg_platform_host_file_clear(&f);
    f = parse_text("NTP=ntp.example#1\n", DBG_CONF_KV_EQ);
    expect_setting(&f, "NTP", "ntp.example#1", 1);
    dbg_platform_host_file_clear(&f);
    /* The shell: a '#' beginning a word outside quotes begins a comment. */
    f = parse_text("TMOUT=0 # disabled\nexport PS1='a #b'  # prompt\nX=a#b\n", DBG_CONF_SHELL);
    expect_setting(&f, "TMOUT", "0", 1);
    expect_setting(&f, "export PS1", "'a #b'", 2);
    expect_setting(&f, "X", "a#b", 3);
    dbg_platform_host_file_clear(&f);

    f = parse_text("PASS_MAX_DAYS\t90\n#PASS_MIN_DAYS 1\nserver ntp.ntsc.ac.cn iburst\n",
                   DBG_CONF_KV_SPACE);
    expect_setting(&f, "pass_max_days", "90", 1); /* keys compare without case */
    expect_setting(&f, "server", "ntp.ntsc.ac.cn iburst", 3);
    assert_null(dbg_host_file_get(&f, "PASS_MIN_DAYS"));
    dbg_platform_host_file_clear(&f);

    f = parse_text("auth required pam_env.so\n"
                   "auth [success=1 default=ignore] /lib/security/pam_faillock.so preauth deny=5\n"
                   "-session optional pam_systemd.so\n"
                   "@include common-auth\n",
                   DBG_CONF_PAM);
    expect_setting(&f, "pam_faillock.so",
                   "auth [success=1 default=ignore] /lib/security/pam_faillock.so preauth deny=5",
                   2);
    expect_setting(&f, "pam_systemd.so", "-session optional pam_systemd.so", 3);
    expect_setting(&f, "@include", "common-auth", 4);
    dbg_platform_host_file_clear(&f);

    /* Linux-PAM ends a rule at its first '#': a module named in a comment is not loaded. */
    f = parse_text("auth required pam_unix.so nullok # TODO pam_faillock.so deny=3\n"
                   "auth required pam_env.so#readenv=1\n"
                   "@include common-auth # site\n",
                   DBG_CONF_PAM);
    expect_setting(&f, "pam_unix.so", "auth required pam_unix.so nullok", 1);
    expect_setting(&f, "pam_env.so", "auth required pam_env.so", 2);
    expect_setting(&f, "@include", "common-auth", 3);
    assert_null(dbg_host_file_get(&f, "pam_faillock.so"));
    dbg_platform_host_file_clear(&f);

    f = parse_text("-D\n-w /etc/passwd -p wa -k identity\n-e 2\n", DBG_CONF_AUDIT_RULES);
    expect_setting(&f, "-w", "/etc/passwd -p wa -k identity", 2);
    expect_setting(&f, "-e", "2", 3);
    dbg_platform_host_file_clear(&f);

    /* Invalid UTF-8 is replaced, so the JSON and the reloaded snapshot agree. */
    f = parse_text("key = a\xff"
                   "b\n",
                   DBG_CONF_KV_EQ);
    expect_setting(&f, "key",
                   "a\xEF\xBF\xBD"
                   "b",
                   1);
    dbg_platform_host_file_clear(&f);
}

static void test_host_sshd(void **state)
{
    (void)state;
    dbg_host_file f = parse_text("Port 2222\n"
                                 "PermitRootLogin no\n"
                                 "permitrootlogin yes\n"
                                 "MaxAuthTries=3\n"
                                 "Match User backup\n"
                                 "  PasswordAuthentication yes\n"
                                 "Match all\n"
                                 "PasswordAuthentication no\n",
                                 DBG_CONF_SSHD);
    expect_setting(&f, "PermitRootLogin", "no", 2); /* sshd: the first value is effective */
    expect_setting(&f, "MaxAuthTries", "3", 4);
    expect_setting(&f, "Match User backup/PasswordAuthentication", "yes", 6);
    expect_setting(&f, "PasswordAuthentication", "no", 8);
    dbg_platform_host_file_clear(&f);
    /* "Match all" opens a block every connection matches: sshd applies it over the global
     * lines (first value wins within the blocks), so its value is the one in effect. */
    f = parse_text("PermitRootLogin no\n"
                   "Match all\n"
                   "PermitRootLogin yes\n"
                   "PermitRootLogin no\n"
                   "Match Address 10.0.0.0/8\n"
                   "PermitRootLogin prohibit-password\n"
                   "Match all\n"
                   "permitrootlogin no\n"
                   "ClientAliveInterval 300\n",
                   DBG_CONF_SSHD);
    expect_setting(&f, "PermitRootLogin", "yes", 3);
    expect_setting(&f, "Match Address 10.0.0.0/8/PermitRootLogin", "prohibit-password", 6);
    expect_setting(&f, "ClientAliveInterval", "300", 9);
    dbg_platform_host_file_clear(&f);

    /* A '#' that begins a word ends the line for sshd (OpenSSH 8.7 on): the value was
     * "yes # until Friday", which the check read as no known value (partial, not fail). */
    f = parse_text("PermitRootLogin yes # until Friday\n"
                   "Banner \"/etc/issue #1\" # quoted\n"
                   "AllowUsers a#b\tc\t#d\n"
                   "ForceCommand echo \\# x\n"
                   "Match User x # comment\n"
                   "  X11Forwarding yes\n",
                   DBG_CONF_SSHD);
    expect_setting(&f, "PermitRootLogin", "yes", 1);
    expect_setting(&f, "Banner", "\"/etc/issue #1\"", 2);
    expect_setting(&f, "AllowUsers", "a#b\tc", 3);
    expect_setting(&f, "ForceCommand", "echo \\# x", 4);
    expect_setting(&f, "Match User x/X11Forwarding", "yes", 6);
    dbg_platform_host_file_clear(&f);

    /* Include of the demo sysroot: the drop-in is read first and wins. */
    DBG_AUTOFREE char *root = srcpath("data/demo/host-root");
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *sshd = dbg_snapshot_host_file(&s, "/etc/ssh/sshd_config");
    const dbg_setting *prl = dbg_host_file_get(sshd, "PermitRootLogin");
    assert_string_equal(prl->value, "prohibit-password");
    assert_string_equal(prl->file, "/etc/ssh/sshd_config.d/10-hardening.conf");
    assert_int_equal(prl->line, 2);
    const dbg_setting *pw = dbg_host_file_get(sshd, "PasswordAuthentication");
    assert_string_equal(pw->value, "yes");
    assert_string_equal(pw->file, "/etc/ssh/sshd_config");
    assert_int_equal(pw->line, 18);
    const dbg_host_file *rules = dbg_snapshot_host_file(&s, "/etc/audit/rules.d/50-identity.rules");
    assert_non_null(rules);
    assert_string_equal(dbg_host_file_get(rules, "-w")->value,
                        "/etc/libvirt/ -p wa -k libvirt-config");
    dbg_platform_snapshot_clear(&s);
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(dbg_write_file_atomic(path, text, strlen(text)), 0);
}

/* The shell start-up files (TMOUT) and auditd's pid files are collected; under a copied root
 * the pid file's process is not looked up, as it is not this host's. */
static void test_host_shell_and_pidfiles(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    DBG_AUTOFREE char *etc = dbg_asprintf("%s/etc", root);
    DBG_AUTOFREE char *pd = dbg_asprintf("%s/etc/profile.d", root);
    DBG_AUTOFREE char *run = dbg_asprintf("%s/run", root);
    DBG_AUTOFREE char *profile = dbg_asprintf("%s/etc/profile", root);
    DBG_AUTOFREE char *tmout = dbg_asprintf("%s/etc/profile.d/tmout.sh", root);
    DBG_AUTOFREE char *pid = dbg_asprintf("%s/run/auditd.pid", root);
    assert_int_equal(dbg_mkdir_p(pd, 0755), 0);
    assert_int_equal(dbg_mkdir_p(run, 0755), 0);
    write_text(profile, "PATH=/usr/bin:/bin\n");
    write_text(tmout, "readonly TMOUT=600\nexport TMOUT\n");
    write_text(pid, "812\n");
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    assert_true(dbg_snapshot_host_file(&s, "/etc/profile")->present);
    const dbg_host_file *bashrc = dbg_snapshot_host_file(&s, "/etc/bash.bashrc");
    assert_non_null(bashrc);
    assert_false(bashrc->present);
    const dbg_setting *t =
        dbg_host_file_get(dbg_snapshot_host_file(&s, "/etc/profile.d/tmout.sh"), "readonly TMOUT");
    assert_non_null(t);
    assert_string_equal(t->value, "600");
    const dbg_host_file *pf = dbg_snapshot_host_file(&s, "/run/auditd.pid");
    assert_true(pf->present);
    assert_string_equal(dbg_host_file_get(pf, "pid")->value, "812");
    assert_null(dbg_host_file_get(pf, "process"));
    assert_false(dbg_snapshot_host_file(&s, "/var/run/auditd.pid")->present);
    dbg_platform_snapshot_clear(&s);
    unlink(pid);
    unlink(tmout);
    unlink(profile);
    rmdir(run);
    rmdir(pd);
    rmdir(etc);
    rmdir(root);
}

/* What the collector could not read is recorded as such, with the reason, never as an empty
 * file or no file: a file it cannot read (here a directory where a file should be: root reads
 * everything else), a directory it cannot list (a symlink loop), an Include it cannot follow. */
static void test_host_unreadable(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    DBG_AUTOFREE char *defs = dbg_asprintf("%s/etc/login.defs", root);
    DBG_AUTOFREE char *audit = dbg_asprintf("%s/etc/audit", root);
    DBG_AUTOFREE char *rulesd = dbg_asprintf("%s/etc/audit/rules.d", root);
    DBG_AUTOFREE char *sshdir = dbg_asprintf("%s/etc/ssh/sshd_config.d/10-root.conf", root);
    DBG_AUTOFREE char *sshd = dbg_asprintf("%s/etc/ssh/sshd_config", root);
    assert_int_equal(dbg_mkdir_p(defs, 0755), 0);
    assert_int_equal(dbg_mkdir_p(audit, 0755), 0);
    assert_int_equal(symlink("rules.d", rulesd), 0);
    assert_int_equal(dbg_mkdir_p(sshdir, 0755), 0);
    write_text(sshd, "Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\n");
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *f = dbg_snapshot_host_file(&s, "/etc/login.defs");
    assert_true(f->present);
    assert_string_equal(f->error, "cannot be read (read failed: Is a directory)");
    f = dbg_snapshot_host_file(&s, "/etc/audit/rules.d/*.rules");
    assert_non_null(f);
    assert_false(f->present);
    assert_non_null(strstr(f->error, "the directory cannot be listed ("));
    f = dbg_snapshot_host_file(&s, "/etc/ssh/sshd_config");
    assert_true(f->present);
    assert_string_equal(f->error, "Include /etc/ssh/sshd_config.d/10-root.conf cannot be read "
                                  "(read failed: Is a directory)");
    assert_string_equal(dbg_host_file_get(f, "PasswordAuthentication")->value, "no");
    /* a missing directory is only an empty match */
    assert_null(dbg_snapshot_host_file(&s, "/etc/profile.d/*.sh"));
    dbg_platform_snapshot_clear(&s);
    unlink(sshd);
    rmdir(sshdir);
    DBG_AUTOFREE char *sshd_d = dbg_asprintf("%s/etc/ssh/sshd_config.d", root);
    DBG_AUTOFREE char *ssh = dbg_asprintf("%s/etc/ssh", root);
    DBG_AUTOFREE char *etc = dbg_asprintf("%s/etc", root);
    rmdir(sshd_d);
    rmdir(ssh);
    unlink(rulesd);
    rmdir(audit);
    rmdir(defs);
    rmdir(etc);
    rmdir(root);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The path of rel (a path under root), its directories created; to free. */
static char *under(const char *root, const char *rel)
{
    char *path = dbg_asprintf("%s%s", root, rel);
    DBG_AUTOFREE char *dir = dbg_strdup(path);
    assert_non_null(dir);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(dbg_mkdir_p(dir, 0755), 0);
    return path;
}

/* Writes rel (a path under root) with text, creating its directories. */
static void write_under(const char *root, const char *rel, const char *text)
{
    DBG_AUTOFREE char *path = under(root, rel);
    write_text(path, text);
}

/* Index of path among the snapshot's host files, asserting it is there. */
static size_t host_file_index(const dbg_snapshot *s, const char *path)
{
    const dbg_host_file *f = dbg_snapshot_host_file(s, path);
    if (!f)
        fail_msg("%s not collected", path);
    return (size_t)(f - s->host_files);
}

/* Drop-in files the programs read besides their main file are collected in the order the
 * program reads them, each with its own settings; one that cannot be read says why. */
static void test_host_dropins(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    /* libpwquality: the *.conf of pwquality.conf.d by name (then pwquality.conf, which wins) */
    write_under(root, "/etc/security/pwquality.conf", "# minlen = 8\n");
    write_under(root, "/etc/security/pwquality.conf.d/90-site.conf", "minclass = 3\n");
    write_under(root, "/etc/security/pwquality.conf.d/10-base.conf", "minlen = 12\nminclass = 2\n");
    write_under(root, "/etc/security/pwquality.conf.d/README", "minlen = 1\n");
    DBG_AUTOFREE char *bad = dbg_asprintf("%s/etc/security/pwquality.conf.d/50-bad.conf", root);
    assert_int_equal(dbg_mkdir_p(bad, 0755), 0);
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    size_t base = host_file_index(&s, "/etc/security/pwquality.conf.d/10-base.conf");
    size_t unread = host_file_index(&s, "/etc/security/pwquality.conf.d/50-bad.conf");
    size_t site = host_file_index(&s, "/etc/security/pwquality.conf.d/90-site.conf");
    assert_true(base < unread && unread < site);
    assert_null(dbg_snapshot_host_file(&s, "/etc/security/pwquality.conf.d/README"));
    const dbg_setting *st = dbg_host_file_get(&s.host_files[site], "minclass");
    assert_string_equal(st->value, "3");
    assert_string_equal(st->file, "/etc/security/pwquality.conf.d/90-site.conf");
    assert_int_equal(st->line, 1);
    assert_string_equal(s.host_files[unread].error, "cannot be read (read failed: Is a directory)");
    dbg_platform_snapshot_clear(&s);

    /* systemd-timesyncd: the drop-ins of all its directories by name, a name taken from the
     * directory of highest priority (/etc masks /usr/lib); one it cannot list is recorded */
    write_under(root, "/etc/systemd/timesyncd.conf", "[Time]\n#NTP=\n");
    write_under(root, "/usr/lib/systemd/timesyncd.conf.d/10-vendor.conf", "[Time]\nNTP=a\n");
    write_under(root, "/etc/systemd/timesyncd.conf.d/10-vendor.conf", "[Time]\nNTP=\n");
    write_under(root, "/run/systemd/timesyncd.conf.d/20-run.conf", "[Time]\nNTP=b\n");
    write_under(root, "/usr/lib/systemd/timesyncd.conf.d/30-late.conf", "[Time]\nNTP=c\n");
    DBG_AUTOFREE char *local = dbg_asprintf("%s/usr/local/lib/systemd", root);
    DBG_AUTOFREE char *loop = dbg_asprintf("%s/timesyncd.conf.d", local);
    assert_int_equal(dbg_mkdir_p(local, 0755), 0);
    assert_int_equal(symlink("timesyncd.conf.d", loop), 0);
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    size_t etc = host_file_index(&s, "/etc/systemd/timesyncd.conf.d/10-vendor.conf");
    size_t run = host_file_index(&s, "/run/systemd/timesyncd.conf.d/20-run.conf");
    size_t late = host_file_index(&s, "/usr/lib/systemd/timesyncd.conf.d/30-late.conf");
    size_t unlisted = host_file_index(&s, "/usr/local/lib/systemd/timesyncd.conf.d/*.conf");
    assert_true(etc < run && run < late && late < unlisted);
    assert_null(dbg_snapshot_host_file(&s, "/usr/lib/systemd/timesyncd.conf.d/10-vendor.conf"));
    assert_string_equal(dbg_host_file_get(&s.host_files[etc], "NTP")->value, "");
    assert_non_null(strstr(s.host_files[unlisted].error, "the directory cannot be listed ("));
    dbg_platform_snapshot_clear(&s);

    /* chrony: Debian 12's confdir and sourcedir, RHEL's include; the sources keep their file */
    write_under(root, "/etc/chrony/chrony.conf",
                "confdir /etc/chrony/conf.d\nsourcedir /run/chrony-dhcp /etc/chrony/sources.d\n");
    write_under(root, "/etc/chrony/conf.d/10-site.conf", "pool site.example iburst\n");
    write_under(root, "/etc/chrony/sources.d/ntp.sources",
                "! comment\nserver ntp1.example iburst\n");
    write_under(root, "/etc/chrony/sources.d/ignored.conf", "server ignored.example\n");
    write_under(root, "/etc/chrony.conf", "include /etc/chrony.d/*.conf\nconfdir /etc/loop.d\n");
    write_under(root, "/etc/chrony.d/a.conf", "server rhel.example\n");
    DBG_AUTOFREE char *cloop = dbg_asprintf("%s/etc/loop.d", root);
    assert_int_equal(symlink("loop.d", cloop), 0);
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *deb = dbg_snapshot_host_file(&s, "/etc/chrony/chrony.conf");
    assert_null(deb->error);
    st = dbg_host_file_get(deb, "pool");
    assert_string_equal(st->value, "site.example iburst");
    assert_string_equal(st->file, "/etc/chrony/conf.d/10-site.conf");
    st = dbg_host_file_get(deb, "server");
    assert_string_equal(st->value, "ntp1.example iburst");
    assert_string_equal(st->file, "/etc/chrony/sources.d/ntp.sources");
    assert_int_equal(st->line, 2);
    const dbg_host_file *rhel = dbg_snapshot_host_file(&s, "/etc/chrony.conf");
    st = dbg_host_file_get(rhel, "server");
    assert_string_equal(st->file, "/etc/chrony.d/a.conf");
    assert_non_null(strstr(rhel->error, "confdir /etc/loop.d cannot be listed ("));
    dbg_platform_snapshot_clear(&s);

    /* ntpd / NTPsec: includefile of a file (relative to the including file) and of a directory
     * (its *.conf by name); a missing file is skipped as ntpd skips it, one that cannot be
     * looked at is recorded */
    write_under(root, "/etc/ntpsec/ntp.conf",
                "driftfile /var/lib/ntpsec/ntp.drift # note\nincludefile ntp.d\n"
                "includefile /etc/ntpsec/absent.conf\n");
    write_under(root, "/etc/ntpsec/ntp.d/20-site.conf", "server ntp2.example iburst # site\n");
    write_under(root, "/etc/ntpsec/ntp.d/10-first.conf", "includefile \"../more.inc\"\n");
    write_under(root, "/etc/ntpsec/ntp.d/README", "server ignored.example\n");
    write_under(root, "/etc/ntpsec/more.inc", "pool pool.example\n");
    /* a symbolic link loop: stat fails with ELOOP, for root as well */
    write_under(root, "/etc/ntp.conf", "server kept.example\nincludefile /etc/ntp-loop.conf\n");
    DBG_AUTOFREE char *nloop = dbg_asprintf("%s/etc/ntp-loop.conf", root);
    assert_int_equal(symlink("ntp-loop.conf", nloop), 0);
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *nsec = dbg_snapshot_host_file(&s, "/etc/ntpsec/ntp.conf");
    assert_null(nsec->error);
    st = dbg_host_file_get(nsec, "driftfile");
    assert_string_equal(st->value, "/var/lib/ntpsec/ntp.drift");
    st = dbg_host_file_get(nsec, "pool");
    assert_string_equal(st->value, "pool.example");
    assert_string_equal(st->file, "/etc/ntpsec/ntp.d/../more.inc");
    st = dbg_host_file_get(nsec, "server");
    assert_string_equal(st->value, "ntp2.example iburst");
    assert_string_equal(st->file, "/etc/ntpsec/ntp.d/20-site.conf");
    assert_int_equal(st->line, 1);
    const dbg_host_file *classic = dbg_snapshot_host_file(&s, "/etc/ntp.conf");
    assert_non_null(
        strstr(classic->error, "includefile /etc/ntp-loop.conf cannot be looked at ("));
    assert_string_equal(dbg_host_file_get(classic, "server")->value, "kept.example");
    dbg_platform_snapshot_clear(&s);
    assert_int_equal(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Collects the host files under root and runs one check on them: its result, evidence in ev
 * (to free). */
static dbg_check_result check_host_root(const char *root, const char *check, dbg_evidence_list *ev)
{
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    dbg_check_params p = {.level = 3, .hosts_level = -1};
    dbg_check_result r = dbg_check_run(dbg_check_find(check), &s, &p, ev);
    dbg_platform_snapshot_clear(&s);
    return r;
}

/* Comments read as settings: a module named only in a PAM comment (and its deny=3) made
 * host.login_lockout pass, as the check looked for the module's name anywhere in the rule;
 * so did a faillock.conf deny with a comment after it, and host.idle_timeout a TMOUT=0 with
 * one. */
static void test_host_comments_not_settings(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-pam-XXXXXX";
    assert_non_null(mkdtemp(root));
    dbg_evidence_list ev = {0};
    write_under(root, "/etc/pam.d/common-auth",
                "auth required pam_unix.so nullok # TODO pam_faillock.so deny=3\n");
    assert_int_equal(check_host_root(root, "host.login_lockout", &ev), DBG_CHECK_FAIL);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.items[0].observed, "neither pam_faillock nor pam_tally2 is used");
    dbg_evidence_list_free(&ev);

    /* faillock.conf's "deny = 10 # was 3" is 10 for pam_faillock: no lockout within 5 tries.
     * Kept whole it was no number, so the check took pam_faillock's default 3 and passed. */
    write_under(root, "/etc/pam.d/common-auth", "auth required pam_faillock.so preauth\n");
    write_under(root, "/etc/security/faillock.conf", "deny = 10 # was 3\nunlock_time = 600\n");
    assert_int_equal(check_host_root(root, "host.login_lockout", &ev), DBG_CHECK_FAIL);
    assert_non_null(strstr(ev.items[0].observed, "deny = 10"));
    assert_int_equal(ev.items[0].ok, 0);
    dbg_evidence_list_free(&ev);

    /* "TMOUT=0 # disabled" after "TMOUT=600" leaves shells without a timeout; the comment
     * made it no number, so the 600 before it was taken and the check passed. */
    write_under(root, "/etc/profile", "TMOUT=600\nTMOUT=0 # disabled\n");
    assert_int_equal(check_host_root(root, "host.idle_timeout", &ev), DBG_CHECK_FAIL);
    assert_string_equal(ev.items[0].source, "/etc/profile:2");
    assert_string_equal(ev.items[0].observed, "0 s");
    dbg_evidence_list_free(&ev);
    assert_int_equal(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Creates the symlink rel (a path under root) to target, creating its directories. */
static void link_under(const char *root, const char *rel, const char *target)
{
    DBG_AUTOFREE char *path = under(root, rel);
    assert_int_equal(symlink(target, path), 0);
}

/* Socket units are enabled by a wants link in any of systemd's unit directories, and masked
 * by a unit file linked to /dev/null (or empty) in the first directory that has one. */
static void test_host_socket_units(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    /* vendor-enabled (an absolute target, dangling under a copied root: lstat sees the link) */
    link_under(root, "/usr/lib/systemd/system/sockets.target.wants/libvirtd-tcp.socket",
               "/usr/lib/systemd/system/libvirtd-tcp.socket");
    write_under(root, "/usr/lib/systemd/system/libvirtd-tcp.socket",
                "[Socket]\nListenStream=16509\n");
    /* enabled for this boot only, and masked in /etc */
    link_under(root, "/run/systemd/system/sockets.target.wants/virtproxyd-tls.socket",
               "/usr/lib/systemd/system/virtproxyd-tls.socket");
    link_under(root, "/etc/systemd/system/virtproxyd-tls.socket", "/dev/null");
    /* masked by an empty file in /run, over the vendor's unit */
    link_under(root, "/lib/systemd/system/sockets.target.wants/virtqemud.socket",
               "/lib/systemd/system/virtqemud.socket");
    write_under(root, "/run/systemd/system/virtqemud.socket", "");
    write_under(root, "/lib/systemd/system/virtqemud.socket", "[Socket]\nListenStream=/x\n");
    dbg_snapshot s = {0};
    char path[512];
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    assert_int_equal(dbg_snapshot_unit_enabled(&s, "libvirtd-tcp.socket", path, sizeof(path)), 1);
    assert_string_equal(path, "/usr/lib/systemd/system/sockets.target.wants/libvirtd-tcp.socket");
    const dbg_setting *ls = dbg_host_file_get(
        dbg_snapshot_host_file(&s, "/usr/lib/systemd/system/libvirtd-tcp.socket"), "ListenStream");
    assert_string_equal(ls->value, "16509");
    assert_int_equal(ls->line, 2);
    assert_int_equal(dbg_snapshot_unit_enabled(&s, "virtproxyd-tls.socket", path, sizeof(path)),
                     0);
    assert_string_equal(path, "/etc/systemd/system/virtproxyd-tls.socket");
    assert_int_equal(dbg_snapshot_unit_enabled(&s, "virtqemud.socket", path, sizeof(path)), 0);
    assert_string_equal(path, "/run/systemd/system/virtqemud.socket");
    assert_int_equal(dbg_snapshot_unit_enabled(&s, "libvirtd-tls.socket", path, sizeof(path)), 0);
    assert_string_equal(path, "");
    /* the /etc links are listed present or not, the other directories' only when there */
    assert_non_null(
        dbg_snapshot_host_file(&s, "/etc/systemd/system/sockets.target.wants/libvirtd-tls.socket"));
    assert_null(
        dbg_snapshot_host_file(&s, "/run/systemd/system/sockets.target.wants/libvirtd-tls.socket"));
    assert_null(dbg_snapshot_host_file(&s, "/usr/lib/systemd/system/libvirtd-tls.socket"));
    dbg_platform_snapshot_clear(&s);
    assert_int_equal(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static int has_port(const dbg_snapshot *s, int port)
{
    for (size_t i = 0; i < s->n_mgmt_ports; i++)
        if (s->mgmt_ports[i] == port)
            return 1;
    return 0;
}

/* A socket unit's drop-ins are collected as systemd applies them (by name, /etc's over the same
 * name in /usr/lib); the sensor's management ports follow the effective ListenStream= of an
 * enabled unit: reachable ports only, not libvirtd.conf's tcp_port. */
static void test_host_socket_listen(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    write_under(root, "/etc/libvirt/libvirtd.conf", "listen_tcp = 0\ntcp_port = \"16777\"\n");
    link_under(root, "/etc/systemd/system/sockets.target.wants/libvirtd-tcp.socket",
               "/usr/lib/systemd/system/libvirtd-tcp.socket");
    const char *sys = "/usr/lib/systemd/system/libvirtd-tcp.socket";
    write_under(root, sys, "[Socket]\nListenStream=16509\n");
    write_under(root, "/usr/lib/systemd/system/libvirtd-tcp.socket.d/10-a.conf",
                "[Socket]\nListenStream=16510\n");
    write_under(root, "/etc/systemd/system/libvirtd-tcp.socket.d/10-a.conf",
                "[Socket]\nListenStream=\nListenStream=0.0.0.0:16600\n");
    write_under(root, "/run/systemd/system/libvirtd-tcp.socket.d/20-b.conf",
                "[Socket]\nListenStream=[::1]:16601\n");
    DBG_AUTOFREE char *xml = srcpath("data/demo/cloud.xml");
    char real[4096];
    assert_non_null(realpath(xml, real));
    DBG_AUTOFREE char *uri = dbg_asprintf("test://%s", real);
    dbg_collect_opts o = {.uri = uri, .host_root = root};
    dbg_snapshot *s = dbg_snapshot_collect(&o);
    assert_non_null(s);
    assert_null(
        dbg_snapshot_host_file(s, "/usr/lib/systemd/system/libvirtd-tcp.socket.d/10-a.conf"));
    dbg_unit_sockets u;
    assert_int_equal(dbg_snapshot_unit_sockets(s, "libvirtd-tcp.socket", 16509, &u), 0);
    assert_string_equal(u.unit_file, sys);
    assert_null(u.unreadable);
    assert_int_equal(u.n_listen, 2);
    assert_string_equal(u.listen[0].setting->file,
                        "/etc/systemd/system/libvirtd-tcp.socket.d/10-a.conf");
    assert_int_equal(u.listen[0].setting->line, 3);
    assert_int_equal(u.listen[0].port, 16600);
    assert_true(u.listen[0].network);
    assert_int_equal(u.listen[1].port, 16601);
    assert_false(u.listen[1].network);
    dbg_unit_sockets_clear(&u);
    assert_true(has_port(s, 16600));
    assert_false(has_port(s, 16601)); /* loopback: no VM reaches it */
    assert_false(has_port(s, 16509));
    assert_false(has_port(s, 16777)); /* socket activation ignores tcp_port */
    dbg_snapshot_free(s);

    /* a drop-in that cannot be read: where the unit listens is unknown, libvirt's port is
     * watched */
    DBG_AUTOFREE char *bad =
        dbg_asprintf("%s/run/systemd/system/libvirtd-tcp.socket.d/30-c.conf", root);
    assert_int_equal(dbg_mkdir_p(bad, 0755), 0);
    s = dbg_snapshot_collect(&o);
    assert_non_null(s);
    assert_int_equal(dbg_snapshot_unit_sockets(s, "libvirtd-tcp.socket", 16509, &u), 0);
    assert_non_null(u.unreadable);
    assert_string_equal(u.unreadable->path, "/run/systemd/system/libvirtd-tcp.socket.d/30-c.conf");
    dbg_unit_sockets_clear(&u);
    assert_true(has_port(s, 16509));
    dbg_snapshot_free(s);

    /* a bare port, IPv6 wildcard, a UNIX socket, and an address systemd would reject */
    assert_int_equal(rmdir(bad), 0);
    write_under(root, "/etc/systemd/system/libvirtd-tcp.socket.d/10-a.conf",
                "ListenStream=16602\nListenStream=[::]:16603\nListenStream=/run/x.sock\n"
                "ListenStream=localhost:16604\nListenStream=127.0.0.1:99999\n");
    s = dbg_snapshot_collect(&o);
    assert_non_null(s);
    assert_int_equal(dbg_snapshot_unit_sockets(s, "libvirtd-tcp.socket", 16509, &u), 0);
    assert_int_equal(u.n_listen, 7); /* nothing clears the unit file's 16509 now */
    int want_port[] = {16509, 16602, 16603, 0, 0, 0, 16601}, want_net[] = {1, 1, 1, 0, 0, 0, 0};
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(u.listen[i].port, want_port[i]);
        assert_int_equal(u.listen[i].network, want_net[i]);
    }
    dbg_unit_sockets_clear(&u);
    dbg_snapshot_free(s);
    assert_int_equal(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* /proc/net/tcp{,6} as the kernel prints them: only listening sockets, addresses decoded from
 * the host-order hex words. */
/* A libvirt URI naming another host: which ones do. */
static void test_uri_host(void **state)
{
    (void)state;
    static const struct {
        const char *uri, *host;
    } cases[] = {
        {"qemu:///system", ""},
        {"test:///default", ""},
        {"qemu+unix:///system?socket=/run/x.sock", ""},
        {"qemu+tcp://localhost/system", ""},
        {"qemu+tcp://LOCALHOST:16509/system", ""},
        {"qemu+tls://127.0.0.1/system", ""},
        {"qemu+tcp://[::1]:16509/system", ""},
        {"qemu+ssh://root@hv1/system", "hv1"},
        {"qemu://hv2.example.com:16514/system", "hv2.example.com"},
        {"qemu+ssh://hv3/system?keyfile=/root/.ssh/k&no_verify=1", "hv3"},
        {"qemu+tcp://10.0.0.7/system", "10.0.0.7"},
        {"qemu+tcp://[fd00::7]/system", "fd00::7"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char host[64] = "x";
        int other = dbg_platform_uri_host(cases[i].uri, host, sizeof(host));
        if (other != (cases[i].host[0] != 0) || strcmp(host, cases[i].host))
            print_message("%s -> %d '%s'\n", cases[i].uri, other, host);
        assert_int_equal(other, cases[i].host[0] != 0);
        assert_string_equal(host, cases[i].host);
    }
}

/* Another host's files are not this machine's: when collect cannot read them, no check judges
 * the host's configuration or dengbao's controls on it (未检查 with the reason), and none fails
 * or partly passes for want of them. */
static void test_host_files_not_read(void **state)
{
    (void)state;
    const char *why = "not read: the libvirt URI names another host (hv1)";
    dbg_snapshot s = {0};
    s.uri = (char *)"qemu+ssh://hv1/system";
    s.nwfilter_supported = 1;
    assert_int_equal(dbg_platform_host_files_not_read(&s, why), 0);
    assert_int_equal(dbg_platform_controls_not_read(&s, why), 0);
    assert_non_null(dbg_snapshot_host_file(&s, "/etc/ssh/sshd_config"));
    assert_null(dbg_snapshot_host_file(&s, "/proc/net/tcp"));
    static const char *const unknown[] = {
        "host.password_policy", "host.login_lockout", "host.idle_timeout",  "host.root_login",
        "host.auditd_running",  "host.audit_rules",   "host.audit_retention", "host.time_sync",
        "cmp.remote_tls",       "bnd.libvirt_audit",  "ctl.sensor",         "ctl.guard",
        "ctl.audit_log",        "ctl.gateway_audit",  "ctl.malware",        "ctl.image_seals",
        "ctl.centralized_audit"};
    dbg_check_params p = {.level = 3, .hosts_level = -1};
    for (size_t c = 0; c < dbg_check_count(); c++) {
        const dbg_check *chk = dbg_check_at(c);
        dbg_evidence_list ev = {0};
        dbg_check_result r = dbg_check_run(chk, &s, &p, &ev);
        int expect_unknown = 0, says_why = 0, judged_on_file = 0;
        for (size_t k = 0; k < sizeof(unknown) / sizeof(unknown[0]); k++)
            expect_unknown |= !strcmp(unknown[k], chk->id);
        for (size_t j = 0; j < ev.n; j++) {
            says_why |= (ev.items[j].observed && strstr(ev.items[j].observed, "another host")) ||
                        (ev.items[j].source && strstr(ev.items[j].source, "another host"));
            /* a failing line sourced from a host or status file (not from libvirt: this
             * snapshot has no networks, so the management network check fails on that) */
            judged_on_file |= !ev.items[j].ok && ev.items[j].source && ev.items[j].source[0] == '/';
        }
        int judged = (r == DBG_CHECK_FAIL || r == DBG_CHECK_PARTIAL) && judged_on_file;
        if ((expect_unknown && (r != DBG_CHECK_ERROR || !says_why)) || judged)
            print_message("%s -> %s\n", chk->id, dbg_check_result_name(r));
        assert_false(judged);
        if (expect_unknown) {
            assert_int_equal(r, DBG_CHECK_ERROR);
            assert_true(says_why);
        }
        dbg_evidence_list_free(&ev);
    }
    s.uri = NULL;
    dbg_platform_snapshot_clear(&s);
}

static void test_host_proc_tcp(void **state)
{
    (void)state;
    dbg_host_file f = {0};
    assert_int_equal(
        dbg_platform_parse_host_file(
            NULL, "/proc/net/tcp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
            "   0: 00000000:407D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
            "   1: 0100007F:407E 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0\n"
            "   2: 0100007F:407D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0\n"
            "   3: garbage\n",
            DBG_CONF_PROC_TCP, &f),
        0);
    assert_int_equal(f.n_settings, 2); /* the established connection is not a listener */
    assert_string_equal(f.settings[0].value, "0.0.0.0:16509");
    assert_string_equal(f.settings[1].value, "127.0.0.1:16510");
    assert_int_equal(f.settings[1].line, 3);
    dbg_platform_host_file_clear(&f);
    assert_int_equal(
        dbg_platform_parse_host_file(
            NULL, "/proc/net/tcp6",
            "  sl  local_address                         remote_address                        st\n"
            "   0: 00000000000000000000000000000000:407D 00000000000000000000000000000000:0000 0A\n"
            "   1: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A\n",
            DBG_CONF_PROC_TCP, &f),
        0);
    assert_int_equal(f.n_settings, 2);
    assert_string_equal(f.settings[0].value, "[::]:16509");
    assert_string_equal(f.settings[1].value, "[::1]:22");
    dbg_platform_host_file_clear(&f);
}

/* pam_faillock's conf=FILE is collected with the PAM files; a path climbing out of the host
 * root is not followed. */
static void test_host_faillock_conf(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    DBG_AUTOFREE char *pamd = dbg_asprintf("%s/etc/pam.d", root);
    DBG_AUTOFREE char *sec = dbg_asprintf("%s/etc/security", root);
    DBG_AUTOFREE char *auth = dbg_asprintf("%s/etc/pam.d/common-auth", root);
    DBG_AUTOFREE char *fl = dbg_asprintf("%s/etc/security/fl-ssh.conf", root);
    assert_int_equal(dbg_mkdir_p(pamd, 0755), 0);
    assert_int_equal(dbg_mkdir_p(sec, 0755), 0);
    write_text(auth, "auth required pam_faillock.so preauth conf=/etc/security/fl-ssh.conf\n"
                     "auth required pam_faillock.so authfail conf=/etc/../../etc/shadow\n");
    write_text(fl, "deny = 4\n");
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *f = dbg_snapshot_host_file(&s, "/etc/security/fl-ssh.conf");
    assert_non_null(f);
    assert_true(f->present);
    assert_string_equal(dbg_host_file_get(f, "deny")->value, "4");
    assert_null(dbg_snapshot_host_file(&s, "/etc/../../etc/shadow"));
    dbg_platform_snapshot_clear(&s);
    unlink(fl);
    unlink(auth);
    rmdir(sec);
    rmdir(pamd);
    DBG_AUTOFREE char *etc = dbg_asprintf("%s/etc", root);
    rmdir(etc);
    rmdir(root);
}

/* A copied root keeps the host's absolute links (RHEL's /etc/pam.d/system-auth ->
 * /etc/authselect/system-auth): they are followed inside the copy, never to this machine's
 * files, for a file, a directory on the way to one, an Include glob's directory and a drop-in
 * directory; a link to /dev/null still masks a unit. */
static void test_host_root_links(void **state)
{
    (void)state;
    char root[] = "/tmp/dbg-hr-XXXXXX";
    assert_non_null(mkdtemp(root));
    static const char *const dirs[] = {"etc/ssh", "etc/security", "etc/systemd/system",
                                       "srv/alt", "srv/sshd.d", "srv/pwq.d"};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        DBG_AUTOFREE char *d = dbg_path_join(root, dirs[i]);
        assert_int_equal(dbg_mkdir_p(d, 0755), 0);
    }
    static const struct {
        const char *path, *text;
    } files[] = {
        {"srv/alt/login.defs", "PASS_MAX_DAYS 77\n"},
        {"etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\n"},
        {"srv/sshd.d/10-root.conf", "PermitRootLogin no\n"},
        {"srv/pwq.d/50-len.conf", "minlen = 14\n"},
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        DBG_AUTOFREE char *f = dbg_path_join(root, files[i].path);
        write_text(f, files[i].text);
    }
    static const struct {
        const char *link, *target;
    } links[] = {
        {"etc/login.defs", "/srv/alt/login.defs"},
        {"etc/ssh/sshd_config.d", "/srv/sshd.d"},
        {"etc/security/pwquality.conf.d", "/srv/pwq.d"},
        {"etc/systemd/system/libvirtd-tcp.socket", "/dev/null"},
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
        DBG_AUTOFREE char *l = dbg_path_join(root, links[i].link);
        assert_int_equal(symlink(links[i].target, l), 0);
    }
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_host_files(root, &s), 0);
    const dbg_host_file *f = dbg_snapshot_host_file(&s, "/etc/login.defs");
    assert_non_null(f);
    assert_true(f->present);
    assert_null(f->error);
    assert_string_equal(dbg_host_file_get(f, "PASS_MAX_DAYS")->value, "77");
    /* sshd takes the first value: the included file's, recorded under the host's name */
    f = dbg_snapshot_host_file(&s, "/etc/ssh/sshd_config");
    const dbg_setting *st = dbg_host_file_get(f, "PermitRootLogin");
    assert_non_null(st);
    assert_string_equal(st->value, "no");
    assert_string_equal(st->file, "/etc/ssh/sshd_config.d/10-root.conf");
    f = dbg_snapshot_host_file(&s, "/etc/security/pwquality.conf.d/50-len.conf");
    assert_non_null(f);
    assert_string_equal(dbg_host_file_get(f, "minlen")->value, "14");
    f = dbg_snapshot_host_file(&s, "/etc/systemd/system/libvirtd-tcp.socket");
    assert_non_null(f);
    assert_non_null(dbg_host_file_get(f, "masked"));
    dbg_platform_snapshot_clear(&s);
    assert_int_equal(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

static const char *process_of(const char *pidtext, const char *proc_dir, const char *comm,
                              dbg_host_file *f)
{
    memset(f, 0, sizeof(*f));
    assert_int_equal(
        dbg_platform_parse_host_file(NULL, "/run/auditd.pid", pidtext, DBG_CONF_PIDFILE, f), 0);
    assert_int_equal(dbg_platform_note_process(f, proc_dir, comm), 0);
    const dbg_setting *st = dbg_host_file_get(f, "process");
    assert_non_null(st);
    return st->value;
}

/* On the live host a pid file counts only when its pid is the daemon's running process. */
static void test_pidfile_process(void **state)
{
    (void)state;
    DBG_AUTOFREE char *self = dbg_asprintf("%ld\n", (long)getpid());
    DBG_AUTOFREE char *comm = NULL;
    size_t n = 0;
    assert_int_equal(dbg_read_file("/proc/self/comm", 256, &comm, &n), 0);
    while (n > 0 && comm[n - 1] == '\n')
        comm[--n] = '\0';
    dbg_host_file f;
    assert_true(!strncmp(process_of(self, "/proc", comm, &f), "running (", 9));
    dbg_platform_host_file_clear(&f);
    /* The pid now belongs to another program (a stale pid file). */
    assert_non_null(strstr(process_of(self, "/proc", "auditd", &f), "not running ("));
    dbg_platform_host_file_clear(&f);
    /* A process that has exited. */
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    assert_int_equal(waitpid(child, NULL, 0), child);
    DBG_AUTOFREE char *dead = dbg_asprintf("%ld\n", (long)child);
    DBG_AUTOFREE char *gone = dbg_asprintf("not running (no process %ld)", (long)child);
    assert_string_equal(process_of(dead, "/proc", "auditd", &f), gone);
    dbg_platform_host_file_clear(&f);
    /* Without /proc, kill(pid, 0) still tells a live pid. */
    assert_true(!strncmp(process_of(self, "/nonexistent", "auditd", &f), "running (pid ", 13));
    dbg_platform_host_file_clear(&f);
    assert_string_equal(process_of("\n", "/proc", "auditd", &f),
                        "not running (the pid file holds no pid)");
    dbg_platform_host_file_clear(&f);
}

/* ------------------------------------------------------------ controls */

static void test_controls(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-ctl-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int64_t now = dbg_now_us();
    char fresh[40], old[40];
    dbg_time_rfc3339(now - 10 * 1000000LL, fresh, sizeof(fresh));
    dbg_time_rfc3339(now - 3600 * 1000000LL, old, sizeof(old));
    DBG_AUTOFREE char *guard = dbg_asprintf("%s/guard.json", dir);
    DBG_AUTOFREE char *sensor = dbg_asprintf("%s/sensor.json", dir);
    DBG_AUTOFREE char *audit = dbg_asprintf("%s/audit_log.json", dir);
    DBG_AUTOFREE char *gtext = dbg_asprintf("{\"name\":\"guard\",\"pid\":%ld,\"updated\":\"%s\","
                                            "\"ok\":true,\"detail\":\"watching 7 domains\"}",
                                            (long)getpid(), fresh);
    /* Fresh and alive, but what the control found is a problem, or is not said. */
    DBG_AUTOFREE char *seals = dbg_asprintf("%s/image_seals.json", dir);
    DBG_AUTOFREE char *malware = dbg_asprintf("%s/malware.json", dir);
    DBG_AUTOFREE char *itext = dbg_asprintf(
        "{\"name\":\"image_seals\",\"pid\":%ld,\"updated\":\"%s\",\"ok\":false,\"mismatches\":1,"
        "\"detail\":\"1 image(s) verified, MISMATCH found\"}",
        (long)getpid(), fresh);
    DBG_AUTOFREE char *mtext = dbg_asprintf("{\"name\":\"malware\",\"pid\":%ld,\"updated\":\"%s\","
                                            "\"detail\":\"1 image(s) scanned, infection found\"}",
                                            (long)getpid(), fresh);
    write_text(seals, itext);
    write_text(malware, mtext);
    /* A one-shot control (volume wipe-check) has exited after its run: its pid is no reason to
     * doubt it; a long-running one (gateway) whose pid is gone is down. */
    DBG_AUTOFREE char *wipe = dbg_asprintf("%s/wipe_check.json", dir);
    DBG_AUTOFREE char *wtext = dbg_asprintf("{\"name\":\"wipe_check\",\"pid\":%d,\"updated\":"
                                            "\"%s\",\"ok\":true,\"oneshot\":true,\"detail\":"
                                            "\"2 volume(s) read back as zeros\"}", INT32_MAX, fresh);
    write_text(wipe, wtext);
    DBG_AUTOFREE char *gwf = dbg_asprintf("%s/gateway.json", dir);
    DBG_AUTOFREE char *gwtext = dbg_asprintf("{\"name\":\"gateway\",\"pid\":%d,\"updated\":"
                                             "\"%s\",\"ok\":true}", INT32_MAX, fresh);
    write_text(gwf, gwtext);
    DBG_AUTOFREE char *stext =
        dbg_asprintf("{\"name\":\"sensor\",\"pid\":%ld,\"updated\":\"%s\"}", (long)getpid(), old);
    write_text(guard, gtext);
    write_text(sensor, stext);
    write_text(audit, "{\"name\": \"audit_log\", \"updated\": ");
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 1, now, &s), 0);
    const dbg_control *g = dbg_snapshot_control(&s, "guard");
    assert_true(g->deployed);
    assert_true(g->healthy);
    assert_non_null(strstr(g->detail, "/run/dengbao/status/guard.json"));
    assert_non_null(strstr(g->detail, "watching 7 domains"));
    const dbg_control *sn = dbg_snapshot_control(&s, "sensor");
    assert_true(sn->deployed);
    assert_false(sn->healthy);
    assert_non_null(strstr(sn->detail, "stale"));
    const dbg_control *a = dbg_snapshot_control(&s, "audit_log");
    assert_true(a->deployed);
    assert_false(a->healthy);
    /* named at its line and column, as the snapshot reader names its errors */
    assert_non_null(strstr(a->detail, "/run/dengbao/status/audit_log.json:1:"));
    assert_non_null(strstr(a->detail, "malformed status file"));
    const dbg_control *im = dbg_snapshot_control(&s, "image_seals");
    assert_true(im->deployed);
    assert_false(im->healthy);
    assert_non_null(strstr(im->detail, "reports a problem"));
    assert_non_null(strstr(im->detail, "MISMATCH found"));
    const dbg_control *mw = dbg_snapshot_control(&s, "malware");
    assert_true(mw->deployed);
    assert_false(mw->healthy);
    assert_non_null(strstr(mw->detail, "result unknown"));
    const dbg_control *wc = dbg_snapshot_control(&s, "wipe_check");
    assert_true(wc->deployed);
    assert_true(wc->healthy);
    const dbg_control *gw = dbg_snapshot_control(&s, "gateway");
    assert_true(gw->deployed);
    assert_false(gw->healthy);
    assert_non_null(strstr(gw->detail, "process not running"));
    const dbg_control *cz = dbg_snapshot_control(&s, "centralized_audit");
    assert_false(cz->deployed);
    dbg_platform_snapshot_clear(&s);
    /* The guard's healthy file under the sensor's name, and a link to it (in a copied root it
     * would name a file of this machine's): neither is the sensor's or the centre's status. */
    write_text(sensor, gtext);
    DBG_AUTOFREE char *central = dbg_asprintf("%s/centralized_audit.json", dir);
    assert_int_equal(symlink(guard, central), 0);
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 1, now, &s), 0);
    sn = dbg_snapshot_control(&s, "sensor");
    assert_false(sn->healthy);
    assert_non_null(strstr(sn->detail, "the file is another control's status"));
    cz = dbg_snapshot_control(&s, "centralized_audit");
    assert_false(cz->healthy);
    assert_true(cz->unknown);
    assert_non_null(strstr(cz->detail, "not a regular file (a symbolic link), not read"));
    assert_true(dbg_snapshot_control(&s, "guard")->healthy);
    assert_null(dbg_snapshot_control(&s, "guard")->degraded);
    dbg_platform_snapshot_clear(&s);
    /* "ok" given twice, false then true: jansson kept the last and the guard read healthy */
    DBG_AUTOFREE char *twice = dbg_asprintf("{\"name\":\"guard\",\"pid\":%ld,\"updated\":\"%s\","
                                            "\"ok\":false,\"detail\":\"mismatch\",\"ok\":true}",
                                            (long)getpid(), fresh);
    write_text(guard, twice);
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 1, now, &s), 0);
    g = dbg_snapshot_control(&s, "guard");
    assert_true(g->deployed);
    assert_false(g->healthy);
    assert_non_null(strstr(g->detail, "duplicate object key"));
    dbg_platform_snapshot_clear(&s);
    write_text(guard, gtext);
    /* Running and ok, but saying it is degraded: healthy, with the reason kept for the checks;
     * one that is not healthy keeps none (it fails whatever it says). */
    DBG_AUTOFREE char *dtext = dbg_asprintf(
        "{\"name\":\"sensor\",\"pid\":%ld,\"updated\":\"%s\",\"ok\":true,\"detail\":\"x\","
        "\"degraded\":\"inventory not reloaded since T0\"}",
        (long)getpid(), fresh);
    write_text(sensor, dtext);
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 1, now, &s), 0);
    sn = dbg_snapshot_control(&s, "sensor");
    assert_true(sn->healthy);
    assert_string_equal(sn->degraded, "inventory not reloaded since T0");
    dbg_platform_snapshot_clear(&s);
    DBG_AUTOFREE char *dold = dbg_asprintf(
        "{\"name\":\"sensor\",\"pid\":%ld,\"updated\":\"%s\",\"ok\":true,"
        "\"degraded\":\"inventory not reloaded since T0\"}",
        (long)getpid(), old);
    write_text(sensor, dold);
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 1, now, &s), 0);
    sn = dbg_snapshot_control(&s, "sensor");
    assert_false(sn->healthy);
    assert_null(sn->degraded);
    dbg_platform_snapshot_clear(&s);
    unlink(central);
    unlink(wipe);
    unlink(gwf);
    unlink(seals);
    unlink(malware);
    unlink(guard);
    unlink(sensor);
    unlink(audit);
    rmdir(dir);
}

/* image_seals lists the images its run covered; the collector carries the list into the
 * snapshot (8.2.4.4b compares it with the VMs' disks). An entry without an absolute path or a
 * state is counted as omitted, never read as coverage; a file or snapshot from before the
 * list loads with images_listed 0. */
/* A one-shot control (image seal/verify/scan, wipe-check) writes its status once per run: its
 * result holds for 24 h (a nightly verify counts at a morning collection), a running
 * control's for 300 s. */
static void test_controls_oneshot_age(void **state)
{
    (void)state;
    int64_t now = dbg_now_us();
    static const struct {
        int oneshot;
        int64_t age_s;
        int healthy;
        const char *why;
    } cases[] = {
        {1, 3600, 1, "healthy"},
        {1, 23 * 3600, 1, "healthy"},
        {1, 25 * 3600, 0, "more than 24 h before the collection"},
        {0, 3600, 0, "not refreshed within 300 s"},
        {0, 60, 1, "healthy"},
        {1, -3600, 0, "lies in the future"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char when[40];
        dbg_time_rfc3339(now - cases[i].age_s * 1000000LL, when, sizeof(when));
        DBG_AUTOFREE char *text = dbg_asprintf(
            "{\"name\":\"wipe_check\",\"pid\":%ld,\"updated\":\"%s\",\"ok\":true%s}",
            (long)getpid(), when, cases[i].oneshot ? ",\"oneshot\":true" : "");
        dbg_control c = {.name = (char *)"wipe_check"};
        assert_int_equal(
            dbg_platform_judge_control(&c, "wipe_check.json", text, strlen(text), 1, now), 0);
        if (c.healthy != cases[i].healthy || !strstr(c.detail, cases[i].why))
            fail_msg("case %zu: healthy %d, detail '%s'", i, c.healthy, c.detail);
        free(c.detail);
        free(c.degraded);
    }
}

static void test_controls_image_list(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-ctli-XXXXXX";
    assert_non_null(mkdtemp(dir));
    int64_t now = dbg_now_us();
    char fresh[40];
    dbg_time_rfc3339(now - 10 * 1000000LL, fresh, sizeof(fresh));
    DBG_AUTOFREE char *seals = dbg_asprintf("%s/image_seals.json", dir);
    DBG_AUTOFREE char *text = dbg_asprintf(
        "{\"name\":\"image_seals\",\"pid\":1,\"updated\":\"%s\",\"ok\":true,\"oneshot\":true,"
        "\"images\":[{\"path\":\"/var/lib/libvirt/images/a.qcow2\",\"state\":\"sealed\"},"
        "{\"path\":\"/srv/b.raw\",\"named\":\"/pool/b.raw\",\"state\":\"intact\"},"
        "{\"path\":\"rel.raw\",\"state\":\"sealed\"},{\"path\":\"/x.raw\"},7],"
        "\"images_omitted\":2}",
        fresh);
    write_text(seals, text);
    dbg_snapshot s = {0};
    s.schema_version = 1;
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 0, now, &s), 0);
    const dbg_control *im = dbg_snapshot_control(&s, "image_seals");
    assert_true(im->healthy);
    assert_true(im->images_listed);
    assert_int_equal(im->n_images, 2);
    assert_int_equal(im->images_omitted, 5); /* 2 said, 3 malformed */
    assert_string_equal(im->images[0].path, "/var/lib/libvirt/images/a.qcow2");
    assert_null(im->images[0].named);
    assert_string_equal(im->images[0].state, "sealed");
    assert_string_equal(im->images[1].named, "/pool/b.raw");
    assert_false(dbg_snapshot_control(&s, "guard")->images_listed);
    /* the snapshot keeps the list, and one from before the list loads without it */
    DBG_AUTOFREE char *j1 = dbg_snapshot_to_json(&s);
    assert_non_null(j1);
    dbg_snapshot *t = dbg_snapshot_from_json(j1, strlen(j1), "j1");
    assert_non_null(t);
    DBG_AUTOFREE char *j2 = dbg_snapshot_to_json(t);
    assert_string_equal(j1, j2);
    dbg_snapshot_free(t);
    json_t *root = json_loads(j1, 0, NULL);
    assert_non_null(root);
    json_t *ctl;
    size_t i;
    json_array_foreach(json_object_get(root, "controls"), i, ctl)
    {
        json_object_del(ctl, "images_listed");
        json_object_del(ctl, "images");
        json_object_del(ctl, "images_omitted");
    }
    char *older = json_dumps(root, 0);
    json_decref(root);
    t = dbg_snapshot_from_json(older, strlen(older), "older.json");
    free(older);
    assert_non_null(t);
    im = dbg_snapshot_control(t, "image_seals");
    assert_true(im->healthy);
    assert_false(im->images_listed);
    assert_int_equal(im->n_images, 0);
    dbg_snapshot_free(t);
    dbg_platform_snapshot_clear(&s);
    /* a status file written before the list */
    DBG_AUTOFREE char *otext = dbg_asprintf(
        "{\"name\":\"image_seals\",\"pid\":1,\"updated\":\"%s\",\"ok\":true,\"oneshot\":true,"
        "\"sealed\":1,\"detail\":\"1 image(s) sealed, last a.qcow2\"}",
        fresh);
    write_text(seals, otext);
    memset(&s, 0, sizeof(s));
    assert_int_equal(dbg_platform_collect_controls(dir, "/run/dengbao/status", 0, now, &s), 0);
    im = dbg_snapshot_control(&s, "image_seals");
    assert_true(im->healthy);
    assert_false(im->images_listed);
    assert_int_equal(im->n_images, 0);
    dbg_platform_snapshot_clear(&s);
    unlink(seals);
    rmdir(dir);
}

/* What the writer side produces is what the collector reads as a healthy control, and a
 * control's own fields cannot override the contract's. */
static void test_status_write_roundtrip(void **state)
{
    (void)state;
    char dir[] = "/tmp/dbg-stw-XXXXXX";
    assert_non_null(mkdtemp(dir));
    DBG_AUTOFREE char *sub = dbg_asprintf("%s/status", dir);
    json_t *extra = json_pack("{s:s,s:I}", "name", "bogus", "sealed", (json_int_t)3);
    assert_int_equal(dbg_status_write(sub, "image_seals", 1, "3 images sealed", extra), 0);
    DBG_AUTOFREE char *path = dbg_asprintf("%s/image_seals.json", sub);
    char *text;
    size_t len;
    assert_int_equal(dbg_read_file(path, 1 << 16, &text, &len), 0);
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "name")), "image_seals");
    assert_int_equal(json_integer_value(json_object_get(j, "sealed")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
    json_decref(j);
    dbg_snapshot s = {0};
    assert_int_equal(dbg_platform_collect_controls(sub, "/run/dengbao/status", 1, dbg_now_us(), &s), 0);
    const dbg_control *im = dbg_snapshot_control(&s, "image_seals");
    assert_true(im->deployed);
    assert_true(im->healthy);
    assert_non_null(strstr(im->detail, "3 images sealed"));
    dbg_platform_snapshot_clear(&s);
    /* A control that found a problem writes "ok": false and is read as not healthy. */
    assert_int_equal(
        dbg_status_write(sub, "image_seals", 0, "1 image(s) verified, MISMATCH found", NULL), 0);
    assert_int_equal(dbg_platform_collect_controls(sub, "/run/dengbao/status", 1, dbg_now_us(), &s),
                     0);
    im = dbg_snapshot_control(&s, "image_seals");
    assert_true(im->deployed);
    assert_false(im->healthy);
    assert_non_null(strstr(im->detail, "MISMATCH found"));
    dbg_platform_snapshot_clear(&s);
    /* A detail that is not UTF-8 is refused with a message, and writes nothing. */
    assert_int_equal(dbg_status_write(sub, "sensor", 1, "\xff\xfe", NULL), -1);
    assert_non_null(strstr(dbg_err_msg(), "sensor"));
    DBG_AUTOFREE char *spath = dbg_asprintf("%s/sensor.json", sub);
    assert_int_equal(access(spath, F_OK), -1);
    /* A status file that cannot be read (here a directory where it should be), or a status
     * directory that cannot be searched (a symlink loop; for a non-root collector, mode 0700):
     * unknown, neither deployed nor absent. */
    assert_int_equal(mkdir(spath, 0755), 0);
    assert_int_equal(dbg_platform_collect_controls(sub, "/run/dengbao/status", 1, dbg_now_us(), &s),
                     0);
    const dbg_control *sn = dbg_snapshot_control(&s, "sensor");
    assert_true(sn->unknown);
    assert_false(sn->healthy);
    assert_non_null(strstr(sn->detail, "/run/dengbao/status/sensor.json: cannot be read"));
    assert_false(dbg_snapshot_control(&s, "image_seals")->unknown);
    assert_false(dbg_snapshot_control(&s, "guard")->unknown); /* absent: known absent */
    dbg_platform_snapshot_clear(&s);
    rmdir(spath);
    DBG_AUTOFREE char *loop = dbg_asprintf("%s/loop", dir);
    assert_int_equal(symlink("loop", loop), 0);
    assert_int_equal(
        dbg_platform_collect_controls(loop, "/run/dengbao/status", 1, dbg_now_us(), &s), 0);
    const dbg_control *gd = dbg_snapshot_control(&s, "guard");
    assert_true(gd->unknown);
    assert_false(gd->deployed);
    assert_non_null(strstr(gd->detail, "guard.json: cannot be looked for ("));
    dbg_platform_snapshot_clear(&s);
    unlink(loop);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collect_demo),
        cmocka_unit_test(test_collect_read_only),
        cmocka_unit_test(test_collect_inactive_pool),
        cmocka_unit_test(test_collect_backing_chain),
        cmocka_unit_test(test_collect_volume_by_real_path),
        cmocka_unit_test(test_collect_network_addresses),
        cmocka_unit_test(test_collect_console_ports),
        cmocka_unit_test(test_collect_unreachable),
        cmocka_unit_test(test_json_roundtrip_collected),
        cmocka_unit_test(test_json_roundtrip_text),
        cmocka_unit_test(test_json_errors),
        cmocka_unit_test(test_json_nwfilter_rules),
        cmocka_unit_test(test_json_nonnull_strings),
        cmocka_unit_test(test_snapshot_load_save),
        cmocka_unit_test(test_domain_tenant_dengbao),
        cmocka_unit_test(test_domain_disk_sources),
        cmocka_unit_test(test_domain_vlan_trunk),
        cmocka_unit_test(test_domain_spice_tls),
        cmocka_unit_test(test_domain_tenant_nova),
        cmocka_unit_test(test_domain_port_isolated),
        cmocka_unit_test(test_domain_socket_links),
        cmocka_unit_test(test_xml_errors),
        cmocka_unit_test(test_network_pool_volume_filter),
        cmocka_unit_test(test_host_libvirt_conf),
        cmocka_unit_test(test_host_kv_files),
        cmocka_unit_test(test_host_sshd),
        cmocka_unit_test(test_host_comments_not_settings),
        cmocka_unit_test(test_host_unreadable),
        cmocka_unit_test(test_host_dropins),
        cmocka_unit_test(test_host_socket_units),
        cmocka_unit_test(test_host_socket_listen),
        cmocka_unit_test(test_uri_host),
        cmocka_unit_test(test_host_files_not_read),
        cmocka_unit_test(test_host_proc_tcp),
        cmocka_unit_test(test_host_faillock_conf),
        cmocka_unit_test(test_host_root_links),
        cmocka_unit_test(test_host_shell_and_pidfiles),
        cmocka_unit_test(test_pidfile_process),
        cmocka_unit_test(test_controls),
        cmocka_unit_test(test_controls_oneshot_age),
        cmocka_unit_test(test_controls_image_list),
        cmocka_unit_test(test_status_write_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
