/* The assessment engine: for each catalog item of the chosen level, run the checks it names
 * (each check once per run), or take the attestation of a manual item (or of one its checks
 * could not decide); combine into a verdict with its evidence; apply unexpired waivers; score
 * before and after waivers; build the gap summary. Output is the result JSON document (the
 * contract). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "assess/yaml_doc.h"
#include "dbg_config.h"
#include "dengbao/assess.h"
#include "dengbao/util.h"

typedef struct {
    dbg_check_result result;
    dbg_evidence_list ev;
    int ran;
} check_slot;

typedef struct {
    const dbg_assess_request *req;
    check_slot *slots; /* one per registered check */
    int64_t now_us;    /* waivers expire against this: the collection time, or --as-of */
    int64_t dated_us;  /* no attestation is dated after this: the collection time (or now
                        * without one), or --as-of */
    unsigned char *attest_used;
    unsigned char *waiver_used;
    json_t *warnings;
} run_ctx;

static json_t *jstr(const char *s)
{
    return json_string(s ? s : "");
}

/* Storing into the result fails on allocation failure or text that is not UTF-8 (jansson
 * refuses it); either is an error of the run, never a piece silently left out. */
static int stored(int r, const char *item, const char *what)
{
    if (r == 0)
        return 0;
    dbg_err_set(DBG_ERR_INTERNAL,
                "%s: %s could not be stored in the result (out of memory or not UTF-8)",
                item ? item : "?", what);
    return -1;
}

/* An attestation or waiver names an item by id (any case) or by clause, spelled as `dengbao
 * catalog show` takes it ("8.2.4.3b", "8.2.4.3 b)", "8.2.4.3.b", "8.2.4.3（b）"). */
static int item_matches(const dbg_item *it, const char *ref)
{
    if (!ref || !strcasecmp(it->id, ref))
        return !!ref;
    char clause[64];
    dbg_clause_normalize(ref, clause, sizeof(clause));
    return dbg_streq(it->clause, clause);
}

static check_slot *run_check(run_ctx *c, const char *id, const dbg_check **out)
{
    const dbg_check *chk = dbg_check_find(id);
    *out = chk;
    if (!chk)
        return NULL;
    size_t i = (size_t)(chk - dbg_check_at(0));
    check_slot *slot = &c->slots[i];
    if (!slot->ran) {
        slot->result = dbg_check_run(chk, c->req->snapshot, &c->req->params, &slot->ev);
        slot->ran = 1;
    }
    return slot;
}

static json_t *evidence_json(const char *check, const dbg_evidence *e)
{
    return json_pack("{s:o,s:o,s:o,s:o,s:o,s:b}", "check", jstr(check), "source", jstr(e->source),
                     "key", jstr(e->key), "observed", jstr(e->observed), "expected",
                     jstr(e->expected), "ok", e->ok);
}

/* Local names (not dbg_extension_name) so the engine links without the catalog loader. */
static const char *ext_name(dbg_extension e)
{
    return e == DBG_EXT_CLOUD ? "cloud" : "general";
}

static const char *resp_name(dbg_responsibility r)
{
    static const char *const names[] = {"provider", "tenant", "shared", "none"};
    return (unsigned)r < 4 ? names[r] : "none";
}

/* An automated item: its checks' results, evidence and combined verdict. */
static int assess_checked(run_ctx *c, const dbg_item *it, json_t *jitem, dbg_verdict *verdict)
{
    json_t *checks = json_array(), *evidence = json_array();
    dbg_check_result *results = dbg_calloc(it->n_checks, sizeof(*results));
    dbg_buf reason;
    dbg_buf_init(&reason, 4096);
    int r = -1, any_ok = 0;
    if (!checks || !evidence || !results)
        goto out;
    for (size_t k = 0; k < it->n_checks; k++) {
        const dbg_check *chk;
        check_slot *slot = run_check(c, it->checks[k], &chk);
        if (!slot) {
            results[k] = DBG_CHECK_ERROR;
            if (stored(json_array_append_new(checks, json_pack("{s:s,s:s,s:s}", "id", it->checks[k],
                                                               "title", "(not registered)",
                                                               "result", "error")),
                       it->id, "a check") ||
                stored(json_array_append_new(
                           evidence,
                           json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "check", it->checks[k], "source",
                                     it->src_file ? it->src_file : "catalog", "key", "checks",
                                     "observed", "no check with this id is registered", "expected",
                                     "a registered check", "ok", 0)),
                       it->id, "a piece of evidence"))
                goto out;
            dbg_buf_printf(&reason, "%s%s: not registered", k ? "; " : "", it->checks[k]);
            continue;
        }
        results[k] = slot->result;
        if (stored(json_array_append_new(checks,
                                         json_pack("{s:s,s:s,s:s,s:s}", "id", chk->id, "title",
                                                   chk->title, "title_en", chk->title_en, "result",
                                                   dbg_check_result_name(slot->result))),
                   it->id, "a check"))
            goto out;
        for (size_t e = 0; e < slot->ev.n; e++) {
            any_ok |= slot->ev.items[e].ok;
            if (stored(json_array_append_new(evidence, evidence_json(chk->id, &slot->ev.items[e])),
                       it->id, "a piece of evidence"))
                goto out;
        }
        dbg_buf_printf(&reason, "%s%s: %s", k ? "; " : "", chk->id,
                       dbg_check_result_name(slot->result));
    }
    *verdict = dbg_verdict_combine(results, it->n_checks);
    if (*verdict == DBG_VERDICT_PASS && !any_ok) {
        /* Never 符合 without a piece of evidence that shows it. */
        *verdict = DBG_VERDICT_UNCHECKED;
        dbg_buf_adds(&reason, "; no supporting evidence recorded");
    }
    r = stored(json_object_set_new(jitem, "checks", checks), it->id, "the checks");
    checks = NULL;
    if (r == 0)
        r = stored(json_object_set_new(jitem, "evidence", evidence), it->id, "the evidence");
    evidence = NULL;
    if (r == 0)
        r = stored(json_object_set_new(jitem, "reason", jstr(reason.data)), it->id, "the reason");
    if (r == 0)
        r = stored(json_object_set_new(jitem, "attestation", json_null()), it->id,
                   "the attestation");
