/* Unit tests for the audit log: canonical records, bad input, durable appends from many threads,
 * reopen, checkpoints, rotation, verification, proofs, export isolation, prune, status file. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit/audit_int.h"
#include "audit/verify_int.h"
#include "dengbao/audit.h"
#include "tests/unit/audit_fixture.h"

static dbg_audit_record sample(const char *tenant, const char *action)
{
    dbg_audit_record r = {.actor = "uid:1000(alice)",
                          .role = "tenant-admin",
                          .tenant = tenant,
                          .action = action,
                          .target_type = "domain",
                          .target_name = "vm1",
                          .target_uuid = "u-1",
                          .outcome = "success",
                          .source = "unix:uid=1000",
                          .details_json = "{\"z\":1,\"a\":\"x\"}"};
    return r;
}

static void test_canonical_form(void **state)
{
    (void)state;
    dbg_audit_record r = sample("t1", "vm.start");
    r.details_json = "{ \"b\" : [1, 2.5, true, null], \"a\" : \"q\\\"\\n\\u0001é\" }";
    dbg_buf b;
    dbg_buf_init(&b, 0);
    assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, AUD_TPREV_ABSENT, &b), 0);
    assert_string_equal(
        b.data,
        "{\"action\":\"vm.start\",\"actor\":\"uid:1000(alice)\",\"details\":{\"a\":"
        "\"q\\\"\\n\\u0001é\","
        "\"b\":[1,2.5,true,null]},\"outcome\":\"success\",\"role\":\"tenant-admin\",\"seq\":42,"
        "\"source\":\"unix:uid=1000\",\"target\":{\"name\":\"vm1\",\"type\":\"domain\",\"uuid\":"
        "\"u-1\"},"
        "\"tenant\":\"t1\",\"time\":\"2025-11-25T01:02:03.123456Z\"}");
    /* stored bytes parse back to the same record, and only the canonical bytes are accepted */
    aud_parsed_record p;
    assert_int_equal(aud_record_parse((const uint8_t *)b.data, b.len, "t", &p), 0);
    assert_true(p.rec.seq == 42);
    assert_string_equal(p.tenant, "t1");
    aud_parsed_record_free(&p);
    char spaced[2048];
    snprintf(spaced, sizeof(spaced), "%s ", b.data);
    assert_int_equal(aud_record_parse((const uint8_t *)spaced, strlen(spaced), "t", &p), -1);
    /* a record of a tenant names the tenant's previous record (null for its first) between
     * tenant and time, and parses back with it */
    static const char *const tail[] = {"\"tenant\":\"t1\",\"tenant_prev\":7,\"time\":",
                                       "\"tenant\":\"t1\",\"tenant_prev\":null,\"time\":"};
    for (int k = 0; k < 2; k++) {
        dbg_buf_reset(&b);
        int64_t tp = k ? AUD_TPREV_NONE : 7;
        assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, tp, &b), 0);
        assert_non_null(strstr(b.data, tail[k]));
        assert_int_equal(aud_record_parse((const uint8_t *)b.data, b.len, "t", &p), 0);
        assert_true(p.tenant_prev == tp);
        aud_parsed_record_free(&p);
    }
    dbg_buf_reset(&b);
    assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, 42, &b), -1); /* not below */
    r.tenant = "";
    assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, 7, &b), -1); /* no tenant */
    static const char *const bad[] = {
        "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"outcome\":\"c\",\"role\":\"\",\"seq\":"
        "4,"
        "\"source\":\"\",\"target\":{\"name\":\"\",\"type\":\"\",\"uuid\":\"\"},\"tenant\":\"t\","
        "\"tenant_prev\":4,\"time\":\"2025-11-25T01:02:03.123456Z\"}",
        "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"outcome\":\"c\",\"role\":\"\",\"seq\":"
        "4,"
        "\"source\":\"\",\"target\":{\"name\":\"\",\"type\":\"\",\"uuid\":\"\"},\"tenant\":\"\","
        "\"tenant_prev\":null,\"time\":\"2025-11-25T01:02:03.123456Z\"}",
        "{\"action\":\"a\",\"actor\":\"b\",\"details\":{},\"outcome\":\"c\",\"role\":\"\",\"seq\":"
        "4,"
        "\"source\":\"\",\"target\":{\"name\":\"\",\"type\":\"\",\"uuid\":\"\"},\"tenant\":\"t\","
        "\"tenant_prev\":\"1\",\"time\":\"2025-11-25T01:02:03.123456Z\"}"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        assert_int_equal(aud_record_parse((const uint8_t *)bad[k], strlen(bad[k]), "t", &p), -1);
    /* the log assigns it: an appended record may not bring its own */
    const char *in = "{\"actor\":\"a\",\"action\":\"b\",\"outcome\":\"c\",\"tenant\":\"t\","
                     "\"tenant_prev\":1}";
    assert_int_equal(aud_record_from_json(in, strlen(in), "stdin line 1", &p), -1);
    assert_non_null(strstr(dbg_err_msg(), "'tenant_prev' is not taken"));
    dbg_buf_free(&b);
}

/* The index check's fast path: a record's bytes hold exactly the given fields, seq and time. */
static void test_fields_match(void **state)
{
    (void)state;
    dbg_audit_record r = sample("t1", "vm.start");
    r.actor = "CN=\"ops\"\\1\tx"; /* needs escapes */
    r.target_uuid = NULL;         /* stored as "" */
    r.details_json = "{\"outcome\":\"x\",\"k\":[1]}";
    dbg_buf b, scratch;
    dbg_buf_init(&b, 0);
    dbg_buf_init(&scratch, 0);
    assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, AUD_TPREV_ABSENT, &b), 0);
    const uint8_t *d = (const uint8_t *)b.data;
    dbg_audit_record f = r;
    f.time_us = 1764032523123456LL;
    f.details_json = NULL;
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 1);
    f.target_uuid = "";
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 1);
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 43, &scratch), 0);
    f.time_us++;
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
    f.time_us--;
    f.actor = "CN=\"ops\"\\1\ty";
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
    f.actor = r.actor;
    f.tenant = "t2";
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
    f.tenant = "t1";
    f.outcome = "x"; /* the details' own "outcome" must not be taken for the field */
    assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
    f.outcome = r.outcome;
    assert_int_equal(aud_record_fields_match(d, 20, &f, 42, &scratch), 0); /* cut short */
    /* the record's tenant_prev is no index column: the same fields match with it */
    for (int64_t tp = AUD_TPREV_NONE; tp <= 41; tp += 42) {
        dbg_buf_reset(&b);
        assert_int_equal(aud_record_canonical(&r, 42, 1764032523123456LL, tp, &b), 0);
        d = (const uint8_t *)b.data;
        assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 1);
        f.tenant = "t2";
        assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
        f.tenant = "t1";
        f.time_us++;
        assert_int_equal(aud_record_fields_match(d, b.len, &f, 42, &scratch), 0);
        f.time_us--;
    }
    dbg_buf_free(&b);
    dbg_buf_free(&scratch);
}

static int from_json(const char *s, const char *what, aud_parsed_record *p)
{
    return aud_record_from_json(s, strlen(s), what, p);
}

static void test_bad_input(void **state)
{
    (void)state;
    aud_parsed_record p;
    assert_int_equal(from_json("{\"actor\":\"a\",", "stdin line 1", &p), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_PARSE);
    assert_non_null(strstr(dbg_err_msg(), "stdin line 1: malformed JSON"));

    const char nonutf[] = "{\"actor\":\"a\xff\",\"action\":\"x\",\"outcome\":\"y\"}";
    assert_int_equal(aud_record_from_json(nonutf, sizeof(nonutf) - 1, "stdin line 2", &p), -1);
    assert_non_null(strstr(dbg_err_msg(), "not valid UTF-8"));

    assert_int_equal(from_json("{\"actor\":\"a\",\"outcome\":\"y\"}", "l3", &p), -1);
    assert_non_null(strstr(dbg_err_msg(), "'action' is required"));

    assert_int_equal(
        from_json("{\"actor\":\"a\",\"action\":\"x\",\"outcome\":\"y\",\"bogus\":1}", "l4", &p),
        -1);
    assert_non_null(strstr(dbg_err_msg(), "unknown field 'bogus'"));

    assert_int_equal(
        from_json("{\"actor\":\"a\",\"action\":\"x\",\"outcome\":\"y\",\"details\":[1]}", "l5", &p),
        -1);
    assert_non_null(strstr(dbg_err_msg(), "'details' must be a JSON object"));

    assert_int_equal(from_json("[1,2]", "l6", &p), -1);
    assert_non_null(strstr(dbg_err_msg(), "must be a JSON object"));

    char *big = malloc(AUD_MAX_FIELD + 100);
    memset(big, 'x', AUD_MAX_FIELD + 99);
    big[AUD_MAX_FIELD + 99] = '\0';
    dbg_audit_record r = sample("t1", "vm.start");
    r.actor = big;
    assert_int_equal(aud_record_validate(&r), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_LIMIT);
    assert_non_null(strstr(dbg_err_msg(), "field 'actor' is"));
    free(big);

    r = sample("t1", "vm.start");
    r.details_json = "{\"a\":";
    dbg_buf b;
    dbg_buf_init(&b, 0);
    assert_int_equal(aud_record_canonical(&r, 0, 1, AUD_TPREV_ABSENT, &b), -1);
    assert_non_null(strstr(dbg_err_msg(), "details"));
    dbg_buf_free(&b);

    /* a good one with flat target fields */
    const char ok[] = "{\"actor\":\"a\",\"action\":\"x\",\"outcome\":\"y\",\"target_name\":\"vm\","
                      "\"details\":{\"k\":1}}";
    assert_int_equal(aud_record_from_json(ok, sizeof(ok) - 1, "l7", &p), 0);
    assert_string_equal(p.rec.target_name, "vm");
    assert_string_equal(p.rec.details_json, "{\"k\":1}");
    aud_parsed_record_free(&p);
}

/* A time whose UTC year is not four digits would be stored as text the parser rejects, and every
 * read of the log (export, query, reindex) would fail on it: it is refused at append. */
