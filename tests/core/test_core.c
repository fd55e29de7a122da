/* test_core.c - unit tests of every public function of the core allocator and
 * of every error it documents. The checker runs after every mutation. */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"
#include "orderly/orderly.h"
#include "ref_model.h"

#include <stdalign.h>

#define CHECK_CLEAN(a) CHECK_OK(oa_allocator_check(a))

static oa_allocator* make(uint64_t capacity) {
    oa_allocator_info info = {.capacity = capacity};
    oa_allocator* a = NULL;
    if (oa_allocator_create(&info, &a) != OA_SUCCESS) {
        return NULL;
    }
    return a;
}

/* Allocate and return the offset, or OA_NO_OFFSET. */
static uint64_t take(oa_allocator* a, uint64_t size, uint64_t align, oa_allocation* h) {
    uint64_t off = 0;
    oa_allocation tmp;
    if (oa_alloc(a, size, align, h ? h : &tmp, &off) != OA_SUCCESS) {
        return OA_NO_OFFSET;
    }
    return off;
}

/* ---- creation ---- */

OA_TEST(create_rejects_bad_info) {
    oa_allocator* a = (oa_allocator*)1;
    oa_allocator_info info = {0};
    CHECK_RESULT(oa_allocator_create(NULL, &a), OA_ERROR_INVALID_ARGUMENT);
    CHECK(a == NULL);
    CHECK_RESULT(oa_allocator_create(&info, NULL), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT); /* capacity 0 */
    info.capacity = 100;
    info.max_regions = OA_MAX_REGIONS + 1;
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT);
    info.max_regions = 0;
    static alignas(16) unsigned char mem[4096];
    info.memory = mem;
    info.memory_size = sizeof mem;
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT); /* no max_regions */
    info.max_regions = 1000000; /* far more than 4 KiB holds */
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT);
    info.max_regions = 4;
    info.memory = mem + 8; /* misaligned */
    info.memory_size = sizeof mem - 8;
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT);
    CHECK(a == NULL);
}

OA_TEST(create_rejects_half_callbacks) {
    oa_allocator_info info = {.capacity = 10};
    info.callbacks.alloc = (void* (*)(void*, size_t, size_t))1;
    oa_allocator* a = NULL;
    CHECK_RESULT(oa_allocator_create(&info, &a), OA_ERROR_INVALID_ARGUMENT);
}

OA_TEST(info_resolved_fills_defaults) {
    oa_allocator_info info = {.capacity = 5};
    oa_allocator_info r = oa_allocator_info_resolved(&info);
    CHECK_EQ(r.capacity, 5);
    CHECK_EQ(r.initial_regions, 1024);
    CHECK_EQ(r.max_regions, 0);
    info.max_regions = 7;
    r = oa_allocator_info_resolved(&info);
    CHECK_EQ(r.initial_regions, 0); /* fixed mode has no growth */
    CHECK_EQ(oa_allocator_memory_size(0), 0);
    CHECK(oa_allocator_memory_size(10) > 10 * OA_REGION_RECORD_SIZE);
}

OA_TEST(result_names) {
    CHECK(strcmp(oa_result_name(OA_SUCCESS), "OA_SUCCESS") == 0);
    CHECK(strcmp(oa_result_name(OA_ERROR_STALE_HANDLE), "OA_ERROR_STALE_HANDLE") == 0);
    CHECK(strcmp(oa_result_name(OA_ERROR_CORRUPT_INDEX), "OA_ERROR_CORRUPT_INDEX") == 0);
    CHECK(strcmp(oa_result_name((oa_result)12345), "OA_UNKNOWN_RESULT") == 0);
}

/* ---- placement ---- */

OA_TEST(first_alloc_at_zero_and_stats) {
    oa_allocator* a = make(1000);
    CHECK(a != NULL);
    oa_allocation h;
    CHECK_EQ(take(a, 100, 1, &h), 0);
    CHECK(h.id != 0);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.capacity, 1000);
    CHECK_EQ(st.free_size, 900);
    CHECK_EQ(st.largest_free_size, 900);
    CHECK_EQ(st.allocation_count, 1);
    CHECK_EQ(st.free_region_count, 1);
    CHECK(st.fragmentation == 0.0);
    CHECK_CLEAN(a);
    CHECK_OK(oa_free(a, h));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, 1000);
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(st.allocation_count, 0);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* Holes of 50 @0, 30 @100, 30 @200, 80 @300 (the rest used). */
static oa_allocator* holes(oa_allocation* keep) {
    oa_allocator* a = make(400);
    oa_allocation h[8];
    uint64_t sizes[8] = {50, 50, 30, 70, 30, 70, 80, 20};
    for (int i = 0; i < 8; i++) {
        if (take(a, sizes[i], 1, &h[i]) == OA_NO_OFFSET) {
            return NULL;
        }
    }
    for (int i = 0; i < 8; i += 2) {
        if (oa_free(a, h[i]) != OA_SUCCESS) {
            return NULL;
        }
        keep[i / 2] = h[i + 1];
    }
    return a;
}

