/* pool.c - pools, ranges and deferred frees: the manager's public alloc/free
 * path. Picks a block for each range (existing blocks in slot order, then a
 * new block, or a dedicated block above the block size), tracks ranges by
 * generation-counted slots, and releases empty blocks with hysteresis.
 * Does not talk to Vulkan except through block.c and for flush/invalidate.
 * Invariant: a range slot is FREE, LIVE or PENDING; LIVE and PENDING ranges
 * hold exactly one core allocation (or one dedicated block); a FREE slot (and
 * an unused pool slot) is on its free list unless it is retired. */
#include "oa_vk_internal.h"

#include <string.h>

#include <stdio.h>

/* ---- pools ---------------------------------------------------------------- */

/* A name copied into a fixed buffer may end inside a UTF-8 sequence: drop
 * that sequence, so the name stays valid UTF-8 (and the JSON dump valid). */
static void oa__vk_trim_utf8(char* s) {
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0u) == 0x80u) {
        i--; /* continuation bytes */
    }
    if (i == 0) {
        return;
    }
    const unsigned char lead = (unsigned char)s[i - 1];
    const size_t need = lead >= 0xF0u ? 4u : lead >= 0xE0u ? 3u : lead >= 0xC0u ? 2u : 1u;
    if (n - (i - 1) < need) {
        s[i - 1] = '\0';
    }
}

