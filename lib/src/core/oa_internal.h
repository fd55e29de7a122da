/* oa_internal.h - declarations shared by the core's source files (not installed).
 * Owns the layout of the allocator object and of a region record, the record
 * states, and the small bit helpers. The region table is one array of 32-byte
 * records indexed by slot; slot 0 is the NIL sentinel and never holds a region.
 * Invariant: every byte of [0, capacity) lies in exactly one used or free
 * record, linked in address order through prev/next. */
#ifndef OA_INTERNAL_H
#define OA_INTERNAL_H

#include "orderly/orderly.h"

#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

#ifndef OA_ASSERT
#ifdef OA_DEBUG_ASSERTS
#include <assert.h>
#define OA_ASSERT(x) assert(x)
#else
#define OA_ASSERT(x) ((void)0)
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define OA__INLINE static inline __attribute__((always_inline))
#define OA__LIKELY(x) __builtin_expect(!!(x), 1)
#define OA__UNLIKELY(x) __builtin_expect(!!(x), 0)
#elif defined(_MSC_VER)
#define OA__INLINE static __forceinline
#define OA__LIKELY(x) (x)
#define OA__UNLIKELY(x) (x)
#else
#define OA__INLINE static inline
#define OA__LIKELY(x) (x)
#define OA__UNLIKELY(x) (x)
#endif

#define OA__NIL 0u
/* Slot indices stay below 2^31, so bit 31 of each link is free for state. */
#define OA__LINK 0x7FFFFFFFu
#define OA__FLAG 0x80000000u

/* Record states, in explicit bits: bit 31 of `prev` and of `next`.
 *   FREE   (prev 0, next 0): a free region; left/right are its children in
 *          its bin's AVL tree, bit 31 of left / right = left- / right-heavy.
 *   USED   (prev 0, next 1): an allocation; left = generation, right = the
 *          caller's user word.
 *   UNUSED (prev 1): not in the address chain; left = next slot of its list.
 *          On the idle queue (slots that held an allocation, next bit 1):
 *          right = the age of the generation it last handed out. On the
 *          spare list (next bit 0): right unused.
 * A slot's age counts the generations it has handed out; a handle's
 * generation is the allocator's base + age (mod 2^32). See region.c. */
#define OA__ST_FREE 0u
#define OA__ST_USED 1u
#define OA__ST_UNUSED 2u
#define OA__ST_IDLE 3u

typedef struct oa__region {
    uint64_t offset;
    uint64_t size;
    uint32_t prev; /* address order (bits 0..30); OA__NIL before the first region */
    uint32_t next; /* address order (bits 0..30); OA__NIL after the last region */
    union {
        struct {
            uint32_t left;
            uint32_t right;
        };
        uint32_t link[2]; /* link[0] = left, link[1] = right */
    };
} oa__region;

_Static_assert(sizeof(oa__region) == OA_REGION_RECORD_SIZE, "a region record is 32 bytes");

OA__INLINE uint32_t oa__state(const oa__region* r) {
    return (r->prev >> 31) << 1 | (r->next >> 31);
}
OA__INLINE bool oa__is_used(const oa__region* r) {
    return oa__state(r) == OA__ST_USED;
}
OA__INLINE bool oa__is_free(const oa__region* r) {
    return ((r->prev | r->next) & OA__FLAG) == 0;
}
OA__INLINE uint32_t oa__prev(const oa__region* r) {
    return r->prev & OA__LINK;
}
OA__INLINE uint32_t oa__next(const oa__region* r) {
    return r->next & OA__LINK;
}

/* The oldest age a slot may reach; a slot whose generation would pass it is
 * retired from holding allocations (it still holds free regions). */
#define OA__AGE_MAX 0xFFFFFFFEu

/* Size bins: one bin per exact size below OA__LINEAR_SIZE, then
 * OA__SUB_BINS bins per power of two up to 2^64. */
