/* tracegen.c - deterministic allocation traces of many kinds of workload.
 * The same name, seed and scale give the same bytes on every machine: the
 * random source is splitmix64 and every real number is derived from it with
 * exact IEEE operations before being rounded down to an integer size.
 * The workload kinds follow the project's benchmark set: uniform churn, a
 * huge population of small objects, meshes streaming through a vertex buffer,
 * per-frame transient blocks, an adversarial fragmenter; a workload shaped
 * like VMA's virtual-block benchmark at one alignment or mixed ones, with
 * probes that fail or fit; and crafted sequences that attack index
 * structures (deep treap paths, unaligned holes, one huge bin, dust, failing
 * requests), each built so that the generator knows every offset. */
#include "oa_tool.h"
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
    return oa_tool_splitmix64(&g->rng);
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

static void churn_uniform(gen* g, const trace_params* p) {
    const double scale = p->scale;
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

static void small_many(gen* g, const trace_params* p) {
    const double scale = p->scale;
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

static void mesh_stream(gen* g, const trace_params* p) {
    const double scale = p->scale;
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

static void frame_ring(gen* g, const trace_params* p) {
    const double scale = p->scale;
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

static void fragmenter(gen* g, const trace_params* p) {
    const double scale = p->scale;
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

/* ---- shared by the kinds below ------------------------------------------ */

/* round(base * scale), at least `least`. */
static uint64_t scaled(double base, double scale, uint64_t least) {
    uint64_t n = (uint64_t)(base * scale + 0.5);
    return n < least ? least : n;
}

static uint64_t round_up(uint64_t x, uint64_t align) {
    return (x + align - 1) / align * align;
}

static uint32_t* id_array(uint64_t n) {
    uint32_t* ids = malloc((size_t)(n ? n : 1) * sizeof(uint32_t));
    if (ids == NULL) {
        fprintf(stderr, "tracegen: out of memory\n");
        exit(1);
    }
    return ids;
}

/* ---- the VMA-shaped workload -----------------------------------------------
 * Shaped like VMA's virtual-block benchmark: 7,200 allocations of 1..2,056
 * bytes (uniform) in a pool of 2.5 x their sum, then 14,400 random operations
 * (each an allocation of a fresh size or a free of a random live one, with
 * equal odds; a free when nothing is live becomes an allocation), then every
 * live allocation freed. All counts scale with --scale. */

#define VMA_MAX_SIZE 2056u
#define VMA_ALLOCS 7200.0
#define VMA_OPS 14400.0

/* vma-mixed: powers of two and vertex strides. */
static const uint64_t vma_mixed_aligns[] = {1, 4, 16, 64, 256, 12, 24, 48};

static uint64_t vma_size(gen* g) {
    return 1 + (uint64_t)gen_index(g, VMA_MAX_SIZE);
}

/* One request: a fresh size at `align`, or with align 0 at a mixed alignment
 * (a stride's size rounded up to a multiple of the stride). */
static void vma_request(gen* g, uint64_t align, uint64_t* size, uint64_t* out_align) {
    *size = vma_size(g);
    if (align == 0) {
        align = vma_mixed_aligns[gen_index(g, 8)];
        if ((align & (align - 1)) != 0) {
            *size = round_up(*size, align);
        }
    }
    *out_align = align;
}

static void vma_run(gen* g, double scale, uint64_t align) {
    uint64_t n = scaled(VMA_ALLOCS, scale, 1), ops = scaled(VMA_OPS, scale, 0), sum = 0;
    uint64_t* sizes = malloc((size_t)n * 2 * sizeof(uint64_t));
    if (sizes == NULL) {
        fprintf(stderr, "tracegen: out of memory\n");
        exit(1);
    }
    for (uint64_t i = 0; i < n; i++) {
        vma_request(g, align, &sizes[2 * i], &sizes[2 * i + 1]);
        sum += sizes[2 * i];
    }
    fprintf(g->out, "capacity %llu\n", (unsigned long long)(sum * 5 / 2));
    for (uint64_t i = 0; i < n; i++) {
        gen_alloc(g, sizes[2 * i], sizes[2 * i + 1]);
    }
    free(sizes);
    for (uint64_t i = 0; i < ops; i++) {
        if (g->live_count == 0 || gen_unit(g) < 0.5) {
            uint64_t size, a;
            vma_request(g, align, &size, &a);
            gen_alloc(g, size, a);
        } else {
            gen_free_random(g);
        }
    }
    while (g->live_count > 0) {
        gen_free(g, g->live[g->live_count - 1]);
    }
}

static void vma(gen* g, const trace_params* p) {
    vma_run(g, p->scale, p->align ? p->align : 1);
}

static void vma_mixed(gen* g, const trace_params* p) {
    vma_run(g, p->scale, 0);
}

/* vma-fail and vma-fit: the cost of a request that fails against one that
 * succeeds, on the same free set. 7,200 allocations of the VMA sizes at
 * --align A in a fresh pool: each lands at the first multiple of A after the
 * previous one and leaves a front pad of under A bytes, which never holds an
 * A-aligned request. vma-fail then fills the rest of the pool with one
 * allocation, so that every probe (a fresh VMA size at A) fails with only
 * the pads free; vma-fit leaves the rest free, so that every probe succeeds
 * at the end of the pool. --probes N (default 1000) sets their number; the
 * same trace with --probes 0 is the base the probes' cost is measured from. */
static void vma_probe_run(gen* g, const trace_params* p, int fill) {
    uint64_t align = p->align ? p->align : 1;
    uint64_t n = scaled(VMA_ALLOCS, p->scale, 1);
    uint64_t probes = p->probes >= 0 ? (uint64_t)p->probes : 1000;
    uint64_t* sizes = malloc((size_t)n * sizeof(uint64_t));
    if (sizes == NULL) {
        fprintf(stderr, "tracegen: out of memory\n");
        exit(1);
    }
    uint64_t sum = 0, end = 0;
    for (uint64_t i = 0; i < n; i++) {
        sizes[i] = vma_size(g);
        sum += sizes[i];
        end = round_up(end, align) + sizes[i];
    }
    uint64_t rest = round_up(end, align);
    uint64_t capacity = rest + probes * (VMA_MAX_SIZE + align);
    capacity = capacity > sum * 5 / 2 ? capacity : sum * 5 / 2;
    fprintf(g->out, "capacity %llu\n", (unsigned long long)capacity);
    for (uint64_t i = 0; i < n; i++) {
        gen_alloc(g, sizes[i], align);
    }
    free(sizes);
    if (fill && capacity > rest) {
        gen_alloc(g, capacity - rest, align);
    }
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, vma_size(g), align);
    }
}

static void vma_fail(gen* g, const trace_params* p) {
    vma_probe_run(g, p, 1);
}

static void vma_fit(gen* g, const trace_params* p) {
    vma_probe_run(g, p, 0);
}

/* ---- crafted sequences -----------------------------------------------------
 * Each builds its free set in a fresh pool from allocations at alignment 1,
 * which land one after the other, so the generator knows every offset
 * without a model; then it frees the chosen ones (never two neighbours) and
 * sends --probes requests. 2,000,000 crafted regions at --scale 1. */

#define CRAFTED_REGIONS 2000000.0

static uint64_t probe_count(const trace_params* p, uint64_t fallback) {
    return p->probes >= 0 ? (uint64_t)p->probes : fallback;
}

/* The first core's treap priority of a record slot (a fixed, public hash of
 * the slot index), so that deep-bin can shape a treap of that core. */
static uint32_t first_core_priority(uint32_t slot) {
    uint32_t x = slot * 0x9E3779B1u;
    return x ^ (x >> 15);
}

/* deep-bin: an attack on the first core's treaps. N one-byte allocations in
 * a pool whose rest stays in one size bin; in that core the allocation at
 * offset k takes record slot k + 2. Freeing the longest run of even offsets
 * whose slot priorities increase (the longest increasing subsequence) makes
 * the size-1 treap a path, as deep as that run is long (about 1,470 at
 * scale 1). Probes alternate 1 byte at 2^30 (walks every size-1 region, then
 * fits at 2^30 in the rest) and 1 byte at alignment 1 (the path's lowest
 * offset). Does not use --seed. */
static void deep_bin(gen* g, const trace_params* p) {
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 8), probes = probe_count(p, 16);
    fprintf(g->out, "capacity %llu\n", (unsigned long long)((1ull << 40) + n));
    for (uint64_t k = 0; k < n; k++) {
        gen_alloc(g, 1, 1);
    }
    /* Candidates: even offsets 2, 4, ... below n (not 0: it is aligned at 2^30). */
    uint64_t m = (n - 1) / 2;
    uint32_t* tails = id_array(m); /* tails[l]: candidate ending the best run of length l + 1 */
    uint32_t* prev = id_array(m);
    uint64_t len = 0;
    for (uint64_t i = 0; i < m; i++) {
        uint32_t pr = first_core_priority((uint32_t)(2 * (i + 1) + 2));
        uint64_t lo = 0, hi = len;
        while (lo < hi) {
            uint64_t mid = (lo + hi) / 2;
            if (first_core_priority((uint32_t)(2 * (tails[mid] + 1) + 2)) < pr) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        prev[i] = lo > 0 ? tails[lo - 1] : UINT32_MAX;
        tails[lo] = (uint32_t)i;
        len = lo == len ? len + 1 : len;
    }
    uint32_t* run = id_array(len);
    uint32_t c = len ? tails[len - 1] : UINT32_MAX;
    for (uint64_t l = len; l > 0; l--) {
        run[l - 1] = c;
        c = prev[c];
    }
    fprintf(g->out, "# %llu frees make a treap path of that depth\n", (unsigned long long)len);
    for (uint64_t l = 0; l < len; l++) {
        gen_free(g, (uint32_t)(2 * (run[l] + 1))); /* the id is the offset */
    }
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 1, i % 2 == 0 ? 1ull << 30 : 1);
    }
    free(tails);
    free(prev);
    free(run);
}

/* unaligned-holes: N holes of 1,000..1,999 B, each starting one byte past a
 * multiple of 4096 (unaligned at both ends), then probes of 1,000 B at 4096,
 * which no hole holds: each lands in the rest of the pool. */
static void unaligned_holes(gen* g, const trace_params* p) {
    const uint64_t page = 4096;
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100);
    fprintf(g->out, "capacity %llu\n", (unsigned long long)(page * n + 1 + (probes + 1) * page));
    uint32_t* holes = id_array(n);
    gen_alloc(g, 1, 1);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t h = 1000 + (uint64_t)gen_index(g, 1000);
        holes[k] = gen_alloc(g, h, 1);
        gen_alloc(g, page - h, 1); /* to the next page's first byte */
    }
    for (uint64_t k = 0; k < n; k++) {
        gen_free(g, holes[k]);
    }
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 1000, page);
    }
    free(holes);
}

