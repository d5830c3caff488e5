/* The agent side of central collection: a thread that follows an EVE file (the alerter's
 * output) and POSTs new complete lines to `dengbao serve` (HTTPS with a client certificate, or a
 * Unix socket). The file offset already accepted is kept in a state file, so a restart resumes
 * where it stopped; delivery is at least once (a reply lost after the server committed means the
 * batch is sent again). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/net.h"
#include "dengbao/server.h"
#include "dengbao/tls.h"
#include "dengbao/util.h"

#define BATCH_MAX ((size_t)4 << 20)
/* After a failed send the next batch is half as large, down to this: on a link too slow to
 * carry BATCH_MAX within central's request timeout every full batch would fail for ever. */
#define BATCH_MIN ((size_t)64 << 10)
#define REPLY_MAX ((size_t)1 << 20)
#define IO_TIMEOUT_S 10

struct dbg_forwarder {
    char *eve_path, *state_path, *sock_path;
    char host[256], port[16];
    SSL_CTX *tls;
    int interval_ms;
    pthread_t thr;
    int have_thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    uint64_t inode, offset; /* position in eve_path already accepted by the server */
    uint64_t head;          /* file_head of that file, when have_head */
    int have_head;
    FILE *cur;              /* the file being sent (inode), kept open across a rotation */
    int resumed;            /* looked for the file the saved offset belongs to */
    size_t batch;           /* bytes per batch now: halved after a failure, doubled back */
    dbg_forwarder_stats stats;
    int failing; /* to log a failure once per episode, not per retry */
    /* the connection kept open between batches (HTTP/1.1 persistent): a TLS 1.3 handshake with
     * certificates per batch cost more than a small batch's POST; fd -1 when none */
    int fd;
    SSL *ssl;
};

/* ---- state file: "<inode> <offset>[ <head>]\n" ---- */

/* The file's first line (its first HEAD_MAX bytes when longer; a timestamp to the microsecond,
 * in an EVE file) tells the file sent up to the offset from one written again in place under
 * the same inode (truncated and regrown past the offset between two looks, or made anew while
 * the agent was stopped on an inode number freed and reused): <head> is its FNV-1a hash, 16
 * hex digits, once the offset has passed it. */
#define HEAD_MAX 4096

/* "<inode> <offset>", maybe " <head>", and newlines, nothing else, the numbers in 64 bits: 0,
 * else -1. *has_head: whether <head> was there. */
static int parse_state(const char *text, size_t len, uint64_t *ino, uint64_t *off, uint64_t *head,
                       int *has_head)
{
    size_t d1 = strspn(text, "0123456789");
    if (strlen(text) != len || !d1 || text[d1] != ' ')
        return -1;
    size_t d2 = strspn(text + d1 + 1, "0123456789"), end = d1 + 1 + d2, d3 = 0;
    if (!d2)
        return -1;
    *has_head = text[end] == ' ';
    if (*has_head) {
        d3 = strspn(text + end + 1, "0123456789abcdef");
        if (d3 != 16)
            return -1;
        end += 1 + d3;
    }
    if (strspn(text + end, "\n") != len - end)
        return -1;
    errno = 0;
    *ino = strtoull(text, NULL, 10);
    *off = strtoull(text + d1 + 1, NULL, 10);
    *head = *has_head ? strtoull(text + d1 + 1 + d2 + 1, NULL, 16) : 0;
    return errno ? -1 : 0;
}

/* The hash of fp's first line (or first HEAD_MAX bytes) into *head: 0, or -1 when fp holds no
 * whole one. */
static int file_head(FILE *fp, uint64_t *head)
{
    unsigned char b[HEAD_MAX];
    ssize_t n = pread(fileno(fp), b, sizeof(b), 0);
    if (n <= 0)
        return -1;
    const unsigned char *nl = memchr(b, '\n', (size_t)n);
    if (!nl && n < (ssize_t)sizeof(b))
        return -1;
    size_t len = nl ? (size_t)(nl - b) + 1 : sizeof(b);
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    *head = h;
    return 0;
}

/* A state file that is there but unreadable or not "<inode> <offset> [<head>]" (a damaged
 * disk, an edit) means sending the EVE file again from its start: said, since that may be much. */
