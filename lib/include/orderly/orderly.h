/* orderly.h - the core offset allocator.
 *
 * Manages offsets into an external pool of `capacity` bytes (a GPU buffer, a
 * file, an atlas row): no byte of the pool is ever read or written, all
 * metadata lives apart from it. Pure C11, no global state, no Vulkan.
 *
 * Placement policy (exact best-fit): among the free regions that can hold
 * `size` bytes at an offset that is a multiple of `align`, take the one with
 * the smallest size; among equal sizes, the lowest offset. Inside it the
 * allocation starts at the lowest multiple of `align`; the front padding and
 * the tail stay free. Freeing merges with both neighbours at once, so the free
 * set never holds two adjacent regions. An operation that fails changes
 * nothing.
 *
 * Costs below are worst cases, n the number of free regions. Free regions of
 * the same size below 1 KiB are ordered by a trie on their offset rather than
 * a balanced tree: for them, "O(log n)" stands for at most one step per bit
 * of the capacity (64 at most), whatever n.
 *
 * Thread-safety: none. An allocator may be used from any thread, but calls on
 * one allocator must be serialised by the caller. Different allocators are
 * independent.
 */
#ifndef ORDERLY_H
#define ORDERLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Major version: changes when the API changes incompatibly. */
#define ORDERLY_VERSION_MAJOR 0
/* Minor version: changes with compatible additions. */
#define ORDERLY_VERSION_MINOR 1
/* Patch version: changes with fixes only. */
#define ORDERLY_VERSION_PATCH 0

#ifndef OA_API
#if defined(_WIN32) && defined(ORDERLY_SHARED_BUILD)
#define OA_API __declspec(dllexport)
#elif defined(__GNUC__) && defined(ORDERLY_SHARED_BUILD)
#define OA_API __attribute__((visibility("default")))
#else
#define OA_API
#endif
#endif

/* Marks functions whose result must be looked at: those where ignoring it
 * is a bug, because what they hand back (a handle, an offset, a move list,
 * the verdict of a check) means nothing on failure, or because a failure
 * left the state unchanged when the caller assumes it changed (a resize, a
 * grow, a pool destroy). Frees, statistics, walks, flushes and collects are
 * not marked. The mark is one a (void) cast silences, so a caller can say
 * "I know" without a warning: clang's warn_unused_result is, GCC's is not
 * (GCC builds get no mark). Define OA_NODISCARD yourself to override. */
#ifndef OA_NODISCARD
#if defined(__clang__)
#define OA_NODISCARD __attribute__((warn_unused_result))
#else
#define OA_NODISCARD
#endif
#endif

/* The version of the library linked in, to compare with the ORDERLY_VERSION_*
 * macros of the header compiled against. Thread-safe. O(1).
 * @return (major << 16) | (minor << 8) | patch
 */
OA_API uint32_t oa_version(void);

/* Offset returned through out-params when an operation fails. */
#define OA_NO_OFFSET UINT64_MAX

/* Largest number of region records one allocator can address (allocations and
 * free regions together). Slot 0 is reserved, so handles never have id 0. */
#define OA_MAX_REGIONS 0x7FFFFFF0u

/* Result codes. Errors are negative, OA_SUCCESS is zero. The check codes are
 * returned only by oa_allocator_check() and name the invariant that broke. */
#define OA_RESULT_LIST(X)                                                                          \
    X(OA_SUCCESS, 0)                   /* the call did what it says */                             \
    X(OA_ERROR_INVALID_ARGUMENT, -1)   /* NULL pointer, size 0, align 0, bad info field */         \
    X(OA_ERROR_OUT_OF_SPACE, -2)       /* no free region can hold the request */                   \
    X(OA_ERROR_OUT_OF_METADATA, -3)    /* fixed mode: the region budget is spent */                \
    X(OA_ERROR_OUT_OF_HOST_MEMORY, -4) /* an allocation callback returned NULL */                  \
    X(OA_ERROR_STALE_HANDLE, -5)       /* freed, foreign, forged or never valid handle */          \
    X(OA_ERROR_OVERFLOW, -6)           /* size + padding or capacity would pass 2^64 - 1 */        \
    X(OA_ERROR_CORRUPT_TILING, -100)   /* regions leave a gap, overlap or miss the capacity */     \
    X(OA_ERROR_CORRUPT_LINKS, -101)    /* address-order links disagree */                          \
    X(OA_ERROR_CORRUPT_ADJACENT_FREE, -102) /* two free regions touch */                           \
    X(OA_ERROR_CORRUPT_INDEX, -103)         /* size index disagrees with the region table */       \
    X(OA_ERROR_CORRUPT_COUNTS, -104)        /* counters or free-byte total disagree */

