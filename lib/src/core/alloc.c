/* alloc.c - placement, freeing, resizing and the read-only queries.
 * Asks the size index (index.c) for the exact best-fit region, splits it into
 * front padding, allocation and tail, and merges freed regions with their
 * address neighbours through the region table's links. An allocation always
 * holds a slot of its own (region.c hands them out with their generations);
 * free regions live in other slots. Does not manage the table's memory.
 * Invariant on return from every function: no two free regions touch, and an
 * operation that fails has changed nothing. */
#include "oa_internal.h"

#include <string.h>

OA__INLINE bool oa__free_at(const oa_allocator* a, uint32_t slot) {
    return slot != OA__NIL && oa__is_free(oa__rec(a, slot));
}

/* Put `slot` between `before` and `after` in address order. */
OA__INLINE void oa__link_between(oa_allocator* a, uint32_t before, uint32_t slot, uint32_t after) {
    oa__link(a, before, slot);
    oa__link(a, slot, after);
}

/* Take `slot` out of the address chain (its neighbours now touch). */
OA__INLINE void oa__unlink(oa_allocator* a, uint32_t slot) {
    uint32_t p = oa__rec(a, slot)->prev, n = oa__next(oa__rec(a, slot));
    if (p != OA__NIL) {
        oa__set_next(a, p, n);
    } else {
        a->head = n;
    }
    if (n != OA__NIL) {
        oa__rec(a, n)->prev = p;
    } else {
        a->tail = p;
    }
}

uint64_t oa__gcd(uint64_t x, uint64_t y) {
    while (y != 0) {
        uint64_t t = x % y;
        x = y;
        y = t;
    }
    return x;
}

/* Size and alignment under the allocator's granularity: the size rounded up
 * to a multiple of it, the alignment a multiple of it. False on overflow. */
