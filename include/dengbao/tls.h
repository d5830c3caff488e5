/* TLS 1.3 with mutual authentication and address parsing for dengbao's network listeners and
 * clients (the gateway, `dengbao serve`). One CA signs every party; identity is the peer
 * certificate's subject. */
#ifndef DENGBAO_TLS_H
#define DENGBAO_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

/* Server context: TLS 1.3 only, client certificate required and checked against ca. NULL with
 * dbg_err set (which file, what OpenSSL said). */
SSL_CTX *dbg_tls_server_ctx(const char *cert, const char *key, const char *ca);
/* Client context: TLS 1.3 only, server certificate checked against ca; cert/key may be NULL. */
SSL_CTX *dbg_tls_client_ctx(const char *cert, const char *key, const char *ca);
/* SSL_set_fd for dengbao's sockets: the same, except that TLS writes to a peer that has gone
 * fail with EPIPE instead of raising SIGPIPE. 0, or -1 with dbg_err set. */
int dbg_tls_set_fd(SSL *ssl, int fd);
/* Describes why a handshake or I/O failed into out (certificate verification result first). */
void dbg_tls_failure(SSL *ssl, int rc, char *out, size_t outsz);
/* The verified peer's subject CN and O (O may be empty). 0, or -1 (DBG_ERR_DENIED): no CN, or a
 * subject with two CNs or two Os (ambiguous: O=provider,O=tenant-a is neither). *cut: 1 when cn
 * or org is not the certificate's whole entry (longer than 127 bytes, cut between characters):
 * good to name a host by, never to match an identity by (the cut name can be another's whole). */
int dbg_tls_peer_subject(SSL *ssl, char cn[128], char org[128], int *cut);
/* The name or address the client dialled, which the server's certificate must carry. */
int dbg_tls_expect_host(SSL *ssl, const char *host);
/* "ADDR:PORT" or "[V6]:PORT" -> host and port strings; 0 or -1 (DBG_ERR_USAGE). */
int dbg_parse_hostport(const char *s, char host[256], char port[16]);

#endif
