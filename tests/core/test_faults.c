/* test_faults.c - the core allocator under metadata allocation failures.
 * Growable mode: a randomised workload (several allocator lifetimes of the
 * operation interpreter of tools/ops/ops.h: allocs, frees, resizes,
 * capacity growth and resets from seeded random bytes) is run once to count
 * each lifetime's metadata allocations, then once more for every N with the
 * Nth allocation failing: the operation that hits it must return
 * OA_ERROR_OUT_OF_HOST_MEMORY and change nothing (the interpreter predicts
 * every operation with the naive model and checks the whole state after
 * each), the rest of the lifetime still agrees with the model, and no byte
 * is leaked (counted by the interpreter; LeakSanitizer in the sanitizer
 * build). Fixed modes: the region budget runs out with
 * OA_ERROR_OUT_OF_METADATA, no heap call after creation, frees still work.
 * ORDERLY_SEED=<n> picks the workload's seed (printed). */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"
#include "ops.h"
#include "orderly/orderly.h"

#define LIFETIMES 24
#define OPS_PER_LIFETIME 1500

/* The operation mix (weights of the codes of ops.h): allocs outweigh frees
 * so that the table keeps growing, and resizes and capacity growth are
 * frequent enough to meet a failing table growth too. */
static const uint8_t fault_mix[OA_OPS_CODE_COUNT] = {8, 8, 8, 8, 8, 8,  8, 5, 5, 5,
                                                     5, 1, 1, 8, 8, 24, 1, 0, 0, 1};

/* Lifetime `life` of the workload of `seed`: its header bytes (growable or
 * fixed budget; large pools and small ones that fill up, so that their end
 * is used and growing the capacity needs a record too; a table of 1 to 4
 * records to start with) and its random operations. */
static oa_ops_info lifetime(uint64_t seed, int life, uint32_t max_regions, uint8_t prefix[8]) {
    uint64_t rng = seed + (uint64_t)life * 0x9E3779B97F4A7C15ull;
    const uint64_t capacity = splitmix64(&rng);
    int k = 0;
    prefix[k++] = max_regions != 0 ? 2 : 0;
    if (life % 3 == 0) {
        prefix[k++] = 3; /* 1 + three bytes: up to 16 MiB */
        prefix[k++] = (uint8_t)(capacity >> 16);
    } else {
        prefix[k++] = 0; /* 1 + two bytes: up to 64 KiB */
    }
    prefix[k++] = (uint8_t)(capacity >> 8);
    prefix[k++] = (uint8_t)capacity;
    prefix[k++] = (uint8_t)(splitmix64(&rng) % 4);
    /* Sizes below 2^scale: up to 4 KiB in the small pools, so that they fill. */
    prefix[k++] = life % 3 == 0 ? (uint8_t)splitmix64(&rng) : (uint8_t)(splitmix64(&rng) % 9);
    const oa_ops_info info = {.prefix = prefix,
                              .prefix_size = (size_t)k,
                              .seed = splitmix64(&rng),
                              .op_mix = fault_mix,
                              .max_ops = OPS_PER_LIFETIME,
                              .max_live = 4096,
                              .full_every = 1,
                              .driver_fails = true,
                              .max_regions = max_regions,
                              .name = "test_faults"};
    return info;
}

static uint64_t seed_from_env(void) {
    const char* s = getenv("ORDERLY_SEED");
    return s != NULL ? strtoull(s, NULL, 0) : 0x0FA17;
}

