/* test_vk_grow.c - oa_vk_pool_grow on a real device under core and
 * synchronization validation: a block full of ranges of random bytes grows
 * several times (GPU copy per run and over the used span, with uploads
 * queued before the grow and recorded after it, uploads recorded before it,
 * and deferred frees in flight); every byte of every live range is read back
 * at its unchanged offset from the new buffer, the added space takes new
 * ranges, the old buffers go at oa_vk_collect, and the layer says nothing.
 * Mapped pools grow by GPU copy and by host copy (coherent and not). */
#include "vk_test_common.h"

#include <stdlib.h>

#define MAX_LIVE 4096u

typedef struct grow_range {
    oa_vk_range handle;
    VkDeviceSize offset, size;
    uint8_t* bytes; /* what the range should hold */
    bool live;
} grow_range;

typedef struct grow_world {
    vkt_env* e;
    oa_vk_manager* m;
    oa_vk_pool pool;
    oa_vk_stager* stager;
    grow_range ranges[MAX_LIVE];
    uint32_t count;
    uint64_t seed;
} grow_world;

static void random_bytes(uint64_t* seed, uint8_t* out, VkDeviceSize n) {
    for (VkDeviceSize i = 0; i < n; i++) {
        out[i] = (uint8_t)vkt_splitmix64(seed);
    }
}

/* Allocate random ranges until the pool is full (or MAX_LIVE), queueing an
 * upload of random bytes into each. Returns the ranges added. */
static uint32_t fill(grow_world* w) {
    static const VkDeviceSize aligns[] = {1, 4, 12, 16, 24, 48};
    uint32_t added = 0;
    while (w->count < MAX_LIVE) {
        const VkDeviceSize size = 16 + vkt_splitmix64(&w->seed) % 4000;
        const VkDeviceSize align = aligns[vkt_splitmix64(&w->seed) % 6];
        oa_vk_range_info info;
        const oa_vk_result r = oa_vk_alloc(w->m, w->pool, size, align, &info);
        if (r == OA_VK_ERROR_OUT_OF_POOL_SPACE) {
            break;
        }
        if (r != OA_VK_SUCCESS) {
            OA_FAIL_AT("oa_vk_alloc: %s (%s)", oa_vk_result_name(r), vkt_last_log);
            break;
        }
        grow_range* g = &w->ranges[w->count++];
        g->handle = info.handle;
        g->offset = info.offset;
        g->size = size;
        g->bytes = malloc((size_t)size);
        g->live = true;
        random_bytes(&w->seed, g->bytes, size);
        if (oa_vk_stager_upload(w->stager, g->handle, 0, g->bytes, size, NULL) != OA_VK_SUCCESS) {
            OA_FAIL_AT("upload of %llu bytes failed", (unsigned long long)size);
        }
        added++;
    }
    return added;
}

/* Queue new random bytes into `n` random live ranges (a part of each). */
static void rewrite(grow_world* w, uint32_t n) {
    for (uint32_t k = 0; k < n; k++) {
        grow_range* g = &w->ranges[vkt_splitmix64(&w->seed) % w->count];
        if (!g->live) {
            continue;
        }
        const VkDeviceSize at = vkt_splitmix64(&w->seed) % g->size;
        const VkDeviceSize len = 1 + vkt_splitmix64(&w->seed) % (g->size - at);
        random_bytes(&w->seed, g->bytes + at, len);
        if (oa_vk_stager_upload(w->stager, g->handle, at, g->bytes + at, len, NULL) !=
            OA_VK_SUCCESS) {
            OA_FAIL_AT("upload failed");
        }
    }
}

/* Every live range: its descriptor names `buffer` at the offset it was given,
 * its device address is the buffer's plus the offset, and its bytes read back
 * from `buffer` (all `size` bytes in one copy) are the ones uploaded. */
