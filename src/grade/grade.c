/* 定级: loads data/grade/grade.yaml (accepted words, level matrices, duties per level) and
 * decides a level from the two GB/T 22240 dimensions. All numbers come from the data file. */
#include <stdlib.h>
#include <string.h>

#include "catalog/yaml_doc.h"
#include "dengbao/grade.h"
#include "dengbao/util.h"

#define MAX_CLASSES 8
#define MAX_MATRICES 16
#define MAX_DUTIES 256

typedef struct {
    char *id, *label;
    char **words;
    size_t n_words;
} word_class;

typedef struct {
    dbg_grade_matrix pub;
    char *id, *title, *source;
    int table[MAX_CLASSES][MAX_CLASSES]; /* [object][degree] */
} matrix;

typedef struct {
    dbg_grade_duty pub;
    char *id, *text, *source;
    unsigned levels;          /* bit n = applies at level n */
    long attest_max_age_days; /* 0 = the duty sets no assessment period */
} duty;

struct dbg_grade_tables {
    word_class obj[MAX_CLASSES], deg[MAX_CLASSES];
    size_t n_obj, n_deg;
    matrix *m;
    size_t n_m;
    duty *duties;
    size_t n_duties;
    duty hosts_rule;
    int have_hosts_rule;
};

static const char *const top_keys[] = {"schema",     "objects", "degrees", "matrices",
                                       "hosts_rule", "duties",  NULL};
static const char *const class_keys[] = {"label", "words", NULL};
static const char *const matrix_keys[] = {"default", "title", "source", "verified", "table", NULL};
static const char *const duty_keys[] = {
    "id", "levels", "text", "source", "verified", "attest_max_age_days", NULL};

static void class_free(word_class *c)
{
    free(c->id);
    free(c->label);
    dbg_yaml_str_list_free(c->words, c->n_words);
}

static void duty_free(duty *d)
{
    free(d->id);
    free(d->text);
    free(d->source);
}

void dbg_grade_free(dbg_grade_tables *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_obj; i++)
        class_free(&t->obj[i]);
    for (size_t i = 0; i < t->n_deg; i++)
        class_free(&t->deg[i]);
    for (size_t i = 0; i < t->n_m; i++) {
        free(t->m[i].id);
        free(t->m[i].title);
        free(t->m[i].source);
    }
    free(t->m);
    for (size_t i = 0; i < t->n_duties; i++)
        duty_free(&t->duties[i]);
    free(t->duties);
    duty_free(&t->hosts_rule);
    free(t);
}

static int find_class(const word_class *cls, size_t n, const char *word)
{
    if (!word)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!strcmp(cls[i].id, word))
            return (int)i;
        for (size_t j = 0; j < cls[i].n_words; j++) {
            if (!strcmp(cls[i].words[j], word))
                return (int)i;
        }
    }
    return -1;
}

/* objects: / degrees: — id -> {label, words}; every word unique within the kind. */
static int parse_classes(dbg_yaml_doc *d, yaml_node_t *n, const char *what, word_class *cls,
                         size_t *count)
{
    if (dbg_yaml_want_map(d, n, what) < 0)
        return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key), *v = dbg_yaml_node(d, p->value), *x;
        const char *id, *label;
        if (*count >= MAX_CLASSES)
            return dbg_yaml_fail(d, k, "more than %d %s", MAX_CLASSES, what);
        if (dbg_yaml_get_text(d, k, what, &id) < 0)
            return -1;
        /* the entry named, not its section: 'objects must be a mapping' pointed at an entry */
        char entry[96];
        snprintf(entry, sizeof(entry), "%s.%.40s", what, id);
        if (dbg_yaml_check_keys(d, v, entry, class_keys) < 0)
            return -1;
        if (find_class(cls, *count, id) >= 0)
            return dbg_yaml_fail(d, k, "'%.40s' defined twice in %s", id, what);
        if (!(x = dbg_yaml_map_get(d, v, "label")))
            return dbg_yaml_fail(d, v, "'%.40s' has no label", id);
        if (dbg_yaml_get_text(d, x, "label", &label) < 0)
            return -1;
        word_class *c = &cls[*count];
        memset(c, 0, sizeof(*c));
        if (!(c->id = dbg_strdup(id)) || !(c->label = dbg_strdup(label)))
            goto fail;
        if ((x = dbg_yaml_map_get(d, v, "words")) &&
            dbg_yaml_get_str_list(d, x, "words", &c->words, &c->n_words) < 0)
            goto fail;
        for (size_t j = 0; j < c->n_words; j++) {
            if (find_class(cls, *count, c->words[j]) >= 0) {
                dbg_yaml_fail(d, x, "word '%.40s' already names another entry of %s", c->words[j],
                              what);
                goto fail;
            }
        }
        (*count)++;
        continue;
    fail:
        class_free(c);
        return -1;
    }
    if (*count == 0)
        return dbg_yaml_fail(d, n, "%s is empty", what);
    return 0;
}

