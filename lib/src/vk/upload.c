/* upload.c - the stager: a mapped host-visible staging buffer (one block of a
 * pool of its own) whose bytes a core allocator hands out as a ring of
 * pieces. Uploads copy into a piece at once and queue a copy; record() emits
 * the copies of a batch between two barriers (barrier.c) and tags the
 * pieces with the batch's timeline value; collect() frees completed pieces.
 * The regions of one vkCmdCopyBuffer run in no defined order, so a copy that
 * overlaps an earlier one of the batch starts a new command after a barrier:
 * the later upload's bytes win, as the caller wrote them.
 * A queued copy names its range, not a place: record() looks the range up
 * again, so an upload queued before a grow or a compaction pass moved the
 * range's buffer or offset lands at its new place, and one whose range was
 * freed meanwhile is dropped.
 * Does not submit or wait: the caller owns command buffers and semaphores.
 * Invariant: every piece is queued, in flight, or back in the allocator. */
#include "oa_vk_internal.h"

#include <stdlib.h>

#define OA__VK_STAGING_ALIGN 16u
#define OA__VK_DEFAULT_RING_SIZE (16ull << 20)

typedef struct oa__vk_copy {
    VkBuffer dst;              /* set by record() from the range */
    oa_vk_range range;         /* the destination, looked up again at record */
    VkDeviceSize range_offset; /* of the copy's first byte in the range */
    VkDeviceSize src_offset, dst_offset, size;
    oa_allocation piece;
    uint32_t order; /* upload order, keeps the sort stable */
} oa__vk_copy;

/* Destination bytes [begin, end) of the copies of one command. */
typedef struct oa__vk_span {
    VkDeviceSize begin, end;
} oa__vk_span;

typedef struct oa__vk_inflight {
    oa_allocation piece;
    uint64_t value;
} oa__vk_inflight;

struct oa_vk_stager {
    oa_vk_manager* manager;
    oa_vk_pool pool;
    oa_vk_range_info ring;
    oa_allocator* allocator;
    VkPipelineStageFlags2 dst_stage_mask;
    VkAccessFlags2 dst_access_mask;
    oa__vk_copy* queued;
    uint32_t queued_count, queued_capacity;
    oa__vk_inflight* inflight;
    uint32_t inflight_count, inflight_capacity;
    VkBufferCopy* regions;
    uint32_t region_capacity;
    oa__vk_span* spans; /* sorted by begin, disjoint: the current command's */
    uint32_t span_capacity;
};

oa_vk_result oa_vk_stager_create(oa_vk_manager* m, const oa_vk_stager_info* info,
                                 oa_vk_stager** out_stager) {
    if (out_stager != NULL) {
        *out_stager = NULL;
    }
    if (m == NULL || info == NULL || out_stager == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    if (!oa__vk_has_barrier(m)) {
        oa__vk_lock(m);
        oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                    "oa_vk_stager_create: needs vkCmdPipelineBarrier2 or vkCmdPipelineBarrier");
        oa__vk_unlock(m);
        return OA_VK_ERROR_FEATURE_NOT_ENABLED;
    }
    VkDeviceSize ring_size = info->ring_size != 0 ? info->ring_size : OA__VK_DEFAULT_RING_SIZE;
    if (ring_size > (1ull << 62)) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    /* 256 is the largest nonCoherentAtomSize the spec allows: the ring then
     * fills its block exactly, whatever the memory's coherency. */
    ring_size = oa__vk_align_up(ring_size, 256);
    oa_vk_stager* s = (oa_vk_stager*)oa__vk_host_alloc(&m->callbacks, sizeof *s);
    if (s == NULL) {
        return OA_VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    memset(s, 0, sizeof *s);
    s->manager = m;
    s->dst_stage_mask =
        info->dst_stage_mask != 0 ? info->dst_stage_mask : VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT;
    s->dst_access_mask =
        info->dst_access_mask != 0 ? info->dst_access_mask : VK_ACCESS_2_MEMORY_READ_BIT;
    const oa_vk_pool_info pool_info = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                       .intent = OA_VK_INTENT_STAGING,
                                       .block_size = ring_size,
                                       .max_block_count = 1,
                                       .flags = OA_VK_POOL_NO_DEDICATED,
                                       .name = info->name != NULL ? info->name : "orderly staging"};
    oa_vk_result r = oa_vk_pool_create(m, &pool_info, &s->pool);
    if (r == OA_VK_SUCCESS) {
        r = oa_vk_alloc(m, s->pool, ring_size, OA__VK_STAGING_ALIGN, &s->ring);
    }
    if (r == OA_VK_SUCCESS) {
        const oa_allocator_info core_info = {.capacity = ring_size, .callbacks = m->callbacks};
        const oa_result cr = oa_allocator_create(&core_info, &s->allocator);
        r = oa__vk_from_core(cr);
    }
    if (r != OA_VK_SUCCESS) {
        oa_vk_stager_destroy(s);
        return r;
    }
    *out_stager = s;
    return OA_VK_SUCCESS;
}

