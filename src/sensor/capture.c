/* Capture at the edge: libpcap offline (pcap and pcapng) or live on one or more bridges/taps,
 * feeding the sensor core; alerts go out through the alerter's EVE sink, flow records to
 * --flows, stats to stderr (at exit and on SIGUSR1) and, when live, the status file of the
 * "sensor" control (platform.h's contract). Live handles use snaplen 2048 and buffered mode
 * with a large kernel buffer: immediate mode with a huge snaplen dropped half a burst here. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include "sensor/pcap_lazy.h"
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dengbao/alert.h"
#include "dengbao/platform.h"
#include "dengbao/util.h"
#include "sensor/sensor_internal.h"

#define LIVE_SNAPLEN 2048
#define OFFLINE_BUFFER ((size_t)1 << 16)
#define LIVE_BUFFER (32 << 20)

typedef struct {
    dbg_alerter *alerter;
    FILE *flows;
    const char *flows_path;
    long alerts;
    int alert_failed;
    int flow_failed; /* a flow record could not be written: the run is an error */
    int flow_reopen_failed;
} run_ctx;

/* The first failure to write --flows (a full disk) is warned about once; records after it are
 * not attempted, and the run ends as an error rather than as if the file were complete. */
static void flow_write_failed(run_ctx *rc, int err)
{
    if (rc->flow_failed)
        return;
    rc->flow_failed = 1;
    dbg_warn("sensor: %s: writing flow records failed: %s; the flow records from here on are "
             "lost", rc->flows_path, strerror(err));
}

static void on_alert(void *ud, const dbg_alert *a)
{
    run_ctx *rc = ud;
    rc->alerts++;
    if (dbg_alerter_emit(rc->alerter, a) < 0 && !rc->alert_failed) {
        rc->alert_failed = 1;
        dbg_warn("sensor: writing an alert failed: %s", dbg_err_msg());
    }
}

/* The "dengbao" object of a flow record: each end's VM and tenant, as in an alert's, so the
 * central store files the flow under both tenants (store: dengbao.src/dest.tenant) and each
 * tenant can see its own VMs' traffic. "" when neither end is a VM of the inventory. */
static char *flow_ends_json(const dbg_sensor_flow_record *f)
{
    json_t *ext = json_object();
    const dbg_sensor_port *ends[2] = {f->src_port, f->dst_port};
    const char *names[2] = {"src", "dest"};
    for (int i = 0; ext && i < 2; i++) {
        if (!ends[i])
            continue;
        json_t *o = json_object();
        if (!o || json_object_set_new(ext, names[i], o) < 0) {
            json_decref(ext);
            return NULL;
        }
        /* json_string refuses text that is not UTF-8: such a field is left out */
        json_object_set_new(o, "vm", json_string(ends[i]->vm_name));
        if (ends[i]->vm_uuid[0])
            json_object_set_new(o, "vm_uuid", json_string(ends[i]->vm_uuid));
        if (ends[i]->tenant[0])
            json_object_set_new(o, "tenant", json_string(ends[i]->tenant));
    }
    if (!ext)
        return NULL;
    char *out = json_object_size(ext) ? json_dumps(ext, JSON_COMPACT | JSON_PRESERVE_ORDER)
                                      : strdup("");
    json_decref(ext);
    return out;
}

/* A flow record as Suricata's EVE "flow" event: its timestamp shape, and "vlan" as a list of
 * tags, absent when the frames were untagged. */
static void on_flow(void *ud, const dbg_sensor_flow_record *f)
{
    run_ctx *rc = ud;
    if (rc->flow_failed) /* the file is already known incomplete: nothing more is tried */
        return;
    char src[46], dst[46], start[40], end[40], vlan[24] = "";
    sn_ip_format((const sn_ip *)f->src, src, sizeof(src));
    sn_ip_format((const sn_ip *)f->dst, dst, sizeof(dst));
    dbg_eve_time(f->first_us, start, sizeof(start));
    dbg_eve_time(f->last_us, end, sizeof(end));
    if (f->vlan >= 0)
        snprintf(vlan, sizeof(vlan), ",\"vlan\":[%d]", f->vlan);
    const char *proto = f->proto == 6 ? "TCP" : f->proto == 17 ? "UDP" : f->proto == 1 ? "ICMP"
                        : f->proto == 58 ? "ICMPv6" : "other";
    char *ends = flow_ends_json(f);
    if (!ends) { /* out of memory: the record is still worth more than nothing */
        dbg_warn("sensor: flow %" PRIu64 ": its VMs and tenants left out of the record (no memory)",
                 f->flow_id);
    }
    int w = fprintf(rc->flows,
            "{\"timestamp\":\"%s\",\"flow_id\":%" PRIu64 ",\"event_type\":\"flow\","
            "\"src_ip\":\"%s\",\"src_port\":%u,"
            "\"dest_ip\":\"%s\",\"dest_port\":%u,\"proto\":\"%s\"%s,\"flow\":{"
            "\"pkts_toserver\":%" PRIu64 ",\"pkts_toclient\":%" PRIu64
            ",\"bytes_toserver\":%" PRIu64 ",\"bytes_toclient\":%" PRIu64
            ",\"start\":\"%s\",\"end\":\"%s\",\"reason\":\"%s\"}%s%s}\n",
            end, f->flow_id, src, f->sport, dst, f->dport, proto, vlan, f->pkts_toserver,
            f->pkts_toclient, f->bytes_toserver, f->bytes_toclient, start, end, f->reason,
            ends && *ends ? ",\"dengbao\":" : "", ends && *ends ? ends : "");
    free(ends);
    if (w < 0 || ferror(rc->flows))
        flow_write_failed(rc, errno);
}

