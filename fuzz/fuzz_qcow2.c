/* libFuzzer target for the qcow2 reader: the input is an image file (header, tables and
 * clusters as the fuzzer makes them). It is opened from a memfd without following backing
 * files (they would name host files), then its guest content is read and hashed (at most
 * the first 4 MiB; every 64 KiB piece the metadata calls zero must read as zeros, and so must
 * every byte dbg_image_next_nonzero steps over), the same range is split into stored runs, and
 * every internal snapshot is opened. Any crash, hang or leak is a bug; errors are the expected
 * outcome for most inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dengbao/integrity.h"
#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_qcow2", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    dbg_image_open_opts o = {.no_backing = 1};
    dbg_image *img = dbg_image_open(path, &o);
    if (img) {
        dbg_image_reader *r = dbg_image_reader_new(img);
        uint64_t vs = dbg_image_virtual_size(img);
        uint64_t n = vs < (4u << 20) ? vs : (4u << 20);
        uint8_t *buf = malloc(n ? n : 1);
        /* What the metadata calls zero (hashing gives it the constant leaf, a scan credits it
         * with the zero window's matches, wipe-check skips it) must read as zeros. */
        int read_ok = r && buf && dbg_image_read(r, 0, buf, n) == 0;
        if (read_ok) {
            for (uint64_t at = 0; at < n; at += 65536) {
                uint64_t len = n - at < 65536 ? n - at : 65536;
                if (dbg_image_range_is_zero(r, at, len) != 1)
                    continue;
                for (uint64_t k = 0; k < len; k++)
                    if (buf[at + k])
                        abort();
            }
        }
        /* next_nonzero never skips a non-zero byte and agrees with range_is_zero, from any
         * start (a few, unaligned ones included). */
        for (uint64_t k = 0; read_ok && n && k < 8; k++) {
            uint64_t at = k == 0 ? 0 : (n * k / 8) | (k & 1 ? 1 : 0), next = 0;
            if (at >= n)
                continue;
            if (dbg_image_next_nonzero(r, at, n, &next) < 0)
                continue;
            if (next < at || next > n)
                abort();
            for (uint64_t b = at; b < next; b++)
                if (buf[b])
                    abort();
            int z = dbg_image_range_is_zero(r, at, n - at);
            if (z >= 0 && z != (next == n))
                abort();
        }
        /* The runs a hash from the mapped container takes: each is non-empty and, when stored,
         * lies inside the file. */
        for (uint64_t at = 0; r && at < n;) {
            uint64_t host = 0, run = 0;
            int st = dbg_image_stored_run(r, at, n - at, &host, &run);
            if (st < 0)
                break;
            if (run == 0 || run > n - at ||
                (st == 1 && (host + run < host || host + run > dbg_image_container_size(img))))
                abort();
            at += run;
        }
        /* A read near the end of the virtual size walks the last L1/L2 entries. */
        if (r && buf && vs > 4096)
            (void)dbg_image_read(r, vs - 4096, buf, 4096);
        free(buf);
        dbg_image_reader_free(r);
        for (size_t i = 0; i < dbg_image_snapshot_count(img) && i < 4; i++) {
            dbg_image *s = dbg_image_open_snapshot(img, i);
            dbg_image_close(s);
        }
        dbg_image_close(img);
    }
    dbg_err_clear();
    close(fd);
    return 0;
}
