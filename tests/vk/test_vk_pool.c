/* test_vk_pool.c - pools, ranges, mapping, deferred frees, blocks, limits,
 * statistics and bad input, on a real device (lavapipe in CI) under the
 * validation layer. Every test ends with no new validation message. */
#include <cjson/cJSON.h>

#include "vk_test_common.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)

static VkDeviceSize lcm(VkDeviceSize a, VkDeviceSize b) {
    VkDeviceSize x = a, y = b;
    while (y != 0) {
        VkDeviceSize t = x % y;
        x = y;
        y = t;
    }
    return a / x * b;
}

typedef struct usage_case {
    const char* name;
    VkBufferUsageFlags usage;
    oa_vk_memory_intent intent; /* the host intents map the pool */
} usage_case;

static const usage_case usage_cases[] = {
    {"vertex+index",
     VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
         VK_BUFFER_USAGE_TRANSFER_DST_BIT,
     OA_VK_INTENT_DEVICE},
    {"uniform", VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, OA_VK_INTENT_DYNAMIC},
    {"storage", VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
     OA_VK_INTENT_DEVICE},
    {"staging", VK_BUFFER_USAGE_TRANSFER_SRC_BIT, OA_VK_INTENT_STAGING},
    {"indirect", VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, OA_VK_INTENT_DYNAMIC},
    {"texel", VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT,
     OA_VK_INTENT_DEVICE},
};

/* The limits a usage implies, computed here independently of the library. */
static VkDeviceSize usage_alignment(const VkPhysicalDeviceLimits* l, VkBufferUsageFlags usage) {
    VkDeviceSize a = 1;
    if (usage & VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT) {
        a = lcm(a, l->minUniformBufferOffsetAlignment);
    }
    if (usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT) {
        a = lcm(a, l->minStorageBufferOffsetAlignment);
    }
    if (usage &
        (VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT)) {
        a = lcm(a, l->minTexelBufferOffsetAlignment);
    }
    if (usage & VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT) {
        a = lcm(a, 4);
    }
    return a;
}

OA_TEST(pools_for_every_usage_honour_alignment) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const VkPhysicalDeviceLimits* limits = &vkt()->properties.limits;
    static const VkDeviceSize strides[] = {1, 4, 12, 20, 24, 48, 256};
    for (size_t u = 0; u < sizeof usage_cases / sizeof usage_cases[0]; u++) {
        const oa_vk_pool_info info = {.usage = usage_cases[u].usage,
                                      .intent = usage_cases[u].intent,
                                      .block_size = 1 * MiB,
                                      .name = usage_cases[u].name};
        oa_vk_pool pool;
        CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
        CHECK(pool.id != 0);
        const VkDeviceSize implied = usage_alignment(limits, info.usage);
        for (int round = 0; round < 3; round++) {
            for (size_t s = 0; s < sizeof strides / sizeof strides[0]; s++) {
                oa_vk_range_info r;
                const VkDeviceSize size = 1 + (VkDeviceSize)(round * 97 + (int)s * 13);
                CHECK_EQ(oa_vk_alloc(m, pool, size, strides[s], &r), OA_VK_SUCCESS);
                if (r.offset % strides[s] != 0 || r.offset % implied != 0) {
                    OA_FAIL_AT("%s: offset %llu not aligned to stride %llu and limit %llu",
                               usage_cases[u].name, (unsigned long long)r.offset,
                               (unsigned long long)strides[s], (unsigned long long)implied);
                    return;
                }
                CHECK(r.buffer != VK_NULL_HANDLE);
                CHECK_EQ(r.size, size);
                CHECK(r.handle.id != 0);
                CHECK_EQ(r.pool.id, pool.id);
                CHECK_EQ(r.mapped != NULL, usage_cases[u].intent != OA_VK_INTENT_DEVICE);
                CHECK_EQ(r.device_address, 0);
                oa_vk_range_info again;
                CHECK_EQ(oa_vk_range_get_info(m, r.handle, &again), OA_VK_SUCCESS);
                CHECK_EQ(again.offset, r.offset);
                CHECK(again.buffer == r.buffer);
            }
        }
        oa_vk_pool_stats st;
        CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
        CHECK_EQ(st.allocation_count, 3 * sizeof strides / sizeof strides[0]);
        CHECK_EQ(st.alignment, implied); /* exactly: memory alignment is no term */
        CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    }
    VKT_TEARDOWN(&fx);
}