static int parse_table(dbg_grade_tables *t, dbg_yaml_doc *d, yaml_node_t *n, matrix *m)
{
    if (dbg_yaml_want_map(d, n, "table") < 0)
        return -1;
    int seen[MAX_CLASSES] = {0};
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key), *row = dbg_yaml_node(d, p->value);
        const char *oid;
        if (dbg_yaml_get_str(d, k, "an object", &oid) < 0)
            return -1;
        int o = find_class(t->obj, t->n_obj, oid);
        if (o < 0 || strcmp(t->obj[o].id, oid))
            return dbg_yaml_fail(d, k, "'%.40s' is not an object id", oid);
        if (seen[o]++)
            return dbg_yaml_fail(d, k, "row '%.40s' given twice", oid);
        if (dbg_yaml_want_map(d, row, "a table row") < 0)
            return -1;
        int dseen[MAX_CLASSES] = {0};
        for (yaml_node_pair_t *q = row->data.mapping.pairs.start; q < row->data.mapping.pairs.top;
             q++) {
            yaml_node_t *dk = dbg_yaml_node(d, q->key);
            const char *did;
            long level;
            if (dbg_yaml_get_str(d, dk, "a degree", &did) < 0)
                return -1;
            int g = find_class(t->deg, t->n_deg, did);
            if (g < 0 || strcmp(t->deg[g].id, did))
                return dbg_yaml_fail(d, dk, "'%.40s' is not a degree id", did);
            if (dseen[g]++)
                return dbg_yaml_fail(d, dk, "degree '%.40s' given twice", did);
            if (dbg_yaml_get_long(d, dbg_yaml_node(d, q->value), "a level", 1, 5, &level) < 0)
                return -1;
            m->table[o][g] = (int)level;
        }
        for (size_t g = 0; g < t->n_deg; g++) {
            if (!dseen[g])
                return dbg_yaml_fail(d, row, "row '%.40s' has no level for '%s'", oid,
                                     t->deg[g].id);
        }
    }
    for (size_t o = 0; o < t->n_obj; o++) {
        if (!seen[o])
            return dbg_yaml_fail(d, n, "table has no row for '%s'", t->obj[o].id);
    }
    return 0;
}

static int parse_matrices(dbg_grade_tables *t, dbg_yaml_doc *d, yaml_node_t *n)
{
    if (dbg_yaml_want_map(d, n, "matrices") < 0)
        return -1;
    size_t total = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    if (total == 0 || total > MAX_MATRICES)
        return dbg_yaml_fail(d, n, "matrices must hold 1..%d tables", MAX_MATRICES);
    if (!(t->m = dbg_calloc(total, sizeof(*t->m))))
        return -1;
    int defaults = 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key), *v = dbg_yaml_node(d, p->value), *x;
        const char *id, *s;
        matrix *m = &t->m[t->n_m];
        if (dbg_yaml_get_text(d, k, "a matrix id", &id) < 0 ||
            dbg_yaml_check_keys(d, v, "a matrix", matrix_keys) < 0)
            return -1;
        if (dbg_grade_find_matrix(t, id))
            return dbg_yaml_fail(d, k, "matrix '%.40s' defined twice", id);
        t->n_m++;
        m->pub.verified = 1;
        if (!(m->id = dbg_strdup(id)))
            return -1;
        if ((x = dbg_yaml_map_get(d, v, "title"))) {
            if (dbg_yaml_get_text(d, x, "title", &s) < 0 || !(m->title = dbg_strdup(s)))
                return -1;
        }
        if ((x = dbg_yaml_map_get(d, v, "source"))) {
            if (dbg_yaml_get_text(d, x, "source", &s) < 0 || !(m->source = dbg_strdup(s)))
                return -1;
        }
        if ((x = dbg_yaml_map_get(d, v, "verified")) &&
            dbg_yaml_get_bool(d, x, "verified", &m->pub.verified) < 0)
            return -1;
        if ((x = dbg_yaml_map_get(d, v, "default"))) {
            if (dbg_yaml_get_bool(d, x, "default", &m->pub.is_default) < 0)
                return -1;
            if (m->pub.is_default && defaults++)
                return dbg_yaml_fail(d, x, "more than one default matrix");
        }
        if (!(x = dbg_yaml_map_get(d, v, "table")))
            return dbg_yaml_fail(d, v, "matrix '%.40s' has no table", id);
        if (parse_table(t, d, x, m) < 0)
            return -1;
        m->pub.id = m->id;
        m->pub.title = m->title ? m->title : m->id;
        m->pub.source = m->source;
    }
    if (!defaults)
        t->m[0].pub.is_default = 1;
    return 0;
}