/* Result of every fallible call: OA_SUCCESS (0), an error (< 0) or a check
 * code (<= -100, from oa_allocator_check only). See OA_RESULT_LIST. */
typedef enum oa_result {
#define OA__RESULT_ENUM(name, value) name = value,
    OA_RESULT_LIST(OA__RESULT_ENUM)
#undef OA__RESULT_ENUM
        OA_RESULT_FORCE_U32 = 0x7FFFFFFF
} oa_result;

/* The enumerator's name as a string ("OA_ERROR_STALE_HANDLE"); "OA_UNKNOWN_RESULT"
 * for a value outside the list. O(1).
 * @param result any value, in the list or not
 * @return a static string; never NULL.
 */
OA_API const char* oa_result_name(oa_result result);

/* A handle to one allocation. Value type: copy it freely. The low 32 bits are
 * the slot index, the high 32 bits a generation; id 0 is never valid. A handle
 * stops being valid when it is freed, when the allocator is reset or
 * destroyed, and once stale it stays stale: a slot never hands out the same
 * generation twice (a slot whose 2^32 - 1 generations are spent retires from
 * holding allocations), and reset moves every slot past the generations it
 * has handed out. Handles of another allocator are rejected unless slot and
 * generation happen to match: each allocator created in the process starts
 * its generations at a different value, about 2^31 apart for consecutive
 * allocators, so a handle of a destroyed allocator (the same address or
 * caller memory reused) matches a live allocation of its successor only
 * after about two billion reuses of one slot. */
typedef struct oa_allocation {
    uint64_t id; /* slot (low 32 bits) and generation (high 32 bits); 0 = none */
} oa_allocation;

/* Host memory callbacks for metadata. All zero means malloc/free. `alloc`
 * returns memory aligned to at least `align` or NULL; `free` receives the size
 * that was asked for. */
typedef struct oa_alloc_callbacks {
    void* (*alloc)(void* user, size_t size, size_t align); /* NULL on failure */
    void (*free)(void* user, void* ptr, size_t size);      /* `size` as allocated */
    void* user;                                            /* passed to both */
} oa_alloc_callbacks;

/* Optional message sink: called when a public function rejects its input, with
 * the result it returns and a short sentence naming the argument. The library
 * never prints. */
typedef void (*oa_log_fn)(void* user, oa_result result, const char* message);

/* Optional recorder: receives every operation that changes an allocator as
 * one line of trace text (what orderly-replay reads; the record kinds are
 * listed at oa_allocator_set_recorder). `text` is not NUL-terminated, ends
 * with a newline and is valid only during the call; `length` counts its
 * bytes (at most OA_RECORD_LINE_MAX). The callback returns nothing, so a
 * write that fails cannot fail the allocator: keep your own count of
 * failed writes if you need one. It must not call into this allocator. */
typedef void (*oa_record_fn)(void* user, const char* text, size_t length);

/* The longest line a recorder receives, newline included. */
#define OA_RECORD_LINE_MAX 96u

