/* test_vk_fake.c - failure paths through the fake Vulkan device of
 * vk_fake_device.h, whose entry points record calls and return chosen
 * VkResults, over a synthetic discrete GPU (fake_reset: video memory, system
 * memory, a BAR window, and a non-coherent cached type).
 * Checks memory-type fallback, device limits, budgets, flush rounding, host
 * allocation failures, and that every failure leaks nothing. No device. */
#include <orderly/orderly_vk.h>

#include "../oa_test.h"
#include "vk_fake_device.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define CHECK_NO_LEAK()                                                                            \
    do {                                                                                           \
        CHECK_EQ(fake.live_buffers, 0);                                                            \
        CHECK_EQ(fake.live_memories, 0);                                                           \
        CHECK_EQ(fake.mapped, 0);                                                                  \
        CHECK_EQ(fake.illegal_calls, 0);                                                           \
    } while (0)

OA_TEST(memory_type_falls_back_when_a_heap_is_full) {
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .required_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                  .block_size = 1 * MiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, 0); /* the probe buffer is gone */
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 0);
    /* Video memory type 0 full: the next best device-local type is 4 (same
     * flags), then the BAR (3). */
    fake.fail_types = 1 << 0;
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 4);
    fake.fail_types = (1 << 0) | (1 << 4);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 3);
    oa_vk_block_stats bs;
    CHECK_EQ(oa_vk_block_get_stats(m, pool, 2, &bs), OA_VK_SUCCESS);
    CHECK_EQ(bs.memory_type_index, 3);
    /* Nothing left: an error, no leak, the pool still works afterwards. */
    fake.fail_types = 0x1F;
    const int buffers = fake.live_buffers, memories = fake.live_memories;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK_EQ(big.handle.id, 0);
    CHECK_EQ(fake.live_buffers, buffers);
    CHECK_EQ(fake.live_memories, memories);
    fake.fail_types = 0;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* An unmapped device-only pool may fall back across coherency: video memory
 * (0, 4) and the BAR (3) full, then coherent host memory (1) full, it takes
 * the non-coherent cached type (2). */
OA_TEST(device_pool_falls_back_across_coherency) {
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                  .block_size = 1 * MiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.memory_type_index, 0);
    CHECK_EQ(st.intent, OA_VK_INTENT_DEVICE);
    CHECK_EQ(st.fallback_type_count, 4); /* 0 > 4 > 3 > 1 > 2 */
    oa_vk_range_info r;
    fake.fail_types = (1 << 0) | (1 << 4) | (1 << 3) | (1 << 1);
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 2);
    CHECK(r.mapped == NULL);
    /* A block's buffer whose memoryTypeBits leave out the pool's first types
     * (as the probe's did not) goes to the first type of the order it
     * allows. */
    fake.fail_types = 0;
    fake.type_bits = (1 << 1) | (1 << 3);
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 3);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* A mapped readback pool whose first type is non-coherent falls back to a
 * coherent cached type, and never to uncached memory. */
OA_TEST(readback_pool_falls_back_to_cached_memory_only) {
    fake_reset();
    fake.memory.memoryTypes[4] =
        (VkMemoryType){VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT |
                           VK_MEMORY_PROPERTY_HOST_CACHED_BIT,
                       1};
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_READBACK,
                                  .block_size = 1 * MiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.memory_type_index, 2);
    CHECK_EQ(st.intent, OA_VK_INTENT_READBACK);
    CHECK_EQ(st.fallback_type_count, 1);
    CHECK_EQ(st.alignment, 128); /* non-coherent first type: whole atoms */
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 2);
    CHECK(r.mapped != NULL); /* the intent maps the pool */
    fake.fail_types = 1 << 2;
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_type, 4);
    /* Both cached types full: out of memory, not uncached memory. */
    fake.fail_types = (1 << 2) | (1 << 4);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &big), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

static char intent_log[512];
static void intent_log_fn(void* user, oa_vk_result result, const char* message) {
    (void)user;
    (void)result;
    snprintf(intent_log, sizeof intent_log, "%s", message);
}

/* Pool creation by intent: the stats name the intent, the heap stats the
 * ReBAR heap, and a mapped device-only pool is an error that says why. */
