/* grow.c - growing a block without moving a range: a bigger buffer and memory
 * for the block, its used bytes copied at the same offsets (a GPU copy
 * recorded into the caller's command buffer, or a memcpy between mappings on
 * request), its allocator extended with oa_grow_capacity, and the old buffer
 * and memory kept in a retired list until the caller's value completes
 * (oa_vk_collect). Does not decide when to grow; the caller does.
 * Invariant: every step that can fail comes before the block is touched, so a
 * failed grow leaves the block, its ranges and every count as they were. */
#include "oa_vk_internal.h"

/* The stages and accesses that may use the block's bytes after the copy: what
 * a vertex, index, indirect, uniform, storage or transfer buffer is read or
 * written by. */
#define OA__VK_GROW_DST_STAGES                                                                     \
    (VK_PIPELINE_STAGE_2_DRAW_INDIRECT_BIT | VK_PIPELINE_STAGE_2_VERTEX_INPUT_BIT |                \
     VK_PIPELINE_STAGE_2_VERTEX_SHADER_BIT | VK_PIPELINE_STAGE_2_FRAGMENT_SHADER_BIT |             \
     VK_PIPELINE_STAGE_2_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_2_ALL_TRANSFER_BIT)
#define OA__VK_GROW_DST_ACCESS                                                                     \
    (VK_ACCESS_2_INDIRECT_COMMAND_READ_BIT | VK_ACCESS_2_INDEX_READ_BIT |                          \
     VK_ACCESS_2_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_2_UNIFORM_READ_BIT |                        \
     VK_ACCESS_2_SHADER_READ_BIT | VK_ACCESS_2_SHADER_WRITE_BIT | VK_ACCESS_2_TRANSFER_READ_BIT |  \
     VK_ACCESS_2_TRANSFER_WRITE_BIT)

/* Free gaps below this many bytes between two runs of ranges are copied
 * with them: on lavapipe one more VkBufferCopy region costs about what 8 KiB
 * of copying does (bench_vk_grow: 1,812 regions of a full 64 MiB block split
 * by alignment pads took 79 ms, one region 63 ms), and the pads an alignment
 * leaves between ranges are far smaller than that. */
#define OA__VK_GROW_BRIDGE_SIZE 4096u

/* The copy regions of a block: one per run of allocations (live and pending
 * ranges) with gaps below OA__VK_GROW_BRIDGE_SIZE between them, or one over
 * the used span. */
typedef struct oa__vk_grow_regions {
    VkBufferCopy* regions;
    uint32_t count, capacity;
    bool used_span;
} oa__vk_grow_regions;

static bool oa__vk_grow_region(void* user, const oa_region_info* region) {
    oa__vk_grow_regions* g = (oa__vk_grow_regions*)user;
    if (g->count > 0) {
        VkBufferCopy* last = &g->regions[g->count - 1];
        if (g->used_span ||
            region->offset - (last->srcOffset + last->size) < OA__VK_GROW_BRIDGE_SIZE) {
            last->size = region->offset + region->size - last->srcOffset;
            return true;
        }
    }
    OA_ASSERT(g->count < g->capacity && "a block has no more runs than allocations");
    g->regions[g->count].srcOffset = region->offset;
    g->regions[g->count].dstOffset = region->offset;
    g->regions[g->count].size = region->size;
    g->count++;
    return true;
}

/* The slot of the pool's block number `index` (blocks in use, in slot order,
 * as oa_vk_block_get_stats counts them), or OA__VK_NO_SLOT. */
static uint32_t oa__vk_grow_block_slot(const oa__vk_pool* p, uint32_t index) {
    uint32_t seen = 0;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        if (p->blocks[i].in_use && seen++ == index) {
            return i;
        }
    }
    return OA__VK_NO_SLOT;
}

