/* compact.c - compaction passes: a bounded move plan in two phases.
 * Plans moves of live allocations toward the start of the pool, reserves
 * each destination as an allocation of its own (a "reservation", whose user
 * word is its move's index), and on commit swaps each allocation into its
 * reservation's place in the address chain and frees the old bytes through
 * oa_free. Does not touch the size index's structure (index.c does) and
 * never copies bytes (the caller does, between begin and commit).
 * Invariant: while a pass is open, every state passes oa_allocator_check;
 * a moved allocation and its reservation are both live, so neither its old
 * nor its new bytes can be handed out; moves[i].reserved names the
 * reservation whose user word is i.
 *
 * Why the plan keeps the largest free region: the walk goes from the end of
 * the pool toward its start, and a move's destination lies wholly before
 * the allocation it moves. So the bytes at or after the walk's position are
 * never taken by a later move: the free run that a move will leave after
 * commit (its old bytes, a free neighbour on each side, and the run of a
 * moved right neighbour) is fixed once planned. After each move, either
 * such a run is at least the largest free region L0 that begin saw, or a
 * free region of at least L0 is still free now (free regions only grow at
 * commit). A move is planned only if its run is larger than the free region
 * D it fills: D smaller than L0 leaves the regions of L0 or more alone, and
 * D of L0 or more gives a run larger than L0. So after commit the largest
 * free region is never smaller than L0. */
#include "oa_internal.h"

/* Best-fit candidates visited beyond the index's own search when the best
 * fit lies after the allocation being moved. */
#define OA__COMPACT_VISITS 256u

/* ---- address chain ---- */

/* Exchange the places of used records x and y in the address chain, and
 * their offsets (their sizes are equal), so that each covers the bytes the
 * other did. */
static void oa__c_swap_places(oa_allocator* a, uint32_t x, uint32_t y) {
    uint32_t px = oa__rec(a, x)->prev, nx = oa__next(oa__rec(a, x));
    uint32_t py = oa__rec(a, y)->prev, ny = oa__next(oa__rec(a, y));
    if (nx == y) {
        oa__link(a, px, y);
        oa__link(a, y, x);
        oa__link(a, x, ny);
    } else if (ny == x) {
        oa__link(a, py, x);
        oa__link(a, x, y);
        oa__link(a, y, nx);
    } else {
        oa__link(a, px, y);
        oa__link(a, y, nx);
        oa__link(a, py, x);
        oa__link(a, x, ny);
    }
    uint64_t t = oa__rec(a, x)->offset;
    oa__rec(a, x)->offset = oa__rec(a, y)->offset;
    oa__rec(a, y)->offset = t;
}

/* ---- alignment ---- */

/* The least common multiple of x and y (both >= 1); 0 on overflow. */
static uint64_t oa__c_lcm(uint64_t x, uint64_t y) {
    if (x % y == 0) {
        return x;
    }
    uint64_t k = y / oa__gcd(x, y);
    if (x > UINT64_MAX / k) {
        return 0;
    }
    return x * k;
}

/* ---- the constrained best-fit search ---- */

OA__INLINE bool oa__c_fits(const oa__region* r, uint64_t size, uint64_t align, uint64_t limit) {
    uint64_t pad = oa__pad(r->offset, align);
    return pad <= r->size && r->size - pad >= size && r->offset + r->size <= limit;
}

/* The best-fitting free region (smallest size, then lowest offset) that
 * holds (size, align), ends at or before `limit` and is at most `max_size`
 * bytes; OA__NIL if there is none or the search gives up. The index's own
 * search answers when its best fit qualifies; otherwise the bins' trees are
 * walked in (size, offset) order, at most OA__COMPACT_VISITS nodes. May sort
 * dust into the trees (as oa_alloc does). */
static uint32_t oa__c_find_before(oa_allocator* a, uint64_t size, uint64_t align, uint64_t limit,
                                  uint64_t max_size) {
    if (size < a->dust_limit) {
        oa__dust_lower(a, size);
    }
    uint32_t x = oa__index_find(a, size, align);
    if (x == OA__NIL || oa__rec(a, x)->size > max_size) {
        return OA__NIL; /* any other fit is no smaller */
    }
    if (oa__rec(a, x)->offset + oa__rec(a, x)->size <= limit) {
        return x;
    }
    uint32_t budget = OA__COMPACT_VISITS;
    uint32_t stack[OA__TREE_STACK];
    for (uint32_t bin = oa__next_bin(a, oa__bin_of(size)); bin < OA__BIN_COUNT;
         bin = oa__next_bin(a, bin + 1)) {
        if (bin < OA__LINEAR_SIZE) {
            /* One size per bin, ordered by offset alone (index.c). */
            if (bin > max_size) {
                return OA__NIL;
            }
            uint32_t n = oa__index_exact_first_fit(a, bin, size, align, limit, &budget);
            if (n != OA__NIL) {
                return n;
            }
            if (budget == 0) {
                return OA__NIL;
            }
            continue;
        }
        uint32_t depth = 0;
        for (uint32_t n = a->bin_root[bin]; n != OA__NIL;) {
            if (oa__rec(a, n)->size >= size) {
                stack[depth++] = n;
                n = oa__rec(a, n)->left & OA__LINK;
            } else {
                n = oa__rec(a, n)->right & OA__LINK;
            }
        }
        while (depth > 0) {
            uint32_t n = stack[--depth];
            if (oa__rec(a, n)->size > max_size || budget-- == 0) {
                return OA__NIL;
            }
            if (oa__c_fits(oa__rec(a, n), size, align, limit)) {
                return n;
            }
            for (uint32_t m = oa__rec(a, n)->right & OA__LINK; m != OA__NIL;
                 m = oa__rec(a, m)->left & OA__LINK) {
                stack[depth++] = m;
            }
        }
    }
    return OA__NIL;
}

