/* test_vk_loader.c - the manager in an application that links the Vulkan
 * loader and calls it directly (no volk anywhere in the application), and
 * hands the manager nothing but vkGetInstanceProcAddr: the manager finds
 * vkGetDeviceProcAddr, synchronization2 and the rest through it. Also checks
 * that the library defines no Vulkan entry point of its own that would
 * shadow the loader's: the application's vkCreateBuffer is the loader's. */
#include "vk_test_common.h"

OA_TEST(only_get_instance_proc_addr) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    vkt_env* e = fx.env;
    /* Filled by hand on purpose: the loader's one entry point, nothing else. */
    const oa_vk_manager_info info = {.instance = e->instance,
                                     .physical_device = e->physical_device,
                                     .device = e->device,
                                     .get_instance_proc_addr = vkGetInstanceProcAddr,
                                     .api_version = VK_API_VERSION_1_3};
    CHECK_EQ(vkt_fixture_create(&fx, &info), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info pinfo = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
    oa_vk_pool pool = vkt_pool(&fx, &pinfo);
    CHECK(pool.id != 0);
    oa_vk_stager* stager = NULL;
    const oa_vk_stager_info sinfo = {.ring_size = 4096};
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &stager), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 1, &r), OA_VK_SUCCESS);
    uint8_t data[1000];
    for (int i = 0; i < 1000; i++) {
        data[i] = (uint8_t)(i * 7);
    }
    CHECK_EQ(oa_vk_stager_upload(stager, r.handle, 0, data, sizeof data, NULL), OA_VK_SUCCESS);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_record(stager, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    uint8_t got[1000];
    CHECK(vkt_read_buffer(e, r.buffer, r.offset, sizeof got, got));
    CHECK(memcmp(got, data, sizeof got) == 0);
    /* The application's own loader calls still reach the loader. */
    VkBuffer own = VK_NULL_HANDLE;
    const VkBufferCreateInfo binfo = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                      .size = 64,
                                      .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
    CHECK_EQ(vkCreateBuffer(e->device, &binfo, NULL, &own), VK_SUCCESS);
    vkDestroyBuffer(e->device, own, NULL);
    CHECK((void*)vkGetInstanceProcAddr(NULL, "vkCreateInstance") == (void*)vkCreateInstance);
    oa_vk_stager_destroy(stager);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
