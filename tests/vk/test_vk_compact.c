/* test_vk_compact.c - compaction passes on a real device under the validation
 * layer (synchronization validation included): random meshes of random bytes
 * uploaded through the stager, half of them freed at random, then passes of
 * bounded size until none helps, every byte of every live range read back
 * from the GPU after each pass; what stays owned until the pass's value;
 * uploads queued before a move; pinned ranges; bad input. */
#include "vk_test_common.h"

#define KiB (1ull << 10)

enum { MESH_MAX = 400 };

typedef struct mesh {
    oa_vk_range_info info;
    VkDeviceSize align;
    uint8_t* bytes;
    bool live;
} mesh;

typedef struct world {
    oa_vk_manager* m;
    oa_vk_pool pool;
    VkDeviceSize block_size;
    oa_vk_stager* stager;
    mesh meshes[MESH_MAX];
    uint32_t count;
} world;

static const oa_vk_pool_info mesh_pool_info = {
    .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
             VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
    .block_size = 1024 * KiB,
    .max_block_count = 1,
    .name = "meshes"};

static void fill_random(uint8_t* p, size_t n, uint64_t* seed) {
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)vkt_splitmix64(seed);
    }
}

static uint64_t submit(vkt_env* e, VkCommandBuffer cmd) {
    return vkt_submit_wait(e, cmd);
}

/* Allocate and upload up to `n` meshes of random sizes, strides and bytes,
 * until the pool's one block is full. */
static bool world_fill(world* w, uint32_t n, uint64_t* seed) {
    static const VkDeviceSize strides[] = {4, 12, 16, 20, 24, 32, 36};
    vkt_env* e = vkt();
    for (uint32_t i = 0; i < n && w->count < MESH_MAX; i++) {
        mesh* me = &w->meshes[w->count];
        const VkDeviceSize stride = strides[vkt_splitmix64(seed) % 7];
        const VkDeviceSize size = stride * (1 + vkt_splitmix64(seed) % (12 * KiB / stride));
        const oa_vk_result r = oa_vk_alloc(w->m, w->pool, size, stride, &me->info);
        if (r == OA_VK_ERROR_OUT_OF_POOL_SPACE) {
            break;
        }
        if (r != OA_VK_SUCCESS) {
            return false;
        }
        me->align = stride;
        me->bytes = malloc((size_t)size);
        fill_random(me->bytes, (size_t)size, seed);
        me->live = true;
        if (oa_vk_stager_upload(w->stager, me->info.handle, 0, me->bytes, size, NULL) !=
            OA_VK_SUCCESS) {
            return false;
        }
        w->count++;
    }
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    if (oa_vk_stager_record(w->stager, cmd, value) != OA_VK_SUCCESS || submit(e, cmd) != value) {
        return false;
    }
    return oa_vk_stager_collect(w->stager, value) == OA_VK_SUCCESS;
}

static bool world_verify_buffer(world* w, VkBuffer buffer, uint8_t* copy, const char* when);

/* Every live mesh: its descriptor is current, aligned to its stride, and its
 * bytes on the GPU are those uploaded. Reads each block buffer once. */
static bool world_verify(world* w, const char* when) {
    VkBuffer seen[8];
    uint32_t seen_count = 0;
    uint8_t* copy = malloc((size_t)w->block_size);
    bool ok = true;
    for (uint32_t i = 0; i < w->count && ok; i++) {
        oa_vk_range_info now;
        if (!w->meshes[i].live ||
            oa_vk_range_get_info(w->m, w->meshes[i].info.handle, &now) != OA_VK_SUCCESS) {
            continue;
        }
        bool known = false;
        for (uint32_t k = 0; k < seen_count; k++) {
            known = known || seen[k] == now.buffer;
        }
        if (!known && seen_count < 8) {
            seen[seen_count++] = now.buffer;
            ok = world_verify_buffer(w, now.buffer, copy, when);
        }
    }
    free(copy);
    return ok;
}