/* The step of the start-up about to begin, to a supervisor waiting for the first status. */
static void progress(const dbg_sensor_run_opts *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void progress(const dbg_sensor_run_opts *o, const char *fmt, ...)
{
    if (!o->progress)
        return;
    char step[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(step, sizeof(step), fmt, ap);
    va_end(ap);
    dbg_utf8_trim_partial(step);
    o->progress(o->status_ctx, step);
}

static const char *status_dir(const dbg_sensor_run_opts *o)
{
    const char *dir = o->status_dir;
    if (!dir)
        dir = getenv("DENGBAO_STATUS_DIR");
    return dir ? dir : "/run/dengbao/status";
}

/* Live interfaces whose capture failed (the device was removed or went down: a VM's tap when
 * the VM stops, a bridge deleted): reopened every LOST_RETRY_US, and reported until then. */
#define LOST_RETRY_US (5 * 1000000LL)
typedef struct {
    int64_t since_us; /* wall clock when lost; 0 = capturing */
    char why[512];
} lost_iface;

static void iface_lost(lost_iface *l, const char *why)
{
    l->since_us = dbg_now_us();
    snprintf(l->why, sizeof(l->why), "%s", why);
    dbg_utf8_trim_partial(l->why);
}

static int write_status(const char *dir, const dbg_sensor_run_opts *o, const dbg_sensor *s,
                        const lost_iface *lost, sn_inv_refresher *ref, int final)
{
    dbg_sensor_stats st;
    dbg_sensor_get_stats(s, &st);
    dbg_buf ifs;
    dbg_buf_init(&ifs, 4096);
    json_t *jifs = json_array();
    size_t n_lost = 0;
    for (size_t i = 0; i < o->n_ifaces; i++) {
        dbg_buf_printf(&ifs, "%s%s", i ? " " : "", o->ifaces[i]);
        int is_lost = lost && lost[i].since_us;
        char since[40] = "";
        if (is_lost) {
            n_lost++;
            dbg_time_rfc3339(lost[i].since_us, since, sizeof(since));
            dbg_buf_printf(&ifs, " (not captured since %s: %s)", since, lost[i].why);
        }
        json_t *ji = json_pack("{s:s,s:b}", "name", o->ifaces[i], "capturing", !is_lost);
        if (ji && is_lost)
            json_object_update_new(ji, json_pack("{s:s,s:s}", "not_captured_since", since,
                                                 "error", lost[i].why));
        json_array_append_new(jifs, ji);
    }
    /* the inventory attribution rests on, and whether it is current */
    json_t *jinv = json_null();
    char inv_note[700] = "";
    DBG_AUTOFREE char *degraded = NULL;
    if (o->inventory_path || o->uri) {
        int64_t loaded = 0, failing = 0;
        char err[512] = "", when[40] = "", since[40] = "";
        if (ref)
            sn_inv_refresher_state(ref, &loaded, &failing, err, sizeof(err));
        if (loaded)
            dbg_time_rfc3339(loaded, when, sizeof(when));
        if (err[0] && failing)
            dbg_time_rfc3339(failing, since, sizeof(since));
        const char *source = o->inventory_path ? o->inventory_path : o->uri;
        jinv = json_pack("{s:s,s:I,s:s*,s:s*,s:s*}", "source", source, "ports",
                         (json_int_t)(s->inv ? dbg_sensor_inventory_ports(s->inv) : 0), "loaded",
                         loaded ? when : NULL, "reload_error", err[0] ? err : NULL,
                         "reload_failing_since", since[0] ? since : NULL);
        if (err[0]) {
            snprintf(inv_note, sizeof(inv_note), "; inventory of %s in use, reload failed: %s",
                     when, err);
            /* Still ok (detection goes on), but an assessor must not read the control as
             * whole: what changed since is not attributed (platform.h's "degraded"). */
            degraded = dbg_asprintf(
                "attribution rests on the inventory of %s (%s), not reloaded since %s: VMs "
                "started, defined or moved since are not attributed (no ip_spoof, mac_spoof or "
                "cross_tenant alerts for them); reload error: %s",
                when, source, since[0] ? since : "start", err);
        }
        dbg_utf8_trim_partial(inv_note);
    }
    DBG_AUTOFREE char *detail = dbg_asprintf(
        "%s on %s: %" PRIu64 " packets, %" PRIu64 " drops, %" PRIu64 " alerts%s",
        final ? "stopped capturing" : "capturing", ifs.data ? ifs.data : "", st.packets, st.drops,
        st.alerts, inv_note);
    dbg_buf_free(&ifs);
    json_t *extra = json_pack("{s:I,s:I,s:I,s:I,s:I,s:b,s:o,s:o}", "packets",
                              (json_int_t)st.packets, "drops", (json_int_t)st.drops,
                              "decode_errors", (json_int_t)st.decode_errors, "alerts",
                              (json_int_t)st.alerts, "flows_active", (json_int_t)st.flows_active,
                              "running", !final, "interfaces", jifs ? jifs : json_array(),
                              "inventory", jinv ? jinv : json_null());
    if (extra && degraded)
        json_object_set_new(extra, "degraded", json_string(degraded));
    /* an interface it was told to watch and does not: the traffic there is not seen */
    if (o->status_out)
        return o->status_out(o->status_ctx, !final && !n_lost, detail, extra);
    return dbg_status_write(dir, "sensor", !final && !n_lost, detail, extra);
}

static void update_status(const char *dir, const dbg_sensor_run_opts *o, const dbg_sensor *s,
                          const lost_iface *lost, sn_inv_refresher *ref, int final)
{
    if (write_status(dir, o, s, lost, ref, final) != 0)
        dbg_warn("sensor: cannot write status file %s/sensor.json: %s", dir, dbg_err_msg());
}

/* --user: root is given up once what needs it is open. Live runs keep CAP_NET_RAW to reopen an
 * interface that comes back. */
static int drop_root(const dbg_sensor_run_opts *o, int live)
{
    return o->run_as ? dbg_drop_privileges(o->run_as, live) : 0;
}

static void print_stats(const dbg_sensor *s, int64_t started, int as_json)
{
    dbg_sensor_stats st;
    dbg_sensor_get_stats(s, &st);
    double el = (double)(dbg_monotonic_us() - started) / 1e6;
    dbg_sensor_stats_print(&st, el, stderr);
    if (as_json) {
        char *js = dbg_sensor_stats_json(&st, el);
        if (js)
            printf("%s\n", js);
        free(js);
        fflush(stdout);
    }
}

/* A packet's time in microseconds, held to 1970..9999. A capture file's timestamps are the
 * file's to say: libpcap turns a pcapng block's 64-bit count (in units of the interface's
 * if_tsresol, plus its if_tsoffset) into seconds far outside any date or below zero, and their
 * product with 10^6 overflowed. Such a packet is still decoded, at the nearest time EVE can
 * print (dbg_eve_time shows a negative time as 1970 too). */
static int64_t packet_time_us(const struct timeval *tv)
{
    if (tv->tv_sec < 0)
        return 0;
    if (tv->tv_sec > DBG_TIME_LAST_S)
        return DBG_TIME_LAST_S * 1000000 + 999999;
    return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void offline_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    dbg_sensor_packet((dbg_sensor *)user, packet_time_us(&h->ts), data, h->caplen, h->len, 0);
}

/* A window of a capture file read with pread, leaving libpcap's stream where it is: the
 * pcapng walk below reads two small fields per block, mostly within one 64 KiB read. */
typedef struct {
    int fd;
    uint64_t base;
    size_t len;
    uint8_t data[1 << 16];
} file_window;

static file_window *window_new(int fd)
{
    file_window *w = malloc(sizeof(*w));
    if (w) {
        w->fd = fd;
        w->base = w->len = 0;
    }
    return w;
}

static int window_get(file_window *w, uint64_t off, uint8_t *out, size_t n)
{
    if (off < w->base || off + n > w->base + w->len) {
        ssize_t got = pread(w->fd, w->data, sizeof(w->data), (off_t)off);
        if (got < 0)
            return -1;
        w->base = off;
        w->len = (size_t)got;
        if (n > w->len)
            return -1;
    }
    memcpy(out, w->data + (off - w->base), n);
    return 0;
}

static uint32_t u32_in(const uint8_t *b, int big_endian)
{
    return big_endian ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                      : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

static uint16_t u16_in(const uint8_t *b, int big_endian)
{
    return big_endian ? (uint16_t)(b[0] << 8 | b[1]) : (uint16_t)(b[1] << 8 | b[0]);
}

#define PCAPNG_SHB 0x0a0d0d0au
#define PCAPNG_BYTE_ORDER 0x1a2b3c4du

/* The first pcapng block that is cut or whose framing is broken (a length under 12 or not a
 * multiple of 4, a trailing length that differs, a section header without its byte-order
 * magic), walked from the file's start: blocks vary in size, so only a walk finds where they
 * stop. Each section header sets the byte order of the blocks after it; libpcap reads every
 * section in the first one's (it takes a later header's length swapped: "block size ... >
 * maximum"), so a section in the other byte order is where it stops, named as such. The block
 * named is the one libpcap stopped in, the one holding the byte before stopped_at (how far its
 * stream read; 0 if unknown): libpcap reads a block whole before it looks at its content (an
 * interface of another link type, a packet of an unknown interface), so a whole block there is
 * the one it objected to, not a cut further on, and a block it read past is not named for its
 * framing. "" when every block is whole and where libpcap stopped is unknown, or when libpcap
 * could not open the file (!opened) and read it to its end. */
static void pcapng_cut_position(int fd, uint64_t size, uint64_t stopped_at, int opened,
                                char *buf, size_t bufsize)
{
    file_window *w = window_new(fd);
    if (!w)
        return;
    int big = 0;
    uint64_t off = 0, block = 0, section = 0;
    while (off < size) {
        block++;
        uint8_t h[12], t[4];
        uint64_t left = size - off;
        if (left < 12 || window_get(w, off, h, 12) != 0) {
            snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                     "-byte file is cut (%" PRIu64 " bytes of its header are there)", block, off,
                     size, left);
            break;
        }
        if (u32_in(h, 1) == PCAPNG_SHB) {
            uint32_t bom = u32_in(h + 8, 1);
            if (bom != PCAPNG_BYTE_ORDER && bom != __builtin_bswap32(PCAPNG_BYTE_ORDER)) {
                snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                         "-byte file is malformed (a section header without its byte-order "
                         "magic)", block, off, size);
                break;
            }
            int was_big = big;
            big = bom == PCAPNG_BYTE_ORDER;
            if (section++ && big != was_big) {
                snprintf(buf, bufsize,
                         ": section %" PRIu64 " (block %" PRIu64 " at byte %" PRIu64
                         " of the %" PRIu64 "-byte file) is %s-endian, the first %s-endian, and "
                         "libpcap reads no byte-order change",
                         section, block, off, size, big ? "big" : "little",
                         was_big ? "big" : "little");
                break;
            }
        }
        uint32_t len = u32_in(h + 4, big);
        /* a block libpcap read past is not where it stopped, whatever its framing (libpcap
         * checks the first section header's less): only its length counts, to find the next */
        int read_past = stopped_at && len >= 12 && off + len < stopped_at;
        if (len < 12 || (len % 4 != 0 && !read_past)) {
            snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                     "-byte file is malformed (its length is %" PRIu32 ")", block, off, size, len);
            break;
        }
        if (len > left) {
            snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                     "-byte file is cut (%" PRIu64 " of its %" PRIu32 " bytes are there)", block,
                     off, size, left, len);
            break;
        }
        if (!read_past && (window_get(w, off + len - 4, t, 4) != 0 || u32_in(t, big) != len)) {
            snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                     "-byte file is malformed (its trailing length differs from its length %"
                     PRIu32 ")", block, off, size, len);
            break;
        }
        if (stopped_at && !read_past) {
            /* libpcap that could not open a file it read to the end found something missing
             * (no interface description block), not a block at fault */
            if (!opened && off + len == size)
                break;
            snprintf(buf, bufsize, ": block %" PRIu64 " at byte %" PRIu64 " of the %" PRIu64
                     "-byte file is where libpcap stopped (its framing is whole: libpcap "
                     "objected to its content)", block, off, size);
            break;
        }
        off += len;
    }
    free(w);
}

