/* 镜像和快照保护 checks (cloud 8.2.4.4): image/snapshot integrity seals (dengbao image
 * control) and encryption of the disks of VMs that hold sensitive data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

/* An image the seal/verify runs listed, by one of its names (real path, or the absolute
 * path it was given as). */
typedef struct {
    const char *key;
    const dbg_control_image *image;
} seal_key;

static int cmp_seal_key(const void *a, const void *b)
{
    return strcmp(((const seal_key *)a)->key, ((const seal_key *)b)->key);
}

static const dbg_control_image *sealed_image(const seal_key *keys, size_t n, const char *path)
{
    seal_key want = {path, NULL};
    const seal_key *k = n ? bsearch(&want, keys, n, sizeof(*keys), cmp_seal_key) : NULL;
    return k ? k->image : NULL;
}

/* The local file a disk reads: its source, or for a pool volume ("pool/volume") the volume's
 * path in the snapshot. NULL with why set when it has none (a network disk, a volume whose
 * pool was not listed). */
static const char *disk_path(const dbg_snapshot *s, const dbg_disk *k, const char **why)
{
    if (dbg_streq(k->type, "network")) {
        *why = "a network disk (rbd, iSCSI, NBD, Gluster...): dengbao image seal and verify "
               "read local files only, so its integrity was not checked";
        return NULL;
    }
    if (dbg_streq(k->type, "nvme") || dbg_streq(k->type, "vhostuser") ||
        dbg_streq(k->type, "vhostvdpa")) {
        *why = "no local image (an NVMe namespace passed through, or a vhost-user / vDPA "
               "backend's storage): dengbao image seal and verify read local files only, so its "
               "integrity was not checked";
        return NULL;
    }
    if (dbg_streq(k->type, "volume") && k->source[0] != '/') {
        for (size_t i = 0; i < s->n_volumes; i++) {
            const dbg_volume *v = &s->volumes[i];
            size_t n = v->pool ? strlen(v->pool) : 0;
            if (v->path && v->name && n && !strncmp(k->source, v->pool, n) && k->source[n] == '/' &&
                !strcmp(k->source + n + 1, v->name))
                return v->path;
        }
        *why = s->pools_error ? "a pool volume whose path is not known: storage pools were not "
                                "listed"
                              : "a pool volume whose path is not known: the snapshot lists no "
                                "such volume (its pool inactive or its volumes not listed)";
        return NULL;
    }
    return k->source;
}

/* A disk holding VM data to seal: one with a source, not an empty drive or removable media */
static int sealable_disk(const dbg_disk *k)
{
    return k->source && k->source[0] && (!k->device || !strcmp(k->device, "disk"));
}

static int image_ok(const dbg_control_image *im)
{
    return im && dbg_seal_state_ok(im->state);
}