oa_vk_result oa_vk_pool_create(oa_vk_manager* m, const oa_vk_pool_info* info,
                               oa_vk_pool* out_pool) {
    if (out_pool != NULL) {
        out_pool->id = 0;
    }
    if (m == NULL || info == NULL || out_pool == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const uint32_t known = OA_VK_POOL_MAPPED | OA_VK_POOL_DEVICE_ADDRESS | OA_VK_POOL_NO_DEDICATED |
                           OA_VK_POOL_CORRUPTION_CHECK | OA_VK_POOL_ALLOW_REBAR |
                           OA_VK_POOL_EXTERNAL | OA_VK_POOL_RING;
    VkBuffer probe = VK_NULL_HANDLE;
    const bool mapped =
        (info->flags & OA_VK_POOL_MAPPED) != 0 || oa__vk_intent_is_mapped(info->intent);
    if (info->usage == 0 || (info->flags & ~known) != 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: usage is 0 or flags 0x%x are unknown", info->flags);
        goto done;
    }
    if ((uint32_t)info->intent > (uint32_t)OA_VK_INTENT_FLAGS_ONLY ||
        (info->intent == OA_VK_INTENT_DEVICE && (info->flags & OA_VK_POOL_MAPPED) != 0)) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: intent %u is unknown, or OA_VK_POOL_MAPPED is set on a "
                        "device-only pool (give it a host intent: UPLOAD, READBACK, DYNAMIC, "
                        "STAGING)",
                        (unsigned)info->intent);
        goto done;
    }
    if ((info->index_size != 0 && info->index_size != 1 && info->index_size != 2 &&
         info->index_size != 4) ||
        (info->index_size != 0 && (info->usage & VK_BUFFER_USAGE_INDEX_BUFFER_BIT) == 0)) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: index_size %u is not 1, 2 or 4, or the usage has no "
                        "INDEX_BUFFER bit",
                        info->index_size);
        goto done;
    }
    if ((info->flags & OA_VK_POOL_RING) != 0 &&
        (info->flags & (OA_VK_POOL_EXTERNAL | OA_VK_POOL_CORRUPTION_CHECK)) != 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: OA_VK_POOL_RING takes neither OA_VK_POOL_EXTERNAL "
                        "nor OA_VK_POOL_CORRUPTION_CHECK");
        goto done;
    }
    if ((info->flags & OA_VK_POOL_CORRUPTION_CHECK) != 0 && !mapped) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: OA_VK_POOL_CORRUPTION_CHECK needs a mapped pool");
        goto done;
    }
    if ((info->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0 &&
        (m->flags & OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS) == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                        "oa_vk_pool_create: OA_VK_POOL_DEVICE_ADDRESS needs the manager flag "
                        "OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS");
        goto done;
    }
    if (info->record != NULL && (info->flags & OA_VK_POOL_RING) != 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_pool_create: a ring pool has no allocator to record");
        goto done;
    }
    oa__vk_pool pool = {.flags = info->flags,
                        .usage = info->usage,
                        .required_flags = info->required_flags,
                        .preferred_flags = info->preferred_flags,
                        .max_block_count = info->max_block_count,
                        .intent = info->intent,
                        .mapped = mapped,
                        .is_ring = (info->flags & OA_VK_POOL_RING) != 0,
                        .record = info->record,
                        .record_user = info->record_user};
    if ((info->flags & OA_VK_POOL_DEVICE_ADDRESS) != 0) {
        pool.usage |= VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT;
    }
    if (pool.mapped) {
        pool.required_flags |= VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    }
    snprintf(pool.name, sizeof pool.name, "%s", info->name != NULL ? info->name : "orderly");
    oa__vk_trim_utf8(pool.name);
    if (oa__vk_pool_info_is_external(info)) {
        /* The caller's memory: nothing to probe (external.c). */
        r = oa__vk_external_pool_setup(m, info, &pool);
        if (r != OA_VK_SUCCESS) {
            goto done;
        }
        goto take_slot;
    }

    /* Buffers of one usage share memoryTypeBits and alignment, so a small
     * probe buffer tells what every block of the pool will need. */
    const VkBufferCreateInfo probe_info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                           .size = 256,
                                           .usage = pool.usage,
                                           .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult vr = m->vk.vkCreateBuffer(m->device, &probe_info, m->vk_callbacks, &probe);
    if (vr != VK_SUCCESS) {
        probe = VK_NULL_HANDLE;
        r = oa__vk_fail(m, oa__vk_from_vk(m, vr),
                        "oa_vk_pool_create: probe vkCreateBuffer failed: %d", (int)vr);
        goto done;
    }
    VkMemoryRequirements req;
    m->vk.vkGetBufferMemoryRequirements(m->device, probe, &req);
    pool.type_bits = req.memoryTypeBits;
    uint32_t order[VK_MAX_MEMORY_TYPES];
    const char* why = NULL;
    r = oa__vk_memory_order(&m->memory_properties, req.memoryTypeBits, info, order,
                            &pool.type_order_count, &why);
    if (r != OA_VK_SUCCESS) {
        r = oa__vk_fail(m, r,
                        "oa_vk_pool_create '%s' (intent %s, memoryTypeBits 0x%x, required flags "
                        "0x%x): %s",
                        pool.name, oa_vk_memory_intent_name(info->intent), req.memoryTypeBits,
                        pool.required_flags, why);
        goto done;
    }
    for (uint32_t k = 0; k < pool.type_order_count; k++) {
        pool.type_order[k] = (uint8_t)order[k];
    }
    pool.memory_type_index = order[0];
    const VkMemoryType* type = &m->memory_properties.memoryTypes[pool.memory_type_index];
    pool.non_coherent = (type->propertyFlags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0 &&
                        ((m->flags & OA_VK_MANAGER_ASSUME_NON_COHERENT) != 0 ||
                         (type->propertyFlags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0);
    /* req.alignment governs where each block's buffer is bound (offset 0 of
     * its own memory), not where ranges sit inside the buffer. */
    pool.alignment = oa_vk_range_alignment(&m->properties.limits, pool.usage, info->index_size,
                                           pool.non_coherent, 1);
    if (pool.alignment == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_VULKAN,
                        "oa_vk_pool_create '%s': the device's alignments pass 2^32", pool.name);
        goto done;
    }
    VkDeviceSize block_size = info->block_size;
    if (block_size == 0) {
        const VkDeviceSize heap = m->memory_properties.memoryHeaps[type->heapIndex].size;
        block_size = OA__VK_DEFAULT_BLOCK_SIZE;
        if (heap / 8 < block_size && heap / 8 > 0) {
            block_size = heap / 8;
        }
    }
    if (block_size > m->max_buffer_size) {
        block_size = m->max_buffer_size;
    }
    /* The block's memory is its buffer's size rounded up to the memory
     * alignment: that must fit maxMemoryAllocationSize too. */
    const VkDeviceSize max_block = req.alignment > 1
                                       ? oa__vk_align_down(m->max_allocation_size, req.alignment)
                                       : m->max_allocation_size;
    if (block_size > max_block) {
        block_size = max_block;
    }
    if (block_size == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                        "oa_vk_pool_create '%s': maxMemoryAllocationSize %llu holds no block at "
                        "memory alignment %llu",
                        pool.name, (unsigned long long)m->max_allocation_size,
                        (unsigned long long)req.alignment);
        goto done;
    }
    /* A block that passes its heap's budget could never be allocated: clamp
     * a given size as the default (whose 1/8 of the heap is below it). */
    const VkDeviceSize budget = m->heap_budget[type->heapIndex];
    if (block_size > budget && budget > 0) {
        block_size = budget;
    }
    pool.block_size = block_size;