/* The meshes of one buffer (and any mesh no longer live: a failure). */
static bool world_verify_buffer(world* w, VkBuffer buffer, uint8_t* copy, const char* when) {
    if (!vkt_read_buffer(vkt(), buffer, 0, w->block_size, copy)) {
        return false;
    }
    bool ok = true;
    for (uint32_t i = 0; i < w->count && ok; i++) {
        mesh* me = &w->meshes[i];
        if (!me->live) {
            continue;
        }
        oa_vk_range_info now;
        if (oa_vk_range_get_info(w->m, me->info.handle, &now) != OA_VK_SUCCESS) {
            printf("%s: mesh %u is no longer live\n", when, i);
            ok = false;
            break;
        }
        if (now.buffer != buffer) {
            continue;
        }
        me->info = now;
        if (now.offset % me->align != 0) {
            printf("%s: mesh %u at %llu lost its stride %llu\n", when, i,
                   (unsigned long long)now.offset, (unsigned long long)me->align);
            ok = false;
            break;
        }
        if (memcmp(copy + now.offset, me->bytes, (size_t)now.size) != 0) {
            printf("%s: mesh %u (%llu bytes at %llu) differs\n", when, i,
                   (unsigned long long)now.size, (unsigned long long)now.offset);
            ok = false;
        }
    }
    return ok;
}

static void world_free_half(world* w, uint64_t* seed) {
    for (uint32_t i = 0; i < w->count; i++) {
        if (w->meshes[i].live && vkt_splitmix64(seed) % 2 == 0) {
            CHECK_EQ(oa_vk_free(w->m, w->meshes[i].info.handle), OA_VK_SUCCESS);
            w->meshes[i].live = false;
        }
    }
}

/* A world over the fixture's manager (the fixture's teardown destroys it). */
static void world_init_with(world* w, vkt_fixture* fx, const oa_vk_pool_info* info) {
    memset(w, 0, sizeof *w);
    w->m = fx->manager;
    CHECK(w->m != NULL);
    w->block_size = info->block_size;
    w->pool = vkt_pool(fx, info);
    CHECK(w->pool.id != 0);
    const oa_vk_stager_info sinfo = {.ring_size = 4096 * KiB};
    CHECK_EQ(oa_vk_stager_create(w->m, &sinfo, &w->stager), OA_VK_SUCCESS);
}

static void world_init(world* w, vkt_fixture* fx) {
    world_init_with(w, fx, &mesh_pool_info);
}

static void world_destroy(world* w) {
    for (uint32_t i = 0; i < w->count; i++) {
        free(w->meshes[i].bytes);
    }
    oa_vk_stager_destroy(w->stager);
}

static double pool_fragmentation(world* w) {
    oa_vk_pool_stats ps;
    (void)oa_vk_pool_get_stats(w->m, w->pool, &ps);
    return ps.fragmentation;
}

static mesh* mesh_of(world* w, oa_vk_range r) {
    for (uint32_t i = 0; i < w->count; i++) {
        if (w->meshes[i].live && w->meshes[i].info.handle.id == r.id) {
            return &w->meshes[i];
        }
    }
    return NULL;
}