#define OA__LINEAR_LOG2 10u
#define OA__LINEAR_SIZE (1u << OA__LINEAR_LOG2)
#define OA__SUB_LOG2 5u
#define OA__SUB_BINS (1u << OA__SUB_LOG2)
#define OA__BIN_COUNT (OA__LINEAR_SIZE + (64u - OA__LINEAR_LOG2) * OA__SUB_BINS)
#define OA__BITMAP_WORDS ((OA__BIN_COUNT + 63u) / 64u)
_Static_assert(OA__BITMAP_WORDS <= 64, "one summary word covers the bin bitmap");

/* End classes: a free region's class is the number of thresholds its end
 * offset's trailing-zero count reaches; class OA__CLASS_COUNT - 1 (ends on a
 * multiple of 2^16) needs no bookkeeping. See index.c. */
#define OA__CLASS_COUNT 7u
#define OA__COUNTED_CLASSES (OA__CLASS_COUNT - 1u)
#define OA__MAX_INDEXED_LOG2 16u

#define OA__COUNT_STUCK 0xFFFFu

/* Deepest an AVL tree of 2^31 nodes can be is 1.44 * 31 < 46. */
#define OA__TREE_STACK 64u

/* The region table is segmented so that growing it (growable mode) copies
 * no more than a bounded part of the first segment, once. The first
 * segment, sized at creation, holds slots [0, first_count): the whole table
 * in fixed mode, and, until the table first grows, in growable mode. Past
 * it, segment j holds slots [2^j, 2^(j+1)) (the last one ends at
 * OA_MAX_REGIONS + 1); the first growth adds the segment of j = floor(log2
 * first_count), copying the slots [2^j, first_count) into it (fewer than
 * first_count / 2 records), and from then on the first segment serves the
 * slots below 2^j. Segments never move or go back to the heap before the
 * allocator is destroyed. Slots stay below 2^31, so j <= 30. */
#define OA__SEGMENTS 31u
/* Growable mode: a table of at most this many records (1 MiB) doubles by
 * copying and stays one array; a larger one grows by segments. */
#define OA__FLAT_MAX_RECORDS 32768u

