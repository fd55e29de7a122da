/* functions.c - the manager's private device table (oa_vk_functions): the
 * thirteen device entry points it calls, each taken from the caller's table
 * when given there, else loaded through vkGetDeviceProcAddr under the name
 * the device's api_version implies (core or KHR).
 * Does not load instance-level queries (device.c does, through
 * vkGetInstanceProcAddr).
 * Invariant: after a successful load every entry point the manager calls
 * unconditionally is non-NULL; the two optional ones may be NULL. */
#include "oa_vk_internal.h"

/* One entry: the caller's pointer if it gave one, else the device's. */
static PFN_vkVoidFunction oa__vk_entry(const oa_vk_manager* m, PFN_vkGetDeviceProcAddr gdpa,
                                       PFN_vkVoidFunction given, const char* name) {
    if (given != NULL) {
        return given;
    }
    return gdpa != NULL ? gdpa(m->device, name) : NULL;
}

oa_vk_result oa__vk_load_functions(oa_vk_manager* m, PFN_vkGetDeviceProcAddr gdpa,
                                   const oa_vk_functions* given) {
    const oa_vk_functions none = {0};
    const oa_vk_functions* g = given != NULL ? given : &none;
    oa_vk_functions* f = &m->vk;
#define OA__VK_LOAD(field, name)                                                                   \
    f->field = (PFN_##field)oa__vk_entry(m, gdpa, (PFN_vkVoidFunction)g->field, name)
    OA__VK_LOAD(vkAllocateMemory, "vkAllocateMemory");
    OA__VK_LOAD(vkFreeMemory, "vkFreeMemory");
    OA__VK_LOAD(vkMapMemory, "vkMapMemory");
    OA__VK_LOAD(vkUnmapMemory, "vkUnmapMemory");
    OA__VK_LOAD(vkFlushMappedMemoryRanges, "vkFlushMappedMemoryRanges");
    OA__VK_LOAD(vkInvalidateMappedMemoryRanges, "vkInvalidateMappedMemoryRanges");
    OA__VK_LOAD(vkCreateBuffer, "vkCreateBuffer");
    OA__VK_LOAD(vkDestroyBuffer, "vkDestroyBuffer");
    OA__VK_LOAD(vkGetBufferMemoryRequirements, "vkGetBufferMemoryRequirements");
    OA__VK_LOAD(vkBindBufferMemory, "vkBindBufferMemory");
    OA__VK_LOAD(vkCmdCopyBuffer, "vkCmdCopyBuffer");
    OA__VK_LOAD(vkCmdPipelineBarrier2, m->api_version >= VK_API_VERSION_1_3
                                           ? "vkCmdPipelineBarrier2"
                                           : "vkCmdPipelineBarrier2KHR");
    OA__VK_LOAD(vkGetBufferDeviceAddress, m->api_version >= VK_API_VERSION_1_2
                                              ? "vkGetBufferDeviceAddress"
                                              : "vkGetBufferDeviceAddressKHR");
    OA__VK_LOAD(vkCmdPipelineBarrier, "vkCmdPipelineBarrier");
#undef OA__VK_LOAD
    const struct {
        PFN_vkVoidFunction fn;
        const char* name;
    } required[] = {
        {(PFN_vkVoidFunction)f->vkAllocateMemory, "vkAllocateMemory"},
        {(PFN_vkVoidFunction)f->vkFreeMemory, "vkFreeMemory"},
        {(PFN_vkVoidFunction)f->vkMapMemory, "vkMapMemory"},
        {(PFN_vkVoidFunction)f->vkUnmapMemory, "vkUnmapMemory"},
        {(PFN_vkVoidFunction)f->vkFlushMappedMemoryRanges, "vkFlushMappedMemoryRanges"},
        {(PFN_vkVoidFunction)f->vkInvalidateMappedMemoryRanges, "vkInvalidateMappedMemoryRanges"},
        {(PFN_vkVoidFunction)f->vkCreateBuffer, "vkCreateBuffer"},
        {(PFN_vkVoidFunction)f->vkDestroyBuffer, "vkDestroyBuffer"},
        {(PFN_vkVoidFunction)f->vkGetBufferMemoryRequirements, "vkGetBufferMemoryRequirements"},
        {(PFN_vkVoidFunction)f->vkBindBufferMemory, "vkBindBufferMemory"},
        {(PFN_vkVoidFunction)f->vkCmdCopyBuffer, "vkCmdCopyBuffer"},
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (required[i].fn == NULL) {
            return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                               "oa_vk_manager_create: no %s, neither in info->functions nor "
                               "from get_device_proc_addr (a Vulkan 1.0 buffer or memory entry "
                               "point)",
                               required[i].name);
        }
    }
    return OA_VK_SUCCESS;
}
