/* test_handles.c - handles that never come back to life, the user word, the
 * granularity option, the one record rule, and crafted sequences that would
 * unbalance a structure an adversary could steer. */
#include "oa_test.h"
#include "oa_test_hooks.h"

#include <orderly/orderly.h>

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_CLEAN(a) CHECK_OK(oa_allocator_check(a))

static uint32_t slot_of(oa_allocation h) {
    return (uint32_t)h.id;
}

/* A 1-byte pool reuses one slot for every allocation: after its generations
 * run out the slot retires, and no handle it gave out ever matches again.
 * Each round jumps the slots on the idle queue to a few generations before
 * the end of their range and cycles through them; a record that never held
 * an allocation takes over, until none is left. */
static void run_wrap(uint32_t max_regions, int expect_retired) {
    oa_allocator_info info = {.capacity = 1, .max_regions = max_regions};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    enum { N = 40 };
    oa_allocation seen[N];
    int taken = 0;
    oa_result last = OA_SUCCESS;
    for (int round = 0; round < 3 && last == OA_SUCCESS; round++) {
        for (int i = 0; i < 8 && taken < N; i++) {
            oa_allocation h = {0};
            last = oa_alloc(a, 1, 1, &h, NULL);
            if (last != OA_SUCCESS) {
                break;
            }
            seen[taken++] = h;
            for (int k = 0; k < taken - 1; k++) {
                /* Every older handle is stale, whoever holds the byte now. */
                CHECK(seen[k].id != h.id);
                CHECK_RESULT(oa_free(a, seen[k]), OA_ERROR_STALE_HANDLE);
                CHECK_RESULT(oa_allocation_get(a, seen[k], NULL, NULL), OA_ERROR_STALE_HANDLE);
            }
            CHECK_CLEAN(a);
            CHECK_OK(oa_free(a, h));
            CHECK_CLEAN(a);
            if (i == 0) {
                oa__test_set_idle_age(a, 0xFFFFFFFEu - 3u);
            }
        }
    }
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.retired_region_count, expect_retired);
    if (max_regions != 0 && (uint32_t)expect_retired == max_regions) {
        /* Every record has spent its generations. */
        CHECK_RESULT(last, OA_ERROR_OUT_OF_METADATA);
    } else {
        CHECK_OK(last);
        /* The allocations of the last round came from other slots. */
        CHECK(slot_of(seen[taken - 1]) != slot_of(seen[0]));
    }
    oa_allocator_destroy(a);
}

OA_TEST(generation_wrap_retires_the_slot_growable) {
    run_wrap(0, 3);
}

OA_TEST(generation_wrap_retires_the_slot_fixed) {
    run_wrap(4, 3);
}

OA_TEST(generation_wrap_with_no_fresh_record_runs_out_cleanly) {
    run_wrap(2, 2);
}

/* Handles of a destroyed allocator are rejected by one created after it in
 * the same memory (caller memory) or at the same address (malloc reuse). */
static void churn(oa_allocator* a, oa_allocation* h, int n, uint64_t seed) {
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        h[i].id = 0;
        oa_result r = oa_alloc(a, 1 + (seed >> 40) % 300, 1, &h[i], NULL);
        (void)r; /* a failed allocation leaves id 0 */
    }
    for (int i = 0; i < n; i += 3) {
        oa_result r = oa_free(a, h[i]);
        h[i].id = 0;
        r = oa_alloc(a, 7, 1, &h[i], NULL);
        (void)r;
    }
}

OA_TEST(stale_handles_of_a_destroyed_allocator_stay_stale) {
    enum { N = 100 };
    static alignas(16) unsigned char mem[128 * 1024];
    for (int mode = 0; mode < 2; mode++) {
        oa_allocator_info info = {.capacity = 1 << 20, .max_regions = 400};
        if (mode == 0) {
            info.memory = mem;
            info.memory_size = sizeof mem;
            CHECK(oa_allocator_memory_size(400) <= sizeof mem);
        }
        oa_allocation old[N], now[N];
        oa_allocator* a = NULL;
        CHECK_OK(oa_allocator_create(&info, &a));
        churn(a, old, N, 1);
        oa_allocator_destroy(a);
        for (int round = 0; round < 20; round++) {
            oa_allocator* b = NULL;
            CHECK_OK(oa_allocator_create(&info, &b));
            churn(b, now, N, 1); /* the same slots, in the same order */
            for (int i = 0; i < N; i++) {
                if (old[i].id != 0) {
                    CHECK_RESULT(oa_free(b, old[i]), OA_ERROR_STALE_HANDLE);
                }
            }
            CHECK_CLEAN(b);
            for (int i = 0; i < N; i++) {
                CHECK_OK(oa_free(b, now[i]));
            }
            memcpy(old, now, sizeof old);
            oa_allocator_destroy(b);
        }
    }
}