struct oa_allocator {
    oa__region* regions;    /* the first segment; regions[0] is the NIL sentinel */
    uint32_t first_count;   /* records of the first segment */
    uint32_t slot_capacity; /* slots the table holds (all segments) */
    uint64_t table_records; /* records allocated for the table (all segments) */
    uint32_t slot_count;    /* slots touched since creation or reset */
    uint32_t fresh_from;    /* slots >= this never held an allocation */
    uint32_t spare_head;    /* LIFO of unused slots with no age of their own */
    uint32_t idle_head;     /* FIFO of unused slots that held an allocation */
    uint32_t idle_tail;
    uint32_t spare_count;
    uint32_t idle_count;
    uint32_t retired_count; /* slots retired from holding allocations */
    uint32_t base;          /* generation of age 0 in this allocator */
    uint32_t age_max_seen;  /* the oldest age handed out so far */
    uint32_t head;          /* region at offset 0 */
    uint32_t tail;          /* region ending at capacity */
    bool is_fixed;          /* no table growth */
    bool is_flat;           /* the table is its first segment alone */
    bool owns_self;         /* allocated through the callbacks (not caller memory) */
    bool owns_table;
    uint64_t capacity;
    uint64_t granularity; /* every size and offset a multiple of it (>= 1) */
    uint64_t total_free;
    uint64_t allocation_count;
    uint64_t free_count;
    oa_record_fn record; /* NULL: not recording (record.c); near the hot fields */
    void* record_user;
    oa_alloc_callbacks callbacks;
    oa_log_fn log;
    void* log_user;
    uint64_t bitmap[OA__BITMAP_WORDS]; /* bin b non-empty */
    uint64_t bitmap_words;             /* bit w: bitmap[w] != 0 */
    uint64_t class_bitmap[OA__COUNTED_CLASSES][OA__BITMAP_WORDS];
    uint32_t bin_root[OA__BIN_COUNT];
    uint32_t bin_first[OA__BIN_COUNT]; /* smallest (size, offset) of the bin */
    /* Regions per (class, bin); OA__COUNT_STUCK once a count would pass
     * 65534: then the bin counts as holding that class until it empties
     * (walking a bin that has no unsafe region is slower, never wrong). */
    uint16_t class_count[OA__COUNTED_CLASSES][OA__BIN_COUNT];
    /* Dust (growable mode only): free regions smaller than every request so
     * far, and below OA__LINEAR_SIZE, cannot serve any request yet, so they
     * wait unsorted on a list per exact size instead of in a tree. */
    /* For each exact-size bin: a superset of the residues (offset mod 16) of
     * its regions (bit r for residue r), so that an aligned walk can skip a
     * bin where no residue leaves a small enough pad. Set on insert, made
     * exact by a walk that saw the whole bin; valid while the bin's bit is. */
    uint16_t bin_residues[OA__LINEAR_SIZE];
    /* For each exact-size bin: the offset bit its digital search tree's
     * root branches on (index.c); valid while the bin's bit is. */
    uint8_t bin_top_bit[OA__LINEAR_SIZE];
    uint64_t dust_limit; /* a power of two <= OA__LINEAR_SIZE; 0 in fixed mode */
    uint64_t dust_bitmap[OA__LINEAR_SIZE / 64];
    uint32_t dust_head[OA__LINEAR_SIZE];
    /* segment[j]: the segment of slots from 2^j on (growable mode), NULL
     * until the table grows into it. slot_base[j]: for the slots of bit
     * length j + 1, the address of their segment less 2^j records (of the
     * first segment, for the j it covers), kept as an address of that type
     * so that a store to a record cannot alias it. */
    oa__region* segment[OA__SEGMENTS];
    oa__region* slot_base[OA__SEGMENTS];
    /* Compaction (compact.c): the caller's moves while a pass is open. */
    oa_compact_move* compact_moves;
    uint32_t compact_count; /* moves of the open pass; 0 when none is open */
};

/* ---- bit helpers ---- */
OA__INLINE uint32_t oa__ctz64(uint64_t x) {
    OA_ASSERT(x != 0);
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long i;
    _BitScanForward64(&i, x);
    return (uint32_t)i;
#elif defined(__GNUC__) || defined(__clang__)
    return (uint32_t)__builtin_ctzll(x);
#else
    /* Portable C11: isolate the lowest set bit, then binary-search it. */
    uint64_t low = x & (0 - x);
    uint32_t n = 0;
    for (uint32_t s = 32; s != 0; s >>= 1) {
        if ((low >> s) != 0) {
            low >>= s;
            n += s;
        }
    }
    return n;
#endif
}
OA__INLINE uint32_t oa__log2_64(uint64_t x) {
    OA_ASSERT(x != 0);
#if defined(_MSC_VER) && !defined(__clang__)
    unsigned long i;
    _BitScanReverse64(&i, x);
    return (uint32_t)i;
#elif defined(__GNUC__) || defined(__clang__)
    return 63u - (uint32_t)__builtin_clzll(x);
#else
    uint32_t n = 0;
    for (uint32_t s = 32; s != 0; s >>= 1) {
        if ((x >> s) != 0) {
            x >>= s;
            n += s;
        }
    }
    return n;
#endif
}
/* Same for 32 bits, in the form compilers turn into one bit scan. */
OA__INLINE uint32_t oa__log2_32(uint32_t x) {
    OA_ASSERT(x != 0);
#if defined(__GNUC__) || defined(__clang__)
    return 31u ^ (uint32_t)__builtin_clz(x);
#else
    return oa__log2_64(x);
#endif
}
OA__INLINE bool oa__is_pow2(uint64_t x) {
    return x != 0 && (x & (x - 1)) == 0;
}
/* Bytes from `offset` up to the next multiple of `align` (align >= 1). */
OA__INLINE uint64_t oa__pad(uint64_t offset, uint64_t align) {
    if (oa__is_pow2(align)) {
        return (0 - offset) & (align - 1);
    }
    uint64_t rem = offset % align;
    return rem == 0 ? 0 : align - rem;
}