dbg_check_result dbg_chk_ctl_image_seals(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev)
{
    (void)p;
    const char *expected =
        "every VM disk sealed (dengbao image seal) or verified intact "
        "(dengbao image verify --status-dir), its latest state in the status list";
    dbg_check_result r = dbg_chk_control_status(
        s, "image_seals", "signed integrity manifests of images and snapshots, verified", ev);
    const dbg_control *c = dbg_snapshot_control(s, "image_seals");
    const char *src = c && c->path ? c->path : "/run/dengbao/status/image_seals.json";
    if (r == DBG_CHECK_FAIL && c && c->deployed) {
        /* "ok": false is any listed image's problem, earlier runs' included: name them */
        size_t n_bad = 0;
        for (size_t i = 0; i < c->n_images; i++)
            if (!image_ok(&c->images[i]) && n_bad++ < DBG_CHK_MAX_LISTED)
                dbg_evidence_addf(ev, 0, src, "image", "sealed or verified intact", "%s: %s",
                                  c->images[i].path, c->images[i].state);
        dbg_chk_more(ev, 0, src, n_bad, "images not sealed or intact", "sealed or verified intact");
    }
    if (r != DBG_CHECK_PASS && r != DBG_CHECK_PARTIAL)
        return r; /* not deployed, not healthy (a mismatch), or unknown */
    size_t n_disks = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        for (size_t j = 0; j < s->domains[i].n_disks; j++)
            n_disks += sealable_disk(&s->domains[i].disks[j]);
    if (n_disks == 0) {
        dbg_evidence_addf(ev, 1, "libvirt virDomainGetXMLDesc", "VM disks", expected,
                          "no VM of %zu has a disk (cdrom/floppy aside): nothing to seal",
                          s->n_domains);
        return r;
    }
    if (!c->images_listed) {
        /* 符合 needs evidence: a status file of a dengbao before the list says that some
         * images were sealed, not that these VMs' disks were */
        dbg_evidence_addf(ev, 0, src, "images", expected,
                          "the status file does not list the images its run covered (written "
                          "by an older dengbao): which of the %zu VM disks are sealed is not "
                          "shown; run dengbao image seal or verify over them with --status-dir",
                          n_disks);
        return DBG_CHECK_ERROR;
    }
    seal_key *keys = dbg_calloc(2 * c->n_images + 1, sizeof(*keys));
    if (!keys) {
        ev->failed = 1;
        return DBG_CHECK_ERROR;
    }
    size_t nk = 0;
    for (size_t i = 0; i < c->n_images; i++) {
        keys[nk++] = (seal_key){c->images[i].path, &c->images[i]};
        if (c->images[i].named)
            keys[nk++] = (seal_key){c->images[i].named, &c->images[i]};
    }
    qsort(keys, nk, sizeof(*keys), cmp_seal_key);
    size_t good = 0, bad = 0, unknown = 0, n_sealed = 0, n_intact = 0;
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        for (size_t j = 0; j < d->n_disks; j++) {
            const dbg_disk *k = &d->disks[j];
            if (!sealable_disk(k))
                continue;
            const char *why = NULL;
            const char *path = disk_path(s, k, &why);
            const dbg_control_image *im = path ? sealed_image(keys, nk, path) : NULL;
            /* the disk names a link to the image (or a link the image was sealed as names
             * another): by the real path the collector found on the disk's host */
            if (!im && path == k->source && k->real_path)
                im = sealed_image(keys, nk, k->real_path);
            int ok = image_ok(im);
            /* a volume without a path, a network disk (its storage is not read here, so a
             * seal of it is neither shown nor ruled out), or a disk not listed by a run that
             * covered more than it lists: not known */
            int unk = path ? !im && c->images_omitted : 1;
            char where[300], key[300];
            dbg_chk_dom_src(d, where, sizeof(where));
            snprintf(key, sizeof(key), "disk %s (%s)", k->target ? k->target : "?", k->source);
            size_t *count = ok ? &good : unk ? &unknown : &bad;
            if ((*count)++ >= DBG_CHK_MAX_LISTED)
                continue;
            if (ok)
                dbg_evidence_addf(ev, 1, where, key, expected, "%s: %s", im->path,
                                  !strcmp(im->state, "sealed") ? "sealed" : "verified intact");
            else if (!path)
                dbg_evidence_addf(ev, 0, where, key, expected, "not checked: %s", why);
            else if (im)
                dbg_evidence_addf(ev, 0, where, key, expected, "%s: %s (its latest state)", path,
                                  im->state);
            else if (unk)
                dbg_evidence_addf(ev, 0, where, key, expected,
                                  "%s: not among the %zu images the status file lists; its "
                                  "runs covered %zu more it does not list",
                                  path, c->n_images, c->images_omitted);
            else
                dbg_evidence_addf(ev, 0, where, key, expected,
                                  "%s: not sealed or verified (the status lists %zu image(s), "
                                  "none of them this disk)",
                                  path, c->n_images);
        }
    }
    for (size_t i = 0; i < c->n_images; i++) {
        n_sealed += !strcmp(c->images[i].state, "sealed");
        n_intact += !strcmp(c->images[i].state, "intact");
    }
    free(keys);
    dbg_chk_more(ev, 1, "libvirt", good, "VM disks sealed or verified", expected);
    dbg_chk_more(ev, 0, "libvirt", bad, "VM disks not sealed", expected);
    dbg_chk_more(ev, 0, "libvirt", unknown, "VM disks whose seal is not known", expected);
    dbg_evidence_addf(ev, bad == 0 && unknown == 0, src, "VM disks covered", expected,
                      "%zu of %zu VM disks sealed or verified intact (the status lists "
                      "%zu image(s): %zu sealed, %zu verified intact); %zu not, %zu not known",
                      good, n_disks, c->n_images, n_sealed, n_intact, bad, unknown);
    if (bad)
        return good || unknown ? DBG_CHECK_PARTIAL : DBG_CHECK_FAIL;
    if (unknown)
        return DBG_CHECK_ERROR;
    return r; /* every disk covered: pass, or partial when the control says it is degraded */
}

