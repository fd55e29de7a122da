/* ring.c - ring pools (OA_VK_POOL_RING) for per-frame transient data. Each
 * block of such a pool is a ring: ranges are carved at its head, linearly,
 * and the whole frame's ranges go back at once when the frame's timeline
 * value completes, oldest frame first. No core allocator, no range slots,
 * no index: an allocation is an align-up and a compare.
 *
 * Per block: head (next free byte) and tail (oldest live byte), each with a
 * lap counter; head's lap is tail's or one more (head wrapped to offset 0
 * behind the tail). Live bytes are [tail, head) on the same lap, or
 * [tail, wrap_end) and [0, head) once wrapped; [wrap_end, size) is skipped
 * until the tail passes it. oa_vk_ring_end_frame pushes one mark (value,
 * block, head, lap, count) per block that the frame used onto a FIFO of
 * OA_VK_RING_MAX_MARKS; oa_vk_collect pops the marks whose value completed
 * and moves each block's tail to the mark's head.
 * Cost: oa_vk_ring_alloc O(1) while the current block has room, O(blocks)
 * when it moves on; end_frame O(blocks); collect O(marks released).
 * Invariant: a block's range_count is the number of its ranges not yet
 * released (open frame included); 0 means no mark refers to it. */
#include "oa_vk_internal.h"

static bool oa__vk_ring_wrapped(const oa__vk_block* b) {
    return b->ring_lap != b->ring_tail_lap;
}

/* Place `size` bytes at `align` in block b; false when it has no room. */
static bool oa__vk_ring_fit(oa__vk_block* b, VkDeviceSize size, VkDeviceSize align,
                            VkDeviceSize* out_offset) {
    if (b->range_count == 0) {
        /* Nothing live and no mark refers to the block: start over at 0. */
        b->ring_head = b->ring_tail = b->ring_frame_start = b->ring_wrap_end = 0;
        b->ring_lap = b->ring_tail_lap = b->ring_frame_lap = 0;
    }
    const VkDeviceSize cap = b->size;
    const VkDeviceSize o = oa__vk_align_up(b->ring_head, align); /* head <= cap < 2^63 */
    if (!oa__vk_ring_wrapped(b)) {
        if (o <= cap && size <= cap - o) {
            *out_offset = o;
            b->ring_head = o + size;
            return true;
        }
        if (size <= b->ring_tail) { /* wrap: offset 0 is aligned to anything */
            b->ring_wrap_end = b->ring_head;
            b->ring_lap++;
            *out_offset = 0;
            b->ring_head = size;
            return true;
        }
        return false;
    }
    if (o <= b->ring_tail && size <= b->ring_tail - o) {
        *out_offset = o;
        b->ring_head = o + size;
        return true;
    }
    return false;
}

