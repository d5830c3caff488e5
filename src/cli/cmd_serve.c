/* `dengbao serve`: not built yet; see issue #0. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_serve(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao serve ...\n\nNot built yet (issue #0).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao serve: not built yet (issue #0)\n");
    return DBG_EXIT_RUNTIME;
}
