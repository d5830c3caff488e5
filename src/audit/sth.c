/* Ed25519 keys (OpenSSL EVP) and signed tree heads: the exact signed bytes, signing, checking,
 * and their JSON form inside checkpoint frames, head.json and exports. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"

#define STH_DOMAIN "dengbao-audit-sth-v1\n"
/* version 2: the head also signs the tenant heads (root and size); version 1 heads still verify */
#define STH_DOMAIN_V2 "dengbao-audit-sth-v2\n"

EVP_PKEY *aud_key_load_private(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        dbg_err_errno(DBG_ERR_IO, "cannot open signing key %s", path);
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        dbg_err_set(DBG_ERR_CRYPTO, "%s: not an Ed25519 private key in PEM form", path);
        return NULL;
    }
    return k;
}

EVP_PKEY *aud_key_load_public(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        dbg_err_errno(DBG_ERR_IO, "cannot open public key %s", path);
        return NULL;
    }
    EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
    if (!k) {
        /* a private key file works too: its public half is used */
        rewind(f);
        k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    }
    fclose(f);
    if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        dbg_err_set(DBG_ERR_CRYPTO, "%s: not an Ed25519 public key in PEM form", path);
        return NULL;
    }
    return k;
}

int aud_key_id(EVP_PKEY *k, char out[2 * AUD_HASH + 1])
{
    uint8_t raw[32], h[AUD_HASH];
    size_t len = sizeof(raw);
    if (!EVP_PKEY_get_raw_public_key(k, raw, &len) || len != 32) {
        dbg_err_set(DBG_ERR_CRYPTO, "cannot read the Ed25519 public key");
        return -1;
    }
    unsigned int hl = 0;
    if (!EVP_Digest(raw, len, h, &hl, EVP_sha256(), NULL)) {
        dbg_err_set(DBG_ERR_CRYPTO, "SHA-256 failed");
        return -1;
    }
    dbg_hex_encode(h, AUD_HASH, out);
    return 0;
}

int aud_sign(EVP_PKEY *k, const void *msg, size_t len, uint8_t sig[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    size_t sl = 64;
    int ok = c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestSign(c, sig, &sl, msg, len) == 1 && sl == 64;
    EVP_MD_CTX_free(c);
    if (!ok) {
        dbg_err_set(DBG_ERR_CRYPTO, "Ed25519 signing failed");
        return -1;
    }
    return 0;
}

int aud_verify_sig(EVP_PKEY *k, const void *msg, size_t len, const uint8_t sig[64])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 &&
             EVP_DigestVerify(c, sig, 64, msg, len) == 1;
    EVP_MD_CTX_free(c);
    return ok;
}

int aud_sth_signed_bytes(const aud_sth *s, dbg_buf *out)
{
    char root[2 * AUD_HASH + 1], prev[2 * AUD_HASH + 1], ts[40];
    dbg_hex_encode(s->root, AUD_HASH, root);
    dbg_hex_encode(s->prev, AUD_HASH, prev);
    dbg_time_rfc3339(s->time_us, ts, sizeof(ts));
    if (s->has_theads) {
        char th[2 * AUD_HASH + 1];
        dbg_hex_encode(s->theads, AUD_HASH, th);
        return dbg_buf_printf(out,
                              STH_DOMAIN_V2 "{\"key_id\":\"%s\",\"prev\":\"%s\",\"root\":\"%s\","
                                            "\"size\":%llu,\"tenant_heads\":\"%s\","
                                            "\"tenant_heads_size\":%llu,\"time\":\"%s\"}",
                              s->key_id, prev, root, (unsigned long long)s->size, th,
                              (unsigned long long)s->theads_size, ts);
    }
    return dbg_buf_printf(
        out,
        STH_DOMAIN
        "{\"key_id\":\"%s\",\"prev\":\"%s\",\"root\":\"%s\",\"size\":%llu,\"time\":\"%s\"}",
        s->key_id, prev, root, (unsigned long long)s->size, ts);
}

