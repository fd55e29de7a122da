/* oa_internal.h - declarations shared by the core's source files (not installed).
 * Owns the layout of the allocator object and of a region record, and the
 * small bit helpers. The region table is one array of 32-byte records indexed
 * by slot; slot 0 is the NIL sentinel and never holds a region.
 * Invariant: every byte of [0, capacity) lies in exactly one used or free
 * record, linked in address order through prev/next. */
#ifndef OA_INTERNAL_H
#define OA_INTERNAL_H

#include "orderly/orderly.h"

#include <stdint.h>

#ifndef OA_ASSERT
#ifdef OA_DEBUG_ASSERTS
#include <assert.h>
#define OA_ASSERT(x) assert(x)
#else
#define OA_ASSERT(x) ((void)0)
#endif
#endif

#define OA__NIL 0u
/* `right` of a used record and of an unused slot. A free record's `right` is
 * a treap child (a slot index below OA_MAX_REGIONS < 2^31), or, for dust, the
 * next dust slot with OA__DUST_BIT set. */
#define OA__MARK_USED 0xFFFFFFFFu
#define OA__MARK_UNUSED 0xFFFFFFFEu
#define OA__DUST_BIT 0x80000000u

/* One region: an allocation, a free region, or an unused slot.
 *   used:   left = generation, right = OA__MARK_USED
 *   free:   left/right = children in its bin's treap, or, for dust,
 *           left = previous dust slot, right = next dust slot | OA__DUST_BIT
 *   unused: left = next unused slot, right = OA__MARK_UNUSED
 * Generations come from one per-allocator counter, so a record needs no
 * generation while it is free, and 32 bytes hold everything. */
typedef struct oa__region {
    uint64_t offset;
    uint64_t size;
    uint32_t prev; /* address order; OA__NIL before the first region */
    uint32_t next; /* address order; OA__NIL after the last region */
    uint32_t left;
    uint32_t right;
} oa__region;

_Static_assert(sizeof(oa__region) == OA_REGION_RECORD_SIZE, "a region record is 32 bytes");

/* Size bins: one bin per exact size below OA__LINEAR_SIZE, then
 * OA__SUB_BINS bins per power of two up to 2^64. Within a bin, free regions
 * form a treap ordered by (size, offset). */
#define OA__LINEAR_LOG2 10u
#define OA__LINEAR_SIZE (1u << OA__LINEAR_LOG2)
#define OA__SUB_LOG2 5u
#define OA__SUB_BINS (1u << OA__SUB_LOG2)
#define OA__BIN_COUNT (OA__LINEAR_SIZE + (64u - OA__LINEAR_LOG2) * OA__SUB_BINS)
#define OA__BITMAP_WORDS ((OA__BIN_COUNT + 63u) / 64u)
#define OA__TOP_WORDS ((OA__BITMAP_WORDS + 63u) / 64u)

struct oa_allocator {
    oa__region* regions;    /* the table; regions[0] is the NIL sentinel */
    uint32_t slot_capacity; /* records the table holds */
    uint32_t slot_count;    /* slots ever handed out (high-water); 1 + ... */
    uint32_t unused_head;   /* LIFO list of released slots below slot_count */
    uint32_t unused_count;
    uint32_t head;       /* region at offset 0 */
    uint32_t tail;       /* region ending at capacity */
    uint32_t generation; /* next generation to hand out, never 0 */
    bool is_fixed;       /* no table growth */
    bool owns_self;      /* allocated through the callbacks (not caller memory) */
    bool owns_table;
    uint64_t capacity;
    uint64_t total_free;
    uint64_t allocation_count;
    uint64_t free_count;
    /* Dust: free regions smaller than every request made so far cannot serve
     * any of them, so they wait on an unsorted list instead of a treap.
     * dust_limit is a power of two (or UINT64_MAX before the first request)
     * and only ever falls, so it falls at most 64 times. */
    uint64_t dust_limit;
    uint32_t dust_head;
    uint32_t dust_count;
    oa_alloc_callbacks callbacks;
    oa_log_fn log;
    void* log_user;
    uint64_t top_bitmap[OA__TOP_WORDS];
    uint64_t bitmap[OA__BITMAP_WORDS];
    uint32_t bin_root[OA__BIN_COUNT];
    /* For each exact-size bin: a superset of the residues (offset mod 16) of
     * the regions in it (bit r for residue r); aligned walks skip bins where
     * no residue can fit. Bits are set on insert, cleared when the bin
     * empties, and made exact by a walk that visited the whole bin. */
    uint16_t bin_residues[OA__LINEAR_SIZE];
};

