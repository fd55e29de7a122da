/* soak.c - long random run of the core allocator (orderly-soak); not a test.
 * The operation interpreter of ops/ops.h (the fuzz target's) fed with seeded
 * random bytes: allocs of mixed sizes and alignments (non-powers of two
 * included), frees valid and double and forged, in-place resizes, capacity
 * growth and resets, every operation predicted by the naive model of
 * ops/ref_model.h and checked locally, the full check (oa_allocator_check
 * and every region against the model) every --check-every operations, at
 * most --live allocations at once. The pool is 64 GiB; --fixed gives it a
 * fixed budget of 2 x --live + 16 region records.
 *   orderly-soak [--ops N] [--check-every K] [--seed S] [--live L] [--fixed]
 * Prints one JSON line: ops done, full checks, peak regions and live
 * allocations, refused and out-of-metadata operations, seconds, the result.
 * Exit 1 on any divergence (printed to stderr first). */
#include "oa_tool.h"
#include "ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The operation mix (weights of the codes of ops.h): about half allocs,
 * 38% frees, 9% resizes, 2% capacity growth, a reset every few thousand. */
static const uint8_t soak_mix[OA_OPS_CODE_COUNT] = {70, 70, 70, 70, 70, 70, 70, 90, 90, 90,
                                                    90, 10, 10, 50, 40, 20, 1,  0,  0,  10};

int main(int argc, char** argv) {
    uint64_t ops = 100000000ull, check_every = 1000000ull, seed = 1, live_max = 20000;
    int fixed = 0;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--fixed") == 0) {
            fixed = 1;
        } else if (v != NULL && strcmp(a, "--ops") == 0) {
            ops = strtoull(v, NULL, 0), i++;
        } else if (v != NULL && strcmp(a, "--check-every") == 0) {
            check_every = strtoull(v, NULL, 0), i++;
        } else if (v != NULL && strcmp(a, "--seed") == 0) {
            seed = strtoull(v, NULL, 0), i++;
        } else if (v != NULL && strcmp(a, "--live") == 0) {
            live_max = strtoull(v, NULL, 0), i++;
        } else {
            fprintf(stderr, "usage: orderly-soak [--ops N] [--check-every K] [--seed S] [--live L] "
                            "[--fixed]\n");
            return 2;
        }
    }
    if (ops == 0 || check_every == 0 || check_every > UINT32_MAX || live_max == 0 ||
        live_max > (UINT32_MAX - 16) / 2) {
        fprintf(stderr, "orderly-soak: --ops, --check-every and --live must be >= 1 (and "
                        "--check-every, 2 x --live fit in 32 bits)\n");
        return 2;
    }
    /* The header: growable (0) or fixed budget (2); capacity class 7 with
     * eight bytes (64 GiB - 1, plus the 1 the interpreter adds); the table
     * byte (the budget comes from max_regions); size scale 4 + 24 = 2^28. */
    const uint64_t cap = (64ull << 30) - 1;
    uint8_t prefix[12] = {fixed ? 2 : 0, 7};
    for (int b = 0; b < 8; b++) {
        prefix[2 + b] = (uint8_t)(cap >> (56 - 8 * b));
    }
    prefix[10] = 0;
    prefix[11] = 24;
    const oa_ops_info info = {.prefix = prefix,
                              .prefix_size = sizeof prefix,
                              .seed = seed,
                              .op_mix = soak_mix,
                              .max_ops = ops,
                              .max_live = (size_t)live_max,
                              .full_every = (uint32_t)check_every,
                              .max_regions = fixed ? (uint32_t)(2 * live_max + 16) : 0,
                              .name = "orderly-soak"};
    oa_ops_result out;
    const uint64_t t0 = oa_tool_now_ns();
    const int fail = oa_ops_run(&info, &out);
    const double seconds = (double)(oa_tool_now_ns() - t0) * 1e-9;
    uint64_t oom = 0;
    for (int k = 0; k < OA_OPS_KIND_COUNT; k++) {
        oom += out.oom[k];
    }
    printf("{\"bench\":\"soak\",\"mode\":\"%s\",\"seed\":%" PRIu64 ",\"ops\":%" PRIu64
           ",\"check_every\":%" PRIu64 ",\"checks\":%" PRIu64 ",\"peak_regions\":%" PRIu64
           ",\"peak_live\":%zu,\"refused_ops\":%" PRIu64 ",\"out_of_metadata_ops\":%" PRIu64
           ",\"seconds\":%.1f,\"ns_per_op\":%.1f,\"result\":\"%s\"}\n",
           fixed ? "fixed" : "growable", seed, out.ops, check_every, out.full_checks,
           out.peak_regions, out.peak_live, out.refused, oom, seconds,
           out.ops ? seconds * 1e9 / (double)out.ops : 0.0, fail ? "diverged" : "ok");
    return fail;
}
