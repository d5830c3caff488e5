/* `dengbao sensor`: argument parsing for the network sensor; capture, detection and output are
 * in libdengbao (dbg_sensor_run). SIGINT/SIGTERM end a live run, SIGUSR1 prints stats. */
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dengbao/sensor.h"

static volatile int stop_flag;
static volatile int stats_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void on_usr1(int sig)
{
    (void)sig;
    stats_flag = 1;
}

static void usage(void)
{
    printf("Usage: dengbao sensor (-r FILE | -i IFACE...) [--inventory SNAPSHOT.json | -c URI]\n"
           "                      [--rules FILE] --eve FILE [--flows FILE] [--stats]\n"
           "                      [--syslog unix:PATH|udp:HOST:PORT[,pen=N]]\n"
           "                      [--inventory-refresh SECONDS] [--duration SECONDS]\n"
           "                      [--status-dir DIR] [--user USER]\n\n"
           "Detects tenant-launched attacks, attacks on virtual network nodes, abnormal VM-VM and\n"
           "VM-host traffic and isolation failures (MLPS 8.2.3.2 a-d, 8.2.4.3a) in live traffic\n"
           "(-i, repeatable: bridges or tap devices) or a pcap/pcapng file (-r), and writes alerts\n"
           "as EVE JSON lines (--eve FILE, '-' for stdout).\n\n"
           "  -r FILE              read a capture; the run ends with the file\n"
           "  -i IFACE             capture live (repeat for several interfaces)\n"
           "  --inventory FILE     platform snapshot (dengbao collect) for VM/tenant attribution\n"
           "  -c URI               collect the inventory from libvirt at start instead\n"
           "  --inventory-refresh SECONDS  live: collect -c again this often (default 60; 0 =\n"
           "                       never), and at once when libvirt reports a VM started,\n"
           "                       stopped, (un)defined or a NIC plugged, so VMs started later\n"
           "                       are attributed. The --inventory file is looked at every\n"
           "                       100 ms whatever SECONDS (0 = never) and reloaded when it\n"
           "                       changed (inode, size, mtime); one that cannot be read keeps\n"
           "                       the inventory in use, with a warning naming it\n"
           "  --rules FILE         thresholds (default: rules/sensor.yaml in the data directory\n"
           "                       `dengbao --version` names)\n"
           "  --flows FILE         also write flow records (EVE event_type flow)\n"
           "  --syslog TARGET      also send each alert as RFC 5424 syslog (facility 4) to a\n"
           "                       Unix datagram socket (unix:/dev/log) or UDP (udp:HOST:PORT);\n"
           "                       ,pen=N: your IANA Private Enterprise Number for the\n"
           "                       SD-ID dengbao@N (default 32473, IANA's example number\n"
           "                       for documentation: set your own)\n"
           "  --stats              print stats as JSON on stdout at exit (and text every 10 s live)\n"
           "  --duration SECONDS   live: stop after this long\n"
           "  --status-dir DIR     live: where sensor.json goes (default $DENGBAO_STATUS_DIR or\n"
           "                       /run/dengbao/status)\n"
           "  --user USER          give up root for USER (its groups; live: only CAP_NET_RAW\n"
           "                       kept, to reopen an interface) once the capture, outputs\n"
           "                       and status file are open, before the first packet: tenants'\n"
           "                       packets are never decoded as root. USER must be able to\n"
           "                       write the status directory, and read --inventory (or reach\n"
           "                       libvirt for -c) for the refreshes\n\n"
           "Alert types: port_scan host_sweep syn_flood udp_flood icmp_flood tcp_flood arp_spoof\n"
           "ip_spoof mac_spoof rogue_dhcp brute_force cross_tenant vm_to_host volume_anomaly\n"
           "worm_spread.\n"
           "Stats go to stderr at exit and on SIGUSR1. Exit: 0 no alerts, 1 alerts raised,\n"
           "2 usage, 3 runtime error.\n");
}

int dbg_cmd_sensor(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    dbg_sensor_run_opts o;
    memset(&o, 0, sizeof(o));
    const char *ifaces[16];
    size_t n_ifaces = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "--stats")) {
            o.print_stats = 1;
            continue;
        }
        if (!has_value)
            return dbg_cli_usage_error("sensor", "%s needs a value or is unknown", a);
        const char *v = argv[++i];
        if (!strcmp(a, "-r")) {
            o.read_file = v;
        } else if (!strcmp(a, "-i")) {
            if (n_ifaces == 16)
                return dbg_cli_usage_error("sensor", "at most 16 interfaces");
            ifaces[n_ifaces++] = v;
        } else if (!strcmp(a, "--inventory")) {
            o.inventory_path = v;
        } else if (!strcmp(a, "-c")) {
            o.uri = v;
        } else if (!strcmp(a, "--rules")) {
            o.rules_path = v;
        } else if (!strcmp(a, "--eve")) {
            o.eve_path = v;
        } else if (!strcmp(a, "--syslog")) {
            o.syslog_target = v;
        } else if (!strcmp(a, "--flows")) {
            o.flows_path = v;
        } else if (!strcmp(a, "--status-dir")) {
            o.status_dir = v;
        } else if (!strcmp(a, "--user")) {
            if (!getpwnam(v))
                return dbg_cli_usage_error("sensor", "--user: no user '%s'", v);
            o.run_as = v;
        } else if (!strcmp(a, "--inventory-refresh")) {
            long secs;
            if (dbg_parse_long(v, 0, 86400, &secs) != 0)
                return dbg_cli_usage_error("sensor", "--inventory-refresh: '%s' is not 0..86400",
                                           v);
            o.inventory_refresh_s = secs ? (int)secs : -1;
        } else if (!strcmp(a, "--duration")) {
            long secs;
            if (dbg_parse_long(v, 1, 86400 * 365, &secs) != 0)
                return dbg_cli_usage_error("sensor", "--duration: '%s' is not 1..31536000", v);
            o.duration_s = (double)secs;
        } else {
            return dbg_cli_usage_error("sensor", "unknown option '%s'", a);
        }
    }
    if (!!o.read_file == !!n_ifaces)
        return dbg_cli_usage_error("sensor", "give either -r FILE or -i IFACE");
    if (o.inventory_path && o.uri)
        return dbg_cli_usage_error("sensor", "give either --inventory or -c, not both");
    if (!o.eve_path)
        return dbg_cli_usage_error("sensor", "--eve FILE is required");
    o.ifaces = ifaces;
    o.n_ifaces = n_ifaces;
    o.stop = &stop_flag;
    o.dump_stats = &stats_flag;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
    long alerts = dbg_sensor_run(&o);
    if (alerts < 0)
        return dbg_cli_runtime_error("sensor");
    return alerts > 0 ? DBG_EXIT_FINDINGS : DBG_EXIT_OK;
}
