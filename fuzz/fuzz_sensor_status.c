/* libFuzzer target: bytes from dengbao agent's sensor process, as the agent reads them from the
 * status pipe (status_line.c): cut into lines at every newline and at a point the first byte
 * picks (a read boundary), each line parsed, a status written back and parsed again. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/error.h"
#include "dengbao/sensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_status(void *ud, const dbg_sensor_status *st, const char *error)
{
    (void)ud;
    if (!st) {
        if (!error || !error[0])
            abort(); /* a line dropped must say why */
        return;
    }
    size_t n = 0;
    if (st->step) { /* a start-up step: formats again into a step line with the same text */
        char *sline = dbg_sensor_step_format(st->step, &n);
        if (!sline)
            abort();
        dbg_sensor_status again;
        if (dbg_sensor_status_parse(sline, n - 1, &again) != 0 || !again.step ||
            strcmp(again.step, st->step) != 0)
            abort();
        dbg_sensor_status_clear(&again);
        free(sline);
        return;
    }
    /* what was accepted formats again into a line that parses to the same */
    char *line = dbg_sensor_status_format(st->ok, st->detail, json_incref(st->extra), &n);
    if (!line)
        abort();
    dbg_sensor_status again;
    if (dbg_sensor_status_parse(line, n - 1, &again) != 0 || again.ok != st->ok ||
        strcmp(again.detail, st->detail) != 0 || !json_equal(again.extra, st->extra))
        abort();
    dbg_sensor_status_clear(&again);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dbg_sensor_status_reader *r = dbg_sensor_status_reader_new();
    if (!r)
        return 0;
    size_t cut = size ? data[0] % (size + 1) : 0;
    dbg_sensor_status_reader_feed(r, (const char *)data, cut, on_status, NULL);
    dbg_sensor_status_reader_feed(r, (const char *)data + cut, size - cut, on_status, NULL);
    dbg_sensor_status_reader_end(r, on_status, NULL);
    dbg_sensor_status_reader_free(r);
    dbg_err_clear();
    return 0;
}
