/* Unit tests for src/alert: each sink's output parsed back (EVE by jansson, syslog by its
 * RFC 5424 fields) and the per-(type, source) rate limiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "dengbao/alert.h"
#include "dengbao/util.h"

static void sample(dbg_alert *a, int64_t t)
{
    dbg_alert_init(a, "port_scan", DBG_SEV_MEDIUM, "8.2.3.2a");
    a->time_us = a->first_us = a->last_us = t;
    snprintf(a->category, sizeof(a->category), "Attempted Information Leak");
    snprintf(a->proto, sizeof(a->proto), "TCP");
    snprintf(a->src.ip, sizeof(a->src.ip), "10.1.0.5");
    snprintf(a->src.mac, sizeof(a->src.mac), "52:54:00:aa:bb:01");
    snprintf(a->src.vm_name, sizeof(a->src.vm_name), "web-1");
    snprintf(a->src.tenant, sizeof(a->src.tenant), "tenant-a");
    snprintf(a->dst.ip, sizeof(a->dst.ip), "10.2.0.9");
    a->dst.port = 22;
    a->packets = 40;
    a->bytes = 2400;
    a->evidence = "15 ports \"in\" 3 s]";
}

/* Reads every line of f into a jansson array. */
static json_t *read_lines(FILE *f)
{
    json_t *arr = json_array();
    char line[8192];
    rewind(f);
    while (fgets(line, sizeof(line), f)) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        assert_non_null(o);
        json_array_append_new(arr, o);
    }
    return arr;
}

static void test_eve_fields(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    dbg_alerter *al = dbg_alerter_new(0);
    dbg_alerter_add_sink(al, dbg_alert_sink_eve_stream(f));
    dbg_alert a;
    sample(&a, 1764032523123456LL);
    a.extra_json = "{\"vm_chain\":[\"a\",\"b\"]}";
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    dbg_alerter_free(al);
    json_t *arr = read_lines(f);
    assert_int_equal(json_array_size(arr), 1);
    json_t *o = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(o, "event_type")), "alert");
    assert_string_equal(json_string_value(json_object_get(o, "timestamp")),
                        "2025-11-25T01:02:03.123456+0000");
    assert_string_equal(json_string_value(json_object_get(o, "src_ip")), "10.1.0.5");
    assert_string_equal(json_string_value(json_object_get(o, "dest_ip")), "10.2.0.9");
    assert_int_equal(json_integer_value(json_object_get(o, "dest_port")), 22);
    assert_null(json_object_get(o, "src_port"));
    assert_string_equal(json_string_value(json_object_get(o, "proto")), "TCP");
    json_t *alert = json_object_get(o, "alert");
    assert_string_equal(json_string_value(json_object_get(alert, "signature")), "port_scan");
    assert_int_equal(json_integer_value(json_object_get(alert, "severity")), 2);
    assert_true(json_integer_value(json_object_get(alert, "signature_id")) >= 9100000);
    json_t *ext = json_object_get(o, "dengbao");
    assert_string_equal(json_string_value(json_object_get(ext, "clause")), "8.2.3.2a");
    assert_int_equal(json_integer_value(json_object_get(ext, "packets")), 40);
    assert_int_equal(json_integer_value(json_object_get(ext, "bytes")), 2400);
    assert_string_equal(json_string_value(json_object_get(ext, "evidence")), "15 ports \"in\" 3 s]");
    json_t *src = json_object_get(ext, "src");
    assert_string_equal(json_string_value(json_object_get(src, "vm")), "web-1");
    assert_string_equal(json_string_value(json_object_get(src, "tenant")), "tenant-a");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "flow"), "pkts_toserver")), 40);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "ether"), "src_mac")),
                        "52:54:00:aa:bb:01");
    assert_int_equal(json_array_size(json_object_get(o, "vm_chain")), 2);
    json_decref(arr);
    fclose(f);
}

static void test_eve_bad_extra(void **state)
{
    (void)state;
    dbg_alert a;
    sample(&a, 1);
    a.extra_json = "[1,2]";
    assert_null(dbg_alert_to_eve(&a));
    assert_int_equal(dbg_err_code(), DBG_ERR_INVALID);
}

/* Text cut inside a character or not UTF-8 at all keeps its field, repaired with U+FFFD: jansson
 * refuses such strings and the fields were silently left out of the record. */