take_slot:;
    uint32_t slot = m->pool_free;
    if (slot == OA__VK_NO_SLOT) {
        slot = m->pool_slots;
        r = oa__vk_grow(&m->callbacks, (void**)&m->pools, &m->pool_capacity, sizeof *m->pools,
                        slot + 1);
        if (r != OA_VK_SUCCESS) {
            r = oa__vk_fail(m, r, "oa_vk_pool_create: no host memory for the pool record");
            goto done;
        }
        m->pool_slots++;
        pool.generation = m->generation_seed;
        pool.first_generation = m->generation_seed;
    } else {
        m->pool_free = m->pools[slot].next_free;
        pool.generation = m->pools[slot].generation;
        pool.first_generation = m->pools[slot].first_generation;
    }
    pool.in_use = true;
    m->pools[slot] = pool;
    *out_pool = oa__vk_pool_handle(m, &m->pools[slot]);
done:
    if (probe != VK_NULL_HANDLE) {
        m->vk.vkDestroyBuffer(m->device, probe, m->vk_callbacks);
    }
    oa__vk_unlock(m);
    return r;
}

/* Return a LIVE or PENDING range to its block. */
static void oa__vk_range_release(oa_vk_manager* m, uint32_t slot) {
    oa__vk_range_entry* e = &m->ranges[slot];
    oa__vk_pool* p = &m->pools[e->pool_slot];
    oa__vk_block* b = &p->blocks[e->block_slot];
    if (e->state == OA__VK_RANGE_PENDING) {
        b->pending_size -= e->alloc_size;
        p->pending_count--;
    }
    if (b->is_dedicated) {
        oa__vk_block_destroy(m, p, e->block_slot);
    } else {
        const oa_result cr = oa_free(b->allocator, e->core);
        OA_ASSERT(cr == OA_SUCCESS && "a live range's core allocation must be freeable");
        (void)cr;
        b->range_count--;
        if (b->range_count == 0) {
            b->empty_since = m->collect_epoch;
        }
    }
    p->range_count--;
    e->state = OA__VK_RANGE_FREE;
    const uint32_t generation = oa__vk_next_generation(e->generation);
    if (generation == e->first_generation) {
        /* Every generation of the slot has been handed out: reusing it would
         * make its oldest handle valid again. It stays FREE, off the free
         * list, for good (one record per 2^32 - 1 reuses). */
        e->is_retired = true;
        e->pool_slot = OA__VK_NO_SLOT;
        return;
    }
    e->generation = generation;
    e->pool_slot = m->range_free;
    m->range_free = slot;
}

/* The first ordinary block in slot order stays; it absorbs the next alloc. */
void oa__vk_pool_release_blocks(oa_vk_manager* m, oa__vk_pool* p, bool all_empty) {
    bool seen_first = false;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        oa__vk_block* b = &p->blocks[i];
        if (!b->in_use || b->is_dedicated) {
            continue;
        }
        if (!seen_first) {
            seen_first = true;
            continue;
        }
        if (oa__vk_block_is_idle(b) && !b->is_caller_owned &&
            (all_empty || m->collect_epoch - b->empty_since >= m->release_delay)) {
            oa__vk_block_destroy(m, p, i);
        }
    }
}

