/* Assessment: runs the checks the catalog's items name against a snapshot, turns check
 * results, attestations (manual items) and waivers into per-item verdicts (符合 / 部分符合 /
 * 不符合 / 不适用 / 未检查), scores them with the model in data/assess/scoring.yaml, and builds
 * the gap summary and the baseline diff. The result is a JSON document (the contract in
 * docs/schema/assess-report.schema.json) that every report format renders. */
#ifndef DENGBAO_ASSESS_H
#define DENGBAO_ASSESS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dengbao/catalog.h"
#include "dengbao/checks.h"
#include "dengbao/platform.h"

#define DBG_ASSESS_SCHEMA_VERSION 1

typedef enum {
    DBG_VERDICT_PASS,      /* 符合 */
    DBG_VERDICT_PARTIAL,   /* 部分符合 */
    DBG_VERDICT_FAIL,      /* 不符合 */
    DBG_VERDICT_NA,        /* 不适用 */
    DBG_VERDICT_UNCHECKED, /* 未检查 */
} dbg_verdict;

const char *dbg_verdict_name(dbg_verdict v);            /* the Chinese word, as in the JSON */
const char *dbg_verdict_name_en(dbg_verdict v);         /* compliant, partially compliant, ... */
int dbg_verdict_parse(const char *s, dbg_verdict *out); /* Chinese word or English name */
/* A gap's risk (高/中/低) from its item's high-risk flag and verdict, as the gap summary
 * gives it and a saved result's gaps are held to. */
const char *dbg_gap_risk(int high_risk, dbg_verdict v);
/* Item verdict from its checks' results (see docs/internals/assess.md for the table). */
dbg_verdict dbg_verdict_combine(const dbg_check_result *results, size_t n);

/* The scoring model, as data (data/assess/scoring.yaml). */
typedef struct {
    char *name;
    char *formula;
    char *note;
    int unverified;      /* the model is not confirmed against the official template */
    double deduction[5]; /* S per verdict (index dbg_verdict); NA is excluded */
    double default_weight;
    double basic_compliance;      /* the deck's 2.0 rule: >= 75 = 基本符合 */
    double excellent, good, fair; /* 优 / 良 / 中 thresholds; below fair = 差 */
    int high_risk_forces_poor;
    double bar_min_score;      /* exit 0 needs score (after waivers) >= this ... */
    int bar_no_open_high_risk; /* ... and no open high-risk item */
} dbg_score_model;

dbg_score_model *dbg_score_model_load(const char *path); /* NULL = <datadir>/assess/scoring.yaml */
/* The same from memory (text need not end in NUL); name is used in messages (fuzzing, tests).
 * NULL + dbg_err naming name:line[:column] when the model is refused. */
dbg_score_model *dbg_score_model_load_buffer(const char *name, const char *text, size_t len);
void dbg_score_model_free(dbg_score_model *m);

/* What the model needs of one item: its verdict, catalog weight and high-risk flag, and
 * whether a waiver covers it. */
typedef struct {
    dbg_verdict verdict;
    double weight;
    int high_risk;
    int waived;
    /* the high_risk flag follows a list nobody verified (the catalog's high_risk_basis): not
     * scored differently, counted so reports can say what forced the conclusion */
    int high_risk_unverified;
} dbg_score_item;

/* What the model derives from the items (the result's "score" values). */
typedef struct {
    double value, value_after_waivers; /* M, rounded to 0.01 */
    size_t open_high_risk, open_high_risk_after_waivers;
    size_t unchecked_high_risk, unchecked_high_risk_after_waivers;
    /* of the open and unchecked high-risk items, those whose flag is unverified */
    size_t unverified_high_risk, unverified_high_risk_after_waivers;
    size_t counts[5]; /* per dbg_verdict */
    size_t waived_items;
    int basic_compliance;                              /* value >= the basic-compliance line */
    int meets_bar;                                     /* the exit-0 bar, after waivers */
    const char *conclusion, *conclusion_after_waivers; /* 优 良 中 差 (static strings) */
} dbg_score_summary;

