/* Audit-log benchmark (built by bench/audit.sh, not by meson): durable appends per second with
 * 1, 4 and 16 concurrent writers (one record per call, and with the batch API), non-durable
 * appends, verify throughput, and in the same run SQLite WAL synchronous=FULL inserts of the same
 * records as the baseline a user would otherwise reach for. */
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dengbao/audit.h"
#include "dengbao/util.h"

static const char *g_key;
static const char *g_base;
static double g_seconds = 1.0;

typedef struct {
    dbg_audit_log *log;
    int batch;
    int64_t deadline_us;
    uint64_t done;
    int failed;
} worker;

static dbg_audit_record sample(void)
{
    dbg_audit_record r = {.actor = "CN=ops1,O=provider",
                          .role = "provider-admin",
                          .tenant = "tenant-0042",
                          .action = "vm.reboot.outcome",
                          .target_type = "domain",
                          .target_name = "web-01",
                          .target_uuid = "6f1f9a1c-33b1-4bb2-9f5e-0d7f1a2b3c4d",
                          .outcome = "success",
                          .source = "192.0.2.15",
                          .details_json = "{\"approved_by\":\"ops2\",\"request\":\"r-1234\"}"};
    return r;
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    dbg_audit_record recs[1024];
    for (int i = 0; i < w->batch; i++)
        recs[i] = sample();
    while (dbg_monotonic_us() < w->deadline_us) {
        uint64_t first;
        if (dbg_audit_append_batch(w->log, recs, (size_t)w->batch, &first) < 0) {
            w->failed = 1;
            break;
        }
        w->done += (uint64_t)w->batch;
    }
    return NULL;
}

static double run_appends(const char *name, int threads, int batch, int durable, char *dir_out,
                          size_t dsz)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/%s", g_base, name);
    snprintf(dir_out, dsz, "%s", dir);
    dbg_audit_opts o = {.dir = dir, .key_path = g_key, .durable = durable};
    dbg_audit_log *log = dbg_audit_open(&o);
    if (!log) {
        fprintf(stderr, "open: %s\n", dbg_err_msg());
        exit(3);
    }
    worker w[64];
    pthread_t th[64];
    int64_t t0 = dbg_monotonic_us();
    for (int i = 0; i < threads; i++) {
        w[i] = (worker){.log = log, .batch = batch, .deadline_us = t0 + (int64_t)(g_seconds * 1e6)};
        pthread_create(&th[i], NULL, run_worker, &w[i]);
    }
    uint64_t total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        total += w[i].done;
        if (w[i].failed) {
            fprintf(stderr, "append failed: %s\n", dbg_err_msg());
            exit(3);
        }
    }
    int64_t t1 = dbg_monotonic_us();
    if (dbg_audit_close(log) < 0) {
        fprintf(stderr, "close: %s\n", dbg_err_msg());
        exit(3);
    }
    double rate = (double)total / ((double)(t1 - t0) / 1e6);
    printf("%-44s %2d writer(s) batch %4d %s: %9.0f records/s (%llu records)\n", name, threads,
           batch, durable ? "durable    " : "non-durable", rate, (unsigned long long)total);
    fflush(stdout);
    return rate;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* Peer in the same run: one core hashing the same bytes with OpenSSL's SHA-256 in one pass. */
