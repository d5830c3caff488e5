/* `dengbao assess`: MLPS 2.0 assessment of a libvirt cloud (live, or a saved snapshot),
 * rendered as text, JSON, HTML or JUnit. Argument parsing only; the work is dbg_assess(). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_collect.h"
#include "cli/cli_report.h"
#include "dengbao/assess.h"
#include "dengbao/report.h"

static void usage(void)
{
    printf(
        "Usage: dengbao assess (-c URI [--host-root DIR] | --snapshot FILE) [--level N]\n"
        "                      [--catalog PATH] [--attest FILE] [--waivers FILE]\n"
        "                      [--attest-max-age DAYS] [--as-of DATE] [--baseline FILE]\n"
        "                      [--hosts-level N]\n"
        "                      [--format text|json|html|junit] [--lang zh|en] [-o FILE]\n"
        "\n"
        "Assesses a KVM/libvirt cloud against GB/T 22239-2019 (MLPS 2.0): every catalog item\n"
        "of the level gets a verdict (符合 部分符合 不符合 不适用 未检查) backed by evidence, the\n"
        "score, the conclusion (优 良 中 差) and the gap summary with remediation.\n"
        "\n"
        "  -c, --connect URI     collect live through libvirt (qemu:///system, test:///abs.xml)\n"
        "      --host-root DIR   host configuration files under DIR (default /)\n"
        "      --controls-dir D  status files of dengbao's controls (default "
        "DIR/run/dengbao/status)\n"
        "      --snapshot FILE   evaluate a snapshot written by `dengbao collect` instead\n"
        "      --level N         protection level of the platform, 1..4 (default 3)\n"
        "      --hosts-level N   highest level (1..5) of the systems the platform hosts (8.2.2.1a)\n"
        "      --catalog PATH    requirement catalog file or directory (default: shipped)\n"
        "      --attest FILE     YAML attestations for manual items (else they are 未检查)\n"
        "                        and for checked items their checks could not decide;\n"
        "                        a 不适用 one needs a note giving the reason\n"
        "      --attest-max-age DAYS  an attestation dated more than DAYS days before the\n"
        "                        collection is from an earlier assessment: not applied\n"
        "                        (default: the level's assessment period, 366 at level 3,\n"
        "                        184 at level 4, 731 at level 2, none at level 1)\n"
        "      --as-of DATE      assess as things stood on DATE (YYYY-MM-DD, its first\n"
        "                        moment in UTC, or an RFC 3339 time with Z or an offset,\n"
        "                        as 2026-11-25T15:30:00+08:00), not after the\n"
        "                        collection: attestations dated after DATE or older than\n"
        "                        the age limit at DATE are refused, waivers expired by\n"
        "                        DATE ignored; reproduces an earlier assessment, and the\n"
        "                        report says it is dated DATE (default: the collection)\n"
        "      --waivers FILE    YAML waivers of accepted findings (expired ones are ignored)\n"
        "      --baseline FILE   an earlier JSON result: report regressions and improvements\n"
        "      --format F        text (default), json, html or junit\n"
        "      --lang L          zh (default) or en, for text, html and junit\n"
        "  -o, --output FILE     write the report to FILE and print the text summary\n"
        "  -h, --help            this text\n"
        "\n"
        "The score model (data/assess/scoring.yaml) is stated in every report.\n"
        "Exit status: 0 the conclusion meets the bar (score after waivers >= 75 and no open\n"
        "high-risk item, nor one left 未检查, unless waived), 1 findings, 2 usage error,\n"
        "3 runtime error (unreachable URI, malformed snapshot, attestation, waiver or\n"
        "baseline file).\n");
}

/* --as-of: a day (its first microsecond, UTC, as an attestation's date starts) or an RFC 3339
 * time, no later than now (a day: begun somewhere, as today's date in Beijing before 08:00):
 * an assessment dated on a day that has not come would judge attestations and waivers nobody
 * could have held yet. */
static int parse_as_of(const char *v, int64_t *out, int *day)
{
    int64_t us = 0;
    /* a time without a zone gets the parser's words: add Z or +08:00 (taken as UTC, a time
     * typed in Beijing dated the assessment 8 hours late) */
    if (dbg_time_parse_rfc3339(v, &us) != 0 && strlen(v) > 10 && v[10] == 'T')
        return dbg_cli_usage_error("assess",
                                   "--as-of must be a date YYYY-MM-DD or an RFC 3339 time "
                                   "after 1970: %s",
                                   dbg_err_msg());
    if (us <= 0)
        return dbg_cli_usage_error("assess",
                                   "--as-of must be a date YYYY-MM-DD or an RFC 3339 time "
                                   "after 1970, not '%s'",
                                   v);
    *day = strlen(v) == 10; /* YYYY-MM-DD: the one form of that length */
    if (us - (*day ? DBG_DATE_BEGUN_US : 0) > dbg_now_us())
        return dbg_cli_usage_error("assess", "--as-of %s is in the future", v);
    *out = us;
    return 0;
}

