/* Loads data/catalog/ YAML files into dbg_items: one YAML requirement lists the levels it applies
 * to with its clause per level and is expanded to one item per level. Every problem is reported as
 * "file:line:column: what" (see docs/internals/catalog.md for the schema). */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog_priv.h"
#include "catalog/yaml_doc.h"
#include "dengbao/catalog.h"
#include "dengbao/util.h"

#define MAX_ITEMS 20000 /* far above the ~250 items of GB/T 22239; bounds untrusted input */
#define MAX_FILES 256

typedef struct {
    char *name;
    double weight;
} importance_class;

typedef struct {
    dbg_catalog *cat;
    importance_class *imp;
    size_t n_imp;
} builder;

/* Per-file defaults a requirement starts from (keeps the data files compact). */
typedef struct {
    int have_ext;
    dbg_extension ext;
    int verified;
    const char *note;
    int have_resp;
    dbg_responsibility resp[3];
    const char *weight_name;
    double weight;
    int high_risk;
    yaml_node_t *objects;
    int high_risk_verified; /* high_risk_basis */
    const char *hr_source, *hr_source_en;
} file_defaults;

static const char *const file_keys[] = {
    "schema",       "extension", "defaults",        "importance",
    "requirements", "notes",     "high_risk_basis", NULL};
static const char *const default_keys[] = {"extension", "verified",  "note",    "responsibility",
                                           "weight",    "high_risk", "objects", NULL};
static const char *const req_keys[] = {
    "levels",      "extension",      "layer",    "control_point", "text",
    "objects",     "responsibility", "weight",   "high_risk",     "checks",
    "remediation", "remediation_en", "verified", "note",          NULL};
static const char *const level_keys[] = {"clause", "verified", "note", NULL};
static const char *const resp_keys[] = {"iaas", "paas", "saas", NULL};
static const char *const basis_keys[] = {"verified", "source", "source_en", NULL};
static const char *const importance_keys[] = {"weight",   "weight_2021", "label",
                                              "verified", "source",      NULL};

/* ---------- small parsers ---------- */

static int parse_extension(dbg_yaml_doc *d, yaml_node_t *n, dbg_extension *out)
{
    const char *s;
    if (dbg_yaml_get_str(d, n, "extension", &s) < 0)
        return -1;
    if (!strcmp(s, "general"))
        *out = DBG_EXT_GENERAL;
    else if (!strcmp(s, "cloud"))
        *out = DBG_EXT_CLOUD;
    else
        return dbg_yaml_fail(d, n, "extension '%.40s' is not general or cloud", s);
    return 0;
}

static int parse_resp_word(dbg_yaml_doc *d, yaml_node_t *n, dbg_responsibility *out)
{
    static const char *const names[] = {"provider", "tenant", "shared", "none"};
    const char *s;
    if (dbg_yaml_get_str(d, n, "responsibility", &s) < 0)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (!strcmp(s, names[i])) {
            *out = (dbg_responsibility)i;
            return 0;
        }
    }
    return dbg_yaml_fail(d, n, "responsibility '%.40s' is not provider, tenant, shared or none", s);
}

/* Either one word for all service models or {iaas: .., paas: .., saas: ..} (all three). */
static int parse_responsibility(dbg_yaml_doc *d, yaml_node_t *n, dbg_responsibility out[3])
{
    if (n->type == YAML_SCALAR_NODE) {
        if (parse_resp_word(d, n, &out[0]) < 0)
            return -1;
        out[1] = out[2] = out[0];
        return 0;
    }
    if (dbg_yaml_check_keys(d, n, "responsibility", resp_keys) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        yaml_node_t *v = dbg_yaml_map_get(d, n, resp_keys[i]);
        if (!v)
            return dbg_yaml_fail(d, n, "responsibility has no '%s'", resp_keys[i]);
        if (parse_resp_word(d, v, &out[i]) < 0)
            return -1;
    }
    return 0;
}

/* A weight of 0 would not make an item count for nothing: scoring takes a weight that is not
 * above 0 as unset and gives it the model's default (1), and a saved result with it is refused.
 * So the catalog refuses it where it is written. */
static int get_weight(dbg_yaml_doc *d, yaml_node_t *n, double *value)
{
    if (dbg_yaml_get_double(d, n, "weight", 0.0, 100.0, value) < 0)
        return -1;
    if (*value <= 0)
        return dbg_yaml_fail(d, n,
                             "weight must be above 0, not '%.40s' (every applicable item is "
                             "scored; one weighing 0 would be scored at the default weight)",
                             dbg_yaml_scalar(n));
    return 0;
}