/* Creation parameters. Zero means default for every field but `capacity`.
 *
 * Records: every allocation and every free region holds one record of the
 * region table (OA_REGION_RECORD_SIZE bytes); a pool of n allocations and f
 * free regions (f <= n + 1) needs n + f records. `max_regions` and
 * `initial_regions` count records besides one sentinel, the same in every
 * mode: max_regions = 1 holds one region, the whole pool free or allocated
 * (an allocation of a whole free region takes over its record).
 *
 * Memory modes:
 *  - growable (max_regions == 0 and memory == NULL): the region table starts at
 *    `initial_regions` records. When full, a table of at most 16,384
 *    records doubles by copying (at most 512 KiB moved, one allocation and
 *    one free through the callbacks), so that a small allocator keeps one array;
 *    a larger one grows by a segment of its own size (the slots up to the
 *    next power of two at the first segment), and no record ever moves to a
 *    new table again: a growth costs one call of the allocation callback
 *    and no copy (but the first segment's, which copies the records of
 *    slots 2^j to the table's end, fewer than half of them, once). Segments
 *    go back at oa_allocator_destroy. oa_alloc may call the allocation
 *    callback (oa_free never does). While the table is one array, a record
 *    costs what it costs in fixed mode; once it has segments, every record
 *    access costs a bit scan and a load more (10 to 20% more instructions
 *    per operation): an `initial_regions` that fits the workload keeps that
 *    away.
 *  - fixed, budget (max_regions > 0, memory == NULL): the whole table is
 *    allocated at creation through the callbacks; afterwards no operation calls
 *    any allocator and oa_alloc fails with OA_ERROR_OUT_OF_METADATA when the
 *    budget is spent.
 *  - fixed, caller memory (memory != NULL): the allocator lives entirely in
 *    `memory` (aligned to 16, at least oa_allocator_memory_size(max_regions)
 *    bytes, max_regions > 0 required); no allocator is ever called, and
 *    oa_allocator_destroy releases nothing. */
typedef struct oa_allocator_info {
    uint64_t capacity;            /* pool size in bytes, >= 1. Required. */
    uint32_t max_regions;         /* fixed-mode budget of region records; 0 -> growable */
    uint32_t initial_regions;     /* growable: first table size; 0 -> 1024 */
    void* memory;                 /* fixed mode: caller-owned memory block; NULL -> none */
    size_t memory_size;           /* size of `memory` in bytes */
    oa_alloc_callbacks callbacks; /* zero -> malloc/free */
    oa_log_fn log;                /* NULL -> silent */
    void* log_user;               /* passed to `log` */
    /* Every size is rounded up to a multiple of it and every alignment made
     * a multiple of it, so offsets are multiples too: an allocator whose
     * requests all share one alignment makes no pad below it. 0 -> 1. */
    uint64_t granularity;
    /* Recorder (see oa_record_fn): NULL -> none. Set here, the trace starts
     * at creation with the pool's header; oa_allocator_set_recorder sets or
     * clears it later. */
    oa_record_fn record;
    void* record_user; /* passed to `record` */
} oa_allocator_info;

/* The allocator: opaque, created by oa_allocator_create. */
typedef struct oa_allocator oa_allocator;

/* A region record is this many bytes; the table holds one per allocation and
 * per free region, plus growth slack in growable mode. */
#define OA_REGION_RECORD_SIZE 32u

/* Bytes of `memory` that a fixed-mode allocator with `max_regions` records
 * needs. 0 if max_regions is 0 or above OA_MAX_REGIONS. O(1).
 * @param max_regions the region budget (records)
 * @return the byte count, or 0 for an invalid budget.
 */
OA_API size_t oa_allocator_memory_size(uint32_t max_regions);

/* `info` with every zero field replaced by its default (the callbacks stay
 * zero when they mean malloc/free).
 * @param info the creation parameters; NULL reads as all zero
 * @return a copy of `info` with the defaults filled in.
 */
OA_API oa_allocator_info oa_allocator_info_resolved(const oa_allocator_info* info);

/* Create an allocator whose pool is one free region [0, capacity).
 * On failure *out = NULL and nothing leaks.
 * Cost: O(1) plus the table's allocation; fixed budget mode touches the table
 * once (O(max_regions)).
 * @param info creation parameters (not NULL); zero fields mean defaults
 * @param out receives the new allocator, or NULL on failure (not NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL pointer, capacity 0, memory too small or
 *         misaligned, memory without max_regions), or OA_ERROR_OUT_OF_HOST_MEMORY.
 */
OA_API OA_NODISCARD oa_result oa_allocator_create(const oa_allocator_info* info,
                                                  oa_allocator** out);

/* Destroy the allocator and release its metadata through the callbacks. Live
 * allocations are simply forgotten. NULL is a no-op. O(1).
 * @param allocator the allocator to destroy, or NULL
 */
OA_API void oa_allocator_destroy(oa_allocator* allocator);

