/* Alert sinks: EVE JSON lines to a file or stream, RFC 5424 syslog over a Unix datagram socket
 * or UDP on loopback, and a human-readable line per alert. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "alert/alert_internal.h"
#include "dengbao/util.h"

/* How long one syslog send waits for a receiver whose queue is full. */
#define SYSLOG_SEND_WAIT_MS 1000

struct dbg_alert_sink {
    dbg_sink_kind kind;
    FILE *f;
    int owns_file;      /* f was opened at the path in name (an EVE file of our own) */
    int reopen_failed;  /* warned once that the rotated path could not be opened */
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *hostname;
    char pen[DBG_SYSLOG_PEN_MAX + 1]; /* syslog: the SD-ID's enterprise number */
    int stalled;                      /* syslog: the receiver's queue was full at the last send */
    char *name;                       /* for messages */
};

static dbg_alert_sink *sink_new(dbg_sink_kind kind, const char *name)
{
    dbg_alert_sink *s = dbg_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->kind = kind;
    s->fd = -1;
    s->name = dbg_strdup(name);
    if (!s->name) {
        free(s);
        return NULL;
    }
    return s;
}

dbg_alert_sink *dbg_alert_sink_eve(const char *path)
{
    if (!strcmp(path, "-")) {
        dbg_alert_sink *s = sink_new(DBG_SINK_EVE, "stdout"); /* named so in its errors */
        if (s)
            s->f = stdout;
        return s;
    }
    dbg_alert_sink *s = sink_new(DBG_SINK_EVE, path);
    if (!s)
        return NULL;
    /* A regular file is opened for reading too, where allowed: write_line looks at its last
     * byte. Anything else (a FIFO a shipper reads, /dev/stdout) is opened as it always was:
     * a FIFO opened read-write would never see its reader go. */
    struct stat st;
    int regular = stat(path, &st) != 0 || S_ISREG(st.st_mode);
    s->f = regular ? fopen(path, "a+e") : NULL;
    if (!s->f && (!regular || errno == EACCES))
        s->f = fopen(path, "ae");
    if (!s->f) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open EVE output", path);
        dbg_alert_sink_free(s);
        return NULL;
    }
    s->owns_file = 1;
    return s;
}

dbg_alert_sink *dbg_alert_sink_eve_stream(FILE *f)
{
    dbg_alert_sink *s = sink_new(DBG_SINK_EVE, "stream");
    if (s)
        s->f = f;
    return s;
}

dbg_alert_sink *dbg_alert_sink_text(FILE *f)
{
    dbg_alert_sink *s = sink_new(DBG_SINK_TEXT, "text");
    if (s)
        s->f = f;
    return s;
}

static int parse_udp_target(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    DBG_AUTOFREE char *copy = dbg_strdup(spec);
    if (!copy)
        return -1;
    char *colon = strrchr(copy, ':');
    long port;
    if (!colon || dbg_parse_long(colon + 1, 1, 65535, &port) < 0) {
        dbg_err_set(DBG_ERR_USAGE, "syslog target 'udp:%s': expected HOST:PORT", spec);
        return -1;
    }
    *colon = '\0';
    char *host = copy;
    if (host[0] == '[') {
        host++;
        size_t n = strlen(host);
        if (n && host[n - 1] == ']')
            host[n - 1] = '\0';
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*in6);
        return 0;
    }
    dbg_err_set(DBG_ERR_USAGE, "syslog target 'udp:%s': '%s' is not a numeric IP address", spec,
                host);
    return -1;
}

/* An enterprise number as RFC 5424 (7.2.2) takes it after the '@': an IANA Private Enterprise
 * Number, maybe with sub-identifiers (12345.1), short enough for the 32-character SD-NAME. */
static int valid_pen(const char *pen)
{
    size_t len = strlen(pen);
    if (len == 0 || len > DBG_SYSLOG_PEN_MAX)
        return 0;
    for (const char *p = pen; *p;) {
        const char *start = p;
        while (*p >= '0' && *p <= '9')
            p++;
        size_t digits = (size_t)(p - start);
        if (!digits || digits > 10 || (*start == '0' && (digits > 1 || start == pen)))
            return 0; /* empty, too long, a leading zero, or PEN 0 (reserved) */
        if (*p == '.' && p[1])
            p++;
        else if (*p)
            return 0;
    }
    return 1;
}

