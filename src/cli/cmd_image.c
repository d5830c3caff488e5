/* `dengbao image`: seal, verify, scan, migrate-check, correlate and info for VM images and
 * snapshots. Argument parsing and output only; the work is in src/integrity and src/malware. */
#include <getopt.h>
#include <pwd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dengbao/alert.h"
#include "dengbao/audit.h"
#include "dengbao/integrity.h"
#include "dengbao/malware.h"

#define DEFAULT_STATUS_DIR "/run/dengbao/status"

static void usage(void)
{
    printf(
        "Usage: dengbao image seal FILE... --key FILE [--manifest-dir DIR] [--status-dir DIR]\n"
        "                  [--image-format raw|qcow2] [--threads N] [--chunk-size BYTES]\n"
        "                  [--audit-log DIR --audit-key FILE]\n"
        "       dengbao image verify FILE... [--pubkey FILE] [--manifest-dir DIR]\n"
        "                  [--status-dir DIR] [--eve FILE] [--syslog TARGET]\n"
        "                  [--image-format raw|qcow2] [--threads N]\n"
        "                  [--audit-log DIR --audit-key FILE]\n"
        "       dengbao image scan FILE... [--rules DIR] [--eve FILE] [--syslog TARGET]\n"
        "                  [--no-shipped-rules] [--vm-map FILE] [--sensor-eve FILE]\n"
        "                  [--window BYTES] [--overlap BYTES] [--image-format raw|qcow2]\n"
        "                  [--threads N] [--status-dir DIR]\n"
        "       dengbao image correlate --findings FILE... --sensor-eve FILE [--vm-map FILE]\n"
        "                  [--eve FILE] [--syslog TARGET]\n"
        "       dengbao image migrate-check --source A --dest B [--repair]\n"
        "                  [--image-format raw|qcow2] [--dest-image-format raw|qcow2]\n"
        "                  [--threads N] [--chunk-size BYTES]\n"
        "       dengbao image info FILE... [--image-format raw|qcow2] [--threads N]\n"
        "                  [--chunk-size BYTES]\n"
        "All: [--format text|json] [--no-progress]. Any other option is a usage error.\n"
        "TARGET (--syslog): unix:PATH or udp:HOST:PORT, each alert also as RFC 5424 syslog,\n"
        "beside or instead of --eve; ',pen=N' after it: your IANA Private Enterprise Number\n"
        "for the SD-ID dengbao@N (default 32473, IANA's example number for documentation).\n"
        "--audit-log/--audit-key: each seal and verify is also an audit record.\n"
        "--status-dir: seal writes image_seals.json there (default /run/dengbao/status),\n"
        "verify only when given, listing the images of the run merged with earlier runs'\n"
        "(a run replaces its images' entries, so batches add up; assessment compares the\n"
        "list with the VMs' disks); scan writes malware.json (same default).\n\n"
        "seal      hashes each image's guest-visible content (qcow2 or raw) as a Merkle tree of\n"
        "          1 MiB chunks on all cores, plus the container file, each backing layer and\n"
        "          each internal snapshot, signs the manifest with Ed25519 (--key, PEM from\n"
        "          `openssl genpkey -algorithm ed25519`) and writes FILE" DBG_SEAL_SUFFIX " (or into\n"
        "          --manifest-dir). Updates the image_seals status file. The content is read as\n"
        "          --image-format; without it the format is probed (said in the output and\n"
        "          recorded in the manifest).\n"
        "verify    re-hashes and compares: exit 0 intact, 1 mismatch (names the first changed\n"
        "          ranges and whether the content or only the container changed) or a\n"
        "          manifest that does not hold (unreadable, signature bad, signed by a key\n"
        "          other than --pubkey, sealing another path), 3 error (no manifest, image\n"
        "          missing or unreadable, or written while being verified).\n"
        "          The content is read in the format the manifest was sealed in, never probed\n"
        "          again; --image-format other than that format is an error (exit 3).\n"
        "scan      YARA rules (shipped data/rules/yara plus --rules DIR) over the guest content\n"
        "          of each image in overlapping windows; exit 1 when something is found. --vm-map\n"
        "          FILE lines 'PATH VM IP' name the VMs; with --sensor-eve, infections are\n"
        "          correlated with the sensor's contacts into 'malware spread A -> B' incidents.\n"
        "          Each --window (default 16 MiB) is scanned with the next --overlap bytes\n"
        "          (default 64 KiB): a match up to that long across a border is found once, a\n"
        "          longer one can be missed; --overlap 0 (no border match found) is refused.\n"
        "          The content is read as --image-format; without it the format is probed (said\n"
        "          in the output) and a file probed as qcow2 is also scanned as raw bytes.\n"
        "correlate the same correlation over saved `scan --format json` outputs (exit 1 when\n"
        "          an incident is found).\n"
        "migrate-check compares source and destination chunk by chunk (exit 1 when they differ);\n"
        "          --repair copies the differing source ranges over and re-verifies. Both are\n"
        "          read as --image-format (the destination as --dest-image-format when given);\n"
        "          a side without one is probed (said in the output). After a repair, or a\n"
        "          repair that failed (exit 3, with why), the ranges that still differ are\n"
        "          listed ('still range', JSON still_ranges): the source changed since it was\n"
        "          read, or the destination could not be written.\n"
        "info      format, sizes, backing chain and internal snapshots, read as --image-format\n"
        "          or probed (format_probed), and the format the file's first bytes claim\n"
        "          (header_format): one JSON object per image, on one line (indented with\n"
        "          --format json).\n"
        "A raw disk's guest can write a qcow2 header over the start of its own disk; a probe then\n"
        "reads guest-made metadata (and any backing file it names) instead of the disk, so give\n"
        "--image-format (libvirt's <driver type>) for guest disks.\n"
        "Exit codes: 0 ok, 1 findings (as above), 2 usage, 3 error.\n");
}

typedef struct {
    dbg_format format;
    int threads;
    uint64_t chunk;
    int progress;
    const char *key, *pubkey, *manifest_dir, *status_dir, *eve, *syslog, *audit_dir, *audit_key;
    int status_dir_given;
    const char **rules;
    size_t n_rules;
    int no_shipped;
    const char *vm_map, *sensor_eve;
    uint64_t window, overlap;
    const char *source, *dest;
    const char *image_format;      /* declared image format; NULL = probe */
    const char *dest_image_format; /* migrate-check: the destination's, when it differs */
    int repair;
    const char **findings;
    size_t n_findings;
} image_args;

/* ------------------------------------------------------------------ audit ---- */
/* Every seal and verify is an audit record when --audit-log/--audit-key are given. */
typedef struct {
    dbg_audit_log *log;
    char actor[96];
    char source[48];
} image_audit;

static int image_audit_open(image_audit *au, const char *dir, const char *key)
{
    memset(au, 0, sizeof(*au));
    if (!dir)
        return 0;
    uid_t uid = getuid();
    struct passwd *pw = getpwuid(uid);
    snprintf(au->actor, sizeof(au->actor), "uid:%u(%s)", (unsigned)uid, pw ? pw->pw_name : "?");
    snprintf(au->source, sizeof(au->source), "unix:uid=%u", (unsigned)uid);
    dbg_audit_opts o = {.dir = dir, .key_path = key, .durable = 1};
    au->log = dbg_audit_open(&o);
    return au->log ? 0 : -1;
}