OA_TEST(pool_intents_in_stats_and_errors) {
    fake_reset();
    fake.memory.memoryHeaps[2].size = 512 * MiB; /* the BAR becomes ReBAR */
    oa_vk_manager_info mi = fake_manager_info(0);
    mi.log = intent_log_fn;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 3);
    CHECK(!heaps[0].is_rebar);
    CHECK(!heaps[1].is_rebar);
    CHECK(heaps[2].is_rebar);
    oa_vk_pool pool;
    const oa_vk_pool_info upload = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                    .intent = OA_VK_INTENT_UPLOAD,
                                    .flags = OA_VK_POOL_ALLOW_REBAR,
                                    .block_size = 1 * MiB};
    CHECK_EQ(oa_vk_pool_create(m, &upload, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.memory_type_index, 3);
    CHECK_EQ(st.intent, OA_VK_INTENT_UPLOAD);
    /* Staging (the stager's intent): coherent host memory, whatever ReBAR
     * there is. */
    const oa_vk_pool_info staging = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                     .intent = OA_VK_INTENT_STAGING,
                                     .flags = OA_VK_POOL_ALLOW_REBAR};
    CHECK_EQ(oa_vk_pool_create(m, &staging, &pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.memory_type_index, 1);

    const oa_vk_pool_info mapped_device = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                           .flags = OA_VK_POOL_MAPPED};
    CHECK_EQ(oa_vk_pool_create(m, &mapped_device, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(pool.id, 0);
    CHECK(strstr(intent_log, "host intent") != NULL);
    const oa_vk_pool_info unknown = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                     .intent = (oa_vk_memory_intent)6};
    CHECK_EQ(oa_vk_pool_create(m, &unknown, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(intent_log, "intent 6") != NULL);
    /* Readback on buffers that fit no host-visible type. */
    fake.type_bits = 1 << 0;
    const oa_vk_pool_info readback = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .intent = OA_VK_INTENT_READBACK};
    CHECK_EQ(oa_vk_pool_create(m, &readback, &pool), OA_VK_ERROR_NO_MEMORY_TYPE);
    CHECK(strstr(intent_log, "readback") != NULL);
    CHECK_EQ(fake.live_buffers, 0);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

OA_TEST(device_limits_are_respected) {
    fake_reset();
    fake.limits.maxMemoryAllocationCount = 2;
    fake.max_buffer_size = 3 * MiB;
    fake.max_allocation_size = 2 * MiB;
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_size, 2 * MiB); /* 64 MiB default clamped */
    CHECK_EQ(st.alignment, 32);       /* storage 32; memory alignment 64 is no term */
    oa_vk_range_info r[3];
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB + 1, 1, &r[0]), OA_VK_ERROR_TOO_LARGE);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &r[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &r[1]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &r[2]), OA_VK_ERROR_TOO_MANY_ALLOCATIONS);
    CHECK_EQ(oa_vk_free(m, r[0].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 2 * MiB, 1, &r[2]), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

typedef struct usage_alignment_case {
    const char* what;
    VkBufferUsageFlags usage;
    oa_vk_memory_intent intent;
    uint32_t index_size;
    uint32_t type_bits;    /* 0 -> all */
    VkDeviceSize base;     /* the pool's alignment the header states */
    VkDeviceSize stride;   /* the caller's alignment of the second range */
    VkDeviceSize expected; /* lcm(base, stride) */
} usage_alignment_case;

/* A pool per usage on the fake's limits (uniform 256, storage 32, texel 16,
 * atom 128, memory alignment 64): the pool's alignment is exactly the lcm the
 * header of oa_vk_range_alignment states, range sizes are rounded up to it,
 * and a second range lands at the first multiple of lcm(alignment, stride)
 * after the first one's rounded end: no more (the memory alignment of 64 is
 * not a term). */
OA_TEST(range_offsets_are_multiples_of_exactly_the_stated_lcm) {
    static const usage_alignment_case cases[] = {
        {"vertex", VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 1, 24, 24},
        {"vertex 12", VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 1, 12, 12},
        {"index16", VK_BUFFER_USAGE_INDEX_BUFFER_BIT, OA_VK_INTENT_DEVICE, 2, 0, 2, 1, 2},
        {"index32", VK_BUFFER_USAGE_INDEX_BUFFER_BIT, OA_VK_INTENT_DEVICE, 4, 0, 4, 6, 12},
        {"vertex+index32", VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
         OA_VK_INTENT_DEVICE, 4, 0, 4, 36, 36},
        {"indirect", VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 4, 20, 20},
        {"uniform", VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, OA_VK_INTENT_DYNAMIC, 0, 0, 256, 24, 768},
        {"storage", VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 32, 12, 96},
        {"texel", VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 16, 12, 48},
        {"storage texel", VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT, OA_VK_INTENT_DEVICE, 0, 0, 16,
         1, 16},
        {"coherent staging", VK_BUFFER_USAGE_TRANSFER_SRC_BIT, OA_VK_INTENT_STAGING, 0, 0, 1, 3, 3},
        {"non-coherent staging", VK_BUFFER_USAGE_TRANSFER_SRC_BIT, OA_VK_INTENT_STAGING, 0, 1u << 2,
         128, 24, 384},
        {"non-coherent storage", VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, OA_VK_INTENT_READBACK, 0,
         1u << 2, 128, 1, 128},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const usage_alignment_case* c = &cases[i];
        fake_reset();
        if (c->type_bits != 0) {
            fake.type_bits = c->type_bits;
        }
        oa_vk_manager* m = fake_manager(0);
        CHECK(m != NULL);
        const oa_vk_pool_info info = {.usage = c->usage,
                                      .intent = c->intent,
                                      .index_size = c->index_size,
                                      .block_size = 1 * MiB};
        oa_vk_pool pool;
        CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
        oa_vk_pool_stats st;
        CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_range_alignment(&fake.limits, c->usage, c->index_size,
                                       c->type_bits == (1u << 2), 1),
                 c->base);
        if (st.alignment != c->base) {
            OA_FAIL_AT("%s: pool alignment %llu, expected %llu", c->what,
                       (unsigned long long)st.alignment, (unsigned long long)c->base);
        }
        /* 1001 bytes at the pool's alignment, then 50 bytes at the stride. */
        oa_vk_range_info a, b, d;
        CHECK_EQ(oa_vk_alloc(m, pool, 1001, 1, &a), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_alloc(m, pool, 50, c->stride, &b), OA_VK_SUCCESS);
        const VkDeviceSize a_end = (1001 + c->base - 1) / c->base * c->base;
        const VkDeviceSize b_at = (a_end + c->expected - 1) / c->expected * c->expected;
        CHECK_EQ(a.offset, 0);
        if (b.offset != b_at) {
            OA_FAIL_AT("%s: second range at %llu, expected %llu (lcm %llu)", c->what,
                       (unsigned long long)b.offset, (unsigned long long)b_at,
                       (unsigned long long)c->expected);
        }
        /* Ranges of the pool's own alignment tile: the next one starts where
         * the rounded second one ends, or at the pad the stride left. */
        CHECK_EQ(oa_vk_alloc(m, pool, 7, 1, &d), OA_VK_SUCCESS);
        const VkDeviceSize b_end = b_at + (50 + c->base - 1) / c->base * c->base;
        CHECK(d.offset == a_end || d.offset == b_end);
        CHECK_EQ(d.offset % c->base, 0);
        oa_vk_block_stats bs;
        CHECK_EQ(oa_vk_block_get_stats(m, pool, 0, &bs), OA_VK_SUCCESS);
        /* Held bytes: each range rounded to the base, nothing else. */
        CHECK_EQ(bs.used_size, a_end + (b_end - b_at) + (7 + c->base - 1) / c->base * c->base);
        oa_vk_manager_destroy(m);
        CHECK_NO_LEAK();
    }
    /* An index size that is no index type, or without index usage. */
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_pool pool;
    const oa_vk_pool_info three = {.usage = VK_BUFFER_USAGE_INDEX_BUFFER_BIT, .index_size = 3};
    CHECK_EQ(oa_vk_pool_create(m, &three, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(pool.id, 0);
    const oa_vk_pool_info no_index = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, .index_size = 4};
    CHECK_EQ(oa_vk_pool_create(m, &no_index, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

OA_TEST(budget_comes_from_the_extension_or_the_heap) {
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 3);
    CHECK_EQ(heaps[0].budget, 8 * GiB / 10 * 8); /* 80% of the heap */
    CHECK_EQ(heaps[2].budget, 256 * MiB / 10 * 8);
    oa_vk_manager_destroy(m);

    fake.budget[0] = 3 * GiB;
    fake.budget[1] = 5 * GiB;
    fake.budget[2] = 100 * MiB;
    oa_vk_manager_info info = fake_manager_info(OA_VK_MANAGER_MEMORY_BUDGET);
    info.heap_budget[1] = 1 * GiB; /* the caller's cap wins when lower */
    info.heap_budget[2] = 1 * GiB; /* and not when higher */
    CHECK_EQ(oa_vk_manager_create(&info, &m), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].budget, 3 * GiB);
    CHECK_EQ(heaps[1].budget, 1 * GiB);
    CHECK_EQ(heaps[2].budget, 100 * MiB);
    /* The budget is re-read: the device lowers it, the next block fails. */
    const oa_vk_pool_info pinfo = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                   .required_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
                                   .block_size = 64 * MiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &pinfo, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 1 * MiB, 1, &r), OA_VK_SUCCESS);
    fake.budget[0] = 64 * MiB;
    fake.budget[2] = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].usage, 64 * MiB);
    oa_vk_range_info r2;
    CHECK_EQ(oa_vk_alloc(m, pool, 64 * MiB, 1, &r2), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* With VK_EXT_memory_budget the budget is the whole process's: other
 * allocations in heapUsage count, orderly's since the last read are added,
 * and oa_vk_collect re-reads it once a frame. */
OA_TEST(budget_compares_with_the_process_usage) {
    fake_reset();
    fake.type_bits = 1 << 0; /* video memory, heap 0, only */
    fake.budget[0] = 256 * MiB;
    fake.usage[0] = 200 * MiB; /* images, another allocator */
    oa_vk_manager* m = fake_manager(OA_VK_MANAGER_MEMORY_BUDGET);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 64 * MiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].budget, 256 * MiB);
    CHECK_EQ(heaps[0].process_usage, 200 * MiB);
    CHECK_EQ(heaps[0].usage, 0);
    /* 200 + 64 MiB pass 256 MiB though orderly holds nothing. */
    oa_vk_range_info r, r2;
    CHECK_EQ(oa_vk_alloc(m, pool, 1 * MiB, 1, &r), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK_EQ(fake.live_memories, 0);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_SUCCESS); /* no Vulkan call failed */
    /* The other allocator frees 100 MiB; the next collect reads it. */
    fake.usage[0] = 100 * MiB;
    const int queries = fake.budget_queries;
    CHECK_EQ(oa_vk_collect(m, 1, NULL), OA_VK_SUCCESS);
    CHECK_EQ(fake.budget_queries, queries + 1);
    CHECK_EQ(oa_vk_alloc(m, pool, 1 * MiB, 1, &r), OA_VK_SUCCESS);
    /* Until the next read, orderly's new block is added to the old usage:
     * 100 + 64 + 64 MiB fit, a third block would not. */
    CHECK_EQ(oa_vk_alloc(m, pool, 64 * MiB, 1, &r2), OA_VK_SUCCESS);
    fake.usage[0] = 100 * MiB + 128 * MiB; /* the driver now counts both */
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &count), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].usage, 128 * MiB);
    CHECK_EQ(heaps[0].process_usage, 228 * MiB);
    oa_vk_range_info r3;
    CHECK_EQ(oa_vk_alloc(m, pool, 64 * MiB, 1, &r3), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    /* The JSON dump shows both. */
    char json[4096];
    size_t n = 0;
    CHECK_EQ(oa_vk_dump_json(m, json, sizeof json, &n), OA_VK_SUCCESS);
    CHECK(strstr(json, "\"usage\":134217728,\"process_usage\":239075328") != NULL);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* Blocks kept empty (hysteresis, or a pool's first) are released before an
 * allocation fails the budget, in any pool of the heap; then the failure is
 * OA_VK_ERROR_OUT_OF_DEVICE_MEMORY with a log that names the budget. */
OA_TEST(empty_blocks_never_make_an_allocation_fail) {
    fake_reset();
    fake.type_bits = 1 << 0;
    oa_vk_manager_info mi = fake_manager_info(0);
    mi.heap_budget[0] = 2 * MiB + 4 * KiB; /* room for two blocks of 1 MiB */
    mi.log = intent_log_fn;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 1 * MiB};
    oa_vk_pool a, b;
    CHECK_EQ(oa_vk_pool_create(m, &info, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &info, &b), OA_VK_SUCCESS);
    oa_vk_range_info ra[2], rb[3];
    CHECK_EQ(oa_vk_alloc(m, a, 1 * MiB, 1, &ra[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, a, 1 * MiB, 1, &ra[1]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, ra[0].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, ra[1].handle), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, a, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 2); /* both held empty */
    CHECK_EQ(oa_vk_alloc(m, b, 1 * MiB, 1, &rb[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, b, 1 * MiB, 1, &rb[1]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, a, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 0);
    CHECK_EQ(fake.live_memories, 2);
    /* Nothing left to release: a clear failure, and pool b is unchanged. */
    intent_log[0] = 0;
    CHECK_EQ(oa_vk_alloc(m, b, 1 * MiB, 1, &rb[2]), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK(strstr(intent_log, "budget of heap 0") != NULL);
    CHECK_EQ(rb[2].handle.id, 0);
    CHECK_EQ(oa_vk_pool_get_stats(m, b, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 2);
    CHECK_EQ(st.allocation_count, 2);
    /* A dedicated block is refused the same way, after the same release. */
    CHECK_EQ(oa_vk_free(m, rb[1].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, a, 1 * MiB + 1, 1, &ra[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, b, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 1);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* A given block size is clamped to the heap's budget like the default, so a
 * block too big for the heap cannot make every allocation fail. */
OA_TEST(given_block_size_is_clamped_to_the_budget) {
    fake_reset();
    fake.type_bits = 1 << 0;
    oa_vk_manager_info mi = fake_manager_info(0);
    mi.heap_budget[0] = 16 * MiB;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 2 * GiB};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_size, 16 * MiB);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 1 * MiB, 1, &r), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

OA_TEST(flush_rounds_to_atoms_and_clamps_to_the_memory) {
    fake_reset();
    fake.type_bits = 1 << 2; /* only the non-coherent cached type */
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .intent = OA_VK_INTENT_STAGING,
                                  .block_size = 1000 * 64};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.alignment, 128); /* atom 128 */
    oa_vk_range_info a, b;
    CHECK_EQ(oa_vk_alloc(m, pool, 300, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 12, &b), OA_VK_SUCCESS);
    CHECK_EQ(a.offset, 0);
    CHECK_EQ(b.offset, 384); /* a holds 3 whole atoms; lcm(128, 12) = 384 */
    CHECK_EQ(oa_vk_flush(m, b.handle, 10, 20), OA_VK_SUCCESS);
    CHECK_EQ(fake.flushes, 1);
    CHECK_EQ(fake.last_sync.offset, 384);
    CHECK_EQ(fake.last_sync.size, 128);
    CHECK_EQ(oa_vk_invalidate(m, a.handle, 130, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    CHECK_EQ(fake.invalidates, 1);
    CHECK_EQ(fake.last_sync.offset, 128);
    CHECK_EQ(fake.last_sync.size, 256);
    /* The last range of the block: its rounded end passes the memory's end
     * (64,000 bytes, not a multiple of 128) and is clamped to it. */
    oa_vk_range_info last;
    CHECK_EQ(oa_vk_alloc(m, pool, 64000 - 384 - 128 - 100, 1, &last), OA_VK_SUCCESS);
    CHECK_EQ(last.offset + last.size, 64000 - 100);
    CHECK_EQ(oa_vk_flush(m, last.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    CHECK_EQ(fake.last_sync.offset, last.offset);
    CHECK_EQ(fake.last_sync.offset + fake.last_sync.size, 64000);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

OA_TEST(vulkan_failures_leak_nothing) {
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_DYNAMIC,
                                  .block_size = 1 * MiB};
    oa_vk_pool pool;
    fake.result[FAKE_CREATE_BUFFER] = VK_ERROR_OUT_OF_HOST_MEMORY;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_OUT_OF_HOST_MEMORY);
    CHECK_EQ(pool.id, 0);
    fake.result[FAKE_CREATE_BUFFER] = 0;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r;
    fake.result[FAKE_CREATE_BUFFER] = VK_ERROR_UNKNOWN;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_VULKAN);
    fake.result[FAKE_CREATE_BUFFER] = 0;
    fake.result[FAKE_BIND] = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK_NO_LEAK();
    fake.result[FAKE_BIND] = VK_SUCCESS;
    fake.result[FAKE_MAP] = VK_ERROR_MEMORY_MAP_FAILED;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_VULKAN);
    CHECK_NO_LEAK();
    fake.result[FAKE_MAP] = VK_SUCCESS;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK(r.mapped != NULL);
    CHECK_EQ(r.offset % 256, 0);
    /* No usable memory type for a mapped pool. */
    fake.type_bits = 1 << 0;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_NO_MEMORY_TYPE);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* The VkResult of a failed Vulkan call reaches the caller: lost devices get
 * their own result, everything gets oa_vk_last_vk_result. */
OA_TEST(vulkan_results_reach_the_caller) {
    fake_reset();
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_SUCCESS);
    CHECK_EQ(oa_vk_last_vk_result(NULL), VK_SUCCESS);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .block_size = 1 * MiB};
    oa_vk_pool pool;
    fake.result[FAKE_CREATE_BUFFER] = VK_ERROR_DEVICE_LOST;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_DEVICE_LOST);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_DEVICE_LOST);
    fake.result[FAKE_CREATE_BUFFER] = 0;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    /* vkAllocateMemory: a lost device is not out of memory, and no other
     * memory type is tried for it. */
    oa_vk_range_info r;
    fake.result[FAKE_ALLOCATE] = VK_ERROR_DEVICE_LOST;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_DEVICE_LOST);
    CHECK_EQ(fake.calls[FAKE_ALLOCATE], 1);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_DEVICE_LOST);
    CHECK_EQ(r.handle.id, 0);
    CHECK_NO_LEAK();
    fake.result[FAKE_ALLOCATE] = VK_ERROR_OUT_OF_DEVICE_MEMORY;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_OUT_OF_DEVICE_MEMORY);
    fake.result[FAKE_ALLOCATE] = VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_VULKAN);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS);
    fake.result[FAKE_ALLOCATE] = 0;
    /* vkBindBufferMemory and vkMapMemory. */
    fake.result[FAKE_BIND] = VK_ERROR_DEVICE_LOST;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_DEVICE_LOST);
    CHECK_NO_LEAK();
    fake.result[FAKE_BIND] = 0;
    fake.result[FAKE_MAP] = VK_ERROR_MEMORY_MAP_FAILED;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_VULKAN);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_MEMORY_MAP_FAILED);
    fake.result[FAKE_MAP] = VK_ERROR_DEVICE_LOST;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_DEVICE_LOST);
    CHECK_NO_LEAK();
    fake.result[FAKE_MAP] = 0;
    /* A success leaves the last failure readable. */
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_DEVICE_LOST);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();

    /* vkFlushMappedMemoryRanges on non-coherent memory. */
    fake_reset();
    fake.type_bits = 1 << 2;
    m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info staging = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                     .intent = OA_VK_INTENT_STAGING,
                                     .block_size = 64 * KiB};
    CHECK_EQ(oa_vk_pool_create(m, &staging, &pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    fake.result[FAKE_SYNC] = VK_ERROR_DEVICE_LOST;
    CHECK_EQ(oa_vk_flush(m, r.handle, 0, VK_WHOLE_SIZE), OA_VK_ERROR_DEVICE_LOST);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_DEVICE_LOST);
    fake.result[FAKE_SYNC] = VK_ERROR_OUT_OF_HOST_MEMORY;
    CHECK_EQ(oa_vk_flush(m, r.handle, 0, VK_WHOLE_SIZE), OA_VK_ERROR_OUT_OF_HOST_MEMORY);
    CHECK_EQ(oa_vk_last_vk_result(m), VK_ERROR_OUT_OF_HOST_MEMORY);
    fake.result[FAKE_SYNC] = 0;
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

OA_TEST(missing_entry_points_are_reported) {
    static const char* names[] = {"vkGetDeviceProcAddr", "vkGetPhysicalDeviceProperties",
                                  "vkCreateBuffer", "vkMapMemory", "vkCmdCopyBuffer"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fake_reset();
        fake.missing = names[i];
        const oa_vk_manager_info info = fake_manager_info(0);
        oa_vk_manager* m = (oa_vk_manager*)0x1;
        CHECK_EQ(oa_vk_manager_create(&info, &m), OA_VK_ERROR_FEATURE_NOT_ENABLED);
        CHECK(m == NULL);
    }
    /* Flags that need entry points the device lacks. */
    fake_reset();
    oa_vk_manager_info info = fake_manager_info(OA_VK_MANAGER_DEBUG_UTILS);
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&info, &m), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    info = fake_manager_info(OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS);
    CHECK_EQ(oa_vk_manager_create(&info, &m), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    /* A stager needs a barrier: vkCmdPipelineBarrier2, or else
     * vkCmdPipelineBarrier. */
    fake.missing = "vkCmdPipelineBarrier2";
    m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_stager_info sinfo = {0};
    oa_vk_stager* s = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &s), OA_VK_SUCCESS);
    CHECK(s != NULL);
    oa_vk_stager_destroy(s);
    oa_vk_manager_destroy(m);
    fake.missing = NULL;
    fake.no_barrier2 = true;
    fake.no_barrier1 = true;
    m = fake_manager(0);
    CHECK(m != NULL);
    s = (oa_vk_stager*)0x1;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &s), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    CHECK(s == NULL);
    oa_vk_manager_destroy(m);
    CHECK_NO_LEAK();
}