OA_TEST(mapped_writes_read_back_through_gpu_copy) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .block_size = 256 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info ranges[8];
    uint64_t seed = 0x5eed;
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 1000 + (VkDeviceSize)i * 333, 12, &ranges[i]), OA_VK_SUCCESS);
        uint8_t* p = ranges[i].mapped;
        for (VkDeviceSize k = 0; k < ranges[i].size; k++) {
            p[k] = (uint8_t)vkt_splitmix64(&seed);
        }
        CHECK_EQ(oa_vk_flush(m, ranges[i].handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    }
    seed = 0x5eed;
    for (int i = 0; i < 8; i++) {
        uint8_t got[4000];
        CHECK(vkt_read_buffer(vkt(), ranges[i].buffer, ranges[i].offset, ranges[i].size, got));
        for (VkDeviceSize k = 0; k < ranges[i].size; k++) {
            const uint8_t want = (uint8_t)vkt_splitmix64(&seed);
            if (got[k] != want) {
                OA_FAIL_AT("range %d byte %llu: %u != %u", i, (unsigned long long)k, got[k], want);
                return;
            }
        }
    }
    VKT_TEARDOWN(&fx);
}

/* lavapipe's memory is coherent; the flag sends flushes and invalidates to
 * Vulkan anyway, with atom-rounded offsets, under validation. */
OA_TEST(non_coherent_path_rounds_to_atoms) {
    VKT_FIXTURE(fx, OA_VK_MANAGER_ASSUME_NON_COHERENT);
    oa_vk_manager* m = fx.manager;
    const VkDeviceSize atom = vkt()->properties.limits.nonCoherentAtomSize;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_STAGING,
                                  .block_size = 64 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.alignment % atom, 0);
    oa_vk_range_info a, b, c;
    CHECK_EQ(oa_vk_alloc(m, pool, 10, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 10, 24, &b), OA_VK_SUCCESS);
    CHECK_EQ(a.offset % atom, 0);
    CHECK_EQ(b.offset % lcm(atom, 24), 0);
    /* Whole atoms per range: no two ranges share an atom. */
    CHECK(a.offset + atom <= b.offset || b.offset + atom <= a.offset);
    memset(a.mapped, 0xAB, 10);
    CHECK_EQ(oa_vk_flush(m, a.handle, 3, 5), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_flush(m, a.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_invalidate(m, a.handle, 9, 1), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_flush(m, a.handle, 10, 0), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_flush(m, a.handle, 5, 6), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_flush(m, a.handle, 11, VK_WHOLE_SIZE), OA_VK_ERROR_INVALID_ARGUMENT);
    /* A range at the very end of the block: the rounded end is clamped to
     * the memory's size. */
    CHECK_EQ(oa_vk_alloc(m, pool, 64 * KiB - 4 * atom, 1, &c), OA_VK_SUCCESS);
    memset(c.mapped, 0x5A, (size_t)c.size);
    CHECK_EQ(oa_vk_flush(m, c.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    uint8_t got[10];
    CHECK(vkt_read_buffer(vkt(), a.buffer, a.offset, 10, got));
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(got[i], 0xAB);
    }
    CHECK_EQ(oa_vk_invalidate(m, c.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    /* Unmapped pools have nothing to flush. */
    const oa_vk_pool_info gpu_info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT};
    oa_vk_pool gpu;
    oa_vk_range_info g;
    CHECK_EQ(oa_vk_pool_create(m, &gpu_info, &gpu), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, gpu, 100, 1, &g), OA_VK_SUCCESS);
    CHECK(g.mapped == NULL);
    CHECK_EQ(oa_vk_flush(m, g.handle, 0, VK_WHOLE_SIZE), OA_VK_ERROR_NOT_MAPPED);
    CHECK_EQ(oa_vk_invalidate(m, g.handle, 0, VK_WHOLE_SIZE), OA_VK_ERROR_NOT_MAPPED);
    VKT_TEARDOWN(&fx);
}

OA_TEST(deferred_frees_return_after_their_value) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .block_size = 64 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[4];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 4 * KiB, 16, &r[i]), OA_VK_SUCCESS);
    }
    /* The GPU uses the ranges: a fill per range in one submit. */
    VkCommandBuffer cmd = vkt_begin(e);
    for (int i = 0; i < 4; i++) {
        vkCmdFillBuffer(cmd, r[i].buffer, r[i].offset, r[i].size, 0x01010101u * (uint32_t)i);
    }
    const uint64_t frame = vkt_submit(e, cmd);
    CHECK(frame != 0);
    CHECK_EQ(oa_vk_free_deferred(m, r[0].handle, frame), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free_deferred(m, r[1].handle, frame), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free_deferred(m, r[2].handle, frame + 1), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, 3);
    CHECK_EQ(st.pending_size, 12 * KiB);
    CHECK_EQ(st.allocation_count, 4);
    /* Pending ranges are no longer usable. */
    oa_vk_range_info dead;
    CHECK_EQ(oa_vk_range_get_info(m, r[0].handle, &dead), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free(m, r[0].handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free_deferred(m, r[0].handle, frame), OA_VK_ERROR_STALE_HANDLE);
    uint64_t freed = 99;
    CHECK_EQ(oa_vk_collect(m, frame - 1, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK(vkt_wait(e, frame));
    CHECK_EQ(oa_vk_collect(m, vkt_completed(e), &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 2);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, 1);
    CHECK_EQ(st.allocation_count, 2);
    CHECK_EQ(oa_vk_collect(m, frame + 1, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 1);
    CHECK_EQ(oa_vk_free(m, r[3].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 0);
    CHECK_EQ(st.used_size, 0);
    CHECK_EQ(st.pending_size, 0);
    /* Everything is back: the whole block can be taken at offset 0. */
    oa_vk_range_info whole;
    CHECK_EQ(oa_vk_alloc(m, pool, 64 * KiB, 1, &whole), OA_VK_SUCCESS);
    CHECK_EQ(whole.offset, 0);
    CHECK(whole.buffer == r[0].buffer);
    VKT_TEARDOWN(&fx);
}

OA_TEST(blocks_grow_and_release_with_hysteresis) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    mi.release_delay = 3;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                  .block_size = 64 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 0);
    oa_vk_range_info r[5];
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 40 * KiB, 1, &r[i]), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
        CHECK_EQ(st.block_count, (uint32_t)i + 1);
    }
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
    }
    /* Not released the moment they empty, nor on the next two collects. */
    for (int c = 0; c < 2; c++) {
        CHECK_EQ(oa_vk_collect(m, 0, NULL), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
        CHECK_EQ(st.block_count, 5);
    }
    /* A block reused in between starts its wait again. */
    oa_vk_range_info again;
    CHECK_EQ(oa_vk_alloc(m, pool, 40 * KiB, 1, &again), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 40 * KiB, 1, &r[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, r[0].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_collect(m, 0, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    /* The first block (live) stays, three blocks that waited long enough go,
     * the one reused a moment ago stays. */
    CHECK_EQ(st.block_count, 2);
    CHECK_EQ(oa_vk_free(m, again.handle), OA_VK_SUCCESS);
    uint64_t released = 0;
    CHECK_EQ(oa_vk_pool_trim(m, pool, &released), OA_VK_SUCCESS);
    CHECK_EQ(released, 1);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 1); /* the first block always stays */
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t heap_count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &heap_count), OA_VK_SUCCESS);
    CHECK(heap_count >= 1);
    uint32_t allocations = 0;
    for (uint32_t h = 0; h < heap_count; h++) {
        allocations += heaps[h].allocation_count;
    }
    CHECK_EQ(allocations, 1);
    VKT_TEARDOWN(&fx);
}

