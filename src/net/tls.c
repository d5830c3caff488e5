/* TLS 1.3 contexts for dengbao's listeners (gateway, serve): the server demands a client
 * certificate signed by the configured CA (mutual authentication, no password path); the client
 * checks the server's certificate against the same CA and the address it dialled. */
#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

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

/* The subject's nid entry as UTF-8, cut between characters to fit size: 1, 2 when out is not
 * the whole entry (cut), or 0 when there is none or it holds a NUL (a CN "a\0b" must not pass as
 * "a"), -1 when the subject has more than one (O=provider + O=tenant-a: which one is the caller?
 * a reader taking the other would give another view, so neither is taken).
 * X509_NAME_get_text_by_NID would copy the raw ASN.1 bytes (UCS-2 for a BMPString) and cut them
 * at any byte. */
static int subject_text(X509_NAME *subj, int nid, char *out, size_t size)
{
    out[0] = '\0';
    int i = X509_NAME_get_index_by_NID(subj, nid, -1);
    if (i >= 0 && X509_NAME_get_index_by_NID(subj, nid, i) >= 0)
        return -1;
    X509_NAME_ENTRY *e = i >= 0 ? X509_NAME_get_entry(subj, i) : NULL;
    unsigned char *utf8 = NULL;
    int n = e ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
    int ok = n > 0 && strlen((char *)utf8) == (size_t)n;
    if (ok) {
        dbg_utf8_copy(out, size, (char *)utf8);
        if (strcmp(out, (char *)utf8) != 0)
            ok = 2;
    }
    OPENSSL_free(utf8);
    return ok;
}

int dbg_tls_peer_subject(SSL *ssl, char cn[128], char org[128], int *cut)
{
    cn[0] = org[0] = 0;
    *cut = 0;
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (!peer) {
        dbg_err_set(DBG_ERR_DENIED, "client presented no certificate");
        return -1;
    }
    X509_NAME *subj = X509_get_subject_name(peer);
    int r = -1, c = subject_text(subj, NID_commonName, cn, 128), o;
    if (c < 0) {
        dbg_err_set(DBG_ERR_DENIED, "client certificate subject has more than one CN (ambiguous "
                                    "identity)");
        goto out;
    }
    if (c == 0 || !cn[0]) {
        dbg_err_set(DBG_ERR_DENIED, "client certificate has no usable subject CN");
        goto out;
    }
    if ((o = subject_text(subj, NID_organizationName, org, 128)) < 0) {
        dbg_err_set(DBG_ERR_DENIED,
                    "client certificate subject CN=%s has more than one O (ambiguous identity: "
                    "provider or which tenant?)",
                    cn);
        cn[0] = 0;
        goto out;
    }
    if (o == 0)
        org[0] = 0;
    *cut = c == 2 || o == 2;
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

/* ---- the socket BIO, writing with MSG_NOSIGNAL ---- */
/* OpenSSL's socket BIO writes with write(2), so a TLS write to a peer that has gone (an answer,
 * a session ticket, a close_notify) raises SIGPIPE, which kills a process that embeds a server
 * or client and keeps SIGPIPE's default action: the library cannot count on the program
 * ignoring it. This BIO is OpenSSL's socket BIO (its read, control, create and destroy) with a
 * write by send(..., MSG_NOSIGNAL): such a write fails with EPIPE like any other I/O error. */
static BIO_METHOD *nosig_method;

static int nosig_write(BIO *b, const char *buf, int len)
{
    int fd = (int)BIO_get_fd(b, NULL);
    errno = 0;
    ssize_t n = send(fd, buf, (size_t)(len > 0 ? len : 0), MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (n <= 0 && BIO_sock_should_retry((int)n))
        BIO_set_retry_write(b);
    return (int)n;
}

static void nosig_method_init(void)
{
    const BIO_METHOD *sock = BIO_s_socket();
    int type = BIO_get_new_index();
    BIO_METHOD *m = type < 0 ? NULL
                             : BIO_meth_new(type | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                            "socket, MSG_NOSIGNAL");
    if (m && (BIO_meth_set_write(m, nosig_write) != 1 ||
              BIO_meth_set_read(m, BIO_meth_get_read(sock)) != 1 ||
              BIO_meth_set_puts(m, BIO_meth_get_puts(sock)) != 1 ||
              BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock)) != 1 ||
              BIO_meth_set_create(m, BIO_meth_get_create(sock)) != 1 ||
              BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock)) != 1)) {
        BIO_meth_free(m);
        m = NULL;
    }
    nosig_method = m;
}

int dbg_tls_set_fd(SSL *ssl, int fd)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, nosig_method_init);
    BIO *bio = nosig_method ? BIO_new(nosig_method) : NULL;
    if (!bio) {
        ssl_err("making the TLS socket BIO", NULL);
        return -1;
    }
    BIO_set_fd(bio, fd, BIO_NOCLOSE);
    SSL_set_bio(ssl, bio, bio);
    return 0;
}
