/* `dengbao audit`: keygen, append, query, verify, prove, consistency, export, verify-export,
 * reindex and prune over a tamper-evident audit log directory (--log DIR). Argument parsing and
 * output only; the log itself is src/audit/. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "cli/cli.h"
#include "dengbao/audit.h"
#include "dengbao/gateway.h"

#define CMD "audit"

static const char USAGE[] =
    "Usage: dengbao audit SUBCOMMAND --log DIR [options]\n"
    "\n"
    "Tamper-evident audit log: append-only segments, an RFC 9162 Merkle tree over the records,\n"
    "Ed25519-signed tree heads at checkpoints, an SQLite index for queries.\n"
    "\n"
    "Subcommands:\n"
    "  keygen --out PREFIX            write PREFIX.key (Ed25519, PEM, 0600) and PREFIX.pub\n"
    "  append --log DIR --key FILE [record flags]\n"
    "                                 append one record from flags, or with no record flags one "
    "JSON\n"
    "                                 object per line from stdin; prints each seq once it is "
    "durable\n"
    "      --actor A --role R --tenant T --action X --target-type T --target-name N\n"
    "      --target-uuid U --outcome O --source S --details JSON\n"
    "      --checkpoint-every N --checkpoint-interval SECONDS --segment-size BYTES --no-sync\n"
    "  query --log DIR [--tenant T] [--actor A] [--action X|PREFIX*] [--target NAME|UUID]\n"
    "        [--since TIME] [--until TIME] [--limit N] [--format text|json]\n"
    "  verify --log DIR [--pubkey FILE] [--format text|json]\n"
    "                                 exit 0 when everything holds, 1 when not (names the first "
    "bad seq)\n"
    "  prove SEQ --log DIR            inclusion proof against the latest signed tree head (JSON)\n"
    "  consistency OLD NEW --log DIR  consistency proof between two tree sizes (JSON)\n"
    "  export --log DIR --tenant T -o FILE [--since-size N | --since OLD_EXPORT]\n"
    "                                 the tenant's records with inclusion proofs and the tree "
    "head;\n"
    "                                 with --since-size N (or the tree size of an earlier export\n"
    "                                 OLD_EXPORT) also a consistency proof from tree size N\n"
    "  verify-export FILE --pubkey KEY [--tenant T] [--previous OLD_EXPORT] [--require-range]\n"
    "                [--format text|json]\n"
    "                                 check an export offline and name whose it is; with\n"
    "                                 --tenant T exit 1 unless it is tenant T's; with --previous\n"
    "                                 also that the log behind FILE extends the one behind\n"
    "                                 OLD_EXPORT (both signed with KEY; FILE must carry a proof\n"
    "                                 from OLD_EXPORT's size): exit 1 when history was rewritten\n"
    "                                 or a record of the tenant is missing (each names the\n"
    "                                 tenant's previous one, tenant_prev) or its newest records\n"
    "                                 were cut off (a signed tree head names every tenant's last\n"
    "                                 record, the tenant heads; FILE carries the tenant's entry\n"
    "                                 with a proof, or a proof that it has none). A head written\n"
    "                                 before the tenant heads cannot show the newest records cut\n"
    "                                 (said in a note): --previous shows it once a later export\n"
    "                                 holds a record after them. An archive (of prune) without\n"
    "                                 a signed range of seqs passes with a note; with\n"
    "                                 --require-range it fails (exit 1)\n"
    "  reindex --log DIR              rebuild the SQLite index from the segments\n"
    "  restart --log DIR --key FILE --reason TEXT [--actor A]\n"
    "                                 for a log that no longer verifies (writers refuse to open\n"
    "                                 it): move DIR aside as it is (DIR.damaged-<UTC time>) and\n"
    "                                 start a new log there whose first records, one for the\n"
    "                                 provider and one for each tenant of the old log, say why\n"
    "                                 and where the old one went. Refused while a writer has the\n"
    "                                 log open, when it verifies, or with another key\n"
    "  prune --log DIR --key FILE [--before TIME] --export-dir DIR\n"
    "                                 archive (export with proofs) then drop whole segments older "
    "than\n"
    "                                 TIME (default 180d, the six months of Cybersecurity Law art. "
    "21);\n"
    "                                 the rest still verifies. FILE is the log's signing key: it\n"
    "                                 signs the archive's first and last seq, so that\n"
    "                                 verify-export fails an archive with a record cut from\n"
    "                                 either end\n"
    "TIME: RFC 3339 with Z or an offset (2026-12-07T08:00:00Z = 2026-12-07T16:00:00+08:00; a\n"
    "time without one is refused), a date YYYY-MM-DD (its first moment in UTC, 08:00 in\n"
    "Beijing; a note on stderr says so), or an age\n"
    "like 180d, 12h, 30m, 10s (that long before now)\n"
    "\n"
    "The tenant id 'provider' is reserved as in `dengbao serve` without --policy (O=provider\n"
    "is the provider's certificate): append, query and export refuse --tenant provider, and\n"
    "append a stdin record of that tenant.\n"
    "Exit codes: 0 ok, 1 verification failed, 2 usage or bad input, 3 runtime error.\n";

enum {
    O_LOG = 256,
    O_KEY,
    O_PUBKEY,
    O_FORMAT,
    O_TENANT,
    O_ACTOR,
    O_ROLE,
    O_ACTION,
    O_TTYPE,
    O_TNAME,
    O_TUUID,
    O_OUTCOME,
    O_SOURCE,
    O_DETAILS,
    O_TARGET,
    O_SINCE,
    O_UNTIL,
    O_LIMIT,
    O_OUT,
    O_BEFORE,
    O_EXPORT_DIR,
    O_EVERY,
    O_INTERVAL,
    O_SEGSIZE,
    O_NOSYNC,
    O_BATCH,
    O_SINCE_SIZE,
    O_PREVIOUS,
    O_REQUIRE_RANGE,
    O_REASON /* the last: the refused-option check runs to it */
};

/* An option's bit in audit_args.seen. */
#define OPT(o) (1ull << ((o)-O_LOG))