/* Allocate `size` bytes at an offset that is a multiple of `align` (any value
 * >= 1; powers of two take a fast path). Exact best-fit, see the top of this
 * file. On failure out_allocation->id = 0 and *out_offset = OA_NO_OFFSET, and
 * the allocator is unchanged. `out_offset` may be NULL. The user word of the
 * new allocation is 0.
 * Cost, worst case, n = free regions:
 *  - align 1: O(log n).
 *  - align = 2^k, k <= 16: O(log n), plus one step per free region of size
 *    in [size, size + align - 1) that cannot hold the request and sits in a
 *    size bin holding a free region whose end offset is not a multiple of
 *    the first of 4, 16, 64, 256, 4096, 65536 that is >= align. Free regions
 *    end where an allocation starts (or at the capacity), so in a pool whose
 *    allocations are aligned to at least `align` that term is 0.
 *  - any other alignment: O(log n) plus one step per free region of size in
 *    [size, size + align - 1) that cannot hold the request.
 *  - growable mode: plus, when the table is full, its growth (a copy of at
 *    most 512 KiB while it is small, else one call of the allocation callback
 *    for a new segment and no copy; see oa_allocator_info), and, for a
 *    request smaller than
 *    every earlier one, the sorting of the free regions below 1 KiB it can
 *    now use into the index (they wait unsorted until then; at most ten
 *    times in an allocator's life). Fixed mode has neither: its bounds are
 *    worst case.
 * @param allocator the allocator (not NULL)
 * @param size bytes to allocate, >= 1
 * @param align the offset is a multiple of this, >= 1
 * @param out_allocation receives the handle; id 0 on failure (not NULL)
 * @param out_offset receives the offset; OA_NO_OFFSET on failure (may be NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL, size 0, align 0), OA_ERROR_OVERFLOW (size +
 *         align - 1 passes 2^64 - 1, also after rounding to the granularity),
 *         OA_ERROR_OUT_OF_SPACE, OA_ERROR_OUT_OF_METADATA (fixed mode), OA_ERROR_OUT_OF_HOST_MEMORY
 *         (growable mode).
 */
OA_API OA_NODISCARD oa_result oa_alloc(oa_allocator* allocator, uint64_t size, uint64_t align,
                                       oa_allocation* out_allocation, uint64_t* out_offset);

/* Free an allocation and merge it with free neighbours. Freeing id 0 is a
 * no-op that returns OA_SUCCESS. Never calls an allocator. Cost: O(log n)
 * worst case.
 * @param allocator the allocator (not NULL)
 * @param allocation a live handle, or id 0 (no-op)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL allocator) or OA_ERROR_STALE_HANDLE (double
 *         free, foreign or forged handle; nothing changes).
 */
OA_API oa_result oa_free(oa_allocator* allocator, oa_allocation allocation);

/* Offset and size of a live allocation. Either out-param may be NULL. On
 * failure they get OA_NO_OFFSET and 0. O(1).
 * @param allocator the allocator (not NULL)
 * @param allocation a live handle
 * @param out_offset receives the offset (may be NULL)
 * @param out_size receives the size (may be NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT or OA_ERROR_STALE_HANDLE.
 */
OA_API OA_NODISCARD oa_result oa_allocation_get(const oa_allocator* allocator,
                                                oa_allocation allocation, uint64_t* out_offset,
                                                uint64_t* out_size);

/* Set the 32-bit user word of a live allocation (a layer above can keep an
 * index of its own there, at no extra metadata). O(1).
 * @param allocator the allocator (not NULL)
 * @param allocation a live handle
 * @param user the word to keep
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT or OA_ERROR_STALE_HANDLE.
 */
OA_API oa_result oa_allocation_set_user(oa_allocator* allocator, oa_allocation allocation,
                                        uint32_t user);

/* Read the user word of a live allocation (0 until set). *out_user is 0 on
 * failure. O(1).
 * @param allocator the allocator (not NULL)
 * @param allocation a live handle
 * @param out_user receives the word (not NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT or OA_ERROR_STALE_HANDLE.
 */
OA_API OA_NODISCARD oa_result oa_allocation_get_user(const oa_allocator* allocator,
                                                     oa_allocation allocation, uint32_t* out_user);