/* A weight is a number or the name of an importance class (resolved after every file). */
static int parse_weight(dbg_yaml_doc *d, yaml_node_t *n, const char **name, double *value)
{
    const char *s;
    if (dbg_yaml_get_text(d, n, "weight", &s) < 0)
        return -1;
    if ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-') {
        *name = NULL;
        return get_weight(d, n, value);
    }
    *name = s;
    *value = NAN;
    return 0;
}

/* Clause syntax: "<level+5>.<1|2>.<n>.<n>" plus an optional sub-item letter. */
static int check_clause(dbg_yaml_doc *d, yaml_node_t *n, const char *clause, int level,
                        dbg_extension ext)
{
    const char *p = clause;
    int parts = 0;
    long nums[4] = {0};
    while (parts < 4) {
        if (*p < '0' || *p > '9')
            break;
        long v = 0;
        while (*p >= '0' && *p <= '9' && v < 1000)
            v = v * 10 + (*p++ - '0');
        nums[parts++] = v;
        if (parts < 4) {
            if (*p != '.')
                break;
            p++;
        }
    }
    if (parts == 4 && *p >= 'a' && *p <= 'z')
        p++;
    if (parts != 4 || *p)
        return dbg_yaml_fail(d, n, "clause '%.40s' is not like 8.2.4.3b", clause);
    if (nums[0] != level + 5)
        return dbg_yaml_fail(d, n, "clause '%.40s' is not a level-%d clause (those start with %d.)",
                             clause, level, level + 5);
    long want = ext == DBG_EXT_CLOUD ? 2 : 1;
    if (nums[1] != want)
        return dbg_yaml_fail(d, n, "clause '%.40s' is not a %s clause (those start with %d.%ld.)",
                             clause, dbg_extension_name(ext), level + 5, want);
    return 0;
}

static int check_id_syntax(dbg_yaml_doc *d, yaml_node_t *n, const char *id)
{
    for (const char *p = id; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
              *p == '.'))
            return dbg_yaml_fail(d, n, "check id '%.60s' may hold only a-z 0-9 _ - .", id);
    }
    return 0;
}

/* ---------- items ---------- */

