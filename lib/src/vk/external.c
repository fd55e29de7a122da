/* external.c - pools whose blocks orderly does not allocate: caller-owned
 * buffers handed in with oa_vk_pool_add_buffer (OA_VK_POOL_EXTERNAL), and
 * blocks made and destroyed by the pool's oa_vk_block_callbacks (the
 * application's allocator, VMA say). Either way a block is the caller's
 * VkBuffer (at some offset of some VkDeviceMemory, mapped or not) with one
 * core allocator over it, so ranges, deferred frees, the stager, stats, the
 * dump and the walk work on it unchanged.
 * Does not pick blocks for ranges (pool.c does) or allocate device memory.
 * Invariant: an external block's memory is never counted in heap usage or
 * the allocation count, and a caller-owned buffer is never released before
 * its pool is destroyed; then only its record goes. */
#include "oa_vk_internal.h"

bool oa__vk_pool_info_is_external(const oa_vk_pool_info* info) {
    return (info->flags & OA_VK_POOL_EXTERNAL) != 0 || info->block_callbacks.create != NULL ||
           info->block_callbacks.destroy != NULL;
}

oa_vk_result oa__vk_external_pool_setup(oa_vk_manager* m, const oa_vk_pool_info* info,
                                        oa__vk_pool* p) {
    const bool has_create = info->block_callbacks.create != NULL;
    if (has_create != (info->block_callbacks.destroy != NULL)) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_create '%s': block_callbacks need both create and destroy",
                           p->name);
    }
    if (has_create && (info->flags & OA_VK_POOL_EXTERNAL) != 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_create '%s': OA_VK_POOL_EXTERNAL takes the caller's "
                           "buffers (oa_vk_pool_add_buffer), block_callbacks make them: pick one",
                           p->name);
    }
    if ((info->flags & OA_VK_POOL_CORRUPTION_CHECK) != 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_create '%s': OA_VK_POOL_CORRUPTION_CHECK needs orderly's "
                           "own blocks",
                           p->name);
    }
    p->is_external = (info->flags & OA_VK_POOL_EXTERNAL) != 0;
    p->block_callbacks = info->block_callbacks;
    /* The memory is the caller's: no type order. Every range is aligned and
     * padded to the atom, since any block may turn out non-coherent. */
    p->memory_type_index = UINT32_MAX;
    p->type_order_count = 1;
    p->type_order[0] = 0;
    p->type_bits = 0;
    p->non_coherent = true;
    p->alignment =
        oa_vk_range_alignment(&m->properties.limits, p->usage, info->index_size, true, 1);
    if (p->alignment == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_VULKAN,
                           "oa_vk_pool_create '%s': the device's alignments pass 2^32", p->name);
    }
    if (p->is_external) {
        p->block_size = 0; /* no block of its own; no dedicated blocks */
        return OA_VK_SUCCESS;
    }
    VkDeviceSize block_size = info->block_size != 0 ? info->block_size : OA__VK_DEFAULT_BLOCK_SIZE;
    if (block_size > m->max_buffer_size) {
        block_size = m->max_buffer_size;
    }
    p->block_size = block_size;
    return OA_VK_SUCCESS;
}

