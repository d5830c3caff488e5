/* `dengbao catalog list|show|validate`: browse the MLPS 2.0 requirement catalog
 * (data/catalog/ or --catalog PATH) as text or JSON. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dengbao/catalog.h"
#include "dengbao/checks.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: dengbao catalog list [--level N] [--extension cloud|general] [--layer NAME]\n"
        "                            [--catalog PATH] [--format text|json]\n"
        "       dengbao catalog show ID-or-CLAUSE [--level N] [--catalog PATH] [--format "
        "text|json]\n"
        "       dengbao catalog validate [--catalog PATH]\n"
        "\n"
        "The GB/T 22239-2019 (MLPS 2.0) requirement items dengbao knows, one per level.\n"
        "  list       items matching all filters\n"
        "  show       one item by id (L3-cloud-8.2.4.3b) or clause (8.2.4.3b, '8.2.4.3 b)',\n"
        "             8.2.4.3（b）);\n"
        "             with --level N a clause of another level gives the same requirement at N\n"
        "  validate   load the catalog and report problems as file:line:column\n"
        "Options:\n"
        "  --level N            1..4\n"
        "  --extension E        cloud (云计算安全扩展要求) or general (安全通用要求)\n"
        "  --layer NAME         layer in Chinese (安全计算环境) or: physical, network, boundary,\n"
        "                       compute, center, policy, organization, personnel, construction,\n"
        "                       operation\n"
        "  --catalog PATH       a catalog file or directory (default: DATADIR/catalog)\n"
        "  --format text|json   output format (default text)\n"
        "Each subcommand takes only the options its usage line shows; any other is a usage\n"
        "error.\n"
        "Exit codes: 0 ok, 2 usage error or no such item, 3 catalog cannot be loaded.\n");
}

/* English shorthands for the ten layers (层面) of GB/T 22239-2019. */
static const struct {
    const char *alias, *name;
} layer_names[] = {
    {"physical", "安全物理环境"},     {"network", "安全通信网络"},
    {"boundary", "安全区域边界"},     {"compute", "安全计算环境"},
    {"center", "安全管理中心"},       {"policy", "安全管理制度"},
    {"organization", "安全管理机构"}, {"personnel", "安全管理人员"},
    {"construction", "安全建设管理"}, {"operation", "安全运维管理"},
};

static const char *resolve_layer(const char *s)
{
    for (size_t i = 0; i < sizeof(layer_names) / sizeof(layer_names[0]); i++) {
        if (!strcmp(s, layer_names[i].alias) || !strcmp(s, layer_names[i].name))
            return layer_names[i].name;
    }
    return NULL;
}

typedef struct {
    int level;
    int have_ext;
    dbg_extension ext;
    const char *layer;
    const char *catalog;
    dbg_format format;
} options;

static json_t *str_array(char **list, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(list[i]));
    return a;
}

static json_t *item_json(const dbg_item *it)
{
    char source[512];
    snprintf(source, sizeof(source), "%s:%d:%d", it->src_file, it->src_line, it->src_column);
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:s}, s:f, "
        "s:s?, s:b, s:{s:b, s:s?, s:s*}, s:o, s:b, s:s?, s:s?, s:b, s:s?, s:s}",
        "id", it->id, "requirement", it->requirement, "clause", it->clause, "level", it->level,
        "extension", dbg_extension_name(it->extension), "layer", it->layer, "control_point",
        it->control_point, "text", it->text, "objects", str_array(it->objects, it->n_objects),
        "responsibility", "iaas", dbg_responsibility_name(it->resp_iaas), "paas",
        dbg_responsibility_name(it->resp_paas), "saas", dbg_responsibility_name(it->resp_saas),
        "weight", it->weight, "importance", it->importance, "high_risk", it->high_risk,
        "high_risk_basis", "verified", it->high_risk_verified, "source", it->high_risk_source,
        "source_en", it->high_risk_source_en, "checks", str_array(it->checks, it->n_checks),
        "manual", it->n_checks == 0, "remediation", it->remediation, "remediation_en",
        it->remediation_en, "verified", it->verified, "note", it->note, "source", source);
}

static int print_json(json_t *j)
{
    if (!j) {
        fprintf(stderr, "dengbao catalog: cannot build JSON output\n");
        return DBG_EXIT_RUNTIME;
    }
    int rc =
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 ? 0 : DBG_EXIT_RUNTIME;
    putchar('\n');
    json_decref(j);
    if (rc)
        fprintf(stderr, "dengbao catalog: cannot write the JSON output to standard output\n");
    return rc;
}