dbg_alert_sink *dbg_alert_sink_syslog(const char *target, const char *hostname)
{
    /* TARGET[,pen=N]: only a last ",pen=" counts, so a socket path with a comma still works */
    const char *opt = strrchr(target, ',');
    if (!opt || strncmp(opt, ",pen=", 5))
        opt = NULL;
    if (opt && !valid_pen(opt + 5)) {
        dbg_err_set(DBG_ERR_USAGE, "syslog target '%s': pen '%s' is not an IANA Private Enterprise "
                    "Number (digits, 1 to %d characters with sub-identifiers as 12345.1, no "
                    "leading zero)", target, opt + 5, DBG_SYSLOG_PEN_MAX);
        return NULL;
    }
    DBG_AUTOFREE char *address = dbg_strndup(target, opt ? (size_t)(opt - target) : strlen(target));
    if (!address)
        return NULL;
    dbg_alert_sink *s = sink_new(DBG_SINK_SYSLOG, address);
    if (!s)
        return NULL;
    snprintf(s->pen, sizeof(s->pen), "%s", opt ? opt + 5 : DBG_SYSLOG_PEN_DEFAULT);
    target = address;
    char hbuf[256] = "";
    if (!hostname) {
        gethostname(hbuf, sizeof(hbuf) - 1);
        hostname = hbuf;
    }
    s->hostname = dbg_strdup(hostname);
    if (!s->hostname)
        goto fail;
    if (!strncmp(target, "unix:", 5)) {
        struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;
        const char *path = target + 5;
        if (strlen(path) >= sizeof(un->sun_path)) {
            dbg_err_set(DBG_ERR_USAGE, "syslog target '%s': socket path too long", target);
            goto fail;
        }
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, strlen(path) + 1);
        s->addrlen = sizeof(*un);
    } else if (!strncmp(target, "udp:", 4)) {
        if (parse_udp_target(target + 4, &s->addr, &s->addrlen) < 0)
            goto fail;
    } else {
        dbg_err_set(DBG_ERR_USAGE, "syslog target '%s': use unix:PATH or udp:HOST:PORT", target);
        goto fail;
    }
    s->fd = socket(s->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        dbg_err_errno(DBG_ERR_NET, "syslog target '%s': cannot create socket", target);
        goto fail;
    }
    /* A Unix datagram send waits while the receiver's queue is full: a syslog daemon that stopped
     * reading would hold the alerter (and the capture behind it) for ever. */
    struct timeval tv = {SYSLOG_SEND_WAIT_MS / 1000, (SYSLOG_SEND_WAIT_MS % 1000) * 1000};
    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return s;
fail:
    dbg_alert_sink_free(s);
    return NULL;
}

/* After a log rotation (the file renamed or removed, logrotate's default) the path names
 * another file or none: open it again, so alerts go where readers and the forwarder look, not
 * into the renamed file. Checked per line; lines are few. Failing to reopen keeps the old
 * file (and says so once) rather than lose alerts. */
static void follow_rotation(dbg_alert_sink *s)
{
    dbg_file_follow_rotation(&s->f, s->name, &s->reopen_failed, "alerts");
}

/* Where the file's last line starts when the file does not end with a newline (a writer
 * killed inside its write, a disk that filled before the line could be taken back), else -1.
 * Read backwards in blocks; only a cut line is read past its last byte. */
static off_t cut_line_start(int fd, off_t size)
{
    char block[4096];
    off_t end = size;
    while (end > 0) {
        size_t want = end < (off_t)sizeof(block) ? (size_t)end : sizeof(block);
        ssize_t n = pread(fd, block, want, end - (off_t)want);
        if (n != (ssize_t)want)
            return -1; /* unreadable (a write-only file): written as before */
        if (end == size && block[want - 1] == '\n')
            return -1;
        const char *nl = memrchr(block, '\n', want);
        if (nl)
            return end - (off_t)want + (nl - block) + 1;
        end -= (off_t)want;
    }
    return 0;
}

