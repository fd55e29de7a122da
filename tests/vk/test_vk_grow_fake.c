/* test_vk_grow_fake.c - oa_vk_pool_grow's failures and refusals on the fake
 * device of vk_fake_device.h (real host memory behind every buffer, copies
 * done at record time), with vkCreateBuffer, vkAllocateMemory,
 * vkBindBufferMemory and vkMapMemory made to fail once on request, a heap budget,
 * and a test heap that fails the Nth host allocation. After every failure
 * the pool is exactly as it was: the same JSON dump, the same buffers and
 * bytes behind every range, no Vulkan object left over, nothing recorded. */
#include "../common/oa_test_heap.h"
#include "../oa_test.h"
#include "vk_fake_device.h"

#include <stdio.h>
#include <string.h>

static char last_log[512];

static void grow_log(void* user, oa_vk_result result, const char* message) {
    (void)user;
    snprintf(last_log, sizeof last_log, "%s: %s", oa_vk_result_name(result), message);
}

/* Vulkan calls fail on request through the fake's one-shot failures
 * (fake.fail_in / fake.fail_with). */
static oa_vk_manager* grow_manager(VkDeviceSize heap_budget, oa_test_heap* heap) {
    oa_vk_manager_info info = fake_manager_info(0);
    info.log = grow_log;
    info.heap_budget[0] = heap_budget;
    if (heap != NULL) {
        info.callbacks = oa_test_heap_callbacks(heap);
    }
    oa_vk_manager* m = NULL;
    return oa_vk_manager_create(&info, &m) == OA_VK_SUCCESS ? m : NULL;
}

#define RANGES 24u
#define RANGE_SIZE 1000u

typedef struct grow_fixture {
    oa_vk_manager* m;
    oa_vk_pool pool;
    oa_vk_range_info r[RANGES];
    uint8_t bytes[RANGES][RANGE_SIZE];
    char dump[1u << 16];
} grow_fixture;

/* A mapped pool of one 24,000-byte block: 24 ranges of random bytes that fill it
 * to its end (so the core needs a record to grow), a third of them freed. */
static bool fixture_init(grow_fixture* f, VkDeviceSize heap_budget, oa_test_heap* heap) {
    f->m = grow_manager(heap_budget, heap);
    if (f->m == NULL) {
        return false;
    }
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .block_size = RANGES * RANGE_SIZE,
                                  .max_block_count = 1};
    if (oa_vk_pool_create(f->m, &info, &f->pool) != OA_VK_SUCCESS) {
        return false;
    }
    uint64_t seed = 0xFA17ull;
    for (uint32_t i = 0; i < RANGES; i++) {
        if (oa_vk_alloc(f->m, f->pool, RANGE_SIZE, 1, &f->r[i]) != OA_VK_SUCCESS) {
            return false;
        }
        for (uint32_t b = 0; b < RANGE_SIZE; b++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            f->bytes[i][b] = (uint8_t)(seed >> 56);
        }
        memcpy(f->r[i].mapped, f->bytes[i], RANGE_SIZE);
    }
    for (uint32_t i = 1; i < RANGES - 1; i += 3) {
        if (oa_vk_free(f->m, f->r[i].handle) != OA_VK_SUCCESS) {
            return false;
        }
        f->r[i].handle.id = 0;
    }
    size_t n = 0;
    return oa_vk_dump_json(f->m, f->dump, sizeof f->dump, &n) == OA_VK_SUCCESS;
}

/* The pool is as fixture_init left it: the same dump, every range's
 * descriptor unchanged and its bytes in place. */
static bool fixture_unchanged(grow_fixture* f) {
    static char now[1u << 16];
    size_t n = 0;
    if (oa_vk_dump_json(f->m, now, sizeof now, &n) != OA_VK_SUCCESS || strcmp(now, f->dump) != 0) {
        fprintf(stderr, "the dump changed\n");
        return false;
    }
    for (uint32_t i = 0; i < RANGES; i++) {
        if (f->r[i].handle.id == 0) {
            continue;
        }
        oa_vk_range_info info;
        if (oa_vk_range_get_info(f->m, f->r[i].handle, &info) != OA_VK_SUCCESS ||
            info.buffer != f->r[i].buffer || info.offset != f->r[i].offset ||
            info.mapped != f->r[i].mapped || memcmp(info.mapped, f->bytes[i], RANGE_SIZE) != 0) {
            fprintf(stderr, "range %u changed\n", i);
            return false;
        }
    }
    return true;
}

