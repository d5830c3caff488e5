/* Outgoing TCP connections (the forwarder to `dengbao serve`, `dengbao vm --connect` to the
 * gateway): every address the name resolves to is tried in order, so a name whose first
 * address (often ::1 for localhost) has no listener still reaches one that has. */
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/util.h"

int dbg_net_connect_tcp(const char *host, const char *port, int timeout_s)
{
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        dbg_err_set(DBG_ERR_NET, "%s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    struct timeval tv = {timeout_s, 0};
    int fd = -1;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        if (timeout_s > 0) /* SO_SNDTIMEO bounds connect() too */
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        dbg_err_errno(DBG_ERR_NET, "cannot connect to %s:%s", host, port);
    freeaddrinfo(ai);
    return fd;
}