static bool oa__granulate(const oa_allocator* a, uint64_t* io_size, uint64_t* io_align) {
    uint64_t g = a->granularity;
    uint64_t size = *io_size, align = *io_align;
    uint64_t rem = size % g;
    if (rem != 0) {
        if (size > UINT64_MAX - (g - rem)) {
            return false;
        }
        size += g - rem;
    }
    if (align % g != 0) {
        uint64_t k = g / oa__gcd(align, g);
        if (align > UINT64_MAX / k) {
            return false;
        }
        align *= k;
    }
    if (size - 1 > UINT64_MAX - align) {
        return false;
    }
    *io_size = size;
    *io_align = align;
    return true;
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
    if (a != NULL && a->record != NULL && out_allocation != NULL) {
        oa__record_alloc_rejected(a, size, align);
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

OA__INLINE oa_result oa__carve_here(oa_allocator* a, uint32_t x, uint64_t pad, uint64_t size,
                                    uint32_t user, oa_allocation* out_allocation,
                                    uint64_t* out_offset) {
    uint64_t tail = oa__rec(a, x)->size - pad - size;
    uint32_t g;
    uint32_t y;
    if (pad == 0 && tail == 0 && a->idle_count == 0 && oa__slot_may_adopt(a, x)) {
        /* An exact fit with no idle slot: x's own record becomes the
         * allocation, so it needs no record more than it frees. */
        oa__index_remove(a, x);
        g = oa__adopt_slot(a, x);
        oa__region* rx = oa__rec(a, x);
        rx->left = g;
        rx->right = user;
        rx->next |= OA__FLAG;
        a->free_count--;
        a->allocation_count++;
        a->total_free -= size;
        out_allocation->id = oa__handle_id(x, g);
        if (out_offset != NULL) {
            *out_offset = rx->offset;
        }
        return OA_SUCCESS;
    }
    oa_result res =
        oa__reserve_slots(a, 1, pad != 0 && tail != 0 ? 1u : 0u); /* may move the table */
    if (OA__UNLIKELY(res != OA_SUCCESS)) {
        return res;
    }
    y = oa__take_handle_slot(a, &g);
    oa__region* rx = oa__rec(a, x);
    uint64_t at = rx->offset + pad;
    oa__rec(a, y)->offset = at;
    oa__rec(a, y)->size = size;
    oa__rec(a, y)->left = g;
    oa__rec(a, y)->right = user;
    oa__rec(a, y)->next = OA__FLAG; /* used */
    if (tail != 0) {
        /* x keeps the tail, its end unchanged; y goes in front of it, and the
         * pad, if any, in front of y. */
        uint32_t before = rx->prev;
        if (pad != 0) {
            uint32_t p = oa__take_region_slot(a);
            oa__rec(a, p)->offset = rx->offset;
            oa__rec(a, p)->size = pad;
            oa__rec(a, p)->next = 0;
            oa__link_between(a, before, p, x);
            oa__index_insert(a, p);
            a->free_count++;
            before = p;
        }
        oa__link_between(a, before, y, x);
        oa__index_rekey_front(a, x, at + size, tail);
    } else if (pad != 0) {
        /* x becomes the pad; y follows it. */
        oa__index_remove(a, x);
        rx->size = pad;
        oa__index_insert(a, x);
        oa__link_between(a, x, y, oa__next(rx));
    } else {
        /* y takes x's place exactly. */
        oa__index_remove(a, x);
        oa__link_between(a, rx->prev, y, oa__next(rx));
        oa__release_region_slot(a, x);
        a->free_count--;
    }
    a->allocation_count++;
    a->total_free -= size;
    out_allocation->id = oa__handle_id(y, g);
    if (out_offset != NULL) {
        *out_offset = at;
    }
    return OA_SUCCESS;
}

/* oa__carve_here for compact.c (oa_alloc has it inlined). */
oa_result oa__carve(oa_allocator* a, uint32_t x, uint64_t pad, uint64_t size, uint32_t user,
                    oa_allocation* out_allocation, uint64_t* out_offset) {
    return oa__carve_here(a, x, pad, size, user, out_allocation, out_offset);
}

oa_result oa_alloc(oa_allocator* a, uint64_t size, uint64_t align, oa_allocation* out_allocation,
                   uint64_t* out_offset) {
    /* One test for every bad argument; the cold path says which. (size - 1
     * wraps for size 0, so the overflow test also catches it.) */
    if (a == NULL || out_allocation == NULL || align == 0 || size - 1 > UINT64_MAX - align) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset,
                              OA_ERROR_INVALID_ARGUMENT);
    }
    if (OA__UNLIKELY(a->record != NULL)) {
        return oa__record_alloc(a, size, align, out_allocation, out_offset);
    }
    if (a->granularity != 1 && !oa__granulate(a, &size, &align)) {
        return oa__alloc_fail(a, 1, 1, out_allocation, out_offset,
                              oa__fail(a, OA_ERROR_OVERFLOW,
                                       "oa_alloc: size or alignment at the granularity passes "
                                       "2^64 - 1"));
    }
    if (size > a->total_free) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset, OA_ERROR_OUT_OF_SPACE);
    }
    if (OA__UNLIKELY(size < a->dust_limit)) {
        oa__dust_lower(a, size);
    }
    uint32_t x = oa__index_find(a, size, align);
    if (x == OA__NIL) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset, OA_ERROR_OUT_OF_SPACE);
    }
    uint64_t pad = oa__pad(oa__rec(a, x)->offset, align);
    oa_result res = oa__carve_here(a, x, pad, size, 0, out_allocation, out_offset);
    if (OA__UNLIKELY(res != OA_SUCCESS)) {
        return oa__alloc_fail(a, size, align, out_allocation, out_offset, res);
    }
    return OA_SUCCESS;
}

