/* fuzz_vk.c - libFuzzer target for the Vulkan buffer manager over a fake
 * device. The input bytes are a header (device limits, memory types, manager
 * flags, pools, a staging ring) and then a stream of operations: alloc at any
 * size and alignment, free now, free deferred, collect with any value,
 * uploads through the stager and writes through mapped pointers, flush and
 * invalidate with any offset and size, walk, dump, tags, stale and forged
 * handles, compaction passes (pinning, limits, abort or record and
 * collect, the model following every move), and Vulkan and host
 * allocation failures armed for a later call.
 * The fake device (tests/vk/vk_fake_device.h, shared with the tests) keeps
 * every VkDeviceMemory as host bytes and executes vkCmdCopyBuffer when it is
 * recorded, so the harness knows what every range
 * holds: each new range is filled with its own bytes, and the model (a copy
 * of each range's bytes) must match the device memory after every operation
 * for the ranges it touched, and for every live and pending range at the full
 * check (every fuzz_full_every operations and after the last), with a walk of
 * every pool against the model (ranges at their offsets, pending flags, tags,
 * regions tiling each block) and the pool counters. The fake flags any call
 * out of bounds (copies, maps, flushes not rounded to atoms or past the
 * memory, binds past the memory, allocations above the limits), and at the
 * end nothing may be left: no buffer, memory, mapping or host byte.
 * The harness steps around no known issue of the Vulkan layer any more (the
 * size limits and the NULL + 0 of an empty walk or dump are fixed).
 * Not thread-safe (the fake device is global). Divergence aborts (a
 * libFuzzer finding); fuzz_target_run() returns it for the replay main. */
#include "fuzz_reader.h"
#include "fuzz_target.h"
#include "oa_test_heap.h"
#include "oa_test_rng.h"
#include "vk_fake_device.h"

#include <orderly/orderly_vk.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FV_MAX_OPS 2048
#define FV_MAX_RANGES 256
#define FV_MAX_POOLS 3
#define FV_DEAD 32
#define FV_FULL_EVERY 16
#define FV_MEMORY_CAP (8u << 20) /* the fake refuses memory beyond this */
#define FV_MAX_BLOCK (16u << 10)

const char fuzz_target_name[] = "fuzz_vk";
unsigned fuzz_full_every = FV_FULL_EVERY;

/* A plain loop instead of memcmp: libFuzzer hooks it and records every
 * call, which made the content checks most of the run. */
static bool same_bytes(const uint8_t* a, const uint8_t* b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x, y;
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y) {
            return false;
        }
    }
    for (; i < n; i++) {
        if (a[i] != b[i]) {
            return false;
        }
    }
    return true;
}

static void log_sink(void* user, oa_vk_result result, const char* message) {
    int* bad = (int*)user;
    if (result == OA_VK_SUCCESS || message == NULL || message[0] == '\0') {
        (*bad)++;
    }
}

/* ---- the model ---- */

typedef struct fv_range {
    oa_vk_range_info r; /* as oa_vk_alloc returned it */
    int pool;           /* index into fz.pools */
    bool pending;
    bool queued; /* stager uploads not yet recorded */
    uint64_t value;
    uint32_t tag;
    uint64_t align;   /* the alignment asked for: a move must keep it */
    bool pinned;      /* oa_vk_range_set_pinned: never moves */
    uint8_t* content; /* what the range holds: r.size bytes */
} fv_range;

typedef struct fv_upload {
    uint64_t id; /* range handle */
    VkDeviceSize offset, size;
    uint8_t* data;
} fv_upload;

typedef struct fv_pool {
    oa_vk_pool handle;
    oa_vk_pool_info info;
    bool non_coherent; /* the pool's memory needs flushes (type or manager flag) */
    VkDeviceSize alignment, block_size;
} fv_pool;

typedef struct fz {
    reader in;
    oa_vk_manager* m;
    oa_vk_stager* stager;
    uint32_t manager_flags;
    oa_test_heap heap;
    fv_pool pools[FV_MAX_POOLS];
    int pool_count;
    fv_range* rv;
    int n;
    fv_upload* up;
    int up_count;
    oa_vk_range dead[FV_DEAD];
    int dead_count, dead_next;
    uint64_t frame; /* last value the stager recorded */
    uint64_t rng;
    int bad_log;
    int op;
    const char* what;
    char* text; /* dump buffer */
} fz;

#define FAIL(f, ...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, "fuzz_vk: op %d (%s): ", (f)->op, (f)->what);                              \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        return 1;                                                                                  \
    } while (0)

static uint64_t next_random(fz* f) {
    return splitmix64(&f->rng);
}

/* Bytes that differ from any other fill's: a Weyl sequence from a random
 * start (one add per word; the content checks need distinct, not random). */
static void fill_random(fz* f, uint8_t* p, size_t size) {
    uint64_t v = next_random(f);
    size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        memcpy(p + i, &v, 8);
        v += 0x9E3779B97F4A7C15ull;
    }
    memcpy(p + i, &v, size - i);
}

/* The device bytes of a range, through its buffer's binding. */
static uint8_t* device_bytes(const oa_vk_range_info* r) {
    const fake_buffer* b = fake_buffer_of(r->buffer);
    return b->memory->bytes + b->bind_offset + r->offset;
}

static int find_range(const fz* f, uint64_t id) {
    for (int i = 0; i < f->n; i++) {
        if (f->rv[i].r.handle.id == id) {
            return i;
        }
    }
    return -1;
}

static void dead_push(fz* f, oa_vk_range h) {
    f->dead[f->dead_next] = h;
    f->dead_next = (f->dead_next + 1) % FV_DEAD;
    if (f->dead_count < FV_DEAD) {
        f->dead_count++;
    }
}

static void forget_range(fz* f, int i) {
    dead_push(f, f->rv[i].r.handle);
    free(f->rv[i].content);
    f->rv[i] = f->rv[--f->n];
}

/* Errors an operation may return when something it called was refused. */
static bool injected(const fz* f, uint64_t refusals, uint64_t host_failures) {
    return fake.refusals != refusals || f->heap.failures != host_failures;
}

static int check_content(fz* f, int i) {
    const fv_range* x = &f->rv[i];
    if (!same_bytes(device_bytes(&x->r), x->content, (size_t)x->r.size)) {
        FAIL(f, "range 0x%" PRIx64 " (%" PRIu64 " bytes at %" PRIu64 ") does not hold its bytes",
             x->r.handle.id, (uint64_t)x->r.size, (uint64_t)x->r.offset);
    }
    return 0;
}