typedef struct {
    uint64_t seen; /* OPT() of every option given */
    const char *log, *key, *pubkey, *format, *out, *before, *export_dir;
    const char *actor, *role, *tenant, *action, *ttype, *tname, *tuuid, *outcome, *source, *details,
        *target;
    const char *since, *until, *limit, *every, *interval, *segsize, *batch;
    const char *since_size, *previous, *reason;
    int nosync;
    int require_range;
    int record_flags;
    char **args;
    int nargs;
} audit_args;

static const struct option audit_opts[] = {
    {"log", required_argument, NULL, O_LOG},
    {"key", required_argument, NULL, O_KEY},
    {"pubkey", required_argument, NULL, O_PUBKEY},
    {"format", required_argument, NULL, O_FORMAT},
    {"tenant", required_argument, NULL, O_TENANT},
    {"actor", required_argument, NULL, O_ACTOR},
    {"role", required_argument, NULL, O_ROLE},
    {"action", required_argument, NULL, O_ACTION},
    {"target-type", required_argument, NULL, O_TTYPE},
    {"target-name", required_argument, NULL, O_TNAME},
    {"target-uuid", required_argument, NULL, O_TUUID},
    {"outcome", required_argument, NULL, O_OUTCOME},
    {"source", required_argument, NULL, O_SOURCE},
    {"details", required_argument, NULL, O_DETAILS},
    {"target", required_argument, NULL, O_TARGET},
    {"since", required_argument, NULL, O_SINCE},
    {"until", required_argument, NULL, O_UNTIL},
    {"limit", required_argument, NULL, O_LIMIT},
    {"out", required_argument, NULL, O_OUT},
    {"output", required_argument, NULL, 'o'},
    {"before", required_argument, NULL, O_BEFORE},
    {"export-dir", required_argument, NULL, O_EXPORT_DIR},
    {"checkpoint-every", required_argument, NULL, O_EVERY},
    {"checkpoint-interval", required_argument, NULL, O_INTERVAL},
    {"segment-size", required_argument, NULL, O_SEGSIZE},
    {"no-sync", no_argument, NULL, O_NOSYNC},
    {"batch", required_argument, NULL, O_BATCH},
    {"since-size", required_argument, NULL, O_SINCE_SIZE},
    {"previous", required_argument, NULL, O_PREVIOUS},
    {"require-range", no_argument, NULL, O_REQUIRE_RANGE},
    {"reason", required_argument, NULL, O_REASON},
    {NULL, 0, NULL, 0},
};

static int parse_args(int argc, char **argv, audit_args *a)
{
    memset(a, 0, sizeof(*a));
    optind = 0;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:", audit_opts, NULL)) != -1) {
        const char *v = optarg;
        if (c >= O_LOG && c <= O_REASON)
            a->seen |= OPT(c);
        else if (c == 'o')
            a->seen |= OPT(O_OUT);
        switch (c) {
        case O_LOG:
            a->log = v;
            break;
        case O_KEY:
            a->key = v;
            break;
        case O_PUBKEY:
            a->pubkey = v;
            break;
        case O_FORMAT:
            a->format = v;
            break;
        case O_TENANT:
            a->tenant = v;
            a->record_flags++;
            break;
        case O_ACTOR:
            a->actor = v;
            a->record_flags++;
            break;
        case O_ROLE:
            a->role = v;
            a->record_flags++;
            break;
        case O_ACTION:
            a->action = v;
            a->record_flags++;
            break;
        case O_TTYPE:
            a->ttype = v;
            a->record_flags++;
            break;
        case O_TNAME:
            a->tname = v;
            a->record_flags++;
            break;
        case O_TUUID:
            a->tuuid = v;
            a->record_flags++;
            break;
        case O_OUTCOME:
            a->outcome = v;
            a->record_flags++;
            break;
        case O_SOURCE:
            a->source = v;
            a->record_flags++;
            break;
        case O_DETAILS:
            a->details = v;
            a->record_flags++;
            break;
        case O_TARGET:
            a->target = v;
            break;
        case O_SINCE:
            a->since = v;
            break;
        case O_UNTIL:
            a->until = v;
            break;
        case O_SINCE_SIZE:
            a->since_size = v;
            break;
        case O_PREVIOUS:
            a->previous = v;
            break;
        case O_REQUIRE_RANGE:
            a->require_range = 1;
            break;
        case O_REASON:
            a->reason = v;
            break;
        case O_LIMIT:
            a->limit = v;
            break;
        case O_OUT:
            a->out = v;
            break;
        case 'o':
            a->out = v;
            break;
        case O_BEFORE:
            a->before = v;
            break;
        case O_EXPORT_DIR:
            a->export_dir = v;
            break;
        case O_EVERY:
            a->every = v;
            break;
        case O_INTERVAL:
            a->interval = v;
            break;
        case O_SEGSIZE:
            a->segsize = v;
            break;
        case O_NOSYNC:
            a->nosync = 1;
            break;
        case O_BATCH:
            a->batch = v;
            break;
        default:
            dbg_cli_usage_error(CMD, "%s: unknown or incomplete option '%s'", argv[0],
                                argv[optind - 1]);
            return -1;
        }
    }
    a->args = argv + optind;
    a->nargs = argc - optind;
    return 0;
}

static int need_log(const audit_args *a, const char *sub)
{
    if (!a->log) {
        dbg_cli_usage_error(CMD, "%s needs --log DIR", sub);
        return -1;
    }
    return 0;
}

