/* `dengbao store`: feed agents' EVE alerts into the central store and query it, as the provider
 * (everything) or as one tenant (only events concerning it). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "dengbao/store.h"

static void usage(void)
{
    printf("Usage: dengbao store ingest --db URL [--host NAME] FILE...\n"
           "       dengbao store query --db URL [--tenant T] [--kind K] [--type T]\n"
           "                           [--since TIME] [--until TIME] [--after ID] [--limit N]\n"
           "                           [--format text|json]\n\n"
           "URL: sqlite:PATH (default backend) or postgresql://... (central server).\n"
           "ingest reads EVE JSON lines (alerts from `dengbao sensor`, `dengbao agent`, Suricata)\n"
           "from each FILE ('-' = stdin); a malformed line is reported with file:line and skipped.\n"
           "An EVE \"timestamp\" may end in Z, +08:00 or Suricata's +0800; one without a zone is\n"
           "taken as UTC.\n"
           "An event identical to one stored before (same host, same record) is skipped and\n"
           "counted as a duplicate, so resending a file stores nothing twice.\n"
           "Each FILE is committed on its own: when one fails, the message names the files\n"
           "committed before it, and nothing of the failed one or those after it is stored.\n"
           "Standard input is committed whenever no more input is waiting, so a stream that\n"
           "does not end (tail -F eve.json | ...) is stored as it comes.\n"
           "An event's kind is its EVE event_type (alert, flow, ...; alert when absent): --kind K;\n"
           "--type T is the alert signature (port_scan, cross_tenant, ...).\n"
           "query reads a store that exists (a SQLite path naming none is an error, exit 3).\n"
           "query without --tenant is the provider's view; with --tenant, only events whose\n"
           "source or target tenant is T (the tenant's own centralized audit, 8.2.5.1c).\n"
           "The tenant id 'provider' is reserved as in `dengbao serve` without --policy:\n"
           "query --tenant provider is refused, and ingest rejects lines naming it.\n"
           "query lists oldest first (by time); --limit N stops after N events.\n"
           "--since T lists events at T and after, --until T those before T (not at T):\n"
           "--since 2026-12-07 --until 2026-12-08 is that UTC day; ranges end to end list an\n"
           "event once.\n"
           "TIME: RFC 3339 with Z or an offset (2026-12-07T08:00:00Z = 2026-12-07T16:00:00+08:00;\n"
           "a time without one is refused), or a date YYYY-MM-DD (its first moment in UTC,\n"
           "08:00 in Beijing; a note on stderr says so).\n"
           "--after ID lists in the order stored instead, only events with an id\n"
           "above ID (0 = from the first), as GET /api/v1/events?after=ID does: a\n"
           "script pages with --after ID --limit N, each page resuming at the last\n"
           "id of the one before (\"id\" in --format json); an event delivered late\n"
           "with an old time is still listed, once. With --after, stderr ends with\n"
           "the next cursor: 'more events: next page with --after N' when --limit\n"
           "cut the list, else 'no more events now: later ones with --after N'.\n"
           "Exit: 0 ok, 1 some lines were rejected, 2 usage, 3 runtime error.\n");
}

typedef struct {
    long added, duplicates, rejected;
} ingest_counts;

/* Events read from a FILE and not yet handed to the store. They go as one dbg_store_add_batch
 * (PostgreSQL: INSERTs of many rows, not one statement per line) when INGEST_BATCH_EVENTS or
 * INGEST_BATCH_BYTES of records are pending, before a rejected line is reported, and at the end
 * of the FILE. Reporting a line only once the events before it are stored keeps the output of a
 * failing store as it was when each line was stored as read: it stops at the failure. */
#define INGEST_BATCH_EVENTS 1000
#define INGEST_BATCH_BYTES (4u << 20)
typedef struct {
    const dbg_store_event *evs[INGEST_BATCH_EVENTS];
    dbg_store_event ev[INGEST_BATCH_EVENTS];
    void *owned[INGEST_BATCH_EVENTS];
    int result[INGEST_BATCH_EVENTS];
    size_t n, bytes;
} pending_events;

static void pending_drop(pending_events *p)
{
    for (size_t i = 0; i < p->n; i++)
        dbg_store_eve_owned_free(p->owned[i]);
    p->n = p->bytes = 0;
}