/* why: a sentence for details.detail; details_json: an object to use as is (or NULL). */
static int image_audit_record(image_audit *au, const char *action, const char *target,
                              const char *outcome, const char *why, json_t *details)
{
    if (!au->log) {
        json_decref(details);
        return 0;
    }
    if (!details)
        details = json_object();
    if (why)
        json_object_set_new(details, "detail", json_string(why));
    char *dj = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(details);
    dbg_audit_record rec = {.actor = au->actor, .role = "operator", .tenant = "",
                            .action = action, .target_type = "image", .target_name = target,
                            .target_uuid = "", .outcome = outcome, .source = au->source,
                            .details_json = dj};
    uint64_t seq = 0;
    int r = dbg_audit_append(au->log, &rec, &seq);
    if (r < 0)
        fprintf(stderr, "dengbao image: audit record not written: %s\n", dbg_err_msg());
    free(dj);
    return r;
}

static int image_audit_close(image_audit *au)
{
    if (!au->log)
        return 0;
    int r = dbg_audit_close(au->log);
    au->log = NULL;
    return r;
}

/* ------------------------------------------------------------------ progress ---- */
typedef struct {
    const char *label;
    int64_t start_us;
} progress_state;

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    progress_state *p = ctx;
    double secs = (double)(dbg_monotonic_us() - p->start_us) / 1e6;
    double rate = secs > 0 ? (double)done / secs : 0;
    double eta = rate > 0 ? (double)(total - done) / rate : 0;
    int width = 30, filled = total ? (int)((double)done / (double)total * width) : width;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r%-24.24s [%s] %6.1f/%.1f MiB %7.1f MB/s ETA %3.0fs", p->label, bar,
            (double)done / 1048576.0, (double)total / 1048576.0, rate / 1e6, eta);
    if (done >= total)
        fputc('\n', stderr);
}

static void setup_progress(const image_args *a, progress_state *ps, const char *label,
                           dbg_progress_fn *fn, void **ctx)
{
    ps->label = label;
    ps->start_us = dbg_monotonic_us();
    if (a->progress && isatty(STDERR_FILENO)) {
        *fn = progress_cb;
        *ctx = ps;
    } else {
        *fn = NULL;
        *ctx = NULL;
    }
}

/* ------------------------------------------------------------------ parsing ---- */
#define CHUNK_NEED "a power of two in 4096..2^30"
#define WINDOW_NEED                                                                                \
    "a window of 4 KiB..1 GiB in whole 4 KiB pages and an overlap no longer than the window"
/* need: what the option takes, said for any value that is not one (the same words as the range
 * checks after parsing: "--chunk-size 0" said "not a whole number in 1..1099511627776", and
 * "--chunk-size 1000" "need a power of two in 4096..2^30"). */
static int parse_size(const char *cmd, const char *opt, const char *v, const char *need,
                      uint64_t *out)
{
    long n;
    if (dbg_parse_long(v, 1, (long)1 << 40, &n) < 0)
        return dbg_cli_usage_error(cmd, "%s %s: need %s", opt, v, need);
    *out = (uint64_t)n;
    return 0;
}

static int push_str(const char ***arr, size_t *n, const char *s)
{
    const char **na = dbg_reallocarray(*arr, *n + 1, sizeof(*na));
    if (!na)
        return -1;
    na[(*n)++] = s;
    *arr = na;
    return 0;
}

/* The options each subcommand takes, all of them with --format and --no-progress (see usage()).
 * Any other is a usage error: one taken and ignored reads as done (`verify --key K`, the sealing
 * key where the public key belongs, verified against the key the manifest carries; `scan
 * --audit-log D` recorded nothing in D). */
#define COMMON_OPTS "format", "no-progress", "help"
static const char *const seal_opts[] = {COMMON_OPTS,    "key",     "manifest-dir", "status-dir",
                                        "image-format", "threads", "chunk-size",   "audit-log",
                                        "audit-key",    NULL};
static const char *const verify_opts[] = {
    COMMON_OPTS,    "pubkey",  "manifest-dir", "status-dir", "eve", "syslog",
    "image-format", "threads", "audit-log",    "audit-key",  NULL};
static const char *const scan_opts[] = {
    COMMON_OPTS, "rules",   "no-shipped-rules", "eve",     "syslog",     "vm-map", "sensor-eve",
    "window",    "overlap", "image-format",     "threads", "status-dir", NULL};
static const char *const correlate_opts[] = {COMMON_OPTS, "findings", "sensor-eve", "vm-map",
                                             "eve",       "syslog",   NULL};
static const char *const migrate_opts[] = {COMMON_OPTS, "source",       "dest",
                                           "repair",    "image-format", "dest-image-format",
                                           "threads",   "chunk-size",   NULL};
static const char *const info_opts[] = {COMMON_OPTS, "image-format", "threads", "chunk-size", NULL};

/* Parses the options of one subcommand (takes: the ones it accepts, COMMON_OPTS among them);
 * positional arguments stay in argv[optind..]. */
