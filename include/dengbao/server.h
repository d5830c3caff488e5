/* `dengbao serve`: the central server. Agents POST their EVE alerts; the provider and each tenant
 * read their own view (集中审计 by responsibility, 8.2.5.1c) and a tenant downloads its audit
 * records with inclusion proofs (8.2.3.3b). HTTPS with client certificates and/or a Unix socket.
 * Also the small HTTP/1.1 request parser it uses and the answer parser its forwarder uses (pure,
 * fuzzed). */
#ifndef DENGBAO_SERVER_H
#define DENGBAO_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "dengbao/util.h" /* dbg_buf */

/* ---- HTTP/1.1 request head parser ---- */

#define DBG_HTTP_HEAD_MAX (16u * 1024u)         /* request line + headers */
#define DBG_HTTP_BODY_MAX (16u * 1024u * 1024u) /* Content-Length bodies */
#define DBG_HTTP_HEADERS_MAX 64

typedef struct {
    const char *name;  /* points into the request's own copy of the head */
    const char *value; /* leading/trailing blanks removed */
} dbg_http_header;

typedef struct {
    char *head;         /* owned NUL-separated copy of the head */
    const char *method; /* "GET", "POST", ... */
    const char *target; /* "/api/v1/events?type=x" as sent */
    const char *path;   /* target up to '?' (owned copy in head) */
    const char *query;  /* after '?', "" when none */
    int version_minor;  /* HTTP/1.0 -> 0, HTTP/1.1 -> 1 */
    dbg_http_header headers[DBG_HTTP_HEADERS_MAX];
    size_t n_headers;
    int has_body_length; /* a Content-Length was given */
    uint64_t content_length;
    size_t head_len; /* bytes of the input the head took (the body starts there) */
} dbg_http_request;

/* Parses the head at the start of buf[0..len). Returns 1 when the head is complete (req filled;
 * free with dbg_http_request_clear), 0 when more bytes are needed, -1 when the input is bad:
 * *status gets the HTTP status to answer (400, 411, 413, 431, 501, 505) and msg says what was
 * wrong and where. Bodies: only Content-Length (Transfer-Encoding -> 501); POST/PUT without a
 * length -> 411; a length over DBG_HTTP_BODY_MAX -> 413. */
int dbg_http_parse_head(const char *buf, size_t len, dbg_http_request *req, int *status, char *msg,
                        size_t msgsz);
void dbg_http_request_clear(dbg_http_request *req);
/* Case-insensitive header lookup; NULL when absent. */
const char *dbg_http_header_get(const dbg_http_request *req, const char *name);
/* 1 when the client asks the connection to end after this request: HTTP/1.0 (its keep-alive
 * extension is not offered), or a Connection header listing "close"; 0 for persistent HTTP/1.1. */
int dbg_http_wants_close(const dbg_http_request *req);
/* 1 when a Connection field's value (len bytes) lists the "close" token. */
int dbg_http_connection_lists_close(const char *value, size_t len);
/* RFC 9110 token characters (a field name, a method): the request's reader and the answer's
 * share them. */
int dbg_http_is_tchar(unsigned char c);

/* Query string walk: calls cb for each name=value pair, both percent-decoded ('+' = space).
 * Returns 0, -1 on a bad escape, NUL, an over-long pair or a name given twice (msg says which),
 * or cb's non-zero. */
typedef int (*dbg_http_query_cb)(const char *name, const char *value, void *opaque);
int dbg_http_query_each(const char *query, dbg_http_query_cb cb, void *opaque, char *msg,
                        size_t msgsz);
const char *dbg_http_status_text(int status);

/* ---- HTTP/1.1 answer reader (the forwarder reading central's, or a collector's, answers) ---- */

/* 1xx answers (100 Continue, 103 Early Hints) read before the final one */
#define DBG_HTTP_INTERIM_MAX 32u
#define DBG_HTTP_CHUNK_LINE_MAX 4096u /* a chunk-size line with its extensions; a trailer line */
/* a chunked body's framing in all: sizes, extensions, CRLFs and trailer fields */
#define DBG_HTTP_CHUNK_FRAMING_MAX (256u * 1024u)

typedef struct {
    int status;              /* 200..599: the final answer's */
    int version_minor;       /* HTTP/1.x: x */
    int has_length;          /* a Content-Length was given */
    uint64_t content_length; /* its value (0 without one) */
    int chunked;             /* Transfer-Encoding: chunked (read it with dbg_http_chunked_read) */
    int close;               /* the connection ends after it: "close" listed, or HTTP/1.0 */
    unsigned interim;        /* 1xx answers read and skipped before it */
    size_t head_len;         /* bytes of the input the heads took (the body starts there) */
} dbg_http_answer;

/* Parses the answer head at the start of buf[0..len) (bytes received so far; the heads alone
 * are read, so heads split anywhere read the same), after any 1xx interim answers (their field
 * lines are checked for form and otherwise ignored; at most DBG_HTTP_INTERIM_MAX). Returns 1
 * when the final head is complete (a filled), 0 when more bytes are needed, -1 when it is no
 * answer to read (msg says what and at which byte): no "HTTP/1.x NNN" status line, 101
 * Switching Protocols (a POST asked for no switch), a Content-Length that is no number below
 * 2^63 or two different ones, a Transfer-Encoding other than chunked alone, chunked beside a
 * Content-Length or in an HTTP/1.0 answer, a line not "Name: value", a folded line, NUL, CR or
 * LF alone, a control byte in a value, a head over DBG_HTTP_HEAD_MAX. a->close is also set for
 * HTTP/1.0 answers. */
