/* Writing an assessment result in the chosen format, shared by `dengbao assess` and
 * `dengbao report` so the same result gives the same bytes from either command. */
#ifndef DENGBAO_CLI_REPORT_H
#define DENGBAO_CLI_REPORT_H

#include "cli/cli.h"
#include "dengbao/report.h"

/* Renders result as fmt and writes it to out ("-" or NULL = stdout, else atomically to the
 * file). Colour is turned on for text on a terminal unless NO_COLOR is set. Returns 0, or -1
 * with dbg_err set. */
int dbg_cli_write_result(const json_t *result, dbg_format fmt, dbg_report_opts *ro,
                         const char *out);
/* The report options `assess` and `report` share: -f/--format (text, json, html, junit),
 * -L/--lang and -o/--output, as getopt returned them in c/arg. Returns 1 when c was one of
 * them (stored), 0 when not, -1 after printing a usage error naming cmd. */
int dbg_cli_report_option(const char *cmd, int c, const char *arg, dbg_format *fmt,
                          dbg_report_opts *ro, const char **out);
/* 1 when out means standard output. */
int dbg_cli_out_is_stdout(const char *out);

#endif