void oa_vk_stager_destroy(oa_vk_stager* s) {
    if (s == NULL) {
        return;
    }
    oa_vk_manager* m = s->manager;
    oa_allocator_destroy(s->allocator);
    const oa_vk_result r = oa_vk_pool_destroy(m, s->pool, OA_VK_POOL_DESTROY_FREE_LIVE);
    OA_ASSERT(r == OA_VK_SUCCESS && "the stager's own pool is destroyable");
    (void)r;
    oa__vk_host_free(&m->callbacks, s->queued, (size_t)s->queued_capacity * sizeof *s->queued);
    oa__vk_host_free(&m->callbacks, s->inflight,
                     (size_t)s->inflight_capacity * sizeof *s->inflight);
    oa__vk_host_free(&m->callbacks, s->regions, (size_t)s->region_capacity * sizeof *s->regions);
    oa__vk_host_free(&m->callbacks, s->spans, (size_t)s->span_capacity * sizeof *s->spans);
    oa__vk_host_free(&m->callbacks, s, sizeof *s);
}

/* Looks up the destination under the manager's lock: its buffer and offset,
 * after checking bounds and usage. */
static oa_vk_result oa__vk_stager_target(oa_vk_stager* s, oa_vk_range dst, VkDeviceSize dst_offset,
                                         VkDeviceSize size, oa_vk_range_info* out) {
    oa_vk_manager* m = s->manager;
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    const oa__vk_range_entry* e = oa__vk_range_lookup(m, dst, OA__VK_RANGE_LIVE);
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "oa_vk_stager_upload: stale range 0x%llx",
                        (unsigned long long)dst.id);
    } else if ((m->pools[e->pool_slot].usage & VK_BUFFER_USAGE_TRANSFER_DST_BIT) == 0) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_stager_upload: pool '%s' has no TRANSFER_DST usage",
                        m->pools[e->pool_slot].name);
    } else if (dst_offset > e->size || size > e->size - dst_offset) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_stager_upload: [%llu, +%llu) is outside the range's %llu bytes",
                        (unsigned long long)dst_offset, (unsigned long long)size,
                        (unsigned long long)e->size);
    } else {
        oa__vk_range_fill(m, e, (uint32_t)dst.id, out);
    }
    oa__vk_unlock(m);
    return r;
}

oa_vk_result oa_vk_stager_upload(oa_vk_stager* s, oa_vk_range dst, VkDeviceSize dst_offset,
                                 const void* data, VkDeviceSize size,
                                 VkDeviceSize* out_queued_size) {
    if (out_queued_size != NULL) {
        *out_queued_size = 0;
    }
    if (s == NULL || data == NULL || size == 0) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa_vk_manager* m = s->manager;
    oa_vk_range_info target;
    oa_vk_result r = oa__vk_stager_target(s, dst, dst_offset, size, &target);
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    const uint8_t* src = (const uint8_t*)data;
    VkDeviceSize done = 0;
    while (done < size) {
        oa_stats st;
        if (oa_get_stats(s->allocator, &st) != OA_SUCCESS) {
            break;
        }
        /* Piece sizes are multiples of the staging alignment, so every free
         * region starts aligned and the largest one always takes a piece. */
        const VkDeviceSize room = oa__vk_align_down(st.largest_free_size, OA__VK_STAGING_ALIGN);
        if (room == 0) {
            break;
        }
        const VkDeviceSize piece = size - done < room ? size - done : room;
        r = oa__vk_grow(&m->callbacks, (void**)&s->queued, &s->queued_capacity, sizeof *s->queued,
                        s->queued_count + 1);
        if (r != OA_VK_SUCCESS) {
            break;
        }
        oa__vk_copy c = {.range = dst,
                         .range_offset = dst_offset + done,
                         .size = piece,
                         .order = s->queued_count};
        const oa_result cr = oa_alloc(s->allocator, oa__vk_align_up(piece, OA__VK_STAGING_ALIGN),
                                      OA__VK_STAGING_ALIGN, &c.piece, &c.src_offset);
        if (cr != OA_SUCCESS) {
            r = oa__vk_from_core(cr);
            break;
        }
        memcpy((uint8_t*)s->ring.mapped + c.src_offset, src + done, (size_t)piece);
        r = oa_vk_flush(m, s->ring.handle, c.src_offset, piece);
        if (r != OA_VK_SUCCESS) {
            const oa_result fr = oa_free(s->allocator, c.piece);
            OA_ASSERT(fr == OA_SUCCESS && "a piece just allocated is freeable");
            (void)fr;
            break;
        }
        c.src_offset += s->ring.offset;
        s->queued[s->queued_count++] = c;
        done += piece;
    }
    if (out_queued_size != NULL) {
        *out_queued_size = done;
    }
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    return done == size ? OA_VK_SUCCESS : OA_VK_INCOMPLETE;
}