#define PCAP_FILE_HEADER 24
#define PCAP_RECORD_HEADER 16

/* Where the record after the first `records` of a classic pcap file starts, or -1 when a header
 * cannot be read. Each record is its 16-byte header and the captured length its header gives,
 * read from the headers since libpcap may hand over less (it cuts a record longer than the
 * file's snapshot length to that length); in files before version 2.4 (and DG/UX's 543) the
 * writer may have swapped the captured and wire lengths, which libpcap undoes as here. */
static int pcap_record_start(int fd, int big, uint64_t records, uint64_t *at)
{
    file_window *w = window_new(fd);
    if (!w)
        return -1;
    uint8_t fh[PCAP_FILE_HEADER], rh[PCAP_RECORD_HEADER];
    if (window_get(w, 0, fh, sizeof(fh)) != 0) {
        free(w);
        return -1;
    }
    int r = 0;
    uint16_t major = u16_in(fh + 4, big), minor = u16_in(fh + 6, big);
    int swapped = (major == 2 && minor < 3) || major == 543;
    int maybe_swapped = major == 2 && minor == 3;
    uint64_t off = PCAP_FILE_HEADER;
    for (uint64_t i = 0; i < records; i++) {
        if ((r = window_get(w, off, rh, sizeof(rh))) != 0)
            break;
        uint32_t caplen = u32_in(rh + 8, big), len = u32_in(rh + 12, big);
        if (swapped || (maybe_swapped && caplen > len))
            caplen = len;
        off += PCAP_RECORD_HEADER + caplen;
    }
    free(w);
    *at = off;
    return r;
}

