/* `dengbao vm`: the gateway client. Sends one privileged VM operation to `dengbao agent` over
 * its Unix socket (identity = your uid) or over TLS 1.3 with a client certificate, and prints
 * the gateway's answer. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dengbao/gateway.h"

static void usage(void)
{
    printf("Usage: dengbao vm [--socket PATH | --connect ADDR:PORT --cert F --key F --ca F]\n"
           "                  [--timeout SEC] [--remove-storage] [--repair]\n"
           "                  [--format text|json] OPERATION ARGS\n"
           "Options go before the OPERATION.\n\n"
           "Runs a privileged VM operation through the dengbao gateway, which authorizes it\n"
           "against the policy, audits intent and outcome, and then calls libvirt.\n\n"
           "Operations:\n"
           "  list                      VMs you may see\n"
           "  create FILE.xml           define a VM from domain XML (tenant from its metadata)\n"
           "  start|shutdown|reboot|reset|destroy|delete|suspend|resume VM\n"
           "  migrate VM DEST_URI       DEST_URI as the policy's migration.destinations lists\n"
           "                            it (the scheme's and host's case and a trailing '/'\n"
           "                            may differ; the agent connects to the listed URI)\n"
           "  snapshot VM NAME\n"
           "  approve TICKET            approve (and so run) a request waiting for you\n\n"
           "Options:\n"
           "  --socket PATH       the agent's Unix socket (default /run/dengbao/gateway.sock)\n"
           "  --connect ADDR:PORT the agent's TLS listener; needs --cert, --key and --ca\n"
           "  --timeout SEC       how long to wait for the answer, 1..86400 (default 600)\n"
           "  --remove-storage    delete: also delete the VM's volumes, then check each is gone\n"
           "                      or reads as zeros (backing layers are kept; 8.2.4.7a/b)\n"
           "  --repair            migrate: repair a destination disk that differs (8.2.4.5c)\n"
           "  --format text|json\n\n"
           "Exit: 0 done, 1 denied, refused (a disk failed its seal, a create names an\n"
           "existing VM or another VM's disk, a migration's destination is not listed),\n"
           "waiting for approval, or done with findings\n"
           "(residual data, migrated disk differs), 2 usage, 3 failed (also: no such VM,\n"
           "which is the answer for a VM you may not see, as for one that does not exist).\n");
}

/* A done operation whose disk hooks found something: residual data after a delete with
 * storage, or a migrated disk that still differs. */
static int has_findings(json_t *r)
{
    return json_is_true(json_object_get(r, "residual_data")) ||
           json_is_false(json_object_get(r, "migration_intact"));
}

/* One line per disk of a hook report: "  vda /path: status (detail)". */
static void print_disks(const char *what, json_t *arr)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *path = json_string_value(json_object_get(e, "path"));
        const char *st = json_string_value(json_object_get(e, "status"));
        const char *det = json_string_value(json_object_get(e, "detail"));
        if (!path)
            path = json_string_value(json_object_get(e, "dest"));
        printf("  %s %s %s: %s%s%s%s\n", what, json_string_value(json_object_get(e, "disk")),
               path ? path : "", st ? st : "?", det && *det ? " (" : "", det ? det : "",
               det && *det ? ")" : "");
    }
}

