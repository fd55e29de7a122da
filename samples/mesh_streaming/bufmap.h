/* bufmap.h - the mesh buffer as the manager sees it: its regions in address
 * order (used, pending a deferred free, free), read with oa_vk_pool_walk,
 * folded into coverage per column for the strip map.
 * Does not draw (overlay.c) and never changes the manager.
 * Invariant: after a successful read, the regions tile [0, size). */
#ifndef SAMPLE_BUFMAP_H
#define SAMPLE_BUFMAP_H

#include <orderly/orderly_vk.h>

#include <stdbool.h>
#include <stdint.h>

#define BUFMAP_MAX_COLUMNS 4096

typedef struct bufmap {
    uint64_t size;         /* block size: the buffer's bytes */
    uint64_t region_count; /* all regions of the block */
    uint64_t max_used_end; /* largest offset + size of a used region */
    bool tiles;            /* the regions tiled [0, size) with no gap or overlap */
    uint32_t columns;
    /* Bytes of each column that are used / pending, as fractions 0..1. */
    float used[BUFMAP_MAX_COLUMNS];
    float pending[BUFMAP_MAX_COLUMNS];
} bufmap;

/* Read the regions of `pool`'s first block into `columns` columns. Returns
 * false (and prints why) if the walk fails; an empty pool (no block yet)
 * reads as `fallback_size` bytes all free. */
bool bufmap_read(bufmap* m, oa_vk_manager* manager, oa_vk_pool pool, uint64_t fallback_size,
                 uint32_t columns);

#endif