oa_vk_result oa_vk_pool_destroy(oa_vk_manager* m, oa_vk_pool pool, oa_vk_pool_destroy_flags flags) {
    if (m == NULL || (flags & ~(uint32_t)OA_VK_POOL_DESTROY_FREE_LIVE) != 0) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    if (pool.id == 0) {
        return OA_VK_SUCCESS;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_destroy");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
        goto done;
    }
    if (p->range_count > 0 && (flags & OA_VK_POOL_DESTROY_FREE_LIVE) == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_LIVE_RANGES,
                        "oa_vk_pool_destroy '%s': %llu ranges still live (%llu of them pending)",
                        p->name, (unsigned long long)p->range_count,
                        (unsigned long long)p->pending_count);
        goto done;
    }
    oa__vk_compact_drop(m, p);
    const uint32_t pool_slot = (uint32_t)(p - m->pools);
    if (p->range_count > 0) {
        for (uint32_t i = 0; i < m->range_slots; i++) {
            if (m->ranges[i].state != OA__VK_RANGE_FREE && m->ranges[i].pool_slot == pool_slot) {
                oa__vk_range_release(m, i);
            }
        }
        /* Drop queue entries whose range just went away. */
        uint32_t kept = 0;
        for (uint32_t i = 0; i < m->deferred_count; i++) {
            if (m->ranges[m->deferred[i].range_slot].state == OA__VK_RANGE_PENDING) {
                m->deferred[kept++] = m->deferred[i];
            }
        }
        m->deferred_count = kept;
    }
    for (uint32_t b = 0; b < p->block_slots; b++) {
        if (p->blocks[b].in_use) {
            oa__vk_block_destroy(m, p, b);
        }
    }
    oa__vk_host_free(&m->callbacks, p->blocks, (size_t)p->block_capacity * sizeof *p->blocks);
    const uint32_t generation = p->generation, first_generation = p->first_generation;
    memset(p, 0, sizeof *p);
    p->first_generation = first_generation;
    p->generation = generation;
    p->next_free = OA__VK_NO_SLOT;
    if (oa__vk_next_generation(generation) == first_generation) {
        p->is_retired = true; /* spent, as a range slot can be (oa__vk_range_release) */
    } else {
        p->generation = oa__vk_next_generation(generation);
        p->next_free = m->pool_free;
        m->pool_free = pool_slot;
    }
done:
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_pool_trim(oa_vk_manager* m, oa_vk_pool pool, uint64_t* out_released_count) {
    if (out_released_count != NULL) {
        *out_released_count = 0;
    }
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_trim");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
    } else {
        const uint32_t before = p->ordinary_count;
        oa__vk_pool_release_blocks(m, p, true);
        if (out_released_count != NULL) {
            *out_released_count = before - p->ordinary_count;
        }
    }
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa__vk_debug_set_generation(oa_vk_manager* m, bool is_pool, uint32_t slot,
                                         uint32_t generation) {
    if (m == NULL || generation == 0) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_ERROR_INVALID_ARGUMENT;
    if (is_pool && slot < m->pool_slots && !m->pools[slot].in_use && !m->pools[slot].is_retired) {
        m->pools[slot].generation = generation;
        r = OA_VK_SUCCESS;
    } else if (!is_pool && slot < m->range_slots && m->ranges[slot].state == OA__VK_RANGE_FREE &&
               !m->ranges[slot].is_retired) {
        m->ranges[slot].generation = generation;
        r = OA_VK_SUCCESS;
    }
    oa__vk_unlock(m);
    return r;
}

/* ---- ranges --------------------------------------------------------------- */

/* Release every empty ordinary block, of any pool, in a heap that pool `p`
 * may allocate from: blocks held for hysteresis (and each pool's first,
 * kept for the next alloc) must not make an allocation fail. Returns how
 * many went. */
