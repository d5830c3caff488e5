/* TLS 1.3 contexts for dengbao's listeners (gateway, serve): the server demands a client
 * certificate signed by the configured CA (mutual authentication, no password path); the client
 * checks the server's certificate against the same CA and the address it dialled. */
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "dengbao/util.h"
#include "dengbao/tls.h"

static void ssl_err(const char *what, const char *path)
{
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    dbg_err_set(DBG_ERR_CRYPTO, "%s %s: %s", what, path ? path : "", buf[0] ? buf : "failed");
}

static SSL_CTX *ctx_common(const SSL_METHOD *m, const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = SSL_CTX_new(m);
    if (!ctx) {
        ssl_err("creating TLS context", NULL);
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
        ssl_err("restricting to TLS 1.3", NULL);
        goto fail;
    }
    if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        ssl_err("loading certificate", cert);
        goto fail;
    }
    if (key && SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        ssl_err("loading private key", key);
        goto fail;
    }
    if (cert && key && SSL_CTX_check_private_key(ctx) != 1) {
        ssl_err("key does not match certificate", key);
        goto fail;
    }
    if (!ca || SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
        ssl_err("loading CA", ca ? ca : "(none given)");
        goto fail;
    }
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

SSL_CTX *dbg_tls_server_ctx(const char *cert, const char *key, const char *ca)
{
    if (!cert || !key || !ca) {
        dbg_err_set(DBG_ERR_USAGE, "TLS needs a certificate, a key and a CA");
        return NULL;
    }
    SSL_CTX *ctx = ctx_common(TLS_server_method(), cert, key, ca);
    if (!ctx)
        return NULL;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(ca);
    if (names)
        SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

SSL_CTX *dbg_tls_client_ctx(const char *cert, const char *key, const char *ca)
{
    SSL_CTX *ctx = ctx_common(TLS_client_method(), cert, key, ca);
    if (ctx)
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ctx;
}

void dbg_tls_failure(SSL *ssl, int rc, char *out, size_t outsz)
{
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    char buf[256] = "";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    if (vr != X509_V_OK)
        snprintf(out, outsz, "TLS handshake failed: certificate verification: %s (%s)",
                 X509_verify_cert_error_string(vr), buf);
    else
        snprintf(out, outsz, "TLS handshake failed: %s", buf[0] ? buf
                 : rc == 0 ? "peer closed the connection" : "error");
}

int dbg_tls_peer_subject(SSL *ssl, char cn[128], char org[128])
{
    cn[0] = org[0] = 0;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (!peer) {
        dbg_err_set(DBG_ERR_DENIED, "client presented no certificate");
        return -1;
    }
    X509_NAME *subj = X509_get_subject_name(peer);
    int r = -1;
    if (X509_NAME_get_text_by_NID(subj, NID_commonName, cn, 128) <= 0 || !cn[0]) {
        dbg_err_set(DBG_ERR_DENIED, "client certificate has no subject CN");
        goto out;
    }
    if (X509_NAME_get_text_by_NID(subj, NID_organizationName, org, 128) <= 0)
        org[0] = 0;
    r = 0;
out:
    X509_free(peer);
    return r;
}

int dbg_tls_expect_host(SSL *ssl, const char *host)
{
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    unsigned char tmp[16];
    int ok;
    if (inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1)
        ok = X509_VERIFY_PARAM_set1_ip_asc(vp, host);
    else
        ok = X509_VERIFY_PARAM_set1_host(vp, host, 0) && SSL_set_tlsext_host_name(ssl, host);
    if (ok != 1) {
        dbg_err_set(DBG_ERR_CRYPTO, "cannot set expected server name %s", host);
        return -1;
    }
    return 0;
}

int dbg_parse_hostport(const char *s, char host[256], char port[16])
{
    const char *colon;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':' || (size_t)(end - s - 1) >= 256)
            goto bad;
        memcpy(host, s + 1, (size_t)(end - s - 1));
        host[end - s - 1] = 0;
        colon = end + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= 256 || colon == s)
            goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    long p;
    if (dbg_parse_long(colon + 1, 0, 65535, &p) != 0)
        goto bad;
    snprintf(port, 16, "%ld", p);
    return 0;
bad:
    dbg_err_set(DBG_ERR_USAGE, "'%.200s' is not ADDR:PORT", s);
    return -1;
}
