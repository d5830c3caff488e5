/* `dengbao collect`: inventory a libvirt platform and its host facts into a snapshot file that
 * `dengbao assess --snapshot` evaluates offline (the assessor's workflow). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_collect.h"
#include "dengbao/platform.h"

static void usage(void)
{
    printf("Usage: dengbao collect -c URI [--read-only] [--host-root DIR] [--controls-dir DIR]\n"
           "                       -o FILE\n"
           "\n"
           "Reads every domain, network, storage pool and volume, nwfilter and nwfilter\n"
           "binding through libvirt, the host's security configuration (libvirtd.conf,\n"
           "qemu.conf, sshd_config, login.defs, PAM, auditd, time sync) under DIR, and the\n"
           "status of dengbao's own controls, and writes them as a versioned JSON snapshot.\n"
           "\n"
           "  -c, --connect URI     libvirt URI, e.g. qemu:///system or test:///abs/cloud.xml\n"
           "      --read-only       open the connection read-only (as virsh -r); libvirt then\n"
           "                        hides secrets, so whether a console has a password is\n"
           "                        recorded as not known\n"
           "      --host-root DIR   read host files under DIR instead of / (a copied sysroot)\n"
           "      --controls-dir D  status files of dengbao's controls\n"
           "                        (default DIR/run/dengbao/status)\n"
           "  -o, --output FILE     snapshot to write ('-' = standard output)\n"
           "  -h, --help            this text\n"
           "\n"
           "SOURCE_DATE_EPOCH, when set, fixes the recorded collection time.\n"
           "Exit status: 0 written, 2 usage error, 3 the platform could not be read.\n");
}

/* What the collector could not see: the snapshot records why, and the user hears it now. */
static void warn_unseen(const char *kind, const char *what, const char *why)
{
    fprintf(stderr,
            "dengbao collect: warning: %s%s: %s; the checks that depend on it will say 未检查 "
            "(not checked) unless a gap seen elsewhere decides them\n",
            kind, what, why);
}

int dbg_cmd_collect(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    static const struct option longopts[] = {
        DBG_CLI_COLLECT_LONGOPTS,
        {"read-only", no_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    dbg_collect_opts opts = {0};
    const char *out = NULL;
    const dbg_cli_collect_dest platform = {&opts.uri, &opts.host_root, &opts.controls_dir};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:o:", longopts, NULL)) != -1) {
        if (dbg_cli_collect_option(c, optarg, &platform))
            continue;
        switch (c) {
        case 'r':
            opts.read_only = 1;
            break;
        case 'o':
            out = optarg;
            break;
        default:
            return dbg_cli_bad_option("collect", argv);
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error("collect", "unexpected argument '%s'", argv[optind]);
    if (!opts.uri)
        return dbg_cli_usage_error("collect", "-c URI is required");
    if (!out)
        return dbg_cli_usage_error("collect", "-o FILE is required");
    if (!*out) /* found before collecting, not when the snapshot is written */
        return dbg_cli_usage_error("collect", "-o needs a file name ('-' for standard output)");
    if (dbg_cli_check_collect_dirs("collect", opts.host_root, opts.controls_dir))
        return DBG_EXIT_USAGE;
    dbg_snapshot *s = dbg_snapshot_collect(&opts);
    if (!s)
        return dbg_cli_runtime_error("collect");
    /* Written all the same (the snapshot records why), but said now: a collector without the
     * rights to read the host's configuration makes the checks that need it 未检查. */
    for (size_t i = 0; i < s->n_host_files; i++) {
        const char *why = s->host_files[i].error;
        size_t same = 0, seen_before = 0;
        for (size_t j = 0; why && j < s->n_host_files; j++)
            if (s->host_files[j].error && !strcmp(s->host_files[j].error, why)) {
                same++;
                seen_before |= j < i;
            }
        if (!why || seen_before)
            continue;
        if (same <= 3) {
            for (size_t j = i; j < s->n_host_files; j++)
                if (s->host_files[j].error && !strcmp(s->host_files[j].error, why))
                    warn_unseen("", s->host_files[j].path, why);
            continue;
        }
        /* one reason for many files (another host's, all of them): one line */
        char what[300];
        snprintf(what, sizeof(what), "%zu host files (%s, ...)", same, s->host_files[i].path);
        warn_unseen("", what, why);
    }
    if (s->networks_error)
        warn_unseen("", "networks", s->networks_error);
    if (s->pools_error)
        warn_unseen("", "storage pools", s->pools_error);
    /* What the filters do (anti-spoofing, boundary rules) is then not seen; a port with no
     * filterref at all is still seen as unfiltered. */
    if (!s->nwfilter_supported)
        warn_unseen("", "nwfilters", s->nwfilter_note ? s->nwfilter_note : "not listed");
    /* An inactive pool cannot list its volumes, which still exist (tenant data, leftovers). */
    for (size_t i = 0; i < s->n_pools; i++)
        if (s->pools[i].volumes_error) {
            char what[300];
            snprintf(what, sizeof(what), "the volumes of storage pool %s", s->pools[i].name);
            warn_unseen("", what, s->pools[i].volumes_error);
        }
    /* libvirt refused the secure XML (a read-only connection or socket, no read_secure):
     * whether a console has a password is not known. One line for all such domains. */
    size_t no_secure = 0, first = 0;
    for (size_t i = 0; i < s->n_domains; i++)
        if (s->domains[i].secure_xml_error && !no_secure++)
            first = i;
    if (no_secure) {
        char what[400];
        snprintf(what, sizeof(what), "the console passwords of %zu domain(s) (%s%s)", no_secure,
                 s->domains[first].name, no_secure > 1 ? ", ..." : "");
        char why[600];
        snprintf(why, sizeof(why), "read without VIR_DOMAIN_XML_SECURE (%s)",
                 s->domains[first].secure_xml_error);
        warn_unseen("", what, why);
    }
    for (size_t i = 0; i < s->n_controls; i++)
        if (s->controls[i].unknown)
            warn_unseen("control ", s->controls[i].name,
                        s->controls[i].detail ? s->controls[i].detail : "?");
    int r = dbg_snapshot_save(s, out);
    dbg_snapshot_free(s);
    return r < 0 ? dbg_cli_runtime_error("collect") : DBG_EXIT_OK;
}
