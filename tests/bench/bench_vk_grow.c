/* bench_vk_grow.c - the cost of oa_vk_pool_grow: a 64 MiB block filled with
 * ranges of 4 to 64 KiB of random bytes, half of them freed at random (or
 * none), grown to 128 MiB. Times the grow call on the host (new buffer and
 * memory, regions, the core's growth, recording), then the submit of the
 * command buffer that holds the copy and the wait for it (less an empty
 * submit's; both through vk_test_env's timeline), for the three copies:
 * one region per run of adjacent ranges, the used span in one region, and
 * the host copy of a mapped pool. Runs on the tests' Vulkan 1.3 device
 * (vk_test_env.h) without validation layers. Not a ctest.
 * Prints one JSON object per line: medians of RUNS, and the fastest copy (a
 * busy machine's noise only ever adds time). */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oa_test_clock.h"
#include "oa_test_rng.h"
#include "vk_test_env.h"

#define RUNS 5
#define FROM_SIZE (64ull << 20)
#define TO_SIZE (128ull << 20)

static double now_ns(void) {
    return (double)oa_test_now_ns();
}

static int cmp_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

/* Submit and wait (vk_test_env's timeline); returns the nanoseconds of
 * end + submit + wait. */
static double submit_wait(vkt_env* e, VkCommandBuffer cmd) {
    const double t0 = now_ns();
    (void)vkt_submit_wait(e, cmd);
    return now_ns() - t0;
}

enum { MODE_RUNS, MODE_SPAN, MODE_HOST };

typedef struct sample {
    double call_ns, gpu_ns;
    VkDeviceSize copied, live;
    uint32_t regions;
} sample;

static int one_run(vkt_env* g, oa_vk_manager* m, int mode, bool holes, uint64_t seed,
                   double empty_ns, sample* out) {
    const oa_vk_pool_info pi = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .intent = mode == MODE_HOST ? OA_VK_INTENT_UPLOAD : OA_VK_INTENT_DEVICE,
        .block_size = FROM_SIZE,
        .max_block_count = 1,
        .flags = OA_VK_POOL_NO_DEDICATED};
    oa_vk_pool pool;
    if (oa_vk_pool_create(m, &pi, &pool) != OA_VK_SUCCESS) {
        return 0;
    }
    static oa_vk_range ranges[1u << 16];
    uint32_t count = 0;
    VkDeviceSize live = 0;
    for (;;) {
        const VkDeviceSize size = (4u << 10) + splitmix64(&seed) % (60u << 10);
        oa_vk_range_info r;
        if (count == (1u << 16) || oa_vk_alloc(m, pool, size, 16, &r) != OA_VK_SUCCESS) {
            break;
        }
        ranges[count++] = r.handle;
        live += size;
    }
    if (holes) {
        for (uint32_t i = 0; i < count; i++) {
            if (splitmix64(&seed) & 1) {
                oa_vk_range_info r;
                (void)oa_vk_range_get_info(m, ranges[i], &r);
                live -= r.size;
                (void)oa_vk_free(m, ranges[i]);
            }
        }
    }
    VkCommandBuffer cmd = mode == MODE_HOST ? VK_NULL_HANDLE : vkt_begin(g);
    const oa_vk_grow_info gi = {.new_size = TO_SIZE,
                                .command_buffer = cmd,
                                .signal_value = 1,
                                .flags = mode == MODE_SPAN   ? OA_VK_GROW_COPY_USED_SPAN
                                         : mode == MODE_HOST ? OA_VK_GROW_HOST_COPY
                                                             : 0};
    oa_vk_grow_result res;
    const double t0 = now_ns();
    const oa_vk_result r = oa_vk_pool_grow(m, pool, 0, &gi, &res);
    const double t1 = now_ns();
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "grow failed: %s\n", oa_vk_result_name(r));
        return 0;
    }
    out->call_ns = t1 - t0;
    out->gpu_ns = cmd != VK_NULL_HANDLE ? submit_wait(g, cmd) - empty_ns : 0;
    out->copied = res.copied_size;
    out->regions = res.region_count;
    out->live = live;
    (void)oa_vk_collect(m, 1, NULL);
    return oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE) == OA_VK_SUCCESS;
}

static int cmp_sample(const void* a, const void* b) {
    return cmp_double(&((const sample*)a)->call_ns, &((const sample*)b)->call_ns);
}

int main(void) {
    vkt_env env; /* the tests' device set-up, without validation */
    vkt_env_init(&env, VKT_NO_VALIDATION);
    vkt_env* g = &env;
    const oa_vk_manager_info mi = vkt_env_manager_info(g, 0);
    oa_vk_manager* m = NULL;
    if (oa_vk_manager_create(&mi, &m) != OA_VK_SUCCESS) {
        fprintf(stderr, "bench_vk_grow: manager creation failed\n");
        return 1;
    }
    double empties[RUNS];
    for (int i = 0; i < RUNS; i++) {
        empties[i] = submit_wait(g, vkt_begin(g));
    }
    qsort(empties, RUNS, sizeof empties[0], cmp_double);
    const double empty_ns = empties[RUNS / 2];
    static const char* names[] = {"runs", "used_span", "host_copy"};
    for (int holes = 1; holes >= 0; holes--) {
        for (int mode = MODE_RUNS; mode <= MODE_HOST; mode++) {
            sample s[RUNS];
            double gpu[RUNS];
            for (int i = 0; i < RUNS; i++) {
                if (!one_run(g, m, mode, holes != 0, 7 + (uint64_t)i, empty_ns, &s[i])) {
                    return 1;
                }
                gpu[i] = s[i].gpu_ns;
            }
            qsort(gpu, RUNS, sizeof gpu[0], cmp_double);
            qsort(s, RUNS, sizeof s[0], cmp_sample);
            const sample* med = &s[RUNS / 2];
            printf("{\"bench\":\"pool_grow\",\"copy\":\"%s\",\"from_mib\":%llu,\"to_mib\":%llu,"
                   "\"half_freed\":%s,\"live_mib\":%.1f,\"copied_mib\":%.1f,\"regions\":%u,"
                   "\"call_ms\":%.3f,\"gpu_copy_ms\":%.3f,\"gpu_copy_min_ms\":%.3f,"
                   "\"empty_submit_ms\":%.3f}\n",
                   names[mode], FROM_SIZE >> 20, TO_SIZE >> 20, holes ? "true" : "false",
                   (double)med->live / (1 << 20), (double)med->copied / (1 << 20), med->regions,
                   med->call_ns / 1e6, gpu[RUNS / 2] / 1e6, gpu[0] / 1e6, empty_ns / 1e6);
        }
    }
    oa_vk_manager_destroy(m);
    vkt_env_destroy(&env);
    return 0;
}
