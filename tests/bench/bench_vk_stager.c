/* bench_vk_stager.c - cost of oa_vk_stager_record per queued copy, on the
 * fake device of vk_fake_device.h (its copy and barrier commands only count,
 * so the figure is the stager's own work: sorting, region building, overlap
 * tracking). Three batch shapes of 1,000 uploads of 64 bytes: ascending
 * destinations, the same destinations shuffled, and random offsets in a
 * 4 KiB window (mostly overlapping). Median of 7 runs of 200 batches, after
 * one warm-up run. `bench_vk_stager SHAPE` runs one shape only (for
 * callgrind: 8 x 200 x 1,000 copies in oa_vk_stager_record). Not a ctest.
 * Prints one JSON object per line. */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_test_clock.h"
#include "oa_test_rng.h"
#include "vk_fake_device.h"

#define UPLOADS 1000u
#define BATCHES 200
#define RUNS 7

static double now_ns(void) {
    return (double)oa_test_now_ns();
}

static int cmp_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* ns per queued copy of one run, or -1. */
static double run(oa_vk_manager* m, oa_vk_stager* s, const oa_vk_range_info* r,
                  const uint32_t* offsets, int* out_commands) {
    static const uint8_t data[64] = {1};
    double total = 0;
    const int commands = fake.copy_commands;
    for (int b = 0; b < BATCHES; b++) {
        for (uint32_t i = 0; i < UPLOADS; i++) {
            if (oa_vk_stager_upload(s, r->handle, offsets[i], data, 64, NULL) != OA_VK_SUCCESS) {
                return -1;
            }
        }
        const double t0 = now_ns();
        const oa_vk_result res = oa_vk_stager_record(s, fake_command_buffer(), (uint64_t)b + 1);
        total += now_ns() - t0;
        if (res != OA_VK_SUCCESS || oa_vk_stager_collect(s, (uint64_t)b + 1) != OA_VK_SUCCESS) {
            return -1;
        }
    }
    (void)m;
    *out_commands = (fake.copy_commands - commands) / BATCHES;
    return total / (BATCHES * (double)UPLOADS);
}

int main(int argc, char** argv) {
    fake_reset_single_type(true);
    fake.count_only = true;
    fake.max_buffer_size = fake.max_allocation_size = 8u << 20;
    oa_vk_manager* m = fake_manager(0);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .block_size = 1u << 20};
    oa_vk_pool pool;
    oa_vk_range_info range;
    oa_vk_stager* s = NULL;
    const oa_vk_stager_info sinfo = {.ring_size = 1u << 20};
    if (m == NULL || oa_vk_pool_create(m, &info, &pool) != OA_VK_SUCCESS ||
        oa_vk_alloc(m, pool, UPLOADS * 64u, 1, &range) != OA_VK_SUCCESS ||
        oa_vk_stager_create(m, &sinfo, &s) != OA_VK_SUCCESS) {
        fprintf(stderr, "bench_vk_stager: setup failed\n");
        return 1;
    }
    static uint32_t offsets[3][UPLOADS];
    uint64_t seed = 7;
    for (uint32_t i = 0; i < UPLOADS; i++) {
        offsets[0][i] = offsets[1][i] = i * 64u;
        offsets[2][i] = (uint32_t)(splitmix64(&seed) % (4096 - 64));
    }
    for (uint32_t i = UPLOADS - 1; i > 0; i--) {
        const uint32_t j = (uint32_t)(splitmix64(&seed) % (i + 1));
        const uint32_t t = offsets[1][i];
        offsets[1][i] = offsets[1][j];
        offsets[1][j] = t;
    }
    static const char* names[3] = {"ascending", "shuffled", "overlapping"};
    int status = 0;
    for (int shape = 0; shape < 3; shape++) {
        if (argc > 1 && strcmp(argv[1], names[shape]) != 0) {
            continue;
        }
        double t[RUNS];
        int commands = 0;
        run(m, s, &range, offsets[shape], &commands); /* warm-up */
        for (int i = 0; i < RUNS; i++) {
            t[i] = run(m, s, &range, offsets[shape], &commands);
            status |= t[i] < 0;
        }
        qsort(t, RUNS, sizeof t[0], cmp_double);
        printf("{\"bench\":\"stager_record_%s\",\"n\":%u,\"seed\":7,\"ns_per_copy\":%.1f,"
               "\"copy_commands\":%d}\n",
               names[shape], UPLOADS, t[RUNS / 2], commands);
    }
    oa_vk_stager_destroy(s);
    oa_vk_manager_destroy(m);
    return status;
}
