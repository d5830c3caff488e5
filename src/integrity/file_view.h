/* Zero-copy reads of a raw file for hashing: the page cache mapped 2 MiB at a time. */
#ifndef DBG_INTEGRITY_FILE_VIEW_H
#define DBG_INTEGRITY_FILE_VIEW_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dbg_file_view dbg_file_view;

/* Maps the first size bytes of fd when the kernel maps this file's page cache in 2 MiB pages
 * (probed on 2 MiB in its middle); NULL when it does not, or the file is small, or anything fails:
 * then the caller reads the file as before. Never sets an error. */
dbg_file_view *dbg_file_view_open(int fd, uint64_t size, const char *path);
void dbg_file_view_close(dbg_file_view *v);
/* Runs fn on bytes [off, off + len) of the view, in place. Returns what fn returns, or -1 with
 * dbg_err set when the file no longer holds those bytes (it shrank while being read). */
int dbg_file_view_call(dbg_file_view *v, uint64_t off, size_t len,
                       int (*fn)(const uint8_t *p, size_t len, void *arg), void *arg);
/* Runs fn(arg) so that a SIGBUS raised by this thread meanwhile (a mapped file truncated under
 * it) returns -2 instead of ending the process; fn's work is abandoned where it was. */
int dbg_sigbus_guard(int (*fn)(void *), void *arg);
/* Hashes bytes [off, off + len) of the view into ctx. Returns 0, or -1 with dbg_err set when
 * the file no longer holds them (it shrank while being hashed) or SHA-256 failed. */
int dbg_file_view_digest(dbg_file_view *v, uint64_t off, size_t len, EVP_MD_CTX *ctx);

#endif
