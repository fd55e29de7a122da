/* test_vk_ring.c - ring pools on lavapipe under core and synchronization
 * validation: frames in flight whose ranges the host writes and the GPU
 * copies out (checked byte for byte once each frame retires), wrap-around,
 * a frame larger than what is left of a block (it continues in the next
 * block), a full ring (a clear error until a frame retires), non-coherent
 * memory (end_frame flushes), and the errors. A model of the live frames
 * checks after every allocation that no range overlaps a range of a frame
 * still in flight. */
#include "vk_test_common.h"

#define IN_FLIGHT 3
#define MAX_PER_FRAME 64
#define SLOT_BYTES (128u << 10)

typedef struct live_range {
    VkBuffer buffer;
    VkDeviceSize offset, size;
    uint64_t value; /* the frame's value; UINT64_MAX while the frame is open */
} live_range;

typedef struct model {
    live_range r[IN_FLIGHT * MAX_PER_FRAME * 2];
    uint32_t count;
} model;

static uint32_t behind_live; /* allocations placed before a live range of their block */

static bool model_add(model* md, const oa_vk_range_info* r) {
    bool behind = false;
    for (uint32_t i = 0; i < md->count; i++) {
        const live_range* l = &md->r[i];
        behind |= l->buffer == r->buffer && r->offset + r->size <= l->offset;
        if (l->buffer == r->buffer && r->offset < l->offset + l->size &&
            l->offset < r->offset + r->size) {
            fprintf(stderr, "overlap: [%llu, +%llu) over [%llu, +%llu) of frame %llu\n",
                    (unsigned long long)r->offset, (unsigned long long)r->size,
                    (unsigned long long)l->offset, (unsigned long long)l->size,
                    (unsigned long long)l->value);
            return false;
        }
    }
    if (md->count == sizeof md->r / sizeof md->r[0]) {
        return false;
    }
    md->r[md->count++] = (live_range){r->buffer, r->offset, r->size, UINT64_MAX};
    behind_live += behind;
    return true;
}

static void model_end_frame(model* md, uint64_t value) {
    for (uint32_t i = 0; i < md->count; i++) {
        if (md->r[i].value == UINT64_MAX) {
            md->r[i].value = value;
        }
    }
}

static void model_collect(model* md, uint64_t completed) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < md->count; i++) {
        if (md->r[i].value > completed) {
            md->r[i - (i - kept)] = md->r[i];
            kept++;
        }
    }
    md->count = kept;
}

/* A host-visible buffer the GPU copies ring ranges into: one slot of
 * SLOT_BYTES per frame in flight. */
typedef struct readback {
    VkBuffer buffer;
    VkDeviceMemory memory;
    uint8_t* mapped;
} readback;