static int pending_store(dbg_store *st, pending_events *p, ingest_counts *n_out)
{
    for (size_t i = 0; i < p->n; i++)
        p->evs[i] = &p->ev[i];
    int r = p->n ? dbg_store_add_batch(st, p->evs, p->n, p->result) : 0;
    for (size_t i = 0; i < p->n; i++) {
        /* an identical event stored before (a resent shipment) is no new one */
        if (p->result[i] == DBG_STORE_DUPLICATE)
            n_out->duplicates++;
        else if (p->result[i] == 0)
            n_out->added++;
    }
    pending_drop(p);
    return r;
}

/* A record line is at most this long (without its end); the reader keeps that and its end. */
#define INGEST_LINE_MAX ((size_t)1 << 20)

/* One line of f, as getline reads it (its '\n' kept, NUL bytes too), but at most max bytes of it
 * kept in *line: the rest, to the newline, is read and dropped, and *full says how long the line
 * was. getline held any line whole: a 300 MB line without a newline took 300 MB, and where that
 * failed (ENOMEM) it ended like the end of the file, so the lines after it were never read and
 * the file committed as whole ("1 events stored", exit 0). Returns the bytes kept, -1 at the end
 * of the file, -2 on a read or allocation error (errno set). */
static ssize_t read_line_max(FILE *f, char **line, size_t *cap, size_t max, size_t *full)
{
    size_t kept = 0, total = 0;
    int c;
    while ((c = getc_unlocked(f)) != EOF) {
        if (kept < max) {
            if (kept + 2 > *cap) {
                size_t grown = *cap ? *cap * 2 : 4096;
                grown = grown > max + 1 ? max + 1 : grown;
                char *p = realloc(*line, grown);
                if (!p) {
                    errno = ENOMEM;
                    return -2;
                }
                *line = p;
                *cap = grown;
            }
            (*line)[kept++] = (char)c;
        }
        total++;
        if (c == '\n')
            break;
    }
    if (ferror(f))
        return -2;
    if (total == 0)
        return -1;
    (*line)[kept] = '\0';
    *full = total;
    return (ssize_t)kept;
}

/* Standard input with nothing more waiting: neither in stdio's buffer (glibc's read pointers)
 * nor in the pipe. */
static int input_idle(FILE *f)
{
    if (f->_IO_read_ptr < f->_IO_read_end)
        return 0;
    struct pollfd pfd = {.fd = fileno(f), .events = POLLIN};
    return poll(&pfd, 1, 0) == 0;
}

/* Stores what is pending and commits it, then opens the next transaction. */
static int commit_burst(dbg_store *st, pending_events *pend, ingest_counts *n_out)
{
    return pending_store(st, pend, n_out) < 0 || dbg_store_commit(st) < 0 ||
                   dbg_store_begin(st) < 0
               ? -1
               : 0;
}