static int print_text(json_t *r)
{
    print_disks("integrity", json_object_get(r, "integrity"));
    print_disks("storage", json_object_get(r, "residual_check"));
    print_disks("migration", json_object_get(r, "migration_check"));
    const char *status = json_string_value(json_object_get(r, "status"));
    const char *err = json_string_value(json_object_get(r, "error"));
    const char *rule = json_string_value(json_object_get(r, "rule"));
    json_t *vms = json_object_get(r, "vms");
    if (json_is_array(vms)) {
        size_t i;
        json_t *v;
        printf("%-24s %-36s %-10s %s\n", "NAME", "UUID", "STATE", "TENANT");
        json_array_foreach(vms, i, v) {
            const char *t = json_string_value(json_object_get(v, "tenant"));
            const char *name = json_string_value(json_object_get(v, "name"));
            /* a name libvirt holds may carry what a terminal obeys; a wide one (财务-web1)
             * takes two columns a character, which printf's byte count would misalign */
            int failed = 0;
            DBG_AUTOFREE char *shown = name ? dbg_text_visible(name, &failed) : NULL;
            if (failed)
                return dbg_cli_runtime_error("vm");
            if (shown)
                name = shown;
            size_t cols = dbg_utf8_columns(name);
            printf("%s%*s %-36s %-10s %s\n", name ? name : "", cols < 24 ? (int)(24 - cols) : 0,
                   "", json_string_value(json_object_get(v, "uuid")),
                   json_string_value(json_object_get(v, "state")), t && *t ? t : "-");
        }
        return DBG_EXIT_OK;
    }
    if (dbg_streq(status, "done")) {
        json_t *a = json_object_get(r, "audit");
        printf("%s %s: done (rule %s; audit records %lld, %lld)\n",
               json_string_value(json_object_get(r, "op")),
               json_string_value(json_object_get(r, "vm")) ? json_string_value(json_object_get(r, "vm")) : "",
               rule ? rule : "-", (long long)json_integer_value(json_object_get(a, "intent")),
               (long long)json_integer_value(json_object_get(a, "outcome")));
        if (json_is_true(json_object_get(r, "residual_data")))
            printf("FINDING: data remains on storage of the deleted VM (8.2.4.7a)\n");
        if (json_is_false(json_object_get(r, "migration_intact")))
            printf("FINDING: a migrated disk differs from its source (8.2.4.5c)\n");
        return has_findings(r) ? DBG_EXIT_FINDINGS : DBG_EXIT_OK;
    }
    if (dbg_streq(status, "pending")) {
        const char *at = json_string_value(json_object_get(r, "approver_tenant"));
        printf("pending approval: ticket %s\n  %s\n  approver: %s%s%s (dengbao vm approve %s)\n",
               json_string_value(json_object_get(r, "ticket")),
               json_string_value(json_object_get(r, "message")),
               json_string_value(json_object_get(r, "approver_role")), at ? " of tenant " : "",
               at ? at : "", json_string_value(json_object_get(r, "ticket")));
        return DBG_EXIT_FINDINGS;
    }
    fprintf(stderr, "dengbao vm: %s: %s%s%s%s\n", status ? status : "error", err ? err : "",
            rule ? " (rule " : "", rule ? rule : "", rule ? ")" : "");
    return dbg_streq(status, "denied") || dbg_streq(status, "refused") ? DBG_EXIT_FINDINGS
                                                                       : DBG_EXIT_RUNTIME;
}

/* A name the gateway would refuse, said as a usage error. The name is shown with its controls
 * and bidi characters escaped: given raw ('vm\e[2J'), the message itself cleared or recoloured
 * the terminal, and the caller did not see what was wrong with the name. */
static int bad_name(const char *what, const char *val)
{
    int failed = 0;
    DBG_AUTOFREE char *shown = dbg_text_visible(val, &failed);
    if (failed)
        return dbg_cli_runtime_error("vm");
    return dbg_cli_usage_error("vm", "%s '%s' is not a valid name (" DBG_GW_NAME_RULE ")", what,
                               shown ? shown : val);
}

/* A destination URI with characters no URI has (a control, a bidi override): the gateway
 * refuses it as a bad request, so it is refused here as the caller's mistake. */
static int dest_ok(const char *uri)
{
    int failed = 0;
    char *shown = dbg_text_visible(uri, &failed);
    free(shown);
    return !shown && !failed;
}

int dbg_cmd_vm(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    dbg_gw_client_opts co = {.socket_path = NULL};
    const char *format = "text";
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'}, {"connect", required_argument, NULL, 'C'},
        {"cert", required_argument, NULL, 'e'},   {"key", required_argument, NULL, 'k'},
        {"ca", required_argument, NULL, 'a'},     {"format", required_argument, NULL, 'f'},
        {"timeout", required_argument, NULL, 't'}, {"remove-storage", no_argument, NULL, 'S'},
        {"repair", no_argument, NULL, 'R'},       {NULL, 0, NULL, 0},
    };
    int c, remove_storage = 0, repair = 0;
    long timeout = 0;
    optind = 1;
    opterr = 0; /* the message below names the option; no getopt line before it */
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 's': co.socket_path = optarg; break;
        case 'C': co.connect = optarg; break;
        case 'e': co.cert = optarg; break;
        case 'k': co.key = optarg; break;
        case 'a': co.ca = optarg; break;
        case 'f': format = optarg; break;
        case 'S': remove_storage = 1; break;
        case 'R': repair = 1; break;
        case 't':
            if (dbg_parse_long(optarg, 1, 86400, &timeout) != 0)
                return dbg_cli_usage_error("vm", "--timeout must be 1..86400 seconds");
            co.timeout_s = (int)timeout;
            break;
        default:
            return dbg_cli_bad_option("vm", argv);
        }
    }
    dbg_format fmt;
    if (dbg_cli_parse_format("vm", format, (1u << DBG_FORMAT_TEXT) | (1u << DBG_FORMAT_JSON),
                             &fmt) != 0)
        return DBG_EXIT_USAGE;
    if (co.connect && co.socket_path)
        return dbg_cli_usage_error("vm", "give --socket or --connect, not both");
    if (co.connect && (!co.cert || !co.key || !co.ca))
        return dbg_cli_usage_error("vm", "--connect needs --cert, --key and --ca (mutual TLS)");
    if (!co.connect && (co.cert || co.key || co.ca))
        return dbg_cli_usage_error("vm", "--cert, --key and --ca are for --connect (over --socket "
                                         "the agent knows you by your uid)");
    if (!co.connect && !co.socket_path)
        co.socket_path = "/run/dengbao/gateway.sock";
    if (optind >= argc)
        return dbg_cli_usage_error("vm", "no operation given");
    dbg_gw_request req;
    memset(&req, 0, sizeof(req));
    if (dbg_gw_op_parse(argv[optind], &req.op) != 0)
        return dbg_cli_usage_error("vm", "%s", dbg_err_msg());
    if (remove_storage && req.op != DBG_OP_DELETE)
        return dbg_cli_usage_error("vm", "--remove-storage goes with delete");
    if (repair && req.op != DBG_OP_MIGRATE)
        return dbg_cli_usage_error("vm", "--repair goes with migrate");
    req.remove_storage = remove_storage;
    req.repair = repair;
    int nargs = argc - optind - 1;
    char **args = argv + optind + 1;
    int want = req.op == DBG_OP_LIST ? 0 : (req.op == DBG_OP_MIGRATE || req.op == DBG_OP_SNAPSHOT) ? 2 : 1;
    if (nargs != want)
        return dbg_cli_usage_error("vm", "'%s' takes %d argument%s", argv[optind], want,
                                   want == 1 ? "" : "s");
    int r = DBG_EXIT_RUNTIME;
    char *line = NULL, *resp = NULL;
    json_t *root = NULL;