static int parse_options(const char *cmd, const char *const *takes, int argc, char **argv,
                         image_args *a)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},     {"threads", required_argument, NULL, 'j'},
        {"chunk-size", required_argument, NULL, 'C'}, {"no-progress", no_argument, NULL, 'P'},
        {"key", required_argument, NULL, 'k'},        {"pubkey", required_argument, NULL, 'p'},
        {"manifest-dir", required_argument, NULL, 'm'},
        {"status-dir", required_argument, NULL, 'S'}, {"eve", required_argument, NULL, 'E'},
        {"syslog", required_argument, NULL, 'Y'},
        {"audit-log", required_argument, NULL, 'A'}, {"audit-key", required_argument, NULL, 'K'},
        {"rules", required_argument, NULL, 'r'},      {"no-shipped-rules", no_argument, NULL, 'N'},
        {"vm-map", required_argument, NULL, 'M'},     {"sensor-eve", required_argument, NULL, 'e'},
        {"window", required_argument, NULL, 'W'},     {"overlap", required_argument, NULL, 'O'},
        {"source", required_argument, NULL, 's'},     {"dest", required_argument, NULL, 'd'},
        {"repair", no_argument, NULL, 'R'},           {"findings", required_argument, NULL, 'F'},
        {"image-format", required_argument, NULL, 'I'},
        {"dest-image-format", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},             {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->progress = 1;
    a->status_dir = DEFAULT_STATUS_DIR;
    int c;
    long n;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "hj:", opts, NULL)) != -1) {
        if (!dbg_cli_option_taken(opts, takes, c)) {
            dbg_cli_option_refused(cmd, NULL, opts, c,
                                   c == 'k' && dbg_cli_option_taken(opts, takes, 'p')
                                       ? " (the public key to verify against is --pubkey FILE)"
                                       : NULL);
            return -1;
        }
        switch (c) {
        case 'f':
            if (dbg_cli_parse_format(cmd, optarg, 1u << DBG_FORMAT_TEXT | 1u << DBG_FORMAT_JSON,
                                     &a->format) < 0)
                return -1;
            break;
        case 'j':
            if (dbg_parse_long(optarg, 1, 64, &n) < 0)
                return dbg_cli_usage_error(cmd, "--threads: %s", dbg_err_msg()), -1;
            a->threads = (int)n;
            break;
        case 'C':
            if (parse_size(cmd, "--chunk-size", optarg, CHUNK_NEED, &a->chunk))
                return -1;
            break;
        case 'P': a->progress = 0; break;
        case 'k': a->key = optarg; break;
        case 'p': a->pubkey = optarg; break;
        case 'm': a->manifest_dir = optarg; break;
        case 'S':
            a->status_dir = optarg;
            a->status_dir_given = 1;
            break;
        case 'E': a->eve = optarg; break;
        case 'Y': a->syslog = optarg; break;
        case 'A': a->audit_dir = optarg; break;
        case 'K': a->audit_key = optarg; break;
        case 'r':
            if (push_str(&a->rules, &a->n_rules, optarg) < 0)
                return -1;
            break;
        case 'N': a->no_shipped = 1; break;
        case 'M': a->vm_map = optarg; break;
        case 'e': a->sensor_eve = optarg; break;
        case 'W':
            if (parse_size(cmd, "--window", optarg, WINDOW_NEED, &a->window))
                return -1;
            break;
        case 'O':
            /* 0 is the library's "default", and to a user "no overlap", which would find no
             * match across a window border: neither is what --overlap 0 should silently do */
            if (dbg_parse_long(optarg, 0, 0, &(long){0}) == 0) { /* "0", "00", ... */
                dbg_cli_usage_error(cmd, "--overlap 0: with no overlap a match that crosses a "
                                    "window border is never found; give the longest match to "
                                    "find across borders in bytes (default %llu), or leave "
                                    "--overlap out", (unsigned long long)DBG_SCAN_OVERLAP_DEFAULT);
                return -1;
            }
            if (parse_size(cmd, "--overlap", optarg, WINDOW_NEED, &a->overlap))
                return -1;
            break;
        case 's': a->source = optarg; break;
        case 'd': a->dest = optarg; break;
        case 'R': a->repair = 1; break;
        case 'F':
            if (push_str(&a->findings, &a->n_findings, optarg) < 0)
                return -1;
            break;
        case 'I':
            if (dbg_cli_parse_image_format(cmd, "--image-format", optarg, &a->image_format))
                return -1;
            break;
        case 'G':
            if (dbg_cli_parse_image_format(cmd, "--dest-image-format", optarg,
                                           &a->dest_image_format))
                return -1;
            break;
        case 'h': usage(); return 1;
        default:
            dbg_cli_bad_option(cmd, argv);
            return -1;
        }
    }
    if ((a->audit_dir == NULL) != (a->audit_key == NULL)) {
        dbg_cli_usage_error(cmd, "--audit-log and --audit-key go together");
        return -1;
    }
    /* the library refuses these too, but a wrong option value is the caller's error (exit 2),
     * not a failed run (exit 3) */
    if (a->chunk && (a->chunk < 4096 || a->chunk > ((uint64_t)1 << 30) ||
                     (a->chunk & (a->chunk - 1)))) {
        dbg_cli_usage_error(cmd, "--chunk-size %llu: need " CHUNK_NEED,
                            (unsigned long long)a->chunk);
        return -1;
    }
    uint64_t window = a->window ? a->window : DBG_SCAN_WINDOW_DEFAULT;
    uint64_t overlap = a->overlap ? a->overlap : DBG_SCAN_OVERLAP_DEFAULT;
    if (window < 4096 || window > ((uint64_t)1 << 30) || window % 4096 || overlap > window) {
        dbg_cli_usage_error(cmd, "--window %llu / --overlap %llu: need " WINDOW_NEED,
                            (unsigned long long)window, (unsigned long long)overlap);
        return -1;
    }
    return 0;
}

static void free_args(image_args *a)
{
    free(a->rules);
    free(a->findings);
}

/* Every subcommand starts so: -1 to go on; else the exit code (after --help, or a usage error
 * said on stderr, "no image given" where need_image asks for an operand), the arguments freed. */
static int parse_args(const char *cmd, const char *const *takes, int need_image, int argc,
                      char **argv, image_args *a)
{
    int pr = parse_options(cmd, takes, argc, argv, a);
    if (pr == 0 && need_image && optind >= argc) {
        dbg_cli_usage_error(cmd, "no image given");
        pr = -1;
    }
    if (pr == 0)
        return -1;
    free_args(a);
    return pr > 0 ? DBG_EXIT_OK : DBG_EXIT_USAGE;
}

static dbg_alerter *open_alerter(const image_args *a)
{
    if (!a->eve && !a->syslog)
        return NULL;
    dbg_alerter *al = dbg_alerter_new(0);
    if (al && dbg_alerter_add_sinks(al, a->eve, a->syslog) < 0) {
        dbg_alerter_free(al);
        return NULL;
    }
    return al;
}

static void endpoint_image(dbg_endpoint *e, const char *vm, const char *ip)
{
    dbg_endpoint_clear(e);
    if (vm)
        snprintf(e->vm_name, sizeof(e->vm_name), "%s", vm);
    if (ip)
        snprintf(e->ip, sizeof(e->ip), "%s", ip);
}

/* One alert about an image (verify, scan): extra, a JSON object of its own (consumed), goes into
 * the EVE line; an alert that cannot be written is said on stderr and does not end the run. */
static void image_alert(dbg_alerter *al, const char *cmd, const char *type, dbg_severity sev,
                        const char *clause, const char *category, const char *vm, const char *ip,
                        const char *evidence, json_t *extra)
{
    dbg_alert alert;
    dbg_alert_init(&alert, type, sev, clause);
    snprintf(alert.category, sizeof(alert.category), "%s", category);
    endpoint_image(&alert.dst, vm, ip);
    alert.evidence = evidence;
    DBG_AUTOFREE char *text = extra ? json_dumps(extra, JSON_COMPACT) : NULL;
    json_decref(extra);
    alert.extra_json = text;
    if (dbg_alerter_emit(al, &alert) < 0)
        fprintf(stderr, "dengbao %s: alert not written: %s\n", cmd, dbg_err_msg());
}