/* The record of `slot` (below slot_capacity). While the table is one
 * segment, a plain array access; once it has grown, a bit scan and a load
 * more. (is_flat is a bool, which no store to a record can alias, so a
 * compiler may test it once per loop and keep one loop of each kind.) */
OA__INLINE oa__region* oa__rec(const oa_allocator* a, uint32_t slot) {
    OA_ASSERT(slot < a->slot_capacity);
    if (OA__LIKELY(a->is_flat)) {
        return &a->regions[slot];
    }
    return (oa__region*)((uintptr_t)a->slot_base[oa__log2_32(slot | 1u)] +
                         (uintptr_t)slot * sizeof(oa__region));
}

OA__INLINE uint64_t oa__handle_id(uint32_t slot, uint32_t generation) {
    return (uint64_t)slot | ((uint64_t)generation << 32);
}

/* ---- region.c: the table, slots and generations, logging ---- */
#if defined(__GNUC__)
__attribute__((cold))
#endif
oa_result
oa__fail(const oa_allocator* a, oa_result result, const char* message);

/* Make sure `handles` slots for allocations and `regions` slots for free
 * regions can be taken without failing. May add a segment to the table in
 * growable mode (no record moves). */
oa_result oa__grow_slots(oa_allocator* a, uint32_t handles, uint32_t regions);
/* Can a slot for an allocation be taken at once (without growing)? */
bool oa__handle_slot_ready(const oa_allocator* a);
OA__INLINE oa_result oa__reserve_slots(oa_allocator* a, uint32_t handles, uint32_t regions) {
    uint64_t spare = (uint64_t)a->spare_count + a->idle_count + (a->slot_capacity - a->slot_count);
    if (spare >= (uint64_t)handles + regions &&
        (handles == 0 || a->idle_count != 0 || oa__handle_slot_ready(a))) {
        return OA_SUCCESS;
    }
    return oa__grow_slots(a, handles, regions);
}
/* Take a slot for a free region: a spare one, an untouched one, or an idle
 * one (which forgets its age). oa__reserve_slots must have succeeded, or the
 * caller has just released a slot. */
OA__INLINE uint32_t oa__take_region_slot(oa_allocator* a) {
    uint32_t s = a->spare_head;
    if (s != OA__NIL) {
        a->spare_head = oa__rec(a, s)->left;
        a->spare_count--;
        return s;
    }
    if (a->slot_count < a->slot_capacity) {
        return a->slot_count++;
    }
    s = a->idle_head;
    OA_ASSERT(s != OA__NIL);
    a->idle_head = oa__rec(a, s)->left;
    if (a->idle_head == OA__NIL) {
        a->idle_tail = OA__NIL;
    }
    a->idle_count--;
    return s;
}
/* Take a slot for an allocation and give it its next generation; returns the
 * slot and writes the generation. oa__reserve_slots(a, 1, ...) must have
 * succeeded. */
uint32_t oa__take_handle_slot(oa_allocator* a, uint32_t* out_generation);
/* May `slot` (not on the idle queue) start holding allocations? */
bool oa__slot_may_adopt(const oa_allocator* a, uint32_t slot);
/* `slot` starts holding an allocation: returns its generation. A slot that
 * never held one starts at age 0; one that may have, and whose age is not
 * kept, starts above the oldest age handed out. */
uint32_t oa__adopt_slot(oa_allocator* a, uint32_t slot);
/* A slot that held a free region goes back to the spare list. */
OA__INLINE void oa__release_region_slot(oa_allocator* a, uint32_t slot) {
    oa__region* r = oa__rec(a, slot);
    r->prev = OA__FLAG;
    r->next = 0;
    r->left = a->spare_head;
    a->spare_head = slot;
    a->spare_count++;
}
/* A slot that held an allocation goes to the back of the idle queue with its
 * age, or, when its generations are spent, retires to the spare list. */
