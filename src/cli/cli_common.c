/* Argument helpers shared by the subcommands. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "dengbao/integrity.h"

int dbg_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return 1;
    }
    return 0;
}

int dbg_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dengbao %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'dengbao %s --help'.\n", cmd);
    va_end(ap);
    return DBG_EXIT_USAGE;
}

int dbg_cli_bad_option(const char *cmd, char **argv)
{
    return dbg_cli_usage_error(cmd, "unknown or incomplete option '%s'", argv[optind - 1]);
}

const char *dbg_cli_option_name(const struct option *opts, int val)
{
    for (const struct option *o = opts; o->name; o++)
        if (o->val == val)
            return o->name;
    return "?";
}

int dbg_cli_option_taken(const struct option *opts, const char *const *takes, int c)
{
    int known = 0;
    for (const struct option *o = opts; o->name; o++) {
        if (o->val != c)
            continue;
        known = 1;
        for (const char *const *t = takes; *t; t++)
            if (!strcmp(*t, o->name))
                return 1;
    }
    return !known;
}

int dbg_cli_option_refused(const char *cmd, const char *sub, const struct option *opts, int c,
                           const char *hint)
{
    return dbg_cli_usage_error(cmd, "%s%sdoes not take --%s%s", sub ? sub : "", sub ? " " : "",
                               dbg_cli_option_name(opts, c), hint ? hint : "");
}

int dbg_cli_runtime_error(const char *cmd)
{
    const dbg_err *e = dbg_err_last();
    if (e->code == DBG_OK)
        fprintf(stderr, "dengbao %s: failed\n", cmd);
    else if (e->code == DBG_ERR_USAGE) /* a usage fault found after option parsing */
        return dbg_cli_usage_error(cmd, "%s", e->msg);
    else
        fprintf(stderr, "dengbao %s: %s\n", cmd, e->msg);
    return DBG_EXIT_RUNTIME;
}

int dbg_cli_parse_format(const char *cmd, const char *value, unsigned accepted, dbg_format *out)
{
    static const char *const names[] = {"text", "json", "html", "junit", "sarif"};
    char list[64] = "";
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!(accepted & (1u << i)))
            continue;
        if (value && !strcmp(value, names[i])) {
            *out = (dbg_format)i;
            return 0;
        }
        if (*list)
            strncat(list, "|", sizeof(list) - strlen(list) - 1);
        strncat(list, names[i], sizeof(list) - strlen(list) - 1);
    }
    dbg_cli_usage_error(cmd, "unknown format '%s' (accepted: %s)", value ? value : "", list);
    return -1;
}

int dbg_cli_parse_image_format(const char *cmd, const char *option, const char *value,
                               const char **out)
{
    if (dbg_image_format_parse(value, NULL) < 0)
        return dbg_cli_usage_error(cmd, "%s: '%s': expected raw or qcow2", option,
                                   value ? value : "");
    *out = value;
    return 0;
}

int dbg_cli_ip_ok(const char *ip)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1;
}

/* A mistyped directory read as "no status file": every control "not deployed", its items
 * 不符合, and nothing said. */
int dbg_cli_check_controls_dir(const char *cmd, const char *dir)
{
    struct stat st;
    if (!dir)
        return 0;
    if (stat(dir, &st) == 0 ? !S_ISDIR(st.st_mode) : (errno == ENOENT || errno == ENOTDIR))
        return dbg_cli_usage_error(cmd, "--controls-dir '%s' is not a directory", dir);
    return 0;
}

int dbg_cli_time_option(const char *cmd, const char *option, const char *value, int64_t *us)
{
    if (dbg_time_parse_rfc3339(value, us) < 0) {
        dbg_cli_usage_error(cmd, "%s: %s", option, dbg_err_msg());
        return -1;
    }
    if (strlen(value) == 10) /* the parser took it, so it is YYYY-MM-DD */
        fprintf(stderr,
                "dengbao %s: note: %s %s means %sT00:00:00Z, 08:00 in Beijing; for Beijing's "
                "midnight write %sT00:00:00+08:00\n",
                cmd, option, value, value, value);
    return 0;
}

void dbg_cli_print_json(const json_t *v, size_t flags)
{
    char *s = v ? json_dumps(v, flags) : NULL;
    if (s)
        puts(s);
    free(s);
}

void dbg_cli_print_ranges(const char *label, const dbg_range *r, size_t n, size_t max)
{
    for (size_t i = 0; i < n && i < max; i++)
        printf("  %s %llu..%llu (%llu bytes)\n", label, (unsigned long long)r[i].offset,
               (unsigned long long)(r[i].offset + r[i].length), (unsigned long long)r[i].length);
}

json_t *dbg_cli_ranges_json(const dbg_range *r, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_pack("{s:I, s:I}", "offset", (json_int_t)r[i].offset,
                                             "length", (json_int_t)r[i].length));
    return arr;
}
