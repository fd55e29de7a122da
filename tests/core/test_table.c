/* test_table.c - the region table of growable mode as it grows.
 * A small full table doubles by copying (at most 1 MiB); a larger one grows
 * by a segment of its own size, and no record moves (but for the first
 * segment's copy of the table's slots past a power of two): each such
 * growth is one heap call for the slots it adds, and nothing goes back to
 * the heap before destroy. Random workloads through
 * many growths agree with the naive model, offset for offset, with the
 * checker after every operation; a heap that fails the growth loses
 * nothing.
 * ORDERLY_SEED=<n> picks the random workload's seed (printed). */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"
#include "orderly/orderly.h"
#include "ref_model.h"

#include <stdlib.h>

static uint64_t seed_from_env(void) {
    const char* s = getenv("ORDERLY_SEED");
    return s != NULL ? strtoull(s, NULL, 0) : 0x7AB1E;
}

/* One-byte allocations grow a table of 1,025 records (the default
 * 1,024 and the sentinel) to 2^17 slots, with frees between. While the
 * table has at most 32,768 records it doubles by copying (one allocation,
 * one free, at most 1 MiB moved); from there each growth is one heap call
 * for the slots it adds (a segment), and nothing more goes back to the heap
 * before the allocator is destroyed: no growth copies the table into a
 * larger one. Every allocation keeps its offset throughout. */
OA_TEST(growth_adds_segments_and_copies_no_table) {
    enum { N = 1 << 17, FLAT_MAX = 1 << 16 };
    oa_test_heap h = {0};
    oa_allocator_info info = {.capacity = 1 << 20};
    info.callbacks = oa_test_heap_callbacks(&h);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation* x = (oa_allocation*)calloc(N, sizeof(oa_allocation));
    uint64_t* at = (uint64_t*)calloc(N, sizeof(uint64_t));
    CHECK(x != NULL && at != NULL);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.region_capacity, 1024);
    uint64_t slots = st.region_capacity + 1, meta = st.metadata_bytes;
    int growths = 0, doublings = 0;
    for (int i = 0; i < N - 4; i++) {
        const uint64_t calls = h.calls, frees = h.frees;
        const size_t peak = h.live_bytes;
        uint64_t off;
        CHECK_OK(oa_alloc(a, 1, 1, &x[i], &off));
        at[i] = off;
        if (i % 5 == 4) {
            CHECK_OK(oa_free(a, x[i - 2])); /* a hole that a later alloc fills */
            x[i - 2].id = 0;
        }
        CHECK_OK(oa_get_stats(a, &st));
        if (h.calls != calls) {
            growths++;
            CHECK_EQ(h.calls, calls + 1);
            const uint64_t grown = st.region_capacity + 1;
            if (2 * slots <= FLAT_MAX) {
                /* A small table doubles: the old one goes back. */
                doublings++;
                CHECK_EQ(h.frees, frees + 1);
                CHECK_EQ(grown, 2 * slots);
                CHECK_EQ(h.live_bytes - peak, slots * 32);
            } else {
                /* A segment for the slots added: up to the next power of
                 * two (the first segment takes 32,768 to 65,535, copying
                 * the 32 records of 32,768 to 32,799), then doubling. */
                CHECK_EQ(h.frees, frees);
                uint64_t lo = 1;
                while (lo * 2 <= slots) {
                    lo *= 2;
                }
                CHECK_EQ(grown, 2 * lo);
                CHECK_EQ(h.live_bytes - peak, (grown - lo) * 32);
            }
            CHECK_EQ(st.metadata_bytes - meta, h.live_bytes - peak);
            slots = grown;
            meta = st.metadata_bytes;
        } else {
            CHECK_EQ(h.frees, frees);
        }
        if ((i & (i - 1)) == 0 || h.calls != calls || i % 4099 == 0) {
            CHECK_OK(oa_allocator_check(a));
            for (int k = 0; k <= i; k++) {
                uint64_t o, s;
                if (x[k].id != 0) {
                    CHECK_OK(oa_allocation_get(a, x[k], &o, &s));
                    CHECK_EQ(o, at[k]);
                    CHECK_EQ(s, 1);
                }
            }
        }
    }
    printf("%d growths to %llu slots\n", growths, (unsigned long long)slots);
    CHECK_EQ(doublings, 5); /* 2,050 ... 32,800 */
    CHECK_EQ(growths, 7);   /* then 2^16 and 2^17 by segments */
    CHECK_OK(oa_allocator_check(a));
    oa_allocator_destroy(a);
    CHECK_EQ(h.live_bytes, 0);
    free(x);
    free(at);
}

typedef struct live {
    oa_allocation h;
    uint64_t offset, size;
} live;

