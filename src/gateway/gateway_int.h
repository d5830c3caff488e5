/* Internal declarations shared by the gateway's source files (not part of the public API). */
#ifndef DENGBAO_GATEWAY_INT_H
#define DENGBAO_GATEWAY_INT_H

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "dengbao/gateway.h"

SSL_CTX *dbg_gw_tls_server_ctx(const char *cert, const char *key, const char *ca);
SSL_CTX *dbg_gw_tls_client_ctx(const char *cert, const char *key, const char *ca);
/* Describes why a handshake failed (verification result first). */
void dbg_gw_tls_failure(SSL *ssl, int rc, char *out, size_t outsz);
int dbg_gw_tls_peer_subject(SSL *ssl, char cn[128], char org[128]);
int dbg_gw_tls_expect_host(SSL *ssl, const char *host);
/* "ADDR:PORT" or "[V6]:PORT" -> address; 0 or -1 (DBG_ERR_USAGE). */
int dbg_gw_parse_hostport(const char *s, char host[256], char port[16]);

#endif