int aud_sth_digest(aud_hasher *h, const aud_sth *s, uint8_t out[AUD_HASH])
{
    dbg_buf b;
    dbg_buf_init(&b, 4096);
    if (aud_sth_signed_bytes(s, &b) < 0 || dbg_buf_add(&b, s->sig, 64) < 0) {
        dbg_buf_free(&b);
        return -1;
    }
    if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) || !EVP_DigestUpdate(h->ctx, b.data, b.len) ||
        !EVP_DigestFinal_ex(h->ctx, out, NULL)) {
        dbg_buf_free(&b);
        dbg_err_set(DBG_ERR_CRYPTO, "SHA-256 failed");
        return -1;
    }
    dbg_buf_free(&b);
    return 0;
}

int aud_sth_sign(aud_sth *s, EVP_PKEY *k)
{
    if (aud_key_id(k, s->key_id) < 0)
        return -1;
    dbg_buf b;
    dbg_buf_init(&b, 4096);
    int r = aud_sth_signed_bytes(s, &b);
    if (r == 0)
        r = aud_sign(k, b.data, b.len, s->sig);
    dbg_buf_free(&b);
    return r;
}

int aud_sth_verify(const aud_sth *s, EVP_PKEY *k)
{
    char kid[2 * AUD_HASH + 1];
    if (aud_key_id(k, kid) < 0)
        return 0;
    if (strcmp(kid, s->key_id) != 0)
        return 0;
    dbg_buf b;
    dbg_buf_init(&b, 4096);
    int ok = aud_sth_signed_bytes(s, &b) == 0 && aud_verify_sig(k, b.data, b.len, s->sig);
    dbg_buf_free(&b);
    return ok;
}

json_t *aud_sth_to_json(const aud_sth *s)
{
    char root[2 * AUD_HASH + 1], prev[2 * AUD_HASH + 1], sig[129], ts[40];
    dbg_hex_encode(s->root, AUD_HASH, root);
    dbg_hex_encode(s->prev, AUD_HASH, prev);
    dbg_hex_encode(s->sig, 64, sig);
    dbg_time_rfc3339(s->time_us, ts, sizeof(ts));
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s}", "size", (json_int_t)s->size, "root", root,
                          "time", ts, "prev", prev, "key_id", s->key_id, "sig", sig);
    if (o && s->has_theads) {
        char th[2 * AUD_HASH + 1];
        dbg_hex_encode(s->theads, AUD_HASH, th);
        if (json_object_set_new(o, "tenant_heads", json_string(th)) < 0 ||
            json_object_set_new(o, "tenant_heads_size", json_integer((json_int_t)s->theads_size)) <
                0) {
            json_decref(o);
            o = NULL;
        }
    }
    if (!o)
        dbg_err_set(DBG_ERR_NOMEM, "out of memory building a tree head");
    return o;
}

static int hex_field(const json_t *o, const char *key, uint8_t *out, size_t n, const char *what)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v || strlen(v) != 2 * n || dbg_hex_decode(v, out, n) < 0) {
        dbg_err_set(DBG_ERR_PARSE, "%s: tree head field '%s' must be %zu hex digits", what, key,
                    2 * n);
        return -1;
    }
    return 0;
}