OA_TEST(best_fit_smallest_then_lowest_offset) {
    oa_allocation keep[4];
    oa_allocator* a = holes(keep);
    CHECK(a != NULL);
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 4);
    CHECK_EQ(st.largest_free_size, 80);
    CHECK_EQ(st.free_size, 190);
    /* 25 fits 50, 30, 30, 80: the two 30s tie, lowest offset wins. */
    CHECK_EQ(take(a, 25, 1, NULL), 100);
    CHECK_EQ(take(a, 25, 1, NULL), 200);
    /* 5-byte tails left at 125 and 225 are now the smallest holes. */
    CHECK_EQ(take(a, 5, 1, NULL), 125);
    CHECK_EQ(take(a, 60, 1, NULL), 300);
    CHECK_EQ(take(a, 40, 1, NULL), 0);
    CHECK_EQ(take(a, 30, 1, NULL), OA_NO_OFFSET);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

OA_TEST(aligned_request_takes_smallest_region_that_fits_aligned) {
    oa_allocator* a = make(1000);
    oa_allocation h[6];
    /* used 0..7, hole 7..31 (24 bytes, aligned start 12 holds only 19),
     * used 31..40, hole 40..64 (24 bytes at a multiple of 4 and of 8),
     * used 64... */
    CHECK_EQ(take(a, 7, 1, &h[0]), 0);
    CHECK_EQ(take(a, 24, 1, &h[1]), 7);
    CHECK_EQ(take(a, 9, 1, &h[2]), 31);
    CHECK_EQ(take(a, 24, 1, &h[3]), 40);
    CHECK_EQ(take(a, 936, 1, &h[4]), 64);
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[3]));
    /* 20 at align 12: the hole at 7 needs 5 bytes of padding (start 12): 5 + 20
     * > 24, so it does not fit; the hole at 40 does at 48 (pad 8 > 4)? 40 is
     * not a multiple of 12 either: start 48, 48 + 20 = 68 > 64. Neither fits,
     * and the space is exhausted: out of space, nothing changes. */
    CHECK_EQ(take(a, 20, 12, NULL), OA_NO_OFFSET);
    CHECK_CLEAN(a);
    /* 16 at align 12: hole at 7 -> start 12, 12 + 16 = 28 <= 31 fits. */
    oa_allocation x;
    CHECK_EQ(take(a, 16, 12, &x), 12);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    /* The front pad 7..12 and tail 28..31 stay free. */
    CHECK_EQ(st.free_region_count, 3);
    CHECK_EQ(st.free_size, 5 + 3 + 24);
    CHECK_CLEAN(a);
    /* Freeing it merges pad, allocation and tail back into one hole. */
    CHECK_OK(oa_free(a, x));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 2);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

OA_TEST(aligned_never_settles_for_larger_region) {
    oa_allocator* a = make(10000);
    oa_allocation h[5];
    /* hole A: 48 bytes at 48 (aligned to 48); hole B: 100 bytes at 200. */
    CHECK_EQ(take(a, 48, 1, &h[0]), 0);
    CHECK_EQ(take(a, 48, 1, &h[1]), 48);
    CHECK_EQ(take(a, 104, 1, &h[2]), 96);
    CHECK_EQ(take(a, 100, 1, &h[3]), 200);
    CHECK_EQ(take(a, 9700, 1, &h[4]), 300);
    CHECK_OK(oa_free(a, h[1]));
    CHECK_OK(oa_free(a, h[3]));
    /* size 48 align 48: A fits exactly although 48 < 48 + 47. */
    CHECK_EQ(take(a, 48, 48, NULL), 48);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

OA_TEST(non_power_of_two_alignments) {
    uint64_t aligns[] = {3, 12, 20, 24, 48, 1000003};
    for (size_t k = 0; k < sizeof aligns / sizeof aligns[0]; k++) {
        oa_allocator* a = make(1ull << 40);
        CHECK(a != NULL);
        uint64_t prev_end = 0;
        for (int i = 0; i < 50; i++) {
            uint64_t size = 1 + (uint64_t)i * 7;
            uint64_t off = take(a, size, aligns[k], NULL);
            CHECK(off != OA_NO_OFFSET);
            CHECK_EQ(off % aligns[k], 0);
            CHECK(off >= prev_end);
            prev_end = off + size;
        }
        CHECK_CLEAN(a);
        oa_allocator_destroy(a);
    }
}

OA_TEST(full_64_bit_range) {
    oa_allocator* a = make(UINT64_MAX);
    CHECK(a != NULL);
    oa_allocation big, small;
    CHECK_EQ(take(a, UINT64_MAX - 4096, 1, &big), 0);
    CHECK_EQ(take(a, 4096, 4096, &small), OA_NO_OFFSET); /* at UINT64_MAX-4096: not aligned */
    CHECK_EQ(take(a, 4095, 1, &small), UINT64_MAX - 4096);
    CHECK_CLEAN(a);
    CHECK_OK(oa_free(a, big));
    CHECK_EQ(take(a, 1ull << 62, 1ull << 62, NULL), 0);
    CHECK_EQ(take(a, 1ull << 62, 1ull << 62, NULL), 1ull << 62);
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, UINT64_MAX - (1ull << 63) - 4095);
    oa_allocator_destroy(a);
}