/* ---- bit helpers ---- */
static inline uint32_t oa__ctz64(uint64_t x) {
    OA_ASSERT(x != 0);
    return (uint32_t)__builtin_ctzll(x);
}
static inline uint32_t oa__log2_64(uint64_t x) {
    OA_ASSERT(x != 0);
    return 63u - (uint32_t)__builtin_clzll(x);
}
static inline bool oa__is_pow2(uint64_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}
/* Bytes from `offset` up to the next multiple of `align` (align >= 1). */
static inline uint64_t oa__pad(uint64_t offset, uint64_t align) {
    if (oa__is_pow2(align)) {
        return (0 - offset) & (align - 1);
    }
    uint64_t rem = offset % align;
    return rem == 0 ? 0 : align - rem;
}

static inline uint64_t oa__handle_id(uint32_t slot, uint32_t generation) {
    return (uint64_t)slot | ((uint64_t)generation << 32);
}

/* ---- region.c: slots, table growth, logging ---- */
/* Make sure `count` more slots can be taken without failing. May grow the
 * table (moving it) in growable mode; takes no pointer into the table. */
oa_result oa__grow_slots(oa_allocator* a, uint32_t count);
static inline oa_result oa__reserve_slots(oa_allocator* a, uint32_t count) {
    if (a->unused_count + (a->slot_capacity - a->slot_count) >= count) {
        return OA_SUCCESS;
    }
    return oa__grow_slots(a, count);
}
/* Take one slot; oa__reserve_slots must have succeeded for it. */
static inline uint32_t oa__take_slot(oa_allocator* a) {
    uint32_t s = a->unused_head;
    if (s != OA__NIL) {
        a->unused_head = a->regions[s].left;
        a->unused_count--;
        return s;
    }
    OA_ASSERT(a->slot_count < a->slot_capacity);
    return a->slot_count++;
}
static inline void oa__release_slot(oa_allocator* a, uint32_t slot) {
    oa__region* r = &a->regions[slot];
    r->left = a->unused_head;
    r->right = OA__MARK_UNUSED;
    a->unused_head = slot;
    a->unused_count++;
}
#if defined(__GNUC__)
__attribute__((cold))
#endif
oa_result
oa__fail(const oa_allocator* a, oa_result result, const char* message);
/* The record of a live handle, or OA__NIL when the handle is not live. */
static inline uint32_t oa__live_slot(const oa_allocator* a, oa_allocation allocation) {
    uint32_t slot = (uint32_t)allocation.id;
    uint32_t generation = (uint32_t)(allocation.id >> 32);
    if (slot == OA__NIL || slot >= a->slot_count) {
        return OA__NIL;
    }
    const oa__region* r = &a->regions[slot];
    if (r->right != OA__MARK_USED || r->left != generation) {
        return OA__NIL;
    }
    return slot;
}

/* ---- bins.c: size bins, occupancy bitmaps, treaps ---- */
static inline uint32_t oa__bin_of(uint64_t size) {
    OA_ASSERT(size != 0);
    if (size < OA__LINEAR_SIZE) {
        return (uint32_t)size;
    }
    uint32_t e = oa__log2_64(size);
    uint32_t sub = (uint32_t)(size >> (e - OA__SUB_LOG2)) & (OA__SUB_BINS - 1);
    return OA__LINEAR_SIZE + (e - OA__LINEAR_LOG2) * OA__SUB_BINS + sub;
}
/* The smallest size that maps to `bin`. */
static inline uint64_t oa__bin_min_size(uint32_t bin) {
    if (bin < OA__LINEAR_SIZE) {
        return bin;
    }
    uint32_t k = bin - OA__LINEAR_SIZE;
    uint32_t e = k / OA__SUB_BINS + OA__LINEAR_LOG2;
    uint64_t sub = k % OA__SUB_BINS;
    return (1ull << e) | (sub << (e - OA__SUB_LOG2));
}
void oa__treap_insert(oa_allocator* a, uint32_t slot);
void oa__treap_remove(oa_allocator* a, uint32_t slot);

