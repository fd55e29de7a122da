/* test_compact.c - compaction passes (oa_compact_begin / _commit / _abort).
 * A fixed layout with its exact plan, every documented error, the fixed
 * budget running out, the caller freeing, resizing or resetting during a
 * pass, and a randomised test: random workloads compacted in passes with
 * small limits, the pool simulated as a byte array copied move by move,
 * the checker after every pass's begin and commit, the largest free region
 * never smaller, pinned allocations never moved, handles and generations
 * kept, and fragmentation lower at the end.
 *   test_compact [name...] [--seed S] [--iters N] */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"
#include "ref_model.h"

#include <orderly/orderly.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_CLEAN(a) CHECK_OK(oa_allocator_check(a))

static uint64_t g_seed = 0xC0FFEEull;
static uint64_t g_iters = 40;

static uint64_t largest_free(const oa_allocator* a) {
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS) {
        return 0;
    }
    return st.largest_free_size;
}

static double fragmentation(const oa_allocator* a) {
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS) {
        return -1.0;
    }
    return st.fragmentation;
}

static uint64_t offset_of(const oa_allocator* a, oa_allocation h) {
    uint64_t off = OA_NO_OFFSET;
    if (oa_allocation_get(a, h, &off, NULL) != OA_SUCCESS) {
        return OA_NO_OFFSET;
    }
    return off;
}

static int log_count;
static void count_log(void* user, oa_result result, const char* message) {
    (void)user;
    (void)result;
    (void)message;
    log_count++;
}

/* Ten allocations of 10 bytes fill [0, 100); freeing #1, #3 and #6 leaves
 * three holes. The walk from the end skips #9 and #8 (nothing free beside
 * them), moves #7 (beside the hole at 60) into the first hole, then #5
 * (whose run now reaches #7's) into the second, and stops at #4: no byte
 * before it is free any more. After commit the free bytes are one run. */
