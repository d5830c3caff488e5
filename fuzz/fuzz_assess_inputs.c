/* libFuzzer target for the assessor's YAML inputs: any bytes as an attestation file and as a
 * waiver file (libyaml -> tree -> field checks). Must never crash, leak or hang. */
#include <stdint.h>

#include "dengbao/assess.h"
#include "dengbao/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_assess_inputs in = {0};
    (void)dbg_attest_load_buffer(&in, "fuzz.yaml", (const char *)data, size);
    (void)dbg_waivers_load_buffer(&in, "fuzz.yaml", (const char *)data, size);
    dbg_assess_inputs_free(&in);
    dbg_err_clear();
    return 0;
}