/* Where the first record libpcap could not read starts, so an operator can cut the file there
 * or look at the record. A classic pcap file has a 24-byte header, then a 16-byte header and
 * the captured bytes per record; a pcapng file is walked block by block. The magic is read
 * with pread, leaving libpcap's stream where it is; "" for anything else, and for a classic pcap
 * file libpcap could not open (!opened: its header, not a record, is at fault). */
static void cut_position(FILE *fp, int opened, uint64_t records, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = fileno(fp);
    struct stat st;
    uint8_t m[4];
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, m, 4, 0) != 4)
        return;
    uint32_t magic = u32_in(m, 1);
    if (magic == PCAPNG_SHB) {
        off_t read_to = ftello(fp); /* stdio's position: what libpcap consumed, not read ahead */
        pcapng_cut_position(fd, (uint64_t)st.st_size, read_to > 0 ? (uint64_t)read_to : 0,
                            opened, buf, size);
        return;
    }
    uint64_t at;
    if (!opened || (magic != 0xa1b2c3d4u && magic != 0xd4c3b2a1u && magic != 0xa1b23c4du &&
                    magic != 0x4d3cb2a1u) ||
        pcap_record_start(fd, magic == 0xa1b2c3d4u || magic == 0xa1b23c4du, records, &at) != 0)
        return;
    snprintf(buf, size, ": the record at byte %" PRIu64 " of the %" PRIu64 "-byte file is cut "
             "or malformed", at, (uint64_t)st.st_size);
}