static int ingest_file(dbg_store *st, const char *path, const char *host, ingest_counts *n_out)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
    if (!f) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open", path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int r = 0;
    pending_events *pend = dbg_calloc(1, sizeof(*pend));
    if (!pend || dbg_store_begin(st) < 0) {
        r = -1;
        goto out;
    }
    size_t full = 0;
    /* the line's end (CR LF) is kept beyond the limit, so a line of exactly 1 MiB is taken */
    while ((n = read_line_max(f, &line, &cap, INGEST_LINE_MAX + 2, &full)) >= 0) {
        lineno++;
        /* the line without its end, as POST /api/v1/events reads it: given to the parser, the
         * newline made a line cut short fail at "column 0" of the line after it. Trailing blanks
         * go too, as there: a line of spaces was a rejected line here (exit 1), skipped there. */
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
                         line[n - 1] == '\t'))
            line[--n] = '\0';
        /* a file saved by Windows tools starts with a UTF-8 byte order mark, which RFC 8259
         * lets a reader ignore: the first record was rejected "near '\xEF\xBB\xBF'", a mark
         * no terminal shows */
        char *rec = line;
        if (lineno == 1 && n >= 3 && !memcmp(line, "\xEF\xBB\xBF", 3)) {
            rec += 3;
            n -= 3;
        }
        if (n == 0) {
            if (f == stdin && input_idle(f) && commit_burst(st, pend, n_out) < 0) {
                r = -1;
                break;
            }
            continue;
        }
        char why[1024] = "";
        dbg_store_event ev;
        void *owned = NULL;
        if ((size_t)n > INGEST_LINE_MAX || full > INGEST_LINE_MAX + 2) {
            snprintf(why, sizeof(why), "line longer than 1 MiB");
        } else if (memchr(rec, 0, (size_t)n)) {
            /* the JSON parser would stop at the NUL and store the line's first part as the whole */
            snprintf(why, sizeof(why), "NUL byte in the line");
        } else if (dbg_store_event_from_eve(rec, host, &ev, &owned) < 0) {
            snprintf(why, sizeof(why), "%s", dbg_err_msg());
        } else if (dbg_tenant_reserved(ev.tenant) || dbg_tenant_reserved(ev.tenant2)) {
            /* as POST /api/v1/events refuses it: stored, a serve without --policy would hold
             * events as that tenant's */
            dbg_store_eve_owned_free(owned);
            snprintf(why, sizeof(why), "tenant 'provider': %s", DBG_TENANT_RESERVED_WHY);
        }
        if (why[0]) {
            if (pending_store(st, pend, n_out) < 0) {
                r = -1;
                break;
            }
            fprintf(stderr, "dengbao store: %s:%ld: %s, skipped\n", path, lineno, why);
            n_out->rejected++;
        } else {
            pend->ev[pend->n] = ev;
            pend->owned[pend->n++] = owned;
            pend->bytes += strlen(ev.body);
            if ((pend->n == INGEST_BATCH_EVENTS || pend->bytes >= INGEST_BATCH_BYTES) &&
                pending_store(st, pend, n_out) < 0) {
                r = -1;
                break;
            }
        }
        /* Standard input may never end (`tail -F eve.json | ... ingest -`): one transaction for
         * it stored nothing a query could see until the end, held SQLite's write lock, and on
         * PostgreSQL a pause of 60 s ended the session and lost all of it. So what has come is
         * committed whenever no more input is waiting. */
        if (f == stdin && input_idle(f) && commit_burst(st, pend, n_out) < 0) {
            r = -1;
            break;
        }
    }
    /* a read error (a directory, EIO, no memory for a line): the lines read so far are not the
     * file, so none of them is committed (of standard input: none since the last commit) */
    if (r == 0 && n == -2) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot read (after line %ld; nothing of it stored)", path,
                      lineno);
        r = -1;
    }
    if (r == 0 && (pending_store(st, pend, n_out) < 0 || dbg_store_commit(st) < 0))
        r = -1;
out:
    if (pend)
        pending_drop(pend);
    free(pend);
    free(line);
    if (f != stdin)
        fclose(f);
    return r;
}

/* Each FILE commits on its own: when files[failed] fails, the ones before it are stored and
 * stay so. Says which, and that nothing of the failed one and the rest was. */
static void report_stopped_ingest(char **files, int failed, int nfiles, const ingest_counts *n)
{
    fprintf(stderr, "dengbao store: stopped at %s, nothing of it stored; ", files[failed]);
    if (failed == 0) {
        fprintf(stderr, "committed before it: none");
    } else {
        fprintf(stderr, "committed before it: ");
        for (int i = 0; i < failed; i++)
            fprintf(stderr, "%s%s", i ? ", " : "", files[i]);
        fprintf(stderr, " (%ld events stored, %ld duplicates skipped, %ld lines rejected)",
                n->added, n->duplicates, n->rejected);
    }
    if (failed + 1 < nfiles) {
        fprintf(stderr, "; not read: ");
        for (int i = failed + 1; i < nfiles; i++)
            fprintf(stderr, "%s%s", i > failed + 1 ? ", " : "", files[i]);
    }
    fputc('\n', stderr);
}

typedef struct {
    int json;
    long count;
    int64_t last_id; /* of the last event printed */
    int64_t print_max; /* > 0: print this many, stop at the next (it says there are more) */
    int more;
} query_ctx;

