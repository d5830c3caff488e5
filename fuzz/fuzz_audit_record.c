/* libFuzzer target: the audit record parser (one JSON object per line on `audit append` stdin)
 * and the canonical serializer. Whatever parses must serialize canonically, parse back strictly to
 * the same bytes, and the canonical-details fast path must agree with the jansson path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    aud_parsed_record p;
    if (aud_record_from_json((const char *)data, size, "fuzz", &p) == 0) {
        dbg_buf b;
        dbg_buf_init(&b, 0);
        if (aud_record_canonical(&p.rec, 7, 1764032523123456LL, p.tenant_prev, &b) == 0) {
            aud_parsed_record q;
            if (aud_record_parse((const uint8_t *)b.data, b.len, "fuzz-canonical", &q) != 0)
                abort(); /* our own canonical bytes must read back */
            dbg_buf c;
            dbg_buf_init(&c, 0);
            if (aud_record_canonical(&q.rec, q.rec.seq, q.rec.time_us, q.tenant_prev, &c) != 0 ||
                c.len != b.len || memcmp(c.data, b.data, b.len) != 0)
                abort(); /* canonical form is a fixed point */
            dbg_buf_free(&c);
            aud_parsed_record_free(&q);
        }
        dbg_buf_free(&b);
        aud_parsed_record_free(&p);
    }
    /* the input as a details object: fast path and jansson path give the same bytes */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (strlen(text) == size && size <= AUD_MAX_DETAILS) {
        dbg_buf fast, slow;
        dbg_buf_init(&fast, 0);
        dbg_buf_init(&slow, 0);
        int rf = aud_canon_details(text, &fast);
        int rs = size ? aud_canon_details_slow(text, &slow) : (dbg_buf_adds(&slow, "{}"), 0);
        if (rf != rs ||
            (rf == 0 && (fast.len != slow.len || memcmp(fast.data, slow.data, fast.len) != 0)))
            abort();
        dbg_buf_free(&fast);
        dbg_buf_free(&slow);
    }
    free(text);
    return 0;
}
