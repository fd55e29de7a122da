/* compact.c - compaction passes of a pool: the core plans each block's moves
 * (oa_compact_begin), this file turns them into the caller's move list,
 * records the copies with their barriers, and ends the pass in oa_vk_collect
 * once the copies' timeline value has completed (oa_compact_commit).
 * In a pool of several blocks a pass also evacuates one block toward the
 * others: the ordinary block (not the first, which is never released) with
 * the fewest used bytes, when the other blocks' free bytes could hold them
 * all. Its movable ranges get a plain allocation in another block (best fit,
 * blocks in slot order) and keep their old core allocation until the pass
 * ends; once empty, the block goes back through the usual hysteresis.
 * Ownership goes through the core: every range's core allocation carries the
 * range's slot in its user word (pool.c sets it), so a core move finds its
 * range in O(1), with no second lookup table.
 * Does not choose when to compact, nor patch anyone's draw data.
 * Invariant: while a pass is recorded and not ended, each moved range has
 * OA__VK_MOVE_IN_FLIGHT set and its block's allocator holds both its old
 * bytes (the core allocation) and its new ones (the core's reservation). */
#include "oa_vk_internal.h"

enum { OA__VK_PASS_IDLE = 0, OA__VK_PASS_PLANNED = 1, OA__VK_PASS_RECORDED = 2 };

/* The moves of one block: moves[first, first + count). */
typedef struct oa__vk_compact_span {
    uint32_t block_slot;
    uint32_t first, count;
} oa__vk_compact_span;

typedef struct oa__vk_compact_pass {
    uint32_t state;
    oa_compact_move* moves; /* the core's plans, owned by the core passes while open */
    uint32_t* range_slots;  /* the range of each move; OA__VK_NO_SLOT once record skipped it */
    uint32_t move_capacity, slot_capacity, move_count;
    oa__vk_compact_span* spans;
    uint32_t span_capacity, span_count;
    VkBufferCopy* regions; /* record's scratch */
    uint32_t region_capacity;
    struct oa__vk_cross_move* cross; /* moves into another block, after the core's */
    uint32_t cross_capacity, cross_count;
    uint32_t source_block; /* the block being evacuated; OA__VK_NO_SLOT for none */
    oa_vk_compact_stats stats;
} oa__vk_compact_pass;

/* A move into another block of the pool: a plain allocation there, counted
 * in that block's range_count from the plan on (so the block stays) and
 * with the user word OA__VK_NO_SLOT until the pass ends (so that no core
 * plan takes it for a range's); the range keeps its old core allocation
 * until the pass ends. */
typedef struct oa__vk_cross_move {
    uint32_t range_slot; /* OA__VK_NO_SLOT once record skipped it */
    uint32_t from_block, to_block;
    oa_allocation old_core, new_core;
    VkDeviceSize old_offset, new_offset, size;
} oa__vk_cross_move;

/* What the core's filter needs to judge one allocation of one block. */
typedef struct oa__vk_compact_filter_ctx {
    const oa_vk_manager* m;
    uint32_t pool_slot, block_slot;
    VkDeviceSize pool_alignment;
} oa__vk_compact_filter_ctx;

/* A live, unpinned range of this block moves, at the alignment it was made
 * with; anything else (pending, pinned, alignment not kept, a record that
 * does not match) stays. */
static bool oa__vk_compact_filter(void* user, const oa_region_info* a, uint64_t* io_align) {
    const oa__vk_compact_filter_ctx* c = (const oa__vk_compact_filter_ctx*)user;
    if (a->user >= c->m->range_slots) {
        return false;
    }
    const oa__vk_range_entry* e = &c->m->ranges[a->user];
    OA_ASSERT(e->core.id == a->allocation.id && "a core allocation's user word is its range");
    if (e->core.id != a->allocation.id || e->state != OA__VK_RANGE_LIVE ||
        e->pool_slot != c->pool_slot || e->block_slot != c->block_slot ||
        (e->move_bits & (OA__VK_MOVE_PINNED | OA__VK_MOVE_IN_FLIGHT)) != 0) {
        return false;
    }
    const VkDeviceSize align = e->move_bits & OA__VK_MOVE_ALIGN_MASK;
    if (align == 0) {
        return false;
    }
    const VkDeviceSize want = oa__vk_lcm(c->pool_alignment, align);
    if (want == 0) {
        return false;
    }
    *io_align = want;
    return true;
}

