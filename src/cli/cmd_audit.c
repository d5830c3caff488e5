/* `dengbao audit`: not built yet; see issue #4. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_audit(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao audit ...\n\nNot built yet (issue #4).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao audit: not built yet (issue #4)\n");
    return DBG_EXIT_RUNTIME;
}