static int print_event(const dbg_store_event *ev, void *opaque)
{
    query_ctx *q = opaque;
    if (q->print_max > 0 && q->count >= q->print_max) {
        q->more = 1;
        return 1;
    }
    char ts[64];
    dbg_time_rfc3339(ev->time_us, ts, sizeof(ts));
    /* Hosts stored before they were repaired on the way in may not be UTF-8, which JSON refuses. */
    DBG_AUTOFREE char *host = dbg_utf8_sanitize(ev->host, strlen(ev->host));
    if (!host)
        return -1;
    if (q->json) {
        json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", (json_int_t)ev->id, "time",
                              ts, "kind", ev->kind, "host", host, "type", ev->type, "clause",
                              ev->clause, "tenant", ev->tenant, "tenant2", ev->tenant2);
        json_t *body = json_loads(ev->body, 0, NULL);
        if (o && body)
            json_object_set_new(o, "record", body);
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (!s) {
            dbg_err_set(DBG_ERR_NOMEM, "cannot print event %lld", (long long)ev->id);
            return -1;
        }
        printf("%s\n", s);
        free(s);
    } else {
        /* records come from agents and tenants' names: their control characters are shown,
         * never sent to the terminal */
        const char *field[6] = {ev->kind,
                                ev->type,
                                *ev->clause ? ev->clause : "-",
                                *ev->tenant ? ev->tenant : "-",
                                *ev->tenant2 ? ev->tenant2 : "-",
                                host};
        char *shown[6];
        int failed = 0;
        for (size_t i = 0; i < 6; i++)
            if ((shown[i] = dbg_text_visible(field[i], &failed)))
                field[i] = shown[i];
        if (!failed)
            printf("%s  %-6s %-22s %-10s %-12s %-12s %s\n", ts, field[0], field[1], field[2],
                   field[3], field[4], field[5]);
        for (size_t i = 0; i < 6; i++)
            free(shown[i]);
        if (failed) {
            dbg_err_set(DBG_ERR_NOMEM, "cannot print event %lld", (long long)ev->id);
            return -1;
        }
    }
    q->count++;
    q->last_id = ev->id;
    return 0;
}

/* Each subcommand's options; any other is a usage error. Taken and ignored, `query --host
 * hv-01` listed every host's events and `ingest --tenant T` stored the lines' own tenants. */
static const char *const ingest_takes[] = {"db", "host", "help", NULL};
static const char *const query_takes[] = {"db",    "tenant", "kind",  "type",   "since",
                                          "until", "limit",  "after", "format", "help", NULL};

