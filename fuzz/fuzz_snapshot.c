/* libFuzzer target for the snapshot reader: any bytes either load (and then survive a
 * write/re-read round trip unchanged) or fail with an error message, never crash or leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_snapshot *s = dbg_snapshot_from_json((const char *)data, size, "fuzz.json");
    if (!s) {
        if (dbg_err_code() == DBG_OK || dbg_err_msg()[0] == '\0')
            abort(); /* a rejection must say why */
        dbg_err_clear();
        return 0;
    }
    /* Lookups must cope with whatever the file held (NULL names, empty arrays). */
    (void)dbg_snapshot_host_file(s, "/etc/ssh/sshd_config");
    (void)dbg_host_file_get(s->n_host_files ? &s->host_files[0] : NULL, "PermitRootLogin");
    (void)dbg_snapshot_control(s, "guard");
    (void)dbg_snapshot_network(s, "default");
    (void)dbg_snapshot_domain_by_mac(s, "52:54:00:00:00:01", NULL);
    char *j1 = dbg_snapshot_to_json(s);
    if (!j1)
        abort();
    dbg_snapshot *t = dbg_snapshot_from_json(j1, strlen(j1), "fuzz-rt.json");
    if (!t)
        abort(); /* what we write we must read */
    char *j2 = dbg_snapshot_to_json(t);
    if (!j2 || strcmp(j1, j2) != 0)
        abort(); /* round trip is a fixed point */
    free(j1);
    free(j2);
    dbg_snapshot_free(t);
    dbg_snapshot_free(s);
    return 0;
}