static void state_load(dbg_forwarder *f)
{
    struct stat st;
    if (!f->state_path || (stat(f->state_path, &st) != 0 && errno == ENOENT))
        return; /* the first start */
    char *text = NULL;
    size_t len = 0;
    uint64_t ino, off, head;
    int has_head;
    if (dbg_read_file(f->state_path, 4096, &text, &len) != 0) {
        dbg_warn("forward: %s: sending %s from its start (central counts the lines it has as "
                 "duplicates)",
                 dbg_err_msg(), f->eve_path);
        dbg_err_clear();
        return;
    }
    if (parse_state(text, len, &ino, &off, &head, &has_head) != 0) {
        dbg_warn("forward: %s is not '<inode> <offset> [<head>]': sending %s from its start "
                 "(central counts the lines it has as duplicates)",
                 f->state_path, f->eve_path);
    } else {
        f->inode = ino;
        f->offset = off;
        f->head = head;
        f->have_head = has_head;
    }
    free(text);
}

static int state_save(dbg_forwarder *f)
{
    if (!f->state_path)
        return 0;
    char line[80];
    int n = f->have_head
                ? snprintf(line, sizeof(line), "%llu %llu %016llx\n", (unsigned long long)f->inode,
                           (unsigned long long)f->offset, (unsigned long long)f->head)
                : snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)f->inode,
                           (unsigned long long)f->offset);
    return dbg_write_file_atomic(f->state_path, line, (size_t)n);
}

/* ---- one HTTP exchange ---- */

