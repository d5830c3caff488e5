/* The snapshot's JSON shape as data: one field table per struct, used by the writer, the
 * reader and the destructor alike, so the three can never disagree about a field. */
#ifndef DBG_PLATFORM_SNAPSHOT_SCHEMA_H
#define DBG_PLATFORM_SNAPSHOT_SCHEMA_H

#include <stddef.h>

typedef enum {
    DBG_F_STR,  /* char *, JSON string or null */
    DBG_F_BOOL, /* int 0/1, JSON true/false */
    DBG_F_INT,  /* int, JSON integer */
    DBG_F_I64,  /* int64_t, JSON integer */
    DBG_F_U64,  /* uint64_t, JSON integer >= 0 */
    DBG_F_SIZE, /* size_t, JSON integer >= 0 */
    DBG_F_STRV, /* char ** + size_t count, JSON array of strings */
    DBG_F_INTV, /* int * + size_t count, JSON array of integers */
    DBG_F_OBJV, /* T * + size_t count, JSON array of objects described by sub */
} dbg_field_kind;

struct dbg_objdesc;

typedef struct {
    const char *key;
    dbg_field_kind kind;
    size_t off;       /* offset of the value (or array pointer) in the struct */
    size_t count_off; /* offset of the size_t count, for arrays */
    const struct dbg_objdesc *sub;
    int dflt;     /* INT: default when the key is absent (-1 for "unknown");
                     STR: 1 = never NULL, an absent or null value reads as "" */
    int required; /* the key must be present (and, for STR, a string, not null) */
} dbg_field;

typedef struct dbg_objdesc {
    const char *name; /* for messages */
    size_t size;      /* sizeof the struct */
    const dbg_field *fields;
    size_t n_fields;
} dbg_objdesc;

extern const dbg_objdesc dbg_snapshot_desc;

/* Frees every member of obj described by d (not obj itself). */
void dbg_objdesc_free_members(const dbg_objdesc *d, void *obj);

#endif
