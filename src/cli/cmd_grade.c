/* `dengbao grade`: 定级 — the protection level from the two GB/T 22240 dimensions, the matrix
 * used, and the duties that follow (data/grade/grade.yaml). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dengbao/grade.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: dengbao grade --business-object OBJ --business-degree DEG\n"
        "                     --service-object OBJ --service-degree DEG\n"
        "                     [--matrix gb22240-2020|draft-2018] [--hosts-level N]\n"
        "                     [--tables FILE] [--format text|json]\n"
        "\n"
        "定级 per GB/T 22240: each dimension (业务信息安全 business information, 系统服务安全\n"
        "system service) is an object harmed and a degree of harm; the level is the higher.\n"
        "  OBJ  citizen | society | nation\n"
        "       (公民、法人和其他组织的合法权益 / 社会秩序、公共利益 / 国家安全; also 公民, 法人,\n"
        "       合法权益, 社会秩序, 公共利益, 国家利益)\n"
        "  DEG  general | serious | especially-serious (一般损害 / 严重损害 / 特别严重损害;\n"
        "       also 严重危害, 特别严重危害)\n"
        "  --matrix M       gb22240-2020 (published, default) or draft-2018 (2018 draft, as in\n"
        "                   the reference deck: citizen + especially-serious = level 3)\n"
        "  --hosts-level N  a cloud platform: the highest level (1..5) of the systems it hosts;\n"
        "                   warns (exit 1) when the platform's level is lower (GB/T 22239\n"
        "                   8.2.2.1 a)\n"
        "  --tables FILE    grading tables (default: DATADIR/grade/grade.yaml)\n"
        "  --format F       text (default) or json\n"
        "Exit codes: 0 ok, 1 platform level below --hosts-level, 2 usage (unknown word),\n"
        "3 tables cannot be loaded.\n");
}

static const char *const level_names[] = {"", "第一级", "第二级", "第三级", "第四级", "第五级"};

static json_t *duties_json(const dbg_grade_duty **duties, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:b}", "id", duties[i]->id, "text",
                                           duties[i]->text, "source", duties[i]->source, "verified",
                                           duties[i]->verified));
    return a;
}

static int print_json(const dbg_grade_tables *t, const dbg_grade_result *r,
                      const dbg_grade_duty **duties, size_t n, const char *warning, int hosts)
{
    json_t *warnings = json_array();
    if (warning)
        json_array_append_new(warnings, json_string(warning));
    json_t *j = json_pack(
        "{s:s, s:s, s:s?, s:b, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:i, s:i, s:i, "
        "s:s, s:o, s:o}",
        "matrix", r->matrix->id, "matrix_title", r->matrix->title, "matrix_source",
        r->matrix->source, "matrix_verified", r->matrix->verified, "business", "object",
        r->business_object, "object_label", dbg_grade_object_label(t, r->business_object), "degree",
        r->business_degree, "degree_label", dbg_grade_degree_label(t, r->business_degree),
        "service", "object", r->service_object, "object_label",
        dbg_grade_object_label(t, r->service_object), "degree", r->service_degree, "degree_label",
        dbg_grade_degree_label(t, r->service_degree), "business_level", r->business_level,
        "service_level", r->service_level, "level", r->level, "level_name", level_names[r->level],
        "duties", duties_json(duties, n), "warnings", warnings);
    if (j && hosts)
        json_object_set_new(j, "hosts_level", json_integer(hosts));
    if (!j) {
        fprintf(stderr, "dengbao grade: cannot build JSON output\n");
        return -1;
    }
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    putchar('\n');
    json_decref(j);
    return 0;
}

/* The warning is part of the report: one kept on file as the grading's record must not say the
 * level without saying the platform is below what it hosts (stderr alone is not kept). */
static void print_text(const dbg_grade_tables *t, const dbg_grade_result *r,
                       const dbg_grade_duty **duties, size_t n, const char *warning)
{
    printf("定级 / grading (matrix %s: %s%s)\n", r->matrix->id, r->matrix->title,
           r->matrix->verified ? "" : "; unverified");
    printf("  业务信息安全 business information: %s / %s -> level %d\n",
           dbg_grade_object_label(t, r->business_object),
           dbg_grade_degree_label(t, r->business_degree), r->business_level);
    printf("  系统服务安全 system service:       %s / %s -> level %d\n",
           dbg_grade_object_label(t, r->service_object),
           dbg_grade_degree_label(t, r->service_degree), r->service_level);
    printf("  安全保护等级 level:                %d (%s)\n", r->level, level_names[r->level]);
    if (warning)
        printf("Warning: %s\n", warning);
    printf("Duties at level %d:\n", r->level);
    for (size_t i = 0; i < n; i++)
        printf("  - %s\n    source: %s%s\n", duties[i]->text, duties[i]->source,
               duties[i]->verified ? "" : " [unverified]");
}