/* Checks a buffer and fills a block record around it (no slot yet). */
static oa_vk_result oa__vk_external_block_init(oa_vk_manager* m, const oa__vk_pool* p,
                                               const oa_vk_external_buffer* eb, const char* what,
                                               oa__vk_block* b) {
    const VkDeviceSize atom = m->properties.limits.nonCoherentAtomSize;
    if (eb->buffer == VK_NULL_HANDLE || eb->size == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT, "%s '%s': no buffer, or size 0", what,
                           p->name);
    }
    bool non_coherent = false;
    if (eb->memory != VK_NULL_HANDLE) {
        if (eb->memory_type_index >= m->memory_properties.memoryTypeCount) {
            return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                               "%s '%s': memory_type_index %u is not a type of the device (%u)",
                               what, p->name, eb->memory_type_index,
                               m->memory_properties.memoryTypeCount);
        }
        const VkMemoryPropertyFlags f =
            m->memory_properties.memoryTypes[eb->memory_type_index].propertyFlags;
        non_coherent = eb->mapped != NULL && ((m->flags & OA_VK_MANAGER_ASSUME_NON_COHERENT) != 0 ||
                                              (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0);
    }
    if (non_coherent && atom > 1 && eb->memory_offset % atom != 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "%s '%s': non-coherent memory at offset %llu, not a multiple of "
                           "nonCoherentAtomSize %llu",
                           what, p->name, (unsigned long long)eb->memory_offset,
                           (unsigned long long)atom);
    }
    if ((p->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0 && eb->device_address == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "%s '%s': the pool has OA_VK_POOL_DEVICE_ADDRESS but the buffer no "
                           "device address",
                           what, p->name);
    }
    memset(b, 0, sizeof *b);
    b->buffer = eb->buffer;
    b->memory = eb->memory;
    b->size = eb->size;
    b->memory_size = eb->size;
    b->mapped = (uint8_t*)eb->mapped;
    b->address = eb->device_address;
    b->memory_type_index = eb->memory != VK_NULL_HANDLE ? eb->memory_type_index : UINT32_MAX;
    b->heap_index = UINT32_MAX;
    b->is_external = true;
    b->non_coherent = non_coherent;
    b->memory_offset = eb->memory_offset;
    b->external = *eb;
    const oa_allocator_info core_info = {.capacity = eb->size, .callbacks = m->callbacks};
    const oa_result cr = oa_allocator_create(&core_info, &b->allocator);
    if (cr != OA_SUCCESS) {
        b->allocator = NULL;
        return oa__vk_fail(m, oa__vk_from_core(cr), "%s '%s': creating the block's allocator: %s",
                           what, p->name, oa_result_name(cr));
    }
    return OA_VK_SUCCESS;
}

/* A free block slot of the pool, the array grown if needed. */
static oa_vk_result oa__vk_external_slot(oa_vk_manager* m, oa__vk_pool* p, uint32_t* out_slot) {
    uint32_t slot = 0;
    while (slot < p->block_slots && p->blocks[slot].in_use) {
        slot++;
    }
    if (slot == p->block_slots) {
        const oa_vk_result r = oa__vk_grow(&m->callbacks, (void**)&p->blocks, &p->block_capacity,
                                           sizeof *p->blocks, slot + 1);
        if (r != OA_VK_SUCCESS) {
            return oa__vk_fail(m, r, "pool '%s': no host memory for a block record", p->name);
        }
    }
    *out_slot = slot;
    return OA_VK_SUCCESS;
}

static void oa__vk_external_place(oa_vk_manager* m, oa__vk_pool* p, uint32_t slot,
                                  const oa__vk_block* b) {
    p->blocks[slot] = *b;
    p->blocks[slot].in_use = true;
    p->blocks[slot].empty_since = m->collect_epoch;
    if (slot == p->block_slots) {
        p->block_slots++;
    }
    if (b->is_dedicated) {
        p->dedicated_count++;
    } else {
        p->ordinary_count++;
    }
}

void oa__vk_external_release(const oa__vk_pool* p, oa__vk_block* b) {
    oa__vk_block_record_end(b);
    oa_allocator_destroy(b->allocator);
    if (!b->is_caller_owned && p->block_callbacks.destroy != NULL) {
        p->block_callbacks.destroy(p->block_callbacks.user, &b->external);
    }
    memset(b, 0, sizeof *b);
}

