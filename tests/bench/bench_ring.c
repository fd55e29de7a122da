/* bench_ring.c - cost per allocation of per-frame data: a ring pool
 * (oa_vk_ring_alloc, one oa_vk_ring_end_frame per frame) against a general
 * pool of the same memory (oa_vk_alloc + oa_vk_free_deferred per range), both
 * with oa_vk_collect once per frame and three frames in flight, on the same
 * seeded sizes. Steady state (blocks exist; no Vulkan call is timed). Runs on
 * the tests' Vulkan 1.3 device (vk_test_env.h) without validation layers.
 * Not a ctest.
 *   bench_ring                 all runs, median ns per allocation as JSON lines
 *   bench_ring ring|general [unlocked]   one run of one kind (for callgrind:
 *     valgrind --tool=callgrind --collect-atstart=no --toggle-collect=run_ring
 *       build/bin/bench_ring ring; instructions / allocations printed)
 * Prints one JSON object per line. */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_test_clock.h"
#include "oa_test_rng.h"
#include "vk_test_env.h"

#define FRAMES 2000
#define PER_FRAME 100
#define IN_FLIGHT 3
#define RUNS 7

static uint32_t sizes[FRAMES][PER_FRAME];
static uint64_t failures;

static double now_ns(void) {
    return (double)oa_test_now_ns();
}

static int cmp_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

__attribute__((noinline)) void run_ring(oa_vk_manager* m, oa_vk_pool pool);
__attribute__((noinline)) void run_general(oa_vk_manager* m, oa_vk_pool pool);

void run_ring(oa_vk_manager* m, oa_vk_pool pool) {
    for (uint64_t f = 0; f < FRAMES; f++) {
        for (int k = 0; k < PER_FRAME; k++) {
            oa_vk_range_info r;
            failures += oa_vk_ring_alloc(m, pool, sizes[f][k], 64, &r) != OA_VK_SUCCESS;
        }
        failures += oa_vk_ring_end_frame(m, pool, f + 1) != OA_VK_SUCCESS;
        failures +=
            oa_vk_collect(m, f + 1 > IN_FLIGHT ? f + 1 - IN_FLIGHT : 0, NULL) != OA_VK_SUCCESS;
    }
}

void run_general(oa_vk_manager* m, oa_vk_pool pool) {
    for (uint64_t f = 0; f < FRAMES; f++) {
        for (int k = 0; k < PER_FRAME; k++) {
            oa_vk_range_info r;
            failures += oa_vk_alloc(m, pool, sizes[f][k], 64, &r) != OA_VK_SUCCESS;
            failures += oa_vk_free_deferred(m, r.handle, f + 1) != OA_VK_SUCCESS;
        }
        failures +=
            oa_vk_collect(m, f + 1 > IN_FLIGHT ? f + 1 - IN_FLIGHT : 0, NULL) != OA_VK_SUCCESS;
    }
}

/* One timed run on a fresh pool (creation and the first block not timed);
 * returns ns per allocation. */
static double run(oa_vk_manager* m, bool ring) {
    const oa_vk_pool_info pi = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                .intent = OA_VK_INTENT_DYNAMIC,
                                .block_size = 4u << 20,
                                .flags = ring ? OA_VK_POOL_RING : 0u};
    oa_vk_pool pool;
    oa_vk_range_info warm;
    if (oa_vk_pool_create(m, &pi, &pool) != OA_VK_SUCCESS) {
        failures++;
        return -1;
    }
    if (ring) {
        failures += oa_vk_ring_alloc(m, pool, 16, 1, &warm) != OA_VK_SUCCESS;
        failures += oa_vk_ring_end_frame(m, pool, 0) != OA_VK_SUCCESS;
    } else {
        failures += oa_vk_alloc(m, pool, 16, 1, &warm) != OA_VK_SUCCESS;
        failures += oa_vk_free(m, warm.handle) != OA_VK_SUCCESS;
    }
    failures += oa_vk_collect(m, 0, NULL) != OA_VK_SUCCESS;
    const double t0 = now_ns();
    if (ring) {
        run_ring(m, pool);
    } else {
        run_general(m, pool);
    }
    const double t1 = now_ns();
    failures += oa_vk_collect(m, UINT64_MAX, NULL) != OA_VK_SUCCESS;
    failures += oa_vk_pool_destroy(m, pool, 0) != OA_VK_SUCCESS;
    return (t1 - t0) / (FRAMES * PER_FRAME);
}

int main(int argc, char** argv) {
    uint64_t seed = 7;
    for (int f = 0; f < FRAMES; f++) {
        for (int k = 0; k < PER_FRAME; k++) {
            sizes[f][k] = 16 + (uint32_t)(splitmix64(&seed) % 1009);
        }
    }
    vkt_env env; /* the tests' device set-up, without validation */
    vkt_env_init(&env, VKT_NO_VALIDATION);
    const char* only = argc > 1 ? argv[1] : NULL;
    const int only_locked = argc > 2 && strcmp(argv[2], "unlocked") == 0 ? 0 : 1;
    const char* kinds[2] = {"ring", "general"};
    for (int locked = 1; locked >= 0; locked--) {
        const oa_vk_manager_info mi =
            vkt_env_manager_info(&env, locked ? 0u : OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED);
        oa_vk_manager* m = NULL;
        if (oa_vk_manager_create(&mi, &m) != OA_VK_SUCCESS) {
            fprintf(stderr, "manager setup failed\n");
            return 1;
        }
        for (int kind = 0; kind < 2; kind++) {
            if (only != NULL) {
                if (strcmp(only, kinds[kind]) != 0 || locked != only_locked) {
                    continue;
                }
                const double ns = run(m, kind == 0);
                printf("{\"bench\":\"frame_data_%s\",\"locked\":%s,\"allocations\":%d,"
                       "\"ns_per_alloc\":%.1f,\"failures\":%llu}\n",
                       kinds[kind], locked ? "true" : "false", FRAMES * PER_FRAME, ns,
                       (unsigned long long)failures);
                continue;
            }
            double t[RUNS];
            (void)run(m, kind == 0); /* warm-up */
            for (int r = 0; r < RUNS; r++) {
                t[r] = run(m, kind == 0);
            }
            qsort(t, RUNS, sizeof t[0], cmp_double);
            printf("{\"bench\":\"frame_data_%s\",\"locked\":%s,\"frames\":%d,\"per_frame\":%d,"
                   "\"in_flight\":%d,\"seed\":7,\"ns_per_alloc\":%.1f,\"failures\":%llu}\n",
                   kinds[kind], locked ? "true" : "false", FRAMES, PER_FRAME, IN_FLIGHT,
                   t[RUNS / 2], (unsigned long long)failures);
        }
        oa_vk_manager_destroy(m);
    }
    vkt_env_destroy(&env);
    return failures == 0 ? 0 : 1;
}