/* ------------------------------------------------------------------ seal ---- */
static int cmd_seal(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image seal", seal_opts, 1, argc, argv, &a);
    if (pr >= 0)
        return pr;
    if (!a.key)
        return free_args(&a), dbg_cli_usage_error("image seal", "--key FILE is required (make one "
                                                  "with: openssl genpkey -algorithm ed25519 -out FILE)");
    int rc = DBG_EXIT_OK;
    /* A key that cannot be used fails every image alike and says nothing about them: refused
     * before the status would list each one seal_failed over its last good seal. */
    uint8_t priv[32], pub[32];
    int key_ok = dbg_ed25519_load_private(a.key, priv, pub);
    explicit_bzero(priv, sizeof(priv));
    if (key_ok < 0)
        return free_args(&a), dbg_cli_runtime_error("image seal");
    image_audit au;
    if (image_audit_open(&au, a.audit_dir, a.audit_key) < 0)
        return free_args(&a), dbg_cli_runtime_error("image seal");
    json_t *out = json_array();
    size_t sealed = 0;
    /* what the status lists: each image given, sealed or not */
    DBG_AUTOFREE dbg_seal_status_image *covered =
        dbg_calloc((size_t)(argc - optind), sizeof(*covered));
    if (!covered) {
        json_decref(out);
        image_audit_close(&au);
        return free_args(&a), dbg_cli_runtime_error("image seal");
    }
    for (int i = optind; i < argc; i++) {
        progress_state ps;
        covered[i - optind] = (dbg_seal_status_image){argv[i], "seal_failed"};
        dbg_seal_opts so = {.key_path = a.key, .manifest_dir = a.manifest_dir,
                            .format = a.image_format};
        so.hash.threads = a.threads;
        so.hash.chunk_size = a.chunk;
        setup_progress(&a, &ps, argv[i], &so.hash.progress, &so.hash.progress_ctx);
        dbg_seal_info info;
        if (dbg_image_seal(argv[i], &so, &info) < 0) {
            fprintf(stderr, "dengbao image seal: %s\n", dbg_err_msg());
            image_audit_record(&au, "image.seal", argv[i], "failure", dbg_err_msg(), NULL);
            rc = DBG_EXIT_RUNTIME;
            continue;
        }
        sealed++;
        covered[i - optind].state = "sealed";
        json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:b}", "manifest", info.manifest_path,
                                    "content_root", info.content_root, "container_root",
                                    info.container_root, "format", info.format, "format_probed",
                                    info.format_probed);
        if (image_audit_record(&au, "image.seal", argv[i], "success", NULL, details) < 0)
            rc = DBG_EXIT_RUNTIME;
        if (a.format == DBG_FORMAT_JSON) {
            json_array_append_new(out, json_pack(
                "{s:s, s:s, s:s, s:b, s:I, s:I, s:s, s:s, s:I, s:I}", "image", argv[i],
                "manifest", info.manifest_path, "format", info.format, "format_probed",
                info.format_probed, "virtual_size", (json_int_t)info.virtual_size,
                "container_size", (json_int_t)info.container_size, "content_root",
                info.content_root, "container_root", info.container_root, "backing_layers",
                (json_int_t)info.n_backing, "snapshots", (json_int_t)info.n_snapshots));
        } else {
            printf("sealed %s (%s, %llu bytes virtual, %zu backing layer%s, %zu snapshot%s)\n"
                   "  content root   %s\n  container root %s\n  manifest       %s\n"
                   "  format         %s %s\n",
                   argv[i], info.format, (unsigned long long)info.virtual_size, info.n_backing,
                   info.n_backing == 1 ? "" : "s", info.n_snapshots,
                   info.n_snapshots == 1 ? "" : "s", info.content_root, info.container_root,
                   info.manifest_path, info.format, info.format_probed ? "probed" : "declared");
        }
        dbg_seal_info_free(&info);
    }
    if (a.format == DBG_FORMAT_JSON)
        dbg_cli_print_json(out, JSON_INDENT(2));
    json_decref(out);
    /* A seal that failed is recorded too: the image's last seal no longer shows its state. */
    size_t failed = (size_t)(argc - optind) - sealed;
    DBG_AUTOFREE char *detail =
        failed ? dbg_asprintf("%zu image(s) sealed, %zu SEAL FAILED, last %s", sealed, failed,
                              argv[argc - 1])
               : dbg_asprintf("%zu image(s) sealed, last %s", sealed, argv[argc - 1]);
    /* a warning, as before: sealing itself succeeded (a status directory the user may not
     * write is common outside a host's service account) */
    if (!detail || dbg_integrity_write_status(a.status_dir, detail, sealed, 0, 0, 0, covered,
                                              (size_t)(argc - optind)) < 0)
        fprintf(stderr, "dengbao image seal: warning: status file not written: %s\n",
                dbg_err_msg());
    if (image_audit_close(&au) < 0)
        rc = dbg_cli_runtime_error("image seal");
    free_args(&a);
    return rc;
}

/* ------------------------------------------------------------------ verify ---- */
static const char *status_name(dbg_verify_status s)
{
    return s == DBG_VERIFY_INTACT ? "intact" : s == DBG_VERIFY_MISMATCH ? "mismatch" : "bad_manifest";
}

static int cmd_verify(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image verify", verify_opts, 1, argc, argv, &a);
    if (pr >= 0)
        return pr;
    image_audit au;
    if (image_audit_open(&au, a.audit_dir, a.audit_key) < 0)
        return free_args(&a), dbg_cli_runtime_error("image verify");
    dbg_alerter *al = NULL;
    if ((a.eve || a.syslog) && !(al = open_alerter(&a))) {
        image_audit_close(&au);
        return free_args(&a), dbg_cli_runtime_error("image verify");
    }
    int any_mismatch = 0, any_error = 0;
    size_t verified = 0, unverified = 0;
    DBG_AUTOFREE char *first_unverified = NULL;
    DBG_AUTOFREE dbg_seal_status_image *covered =
        dbg_calloc((size_t)(argc - optind), sizeof(*covered));
    if (!covered) {
        dbg_alerter_free(al);
        image_audit_close(&au);
        return free_args(&a), dbg_cli_runtime_error("image verify");
    }
    json_t *out = json_array();
    for (int i = optind; i < argc; i++) {
        progress_state ps;
        covered[i - optind] = (dbg_seal_status_image){argv[i], "unverified"};
        dbg_seal_opts so = {.pubkey_path = a.pubkey, .manifest_dir = a.manifest_dir,
                            .format = a.image_format};
        so.hash.threads = a.threads;
        setup_progress(&a, &ps, argv[i], &so.hash.progress, &so.hash.progress_ctx);
        dbg_verify_result v;
        if (dbg_image_verify_file(argv[i], &so, &v) < 0) {
            fprintf(stderr, "dengbao image verify: %s\n", dbg_err_msg());
            image_audit_record(&au, "image.verify", argv[i], "failure", dbg_err_msg(), NULL);
            if (a.format == DBG_FORMAT_JSON)
                json_array_append_new(out, json_pack("{s:s, s:s, s:s}", "image", argv[i], "status",
                                                     "error", "detail", dbg_err_msg()));
            if (!unverified++)
                first_unverified = dbg_strdup(dbg_err_msg());
            any_error = 1;
            /* A deleted manifest or an unreadable image hides a change as well as a mismatch
             * would: the SIEM hears of it too, not only the operator's terminal. */
            if (al)
                image_alert(al, "image verify", "image_unverifiable", DBG_SEV_MEDIUM, "8.2.4.4b",
                            "Image or snapshot integrity not verifiable", NULL, NULL,
                            dbg_err_msg(),
                            json_pack("{s:{s:s, s:s}}", "image", "path", argv[i], "status",
                                      "error"));
            continue;
        }
        verified++;
        const char *st = status_name(v.status);
        covered[i - optind].state = st;
        if (v.status != DBG_VERIFY_INTACT) {
            any_mismatch = 1;
            if (al)
                image_alert(al, "image verify", "image_integrity_mismatch", DBG_SEV_HIGH,
                            "8.2.4.4b", "Image or snapshot tampering", NULL, NULL, v.detail,
                            json_pack("{s:{s:s, s:s, s:b, s:b}}", "image", "path", argv[i],
                                      "status", st, "content_changed", v.content_changed,
                                      "container_changed", v.container_changed));
        }
        if (image_audit_record(&au, "image.verify", argv[i],
                               v.status == DBG_VERIFY_INTACT ? "success" : "detected", v.detail,
                               json_pack("{s:s}", "status", st)) < 0)
            any_error = 1;
        if (a.format == DBG_FORMAT_JSON) {
            json_t *o = json_pack(
                "{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o, s:b, s:o, s:b}", "image", argv[i],
                "status", st, "detail", v.detail ? v.detail : "", "content_changed",
                v.content_changed, "container_changed", v.container_changed, "size_changed",
                v.size_changed, "backing_changed", v.backing_changed, "snapshot_changed",
                v.snapshot_changed, "content_ranges",
                dbg_cli_ranges_json(v.content_ranges, v.n_content_ranges),
                "content_ranges_truncated", v.content_ranges_truncated, "container_ranges",
                dbg_cli_ranges_json(v.container_ranges, v.n_container_ranges),
                "container_ranges_truncated", v.container_ranges_truncated);
            if (o && v.content_error)
                json_object_set_new(o, "content_error", json_string(v.content_error));
            if (o) {
                json_object_set_new(o, "format", v.format ? json_string(v.format) : json_null());
                json_object_set_new(o, "format_probed", json_boolean(v.format_probed));
            }
            json_array_append_new(out, o);
        } else {
            printf("%s: %s%s%s\n", argv[i], st == status_name(DBG_VERIFY_INTACT) ? "OK" : "MISMATCH",
                   v.status == DBG_VERIFY_INTACT ? "" : ": ",
                   v.status == DBG_VERIFY_INTACT ? "" : (v.detail ? v.detail : ""));
            dbg_cli_print_ranges("content   range", v.content_ranges, v.n_content_ranges, SIZE_MAX);
            dbg_cli_print_ranges("container range", v.container_ranges, v.n_container_ranges,
                                 SIZE_MAX);
            if (v.format_probed)
                printf("%s: format %s probed when sealed\n", argv[i], v.format);
        }
        dbg_verify_result_free(&v);
    }
    if (a.format == DBG_FORMAT_JSON)
        dbg_cli_print_json(out, JSON_INDENT(2));
    json_decref(out);
    dbg_alerter_free(al);
    /* Verification refreshes the status only where asked to; sealing always records. An image
     * that could not be verified (no manifest, unreadable) is not shown intact: the status says
     * so, rather than "all intact" over the others or the last seal's record left standing. */
    if (a.status_dir_given && (verified || unverified)) {
        DBG_AUTOFREE char *detail =
            unverified ? dbg_asprintf("%zu image(s) verified%s; %zu NOT VERIFIED (first: %s)",
                                      verified, !verified      ? ""
                                                : any_mismatch ? ", MISMATCH found"
                                                               : ", intact",
                                      unverified, first_unverified ? first_unverified : "?")
                       : dbg_asprintf("%zu image(s) verified, %s", verified,
                                      any_mismatch ? "MISMATCH found" : "all intact");
        if (!detail || dbg_integrity_write_status(a.status_dir, detail, 0, verified, any_mismatch,
                                                  unverified, covered, (size_t)(argc - optind)) < 0)
            fprintf(stderr, "dengbao image verify: warning: status file not written: %s\n",
                    dbg_err_msg());
    }
    int rc = any_error ? DBG_EXIT_RUNTIME : any_mismatch ? DBG_EXIT_FINDINGS : DBG_EXIT_OK;
    if (image_audit_close(&au) < 0)
        rc = dbg_cli_runtime_error("image verify");
    free_args(&a);
    return rc;
}