int sn_run_offline(const dbg_sensor_run_opts *o, dbg_sensor *s, int64_t started)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    /* A file is read through a 64 KiB stdio buffer. libpcap's own open gives a 4 KiB one: a read
     * system call every ~50 small frames, every third large one. A buffer larger than the L2
     * cache (1 MiB, before) is worse: each block is copied into it and out again through L3;
     * bench/sensor.sh's loops here read 25 M small frames/s at 64 KiB, 15 M at 1 MiB, 20 M at
     * 4 KiB. ("-" is standard input, as for pcap_open_offline.) */
    int is_stdin = !strcmp(o->read_file, "-");
    FILE *fp = is_stdin ? stdin : fopen(o->read_file, "rbe");
    if (!fp) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot read capture", o->read_file);
        return -1;
    }
    char *iobuf = is_stdin ? NULL : malloc(OFFLINE_BUFFER); /* stdin keeps its own buffer */
    if (iobuf)
        setvbuf(fp, iobuf, _IOFBF, OFFLINE_BUFFER);
    pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (!p) {
        char at[200] = ""; /* a pcapng file cut in its first section or interface header */
        if (!is_stdin) {
            cut_position(fp, 0, 0, at, sizeof(at));
            fclose(fp);
        }
        free(iobuf);
        dbg_err_set(DBG_ERR_IO, "%s: cannot read capture: %s%s", o->read_file, errbuf, at);
        return -1;
    }
    int dlt = pcap_datalink(p);
    if (dlt != DLT_EN10MB) {
        /* by name where libpcap has one, by number always: an unknown type showed as "?" */
        const char *lt = pcap_datalink_val_to_name(dlt);
        if (lt)
            dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: link type %s (DLT %d) is not Ethernet",
                        o->read_file, lt, dlt);
        else
            dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: link type %d is not Ethernet", o->read_file,
                        dlt);
        pcap_close(p);
        free(iobuf);
        return -1;
    }
    if (drop_root(o, 0) != 0) {
        pcap_close(p);
        free(iobuf);
        return -1;
    }
    /* pcap_dispatch hands over a run of packets per call (the per-packet cost of pcap_next_ex
     * is a call through the library's read op for each); stop and stats requests are looked
     * at between runs. */
    int r;
    while ((r = pcap_dispatch(p, 65536, offline_packet, (u_char *)s)) > 0) {
        if (o->stop && *o->stop)
            break;
        if (o->dump_stats && *o->dump_stats) {
            *o->dump_stats = 0;
            print_stats(s, started, 0);
        }
    }
    int cut = r == -1;
    if (cut) {
        /* a truncated file ends the run like EOF (what was read is still analysed and its
         * alerts written) but the run is a runtime error: its results cover only part of the
         * capture (pcap_dispatch does not say how many packets the failing call delivered: the
         * sensor's count does) */
        dbg_sensor_flush(s);
        dbg_sensor_stats st; /* every packet libpcap handed over, processed by the flush */
        dbg_sensor_get_stats(s, &st);
        char at[200];
        at[0] = '\0';
        if (!is_stdin) /* it may not have started at the file's first byte */
            cut_position(fp, 1, st.packets, at, sizeof(at));
        dbg_err_set(DBG_ERR_PARSE, "%s: %s (stopped after %" PRIu64 " packets%s; the rest of "
                    "the capture was not analysed)", o->read_file, pcap_geterr(p), st.packets, at);
    }
    pcap_close(p); /* closes fp, which uses iobuf */
    free(iobuf);
    return cut ? 1 : 0;
}

static pcap_t *open_live(const char *iface)
{
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, errbuf);
    if (!p) {
        dbg_err_set(DBG_ERR_IO, "%s: cannot capture: %s", iface, errbuf);
        return NULL;
    }
    pcap_set_snaplen(p, LIVE_SNAPLEN);
    pcap_set_promisc(p, 1);
    pcap_set_timeout(p, 100);
    pcap_set_buffer_size(p, LIVE_BUFFER);
    int r = pcap_activate(p);
    if (r < 0) {
        dbg_err_set(DBG_ERR_IO, "%s: cannot start capture: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        dbg_err_set(DBG_ERR_UNSUPPORTED, "%s: not an Ethernet device", iface);
        pcap_close(p);
        return NULL;
    }
    if (pcap_setnonblock(p, 1, errbuf) != 0) {
        dbg_err_set(DBG_ERR_IO, "%s: %s", iface, errbuf);
        pcap_close(p);
        return NULL;
    }
    return p;
}

/* /sys/class/net/IFACE/LEAF into path; -1 for a name that cannot be an interface's (a '/' would
 * leave the directory) or that does not fit. */
static int iface_sysfs_path(const char *iface, const char *leaf, char *path, size_t size)
{
    if (strchr(iface, '/'))
        return -1;
    int n = snprintf(path, size, "/sys/class/net/%s/%s", iface, leaf);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* /sys/class/net/IFACE/address into mac; -1 when it cannot be read or is not a MAC. */
static int read_iface_mac(const char *iface, uint8_t mac[6])
{
    char path[320], text[32] = "";
    FILE *f = NULL;
    if (iface_sysfs_path(iface, "address", path, sizeof(path)) == 0)
        f = fopen(path, "re");
    int ok = f && fgets(text, sizeof(text), f) != NULL;
    if (f)
        fclose(f);
    text[strcspn(text, "\n")] = '\0';
    return ok && sn_mac_parse(text, mac) == 0 ? 0 : -1;
}

typedef struct {
    dbg_sensor *s;
    int index;
} live_cb;

static void live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    live_cb *cb = (live_cb *)user;
    dbg_sensor_packet(cb->s, packet_time_us(&h->ts), data, h->caplen, h->len, cb->index);
}

