/* record_test.c - the core's recorder against orderly-replay.
 * A random workload (allocs that succeed and fail, frees and double frees,
 * resizes that grow, shrink and fail, grows of the pool, resets, compaction
 * passes committed, aborted or cut short by a free) runs with a recorder
 * writing to a file; orderly-replay --check --placements replays the file,
 * and every placement must be the live run's, in order. Also: each record
 * kind's exact text, a recorder set on a pool that already holds
 * allocations, a trace with one offset changed failing with its line
 * number, and fixed mode calling no allocator while recording.
 *   record_test REPLAY_BINARY WORK_DIR [name...] [--seed S] [--iters N] */
#include "oa_test.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"

#include <orderly/orderly.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char* replay_bin = "orderly-replay";
static const char* work_dir = ".";
static uint64_t seed = 0x5eed0f1ecull;
static uint32_t iters = 4000;

/* The recorder's sink: a growing text buffer (the test's own heap). */
typedef struct sink {
    char* text;
    size_t length, capacity;
    size_t lines;
    size_t longest;
} sink;

static void sink_write(void* user, const char* text, size_t length) {
    sink* s = (sink*)user;
    if (s->length + length + 1 > s->capacity) {
        size_t cap = s->capacity ? s->capacity * 2 : 4096;
        while (cap < s->length + length + 1) {
            cap *= 2;
        }
        char* grown = (char*)realloc(s->text, cap);
        if (grown == NULL) {
            abort();
        }
        s->text = grown;
        s->capacity = cap;
    }
    memcpy(s->text + s->length, text, length);
    s->length += length;
    s->text[s->length] = '\0';
    s->lines++;
    if (length > s->longest) {
        s->longest = length;
    }
}

static void sink_free(sink* s) {
    free(s->text);
    memset(s, 0, sizeof *s);
}

/* The placements of the live run, in call order: one per successful
 * oa_alloc and per reservation a pass made. */
typedef struct placements {
    uint64_t* offset;
    size_t count, capacity;
} placements;

static void placed(placements* p, uint64_t offset) {
    if (p->count == p->capacity) {
        p->capacity = p->capacity ? p->capacity * 2 : 1024;
        p->offset = (uint64_t*)realloc(p->offset, p->capacity * sizeof(uint64_t));
        if (p->offset == NULL) {
            abort();
        }
    }
    p->offset[p->count++] = offset;
}

static int write_file(const char* path, const char* text, size_t length) {
    FILE* f = fopen(path, "wb");
    if (f == NULL) {
        return -1;
    }
    size_t put = fwrite(text, 1, length, f);
    return (fclose(f) != 0 || put != length) ? -1 : 0;
}

/* Runs orderly-replay on `trace` with --check --placements; returns its
 * exit status, and its standard error in `err` (a file). */
static int run_replay(const char* trace, const char* placements_path, const char* extra,
                      const char* err) {
    char cmd[8192];
    int n = snprintf(cmd, sizeof cmd, "'%s' '%s' --check --placements '%s' %s >/dev/null 2>'%s'",
                     replay_bin, trace, placements_path, extra, err);
    if (n < 0 || (size_t)n >= sizeof cmd) {
        return -1;
    }
    return system(cmd);
}

static char* read_all(const char* path) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char* buf = (char*)malloc(cap);
    for (size_t got; buf != NULL && (got = fread(buf + len, 1, cap - len - 1, f)) > 0;) {
        len += got;
        if (len + 1 == cap) {
            cap *= 2;
            buf = (char*)realloc(buf, cap);
        }
    }
    fclose(f);
    if (buf != NULL) {
        buf[len] = '\0';
    }
    return buf;
}

typedef struct live {
    oa_allocation h;
    uint64_t size;
} live;