static dbg_item *new_item(builder *b, dbg_yaml_doc *d, yaml_node_t *at)
{
    dbg_catalog *c = b->cat;
    if (c->n >= MAX_ITEMS) {
        dbg_err_set(DBG_ERR_LIMIT, "%s:%zu:%zu: more than %d catalog items", d->name,
                    at->start_mark.line + 1, at->start_mark.column + 1, MAX_ITEMS);
        return NULL;
    }
    if (dbg_grow_array((void **)&c->items, &c->cap, c->n + 1, sizeof(*c->items), 64) < 0)
        return NULL;
    dbg_item *it = &c->items[c->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

static int copy_list(char ***dst, size_t *n_dst, char **src, size_t n_src)
{
    *dst = dbg_calloc(n_src + 1, sizeof(char *));
    if (!*dst)
        return -1;
    for (size_t i = 0; i < n_src; i++) {
        if (!((*dst)[i] = dbg_strdup(src[i])))
            return -1;
        *n_dst = i + 1;
    }
    *n_dst = n_src;
    return 0;
}

/* Everything one requirement says, shared by its per-level items. */
typedef struct {
    dbg_extension ext;
    const char *layer, *control_point, *remediation, *remediation_en, *note, *weight_name;
    double weight;
    int high_risk, verified;
    dbg_responsibility resp[3];
    char **objects, **checks;
    size_t n_objects, n_checks;
    yaml_node_t *text;
} requirement;

static const char *text_for_level(dbg_yaml_doc *d, yaml_node_t *text, int level)
{
    if (text->type == YAML_SCALAR_NODE)
        return dbg_yaml_scalar(text);
    for (yaml_node_pair_t *p = text->data.mapping.pairs.start; p < text->data.mapping.pairs.top;
         p++) {
        long l;
        if (dbg_parse_long(dbg_yaml_scalar(dbg_yaml_node(d, p->key)), 1, 4, &l) == 0 && l == level)
            return dbg_yaml_scalar(dbg_yaml_node(d, p->value));
    }
    return NULL;
}

static int text_is_valid(dbg_yaml_doc *d, yaml_node_t *text, yaml_node_t *levels)
{
    const char *s;
    if (text->type == YAML_SCALAR_NODE)
        return dbg_yaml_get_text(d, text, "text", &s);
    if (text->type != YAML_MAPPING_NODE)
        return dbg_yaml_fail(d, text, "text must be a string or a mapping level -> string");
    for (yaml_node_pair_t *p = text->data.mapping.pairs.start; p < text->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key);
        long l;
        if (dbg_yaml_get_long(d, k, "a text level", 1, 4, &l) < 0)
            return -1;
        char key[4];
        snprintf(key, sizeof(key), "%ld", l);
        if (!dbg_yaml_map_get(d, levels, key))
            return dbg_yaml_fail(d, k, "text for level %ld, which is not in 'levels'", l);
        for (yaml_node_pair_t *q = text->data.mapping.pairs.start; q < p; q++) {
            long l2;
            if (dbg_parse_long(dbg_yaml_scalar(dbg_yaml_node(d, q->key)), 1, 4, &l2) == 0 &&
                l2 == l)
                return dbg_yaml_fail(d, k, "duplicate text for level %ld", l);
        }
        if (dbg_yaml_get_text(d, dbg_yaml_node(d, p->value), "text", &s) < 0)
            return -1;
    }
    return 0;
}

static int add_level_item(builder *b, dbg_yaml_doc *d, yaml_node_t *req_node, const requirement *r,
                          const file_defaults *def, int level, const char *clause, int verified,
                          const char *note, const char *text)
{
    dbg_item *it = new_item(b, d, req_node);
    if (!it)
        return -1;
    it->level = level;
    it->extension = r->ext;
    it->id = dbg_asprintf("L%d-%s-%s", level, dbg_extension_name(r->ext), clause);
    it->clause = dbg_strdup(clause);
    it->layer = dbg_strdup(r->layer);
    it->control_point = dbg_strdup(r->control_point);
    it->text = dbg_strdup(text);
    it->remediation = dbg_strdup(r->remediation);
    it->remediation_en = dbg_strdup(r->remediation_en);
    it->note = dbg_strdup(note);
    it->importance = dbg_strdup(r->weight_name);
    it->src_file = dbg_strdup(d->name);
    it->src_line = (int)req_node->start_mark.line + 1;
    it->src_column = (int)req_node->start_mark.column + 1;
    it->resp_iaas = r->resp[0];
    it->resp_paas = r->resp[1];
    it->resp_saas = r->resp[2];
    it->weight = r->weight;
    it->high_risk = r->high_risk;
    it->verified = verified;
    it->high_risk_verified = def->high_risk_verified;
    it->high_risk_source = dbg_strdup(def->hr_source);
    it->high_risk_source_en = dbg_strdup(def->hr_source_en);
    if ((def->hr_source && !it->high_risk_source) ||
        (def->hr_source_en && !it->high_risk_source_en))
        return -1;
    if (!it->id || !it->clause || !it->layer || !it->control_point || !it->text || !it->src_file ||
        (r->remediation && !it->remediation) || (r->remediation_en && !it->remediation_en) ||
        (note && !it->note) || (r->weight_name && !it->importance))
        return -1;
    if (copy_list(&it->objects, &it->n_objects, r->objects, r->n_objects) < 0 ||
        copy_list(&it->checks, &it->n_checks, r->checks, r->n_checks) < 0)
        return -1;
    return 0;
}

static int parse_levels(builder *b, dbg_yaml_doc *d, yaml_node_t *req_node, yaml_node_t *levels,
                        requirement *r, const file_defaults *def)
{
    if (dbg_yaml_want_map(d, levels, "levels") < 0)
        return -1;
    if (levels->data.mapping.pairs.top == levels->data.mapping.pairs.start)
        return dbg_yaml_fail(d, levels, "levels is empty");
    size_t first = b->cat->n;
    int seen[5] = {0};
    for (yaml_node_pair_t *p = levels->data.mapping.pairs.start; p < levels->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key), *v = dbg_yaml_node(d, p->value);
        const char *ks = dbg_yaml_scalar(k);
        long level;
        if (!ks || dbg_parse_long(ks, -1000000, 1000000, &level) < 0)
            return dbg_yaml_fail(d, k, "level '%.20s' is not a number 1..4",
                                 ks ? ks : "(not a scalar)");
        if (level < 1 || level > 4)
            return dbg_yaml_fail(d, k, "level %ld is not 1..4", level);
        if (seen[level])
            return dbg_yaml_fail(d, k, "level %ld listed twice", level);
        seen[level] = 1;
        const char *clause = NULL, *note = r->note;
        int verified = r->verified;
        yaml_node_t *clause_node = v;
        if (v->type == YAML_MAPPING_NODE) {
            if (dbg_yaml_check_keys(d, v, "a level entry", level_keys) < 0)
                return -1;
            clause_node = dbg_yaml_map_get(d, v, "clause");
            if (!clause_node)
                return dbg_yaml_fail(d, v, "level %ld has no clause", level);
            yaml_node_t *n;
            if ((n = dbg_yaml_map_get(d, v, "verified"))) {
                int lv;
                if (dbg_yaml_get_bool(d, n, "verified", &lv) < 0)
                    return -1;
                verified = verified && lv;
            }
            if ((n = dbg_yaml_map_get(d, v, "note")) && dbg_yaml_get_text(d, n, "note", &note) < 0)
                return -1;
        }
        if (dbg_yaml_get_text(d, clause_node, "clause", &clause) < 0 ||
            check_clause(d, clause_node, clause, (int)level, r->ext) < 0)
            return -1;
        const char *text = text_for_level(d, r->text, (int)level);
        if (!text)
            return dbg_yaml_fail(d, r->text, "no text for level %ld", level);
        if (add_level_item(b, d, req_node, r, def, (int)level, clause, verified, note, text) < 0)
            return -1;
    }
    /* The cross-level key: the level-3 clause when there is one, else the highest level's. */
    const dbg_item *pick = NULL;
    for (size_t i = first; i < b->cat->n; i++) {
        const dbg_item *it = &b->cat->items[i];
        if (!pick || it->level == 3 || (pick->level != 3 && it->level > pick->level))
            pick = it;
    }
    if (!pick)
        return dbg_yaml_fail(d, levels, "levels is empty");
    char *key = dbg_asprintf("%s-%s", dbg_extension_name(r->ext), pick->clause);
    if (!key)
        return -1;
    for (size_t i = first; i < b->cat->n; i++) {
        if (!(b->cat->items[i].requirement = dbg_strdup(key))) {
            free(key);
            return -1;
        }
    }
    free(key);
    return 0;
}

