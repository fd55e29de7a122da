/* bufmap.c - the mesh pool's regions, folded into coverage per column for
 * the strip map, through the manager's region walk (oa_vk_pool_walk): every
 * region of the block in address order, used, pending or free. */
#include "bufmap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_coverage(float* col, uint32_t columns, uint64_t size, uint64_t begin,
                         uint64_t end) {
    double per = (double)size / columns;
    uint32_t c0 = (uint32_t)((double)begin / per), c1 = (uint32_t)((double)(end - 1) / per);
    if (c1 >= columns) {
        c1 = columns - 1;
    }
    for (uint32_t c = c0; c <= c1; c++) {
        double lo = c * per, hi = lo + per;
        double a = (double)begin > lo ? (double)begin : lo;
        double b = (double)end < hi ? (double)end : hi;
        if (b > a) {
            col[c] += (float)((b - a) / per);
        }
    }
}

/* What the walk folds the first block's regions into. */
typedef struct bufmap_walk {
    bufmap* m;
    uint64_t expect; /* where the next region must start */
} bufmap_walk;

static bool take_region(void* user, const oa_vk_region_info* r) {
    bufmap_walk* w = (bufmap_walk*)user;
    bufmap* m = w->m;
    if (r->block_index != 0) {
        return false; /* the sample's pool has one block; draw the first */
    }
    m->size = r->block_size;
    m->tiles = m->tiles && r->offset == w->expect && r->size > 0;
    w->expect = r->offset + r->size;
    m->region_count++;
    if (!r->is_free) {
        if (r->offset + r->size > m->max_used_end) {
            m->max_used_end = r->offset + r->size;
        }
        /* Bytes no range reports (r->range.id 0) are a compaction pass's:
         * a moved range's old place, held until the pass's frame retires,
         * shown as pending free like the ranges of a deferred free. */
        const bool pending = r->is_pending || r->range.id == 0;
        add_coverage(pending ? m->pending : m->used, m->columns, m->size, r->offset,
                     r->offset + r->size);
    }
    return true;
}

bool bufmap_read(bufmap* m, oa_vk_manager* manager, oa_vk_pool pool, uint64_t fallback_size,
                 uint32_t columns) {
    if (columns > BUFMAP_MAX_COLUMNS) {
        columns = BUFMAP_MAX_COLUMNS;
    }
    if (columns == 0) {
        columns = 1;
    }
    m->columns = columns;
    memset(m->used, 0, sizeof m->used);
    memset(m->pending, 0, sizeof m->pending);
    m->size = fallback_size;
    m->region_count = 0;
    m->max_used_end = 0;
    m->tiles = true;
    bufmap_walk w = {m, 0};
    oa_vk_result r = oa_vk_pool_walk(manager, pool, take_region, &w);
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "error: oa_vk_pool_walk: %s\n", oa_vk_result_name(r));
        return false;
    }
    if (m->region_count > 0) {
        m->tiles = m->tiles && w.expect == m->size;
    }
    return true;
}
