/* orderly_vk_volk.h - optional, header-only: fills the manager's function
 * table (oa_vk_functions) from a volk device table, for applications that
 * load Vulkan with volk. Include it after volk.h (or let it include volk.h);
 * the library itself never includes volk or links it.
 *
 *   struct VolkDeviceTable table;
 *   volkLoadDeviceTable(&table, device);
 *   oa_vk_functions functions;
 *   oa_vk_functions_from_volk(&table, &functions);
 *   oa_vk_manager_info info = {..., .get_instance_proc_addr = vkGetInstanceProcAddr,
 *                              .functions = &functions};
 *
 * The manager then calls exactly the pointers of the application's table (a
 * layer or wrapper the application installed in it included); members the
 * table lacks stay NULL and are loaded by the manager through
 * get_device_proc_addr. */
#ifndef ORDERLY_VK_VOLK_H
#define ORDERLY_VK_VOLK_H

#ifndef VOLK_H_
#include <volk.h>
#endif

#include "orderly_vk.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copy the thirteen entry points the manager calls from `table` into `out`:
 * vkCmdPipelineBarrier2 falls back to vkCmdPipelineBarrier2KHR and
 * vkGetBufferDeviceAddress to vkGetBufferDeviceAddressKHR when the core name
 * is NULL (a device below Vulkan 1.3 / 1.2 with the extension). NULL `table`
 * or `out` does nothing. Cost: O(1); thread-safe. */
static inline void oa_vk_functions_from_volk(const struct VolkDeviceTable* table,
                                             oa_vk_functions* out) {
    if (table == NULL || out == NULL) {
        return;
    }
    oa_vk_functions f;
    f.vkAllocateMemory = table->vkAllocateMemory;
    f.vkFreeMemory = table->vkFreeMemory;
    f.vkMapMemory = table->vkMapMemory;
    f.vkUnmapMemory = table->vkUnmapMemory;
    f.vkFlushMappedMemoryRanges = table->vkFlushMappedMemoryRanges;
    f.vkInvalidateMappedMemoryRanges = table->vkInvalidateMappedMemoryRanges;
    f.vkCreateBuffer = table->vkCreateBuffer;
    f.vkDestroyBuffer = table->vkDestroyBuffer;
    f.vkGetBufferMemoryRequirements = table->vkGetBufferMemoryRequirements;
    f.vkBindBufferMemory = table->vkBindBufferMemory;
    f.vkCmdCopyBuffer = table->vkCmdCopyBuffer;
    f.vkCmdPipelineBarrier = table->vkCmdPipelineBarrier;
    f.vkCmdPipelineBarrier2 = NULL;
    f.vkGetBufferDeviceAddress = NULL;
#if defined(VK_VERSION_1_3)
    f.vkCmdPipelineBarrier2 = table->vkCmdPipelineBarrier2;
#endif
#if defined(VK_KHR_synchronization2)
    if (f.vkCmdPipelineBarrier2 == NULL) {
        f.vkCmdPipelineBarrier2 = table->vkCmdPipelineBarrier2KHR;
    }
#endif
#if defined(VK_VERSION_1_2)
    f.vkGetBufferDeviceAddress = table->vkGetBufferDeviceAddress;
#endif
#if defined(VK_KHR_buffer_device_address)
    if (f.vkGetBufferDeviceAddress == NULL) {
        f.vkGetBufferDeviceAddress = table->vkGetBufferDeviceAddressKHR;
    }
#endif
    *out = f;
}

#ifdef __cplusplus
}
#endif

#endif /* ORDERLY_VK_VOLK_H */
