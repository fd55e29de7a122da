/* vk_dump: a real oa_vk_dump_json for orderly-vis's test. On the Vulkan
 * device of the tests (lavapipe in CI), makes two pools, allocates ranges of
 * mixed sizes, frees some now and some deferred, and writes the dump.
 * Usage: vk_dump OUT.json   (exit 1 on any failure or validation message) */
#include <orderly/orderly_vk.h>

#include "vk_test_env.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: vk_dump OUT.json\n");
        return 2;
    }
    vkt_env env;
    vkt_env_init(&env, 0);
    oa_vk_manager_info info = {.instance = env.instance,
                               .physical_device = env.physical_device,
                               .device = env.device,
                               .get_instance_proc_addr = vkGetInstanceProcAddr,
                               .api_version = env.api_version};
    oa_vk_manager* m = NULL;
    int ok = oa_vk_manager_create(&info, &m) == OA_VK_SUCCESS;
    oa_vk_pool meshes = {0}, uniforms = {0};
    oa_vk_pool_info mesh_info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                          VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
                                 .block_size = 1u << 20,
                                 .name = "meshes"};
    oa_vk_pool_info uniform_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                    .block_size = 256u << 10,
                                    .intent = OA_VK_INTENT_DYNAMIC,
                                    .name = "uniforms"};
    ok = ok && oa_vk_pool_create(m, &mesh_info, &meshes) == OA_VK_SUCCESS &&
         oa_vk_pool_create(m, &uniform_info, &uniforms) == OA_VK_SUCCESS;
    uint64_t seed = 11;
    oa_vk_range_info ranges[600];
    int count = 0;
    for (int i = 0; ok && i < 600; i++) {
        const int is_mesh = i % 3 != 0;
        const VkDeviceSize size =
            is_mesh ? 24 * (16 + vkt_splitmix64(&seed) % 2000) : 64 + vkt_splitmix64(&seed) % 960;
        ok = oa_vk_alloc(m, is_mesh ? meshes : uniforms, size, is_mesh ? 24 : 1, &ranges[count]) ==
             OA_VK_SUCCESS;
        count++;
    }
    for (int i = 0; ok && i < count; i++) {
        const uint64_t r = vkt_splitmix64(&seed) % 4;
        if (r == 0) {
            ok = oa_vk_free(m, ranges[i].handle) == OA_VK_SUCCESS;
        } else if (r == 1 && i % 5 == 0) {
            ok = oa_vk_free_deferred(m, ranges[i].handle, 1) == OA_VK_SUCCESS;
        }
    }
    size_t size = 0;
    char* text = NULL;
    ok = ok && oa_vk_dump_json(m, NULL, 0, &size) == OA_VK_INCOMPLETE &&
         (text = (char*)malloc(size + 1)) != NULL &&
         oa_vk_dump_json(m, text, size + 1, &size) == OA_VK_SUCCESS;
    FILE* f = ok ? fopen(argv[1], "w") : NULL;
    ok = f != NULL && fwrite(text, 1, size, f) == size;
    if (f != NULL) {
        ok &= fclose(f) == 0;
    }
    free(text);
    oa_vk_manager_destroy(m);
    vkt_env_destroy(&env);
    ok = ok && vkt_validation_messages() == 0;
    printf("vk_dump: %s\n", ok ? "dump written" : "FAILED");
    return ok ? 0 : 1;
}
