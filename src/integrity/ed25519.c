/* Ed25519 keys and signatures via OpenSSL 3 for seal manifests. Keys are PEM files as written
 * by `openssl genpkey -algorithm ed25519` (and `dengbao audit keygen`); private bytes are wiped
 * after use. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

static EVP_PKEY *read_pem(const char *path, int want_private)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open key", path);
        return NULL;
    }
    EVP_PKEY *k = NULL;
    if (want_private) {
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    } else {
        k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
        if (!k) {
            rewind(f);
            k = PEM_read_PrivateKey(f, NULL, NULL, NULL); /* a private key carries its public half */
        }
    }
    fclose(f);
    if (!k) {
        dbg_err_set(DBG_ERR_CRYPTO, "%s: not a PEM %s key", path, want_private ? "private" : "public");
        return NULL;
    }
    if (EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        dbg_err_set(DBG_ERR_CRYPTO, "%s: key is not Ed25519 (make one with: openssl genpkey "
                    "-algorithm ed25519)", path);
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

int dbg_ed25519_load_private(const char *path, uint8_t priv[32], uint8_t pub[32])
{
    EVP_PKEY *k = read_pem(path, 1);
    if (!k)
        return -1;
    size_t plen = 32, qlen = 32;
    int ok = EVP_PKEY_get_raw_private_key(k, priv, &plen) == 1 &&
             EVP_PKEY_get_raw_public_key(k, pub, &qlen) == 1 && plen == 32 && qlen == 32;
    EVP_PKEY_free(k);
    if (!ok) {
        explicit_bzero(priv, 32);
        dbg_err_set(DBG_ERR_CRYPTO, "%s: cannot extract the Ed25519 key", path);
        return -1;
    }
    return 0;
}

int dbg_ed25519_load_public(const char *path, uint8_t pub[32])
{
    EVP_PKEY *k = read_pem(path, 0);
    if (!k)
        return -1;
    size_t qlen = 32;
    int ok = EVP_PKEY_get_raw_public_key(k, pub, &qlen) == 1 && qlen == 32;
    EVP_PKEY_free(k);
    if (!ok) {
        dbg_err_set(DBG_ERR_CRYPTO, "%s: cannot extract the Ed25519 public key", path);
        return -1;
    }
    return 0;
}

int dbg_ed25519_sign(const uint8_t priv[32], const void *msg, size_t len, uint8_t sig[64])
{
    int r = -1;
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    size_t slen = 64;
    if (!k || !ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, sig, &slen, msg, len) != 1 || slen != 64) {
        dbg_err_set(DBG_ERR_CRYPTO, "Ed25519 signing failed");
        goto out;
    }
    r = 0;
out:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    return r;
}

int dbg_ed25519_verify(const uint8_t pub[32], const void *msg, size_t len, const uint8_t sig[64])
{
    EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = k && ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(ctx, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    if (!ok) {
        dbg_err_set(DBG_ERR_VERIFY, "Ed25519 signature does not verify");
        return -1;
    }
    return 0;
}