OA_TEST(random_meshes_compacted_in_passes_keep_every_byte) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0x5EED0C0Aull;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    CHECK(world_fill(&w, MESH_MAX, &seed));
    world_free_half(&w, &seed);
    CHECK(world_verify(&w, "before"));
    const double first = pool_fragmentation(&w);
    printf("fragmentation before compaction: %.3f\n", first);
    CHECK(first > 0.5);
    oa_vk_compact_move moves[24];
    int passes = 0;
    VkDeviceSize total_moved = 0;
    for (;;) {
        const double frag = pool_fragmentation(&w);
        const oa_vk_compact_limits limits = {.max_bytes = 96 * KiB};
        uint32_t n = 0;
        oa_vk_compact_stats st;
        const oa_vk_result r = oa_vk_compact_begin(w.m, w.pool, &limits, moves, 24, &n, &st);
        if (r == OA_VK_NOT_NEEDED) {
            CHECK_EQ(n, 0);
            CHECK_EQ(st.move_count, 0);
            break;
        }
        CHECK_EQ(r, OA_VK_SUCCESS);
        CHECK(n > 0 && n <= 24);
        CHECK_EQ(st.move_count, n);
        CHECK(st.fragmentation_before == frag);
        VkDeviceSize bytes = 0;
        for (uint32_t k = 0; k < n; k++) {
            mesh* me = mesh_of(&w, moves[k].range);
            CHECK(me != NULL);
            CHECK(moves[k].old_buffer == me->info.buffer);
            CHECK(moves[k].new_buffer == me->info.buffer);
            CHECK_EQ(moves[k].old_offset, me->info.offset);
            CHECK(moves[k].new_offset < moves[k].old_offset);
            CHECK_EQ(moves[k].new_offset % me->align, 0);
            CHECK(moves[k].size >= me->info.size);
            bytes += moves[k].size;
            /* Not moved yet: the descriptor keeps the old place. */
            oa_vk_range_info now;
            CHECK_EQ(oa_vk_range_get_info(w.m, moves[k].range, &now), OA_VK_SUCCESS);
            CHECK_EQ(now.offset, moves[k].old_offset);
        }
        CHECK_EQ(st.moved_size, bytes);
        /* The bound holds. */
        CHECK(bytes <= limits.max_bytes);
        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
        for (uint32_t k = 0; k < n; k++) {
            oa_vk_range_info now;
            CHECK_EQ(oa_vk_range_get_info(w.m, moves[k].range, &now), OA_VK_SUCCESS);
            CHECK_EQ(now.offset, moves[k].new_offset);
        }
        CHECK_EQ(submit(e, cmd), value);
        CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_compact_get_stats(w.m, w.pool, &st), OA_VK_SUCCESS);
        CHECK(st.is_recorded && st.is_complete);
        CHECK_EQ(st.recorded_count, n);
        CHECK_EQ(st.value, value);
        CHECK(st.largest_free_size_after >= st.largest_free_size_before);
        CHECK(st.fragmentation_after <= st.fragmentation_before);
        CHECK(st.fragmentation_after == pool_fragmentation(&w));
        passes++;
        total_moved += bytes;
        printf("pass %d: %u moves, %llu bytes, fragmentation %.3f -> %.3f\n", passes, n,
               (unsigned long long)bytes, st.fragmentation_before, st.fragmentation_after);
        char when[32];
        snprintf(when, sizeof when, "after pass %d", passes);
        CHECK(world_verify(&w, when));
        CHECK(passes < 200);
    }
    const double last = pool_fragmentation(&w);
    printf("fragmentation after %d passes (%llu bytes moved): %.3f -> %.3f\n", passes,
           (unsigned long long)total_moved, first, last);
    CHECK(passes >= 3);
    CHECK(last < first / 2);
    /* The pool still serves and frees as before. */
    CHECK(world_fill(&w, 20, &seed));
    CHECK(world_verify(&w, "after refill"));
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* A pool of four blocks, most of their meshes freed: passes move the
 * meshes of the emptiest block (not the first) into the others' holes, so
 * that block empties and goes back after the release delay; every byte is
 * checked after each pass. */