oa_result oa_free(oa_allocator* a, oa_allocation allocation) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (allocation.id == 0) {
        return OA_SUCCESS;
    }
    if (OA__UNLIKELY(a->record != NULL)) {
        return oa__record_free(a, allocation);
    }
    uint32_t y = oa__live_slot(a, allocation);
    if (y == OA__NIL) {
        return oa__fail(a, OA_ERROR_STALE_HANDLE,
                        "oa_free: the handle is not a live allocation of this allocator");
    }
    uint64_t offset = oa__rec(a, y)->offset, size = oa__rec(a, y)->size;
    uint32_t p = oa__rec(a, y)->prev, n = oa__next(oa__rec(a, y));
    a->total_free += size;
    a->allocation_count--;
    bool pf = oa__free_at(a, p), nf = oa__free_at(a, n);
    if (pf) {
        oa__index_remove(a, p);
        oa__rec(a, p)->size += size;
        oa__unlink(a, y);
        if (nf) {
            oa__index_remove(a, n);
            oa__rec(a, p)->size += oa__rec(a, n)->size;
            oa__unlink(a, n);
            oa__release_region_slot(a, n);
            a->free_count--;
        }
        oa__index_insert(a, p);
        oa__release_handle_slot(a, y);
    } else if (nf) {
        oa__unlink(a, y);
        oa__index_rekey_front(a, n, offset, size + oa__rec(a, n)->size);
        oa__release_handle_slot(a, y);
    } else {
        /* A free region of its own: y's slot keeps its age on the idle
         * queue, and the region takes another slot (never failing: y's is
         * one that can be taken). */
        oa__release_handle_slot(a, y);
        uint32_t z = oa__take_region_slot(a);
        oa__rec(a, z)->offset = offset;
        oa__rec(a, z)->size = size;
        oa__rec(a, z)->next = 0;
        oa__link_between(a, p, z, n);
        oa__index_insert(a, z);
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
        *out_offset = oa__rec(a, x)->offset;
    }
    if (out_size != NULL) {
        *out_size = oa__rec(a, x)->size;
    }
    return OA_SUCCESS;
}

oa_result oa_allocation_set_user(oa_allocator* a, oa_allocation allocation, uint32_t user) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return oa__fail(a, OA_ERROR_STALE_HANDLE,
                        "oa_allocation_set_user: the handle is not a live allocation");
    }
    oa__rec(a, x)->right = user;
    return OA_SUCCESS;
}

oa_result oa_allocation_get_user(const oa_allocator* a, oa_allocation allocation,
                                 uint32_t* out_user) {
    if (out_user != NULL) {
        *out_user = 0;
    }
    if (a == NULL || out_user == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return OA_ERROR_STALE_HANDLE;
    }
    *out_user = oa__rec(a, x)->right;
    return OA_SUCCESS;
}