static oa_vk_result oa__vk_compact_reserve(oa_vk_manager* m, oa__vk_pool* p, uint32_t moves) {
    if (p->compact == NULL) {
        p->compact = (oa__vk_compact_pass*)oa__vk_host_alloc(&m->callbacks, sizeof *p->compact);
        if (p->compact == NULL) {
            return OA_VK_ERROR_OUT_OF_HOST_MEMORY;
        }
        memset(p->compact, 0, sizeof *p->compact);
    }
    oa__vk_compact_pass* c = p->compact;
    oa_vk_result r =
        oa__vk_grow(&m->callbacks, (void**)&c->moves, &c->move_capacity, sizeof *c->moves, moves);
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_grow(&m->callbacks, (void**)&c->range_slots, &c->slot_capacity,
                        sizeof *c->range_slots, moves);
    }
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_grow(&m->callbacks, (void**)&c->spans, &c->span_capacity, sizeof *c->spans,
                        p->block_slots);
    }
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_grow(&m->callbacks, (void**)&c->cross, &c->cross_capacity, sizeof *c->cross,
                        moves);
    }
    return r;
}

static void oa__vk_block_drop_count(oa_vk_manager* m, oa__vk_block* b) {
    b->range_count--;
    if (b->range_count == 0) {
        b->empty_since = m->collect_epoch;
    }
}

/* End the cross-block moves. Planned only: each destination is given back.
 * Recorded (the descriptors already name the new place, so even a pool
 * destroy takes this way): the range takes its new core allocation and its
 * old one is freed. */
static void oa__vk_cross_end(oa_vk_manager* m, oa__vk_pool* p) {
    oa__vk_compact_pass* c = p->compact;
    for (uint32_t k = 0; k < c->cross_count; k++) {
        const oa__vk_cross_move* x = &c->cross[k];
        oa__vk_block* to = &p->blocks[x->to_block];
        if (c->state != OA__VK_PASS_RECORDED || x->range_slot == OA__VK_NO_SLOT) {
            if (c->state != OA__VK_PASS_RECORDED) {
                const oa_result fr = oa_free(to->allocator, x->new_core);
                OA_ASSERT(fr == OA_SUCCESS && "a planned destination is freeable");
                (void)fr;
                oa__vk_block_drop_count(m, to);
            }
            continue;
        }
        oa__vk_range_entry* e = &m->ranges[x->range_slot];
        oa__vk_block* from = &p->blocks[x->from_block];
        const oa_result fr = oa_free(from->allocator, x->old_core);
        OA_ASSERT(fr == OA_SUCCESS && "a moved range's old core allocation is freeable");
        (void)fr;
        oa__vk_block_drop_count(m, from);
        e->core = x->new_core;
        const oa_result ur = oa_allocation_set_user(to->allocator, x->new_core, x->range_slot);
        OA_ASSERT(ur == OA_SUCCESS && "a destination takes its range's slot");
        (void)ur;
        e->move_bits &= (uint16_t)~OA__VK_MOVE_IN_FLIGHT;
    }
    c->cross_count = 0;
    c->source_block = OA__VK_NO_SLOT;
}

static void oa__vk_compact_end(oa_vk_manager* m, oa__vk_pool* p, bool commit) {
    oa__vk_compact_pass* c = p->compact;
    for (uint32_t s = 0; s < c->span_count; s++) {
        oa_allocator* a = p->blocks[c->spans[s].block_slot].allocator;
        if (commit) {
            const oa_result cr = oa_compact_commit(a);
            OA_ASSERT(cr == OA_SUCCESS && "a block's open pass commits");
            (void)cr;
        } else {
            (void)oa_compact_abort(a);
        }
    }
    for (uint32_t i = 0; c->state == OA__VK_PASS_RECORDED && i < c->move_count; i++) {
        if (c->range_slots[i] != OA__VK_NO_SLOT) {
            m->ranges[c->range_slots[i]].move_bits &= (uint16_t)~OA__VK_MOVE_IN_FLIGHT;
        }
    }
    oa__vk_cross_end(m, p);
    oa_vk_pool_stats ps;
    oa__vk_pool_stats(p, &ps);
    c->stats.largest_free_size_after = ps.largest_free_size;
    c->stats.fragmentation_after = ps.fragmentation;
    c->stats.is_complete = true;
    c->state = OA__VK_PASS_IDLE;
    c->span_count = 0;
    c->move_count = 0;
}