int dbg_http_parse_answer(const char *buf, size_t len, dbg_http_answer *a, char *msg, size_t msgsz);

/* Where a chunked body's reading stands between reads; zeroed to start, max set first. */
typedef struct {
    uint64_t max;  /* data bytes the body may carry in all (0: no limit) */
    uint64_t data; /* data bytes read so far */
    uint64_t off;  /* bytes of the body read so far (data and framing) */
    uint64_t left; /* bytes of the current chunk's data still to come */
    int state;
    size_t line_len;                        /* bytes of the current line so far (in line) */
    uint64_t line_start;                    /* its first byte's offset in the body */
    char line[DBG_HTTP_CHUNK_LINE_MAX + 1]; /* and its CR */
} dbg_http_chunked;

/* Reads the next n bytes of a chunked body (RFC 9112 7.1; chunk extensions and trailer fields
 * are checked for form and ignored), continuing where c stopped, so a body split anywhere reads
 * the same; the chunks' data is appended to out (NULL: dropped). *used: how many bytes of in
 * were the body's (fewer than n only when it ended before them). Returns 1 when the body is
 * complete (last chunk and trailer section read), 0 when more bytes are needed, -1 when it is
 * no chunked body (msg names what and its byte in the body): a chunk size that is no hex
 * number or does not fit 64 bits, data not followed by CRLF, an extension or trailer line not
 * of their form, CR or LF alone, a line over DBG_HTTP_CHUNK_LINE_MAX, data over max, framing
 * over DBG_HTTP_CHUNK_FRAMING_MAX; or out cannot take the data. */
int dbg_http_chunked_read(dbg_http_chunked *c, const char *in, size_t n, size_t *used, dbg_buf *out,
                          char *msg, size_t msgsz);

/* ---- the server ---- */

typedef struct {
    const char *listen; /* "ADDR:PORT" for HTTPS (mTLS), or NULL */
    const char *tls_cert, *tls_key, *tls_ca;
    const char *socket_path; /* Unix socket (plain HTTP), or NULL */
    const char *store_url;   /* dbg_store_open URL */
    const char *audit_dir;   /* audit log read for exports, or NULL */
    const char *assessment;  /* `dengbao assess --format json` result file, or NULL */
    const char *policy;      /* gateway policy YAML mapping identities to roles, or NULL */
    int max_conns;           /* 0 = 64 */
    /* connections answering listings and the dashboard beside the storing one, 1..32; 0 = one
     * per online CPU, from 4 to 16 */
    int store_readers;
    int io_timeout_s;        /* per read/write; 0 = 10 */
    int request_timeout_s;   /* whole request head + body; 0 = 30 */
    /* HTTP/1.1 persistent connections: how long a connection may wait idle for its next request
     * (0 = 5 s) and how many requests it may carry (0 = 100; 1 = one request per connection) */
    int keepalive_idle_s;
    int keepalive_max;
} dbg_server_opts;

typedef struct {
    uint64_t requests, errors; /* errors = answers >= 400 */
    uint64_t events_stored, events_rejected;
    uint64_t exports, refused_tls;
    int active_conns;
} dbg_server_stats;

typedef struct dbg_server dbg_server;

dbg_server *dbg_server_start(const dbg_server_opts *opts);
int dbg_server_port(const dbg_server *s); /* the bound TCP port (for --listen ...:0), or -1 */
const char *dbg_server_backend(const dbg_server *s);
void dbg_server_get_stats(dbg_server *s, dbg_server_stats *out);
void dbg_server_stop(dbg_server *s); /* stops listening, waits for connections, frees */

/* ---- forwarding an agent's EVE alerts to the central server ---- */

typedef struct {
    const char *eve_path; /* the EVE file the agent's alerter appends to */
    const char *central;  /* "https://HOST:PORT" (mTLS) or "unix:/path/to/serve.sock" */
    const char *tls_cert, *tls_key, *tls_ca; /* client certificate (O=provider), CA of the server */
    const char *state_path; /* keeps the offset already accepted across restarts; NULL = none */
    int interval_ms;        /* poll period when idle and retry period on failure (0 = 1000) */
} dbg_forwarder_opts;

typedef struct {
    uint64_t offset; /* bytes of the EVE file accepted by the server */
    uint64_t batches, bytes, refused_batches, failures;
    uint64_t rejected_lines; /* lines central refused for good (in 200 and 400 answers) */
    char last_error[512];
} dbg_forwarder_stats;

typedef struct dbg_forwarder dbg_forwarder;

/* Starts a thread that POSTs new complete lines of eve_path to central's /api/v1/events (batches
 * of up to 4 MiB, resent until answered 200 or 400). NULL with dbg_err set on bad options. */
dbg_forwarder *dbg_forwarder_start(const dbg_forwarder_opts *o);
void dbg_forwarder_get_stats(dbg_forwarder *f, dbg_forwarder_stats *out);
/* One last pass over what is in the file, then stops and frees. */
void dbg_forwarder_stop(dbg_forwarder *f);

#endif
