/* `dengbao vm`: not built yet; see issue #5. Replaced by the module's real command. */
#include <stdio.h>

#include "cli/cli.h"

int dbg_cmd_vm(int argc, char **argv)
{
    if (dbg_cli_wants_help(argc, argv)) {
        printf("Usage: dengbao vm ...\n\nNot built yet (issue #5).\n");
        return DBG_EXIT_OK;
    }
    fprintf(stderr, "dengbao vm: not built yet (issue #5)\n");
    return DBG_EXIT_RUNTIME;
}
