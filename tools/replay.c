/* orderly-replay: replays an allocation trace against the core allocator and
 * prints one JSON line. The trace is parsed into memory first; only the replay
 * loop (replay_loop) is timed, so that "instructions of a full run less those
 * of a --parse-only run" are the replay's alone.
 * Usage: orderly-replay TRACE [--capacity N] [--placements FILE] [--check]
 *                             [--check-every N] [--parse-only] [--fixed] [--op-times]
 *                             [--repeat R]
 *                             [--dump FILE] [--dump-at N]
 * --dump writes the allocator's regions (oa_walk) as JSON in the layout of
 * the Vulkan manager's dump, one pool of one block, which orderly-vis draws.
 * A recorded trace (the core's recorder: A F R G X P M records) replays
 * through replay_recorded, with the trace's granularity; with --check it
 * also verifies every recorded result and offset, and the first difference
 * is an error naming its line. */
#include "oa_tool.h"
#include "orderly/orderly.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct slot {
    oa_allocation handle; /* id 0: never allocated, failed, or freed */
    uint64_t offset;
    uint64_t size;
} slot;

typedef struct replay_result {
    uint64_t failures, high_water, peak_live, check_errors;
    uint64_t worst_alloc_ns, worst_free_ns, worst_alloc_op, worst_free_op;
    uint64_t alloc_p999_ns, alloc_p9999_ns, free_p999_ns, free_p9999_ns;
    oa_result first_error;
} replay_result;

/* What both loops keep per op: live bytes and their peak, the high water
 * mark, failures, and the first error a free returned. */
typedef struct tally {
    uint64_t live, peak, high, failures;
} tally;

static inline void tally_alloc(tally* t, slot* s, oa_result r, uint64_t off, uint64_t size) {
    if (r == OA_SUCCESS) {
        s->offset = off;
        s->size = size;
        t->live += size;
        t->peak = t->live > t->peak ? t->live : t->peak;
        t->high = off + size > t->high ? off + size : t->high;
    } else {
        t->failures++;
    }
}

static inline void tally_free(tally* t, slot* s, oa_result r, replay_result* out) {
    if (r != OA_SUCCESS && out->first_error == OA_SUCCESS) {
        out->first_error = r;
    }
    s->handle.id = 0;
    t->live -= s->size;
}

static void tally_done(const tally* t, replay_result* out) {
    out->failures = t->failures;
    out->high_water = t->high;
    out->peak_live = t->peak;
}

/* One pass over the trace; with check_every != 0, the checker runs after
 * every check_every-th op and after the last one. Inlined into the two loops below, so that the
 * measured one carries no trace of the check. */
__attribute__((always_inline)) static inline void
replay_ops(oa_allocator* a, const trace* t, slot* slots, uint64_t check_every, replay_result* out) {
    tally k = {0, 0, 0, 0};
    for (size_t i = 0; i < t->op_count; i++) {
        const trace_op* op = &t->ops[i];
        slot* s = &slots[op->id];
        if (op->align != 0) {
            uint64_t off;
            oa_result r = oa_alloc(a, op->size, op->align, &s->handle, &off);
            tally_alloc(&k, s, r, off, op->size);
        } else if (s->handle.id != 0) {
            tally_free(&k, s, oa_free(a, s->handle), out);
        }
        if (check_every != 0 && ((i + 1) % check_every == 0 || i + 1 == t->op_count)) {
            oa_result r = oa_allocator_check(a);
            if (r != OA_SUCCESS && out->check_errors++ == 0) {
                fprintf(stderr, "orderly-replay: check failed after op %zu: %s\n", i,
                        oa_result_name(r));
            }
        }
    }
    tally_done(&k, out);
}

/* The measured loop. noinline so that profilers can name it. */
__attribute__((noinline)) static void replay_loop(oa_allocator* a, const trace* t, slot* slots,
                                                  replay_result* out) {
    replay_ops(a, t, slots, 0, out);
}

/* The same with the integrity checker (--check, --check-every). */
__attribute__((noinline)) static void replay_loop_checked(oa_allocator* a, const trace* t,
                                                          slot* slots, uint64_t check_every,
                                                          replay_result* out) {
    replay_ops(a, t, slots, check_every, out);
}

/* ---- recorded traces (A, F, R, G, X, P, M) ---- */

