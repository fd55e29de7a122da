/* alloc.c - placement, freeing, resizing and the read-only queries.
 * Finds the exact best-fit region through the size index (bins.c), splits it
 * into front padding, allocation and tail, and merges freed regions with their
 * address neighbours through the region table's links. Does not manage slots
 * or the table's memory (region.c does).
 * Invariant on return from every function: no two free regions touch, and an
 * operation that fails has changed nothing. */
#include "oa_internal.h"

#include <string.h>

static inline bool oa__is_free_slot(const oa__region* R, uint32_t slot) {
    return slot != OA__NIL && R[slot].right != OA__MARK_USED;
}

/* Does free region r hold `size` bytes at a multiple of `align`? */
static inline bool oa__fits(const oa__region* r, uint64_t size, uint64_t align, uint64_t sure) {
    return r->size >= sure || oa__pad(r->offset, align) <= r->size - size;
}

/* Deepest path the in-order walk keeps on its stack; a deeper treap (far
 * beyond any expected depth) falls back to one descent per step. */
#define OA__WALK_STACK 64u

/* The first region of bin `b`, in (size, offset) order from the first of size
 * >= `size`, that holds the request at its alignment; OA__NIL if none. */
/* The walk past OA__WALK_STACK levels: from the key (from_size, from_offset)
 * on, one descent per candidate. */
static uint32_t oa__walk_by_descents(const oa_allocator* a, uint32_t b, uint64_t from_size,
                                     uint64_t from_offset, uint64_t size, uint64_t align,
                                     uint64_t sure) {
    const oa__region* R = a->regions;
    for (uint32_t n = oa__bin_lower_bound(a, b, from_size, from_offset); n != OA__NIL;
         n = oa__bin_lower_bound(a, b, R[n].size, R[n].offset + 1)) {
        if (oa__fits(&R[n], size, align, sure)) {
            return n;
        }
    }
    return OA__NIL;
}

static uint32_t oa__walk_bin(oa_allocator* a, uint32_t b, uint64_t size, uint64_t align,
                             uint64_t sure) {
    const oa__region* R = a->regions;
    uint32_t seen = 0; /* residues (offset mod 16) of the regions visited */
    uint32_t stack[OA__WALK_STACK];
    uint32_t depth = 0;
    uint32_t n = a->bin_root[b];
    /* Descend to the lower bound, keeping the nodes still to visit (those
     * where the path turned left) on the stack. */
    while (n != OA__NIL) {
        if (R[n].size >= size) {
            if (depth == OA__WALK_STACK) {
                return oa__walk_by_descents(a, b, size, 0, size, align, sure);
            }
            stack[depth++] = n;
            n = R[n].left;
        } else {
            n = R[n].right;
        }
    }
    while (depth > 0) {
        uint32_t x = stack[--depth];
        if (oa__fits(&R[x], size, align, sure)) {
            return x;
        }
        seen |= 1u << (R[x].offset & 15);
        for (n = R[x].right; n != OA__NIL; n = R[n].left) {
            if (depth == OA__WALK_STACK) {
                /* Resume by descents from the key after x. */
                return oa__walk_by_descents(a, b, R[x].size, R[x].offset + 1, size, align, sure);
            }
            stack[depth++] = n;
        }
    }
    if (b < OA__LINEAR_SIZE) {
        /* All regions of an exact-size bin have size >= `size`, so this walk
         * saw every one of them: the bin's residues are now known exactly. */
        a->bin_residues[b] = (uint16_t)seen;
    }
    return OA__NIL;
}

/* The free region that exact best-fit picks for (size, align), or OA__NIL.
 * Regions are visited in (size, offset) order starting at the first of size
 * >= `size`; the first that holds the request at its alignment wins. Any
 * region of size + align - 1 bytes or more holds it, so the walk visits at
 * most the regions in [size, size + align - 1) that do not fit, plus one.
 * (The offset + 1 of a resumed walk cannot wrap: a region of size >= 1
 * starts below 2^64 - 1.) */