OA_TEST(reset_makes_every_handle_stale_for_good) {
    oa_allocator_info info = {.capacity = 1000};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation before[5], after;
    for (int i = 0; i < 5; i++) {
        CHECK_OK(oa_alloc(a, 10, 1, &before[i], NULL));
    }
    CHECK_OK(oa_free(a, before[2]));
    for (int round = 0; round < 3; round++) {
        oa_reset(a);
        CHECK_CLEAN(a);
        for (int i = 0; i < 5; i++) {
            CHECK_OK(oa_alloc(a, 10, 1, &after, NULL));
            for (int k = 0; k < 5; k++) {
                CHECK(after.id != before[k].id);
                CHECK_RESULT(oa_free(a, before[k]), OA_ERROR_STALE_HANDLE);
            }
        }
    }
    oa_allocator_destroy(a);
}

/* ---- the user word ---- */
typedef struct user_seen {
    uint32_t sum, count;
} user_seen;

static bool add_user(void* user, const oa_region_info* r) {
    user_seen* s = (user_seen*)user;
    s->sum += r->user;
    s->count++;
    return true;
}

OA_TEST(user_word_per_allocation) {
    oa_allocator_info info = {.capacity = 4096};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[4];
    uint32_t u = 99;
    for (uint32_t i = 0; i < 4; i++) {
        CHECK_OK(oa_alloc(a, 100, 1, &h[i], NULL));
        CHECK_OK(oa_allocation_get_user(a, h[i], &u));
        CHECK_EQ(u, 0);
        CHECK_OK(oa_allocation_set_user(a, h[i], 1000u + i));
    }
    CHECK_OK(oa_allocation_set_user(a, h[3], 0xFFFFFFFFu));
    CHECK_OK(oa_try_resize(a, h[3], 300));
    CHECK_OK(oa_allocation_get_user(a, h[3], &u));
    CHECK_EQ(u, 0xFFFFFFFFu);
    CHECK_CLEAN(a);
    user_seen s = {0, 0};
    CHECK_OK(oa_walk(a, OA_WALK_ALL, add_user, &s));
    CHECK_EQ(s.sum, 1000u + 1001u + 1002u + 0xFFFFFFFFu);
    CHECK_EQ(s.count, 5); /* four allocations and the free tail (user 0) */
    CHECK_OK(oa_free(a, h[1]));
    CHECK_RESULT(oa_allocation_get_user(a, h[1], &u), OA_ERROR_STALE_HANDLE);
    CHECK_EQ(u, 0);
    CHECK_RESULT(oa_allocation_set_user(a, h[1], 5), OA_ERROR_STALE_HANDLE);
    CHECK_RESULT(oa_allocation_get_user(a, h[0], NULL), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_allocation_set_user(NULL, h[0], 5), OA_ERROR_INVALID_ARGUMENT);
    /* A new allocation in the freed slot starts at 0 again. */
    oa_allocation n;
    CHECK_OK(oa_alloc(a, 100, 1, &n, NULL));
    CHECK_OK(oa_allocation_get_user(a, n, &u));
    CHECK_EQ(u, 0);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* ---- granularity ---- */
typedef struct grain_walk {
    uint64_t grain;
    int bad;
} grain_walk;

static bool check_grain(void* user, const oa_region_info* r) {
    grain_walk* g = (grain_walk*)user;
    if (r->offset % g->grain != 0 || (r->size % g->grain != 0 && r->offset + r->size != 100000)) {
        g->bad++;
    }
    return true;
}

OA_TEST(granularity_rounds_sizes_and_alignments) {
    oa_allocator_info info = {.capacity = 100000, .granularity = 64};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocator_info ri = oa_allocator_info_resolved(&info);
    CHECK_EQ(ri.granularity, 64);
    oa_allocation h[200];
    uint64_t off, size;
    uint64_t seed = 7;
    for (int i = 0; i < 200; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t want = 1 + (seed >> 33) % 500;
        uint64_t align = (uint64_t[]){1, 16, 48, 256, 24}[i % 5];
        CHECK_OK(oa_alloc(a, want, align, &h[i], &off));
        CHECK_OK(oa_allocation_get(a, h[i], NULL, &size));
        CHECK_EQ(size % 64, 0);
        CHECK(size >= want && size < want + 64);
        CHECK_EQ(off % 64, 0);
        CHECK_EQ(off % align, 0);
        if (i % 3 == 0) {
            CHECK_OK(oa_free(a, h[i]));
        }
    }
    grain_walk g = {64, 0};
    CHECK_OK(oa_walk(a, OA_WALK_ALL, check_grain, &g));
    CHECK_EQ(g.bad, 0);
    CHECK_OK(oa_try_resize(a, h[1], 65));
    CHECK_OK(oa_allocation_get(a, h[1], NULL, &size));
    CHECK_EQ(size, 128);
    CHECK_CLEAN(a);
    oa_allocation x;
    CHECK_RESULT(oa_alloc(a, UINT64_MAX - 10, 1, &x, &off), OA_ERROR_OVERFLOW);
    CHECK_EQ(x.id, 0);
    CHECK_EQ(off, OA_NO_OFFSET);
    CHECK_RESULT(oa_alloc(a, 1, UINT64_MAX - 1, &x, &off), OA_ERROR_OVERFLOW);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* ---- one record rule for both fixed modes ---- */
OA_TEST(max_regions_counts_the_same_in_both_fixed_modes) {
    static alignas(16) unsigned char mem[128 * 1024];
    for (uint32_t budget = 1; budget <= 3; budget++) {
        for (int caller = 0; caller < 2; caller++) {
            oa_allocator_info info = {.capacity = 100, .max_regions = budget};
            if (caller) {
                info.memory = mem;
                info.memory_size = oa_allocator_memory_size(budget);
            }
            oa_allocator* a = NULL;
            CHECK_OK(oa_allocator_create(&info, &a));
            oa_stats st;
            CHECK_OK(oa_get_stats(a, &st));
            CHECK_EQ(st.region_capacity, budget);
            oa_allocation h;
            /* The whole pool takes over the free region's record; a part of
             * it needs a second record for the rest. */
            CHECK_OK(oa_alloc(a, 100, 1, &h, NULL));
            CHECK_OK(oa_free(a, h));
            CHECK_RESULT(oa_alloc(a, 50, 1, &h, NULL),
                         budget >= 2 ? OA_SUCCESS : OA_ERROR_OUT_OF_METADATA);
            CHECK_CLEAN(a);
            oa_allocator_destroy(a);
        }
    }
}

/* ---- crafted sequences ---- */

/* Many one-byte allocations, then every other one freed: one size bin holds
 * every free region. The old treaps turned such a bin into a long path (and
 * the checker then called a valid state corrupt); the trees stay balanced
 * whatever the order. */
OA_TEST(one_bin_of_many_regions_stays_balanced_and_valid) {
    enum { N = 200000 };
    oa_allocator_info info = {.capacity = N, .max_regions = N + 10};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation* h = (oa_allocation*)malloc(N * sizeof *h);
    CHECK(h != NULL);
    for (int i = 0; i < N; i++) {
        CHECK_OK(oa_alloc(a, 1, 1, &h[i], NULL));
    }
    /* Free even offsets in a scrambled order. */
    for (uint64_t k = 0; k < N / 2; k++) {
        uint64_t i = 2 * ((k * 40503u) % (N / 2));
        CHECK_OK(oa_free(a, h[i]));
    }
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, N / 2);
    CHECK_EQ(st.largest_free_size, 1);
    oa_allocation big;
    uint64_t off;
    /* Only offset 0 is a multiple of 2^30: the rest of the bin is skipped. */
    CHECK_OK(oa_alloc(a, 1, 1u << 30, &big, &off));
    CHECK_EQ(off, 0);
    CHECK_RESULT(oa_alloc(a, 1, 1u << 30, &big, NULL), OA_ERROR_OUT_OF_SPACE);
    CHECK_RESULT(oa_alloc(a, 2, 1, &big, NULL), OA_ERROR_OUT_OF_SPACE);
    /* Exact best fit still takes the lowest offset of the bin. */
    CHECK_OK(oa_alloc(a, 1, 1, &big, &off));
    CHECK_EQ(off, 2);
    CHECK_OK(oa_alloc(a, 1, 8, &big, &off));
    CHECK_EQ(off, 8);
    CHECK_CLEAN(a);
    free(h);
    oa_allocator_destroy(a);
}

/* Free regions smaller than every request so far wait unindexed in growable
 * mode; the stats still see the largest of them, and a smaller request finds
 * them by exact best fit. */
OA_TEST(unindexed_small_regions_count_in_stats_and_fit_later) {
    oa_allocator_info info = {.capacity = 1 << 20};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[64];
    uint64_t off;
    for (int i = 0; i < 64; i++) {
        CHECK_OK(oa_alloc(a, 1000 + (uint64_t)(i % 7), 1024, &h[i], &off));
        CHECK_EQ(off % 1024, 0);
    }
    /* The last free region is the pool's rest; take it all. */
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    oa_allocation rest;
    CHECK_OK(oa_alloc(a, st.largest_free_size, 1, &rest, &off));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.largest_free_size, 24); /* 1024 - 1000 */
    CHECK_EQ(st.free_region_count, 63); /* the gaps between the 64 */
    CHECK_CLEAN(a);
    oa_allocation small;
    CHECK_OK(oa_alloc(a, 19, 1, &small, &off)); /* best fit: a 19-byte gap */
    CHECK_EQ(off, 1024u * 5 + 1005u);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

OA_TEST_MAIN()