OA_TEST(block_limit_dedicated_and_too_large) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .block_size = 64 * KiB, .max_block_count = 2};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info a, b, c;
    CHECK_EQ(oa_vk_alloc(m, pool, 60 * KiB, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 60 * KiB, 1, &b), OA_VK_SUCCESS);
    vkt_log_count = 0;
    CHECK_EQ(oa_vk_alloc(m, pool, 60 * KiB, 1, &c), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    CHECK_EQ(vkt_log_count, 1);
    CHECK_EQ(c.handle.id, 0);
    CHECK(c.buffer == VK_NULL_HANDLE);
    /* Still usable: smaller ranges fit, and freeing makes room. */
    CHECK_EQ(oa_vk_alloc(m, pool, 4 * KiB, 1, &c), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, a.handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 60 * KiB, 1, &a), OA_VK_SUCCESS);
    /* Above the block size: a dedicated block, released on free. */
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 1 * MiB, 1, &big), OA_VK_SUCCESS);
    CHECK_EQ(big.offset, 0);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.dedicated_count, 1);
    CHECK_EQ(st.block_count, 2);
    oa_vk_block_stats bs;
    CHECK_EQ(oa_vk_block_get_stats(m, pool, 2, &bs), OA_VK_SUCCESS);
    CHECK(bs.is_dedicated);
    CHECK_EQ(bs.capacity, 1 * MiB);
    CHECK_EQ(oa_vk_block_get_stats(m, pool, 3, &bs), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_free(m, big.handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.dedicated_count, 0);
    /* Beyond what one buffer can be. */
    oa_vk_range_info huge;
    CHECK_EQ(oa_vk_alloc(m, pool, vkt()->properties.limits.maxStorageBufferRange * 0 + (1ull << 62),
                         1, &huge),
             OA_VK_ERROR_TOO_LARGE);
    /* A pool that refuses dedicated blocks. */
    const oa_vk_pool_info strict = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                    .block_size = 64 * KiB,
                                    .flags = OA_VK_POOL_NO_DEDICATED};
    oa_vk_pool sp = vkt_pool(&fx, &strict);
    CHECK(sp.id != 0);
    CHECK_EQ(oa_vk_alloc(m, sp, 64 * KiB + 1, 1, &huge), OA_VK_ERROR_TOO_LARGE);
    VKT_TEARDOWN(&fx);
}

