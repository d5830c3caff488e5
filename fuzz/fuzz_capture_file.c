/* libFuzzer target for dengbao sensor -r's reading of a capture file: the input is a pcap or
 * pcapng file, read from a memfd the way -r reads one (sn_run_offline: libpcap through the
 * 64 KiB stdio buffer, every packet into a sensor with the default rules and no inventory, and
 * where a cut or malformed file stops, which for pcapng is our own walk of the block framing).
 * Beyond crashes, sanitizer reports and leaks, what the message promises is checked: the byte
 * it names lies in the file, the file cut at that byte reads whole to the same packets (the
 * operator's remedy), a valid file cut short is named at or before the cut, and no more packets
 * are counted than the file has room for. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dengbao/sensor.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

/* the smallest record a packet comes in: a classic pcap record header, a pcapng simple packet
 * block (12 bytes of framing and its 4-byte length) */
#define MIN_RECORD 16

typedef struct {
    int r;            /* sn_run_offline's result */
    uint64_t packets; /* what the sensor counted */
    char msg[1024];   /* dbg_err's message when r != 0 */
} read_result;

static void ignore_alert(void *ud, const dbg_alert *a)
{
    (void)ud;
    (void)a;
}

/* The first size bytes of data as a file at a /proc/self/fd path, as an operator's file would
 * be (a regular file: the position walk needs its size). -1 when no memfd can be had. */
static int file_of(const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create("fuzz_capture_file", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    snprintf(path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}

/* dengbao sensor -r on the first size bytes of data; -1 when it could not be run at all. */
static int read_capture(const uint8_t *data, size_t size, read_result *res)
{
    char path[64];
    int fd = file_of(data, size, path, sizeof(path));
    if (fd < 0)
        return -1;
    dbg_sensor_rules rules;
    dbg_sensor_rules_defaults(&rules);
    /* The default thresholds, with tables of 4096 entries rather than ~130 MiB of them, which
     * calloc and the sanitizers make cost ~20 ms per read (up to three reads per input): an
     * input holds at most a few hundred packets, so this fuzzes the reading, not the tables
     * (fuzz_decode does those). */
    rules.max_flows = rules.max_flows_v6 = rules.max_hosts = 4096;
    dbg_sensor *s = dbg_sensor_new(&rules, NULL, ignore_alert, NULL);
    if (!s) {
        close(fd);
        return -1;
    }
    dbg_sensor_run_opts o = {.read_file = path};
    dbg_err_clear();
    res->r = sn_run_offline(&o, s, dbg_monotonic_us());
    snprintf(res->msg, sizeof(res->msg), "%s", res->r ? dbg_err_msg() : "");
    dbg_sensor_finish(s);
    dbg_sensor_stats st;
    dbg_sensor_get_stats(s, &st);
    res->packets = st.packets;
    dbg_sensor_free(s);
    dbg_err_clear();
    close(fd);
    return 0;
}

/* The byte the message names ("at byte X of the S-byte file"); 0 when it names none. */
static int named_position(const read_result *res, uint64_t *at, uint64_t *file_size)
{
    const char *last = NULL;
    for (const char *p = res->msg; (p = strstr(p, " at byte ")); p++)
        last = p;
    if (!last)
        return 0;
    if (sscanf(last, " at byte %" SCNu64 " of the %" SCNu64 "-byte file", at, file_size) != 2) {
        fprintf(stderr, "fuzz_capture_file: a position not in the documented form: %s\n", res->msg);
        abort();
    }
    return 1;
}

static void fail(const char *what, const read_result *res)
{
    fprintf(stderr, "fuzz_capture_file: %s (result %d, %" PRIu64 " packets): %s\n", what, res->r,
            res->packets, res->msg);
    abort();
}

/* A deterministic cut point for a file that reads whole, chosen by its content (FNV-1a) so the
 * fuzzer varies it. */
static size_t cut_point(const uint8_t *data, size_t size)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 1099511628211ULL;
    return (size_t)(h % size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    read_result whole;
    if (read_capture(data, size, &whole) != 0)
        return 0;
    if (whole.packets > size / MIN_RECORD)
        fail("more packets than the file has room for", &whole);
    if (whole.r == 0 && whole.msg[0])
        fail("a whole read with an error set", &whole);
    uint64_t at = 0, named_size = 0;
    if (named_position(&whole, &at, &named_size)) {
        if (named_size != size)
            fail("the file's size named wrong", &whole);
        if (at >= size)
            fail("a position past the file's end", &whole);
    }
    uint64_t stopped_after = 0;
    const char *sa = strstr(whole.msg, "(stopped after ");
    if (whole.r == 1 &&
        (!sa || sscanf(sa, "(stopped after %" SCNu64 " packets", &stopped_after) != 1 ||
         stopped_after != whole.packets))
        fail("a cut run that does not say how many packets it read", &whole);
    if (whole.r == 1 && named_size) {
        /* the remedy the message offers: the file cut at the byte named reads whole */
        read_result prefix;
        if (read_capture(data, (size_t)at, &prefix) == 0 &&
            (prefix.r != 0 || prefix.packets != whole.packets)) {
            fprintf(stderr,
                    "fuzz_capture_file: whole: %s\nfuzz_capture_file: the file cut at "
                    "byte %" PRIu64 ": ",
                    whole.msg, at);
            fail("does not read whole to the same packets", &prefix);
        }
    }
    if (whole.r == 0 && size > 1) {
        /* a valid file cut short: named before where it is cut (the start of the record or
         * block cut), never at or after it */
        size_t n = cut_point(data, size);
        read_result cut;
        if (read_capture(data, n, &cut) == 0) {
            if (cut.packets > whole.packets)
                fail("more packets from a file cut short", &cut);
            if (named_position(&cut, &at, &named_size) && (named_size != n || at >= n))
                fail("a valid file cut short named at or after the cut", &cut);
        }
    }
    return 0;
}
