/* test_vk_external.c - pools whose memory the application owns, on lavapipe
 * under validation: a pool over two caller-owned buffers (one mapped at an
 * offset inside a larger memory, one unmapped), uploads through the stager
 * read back byte for byte, deferred frees, and the buffers still the
 * caller's after the pool is gone; block callbacks implemented with plain
 * vkAllocateMemory / vkCreateBuffer as an application's allocator would,
 * failing every Nth call; and the informative device-memory callbacks. */
#include "vk_test_common.h"

/* ---- the application's own buffers -------------------------------------- */

typedef struct app_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    VkDeviceSize offset; /* of the buffer in the memory */
    uint32_t type;
    void* mapped; /* of the buffer's byte 0, or NULL */
} app_buffer;

static const VkBufferUsageFlags app_usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                                            VK_BUFFER_USAGE_TRANSFER_SRC_BIT;

/* A buffer of `size` bytes at `offset` of a memory of offset + size bytes,
 * mapped if asked: what an application's allocator hands out. */
static VkResult app_buffer_create(VkDeviceSize size, VkDeviceSize offset, VkBufferUsageFlags usage,
                                  bool map, app_buffer* out) {
    vkt_env* e = vkt();
    memset(out, 0, sizeof *out);
    const VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                   .size = size,
                                   .usage = usage,
                                   .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult vr = vkCreateBuffer(e->device, &bi, NULL, &out->buffer);
    if (vr != VK_SUCCESS) {
        return vr;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(e->device, out->buffer, &req);
    out->type = UINT32_MAX;
    for (uint32_t t = 0; t < e->memory_properties.memoryTypeCount; t++) {
        if ((req.memoryTypeBits & (1u << t)) != 0 &&
            (e->memory_properties.memoryTypes[t].propertyFlags &
             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) != 0) {
            out->type = t;
            break;
        }
    }
    out->offset = offset;
    const VkMemoryAllocateFlagsInfo flags = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_FLAGS_INFO,
                                             .flags = VK_MEMORY_ALLOCATE_DEVICE_ADDRESS_BIT};
    const VkMemoryAllocateInfo ai = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .pNext = (usage & VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT) != 0 ? &flags : NULL,
        .allocationSize = offset + req.size,
        .memoryTypeIndex = out->type};
    vr = vkAllocateMemory(e->device, &ai, NULL, &out->memory);
    if (vr == VK_SUCCESS) {
        vr = vkBindBufferMemory(e->device, out->buffer, out->memory, offset);
    }
    if (vr == VK_SUCCESS && map) {
        void* p = NULL;
        vr = vkMapMemory(e->device, out->memory, 0, VK_WHOLE_SIZE, 0, &p);
        out->mapped = p != NULL ? (uint8_t*)p + offset : NULL;
    }
    if (vr != VK_SUCCESS) {
        vkDestroyBuffer(e->device, out->buffer, NULL);
        vkFreeMemory(e->device, out->memory, NULL);
        memset(out, 0, sizeof *out);
    }
    return vr;
}

static void app_buffer_destroy(app_buffer* b) {
    vkt_env* e = vkt();
    vkDestroyBuffer(e->device, b->buffer, NULL);
    vkFreeMemory(e->device, b->memory, NULL); /* unmaps too */
    memset(b, 0, sizeof *b);
}

static oa_vk_external_buffer describe(const app_buffer* b, VkDeviceSize size) {
    const oa_vk_external_buffer eb = {.buffer = b->buffer,
                                      .size = size,
                                      .mapped = b->mapped,
                                      .memory = b->memory,
                                      .memory_offset = b->offset,
                                      .memory_type_index = b->type};
    return eb;
}

static void fill(uint8_t* p, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(vkt_splitmix64(&seed) >> 56);
    }
}

