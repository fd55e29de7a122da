/* fuzz_core.c - libFuzzer target for the core allocator: the input bytes
 * go to the operation interpreter of tools/ops/ops.h as they are (a header
 * of memory mode, capacity, table size and size scale, then a stream of
 * allocs, frees valid or double or stale or forged, try_resize,
 * grow_capacity, reset and armed host allocation failures), each operation
 * checked against the naive model of ref_model.h: a local check after every
 * operation, the full check every fuzz_full_every operations and after the
 * last, at most 4,096 operations. Not thread-safe (one input at a time).
 * Divergence aborts (a libFuzzer finding); fuzz_target_run() returns it
 * instead for the replay main. */
#include "fuzz_target.h"
#include "ops.h"

#include <stdlib.h>

#define FUZZ_FULL_EVERY 32 /* default of fuzz_full_every */

const char fuzz_target_name[] = "fuzz_core";
unsigned fuzz_full_every = FUZZ_FULL_EVERY;

int fuzz_target_run(const uint8_t* data, size_t size) {
    const oa_ops_info info = {.bytes = data,
                              .size = size,
                              .max_ops = 4096,
                              .full_every = fuzz_full_every,
                              .name = fuzz_target_name};
    return oa_ops_run(&info, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (fuzz_target_run(data, size) != 0) {
        abort(); /* a finding: libFuzzer saves the input */
    }
    return 0;
}