static int parse_duty(dbg_yaml_doc *d, yaml_node_t *n, duty *out, int need_levels)
{
    yaml_node_t *x;
    const char *s;
    memset(out, 0, sizeof(*out));
    out->pub.verified = 1;
    if (dbg_yaml_check_keys(d, n, "a duty", duty_keys) < 0)
        return -1;
    if (!(x = dbg_yaml_map_get(d, n, "text")))
        return dbg_yaml_fail(d, n, "duty has no text");
    if (dbg_yaml_get_text(d, x, "text", &s) < 0 || !(out->text = dbg_strdup(s)))
        return -1;
    if (!(x = dbg_yaml_map_get(d, n, "source")))
        return dbg_yaml_fail(d, n, "duty has no source");
    if (dbg_yaml_get_text(d, x, "source", &s) < 0 || !(out->source = dbg_strdup(s)))
        return -1;
    if ((x = dbg_yaml_map_get(d, n, "id"))) {
        if (dbg_yaml_get_text(d, x, "id", &s) < 0 || !(out->id = dbg_strdup(s)))
            return -1;
    }
    if ((x = dbg_yaml_map_get(d, n, "verified")) &&
        dbg_yaml_get_bool(d, x, "verified", &out->pub.verified) < 0)
        return -1;
    if ((x = dbg_yaml_map_get(d, n, "levels"))) {
        if (dbg_yaml_want_seq(d, x, "levels") < 0)
            return -1;
        for (yaml_node_item_t *it = x->data.sequence.items.start; it < x->data.sequence.items.top;
             it++) {
            long l;
            if (dbg_yaml_get_long(d, dbg_yaml_node(d, *it), "a level", 1, 5, &l) < 0)
                return -1;
            out->levels |= 1u << l;
        }
    }
    if (need_levels && !out->levels)
        return dbg_yaml_fail(d, n, "duty has no levels");
    /* 100 years at most: the limit is added to a time in microseconds */
    if ((x = dbg_yaml_map_get(d, n, "attest_max_age_days")) &&
        dbg_yaml_get_long(d, x, "attest_max_age_days", 1, 36500, &out->attest_max_age_days) < 0)
        return -1;
    out->pub.id = out->id ? out->id : "";
    out->pub.text = out->text;
    out->pub.source = out->source;
    return 0;
}

static int parse_duties(dbg_grade_tables *t, dbg_yaml_doc *d, yaml_node_t *n)
{
    if (dbg_yaml_want_seq(d, n, "duties") < 0)
        return -1;
    size_t total = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (total > MAX_DUTIES)
        return dbg_yaml_fail(d, n, "more than %d duties", MAX_DUTIES);
    if (!(t->duties = dbg_calloc(total + 1, sizeof(*t->duties))))
        return -1;
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
         it++) {
        int r = parse_duty(d, dbg_yaml_node(d, *it), &t->duties[t->n_duties], 1);
        t->n_duties++; /* counted even on failure so its strings are freed */
        if (r < 0)
            return -1;
    }
    return 0;
}

