/* readme_snippet.c - the README's example, compiled and run: create a pool,
 * allocate a range, upload to it through a stager, free it deferred, collect.
 * The part between the SNIPPET markers is what the README shows. */
#include "vk_test_common.h"

typedef struct vertex {
    float position[3];
    float normal[3];
} vertex; /* 24-byte stride */

static const vertex vertices[3] = {
    {{0, 0, 0}, {0, 0, 1}}, {{1, 0, 0}, {0, 0, 1}}, {{0, 1, 0}, {0, 0, 1}}};

/* Records an upload into `cmd` (to be submitted signalling `frame`) and
 * frees the mesh deferred; returns the range it used. */
static oa_vk_result snippet(VkInstance instance, VkPhysicalDevice gpu, VkDevice device,
                            VkCommandBuffer cmd, uint64_t frame, oa_vk_manager** out_vk,
                            oa_vk_stager** out_stager, oa_vk_range_info* out_mesh) {
    oa_vk_result r;
    /* SNIPPET BEGIN */
    oa_vk_manager_info info = {
        .instance = instance,
        .physical_device = gpu,
        .device = device,
        .get_instance_proc_addr = vkGetInstanceProcAddr,
        .api_version = VK_API_VERSION_1_3,
    };
    oa_vk_manager* vk = NULL;
    if ((r = oa_vk_manager_create(&info, &vk)) < 0) {
        return r;
    }

    /* One pool for all meshes: 64 MiB blocks of device-local memory. */
    oa_vk_pool_info pool_info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
        .intent = OA_VK_INTENT_DEVICE, /* the default: GPU-only data */
        .name = "meshes",
    };
    oa_vk_pool meshes;
    r = oa_vk_pool_create(vk, &pool_info, &meshes);

    /* A 16 MiB staging ring for uploads. */
    oa_vk_stager_info stager_info = {.ring_size = 16u << 20};
    oa_vk_stager* stager = NULL;
    if (r >= 0) {
        r = oa_vk_stager_create(vk, &stager_info, &stager);
    }

    /* A range for one mesh, aligned to its 24-byte vertex stride. */
    oa_vk_range_info mesh;
    if (r >= 0) {
        r = oa_vk_alloc(vk, meshes, sizeof vertices, sizeof(vertex), &mesh);
    }
    if (r >= 0) {
        r = oa_vk_stager_upload(stager, mesh.handle, 0, vertices, sizeof vertices, NULL);
    }
    if (r >= 0) {
        /* Copies and barriers go into cmd, which the caller submits signalling
         * `frame` on its timeline semaphore. */
        r = oa_vk_stager_record(stager, cmd, frame);
        vkCmdBindVertexBuffers(cmd, 0, 1, &mesh.buffer, &mesh.offset);
    }
    /* Evicted while the GPU may still read it: freed once `frame` completes. */
    if (r >= 0) {
        r = oa_vk_free_deferred(vk, mesh.handle, frame);
    }
    /* Once a frame, with the semaphore's completed value:
     *   oa_vk_collect(vk, completed, NULL);
     *   oa_vk_stager_collect(stager, completed); */
    /* SNIPPET END */
    *out_vk = vk;
    *out_stager = stager;
    *out_mesh = mesh;
    return r;
}

OA_TEST(readme_snippet_runs) {
    vkt_fixture fx; /* the snippet makes its manager itself, as the README shows */
    vkt_fixture_begin(&fx);
    vkt_env* e = fx.env;
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t frame = e->timeline_value + 1;
    oa_vk_manager* vk = NULL;
    oa_vk_stager* stager = NULL;
    oa_vk_range_info mesh;
    CHECK_EQ(snippet(e->instance, e->physical_device, e->device, cmd, frame, &vk, &stager, &mesh),
             OA_VK_SUCCESS);
    CHECK_EQ(mesh.offset % sizeof(vertex), 0);
    /* The range is still there until the frame completes. */
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(vk, frame - 1, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    /* Read it back before the frame completes: one more submit after it. */
    CHECK_EQ(vkt_submit_wait(e, cmd), frame);
    vertex got[3];
    CHECK(vkt_read_buffer(e, mesh.buffer, mesh.offset, sizeof got, got));
    CHECK(memcmp(got, vertices, sizeof got) == 0);
    const uint64_t completed = vkt_completed(e);
    CHECK_EQ(oa_vk_collect(vk, completed, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 1);
    CHECK_EQ(oa_vk_stager_collect(stager, completed), OA_VK_SUCCESS);
    oa_vk_stager_destroy(stager);
    oa_vk_manager_destroy(vk);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