/* Results that depend on the host (metadata budget, host memory), not on the
 * pool: an op that failed so in the recorded run changed nothing there, and
 * is not replayed (it could succeed here and make another state). */
static int host_result(int32_t result) {
    return result == OA_ERROR_OUT_OF_METADATA || result == OA_ERROR_OUT_OF_HOST_MEMORY;
}

/* A recorded op that the replay did not reproduce: the first one stops the
 * replay (the states differ from there on). */
static void mismatch(const trace* t, size_t i, replay_result* out, const char* what,
                     long long recorded, long long replayed) {
    if (out->check_errors++ == 0) {
        fprintf(stderr, "orderly-replay: line %u: %s: recorded %lld, replayed %lld\n",
                t->rec[i].line, what, recorded, replayed);
    }
}

/* Replays a recorded trace. With `verify`, every result and offset is
 * compared with the record (a difference is an error naming the line, and
 * ends the replay); `placed` (may be NULL) gets each A and P op's offset
 * (OA_NO_OFFSET where it failed). Ops skipped (host-dependent failures,
 * rejected frees) count in *out_skipped. */
__attribute__((noinline)) static void replay_recorded(oa_allocator* a, const trace* t, slot* slots,
                                                      int verify, uint64_t check_every,
                                                      uint64_t* placed, uint64_t* out_skipped,
                                                      replay_result* out) {
    tally k = {0, 0, 0, 0};
    uint64_t skipped = 0;
    for (size_t i = 0; i < t->op_count && out->check_errors == 0; i++) {
        const trace_op* op = &t->ops[i];
        const trace_rec* rec = &t->rec[i];
        slot* s = &slots[op->id];
        oa_result r = OA_SUCCESS;
        uint64_t off = OA_NO_OFFSET;
        switch ((trace_kind)op->kind) {
        case TRACE_ALLOC:
            if (host_result(rec->result)) {
                skipped++;
                break;
            }
            r = oa_alloc(a, op->size, op->align, &s->handle, &off);
            tally_alloc(&k, s, r, off, op->size);
            if (verify && (int32_t)r != rec->result) {
                mismatch(t, i, out, "alloc result", rec->result, r);
            } else if (verify && off != rec->expect) {
                mismatch(t, i, out, "alloc offset", (long long)rec->expect, (long long)off);
            }
            break;
        case TRACE_FREE:
            if (rec->result != 0) {
                skipped++;
                break;
            }
            if (s->handle.id == 0) {
                break; /* its alloc failed here (reported with verify) */
            }
            r = oa_free(a, s->handle);
            if (verify && r != OA_SUCCESS) {
                mismatch(t, i, out, "free result", 0, r);
            }
            tally_free(&k, s, r, out);
            break;
        case TRACE_RESIZE:
            if (host_result(rec->result) || rec->result == OA_ERROR_STALE_HANDLE ||
                rec->result == OA_ERROR_INVALID_ARGUMENT) {
                skipped++;
                break;
            }
            r = oa_try_resize(a, s->handle, op->size);
            if (r == OA_SUCCESS) {
                k.live = k.live - s->size + op->size;
                k.peak = k.live > k.peak ? k.live : k.peak;
                k.high = s->offset + op->size > k.high ? s->offset + op->size : k.high;
                s->size = op->size;
            }
            if (verify && (int32_t)r != rec->result) {
                mismatch(t, i, out, "resize result", rec->result, r);
            }
            break;
        case TRACE_GROW:
            if (host_result(rec->result)) {
                skipped++;
                break;
            }
            r = oa_grow_capacity(a, op->size);
            if (verify && (int32_t)r != rec->result) {
                mismatch(t, i, out, "grow result", rec->result, r);
            }
            break;
        case TRACE_RESET:
            oa_reset(a);
            for (uint64_t id = op->size; id < op->id; id++) {
                slots[id].handle.id = 0;
            }
            k.live = 0;
            break;
        case TRACE_PLACE:
            r = oa_alloc_at(a, rec->expect, op->size, &s->handle);
            if (r == OA_SUCCESS) {
                off = rec->expect;
            }
            tally_alloc(&k, s, r, off, op->size);
            if (r != OA_SUCCESS) { /* not a difference of policy: the bytes were not free */
                mismatch(t, i, out, "place result", 0, r);
            }
            break;
        case TRACE_MOVE: {
            /* Handles and places swap; each keeps its size in the tally. */
            slot* res = &slots[rec->other];
            slot tmp = *s;
            s->handle = res->handle;
            s->offset = res->offset;
            res->handle = tmp.handle;
            res->offset = tmp.offset;
            if (verify && s->offset != op->size) {
                mismatch(t, i, out, "move offset", (long long)op->size, (long long)s->offset);
            }
            break;
        }
        case TRACE_PLAIN:
            break;
        }
        if (placed != NULL) {
            placed[i] = off;
        }
        if (check_every != 0 && ((i + 1) % check_every == 0 || i + 1 == t->op_count)) {
            oa_result c = oa_allocator_check(a);
            if (c != OA_SUCCESS && out->check_errors++ == 0) {
                fprintf(stderr, "orderly-replay: check failed after line %u: %s\n", rec->line,
                        oa_result_name(c));
            }
        }
    }
    tally_done(&k, out);
    *out_skipped = skipped;
}

