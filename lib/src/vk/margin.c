/* margin.c - corruption detection for OA_VK_POOL_CORRUPTION_CHECK pools: a
 * margin of OA_VK_CORRUPTION_MARGIN bytes right after each range, filled with
 * a fixed pattern when the range is allocated and compared when it is freed,
 * collected or checked on demand. Does not size ranges (pool.c adds the
 * margin to what it takes from the block).
 * Invariant: every live or pending range of such a pool has its margin inside
 * its block, which is mapped. */
#include "oa_vk_internal.h"

static uint8_t oa__vk_margin_byte(uint32_t i) {
    return (uint8_t)(0xA5u ^ (i * 0x3Bu));
}

static bool oa__vk_has_margin(const oa_vk_manager* m, const oa__vk_range_entry* e) {
    const oa__vk_pool* p = &m->pools[e->pool_slot];
    return (p->flags & OA_VK_POOL_CORRUPTION_CHECK) != 0 && p->blocks[e->block_slot].mapped != NULL;
}

static uint8_t* oa__vk_margin(const oa_vk_manager* m, const oa__vk_range_entry* e) {
    return m->pools[e->pool_slot].blocks[e->block_slot].mapped + e->offset + e->size;
}

void oa__vk_margin_fill(const oa_vk_manager* m, const oa__vk_range_entry* e) {
    if (!oa__vk_has_margin(m, e)) {
        return;
    }
    uint8_t* margin = oa__vk_margin(m, e);
    for (uint32_t i = 0; i < OA_VK_CORRUPTION_MARGIN; i++) {
        margin[i] = oa__vk_margin_byte(i);
    }
}

bool oa__vk_margin_intact(const oa_vk_manager* m, const oa__vk_range_entry* e, const char* what) {
    if (!oa__vk_has_margin(m, e)) {
        return true;
    }
    const uint8_t* margin = oa__vk_margin(m, e);
    for (uint32_t i = 0; i < OA_VK_CORRUPTION_MARGIN; i++) {
        if (margin[i] != oa__vk_margin_byte(i)) {
            const oa__vk_pool* p = &m->pools[e->pool_slot];
            (void)oa__vk_fail(m, OA_VK_ERROR_CORRUPTION_DETECTED,
                              "%s: pool '%s' block %u: %llu bytes at offset %llu were written past "
                              "their end (margin byte %u)",
                              what, p->name, e->block_slot, (unsigned long long)e->size,
                              (unsigned long long)e->offset, i);
            return false;
        }
    }
    return true;
}

oa_vk_result oa_vk_check_corruption(oa_vk_manager* m, oa_vk_pool pool, VkDeviceSize* out_offset) {
    if (out_offset != NULL) {
        *out_offset = OA_NO_OFFSET;
    }
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_check_corruption");
    if (p == NULL) {
        r = OA_VK_ERROR_STALE_HANDLE;
    } else if ((p->flags & OA_VK_POOL_CORRUPTION_CHECK) == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_check_corruption: pool '%s' has no OA_VK_POOL_CORRUPTION_CHECK",
                        p->name);
    } else {
        const uint32_t pool_slot = (uint32_t)(p - m->pools);
        for (uint32_t i = 0; i < m->range_slots; i++) {
            const oa__vk_range_entry* e = &m->ranges[i];
            /* A range in flight has its margin at the new place only once
             * the pass's copy has run. */
            if (e->state == OA__VK_RANGE_FREE || e->pool_slot != pool_slot ||
                oa__vk_compact_holds(e) || oa__vk_margin_intact(m, e, "oa_vk_check_corruption")) {
                continue;
            }
            if (r == OA_VK_SUCCESS && out_offset != NULL) {
                *out_offset = e->offset;
            }
            r = OA_VK_ERROR_CORRUPTION_DETECTED;
        }
    }
    oa__vk_unlock(m);
    return r;
}
