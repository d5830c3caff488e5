/* Thin helpers over libyaml's document API for dengbao's data files (catalog, grading tables):
 * typed access to nodes and errors that name "file:line:column: what" (1-based) via dbg_err.
 * Internal to libdengbao (the catalog, grading, assess, gateway policy and sensor rules
 * readers); not a public header. */
#ifndef DENGBAO_YAML_DOC_H
#define DENGBAO_YAML_DOC_H

#include <stddef.h>
#include <yaml.h>

typedef struct {
    yaml_document_t doc;
    char *name; /* file name used in messages */
    int loaded; /* doc must be deleted */
} dbg_yaml_doc;

/* Largest data file accepted (untrusted input bound). */
#define DBG_YAML_MAX_BYTES ((size_t)8 << 20)
/* Deepest nesting of mappings/lists accepted (the data files need 5). */
#define DBG_YAML_MAX_DEPTH 32

/* dbg_err (DBG_ERR_PARSE) "name:LINE:COLUMN: problem" for parser p stopped on data (len bytes);
 * fallback when libyaml gives no problem text. A reader error (bytes that are not UTF-8 or
 * UTF-16, a control character) leaves libyaml's problem_mark at 0:0 and gives a byte offset
 * only: its line and column (in characters, a BOM not counted, CR LF, CR, LF, NEL, LS and PS
 * each one line break, as libyaml counts) are worked out from data. An error at the end of data
 * that does not end in a line break is named at the end of its last line, not at the start of
 * a line after it (libyaml's own mark). */
void dbg_yaml_parse_error(const yaml_parser_t *p, const char *name, const char *data, size_t len,
                          const char *fallback);
/* A 1-based line and column of parser p on data past its end (libyaml's own line break after a
 * last line without one: the empty node after a last '---') moved to the end of the last line,
 * so a message never names a line the input does not have. */
void dbg_yaml_mark_within(const yaml_parser_t *p, const char *data, size_t len, size_t *line,
                          size_t *col);

/* Before yaml_parser_load, whose cost grows with the nesting: -1 with DBG_ERR_LIMIT
 * "name:LINE:COLUMN: nesting deeper than 32 levels" at the first node deeper than
 * DBG_YAML_MAX_DEPTH, else 0 (also for a syntax error, which the load then reports). */
int dbg_yaml_check_depth(const char *name, const char *data, size_t len);

/* Parses exactly one YAML document from memory. Syntax errors and a second document in the
 * stream are reported as "name:line:column: ...". An empty stream gives a NULL root. */
int dbg_yaml_doc_load(dbg_yaml_doc *d, const char *name, const char *data, size_t len);
/* Reads a file (at most DBG_YAML_MAX_BYTES) and parses it. */
int dbg_yaml_doc_load_file(dbg_yaml_doc *d, const char *path);
void dbg_yaml_doc_free(dbg_yaml_doc *d);

yaml_node_t *dbg_yaml_root(dbg_yaml_doc *d);
yaml_node_t *dbg_yaml_node(dbg_yaml_doc *d, int index);

/* Sets DBG_ERR_INVALID "name:line:col: <fmt>" at node n (n NULL = line 1 column 1); returns -1. */
int dbg_yaml_fail(dbg_yaml_doc *d, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Type checks: each fails with "<what> must be a <type>" at the node. */
int dbg_yaml_want_map(dbg_yaml_doc *d, const yaml_node_t *n, const char *what);
int dbg_yaml_want_seq(dbg_yaml_doc *d, const yaml_node_t *n, const char *what);
int dbg_yaml_get_str(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, const char **out);
/* Non-empty string. */
int dbg_yaml_get_text(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, const char **out);
int dbg_yaml_get_bool(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, int *out);
int dbg_yaml_get_long(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, long min, long max,
                      long *out);
int dbg_yaml_get_double(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, double min,
                        double max, double *out);
/* A sequence of non-empty strings into a new NULL-terminated array (*n = count). */
int dbg_yaml_get_str_list(dbg_yaml_doc *d, const yaml_node_t *n, const char *what, char ***out,
                          size_t *count);
void dbg_yaml_str_list_free(char **list, size_t count);

/* Checks a mapping's keys: each must be a scalar, listed in allowed (NULL-terminated), and
 * appear once. Errors: "unknown key 'x' in <what> (allowed: a, b)", "duplicate key 'x'". */
int dbg_yaml_check_keys(dbg_yaml_doc *d, const yaml_node_t *map, const char *what,
                        const char *const *allowed);
/* Every mapping of a loaded document has each scalar key once (YAML requires it; libyaml does
 * not check, and a loader that meets a key twice would read it twice). Else DBG_ERR_INVALID
 * "name:line:col: duplicate key 'x' (first at line L)" and -1. For loaders that walk libyaml's
 * document themselves (the gateway policy, the sensor rules). */
int dbg_yaml_unique_keys(yaml_document_t *doc, const char *name);
/* Value of key in a mapping (first match), or NULL. */
yaml_node_t *dbg_yaml_map_get(dbg_yaml_doc *d, const yaml_node_t *map, const char *key);
/* The scalar text of a node, or NULL when it is not a scalar. */
const char *dbg_yaml_scalar(const yaml_node_t *n);

#endif