static void print_item_text(const dbg_item *it)
{
    printf("%s\n", it->id);
    printf("  clause:          %s (level %d, %s)\n", it->clause, it->level,
           it->extension == DBG_EXT_CLOUD ? "云计算安全扩展要求" : "安全通用要求");
    printf("  layer:           %s\n", it->layer);
    printf("  control point:   %s\n", it->control_point);
    printf("  text:            %s\n", it->text);
    printf("  objects:         ");
    for (size_t i = 0; i < it->n_objects; i++)
        printf("%s%s", i ? "; " : "", it->objects[i]);
    printf("%s\n", it->n_objects ? "" : "-");
    printf("  responsibility:  IaaS %s, PaaS %s, SaaS %s\n", dbg_responsibility_name(it->resp_iaas),
           dbg_responsibility_name(it->resp_paas), dbg_responsibility_name(it->resp_saas));
    printf("  weight:          %g%s%s%s\n", it->weight, it->importance ? " (" : "",
           it->importance ? it->importance : "", it->importance ? ")" : "");
    printf("  high risk:       %s\n", it->high_risk ? "yes" : "no");
    printf("  high risk basis: %s (%s)\n", it->high_risk_verified ? "verified" : "unverified",
           it->high_risk_source ? it->high_risk_source : "the catalog file states none");
    printf("  checks:          ");
    for (size_t i = 0; i < it->n_checks; i++)
        printf("%s%s", i ? ", " : "", it->checks[i]);
    printf("%s\n", it->n_checks ? "" : "none (manual item)");
    if (it->remediation)
        printf("  remediation:     %s\n", it->remediation);
    if (it->remediation_en)
        printf("  remediation_en:  %s\n", it->remediation_en);
    printf("  verified:        %s\n", it->verified ? "yes" : "no");
    if (it->note)
        printf("  note:            %s\n", it->note);
    printf("  defined at:      %s:%d:%d\n", it->src_file, it->src_line, it->src_column);
}

static int matches(const dbg_item *it, const options *o)
{
    return (!o->level || it->level == o->level) && (!o->have_ext || it->extension == o->ext) &&
           (!o->layer || !strcmp(it->layer, o->layer));
}

/* An empty list says why on stderr: "--level 4 --extension general" listed nothing and exited 0,
 * as if the standard had no general requirement at level 4, where the catalog simply holds them
 * for level 3 only. Names the levels at which the other filters do match. */
static void say_empty(const dbg_catalog *cat, const options *o)
{
    options any_level = *o;
    any_level.level = 0;
    int at[5] = {0};
    for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if (matches(it, &any_level) && it->level >= 1 && it->level <= 4)
            at[it->level] = 1;
    }
    char levels[32] = "";
    size_t len = 0;
    for (int l = 1; l <= 4; l++)
        if (at[l])
            len += (size_t)snprintf(levels + len, sizeof(levels) - len, "%s%d", len ? ", " : "", l);
    if (o->level && len)
        fprintf(stderr,
                "dengbao catalog: no item matches; the catalog has such items at level(s) %s only, "
                "not at level %d\n",
                levels, o->level);
    else
        fprintf(stderr, "dengbao catalog: no item matches these filters in the catalog\n");
}

/* [高风险] makes an open or unchecked item force the conclusion 差; a list that marks items so
 * says once, after them, when the marks follow a list nobody verified, and whose (each distinct
 * source once, in catalog order). */
static int say_unverified_high_risk(const dbg_catalog *cat, const options *o)
{
    /* a basis is a file's, so there are at most as many as catalog files */
    const char *said[256];
    size_t n = dbg_catalog_count(cat), shown = 0;
    for (size_t i = 0; i < n; i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if (!matches(it, o) || !it->high_risk || it->high_risk_verified)
            continue;
        const char *src = it->high_risk_source ? it->high_risk_source : "目录文件未说明其依据";
        size_t j = 0;
        while (j < shown && j < 256 && strcmp(said[j], src))
            j++;
        if (j < shown)
            continue;
        if (shown < 256)
            said[shown] = src;
        printf("%s%s", shown++ ? "; " : "\n注: [高风险] 依据未经核实的高风险清单: ", src);
    }
    if (shown)
        putchar('\n');
    return DBG_EXIT_OK;
}