/* Every live range of the fixture reports `buffer` and holds its bytes,
 * at its old offset too when same_offsets. */
static bool fixture_in_buffer(grow_fixture* f, VkBuffer buffer, bool same_offsets) {
    for (uint32_t i = 0; i < RANGES; i++) {
        oa_vk_range_info now;
        if (f->r[i].handle.id == 0) {
            continue;
        }
        if (oa_vk_range_get_info(f->m, f->r[i].handle, &now) != OA_VK_SUCCESS ||
            now.buffer != buffer || (same_offsets && now.offset != f->r[i].offset) ||
            memcmp(now.mapped, f->bytes[i], RANGE_SIZE) != 0) {
            fprintf(stderr, "range %u is not in place in the new buffer\n", i);
            return false;
        }
    }
    return true;
}

static oa_vk_grow_info grow_to(VkDeviceSize size) {
    const oa_vk_grow_info info = {
        .new_size = size, .command_buffer = fake_command_buffer(), .signal_value = 1};
    return info;
}

OA_TEST(vulkan_failures_leave_the_pool_as_it_was) {
    fake_reset_single_type(true);
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, NULL));
    const int buffers = fake.live_buffers, memories = fake.live_memories;
    const oa_vk_grow_info info = grow_to(64u << 10);
    struct {
        fake_call call; /* fails once, the next time it is made */
        VkResult value;
        oa_vk_result expected;
    } cases[] = {
        {FAKE_CREATE_BUFFER, VK_ERROR_OUT_OF_DEVICE_MEMORY, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY},
        {FAKE_CREATE_BUFFER, VK_ERROR_OUT_OF_HOST_MEMORY, OA_VK_ERROR_OUT_OF_HOST_MEMORY},
        {FAKE_ALLOCATE, VK_ERROR_OUT_OF_DEVICE_MEMORY, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY},
        {FAKE_ALLOCATE, VK_ERROR_DEVICE_LOST, OA_VK_ERROR_DEVICE_LOST},
        {FAKE_BIND, VK_ERROR_OUT_OF_DEVICE_MEMORY, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY},
        {FAKE_MAP, VK_ERROR_MEMORY_MAP_FAILED, OA_VK_ERROR_VULKAN},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fake.fail_in[cases[c].call] = 1;
        fake.fail_with[cases[c].call] = cases[c].value;
        const int copies = fake.copy_commands, barriers = fake.barriers;
        oa_vk_grow_result res;
        CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &res), cases[c].expected);
        CHECK(res.buffer == VK_NULL_HANDLE && res.new_size == 0);
        CHECK_EQ(oa_vk_last_vk_result(f.m), cases[c].value);
        CHECK_EQ(fake.live_buffers, buffers);
        CHECK_EQ(fake.live_memories, memories);
        CHECK_EQ(fake.copy_commands, copies);
        CHECK_EQ(fake.barriers, barriers);
        CHECK(fixture_unchanged(&f));
        CHECK_EQ(fake.fail_in[cases[c].call], 0); /* the fault was reached */
    }
    /* Then it grows, and the bytes are behind the new mapping. */
    oa_vk_grow_result res;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &res), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, buffers + 1);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK(fixture_in_buffer(&f, res.buffer, true));
    CHECK_EQ(oa_vk_collect(f.m, 1, NULL), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, buffers);
    CHECK_EQ(fake.live_memories, memories);
    oa_vk_manager_destroy(f.m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
    CHECK_EQ(fake.illegal_calls, 0);
}

/* The old block still counts against the budget until it is released: a
 * budget that holds the old block and not both fails with a clear message. */
OA_TEST(the_heap_budget_counts_old_and_new) {
    fake_reset_single_type(true);
    static grow_fixture f;
    CHECK(fixture_init(&f, 80u << 10, NULL));
    const int buffers = fake.live_buffers;
    oa_vk_grow_info info = grow_to(64u << 10); /* 24 + 64 KiB > 80 KiB */
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK(strstr(last_log, "budget") != NULL);
    CHECK_EQ(fake.live_buffers, buffers);
    CHECK(fixture_unchanged(&f));
    info.new_size = 48u << 10; /* 24 + 48 KiB fit */
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL), OA_VK_SUCCESS);
    oa_vk_manager_destroy(f.m);
    CHECK_EQ(fake.live_memories, 0);
}

/* Every host allocation the grow makes fails once in turn: each failure is
 * OA_VK_ERROR_OUT_OF_HOST_MEMORY and leaves the pool as it was; then it
 * succeeds. */
