/* soak.c - long random run of the core allocator (orderly-soak); not a test.
 * Allocs (mixed sizes, alignments including non-powers of two), frees,
 * in-place resizes and rare capacity growth, with the live set drifting
 * between empty and --live allocations. Every --check-every ops the checker
 * runs and the statistics are compared with the program's own bookkeeping;
 * every free first checks that the allocation is still where it was put.
 *   orderly-soak [--ops N] [--check-every K] [--seed S] [--live L] [--fixed]
 * Prints one JSON line: ops done, checks, peak regions and live allocations,
 * failures, seconds, and the final checker result. Exit 1 on any error. */
#include <orderly/orderly.h>

#include "oa_tool.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct live {
    oa_allocation h;
    uint64_t offset, size;
} live;

static uint64_t pick_size(uint64_t* rng) {
    const uint64_t r = oa_tool_splitmix64(rng);
    switch (r % 8) {
    case 0:
    case 1:
    case 2:
        return 1 + (r >> 8) % 64;
    case 3:
    case 4:
        return 1 + (r >> 8) % 4096;
    case 5:
        return 1 + (r >> 8) % 65536;
    case 6:
        return 1 + (r >> 8) % (1u << 20);
    default:
        return 1 + (r >> 8) % 300;
    }
}

static uint64_t pick_align(uint64_t* rng) {
    static const uint64_t aligns[] = {1, 1, 1, 1, 1, 4, 16, 64, 256, 3, 12, 24, 48, 4096};
    return aligns[oa_tool_splitmix64(rng) % (sizeof aligns / sizeof aligns[0])];
}

static double now_seconds(void) {
    return (double)oa_tool_now_ns() * 1e-9;
}