OA_TEST(regions_below_every_request_come_back_for_smaller_ones) {
    oa_allocator* a = make(1000);
    oa_allocation x, y, z;
    CHECK_EQ(take(a, 60, 1, &x), 0);
    /* 30 at align 64 leaves a 4-byte pad at 60, smaller than any request so far. */
    CHECK_EQ(take(a, 30, 64, &y), 64);
    CHECK_EQ(take(a, 906, 1, &z), 94);
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(st.free_size, 4);
    CHECK_EQ(st.largest_free_size, 4);
    CHECK_EQ(take(a, 5, 1, NULL), OA_NO_OFFSET);
    /* A smaller request than ever before finds it. */
    CHECK_EQ(take(a, 4, 4, NULL), 60);
    CHECK_CLEAN(a);
    CHECK_OK(oa_free(a, y));
    CHECK_OK(oa_free(a, x));
    CHECK_CLEAN(a);
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.largest_free_size, 60);
    CHECK_EQ(take(a, 1, 32, NULL), 64); /* the 30-byte hole is the smaller fit */
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* ---- bad input to alloc ---- */

OA_TEST(alloc_rejects_bad_input) {
    oa_allocator* a = make(1000);
    oa_allocation h = {99};
    uint64_t off = 5;
    CHECK_RESULT(oa_alloc(a, 0, 1, &h, &off), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(h.id, 0);
    CHECK_EQ(off, OA_NO_OFFSET);
    CHECK_RESULT(oa_alloc(a, 10, 0, &h, &off), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_alloc(NULL, 10, 1, &h, &off), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_alloc(a, 10, 1, NULL, &off), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_alloc(a, UINT64_MAX, 2, &h, &off), OA_ERROR_OVERFLOW);
    CHECK_RESULT(oa_alloc(a, 2, UINT64_MAX, &h, &off), OA_ERROR_OVERFLOW);
    CHECK_RESULT(oa_alloc(a, 1001, 1, &h, &off), OA_ERROR_OUT_OF_SPACE);
    CHECK_EQ(off, OA_NO_OFFSET);
    CHECK_RESULT(oa_alloc(a, UINT64_MAX, 1, &h, &off), OA_ERROR_OUT_OF_SPACE);
    /* align 1 with size UINT64_MAX does not overflow; a 1-byte request at
     * alignment UINT64_MAX fits at offset 0. */
    CHECK_RESULT(oa_alloc(a, 1, UINT64_MAX, &h, &off), OA_SUCCESS);
    CHECK_EQ(off, 0);
    CHECK_RESULT(oa_alloc(a, 1000, 1, &h, NULL), OA_ERROR_OUT_OF_SPACE);
    CHECK_OK(oa_alloc(a, 999, 1, &h, NULL)); /* NULL out_offset is allowed */
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, 0);
    CHECK(st.fragmentation == 0.0);
    oa_allocator_destroy(a);
}

/* ---- handles ---- */

OA_TEST(double_free_stale_foreign_forged) {
    oa_allocator* a = make(1000);
    oa_allocator* b = make(1000);
    oa_allocation h1, h2, hb;
    CHECK_EQ(take(a, 100, 1, &h1), 0);
    CHECK_EQ(take(b, 100, 1, &hb), 0);
    CHECK_OK(oa_free(a, h1));
    CHECK_RESULT(oa_free(a, h1), OA_ERROR_STALE_HANDLE); /* double free */
    CHECK_CLEAN(a);
    /* The slot is reused by the next allocation: the old handle stays stale. */
    CHECK_EQ(take(a, 100, 1, &h2), 0);
    CHECK((uint32_t)h2.id == (uint32_t)h1.id || h2.id != h1.id);
    CHECK_RESULT(oa_free(a, h1), OA_ERROR_STALE_HANDLE);
    CHECK_RESULT(oa_try_resize(a, h1, 50), OA_ERROR_STALE_HANDLE);
    uint64_t off, size;
    CHECK_RESULT(oa_allocation_get(a, h1, &off, &size), OA_ERROR_STALE_HANDLE);
    CHECK_EQ(off, OA_NO_OFFSET);
    CHECK_EQ(size, 0);
    /* A handle of another allocator. */
    CHECK_RESULT(oa_free(a, hb), OA_ERROR_STALE_HANDLE);
    /* Forged handles: slot out of range, slot of a free region, random bits. */
    oa_allocation forged[] = {{0xFFFFFFFFull},
                              {(uint64_t)1 << 32 | 2},
                              {0x123456789ABCDEFull},
                              {h2.id ^ (1ull << 40)},
                              {h2.id + 1}};
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        CHECK_RESULT(oa_free(a, forged[i]), OA_ERROR_STALE_HANDLE);
    }
    /* id 0 is a no-op. */
    CHECK_OK(oa_free(a, (oa_allocation){0}));
    CHECK_RESULT(oa_free(NULL, h2), OA_ERROR_INVALID_ARGUMENT);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.allocation_count, 1);
    CHECK_CLEAN(a);
    CHECK_OK(oa_allocation_get(a, h2, &off, &size));
    CHECK_EQ(off, 0);
    CHECK_EQ(size, 100);
    CHECK_OK(oa_free(a, h2));
    CHECK_OK(oa_free(b, hb));
    CHECK_CLEAN(a);
    CHECK_CLEAN(b);
    oa_allocator_destroy(a);
    oa_allocator_destroy(b);
}