/* Resize a live allocation in place; its offset never changes. The new size
 * is rounded up to the granularity.
 * Growing takes the bytes from the free region right after it (the rest of
 * that region stays free); shrinking returns the tail to the free set, merged
 * with a following free region. new_size == current size is a no-op.
 * Cost: O(log n) worst case.
 * @param allocator the allocator (not NULL)
 * @param allocation a live handle
 * @param new_size the size wanted, >= 1
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL, new_size 0), OA_ERROR_STALE_HANDLE,
 *         OA_ERROR_OUT_OF_SPACE (the bytes after it are not free or not enough; nothing changes),
 *         OA_ERROR_OUT_OF_METADATA or OA_ERROR_OUT_OF_HOST_MEMORY (a shrink before a used region
 *         needs a new record), OA_ERROR_OVERFLOW (rounding to the granularity).
 */
OA_API OA_NODISCARD oa_result oa_try_resize(oa_allocator* allocator, oa_allocation allocation,
                                            uint64_t new_size);

/* Extend the pool at its end by `added_size` bytes. The new bytes merge with
 * a free region at the old end. 0 is a no-op.
 * Cost: O(log n).
 * @param allocator the allocator (not NULL)
 * @param added_size bytes to add at the end of the pool
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL), OA_ERROR_OVERFLOW (the capacity would pass
 *         2^64 - 1; nothing changes), OA_ERROR_OUT_OF_METADATA or OA_ERROR_OUT_OF_HOST_MEMORY (the
 *         old end is used and a record is needed).
 */
OA_API OA_NODISCARD oa_result oa_grow_capacity(oa_allocator* allocator, uint64_t added_size);

/* Forget every allocation: the pool becomes one free region again and every
 * handle issued so far becomes stale. Never calls an allocator; the table
 * keeps its size. NULL is a no-op. Cost: O(number of size bins), independent
 * of the number of regions.
 * @param allocator the allocator, or NULL
 */
OA_API void oa_reset(oa_allocator* allocator);

/* Statistics, all maintained incrementally. */
typedef struct oa_stats {
    uint64_t capacity;             /* pool size in bytes */
    uint64_t used_size;            /* bytes in allocations: capacity - free_size */
    uint64_t free_size;            /* free bytes, padding included */
    uint64_t largest_free_size;    /* size of the largest free region (0 if none) */
    uint64_t allocation_count;     /* live allocations */
    uint64_t free_region_count;    /* free regions */
    uint64_t region_capacity;      /* records the table can hold now (budget in fixed mode) */
    uint64_t metadata_bytes;       /* host bytes of metadata held, allocator object included */
    uint64_t retired_region_count; /* records retired from allocations (generations spent) */
    /* 1 - largest_free_size / free_size: 0 when all free bytes are one region (or
     * none are free), close to 1 when they are scattered in small pieces. */
    double fragmentation;
} oa_stats;

/* Fill *out_stats.
 * Cost: O(log n) worst case (the largest free region is the last of the
 * highest non-empty size bin).
 * @param allocator the allocator (not NULL)
 * @param out_stats receives the statistics (not NULL)
 * @return OA_SUCCESS or OA_ERROR_INVALID_ARGUMENT.
 */
OA_API oa_result oa_get_stats(const oa_allocator* allocator, oa_stats* out_stats);

/* One region as oa_walk reports it. */
typedef struct oa_region_info {
    uint64_t offset;          /* first byte of the region */
    uint64_t size;            /* bytes; never 0 */
    bool is_free;             /* a free region rather than an allocation */
    oa_allocation allocation; /* id 0 for free regions */
    uint32_t user;            /* the allocation's user word; 0 for free regions */
} oa_region_info;

/* Callback of oa_walk; return false to stop the walk early. */
typedef bool (*oa_walk_fn)(void* user, const oa_region_info* region);

/* What oa_walk reports: a bitmask of these in its `flags`. */
typedef enum oa_walk_flag_bits {
    OA_WALK_ALLOCATIONS = 0x1, /**< report allocations */
    OA_WALK_FREE = 0x2,        /**< report free regions */
    OA_WALK_ALL = 0x3          /**< report both */
} oa_walk_flag_bits;
/* A bitmask of oa_walk_flag_bits. */
typedef uint32_t oa_walk_flags;

/* Visit regions in address order, from offset 0 to the capacity, filtered by
 * `flags` (OA_WALK_*). The callback must not call into this allocator.
 * Cost: O(n).
 * @param allocator the allocator (not NULL)
 * @param flags OA_WALK_ALLOCATIONS, OA_WALK_FREE or OA_WALK_ALL
 * @param fn called once per region reported (not NULL)
 * @param user passed to `fn`
 * @return OA_SUCCESS or OA_ERROR_INVALID_ARGUMENT.
 */