static bool verify(grow_world* w, VkBuffer buffer, VkDeviceSize size) {
    const VkBufferDeviceAddressInfo ai = {.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO,
                                          .buffer = buffer};
    const VkDeviceAddress base = vkGetBufferDeviceAddress(w->e->device, &ai);
    uint8_t* got = malloc((size_t)size);
    if (got == NULL || !vkt_read_buffer(w->e, buffer, 0, size, got)) {
        OA_FAIL_AT("reading back %llu bytes failed", (unsigned long long)size);
        free(got);
        return false;
    }
    bool ok = true;
    uint32_t checked = 0;
    for (uint32_t i = 0; i < w->count && ok; i++) {
        const grow_range* g = &w->ranges[i];
        if (!g->live) {
            continue;
        }
        oa_vk_range_info info;
        if (oa_vk_range_get_info(w->m, g->handle, &info) != OA_VK_SUCCESS ||
            info.buffer != buffer || info.offset != g->offset ||
            info.device_address != base + g->offset) {
            OA_FAIL_AT("range %u: descriptor moved (offset %llu -> %llu)", i,
                       (unsigned long long)g->offset, (unsigned long long)info.offset);
            ok = false;
        } else if (memcmp(got + g->offset, g->bytes, (size_t)g->size) != 0) {
            OA_FAIL_AT("range %u at offset %llu: bytes differ after the grow", i,
                       (unsigned long long)g->offset);
            ok = false;
        }
        checked++;
    }
    free(got);
    return ok && checked > 0;
}

static uint32_t heap_allocations(oa_vk_manager* m) {
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t n = 0;
    uint32_t total = 0;
    if (oa_vk_get_heap_stats(m, heaps, &n) == OA_VK_SUCCESS) {
        for (uint32_t i = 0; i < n; i++) {
            total += (uint32_t)heaps[i].allocation_count;
        }
    }
    return total;
}

/* Record the stager's queue into a fresh command buffer, submit, wait. */
static void flush_uploads(grow_world* w) {
    VkCommandBuffer cmd = vkt_begin(w->e);
    const uint64_t value = w->e->timeline_value + 1;
    if (oa_vk_stager_record(w->stager, cmd, value) != OA_VK_SUCCESS ||
        vkt_submit_wait(w->e, cmd) != value) {
        OA_FAIL_AT("upload submit failed");
    }
    (void)oa_vk_stager_collect(w->stager, value);
}