/* Upload `n` bytes into each range through one stager batch and wait. */
static void upload(oa_vk_manager* m, oa_vk_stager* s, const oa_vk_range_info* ranges,
                   uint8_t (*data)[4096], int count, uint64_t* out_value) {
    vkt_env* e = vkt();
    for (int i = 0; i < count; i++) {
        CHECK_EQ(oa_vk_stager_upload(s, ranges[i].handle, 0, data[i], ranges[i].size, NULL),
                 OA_VK_SUCCESS);
    }
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_stager_record(s, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(vkt_submit_wait(e, cmd), value);
    CHECK_EQ(oa_vk_stager_collect(s, value), OA_VK_SUCCESS);
    (void)m;
    *out_value = value;
}

/* Two caller buffers, one mapped (at memory offset 4096), one not. */
static void two_buffers(uint32_t manager_flags) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    vkt_env* e = fx.env;
    app_buffer mapped_buf, plain_buf;
    CHECK_EQ(app_buffer_create(1 << 16, 4096, app_usage, true, &mapped_buf), VK_SUCCESS);
    CHECK_EQ(app_buffer_create(1 << 16, 0, app_usage, false, &plain_buf), VK_SUCCESS);
    const oa_vk_manager_info mi = vkt_fixture_info(&fx, manager_flags);
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {
        .usage = app_usage, .flags = OA_VK_POOL_EXTERNAL, .name = "caller's buffers"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 16, 1, &r), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    CHECK(strstr(vkt_last_log, "oa_vk_pool_add_buffer") != NULL);
    const oa_vk_external_buffer a = describe(&mapped_buf, 1 << 16);
    oa_vk_external_buffer b = describe(&plain_buf, 1 << 16);
    b.memory = VK_NULL_HANDLE; /* the caller may keep its memory to itself */
    uint32_t index = 99;
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &a, &index), OA_VK_SUCCESS);
    CHECK_EQ(index, 0);
    /* Three ranges of 24 KiB: two fit in the first buffer, the third goes to
     * the second only once it is added. */
    enum { N = 4 };
    oa_vk_range_info ranges[N];
    CHECK_EQ(oa_vk_alloc(m, pool, 24 << 10, 12, &ranges[0]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 24 << 10, 12, &ranges[1]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 24 << 10, 12, &ranges[2]), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &b, &index), OA_VK_SUCCESS);
    CHECK_EQ(index, 1);
    CHECK_EQ(oa_vk_alloc(m, pool, 24 << 10, 12, &ranges[2]), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 1000, 12, &ranges[3]), OA_VK_SUCCESS);
    for (int i = 0; i < N; i++) {
        CHECK(ranges[i].buffer == mapped_buf.buffer || ranges[i].buffer == plain_buf.buffer);
        CHECK_EQ(ranges[i].offset % 12, 0);
        CHECK((ranges[i].mapped != NULL) == (ranges[i].buffer == mapped_buf.buffer));
        if (ranges[i].mapped != NULL) {
            CHECK((uint8_t*)ranges[i].mapped == (uint8_t*)mapped_buf.mapped + ranges[i].offset);
        }
    }
    CHECK(ranges[2].buffer == plain_buf.buffer);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 2);
    CHECK_EQ(st.capacity, 2u << 16);
    CHECK_EQ(st.allocation_count, N);
    CHECK_EQ(st.memory_type_index, UINT32_MAX);
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t heap_count = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &heap_count), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].usage, 0); /* the caller's memory is not orderly's */

    /* Upload through the stager, read back byte for byte: the mapped ones
     * through their pointer (after invalidate), all through a GPU copy. */
    const oa_vk_stager_info si = {.ring_size = 1 << 17};
    oa_vk_stager* s = NULL;
    CHECK_EQ(oa_vk_stager_create(m, &si, &s), OA_VK_SUCCESS);
    static uint8_t data[N][4096];
    static uint8_t big[N][24 << 10];
    oa_vk_range_info pieces[N];
    for (int i = 0; i < N; i++) {
        fill(data[i], sizeof data[i], 0xE0u + (uint64_t)i);
        pieces[i] = ranges[i];
        pieces[i].size = ranges[i].size < 4096 ? ranges[i].size : 4096;
    }
    uint64_t value = 0;
    upload(m, s, pieces, data, N, &value);
    for (int i = 0; i < N; i++) {
        if (ranges[i].mapped != NULL) {
            CHECK_EQ(oa_vk_invalidate(m, ranges[i].handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
            CHECK(memcmp(ranges[i].mapped, data[i], (size_t)pieces[i].size) == 0);
        } else {
            CHECK_EQ(oa_vk_invalidate(m, ranges[i].handle, 0, VK_WHOLE_SIZE),
                     OA_VK_ERROR_NOT_MAPPED);
        }
        CHECK(vkt_read_buffer(e, ranges[i].buffer, ranges[i].offset, pieces[i].size, big[i]));
        CHECK(memcmp(big[i], data[i], (size_t)pieces[i].size) == 0);
    }
    /* The host writes a mapped range, flushes, the GPU reads it back. */
    fill(ranges[0].mapped, 512, 0x77);
    CHECK_EQ(oa_vk_flush(m, ranges[0].handle, 0, 512), OA_VK_SUCCESS);
    CHECK(vkt_read_buffer(e, ranges[0].buffer, ranges[0].offset, 512, big[0]));
    CHECK(memcmp(big[0], ranges[0].mapped, 512) == 0);

    /* Free deferred, collect, dump. */
    for (int i = 0; i < N; i++) {
        CHECK_EQ(oa_vk_free_deferred(m, ranges[i].handle, value + 1), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, N);
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(m, value, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_collect(m, value + 1, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, N);
    /* Empty caller buffers are never released, however many collects. */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(oa_vk_collect(m, value + 1, NULL), OA_VK_SUCCESS);
    }
    uint64_t released = 7;
    CHECK_EQ(oa_vk_pool_trim(m, pool, &released), OA_VK_SUCCESS);
    CHECK_EQ(released, 0);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 2);
    CHECK_EQ(st.used_size, 0);
    size_t size = 0;
    CHECK_EQ(oa_vk_dump_json(m, NULL, 0, &size), OA_VK_INCOMPLETE);
    CHECK(size > 0);
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    oa_vk_stager_destroy(s);
    vkt_fixture_destroy(&fx);

    /* The buffers are still the caller's and valid: a GPU copy reads them,
     * and destroying them ourselves raises no validation message. */
    CHECK(vkt_read_buffer(e, mapped_buf.buffer, 0, 512, big[0]));
    CHECK(memcmp(big[0], (uint8_t*)mapped_buf.mapped, 512) == 0);
    CHECK(vkt_read_buffer(e, plain_buf.buffer, ranges[2].offset, pieces[2].size, big[2]));
    CHECK(memcmp(big[2], data[2], (size_t)pieces[2].size) == 0);
    app_buffer_destroy(&mapped_buf);
    app_buffer_destroy(&plain_buf);
    VKT_TEARDOWN(&fx);
}

OA_TEST(external_pool_over_two_buffers) {
    two_buffers(0);
}

/* The same with every memory treated as non-coherent: flush and invalidate
 * reach Vulkan, at the buffer's offset inside its memory. */
OA_TEST(external_pool_non_coherent) {
    two_buffers(OA_VK_MANAGER_ASSUME_NON_COHERENT);
}

OA_TEST(external_pool_bad_input) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    app_buffer ab;
    CHECK_EQ(app_buffer_create(1 << 12, 0, app_usage, true, &ab), VK_SUCCESS);
    const oa_vk_manager_info mi = vkt_fixture_info(&fx, OA_VK_MANAGER_ASSUME_NON_COHERENT);
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info own = {.usage = app_usage};
    const oa_vk_pool_info ext = {.usage = app_usage, .flags = OA_VK_POOL_EXTERNAL};
    oa_vk_pool own_pool, pool;
    CHECK_EQ(oa_vk_pool_create(m, &own, &own_pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &ext, &pool), OA_VK_SUCCESS);
    oa_vk_external_buffer eb = describe(&ab, 1 << 12);
    eb.memory_offset = 32; /* as if bound there (lavapipe's alignment is the atom) */
    uint32_t index = 0;
    /* Non-coherent memory at offset 32: a flush could not be atom-aligned. */
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &eb, &index), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "nonCoherentAtomSize") != NULL);
    CHECK_EQ(index, UINT32_MAX);
    eb.memory_type_index = 99;
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &eb, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    eb = describe(&ab, 0);
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &eb, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    eb = describe(&ab, 1 << 12);
    eb.buffer = VK_NULL_HANDLE;
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &eb, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    /* Without its memory the buffer is taken as coherent (accepted below),
     * but only by a pool made for caller buffers. */
    eb = describe(&ab, 1 << 12);
    eb.memory = VK_NULL_HANDLE;
    CHECK_EQ(oa_vk_pool_add_buffer(m, own_pool, &eb, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "OA_VK_POOL_EXTERNAL") != NULL);
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, NULL, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool stale = {pool.id ^ (1ull << 32)};
    CHECK_EQ(oa_vk_pool_add_buffer(m, stale, &eb, NULL), OA_VK_ERROR_STALE_HANDLE);
    /* None of the refusals left a block behind. */
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 0);
    CHECK_EQ(oa_vk_pool_add_buffer(m, pool, &eb, &index), OA_VK_SUCCESS);
    CHECK_EQ(index, 0);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_flush(m, r.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    /* Pool infos that contradict themselves. */
    const oa_vk_pool_info bad = {.usage = app_usage,
                                 .intent = OA_VK_INTENT_UPLOAD,
                                 .flags = OA_VK_POOL_EXTERNAL | OA_VK_POOL_CORRUPTION_CHECK};
    oa_vk_pool p2;
    CHECK_EQ(oa_vk_pool_create(m, &bad, &p2), OA_VK_ERROR_INVALID_ARGUMENT);
    vkt_fixture_destroy(&fx); /* with a live range: the buffer stays the caller's */
    app_buffer_destroy(&ab);
    VKT_TEARDOWN(&fx);
}

