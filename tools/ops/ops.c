/* ops.c - the operation interpreter (see ops.h). Owns the run's state: the
 * allocator, the model, the live allocations sorted by offset, a counting
 * host heap whose Nth call can fail, and the byte source. Does not choose
 * how often to check or how long to run (the driver does).
 * Invariant: between operations the model, the live set and free_bytes
 * describe the allocator exactly, or the run has failed. */
#include "ops.h"

#include "oa_tool.h"
#include "ref_model.h"

#include <orderly/orderly.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPS_MAX_OPS 4096
#define OPS_DEAD 64     /* handles kept after free or reset, for double and stale frees */
#define OPS_COMB_MAX 64 /* hole and gap pairs of one comb */

/* ---- the byte source ---- */

typedef struct reader {
    const uint8_t* prefix;
    size_t prefix_n;
    const uint8_t* p; /* NULL: random bytes */
    size_t n, pos;    /* pos counts the prefix too */
    uint64_t rng, word;
    unsigned word_left;
} reader;

static uint8_t rd8(reader* r) {
    if (r->pos < r->prefix_n) {
        return r->prefix[r->pos++];
    }
    if (r->p == NULL) {
        r->pos++;
        if (r->word_left == 0) {
            r->word = oa_tool_splitmix64(&r->rng);
            r->word_left = 8;
        }
        r->word_left--;
        const uint8_t b = (uint8_t)r->word;
        r->word >>= 8;
        return b;
    }
    const size_t i = r->pos - r->prefix_n;
    if (i < r->n) {
        r->pos++;
        return r->p[i];
    }
    return 0;
}

/* `bytes` bytes, big-endian. */
static uint64_t rdn(reader* r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | rd8(r);
    }
    return v;
}

/* The next operation code: a byte, or with random bytes and a mix, a code
 * drawn by its weight. */
static uint8_t rd_op(reader* r, const uint8_t* mix) {
    if (mix == NULL || r->p != NULL || r->pos < r->prefix_n) {
        return rd8(r);
    }
    unsigned total = 0;
    for (int c = 0; c < OA_OPS_CODE_COUNT; c++) {
        total += mix[c];
    }
    r->pos++;
    unsigned pick = total == 0 ? 0 : (unsigned)(oa_tool_splitmix64(&r->rng) % total);
    for (int c = 0; c < OA_OPS_CODE_COUNT; c++) {
        if (pick < mix[c]) {
            return (uint8_t)c;
        }
        pick -= mix[c];
    }
    return 0;
}

/* Bytes left to read (random sources never run out). */
static bool rd_more(const reader* r) {
    return r->p == NULL || r->pos < r->prefix_n + r->n;
}

/* ---- host memory: counted, and one chosen call fails ---- */

typedef struct heap {
    uint64_t calls, failures, fail_at;
    size_t live_bytes;
} heap;

static void* heap_alloc(void* user, size_t size, size_t align) {
    heap* h = (heap*)user;
    h->calls++;
    if (h->calls == h->fail_at) {
        h->failures++;
        return NULL;
    }
    if (align < sizeof(void*)) {
        align = sizeof(void*);
    }
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p != NULL) {
        h->live_bytes += size;
    }
    return p;
}

static void heap_free(void* user, void* p, size_t size) {
    heap* h = (heap*)user;
    if (p != NULL) {
        h->live_bytes -= size;
    }
    free(p);
}

static void log_sink(void* user, oa_result result, const char* message) {
    int* bad = (int*)user;
    if (result >= 0 || message == NULL || message[0] == '\0') {
        (*bad)++;
    }
}

/* ---- the run ---- */

typedef struct live {
    oa_allocation h;
    uint64_t offset, size;
} live;

typedef struct ops_state {
    const oa_ops_info* info;
    oa_ops_result* out;
    reader in;
    oa_allocator* a;
    ref_model m;
    heap heap;
    size_t cap; /* of lv */
    int mode;   /* 0 growable, 1 fixed budget, 2 fixed caller memory */
    live* lv;   /* sorted by offset */
    size_t n;
    uint64_t free_bytes; /* the model's free bytes, kept up to date by every operation */
    uint64_t touched[2]; /* offsets the last operation changed, for the local check */
    int touched_count;
    uint64_t bulk_left; /* calls the combs and fills may still make (a bound on a run's cost) */
    oa_allocation dead[OPS_DEAD];
    size_t dead_count, dead_next;
    unsigned scale; /* sizes of the "scaled" classes stay below 2^scale */
    int shrinking;
    int bad_log;
    int op;
    const char* what;
    const char* name;
} ops_state;

