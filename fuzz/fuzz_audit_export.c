/* libFuzzer target: the export reader (`audit verify-export`), which a tenant runs on a file it
 * received. Any input must give a verdict, never a crash; a fixed test key stands in for the
 * provider's public key. An input with a NUL byte is also read as two exports, NEW NUL PREVIOUS,
 * for `verify-export NEW --previous PREVIOUS` (the consistency check between them). */
#include <openssl/pem.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Public halves of throwaway Ed25519 keys whose private halves signed the seed exports in the
 * corpus and were then discarded: the first the older seeds, the second the tenant-chain-* ones
 * (records that carry tenant_prev), the third the tenant-heads-* ones (heads that sign every
 * tenant's last record), the fourth the archive-* ones (archives whose range prune signed). Each
 * input is read with all of them. */
static const char *const TEST_PUB[] = {
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAj1BZrwFpSvUar3fro4Ob2R2RKfmgJ4fZkc+uShkkXz4=\n"
    "-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAykyUh/OXpIXAIx4rUe3dsHUufTcrJqQSRsoAqgqtWE8=\n"
    "-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAiwd+5CC+Ffk8slQqyyvkpxq1qSPNa+4K+KmULx0nhR8=\n"
    "-----END PUBLIC KEY-----\n",
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAyDBhpPEP4gRvqRmXxBglRrN/z99F/80qWrnIxSiNyyw=\n"
    "-----END PUBLIC KEY-----\n"};

static void read_with(const char *pem, const uint8_t *data, size_t size)
{
    BIO *b = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pub = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    if (!pub)
        abort();
    dbg_audit_verify_result res;
    if (aud_verify_export_text((const char *)data, size, pub, "fuzz", &res) == 0 && !res.ok &&
        res.problem[0] == '\0')
        abort(); /* a failed verdict always says why */
    const uint8_t *nul = memchr(data, 0, size);
    if (nul) {
        size_t n1 = (size_t)(nul - data);
        if (aud_verify_export_pair_text((const char *)data, n1, "fuzz-new", (const char *)nul + 1,
                                        size - n1 - 1, "fuzz-previous", pub, &res) == 0 &&
            !res.ok && res.problem[0] == '\0')
            abort();
    }
    EVP_PKEY_free(pub);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i < sizeof(TEST_PUB) / sizeof(TEST_PUB[0]); i++)
        read_with(TEST_PUB[i], data, size);
    return 0;
}
