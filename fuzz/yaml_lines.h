/* For fuzz targets of YAML loaders: how many lines libyaml sees in an input, to check that an
 * error names a line the input has. */
#ifndef DENGBAO_FUZZ_YAML_LINES_H
#define DENGBAO_FUZZ_YAML_LINES_H

#include <stddef.h>
#include <stdint.h>

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

#endif
