/* test_faults.c - the core allocator under metadata allocation failures.
 * Growable mode: a randomised workload (several allocator lifetimes of
 * allocs, frees, shrinks, capacity growth and resets) is run once to count
 * its metadata allocations, then once more for every N with the Nth
 * allocation failing: the operation that hits it returns
 * OA_ERROR_OUT_OF_HOST_MEMORY, the checker passes, every live allocation and
 * every statistic is what it was, the rest of the workload still agrees with
 * the naive model, and no byte is leaked (counted here; LeakSanitizer in the
 * sanitizer build). Fixed modes: the region budget runs out with
 * OA_ERROR_OUT_OF_METADATA, no heap call after creation, frees still work.
 * ORDERLY_SEED=<n> picks the workload's seed (printed). */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "orderly/orderly.h"
#include "ref_model.h"

typedef struct live {
    oa_allocation h;
    uint64_t offset, size;
} live;

enum { OP_CREATE, OP_ALLOC, OP_SHRINK, OP_GROW, OP_KINDS };

typedef struct outcome {
    uint64_t failed_ops[OP_KINDS]; /* operations that returned an out-of-memory code */
    uint64_t ops;
} outcome;

/* Every live allocation and the statistics against the model. */
static int same_state(oa_allocator* a, const ref_model* m, const live* lv, size_t n) {
    if (oa_allocator_check(a) != OA_SUCCESS) {
        fprintf(stderr, "checker: %s\n", oa_result_name(oa_allocator_check(a)));
        return 0;
    }
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS || st.allocation_count != n ||
        st.free_size != ref_total_free(m) || st.largest_free_size != ref_largest_free(m) ||
        st.free_region_count != m->count || st.capacity != m->capacity) {
        fprintf(stderr, "statistics differ from the model\n");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t off, size;
        if (oa_allocation_get(a, lv[i].h, &off, &size) != OA_SUCCESS || off != lv[i].offset ||
            size != lv[i].size) {
            fprintf(stderr, "live allocation %zu moved or vanished\n", i);
            return 0;
        }
    }
    return 1;
}

#define LIFETIMES 8
#define OPS_PER_LIFETIME 1500
#define MAX_LIVE 4096

/* One run of the workload. `max_regions` 0 is growable mode. With
 * h->fail_at set, the operation that gets the failing call must fail with
 * `oom` and change nothing. Returns 0 on success, prints and returns 1 on a
 * divergence. */
