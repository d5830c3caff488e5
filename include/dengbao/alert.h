/* The alert model shared by every detector (sensor, guard, image integrity, malware) and its
 * sinks: EVE-style JSON lines (Suricata field names), RFC 5424 syslog, stdout. An alerter fans
 * an alert out to its sinks and rate-limits per (type, source): repeats inside the window are
 * folded into one alert with a count. */
#ifndef DENGBAO_ALERT_H
#define DENGBAO_ALERT_H

#include <stdint.h>
#include <stdio.h>

typedef struct {
    char ip[46];
    char mac[18];
    int port;            /* -1 when none */
    char vm_name[128];
    char vm_uuid[37];
    char tenant[64];
} dbg_endpoint;

typedef enum { DBG_SEV_HIGH = 1, DBG_SEV_MEDIUM = 2, DBG_SEV_LOW = 3 } dbg_severity; /* Suricata's 1..3 */

typedef struct {
    int64_t time_us;         /* when raised */
    int64_t first_us, last_us; /* span of the activity */
    char type[48];           /* e.g. "port_scan", "unauthorized_vm_start"; EVE alert.signature */
    char category[96];       /* EVE alert.category */
    dbg_severity severity;
    char clause[32];         /* MLPS clause, e.g. "8.2.3.2a" */
    char proto[8];           /* "TCP", "UDP", "ICMP", "" */
    dbg_endpoint src, dst;
    uint64_t packets, bytes;
    uint64_t count;          /* occurrences folded into this alert (>= 1) */
    uint64_t flow_id;        /* EVE flow_id: the flow of the packet that raised it, as in the
                              * sensor's flow records (Suricata's join key); 0 = none */
    char in_iface[32];       /* EVE in_iface: the capture interface that saw that packet
                              * ("" = none: offline, or not raised by a packet) */
    const char *evidence;    /* free text, may be NULL */
    const char *extra_json;  /* a JSON object whose members are added to the EVE record, or NULL */
} dbg_alert;

void dbg_alert_init(dbg_alert *a, const char *type, dbg_severity sev, const char *clause);
void dbg_endpoint_clear(dbg_endpoint *e);

typedef struct dbg_alert_sink dbg_alert_sink;
dbg_alert_sink *dbg_alert_sink_eve(const char *path);      /* append JSON lines; "-" = stdout */
dbg_alert_sink *dbg_alert_sink_eve_stream(FILE *f);        /* not closed by the sink */
/* The enterprise number in the RFC 5424 SD-ID dengbao@PEN when the target names none: 32473,
 * IANA's example number for documentation (RFC 5612). An operator sets its own registered PEN. */
#define DBG_SYSLOG_PEN_DEFAULT "32473"
#define DBG_SYSLOG_PEN_MAX 24 /* "dengbao@" + this fills the 32-character SD-NAME */
/* target: "unix:/dev/log", "unix:PATH", "udp:127.0.0.1:514", each optionally followed by
 * ",pen=N" (the SD-ID's enterprise number; digits, sub-identifiers as 12345.1). A bad target
 * or number: NULL with a usage error set. */
dbg_alert_sink *dbg_alert_sink_syslog(const char *target, const char *hostname);
dbg_alert_sink *dbg_alert_sink_text(FILE *f);              /* one human line per alert */

/* Formats one alert as an EVE JSON object (no newline). Caller frees. */
char *dbg_alert_to_eve(const dbg_alert *a);
/* An EVE timestamp as Suricata writes it, "2026-11-25T01:02:03.123456+0000" (size >= 32). */
void dbg_eve_time(int64_t us, char *buf, size_t size);
/* The longest syslog message: what one UDP datagram over IPv4 carries. Longer evidence is cut. */
#define DBG_SYSLOG_MSG_MAX 65507
/* Formats one alert as an RFC 5424 message (no trailing newline) of at most DBG_SYSLOG_MSG_MAX
 * octets, SD-ID dengbao@pen (NULL: DBG_SYSLOG_PEN_DEFAULT). Caller frees. */
char *dbg_alert_to_syslog(const dbg_alert *a, const char *hostname, const char *pen);

typedef struct dbg_alerter dbg_alerter;
/* window_us: repeats of the same (type, source) within it are folded; 0 disables limiting. */
dbg_alerter *dbg_alerter_new(int64_t window_us);
void dbg_alerter_add_sink(dbg_alerter *al, dbg_alert_sink *sink); /* takes ownership */
/* The sinks a command's --eve PATH and --syslog TARGET name (either may be NULL): 0, or -1 with
 * the error set (a target that is not unix:PATH / udp:HOST:PORT is a usage error). */
int dbg_alerter_add_sinks(dbg_alerter *al, const char *eve_path, const char *syslog_target);
/* Thread-safe. Returns 1 if written now, 0 if folded into a pending alert, -1 on error. */
int dbg_alerter_emit(dbg_alerter *al, const dbg_alert *a);
int dbg_alerter_flush(dbg_alerter *al);     /* writes folded summaries whose window ended (wall clock) */
/* Same, with "now" given: offline runs pass packet time. */
int dbg_alerter_flush_at(dbg_alerter *al, int64_t now_us);
uint64_t dbg_alerter_emitted(const dbg_alerter *al);
void dbg_alerter_free(dbg_alerter *al);     /* flushes everything pending, closes sinks */

#endif