OA_TEST(host_memory_failures_leave_the_pool_as_it_was) {
    fake_reset_single_type(true);
    static oa_test_heap heap;
    memset(&heap, 0, sizeof heap);
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, &heap));
    const int buffers = fake.live_buffers, memories = fake.live_memories;
    const oa_vk_grow_info info = grow_to(64u << 10);
    uint64_t failures = 0;
    for (uint64_t n = 1; n < 100; n++) {
        heap.fail_at = heap.calls + n;
        const uint64_t failed = heap.failures;
        const oa_vk_result r = oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL);
        heap.fail_at = 0;
        if (heap.failures == failed) {
            CHECK_EQ(r, OA_VK_SUCCESS); /* no allocation left to fail */
            break;
        }
        failures++;
        CHECK_EQ(r, OA_VK_ERROR_OUT_OF_HOST_MEMORY);
        CHECK_EQ(fake.live_buffers, buffers);
        CHECK_EQ(fake.live_memories, memories);
        CHECK(fixture_unchanged(&f));
    }
    printf("%llu host allocations of the grow failed in turn\n", (unsigned long long)failures);
    CHECK(failures >= 2); /* the retired list, the regions (and the core's record) */
    oa_vk_pool_stats ps;
    CHECK_EQ(oa_vk_pool_get_stats(f.m, f.pool, &ps), OA_VK_SUCCESS);
    CHECK_EQ(ps.capacity, 64u << 10);
    oa_vk_manager_destroy(f.m);
    CHECK_EQ(heap.live_bytes, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST(bad_arguments_and_refused_pools) {
    fake_reset_single_type(true);
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, NULL));
    oa_vk_manager* m = f.m;
    oa_vk_grow_info info = grow_to(64u << 10);
    oa_vk_grow_result res;
    const int copies = fake.copy_commands;
    CHECK_EQ(oa_vk_pool_grow(NULL, f.pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, NULL, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool forged = {f.pool.id + (1ull << 32)};
    CHECK_EQ(oa_vk_pool_grow(m, forged, 0, &info, &res), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 1, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "block index 1") != NULL);
    info.flags = 0x80;
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    info = grow_to(RANGES * RANGE_SIZE); /* not above the capacity */
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    info = grow_to((1u << 20) + 1); /* above the fake's maxBufferSize */
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_TOO_LARGE);
    info = grow_to(UINT64_MAX);
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_TOO_LARGE);
    info = grow_to(64u << 10);
    info.command_buffer = VK_NULL_HANDLE;
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "command buffer") != NULL);
    CHECK(fixture_unchanged(&f));
    /* A compaction pass planned on the block: its moves name this buffer and
     * hold reservations in the block's allocator, so the grow is refused
     * until the pass is recorded or aborted. */
    oa_vk_compact_move moves[RANGES];
    uint32_t move_count = 0;
    CHECK_EQ(oa_vk_compact_begin(m, f.pool, NULL, moves, RANGES, &move_count, NULL), OA_VK_SUCCESS);
    CHECK(move_count > 0);
    info = grow_to(64u << 10);
    CHECK_EQ(oa_vk_pool_grow(m, f.pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "compaction pass") != NULL);
    CHECK_EQ(oa_vk_compact_abort(m, f.pool), OA_VK_SUCCESS);
    CHECK(fixture_unchanged(&f));

    /* A device-only pool: no host copy; without transfer usage no GPU copy. */
    oa_vk_pool device_pool, plain_pool, ring_pool, ext_pool;
    const oa_vk_pool_info device_info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                                  VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                         .block_size = 4096};
    CHECK_EQ(oa_vk_pool_create(m, &device_info, &device_pool), OA_VK_SUCCESS);
    oa_vk_range_info a, big;
    CHECK_EQ(oa_vk_alloc(m, device_pool, 100, 1, &a), OA_VK_SUCCESS);
    info = grow_to(8192);
    info.flags = OA_VK_GROW_HOST_COPY;
    CHECK_EQ(oa_vk_pool_grow(m, device_pool, 0, &info, &res), OA_VK_ERROR_NOT_MAPPED);
    /* A dedicated block (block number 1) is refused. */
    CHECK_EQ(oa_vk_alloc(m, device_pool, 10000, 1, &big), OA_VK_SUCCESS);
    info = grow_to(20000);
    CHECK_EQ(oa_vk_pool_grow(m, device_pool, 1, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "dedicated") != NULL);
    const oa_vk_pool_info plain_info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                        .block_size = 4096};
    CHECK_EQ(oa_vk_pool_create(m, &plain_info, &plain_pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, plain_pool, 100, 1, &a), OA_VK_SUCCESS);
    info = grow_to(8192);
    CHECK_EQ(oa_vk_pool_grow(m, plain_pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "TRANSFER_SRC") != NULL);
    /* Ring pools and the caller's buffers are refused. */
    const oa_vk_pool_info ring_info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                                VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                       .intent = OA_VK_INTENT_DYNAMIC,
                                       .flags = OA_VK_POOL_RING,
                                       .block_size = 4096};
    CHECK_EQ(oa_vk_pool_create(m, &ring_info, &ring_pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_ring_alloc(m, ring_pool, 64, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_grow(m, ring_pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "ring") != NULL);
    const oa_vk_pool_info ext_info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                               VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .flags = OA_VK_POOL_EXTERNAL};
    CHECK_EQ(oa_vk_pool_create(m, &ext_info, &ext_pool), OA_VK_SUCCESS);
    VkBuffer mine = VK_NULL_HANDLE;
    const VkBufferCreateInfo bci = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO, .size = 4096};
    /* The application's own buffer, from the fake through the usual lookups. */
    const PFN_vkGetDeviceProcAddr gdpa =
        (PFN_vkGetDeviceProcAddr)fake_get_instance_proc_addr(NULL, "vkGetDeviceProcAddr");
    const PFN_vkCreateBuffer create_buffer = (PFN_vkCreateBuffer)gdpa(NULL, "vkCreateBuffer");
    const PFN_vkDestroyBuffer destroy_buffer = (PFN_vkDestroyBuffer)gdpa(NULL, "vkDestroyBuffer");
    CHECK_EQ(create_buffer(NULL, &bci, NULL, &mine), VK_SUCCESS);
    const oa_vk_external_buffer ext = {.buffer = mine, .size = 4096};
    CHECK_EQ(oa_vk_pool_add_buffer(m, ext_pool, &ext, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_grow(m, ext_pool, 0, &info, &res), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "caller's") != NULL);
    CHECK_EQ(fake.copy_commands, copies); /* nothing recorded by any refusal */
    /* A destroyed pool's handle stays stale. */
    CHECK_EQ(oa_vk_pool_destroy(m, plain_pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_grow(m, plain_pool, 0, &info, &res), OA_VK_ERROR_STALE_HANDLE);
    oa_vk_manager_destroy(m);
    destroy_buffer(NULL, mine, NULL);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

/* Retired buffers wait for their value: two grows with values 5 and 7, and
 * collects at 4, 5 and 7 release them one at a time; destroying the manager
 * releases what is left. */
OA_TEST(old_buffers_wait_for_their_value) {
    fake_reset_single_type(true);
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, NULL));
    const int buffers = fake.live_buffers;
    oa_vk_grow_info info = grow_to(48u << 10);
    info.signal_value = 5;
    oa_vk_grow_result first, second;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &first), OA_VK_SUCCESS);
    info.new_size = 96u << 10;
    info.signal_value = 7;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &second), OA_VK_SUCCESS);
    CHECK(second.old_buffer == first.buffer);
    CHECK_EQ(second.old_valid_until, 7);
    CHECK_EQ(fake.live_buffers, buffers + 2);
    CHECK_EQ(oa_vk_collect(f.m, 4, NULL), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, buffers + 2);
    CHECK_EQ(oa_vk_collect(f.m, 5, NULL), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, buffers + 1);
    CHECK_EQ(oa_vk_collect(f.m, 7, NULL), OA_VK_SUCCESS);
    CHECK_EQ(fake.live_buffers, buffers);
    info.new_size = 128u << 10;
    info.signal_value = 9;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL), OA_VK_SUCCESS);
    oa_vk_manager_destroy(f.m); /* releases the retired one too */
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