/* ------------------------------------------------------------------ scan ---- */
typedef struct {
    char *path, *vm, *ip;
} vm_entry;

static void free_vm_map(vm_entry *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].path);
        free(m[i].vm);
        free(m[i].ip);
    }
    free(m);
}

/* Lines "PATH VM IP" ('#' comments); PATH names the image as given on the command line or
 * any other path to the same file. */
static int load_vm_map(const char *path, vm_entry **out, size_t *n)
{
    DBG_AUTOFREE char *text = NULL;
    *out = NULL;
    *n = 0;
    if (dbg_read_file(path, 1 << 20, &text, NULL) < 0)
        return -1;
    int lineno = 0;
    for (char *line = text, *next; line; line = next) { /* every line counts, empty ones too */
        lineno++;
        if ((next = strchr(line, '\n')))
            *next++ = 0;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char *s2 = NULL;
        char *p = strtok_r(line, " \t\r", &s2), *vm = strtok_r(NULL, " \t\r", &s2),
             *ip = strtok_r(NULL, " \t\r", &s2);
        if (!p)
            continue;
        /* an address the sensor never reports would silently match no contact */
        if (!vm || !ip || strtok_r(NULL, " \t\r", &s2) || !dbg_cli_ip_ok(ip)) {
            dbg_err_set(DBG_ERR_PARSE, "%s:%d: expected 'PATH VM IP' (IP an IPv4 or IPv6 "
                        "address)", path, lineno);
            free_vm_map(*out, *n);
            *out = NULL;
            *n = 0;
            return -1;
        }
        vm_entry *na = dbg_reallocarray(*out, *n + 1, sizeof(*na));
        if (!na)
            return -1;
        *out = na;
        na[*n].path = dbg_strdup(p);
        na[*n].vm = dbg_strdup(vm);
        na[*n].ip = dbg_strdup(ip);
        (*n)++;
    }
    return 0;
}

/* Same file: equal as written, or the same device and inode (`./a.raw` for `a.raw`, an
 * absolute path, a symlink). A map line that names the image another way used to leave it
 * without VM and IP, so its infection matched no sensor contact and no spread was reported. */
static int same_image(const char *a, const char *b)
{
    struct stat sa, sb;
    return strcmp(a, b) == 0 || (stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
                                 sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino);
}

static json_t *contact_json(const dbg_contact *c)
{
    char when[40] = "";
    if (c->time_us)
        dbg_time_rfc3339(c->time_us, when, sizeof(when));
    return json_pack("{s:s?, s:s?, s:s?, s:s?, s:s, s:s, s:I}", "src_ip", c->src_ip, "dest_ip",
                     c->dst_ip, "src_vm", c->src_vm, "dest_vm", c->dst_vm, "signature",
                     c->signature, "time", when, "count", (json_int_t)c->count);
}

static const char *who(const dbg_infection *x)
{
    return x->vm ? x->vm : x->ip ? x->ip : x->image ? x->image : "?";
}

/* Correlates, prints, and raises alerts. Returns 1 when an incident was found, -1 error. */
static const char *vm_by_ip(const vm_entry *map, size_t n_map, const char *ip)
{
    for (size_t i = 0; ip && i < n_map; i++)
        if (strcmp(map[i].ip, ip) == 0)
            return map[i].vm;
    return NULL;
}

