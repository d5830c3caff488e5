/* For fuzz targets of YAML loaders: how many lines libyaml sees in an input, and whether an
 * error names a place the input has. */
#ifndef DENGBAO_FUZZ_YAML_LINES_H
#define DENGBAO_FUZZ_YAML_LINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Each of CR LF, CR, LF, NEL, LS, PS ends one, as libyaml counts them; SIZE_MAX for UTF-16
 * input, whose NEL, LS and PS are not counted here. */
static inline size_t fuzz_yaml_lines(const uint8_t *data, size_t size)
{
    if (size >= 2 && ((data[0] == 0xff && data[1] == 0xfe) || (data[0] == 0xfe && data[1] == 0xff)))
        return SIZE_MAX;
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '\n' || (data[i] == '\r' && (i + 1 == size || data[i + 1] != '\n')) ||
            (data[i] == 0xc2 && i + 1 < size && data[i + 1] == 0x85) ||
            (data[i] == 0xe2 && i + 2 < size && data[i + 1] == 0x80 &&
             (data[i + 2] == 0xa8 || data[i + 2] == 0xa9)))
            lines++;
    }
    return lines;
}

/* msg of a loader given data as "fuzz.yaml": 1 when it starts "fuzz.yaml:LINE:COL: " (or
 * "fuzz.yaml:LINE: " unless need_col) with LINE within the input's lines and COL >= 1, -1 when
 * it starts "fuzz.yaml:" without such a place, 0 when it names no place (a size limit, an
 * allocation), which the target judges. */
static inline int fuzz_yaml_place(const char *msg, const uint8_t *data, size_t size, int need_col)
{
    if (strncmp(msg, "fuzz.yaml:", 10) != 0)
        return 0;
    char *end;
    unsigned long line = strtoul(msg + 10, &end, 10);
    if (end == msg + 10 || *end != ':' || !line || line > fuzz_yaml_lines(data, size))
        return -1;
    const char *col_at = end + 1;
    if (*col_at >= '0' && *col_at <= '9') {
        unsigned long col = strtoul(col_at, &end, 10);
        if (*end != ':' || !col)
            return -1;
    } else if (need_col) {
        return -1;
    }
    return 1;
}

#endif