static int parse_requirement(builder *b, dbg_yaml_doc *d, yaml_node_t *n, const file_defaults *def)
{
    requirement r = {.ext = def->ext,
                     .verified = def->verified,
                     .note = def->note,
                     .weight_name = def->weight_name,
                     .weight = def->weight,
                     .high_risk = def->high_risk};
    memcpy(r.resp, def->resp, sizeof(r.resp));
    int rc = -1;
    yaml_node_t *v;
    if (dbg_yaml_check_keys(d, n, "a requirement", req_keys) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "extension"))) {
        if (parse_extension(d, v, &r.ext) < 0)
            return -1;
    } else if (!def->have_ext) {
        return dbg_yaml_fail(d, n, "requirement has no 'extension' (general or cloud)");
    }
    if (!(v = dbg_yaml_map_get(d, n, "layer")))
        return dbg_yaml_fail(d, n, "requirement has no 'layer'");
    if (dbg_yaml_get_text(d, v, "layer", &r.layer) < 0)
        return -1;
    /* A layer the standard does not have (a typo, a trailing space) loaded, and its item then
     * fell out of `catalog list --layer` and sorted after every layer in the gap summary. */
    if (dbg_layer_order(r.layer) < 0) {
        dbg_buf names;
        dbg_buf_init(&names, 4096);
        dbg_catalog_layer_names(&names);
        dbg_yaml_fail(d, v, "layer '%.60s' is not one of GB/T 22239-2019's ten (%s)", r.layer,
                      names.data ? names.data : "");
        dbg_buf_free(&names);
        return -1;
    }
    if (!(v = dbg_yaml_map_get(d, n, "control_point")))
        return dbg_yaml_fail(d, n, "requirement has no 'control_point'");
    if (dbg_yaml_get_text(d, v, "control_point", &r.control_point) < 0)
        return -1;
    yaml_node_t *levels = dbg_yaml_map_get(d, n, "levels");
    if (!levels)
        return dbg_yaml_fail(d, n, "requirement has no 'levels' (level: clause, e.g. 3: 8.2.4.3b)");
    if (!(r.text = dbg_yaml_map_get(d, n, "text")))
        return dbg_yaml_fail(d, n, "requirement has no 'text'");
    if (dbg_yaml_want_map(d, levels, "levels") < 0 || text_is_valid(d, r.text, levels) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "remediation")) &&
        dbg_yaml_get_text(d, v, "remediation", &r.remediation) < 0)
        return -1;
    /* The English text renders the Chinese one for --lang en; alone it would leave the Chinese
     * reports, the primary ones, without the advice. */
    if ((v = dbg_yaml_map_get(d, n, "remediation_en"))) {
        if (dbg_yaml_get_text(d, v, "remediation_en", &r.remediation_en) < 0)
            return -1;
        if (!r.remediation)
            return dbg_yaml_fail(d, v,
                                 "remediation_en without remediation (the Chinese text it "
                                 "translates)");
        /* the Chinese given again (an alias *rem, a copy) is no translation: English reports
         * then mark it as the Chinese text, and validate warns, as when the key is absent */
        if (!strcmp(r.remediation_en, r.remediation))
            r.remediation_en = NULL;
    }
    if ((v = dbg_yaml_map_get(d, n, "note")) && dbg_yaml_get_text(d, v, "note", &r.note) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "verified")) &&
        dbg_yaml_get_bool(d, v, "verified", &r.verified) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "high_risk")) &&
        dbg_yaml_get_bool(d, v, "high_risk", &r.high_risk) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "weight")) && parse_weight(d, v, &r.weight_name, &r.weight) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "responsibility")) && parse_responsibility(d, v, r.resp) < 0)
        return -1;
    yaml_node_t *objects = dbg_yaml_map_get(d, n, "objects");
    if (!objects)
        objects = def->objects;
    if (objects && dbg_yaml_get_str_list(d, objects, "objects", &r.objects, &r.n_objects) < 0)
        goto out;
    if ((v = dbg_yaml_map_get(d, n, "checks"))) {
        if (dbg_yaml_get_str_list(d, v, "checks", &r.checks, &r.n_checks) < 0)
            goto out;
        for (size_t i = 0; i < r.n_checks; i++) {
            if (check_id_syntax(d, dbg_yaml_node(d, v->data.sequence.items.start[i]), r.checks[i]) <
                0)
                goto out;
        }
    }
    rc = parse_levels(b, d, n, levels, &r, def);