/* Non-coherent memory (a manager made by the fake's own helper): the GPU
 * copy and the host copy (invalidate, memcpy, flush of whole memory objects)
 * keep the bytes, and no flush or size is illegal. */
OA_TEST(non_coherent_pool_grows_by_both_copies) {
    fake_reset_single_type(false);
    oa_vk_manager_info mi = fake_manager_info(0);
    mi.log = grow_log;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_READBACK,
                                  .block_size = 1024};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r[3];
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r[i]), OA_VK_SUCCESS);
        memset(r[i].mapped, 0x40 + i, 100);
        CHECK_EQ(oa_vk_flush(m, r[i].handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    }
    for (int host = 0; host < 2; host++) {
        oa_vk_grow_info grow = grow_to(host ? 4096 : 2048);
        grow.flags = host ? OA_VK_GROW_HOST_COPY : 0;
        grow.command_buffer = host ? VK_NULL_HANDLE : fake_command_buffer();
        oa_vk_grow_result res;
        CHECK_EQ(oa_vk_pool_grow(m, pool, 0, &grow, &res), OA_VK_SUCCESS);
        CHECK_EQ(res.region_count, 1);       /* three adjacent ranges: one run */
        CHECK_EQ(res.copied_size, 3 * 128u); /* rounded to the atom */
        for (int i = 0; i < 3; i++) {
            oa_vk_range_info now;
            CHECK_EQ(oa_vk_range_get_info(m, r[i].handle, &now), OA_VK_SUCCESS);
            const uint8_t* p = (const uint8_t*)now.mapped;
            for (int b = 0; b < 100; b++) {
                CHECK_EQ(p[b], 0x40 + i);
            }
        }
    }
    CHECK_EQ(fake.illegal_calls, 0);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_memories, 0);
}