OA_TEST(passes_empty_a_sparse_block_into_the_others) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    oa_vk_pool_info info = mesh_pool_info;
    info.block_size = 256 * KiB;
    info.max_block_count = 4;
    world w;
    world_init_with(&w, &fx, &info);
    uint64_t seed = 0xC2055ull;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    CHECK(world_fill(&w, MESH_MAX, &seed));
    oa_vk_pool_stats ps;
    CHECK_EQ(oa_vk_pool_get_stats(w.m, w.pool, &ps), OA_VK_SUCCESS);
    CHECK_EQ(ps.block_count, 4);
    for (uint32_t i = 0; i < w.count; i++) {
        if (w.meshes[i].live && vkt_splitmix64(&seed) % 10 < 7) {
            CHECK_EQ(oa_vk_free(w.m, w.meshes[i].info.handle), OA_VK_SUCCESS);
            w.meshes[i].live = false;
        }
    }
    CHECK(world_verify(&w, "before"));
    oa_vk_compact_move moves[32];
    int passes = 0;
    uint32_t cross = 0;
    for (;;) {
        const oa_vk_compact_limits limits = {.max_bytes = 64 * KiB};
        uint32_t n = 0;
        const oa_vk_result r = oa_vk_compact_begin(w.m, w.pool, &limits, moves, 32, &n, NULL);
        if (r == OA_VK_NOT_NEEDED) {
            break;
        }
        CHECK_EQ(r, OA_VK_SUCCESS);
        VkDeviceSize bytes = 0;
        for (uint32_t k = 0; k < n; k++) {
            const mesh* me = mesh_of(&w, moves[k].range);
            CHECK(me != NULL);
            CHECK(moves[k].old_buffer == me->info.buffer);
            CHECK_EQ(moves[k].old_offset, me->info.offset);
            CHECK_EQ(moves[k].new_offset % me->align, 0);
            if (moves[k].new_buffer != moves[k].old_buffer) {
                cross++;
            } else {
                CHECK(moves[k].new_offset < moves[k].old_offset);
            }
            bytes += moves[k].size;
        }
        CHECK(bytes <= limits.max_bytes);
        VkCommandBuffer cmd = vkt_begin(e);
        const uint64_t value = e->timeline_value + 1;
        CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
        for (uint32_t k = 0; k < n; k++) {
            oa_vk_range_info now;
            CHECK_EQ(oa_vk_range_get_info(w.m, moves[k].range, &now), OA_VK_SUCCESS);
            CHECK(now.buffer == moves[k].new_buffer);
            CHECK_EQ(now.offset, moves[k].new_offset);
        }
        CHECK_EQ(submit(e, cmd), value);
        CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
        passes++;
        char when[32];
        snprintf(when, sizeof when, "after pass %d", passes);
        CHECK(world_verify(&w, when));
        CHECK(passes < 300);
    }
    /* The release delay: a few more collects. */
    for (int k = 0; k < 4; k++) {
        CHECK_EQ(oa_vk_collect(w.m, e->timeline_value, NULL), OA_VK_SUCCESS);
    }
    oa_vk_pool_stats after;
    CHECK_EQ(oa_vk_pool_get_stats(w.m, w.pool, &after), OA_VK_SUCCESS);
    printf("%d passes, %u moves into another block: blocks %llu -> %llu, fragmentation %.3f\n",
           passes, cross, (unsigned long long)ps.block_count, (unsigned long long)after.block_count,
           after.fragmentation);
    CHECK(cross > 0);
    CHECK(after.block_count < ps.block_count);
    CHECK(world_verify(&w, "after the blocks went"));
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* What the walk shows of a block while a pass is recorded. */
typedef struct pass_walk {
    const oa_vk_compact_move* moves;
    uint32_t count;
    VkDeviceSize expect; /* where the next region must start */
    bool tiles;
    uint32_t at_new, held_old; /* moved ranges seen at their new place; old places held */
} pass_walk;

static bool see_region(void* user, const oa_vk_region_info* r) {
    pass_walk* w = (pass_walk*)user;
    w->tiles = w->tiles && r->offset == w->expect;
    w->expect = r->offset + r->size;
    for (uint32_t k = 0; k < w->count; k++) {
        if (r->offset == w->moves[k].new_offset && r->range.id == w->moves[k].range.id) {
            w->at_new++;
        }
        if (r->offset == w->moves[k].old_offset && !r->is_free && r->range.id == 0) {
            w->held_old++;
        }
    }
    return true;
}

/* After record the old bytes stay the range's until the pass's value: the
 * range cannot be freed at once, a deferred free waits for the pass, and
 * nothing new lands on either place. */
