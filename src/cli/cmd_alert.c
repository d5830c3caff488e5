/* `dengbao alert`: raise one alert through the sinks, to test a SIEM pipeline end to end. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dengbao/alert.h"

static void usage(void)
{
    printf("Usage: dengbao alert --type TYPE [--clause C] [--severity 1|2|3]\n"
           "                     [--src-ip IP] [--src-vm NAME] [--tenant T] [--dest-ip IP]\n"
           "                     [--evidence TEXT] [--eve FILE|-]\n"
           "                     [--syslog unix:PATH|udp:HOST:PORT[,pen=N]]\n\n"
           "Sends one alert through the alert sinks (EVE JSON lines, RFC 5424 syslog). With no\n"
           "sink given, the EVE line goes to stdout. For testing a SIEM pipeline.\n"
           "pen=N: your IANA Private Enterprise Number for the SD-ID dengbao@N (default 32473,\n"
           "IANA's example number for documentation, RFC 5612).\n"
           "Exit codes: 0 sent, 2 usage, 3 a sink could not be opened or written.\n");
}

/* "" (not given) or an IPv4 / IPv6 address: a SIEM rule keyed on the field would not match
 * anything else. */
static int ip_ok(const char *ip)
{
    return !*ip || dbg_cli_ip_ok(ip);
}

/* A long name is cut between characters: a field cut inside one would not be valid UTF-8. */
static void copy_field(char *dst, size_t size, const char *src)
{
    dbg_utf8_copy(dst, size, src);
}

int dbg_cmd_alert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"type", required_argument, NULL, 't'},     {"clause", required_argument, NULL, 'c'},
        {"severity", required_argument, NULL, 's'}, {"src-ip", required_argument, NULL, 'S'},
        {"src-vm", required_argument, NULL, 'V'},   {"tenant", required_argument, NULL, 'T'},
        {"dest-ip", required_argument, NULL, 'D'},  {"evidence", required_argument, NULL, 'e'},
        {"eve", required_argument, NULL, 'E'},      {"syslog", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *type = NULL, *clause = "", *eve = NULL, *syslog_target = NULL, *evidence = NULL;
    const char *src_ip = "", *src_vm = "", *tenant = "", *dest_ip = "";
    long sev = DBG_SEV_MEDIUM;
    int c;
    optind = 1;
    opterr = 0; /* the message below names the option; no getopt line before it */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': type = optarg; break;
        case 'c': clause = optarg; break;
        case 's':
            if (dbg_parse_long(optarg, 1, 3, &sev) < 0)
                return dbg_cli_usage_error("alert", "--severity: %s", dbg_err_msg());
            break;
        case 'S': src_ip = optarg; break;
        case 'V': src_vm = optarg; break;
        case 'T': tenant = optarg; break;
        case 'D': dest_ip = optarg; break;
        case 'e': evidence = optarg; break;
        case 'E': eve = optarg; break;
        case 'L': syslog_target = optarg; break;
        case 'h': usage(); return DBG_EXIT_OK;
        default:
            return dbg_cli_bad_option("alert", argv);
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error("alert", "unexpected argument '%s'", argv[optind]);
    if (!type || !*type)
        return dbg_cli_usage_error("alert", "--type is required");
    if (!ip_ok(src_ip))
        return dbg_cli_usage_error("alert", "--src-ip: '%s' is not an IPv4 or IPv6 address", src_ip);
    if (!ip_ok(dest_ip))
        return dbg_cli_usage_error("alert", "--dest-ip: '%s' is not an IPv4 or IPv6 address",
                                   dest_ip);

    dbg_alerter *al = dbg_alerter_new(0);
    if (!al)
        return dbg_cli_runtime_error("alert");
    int r = DBG_EXIT_RUNTIME;
    if (dbg_alerter_add_sinks(al, eve || !syslog_target ? (eve ? eve : "-") : NULL,
                              syslog_target) < 0)
        goto out;
    dbg_alert a;
    dbg_alert_init(&a, type, (dbg_severity)sev, clause);
    copy_field(a.src.ip, sizeof(a.src.ip), src_ip);
    copy_field(a.src.vm_name, sizeof(a.src.vm_name), src_vm);
    copy_field(a.src.tenant, sizeof(a.src.tenant), tenant);
    copy_field(a.dst.ip, sizeof(a.dst.ip), dest_ip);
    a.evidence = evidence;
    if (dbg_alerter_emit(al, &a) < 0)
        goto out;
    r = DBG_EXIT_OK;
out:
    if (r != DBG_EXIT_OK)
        r = dbg_cli_runtime_error("alert");
    dbg_alerter_free(al);
    return r;
}
