/* block.c - blocks: one VkBuffer bound at offset 0 of one VkDeviceMemory,
 * mapped if the pool is, with a core allocator over it (none for a dedicated
 * block, which holds exactly one range). Checks the device's allocation count,
 * size limits and the heap budget before asking Vulkan for memory.
 * Does not decide when blocks come and go (pool.c does).
 * Invariant: heap_usage and allocation_count count exactly the live blocks. */
#include "oa_vk_internal.h"

#include <stdio.h>

static void oa__vk_set_name(const oa_vk_manager* m, VkObjectType type, uint64_t handle,
                            const char* name) {
    if (m->set_object_name == NULL || handle == 0) {
        return;
    }
    const VkDebugUtilsObjectNameInfoEXT info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
        .objectType = type,
        .objectHandle = handle,
        .pObjectName = name};
    (void)m->set_object_name(m->device, &info);
}

static bool oa__vk_type_non_coherent(const oa_vk_manager* m, uint32_t type_index) {
    const VkMemoryPropertyFlags f = m->memory_properties.memoryTypes[type_index].propertyFlags;
    if ((f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0) {
        return false;
    }
    return (m->flags & OA_VK_MANAGER_ASSUME_NON_COHERENT) != 0 ||
           (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0;
}

/* Allocate the block's memory from the pool's first type, falling back along
 * its intent's order (pool.c) when the heap's budget is spent or Vulkan runs
 * out of device memory. A mapped pool never falls back to memory less
 * coherent than its ranges were aligned for. */
static oa_vk_result oa__vk_allocate_memory(oa_vk_manager* m, const oa__vk_pool* p,
                                           const VkMemoryRequirements* req, VkBuffer dedicated,
                                           oa__vk_block* b) {
    oa_vk_result last = OA_VK_ERROR_NO_MEMORY_TYPE;
    for (uint32_t k = 0; k < p->type_order_count; k++) {
        const uint32_t type = p->type_order[k];
        if ((req->memoryTypeBits & (1u << type)) == 0) {
            continue;
        }
        if (p->mapped && !p->non_coherent && oa__vk_type_non_coherent(m, type)) {
            continue;
        }
        const uint32_t heap = m->memory_properties.memoryTypes[type].heapIndex;
        if (!oa__vk_heap_has_room(m, heap, req->size)) {
            last = oa__vk_fail(m, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY,
                               "pool '%s': %llu bytes would pass the budget of heap %u "
                               "(process %llu, orderly %llu of %llu)",
                               p->name, (unsigned long long)req->size, heap,
                               (unsigned long long)oa__vk_process_usage(m, heap),
                               (unsigned long long)m->heap_usage[heap],
                               (unsigned long long)m->heap_budget[heap]);
            continue;
        }
        VkMemoryDedicatedAllocateInfo dedicated_info = {
            .sType = VK_STRUCTURE_TYPE_MEMORY_DEDICATED_ALLOCATE_INFO, .buffer = dedicated};
        VkMemoryAllocateFlagsInfo flags_info = {.sType =
                                                    VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                                .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT};
        const void* chain = NULL;
        if (dedicated != VK_NULL_HANDLE && m->api_version >= VK_API_VERSION_1_1) {
            chain = &dedicated_info;
        }
        if ((p->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0) {
            flags_info.pNext = chain;
            chain = &flags_info;
        }
        const VkMemoryAllocateInfo info = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                           .pNext = chain,
                                           .allocationSize = req->size,
                                           .memoryTypeIndex = type};
        const VkResult vr = m->vk.vkAllocateMemory(m->device, &info, m->vk_callbacks, &b->memory);
        if (vr == VK_SUCCESS) {
            b->memory_type_index = type;
            b->heap_index = heap;
            b->memory_size = req->size;
            if (m->memory_callbacks.allocate != NULL) {
                m->memory_callbacks.allocate(m->memory_callbacks.user, type, b->memory, req->size);
            }
            return OA_VK_SUCCESS;
        }
        b->memory = VK_NULL_HANDLE;
        last = oa__vk_fail(m, oa__vk_from_vk(m, vr),
                           "pool '%s': vkAllocateMemory(%llu bytes, type %u) failed: %d", p->name,
                           (unsigned long long)req->size, type, (int)vr);
        if (vr != VK_ERROR_OUT_OF_DEVICE_MEMORY) {
            return last;
        }
    }
    return last;
}

/* Releases whatever of the block exists; safe on a half-built block. */
void oa__vk_block_release(oa_vk_manager* m, oa__vk_block* b) {
    oa__vk_block_record_end(b);
    oa_allocator_destroy(b->allocator);
    if (b->mapped != NULL) {
        m->vk.vkUnmapMemory(m->device, b->memory);
    }
    if (b->buffer != VK_NULL_HANDLE) {
        m->vk.vkDestroyBuffer(m->device, b->buffer, m->vk_callbacks);
    }
    if (b->memory != VK_NULL_HANDLE) {
        if (m->memory_callbacks.free != NULL) {
            m->memory_callbacks.free(m->memory_callbacks.user, b->memory_type_index, b->memory,
                                     b->memory_size);
        }
        m->vk.vkFreeMemory(m->device, b->memory, m->vk_callbacks);
        m->heap_usage[b->heap_index] -= b->memory_size;
        m->heap_allocation_count[b->heap_index]--;
        m->allocation_count--;
    }
    memset(b, 0, sizeof *b);
}

oa_vk_result oa__vk_block_storage_create(oa_vk_manager* m, const oa__vk_pool* p, VkDeviceSize size,
                                         bool dedicated, oa__vk_block* b) {
    memset(b, 0, sizeof *b);
    if (m->allocation_count >= m->properties.limits.maxMemoryAllocationCount) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_MANY_ALLOCATIONS,
                           "pool '%s': maxMemoryAllocationCount (%u) reached", p->name,
                           m->properties.limits.maxMemoryAllocationCount);
    }
    const VkBufferCreateInfo buffer_info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                            .size = size,
                                            .usage = p->usage,
                                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult vr = m->vk.vkCreateBuffer(m->device, &buffer_info, m->vk_callbacks, &b->buffer);
    if (vr != VK_SUCCESS) {
        b->buffer = VK_NULL_HANDLE;
        return oa__vk_fail(m, oa__vk_from_vk(m, vr), "pool '%s': vkCreateBuffer(%llu) failed: %d",
                           p->name, (unsigned long long)size, (int)vr);
    }
    VkMemoryRequirements req;
    m->vk.vkGetBufferMemoryRequirements(m->device, b->buffer, &req);
    if (req.size > m->max_allocation_size) {
        /* The buffer fits maxBufferSize but its memory, rounded up to the
         * memory alignment, does not fit one allocation. */
        oa__vk_block_release(m, b);
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "pool '%s': a buffer of %llu bytes needs %llu bytes of memory, above "
                           "maxMemoryAllocationSize %llu",
                           p->name, (unsigned long long)size, (unsigned long long)req.size,
                           (unsigned long long)m->max_allocation_size);
    }
    oa_vk_result r = oa__vk_allocate_memory(m, p, &req, dedicated ? b->buffer : VK_NULL_HANDLE, b);
    if (r != OA_VK_SUCCESS) {
        oa__vk_block_release(m, b);
        return r;
    }
    m->heap_usage[b->heap_index] += b->memory_size;
    m->heap_allocation_count[b->heap_index]++;
    m->allocation_count++;

    vr = m->vk.vkBindBufferMemory(m->device, b->buffer, b->memory, 0);
    if (vr != VK_SUCCESS) {
        oa__vk_block_release(m, b);
        return oa__vk_fail(m, oa__vk_from_vk(m, vr), "pool '%s': vkBindBufferMemory failed: %d",
                           p->name, (int)vr);
    }
    if (p->mapped) {
        void* ptr = NULL;
        vr = m->vk.vkMapMemory(m->device, b->memory, 0, VK_WHOLE_SIZE, 0, &ptr);
        if (vr != VK_SUCCESS || ptr == NULL) {
            oa__vk_block_release(m, b);
            return oa__vk_fail(m, vr != VK_SUCCESS ? oa__vk_from_vk(m, vr) : OA_VK_ERROR_VULKAN,
                               "pool '%s': vkMapMemory failed: %d", p->name, (int)vr);
        }
        b->mapped = (uint8_t*)ptr;
    }
    if ((p->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0) {
        const VkBufferDeviceAddressInfo address_info = {
            .sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO, .buffer = b->buffer};
        b->address = m->get_buffer_device_address(m->device, &address_info);
    }
    b->size = size;
    b->is_dedicated = dedicated;
    return OA_VK_SUCCESS;
}