static uint32_t oa__vk_release_empty_for(oa_vk_manager* m, const oa__vk_pool* p) {
    uint32_t heaps = 0;
    for (uint32_t k = 0; k < p->type_order_count; k++) {
        heaps |= 1u << m->memory_properties.memoryTypes[p->type_order[k]].heapIndex;
    }
    uint32_t released = 0;
    for (uint32_t i = 0; i < m->pool_slots; i++) {
        oa__vk_pool* q = &m->pools[i];
        for (uint32_t b = 0; q->in_use && b < q->block_slots; b++) {
            const oa__vk_block* k = &q->blocks[b];
            if (k->in_use && !k->is_dedicated && oa__vk_block_is_idle(k) &&
                (heaps >> k->heap_index & 1u) != 0) {
                oa__vk_block_destroy(m, q, b);
                released++;
            }
        }
    }
    return released;
}

/* Whether some heap the pool may use has room in its budgets for `size`. */
static bool oa__vk_pool_has_room(const oa_vk_manager* m, const oa__vk_pool* p, VkDeviceSize size) {
    for (uint32_t k = 0; k < p->type_order_count; k++) {
        const uint32_t type = p->type_order[k];
        if (oa__vk_heap_has_room(m, m->memory_properties.memoryTypes[type].heapIndex, size)) {
            return true;
        }
    }
    return false;
}

/* oa__vk_block_create; first, when no heap the pool may use has room in its
 * budgets for `size`, re-read the budget, and if that is not enough release
 * empty blocks. A driver's refusal releases nothing. */
static oa_vk_result oa__vk_block_create_in_budget(oa_vk_manager* m, oa__vk_pool* p,
                                                  VkDeviceSize size, bool dedicated,
                                                  uint32_t* out_slot) {
    if (!oa__vk_pool_has_room(m, p, size)) {
        oa__vk_refresh_budget(m);
        if (!oa__vk_pool_has_room(m, p, size) && oa__vk_release_empty_for(m, p) > 0) {
            oa__vk_refresh_budget(m);
        }
    }
    return oa__vk_block_create(m, p, size, dedicated, out_slot);
}

