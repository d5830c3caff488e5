/* Segment-file framing: length + CRC-32C per frame so a torn or altered frame is found on read,
 * and the small file helpers (segment names and listing) the log, verifier and indexer share. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = _mm_crc32_u64(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
#endif

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return crc;
}

uint32_t aud_crc32c(uint32_t crc, const void *data, size_t len)
{
    crc = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_hw(crc, data, len);
#endif
    return ~crc32c_sw(crc, data, len);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void aud_frame_header(uint8_t hdr[AUD_FRAME_HDR], uint8_t type, const void *payload, uint32_t len)
{
    hdr[0] = type;
    hdr[1] = AUD_FRAME_VERSION;
    hdr[2] = hdr[3] = 0;
    put_le32(hdr + 4, len);
    uint32_t crc = aud_crc32c(0, hdr, 8);
    crc = aud_crc32c(crc, payload, len);
    put_le32(hdr + 8, crc);
}

uint32_t aud_frame_len(const uint8_t *hdr)
{
    return get_le32(hdr + 4);
}

int aud_frame_peek(const uint8_t *buf, size_t size, size_t off, aud_frame *f, const char **why)
{
    if (off == size)
        return 0;
    if (size - off < AUD_FRAME_HDR) {
        *why = "incomplete frame header";
        return -1;
    }
    const uint8_t *h = buf + off;
    if (h[0] != AUD_FRAME_RECORD && h[0] != AUD_FRAME_CHECKPOINT && h[0] != AUD_FRAME_SEGMENT &&
        h[0] != AUD_FRAME_NEXT) {
        *why = "unknown frame type";
        return -1;
    }
    if (h[1] != AUD_FRAME_VERSION || h[2] || h[3]) {
        *why = "bad frame version";
        return -1;
    }
    uint32_t len = get_le32(h + 4);
    if (len > AUD_MAX_FRAME) {
        *why = "frame length out of range";
        return -1;
    }
    if (size - off - AUD_FRAME_HDR < len) {
        *why = "frame runs past the end of the file";
        return -1;
    }
    f->type = h[0];
    f->len = len;
    f->payload = h + AUD_FRAME_HDR;
    f->offset = off;
    return 1;
}

int aud_frame_crc_ok(const uint8_t *payload, uint32_t len)
{
    const uint8_t *h = payload - AUD_FRAME_HDR;
    uint32_t crc = aud_crc32c(0, h, 8);
    crc = aud_crc32c(crc, payload, len);
    return crc == get_le32(h + 8);
}

#if defined(__x86_64__)
/* Three frames' CRCs in one loop: the crc32 instruction takes 3 cycles to give its result but can
 * start one every cycle, so three independent chains run at nearly three times the speed. */
__attribute__((target("sse4.2"))) static void crc3_hw(const uint8_t *const payload[3],
                                                      const uint32_t len[3], int ok[3])
{
    uint64_t c[3];
    for (int i = 0; i < 3; i++) {
        uint64_t h;
        memcpy(&h, payload[i] - AUD_FRAME_HDR, 8);
        c[i] = _mm_crc32_u64(0xFFFFFFFFu, h);
    }
    uint32_t common = len[0] < len[1] ? len[0] : len[1];
    common = (len[2] < common ? len[2] : common) & ~7u;
    for (uint32_t k = 0; k < common; k += 8) {
        uint64_t v0, v1, v2;
        memcpy(&v0, payload[0] + k, 8);
        memcpy(&v1, payload[1] + k, 8);
        memcpy(&v2, payload[2] + k, 8);
        c[0] = _mm_crc32_u64(c[0], v0);
        c[1] = _mm_crc32_u64(c[1], v1);
        c[2] = _mm_crc32_u64(c[2], v2);
    }
    for (int i = 0; i < 3; i++) {
        uint32_t crc = ~crc32c_hw((uint32_t)c[i], payload[i] + common, len[i] - common);
        ok[i] = crc == get_le32(payload[i] - AUD_FRAME_HDR + 8);
    }
}
#endif

void aud_frame_crc_ok3(const uint8_t *const payload[3], const uint32_t len[3], int ok[3])
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) {
        crc3_hw(payload, len, ok);
        return;
    }
#endif
    for (int i = 0; i < 3; i++)
        ok[i] = aud_frame_crc_ok(payload[i], len[i]);
}

int aud_frame_next(const uint8_t *buf, size_t size, size_t off, aud_frame *f, const char **why)
{
    aud_frame g;
    int r = aud_frame_peek(buf, size, off, &g, why);
    if (r != 1)
        return r;
    if (!aud_frame_crc_ok(g.payload, g.len)) {
        *why = AUD_FRAME_CRC_WHY;
        return -1;
    }
    *f = g;
    return 1;
}

/* ---- segment files ---- */

char *aud_segment_name(uint64_t first_seq)
{
    return dbg_asprintf("seg-%020llu.log", (unsigned long long)first_seq);
}

uint64_t aud_name_first_seq(const char *name)
{
    return strtoull(name + 4, NULL, 10);
}

static int is_segment_name(const char *n)
{
    if (strncmp(n, "seg-", 4) != 0 || strlen(n) != 4 + 20 + 4 || strcmp(n + 24, ".log") != 0)
        return 0;
    for (int i = 4; i < 24; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    return 1;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void aud_free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

int aud_list_segments(const char *dir, char ***names_out, size_t *n_out)
{
    DIR *d = opendir(dir);
    if (!d) {
        dbg_err_errno(DBG_ERR_IO, "cannot open log directory %s", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_segment_name(e->d_name))
            continue;
        if (dbg_grow_array((void **)&names, &cap, n + 1, sizeof(*names), 16) < 0)
            goto fail;
        if (!(names[n] = dbg_strdup(e->d_name)))
            goto fail;
        n++;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof(*names), cmp_names);
    *names_out = names;
    *n_out = n;
    return 0;
fail:
    closedir(d);
    aud_free_names(names, n);
    return -1;
}

int aud_read_whole(const char *path, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot stat %s", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = dbg_malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            dbg_err_errno(DBG_ERR_IO, "cannot read %s", path);
            free(buf);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = got;
    return 0;
}

int aud_map_fd(int fd, const char *what, size_t max_len, uint8_t **data, size_t *len)
{
    struct stat st;
    if (fstat(fd, &st) < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot stat %s", what);
        return -1;
    }
    *len = (size_t)st.st_size < max_len ? (size_t)st.st_size : max_len;
    if (*len == 0) {
        *data = NULL;
        return 0;
    }
    void *p = mmap(NULL, *len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) {
        dbg_err_errno(DBG_ERR_IO, "cannot map %s", what);
        return -1;
    }
    *data = p;
    return 0;
}

int aud_map_file(const char *path, size_t max_len, uint8_t **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        dbg_err_errno(DBG_ERR_IO, "cannot open %s", path);
        return -1;
    }
    int r = aud_map_fd(fd, path, max_len, data, len);
    close(fd); /* the mapping keeps the file */
    return r;
}

void aud_unmap_file(uint8_t *data, size_t len)
{
    if (data && len)
        munmap(data, len);
}