/* Host allocation failure injection: fail the Nth allocation, for N = 0, 1,
 * ... until a full create/pool/alloc/deferred-free/collect/dump sequence
 * succeeds; every failure returns OUT_OF_HOST_MEMORY and leaks nothing. */
typedef struct failing_heap {
    int countdown; /* allocations left before failing; < 0 never fails */
    size_t live_bytes;
    int live_blocks;
} failing_heap;

static void* failing_alloc(void* user, size_t size, size_t align) {
    failing_heap* h = user;
    (void)align;
    if (h->countdown == 0) {
        return NULL;
    }
    if (h->countdown > 0) {
        h->countdown--;
    }
    h->live_bytes += size;
    h->live_blocks++;
    return malloc(size);
}

static void failing_free(void* user, void* ptr, size_t size) {
    failing_heap* h = user;
    h->live_bytes -= size;
    h->live_blocks--;
    free(ptr);
}

static oa_vk_result run_sequence(failing_heap* heap) {
    oa_vk_manager_info info = fake_manager_info(0);
    info.callbacks.alloc = failing_alloc;
    info.callbacks.free = failing_free;
    info.callbacks.user = heap;
    oa_vk_manager* m = NULL;
    oa_vk_result r = oa_vk_manager_create(&info, &m);
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    const oa_vk_pool_info pinfo = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                   .block_size = 64 * KiB};
    oa_vk_pool pool;
    oa_vk_range_info ranges[20];
    r = oa_vk_pool_create(m, &pinfo, &pool);
    for (int i = 0; i < 20 && r == OA_VK_SUCCESS; i++) {
        r = oa_vk_alloc(m, pool, 10 * KiB, 1, &ranges[i]);
    }
    for (int i = 0; i < 20 && r == OA_VK_SUCCESS; i++) {
        r = oa_vk_free_deferred(m, ranges[i].handle, 1);
    }
    if (r == OA_VK_SUCCESS) {
        char text[256];
        size_t size = 0;
        r = oa_vk_dump_json(m, text, sizeof text, &size);
        r = r == OA_VK_INCOMPLETE ? OA_VK_SUCCESS : r;
    }
    if (r == OA_VK_SUCCESS) {
        r = oa_vk_collect(m, 1, NULL);
    }
    oa_vk_manager_destroy(m);
    return r;
}

OA_TEST(host_allocation_failures_leak_nothing) {
    fake_reset();
    int n = 0;
    for (;; n++) {
        failing_heap heap = {n, 0, 0};
        const oa_vk_result r = run_sequence(&heap);
        CHECK_EQ(heap.live_blocks, 0);
        CHECK_EQ(heap.live_bytes, 0);
        CHECK_NO_LEAK();
        if (r == OA_VK_SUCCESS) {
            break;
        }
        if (r != OA_VK_ERROR_OUT_OF_HOST_MEMORY) {
            OA_FAIL_AT("failing allocation %d gave %s", n, oa_vk_result_name(r));
            return;
        }
        CHECK(n < 10000);
    }
    CHECK(n >= 5); /* the sequence did allocate: the failures were exercised */
}

OA_TEST_MAIN()
