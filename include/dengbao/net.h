/* Listening sockets for dengbao's servers (the gateway in `dengbao agent`, `dengbao serve`). */
#ifndef DENGBAO_NET_H
#define DENGBAO_NET_H

/* A Unix stream socket at path (a stale socket there is replaced; any other file is an error),
 * mode 0666: the servers identify peers by SO_PEERCRED, not by file permissions. Returns the
 * listening fd, or -1 with dbg_err set. */
int dbg_net_listen_unix(const char *path, int backlog);
/* A TCP socket on "ADDR:PORT" / "[V6]:PORT" (numeric; port 0 = any, the chosen one in *port).
 * Returns the listening fd, or -1 with dbg_err set. */
int dbg_net_listen_tcp(const char *listen_on, int backlog, int *port);

#endif