static int correlate_and_report(const image_args *a, dbg_infection *inf, size_t n_inf,
                                const vm_entry *map, size_t n_map, dbg_alerter *al,
                                json_t *json_out)
{
    dbg_contact *contacts = NULL;
    size_t n_contacts = 0;
    dbg_eve_skipped skipped;
    if (dbg_contacts_load_eve(a->sensor_eve, &contacts, &n_contacts, &skipped) < 0)
        return -1;
    if (skipped.lines)
        fprintf(stderr,
                "dengbao image: %s: %zu damaged line(s) skipped, not used for spread "
                "correlation; the first, line %zu: %s\n",
                a->sensor_eve, skipped.lines, skipped.first_line, skipped.first_why);
    dbg_spread_result res;
    if (dbg_spread_correlate(inf, n_inf, contacts, n_contacts, &res) < 0) {
        dbg_contacts_free(contacts, n_contacts);
        return -1;
    }
    json_t *incidents = json_array(), *suspects = json_array();
    for (size_t i = 0; i < res.n_incidents; i++) {
        const dbg_spread_incident *inc = &res.incidents[i];
        const dbg_infection *A = &inf[inc->from], *B = &inf[inc->to];
        json_t *fams = json_array(), *links = json_array();
        dbg_buf ev;
        dbg_buf_init(&ev, 1 << 16);
        dbg_buf_printf(&ev, "malware spread %s -> %s: families", who(A), who(B));
        for (size_t k = 0; k < inc->n_families; k++) {
            json_array_append_new(fams, json_string(inc->families[k]));
            dbg_buf_printf(&ev, " %s", inc->families[k]);
        }
        dbg_buf_printf(&ev, " found in %s (%s) and %s (%s); sensor saw", A->image ? A->image : "?",
                       who(A), B->image ? B->image : "?", who(B));
        for (size_t k = 0; k < inc->n_contacts; k++) {
            const dbg_contact *c = &contacts[inc->contacts[k]];
            json_array_append_new(links, contact_json(c));
            dbg_buf_printf(&ev, "%s %s %s -> %s", k ? "," : "", c->signature,
                           c->src_ip ? c->src_ip : "?", c->dst_ip ? c->dst_ip : "?");
        }
        if (a->format != DBG_FORMAT_JSON)
            printf("INCIDENT %s\n", ev.data);
        json_array_append_new(incidents, json_pack("{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:o, s:o, s:s}",
            "from_vm", A->vm, "from_ip", A->ip, "from_image", A->image, "to_vm", B->vm, "to_ip",
            B->ip, "to_image", B->image, "families", fams, "contacts", links, "summary", ev.data));
        if (al) {
            dbg_alert alert;
            dbg_alert_init(&alert, "malware_spread", DBG_SEV_HIGH, "8.2.4.3c");
            snprintf(alert.category, sizeof(alert.category), "Malware spread between VMs");
            endpoint_image(&alert.src, A->vm, A->ip);
            endpoint_image(&alert.dst, B->vm, B->ip);
            alert.count = inc->n_contacts;
            alert.evidence = ev.data;
            if (dbg_alerter_emit(al, &alert) < 0)
                fprintf(stderr, "dengbao image: alert not written: %s\n", dbg_err_msg());
        }
        dbg_buf_free(&ev);
    }
    for (size_t i = 0; i < res.n_suspects; i++) {
        const dbg_spread_suspect *s = &res.suspects[i];
        const dbg_infection *A = &inf[s->from];
        const char *svm = s->vm ? s->vm : vm_by_ip(map, n_map, s->ip);
        if (a->format != DBG_FORMAT_JSON)
            printf("SUSPECT %s%s%s%s: contacted by infected %s (%zu sensor event%s); scan it\n",
                   svm ? svm : "", svm && s->ip ? " (" : "", s->ip ? s->ip : "",
                   svm && s->ip ? ")" : "", who(A), s->n_contacts,
                   s->n_contacts == 1 ? "" : "s");
        json_array_append_new(suspects, json_pack("{s:s?, s:s?, s:s, s:I}", "vm", svm, "ip",
                                                  s->ip, "contacted_by", who(A), "contacts",
                                                  (json_int_t)s->n_contacts));
        if (al) {
            dbg_alert alert;
            dbg_alert_init(&alert, "malware_spread_suspect", DBG_SEV_MEDIUM, "8.2.4.3c");
            snprintf(alert.category, sizeof(alert.category), "VM contacted by an infected VM");
            endpoint_image(&alert.src, A->vm, A->ip);
            endpoint_image(&alert.dst, svm, s->ip);
            alert.count = s->n_contacts;
            if (dbg_alerter_emit(al, &alert) < 0)
                fprintf(stderr, "dengbao image: alert not written: %s\n", dbg_err_msg());
        }
    }
    json_object_set_new(json_out, "spread", json_pack("{s:o, s:o, s:I}", "incidents", incidents,
                                                      "suspects", suspects, "sensor_contacts",
                                                      (json_int_t)n_contacts));
    int found = res.n_incidents > 0;
    dbg_spread_result_free(&res);
    dbg_contacts_free(contacts, n_contacts);
    return found;
}

static void free_infections(dbg_infection *inf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dbg_infection_clear(&inf[i]);
    free(inf);
}

/* The "malware" control status, which 8.2.4.3c is judged from: malware scanning is deployed and
 * ran recently. An image that could not be scanned, or a spread correlation not done, is not
 * shown clean: without this record the last scan's "nothing found" stood for another 300 s. */
static void write_scan_status(const image_args *a, size_t scanned, size_t unscanned, int found,
                              const char *first_unscanned, const char *spread_error)
{
    DBG_AUTOFREE char *detail =
        unscanned ? dbg_asprintf("%zu image(s) scanned with YARA rules%s; %zu NOT SCANNED "
                                 "(first: %s)",
                                 scanned,
                                 !scanned ? ""
                                 : found  ? ", infection found"
                                          : ", nothing found",
                                 unscanned, first_unscanned ? first_unscanned : "?")
                  : dbg_asprintf("%zu image(s) scanned with YARA rules, %s", scanned,
                                 found ? "infection found" : "nothing found");
    if (detail && spread_error) {
        char *with = dbg_asprintf("%s; spread correlation NOT DONE (%s)", detail, spread_error);
        free(detail);
        detail = with;
    }
    if (!detail || dbg_control_write_status(a->status_dir, "malware",
                                            !found && !unscanned && !spread_error, detail) < 0)
        fprintf(stderr, "dengbao image scan: warning: status file not written: %s\n",
                dbg_err_msg());
}