/* A name the gateway would refuse is the caller's mistake (2), found before anything is sent:
 * sent, it came back as the gateway's "bad request" and exited 3 like a failed operation. */
#define SETF(field, val, what)                                                                    \
    do {                                                                                          \
        if (strlen(val) >= sizeof(req.field)) {                                                   \
            r = dbg_cli_usage_error("vm", "%s '%.40s...' is too long (at most %zu bytes)", what, \
                                    val, sizeof(req.field) - 1);                                  \
            goto out;                                                                             \
        }                                                                                         \
        if (strcmp(#field, "dest") != 0 && !dbg_gw_name_ok(val)) {                                \
            r = bad_name(what, val);                                                              \
            goto out;                                                                             \
        }                                                                                         \
        if (strcmp(#field, "dest") == 0 && !dest_ok(val)) {                                       \
            r = dbg_cli_usage_error("vm", "%s: a URI holds no control or bidi characters", what); \
            goto out;                                                                             \
        }                                                                                         \
        snprintf(req.field, sizeof(req.field), "%s", val);                                        \
    } while (0)
    switch (req.op) {
    case DBG_OP_LIST: break;
    case DBG_OP_CREATE: {
        size_t len;
        if (dbg_read_file(args[0], DBG_GW_XML_MAX, &req.xml, &len) != 0) {
            r = dbg_cli_runtime_error("vm");
            goto out;
        }
        break;
    }
    case DBG_OP_APPROVE: SETF(ticket, args[0], "ticket"); break;
    case DBG_OP_MIGRATE:
        SETF(vm, args[0], "VM");
        SETF(dest, args[1], "destination");
        break;
    case DBG_OP_SNAPSHOT:
        SETF(vm, args[0], "VM");
        SETF(name, args[1], "snapshot name");
        break;
    default: SETF(vm, args[0], "VM"); break;
    }
#undef SETF
    if (!(line = dbg_gw_request_to_json(&req)) || dbg_gw_client_call(&co, line, &resp) != 0) {
        r = dbg_cli_runtime_error("vm");
        goto out;
    }
    json_error_t je;
    if (!(root = json_loads(resp, 0, &je)) || !json_is_object(root)) {
        fprintf(stderr, "dengbao vm: the gateway's answer is not JSON: %.200s\n", resp);
        goto out;
    }
    if (fmt == DBG_FORMAT_JSON) {
        printf("%s\n", resp);
        const char *st = json_string_value(json_object_get(root, "status"));
        r = dbg_streq(st, "done") ? (has_findings(root) ? DBG_EXIT_FINDINGS : DBG_EXIT_OK)
            : dbg_streq(st, "pending") || dbg_streq(st, "denied") || dbg_streq(st, "refused")
                ? DBG_EXIT_FINDINGS
                : DBG_EXIT_RUNTIME;
    } else {
        r = print_text(root);
    }
out:
    json_decref(root);
    free(resp);
    free(line);
    dbg_gw_request_clear(&req);
    return r;
}
