/* A small YAML reader for the assess module's own input files (scoring model, attestation,
 * waivers): libyaml events into a jansson tree. Scalars become strings, YAML's null written
 * out unquoted (~, null) JSON null; every mapping gets
 * a "__line__" member (1-based) and a "__pos__" one (key -> line, column of the key and of its
 * value) so errors can point at the entry or at the field. Not public API. */
#ifndef DENGBAO_ASSESS_YAML_DOC_H
#define DENGBAO_ASSESS_YAML_DOC_H

#include <jansson.h>

/* NULL + dbg_err ("file:line:col: what") on error. Empty documents give an empty object. */
json_t *dbg_yaml_load_file(const char *path);
json_t *dbg_yaml_load_text(const char *text, size_t len, const char *name);
/* Where a node starts, 1-based. */
typedef struct {
    int line, column;
} dbg_yaml_pos;
/* The same, with where the document's top node starts in *root (1:1 when empty): a list or
 * text at the top has no "__line__" of its own to name where the file goes wrong. */
json_t *dbg_yaml_load_text_at(const char *text, size_t len, const char *name, dbg_yaml_pos *root);
json_t *dbg_yaml_load_file_at(const char *path, dbg_yaml_pos *root);

/* Accessors for the converted tree. */
const char *dbg_yaml_str(const json_t *map, const char *key);
int dbg_yaml_line(const json_t *map);
/* Line (and in *column, 1-based) where a key, or its value, starts; for a key the mapping
 * lacks, the mapping's own line and *column 0 (a missing field has no place of its own). */
int dbg_yaml_key_line(const json_t *map, const char *key, int *column);
int dbg_yaml_value_line(const json_t *map, const char *key, int *column);
/* "FILE:LINE:COLUMN" of a field's value (of its key when at_key), so an error names the line an
 * author has to fix rather than the entry's first; "FILE:LINE" of the mapping for a field it
 * lacks, which has no place of its own. NULL when out of memory. */
char *dbg_yaml_field_at(const char *path, const json_t *map, const char *key, int at_key);
/* The same for a place kept after the tree is gone (line and column from dbg_yaml_value_line):
 * "FILE:LINE" when column is 0. NULL when out of memory. */
char *dbg_yaml_place(const char *path, int line, int column);
/* A field's value is wrong: dbg_err (DBG_ERR_INVALID) "FILE:LINE:COLUMN: what" at its value
 * ("attest.yaml:14:11: date '2026-13-01' is not YYYY-MM-DD"). Returns -1. */
int dbg_yaml_bad_field(const json_t *map, const char *key, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* What a node is, for a message about a document or field of the wrong shape: "a mapping",
 * "a list", "null" (YAML's ~) or "text". */
const char *dbg_yaml_kind(const json_t *v);
/* 1 for the members the reader adds ("__line__", "__pos__"), which are no keys of the file. */
int dbg_yaml_is_meta(const char *key);
/* A key the format does not have is a typo ('notes:', 'expires:', 'default_wieght:') whose
 * value would be lost without a word, the default kept in its place: dbg_err (DBG_ERR_INVALID)
 * "FILE:LINE:COLUMN: unknown key 'K' in WHAT (allowed: ...)" at the key, -1, as the catalog's
 * and the gateway policy's loaders refuse one. allowed ends in NULL. */
int dbg_yaml_known_keys(const json_t *map, const char *path, const char *what,
                        const char *const *allowed);

#endif
