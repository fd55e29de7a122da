/* test_vk_upload.c - staged uploads through the stager on a real device under
 * the validation layer: random data verified byte for byte after the copy,
 * uploads larger than the ring split over several submits, staging space
 * reused only after its timeline value, and bad input. */
#include "vk_test_common.h"

#define KiB (1ull << 10)

static void fill_random(uint8_t* p, size_t n, uint64_t* seed) {
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)vkt_splitmix64(seed);
    }
}

static bool read_and_compare(const oa_vk_range_info* r, VkDeviceSize offset, const uint8_t* want,
                             size_t n) {
    uint8_t* got = malloc(n);
    bool same =
        vkt_read_buffer(vkt(), r->buffer, r->offset + offset, n, got) && memcmp(got, want, n) == 0;
    free(got);
    return same;
}

static void run_random_uploads(uint32_t manager_flags) {
    VKT_FIXTURE(fx, manager_flags);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
        .block_size = 512 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 256 * KiB};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    const VkDeviceSize ring = oa_vk_stager_free_size(stager);
    CHECK_EQ(ring, 256 * KiB);
    uint64_t seed = 0xC0FFEEull + manager_flags;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    enum { N = 24 };
    oa_vk_range_info r[N];
    uint8_t* data[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            const VkDeviceSize size = 1 + vkt_splitmix64(&seed) % (9 * KiB);
            CHECK_EQ(oa_vk_alloc(m, pool, size, 12, &r[i]), OA_VK_SUCCESS);
            data[i] = malloc((size_t)size);
            fill_random(data[i], (size_t)size, &seed);
            VkDeviceSize queued = 0;
            CHECK_EQ(oa_vk_stager_upload(stager, r[i].handle, 0, data[i], size, &queued),
                     OA_VK_SUCCESS);
            CHECK_EQ(queued, size);
        }
        CHECK(oa_vk_stager_free_size(stager) < ring);
        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
        CHECK_EQ(vkt_submit_wait(e, cmd), value);
        CHECK_EQ(oa_vk_stager_collect(stager, value - 1), OA_VK_SUCCESS);
        CHECK(oa_vk_stager_free_size(stager) < ring); /* not before its value */
        CHECK_EQ(oa_vk_stager_collect(stager, value), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_stager_free_size(stager), ring);
        for (int i = 0; i < N; i++) {
            if (!read_and_compare(&r[i], 0, data[i], (size_t)r[i].size)) {
                OA_FAIL_AT("round %d range %d (%llu bytes) differs after upload", round, i,
                           (unsigned long long)r[i].size);
                return;
            }
            free(data[i]);
            CHECK_EQ(oa_vk_free_deferred(m, r[i].handle, value), OA_VK_SUCCESS);
        }
        CHECK_EQ(oa_vk_collect(m, vkt_completed(e), NULL), OA_VK_SUCCESS);
    }
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

OA_TEST(staged_uploads_of_random_data) {
    run_random_uploads(0);
}

OA_TEST(staged_uploads_non_coherent_path) {
    run_random_uploads(OA_VK_MANAGER_ASSUME_NON_COHERENT);
}

OA_TEST(upload_larger_than_the_ring_is_split) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .block_size = 1024 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 64 * KiB};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    const size_t total = 300 * KiB + 7;
    uint8_t* data = malloc(total);
    uint64_t seed = 42;
    fill_random(data, total, &seed);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, total + 100, 1, &r), OA_VK_SUCCESS);
    /* Leave part of the ring busy so that free space is split in two. */
    uint8_t pad[10 * KiB];
    memset(pad, 0, sizeof pad);
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, total, pad, 100, NULL), OA_VK_SUCCESS);
    VkDeviceSize done = 0;
    int submits = 0;
    while (done < total) {
        VkDeviceSize queued = 0;
        const oa_vk_result res =
            oa_vk_stager_upload(stager, r.handle, done, data + done, total - done, &queued);
        CHECK(res == OA_VK_SUCCESS || res == OA_VK_INCOMPLETE);
        CHECK_EQ(res == OA_VK_SUCCESS, queued == total - done);
        CHECK(queued > 0);
        done += queued;
        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
        CHECK_EQ(vkt_submit_wait(e, cmd), value);
        CHECK_EQ(oa_vk_stager_collect(stager, value), OA_VK_SUCCESS);
        submits++;
    }
    CHECK(submits >= 5);
    CHECK(read_and_compare(&r, 0, data, total));
    free(data);
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

/* The stager's barriers, judged by synchronization validation inside one
 * command buffer: upload into a range, copy that range on the GPU into a
 * second one (read after the copy's write), upload into the first range again
 * (write after that read), all in one command buffer. */
OA_TEST(upload_then_gpu_copy_in_one_command_buffer) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .block_size = 64 * KiB};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 16 * KiB,
                                     .dst_stage_mask = VK_PIPELINE_STAGE_2_COPY_BIT,
                                     .dst_access_mask = VK_ACCESS_2_TRANSFER_READ_BIT};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    oa_vk_range_info a, b;
    CHECK_EQ(oa_vk_alloc(m, pool, 4 * KiB, 1, &a), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 4 * KiB, 1, &b), OA_VK_SUCCESS);
    uint8_t first[4 * KiB], second[4 * KiB];
    uint64_t seed = 7;
    fill_random(first, sizeof first, &seed);
    fill_random(second, sizeof second, &seed);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_upload(stager, a.handle, 0, first, sizeof first, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
    const VkBufferCopy copy = {a.offset, b.offset, sizeof first};
    vkCmdCopyBuffer(cmd, a.buffer, b.buffer, 1, &copy);
    CHECK_EQ(oa_vk_stager_upload(stager, a.handle, 0, second, sizeof second, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    CHECK_EQ(oa_vk_stager_collect(stager, value), OA_VK_SUCCESS);
    CHECK(read_and_compare(&b, 0, first, sizeof first));
    CHECK(read_and_compare(&a, 0, second, sizeof second));
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

OA_TEST(upload_bad_input) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .block_size = 64 * KiB};
    const oa_vk_pool_info no_dst_info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                         .block_size = 64 * KiB};
    oa_vk_pool pool, no_dst;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &no_dst_info, &no_dst), OA_VK_SUCCESS);
    oa_vk_stager* stager = (oa_vk_stager*)0x1;
    CHECK_EQ(oa_vk_stager_create(m, NULL, &stager), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(stager == NULL);
    const oa_vk_stager_info sinfo = {.ring_size = 4 * KiB};
    CHECK_EQ(oa_vk_stager_create(NULL, &sinfo, &stager), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    oa_vk_range_info r, nd;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, no_dst, 100, 1, &nd), OA_VK_SUCCESS);
    uint8_t bytes[200] = {0};
    VkDeviceSize queued = 5;
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 0, NULL, 10, &queued),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(queued, 0);
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 0, bytes, 0, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 50, bytes, 51, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 101, bytes, 1, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_upload(stager, nd.handle, 0, bytes, 10, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "TRANSFER_DST") != NULL);
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 0, bytes, 10, NULL), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_stager_upload(NULL, r.handle, 0, bytes, 10, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_record(stager, VK_NULL_HANDLE, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_record(NULL, VK_NULL_HANDLE, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_collect(NULL, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_stager_free_size(NULL), 0);
    /* Nothing was queued: the ring is whole. */
    CHECK_EQ(oa_vk_stager_free_size(stager), 4 * KiB);
    oa_vk_stager_destroy(stager);
    oa_vk_stager_destroy(NULL);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