static int do_list(const dbg_catalog *cat, const options *o)
{
    size_t n = dbg_catalog_count(cat), shown = 0;
    for (size_t i = 0; i < n; i++)
        shown += matches(dbg_catalog_item(cat, i), o) != 0;
    if (!shown)
        say_empty(cat, o);
    if (o->format == DBG_FORMAT_JSON) {
        json_t *items = json_array();
        for (size_t i = 0; items && i < n; i++) {
            const dbg_item *it = dbg_catalog_item(cat, i);
            if (matches(it, o))
                json_array_append_new(items, item_json(it));
        }
        json_t *filters = json_object();
        if (o->level)
            json_object_set_new(filters, "level", json_integer(o->level));
        if (o->have_ext)
            json_object_set_new(filters, "extension", json_string(dbg_extension_name(o->ext)));
        if (o->layer)
            json_object_set_new(filters, "layer", json_string(o->layer));
        size_t count = json_array_size(items);
        return print_json(json_pack("{s:o, s:I, s:o}", "filters", filters, "count",
                                    (json_int_t)count, "items", items));
    }
    for (size_t i = 0; i < n; i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if (matches(it, o))
            printf("%-24s %s/%s%s  %s\n", it->id, it->layer, it->control_point,
                   it->high_risk ? " [高风险]" : "", it->text);
    }
    return say_unverified_high_risk(cat, o);
}

/* A control point (8.2.4.3) names no single item; its items (8.2.4.3a, b, c) are what the
 * assessor is after: "; control point 8.2.4.3 has 8.2.4.3a, 8.2.4.3b" for the error, or "". */
static char *control_point_items(const dbg_catalog *cat, const char *what, int level)
{
    char cp[64];
    dbg_clause_normalize(what, cp, sizeof(cp));
    size_t n = strlen(cp);
    dbg_buf b;
    dbg_buf_init(&b, 4096);
    for (size_t i = 0; n && i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        if ((level && it->level != level) || strncmp(it->clause, cp, n) ||
            !(it->clause[n] >= 'a' && it->clause[n] <= 'z' && !it->clause[n + 1]))
            continue;
        if (b.len ? dbg_buf_printf(&b, ", %s", it->clause)
                  : dbg_buf_printf(&b, "; control point %s has %s", cp, it->clause))
            break;
    }
    char *out = dbg_buf_steal(&b);
    dbg_buf_free(&b);
    return out;
}

static int do_show(const dbg_catalog *cat, const char *what, const options *o)
{
    const dbg_item *it = dbg_catalog_find(cat, what, o->level);
    if (!it) {
        DBG_AUTOFREE char *items = control_point_items(cat, what, o->level);
        if (o->level)
            return dbg_cli_usage_error("catalog", "no item '%s' at level %d in the catalog%s", what,
                                       o->level, items ? items : "");
        return dbg_cli_usage_error("catalog", "no item '%s' in the catalog%s", what,
                                   items ? items : "");
    }
    if (o->format == DBG_FORMAT_JSON)
        return print_json(item_json(it));
    print_item_text(it);
    return DBG_EXIT_OK;
}

/* A remediation without its English text is a warning, not an error: the catalog still assesses
 * (--lang en shows the Chinese, marked), and validate refusing what assess and report accept
 * would fail catalogs written before the key. One line per requirement, not per level. */
static size_t warn_untranslated(const dbg_catalog *cat)
{
    size_t warned = 0;
    const dbg_item *prev = NULL;
    for (size_t i = 0; i < dbg_catalog_count(cat); i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        int same = prev && !strcmp(prev->requirement, it->requirement) &&
                   !strcmp(prev->src_file, it->src_file) && prev->src_line == it->src_line;
        prev = it;
        if (same || !it->remediation || it->remediation_en)
            continue;
        fprintf(stderr,
                "%s:%d:%d: warning: %s: remediation has no English text (remediation_en absent, "
                "or the same text as remediation); --lang en reports show the Chinese one, "
                "marked\n",
                it->src_file, it->src_line, it->src_column, it->requirement);
        warned++;
    }
    return warned;
}

static int do_validate(const dbg_catalog *cat, const options *o)
{
    size_t n = dbg_catalog_count(cat), unverified = 0, counts[5][2] = {{0}};
    for (size_t i = 0; i < n; i++) {
        const dbg_item *it = dbg_catalog_item(cat, i);
        counts[it->level][it->extension == DBG_EXT_CLOUD]++;
        unverified += !it->verified;
    }
    size_t untranslated = warn_untranslated(cat);
    printf("%s: %zu items, 0 errors, %zu warnings, %zu marked unverified\n", o->catalog, n,
           dbg_catalog_warning_count(cat) + untranslated, unverified);
    for (int l = 1; l <= 4; l++)
        printf("  level %d: %zu general, %zu cloud\n", l, counts[l][0], counts[l][1]);
    return DBG_EXIT_OK;
}