static int run_workload(uint64_t seed, uint32_t max_regions, oa_test_heap* h, outcome* out) {
    const oa_result oom = max_regions != 0 ? OA_ERROR_OUT_OF_METADATA : OA_ERROR_OUT_OF_HOST_MEMORY;
    uint64_t rng = seed;
    live* lv = (live*)malloc(sizeof(live) * MAX_LIVE);
    int fail = lv == NULL;
    for (int life = 0; life < LIFETIMES && !fail; life++) {
        /* Small pools fill up, so that their end is used and growing the
         * capacity needs a record too. */
        const uint64_t capacity =
            life % 2 == 0 ? 4096 + splitmix64(&rng) % (1u << 22) : 1024 + splitmix64(&rng) % 8192;
        oa_allocator_info info = {.capacity = capacity,
                                  .initial_regions = 1u + (uint32_t)(splitmix64(&rng) % 4),
                                  .max_regions = max_regions};
        info.callbacks = oa_test_heap_callbacks(h);
        oa_allocator* a = NULL;
        const uint64_t failures = h->failures;
        oa_result r = oa_allocator_create(&info, &a);
        if (h->failures != failures) {
            if (r != OA_ERROR_OUT_OF_HOST_MEMORY || a != NULL || h->live_bytes != 0) {
                fprintf(stderr, "create: %s with a failing allocation\n", oa_result_name(r));
                fail = 1;
                break;
            }
            out->failed_ops[OP_CREATE]++;
            r = oa_allocator_create(&info, &a);
        }
        if (r != OA_SUCCESS) {
            fprintf(stderr, "create: %s\n", oa_result_name(r));
            fail = 1;
            break;
        }
        const uint64_t calls_after_create = h->calls;
        ref_model m;
        ref_init(&m, capacity);
        size_t n = 0;
        for (int op = 0; op < OPS_PER_LIFETIME && !fail; op++) {
            out->ops++;
            uint64_t dice = splitmix64(&rng) % 100;
            uint64_t size = 1 + splitmix64(&rng) % 2000;
            uint64_t align = (uint64_t[]){1, 1, 3, 16, 24, 256}[splitmix64(&rng) % 6];
            oa_stats st;
            if (oa_get_stats(a, &st) == OA_SUCCESS && n > 0 && dice % 2 == 0 &&
                st.region_capacity == st.allocation_count + st.free_region_count) {
                /* The table is full: steer towards a shrink or a capacity
                 * growth (after filling the free end exactly, which needs no
                 * record), so that they too meet a failing table growth. */
                const ref_span* last = m.count > 0 ? &m.free[m.count - 1] : NULL;
                if (last != NULL && last->offset + last->size == m.capacity) {
                    dice = 0;
                    size = last->size;
                    align = 1;
                } else {
                    dice = 85 + splitmix64(&rng) % 12;
                }
            }
            const uint64_t failures_before = h->failures;
            int kind = -1;
            oa_result got = OA_SUCCESS;
            /* Grow the live set for most of a lifetime, then drain it. */
            const uint64_t alloc_share = op < OPS_PER_LIFETIME * 2 / 3 ? 60 : 30;
            if ((dice < alloc_share || n == 0) && n < MAX_LIVE) {
                kind = OP_ALLOC;
                size_t i = 0;
                const uint64_t expect = ref_find(&m, size, align, &i);
                oa_allocation x;
                uint64_t off;
                got = oa_alloc(a, size, align, &x, &off);
                if (got == OA_SUCCESS) {
                    if (expect != off) {
                        fprintf(stderr, "alloc at %llu, model %llu\n", (unsigned long long)off,
                                (unsigned long long)expect);
                        fail = 1;
                    }
                    ref_carve(&m, i, off, size);
                    lv[n++] = (live){x, off, size};
                } else if (got != oom && !(got == OA_ERROR_OUT_OF_SPACE && expect == UINT64_MAX)) {
                    fprintf(stderr, "alloc: %s\n", oa_result_name(got));
                    fail = 1;
                }
            } else if (dice < 85) {
                const size_t k = (size_t)(splitmix64(&rng) % n);
                got = oa_free(a, lv[k].h);
                ref_free(&m, lv[k].offset, lv[k].size);
                lv[k] = lv[--n];
            } else if (dice < 93) {
                kind = OP_SHRINK;
                const size_t k = (size_t)(splitmix64(&rng) % n);
                if (lv[k].size > 1) {
                    const uint64_t ns = 1 + splitmix64(&rng) % (lv[k].size - 1);
                    got = oa_try_resize(a, lv[k].h, ns);
                    if (got == OA_SUCCESS) {
                        ref_free(&m, lv[k].offset + ns, lv[k].size - ns);
                        lv[k].size = ns;
                    }
                }
            } else if (dice < 97) {
                kind = OP_GROW;
                const uint64_t add = 1 + splitmix64(&rng) % 5000;
                got = oa_grow_capacity(a, add);
                if (got == OA_SUCCESS) {
                    ref_grow_capacity(&m, add);
                }
            } else if (dice < 98) {
                oa_reset(a); /* grown capacity stays */
                const uint64_t cap = m.capacity;
                ref_destroy(&m);
                ref_init(&m, cap);
                n = 0;
            } else {
                got = oa_get_stats(a, &st);
            }
            const int failed_now = h->failures != failures_before;
            if (got != OA_SUCCESS && !(got == OA_ERROR_OUT_OF_SPACE && kind == OP_ALLOC)) {
                if (got != oom || kind < 0 || (max_regions == 0 && !failed_now)) {
                    fprintf(stderr, "op %d: %s (kind %d)\n", op, oa_result_name(got), kind);
                    fail = 1;
                } else {
                    out->failed_ops[kind]++;
                }
            } else if (failed_now) {
                fprintf(stderr, "op %d: a metadata allocation failed but the op returned %s\n", op,
                        oa_result_name(got));
                fail = 1;
            }
            if (!fail && !same_state(a, &m, lv, n)) {
                fprintf(stderr, "op %d (kind %d, %s): state changed\n", op, kind,
                        oa_result_name(got));
                fail = 1;
            }
        }
        if (max_regions != 0 && h->calls != calls_after_create) {
            fprintf(stderr, "fixed mode called the heap %llu times after create\n",
                    (unsigned long long)(h->calls - calls_after_create));
            fail = 1;
        }
        /* Frees always work, and give the pool back whole. */
        while (!fail && n > 0) {
            n--;
            if (oa_free(a, lv[n].h) != OA_SUCCESS) {
                fprintf(stderr, "final free failed\n");
                fail = 1;
            }
            ref_free(&m, lv[n].offset, lv[n].size);
        }
        if (!fail && (!same_state(a, &m, lv, 0) || m.count != 1)) {
            fprintf(stderr, "pool not whole after freeing everything\n");
            fail = 1;
        }
        oa_allocator_destroy(a);
        ref_destroy(&m);
    }
    free(lv);
    return fail;
}