int aud_sth_from_json(const json_t *o, const char *what, aud_sth *out)
{
    memset(out, 0, sizeof(*out));
    if (!json_is_object(o)) {
        dbg_err_set(DBG_ERR_PARSE, "%s: tree head must be an object", what);
        return -1;
    }
    json_t *sz = json_object_get(o, "size");
    const char *ts = json_string_value(json_object_get(o, "time"));
    const char *kid = json_string_value(json_object_get(o, "key_id"));
    if (!json_is_integer(sz) || json_integer_value(sz) < 0) {
        dbg_err_set(DBG_ERR_PARSE, "%s: tree head 'size' must be a non-negative integer", what);
        return -1;
    }
    out->size = (uint64_t)json_integer_value(sz);
    if (!ts || dbg_time_parse_rfc3339(ts, &out->time_us) < 0) {
        dbg_err_set(DBG_ERR_PARSE, "%s: tree head 'time' must be an RFC 3339 time", what);
        return -1;
    }
    if (!kid || strlen(kid) != 2 * AUD_HASH) {
        dbg_err_set(DBG_ERR_PARSE, "%s: tree head 'key_id' must be 64 hex digits", what);
        return -1;
    }
    memcpy(out->key_id, kid, sizeof(out->key_id));
    if (hex_field(o, "root", out->root, AUD_HASH, what) < 0 ||
        hex_field(o, "prev", out->prev, AUD_HASH, what) < 0 ||
        hex_field(o, "sig", out->sig, 64, what) < 0)
        return -1;
    /* a version 2 head: both tenant heads fields, or neither (version 1) */
    json_t *th = json_object_get(o, "tenant_heads"), *tn = json_object_get(o, "tenant_heads_size");
    if (!th && !tn)
        return 0;
    if (!th || !json_is_integer(tn) || json_integer_value(tn) < 0) {
        dbg_err_set(DBG_ERR_PARSE,
                    "%s: tree head needs both 'tenant_heads' and 'tenant_heads_size' (a "
                    "non-negative integer), or neither",
                    what);
        return -1;
    }
    if (hex_field(o, "tenant_heads", out->theads, AUD_HASH, what) < 0)
        return -1;
    out->theads_size = (uint64_t)json_integer_value(tn);
    out->has_theads = 1;
    return 0;
}

int aud_checkpoint_payload(const aud_sth *s, const aud_frontier *fr, json_t *tenants, dbg_buf *out)
{
    json_t *o = json_object();
    json_t *sth = aud_sth_to_json(s);
    json_t *arr = json_array();
    int r = -1;
    if (!o || !sth || !arr)
        goto out;
    for (int i = 0; fr && i < fr->count; i++) {
        char hex[2 * AUD_HASH + 1];
        dbg_hex_encode(fr->hash[i], AUD_HASH, hex);
        json_array_append_new(arr, json_string(hex));
    }
    json_object_set_new(o, "sth", sth);
    sth = NULL;
    if (fr) {
        json_object_set_new(o, "frontier", arr);
        arr = NULL;
    }
    if (tenants && json_object_set(o, "tenants", tenants) < 0)
        goto out;
    r = aud_canon_json(out, o, 0);
out:
    json_decref(o);
    json_decref(sth);
    json_decref(arr);
    return r;
}

int aud_checkpoint_parse(const uint8_t *p, size_t len, const char *what, aud_sth *s,
                         aud_frontier *fr)
{
    json_error_t jerr;
    json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o) {
        dbg_err_set(DBG_ERR_PARSE, "%s: checkpoint is not JSON: %s", what, jerr.text);
        return -1;
    }
    int r = aud_sth_from_json(json_object_get(o, "sth"), what, s);
    if (r == 0 && fr) {
        aud_frontier_init(fr);
        json_t *arr = json_object_get(o, "frontier");
        if (!json_is_array(arr) || (int)json_array_size(arr) != aud_frontier_count_for(s->size)) {
            dbg_err_set(DBG_ERR_PARSE, "%s: checkpoint frontier must list %d hashes", what,
                        aud_frontier_count_for(s->size));
            r = -1;
        }
        for (size_t i = 0; r == 0 && i < json_array_size(arr); i++) {
            const char *h = json_string_value(json_array_get(arr, i));
            if (!h || strlen(h) != 2 * AUD_HASH || dbg_hex_decode(h, fr->hash[i], AUD_HASH) < 0) {
                dbg_err_set(DBG_ERR_PARSE, "%s: checkpoint frontier hash %zu is not 64 hex digits",
                            what, i);
                r = -1;
            }
        }
        if (r == 0) {
            fr->count = (int)json_array_size(arr);
            fr->size = s->size;
        }
    }
    json_decref(o);
    return r;
}