/* ---- resize ---- */

OA_TEST(try_resize_grow_and_shrink) {
    oa_allocator* a = make(1000);
    oa_allocation x, y, z;
    CHECK_EQ(take(a, 100, 1, &x), 0);
    CHECK_EQ(take(a, 100, 1, &y), 100);
    CHECK_EQ(take(a, 100, 1, &z), 200);
    uint64_t off, size;
    /* y cannot grow: z follows it. */
    CHECK_RESULT(oa_try_resize(a, y, 101), OA_ERROR_OUT_OF_SPACE);
    /* z grows into the free tail, then up to the end exactly. */
    CHECK_OK(oa_try_resize(a, z, 500));
    CHECK_OK(oa_try_resize(a, z, 800));
    CHECK_RESULT(oa_try_resize(a, z, 801), OA_ERROR_OUT_OF_SPACE);
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, 0);
    CHECK_EQ(st.free_region_count, 0);
    /* Shrinking y before a used region makes a new free region. */
    CHECK_OK(oa_try_resize(a, y, 60));
    CHECK_OK(oa_allocation_get(a, y, &off, &size));
    CHECK_EQ(off, 100);
    CHECK_EQ(size, 60);
    CHECK_CLEAN(a);
    /* Shrinking y again merges with the free region after it. */
    CHECK_OK(oa_try_resize(a, y, 10));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(st.free_size, 90);
    CHECK_CLEAN(a);
    /* Growing y takes part of that region, the rest stays free. */
    CHECK_OK(oa_try_resize(a, y, 40));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.largest_free_size, 60);
    CHECK_OK(oa_try_resize(a, y, 40)); /* same size: no-op */
    CHECK_RESULT(oa_try_resize(a, y, 0), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_try_resize(NULL, y, 5), OA_ERROR_INVALID_ARGUMENT);
    CHECK_OK(oa_free(a, y));
    CHECK_RESULT(oa_try_resize(a, y, 5), OA_ERROR_STALE_HANDLE); /* freed handle */
    CHECK_OK(oa_free(a, x));
    CHECK_OK(oa_try_resize(a, z, 1));
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 2);
    CHECK_EQ(st.free_size, 999);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* ---- capacity growth ---- */

OA_TEST(grow_capacity_merges_or_appends) {
    oa_allocator* a = make(100);
    oa_allocation x;
    CHECK_EQ(take(a, 100, 1, &x), 0);
    CHECK_OK(oa_grow_capacity(a, 50)); /* tail used: a new free region */
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.capacity, 150);
    CHECK_EQ(st.free_size, 50);
    CHECK_EQ(take(a, 20, 1, NULL), 100);
    CHECK_OK(oa_grow_capacity(a, 50)); /* tail free: merges */
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(st.largest_free_size, 80);
    CHECK_OK(oa_grow_capacity(a, 0));
    CHECK_RESULT(oa_grow_capacity(a, UINT64_MAX - 199), OA_ERROR_OVERFLOW);
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.capacity, 200);
    CHECK_OK(oa_grow_capacity(a, UINT64_MAX - 200)); /* exactly to the top */
    CHECK_RESULT(oa_grow_capacity(a, 1), OA_ERROR_OVERFLOW);
    CHECK_RESULT(oa_grow_capacity(NULL, 1), OA_ERROR_INVALID_ARGUMENT);
    CHECK_CLEAN(a);
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.capacity, UINT64_MAX);
    oa_allocator_destroy(a);
}

/* Allocate all of [0, end) but `count` holes of `size` bytes at the ascending
 * offsets `at`: every hole becomes a free region of its own. */
static oa_result leave_holes(oa_allocator* a, const uint64_t* at, size_t count, uint64_t size,
                             uint64_t end) {
    oa_allocation h;
    uint64_t from = 0;
    for (size_t i = 0; i <= count; i++) {
        uint64_t to = i < count ? at[i] : end;
        if (to > from) {
            oa_result r = oa_alloc_at(a, from, to - from, &h);
            if (r != OA_SUCCESS) {
                return r;
            }
        }
        from = to + size;
    }
    return OA_SUCCESS;
}

