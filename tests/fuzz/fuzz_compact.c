/* fuzz_compact.c - libFuzzer target for compaction passes.
 * The input bytes are a header (memory mode, capacity, granularity) and a
 * stream of operations: alloc (any size and alignment, some pinned), free,
 * try_resize, reset, and compaction passes (begin with limits from the
 * input, then commit or abort), with allocs, frees, resizes and resets also
 * while a pass is open. The pool is simulated as a byte array: every
 * allocation's bytes hold a pattern, each move's bytes are copied before
 * commit as a GPU would, and after every commit or abort every live
 * allocation still holds its pattern. After every operation the checker
 * passes, every allocation the fuzzer holds is live with its size and
 * alignment, and every handle it freed stays stale. A pass left alone by the
 * caller never moves a pinned allocation, moves only toward the start into
 * bytes that overlap no source, keeps its limits, and never leaves the
 * largest free region smaller. Divergence aborts (a libFuzzer finding);
 * fuzz_compact_run() returns it instead for the replay main
 * (fuzz_compact_replay, which runs corpus-compact/ in ctest). With bit 0x10
 * of the mode byte the allocator records (oa_allocator_info.record): at the
 * end the recording must parse (tools/trace) and replay on a fresh
 * allocator to every recorded result and offset, and to the same regions.
 * With libFuzzer:
 *   clang -fsanitize=fuzzer,address,undefined -Ilib/include -Ilib/src/core \
 *       -Itools/trace lib/src/core/[a-z]*.c tools/trace/trace.c \
 *       tests/fuzz/fuzz_compact.c -o fuzz_compact */
#include "fuzz_compact.h"
#include "fuzz_reader.h"
#include "fuzz_target.h"

#include "orderly/orderly.h"
#include "trace.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FC_MAX_OPS 2048
#define FC_MAX_LIVE 512
#define FC_MAX_DEAD 64
#define FC_MAX_MOVES 16

typedef struct fc_live {
    oa_allocation h;
    uint64_t size, align, offset; /* offset as last known */
    bool pinned;
} fc_live;

typedef struct fc_state {
    oa_allocator* a;
    uint64_t capacity;
    uint8_t* pool;
    fc_live live[FC_MAX_LIVE];
    uint32_t live_count;
    oa_allocation dead[FC_MAX_DEAD];
    uint32_t dead_count, dead_next;
    oa_compact_move moves[FC_MAX_MOVES];
    uint32_t move_count;
    bool pass_open, pass_touched; /* the caller changed the allocator during the pass */
    uint64_t largest_before;
    oa_compact_limits limits;
    uint8_t* memory;
    char* rec; /* the recording, when the mode records */
    size_t rec_length, rec_capacity;
    const char* error;
} fc_state;

/* The recorder's sink (the fuzzer's own heap, never the allocator's). */
static void fc_record(void* user, const char* text, size_t length) {
    fc_state* s = (fc_state*)user;
    if (s->rec_length + length > s->rec_capacity) {
        size_t cap = (s->rec_capacity + length) * 2;
        char* grown = (char*)realloc(s->rec, cap);
        if (grown == NULL) {
            abort();
        }
        s->rec = grown;
        s->rec_capacity = cap;
    }
    memcpy(s->rec + s->rec_length, text, length);
    s->rec_length += length;
}

/* Regions of an allocator in address order, for comparing two of them. */
typedef struct fc_regions {
    uint64_t offset[3 * FC_MAX_LIVE + 64], size[3 * FC_MAX_LIVE + 64];
    bool is_free[3 * FC_MAX_LIVE + 64];
    uint32_t count;
    bool overflow;
} fc_regions;

static bool fc_collect(void* user, const oa_region_info* r) {
    fc_regions* g = (fc_regions*)user;
    if (g->count == sizeof g->offset / sizeof g->offset[0]) {
        g->overflow = true;
        return false;
    }
    g->offset[g->count] = r->offset;
    g->size[g->count] = r->size;
    g->is_free[g->count] = r->is_free;
    g->count++;
    return true;
}