static oa_vk_result oa__vk_ring_alloc_locked(oa_vk_manager* m, oa_vk_pool pool, VkDeviceSize size,
                                             VkDeviceSize align, oa_vk_range_info* out) {
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_ring_alloc");
    if (p == NULL) {
        return OA_VK_ERROR_STALE_HANDLE;
    }
    if (!p->is_ring) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_ring_alloc: pool '%s' is not a ring pool (OA_VK_POOL_RING)",
                           p->name);
    }
    if (size == 0 || align == 0) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_ring_alloc '%s': size and align must be >= 1", p->name);
    }
    VkDeviceSize alignment = p->last_alignment;
    if (align != p->last_align) {
        alignment = oa__vk_lcm(p->alignment, align);
        if (alignment == 0) {
            return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                               "oa_vk_ring_alloc '%s': lcm(%llu, align %llu) passes 2^32", p->name,
                               (unsigned long long)p->alignment, (unsigned long long)align);
        }
        p->last_align = align;
        p->last_alignment = alignment;
    }
    if (size > p->block_size) {
        return oa__vk_fail(m, OA_VK_ERROR_TOO_LARGE,
                           "oa_vk_ring_alloc '%s': %llu bytes pass the block size %llu", p->name,
                           (unsigned long long)size, (unsigned long long)p->block_size);
    }
    VkDeviceSize alloc_size = size;
    if (p->non_coherent) {
        /* Whole atoms, so end_frame's flush never reaches into another frame. */
        alloc_size = oa__vk_align_up(size, m->properties.limits.nonCoherentAtomSize);
    }
    VkDeviceSize offset = 0;
    uint32_t slot = p->ring_block;
    bool placed = slot < p->block_slots && p->blocks[slot].in_use &&
                  oa__vk_ring_fit(&p->blocks[slot], alloc_size, alignment, &offset);
    /* The current block is full: the next block in slot order with room,
     * then a new block. */
    for (uint32_t k = 1; !placed && k <= p->block_slots; k++) {
        slot = (p->ring_block + k) % p->block_slots;
        placed = p->blocks[slot].in_use &&
                 oa__vk_ring_fit(&p->blocks[slot], alloc_size, alignment, &offset);
    }
    if (!placed) {
        if (p->max_block_count != 0 && p->ordinary_count >= p->max_block_count) {
            return oa__vk_fail(m, OA_VK_ERROR_OUT_OF_POOL_SPACE,
                               "oa_vk_ring_alloc '%s': %llu bytes fit in none of its %u ring "
                               "blocks (max_block_count): %u frame marks wait for their values",
                               p->name, (unsigned long long)size, p->ordinary_count,
                               p->ring_mark_count);
        }
        const oa_vk_result r = oa__vk_block_create(m, p, p->block_size, false, &slot);
        if (r != OA_VK_SUCCESS) {
            return r;
        }
        oa__vk_block* b = &p->blocks[slot];
        oa_allocator_destroy(b->allocator); /* the ring needs no index */
        b->allocator = NULL;
        b->is_ring = true;
        placed = oa__vk_ring_fit(b, alloc_size, alignment, &offset);
        OA_ASSERT(placed && "a new ring block holds any range up to the block size");
    }
    oa__vk_block* b = &p->blocks[slot];
    p->ring_block = slot;
    b->range_count++;
    b->ring_frame_count++;
    p->range_count++;
    out->buffer = b->buffer;
    out->offset = offset;
    out->size = size;
    out->mapped = b->mapped != NULL ? b->mapped + offset : NULL;
    out->device_address = b->address != 0 ? b->address + offset : 0;
    out->handle.id = 0;
    out->pool = pool;
    out->tag = 0;
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_ring_alloc(oa_vk_manager* m, oa_vk_pool pool, VkDeviceSize size,
                              VkDeviceSize align, oa_vk_range_info* out_range) {
    if (out_range != NULL) {
        memset(out_range, 0, sizeof *out_range);
    }
    if (m == NULL || out_range == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    const oa_vk_result r = oa__vk_ring_alloc_locked(m, pool, size, align, out_range);
    oa__vk_unlock(m);
    return r;
}

/* Flush [from, to) of a block's buffer (non-coherent memory). */
static oa_vk_result oa__vk_ring_flush(oa_vk_manager* m, const oa__vk_block* b, VkDeviceSize from,
                                      VkDeviceSize to) {
    if (to <= from) {
        return OA_VK_SUCCESS;
    }
    const VkMappedMemoryRange range = oa__vk_block_mapped_range(m, b, from, to - from);
    const VkResult vr = m->vk.vkFlushMappedMemoryRanges(m->device, 1, &range);
    return vr == VK_SUCCESS ? OA_VK_SUCCESS : oa__vk_from_vk(m, vr);
}

oa_vk_result oa_vk_ring_end_frame(oa_vk_manager* m, oa_vk_pool pool, uint64_t value) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_ring_end_frame");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
        goto done;
    }
    if (!p->is_ring) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_ring_end_frame: pool '%s' is not a ring pool", p->name);
        goto done;
    }
    if (value < p->ring_last_value) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_ring_end_frame '%s': value %llu is below the previous frame's %llu "
                        "(frames retire in order)",
                        p->name, (unsigned long long)value, (unsigned long long)p->ring_last_value);
        goto done;
    }
    uint32_t dirty = 0;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        dirty += p->blocks[i].in_use && p->blocks[i].ring_frame_count > 0;
    }
    if (p->ring_mark_count + dirty > OA_VK_RING_MAX_MARKS) {
        r = oa__vk_fail(m, OA_VK_ERROR_OUT_OF_POOL_SPACE,
                        "oa_vk_ring_end_frame '%s': %u frame marks still wait for their values "
                        "(at most %u): collect completed frames first",
                        p->name, p->ring_mark_count, OA_VK_RING_MAX_MARKS);
        goto done;
    }
    for (uint32_t i = 0; i < p->block_slots; i++) {
        oa__vk_block* b = &p->blocks[i];
        if (!b->in_use || b->ring_frame_count == 0) {
            continue;
        }
        if (b->non_coherent) {
            /* The frame's bytes: [start, head) on one lap, or up to the wrap
             * and then from 0. */
            oa_vk_result fr;
            if (b->ring_frame_lap == b->ring_lap) {
                fr = oa__vk_ring_flush(m, b, b->ring_frame_start, b->ring_head);
            } else {
                fr = oa__vk_ring_flush(m, b, b->ring_frame_start, b->ring_wrap_end);
                if (fr == OA_VK_SUCCESS) {
                    fr = oa__vk_ring_flush(m, b, 0, b->ring_head);
                }
            }
            if (fr != OA_VK_SUCCESS) {
                r = oa__vk_fail(m, fr, "oa_vk_ring_end_frame '%s': flush failed", p->name);
            }
        }
        const uint32_t at = (p->ring_mark_first + p->ring_mark_count) % OA_VK_RING_MAX_MARKS;
        oa__vk_ring_mark* mark = &p->ring_marks[at];
        mark->value = value;
        mark->head = b->ring_head;
        mark->lap = b->ring_lap;
        mark->block_slot = i;
        mark->count = b->ring_frame_count;
        p->ring_mark_count++;
        b->ring_frame_count = 0;
        b->ring_frame_start = b->ring_head;
        b->ring_frame_lap = b->ring_lap;
    }
    p->ring_last_value = value;