/* The options each subcommand takes; any other is a usage error, not taken and ignored
 * (`validate --format json` printed text; `show --layer` filtered nothing). */
static const char *const list_takes[] = {"level",  "extension", "layer", "catalog",
                                         "format", "help",      NULL};
static const char *const show_takes[] = {"level", "catalog", "format", "help", NULL};
static const char *const validate_takes[] = {"catalog", "help", NULL};

int dbg_cmd_catalog(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"level", required_argument, NULL, 'l'},
        {"extension", required_argument, NULL, 'e'},
        {"layer", required_argument, NULL, 'L'},
        {"catalog", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (dbg_cli_wants_help(argc, argv)) {
        usage(stdout);
        return DBG_EXIT_OK;
    }
    if (argc < 2)
        return dbg_cli_usage_error("catalog", "missing subcommand (list, show or validate)");
    const char *sub = argv[1];
    if (strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "validate"))
        return dbg_cli_usage_error("catalog", "unknown subcommand '%s' (list, show or validate)",
                                   sub);
    options o = {.format = DBG_FORMAT_TEXT};
    DBG_AUTOFREE char *default_path = NULL;
    int c;
    optind = 0; /* GNU: re-initialise, the dispatcher may have parsed before */
    opterr = 0;
    const char *const *takes = !strcmp(sub, "list")   ? list_takes
                               : !strcmp(sub, "show") ? show_takes
                                                      : validate_takes;
    while ((c = getopt_long(argc - 1, argv + 1, ":", longopts, NULL)) != -1) {
        long v;
        if (!dbg_cli_option_taken(longopts, takes, c))
            return dbg_cli_option_refused("catalog", sub, longopts, c, NULL);
        switch (c) {
        case 'l':
            if (dbg_parse_long(optarg, 1, 4, &v) < 0)
                return dbg_cli_usage_error("catalog", "--level '%s' is not 1..4", optarg);
            o.level = (int)v;
            break;
        case 'e':
            if (!strcmp(optarg, "cloud"))
                o.ext = DBG_EXT_CLOUD;
            else if (!strcmp(optarg, "general"))
                o.ext = DBG_EXT_GENERAL;
            else
                return dbg_cli_usage_error("catalog", "--extension '%s' is not cloud or general",
                                           optarg);
            o.have_ext = 1;
            break;
        case 'L':
            if (!(o.layer = resolve_layer(optarg)))
                return dbg_cli_usage_error(
                    "catalog",
                    "--layer '%s' is not a layer (安全物理环境 安全通信网络 安全区域边界 "
                    "安全计算环境 "
                    "安全管理中心 安全管理制度 安全管理机构 安全管理人员 安全建设管理 "
                    "安全运维管理, or "
                    "physical network boundary compute center policy organization personnel "
                    "construction operation)",
                    optarg);
            break;
        case 'c':
            o.catalog = optarg;
            break;
        case 'f':
            if (dbg_cli_parse_format("catalog", optarg,
                                     1u << DBG_FORMAT_TEXT | 1u << DBG_FORMAT_JSON, &o.format) < 0)
                return DBG_EXIT_USAGE;
            break;
        case ':':
            return dbg_cli_usage_error("catalog", "option '%s' needs a value", argv[optind]);
        default:
            return dbg_cli_usage_error("catalog", "unknown option '%s'", argv[optind]);
        }
    }
    int first = optind + 1; /* index into argv of the first operand */
    int operands = argc - first;
    if (!strcmp(sub, "show") ? operands != 1 : operands != 0)
        return dbg_cli_usage_error("catalog",
                                   !strcmp(sub, "show") ? "show takes exactly one ID or clause"
                                                        : "unexpected argument '%s'",
                                   operands > 0 ? argv[first] : "");
    if (!o.catalog && !(o.catalog = default_path = dbg_catalog_default_path()))
        return dbg_cli_runtime_error("catalog");
    /* The same load as assess's: a catalog naming a check dengbao does not have would be
     * refused there, so it must not validate (or list) here as if it were sound. */
    dbg_catalog_opts copts = {.check_exists = dbg_check_exists, .unknown_check_is_error = 1};
    dbg_catalog *cat = dbg_catalog_load(o.catalog, &copts);
    if (!cat)
        return dbg_cli_runtime_error("catalog");
    int rc;
    if (!strcmp(sub, "list"))
        rc = do_list(cat, &o);
    else if (!strcmp(sub, "show"))
        rc = do_show(cat, argv[first], &o);
    else
        rc = do_validate(cat, &o);
    dbg_catalog_free(cat);
    return rc;
}
