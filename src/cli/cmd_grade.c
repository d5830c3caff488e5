/* `dengbao grade`: not built yet; see issue #2. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_grade(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao grade ...\n\nNot built yet (issue #2).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao grade: not built yet (issue #2)\n");
    return DBG_EXIT_RUNTIME;
}