OA_API oa_result oa_walk(const oa_allocator* allocator, oa_walk_flags flags, oa_walk_fn fn,
                         void* user);

/* Full integrity walk: the regions tile [0, capacity) with no gap or overlap;
 * address links agree both ways; no two free regions touch; every free region
 * sits in the size index under its own size and offset, the index holds
 * nothing else and its order and occupancy bits are consistent; counts and the
 * free-byte total agree. Never crashes on a corrupt table; safe in release
 * builds. Cost: O(n log n) plus one pass over the size bins (about 1,000),
 * whatever n is.
 * @param allocator the allocator to check (not NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT, or the OA_ERROR_CORRUPT_* code of the first
 *         invariant that failed (never for a state the allocator itself made).
 */
OA_API OA_NODISCARD oa_result oa_allocator_check(const oa_allocator* allocator);

/* ---- Recording: a trace of every change, for orderly-replay ----
 *
 * With a recorder set (oa_allocator_info.record, or the call below), every
 * call that changes the allocator writes one line per change through the
 * callback, in the trace format of orderly-replay (tools/trace/trace.h), so
 * that a sequence that led to a bug on a user's machine replays exactly.
 * Handles are written in hex (the 64-bit id), sizes and offsets in decimal,
 * results as oa_result values (words in capitals stand for the values):
 *   capacity BYTES                   header: the pool's size
 *   granularity BYTES                header, when it is not 1
 *   A HANDLE SIZE ALIGN OFFSET       oa_alloc succeeded (size and align as
 *                                    passed, the offset it returned)
 *   A - SIZE ALIGN RESULT            oa_alloc failed (RESULT < 0)
 *   F HANDLE                         oa_free freed it
 *   F HANDLE RESULT                  oa_free rejected it (stale: nothing changed)
 *   R HANDLE NEW_SIZE RESULT         oa_try_resize and its result (0 or < 0)
 *   G ADDED_BYTES RESULT             oa_grow_capacity and its result
 *   X                                oa_reset
 *   P HANDLE SIZE OFFSET             an allocation at a known place: each live
 *                                    allocation when a recorder is set on a pool
 *                                    that holds some, each reservation that
 *                                    oa_compact_begin makes, oa_alloc_at
 *   M HANDLE RESERVATION OFFSET      oa_compact_commit moved the allocation to
 *                                    OFFSET, its reservation's place; the
 *                                    reservation takes the old bytes (its F
 *                                    line follows: oa_free frees them)
 * Calls rejected for a NULL pointer, oa_free of id 0, oa_grow_capacity of 0
 * and oa_compact_abort (whose frees are recorded) write nothing else.
 * Off (NULL), the cost is one pointer test per call; on, one line of at most
 * OA_RECORD_LINE_MAX bytes formatted on the stack (no heap call in any mode)
 * and one callback call per change. The recorder is part of the allocator:
 * calls on it are serialised like every other call. */

/* Set, replace or clear (fn NULL) the recorder. Setting one writes the
 * header (capacity, granularity) and a P line for every live allocation in
 * address order, so that the trace replays from this state; clearing writes
 * nothing. O(1) to clear; O(n) to set (one walk of the regions).
 * @param allocator the allocator (not NULL)
 * @param fn the callback, or NULL to stop recording
 * @param user passed to `fn`
 * @return OA_SUCCESS or OA_ERROR_INVALID_ARGUMENT (NULL allocator).
 */
OA_API oa_result oa_allocator_set_recorder(oa_allocator* allocator, oa_record_fn fn, void* user);

