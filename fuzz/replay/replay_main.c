/* Replays saved fuzz inputs (corpus and crashers) through a libFuzzer target in the normal
 * test suite, so a fixed crash stays fixed without clang or libFuzzer (SQLite's fuzzcheck). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dengbao/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (!d) {
        printf("no corpus at %s; replayed 0 inputs\n", argv[1]);
        return 0;
    }
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        DBG_AUTOFREE char *path = dbg_path_join(argv[1], e->d_name);
        char *data = NULL;
        size_t len = 0;
        if (!path || dbg_read_file(path, 16u << 20, &data, &len) < 0) {
            fprintf(stderr, "%s\n", dbg_err_msg());
            closedir(d);
            return 1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        count++;
    }
    closedir(d);
    printf("replayed %d inputs from %s\n", count, argv[1]);
    return 0;
}