/* The bridge iface is a port of (/sys/class/net/IFACE/master), in name (IFNAMSIZ), or "". */
static void bridge_of(const char *iface, char *name, size_t size)
{
    char path[320], link[320];
    name[0] = '\0';
    if (iface_sysfs_path(iface, "master", path, sizeof(path)) != 0)
        return;
    ssize_t n = readlink(path, link, sizeof(link) - 1);
    if (n <= 0)
        return;
    link[n] = '\0';
    const char *base = strrchr(link, '/');
    base = base ? base + 1 : link;
    size_t len = strlen(base);
    if (len < size)
        memcpy(name, base, len + 1);
}

/* The MACs of the host's own frames on a VM's tap, for the spoof checks: the tap's own (its
 * host side) and the bridge's it is a port of. Read when the interface opens (a tap made again
 * for a restarted VM has a new MAC) and every IFACE_MACS_US while it is captured: a Linux bridge
 * with no address set takes its ports' lowest MAC, which changes as ports come and go, an
 * operator may set another, and a tap may join a bridge after its capture opened. */
#define IFACE_MACS_US 1000000LL
static void note_iface_macs(dbg_sensor *s, int index, const char *iface)
{
    uint8_t own[6], bridge[6];
    char master[64];
    bridge_of(iface, master, sizeof(master));
    int has_own = read_iface_mac(iface, own) == 0;
    int has_bridge = master[0] && read_iface_mac(master, bridge) == 0;
    sn_set_iface_macs(s, index, has_own ? own : NULL, has_bridge ? bridge : NULL);
}

/* An interface named twice would be captured twice: every packet counted twice, floods and
 * volume reached at half their thresholds. So would a tap or veth captured with the bridge it
 * is a port of: the bridge's capture sees every frame the port forwards. */
static int check_ifaces(const dbg_sensor_run_opts *o)
{
    if (o->n_ifaces > SN_MAX_IFACES) {
        dbg_err_set(DBG_ERR_USAGE, "at most %d interfaces", SN_MAX_IFACES);
        return -1;
    }
    for (size_t i = 0; i < o->n_ifaces; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o->ifaces[i], o->ifaces[j])) {
                dbg_err_set(DBG_ERR_USAGE, "interface %s given twice (its packets would be "
                            "counted twice)", o->ifaces[i]);
                return -1;
            }
    for (size_t i = 0; i < o->n_ifaces; i++) {
        char master[64];
        bridge_of(o->ifaces[i], master, sizeof(master));
        for (size_t j = 0; master[0] && j < o->n_ifaces; j++)
            if (!strcmp(master, o->ifaces[j])) {
                dbg_err_set(DBG_ERR_USAGE, "interface %s is a port of bridge %s, also given "
                            "(its packets would be counted twice: capture the bridge or its "
                            "ports, not both)", o->ifaces[i], master);
                return -1;
            }
    }
    return 0;
}