static void disconnect(dbg_forwarder *f)
{
    if (f->ssl) {
        SSL_shutdown(f->ssl);
        SSL_free(f->ssl);
        f->ssl = NULL;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* Whether the kept connection was closed by central while idle (its idle timeout, its request
 * cap, a restart): anything readable before a request is sent is its close_notify or EOF. Saves
 * sending a whole batch into a closed connection; the race that remains (closed while the batch
 * goes out) is the retry in post_events. */
static int closed_by_peer(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) != 0;
}

static int connect_central(dbg_forwarder *f, SSL **ssl_out)
{
    int fd = -1;
    struct timeval tv = {IO_TIMEOUT_S, 0};
    if (f->sock_path) {
        struct sockaddr_un sa;
        memset(&sa, 0, sizeof(sa));
        sa.sun_family = AF_UNIX;
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            dbg_err_errno(DBG_ERR_NET, "connecting to %s", f->sock_path);
            goto fail;
        }
    } else if ((fd = dbg_net_connect_tcp(f->host, f->port, IO_TIMEOUT_S)) < 0) {
        return -1;
    } else {
        /* the request head and body are two writes: on a kept connection Nagle held the body
         * until central's delayed ACK of the head */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (f->tls) {
        SSL *ssl = SSL_new(f->tls);
        if (!ssl || dbg_tls_expect_host(ssl, f->host) != 0 || dbg_tls_set_fd(ssl, fd) != 0) {
            if (!ssl)
                dbg_err_set(DBG_ERR_CRYPTO, "SSL_new failed");
            SSL_free(ssl);
            goto fail;
        }
        int rc = SSL_connect(ssl);
        if (rc != 1) {
            char why[512];
            dbg_tls_failure(ssl, rc, why, sizeof(why));
            dbg_err_set(DBG_ERR_NET, "central %s:%s: %s", f->host, f->port, why);
            SSL_free(ssl);
            goto fail;
        }
        *ssl_out = ssl;
    }
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

/* What central said about the lines of a batch it answered: how many it refused and why the
 * first was (its reply: {"rejected": N, "errors": [{"line": L, "error": "..."}, ...]}). */
typedef struct {
    long rejected;
    long first_line; /* the first refused line's number in the batch (1-based), 0 = not given */
    char first[300];
} batch_verdict;

static void read_verdict(const char *body, size_t len, batch_verdict *v)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *rej = json_object_get(j, "rejected");
    v->rejected = json_is_integer(rej) ? (long)json_integer_value(rej) : 0;
    json_t *e = json_array_get(json_object_get(j, "errors"), 0);
    const char *why = json_string_value(json_object_get(e, "error"));
    json_t *line = json_object_get(e, "line");
    if (json_is_integer(line) && json_integer_value(line) > 0 &&
        json_integer_value(line) <= LONG_MAX)
        v->first_line = (long)json_integer_value(line);
    if (why)
        snprintf(v->first, sizeof(v->first), "%.250s", why);
    json_decref(j);
}

/* Where reading an answer's body stands: what came of it so far, and whether bytes came after
 * it (a proxy's leftovers: the connection is not reused then). */
typedef struct {
    dbg_buf *body;
    dbg_http_chunked chunks; /* a chunked body's reading */
    int extra;
} answer_body;

/* Takes n bytes that follow the head: 1 = the body is complete, 0 = more to come, -1 = it is
 * no body to read (dbg_err set). Without a length or chunks the body runs to EOF, except after
 * 204 and 304, which have none whatever their head says (RFC 9112 6.3): read to EOF, a kept
 * connection waited out the read timeout and the status was never reported. */
static int take_body(const dbg_http_answer *ans, answer_body *ab, const char *data, size_t n)
{
    size_t used = n;
    int done = 0;
    if (ans->status == 204 || ans->status == 304) {
        used = 0;
        done = 1;
    } else if (ans->chunked) {
        char why[256];
        done = dbg_http_chunked_read(&ab->chunks, data, n, &used, ab->body, why, sizeof(why));
        if (done < 0) {
            dbg_err_set(DBG_ERR_NET, "central's chunked answer: %s", why);
            return -1;
        }
    } else if (ans->has_length) {
        uint64_t left = ans->content_length - ab->body->len;
        used = n < left ? n : (size_t)left;
        done = used == left;
    }
    if (!ans->chunked && dbg_buf_add(ab->body, data, used) != 0) {
        dbg_err_set(DBG_ERR_NET, "central's answer is over %zu bytes", REPLY_MAX);
        return -1;
    }
    ab->extra |= used < n;
    return done;
}

/* Reads central's answer from the connection: interim answers and the head into in, the body
 * into ab. 1 = complete, 0 = the connection ended before any byte of it, -1 = failed later
 * (dbg_err set either way). */
static int read_answer(dbg_net_conn *conn, dbg_buf *in, dbg_http_answer *ans, answer_body *ab)
{
    char buf[8192];
    int have_head = 0, done = 0;
    /* bytes received: the heads and what came with them are in in and also in the body, and a
     * chunked body's framing is in neither */
    size_t got = 0;
    while (!done) {
        ssize_t n = dbg_net_conn_read(conn, buf, sizeof(buf));
        ERR_clear_error();
        if (n <= 0) {
            if (have_head && !ans->has_length && !ans->chunked && n == DBG_NET_EOF)
                return 1; /* no length: the answer ends with the connection */
            dbg_err_set(DBG_ERR_NET, "central %s after %zu bytes of an answer",
                        n == DBG_NET_TIMEOUT ? "timed out" : "closed the connection", got);
            /* a timeout is central still working on the batch, not a connection it closed */
            return in->len == 0 && n != DBG_NET_TIMEOUT ? 0 : -1;
        }
        got += (size_t)n;
        if (have_head) {
            done = take_body(ans, ab, buf, (size_t)n);
            if (done < 0)
                return -1;
            continue;
        }
        if (dbg_buf_add(in, buf, (size_t)n) != 0) {
            dbg_err_set(DBG_ERR_NET, "central's answer is over %zu bytes", REPLY_MAX);
            return -1;
        }
        char why[256];
        int pr = dbg_http_parse_answer(in->data, in->len, ans, why, sizeof(why));
        if (pr < 0) {
            dbg_err_set(DBG_ERR_NET, "central gave no HTTP answer (%zu bytes): %s", in->len, why);
            return -1;
        }
        if (pr == 0)
            continue;
        have_head = 1;
        if (ans->has_length && ans->content_length > REPLY_MAX - ans->head_len) {
            dbg_err_set(DBG_ERR_NET, "central's answer is over %zu bytes (Content-Length %llu)",
                        REPLY_MAX, (unsigned long long)ans->content_length);
            return -1;
        }
        /* what came with the head's last bytes is the body's start */
        done = take_body(ans, ab, in->data + ans->head_len, in->len - ans->head_len);
        if (done < 0)
            return -1;
    }
    return 1;
}

/* One POST on the connection in f (made when there is none). 1 = an answer is in: *ans its
 * head, ab->body its body (its Content-Length bytes, its chunks' data, or all up to EOF); the
 * connection closed when central said so, sent no length or more than the answer; 0 = the
 * connection failed before any byte of an answer came, so the request may be sent again; -1 =
 * it failed later (dbg_err set either way). */
static int exchange(dbg_forwarder *f, const char *req_head, size_t hn, const char *body, size_t len,
                    dbg_buf *in, dbg_http_answer *ans, answer_body *ab)
{
    if (f->fd < 0 && (f->fd = connect_central(f, &f->ssl)) < 0)
        return -1;
    dbg_net_conn conn = {.fd = f->fd, .ssl = f->ssl}; /* its writer: EPIPE, not SIGPIPE */
    if (dbg_net_conn_write(&conn, req_head, hn) != 0 || dbg_net_conn_write(&conn, body, len) != 0) {
        dbg_err_set(DBG_ERR_NET, "sending %zu bytes to central failed", len);
        disconnect(f);
        return 0; /* central may have closed it first: its answer, if any, is lost with it */
    }
    int r = read_answer(&conn, in, ans, ab);
    /* failed, a length-less answer, central's wish, or bytes nobody asked for */
    if (r != 1 || (!ans->has_length && !ans->chunked) || ans->close || ab->extra)
        disconnect(f);
    return r;
}

/* POSTs body; returns the HTTP status (200..599: dbg_http_parse_answer refuses the rest), or -1
 * when no answer came (dbg_err set). *reply gets the answer's body start for messages, *v what
 * the answer says about the lines. */
static int post_events(dbg_forwarder *f, const char *body, size_t len, char *reply, size_t replysz,
                       batch_verdict *v)
{
    int status = -1;
    answer_body *ab = dbg_calloc(1, sizeof(*ab)); /* a chunk line's buffer: not on the stack */
    if (!ab)
        return -1;
    dbg_buf in, answer;
    dbg_buf_init(&in, REPLY_MAX);
    dbg_buf_init(&answer, REPLY_MAX);
    char head[512];
    int hn = snprintf(
        head, sizeof(head),
        "POST /api/v1/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-ndjson\r\n"
        "Content-Length: %zu\r\n\r\n",
        f->sock_path ? "localhost" : f->host, len);
    if (f->fd >= 0 && closed_by_peer(f->fd))
        disconnect(f);
    int reused = f->fd >= 0;
    dbg_http_answer ans;
    ab->body = &answer;
    ab->chunks.max = REPLY_MAX;
    int r = exchange(f, head, (size_t)hn, body, len, &in, &ans, ab);
    /* a kept connection central closed just as the batch went out: nothing of an answer came,
     * so the batch goes once more on a new connection (central may have stored it: at least
     * once, as after any lost answer, and a resent line is counted a duplicate there) */
    if (r == 0 && reused) {
        dbg_buf_reset(&in);
        r = exchange(f, head, (size_t)hn, body, len, &in, &ans, ab);
    }
    if (r != 1)
        goto out;
    status = ans.status;
    snprintf(reply, replysz, "%.*s", (int)(answer.len < replysz ? answer.len : replysz),
             answer.len ? answer.data : "");
    read_verdict(answer.data, answer.len, v);
    size_t rl = strlen(reply);
    while (rl > 0 && (reply[rl - 1] == '\n' || reply[rl - 1] == '\r'))
        reply[--rl] = 0;
out:
    dbg_buf_free(&in);
    dbg_buf_free(&answer);
    free(ab);
    return status;
}

/* ---- following the EVE file ---- */

static void note_failure(dbg_forwarder *f, const char *what)
{
    pthread_mutex_lock(&f->mu);
    f->stats.failures++;
    snprintf(f->stats.last_error, sizeof(f->stats.last_error), "%.500s", what);
    int first = !f->failing;
    f->failing = 1;
    pthread_mutex_unlock(&f->mu);
    if (first)
        dbg_warn("forward: %s (retrying every %d ms)", what, f->interval_ms);
}

/* Sends the next batch of complete lines. 1 = sent (more may follow), 0 = nothing new, -1 = failed.
 */
/* Moves on to the file now at eve_path: from its start unless it is the file the saved
 * offset belongs to (a restart). */
static void switch_file(dbg_forwarder *f, FILE *fp, const struct stat *st)
{
    if (f->cur)
        fclose(f->cur);
    f->cur = fp;
    if ((uint64_t)st->st_ino != f->inode) {
        pthread_mutex_lock(&f->mu);
        f->inode = (uint64_t)st->st_ino;
        f->offset = 0;
        f->have_head = 0;
        pthread_mutex_unlock(&f->mu);
    }
}

/* At a start whose saved offset belongs to a file eve_path no longer names (rotated while the
 * agent was stopped): that file, found beside eve_path by its inode, while it has unsent bytes;
 * else NULL, said once when it is not there at all (what it held after the offset may be lost). */
static FILE *saved_file(dbg_forwarder *f)
{
    struct stat st;
    if (!f->inode || !f->offset || (stat(f->eve_path, &st) == 0 && st.st_ino == f->inode))
        return NULL;
    DBG_AUTOFREE char *copy = dbg_strdup(f->eve_path);
    DIR *d = copy ? opendir(dirname(copy)) : NULL;
    FILE *fp = NULL;
    int seen = 0;
    for (struct dirent *de; d && !fp && (de = readdir(d));) {
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_ino != f->inode)
            continue;
        seen = 1;
        if ((uint64_t)st.st_size <= f->offset)
            continue; /* sent to its end, or another file now */
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && (fp = fdopen(fd, "rb")) == NULL)
            close(fd);
        if (fp)
            dbg_info("forward: %s was rotated while stopped: sending %s from byte %llu first",
                     f->eve_path, de->d_name, (unsigned long long)f->offset);
    }
    if (d)
        closedir(d);
    if (!seen)
        dbg_warn(
            "forward: %s names another file than the one sent up to byte %llu (inode %llu), "
            "which is not beside it any more: alerts written to it after that byte, if any, were "
            "not forwarded",
            f->eve_path, (unsigned long long)f->offset, (unsigned long long)f->inode);
    return fp;
}

