/* Catalog accessors: counting, lookup by id or clause (with the same requirement at another
 * level), names of enums, and freeing. Loading lives in catalog_load.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog_priv.h"
#include "dengbao/util.h"

static void item_free(dbg_item *it)
{
    free(it->id);
    free(it->clause);
    free(it->layer);
    free(it->control_point);
    free(it->text);
    for (size_t i = 0; it->objects && i < it->n_objects; i++)
        free(it->objects[i]);
    free(it->objects);
    for (size_t i = 0; it->checks && i < it->n_checks; i++)
        free(it->checks[i]);
    free(it->checks);
    free(it->remediation);
    free(it->remediation_en);
    free(it->src_file);
    free(it->requirement);
    free(it->note);
    free(it->importance);
    free(it->high_risk_source);
    free(it->high_risk_source_en);
}

void dbg_catalog_free(dbg_catalog *cat)
{
    if (!cat)
        return;
    for (size_t i = 0; i < cat->n; i++)
        item_free(&cat->items[i]);
    free(cat->items);
    free(cat);
}

size_t dbg_catalog_count(const dbg_catalog *cat)
{
    return cat ? cat->n : 0;
}

size_t dbg_catalog_warning_count(const dbg_catalog *cat)
{
    return cat ? cat->warnings : 0;
}

const dbg_item *dbg_catalog_item(const dbg_catalog *cat, size_t i)
{
    return cat && i < cat->n ? &cat->items[i] : NULL;
}

const dbg_item *dbg_catalog_sibling(const dbg_catalog *cat, const dbg_item *item, int level)
{
    if (!cat || !item)
        return NULL;
    if (item->level == level)
        return item;
    for (size_t i = 0; i < cat->n; i++) {
        const dbg_item *it = &cat->items[i];
        if (it->level == level && dbg_streq(it->requirement, item->requirement))
            return it;
    }
    return NULL;
}

/* Chinese documents (GB/T 28448, assessors' attestations) write the letter in full-width
 * parentheses, "8.2.4.3（b）" or "8.2.4.3 b）", and may space with U+3000: ignored as the ASCII
 * ones are, else such a clause named no item. */
static size_t cjk_separator_len(const char *p)
{
    static const char *const seps[] = {"\xef\xbc\x88", "\xef\xbc\x89", "\xe3\x80\x80"};
    for (size_t i = 0; i < sizeof(seps) / sizeof(seps[0]); i++)
        if (!strncmp(p, seps[i], 3))
            return 3;
    return 0;
}

void dbg_clause_normalize(const char *in, char *out, size_t size)
{
    size_t o = 0;
    for (const char *p = in; *p && o + 1 < size; p++) {
        char c = *p;
        size_t skip = cjk_separator_len(p);
        if (skip) {
            p += skip - 1;
            continue;
        }
        if (c == ' ' || c == '\t' || c == ')' || c == '(')
            continue;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c >= 'a' && c <= 'z' && o > 0 && out[o - 1] == '.')
            o--;
        out[o++] = c;
    }
    out[o] = '\0';
}

const dbg_item *dbg_catalog_find(const dbg_catalog *cat, const char *id_or_clause, int level)
{
    if (!cat || !id_or_clause)
        return NULL;
    for (size_t i = 0; i < cat->n; i++) {
        if (!strcasecmp(cat->items[i].id, id_or_clause)) /* l3-cloud-8.2.4.3b as 8.2.4.3B */
            return level ? dbg_catalog_sibling(cat, &cat->items[i], level) : &cat->items[i];
    }
    char clause[64];
    dbg_clause_normalize(id_or_clause, clause, sizeof(clause));
    const dbg_item *other = NULL;
    for (size_t i = 0; i < cat->n; i++) {
        const dbg_item *it = &cat->items[i];
        if (strcmp(it->clause, clause))
            continue;
        if (!level || it->level == level)
            return it;
        if (!other)
            other = it;
    }
    return other ? dbg_catalog_sibling(cat, other, level) : NULL;
}

const char *dbg_responsibility_name(dbg_responsibility r)
{
    switch (r) {
    case DBG_RESP_PROVIDER:
        return "provider";
    case DBG_RESP_TENANT:
        return "tenant";
    case DBG_RESP_SHARED:
        return "shared";
    default:
        return "none";
    }
}

const char *dbg_extension_name(dbg_extension e)
{
    return e == DBG_EXT_CLOUD ? "cloud" : "general";
}

/* The ten layers (层面) of GB/T 22239-2019, in its order; the extensions use the same ten. */
static const struct {
    const char *zh, *en;
} layers[] = {
    {"安全物理环境", "Physical environment"},
    {"安全通信网络", "Communication network"},
    {"安全区域边界", "Area boundary"},
    {"安全计算环境", "Computing environment"},
    {"安全管理中心", "Security management center"},
    {"安全管理制度", "Management policies"},
    {"安全管理机构", "Management organization"},
    {"安全管理人员", "Management personnel"},
    {"安全建设管理", "Construction management"},
    {"安全运维管理", "Operation and maintenance"},
};

int dbg_layer_order(const char *layer)
{
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
        if (dbg_streq(layer, layers[i].zh))
            return (int)i;
    return -1;
}

const char *dbg_layer_name_en(const char *layer)
{
    int i = dbg_layer_order(layer);
    return i < 0 ? layer : layers[i].en;
}

int dbg_catalog_layer_names(dbg_buf *b)
{
    for (size_t i = 0; i < sizeof(layers) / sizeof(layers[0]); i++)
        if (dbg_buf_printf(b, "%s%s", i ? ", " : "", layers[i].zh) < 0)
            return -1;
    return 0;
}
