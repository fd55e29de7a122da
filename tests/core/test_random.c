/* test_random.c - randomised differential test of the core allocator: the
 * operation interpreter of tools/ops/ops.h (the fuzz target's) fed with
 * seeded random bytes instead of libFuzzer's. Thousands of random alloc /
 * free / resize / grow / reset operations over several seeds, each checked
 * against the naive model of ref_model.h: every allocation lands at the
 * model's offset (or fails where the model fails), and the full check
 * (oa_allocator_check, every region and live allocation against the model)
 * runs after every operation. Three header choices: growable, a fixed
 * budget of 64 regions, and requests that shrink over the run.
 * ORDERLY_SEED=<n> runs one seed; ORDERLY_ITERS=<n> sets the operation
 * count. The seed is printed at the start and again on failure. */
#include "oa_test.h"
#include "oa_test_rng.h"
#include "ops.h"

/* The operation mix (weights of the codes of ops.h): half allocs, about
 * 38% frees (valid, double, forged), 9% resizes, 2% capacity growth, 1%
 * resets, and a few armed host failures and frees of id 0. */
static const uint8_t random_mix[OA_OPS_CODE_COUNT] = {7, 7, 7, 7, 7, 7, 7, 9, 9, 9,
                                                      9, 1, 1, 5, 4, 2, 4, 1, 0, 1};

/* The header bytes the interpreter reads first: memory mode (0 growable,
 * 2 fixed budget; +4: requests shrink over the run), capacity class 3 and
 * three bytes of capacity (at most 2^24), the table byte, the size scale. */
static int run_seed(uint64_t seed, int iters, uint32_t max_regions, int shrinking) {
    uint64_t rng = seed;
    const uint64_t capacity = splitmix64(&rng);
    const uint8_t prefix[] = {(uint8_t)((max_regions != 0 ? 2 : 0) | (shrinking ? 4 : 0)),
                              3,
                              (uint8_t)(capacity >> 16),
                              (uint8_t)(capacity >> 8),
                              (uint8_t)capacity,
                              (uint8_t)(splitmix64(&rng) % 8),
                              (uint8_t)splitmix64(&rng)};
    const oa_ops_info info = {.prefix = prefix,
                              .prefix_size = sizeof prefix,
                              .seed = splitmix64(&rng),
                              .op_mix = random_mix,
                              .max_ops = (uint64_t)iters,
                              .max_live = 4096,
                              .full_every = 1,
                              .max_regions = max_regions,
                              .name = "test_random"};
    oa_ops_result out;
    const int fail = oa_ops_run(&info, &out);
    printf("  %" PRIu64 " ops, capacity %" PRIu64 ", peak %zu live, %" PRIu64 " refused, %" PRIu64
           " out of metadata\n",
           out.ops, out.capacity, out.peak_live, out.refused, out.oom[OA_OPS_ALLOC]);
    if (!fail && out.ops != (uint64_t)iters) {
        fprintf(stderr, "ran %" PRIu64 " of %d operations\n", out.ops, iters);
        return 1;
    }
    return fail;
}

static int iters_from_env(int fallback) {
    const char* s = getenv("ORDERLY_ITERS");
    return s ? atoi(s) : fallback;
}

static void run_seeds(uint32_t max_regions, int shrinking) {
    const char* env = getenv("ORDERLY_SEED");
    int iters = iters_from_env(20000);
    uint64_t first = env ? strtoull(env, NULL, 0) : 1;
    int count = env ? 1 : 12;
    for (int i = 0; i < count; i++) {
        uint64_t seed = first + (uint64_t)i;
        printf("seed=0x%" PRIx64 " iters=%d max_regions=%u shrinking=%d\n", seed, iters,
               max_regions, shrinking);
        if (run_seed(seed, iters, max_regions, shrinking) != 0) {
            OA_FAIL_AT("diverged: rerun with ORDERLY_SEED=0x%" PRIx64 " ORDERLY_ITERS=%d", seed,
                       iters);
            return;
        }
    }
}

OA_TEST(random_ops_match_model_growable) {
    run_seeds(0, 0);
}

OA_TEST(random_ops_match_model_fixed_budget) {
    run_seeds(64, 0);
}

OA_TEST(random_ops_match_model_shrinking_requests) {
    run_seeds(0, 1);
}

OA_TEST_MAIN()
