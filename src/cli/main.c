/* `dengbao` entry point: dispatches to the subcommand named by argv[1]. */
#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dbg_config.h"

static const struct command {
    const char *name;
    dbg_cmd_fn fn;
    const char *summary;
} commands[] = {
    {"grade", dbg_cmd_grade, "decide the protection level (定级) and the duties that follow"},
    {"catalog", dbg_cmd_catalog, "list and show MLPS 2.0 requirement items"},
    {"collect", dbg_cmd_collect, "collect a platform snapshot from libvirt and the host"},
    {"assess", dbg_cmd_assess, "assess a platform against MLPS 2.0: verdicts, score, gaps (差距汇总)"},
    {"report", dbg_cmd_report, "render a saved assessment result as text, JSON, HTML or JUnit"},
    {"audit", dbg_cmd_audit, "tamper-evident audit log: append, query, verify, prove, export"},
    {"vm", dbg_cmd_vm, "privileged VM operations through the audited gateway"},
    {"agent", dbg_cmd_agent, "run the per-host agent: gateway and VM lifecycle guard"},
    {"sensor", dbg_cmd_sensor, "network sensor: detect attacks and abnormal VM traffic"},
    {"image", dbg_cmd_image, "seal, verify and scan VM images and snapshots"},
    {"volume", dbg_cmd_volume, "residual-information checks on volumes (wipe-check)"},
    {"alert", dbg_cmd_alert, "send a test alert through the alert sinks"},
    {"store", dbg_cmd_store, "central event store (SQLite or PostgreSQL): ingest alerts, query per tenant"},
    {"serve", dbg_cmd_serve, "central HTTPS API and dashboard"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "dengbao %s - MLPS 2.0 (等保2.0, GB/T 22239-2019) for KVM/libvirt clouds\n\n"
            "Usage: dengbao COMMAND [OPTIONS]\n\nCommands:\n",
            DBG_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nEvery command takes --help. Exit codes: 0 ok, 1 findings, 2 usage, 3 runtime error.\n");
    fprintf(out,
            "Data (catalog, grade tables, rules): the directory `dengbao --version` names,\n"
            "$DENGBAO_DATADIR or else, installed, %s.\n",
            DBG_INSTALL_DATADIR);
}

/* Output written with printf (grade, catalog, help) fails late and silently: the error is
 * sticky on the stream. Checked once at exit, so a report cut short by a full disk or a closed
 * file does not exit 0 as if written. A command that already failed has said why. */
static int stdout_written(const char *cmd, int rc)
{
    int err = fflush(stdout) != 0 ? errno : 0;
    if ((!err && !ferror(stdout)) || (rc != DBG_EXIT_OK && rc != DBG_EXIT_FINDINGS))
        return rc;
    fprintf(stderr, "dengbao %s: cannot write to standard output: %s\n", cmd,
            err ? strerror(err) : "a write failed");
    return DBG_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "C.UTF-8");
    /* A write past the file size limit then fails with EFBIG, which every writer reports (and
     * the EVE sink takes back its cut line), instead of the signal killing the process. */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return DBG_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return stdout_written("--help", DBG_EXIT_OK);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        /* which data directory this binary reads, and why (dbg_datadir_find's rule) */
        const char *how = NULL;
        DBG_AUTOFREE char *data = dbg_datadir_find(&how);
        printf("dengbao %s\n", DBG_VERSION);
        if (data)
            printf("data directory: %s (%s)\n", data, how);
        else
            printf("data directory: none (%s)\n", dbg_err_msg());
        return stdout_written("--version", DBG_EXIT_OK);
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(argv[1], commands[i].name))
            return stdout_written(commands[i].name, commands[i].fn(argc - 1, argv + 1));
    }
    fprintf(stderr, "dengbao: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return DBG_EXIT_USAGE;
}
