/* test_vk_limits.c - maxBufferSize and maxMemoryAllocationSize hold at the
 * edge: every size the manager passes to vkCreateBuffer and vkAllocateMemory
 * respects both, with and without the corruption margin and the
 * non-coherent atom rounding, in dedicated and ordinary blocks; a request
 * that cannot fit gets OA_VK_ERROR_TOO_LARGE and a log message, and leaves
 * nothing behind. Runs on the fake device of vk_fake_device.h; no GPU. */
#include <orderly/orderly_vk.h>

#include "../oa_test.h"
#include "vk_fake_device.h"

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define REQ_ALIGN 64u /* the fake's memory alignment */

typedef struct log_count {
    int too_large;
} log_count;

static void count_log(void* user, oa_vk_result r, const char* message) {
    (void)message;
    if (r == OA_VK_ERROR_TOO_LARGE) {
        ((log_count*)user)->too_large++;
    }
}

typedef struct variant {
    const char* name;
    uint32_t manager_flags;
    bool coherent;
    uint32_t pool_flags;
} variant;

static const variant variants[] = {
    {"plain", 0, true, OA_VK_POOL_MAPPED},
    {"margin", 0, true, OA_VK_POOL_MAPPED | OA_VK_POOL_CORRUPTION_CHECK},
    {"assumed non-coherent", OA_VK_MANAGER_ASSUME_NON_COHERENT, true, OA_VK_POOL_MAPPED},
    {"assumed non-coherent + margin", OA_VK_MANAGER_ASSUME_NON_COHERENT, true,
     OA_VK_POOL_MAPPED | OA_VK_POOL_CORRUPTION_CHECK},
    {"non-coherent type + margin", 0, false, OA_VK_POOL_MAPPED | OA_VK_POOL_CORRUPTION_CHECK},
};

typedef struct limits {
    VkDeviceSize max_buffer_size, max_allocation_size;
} limits;

static const limits limit_sets[] = {
    {1 * MiB, 1 * MiB},        /* both at once, multiples of everything */
    {1 * MiB, 1 * MiB - 1000}, /* the allocation binds, off the memory alignment */
    {1 * MiB - 8, 2 * MiB},    /* the buffer binds, off the atom */
};

static VkDeviceSize round_up(VkDeviceSize v, VkDeviceSize a) {
    return (v + a - 1) / a * a;
}

static VkDeviceSize min_size(VkDeviceSize a, VkDeviceSize b) {
    return a < b ? a : b;
}

/* What the range takes in its block: the request and the margin, rounded up
 * to the pool's alignment (whole atoms on non-coherent memory). */
static VkDeviceSize held_size(const variant* v, VkDeviceSize alignment, VkDeviceSize size) {
    VkDeviceSize held = size;
    if ((v->pool_flags & OA_VK_POOL_CORRUPTION_CHECK) != 0) {
        held += OA_VK_CORRUPTION_MARGIN;
    }
    return round_up(held, alignment);
}

static bool is_non_coherent(const variant* v) {
    return !v->coherent || (v->manager_flags & OA_VK_MANAGER_ASSUME_NON_COHERENT) != 0;
}

/* The sizes around every edge: each limit itself, and the request that, with
 * margin and rounding, reaches it exactly; one byte under and over each. */
static uint32_t edge_sizes(const variant* v, const limits* l, VkDeviceSize alignment,
                           VkDeviceSize block_size, VkDeviceSize* out) {
    const VkDeviceSize edges[] = {l->max_buffer_size, l->max_allocation_size,
                                  l->max_allocation_size / REQ_ALIGN * REQ_ALIGN, block_size};
    uint32_t n = 0;
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        /* The largest request whose held size is at most the edge. */
        VkDeviceSize reach = edges[i];
        while (reach > 0 && held_size(v, alignment, reach) > edges[i]) {
            reach--;
        }
        const VkDeviceSize centres[] = {edges[i], reach};
        for (size_t c = 0; c < 2; c++) {
            for (int d = -1; d <= 1; d++) {
                out[n++] = (VkDeviceSize)((int64_t)centres[c] + d);
            }
        }
    }
    return n;
}

