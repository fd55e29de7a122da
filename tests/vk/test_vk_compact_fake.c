/* test_vk_compact_fake.c - compaction passes on the fake device, whose
 * vkCmdCopyBuffer applies the regions of one command in reverse order and
 * flags overlapping regions: every pass must be one copy command of
 * non-overlapping regions between two barriers (vkCmdPipelineBarrier2, or
 * vkCmdPipelineBarrier where the device lacks it), and the bytes of every
 * live range, written and read through the mapped pool, must survive any
 * order of its regions. No GPU. */
#include <orderly/orderly_vk.h>

#include <string.h>

#include "../oa_test.h"
#include "vk_fake_device.h"

enum { N = 200 };

static uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct fake_mesh {
    oa_vk_range_info info;
    uint64_t seed; /* its bytes are splitmix64 of this */
    bool live;
} fake_mesh;

static fake_mesh meshes[N];

static void fill(uint8_t* p, VkDeviceSize n, uint64_t seed) {
    for (VkDeviceSize i = 0; i < n; i++) {
        p[i] = (uint8_t)splitmix64(&seed);
    }
}

static bool intact(const fake_mesh* me) {
    uint64_t seed = me->seed;
    const uint8_t* p = (const uint8_t*)me->info.mapped;
    for (VkDeviceSize i = 0; i < me->info.size; i++) {
        if (p[i] != (uint8_t)splitmix64(&seed)) {
            return false;
        }
    }
    return true;
}

static void run_passes(bool no_barrier2) {
    fake_reset_single_type(true);
    fake.no_barrier2 = no_barrier2;
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_FLAGS_ONLY,
                                  .block_size = 512u << 10,
                                  .max_block_count = 1,
                                  .flags = OA_VK_POOL_MAPPED};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    uint64_t seed = 0xFA4Eull + no_barrier2;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    uint32_t count = 0;
    for (; count < N; count++) {
        fake_mesh* me = &meshes[count];
        const VkDeviceSize stride = 4 + 4 * (splitmix64(&seed) % 9);
        const VkDeviceSize size = stride * (1 + splitmix64(&seed) % (5000 / stride));
        if (oa_vk_alloc(m, pool, size, stride, &me->info) != OA_VK_SUCCESS) {
            break;
        }
        me->seed = splitmix64(&seed);
        me->live = true;
        fill((uint8_t*)me->info.mapped, size, me->seed);
    }
    CHECK(count > 100);
    for (uint32_t i = 0; i < count; i++) {
        if (splitmix64(&seed) % 2 == 0) {
            CHECK_EQ(oa_vk_free(m, meshes[i].info.handle), OA_VK_SUCCESS);
            meshes[i].live = false;
        }
    }
    oa_vk_compact_move moves[32];
    int passes = 0;
    uint64_t value = 0;
    for (;;) {
        uint32_t n = 0;
        const oa_vk_compact_limits limits = {.max_bytes = 64u << 10};
        const oa_vk_result r = oa_vk_compact_begin(m, pool, &limits, moves, 32, &n, NULL);
        if (r == OA_VK_NOT_NEEDED) {
            break;
        }
        CHECK_EQ(r, OA_VK_SUCCESS);
        const int copies = fake.copy_commands, barriers = fake.barriers, barriers1 = fake.barriers1;
        CHECK_EQ(oa_vk_compact_record(m, pool, fake_command_buffer(), ++value), OA_VK_SUCCESS);
        CHECK_EQ(fake.copy_commands - copies, 1);
        CHECK_EQ(fake.barriers - barriers, 2);
        CHECK_EQ(fake.barriers1 - barriers1, no_barrier2 ? 2 : 0);
        CHECK_EQ(oa_vk_collect(m, value, NULL), OA_VK_SUCCESS);
        for (uint32_t i = 0; i < count; i++) {
            if (!meshes[i].live) {
                continue;
            }
            CHECK_EQ(oa_vk_range_get_info(m, meshes[i].info.handle, &meshes[i].info),
                     OA_VK_SUCCESS);
            if (!intact(&meshes[i])) {
                OA_FAIL_AT("pass %d: range %u (%llu bytes at %llu) differs", passes + 1, i,
                           (unsigned long long)meshes[i].info.size,
                           (unsigned long long)meshes[i].info.offset);
                return;
            }
        }
        passes++;
        CHECK(passes < 500);
    }
    oa_vk_pool_stats ps;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &ps), OA_VK_SUCCESS);
    printf("%s: %d passes, fragmentation at the end %.3f\n",
           no_barrier2 ? "vkCmdPipelineBarrier" : "vkCmdPipelineBarrier2", passes,
           ps.fragmentation);
    CHECK(passes >= 3);
    CHECK(ps.fragmentation < 0.1);
    CHECK_EQ(fake.unordered_overlaps, 0);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK_EQ(fake.illegal_calls, 0);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST(passes_are_one_copy_of_disjoint_regions_between_two_barriers) {
    run_passes(false);
}

OA_TEST(without_barrier2_the_passes_use_vkCmdPipelineBarrier) {
    run_passes(true);
}