/* A device without synchronization2: the GPU copy sits between two
 * vkCmdPipelineBarrier calls, and every range's bytes reach the new block;
 * with neither barrier entry point the grow is refused. */
OA_TEST(without_barrier2_the_copy_uses_vkCmdPipelineBarrier) {
    fake_reset_single_type(true);
    fake.no_barrier2 = true;
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, NULL));
    const int barriers = fake.barriers, barriers1 = fake.barriers1;
    const oa_vk_grow_info info = grow_to(48u << 10);
    oa_vk_grow_result res;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &res), OA_VK_SUCCESS);
    CHECK_EQ(fake.barriers - barriers, 2);
    CHECK_EQ(fake.barriers1 - barriers1, 2);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK_EQ(fake.illegal_calls, 0);
    CHECK(fixture_in_buffer(&f, res.buffer, true));
    oa_vk_manager_destroy(f.m);
    fake_reset_single_type(true);
    fake.no_barrier2 = true;
    fake.no_barrier1 = true;
    CHECK(fixture_init(&f, 0, NULL));
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    CHECK(strstr(last_log, "vkCmdPipelineBarrier") != NULL);
    CHECK(fixture_unchanged(&f));
    oa_vk_manager_destroy(f.m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

/* A grow while a recorded compaction pass is in flight: the host copy is
 * refused (the pass's GPU copies could land after it), the GPU copy goes
 * ahead, recorded after the pass's copies, and once the pass ends every
 * range holds its bytes at its new offset in the new buffer. */
OA_TEST(a_block_grows_while_a_recorded_pass_is_in_flight) {
    fake_reset_single_type(true);
    static grow_fixture f;
    CHECK(fixture_init(&f, 0, NULL));
    oa_vk_compact_move moves[RANGES];
    uint32_t move_count = 0;
    CHECK_EQ(oa_vk_compact_begin(f.m, f.pool, NULL, moves, RANGES, &move_count, NULL),
             OA_VK_SUCCESS);
    CHECK(move_count > 0);
    CHECK_EQ(oa_vk_compact_record(f.m, f.pool, fake_command_buffer(), 3), OA_VK_SUCCESS);
    oa_vk_grow_info info = grow_to(48u << 10);
    info.flags = OA_VK_GROW_HOST_COPY;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(last_log, "recorded compaction pass") != NULL);
    info = grow_to(48u << 10);
    info.signal_value = 4;
    oa_vk_grow_result res;
    CHECK_EQ(oa_vk_pool_grow(f.m, f.pool, 0, &info, &res), OA_VK_SUCCESS);
    CHECK_EQ(res.new_size, 48u << 10);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK_EQ(oa_vk_collect(f.m, 4, NULL), OA_VK_SUCCESS);
    oa_vk_compact_stats cs;
    CHECK_EQ(oa_vk_compact_get_stats(f.m, f.pool, &cs), OA_VK_SUCCESS);
    CHECK(cs.is_complete);
    CHECK(fixture_in_buffer(&f, res.buffer, false));
    /* The moved ranges sit where the pass said. */
    for (uint32_t k = 0; k < move_count; k++) {
        oa_vk_range_info now;
        CHECK_EQ(oa_vk_range_get_info(f.m, moves[k].range, &now), OA_VK_SUCCESS);
        CHECK_EQ(now.offset, moves[k].new_offset);
    }
    CHECK_EQ(fake.illegal_calls, 0);
    oa_vk_manager_destroy(f.m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST_MAIN()