static void test_time_out_of_range(void **state)
{
    env *e = *state;
    static const char *const bad[] = {"0000-01-01T00:00:00+08:00", "0000-01-01T00:00:00.5+00:01",
                                      "9999-12-31T23:00:00-01:00"};
    aud_parsed_record p;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"actor\":\"a\",\"action\":\"x\",\"outcome\":\"ok\",\"time\":\"%s\"}", bad[i]);
        assert_int_equal(from_json(json, "l1", &p), -1);
        assert_non_null(strstr(dbg_err_msg(), "field 'time'"));
        assert_non_null(strstr(dbg_err_msg(), bad[i]));
    }

    dbg_audit_log *log = dbg_audit_open(&(dbg_audit_opts){.dir = e->log, .key_path = e->key});
    assert_non_null(log);
    dbg_audit_record r = sample("t2", "vm.start");
    uint64_t seq;
    r.time_us = -62167219200LL * 1000000 - 1; /* 0000-01-01 less 1 us */
    assert_int_equal(dbg_audit_append(log, &r, &seq), -1);
    assert_non_null(strstr(dbg_err_msg(), "field 'time'"));
    r.time_us = 253402300800LL * 1000000; /* 10000-01-01 */
    assert_int_equal(dbg_audit_append(log, &r, &seq), -1);
    /* the first and last microsecond that fit are kept; an appended JSON record may not be
     * dated after now, so the last one goes in through the API */
    static const char *const edge[] = {"0000-01-01T00:00:00-00:00", "9999-12-31T23:59:59.999999Z"};
    for (size_t i = 0; i < 2; i++) {
        char json[160];
        snprintf(json, sizeof(json),
                 "{\"actor\":\"a\",\"action\":\"x\",\"outcome\":\"ok\",\"tenant\":\"t2\","
                 "\"time\":\"%s\"}",
                 edge[i]);
        if (i == 1) {
            assert_int_equal(from_json(json, "l2", &p), -1);
            assert_non_null(strstr(dbg_err_msg(),
                                   "l2: field 'time' ('9999-12-31T23:59:59.999999Z') "
                                   "is after now"));
            r.time_us = 253402300800LL * 1000000 - 1;
            assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
            continue;
        }
        assert_int_equal(from_json(json, "l2", &p), 0);
        assert_int_equal(dbg_audit_append(log, &p.rec, &seq), 0);
        aud_parsed_record_free(&p);
    }
    r = sample("t1", "vm.stop");
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_int_equal(dbg_audit_close(log), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/t1.json", e->dir);
    assert_int_equal(dbg_audit_export(e->log, "t1", path), 0);
    snprintf(path, sizeof(path), "%s/t2.json", e->dir);
    assert_int_equal(dbg_audit_export(e->log, "t2", path), 0);
}

/* The fast path for already-canonical details must give exactly what jansson + aud_canon_json give.
 */
static void test_details_fast_path_matches(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "{}",
        "{\"a\":1}",
        "{\"b\":1,\"a\":2}",
        "{\"a\":1,\"a\":2}",
        "{\"a\":-0}",
        "{\"a\":0}",
        "{\"a\":-12,\"b\":[true,false,null,{}],\"c\":{\"d\":\"\\n\\u001f\\\"\"}}",
        "{\"a\":1.5}",
        "{\"a\":1e3}",
        "{\"a\":\"\\u0041\"}",
        "{\"a\":\"\\/\"}",
        "{\"a\":\"\\u000a\"}",
        "{\"a\" :1}",
        "{\"a\":1} ",
        "{\"ab\":1,\"a\":2}",
        "{\"a\":1,\"ab\":2}",
        "{\"é\":1,\"z\":2}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":123456789012345678901234}",
        "{\"k\\\"\":1}",
        "[1]",
        "{\"a\":01}",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        dbg_buf fast, slow;
        dbg_buf_init(&fast, 0);
        dbg_buf_init(&slow, 0);
        int rf = aud_canon_details(cases[i], &fast), rs = aud_canon_details_slow(cases[i], &slow);
        if (rf != rs || (rf == 0 && strcmp(fast.data, slow.data) != 0))
            fail_msg("details %s: fast %d '%s' vs jansson %d '%s'", cases[i], rf,
                     fast.data ? fast.data : "", rs, slow.data ? slow.data : "");
        dbg_buf_free(&fast);
        dbg_buf_free(&slow);
    }
}

typedef struct {
    dbg_audit_log *log;
    int n;
    int batch;
    uint64_t *seqs;
} worker;

static void *append_worker(void *arg)
{
    worker *w = arg;
    static const char *const tenants[] = {"t1", "t2", "", "t\"3\n"};
    dbg_audit_record r = sample("t1", "vm.start");
    for (int i = 0; i < w->n; i += w->batch) {
        dbg_audit_record recs[8];
        for (int k = 0; k < w->batch; k++) {
            recs[k] = r;
            recs[k].tenant = tenants[(i + k) % 4];
        }
        uint64_t first;
        if (dbg_audit_append_batch(w->log, recs, (size_t)w->batch, &first) < 0)
            return (void *)1;
        for (int k = 0; k < w->batch; k++)
            w->seqs[i + k] = first + (uint64_t)k;
    }
    return NULL;
}

/* Every record of a tenant names the tenant's record before it in the log (tenant_prev), null
 * for its first or one below the log's first seq (pruned); provider-only records name none. */
static void assert_tenant_chain(const char *dir, const char *pub)
{
    aud_walk_out o;
    dbg_audit_verify_result res;
    assert_int_equal(aud_walk(dir, pub, &res, &o), 0);
    assert_true(res.ok);
    uint64_t lo = o.pruned_frontier.size;
    struct {
        char *name;
        uint64_t last;
    } seen[16];
    size_t n_seen = 0;
    for (uint64_t seq = lo; seq < lo + o.n; seq++) {
        char *data = NULL;
        size_t len = 0;
        aud_parsed_record p;
        assert_int_equal(aud_read_record(dir, &o, seq, &data, &len), 0);
        assert_int_equal(aud_record_parse((const uint8_t *)data, len, "record", &p), 0);
        const char *t = p.tenant ? p.tenant : "";
        char *quick = aud_record_tenant((const uint8_t *)data, len);
        assert_non_null(quick);
        assert_string_equal(quick, t); /* what the writer reads back without a parse */
        free(quick);
        size_t i = 0;
        while (i < n_seen && strcmp(seen[i].name, t) != 0)
            i++;
        if (!*t)
            assert_true(p.tenant_prev == AUD_TPREV_ABSENT);
        else if (i < n_seen && p.tenant_prev != (int64_t)seen[i].last)
            fail_msg("seq %llu of %s names %lld, its previous record is %llu",
                     (unsigned long long)seq, t, (long long)p.tenant_prev,
                     (unsigned long long)seen[i].last);
        else if (i == n_seen)
            assert_true(p.tenant_prev == AUD_TPREV_NONE ||
                        (p.tenant_prev >= 0 && (uint64_t)p.tenant_prev < lo));
        if (i == n_seen) {
            assert_true(n_seen < 16);
            seen[n_seen++].name = strdup(t);
        }
        seen[i].last = seq;
        aud_parsed_record_free(&p);
        free(data);
    }
    for (size_t i = 0; i < n_seen; i++)
        free(seen[i].name);
    aud_walk_out_free(&o);
}

static void test_concurrent_appends_verify(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log,
                        .key_path = e->key,
                        .checkpoint_every = 50,
                        .durable = 1,
                        .segment_max_bytes = 64 * 1024};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    /* a second handle on the same directory (as another process would have) writes too */
    dbg_audit_log *log2 = dbg_audit_open(&o);
    assert_non_null(log2);
    enum { THREADS = 4, PER = 300 };
    worker w[THREADS];
    pthread_t th[THREADS];
    uint64_t *all = calloc(THREADS * PER, sizeof(uint64_t));
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){i < 2 ? log : log2, PER, i % 2 ? 4 : 1, all + i * PER};
        assert_int_equal(pthread_create(&th[i], NULL, append_worker, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        assert_null(rv);
    }
    assert_int_equal(dbg_audit_close(log2), 0);
    assert_true(dbg_audit_size(log) >= THREADS * PER / 2);
    /* every seq handed out exactly once */
    char *seen = calloc(THREADS * PER, 1);
    for (int i = 0; i < THREADS * PER; i++) {
        assert_true(all[i] < THREADS * PER);
        assert_int_equal(seen[all[i]], 0);
        seen[all[i]] = 1;
    }
    free(seen);
    free(all);
    assert_int_equal(dbg_audit_close(log), 0);

    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    if (!res.ok)
        fprintf(stderr, "verify: %s\n", res.problem);
    assert_true(res.ok);
    assert_true(res.records == THREADS * PER);
    assert_true(res.head_size == THREADS * PER);
    assert_true(res.checkpoints >=
                THREADS * PER / 50 / 4); /* every 50 records at least per batch */
    assert_true(res.unsealed == 0);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n > 1); /* rotated at 64 KiB */
    aud_free_names(names, n);

    /* reopen continues the sequence */
    log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("t2", "vm.delete");
    uint64_t seq;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_true(seq == THREADS * PER);
    assert_int_equal(dbg_audit_close(log), 0);
    assert_int_equal(dbg_audit_verify(e->log, NULL, &res), 0);
    assert_true(res.ok);
    assert_true(res.records == THREADS * PER + 1);
    /* the two writers (each with the other's records to catch up on, and rotations by either)
     * and the reopen linked every tenant's records in log order */
    assert_tenant_chain(e->log, e->pub);
}

/* Edits the "tenants" of a segment header (the last segment's when last, else the first's): sets
 * tenant's entry to seq (DROP_ENTRY: removes it), or with tenant NULL removes the table (as in a
 * header written before tenant_prev). The table is not signed, so only the frame's CRC changes
 * with it, as an editor of the file could do. */
#define DROP_ENTRY INT64_MIN
#define LAST_SEGMENT SIZE_MAX
static void edit_header_of(const char *log, size_t which, const char *tenant, json_int_t seq,
                           const char *raw);
static void edit_header(const char *log, int last, const char *tenant, json_int_t seq,
                        const char *raw)
{
    edit_header_of(log, last ? LAST_SEGMENT : 0, tenant, seq, raw);
}

static void edit_header_tenants(const char *log, int last, const char *tenant, json_int_t seq)
{
    edit_header(log, last, tenant, seq, NULL);
}