/* Exact-size bins (sizes below 1 KiB) keep their regions in a trie on the
 * offset whose root branches on the top bit of the capacity when the bin
 * fills. Growing the capacity past a power of two and then freeing regions
 * of that size above the old top bit must keep the bin in offset order. */
OA_TEST(exact_size_bins_stay_ordered_when_the_capacity_grows) {
    oa_allocator_info info = {.capacity = 256, .max_regions = 4096};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    /* [3 used][1 used] x 64: then free the 3-byte blocks. */
    oa_allocation three[600];
    uint64_t at[600];
    int n = 0;
    for (uint64_t o = 0; o < 256; o += 4, n++) {
        CHECK_OK(oa_alloc_at(a, o, 3, &three[n]));
        oa_allocation sep;
        CHECK_OK(oa_alloc_at(a, o + 3, 1, &sep));
        at[n] = o;
    }
    /* Free in an order that is neither ascending nor descending. */
    for (int i = 0; i < n; i++) {
        CHECK_OK(oa_free(a, three[(i * 37) % n]));
    }
    CHECK_CLEAN(a);
    /* Past three powers of two, then the same pattern up there. */
    CHECK_OK(oa_grow_capacity(a, 2048 - 256));
    int low = n;
    oa_allocation wall; /* so that the first block up there does not merge downward */
    CHECK_OK(oa_alloc_at(a, 1024 + 4 * 16, 4, &wall));
    for (uint64_t o = 1024 + 4 * 17; o + 4 <= 2048; o += 4, n++) {
        CHECK_OK(oa_alloc_at(a, o, 3, &three[n]));
        oa_allocation sep;
        CHECK_OK(oa_alloc_at(a, o + 3, 1, &sep));
        at[n] = o;
    }
    for (int i = low; i < n; i++) {
        CHECK_OK(oa_free(a, three[low + ((i - low) * 7) % (n - low)]));
        CHECK_CLEAN(a);
    }
    /* A request of 3 bytes at 8 takes the lowest offset that is a multiple
     * of 8, then each 3-byte request the lowest free offset in turn. */
    CHECK_EQ(take(a, 3, 8, NULL), 0);
    for (int i = 1; i < n; i++) {
        CHECK_EQ(take(a, 3, 1, NULL), at[i]);
        CHECK_CLEAN(a);
    }
    oa_allocator_destroy(a);
}

/* A grow of a full pool whose capacity is a power of two puts its new bytes
 * at an offset above the old top bit, in an exact-size bin of their own. */