/* Scores items with the model (pure; the one computation `assess` writes and `report`
 * checks a saved result against). */
void dbg_score_compute(const dbg_score_model *m, const dbg_score_item *items, size_t n,
                       dbg_score_summary *out);
/* An item's weight in the score: its catalog weight (> 0), else the model's default. What
 * assess saves and report holds a saved result against. */
double dbg_score_item_weight(const dbg_score_model *m, double catalog_weight);

typedef struct {
    char *item; /* item id or clause */
    dbg_verdict verdict;
    char *attested_by;
    char *date;
    int64_t date_us; /* the first microsecond of that day, UTC */
    char *document;
    char *note;
    int line; /* the entry's */
    /* Where the item and date values are (column 0: not known, an attestation not read from a
     * file), so a warning at run time names the field as a load error does. */
    int item_line, item_column;
    int date_line, date_column;
} dbg_attestation;

typedef struct {
    char *item;  /* item id or clause; or NULL when check is set */
    char *check; /* check id */
    char *justification;
    char *owner;
    char *expiry;      /* YYYY-MM-DD as written */
    int64_t expiry_us; /* end of the expiry day, UTC */
    int line;          /* the entry's */
    /* Where the item or check value is (column 0: not known, a waiver not read from a file),
     * so a warning at run time names the field as a load error does. */
    int name_line, name_column;
} dbg_waiver;

typedef struct {
    char *path;
    dbg_attestation *attest;
    size_t n_attest;
    dbg_waiver *waivers;
    size_t n_waivers;
} dbg_assess_inputs;

/* Loads `--attest FILE` / `--waivers FILE` YAML into in (either path may be NULL). Errors
 * name the file and line. */
int dbg_attest_load(dbg_assess_inputs *in, const char *path);
int dbg_waivers_load(dbg_assess_inputs *in, const char *path);
/* The same from memory; name is used in messages (fuzzing, tests). */
int dbg_attest_load_buffer(dbg_assess_inputs *in, const char *name, const char *text, size_t len);
int dbg_waivers_load_buffer(dbg_assess_inputs *in, const char *name, const char *text, size_t len);
void dbg_assess_inputs_free(dbg_assess_inputs *in);

typedef struct {
    const dbg_item *const *items; /* the catalog's items of the chosen level, in order */
    size_t n_items;
    const dbg_snapshot *snapshot;
    dbg_check_params params;
    const dbg_score_model *model;
    const dbg_assess_inputs *inputs;        /* attestations and waivers; may be NULL */
    const char *attest_path, *waivers_path; /* names shown in evidence; may be NULL */
    /* An attestation older than this many days at the collection is refused (0 = no limit);
     * attest_max_age_from says where the limit comes from, in the warning ("level 3's
     * assessment period (data/grade/grade.yaml)", "--attest-max-age"). */
    int attest_max_age_days;
    const char *attest_max_age_from;
    /* > 0: the assessment is dated here (`assess --as-of`), not at the collection: attestation
     * dates and waiver expiry are judged at this time, and the result says so ($.as_of). The
     * platform is still the one collected; the caller keeps it no later than the collection
     * (a day: one that had begun somewhere at the collection, DBG_DATE_BEGUN_US). */
    int64_t as_of_us;
    /* as_of_us is the first moment (UTC) of a date given alone (YYYY-MM-DD): a day, not a time
     * in an unknown zone, so an attestation's age is counted in whole days from it */
    int as_of_day;
} dbg_assess_request;

/* A date names a day without a time zone: it has begun somewhere once UTC reaches its start
 * less 14 hours (UTC+14, the earliest zone). */
#define DBG_DATE_BEGUN_US (14LL * 3600 * 1000000)