out:
    json_decref(checks);
    json_decref(evidence);
    free(results);
    dbg_buf_free(&reason);
    return r;
}

static const char *attest_file(const run_ctx *c)
{
    return c->req->attest_path ? c->req->attest_path : "attestation";
}

/* "FILE:LINE:COLUMN" of an attestation's date or item value, where a warning about it points
 * as a load error would; the entry's "FILE:LINE" for one not read from a file. NULL when out
 * of memory. */
static char *field_place(const run_ctx *c, const dbg_attestation *a, int line, int column)
{
    return dbg_yaml_place(attest_file(c), line ? line : a->line, column);
}

static char *date_place(const run_ctx *c, const dbg_attestation *a)
{
    return field_place(c, a, a->date_line, a->date_column);
}

static char *item_place(const run_ctx *c, const dbg_attestation *a)
{
    return field_place(c, a, a->item_line, a->item_column);
}

/* What dated_us is, in a warning: the time the attestations are judged at. */
static const char *dated_at(const run_ctx *c)
{
    if (c->req->as_of_us > 0)
        return "the assessment date (--as-of)";
    return c->req->snapshot->collected_us > 0 ? "the snapshot was collected"
                                              : "now (the snapshot has no collection time)";
}

/* A date names a day without a time zone. The day has begun somewhere once UTC reaches its
 * start less 14 hours (UTC+14, the earliest zone: DBG_DATE_BEGUN_US), so the date of a day the
 * assessor's own calendar already showed at the collection is never refused; a later one is. */

/* An attestation dated after the snapshot was collected (after now, for a snapshot without a
 * collection time) vouches for a state nobody had looked at yet: it is refused, with a
 * warning naming the file, the date's line and column, and the date. 1 when refused, -1 on
 * error. */
static int refuse_future(run_ctx *c, const dbg_attestation *a)
{
    if (a->date_us - DBG_DATE_BEGUN_US <= c->dated_us)
        return 0;
    char when[40];
    dbg_time_rfc3339(c->dated_us, when, sizeof(when));
    DBG_AUTOFREE char *at = date_place(c, a);
    DBG_AUTOFREE char *msg =
        at ? dbg_asprintf("%s: attestation for %s refused: dated %s, after %s (%s); nothing can "
                          "have been checked on a day that had not come, so it is not applied",
                          at, a->item, a->date, dated_at(c), when)
           : NULL;
    if (!msg || stored(json_array_append_new(c->warnings, json_string(msg)), a->item, "a warning"))
        return -1;
    return 1;
}

/* The latest zone is UTC-12: the attestation's day has not ended anywhere until 36 hours after
 * its start in UTC, so its age is counted from there and an attestation is never taken for
 * older than the assessor's own calendar says. An assessment dated by a day (--as-of
 * YYYY-MM-DD) is that day in every zone: the age is the days between the two dates. */
#define DAY_US (24LL * 3600 * 1000000)
#define LATEST_ZONE_US (12LL * 3600 * 1000000)

/* An attestation older than the level's assessment period (or --attest-max-age) at the
 * collection (now, for a snapshot without a collection time) was made for an earlier
 * assessment and says nothing of the platform at this one: it is refused, with a warning
 * naming the file, the date's line and column, the date and the limit. 1 when refused, -1 on
 * error. */
static int refuse_stale(run_ctx *c, const dbg_attestation *a)
{
    int days = c->req->attest_max_age_days;
    int64_t slack = c->req->as_of_us > 0 && c->req->as_of_day ? 0 : LATEST_ZONE_US;
    if (days <= 0 || c->dated_us - slack - a->date_us < (days + 1LL) * DAY_US)
        return 0;
    char when[40];
    dbg_time_rfc3339(c->dated_us, when, sizeof(when));
    DBG_AUTOFREE char *at = date_place(c, a);
    DBG_AUTOFREE char *msg =
        at ? dbg_asprintf(
                 "%s: attestation for %s refused: dated %s, more than %d days before %s (%s), the "
                 "limit of %s; it is evidence of an earlier assessment, not of this one, so it "
                 "is not applied",
                 at, a->item, a->date, days, dated_at(c), when,
                 c->req->attest_max_age_from ? c->req->attest_max_age_from : "--attest-max-age")
           : NULL;
    if (!msg || stored(json_array_append_new(c->warnings, json_string(msg)), a->item, "a warning"))
        return -1;
    return 1;
}