/* Why the block cannot grow, or NULL when it can. */
static const char* oa__vk_grow_refusal(const oa_vk_manager* m, const oa__vk_pool* p,
                                       const oa__vk_block* b, const oa_vk_grow_info* info) {
    if (p->is_ring) {
        return "a ring pool's blocks are rings carved in FIFO order, not grown";
    }
    if (p->is_external || b->is_external) {
        return "the block's buffer is the caller's (OA_VK_POOL_EXTERNAL or block callbacks)";
    }
    if (b->is_dedicated) {
        return "a dedicated block holds exactly one range";
    }
    if (oa__vk_compact_is_planned(p)) {
        /* The planned moves name the blocks' buffers: record or abort the
         * pass first. */
        return "a compaction pass is planned on the pool (record or abort it first)";
    }
    if ((info->flags & OA_VK_GROW_HOST_COPY) != 0) {
        if (oa__vk_compact_is_recorded(p)) {
            /* Its copies may still write the old buffer after the memcpy. */
            return "a recorded compaction pass has not ended: its GPU copies may land after "
                   "a host copy (grow with the GPU copy, or after the pass's oa_vk_collect)";
        }
        return NULL; /* mapping checked by the caller: its own error code */
    }
    if (info->command_buffer == VK_NULL_HANDLE) {
        return "a GPU copy needs a command buffer (or OA_VK_GROW_HOST_COPY on a mapped pool)";
    }
    const VkBufferUsageFlags copy =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if ((p->usage & copy) != copy) {
        return "a GPU copy needs TRANSFER_SRC and TRANSFER_DST in the pool's usage";
    }
    (void)m;
    return NULL;
}

/* memcpy the regions from the old mapping into the new one, with the
 * invalidate and flush that non-coherent memory needs. Touches only `fresh`. */
static oa_vk_result oa__vk_grow_host_copy(oa_vk_manager* m, const oa__vk_pool* p,
                                          const oa__vk_block* b, const oa__vk_block* fresh,
                                          const oa__vk_grow_regions* g) {
    if (b->non_coherent) {
        const VkMappedMemoryRange all = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                                         .memory = b->memory,
                                         .size = b->memory_size};
        const VkResult vr = m->vk.vkInvalidateMappedMemoryRanges(m->device, 1, &all);
        if (vr != VK_SUCCESS) {
            return oa__vk_fail(m, oa__vk_from_vk(m, vr),
                               "oa_vk_pool_grow '%s': vkInvalidateMappedMemoryRanges failed: %d",
                               p->name, (int)vr);
        }
    }
    for (uint32_t i = 0; i < g->count; i++) {
        memcpy(fresh->mapped + g->regions[i].dstOffset, b->mapped + g->regions[i].srcOffset,
               (size_t)g->regions[i].size);
    }
    if (b->non_coherent) {
        const VkMappedMemoryRange all = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                                         .memory = fresh->memory,
                                         .size = fresh->memory_size};
        const VkResult vr = m->vk.vkFlushMappedMemoryRanges(m->device, 1, &all);
        if (vr != VK_SUCCESS) {
            return oa__vk_fail(m, oa__vk_from_vk(m, vr),
                               "oa_vk_pool_grow '%s': vkFlushMappedMemoryRanges failed: %d",
                               p->name, (int)vr);
        }
    }
    return OA_VK_SUCCESS;
}

/* Barrier, copy, barrier into the caller's command buffer. Cannot fail. */
static void oa__vk_grow_record(const oa_vk_manager* m, const oa_vk_grow_info* info, VkBuffer src,
                               VkBuffer dst, const oa__vk_grow_regions* g) {
    /* Earlier writes of the old buffer (uploads, shader writes) are done and
     * visible before the copy reads it; the new buffer has no earlier use. */
    oa__vk_cmd_barrier(m, info->command_buffer, VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
                       VK_ACCESS_2_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_2_COPY_BIT,
                       VK_ACCESS_2_TRANSFER_READ_BIT);
    m->vk.vkCmdCopyBuffer(info->command_buffer, src, dst, g->count, g->regions);
    VkPipelineStageFlags2 stages = info->dst_stage_mask;
    VkAccessFlags2 access = info->dst_access_mask;
    if (stages == 0) {
        stages = OA__VK_GROW_DST_STAGES;
        access = access != 0 ? access : OA__VK_GROW_DST_ACCESS;
    } else if (access == 0) {
        access = VK_ACCESS_2_MEMORY_READ_BIT | VK_ACCESS_2_MEMORY_WRITE_BIT;
    }
    oa__vk_cmd_barrier(m, info->command_buffer, VK_PIPELINE_STAGE_2_COPY_BIT,
                       VK_ACCESS_2_TRANSFER_WRITE_BIT, stages, access);
}