OA_TEST(a_grow_past_a_power_of_two_starts_an_exact_size_bin) {
    oa_allocator_info info = {.capacity = 256, .max_regions = 16};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation all, three, five;
    CHECK_OK(oa_alloc_at(a, 0, 256, &all));
    CHECK_OK(oa_grow_capacity(a, 5)); /* [256, 261) */
    CHECK_CLEAN(a);
    CHECK_OK(oa_grow_capacity(a, 3)); /* merges: [256, 264) */
    CHECK_CLEAN(a);
    CHECK_OK(oa_alloc_at(a, 256, 5, &five)); /* leaves [261, 264) */
    CHECK_CLEAN(a);
    CHECK_OK(oa_free(a, all));
    CHECK_OK(oa_alloc_at(a, 0, 253, &all)); /* leaves [253, 256): two of 3 B */
    CHECK_CLEAN(a);
    CHECK_EQ(take(a, 3, 1, &three), 253);
    CHECK_EQ(take(a, 3, 1, NULL), 261);
    CHECK_EQ(take(a, 3, 1, NULL), OA_NO_OFFSET);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* The search in an exact-size bin skips subtrees whose offsets cannot fit
 * an alignment; a region that ends up in one whose range stops just below a
 * multiple of the alignment still fits when its pad is within the slack.
 * Nine 10-byte holes below 2048 fill the trie's left spine, so the hole at
 * 4094 (pad 2 at 4096) becomes the right child covering [2048, 4096). */
OA_TEST(exact_size_search_keeps_fits_just_below_a_multiple) {
    oa_allocator_info info = {.capacity = 1u << 20, .max_regions = 64};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    const uint64_t holes[] = {100, 200, 300, 400, 500, 600, 700, 800, 900, 4094};
    CHECK_OK(leave_holes(a, holes, sizeof holes / sizeof holes[0], 10, 81920));
    oa_allocation h;
    CHECK_OK(oa_alloc_at(a, 81920 + 5000, (1u << 20) - 81920 - 5000, &h));
    CHECK_CLEAN(a);
    /* 8 bytes at 4096 (slack 2 in a 10-byte region): the hole at 4094, not
     * the larger region at 81920. */
    CHECK_EQ(take(a, 8, 4096, NULL), 4096);
    CHECK_EQ(take(a, 8, 4096, NULL), 81920);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* Exact-size bins under alignments of every kind, against the naive model:
 * holes of one size at offsets of every residue (30 bytes behind gaps of 1
 * to 40, then 6 bytes behind gaps of 1 to 4, so that the tries' lowest
 * levels hold several keys), then requests a little smaller at powers of two
 * and at other alignments (vertex strides among them), whose remnants fill
 * the smaller exact-size bins in turn. */
static void exact_bins_against_the_model(uint64_t hole, uint64_t max_gap, uint64_t seed) {
    const uint64_t capacity = 1u << 16;
    oa_allocator_info info = {.capacity = capacity, .max_regions = 1u << 17};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    ref_model m;
    ref_init(&m, capacity);
    uint64_t rng = seed;
    uint64_t from = 0;
    oa_allocation h;
    while (from + max_gap + hole + 16 < capacity) {
        uint64_t gap = 1 + splitmix64(&rng) % max_gap;
        CHECK_OK(oa_alloc_at(a, from, gap, &h));
        ref_carve(&m, m.count - 1, from, gap);
        from += gap + hole;
    }
    CHECK_OK(oa_alloc_at(a, from, capacity - from, &h));
    ref_carve(&m, m.count - 1, from, capacity - from);
    CHECK_CLEAN(a);
    static const uint64_t aligns[] = {1, 2, 4, 8, 16, 32, 64, 3, 5, 6, 12, 20, 24, 40, 48};
    for (int i = 0; i < 6000; i++) {
        uint64_t size = hole - hole / 3 + splitmix64(&rng) % (hole / 3 + 1);
        uint64_t align = aligns[splitmix64(&rng) % (sizeof aligns / sizeof aligns[0])];
        uint64_t want = ref_alloc(&m, size, align);
        CHECK_EQ(take(a, size, align, NULL), want == UINT64_MAX ? OA_NO_OFFSET : want);
        if (i % 512 == 0) {
            CHECK_CLEAN(a);
        }
    }
    CHECK_CLEAN(a);
    ref_destroy(&m);
    oa_allocator_destroy(a);
}

OA_TEST(exact_size_bins_match_the_model_at_every_alignment) {
    for (uint64_t seed = 1; seed <= 4 && !oa_test_failed_flag; seed++) {
        exact_bins_against_the_model(30, 40, seed);
        exact_bins_against_the_model(6, 4, seed);
    }
}

/* The deepest an exact-size bin's trie can be: one-byte holes at offsets
 * 2, 4, 8, ..., 2^39 share ever longer runs of zero bits, so each sits a
 * level below the last. Searches and removals stay exact. */
OA_TEST(exact_size_trie_of_greatest_depth) {
    oa_allocator_info info = {.capacity = 1ull << 40, .max_regions = 256};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    uint64_t holes[39];
    for (uint32_t k = 1; k < 40; k++) {
        holes[k - 1] = 1ull << k;
    }
    CHECK_OK(leave_holes(a, holes, 39, 1, 1ull << 40));
    CHECK_CLEAN(a);
    /* A 1-byte request at 2^20 takes the first hole on such a boundary, one
     * at 2^39 the last, and plain ones take the rest from the bottom up. */
    CHECK_EQ(take(a, 1, 1ull << 20, NULL), 1ull << 20);
    CHECK_EQ(take(a, 1, 1ull << 39, NULL), 1ull << 39);
    CHECK_EQ(take(a, 1, 1ull << 39, NULL), OA_NO_OFFSET);
    for (uint32_t k = 1; k < 39; k++) {
        if (k != 20) {
            CHECK_EQ(take(a, 1, 1, NULL), 1ull << k);
            CHECK_CLEAN(a);
        }
    }
    CHECK_EQ(take(a, 1, 1, NULL), OA_NO_OFFSET);
    oa_allocator_destroy(a);
}

/* ---- reset ---- */

OA_TEST(reset_forgets_everything) {
    oa_allocator* a = make(1000);
    oa_allocation h[10];
    for (int i = 0; i < 10; i++) {
        CHECK_EQ(take(a, 30, 8, &h[i]), (uint64_t)i * 32);
    }
    oa_reset(a);
    oa_reset(NULL);
    CHECK_CLEAN(a);
    for (int i = 0; i < 10; i++) {
        CHECK_RESULT(oa_free(a, h[i]), OA_ERROR_STALE_HANDLE);
    }
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_size, 1000);
    CHECK_EQ(st.allocation_count, 0);
    oa_allocation all;
    CHECK_EQ(take(a, 1000, 1, &all), 0);
    CHECK(all.id != h[0].id);
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
}

/* ---- walk ---- */

typedef struct walk_log {
    oa_region_info r[16];
    int n, stop_after;
} walk_log;

static bool record(void* user, const oa_region_info* r) {
    walk_log* w = (walk_log*)user;
    if (w->n < 16) {
        w->r[w->n] = *r;
    }
    w->n++;
    return w->stop_after == 0 || w->n < w->stop_after;
}

OA_TEST(walk_in_address_order) {
    oa_allocation keep[4];
    oa_allocator* a = holes(keep);
    walk_log w = {0};
    CHECK_OK(oa_walk(a, OA_WALK_ALL, record, &w));
    CHECK_EQ(w.n, 8);
    uint64_t expect = 0;
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(w.r[i].offset, expect);
        CHECK_EQ(w.r[i].is_free, i % 2 == 0);
        CHECK_EQ(w.r[i].allocation.id, i % 2 == 0 ? 0 : keep[i / 2].id);
        expect += w.r[i].size;
    }
    CHECK_EQ(expect, 400);
    memset(&w, 0, sizeof w);
    CHECK_OK(oa_walk(a, OA_WALK_FREE, record, &w));
    CHECK_EQ(w.n, 4);
    CHECK_EQ(w.r[3].offset, 300);
    CHECK_EQ(w.r[3].size, 80);
    memset(&w, 0, sizeof w);
    CHECK_OK(oa_walk(a, OA_WALK_ALLOCATIONS, record, &w));
    CHECK_EQ(w.n, 4);
    CHECK_EQ(w.r[0].offset, 50);
    memset(&w, 0, sizeof w);
    w.stop_after = 3;
    CHECK_OK(oa_walk(a, OA_WALK_ALL, record, &w));
    CHECK_EQ(w.n, 3);
    CHECK_RESULT(oa_walk(a, OA_WALK_ALL, NULL, &w), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_walk(NULL, OA_WALK_ALL, record, &w), OA_ERROR_INVALID_ARGUMENT);
    oa_allocator_destroy(a);
}