/* Residues (offset mod 16) a region of an exact-size bin must have to hold a
 * request with `slack` bytes to spare at a power-of-two alignment: row
 * log2(min(align, 16)) - 1, column slack (0..14). A region fits iff its
 * padding (-offset mod align) is at most the slack, and with align >= 16 that
 * needs (-offset mod 16) <= slack. 0xFFFF rules nothing out. */
/* clang-format off */
static const uint16_t oa__residue_filters[4][15] = {
    {0x5555, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x1111, 0x9999, 0xDDDD, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x0101, 0x8181, 0xC1C1, 0xE1E1, 0xF1F1, 0xF9F9, 0xFDFD, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x0001, 0x8001, 0xC001, 0xE001, 0xF001, 0xF801, 0xFC01, 0xFE01, 0xFF01, 0xFF81, 0xFFC1, 0xFFE1, 0xFFF1, 0xFFF9, 0xFFFD}};
/* clang-format on */

static inline uint16_t oa__residue_filter(uint64_t align, uint64_t slack) {
    if (slack >= 15 || !oa__is_pow2(align)) {
        return 0xFFFFu;
    }
    uint32_t row = align >= 16 ? 3u : oa__log2_64(align) - 1u;
    return oa__residue_filters[row][slack];
}

static uint32_t oa__find(oa_allocator* a, uint64_t size, uint64_t align, uint32_t* out_bin) {
    uint32_t home = oa__bin_of(size);
    uint32_t b = oa__next_bin(a, home);
    if (align == 1) {
        while (b < OA__BIN_COUNT) {
            uint32_t n = (b == home && b >= OA__LINEAR_SIZE) ? oa__bin_lower_bound(a, b, size, 0)
                                                             : oa__bin_first(a, b);
            if (n != OA__NIL) {
                *out_bin = b;
                return n;
            }
            b = oa__next_bin(a, b + 1);
        }
        return OA__NIL;
    }
    uint64_t sure = size + (align - 1); /* caller checked that this does not overflow */
    while (b < OA__BIN_COUNT) {
        /* An exact-size bin none of whose residues can be aligned enough is
         * skipped without a walk. */
        if (b >= OA__LINEAR_SIZE ||
            (a->bin_residues[b] & oa__residue_filter(align, b - size)) != 0) {
            uint32_t n = oa__walk_bin(a, b, size, align, sure);
            if (n != OA__NIL) {
                *out_bin = b;
                return n;
            }
        }
        b = oa__next_bin(a, b + 1);
    }
    return OA__NIL;
}

static uint32_t oa__next_generation(oa_allocator* a) {
    uint32_t g = a->generation;
    a->generation = g + 1 == 0 ? 1 : g + 1;
    return g;
}

/* Give the first `pad` bytes of record y to a new free record in front of
 * it (a slot is reserved). */
static inline void oa__split_pad(oa_allocator* a, uint32_t y, uint64_t pad) {
    oa__region* R = a->regions;
    uint32_t p = oa__take_slot(a);
    oa__region* rp = &R[p];
    oa__region* ry = &R[y];
    rp->offset = ry->offset;
    rp->size = pad;
    rp->prev = ry->prev;
    rp->next = y;
    if (ry->prev != OA__NIL) {
        R[ry->prev].next = p;
    } else {
        a->head = p;
    }
    ry->prev = p;
    ry->offset += pad;
    oa__index_insert(a, p);
    a->free_count++;
}

/* Carve the allocation from the front of free region x, whose record keeps
 * the tail in place (see the caller). Slots are reserved. Returns the
 * allocation's record; pad bytes in front of it become a free region. */
static uint32_t oa__carve_keep_tail(oa_allocator* a, uint32_t x, uint64_t pad, uint64_t size,
                                    uint64_t tail) {
    oa__region* R = a->regions;
    uint32_t y = oa__take_slot(a);
    oa__region* rx = &R[x];
    oa__region* ry = &R[y];
    ry->offset = rx->offset;
    ry->prev = rx->prev;
    ry->next = x;
    if (rx->prev != OA__NIL) {
        R[rx->prev].next = y;
    } else {
        a->head = y;
    }
    rx->prev = y;
    rx->offset += pad + size;
    rx->size = tail;
    if (pad != 0) {
        oa__split_pad(a, y, pad);
    }
    return y;
}

