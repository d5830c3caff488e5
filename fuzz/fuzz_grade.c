/* libFuzzer target for the grading tables (`dengbao grade --tables FILE`): any bytes through
 * dbg_grade_load_buffer. An error must name a line and column inside the input; tables that
 * load must grade every accepted id in every matrix at 1..5, the level being the higher of the
 * two dimensions (GB/T 22240). Must never crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/grade.h"
#include "fuzz/yaml_lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IDS 16

/* The ids of "id (word, ...) | id (...)" (dbg_grade_accepted_words), cut in place; kept only
 * when the tables give them back as an id (an id holding " (" is cut wrong here). */
static size_t split_ids(const dbg_grade_tables *t, int degrees, char *list, char **ids)
{
    size_t n = 0;
    for (char *p = list; p && *p && n < MAX_IDS;) {
        char *open = strstr(p, " (");
        if (!open)
            break;
        *open = 0;
        const char *id = degrees ? dbg_grade_degree_id(t, p) : dbg_grade_object_id(t, p);
        if (id && !strcmp(id, p))
            ids[n++] = p;
        char *next = strstr(open + 1, ") | ");
        p = next ? next + 4 : NULL;
    }
    return n;
}

/* "fuzz.yaml:LINE:COL: ..." with LINE within the input's lines and COL >= 1; a size limit or
 * an allocation names no place. */
static void check_position(const uint8_t *data, size_t size)
{
    if (fuzz_yaml_place(dbg_err_msg(), data, size, 1) < 0)
        abort();
}

static void grade_all(const dbg_grade_tables *t)
{
    char *objs = dbg_grade_accepted_words(t, 0), *degs = dbg_grade_accepted_words(t, 1);
    char *o[MAX_IDS], *g[MAX_IDS];
    size_t no = objs ? split_ids(t, 0, objs, o) : 0, ng = degs ? split_ids(t, 1, degs, g) : 0;
    if (!objs || !degs)
        abort();
    for (size_t m = 0; m < dbg_grade_matrix_count(t); m++) {
        const dbg_grade_matrix *mx = dbg_grade_matrix_at(t, m);
        for (size_t i = 0; i < no * ng; i++) {
            const char *bo = o[i % no], *bd = g[i % ng], *so = o[(i / ng) % no],
                       *sd = g[(i / no) % ng];
            dbg_grade_result r;
            if (dbg_grade_decide(t, mx->id, bo, bd, so, sd, &r) < 0)
                abort(); /* an id the tables list must grade */
            int high = r.business_level > r.service_level ? r.business_level : r.service_level;
            if (r.business_level < 1 || r.business_level > 5 || r.service_level < 1 ||
                r.service_level > 5 || r.level != high || strcmp(r.business_object, bo) ||
                strcmp(r.service_degree, sd))
                abort();
            const dbg_grade_duty *d[4];
            size_t nd = dbg_grade_duties(t, r.level, d, 4);
            for (size_t k = 0; k < nd && k < 4; k++)
                if (!d[k]->id || !d[k]->text || !d[k]->source)
                    abort();
            if (dbg_grade_attest_max_age_days(t, r.level) < 0)
                abort();
        }
    }
    if (!dbg_grade_find_matrix(t, NULL))
        abort(); /* there is always a default */
    free(objs);
    free(degs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_grade_tables *t = dbg_grade_load_buffer("fuzz.yaml", (const char *)data, size);
    if (t) {
        grade_all(t);
        dbg_grade_free(t);
    } else {
        check_position(data, size);
    }
    dbg_err_clear();
    return 0;
}
