/* Checks: pure functions of a platform snapshot that say whether one technical MLPS 2.0
 * requirement holds, with evidence (where it was seen, what, what was expected). One
 * registration table (src/checks/registry.c) lists every check; the catalog's items name
 * check ids, and the assess module turns check results into item verdicts. */
#ifndef DENGBAO_CHECKS_H
#define DENGBAO_CHECKS_H

#include <stddef.h>

#include "dengbao/platform.h"

typedef enum {
    DBG_CHECK_PASS,
    DBG_CHECK_FAIL,
    DBG_CHECK_PARTIAL,
    DBG_CHECK_NA,    /* nothing on this platform the requirement applies to */
    DBG_CHECK_ERROR, /* could not be established from the snapshot (not provable) */
} dbg_check_result;

/* One piece of evidence: where it was seen, which setting/object, what was observed, what
 * was expected, and whether this observation supports compliance. */
typedef struct {
    char *source; /* "libvirt virDomainGetXMLDesc(web-1)", "/etc/ssh/sshd_config:14" */
    char *key;    /* "interface 52:54:00:aa:00:01 filterref", "PermitRootLogin" */
    char *observed;
    char *expected;
    int ok; /* 1 = meets the expectation */
} dbg_evidence;

typedef struct {
    dbg_evidence *items;
    size_t n, cap;
    int failed; /* sticky: an allocation failed while recording (the check becomes error) */
} dbg_evidence_list;

/* Inputs of an assessment that are not platform facts. */
typedef struct {
    int level;       /* the platform's own protection level (1..4) */
    int hosts_level; /* highest level of the systems the platform hosts, -1 = not given */
} dbg_check_params;

typedef dbg_check_result (*dbg_check_fn)(const dbg_snapshot *s, const dbg_check_params *p,
                                         dbg_evidence_list *ev);

typedef struct {
    const char *id;    /* stable, e.g. "net.tenant_isolation" */
    const char *layer; /* network | boundary | compute | image | data | mgmt | host */
    const char *title; /* Chinese */
    const char *title_en;
    const char *items; /* level-3 clauses it serves, space separated: "8.2.2.1b 8.2.4.2b" */
    dbg_check_fn fn;
} dbg_check;

size_t dbg_check_count(void);
const dbg_check *dbg_check_at(size_t i);
const dbg_check *dbg_check_find(const char *id);
/* Callback shape of dbg_catalog_opts.check_exists (opaque unused). */
int dbg_check_exists(const char *check_id, void *opaque);
/* Runs one check; an allocation failure while recording evidence turns the result to error. */
dbg_check_result dbg_check_run(const dbg_check *c, const dbg_snapshot *s, const dbg_check_params *p,
                               dbg_evidence_list *ev);

const char *
dbg_check_result_name(dbg_check_result r); /* "pass" "fail" "partial" "not-applicable" "error" */
int dbg_check_result_parse(const char *name, dbg_check_result *out);

/* Evidence recording. Strings are copied (less a UTF-8 character cut off at the end); NULL
 * is kept as NULL. On allocation failure the list's failed flag is set and -1 returned. */
int dbg_evidence_add(dbg_evidence_list *l, int ok, const char *source, const char *key,
                     const char *observed, const char *expected);
int dbg_evidence_addf(dbg_evidence_list *l, int ok, const char *source, const char *key,
                      const char *expected, const char *observed_fmt, ...)
    __attribute__((format(printf, 6, 7)));
void dbg_evidence_list_free(dbg_evidence_list *l);

#endif