/* The attestation naming the item, marked as used (*out NULL when none does, or when the
 * one that does is refused, dated in the future or too old: then *refused names it and
 * *refused_why says which, "after the collection" or "more than N days before the
 * collection"); -1 when two do. */
static int find_attestation(run_ctx *c, const dbg_item *it, const dbg_attestation **out,
                            const dbg_attestation **refused, char **refused_why)
{
    const dbg_assess_inputs *in = c->req->inputs;
    const dbg_attestation *a = NULL;
    *refused = NULL;
    for (size_t i = 0; in && i < in->n_attest; i++) {
        if (!item_matches(it, in->attest[i].item))
            continue;
        if (a) {
            /* the loader refuses one name twice; an id and a clause of one item are two names,
             * and which verdict stood must not depend on the order of the file */
            DBG_AUTOFREE char *at = item_place(c, &in->attest[i]);
            dbg_err_set(DBG_ERR_INVALID, "%s: item %s is already attested at line %d (as %s)",
                        at ? at : attest_file(c), in->attest[i].item, a->line, a->item);
            return -1;
        }
        a = &in->attest[i];
        c->attest_used[i] = 1;
    }
    *refused_why = NULL;
    int future = a ? refuse_future(c, a) : 0;
    int stale = a && !future ? refuse_stale(c, a) : 0;
    if (future < 0 || stale < 0)
        return -1;
    if (future || stale) {
        const char *at = c->req->as_of_us > 0 ? "the assessment date" : "the collection";
        *refused_why =
            future ? dbg_asprintf("after %s", at)
                   : dbg_asprintf("more than %d days before %s", c->req->attest_max_age_days, at);
        if (!*refused_why)
            return -1;
        *refused = a;
        a = NULL;
    }
    *out = a;
    return 0;
}

/* The attestation's document joins the item's evidence, after what the checks recorded. */
static int add_attestation_evidence(run_ctx *c, const dbg_item *it, json_t *jitem,
                                    const dbg_attestation *a)
{
    /* Built to its full length: a name cut inside a character is not valid JSON text. */
    DBG_AUTOFREE char *src =
        dbg_asprintf("attestation %s:%d", c->req->attest_path ? c->req->attest_path : "", a->line);
    if (!src)
        return -1;
    json_t *evidence = json_object_get(jitem, "evidence");
    if (!evidence && stored(json_object_set_new(jitem, "evidence", evidence = json_array()), it->id,
                            "the evidence"))
        return -1;
    return stored(
        json_array_append_new(
            evidence, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "check", "attestation", "source", src,
                                "key", "document", "observed", a->document, "expected",
                                "a document showing the requirement is met", "ok",
                                a->verdict == DBG_VERDICT_PASS || a->verdict == DBG_VERDICT_NA)),
        it->id, "the attestation's evidence");
}

/* The item takes the attestation's verdict: its document joins the evidence (after what the
 * checks recorded, if any), and the reason and the attestation say who signed it and when. */
static int apply_attestation(run_ctx *c, const dbg_item *it, json_t *jitem,
                             const dbg_attestation *a, const char *why, dbg_verdict *verdict)
{
    *verdict = a->verdict;
    /* 不适用 takes the item out of the score: the reason it does not apply (the note, required
     * for it) is part of the verdict's reason, where every report shows it. */
    DBG_AUTOFREE char *reason =
        a->verdict == DBG_VERDICT_NA && a->note
            ? dbg_asprintf("%s attested by %s on %s; not applicable: %s", why, a->attested_by,
                           a->date, a->note)
            : dbg_asprintf("%s attested by %s on %s", why, a->attested_by, a->date);
    if (!reason || add_attestation_evidence(c, it, jitem, a) != 0)
        return -1;
    if (stored(json_object_set_new(jitem, "reason", json_string(reason)), it->id, "the reason") ||
        stored(json_object_set_new(
                   jitem, "attestation",
                   json_pack("{s:s,s:s,s:s,s:s,s:o}", "verdict", dbg_verdict_name(a->verdict),
                             "attested_by", a->attested_by, "date", a->date, "document",
                             a->document, "note", a->note ? json_string(a->note) : json_null())),
               it->id, "the attestation"))
        return -1;
    return 0;
}

/* A manual item: the attestation's verdict, or 未检查. */
static int assess_manual(run_ctx *c, const dbg_item *it, json_t *jitem, dbg_verdict *verdict)
{
    const dbg_attestation *a, *refused;
    DBG_AUTOFREE char *refused_why = NULL;
    if (find_attestation(c, it, &a, &refused, &refused_why) != 0)
        return -1;
    if (stored(json_object_set_new(jitem, "checks", json_array()), it->id, "the checks"))
        return -1;
    if (!a) {
        *verdict = DBG_VERDICT_UNCHECKED;
        /* the assessor who gave a file learns it was read and this item is not in it, or
         * that its entry was refused */
        DBG_AUTOFREE char *refused_at = refused ? date_place(c, refused) : NULL;
        DBG_AUTOFREE char *why =
            refused
                ? (refused_at ? dbg_asprintf("manual item: the attestation at %s is dated %s, %s, "
                                             "and was refused",
                                             refused_at, refused->date, refused_why)
                              : NULL)
            : c->req->attest_path
                ? dbg_asprintf("manual item: not attested in %s", c->req->attest_path)
                : dbg_strdup("manual item: no attestation file given (--attest)");
        if (!why)
            return -1;
        if (stored(json_object_set_new(jitem, "reason", json_string(why)), it->id, "the reason") ||
            stored(json_object_set_new(jitem, "attestation", json_null()), it->id,
                   "the attestation") ||
            stored(json_object_set_new(jitem, "evidence", json_array()), it->id, "the evidence"))
            return -1;
        return 0;
    }
    return apply_attestation(c, it, jitem, a, "manual item", verdict);
}

