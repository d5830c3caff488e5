/* The platform options `dengbao collect` and `dengbao assess -c` share (-c/--connect,
 * --host-root, --controls-dir), so both take and check them alike. */
#ifndef DENGBAO_CLI_COLLECT_H
#define DENGBAO_CLI_COLLECT_H

#include <getopt.h>

/* Their rows of a getopt_long table; dbg_cli_collect_option knows the values they return. */
// clang-format off
#define DBG_CLI_COLLECT_LONGOPTS                                                                   \
    {"connect", required_argument, NULL, 'c'},                                                     \
    {"host-root", required_argument, NULL, 'R'},                                                   \
    {"controls-dir", required_argument, NULL, 'C'}
// clang-format on

/* Where the options land: each command keeps them in its own opts struct. */
typedef struct {
    const char **uri, **host_root, **controls_dir;
} dbg_cli_collect_dest;

/* Stores arg when c is one of the options above: 1, else 0 (c is not one of them). */
int dbg_cli_collect_option(int c, const char *arg, const dbg_cli_collect_dest *dest);
/* A --host-root or --controls-dir that is not a directory is a usage error naming cmd
 * (it was read as "no file there", the host's or the controls' checks failing without a
 * word). Returns 0, or DBG_EXIT_USAGE after printing it. */
int dbg_cli_check_collect_dirs(const char *cmd, const char *host_root, const char *controls_dir);

#endif