static oa_vk_result oa__vk_alloc_locked(oa_vk_manager* m, oa_vk_pool pool, VkDeviceSize size,
                                        VkDeviceSize align, oa_vk_range_info* out) {
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_alloc");
    if (p == NULL) {
        return OA_VK_ERROR_STALE_HANDLE;
    }
    if (size == 0 || align == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_alloc '%s': size and align must be >= 1", p->name);
    }
    if (p->is_ring) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_alloc '%s': a ring pool takes oa_vk_ring_alloc", p->name);
    }
    VkDeviceSize alignment = p->last_alignment;
    if (align != p->last_align) {
        alignment = oa__vk_lcm(p->alignment, align);
        if (alignment != 0) {
            p->last_align = align;
            p->last_alignment = alignment;
        }
    }
    if (alignment == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_alloc '%s': lcm(%llu, align %llu) passes 2^32", p->name,
                           (unsigned long long)p->alignment, (unsigned long long)align);
    }
    if (size > m->max_buffer_size || size > m->max_allocation_size) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "oa_vk_alloc '%s': %llu bytes pass maxBufferSize %llu or "
                           "maxMemoryAllocationSize %llu",
                           p->name, (unsigned long long)size,
                           (unsigned long long)m->max_buffer_size,
                           (unsigned long long)m->max_allocation_size);
    }
    VkDeviceSize alloc_size = size;
    if ((p->flags & OA_VK_POOL_CORRUPTION_CHECK) != 0) {
        alloc_size += OA_VK_CORRUPTION_MARGIN; /* size <= maxBufferSize: no overflow */
    }
    /* What the block's allocator holds anyway (its granularity): whole atoms
     * on non-coherent memory, so flushing one range never reaches into the
     * next. */
    alloc_size = oa__vk_align_up(alloc_size, p->alignment);
    /* The margin and the rounding count: a dedicated block's buffer is
     * alloc_size bytes (block.c checks its memory size in turn). */
    if (alloc_size > m->max_buffer_size || alloc_size > m->max_allocation_size) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "oa_vk_alloc '%s': %llu bytes take %llu with the corruption margin and "
                           "the rounding to %llu, above maxBufferSize %llu or "
                           "maxMemoryAllocationSize %llu",
                           p->name, (unsigned long long)size, (unsigned long long)alloc_size,
                           (unsigned long long)p->alignment, (unsigned long long)m->max_buffer_size,
                           (unsigned long long)m->max_allocation_size);
    }
    const bool dedicated = alloc_size > p->block_size && !p->is_external;
    if (dedicated && (p->flags & OA_VK_POOL_NO_DEDICATED) != 0) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "oa_vk_alloc '%s': %llu bytes pass the block size %llu and the pool "
                           "has OA_VK_POOL_NO_DEDICATED",
                           p->name, (unsigned long long)size, (unsigned long long)p->block_size);
    }
    /* Reserve the range slot first so that no later step fails after the
     * memory is taken. */
    if (m->range_free == OA__VK_NO_SLOT) {
        oa_vk_result r = oa__vk_grow(&m->callbacks, (void**)&m->ranges, &m->range_capacity,
                                     sizeof *m->ranges, m->range_slots + 1);
        if (r != OA_VK_SUCCESS) {
            return oa__vk_fail(m, r, "oa_vk_alloc: no host memory for the range table");
        }
    }
    oa_allocation core = {0};
    uint64_t offset = 0;
    uint32_t block_slot = OA__VK_NO_SLOT;
    if (dedicated) {
        oa_vk_result r = oa__vk_block_create_in_budget(m, p, alloc_size, true, &block_slot);
        if (r != OA_VK_SUCCESS) {
            return r;
        }
    } else {
        for (uint32_t i = 0; i < p->block_slots && block_slot == OA__VK_NO_SLOT; i++) {
            oa__vk_block* b = &p->blocks[i];
            if (!b->in_use || b->is_dedicated) {
                continue;
            }
            const oa_result cr = oa_alloc(b->allocator, alloc_size, alignment, &core, &offset);
            if (cr == OA_SUCCESS) {
                block_slot = i;
            } else if (cr != OA_ERROR_OUT_OF_SPACE) {
                return oa__vk_fail(m, oa__vk_from_core(cr), "oa_vk_alloc '%s': core alloc: %s",
                                   p->name, oa_result_name(cr));
            }
        }
        if (block_slot == OA__VK_NO_SLOT) {
            if (p->is_external) {
                return oa__vk_fail(m, OA_VK_ERROR_OUT_OF_POOL_SPACE,
                                   "oa_vk_alloc '%s': %llu bytes fit in none of the caller's %u "
                                   "buffers (oa_vk_pool_add_buffer adds one)",
                                   p->name, (unsigned long long)size, p->ordinary_count);
            }
            if (p->max_block_count != 0 && p->ordinary_count >= p->max_block_count) {
                return oa__vk_fail(m, OA_VK_ERROR_OUT_OF_POOL_SPACE,
                                   "oa_vk_alloc '%s': %llu bytes fit in none of its %u blocks "
                                   "(max_block_count)",
                                   p->name, (unsigned long long)size, p->ordinary_count);
            }
            oa_vk_result r = oa__vk_block_create_in_budget(m, p, p->block_size, false, &block_slot);
            if (r != OA_VK_SUCCESS) {
                return r;
            }
            const oa_result cr =
                oa_alloc(p->blocks[block_slot].allocator, alloc_size, alignment, &core, &offset);
            if (cr != OA_SUCCESS) {
                oa__vk_block_destroy(m, p, block_slot);
                return oa__vk_fail(m, oa__vk_from_core(cr), "oa_vk_alloc '%s': core alloc: %s",
                                   p->name, oa_result_name(cr));
            }
        }
    }
    uint32_t slot = m->range_free;
    if (slot == OA__VK_NO_SLOT) {
        slot = m->range_slots++;
        /* Half the circle from the pools' generations (the seed is odd, so
         * this stays non-zero): a range id passed as a pool id is stale, not
         * a pool. An addition keeps the seeds' spacing between managers. */
        m->ranges[slot].generation = m->generation_seed + 0x80000000u;
        m->ranges[slot].first_generation = m->ranges[slot].generation;
    } else {
        m->range_free = m->ranges[slot].pool_slot;
    }
    oa__vk_range_entry* e = &m->ranges[slot];
    e->state = OA__VK_RANGE_LIVE;
    e->pool_slot = (uint32_t)(p - m->pools);
    e->block_slot = block_slot;
    e->core = core;
    e->offset = offset;
    e->size = size;
    e->alloc_size = alloc_size;
    e->tag = 0;
    e->move_bits = oa__vk_move_bits(align);
    if (!dedicated) {
        /* The core allocation carries the range's slot: a compaction move
         * finds its range in O(1) (compact.c). */
        const oa_result ur = oa_allocation_set_user(p->blocks[block_slot].allocator, core, slot);
        OA_ASSERT(ur == OA_SUCCESS && "a core allocation just made takes a user word");
        (void)ur;
    }
    p->blocks[block_slot].range_count++;
    p->range_count++;
    oa__vk_margin_fill(m, e);
    oa__vk_range_fill(m, e, slot, out);
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_alloc(oa_vk_manager* m, oa_vk_pool pool, VkDeviceSize size, VkDeviceSize align,
                         oa_vk_range_info* out_range) {
    if (out_range != NULL) {
        memset(out_range, 0, sizeof *out_range);
    }
    if (m == NULL || out_range == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    const oa_vk_result r = oa__vk_alloc_locked(m, pool, size, align, out_range);
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_free(oa_vk_manager* m, oa_vk_range range) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    if (range.id == 0) {
        return OA_VK_SUCCESS;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE,
                        "oa_vk_free: range 0x%llx is freed, pending, or not of this manager",
                        (unsigned long long)range.id);
    } else if (oa__vk_compact_holds(e)) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_free: range 0x%llx is moved by a compaction pass that has not "
                        "completed: free it with oa_vk_free_deferred",
                        (unsigned long long)range.id);
    } else {
        if (!oa__vk_margin_intact(m, e, "oa_vk_free")) {
            r = OA_VK_ERROR_CORRUPTION_DETECTED;
        }
        oa__vk_range_release(m, (uint32_t)range.id);
    }
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_free_deferred(oa_vk_manager* m, oa_vk_range range, uint64_t value) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    if (range.id == 0) {
        return OA_VK_SUCCESS;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE,
                        "oa_vk_free_deferred: range 0x%llx is freed, pending, or not of this "
                        "manager",
                        (unsigned long long)range.id);
        goto done;
    }
    r = oa__vk_grow(&m->callbacks, (void**)&m->deferred, &m->deferred_capacity, sizeof *m->deferred,
                    m->deferred_count + 1);
    if (r != OA_VK_SUCCESS) {
        r = oa__vk_fail(m, r, "oa_vk_free_deferred: no host memory for the queue");
        goto done;
    }
    m->deferred[m->deferred_count].range_slot = (uint32_t)range.id;
    m->deferred[m->deferred_count].value = value;
    m->deferred_count++;
    e->state = OA__VK_RANGE_PENDING;
    oa__vk_pool* p = &m->pools[e->pool_slot];
    p->blocks[e->block_slot].pending_size += e->alloc_size;
    p->pending_count++;