static int add_warning(run_ctx *c, const char *about, const char *msg)
{
    return !msg || stored(json_array_append_new(c->warnings, json_string(msg)), about, "a warning")
               ? -1
               : 0;
}

static dbg_check_result attested_result(dbg_verdict v)
{
    return v == DBG_VERDICT_PASS      ? DBG_CHECK_PASS
           : v == DBG_VERDICT_PARTIAL ? DBG_CHECK_PARTIAL
           : v == DBG_VERDICT_FAIL    ? DBG_CHECK_FAIL
                                      : DBG_CHECK_NA;
}

/* A checked item its checks could not decide takes the assessor's attestation, with the
 * checks' evidence kept beside it: wholly when they decided nothing (未检查: the fact lives
 * where the collector does not look, such as a Ceph pool's size, or the host's files were not
 * readable), or for the part they could not decide when the others passed (部分符合 of passes
 * and errors only): the attested verdict stands in for the checks that erred, and the item's
 * verdict is combined again. An item whose checks found a gap (不符合, or 部分符合 with a
 * failing or partial check) keeps their verdict: an attestation never outweighs evidence of a
 * gap. Its document is recorded beside the evidence and the reason, and a warning says why
 * the verdict did not change. For the same reason a gap the assessor found where the checks saw
 * none (符合, attested 不符合 or 部分符合) counts: the attested verdict joins the checks' results
 * and the item's verdict is combined again (部分符合: the checks' part holds, the assessor's
 * does not). An item its checks found 符合 attested 符合, or 不适用, keeps it; the attestation
 * is a warning. */
/* The results the item's checks gave (each check runs once per assessment: asked again here,
 * it answers from its slot), with room for `extra` more after them; NULL when out of memory. */
static dbg_check_result *item_results(run_ctx *c, const dbg_item *it, size_t extra)
{
    size_t n = it->n_checks + extra;
    dbg_check_result *res = dbg_calloc(n ? n : 1, sizeof(*res));
    for (size_t k = 0; res && k < it->n_checks; k++) {
        const dbg_check *chk;
        const check_slot *slot = run_check(c, it->checks[k], &chk);
        res[k] = slot ? slot->result : DBG_CHECK_ERROR;
    }
    return res;
}

static int attest_checked(run_ctx *c, const dbg_item *it, json_t *jitem, dbg_verdict *verdict)
{
    const dbg_attestation *a, *refused;
    DBG_AUTOFREE char *refused_why = NULL;
    if (find_attestation(c, it, &a, &refused, &refused_why) != 0)
        return -1;
    if (!a)
        return 0;
    const char *checked = json_string_value(json_object_get(jitem, "reason"));
    if (!checked)
        checked = "";
    if (*verdict == DBG_VERDICT_UNCHECKED) {
        DBG_AUTOFREE char *why = dbg_asprintf("checks could not decide (%s);", checked);
        return why ? apply_attestation(c, it, jitem, a, why, verdict) : -1;
    }
    if (*verdict == DBG_VERDICT_PASS &&
        (a->verdict == DBG_VERDICT_FAIL || a->verdict == DBG_VERDICT_PARTIAL)) {
        dbg_check_result *res = item_results(c, it, 1);
        DBG_AUTOFREE char *why =
            dbg_asprintf("checks found no gap (%s), the assessor found one:", checked);
        if (!res || !why || apply_attestation(c, it, jitem, a, why, verdict) != 0) {
            free(res);
            return -1;
        }
        res[it->n_checks] = attested_result(a->verdict); /* the assessor's part */
        *verdict = dbg_verdict_combine(res, it->n_checks + 1);
        free(res);
        return 0;
    }
    /* Both warnings below name the `item` value: the item it names is what the checks
     * decided, and the line an assessor looks for to remove or correct the entry. */
    if (*verdict == DBG_VERDICT_PASS || *verdict == DBG_VERDICT_NA) {
        DBG_AUTOFREE char *at = item_place(c, a);
        DBG_AUTOFREE char *msg =
            at ? dbg_asprintf("%s: attestation for %s ignored: its checks decided it (%s); an "
                              "attestation completes a checked item only when its checks could "
                              "not (未检查)",
                              at, a->item, dbg_verdict_name(*verdict))
               : NULL;
        return add_warning(c, a->item, msg);
    }
    dbg_check_result *results = item_results(c, it, 0);
    if (!results)
        return -1;
    size_t gap = 0;
    for (size_t k = 0; k < it->n_checks; k++) {
        gap += results[k] == DBG_CHECK_FAIL || results[k] == DBG_CHECK_PARTIAL;
        if (results[k] == DBG_CHECK_ERROR)
            results[k] = attested_result(a->verdict);
    }
    int r = -1;
    if (!gap) {
        DBG_AUTOFREE char *why = dbg_asprintf("checks could not decide part of it (%s); that "
                                              "part %s,",
                                              checked, dbg_verdict_name(a->verdict));
        if (why && apply_attestation(c, it, jitem, a, why, verdict) == 0) {
            *verdict = dbg_verdict_combine(results, it->n_checks);
            r = 0;
        }
        free(results);
        return r;
    }
    free(results);
    DBG_AUTOFREE char *reason = dbg_asprintf(
        "%s; attestation %s:%d (%s, by %s on %s) recorded, not applied: the checks found a gap",
        checked, attest_file(c), a->line, dbg_verdict_name(a->verdict), a->attested_by, a->date);
    DBG_AUTOFREE char *at = item_place(c, a);
    DBG_AUTOFREE char *msg =
        at ? dbg_asprintf("%s: attestation for %s (%s) recorded beside the evidence but not "
                          "applied: its checks found a gap (%s: %s), and an attestation never "
                          "outweighs evidence of one; it decides only what the checks could not",
                          at, a->item, dbg_verdict_name(a->verdict), dbg_verdict_name(*verdict),
                          checked)
           : NULL;
    if (!reason || add_attestation_evidence(c, it, jitem, a) != 0 ||
        stored(json_object_set_new(jitem, "reason", json_string(reason)), it->id, "the reason"))
        return -1;
    return add_warning(c, a->item, msg);
}