out:
    dbg_yaml_str_list_free(r.objects, r.n_objects);
    dbg_yaml_str_list_free(r.checks, r.n_checks);
    return rc;
}

/* ---------- file level ---------- */

static int parse_defaults(dbg_yaml_doc *d, yaml_node_t *n, file_defaults *def)
{
    yaml_node_t *v;
    if (dbg_yaml_check_keys(d, n, "defaults", default_keys) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "extension"))) {
        if (parse_extension(d, v, &def->ext) < 0)
            return -1;
        def->have_ext = 1;
    }
    if ((v = dbg_yaml_map_get(d, n, "verified")) &&
        dbg_yaml_get_bool(d, v, "verified", &def->verified) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "note")) && dbg_yaml_get_text(d, v, "note", &def->note) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "responsibility")) && parse_responsibility(d, v, def->resp) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "weight")) &&
        parse_weight(d, v, &def->weight_name, &def->weight) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "high_risk")) &&
        dbg_yaml_get_bool(d, v, "high_risk", &def->high_risk) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "objects"))) {
        if (dbg_yaml_want_seq(d, v, "objects") < 0)
            return -1;
        def->objects = v;
    }
    return 0;
}

static int parse_importance(builder *b, dbg_yaml_doc *d, yaml_node_t *n)
{
    if (dbg_yaml_want_map(d, n, "importance") < 0)
        return -1;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = dbg_yaml_node(d, p->key), *v = dbg_yaml_node(d, p->value);
        const char *name, *s;
        double w, w21;
        int flag;
        if (dbg_yaml_get_text(d, k, "an importance name", &name) < 0 ||
            dbg_yaml_check_keys(d, v, "an importance class", importance_keys) < 0)
            return -1;
        yaml_node_t *wn = dbg_yaml_map_get(d, v, "weight"), *x;
        if (!wn)
            return dbg_yaml_fail(d, v, "importance '%.40s' has no weight", name);
        if (get_weight(d, wn, &w) < 0)
            return -1;
        /* The other keys are documentation; still type-checked so typos surface. */
        if (((x = dbg_yaml_map_get(d, v, "weight_2021")) &&
             dbg_yaml_get_double(d, x, "weight_2021", 0.0, 100.0, &w21) < 0) ||
            ((x = dbg_yaml_map_get(d, v, "label")) && dbg_yaml_get_text(d, x, "label", &s) < 0) ||
            ((x = dbg_yaml_map_get(d, v, "source")) && dbg_yaml_get_text(d, x, "source", &s) < 0) ||
            ((x = dbg_yaml_map_get(d, v, "verified")) &&
             dbg_yaml_get_bool(d, x, "verified", &flag) < 0))
            return -1;
        for (size_t i = 0; i < b->n_imp; i++) {
            if (!strcmp(b->imp[i].name, name))
                return dbg_yaml_fail(d, k, "importance '%.40s' defined twice", name);
        }
        importance_class *imp = dbg_reallocarray(b->imp, b->n_imp + 1, sizeof(*imp));
        if (!imp)
            return -1;
        b->imp = imp;
        if (!(imp[b->n_imp].name = dbg_strdup(name)))
            return -1;
        imp[b->n_imp++].weight = w;
    }
    return 0;
}

