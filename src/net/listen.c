/* The listening half of dengbao's servers, shared by the gateway and `dengbao serve` so both
 * treat stale sockets, numeric addresses and port 0 the same way. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/tls.h"
#include "dengbao/util.h"

int dbg_net_listen_unix(const char *path, int backlog)
{
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        dbg_err_set(DBG_ERR_USAGE, "socket path %s is too long (max %zu bytes)", path,
                    sizeof(sa.sun_path) - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            dbg_err_set(DBG_ERR_IO, "%s exists and is not a socket", path);
            return -1;
        }
        /* A socket someone still accepts on is another running server's, not a stale one: taking
         * its path would leave that server unreachable (and its stop would remove ours). A full
         * backlog (EAGAIN) is a live listener too. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        int live = probe >= 0 && (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
                                  errno == EAGAIN || errno == EINPROGRESS);
        if (probe >= 0)
            close(probe);
        if (live) {
            dbg_err_set(DBG_ERR_IO, "%s: another process is listening on this socket", path);
            return -1;
        }
        unlink(path); /* a stale socket from a previous run */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, backlog) != 0) {
        dbg_err_errno(DBG_ERR_IO, "listening on %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* Anyone may connect: the kernel names the peer's uid and the server decides. */
    chmod(path, 0666);
    return fd;
}

int dbg_net_listen_tcp(const char *listen_on, int backlog, int *port)
{
    char host[256], portstr[16];
    if (dbg_parse_hostport(listen_on, host, portstr) != 0)
        return -1;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host, portstr, &hints, &ai);
    if (rc != 0) {
        dbg_err_set(DBG_ERR_USAGE, "--listen %s: %s (a numeric address is needed)", listen_on,
                    gai_strerror(rc));
        return -1;
    }
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, backlog) != 0) {
        dbg_err_errno(DBG_ERR_NET, "listening on %s", listen_on);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (port) {
        getsockname(fd, (struct sockaddr *)&ss, &sl);
        *port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}