static oa_vk_result oa__vk_compact_check_pool(oa_vk_manager* m, oa__vk_pool* p, const char* fn) {
    if (p->is_ring) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT, "%s '%s': ring pools are not compacted",
                           fn, p->name);
    }
    const VkBufferUsageFlags both =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if ((p->usage & both) != both) {
        return oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                           "%s '%s': compaction copies inside the pool's buffers, which needs "
                           "TRANSFER_SRC and TRANSFER_DST usage",
                           fn, p->name);
    }
    return OA_VK_SUCCESS;
}

static bool oa__vk_block_is_ordinary(const oa__vk_block* b) {
    return b->in_use && !b->is_dedicated && !b->is_ring && b->allocator != NULL;
}

/* The block to evacuate: the ordinary block after the first with the fewest
 * used bytes (some), not the caller's, whose used bytes the other blocks'
 * free bytes could hold; OA__VK_NO_SLOT when there is none. */
static uint32_t oa__vk_cross_source(const oa__vk_pool* p) {
    uint32_t best = OA__VK_NO_SLOT;
    VkDeviceSize best_used = 0, total_free = 0, best_free = 0;
    bool seen_first = false;
    for (uint32_t i = 0; i < p->block_slots; i++) {
        const oa__vk_block* b = &p->blocks[i];
        if (!oa__vk_block_is_ordinary(b)) {
            continue;
        }
        oa_stats st;
        if (oa_get_stats(b->allocator, &st) != OA_SUCCESS || oa_compact_is_open(b->allocator)) {
            return OA__VK_NO_SLOT;
        }
        total_free += st.free_size;
        if (!seen_first) {
            seen_first = true;
            continue;
        }
        if (!b->is_caller_owned && st.used_size > 0 &&
            (best == OA__VK_NO_SLOT || st.used_size < best_used)) {
            best = i;
            best_used = st.used_size;
            best_free = st.free_size;
        }
    }
    return best != OA__VK_NO_SLOT && best_used <= total_free - best_free ? best : OA__VK_NO_SLOT;
}

typedef struct oa__vk_cross_walk {
    oa__vk_compact_filter_ctx ctx;
    oa__vk_compact_pass* c;
    uint32_t limit; /* cross entries the walk may fill */
} oa__vk_cross_walk;

static bool oa__vk_cross_take(void* user, const oa_region_info* a) {
    oa__vk_cross_walk* w = (oa__vk_cross_walk*)user;
    uint64_t align = w->ctx.pool_alignment;
    if (oa__vk_compact_filter(&w->ctx, a, &align)) {
        oa__vk_cross_move* x = &w->c->cross[w->c->cross_count++];
        x->range_slot = a->user;
        x->old_core = a->allocation;
        x->old_offset = a->offset;
        x->size = a->size;
    }
    return w->c->cross_count < w->limit;
}

/* Plan the evacuation of the source block: each movable range, largest
 * budget first come, into the first other block whose best fit takes it. */
