/* replay_main.c - runs a fuzz target (fuzz_target.h) without libFuzzer, so
 * that it builds with any compiler and runs in the normal test suite; linked
 * with fuzz_core.c it is fuzz_core_replay, with fuzz_vk.c fuzz_vk_replay.
 *   fuzz_*_replay [FILE|DIR]... [--random N] [--seed S] [--max-len L]
 *                 [--full-every K]
 * Every FILE (and every regular file in a DIR) is one input; --random adds N
 * pseudo-random inputs of up to L bytes (default 2048) from seed S (splitmix64,
 * printed first); --full-every sets fuzz_full_every (1: the full check after
 * every operation, to find where a replayed finding first diverges) for the
 * inputs after it. A failing random input is written to
 * TARGET-failure.bin (fuzz_core-failure.bin, ...) for replay. Ends with
 * "N passed, N failed"; exit status 1 on any failure. */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_target.h"

#include "oa_test_rng.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int passed, failed;

static void run_buffer(const char* name, const uint8_t* data, size_t size) {
    if (fuzz_target_run(data, size) == 0) {
        passed++;
    } else {
        fprintf(stderr, "FAIL %s (%zu bytes)\n", name, size);
        failed++;
    }
}

static void run_file(const char* path) {
    FILE* fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "FAIL cannot open %s\n", path);
        failed++;
        return;
    }
    uint8_t* data = NULL;
    size_t size = 0, cap = 0;
    for (;;) {
        if (size == cap) {
            cap = cap ? cap * 2 : 4096;
            data = (uint8_t*)realloc(data, cap);
            if (data == NULL) {
                abort();
            }
        }
        const size_t got = fread(data + size, 1, cap - size, fp);
        if (got == 0) {
            break;
        }
        size += got;
    }
    fclose(fp);
    run_buffer(path, data, size);
    free(data);
}

static void run_path(const char* path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "FAIL no such file or directory: %s\n", path);
        failed++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        run_file(path);
        return;
    }
    DIR* dir = opendir(path);
    if (dir == NULL) {
        fprintf(stderr, "FAIL cannot read %s\n", path);
        failed++;
        return;
    }
    for (struct dirent* e = readdir(dir); e != NULL; e = readdir(dir)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            run_file(child);
        }
    }
    closedir(dir);
}

int main(int argc, char** argv) {
    uint64_t random_count = 0, seed = 1, max_len = 2048;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--random") == 0 && i + 1 < argc) {
            random_count = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--max-len") == 0 && i + 1 < argc) {
            max_len = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--full-every") == 0 && i + 1 < argc) {
            fuzz_full_every = (unsigned)strtoul(argv[++i], NULL, 0);
        } else {
            run_path(argv[i]);
        }
    }
    if (random_count > 0) {
        printf("seed=0x%" PRIx64 " random inputs=%" PRIu64 " max-len=%" PRIu64 "\n", seed,
               random_count, max_len);
        uint64_t rng = seed;
        uint8_t* buf = (uint8_t*)malloc(max_len + 8);
        if (buf == NULL) {
            return 1;
        }
        for (uint64_t k = 0; k < random_count; k++) {
            const size_t len = (size_t)(splitmix64(&rng) % (max_len + 1));
            for (size_t j = 0; j < len; j += 8) {
                const uint64_t v = splitmix64(&rng);
                memcpy(buf + j, &v, 8);
            }
            const int before = failed;
            char name[64];
            snprintf(name, sizeof name, "random input %" PRIu64, k);
            run_buffer(name, buf, len);
            if (failed != before) {
                char file[64];
                snprintf(file, sizeof file, "%s-failure.bin", fuzz_target_name);
                FILE* fp = fopen(file, "wb");
                if (fp != NULL) {
                    fwrite(buf, 1, len, fp);
                    fclose(fp);
                }
                fprintf(stderr, "seed=0x%" PRIx64 ": input written to %s\n", seed, file);
                break;
            }
        }
        free(buf);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}