/* The file to send from: the one being sent while it has unsent bytes, even after it was
 * renamed away (a rotation must not lose its last alerts); then the file at eve_path. NULL
 * when there is none yet. st is the returned file's. */
static FILE *current_file(dbg_forwarder *f, struct stat *st)
{
    if (!f->resumed) {
        f->resumed = 1;
        f->cur = saved_file(f);
    }
    if (f->cur && fstat(fileno(f->cur), st) == 0 && (uint64_t)st->st_size > f->offset)
        return f->cur;
    FILE *fp = fopen(f->eve_path, "rb");
    struct stat pst;
    if (!fp || fstat(fileno(fp), &pst) != 0) {
        if (fp)
            fclose(fp);
        return f->cur && fstat(fileno(f->cur), st) == 0 ? f->cur : NULL;
    }
    if (!f->cur || (uint64_t)pst.st_ino != f->inode) {
        switch_file(f, fp, &pst);
    } else {
        fclose(fp); /* the same file */
    }
    *st = pst;
    return f->cur;
}

/* Whether the batch holds no line central would read (it skips lines of blanks). */
static int blank_lines(const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' && buf[i] != '\t')
            return 0;
    return 1;
}

/* The path of an open file for messages (a rotated one's new name), "?" when unknown. */
static const char *file_name(FILE *fp, char *buf, size_t size)
{
    char link[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fileno(fp));
    ssize_t n = readlink(link, buf, size - 1);
    if (n <= 0)
        return "?";
    buf[n] = '\0';
    return buf;
}

