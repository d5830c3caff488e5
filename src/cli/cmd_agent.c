/* `dengbao agent`: runs the privileged-operation gateway (Unix socket and optional mTLS
 * listener) and the VM lifecycle guard on one hypervisor host, with the audit log and the
 * EVE alert sink, until SIGTERM. Writes the gateway/guard status files the collector reads. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <pwd.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/agent_sensor.h"
#include "cli/cli.h"
#include "dengbao/alert.h"
#include "dengbao/audit.h"
#include "dengbao/gateway.h"
#include "dengbao/guard.h"
#include "dengbao/platform.h"
#include "dengbao/sensor.h"
#include "dengbao/server.h"

static void usage(void)
{
    printf("Usage: dengbao agent [-c URI] --audit-log DIR --key FILE --policy FILE --eve FILE\n"
           "                     --socket PATH [--listen ADDR:PORT --tls-cert F --tls-key F\n"
           "                     --tls-ca F] [--state-dir DIR] [--status-dir DIR]\n"
           "                     [--sensor-iface IFACE... [--sensor-inventory SNAPSHOT]\n"
           "                     [--sensor-rules FILE] [--sensor-user USER]\n"
           "                     [--sensor-start-timeout SECONDS]]\n"
           "                     [--central URL [--central-cert F\n"
           "                     --central-key F --central-ca F]]\n"
           "                     [--syslog unix:PATH|udp:HOST:PORT[,pen=N]]\n\n"
           "Runs the gateway (the one authorized path for privileged VM operations: policy,\n"
           "approval tickets, intent/outcome audit records) and the guard (libvirt lifecycle\n"
           "and reboot events matched against the gateway's authorizations; alerts\n"
           "unauthorized_vm_create, unauthorized_vm_start, unauthorized_vm_restart,\n"
           "unaudited_vm_delete, unaudited_vm_destroy, unauthorized_vm_redefine). Logs to\n"
           "stderr (DENGBAO_LOG=info for more); stops cleanly on SIGTERM or SIGINT; SIGUSR1\n"
           "makes the sensor print its stats to stderr.\n\n"
           "  -c, --connect URI   libvirt URI (default qemu:///system)\n"
           "  --audit-log DIR     audit log directory\n"
           "  --key FILE          Ed25519 key (PEM) that signs the audit log's tree heads\n"
           "  --policy FILE       gateway policy (YAML; template: policy/example.yaml in the\n"
           "                      data directory `dengbao --version` names)\n"
           "  --eve FILE          alerts as EVE JSON lines\n"
           "  --syslog TARGET     also every alert (guard, gateway, sensor) as RFC 5424 syslog\n"
           "                      (facility 4) to unix:/dev/log, unix:PATH or udp:HOST:PORT;\n"
           "                      ,pen=N: your IANA Private Enterprise Number for the SD-ID\n"
           "                      dengbao@N (default 32473, IANA's documentation number)\n"
           "  --socket PATH       local gateway socket (identity from the peer's uid)\n"
           "  --listen ADDR:PORT  remote gateway, TLS 1.3 with client certificates only\n"
           "  --tls-cert/--tls-key/--tls-ca  server certificate, key, and the CA clients need\n"
           "  --state-dir DIR     the guard's durable view and the pending approval tickets\n"
           "                      (default /var/lib/dengbao)\n"
           "  --status-dir DIR    status files gateway.json, guard.json, audit_log.json and\n"
           "                      sensor.json (default /run/dengbao/status)\n"
           "  --sensor-iface IFACE  also run the network sensor live on this bridge or tap\n"
           "                      (repeat for more); its alerts go to the same --eve file\n"
           "  --sensor-inventory SNAPSHOT  attribution from a `dengbao collect` snapshot\n"
           "                      (default: collected from -c); the file reloaded within a\n"
           "                      second of a change, or -c collected again every 60 s and\n"
           "                      on libvirt's VM events\n"
           "  --sensor-rules FILE sensor thresholds (default rules/sensor.yaml in the data\n"
           "                      directory `dengbao --version` names)\n"
           "  --sensor-user USER  the sensor (a process of its own, started before the audit\n"
           "                      key is read) gives up root for USER once its capture is\n"
           "                      open, keeping only CAP_NET_RAW, as `dengbao sensor --user`;\n"
           "                      it hands its status to the agent, which writes sensor.json\n"
           "  --sensor-start-timeout SECONDS  how long the agent waits for the sensor to\n"
           "                      capture (its inventory loaded, its interfaces opened) before\n"
           "                      it starts the rest; past it, it exits 3 (default 30, 1..86400)\n"
           "  --central URL       forward the --eve alerts to `dengbao serve`:\n"
           "                      https://HOST:PORT (mTLS) or unix:/path/serve.sock; the\n"
           "                      accepted offset is kept in the state dir across restarts\n"
           "  --central-cert/--central-key/--central-ca  this agent's client certificate\n"
           "                      (O=provider) and the CA of the central server\n\n"
           "Exit codes: 0 stopped on SIGTERM/SIGINT, 2 usage, 3 runtime error (policy, audit\n"
           "log, libvirt, listener or sensor failure, or a sensor that did not capture within\n"
           "--sensor-start-timeout: nothing else was started; a restart retries it).\n");
}

#define AGENT_MAX_IFACES 16
/* Collecting a big host's inventory from a local libvirtd takes seconds; 30 s without a status
 * is a hang (a libvirtd that accepts and never answers, a capture that never opens). */