/* Greatest common divisor and least common multiple, 0 past 2^32. */
static uint64_t gcd64(uint64_t a, uint64_t b) {
    while (b != 0) {
        const uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static uint64_t lcm32(uint64_t a, uint64_t b) {
    if (a == 0 || b == 0 || a > (1ull << 32) || b > (1ull << 32)) {
        return 0;
    }
    const uint64_t l = a / gcd64(a, b) * b;
    return l > (1ull << 32) ? 0 : l;
}

static uint64_t pick_size(fz* f, const fv_pool* p) {
    const uint8_t cls = rd8(&f->in);
    switch (cls % 8) {
    case 0:
        return 1 + rd8(&f->in) % 64;
    case 1:
    case 2:
        return 1 + rdn(&f->in, 2) % 4096;
    case 3: /* around the block size: exact fits, dedicated blocks */
        return p->block_size + (uint64_t)(int64_t)((int)(rd8(&f->in) % 65) - 48);
    case 4:
        return 1 + rdn(&f->in, 3) % (2 * p->block_size);
    case 5:
        return rd8(&f->in) % 2 == 0 ? 0 : UINT64_MAX - rd8(&f->in);
    case 6:
        return fake.max_buffer_size + rd8(&f->in) % 3 - 1;
    default:
        return 1 + rd8(&f->in) % 512;
    }
}

static uint64_t pick_align(fz* f) {
    static const uint64_t odd[] = {3, 12, 20, 24, 48, 96, 1000};
    const uint8_t cls = rd8(&f->in);
    switch (cls % 8) {
    case 0:
    case 1:
    case 2:
        return 1;
    case 3:
        return 1ull << (rd8(&f->in) % 13);
    case 4:
        return odd[rd8(&f->in) % (sizeof odd / sizeof odd[0])];
    case 5:
        return rd8(&f->in) % 2 == 0 ? 0 : (1ull << 32) + 1;
    case 6:
        return 1ull << (rd8(&f->in) % 34);
    default:
        return 1 + rd8(&f->in);
    }
}

/* Would a block for `size` bytes pass some heap's budget (the manager then
 * refuses it itself)? */
static bool over_budget(fz* f, uint64_t size, const fv_pool* p) {
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t count = 0;
    if (oa_vk_get_heap_stats(f->m, heaps, &count) != OA_VK_SUCCESS) {
        return false;
    }
    const uint64_t need = (size > p->block_size ? size : p->block_size) + OA_VK_CORRUPTION_MARGIN +
                          fake.limits.nonCoherentAtomSize + fake.requirement_alignment;
    for (uint32_t i = 0; i < count; i++) {
        if (heaps[i].usage + need > heaps[i].budget) {
            return true;
        }
    }
    return false;
}

/* The bytes a range of `size` holds in its block: the corruption margin, then
 * the pool's granularity (its range alignment). */
static uint64_t held_size(const fv_pool* p, uint64_t size) {
    uint64_t held =
        size + ((p->info.flags & OA_VK_POOL_CORRUPTION_CHECK) != 0 ? OA_VK_CORRUPTION_MARGIN : 0);
    return (held + p->alignment - 1) / p->alignment * p->alignment;
}

static int op_alloc(fz* f) {
    f->what = "alloc";
    if (f->pool_count == 0) {
        return 0;
    }
    const int pi = rd8(&f->in) % f->pool_count;
    const fv_pool* p = &f->pools[pi];
    const uint64_t size = pick_size(f, p), align = pick_align(f);
    const uint64_t refusals = fake.refusals, host = f->heap.failures;
    const int memories = fake.live_memories;
    oa_vk_range_info r;
    memset(&r, 0xA5, sizeof r);
    const oa_vk_result got = oa_vk_alloc(f->m, p->handle, size, align, &r);
    const uint64_t alignment = lcm32(p->alignment, align);
    oa_vk_result expect = OA_VK_SUCCESS;
    if (size == 0 || align == 0 || alignment == 0) {
        expect = OA_VK_ERROR_INVALID_ARGUMENT;
    } else if (size > fake.max_buffer_size || size > fake.max_allocation_size ||
               held_size(p, size) > (fake.max_buffer_size < fake.max_allocation_size
                                         ? fake.max_buffer_size
                                         : fake.max_allocation_size)) {
        /* What the range holds (margin, rounding) must fit the limits. */
        expect = OA_VK_ERROR_TOO_LARGE;
    }
    if (got != OA_VK_SUCCESS) {
        const oa_vk_range_info zero = {0};
        if (!same_bytes((const uint8_t*)&r, (const uint8_t*)&zero, sizeof r)) {
            FAIL(f, "a failed alloc left its range unzeroed");
        }
        bool ok = got == expect;
        if (expect == OA_VK_SUCCESS && !ok) {
            /* Why a valid request may fail: a refused call, the pool's block
             * limit, the device's allocation count, or a size that needs a
             * dedicated block the pool does not allow. */
            ok = (got < 0 && injected(f, refusals, host)) ||
                 (got == OA_VK_ERROR_OUT_OF_POOL_SPACE && p->info.max_block_count != 0) ||
                 (got == OA_VK_ERROR_OUT_OF_DEVICE_MEMORY && over_budget(f, size, p)) ||
                 (got == OA_VK_ERROR_TOO_MANY_ALLOCATIONS &&
                  (uint32_t)memories >= fake.limits.maxMemoryAllocationCount) ||
                 (got == OA_VK_ERROR_TOO_LARGE && (p->info.flags & OA_VK_POOL_NO_DEDICATED) != 0 &&
                  held_size(p, size) > p->block_size);
        }
        if (!ok) {
            FAIL(f, "alloc(pool %d, %" PRIu64 ", %" PRIu64 ") = %s, expected %s", pi, size, align,
                 oa_vk_result_name(got), oa_vk_result_name(expect));
        }
        return 0;
    }
    if (expect != OA_VK_SUCCESS) {
        FAIL(f, "alloc(pool %d, %" PRIu64 ", %" PRIu64 ") succeeded, expected %s", pi, size, align,
             oa_vk_result_name(expect));
    }
    const fake_buffer* b = fake_buffer_of(r.buffer);
    if (r.size != size || r.handle.id == 0 || r.pool.id != p->handle.id || r.tag != 0 ||
        r.offset % alignment != 0 || b == NULL || b->memory == NULL || r.offset > b->size ||
        size > b->size - r.offset || r.device_address != 0) {
        FAIL(f, "alloc(pool %d, %" PRIu64 ", %" PRIu64 ") gave a bad range (offset %" PRIu64 ")",
             pi, size, align, (uint64_t)r.offset);
    }
    const bool mapped = (p->info.flags & OA_VK_POOL_MAPPED) != 0;
    if (mapped ? r.mapped != (void*)device_bytes(&r) : r.mapped != NULL) {
        FAIL(f, "the range's mapped pointer is wrong");
    }
    for (int d = 0; d < f->dead_count; d++) {
        if (f->dead[d].id == r.handle.id) {
            FAIL(f, "alloc handed out 0x%" PRIx64 ", a handle that was stale: it must stay so",
                 r.handle.id);
        }
    }
    if (f->n == FV_MAX_RANGES || find_range(f, r.handle.id) >= 0) {
        if (f->n != FV_MAX_RANGES) {
            FAIL(f, "alloc handed out a live handle twice");
        }
        /* Model full: give it back at once. */
        const oa_vk_result fr = oa_vk_free(f->m, r.handle);
        if (fr != OA_VK_SUCCESS) {
            FAIL(f, "free of a new range = %s", oa_vk_result_name(fr));
        }
        return 0;
    }
    fv_range* x = &f->rv[f->n++];
    memset(x, 0, sizeof *x);
    x->r = r;
    x->pool = pi;
    x->align = align;
    x->content = (uint8_t*)malloc((size_t)size);
    if (x->content == NULL) {
        abort();
    }
    /* The application fills its range: through the mapped pointer if any,
     * else as the GPU would (the fake's memory). */
    fill_random(f, x->content, (size_t)size);
    memcpy(mapped ? (uint8_t*)r.mapped : device_bytes(&r), x->content, (size_t)size);
    return 0;
}

/* A handle for a free or flush: live, pending, dead or forged. Returns the
 * model index, or -1 for a handle that is not live (*pending set if it is
 * a pending one). */
static int pick_handle(fz* f, oa_vk_range* h, bool* pending) {
    const uint8_t k = rd8(&f->in);
    *pending = false;
    h->id = 0;
    if (k % 8 < 5 && f->n > 0) {
        const int i = rd8(&f->in) % f->n;
        *h = f->rv[i].r.handle;
        *pending = f->rv[i].pending;
        return f->rv[i].pending ? -1 : i;
    }
    if (k % 8 == 5 && f->dead_count > 0) {
        *h = f->dead[rd8(&f->in) % f->dead_count];
    } else if (k % 8 == 6 && f->n > 0) {
        /* A live handle with a generation bit flipped. (Not a slot bit: that
         * could name the stager's own ring range, live but not the model's.) */
        h->id = f->rv[rd8(&f->in) % f->n].r.handle.id ^ (1ull << (32 + rd8(&f->in) % 32));
    } else if (k % 8 == 7) {
        h->id = rdn(&f->in, 8);
    }
    const int i = find_range(f, h->id); /* a forged id may hit a live one */
    if (i >= 0) {
        *pending = f->rv[i].pending;
        return f->rv[i].pending ? -1 : i;
    }
    return -1;
}

static int record(fz* f);

static int op_free(fz* f, bool deferred) {
    f->what = deferred ? "free deferred" : "free";
    oa_vk_range h;
    bool pending;
    const int i = pick_handle(f, &h, &pending);
    /* The caller's contract: copies are recorded before their range goes. */
    if (i >= 0 && f->rv[i].queued) {
        if (record(f) != 0) {
            return 1;
        }
        if (f->rv[i].queued) {
            return 0; /* the record failed: the range stays */
        }
        f->what = deferred ? "free deferred" : "free";
    }
    const uint64_t value = deferred ? f->frame + rd8(&f->in) % 4 : 0;
    const uint64_t host = f->heap.failures;
    const oa_vk_result got = deferred ? oa_vk_free_deferred(f->m, h, value) : oa_vk_free(f->m, h);
    if (h.id == 0) {
        if (got != OA_VK_SUCCESS) {
            FAIL(f, "free of id 0 = %s", oa_vk_result_name(got));
        }
        return 0;
    }
    if (i < 0) {
        if (got != OA_VK_ERROR_STALE_HANDLE) {
            FAIL(f, "free of a %s handle 0x%" PRIx64 " = %s", pending ? "pending" : "dead", h.id,
                 oa_vk_result_name(got));
        }
        return 0;
    }
    if (got != OA_VK_SUCCESS) {
        if (!(deferred && got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && f->heap.failures != host)) {
            FAIL(f, "free of a live range = %s", oa_vk_result_name(got));
        }
        return check_content(f, i);
    }
    if (deferred) {
        f->rv[i].pending = true;
        f->rv[i].value = value;
        return check_content(f, i);
    }
    forget_range(f, i);
    return 0;
}

static int collect_at(fz* f, uint64_t c);

static int op_collect(fz* f) {
    f->what = "collect";
    const uint8_t k = rd8(&f->in);
    uint64_t c;
    switch (k % 4) {
    case 0:
        c = f->frame;
        break;
    case 1:
        c = f->frame - rd8(&f->in) % 3;
        break;
    case 2:
        c = f->frame + rd8(&f->in) % 4;
        break;
    default:
        c = k % 8 == 3 ? UINT64_MAX : rdn(&f->in, 8);
        break;
    }
    return collect_at(f, c);
}

static int collect_at(fz* f, uint64_t c) {
    uint64_t freed = 12345;
    const oa_vk_result got = oa_vk_collect(f->m, c, &freed);
    if (got != OA_VK_SUCCESS) {
        FAIL(f, "collect(%" PRIu64 ") = %s", c, oa_vk_result_name(got));
    }
    uint32_t due = 0;
    for (int i = f->n - 1; i >= 0; i--) {
        if (f->rv[i].pending && f->rv[i].value <= c) {
            forget_range(f, i);
            due++;
        }
    }
    if (freed != due) {
        FAIL(f, "collect(%" PRIu64 ") freed %" PRIu64 " ranges, %u were due", c, freed, due);
    }
    if (f->stager != NULL) {
        const oa_vk_result sr = oa_vk_stager_collect(f->stager, c);
        if (sr != OA_VK_SUCCESS) {
            FAIL(f, "stager collect = %s", oa_vk_result_name(sr));
        }
    }
    return 0;
}

/* Record every queued upload: the fake runs the copies now. */
static int record(fz* f) {
    f->what = "stager record";
    if (f->stager == NULL) {
        return 0;
    }
    const uint64_t host = f->heap.failures;
    const oa_vk_result got = oa_vk_stager_record(f->stager, fake_command_buffer(), ++f->frame);
    if (got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && f->heap.failures != host) {
        /* Nothing recorded (its arrays could not grow): the copies stay
         * queued for the next record. (orderly_vk.h does not list this
         * result for oa_vk_stager_record.) */
        for (int i = 0; i < f->n; i++) {
            if (f->rv[i].queued && check_content(f, i) != 0) {
                return 1;
            }
        }
        return 0;
    }
    if (got != OA_VK_SUCCESS) {
        FAIL(f, "stager record = %s", oa_vk_result_name(got));
    }
    for (int u = 0; u < f->up_count; u++) {
        const int i = find_range(f, f->up[u].id);
        if (i < 0) {
            FAIL(f, "an upload outlived its range in the harness");
        }
        memcpy(f->rv[i].content + f->up[u].offset, f->up[u].data, (size_t)f->up[u].size);
        free(f->up[u].data);
    }
    f->up_count = 0;
    for (int i = 0; i < f->n; i++) {
        if (f->rv[i].queued) {
            f->rv[i].queued = false;
            if (check_content(f, i) != 0) {
                return 1;
            }
        }
    }
    return 0;
}

static int op_upload(fz* f) {
    f->what = "stager upload";
    if (f->stager == NULL || f->up_count == FV_MAX_RANGES) {
        return 0;
    }
    oa_vk_range h;
    bool pending;
    const int i = pick_handle(f, &h, &pending);
    uint64_t offset = 0, size = 1 + rd8(&f->in) * 16u;
    if (i >= 0) {
        const uint64_t rs = f->rv[i].r.size;
        offset = rd8(&f->in) % 4 == 0 ? rdn(&f->in, 2) : rdn(&f->in, 2) % rs;
        size = rd8(&f->in) % 4 == 0 ? rs - (offset < rs ? offset : 0) : size;
    }
    uint8_t* data = (uint8_t*)malloc((size_t)size);
    if (data == NULL) {
        abort();
    }
    fill_random(f, data, (size_t)size);
    const uint64_t refusals = fake.refusals, host = f->heap.failures;
    VkDeviceSize queued = 12345;
    const oa_vk_result got = oa_vk_stager_upload(f->stager, h, offset, data, size, &queued);
    oa_vk_result expect = OA_VK_SUCCESS;
    if (i < 0) {
        expect = OA_VK_ERROR_STALE_HANDLE;
    } else if ((f->pools[f->rv[i].pool].info.usage & VK_BUFFER_USAGE_TRANSFER_DST_BIT) == 0 ||
               offset > f->rv[i].r.size || size > f->rv[i].r.size - offset) {
        expect = OA_VK_ERROR_INVALID_ARGUMENT;
    }
    const bool partial = got == OA_VK_INCOMPLETE || (got < 0 && injected(f, refusals, host));
    if (got != expect && !(expect == OA_VK_SUCCESS && partial)) {
        free(data);
        FAIL(f, "upload(0x%" PRIx64 ", %" PRIu64 ", %" PRIu64 ") = %s, expected %s", h.id, offset,
             size, oa_vk_result_name(got), oa_vk_result_name(expect));
    }
    if (expect != OA_VK_SUCCESS) {
        free(data);
        return 0;
    }
    /* A failure part way (a refused flush or host allocation) keeps the
     * pieces queued before it: *out_queued_size says how much. */
    if (queued > size || (got == OA_VK_SUCCESS && queued != size)) {
        free(data);
        FAIL(f, "upload queued %" PRIu64 " of %" PRIu64 " bytes with %s", (uint64_t)queued, size,
             oa_vk_result_name(got));
    }
    if (queued == 0) {
        free(data);
        return check_content(f, i);
    }
    f->up[f->up_count++] = (fv_upload){h.id, offset, queued, data};
    f->rv[i].queued = true;
    /* Nothing reaches the range before the record. */
    return check_content(f, i);
}

/* The application writes through the mapped pointer and flushes. */
static int op_write(fz* f) {
    f->what = "write and flush";
    oa_vk_range h;
    bool pending;
    const int i = pick_handle(f, &h, &pending);
    if (i < 0 || f->rv[i].r.mapped == NULL || f->rv[i].queued) {
        return 0;
    }
    fv_range* x = &f->rv[i];
    const uint64_t offset = rdn(&f->in, 2) % x->r.size;
    const uint64_t size = 1 + rdn(&f->in, 2) % (x->r.size - offset);
    fill_random(f, x->content + offset, (size_t)size);
    memcpy((uint8_t*)x->r.mapped + offset, x->content + offset, (size_t)size);
    const uint64_t refusals = fake.refusals;
    const oa_vk_result got = oa_vk_flush(f->m, h, offset, size);
    if (got != OA_VK_SUCCESS && !(got < 0 && fake.refusals != refusals)) {
        FAIL(f, "flush after a write = %s", oa_vk_result_name(got));
    }
    return check_content(f, i);
}

static int op_sync(fz* f) {
    const bool flush = rd8(&f->in) % 2 == 0;
    f->what = flush ? "flush" : "invalidate";
    oa_vk_range h;
    bool pending;
    const int i = pick_handle(f, &h, &pending);
    uint64_t offset = rd8(&f->in) % 4 == 0 ? rdn(&f->in, 3) : rd8(&f->in);
    uint64_t size = rd8(&f->in) % 3 == 0 ? VK_WHOLE_SIZE : rdn(&f->in, 2);
    const uint64_t refusals = fake.refusals, syncs = fake.calls[FAKE_SYNC];
    const oa_vk_result got =
        flush ? oa_vk_flush(f->m, h, offset, size) : oa_vk_invalidate(f->m, h, offset, size);
    oa_vk_result expect = OA_VK_SUCCESS;
    const fv_range* x = i >= 0 ? &f->rv[i] : NULL;
    if (x == NULL) {
        expect = OA_VK_ERROR_STALE_HANDLE;
    } else if (x->r.mapped == NULL) {
        expect = OA_VK_ERROR_NOT_MAPPED;
    } else {
        if (size == VK_WHOLE_SIZE && offset <= x->r.size) {
            size = x->r.size - offset;
        }
        if (offset > x->r.size || size > x->r.size - offset) {
            expect = OA_VK_ERROR_INVALID_ARGUMENT;
        }
    }
    if (got != expect && !(expect == OA_VK_SUCCESS && got < 0 && fake.refusals != refusals)) {
        FAIL(f, "%s(0x%" PRIx64 ", %" PRIu64 ", %" PRIu64 ") = %s, expected %s", f->what, h.id,
             offset, size, oa_vk_result_name(got), oa_vk_result_name(expect));
    }
    if (got == OA_VK_SUCCESS && size != 0 && f->pools[x->pool].non_coherent) {
        /* The memory range the device saw covers the bytes asked for. */
        const VkMappedMemoryRange* s = &fake.last_sync;
        const fake_buffer* b = fake_buffer_of(x->r.buffer);
        const uint64_t begin = b->bind_offset + x->r.offset + offset;
        if (fake.calls[FAKE_SYNC] != syncs + 1 || s->memory != (VkDeviceMemory)(void*)b->memory ||
            s->offset > begin || s->offset + s->size < begin + size) {
            FAIL(f,
                 "%s of [%" PRIu64 ", +%" PRIu64 ") reached the device as [%" PRIu64 ", +%" PRIu64
                 ")",
                 f->what, begin, size, (uint64_t)s->offset, (uint64_t)s->size);
        }
    }
    return x != NULL ? check_content(f, i) : 0;
}

static bool fv_overlap(VkDeviceSize a, VkDeviceSize an, VkDeviceSize b, VkDeviceSize bn) {
    return a < b + bn && b < a + an;
}

/* A compaction pass of a random pool, ended within the op: begin with any
 * limits and capacity, then abort, or record on the fake (which copies at
 * once) and collect the pass's value. Moves must go down (or into another
 * block), keep the range's alignment, never overlap one another in any
 * buffer, never take a pinned or pending
 * range; the model follows every moved range to its new place, where its
 * bytes must be. A moved range cannot be freed at once before the collect. */
static int op_compact(fz* f) {
    f->what = "compact";
    if (f->pool_count == 0) {
        return 0;
    }
    const int pi = rd8(&f->in) % f->pool_count;
    const fv_pool* p = &f->pools[pi];
    const uint8_t k = rd8(&f->in);
    if ((k & 1) != 0 && f->n > 0) {
        const int i = rd8(&f->in) % f->n;
        const bool pin = (k & 2) != 0;
        const oa_vk_result pr = oa_vk_range_set_pinned(f->m, f->rv[i].r.handle, pin);
        const oa_vk_result expect = f->rv[i].pending ? OA_VK_ERROR_STALE_HANDLE : OA_VK_SUCCESS;
        if (pr != expect) {
            FAIL(f, "set_pinned(0x%" PRIx64 ") = %s, expected %s", f->rv[i].r.handle.id,
                 oa_vk_result_name(pr), oa_vk_result_name(expect));
        }
        if (pr == OA_VK_SUCCESS) {
            f->rv[i].pinned = pin;
        }
    }
    const oa_vk_compact_limits limits = {.max_bytes = rdn(&f->in, 2) * 16,
                                         .max_moves = rd8(&f->in) % 8};
    oa_vk_compact_move moves[16];
    const uint32_t cap = 1 + rd8(&f->in) % 16;
    uint32_t n = 99;
    const uint64_t refusals = fake.refusals, host = f->heap.failures;
    oa_vk_result got = oa_vk_compact_begin(f->m, p->handle, &limits, moves, cap, &n, NULL);
    const VkBufferUsageFlags both =
        VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    if ((p->info.usage & both) != both) {
        if (got != OA_VK_ERROR_INVALID_ARGUMENT || n != 0) {
            FAIL(f, "compact_begin of a pool without transfer usage = %s (%u moves)",
                 oa_vk_result_name(got), n);
        }
        return 0;
    }
    if (got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && injected(f, refusals, host)) {
        if (n != 0) {
            FAIL(f, "a failed compact_begin reported %u moves", n);
        }
        return 0;
    }
    if (got == OA_VK_NOT_NEEDED && n == 0) {
        return 0;
    }
    if (got != OA_VK_SUCCESS || n == 0 || n > cap ||
        (limits.max_moves != 0 && n > limits.max_moves)) {
        FAIL(f, "compact_begin(pool %d, cap %u, max_moves %u) = %s with %u moves", pi, cap,
             limits.max_moves, oa_vk_result_name(got), n);
    }
    int idx[16];
    for (uint32_t a = 0; a < n; a++) {
        const oa_vk_compact_move* mv = &moves[a];
        const int i = find_range(f, mv->range.id);
        if (i < 0 || f->rv[i].pending || f->rv[i].pinned || f->rv[i].pool != pi) {
            FAIL(f, "move %u names range 0x%" PRIx64 ": not a live unpinned range of pool %d", a,
                 mv->range.id, pi);
        }
        const fv_range* x = &f->rv[i];
        const uint64_t alignment = lcm32(p->alignment, x->align);
        /* Within a block a move goes down; into another block, anywhere. */
        if (mv->old_buffer != x->r.buffer || mv->old_offset != x->r.offset ||
            (mv->new_buffer == mv->old_buffer && mv->new_offset >= mv->old_offset) ||
            alignment == 0 || mv->new_offset % alignment != 0 || mv->size < x->r.size) {
            FAIL(f,
                 "move %u of range 0x%" PRIx64 " (%" PRIu64 " -> %" PRIu64 ", %" PRIu64
                 " bytes, align %" PRIu64 ") is wrong",
                 a, mv->range.id, (uint64_t)mv->old_offset, (uint64_t)mv->new_offset,
                 (uint64_t)mv->size, alignment);
        }
        for (uint32_t b = 0; b < a; b++) {
            const oa_vk_compact_move* o = &moves[b];
            if ((mv->new_buffer == o->new_buffer &&
                 fv_overlap(mv->new_offset, mv->size, o->new_offset, o->size)) ||
                (mv->new_buffer == o->old_buffer &&
                 fv_overlap(mv->new_offset, mv->size, o->old_offset, o->size)) ||
                (mv->old_buffer == o->new_buffer &&
                 fv_overlap(mv->old_offset, mv->size, o->new_offset, o->size)) ||
                mv->range.id == o->range.id) {
                FAIL(f, "moves %u and %u overlap", b, a);
            }
        }
        idx[a] = i;
    }
    if ((k & 4) != 0) {
        got = oa_vk_compact_abort(f->m, p->handle);
        if (got != OA_VK_SUCCESS) {
            FAIL(f, "compact_abort = %s", oa_vk_result_name(got));
        }
        for (uint32_t a = 0; a < n; a++) {
            oa_vk_range_info r;
            if (oa_vk_range_get_info(f->m, moves[a].range, &r) != OA_VK_SUCCESS ||
                r.offset != moves[a].old_offset) {
                FAIL(f, "an aborted move changed its range");
            }
        }
        return 0;
    }
    const uint64_t value = ++f->frame;
    got = oa_vk_compact_record(f->m, p->handle, fake_command_buffer(), value);
    if (got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && injected(f, refusals, host)) {
        got = oa_vk_compact_abort(f->m, p->handle);
        if (got != OA_VK_SUCCESS) {
            FAIL(f, "compact_abort after a failed record = %s", oa_vk_result_name(got));
        }
        return 0;
    }
    if (got != OA_VK_SUCCESS) {
        FAIL(f, "compact_record = %s", oa_vk_result_name(got));
    }
    for (uint32_t a = 0; a < n; a++) {
        fv_range* x = &f->rv[idx[a]];
        oa_vk_range_info r;
        if (oa_vk_range_get_info(f->m, moves[a].range, &r) != OA_VK_SUCCESS ||
            r.offset != moves[a].new_offset || r.buffer != moves[a].new_buffer ||
            r.size != x->r.size) {
            FAIL(f, "range 0x%" PRIx64 " is not at its new place after record", moves[a].range.id);
        }
        x->r = r;
        if (!x->queued && check_content(f, idx[a]) != 0) {
            return 1;
        }
    }
    if ((k & 8) != 0) {
        got = oa_vk_free(f->m, moves[0].range);
        if (got != OA_VK_ERROR_INVALID_ARGUMENT) {
            FAIL(f, "free of a range a recorded pass moves = %s", oa_vk_result_name(got));
        }
    }
    f->what = "collect after compact";
    return collect_at(f, value);
}

static int op_tag(fz* f) {
    f->what = "set tag";
    oa_vk_range h;
    bool pending;
    const int i = pick_handle(f, &h, &pending);
    const uint32_t tag = (uint32_t)rdn(&f->in, 4);
    const oa_vk_result got = oa_vk_range_set_tag(f->m, h, tag);
    /* A pending range keeps its tag; it is no longer the caller's to change. */
    const oa_vk_result expect = i >= 0 ? OA_VK_SUCCESS : OA_VK_ERROR_STALE_HANDLE;
    if (got != expect) {
        FAIL(f, "set_tag(0x%" PRIx64 ") = %s, expected %s", h.id, oa_vk_result_name(got),
             oa_vk_result_name(expect));
    }
    if (i >= 0) {
        f->rv[i].tag = tag;
        oa_vk_range_info r;
        if (oa_vk_range_get_info(f->m, h, &r) != OA_VK_SUCCESS || r.tag != tag ||
            r.offset != f->rv[i].r.offset || r.size != f->rv[i].r.size ||
            r.buffer != f->rv[i].r.buffer || r.mapped != f->rv[i].r.mapped) {
            FAIL(f, "range_get disagrees with the model");
        }
    } else {
        oa_vk_range_info r;
        if (oa_vk_range_get_info(f->m, h, &r) != OA_VK_ERROR_STALE_HANDLE || r.handle.id != 0) {
            FAIL(f, "range_get of a handle that is not live did not fail cleanly");
        }
    }
    return 0;
}

static int op_dump(fz* f) {
    f->what = "dump";
    size_t need = 0;
    const uint64_t host = f->heap.failures;
    oa_vk_result got = oa_vk_dump_json(f->m, NULL, 0, &need);
    if (got != OA_VK_SUCCESS && got != OA_VK_INCOMPLETE) {
        if (got < 0 && f->heap.failures != host) {
            return 0;
        }
        FAIL(f, "dump size query = %s", oa_vk_result_name(got));
    }
    const size_t cap = rd8(&f->in) % 4 == 0 ? 1 + rdn(&f->in, 2) % (need + 1) : need + 1;
    char* text = (char*)malloc(cap);
    if (text == NULL) {
        abort();
    }
    size_t again = 0;
    got = oa_vk_dump_json(f->m, text, cap, &again);
    if (got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && f->heap.failures != host) {
        free(text);
        return 0;
    }
    const oa_vk_result expect = cap > need ? OA_VK_SUCCESS : OA_VK_INCOMPLETE;
    const char* nul = (const char*)memchr(text, '\0', cap);
    const size_t len = nul != NULL ? (size_t)(nul - text) : cap;
    if (got != expect || again != need || len == cap || len != (cap > need ? need : cap - 1)) {
        free(text);
        FAIL(f, "dump into %zu bytes = %s (%zu bytes, %zu long), needs %zu", cap,
             oa_vk_result_name(got), again, len, need);
    }
    if (got == OA_VK_SUCCESS) {
        for (int i = 0; i < f->n && i < 8; i++) {
            char id[40];
            snprintf(id, sizeof id, "\"0x%016" PRIx64 "\"", f->rv[i].r.handle.id);
            if (strstr(text, id) == NULL) {
                free(text);
                FAIL(f, "the dump does not name range %s", id);
            }
        }
    }
    free(text);
    return 0;
}

static void op_arm(fz* f) {
    f->what = "arm a failure";
    const uint8_t k = rd8(&f->in);
    const uint32_t in = 1 + rd8(&f->in) % 4;
    if (k % 8 == 7) {
        f->heap.fail_at = f->heap.calls + in;
        return;
    }
    static const VkResult results[] = {VK_ERROR_OUT_OF_HOST_MEMORY, VK_ERROR_OUT_OF_DEVICE_MEMORY,
                                       VK_ERROR_UNKNOWN, VK_ERROR_MEMORY_MAP_FAILED};
    const int c = k % FAKE_CALL_COUNT;
    fake.fail_in[c] = in;
    fake.fail_with[c] = results[(k >> 4) % 4];
}

/* ---- the full check ---- */

typedef struct walk_state {
    fz* f;
    int pool;
    bool started;
    uint32_t block;
    VkDeviceSize next_offset, block_size;
    VkDeviceSize capacity;
    int seen;
    int stop_after; /* 0 = never */
    int visits;
    int bad;
    char why[160];
} walk_state;

static bool walk_end_block(walk_state* w) {
    if (w->next_offset != w->block_size) {
        snprintf(w->why, sizeof w->why, "block %u tiled up to %" PRIu64 " of %" PRIu64, w->block,
                 (uint64_t)w->next_offset, (uint64_t)w->block_size);
        return false;
    }
    return true;
}

static bool walk_cb(void* user, const oa_vk_region_info* r) {
    walk_state* w = (walk_state*)user;
    w->visits++;
    if (!w->started || r->block_index != w->block) {
        if (w->started && (!walk_end_block(w) || r->block_index < w->block)) {
            if (r->block_index < w->block) {
                snprintf(w->why, sizeof w->why, "blocks out of order");
            }
            w->bad = 1;
            return false;
        }
        w->started = true;
        w->block = r->block_index;
        w->next_offset = 0;
        w->block_size = r->block_size;
        w->capacity += r->block_size;
    }
    if (r->offset != w->next_offset || r->size == 0 || r->size > w->block_size - r->offset) {
        snprintf(w->why, sizeof w->why,
                 "block %u: region at %" PRIu64 " (+%" PRIu64 "), expected %" PRIu64,
                 r->block_index, (uint64_t)r->offset, (uint64_t)r->size, (uint64_t)w->next_offset);
        w->bad = 1;
        return false;
    }
    w->next_offset = r->offset + r->size;
    if (!r->is_free) {
        const int i = find_range(w->f, r->range.id);
        const fv_range* x = i >= 0 ? &w->f->rv[i] : NULL;
        if (x == NULL || x->pool != w->pool || x->r.offset != r->offset || x->r.size > r->size ||
            x->r.buffer != r->buffer || x->pending != r->is_pending || x->tag != r->tag) {
            snprintf(w->why, sizeof w->why,
                     "region at %" PRIu64 " of block %u (range 0x%" PRIx64 ") is not the model's",
                     (uint64_t)r->offset, r->block_index, r->range.id);
            w->bad = 1;
            return false;
        }
        w->seen++;
    } else if (r->range.id != 0 || r->is_pending) {
        snprintf(w->why, sizeof w->why, "a free region with a range or pending");
        w->bad = 1;
        return false;
    }
    return w->stop_after == 0 || w->visits < w->stop_after;
}

static int walk_pool(fz* f, int pi, int stop_after) {
    walk_state w = {0};
    w.f = f;
    w.pool = pi;
    w.stop_after = stop_after;
    const uint64_t host = f->heap.failures;
    const oa_vk_result got = oa_vk_pool_walk(f->m, f->pools[pi].handle, walk_cb, &w);
    if (got == OA_VK_ERROR_OUT_OF_HOST_MEMORY && f->heap.failures != host) {
        return 0;
    }
    if (got != OA_VK_SUCCESS || w.bad) {
        FAIL(f, "walk of pool %d = %s: %s", pi, oa_vk_result_name(got), w.why);
    }
    if (stop_after != 0) {
        if (w.visits > stop_after) {
            FAIL(f, "the walk went on after its callback said stop");
        }
        return 0;
    }
    if (w.started && !walk_end_block(&w)) {
        FAIL(f, "walk of pool %d: %s", pi, w.why);
    }
    int in_pool = 0, pending = 0;
    for (int i = 0; i < f->n; i++) {
        in_pool += f->rv[i].pool == pi;
        pending += f->rv[i].pool == pi && f->rv[i].pending;
    }
    oa_vk_pool_stats st;
    if (oa_vk_pool_get_stats(f->m, f->pools[pi].handle, &st) != OA_VK_SUCCESS ||
        w.seen != in_pool || st.allocation_count != (uint64_t)in_pool ||
        st.pending_count != (uint64_t)pending || st.capacity != w.capacity ||
        st.used_size + st.free_size != st.capacity) {
        FAIL(f,
             "pool %d: walk saw %d ranges, stats %" PRIu64 " (%" PRIu64 " pending), model %d (%d)",
             pi, w.seen, st.allocation_count, st.pending_count, in_pool, pending);
    }
    return 0;
}

static int verify_full(fz* f) {
    for (int i = 0; i < f->n; i++) {
        if (check_content(f, i) != 0) {
            return 1;
        }
    }
    for (int pi = 0; pi < f->pool_count; pi++) {
        if (walk_pool(f, pi, 0) != 0) {
            return 1;
        }
    }
    return 0;
}

static int verify_local(fz* f) {
    if (fake.illegal_calls != 0) {
        FAIL(f, "invalid Vulkan call: %s", fake.why);
    }
    if (f->bad_log != 0) {
        FAIL(f, "the log callback got a success or an empty message");
    }
    return 0;
}

/* ---- setup ---- */

static void setup_device(fz* f) {
    fake_reset(); /* then every property the manager reads, from here and the input */
    VkPhysicalDeviceMemoryProperties* p = &fake.memory;
    memset(p, 0, sizeof *p);
    p->memoryHeapCount = 3;
    p->memoryHeaps[0] = (VkMemoryHeap){256ull << 20, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p->memoryHeaps[1] = (VkMemoryHeap){256ull << 20, 0};
    p->memoryHeaps[2] = (VkMemoryHeap){16ull << 20, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p->memoryTypeCount = 4;
    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    const VkMemoryPropertyFlags HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    p->memoryTypes[0] = (VkMemoryType){DL, 0};
    p->memoryTypes[1] = (VkMemoryType){HV | HC, 1};
    p->memoryTypes[2] = (VkMemoryType){HV | CA, 1}; /* non-coherent */
    p->memoryTypes[3] = (VkMemoryType){DL | HV | HC, 2};
    const uint8_t types = rd8(&f->in);
    fake.type_bits = 1u + types % 15u;
    const uint8_t lim = rd8(&f->in);
    fake.requirement_alignment = 1ull << (lim % 9);
    fake.limits.nonCoherentAtomSize = 1ull << ((lim >> 4) % 9);
    const uint8_t off = rd8(&f->in);
    fake.limits.minUniformBufferOffsetAlignment = 1ull << (4 + off % 5);
    fake.limits.minStorageBufferOffsetAlignment = 1ull << ((off >> 3) % 7);
    fake.limits.minTexelBufferOffsetAlignment = 1ull << ((off >> 5) % 7);
    const uint8_t count = rd8(&f->in);
    fake.limits.maxMemoryAllocationCount = count % 4 == 0 ? 2u + count % 13u : 4096u;
    const uint8_t sizes = rd8(&f->in);
    fake.max_buffer_size = sizes % 4 == 0 ? 1024ull << (sizes % 5) : 64ull << 10;
    fake.max_allocation_size = sizes % 8 == 1 ? 8192 : 128ull << 10;
    /* VK_EXT_memory_budget: half of each heap, the usage all live memory. */
    for (uint32_t i = 0; i < p->memoryHeapCount; i++) {
        fake.budget[i] = p->memoryHeaps[i].size / 2;
    }
    fake.usage_counts_live = true;
    fake.memory_cap = FV_MEMORY_CAP;
}

static int create(fz* f) {
    f->what = "create";
    setup_device(f);
    const uint8_t flags = rd8(&f->in);
    f->manager_flags = (flags & 1 ? OA_VK_MANAGER_ASSUME_NON_COHERENT : 0) |
                       (flags & 2 ? OA_VK_MANAGER_THREAD_SAFE : 0) |
                       (flags & 4 ? OA_VK_MANAGER_MEMORY_BUDGET : 0);
    oa_vk_manager_info info = fake_manager_info(f->manager_flags);
    info.release_delay = flags >> 5;
    info.callbacks = oa_test_heap_callbacks(&f->heap);
    info.log = log_sink;
    info.log_user = &f->bad_log;
    const oa_vk_result r = oa_vk_manager_create(&info, &f->m);
    if (r != OA_VK_SUCCESS) {
        FAIL(f, "manager create = %s", oa_vk_result_name(r));
    }
    static const VkBufferUsageFlags usages[] = {
        VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,   VK_BUFFER_USAGE_INDEX_BUFFER_BIT,
        VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,  VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
        VK_BUFFER_USAGE_TRANSFER_DST_BIT,    VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT,
        VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, VK_BUFFER_USAGE_TRANSFER_SRC_BIT};
    const int pools = 1 + rd8(&f->in) % FV_MAX_POOLS;
    for (int i = 0; i < pools; i++) {
        const uint8_t u = rd8(&f->in), fl = rd8(&f->in), bs = rd8(&f->in);
        oa_vk_pool_info pi = {0};
        for (int b = 0; b < 8; b++) {
            pi.usage |= (u >> b) & 1 ? usages[b] : 0;
        }
        pi.usage = pi.usage != 0 ? pi.usage : VK_BUFFER_USAGE_TRANSFER_DST_BIT;
        pi.flags = (fl & 1 ? OA_VK_POOL_MAPPED : 0) | (fl & 2 ? OA_VK_POOL_NO_DEDICATED : 0);
        /* A mapped pool names a host intent (or raw flags); an unmapped one
         * is device-only or raw flags. */
        pi.intent = (fl & 1) != 0      ? (oa_vk_memory_intent)(OA_VK_INTENT_UPLOAD + u % 5)
                    : (fl & 0x80) != 0 ? OA_VK_INTENT_FLAGS_ONLY
                                       : OA_VK_INTENT_DEVICE;
        if ((fl & 5) == 5) {
            pi.flags |= OA_VK_POOL_CORRUPTION_CHECK;
        }
        pi.required_flags = fl & 8 ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : 0;
        pi.preferred_flags = fl & 16 ? VK_MEMORY_PROPERTY_HOST_CACHED_BIT : 0;
        pi.max_block_count = (fl >> 5) % 4;
        pi.block_size = 256ull + (uint64_t)bs * 64u;
        if (pi.block_size > FV_MAX_BLOCK) {
            pi.block_size = FV_MAX_BLOCK;
        }
        fv_pool* p = &f->pools[f->pool_count];
        const oa_vk_result pr = oa_vk_pool_create(f->m, &pi, &p->handle);
        if (pr != OA_VK_SUCCESS) {
            if (pr != OA_VK_ERROR_NO_MEMORY_TYPE || p->handle.id != 0) {
                FAIL(f, "pool create = %s", oa_vk_result_name(pr));
            }
            continue;
        }
        oa_vk_pool_stats st;
        if (oa_vk_pool_get_stats(f->m, p->handle, &st) != OA_VK_SUCCESS || st.alignment == 0 ||
            st.block_size == 0 || st.block_size > pi.block_size) {
            FAIL(f, "pool stats after create");
        }
        p->info = pi;
        p->alignment = st.alignment;
        p->block_size = st.block_size;
        const VkMemoryPropertyFlags props =
            fake.memory.memoryTypes[st.memory_type_index].propertyFlags;
        p->non_coherent = (props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0 &&
                          ((props & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) == 0 ||
                           (f->manager_flags & OA_VK_MANAGER_ASSUME_NON_COHERENT) != 0);
        f->pool_count++;
    }
    const uint8_t ring = rd8(&f->in);
    if (ring % 4 != 0) {
        const oa_vk_stager_info si = {.ring_size = 256ull * (1u + ring % 64u)};
        const oa_vk_result sr = oa_vk_stager_create(f->m, &si, &f->stager);
        /* No host-visible type, or a ring above the device's buffer limit. */
        if (sr != OA_VK_SUCCESS && sr != OA_VK_ERROR_NO_MEMORY_TYPE &&
            !(sr == OA_VK_ERROR_TOO_LARGE &&
              (si.ring_size > fake.max_buffer_size || si.ring_size > fake.max_allocation_size))) {
            FAIL(f, "stager create = %s", oa_vk_result_name(sr));
        }
    }
    return 0;
}

/* The end: pools go, then the manager; nothing may be left anywhere. */
static int teardown(fz* f) {
    f->what = "teardown";
    int fail = 0;
    if (f->stager != NULL) {
        fail = record(f);
    }
    for (int pi = 0; pi < f->pool_count && !fail; pi++) {
        int in_pool = 0;
        for (int i = 0; i < f->n; i++) {
            in_pool += f->rv[i].pool == pi;
        }
        oa_vk_result got = oa_vk_pool_destroy(f->m, f->pools[pi].handle, 0);
        if (got != (in_pool != 0 ? OA_VK_ERROR_LIVE_RANGES : OA_VK_SUCCESS)) {
            fprintf(stderr, "fuzz_vk: destroy of pool %d with %d ranges = %s\n", pi, in_pool,
                    oa_vk_result_name(got));
            fail = 1;
        } else if (in_pool != 0) {
            got = oa_vk_pool_destroy(f->m, f->pools[pi].handle, OA_VK_POOL_DESTROY_FREE_LIVE);
            if (got != OA_VK_SUCCESS) {
                fprintf(stderr, "fuzz_vk: destroy of pool %d freeing its ranges = %s\n", pi,
                        oa_vk_result_name(got));
                fail = 1;
            }
        }
        oa_vk_range_info r;
        for (int i = 0; i < f->n && !fail; i++) {
            if (f->rv[i].pool == pi &&
                oa_vk_range_get_info(f->m, f->rv[i].r.handle, &r) != OA_VK_ERROR_STALE_HANDLE) {
                fprintf(stderr, "fuzz_vk: a range outlived its pool\n");
                fail = 1;
            }
        }
    }
    oa_vk_stager_destroy(f->stager);
    oa_vk_manager_destroy(f->m);
    if (!fail && (fake.live_buffers != 0 || fake.live_memories != 0 || fake.mapped != 0 ||
                  f->heap.live_bytes != 0 || fake.illegal_calls != 0)) {
        fprintf(stderr,
                "fuzz_vk: after destroy: %d buffers, %d memories, %d mapped, %zu host bytes "
                "left%s%s\n",
                fake.live_buffers, fake.live_memories, fake.mapped, f->heap.live_bytes,
                fake.illegal_calls ? "; invalid call: " : "", fake.illegal_calls ? fake.why : "");
        fail = 1;
    }
    return fail;
}

int fuzz_target_run(const uint8_t* data, size_t size) {
    fz* f = (fz*)calloc(1, sizeof *f);
    if (f == NULL) {
        return 0;
    }
    f->in = (reader){data, size, 0};
    f->op = -1;
    f->rng = 0x0123456789ABCDEFull ^ size;
    f->rv = (fv_range*)calloc(FV_MAX_RANGES, sizeof *f->rv);
    f->up = (fv_upload*)calloc(FV_MAX_RANGES, sizeof *f->up);
    if (f->rv == NULL || f->up == NULL) {
        abort();
    }
    int fail = create(f);
    for (f->op = 0; !fail && f->in.pos < f->in.n && f->op < FV_MAX_OPS; f->op++) {
        const uint8_t code = rd8(&f->in);
        switch (code % 20) {
        case 0:
        case 1:
        case 2:
        case 3:
            fail = op_alloc(f);
            break;
        case 4:
            fail = op_compact(f);
            break;
        case 5:
        case 6:
            fail = op_free(f, false);
            break;
        case 7:
        case 8:
            fail = op_free(f, true);
            break;
        case 9:
            fail = op_collect(f);
            break;
        case 10:
        case 11:
            fail = op_upload(f);
            break;
        case 12:
            fail = record(f);
            break;
        case 13:
            fail = op_write(f);
            break;
        case 14:
            fail = op_sync(f);
            break;
        case 15:
            fail = op_tag(f);
            break;
        case 16:
            fail = op_dump(f);
            break;
        case 17:
            op_arm(f);
            break;
        case 18:
            f->what = "walk with an early stop";
            fail = f->pool_count > 0
                       ? walk_pool(f, rd8(&f->in) % f->pool_count, 1 + rd8(&f->in) % 8)
                       : 0;
            break;
        default: {
            f->what = "trim";
            if (f->pool_count > 0) {
                uint64_t released = 0;
                const oa_vk_result got =
                    oa_vk_pool_trim(f->m, f->pools[rd8(&f->in) % f->pool_count].handle, &released);
                if (got != OA_VK_SUCCESS) {
                    fprintf(stderr, "fuzz_vk: op %d: trim = %s\n", f->op, oa_vk_result_name(got));
                    fail = 1;
                }
            }
            break;
        }
        }
        if (!fail) {
            fail = verify_local(f);
        }
        if (!fail) {
            const unsigned every = fuzz_full_every != 0 ? fuzz_full_every : 1;
            if ((unsigned)f->op % every == every - 1) {
                fail = verify_full(f);
            }
        }
    }
    if (!fail && f->m != NULL) {
        fail = verify_local(f);
        fail = fail ? fail : verify_full(f);
    }
    if (f->m != NULL) {
        const int end = teardown(f);
        fail = fail ? fail : end;
    }
    for (int i = 0; i < f->n; i++) {
        free(f->rv[i].content);
    }
    for (int u = 0; u < f->up_count; u++) {
        free(f->up[u].data);
    }
    free(f->rv);
    free(f->up);
    free(f);
    return fail;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (fuzz_target_run(data, size) != 0) {
        abort(); /* a finding: libFuzzer saves the input */
    }
    return 0;
}