static int cmp_u64(const void* x, const void* y) {
    uint64_t a = *(const uint64_t*)x, b = *(const uint64_t*)y;
    return a < b ? -1 : a > b;
}

/* The q-quantile of n times (sorts them). */
static uint64_t quantile(uint64_t* v, size_t n, double q) {
    if (n == 0) {
        return 0;
    }
    qsort(v, n, sizeof *v, cmp_u64);
    size_t k = (size_t)(q * (double)(n - 1));
    return v[k];
}

/* Same loop, each op timed on its own (adds the clock's cost to every op).
 * op_ns[i] keeps the least time op i took over the runs so far: with
 * --repeat R the trace is replayed R times on fresh allocators, so that an
 * op is reported slow only when it was slow every time (a preemption or an
 * interrupt on a shared machine rarely hits the same op R times). */
__attribute__((noinline)) static void replay_loop_timed(oa_allocator* a, const trace* t,
                                                        slot* slots, uint64_t* op_ns,
                                                        replay_result* out) {
    tally k = {0, 0, 0, 0};
    for (size_t i = 0; i < t->op_count; i++) {
        const trace_op* op = &t->ops[i];
        slot* s = &slots[op->id];
        if (op->align != 0) {
            uint64_t off;
            uint64_t t0 = oa_tool_now_ns();
            oa_result r = oa_alloc(a, op->size, op->align, &s->handle, &off);
            uint64_t dt = oa_tool_now_ns() - t0;
            op_ns[i] = dt < op_ns[i] ? dt : op_ns[i];
            tally_alloc(&k, s, r, off, op->size);
        } else if (s->handle.id != 0) {
            uint64_t t0 = oa_tool_now_ns();
            oa_result r = oa_free(a, s->handle);
            uint64_t dt = oa_tool_now_ns() - t0;
            op_ns[i] = dt < op_ns[i] ? dt : op_ns[i];
            tally_free(&k, s, r, out);
        }
    }
    tally_done(&k, out);
}

/* The slowest alloc and free and the 99.9th and 99.99th percentiles of the
 * per-op times (which say more than a maximum that one preemption can set).
 * Ops that did nothing (a free of a failed alloc) keep UINT64_MAX: skipped. */
static void op_times_summary(const trace* t, const uint64_t* op_ns, replay_result* out) {
    uint64_t* alloc_ns = (uint64_t*)malloc((t->op_count + 1) * sizeof(uint64_t));
    uint64_t* free_ns = (uint64_t*)malloc((t->op_count + 1) * sizeof(uint64_t));
    size_t allocs = 0, frees = 0;
    if (alloc_ns == NULL || free_ns == NULL) {
        fprintf(stderr, "orderly-replay: no memory for --op-times\n");
        exit(1);
    }
    for (size_t i = 0; i < t->op_count; i++) {
        uint64_t dt = op_ns[i];
        if (dt == UINT64_MAX) {
            continue;
        }
        if (t->ops[i].align != 0) {
            alloc_ns[allocs++] = dt;
            if (dt > out->worst_alloc_ns) {
                out->worst_alloc_ns = dt;
                out->worst_alloc_op = i;
            }
        } else {
            free_ns[frees++] = dt;
            if (dt > out->worst_free_ns) {
                out->worst_free_ns = dt;
                out->worst_free_op = i;
            }
        }
    }
    out->alloc_p999_ns = quantile(alloc_ns, allocs, 0.999);
    out->alloc_p9999_ns = quantile(alloc_ns, allocs, 0.9999);
    out->free_p999_ns = quantile(free_ns, frees, 0.999);
    out->free_p9999_ns = quantile(free_ns, frees, 0.9999);
    free(alloc_ns);
    free(free_ns);
}