OA_TEST(growable_every_nth_metadata_allocation_fails) {
    const uint64_t seed = seed_from_env();
    printf("seed=0x%llx\n", (unsigned long long)seed);
    uint64_t points = 0, ops = 0, total[OA_OPS_KIND_COUNT] = {0};
    for (int life = 0; life < LIFETIMES; life++) {
        uint8_t prefix[8];
        oa_ops_info info = lifetime(seed, life, 0, prefix);
        oa_ops_result clean;
        CHECK_EQ(oa_ops_run(&info, &clean), 0);
        CHECK_EQ(clean.heap_failures, 0);
        CHECK(clean.heap_calls >= 2); /* the object and the table, at least */
        points += clean.heap_calls;
        ops += clean.ops;
        for (uint64_t n = 1; n <= clean.heap_calls; n++) {
            info.fail_at = n;
            oa_ops_result one;
            if (oa_ops_run(&info, &one) != 0) {
                OA_FAIL_AT("seed=0x%llx: lifetime %d, failing metadata allocation %llu of %llu "
                           "diverged",
                           (unsigned long long)seed, life, (unsigned long long)n,
                           (unsigned long long)clean.heap_calls);
                return;
            }
            CHECK_EQ(one.heap_failures, 1);
            uint64_t failed = 0;
            for (int k = 0; k < OA_OPS_KIND_COUNT; k++) {
                failed += one.oom[k];
                total[k] += one.oom[k];
            }
            CHECK_EQ(failed, 1); /* exactly the operation that got the NULL */
        }
    }
    printf("failure points: %llu (create %llu, alloc %llu, shrink %llu, grow_capacity %llu), "
           "%llu ops in %d lifetimes\n",
           (unsigned long long)points, (unsigned long long)total[OA_OPS_CREATE],
           (unsigned long long)total[OA_OPS_ALLOC], (unsigned long long)total[OA_OPS_SHRINK],
           (unsigned long long)total[OA_OPS_GROW], (unsigned long long)ops, LIFETIMES);
    CHECK(points >= 4 * LIFETIMES); /* creation plus several table growths each */
    /* The workload reaches the growth from every kind of operation. */
    CHECK(total[OA_OPS_CREATE] >= LIFETIMES);
    CHECK(total[OA_OPS_ALLOC] > 0);
    CHECK(total[OA_OPS_SHRINK] > 0);
    CHECK(total[OA_OPS_GROW] > 0);
}

OA_TEST(fixed_budget_runs_out_cleanly_and_frees_still_work) {
    const uint64_t seed = seed_from_env();
    for (uint32_t budget = 3; budget <= 200; budget = budget * 2 + 1) {
        uint64_t oom[OA_OPS_KIND_COUNT] = {0};
        for (int life = 0; life < LIFETIMES; life++) {
            uint8_t prefix[8];
            const oa_ops_info info = lifetime(seed + budget, life, budget, prefix);
            oa_ops_result o;
            /* The interpreter fails the run on a heap call after creation. */
            CHECK_EQ(oa_ops_run(&info, &o), 0);
            CHECK(o.heap_calls <= 2); /* object and table, once */
            for (int k = 0; k < OA_OPS_KIND_COUNT; k++) {
                oom[k] += o.oom[k];
            }
        }
        CHECK(oom[OA_OPS_ALLOC] > 0);
        printf("budget %u: %llu allocs, %llu shrinks, %llu grows ran out of records\n", budget,
               (unsigned long long)oom[OA_OPS_ALLOC], (unsigned long long)oom[OA_OPS_SHRINK],
               (unsigned long long)oom[OA_OPS_GROW]);
    }
}

/* Caller memory: no allocator at all, and the same clean failures. */
OA_TEST(fixed_caller_memory_runs_out_cleanly) {
    enum { BUDGET = 40 };
    const size_t bytes = oa_allocator_memory_size(BUDGET);
    void* memory = aligned_alloc(16, (bytes + 15) / 16 * 16);
    CHECK(memory != NULL);
    oa_test_heap h = {0};
    oa_allocator_info info = {.capacity = 1 << 20, .max_regions = BUDGET};
    info.memory = memory;
    info.memory_size = bytes;
    info.callbacks = oa_test_heap_callbacks(&h);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation x[BUDGET];
    int n = 0;
    oa_result r = OA_SUCCESS;
    while (n < BUDGET && (r = oa_alloc(a, 16, 16, &x[n], NULL)) == OA_SUCCESS) {
        n++;
    }
    CHECK_RESULT(r, OA_ERROR_OUT_OF_METADATA);
    oa_stats before, after;
    CHECK_OK(oa_get_stats(a, &before));
    CHECK_RESULT(oa_try_resize(a, x[0], 1), OA_ERROR_OUT_OF_METADATA); /* a used neighbour */
    CHECK_OK(oa_get_stats(a, &after));
    CHECK_EQ(after.free_size, before.free_size);
    CHECK_EQ(after.free_region_count, before.free_region_count);
    CHECK_OK(oa_allocator_check(a));
    for (int i = 0; i < n; i += 2) {
        CHECK_OK(oa_free(a, x[i]));
        CHECK_OK(oa_allocator_check(a));
    }
    CHECK_OK(oa_alloc(a, 7, 16, &x[0], NULL));
    oa_allocator_destroy(a);
    free(memory);
    CHECK_EQ(h.calls, 0);
}

OA_TEST_MAIN()