static int forward_once(dbg_forwarder *f)
{
    struct stat st;
    FILE *fp = current_file(f, &st);
    if (!fp)
        return 0; /* the alerter has not written anything yet */
    uint64_t head;
    if (f->have_head && f->offset > 0 && (uint64_t)st.st_size >= f->offset &&
        file_head(fp, &head) == 0 && head != f->head) {
        /* as long as before, but another file under the same inode: the offset means nothing */
        char name[PATH_MAX];
        dbg_warn("forward: %s begins with other bytes than the file sent up to byte %llu (written "
                 "again in place, or made anew on the same inode number): sending it from its "
                 "start",
                 file_name(fp, name, sizeof(name)), (unsigned long long)f->offset);
        pthread_mutex_lock(&f->mu);
        f->offset = 0;
        pthread_mutex_unlock(&f->mu);
        f->have_head = 0;
    }
    if ((uint64_t)st.st_size < f->offset) {
        /* truncated in place (copytruncate rotation): start from its beginning */
        pthread_mutex_lock(&f->mu);
        f->offset = 0;
        pthread_mutex_unlock(&f->mu);
        f->have_head = 0;
    }
    if ((uint64_t)st.st_size == f->offset)
        return 0;
    size_t batch = f->batch ? f->batch : BATCH_MAX;
    int to_end = (uint64_t)st.st_size - f->offset <= batch; /* this batch reaches the end */
    size_t want = to_end ? (size_t)((uint64_t)st.st_size - f->offset) : batch;
    char *buf = dbg_malloc(want + 1);
    size_t got = 0;
    if (buf && fseeko(fp, (off_t)f->offset, SEEK_SET) == 0)
        got = fread(buf, 1, want, fp);
    clearerr(fp); /* at its end now; the writer may append more */
    if (!buf)
        return -1;
    char *last_nl = got ? memrchr(buf, '\n', got) : NULL;
    int r = 0;
    if (!last_nl) {
        struct stat pst;
        if (got && got == want && to_end &&
            (stat(f->eve_path, &pst) != 0 || pst.st_ino != st.st_ino)) {
            /* a rotated-away file ending mid-line (its writer died there) would hold the
             * forwarder on it forever: that piece is dropped, said once */
            char name[PATH_MAX];
            dbg_warn("forward: %s (rotated away from %s) ends inside a line, bytes %llu..%llu "
                     "without a newline (its writer stopped there): dropped; the lines before it "
                     "were sent",
                     file_name(fp, name, sizeof(name)), f->eve_path, (unsigned long long)f->offset,
                     (unsigned long long)(f->offset + got - 1));
            pthread_mutex_lock(&f->mu);
            f->offset += got;
            pthread_mutex_unlock(&f->mu);
            state_save(f);
            free(buf);
            return 1;
        }
        if (got == want && !to_end && batch < BATCH_MAX) {
            f->batch = BATCH_MAX; /* a line longer than the shrunk batch: take it whole */
            free(buf);
            return 1;
        }
        if (got == BATCH_MAX) { /* one line over the batch limit: skip it rather than stall */
            char name[PATH_MAX];
            dbg_warn("forward: %s: a line over %zu bytes from byte %llu skipped",
                     file_name(fp, name, sizeof(name)), BATCH_MAX, (unsigned long long)f->offset);
            pthread_mutex_lock(&f->mu);
            f->offset += got;
            pthread_mutex_unlock(&f->mu);
            state_save(f);
        }
        free(buf);
        return 0; /* an incomplete last line: the writer is mid-line */
    }
    size_t len = (size_t)(last_nl - buf) + 1;
    char reply[512];
    batch_verdict v = {0};
    int status = post_events(f, buf, len, reply, sizeof(reply), &v);
    /* A 400 drops the batch only when it is central's verdict on the lines (it counts them
     * refused, or there was no line to take): a 400 about the request itself, a proxy's
     * "400 Bad Request" page, says nothing of the alerts, which would be lost unsent. */
    if (status == 400 && v.rejected <= 0 && !blank_lines(buf, len))
        status = -400;
    if (status == 200 || status == 400) {
        /* 400 = none of the lines is EVE: they would never be accepted, so move past them too. */
        pthread_mutex_lock(&f->mu);
        f->offset += len;
        pthread_mutex_unlock(&f->mu);
        if (!f->have_head && file_head(fp, &f->head) == 0)
            f->have_head = 1;
        if (state_save(f) != 0)
            dbg_warn("forward: cannot save %s: %s", f->state_path, dbg_err_msg());
        pthread_mutex_lock(&f->mu);
        f->stats.batches++;
        f->stats.bytes += len;
        if (status == 400)
            f->stats.refused_batches++;
        if (v.rejected > 0)
            f->stats.rejected_lines += (uint64_t)v.rejected;
        f->batch = batch < BATCH_MAX / 2 ? batch * 2 : BATCH_MAX;
        f->failing = 0;
        pthread_mutex_unlock(&f->mu);
        /* Refused lines are never resent (they would be refused again): they are lost to central,
         * which someone must hear about. */
        char name[PATH_MAX];
        if (status == 400)
            dbg_warn("forward: central refused every line of %s bytes %llu..%llu: %.300s",
                     file_name(fp, name, sizeof(name)), (unsigned long long)(f->offset - len),
                     (unsigned long long)(f->offset - 1), reply);
        else if (v.rejected > 0) {
            /* where the first refused line is in the file, for whoever must look at it */
            char where[PATH_MAX + 64] = "";
            const char *p = buf, *end = buf + len;
            for (long l = 1; p && l < v.first_line; l++) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                p = nl ? nl + 1 : NULL;
            }
            if (v.first_line > 0 && p && p < end)
                snprintf(where, sizeof(where), "%s byte %llu, ", file_name(fp, name, sizeof(name)),
                         (unsigned long long)(f->offset - len + (size_t)(p - buf)));
            dbg_warn("forward: central refused %ld line(s) of a batch of %zu bytes (first: %sline "
                     "%ld of the batch: %s)",
                     v.rejected, len, where, v.first_line,
                     v.first[0] ? v.first : "no reason given");
        }
        r = 1;
    } else {
        char what[700];
        if (status == -400)
            snprintf(what, sizeof(what),
                     "central answered 400 without refusing any line (kept "
                     "to send again): %.400s",
                     reply);
        else if (status < 0)
            snprintf(what, sizeof(what), "%s", dbg_err_msg());
        else
            snprintf(what, sizeof(what), "central answered %d: %.500s", status, reply);
        note_failure(f, what);
        f->batch = batch / 2 > BATCH_MIN ? batch / 2 : BATCH_MIN;
        r = -1;
    }
    free(buf);
    return r;
}

