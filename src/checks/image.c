/* 镜像和快照保护 checks (cloud 8.2.4.4): image/snapshot integrity seals (dengbao image
 * control) and encryption of the disks of VMs that hold sensitive data. */
#include <stdio.h>
#include <string.h>

#include "checks/check_fns.h"
#include "checks/check_util.h"
#include "dengbao/util.h"

dbg_check_result dbg_chk_ctl_image_seals(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev)
{
    (void)p;
    return dbg_chk_control_status(
        s, "image_seals", "signed integrity manifests of images and snapshots, verified", ev);
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