/* Runs the assessment. The result is deterministic for a given snapshot (no clock read:
 * waiver expiry and attestation dates are judged at the snapshot's collection time, or at
 * as_of_us; only a snapshot without either has its attestation dates judged against the
 * clock). NULL + dbg_err on error. */
json_t *dbg_assess_run(const dbg_assess_request *req);

/* Adds "baseline" to result: items that regressed (first), improved or changed against an
 * older result document. */
int dbg_assess_baseline(json_t *result, const json_t *old, const char *old_name);

/* Checks that doc is an assessment result this version can render; error names the path. */
int dbg_assess_validate(const json_t *doc, const char *name);
/* Checks that a valid doc's summary agrees with its own items, as the assessment wrote it:
 * the verdict counts and gaps, and every score value (score, conclusions, basic compliance,
 * bar, open/unchecked high-risk and waived counts) recomputed from the items' verdicts,
 * weights, high-risk flags and waivers with m, which must be the model the file names (a
 * result does not save the deductions nor the high-risk rule). Error names the path, the saved
 * value and the recomputed one. For rendering: a --baseline reads only the items' verdicts,
 * so an edited summary there does no harm. */
int dbg_assess_check_summary(const json_t *doc, const char *name, const dbg_score_model *m);
/* Checks that a valid doc's gaps show its items as assess wrote them: each open item's gap
 * once, with the item's clause, control point, layer, reason, evidence not met, remediation
 * and responsibility, and the risk and waived flag its item gives; and that the waivers listed
 * as applied are the items' waivers. Run after the summary and catalog checks, whose errors
 * name the edit first. */
int dbg_assess_check_gaps(const json_t *doc, const char *name);
/* The catalog a result names ($.catalog): NULL for the shipped one (also for results older
 * than $.catalog), else the path `assess --catalog` was given, made absolute. */
const char *dbg_assess_result_catalog_path(const json_t *doc);
/* Checks a valid doc's items against cat, the catalog it names (cat_name in messages): each
 * item of cat at the doc's level once, none other, each with the catalog's weight (m's
 * default weight for an item without one) and high_risk. Error names the item and both
 * values. */
int dbg_assess_check_catalog(const json_t *doc, const char *name, const dbg_catalog *cat,
                             const char *cat_name, const dbg_score_model *m);
/* Loads and validates a saved result (for `dengbao report` and --baseline). */
json_t *dbg_assess_load(const char *path);
/* 1 when the result meets the bar of its score model (exit 0), else 0. */
int dbg_assess_meets_bar(const json_t *result);

/* The whole job of `dengbao assess`: load the catalog (check ids validated against the
 * registry), the scoring model, attestations and waivers; collect the platform (uri) or load
 * a snapshot (snapshot_path); run; add the baseline diff. NULL + dbg_err on any error. */
typedef struct {
    const char *uri;       /* live: libvirt URI ... */
    const char *host_root; /* ... with host files under this root (NULL = "/") */
    const char *controls_dir;
    const char *snapshot_path; /* offline: a snapshot from `dengbao collect` */
    int level;                 /* 1..4 */
    int hosts_level;           /* -1 = not given */
    const char *catalog_path;  /* NULL = shipped */
    const char *model_path;    /* NULL = shipped */
    const char *attest_path, *waivers_path, *baseline_path; /* optional */
    /* > 0: the age limit of an attestation in days; 0 = the level's assessment period
     * (dbg_grade_attest_max_age_days over data/grade/grade.yaml; none at level 1) */
    int attest_max_age_days;
    /* > 0: assess as of this time (`--as-of`), at most the collection time; 0 = at the
     * collection. as_of_day: it is a date's first moment (UTC), a day (dbg_assess_request),
     * which may be after the collection when the day had begun somewhere at it: the date the
     * assessor's calendar showed at the collection is not after it */
    int64_t as_of_us;
    int as_of_day;
} dbg_assess_opts;

json_t *dbg_assess(const dbg_assess_opts *o);

#endif