done:
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_collect(oa_vk_manager* m, uint64_t completed_value, uint64_t* out_freed_count) {
    if (out_freed_count != NULL) {
        *out_freed_count = 0;
    }
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    uint32_t kept = 0;
    uint64_t freed = 0;
    oa__vk_compact_collect(m, completed_value);
    for (uint32_t i = 0; i < m->deferred_count; i++) {
        /* A range a pass still moves keeps its old bytes until that pass ends. */
        if (m->deferred[i].value <= completed_value &&
            !oa__vk_compact_holds(&m->ranges[m->deferred[i].range_slot])) {
            if (!oa__vk_margin_intact(m, &m->ranges[m->deferred[i].range_slot], "oa_vk_collect")) {
                r = OA_VK_ERROR_CORRUPTION_DETECTED;
            }
            oa__vk_range_release(m, m->deferred[i].range_slot);
            freed++;
        } else {
            m->deferred[kept++] = m->deferred[i];
        }
    }
    m->deferred_count = kept;
    oa__vk_grow_collect(m, completed_value);
    m->collect_epoch++;
    /* Once a frame: the process's usage moves with other allocators too. */
    oa__vk_refresh_budget(m);
    for (uint32_t i = 0; i < m->pool_slots; i++) {
        if (m->pools[i].in_use && m->pools[i].is_ring) {
            freed += oa__vk_ring_collect(m, &m->pools[i], completed_value);
        }
        if (m->pools[i].in_use) {
            oa__vk_pool_release_blocks(m, &m->pools[i], false);
        }
    }
    if (out_freed_count != NULL) {
        *out_freed_count = freed;
    }
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_range_get_info(oa_vk_manager* m, oa_vk_range range,
                                  oa_vk_range_info* out_range) {
    if (out_range != NULL) {
        memset(out_range, 0, sizeof *out_range);
    }
    if (m == NULL || out_range == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "oa_vk_range_get_info: stale range 0x%llx",
                        (unsigned long long)range.id);
    } else {
        oa__vk_range_fill(m, e, (uint32_t)range.id, out_range);
    }
    oa__vk_unlock(m);
    return r;
}