/* Fixed mode needs a budget: free regions never outnumber allocations + 1. */
static uint64_t peak_live_count(const trace* t) {
    uint64_t live = 0, peak = 0;
    for (size_t i = 0; i < t->op_count; i++) {
        const trace_op* op = &t->ops[i];
        if (t->rec == NULL) {
            live = op->align != 0 ? live + 1 : live - 1;
        } else if (op->kind == TRACE_PLACE ||
                   (op->kind == TRACE_ALLOC && t->rec[i].result == OA_SUCCESS)) {
            live++;
        } else if (op->kind == TRACE_FREE && t->rec[i].result == OA_SUCCESS) {
            live--;
        } else if (op->kind == TRACE_RESET) {
            live = 0;
        }
        peak = live > peak ? live : peak;
    }
    return peak;
}

/* ---- --dump: the allocator's regions as JSON, after the timed run ------- */

typedef struct dump_live {
    uint64_t offset;
    uint64_t align;
    uint64_t handle;
} dump_live;

static int dump_live_cmp(const void* a, const void* b) {
    const dump_live* x = (const dump_live*)a;
    const dump_live* y = (const dump_live*)b;
    return x->offset < y->offset ? -1 : (x->offset > y->offset ? 1 : 0);
}

typedef struct dump_state {
    FILE* f;
    const dump_live* live; /* sorted by offset; cursor */
    const dump_live* end;
    int first;
} dump_state;

static bool dump_region(void* user, const oa_region_info* r) {
    dump_state* d = (dump_state*)user;
    fprintf(d->f, "%s\n{\"offset\":%llu,\"size\":%llu,\"is_free\":%s", d->first ? "" : ",",
            (unsigned long long)r->offset, (unsigned long long)r->size,
            r->is_free ? "true" : "false");
    d->first = 0;
    if (!r->is_free) {
        while (d->live < d->end && d->live->offset < r->offset) {
            d->live++;
        }
        fprintf(d->f, ",\"range\":\"0x%016llx\"", (unsigned long long)r->allocation.id);
        if (d->live < d->end && d->live->offset == r->offset) {
            fprintf(d->f, ",\"tag\":\"align %llu\"", (unsigned long long)d->live->align);
            d->live++;
        }
    }
    fputs("}", d->f);
    return true;
}

/* Writes the state of `a` after the first `ops_done` ops of `t`; `slots`
 * tells which trace ids are live, the ops their alignment (the region's tag). */
static int write_dump(const char* path, const char* name, const oa_allocator* a, const trace* t,
                      size_t ops_done, const slot* slots) {
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS) {
        return 1;
    }
    dump_live* live = (dump_live*)calloc((size_t)st.allocation_count + 1, sizeof *live);
    uint64_t* align = (uint64_t*)calloc((size_t)t->id_count + 1, sizeof *align);
    FILE* f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (live == NULL || align == NULL || f == NULL) {
        fprintf(stderr, "orderly-replay: cannot write %s\n", path);
        free(live);
        free(align);
        return 1;
    }
    for (size_t i = 0; i < ops_done; i++) {
        if (t->ops[i].align != 0) {
            align[t->ops[i].id] = t->ops[i].align;
        }
    }
    size_t n = 0;
    for (uint32_t id = 0; id <= t->id_count && n < st.allocation_count; id++) {
        if (slots[id].handle.id != 0) {
            live[n].offset = slots[id].offset;
            live[n].align = align[id];
            live[n].handle = slots[id].handle.id;
            n++;
        }
    }
    qsort(live, n, sizeof *live, dump_live_cmp);
    const uint64_t used = st.capacity - st.free_size;
    fprintf(f, "{\"source\":\"orderly-replay\",\"trace\":\"%s\",\"ops\":%zu,\"pools\":[\n", name,
            ops_done);
    fprintf(f, "{\"id\":\"0x0000000000000001\",\"name\":\"%s\",\"blocks\":[\n", name);
    fprintf(f,
            "{\"index\":0,\"is_dedicated\":false,\"capacity\":%llu,\"used_size\":%llu,"
            "\"free_size\":%llu,\"largest_free_size\":%llu,\"allocation_count\":%llu,\"free_region_"
            "count\":%llu,"
            "\"fragmentation\":%.6f,\"regions\":[",
            (unsigned long long)st.capacity, (unsigned long long)used,
            (unsigned long long)st.free_size, (unsigned long long)st.largest_free_size,
            (unsigned long long)st.allocation_count, (unsigned long long)st.free_region_count,
            st.fragmentation);
    dump_state d = {f, live, live + n, 1};
    int status = oa_walk(a, OA_WALK_ALL, dump_region, &d) != OA_SUCCESS;
    fputs("]}]}]}\n", f);
    if (f != stdout) {
        status |= fclose(f) != 0;
    }
    free(live);
    free(align);
    return status;
}