/* By destination buffer, then destination offset, then upload order. */
static int oa__vk_copy_cmp(const void* a, const void* b) {
    const oa__vk_copy* x = (const oa__vk_copy*)a;
    const oa__vk_copy* y = (const oa__vk_copy*)b;
    const uint64_t bx = (uint64_t)(uintptr_t)x->dst;
    const uint64_t by = (uint64_t)(uintptr_t)y->dst;
    if (bx != by) {
        return bx < by ? -1 : 1;
    }
    if (x->dst_offset != y->dst_offset) {
        return x->dst_offset < y->dst_offset ? -1 : 1;
    }
    return x->order < y->order ? -1 : (x->order > y->order ? 1 : 0);
}

static int oa__vk_copy_order_cmp(const void* a, const void* b) {
    const uint32_t x = ((const oa__vk_copy*)a)->order, y = ((const oa__vk_copy*)b)->order;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* The first of `count` sorted disjoint spans that ends after `offset`. */
static uint32_t oa__vk_span_search(const oa__vk_span* spans, uint32_t count, VkDeviceSize offset) {
    uint32_t lo = 0, hi = count;
    while (lo < hi) {
        const uint32_t mid = lo + (hi - lo) / 2;
        if (spans[mid].end <= offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static void oa__vk_fill_regions(oa_vk_stager* s, const oa__vk_copy* copies, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        s->regions[i].srcOffset = copies[i].src_offset;
        s->regions[i].dstOffset = copies[i].dst_offset;
        s->regions[i].size = copies[i].size;
    }
}

/* Records copies[0, n) (one destination buffer, sorted by destination
 * offset). Without overlaps (the usual batch) that is one command in offset
 * order. Otherwise the copies go back to upload order, and consecutive ones
 * share a command until one overlaps a region already in it; that one starts
 * the next command, after a barrier that orders the two writes. Cost: O(n)
 * without overlaps; with them, a sort, O(n log n) searches and the moves of
 * sorted insertion into the current command's spans (O(n^2) at worst, none
 * when the destinations ascend). */
static void oa__vk_stager_record_dst(oa_vk_stager* s, VkCommandBuffer cmd, oa__vk_copy* copies,
                                     uint32_t n) {
    oa_vk_manager* m = s->manager;
    const VkBuffer dst = copies[0].dst;
    bool overlap = false;
    for (uint32_t i = 1; i < n && !overlap; i++) {
        overlap = copies[i].dst_offset < copies[i - 1].dst_offset + copies[i - 1].size;
    }
    if (!overlap) {
        oa__vk_fill_regions(s, copies, n);
        m->vk.vkCmdCopyBuffer(cmd, s->ring.buffer, dst, n, s->regions);
        return;
    }
    qsort(copies, n, sizeof *copies, oa__vk_copy_order_cmp);
    oa__vk_fill_regions(s, copies, n);
    uint32_t begin = 0, spans = 0;
    for (uint32_t i = 0; i < n; i++) {
        const VkDeviceSize lo = s->regions[i].dstOffset, hi = lo + s->regions[i].size;
        uint32_t at = spans;
        if (spans > 0 && lo < s->spans[spans - 1].end) {
            at = oa__vk_span_search(s->spans, spans, lo);
            if (at < spans && s->spans[at].begin < hi) {
                m->vk.vkCmdCopyBuffer(cmd, s->ring.buffer, dst, i - begin, s->regions + begin);
                oa__vk_cmd_barrier(m, cmd, VK_PIPELINE_STAGE_2_COPY_BIT,
                                   VK_ACCESS_2_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_2_COPY_BIT,
                                   VK_ACCESS_2_TRANSFER_WRITE_BIT);
                begin = i;
                spans = 0;
                at = 0;
            }
        }
        memmove(s->spans + at + 1, s->spans + at, (size_t)(spans - at) * sizeof *s->spans);
        s->spans[at].begin = lo;
        s->spans[at].end = hi;
        spans++;
    }
    m->vk.vkCmdCopyBuffer(cmd, s->ring.buffer, dst, n - begin, s->regions + begin);
}

/* Give every queued copy its range's place now: a block grown since the
 * upload (oa_vk_pool_grow) has a new buffer at the same offsets, a range a
 * compaction pass moved has a new block and offset. A range freed deferred
 * since is still held by its block and keeps its copy; drop (and give back
 * the staging piece of) those whose range is neither live nor pending. */
static void oa__vk_stager_resolve(oa_vk_stager* s) {
    oa_vk_manager* m = s->manager;
    uint32_t kept = 0;
    oa__vk_lock(m);
    for (uint32_t i = 0; i < s->queued_count; i++) {
        oa__vk_copy c = s->queued[i];
        const oa__vk_range_entry* e = oa__vk_range_lookup(m, c.range, OA__VK_RANGE_LIVE);
        if (e == NULL) {
            e = oa__vk_range_lookup(m, c.range, OA__VK_RANGE_PENDING);
        }
        if (e == NULL) {
            const oa_result fr = oa_free(s->allocator, c.piece);
            OA_ASSERT(fr == OA_SUCCESS && "a queued staging piece is freeable");
            (void)fr;
            continue;
        }
        c.dst = m->pools[e->pool_slot].blocks[e->block_slot].buffer;
        c.dst_offset = e->offset + c.range_offset;
        s->queued[kept++] = c;
    }
    oa__vk_unlock(m);
    s->queued_count = kept;
}

oa_vk_result oa_vk_stager_record(oa_vk_stager* s, VkCommandBuffer cmd, uint64_t signal_value) {
    if (s == NULL || cmd == VK_NULL_HANDLE) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    if (s->queued_count == 0) {
        return OA_VK_SUCCESS;
    }
    oa_vk_manager* m = s->manager;
    oa_vk_result r = oa__vk_grow(&m->callbacks, (void**)&s->inflight, &s->inflight_capacity,
                                 sizeof *s->inflight, s->inflight_count + s->queued_count);
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_grow(&m->callbacks, (void**)&s->regions, &s->region_capacity, sizeof *s->regions,
                        s->queued_count);
    }
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_grow(&m->callbacks, (void**)&s->spans, &s->span_capacity, sizeof *s->spans,
                        s->queued_count);
    }
    if (r != OA_VK_SUCCESS) {
        return r;
    }
    oa__vk_stager_resolve(s);
    if (s->queued_count == 0) {
        return OA_VK_SUCCESS;
    }
    qsort(s->queued, s->queued_count, sizeof *s->queued, oa__vk_copy_cmp);

    /* Earlier readers (dst stages) and writers (earlier copies) of the
     * destinations finish before the copies write. Host writes to the staging
     * memory are made visible by the submit itself. */
    oa__vk_cmd_barrier(m, cmd, s->dst_stage_mask | VK_PIPELINE_STAGE_2_COPY_BIT,
                       VK_ACCESS_2_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_2_COPY_BIT,
                       VK_ACCESS_2_TRANSFER_WRITE_BIT);
    uint32_t first = 0;
    while (first < s->queued_count) {
        uint32_t n = 1;
        while (first + n < s->queued_count && s->queued[first + n].dst == s->queued[first].dst) {
            n++;
        }
        oa__vk_stager_record_dst(s, cmd, s->queued + first, n);
        first += n;
    }
    oa__vk_cmd_barrier(m, cmd, VK_PIPELINE_STAGE_2_COPY_BIT, VK_ACCESS_2_TRANSFER_WRITE_BIT,
                       s->dst_stage_mask, s->dst_access_mask);

    for (uint32_t i = 0; i < s->queued_count; i++) {
        s->inflight[s->inflight_count].piece = s->queued[i].piece;
        s->inflight[s->inflight_count].value = signal_value;
        s->inflight_count++;
    }
    s->queued_count = 0;
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_stager_collect(oa_vk_stager* s, uint64_t completed_value) {
    if (s == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < s->inflight_count; i++) {
        if (s->inflight[i].value <= completed_value) {
            const oa_result cr = oa_free(s->allocator, s->inflight[i].piece);
            OA_ASSERT(cr == OA_SUCCESS && "an in-flight staging piece must be freeable");
            (void)cr;
        } else {
            s->inflight[kept++] = s->inflight[i];
        }
    }
    s->inflight_count = kept;
    return OA_VK_SUCCESS;
}

VkDeviceSize oa_vk_stager_free_size(const oa_vk_stager* s) {
    oa_stats st;
    if (s == NULL || s->allocator == NULL || oa_get_stats(s->allocator, &st) != OA_SUCCESS) {
        return 0;
    }
    return st.free_size;
}