static int check_notes(dbg_yaml_doc *d, yaml_node_t *n)
{
    const char *s;
    char **list = NULL;
    size_t count = 0;
    if (n->type == YAML_SCALAR_NODE)
        return dbg_yaml_get_str(d, n, "notes", &s);
    if (dbg_yaml_get_str_list(d, n, "notes", &list, &count) < 0)
        return -1;
    dbg_yaml_str_list_free(list, count);
    return 0;
}

/* Pass 1 (all files): schema and importance classes, so weights may name classes of any file. */
static int parse_file_head(builder *b, dbg_yaml_doc *d)
{
    yaml_node_t *root = dbg_yaml_root(d), *v;
    if (!root)
        return 0; /* an empty file holds nothing */
    if (dbg_yaml_check_keys(d, root, "a catalog file", file_keys) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, root, "schema"))) {
        long schema;
        if (dbg_yaml_get_long(d, v, "schema", 1, 1, &schema) < 0)
            return -1;
    }
    if ((v = dbg_yaml_map_get(d, root, "notes")) && check_notes(d, v) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, root, "importance")) && parse_importance(b, d, v) < 0)
        return -1;
    return 0;
}

/* high_risk_basis: {verified, source, source_en}, where the file's high_risk flags come from.
 * Both verified and source are required: a basis that names no source cannot be checked, and a
 * flag whose basis is left out would read as confirmed. A file without the key has unverified
 * flags (no source), which the reports then state. */
static int parse_high_risk_basis(dbg_yaml_doc *d, yaml_node_t *n, file_defaults *def)
{
    yaml_node_t *v;
    if (dbg_yaml_check_keys(d, n, "high_risk_basis", basis_keys) < 0)
        return -1;
    if (!(v = dbg_yaml_map_get(d, n, "verified")))
        return dbg_yaml_fail(d, n, "high_risk_basis has no 'verified' (true or false)");
    if (dbg_yaml_get_bool(d, v, "verified", &def->high_risk_verified) < 0)
        return -1;
    if (!(v = dbg_yaml_map_get(d, n, "source")))
        return dbg_yaml_fail(d, n,
                             "high_risk_basis has no 'source' (the high-risk list the flags "
                             "follow)");
    if (dbg_yaml_get_text(d, v, "source", &def->hr_source) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, n, "source_en")) &&
        dbg_yaml_get_text(d, v, "source_en", &def->hr_source_en) < 0)
        return -1;
    return 0;
}

/* Pass 2: the requirements. */
static int parse_file_body(builder *b, dbg_yaml_doc *d)
{
    yaml_node_t *root = dbg_yaml_root(d), *v;
    file_defaults def = {
        .verified = 1, .weight = NAN, .resp = {DBG_RESP_NONE, DBG_RESP_NONE, DBG_RESP_NONE}};
    if (!root)
        return 0;
    if ((v = dbg_yaml_map_get(d, root, "extension"))) {
        if (parse_extension(d, v, &def.ext) < 0)
            return -1;
        def.have_ext = 1;
    }
    if ((v = dbg_yaml_map_get(d, root, "defaults")) && parse_defaults(d, v, &def) < 0)
        return -1;
    if ((v = dbg_yaml_map_get(d, root, "high_risk_basis")) && parse_high_risk_basis(d, v, &def) < 0)
        return -1;
    yaml_node_t *reqs = dbg_yaml_map_get(d, root, "requirements");
    if (!reqs)
        return 0;
    if (dbg_yaml_want_seq(d, reqs, "requirements") < 0)
        return -1;
    for (yaml_node_item_t *it = reqs->data.sequence.items.start; it < reqs->data.sequence.items.top;
         it++) {
        if (parse_requirement(b, d, dbg_yaml_node(d, *it), &def) < 0)
            return -1;
    }
    return 0;
}

