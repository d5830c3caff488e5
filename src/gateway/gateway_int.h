/* Internal declarations shared by the gateway's source files (not part of the public API). */
#ifndef DENGBAO_GATEWAY_INT_H
#define DENGBAO_GATEWAY_INT_H

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "dengbao/gateway.h"
#include "dengbao/tls.h"

#endif
