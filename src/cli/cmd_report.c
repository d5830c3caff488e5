/* `dengbao report`: re-render a saved assessment result (JSON from `dengbao assess
 * --format json`) as text, JSON, HTML or JUnit, without the platform. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_report.h"
#include "dengbao/assess.h"
#include "dengbao/checks.h"
#include "dengbao/report.h"

static void usage(void)
{
    printf("Usage: dengbao report RESULT.json [--format text|json|html|junit] [--lang zh|en]\n"
           "                      [-o FILE]\n"
           "\n"
           "Renders a saved `dengbao assess --format json` result again, e.g. as the Chinese or\n"
           "English HTML report. The file is validated against the result schema first; its\n"
           "verdict counts and gaps must agree with its items, and its score is recomputed\n"
           "from the items (verdict, weight, high_risk, waiver) with the scoring model assess\n"
           "uses (data/assess/scoring.yaml): the score and score after waivers, both\n"
           "conclusions (优/良/中/差), basic compliance, the bar, the open and unchecked\n"
           "high-risk counts (and of them those whose flag is unverified) and the waived\n"
           "count must equal the saved ones. A file that\n"
           "disagrees is refused, naming each field with its saved and recomputed value.\n"
           "A result does not save the model's deductions per verdict nor its high-risk rule:\n"
           "the model it names (score.model.name, formula, thresholds, bar) must be the one\n"
           "this dengbao has, else the file is refused (render it with the dengbao, or the\n"
           "DENGBAO_DATADIR, that assessed it). The items are held against the catalog the\n"
           "result names (the shipped one, or the file assess --catalog read): each of its\n"
           "items at the level once, none other, each with the catalog's weight,\n"
           "high_risk and high_risk_basis; a file that differs is refused naming the item\n"
           "and both values.\n"
           "\n"
           "      --format F        text (default), json, html or junit\n"
           "      --lang L          zh (default) or en\n"
           "  -o, --output FILE     write to FILE instead of standard output\n"
           "  -h, --help            this text\n"
           "\n"
           "Exit status: 0 rendered, 2 usage error, 3 unreadable or invalid result file, its\n"
           "summary or score not following from its items, its items not the catalog's, or\n"
           "the scoring model or catalog unreadable.\n");
}

/* The items' weight and high_risk against the catalog the result names (the shipped one,
 * under DENGBAO_DATADIR, or the file `assess --catalog` read). */
static int check_catalog(const json_t *result, const char *name, const dbg_score_model *m)
{
    const char *path = dbg_assess_result_catalog_path(result);
    dbg_catalog_opts copts = {.check_exists = dbg_check_exists, .unknown_check_is_error = 1};
    dbg_catalog *cat = dbg_catalog_load(path, &copts);
    if (!cat) {
        char why[512]; /* dbg_err_msg() is the buffer dbg_err_set writes */
        snprintf(why, sizeof(why), "%s", dbg_err_msg());
        dbg_err_set(dbg_err_code(),
                    "%s: $.catalog: the catalog the result was assessed with cannot be read "
                    "(%s), so its items' weights and high-risk flags cannot be checked",
                    name, why);
        return -1;
    }
    int r = dbg_assess_check_catalog(result, name, cat, path ? path : "shipped", m);
    dbg_catalog_free(cat);
    return r;
}

int dbg_cmd_report(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        usage();
        return DBG_EXIT_OK;
    }
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"lang", required_argument, NULL, 'L'},
        {"output", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    dbg_format fmt = DBG_FORMAT_TEXT;
    dbg_report_opts ro = {.lang = DBG_LANG_ZH};
    const char *out = NULL;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
        switch (c) {
        default:
            switch (dbg_cli_report_option("report", c, optarg, &fmt, &ro, &out)) {
            case 1:
                break;
            case 0:
                return dbg_cli_bad_option("report", argv);
            default:
                return DBG_EXIT_USAGE;
            }
        }
    }
    if (optind + 1 != argc)
        return dbg_cli_usage_error("report", "give exactly one result file");
    json_t *result = dbg_assess_load(argv[optind]);
    if (!result)
        return dbg_cli_runtime_error("report");
    /* the model assess scores with: the file's score is recomputed with it */
    dbg_score_model *model = dbg_score_model_load(NULL);
    if (!model || dbg_assess_check_summary(result, argv[optind], model) != 0 ||
        check_catalog(result, argv[optind], model) != 0 ||
        dbg_assess_check_gaps(result, argv[optind]) != 0) {
        dbg_score_model_free(model);
        json_decref(result);
        return dbg_cli_runtime_error("report");
    }
    dbg_score_model_free(model);
    int rc = DBG_EXIT_OK;
    if (dbg_cli_write_result(result, fmt, &ro, out) != 0)
        rc = dbg_cli_runtime_error("report");
    json_decref(result);
    return rc;
}