/* one-bin: N free regions of exactly 64 B behind separators of 1..31 B
 * (offsets at every residue mod 16, none a multiple of 256) filling the whole
 * pool, then rounds of four probes: 64 B at 256, at 4096 and at 65536 (all
 * fail: no region starts aligned) and 64 B at alignment 1 (takes the lowest). */
static void one_bin_layout(gen* g, uint64_t n, int emit, uint32_t* holes, uint64_t* out_end) {
    uint64_t end = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t sep = 1 + (uint64_t)gen_index(g, 31);
        if ((end + sep) % 256 == 0) {
            sep++;
        }
        if (emit) {
            gen_alloc(g, sep, 1);
            holes[k] = gen_alloc(g, 64, 1);
        }
        end += sep + 64;
    }
    if (emit) {
        gen_alloc(g, 1, 1);
    }
    *out_end = end + 1;
}

static void one_bin(gen* g, const trace_params* p) {
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100), end;
    uint32_t* holes = id_array(n);
    uint64_t rng = g->rng;
    one_bin_layout(g, n, 0, holes, &end); /* a dry pass for the capacity */
    g->rng = rng;
    fprintf(g->out, "capacity %llu\n", (unsigned long long)end);
    one_bin_layout(g, n, 1, holes, &end);
    for (uint64_t k = 0; k < n; k++) {
        gen_free(g, holes[k]);
    }
    static const uint64_t aligns[] = {256, 4096, 1, 65536};
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 64, aligns[i % 4]);
    }
    free(holes);
}

