/* `dengbao alert`: not built yet; see issue #2. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_alert(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao alert ...\n\nNot built yet (issue #2).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao alert: not built yet (issue #2)\n");
    return DBG_EXIT_RUNTIME;
}
