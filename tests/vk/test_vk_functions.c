/* test_vk_functions.c - the manager's private device table on a real device:
 * the caller's own pointers (oa_vk_manager_info.functions) are the ones
 * called, a complete table needs nothing from vkGetDeviceProcAddr (so the
 * thirteen entries are all the device functions the manager calls), and a
 * missing required entry is named in the log. */
#include "vk_test_common.h"

static struct {
    uint32_t allocate_calls, create_calls, copy_calls;
    uint32_t fail_allocate; /* fail the allocate call with this number (1-based); 0 = never */
    uint32_t gdpa_calls;
} counts;

static VKAPI_ATTR VkResult VKAPI_CALL my_allocate(VkDevice d, const VkMemoryAllocateInfo* info,
                                                  const VkAllocationCallbacks* cb,
                                                  VkDeviceMemory* out) {
    counts.allocate_calls++;
    if (counts.allocate_calls == counts.fail_allocate) {
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    return vkAllocateMemory(d, info, cb, out);
}

static VKAPI_ATTR VkResult VKAPI_CALL my_create_buffer(VkDevice d, const VkBufferCreateInfo* info,
                                                       const VkAllocationCallbacks* cb,
                                                       VkBuffer* out) {
    counts.create_calls++;
    return vkCreateBuffer(d, info, cb, out);
}

static VKAPI_ATTR void VKAPI_CALL my_copy(VkCommandBuffer cmd, VkBuffer src, VkBuffer dst,
                                          uint32_t n, const VkBufferCopy* regions) {
    counts.copy_calls++;
    vkCmdCopyBuffer(cmd, src, dst, n, regions);
}

/* A vkGetDeviceProcAddr that knows nothing: the manager must not need it. */
static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL empty_gdpa(VkDevice d, const char* name) {
    (void)d;
    (void)name;
    counts.gdpa_calls++;
    return NULL;
}

/* Every entry point straight from the loader. */
static oa_vk_functions loader_functions(void) {
    oa_vk_functions f = {
        .vkAllocateMemory = vkAllocateMemory,
        .vkFreeMemory = vkFreeMemory,
        .vkMapMemory = vkMapMemory,
        .vkUnmapMemory = vkUnmapMemory,
        .vkFlushMappedMemoryRanges = vkFlushMappedMemoryRanges,
        .vkInvalidateMappedMemoryRanges = vkInvalidateMappedMemoryRanges,
        .vkCreateBuffer = vkCreateBuffer,
        .vkDestroyBuffer = vkDestroyBuffer,
        .vkGetBufferMemoryRequirements = vkGetBufferMemoryRequirements,
        .vkBindBufferMemory = vkBindBufferMemory,
        .vkCmdCopyBuffer = vkCmdCopyBuffer,
        .vkCmdPipelineBarrier2 = vkCmdPipelineBarrier2,
        .vkGetBufferDeviceAddress = vkGetBufferDeviceAddress,
        .vkCmdPipelineBarrier = vkCmdPipelineBarrier,
    };
    return f;
}

/* Upload one range through a stager and read it back: every path of the
 * manager (blocks, mapping, flush, copies, barriers) runs. */
static void upload_and_read_back(oa_vk_manager* m) {
    vkt_env* e = vkt();
    const oa_vk_pool_info dst_info = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .intent = OA_VK_INTENT_READBACK,
                                      .block_size = 1 << 16};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &dst_info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info dst;
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 4, &dst), OA_VK_SUCCESS);
    memset(dst.mapped, 0, 1000);
    const oa_vk_stager_info sinfo = {.ring_size = 1 << 16};
    oa_vk_stager* s = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &s), OA_VK_SUCCESS);
    uint8_t data[1000];
    for (int i = 0; i < 1000; i++) {
        data[i] = (uint8_t)(i * 7 + 3);
    }
    CHECK_EQ(oa_vk_stager_upload(s, dst.handle, 0, data, sizeof data, NULL), OA_VK_SUCCESS);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_record(s, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    CHECK_EQ(oa_vk_stager_collect(s, value), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_invalidate(m, dst.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    CHECK(memcmp(dst.mapped, data, sizeof data) == 0);
    oa_vk_stager_destroy(s);
    CHECK_EQ(oa_vk_free(m, dst.handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
}

OA_TEST(callers_pointers_are_called) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    memset(&counts, 0, sizeof counts);
    oa_vk_functions f = {0};
    f.vkAllocateMemory = my_allocate;
    f.vkCreateBuffer = my_create_buffer;
    f.vkCmdCopyBuffer = my_copy;
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    mi.functions = &f;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    upload_and_read_back(m);
    CHECK(counts.allocate_calls >= 2); /* the readback block and the staging ring */
    CHECK(counts.create_calls >= 2);
    CHECK_EQ(counts.copy_calls, 1);
    /* The caller's allocate fails: the manager reports it, nothing leaks. */
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 1 << 16};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    counts.fail_allocate = counts.allocate_calls + 1;
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 1, &r), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

OA_TEST(a_complete_table_needs_no_device_proc_addr) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    memset(&counts, 0, sizeof counts);
    const oa_vk_functions f = loader_functions();
    oa_vk_manager_info mi = vkt_fixture_info(&fx, OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS);
    mi.get_device_proc_addr = empty_gdpa;
    mi.functions = &f;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    upload_and_read_back(fx.manager);
    VKT_TEARDOWN(&fx);
}

/* A table without vkCmdPipelineBarrier2 (a device without
 * synchronization2): the stager's barriers go through vkCmdPipelineBarrier,
 * with masks the validation layer accepts, and the bytes arrive. */
OA_TEST(without_barrier2_the_stager_uses_vkCmdPipelineBarrier) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    oa_vk_functions f = loader_functions();
    f.vkCmdPipelineBarrier2 = NULL;
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    mi.get_device_proc_addr = empty_gdpa;
    mi.functions = &f;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    upload_and_read_back(fx.manager);
    VKT_TEARDOWN(&fx);
}

OA_TEST(a_missing_entry_is_named) {
    static const size_t members = sizeof(oa_vk_functions) / sizeof(PFN_vkVoidFunction);
    /* Each of the eleven required members left out in turn. */
    for (size_t k = 0; k < 11; k++) {
        oa_vk_functions f = loader_functions();
        ((PFN_vkVoidFunction*)&f)[k] = NULL;
        oa_vk_manager_info mi = vkt_manager_info(0);
        mi.get_device_proc_addr = empty_gdpa;
        mi.functions = &f;
        oa_vk_manager* m = (oa_vk_manager*)&mi;
        vkt_last_log[0] = 0;
        CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_ERROR_FEATURE_NOT_ENABLED);
        CHECK(m == NULL);
        CHECK(strstr(vkt_last_log, "no vk") != NULL);
    }
    CHECK_EQ(members, 14);
    /* The optional three: a stager (like compaction and growth) needs one of
     * the two barriers, device addresses the address query. */
    oa_vk_functions f = loader_functions();
    f.vkCmdPipelineBarrier2 = NULL;
    f.vkGetBufferDeviceAddress = NULL;
    f.vkCmdPipelineBarrier = NULL;
    oa_vk_manager_info mi = vkt_manager_info(0);
    mi.get_device_proc_addr = empty_gdpa;
    mi.functions = &f;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    const oa_vk_stager_info sinfo = {0};
    oa_vk_stager* s = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &sinfo, &s), OA_VK_ERROR_FEATURE_NOT_ENABLED);
    oa_vk_manager_destroy(m);
    mi.flags = OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_ERROR_FEATURE_NOT_ENABLED);
}

VKT_TEST_MAIN()