/* ---------- whole-catalog checks ---------- */

static int resolve_weights(builder *b)
{
    for (size_t i = 0; i < b->cat->n; i++) {
        dbg_item *it = &b->cat->items[i];
        if (!it->importance) {
            if (isnan(it->weight))
                it->weight = 1.0; /* no weight anywhere: unweighted */
            continue;
        }
        size_t j = 0;
        while (j < b->n_imp && strcmp(b->imp[j].name, it->importance))
            j++;
        if (j == b->n_imp) {
            dbg_err_set(DBG_ERR_INVALID,
                        "%s:%d:%d: weight '%s' is neither a number nor an importance class defined "
                        "in the catalog (load scoring.yaml too)",
                        it->src_file, it->src_line, it->src_column, it->importance);
            return -1;
        }
        it->weight = b->imp[j].weight;
    }
    return 0;
}

static int cmp_by_id(const void *a, const void *b, void *ctx)
{
    const dbg_catalog *cat = ctx;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int r = strcmp(cat->items[ia].id, cat->items[ib].id);
    return r ? r : (ia < ib ? -1 : ia > ib);
}

static int check_duplicates(dbg_catalog *cat)
{
    if (cat->n < 2)
        return 0;
    size_t *idx = dbg_calloc(cat->n, sizeof(*idx));
    if (!idx)
        return -1;
    for (size_t i = 0; i < cat->n; i++)
        idx[i] = i;
    /* Sorting indexes (ties by definition order) finds duplicates in O(n log n) and still
     * reports the first one in file order. */
    qsort_r(idx, cat->n, sizeof(*idx), cmp_by_id, cat);
    size_t dup = cat->n, orig = 0;
    for (size_t i = 1; i < cat->n; i++) {
        if (!strcmp(cat->items[idx[i]].id, cat->items[idx[i - 1]].id) && idx[i] < dup) {
            size_t j = i - 1;
            while (j > 0 && !strcmp(cat->items[idx[j - 1]].id, cat->items[idx[i]].id))
                j--;
            dup = idx[i];
            orig = idx[j];
        }
    }
    free(idx);
    if (dup == cat->n)
        return 0;
    const dbg_item *a = &cat->items[dup], *o = &cat->items[orig];
    dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: duplicate id '%s' (first defined at %s:%d:%d)",
                a->src_file, a->src_line, a->src_column, a->id, o->src_file, o->src_line,
                o->src_column);
    return -1;
}

static int check_check_ids(dbg_catalog *cat, const dbg_catalog_opts *opts)
{
    if (!opts || !opts->check_exists)
        return 0;
    for (size_t i = 0; i < cat->n; i++) {
        const dbg_item *it = &cat->items[i];
        for (size_t j = 0; j < it->n_checks; j++) {
            if (opts->check_exists(it->checks[j], opts->opaque))
                continue;
            if (opts->unknown_check_is_error) {
                dbg_err_set(DBG_ERR_INVALID, "%s:%d:%d: %s: check '%s' is not registered",
                            it->src_file, it->src_line, it->src_column, it->id, it->checks[j]);
                return -1;
            }
            cat->warnings++;
            dbg_warn("%s:%d:%d: %s: check '%s' is not registered (item treated as manual)",
                     it->src_file, it->src_line, it->src_column, it->id, it->checks[j]);
        }
    }
    return 0;
}