static int open_finding(dbg_verdict v)
{
    return v == DBG_VERDICT_FAIL || v == DBG_VERDICT_PARTIAL || v == DBG_VERDICT_UNCHECKED;
}

/* The first unexpired waiver that covers the item: by item, or by check when every check of
 * the item that did not pass is waived. Expired waivers are never used. */
static const dbg_waiver *find_waiver(run_ctx *c, const dbg_item *it, const json_t *jitem)
{
    const dbg_assess_inputs *in = c->req->inputs;
    if (!in)
        return NULL;
    for (size_t i = 0; i < in->n_waivers; i++) {
        const dbg_waiver *w = &in->waivers[i];
        if (w->item && item_matches(it, w->item) && w->expiry_us >= c->now_us) {
            c->waiver_used[i] = 1;
            return w;
        }
    }
    const json_t *checks = json_object_get(jitem, "checks");
    const dbg_waiver *cover = NULL;
    size_t failing = 0;
    for (size_t k = 0; k < json_array_size(checks); k++) {
        const json_t *ck = json_array_get(checks, k);
        const char *res = json_string_value(json_object_get(ck, "result"));
        if (dbg_streq(res, "pass") || dbg_streq(res, "not-applicable"))
            continue;
        failing++;
        const char *id = json_string_value(json_object_get(ck, "id"));
        const dbg_waiver *found = NULL;
        for (size_t i = 0; i < in->n_waivers && !found; i++)
            if (in->waivers[i].check && dbg_streq(in->waivers[i].check, id) &&
                in->waivers[i].expiry_us >= c->now_us)
                found = &in->waivers[i];
        if (!found)
            return NULL;
        cover = found;
    }
    if (!failing || !cover)
        return NULL;
    for (size_t i = 0; i < in->n_waivers; i++)
        for (size_t k = 0; k < json_array_size(checks); k++)
            if (in->waivers[i].check &&
                dbg_streq(in->waivers[i].check,
                          json_string_value(json_object_get(json_array_get(checks, k), "id"))) &&
                in->waivers[i].expiry_us >= c->now_us)
                c->waiver_used[i] = 1;
    return cover;
}

static json_t *waiver_json(const dbg_waiver *w, const char *path)
{
    DBG_AUTOFREE char *src = dbg_asprintf("%s:%d", path ? path : "", w->line);
    if (!src)
        return NULL;
    return json_pack("{s:o,s:o,s:s,s:s,s:s,s:s}", "item",
                     w->item ? json_string(w->item) : json_null(), "check",
                     w->check ? json_string(w->check) : json_null(), "justification",
                     w->justification, "owner", w->owner, "expiry", w->expiry, "source", src);
}

/* A high-risk item not checked keeps its catalog risk: nothing shows it is not open, and 低
 * would read as checked and minor. Its verdict (未检查) stands beside the risk. */
const char *dbg_gap_risk(int high_risk, dbg_verdict v)
{
    if (high_risk && (v == DBG_VERDICT_FAIL || v == DBG_VERDICT_UNCHECKED))
        return "高";
    /* part of a high-risk item unmet: not shown open as a whole, not minor either */
    if (high_risk && v == DBG_VERDICT_PARTIAL)
        return "中";
    return v == DBG_VERDICT_FAIL ? "中" : "低";
}

static int layer_cmp(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "layer"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "layer"));
    int ox = dbg_layer_order(x), oy = dbg_layer_order(y);
    if (ox < 0)
        ox = 100;
    if (oy < 0)
        oy = 100;
    return ox != oy ? ox - oy : strcmp(x ? x : "", y ? y : "");
}

/* Gap summary: every item not 符合 / 不适用, grouped by layer in the standard's order, with
 * the evidence that did not meet expectations, risk and remediation. */