/* ---- memory modes ---- */

OA_TEST(fixed_budget_makes_no_heap_call_after_create) {
    oa_test_heap heap = {0};
    oa_allocator_info info = {.capacity = 1 << 20, .max_regions = 9};
    info.callbacks = oa_test_heap_callbacks(&heap);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    uint64_t after_create = heap.calls;
    CHECK(after_create > 0);
    oa_allocation h[8];
    int n = 0;
    oa_result r = OA_SUCCESS;
    /* Each aligned allocation leaves a pad: regions run out before space. */
    while (n < 8) {
        uint64_t off;
        r = oa_alloc(a, 10, 64, &h[n], &off);
        if (r != OA_SUCCESS) {
            break;
        }
        n++;
        CHECK_OK(oa_allocation_get(a, h[n - 1], &off, NULL));
        CHECK_EQ(off % 64, 0);
    }
    CHECK_RESULT(r, OA_ERROR_OUT_OF_METADATA);
    CHECK(n >= 4);
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.region_capacity, 9);
    CHECK_EQ(st.allocation_count, (uint64_t)n);
    /* An allocation that needs no new record (exact fit of the pad) works. */
    CHECK_OK(oa_alloc(a, 54, 1, &h[n], NULL));
    n++;
    /* Frees still work, and after them allocation works again. */
    for (int i = 0; i < n; i++) {
        CHECK_OK(oa_free(a, h[i]));
        CHECK_CLEAN(a);
    }
    CHECK_OK(oa_alloc(a, 10, 64, &h[0], NULL));
    CHECK_OK(oa_try_resize(a, h[0], 5));
    CHECK_OK(oa_grow_capacity(a, 4096));
    oa_reset(a);
    CHECK_EQ(heap.calls, after_create);
    CHECK_EQ(heap.frees, 0);
    oa_allocator_destroy(a);
    CHECK_EQ(heap.frees, heap.calls);
    CHECK_EQ(heap.live_bytes, 0);
}

OA_TEST(fixed_caller_memory_never_calls_allocator) {
    oa_test_heap heap = {0};
    static alignas(16) unsigned char mem[128 * 1024];
    oa_allocator_info info = {.capacity = 1 << 20, .max_regions = 100};
    info.memory = mem;
    info.memory_size = oa_allocator_memory_size(100);
    CHECK(info.memory_size <= sizeof mem);
    info.callbacks = oa_test_heap_callbacks(&heap);
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    CHECK((void*)a == (void*)mem);
    oa_allocation h[200];
    int n = 0;
    while (n < 200 && oa_alloc(a, 1 + (uint64_t)n, 16, &h[n], NULL) == OA_SUCCESS) {
        n++;
    }
    CHECK(n > 30);
    CHECK_CLEAN(a);
    for (int i = 0; i < n; i += 2) {
        CHECK_OK(oa_free(a, h[i]));
    }
    CHECK_CLEAN(a);
    oa_allocator_destroy(a);
    CHECK_EQ(heap.calls, 0);
    CHECK_EQ(heap.frees, 0);
}