OA_TEST(out_of_memory_with_a_small_budget) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    for (uint32_t h = 0; h < VK_MAX_MEMORY_HEAPS; h++) {
        mi.heap_budget[h] = 1 * MiB;
    }
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 256 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[8];
    int n = 0;
    oa_vk_result res = OA_VK_SUCCESS;
    while (n < 8 && (res = oa_vk_alloc(m, pool, 200 * KiB, 1, &r[n])) == OA_VK_SUCCESS) {
        n++;
    }
    CHECK_EQ(res, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK(n >= 1 && n <= 4);
    CHECK(strstr(vkt_last_log, "budget") != NULL);
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t heap_count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &heap_count), OA_VK_SUCCESS);
    for (uint32_t h = 0; h < heap_count; h++) {
        CHECK(heaps[h].usage <= heaps[h].budget);
        CHECK_EQ(heaps[h].budget, 1 * MiB);
    }
    /* Dedicated ranges hit the same budget. */
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    /* The pool stays usable: free one, allocate again. */
    CHECK_EQ(oa_vk_free(m, r[0].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 200 * KiB, 1, &r[0]), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

OA_TEST(buffer_device_address) {
    VKT_FIXTURE(fx, OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                  .flags = OA_VK_POOL_DEVICE_ADDRESS,
                                  .block_size = 64 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info a, b, big;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &b), OA_VK_SUCCESS);
    CHECK(a.device_address != 0);
    CHECK(b.buffer == a.buffer);
    CHECK_EQ(b.device_address - a.device_address, b.offset - a.offset);
    CHECK_EQ(oa_vk_alloc(m, pool, 128 * KiB, 1, &big), OA_VK_SUCCESS);
    CHECK(big.device_address != 0);
    VKT_TEARDOWN(&fx);
}

/* Counts the names the manager gives through VK_EXT_debug_utils. */
static PFN_vkSetDebugUtilsObjectNameEXT real_set_name;
static int names_set;
static int names_with_pool_name;

static VKAPI_ATTR VkResult VKAPI_CALL counting_set_name(VkDevice device,
                                                        const VkDebugUtilsObjectNameInfoEXT* info) {
    names_set++;
    if (info->pObjectName != NULL && strstr(info->pObjectName, "meshes") != NULL) {
        names_with_pool_name++;
    }
    return real_set_name(device, info);
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL naming_gipa(VkInstance instance, const char* name) {
    if (strcmp(name, "vkSetDebugUtilsObjectNameEXT") == 0) {
        real_set_name = (PFN_vkSetDebugUtilsObjectNameEXT)vkGetInstanceProcAddr(instance, name);
        return (PFN_vkVoidFunction)counting_set_name;
    }
    return vkGetInstanceProcAddr(instance, name);
}

OA_TEST(debug_names_through_debug_utils) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    oa_vk_manager_info mi = vkt_fixture_info(&fx, OA_VK_MANAGER_DEBUG_UTILS);
    mi.get_instance_proc_addr = naming_gipa;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .name = "meshes"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r;
    names_set = names_with_pool_name = 0;
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(names_set, 2); /* the block's buffer and memory */
    CHECK_EQ(names_with_pool_name, 2);
    vkt_fixture_destroy(&fx);
    /* Without the flag, nothing is named. */
    const oa_vk_manager_info plain = vkt_fixture_info(&fx, 0);
    CHECK_EQ(vkt_fixture_create(&fx, &plain), OA_VK_SUCCESS);
    m = fx.manager;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    names_set = 0;
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(names_set, 0);
    VKT_TEARDOWN(&fx);
}

/* ---- JSON dump ------------------------------------------------------------ */

static uint64_t json_id(const cJSON* object, const char* key) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsString(item) ? strtoull(item->valuestring, NULL, 16) : 0;
}

static uint64_t json_u64(const cJSON* object, const char* key) {
    const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
    return cJSON_IsNumber(item) ? (uint64_t)item->valuedouble : UINT64_MAX;
}