/* First non-empty bin >= bin, or OA__BIN_COUNT. */
static inline uint32_t oa__next_bin(const oa_allocator* a, uint32_t bin) {
    if (bin >= OA__BIN_COUNT) {
        return OA__BIN_COUNT;
    }
    uint32_t w = bin >> 6;
    uint64_t m = a->bitmap[w] & (~0ull << (bin & 63));
    if (m != 0) {
        return (w << 6) + oa__ctz64(m);
    }
    uint32_t t = w + 1; /* next bitmap word to consider */
    for (uint32_t tw = t >> 6; tw < OA__TOP_WORDS; tw++) {
        uint64_t tm = a->top_bitmap[tw];
        if (tw == (t >> 6)) {
            tm &= (t & 63) == 0 ? ~0ull : (~0ull << (t & 63));
        }
        if (tm != 0) {
            uint32_t word = (tw << 6) + oa__ctz64(tm);
            return (word << 6) + oa__ctz64(a->bitmap[word]);
        }
    }
    return OA__BIN_COUNT;
}

/* Smallest (size, offset) >= (size, offset) in one bin, or OA__NIL. */
uint32_t oa__bin_lower_bound(const oa_allocator* a, uint32_t bin, uint64_t size, uint64_t offset);
uint32_t oa__bin_first(const oa_allocator* a, uint32_t bin);
uint32_t oa__bin_last(const oa_allocator* a, uint32_t bin);
uint32_t oa__treap_priority(uint32_t slot);
void oa__bins_clear(oa_allocator* a);
/* Lower dust_limit to the largest power of two <= size and move the dust that
 * is no longer below it into the treaps. O(dust) the few times it acts. */
void oa__dust_lower(oa_allocator* a, uint64_t size);
static inline bool oa__is_dust(const oa__region* r) {
    return r->right >= OA__DUST_BIT && r->right < OA__MARK_UNUSED;
}
/* The dust list: doubly linked through left (previous) and right (next,
 * with OA__DUST_BIT set). */
static inline void oa__dust_push(oa_allocator* a, uint32_t x) {
    oa__region* R = a->regions;
    R[x].left = OA__NIL;
    R[x].right = a->dust_head | OA__DUST_BIT;
    if (a->dust_head != OA__NIL) {
        R[a->dust_head].left = x;
    }
    a->dust_head = x;
    a->dust_count++;
}
static inline void oa__dust_unlink(oa_allocator* a, uint32_t x) {
    oa__region* R = a->regions;
    uint32_t prev = R[x].left;
    uint32_t next = R[x].right & ~OA__DUST_BIT;
    if (prev != OA__NIL) {
        R[prev].right = next | OA__DUST_BIT;
    } else {
        a->dust_head = next;
    }
    if (next != OA__NIL) {
        R[next].left = prev;
    }
    a->dust_count--;
}
/* Put a free region into the size index (a treap, or the dust list). */
static inline void oa__index_insert(oa_allocator* a, uint32_t slot) {
    if (a->regions[slot].size < a->dust_limit) {
        oa__dust_push(a, slot);
    } else {
        oa__treap_insert(a, slot);
    }
}
static inline void oa__index_remove(oa_allocator* a, uint32_t slot) {
    if (oa__is_dust(&a->regions[slot])) {
        oa__dust_unlink(a, slot);
    } else {
        oa__treap_remove(a, slot);
    }
}

#endif /* OA_INTERNAL_H */
