/* The `dengbao` subcommands and the few helpers they share for argument handling.
 * Each subcommand lives in src/cli/cmd_<name>.c and holds no logic beyond parsing arguments,
 * calling libdengbao, and mapping the result to an exit code (DBG_EXIT_*). */
#ifndef DENGBAO_CLI_H
#define DENGBAO_CLI_H

#include <getopt.h>
#include <jansson.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

typedef int (*dbg_cmd_fn)(int argc, char **argv);

int dbg_cmd_grade(int argc, char **argv);
int dbg_cmd_catalog(int argc, char **argv);
int dbg_cmd_collect(int argc, char **argv);
int dbg_cmd_assess(int argc, char **argv);
int dbg_cmd_report(int argc, char **argv);
int dbg_cmd_audit(int argc, char **argv);
int dbg_cmd_vm(int argc, char **argv);
int dbg_cmd_agent(int argc, char **argv);
int dbg_cmd_sensor(int argc, char **argv);
int dbg_cmd_image(int argc, char **argv);
int dbg_cmd_volume(int argc, char **argv);
int dbg_cmd_serve(int argc, char **argv);
int dbg_cmd_alert(int argc, char **argv);
int dbg_cmd_store(int argc, char **argv);

/* 1 when argv holds -h or --help (before a "--"). */
int dbg_cli_wants_help(int argc, char **argv);
/* Prints "dengbao CMD: message" and a hint to --help on stderr; returns DBG_EXIT_USAGE. */
int dbg_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The usage error for the argument getopt just refused (argv[optind - 1]: an unknown option, or
 * one missing its value), named as given; returns DBG_EXIT_USAGE. */
int dbg_cli_bad_option(const char *cmd, char **argv);
/* The long name of the option whose getopt value is val in opts, for messages; "?" for none. */
const char *dbg_cli_option_name(const struct option *opts, int val);
/* Options a subcommand takes: each subcommand names them in a NULL-terminated list of long
 * names (a constant table beside its parser), and any other option is a usage error, since one
 * taken and ignored reads as done. 1 when takes holds a long name of the option getopt_long
 * returned as c (any of its names in opts), or when c is no option of opts ('?', ':'), which the
 * caller reports as it does; else 0. */
int dbg_cli_option_taken(const struct option *opts, const char *const *takes, int c);
/* The usage error for an option a subcommand does not take: "dengbao CMD: SUB does not take
 * --NAME" and hint (NULL or a text to append), without "SUB " when sub is NULL (image's cmd
 * names it); returns DBG_EXIT_USAGE. */
int dbg_cli_option_refused(const char *cmd, const char *sub, const struct option *opts, int c,
                           const char *hint);
/* Prints "dengbao CMD: <last dbg_err message>" on stderr; returns DBG_EXIT_RUNTIME. */
int dbg_cli_runtime_error(const char *cmd);

typedef enum { DBG_FORMAT_TEXT, DBG_FORMAT_JSON, DBG_FORMAT_HTML, DBG_FORMAT_JUNIT, DBG_FORMAT_SARIF } dbg_format;
/* Parses --format's value against the formats a command accepts (bitmask of 1 << dbg_format). */
int dbg_cli_parse_format(const char *cmd, const char *value, unsigned accepted, dbg_format *out);
/* Parses the value of an option that declares a disk image's format (--image-format): "raw" or
 * "qcow2" to *out (the value itself), else a usage error naming the option; returns 0 or
 * DBG_EXIT_USAGE. Declaring it keeps a raw disk's guest from choosing, with a qcow2 header
 * written into its own disk, how the host reads the file. */
int dbg_cli_parse_image_format(const char *cmd, const char *option, const char *value,
                               const char **out);

/* An explicit --controls-dir that does not exist (or is not a directory): a usage error
 * (DBG_EXIT_USAGE), else 0. One that exists but cannot be looked into is left to collection,
 * which records why for each control. */
int dbg_cli_check_controls_dir(const char *cmd, const char *dir);

/* 1 when ip is an IPv4 or IPv6 address in the form inet_pton takes, else 0. */
int dbg_cli_ip_ok(const char *ip);
/* A time option (--since, --until, --before) in RFC 3339 (dbg_time_parse_rfc3339) into *us;
 * -1 after printing the parser's message naming the option. A bare date YYYY-MM-DD is its first
 * moment in UTC, as scripts rely on; a note on stderr says so and how to write Beijing's
 * midnight, since people in China read such a date as theirs (8 hours later). */
int dbg_cli_time_option(const char *cmd, const char *option, const char *value, int64_t *us);

/* Output shared by the commands that report byte ranges (image, volume), so the same result
 * reads the same from each. */
/* A subcommand's JSON answer on stdout, as one line or indented by flags (json_dumps); nothing
 * when it could not be built. */
void dbg_cli_print_json(const json_t *v, size_t flags);
/* The first max of ranges r[0..n), one per line: "  LABEL START..END (N bytes)". */
void dbg_cli_print_ranges(const char *label, const dbg_range *r, size_t n, size_t max);
/* Ranges r[0..n) as a JSON array of {"offset", "length"} (NULL when it cannot be built). */
json_t *dbg_cli_ranges_json(const dbg_range *r, size_t n);

#endif