static int cmd_scan(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image scan", scan_opts, 1, argc, argv, &a);
    if (pr >= 0)
        return pr;
    if (a.no_shipped && !a.n_rules)
        return free_args(&a), dbg_cli_usage_error("image scan", "--no-shipped-rules leaves no "
                                                  "rules: give --rules DIR");
    int rc = DBG_EXIT_OK, found = 0;
    size_t unscanned = 0;
    DBG_AUTOFREE char *first_unscanned = NULL, *spread_error = NULL;
    vm_entry *map = NULL;
    size_t n_map = 0;
    dbg_alerter *al = NULL;
    dbg_malware_rules *rules = NULL;
    dbg_infection *inf = NULL;
    size_t n_inf = 0;
    json_t *root = json_object(), *scans = json_array();
    json_object_set_new(root, "scans", scans);
    if ((a.vm_map && load_vm_map(a.vm_map, &map, &n_map) < 0) ||
        ((a.eve || a.syslog) && !(al = open_alerter(&a))) ||
        !(rules = dbg_malware_rules_load(a.rules, a.n_rules, !a.no_shipped))) {
        /* Nothing is scanned, and the status says so: a cron scan whose rules stopped
         * compiling left the last run's "nothing found" standing. */
        first_unscanned = dbg_strdup(dbg_err_msg());
        rc = dbg_cli_runtime_error("image scan");
        unscanned = (size_t)(argc - optind);
        goto write_status;
    }
    fprintf(stderr, "dengbao image scan: %zu YARA rules; ClamAV: not built in (libclamav-dev is "
            "not a build dependency); deep file extraction: %s\n", dbg_malware_rules_count(rules),
            access("/usr/bin/guestfish", X_OK) == 0 ? "libguestfs present but deep mode not built"
                                                   : "skipped, libguestfs is not installed");
    for (int i = optind; i < argc; i++) {
        const char *vm = NULL, *ip = NULL;
        for (size_t k = 0; k < n_map; k++)
            if (same_image(map[k].path, argv[i])) {
                vm = map[k].vm;
                ip = map[k].ip;
            }
        if (a.vm_map && !vm)
            fprintf(stderr, "dengbao image scan: %s: no line of %s names this image: its "
                    "findings carry no VM or IP and match no sensor contact\n", argv[i],
                    a.vm_map);
        progress_state ps;
        dbg_scan_opts so = {.window = a.window, .overlap = a.overlap, .threads = a.threads,
                            .format = a.image_format};
        setup_progress(&a, &ps, argv[i], &so.progress, &so.progress_ctx);
        dbg_malware_report rep;
        if (dbg_malware_scan_image(rules, argv[i], &so, &rep) < 0) {
            fprintf(stderr, "dengbao image scan: %s\n", dbg_err_msg());
            if (!unscanned++)
                first_unscanned = dbg_strdup(dbg_err_msg());
            rc = DBG_EXIT_RUNTIME;
            continue;
        }
        json_array_append_new(scans, dbg_scan_result_json(&rep, vm, ip));
        if (rep.n_hits)
            found = 1;
        if (a.format != DBG_FORMAT_JSON) {
            if (!rep.n_hits)
                printf("%s: clean (%llu bytes scanned, format %s%s, %zu internal snapshot(s) "
                       "scanned)\n", argv[i], (unsigned long long)rep.scanned, rep.format,
                       rep.format_probed ? " probed" : "", rep.n_snapshots);
            for (size_t k = 0; k < rep.n_hits; k++) {
                const dbg_malware_hit *h = &rep.hits[k];
                printf("%s: FOUND %s (family %s%s) at offset %llu%s%s%s%s\n", argv[i], h->rule,
                       h->family, h->test_family ? ", test family" : "",
                       (unsigned long long)h->offset, h->found_in ? " of the " : "",
                       h->found_in ? h->found_in : "", h->description ? ": " : "",
                       h->description ? h->description : "");
            }
            if (rep.n_hits && rep.format_probed)
                printf("%s: format %s probed\n", argv[i], rep.format);
        }
        for (size_t k = 0; al && k < rep.n_hits; k++) {
            const dbg_malware_hit *h = &rep.hits[k];
            DBG_AUTOFREE char *evidence = dbg_asprintf(
                "%s: YARA rule %s (family %s%s) at %s offset %llu", argv[i], h->rule, h->family,
                h->test_family ? ", test family" : "", h->found_in ? h->found_in : "guest",
                (unsigned long long)h->offset);
            image_alert(al, "image scan", "malware_detected", DBG_SEV_HIGH, "8.2.4.3c",
                        "Malicious code in VM image", vm, ip, evidence,
                        json_pack("{s:{s:s, s:s, s:s, s:I, s:b}}", "malware", "image", argv[i],
                                  "rule", h->rule, "family", h->family, "offset",
                                  (json_int_t)h->offset, "test_family", h->test_family));
        }
        dbg_malware_report_free(&rep);
    }
    if (a.sensor_eve && (dbg_infections_from_scans(scans, "the scan", &inf, &n_inf) < 0 ||
                         correlate_and_report(&a, inf, n_inf, map, n_map, al, root) < 0)) {
        /* what the scan found still goes into the status: an infection left the last run's
         * "nothing found" standing when the sensor's file could not be read */
        spread_error = dbg_strdup(dbg_err_msg());
        rc = dbg_cli_runtime_error("image scan");
    } else if (a.format == DBG_FORMAT_JSON) {
        dbg_cli_print_json(root, JSON_INDENT(2));
    }
write_status:
    write_scan_status(&a, (size_t)(argc - optind) - unscanned, unscanned, found, first_unscanned,
                      spread_error);
    if (rc == DBG_EXIT_OK && found)
        rc = DBG_EXIT_FINDINGS;
    json_decref(root);
    free_infections(inf, n_inf);
    dbg_malware_rules_free(rules);
    dbg_alerter_free(al);
    free_vm_map(map, n_map);
    free_args(&a);
    return rc;
}

static int cmd_correlate(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image correlate", correlate_opts, 0, argc, argv, &a);
    if (pr >= 0)
        return pr;
    /* `--findings A B` (the help's FILE...): getopt leaves B among the operands. */
    for (int i = optind; i < argc; i++)
        if (push_str(&a.findings, &a.n_findings, argv[i]) < 0)
            return free_args(&a), dbg_cli_runtime_error("image correlate");
    if (!a.n_findings || !a.sensor_eve)
        return free_args(&a), dbg_cli_usage_error("image correlate", "need --findings FILE (from "
                                                  "`image scan --format json`) and --sensor-eve FILE");
    int rc = DBG_EXIT_OK;
    dbg_infection *inf = NULL;
    size_t n_inf = 0;
    dbg_alerter *al = NULL;
    vm_entry *map = NULL;
    size_t n_map = 0;
    json_t *root = json_object();
    for (size_t i = 0; i < a.n_findings; i++) {
        if (dbg_findings_load(a.findings[i], &inf, &n_inf) < 0) {
            rc = dbg_cli_runtime_error("image correlate");
            goto out;
        }
    }
    if ((a.eve || a.syslog) && !(al = open_alerter(&a))) {
        rc = dbg_cli_runtime_error("image correlate");
        goto out;
    }
    if (a.vm_map && load_vm_map(a.vm_map, &map, &n_map) < 0) {
        rc = dbg_cli_runtime_error("image correlate");
        goto out;
    }
    int found = correlate_and_report(&a, inf, n_inf, map, n_map, al, root);
    if (found < 0) {
        rc = dbg_cli_runtime_error("image correlate");
        goto out;
    }
    if (a.format == DBG_FORMAT_JSON)
        dbg_cli_print_json(root, JSON_INDENT(2));
    else if (!found)
        printf("no spread incident (%zu infected image(s))\n", n_inf);
    rc = found ? DBG_EXIT_FINDINGS : DBG_EXIT_OK;
out:
    dbg_alerter_free(al);
    json_decref(root);
    free_infections(inf, n_inf);
    free_vm_map(map, n_map);
    free_args(&a);
    return rc;
}

