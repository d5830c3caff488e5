/* Shared libraries loaded on first use instead of at start-up. Why: libvirt, libpq, libpcap and
 * libyara with what they pull in (glib, gnutls, krb5, ldap, dbus, ...) were two thirds of the
 * start-up time of every dengbao command (about 20 of 30 ms here), and most commands call at most
 * one of them. A module includes its library's header through a *_lazy.h header of its own,
 * which turns each function it uses into a pointer looked up once at its first call. The dengbao
 * binary does not link these libraries, so a name used but not listed there is a link error. */
#ifndef DBG_UTIL_LAZY_LIB_H
#define DBG_UTIL_LAZY_LIB_H

#include <stdatomic.h>
#include <string.h>

typedef enum { DBG_LAZY_VIRT, DBG_LAZY_PQ, DBG_LAZY_PCAP, DBG_LAZY_YARA, DBG_LAZY_N } dbg_lazy_lib;

/* The address of name in lib, loading lib on the first call. These libraries are hard
 * dependencies of the commands that use them: when one cannot be loaded or lacks the name, this
 * prints what is missing and exits with status 3 (runtime error). Thread-safe. */
void *dbg_lazy_sym(dbg_lazy_lib lib, const char *name);

#define DBG_LAZY(lib, n)                                                                           \
    (__extension__({                                                                               \
        static _Atomic(__typeof__(&n)) dbg_lazy_cached_;                                           \
        __typeof__(&n) dbg_lazy_p_ =                                                               \
            atomic_load_explicit(&dbg_lazy_cached_, memory_order_acquire);                         \
        if (!dbg_lazy_p_) {                                                                        \
            void *dbg_lazy_v_ = dbg_lazy_sym(lib, #n);                                             \
            memcpy(&dbg_lazy_p_, &dbg_lazy_v_, sizeof(dbg_lazy_p_));                               \
            atomic_store_explicit(&dbg_lazy_cached_, dbg_lazy_p_, memory_order_release);           \
        }                                                                                          \
        dbg_lazy_p_;                                                                               \
    }))

#endif