/* dust: N + 1 allocations of 3 B at 4 leave N one-byte front pads, smaller
 * than every request so far; then probes of 1 B at alignment 1. */
static void dust(gen* g, const trace_params* p) {
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100);
    fprintf(g->out, "capacity %llu\n", (unsigned long long)(4 * (n + 1) + 4096));
    for (uint64_t k = 0; k <= n; k++) {
        gen_alloc(g, 3, 4);
    }
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 1, 1);
    }
}

/* dust-ladder: N + 1 allocations of 2^32 - 1 B at 2^32 leave N one-byte pads
 * (dust for a core that keeps regions below every request so far apart);
 * then requests of 2^30, 2^29, ..., 2 B, each smaller than every one before,
 * then probes of 1 B. A core that re-sorts its dust whenever the smallest
 * request falls pays for all of it at each step. */
static void dust_ladder(gen* g, const trace_params* p) {
    const uint64_t big = 1ull << 32;
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100);
    fprintf(g->out, "capacity %llu\n", (unsigned long long)((n + 3) * big));
    for (uint64_t k = 0; k <= n; k++) {
        gen_alloc(g, big - 1, big);
    }
    for (int s = 30; s >= 1; s--) {
        gen_alloc(g, 1ull << s, 1);
    }
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 1, 1);
    }
}