static void *forward_main(void *arg)
{
    dbg_forwarder *f = arg;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        int stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        int r = forward_once(f);
        if (stop)
            break; /* the pass above was the final flush */
        if (r == 1)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)(f->interval_ms % 1000) * 1000000L;
        ts.tv_sec += f->interval_ms / 1000 + ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&f->mu);
        if (!f->stop)
            pthread_cond_timedwait(&f->cv, &f->mu, &ts);
        pthread_mutex_unlock(&f->mu);
    }
    return NULL;
}

static int parse_central(dbg_forwarder *f, const char *url)
{
    if (!strncmp(url, "unix:", 5) && url[5]) {
        struct sockaddr_un sa;
        if (strlen(url + 5) >= sizeof(sa.sun_path)) {
            dbg_err_set(DBG_ERR_USAGE, "central socket path %s is too long", url + 5);
            return -1;
        }
        return (f->sock_path = dbg_strdup(url + 5)) ? 0 : -1;
    }
    if (strncmp(url, "https://", 8) != 0) {
        dbg_err_set(DBG_ERR_USAGE, "central '%.200s': https://HOST:PORT or unix:PATH expected",
                    url);
        return -1;
    }
    char hp[300];
    snprintf(hp, sizeof(hp), "%s", url + 8);
    size_t l = strlen(hp);
    if (l > 0 && hp[l - 1] == '/')
        hp[l - 1] = 0;
    return dbg_parse_hostport(hp, f->host, f->port);
}