/* The same with raw JSON text put in front of the header's keys: '"tenants":5' makes the table
 * a number; with a table there already, '"tenants":{}' makes a duplicate key. which: the
 * segment's place in the listing (LAST_SEGMENT: the last). */
static void edit_header_of(const char *log, size_t which, const char *tenant, json_int_t seq,
                           const char *raw)
{
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(log, &names, &n), 0);
    assert_true(which == LAST_SEGMENT || which < n);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", log, names[which == LAST_SEGMENT ? n - 1 : which]);
    aud_free_names(names, n);
    uint8_t *data;
    size_t len;
    assert_int_equal(aud_read_whole(path, &data, &len), 0);
    aud_frame f;
    const char *why;
    assert_int_equal(aud_frame_next(data, len, 0, &f, &why), 1);
    json_t *h = json_loadb((const char *)f.payload, f.len, 0, NULL);
    assert_non_null(h);
    if (raw)
        ;
    else if (!tenant)
        json_object_del(h, "tenants");
    else if (seq == DROP_ENTRY)
        json_object_del(json_object_get(h, "tenants"), tenant);
    else if (json_object_get(h, "tenants"))
        json_object_set_new(json_object_get(h, "tenants"), tenant, json_integer(seq));
    else
        json_object_set_new(h, "tenants", json_pack("{s:I}", tenant, seq));
    dbg_buf b;
    dbg_buf_init(&b, 0);
    assert_int_equal(aud_canon_json(&b, h, 0), 0);
    json_decref(h);
    if (raw) {
        dbg_buf t;
        dbg_buf_init(&t, 0);
        assert_true(dbg_buf_add(&t, "{", 1) == 0 && dbg_buf_add(&t, raw, strlen(raw)) == 0 &&
                    dbg_buf_add(&t, ",", 1) == 0 && dbg_buf_add(&t, b.data + 1, b.len - 1) == 0);
        dbg_buf_free(&b);
        b = t;
    }
    uint8_t hdr[AUD_FRAME_HDR];
    aud_frame_header(hdr, AUD_FRAME_SEGMENT, b.data, (uint32_t)b.len);
    FILE *out = fopen(path, "we");
    assert_non_null(out);
    size_t rest = len - AUD_FRAME_HDR - f.len;
    assert_true(fwrite(hdr, 1, sizeof(hdr), out) == sizeof(hdr) &&
                fwrite(b.data, 1, b.len, out) == b.len &&
                fwrite(f.payload + f.len, 1, rest, out) == rest);
    assert_int_equal(fclose(out), 0);
    dbg_buf_free(&b);
    free(data);
}

/* tenant_prev survives a reopen: from the last segment's header plus its records, and for a
 * segment whose header does not carry the tenants (as one written before tenant_prev existed)
 * from all the segments. */
static void test_tenant_chain_reopen(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 4096};
    static const char *const tenants[] = {"a", "b", "a", "", "c", "a"};
    uint64_t seq;
    for (int round = 0; round < 6; round++) {
        dbg_audit_log *log = dbg_audit_open(&o);
        assert_non_null(log);
        for (int i = 0; i < 7; i++) {
            dbg_audit_record r = sample(tenants[(round + i) % 6], "vm.start");
            assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
        }
        assert_int_equal(dbg_audit_close(log), 0);
    }
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n > 2); /* reopened in the middle of segments and after rotations */
    aud_free_names(names, n);
    assert_tenant_chain(e->log, e->pub);
    /* the last segment's header without its tenants, as one written before tenant_prev: the
     * header is not signed beyond its tree head, so the log still verifies, and open rebuilds
     * the tenants from every segment */
    edit_header_tenants(e->log, 1, NULL, 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    for (int i = 0; i < 6; i++) {
        dbg_audit_record r = sample(tenants[i], "vm.stop");
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    assert_tenant_chain(e->log, e->pub);
}

/* Verify checks the tenant chains of the whole log, on both of its paths (the streaming pass,
 * which declines, and the walk, which words the problem). The records and heads here are signed
 * by the log's own writer, misled by the unsigned table of its last segment's header: what a
 * writer with a wrong tenant table, or anyone with the key, would write. */
static void expect_tenant_problem(env *e, const char *want, int64_t bad_seq)
{
    dbg_audit_verify_result res;
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &res), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_false(res.ok);
    if (!strstr(res.problem, want))
        fail_msg("verify said: %s (expected: %s)", res.problem, want);
    assert_int_equal(res.first_bad_seq, bad_seq);
    /* the same from the walk over an indexed log (the CLI verify once a query made the index) */
    assert_int_equal(dbg_audit_reindex(e->log), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_false(res.ok);
    assert_non_null(strstr(res.problem, want));
    assert_int_equal(res.first_bad_seq, bad_seq);
}

/* 21 records: C, then b a b a ... (seq 20 is a's last, 19 b's); segments of a few records. C's
 * name ends in an escaped quote and backslash, which verify reads from the stored bytes. */
#define TENANT_C "c\"\\"

static void tenant_log(env *e, dbg_audit_opts *o)
{
    uint64_t seq;
    dbg_audit_log *log = dbg_audit_open(o);
    assert_non_null(log);
    for (int i = 0; i < 21; i++) {
        dbg_audit_record r = sample(i == 0 ? TENANT_C : i % 2 ? "b" : "a", "vm.start");
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
}

static size_t n_segments(const char *log)
{
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(log, &names, &n), 0);
    aud_free_names(names, n);
    return n;
}

static uint64_t last_segment_first(const char *log)
{
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(log, &names, &n), 0);
    assert_true(n > 1);
    uint64_t first = aud_name_first_seq(names[n - 1]);
    aud_free_names(names, n);
    return first;
}

static void append_one(dbg_audit_opts *o, const char *tenant, uint64_t *seq)
{
    dbg_audit_log *log = dbg_audit_open(o);
    assert_non_null(log);
    dbg_audit_record r = sample(tenant, "vm.stop");
    assert_int_equal(dbg_audit_append(log, &r, seq), 0);
    assert_int_equal(dbg_audit_close(log), 0);
}

static void test_verify_tenant_chain(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    uint64_t seq;
    append_one(&o, "a", &seq); /* sound: names 20 */
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    /* the writer believes c's last record is 1 (b's), not 0: the next record of c names it */
    size_t hdr = n_segments(e->log) - 1; /* the writer may rotate on close */
    uint64_t hdr_first = last_segment_first(e->log);
    edit_header_tenants(e->log, 1, TENANT_C, 1);
    append_one(&o, TENANT_C, &seq);
    char want[300];
    /* the edited table itself fails first, at its header */
    snprintf(want, sizeof(want),
             "segment header's tenants table is not the tenants' last records before seq %llu: "
             "it has tenant '" TENANT_C "' -> seq 1, but the tenant's last record before it is "
             "seq 0",
             (unsigned long long)hdr_first);
    expect_tenant_problem(e, want, (int64_t)hdr_first);
    /* put back, the record the misled writer linked still fails */
    edit_header_of(e->log, hdr, TENANT_C, 0, NULL);
    snprintf(want, sizeof(want),
             "record %llu of tenant '" TENANT_C
             "': tenant_prev is seq 1, but the tenant's previous record "
             "in the log is seq 0",
             (unsigned long long)seq);
    expect_tenant_problem(e, want, (int64_t)seq);
}

static void test_verify_tenant_heads(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    /* the writer believes in a tenant with no record: every head it signs names it */
    size_t hdr = n_segments(e->log) - 1;
    uint64_t hdr_first = last_segment_first(e->log);
    edit_header_tenants(e->log, 1, "ghost", 3);
    uint64_t seq;
    append_one(&o, "a", &seq); /* its chain holds; its head (size seq + 1) does not */
    char want[300];
    snprintf(want, sizeof(want),
             "segment header's tenants table is not the tenants' last records before seq %llu: "
             "it has tenant 'ghost' -> seq 3, but the tenant has no record before seq %llu",
             (unsigned long long)hdr_first, (unsigned long long)hdr_first);
    expect_tenant_problem(e, want, (int64_t)hdr_first);
    /* put back, the heads the misled writer signed still fail */
    edit_header_of(e->log, hdr, "ghost", DROP_ENTRY, NULL);
    snprintf(want, sizeof(want), "tree head of size %llu: its tenant heads (4 tenants, root ",
             (unsigned long long)seq + 1);
    expect_tenant_problem(e, want, (int64_t)seq);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_non_null(strstr(res.problem, "are not the tenants' last records in the log up to that "
                                        "size (3 tenants, root "));
}

/* A sound log verified on every path: the streaming pass (which verifies these logs itself),
 * twice (the second with pieces that cut frames), the walk, and the walk over an indexed log. */
static void verify_every_path(env *e, dbg_audit_verify_result res[4])
{
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &res[0]), 1);
    assert_int_equal(aud_verify_fast(e->log, e->pub, 200, &res[1]), 1); /* pieces cut frames */
    aud_walk_out o;
    assert_int_equal(aud_walk(e->log, e->pub, &res[2], &o), 0);
    aud_walk_out_free(&o);
    assert_int_equal(dbg_audit_reindex(e->log), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res[3]), 0);
    char idx[200];
    snprintf(idx, sizeof(idx), "%s/index.sqlite", e->log);
    unlink(idx);
}

/* What verify passes over it counts, on every path. */
typedef struct {
    uint64_t unlinked, unlinked_after;
    int64_t unlinked_after_first;
    uint64_t heads_v1, theads_unchecked;
    int64_t theads_unchecked_from;
} passed_over;

static void expect_passed_over(env *e, const passed_over *want)
{
    dbg_audit_verify_result res[4];
    verify_every_path(e, res);
    for (int i = 0; i < 4; i++) {
        const dbg_audit_verify_result *r = &res[i];
        if (!r->ok)
            fail_msg("path %d: %s", i, r->problem);
        if (r->unlinked != want->unlinked || r->unlinked_after != want->unlinked_after ||
            r->unlinked_after_first != want->unlinked_after_first ||
            r->heads_v1 != want->heads_v1 || r->theads_unchecked != want->theads_unchecked ||
            r->theads_unchecked_from != want->theads_unchecked_from)
            fail_msg("path %d: unlinked %llu, after %llu from %lld, v1 heads %llu, tenant heads "
                     "unchecked %llu from %lld; expected %llu, %llu from %lld, %llu, %llu from "
                     "%lld",
                     i, (unsigned long long)r->unlinked, (unsigned long long)r->unlinked_after,
                     (long long)r->unlinked_after_first, (unsigned long long)r->heads_v1,
                     (unsigned long long)r->theads_unchecked, (long long)r->theads_unchecked_from,
                     (unsigned long long)want->unlinked, (unsigned long long)want->unlinked_after,
                     (long long)want->unlinked_after_first, (unsigned long long)want->heads_v1,
                     (unsigned long long)want->theads_unchecked,
                     (long long)want->theads_unchecked_from);
    }
}