/* Every live allocation where the model put it, and the checker. */
static int same_state(oa_allocator* a, const ref_model* m, const live* lv, size_t n) {
    oa_result r = oa_allocator_check(a);
    if (r != OA_SUCCESS) {
        fprintf(stderr, "checker: %s\n", oa_result_name(r));
        return 0;
    }
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS || st.allocation_count != n ||
        st.free_size != ref_total_free(m) || st.largest_free_size != ref_largest_free(m) ||
        st.free_region_count != m->count) {
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

/* From a table of two records to 2^15 and more: allocs (of every kind of
 * alignment), frees and shrinks in place, each alloc checked against the
 * model; the full state (checker, statistics, every live allocation) after
 * every operation while the table is small and for 256 operations after
 * each growth (when slots of the new segment come into use), every 512
 * otherwise. A reset falls right after a growth, and the destroy too. */
OA_TEST(growth_through_many_tables_agrees_with_the_model) {
    enum { MAX_LIVE = 24000, OPS = 60000 };
    const uint64_t seed = seed_from_env();
    printf("seed=0x%llx\n", (unsigned long long)seed);
    uint64_t rng = seed;
    oa_test_heap h = {0};
    const uint64_t capacity = 1ull << 26;
    oa_allocator_info info = {.capacity = capacity, .initial_regions = 1};
    info.callbacks = oa_test_heap_callbacks(&h);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    live* lv = (live*)malloc(sizeof(live) * MAX_LIVE);
    CHECK(lv != NULL);
    ref_model m;
    ref_init(&m, capacity);
    size_t n = 0;
    uint64_t growths = 0, checks = 0;
    int reset_done = 0;
    int since_growth = 1 << 20;
    for (int op = 0; op < OPS; op++) {
        const uint64_t calls = h.calls;
        const uint64_t dice = splitmix64(&rng) % 100;
        if ((dice < 62 || n == 0) && n < MAX_LIVE) {
            const uint64_t size = 1 + splitmix64(&rng) % 300;
            const uint64_t align = (uint64_t[]){1, 1, 4, 16, 24, 256}[splitmix64(&rng) % 6];
            size_t i = 0;
            const uint64_t expect = ref_find(&m, size, align, &i);
            uint64_t off;
            CHECK_OK(oa_alloc(a, size, align, &lv[n].h, &off));
            if (off != expect) {
                OA_FAIL_AT("seed=0x%llx op %d: alloc at %llu, model %llu", (unsigned long long)seed,
                           op, (unsigned long long)off, (unsigned long long)expect);
                break;
            }
            ref_carve(&m, i, off, size);
            lv[n].offset = off;
            lv[n].size = size;
            n++;
        } else if (dice < 92) {
            const size_t k = (size_t)(splitmix64(&rng) % n);
            CHECK_OK(oa_free(a, lv[k].h));
            ref_free(&m, lv[k].offset, lv[k].size);
            lv[k] = lv[--n];
        } else {
            /* Shrink in place: the tail goes back, with a record of its own
             * when the next region is used. */
            const size_t k = (size_t)(splitmix64(&rng) % n);
            if (lv[k].size > 1) {
                const uint64_t keep = 1 + splitmix64(&rng) % (lv[k].size - 1);
                CHECK_OK(oa_try_resize(a, lv[k].h, keep));
                ref_free(&m, lv[k].offset + keep, lv[k].size - keep);
                lv[k].size = keep;
            }
        }
        if (h.calls != calls) {
            growths++;
            since_growth = 0;
        }
        if (n < 2048 || since_growth++ < 256 || op % 512 == 0) {
            checks++;
            if (!same_state(a, &m, lv, n)) {
                OA_FAIL_AT("seed=0x%llx: state differs after op %d", (unsigned long long)seed, op);
                break;
            }
        }
        if (!reset_done && growths >= 12 && h.calls != calls) {
            /* A reset right after a growth: the pool is whole again, the
             * segments stay, and it keeps working. */
            oa_reset(a);
            ref_destroy(&m);
            ref_init(&m, capacity);
            n = 0;
            reset_done = 1;
            CHECK(same_state(a, &m, lv, 0));
        }
    }
    printf("%llu table growths, %llu full checks, %zu live at the end\n",
           (unsigned long long)growths, (unsigned long long)checks, n);
    CHECK(growths >= 14);
    CHECK(reset_done);
    /* Destroyed right after a growth: every segment goes back. */
    uint64_t calls = h.calls;
    while (h.calls == calls && n < MAX_LIVE) {
        CHECK_OK(oa_alloc(a, 1, 1, &lv[n].h, NULL));
        n++;
    }
    oa_allocator_destroy(a);
    CHECK_EQ(h.live_bytes, 0);
    ref_destroy(&m);
    free(lv);
}

/* The growth's heap call fails: the alloc returns OA_ERROR_OUT_OF_HOST_MEMORY
 * with known out-values, every allocation and statistic is unchanged, and
 * once the heap works again the same request lands where the model says. */
OA_TEST(failed_growth_loses_nothing) {
    oa_test_heap h = {0};
    const uint64_t capacity = 1 << 20;
    oa_allocator_info info = {.capacity = capacity, .initial_regions = 3};
    info.callbacks = oa_test_heap_callbacks(&h);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    enum { N = 1500 };
    live lv[N];
    size_t n = 0;
    ref_model m;
    ref_init(&m, capacity);
    uint64_t rng = 0x5EED;
    int failures = 0;
    for (int op = 0; op < 4 * N && n < N; op++) {
        oa_stats st;
        CHECK_OK(oa_get_stats(a, &st));
        const int full = st.region_capacity == st.allocation_count + st.free_region_count;
        const uint64_t size = 1 + splitmix64(&rng) % 100;
        const uint64_t align = (uint64_t[]){1, 8, 64}[splitmix64(&rng) % 3];
        if (full) {
            /* This alloc needs a record more (a tail or a pad stays free):
             * fail its heap call. */
            h.fail_at = h.calls + 1;
            oa_allocation x = {12345};
            uint64_t off = 7;
            oa_result r = oa_alloc(a, size, align, &x, &off);
            h.fail_at = 0;
            if (r != OA_SUCCESS) {
                CHECK_RESULT(r, OA_ERROR_OUT_OF_HOST_MEMORY);
                CHECK_EQ(x.id, 0);
                CHECK_EQ(off, OA_NO_OFFSET);
                CHECK(same_state(a, &m, lv, n));
                failures++;
            } else {
                /* An exact fit needs no record; keep it in the model. */
                size_t i = 0;
                (void)ref_find(&m, size, align, &i);
                ref_carve(&m, i, off, size);
                lv[n].h = x;
                lv[n].offset = off;
                lv[n].size = size;
                n++;
                continue;
            }
        }
        size_t i = 0;
        const uint64_t expect = ref_find(&m, size, align, &i);
        CHECK_OK(oa_alloc(a, size, align, &lv[n].h, &lv[n].offset));
        CHECK_EQ(lv[n].offset, expect);
        ref_carve(&m, i, expect, size);
        lv[n].size = size;
        n++;
        if (splitmix64(&rng) % 4 == 0) {
            const size_t k = (size_t)(splitmix64(&rng) % n);
            CHECK_OK(oa_free(a, lv[k].h));
            ref_free(&m, lv[k].offset, lv[k].size);
            lv[k] = lv[--n];
        }
        CHECK(same_state(a, &m, lv, n));
    }
    printf("%d failed growths, %zu live\n", failures, n);
    CHECK(failures >= 4);
    oa_allocator_destroy(a);
    CHECK_EQ(h.live_bytes, 0);
    ref_destroy(&m);
}

/* A recorder set on an allocator whose table has segments writes one P
 * line per live allocation, with its offset, reading every record through
 * its segment. */
typedef struct place_count {
    uint64_t lines;
    uint64_t offset_sum;
} place_count;

static void count_places(void* user, const char* text, size_t length) {
    place_count* c = (place_count*)user;
    if (length > 2 && text[0] == 'P' && text[1] == ' ') {
        c->lines++;
        /* "P <handle> <size> <offset>\n": the last number is the offset. */
        size_t i = length - 1;
        while (i > 0 && text[i - 1] != ' ') {
            i--;
        }
        uint64_t v = 0;
        for (; i < length && text[i] >= '0' && text[i] <= '9'; i++) {
            v = v * 10 + (uint64_t)(text[i] - '0');
        }
        c->offset_sum += v;
    }
}

OA_TEST(recorder_set_late_reads_every_segment) {
    enum { N = 70000 };
    oa_allocator_info info = {.capacity = 1 << 20};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    uint64_t sum = 0;
    for (int i = 0; i < N; i++) {
        oa_allocation h;
        uint64_t off;
        CHECK_OK(oa_alloc(a, 1, 1, &h, &off));
        sum += off;
    }
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK(st.region_capacity + 1 > 65536); /* past the flat table: segments */
    place_count c = {0, 0};
    CHECK_OK(oa_allocator_set_recorder(a, count_places, &c));
    CHECK_EQ(c.lines, N);
    CHECK_EQ(c.offset_sum, sum);
    oa_allocator_destroy(a);
}

OA_TEST_MAIN()