static void test_eve_invalid_utf8(void **state)
{
    (void)state;
    dbg_alert a;
    sample(&a, 1);
    /* "a" then 21 three-byte characters: 64 bytes, one more than the tenant field holds. */
    char tenant[80] = "a";
    for (int i = 0; i < 21; i++)
        memcpy(tenant + 1 + 3 * i, "\xE7\xA7\x9F", 4);
    snprintf(a.src.tenant, sizeof(a.src.tenant), "%s", tenant); /* cut inside the last one */
    snprintf(a.src.vm_name, sizeof(a.src.vm_name), "web\3771");
    a.evidence = "bad \xC3\x28 byte";
    char *line = dbg_alert_to_eve(&a);
    assert_non_null(line);
    json_t *o = json_loads(line, 0, NULL);
    assert_non_null(o);
    json_t *src = json_object_get(json_object_get(o, "dengbao"), "src");
    const char *t = json_string_value(json_object_get(src, "tenant"));
    assert_non_null(t);
    assert_int_equal(strncmp(t, tenant, 61), 0);
    assert_string_equal(t + 61, "\xEF\xBF\xBD\xEF\xBF\xBD");
    assert_string_equal(json_string_value(json_object_get(src, "vm")), "web\357\277\2751");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "dengbao"), "evidence")),
        "bad \xEF\xBF\xBD( byte");
    json_decref(o);
    free(line);

    /* RFC 5424 §6.3.3: PARAM-VALUE must be UTF-8. */
    char *msg = dbg_alert_to_syslog(&a, "hv-01", NULL);
    assert_non_null(msg);
    const char *sd = strstr(msg, "[dengbao@32473 ");
    assert_non_null(sd);
    const char *end = strstr(sd, "] ");
    assert_non_null(end);
    assert_true(dbg_utf8_valid(sd, (size_t)(end - sd)));
    assert_non_null(strstr(sd, "src_vm=\"web\357\277\2751\""));
    free(msg);
}

/* Splits an RFC 5424 message into its header fields and checks the structured data. */
static void check_syslog(const char *msg, const char *sd_id)
{
    int pri = 0, ver = 0;
    char ts[64], host[256], app[64], procid[32], msgid[64];
    assert_int_equal(sscanf(msg, "<%d>%d %63s %255s %63s %31s %63s", &pri, &ver, ts, host, app,
                            procid, msgid),
                     7);
    assert_int_equal(pri, 4 * 8 + 4); /* security facility, warning */
    assert_int_equal(ver, 1);
    int64_t us;
    assert_int_equal(dbg_time_parse_rfc3339(ts, &us), 0);
    assert_true(us == 1764032523123456LL);
    assert_string_equal(host, "hv-01");
    assert_string_equal(app, "dengbao");
    assert_string_equal(msgid, "port_scan");
    const char *sd = strstr(msg, sd_id);
    assert_non_null(sd);
    assert_non_null(strstr(sd, "clause=\"8.2.3.2a\""));
    assert_non_null(strstr(sd, "src_ip=\"10.1.0.5\""));
    assert_non_null(strstr(sd, "packets=\"40\""));
    /* the SD ends at the first unescaped ']' — the message follows */
    const char *p = sd;
    while (*p && !(*p == ']' && p[-1] != '\\'))
        p++;
    assert_int_equal(*p, ']');
    assert_non_null(strstr(p, "port_scan 8.2.3.2a from 10.1.0.5 (web-1) to 10.2.0.9"));
    assert_null(strchr(msg, '\n'));
}

/* A syslog receiver on a free UDP port of 127.0.0.1: its socket, and in target the sink's
 * target for it followed by options ("" or ",pen=N"). */
static int udp_receiver(char *target, size_t size, const char *options)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    socklen_t sl = sizeof(sin);
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    snprintf(target, size, "udp:127.0.0.1:%d%s", ntohs(sin.sin_port), options);
    return fd;
}

/* A syslog receiver on a Unix datagram socket at a new path (in path, a mkstemp template):
 * its socket, and in target the sink's target for it. */
static int unix_receiver(char *path, char *target, size_t size)
{
    int tfd = mkstemp(path);
    assert_true(tfd >= 0);
    close(tfd);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    snprintf(target, size, "unix:%s", path);
    return fd;
}