void oa__release_handle_slot(oa_allocator* a, uint32_t slot);

/* The record of a live handle, or OA__NIL when the handle is not live. */
OA__INLINE uint32_t oa__live_slot(const oa_allocator* a, oa_allocation allocation) {
    uint32_t slot = (uint32_t)allocation.id;
    uint32_t generation = (uint32_t)(allocation.id >> 32);
    if (slot == OA__NIL || slot >= a->slot_count) {
        return OA__NIL;
    }
    const oa__region* r = oa__rec(a, slot);
    if (!oa__is_used(r) || r->left != generation) {
        return OA__NIL;
    }
    return slot;
}

/* ---- the address chain ---- */
/* Set the address-order successor of `slot`, keeping its state bit. */
OA__INLINE void oa__set_next(const oa_allocator* a, uint32_t slot, uint32_t next) {
    oa__rec(a, slot)->next = (oa__rec(a, slot)->next & OA__FLAG) | next;
}
/* Make `q` follow `p` in address order (either may be OA__NIL: then q is
 * the head, or p the tail). */
OA__INLINE void oa__link(oa_allocator* a, uint32_t p, uint32_t q) {
    if (p != OA__NIL) {
        oa__set_next(a, p, q);
    } else {
        a->head = q;
    }
    if (q != OA__NIL) {
        oa__rec(a, q)->prev = p;
    } else {
        a->tail = p;
    }
}

/* ---- alloc.c: carving, shared with compact.c ---- */
uint64_t oa__gcd(uint64_t x, uint64_t y);
/* Carve an allocation of `size` bytes at `pad` bytes into free region x (the
 * caller checked that it fits) with user word `user`: the pad and the tail
 * stay free. Writes the handle and, if out_offset is not NULL, the offset.
 * Returns OA_SUCCESS, or OA_ERROR_OUT_OF_METADATA / _OUT_OF_HOST_MEMORY
 * with nothing changed. */
oa_result oa__carve(oa_allocator* a, uint32_t x, uint64_t pad, uint64_t size, uint32_t user,
                    oa_allocation* out_allocation, uint64_t* out_offset);

/* ---- index.c: size bins, end classes, AVL trees, dust, the best-fit search ---- */
/* A dust record has both balance bits set, which no tree node has. */
OA__INLINE bool oa__is_dust(const oa__region* r) {
    return (r->left & r->right & OA__FLAG) != 0;
}
OA__INLINE uint32_t oa__bin_of(uint64_t size) {
    OA_ASSERT(size != 0);
    if (size < OA__LINEAR_SIZE) {
        return (uint32_t)size;
    }
    uint32_t e = oa__log2_64(size);
    uint32_t sub = (uint32_t)(size >> (e - OA__SUB_LOG2)) & (OA__SUB_BINS - 1);
    return OA__LINEAR_SIZE + (e - OA__LINEAR_LOG2) * OA__SUB_BINS + sub;
}
/* The smallest size that maps to `bin`. */
OA__INLINE uint64_t oa__bin_min_size(uint32_t bin) {
    if (bin < OA__LINEAR_SIZE) {
        return bin;
    }
    uint32_t k = bin - OA__LINEAR_SIZE;
    uint32_t e = k / OA__SUB_BINS + OA__LINEAR_LOG2;
    uint64_t sub = k % OA__SUB_BINS;
    return (1ull << e) | (sub << (e - OA__SUB_LOG2));
}
/* First non-empty bin >= bin, or OA__BIN_COUNT. */
OA__INLINE uint32_t oa__next_bin(const oa_allocator* a, uint32_t bin) {
    if (bin >= OA__BIN_COUNT) {
        return OA__BIN_COUNT;
    }
    uint32_t w = bin >> 6;
    uint64_t m = a->bitmap[w] & (~0ull << (bin & 63));
    if (m == 0) {
        /* The next non-empty word, from the summary: O(1), not a scan. */
        uint64_t words = w + 1 < 64 ? a->bitmap_words & (~0ull << (w + 1)) : 0;
        if (words == 0) {
            return OA__BIN_COUNT;
        }
        w = oa__ctz64(words);
        m = a->bitmap[w];
    }
    return (w << 6) + oa__ctz64(m);
}
/* The end class of a free region [offset, end). */
OA__INLINE uint32_t oa__class_of(uint64_t end) {
    /* Classes by trailing zeros: 0-1 -> 0, 2-3 -> 1, 4-5 -> 2, 6-7 -> 3,
     * 8-11 -> 4, 12-15 -> 5, 16 and more -> 6 (ends are never 0). */
    static const uint8_t classes[17] = {0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6};
    OA_ASSERT(end != 0);
    uint32_t z = oa__ctz64(end);
    return classes[z < 16u ? z : 16u];
}

