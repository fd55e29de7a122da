/* ops.h - the operation interpreter of the core allocator: bytes in,
 * operations applied to an oa_allocator and checked against the naive model
 * of ref_model.h. One engine for the four random drivers: the fuzz target
 * (tests/fuzz/fuzz_core.c: libFuzzer's bytes), the randomised test
 * (tests/core/test_random.c) and the fault test (tests/core/test_faults.c:
 * seeded random bytes, a check after every operation, a failing host
 * allocation chosen by the driver) and orderly-soak (tools/soak.c: seeded
 * bytes, hundreds of thousands of operations, the full check every K).
 * A driver chooses its byte source, how often the full check runs, its
 * budget of operations and live allocations, and reads the outcome.
 *
 * The bytes are a header (memory mode, capacity, region table size or
 * budget, size scale) and then a stream of operations: alloc (any size and
 * alignment, non-powers of two included), free (valid, double, stale,
 * forged, id 0), try_resize, grow_capacity, reset, combs of small holes,
 * grows of a full pool past a power of two, host allocation failures armed
 * for a later call, and smaller requests from then on. Every
 * operation is predicted by the model first: its result code, its offset,
 * and whether it needs a new region record (so that OUT_OF_METADATA and
 * OUT_OF_HOST_MEMORY are expected exactly where they are due). After every
 * operation a local check runs (oa_get_stats against the model, and the
 * allocations the operation touched and their neighbours in address order
 * against oa_allocation_get); every `full_every` operations and after the
 * last one the full check (oa_allocator_check, and a walk of every region
 * against the model's free spans and the live allocations). At the end
 * everything is freed (the pool must come back whole), the allocator is
 * destroyed and no metadata byte may be left; a fixed-mode allocator may
 * not call the heap after its creation.
 *
 * Cost per call: O(free regions + live allocations) (the model's scan and
 * the sorted live set); an operation makes one call, a comb up to 193 and a
 * fill one per free span; a full check O(n log n). Not thread-safe; no
 * global state. Tools and tests include it; it includes no test header. */
#ifndef OA_OPS_H
#define OA_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An operation is chosen by its code byte modulo OA_OPS_CODE_COUNT:
 *   0-6 alloc, 7-10 free a live allocation, 11 free a freed one again,
 *   12 free a forged handle, 13-14 try_resize, 15 grow_capacity, 16 by the
 *   next byte: reset, a comb (dozens of small holes of one size between
 *   live gaps, then one aligned request of that size or a little less), a
 *   grow to the next power of two that fills the pool and grows it a little
 *   more, or nothing; 17 arm a host allocation failure, 18 smaller requests from
 *   now on, 19 free id 0. A comb or a fill is one operation of many
 *   allocations and frees, each checked locally; all of a run's combs and
 *   fills make at most 4 x max_ops of them. */
#define OA_OPS_CODE_COUNT 20

/* The operations that can fail for lack of metadata, counted apart. */
typedef enum oa_ops_kind {
    OA_OPS_CREATE,
    OA_OPS_ALLOC,
    OA_OPS_SHRINK,
    OA_OPS_GROW, /* grow_capacity */
    OA_OPS_KIND_COUNT
} oa_ops_kind;

typedef struct oa_ops_info {
    /* The byte source: `prefix` first (a driver pins the header with it),
     * then `bytes` (followed by zeros once spent; the run ends there), or,
     * when `bytes` is NULL, splitmix64 bytes from `seed` without end. */
    const uint8_t* prefix;
    size_t prefix_size;
    const uint8_t* bytes;
    size_t size;
    uint64_t seed;
    /* With random bytes: the weight of each operation code (the operation
     * mix); NULL -> the codes as the bytes come (uniform). */
    const uint8_t* op_mix;
    uint64_t max_ops;    /* 0 -> 4096 */
    size_t max_live;     /* live allocations at most (an alloc beyond it frees
                            one instead); 0 -> one per input byte, max_ops at most */
    uint32_t full_every; /* the full check every this many operations; 0 -> 1 */
    /* The driver fails host allocation call number `fail_at` (1-based, from
     * the first call of the run; 0 = none) and the operation that arms a
     * failure does nothing. Otherwise the bytes arm failures themselves. */
    bool driver_fails;
    uint64_t fail_at;
    uint32_t max_regions; /* fixed mode's region budget; 0 -> from the header */
    const char* name;     /* prefix of the messages; NULL -> "ops" */
} oa_ops_info;

typedef struct oa_ops_result {
    uint64_t ops;         /* operations run */
    uint64_t full_checks; /* full checks run */
    uint64_t refused;     /* allocs, grows and resizes the model refused too (no space) */
    uint64_t oom[OA_OPS_KIND_COUNT]; /* operations that failed for lack of metadata */
    uint64_t heap_calls, heap_failures;
    size_t peak_live;      /* live allocations at most */
    uint64_t peak_regions; /* allocations + free regions at most */
    uint64_t capacity;     /* the pool's size at the end */
    int mode;              /* 0 growable, 1 fixed budget, 2 fixed caller memory */
} oa_ops_result;

/* Run the bytes of `info`; fills `out` (may be NULL). Returns 0, or 1 after
 * printing to stderr what diverged (the operation, the call, both answers). */
int oa_ops_run(const oa_ops_info* info, oa_ops_result* out);

#endif /* OA_OPS_H */