oa_vk_result oa__vk_block_create_by_callback(oa_vk_manager* m, oa__vk_pool* p, VkDeviceSize size,
                                             bool dedicated, uint32_t* out_slot) {
    uint32_t slot = 0;
    oa_vk_result r = oa__vk_external_slot(m, p, &slot);
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    const oa_vk_block_request request = {
        .pool = {oa__vk_handle_id((uint32_t)(p - m->pools), p->generation)},
        .name = p->name,
        .size = size,
        .usage = p->usage,
        .intent = p->intent,
        .required_flags = p->required_flags,
        .preferred_flags = p->preferred_flags,
        .mapped = p->mapped,
        .device_address = (p->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0,
        .dedicated = dedicated};
    oa_vk_external_buffer eb;
    memset(&eb, 0, sizeof eb);
    const VkResult vr = p->block_callbacks.create(p->block_callbacks.user, &request, &eb);
    if (vr != VK_SUCCESS) {
        return oa__vk_fail(m,
                           vr == VK_ERROR_OUT_OF_DEVICE_MEMORY ? OA_VK_ERROR_OUT_OF_DEVICE_MEMORY
                                                               : oa__vk_from_vk(m, vr),
                           "pool '%s': block_callbacks.create(%llu bytes) failed: %d", p->name,
                           (unsigned long long)size, (int)vr);
    }
    oa__vk_block b;
    r = OA_VK_SUCCESS;
    if (eb.size < size || (p->mapped && eb.mapped == NULL)) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "pool '%s': block_callbacks.create gave %llu bytes for %llu%s", p->name,
                        (unsigned long long)eb.size, (unsigned long long)size,
                        p->mapped && eb.mapped == NULL ? ", and no mapping for a mapped pool" : "");
    } else {
        r = oa__vk_external_block_init(m, p, &eb, "block_callbacks.create", &b);
    }
    if (r != OA_VK_SUCCESS) {
        if (eb.buffer != VK_NULL_HANDLE || eb.user != NULL) {
            p->block_callbacks.destroy(p->block_callbacks.user, &eb);
        }
        return r;
    }
    b.size = dedicated ? size : eb.size < p->block_size ? eb.size : p->block_size;
    b.is_dedicated = dedicated;
    if (dedicated) {
        /* A dedicated block holds its one range at offset 0, no allocator. */
        oa_allocator_destroy(b.allocator);
        b.allocator = NULL;
    } else if (b.size != eb.size) {
        /* A larger buffer than asked: manage the block size, as own blocks. */
        oa_allocator_destroy(b.allocator);
        b.allocator = NULL;
        const oa_allocator_info core_info = {.capacity = b.size, .callbacks = m->callbacks};
        const oa_result cr = oa_allocator_create(&core_info, &b.allocator);
        if (cr != OA_SUCCESS) {
            p->block_callbacks.destroy(p->block_callbacks.user, &eb);
            return oa__vk_fail(m, oa__vk_from_core(cr), "pool '%s': block allocator: %s", p->name,
                               oa_result_name(cr));
        }
    }
    r = oa__vk_block_record_begin(m, p, slot, &b);
    if (r != OA_VK_SUCCESS) {
        oa__vk_external_release(p, &b);
        return r;
    }
    oa__vk_external_place(m, p, slot, &b);
    *out_slot = slot;
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_pool_add_buffer(oa_vk_manager* m, oa_vk_pool pool,
                                   const oa_vk_external_buffer* buffer, uint32_t* out_block_index) {
    if (out_block_index != NULL) {
        *out_block_index = UINT32_MAX;
    }
    if (m == NULL || buffer == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_add_buffer");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
        goto done;
    }
    if (!p->is_external) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_add_buffer: pool '%s' was not created with "
                        "OA_VK_POOL_EXTERNAL",
                        p->name);
        goto done;
    }
    uint32_t slot = 0;
    r = oa__vk_external_slot(m, p, &slot);
    if (r != OA_VK_SUCCESS) {
        goto done;
    }
    oa__vk_block b;
    r = oa__vk_external_block_init(m, p, buffer, "oa_vk_pool_add_buffer", &b);
    if (r != OA_VK_SUCCESS) {
        goto done;
    }
    b.is_caller_owned = true;
    r = oa__vk_block_record_begin(m, p, slot, &b);
    if (r != OA_VK_SUCCESS) {
        oa__vk_external_release(p, &b);
        goto done;
    }
    oa__vk_external_place(m, p, slot, &b);
    if (out_block_index != NULL) {
        uint32_t index = 0;
        for (uint32_t i = 0; i < slot; i++) {
            index += p->blocks[i].in_use;
        }
        *out_block_index = index;
    }
done:
    oa__vk_unlock(m);
    return r;
}

VkMappedMemoryRange oa__vk_block_mapped_range(const oa_vk_manager* m, const oa__vk_block* b,
                                              VkDeviceSize offset, VkDeviceSize size) {
    const VkDeviceSize atom = m->properties.limits.nonCoherentAtomSize;
    const VkDeviceSize first = b->memory_offset + offset;
    const VkDeviceSize begin = oa__vk_align_down(first, atom);
    VkDeviceSize end = oa__vk_align_up(first + size, atom);
    VkMappedMemoryRange range = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                                 .memory = b->memory,
                                 .offset = begin,
                                 .size = 0};
    if (!b->is_external) {
        if (end > b->memory_size) {
            end = b->memory_size;
        }
        range.size = end - begin;
    } else if (end > b->memory_offset + b->external.size) {
        /* Past the caller's buffer, where the memory's size is unknown: to the
         * end of the memory, which the spec allows from an aligned offset. */
        range.size = VK_WHOLE_SIZE;
    } else {
        range.size = end - begin;
    }
    return range;
}
