/* Times dbg_forwarder (the agent side of `dengbao agent --central`) sending a whole EVE file to
 * a running `dengbao serve`: seconds until the server accepted every byte, batches, events/s.
 * Usage: forward_bench CENTRAL_URL CERT KEY CA EVE_FILE (bench/forward-tls.sh builds and runs it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/server.h"
#include "dengbao/util.h"

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: forward_bench CENTRAL_URL CERT KEY CA EVE_FILE\n");
        return 2;
    }
    struct stat st;
    if (stat(argv[5], &st) != 0) {
        perror(argv[5]);
        return 1;
    }
    dbg_forwarder_opts o = {.eve_path = argv[5],
                            .central = argv[1],
                            .tls_cert = argv[2],
                            .tls_key = argv[3],
                            .tls_ca = argv[4],
                            .interval_ms = 20};
    int64_t t0 = dbg_monotonic_us();
    dbg_forwarder *f = dbg_forwarder_start(&o);
    if (!f) {
        fprintf(stderr, "forwarder: %s\n", dbg_err_msg());
        return 1;
    }
    dbg_forwarder_stats s;
    for (;;) {
        dbg_forwarder_get_stats(f, &s);
        if (s.offset >= (uint64_t)st.st_size)
            break;
        if (dbg_monotonic_us() - t0 > 600 * 1000000LL) {
            fprintf(stderr, "not done after 600 s (offset %llu): %s\n",
                    (unsigned long long)s.offset, s.last_error);
            return 1;
        }
        usleep(2000);
    }
    double secs = (double)(dbg_monotonic_us() - t0) / 1e6;
    dbg_forwarder_stop(f);
    printf("%.2f s, %llu batches, %llu failures, %.1f MB/s\n", secs, (unsigned long long)s.batches,
           (unsigned long long)s.failures, (double)st.st_size / secs / 1e6);
    return 0;
}
