/* verify_placements: checks a placement record against exact best-fit.
 * Usage: verify_placements TRACE PLACEMENTS [--capacity N] [--walk-stats]
 * Replays TRACE through the naive model of tools/ops/ref_model.h and
 * compares, alloc by alloc, with the '<id> <offset>' lines that
 * orderly-replay --placements wrote: same successes, same offsets, same
 * order. Prints "1 passed, 0 failed" or the first difference.
 * --walk-stats also prints how many free regions an aligned request visits in
 * (size, offset) order before its answer (the winner included): the cost of
 * the aligned walk, mean and largest. */
#include "ref_model.h"
#include "trace.h"

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: verify_placements TRACE PLACEMENTS [--capacity N]\n");
        return 2;
    }
    trace t;
    char err[256];
    if (trace_load(argv[1], &t, err, sizeof err) != 0) {
        fprintf(stderr, "verify_placements: %s\n", err);
        return 1;
    }
    uint64_t capacity = t.capacity;
    int walk_stats = 0;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--capacity") == 0 && i + 1 < argc) {
            capacity = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--walk-stats") == 0) {
            walk_stats = 1;
        }
    }
    uint64_t walks = 0, visited_sum = 0, visited_max = 0;
    FILE* f = fopen(argv[2], "r");
    if (f == NULL) {
        fprintf(stderr, "verify_placements: cannot open %s\n", argv[2]);
        return 1;
    }
    ref_model m;
    ref_init(&m, capacity);
    uint64_t* offset = calloc((size_t)t.id_count + 1, sizeof(uint64_t));
    uint64_t* size = calloc((size_t)t.id_count + 1, sizeof(uint64_t));
    uint64_t checked = 0;
    int bad = 0;
    for (size_t i = 0; i < t.op_count && !bad; i++) {
        const trace_op* op = &t.ops[i];
        if (op->align == 0) {
            if (size[op->id] != 0) {
                ref_free(&m, offset[op->id], size[op->id]);
                size[op->id] = 0;
            }
            continue;
        }
        if (walk_stats && op->align > 1) {
            size_t best;
            if (ref_find(&m, op->size, op->align, &best) != UINT64_MAX) {
                /* Every region ordered before the winner with size >= the
                 * request was visited and did not fit. */
                ref_span w = m.free[best];
                uint64_t visited = 1;
                for (size_t k = 0; k < m.count; k++) {
                    ref_span r = m.free[k];
                    if (r.size >= op->size &&
                        (r.size < w.size || (r.size == w.size && r.offset < w.offset))) {
                        visited++;
                    }
                }
                walks++;
                visited_sum += visited;
                visited_max = visited > visited_max ? visited : visited_max;
            }
        }
        uint64_t expect = ref_alloc(&m, op->size, op->align);
        if (expect == UINT64_MAX) {
            continue; /* must be absent from the record */
        }
        offset[op->id] = expect;
        size[op->id] = op->size;
        unsigned long long id, off;
        if (fscanf(f, "%llu %llu", &id, &off) != 2) {
            fprintf(stderr, "op %zu: model placed id %u at %" PRIu64 ", record has no line\n", i,
                    op->id, expect);
            bad = 1;
        } else if (id != op->id || off != expect) {
            fprintf(stderr,
                    "op %zu: model placed id %u at %" PRIu64 ", record says id %llu at %llu\n", i,
                    op->id, expect, id, off);
            bad = 1;
        }
        checked++;
    }
    unsigned long long extra_id, extra_off;
    if (!bad && fscanf(f, "%llu %llu", &extra_id, &extra_off) == 2) {
        fprintf(stderr, "record has a placement (id %llu) where the model failed\n", extra_id);
        bad = 1;
    }
    fclose(f);
    printf("%s: %" PRIu64 " placements compared with exact best-fit\n", t.name, checked);
    if (walk_stats) {
        printf("{\"trace\":\"%s\",\"aligned_allocs\":%" PRIu64
               ",\"walk_mean\":%.2f,\"walk_max\":%" PRIu64 "}\n",
               t.name, walks, walks ? (double)visited_sum / (double)walks : 0.0, visited_max);
    }
    printf("%d passed, %d failed\n", bad ? 0 : 1, bad ? 1 : 0);
    free(offset);
    free(size);
    ref_destroy(&m);
    trace_free(&t);
    return bad;
}