static void oa__vk_cross_plan(oa_vk_manager* m, oa__vk_pool* p, uint32_t max_moves,
                              VkDeviceSize* bytes_left, bool bytes_bounded) {
    oa__vk_compact_pass* c = p->compact;
    c->cross_count = 0;
    c->source_block = oa__vk_cross_source(p);
    if (c->source_block == OA__VK_NO_SLOT) {
        return;
    }
    const uint32_t from = c->source_block;
    oa__vk_cross_walk w = {{m, (uint32_t)(p - m->pools), from, p->alignment}, c, max_moves};
    (void)oa_walk(p->blocks[from].allocator, OA_WALK_ALLOCATIONS, oa__vk_cross_take, &w);
    uint32_t kept = 0;
    for (uint32_t k = 0; k < c->cross_count; k++) {
        oa__vk_cross_move x = c->cross[k];
        const oa__vk_range_entry* e = &m->ranges[x.range_slot];
        const VkDeviceSize align =
            oa__vk_lcm(p->alignment, (VkDeviceSize)(e->move_bits & OA__VK_MOVE_ALIGN_MASK));
        if (bytes_bounded && x.size > *bytes_left) {
            continue;
        }
        x.to_block = OA__VK_NO_SLOT;
        x.from_block = from;
        bool stop = false;
        for (uint32_t i = 0; i < p->block_slots && x.to_block == OA__VK_NO_SLOT; i++) {
            oa__vk_block* b = &p->blocks[i];
            if (i == from || !oa__vk_block_is_ordinary(b) || b->range_count == 0) {
                continue; /* an empty block is no better a home than the source */
            }
            uint64_t offset = 0;
            const oa_result cr = oa_alloc(b->allocator, x.size, align, &x.new_core, &offset);
            if (cr == OA_SUCCESS) {
                const oa_result ur =
                    oa_allocation_set_user(b->allocator, x.new_core, OA__VK_NO_SLOT);
                OA_ASSERT(ur == OA_SUCCESS && "a new allocation takes a user word");
                (void)ur;
                x.to_block = i;
                x.new_offset = offset;
                b->range_count++;
            } else if (cr != OA_ERROR_OUT_OF_SPACE) {
                stop = true; /* no metadata: keep what is planned */
                break;
            }
        }
        if (stop) {
            break;
        }
        if (x.to_block == OA__VK_NO_SLOT) {
            continue;
        }
        if (bytes_bounded) {
            *bytes_left -= x.size;
        }
        c->stats.moved_size += x.size;
        c->cross[kept++] = x;
        if (bytes_bounded && *bytes_left == 0) {
            break;
        }
    }
    c->cross_count = kept;
}

/* Plan block by block; on error every block's pass is aborted. */
static oa_vk_result oa__vk_compact_plan(oa_vk_manager* m, oa__vk_pool* p,
                                        const oa_vk_compact_limits* limits, uint32_t max_moves) {
    oa__vk_compact_pass* c = p->compact;
    VkDeviceSize bytes_left = limits != NULL ? limits->max_bytes : 0;
    const bool bytes_bounded = bytes_left != 0;
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_cross_plan(m, p, max_moves, &bytes_left, bytes_bounded);
    if (bytes_bounded && bytes_left == 0) {
        return OA_VK_SUCCESS;
    }
    for (uint32_t i = 0; i < p->block_slots && c->move_count + c->cross_count < max_moves; i++) {
        oa__vk_block* b = &p->blocks[i];
        if (!oa__vk_block_is_ordinary(b) || i == c->source_block) {
            continue;
        }
        oa__vk_compact_filter_ctx ctx = {m, (uint32_t)(p - m->pools), i, p->alignment};
        const oa_compact_limits cl = {.max_bytes = bytes_left,
                                      .max_moves = max_moves - c->move_count - c->cross_count,
                                      .align = p->alignment,
                                      .filter = oa__vk_compact_filter,
                                      .filter_user = &ctx};
        uint32_t n = 0;
        const oa_result cr = oa_compact_begin(b->allocator, &cl, c->moves + c->move_count,
                                              max_moves - c->move_count - c->cross_count, &n);
        if (cr != OA_SUCCESS) {
            if (c->move_count + c->cross_count > 0) {
                break; /* a later block without metadata: keep what is planned */
            }
            r = oa__vk_fail(m, oa__vk_from_core(cr), "oa_vk_compact_begin '%s': block %u: %s",
                            p->name, i, oa_result_name(cr));
            break;
        }
        if (n == 0) {
            continue;
        }
        c->spans[c->span_count].block_slot = i;
        c->spans[c->span_count].first = c->move_count;
        c->spans[c->span_count].count = n;
        c->span_count++;
        for (uint32_t k = c->move_count; k < c->move_count + n; k++) {
            uint32_t slot = 0;
            const oa_result ur =
                oa_allocation_get_user(b->allocator, c->moves[k].allocation, &slot);
            OA_ASSERT(ur == OA_SUCCESS && slot < m->range_slots &&
                      m->ranges[slot].core.id == c->moves[k].allocation.id &&
                      "a moved allocation is a range's");
            (void)ur;
            c->range_slots[k] = slot;
            c->stats.moved_size += c->moves[k].size;
            if (bytes_bounded) {
                bytes_left -= c->moves[k].size < bytes_left ? c->moves[k].size : bytes_left;
            }
        }
        c->move_count += n;
        if (bytes_bounded && bytes_left == 0) {
            break;
        }
    }
    if (r != OA_VK_SUCCESS) {
        for (uint32_t s = 0; s < c->span_count; s++) {
            (void)oa_compact_abort(p->blocks[c->spans[s].block_slot].allocator);
        }
        c->span_count = 0;
        c->move_count = 0;
        oa__vk_cross_end(m, p);
    }
    return r;
}