/* The platform is assessed at 1..4 (GB/T 22239 has no level-5 requirements); a system it
 * hosts may be graded 5 (dengbao grade), which 8.2.2.1a must then be able to fail. */
static int parse_level(const char *what, const char *v, long max, int *out)
{
    long l;
    if (dbg_parse_long(v, 1, max, &l) != 0)
        return dbg_cli_usage_error("assess", "%s must be 1..%ld, not '%s'", what, max, v);
    *out = (int)l;
    return 0;
}

int dbg_cmd_assess(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    static const struct option longopts[] = {
        DBG_CLI_COLLECT_LONGOPTS,
        {"snapshot", required_argument, NULL, 's'},
        {"level", required_argument, NULL, 'l'},
        {"hosts-level", required_argument, NULL, 'H'},
        {"catalog", required_argument, NULL, 'k'},
        {"attest", required_argument, NULL, 'a'},
        {"attest-max-age", required_argument, NULL, 'A'},
        {"as-of", required_argument, NULL, 'D'},
        {"waivers", required_argument, NULL, 'w'},
        {"baseline", required_argument, NULL, 'b'},
        {"format", required_argument, NULL, 'f'},
        {"lang", required_argument, NULL, 'L'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    dbg_assess_opts o = {.level = 3, .hosts_level = -1};
    dbg_format fmt = DBG_FORMAT_TEXT;
    dbg_report_opts ro = {.lang = DBG_LANG_ZH};
    const char *out = NULL;
    const dbg_cli_collect_dest platform = {&o.uri, &o.host_root, &o.controls_dir};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+c:o:", longopts, NULL)) != -1) {
        if (dbg_cli_collect_option(c, optarg, &platform))
            continue;
        switch (c) {
        case 's':
            o.snapshot_path = optarg;
            break;
        case 'l':
            if (parse_level("--level", optarg, 4, &o.level))
                return DBG_EXIT_USAGE;
            break;
        case 'H':
            if (parse_level("--hosts-level", optarg, 5, &o.hosts_level))
                return DBG_EXIT_USAGE;
            break;
        case 'k':
            o.catalog_path = optarg;
            break;
        case 'a':
            o.attest_path = optarg;
            break;
        case 'A': {
            long days;
            if (dbg_parse_long(optarg, 1, 36500, &days) != 0)
                return dbg_cli_usage_error("assess",
                                           "--attest-max-age must be a number of days, "
                                           "1..36500, not '%s'",
                                           optarg);
            o.attest_max_age_days = (int)days;
            break;
        }
        case 'D':
            if (parse_as_of(optarg, &o.as_of_us, &o.as_of_day))
                return DBG_EXIT_USAGE;
            break;
        case 'w':
            o.waivers_path = optarg;
            break;
        case 'b':
            o.baseline_path = optarg;
            break;
        default:
            switch (dbg_cli_report_option("assess", c, optarg, &fmt, &ro, &out)) {
            case 1:
                break;
            case 0:
                return dbg_cli_bad_option("assess", argv);
            default:
                return DBG_EXIT_USAGE;
            }
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error("assess", "unexpected argument '%s'", argv[optind]);
    if (!o.uri == !o.snapshot_path)
        return dbg_cli_usage_error("assess", "give exactly one of -c URI or --snapshot FILE");
    if (o.snapshot_path && (o.host_root || o.controls_dir))
        return dbg_cli_usage_error("assess", "--host-root and --controls-dir need -c URI");
    if (dbg_cli_check_collect_dirs("assess", o.host_root, o.controls_dir))
        return DBG_EXIT_USAGE;

    json_t *result = dbg_assess(&o);
    if (!result)
        return dbg_cli_runtime_error("assess");
    int rc;
    if (dbg_cli_write_result(result, fmt, &ro, out) == 0) {
        rc = dbg_assess_meets_bar(result) ? DBG_EXIT_OK : DBG_EXIT_FINDINGS;
        if (!dbg_cli_out_is_stdout(out)) {
            /* The report went to a file: show the summary here. */
            dbg_report_opts so = {.lang = ro.lang,
                                  .summary_only = 1,
                                  .color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR")};
            char *sum = dbg_report_render(result, DBG_REPORT_TEXT, &so);
            if (sum)
                fputs(sum, stdout);
            free(sum);
        }
    } else {
        rc = dbg_cli_runtime_error("assess");
    }
    json_decref(result);
    return rc;
}
