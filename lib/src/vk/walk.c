/* walk.c - oa_vk_pool_walk: a pool's regions in address order, block by
 * block, each allocation with the range behind it (handle, pending, tag).
 * Reads only; does not format anything (json.c writes the dump).
 * Invariant: every allocation of a block belongs to exactly one live or
 * pending range of the pool, found through a list sorted by (block, offset),
 * except the bytes a compaction pass holds (compact.c), reported with range
 * id 0. */
#include "oa_vk_internal.h"

#include <stdlib.h>

typedef struct oa__vk_walk_range {
    uint32_t block_slot;
    uint32_t range_slot;
    VkDeviceSize offset;
} oa__vk_walk_range;

static int oa__vk_walk_range_cmp(const void* a, const void* b) {
    const oa__vk_walk_range* x = (const oa__vk_walk_range*)a;
    const oa__vk_walk_range* y = (const oa__vk_walk_range*)b;
    if (x->block_slot != y->block_slot) {
        return x->block_slot < y->block_slot ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : (x->offset > y->offset ? 1 : 0);
}

typedef struct oa__vk_walker {
    const oa_vk_manager* m;
    const oa__vk_walk_range* cursor; /* the next range of this block, in offset order */
    const oa__vk_walk_range* end;
    oa_vk_region_info info;
    oa_vk_walk_fn fn;
    void* user;
    bool stopped;
} oa__vk_walker;

/* Report one region; for an allocation, attach the range that starts there. */
static bool oa__vk_walk_emit(oa__vk_walker* w, VkDeviceSize offset, VkDeviceSize size,
                             bool is_free) {
    w->info.offset = offset;
    w->info.size = size;
    w->info.is_free = is_free;
    w->info.is_pending = false;
    w->info.range.id = 0;
    w->info.tag = 0;
    if (!is_free) {
        while (w->cursor < w->end && w->cursor->offset < offset) {
            w->cursor++;
        }
        if (w->cursor < w->end && w->cursor->offset == offset) {
            const uint32_t slot = w->cursor->range_slot;
            const oa__vk_range_entry* e = &w->m->ranges[slot];
            w->info.is_pending = e->state == OA__VK_RANGE_PENDING;
            w->info.range.id = oa__vk_handle_id(slot, e->generation);
            w->info.tag = e->tag;
            w->cursor++;
        }
    }
    w->stopped = !w->fn(w->user, &w->info);
    return !w->stopped;
}

static bool oa__vk_walk_core_region(void* user, const oa_region_info* region) {
    return oa__vk_walk_emit((oa__vk_walker*)user, region->offset, region->size, region->is_free);
}

oa_vk_result oa_vk_pool_walk(oa_vk_manager* m, oa_vk_pool pool, oa_vk_walk_fn fn, void* user) {
    if (m == NULL || fn == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_walk_range* sorted = NULL;
    uint32_t count = 0;
    const oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_pool_walk");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
        goto done;
    }
    const uint32_t pool_slot = (uint32_t)(p - m->pools);
    if (p->range_count > 0) {
        sorted = (oa__vk_walk_range*)oa__vk_host_alloc(&m->callbacks,
                                                       (size_t)p->range_count * sizeof *sorted);
        if (sorted == NULL) {
            r = oa__vk_fail(m, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                            "oa_vk_pool_walk '%s': no host memory to sort %llu ranges", p->name,
                            (unsigned long long)p->range_count);
            goto done;
        }
        for (uint32_t i = 0; i < m->range_slots && count < p->range_count; i++) {
            const oa__vk_range_entry* e = &m->ranges[i];
            if (e->state != OA__VK_RANGE_FREE && e->pool_slot == pool_slot) {
                const oa__vk_walk_range wr = {e->block_slot, i, e->offset};
                sorted[count++] = wr;
            }
        }
        qsort(sorted, count, sizeof *sorted, oa__vk_walk_range_cmp);
    }
    oa__vk_walker w = {.m = m,
                       .cursor = sorted,
                       .end = count != 0 ? sorted + count : sorted,
                       .fn = fn,
                       .user = user};
    for (uint32_t b = 0; b < p->block_slots && !w.stopped; b++) {
        const oa__vk_block* block = &p->blocks[b];
        if (!block->in_use) {
            continue;
        }
        while (w.cursor < w.end && w.cursor->block_slot < b) {
            w.cursor++;
        }
        const oa__vk_walk_range* block_end = w.cursor;
        while (block_end < w.end && block_end->block_slot == b) {
            block_end++;
        }
        const oa__vk_walk_range* next = block_end;
        w.end = block_end;
        w.info.block_size = block->size;
        w.info.buffer = block->buffer;
        if (block->allocator != NULL) {
            const oa_result cr =
                oa_walk(block->allocator, OA_WALK_ALL, oa__vk_walk_core_region, &w);
            OA_ASSERT(cr == OA_SUCCESS && "walking a live block cannot fail");
            (void)cr;
        } else if (block->is_ring) {
            oa__vk_ring_region regions[4];
            const uint32_t n = oa__vk_ring_regions(block, regions);
            for (uint32_t k = 0; k < n && !w.stopped; k++) {
                (void)oa__vk_walk_emit(&w, regions[k].offset, regions[k].size, regions[k].is_free);
            }
        } else {
            (void)oa__vk_walk_emit(&w, 0, block->size, false);
        }
        w.info.block_index++;
        w.cursor = next;
        w.end = count != 0 ? sorted + count : sorted;
    }
done:
    if (sorted != NULL) {
        oa__vk_host_free(&m->callbacks, sorted, (size_t)p->range_count * sizeof *sorted);
    }
    oa__vk_unlock(m);
    return r;
}
