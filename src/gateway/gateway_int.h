/* Internal declarations shared by the gateway's source files (not part of the public API). */
#ifndef DENGBAO_GATEWAY_INT_H
#define DENGBAO_GATEWAY_INT_H

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "dengbao/gateway.h"
#include "dengbao/tls.h"
#include "platform/virt_lazy.h"

/* Fills in the path of each <source pool volume> disk that has none (libvirt gives it only
 * for a running VM), so that it can be verified or checked like a file disk. */
void gw_resolve_volumes(virConnectPtr c, dbg_gw_disk *d, size_t n);

/* Tests only: fn runs in place of libvirt's call for each operation the gateway executes and
 * returns the message libvirt's call would fail with (virGetLastErrorMessage's), or NULL for
 * a call that succeeds, so that libvirt's failures the test driver cannot produce (a host
 * device in use by another VM, a migration's destination holding a VM of that name or uuid)
 * go through the same handling (test_gateway.c). NULL fn: libvirt is called. */
typedef const char *(*gw_libvirt_call_fn)(void *ctx, const dbg_gw_request *req);
void gw_set_libvirt_call(dbg_gateway *gw, gw_libvirt_call_fn fn, void *ctx);

/* The answers for a VM or a ticket that does not exist, also given for one the caller may not
 * see, so that the two read the same (the argument is what the request named). */
#define GW_NO_SUCH_VM "no VM named '%s'"
#define GW_NO_SUCH_TICKET "no ticket %.32s"

#endif
