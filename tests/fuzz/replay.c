/* SPDX-License-Identifier: MIT */
/*
 * replay - run a fuzz target over files and directories of inputs without libFuzzer
 * (systemd's fuzz-main.c). Used by ctest in every build, so corpora and crash regressions
 * are replayed under gcc and under the sanitizer build.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "fuzz.h"

static int replay_file(const char *path)
{
        char *data = NULL;
        size_t len = 0;
        int r;

        r = read_file_bounded(path, FUZZ_INPUT_MAX * 4, &data, &len);
        if (r < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
                return r;
        }
        (void)LLVMFuzzerTestOneInput((const uint8_t *)data, len);
        free(data);
        return 0;
}

static int replay_path(const char *path, unsigned *count)
{
        struct dirent **entries;
        struct stat st;
        int n, r = 0;

        if (stat(path, &st) < 0) {
                fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
                return -errno;
        }
        if (!S_ISDIR(st.st_mode)) {
                (*count)++;
                return replay_file(path);
        }
        n = scandir(path, &entries, NULL, alphasort);
        if (n < 0)
                return -errno;
        for (int i = 0; i < n; i++) {
                char *child;

                if (entries[i]->d_name[0] != '.' &&
                    asprintf(&child, "%s/%s", path, entries[i]->d_name) >= 0) {
                        if (replay_path(child, count) < 0)
                                r = -EIO;
                        free(child);
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char **argv)
{
        unsigned count = 0;
        int r = 0;

        for (int i = 1; i < argc; i++)
                if (replay_path(argv[i], &count) < 0)
                        r = 1;
        printf("replay: %u inputs\n", count);
        if (count == 0) {
                fprintf(stderr, "replay: no inputs found\n");
                return 1;
        }
        return r;
}
