/* Renders and writes assessment results for `dengbao assess` and `dengbao report`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_report.h"

int dbg_cli_out_is_stdout(const char *out) { return !out || !strcmp(out, "-"); }

int dbg_cli_report_option(const char *cmd, int c, const char *arg, dbg_format *fmt,
                          dbg_report_opts *ro, const char **out)
{
    switch (c) {
    case 'f':
        return dbg_cli_parse_format(cmd, arg,
                                    1u << DBG_FORMAT_TEXT | 1u << DBG_FORMAT_JSON |
                                        1u << DBG_FORMAT_HTML | 1u << DBG_FORMAT_JUNIT,
                                    fmt) == 0
                   ? 1
                   : -1;
    case 'L':
        if (dbg_lang_parse(arg, &ro->lang) != 0) {
            dbg_cli_usage_error(cmd, "--lang must be zh or en, not '%s'", arg);
            return -1;
        }
        return 1;
    case 'o':
        if (!*arg) { /* else a temporary file named ".tmp.N" failed to be renamed to "" */
            dbg_cli_usage_error(cmd, "-o needs a file name ('-' for standard output)");
            return -1;
        }
        *out = arg;
        return 1;
    default:
        return 0;
    }
}

int dbg_cli_write_result(const json_t *result, dbg_format fmt, dbg_report_opts *ro,
                         const char *out)
{
    static const dbg_report_format map[] = {[DBG_FORMAT_TEXT] = DBG_REPORT_TEXT,
                                            [DBG_FORMAT_JSON] = DBG_REPORT_JSON,
                                            [DBG_FORMAT_HTML] = DBG_REPORT_HTML,
                                            [DBG_FORMAT_JUNIT] = DBG_REPORT_JUNIT};
    int to_stdout = dbg_cli_out_is_stdout(out);
    ro->color = fmt == DBG_FORMAT_TEXT && to_stdout && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    char *text = dbg_report_render(result, map[fmt], ro);
    if (!text)
        return -1;
    int r = 0;
    if (to_stdout) {
        if (fputs(text, stdout) < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot write the report to standard output");
            r = -1;
        }
    } else {
        r = dbg_write_file_atomic(out, text, strlen(text));
    }
    free(text);
    return r;
}
