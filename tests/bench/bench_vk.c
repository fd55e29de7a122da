/* bench_vk.c - cost of alloc+free through the Vulkan manager against the bare
 * core allocator, on the same seeded sequence of sizes and frees, in the
 * steady state (the manager's block exists, so no Vulkan call is timed).
 * Runs on the tests' Vulkan 1.3 device (vk_test_env.h), without validation layers. Not a ctest.
 * Prints one JSON object per line, the last one with the ratio. */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_test_clock.h"
#include "oa_test_rng.h"
#include "vk_test_env.h"

#define OPS 200000
#define LIVE 4096
#define RUNS 7

static double now_ns(void) {
    return (double)oa_test_now_ns();
}

static int cmp_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

typedef struct op {
    uint32_t slot;
    uint32_t size;
} op;

static op ops[OPS];
static uint64_t failures; /* failed calls; the bench reports them */

/* The alignment every range of the pool gets: the pool's own (memory
 * requirement, usage limits) combined with the caller's 16. */
static uint64_t range_alignment;

static double run_core(void) {
    const oa_allocator_info info = {.capacity = 64u << 20};
    oa_allocator* a = NULL;
    if (oa_allocator_create(&info, &a) != OA_SUCCESS) {
        return -1;
    }
    static oa_allocation live[LIVE];
    memset(live, 0, sizeof live);
    const double t0 = now_ns();
    for (int i = 0; i < OPS; i++) {
        oa_allocation* h = &live[ops[i].slot];
        if (h->id != 0) {
            failures += oa_free(a, *h) != OA_SUCCESS;
            h->id = 0;
        } else {
            uint64_t offset;
            failures += oa_alloc(a, ops[i].size, range_alignment, h, &offset) != OA_SUCCESS;
        }
    }
    const double t1 = now_ns();
    oa_allocator_destroy(a);
    return (t1 - t0) / OPS;
}

/* A fresh pool per run, as the core gets a fresh allocator (its creation,
 * Vulkan calls included, and its destruction are not timed). */
static double run_manager(oa_vk_manager* m, const oa_vk_pool_info* pi) {
    oa_vk_pool pool;
    oa_vk_range_info warm;
    if (oa_vk_pool_create(m, pi, &pool) != OA_VK_SUCCESS ||
        oa_vk_alloc(m, pool, 16, 1, &warm) != OA_VK_SUCCESS ||
        oa_vk_free(m, warm.handle) != OA_VK_SUCCESS) {
        failures++;
        return -1;
    }
    static oa_vk_range live[LIVE];
    memset(live, 0, sizeof live);
    const double t0 = now_ns();
    for (int i = 0; i < OPS; i++) {
        oa_vk_range* h = &live[ops[i].slot];
        if (h->id != 0) {
            failures += oa_vk_free(m, *h) != OA_VK_SUCCESS;
            h->id = 0;
        } else {
            oa_vk_range_info r;
            failures += oa_vk_alloc(m, pool, ops[i].size, 16, &r) != OA_VK_SUCCESS;
            *h = r.handle;
        }
    }
    const double t1 = now_ns();
    for (int s = 0; s < LIVE; s++) {
        failures += oa_vk_free(m, live[s]) != OA_VK_SUCCESS;
    }
    failures += oa_vk_pool_destroy(m, pool, 0) != OA_VK_SUCCESS;
    return (t1 - t0) / OPS;
}

int main(void) {
    uint64_t seed = 7;
    for (int i = 0; i < OPS; i++) {
        ops[i].slot = (uint32_t)(splitmix64(&seed) % LIVE);
        ops[i].size = 16 + (uint32_t)(splitmix64(&seed) % 4080);
    }
    vkt_env env; /* the tests' device set-up, without validation */
    vkt_env_init(&env, VKT_NO_VALIDATION);
    const oa_vk_manager_info mi = vkt_env_manager_info(&env, 0);
    oa_vk_manager* m = NULL;
    oa_vk_pool pool;
    const oa_vk_pool_info pi = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                .block_size = 64u << 20};
    oa_vk_pool_stats ps;
    if (oa_vk_manager_create(&mi, &m) != OA_VK_SUCCESS ||
        oa_vk_pool_create(m, &pi, &pool) != OA_VK_SUCCESS ||
        oa_vk_pool_get_stats(m, pool, &ps) != OA_VK_SUCCESS ||
        oa_vk_pool_destroy(m, pool, 0) != OA_VK_SUCCESS) {
        fprintf(stderr, "manager setup failed\n");
        return 1;
    }
    range_alignment = ps.alignment;
    while (range_alignment % 16 != 0) {
        range_alignment += ps.alignment; /* lcm(pool alignment, 16) */
    }
    double core[RUNS], manager[RUNS];
    (void)run_core(); /* warm-up */
    (void)run_manager(m, &pi);
    for (int r = 0; r < RUNS; r++) {
        core[r] = run_core();
        manager[r] = run_manager(m, &pi);
    }
    qsort(core, RUNS, sizeof core[0], cmp_double);
    qsort(manager, RUNS, sizeof manager[0], cmp_double);
    const double c = core[RUNS / 2], v = manager[RUNS / 2];
    printf("{\"bench\":\"alloc_free_core\",\"n\":%d,\"seed\":7,\"ns_per_op\":%.1f}\n", OPS, c);
    printf("{\"bench\":\"alloc_free_vk_manager\",\"n\":%d,\"seed\":7,\"ns_per_op\":%.1f}\n", OPS,
           v);
    printf("{\"bench\":\"vk_over_core\",\"ratio\":%.2f,\"alignment\":%llu,\"failures\":%llu}\n",
           v / c, (unsigned long long)range_alignment, (unsigned long long)failures);
    oa_vk_manager_destroy(m);
    vkt_env_destroy(&env);
    return 0;
}
