/* handles.c - from a pool or range handle to its record: the slot in the
 * low 32 bits, checked against the slot's generation in the high 32 bits,
 * so a stale handle (freed, retired, or another manager's) is refused; and
 * the descriptor a live range's record gives.
 * Calls only support.c. */
#include "oa_vk_internal.h"

oa_vk_pool oa__vk_pool_handle(const oa_vk_manager* m, const oa__vk_pool* p) {
    const oa_vk_pool h = {oa__vk_handle_id((uint32_t)(p - m->pools), p->generation)};
    return h;
}

oa__vk_pool* oa__vk_pool_lookup(oa_vk_manager* m, oa_vk_pool pool, const char* caller) {
    const uint32_t slot = (uint32_t)pool.id;
    const uint32_t generation = (uint32_t)(pool.id >> 32);
    if (pool.id != 0 && slot < m->pool_slots) {
        oa__vk_pool* p = &m->pools[slot];
        if (p->in_use && p->generation == generation) {
            return p;
        }
    }
    (void)oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "%s: stale pool 0x%llx", caller,
                      (unsigned long long)pool.id);
    return NULL;
}

oa__vk_range_entry* oa__vk_range_lookup(oa_vk_manager* m, oa_vk_range h, uint32_t state) {
    const uint32_t slot = (uint32_t)h.id;
    const uint32_t generation = (uint32_t)(h.id >> 32);
    if (h.id == 0 || slot >= m->range_slots) {
        return NULL;
    }
    oa__vk_range_entry* e = &m->ranges[slot];
    return e->state == state && e->generation == generation ? e : NULL;
}

void oa__vk_range_fill(const oa_vk_manager* m, const oa__vk_range_entry* e, uint32_t slot,
                       oa_vk_range_info* out) {
    const oa__vk_pool* p = &m->pools[e->pool_slot];
    const oa__vk_block* b = &p->blocks[e->block_slot];
    out->buffer = b->buffer;
    out->offset = e->offset;
    out->size = e->size;
    out->mapped = b->mapped != NULL ? b->mapped + e->offset : NULL;
    out->device_address = b->address != 0 ? b->address + e->offset : 0;
    out->handle.id = oa__vk_handle_id(slot, e->generation);
    out->pool = oa__vk_pool_handle(m, p);
    out->tag = e->tag;
}