dbg_forwarder *dbg_forwarder_start(const dbg_forwarder_opts *o)
{
    dbg_forwarder *f = dbg_calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->fd = -1;
    f->interval_ms = o->interval_ms > 0 ? o->interval_ms : 1000;
    if (!o->eve_path || !o->central) {
        dbg_err_set(DBG_ERR_USAGE, "forwarding needs an EVE file and a central URL");
        goto fail;
    }
    if (parse_central(f, o->central) != 0)
        goto fail;
    if (!f->sock_path && !(f->tls = dbg_tls_client_ctx(o->tls_cert, o->tls_key, o->tls_ca)))
        goto fail;
    if (!f->sock_path && (!o->tls_cert || !o->tls_key)) {
        dbg_err_set(DBG_ERR_USAGE, "central %s needs a client certificate and key", o->central);
        goto fail;
    }
    if (!(f->eve_path = dbg_strdup(o->eve_path)) ||
        (o->state_path && !(f->state_path = dbg_strdup(o->state_path))))
        goto fail;
    state_load(f);
    if (pthread_create(&f->thr, NULL, forward_main, f) != 0) {
        dbg_err_set(DBG_ERR_INTERNAL, "cannot start the forwarder thread");
        goto fail;
    }
    f->have_thr = 1;
    return f;
fail:
    dbg_forwarder_stop(f);
    return NULL;
}

void dbg_forwarder_get_stats(dbg_forwarder *f, dbg_forwarder_stats *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    out->offset = f->offset;
    pthread_mutex_unlock(&f->mu);
}

void dbg_forwarder_stop(dbg_forwarder *f)
{
    if (!f)
        return;
    if (f->have_thr) {
        pthread_mutex_lock(&f->mu);
        f->stop = 1;
        pthread_cond_broadcast(&f->cv);
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thr, NULL);
    }
    if (f->cur)
        fclose(f->cur);
    disconnect(f);
    SSL_CTX_free(f->tls);
    free(f->eve_path);
    free(f->state_path);
    free(f->sock_path);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->cv);
    free(f);
}