#define FAIL(f, ...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "%s: op %d (%s): ", (f)->name, (f)->op, (f)->what);                        \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        return 1;                                                                                  \
    } while (0)

static void dead_push(ops_state* f, oa_allocation h) {
    f->dead[f->dead_next] = h;
    f->dead_next = (f->dead_next + 1) % OPS_DEAD;
    if (f->dead_count < OPS_DEAD) {
        f->dead_count++;
    }
}

static void touch(ops_state* f, uint64_t offset) {
    if (f->touched_count < 2) {
        f->touched[f->touched_count++] = offset;
    }
}

static size_t live_find_id(const ops_state* f, uint64_t id) {
    for (size_t i = 0; i < f->n; i++) {
        if (f->lv[i].h.id == id) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void live_insert(ops_state* f, live x) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (f->lv[mid].offset < x.offset) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    memmove(&f->lv[lo + 1], &f->lv[lo], (f->n - lo) * sizeof(live));
    f->lv[lo] = x;
    f->n++;
}

static void live_remove(ops_state* f, size_t i) {
    memmove(&f->lv[i], &f->lv[i + 1], (f->n - i - 1) * sizeof(live));
    f->n--;
}

/* Records free now (the core's own slots count: used + free regions). */
static uint64_t free_records(const ops_state* f) {
    oa_stats st;
    if (oa_get_stats(f->a, &st) != OA_SUCCESS) {
        return 0;
    }
    return st.region_capacity - st.allocation_count - st.free_region_count;
}

/* Index of the model's free span starting at `offset`, or SIZE_MAX. */
static size_t span_at(const ref_model* m, uint64_t offset) {
    for (size_t i = 0; i < m->count; i++) {
        if (m->free[i].offset == offset) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* Compare the result of an operation that the model says succeeds (needing
 * `need` new records, with `avail` free before it) with what the core did.
 * Returns 1 when the core's result is acceptable and it succeeded, 0 when it
 * acceptably failed for lack of metadata, -1 on divergence. */
static int judge(ops_state* f, oa_result got, uint32_t need, uint64_t avail,
                 uint64_t failures_before) {
    const int failed_now = f->heap.failures != failures_before;
    if (got == OA_SUCCESS) {
        return failed_now ? -1 : 1;
    }
    if (need <= avail) {
        return -1;
    }
    if (f->mode != 0) {
        return got == OA_ERROR_OUT_OF_METADATA && !failed_now ? 0 : -1;
    }
    return got == OA_ERROR_OUT_OF_HOST_MEMORY && failed_now ? 0 : -1;
}

static uint64_t pick_size(ops_state* f) {
    const uint8_t cls = rd8(&f->in);
    const uint64_t scaled = 1ull << f->scale;
    switch (cls % 10) {
    case 0:
        return 1 + rd8(&f->in) % 16;
    case 1:
        return 1 + rdn(&f->in, 2) % 1024;
    case 2:
    case 3:
    case 4:
        return 1 + rdn(&f->in, 3) % scaled;
    case 5:
        return 1 + rdn(&f->in, 8) % (f->m.capacity / 4 + 1);
    case 6:
    case 7: { /* exactly a free span's size, or a little off it: ties and near fits */
        if (f->m.count == 0) {
            return 1 + cls;
        }
        const ref_span* s = &f->m.free[rd8(&f->in) % f->m.count];
        const int delta = (int)(rd8(&f->in) % 5) - 2;
        if (cls % 10 == 6 || (delta < 0 && s->size <= (uint64_t)-delta)) {
            return s->size;
        }
        return s->size + (uint64_t)(int64_t)delta;
    }
    case 8:
        return UINT64_MAX - rd8(&f->in); /* overflow and out-of-space paths */
    default:
        return f->m.capacity == UINT64_MAX ? rdn(&f->in, 8) | 1
                                           : 1 + rdn(&f->in, 8) % (f->m.capacity + 1);
    }
}

static uint64_t pick_align(ops_state* f) {
    static const uint64_t odd[] = {3, 5, 12, 20, 24, 48, 96, 1000, 4095};
    const uint8_t cls = rd8(&f->in);
    switch (cls % 10) {
    case 0:
    case 1:
    case 2:
    case 3:
        return 1;
    case 4:
        return 1ull << (rd8(&f->in) % 13);
    case 5:
        return rd8(&f->in) % 64; /* 0 is rejected */
    case 6:
        return odd[rd8(&f->in) % (sizeof odd / sizeof odd[0])];
    case 7:
        return 1ull << (rd8(&f->in) % 64);
    case 8:
        return rdn(&f->in, 8) | 1;
    default:
        return 1 + rdn(&f->in, 3);
    }
}

static int free_id(ops_state* f, oa_allocation h);

/* oa_alloc(size, align) against the model. *out: the new handle, or id 0
 * when the allocation failed as it may (no space, or no metadata where the
 * model says a record is due). Returns 1 on divergence. */
static int alloc_checked(ops_state* f, uint64_t size, uint64_t align, oa_allocation* out) {
    out->id = 0;
    const uint64_t failures = f->heap.failures, avail = free_records(f);
    oa_result expect;
    size_t i = 0;
    uint64_t expect_off = OA_NO_OFFSET;
    uint32_t need = 0;
    if (size == 0 || align == 0) {
        expect = OA_ERROR_INVALID_ARGUMENT;
    } else if (size - 1 > UINT64_MAX - align) {
        expect = OA_ERROR_OVERFLOW;
    } else {
        expect_off = ref_find(&f->m, size, align, &i);
        expect = expect_off == UINT64_MAX ? OA_ERROR_OUT_OF_SPACE : OA_SUCCESS;
        if (expect == OA_SUCCESS) {
            const ref_span s = f->m.free[i];
            need = (uint32_t)(expect_off != s.offset) +
                   (uint32_t)(expect_off + size != s.offset + s.size);
        }
    }
    oa_allocation h = {12345};
    uint64_t off = 0;
    const oa_result got = oa_alloc(f->a, size, align, &h, &off);
    if (got != OA_SUCCESS && (h.id != 0 || off != OA_NO_OFFSET)) {
        FAIL(f, "failed alloc left id %" PRIu64 " offset %" PRIu64, h.id, off);
    }
    if (expect != OA_SUCCESS) {
        if (got != expect) {
            FAIL(f, "alloc(%" PRIu64 ", %" PRIu64 ") = %s, model %s", size, align,
                 oa_result_name(got), oa_result_name(expect));
        }
        f->out->refused += got == OA_ERROR_OUT_OF_SPACE;
        return 0;
    }
    const int verdict = judge(f, got, need, avail, failures);
    if (verdict < 0) {
        FAIL(f,
             "alloc(%" PRIu64 ", %" PRIu64 ") = %s, model succeeds at %" PRIu64
             " (need %u of %" PRIu64 " records)",
             size, align, oa_result_name(got), expect_off, need, avail);
    }
    f->out->oom[OA_OPS_ALLOC] += verdict == 0;
    if (verdict == 1) {
        for (size_t d = 0; d < f->dead_count; d++) {
            if (f->dead[d].id == h.id) {
                FAIL(f, "alloc handed out 0x%" PRIx64 ", a stale handle: it must stay stale", h.id);
            }
        }
        if (off != expect_off) {
            FAIL(f, "alloc(%" PRIu64 ", %" PRIu64 ") at %" PRIu64 ", model says %" PRIu64, size,
                 align, off, expect_off);
        }
        ref_carve(&f->m, i, off, size);
        live_insert(f, (live){h, off, size});
        f->free_bytes -= size;
        touch(f, off);
        *out = h;
    }
    return 0;
}

static int op_alloc(ops_state* f) {
    f->what = "alloc";
    const uint64_t size = pick_size(f), align = pick_align(f);
    if (f->n == f->cap) { /* the driver's budget of live allocations: free one instead */
        f->what = "free (live budget reached)";
        return free_id(f, f->lv[(size_t)(size % f->n)].h);
    }
    oa_allocation h;
    return alloc_checked(f, size, align, &h);
}

/* Free by id: a live handle must succeed, anything else is stale. */
static int free_id(ops_state* f, oa_allocation h) {
    const size_t k = live_find_id(f, h.id);
    const oa_result got = oa_free(f->a, h);
    const oa_result expect = h.id == 0 || k != SIZE_MAX ? OA_SUCCESS : OA_ERROR_STALE_HANDLE;
    if (got != expect) {
        FAIL(f, "free(0x%" PRIx64 ") = %s, expected %s", h.id, oa_result_name(got),
             oa_result_name(expect));
    }
    if (k != SIZE_MAX) {
        ref_free(&f->m, f->lv[k].offset, f->lv[k].size);
        f->free_bytes += f->lv[k].size;
        touch(f, f->lv[k].offset);
        live_remove(f, k);
        dead_push(f, h);
    }
    /* A handle that no longer exists is rejected by the other calls too. */
    if (h.id != 0 && oa_allocation_get(f->a, h, NULL, NULL) != OA_ERROR_STALE_HANDLE) {
        FAIL(f, "a freed handle still answers oa_allocation_get");
    }
    return 0;
}

static int op_free(ops_state* f, int kind) {
    const uint8_t pick = rd8(&f->in);
    oa_allocation h = {0};
    switch (kind) {
    case 0: /* valid */
        f->what = "free";
        if (f->n == 0) {
            return 0;
        }
        h = f->lv[pick % f->n].h;
        break;
    case 1: /* double or stale (after reset) */
        f->what = "double free";
        if (f->dead_count == 0) {
            return 0;
        }
        h = f->dead[pick % f->dead_count];
        break;
    default: /* forged: bytes from the input, or a live handle with a bit flipped */
        f->what = "forged free";
        if (f->n != 0 && pick % 2 == 0) {
            h.id = f->lv[rd8(&f->in) % f->n].h.id ^ (1ull << (rd8(&f->in) % 64));
        } else {
            h.id = rdn(&f->in, 8);
        }
        break;
    }
    return free_id(f, h);
}

static int op_resize(ops_state* f) {
    f->what = "try_resize";
    if (f->n == 0) {
        return 0;
    }
    const size_t k = rd8(&f->in) % f->n;
    const live x = f->lv[k];
    const uint8_t how = rd8(&f->in);
    uint64_t ns;
    switch (how % 6) {
    case 0:
        ns = 0; /* invalid */
        break;
    case 1:
        ns = x.size;
        break;
    case 2:
        ns = 1 + rdn(&f->in, 3) % x.size; /* shrink */
        break;
    case 3: { /* exactly to the end of the following free span */
        const size_t s = span_at(&f->m, x.offset + x.size);
        ns = x.size + (s != SIZE_MAX ? f->m.free[s].size : 1);
        break;
    }
    case 4:
        ns = UINT64_MAX - rd8(&f->in);
        break;
    default:
        ns = x.size + rdn(&f->in, 3);
        break;
    }
    const uint64_t failures = f->heap.failures, avail = free_records(f);
    const oa_result got = oa_try_resize(f->a, x.h, ns);
    if (ns == 0) {
        if (got != OA_ERROR_INVALID_ARGUMENT) {
            FAIL(f, "try_resize to 0 = %s", oa_result_name(got));
        }
        return 0;
    }
    const size_t s = span_at(&f->m, x.offset + x.size);
    if (ns > x.size) {
        const int fits = s != SIZE_MAX && f->m.free[s].size >= ns - x.size;
        if (got != (fits ? OA_SUCCESS : OA_ERROR_OUT_OF_SPACE)) {
            FAIL(f, "grow %" PRIu64 " -> %" PRIu64 " = %s, model fits=%d", x.size, ns,
                 oa_result_name(got), fits);
        }
        f->out->refused += !fits;
        if (fits) {
            ref_carve(&f->m, s, x.offset + x.size, ns - x.size);
            f->lv[k].size = ns;
            f->free_bytes -= ns - x.size;
            touch(f, x.offset);
        }
        return 0;
    }
    if (ns == x.size) {
        if (got != OA_SUCCESS) {
            FAIL(f, "resize to the same size = %s", oa_result_name(got));
        }
        return 0;
    }
    const int verdict = judge(f, got, s == SIZE_MAX ? 1u : 0u, avail, failures);
    if (verdict < 0) {
        FAIL(f, "shrink %" PRIu64 " -> %" PRIu64 " = %s", x.size, ns, oa_result_name(got));
    }
    f->out->oom[OA_OPS_SHRINK] += verdict == 0;
    if (verdict == 1) {
        ref_free(&f->m, x.offset + ns, x.size - ns);
        f->lv[k].size = ns;
        f->free_bytes += x.size - ns;
        touch(f, x.offset);
    }
    return 0;
}

static int grow_checked(ops_state* f, uint64_t add);

static int op_grow(ops_state* f) {
    f->what = "grow_capacity";
    const uint8_t cls = rd8(&f->in);
    uint64_t add;
    switch (cls % 4) {
    case 0:
        add = 0;
        break;
    case 1:
        add = UINT64_MAX - f->m.capacity + 1 - (rd8(&f->in) % 2); /* overflow by 1, or fill */
        break;
    default:
        add = rdn(&f->in, 2 + cls % 3);
        break;
    }
    return grow_checked(f, add);
}

/* oa_grow_capacity(add) against the model. Returns 1 on divergence. */
static int grow_checked(ops_state* f, uint64_t add) {
    const uint64_t failures = f->heap.failures, avail = free_records(f);
    const oa_result got = oa_grow_capacity(f->a, add);
    if (add > UINT64_MAX - f->m.capacity) {
        if (got != OA_ERROR_OVERFLOW) {
            FAIL(f, "grow by %" PRIu64 " past 2^64 = %s", add, oa_result_name(got));
        }
        return 0;
    }
    if (add == 0) {
        if (got != OA_SUCCESS) {
            FAIL(f, "grow by 0 = %s", oa_result_name(got));
        }
        return 0;
    }
    const int tail_free =
        f->m.count > 0 &&
        f->m.free[f->m.count - 1].offset + f->m.free[f->m.count - 1].size == f->m.capacity;
    const int verdict = judge(f, got, tail_free ? 0u : 1u, avail, failures);
    if (verdict < 0) {
        FAIL(f, "grow by %" PRIu64 " = %s", add, oa_result_name(got));
    }
    f->out->oom[OA_OPS_GROW] += verdict == 0;
    if (verdict == 1) {
        ref_grow_capacity(&f->m, add);
        f->free_bytes += add;
        if (f->n != 0) {
            touch(f, f->lv[f->n - 1].offset);
        }
    }
    return 0;
}

static void op_reset(ops_state* f) {
    f->what = "reset";
    oa_reset(f->a);
    const uint64_t cap = f->m.capacity;
    ref_destroy(&f->m);
    ref_init(&f->m, cap);
    f->free_bytes = cap;
    for (size_t i = 0; i < f->n; i++) {
        dead_push(f, f->lv[i].h);
    }
    f->n = 0;
}

typedef struct walk_state {
    const ops_state* f;
    size_t free_i, live_i;
    uint64_t next_offset;
    int bad;
} walk_state;

static bool walk_cb(void* user, const oa_region_info* r) {
    walk_state* w = (walk_state*)user;
    const ops_state* f = w->f;
    if (r->offset != w->next_offset || r->size == 0) {
        w->bad = 1;
        return false;
    }
    w->next_offset = r->offset + r->size;
    if (r->is_free) {
        if (r->allocation.id != 0 || w->free_i >= f->m.count ||
            f->m.free[w->free_i].offset != r->offset || f->m.free[w->free_i].size != r->size) {
            w->bad = 2;
            return false;
        }
        w->free_i++;
    } else {
        if (w->live_i >= f->n || f->lv[w->live_i].offset != r->offset ||
            f->lv[w->live_i].size != r->size || f->lv[w->live_i].h.id != r->allocation.id) {
            w->bad = 3;
            return false;
        }
        w->live_i++;
    }
    return true;
}

/* A live allocation answers oa_allocation_get with the model's place. */
static int check_live(ops_state* f, size_t i) {
    const live* x = &f->lv[i];
    uint64_t off = 0, size = 0;
    if (oa_allocation_get(f->a, x->h, &off, &size) != OA_SUCCESS || off != x->offset ||
        size != x->size) {
        FAIL(f,
             "oa_allocation_get(0x%" PRIx64 ") disagrees with the model (%" PRIu64 "+%" PRIu64 ")",
             x->h.id, x->offset, x->size);
    }
    return 0;
}

/* The counters against the model. O(free spans) for the largest one. */
static int check_stats(ops_state* f) {
    oa_stats st;
    if (oa_get_stats(f->a, &st) != OA_SUCCESS) {
        FAIL(f, "oa_get_stats failed");
    }
    const uint64_t regions = st.allocation_count + st.free_region_count;
    f->out->peak_regions = regions > f->out->peak_regions ? regions : f->out->peak_regions;
    f->out->peak_live = f->n > f->out->peak_live ? f->n : f->out->peak_live;
    const uint64_t largest = ref_largest_free(&f->m);
    if (st.capacity != f->m.capacity || st.free_size != f->free_bytes ||
        st.largest_free_size != largest || st.free_region_count != f->m.count ||
        st.allocation_count != f->n) {
        FAIL(f,
             "stats disagree: capacity %" PRIu64 "/%" PRIu64 " free %" PRIu64 "/%" PRIu64
             " largest %" PRIu64 "/%" PRIu64 " regions %" PRIu64 "/%zu allocations %" PRIu64 "/%zu",
             st.capacity, f->m.capacity, st.free_size, f->free_bytes, st.largest_free_size, largest,
             st.free_region_count, f->m.count, st.allocation_count, f->n);
    }
    if (f->bad_log != 0) {
        FAIL(f, "the log callback got a non-error result or an empty message");
    }
    return 0;
}

/* After every operation: the counters, and the live allocations at and next
 * to the offsets the operation changed. O(log n) plus check_stats. */
static int verify_local(ops_state* f) {
    if (check_stats(f) != 0) {
        return 1;
    }
    for (int t = 0; t < f->touched_count; t++) {
        size_t lo = 0, hi = f->n;
        while (lo < hi) {
            const size_t mid = (lo + hi) / 2;
            if (f->lv[mid].offset < f->touched[t]) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        for (size_t i = lo > 0 ? lo - 1 : 0; i < f->n && i <= lo + 1; i++) {
            if (check_live(f, i) != 0) {
                return 1;
            }
        }
    }
    f->touched_count = 0;
    return 0;
}

/* The whole state against the model: checker, stats, every region and every
 * live handle. O(n log n). */
static int verify_full(ops_state* f) {
    f->out->full_checks++;
    const oa_result c = oa_allocator_check(f->a);
    if (c != OA_SUCCESS) {
        FAIL(f, "oa_allocator_check: %s", oa_result_name(c));
    }
    if (f->free_bytes != ref_total_free(&f->m)) {
        FAIL(f, "the harness lost count of the free bytes");
    }
    walk_state w = {f, 0, 0, 0, 0};
    if (oa_walk(f->a, OA_WALK_ALL, walk_cb, &w) != OA_SUCCESS || w.bad != 0 ||
        w.free_i != f->m.count || w.live_i != f->n || w.next_offset != f->m.capacity) {
        FAIL(f, "regions differ from the model (kind %d after %zu free, %zu live)", w.bad, w.free_i,
             w.live_i);
    }
    /* Live ranges are disjoint and inside the pool (the walk saw them tile it). */
    for (size_t i = 0; i + 1 < f->n; i++) {
        if (f->lv[i].offset + f->lv[i].size > f->lv[i + 1].offset) {
            FAIL(f, "live allocations %zu and %zu overlap", i, i + 1);
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        if (check_live(f, i) != 0) {
            return 1;
        }
    }
    return check_stats(f);
}

/* A comb: `count` pairs of a gap and a hole allocated in turn at alignment
 * 1, then the holes freed. That leaves many free regions of one small size
 * close together, whose offsets differ in their low bits (the lowest levels
 * of an exact-size bin), and then one request a little below the holes'
 * size at an alignment most of them miss. Random operations rarely build
 * this: it takes dozens of allocations of one size in a row. */
static int op_comb(ops_state* f) {
    static const uint64_t aligns[] = {2, 4, 8, 16, 32, 64, 256, 4096, 3, 6, 12, 24, 48};
    const uint64_t hole = 1 + rd8(&f->in) % 40, gap = 1 + rd8(&f->in) % 8;
    size_t count = 4 + rd8(&f->in) % (OPS_COMB_MAX - 3);
    const uint64_t align = aligns[rd8(&f->in) % (sizeof aligns / sizeof aligns[0])];
    const uint64_t less = rd8(&f->in) % (hole < 4 ? hole : 4);
    if (2 * count > f->cap - f->n) {
        count = (f->cap - f->n) / 2;
    }
    if (f->bulk_left == 0) {
        return 0;
    }
    if (3 * count + 1 > f->bulk_left) {
        count = (size_t)((f->bulk_left - 1) / 3);
    }
    f->bulk_left -= 3 * count + 1; /* the pairs, the frees and the request */
    oa_allocation holes[OPS_COMB_MAX];
    size_t k = 0;
    for (size_t i = 0; i < count; i++) {
        oa_allocation g, h;
        f->what = "comb: a gap";
        if (alloc_checked(f, gap, 1, &g) != 0 || verify_local(f) != 0) {
            return 1;
        }
        f->what = "comb: a hole";
        if (alloc_checked(f, hole, 1, &h) != 0 || verify_local(f) != 0) {
            return 1;
        }
        if (h.id != 0) {
            holes[k++] = h;
        }
    }
    f->what = "comb: free a hole";
    for (size_t i = 0; i < k; i++) {
        if (free_id(f, holes[i]) != 0 || verify_local(f) != 0) {
            return 1;
        }
    }
    f->what = "comb: the request";
    oa_allocation probe;
    return f->n < f->cap ? alloc_checked(f, hole - less, align, &probe) : 0;
}

/* The pool grown to the next power of two, every free span then allocated
 * whole, and a few bytes added: a free region above every offset the pool
 * held when its top bit last moved, in a pool with nothing else free. */
static int op_grow_pow2(ops_state* f) {
    f->what = "grow to a power of two";
    const uint64_t cap = f->m.capacity;
    if (cap >= 1ull << 62) {
        return 0;
    }
    uint64_t next = 1;
    while (next < cap) {
        next <<= 1;
    }
    if (next > cap && (grow_checked(f, next - cap) != 0 || verify_local(f) != 0)) {
        return 1;
    }
    f->what = "fill the pool";
    for (size_t spans = f->m.count;
         spans > 0 && f->m.count > 0 && f->n < f->cap && f->bulk_left > 0; spans--) {
        f->bulk_left--;
        oa_allocation h; /* the lowest span is the lowest of its size: it goes whole */
        if (alloc_checked(f, f->m.free[0].size, 1, &h) != 0 || verify_local(f) != 0) {
            return 1;
        }
        if (h.id == 0) {
            break;
        }
    }
    f->what = "grow a full pool";
    return grow_checked(f, 1 + rd8(&f->in) % 48);
}

static int create(ops_state* f, void** memory) {
    const uint8_t mode = rd8(&f->in);
    f->mode = mode % 4 == 3 ? 2 : mode % 4 == 2 ? 1 : 0;
    f->shrinking = (mode & 0x4) != 0;
    const uint8_t cap_cls = rd8(&f->in);
    uint64_t capacity;
    switch (cap_cls % 8) {
    case 0:
    case 1:
    case 2:
        capacity = 1 + rdn(&f->in, 2);
        break;
    case 3:
    case 4:
        capacity = 1 + rdn(&f->in, 3);
        break;
    case 5:
        capacity = 1 + rdn(&f->in, 5);
        break;
    case 6:
        capacity = UINT64_MAX - rd8(&f->in);
        break;
    default:
        capacity = 1 + rdn(&f->in, 8) % UINT64_MAX;
        break;
    }
    const uint8_t table = rd8(&f->in);
    f->scale = 4 + rd8(&f->in) % 28;
    oa_allocator_info info = {.capacity = capacity};
    info.callbacks.alloc = heap_alloc;
    info.callbacks.free = heap_free;
    info.callbacks.user = &f->heap;
    info.log = log_sink;
    info.log_user = &f->bad_log;
    if (f->mode == 0) {
        info.initial_regions = 1u + table % 8;
        if (!f->info->driver_fails) {
            f->heap.fail_at =
                (mode & 0x8) != 0 ? f->heap.calls + 1 : 0; /* the table allocation itself */
        }
    } else {
        info.max_regions = f->info->max_regions != 0 ? f->info->max_regions : 2u + table;
    }
    if (f->mode == 2) {
        const size_t bytes = oa_allocator_memory_size(info.max_regions);
        *memory = aligned_alloc(16, (bytes + 15) / 16 * 16);
        info.memory = *memory;
        info.memory_size = bytes;
    }
    oa_result r = oa_allocator_create(&info, &f->a);
    if (r == OA_ERROR_OUT_OF_HOST_MEMORY && f->heap.failures == 1) {
        if (f->a != NULL || f->heap.live_bytes != 0) {
            FAIL(f, "a failed create left an allocator or %zu bytes", f->heap.live_bytes);
        }
        f->out->oom[OA_OPS_CREATE]++;
        r = oa_allocator_create(&info, &f->a);
    }
    if (r != OA_SUCCESS) {
        FAIL(f, "oa_allocator_create(capacity %" PRIu64 ", mode %d) = %s", capacity, f->mode,
             oa_result_name(r));
    }
    ref_init(&f->m, capacity);
    f->free_bytes = capacity;
    return 0;
}

/* One operation, chosen by the next byte. */
static int step(ops_state* f) {
    const uint8_t code = rd_op(&f->in, f->info->op_mix);
    switch (code % OA_OPS_CODE_COUNT) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
        return op_alloc(f);
    case 7:
    case 8:
    case 9:
    case 10:
        return op_free(f, 0);
    case 11:
        return op_free(f, 1);
    case 12:
        return op_free(f, 2);
    case 13:
    case 14:
        return op_resize(f);
    case 15:
        return op_grow(f);
    case 16:
        switch (rd8(&f->in) % 4) {
        case 0:
            op_reset(f);
            return 0;
        case 1:
            return op_comb(f);
        case 2:
            return op_grow_pow2(f);
        default:
            return 0;
        }
    case 17: { /* fail a later host allocation (growable mode only has any) */
        f->what = "arm failure";
        const uint64_t at = f->heap.calls + 1 + rd8(&f->in) % 3;
        if (!f->info->driver_fails) {
            f->heap.fail_at = at;
        }
        return 0;
    }
    case 18: /* smaller requests from now on: free spans sink below the dust limit */
        f->what = "shrink sizes";
        f->scale = f->scale > 1 ? f->scale - 1 - rd8(&f->in) % 2 : 1;
        return 0;
    default:
        f->what = "free id 0";
        return free_id(f, (oa_allocation){0});
    }
}

int oa_ops_run(const oa_ops_info* info, oa_ops_result* out) {
    oa_ops_result scratch;
    out = out != NULL ? out : &scratch;
    memset(out, 0, sizeof *out);
    ops_state* f = (ops_state*)calloc(1, sizeof *f);
    if (f == NULL) {
        fprintf(stderr, "%s: out of memory\n", info->name != NULL ? info->name : "ops");
        return 1;
    }
    f->info = info;
    f->out = out;
    f->name = info->name != NULL ? info->name : "ops";
    f->in = (reader){info->prefix, info->prefix_size, info->bytes, info->size, 0, info->seed, 0, 0};
    f->heap.fail_at = info->driver_fails ? info->fail_at : 0;
    f->what = "create";
    f->op = -1;
    const uint64_t max_ops = info->max_ops != 0 ? info->max_ops : OPS_MAX_OPS;
    f->bulk_left = 4 * max_ops;
    /* Every operation reads at least one byte: no more live allocations than
     * input bytes (sized to the input, since ASan poisons all of it). */
    f->cap = info->max_live;
    if (f->cap == 0) {
        const uint64_t bound = info->bytes != NULL && info->size < max_ops ? info->size : max_ops;
        f->cap = (size_t)bound + 1;
    }
    f->lv = (live*)malloc(sizeof(live) * f->cap);
    void* memory = NULL;
    int fail = f->lv == NULL ? 1 : create(f, &memory);
    const uint64_t calls_after_create = f->heap.calls;
    const unsigned every = info->full_every != 0 ? info->full_every : 1;
    for (f->op = 0; !fail && rd_more(&f->in) && (uint64_t)f->op < max_ops; f->op++) {
        fail = step(f);
        if (f->shrinking && f->op % 48 == 47 && f->scale > 1) {
            f->scale--;
        }
        if (!fail) {
            fail = (unsigned)f->op % every == every - 1 ? verify_full(f) : verify_local(f);
        }
    }
    out->ops = f->op < 0 ? 0 : (uint64_t)f->op;
    if (!fail && f->a != NULL) {
        fail = verify_full(f); /* after the last operation */
    }
    if (!fail && f->mode != 0 && f->heap.calls != calls_after_create) {
        fprintf(stderr, "%s: fixed mode called the allocator %" PRIu64 " times\n", f->name,
                f->heap.calls - calls_after_create);
        fail = 1;
    }
    /* Free everything: the whole capacity comes back as one region at 0. */
    if (!fail && f->a != NULL) {
        f->what = "free all";
        while (!fail && f->n > 0) {
            fail = free_id(f, f->lv[f->n - 1].h);
        }
        oa_stats st;
        if (!fail && (oa_get_stats(f->a, &st) != OA_SUCCESS || st.free_region_count != 1 ||
                      st.free_size != f->m.capacity || oa_allocator_check(f->a) != OA_SUCCESS)) {
            fprintf(stderr, "%s: after freeing everything the pool is not whole\n", f->name);
            fail = 1;
        }
    }
    out->capacity = f->m.capacity;
    out->mode = f->mode;
    oa_allocator_destroy(f->a);
    free(memory);
    if (!fail && f->heap.live_bytes != 0) {
        fprintf(stderr, "%s: %zu bytes of metadata leaked\n", f->name, f->heap.live_bytes);
        fail = 1;
    }
    out->heap_calls = f->heap.calls;
    out->heap_failures = f->heap.failures;
    ref_destroy(&f->m);
    free(f->lv);
    free(f);
    return fail;
}
