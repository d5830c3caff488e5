/* libFuzzer target for the two YAML files dengbao reads with libyaml's document API directly
 * rather than the catalog loader: the gateway policy (dbg_gw_policy_parse) and the sensor rules
 * (dbg_sensor_rules_parse). The same bytes go through both. Must never crash, leak or hang;
 * errors are fine. */
#include <stdint.h>

#include "dengbao/error.h"
#include "dengbao/gateway.h"
#include "dengbao/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_gw_policy *p = dbg_gw_policy_parse((const char *)data, size, "fuzz.yaml");
    if (p) {
        dbg_gw_integrity in;
        dbg_gw_policy_integrity(p, &in); /* touch what the parser built */
        char why[600];
        (void)dbg_gw_policy_migration_allowed(p, "qemu+tls://h2/system", why, sizeof(why));
        dbg_gw_policy_free(p);
    }
    dbg_err_clear();
    dbg_sensor_rules r;
    dbg_sensor_rules_defaults(&r);
    (void)dbg_sensor_rules_parse(&r, (const char *)data, size, "fuzz.yaml");
    dbg_err_clear();
    return 0;
}
