/* The assess pipeline behind `dengbao assess`: inputs are loaded and validated first (a bad
 * attestation or waiver file stops the run before the platform is touched), then the
 * platform is collected or the snapshot read, then the engine runs. */
#include <stdlib.h>

#include "dengbao/assess.h"
#include "dengbao/util.h"

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
        dbg_err_set(DBG_ERR_INVALID, "the catalog has no items at level %d", o->level);
        goto out;
    }
    if (!(model = dbg_score_model_load(o->model_path)))
        goto out;
    if (o->attest_path && dbg_attest_load(&in, o->attest_path) != 0)
        goto out;
    if (o->waivers_path && dbg_waivers_load(&in, o->waivers_path) != 0)
        goto out;
    if (o->baseline_path && !(old = dbg_assess_load(o->baseline_path)))
        goto out;
    if (o->snapshot_path) {
        snap = dbg_snapshot_load(o->snapshot_path);
    } else {
        dbg_collect_opts co = {
            .uri = o->uri, .host_root = o->host_root, .controls_dir = o->controls_dir};
        snap = dbg_snapshot_collect(&co);
    }
    if (!snap)
        goto out;
    dbg_assess_request req = {.items = items,
                              .n_items = n,
                              .snapshot = snap,
                              .params = {.level = o->level, .hosts_level = o->hosts_level},
                              .model = model,
                              .inputs = &in,
                              .attest_path = o->attest_path,
                              .waivers_path = o->waivers_path};
    result = dbg_assess_run(&req);
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