static int write_line(dbg_alert_sink *s, const char *line)
{
    /* A file of our own is opened O_APPEND and may be shared (the agent's guard and sensor
     * write one EVE file): the line and its newline go out in one write() so lines from two
     * writers never interleave, which stdio's buffer-sized pieces would not promise. */
    if (s->owns_file) {
        size_t n = strlen(line);
        DBG_AUTOFREE char *whole = malloc(n + 1);
        if (!whole) {
            dbg_err_set(DBG_ERR_NOMEM, "%s: no memory for an alert line", s->name);
            return -1;
        }
        memcpy(whole, line, n);
        whole[n] = '\n';
        follow_rotation(s);
        int fd = fileno(s->f);
        /* A write cut short (file size limit, full disk) would leave half a line that the next
         * alert is glued onto, so both are lost to every reader: the failed line is taken back.
         * Writers of the file take turns for that, or the truncation could cut a line another
         * writer appended after ours. No lock (a filesystem without flock) still writes. */
        int locked = flock(fd, LOCK_EX) == 0;
        struct stat st;
        off_t start = fstat(fd, &st) == 0 ? st.st_size : -1;
        /* A line left without its newline would swallow this alert: both would be one line
         * that no reader parses. It is ended first, so only the cut line is lost (and every
         * reader, the forwarder too, sees it as the one bad line it is). The newline is a
         * write of its own, kept even if the alert's fails: a reader may have taken it already. */
        off_t cut = start > 0 ? cut_line_start(fd, start) : -1;
        if (cut >= 0) {
            dbg_warn("%s: the last line (bytes %lld..%lld) has no newline, cut short by a writer "
                     "that stopped inside it: ended there, so the alerts after it stay whole",
                     s->name, (long long)cut, (long long)start - 1);
            if (write(fd, "\n", 1) == 1)
                start++;
        }
        int r = 0;
        for (size_t off = 0; off <= n;) {
            ssize_t w = write(fd, whole + off, n + 1 - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                dbg_err_errno(DBG_ERR_IO, "%s: cannot write alert", s->name);
                if (off > 0 && (start < 0 || ftruncate(fd, start) != 0))
                    dbg_warn("%s: an alert line was left cut short", s->name);
                r = -1;
                break;
            }
            off += (size_t)w;
        }
        if (locked)
            flock(fd, LOCK_UN);
        return r;
    }
    if (fputs(line, s->f) < 0 || fputc('\n', s->f) < 0 || fflush(s->f) != 0) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot write alert", s->name);
        return -1;
    }
    return 0;
}

static void text_endpoint(dbg_buf *b, const dbg_endpoint *e)
{
    dbg_buf_adds(b, e->ip[0] ? e->ip : "-");
    if (e->vm_name[0])
        dbg_buf_printf(b, " (vm %s%s%s)", e->vm_name, e->tenant[0] ? ", tenant " : "", e->tenant);
}

static char *text_line(const dbg_alert *a)
{
    static const char *const sev[] = {"", "HIGH", "MEDIUM", "LOW"};
    char ts[64];
    dbg_time_rfc3339(a->time_us, ts, sizeof(ts));
    int si = a->severity >= 1 && a->severity <= 3 ? (int)a->severity : 2;
    dbg_buf b;
    dbg_buf_init(&b, 65536);
    dbg_buf_printf(&b, "%s [%s] %s (%s) ", ts, sev[si], a->type, a->clause[0] ? a->clause : "-");
    text_endpoint(&b, &a->src);
    dbg_buf_adds(&b, " -> ");
    text_endpoint(&b, &a->dst);
    if (a->evidence && *a->evidence)
        dbg_buf_printf(&b, ": %s", a->evidence);
    if (dbg_buf_printf(&b, " (count %llu, %llu packets, %llu bytes)",
                       (unsigned long long)(a->count ? a->count : 1),
                       (unsigned long long)a->packets, (unsigned long long)a->bytes) < 0) {
        dbg_buf_free(&b);
        return NULL;
    }
    return dbg_buf_steal(&b);
}

int dbg_alert_sink_write(dbg_alert_sink *s, const dbg_alert *a)
{
    DBG_AUTOFREE char *line = NULL;
    switch (s->kind) {
    case DBG_SINK_EVE:
        if (!(line = dbg_alert_to_eve(a)))
            return -1;
        return write_line(s, line);
    case DBG_SINK_TEXT:
        if (!(line = text_line(a)))
            return -1;
        return write_line(s, line);
    case DBG_SINK_SYSLOG:
        if (!(line = dbg_alert_to_syslog(a, s->hostname, s->pen)))
            return -1;
        /* Once the receiver's queue stayed full for the wait, later alerts are not waited for
         * until one goes through again: one wait per stall, not one per alert. */
        if (sendto(s->fd, line, strlen(line), MSG_NOSIGNAL | (s->stalled ? MSG_DONTWAIT : 0),
                   (struct sockaddr *)&s->addr, s->addrlen) < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                s->stalled = 1;
                dbg_err_set(DBG_ERR_NET,
                            "syslog %s: the receiver is not reading (its queue stayed "
                            "full for %d ms): alert not sent",
                            s->name, SYSLOG_SEND_WAIT_MS);
            } else {
                dbg_err_errno(DBG_ERR_NET, "syslog %s: cannot send alert", s->name);
            }
            return -1;
        }
        s->stalled = 0;
        return 0;
    }
    return -1;
}

void dbg_alert_sink_free(dbg_alert_sink *s)
{
    if (!s)
        return;
    if (s->owns_file && s->f)
        fclose(s->f);
    else if (s->f)
        fflush(s->f);
    if (s->fd >= 0)
        close(s->fd);
    free(s->hostname);
    free(s->name);
    free(s);
}