/* Allocate exactly the bytes [offset, offset + size), which must lie in one
 * free region: what orderly-replay does for a P record, and a way to
 * restore a saved layout. The front and back of the free region stay free.
 * `size` is rounded up to the granularity; `offset` must be a multiple of
 * it. On failure out_allocation->id = 0 and nothing changed. Recorded as a
 * P line. Cost: O(n) (a walk of the regions in address order to find the
 * free region) plus O(log n); growable mode may grow the region table.
 * @param allocator the allocator (not NULL)
 * @param offset the first byte; a multiple of the granularity
 * @param size bytes, >= 1
 * @param out_allocation receives the handle; id 0 on failure (not NULL)
 * @return OA_SUCCESS, OA_ERROR_INVALID_ARGUMENT (NULL, size 0, offset not a multiple of the
 *         granularity), OA_ERROR_OVERFLOW (offset + size passes 2^64 - 1), OA_ERROR_OUT_OF_SPACE
 *         (the bytes are not all free, or pass the capacity), OA_ERROR_OUT_OF_METADATA,
 *         OA_ERROR_OUT_OF_HOST_MEMORY.
 */
OA_API OA_NODISCARD oa_result oa_alloc_at(oa_allocator* allocator, uint64_t offset, uint64_t size,
                                          oa_allocation* out_allocation);

/* ---- Compaction: a move plan in two phases ----
 *
 * A pool that has fragmented (free bytes scattered in small holes) can be
 * compacted by moving live allocations, a bounded piece per pass, so that a
 * renderer can spread the work over frames. A pass has two phases, because
 * the bytes are copied (on the GPU, say) in between:
 *
 *  1. oa_compact_begin plans up to `max_moves` moves of at most `max_bytes`
 *     in all and reserves each destination. From then until the pass ends,
 *     a moved allocation holds both its old bytes (its handle still reports
 *     the old offset) and its new ones (held by a reservation, an allocation
 *     of the core's own), so no other allocation can land on either.
 *  2. The caller copies size bytes from old_offset to new_offset for every
 *     move, then calls oa_compact_commit: each allocation takes its new
 *     offset (same handle, same generation, same user word) and its old
 *     bytes are freed and merged. oa_compact_abort instead gives every
 *     destination back and nothing moves.
 *
 * What a plan guarantees (for a pass during which the caller does not free,
 * resize or allocate in this allocator):
 *  - no destination overlaps any source of the same pass, or another
 *    destination: every copy is a plain non-overlapping copy, and all of a
 *    pass's copies may go into one copy command;
 *  - a move goes toward the start of the pool (new_offset < old_offset),
 *    into a free region that holds it at its alignment, so repeated passes
 *    end; each move frees a run (its old bytes merged with free or moved
 *    neighbours) larger than the free region it fills;
 *  - after commit the largest free region is at least as large as before
 *    begin, so the fragmentation (1 - largest_free_size / free_size) never
 *    rises. While a pass is open the destinations are taken, so the free
 *    space is smaller until commit;
 *  - pinned allocations (see oa_compact_filter_fn) never move.
 * A pass returns no move when nothing it could do would help: the free
 * space is one region already, or no free region before an allocation can
 * take it usefully.
 *
 * During an open pass, each reservation counts as an allocation in
 * oa_get_stats and appears in oa_walk (its user word is the index of its
 * move); the pool still serves oa_alloc and oa_free. If the caller frees or
 * resizes a moved allocation (or resets the allocator) during the pass,
 * commit skips that move and gives its destination back; freeing a
 * reservation cancels its move. Nothing is ever lost, and no handle changes
 * or comes back to life. Not thread-safe, like every call on one allocator. */

/* One planned move: copy `size` bytes from old_offset to new_offset. */
typedef struct oa_compact_move {
    oa_allocation allocation; /* the allocation that moves; its handle stays valid */
    uint64_t old_offset;      /* where its bytes are now */
    uint64_t new_offset;      /* where they go; a multiple of the move's alignment */
    uint64_t size;            /* bytes to copy (the allocation's size) */
    oa_allocation reserved;   /* the destination's reservation: leave it unchanged */
} oa_compact_move;

/* Decides whether one allocation may move in this pass, and at which
 * alignment. Called at most once per allocation per pass, with the
 * allocation as oa_walk reports it. Return false to pin it (it stays where
 * it is). *io_align comes in as the pass's alignment; set it to the
 * alignment this allocation needs (the core does not remember the
 * alignment an allocation was made with). The move's new offset is a
 * multiple of both, and of the granularity; 0, or a common multiple that
 * passes 2^64 - 1, pins it too. The callback must not call into this
 * allocator. */
typedef bool (*oa_compact_filter_fn)(void* user, const oa_region_info* allocation,
                                     uint64_t* io_align);

