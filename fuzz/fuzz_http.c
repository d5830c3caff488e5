/* libFuzzer target for `dengbao serve`'s HTTP/1.1 request head parser and query decoding: any
 * bytes a client can send. An accepted head must be self-consistent (its length within the
 * input, a path starting with '/', a body length within the limit); a refusal must carry a 4xx/5xx
 * status and a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_param(const char *name, const char *value, void *opaque)
{
    (void)name;
    (void)value;
    (*(size_t *)opaque)++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_http_request r;
    int status = 0;
    char msg[256];
    int rc = dbg_http_parse_head((const char *)data, size, &r, &status, msg, sizeof(msg));
    if (rc < 0 && (status < 400 || status > 599 || !msg[0]))
        abort();
    if (rc != 1)
        return 0;
    if (r.head_len == 0 || r.head_len > size || r.path[0] != '/' || !r.method[0] ||
        r.content_length > DBG_HTTP_BODY_MAX || r.n_headers > DBG_HTTP_HEADERS_MAX)
        abort();
    for (size_t i = 0; i < r.n_headers; i++)
        if (dbg_http_header_get(&r, r.headers[i].name) == NULL)
            abort();
    size_t n = 0;
    dbg_http_query_each(r.query, count_param, &n, msg, sizeof(msg));
    dbg_http_request_clear(&r);
    return 0;
}