/* A grading input given twice is refused, not overridden: with the last word winning,
 * "--business-object society --business-object citizen" graded citizen (level 1 or 2) without a
 * word, although the one who typed it saw society harmed. GB/T 22240 takes the highest level
 * when several objects are harmed; the user states which one that is. */
static int set_once(const char **slot, const char *opt, const char *value)
{
    if (*slot && strcmp(*slot, value) != 0) {
        dbg_cli_usage_error("grade",
                            "%s given twice ('%s', then '%s'); give one: when several objects or "
                            "degrees apply, the one giving the highest level (GB/T 22240)",
                            opt, *slot, value);
        return -1;
    }
    *slot = value;
    return 0;
}

int dbg_cmd_grade(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"business-object", required_argument, NULL, 'a'},
        {"business-degree", required_argument, NULL, 'b'},
        {"service-object", required_argument, NULL, 'c'},
        {"service-degree", required_argument, NULL, 'd'},
        {"matrix", required_argument, NULL, 'm'},
        {"hosts-level", required_argument, NULL, 'H'},
        {"tables", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *bo = NULL, *bd = NULL, *so = NULL, *sd = NULL, *matrix = NULL, *tables = NULL;
    const char *hosts_arg = NULL;
    long hosts = 0;
    dbg_format format = DBG_FORMAT_TEXT;
    if (dbg_cli_wants_help(argc, argv)) {
        usage(stdout);
        return DBG_EXIT_OK;
    }
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
        switch (c) {
        case 'a':
            if (set_once(&bo, "--business-object", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 'b':
            if (set_once(&bd, "--business-degree", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 'c':
            if (set_once(&so, "--service-object", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 'd':
            if (set_once(&sd, "--service-degree", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 'm':
            if (set_once(&matrix, "--matrix", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 't':
            if (set_once(&tables, "--tables", optarg) < 0)
                return DBG_EXIT_USAGE;
            break;
        case 'H':
            if (set_once(&hosts_arg, "--hosts-level", optarg) < 0)
                return DBG_EXIT_USAGE;
            if (dbg_parse_long(optarg, 1, 5, &hosts) < 0)
                return dbg_cli_usage_error("grade", "--hosts-level '%s' is not 1..5", optarg);
            break;
        case 'f':
            if (dbg_cli_parse_format("grade", optarg, 1u << DBG_FORMAT_TEXT | 1u << DBG_FORMAT_JSON,
                                     &format) < 0)
                return DBG_EXIT_USAGE;
            break;
        case ':':
            return dbg_cli_usage_error("grade", "option '%s' needs a value", argv[optind - 1]);
        default:
            return dbg_cli_usage_error("grade", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return dbg_cli_usage_error("grade", "unexpected argument '%s'", argv[optind]);
    dbg_grade_tables *t = dbg_grade_load(tables);
    if (!t)
        return dbg_cli_runtime_error("grade");
    int rc = DBG_EXIT_OK;
    char *warning = NULL; /* not DBG_AUTOFREE: the gotos below would skip its initialisation */
    const dbg_grade_duty **duties = NULL;
    const char *missing = !bo   ? "--business-object"
                          : !bd ? "--business-degree"
                          : !so ? "--service-object"
                          : !sd ? "--service-degree"
                                : NULL;
    if (missing) {
        int degrees = !strcmp(missing, "--business-degree") || !strcmp(missing, "--service-degree");
        char *words = dbg_grade_accepted_words(t, degrees);
        rc = dbg_cli_usage_error("grade", "missing %s (accepted: %s)", missing, words ? words : "");
        free(words);
        goto out;
    }
    dbg_grade_result r;
    if (dbg_grade_decide(t, matrix, bo, bd, so, sd, &r) < 0) {
        rc = dbg_cli_usage_error("grade", "%s", dbg_err_msg());
        goto out;
    }
    /* every duty of the level: a --tables file may list more than any fixed array holds */
    size_t n = dbg_grade_duties(t, r.level, NULL, 0);
    duties = dbg_calloc(n ? n : 1, sizeof(*duties));
    if (!duties) {
        rc = dbg_cli_runtime_error("grade");
        goto out;
    }
    dbg_grade_duties(t, r.level, duties, n);
    if (hosts > r.level) {
        const dbg_grade_duty *rule = dbg_grade_hosts_rule(t);
        warning = dbg_asprintf("platform level %d is below the level-%ld systems it hosts: %s (%s)",
                               r.level, hosts, rule ? rule->text : "raise the platform's level",
                               rule ? rule->source : "GB/T 22239-2019 8.2.2.1 a)");
        rc = DBG_EXIT_FINDINGS;
    }
    if (format == DBG_FORMAT_JSON) {
        if (print_json(t, &r, duties, n, warning, (int)hosts) < 0)
            rc = DBG_EXIT_RUNTIME;
    } else {
        print_text(t, &r, duties, n, warning);
    }
    if (warning)
        fprintf(stderr, "dengbao grade: warning: %s\n", warning);
out:
    free(duties);
    free(warning);
    dbg_grade_free(t);
    return rc;
}