#define AGENT_SENSOR_START_TIMEOUT_S 30

static int audit_append_cb(void *ctx, const dbg_audit_record *rec, uint64_t *seq)
{
    return dbg_audit_append(ctx, rec, seq);
}

static int alert_cb(void *ctx, const dbg_alert *a)
{
    return dbg_alerter_emit(ctx, a);
}

typedef struct {
    const char *status_dir, *uri, *socket_path, *listen, *policy_path;
    dbg_gateway *gw;
    dbg_guard *guard;
    dbg_audit_log *audit;
} agent;

static void write_status(const agent *ag, int stopping)
{
    dbg_guard_stats st;
    memset(&st, 0, sizeof(st));
    if (ag->guard)
        dbg_guard_get_stats(ag->guard, &st);
    char gdetail[512], kdetail[512];
    snprintf(gdetail, sizeof(gdetail), "%s; socket %s%s%s; policy %s; %llu requests",
             stopping ? "stopped" : "running", ag->socket_path, ag->listen ? "; mTLS on " : "",
             ag->listen ? ag->listen : "", ag->policy_path,
             (unsigned long long)(ag->gw ? dbg_gateway_requests(ag->gw) : 0));
    snprintf(kdetail, sizeof(kdetail), "%s; watching %s (%s); %llu events, %llu alerts, "
             "%llu reconciliations; event->alert p99 %lld us",
             stopping ? "stopped" : "running", ag->uri, st.connected ? "connected" : "disconnected",
             (unsigned long long)st.events, (unsigned long long)st.alerts,
             (unsigned long long)st.reconciles, (long long)st.latency_p99_us);
    json_t *g = json_pack("{s:s,s:s,s:I,s:b}", "socket", ag->socket_path, "policy",
                          ag->policy_path, "requests",
                          (json_int_t)(ag->gw ? dbg_gateway_requests(ag->gw) : 0), "mtls",
                          ag->listen != NULL);
    if (g && ag->listen)
        json_object_set_new(g, "listen", json_string(ag->listen));
    json_t *k = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I}", "uri", ag->uri, "connected",
                          st.connected, "events", (json_int_t)st.events, "alerts",
                          (json_int_t)st.alerts, "reconciles", (json_int_t)st.reconciles,
                          "reconnects", (json_int_t)st.reconnects, "latency_p50_us",
                          (json_int_t)st.latency_p50_us, "latency_p99_us",
                          (json_int_t)st.latency_p99_us);
    json_t *extras[2] = {g, k};
    const char *names[2] = {"gateway", "guard"};
    const char *details[2] = {gdetail, kdetail};
    /* A guard cut off from libvirt sees no lifecycle event until it reconnects. */
    const int oks[2] = {!stopping, !stopping && st.connected};
    for (int i = 0; i < 2; i++) {
        if (stopping && extras[i])
            json_object_set_new(extras[i], "state", json_string("stopped"));
        if (dbg_status_write(ag->status_dir, names[i], oks[i], details[i], extras[i]) != 0)
            dbg_warn("agent: cannot write status %s/%s.json: %s", ag->status_dir, names[i],
                     dbg_err_msg());
    }
    /* The agent owns the audit log the gateway and guard write: its status file is the evidence
     * ctl.audit_log and ctl.gateway_audit look for (8.2.3.3a/b). */
    if (ag->audit && dbg_audit_write_status_dir(ag->audit, ag->status_dir, stopping) != 0)
        dbg_warn("agent: cannot write status %s/audit_log.json: %s", ag->status_dir,
                 dbg_err_msg());
}