/* ---- reservations ---- */

/* Reserve `size` bytes at offset oa__rec(a, x)->offset + pad of free region x as an
 * allocation whose user word is `index`; the front padding and the tail
 * stay free (as oa_alloc splits). Writes the reservation's handle. Returns
 * OA_SUCCESS, OA_ERROR_OUT_OF_METADATA or OA_ERROR_OUT_OF_HOST_MEMORY
 * (nothing changed then). May move the table. */
/* Is used record `slot` a reservation of the pass being planned? */
OA__INLINE bool oa__c_is_reservation(const oa_allocator* a, const oa_compact_move* moves,
                                     uint32_t count, uint32_t slot) {
    const oa__region* r = oa__rec(a, slot);
    return r->right < count && moves[r->right].reserved.id == oa__handle_id(slot, r->left);
}

/* The slot of move `index`'s reservation `h` if it is still live, else
 * OA__NIL. Its user word must be its move's index too: the caller's move
 * list is read back, and this keeps a list that was changed after begin
 * from freeing an allocation of the caller's. */
static uint32_t oa__c_reservation_slot(const oa_allocator* a, oa_allocation h, uint32_t index) {
    uint32_t d = oa__live_slot(a, h);
    return d != OA__NIL && oa__rec(a, d)->right == index ? d : OA__NIL;
}

/* Give move `index`'s reservation `h` back, if it is still live. */
static void oa__c_release(oa_allocator* a, oa_allocation h, uint32_t index) {
    if (oa__c_reservation_slot(a, h, index) != OA__NIL) {
        oa_result res = oa_free(a, h);
        OA_ASSERT(res == OA_SUCCESS);
        (void)res;
    }
}

/* ---- the plan ---- */

typedef struct oa__c_plan {
    oa_compact_move* moves;
    uint32_t max_moves;
    uint64_t max_bytes;
    uint64_t align;
    oa_compact_filter_fn filter;
    void* filter_user;
} oa__c_plan;

/* The alignment allocation `slot` moves at, or 0 when it is pinned. */
static uint64_t oa__c_move_align(const oa_allocator* a, const oa__c_plan* p, uint32_t slot) {
    uint64_t align = p->align;
    if (p->filter == NULL) {
        return align;
    }
    const oa__region* r = oa__rec(a, slot);
    oa_region_info info;
    info.offset = r->offset;
    info.size = r->size;
    info.is_free = false;
    info.allocation.id = oa__handle_id(slot, r->left);
    info.user = r->right;
    if (!p->filter(p->filter_user, &info, &align) || align == 0) {
        return 0;
    }
    return oa__c_lcm(p->align, align); /* 0 (pinned) if it overflows */
}

/* Walk from the pool's end toward its start and reserve the moves; returns
 * their count, or the error of a first reservation that failed. */