static json_t *build_gaps(json_t *items, const dbg_score_item *s)
{
    json_t *groups = json_object();
    for (size_t i = 0; i < json_array_size(items); i++) {
        if (!open_finding(s[i].verdict))
            continue;
        json_t *it = json_array_get(items, i);
        const char *layer = json_string_value(json_object_get(it, "layer"));
        json_t *g = json_object_get(groups, layer ? layer : "");
        if (!g) {
            g = json_pack("{s:s,s:s,s:[]}", "layer", layer ? layer : "", "layer_en",
                          dbg_layer_name_en(layer ? layer : ""), "items");
            json_object_set_new(groups, layer ? layer : "", g);
        }
        json_t *bad = json_array();
        json_t *ev = json_object_get(it, "evidence");
        for (size_t e = 0; e < json_array_size(ev); e++)
            if (!json_is_true(json_object_get(json_array_get(ev, e), "ok")))
                json_array_append(bad, json_array_get(ev, e));
        json_array_append_new(
            json_object_get(g, "items"),
            json_pack("{s:O,s:O,s:O,s:O,s:s,s:b,s:o,s:O,s:O,s:O*,s:O}", "id",
                      json_object_get(it, "id"), "clause", json_object_get(it, "clause"),
                      "control_point", json_object_get(it, "control_point"), "verdict",
                      json_object_get(it, "verdict"), "risk",
                      dbg_gap_risk(s[i].high_risk, s[i].verdict), "waived", s[i].waived, "evidence",
                      bad, "reason", json_object_get(it, "reason"), "remediation",
                      json_object_get(it, "remediation"), "remediation_en",
                      json_object_get(it, "remediation_en"), "responsibility",
                      json_object_get(it, "responsibility")));
    }
    size_t n = json_object_size(groups), k = 0;
    json_t **arr = dbg_calloc(n ? n : 1, sizeof(*arr));
    json_t *out = json_array();
    if (arr && out) {
        const char *key;
        json_t *v;
        json_object_foreach(groups, key, v) arr[k++] = v;
        qsort(arr, n, sizeof(*arr), layer_cmp);
        for (k = 0; k < n; k++)
            json_array_append(out, arr[k]);
    }
    free(arr);
    json_decref(groups);
    return out;
}

static json_t *platform_json(const dbg_snapshot *s)
{
    char when[40] = "";
    if (s->collected_us)
        dbg_time_rfc3339(s->collected_us, when, sizeof(when));
    return json_pack("{s:o,s:o,s:o,s:o,s:s,s:i,s:I,s:I,s:I,s:I,s:b}", "uri", jstr(s->uri),
                     "hypervisor", jstr(s->hypervisor), "libvirt_version", jstr(s->libvirt_version),
                     "hostname", jstr(s->hostname), "collected", when, "snapshot_schema",
                     s->schema_version, "domains", (json_int_t)s->n_domains, "networks",
                     (json_int_t)s->n_networks, "pools", (json_int_t)s->n_pools, "volumes",
                     (json_int_t)s->n_volumes, "nwfilter_supported", s->nwfilter_supported);
}

/* Where a high-risk item's flag comes from, so reports can say the conclusion it forces rests
 * on an unverified list; source_en only when the catalog gives one. */
static json_t *high_risk_basis_json(const dbg_item *it)
{
    return json_pack("{s:b,s:o,s:s*}", "verified", it->high_risk_verified, "source",
                     it->high_risk_source ? json_string(it->high_risk_source) : json_null(),
                     "source_en", it->high_risk_source_en);
}

static json_t *score_json(const dbg_score_model *m, const dbg_score_item *s, size_t n)
{
    dbg_score_summary sum;
    dbg_score_compute(m, s, n, &sum);
    json_t *counts = json_object();
    for (int v = 0; v < 5; v++)
        json_object_set_new(counts, dbg_verdict_name((dbg_verdict)v),
                            json_integer((json_int_t)sum.counts[v]));
    json_t *out = json_pack(
        "{s:{s:s,s:s,s:s,s:b,s:f,s:{s:f,s:f,s:f}},s:f,s:f,s:f,s:b,s:s,s:s,s:I,s:I,s:o,s:I,"
        "s:{s:f,s:b},s:b}",
        "model", "name", m->name, "formula", m->formula, "note", m->note, "unverified",
        m->unverified, "basic_compliance_line", m->basic_compliance, "conclusions", "优",
        m->excellent, "良", m->good, "中", m->fair, "value", sum.value, "value_after_waivers",
        sum.value_after_waivers, "basic_compliance_line", m->basic_compliance, "basic_compliance",
        sum.basic_compliance, "conclusion", sum.conclusion, "conclusion_after_waivers",
        sum.conclusion_after_waivers, "open_high_risk", (json_int_t)sum.open_high_risk,
        "open_high_risk_after_waivers", (json_int_t)sum.open_high_risk_after_waivers, "counts",
        counts, "waived_items", (json_int_t)sum.waived_items, "bar", "min_score", m->bar_min_score,
        "no_open_high_risk", m->bar_no_open_high_risk, "meets_bar", sum.meets_bar);
    if (out &&
        (json_object_set_new(out, "unchecked_high_risk",
                             json_integer((json_int_t)sum.unchecked_high_risk)) ||
         json_object_set_new(out, "unchecked_high_risk_after_waivers",
                             json_integer((json_int_t)sum.unchecked_high_risk_after_waivers)) ||
         json_object_set_new(out, "unverified_high_risk",
                             json_integer((json_int_t)sum.unverified_high_risk)) ||
         json_object_set_new(out, "unverified_high_risk_after_waivers",
                             json_integer((json_int_t)sum.unverified_high_risk_after_waivers)))) {
        json_decref(out);
        out = NULL;
    }
    return out;
}