OA_TEST(json_dump_parses_and_matches_stats) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info vinfo = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                   .block_size = 64 * KiB,
                                   .name = "vertices \"quoted\""};
    const oa_vk_pool_info uinfo = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                   .intent = OA_VK_INTENT_DYNAMIC,
                                   .block_size = 32 * KiB,
                                   .name = "uniforms"};
    oa_vk_pool pools[2];
    CHECK_EQ(oa_vk_pool_create(m, &vinfo, &pools[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &uinfo, &pools[1]), OA_VK_SUCCESS);
    oa_vk_range_info r[40];
    for (int i = 0; i < 40; i++) {
        CHECK_EQ(oa_vk_alloc(m, pools[i % 2], 1 + (VkDeviceSize)(i * 1237 % 9000), 12, &r[i]),
                 OA_VK_SUCCESS);
    }
    for (int i = 0; i < 40; i += 3) {
        CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
    }
    for (int i = 1; i < 40; i += 7) {
        if (i % 3 != 0) {
            CHECK_EQ(oa_vk_free_deferred(m, r[i].handle, 100), OA_VK_SUCCESS);
        }
    }
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pools[0], 100 * KiB, 1, &big), OA_VK_SUCCESS);

    size_t size = 0;
    CHECK_EQ(oa_vk_dump_json(m, NULL, 0, &size), OA_VK_INCOMPLETE);
    CHECK(size > 100);
    char small[64];
    size_t small_size = 0;
    CHECK_EQ(oa_vk_dump_json(m, small, sizeof small, &small_size), OA_VK_INCOMPLETE);
    CHECK_EQ(small_size, size);
    CHECK_EQ(strlen(small), sizeof small - 1);
    char* text = malloc(size + 1);
    size_t written = 0;
    CHECK_EQ(oa_vk_dump_json(m, text, size + 1, &written), OA_VK_SUCCESS);
    CHECK_EQ(written, size);
    CHECK_EQ(strncmp(text, small, sizeof small - 1), 0);
    if (getenv("ORDERLY_VK_PRINT_JSON") != NULL) {
        printf("%s\n", text);
    }
    cJSON* root = cJSON_Parse(text);
    free(text);
    CHECK(root != NULL);
    const cJSON* heaps = cJSON_GetObjectItemCaseSensitive(root, "heaps");
    CHECK(cJSON_IsArray(heaps) && cJSON_GetArraySize(heaps) >= 1);
    /* "is_rebar" per heap, against the device's own memory types (on lavapipe:
     * one 2 GiB heap with a device-local host-visible type, so true). */
    const VkPhysicalDeviceMemoryProperties* mp = &vkt()->memory_properties;
    for (uint32_t h = 0; h < mp->memoryHeapCount; h++) {
        bool expect = false;
        for (uint32_t t = 0; t < mp->memoryTypeCount; t++) {
            const VkMemoryPropertyFlags want =
                VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
            expect = expect || (mp->memoryTypes[t].heapIndex == h &&
                                (mp->memoryTypes[t].propertyFlags & want) == want &&
                                mp->memoryHeaps[h].size > OA_VK_REBAR_MIN_HEAP_SIZE);
        }
        const cJSON* jh = cJSON_GetArrayItem(heaps, (int)h);
        CHECK_EQ(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jh, "is_rebar")), expect);
    }
    const cJSON* jpools = cJSON_GetObjectItemCaseSensitive(root, "pools");
    CHECK(cJSON_IsArray(jpools));
    CHECK_EQ(cJSON_GetArraySize(jpools), 2);
    for (int p = 0; p < 2; p++) {
        const cJSON* jp = cJSON_GetArrayItem(jpools, p);
        oa_vk_pool_stats st;
        CHECK_EQ(oa_vk_pool_get_stats(m, pools[p], &st), OA_VK_SUCCESS);
        CHECK_EQ(json_id(jp, "id"), pools[p].id);
        const cJSON* name = cJSON_GetObjectItemCaseSensitive(jp, "name");
        CHECK(cJSON_IsString(name));
        CHECK(strcmp(name->valuestring, p == 0 ? vinfo.name : uinfo.name) == 0);
        const cJSON* intent = cJSON_GetObjectItemCaseSensitive(jp, "intent");
        CHECK(cJSON_IsString(intent));
        CHECK(strcmp(intent->valuestring, p == 0 ? "device" : "dynamic") == 0);
        CHECK_EQ(st.intent, p == 0 ? OA_VK_INTENT_DEVICE : OA_VK_INTENT_DYNAMIC);
        const cJSON* js = cJSON_GetObjectItemCaseSensitive(jp, "stats");
        CHECK_EQ(json_u64(js, "used_size"), st.used_size);
        CHECK_EQ(json_u64(js, "free_size"), st.free_size);
        CHECK_EQ(json_u64(js, "allocation_count"), st.allocation_count);
        CHECK_EQ(json_u64(js, "pending_count"), st.pending_count);
        CHECK_EQ(json_u64(js, "block_count"), st.block_count);
        CHECK_EQ(json_u64(js, "dedicated_count"), st.dedicated_count);
        const cJSON* blocks = cJSON_GetObjectItemCaseSensitive(jp, "blocks");
        CHECK_EQ(cJSON_GetArraySize(blocks), st.block_count + st.dedicated_count);
        uint64_t allocations = 0, pending = 0, used = 0;
        const cJSON* jb = NULL;
        cJSON_ArrayForEach(jb, blocks) {
            const uint64_t block_size = json_u64(jb, "capacity");
            uint64_t expect_offset = 0, block_used = 0, block_allocs = 0;
            bool previous_free = false;
            const cJSON* region = NULL;
            cJSON_ArrayForEach(region, cJSON_GetObjectItemCaseSensitive(jb, "regions")) {
                const uint64_t off = json_u64(region, "offset");
                const uint64_t rs = json_u64(region, "size");
                const bool is_free =
                    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(region, "is_free"));
                CHECK_EQ(off, expect_offset); /* regions tile the block in address order */
                CHECK(rs > 0);
                CHECK(!(is_free && previous_free)); /* free neighbours were merged */
                expect_offset = off + rs;
                previous_free = is_free;
                if (!is_free) {
                    block_used += rs;
                    block_allocs++;
                    const uint64_t id = json_id(region, "range");
                    oa_vk_range_info live;
                    const bool is_pending =
                        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(region, "is_pending"));
                    /* Live ranges resolve to this very region; pending ones are stale. */
                    const oa_vk_range h = {id};
                    CHECK_EQ(oa_vk_range_get_info(m, h, &live),
                             is_pending ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS);
                    if (!is_pending) {
                        CHECK_EQ(live.offset, off);
                    }
                    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(region, "is_pending"))) {
                        pending++;
                    }
                }
            }
            CHECK_EQ(expect_offset, block_size);
            CHECK_EQ(json_u64(jb, "used_size"), block_used);
            CHECK_EQ(json_u64(jb, "allocation_count"), block_allocs);
            allocations += block_allocs;
            used += block_used;
        }
        CHECK_EQ(allocations, st.allocation_count);
        CHECK_EQ(pending, st.pending_count);
        CHECK_EQ(used, st.used_size);
    }
    cJSON_Delete(root);
    VKT_TEARDOWN(&fx);
}