/* fail-fragmented: N free regions of 1..4,096 B (uniform) between one-byte
 * allocations, filling the whole pool; then probes larger than any free
 * region (4,097..8,192 B) at alignments 1, 16, 256 and 4096 in turn: all fail. */
static void fail_fragmented_layout(gen* g, uint64_t n, int emit, uint32_t* holes,
                                   uint64_t* out_end) {
    uint64_t end = 1;
    if (emit) {
        gen_alloc(g, 1, 1);
    }
    for (uint64_t k = 0; k < n; k++) {
        uint64_t h = 1 + (uint64_t)gen_index(g, 4096);
        if (emit) {
            holes[k] = gen_alloc(g, h, 1);
            gen_alloc(g, 1, 1);
        }
        end += h + 1;
    }
    *out_end = end;
}

static void fail_fragmented(gen* g, const trace_params* p) {
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100), end;
    uint32_t* holes = id_array(n);
    uint64_t rng = g->rng;
    fail_fragmented_layout(g, n, 0, holes, &end);
    g->rng = rng;
    fprintf(g->out, "capacity %llu\n", (unsigned long long)end);
    fail_fragmented_layout(g, n, 1, holes, &end);
    for (uint64_t k = 0; k < n; k++) {
        gen_free(g, holes[k]);
    }
    static const uint64_t aligns[] = {1, 16, 256, 4096};
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, 4097 + (uint64_t)gen_index(g, 4096), aligns[i % 4]);
    }
    free(holes);
}

/* unaligned-ends: N free regions of log-uniform sizes 1 B..1 MiB - 4, one in
 * each 1 MiB window, starting 1 or 2 bytes into it so that every end is odd;
 * then probes of 1..2,056 B at alignments 16, 256, 4096, 65536 and 2^20 in
 * turn (the last ones fit only in the rest of the pool). */
static void unaligned_ends(gen* g, const trace_params* p) {
    const uint64_t window = 1ull << 20;
    uint64_t n = scaled(CRAFTED_REGIONS, p->scale, 1), probes = probe_count(p, 100);
    fprintf(g->out, "capacity %llu\n",
            (unsigned long long)(window * n + 1 + probes * (window + VMA_MAX_SIZE) + window));
    uint32_t* holes = id_array(n);
    uint64_t size = gen_loguniform(g, 1, (double)(window - 4));
    uint64_t lead = size % 2 == 0 ? 1 : 2; /* odd ends */
    gen_alloc(g, lead, 1);
    for (uint64_t k = 0; k < n; k++) {
        uint64_t next = gen_loguniform(g, 1, (double)(window - 4));
        uint64_t next_lead = k + 1 == n ? 1 : (next % 2 == 0 ? 1 : 2);
        holes[k] = gen_alloc(g, size, 1);
        gen_alloc(g, window - lead - size + next_lead, 1);
        size = next;
        lead = next_lead;
    }
    for (uint64_t k = 0; k < n; k++) {
        gen_free(g, holes[k]);
    }
    static const uint64_t aligns[] = {16, 256, 4096, 65536, 1ull << 20};
    for (uint64_t i = 0; i < probes; i++) {
        gen_alloc(g, vma_size(g), aligns[i % 5]);
    }
    free(holes);
}

/* ---- the table of kinds --------------------------------------------------- */

enum { TAKES_ALIGN = 1, TAKES_PROBES = 2 };

typedef struct workload {
    const char* name;
    const char* about;
    void (*run)(gen*, const trace_params*);
    int takes;
} workload;