static bool readback_create(readback* rb) {
    vkt_env* e = vkt();
    const VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                   .size = SLOT_BYTES * IN_FLIGHT,
                                   .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT};
    if (vkCreateBuffer(e->device, &bi, NULL, &rb->buffer) != VK_SUCCESS) {
        return false;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(e->device, rb->buffer, &req);
    uint32_t type = 0;
    while ((req.memoryTypeBits & (1u << type)) == 0 ||
           (e->memory_properties.memoryTypes[type].propertyFlags &
            (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) !=
               (VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
        type++;
    }
    const VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                     .allocationSize = req.size,
                                     .memoryTypeIndex = type};
    void* p = NULL;
    return vkAllocateMemory(e->device, &ai, NULL, &rb->memory) == VK_SUCCESS &&
           vkBindBufferMemory(e->device, rb->buffer, rb->memory, 0) == VK_SUCCESS &&
           vkMapMemory(e->device, rb->memory, 0, VK_WHOLE_SIZE, 0, &p) == VK_SUCCESS &&
           (rb->mapped = p) != NULL;
}

static void readback_destroy(readback* rb) {
    vkt_env* e = vkt();
    vkDestroyBuffer(e->device, rb->buffer, NULL);
    vkFreeMemory(e->device, rb->memory, NULL);
}

static uint8_t byte_of(uint64_t frame, uint32_t index, VkDeviceSize i) {
    return (uint8_t)(frame * 31u + index * 7u + i);
}

typedef struct frame_record {
    uint64_t value;
    uint32_t count;
    VkDeviceSize size[MAX_PER_FRAME];
    VkDeviceSize dst[MAX_PER_FRAME];
} frame_record;

/* Check a retired frame: the GPU's copies hold what the host wrote. */
static bool frame_ok(const readback* rb, const frame_record* f, uint64_t frame) {
    for (uint32_t k = 0; k < f->count; k++) {
        const uint8_t* got = rb->mapped + f->dst[k];
        for (VkDeviceSize i = 0; i < f->size[k]; i++) {
            if (got[i] != byte_of(frame, k, i)) {
                fprintf(stderr, "frame %llu range %u byte %llu: %u != %u\n",
                        (unsigned long long)frame, k, (unsigned long long)i, got[i],
                        byte_of(frame, k, i));
                return false;
            }
        }
    }
    return true;
}

/* `frames` frames, IN_FLIGHT at a time; each allocates a random number of
 * ranges, writes them, and copies them out on the GPU. */
static void frames_in_flight(uint32_t manager_flags, int frames) {
    vkt_env* e = vkt();
    VKT_FIXTURE(fx, manager_flags);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                  .intent = OA_VK_INTENT_DYNAMIC,
                                  .block_size = 16 << 10,
                                  .max_block_count = 6,
                                  .flags = OA_VK_POOL_RING,
                                  .name = "frame ring"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    readback rb;
    CHECK(readback_create(&rb));
    static model md;
    memset(&md, 0, sizeof md);
    static frame_record rec[IN_FLIGHT];
    memset(rec, 0, sizeof rec);
    uint64_t seed = 0x5EED0000u + manager_flags;
    printf("seed=0x%llx flags=0x%x\n", (unsigned long long)seed, manager_flags);
    uint32_t wraps = 0, block_moves = 0;
    VkBuffer last_buffer = VK_NULL_HANDLE;
    VkDeviceSize last_end = 0;
    for (int frame = 0; frame < frames; frame++) {
        const int slot = frame % IN_FLIGHT;
        /* The slot's previous frame must retire before its readback slot is
         * reused: wait, check it, and collect up to it only (as a renderer
         * that waits on the fence of frame N - IN_FLIGHT), so that
         * IN_FLIGHT - 1 frames stay in the ring however fast the GPU is. */
        uint64_t completed = 0;
        if (rec[slot].value != 0) {
            CHECK(vkt_wait(e, rec[slot].value));
            CHECK(frame_ok(&rb, &rec[slot], (uint64_t)(frame - IN_FLIGHT)));
            completed = rec[slot].value;
        }
        CHECK_EQ(oa_vk_collect(m, completed, NULL), OA_VK_SUCCESS);
        model_collect(&md, completed);

        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        frame_record* f = &rec[slot];
        /* Frames of about 10 KiB in blocks of 16 KiB: the head keeps
         * catching up with the frames in flight. Every 9th frame is large:
         * more than two blocks' worth. */
        const uint32_t count = frame % 9 == 8 ? 12 : 4 + (uint32_t)(vkt_splitmix64(&seed) % 12);
        VkDeviceSize dst = (VkDeviceSize)slot * SLOT_BYTES;
        f->count = 0;
        VkBufferCopy copies[MAX_PER_FRAME];
        VkBuffer sources[MAX_PER_FRAME];
        for (uint32_t k = 0; k < count; k++) {
            const VkDeviceSize size = frame % 9 == 8 ? 3000 : 16 + vkt_splitmix64(&seed) % 2000;
            const VkDeviceSize align = (VkDeviceSize[]){1, 16, 64, 256}[k % 4];
            oa_vk_range_info r;
            CHECK_EQ(oa_vk_ring_alloc(m, pool, size, align, &r), OA_VK_SUCCESS);
            CHECK_EQ(r.handle.id, 0);
            CHECK_EQ(r.offset % align, 0);
            CHECK(r.mapped != NULL);
            CHECK(model_add(&md, &r));
            if (r.buffer == last_buffer && r.offset < last_end) {
                wraps++;
            }
            if (last_buffer != VK_NULL_HANDLE && r.buffer != last_buffer) {
                block_moves++;
            }
            last_buffer = r.buffer;
            last_end = r.offset + r.size;
            uint8_t* p = r.mapped;
            for (VkDeviceSize i = 0; i < size; i++) {
                p[i] = byte_of((uint64_t)frame, k, i);
            }
            copies[k] = (VkBufferCopy){.srcOffset = r.offset, .dstOffset = dst, .size = size};
            sources[k] = r.buffer;
            f->size[k] = size;
            f->dst[k] = dst;
            dst += size;
            f->count++;
        }
        CHECK(dst <= (VkDeviceSize)(slot + 1) * SLOT_BYTES);
        CHECK_EQ(oa_vk_ring_end_frame(m, pool, value), OA_VK_SUCCESS);
        model_end_frame(&md, value);
        /* Host writes are visible to the submit; the copies read them, then
         * a barrier makes the copies visible to the host. */
        for (uint32_t k = 0; k < count; k++) {
            vkCmdCopyBuffer(cmd, sources[k], rb.buffer, 1, &copies[k]);
        }
        const VkMemoryBarrier to_host = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                         .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                                         .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                             &to_host, 0, NULL, 0, NULL);
        CHECK_EQ(vkt_submit(e, cmd), value);
        f->value = value;
    }
    /* Drain: the last frames retire and are checked. */
    for (int frame = frames; frame < frames + IN_FLIGHT; frame++) {
        const int slot = frame % IN_FLIGHT;
        CHECK(vkt_wait(e, rec[slot].value));
        CHECK(frame_ok(&rb, &rec[slot], (uint64_t)(frame - IN_FLIGHT)));
    }
    printf("wraps=%u block_moves=%u behind_live=%u\n", wraps, block_moves, behind_live);
    CHECK(wraps > 0);       /* the ring wrapped to offset 0 */
    CHECK(behind_live > 0); /* and carved behind frames still in flight */
    CHECK(block_moves > 0); /* large frames went on in the other block */
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK(st.allocation_count > 0);
    CHECK_EQ(oa_vk_collect(m, e->timeline_value, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 0);
    CHECK_EQ(st.used_size, 0);
    CHECK_EQ(st.free_size, st.capacity);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    readback_destroy(&rb);
    VKT_TEARDOWN(&fx);
}

OA_TEST(frames_in_flight_wrap_and_next_block) {
    frames_in_flight(0, 60);
}

/* Non-coherent memory: sizes round to the atom and end_frame flushes. */
OA_TEST(frames_in_flight_non_coherent) {
    frames_in_flight(OA_VK_MANAGER_ASSUME_NON_COHERENT, 30);
}

/* A frame larger than the whole ring: the next block, then a clear error
 * once max_block_count blocks are full of frames in flight; after the
 * frames retire the same request succeeds. */
OA_TEST(full_ring_is_a_clear_error) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_DYNAMIC,
                                  .block_size = 4096,
                                  .max_block_count = 2,
                                  .flags = OA_VK_POOL_RING};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    oa_vk_range_info r[8];
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(oa_vk_ring_alloc(m, pool, 2048, 1, &r[i]), OA_VK_SUCCESS);
    }
    CHECK(r[0].buffer == r[1].buffer);
    CHECK(r[2].buffer != r[0].buffer);
    CHECK_EQ(r[2].offset, 0);
    vkt_last_log[0] = 0;
    CHECK_EQ(oa_vk_ring_alloc(m, pool, 16, 1, &r[4]), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    CHECK(strstr(vkt_last_log, "max_block_count") != NULL);
    CHECK_EQ(r[4].buffer, VK_NULL_HANDLE);
    CHECK_EQ(oa_vk_ring_end_frame(m, pool, 5), OA_VK_SUCCESS);
    /* Not yet retired: still full. */
    CHECK_EQ(oa_vk_collect(m, 4, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_ring_alloc(m, pool, 16, 1, &r[4]), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(m, 5, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 4);
    CHECK_EQ(oa_vk_ring_alloc(m, pool, 16, 1, &r[4]), OA_VK_SUCCESS);
    CHECK_EQ(r[4].offset, 0);
    /* Stats, the dump and the walk see the ring's one live range. */
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 1);
    CHECK(st.used_size >= 16 && st.used_size < 256);
    size_t size = 0;
    char text[8192];
    CHECK_EQ(oa_vk_dump_json(m, text, sizeof text, &size), OA_VK_SUCCESS);
    CHECK(strstr(text, "\"is_free\":false") != NULL);
    /* Frames retire in order: a value below the previous is refused. */
    CHECK_EQ(oa_vk_ring_end_frame(m, pool, 4), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_end_frame(m, pool, 6), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_ERROR_LIVE_RANGES);
    CHECK_EQ(oa_vk_collect(m, 6, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    VKT_TEARDOWN(&fx);
}

OA_TEST(ring_errors) {
    VKT_FIXTURE(fx, 0);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info ring_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                       .intent = OA_VK_INTENT_DYNAMIC,
                                       .block_size = 4096,
                                       .flags = OA_VK_POOL_RING};
    const oa_vk_pool_info plain_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                        .intent = OA_VK_INTENT_DYNAMIC};
    oa_vk_pool ring, plain;
    CHECK_EQ(oa_vk_pool_create(m, &ring_info, &ring), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &plain_info, &plain), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, ring, 16, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "oa_vk_ring_alloc") != NULL);
    CHECK_EQ(oa_vk_ring_alloc(m, plain, 16, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_end_frame(m, plain, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_alloc(m, ring, 0, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_alloc(m, ring, 16, 0, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_alloc(m, ring, 4097, 1, &r), OA_VK_ERROR_TOO_LARGE);
    CHECK_EQ(oa_vk_ring_alloc(m, ring, 16, 1, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_ring_alloc(NULL, ring, 16, 1, &r), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool stale = {ring.id ^ (1ull << 32)};
    CHECK_EQ(oa_vk_ring_alloc(m, stale, 16, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_ring_end_frame(m, stale, 1), OA_VK_ERROR_STALE_HANDLE);
    oa_vk_pool_info bad = ring_info;
    bad.flags = OA_VK_POOL_RING | OA_VK_POOL_EXTERNAL;
    oa_vk_pool p;
    CHECK_EQ(oa_vk_pool_create(m, &bad, &p), OA_VK_ERROR_INVALID_ARGUMENT);
    /* More frames than marks: a clear error, the frame stays open. */
    for (uint32_t i = 0; i < OA_VK_RING_MAX_MARKS; i++) {
        CHECK_EQ(oa_vk_ring_alloc(m, ring, 16, 1, &r), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_ring_end_frame(m, ring, i + 1), OA_VK_SUCCESS);
    }
    CHECK_EQ(oa_vk_ring_alloc(m, ring, 16, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_ring_end_frame(m, ring, 100), OA_VK_ERROR_OUT_OF_POOL_SPACE);
    CHECK_EQ(oa_vk_collect(m, 1, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_ring_end_frame(m, ring, 100), OA_VK_SUCCESS);
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(m, 100, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, OA_VK_RING_MAX_MARKS);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