/* Records without tenant_prev (a writer from before it) are counted, and apart those after a
 * record of the same tenant that had it: a writer older than tenant_prev still appending, which
 * verify reports rather than fails (the record is signed like any; see audit.md). */
static void test_verify_counts_unlinked(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    /* legacy: c c (0, 1); new: a c (2, 3); legacy: a c (4, 5); new: a (6) */
    static const struct {
        const char *tenant;
        int legacy;
    } steps[] = {{"c", 1}, {"c", 1}, {"a", 0}, {"c", 0}, {"a", 1}, {"c", 1}, {"a", 0}};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        aud_log_write_legacy_records(log, steps[i].legacy);
        dbg_audit_record r = sample(steps[i].tenant, "vm.start");
        uint64_t seq;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
        assert_true(seq == i);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    /* the new writer's records name the old ones: 3 names 1, 6 names 4 */
    for (uint64_t seq = 3; seq <= 6; seq += 3) {
        char *p = dbg_audit_prove(e->log, seq);
        assert_non_null(p);
        json_t *j = json_loads(p, 0, NULL);
        free(p);
        assert_non_null(j);
        json_t *tp = json_object_get(json_object_get(j, "record"), "tenant_prev");
        assert_true(json_is_integer(tp) && json_integer_value(tp) == (json_int_t)seq - 2);
        json_decref(j);
    }
    passed_over want = {
        .unlinked = 4, .unlinked_after = 2, .unlinked_after_first = 4, .theads_unchecked_from = -1};
    expect_passed_over(e, &want);
    /* none of it in a log of the new writer alone */
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", e->log);
    assert_int_equal(system(cmd), 0);
    tenant_log(e, &o);
    passed_over none = {.unlinked_after_first = -1, .theads_unchecked_from = -1};
    expect_passed_over(e, &none);
    /* a log written before tenant_prev and the tenant heads (tests/cases/audit/old-format): all
     * 30 records unlinked, none after a linked one, its 3 checkpoints version 1 */
    const char *src = getenv("DBG_SRCDIR");
    if (!src)
        skip();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s/tests/cases/audit/old-format/log' '%s'",
             e->log, src, e->log);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof(cmd), "cp '%s/log.pub' '%s'", e->log, e->pub);
    assert_int_equal(system(cmd), 0);
    passed_over old = {
        .unlinked = 30, .unlinked_after_first = -1, .heads_v1 = 3, .theads_unchecked_from = -1};
    expect_passed_over(e, &old);
}

/* A log pruned before its first header carried a tenants table cannot say who was pruned away;
 * a head naming more tenants than its records show is then not checked, and counted (here every
 * head after the cut: "gone" had records only before it). */
static void test_verify_counts_unchecked_heads(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    uint64_t seq;
    for (int i = 0; i < 40; i++) {
        dbg_audit_record r = sample(i < 2 ? "gone" : i % 2 ? "p" : "q", "vm.start");
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    /* as a prune would (the archive aside), with its first header as one from before the table */
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 3);
    uint64_t cut = aud_name_first_seq(names[1]);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[0]);
    assert_int_equal(unlink(path), 0);
    aud_free_names(names, n);
    assert_true(cut > 2);
    passed_over want = {.unlinked_after_first = -1, .theads_unchecked_from = -1};
    expect_passed_over(e, &want); /* the table says "gone" was pruned: all checked */
    edit_header_tenants(e->log, 0, NULL, 0);
    dbg_audit_verify_result res;
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &res), 1);
    assert_true(res.pruned == cut);
    assert_true(res.checkpoints > 2);
    want.theads_unchecked = res.checkpoints - 1; /* all but the first header's own head */
    /* the first head after the cut: the first checkpoint in the first segment left */
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    snprintf(path, sizeof(path), "%s/%s", e->log, names[0]);
    aud_free_names(names, n);
    uint8_t *data;
    size_t len, off = 0;
    assert_int_equal(aud_read_whole(path, &data, &len), 0);
    aud_frame f;
    const char *why;
    while (aud_frame_next(data, len, off, &f, &why) == 1 && f.type != AUD_FRAME_CHECKPOINT)
        off = (size_t)(f.payload + f.len - data);
    assert_int_equal(f.type, AUD_FRAME_CHECKPOINT);
    aud_sth s;
    assert_int_equal(aud_checkpoint_parse(f.payload, f.len, "cp", &s, NULL), 0);
    free(data);
    want.theads_unchecked_from = (int64_t)s.size;
    assert_true(s.size > cut && s.has_theads && s.theads_size == 3);
    expect_passed_over(e, &want);
}

/* A writer that stayed open across a prune signs tenant heads that name every tenant it knew,
 * those whose records the prune took too. When the first segment left has no tenant table (a
 * header written before tenant_prev, or too big for one), nothing in the log says who they were,
 * and an export could not prove its tenant's entry. So the prune keeps that segment's
 * predecessor: it cuts only where a header carries the table, or where no tenant's last record
 * lies below the cut. */
static void test_prune_keeps_tenant_heads_provable(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    int64_t t0 = 1700000000000000LL;
    uint64_t seq;
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    for (int i = 0; i < 40; i++) { /* "gone" has records only at the start */
        dbg_audit_record r = sample(i < 2 ? "gone" : i % 2 ? "p" : "q", "vm.start");
        r.time_us = t0 + (int64_t)i * 1000000;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 3);
    uint64_t last_first = aud_name_first_seq(names[n - 1]),
             keep_first = aud_name_first_seq(names[n - 2]);
    aud_free_names(names, n);
    assert_true(keep_first > 2);
    /* the last header without its table: the writer that opens the log reads every segment's
     * tenants, "gone" among them, and stays open */
    edit_header_tenants(e->log, 1, NULL, 0);
    log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("x", "vm.start");
    r.time_us = t0 + 100 * 1000000LL;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    uint64_t removed = 0;
    assert_int_equal(dbg_audit_prune(e->log, t0 + 1000 * 1000000LL, arch, e->key, &removed), 0);
    /* everything before the last segment is old enough; the segment before it stays */
    assert_true(removed == keep_first);
    (void)last_first;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_int_equal(dbg_audit_close(log), 0);
    char path[160];
    snprintf(path, sizeof(path), "%s/x.json", e->dir);
    if (dbg_audit_export(e->log, "x", path) < 0)
        fail_msg("export after the prune: %s", dbg_err_msg());
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify_export(path, e->pub, &res), 0);
    if (!res.ok)
        fail_msg("verify-export: %s", res.problem);
    assert_true(res.records == 2);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.pruned == keep_first);
}

/* How a damaged tenant table in a segment header is taken (the table is not signed): the writer
 * refuses to open on a table that is not a map of tenants to seqs before the segment (an entry
 * for tenant '' among them: it linked the next records to it), and verify fails it, in the last
 * segment as in the first (a prune can make any header the first); a header that is not JSON
 * without duplicate keys is no segment header to either. */
static void test_damaged_header_tenants(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[n - 1]);
    uint64_t first = aud_name_first_seq(names[n - 1]);
    aud_free_names(names, n);
    uint8_t *saved;
    size_t saved_len;
    assert_int_equal(aud_read_whole(path, &saved, &saved_len), 0);
    char too_late[64];
    snprintf(too_late, sizeof(too_late), "\"tenants\":{\"a\":%llu}", (unsigned long long)first);
    const struct {
        const char *raw;
        int strip; /* the header's own table removed first */
        const char *open_error, *verify_error;
    } cases[] = {
        {"\"tenants\":5", 1, "segment header's 'tenants' must map tenants to seqs",
         "cannot be right: its 'tenants' is not a map of tenants to seqs"},
        {"\"tenants\":{\"a\":\"x\"}", 1, "segment header's 'tenants' must map tenants to seqs",
         "cannot be right: tenant 'a' -> \"x\" is not a seq"},
        {"\"tenants\":{\"a\":-1}", 1, "segment header's 'tenants' must map tenants to seqs",
         "cannot be right: tenant 'a' -> -1 is not a seq"},
        {too_late, 1, "segment header's 'tenants' must map tenants to seqs",
         "cannot be right: tenant 'a' -> "},
        {"\"tenants\":{\"\":3}", 1,
         "segment header's 'tenants' must map tenants to seqs before the segment (an entry for "
         "tenant '' (provider-only records have none))",
         "cannot be right: an entry for tenant ''"},
        {"\"tenants\":{}", 0, "does not start with a segment header", "no valid segment header"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].strip)
            edit_header_tenants(e->log, 1, NULL, 0);
        edit_header(e->log, 1, NULL, 0, cases[i].raw);
        dbg_audit_log *log = dbg_audit_open(&o);
        if (log || !strstr(dbg_err_msg(), cases[i].open_error))
            fail_msg("case %zu: open %s: %s", i, log ? "succeeded" : "failed", dbg_err_msg());
        dbg_audit_verify_result res;
        for (int indexed = 0; indexed < 2; indexed++) {
            if (indexed && !cases[i].strip)
                break; /* no segment header: reindex reads the segments too */
            if (indexed)
                assert_int_equal(dbg_audit_reindex(e->log), 0);
            assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
            if (cases[i].verify_error ? res.ok || !strstr(res.problem, cases[i].verify_error)
                                      : !res.ok)
                fail_msg("case %zu: verify: %s", i, res.ok ? "ok" : res.problem);
        }
        char idx[200];
        snprintf(idx, sizeof(idx), "%s/index.sqlite", e->log);
        unlink(idx);
        FILE *out = fopen(path, "we");
        assert_non_null(out);
        assert_true(fwrite(saved, 1, saved_len, out) == saved_len);
        assert_int_equal(fclose(out), 0);
    }
    free(saved);
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    assert_int_equal(dbg_audit_close(log), 0);
}

