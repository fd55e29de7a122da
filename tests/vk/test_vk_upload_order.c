/* test_vk_upload_order.c - uploads to overlapping bytes of one range in the
 * same stager batch, on a real device under core and synchronization
 * validation: after the submit the bytes read back are the later upload's,
 * and the validation layer says nothing (the barriers between the copy
 * commands that write the same bytes are what it checks). */
#include "vk_test_common.h"

#define RANGE_SIZE 8192u

static uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* `batches` batches of random uploads over one range (each may overlap any
 * earlier one of its batch or of earlier batches), recorded into one
 * command buffer per batch; the bytes read back must match a model that
 * applies the uploads in order. */
static void run_overlapping_uploads(uint32_t manager_flags, int batches) {
    VKT_FIXTURE(fx, manager_flags);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .block_size = 256u << 10};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 512u << 10};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    oa_vk_range_info range;
    CHECK_EQ(oa_vk_alloc(m, pool, RANGE_SIZE, 1, &range), OA_VK_SUCCESS);
    uint64_t seed = 0x5EEDull + manager_flags;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    static uint8_t model[RANGE_SIZE], got[RANGE_SIZE], data[RANGE_SIZE];
    memset(model, 0, sizeof model);
    CHECK_EQ(oa_vk_stager_upload(stager, range.handle, 0, model, RANGE_SIZE, NULL), OA_VK_SUCCESS);
    for (int batch = 0; batch < batches; batch++) {
        const uint32_t count = 2 + (uint32_t)(splitmix64(&seed) % 40);
        for (uint32_t i = 0; i < count; i++) {
            /* Half the uploads land on one hot 256-byte window, so overlaps
             * are many. */
            const bool hot = (splitmix64(&seed) & 1) != 0;
            const uint32_t offset = hot ? 1000 + (uint32_t)(splitmix64(&seed) % 200)
                                        : (uint32_t)(splitmix64(&seed) % RANGE_SIZE);
            const uint32_t room = RANGE_SIZE - offset;
            const uint32_t size = 1 + (uint32_t)(splitmix64(&seed) % (room < 700 ? room : 700));
            for (uint32_t b = 0; b < size; b++) {
                data[b] = (uint8_t)splitmix64(&seed);
            }
            memcpy(model + offset, data, size);
            CHECK_EQ(oa_vk_stager_upload(stager, range.handle, offset, data, size, NULL),
                     OA_VK_SUCCESS);
        }
        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
        CHECK_EQ(vkt_submit_wait(e, cmd), value);
        CHECK_EQ(oa_vk_stager_collect(stager, value), OA_VK_SUCCESS);
        CHECK(vkt_read_buffer(e, range.buffer, range.offset, RANGE_SIZE, got));
        if (memcmp(got, model, RANGE_SIZE) != 0) {
            uint32_t at = 0;
            while (got[at] == model[at]) {
                at++;
            }
            OA_FAIL_AT("batch %d of %u uploads: byte %u is 0x%02x, the last upload wrote 0x%02x",
                       batch, count, at, got[at], model[at]);
            return;
        }
    }
    CHECK_EQ(oa_vk_free(m, range.handle), OA_VK_SUCCESS);
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

OA_TEST(overlapping_uploads_in_one_batch_keep_their_order) {
    run_overlapping_uploads(0, 20);
}

OA_TEST(overlapping_uploads_non_coherent_path) {
    run_overlapping_uploads(OA_VK_MANAGER_ASSUME_NON_COHERENT, 10);
}

/* The simplest case, spelled out: two writes of the same 64 bytes. */
OA_TEST(the_same_bytes_twice_in_one_batch) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .block_size = 64u << 10};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 64u << 10};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    oa_vk_range_info range;
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 4, &range), OA_VK_SUCCESS);
    uint8_t first[64], second[64], got[64];
    memset(first, 0x11, sizeof first);
    memset(second, 0x22, sizeof second);
    CHECK_EQ(oa_vk_stager_upload(stager, range.handle, 0, first, 64, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_upload(stager, range.handle, 0, second, 64, NULL), OA_VK_SUCCESS);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    CHECK(vkt_read_buffer(e, range.buffer, range.offset, 64, got));
    CHECK(memcmp(got, second, 64) == 0);
    CHECK_EQ(oa_vk_stager_collect(stager, value), OA_VK_SUCCESS);
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