static int parse_u64(const char *what, const char *s, uint64_t *out)
{
    long v;
    if (dbg_parse_long(s, 0, 0x7fffffffffffffffL, &v) < 0) {
        dbg_cli_usage_error(CMD, "%s: '%s' is not a non-negative integer", what, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* RFC 3339, or an age such as 180d / 12h / 30m / 10s meaning that long before now. */
static int parse_time(const char *what, const char *s, int64_t *us)
{
    size_t n = strlen(s);
    /* A date, or a date and time (refused without a zone: it would be 8 hours off in China; a
     * day that does not exist gets the parser's words, which say what to add) */
    if (n >= 10 && s[4] == '-' && (n == 10 || s[10] == 'T'))
        return dbg_cli_time_option(CMD, what, s, us);
    if (dbg_time_parse_rfc3339(s, us) == 0)
        return 0;
    if (n >= 2) {
        char unit = s[n - 1];
        int64_t mult = unit == 'd'   ? 86400
                       : unit == 'h' ? 3600
                       : unit == 'm' ? 60
                       : unit == 's' ? 1
                                     : 0;
        char num[32];
        long v;
        if (mult && n - 1 < sizeof(num)) {
            memcpy(num, s, n - 1);
            num[n - 1] = '\0';
            /* the cap is on the age in seconds: capping the number alone let 1000000000d overflow
             * into a cutoff in the future, and a prune then removed everything */
            const int64_t max_age_s = 100LL * 365 * 86400;
            if (dbg_parse_long(num, 0, 0x7fffffffffffffffL, &v) == 0) {
                if ((int64_t)v > max_age_s / mult) {
                    dbg_cli_usage_error(CMD, "%s: age '%s' is more than 100 years", what, s);
                    return -1;
                }
                *us = dbg_now_us() - (int64_t)v * mult * 1000000LL;
                return 0;
            }
        }
    }
    dbg_cli_usage_error(CMD, "%s: '%s' is neither an RFC 3339 time nor an age like 180d", what, s);
    return -1;
}

/* --until: a time at or before the epoch would be 0 or less, and 0 is "no bound" to the
 * query, so --until 1970-01-01T00:00:00Z listed every record. No record is that old: refused. */
static int parse_until(const char *s, int64_t *us)
{
    if (parse_time("--until", s, us) < 0)
        return -1;
    if (*us <= 0) {
        dbg_cli_usage_error(CMD, "--until: '%s' is not after 1970-01-01T00:00:00Z (the epoch)", s);
        return -1;
    }
    return 0;
}

static int get_format(const audit_args *a, dbg_format *f)
{
    *f = DBG_FORMAT_TEXT;
    if (!a->format)
        return 0;
    return dbg_cli_parse_format(CMD, a->format, (1u << DBG_FORMAT_TEXT) | (1u << DBG_FORMAT_JSON),
                                f);
}

/* ---- keygen ---- */

static int cmd_keygen(const audit_args *a)
{
    if (!a->out)
        return dbg_cli_usage_error(CMD, "keygen needs --out PREFIX");
    if (dbg_audit_keygen(a->out) < 0)
        return dbg_cli_runtime_error(CMD);
    printf("wrote %s.key and %s.pub\n", a->out, a->out);
    return DBG_EXIT_OK;
}

/* ---- append ---- */

static int open_log(const audit_args *a, dbg_audit_log **log)
{
    dbg_audit_opts o = {.dir = a->log, .key_path = a->key, .durable = !a->nosync};
    if (a->every && parse_u64("--checkpoint-every", a->every, &o.checkpoint_every) < 0)
        return DBG_EXIT_USAGE;
    if (a->interval) {
        uint64_t s;
        if (parse_u64("--checkpoint-interval", a->interval, &s) < 0)
            return DBG_EXIT_USAGE;
        o.checkpoint_interval_us = (int64_t)s * 1000000LL;
    }
    if (a->segsize && parse_u64("--segment-size", a->segsize, &o.segment_max_bytes) < 0)
        return DBG_EXIT_USAGE;
    *log = dbg_audit_open(&o);
    if (!*log)
        return dbg_cli_runtime_error(CMD);
    if (dbg_audit_recovered_bytes(*log))
        fprintf(stderr,
                "dengbao audit: recovered: cut a torn tail of %" PRIu64
                " bytes (unacknowledged writes)\n",
                dbg_audit_recovered_bytes(*log));
    return DBG_EXIT_OK;
}

static int stdin_has_data(void)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

static int append_stdin(const audit_args *a, dbg_audit_log *log)
{
    uint64_t max_batch = 256;
    if (a->batch && (parse_u64("--batch", a->batch, &max_batch) < 0 || max_batch == 0))
        return DBG_EXIT_USAGE;
    aud_parsed_record *parsed = dbg_calloc(max_batch, sizeof(*parsed));
    dbg_audit_record *recs = dbg_calloc(max_batch, sizeof(*recs));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    uint64_t lineno = 0, n = 0;
    int rc = DBG_EXIT_OK, eof = 0;
    if (!parsed || !recs) {
        rc = dbg_cli_runtime_error(CMD);
        goto out;
    }
    while (!eof) {
        len = getline(&line, &cap, stdin);
        if (len < 0) {
            eof = 1;
        } else {
            lineno++;
            while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
                line[--len] = '\0';
            size_t skip = 0;
            while (skip < (size_t)len && (line[skip] == ' ' || line[skip] == '\t'))
                skip++;
            if (skip < (size_t)len) {
                char what[64];
                snprintf(what, sizeof(what), "stdin line %" PRIu64, lineno);
                if (aud_record_from_json(line + skip, (size_t)len - skip, what, &parsed[n]) < 0) {
                    fprintf(stderr, "dengbao audit: %s\n", dbg_err_msg());
                    rc = DBG_EXIT_USAGE;
                    eof = 1; /* append what came before, then stop */
                } else if (dbg_tenant_reserved(parsed[n].rec.tenant)) {
                    /* as append --tenant provider is refused */
                    fprintf(stderr, "dengbao audit: %s: tenant: %s\n", what,
                            DBG_TENANT_RESERVED_WHY);
                    aud_parsed_record_free(&parsed[n]);
                    rc = DBG_EXIT_USAGE;
                    eof = 1;
                } else {
                    recs[n] = parsed[n].rec;
                    recs[n].seq = 0;
                    n++;
                }
            }
        }
        /* flush when the batch is full, at the end, or when no more input is waiting */
        if (n && (n == max_batch || eof || !stdin_has_data())) {
            uint64_t first;
            if (dbg_audit_append_batch(log, recs, n, &first) < 0) {
                rc = dbg_cli_runtime_error(CMD);
                eof = 1;
            } else {
                for (uint64_t i = 0; i < n; i++)
                    printf("%" PRIu64 "\n", first + i);
                fflush(stdout);
            }
            for (uint64_t i = 0; i < n; i++)
                aud_parsed_record_free(&parsed[i]);
            n = 0;
        }
    }
out:
    for (uint64_t i = 0; i < n; i++)
        aud_parsed_record_free(&parsed[i]);
    free(parsed);
    free(recs);
    free(line);
    return rc;
}

static int cmd_append(const audit_args *a)
{
    if (need_log(a, "append") < 0)
        return DBG_EXIT_USAGE;
    if (!a->key)
        return dbg_cli_usage_error(CMD, "append needs --key FILE (the Ed25519 signing key)");
    dbg_audit_record rec = {.actor = a->actor,
                            .role = a->role,
                            .tenant = a->tenant,
                            .action = a->action,
                            .target_type = a->ttype,
                            .target_name = a->tname,
                            .target_uuid = a->tuuid,
                            .outcome = a->outcome,
                            .source = a->source,
                            .details_json = a->details};
    if (a->record_flags && aud_record_validate(&rec) < 0) {
        fprintf(stderr, "dengbao audit: %s\n", dbg_err_msg());
        return DBG_EXIT_USAGE;
    }
    dbg_audit_log *log = NULL;
    int rc = open_log(a, &log);
    if (rc != DBG_EXIT_OK)
        return rc;
    if (a->record_flags) {
        uint64_t seq;
        if (dbg_audit_append(log, &rec, &seq) < 0) {
            rc = dbg_err_code() == DBG_ERR_IO ? dbg_cli_runtime_error(CMD) : DBG_EXIT_USAGE;
            if (rc == DBG_EXIT_USAGE)
                fprintf(stderr, "dengbao audit: %s\n", dbg_err_msg());
        } else {
            printf("%" PRIu64 "\n", seq);
        }
    } else {
        rc = append_stdin(a, log);
    }
    if (dbg_audit_close(log) < 0 && rc == DBG_EXIT_OK)
        rc = dbg_cli_runtime_error(CMD);
    return rc;
}

/* ---- query ---- */

/* Records hold what the gateway, the guard and appenders were given: VM names libvirt took from
 * whoever defined the VM (the guard records VMs made outside the gateway), actors, details.
 * Their control and bidi characters are shown escaped, never sent to the terminal, where they
 * could clear or rewrite the lines above (as `store query` and `vm list` do). -1: out of memory. */
static int print_record_text(json_t *r)
{
    json_t *t = json_object_get(r, "target");
    char *details = json_dumps(json_object_get(r, "details"), JSON_COMPACT | JSON_SORT_KEYS);
    enum { TIME, ACTION, TENANT, ACTOR, ROLE, TTYPE, TNAME, TUUID, OUTCOME, SOURCE, DETAILS, N };
    const char *field[N] = {
        json_string_value(json_object_get(r, "time")),
        json_string_value(json_object_get(r, "action")),
        json_string_value(json_object_get(r, "tenant")),
        json_string_value(json_object_get(r, "actor")),
        json_string_value(json_object_get(r, "role")),
        json_string_value(json_object_get(t, "type")),
        json_string_value(json_object_get(t, "name")),
        json_string_value(json_object_get(t, "uuid")),
        json_string_value(json_object_get(r, "outcome")),
        json_string_value(json_object_get(r, "source")),
        details && strcmp(details, "{}") ? details : "",
    };
    char *shown[N] = {0};
    int failed = 0;
    for (size_t i = 0; i < N; i++) {
        if (!field[i])
            field[i] = "";
        else if ((shown[i] = dbg_text_visible(field[i], &failed)))
            field[i] = shown[i];
    }
    if (!failed)
        printf("%-8" JSON_INTEGER_FORMAT
               " %s %s tenant=%s actor=%s role=%s target=%s/%s%s%s outcome=%s source=%s%s%s\n",
               json_integer_value(json_object_get(r, "seq")), field[TIME], field[ACTION],
               field[TENANT], field[ACTOR], field[ROLE], field[TTYPE], field[TNAME],
               *field[TUUID] ? "/" : "", field[TUUID], field[OUTCOME], field[SOURCE],
               *field[DETAILS] ? " details=" : "", field[DETAILS]);
    for (size_t i = 0; i < N; i++)
        free(shown[i]);
    free(details);
    if (failed) {
        dbg_err_set(DBG_ERR_NOMEM, "cannot print record %" JSON_INTEGER_FORMAT,
                    json_integer_value(json_object_get(r, "seq")));
        return -1;
    }
    return 0;
}

static int cmd_query(const audit_args *a)
{
    if (need_log(a, "query") < 0)
        return DBG_EXIT_USAGE;
    dbg_format fmt;
    if (get_format(a, &fmt) < 0)
        return DBG_EXIT_USAGE;
    dbg_audit_query_opts q = {
        .tenant = a->tenant, .actor = a->actor, .action = a->action, .target = a->target};
    if ((a->since && parse_time("--since", a->since, &q.since_us) < 0) ||
        (a->until && parse_until(a->until, &q.until_us) < 0) ||
        (a->limit && parse_u64("--limit", a->limit, &q.limit) < 0))
        return DBG_EXIT_USAGE;
    char *out = dbg_audit_query(a->log, &q);
    if (!out)
        return dbg_cli_runtime_error(CMD);
    if (fmt == DBG_FORMAT_JSON) {
        fputs(out, stdout);
    } else {
        json_error_t e;
        json_t *arr = json_loads(out, 0, &e);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            if (print_record_text(json_array_get(arr, i)) < 0) {
                json_decref(arr);
                free(out);
                return dbg_cli_runtime_error(CMD);
            }
        }
        printf("%zu record(s)\n", json_array_size(arr));
        json_decref(arr);
    }
    free(out);
    return DBG_EXIT_OK;
}

/* ---- verify ---- */

/* A seq, or null for -1 (none) */
static json_t *seq_or_null(int64_t seq)
{
    return seq >= 0 ? json_integer((json_int_t)seq) : json_null();
}

static int report_verify(const dbg_audit_verify_result *r, dbg_format fmt, const char *what,
                         int is_export, int with_previous)
{
    if (fmt == DBG_FORMAT_JSON) {
        json_t *o = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:s,s:I}", "ok", r->ok, "records",
                              (json_int_t)r->records, "checkpoints", (json_int_t)r->checkpoints,
                              "bytes", (json_int_t)r->bytes, "pruned", (json_int_t)r->pruned,
                              "unsealed", (json_int_t)r->unsealed, "head_root", r->head,
                              "head_size", (json_int_t)r->head_size);
        if (o && with_previous)
            json_object_set_new(o, "previous_size", json_integer((json_int_t)r->previous_size));
        if (o) /* what the tenant checks passed over (the text form's notes) */
            json_object_set_new(o, "unlinked", json_integer((json_int_t)r->unlinked));
        if (o && !(is_export && r->archive)) {
            json_object_set_new(o, "unlinked_after_linked",
                                json_integer((json_int_t)r->unlinked_after));
            json_object_set_new(o, "unlinked_after_linked_first",
                                seq_or_null(r->unlinked_after_first));
        }
        if (o && !is_export) {
            json_object_set_new(o, "heads_v1", json_integer((json_int_t)r->heads_v1));
            json_object_set_new(o, "tenant_heads_unchecked",
                                json_integer((json_int_t)r->theads_unchecked));
            json_object_set_new(o, "tenant_heads_unchecked_from",
                                seq_or_null(r->theads_unchecked_from));
            json_object_set_new(o, "head_json_unmatched", seq_or_null(r->head_file_unmatched));
            json_object_set_new(o, "header_tables_checked",
                                json_integer((json_int_t)r->header_tables));
            json_object_set_new(o, "header_tables_unchecked",
                                json_integer((json_int_t)r->header_tables_unchecked));
            json_object_set_new(o, "header_tables_unchecked_from",
                                seq_or_null(r->header_tables_unchecked_from));
        }
        if (o && is_export) {
            json_object_set_new(o, "tenant", r->archive ? json_null() : json_string(r->tenant));
            json_object_set_new(o, "archive", json_boolean(r->archive));
            json_object_set_new(o, "linked_from", seq_or_null(r->linked_from));
            if (r->archive)
                json_object_set_new(o, "archive_ends_unchecked",
                                    json_integer((json_int_t)r->archive_ends_unchecked));
            if (!r->archive) {
                json_object_set_new(o, "tenant_heads", json_boolean(r->tenant_heads));
                json_object_set_new(o, "tenant_last", seq_or_null(r->tenant_last));
            }
        }
        if (o && !r->ok) {
            json_object_set_new(o, "first_bad_seq", seq_or_null(r->first_bad_seq));
            json_object_set_new(o, "problem", json_string(r->problem));
        }
        dbg_cli_print_json(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
    } else if (r->ok) {
        /* an export says whose it is: a valid export of another tenant verifies too */
        int failed = 0;
        /* the tenant id is the export's (untrusted until here: signed by the provider) */
        DBG_AUTOFREE char *tenant_shown = is_export ? dbg_text_visible(r->tenant, &failed) : NULL;
        if (failed)
            return dbg_cli_runtime_error(CMD);
        DBG_AUTOFREE char *whose =
            !is_export ? NULL
            : r->archive
                ? dbg_strdup("archive of all tenants, ")
                : dbg_asprintf("export of tenant '%s', ", tenant_shown ? tenant_shown : r->tenant);
        printf("OK: %s: %s%" PRIu64 " records, %" PRIu64 " signed tree heads, %" PRIu64
               " bytes verified; latest tree "
               "head size %" PRIu64 " root %s\n",
               what, whose ? whose : "", r->records, r->checkpoints, r->bytes, r->head_size,
               r->head);
        if (r->pruned)
            printf("note: records 0..%" PRIu64
                   " were pruned (archived); the log starts at seq %" PRIu64 "\n",
                   r->pruned - 1, r->pruned);
        if (r->unsealed)
            printf("note: %" PRIu64 " newest record(s) are not yet covered by a signed tree head\n",
                   r->unsealed);
        if (!is_export && r->head_file_unmatched >= 0)
            printf("note: head.json (size %" PRId64 ") is older than the log's first record (seq "
                   "%" PRIu64 "): its signature holds, but the heads it could match were pruned, "
                   "so it was matched to none, and it vouches for none of the records left (a "
                   "truncation of the log is not detected from it)\n",
                   r->head_file_unmatched, r->pruned);
        /* a log: what the tenant checks could not cover is said, not passed over */
        if (!is_export && r->theads_unchecked)
            printf("note: tenant heads of %" PRIu64 " signed tree head(s) not checked (the first "
                   "of size %" PRId64 "): the log was pruned before seq %" PRIu64
                   " and its first segment header has no tenants table, so the tenants whose "
                   "records were all pruned are unknown\n",
                   r->theads_unchecked, r->theads_unchecked_from, r->pruned);
        if (!is_export && r->header_tables_unchecked)
            printf("note: %" PRIu64 " segment header(s) after the first have no tenants table "
                   "(written before tenant_prev; the first starts at seq %" PRId64 "): there is "
                   "nothing in them to check against the records, and a prune that makes one the "
                   "first leaves the tenants pruned away unknown\n",
                   r->header_tables_unchecked, r->header_tables_unchecked_from);
        if (!is_export && r->heads_v1)
            printf("note: %" PRIu64 " signed tree head(s) predate the tenant heads (version 1): "
                   "they sign no tenant's last record, so none was checked against them\n",
                   r->heads_v1);
        if (!is_export && r->unlinked)
            printf("note: %" PRIu64 " record(s) of tenants carry no tenant_prev (written by a "
                   "writer from before it): their link to the tenant's previous record is not "
                   "checked\n",
                   r->unlinked);
        if (!is_export && r->unlinked_after)
            printf("note: %" PRIu64 " of them follow a record of the same tenant that carries "
                   "tenant_prev (the first at seq %" PRId64 "): a writer from before tenant_prev "
                   "wrote them after a newer one (it may still be running); a record of the "
                   "tenant left out of an export just before one of them is not detected\n",
                   r->unlinked_after, r->unlinked_after_first);
        /* an export of a tenant: how far the check that none of its records were left out
         * reaches (records from before the log linked them carry no tenant_prev) */
        if (is_export && !r->archive && r->unlinked && r->linked_from >= 0 && !r->unlinked_after)
            printf("note: %" PRIu64 " record(s) predate tenant_prev; records left out of the "
                   "export are detected from seq %" PRId64 " on\n",
                   r->unlinked, r->linked_from);
        else if (is_export && !r->archive && r->unlinked_after)
            printf("note: %" PRIu64 " record(s) carry no tenant_prev; records left out of the "
                   "export are detected from seq %" PRId64 " on, except just before the %" PRIu64
                   " of them that follow a record of the tenant that carries it (the first at seq "
                   "%" PRId64 "): a writer from before tenant_prev wrote them after a newer one "
                   "(it may still be running), and a record left out just before one of them is "
                   "not detected\n",
                   r->unlinked, r->linked_from, r->unlinked_after, r->unlinked_after_first);
        else if (is_export && !r->archive && r->unlinked)
            printf("note: no record carries tenant_prev (written before the log linked a "
                   "tenant's records): records left out of the export cannot be detected\n");
        if (is_export && r->archive_ends_unchecked)
            printf("note: the archive carries no signed range (written by a prune from before "
                   "prune signed its first and last seq): a record cut from its first or last "
                   "position is not detected from the file alone\n");
        /* a head from before the tenant heads names no tenant's last record */
        if (is_export && !r->archive && !r->tenant_heads && !r->tenant[0])
            printf("note: provider-only records (tenant '') have no entry in the tenant heads: "
                   "newest records cut off the export cannot be detected from it alone\n");
        else if (is_export && !r->archive && !r->tenant_heads)
            printf("note: the signed tree head (size %" PRIu64 ") predates the tenant heads: "
                   "newest records cut off the export cannot be detected from it alone "
                   "(--previous shows them once a later export holds a record after them)\n",
                   r->head_size);
    } else {
        /* An export's problems name the file (the JSON form has no other field for it), and
         * the bad seq: said once here ("FAILED: b.json: b.json: the signed tree head does not
         * verify with this public key" named it twice). */
        const char *problem = r->problem;
        /* a problem quotes what the file or log holds (a tenant id, a name): its control and
         * bidi characters are shown escaped, never sent to the terminal */
        int failed = 0;
        DBG_AUTOFREE char *shown = dbg_text_visible(problem, &failed);
        if (failed)
            return dbg_cli_runtime_error(CMD);
        if (shown)
            problem = shown;
        size_t wl = strlen(what);
        if (!strncmp(problem, what, wl) && !strncmp(problem + wl, ": ", 2))
            problem += wl + 2;
        if (r->first_bad_seq >= 0) {
            char seq[32];
            int n = snprintf(seq, sizeof(seq), "seq %lld: ", (long long)r->first_bad_seq);
            if (n > 0 && !strncmp(problem, seq, (size_t)n))
                problem += n;
            printf("FAILED: %s: first bad seq %lld: %s\n", what, (long long)r->first_bad_seq,
                   problem);
        } else {
            printf("FAILED: %s: %s\n", what, problem);
        }
    }
    return r->ok ? DBG_EXIT_OK : DBG_EXIT_FINDINGS;
}

static int cmd_verify(const audit_args *a)
{
    if (need_log(a, "verify") < 0)
        return DBG_EXIT_USAGE;
    dbg_format fmt;
    if (get_format(a, &fmt) < 0)
        return DBG_EXIT_USAGE;
    dbg_audit_verify_result r;
    if (dbg_audit_verify(a->log, a->pubkey ? a->pubkey : a->key, &r) < 0)
        return dbg_cli_runtime_error(CMD);
    if (!a->pubkey && !a->key && fmt == DBG_FORMAT_TEXT)
        printf("note: checked against the public key kept in the log (log.pub); pass --pubkey with "
               "a key you trust\n");
    return report_verify(&r, fmt, a->log, 0, 0);
}

static int cmd_verify_export(const audit_args *a)
{
    if (a->nargs != 1)
        return dbg_cli_usage_error(CMD, "verify-export needs exactly one FILE");
    if (!a->pubkey)
        return dbg_cli_usage_error(CMD, "verify-export needs --pubkey KEY");
    dbg_format fmt;
    if (get_format(a, &fmt) < 0)
        return DBG_EXIT_USAGE;
    dbg_audit_verify_result r;
    if (dbg_audit_verify_export_since(a->args[0], a->previous, a->pubkey, &r) < 0)
        return dbg_cli_runtime_error(CMD);
    /* --tenant T: the export must be T's. A valid export of another tenant (or an archive of
     * all) verifies as well, and holds nothing of T: a tenant checking "mine" would read "OK, no
     * privileged action on my VMs". The option used to be taken and ignored. */
    if (a->tenant && r.ok && (r.archive || strcmp(r.tenant, a->tenant) != 0)) {
        r.ok = 0;
        r.first_bad_seq = -1;
        snprintf(r.problem, sizeof(r.problem), "%s: an export of %s%s%s, not of tenant '%s'",
                 a->args[0], r.archive ? "all tenants (an archive)" : "tenant '",
                 r.archive ? "" : r.tenant, r.archive ? "" : "'", a->tenant);
    }
    /* --require-range: an archive without its signed range reads as one from before prune
     * signed it, and so does a new one whose range was taken out; an assessor who knows the
     * log's archives are all newer makes that a failure instead of a note */
    if (a->require_range && r.ok && r.archive_ends_unchecked) {
        r.ok = 0;
        r.first_bad_seq = -1;
        snprintf(r.problem, sizeof(r.problem),
                 "%s: the archive carries no signed range (--require-range): a record cut from "
                 "its first or last position would not be detected",
                 a->args[0]);
    }
    int rc = report_verify(&r, fmt, a->args[0], 1, a->previous != NULL);
    if (a->previous && r.ok && fmt == DBG_FORMAT_TEXT)
        printf("OK: consistent with %s: the log at tree size %" PRIu64
               " is a prefix of the one at size %" PRIu64 " (RFC 9162 consistency proof)\n",
               a->previous, r.previous_size, r.head_size);
    return rc;
}

/* ---- proofs, export, index, retention ---- */

static int print_or_fail(char *text)
{
    /* tree sizes and seqs the log cannot have (OLD > NEW, NEW or SEQ beyond it) are bad input
     * (2), as the help says, not a failure to read the log (3); a SEQ the log holds but no signed
     * tree head covers yet is the log's state (NOTFOUND, 3) */
    if (!text && dbg_err_code() == DBG_ERR_INVALID) {
        fprintf(stderr, "dengbao %s: %s\n", CMD, dbg_err_msg());
        return DBG_EXIT_USAGE;
    }
    if (!text)
        return dbg_cli_runtime_error(CMD);
    puts(text);
    free(text);
    return DBG_EXIT_OK;
}

static int cmd_prove(const audit_args *a)
{
    uint64_t seq;
    if (need_log(a, "prove") < 0)
        return DBG_EXIT_USAGE;
    if (a->nargs != 1)
        return dbg_cli_usage_error(CMD, "prove needs exactly one SEQ");
    if (parse_u64("SEQ", a->args[0], &seq) < 0)
        return DBG_EXIT_USAGE;
    return print_or_fail(dbg_audit_prove(a->log, seq));
}

static int cmd_consistency(const audit_args *a)
{
    uint64_t o, n;
    if (need_log(a, "consistency") < 0)
        return DBG_EXIT_USAGE;
    if (a->nargs != 2)
        return dbg_cli_usage_error(CMD, "consistency needs OLD and NEW tree sizes");
    if (parse_u64("OLD", a->args[0], &o) < 0 || parse_u64("NEW", a->args[1], &n) < 0)
        return DBG_EXIT_USAGE;
    return print_or_fail(dbg_audit_consistency(a->log, o, n));
}

static int cmd_export(const audit_args *a)
{
    if (need_log(a, "export") < 0)
        return DBG_EXIT_USAGE;
    if (!a->tenant || !a->out)
        return dbg_cli_usage_error(CMD, "export needs --tenant T and -o FILE");
    if (a->since_size && a->since)
        return dbg_cli_usage_error(CMD,
                                   "export takes --since-size N or --since OLD_EXPORT, not both");
    uint64_t since = 0;
    if (a->since_size && parse_u64("--since-size", a->since_size, &since) < 0)
        return DBG_EXIT_USAGE;
    /* an earlier export that cannot be read is a file that failed, as verify-export's (3) */
    if (a->since && dbg_audit_export_tree_size(a->since, &since) < 0)
        return dbg_cli_runtime_error(CMD);
    dbg_audit_export_info info;
    int r = dbg_audit_export_ex(a->log, a->tenant, a->since_size || a->since ? &since : NULL,
                                a->out, &info);
    /* a tree size the log cannot have is bad input (2), as for `consistency`, not a failure
     * to read the log (3); the message names the option that gave it */
    if (r < 0 && dbg_err_code() == DBG_ERR_INVALID && (a->since_size || a->since))
        return dbg_cli_usage_error(CMD, "%s %s: %s", a->since_size ? "--since-size" : "--since",
                                   a->since_size ? a->since_size : a->since, dbg_err_msg());
    if (r < 0)
        return dbg_cli_runtime_error(CMD);
    printf("wrote %s: %" PRIu64 " record(s) of tenant '%s', proved against the signed tree head "
           "of size %" PRIu64 "\n",
           a->out, info.records, a->tenant, info.tree_size);
    /* A tenant who exports right after an action would otherwise find it missing and no word
     * of why: it is in the log, not yet under a signed head. */
    if (info.pending)
        fprintf(stderr,
                "dengbao audit: note: %" PRIu64 " newer record(s) of tenant '%s' are not yet under "
                "a signed tree head, so not in this export; they will be once the log's writer "
                "makes its next checkpoint\n",
                info.pending, a->tenant);
    return DBG_EXIT_OK;
}

static int cmd_reindex(const audit_args *a)
{
    if (need_log(a, "reindex") < 0)
        return DBG_EXIT_USAGE;
    if (dbg_audit_reindex(a->log) < 0)
        return dbg_cli_runtime_error(CMD);
    printf("reindexed %s\n", a->log);
    return DBG_EXIT_OK;
}

static int cmd_prune(const audit_args *a)
{
    int64_t before;
    uint64_t removed = 0;
    if (need_log(a, "prune") < 0)
        return DBG_EXIT_USAGE;
    if (!a->export_dir)
        return dbg_cli_usage_error(
            CMD, "prune needs --export-dir DIR: records leave the log only after an export");
    if (!a->key)
        return dbg_cli_usage_error(CMD, "prune needs --key FILE, the log's signing key: it signs "
                                        "the archive's range, so that a record cut from either "
                                        "end of it shows");
    if (parse_time("--before", a->before ? a->before : "180d", &before) < 0)
        return DBG_EXIT_USAGE;
    if (dbg_audit_prune(a->log, before, a->export_dir, a->key, &removed) < 0)
        return dbg_cli_runtime_error(CMD);
    printf("pruned %" PRIu64 " record(s) (archived in %s)\n", removed, a->export_dir);
    return DBG_EXIT_OK;
}

static int cmd_restart(const audit_args *a)
{
    if (need_log(a, "restart") < 0)
        return DBG_EXIT_USAGE;
    if (!a->key)
        return dbg_cli_usage_error(CMD, "restart needs --key FILE, the log's signing key: the "
                                        "new log is signed with it");
    if (!a->reason || !*a->reason)
        return dbg_cli_usage_error(CMD, "restart needs --reason TEXT: it is recorded in the new "
                                        "log, for the provider and every tenant");
    /* who ran it, as the gateway names a local caller, unless --actor says it */
    dbg_gw_identity id;
    dbg_gw_identity_unix(&id, getuid(), getpid());
    const char *actor = a->actor ? a->actor : id.actor;
    if (!*actor)
        return dbg_cli_usage_error(CMD, "restart --actor: empty");
    dbg_audit_restart_result r;
    if (dbg_audit_restart(a->log, a->key, actor, id.source, a->reason, &r) < 0) {
        if (dbg_err_code() == DBG_ERR_INVALID) {
            fprintf(stderr, "dengbao audit: %s\n", dbg_err_msg());
            return DBG_EXIT_USAGE;
        }
        if (r.moved_to[0])
            fprintf(stderr, "dengbao audit: the old log was moved to %s\n", r.moved_to);
        return dbg_cli_runtime_error(CMD);
    }
    const dbg_audit_verify_result *v = &r.previous;
    printf("moved the log that does not verify to %s, as it was", r.moved_to);
    if (v->first_bad_seq >= 0)
        printf(" (first bad seq %lld; %" PRIu64 " records read)", (long long)v->first_bad_seq,
               v->records);
    printf("\n  why it fails: %s\n", v->problem);
    printf("started a new log in %s: seq %lld audit.log_restarted for the provider", a->log,
           (long long)r.first_seq);
    if (r.n_tenants)
        printf(", seqs %lld-%lld a notice for each of %zu tenant(s)", (long long)r.first_seq + 1,
               (long long)r.first_seq + (long long)r.n_tenants, r.n_tenants);
    printf("\n");
    if (r.n_suspect)
        printf("note: %zu of the tenant ids were read only from damaged records and may be "
               "altered ones (details.previous_log.tenants_only_in_damaged_records)\n",
               r.n_suspect);
    if (!r.tenants_complete)
        printf("warning: part of the old log could not be walked (a frame's length is damaged): "
               "a tenant whose records are only there has no notice; find them in the moved log "
               "and tell them\n");
    printf("note: tenants' exports from the new log do not extend their earlier ones "
           "(verify-export --previous fails across the restart); the notice in each tenant's "
           "part says why\n");
    return DBG_EXIT_OK;
}

/* The options each subcommand takes. Any other is a usage error: one taken and ignored read as
 * done (verify-export --since OLD, export's spelling of --previous, said OK without any
 * consistency check; verify --tenant T verified the whole log, not T's part). */
#define RECORD_OPTS                                                                                \
    "tenant", "actor", "role", "action", "target-type", "target-name", "target-uuid", "outcome",   \
        "source", "details"
static const char *const keygen_takes[] = {"out", NULL};
static const char *const append_takes[] = {
    "log",     "key",   RECORD_OPTS, "checkpoint-every", "checkpoint-interval", "segment-size",
    "no-sync", "batch", NULL};
static const char *const query_takes[] = {"log",    "format", "tenant", "actor", "action",
                                          "target", "since",  "until",  "limit", NULL};
static const char *const verify_takes[] = {"log", "pubkey", "key", "format", NULL};
static const char *const verify_export_takes[] = {"pubkey", "tenant", "previous", "format",
                                                   "require-range", NULL};
static const char *const log_only_takes[] = {"log", NULL};
static const char *const export_takes[] = {"log", "tenant", "out", "since", "since-size", NULL};
static const char *const prune_takes[] = {"log", "key", "before", "export-dir", NULL};
static const char *const restart_takes[] = {"log", "key", "reason", "actor", NULL};

int dbg_cmd_audit(int argc, char **argv)
{
    if (argc < 2 || dbg_cli_wants_help(argc, argv)) {
        fputs(USAGE, argc < 2 ? stderr : stdout);
        return argc < 2 ? DBG_EXIT_USAGE : DBG_EXIT_OK;
    }
    const char *sub = argv[1];
    audit_args a;
    if (parse_args(argc - 1, argv + 1, &a) < 0)
        return DBG_EXIT_USAGE;
    static const struct {
        const char *name;
        int (*fn)(const audit_args *);
        int takes_args;
        const char *const *takes;
    } subs[] = {
        {"keygen", cmd_keygen, 0, keygen_takes},
        {"append", cmd_append, 0, append_takes},
        {"query", cmd_query, 0, query_takes},
        {"verify", cmd_verify, 0, verify_takes},
        {"verify-export", cmd_verify_export, 1, verify_export_takes},
        {"prove", cmd_prove, 1, log_only_takes},
        {"consistency", cmd_consistency, 1, log_only_takes},
        {"export", cmd_export, 0, export_takes},
        {"reindex", cmd_reindex, 0, log_only_takes},
        {"prune", cmd_prune, 0, prune_takes},
        {"restart", cmd_restart, 0, restart_takes},
    };
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        if (!subs[i].takes_args && a.nargs > 0)
            return dbg_cli_usage_error(CMD, "%s: unexpected argument '%s'", sub, a.args[0]);
        /* all options are parsed first; the first refused in audit_opts' order is named */
        for (int c = O_LOG; c <= O_REASON; c++) {
            if (!(a.seen & OPT(c)) || dbg_cli_option_taken(audit_opts, subs[i].takes, c))
                continue;
            return dbg_cli_option_refused(
                CMD, sub, audit_opts, c,
                c == O_SINCE && dbg_cli_option_taken(audit_opts, subs[i].takes, O_PREVIOUS)
                    ? " (an earlier export to check against is --previous)"
                    : NULL);
        }
        /* The id serve without --policy refuses (an O=provider certificate is the provider):
         * a record filed under it or an export of it would be that tenant's, and a query of it
         * reads as the provider's view while listing a tenant's part. verify-export --tenant
         * only checks what an export says, so it takes any id. */
        if (dbg_tenant_reserved(a.tenant) && strcmp(sub, "verify-export") != 0)
            return dbg_cli_usage_error(
                CMD, "%s --tenant: %s%s", sub, DBG_TENANT_RESERVED_WHY,
                strcmp(sub, "query") == 0 ? "; the provider's view is query without --tenant" : "");
        return subs[i].fn(&a);
    }
    return dbg_cli_usage_error(CMD, "unknown subcommand '%s'", sub);
}