static oa_result oa__c_plan_moves(oa_allocator* a, const oa__c_plan* p, uint32_t* out_count) {
    uint32_t count = 0;
    uint64_t bytes = 0;
    uint32_t big = oa__index_largest(a);
    if (a->total_free == 0 || oa__rec(a, big)->size == a->total_free) {
        *out_count = 0;
        return OA_SUCCESS; /* the free space is one region already */
    }
    uint64_t free_seen = 0; /* free bytes at or after the walk's position */
    uint32_t last_src = OA__NIL;
    uint64_t last_run = 0; /* bytes free after commit from last_src's offset on */
    oa_result res = OA_SUCCESS;
    for (uint32_t x = a->tail; x != OA__NIL && count < p->max_moves;) {
        uint32_t prev = oa__rec(a, x)->prev;
        if (oa__is_free(oa__rec(a, x))) {
            free_seen += oa__rec(a, x)->size;
            x = prev;
            continue;
        }
        if (free_seen == a->total_free) {
            break; /* no byte before x is free: the rest is packed */
        }
        if (oa__c_is_reservation(a, p->moves, count, x)) {
            x = prev;
            continue;
        }
        uint64_t size = oa__rec(a, x)->size, offset = oa__rec(a, x)->offset;
        uint64_t left =
            prev != OA__NIL && oa__is_free(oa__rec(a, prev)) ? oa__rec(a, prev)->size : 0;
        uint64_t right = 0;
        uint32_t n = oa__next(oa__rec(a, x));
        if (n != OA__NIL && oa__is_free(oa__rec(a, n))) {
            right += oa__rec(a, n)->size;
            n = oa__next(oa__rec(a, n));
        }
        if (n != OA__NIL && n == last_src) {
            right += last_run;
        }
        uint64_t align;
        uint32_t d;
        /* An allocation with nothing to merge with would only move a hole. */
        if (left + right == 0 || size > p->max_bytes - bytes ||
            (align = oa__c_move_align(a, p, x)) == 0 ||
            (d = oa__c_find_before(a, size, align, offset, left + size + right - 1)) == OA__NIL) {
            x = oa__rec(a, x)->prev;
            continue;
        }
        uint64_t d_size = oa__rec(a, d)->size;
        uint64_t pad = oa__pad(oa__rec(a, d)->offset, align);
        uint64_t tail = d_size - pad - size;
        /* The run this move frees; a destination right before x keeps its
         * tail in that run. */
        uint64_t run = (d == prev ? tail : left) + size + right;
        /* Useful moves only: the run this move frees after commit exceeds
         * the region it fills. That also keeps the largest free region (see
         * the top of this file). */
        if (run <= d_size) {
            x = prev;
            continue;
        }
        oa_allocation h;
        res = oa__carve(a, d, pad, size, count, &h, NULL);
        if (res != OA_SUCCESS) {
            break;
        }
        oa_compact_move* m = &p->moves[count++];
        m->allocation.id = oa__handle_id(x, oa__rec(a, x)->left);
        m->old_offset = offset;
        m->new_offset = oa__rec(a, oa__live_slot(a, h))->offset;
        m->size = size;
        m->reserved = h;
        bytes += size;
        last_src = x;
        last_run = size + right;
        x = oa__rec(a, x)->prev;
    }
    *out_count = count;
    return count == 0 ? res : OA_SUCCESS;
}

oa_result oa_compact_begin(oa_allocator* a, const oa_compact_limits* limits, oa_compact_move* moves,
                           uint32_t move_capacity, uint32_t* out_count) {
    if (out_count != NULL) {
        *out_count = 0;
    }
    if (a == NULL || out_count == NULL) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT,
                        "oa_compact_begin: allocator or out_count is NULL");
    }
    if (moves == NULL && move_capacity > 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT,
                        "oa_compact_begin: moves is NULL but move_capacity is not 0");
    }
    if (a->compact_count != 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT,
                        "oa_compact_begin: a pass is open; commit or abort it first");
    }
    oa_compact_limits l = {0, 0, 0, NULL, NULL};
    if (limits != NULL) {
        l = *limits;
    }
    oa__c_plan p;
    p.moves = moves;
    p.max_moves = l.max_moves != 0 && l.max_moves < move_capacity ? l.max_moves : move_capacity;
    p.max_bytes = l.max_bytes != 0 ? l.max_bytes : UINT64_MAX;
    p.align = oa__c_lcm(l.align != 0 ? l.align : 1, a->granularity);
    p.filter = l.filter;
    p.filter_user = l.filter_user;
    if (p.align == 0) {
        return oa__fail(a, OA_ERROR_OVERFLOW,
                        "oa_compact_begin: limits->align at the granularity passes 2^64 - 1");
    }
    uint32_t count = 0;
    oa_result res = oa__c_plan_moves(a, &p, &count);
    if (res != OA_SUCCESS) {
        return oa__fail(a, res, "oa_compact_begin: no region record for a reservation");
    }
    a->compact_moves = moves;
    a->compact_count = count;
    if (a->record != NULL) {
        oa__record_compact_begin(a, moves, count);
    }
    *out_count = count;
    return OA_SUCCESS;
}

oa_result oa_compact_commit(oa_allocator* a) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    oa_compact_move* moves = a->compact_moves;
    uint32_t count = a->compact_count;
    a->compact_moves = NULL;
    a->compact_count = 0;
    for (uint32_t i = 0; i < count; i++) {
        const oa_compact_move* m = &moves[i];
        uint32_t s = oa__live_slot(a, m->allocation);
        uint32_t d = oa__c_reservation_slot(a, m->reserved, i);
        if (s != OA__NIL && d != OA__NIL && s != d && oa__rec(a, s)->offset == m->old_offset &&
            oa__rec(a, s)->size == m->size && oa__rec(a, d)->offset == m->new_offset &&
            oa__rec(a, d)->size == m->size) {
            /* The allocation takes the reservation's bytes; the reservation
             * takes the old ones and is freed with them. */
            oa__c_swap_places(a, s, d);
            if (a->record != NULL) {
                oa__record_move(a, m);
            }
        }
        oa__c_release(a, m->reserved, i);
    }
    return OA_SUCCESS;
}

oa_result oa_compact_abort(oa_allocator* a) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    oa_compact_move* moves = a->compact_moves;
    uint32_t count = a->compact_count;
    a->compact_moves = NULL;
    a->compact_count = 0;
    for (uint32_t i = 0; i < count; i++) {
        oa__c_release(a, moves[i].reserved, i);
    }
    return OA_SUCCESS;
}

bool oa_compact_is_open(const oa_allocator* a) {
    return a != NULL && a->compact_count != 0;
}