oa_vk_result oa_vk_compact_begin(oa_vk_manager* m, oa_vk_pool pool,
                                 const oa_vk_compact_limits* limits, oa_vk_compact_move* moves,
                                 uint32_t move_capacity, uint32_t* out_count,
                                 oa_vk_compact_stats* out_stats) {
    if (out_count != NULL) {
        *out_count = 0;
    }
    if (out_stats != NULL) {
        memset(out_stats, 0, sizeof *out_stats);
    }
    if (m == NULL || moves == NULL || move_capacity == 0 || out_count == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_compact_begin");
    oa_vk_result r = p == NULL ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS;
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_compact_check_pool(m, p, "oa_vk_compact_begin");
    }
    if (r == OA_VK_SUCCESS && p->compact != NULL && p->compact->state != OA__VK_PASS_IDLE) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_compact_begin '%s': a pass is open (%s)", p->name,
                        p->compact->state == OA__VK_PASS_PLANNED
                            ? "record or abort it"
                            : "recorded; it ends at the oa_vk_collect of its value");
    }
    uint32_t max_moves = move_capacity;
    if (limits != NULL && limits->max_moves != 0 && limits->max_moves < max_moves) {
        max_moves = limits->max_moves;
    }
    if (r == OA_VK_SUCCESS) {
        r = oa__vk_compact_reserve(m, p, max_moves);
        if (r != OA_VK_SUCCESS) {
            r = oa__vk_fail(m, r, "oa_vk_compact_begin '%s': no host memory for the plan", p->name);
        }
    }
    if (r != OA_VK_SUCCESS) {
        oa__vk_unlock(m);
        return r;
    }
    oa__vk_compact_pass* c = p->compact;
    oa_vk_pool_stats ps;
    oa__vk_pool_stats(p, &ps);
    memset(&c->stats, 0, sizeof c->stats);
    c->stats.free_size_before = ps.free_size;
    c->stats.largest_free_size_before = ps.largest_free_size;
    c->stats.fragmentation_before = ps.fragmentation;
    c->move_count = 0;
    c->span_count = 0;
    c->cross_count = 0;
    c->source_block = OA__VK_NO_SLOT;
    r = oa__vk_compact_plan(m, p, limits, max_moves);
    if (r == OA_VK_SUCCESS) {
        for (uint32_t s = 0; s < c->span_count; s++) {
            const oa__vk_block* b = &p->blocks[c->spans[s].block_slot];
            for (uint32_t k = c->spans[s].first; k < c->spans[s].first + c->spans[s].count; k++) {
                const oa__vk_range_entry* e = &m->ranges[c->range_slots[k]];
                moves[k].range.id = oa__vk_handle_id(c->range_slots[k], e->generation);
                moves[k].old_buffer = b->buffer;
                moves[k].old_offset = c->moves[k].old_offset;
                moves[k].new_buffer = b->buffer;
                moves[k].new_offset = c->moves[k].new_offset;
                moves[k].size = c->moves[k].size;
            }
        }
        for (uint32_t k = 0; k < c->cross_count; k++) {
            const oa__vk_cross_move* x = &c->cross[k];
            oa_vk_compact_move* out = &moves[c->move_count + k];
            out->range.id = oa__vk_handle_id(x->range_slot, m->ranges[x->range_slot].generation);
            out->old_buffer = p->blocks[x->from_block].buffer;
            out->old_offset = x->old_offset;
            out->new_buffer = p->blocks[x->to_block].buffer;
            out->new_offset = x->new_offset;
            out->size = x->size;
        }
        c->stats.move_count = c->move_count + c->cross_count;
        *out_count = c->stats.move_count;
        if (*out_count == 0) {
            /* Nothing would help: no pass opens, and "after" is "before". */
            c->stats.largest_free_size_after = ps.largest_free_size;
            c->stats.fragmentation_after = ps.fragmentation;
            c->stats.is_complete = true;
            r = OA_VK_NOT_NEEDED;
        } else {
            c->state = OA__VK_PASS_PLANNED;
        }
    } else {
        memset(&c->stats, 0, sizeof c->stats);
    }
    if (out_stats != NULL && r >= 0) {
        *out_stats = c->stats;
    }
    oa__vk_unlock(m);
    return r;
}

