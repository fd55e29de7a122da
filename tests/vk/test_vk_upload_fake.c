/* test_vk_upload_fake.c - uploads to overlapping bytes in one stager batch
 * keep their order: on a fake device whose vkCmdCopyBuffer applies the
 * regions of one command in reverse (the specification leaves them
 * unordered), the later upload's bytes must win, no command may hold two
 * overlapping regions, and a barrier must separate two commands that write
 * the same bytes. No GPU. */
#include <orderly/orderly_vk.h>

#include "../oa_test.h"
#include "vk_fake_device.h"

#define RANGE_SIZE 4096u

static uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

typedef struct upload {
    uint32_t offset, size;
} upload;

typedef struct order_case {
    const char* name;
    uint32_t count;
    upload uploads[6];
    int commands; /* vkCmdCopyBuffer calls expected */
} order_case;

static const order_case cases[] = {
    {"disjoint ascending", 3, {{0, 100}, {100, 100}, {300, 50}}, 1},
    {"disjoint descending", 3, {{300, 100}, {200, 100}, {0, 100}}, 1},
    {"partial overlap", 2, {{0, 100}, {50, 100}}, 2},
    {"the same bytes three times", 3, {{10, 64}, {10, 64}, {10, 64}}, 3},
    {"nested then beside", 4, {{0, 1000}, {100, 100}, {900, 200}, {500, 100}}, 2},
    {"overlap with an older command only", 4, {{0, 100}, {50, 100}, {0, 10}, {200, 10}}, 2},
    {"one byte in common", 2, {{0, 101}, {100, 100}}, 2},
};

typedef struct stage {
    oa_vk_manager* m;
    oa_vk_pool pool;
    oa_vk_stager* stager;
    oa_vk_range_info range;
} stage;

/* Run the stager on a device without vkCmdPipelineBarrier2. */
static bool without_barrier2;

static bool stage_create(stage* st) {
    fake_reset_single_type(true);
    fake.no_barrier2 = without_barrier2;
    memset(st, 0, sizeof *st);
    st->m = fake_manager(0);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_FLAGS_ONLY, /* mapped by the flag */
                                  .block_size = 64u << 10,
                                  .flags = OA_VK_POOL_MAPPED};
    const oa_vk_stager_info sinfo = {.ring_size = 64u << 10};
    return st->m != NULL && oa_vk_pool_create(st->m, &info, &st->pool) == OA_VK_SUCCESS &&
           oa_vk_stager_create(st->m, &sinfo, &st->stager) == OA_VK_SUCCESS &&
           oa_vk_alloc(st->m, st->pool, RANGE_SIZE, 1, &st->range) == OA_VK_SUCCESS;
}

static void stage_destroy(stage* st) {
    oa_vk_stager_destroy(st->stager);
    oa_vk_manager_destroy(st->m);
}

/* Queue the uploads (upload i writes bytes of value i + 1, or random ones),
 * record them, and compare the range with a model that applies them in
 * order. */
static void run_uploads(const char* name, const upload* uploads, uint32_t count, int commands,
                        uint64_t* seed) {
    stage st;
    CHECK(stage_create(&st));
    uint8_t model[RANGE_SIZE];
    memset(model, 0, sizeof model);
    memset(st.range.mapped, 0, RANGE_SIZE);
    const int copies_before = fake.copy_commands, barriers_before = fake.barriers;
    for (uint32_t i = 0; i < count; i++) {
        uint8_t data[RANGE_SIZE];
        for (uint32_t b = 0; b < uploads[i].size; b++) {
            data[b] = seed != NULL ? (uint8_t)(splitmix64(seed) | 1u) : (uint8_t)(i + 1);
        }
        memcpy(model + uploads[i].offset, data, uploads[i].size);
        CHECK_EQ(oa_vk_stager_upload(st.stager, st.range.handle, uploads[i].offset, data,
                                     uploads[i].size, NULL),
                 OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_stager_record(st.stager, fake_command_buffer(), 1), OA_VK_SUCCESS);
    const int copies = fake.copy_commands - copies_before;
    if (memcmp(st.range.mapped, model, RANGE_SIZE) != 0) {
        uint32_t at = 0;
        while (((const uint8_t*)st.range.mapped)[at] == model[at]) {
            at++;
        }
        OA_FAIL_AT("%s: byte %u is %u, the last upload wrote %u (%d copy commands)", name, at,
                   ((const uint8_t*)st.range.mapped)[at], model[at], copies);
        stage_destroy(&st);
        return;
    }
    CHECK_EQ(fake.unordered_overlaps, 0);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK_EQ(fake.illegal_calls, 0);
    if (commands > 0) {
        CHECK_EQ(copies, commands);
        /* Before and after the batch, and one between each two commands. */
        CHECK_EQ(fake.barriers - barriers_before, commands + 1);
    }
    CHECK_EQ(fake.barriers1, without_barrier2 ? fake.barriers : 0);
    CHECK_EQ(oa_vk_stager_collect(st.stager, 1), OA_VK_SUCCESS);
    stage_destroy(&st);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST(overlapping_uploads_keep_their_order) {
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int failed = oa_test_failed_flag;
        run_uploads(cases[c].name, cases[c].uploads, cases[c].count, cases[c].commands, NULL);
        if (oa_test_failed_flag != failed) {
            return;
        }
    }
}

/* The same batches through vkCmdPipelineBarrier (Vulkan 1.0's barrier, the
 * synchronization2 masks mapped onto it): the same commands, barriers and
 * bytes. */
OA_TEST(without_barrier2_uploads_use_vkCmdPipelineBarrier) {
    without_barrier2 = true;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int failed = oa_test_failed_flag;
        run_uploads(cases[c].name, cases[c].uploads, cases[c].count, cases[c].commands, NULL);
        if (oa_test_failed_flag != failed) {
            break;
        }
    }
    without_barrier2 = false;
}