int dbg_cmd_agent(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    const char *uri = "qemu:///system", *audit_dir = NULL, *key = NULL, *policy_path = NULL,
               *eve = NULL, *socket_path = NULL, *listen_on = NULL, *tls_cert = NULL,
               *tls_key = NULL, *tls_ca = NULL, *state_dir = "/var/lib/dengbao",
               *status_dir = "/run/dengbao/status", *sensor_inventory = NULL,
               *sensor_rules = NULL, *central = NULL, *central_cert = NULL, *central_key = NULL,
               *central_ca = NULL, *syslog_target = NULL, *sensor_user = NULL;
    const char *ifaces[AGENT_MAX_IFACES];
    size_t n_ifaces = 0;
    long sensor_timeout_s = AGENT_SENSOR_START_TIMEOUT_S;
    int sensor_timeout_set = 0;
    static const struct option opts[] = {
        {"connect", required_argument, NULL, 'c'},   {"audit-log", required_argument, NULL, 'A'},
        {"key", required_argument, NULL, 'K'},       {"policy", required_argument, NULL, 'P'},
        {"eve", required_argument, NULL, 'E'},       {"socket", required_argument, NULL, 'S'},
        {"listen", required_argument, NULL, 'L'},    {"tls-cert", required_argument, NULL, '1'},
        {"tls-key", required_argument, NULL, '2'},   {"tls-ca", required_argument, NULL, '3'},
        {"state-dir", required_argument, NULL, 'D'}, {"status-dir", required_argument, NULL, 'T'},
        {"sensor-iface", required_argument, NULL, 'i'},
        {"sensor-inventory", required_argument, NULL, 'I'},
        {"sensor-rules", required_argument, NULL, 'R'},
        {"central", required_argument, NULL, 'z'},
        {"central-cert", required_argument, NULL, '4'},
        {"central-key", required_argument, NULL, '5'},
        {"central-ca", required_argument, NULL, '6'},
        {"syslog", required_argument, NULL, 'Y'},
        {"sensor-user", required_argument, NULL, 'U'},
        {"sensor-start-timeout", required_argument, NULL, 'W'},
        {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    opterr = 0; /* the message below names the option; no getopt line before it */
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (c) {
        case 'c': uri = optarg; break;
        case 'A': audit_dir = optarg; break;
        case 'K': key = optarg; break;
        case 'P': policy_path = optarg; break;
        case 'E': eve = optarg; break;
        case 'S': socket_path = optarg; break;
        case 'L': listen_on = optarg; break;
        case '1': tls_cert = optarg; break;
        case '2': tls_key = optarg; break;
        case '3': tls_ca = optarg; break;
        case 'D': state_dir = optarg; break;
        case 'T': status_dir = optarg; break;
        case 'i':
            if (n_ifaces == AGENT_MAX_IFACES)
                return dbg_cli_usage_error("agent", "at most %d --sensor-iface", AGENT_MAX_IFACES);
            ifaces[n_ifaces++] = optarg;
            break;
        case 'I': sensor_inventory = optarg; break;
        case 'R': sensor_rules = optarg; break;
        case 'z': central = optarg; break;
        case '4': central_cert = optarg; break;
        case '5': central_key = optarg; break;
        case '6': central_ca = optarg; break;
        case 'Y': syslog_target = optarg; break;
        case 'U':
            if (!getpwnam(optarg))
                return dbg_cli_usage_error("agent", "--sensor-user: no user '%s'", optarg);
            sensor_user = optarg;
            break;
        case 'W':
            if (dbg_parse_long(optarg, 1, 86400, &sensor_timeout_s) != 0)
                return dbg_cli_usage_error("agent", "--sensor-start-timeout: '%s' is not "
                                           "1..86400 seconds", optarg);
            sensor_timeout_set = 1;
            break;
        default:
            return dbg_cli_bad_option("agent", argv);
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error("agent", "unexpected argument '%s'", argv[optind]);
    if (!audit_dir || !key || !policy_path || !eve || !socket_path)
        return dbg_cli_usage_error("agent", "--audit-log, --key, --policy, --eve and --socket "
                                   "are required");
    if (listen_on && (!tls_cert || !tls_key || !tls_ca))
        return dbg_cli_usage_error("agent", "--listen needs --tls-cert, --tls-key and --tls-ca "
                                   "(TLS 1.3 with client certificates; there is no plain path)");
    if (!listen_on && (tls_cert || tls_key || tls_ca))
        return dbg_cli_usage_error("agent", "--tls-* options need --listen");
    if (!n_ifaces && (sensor_inventory || sensor_rules || sensor_user))
        return dbg_cli_usage_error("agent", "--sensor-inventory, --sensor-rules and --sensor-user "
                                   "need --sensor-iface");
    if (!n_ifaces && sensor_timeout_set)
        return dbg_cli_usage_error("agent", "--sensor-start-timeout needs --sensor-iface");
    if (!central && (central_cert || central_key || central_ca))
        return dbg_cli_usage_error("agent", "--central-* options need --central");
    if (central && !strncmp(central, "https://", 8) && (!central_cert || !central_key || !central_ca))
        return dbg_cli_usage_error("agent", "--central https://... needs --central-cert, "
                                   "--central-key and --central-ca (mTLS)");

    /* Signals are taken synchronously by the main thread; every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1); /* passed on to the sensor: its stats, as `dengbao sensor` */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = DBG_EXIT_RUNTIME;
    agent ag = {status_dir, uri, socket_path, listen_on, policy_path, NULL, NULL, NULL};
    dbg_gw_policy *policy = NULL;
    dbg_gw_ledger *ledger = NULL;
    dbg_alerter *alerter = NULL;
    dbg_gw_server *srv = NULL;
    char *state_path = NULL, *offset_path = NULL, *tickets_path = NULL;
    agent_sensor *sensor = NULL;
    dbg_forwarder *fwd = NULL;
    /* First: the sensor's process must hold none of what follows (the audit key, the gateway,
     * libvirt), and dropping root needs it to have one thread. */
    if (n_ifaces) {
        dbg_sensor_run_opts so = {.ifaces = ifaces, .n_ifaces = n_ifaces,
                                  .inventory_path = sensor_inventory,
                                  .uri = sensor_inventory ? NULL : uri, .rules_path = sensor_rules,
                                  .eve_path = eve, .syslog_target = syslog_target,
                                  .status_dir = status_dir, .run_as = sensor_user};
        /* its rules and inventory files and interfaces first: a typo stops the agent before
         * anything starts or it says "running" (exit 2 for the interfaces, as a usage error) */
        if (dbg_sensor_run_check(&so) != 0 || !(sensor = agent_sensor_start(&so)))
            goto out;
        /* and running: before anything else starts, an interface that is missing (the sensor
         * ends when none opens) stops the agent before it says "running", not after */
        if (dbg_mkdir_p(status_dir, 0755) != 0)
            goto out;
        int ready = agent_sensor_wait_ready(sensor, status_dir, &set, (int)sensor_timeout_s);
        if (ready < 0)
            goto out;
        if (ready == 2) {
            /* Exit rather than wait on: nothing else runs yet (no gateway, guard or audit log),
             * and under systemd a waiting agent looks "active" while the host has none of its
             * controls. A failure shows in the unit's state, and Restart=on-failure retries
             * with a new libvirt connection and new captures, which is what clears a hang.
             * Exit 3, the runtime error of every command (DESIGN.md: 0/1/2/3, which scripts
             * rely on); the message says it was the sensor's start. */
            /* the step it said it began last, over the pipe; none said (it hung before its
             * first): what it could still be doing */
            const char *step = agent_sensor_step(sensor);
            char names[256] = "";
            size_t used = 0;
            for (size_t i = 0; i < n_ifaces && used < sizeof(names); i++) {
                int w = snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
                                 ifaces[i]);
                used += w > 0 ? (size_t)w : 0;
            }
            if (step[0])
                fprintf(stderr, "dengbao agent: the sensor (pid %d) did not capture within %ld "
                        "s (--sensor-start-timeout): it was still %s; killed it, nothing else "
                        "started, exit 3\n",
                        (int)agent_sensor_pid(sensor), sensor_timeout_s, step);
            else
                fprintf(stderr, "dengbao agent: the sensor (pid %d) did not capture within %ld "
                        "s (--sensor-start-timeout) and said no step of its start-up: it may "
                        "still be %s%s%sopening its capture on %s; killed it, nothing else "
                        "started, exit 3\n",
                        (int)agent_sensor_pid(sensor), sensor_timeout_s,
                        sensor_inventory ? "" : "collecting its inventory from libvirt (",
                        sensor_inventory ? "" : uri, sensor_inventory ? "" : ") or ", names);
            rc = DBG_EXIT_RUNTIME;
            goto out;
        }
        if (ready > 0) {
            fprintf(stderr, "dengbao agent: stopping\n");
            rc = DBG_EXIT_OK;
            goto out;
        }
    }
    if (!(policy = dbg_gw_policy_load(policy_path)))
        goto out;
    if (dbg_mkdir_p(status_dir, 0755) != 0 || dbg_mkdir_p(state_dir, 0700) != 0)
        goto out;
    dbg_audit_opts ao = {.dir = audit_dir, .key_path = key, .durable = 1};
    if (!(ag.audit = dbg_audit_open(&ao)))
        goto out;
    if (!(alerter = dbg_alerter_new(0)) || dbg_alerter_add_sinks(alerter, eve, syslog_target) < 0)
        goto out;
    if (!(ledger = dbg_gw_ledger_new()) || !(state_path = dbg_path_join(state_dir, "guard-view.json")))
        goto out;
    if (dbg_guard_event_loop_init() != 0)
        goto out;
    /* The policy's integrity section also drives the guard: a VM started behind the gateway's
     * back gets its sealed disks verified (detection; the gateway's own start path refuses). */
    dbg_gw_integrity integrity;
    dbg_gw_policy_integrity(policy, &integrity);
    dbg_guard_opts go = {.uri = uri, .state_path = state_path, .ledger = ledger,
                         .audit = audit_append_cb, .audit_ctx = ag.audit, .alert = alert_cb,
                         .alert_ctx = alerter,
                         .integrity = integrity.verify_before_start ? &integrity : NULL};
    if (!(ag.guard = dbg_guard_start(&go)))
        goto out;
    if (!(tickets_path = dbg_path_join(state_dir, "gateway-tickets.json")))
        goto out;
    dbg_gw_opts gwo = {.uri = uri, .policy = policy, .ledger = ledger, .audit = audit_append_cb,
                       .audit_ctx = ag.audit, .tickets_path = tickets_path};
    if (!(ag.gw = dbg_gateway_new(&gwo)))
        goto out;
    dbg_gw_listen_opts lo = {socket_path, listen_on, tls_cert, tls_key, tls_ca};
    if (!(srv = dbg_gw_server_start(ag.gw, &lo)))
        goto out;
    if (central) {
        if (!(offset_path = dbg_path_join(state_dir, "central.offset")))
            goto out;
        dbg_forwarder_opts fo = {.eve_path = eve, .central = central, .tls_cert = central_cert,
                                 .tls_key = central_key, .tls_ca = central_ca,
                                 .state_path = offset_path};
        if (!(fwd = dbg_forwarder_start(&fo)))
            goto out;
    }
    write_status(&ag, 0);
    char sensor_note[160] = "";
    if (sensor)
        snprintf(sensor_note, sizeof(sensor_note), ", sensor on %s%s (pid %d%s%.64s)", ifaces[0],
                 n_ifaces > 1 ? " and more" : "", (int)agent_sensor_pid(sensor),
                 sensor_user ? ", as " : "", sensor_user ? sensor_user : "");
    fprintf(stderr, "dengbao agent: running: gateway on %s%s%s%s, guard on %s%s%s, pid %d\n",
            socket_path, listen_on ? " and " : "", listen_on ? listen_on : "",
            listen_on ? " (mTLS)" : "", uri, sensor_note,
            central ? ", forwarding alerts to the central server" : "", (int)getpid());
    int64_t next_status = dbg_monotonic_us() + 10 * 1000000LL;
    for (;;) {
        /* the sensor's statuses are passed on within a second */
        struct timespec ts = {sensor ? 1 : 10, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGUSR1 && sensor)
            kill(agent_sensor_pid(sensor), SIGUSR1);
        if (sig < 0 && errno != EAGAIN && errno != EINTR)
            break;
        /* A sensor that could not capture is a control that is down: say so and stop, rather
         * than run on looking deployed. */
        if (sensor && agent_sensor_poll(sensor, status_dir) != 0)
            goto out;
        if (dbg_monotonic_us() < next_status)
            continue;
        next_status = dbg_monotonic_us() + 10 * 1000000LL;
        dbg_gw_ledger_prune(ledger, dbg_now_us() - 3600LL * 1000000);
        if (dbg_gateway_expire_tickets(ag.gw, dbg_now_us()) < 0)
            dbg_warn("agent: an expired approval ticket was not recorded (tried again in 10 s): "
                     "%s", dbg_err_msg());
        dbg_alerter_flush(alerter);
        write_status(&ag, 0);
    }
    fprintf(stderr, "dengbao agent: stopping\n");
    rc = DBG_EXIT_OK;
out:
    if (rc == DBG_EXIT_RUNTIME)
        rc = dbg_cli_runtime_error("agent");
    if (agent_sensor_stop(sensor, status_dir) != 0 && rc == DBG_EXIT_OK) {
        fprintf(stderr, "dengbao agent: %s\n", dbg_err_msg());
        rc = DBG_EXIT_RUNTIME;
    }
    dbg_gw_server_stop(srv);
    if (ag.gw || ag.guard)
        write_status(&ag, 1);
    dbg_gateway_free(ag.gw);
    dbg_guard_stop(ag.guard);
    if (alerter)
        dbg_alerter_free(alerter);
    /* After the last alert is written: the forwarder's final pass sends it. */
    dbg_forwarder_stop(fwd);
    free(offset_path);
    if (ag.audit && dbg_audit_close(ag.audit) != 0 && rc == DBG_EXIT_OK)
        rc = dbg_cli_runtime_error("agent");
    dbg_gw_ledger_free(ledger);
    dbg_gw_policy_free(policy);
    free(state_path);
    free(tickets_path);
    return rc;
}