int dbg_cmd_store(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"host", required_argument, NULL, 'H'},
        {"tenant", required_argument, NULL, 't'}, {"kind", required_argument, NULL, 'k'},
        {"type", required_argument, NULL, 'y'},   {"since", required_argument, NULL, 's'},
        {"until", required_argument, NULL, 'u'},  {"limit", required_argument, NULL, 'l'},
        {"format", required_argument, NULL, 'f'}, {"after", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    if (argc < 2 || dbg_cli_wants_help(argc, argv)) {
        usage();
        return argc < 2 ? DBG_EXIT_USAGE : DBG_EXIT_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "ingest") && strcmp(sub, "query"))
        return dbg_cli_usage_error("store", "unknown subcommand '%s' (ingest|query)", sub);
    const char *db = NULL, *host = NULL, *since_arg = NULL, *until_arg = NULL;
    dbg_store_filter f = {0};
    dbg_format fmt = DBG_FORMAT_TEXT;
    long limit = 0;
    int c;
    const char *const *takes = !strcmp(sub, "ingest") ? ingest_takes : query_takes;
    optind = 2;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (!dbg_cli_option_taken(opts, takes, c))
            return dbg_cli_option_refused("store", sub, opts, c, NULL);
        switch (c) {
        case 'd': db = optarg; break;
        case 'H': host = optarg; break;
        case 't':
            /* "" is the tenant column of the provider's own events, and the second branch of a
             * tenant's view (tenant2="" and tenant<>"") every event of one tenant alone: an
             * unset `--tenant "$T"` listed nearly the provider's whole view as a tenant's */
            if (!optarg[0])
                return dbg_cli_usage_error("store", "--tenant: an empty tenant id names no "
                                           "tenant; the provider's view is query without --tenant");
            /* as serve refuses ?tenant=provider: the provider's view is query without --tenant */
            if (dbg_tenant_reserved(optarg))
                return dbg_cli_usage_error("store", "--tenant: %s; the provider's view is query "
                                           "without --tenant", DBG_TENANT_RESERVED_WHY);
            f.tenant = optarg;
            break;
        case 'k': f.kind = optarg; break;
        case 'y': f.type = optarg; break;
        case 's':
            if (dbg_cli_time_option("store", "--since", optarg, &f.since_us) < 0)
                return DBG_EXIT_USAGE;
            since_arg = optarg;
            break;
        case 'u':
            if (dbg_cli_time_option("store", "--until", optarg, &f.until_us) < 0)
                return DBG_EXIT_USAGE;
            until_arg = optarg;
            /* 0 is "no bound" to the query: the epoch itself listed every event */
            if (f.until_us <= 0)
                return dbg_cli_usage_error("store", "--until: '%s' is not after "
                                           "1970-01-01T00:00:00Z (the epoch)", optarg);
            break;
        case 'l':
            if (dbg_parse_long(optarg, 1, 1000000000L, &limit) < 0)
                return dbg_cli_usage_error("store", "--limit: %s", dbg_err_msg());
            f.limit = limit;
            break;
        case 'a': {
            long after;
            if (dbg_parse_long(optarg, 0, LONG_MAX, &after) < 0)
                return dbg_cli_usage_error("store", "--after: '%s' is not an event id (a number "
                                           "from 0)", optarg);
            f.stored_order = 1;
            f.after_id = after;
            break;
        }
        case 'f':
            if (dbg_cli_parse_format("store", optarg, 1u << DBG_FORMAT_TEXT | 1u << DBG_FORMAT_JSON, &fmt) < 0)
                return DBG_EXIT_USAGE;
            break;
        default:
            return dbg_cli_bad_option("store", argv);
        }
    }
    if (!db)
        return dbg_cli_usage_error("store", "--db is required");
    /* bounds given the wrong way round listed nothing, exit 0: to an assessor, a period without
     * events */
    if (since_arg && until_arg && f.since_us >= f.until_us)
        return dbg_cli_usage_error("store", "--since %s is not before --until %s: no event is in "
                                   "that range (since <= time < until)", since_arg, until_arg);
    if (!strcmp(sub, "ingest") && optind >= argc)
        return dbg_cli_usage_error("store", "ingest needs at least one FILE");
    if (!strcmp(sub, "query") && optind < argc)
        return dbg_cli_usage_error("store", "unexpected argument '%s'", argv[optind]);

    /* Opening a SQLite path makes the file: a query of a mistyped path printed no events,
     * exit 0, as for an empty store, and left an empty store behind. Only ingest (and serve)
     * make one. */
    if (!strcmp(sub, "query") && strncmp(db, "postgresql://", 13) != 0 &&
        strncmp(db, "postgres://", 11) != 0) {
        const char *path = strncmp(db, "sqlite:", 7) ? db : db + 7;
        struct stat sb;
        if (strcmp(path, ":memory:") != 0 && stat(path, &sb) != 0) {
            fprintf(stderr, "dengbao store: --db %s: no such SQLite store (%s); query makes none: "
                    "`dengbao store ingest` or `dengbao serve` creates one\n", db,
                    strerror(errno));
            return DBG_EXIT_RUNTIME;
        }
    }
    dbg_store *st = dbg_store_open(db);
    if (!st)
        return dbg_cli_runtime_error("store");
    /* `ingest --db ""` (an unset "$DB") or :memory: stored into a database gone at exit and
     * said "N events stored", exit 0: the events were lost */
    if (dbg_store_temporary(st)) {
        dbg_store_close(st);
        return dbg_cli_usage_error("store", "--db '%s' is a temporary SQLite database, gone when "
                                   "the command ends: %s", db, !strcmp(sub, "ingest")
                                   ? "nothing ingested into it would be kept"
                                   : "it holds no events to query");
    }
    int rc = DBG_EXIT_OK;
    if (!strcmp(sub, "ingest")) {
        ingest_counts n = {0};
        for (int i = optind; i < argc; i++) {
            ingest_counts file_n = {0};
            if (ingest_file(st, argv[i], host, &file_n) < 0) {
                rc = dbg_cli_runtime_error("store");
                report_stopped_ingest(argv + optind, i - optind, argc - optind, &n);
                break;
            }
            n.added += file_n.added;
            n.duplicates += file_n.duplicates;
            n.rejected += file_n.rejected;
        }
        if (rc == DBG_EXIT_OK) {
            fprintf(stderr,
                    "dengbao store: %ld events stored in %s, %ld duplicates skipped (stored "
                    "before), %ld lines rejected\n",
                    n.added, dbg_store_backend(st), n.duplicates, n.rejected);
            rc = n.rejected ? DBG_EXIT_FINDINGS : DBG_EXIT_OK;
        }
    } else {
        query_ctx q = {.json = fmt == DBG_FORMAT_JSON, .last_id = f.after_id};
        /* A page asks for one more than it prints: that one says whether --limit cut the list. */
        if (f.stored_order && f.limit) {
            q.print_max = f.limit;
            f.limit++;
        }
        if (dbg_store_query(st, &f, print_event, &q) < 0)
            rc = dbg_cli_runtime_error("store");
        else if (f.stored_order && q.more)
            fprintf(stderr, "dengbao store: more events: next page with --after %lld\n",
                    (long long)q.last_id);
        else if (f.stored_order)
            fprintf(stderr, "dengbao store: no more events now: later ones with --after %lld\n",
                    (long long)q.last_id);
    }
    dbg_store_close(st);
    return rc;
}