/* The first segment's header's table is what verify reads for the tenants a prune took away. It
 * is not signed, but no writer writes an entry that cannot be right (the writer refuses to open
 * on one), so verify fails such a table, on every path, rather than drop the entry silently: an
 * entry dropped weakened the check of the tenant's first record left (any pruned seq passed). */
static void test_verify_fails_impossible_first_header_tenants(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 3);
    uint64_t cut = aud_name_first_seq(names[1]);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[0]);
    assert_int_equal(unlink(path), 0); /* as a prune would, the archive aside */
    snprintf(path, sizeof(path), "%s/%s", e->log, names[1]);
    aud_free_names(names, n);
    uint8_t *saved;
    size_t saved_len;
    assert_int_equal(aud_read_whole(path, &saved, &saved_len), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok && res.pruned == cut);
    char at_cut[32];
    snprintf(at_cut, sizeof(at_cut), "-> %llu is not a seq before", (unsigned long long)cut);
    const struct {
        const char *tenant; /* an entry set (NULL: raw) */
        json_int_t seq;
        const char *raw; /* with the table removed first */
        const char *why;
    } cases[] = {
        {"a", (json_int_t)cut, NULL, at_cut},
        {"a", (json_int_t)cut + 5, NULL, "is not a seq before the segment's first"},
        {"a", -1, NULL, "tenant 'a' -> -1 is not a seq of a tenant's record"},
        {"", 0, NULL, "an entry for tenant ''"},
        {NULL, 0, "\"tenants\":{\"a\":\"x\"}", "tenant 'a' -> \"x\" is not a seq"},
        {NULL, 0, "\"tenants\":5", "its 'tenants' is not a map of tenants to seqs"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].raw) {
            edit_header_tenants(e->log, 0, NULL, 0);
            edit_header(e->log, 0, NULL, 0, cases[i].raw);
        } else {
            edit_header_tenants(e->log, 0, cases[i].tenant, cases[i].seq);
        }
        assert_int_not_equal(aud_verify_fast(e->log, e->pub, 0, &res), 1);
        for (int indexed = 0; indexed < 2; indexed++) {
            if (indexed)
                assert_int_equal(dbg_audit_reindex(e->log), 0);
            assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
            if (res.ok || res.first_bad_seq != (int64_t)cut ||
                !strstr(res.problem, "segment header's tenants table cannot be right") ||
                !strstr(res.problem, cases[i].why))
                fail_msg("case %zu (index %d): %s (first bad seq %lld)", i, indexed,
                         res.ok ? "ok" : res.problem, (long long)res.first_bad_seq);
        }
        char idx[200];
        snprintf(idx, sizeof(idx), "%s/index.sqlite", e->log);
        unlink(idx);
        FILE *out = fopen(path, "we");
        assert_non_null(out);
        assert_true(fwrite(saved, 1, saved_len, out) == saved_len);
        assert_int_equal(fclose(out), 0);
    }
    free(saved);
    /* a table removed (a header from before tenant_prev) is a legitimate history: said, passed */
    edit_header_tenants(e->log, 0, NULL, 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
}

/* A head.json older than the log's first remaining record (a rotation whose head.json write a
 * crash cut short, then a prune before any writer reopened; or an old copy put back): no head
 * left in the log can match it. Said on every path (head_file_unmatched), not failed. */
static void test_verify_says_head_file_below_pruned(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    char head[200], *old_head;
    size_t old_len;
    snprintf(head, sizeof(head), "%s/head.json", e->log);
    assert_int_equal(dbg_read_file(head, 1 << 16, &old_head, &old_len), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    uint64_t old_size = res.head_size;
    tenant_log(e, &o); /* 21 records more */
    /* as a prune would: every segment that starts at or before old_size goes */
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    size_t drop = 0;
    while (drop + 1 < n && aud_name_first_seq(names[drop + 1]) <= old_size)
        drop++;
    drop++;
    assert_true(drop < n);
    uint64_t cut = aud_name_first_seq(names[drop]);
    for (size_t i = 0; i < drop; i++) {
        char path[200];
        snprintf(path, sizeof(path), "%s/%s", e->log, names[i]);
        assert_int_equal(unlink(path), 0);
    }
    aud_free_names(names, n);
    assert_true(cut > old_size);
    dbg_audit_verify_result r[4];
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &r[0]), 1);
    assert_true(r[0].ok && r[0].pruned == cut && r[0].head_file_unmatched == -1);
    assert_int_equal(dbg_write_file_atomic(head, old_head, old_len), 0);
    free(old_head);
    assert_int_equal(aud_verify_fast(e->log, e->pub, 0, &r[0]), 1);
    assert_int_equal(aud_verify_fast(e->log, e->pub, 200, &r[1]), 1);
    aud_walk_out wo;
    assert_int_equal(aud_walk(e->log, e->pub, &r[2], &wo), 0);
    aud_walk_out_free(&wo);
    assert_int_equal(dbg_audit_reindex(e->log), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &r[3]), 0);
    for (int i = 0; i < 4; i++)
        if (!r[i].ok || r[i].head_file_unmatched != (int64_t)old_size)
            fail_msg("path %d: %s, head.json unmatched %lld (expected %llu)", i,
                     r[i].ok ? "ok" : r[i].problem, (long long)r[i].head_file_unmatched,
                     (unsigned long long)old_size);
}

/* Writes saved back over path (undoing an edit of a header). */
static void restore_file(const char *path, const uint8_t *saved, size_t saved_len)
{
    FILE *out = fopen(path, "we");
    assert_non_null(out);
    assert_true(fwrite(saved, 1, saved_len, out) == saved_len);
    assert_int_equal(fclose(out), 0);
}

/* Export and prune read segment headers' tenants tables too: export the first one (the tenants
 * a prune took away, in the tenant heads it proves a tenant's entry in), prune the one of the
 * segment that would become the first. An entry that cannot be right was skipped there without
 * a word. Now both refuse, naming the segment and the entry (DBG_ERR_VERIFY, the CLI's exit 3,
 * as for a log that does not verify): the prune deleted records and left a log whose first
 * header verify then fails; an export would build the tenant head on a table that was edited.
 * The verify a prune runs first checks every header's table against the records now, so it is
 * what refuses, and also an entry that could be right but is not the tenant's last record (a
 * prune onto it would have made it what verify and export trust for the tenants pruned away). */
static void test_export_prune_refuse_impossible_header_tenants(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 3);
    size_t n_segs = n;
    uint64_t last_first = aud_name_first_seq(names[n - 1]);
    char last_name[64], path[200];
    snprintf(last_name, sizeof(last_name), "%s", names[n - 1]);
    snprintf(path, sizeof(path), "%s/%s", e->log, names[n - 1]);
    aud_free_names(names, n);
    uint8_t *saved;
    size_t saved_len;
    assert_int_equal(aud_read_whole(path, &saved, &saved_len), 0);
    char arch[200];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    char at_first[64];
    snprintf(at_first, sizeof(at_first), "cannot be right: tenant 'a' -> %llu is not a seq before",
             (unsigned long long)last_first);
    const struct {
        const char *tenant; /* an entry set (NULL: raw) */
        json_int_t seq;
        const char *raw; /* with the table removed first */
        const char *why;
    } cases[] = {
        {"a", (json_int_t)last_first, NULL, at_first},
        {"a", -1, NULL, "cannot be right: tenant 'a' -> -1 is not a seq of a tenant's record"},
        {"", 0, NULL, "cannot be right: an entry for tenant ''"},
        {NULL, 0, "\"tenants\":{\"a\":\"x\"}", "cannot be right: tenant 'a' -> \"x\" is not a seq"},
        {NULL, 0, "\"tenants\":5",
         "cannot be right: its 'tenants' is not a map of tenants to seqs"},
        /* b's record: a seq of the log before the segment, but not a's last */
        {"a", 1, NULL,
         "it has tenant 'a' -> seq 1, but the tenant's last record before it is seq "},
        {"b", DROP_ENTRY, NULL, "it leaves out tenant 'b', whose last record before it is seq "},
    };
    dbg_audit_verify_result res;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* the last segment's header: every segment before it is old enough to go */
        if (cases[i].raw) {
            edit_header_tenants(e->log, 1, NULL, 0);
            edit_header(e->log, 1, NULL, 0, cases[i].raw);
        } else {
            edit_header_tenants(e->log, 1, cases[i].tenant, cases[i].seq);
        }
        uint64_t removed = 99;
        int pr = dbg_audit_prune(e->log, INT64_MAX, arch, e->key, &removed);
        if (pr == 0 || dbg_err_code() != DBG_ERR_VERIFY || !strstr(dbg_err_msg(), last_name) ||
            !strstr(dbg_err_msg(), "does not verify") || !strstr(dbg_err_msg(), cases[i].why))
            fail_msg("case %zu: prune %s (%s), removed %llu", i, pr == 0 ? "went on" : "failed",
                     pr == 0 ? "" : dbg_err_msg(), (unsigned long long)removed);
        assert_true(removed == 0);
        assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
        aud_free_names(names, n);
        assert_true(n == n_segs); /* nothing deleted */
        restore_file(path, saved, saved_len);
        assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
        assert_true(res.ok && res.pruned == 0);
    }
    free(saved);
    DIR *d = opendir(arch);
    if (d) { /* the prune made the directory, and wrote no archive into it */
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.')
                fail_msg("archive written by a refused prune: %s", de->d_name);
        closedir(d);
    }
    /* the sound header: the prune goes, and the last segment's header is now the first */
    uint64_t removed = 0;
    if (dbg_audit_prune(e->log, INT64_MAX, arch, e->key, &removed) < 0)
        fail_msg("prune: %s", dbg_err_msg());
    assert_true(removed == last_first);
    char out[200];
    snprintf(out, sizeof(out), "%s/a.json", e->dir);
    if (dbg_audit_export(e->log, "a", out) < 0)
        fail_msg("export: %s", dbg_err_msg());
    /* that header edited: the export refuses rather than prove a tenant head built on it */
    edit_header_tenants(e->log, 0, "a", (json_int_t)last_first + 3);
    unlink(out);
    assert_int_equal(dbg_audit_export(e->log, "a", out), -1);
    assert_int_equal(dbg_err_code(), DBG_ERR_VERIFY);
    if (!strstr(dbg_err_msg(), last_name) ||
        !strstr(dbg_err_msg(), "segment header's tenants table cannot be right"))
        fail_msg("export: %s", dbg_err_msg());
    assert_int_equal(access(out, F_OK), -1);
}