static bool fc_host_result(int32_t r) {
    return r == OA_ERROR_OUT_OF_METADATA || r == OA_ERROR_OUT_OF_HOST_MEMORY;
}

/* Replays trace `t` on `b`; returns what differs from the record, or NULL. */
static const char* fc_replay(oa_allocator* b, const trace* t, oa_allocation* h) {
    for (size_t i = 0; i < t->op_count; i++) {
        const trace_op* op = &t->ops[i];
        const trace_rec* rec = &t->rec[i];
        uint64_t off = OA_NO_OFFSET;
        oa_result r = OA_SUCCESS;
        switch ((trace_kind)op->kind) {
        case TRACE_ALLOC:
            if (fc_host_result(rec->result)) {
                break;
            }
            r = oa_alloc(b, op->size, op->align, &h[op->id], &off);
            if ((int32_t)r != rec->result || off != rec->expect) {
                return "an A line replays to another result or offset";
            }
            break;
        case TRACE_FREE:
            if (rec->result == 0 && oa_free(b, h[op->id]) != OA_SUCCESS) {
                return "an F line's free fails in the replay";
            }
            break;
        case TRACE_RESIZE:
            if (!fc_host_result(rec->result) && rec->result != OA_ERROR_STALE_HANDLE &&
                rec->result != OA_ERROR_INVALID_ARGUMENT &&
                (int32_t)oa_try_resize(b, h[op->id], op->size) != rec->result) {
                return "an R line replays to another result";
            }
            break;
        case TRACE_GROW:
            if (!fc_host_result(rec->result) &&
                (int32_t)oa_grow_capacity(b, op->size) != rec->result) {
                return "a G line replays to another result";
            }
            break;
        case TRACE_RESET:
            oa_reset(b);
            break;
        case TRACE_PLACE:
            if (oa_alloc_at(b, rec->expect, op->size, &h[op->id]) != OA_SUCCESS) {
                return "a P line's bytes are not free in the replay";
            }
            break;
        case TRACE_MOVE: {
            oa_allocation tmp = h[op->id];
            h[op->id] = h[rec->other];
            h[rec->other] = tmp;
            if (oa_allocation_get(b, h[op->id], &off, NULL) != OA_SUCCESS || off != op->size) {
                return "an M line's allocation is not at its new offset in the replay";
            }
            break;
        }
        case TRACE_PLAIN:
            return "a recording holds an 'a' or 'f' record";
        }
    }
    return oa_allocator_check(b) == OA_SUCCESS ? NULL : "the replay fails the checker";
}

/* The recording parses, replays to every recorded result and offset, and
 * leaves the regions the live allocator has. */