/* ------------------------------------------------------------------ migrate ---- */
static int cmd_migrate(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image migrate-check", migrate_opts, 0, argc, argv, &a);
    if (pr >= 0)
        return pr;
    if (!a.source || !a.dest || optind < argc)
        return free_args(&a), dbg_cli_usage_error("image migrate-check", "need --source A --dest B");
    progress_state ps;
    dbg_migrate_opts mo = {.repair = a.repair,
                           .source_format = a.image_format,
                           .dest_format =
                               a.dest_image_format ? a.dest_image_format : a.image_format};
    mo.hash.threads = a.threads;
    mo.hash.chunk_size = a.chunk;
    setup_progress(&a, &ps, "migrate-check", &mo.hash.progress, &mo.hash.progress_ctx);
    dbg_migrate_result res;
    if (dbg_migrate_check(a.source, a.dest, &mo, &res) < 0) {
        free_args(&a);
        return dbg_cli_runtime_error("image migrate-check");
    }
    /* after a repair: as re-verified; a repair that failed is a runtime error that still says
     * what differs */
    int rc = res.repair_error[0] ? DBG_EXIT_RUNTIME
             : res.identical     ? DBG_EXIT_OK
                                 : DBG_EXIT_FINDINGS;
    int reverified = res.repaired || res.repair_error[0];
    if (a.format == DBG_FORMAT_JSON) {
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:I, s:b, s:I, s:o, s:b, s:b, s:b, s:s, s:s}", "source", a.source,
            "dest", a.dest, "source_size", (json_int_t)res.source_size, "dest_size",
            (json_int_t)res.dest_size, "identical", res.identical, "differing_bytes",
            (json_int_t)res.differing_bytes, "ranges",
            dbg_cli_ranges_json(res.ranges, res.n_ranges), "ranges_truncated", res.ranges_truncated,
            "repaired", res.repaired, "repair_whole_file", res.repair_whole_file, "source_root",
            res.source_root, "dest_root", res.dest_root);
        if (o) {
            json_object_set_new(o, "source_format",
                                json_string(dbg_image_format_name(res.source_format)));
            json_object_set_new(o, "source_format_probed", json_boolean(res.source_format_probed));
            json_object_set_new(o, "dest_format",
                                json_string(dbg_image_format_name(res.dest_format)));
            json_object_set_new(o, "dest_format_probed", json_boolean(res.dest_format_probed));
            json_object_set_new(o, "repair_error",
                                res.repair_error[0] ? json_string(res.repair_error) : json_null());
            if (reverified) {
                json_object_set_new(o, "still_differing_bytes",
                                    json_integer((json_int_t)res.still_differing_bytes));
                json_object_set_new(o, "still_ranges",
                                    dbg_cli_ranges_json(res.still_ranges, res.n_still));
                json_object_set_new(o, "still_ranges_truncated", json_boolean(res.still_truncated));
            }
        }
        dbg_cli_print_json(o, JSON_INDENT(2));
        json_decref(o);
    } else {
        if (!res.n_ranges && res.source_size == res.dest_size)
            printf("identical: %s and %s (%llu bytes, root %s)\n", a.source, a.dest,
                   (unsigned long long)res.source_size, res.source_root);
        else
            printf("DIFFERENT: %llu bytes in %s%zu range%s (source %llu bytes, destination %llu)\n",
                   (unsigned long long)res.differing_bytes, res.ranges_truncated ? "more than " : "",
                   res.n_ranges, res.n_ranges == 1 && !res.ranges_truncated ? "" : "s",
                   (unsigned long long)res.source_size, (unsigned long long)res.dest_size);
        printf("  source format %s%s, destination format %s%s\n",
               dbg_image_format_name(res.source_format), res.source_format_probed ? " probed" : "",
               dbg_image_format_name(res.dest_format), res.dest_format_probed ? " probed" : "");
        dbg_cli_print_ranges("range", res.ranges, res.n_ranges, 50);
        if (res.n_ranges > 50 || res.ranges_truncated)
            printf("  (the first 50 ranges shown; --format json lists %zu)\n", res.n_ranges);
        if (res.repair_error[0])
            printf("repair of %s FAILED: %s\n", a.dest, res.repair_error);
        else if (res.repaired)
            printf("repaired %s%s; re-verified: %s (root %s)\n", a.dest,
                   res.repair_whole_file ? " (whole file copied)" : "",
                   res.identical ? "identical" : "STILL DIFFERENT", res.dest_root);
        if (reverified && !res.identical) {
            printf("still different: %llu bytes in %s%zu range%s\n",
                   (unsigned long long)res.still_differing_bytes,
                   res.still_truncated ? "more than " : "", res.n_still,
                   res.n_still == 1 && !res.still_truncated ? "" : "s");
            dbg_cli_print_ranges("still range", res.still_ranges, res.n_still, 50);
            if (res.n_still > 50 || res.still_truncated)
                printf("  (the first 50 still shown; --format json lists %zu)\n", res.n_still);
        }
    }
    if (res.repair_error[0])
        fprintf(stderr, "dengbao image migrate-check: repair of %s failed: %s; still different: "
                "%llu bytes in %s%zu range%s (listed on stdout)\n", a.dest, res.repair_error,
                (unsigned long long)res.still_differing_bytes, res.still_truncated ? "more than " : "",
                res.n_still, res.n_still == 1 && !res.still_truncated ? "" : "s");
    dbg_migrate_result_free(&res);
    free_args(&a);
    return rc;
}

/* ------------------------------------------------------------------ info ---- */
static int cmd_info(int argc, char **argv)
{
    image_args a;
    int pr = parse_args("image info", info_opts, 1, argc, argv, &a);
    if (pr >= 0)
        return pr;
    int rc = DBG_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        dbg_image_open_opts oo = {.format = a.image_format};
        dbg_image *img = dbg_image_open(argv[i], &oo);
        dbg_chunk_hashes h = {0};
        dbg_hash_opts ho = {.threads = a.threads, .chunk_size = a.chunk};
        if (!img || dbg_hash_image(img, &ho, &h) < 0) {
            fprintf(stderr, "dengbao image info: %s\n", dbg_err_msg());
            dbg_image_close(img);
            rc = DBG_EXIT_RUNTIME;
            continue;
        }
        char root[65];
        dbg_hex_encode(h.root, 32, root);
        json_t *snaps = json_array(), *chain = json_array();
        for (size_t k = 0; k < dbg_image_snapshot_count(img); k++) {
            const dbg_image_snapshot *s = dbg_image_snapshot_at(img, k);
            json_array_append_new(snaps, json_pack("{s:s, s:s, s:I}", "id", s->id, "name", s->name,
                                                   "vm_state_size", (json_int_t)s->vm_state_size));
        }
        for (const dbg_image *b = dbg_image_backing(img); b; b = dbg_image_backing(b))
            json_array_append_new(chain, json_pack("{s:s, s:s}", "path", dbg_image_path(b),
                                                   "format", dbg_image_format_name(dbg_image_get_format(b))));
        json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:i, s:s, s:o, s:o}", "image",
                              argv[i], "format", dbg_image_format_name(dbg_image_get_format(img)),
                              "format_probed", !a.image_format, "header_format",
                              dbg_image_format_name(dbg_image_header_format(img)), "virtual_size",
                              (json_int_t)dbg_image_virtual_size(img), "container_size",
                              (json_int_t)dbg_image_container_size(img), "cluster_size",
                              (int)dbg_image_cluster_size(img), "content_root", root,
                              "backing_chain", chain, "snapshots", snaps);
        dbg_cli_print_json(o, a.format == DBG_FORMAT_JSON ? JSON_INDENT(2) : JSON_COMPACT);
        json_decref(o);
        dbg_chunk_hashes_free(&h);
        dbg_image_close(img);
    }
    free_args(&a);
    return rc;
}

int dbg_cmd_image(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage();
        return argc < 2 ? DBG_EXIT_USAGE : DBG_EXIT_OK;
    }
    const char *sub = argv[1];
    argc--;
    argv++;
    if (!strcmp(sub, "seal"))
        return cmd_seal(argc, argv);
    if (!strcmp(sub, "verify"))
        return cmd_verify(argc, argv);
    if (!strcmp(sub, "scan"))
        return cmd_scan(argc, argv);
    if (!strcmp(sub, "correlate"))
        return cmd_correlate(argc, argv);
    if (!strcmp(sub, "migrate-check"))
        return cmd_migrate(argc, argv);
    if (!strcmp(sub, "info"))
        return cmd_info(argc, argv);
    return dbg_cli_usage_error("image", "unknown subcommand '%s'", sub);
}