OA_TEST(without_any_barrier_record_refuses) {
    fake_reset_single_type(true);
    fake.no_barrier2 = true;
    fake.no_barrier1 = true;
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_FLAGS_ONLY,
                                  .block_size = 64u << 10,
                                  .flags = OA_VK_POOL_MAPPED};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r[3];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 1000, 4, &r[i]), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_free(m, r[0].handle), OA_VK_SUCCESS);
    oa_vk_compact_move moves[4];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_compact_begin(m, pool, NULL, moves, 4, &n, NULL), OA_VK_SUCCESS);
    CHECK(n > 0);
    CHECK_EQ(oa_vk_compact_record(m, pool, fake_command_buffer(), 1),
             OA_VK_ERROR_FEATURE_NOT_ENABLED);
    CHECK_EQ(fake.copy_commands, 0);
    /* Nothing moved; the pass is still open and aborts cleanly. */
    oa_vk_range_info now;
    CHECK_EQ(oa_vk_range_get_info(m, moves[0].range, &now), OA_VK_SUCCESS);
    CHECK_EQ(now.offset, moves[0].old_offset);
    CHECK_EQ(oa_vk_compact_abort(m, pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_compact_begin(m, pool, NULL, moves, 4, &n, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_compact_abort(m, pool), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
}

/* While a recorded pass's copies have not run, a moved range's new place
 * holds whatever was there: the corruption check leaves it out (and still
 * finds a real overrun of a range that does not move); once the copies have
 * run and the pass ended, every margin is checked again. */
OA_TEST(the_corruption_check_waits_for_a_moved_ranges_copy) {
    fake_reset_single_type(true);
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_FLAGS_ONLY,
                                  .block_size = 256u << 10,
                                  .max_block_count = 1,
                                  .flags = OA_VK_POOL_MAPPED | OA_VK_POOL_CORRUPTION_CHECK};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    uint64_t seed = 0xC0DEull;
    enum { R = 40 };
    for (uint32_t i = 0; i < R; i++) {
        const VkDeviceSize size = 16 * (1 + splitmix64(&seed) % 200);
        CHECK_EQ(oa_vk_alloc(m, pool, size, 16, &meshes[i].info), OA_VK_SUCCESS);
        meshes[i].seed = splitmix64(&seed);
        meshes[i].live = true;
        fill((uint8_t*)meshes[i].info.mapped, size, meshes[i].seed);
    }
    /* Free every other range past the first four, and wipe its bytes and
     * margin, so that no old margin pattern waits where a range moves to. */
    for (uint32_t i = 4; i < R; i += 2) {
        uint8_t* bytes = (uint8_t*)meshes[i].info.mapped;
        const VkDeviceSize size = meshes[i].info.size;
        CHECK_EQ(oa_vk_free(m, meshes[i].info.handle), OA_VK_SUCCESS);
        memset(bytes, 0, (size_t)size + OA_VK_CORRUPTION_MARGIN);
        meshes[i].live = false;
    }
    oa_vk_compact_move moves[R];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_compact_begin(m, pool, NULL, moves, R, &n, NULL), OA_VK_SUCCESS);
    CHECK(n > 4);
    /* Record, but the "GPU" runs nothing yet. */
    fake.count_only = true;
    CHECK_EQ(oa_vk_compact_record(m, pool, fake_command_buffer(), 1), OA_VK_SUCCESS);
    fake.count_only = false;
    VkDeviceSize at = 0;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_SUCCESS);
    CHECK_EQ(at, OA_NO_OFFSET);
    /* Range 0 does not move: an overrun of it is still found. */
    for (uint32_t k = 0; k < n; k++) {
        CHECK(moves[k].range.id != meshes[0].info.handle.id);
    }
    uint8_t* past = (uint8_t*)meshes[0].info.mapped + meshes[0].info.size;
    const uint8_t kept = past[3];
    past[3] = (uint8_t)~kept;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK_EQ(at, meshes[0].info.offset);
    past[3] = kept;
    /* The copies run (disjoint, so in any order), and the pass ends. */
    for (uint32_t k = 0; k < n; k++) {
        memmove(fake_buffer_bytes(moves[k].new_buffer, moves[k].new_offset),
                fake_buffer_bytes(moves[k].old_buffer, moves[k].old_offset), (size_t)moves[k].size);
    }
    CHECK_EQ(oa_vk_collect(m, 1, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_SUCCESS);
    for (uint32_t i = 0; i < R; i++) {
        if (meshes[i].live) {
            CHECK_EQ(oa_vk_range_get_info(m, meshes[i].info.handle, &meshes[i].info),
                     OA_VK_SUCCESS);
            CHECK(intact(&meshes[i]));
        }
    }
    /* And a moved range's margin is checked at its new place. */
    oa_vk_range_info moved;
    CHECK_EQ(oa_vk_range_get_info(m, moves[0].range, &moved), OA_VK_SUCCESS);
    CHECK_EQ(moved.offset, moves[0].new_offset);
    ((uint8_t*)moved.mapped)[moved.size] ^= 0xFF;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK_EQ(at, moved.offset);
    ((uint8_t*)moved.mapped)[moved.size] ^= 0xFF;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_SUCCESS);
    CHECK_EQ(fake.illegal_calls, 0);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST_MAIN()