/* ---- block callbacks: the application's allocator ---------------------- */

typedef struct app_allocator {
    uint32_t calls, fail_every; /* fail every Nth create (0 = never) */
    uint32_t created, destroyed, failed;
    VkDeviceSize last_size;
    bool last_mapped, last_dedicated;
} app_allocator;

static VkResult app_create(void* user, const oa_vk_block_request* req, oa_vk_external_buffer* out) {
    app_allocator* a = user;
    a->calls++;
    a->last_size = req->size;
    a->last_mapped = req->mapped;
    a->last_dedicated = req->dedicated;
    if (a->fail_every != 0 && a->calls % a->fail_every == 0) {
        a->failed++;
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    app_buffer* b = malloc(sizeof *b);
    if (b == NULL) {
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    const VkResult vr = app_buffer_create(req->size, 0, req->usage, req->mapped, b);
    if (vr != VK_SUCCESS) {
        free(b);
        return vr;
    }
    *out = describe(b, req->size);
    out->user = b;
    a->created++;
    return VK_SUCCESS;
}

static void app_destroy(void* user, const oa_vk_external_buffer* eb) {
    app_allocator* a = user;
    app_buffer* b = eb->user;
    app_buffer_destroy(b);
    free(b);
    a->destroyed++;
}

typedef struct memory_log {
    uint32_t allocated, freed;
    VkDeviceSize allocated_size, freed_size;
    VkDeviceMemory live[64];
    uint32_t live_count;
} memory_log;

static void on_allocate(void* user, uint32_t type, VkDeviceMemory memory, VkDeviceSize size) {
    memory_log* l = user;
    (void)type;
    l->allocated++;
    l->allocated_size += size;
    if (l->live_count < 64) {
        l->live[l->live_count++] = memory;
    }
}

static void on_free(void* user, uint32_t type, VkDeviceMemory memory, VkDeviceSize size) {
    memory_log* l = user;
    (void)type;
    l->freed++;
    l->freed_size += size;
    for (uint32_t i = 0; i < l->live_count; i++) {
        if (l->live[i] == memory) {
            l->live[i] = l->live[--l->live_count];
            return;
        }
    }
    l->freed += 1000; /* a memory never reported as allocated */
}

/* Blocks of 64 KiB, ranges of 40 KiB: every range needs a block of its own,
 * so every alloc calls create; every fail_every-th one fails. */
static void callbacks_run(uint32_t fail_every) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    vkt_env* e = fx.env;
    memory_log log = {0};
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    mi.device_memory_callbacks =
        (oa_vk_device_memory_callbacks){.allocate = on_allocate, .free = on_free, .user = &log};
    mi.release_delay = 1;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    app_allocator app = {.fail_every = fail_every};
    const oa_vk_pool_info info = {
        .usage = app_usage,
        .intent = OA_VK_INTENT_UPLOAD,
        .block_size = 64 << 10,
        .block_callbacks = {.create = app_create, .destroy = app_destroy, .user = &app}};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    printf("fail_every=%u\n", fail_every);
    enum { N = 12 };
    oa_vk_range_info ranges[N];
    int failures = 0;
    for (int i = 0; i < N; i++) {
        oa_vk_result r;
        while ((r = oa_vk_alloc(m, pool, 40 << 10, 4, &ranges[i])) != OA_VK_SUCCESS) {
            CHECK_EQ(r, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
            CHECK(strstr(vkt_last_log, "block_callbacks.create") != NULL);
            failures++;
        }
        CHECK(app.last_mapped);
        CHECK_EQ(app.last_size, 64 << 10);
        CHECK(ranges[i].mapped != NULL);
        fill(ranges[i].mapped, (size_t)ranges[i].size, (uint64_t)i);
    }
    CHECK_EQ((uint32_t)failures, app.failed);
    CHECK_EQ(app.created, N);
    /* A range above the block size: a dedicated block, by callback too. */
    oa_vk_range_info big;
    const uint32_t calls = app.calls;
    oa_vk_result r;
    while ((r = oa_vk_alloc(m, pool, 100 << 10, 4, &big)) != OA_VK_SUCCESS) {
        CHECK_EQ(r, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
    }
    CHECK(app.last_dedicated);
    CHECK(app.calls > calls);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, N);
    CHECK_EQ(st.dedicated_count, 1);
    /* The stager uploads into a callback-made range; the GPU reads it. */
    oa_vk_stager* s = NULL;
    const oa_vk_stager_info si = {.ring_size = 1 << 16};
    CHECK_EQ(oa_vk_stager_create(m, &si, &s), OA_VK_SUCCESS);
    CHECK_EQ(log.allocated, 1); /* the staging ring: orderly's own memory */
    static uint8_t data[1][4096];
    static uint8_t back[4096];
    fill(data[0], sizeof data[0], 0xBEEF);
    oa_vk_range_info piece = ranges[3];
    piece.size = 4096;
    uint64_t value = 0;
    upload(m, s, &piece, data, 1, &value);
    CHECK(vkt_read_buffer(e, piece.buffer, piece.offset, 4096, back));
    CHECK(memcmp(back, data[0], 4096) == 0);
    CHECK(memcmp(ranges[3].mapped, data[0], 4096) == 0);
    /* Free everything deferred; empty blocks past the first go back through
     * destroy after the release delay. */
    for (int i = 0; i < N; i++) {
        CHECK_EQ(oa_vk_free_deferred(m, ranges[i].handle, value), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_free(m, big.handle), OA_VK_SUCCESS);
    CHECK_EQ(app.destroyed, 1); /* the dedicated block */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(oa_vk_collect(m, value, NULL), OA_VK_SUCCESS);
    }
    CHECK_EQ(app.destroyed, N); /* all but the pool's first block */
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 1);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    CHECK_EQ(app.destroyed, app.created); /* N blocks and the dedicated one */
    oa_vk_stager_destroy(s);
    vkt_fixture_destroy(&fx);
    /* Every VkDeviceMemory orderly made was reported, and freed. */
    CHECK_EQ(log.allocated, 1);
    CHECK_EQ(log.freed, 1);
    CHECK_EQ(log.live_count, 0);
    CHECK_EQ(log.allocated_size, log.freed_size);
    VKT_TEARDOWN(&fx);
}

OA_TEST(block_callbacks_never_failing) {
    callbacks_run(0);
}

OA_TEST(block_callbacks_failing_every_nth) {
    for (uint32_t n = 2; n <= 5; n++) {
        callbacks_run(n);
    }
}

/* A create callback that hands back less than asked, or no mapping for a
 * mapped pool: the block is refused, given straight back to destroy, and
 * the pool holds nothing. */
static VkResult short_create(void* user, const oa_vk_block_request* req,
                             oa_vk_external_buffer* out) {
    app_allocator* a = user;
    const VkResult r = app_create(user, req, out);
    if (r == VK_SUCCESS) {
        if (a->calls % 2 == 1) {
            out->size = req->size / 2;
        } else {
            out->mapped = NULL;
        }
    }
    return r;
}

OA_TEST(block_callbacks_short_block_refused) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    app_allocator app = {0};
    const oa_vk_pool_info info = {
        .usage = app_usage,
        .intent = OA_VK_INTENT_UPLOAD,
        .block_size = 64 << 10,
        .block_callbacks = {.create = short_create, .destroy = app_destroy, .user = &app}};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "gave 32768 bytes for 65536") != NULL);
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "no mapping") != NULL);
    CHECK_EQ(app.created, 2);
    CHECK_EQ(app.destroyed, 2);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.block_count, 0);
    VKT_TEARDOWN(&fx);
}