/* --record: the core's recorder writes the replay's own trace to a file. */
static void record_to_file(void* user, const char* text, size_t length) {
    fwrite(text, 1, length, (FILE*)user);
}

static int usage(void) {
    fprintf(stderr,
            "usage: orderly-replay TRACE [options]   (TRACE '-' reads standard input)\n"
            "  --capacity N       pool size instead of the trace's\n"
            "  --placements FILE  write '<id> <offset>' per successful alloc, in trace order\n"
            "  --check            run the integrity checker after every op (slow); on a\n"
            "                     recorded trace also verify every recorded result and offset\n"
            "  --check-every N    run it after every Nth op and after the last\n"
            "  --parse-only       parse the trace and exit before the replay\n"
            "  --fixed            fixed mode: the region budget is set at creation\n"
            "  --op-times         time every op and report the slowest alloc and free\n"
            "  --repeat R         with --op-times: replay R times, each op's least time counts\n"
            "  --name NAME        trace name in the output (default: the trace header)\n"
            "  --dump FILE        write the allocator's regions as JSON at the end ('-': stdout)\n"
            "  --dump-at N        the same after the first N ops (replayed again, untimed)\n"
            "  --record FILE      record the replay with the core's recorder (a recorded trace)\n");
    return 2;
}

int main(int argc, char** argv) {
    const char *path = NULL, *placements = NULL, *name = NULL, *dump = NULL, *record = NULL;
    uint64_t dump_at = UINT64_MAX;
    uint64_t capacity = 0;
    uint64_t check_every = 0;
    int parse_only = 0, fixed = 0, op_times = 0;
    uint64_t repeat = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc) {
            capacity = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--placements") == 0 && i + 1 < argc) {
            placements = argv[++i];
        } else if (strcmp(argv[i], "--record") == 0 && i + 1 < argc) {
            record = argv[++i];
        } else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) {
            dump = argv[++i];
        } else if (strcmp(argv[i], "--dump-at") == 0 && i + 1 < argc) {
            dump_at = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
            name = argv[++i];
        } else if (strcmp(argv[i], "--check") == 0) {
            check_every = 1;
        } else if (strcmp(argv[i], "--check-every") == 0 && i + 1 < argc) {
            check_every = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--parse-only") == 0) {
            parse_only = 1;
        } else if (strcmp(argv[i], "--fixed") == 0) {
            fixed = 1;
        } else if (strcmp(argv[i], "--op-times") == 0) {
            op_times = 1;
        } else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
            repeat = strtoull(argv[++i], NULL, 0);
            if (repeat == 0 || repeat > 1000) {
                fprintf(stderr, "orderly-replay: --repeat must be in [1, 1000]\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "orderly-replay: unknown option %s\n", argv[i]);
            return usage();
        } else if (path == NULL) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (path == NULL) {
        return usage();
    }
    trace t;
    char err[256];
    if (trace_load(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "orderly-replay: %s\n", err);
        return 1;
    }
    if (capacity == 0) {
        capacity = t.capacity;
    }
    if (name == NULL) {
        name = t.name[0] ? t.name : path;
    }
    if (capacity == 0) {
        fprintf(stderr, "orderly-replay: the trace has no capacity record; give --capacity\n");
        trace_free(&t);
        return 1;
    }
    oa_allocator_info info = {.capacity = capacity, .granularity = t.granularity};
    const int recorded = t.rec != NULL;
    if (recorded && op_times) {
        fprintf(stderr, "orderly-replay: --op-times takes traces of 'a' and 'f' records only\n");
        trace_free(&t);
        return 2;
    }
    /* A recorded trace's results and offsets are those of its own pool. */
    const int verify = recorded && check_every != 0 && capacity == t.capacity;
    if (recorded && check_every != 0 && !verify) {
        fprintf(stderr, "orderly-replay: --capacity differs from the recorded pool: offsets and "
                        "results are not verified\n");
    }
    if (fixed) {
        uint64_t budget = 2 * peak_live_count(&t) + 1 + (uint64_t)recorded;
        info.max_regions = budget > OA_MAX_REGIONS ? OA_MAX_REGIONS : (uint32_t)budget;
    }
    /* The harness's own setup: one slot per trace id, each written once
     * before the replay, so that no timed operation pays for the first touch
     * of a page of it (a non-zero value: a zero fill of fresh calloc memory
     * may be dropped). */
    slot* slots = (slot*)calloc((size_t)t.id_count + 1, sizeof(slot));
    if (slots == NULL) {
        fprintf(stderr, "orderly-replay: out of memory for %u slots\n", t.id_count);
        return 1;
    }
    for (size_t i = 0; i <= t.id_count; i++) {
        slots[i].offset = OA_NO_OFFSET;
    }
    if (parse_only) {
        /* After the fixed-mode budget pass and the slots, so that a
         * --parse-only run with the same options counts all the work outside
         * the replay and the allocator. */
        printf("{\"trace\":\"%s\",\"ops\":%zu,\"parse_only\":true}\n", name, t.op_count);
        free(slots);
        trace_free(&t);
        return 0;
    }
    FILE* record_file = NULL;
    static char record_buf[1 << 16];
    if (record != NULL) {
        record_file = fopen(record, "w");
        if (record_file == NULL) {
            fprintf(stderr, "orderly-replay: cannot write %s\n", record);
            return 1;
        }
        setvbuf(record_file, record_buf, _IOFBF, sizeof record_buf);
        info.record = record_to_file;
        info.record_user = record_file;
    }
    oa_allocator* a = NULL;
    oa_result r = oa_allocator_create(&info, &a);
    if (r != OA_SUCCESS) {
        fprintf(stderr, "orderly-replay: cannot create the allocator: %s\n", oa_result_name(r));
        return 1;
    }
    info.record = NULL; /* the allocators of --repeat and --dump-at are not recorded */
    replay_result res;
    memset(&res, 0, sizeof res);
    uint64_t* placed = NULL;
    uint64_t skipped = 0;
    if (recorded && placements != NULL) {
        placed = (uint64_t*)malloc((t.op_count + 1) * sizeof(uint64_t));
        if (placed == NULL) {
            fprintf(stderr, "orderly-replay: out of memory for --placements\n");
            return 1;
        }
    }
    uint64_t t0 = oa_tool_now_ns();
    if (recorded) {
        replay_recorded(a, &t, slots, verify, check_every, placed, &skipped, &res);
    } else if (op_times) {
        uint64_t* op_ns = (uint64_t*)malloc((t.op_count + 1) * sizeof(uint64_t));
        if (op_ns == NULL) {
            fprintf(stderr, "orderly-replay: no memory for --op-times\n");
            return 1;
        }
        for (size_t i = 0; i <= t.op_count; i++) {
            op_ns[i] = UINT64_MAX;
        }
        for (uint64_t rep = 0; rep < repeat; rep++) {
            if (rep > 0) { /* a fresh allocator and fresh slots for every run */
                oa_allocator_destroy(a);
                a = NULL;
                r = oa_allocator_create(&info, &a);
                if (r != OA_SUCCESS) {
                    fprintf(stderr, "orderly-replay: cannot create the allocator: %s\n",
                            oa_result_name(r));
                    return 1;
                }
                for (size_t i = 0; i <= t.id_count; i++) {
                    slots[i] = (slot){{0}, OA_NO_OFFSET, 0};
                }
            }
            replay_loop_timed(a, &t, slots, op_ns, &res);
        }
        op_times_summary(&t, op_ns, &res);
        free(op_ns);
    } else {
        if (check_every != 0) {
            replay_loop_checked(a, &t, slots, check_every, &res);
        } else {
            replay_loop(a, &t, slots, &res);
        }
    }
    uint64_t elapsed = (oa_tool_now_ns() - t0) / (op_times ? repeat : 1);
    oa_stats st;
    if (oa_get_stats(a, &st) != OA_SUCCESS) {
        return 1;
    }
    printf("{\"allocator\":\"orderly\",\"trace\":\"%s\",\"ops\":%zu,\"ns_per_op\":%.1f,"
           "\"failures\":%llu,\"high_water\":%llu,\"peak_live\":%llu,\"capacity\":%llu,"
           "\"mode\":\"%s\",\"metadata_bytes\":%llu",
           name, t.op_count, t.op_count ? (double)elapsed / (double)t.op_count : 0.0,
           (unsigned long long)res.failures, (unsigned long long)res.high_water,
           (unsigned long long)res.peak_live, (unsigned long long)capacity,
           fixed ? "fixed" : "growable", (unsigned long long)st.metadata_bytes);
    if (op_times) {
        printf(",\"worst_alloc_ns\":%llu,\"worst_alloc_op\":%llu,\"worst_free_ns\":%llu,"
               "\"worst_free_op\":%llu",
               (unsigned long long)res.worst_alloc_ns, (unsigned long long)res.worst_alloc_op,
               (unsigned long long)res.worst_free_ns, (unsigned long long)res.worst_free_op);
        printf(",\"alloc_p999_ns\":%llu,\"alloc_p9999_ns\":%llu,\"free_p999_ns\":%llu,"
               "\"free_p9999_ns\":%llu",
               (unsigned long long)res.alloc_p999_ns, (unsigned long long)res.alloc_p9999_ns,
               (unsigned long long)res.free_p999_ns, (unsigned long long)res.free_p9999_ns);
    }
    if (check_every != 0) {
        printf(",\"check_errors\":%llu", (unsigned long long)res.check_errors);
    }
    if (recorded) {
        printf(",\"recorded\":true,\"verified\":%s,\"skipped\":%llu", verify ? "true" : "false",
               (unsigned long long)skipped);
    }
    printf("}\n");
    int status = res.check_errors != 0 || res.first_error != OA_SUCCESS;
    if (record_file != NULL) {
        status |= oa_allocator_set_recorder(a, NULL, NULL) != OA_SUCCESS;
        status |= fclose(record_file) != 0;
    }
    if (placements != NULL) {
        /* Placements are recomputed from the trace order: a successful alloc
         * is one whose slot got a handle. Write them after timing. */
        FILE* f = fopen(placements, "w");
        if (f == NULL) {
            fprintf(stderr, "orderly-replay: cannot write %s\n", placements);
            status = 1;
        } else {
            static char buf[1 << 16];
            setvbuf(f, buf, _IOFBF, sizeof buf);
            for (size_t i = 0; i < t.op_count && placed != NULL; i++) {
                const uint32_t kind = t.ops[i].kind;
                if ((kind == TRACE_ALLOC || kind == TRACE_PLACE) && placed[i] != OA_NO_OFFSET) {
                    fprintf(f, "%u %llu\n", t.ops[i].id, (unsigned long long)placed[i]);
                }
            }
            for (size_t i = 0; i < t.op_count && placed == NULL; i++) {
                const trace_op* op = &t.ops[i];
                if (op->align != 0 && slots[op->id].size != 0) {
                    fprintf(f, "%u %llu\n", op->id, (unsigned long long)slots[op->id].offset);
                }
            }
            status |= fclose(f) != 0;
        }
    }
    if (dump != NULL && dump_at >= t.op_count) {
        status |= write_dump(dump, name, a, &t, t.op_count, slots);
    } else if (dump != NULL) {
        /* The state after op N: replay the first N ops on a fresh allocator. */
        trace prefix = t;
        prefix.op_count = (size_t)dump_at;
        oa_allocator* b = NULL;
        slot* prefix_slots = (slot*)calloc((size_t)t.id_count + 1, sizeof(slot));
        replay_result ignored;
        memset(&ignored, 0, sizeof ignored);
        if (prefix_slots == NULL || oa_allocator_create(&info, &b) != OA_SUCCESS) {
            fprintf(stderr, "orderly-replay: cannot create the allocator for --dump-at\n");
            status = 1;
        } else {
            if (recorded) {
                replay_recorded(b, &prefix, prefix_slots, 0, 0, NULL, &skipped, &ignored);
            } else {
                replay_loop(b, &prefix, prefix_slots, &ignored);
            }
            status |= write_dump(dump, name, b, &t, prefix.op_count, prefix_slots);
        }
        oa_allocator_destroy(b);
        free(prefix_slots);
    }
    oa_allocator_destroy(a);
    free(placed);
    free(slots);
    trace_free(&t);
    return status;
}