int dbg_audit_keygen(const char *prefix)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!k) {
        dbg_err_set(DBG_ERR_CRYPTO, "Ed25519 key generation failed");
        return -1;
    }
    int r = -1;
    DBG_AUTOFREE char *kpath = dbg_asprintf("%s.key", prefix);
    DBG_AUTOFREE char *ppath = dbg_asprintf("%s.pub", prefix);
    FILE *f = NULL;
    if (!kpath || !ppath)
        goto out;
    int fd = open(kpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot create %s (an existing key is never overwritten)", kpath);
        goto out;
    }
    if (!(f = fdopen(fd, "w"))) {
        close(fd);
        dbg_err_errno(DBG_ERR_IO, "cannot write %s", kpath);
        goto out;
    }
    if (!PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) || fflush(f) != 0 ||
        fsync(fileno(f)) != 0) {
        dbg_err_set(DBG_ERR_IO, "cannot write %s", kpath);
        goto out;
    }
    fclose(f);
    f = NULL;
    if (!(f = fopen(ppath, "we"))) {
        dbg_err_errno(DBG_ERR_IO, "cannot create %s", ppath);
        goto out;
    }
    if (!PEM_write_PUBKEY(f, k) || fflush(f) != 0) {
        dbg_err_set(DBG_ERR_IO, "cannot write %s", ppath);
        goto out;
    }
    r = 0;
out:
    if (f)
        fclose(f);
    EVP_PKEY_free(k);
    return r;
}

char *dbg_audit_public_key(const char *dir, char key_id[2 * AUD_HASH + 1])
{
    char *r = NULL;
    EVP_PKEY *k = NULL;
    BIO *b = NULL;
    DBG_AUTOFREE char *path = dbg_asprintf("%s/%s", dir, AUD_PUB_FILE);
    if (!path || !(k = aud_key_load_public(path)) || aud_key_id(k, key_id) < 0)
        goto out;
    /* written again from the key, never the file's bytes: the loader also takes a private key
     * file (its public half), whose secret must not go out */
    char *pem = NULL;
    long n;
    if (!(b = BIO_new(BIO_s_mem())) || !PEM_write_bio_PUBKEY(b, k) ||
        (n = BIO_get_mem_data(b, &pem)) <= 0) {
        dbg_err_set(DBG_ERR_CRYPTO, "cannot write the public key of %s as PEM", path);
        goto out;
    }
    r = dbg_strndup(pem, (size_t)n);
out:
    BIO_free(b);
    EVP_PKEY_free(k);
    return r;
}

json_t *aud_header_tenants(const uint8_t *p, size_t len, int *state)
{
    json_t *o = json_loadb((const char *)p, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *t = json_object_get(o, "tenants");
    *state = json_is_object(t) ? 1 : t ? -1 : 0;
    t = *state == 1 ? json_incref(t) : NULL;
    json_decref(o);
    return t;
}

int aud_header_tenants_wrong(const json_t *tenants, int state, uint64_t first, char *why,
                             size_t why_size)
{
    if (state < 0) {
        snprintf(why, why_size, "its 'tenants' is not a map of tenants to seqs");
        return 1;
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tenants, k, v)
    {
        /* the writers' state, not signed; but no writer writes an entry that cannot be right
         * (nor opens on one), so one here was put there by an edit of the header */
        if (!*k) {
            snprintf(why, why_size, "an entry for tenant '' (provider-only records have none)");
            return 1;
        }
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            DBG_AUTOFREE char *val = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            snprintf(why, why_size, "tenant '%.64s' -> %.32s is not a seq of a tenant's record", k,
                     val ? val : "?");
            return 1;
        }
        if ((uint64_t)json_integer_value(v) >= first) {
            snprintf(why, why_size,
                     "tenant '%.64s' -> %lld is not a seq before the segment's first (%llu)", k,
                     (long long)json_integer_value(v), (unsigned long long)first);
            return 1;
        }
    }
    return 0;
}
