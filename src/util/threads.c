/* Running one worker function on several threads (the work-sharing loops of verify, image
 * hashing and scanning). */
#include <pthread.h>
#include <unistd.h>

#include "dengbao/util.h"

int dbg_online_cores(int max)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return max > 0 && n > max ? max : (int)n;
}

int dbg_run_on_threads(void *(*fn)(void *), void *arg, int n)
{
    enum { MAX = 64 };
    pthread_t th[MAX];
    int started = 0;
    if (n > MAX)
        n = MAX;
    /* the calling thread is one of the n, so n = 1 creates none */
    for (int t = 1; t < n; t++) {
        if (pthread_create(&th[started], NULL, fn, arg) != 0)
            break; /* fewer threads: the others take more of the work */
        started++;
    }
    fn(arg);
    for (int t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    return started + 1;
}

size_t dbg_claim_upto(atomic_size_t *next, size_t end)
{
    size_t cur = atomic_load(next);
    while (cur < end && !atomic_compare_exchange_weak(next, &cur, end))
        ;
    return cur;
}