OA_TEST(moved_ranges_hold_their_old_bytes_until_the_pass_value) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0xB17E5ull;
    printf("seed=0x%llx\n", (unsigned long long)seed);
    CHECK(world_fill(&w, 40, &seed));
    world_free_half(&w, &seed);
    oa_vk_compact_move moves[8];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 8, &n, NULL), OA_VK_SUCCESS);
    CHECK(n >= 2);
    /* Between begin and record, new ranges avoid sources and destinations. */
    oa_vk_range_info extra;
    CHECK_EQ(oa_vk_alloc(w.m, w.pool, 1000, 4, &extra), OA_VK_SUCCESS);
    for (uint32_t k = 0; k < n; k++) {
        const VkDeviceSize lo = extra.offset, hi = extra.offset + 1000;
        CHECK(extra.buffer != moves[k].old_buffer || hi <= moves[k].old_offset ||
              lo >= moves[k].old_offset + moves[k].size);
        CHECK(extra.buffer != moves[k].new_buffer || hi <= moves[k].new_offset ||
              lo >= moves[k].new_offset + moves[k].size);
    }
    CHECK_EQ(oa_vk_free(w.m, extra.handle), OA_VK_SUCCESS);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
    oa_vk_pool_stats ps0;
    CHECK_EQ(oa_vk_pool_get_stats(w.m, w.pool, &ps0), OA_VK_SUCCESS);
    /* The walk shows each moved range at its new place and its old place
     * as used bytes of no range; the regions still tile the block, and the
     * dump reads the same state. */
    pass_walk pw = {.moves = moves, .count = n, .tiles = true};
    CHECK_EQ(oa_vk_pool_walk(w.m, w.pool, see_region, &pw), OA_VK_SUCCESS);
    CHECK(pw.tiles);
    CHECK_EQ(pw.expect, mesh_pool_info.block_size);
    CHECK_EQ(pw.at_new, n);
    CHECK_EQ(pw.held_old, n);
    size_t dump_size = 0;
    CHECK_EQ(oa_vk_dump_json(w.m, NULL, 0, &dump_size), OA_VK_INCOMPLETE);
    char* dump = malloc(dump_size + 1);
    CHECK_EQ(oa_vk_dump_json(w.m, dump, dump_size + 1, &dump_size), OA_VK_SUCCESS);
    free(dump);
    /* Freeing a moved range now is refused and changes nothing. */
    CHECK_EQ(oa_vk_free(w.m, moves[0].range), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "compaction") != NULL);
    oa_vk_range_info now;
    CHECK_EQ(oa_vk_range_get_info(w.m, moves[0].range, &now), OA_VK_SUCCESS);
    CHECK_EQ(now.offset, moves[0].new_offset);
    /* A deferred free with an earlier value waits for the pass. */
    CHECK_EQ(oa_vk_free_deferred(w.m, moves[1].range, value - 1), OA_VK_SUCCESS);
    mesh_of(&w, moves[1].range)->live = false;
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(w.m, value - 1, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    oa_vk_pool_stats ps1;
    CHECK_EQ(oa_vk_pool_get_stats(w.m, w.pool, &ps1), OA_VK_SUCCESS);
    CHECK_EQ(ps1.pending_count, 1);
    CHECK_EQ(ps1.used_size, ps0.used_size);
    /* Nothing new lands on an old place or a new one while the copy may run. */
    oa_vk_range_info fill[64];
    uint32_t got = 0;
    while (got < 64 && oa_vk_alloc(w.m, w.pool, 256, 4, &fill[got]) == OA_VK_SUCCESS) {
        for (uint32_t k = 0; k < n; k++) {
            const VkDeviceSize lo = fill[got].offset, hi = lo + 256;
            CHECK(fill[got].buffer != moves[k].old_buffer || hi <= moves[k].old_offset ||
                  lo >= moves[k].old_offset + moves[k].size);
            CHECK(fill[got].buffer != moves[k].new_buffer || hi <= moves[k].new_offset ||
                  lo >= moves[k].new_offset + moves[k].size);
        }
        got++;
    }
    for (uint32_t i = 0; i < got; i++) {
        CHECK_EQ(oa_vk_free(w.m, fill[i].handle), OA_VK_SUCCESS);
    }
    CHECK_EQ(submit(e, cmd), value);
    CHECK_EQ(oa_vk_collect(w.m, value, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 1);
    CHECK_EQ(oa_vk_range_get_info(w.m, moves[1].range, &now), OA_VK_ERROR_STALE_HANDLE);
    oa_vk_pool_stats ps2;
    CHECK_EQ(oa_vk_pool_get_stats(w.m, w.pool, &ps2), OA_VK_SUCCESS);
    CHECK_EQ(ps2.pending_count, 0);
    CHECK(ps2.used_size < ps0.used_size);
    /* After the pass the range frees at once, and the rest is intact. */
    CHECK_EQ(oa_vk_free(w.m, moves[0].range), OA_VK_SUCCESS);
    mesh_of(&w, moves[0].range)->live = false;
    CHECK(world_verify(&w, "after the held pass"));
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* An upload queued before the pass and recorded after it lands at the new
 * place; one recorded before the pass is carried along by the copy. */
OA_TEST(uploads_queued_before_a_move_land_at_the_new_place) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0x0F0Full;
    CHECK(world_fill(&w, 40, &seed));
    world_free_half(&w, &seed);
    oa_vk_compact_move moves[4];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 4, &n, NULL), OA_VK_SUCCESS);
    CHECK(n >= 2);
    mesh* a = mesh_of(&w, moves[0].range);
    mesh* b = mesh_of(&w, moves[1].range);
    fill_random(a->bytes, (size_t)a->info.size, &seed);
    fill_random(b->bytes, (size_t)b->info.size, &seed);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    /* b: queued and recorded before the compaction's copies. */
    CHECK_EQ(oa_vk_stager_upload(w.stager, b->info.handle, 0, b->bytes, b->info.size, NULL),
             OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_record(w.stager, cmd, value), OA_VK_SUCCESS);
    /* a: queued before, recorded after. */
    CHECK_EQ(oa_vk_stager_upload(w.stager, a->info.handle, 0, a->bytes, a->info.size, NULL),
             OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_record(w.stager, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(submit(e, cmd), value);
    CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_stager_collect(w.stager, value), OA_VK_SUCCESS);
    CHECK(world_verify(&w, "after uploads around a pass"));
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* The pass's own barriers, judged by synchronization validation in one
 * command buffer: a plain vkCmdFillBuffer writes a moving range's old place
 * just before the pass (the copy reads it after that write), and a plain
 * vkCmdCopyBuffer reads the new place just after (a read after the copy's
 * write). Only the pass's barriers order them. */
OA_TEST(the_pass_barriers_order_it_with_the_callers_commands) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0xF111ull;
    CHECK(world_fill(&w, 40, &seed));
    world_free_half(&w, &seed);
    const oa_vk_pool_info rb_info = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     .intent = OA_VK_INTENT_READBACK,
                                     .block_size = 64 * KiB};
    const oa_vk_pool rb_pool = vkt_pool(&fx, &rb_info);
    CHECK(rb_pool.id != 0);
    oa_vk_compact_move moves[1];
    uint32_t n = 0;
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 1, &n, NULL), OA_VK_SUCCESS);
    CHECK_EQ(n, 1);
    mesh* me = mesh_of(&w, moves[0].range);
    const VkDeviceSize size = me->info.size & ~(VkDeviceSize)3;
    CHECK(size > 0 && moves[0].old_offset % 4 == 0);
    oa_vk_range_info rb;
    CHECK_EQ(oa_vk_alloc(w.m, rb_pool, size, 4, &rb), OA_VK_SUCCESS);
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    vkCmdFillBuffer(cmd, moves[0].old_buffer, moves[0].old_offset, size, 0x5A5A5A5Au);
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
    const VkBufferCopy region = {moves[0].new_offset, rb.offset, size};
    vkCmdCopyBuffer(cmd, moves[0].new_buffer, rb.buffer, 1, &region);
    const VkMemoryBarrier2 to_host = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
                                      .srcStageMask = VK_PIPELINE_STAGE_2_COPY_BIT,
                                      .srcAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT,
                                      .dstStageMask = VK_PIPELINE_STAGE_2_HOST_BIT,
                                      .dstAccessMask = VK_ACCESS_2_HOST_READ_BIT};
    const VkDependencyInfo dep = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                                  .memoryBarrierCount = 1,
                                  .pMemoryBarriers = &to_host};
    vkCmdPipelineBarrier2(cmd, &dep);
    CHECK_EQ(submit(e, cmd), value);
    CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_invalidate(w.m, rb.handle, 0, VK_WHOLE_SIZE), OA_VK_SUCCESS);
    memset(me->bytes, 0x5A, (size_t)size);
    CHECK(memcmp(rb.mapped, me->bytes, (size_t)size) == 0);
    CHECK(world_verify(&w, "after fill, pass, copy"));
    CHECK_EQ(oa_vk_free(w.m, rb.handle), OA_VK_SUCCESS);
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