/* Carve the allocation out of free region x, which leaves the index; the
 * pad and the tail, if any, become free regions of their own. Slots are
 * reserved. The allocation keeps x's record. */
static void oa__carve(oa_allocator* a, uint32_t x, uint64_t pad, uint64_t size, uint64_t tail) {
    oa__index_remove(a, x);
    oa__region* R = a->regions;
    oa__region* rx = &R[x];
    if (pad != 0) {
        oa__split_pad(a, x, pad);
    }
    if (tail != 0) {
        uint32_t t = oa__take_slot(a);
        oa__region* rt = &R[t];
        rt->offset = rx->offset + size;
        rt->size = tail;
        rt->prev = x;
        rt->next = rx->next;
        if (rx->next != OA__NIL) {
            R[rx->next].prev = t;
        } else {
            a->tail = t;
        }
        rx->next = t;
        oa__index_insert(a, t);
        a->free_count++;
    }
    a->free_count--;
}

/* oa_alloc's failure exit: known values in the out-params, a message for
 * the log where the argument was wrong. */
#if defined(__GNUC__)
__attribute__((cold, noinline))
#endif
static oa_result
oa__alloc_fail(const oa_allocator* a, uint64_t size, uint64_t align, oa_allocation* out_allocation,
               uint64_t* out_offset, oa_result result) {
    if (out_allocation != NULL) {
        out_allocation->id = 0;
    }
    if (out_offset != NULL) {
        *out_offset = OA_NO_OFFSET;
    }
    if (result != OA_ERROR_INVALID_ARGUMENT) {
        return result;
    }
    if (a == NULL || out_allocation == NULL) {
        return oa__fail(a, result, "oa_alloc: allocator or out_allocation is NULL");
    }
    if (size == 0) {
        return oa__fail(a, result, "oa_alloc: size is 0");
    }
    if (align == 0) {
        return oa__fail(a, result, "oa_alloc: align is 0 (use 1 for none)");
    }
    return oa__fail(a, OA_ERROR_OVERFLOW, "oa_alloc: size + align - 1 passes 2^64 - 1");
}

oa_result oa_alloc(oa_allocator* a, uint64_t size, uint64_t align, oa_allocation* out_allocation,
                   uint64_t* out_offset) {
    /* One test for every bad argument; the cold path says which. (size - 1
     * wraps for size 0, so the overflow test also catches it.) */
    if (a == NULL || out_allocation == NULL || align == 0 || size - 1 > UINT64_MAX - align) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset,
                              OA_ERROR_INVALID_ARGUMENT);
    }
    if (size > a->total_free) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset, OA_ERROR_OUT_OF_SPACE);
    }
    if (size < a->dust_limit) {
        oa__dust_lower(a, size);
    }
    uint32_t bin = OA__BIN_COUNT;
    uint32_t x = oa__find(a, size, align, &bin);
    if (x == OA__NIL) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset, OA_ERROR_OUT_OF_SPACE);
    }
    uint64_t pad = oa__pad(a->regions[x].offset, align);
    uint64_t tail = a->regions[x].size - pad - size;
    /* Carving from the front of a large region (a fill, the wilderness at the
     * end of the pool): when x is its bin's root with nothing to its left and
     * the tail stays in the same bin, the tail keeps x's record in place (its
     * smaller key is still below every other key of the bin) and the
     * allocation takes a new record: no index work at all. */
    /* (A bin of the log-linear part is 1/32 of its sizes wide, so a tail in
     * x's bin means pad + size below x's size / 32: the cheap test first.) */
    bool keep_tail = pad + size < (a->regions[x].size >> OA__SUB_LOG2) && bin >= OA__LINEAR_SIZE &&
                     a->bin_root[bin] == x && a->regions[x].left == OA__NIL &&
                     tail >= oa__bin_min_size(bin) && tail >= a->dust_limit;
    uint32_t need =
        keep_tail ? 1u + (uint32_t)(pad != 0) : (uint32_t)(pad != 0) + (uint32_t)(tail != 0);
    if (need != 0) {
        oa_result res = oa__reserve_slots(a, need); /* may move the table */
        if (res != OA_SUCCESS) {
            return oa__alloc_fail(a, size, align, out_allocation, out_offset, res);
        }
    }
    uint32_t y = x;
    if (keep_tail) {
        y = oa__carve_keep_tail(a, x, pad, size, tail);
    } else {
        oa__carve(a, x, pad, size, tail);
    }
    oa__region* ry = &a->regions[y];
    uint32_t g = oa__next_generation(a);
    ry->size = size;
    ry->left = g;
    ry->right = OA__MARK_USED;
    a->allocation_count++;
    a->total_free -= size;
    out_allocation->id = oa__handle_id(y, g);
    if (out_offset != NULL) {
        *out_offset = ry->offset;
    }
    return OA_SUCCESS;
}