OA_TEST(plan_of_a_fixed_layout) {
    oa_allocator_info info = {.capacity = 100};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[10];
    for (int i = 0; i < 10; i++) {
        CHECK_OK(oa_alloc(a, 10, 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[3]));
    CHECK_OK(oa_free(a, h[6]));
    CHECK_EQ(largest_free(a), 10);
    oa_compact_move moves[8];
    uint32_t count = 99;
    CHECK_OK(oa_compact_begin(a, NULL, moves, 8, &count));
    CHECK_CLEAN(a);
    CHECK_EQ(count, 2);
    CHECK(oa_compact_is_open(a));
    CHECK_EQ(moves[0].allocation.id, h[7].id);
    CHECK_EQ(moves[0].old_offset, 70);
    CHECK_EQ(moves[0].new_offset, 10);
    CHECK_EQ(moves[0].size, 10);
    CHECK_EQ(moves[1].allocation.id, h[5].id);
    CHECK_EQ(moves[1].old_offset, 50);
    CHECK_EQ(moves[1].new_offset, 30);
    /* During the pass the handles still report their old bytes, and the
     * destinations are taken: a request of 10 bytes finds only [60, 70). */
    CHECK_EQ(offset_of(a, h[7]), 70);
    CHECK_EQ(offset_of(a, h[5]), 50);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, 10);
    CHECK_EQ(st.allocation_count, 9); /* 7 allocations and 2 reservations */
    /* A second pass cannot open while this one is. */
    uint32_t again = 5;
    CHECK_RESULT(oa_compact_begin(a, NULL, moves + 2, 6, &again), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(again, 0);
    CHECK_OK(oa_compact_commit(a));
    CHECK(!oa_compact_is_open(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[7]), 10);
    CHECK_EQ(offset_of(a, h[5]), 30);
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.allocation_count, 7);
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(st.largest_free_size, 30);
    CHECK_EQ(st.fragmentation, 0.0);
    /* One free region: nothing left to do, and no pass opens. */
    CHECK_OK(oa_compact_begin(a, NULL, moves, 8, &count));
    CHECK_EQ(count, 0);
    CHECK(!oa_compact_is_open(a));
    /* The moved handles are the same values: they free normally, once. */
    CHECK_OK(oa_free(a, h[7]));
    CHECK_RESULT(oa_free(a, h[7]), OA_ERROR_STALE_HANDLE);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* Abort gives every destination back: the state is the one before begin. */
OA_TEST(abort_moves_nothing) {
    oa_allocator_info info = {.capacity = 100};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[10];
    for (int i = 0; i < 10; i++) {
        CHECK_OK(oa_alloc(a, 10, 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[6]));
    oa_compact_move moves[4];
    uint32_t count = 0;
    CHECK_OK(oa_compact_begin(a, NULL, moves, 4, &count));
    CHECK_EQ(count, 1);
    CHECK_OK(oa_compact_abort(a));
    CHECK(!oa_compact_is_open(a));
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.allocation_count, 8);
    CHECK_EQ(st.free_region_count, 2);
    CHECK_EQ(st.free_size, 20);
    for (int i = 0; i < 10; i++) {
        if (i != 1 && i != 6) {
            CHECK_EQ(offset_of(a, h[i]), (uint64_t)i * 10);
        }
    }
    /* The reservation's handle is stale now. */
    CHECK_RESULT(oa_allocation_get(a, moves[0].reserved, NULL, NULL), OA_ERROR_STALE_HANDLE);
    oa_allocator_destroy(a);
}

OA_TEST(errors) {
    oa_allocator_info info = {.capacity = 100, .granularity = 3, .log = count_log};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_compact_move moves[2];
    uint32_t count = 7;
    CHECK_RESULT(oa_compact_begin(NULL, NULL, moves, 2, &count), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(count, 0);
    log_count = 0;
    CHECK_RESULT(oa_compact_begin(a, NULL, moves, 2, NULL), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(log_count, 1);
    count = 7;
    CHECK_RESULT(oa_compact_begin(a, NULL, NULL, 2, &count), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(count, 0);
    CHECK_EQ(log_count, 2);
    /* No moves array at all is a valid (empty) plan. */
    CHECK_OK(oa_compact_begin(a, NULL, NULL, 0, &count));
    CHECK_EQ(count, 0);
    /* An alignment whose multiple of the granularity (3) passes 2^64 - 1. */
    oa_compact_limits lim = {.align = UINT64_MAX - 1};
    count = 7;
    CHECK_RESULT(oa_compact_begin(a, &lim, moves, 2, &count), OA_ERROR_OVERFLOW);
    CHECK_EQ(count, 0);
    CHECK_EQ(log_count, 3);
    CHECK(!oa_compact_is_open(a));
    CHECK(!oa_compact_is_open(NULL));
    CHECK_RESULT(oa_compact_commit(NULL), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_compact_abort(NULL), OA_ERROR_INVALID_ARGUMENT);
    /* With no pass open, commit and abort do nothing. */
    CHECK_OK(oa_compact_commit(a));
    CHECK_OK(oa_compact_abort(a));
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* Fixed budget: a reservation needs a record; with none left begin fails
 * with OA_ERROR_OUT_OF_METADATA and changes nothing. */
OA_TEST(fixed_budget_spent) {
    /* [A 10][free 20][C 10][free 60]: 4 records, the whole budget. C's
     * destination is the front of the hole, whose tail stays free: the
     * reservation needs a record of its own. */
    static const uint64_t sizes[3] = {10, 20, 10};
    oa_allocator_info info = {.capacity = 100, .max_regions = 4};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[3];
    for (int i = 0; i < 3; i++) {
        CHECK_OK(oa_alloc(a, sizes[i], 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    oa_compact_move moves[2];
    uint32_t count = 5;
    CHECK_RESULT(oa_compact_begin(a, NULL, moves, 2, &count), OA_ERROR_OUT_OF_METADATA);
    CHECK_EQ(count, 0);
    CHECK(!oa_compact_is_open(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[2]), 30);
    oa_allocator_destroy(a);
    /* One record more and the same pool compacts. */
    info.max_regions = 5;
    CHECK_OK(oa_allocator_create(&info, &a));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(oa_alloc(a, sizes[i], 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_compact_begin(a, NULL, moves, 2, &count));
    CHECK_EQ(count, 1);
    CHECK_CLEAN(a);
    CHECK_OK(oa_compact_commit(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[2]), 10);
    CHECK_EQ(largest_free(a), 80);
    oa_allocator_destroy(a);
}

/* Growable mode: the first reservation needs the table to grow, and the
 * allocation callback fails: OA_ERROR_OUT_OF_HOST_MEMORY, nothing changed.
 * When it succeeds the pass plans. */
OA_TEST(host_memory_spent) {
    static const uint64_t sizes[3] = {10, 20, 10};
    oa_test_heap heap = {0};
    oa_allocator_info info = {
        .capacity = 100,
        .initial_regions = 4,
        .callbacks = oa_test_heap_callbacks(&heap),
    };
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[3];
    for (int i = 0; i < 3; i++) {
        CHECK_OK(oa_alloc(a, sizes[i], 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    heap.fail_at = heap.calls + 1; /* the next call fails */
    uint64_t calls = heap.calls;
    oa_compact_move moves[2];
    uint32_t count = 5;
    CHECK_RESULT(oa_compact_begin(a, NULL, moves, 2, &count), OA_ERROR_OUT_OF_HOST_MEMORY);
    CHECK(heap.calls > calls);
    CHECK_EQ(heap.failures, 1);
    CHECK_EQ(count, 0);
    CHECK(!oa_compact_is_open(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[2]), 30);
    heap.fail_at = 0;
    CHECK_OK(oa_compact_begin(a, NULL, moves, 2, &count));
    CHECK_EQ(count, 1);
    CHECK_OK(oa_compact_commit(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[2]), 10);
    oa_allocator_destroy(a);
}

/* What the caller does during an open pass: freeing a moved allocation,
 * resizing one, freeing a reservation, or resetting. Commit skips those
 * moves and gives their destinations back; nothing is lost. */
OA_TEST(caller_changes_during_pass) {
    for (int mode = 0; mode < 4; mode++) {
        oa_allocator_info info = {.capacity = 200};
        oa_allocator* a = NULL;
        CHECK_OK(oa_allocator_create(&info, &a));
        oa_allocation h[20];
        for (int i = 0; i < 20; i++) {
            CHECK_OK(oa_alloc(a, 10, 1, &h[i], NULL));
        }
        /* Holes at 10, 30 and 50; allocations 16..19 border one at 150. */
        CHECK_OK(oa_free(a, h[1]));
        CHECK_OK(oa_free(a, h[3]));
        CHECK_OK(oa_free(a, h[5]));
        CHECK_OK(oa_free(a, h[15]));
        oa_compact_move moves[8];
        uint32_t count = 0;
        CHECK_OK(oa_compact_begin(a, NULL, moves, 8, &count));
        CHECK(count >= 2);
        CHECK_CLEAN(a);
        oa_compact_move first = moves[0], second = moves[1];
        if (mode == 0) {
            CHECK_OK(oa_free(a, first.allocation));
        } else if (mode == 1) {
            CHECK_OK(oa_try_resize(a, first.allocation, first.size - 1));
        } else if (mode == 2) {
            CHECK_OK(oa_free(a, first.reserved));
        } else {
            oa_reset(a);
        }
        CHECK_CLEAN(a);
        CHECK_OK(oa_compact_commit(a));
        CHECK_CLEAN(a);
        CHECK(!oa_compact_is_open(a));
        CHECK_RESULT(oa_allocation_get(a, first.reserved, NULL, NULL), OA_ERROR_STALE_HANDLE);
        CHECK_RESULT(oa_allocation_get(a, second.reserved, NULL, NULL), OA_ERROR_STALE_HANDLE);
        oa_stats st;
        CHECK_OK(oa_get_stats(a, &st));
        if (mode == 3) {
            /* Every handle is stale after the reset, and stays so. */
            CHECK_EQ(st.allocation_count, 0);
            CHECK_RESULT(oa_allocation_get(a, first.allocation, NULL, NULL), OA_ERROR_STALE_HANDLE);
            oa_allocator_destroy(a);
            continue;
        }
        if (mode == 0) {
            CHECK_RESULT(oa_allocation_get(a, first.allocation, NULL, NULL), OA_ERROR_STALE_HANDLE);
        } else {
            CHECK_EQ(offset_of(a, first.allocation), first.old_offset);
        }
        /* The other moves took effect. */
        CHECK_EQ(offset_of(a, second.allocation), second.new_offset);
        CHECK_EQ(st.allocation_count, mode == 0 ? 15u : 16u);
        CHECK_EQ(st.free_size, mode == 0 ? 50u : mode == 1 ? 41u : 40u);
        oa_allocator_destroy(a);
    }
}

/* A move list changed after begin: a `reserved` that names one of the
 * caller's own allocations (whose user word is not the move's index) is
 * not freed; the orphaned reservation stays an allocation, found by a walk
 * and freed by its handle. */
static bool find_user_1(void* user, const oa_region_info* r) {
    if (r->user == 1) {
        *(oa_allocation*)user = r->allocation;
        return false;
    }
    return true;
}

OA_TEST(changed_move_list) {
    oa_allocator_info info = {.capacity = 100};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[10];
    for (int i = 0; i < 10; i++) {
        CHECK_OK(oa_alloc(a, 10, 1, &h[i], NULL));
    }
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[3]));
    CHECK_OK(oa_free(a, h[6]));
    oa_compact_move moves[8];
    uint32_t count = 0;
    CHECK_OK(oa_compact_begin(a, NULL, moves, 8, &count));
    CHECK_EQ(count, 2);
    oa_allocation orphan = moves[1].reserved;
    moves[1].reserved = h[0]; /* user word 0, move index 1 */
    CHECK_OK(oa_compact_commit(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[0]), 0);
    CHECK_EQ(offset_of(a, h[7]), 10);   /* move 0 took effect */
    CHECK_EQ(offset_of(a, h[5]), 50);   /* move 1 did not */
    CHECK_EQ(offset_of(a, orphan), 30); /* its reservation is still there */
    oa_allocation found = {0};
    CHECK_OK(oa_walk(a, OA_WALK_ALLOCATIONS, find_user_1, &found));
    CHECK_EQ(found.id, orphan.id);
    CHECK_OK(oa_free(a, orphan));
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.allocation_count, 7);
    CHECK_EQ(st.free_size, 30);
    oa_allocator_destroy(a);
}

/* Non-power-of-two alignment from limits, raised per allocation by the
 * filter; a filter that pins. */
static bool pin_odd_user(void* user, const oa_region_info* r, uint64_t* io_align) {
    int* calls = (int*)user;
    (*calls)++;
    if (r->user & 1u) {
        return false;
    }
    if (r->user == 2) {
        *io_align = 0; /* pins too */
    }
    return true;
}

OA_TEST(alignment_and_pins) {
    oa_allocator_info info = {.capacity = 1000};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[8];
    for (int i = 0; i < 8; i++) {
        CHECK_OK(oa_alloc(a, 24, 12, &h[i], NULL));
    }
    /* Holes of 24 at 24 and 72; #7 (user 1, pinned), #6 (user 2, pinned by
     * align 0), #5 movable and bordering a hole once #4 is freed. */
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[3]));
    CHECK_OK(oa_free(a, h[4]));
    CHECK_OK(oa_allocation_set_user(a, h[7], 1));
    CHECK_OK(oa_allocation_set_user(a, h[6], 2));
    int calls = 0;
    oa_compact_limits lim = {.align = 12, .filter = pin_odd_user, .filter_user = &calls};
    oa_compact_move moves[8];
    uint32_t count = 0;
    CHECK_OK(oa_compact_begin(a, &lim, moves, 8, &count));
    CHECK_CLEAN(a);
    for (uint32_t i = 0; i < count; i++) {
        CHECK(moves[i].allocation.id != h[7].id && moves[i].allocation.id != h[6].id);
        CHECK_EQ(moves[i].new_offset % 12, 0);
        CHECK(moves[i].new_offset < moves[i].old_offset);
    }
    CHECK_EQ(count, 1);
    CHECK_EQ(moves[0].allocation.id, h[5].id);
    CHECK_EQ(moves[0].new_offset, 24);
    CHECK(calls >= 2);
    CHECK_OK(oa_compact_commit(a));
    CHECK_CLEAN(a);
    CHECK_EQ(offset_of(a, h[7]), 7 * 24);
    CHECK_EQ(offset_of(a, h[6]), 6 * 24);
    oa_allocator_destroy(a);
}

/* ---- the randomised test ---- */

typedef struct live_rec {
    oa_allocation h;
    uint64_t size, align;
    uint64_t first_offset; /* where it was placed; a pinned one stays there */
    bool pinned;
    bool alive;
} live_rec;

typedef struct world {
    oa_allocator* a;
    uint64_t capacity;
    uint8_t* pool;
    live_rec* live;
    uint32_t live_count, live_cap;
    oa_allocation* dead;
    uint32_t dead_count, dead_cap;
    uint64_t pin_one_in; /* pin one allocation in this many; 0 = none */
} world;

static uint8_t pattern(uint64_t id, uint64_t i) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
    return (uint8_t)(x >> 56);
}

static bool filter_live(void* user, const oa_region_info* r, uint64_t* io_align) {
    world* w = (world*)user;
    if (r->user >= w->live_count || w->live[r->user].h.id != r->allocation.id) {
        return false; /* not ours: the test would fail on it anyway */
    }
    const live_rec* l = &w->live[r->user];
    if (l->pinned) {
        return false;
    }
    *io_align = l->align;
    return true;
}

static bool world_alloc(world* w, uint64_t* rng) {
    static const uint64_t aligns[] = {1, 1, 4, 12, 16, 64, 256};
    /* One draw per statement: the order of calls within an expression is
     * unspecified, and a seed must replay the same run under any build. */
    uint64_t large = splitmix64(rng) % 4 == 0;
    uint64_t size = 1 + splitmix64(rng) % (large ? 2000 : 200);
    uint64_t align = aligns[splitmix64(rng) % 7];
    oa_allocation h;
    uint64_t off;
    if (oa_alloc(w->a, size, align, &h, &off) != OA_SUCCESS) {
        return false;
    }
    if (w->live_count == w->live_cap) {
        w->live_cap = w->live_cap ? w->live_cap * 2 : 256;
        w->live = (live_rec*)realloc(w->live, w->live_cap * sizeof(live_rec));
    }
    live_rec* l = &w->live[w->live_count];
    l->h = h;
    l->size = size;
    l->align = align;
    l->first_offset = off;
    l->pinned = w->pin_one_in != 0 && splitmix64(rng) % w->pin_one_in == 0;
    l->alive = true;
    if (oa_allocation_set_user(w->a, h, w->live_count) != OA_SUCCESS) {
        return false;
    }
    w->live_count++;
    for (uint64_t i = 0; i < size; i++) {
        w->pool[off + i] = pattern(h.id, i);
    }
    return true;
}

static void world_free(world* w, uint32_t i) {
    if (oa_free(w->a, w->live[i].h) != OA_SUCCESS) {
        w->live[i].alive = true; /* the caller's check reports it */
        return;
    }
    if (w->dead_count == w->dead_cap) {
        w->dead_cap = w->dead_cap ? w->dead_cap * 2 : 256;
        w->dead = (oa_allocation*)realloc(w->dead, w->dead_cap * sizeof(oa_allocation));
    }
    w->dead[w->dead_count++] = w->live[i].h;
    w->live[i].alive = false;
}

/* Every live allocation still holds its bytes; every dead handle is stale. */
static bool world_intact(const world* w) {
    for (uint32_t i = 0; i < w->live_count; i++) {
        const live_rec* l = &w->live[i];
        if (!l->alive) {
            continue;
        }
        uint64_t off, size;
        uint32_t user;
        if (oa_allocation_get(w->a, l->h, &off, &size) != OA_SUCCESS || size != l->size ||
            off % l->align != 0 || oa_allocation_get_user(w->a, l->h, &user) != OA_SUCCESS ||
            user != i) {
            fprintf(stderr, "allocation %u lost or changed\n", i);
            return false;
        }
        if (l->pinned && off != l->first_offset) {
            fprintf(stderr, "pinned allocation %u moved\n", i);
            return false;
        }
        for (uint64_t k = 0; k < size; k++) {
            if (w->pool[off + k] != pattern(l->h.id, k)) {
                fprintf(stderr, "allocation %u: byte %llu differs\n", i, (unsigned long long)k);
                return false;
            }
        }
    }
    for (uint32_t i = 0; i < w->dead_count; i++) {
        if (oa_allocation_get(w->a, w->dead[i], NULL, NULL) != OA_ERROR_STALE_HANDLE) {
            fprintf(stderr, "a freed handle came back\n");
            return false;
        }
    }
    return true;
}

static bool ranges_overlap(uint64_t a0, uint64_t n0, uint64_t a1, uint64_t n1) {
    return a0 < a1 + n1 && a1 < a0 + n0;
}

/* One workload: fill, free at random to fragment, then compact in passes
 * with small limits until a pass finds nothing to do. */
static void run_workload(uint64_t seed, bool fixed, bool pins, double* out_before,
                         double* out_after, int* out_passes) {
    uint64_t rng = seed;
    world w;
    memset(&w, 0, sizeof w);
    w.pin_one_in = pins ? 10 : 0;
    w.capacity = 1 << 17;
    w.pool = (uint8_t*)calloc(w.capacity, 1);
    oa_allocator_info info = {.capacity = w.capacity, .max_regions = fixed ? 3000u : 0u};
    CHECK_OK(oa_allocator_create(&info, &w.a));
    while (world_alloc(&w, &rng)) {
    }
    for (uint32_t i = 0; i < w.live_count; i++) {
        if (splitmix64(&rng) % 100 < 45) {
            world_free(&w, i);
            CHECK(!w.live[i].alive);
        }
    }
    /* Some churn, so the holes are of many sizes. */
    for (int k = 0; k < 200; k++) {
        if (splitmix64(&rng) % 2 == 0) {
            (void)world_alloc(&w, &rng);
        } else {
            uint32_t i = (uint32_t)(splitmix64(&rng) % w.live_count);
            if (w.live[i].alive) {
                world_free(&w, i);
            }
        }
    }
    CHECK_CLEAN(w.a);
    CHECK(world_intact(&w));
    *out_before = fragmentation(w.a);
    oa_compact_move moves[16];
    int passes = 0;
    for (;;) {
        uint64_t largest = largest_free(w.a);
        double frag = fragmentation(w.a);
        uint32_t max_moves = (uint32_t)(1 + splitmix64(&rng) % 8);
        uint64_t max_bytes = 0;
        if (splitmix64(&rng) % 3 != 0) {
            max_bytes = 500 + splitmix64(&rng) % 4000;
        }
        oa_compact_limits lim = {
            .max_moves = max_moves,
            .max_bytes = max_bytes,
            .filter = filter_live,
            .filter_user = &w,
        };
        uint32_t count = 0;
        CHECK_OK(oa_compact_begin(w.a, &lim, moves, 16, &count));
        CHECK_CLEAN(w.a);
        if (count == 0) {
            CHECK(!oa_compact_is_open(w.a));
            break;
        }
        CHECK(count <= lim.max_moves);
        uint64_t bytes = 0;
        for (uint32_t i = 0; i < count; i++) {
            const oa_compact_move* m = &moves[i];
            uint32_t user = 0;
            CHECK_OK(oa_allocation_get_user(w.a, m->allocation, &user));
            const live_rec* l = &w.live[user];
            CHECK_EQ(l->h.id, m->allocation.id);
            CHECK(!l->pinned);
            CHECK_EQ(m->size, l->size);
            CHECK_EQ(m->new_offset % l->align, 0);
            CHECK(m->new_offset < m->old_offset);
            /* Still at the old bytes until commit. */
            CHECK_EQ(offset_of(w.a, m->allocation), m->old_offset);
            for (uint32_t k = 0; k < count; k++) {
                CHECK(!ranges_overlap(m->new_offset, m->size, moves[k].old_offset, moves[k].size));
                CHECK(k == i ||
                      !ranges_overlap(m->new_offset, m->size, moves[k].new_offset, moves[k].size));
            }
            bytes += m->size;
        }
        if (lim.max_bytes != 0) {
            CHECK(bytes <= lim.max_bytes);
        }
        if (splitmix64(&rng) % 8 == 0) {
            CHECK_OK(oa_compact_abort(w.a));
            CHECK_CLEAN(w.a);
            CHECK_EQ(largest_free(w.a), largest);
            CHECK(world_intact(&w));
            continue;
        }
        /* The GPU copy: the destinations were free, so plain copies. */
        for (uint32_t i = 0; i < count; i++) {
            memcpy(w.pool + moves[i].new_offset, w.pool + moves[i].old_offset, moves[i].size);
        }
        CHECK_OK(oa_compact_commit(w.a));
        CHECK_CLEAN(w.a);
        for (uint32_t i = 0; i < count; i++) {
            CHECK_EQ(offset_of(w.a, moves[i].allocation), moves[i].new_offset);
            CHECK_RESULT(oa_allocation_get(w.a, moves[i].reserved, NULL, NULL),
                         OA_ERROR_STALE_HANDLE);
        }
        /* Scribble over the old bytes the pass freed: no live one may care. */
        for (uint32_t i = 0; i < count; i++) {
            memset(w.pool + moves[i].old_offset, 0xA5, moves[i].size);
        }
        for (uint32_t i = 0; i < count; i++) {
            uint64_t off = offset_of(w.a, moves[i].allocation);
            for (uint64_t k = 0; k < moves[i].size; k++) {
                w.pool[off + k] = pattern(moves[i].allocation.id, k);
            }
        }
        CHECK(largest_free(w.a) >= largest);
        CHECK(fragmentation(w.a) <= frag);
        CHECK(world_intact(&w));
        passes++;
        CHECK(passes < 100000);
    }
    *out_after = fragmentation(w.a);
    *out_passes = passes;
    CHECK(world_intact(&w));
    oa_allocator_destroy(w.a);
    free(w.pool);
    free(w.live);
    free(w.dead);
}

/* Half the workloads pin one allocation in ten (which caps how far a pool
 * can compact), half pin none; every third runs in fixed-budget mode. */
OA_TEST(random_workloads) {
    printf("seed=0x%llx iters=%llu\n", (unsigned long long)g_seed, (unsigned long long)g_iters);
    uint64_t rng = g_seed;
    double before_sum[2] = {0, 0}, after_sum[2] = {0, 0};
    int runs[2] = {0, 0}, total_passes = 0;
    for (uint64_t it = 0; it < g_iters; it++) {
        uint64_t seed = splitmix64(&rng);
        int pins = (int)(it % 2);
        double before = -1, after = -1;
        int passes = 0;
        oa_test_failed_flag = 0;
        run_workload(seed, it % 3 == 2, pins != 0, &before, &after, &passes);
        if (oa_test_failed_flag) {
            fprintf(stderr, "seed=0x%llx workload %llu (seed 0x%llx) failed\n",
                    (unsigned long long)g_seed, (unsigned long long)it, (unsigned long long)seed);
            return;
        }
        CHECK(before > 0.3);
        CHECK(after < before);
        if (!pins) {
            /* With nothing pinned the free space gathers: at least half of
             * the fragmentation goes. */
            CHECK(after < before / 2);
        }
        before_sum[pins] += before;
        after_sum[pins] += after;
        runs[pins]++;
        total_passes += passes;
    }
    for (int pins = 0; pins < 2; pins++) {
        if (runs[pins] > 0) {
            printf("%s: fragmentation %.3f before, %.3f after (mean of %d workloads)\n",
                   pins ? "1 in 10 pinned" : "none pinned", before_sum[pins] / runs[pins],
                   after_sum[pins] / runs[pins], runs[pins]);
        }
    }
    printf("%d passes\n", total_passes);
}

int main(int argc, char** argv) {
    char* names[64];
    int n = 0;
    for (int i = 0; i < argc && n < 64; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            g_seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            g_iters = strtoull(argv[++i], NULL, 0);
        } else {
            names[n++] = argv[i];
        }
    }
    return oa_test_run_all(n, names);
}