/* Bounds of one pass. A NULL limits pointer, or zero fields, mean defaults. */
typedef struct oa_compact_limits {
    uint64_t max_bytes;          /* most bytes moved (sum of sizes); 0 -> no limit */
    uint32_t max_moves;          /* most moves; 0 -> move_capacity */
    uint64_t align;              /* every new offset a multiple of it; 0 -> 1 */
    oa_compact_filter_fn filter; /* NULL -> every allocation may move, at `align` */
    void* filter_user;           /* passed to `filter` */
} oa_compact_limits;

/* Plan a pass and reserve its destinations. Writes up to move_capacity moves
 * to `moves` (in the order planned: descending old_offset) and their count
 * to *out_count. When *out_count > 0 a pass is open: `moves` belongs to it
 * and must stay valid and unchanged until oa_compact_commit or
 * oa_compact_abort, which read it back. When it is 0, no pass is open.
 * Every new offset is a multiple of limits->align, of the granularity and
 * of what the filter asks for that allocation.
 * How it plans: allocations are visited from the end of the pool toward its
 * start; one that borders free bytes (or an allocation moved in this pass)
 * moves into the best-fitting free region wholly before it, if that region
 * is smaller than the run its departure frees and taking it keeps the
 * largest free region from shrinking. On error *out_count is 0 and nothing
 * changed.
 * Cost: O(r) for the r regions visited (at most all of them; the walk stops
 * at the first point below which no byte is free) plus, for each
 * allocation that borders free bytes, one best-fit search (O(log n), and at
 * most 256 more regions visited when the best fit lies after it) and, per
 * move, O(log n). A reservation may need up to two region records (growable
 * mode: may grow the table).
 * @param allocator the allocator (not NULL)
 * @param limits bounds of the pass; NULL means all defaults
 * @param moves receives the planned moves; owned by the pass while it is open (NULL only with
 *        move_capacity 0)
 * @param move_capacity entries `moves` can hold
 * @param out_count receives the number of moves planned (not NULL)
 * @return OA_SUCCESS (also with *out_count 0), OA_ERROR_INVALID_ARGUMENT (NULL allocator or
 *         out_count, NULL moves with move_capacity > 0, a pass already open), OA_ERROR_OVERFLOW
 *         (limits->align at the granularity passes 2^64 - 1), OA_ERROR_OUT_OF_METADATA or
 *         OA_ERROR_OUT_OF_HOST_MEMORY (the first reservation needed a region record and none could
 *         be had; later ones just end the plan early, with the moves so far).
 */
OA_API OA_NODISCARD oa_result oa_compact_begin(oa_allocator* allocator,
                                               const oa_compact_limits* limits,
                                               oa_compact_move* moves, uint32_t move_capacity,
                                               uint32_t* out_count);

/* End the open pass: the caller has copied every move's bytes. Each move
 * whose allocation and reservation are still as begin left them takes
 * effect: oa_allocation_get now reports new_offset, and the old bytes are
 * freed (merged with free neighbours). Any other move is skipped, and its
 * reservation, if still live, freed. A move whose `reserved` was changed
 * after begin frees nothing: its reservation then stays allocated (oa_walk
 * shows it, user word = the move's index; oa_free releases it), and no
 * allocation of the caller's is touched. With no pass open it does nothing.
 * Never calls an allocator. Cost: O(k log n) for k moves.
 * @param allocator the allocator (not NULL)
 * @return OA_SUCCESS or OA_ERROR_INVALID_ARGUMENT (NULL).
 */
OA_API OA_NODISCARD oa_result oa_compact_commit(oa_allocator* allocator);

/* End the open pass without moving anything: every live reservation is
 * freed, every allocation stays at its old offset. With no pass open it
 * does nothing. Never calls an allocator. Cost: O(k log n) for k moves.
 * @param allocator the allocator (not NULL)
 * @return OA_SUCCESS or OA_ERROR_INVALID_ARGUMENT (NULL).
 */
OA_API oa_result oa_compact_abort(oa_allocator* allocator);

/* Is a pass open? False for NULL. O(1).
 * @param allocator the allocator, or NULL
 * @return true while a pass is open.
 */
OA_API bool oa_compact_is_open(const oa_allocator* allocator);

#ifdef __cplusplus
}
#endif

#endif /* ORDERLY_H */