static dbg_grade_tables *build(dbg_yaml_doc *d)
{
    dbg_grade_tables *t = dbg_calloc(1, sizeof(*t));
    yaml_node_t *root = dbg_yaml_root(d), *x;
    if (!t)
        return NULL;
    if (!root) {
        dbg_yaml_fail(d, NULL, "empty grading file");
        goto fail;
    }
    if (dbg_yaml_check_keys(d, root, "the grading file", top_keys) < 0)
        goto fail;
    long schema;
    if ((x = dbg_yaml_map_get(d, root, "schema")) &&
        dbg_yaml_get_long(d, x, "schema", 1, 1, &schema) < 0)
        goto fail;
    if (!(x = dbg_yaml_map_get(d, root, "objects"))) {
        dbg_yaml_fail(d, root, "no 'objects'");
        goto fail;
    }
    if (parse_classes(d, x, "objects", t->obj, &t->n_obj) < 0)
        goto fail;
    if (!(x = dbg_yaml_map_get(d, root, "degrees"))) {
        dbg_yaml_fail(d, root, "no 'degrees'");
        goto fail;
    }
    if (parse_classes(d, x, "degrees", t->deg, &t->n_deg) < 0)
        goto fail;
    if (!(x = dbg_yaml_map_get(d, root, "matrices"))) {
        dbg_yaml_fail(d, root, "no 'matrices'");
        goto fail;
    }
    if (parse_matrices(t, d, x) < 0)
        goto fail;
    if ((x = dbg_yaml_map_get(d, root, "duties")) && parse_duties(t, d, x) < 0)
        goto fail;
    if ((x = dbg_yaml_map_get(d, root, "hosts_rule"))) {
        t->have_hosts_rule = 1;
        if (parse_duty(d, x, &t->hosts_rule, 0) < 0)
            goto fail;
    }
    return t;
fail:
    dbg_grade_free(t);
    return NULL;
}

dbg_grade_tables *dbg_grade_load_buffer(const char *name, const char *data, size_t len)
{
    dbg_yaml_doc d;
    dbg_grade_tables *t = NULL;
    if (dbg_yaml_doc_load(&d, name, data, len) == 0)
        t = build(&d);
    dbg_yaml_doc_free(&d);
    return t;
}

dbg_grade_tables *dbg_grade_load(const char *path)
{
    DBG_AUTOFREE char *def = NULL;
    if (!path && !(path = def = dbg_datadir_join("grade/grade.yaml")))
        return NULL;
    dbg_yaml_doc d;
    dbg_grade_tables *t = NULL;
    if (dbg_yaml_doc_load_file(&d, path) == 0)
        t = build(&d);
    dbg_yaml_doc_free(&d);
    return t;
}

const char *dbg_grade_object_id(const dbg_grade_tables *t, const char *word)
{
    int i = find_class(t->obj, t->n_obj, word);
    return i < 0 ? NULL : t->obj[i].id;
}

const char *dbg_grade_degree_id(const dbg_grade_tables *t, const char *word)
{
    int i = find_class(t->deg, t->n_deg, word);
    return i < 0 ? NULL : t->deg[i].id;
}

const char *dbg_grade_object_label(const dbg_grade_tables *t, const char *id)
{
    int i = find_class(t->obj, t->n_obj, id);
    return i < 0 ? NULL : t->obj[i].label;
}

const char *dbg_grade_degree_label(const dbg_grade_tables *t, const char *id)
{
    int i = find_class(t->deg, t->n_deg, id);
    return i < 0 ? NULL : t->deg[i].label;
}

char *dbg_grade_accepted_words(const dbg_grade_tables *t, int degrees)
{
    const word_class *cls = degrees ? t->deg : t->obj;
    size_t n = degrees ? t->n_deg : t->n_obj;
    dbg_buf b;
    dbg_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < n; i++) {
        if (dbg_buf_printf(&b, "%s%s (", i ? " | " : "", cls[i].id) < 0)
            goto fail;
        for (size_t j = 0; j < cls[i].n_words; j++) {
            if (!strcmp(cls[i].words[j], cls[i].id))
                continue;
            if (dbg_buf_printf(&b, "%s%s", b.data[b.len - 1] == '(' ? "" : ", ", cls[i].words[j]) <
                0)
                goto fail;
        }
        if (dbg_buf_adds(&b, ")") < 0)
            goto fail;
    }
    return dbg_buf_steal(&b);