done:
    oa__vk_unlock(m);
    return r;
}

uint32_t oa__vk_ring_collect(oa_vk_manager* m, oa__vk_pool* p, uint64_t completed_value) {
    uint32_t freed = 0;
    while (p->ring_mark_count > 0 && p->ring_marks[p->ring_mark_first].value <= completed_value) {
        const oa__vk_ring_mark* mark = &p->ring_marks[p->ring_mark_first];
        oa__vk_block* b = &p->blocks[mark->block_slot];
        OA_ASSERT(b->in_use && b->range_count >= mark->count && "a mark's block holds its ranges");
        b->ring_tail = mark->head;
        b->ring_tail_lap = mark->lap;
        b->range_count -= mark->count;
        p->range_count -= mark->count;
        freed += (uint32_t)mark->count;
        if (b->range_count == 0) {
            b->empty_since = m->collect_epoch;
        }
        p->ring_mark_first = (p->ring_mark_first + 1) % OA_VK_RING_MAX_MARKS;
        p->ring_mark_count--;
    }
    return freed;
}

uint32_t oa__vk_ring_regions(const oa__vk_block* b, oa__vk_ring_region out[4]) {
    uint32_t n = 0;
#define OA__VK_REGION(o, e, f)                                                                     \
    do {                                                                                           \
        if ((e) > (o)) {                                                                           \
            out[n].offset = (o);                                                                   \
            out[n].size = (e) - (o);                                                               \
            out[n].is_free = (f);                                                                  \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    if (b->range_count == 0) {
        OA__VK_REGION(0, b->size, true);
    } else if (!oa__vk_ring_wrapped(b)) {
        OA__VK_REGION(0, b->ring_tail, true);
        OA__VK_REGION(b->ring_tail, b->ring_head, false);
        OA__VK_REGION(b->ring_head, b->size, true);
    } else {
        OA__VK_REGION(0, b->ring_head, false);
        OA__VK_REGION(b->ring_head, b->ring_tail, true);
        OA__VK_REGION(b->ring_tail, b->ring_wrap_end, false);
        OA__VK_REGION(b->ring_wrap_end, b->size, true);
    }
#undef OA__VK_REGION
    return n;
}

void oa__vk_ring_block_stats(const oa__vk_block* b, oa_vk_block_stats* out) {
    oa__vk_ring_region regions[4];
    const uint32_t n = oa__vk_ring_regions(b, regions);
    for (uint32_t i = 0; i < n; i++) {
        if (regions[i].is_free) {
            out->free_size += regions[i].size;
            out->free_region_count++;
            if (regions[i].size > out->largest_free_size) {
                out->largest_free_size = regions[i].size;
            }
        } else {
            out->used_size += regions[i].size;
        }
    }
    out->allocation_count = b->range_count;
    if (out->free_size > 0) {
        out->fragmentation = 1.0 - (double)out->largest_free_size / (double)out->free_size;
    }
}
