/* budget.c - heap budgets: the device's (VK_EXT_memory_budget's heapBudget,
 * or 80% of the heap without it), the caller's cap on orderly's own share,
 * and the whole process's usage against which a new block is weighed.
 * Invariant: process usage as reported is never below orderly's own bytes in
 * the heap. */
#include "oa_vk_internal.h"

void oa__vk_refresh_budget(oa_vk_manager* m) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    bool has_budget = false;
    if ((m->flags & OA_VK_MANAGER_MEMORY_BUDGET) != 0 && m->get_memory_properties2 != NULL) {
        VkPhysicalDeviceMemoryProperties2 props2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &budget};
        m->get_memory_properties2(m->physical_device, &props2);
        has_budget = true;
    }
    for (uint32_t i = 0; i < m->memory_properties.memoryHeapCount && i < VK_MAX_MEMORY_HEAPS; i++) {
        const VkDeviceSize heap_size = m->memory_properties.memoryHeaps[i].size;
        m->device_budget[i] = has_budget ? budget.heapBudget[i] : heap_size / 10 * 8;
        VkDeviceSize b = m->device_budget[i];
        if (m->caller_budget[i] != 0 && m->caller_budget[i] < b) {
            b = m->caller_budget[i];
        }
        m->heap_budget[i] = b;
        /* heapUsage counts the whole process (other allocators, images,
         * swapchains), orderly's blocks included. */
        m->process_usage[i] = has_budget ? budget.heapUsage[i] : 0;
        m->usage_at_refresh[i] = m->heap_usage[i];
    }
}

VkDeviceSize oa__vk_process_usage(const oa_vk_manager* m, uint32_t heap) {
    const VkDeviceSize own = m->heap_usage[heap];
    const VkDeviceSize then = m->usage_at_refresh[heap];
    /* The process's usage as last read, moved by what orderly allocated or
     * freed since; never below orderly's own bytes. */
    VkDeviceSize u = m->process_usage[heap];
    if (own >= then) {
        u = u + (own - then) < u ? UINT64_MAX : u + (own - then);
    } else {
        u = u > then - own ? u - (then - own) : 0;
    }
    return u > own ? u : own;
}

bool oa__vk_heap_has_room(const oa_vk_manager* m, uint32_t heap, VkDeviceSize size) {
    const VkDeviceSize own = m->heap_usage[heap];
    const VkDeviceSize process = oa__vk_process_usage(m, heap);
    if (process + size < size || process + size > m->device_budget[heap]) {
        return false;
    }
    /* The caller's budget bounds orderly's own share. */
    return m->caller_budget[heap] == 0 ||
           (own + size >= size && own + size <= m->caller_budget[heap]);
}