fail:
    dbg_buf_free(&b);
    return NULL;
}

const dbg_grade_matrix *dbg_grade_find_matrix(const dbg_grade_tables *t, const char *id)
{
    for (size_t i = 0; i < t->n_m; i++) {
        if (id ? dbg_streq(t->m[i].id, id) : t->m[i].pub.is_default)
            return &t->m[i].pub;
    }
    return NULL;
}

size_t dbg_grade_matrix_count(const dbg_grade_tables *t)
{
    return t->n_m;
}

const dbg_grade_matrix *dbg_grade_matrix_at(const dbg_grade_tables *t, size_t i)
{
    return i < t->n_m ? &t->m[i].pub : NULL;
}

static int unknown_word(const dbg_grade_tables *t, int degrees, const char *what, const char *word)
{
    DBG_AUTOFREE char *list = dbg_grade_accepted_words(t, degrees);
    dbg_err_set(DBG_ERR_USAGE, "unknown %s '%s'; accepted: %s", what, word ? word : "",
                list ? list : "?");
    return -1;
}

int dbg_grade_level(const dbg_grade_tables *t, const dbg_grade_matrix *m, const char *object,
                    const char *degree)
{
    int o = find_class(t->obj, t->n_obj, object);
    int g = find_class(t->deg, t->n_deg, degree);
    if (o < 0)
        return unknown_word(t, 0, "object", object);
    if (g < 0)
        return unknown_word(t, 1, "degree", degree);
    const matrix *mm = (const matrix *)m; /* pub is the first member */
    return mm->table[o][g];
}

int dbg_grade_decide(const dbg_grade_tables *t, const char *matrix_id, const char *business_object,
                     const char *business_degree, const char *service_object,
                     const char *service_degree, dbg_grade_result *out)
{
    const dbg_grade_matrix *m = dbg_grade_find_matrix(t, matrix_id);
    memset(out, 0, sizeof(*out));
    if (!m) {
        dbg_buf b;
        dbg_buf_init(&b, 4096);
        for (size_t i = 0; i < t->n_m; i++)
            dbg_buf_printf(&b, "%s%s", i ? ", " : "", t->m[i].id);
        dbg_err_set(DBG_ERR_USAGE, "unknown matrix '%s'; accepted: %s", matrix_id,
                    b.data ? b.data : "");
        dbg_buf_free(&b);
        return -1;
    }
    int bl = dbg_grade_level(t, m, business_object, business_degree);
    if (bl < 0)
        return -1;
    int sl = dbg_grade_level(t, m, service_object, service_degree);
    if (sl < 0)
        return -1;
    out->matrix = m;
    out->business_object = dbg_grade_object_id(t, business_object);
    out->business_degree = dbg_grade_degree_id(t, business_degree);
    out->service_object = dbg_grade_object_id(t, service_object);
    out->service_degree = dbg_grade_degree_id(t, service_degree);
    out->business_level = bl;
    out->service_level = sl;
    out->level = bl > sl ? bl : sl; /* GB/T 22240: the higher of the two dimensions */
    return 0;
}

size_t dbg_grade_duties(const dbg_grade_tables *t, int level, const dbg_grade_duty **out,
                        size_t max)
{
    size_t n = 0;
    if (level < 1 || level > 31)
        return 0;
    for (size_t i = 0; i < t->n_duties; i++) {
        if (!(t->duties[i].levels & (1u << level)))
            continue;
        if (n < max)
            out[n] = &t->duties[i].pub;
        n++;
    }
    return n;
}

int dbg_grade_attest_max_age_days(const dbg_grade_tables *t, int level)
{
    long best = 0;
    for (size_t i = 0; level >= 1 && level <= 31 && i < t->n_duties; i++) {
        long days = t->duties[i].attest_max_age_days;
        if ((t->duties[i].levels & (1u << level)) && days > 0 && (!best || days < best))
            best = days;
    }
    return (int)best;
}

const dbg_grade_duty *dbg_grade_hosts_rule(const dbg_grade_tables *t)
{
    return t->have_hosts_rule ? &t->hosts_rule.pub : NULL;
}