/* Before the copies: every earlier write (any stage: the stager's copies,
 * shader writes) to the sources is available to the copy, and every earlier
 * access (vertex, index, indirect, shader reads in flight) of the
 * destinations is done before the copy writes them. After: the copies'
 * writes are visible to what follows, reads and writes alike. */
static void oa__vk_compact_barrier(const oa_vk_manager* m, VkCommandBuffer cmd, bool before) {
    if (before) {
        oa__vk_cmd_barrier(m, cmd, VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
                           VK_ACCESS_2_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_2_COPY_BIT,
                           VK_ACCESS_2_TRANSFER_READ_BIT | VK_ACCESS_2_TRANSFER_WRITE_BIT);
    } else {
        oa__vk_cmd_barrier(m, cmd, VK_PIPELINE_STAGE_2_COPY_BIT, VK_ACCESS_2_TRANSFER_WRITE_BIT,
                           VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
                           VK_ACCESS_2_MEMORY_READ_BIT | VK_ACCESS_2_MEMORY_WRITE_BIT);
    }
}

/* Record the cross-block copies, one vkCmdCopyBuffer per destination block
 * (the source is one block, another buffer), and point each range at its
 * new place; a range freed since begin is skipped and its destination given
 * back. Returns the moves recorded. */
static uint32_t oa__vk_cross_record(oa_vk_manager* m, oa__vk_pool* p, VkCommandBuffer cmd) {
    oa__vk_compact_pass* c = p->compact;
    uint32_t recorded = 0;
    for (uint32_t k = 0; k < c->cross_count; k++) {
        oa__vk_cross_move* x = &c->cross[k];
        const oa__vk_range_entry* e = &m->ranges[x->range_slot];
        if (e->state == OA__VK_RANGE_FREE || e->core.id != x->old_core.id ||
            e->pool_slot != (uint32_t)(p - m->pools) || e->block_slot != x->from_block) {
            const oa_result fr = oa_free(p->blocks[x->to_block].allocator, x->new_core);
            OA_ASSERT(fr == OA_SUCCESS && "a planned destination is freeable");
            (void)fr;
            oa__vk_block_drop_count(m, &p->blocks[x->to_block]);
            x->range_slot = OA__VK_NO_SLOT;
        }
    }
    for (uint32_t to = 0; to < p->block_slots; to++) {
        uint32_t n = 0;
        for (uint32_t k = 0; k < c->cross_count; k++) {
            oa__vk_cross_move* x = &c->cross[k];
            if (x->range_slot == OA__VK_NO_SLOT || x->to_block != to) {
                continue;
            }
            c->regions[n].srcOffset = x->old_offset;
            c->regions[n].dstOffset = x->new_offset;
            c->regions[n].size = x->size;
            n++;
            oa__vk_range_entry* e = &m->ranges[x->range_slot];
            if (e->state == OA__VK_RANGE_PENDING) {
                /* Its deferred free will be released from the new block. */
                p->blocks[x->from_block].pending_size -= e->alloc_size;
                p->blocks[to].pending_size += e->alloc_size;
            }
            e->offset = x->new_offset;
            e->block_slot = to;
            e->move_bits |= OA__VK_MOVE_IN_FLIGHT;
        }
        if (n > 0) {
            m->vk.vkCmdCopyBuffer(cmd, p->blocks[c->source_block].buffer, p->blocks[to].buffer, n,
                                  c->regions);
        }
        recorded += n;
    }
    return recorded;
}