static json_t *checks_json(const run_ctx *c)
{
    json_t *out = json_array();
    for (size_t i = 0; i < dbg_check_count(); i++) {
        if (!c->slots[i].ran)
            continue;
        const dbg_check *chk = dbg_check_at(i);
        json_array_append_new(out,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "id", chk->id, "layer",
                                        chk->layer, "title", chk->title, "title_en", chk->title_en,
                                        "result", dbg_check_result_name(c->slots[i].result),
                                        "evidence", (json_int_t)c->slots[i].ev.n));
    }
    return out;
}

static json_t *waivers_json(run_ctx *c, json_t *applied)
{
    const dbg_assess_inputs *in = c->req->inputs;
    json_t *expired = json_array(), *unused = json_array();
    for (size_t i = 0; in && i < in->n_waivers; i++) {
        const dbg_waiver *w = &in->waivers[i];
        if (w->expiry_us < c->now_us)
            json_array_append_new(expired, waiver_json(w, c->req->waivers_path));
        else if (!c->waiver_used[i])
            json_array_append_new(unused, waiver_json(w, c->req->waivers_path));
    }
    return json_pack("{s:o,s:o,s:o}", "applied", applied, "expired", expired, "unused", unused);
}

json_t *dbg_assess_run(const dbg_assess_request *req)
{
    const dbg_assess_inputs *in = req->inputs;
    int64_t collected = req->snapshot->collected_us;
    run_ctx c = {.req = req,
                 .now_us = req->as_of_us > 0 ? req->as_of_us : collected,
                 .dated_us = req->as_of_us > 0 ? req->as_of_us
                             : collected > 0   ? collected
                                               : dbg_now_us()};
    json_t *result = NULL, *items = json_array(), *applied = json_array();
    dbg_score_item *sc = dbg_calloc(req->n_items ? req->n_items : 1, sizeof(*sc));
    c.slots = dbg_calloc(dbg_check_count(), sizeof(*c.slots));
    c.attest_used = dbg_calloc(in && in->n_attest ? in->n_attest : 1, 1);
    c.waiver_used = dbg_calloc(in && in->n_waivers ? in->n_waivers : 1, 1);
    c.warnings = json_array();
    if (!items || !applied || !sc || !c.slots || !c.attest_used || !c.waiver_used || !c.warnings) {
        dbg_err_set(DBG_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* An assessment dated before its collection (--as-of) reproduces an earlier one: the
     * report says so first, so that nobody reads it as the platform's standing today. */
    if (req->as_of_us > 0) {
        char as_of[40], when[40] = "no collection time";
        dbg_time_rfc3339(req->as_of_us, as_of, sizeof(as_of));
        if (collected > 0)
            dbg_time_rfc3339(collected, when, sizeof(when));
        DBG_AUTOFREE char *msg = dbg_asprintf(
            "assessed as of %s (--as-of): attestation dates and waiver expiry are judged at that "
            "time, not at the collection (%s); the platform is the one collected",
            as_of, when);
        if (!msg || stored(json_array_append_new(c.warnings, json_string(msg)), NULL, "a warning"))
            goto out;
    }
    /* Expiry is judged at the collection time; a snapshot without one (hand-made, or cut) would
     * make every waiver unexpired forever. None is applied then, and the result says why. */
    if (c.now_us <= 0 && in && in->n_waivers) {
        c.now_us = INT64_MAX;
        if (stored(json_array_append_new(c.warnings,
                                         json_string("the snapshot has no collection time "
                                                     "(collected_us): whether a waiver has expired "
                                                     "cannot be judged, so none is applied")),
                   NULL, "a warning"))
            goto out;
    }
    for (size_t i = 0; i < req->n_items; i++) {
        const dbg_item *it = req->items[i];
        json_t *j = json_pack(
            "{s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:s*,s:s,s:b,s:f,s:s,s:o}", "id", it->id, "clause",
            it->clause, "level", it->level, "layer", jstr(it->layer), "control_point",
            jstr(it->control_point), "text", jstr(it->text), "remediation", jstr(it->remediation),
            "remediation_en", it->remediation_en, "extension", ext_name(it->extension), "high_risk",
            it->high_risk, "weight", dbg_score_item_weight(req->model, it->weight),
            "responsibility", resp_name(it->resp_iaas), "manual", json_boolean(it->n_checks == 0));
        if (!j) {
            dbg_err_set(DBG_ERR_INVALID, "catalog item %zu: missing id or clause", i);
            goto out;
        }
        json_array_append_new(items, j);
        if (it->high_risk &&
            stored(json_object_set_new(j, "high_risk_basis", high_risk_basis_json(it)), it->id,
                   "the high-risk basis"))
            goto out;
        dbg_verdict v;
        if (it->n_checks) {
            if (assess_checked(&c, it, j, &v) != 0 || attest_checked(&c, it, j, &v) != 0)
                goto out;
        } else {
            if (assess_manual(&c, it, j, &v) != 0)
                goto out;
        }
        sc[i] = (dbg_score_item){.verdict = v,
                                 .weight = json_real_value(json_object_get(j, "weight")),
                                 .high_risk = it->high_risk,
                                 .high_risk_unverified = it->high_risk && !it->high_risk_verified};
        json_object_set_new(j, "verdict", json_string(dbg_verdict_name(v)));
        const dbg_waiver *w = open_finding(v) ? find_waiver(&c, it, j) : NULL;
        if (w) {
            sc[i].waived = 1;
            json_t *wj = waiver_json(w, req->waivers_path);
            if (stored(json_object_set_new(wj, "applied_to", json_string(it->id)), it->id,
                       "the waiver") ||
                stored(json_object_set(j, "waiver", wj), it->id, "the waiver")) {
                json_decref(wj);
                goto out;
            }
            if (stored(json_array_append_new(applied, wj), it->id, "the waiver"))
                goto out;
        } else {
            json_object_set_new(j, "waiver", json_null());
        }
    }
    for (size_t i = 0; in && i < in->n_attest; i++) {
        if (c.attest_used[i])
            continue;
        DBG_AUTOFREE char *at = item_place(&c, &in->attest[i]);
        DBG_AUTOFREE char *msg =
            at ? dbg_asprintf("%s: attestation for %s ignored: no such item at this level", at,
                              in->attest[i].item)
               : NULL;
        if (!msg || stored(json_array_append_new(c.warnings, json_string(msg)), in->attest[i].item,
                           "a warning"))
            goto out;
    }
    /* A waiver that can cover nothing at this level (a mistyped item, another level's item, a
     * check no item here runs) is unused like one whose item passed, but it is a mistake in
     * the file: the score after waivers is not what its author expects. */
    for (size_t i = 0; in && i < in->n_waivers; i++) {
        const dbg_waiver *w = &in->waivers[i];
        int hit = 0;
        for (size_t k = 0; k < req->n_items && !hit; k++) {
            const dbg_item *it = req->items[k];
            if (w->item)
                hit = item_matches(it, w->item);
            for (size_t x = 0; w->check && x < it->n_checks && !hit; x++)
                hit = dbg_streq(it->checks[x], w->check);
        }
        if (hit)
            continue;
        /* at the item or check value, as a load error would name it: that is what matches
         * nothing */
        DBG_AUTOFREE char *at =
            dbg_yaml_place(req->waivers_path ? req->waivers_path : "waivers",
                           w->name_column ? w->name_line : w->line, w->name_column);
        DBG_AUTOFREE char *msg =
            at ? dbg_asprintf("%s: waiver for %s %s covers nothing: %s", at,
                              w->item ? "item" : "check", w->item ? w->item : w->check,
                              w->item ? "no such item at this level"
                                      : "no item at this level runs that check")
               : NULL;
        if (!msg || stored(json_array_append_new(c.warnings, json_string(msg)),
                           w->item ? w->item : w->check, "a warning"))
            goto out;
    }
    /* The shipped catalog holds the 安全通用要求 for level 3 only: at levels 1, 2 and 4 the
     * score covered the cloud extension alone and nothing said so, so a level-4 score could
     * read as the whole standard's (and come out above the same platform's level-3 score). */
    size_t per_ext[2] = {0, 0};
    for (size_t i = 0; i < req->n_items; i++)
        per_ext[req->items[i]->extension == DBG_EXT_CLOUD]++;
    for (int e = 0; e < 2; e++) {
        if (per_ext[e] || !per_ext[!e])
            continue;
        DBG_AUTOFREE char *msg = dbg_asprintf(
            "level %d: the catalog has no %s items at this level; only the %s were assessed "
            "and the score covers them alone",
            req->params.level,
            e ? "云计算安全扩展要求 (cloud extension)" : "安全通用要求 (general requirements)",
            e ? "安全通用要求 (general requirements)" : "云计算安全扩展要求 (cloud extension)");
        if (!msg || stored(json_array_append_new(c.warnings, json_string(msg)), NULL, "a warning"))
            goto out;
    }
    result = json_pack(
        "{s:i,s:{s:s,s:s},s:o,s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:n}", "schema_version",
        DBG_ASSESS_SCHEMA_VERSION, "generator", "name", "dengbao", "version", DBG_VERSION,
        "platform", platform_json(req->snapshot), "level", req->params.level, "hosts_level",
        req->params.hosts_level > 0 ? json_integer(req->params.hosts_level) : json_null(), "score",
        score_json(req->model, sc, req->n_items), "items", items, "checks", checks_json(&c), "gaps",
        build_gaps(items, sc), "waivers", waivers_json(&c, applied), "warnings", c.warnings,
        "baseline");
    items = applied = c.warnings = NULL;
    if (result && req->as_of_us > 0) {
        char as_of[40];
        dbg_time_rfc3339(req->as_of_us, as_of, sizeof(as_of));
        if (json_object_set_new(result, "as_of", json_string(as_of)) != 0) {
            json_decref(result);
            result = NULL;
        }
    }
    if (!result)
        dbg_err_set(DBG_ERR_NOMEM, "out of memory building the result");
out:
    json_decref(items);
    json_decref(applied);
    json_decref(c.warnings);
    for (size_t i = 0; c.slots && i < dbg_check_count(); i++)
        dbg_evidence_list_free(&c.slots[i].ev);
    free(c.slots);
    free(c.attest_used);
    free(c.waiver_used);
    free(sc);
    return result;
}

int dbg_assess_meets_bar(const json_t *result)
{
    return json_is_true(json_object_get(json_object_get(result, "score"), "meets_bar"));
}