/* ---------- entry points ---------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_yaml_suffix(const char *name)
{
    size_t l = strlen(name);
    return (l > 5 && !strcmp(name + l - 5, ".yaml")) || (l > 4 && !strcmp(name + l - 4, ".yml"));
}

/* Sorted *.yaml / *.yml files of a directory (hidden files skipped). */
static int list_dir(const char *dir, char ***out, size_t *count)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        dbg_err_errno(DBG_ERR_IO, "%s: cannot open directory", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = -1;
    while ((e = readdir(dh))) {
        if (e->d_name[0] == '.' || !has_yaml_suffix(e->d_name))
            continue;
        if (n >= MAX_FILES) {
            dbg_err_set(DBG_ERR_LIMIT, "%s: more than %d catalog files", dir, MAX_FILES);
            goto out;
        }
        char **grown = dbg_reallocarray(names, n + 1, sizeof(*names));
        if (!grown)
            goto out;
        names = grown;
        if (!(names[n] = dbg_path_join(dir, e->d_name)))
            goto out;
        n++;
    }
    if (n == 0) {
        dbg_err_set(DBG_ERR_NOTFOUND, "%s: no *.yaml catalog files in this directory", dir);
        goto out;
    }
    qsort(names, n, sizeof(*names), cmp_str);
    *out = names;
    *count = n;
    names = NULL;
    n = 0;
    rc = 0;
out:
    closedir(dh);
    dbg_yaml_str_list_free(names, n);
    return rc;
}

static dbg_catalog *build(dbg_yaml_doc *docs, size_t n_docs, const dbg_catalog_opts *opts)
{
    builder b = {0};
    if (!(b.cat = dbg_calloc(1, sizeof(*b.cat))))
        return NULL;
    int ok = 1;
    for (size_t i = 0; ok && i < n_docs; i++)
        ok = parse_file_head(&b, &docs[i]) == 0;
    for (size_t i = 0; ok && i < n_docs; i++)
        ok = parse_file_body(&b, &docs[i]) == 0;
    ok = ok && resolve_weights(&b) == 0 && check_duplicates(b.cat) == 0 &&
         check_check_ids(b.cat, opts) == 0;
    for (size_t i = 0; i < b.n_imp; i++)
        free(b.imp[i].name);
    free(b.imp);
    if (!ok) {
        dbg_catalog_free(b.cat);
        return NULL;
    }
    return b.cat;
}

dbg_catalog *dbg_catalog_load_buffer(const char *name, const char *data, size_t len,
                                     const dbg_catalog_opts *opts)
{
    dbg_yaml_doc doc;
    dbg_catalog *cat = NULL;
    if (dbg_yaml_doc_load(&doc, name, data, len) == 0)
        cat = build(&doc, 1, opts);
    dbg_yaml_doc_free(&doc);
    return cat;
}

char *dbg_catalog_default_path(void)
{
    return dbg_datadir_join("catalog");
}

dbg_catalog *dbg_catalog_load(const char *path, const dbg_catalog_opts *opts)
{
    DBG_AUTOFREE char *def = NULL;
    char **files = NULL;
    size_t n_files = 0;
    dbg_yaml_doc *docs = NULL;
    dbg_catalog *cat = NULL;
    if (!path && !(path = def = dbg_catalog_default_path()))
        return NULL;
    if (dbg_path_is_dir(path)) {
        if (list_dir(path, &files, &n_files) < 0)
            return NULL;
    } else {
        if (!(files = dbg_calloc(1, sizeof(*files))) || !(files[0] = dbg_strdup(path)))
            goto out;
        n_files = 1;
    }
    if (!(docs = dbg_calloc(n_files, sizeof(*docs))))
        goto out;
    size_t loaded = 0;
    for (; loaded < n_files; loaded++) {
        if (dbg_yaml_doc_load_file(&docs[loaded], files[loaded]) < 0) {
            dbg_yaml_doc_free(&docs[loaded]);
            break;
        }
    }
    if (loaded == n_files)
        cat = build(docs, n_files, opts);
    /* An empty or comment-only file (or a directory of scoring settings only) loaded as
     * "0 items, 0 errors" and assessed nothing; refuse it like a directory without *.yaml. */
    if (cat && cat->n == 0) {
        dbg_err_set(DBG_ERR_NOTFOUND,
                    dbg_path_is_dir(path) ? "%s: no requirement items in the catalog files of "
                                            "this directory"
                                          : "%s: no requirement items in this catalog file (it "
                                            "is empty or holds only comments or scoring)",
                    path);
        dbg_catalog_free(cat);
        cat = NULL;
    }
    for (size_t i = 0; i < loaded; i++)
        dbg_yaml_doc_free(&docs[i]);
out:
    free(docs);
    dbg_yaml_str_list_free(files, n_files);
    return cat;
}
