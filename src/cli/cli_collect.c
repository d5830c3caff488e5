/* Parses and checks the platform options of `dengbao collect` and `dengbao assess -c`. */
#include "cli/cli_collect.h"
#include "cli/cli.h"

int dbg_cli_collect_option(int c, const char *arg, const dbg_cli_collect_dest *dest)
{
    switch (c) {
    case 'c':
        *dest->uri = arg;
        return 1;
    case 'R':
        *dest->host_root = arg;
        return 1;
    case 'C':
        *dest->controls_dir = arg;
        return 1;
    default:
        return 0;
    }
}

int dbg_cli_check_collect_dirs(const char *cmd, const char *host_root, const char *controls_dir)
{
    if (host_root && !dbg_path_is_dir(host_root))
        return dbg_cli_usage_error(cmd, "--host-root '%s' is not a directory", host_root);
    if (dbg_cli_check_controls_dir(cmd, controls_dir))
        return DBG_EXIT_USAGE;
    return 0;
}
