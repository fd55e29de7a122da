/* bench_compact.c - what compaction passes cost and what they buy.
 * Two workloads, each printed as one JSON line per variant:
 *  - "compact_drain": a pool filled with mesh-sized allocations, half of
 *    them freed at random, then compacted in passes (64 moves, 4 MiB each)
 *    until a pass finds nothing: passes, moves, bytes moved, fragmentation
 *    before and after, median microseconds per begin and per commit.
 *  - "compact_stream": a 64 MiB streaming buffer kept at 75, 85 and 95%
 *    occupancy; each frame frees four allocations and places new ones up
 *    to the occupancy, and (in the "passes" variant) runs one pass of 16
 *    moves / 1 MiB, committed at once as if the copy had completed. Frames
 *    with a failed placement, mean and peak fragmentation, bytes moved per
 *    frame, median ns per pass (begin and commit).
 * Fixed seeds; times are medians of the runs. No assertion: figures only.
 *   bench_compact [--seed S] [--frames N] */
#include <orderly/orderly.h>

#include "oa_test_clock.h"
#include "oa_test_rng.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void) {
    return (double)oa_test_now_ns();
}

static int cmp_double(const void* x, const void* y) {
    double a = *(const double*)x, b = *(const double*)y;
    return a < b ? -1 : a > b;
}

