/* Fans alerts out to sinks and folds repeats: within a window, further alerts with the same
 * (type, source) become one summary alert with a count, so a flood of identical alerts does
 * not flood the SIEM. Time comes from the alerts themselves, so offline pcap runs fold by
 * packet time, not wall-clock time. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_internal.h"
#include "dengbao/util.h"

#define ALERTER_BUCKETS 1024
#define ALERTER_MAX_KEYS 65536

typedef struct pending {
    struct pending *next;
    char key[256];
    int64_t window_start;
    uint64_t folded;    /* alerts folded since the last written one */
    dbg_alert summary;  /* accumulates the folded alerts */
    char *evidence;     /* owned copies for summary */
    char *extra_json;
} pending;

struct dbg_alerter {
    pthread_mutex_t lock;
    int64_t window_us;
    dbg_alert_sink **sinks;
    size_t n_sinks;
    pending *buckets[ALERTER_BUCKETS];
    size_t n_keys;
    uint64_t emitted;
};

dbg_alerter *dbg_alerter_new(int64_t window_us)
{
    dbg_alerter *al = dbg_calloc(1, sizeof(*al));
    if (!al)
        return NULL;
    pthread_mutex_init(&al->lock, NULL);
    al->window_us = window_us;
    return al;
}

void dbg_alerter_add_sink(dbg_alerter *al, dbg_alert_sink *sink)
{
    if (!sink)
        return;
    dbg_alert_sink **n = dbg_reallocarray(al->sinks, al->n_sinks + 1, sizeof(*n));
    if (!n) {
        dbg_alert_sink_free(sink);
        return;
    }
    al->sinks = n;
    al->sinks[al->n_sinks++] = sink;
}

static int write_all(dbg_alerter *al, const dbg_alert *a)
{
    int r = 0;
    for (size_t i = 0; i < al->n_sinks; i++)
        if (dbg_alert_sink_write(al->sinks[i], a) < 0)
            r = -1;
    al->emitted++;
    return r;
}

static unsigned key_hash(const char *k)
{
    unsigned h = 5381;
    while (*k)
        h = h * 33 ^ (unsigned char)*k++;
    return h % ALERTER_BUCKETS;
}

static int64_t alert_time(const dbg_alert *a)
{
    return a->last_us ? a->last_us : a->time_us;
}

/* Writes the summary of folded alerts (if any) and resets the entry. */
static int flush_entry(dbg_alerter *al, pending *p)
{
    int r = 0;
    if (p->folded) {
        p->summary.count = p->folded;
        p->summary.evidence = p->evidence;
        p->summary.extra_json = p->extra_json;
        r = write_all(al, &p->summary);
    }
    p->folded = 0;
    free(p->evidence);
    free(p->extra_json);
    p->evidence = p->extra_json = NULL;
    return r;
}

static int flush_where(dbg_alerter *al, int64_t now, int all)
{
    int r = 0;
    for (size_t b = 0; b < ALERTER_BUCKETS; b++) {
        pending **pp = &al->buckets[b];
        while (*pp) {
            pending *p = *pp;
            if (all || now - p->window_start >= al->window_us) {
                if (flush_entry(al, p) < 0)
                    r = -1;
                *pp = p->next;
                free(p);
                al->n_keys--;
            } else {
                pp = &p->next;
            }
        }
    }
    return r;
}

static void fold(pending *p, const dbg_alert *a)
{
    if (p->folded == 0) {
        p->summary = *a;
        p->summary.first_us = a->first_us ? a->first_us : a->time_us;
        p->evidence = dbg_strdup(a->evidence);
        p->extra_json = dbg_strdup(a->extra_json);
    } else {
        p->summary.packets += a->packets;
        p->summary.bytes += a->bytes;
        p->summary.time_us = a->time_us;
        if (a->severity < p->summary.severity)
            p->summary.severity = a->severity;
    }
    p->summary.last_us = alert_time(a);
    p->folded += a->count ? a->count : 1;
}

int dbg_alerter_emit(dbg_alerter *al, const dbg_alert *a)
{
    int r;
    pthread_mutex_lock(&al->lock);
    if (al->window_us <= 0) {
        r = write_all(al, a) < 0 ? -1 : 1;
        goto out;
    }
    char key[256];
    snprintf(key, sizeof(key), "%s|%s|%s|%s", a->type, a->src.ip, a->src.mac, a->src.vm_name);
    unsigned h = key_hash(key);
    pending *p = al->buckets[h];
    while (p && strcmp(p->key, key))
        p = p->next;
    int64_t t = alert_time(a);
    if (p && t - p->window_start < al->window_us) {
        fold(p, a);
        r = 0;
        goto out;
    }
    if (p) {
        /* Window over: the folded summary goes out before the new alert opens a new window. */
        if (flush_entry(al, p) < 0) {
            r = -1;
            goto out;
        }
    } else {
        if (al->n_keys >= ALERTER_MAX_KEYS)
            flush_where(al, 0, 1);
        p = dbg_calloc(1, sizeof(*p));
        if (!p) {
            r = -1;
            goto out;
        }
        snprintf(p->key, sizeof(p->key), "%s", key);
        p->next = al->buckets[h];
        al->buckets[h] = p;
        al->n_keys++;
    }
    p->window_start = t;
    r = write_all(al, a) < 0 ? -1 : 1;
out:
    pthread_mutex_unlock(&al->lock);
    return r;
}

int dbg_alerter_flush_at(dbg_alerter *al, int64_t now_us)
{
    pthread_mutex_lock(&al->lock);
    int r = flush_where(al, now_us, 0);
    pthread_mutex_unlock(&al->lock);
    return r;
}

int dbg_alerter_flush(dbg_alerter *al) { return dbg_alerter_flush_at(al, dbg_now_us()); }

uint64_t dbg_alerter_emitted(const dbg_alerter *al) { return al->emitted; }

int dbg_alerter_add_sinks(dbg_alerter *al, const char *eve_path, const char *syslog_target)
{
    dbg_alert_sink *eve = NULL, *sys = NULL;
    if ((eve_path && !(eve = dbg_alert_sink_eve(eve_path))) ||
        (syslog_target && !(sys = dbg_alert_sink_syslog(syslog_target, NULL)))) {
        dbg_alert_sink_free(eve);
        return -1;
    }
    if (eve)
        dbg_alerter_add_sink(al, eve);
    if (sys)
        dbg_alerter_add_sink(al, sys);
    return 0;
}

void dbg_alerter_free(dbg_alerter *al)
{
    if (!al)
        return;
    pthread_mutex_lock(&al->lock);
    flush_where(al, 0, 1);
    pthread_mutex_unlock(&al->lock);
    for (size_t i = 0; i < al->n_sinks; i++)
        dbg_alert_sink_free(al->sinks[i]);
    free(al->sinks);
    pthread_mutex_destroy(&al->lock);
    free(al);
}