/* ---- bad input ------------------------------------------------------------ */

/* Tags set on ranges come back from oa_vk_range_get_info and stand on their
 * regions in the JSON dump; a freed range's tag cannot be set. */
OA_TEST(range_tags_reach_the_dump) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .block_size = 64 * KiB, .name = "tagged"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[6];
    for (uint32_t i = 0; i < 6; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 1000 + i * 100, 24, &r[i]), OA_VK_SUCCESS);
        CHECK_EQ(r[i].tag, 0);
        if (i % 2 == 0) {
            CHECK_EQ(oa_vk_range_set_tag(m, r[i].handle, 7000 + i), OA_VK_SUCCESS);
        }
    }
    oa_vk_range_info got;
    CHECK_EQ(oa_vk_range_get_info(m, r[2].handle, &got), OA_VK_SUCCESS);
    CHECK_EQ(got.tag, 7002);
    CHECK_EQ(oa_vk_free(m, r[5].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_range_set_tag(m, r[5].handle, 1), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_range_set_tag(NULL, r[0].handle, 1), OA_VK_ERROR_INVALID_ARGUMENT);

    size_t size = 0;
    CHECK_EQ(oa_vk_dump_json(m, NULL, 0, &size), OA_VK_INCOMPLETE);
    char* text = malloc(size + 1);
    CHECK(text != NULL);
    size_t written = 0;
    CHECK_EQ(oa_vk_dump_json(m, text, size + 1, &written), OA_VK_SUCCESS);
    cJSON* root = cJSON_Parse(text);
    free(text);
    CHECK(root != NULL);
    const cJSON* jp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "pools"), 0);
    const cJSON* jb = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(jp, "blocks"), 0);
    uint32_t tagged = 0, matched = 0;
    const cJSON* region = NULL;
    cJSON_ArrayForEach(region, cJSON_GetObjectItemCaseSensitive(jb, "regions")) {
        const cJSON* tag = cJSON_GetObjectItemCaseSensitive(region, "tag");
        if (!cJSON_IsNumber(tag)) {
            continue;
        }
        tagged++;
        for (uint32_t i = 0; i < 6; i += 2) {
            if (json_id(region, "range") == r[i].handle.id &&
                json_u64(region, "offset") == r[i].offset &&
                (uint32_t)tag->valuedouble == 7000 + i) {
                matched++;
            }
        }
    }
    cJSON_Delete(root);
    CHECK_EQ(tagged, 3);
    CHECK_EQ(matched, 3);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

/* A pool name longer than the copy kept is cut at a UTF-8 character
 * boundary: the dump stays valid UTF-8 and its name a prefix of the given one. */
static bool valid_utf8(const unsigned char* s) {
    while (*s != 0) {
        size_t n = *s < 0x80             ? 1
                   : (*s & 0xE0) == 0xC0 ? 2
                   : (*s & 0xF0) == 0xE0 ? 3
                   : (*s & 0xF8) == 0xF0 ? 4
                                         : 0;
        if (n == 0) {
            return false;
        }
        for (size_t k = 1; k < n; k++) {
            if ((s[k] & 0xC0) != 0x80) {
                return false;
            }
        }
        s += n;
    }
    return true;
}