OA_TEST(random_overlapping_uploads_keep_their_order) {
    uint64_t seed = 0x0DDBA11ull;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    for (int round = 0; round < 50; round++) {
        upload uploads[200];
        const uint32_t count = 1 + (uint32_t)(splitmix64(&seed) % 200);
        for (uint32_t i = 0; i < count; i++) {
            uploads[i].offset = (uint32_t)(splitmix64(&seed) % RANGE_SIZE);
            const uint32_t room = RANGE_SIZE - uploads[i].offset;
            uploads[i].size = 1 + (uint32_t)(splitmix64(&seed) % (room < 300 ? room : 300));
        }
        const int failed = oa_test_failed_flag;
        run_uploads("random", uploads, count, 0, &seed);
        if (oa_test_failed_flag != failed) {
            printf("round %d, seed=0x0DDBA11\n", round);
            return;
        }
    }
}

/* Two ranges of one block share the destination buffer: overlap is judged
 * on the buffer's bytes, so uploads to different ranges never split. */
OA_TEST(uploads_to_neighbouring_ranges_share_one_command) {
    stage st;
    CHECK(stage_create(&st));
    oa_vk_range_info other;
    CHECK_EQ(oa_vk_alloc(st.m, st.pool, 512, 1, &other), OA_VK_SUCCESS);
    CHECK(other.buffer == st.range.buffer);
    const uint8_t a[256] = {1}, b[256] = {2};
    const int copies_before = fake.copy_commands;
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(oa_vk_stager_upload(st.stager, (i & 1) ? other.handle : st.range.handle,
                                     (VkDeviceSize)(i / 2) * 256, (i & 1) ? b : a, 256, NULL),
                 OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_stager_record(st.stager, fake_command_buffer(), 1), OA_VK_SUCCESS);
    CHECK_EQ(fake.copy_commands - copies_before, 1);
    CHECK_EQ(fake.write_hazards, 0);
    CHECK_EQ(((const uint8_t*)other.mapped)[0], 2);
    CHECK_EQ(((const uint8_t*)st.range.mapped)[256], 1);
    stage_destroy(&st);
}

/* A queued upload whose range is freed before the record is dropped: no copy
 * into bytes that are no longer the range's, and its staging space is back
 * at once. */
OA_TEST(an_upload_to_a_freed_range_is_dropped) {
    stage st;
    CHECK(stage_create(&st));
    const VkDeviceSize ring = oa_vk_stager_free_size(st.stager);
    uint8_t data[100];
    memset(data, 7, sizeof data);
    CHECK_EQ(oa_vk_stager_upload(st.stager, st.range.handle, 0, data, sizeof data, NULL),
             OA_VK_SUCCESS);
    CHECK(oa_vk_stager_free_size(st.stager) < ring);
    CHECK_EQ(oa_vk_free(st.m, st.range.handle), OA_VK_SUCCESS);
    const int copies = fake.copy_commands, barriers = fake.barriers;
    CHECK_EQ(oa_vk_stager_record(st.stager, fake_command_buffer(), 1), OA_VK_SUCCESS);
    CHECK_EQ(fake.copy_commands, copies);
    CHECK_EQ(fake.barriers, barriers);
    CHECK_EQ(oa_vk_stager_free_size(st.stager), ring);
    stage_destroy(&st);
}

/* An upload bigger than the largest free run of the staging ring is queued
 * in pieces, one per free run, and each piece lands at its own place in the
 * range: three 16 KiB uploads fill three quarters of a 64 KiB ring, the
 * first one's space comes back, and a 32 KiB upload then takes the two free
 * quarters, [0, 16 KiB) and [48 KiB, 64 KiB), in two pieces. */
OA_TEST(an_upload_split_into_pieces_lands_whole) {
    stage st;
    CHECK(stage_create(&st));
    const VkDeviceSize quarter = 16u << 10;
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(st.m, st.pool, 2 * quarter, 1, &big), OA_VK_SUCCESS);
    static uint8_t data[32u << 10];
    uint64_t seed = 0x5EEDull;
    for (uint64_t v = 1; v <= 3; v++) {
        memset(data, (int)v, (size_t)quarter);
        CHECK_EQ(oa_vk_stager_upload(st.stager, big.handle, 0, data, quarter, NULL), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_stager_record(st.stager, fake_command_buffer(), v), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_stager_collect(st.stager, 1), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_free_size(st.stager), 2 * quarter); /* in two runs */
    for (size_t b = 0; b < sizeof data; b++) {
        data[b] = (uint8_t)splitmix64(&seed);
    }
    VkDeviceSize queued = 0;
    CHECK_EQ(oa_vk_stager_upload(st.stager, big.handle, 0, data, sizeof data, &queued),
             OA_VK_SUCCESS);
    CHECK_EQ(queued, sizeof data);
    CHECK_EQ(oa_vk_stager_free_size(st.stager), 0);
    CHECK_EQ(oa_vk_stager_record(st.stager, fake_command_buffer(), 4), OA_VK_SUCCESS);
    CHECK(memcmp(big.mapped, data, sizeof data) == 0);
    CHECK_EQ(fake.illegal_calls, 0);
    CHECK_EQ(oa_vk_stager_collect(st.stager, 4), OA_VK_SUCCESS);
    stage_destroy(&st);
}

OA_TEST_MAIN()