/* Unlink `slot` from the address chain (its neighbours now touch). */
static void oa__unlink(oa_allocator* a, uint32_t slot) {
    oa__region* R = a->regions;
    uint32_t p = R[slot].prev, n = R[slot].next;
    if (p != OA__NIL) {
        R[p].next = n;
    } else {
        a->head = n;
    }
    if (n != OA__NIL) {
        R[n].prev = p;
    } else {
        a->tail = p;
    }
}

oa_result oa_free(oa_allocator* a, oa_allocation allocation) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (allocation.id == 0) {
        return OA_SUCCESS;
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return oa__fail(a, OA_ERROR_STALE_HANDLE,
                        "oa_free: the handle is not a live allocation of this allocator");
    }
    oa__region* R = a->regions;
    oa__region* rx = &R[x];
    a->total_free += rx->size;
    a->allocation_count--;
    uint32_t n = rx->next;
    if (oa__is_free_slot(R, n)) {
        oa__index_remove(a, n);
        rx->size += R[n].size;
        oa__unlink(a, n);
        oa__release_slot(a, n);
        a->free_count--;
    }
    uint32_t p = rx->prev;
    if (oa__is_free_slot(R, p)) {
        oa__index_remove(a, p);
        R[p].size += rx->size;
        oa__unlink(a, x);
        oa__release_slot(a, x);
        oa__index_insert(a, p);
    } else {
        oa__index_insert(a, x);
        a->free_count++;
    }
    return OA_SUCCESS;
}

oa_result oa_allocation_get(const oa_allocator* a, oa_allocation allocation, uint64_t* out_offset,
                            uint64_t* out_size) {
    if (out_offset != NULL) {
        *out_offset = OA_NO_OFFSET;
    }
    if (out_size != NULL) {
        *out_size = 0;
    }
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return OA_ERROR_STALE_HANDLE;
    }
    if (out_offset != NULL) {
        *out_offset = a->regions[x].offset;
    }
    if (out_size != NULL) {
        *out_size = a->regions[x].size;
    }
    return OA_SUCCESS;
}

oa_result oa_try_resize(oa_allocator* a, oa_allocation allocation, uint64_t new_size) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (new_size == 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT, "oa_try_resize: new_size is 0");
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return oa__fail(a, OA_ERROR_STALE_HANDLE,
                        "oa_try_resize: the handle is not a live allocation of this allocator");
    }
    oa__region* R = a->regions;
    uint64_t old_size = R[x].size;
    uint32_t n = R[x].next;
    if (new_size > old_size) {
        uint64_t grow = new_size - old_size;
        if (!oa__is_free_slot(R, n) || R[n].size < grow) {
            return OA_ERROR_OUT_OF_SPACE;
        }
        oa__index_remove(a, n);
        if (R[n].size == grow) {
            oa__unlink(a, n);
            oa__release_slot(a, n);
            a->free_count--;
        } else {
            R[n].offset += grow;
            R[n].size -= grow;
            oa__index_insert(a, n);
        }
        R[x].size = new_size;
        a->total_free -= grow;
    } else if (new_size < old_size) {
        uint64_t shrink = old_size - new_size;
        if (oa__is_free_slot(R, n)) {
            oa__index_remove(a, n);
            R[n].offset -= shrink;
            R[n].size += shrink;
            oa__index_insert(a, n);
        } else {
            oa_result res = oa__reserve_slots(a, 1);
            if (res != OA_SUCCESS) {
                return res;
            }
            R = a->regions;
            uint32_t t = oa__take_slot(a);
            R[t].offset = R[x].offset + new_size;
            R[t].size = shrink;
            R[t].prev = x;
            R[t].next = n;
            if (n != OA__NIL) {
                R[n].prev = t;
            } else {
                a->tail = t;
            }
            R[x].next = t;
            oa__index_insert(a, t);
            a->free_count++;
        }
        R[x].size = new_size;
        a->total_free += shrink;
    }
    return OA_SUCCESS;
}