static void bench_sha_peer(const char *dir)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "cat %s/seg-*.log", dir);
    FILE *p = popen(cmd, "r");
    dbg_buf b;
    dbg_buf_init(&b, 0);
    char chunk[1 << 16];
    size_t n;
    while (p && (n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        dbg_buf_add(&b, chunk, n);
    if (p)
        pclose(p);
    unsigned char md[32];
    int64_t t0 = dbg_monotonic_us();
    EVP_Digest(b.data, b.len, md, NULL, EVP_sha256(), NULL);
    double s = (double)(dbg_monotonic_us() - t0) / 1e6;
    printf("%-44s %.1f MB in %.3f s: %.2f GB/s\n", "peer: SHA-256 one pass, one core",
           (double)b.len / 1e6, s, (double)b.len / s / 1e9);
    dbg_buf_free(&b);
}

static void bench_verify(const char *dir)
{
    dbg_audit_verify_result r;
    for (int round = 0; round < 2; round++) { /* the first round also warms the page cache */
        double c0 = cpu_seconds();
        int64_t t0 = dbg_monotonic_us();
        if (dbg_audit_verify(dir, NULL, &r) < 0 || !r.ok) {
            fprintf(stderr, "verify failed: %s %s\n", dbg_err_msg(), r.problem);
            exit(3);
        }
        double s = (double)(dbg_monotonic_us() - t0) / 1e6, cpu = cpu_seconds() - c0;
        printf("%-44s %llu records, %.1f MB in %.3f s: %.2f GB/s wall (%.2f GB per CPU-second), "
               "%.0f records/s\n",
               round ? "verify (whole log, warm)" : "verify (whole log, first)",
               (unsigned long long)r.records, (double)r.bytes / 1e6, s, (double)r.bytes / s / 1e9,
               (double)r.bytes / cpu / 1e9, (double)r.records / s);
    }
    bench_sha_peer(dir);
}

static void bench_sqlite(int per_commit)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sqlite-%d.db", g_base, per_commit);
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        exit(3);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE records(seq INTEGER PRIMARY KEY, time_us INTEGER, actor TEXT, role "
                 "TEXT, tenant TEXT,"
                 " action TEXT, target_type TEXT, target_name TEXT, target_uuid TEXT, outcome "
                 "TEXT, source TEXT,"
                 " details TEXT)",
                 NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO records VALUES(NULL,?,?,?,?,?,?,?,?,?,?,?)", -1, &st, NULL);
    dbg_audit_record r = sample();
    int64_t t0 = dbg_monotonic_us(), deadline = t0 + (int64_t)(g_seconds * 1e6);
    uint64_t n = 0;
    while (dbg_monotonic_us() < deadline) {
        sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
        for (int i = 0; i < per_commit; i++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, dbg_now_us());
            const char *v[] = {r.actor,       r.role,        r.tenant,  r.action, r.target_type,
                               r.target_name, r.target_uuid, r.outcome, r.source, r.details_json};
            for (int k = 0; k < 10; k++)
                sqlite3_bind_text(st, 2 + k, v[k], -1, SQLITE_STATIC);
            if (sqlite3_step(st) != SQLITE_DONE) {
                fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
                exit(3);
            }
        }
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        n += (uint64_t)per_commit;
    }
    double s = (double)(dbg_monotonic_us() - t0) / 1e6;
    printf("%-44s  1 writer    batch %4d durable    : %9.0f records/s (%llu records)\n",
           "baseline: SQLite WAL synchronous=FULL", per_commit, (double)n / s,
           (unsigned long long)n);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A log of exactly n records (non-durable appends, 256 per call) for verify runs of a fixed size.
 */
static int make_log(const char *dir, const char *key, uint64_t n)
{
    dbg_audit_opts o = {.dir = dir, .key_path = key, .durable = 0};
    dbg_audit_log *log = dbg_audit_open(&o);
    if (!log) {
        fprintf(stderr, "open: %s\n", dbg_err_msg());
        return 3;
    }
    dbg_audit_record recs[256];
    for (int i = 0; i < 256; i++)
        recs[i] = sample();
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < 256 ? (size_t)(n - done) : 256;
        uint64_t first;
        if (dbg_audit_append_batch(log, recs, k, &first) < 0) {
            fprintf(stderr, "append: %s\n", dbg_err_msg());
            return 3;
        }
        done += k;
    }
    if (dbg_audit_close(log) < 0) {
        fprintf(stderr, "close: %s\n", dbg_err_msg());
        return 3;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--make-log") == 0)
        return make_log(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    if (argc < 3) {
        fprintf(stderr, "usage: %s WORKDIR KEY [SECONDS]\n", argv[0]);
        return 2;
    }
    g_base = argv[1];
    g_key = argv[2];
    if (argc > 3)
        g_seconds = strtod(argv[3], NULL);
    char dir[512], biggest[512] = "";
    double best = 0;
    static const int threads[] = {1, 4, 16};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "durable-single-%d", threads[i]);
        run_appends(name, threads[i], 1, 1, dir, sizeof(dir));
    }
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof(name), "durable-batch256-%d", threads[i]);
        double r = run_appends(name, threads[i], 256, 1, dir, sizeof(dir));
        if (r > best) {
            best = r;
            snprintf(biggest, sizeof(biggest), "%s", dir);
        }
    }
    run_appends("nondurable-single-1", 1, 1, 0, dir, sizeof(dir));
    run_appends("nondurable-batch256-1", 1, 256, 0, dir, sizeof(dir));
    bench_sqlite(1);
    bench_sqlite(256);
    bench_verify(biggest);
    return 0;
}