/* An alerter (no folding) with one syslog sink to target, as host hv-01. */
static dbg_alerter *syslog_alerter(const char *target)
{
    dbg_alerter *al = dbg_alerter_new(0);
    dbg_alert_sink *s = dbg_alert_sink_syslog(target, "hv-01");
    assert_non_null(al);
    assert_non_null(s);
    dbg_alerter_add_sink(al, s);
    return al;
}

static void test_syslog_udp(void **state)
{
    (void)state;
    char target[64];
    /* the operator's own enterprise number, not IANA's documentation one */
    int fd = udp_receiver(target, sizeof(target), ",pen=54321.7");
    dbg_alerter *al = syslog_alerter(target);
    dbg_alert a;
    sample(&a, 1764032523123456LL);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    check_syslog(buf, "[dengbao@54321.7 ");
    assert_null(strstr(buf, "32473"));
    dbg_alerter_free(al);
    close(fd);
}

/* Evidence too long for one datagram: sendto failed (EMSGSIZE), or formatting did past 64 KiB,
 * and the SIEM got nothing of the alert. It goes out cut between characters, saying so. */
static void test_syslog_long_evidence(void **state)
{
    (void)state;
    char target[64];
    int fd = udp_receiver(target, sizeof(target), "");
    dbg_alerter *al = syslog_alerter(target);
    size_t n_ev = 3 * 40000; /* "中" is 3 bytes: any cut but a multiple of 3 splits one */
    char *ev = malloc(n_ev + 1);
    assert_non_null(ev);
    for (size_t i = 0; i < n_ev; i += 3)
        memcpy(ev + i, "\xE4\xB8\xAD", 3);
    ev[n_ev] = 0;
    dbg_alert a;
    sample(&a, 1764032523123456LL);
    a.evidence = ev;
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    char *buf = malloc(1 << 17);
    assert_non_null(buf);
    ssize_t n = recv(fd, buf, (1 << 17) - 1, MSG_DONTWAIT);
    assert_true(n > 0 && n <= DBG_SYSLOG_MSG_MAX);
    buf[n] = '\0';
    check_syslog(buf, "[dengbao@" DBG_SYSLOG_PEN_DEFAULT " ");
    const char *note = " ... [cut: 120000 bytes in all; the EVE record has them]";
    assert_true((size_t)n > strlen(note));
    assert_string_equal(buf + n - strlen(note), note);
    assert_true(dbg_utf8_valid(buf, (size_t)n));
    assert_true(n > 60000); /* cut to fit, not dropped */
    dbg_alerter_free(al);
    free(buf);
    free(ev);
    close(fd);
}

static void test_syslog_unix(void **state)
{
    (void)state;
    char path[] = "/tmp/dbg-syslog-XXXXXX";
    char target[128];
    int fd = unix_receiver(path, target, sizeof(target));
    dbg_alerter *al = syslog_alerter(target);
    dbg_alert a;
    sample(&a, 1764032523123456LL);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    check_syslog(buf, "[dengbao@" DBG_SYSLOG_PEN_DEFAULT " "); /* none given: the default */
    dbg_alerter_free(al);
    close(fd);
    unlink(path);
}

typedef struct {
    dbg_alerter *al;
    int n, failed;
    char last_error[512];
} emitter_arg;

static void *emitter(void *arg)
{
    emitter_arg *e = arg;
    dbg_alert a;
    for (int i = 0; i < e->n; i++) {
        sample(&a, 1764032523123456LL + i);
        if (dbg_alerter_emit(e->al, &a) < 0) {
            e->failed++;
            snprintf(e->last_error, sizeof(e->last_error), "%s", dbg_err_msg());
        }
    }
    return NULL;
}

/* A syslog receiver that stops reading (a stuck daemon on /dev/log): each send waited for room
 * in its queue for ever, and the alerter (the capture behind it) with it. Now a send waits at
 * most a second once per stall, the alerts not sent are errors, and sending goes on once the
 * receiver reads again. */
