/* Hashing a raw file straight from the page cache. A pread copies every byte once more (about a
 * tenth of the time of a one-thread seal on this machine); a mapping costs a page-table entry per
 * mapped page instead, which is cheap per 2 MiB page but, in a VM that traps on page-table
 * updates, dearer than the copy per 4 KiB page. The kernel maps a file 2 MiB at a time only when
 * its page cache holds 2 MiB folios (a file read from disk with readahead, not one just written
 * in small pieces), so the view probes that on 2 MiB in the middle of the file (readahead starts
 * a file with small folios and grows them) and is only used when it holds.
 *
 * A file truncated while mapped raises SIGBUS on the next access; each digest runs under a
 * per-thread recovery point so that becomes an error naming the file, not a crash. */
#include "integrity/file_view.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dengbao/util.h"

#define PMD ((uint64_t)2 << 20)
#define MIN_VIEW ((uint64_t)64 << 20) /* below this the copy costs too little to matter */

struct dbg_file_view {
    uint8_t *base;     /* the file's first byte, 2 MiB aligned */
    void *reservation; /* what munmap releases */
    size_t reserved;
    uint64_t size;
    const char *path;
};

/* ---- SIGBUS as an error: the handler jumps back into the digest that touched the page ---- */

static _Thread_local sigjmp_buf *tls_recover;
static struct sigaction old_bus;
static pthread_once_t bus_once = PTHREAD_ONCE_INIT;
static int bus_ready;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    if (tls_recover)
        siglongjmp(*tls_recover, 1);
    /* not ours: what was installed before decides (default: the process ends) */
    if (old_bus.sa_flags & SA_SIGINFO && old_bus.sa_sigaction) {
        old_bus.sa_sigaction(sig, si, uc);
        return;
    }
    if (old_bus.sa_handler != SIG_DFL && old_bus.sa_handler != SIG_IGN && old_bus.sa_handler) {
        old_bus.sa_handler(sig);
        return;
    }
    signal(SIGBUS, SIG_DFL);
    raise(SIGBUS);
}

static void install_bus_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    bus_ready = sigaction(SIGBUS, &sa, &old_bus) == 0;
}

/* ---- the probe ---- */

/* kB of file pages this process maps with 2 MiB entries (-1 when unknown). */
static long file_pmd_mapped_kb(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "re");
    if (!f)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

dbg_file_view *dbg_file_view_open(int fd, uint64_t size, const char *path)
{
#if defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_READ)
    if (fd < 0 || size < MIN_VIEW || size > SIZE_MAX - 2 * PMD)
        return NULL;
    pthread_once(&bus_once, install_bus_handler);
    if (!bus_ready)
        return NULL;
    dbg_file_view *v = dbg_calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    v->size = size;
    v->path = path;
    /* room to put the file on a 2 MiB boundary, which 2 MiB entries need */
    v->reserved = (size_t)size + PMD;
    v->reservation = mmap(NULL, v->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (v->reservation == MAP_FAILED)
        goto no;
    uintptr_t at = ((uintptr_t)v->reservation + PMD - 1) & ~(uintptr_t)(PMD - 1);
    if (mmap((void *)at, (size_t)size, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
        goto unmap;
    v->base = (uint8_t *)at;
    (void)madvise(v->base, (size_t)size, MADV_HUGEPAGE);
    long before = file_pmd_mapped_kb();
    uint8_t *probe = v->base + ((size / 2) & ~(PMD - 1));
    if (before < 0 || madvise(probe, PMD, MADV_POPULATE_READ) != 0)
        goto unmap;
    long after = file_pmd_mapped_kb();
    if (after - before < (long)(PMD >> 10))
        goto unmap; /* 4 KiB entries: reading is cheaper here */
    return v;
unmap:
    munmap(v->reservation, v->reserved);
no:
    free(v);
#else
    (void)fd;
    (void)size;
    (void)path;
#endif
    return NULL;
}

void dbg_file_view_close(dbg_file_view *v)
{
    if (!v)
        return;
    munmap(v->reservation, v->reserved);
    free(v);
}

typedef struct {
    int (*fn)(const uint8_t *, size_t, void *);
    const uint8_t *p;
    size_t len;
    void *arg;
} view_call;

static int call_trampoline(void *c)
{
    view_call *v = c;
    return v->fn(v->p, v->len, v->arg);
}

int dbg_sigbus_guard(int (*fn)(void *), void *arg)
{
    pthread_once(&bus_once, install_bus_handler);
    if (!bus_ready)
        return fn(arg);
    sigjmp_buf here;
    if (sigsetjmp(here, 0)) {
        tls_recover = NULL;
        return -2;
    }
    tls_recover = &here;
    int r = fn(arg);
    tls_recover = NULL;
    return r;
}

int dbg_file_view_call(dbg_file_view *v, uint64_t off, size_t len,
                       int (*fn)(const uint8_t *p, size_t len, void *arg), void *arg)
{
    if (off > v->size || len > v->size - off) {
        dbg_err_set(DBG_ERR_INVALID, "%s: range %llu+%zu is past the mapped size", v->path,
                    (unsigned long long)off, len);
        return -1;
    }
    /* Populating first turns a file that shrank into EFAULT here rather than a fault later; the
     * recovery point covers one that shrinks in between. */
    uintptr_t a = (uintptr_t)(v->base + off) & ~(uintptr_t)4095;
    if (len && madvise((void *)a, (size_t)((uintptr_t)(v->base + off + len) - a),
                       MADV_POPULATE_READ) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s changed while being read (bytes %llu+%zu not readable)",
                      v->path, (unsigned long long)off, len);
        return -1;
    }
    view_call call = {fn, v->base + off, len, arg};
    int r = dbg_sigbus_guard(call_trampoline, &call);
    if (r == -2)
        dbg_err_set(DBG_ERR_IO, "%s shrank while being read (bytes %llu+%zu)", v->path,
                    (unsigned long long)off, len);
    return r == -2 ? -1 : r;
}

static int update_digest(const uint8_t *p, size_t len, void *ctx)
{
    if (EVP_DigestUpdate(ctx, p, len))
        return 0;
    dbg_err_set(DBG_ERR_CRYPTO, "SHA-256 failed");
    return -1;
}

int dbg_file_view_digest(dbg_file_view *v, uint64_t off, size_t len, EVP_MD_CTX *ctx)
{
    return dbg_file_view_call(v, off, len, update_digest, ctx);
}