OA_TEST(long_utf8_pool_names_are_cut_at_a_character) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    /* 3-byte characters at every offset of the cut: 0, 1 or 2 leading ASCII. */
    for (int lead = 0; lead < 3; lead++) {
        char name[200] = {0};
        size_t n = 0;
        for (int i = 0; i < lead; i++) {
            name[n++] = 'a';
        }
        while (n + 3 < sizeof name - 1) {
            memcpy(name + n, "\xE2\x82\xAC", 3); /* the euro sign */
            n += 3;
        }
        const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .name = name};
        oa_vk_pool pool;
        CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
        size_t size = 0;
        CHECK_EQ(oa_vk_dump_json(m, NULL, 0, &size), OA_VK_INCOMPLETE);
        char* text = malloc(size + 1);
        CHECK(text != NULL);
        size_t written = 0;
        CHECK_EQ(oa_vk_dump_json(m, text, size + 1, &written), OA_VK_SUCCESS);
        CHECK(valid_utf8((const unsigned char*)text));
        cJSON* root = cJSON_Parse(text);
        free(text);
        CHECK(root != NULL);
        const cJSON* jp = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "pools"), 0);
        const cJSON* jn = cJSON_GetObjectItemCaseSensitive(jp, "name");
        CHECK(cJSON_IsString(jn));
        const size_t got = strlen(jn->valuestring);
        CHECK(got > 50 && got < strlen(name));
        CHECK(memcmp(jn->valuestring, name, got) == 0);
        CHECK_EQ((got - (size_t)lead) % 3, 0);
        cJSON_Delete(root);
        CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    }
    VKT_TEARDOWN(&fx);
}

typedef struct walk_record {
    oa_vk_region_info r[512];
    uint32_t n, stop_after;
} walk_record;

static bool record_region(void* user, const oa_vk_region_info* region) {
    walk_record* w = (walk_record*)user;
    if (w->n < 512) {
        w->r[w->n] = *region;
    }
    w->n++;
    return w->stop_after == 0 || w->n < w->stop_after;
}

/* oa_vk_pool_walk tiles every block with the pool's ranges and free space,
 * names each range with its handle, pending state and tag, and agrees with
 * the pool's statistics. */
OA_TEST(pool_walk_reports_every_region) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .block_size = 16 * KiB, .name = "walked"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[30];
    for (uint32_t i = 0; i < 30; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 500 + (i * 331) % 2000, 24, &r[i]), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_range_set_tag(m, r[i].handle, 100 + i), OA_VK_SUCCESS);
    }
    for (uint32_t i = 0; i < 30; i += 4) {
        CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
    }
    for (uint32_t i = 1; i < 30; i += 4) {
        CHECK_EQ(oa_vk_free_deferred(m, r[i].handle, 9), OA_VK_SUCCESS);
    }
    static walk_record w;
    memset(&w, 0, sizeof w);
    CHECK_EQ(oa_vk_pool_walk(m, pool, record_region, &w), OA_VK_SUCCESS);
    CHECK(w.n > 0 && w.n < 512);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    uint64_t ranges = 0, pending = 0, free_regions = 0, free_bytes = 0, expect = 0;
    uint32_t block = 0;
    for (uint32_t k = 0; k < w.n; k++) {
        const oa_vk_region_info* g = &w.r[k];
        if (g->block_index != block) {
            CHECK_EQ(expect, w.r[k - 1].block_size); /* the previous block was tiled */
            CHECK_EQ(g->block_index, block + 1);
            block = g->block_index;
            expect = 0;
        }
        CHECK_EQ(g->offset, expect);
        expect += g->size;
        if (g->is_free) {
            CHECK_EQ(g->range.id, 0);
            free_regions++;
            free_bytes += g->size;
            continue;
        }
        ranges++;
        pending += g->is_pending;
        uint32_t i = g->tag - 100;
        CHECK(g->tag >= 100 && i < 30 && i % 4 != 0);
        CHECK_EQ(g->range.id, r[i].handle.id);
        CHECK_EQ(g->offset, r[i].offset);
        CHECK(g->buffer == r[i].buffer);
        CHECK_EQ(g->is_pending, i % 4 == 1);
    }
    CHECK_EQ(expect, w.r[w.n - 1].block_size);
    CHECK_EQ(block + 1, st.block_count);
    CHECK_EQ(ranges, st.allocation_count);
    CHECK_EQ(pending, st.pending_count);
    CHECK_EQ(free_regions, st.free_region_count);
    CHECK_EQ(free_bytes, st.free_size);
    /* Stopping early, and bad input. */
    walk_record* once = &w;
    memset(once, 0, sizeof *once);
    once->stop_after = 3;
    CHECK_EQ(oa_vk_pool_walk(m, pool, record_region, once), OA_VK_SUCCESS);
    CHECK_EQ(once->n, 3);
    CHECK_EQ(oa_vk_pool_walk(m, pool, NULL, once), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_walk(NULL, pool, record_region, once), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_collect(m, 9, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_walk(m, pool, record_region, once), OA_VK_ERROR_STALE_HANDLE);
    VKT_TEARDOWN(&fx);
}

