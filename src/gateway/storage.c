/* A VM's disks as the gateway and guard need them: read from domain XML (top layers and their
 * backing chains), verified against their seal manifests before a start (8.2.4.4b), compared
 * source against destination after a migration (8.2.4.5c), and checked gone or zeroed after
 * a delete with storage (8.2.4.7a/b). Each helper returns a JSON report for the audit record. */
#include <errno.h>
#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/gateway.h"
#include "dengbao/integrity.h"
#include "dengbao/util.h"

#define MAX_DISKS 256

static void attr(xmlNodePtr n, const char *name, char *out, size_t outsz)
{
    out[0] = 0;
    xmlChar *v = xmlGetProp(n, BAD_CAST name);
    if (v)
        snprintf(out, outsz, "%s", (const char *)v);
    xmlFree(v);
}

static xmlNodePtr child(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrEqual(c->name, BAD_CAST name))
            return c;
    return NULL;
}

/* Fills path/pool/volume from a <source> element. */
static void source_of(xmlNodePtr disk_or_store, dbg_gw_disk *d)
{
    xmlNodePtr src = child(disk_or_store, "source");
    if (!src)
        return;
    attr(src, "file", d->path, sizeof(d->path));
    if (!d->path[0])
        attr(src, "dev", d->path, sizeof(d->path));
    attr(src, "pool", d->pool, sizeof(d->pool));
    attr(src, "volume", d->volume, sizeof(d->volume));
    char policy[16];
    attr(src, "startupPolicy", policy, sizeof(policy));
    d->optional = strcmp(policy, "optional") == 0;
}

static int push(dbg_gw_disk **v, size_t *n, const dbg_gw_disk *d)
{
    if (*n >= MAX_DISKS) {
        dbg_err_set(DBG_ERR_LIMIT, "domain XML has more than %d disk layers", MAX_DISKS);
        return -1;
    }
    dbg_gw_disk *nv = dbg_realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -1;
    *v = nv;
    nv[(*n)++] = *d;
    return 0;
}