oa_vk_result oa_vk_compact_record(oa_vk_manager* m, oa_vk_pool pool, VkCommandBuffer cmd,
                                  uint64_t value) {
    if (m == NULL || cmd == VK_NULL_HANDLE) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_compact_record");
    oa_vk_result r = p == NULL ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS;
    if (r == OA_VK_SUCCESS && (p->compact == NULL || p->compact->state != OA__VK_PASS_PLANNED)) {
        r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                        "oa_vk_compact_record '%s': no pass to record (%s)", p->name,
                        p->compact != NULL && p->compact->state == OA__VK_PASS_RECORDED
                            ? "already recorded"
                            : "oa_vk_compact_begin opens one");
    }
    if (r == OA_VK_SUCCESS && !oa__vk_has_barrier(m)) {
        r = oa__vk_fail(
            m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
            "oa_vk_compact_record: needs vkCmdPipelineBarrier2 or vkCmdPipelineBarrier");
    }
    oa__vk_compact_pass* c = r == OA_VK_SUCCESS ? p->compact : NULL;
    if (c != NULL) {
        r = oa__vk_grow(&m->callbacks, (void**)&c->regions, &c->region_capacity, sizeof *c->regions,
                        c->move_count + c->cross_count);
        if (r != OA_VK_SUCCESS) {
            r = oa__vk_fail(m, r, "oa_vk_compact_record '%s': no host memory for the regions",
                            p->name);
        }
    }
    if (r != OA_VK_SUCCESS) {
        oa__vk_unlock(m);
        return r;
    }
    oa__vk_compact_barrier(m, cmd, true);
    uint32_t recorded = 0;
    for (uint32_t s = 0; s < c->span_count; s++) {
        const oa__vk_block* b = &p->blocks[c->spans[s].block_slot];
        uint32_t n = 0;
        for (uint32_t k = c->spans[s].first; k < c->spans[s].first + c->spans[s].count; k++) {
            oa__vk_range_entry* e = &m->ranges[c->range_slots[k]];
            /* A range freed since begin (its core allocation gone, the slot
             * maybe reused) is skipped: commit skips its move as well. A
             * pending one still moves: commit moves it, and its deferred
             * free waits for the pass. */
            if (e->state == OA__VK_RANGE_FREE || e->core.id != c->moves[k].allocation.id ||
                e->pool_slot != (uint32_t)(p - m->pools) ||
                e->block_slot != c->spans[s].block_slot) {
                c->range_slots[k] = OA__VK_NO_SLOT;
                continue;
            }
            /* One pass's destinations never overlap a source or each other
             * (the core's plan), so all go in one vkCmdCopyBuffer
             * (VUID-vkCmdCopyBuffer-pRegions-00117). */
            c->regions[n].srcOffset = c->moves[k].old_offset;
            c->regions[n].dstOffset = c->moves[k].new_offset;
            c->regions[n].size = c->moves[k].size;
            n++;
            e->offset = c->moves[k].new_offset;
            e->move_bits |= OA__VK_MOVE_IN_FLIGHT;
        }
        if (n > 0) {
            m->vk.vkCmdCopyBuffer(cmd, b->buffer, b->buffer, n, c->regions);
        }
        recorded += n;
    }
    recorded += oa__vk_cross_record(m, p, cmd);
    oa__vk_compact_barrier(m, cmd, false);
    c->stats.recorded_count = recorded;
    c->stats.is_recorded = true;
    c->stats.value = value;
    c->state = OA__VK_PASS_RECORDED;
    oa__vk_unlock(m);
    return OA_VK_SUCCESS;
}