OA_TEST(pinned_ranges_never_move) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0x9199ull;
    CHECK(world_fill(&w, 60, &seed));
    world_free_half(&w, &seed);
    for (uint32_t i = 0; i < w.count; i++) {
        if (w.meshes[i].live) {
            CHECK_EQ(oa_vk_range_set_pinned(w.m, w.meshes[i].info.handle, true), OA_VK_SUCCESS);
        }
    }
    oa_vk_compact_move moves[16];
    uint32_t n = 7;
    oa_vk_compact_stats st;
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 16, &n, &st), OA_VK_NOT_NEEDED);
    CHECK_EQ(n, 0);
    CHECK(st.is_complete && !st.is_recorded);
    CHECK(st.fragmentation_after == st.fragmentation_before);
    /* Unpin half: only those move. */
    for (uint32_t i = 0; i < w.count; i += 2) {
        if (w.meshes[i].live) {
            CHECK_EQ(oa_vk_range_set_pinned(w.m, w.meshes[i].info.handle, false), OA_VK_SUCCESS);
        }
    }
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 16, &n, NULL), OA_VK_SUCCESS);
    CHECK(n > 0);
    for (uint32_t k = 0; k < n; k++) {
        const mesh* me = mesh_of(&w, moves[k].range);
        CHECK(me != NULL);
        CHECK_EQ((me - w.meshes) % 2, 0);
    }
    VkCommandBuffer cmd = vkt_begin(e);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(submit(e, cmd), value);
    CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
    CHECK(world_verify(&w, "after a pass around pinned ranges"));
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* Pool statistics as one snapshot, to see that a refused call changed nothing. */
static void snapshot(oa_vk_manager* m, oa_vk_pool pool, oa_vk_pool_stats* out) {
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, out), OA_VK_SUCCESS);
}

