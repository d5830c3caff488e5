/* The assess pipeline behind `dengbao assess`: inputs are loaded and validated first (a bad
 * attestation or waiver file stops the run before the platform is touched), then the
 * platform is collected or the snapshot read, then the engine runs. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "dengbao/assess.h"
#include "dengbao/grade.h"
#include "dengbao/util.h"

/* A live assessment says on stderr, once, what the collection could not see (`dengbao collect`
 * warns per file): the items resting on it are 未检查, and the user should know why before
 * reading the report (another host's files, missing rights, a driver without networks). */
static void warn_unseen(const dbg_snapshot *s)
{
    size_t files = 0, controls = 0;
    const char *path = NULL, *why = NULL;
    for (size_t i = 0; i < s->n_host_files; i++)
        if (s->host_files[i].error && files++ == 0) {
            path = s->host_files[i].path;
            why = s->host_files[i].error;
        }
    for (size_t i = 0; i < s->n_controls; i++)
        if (s->controls[i].unknown && controls++ == 0 && !path) {
            path = s->controls[i].name;
            why = s->controls[i].detail;
        }
    if (files || controls)
        dbg_warn("assess: %zu host file(s) and %zu control status(es) could not be read (%s: %s); "
                 "the items resting on them are 未检查, their evidence says why",
                 files, controls, path ? path : "?", why ? why : "?");
    if (s->networks_error)
        dbg_warn("assess: networks not listed: %s", s->networks_error);
    if (s->pools_error)
        dbg_warn("assess: storage pools not listed: %s", s->pools_error);
}

json_t *dbg_assess(const dbg_assess_opts *o)
{
    json_t *result = NULL, *old = NULL;
    dbg_catalog *cat = NULL;
    dbg_score_model *model = NULL;
    dbg_snapshot *snap = NULL;
    const dbg_item **items = NULL;
    dbg_assess_inputs in = {0};

    dbg_catalog_opts copts = {.check_exists = dbg_check_exists, .unknown_check_is_error = 1};
    if (!(cat = dbg_catalog_load(o->catalog_path, &copts)))
        goto out;
    size_t n = 0, total = dbg_catalog_count(cat);
    items = dbg_calloc(total ? total : 1, sizeof(*items));
    if (!items)
        goto out;
    for (size_t i = 0; i < total; i++)
        if (dbg_catalog_item(cat, i)->level == o->level)
            items[n++] = dbg_catalog_item(cat, i);
    if (n == 0) {
        /* named: a catalog given with --catalog may hold other levels only */
        dbg_err_set(DBG_ERR_INVALID, "%s: the catalog has no items at level %d (%zu at others)",
                    o->catalog_path ? o->catalog_path : "DATADIR/catalog", o->level, total);
        goto out;
    }
    if (!(model = dbg_score_model_load(o->model_path)))
        goto out;
    if (o->attest_path && dbg_attest_load(&in, o->attest_path) != 0)
        goto out;
    if (o->waivers_path && dbg_waivers_load(&in, o->waivers_path) != 0)
        goto out;
    /* An attestation is evidence of one assessment: older than the level's assessment period
     * (data/grade/grade.yaml), or than --attest-max-age, it is an earlier one's. */
    int max_age = o->attest_max_age_days;
    char from[96];
    snprintf(from, sizeof(from), "--attest-max-age %d", max_age);
    if (o->attest_path && max_age <= 0) {
        dbg_grade_tables *gt = dbg_grade_load(NULL);
        if (!gt)
            goto out;
        max_age = dbg_grade_attest_max_age_days(gt, o->level);
        dbg_grade_free(gt);
        snprintf(from, sizeof(from), "level %d's assessment period (data/grade/grade.yaml)",
                 o->level);
    }
    if (o->baseline_path && !(old = dbg_assess_load(o->baseline_path)))
        goto out;
    if (o->snapshot_path) {
        snap = dbg_snapshot_load(o->snapshot_path);
    } else {
        dbg_collect_opts co = {
            .uri = o->uri, .host_root = o->host_root, .controls_dir = o->controls_dir};
        snap = dbg_snapshot_collect(&co);
        if (snap)
            warn_unseen(snap);
    }
    if (!snap)
        goto out;
    /* --as-of reproduces an assessment made on an earlier day from what was collected; the
     * attestations and waivers of a day after the collection would vouch for a platform
     * nobody had looked at. A date is after the collection when its day had begun nowhere at
     * it (a collection at 07:00 in Beijing, 23:00 UTC the day before, is on the date's day). */
    if (o->as_of_us > 0 && snap->collected_us > 0 &&
        o->as_of_us - (o->as_of_day ? DBG_DATE_BEGUN_US : 0) > snap->collected_us) {
        char as_of[40], when[40];
        dbg_time_rfc3339(o->as_of_us, as_of, sizeof(as_of));
        dbg_time_rfc3339(snap->collected_us, when, sizeof(when));
        dbg_err_set(DBG_ERR_USAGE,
                    "--as-of %s is after the collection (%s): an assessment cannot be dated "
                    "after the platform it assesses was seen",
                    as_of, when);
        goto out;
    }
    dbg_assess_request req = {.items = items,
                              .n_items = n,
                              .snapshot = snap,
                              .params = {.level = o->level, .hosts_level = o->hosts_level},
                              .model = model,
                              .inputs = &in,
                              .attest_path = o->attest_path,
                              .waivers_path = o->waivers_path,
                              .attest_max_age_days = max_age > 0 ? max_age : 0,
                              .attest_max_age_from = from,
                              .as_of_us = o->as_of_us,
                              .as_of_day = o->as_of_day};
    result = dbg_assess_run(&req);
    /* The catalog gave each item its weight and high_risk: the result names it, so that
     * `dengbao report` holds the items against it (the shipped one, or the file's absolute
     * path, the same for a live run and its snapshot). */
    if (result) {
        json_t *cj = NULL;
        if (!o->catalog_path) {
            cj = json_pack("{s:b}", "shipped", 1);
        } else {
            char real[PATH_MAX];
            cj = json_pack("{s:b,s:s}", "shipped", 0, "path",
                           realpath(o->catalog_path, real) ? real : o->catalog_path);
        }
        if (!cj || json_object_set_new(result, "catalog", cj) != 0) {
            dbg_err_set(DBG_ERR_NOMEM, "out of memory building the result");
            json_decref(result);
            result = NULL;
        }
    }
    if (result && old && dbg_assess_baseline(result, old, o->baseline_path) != 0) {
        json_decref(result);
        result = NULL;
    }
out:
    json_decref(old);
    dbg_snapshot_free(snap);
    dbg_assess_inputs_free(&in);
    dbg_score_model_free(model);
    free(items);
    dbg_catalog_free(cat);
    return result;
}