void oa__vk_compact_collect(oa_vk_manager* m, uint64_t completed_value) {
    for (uint32_t i = 0; i < m->pool_slots; i++) {
        oa__vk_pool* p = &m->pools[i];
        if (p->in_use && p->compact != NULL && p->compact->state == OA__VK_PASS_RECORDED &&
            p->compact->stats.value <= completed_value) {
            oa__vk_compact_end(m, p, true);
        }
    }
}

oa_vk_result oa_vk_compact_abort(oa_vk_manager* m, oa_vk_pool pool) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_compact_abort");
    oa_vk_result r = p == NULL ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS;
    if (r == OA_VK_SUCCESS && p->compact != NULL) {
        if (p->compact->state == OA__VK_PASS_RECORDED) {
            r = oa__vk_fail(m, OA_VK_ERROR_INVALID_ARGUMENT,
                            "oa_vk_compact_abort '%s': the pass is recorded; it ends at the "
                            "oa_vk_collect of value %llu",
                            p->name, (unsigned long long)p->compact->stats.value);
        } else if (p->compact->state == OA__VK_PASS_PLANNED) {
            oa__vk_compact_end(m, p, false);
        }
    }
    oa__vk_unlock(m);
    return r;
}

bool oa__vk_compact_is_planned(const oa__vk_pool* p) {
    return p->compact != NULL && p->compact->state == OA__VK_PASS_PLANNED;
}

bool oa__vk_compact_is_recorded(const oa__vk_pool* p) {
    return p->compact != NULL && p->compact->state == OA__VK_PASS_RECORDED;
}

oa_vk_result oa_vk_compact_get_stats(oa_vk_manager* m, oa_vk_pool pool,
                                     oa_vk_compact_stats* out_stats) {
    if (out_stats != NULL) {
        memset(out_stats, 0, sizeof *out_stats);
    }
    if (m == NULL || out_stats == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    const oa__vk_pool* p = oa__vk_pool_lookup(m, pool, "oa_vk_compact_get_stats");
    if (p != NULL && p->compact != NULL) {
        *out_stats = p->compact->stats;
    }
    oa__vk_unlock(m);
    return p == NULL ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS;
}

oa_vk_result oa_vk_range_set_pinned(oa_vk_manager* m, oa_vk_range range, bool is_pinned) {
    if (m == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa__vk_range_entry* e = oa__vk_range_lookup(m, range, OA__VK_RANGE_LIVE);
    oa_vk_result r = OA_VK_SUCCESS;
    if (e == NULL) {
        r = oa__vk_fail(m, OA_VK_ERROR_STALE_HANDLE, "oa_vk_range_set_pinned: stale range 0x%llx",
                        (unsigned long long)range.id);
    } else if (is_pinned) {
        e->move_bits |= OA__VK_MOVE_PINNED;
    } else {
        e->move_bits &= (uint16_t)~OA__VK_MOVE_PINNED;
    }
    oa__vk_unlock(m);
    return r;
}

void oa__vk_compact_drop(oa_vk_manager* m, oa__vk_pool* p) {
    oa__vk_compact_pass* c = p->compact;
    if (c == NULL) {
        return;
    }
    if (c->state != OA__VK_PASS_IDLE) {
        oa__vk_compact_end(m, p, false);
    }
    oa__vk_host_free(&m->callbacks, c->moves, (size_t)c->move_capacity * sizeof *c->moves);
    oa__vk_host_free(&m->callbacks, c->range_slots,
                     (size_t)c->slot_capacity * sizeof *c->range_slots);
    oa__vk_host_free(&m->callbacks, c->spans, (size_t)c->span_capacity * sizeof *c->spans);
    oa__vk_host_free(&m->callbacks, c->regions, (size_t)c->region_capacity * sizeof *c->regions);
    oa__vk_host_free(&m->callbacks, c->cross, (size_t)c->cross_capacity * sizeof *c->cross);
    oa__vk_host_free(&m->callbacks, c, sizeof *c);
    p->compact = NULL;
}