static bool same_stats(const oa_vk_pool_stats* a, const oa_vk_pool_stats* b) {
    return a->used_size == b->used_size && a->free_size == b->free_size &&
           a->largest_free_size == b->largest_free_size &&
           a->allocation_count == b->allocation_count &&
           a->free_region_count == b->free_region_count;
}

OA_TEST(bad_input_is_refused_and_changes_nothing) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    world w;
    world_init(&w, &fx);
    uint64_t seed = 0xBADull;
    CHECK(world_fill(&w, 40, &seed));
    world_free_half(&w, &seed);
    oa_vk_pool_stats s0, s1;
    snapshot(w.m, w.pool, &s0);
    oa_vk_compact_move moves[8];
    uint32_t n = 5;
    CHECK_EQ(oa_vk_compact_begin(NULL, w.pool, NULL, moves, 8, &n, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(n, 0);
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, NULL, 8, &n, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 0, &n, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 8, NULL, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool stale = {w.pool.id + (1ull << 32)};
    CHECK_EQ(oa_vk_compact_begin(w.m, stale, NULL, moves, 8, &n, NULL), OA_VK_ERROR_STALE_HANDLE);
    const oa_vk_range as_pool = {w.meshes[0].info.handle.id};
    CHECK_EQ(oa_vk_compact_begin(w.m, (oa_vk_pool){as_pool.id}, NULL, moves, 8, &n, NULL),
             OA_VK_ERROR_STALE_HANDLE);
    /* No transfer usage: the copies could not be recorded. */
    const oa_vk_pool_info no_copy = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT |
                                              VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                     .block_size = 64 * KiB};
    const oa_vk_pool plain = vkt_pool(&fx, &no_copy);
    CHECK(plain.id != 0);
    CHECK_EQ(oa_vk_compact_begin(w.m, plain, NULL, moves, 8, &n, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "TRANSFER_SRC") != NULL);
    /* A ring pool is refused. */
    const oa_vk_pool_info ring_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT |
                                                VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                                VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                       .block_size = 64 * KiB,
                                       .flags = OA_VK_POOL_RING};
    const oa_vk_pool ring = vkt_pool(&fx, &ring_info);
    CHECK(ring.id != 0);
    CHECK_EQ(oa_vk_compact_begin(w.m, ring, NULL, moves, 8, &n, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "ring") != NULL);
    /* Record or abort with no pass open. */
    VkCommandBuffer cmd = vkt_begin(e);
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_record(NULL, w.pool, cmd, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_record(w.m, stale, cmd, 1), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_compact_abort(w.m, w.pool), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_compact_abort(NULL, w.pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_abort(w.m, stale), OA_VK_ERROR_STALE_HANDLE);
    snapshot(w.m, w.pool, &s1);
    CHECK(same_stats(&s0, &s1));
    /* A pass open: a second begin is refused; abort gives everything back. */
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 8, &n, NULL), OA_VK_SUCCESS);
    CHECK(n > 0);
    oa_vk_compact_move again[8];
    uint32_t n2 = 9;
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, again, 8, &n2, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(n2, 0);
    CHECK(strstr(vkt_last_log, "a pass is open") != NULL);
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, VK_NULL_HANDLE, 1), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_abort(w.m, w.pool), OA_VK_SUCCESS);
    snapshot(w.m, w.pool, &s1);
    CHECK(same_stats(&s0, &s1));
    for (uint32_t k = 0; k < n; k++) {
        oa_vk_range_info now;
        CHECK_EQ(oa_vk_range_get_info(w.m, moves[k].range, &now), OA_VK_SUCCESS);
        CHECK_EQ(now.offset, moves[k].old_offset);
    }
    /* Recorded: a second record and an abort are refused. */
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 8, &n, NULL), OA_VK_SUCCESS);
    const uint64_t value = e->timeline_value + 1;
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "already recorded") != NULL);
    CHECK_EQ(oa_vk_compact_abort(w.m, w.pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, again, 8, &n2, NULL),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(submit(e, cmd), value);
    CHECK_EQ(oa_vk_collect(w.m, value, NULL), OA_VK_SUCCESS);
    CHECK(world_verify(&w, "after the refused calls"));
    /* Stats and pinning. */
    oa_vk_compact_stats st;
    CHECK_EQ(oa_vk_compact_get_stats(NULL, w.pool, &st), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_get_stats(w.m, w.pool, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_compact_get_stats(w.m, stale, &st), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_compact_get_stats(w.m, plain, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.move_count, 0);
    CHECK(!st.is_recorded);
    CHECK_EQ(oa_vk_range_set_pinned(NULL, w.meshes[0].info.handle, true),
             OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_range stale_range = {w.meshes[0].info.handle.id + (1ull << 32)};
    CHECK_EQ(oa_vk_range_set_pinned(w.m, stale_range, true), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_destroy(w.m, plain, 0), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(w.m, ring, 0), OA_VK_SUCCESS);
    world_destroy(&w);
    VKT_TEARDOWN(&fx);
}

/* A pool destroyed with a pass open (planned, or recorded and completed but
 * not collected) frees everything: the validation layer and the sanitizers
 * see no leak. */
OA_TEST(pool_destroy_with_a_pass_open) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = vkt();
    for (int recorded = 0; recorded < 2; recorded++) {
        world w;
        world_init(&w, &fx);
        uint64_t seed = 0xD0D0ull + (uint64_t)recorded;
        CHECK(world_fill(&w, 30, &seed));
        world_free_half(&w, &seed);
        oa_vk_compact_move moves[8];
        uint32_t n = 0;
        CHECK_EQ(oa_vk_compact_begin(w.m, w.pool, NULL, moves, 8, &n, NULL), OA_VK_SUCCESS);
        if (recorded) {
            VkCommandBuffer cmd = vkt_begin(e);
            const uint64_t value = e->timeline_value + 1;
            CHECK_EQ(oa_vk_compact_record(w.m, w.pool, cmd, value), OA_VK_SUCCESS);
            CHECK_EQ(submit(e, cmd), value);
        }
        CHECK_EQ(oa_vk_pool_destroy(w.m, w.pool, 0), OA_VK_ERROR_LIVE_RANGES);
        CHECK_EQ(oa_vk_pool_destroy(w.m, w.pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
        world_destroy(&w);
    }
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