/* The header tables verify checked and those it could not (none there), on every path. */
static void expect_header_tables(env *e, uint64_t checked, uint64_t unchecked, int64_t from)
{
    dbg_audit_verify_result res[4];
    verify_every_path(e, res);
    for (int i = 0; i < 4; i++) {
        const dbg_audit_verify_result *r = &res[i];
        if (!r->ok || r->header_tables != checked || r->header_tables_unchecked != unchecked ||
            r->header_tables_unchecked_from != from)
            fail_msg("path %d: %s; header tables checked %llu, unchecked %llu from %lld; expected "
                     "%llu, %llu from %lld",
                     i, r->ok ? "ok" : r->problem, (unsigned long long)r->header_tables,
                     (unsigned long long)r->header_tables_unchecked,
                     (long long)r->header_tables_unchecked_from, (unsigned long long)checked,
                     (unsigned long long)unchecked, (long long)from);
    }
}

/* Every segment header's tenants table is checked against the records before it, not only the
 * first's: a prune makes a later header the first, and its table is then what verify and export
 * trust for the tenants pruned away. An edited one failed nothing until a prune made it first. */
static void test_verify_checks_every_header_table(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o);
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 4);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[2]);
    uint64_t first1 = aud_name_first_seq(names[1]), first2 = aud_name_first_seq(names[2]);
    aud_free_names(names, n);
    expect_header_tables(e, n - 1, 0, -1);

    /* the middle header (2) edited: each way names the segment, the tenant and both seqs */
    uint8_t *saved;
    size_t saved_len;
    assert_int_equal(aud_read_whole(path, &saved, &saved_len), 0);
    /* tenant_log's records: c at 0, then b at odd seqs and a at even ones */
    uint64_t last = first2 - 1, a_last = last % 2 ? last - 1 : last,
             b_last = last % 2 ? last : last - 1;
    char want[4][300];
    snprintf(want[0], sizeof(want[0]),
             "segment header's tenants table is not the tenants' last records before seq %llu: "
             "it has tenant 'a' -> seq 1, but the tenant's last record before it is seq %llu",
             (unsigned long long)first2, (unsigned long long)a_last);
    snprintf(want[1], sizeof(want[1]),
             "segment header's tenants table is not the tenants' last records before seq %llu: "
             "it leaves out tenant 'b', whose last record before it is seq %llu",
             (unsigned long long)first2, (unsigned long long)b_last);
    snprintf(want[2], sizeof(want[2]),
             "segment header's tenants table is not the tenants' last records before seq %llu: "
             "it has tenant 'ghost' -> seq 0, but the tenant has no record before seq %llu",
             (unsigned long long)first2, (unsigned long long)first2);
    snprintf(want[3], sizeof(want[3]),
             "segment header's tenants table cannot be right: an entry for tenant '' "
             "(provider-only records have none)");
    const struct {
        const char *tenant;
        json_int_t seq;
    } edits[] = {{"a", 1}, {"b", DROP_ENTRY}, {"ghost", 0}, {"", 0}};
    for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
        edit_header_of(e->log, 2, edits[i].tenant, edits[i].seq, NULL);
        expect_tenant_problem(e, want[i], (int64_t)first2);
        dbg_audit_verify_result res;
        assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
        if (strncmp(res.problem, path + strlen(e->log) + 1, 28) != 0)
            fail_msg("case %zu: the segment is not named first: %s", i, res.problem);
        char idx[200];
        snprintf(idx, sizeof(idx), "%s/index.sqlite", e->log);
        unlink(idx);
        restore_file(path, saved, saved_len);
    }
    free(saved);
    expect_header_tables(e, n - 1, 0, -1);

    /* headers from before tenant_prev have no table: said, not failed */
    edit_header_of(e->log, 1, NULL, 0, NULL);
    edit_header_of(e->log, 2, NULL, 0, NULL);
    expect_header_tables(e, n - 3, 2, (int64_t)first1);
}

/* Pruned with no table in the first header, verify cannot know the tenants whose records were
 * all pruned; a later header naming one (as every writer open across the prune writes it) is
 * taken, with a seq below the log's first. Only what the records show is checked. */
static void test_verify_header_table_after_prune(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o); /* c's only record is seq 0 */
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 4);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[0]);
    uint64_t first2 = aud_name_first_seq(names[2]);
    aud_free_names(names, n);
    assert_int_equal(unlink(path), 0);
    expect_header_tables(e, n - 2, 0, -1);
    edit_header_tenants(e->log, 0, NULL, 0); /* the new first: no table */
    expect_header_tables(e, n - 2, 0, -1);
    /* a seq the log holds is not taken on the table's word */
    edit_header_of(e->log, 1, "ghost", (json_int_t)first2 - 1, NULL);
    char want[300];
    snprintf(want, sizeof(want),
             "it has tenant 'ghost' -> seq %llu, but the tenant has no record before seq %llu",
             (unsigned long long)first2 - 1, (unsigned long long)first2);
    expect_tenant_problem(e, want, (int64_t)first2);
}

/* A writer that opens on a last header without a table (an older writer rotated) reads the
 * tenants from the segments left; the first one's header says who a prune took away, and those
 * tenants stay in what the writer signs and writes. Without them its tenant heads and next header
 * table left out a tenant whose records were all pruned, and verify failed the log. */
static void test_reopen_keeps_pruned_tenants(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .segment_max_bytes = 2048};
    tenant_log(e, &o); /* c's only record is seq 0 */
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    assert_true(n >= 3);
    char path[200];
    snprintf(path, sizeof(path), "%s/%s", e->log, names[0]);
    aud_free_names(names, n);
    assert_int_equal(unlink(path), 0); /* the first header (a table, naming c) is now the first */
    edit_header_tenants(e->log, 1, NULL, 0);
    for (int i = 0; i < 12; i++) { /* a rotation or more: a header with the writer's table */
        uint64_t seq;
        append_one(&o, i % 2 ? "a" : "b", &seq);
    }
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    if (!res.ok)
        fail_msg("verify: %s", res.problem);
}

static void test_proofs_export_prune(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log,
                        .key_path = e->key,
                        .checkpoint_every = 10,
                        .durable = 0,
                        .segment_max_bytes = 8 * 1024};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    int64_t t0 = 1700000000000000LL;
    for (int i = 0; i < 200; i++) {
        dbg_audit_record r = sample(i % 3 == 0 ? "tenant-b" : "tenant-a", "vm.start");
        r.time_us = t0 + (int64_t)i * 1000000;
        uint64_t seq;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
        assert_true(seq == (uint64_t)i);
    }
    assert_int_equal(dbg_audit_close(log), 0);

    char *proof = dbg_audit_prove(e->log, 17);
    assert_non_null(proof);
    assert_non_null(strstr(proof, "\"tree_size\": 200"));
    free(proof);
    assert_null(dbg_audit_prove(e->log, 200));
    char *cons = dbg_audit_consistency(e->log, 37, 200);
    assert_non_null(cons);
    free(cons);

    char path[160];
    snprintf(path, sizeof(path), "%s/a.json", e->dir);
    assert_int_equal(dbg_audit_export(e->log, "tenant-a", path), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify_export(path, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.records == 133);
    char *text;
    size_t len;
    assert_int_equal(dbg_read_file(path, 1 << 24, &text, &len), 0);
    assert_null(strstr(text, "tenant-b")); /* nothing of the other tenant */
    free(text);

    char *q = dbg_audit_query(
        e->log, &(dbg_audit_query_opts){.tenant = "tenant-b", .since_us = t0 + 100000000LL});
    assert_non_null(q);
    assert_null(strstr(q, "\"tenant\":\"tenant-a\""));
    assert_non_null(strstr(q, "\"seq\":102,"));
    assert_null(strstr(q, "\"seq\":99,"));
    free(q);

    /* prune what is older than record 120: whole segments only, archived first */
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    uint64_t removed = 0;
    assert_int_equal(dbg_audit_prune(e->log, t0 + 120 * 1000000LL, arch, e->key, &removed), 0);
    assert_true(removed > 0 && removed <= 120);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    if (!res.ok)
        fprintf(stderr, "verify after prune: %s\n", res.problem);
    assert_true(res.ok);
    assert_true(res.pruned == removed);
    assert_true(res.records == 200 - removed);
    /* what stays still proves and appends */
    proof = dbg_audit_prove(e->log, 199);
    assert_non_null(proof);
    free(proof);
    assert_null(dbg_audit_prove(e->log, 0));
    log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("tenant-a", "vm.stop");
    uint64_t seq;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_true(seq == 200);
    assert_int_equal(dbg_audit_close(log), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    /* the first remaining segment's header kept the tenants' last records: seq 200 names 199 */
    assert_tenant_chain(e->log, e->pub);
    char *one = dbg_audit_prove(e->log, 200);
    assert_non_null(one);
    assert_non_null(strstr(one, "\"tenant_prev\": 199"));
    free(one);
}

typedef struct {
    const char *log, *arch, *key;
    int64_t before;
    uint64_t removed;
    int rc;
    atomic_int done;
} prune_job;

static void *prune_worker(void *arg)
{
    prune_job *j = arg;
    j->rc = dbg_audit_prune(j->log, j->before, j->arch, j->key, &j->removed);
    atomic_store(&j->done, 1);
    return NULL;
}

/* 1 when /proc/locks lists an exclusive flock request of this process that waits (a "->" line),
 * 0 when not, -1 when there is no /proc/locks to read. */
static int own_flock_ex_waits(void)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return -1;
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        const char *arrow = strstr(line, "->");
        long pid = 0;
        if (arrow && sscanf(arrow + 2, " FLOCK ADVISORY WRITE %ld", &pid) == 1 &&
            pid == (long)getpid())
            found = 1;
    }
    fclose(f);
    return found;
}