int main(int argc, char** argv) {
    uint64_t ops = 300000000ull, check_every = 1000000ull, seed = 1, live_max = 20000;
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
    if (check_every == 0 || live_max == 0) {
        fprintf(stderr, "orderly-soak: --check-every and --live must be >= 1\n");
        return 2;
    }
    uint64_t capacity = 64ull << 30; /* room for the live set at any alignment */
    oa_allocator_info info = {.capacity = capacity};
    if (fixed) {
        info.max_regions = (uint32_t)(2 * live_max + 16);
    }
    oa_allocator* a = NULL;
    live* lv = (live*)malloc(sizeof(live) * live_max);
    if (lv == NULL || oa_allocator_create(&info, &a) != OA_SUCCESS) {
        fprintf(stderr, "orderly-soak: setup failed\n");
        return 1;
    }
    uint64_t rng = seed, n = 0, live_bytes = 0, failures = 0, errors = 0, checks = 0;
    uint64_t peak_regions = 0, peak_live = 0, done = 0;
    uint64_t target = live_max / 2; /* the live set drifts towards this, which moves */
    oa_result last_check = OA_SUCCESS;
    const double t0 = now_seconds();
    for (done = 0; done < ops && errors == 0; done++) {
        if (done % 1000000 == 0) {
            target = oa_tool_splitmix64(&rng) % (live_max + 1);
        }
        const uint64_t dice = oa_tool_splitmix64(&rng) % 100;
        const uint64_t alloc_share = n < target ? 65 : 35;
        if ((dice < alloc_share || n == 0) && n < live_max) {
            const uint64_t size = pick_size(&rng), align = pick_align(&rng);
            oa_allocation h;
            uint64_t off;
            const oa_result r = oa_alloc(a, size, align, &h, &off);
            if (r == OA_SUCCESS) {
                if (off % align != 0 || off + size > capacity) {
                    errors++;
                }
                lv[n++] = (live){h, off, size};
                live_bytes += size;
            } else if (r == OA_ERROR_OUT_OF_SPACE || r == OA_ERROR_OUT_OF_METADATA) {
                failures++;
            } else {
                fprintf(stderr, "op %" PRIu64 ": alloc: %s\n", done, oa_result_name(r));
                errors++;
            }
        } else if (dice < 93) {
            const uint64_t k = oa_tool_splitmix64(&rng) % n;
            uint64_t off, size;
            if (oa_allocation_get(a, lv[k].h, &off, &size) != OA_SUCCESS || off != lv[k].offset ||
                size != lv[k].size) {
                fprintf(stderr, "op %" PRIu64 ": allocation moved\n", done);
                errors++;
            }
            if (oa_free(a, lv[k].h) != OA_SUCCESS || oa_free(a, lv[k].h) != OA_ERROR_STALE_HANDLE) {
                fprintf(stderr, "op %" PRIu64 ": free or double free misbehaved\n", done);
                errors++;
            }
            live_bytes -= lv[k].size;
            lv[k] = lv[--n];
        } else if (dice < 99) {
            const uint64_t k = oa_tool_splitmix64(&rng) % n;
            const uint64_t ns = 1 + oa_tool_splitmix64(&rng) % (2 * lv[k].size);
            const oa_result r = oa_try_resize(a, lv[k].h, ns);
            if (r == OA_SUCCESS) {
                live_bytes = live_bytes - lv[k].size + ns;
                lv[k].size = ns;
            } else if (r == OA_ERROR_OUT_OF_SPACE || r == OA_ERROR_OUT_OF_METADATA) {
                failures++;
            } else {
                fprintf(stderr, "op %" PRIu64 ": resize: %s\n", done, oa_result_name(r));
                errors++;
            }
        } else if (oa_tool_splitmix64(&rng) % 1000 == 0) {
            const uint64_t add = 1 + oa_tool_splitmix64(&rng) % (1u << 20);
            const oa_result r = oa_grow_capacity(a, add);
            if (r == OA_SUCCESS) {
                capacity += add;
            } else if (r != OA_ERROR_OUT_OF_METADATA) {
                errors++;
            }
        }
        if (done % 4096 == 0 || (done + 1) % check_every == 0) {
            oa_stats st;
            if (oa_get_stats(a, &st) != OA_SUCCESS) {
                errors++;
                break;
            }
            const uint64_t regions = st.allocation_count + st.free_region_count;
            peak_regions = regions > peak_regions ? regions : peak_regions;
            peak_live = n > peak_live ? n : peak_live;
            if ((done + 1) % check_every == 0) {
                checks++;
                last_check = oa_allocator_check(a);
                if (last_check != OA_SUCCESS || st.allocation_count != n ||
                    st.capacity != capacity || st.free_size != capacity - live_bytes) {
                    fprintf(stderr, "op %" PRIu64 ": check %s, stats disagree=%d\n", done,
                            oa_result_name(last_check),
                            st.allocation_count != n || st.free_size != capacity - live_bytes);
                    errors++;
                }
            }
        }
    }
    const double seconds = now_seconds() - t0;
    last_check = oa_allocator_check(a);
    checks++;
    /* Free everything: the pool must come back as one region. */
    while (n > 0 && errors == 0) {
        n--;
        errors += oa_free(a, lv[n].h) != OA_SUCCESS;
    }
    oa_stats st;
    const oa_result final_check = oa_allocator_check(a);
    if (oa_get_stats(a, &st) != OA_SUCCESS || st.free_region_count != 1 ||
        st.free_size != capacity || final_check != OA_SUCCESS || last_check != OA_SUCCESS) {
        errors++;
    }
    printf("{\"bench\":\"soak\",\"mode\":\"%s\",\"seed\":%" PRIu64 ",\"ops\":%" PRIu64
           ",\"check_every\":%" PRIu64 ",\"checks\":%" PRIu64 ",\"peak_regions\":%" PRIu64
           ",\"peak_live\":%" PRIu64 ",\"failed_ops\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"seconds\":%.1f,\"ns_per_op\":%.1f,\"check\":\"%s\",\"final_check\":\"%s\"}\n",
           fixed ? "fixed" : "growable", seed, done, check_every, checks, peak_regions, peak_live,
           failures, errors, seconds, done ? seconds * 1e9 / (double)done : 0.0,
           oa_result_name(last_check), oa_result_name(final_check));
    oa_allocator_destroy(a);
    free(lv);
    return errors == 0 ? 0 : 1;
}