static void test_syslog_stuck_receiver(void **state)
{
    (void)state;
    char path[] = "/tmp/dbg-syslog-stuck-XXXXXX";
    char target[128];
    int fd = unix_receiver(path, target, sizeof(target));
    emitter_arg e = {.al = syslog_alerter(target), .n = 200};
    pthread_t t;
    int64_t t0 = dbg_monotonic_us();
    assert_int_equal(pthread_create(&t, NULL, emitter, &e), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    if (pthread_timedjoin_np(t, NULL, &until) != 0) {
        close(fd); /* wakes the blocked sender, so the failure is reported */
        pthread_join(t, NULL);
        fail_msg("200 alerts to a receiver that does not read took over 10 s");
    }
    int64_t took_ms = (dbg_monotonic_us() - t0) / 1000;
    assert_true(took_ms < 5000);
    assert_true(e.failed > 0 && e.failed < 200);
    assert_non_null(strstr(e.last_error, "the receiver is not reading"));
    assert_non_null(strstr(e.last_error, path));

    /* it reads again: the next alert goes out */
    char buf[4096];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
        ;
    e.n = 1;
    e.failed = 0;
    emitter(&e);
    assert_int_equal(e.failed, 0);
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
    check_syslog(buf, "[dengbao@" DBG_SYSLOG_PEN_DEFAULT " ");
    dbg_alerter_free(e.al);
    close(fd);
    unlink(path);
}

static void test_syslog_bad_target(void **state)
{
    (void)state;
    assert_null(dbg_alert_sink_syslog("tcp:1.2.3.4:5", "h"));
    assert_non_null(strstr(dbg_err_msg(), "unix:PATH or udp:HOST:PORT"));
    assert_null(dbg_alert_sink_syslog("udp:localhost:514", "h"));
    assert_null(dbg_alert_sink_syslog("udp:127.0.0.1:99999", "h"));
}

/* The SD-ID's enterprise number: what RFC 5424 7.2.2 allows, else refused naming the value. */
static void test_syslog_bad_pen(void **state)
{
    (void)state;
    const char *bad[] = {"", "abc", "0", "012", "-5", "12345.", ".1", "1..2", "12 34", "1e5",
                         "12345678901", "1.2.3.4.5.6.7.8.9.10.11.12"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char target[96], want[64];
        snprintf(target, sizeof(target), "udp:127.0.0.1:514,pen=%s", bad[i]);
        dbg_err_clear();
        assert_null(dbg_alert_sink_syslog(target, "h"));
        assert_int_equal(dbg_err_code(), DBG_ERR_USAGE);
        snprintf(want, sizeof(want), "pen '%s' is not an IANA Private Enterprise Number", bad[i]);
        if (!strstr(dbg_err_msg(), want))
            fail_msg("%s: %s", target, dbg_err_msg());
    }
    dbg_alerter *al = dbg_alerter_new(0); /* owns the sinks made below */
    const char *good[] = {"1", "54321", "54321.0.7", "4294967295"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char target[96];
        snprintf(target, sizeof(target), "unix:/run/x,y.sock,pen=%s", good[i]);
        dbg_alert_sink *s = dbg_alert_sink_syslog(target, "h");
        if (!s)
            fail_msg("%s: %s", target, dbg_err_msg());
        dbg_alerter_add_sink(al, s);
    }
    /* a comma not followed by pen= is part of the address */
    dbg_alert_sink *s = dbg_alert_sink_syslog("unix:/run/a,b.sock", "h");
    assert_non_null(s);
    dbg_alerter_add_sink(al, s);
    dbg_alerter_free(al);
}

static void test_rate_limit(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    const int64_t s = 1000000;
    dbg_alerter *al = dbg_alerter_new(60 * s);
    dbg_alerter_add_sink(al, dbg_alert_sink_eve_stream(f));
    dbg_alert a;
    /* 100 identical alerts within 10 s: the first is written, 99 folded. */
    for (int i = 0; i < 100; i++) {
        sample(&a, 1000 * s + i * 100000);
        assert_int_equal(dbg_alerter_emit(al, &a), i == 0 ? 1 : 0);
    }
    /* another source is its own key and goes out at once */
    sample(&a, 1000 * s + 5 * s);
    snprintf(a.src.ip, sizeof(a.src.ip), "10.1.0.6");
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    assert_int_equal(dbg_alerter_emitted(al), 2);
    /* before the window ends, nothing more; after, the summary of 99 */
    dbg_alerter_flush_at(al, 1000 * s + 30 * s);
    assert_int_equal(dbg_alerter_emitted(al), 2);
    dbg_alerter_flush_at(al, 1000 * s + 61 * s);
    assert_int_equal(dbg_alerter_emitted(al), 3);
    dbg_alerter_free(al);
    json_t *arr = read_lines(f);
    assert_int_equal(json_array_size(arr), 3);
    json_t *summary = json_object_get(json_array_get(arr, 2), "dengbao");
    assert_int_equal(json_integer_value(json_object_get(summary, "count")), 99);
    assert_int_equal(json_integer_value(json_object_get(summary, "packets")), 99 * 40);
    assert_string_equal(json_string_value(json_object_get(summary, "first")),
                        "1970-01-01T00:16:40.100000+0000");
    assert_string_equal(json_string_value(json_object_get(summary, "last")),
                        "1970-01-01T00:16:49.900000+0000");
    json_decref(arr);
    fclose(f);
}

static void test_rate_limit_new_window(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    const int64_t s = 1000000;
    dbg_alerter *al = dbg_alerter_new(10 * s);
    dbg_alerter_add_sink(al, dbg_alert_sink_eve_stream(f));
    dbg_alert a;
    sample(&a, 100 * s);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    sample(&a, 105 * s);
    assert_int_equal(dbg_alerter_emit(al, &a), 0);
    /* a new window: the pending summary (count 1) is written, then the new alert */
    sample(&a, 120 * s);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    dbg_alerter_free(al); /* nothing pending: no extra line */
    json_t *arr = read_lines(f);
    assert_int_equal(json_array_size(arr), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(json_array_get(arr, 1), "dengbao"), "count")), 1);
    json_decref(arr);
    fclose(f);
}