OA_TEST(growable_mode_survives_host_allocation_failure) {
    /* Fail the Nth host allocation for every N until a workload succeeds. */
    for (uint64_t fail_at = 1; fail_at < 20; fail_at++) {
        oa_test_heap heap = {.fail_at = fail_at};
        oa_allocator_info info = {.capacity = 1 << 20, .initial_regions = 2};
        info.callbacks = oa_test_heap_callbacks(&heap);
        oa_allocator* a = NULL;
        oa_result r = oa_allocator_create(&info, &a);
        if (r != OA_SUCCESS) {
            CHECK_RESULT(r, OA_ERROR_OUT_OF_HOST_MEMORY);
            CHECK(a == NULL);
            CHECK_EQ(heap.live_bytes, 0);
            continue;
        }
        oa_allocation h[64];
        int n = 0, failures = 0;
        for (int i = 0; i < 64; i++) {
            oa_stats before, after;
            CHECK_OK(oa_get_stats(a, &before));
            r = oa_alloc(a, 100, 3, &h[n], NULL);
            if (r == OA_SUCCESS) {
                n++;
            } else {
                CHECK_RESULT(r, OA_ERROR_OUT_OF_HOST_MEMORY);
                failures++;
                CHECK_OK(oa_get_stats(a, &after));
                CHECK_EQ(after.allocation_count, before.allocation_count);
                CHECK_EQ(after.free_size, before.free_size);
            }
            CHECK_CLEAN(a);
        }
        CHECK(n >= 63 && failures <= 1);
        for (int i = 0; i < n; i++) {
            uint64_t off;
            CHECK_OK(oa_allocation_get(a, h[i], &off, NULL));
            CHECK_EQ(off % 3, 0);
            CHECK_OK(oa_free(a, h[i]));
        }
        CHECK_CLEAN(a);
        oa_allocator_destroy(a);
        CHECK_EQ(heap.live_bytes, 0);
    }
}

/* ---- checker and logging ---- */

OA_TEST(checker_detects_corruption) {
    static alignas(16) unsigned char mem[128 * 1024];
    oa_allocator_info info = {.capacity = 12345, .max_regions = 50};
    info.memory = mem;
    info.memory_size = sizeof mem;
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    CHECK_EQ(take(a, 777, 1, NULL), 0);
    CHECK_EQ(take(a, 555, 1, NULL), 777);
    CHECK_CLEAN(a);
    /* Find the record of the second allocation (offset 777, size 555) and
     * break its size: the regions no longer tile the pool. */
    uint64_t* found = NULL;
    for (size_t i = 0; i + 16 <= sizeof mem; i += 8) {
        uint64_t v[2];
        memcpy(v, mem + i, sizeof v);
        if (v[0] == 777 && v[1] == 555) {
            found = (uint64_t*)(void*)(mem + i);
        }
    }
    CHECK(found != NULL);
    found[1] = 556;
    CHECK_RESULT(oa_allocator_check(a), OA_ERROR_CORRUPT_TILING);
    found[1] = 555;
    CHECK_CLEAN(a);
    CHECK_RESULT(oa_allocator_check(NULL), OA_ERROR_INVALID_ARGUMENT);
}

typedef struct log_capture {
    int calls;
    oa_result last;
    char text[256];
} log_capture;

static void capture(void* user, oa_result result, const char* message) {
    log_capture* c = (log_capture*)user;
    c->calls++;
    c->last = result;
    snprintf(c->text, sizeof c->text, "%s", message);
}

OA_TEST(log_names_the_bad_argument) {
    log_capture cap = {0};
    oa_allocator_info info = {.capacity = 100, .log = capture, .log_user = &cap};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h;
    CHECK_RESULT(oa_alloc(a, 10, 0, &h, NULL), OA_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(cap.calls, 1);
    CHECK(strstr(cap.text, "align") != NULL);
    CHECK_OK(oa_alloc(a, 10, 1, &h, NULL));
    CHECK_OK(oa_free(a, h));
    CHECK_RESULT(oa_free(a, h), OA_ERROR_STALE_HANDLE);
    CHECK_EQ(cap.calls, 2);
    CHECK_EQ(cap.last, OA_ERROR_STALE_HANDLE);
    info.capacity = 0;
    oa_allocator* b = NULL;
    CHECK_RESULT(oa_allocator_create(&info, &b), OA_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(cap.text, "capacity") != NULL);
    oa_allocator_destroy(a);
}

OA_TEST(free_everything_then_whole_capacity_at_zero) {
    oa_allocator* a = make(1 << 16);
    oa_allocation h[300];
    uint64_t state = 42;
    int n = 0;
    for (; n < 300; n++) {
        uint64_t size = 1 + splitmix64(&state) % 300;
        uint64_t align = 1 + splitmix64(&state) % 50;
        if (oa_alloc(a, size, align, &h[n], NULL) != OA_SUCCESS) {
            break;
        }
    }
    CHECK_CLEAN(a);
    for (int i = n - 1; i >= 0; i -= 2) {
        CHECK_OK(oa_free(a, h[i]));
    }
    for (int i = n - 2; i >= 0; i -= 2) {
        CHECK_OK(oa_free(a, h[i]));
    }
    CHECK_CLEAN(a);
    oa_stats st;
    CHECK_OK(oa_get_stats(a, &st));
    CHECK_EQ(st.free_region_count, 1);
    CHECK_EQ(take(a, 1 << 16, 1, NULL), 0);
    oa_allocator_destroy(a);
}

OA_TEST_MAIN()