oa_result oa_try_resize(oa_allocator* a, oa_allocation allocation, uint64_t new_size) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (a->record != NULL) {
        return oa__record_resize(a, allocation, new_size);
    }
    if (new_size == 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT, "oa_try_resize: new_size is 0");
    }
    uint32_t x = oa__live_slot(a, allocation);
    if (x == OA__NIL) {
        return oa__fail(a, OA_ERROR_STALE_HANDLE,
                        "oa_try_resize: the handle is not a live allocation of this allocator");
    }
    uint64_t g = a->granularity;
    if (new_size % g != 0) {
        if (new_size > UINT64_MAX - (g - new_size % g)) {
            return oa__fail(a, OA_ERROR_OVERFLOW, "oa_try_resize: new_size passes 2^64 - 1");
        }
        new_size += g - new_size % g;
    }
    uint64_t old_size = oa__rec(a, x)->size;
    uint32_t n = oa__next(oa__rec(a, x));
    if (new_size > old_size) {
        uint64_t grow = new_size - old_size;
        if (!oa__free_at(a, n) || oa__rec(a, n)->size < grow) {
            return OA_ERROR_OUT_OF_SPACE;
        }
        if (oa__rec(a, n)->size == grow) {
            oa__index_remove(a, n);
            oa__unlink(a, n);
            oa__release_region_slot(a, n);
            a->free_count--;
        } else {
            oa__index_rekey_front(a, n, oa__rec(a, n)->offset + grow, oa__rec(a, n)->size - grow);
        }
        oa__rec(a, x)->size = new_size;
        a->total_free -= grow;
    } else if (new_size < old_size) {
        uint64_t shrink = old_size - new_size;
        if (oa__free_at(a, n)) {
            oa__index_rekey_front(a, n, oa__rec(a, n)->offset - shrink,
                                  oa__rec(a, n)->size + shrink);
        } else {
            oa_result res = oa__reserve_slots(a, 0, 1);
            if (res != OA_SUCCESS) {
                return res;
            }
            uint32_t t = oa__take_region_slot(a);
            oa__rec(a, t)->offset = oa__rec(a, x)->offset + new_size;
            oa__rec(a, t)->size = shrink;
            oa__rec(a, t)->next = 0;
            oa__link_between(a, x, t, n);
            oa__index_insert(a, t);
            a->free_count++;
        }
        oa__rec(a, x)->size = new_size;
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
    if (a->record != NULL) {
        return oa__record_grow(a, added_size);
    }
    if (added_size > UINT64_MAX - a->capacity) {
        return oa__fail(a, OA_ERROR_OVERFLOW, "oa_grow_capacity: capacity would pass 2^64 - 1");
    }
    uint32_t t = a->tail;
    if (oa__free_at(a, t)) {
        oa__index_remove(a, t);
        oa__rec(a, t)->size += added_size;
        oa__index_insert(a, t);
    } else {
        oa_result res = oa__reserve_slots(a, 0, 1);
        if (res != OA_SUCCESS) {
            return res;
        }
        uint32_t s = oa__take_region_slot(a);
        oa__rec(a, s)->offset = a->capacity;
        oa__rec(a, s)->size = added_size;
        oa__rec(a, s)->next = 0;
        oa__link_between(a, t, s, OA__NIL);
        oa__index_insert(a, s);
        a->free_count++;
    }
    a->capacity += added_size;
    a->total_free += added_size;
    return OA_SUCCESS;
}

oa_result oa_get_stats(const oa_allocator* a, oa_stats* out) {
    if (a == NULL || out == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    memset(out, 0, sizeof *out);
    out->capacity = a->capacity;
    out->free_size = a->total_free;
    out->used_size = a->capacity - a->total_free;
    out->allocation_count = a->allocation_count;
    out->free_region_count = a->free_count;
    out->region_capacity = (uint64_t)a->slot_capacity - 1;
    out->metadata_bytes = (uint64_t)sizeof(oa_allocator) + a->table_records * sizeof(oa__region);
    out->retired_region_count = a->retired_count;
    uint32_t largest = oa__index_largest(a);
    if (largest != OA__NIL) {
        out->largest_free_size = oa__rec(a, largest)->size;
    }
    out->fragmentation =
        a->total_free == 0 ? 0.0 : 1.0 - (double)out->largest_free_size / (double)a->total_free;
    return OA_SUCCESS;
}

oa_result oa_walk(const oa_allocator* a, uint32_t flags, oa_walk_fn fn, void* user) {
    if (a == NULL || fn == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    for (uint32_t s = a->head; s != OA__NIL; s = oa__next(oa__rec(a, s))) {
        oa_region_info info;
        info.offset = oa__rec(a, s)->offset;
        info.size = oa__rec(a, s)->size;
        info.is_free = !oa__is_used(oa__rec(a, s));
        info.allocation.id = info.is_free ? 0 : oa__handle_id(s, oa__rec(a, s)->left);
        info.user = info.is_free ? 0 : oa__rec(a, s)->right;
        uint32_t want = info.is_free ? OA_WALK_FREE : OA_WALK_ALLOCATIONS;
        if ((flags & want) != 0 && !fn(user, &info)) {
            break;
        }
    }
    return OA_SUCCESS;
}