static uint64_t seed_from_env(void) {
    const char* s = getenv("ORDERLY_SEED");
    return s != NULL ? strtoull(s, NULL, 0) : 0x0FA17;
}

OA_TEST(growable_every_nth_metadata_allocation_fails) {
    const uint64_t seed = seed_from_env();
    printf("seed=0x%llx\n", (unsigned long long)seed);
    oa_test_heap clean = {0};
    outcome o = {{0}, 0};
    CHECK_EQ(run_workload(seed, 0, &clean, &o), 0);
    CHECK_EQ(clean.live_bytes, 0);
    const uint64_t points = clean.calls;
    CHECK(points >= 4 * LIFETIMES); /* creation plus several table growths each */
    outcome total = {{0}, 0};
    for (uint64_t n = 1; n <= points; n++) {
        oa_test_heap h = {.fail_at = n};
        outcome one = {{0}, 0};
        if (run_workload(seed, 0, &h, &one) != 0) {
            OA_FAIL_AT("seed=0x%llx: failing metadata allocation %llu of %llu diverged",
                       (unsigned long long)seed, (unsigned long long)n, (unsigned long long)points);
            return;
        }
        CHECK_EQ(h.failures, 1);
        CHECK_EQ(h.live_bytes, 0);
        uint64_t failed = 0;
        for (int k = 0; k < OP_KINDS; k++) {
            failed += one.failed_ops[k];
            total.failed_ops[k] += one.failed_ops[k];
        }
        CHECK_EQ(failed, 1); /* exactly the operation that got the NULL */
    }
    printf("failure points: %llu (create %llu, alloc %llu, shrink %llu, grow_capacity %llu), "
           "%llu ops per run\n",
           (unsigned long long)points, (unsigned long long)total.failed_ops[OP_CREATE],
           (unsigned long long)total.failed_ops[OP_ALLOC],
           (unsigned long long)total.failed_ops[OP_SHRINK],
           (unsigned long long)total.failed_ops[OP_GROW], (unsigned long long)o.ops);
    /* The workload reaches the growth from every kind of operation. */
    CHECK(total.failed_ops[OP_CREATE] >= LIFETIMES);
    CHECK(total.failed_ops[OP_ALLOC] > 0);
    CHECK(total.failed_ops[OP_SHRINK] > 0);
    CHECK(total.failed_ops[OP_GROW] > 0);
}

OA_TEST(fixed_budget_runs_out_cleanly_and_frees_still_work) {
    const uint64_t seed = seed_from_env();
    for (uint32_t budget = 3; budget <= 200; budget = budget * 2 + 1) {
        oa_test_heap h = {0};
        outcome o = {{0}, 0};
        CHECK_EQ(run_workload(seed + budget, budget, &h, &o), 0);
        CHECK_EQ(h.live_bytes, 0);
        CHECK(h.calls <= 2 * LIFETIMES); /* object and table, once per allocator */
        CHECK(o.failed_ops[OP_ALLOC] > 0);
        printf("budget %u: %llu allocs, %llu shrinks, %llu grows ran out of records\n", budget,
               (unsigned long long)o.failed_ops[OP_ALLOC],
               (unsigned long long)o.failed_ops[OP_SHRINK],
               (unsigned long long)o.failed_ops[OP_GROW]);
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