/* The random workload. Returns 0 or the line of a failed check. */
static int workload(oa_allocator* a, uint64_t* rng, uint32_t ops, placements* p, bool fixed) {
    enum { MAX_LIVE = 512 };
    live held[MAX_LIVE];
    uint32_t n = 0;
    oa_allocation dead[64];
    uint32_t dead_count = 0;
    static const uint64_t aligns[] = {1, 1, 4, 16, 64, 256, 12, 24, 48, 4096};
    oa_compact_move moves[16];
    for (uint32_t i = 0; i < ops; i++) {
        uint64_t r = splitmix64(rng) % 1000;
        if (r < 420 && n < MAX_LIVE) {
            uint64_t size = 1 + splitmix64(rng) % (r < 20 ? (1u << 22) : 3000u);
            uint64_t align = aligns[splitmix64(rng) % (sizeof aligns / sizeof aligns[0])];
            oa_allocation h;
            uint64_t off;
            oa_result res = oa_alloc(a, size, align, &h, &off);
            if (res == OA_SUCCESS) {
                placed(p, off);
                held[n++] = (live){h, size};
            } else if (res != OA_ERROR_OUT_OF_SPACE &&
                       !(fixed && res == OA_ERROR_OUT_OF_METADATA)) {
                return __LINE__;
            }
        } else if (r < 760 && n > 0) {
            uint32_t k = (uint32_t)(splitmix64(rng) % n);
            if (oa_free(a, held[k].h) != OA_SUCCESS) {
                return __LINE__;
            }
            if (dead_count < 64) {
                dead[dead_count++] = held[k].h;
            }
            held[k] = held[--n];
        } else if (r < 880 && n > 0) {
            uint32_t k = (uint32_t)(splitmix64(rng) % n);
            uint64_t size = 1 + splitmix64(rng) % 4000u;
            oa_result res = oa_try_resize(a, held[k].h, size);
            if (res == OA_SUCCESS) {
                held[k].size = size;
            } else if (res != OA_ERROR_OUT_OF_SPACE &&
                       !(fixed && res == OA_ERROR_OUT_OF_METADATA)) {
                return __LINE__;
            }
        } else if (r < 900 && dead_count > 0) {
            /* A double free: rejected, recorded, and skipped by the replay. */
            if (oa_free(a, dead[splitmix64(rng) % dead_count]) != OA_ERROR_STALE_HANDLE) {
                return __LINE__;
            }
        } else if (r < 910 && dead_count > 0) {
            if (oa_try_resize(a, dead[splitmix64(rng) % dead_count], 8) != OA_ERROR_STALE_HANDLE) {
                return __LINE__;
            }
            /* A new size of 0 is rejected before the handle is looked at. */
            if (oa_try_resize(a, dead[splitmix64(rng) % dead_count], 0) !=
                OA_ERROR_INVALID_ARGUMENT) {
                return __LINE__;
            }
        } else if (r < 930) {
            oa_result res = oa_grow_capacity(a, 1 + splitmix64(rng) % 50000u);
            if (res != OA_SUCCESS && !(fixed && res == OA_ERROR_OUT_OF_METADATA)) {
                return __LINE__;
            }
        } else if (r < 934) {
            oa_reset(a);
            n = 0;
        } else if (r < 990) {
            oa_compact_limits limits = {.max_moves = 1 + (uint32_t)(splitmix64(rng) % 16),
                                        .max_bytes = 1 + splitmix64(rng) % 40000u,
                                        .align = aligns[splitmix64(rng) % 6]};
            uint32_t count = 0;
            oa_result res = oa_compact_begin(a, &limits, moves, 16, &count);
            if (res != OA_SUCCESS && !(fixed && res == OA_ERROR_OUT_OF_METADATA)) {
                return __LINE__;
            }
            for (uint32_t m = 0; m < count; m++) {
                placed(p, moves[m].new_offset);
            }
            uint64_t how = splitmix64(rng) % 10;
            if (count > 0 && how == 0) {
                if (oa_compact_abort(a) != OA_SUCCESS) {
                    return __LINE__;
                }
                continue;
            }
            if (count > 0 && how == 1) {
                /* The caller frees a moved allocation during the pass: commit
                 * skips that move and frees its reservation. */
                for (uint32_t k = 0; k < n; k++) {
                    if (held[k].h.id == moves[0].allocation.id) {
                        if (oa_free(a, held[k].h) != OA_SUCCESS) {
                            return __LINE__;
                        }
                        held[k] = held[--n];
                        break;
                    }
                }
            }
            if (count > 0 && how == 2 && n < MAX_LIVE) {
                /* An allocation while the pass is open. */
                oa_allocation h;
                uint64_t off;
                if (oa_alloc(a, 100, 4, &h, &off) == OA_SUCCESS) {
                    placed(p, off);
                    held[n++] = (live){h, 100};
                }
            }
            if (oa_compact_commit(a) != OA_SUCCESS) {
                return __LINE__;
            }
        } else {
            /* A request larger than the pool: fails, recorded as such. */
            oa_allocation h;
            if (oa_alloc(a, UINT64_MAX / 4, 1, &h, NULL) != OA_ERROR_OUT_OF_SPACE) {
                return __LINE__;
            }
        }
        if (i % 64 == 0 && oa_allocator_check(a) != OA_SUCCESS) {
            return __LINE__;
        }
    }
    return 0;
}

