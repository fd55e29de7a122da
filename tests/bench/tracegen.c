/* tracegen.c - deterministic allocation traces of five kinds of workload.
 * The same name, seed and scale give the same bytes on every machine: the
 * random source is splitmix64 and every real number is derived from it with
 * exact IEEE operations before being rounded down to an integer size.
 * The workload kinds follow the project's benchmark set: uniform churn, a
 * huge population of small objects, meshes streaming through a vertex buffer,
 * per-frame transient blocks, and an adversarial fragmenter. */
#include "trace.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KIB (1ull << 10)
#define MIB (1ull << 20)
#define GIB (1ull << 30)

typedef struct gen {
    uint64_t rng;
    FILE* out;
    uint32_t next_id;
    uint32_t* live; /* ids of live allocations, in no order */
    uint32_t* pos;  /* id -> index in live */
    size_t live_count, live_cap, pos_cap;
} gen;

static uint64_t gen_next(gen* g) {
    uint64_t z = (g->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double gen_unit(gen* g) {
    return (double)(gen_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

/* Log-uniform integer in [lo, hi). */
static uint64_t gen_loguniform(gen* g, double lo, double hi) {
    return (uint64_t)exp(log(lo) + gen_unit(g) * (log(hi) - log(lo)));
}

static size_t gen_index(gen* g, size_t n) {
    size_t k = (size_t)(gen_unit(g) * (double)n);
    return k < n ? k : n - 1;
}

static void* grow_array(void* p, size_t* cap, size_t need, size_t elem) {
    if (need <= *cap) {
        return p;
    }
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        c *= 2;
    }
    void* q = realloc(p, c * elem);
    if (q == NULL) {
        fprintf(stderr, "tracegen: out of memory\n");
        exit(1);
    }
    *cap = c;
    return q;
}

static uint32_t gen_alloc(gen* g, uint64_t size, uint64_t align) {
    uint32_t id = g->next_id++;
    fprintf(g->out, "a %u %llu %llu\n", id, (unsigned long long)(size ? size : 1),
            (unsigned long long)align);
    g->live = grow_array(g->live, &g->live_cap, g->live_count + 1, sizeof(uint32_t));
    g->pos = grow_array(g->pos, &g->pos_cap, (size_t)id + 1, sizeof(uint32_t));
    g->pos[id] = (uint32_t)g->live_count;
    g->live[g->live_count++] = id;
    return id;
}

static void gen_free(gen* g, uint32_t id) {
    uint32_t k = g->pos[id];
    uint32_t last = g->live[--g->live_count];
    g->live[k] = last;
    g->pos[last] = k;
    fprintf(g->out, "f %u\n", id);
}

static void gen_free_random(gen* g) {
    gen_free(g, g->live[gen_index(g, g->live_count)]);
}

/* A small FIFO/stack of id lists, for tiles and frames. */
typedef struct id_list {
    uint32_t* ids;
    size_t n, cap;
} id_list;

static void list_push(id_list* l, uint32_t id) {
    l->ids = grow_array(l->ids, &l->cap, l->n + 1, sizeof(uint32_t));
    l->ids[l->n++] = id;
}

static void churn_uniform(gen* g, double scale) {
    fprintf(g->out, "capacity %llu\n", 4 * GIB);
    uint64_t rounds = (uint64_t)(2000000 * scale) / 2;
    for (int i = 0; i < 20000; i++) {
        gen_alloc(g, gen_loguniform(g, 64, 256 * KIB), 4);
    }
    for (uint64_t i = 0; i < rounds; i++) {
        gen_free_random(g);
        gen_alloc(g, gen_loguniform(g, 64, 256 * KIB), 4);
    }
}

static void small_many(gen* g, double scale) {
    static const uint64_t aligns[] = {1, 4, 8, 16};
    fprintf(g->out, "capacity %llu\n", 2 * GIB);
    uint64_t live = (uint64_t)(1000000 * scale), rounds = (uint64_t)(2000000 * scale) / 2;
    for (uint64_t i = 0; i < live; i++) {
        uint64_t size = gen_loguniform(g, 16, KIB);
        gen_alloc(g, size, aligns[gen_index(g, 4)]);
    }
    for (uint64_t i = 0; i < rounds && g->live_count > 0; i++) {
        gen_free_random(g);
        uint64_t size = gen_loguniform(g, 16, KIB);
        gen_alloc(g, size, aligns[gen_index(g, 4)]);
    }
}

static void mesh_stream(gen* g, double scale) {
    static const uint64_t strides[] = {12, 16, 20, 24, 32, 48};
    fprintf(g->out, "capacity %llu\n", 768 * MIB);
    size_t window = 64, tiles = (size_t)(6000 * scale);
    id_list* resident = calloc(window + 1, sizeof(id_list));
    size_t count = 0;
    for (size_t t = 0; t < tiles; t++) {
        id_list tile = {0};
        int meshes = 1 + (int)(gen_unit(g) * 12);
        for (int m = 0; m < meshes; m++) {
            uint64_t verts = gen_loguniform(g, 24, 65536);
            uint64_t stride = strides[gen_index(g, 6)];
            list_push(&tile, gen_alloc(g, verts * stride, stride));
            uint64_t indices = (uint64_t)((double)verts * (1.5 + 3 * gen_unit(g)));
            list_push(&tile, gen_alloc(g, indices * 4, 4));
        }
        resident[count++] = tile;
        if (count > window) {
            /* Mostly the oldest tile leaves; sometimes a random one (a LOD swap). */
            size_t k = gen_unit(g) < 0.8 ? 0 : gen_index(g, count);
            id_list gone = resident[k];
            memmove(&resident[k], &resident[k + 1], (count - k - 1) * sizeof(id_list));
            count--;
            for (size_t i = 0; i < gone.n; i++) {
                gen_free(g, gone.ids[i]);
            }
            free(gone.ids);
        }
    }
    for (size_t i = 0; i < count; i++) {
        free(resident[i].ids);
    }
    free(resident);
}

static void frame_ring(gen* g, double scale) {
    static const uint64_t aligns[] = {16, 64, 256};
    fprintf(g->out, "capacity %llu\n", 1 * GIB);
    size_t frames = (size_t)(20000 * scale);
    id_list inflight[4] = {{0}};
    size_t nin = 0;
    id_list persistent = {0};
    for (size_t f = 0; f < frames; f++) {
        id_list cur = {0};
        int n = 10 + (int)(gen_unit(g) * 100);
        for (int i = 0; i < n; i++) {
            list_push(&cur, gen_alloc(g, gen_loguniform(g, 256, 64 * KIB), 256));
        }
        inflight[nin++] = cur;
        if (nin > 3) {
            /* The frame from three frames ago has retired. */
            for (size_t i = 0; i < inflight[0].n; i++) {
                gen_free(g, inflight[0].ids[i]);
            }
            free(inflight[0].ids);
            memmove(&inflight[0], &inflight[1], 3 * sizeof(id_list));
            nin--;
        }
        if (gen_unit(g) < 0.3) {
            uint64_t size = gen_loguniform(g, 4 * KIB, 4 * MIB);
            list_push(&persistent, gen_alloc(g, size, aligns[gen_index(g, 3)]));
            if (persistent.n > 200) {
                size_t k = gen_index(g, persistent.n);
                gen_free(g, persistent.ids[k]);
                memmove(&persistent.ids[k], &persistent.ids[k + 1],
                        (persistent.n - k - 1) * sizeof(uint32_t));
                persistent.n--;
            }
        }
    }
    for (size_t i = 0; i < nin; i++) {
        free(inflight[i].ids);
    }
    free(persistent.ids);
}

static void fragmenter(gen* g, double scale) {
    fprintf(g->out, "capacity %llu\n", 300 * MIB);
    int rounds = (int)(20 * scale);
    rounds = rounds < 1 ? 1 : rounds;
    id_list held = {0};
    char* is_held = NULL;
    size_t is_held_cap = 0;
    for (int r = 0; r < rounds; r++) {
        for (int k = 0; k < 2000; k++) {
            uint32_t id = gen_alloc(g, gen_loguniform(g, 1 * KIB, 64 * KIB), 16);
            is_held = grow_array(is_held, &is_held_cap, (size_t)id + 1, 1);
            is_held[id] = 0;
            if (k % 2 == 0) {
                gen_free(g, id); /* every other block leaves a hole */
            } else {
                list_push(&held, id);
                is_held[id] = 1;
            }
        }
        for (int k = 0; k < 800; k++) { /* slightly larger than the holes */
            uint32_t id = gen_alloc(g, gen_loguniform(g, 2 * KIB, 96 * KIB), 16);
            is_held = grow_array(is_held, &is_held_cap, (size_t)id + 1, 1);
            is_held[id] = 0;
        }
        while (held.n > 4000) {
            size_t k = gen_index(g, held.n);
            uint32_t id = held.ids[k];
            memmove(&held.ids[k], &held.ids[k + 1], (held.n - k - 1) * sizeof(uint32_t));
            held.n--;
            is_held[id] = 0;
            gen_free(g, id);
        }
        /* About half of the rest leave too (a snapshot of the live set, so
         * that frees during the walk do not reorder what is visited). */
        size_t n = g->live_count;
        uint32_t* snap = malloc((n ? n : 1) * sizeof(uint32_t));
        memcpy(snap, g->live, n * sizeof(uint32_t));
        for (size_t i = 0; i < n; i++) {
            if (!is_held[snap[i]] && gen_unit(g) < 0.5) {
                gen_free(g, snap[i]);
            }
        }
        free(snap);
    }
    free(held.ids);
    free(is_held);
}

typedef struct workload {
    const char* name;
    const char* about;
    void (*run)(gen*, double);
} workload;

static const workload workloads[] = {
    {"churn-uniform", "log-uniform sizes 64 B..256 KiB, 4-byte aligned, random frees, ~20k live",
     churn_uniform},
    {"small-many", "a million live objects of 16 B..1 KiB at alignments 1/4/8/16", small_many},
    {"mesh-stream", "vertex blocks at strides 12..48 plus index blocks, tiles in a sliding window",
     mesh_stream},
    {"frame-ring", "256-byte aligned per-frame blocks freed 3 frames later, slow long-lived churn",
     frame_ring},
    {"fragmenter", "adversarial: holes, then requests slightly larger than the holes", fragmenter},
};

const char* const trace_workloads[] = {"churn-uniform", "small-many", "mesh-stream",
                                       "frame-ring",    "fragmenter", NULL};

const char* trace_workload_about(const char* name) {
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        if (strcmp(workloads[i].name, name) == 0) {
            return workloads[i].about;
        }
    }
    return NULL;
}

int trace_generate(const char* name, uint64_t seed, double scale, FILE* out) {
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        if (strcmp(workloads[i].name, name) == 0) {
            gen g;
            memset(&g, 0, sizeof g);
            g.rng = seed * 0xD1B54A32D192ED03ull + 1;
            g.out = out;
            fprintf(out, "# %s seed=%llu scale=%g\n", name, (unsigned long long)seed, scale);
            workloads[i].run(&g, scale);
            free(g.live);
            free(g.pos);
            return 0;
        }
    }
    return -1;
}