void oa__index_clear(oa_allocator* a);
/* Put free record `slot` (offset and size set) into the index. */
void oa__index_insert(oa_allocator* a, uint32_t slot);
/* Take free record `slot` out of the index (its offset and size unchanged
 * since it went in). */
void oa__index_remove(oa_allocator* a, uint32_t slot);
/* Free record `slot` moved its start to `new_offset` and became `new_size`
 * bytes, its end unchanged: re-key it, in place where its order allows. */
void oa__index_rekey_front(oa_allocator* a, uint32_t slot, uint64_t new_offset, uint64_t new_size);
/* Sort the dust of sizes >= `size` into the trees, and lower the dust limit
 * to the largest power of two <= size (call when size < dust_limit). */
void oa__dust_lower(oa_allocator* a, uint64_t size);
/* The free region that exact best-fit picks for (size, align), or OA__NIL.
 * size >= dust_limit. */
uint32_t oa__index_find(oa_allocator* a, uint64_t size, uint64_t align);
/* The lowest-offset region of exact-size bin `bin` (non-empty, bin >= size)
 * that holds (size, align) and ends at or before end_limit; OA__NIL if none,
 * or if it visited *budget nodes first (budget may be NULL: no bound). */
uint32_t oa__index_exact_first_fit(oa_allocator* a, uint32_t bin, uint64_t size, uint64_t align,
                                   uint64_t end_limit, uint32_t* budget);
/* The largest free region, or OA__NIL when none is free. O(log n). */
uint32_t oa__index_largest(const oa_allocator* a);

/* ---- record.c: the recorder ----
 * A public entry point that finds a->record set (after its NULL checks)
 * calls the matching oa__record_* below instead of doing its work: that
 * clears a->record, calls the entry point again, restores a->record and
 * writes the line with the result. The entry points thus pay one pointer
 * test when no recorder is set. */
/* The header (capacity, granularity) and a P line per live allocation. */
void oa__record_start(const oa_allocator* a);
oa_result oa__record_alloc(oa_allocator* a, uint64_t size, uint64_t align,
                           oa_allocation* out_allocation, uint64_t* out_offset);
/* oa_alloc rejected (size, align) with OA_ERROR_INVALID_ARGUMENT: an A line. */
void oa__record_alloc_rejected(const oa_allocator* a, uint64_t size, uint64_t align);
oa_result oa__record_free(oa_allocator* a, oa_allocation allocation);
oa_result oa__record_resize(oa_allocator* a, oa_allocation allocation, uint64_t new_size);
oa_result oa__record_grow(oa_allocator* a, uint64_t added_size);
void oa__record_reset(const oa_allocator* a);
/* The first `count` moves' reservations of a pass just planned: P lines. */
void oa__record_compact_begin(const oa_allocator* a, const oa_compact_move* moves, uint32_t count);
/* Move `m` took effect in oa_compact_commit: an M line. */
void oa__record_move(const oa_allocator* a, const oa_compact_move* m);

#endif /* OA_INTERNAL_H */
