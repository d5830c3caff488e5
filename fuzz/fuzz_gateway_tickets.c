/* libFuzzer target for the gateway's approval-ticket store (<state-dir>/gateway-tickets.json),
 * read when the agent starts. Any bytes must load or be refused with an error, never crash; a
 * store that loads must still load after the gateway rewrites it (what we write, we read). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dengbao/gateway.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        char dir[] = "/tmp/dbg-fuzz-tickets-XXXXXX";
        if (!mkdtemp(dir))
            abort();
        snprintf(path, sizeof(path), "%s/t.json", dir);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    dbg_gw_tickets *t = dbg_gw_tickets_new(1000);
    if (!t)
        abort();
    if (dbg_gw_tickets_persist(t, path) == 0) {
        dbg_gw_identity id;
        memset(&id, 0, sizeof(id));
        id.kind = DBG_GW_ID_LOCAL;
        snprintf(id.actor, sizeof(id.actor), "fuzz");
        dbg_gw_decision d;
        memset(&d, 0, sizeof(d));
        d.verdict = DBG_GW_REVIEW;
        dbg_gw_request req;
        memset(&req, 0, sizeof(req));
        req.op = DBG_OP_REBOOT;
        snprintf(req.vm, sizeof(req.vm), "web");
        char tid[DBG_GW_TICKET_LEN + 1];
        /* a filing rewrites the store with everything still pending */
        if (dbg_gw_tickets_file(t, &id, &d, &req, "", "web", "", 0, tid) == 0) {
            dbg_gw_tickets *t2 = dbg_gw_tickets_new(1000);
            if (!t2 || dbg_gw_tickets_persist(t2, path) != 0)
                abort();
            dbg_gw_tickets_free(t2);
        }
    }
    dbg_gw_tickets_free(t);
    unlink(path);
    return 0;
}