void oa__vk_block_set_names(const oa_vk_manager* m, const oa__vk_pool* p, const oa__vk_block* b,
                            uint32_t slot) {
    if (m->set_object_name != NULL) {
        char name[OA__VK_NAME_MAX + 32];
        snprintf(name, sizeof name, "%s %s %u", p->name, b->is_dedicated ? "dedicated" : "block",
                 slot);
        oa__vk_set_name(m, VK_OBJECT_TYPE_BUFFER, (uint64_t)(uintptr_t)b->buffer, name);
        oa__vk_set_name(m, VK_OBJECT_TYPE_DEVICE_MEMORY, (uint64_t)(uintptr_t)b->memory, name);
    }
}

oa_vk_result oa__vk_block_create(oa_vk_manager* m, oa__vk_pool* p, VkDeviceSize size,
                                 bool dedicated, uint32_t* out_slot) {
    if (p->block_callbacks.create != NULL) {
        return oa__vk_block_create_by_callback(m, p, size, dedicated, out_slot);
    }
    uint32_t slot = 0;
    while (slot < p->block_slots && p->blocks[slot].in_use) {
        slot++;
    }
    if (slot == p->block_slots) {
        oa_vk_result r = oa__vk_grow(&m->callbacks, (void**)&p->blocks, &p->block_capacity,
                                     sizeof *p->blocks, slot + 1);
        if (r != OA_VK_SUCCESS) {
            return oa__vk_fail(m, r, "pool '%s': no host memory for a block record", p->name);
        }
    }
    oa__vk_block block;
    oa__vk_block* b = &block;
    oa_vk_result r = oa__vk_block_storage_create(m, p, size, dedicated, b);
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    if (!dedicated) {
        /* Sizes rounded up to the pool's alignment: ranges that use only it
         * tile the block with no pad, and no free region is ever below it. */
        const oa_allocator_info core_info = {
            .capacity = size, .callbacks = m->callbacks, .granularity = p->alignment};
        oa_result cr = oa_allocator_create(&core_info, &b->allocator);
        if (cr != OA_SUCCESS) {
            oa__vk_block_release(m, b);
            return oa__vk_fail(m, oa__vk_from_core(cr),
                               "pool '%s': creating the block's allocator failed: %s", p->name,
                               oa_result_name(cr));
        }
    }
    r = oa__vk_block_record_begin(m, p, slot, b);
    if (r != OA_VK_SUCCESS) {
        oa__vk_block_release(m, b);
        return r;
    }
    oa__vk_block_set_names(m, p, b, slot);
    b->in_use = true;
    b->empty_since = m->collect_epoch;
    b->non_coherent = p->non_coherent;
    p->blocks[slot] = block;
    if (slot == p->block_slots) {
        p->block_slots++;
    }
    if (dedicated) {
        p->dedicated_count++;
    } else {
        p->ordinary_count++;
    }
    *out_slot = slot;
    return OA_VK_SUCCESS;
}

void oa__vk_block_destroy(oa_vk_manager* m, oa__vk_pool* p, uint32_t slot) {
    oa__vk_block* b = &p->blocks[slot];
    OA_ASSERT(b->in_use && "destroying a block slot that is not in use");
    if (b->is_dedicated) {
        p->dedicated_count--;
    } else {
        p->ordinary_count--;
    }
    if (b->is_external) {
        oa__vk_external_release(p, b);
    } else {
        oa__vk_block_release(m, b);
    }
    while (p->block_slots > 0 && !p->blocks[p->block_slots - 1].in_use) {
        p->block_slots--;
    }
}