oa_result oa_grow_capacity(oa_allocator* a, uint64_t added_size) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (added_size == 0) {
        return OA_SUCCESS;
    }
    if (added_size > UINT64_MAX - a->capacity) {
        return oa__fail(a, OA_ERROR_OVERFLOW, "oa_grow_capacity: capacity would pass 2^64 - 1");
    }
    uint32_t t = a->tail;
    if (oa__is_free_slot(a->regions, t)) {
        oa__index_remove(a, t);
        a->regions[t].size += added_size;
        oa__index_insert(a, t);
    } else {
        oa_result res = oa__reserve_slots(a, 1);
        if (res != OA_SUCCESS) {
            return res;
        }
        oa__region* R = a->regions;
        uint32_t s = oa__take_slot(a);
        R[s].offset = a->capacity;
        R[s].size = added_size;
        R[s].prev = t;
        R[s].next = OA__NIL;
        R[t].next = s;
        a->tail = s;
        oa__index_insert(a, s);
        a->free_count++;
    }
    a->capacity += added_size;
    a->total_free += added_size;
    return OA_SUCCESS;
}

static uint32_t oa__last_bin(const oa_allocator* a) {
    for (uint32_t tw = OA__TOP_WORDS; tw-- > 0;) {
        uint64_t tm = a->top_bitmap[tw];
        if (tm != 0) {
            uint32_t word = (tw << 6) + oa__log2_64(tm);
            return (word << 6) + oa__log2_64(a->bitmap[word]);
        }
    }
    return OA__BIN_COUNT;
}

oa_result oa_get_stats(const oa_allocator* a, oa_stats* out) {
    if (a == NULL || out == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    out->capacity = a->capacity;
    out->total_free = a->total_free;
    out->allocation_count = a->allocation_count;
    out->free_region_count = a->free_count;
    out->region_capacity = (uint64_t)a->slot_capacity - 1;
    out->metadata_bytes =
        (uint64_t)sizeof(oa_allocator) + (uint64_t)a->slot_capacity * sizeof(oa__region);
    uint32_t last = oa__last_bin(a);
    if (last < OA__BIN_COUNT) {
        out->largest_free = a->regions[oa__bin_last(a, last)].size;
    } else {
        /* Every free region is dust (smaller than all indexed ones would be). */
        for (uint32_t x = a->dust_head; x != OA__NIL; x = a->regions[x].right & ~OA__DUST_BIT) {
            if (a->regions[x].size > out->largest_free) {
                out->largest_free = a->regions[x].size;
            }
        }
    }
    out->fragmentation =
        a->total_free == 0 ? 0.0 : 1.0 - (double)out->largest_free / (double)a->total_free;
    return OA_SUCCESS;
}

oa_result oa_walk(const oa_allocator* a, uint32_t flags, oa_walk_fn fn, void* user) {
    if (a == NULL || fn == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    const oa__region* R = a->regions;
    for (uint32_t s = a->head; s != OA__NIL; s = R[s].next) {
        oa_region_info info;
        info.offset = R[s].offset;
        info.size = R[s].size;
        info.is_free = R[s].right != OA__MARK_USED;
        info.allocation.id = info.is_free ? 0 : oa__handle_id(s, R[s].left);
        uint32_t want = info.is_free ? OA_WALK_FREE : OA_WALK_ALLOCATIONS;
        if ((flags & want) != 0 && !fn(user, &info)) {
            break;
        }
    }
    return OA_SUCCESS;
}