OA_TEST(block_callbacks_bad_info) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    app_allocator app = {0};
    oa_vk_pool_info info = {.usage = app_usage, .block_callbacks = {.create = app_create}};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    info.block_callbacks.destroy = app_destroy;
    info.block_callbacks.user = &app;
    info.flags = OA_VK_POOL_EXTERNAL;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(app.calls, 0);
    VKT_TEARDOWN(&fx);
}

/* The informative callbacks see every VkDeviceMemory of orderly's own
 * blocks, with the size and type it allocated, and each one freed. */
OA_TEST(device_memory_callbacks_see_every_block) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    memory_log log = {0};
    oa_vk_manager_info mi = vkt_fixture_info(&fx, 0);
    mi.device_memory_callbacks =
        (oa_vk_device_memory_callbacks){.allocate = on_allocate, .free = on_free, .user = &log};
    mi.release_delay = 1;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = app_usage, .block_size = 64 << 10};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[4];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 40 << 10, 1, &r[i]), OA_VK_SUCCESS);
    }
    CHECK_EQ(log.allocated, 4);
    CHECK(log.allocated_size >= 4 * (64 << 10));
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_get_heap_stats(m, heaps, &n), OA_VK_SUCCESS);
    CHECK_EQ(heaps[0].usage, log.allocated_size);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_collect(m, 0, NULL), OA_VK_SUCCESS);
    CHECK_EQ(log.freed, 3); /* the pool keeps its first block */
    CHECK_EQ(log.live_count, 1);
    vkt_fixture_destroy(&fx);
    CHECK_EQ(log.freed, 4);
    CHECK_EQ(log.live_count, 0);
    CHECK_EQ(log.allocated_size, log.freed_size);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