/* Records one workload and replays it; the placements must agree. */
static void record_and_replay(const char* name, uint64_t granularity, uint32_t max_regions,
                              const char* extra, uint64_t run_seed) {
    sink s = {0};
    oa_allocator_info info = {.capacity = 1u << 20,
                              .granularity = granularity,
                              .max_regions = max_regions,
                              .record = sink_write,
                              .record_user = &s};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    placements p = {0};
    uint64_t rng = run_seed;
    int bad = workload(a, &rng, iters, &p, max_regions != 0);
    oa_allocator_destroy(a);
    if (bad != 0) {
        OA_FAIL_AT("%s: the live workload failed at record_test.c:%d (seed=0x%llx)", name, bad,
                   (unsigned long long)run_seed);
        return;
    }
    char trace[1024], place[1024], err[1024];
    snprintf(trace, sizeof trace, "%s/%s.trace", work_dir, name);
    snprintf(place, sizeof place, "%s/%s.placements", work_dir, name);
    snprintf(err, sizeof err, "%s/%s.err", work_dir, name);
    CHECK(write_file(trace, s.text, s.length) == 0);
    CHECK(s.longest <= OA_RECORD_LINE_MAX);
    int status = run_replay(trace, place, extra, err);
    if (status != 0) {
        char* e = read_all(err);
        OA_FAIL_AT("%s: orderly-replay failed (status %d, seed=0x%llx): %s", name, status,
                   (unsigned long long)run_seed, e ? e : "");
        free(e);
        return;
    }
    char* text = read_all(place);
    CHECK(text != NULL);
    size_t k = 0;
    for (char* line = text; *line != '\0'; k++) {
        unsigned id;
        unsigned long long off;
        if (sscanf(line, "%u %llu", &id, &off) != 2 || k >= p.count || off != p.offset[k]) {
            OA_FAIL_AT("%s: placement %zu: replayed %s, live %llu (seed=0x%llx)", name, k, line,
                       k < p.count ? (unsigned long long)p.offset[k] : 0ull,
                       (unsigned long long)run_seed);
            free(text);
            return;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : text + strlen(text);
    }
    free(text);
    CHECK_EQ(k, p.count);
    CHECK(p.count > iters / 8); /* the workload placed something */
    free(p.offset);
    sink_free(&s);
}

OA_TEST(replay_places_as_recorded) {
    printf("seed=0x%llx\n", (unsigned long long)seed);
    record_and_replay("growable", 0, 0, "", seed);
}

OA_TEST(replay_places_as_recorded_granularity) {
    record_and_replay("granular", 16, 0, "", seed + 1);
}

OA_TEST(replay_places_as_recorded_fixed) {
    /* A small budget: allocations fail for lack of records, which the
     * replay skips (they depend on the budget, not on the pool). */
    record_and_replay("fixed", 0, 120, "", seed + 2);
}

OA_TEST(replay_places_as_recorded_fixed_replay) {
    record_and_replay("fixed-replay", 0, 0, "--fixed", seed + 3);
}

/* Each kind's exact line. */
OA_TEST(record_lines) {
    sink s = {0};
    oa_allocator_info info = {
        .capacity = 1000, .granularity = 4, .record = sink_write, .record_user = &s};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation x, y, z;
    uint64_t off;
    CHECK_OK(oa_alloc(a, 10, 8, &x, &off));
    CHECK_RESULT(oa_alloc(a, 5000, 1, &y, &off), OA_ERROR_OUT_OF_SPACE);
    CHECK_RESULT(oa_alloc(a, 0, 1, &y, &off), OA_ERROR_INVALID_ARGUMENT);
    CHECK_RESULT(oa_alloc(a, 1, 1, NULL, &off), OA_ERROR_INVALID_ARGUMENT); /* not recorded */
    CHECK_OK(oa_alloc(a, 100, 1, &y, &off));
    CHECK_OK(oa_try_resize(a, x, 12));
    CHECK_RESULT(oa_try_resize(a, x, 900), OA_ERROR_OUT_OF_SPACE);
    CHECK_OK(oa_grow_capacity(a, 24));
    CHECK_OK(oa_grow_capacity(a, 0)); /* a no-op: not recorded */
    CHECK_OK(oa_free(a, x));
    CHECK_RESULT(oa_free(a, x), OA_ERROR_STALE_HANDLE);
    CHECK_OK(oa_free(a, (oa_allocation){0})); /* a no-op: not recorded */
    CHECK_OK(oa_alloc_at(a, 500, 6, &z));
    oa_compact_move m[4];
    uint32_t count = 0;
    CHECK_OK(oa_compact_begin(a, NULL, m, 4, &count));
    CHECK(count >= 1);
    CHECK_OK(oa_compact_commit(a));
    oa_reset(a);
    char want[2048];
    int n = snprintf(want, sizeof want,
                     "capacity 1000\ngranularity 4\n"
                     "A %llx 10 8 0\n"
                     "A - 5000 1 -2\n"
                     "A - 0 1 -1\n"
                     "A %llx 100 1 12\n"
                     "R %llx 12 0\n"
                     "R %llx 900 -2\n"
                     "G 24 0\n"
                     "F %llx\n"
                     "F %llx -5\n"
                     "P %llx 8 500\n",
                     (unsigned long long)x.id, (unsigned long long)y.id, (unsigned long long)x.id,
                     (unsigned long long)x.id, (unsigned long long)x.id, (unsigned long long)x.id,
                     (unsigned long long)z.id);
    CHECK(n > 0 && (size_t)n < sizeof want);
    if (strncmp(s.text, want, (size_t)n) != 0) {
        OA_FAIL_AT("recorded:\n%s\nwanted to start with:\n%s", s.text, want);
        return;
    }
    /* Then one P per reservation, one M and one F per committed move, X. */
    char* rest = s.text + n;
    for (uint32_t i = 0; i < count; i++) {
        char line[128];
        snprintf(line, sizeof line, "P %llx %llu %llu\n", (unsigned long long)m[i].reserved.id,
                 (unsigned long long)m[i].size, (unsigned long long)m[i].new_offset);
        CHECK(strncmp(rest, line, strlen(line)) == 0);
        rest += strlen(line);
    }
    for (uint32_t i = 0; i < count; i++) {
        char line[160];
        snprintf(line, sizeof line, "M %llx %llx %llu\nF %llx\n",
                 (unsigned long long)m[i].allocation.id, (unsigned long long)m[i].reserved.id,
                 (unsigned long long)m[i].new_offset, (unsigned long long)m[i].reserved.id);
        if (strncmp(rest, line, strlen(line)) != 0) {
            OA_FAIL_AT("move %u: recorded\n%s\nwanted\n%s", i, rest, line);
            return;
        }
        rest += strlen(line);
    }
    CHECK(strcmp(rest, "X\n") == 0);
    oa_allocator_destroy(a);
    sink_free(&s);
}

/* A recorder set on a pool that holds allocations starts with them as P
 * lines, and the trace replays from that state. */
OA_TEST(record_from_a_live_pool) {
    oa_allocator_info info = {.capacity = 1u << 16};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    oa_allocation h[8];
    for (int i = 0; i < 8; i++) {
        CHECK_OK(oa_alloc(a, 100 + (uint64_t)i * 37, 16, &h[i], NULL));
    }
    for (int i = 0; i < 8; i += 3) {
        CHECK_OK(oa_free(a, h[i]));
    }
    sink s = {0};
    CHECK_OK(oa_allocator_set_recorder(a, sink_write, &s));
    CHECK(strncmp(s.text, "capacity 65536\nP ", 17) == 0);
    CHECK_EQ(s.lines, 1 + 5); /* the header and five live allocations */
    placements p = {0};
    uint64_t rng = seed ^ 0xabcdef;
    int bad = workload(a, &rng, 500, &p, false);
    CHECK_EQ(bad, 0);
    CHECK_OK(oa_allocator_set_recorder(a, NULL, NULL));
    size_t before = s.length;
    CHECK_OK(oa_alloc(a, 10, 1, &h[0], NULL)); /* not recorded any more */
    CHECK_EQ(s.length, before);
    oa_allocator_destroy(a);
    char trace[1024], place[1024], err[1024];
    snprintf(trace, sizeof trace, "%s/live-pool.trace", work_dir);
    snprintf(place, sizeof place, "%s/live-pool.placements", work_dir);
    snprintf(err, sizeof err, "%s/live-pool.err", work_dir);
    CHECK(write_file(trace, s.text, s.length) == 0);
    CHECK_EQ(run_replay(trace, place, "", err), 0);
    free(p.offset);
    sink_free(&s);
}

/* --check must catch a recorded offset the replay does not reproduce, and
 * name its line. */
OA_TEST(replay_check_reports_the_line) {
    const char* text = "capacity 4096\n"
                       "A 100000001 64 16 0\n"
                       "A 100000002 64 16 64\n"
                       "F 100000001\n"
                       "A 100000003 32 1 64\n"; /* best fit puts it at 0 */
    char trace[1024], place[1024], err[1024];
    snprintf(trace, sizeof trace, "%s/mismatch.trace", work_dir);
    snprintf(place, sizeof place, "%s/mismatch.placements", work_dir);
    snprintf(err, sizeof err, "%s/mismatch.err", work_dir);
    CHECK(write_file(trace, text, strlen(text)) == 0);
    CHECK(run_replay(trace, place, "", err) != 0);
    char* e = read_all(err);
    CHECK(e != NULL);
    bool named = strstr(e, "line 5: alloc offset: recorded 64, replayed 0") != NULL;
    if (!named) {
        OA_FAIL_AT("stderr: %s", e);
    }
    free(e);
    CHECK(named);
    /* The same trace with the right offset passes. */
    const char* good = "capacity 4096\n"
                       "A 100000001 64 16 0\n"
                       "A 100000002 64 16 64\n"
                       "F 100000001\n"
                       "A 100000003 32 1 0\n";
    CHECK(write_file(trace, good, strlen(good)) == 0);
    CHECK_EQ(run_replay(trace, place, "", err), 0);
    /* A failure recorded where the replay succeeds is a difference too. */
    const char* fail = "capacity 4096\nA - 64 16 -2\n";
    CHECK(write_file(trace, fail, strlen(fail)) == 0);
    CHECK(run_replay(trace, place, "", err) != 0);
    e = read_all(err);
    CHECK(e != NULL && strstr(e, "line 2: alloc result: recorded -2, replayed 0") != NULL);
    free(e);
}

/* Fixed mode never calls an allocator after creation, recorder on. */
OA_TEST(record_fixed_mode_no_heap) {
    oa_test_heap heap = {0};
    sink s = {0};
    oa_allocator_info info = {.capacity = 1u << 20,
                              .max_regions = 4096,
                              .callbacks = oa_test_heap_callbacks(&heap),
                              .record = sink_write,
                              .record_user = &s};
    oa_allocator* a = NULL;
    CHECK_OK(oa_allocator_create(&info, &a));
    uint64_t calls = heap.calls;
    placements p = {0};
    uint64_t rng = seed ^ 0x1234;
    CHECK_EQ(workload(a, &rng, 2000, &p, true), 0);
    CHECK_EQ(heap.calls, calls);
    CHECK(s.lines > 1000);
    oa_allocator_destroy(a);
    free(p.offset);
    sink_free(&s);
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: record_test REPLAY_BINARY WORK_DIR [name...] [--seed S] "
                        "[--iters N]\n");
        return 2;
    }
    replay_bin = argv[1];
    work_dir = argv[2];
    int rest = 1;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
            iters = (uint32_t)strtoul(argv[++i], NULL, 0);
        } else {
            argv[rest++] = argv[i];
        }
    }
    return oa_test_run_all(rest, argv);
}
