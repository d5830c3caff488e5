/* libvirt and libxml2 print nothing of their own: dengbao reports a libvirt error once, where it
 * happens, with libvirt's reason (virGetLastErrorMessage) in its own message. */
#include <libxml/xmlerror.h>
#include <pthread.h>

#include "dengbao/platform.h"
#include "platform/virt_lazy.h"

static pthread_once_t libvirt_once = PTHREAD_ONCE_INIT;

static void no_libvirt_print(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err; /* read with virGetLastError where the call failed */
}

/* libxml2's default prints e.g. the test driver's "I/O warning : failed to load external entity
 * "/missing.xml"" ahead of libvirt's own "failed to parse xml document '/missing.xml'". */
static void no_xml_print(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static void quiet_libvirt(void)
{
    virSetErrorFunc(NULL, no_libvirt_print); /* the process's: "libvirt: ... error : ..." */
}

void dbg_libvirt_quiet(void)
{
    pthread_once(&libvirt_once, quiet_libvirt);
    xmlSetGenericErrorFunc(NULL, no_xml_print); /* libxml2 keeps this one per thread */
}
