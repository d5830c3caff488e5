/* 定级 (grading) per GB/T 22240: the level of a system from two dimensions, business-information
 * security and system-service security, each an (object harmed, degree of harm) pair looked up in
 * a level matrix; final level = the higher. Matrices, accepted words and the duties that follow
 * from a level are data (data/grade/grade.yaml). */
#ifndef DENGBAO_GRADE_H
#define DENGBAO_GRADE_H

#include <stddef.h>

typedef struct dbg_grade_tables dbg_grade_tables;

typedef struct {
    const char *id;     /* "filing" ... */
    const char *text;   /* the duty, Chinese */
    const char *source; /* law, standard or document it comes from */
    int verified;       /* 0 when the source text was not confirmed */
} dbg_grade_duty;

typedef struct {
    const char *id; /* "gb22240-2020" */
    const char *title;
    const char *source;
    int verified;
    int is_default;
} dbg_grade_matrix;

typedef struct {
    const dbg_grade_matrix *matrix;
    /* canonical ids of the inputs ("citizen", "especially-serious") */
    const char *business_object, *business_degree, *service_object, *service_degree;
    int business_level, service_level, level;
} dbg_grade_result;

/* Loads the tables from a YAML file (NULL = grade/grade.yaml in dbg_datadir_find()). Errors name
 * file:line:column. */
dbg_grade_tables *dbg_grade_load(const char *path);
dbg_grade_tables *dbg_grade_load_buffer(const char *name, const char *data, size_t len);
void dbg_grade_free(dbg_grade_tables *t);

/* Canonical id of an object / degree word ("公民" -> "citizen"), or NULL when unknown. */
const char *dbg_grade_object_id(const dbg_grade_tables *t, const char *word);
const char *dbg_grade_degree_id(const dbg_grade_tables *t, const char *word);
const char *dbg_grade_object_label(const dbg_grade_tables *t, const char *id);
const char *dbg_grade_degree_label(const dbg_grade_tables *t, const char *id);
/* "citizen (公民, 法人, ...) | society (...) | ..." for messages; newly allocated. */
char *dbg_grade_accepted_words(const dbg_grade_tables *t, int degrees);

/* The matrix with this id (NULL = the default one), or NULL. */
const dbg_grade_matrix *dbg_grade_find_matrix(const dbg_grade_tables *t, const char *id);
size_t dbg_grade_matrix_count(const dbg_grade_tables *t);
const dbg_grade_matrix *dbg_grade_matrix_at(const dbg_grade_tables *t, size_t i);
/* Level for (object, degree) words in a matrix; -1 with DBG_ERR_USAGE when a word is unknown. */
int dbg_grade_level(const dbg_grade_tables *t, const dbg_grade_matrix *m, const char *object,
                    const char *degree);

/* Both dimensions; words may be ids or any accepted alias. Unknown words or matrix: -1 with
 * DBG_ERR_USAGE and a message listing the accepted words. */
int dbg_grade_decide(const dbg_grade_tables *t, const char *matrix, const char *business_object,
                     const char *business_degree, const char *service_object,
                     const char *service_degree, dbg_grade_result *out);

/* Duties that apply at a level, in data order: fills up to max, returns the total count. */
size_t dbg_grade_duties(const dbg_grade_tables *t, int level, const dbg_grade_duty **out,
                        size_t max);
/* How old, in days, an assessor's attestation may be at a level before it is taken for an
 * earlier assessment's (the shortest attest_max_age_days of the level's duties: its assessment
 * period); 0 when no duty of the level sets one. */
int dbg_grade_attest_max_age_days(const dbg_grade_tables *t, int level);
/* The rule that a cloud platform is graded no lower than the systems it hosts. */
const dbg_grade_duty *dbg_grade_hosts_rule(const dbg_grade_tables *t);

#endif