static void run_case(const variant* v, const limits* l, VkDeviceSize info_block_size) {
    fake_reset_single_type(v->coherent);
    fake.max_buffer_size = l->max_buffer_size;
    fake.max_allocation_size = l->max_allocation_size;
    log_count logs = {0};
    oa_vk_manager_info mi = fake_manager_info(v->manager_flags);
    mi.log = count_log;
    mi.log_user = &logs;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_FLAGS_ONLY, /* mapped by the flag */
                                  .block_size = info_block_size,
                                  .flags = v->pool_flags};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    const VkDeviceSize block = st.block_size;
    /* The non-coherent variants round to whole atoms. */
    CHECK(!is_non_coherent(v) || st.alignment % fake.limits.nonCoherentAtomSize == 0);
    CHECK(block <= l->max_buffer_size);
    CHECK(round_up(block, REQ_ALIGN) <= l->max_allocation_size);
    if (info_block_size == 0) {
        /* The default block is as large as the limits allow. */
        CHECK_EQ(block,
                 min_size(l->max_buffer_size, l->max_allocation_size / REQ_ALIGN * REQ_ALIGN));
    }

    VkDeviceSize sizes[32];
    const uint32_t n = edge_sizes(v, l, st.alignment, block, sizes);
    int successes = 0, rejections = 0;
    VkDeviceSize largest = 0;
    for (uint32_t i = 0; i < n; i++) {
        const VkDeviceSize size = sizes[i];
        const VkDeviceSize held = held_size(v, st.alignment, size);
        /* Legal iff every size Vulkan would see fits: an ordinary block
         * (already checked), or a dedicated buffer of `held` bytes and its
         * memory rounded up to the memory alignment. */
        const bool fits = held <= block || (held <= l->max_buffer_size &&
                                            round_up(held, REQ_ALIGN) <= l->max_allocation_size);
        const int buffers = fake.live_buffers, memories = fake.live_memories;
        const int logged = logs.too_large;
        oa_vk_range_info r;
        const oa_vk_result res = oa_vk_alloc(m, pool, size, 1, &r);
        if (fake.illegal_calls != 0) {
            OA_FAIL_AT("%s, limits %llu/%llu, block %llu: size %llu (held %llu) reached Vulkan "
                       "with buffer %llu / memory %llu",
                       v->name, (unsigned long long)l->max_buffer_size,
                       (unsigned long long)l->max_allocation_size, (unsigned long long)block,
                       (unsigned long long)size, (unsigned long long)held,
                       (unsigned long long)fake.last_buffer_size,
                       (unsigned long long)fake.last_allocation_size);
            return;
        }
        if (!fits) {
            if (res != OA_VK_ERROR_TOO_LARGE) {
                OA_FAIL_AT("%s: size %llu (held %llu) gave %s, expected OA_VK_ERROR_TOO_LARGE",
                           v->name, (unsigned long long)size, (unsigned long long)held,
                           oa_vk_result_name(res));
                return;
            }
            CHECK_EQ(r.handle.id, 0);
            CHECK_EQ(fake.live_buffers, buffers);
            CHECK_EQ(fake.live_memories, memories);
            CHECK(logs.too_large > logged);
            rejections++;
            continue;
        }
        if (res != OA_VK_SUCCESS) {
            OA_FAIL_AT("%s, limits %llu/%llu: size %llu (held %llu) gave %s", v->name,
                       (unsigned long long)l->max_buffer_size,
                       (unsigned long long)l->max_allocation_size, (unsigned long long)size,
                       (unsigned long long)held, oa_vk_result_name(res));
            return;
        }
        CHECK_EQ(r.size, size);
        /* The whole range and its margin are writable and flushable. */
        memset(r.mapped, 0x5C, (size_t)size);
        CHECK_EQ(oa_vk_flush(m, r.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
        CHECK_EQ(fake.illegal_calls, 0);
        CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
        successes++;
        largest = size > largest ? size : largest;
    }
    /* The edges were reached from both sides. */
    CHECK(successes > 0);
    CHECK(rejections > 0);
    CHECK(largest >= min_size(l->max_buffer_size, l->max_allocation_size) - 256);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

/* Small blocks: the sizes at the device limits go to dedicated blocks. */
OA_TEST(limits_hold_for_dedicated_blocks) {
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        for (size_t l = 0; l < sizeof limit_sets / sizeof limit_sets[0]; l++) {
            const int failed = oa_test_failed_flag;
            run_case(&variants[v], &limit_sets[l], 64 * KiB);
            if (oa_test_failed_flag != failed) {
                return;
            }
        }
    }
}

/* Default blocks, as large as the limits allow: the sizes at the limits land
 * in ordinary blocks, and one past them is rejected. */
OA_TEST(limits_hold_for_blocks_at_the_limit) {
    for (size_t v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        for (size_t l = 0; l < sizeof limit_sets / sizeof limit_sets[0]; l++) {
            const int failed = oa_test_failed_flag;
            run_case(&variants[v], &limit_sets[l], 0);
            if (oa_test_failed_flag != failed) {
                return;
            }
        }
    }
}

/* A caller's block size above the limits is clamped, not passed on. */
OA_TEST(a_block_size_above_the_limits_is_clamped) {
    for (size_t l = 0; l < sizeof limit_sets / sizeof limit_sets[0]; l++) {
        const int failed = oa_test_failed_flag;
        run_case(&variants[1], &limit_sets[l], 8 * MiB);
        if (oa_test_failed_flag != failed) {
            return;
        }
    }
}

OA_TEST_MAIN()