OA_TEST(bad_input_is_rejected) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    oa_vk_manager* other = vkt_manager(0);
    CHECK(other != NULL);
    oa_vk_manager* out = (oa_vk_manager*)0x1;
    /* NULL infos and outputs. */
    CHECK_EQ(oa_vk_manager_create(NULL, &out), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(out == NULL);
    oa_vk_manager_info mi = vkt_manager_info(0);
    CHECK_EQ(oa_vk_manager_create(&mi, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    mi.device = VK_NULL_HANDLE;
    CHECK_EQ(oa_vk_manager_create(&mi, &out), OA_VK_ERROR_INVALID_ARGUMENT);
    mi = vkt_manager_info(0x80000000u);
    CHECK_EQ(oa_vk_manager_create(&mi, &out), OA_VK_ERROR_INVALID_ARGUMENT);
    mi = vkt_manager_info(0);
    mi.get_instance_proc_addr = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &out), OA_VK_ERROR_INVALID_ARGUMENT);
    oa_vk_pool pool = {77};
    CHECK_EQ(oa_vk_pool_create(m, NULL, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(pool.id, 0);
    const oa_vk_pool_info no_usage = {0};
    CHECK_EQ(oa_vk_pool_create(m, &no_usage, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool_info bad_flags = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .flags = 0x100};
    CHECK_EQ(oa_vk_pool_create(m, &bad_flags, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool_info bda = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                 .flags = OA_VK_POOL_DEVICE_ADDRESS};
    CHECK_EQ(oa_vk_pool_create(m, &bda, &pool), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    CHECK_EQ(oa_vk_pool_create(NULL, &bda, &pool), OA_VK_ERROR_INVALID_ARGUMENT);

    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 64 * KiB};
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool other_pool;
    CHECK_EQ(oa_vk_pool_create(other, &info, &other_pool), OA_VK_SUCCESS);
    oa_vk_range_info r, o;
    /* Zero sizes and alignments, NULL outputs. */
    CHECK_EQ(oa_vk_alloc(m, pool, 0, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(r.handle.id, 0);
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 0, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 1, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_alloc(NULL, pool, 16, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_alloc(m, pool, 16, (1ull << 32) + 3, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    /* Foreign handles: another manager's pool and range. */
    CHECK_EQ(oa_vk_alloc(m, other_pool, 16, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_alloc(other, other_pool, 16, 1, &o), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 1, &r), OA_VK_SUCCESS);
    oa_vk_range_info tmp;
    CHECK_EQ(oa_vk_free(m, o.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_range_get_info(m, o.handle, &tmp), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free_deferred(m, o.handle, 1), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_flush(m, o.handle, 0, 1), OA_VK_ERROR_STALE_HANDLE);
    /* Forged handles. */
    const oa_vk_range forged = {r.handle.id ^ (1ull << 40)};
    CHECK_EQ(oa_vk_free(m, forged), OA_VK_ERROR_STALE_HANDLE);
    const oa_vk_range out_of_table = {(r.handle.id & ~0xFFFFFFFFull) | 0xFFFFFFF};
    CHECK_EQ(oa_vk_free(m, out_of_table), OA_VK_ERROR_STALE_HANDLE);
    /* Id 0 is a no-op. */
    const oa_vk_range none = {0};
    CHECK_EQ(oa_vk_free(m, none), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free_deferred(m, none, 5), OA_VK_SUCCESS);
    /* Double free. */
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    vkt_log_count = 0;
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(vkt_log_count, 1);
    CHECK_EQ(oa_vk_range_get_info(m, r.handle, &tmp), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(tmp.handle.id, 0);
    /* Destroying a pool with live ranges names the count and changes nothing. */
    oa_vk_range_info live[3];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &live[i]), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_free_deferred(m, live[2].handle, 9), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_ERROR_LIVE_RANGES);
    CHECK(strstr(vkt_last_log, "3 ranges") != NULL);
    CHECK_EQ(oa_vk_range_get_info(m, live[0].handle, &tmp), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0x8), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    /* Destroyed pools and their ranges are stale. */
    CHECK_EQ(oa_vk_range_get_info(m, live[0].handle, &tmp), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free(m, live[1].handle), OA_VK_ERROR_STALE_HANDLE);
    uint64_t freed = 7;
    CHECK_EQ(oa_vk_collect(m, 100, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0); /* the pending range went with its pool */
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_ERROR_STALE_HANDLE);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_trim(m, pool, NULL), OA_VK_ERROR_STALE_HANDLE);
    const oa_vk_pool no_pool = {0};
    CHECK_EQ(oa_vk_pool_destroy(m, no_pool, 0), OA_VK_SUCCESS);
    /* A new pool in the old slot does not revive old handles. */
    oa_vk_pool reborn = vkt_pool(&fx, &info);
    CHECK(reborn.id != 0);
    CHECK(reborn.id != pool.id);
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    /* Other NULLs. */
    CHECK_EQ(oa_vk_collect(NULL, 0, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_get_stats(m, reborn, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_get_heap_stats(m, NULL, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    size_t size = 0;
    CHECK_EQ(oa_vk_dump_json(m, NULL, 10, &size), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_dump_json(m, NULL, 0, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    oa_vk_manager_destroy(NULL);
    oa_vk_manager_destroy(other);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
