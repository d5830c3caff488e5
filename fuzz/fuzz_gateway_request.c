/* libFuzzer target for the gateway's request parser: any bytes a client can send on the
 * socket. Accepted requests must survive a serialize/parse round trip unchanged, the two flags
 * (remove_storage, repair) included: a delete that lost remove_storage would leave a disk behind. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_gw_request r, r2;
    if (dbg_gw_request_parse((const char *)data, size, &r) != 0)
        return 0;
    char *js = dbg_gw_request_to_json(&r);
    if (js) {
        if (dbg_gw_request_parse(js, strlen(js), &r2) != 0 || r2.op != r.op ||
            strcmp(r2.vm, r.vm) != 0 || strcmp(r2.name, r.name) != 0 ||
            strcmp(r2.dest, r.dest) != 0 || strcmp(r2.ticket, r.ticket) != 0 ||
            r2.remove_storage != r.remove_storage || r2.repair != r.repair ||
            (!r.xml != !r2.xml) || (r.xml && strcmp(r.xml, r2.xml) != 0))
            abort();
        dbg_gw_request_clear(&r2);
        free(js);
    }
    dbg_gw_request_clear(&r);
    return 0;
}
