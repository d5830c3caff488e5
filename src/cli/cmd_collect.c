/* `dengbao collect`: not built yet; see issue #3. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_collect(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao collect ...\n\nNot built yet (issue #3).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao collect: not built yet (issue #3)\n");
    return DBG_EXIT_RUNTIME;
}
