/* A small YAML reader for the assess module's own input files (scoring model, attestation,
 * waivers): libyaml events into a jansson tree. Scalars become strings; every mapping gets
 * a "__line__" member (1-based) so errors can point at the file line. Not public API. */
#ifndef DENGBAO_ASSESS_YAML_DOC_H
#define DENGBAO_ASSESS_YAML_DOC_H

#include <jansson.h>

/* NULL + dbg_err ("file:line:col: what") on error. Empty documents give an empty object. */
json_t *dbg_yaml_load_file(const char *path);
json_t *dbg_yaml_load_text(const char *text, size_t len, const char *name);

/* Accessors for the converted tree. */
const char *dbg_yaml_str(const json_t *map, const char *key);
int dbg_yaml_line(const json_t *map);

#endif
