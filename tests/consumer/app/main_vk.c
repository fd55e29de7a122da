/* main_vk.c - a consumer of the Vulkan manager that needs no device: the pure
 * functions choose a memory type and an alignment on made-up properties. */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    VkPhysicalDeviceMemoryProperties props;
    memset(&props, 0, sizeof props);
    props.memoryTypeCount = 2;
    props.memoryTypes[0].propertyFlags =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    props.memoryTypes[1].propertyFlags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    props.memoryHeapCount = 1;
    props.memoryHeaps[0].size = 1u << 30;
    uint32_t type = UINT32_MAX;
    oa_vk_result r =
        oa_vk_choose_memory_type(&props, 0x3u, 0, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, &type);
    /* A readback pool by intent: the host-visible type. */
    oa_vk_pool_info readback;
    memset(&readback, 0, sizeof readback);
    readback.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    readback.intent = OA_VK_INTENT_READBACK;
    uint32_t order[VK_MAX_MEMORY_TYPES];
    uint32_t order_count = 0;
    const oa_vk_result ro = oa_vk_pool_memory_types(&props, 0x3u, &readback, order, &order_count);
    VkPhysicalDeviceLimits limits;
    memset(&limits, 0, sizeof limits);
    limits.minUniformBufferOffsetAlignment = 256;
    limits.minStorageBufferOffsetAlignment = 16;
    limits.minTexelBufferOffsetAlignment = 16;
    limits.nonCoherentAtomSize = 64;
    const VkDeviceSize align =
        oa_vk_range_alignment(&limits, VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, 0, false, 24);
    const int ok =
        r == OA_VK_SUCCESS && type == 1 && align == 768 && ro == OA_VK_SUCCESS &&
        order_count == 1 && order[0] == 0 &&
        strcmp(oa_vk_result_name(OA_VK_ERROR_STALE_HANDLE), "OA_VK_ERROR_STALE_HANDLE") == 0;
    printf("consumer vk: memory type %u, alignment %llu: %s\n", type, (unsigned long long)align,
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