int dbg_gw_domain_disks(const char *xml, dbg_gw_disk **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t len = strlen(xml);
    if (len > (size_t)4 << 20) {
        dbg_err_set(DBG_ERR_LIMIT, "domain XML is %zu bytes", len);
        return -1;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || !xmlStrEqual(root->name, BAD_CAST "domain")) {
        dbg_err_set(DBG_ERR_PARSE, "domain XML: %s", doc ? "the root element is not <domain>"
                                                         : "malformed");
        xmlFreeDoc(doc);
        return -1;
    }
    dbg_gw_disk *v = NULL;
    size_t n = 0;
    int r = 0;
    for (xmlNodePtr disk = child(child(root, "devices"), "disk"); disk && r == 0;
         disk = disk->next) {
        if (disk->type != XML_ELEMENT_NODE || !xmlStrEqual(disk->name, BAD_CAST "disk"))
            continue;
        char device[32];
        attr(disk, "device", device, sizeof(device));
        if (device[0] && strcmp(device, "disk") != 0)
            continue; /* cdrom, floppy, lun: not the VM's own storage */
        dbg_gw_disk d;
        memset(&d, 0, sizeof(d));
        attr(child(disk, "target"), "dev", d.target, sizeof(d.target));
        attr(child(disk, "driver"), "type", d.format, sizeof(d.format));
        source_of(disk, &d);
        r = push(&v, &n, &d);
        /* The backing chain libvirt reports (<backingStore> nested), bounded by MAX_DISKS. */
        for (xmlNodePtr bs = child(disk, "backingStore"); bs && r == 0;
             bs = child(bs, "backingStore")) {
            dbg_gw_disk b;
            memset(&b, 0, sizeof(b));
            snprintf(b.target, sizeof(b.target), "%s", d.target);
            b.backing = 1;
            attr(child(bs, "format"), "type", b.format, sizeof(b.format));
            source_of(bs, &b);
            if (b.path[0] || b.volume[0])
                r = push(&v, &n, &b);
        }
    }
    xmlFreeDoc(doc);
    if (r != 0) {
        free(v);
        return -1;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int finish_report(json_t *arr, char **report_json)
{
    *report_json = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    if (!*report_json) {
        dbg_err_set(DBG_ERR_NOMEM, "building the disk report");
        return -1;
    }
    return 0;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Not there at all (ENOENT: also a dangling symlink; ENOTDIR: a path through a file), as against
 * there but not readable by us, which verification reports as an error. */
static int disk_missing(const char *path)
{
    struct stat st;
    return stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
}

int dbg_gw_verify_disks(const char *xml, const dbg_gw_integrity *in, char **report_json)
{
    *report_json = NULL;
    dbg_gw_disk *d = NULL;
    size_t n = 0;
    if (dbg_gw_domain_disks(xml, &d, &n) != 0)
        return -1;
    int bad = dbg_gw_verify_disk_list(d, n, in, report_json);
    free(d);
    return bad;
}

int dbg_gw_verify_disk_list(const dbg_gw_disk *d, size_t n, const dbg_gw_integrity *in,
                            char **report_json)
{
    *report_json = NULL;
    json_t *arr = json_array();
    int bad = 0;
    dbg_seal_opts so = {.pubkey_path = in && in->seal_pubkey[0] ? in->seal_pubkey : NULL,
                        .manifest_dir = in && in->manifest_dir[0] ? in->manifest_dir : NULL};
    for (size_t i = 0; i < n; i++) {
        if (d[i].backing)
            continue; /* the top layer's manifest seals its backing chain too */
        /* libvirt's <driver type>: the manifest must have been made reading the disk so, and a
         * disk without one is read in the manifest's format */
        so.format = d[i].format[0] ? d[i].format : NULL;
        const char *status, *detail = "";
        DBG_AUTOFREE char *mpath = d[i].path[0] ? dbg_seal_manifest_path(d[i].path,
                                                                         so.manifest_dir)
                                                : NULL;
        dbg_verify_result vr;
        memset(&vr, 0, sizeof(vr));
        int require = in && in->require_seal;
        char why[512];
        if (!d[i].path[0] && (d[i].volume_state == DBG_GW_VOL_NO_VOLUME ||
                              d[i].volume_state == DBG_GW_VOL_NO_POOL)) {
            /* libvirt refuses such a start itself, as for a missing file; said before
             * "unsealed", which refused nothing and named no volume */
            status = "missing";
            snprintf(why, sizeof(why), "%s%s",
                     d[i].volume_state == DBG_GW_VOL_NO_POOL
                         ? "libvirt has no storage pool of that name"
                         : "the pool has no volume of that name",
                     d[i].optional ? "; its startupPolicy is optional, so libvirt starts the VM "
                                     "without this disk"
                                   : ", so the VM cannot start on it");
            detail = why;
            bad += !d[i].optional;
        } else if (!d[i].path[0]) {
            status = "unsealed";
            snprintf(why, sizeof(why), "%s%s",
                     d[i].volume_state == DBG_GW_VOL_POOL_INACTIVE
                         ? "its pool is not active, so the volume's file is not known here "
                           "(libvirt does not start the VM on it either)"
                         : "not a local file or device: not verifiable here",
                     require ? ", and integrity.require_seal asks every disk to verify" : "");
            detail = why;
            bad += require;
        } else if (disk_missing(d[i].path)) {
            /* Looked at before the manifest: a missing file has no real path to name its
             * manifest by (manifest_dir), so such a disk read as "unsealed", which refuses
             * nothing without require_seal and sends the operator looking for a manifest. A
             * missing disk refuses the start by itself: libvirt would not start the VM on it
             * either (unless startupPolicy is optional, when it starts the VM without it). */
            status = "missing";
            detail = d[i].optional ? "the file does not exist; its startupPolicy is optional, "
                                     "so libvirt starts the VM without this disk"
                                   : "the file does not exist, so the VM cannot start on it";
            bad += !d[i].optional;
        } else if (!mpath || !file_exists(mpath)) {
            status = "unsealed";
            detail = require ? "no seal manifest, and integrity.require_seal asks every disk "
                               "to be sealed"
                             : "no seal manifest";
            bad += require;
        } else if (dbg_image_verify_file(d[i].path, &so, &vr) != 0) {
            status = "error";
            detail = dbg_err_msg();
            bad++;
        } else {
            status = vr.status == DBG_VERIFY_INTACT     ? "intact"
                     : vr.status == DBG_VERIFY_MISMATCH ? "mismatch"
                                                        : "bad_manifest";
            detail = vr.detail ? vr.detail : "";
            bad += vr.status != DBG_VERIFY_INTACT;
        }
        json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "disk", d[i].target, "path", d[i].path, "status",
                              status, "detail", detail);
        if (o && d[i].optional) /* a missing one does not count (the gateway reads this) */
            json_object_set_new(o, "optional", json_true());
        if (o && d[i].pool[0] && d[i].volume[0]) { /* no path names it when it is gone */
            json_object_set_new(o, "pool", json_string(d[i].pool));
            json_object_set_new(o, "volume", json_string(d[i].volume));
        }
        json_array_append_new(arr, o);
        dbg_verify_result_free(&vr);
    }
    return finish_report(arr, report_json) == 0 ? bad : -1;
}

static const dbg_gw_disk *by_target(const dbg_gw_disk *d, size_t n, const char *target)
{
    for (size_t i = 0; i < n; i++)
        if (!d[i].backing && strcmp(d[i].target, target) == 0)
            return &d[i];
    return NULL;
}

int dbg_gw_migrate_disks(const char *src_xml, const char *dst_xml, int repair, char **report_json)
{
    *report_json = NULL;
    dbg_gw_disk *s = NULL, *t = NULL;
    size_t ns = 0, nt = 0;
    if (dbg_gw_domain_disks(src_xml, &s, &ns) != 0)
        return -1;
    if (dbg_gw_domain_disks(dst_xml, &t, &nt) != 0) {
        free(s);
        return -1;
    }
    json_t *arr = json_array();
    int differ = 0;
    for (size_t i = 0; i < ns; i++) {
        if (s[i].backing)
            continue;
        const dbg_gw_disk *dd = by_target(t, nt, s[i].target);
        json_t *o = json_pack("{s:s,s:s,s:s}", "disk", s[i].target, "source", s[i].path, "dest",
                              dd ? dd->path : "");
        if (!dd) {
            json_object_set_new(o, "status", json_string("missing"));
            json_object_set_new(o, "detail", json_string("the destination has no such disk"));
            differ++;
        } else if (!s[i].path[0] || !dd->path[0]) {
            json_object_set_new(o, "status", json_string("not_compared"));
            json_object_set_new(o, "detail", json_string("network disk: not readable here"));
        } else if (strcmp(s[i].path, dd->path) == 0) {
            json_object_set_new(o, "status", json_string("shared"));
            json_object_set_new(o, "detail",
                                json_string("same path on both sides (shared storage): one copy, "
                                            "nothing to compare"));
        } else if (!file_exists(dd->path) || !file_exists(s[i].path)) {
            json_object_set_new(o, "status", json_string("not_compared"));
            json_object_set_new(o, "detail", json_string("a side is not readable from this host"));
        } else {
            /* each side as its domain XML's <driver type> says, not as its first bytes claim */
            dbg_migrate_opts mo = {.repair = repair,
                                   .source_format = s[i].format[0] ? s[i].format : NULL,
                                   .dest_format = dd->format[0] ? dd->format : NULL};
            dbg_migrate_result mr;
            if (dbg_migrate_check(s[i].path, dd->path, &mo, &mr) != 0) {
                json_object_set_new(o, "status", json_string("error"));
                json_object_set_new(o, "detail", json_string(dbg_err_msg()));
                differ++;
            } else {
                const char *st = mr.repair_error[0] ? "error"
                                 : mr.identical     ? (mr.repaired ? "repaired" : "identical")
                                                    : "differs";
                json_object_set_new(o, "status", json_string(st));
                if (mr.repair_error[0])
                    json_object_set_new(o, "detail", json_string(mr.repair_error));
                if (mr.repair_error[0] || mr.repaired) {
                    json_object_set_new(o, "still_differing_bytes",
                                        json_integer((json_int_t)mr.still_differing_bytes));
                    json_object_set_new(o, "still_ranges", json_integer((json_int_t)mr.n_still));
                }
                json_object_set_new(o, "differing_bytes", json_integer((json_int_t)mr.differing_bytes));
                json_object_set_new(o, "ranges", json_integer((json_int_t)mr.n_ranges));
                if (mr.ranges_truncated) /* "ranges" counts the listed ones: at least that many */
                    json_object_set_new(o, "ranges_truncated", json_true());
                if (mr.n_ranges)
                    json_object_set_new(o, "first_offset",
                                        json_integer((json_int_t)mr.ranges[0].offset));
                json_object_set_new(o, "source_root", json_string(mr.source_root));
                json_object_set_new(o, "dest_root", json_string(mr.dest_root));
                differ += !mr.identical || mr.repair_error[0];
                dbg_migrate_result_free(&mr);
            }
        }
        json_array_append_new(arr, o);
    }
    free(s);
    free(t);
    return finish_report(arr, report_json) == 0 ? differ : -1;
}

int dbg_gw_residual_check(const dbg_gw_disk *d, size_t n, char **report_json)
{
    *report_json = NULL;
    json_t *arr = json_array();
    int residual = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s,s:s}", "disk", d[i].target, "path", d[i].path);
        if (d[i].backing || d[i].in_use) {
            json_object_set_new(o, "status", json_string("kept"));
            json_object_set_new(o, "detail",
                                json_string(d[i].backing ? "backing layer (may be shared): not "
                                                           "deleted"
                                                         : "a disk of another VM: not deleted"));
        } else if (!d[i].path[0]) {
            json_object_set_new(o, "status", json_string("not_checked"));
            json_object_set_new(o, "detail", json_string("no local path (network disk or "
                                                         "unresolved volume): not readable here"));
        } else if (!file_exists(d[i].path)) {
            json_object_set_new(o, "status", json_string("gone"));
        } else {
            dbg_wipe_result w;
            if (dbg_wipe_check(d[i].path, d[i].format[0] ? d[i].format : NULL, &w) != 0) {
                json_object_set_new(o, "status", json_string("error"));
                json_object_set_new(o, "detail", json_string(dbg_err_msg()));
                residual++;
            } else {
                int left = dbg_wipe_residual(&w) != 0;
                json_object_set_new(o, "status", json_string(left ? "residual" : "wiped"));
                json_object_set_new(o, "nonzero_bytes", json_integer((json_int_t)w.nonzero_bytes));
                if (w.n_dirty_snapshots)
                    json_object_set_new(o, "snapshots_with_data",
                                        json_integer((json_int_t)w.n_dirty_snapshots));
                if (w.container_nonzero_bytes)
                    json_object_set_new(o, "container_nonzero_bytes",
                                        json_integer((json_int_t)w.container_nonzero_bytes));
                if (w.n_ranges)
                    json_object_set_new(o, "first_offset",
                                        json_integer((json_int_t)w.ranges[0].offset));
                residual += left;
                dbg_wipe_result_free(&w);
            }
        }
        json_array_append_new(arr, o);
    }
    return finish_report(arr, report_json) == 0 ? residual : -1;
}