static int run_live(const dbg_sensor_run_opts *o, dbg_sensor *s, dbg_sensor_inventory **inv,
                    run_ctx *out_ctx, int64_t started)
{
    size_t n = o->n_ifaces;
    if (check_ifaces(o) != 0) /* checked already; the arrays below rely on it */
        return -1;
    pcap_t *ps[SN_MAX_IFACES] = {0};
    struct pollfd fds[SN_MAX_IFACES];
    live_cb cbs[SN_MAX_IFACES];
    uint64_t last_drops[SN_MAX_IFACES] = {0};
    lost_iface lost[SN_MAX_IFACES];
    memset(lost, 0, sizeof(lost));
    sn_inv_refresher *ref = NULL;
    int rc = -1;
    const char *status = status_dir(o);
    /* An interface missing at start (a stopped VM's tap when the agent restarts) is watched
     * for like one lost later; only when none opens is the run an error (a wrong name). */
    size_t opened = 0;
    sn_set_iface_macs_reader(s, note_iface_macs); /* and when a tap's frame needs them */
    for (size_t i = 0; i < n; i++) {
        if (dbg_sensor_set_iface(s, (int)i, o->ifaces[i]) != 0)
            goto out;
        fds[i].fd = -1;
        fds[i].events = POLLIN;
        cbs[i].s = s;
        cbs[i].index = (int)i;
        progress(o, "opening its capture on %s", o->ifaces[i]);
        if (!(ps[i] = open_live(o->ifaces[i]))) {
            iface_lost(&lost[i], dbg_err_msg());
            continue;
        }
        fds[i].fd = pcap_get_selectable_fd(ps[i]);
        note_iface_macs(s, (int)i, o->ifaces[i]);
        opened++;
    }
    if (!opened) { /* the first interface's error */
        dbg_err_set(DBG_ERR_IO, "%s", lost[0].why);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (!ps[i])
            dbg_warn("sensor: %s: not captured (%s); tried again every %lld s, the status is not "
                     "ok until then", o->ifaces[i], lost[i].why, LOST_RETRY_US / 1000000);
    dbg_err_clear();
    /* before the drop: the refresher's libvirt connection is opened as root (see there) */
    if (!o->inventory_path && o->uri && o->inventory_refresh_s >= 0)
        progress(o, "connecting to libvirt (%s) for its domain events", o->uri);
    if ((o->inventory_path || o->uri) && o->inventory_refresh_s >= 0 &&
        !(ref = sn_inv_refresher_new(o->inventory_path, o->uri,
                                     o->inventory_refresh_s ? o->inventory_refresh_s : 60)))
        goto out;
    if (o->run_as)
        progress(o, "giving up root for user %s", o->run_as);
    if (drop_root(o, 1) != 0)
        goto out;
    int64_t next_retry = 0, next_macs = dbg_monotonic_us() + IFACE_MACS_US;
    unsigned seen_inv_changes = 0;
    if (ref && sn_inv_refresher_run(ref) != 0)
        goto out;
    progress(o, "writing its first status");
    if (!o->run_as) {
        update_status(status, o, s, lost, ref, 0);
    } else if (write_status(status, o, s, lost, ref, 0) != 0) {
        /* it would never be written as USER: the control would look absent */
        char why[600];
        snprintf(why, sizeof(why), "%s", dbg_err_msg());
        dbg_err_set(DBG_ERR_IO, "as user %s the status file %s/sensor.json cannot be written (%s): "
                    "give --status-dir a directory %s can write", o->run_as, status, why,
                    o->run_as);
        goto out;
    }
    int64_t next_status = dbg_monotonic_us() + 30 * 1000000LL;
    int64_t next_stats = dbg_monotonic_us() + 10 * 1000000LL;
    int64_t deadline = o->duration_s > 0 ? started + sn_secs(o->duration_s) : 0;
    while (!(o->stop && *o->stop)) {
        int pr = poll(fds, (nfds_t)n, 200);
        if (pr < 0 && errno != EINTR) {
            dbg_err_errno(DBG_ERR_IO, "poll on capture handles");
            goto out;
        }
        int changed = 0;
        for (size_t i = 0; i < n; i++) {
            if (!ps[i])
                continue;
            /* drain each handle: buffered mode delivers blocks */
            int got;
            do {
                got = pcap_dispatch(ps[i], 4096, live_packet, (u_char *)&cbs[i]);
            } while (got > 0);
            if (got == PCAP_ERROR) {
                /* the device is gone or down (a stopped VM's tap, a deleted bridge): the other
                 * interfaces go on, this one is retried, and the gap is reported */
                iface_lost(&lost[i], pcap_geterr(ps[i]));
                dbg_warn("sensor: %s: capture lost (%s); its traffic is not seen until it can be "
                         "opened again (tried every %lld s)",
                         o->ifaces[i], lost[i].why, LOST_RETRY_US / 1000000);
                pcap_close(ps[i]);
                ps[i] = NULL;
                fds[i].fd = -1; /* poll skips it */
                last_drops[i] = 0;
                changed = 1;
                continue;
            }
            struct pcap_stat pst;
            if (pcap_stats(ps[i], &pst) == 0) {
                uint64_t d = (uint64_t)pst.ps_drop + pst.ps_ifdrop;
                if (d > last_drops[i]) {
                    dbg_sensor_add_drops(s, d - last_drops[i]);
                    last_drops[i] = d;
                }
            }
        }
        int64_t mono = dbg_monotonic_us();
        if (mono >= next_retry) {
            for (size_t i = 0; i < n; i++) {
                if (ps[i] || !lost[i].since_us || !(ps[i] = open_live(o->ifaces[i])))
                    continue;
                fds[i].fd = pcap_get_selectable_fd(ps[i]);
                note_iface_macs(s, (int)i, o->ifaces[i]);
                dbg_warn("sensor: %s: capturing (after %.0f s not captured)", o->ifaces[i],
                         (double)(dbg_now_us() - lost[i].since_us) / 1e6);
                lost[i].since_us = 0;
                changed = 1;
            }
            dbg_err_clear(); /* an interface still missing is already reported */
            next_retry = mono + LOST_RETRY_US;
        }
        if (mono >= next_macs) { /* between dispatch rounds: no frame is being processed */
            for (size_t i = 0; i < n; i++)
                if (ps[i])
                    note_iface_macs(s, (int)i, o->ifaces[i]);
            next_macs = mono + IFACE_MACS_US;
        }
        unsigned inv_changes = sn_inv_refresher_changes(ref);
        if (inv_changes != seen_inv_changes) {
            seen_inv_changes = inv_changes;
            changed = 1;
        }
        dbg_sensor_inventory *fresh = sn_inv_refresher_take(ref);
        if (fresh) { /* between packets: the pipeline holds no pointer into the old one */
            dbg_sensor_set_inventory(s, fresh);
            dbg_sensor_inventory_free(*inv);
            *inv = fresh;
            changed = 1;
        }
        if (changed) {
            update_status(status, o, s, lost, ref, 0);
            next_status = mono + 30 * 1000000LL;
        }
        dbg_sensor_tick(s, dbg_now_us());
        dbg_alerter_flush(out_ctx->alerter);
        /* flow records leave as they end, not when stdio's buffer fills (on a quiet bridge,
         * only at exit): a reader following the file sees each within one round */
        if (out_ctx->flows && !out_ctx->flow_failed && fflush(out_ctx->flows) != 0)
            flow_write_failed(out_ctx, errno);
        /* and after logrotate moved the file, into a new one at the path, as alerts do */
        if (out_ctx->flows && out_ctx->flows != stdout && !out_ctx->flow_failed)
            dbg_file_follow_rotation(&out_ctx->flows, out_ctx->flows_path,
                                     &out_ctx->flow_reopen_failed, "flow records");
        if (o->dump_stats && *o->dump_stats) {
            *o->dump_stats = 0;
            print_stats(s, started, 0);
        }
        if (o->print_stats && mono >= next_stats) {
            print_stats(s, started, 0);
            next_stats = mono + 10 * 1000000LL;
        }
        if (mono >= next_status) {
            update_status(status, o, s, lost, ref, 0);
            next_status = mono + 30 * 1000000LL;
        }
        if (deadline && mono >= deadline)
            break;
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        if (ps[i])
            pcap_close(ps[i]);
    if (rc == 0)
        update_status(status, o, s, lost, ref, 1);
    sn_inv_refresher_stop(ref);
    return rc;
}

int dbg_sensor_run_check(const dbg_sensor_run_opts *o)
{
    if (check_ifaces(o) != 0)
        return -1;
    dbg_sensor_rules rules;
    dbg_sensor_rules_defaults(&rules);
    if (o->rules_path && dbg_sensor_rules_load(&rules, o->rules_path) != 0)
        return -1;
    if (!o->inventory_path)
        return 0;
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    int r = inv ? dbg_sensor_inventory_load(inv, o->inventory_path, NULL) : -1;
    dbg_sensor_inventory_free(inv);
    return r;
}

long dbg_sensor_run(const dbg_sensor_run_opts *o)
{
    if (!o->read_file && check_ifaces(o) != 0) /* before -c reaches libvirt */
        return -1;
    long result = -1;
    dbg_sensor_rules rules;
    dbg_sensor_rules_defaults(&rules);
    DBG_AUTOFREE char *default_rules = NULL;
    const char *rules_path = o->rules_path;
    if (!rules_path) {
        /* no data directory: an error, not silently the built-in thresholds */
        if (!(default_rules = dbg_datadir_join("rules/sensor.yaml")))
            return -1;
        rules_path = default_rules;
    }
    progress(o, "loading its rules from %s", rules_path);
    if (dbg_sensor_rules_load(&rules, rules_path) != 0)
        return -1;
    dbg_sensor_inventory *inv = dbg_sensor_inventory_new();
    if (!inv)
        return -1;
    if (o->inventory_path)
        progress(o, "loading its inventory from %s", o->inventory_path);
    else if (o->uri)
        progress(o, "collecting its inventory from libvirt (%s)", o->uri);
    if ((o->inventory_path || o->uri) &&
        dbg_sensor_inventory_load(inv, o->inventory_path, o->uri) != 0) {
        dbg_sensor_inventory_free(inv);
        return -1;
    }
    run_ctx rc = {0};
    dbg_sensor *s = NULL;
    if (o->eve_path || o->syslog_target)
        progress(o, "opening its alert outputs (%s%s%s)", o->eve_path ? o->eve_path : "",
             o->eve_path && o->syslog_target ? ", syslog " : o->syslog_target ? "syslog " : "",
             o->syslog_target ? o->syslog_target : "");
    rc.alerter = dbg_alerter_new(0); /* the sensor folds incidents itself */
    if (!rc.alerter || dbg_alerter_add_sinks(rc.alerter, o->eve_path, o->syslog_target) < 0)
        goto out;
    if (o->flows_path) {
        rc.flows = !strcmp(o->flows_path, "-") ? stdout : fopen(o->flows_path, "ae");
        rc.flows_path = o->flows_path;
        if (!rc.flows) {
            dbg_err_errno(DBG_ERR_IO, "%s: cannot open flow output", o->flows_path);
            goto out;
        }
    }
    s = dbg_sensor_new(&rules, inv, on_alert, &rc);
    if (!s)
        goto out;
    if (rc.flows)
        dbg_sensor_set_flow_sink(s, on_flow, &rc);
    int64_t started = dbg_monotonic_us();
    int r = o->read_file ? sn_run_offline(o, s, started) : run_live(o, s, &inv, &rc, started);
    char cut_msg[1024] = "";
    if (r == 1) /* kept: finishing the run may set other errors */
        snprintf(cut_msg, sizeof(cut_msg), "%s", dbg_err_msg());
    dbg_sensor_finish(s);
    if (rc.flows && !rc.flow_failed && (fflush(rc.flows) != 0 || ferror(rc.flows)))
        flow_write_failed(&rc, errno);
    dbg_sensor_stats st;
    dbg_sensor_get_stats(s, &st);
    if (r >= 0 || st.packets) /* a capture that never opened has nothing to report */
        print_stats(s, started, o->print_stats);
    if (r == 0 && !rc.alert_failed && !rc.flow_failed)
        result = rc.alerts;
    else if (r == 1)
        dbg_err_set(DBG_ERR_PARSE, "%s", cut_msg);
    else if (r == 0) { /* alerts or flows not all written: they are lost to readers */
        if (rc.alert_failed)
            dbg_err_set(DBG_ERR_IO, "%ld alert(s) raised but writing them failed (see the "
                        "warning above)", rc.alerts);
        else
            dbg_err_set(DBG_ERR_IO, "%s: writing flow records failed (see the warning above); "
                        "the file lacks flows of this run", o->flows_path);
    }
out:
    dbg_sensor_free(s);
    if (rc.alerter)
        dbg_alerter_free(rc.alerter);
    if (rc.flows && rc.flows != stdout)
        fclose(rc.flows);
    dbg_sensor_inventory_free(inv);
    return result;
}