static oa_vk_result oa__vk_grow_locked(oa_vk_manager* m, oa_vk_pool pool, uint32_t block_index,
                                       const oa_vk_grow_info* info, oa_vk_grow_result* out) {
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_grow");
    if (p == NULL) {
        return OA_VK_ERROR_STALE_HANDLE;
    }
    const uint32_t known = OA_VK_GROW_HOST_COPY | OA_VK_GROW_COPY_USED_SPAN;
    if ((info->flags & ~known) != 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_grow '%s': flags 0x%x are unknown", p->name, info->flags);
    }
    const uint32_t slot = oa__vk_grow_block_slot(p, block_index);
    if (slot == OA__VK_NO_SLOT) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_grow '%s': block index %u, but the pool has %u blocks",
                           p->name, block_index, p->ordinary_count + p->dedicated_count);
    }
    oa__vk_block* b = &p->blocks[slot];
    const char* why = oa__vk_grow_refusal(m, p, b, info);
    if (why != NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT, "oa_vk_pool_grow '%s': %s", p->name,
                           why);
    }
    const bool host_copy = (info->flags & OA_VK_GROW_HOST_COPY) != 0;
    if (host_copy && b->mapped == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_NOT_MAPPED,
                           "oa_vk_pool_grow '%s': OA_VK_GROW_HOST_COPY needs a mapped pool",
                           p->name);
    }
    if (!host_copy && !oa__vk_has_barrier(m)) {
        return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                           "oa_vk_pool_grow '%s': the GPU copy needs vkCmdPipelineBarrier2 or "
                           "vkCmdPipelineBarrier",
                           p->name);
    }
    if (info->new_size <= b->size) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_grow '%s': new_size %llu is not above the block's %llu",
                           p->name, (unsigned long long)info->new_size,
                           (unsigned long long)b->size);
    }
    const VkDeviceSize limit =
        m->max_buffer_size < m->max_allocation_size ? m->max_buffer_size : m->max_allocation_size;
    if (info->new_size > limit || info->new_size > UINT64_MAX - p->alignment ||
        oa__vk_align_up(info->new_size, p->alignment) > limit) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "oa_vk_pool_grow '%s': new_size %llu (rounded to the alignment %llu) "
                           "passes maxBufferSize %llu or maxMemoryAllocationSize %llu",
                           p->name, (unsigned long long)info->new_size,
                           (unsigned long long)p->alignment, (unsigned long long)m->max_buffer_size,
                           (unsigned long long)m->max_allocation_size);
    }
    const VkDeviceSize new_size = oa__vk_align_up(info->new_size, p->alignment);

    /* Host memory first: the retired entry and the copy regions. */
    oa_vk_result r = oa__vk_grow(&m->callbacks, (void**)&m->retired, &m->retired_capacity,
                                 sizeof *m->retired, m->retired_count + 1);
    if (r != OA_VK_SUCCESS) {
        return oa__vk_fail(m, r, "oa_vk_pool_grow '%s': no host memory for the retired list",
                           p->name);
    }
    oa_stats st;
    if (oa_get_stats(b->allocator, &st) != OA_SUCCESS || st.allocation_count >= UINT32_MAX) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_pool_grow '%s': the block's allocator is unreadable", p->name);
    }
    oa__vk_grow_regions g = {.capacity =
                                 st.allocation_count > 0 ? (uint32_t)st.allocation_count : 1,
                             .used_span = (info->flags & OA_VK_GROW_COPY_USED_SPAN) != 0};
    const size_t regions_bytes = (size_t)g.capacity * sizeof *g.regions;
    g.regions = (VkBufferCopy*)oa__vk_host_alloc(&m->callbacks, regions_bytes);
    if (g.regions == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                           "oa_vk_pool_grow '%s': no host memory for %u copy regions", p->name,
                           g.capacity);
    }
    (void)oa_walk(b->allocator, OA_WALK_ALLOCATIONS, oa__vk_grow_region, &g);

    /* Then the device: the new storage, within the pool's memory types, the
     * allocation count and the heap budget (the old block still counts). */
    oa__vk_refresh_budget(m);
    oa__vk_block fresh;
    r = oa__vk_block_storage_create(m, p, new_size, false, &fresh);
    if (r == OA_VK_SUCCESS && host_copy) {
        r = oa__vk_grow_host_copy(m, p, b, &fresh, &g);
    }
    if (r == OA_VK_SUCCESS) {
        /* The last step that can fail; on failure the allocator is unchanged. */
        const oa_result cr = oa_grow_capacity(b->allocator, new_size - b->size);
        if (cr != OA_SUCCESS) {
            r = oa__vk_fail(m, oa__vk_from_core(cr),
                            "oa_vk_pool_grow '%s': growing the block's allocator failed: %s",
                            p->name, oa_result_name(cr));
        }
    }
    if (r != OA_VK_SUCCESS) {
        oa__vk_block_release(m, &fresh);
        oa__vk_host_free(&m->callbacks, g.regions, regions_bytes);
        return r;
    }
    VkDeviceSize copied = 0;
    for (uint32_t i = 0; i < g.count; i++) {
        copied += g.regions[i].size;
    }
    if (!host_copy && g.count > 0) {
        oa__vk_grow_record(m, info, b->buffer, fresh.buffer, &g);
    }
    oa__vk_host_free(&m->callbacks, g.regions, regions_bytes);

    /* Switch: every range of the block now reports the new buffer, mapping
     * and address at its unchanged offset. */
    oa__vk_retired* old = &m->retired[m->retired_count++];
    memset(old, 0, sizeof *old);
    old->value = info->signal_value;
    old->storage.buffer = b->buffer;
    old->storage.memory = b->memory;
    old->storage.memory_size = b->memory_size;
    old->storage.mapped = b->mapped;
    old->storage.memory_type_index = b->memory_type_index;
    old->storage.heap_index = b->heap_index;
    old->storage.size = b->size;
    if (out != NULL) {
        out->buffer = fresh.buffer;
        out->old_buffer = b->buffer;
        out->old_valid_until = info->signal_value;
        out->old_size = b->size;
        out->new_size = new_size;
        out->copied_size = copied;
        out->region_count = g.count;
    }
    b->buffer = fresh.buffer;
    b->memory = fresh.memory;
    b->memory_size = fresh.memory_size;
    b->mapped = fresh.mapped;
    b->address = fresh.address;
    b->memory_type_index = fresh.memory_type_index;
    b->heap_index = fresh.heap_index;
    b->size = new_size;
    oa__vk_block_set_names(m, p, b, slot);
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_pool_grow(oa_vk_manager* m, oa_vk_pool pool, uint32_t block_index,
                             const oa_vk_grow_info* info, oa_vk_grow_result* out_result) {
    if (out_result != NULL) {
        memset(out_result, 0, sizeof *out_result);
    }
    if (m == NULL || info == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    const oa_vk_result r = oa__vk_grow_locked(m, pool, block_index, info, out_result);
    oa__vk_unlock(m);
    return r;
}

void oa__vk_grow_collect(oa_vk_manager* m, uint64_t completed_value) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->retired_count; i++) {
        if (m->retired[i].value <= completed_value) {
            oa__vk_block_release(m, &m->retired[i].storage);
        } else {
            m->retired[kept++] = m->retired[i];
        }
    }
    m->retired_count = kept;
}

void oa__vk_grow_release_all(oa_vk_manager* m) {
    for (uint32_t i = 0; i < m->retired_count; i++) {
        oa__vk_block_release(m, &m->retired[i].storage);
    }
    oa__vk_host_free(&m->callbacks, m->retired, (size_t)m->retired_capacity * sizeof *m->retired);
    m->retired = NULL;
    m->retired_count = m->retired_capacity = 0;
}