dbg_check_result dbg_chk_sensitive_encrypted(const dbg_snapshot *s, const dbg_check_params *p,
                                             dbg_evidence_list *ev)
{
    (void)p;
    size_t sensitive = 0, bad = 0, good = 0, lb = 0, lg = 0;
    const char *expected = "<encryption> on every disk of a VM marked sensitive (qcow2/LUKS)";
    for (size_t i = 0; i < s->n_domains; i++) {
        const dbg_domain *d = &s->domains[i];
        if (!d->sensitive)
            continue;
        sensitive++;
        for (size_t j = 0; j < d->n_disks; j++) {
            const dbg_disk *k = &d->disks[j];
            if (k->device && strcmp(k->device, "disk"))
                continue; /* cdrom/floppy media are not the VM's data */
            int ok = k->encrypted;
            char src[300], key[160];
            dbg_chk_dom_src(d, src, sizeof(src));
            snprintf(key, sizeof(key), "disk %s (%s)", k->target ? k->target : "?",
                     k->source ? k->source : "no source");
            if (ok ? lg++ < DBG_CHK_MAX_LISTED : lb++ < DBG_CHK_MAX_LISTED)
                dbg_evidence_addf(ev, ok, src, key, expected, "%s",
                                  ok ? (k->encryption_format ? k->encryption_format : "encrypted")
                                     : "not encrypted");
            ok ? good++ : bad++;
        }
    }
    if (sensitive == 0) {
        /* No mark shows no sensitive data only where every VM was classified. */
        size_t unclassified = 0;
        dbg_buf names;
        dbg_buf_init(&names, 0);
        for (size_t i = 0; i < s->n_domains; i++) {
            const dbg_domain *d = &s->domains[i];
            if (d->classification)
                continue;
            if (unclassified++ < DBG_CHK_MAX_LISTED &&
                dbg_buf_printf(&names, "%s%s", unclassified > 1 ? ", " : "",
                               d->name ? d->name : "?") < 0)
                ev->failed = 1;
        }
        if (unclassified > DBG_CHK_MAX_LISTED)
            dbg_buf_printf(&names, " and %zu more", unclassified - DBG_CHK_MAX_LISTED);
        const char *key = "<dengbao:data classification=..>";
        const char *want = "every VM classified in its metadata (classification='sensitive' for "
                           "VMs holding sensitive data, e.g. 'public' or 'internal' otherwise)";
        if (unclassified)
            dbg_evidence_addf(ev, 0, "libvirt virDomainGetXMLDesc", key, want,
                              "no VM of %zu is marked as holding sensitive data, but %zu are not "
                              "classified at all, so whether they hold any is not known: %s",
                              s->n_domains, unclassified, names.data ? names.data : "");
        else
            dbg_evidence_addf(ev, 1, "libvirt virDomainGetXMLDesc", key, want,
                              "all %zu VMs are classified in their metadata and none as "
                              "sensitive/secret/personal",
                              s->n_domains);
        dbg_buf_free(&names);
        return unclassified ? DBG_CHECK_ERROR : DBG_CHECK_NA;
    }
    dbg_chk_more(ev, 0, "libvirt", bad, "unencrypted disks", expected);
    dbg_chk_more(ev, 1, "libvirt", good, "encrypted disks", expected);
    if (good + bad == 0)
        dbg_evidence_addf(ev, 1, "libvirt virDomainGetXMLDesc", "disks of VMs marked sensitive",
                          expected,
                          "%zu VM(s) marked sensitive, none with a disk (cdrom/floppy aside): "
                          "nothing to encrypt",
                          sensitive);
    return bad ? DBG_CHECK_FAIL : good ? DBG_CHECK_PASS : DBG_CHECK_NA;
}