/* Segment files in the log, and (first not NULL) the log's first seq. */
static int list_log(const char *log, uint64_t *first)
{
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(log, &names, &n), 0);
    if (first) {
        assert_true(n > 0);
        *first = aud_name_first_seq(names[0]);
    }
    aud_free_names(names, n);
    return (int)n;
}

static int count_segments(const char *log)
{
    return list_log(log, NULL);
}

/* Options of a log in small segments (8 KB: 200 records make about 10). */
static dbg_audit_opts small_segments(const env *e, uint64_t seg_bytes)
{
    dbg_audit_opts o = {.dir = e->log,
                        .key_path = e->key,
                        .checkpoint_every = 10,
                        .durable = 0,
                        .segment_max_bytes = seg_bytes};
    return o;
}

/* A log of 200 records, one a second from t0. */
static void write_log(const env *e, int64_t t0, uint64_t seg_bytes)
{
    dbg_audit_opts o = small_segments(e, seg_bytes);
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    for (int i = 0; i < 200; i++) {
        dbg_audit_record r = sample("tenant-a", "vm.start");
        r.time_us = t0 + (int64_t)i * 1000000;
        uint64_t seq;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    }
    assert_int_equal(dbg_audit_close(log), 0);
}

/* Prune deletes segments, so it holds the lock writers flush under, exclusively, for the whole
 * prune: while a reader holds it shared (as verify does while it reads head.json and lists the
 * segments) prune waits rather than delete a segment the reader has listed. /proc/locks shows
 * the prune's request waiting, so nothing here depends on timing. A process that has the log open
 * for writing can prune it, and append after. */
static void test_prune_waits_for_readers(void **state)
{
    env *e = *state;
    int64_t t0 = 1700000000000000LL;
    write_log(e, t0, 8 * 1024);
    int n_before = count_segments(e->log);
    assert_true(n_before > 3);

    char lockp[160], arch[160];
    snprintf(lockp, sizeof(lockp), "%s/lock", e->log);
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    int lfd = open(lockp, O_RDONLY | O_CLOEXEC);
    assert_true(lfd >= 0);
    assert_int_equal(flock(lfd, LOCK_SH), 0); /* what verify holds while it lists the segments */
    if (own_flock_ex_waits() < 0) {
        close(lfd);
        skip();
    }
    prune_job job = {.log = e->log, .arch = arch, .key = e->key, .before = t0 + 120 * 1000000LL};
    atomic_init(&job.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, prune_worker, &job), 0);
    /* either the prune's request shows up waiting or the prune ends without having waited */
    int waits = 0;
    while (!atomic_load(&job.done) && !(waits = own_flock_ex_waits() == 1))
        sched_yield();
    if (!waits) {
        close(lfd);
        assert_int_equal(pthread_join(th, NULL), 0);
        fail_msg("prune ran without waiting for a reader's shared lock (removed %llu records, "
                 "%d of %d segments left under the reader)",
                 (unsigned long long)job.removed, count_segments(e->log), n_before);
    }
    assert_false(atomic_load(&job.done));
    assert_int_equal(count_segments(e->log), n_before); /* nothing deleted under the reader */
    close(lfd);                                         /* releases the shared lock */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(job.rc, 0);
    assert_true(job.removed > 0 && job.removed <= 120);
    assert_true(count_segments(e->log) < n_before);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.pruned == job.removed);

    /* the log open for writing in this process: prune takes the lock the writer takes only inside
     * a flush, so neither waits for the other for ever; the writer goes on after the prune */
    dbg_audit_opts o = small_segments(e, 8 * 1024);
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("tenant-a", "vm.stop");
    r.time_us = t0 + 300 * 1000000LL;
    uint64_t seq;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_true(seq == 200);
    uint64_t removed = 0;
    assert_int_equal(dbg_audit_prune(e->log, t0 + 180 * 1000000LL, arch, e->key, &removed), 0);
    assert_true(removed > 0);
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_true(seq == 201);
    assert_int_equal(dbg_audit_close(log), 0);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.pruned == job.removed + removed);
    assert_true(res.records == 202 - res.pruned);
}

static void index_sql(const char *log, const char *sql)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/index.sqlite", log);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* Descriptors this process has open (-1 when /proc cannot tell). */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A verify whose shared lock ends with the listing, and a prune that takes the lock right after
 * it and is faster than the verify: the verify reads the state it listed (it holds the segments
 * open), whatever the prune deletes after. Driven in the walk's two steps, so no timing. */
static void test_verify_listed_before_prune(void **state)
{
    env *e = *state;
    int64_t t0 = 1700000000000000LL;
    write_log(e, t0, 8 * 1024);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    int n_before = count_segments(e->log);
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);

    int fds_before = open_fds();
    aud_walk_out o;
    aud_walk_listing ls;
    dbg_audit_verify_result res;
    assert_int_equal(aud_walk_list(e->log, e->pub, 1, &res, &o, &ls), 0);
    uint64_t removed = 0;
    assert_int_equal(dbg_audit_prune(e->log, t0 + 120 * 1000000LL, arch, e->key, &removed), 0);
    assert_true(removed > 0);
    assert_true(count_segments(e->log) < n_before); /* listed segments are gone by name */
    int r = aud_walk_listed(e->log, &ls, &res, &o);
    if (r < 0)
        fail_msg("walk of the listed state after a prune: %s", dbg_err_msg());
    if (!res.ok)
        fail_msg("walk of the listed state after a prune: %s", res.problem);
    assert_true(res.pruned == 0 && res.records == 200); /* the state listed, all of it */
    assert_int_equal(aud_index_check(e->log, &o, &res), 0);
    if (!res.ok)
        fail_msg("index check after a prune: %s", res.problem);
    aud_walk_listing_free(&ls);
    aud_walk_out_free(&o);
    assert_int_equal(open_fds(), fds_before); /* every segment opened is closed */
}

/* The index check of a walk made before a prune, run after it (the prune dropped the rows of the
 * records it removed): rows missing only below the log's first seq now were pruned meanwhile, not
 * removed from the index; a row missing for a record the log still holds is reported. */
static void test_index_check_after_prune(void **state)
{
    env *e = *state;
    int64_t t0 = 1700000000000000LL;
    write_log(e, t0, 8 * 1024);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    char arch[160];
    snprintf(arch, sizeof(arch), "%s/archive", e->dir);
    aud_walk_out o;
    dbg_audit_verify_result res;
    assert_int_equal(aud_walk(e->log, e->pub, &res, &o), 0);
    assert_true(res.ok && res.records == 200);
    /* the check runs in two halves, [0, 100) and [100, ...): a prune inside the first half, then
     * one past it */
    static const int64_t before[] = {40, 120};
    for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++) {
        uint64_t removed = 0;
        assert_int_equal(
            dbg_audit_prune(e->log, t0 + before[i] * 1000000LL, arch, e->key, &removed), 0);
        assert_true(removed > 0);
        dbg_audit_verify_result ires = res;
        assert_int_equal(aud_index_check(e->log, &o, &ires), 0);
        if (!ires.ok)
            fail_msg("index check after prune %zu: %s", i, ires.problem);
    }
    uint64_t first = 0;
    list_log(e->log, &first);
    assert_true(first > 100 && first + 5 < 200);
    /* rows taken out of the index for records still in the log, the first one and one further
     * on: reported, at their seq */
    const uint64_t gone[] = {first, 190};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        uint64_t seq = gone[i];
        char sql[80];
        snprintf(sql, sizeof(sql), "DELETE FROM records WHERE seq = %llu", (unsigned long long)seq);
        index_sql(e->log, sql);
        dbg_audit_verify_result ires = res;
        assert_int_equal(aud_index_check(e->log, &o, &ires), 0);
        assert_false(ires.ok);
        assert_int_equal(ires.first_bad_seq, (int64_t)seq);
        assert_non_null(strstr(ires.problem, "rows missing"));
        assert_int_equal(dbg_audit_reindex(e->log), 0);
    }
    aud_walk_out_free(&o);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
}

/* A log of 200 records in 8 KB segments, indexed; a walk that lists it, then 30 records appended
 * through the writer (they fill the last segment and start another) and indexed, as a query
 * between a verify's listing and its index check would; then the walk of what it listed. Driven
 * in the walk's two steps, so no timing. */
static void walk_listed_before_appends(const env *e, aud_walk_out *o, dbg_audit_verify_result *res)
{
    int64_t t0 = 1700000000000000LL;
    write_log(e, t0, 8 * 1024);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    int n_before = count_segments(e->log);
    aud_walk_listing ls;
    assert_int_equal(aud_walk_list(e->log, e->pub, 1, res, o, &ls), 0);
    dbg_audit_opts opts = small_segments(e, 8 * 1024);
    dbg_audit_log *log = dbg_audit_open(&opts);
    assert_non_null(log);
    for (uint64_t i = 200; i < 230; i++) {
        dbg_audit_record r = sample("tenant-a", "vm.stop");
        r.time_us = t0 + (int64_t)i * 1000000;
        uint64_t seq = 0;
        assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
        assert_int_equal(seq, i);
    }
    assert_int_equal(dbg_audit_close(log), 0);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    assert_true(count_segments(e->log) > n_before);
    assert_int_equal(aud_walk_listed(e->log, &ls, res, o), 0);
    aud_walk_listing_free(&ls);
    if (!res->ok)
        fail_msg("walk of the state listed before appends: %s", res->problem);
    assert_true(res->pruned == 0 && res->records == 200); /* the state listed */
}

/* The index check of that walk: the rows past what it listed are for records the log holds now,
 * not rows for records it does not hold. */
static void test_index_check_after_appends(void **state)
{
    env *e = *state;
    aud_walk_out o;
    dbg_audit_verify_result res;
    walk_listed_before_appends(e, &o, &res);
    assert_int_equal(aud_index_check(e->log, &o, &res), 0);
    if (!res.ok)
        fail_msg("index check after appends: %s", res.problem);
    aud_walk_out_free(&o);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok && res.records == 230);
}

/* The same walk, and the index given a row for a record the log does not hold even now, right
 * after its last one or further on: reported, at the log's end, not at the first row the walk did
 * not list. */