static void test_text_sink(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    dbg_alerter *al = dbg_alerter_new(0);
    dbg_alerter_add_sink(al, dbg_alert_sink_text(f));
    dbg_alert a;
    sample(&a, 1764032523123456LL);
    dbg_alerter_emit(al, &a);
    dbg_alerter_free(al);
    char line[1024] = "";
    rewind(f);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_non_null(strstr(line, "[MEDIUM] port_scan (8.2.3.2a) 10.1.0.5 (vm web-1, tenant tenant-a) -> 10.2.0.9"));
    assert_non_null(strstr(line, "count 1, 40 packets, 2400 bytes"));
    fclose(f);
}

/* Two sinks appending to one EVE file from two threads (the agent's guard and sensor) with lines
 * longer than a stdio buffer: every line must come out whole. */
typedef struct {
    const char *path;
    char *evidence;
} writer_arg;

static void *eve_writer(void *p)
{
    writer_arg *w = p;
    dbg_alert_sink *s = dbg_alert_sink_eve(w->path);
    dbg_alerter *al = dbg_alerter_new(0);
    assert_non_null(s);
    assert_non_null(al);
    dbg_alerter_add_sink(al, s);
    for (int i = 0; i < 2000; i++) {
        dbg_alert a;
        sample(&a, 1700000000000000LL + i);
        a.evidence = w->evidence;
        assert_int_equal(dbg_alerter_emit(al, &a), 1);
    }
    dbg_alerter_free(al);
    return NULL;
}

