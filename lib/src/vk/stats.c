/* stats.c - statistics per block, per pool and per heap, computed on demand
 * from the core allocators' own counters (nothing is duplicated here beyond
 * the pending-free bytes that pool.c tracks).
 * Invariant: used_size + free_size == capacity for every block. */
#include "oa_vk_internal.h"

void oa__vk_block_stats(const oa__vk_block* b, oa_vk_block_stats* out) {
    memset(out, 0, sizeof *out);
    out->capacity = b->size;
    out->memory_type_index = b->memory_type_index;
    out->is_dedicated = b->is_dedicated;
    out->pending_size = b->pending_size;
    if (b->is_ring) {
        oa__vk_ring_block_stats(b, out);
    } else if (b->allocator != NULL) {
        oa_stats s;
        if (oa_get_stats(b->allocator, &s) == OA_SUCCESS) {
            out->free_size = s.free_size;
            out->used_size = s.used_size;
            out->largest_free_size = s.largest_free_size;
            out->allocation_count = s.allocation_count;
            out->free_region_count = s.free_region_count;
            out->fragmentation = s.fragmentation;
        }
    } else {
        out->used_size = b->size;
        out->allocation_count = b->range_count;
    }
}

void oa__vk_pool_stats(const oa__vk_pool* p, oa_vk_pool_stats* out) {
    memset(out, 0, sizeof *out);
    out->block_count = p->ordinary_count;
    out->dedicated_count = p->dedicated_count;
    out->memory_type_index = p->memory_type_index;
    out->intent = p->intent;
    out->fallback_type_count = p->type_order_count - 1;
    out->block_size = p->block_size;
    out->alignment = p->alignment;
    out->pending_count = p->pending_count;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        if (!p->blocks[i].in_use) {
            continue;
        }
        oa_vk_block_stats bs;
        oa__vk_block_stats(&p->blocks[i], &bs);
        out->capacity += bs.capacity;
        out->used_size += bs.used_size;
        out->free_size += bs.free_size;
        out->pending_size += bs.pending_size;
        out->allocation_count += bs.allocation_count;
        out->free_region_count += bs.free_region_count;
        if (bs.largest_free_size > out->largest_free_size) {
            out->largest_free_size = bs.largest_free_size;
        }
    }
    if (out->free_size > 0) {
        out->fragmentation = 1.0 - (double)out->largest_free_size / (double)out->free_size;
    }
}

oa_vk_result oa_vk_pool_get_stats(oa_vk_manager* m, oa_vk_pool pool, oa_vk_pool_stats* out_stats) {
    if (out_stats != NULL) {
        memset(out_stats, 0, sizeof *out_stats);
    }
    if (m == NULL || out_stats == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_get_stats");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
    } else {
        oa__vk_pool_stats(p, out_stats);
    }
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_block_get_stats(oa_vk_manager* m, oa_vk_pool pool, uint32_t block_index,
                                   oa_vk_block_stats* out_stats) {
    if (out_stats != NULL) {
        memset(out_stats, 0, sizeof *out_stats);
    }
    if (m == NULL || out_stats == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_ERROR_INVALID_ARGUMENT;
    const oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_block_get_stats");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
        goto done;
    }
    uint32_t seen = 0;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        if (p->blocks[i].in_use && seen++ == block_index) {
            oa__vk_block_stats(&p->blocks[i], out_stats);
            r = OA_VK_SUCCESS;
            goto done;
        }
    }
    r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                    "oa_vk_block_get_stats: pool '%s' has %u blocks, index %u asked", p->name, seen,
                    block_index);
done:
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_get_heap_stats(oa_vk_manager* m, oa_vk_heap_stats* out_heaps,
                                  uint32_t* out_heap_count) {
    if (out_heap_count != NULL) {
        *out_heap_count = 0;
    }
    if (m == NULL || out_heaps == NULL || out_heap_count == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa__vk_refresh_budget(m);
    const uint32_t count = m->memory_properties.memoryHeapCount;
    for (uint32_t i = 0; i < count; i++) {
        out_heaps[i].is_rebar = oa__vk_heap_is_rebar(&m->memory_properties, i);
        out_heaps[i].size = m->memory_properties.memoryHeaps[i].size;
        out_heaps[i].flags = m->memory_properties.memoryHeaps[i].flags;
        out_heaps[i].budget = m->heap_budget[i];
        out_heaps[i].usage = m->heap_usage[i];
        out_heaps[i].process_usage = oa__vk_process_usage(m, i);
        out_heaps[i].allocation_count = m->heap_allocation_count[i];
    }
    *out_heap_count = count;
    oa__vk_unlock(m);
    return OA_VK_SUCCESS;
}