OA_TEST(grow_keeps_every_byte_at_its_offset) {
    VKT_FIXTURE(fx, OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS);
    static grow_world world;
    grow_world* w = &world;
    memset(w, 0, sizeof *w);
    w->e = fx.env;
    w->m = fx.manager;
    w->seed = 0x6A0Full;
    printf("seed=0x%llx\n", (unsigned long long)w->seed);
    const oa_vk_pool_info info = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
                 VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .flags = OA_VK_POOL_DEVICE_ADDRESS | OA_VK_POOL_NO_DEDICATED,
        .block_size = 256u << 10,
        .max_block_count = 1,
        .name = "grow"};
    CHECK_EQ(oa_vk_pool_create(w->m, &info, &w->pool), OA_VK_SUCCESS);
    const oa_vk_stager_info sinfo = {.ring_size = 4u << 20};
    CHECK_EQ(oa_vk_stager_create(w->m, &sinfo, &w->stager), OA_VK_SUCCESS);
    CHECK(fill(w) > 20);
    flush_uploads(w);
    /* Holes: a third freed now, a sixth freed deferred (still held). */
    for (uint32_t i = 0; i < w->count; i++) {
        const uint64_t dice = vkt_splitmix64(&w->seed) % 6;
        if (dice < 2) {
            CHECK_EQ(oa_vk_free(w->m, w->ranges[i].handle), OA_VK_SUCCESS);
            w->ranges[i].live = false;
        } else if (dice == 2) {
            CHECK_EQ(oa_vk_free_deferred(w->m, w->ranges[i].handle, UINT64_MAX - 1), OA_VK_SUCCESS);
            w->ranges[i].live = false;
        }
    }
    uint32_t first_live = 0;
    while (first_live < w->count && !w->ranges[first_live].live) {
        first_live++;
    }
    CHECK(first_live < w->count);
    oa_vk_range_info probe;
    CHECK_EQ(oa_vk_range_get_info(w->m, w->ranges[first_live].handle, &probe), OA_VK_SUCCESS);
    VkBuffer buffer = probe.buffer;
    VkDeviceSize size = 256u << 10;
    for (int round = 0; round < 3; round++) {
        /* Uploads in every order around the grow: round 0 queues them before
         * and records them after it in the same command buffer, round 1
         * records them in a later submit, round 2 records them before the
         * grow in the same command buffer (they land in the old buffer). */
        rewrite(w, 40);
        /* A deferred free in flight, due with the grow's submit. */
        for (uint32_t i = 0; i < w->count; i++) {
            if (w->ranges[i].live && vkt_splitmix64(&w->seed) % 10 == 0) {
                CHECK_EQ(oa_vk_free_deferred(w->m, w->ranges[i].handle, w->e->timeline_value + 1),
                         OA_VK_SUCCESS);
                w->ranges[i].live = false;
            }
        }
        const uint32_t allocations = heap_allocations(w->m);
        VkCommandBuffer cmd = vkt_begin(w->e);
        const uint64_t value = w->e->timeline_value + 1;
        if (round == 2) {
            CHECK_EQ(oa_vk_stager_record(w->stager, cmd, value), OA_VK_SUCCESS);
        }
        const oa_vk_grow_info grow = {.new_size = size * 2,
                                      .command_buffer = cmd,
                                      .signal_value = value,
                                      .flags = round == 1 ? OA_VK_GROW_COPY_USED_SPAN : 0};
        oa_vk_grow_result res;
        CHECK_EQ(oa_vk_pool_grow(w->m, w->pool, 0, &grow, &res), OA_VK_SUCCESS);
        CHECK(res.buffer != VK_NULL_HANDLE && res.buffer != buffer);
        CHECK(res.old_buffer == buffer);
        CHECK_EQ(res.old_valid_until, value);
        CHECK_EQ(res.old_size, size);
        CHECK_EQ(res.new_size, size * 2);
        CHECK(res.region_count >= 1 && res.copied_size > 0 && res.copied_size <= size);
        if (round == 1) {
            CHECK_EQ(res.region_count, 1);
        }
        printf("round %d: %llu -> %llu bytes, %u regions, %llu bytes copied\n", round,
               (unsigned long long)size, (unsigned long long)res.new_size, res.region_count,
               (unsigned long long)res.copied_size);
        CHECK_EQ(heap_allocations(w->m), allocations + 1); /* the old one is still held */
        if (round == 0) {
            CHECK_EQ(oa_vk_stager_record(w->stager, cmd, value), OA_VK_SUCCESS);
        }
        CHECK_EQ(vkt_submit_wait(w->e, cmd), value);
        (void)oa_vk_stager_collect(w->stager, value);
        if (round == 1) {
            flush_uploads(w);
        }
        uint64_t freed = 0;
        CHECK_EQ(oa_vk_collect(w->m, value, &freed), OA_VK_SUCCESS);
        CHECK_EQ(heap_allocations(w->m), allocations); /* old buffer and memory released */
        buffer = res.buffer;
        size = res.new_size;
        CHECK(verify(w, buffer, size));
        oa_vk_pool_stats st;
        CHECK_EQ(oa_vk_pool_get_stats(w->m, w->pool, &st), OA_VK_SUCCESS);
        CHECK_EQ(st.capacity, size);
        CHECK_EQ(st.block_count, 1);
        CHECK_EQ(st.used_size + st.free_size, st.capacity);
        /* The added bytes take new ranges. */
        const uint32_t first_new = w->count;
        CHECK(fill(w) > 0);
        bool beyond = false;
        for (uint32_t i = first_new; i < w->count; i++) {
            beyond = beyond || w->ranges[i].offset >= res.old_size;
        }
        CHECK(beyond);
        flush_uploads(w);
        CHECK(verify(w, buffer, size));
    }
    /* A range freed before a grow stays stale after it. */
    uint32_t dead = 0;
    while (dead < w->count && w->ranges[dead].live) {
        dead++;
    }
    CHECK(dead < w->count);
    oa_vk_range_info stale;
    CHECK_EQ(oa_vk_range_get_info(w->m, w->ranges[dead].handle, &stale), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free(w->m, w->ranges[dead].handle), OA_VK_ERROR_STALE_HANDLE);
    for (uint32_t i = 0; i < w->count; i++) {
        free(w->ranges[i].bytes);
    }
    oa_vk_stager_destroy(w->stager);
    CHECK_EQ(oa_vk_pool_destroy(w->m, w->pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

/* A mapped pool: bytes written through the mapping survive a GPU-copy grow
 * and a host-copy grow, read through the ranges' new mapped pointers. */
static void mapped_grow(uint32_t manager_flags) {
    VKT_FIXTURE(fx, manager_flags);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .flags = OA_VK_POOL_NO_DEDICATED,
                                  .block_size = 64u << 10,
                                  .max_block_count = 1};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    enum { N = 40 };
    oa_vk_range_info r[N];
    static uint8_t bytes[N][1000];
    uint64_t seed = 0x3A9ull + manager_flags;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 1000, 4, &r[i]), OA_VK_SUCCESS);
        random_bytes(&seed, bytes[i], 1000);
        memcpy(r[i].mapped, bytes[i], 1000);
        CHECK_EQ(oa_vk_flush(m, r[i].handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    }
    for (int i = 0; i < N; i += 3) {
        CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
        r[i].handle.id = 0;
    }
    VkDeviceSize size = 64u << 10;
    for (int host = 0; host < 2; host++) {
        VkCommandBuffer cmd = host ? VK_NULL_HANDLE : vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        const oa_vk_grow_info grow = {.new_size = size + 32768,
                                      .command_buffer = cmd,
                                      .signal_value = value,
                                      .flags = host ? OA_VK_GROW_HOST_COPY : 0};
        oa_vk_grow_result res;
        CHECK_EQ(oa_vk_pool_grow(m, pool, 0, &grow, &res), OA_VK_SUCCESS);
        if (!host) {
            CHECK_EQ(vkt_submit_wait(e, cmd), value);
        }
        CHECK_EQ(oa_vk_collect(m, value, NULL), OA_VK_SUCCESS);
        size = res.new_size;
        for (int i = 0; i < N; i++) {
            if (r[i].handle.id == 0) {
                continue;
            }
            oa_vk_range_info now;
            CHECK_EQ(oa_vk_range_get_info(m, r[i].handle, &now), OA_VK_SUCCESS);
            CHECK(now.buffer == res.buffer && now.offset == r[i].offset);
            CHECK(now.mapped != r[i].mapped);
            CHECK_EQ(oa_vk_invalidate(m, r[i].handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
            if (memcmp(now.mapped, bytes[i], 1000) != 0) {
                OA_FAIL_AT("%s copy: range %d differs through its new mapping",
                           host ? "host" : "GPU", i);
                return;
            }
            r[i].mapped = now.mapped;
        }
    }
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

OA_TEST(grow_mapped_pool_by_gpu_and_host_copy) {
    mapped_grow(0);
}

OA_TEST(grow_mapped_non_coherent_pool) {
    mapped_grow(OA_VK_MANAGER_ASSUME_NON_COHERENT);
}

/* The README's example of growing a pool (between the SNIPPET markers, byte
 * for byte: tests/docs checks it), run on a full block. */
OA_TEST(readme_grow_example) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* manager = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                  .block_size = 64u << 10,
                                  .max_block_count = 1,
                                  .flags = OA_VK_POOL_NO_DEDICATED};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info first;
    CHECK_EQ(oa_vk_alloc(manager, pool, 60000, 1, &first), OA_VK_SUCCESS);
    VkBuffer vertex_buffer = first.buffer;
    const VkDeviceSize size = 12000, stride = 24;
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t frame_value = e->timeline_value + 1;
    /* SNIPPET BEGIN */
    oa_vk_range_info mesh;
    oa_vk_result r = oa_vk_alloc(manager, pool, size, stride, &mesh);
    if (r == OA_VK_ERROR_OUT_OF_POOL_SPACE) {
        /* The block is full: twice its size, every range at its offset. */
        oa_vk_block_stats block;
        (void)oa_vk_block_get_stats(manager, pool, 0, &block);
        const oa_vk_grow_info grow = {
            .new_size = block.capacity * 2,
            .command_buffer = cmd,       /* recording: gets barrier, copy, barrier */
            .signal_value = frame_value, /* what the submit of cmd signals */
        };
        oa_vk_grow_result grown;
        r = oa_vk_pool_grow(manager, pool, 0, &grow, &grown);
        if (r == OA_VK_SUCCESS) {
            vertex_buffer = grown.buffer; /* bind this from now on; offsets are the same */
            r = oa_vk_alloc(manager, pool, size, stride, &mesh);
        }
    }
    /* Submit cmd signalling frame_value. Once a frame, oa_vk_collect releases
     * the old buffer once frame_value has completed. */
    /* SNIPPET END */
    CHECK_EQ(r, OA_VK_SUCCESS);
    CHECK(vertex_buffer != first.buffer && mesh.buffer == vertex_buffer);
    CHECK(mesh.offset >= 60000 && mesh.offset % stride == 0);
    CHECK_EQ(vkt_submit_wait(e, cmd), frame_value);
    CHECK_EQ(oa_vk_collect(manager, frame_value, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(manager, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