static void test_eve_shared_file(void **state)
{
    (void)state;
    char path[] = "/tmp/dbg-eve-shared-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    writer_arg w[2];
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        w[i].path = path;
        w[i].evidence = malloc(6000);
        assert_non_null(w[i].evidence);
        memset(w[i].evidence, i ? 'b' : 'a', 5999);
        w[i].evidence[5999] = 0;
        assert_int_equal(pthread_create(&t[i], NULL, eve_writer, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    char *text;
    size_t len, lines = 0;
    assert_int_equal(dbg_read_file(path, 64 << 20, &text, &len), 0);
    for (char *line = text, *nl; (nl = memchr(line, '\n', len - (size_t)(line - text))); line = nl + 1) {
        json_error_t e;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &e);
        if (!o)
            fail_msg("line %zu is not whole JSON: %s", lines + 1, e.text);
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, 4000);
    free(text);
    free(w[0].evidence);
    free(w[1].evidence);
    unlink(path);
}

/* A write cut short by the file size limit took half a line into the file, and the next alert
 * was glued onto it: neither parsed. The failed line is now taken back. */
static void test_eve_partial_write(void **state)
{
    (void)state;
    char path[] = "/tmp/dbg-eve-partial-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    dbg_alert_sink *s = dbg_alert_sink_eve(path);
    dbg_alerter *al = dbg_alerter_new(0);
    assert_non_null(s);
    dbg_alerter_add_sink(al, s);
    dbg_alert a;
    sample(&a, 1700000000000000LL);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t one_line = st.st_size;

    /* Room for half of a second line: the write stops there with EFBIG (SIGXFSZ ignored). */
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(one_line + one_line / 2);
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sample(&a, 1700000000000001LL);
    int r = dbg_alerter_emit(al, &a);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(r, -1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, one_line);

    sample(&a, 1700000000000002LL);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    dbg_alerter_free(al);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    json_t *arr = read_lines(f); /* asserts each line parses */
    assert_int_equal(json_array_size(arr), 2);
    json_decref(arr);
    fclose(f);
    unlink(path);
}

/* The file at path holds cut, its newline, then `alerts` whole port_scan lines. */
static void expect_cut_then_alerts(const char *path, const char *cut, size_t alerts)
{
    char *text;
    size_t len;
    assert_int_equal(dbg_read_file(path, 1 << 20, &text, &len), 0);
    char *nl = memchr(text, '\n', len);
    assert_non_null(nl);
    assert_int_equal(nl - text, (long)strlen(cut)); /* the cut line, kept as it was */
    assert_memory_equal(text, cut, strlen(cut));
    size_t lines = 0;
    for (char *line = nl + 1; (nl = memchr(line, '\n', len - (size_t)(line - text)));
         line = nl + 1) {
        json_error_t e;
        json_t *o = json_loadb(line, (size_t)(nl - line), 0, &e);
        if (!o)
            fail_msg("%s: alert %zu after the cut line is not whole JSON: %s", path, lines + 1,
                     e.text);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(o, "alert"), "signature")),
            "port_scan");
        json_decref(o);
        lines++;
    }
    assert_int_equal(lines, alerts);
    assert_int_equal(text[len - 1], '\n');
    free(text);
}

/* A line a writer left without its newline (killed inside its write): the next alert was
 * appended onto it and no reader parsed either. The cut line is ended first now; the alert
 * after it is a whole line. So it is in the file a rotation opened again. */
static void test_eve_after_cut_line(void **state)
{
    (void)state;
    char path[] = "/tmp/dbg-eve-cut-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char cut[] = "{\"timestamp\":\"2026-11-25T01:02:03.123456+0000\",\"event_ty";
    assert_int_equal(write(fd, cut, sizeof(cut) - 1), (ssize_t)sizeof(cut) - 1);
    close(fd);
    dbg_alerter *al = dbg_alerter_new(0);
    dbg_alerter_add_sink(al, dbg_alert_sink_eve(path));
    dbg_alert a;
    for (int i = 0; i < 2; i++) {
        sample(&a, 1700000000000000LL + i);
        assert_int_equal(dbg_alerter_emit(al, &a), 1);
    }
    expect_cut_then_alerts(path, cut, 2);

    /* rotated; another writer of the new file (the agent's sensor) was killed inside a line */
    DBG_AUTOFREE char *old = dbg_asprintf("%s.1", path);
    assert_int_equal(rename(path, old), 0);
    const char cut2[] = "{\"timestamp\":\"2026-11-25T01:02:04";
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cut2, sizeof(cut2) - 1), (ssize_t)sizeof(cut2) - 1);
    close(fd);
    sample(&a, 1700000000000002LL);
    assert_int_equal(dbg_alerter_emit(al, &a), 1);
    dbg_alerter_free(al);
    expect_cut_then_alerts(path, cut2, 1);
    expect_cut_then_alerts(old, cut, 2);
    unlink(old);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eve_fields),
        cmocka_unit_test(test_eve_bad_extra),
        cmocka_unit_test(test_eve_invalid_utf8),
        cmocka_unit_test(test_syslog_udp),
        cmocka_unit_test(test_syslog_long_evidence),
        cmocka_unit_test(test_syslog_unix),
        cmocka_unit_test(test_syslog_stuck_receiver),
        cmocka_unit_test(test_syslog_bad_target),
        cmocka_unit_test(test_syslog_bad_pen),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_rate_limit_new_window),
        cmocka_unit_test(test_text_sink),
        cmocka_unit_test(test_eve_shared_file),
        cmocka_unit_test(test_eve_partial_write),
        cmocka_unit_test(test_eve_after_cut_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