static void fc_check_recording(fc_state* s) {
    trace t;
    char err[256];
    if (trace_parse(s->rec, s->rec_length, &t, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_compact: %s\n", err);
        s->error = "the recording does not parse";
        return;
    }
    oa_allocator_info info;
    memset(&info, 0, sizeof info);
    info.capacity = t.capacity;
    info.granularity = t.granularity;
    oa_allocator* b = NULL;
    oa_allocation* h = (oa_allocation*)calloc((size_t)t.id_count + 1, sizeof *h);
    fc_regions* live = (fc_regions*)calloc(2, sizeof *live);
    if (h == NULL || live == NULL || oa_allocator_create(&info, &b) != OA_SUCCESS) {
        abort();
    }
    const char* why = t.rec == NULL && t.op_count != 0 ? "a recording without records" : NULL;
    if (why == NULL && t.rec != NULL) {
        why = fc_replay(b, &t, h);
    }
    if (why == NULL && (oa_walk(s->a, OA_WALK_ALL, fc_collect, &live[0]) != OA_SUCCESS ||
                        oa_walk(b, OA_WALK_ALL, fc_collect, &live[1]) != OA_SUCCESS ||
                        live[0].overflow || live[1].overflow)) {
        why = "walking the regions failed";
    }
    if (why == NULL &&
        (live[0].count != live[1].count ||
         memcmp(live[0].offset, live[1].offset, live[0].count * sizeof(uint64_t)) != 0 ||
         memcmp(live[0].size, live[1].size, live[0].count * sizeof(uint64_t)) != 0 ||
         memcmp(live[0].is_free, live[1].is_free, live[0].count * sizeof(bool)) != 0)) {
        why = "the replay of the recording leaves other regions";
    }
    s->error = why;
    oa_allocator_destroy(b);
    free(h);
    free(live);
    trace_free(&t);
}

static uint8_t fc_pattern(uint64_t id, uint64_t i) {
    uint64_t x = id * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
    return (uint8_t)(x >> 56);
}

static uint64_t fc_largest(const oa_allocator* a) {
    oa_stats st;
    return oa_get_stats(a, &st) == OA_SUCCESS ? st.largest_free_size : 0;
}

static void fc_bury(fc_state* s, oa_allocation h) {
    s->dead[s->dead_next] = h;
    s->dead_next = (s->dead_next + 1) % FC_MAX_DEAD;
    if (s->dead_count < FC_MAX_DEAD) {
        s->dead_count++;
    }
}

static bool fc_filter(void* user, const oa_region_info* r, uint64_t* io_align) {
    fc_state* s = (fc_state*)user;
    if (r->user >= s->live_count || s->live[r->user].h.id != r->allocation.id) {
        s->error = "the filter saw an allocation the fuzzer does not hold";
        return false;
    }
    const fc_live* l = &s->live[r->user];
    if (l->pinned) {
        return false;
    }
    *io_align = l->align;
    return true;
}

/* Remove live[i], keeping user words equal to indices. */
static bool fc_forget(fc_state* s, uint32_t i) {
    fc_bury(s, s->live[i].h);
    s->live_count--;
    if (i != s->live_count) {
        s->live[i] = s->live[s->live_count];
        if (oa_allocation_set_user(s->a, s->live[i].h, i) != OA_SUCCESS) {
            s->error = "set_user failed on a live allocation";
            return false;
        }
    }
    return true;
}

static bool fc_bytes_intact(fc_state* s) {
    for (uint32_t i = 0; i < s->live_count; i++) {
        const fc_live* l = &s->live[i];
        for (uint64_t k = 0; k < l->size; k++) {
            if (s->pool[l->offset + k] != fc_pattern(l->h.id, k)) {
                s->error = "a live allocation's bytes changed";
                return false;
            }
        }
    }
    return true;
}

/* Every held allocation is live where the fuzzer thinks, with its size,
 * user word and alignment; every buried handle is stale. */
static bool fc_consistent(fc_state* s) {
    if (oa_allocator_check(s->a) != OA_SUCCESS) {
        s->error = "oa_allocator_check failed";
        return false;
    }
    for (uint32_t i = 0; i < s->live_count; i++) {
        const fc_live* l = &s->live[i];
        uint64_t off, size;
        uint32_t user;
        if (oa_allocation_get(s->a, l->h, &off, &size) != OA_SUCCESS || size != l->size ||
            off != l->offset || off % l->align != 0 ||
            oa_allocation_get_user(s->a, l->h, &user) != OA_SUCCESS || user != i) {
            s->error = "a held allocation is lost or changed";
            return false;
        }
    }
    for (uint32_t i = 0; i < s->dead_count; i++) {
        if (oa_allocation_get(s->a, s->dead[i], NULL, NULL) != OA_ERROR_STALE_HANDLE) {
            s->error = "a freed handle came back";
            return false;
        }
    }
    if (oa_compact_is_open(s->a) != s->pass_open) {
        s->error = "oa_compact_is_open disagrees";
        return false;
    }
    return true;
}

static bool fc_alloc(fc_state* s, reader* r) {
    static const uint64_t aligns[8] = {1, 1, 2, 4, 12, 16, 64, 256};
    uint8_t op = rd8(r);
    uint64_t size = 1 + rdn(r, 2) % (op & 0x80 ? s->capacity : 256);
    uint64_t align = aligns[op & 7];
    oa_allocation h;
    uint64_t off;
    if (s->live_count == FC_MAX_LIVE || oa_alloc(s->a, size, align, &h, &off) != OA_SUCCESS) {
        return true;
    }
    uint64_t got;
    if (oa_allocation_get(s->a, h, NULL, &got) != OA_SUCCESS) {
        s->error = "a new allocation is not live";
        return false;
    }
    fc_live* l = &s->live[s->live_count];
    l->h = h;
    l->size = got; /* rounded up to the granularity */
    l->align = align;
    l->offset = off;
    l->pinned = (op & 0x38) == 0x38;
    if (oa_allocation_set_user(s->a, h, s->live_count) != OA_SUCCESS) {
        s->error = "set_user failed";
        return false;
    }
    s->live_count++;
    for (uint64_t k = 0; k < got; k++) {
        s->pool[off + k] = fc_pattern(h.id, k);
    }
    if (s->pass_open) {
        s->pass_touched = true;
    }
    return true;
}

static bool fc_free(fc_state* s, reader* r) {
    uint8_t pick = rd8(r);
    if (s->pass_open && (pick & 0x80) && s->move_count > 0) {
        /* Free a reservation: its move is cancelled. */
        oa_result res = oa_free(s->a, s->moves[pick % s->move_count].reserved);
        if (res != OA_SUCCESS && res != OA_ERROR_STALE_HANDLE) {
            s->error = "freeing a reservation failed oddly";
            return false;
        }
        s->pass_touched = true;
        return true;
    }
    if (s->live_count == 0) {
        return true;
    }
    uint32_t i = pick % s->live_count;
    if (oa_free(s->a, s->live[i].h) != OA_SUCCESS) {
        s->error = "oa_free of a live allocation failed";
        return false;
    }
    if (s->pass_open) {
        s->pass_touched = true;
    }
    return fc_forget(s, i);
}

static bool fc_resize(fc_state* s, reader* r) {
    uint8_t pick = rd8(r);
    uint64_t new_size = 1 + rdn(r, 2) % 512;
    if (s->live_count == 0) {
        return true;
    }
    fc_live* l = &s->live[pick % s->live_count];
    if (oa_try_resize(s->a, l->h, new_size) == OA_SUCCESS) {
        uint64_t got;
        if (oa_allocation_get(s->a, l->h, NULL, &got) != OA_SUCCESS) {
            s->error = "a resized allocation is not live";
            return false;
        }
        for (uint64_t k = l->size; k < got; k++) {
            s->pool[l->offset + k] = fc_pattern(l->h.id, k);
        }
        l->size = got;
        if (s->pass_open) {
            s->pass_touched = true;
        }
    }
    return true;
}

static void fc_reset(fc_state* s) {
    oa_reset(s->a);
    for (uint32_t i = 0; i < s->live_count; i++) {
        fc_bury(s, s->live[i].h);
    }
    s->live_count = 0;
    if (s->pass_open) {
        s->pass_touched = true;
    }
}

static bool fc_begin(fc_state* s, reader* r) {
    uint8_t b = rd8(r);
    oa_compact_limits lim;
    memset(&lim, 0, sizeof lim);
    lim.max_moves = b & 15;
    lim.max_bytes = (b & 0x10) ? rdn(r, 2) : 0;
    lim.align = (b & 0x20) ? 1 + (rd8(r) & 7) : 0;
    lim.filter = fc_filter;
    lim.filter_user = s;
    uint32_t capacity = (b & 0x40) ? 1 + rd8(r) % FC_MAX_MOVES : FC_MAX_MOVES;
    uint64_t largest = fc_largest(s->a);
    uint32_t count = 77;
    oa_result res = oa_compact_begin(s->a, &lim, s->moves, capacity, &count);
    if (s->pass_open) {
        if (res != OA_ERROR_INVALID_ARGUMENT || count != 0) {
            s->error = "a second pass opened";
            return false;
        }
        return true;
    }
    if (res == OA_ERROR_OUT_OF_METADATA || res == OA_ERROR_OUT_OF_HOST_MEMORY) {
        if (count != 0 || fc_largest(s->a) != largest) {
            s->error = "a failed begin changed something";
            return false;
        }
        return true;
    }
    if (res != OA_SUCCESS || s->error != NULL) {
        s->error = s->error ? s->error : "oa_compact_begin failed";
        return false;
    }
    uint32_t max_moves = lim.max_moves != 0 && lim.max_moves < capacity ? lim.max_moves : capacity;
    if (count > max_moves) {
        s->error = "more moves than the limit";
        return false;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < count; i++) {
        const oa_compact_move* m = &s->moves[i];
        uint32_t user;
        if (oa_allocation_get_user(s->a, m->allocation, &user) != OA_SUCCESS ||
            user >= s->live_count || s->live[user].h.id != m->allocation.id) {
            s->error = "a move names an allocation the fuzzer does not hold";
            return false;
        }
        const fc_live* l = &s->live[user];
        uint64_t align = lim.align != 0 ? lim.align : 1;
        if (l->pinned || m->size != l->size || m->old_offset != l->offset ||
            m->new_offset >= m->old_offset || m->new_offset % l->align != 0 ||
            m->new_offset % align != 0) {
            s->error = "a move is pinned, misaligned, backward or misnamed";
            return false;
        }
        for (uint32_t k = 0; k < count; k++) {
            const oa_compact_move* o = &s->moves[k];
            bool over_src =
                m->new_offset < o->old_offset + o->size && o->old_offset < m->new_offset + m->size;
            bool over_dst = k != i && m->new_offset < o->new_offset + o->size &&
                            o->new_offset < m->new_offset + m->size;
            if (over_src || over_dst) {
                s->error = "a destination overlaps a source or another destination";
                return false;
            }
        }
        bytes += m->size;
    }
    if (lim.max_bytes != 0 && bytes > lim.max_bytes) {
        s->error = "more bytes than the limit";
        return false;
    }
    s->move_count = count;
    s->pass_open = count > 0;
    s->pass_touched = false;
    s->largest_before = largest;
    return true;
}

static bool fc_end(fc_state* s, bool commit) {
    if (!s->pass_open) {
        if ((commit ? oa_compact_commit(s->a) : oa_compact_abort(s->a)) != OA_SUCCESS) {
            s->error = "commit or abort with no pass failed";
            return false;
        }
        return true;
    }
    /* The copy: only moves whose allocation and reservation are as begin
     * left them take effect, and only those are copied. */
    bool will_move[FC_MAX_MOVES];
    for (uint32_t i = 0; i < s->move_count; i++) {
        const oa_compact_move* m = &s->moves[i];
        uint64_t so, ss, ro, rs;
        will_move[i] = commit && oa_allocation_get(s->a, m->allocation, &so, &ss) == OA_SUCCESS &&
                       oa_allocation_get(s->a, m->reserved, &ro, &rs) == OA_SUCCESS &&
                       so == m->old_offset && ss == m->size && ro == m->new_offset && rs == m->size;
        if (will_move[i]) {
            memcpy(s->pool + m->new_offset, s->pool + m->old_offset, m->size);
        }
    }
    oa_result res = commit ? oa_compact_commit(s->a) : oa_compact_abort(s->a);
    s->pass_open = false;
    if (res != OA_SUCCESS) {
        s->error = "commit or abort failed";
        return false;
    }
    for (uint32_t i = 0; i < s->move_count; i++) {
        const oa_compact_move* m = &s->moves[i];
        if (oa_allocation_get(s->a, m->reserved, NULL, NULL) != OA_ERROR_STALE_HANDLE) {
            s->error = "a reservation outlived its pass";
            return false;
        }
        uint32_t user;
        if (oa_allocation_get_user(s->a, m->allocation, &user) != OA_SUCCESS) {
            continue; /* freed during the pass */
        }
        if (user >= s->live_count || s->live[user].h.id != m->allocation.id) {
            s->error = "a moved allocation lost its user word";
            return false;
        }
        if (will_move[i]) {
            s->live[user].offset = m->new_offset;
            memset(s->pool + m->old_offset, 0xA5, m->size);
        }
    }
    /* Scribbling freed old bytes may have hit a later move's new bytes only
     * if they overlapped, which begin's checks ruled out; rewrite anyway the
     * moved allocations' patterns from their new place to catch a wrong
     * offset through the other allocations. */
    for (uint32_t i = 0; i < s->move_count; i++) {
        if (will_move[i]) {
            const oa_compact_move* m = &s->moves[i];
            for (uint64_t k = 0; k < m->size; k++) {
                if (s->pool[m->new_offset + k] != fc_pattern(m->allocation.id, k)) {
                    s->error = "a moved allocation's new bytes were overwritten";
                    return false;
                }
            }
        }
    }
    if (commit && !s->pass_touched && fc_largest(s->a) < s->largest_before) {
        s->error = "a pass left the largest free region smaller";
        return false;
    }
    if (!commit && !s->pass_touched && fc_largest(s->a) != s->largest_before) {
        s->error = "abort did not restore the largest free region";
        return false;
    }
    return fc_bytes_intact(s);
}

int fuzz_compact_run(const uint8_t* data, size_t size) {
    reader r = {data, size, 0};
    fc_state* s = (fc_state*)calloc(1, sizeof(fc_state));
    if (s == NULL) {
        return 1;
    }
    uint8_t mode = rd8(&r);
    s->capacity = 1 + rdn(&r, 2) % 16384;
    oa_allocator_info info;
    memset(&info, 0, sizeof info);
    info.capacity = s->capacity;
    info.granularity = (mode & 0x0C) == 0x0C ? 1 + (rd8(&r) & 3) : 0;
    if (mode & 1) {
        info.max_regions = 2 + rd8(&r);
        if (mode & 2) {
            info.memory_size = oa_allocator_memory_size(info.max_regions);
            s->memory = (uint8_t*)aligned_alloc(16, (info.memory_size + 15) / 16 * 16);
            info.memory = s->memory;
        }
    } else {
        info.initial_regions = 1 + rd8(&r) % 64;
    }
    if (mode & 0x10) {
        info.record = fc_record;
        info.record_user = s;
    }
    s->pool = (uint8_t*)calloc(s->capacity, 1);
    if (s->pool == NULL || oa_allocator_create(&info, &s->a) != OA_SUCCESS) {
        s->error = "oa_allocator_create failed";
    }
    for (int op = 0; op < FC_MAX_OPS && s->error == NULL && r.pos < r.n; op++) {
        bool ok = true;
        switch (rd8(&r) % 10) {
        case 0:
        case 1:
        case 2:
            ok = fc_alloc(s, &r);
            break;
        case 3:
        case 4:
            ok = fc_free(s, &r);
            break;
        case 5:
            ok = fc_resize(s, &r);
            break;
        case 6:
            if (rd8(&r) < 16) {
                fc_reset(s);
            }
            break;
        case 7:
            ok = fc_begin(s, &r);
            break;
        case 8:
            ok = fc_end(s, true);
            break;
        default:
            ok = fc_end(s, rd8(&r) & 1);
            break;
        }
        if (ok) {
            fc_consistent(s);
        }
    }
    if (s->error == NULL && s->pass_open) {
        fc_end(s, true);
        if (s->error == NULL) {
            fc_consistent(s);
        }
    }
    if (s->error == NULL && (mode & 0x10)) {
        fc_check_recording(s);
    }
    int failed = s->error != NULL;
    if (failed) {
        fprintf(stderr, "fuzz_compact: %s\n", s->error);
    }
    oa_allocator_destroy(s->a);
    free(s->rec);
    free(s->memory);
    free(s->pool);
    free(s);
    return failed;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (fuzz_compact_run(data, size) != 0) {
        abort();
    }
    return 0;
}

/* The replay main's interface (fuzz_target.h). This target checks everything
 * after every operation, so the full-check period is not read. */
const char fuzz_target_name[] = "fuzz_compact";
unsigned fuzz_full_every = 1;

int fuzz_target_run(const uint8_t* data, size_t size) {
    return fuzz_compact_run(data, size);
}
