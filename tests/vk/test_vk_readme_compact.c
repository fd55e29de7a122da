/* test_vk_readme_compact.c - runs the README's compaction example
 * (compact_a_little, extracted from README.md at build time into
 * readme_vk_compact.h) as a frame loop
 * would: on a fragmented pool, once a "frame" until it moves nothing, with
 * the patch callback keeping the caller's offsets; then checks every byte
 * and the caller's offsets against the manager's. */
#include "vk_test_common.h"

#include "readme_vk_compact.h" /* generated from README.md */

#define KiB (1ull << 10)

enum { N = 120 };

typedef struct caller_mesh {
    oa_vk_range handle;
    VkDeviceSize offset, size; /* what the caller's draw data would hold */
    uint8_t bytes[4 * KiB];
    bool live;
} caller_mesh;

static caller_mesh meshes[N];

static void patch_offset(void* user, const oa_vk_compact_move* move) {
    int* patched = (int*)user;
    for (int i = 0; i < N; i++) {
        if (meshes[i].live && meshes[i].handle.id == move->range.id) {
            meshes[i].offset = move->new_offset;
            (*patched)++;
        }
    }
}

OA_TEST(the_readme_example_compacts_over_frames) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    CHECK(m != NULL);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .block_size = 256 * KiB,
                                  .max_block_count = 1};
    const oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 1024 * KiB};
    oa_vk_stager* stager = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    uint64_t seed = 0x4EAD3Eull;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    for (int i = 0; i < N; i++) {
        const VkDeviceSize size = 12 * (1 + vkt_splitmix64(&seed) % (3 * KiB / 12));
        oa_vk_range_info r;
        CHECK_EQ(oa_vk_alloc(m, pool, size, 12, &r), OA_VK_SUCCESS);
        meshes[i] =
            (caller_mesh){.handle = r.handle, .offset = r.offset, .size = size, .live = true};
        for (size_t k = 0; k < size; k++) {
            meshes[i].bytes[k] = (uint8_t)vkt_splitmix64(&seed);
        }
        CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 0, meshes[i].bytes, size, NULL),
                 OA_VK_SUCCESS);
    }
    VkCommandBuffer cmd = vkt_begin(e);
    uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    for (int i = 0; i < N; i++) {
        if (vkt_splitmix64(&seed) % 2 == 0) {
            CHECK_EQ(oa_vk_free(m, meshes[i].handle), OA_VK_SUCCESS);
            meshes[i].live = false;
        }
    }
    oa_vk_pool_stats ps;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &ps), OA_VK_SUCCESS);
    const double first = ps.fragmentation;
    int frames = 0, patched = 0, idle = 0;
    VkDeviceSize moved = 0;
    while (idle < 2 && frames < 100) {
        cmd = vkt_begin(e);
        value = e->timeline_value + 1;
        const VkDeviceSize bytes = compact_a_little(m, pool, cmd, value, patch_offset, &patched);
        idle = bytes == 0 ? idle + 1 : 0;
        moved += bytes;
        CHECK_EQ(vkt_submit_wait(e, cmd), value);
        CHECK_EQ(oa_vk_collect(m, value, NULL), OA_VK_SUCCESS);
        frames++;
    }
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &ps), OA_VK_SUCCESS);
    printf("fragmentation %.3f -> %.3f in %d frames, %llu bytes moved, %d ranges patched\n", first,
           ps.fragmentation, frames, (unsigned long long)moved, patched);
    CHECK(first > 0.5);
    CHECK(ps.fragmentation < 0.1);
    CHECK(patched > 0);
    uint8_t* copy = malloc(256 * KiB);
    oa_vk_range_info any;
    CHECK_EQ(oa_vk_range_get_info(
                 m, meshes[N - 1].live ? meshes[N - 1].handle : meshes[N - 2].handle, &any),
             OA_VK_SUCCESS);
    CHECK(vkt_read_buffer(e, any.buffer, 0, 256 * KiB, copy));
    for (int i = 0; i < N; i++) {
        if (!meshes[i].live) {
            continue;
        }
        oa_vk_range_info now;
        CHECK_EQ(oa_vk_range_get_info(m, meshes[i].handle, &now), OA_VK_SUCCESS);
        CHECK_EQ(now.offset, meshes[i].offset);
        CHECK(memcmp(copy + now.offset, meshes[i].bytes, (size_t)meshes[i].size) == 0);
    }
    free(copy);
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
