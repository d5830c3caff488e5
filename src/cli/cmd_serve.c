/* `dengbao serve`: the central server (src/server) — argument parsing, signals, and the
 * centralized_audit control status file. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dengbao/platform.h"
#include "dengbao/server.h"

#define CMD "serve"
#define STATUS_EVERY_S 30
#define DEFAULT_STORE "/var/lib/dengbao/central.db"

static void usage(void)
{
    printf(
        "Usage: dengbao serve [--listen ADDR:PORT --tls-cert F --tls-key F --tls-ca F]\n"
        "                     [--socket PATH] [--store URL] [--log DIR] [--assessment FILE]\n"
        "                     [--policy FILE] [--status-dir DIR] [--max-conns N]\n"
        "                     [--keepalive-timeout SECONDS] [--keepalive-requests N]\n"
        "                     [--store-readers N]\n\n"
        "The central server: agents POST their EVE alerts, the provider sees every tenant's\n"
        "events, each tenant only its own (集中审计, MLPS 8.2.5.1c) and downloads its audit\n"
        "records with inclusion proofs to verify offline (8.2.3.3b). Stops on SIGTERM/SIGINT.\n\n"
        "  --listen ADDR:PORT  HTTPS, TLS 1.3 with client certificates only (port 0 = any)\n"
        "  --tls-cert/--tls-key/--tls-ca F  server certificate, key, and the CA clients are\n"
        "                      checked against (all three required with --listen)\n"
        "  --socket PATH       plain HTTP on a Unix socket; root and this server's uid are the\n"
        "                      provider, other users only through --policy tenant roles\n"
        "  --store URL         SQLite path or sqlite:PATH (default " DEFAULT_STORE "),\n"
        "                      or postgresql://...\n"
        "  --log DIR           the audit log (read) for GET /api/v1/audit/export\n"
        "  --assessment FILE   latest `dengbao assess --format json` result (provider only)\n"
        "  --policy FILE       the gateway's policy: identities -> roles/tenants. Without it a\n"
        "                      certificate with O=provider is the provider and O=T is tenant T\n"
        "                      (so no tenant may have the id 'provider': its events are refused)\n"
        "  --status-dir DIR    writes DIR/centralized_audit.json every %d s and at stop\n"
        "  --max-conns N       concurrent connections (default 64)\n"
        "  --keepalive-timeout SECONDS  how long a connection may wait idle for its next\n"
        "                      request (HTTP/1.1 keep-alive; 1..3600, default 5)\n"
        "  --keepalive-requests N  requests one connection may carry (1..100000, default 100;\n"
        "                      1: every answer closes its connection)\n"
        "  --store-readers N   store connections answering event listings and the dashboard\n"
        "                      beside the one that stores (1..32; default one per online CPU,\n"
        "                      4 to 16); on PostgreSQL each is a session\n\n"
        "API: GET /healthz, POST|GET /api/v1/events, GET /api/v1/audit/export[?tenant=T],\n"
        "GET /api/v1/audit/pubkey, GET /api/v1/assessment, GET / (dashboard). Each request is\n"
        "logged to stderr.\n"
        "Exit codes: 0 stopped on SIGTERM/SIGINT, 2 usage, 3 runtime error (store, audit log,\n"
        "certificates or listener).\n",
        STATUS_EVERY_S);
}

static void write_status(const char *dir, dbg_server *srv, const dbg_server_opts *o, int stopping)
{
    if (!dir)
        return;
    dbg_server_stats st;
    dbg_server_get_stats(srv, &st);
    char detail[512];
    snprintf(detail, sizeof(detail),
             "%s: central server, store %s%s%s%s%s; %llu requests, %llu events stored",
             stopping ? "stopped" : "running", dbg_server_backend(srv),
             o->listen ? ", mTLS on " : "", o->listen ? o->listen : "",
             o->socket_path ? ", socket " : "", o->socket_path ? o->socket_path : "",
             (unsigned long long)st.requests, (unsigned long long)st.events_stored);
    json_t *extra = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "state", stopping ? "stopped" : "running",
        "store", dbg_server_backend(srv), "requests", (json_int_t)st.requests, "errors",
        (json_int_t)st.errors, "events_stored", (json_int_t)st.events_stored, "events_rejected",
        (json_int_t)st.events_rejected, "exports", (json_int_t)st.exports, "refused_tls",
        (json_int_t)st.refused_tls, "active_connections", st.active_conns);
    if (dbg_status_write(dir, "centralized_audit", !stopping, detail, extra) != 0)
        fprintf(stderr, "dengbao serve: status file: %s\n", dbg_err_msg());
}

int dbg_cmd_serve(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    enum { O_CERT = 256, O_KEY, O_CA, O_STATUS, O_ASSESS, O_MAXC, O_KA_IDLE, O_KA_MAX, O_READERS };
    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"socket", required_argument, NULL, 's'},
        {"store", required_argument, NULL, 'd'},
        {"log", required_argument, NULL, 'L'},
        {"policy", required_argument, NULL, 'p'},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"tls-ca", required_argument, NULL, O_CA},
        {"status-dir", required_argument, NULL, O_STATUS},
        {"assessment", required_argument, NULL, O_ASSESS},
        {"max-conns", required_argument, NULL, O_MAXC},
        {"keepalive-timeout", required_argument, NULL, O_KA_IDLE},
        {"keepalive-requests", required_argument, NULL, O_KA_MAX},
        {"store-readers", required_argument, NULL, O_READERS},
        {NULL, 0, NULL, 0},
    };
    dbg_server_opts o;
    memset(&o, 0, sizeof(o));
    o.store_url = DEFAULT_STORE;
    const char *status_dir = NULL;
    int c;
    optind = 1;
    opterr = 0;
    int idx = -1;
    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        /* an unset variable (--store "$DB"): SQLite takes "" for a temporary database deleted
         * at stop, so agents' events were answered 200 and lost; --socket "" listened on an
         * abstract address of NUL bytes */
        if (c != '?' && idx >= 0 && optarg && !optarg[0])
            return dbg_cli_usage_error(CMD, "--%s: the value is empty", opts[idx].name);
        idx = -1;
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 's':
            o.socket_path = optarg;
            break;
        case 'd':
            o.store_url = optarg;
            break;
        case 'L':
            o.audit_dir = optarg;
            break;
        case 'p':
            o.policy = optarg;
            break;
        case O_CERT:
            o.tls_cert = optarg;
            break;
        case O_KEY:
            o.tls_key = optarg;
            break;
        case O_CA:
            o.tls_ca = optarg;
            break;
        case O_STATUS:
            status_dir = optarg;
            break;
        case O_ASSESS:
            o.assessment = optarg;
            break;
        case O_MAXC: {
            long n;
            if (dbg_parse_long(optarg, 1, 4096, &n) != 0)
                return dbg_cli_usage_error(CMD, "--max-conns '%s': a number from 1 to 4096",
                                           optarg);
            o.max_conns = (int)n;
            break;
        }
        case O_KA_IDLE: {
            long n;
            if (dbg_parse_long(optarg, 1, 3600, &n) != 0)
                return dbg_cli_usage_error(CMD, "--keepalive-timeout '%s': seconds from 1 to 3600",
                                           optarg);
            o.keepalive_idle_s = (int)n;
            break;
        }
        case O_KA_MAX: {
            long n;
            if (dbg_parse_long(optarg, 1, 100000, &n) != 0)
                return dbg_cli_usage_error(CMD,
                                           "--keepalive-requests '%s': a number from 1 to 100000",
                                           optarg);
            o.keepalive_max = (int)n;
            break;
        }
        case O_READERS: {
            long n;
            if (dbg_parse_long(optarg, 1, 32, &n) != 0)
                return dbg_cli_usage_error(CMD, "--store-readers '%s': a number from 1 to 32",
                                           optarg);
            o.store_readers = (int)n;
            break;
        }
        default:
            return dbg_cli_bad_option(CMD, argv);
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error(CMD, "unexpected argument '%s'", argv[optind]);
    if (!o.listen && !o.socket_path)
        return dbg_cli_usage_error(CMD, "give --listen ADDR:PORT (HTTPS) and/or --socket PATH");
    if (o.listen && (!o.tls_cert || !o.tls_key || !o.tls_ca))
        return dbg_cli_usage_error(CMD, "--listen needs --tls-cert, --tls-key and --tls-ca "
                                        "(clients must present a certificate from that CA)");
    if (!o.listen && (o.tls_cert || o.tls_key || o.tls_ca))
        return dbg_cli_usage_error(CMD, "--tls-cert/--tls-key/--tls-ca are for --listen");

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by every server thread */
    signal(SIGPIPE, SIG_IGN);

    dbg_server *srv = dbg_server_start(&o);
    if (!srv)
        return dbg_err_code() == DBG_ERR_USAGE ? dbg_cli_usage_error(CMD, "%s", dbg_err_msg())
                                               : dbg_cli_runtime_error(CMD);
    char port[16] = "";
    if (o.listen)
        snprintf(port, sizeof(port), "%d", dbg_server_port(srv));
    fprintf(stderr, "dengbao serve: running:%s%s%s%s store %s, pid %d\n",
            o.listen ? " https port " : "", port, o.socket_path ? " socket " : "",
            o.socket_path ? o.socket_path : "", dbg_server_backend(srv), (int)getpid());
    write_status(status_dir, srv, &o, 0);
    int64_t last = dbg_monotonic_us();
    for (;;) {
        struct timespec ts = {1, 0};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig < 0 && errno != EAGAIN && errno != EINTR) {
            fprintf(stderr, "dengbao serve: sigtimedwait: %s\n", strerror(errno));
            break;
        }
        if (dbg_monotonic_us() - last >= (int64_t)STATUS_EVERY_S * 1000000) {
            write_status(status_dir, srv, &o, 0);
            last = dbg_monotonic_us();
        }
    }
    fprintf(stderr, "dengbao serve: stopping\n");
    write_status(status_dir, srv, &o, 1);
    dbg_server_stop(srv);
    return DBG_EXIT_OK;
}