static void test_index_row_past_log_end(void **state)
{
    env *e = *state;
    aud_walk_out o;
    dbg_audit_verify_result res;
    walk_listed_before_appends(e, &o, &res);
    /* a copy of the last row at seq 230 (the log's end), then one at 240 with a gap before it */
    static const struct {
        int64_t at;
        const char *why;
    } forged[] = {{230, "a record the log does not hold"}, {240, "rows missing"}};
    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        char sql[400];
        snprintf(sql, sizeof(sql),
                 "INSERT INTO records SELECT %lld, time_us, actor, role, tenant, action, "
                 "target_type, target_name, target_uuid, outcome, source, leaf, segment, off, len "
                 "FROM records WHERE seq = 229",
                 (long long)forged[i].at);
        index_sql(e->log, sql);
        dbg_audit_verify_result ires = res;
        assert_int_equal(aud_index_check(e->log, &o, &ires), 0);
        assert_false(ires.ok);
        if (ires.first_bad_seq != 230 || !strstr(ires.problem, forged[i].why))
            fail_msg("forged row at %lld: %s", (long long)forged[i].at, ires.problem);
        assert_int_equal(dbg_audit_reindex(e->log), 0);
    }
    aud_walk_out_free(&o);
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok && res.records == 230);
}

/* More segments than the process may open files: the walk holds as many open as it can, gives
 * some back and maps the rest by name, and the log verifies (index included). In a child that
 * keeps only stdin, stdout and stderr and may open 30 more files. */
static void test_verify_at_fd_limit(void **state)
{
    env *e = *state;
    write_log(e, 1700000000000000LL, 1024);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    int n_segs = count_segments(e->log);
    assert_true(n_segs > 40);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(3);
        for (int fd = 3; fd < (int)rl.rlim_cur && fd < 65536; fd++)
            close(fd);
        rl.rlim_cur = 3 + 30;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            _exit(3);
        dbg_audit_verify_result res;
        int r = dbg_audit_verify(e->log, e->pub, &res);
        if (r < 0 || !res.ok)
            fprintf(stderr, "verify at the descriptor limit: %s\n",
                    r < 0 ? dbg_err_msg() : res.problem);
        _exit(r < 0 ? 2 : !res.ok);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct {
    const char *log, *pub;
    dbg_audit_verify_result res;
    int rc;
    atomic_int done;
} verify_job;

static void *verify_worker(void *arg)
{
    verify_job *j = arg;
    j->rc = dbg_audit_verify(j->log, j->pub, &j->res);
    atomic_store(&j->done, 1);
    return NULL;
}

static void test_interval_checkpoint_and_status(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log,
                        .key_path = e->key,
                        .checkpoint_every = 1000000,
                        .checkpoint_interval_us = 100000,
                        .durable = 1};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("t1", "vm.start");
    uint64_t seq;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    usleep(400000); /* the timer seals it without another append or close */
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.unsealed == 0);
    assert_true(res.head_size == 1);
    /* a flush in progress (half a frame at the end, under the lock a writer holds while it writes):
     * verify waits for the flush to end rather than read a state the writer has not finished
     * (test_audit_crash covers a torn tail without a writer) */
    char **names;
    size_t n;
    assert_int_equal(aud_list_segments(e->log, &names, &n), 0);
    char seg[256];
    snprintf(seg, sizeof(seg), "%s/%s", e->log, names[n - 1]);
    aud_free_names(names, n);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    char lockp[256];
    snprintf(lockp, sizeof(lockp), "%s/lock", e->log);
    int lfd = open(lockp, O_RDWR);
    assert_true(lfd >= 0);
    assert_int_equal(flock(lfd, LOCK_EX), 0); /* what a writer holds while it writes */
    FILE *f = fopen(seg, "ab");
    assert_non_null(f);
    fwrite("R\001\000\000\377\000\000\000", 1, 8, f);
    fclose(f);
    verify_job job = {.log = e->log, .pub = e->pub};
    atomic_init(&job.done, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, verify_worker, &job), 0);
    usleep(300000);
    assert_false(atomic_load(&job.done));
    assert_int_equal(truncate(seg, st.st_size), 0); /* the flush ends on a whole frame */
    close(lfd);                                     /* releases the lock */
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(job.rc, 0);
    assert_true(job.res.ok);
    assert_int_equal(dbg_audit_write_status(log, e->dir), 0);
    char path[160], *text;
    size_t len;
    snprintf(path, sizeof(path), "%s/run/dengbao/status/audit_log.json", e->dir);
    assert_int_equal(dbg_read_file(path, 1 << 20, &text, &len), 0);
    json_t *st_json = json_loadb(text, len, 0, NULL);
    free(text);
    assert_non_null(st_json);
    assert_string_equal(json_string_value(json_object_get(st_json, "name")), "audit_log");
    assert_non_null(json_string_value(json_object_get(st_json, "updated")));
    assert_true(json_is_integer(json_object_get(st_json, "checkpoint_size")));
    json_decref(st_json);
    assert_int_equal(dbg_audit_close(log), 0);

    /* no key: refused */
    dbg_audit_opts nokey = {.dir = e->log};
    assert_null(dbg_audit_open(&nokey));
    assert_non_null(strstr(dbg_err_msg(), "signing key is required"));
}

/* One call with more records than one write may hold: written in synced pieces, all verify. */
static void test_big_batch(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .durable = 1};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    enum { N = 30000 };
    dbg_audit_record *recs = calloc(N, sizeof(*recs));
    for (int i = 0; i < N; i++)
        recs[i] = sample("t1", "vm.start");
    uint64_t first = 99;
    assert_int_equal(dbg_audit_append_batch(log, recs, N, &first), 0);
    assert_true(first == 0);
    free(recs);
    assert_int_equal(dbg_audit_close(log), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    assert_true(res.records == N);
    assert_true(res.bytes > AUD_MAX_BATCH_BYTES / 2);
}

/* Verify checks the index in two halves at once (seq 5000 is where the second begins here): a
 * problem in either half, and a gap right before the second, is reported at its seq, the first
 * in log order wins, and an index that merely lags behind the log is fine. */
static void test_index_check_halves(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    enum { N = 10000 };
    dbg_audit_record *recs = calloc(N, sizeof(*recs));
    for (int i = 0; i < N; i++)
        recs[i] = sample(i % 2 ? "t1" : "t2", "vm.start");
    uint64_t first = 0;
    assert_int_equal(dbg_audit_append_batch(log, recs, N, &first), 0);
    free(recs);
    assert_int_equal(dbg_audit_close(log), 0);
    assert_int_equal(dbg_audit_index_sync(e->log), 0);
    dbg_audit_verify_result res;
    assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
    assert_true(res.ok);
    static const struct {
        const char *sql, *why;
        int64_t seq; /* -1: verify passes */
    } cases[] = {
        {"DELETE FROM records WHERE seq = 7000", "rows missing", 7000},
        {"DELETE FROM records WHERE seq = 4999", "rows missing", 4999},
        {"DELETE FROM records WHERE seq = 5000", "rows missing", 5000},
        {"UPDATE records SET tenant = 't9' WHERE seq = 8000", "searchable field", 8000},
        {"UPDATE records SET tenant = 't9' WHERE seq = 8000; DELETE FROM records WHERE seq = 100",
         "rows missing", 100},
        {"UPDATE records SET leaf = zeroblob(32) WHERE seq = 2", "leaf hash", 2},
        {"DELETE FROM records WHERE seq >= 9900", NULL, -1},
        {"DELETE FROM records WHERE seq >= 3000", NULL, -1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        index_sql(e->log, cases[i].sql);
        assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
        if (cases[i].seq < 0) {
            assert_true(res.ok);
        } else {
            assert_false(res.ok);
            assert_int_equal(res.first_bad_seq, cases[i].seq);
            assert_non_null(strstr(res.problem, cases[i].why));
        }
        assert_int_equal(dbg_audit_reindex(e->log), 0);
        assert_int_equal(dbg_audit_verify(e->log, e->pub, &res), 0);
        assert_true(res.ok);
    }
}

/* dbg_audit_public_key (GET /api/v1/audit/pubkey): the public key as PEM with the key_id the
 * signed heads name; a private key left in log.pub (the loader accepts one) never goes out. */
static void test_public_key(void **state)
{
    env *e = *state;
    dbg_audit_opts o = {.dir = e->log, .key_path = e->key, .durable = 0};
    dbg_audit_log *log = dbg_audit_open(&o);
    assert_non_null(log);
    dbg_audit_record r = sample("tenant-a", "vm.start");
    uint64_t seq;
    assert_int_equal(dbg_audit_append(log, &r, &seq), 0);
    assert_int_equal(dbg_audit_close(log), 0);

    char kid[65], kid2[65];
    char *pem = dbg_audit_public_key(e->log, kid);
    assert_non_null(pem);
    assert_non_null(strstr(pem, "-----BEGIN PUBLIC KEY-----"));
    assert_null(strstr(pem, "PRIVATE"));
    EVP_PKEY *k = aud_key_load_public(e->pub);
    assert_non_null(k);
    assert_int_equal(aud_key_id(k, kid2), 0);
    EVP_PKEY_free(k);
    assert_string_equal(kid, kid2);

    char pubpath[160], cmd[400];
    snprintf(pubpath, sizeof(pubpath), "%s/log.pub", e->log);
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", e->key, pubpath);
    assert_int_equal(system(cmd), 0);
    char *pem2 = dbg_audit_public_key(e->log, kid2);
    assert_non_null(pem2);
    assert_null(strstr(pem2, "PRIVATE"));
    assert_string_equal(pem, pem2);
    assert_string_equal(kid, kid2);
    free(pem);
    free(pem2);

    assert_int_equal(unlink(pubpath), 0);
    assert_null(dbg_audit_public_key(e->log, kid2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_form),
        cmocka_unit_test(test_fields_match),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_details_fast_path_matches),
        cmocka_unit_test_setup_teardown(test_time_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant_chain_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_tenant_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_tenant_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_header_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_says_head_file_below_pruned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_fails_impossible_first_header_tenants, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_export_prune_refuse_impossible_header_tenants, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_verify_checks_every_header_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_header_table_after_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_pruned_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_counts_unlinked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_counts_unchecked_heads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_keeps_tenant_heads_provable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proofs_export_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prune_waits_for_readers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_listed_before_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_check_after_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_check_after_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_row_past_log_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_at_fd_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interval_checkpoint_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_big_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_index_check_halves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_public_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