static const workload workloads[] = {
    {"churn-uniform", "log-uniform sizes 64 B..256 KiB, 4-byte aligned, random frees, ~20k live",
     churn_uniform, 0},
    {"small-many", "a million live objects of 16 B..1 KiB at alignments 1/4/8/16", small_many, 0},
    {"mesh-stream", "vertex blocks at strides 12..48 plus index blocks, tiles in a sliding window",
     mesh_stream, 0},
    {"frame-ring", "256-byte aligned per-frame blocks freed 3 frames later, slow long-lived churn",
     frame_ring, 0},
    {"fragmenter", "adversarial: holes, then requests slightly larger than the holes", fragmenter,
     0},
    {"vma",
     "VMA-shaped: 7,200 allocs of 1..2,056 B in 2.5 x their sum, 14,400 random ops, all at "
     "--align A (default 1)",
     vma, TAKES_ALIGN},
    {"vma-mixed", "the VMA shape at alignments 1/4/16/64/256 and strides 12/24/48", vma_mixed, 0},
    {"vma-fail", "7,200 VMA allocs at --align A, the rest filled, --probes that all fail (pads)",
     vma_fail, TAKES_ALIGN | TAKES_PROBES},
    {"vma-fit", "7,200 VMA allocs at --align A, --probes that all succeed in the rest of the pool",
     vma_fit, TAKES_ALIGN | TAKES_PROBES},
    {"deep-bin", "crafted: frees that make the first core's size-1 treap a path, probes at 2^30",
     deep_bin, TAKES_PROBES},
    {"unaligned-holes",
     "crafted: holes of 1,000..1,999 B one byte past multiples of 4096, probes of 1,000 B at 4096",
     unaligned_holes, TAKES_PROBES},
    {"one-bin",
     "crafted: one bin of 64-byte regions at unaligned offsets, probes at 1 and failing at 256+",
     one_bin, TAKES_PROBES},
    {"dust", "crafted: one-byte pads smaller than any request so far, then probes of 1 B", dust,
     TAKES_PROBES},
    {"dust-ladder", "crafted: one-byte pads, then requests of 2^30, 2^29, ... 2, 1 B", dust_ladder,
     TAKES_PROBES},
    {"fail-fragmented", "crafted: regions of 1..4,096 B fill the pool, probes larger than any fail",
     fail_fragmented, TAKES_PROBES},
    {"unaligned-ends",
     "crafted: log-uniform regions up to 1 MiB, one per 1 MiB window, odd ends, probes at 16..2^20",
     unaligned_ends, TAKES_PROBES},
};

const char* const trace_workloads[] = {"churn-uniform",
                                       "small-many",
                                       "mesh-stream",
                                       "frame-ring",
                                       "fragmenter",
                                       "vma",
                                       "vma-mixed",
                                       "vma-fail",
                                       "vma-fit",
                                       "deep-bin",
                                       "unaligned-holes",
                                       "one-bin",
                                       "dust",
                                       "dust-ladder",
                                       "fail-fragmented",
                                       "unaligned-ends",
                                       NULL};

static const workload* find_workload(const char* name) {
    for (size_t i = 0; i < sizeof workloads / sizeof workloads[0]; i++) {
        if (strcmp(workloads[i].name, name) == 0) {
            return &workloads[i];
        }
    }
    return NULL;
}

const char* trace_workload_about(const char* name) {
    const workload* w = find_workload(name);
    return w ? w->about : NULL;
}

int trace_generate(const char* name, const trace_params* params, FILE* out) {
    const workload* w = find_workload(name);
    if (w == NULL) {
        return -1;
    }
    if ((params->align != 0 && !(w->takes & TAKES_ALIGN)) ||
        (params->probes >= 0 && !(w->takes & TAKES_PROBES))) {
        return -2;
    }
    gen g;
    memset(&g, 0, sizeof g);
    g.rng = params->seed * 0xD1B54A32D192ED03ull + 1;
    g.out = out;
    fprintf(out, "# %s seed=%llu scale=%g", name, (unsigned long long)params->seed, params->scale);
    if (params->align != 0) {
        fprintf(out, " align=%llu", (unsigned long long)params->align);
    }
    if (params->probes >= 0) {
        fprintf(out, " probes=%lld", (long long)params->probes);
    }
    fputc('\n', out);
    w->run(&g, params);
    free(g.live);
    free(g.pos);
    return 0;
}
