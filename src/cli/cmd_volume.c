/* `dengbao volume`: not built yet; see issue #7. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_volume(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao volume ...\n\nNot built yet (issue #7).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao volume: not built yet (issue #7)\n");
    return DBG_EXIT_RUNTIME;
}
