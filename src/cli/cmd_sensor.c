/* `dengbao sensor`: not built yet; see issue #6. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_sensor(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao sensor ...\n\nNot built yet (issue #6).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao sensor: not built yet (issue #6)\n");
    return DBG_EXIT_RUNTIME;
}
