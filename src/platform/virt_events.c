/* libvirt's default event loop, registered once per process for every part that subscribes to
 * libvirt events (the guard, the sensor's inventory refresher); each runs it in a thread. */
#include <pthread.h>

#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "platform/virt_lazy.h"

static pthread_once_t loop_once = PTHREAD_ONCE_INIT;
static int loop_rc = -1;

static void silent(void *ud, virErrorPtr e)
{
    (void)ud;
    (void)e;
}

static void loop_init(void)
{
    virSetErrorFunc(NULL, silent); /* errors are reported where they happen, once */
    loop_rc = virEventRegisterDefaultImpl();
}

int dbg_libvirt_event_loop_init(void)
{
    pthread_once(&loop_once, loop_init);
    if (loop_rc != 0) {
        dbg_err_set(DBG_ERR_LIBVIRT, "cannot register libvirt's event loop: %s",
                    virGetLastErrorMessage());
        return -1;
    }
    return 0;
}
