/* The MLPS 2.0 requirement catalog (GB/T 22239-2019 items as data, YAML files in data/catalog/).
 * One dbg_item per (requirement, level): the same requirement appears as 7.2.x at level 2,
 * 8.2.x at level 3 and 9.2.x at level 4, each with its own stable id (L3-cloud-8.2.4.3b). */
#ifndef DENGBAO_CATALOG_H
#define DENGBAO_CATALOG_H

#include <stddef.h>

typedef enum { DBG_EXT_GENERAL, DBG_EXT_CLOUD } dbg_extension;
typedef enum {
    DBG_RESP_PROVIDER,
    DBG_RESP_TENANT,
    DBG_RESP_SHARED,
    DBG_RESP_NONE
} dbg_responsibility;

typedef struct {
    char *id;     /* stable, e.g. "L3-cloud-8.2.4.3b" */
    int level;    /* 1..4 */
    char *clause; /* at this level, e.g. "8.2.4.3b" (sub-item letter appended) */
    dbg_extension extension;
    char *layer;         /* 安全物理环境 ... 安全运维管理 */
    char *control_point; /* 控制点, e.g. 入侵防范 */
    char *text;          /* the requirement's Chinese text */
    char **objects;      /* 测评对象 */
    size_t n_objects;
    dbg_responsibility resp_iaas, resp_paas, resp_saas;
    double weight; /* scoring weight (importance), see data/catalog/scoring.yaml */
    int high_risk; /* 1 when an open finding here is a high-risk (高风险) problem */
    char **checks; /* check ids serving this item; n_checks == 0 means manual */
    size_t n_checks;
    char *remediation; /* 整改建议 */
    char *src_file;    /* where the item was defined, for messages */
    int src_line;
    /* Added by the catalog module (issue #2): */
    int src_column;
    char *requirement;    /* shared by every level of one requirement, e.g. "cloud-8.2.4.3b" */
    int verified;         /* 0 when text, clause or level applicability is not confirmed */
    char *note;           /* provenance / what is unverified; NULL when nothing to say */
    char *importance;     /* importance class the weight came from ("key"...), NULL if numeric */
    char *remediation_en; /* the remediation in English (--lang en reports); NULL when the
                             catalog gives none, and reports then show the Chinese, marked */
    /* Where the high_risk flag comes from: the file's high_risk_basis. An unverified flag still
     * forces the conclusion 差 when open, so every report says so beside it. */
    int high_risk_verified;    /* 1 only when the file's high_risk_basis says verified: true */
    char *high_risk_source;    /* that basis, as the file states it; NULL when it states none */
    char *high_risk_source_en; /* the same in English; NULL when not given */
} dbg_item;

typedef struct dbg_catalog dbg_catalog;

typedef struct {
    /* Returns 1 when a check with this id is registered; NULL skips the check-id validation. */
    int (*check_exists)(const char *check_id, void *opaque);
    void *opaque;
    int unknown_check_is_error; /* 0: warn on stderr; 1: fail the load */
} dbg_catalog_opts;

/* Loads a YAML file or every *.yaml in a directory (sorted). On error sets dbg_err with
 * "file:line:column: what" and returns NULL; a catalog with no requirement items is an error
 * (DBG_ERR_NOTFOUND), as is a directory without *.yaml. path NULL = the shipped catalog. */
dbg_catalog *dbg_catalog_load(const char *path, const dbg_catalog_opts *opts);
/* Same from a memory buffer holding one YAML file; name is used in messages (fuzzing, tests). */
dbg_catalog *dbg_catalog_load_buffer(const char *name, const char *data, size_t len,
                                     const dbg_catalog_opts *opts);
/* The shipped catalog's path: catalog/ in dbg_datadir_find() (newly allocated; NULL with
 * DBG_ERR_NOTFOUND when there is no data directory). */
char *dbg_catalog_default_path(void);
void dbg_catalog_free(dbg_catalog *cat);
/* Unknown check ids reported as warnings during the load. */
size_t dbg_catalog_warning_count(const dbg_catalog *cat);
/* The same requirement at another level (e.g. L3-cloud-8.2.4.3b -> L4-cloud-9.2.4.3b), or NULL. */
const dbg_item *dbg_catalog_sibling(const dbg_catalog *cat, const dbg_item *item, int level);
size_t dbg_catalog_count(const dbg_catalog *cat);
const dbg_item *dbg_catalog_item(const dbg_catalog *cat, size_t i);
/* By id, or by clause at a level (level 0 = any level; first match). A clause may be written
 * "8.2.4.3b", "8.2.4.3 b)" or "8.2.4.3.b". With level != 0 and a clause of another level, the
 * same requirement at that level is returned (8.2.4.3b, level 4 -> 9.2.4.3b). */
const dbg_item *dbg_catalog_find(const dbg_catalog *cat, const char *id_or_clause, int level);
/* A clause as the catalog spells it: "8.2.4.3 b)", "8.2.4.3.b", "8.2.4.3B" -> "8.2.4.3b" (out
 * cut at size). */
void dbg_clause_normalize(const char *in, char *out, size_t size);
const char *dbg_responsibility_name(dbg_responsibility r); /* "provider" ... */
const char *dbg_extension_name(dbg_extension e);           /* "general" / "cloud" */
/* Standard order of the ten MLPS layers (安全物理环境 ... 安全运维管理); -1 when unknown. The
 * loader refuses any other layer. */
int dbg_layer_order(const char *layer);
const char *dbg_layer_name_en(const char *layer); /* the layer itself when unknown */

#endif