static double median(double* v, size_t n) {
    if (n == 0) {
        return 0.0;
    }
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* Log-uniform sizes from 1 KiB to 256 KiB, rounded to 16 bytes. */
static uint64_t mesh_size(uint64_t* rng) {
    double u = (double)(splitmix64(rng) >> 11) / 9007199254740992.0;
    uint64_t s = (uint64_t)(1024.0 * pow(256.0, u));
    return (s + 15) & ~15ull;
}

static double frag_of(const oa_allocator* a) {
    oa_stats st;
    return oa_get_stats(a, &st) == OA_SUCCESS ? st.fragmentation : -1.0;
}

static int drain(uint64_t seed) {
    uint64_t rng = seed;
    oa_allocator_info info = {.capacity = 256ull << 20};
    oa_allocator* a = NULL;
    if (oa_allocator_create(&info, &a) != OA_SUCCESS) {
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    oa_allocation* live = (oa_allocation*)malloc(cap * sizeof *live);
    for (;;) {
        oa_allocation h;
        if (n == cap || oa_alloc(a, mesh_size(&rng), 16, &h, NULL) != OA_SUCCESS) {
            break;
        }
        live[n++] = h;
    }
    size_t allocs = n;
    for (size_t i = 0; i < n; i++) {
        if (splitmix64(&rng) % 2 == 0 && oa_free(a, live[i]) != OA_SUCCESS) {
            return 1;
        }
    }
    double before = frag_of(a);
    oa_compact_limits lim = {.max_moves = 64, .max_bytes = 4u << 20, .align = 16};
    oa_compact_move moves[64];
    double* t_begin = (double*)malloc(100000 * sizeof(double));
    double* t_commit = (double*)malloc(100000 * sizeof(double));
    size_t passes = 0;
    uint64_t total_moves = 0, total_bytes = 0;
    for (uint32_t count = 1; count > 0 && passes < 100000;) {
        double t0 = now_ns();
        if (oa_compact_begin(a, &lim, moves, 64, &count) != OA_SUCCESS) {
            return 1;
        }
        double t1 = now_ns();
        if (oa_compact_commit(a) != OA_SUCCESS) {
            return 1;
        }
        double t2 = now_ns();
        if (count == 0) {
            break;
        }
        t_begin[passes] = (t1 - t0) / 1000.0;
        t_commit[passes] = (t2 - t1) / 1000.0;
        passes++;
        total_moves += count;
        for (uint32_t i = 0; i < count; i++) {
            total_bytes += moves[i].size;
        }
    }
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS || oa_allocator_check(a) != OA_SUCCESS) {
        return 1;
    }
    printf("{\"bench\":\"compact_drain\",\"seed\":%" PRIu64 ",\"allocations\":%zu,\"live\":%" PRIu64
           ",\"passes\":%zu,\"moves\":%" PRIu64 ",\"mib_moved\":%.1f,\"frag_before\":%.3f,"
           "\"frag_after\":%.3f,\"us_per_begin\":%.1f,\"us_per_commit\":%.1f}\n",
           seed, allocs, st.allocation_count, passes, total_moves, (double)total_bytes / (1 << 20),
           before, st.fragmentation, median(t_begin, passes), median(t_commit, passes));
    free(t_begin);
    free(t_commit);
    free(live);
    oa_allocator_destroy(a);
    return 0;
}

static int stream(uint64_t seed, uint64_t frames, uint64_t percent, int with_passes) {
    uint64_t rng = seed;
    oa_allocator_info info = {.capacity = 64ull << 20};
    oa_allocator* a = NULL;
    if (oa_allocator_create(&info, &a) != OA_SUCCESS) {
        return 1;
    }
    size_t cap = 1 << 16, n = 0;
    oa_allocation* live = (oa_allocation*)malloc(cap * sizeof *live);
    uint64_t used = 0, target = info.capacity / 100 * percent;
    while (used < target) {
        oa_allocation h;
        uint64_t s = mesh_size(&rng);
        if (oa_alloc(a, s, 16, &h, NULL) != OA_SUCCESS) {
            break;
        }
        live[n++] = h;
        used += s;
    }
    oa_compact_limits lim = {.max_moves = 16, .max_bytes = 1u << 20, .align = 16};
    oa_compact_move moves[16];
    double* t_pass = (double*)malloc(frames * sizeof(double));
    size_t timed = 0;
    uint64_t failures = 0, bytes_moved = 0;
    double frag_sum = 0, frag_max = 0;
    for (uint64_t f = 0; f < frames; f++) {
        for (int k = 0; k < 4 && n > 0; k++) {
            size_t i = (size_t)(splitmix64(&rng) % n);
            uint64_t size = 0;
            if (oa_allocation_get(a, live[i], NULL, &size) != OA_SUCCESS ||
                oa_free(a, live[i]) != OA_SUCCESS) {
                return 1;
            }
            used -= size;
            live[i] = live[--n];
        }
        while (used < target && n < cap) {
            oa_allocation h;
            uint64_t s = mesh_size(&rng);
            if (oa_alloc(a, s, 16, &h, NULL) != OA_SUCCESS) {
                failures++;
                break;
            }
            live[n++] = h;
            used += s;
        }
        if (with_passes) {
            uint32_t count = 0;
            double t0 = now_ns();
            if (oa_compact_begin(a, &lim, moves, 16, &count) != OA_SUCCESS ||
                oa_compact_commit(a) != OA_SUCCESS) {
                return 1;
            }
            t_pass[timed++] = now_ns() - t0;
            for (uint32_t i = 0; i < count; i++) {
                bytes_moved += moves[i].size;
            }
        }
        double fr = frag_of(a);
        frag_sum += fr;
        if (fr > frag_max) {
            frag_max = fr;
        }
    }
    if (oa_allocator_check(a) != OA_SUCCESS) {
        return 1;
    }
    printf(
        "{\"bench\":\"compact_stream\",\"variant\":\"%s\",\"occupancy\":%" PRIu64
        ",\"seed\":%" PRIu64 ",\"frames\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"frag_mean\":%.3f,"
        "\"frag_peak\":%.3f,\"kib_moved_per_frame\":%.1f,\"ns_per_pass\":%.0f}\n",
        with_passes ? "passes" : "none", percent, seed, frames, failures, frag_sum / (double)frames,
        frag_max, (double)bytes_moved / 1024.0 / (double)frames, median(t_pass, timed));
    free(t_pass);
    free(live);
    oa_allocator_destroy(a);
    return 0;
}

int main(int argc, char** argv) {
    uint64_t seed = 7, frames = 20000;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--frames") == 0 && i + 1 < argc) {
            frames = strtoull(argv[++i], NULL, 0);
        } else {
            fprintf(stderr, "usage: bench_compact [--seed S] [--frames N]\n");
            return 2;
        }
    }
    if (frames == 0) {
        frames = 1;
    }
    if (drain(seed)) {
        return 1;
    }
    for (uint64_t percent = 75; percent <= 95; percent += 10) {
        if (stream(seed, frames, percent, 0) || stream(seed, frames, percent, 1)) {
            return 1;
        }
    }
    return 0;
}