static oa_vk_result oa__vk_sync(oa_vk_manager* m, oa_vk_range range, VkDeviceSize offset,
                                VkDeviceSize size, bool flush) {
    const char* what = flush ? "oa_vk_flush" : "oa_vk_invalidate";
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "%s: stale range 0x%llx", what,
                        (unsigned long long)range.id);
        goto done;
    }
    const oa__vk_pool* p = &m->pools[e->pool_slot];
    const oa__vk_block* b = &p->blocks[e->block_slot];
    if (b->mapped == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_NOT_MAPPED, "%s: pool '%s' is not mapped", what, p->name);
        goto done;
    }
    if (size == VK_WHOLE_SIZE && offset <= e->size) {
        size = e->size - offset;
    }
    if (offset > e->size || size > e->size - offset) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "%s: [%llu, +%llu) is outside the range's %llu bytes", what,
                        (unsigned long long)offset, (unsigned long long)size,
                        (unsigned long long)e->size);
        goto done;
    }
    if (!b->non_coherent || size == 0) {
        goto done;
    }
    const VkMappedMemoryRange mapped = oa__vk_block_mapped_range(m, b, e->offset + offset, size);
    const VkResult vr = flush ? m->vk.vkFlushMappedMemoryRanges(m->device, 1, &mapped)
                              : m->vk.vkInvalidateMappedMemoryRanges(m->device, 1, &mapped);
    if (vr != VK_SUCCESS) {
        r = oa__vk_fail(m, oa__vk_from_vk(m, vr), "%s: Vulkan returned %d", what, (int)vr);
    }
done:
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_flush(oa_vk_manager* m, oa_vk_range range, VkDeviceSize offset,
                         VkDeviceSize size) {
    return oa__vk_sync(m, range, offset, size, true);
}

oa_vk_result oa_vk_invalidate(oa_vk_manager* m, oa_vk_range range, VkDeviceSize offset,
                              VkDeviceSize size) {
    return oa__vk_sync(m, range, offset, size, false);
}

oa_vk_result oa_vk_range_set_tag(oa_vk_manager* m, oa_vk_range range, uint32_t tag) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "oa_vk_range_set_tag: stale range 0x%llx",
                        (unsigned long long)range.id);
    } else {
        e->tag = tag;
    }
    oa__vk_unlock(m);
    return r;
}
