/* test_vk_handles.c - a stale pool or range handle stays stale: across the end
 * of a slot's generations (reached in a few calls through the test hook
 * oa__vk_debug_set_generation), across pool destroy and create, and across a
 * destroyed manager and its successor at the same address. Runs on the fake
 * device of vk_fake_device.h; no GPU. */
#include "oa_vk_internal.h"

#include "../oa_test.h"
#include "vk_fake_device.h"

static const oa_vk_pool_info pool_info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                          .block_size = 64u << 10};

static uint32_t slot_of(uint64_t id) {
    return (uint32_t)id;
}

static uint32_t generation_of(uint64_t id) {
    return (uint32_t)(id >> 32);
}

/* The generation before g, skipping 0 as the manager does. */
static uint32_t previous_generation(uint32_t g) {
    return g == 1 ? UINT32_MAX : g - 1;
}

static bool range_is_live(oa_vk_manager* m, oa_vk_range h) {
    oa_vk_range_info r;
    return oa_vk_range_get_info(m, h, &r) == OA_VK_SUCCESS;
}

OA_TEST(range_slot_retires_instead_of_wrapping) {
    fake_reset_single_type(true);
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info first, last, next;
    CHECK_EQ(oa_vk_alloc(m, pool, 256, 1, &first), OA_VK_SUCCESS);
    const uint32_t slot = slot_of(first.handle.id);
    CHECK_EQ(oa_vk_free(m, first.handle), OA_VK_SUCCESS);
    /* As if the slot had been reused 2^32 - 2 times: its next generation is
     * the last one before the first comes round again. */
    CHECK_EQ(oa__vk_debug_set_generation(m, false, slot,
                                         previous_generation(generation_of(first.handle.id))),
             OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_alloc(m, pool, 256, 1, &last), OA_VK_SUCCESS);
    CHECK_EQ(slot_of(last.handle.id), slot);
    CHECK_EQ(generation_of(last.handle.id), previous_generation(generation_of(first.handle.id)));
    CHECK_EQ(oa_vk_free(m, last.handle), OA_VK_SUCCESS);
    /* The slot is spent: the next range lives elsewhere, and the oldest
     * handle of the slot does not free it. */
    CHECK_EQ(oa_vk_alloc(m, pool, 256, 1, &next), OA_VK_SUCCESS);
    CHECK(slot_of(next.handle.id) != slot);
    CHECK(next.handle.id != first.handle.id);
    CHECK_EQ(oa_vk_free(m, first.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free(m, last.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK(range_is_live(m, next.handle));
    /* A retired slot is no longer open to the hook either. */
    CHECK_EQ(oa__vk_debug_set_generation(m, false, slot, 7), OA_VK_ERROR_INVALID_ARGUMENT);
    /* Many more cycles never hand the slot out again, and no two live
     * ranges overlap. */
    for (int i = 0; i < 1000; i++) {
        oa_vk_range_info r;
        CHECK_EQ(oa_vk_alloc(m, pool, 256, 1, &r), OA_VK_SUCCESS);
        CHECK(slot_of(r.handle.id) != slot);
        CHECK(r.offset + r.size <= next.offset || next.offset + next.size <= r.offset);
        CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_free(m, first.handle), OA_VK_ERROR_STALE_HANDLE);
    }
    CHECK_EQ(oa_vk_free(m, next.handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST(pool_slot_retires_instead_of_wrapping) {
    fake_reset_single_type(true);
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_pool first, last, next;
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &first), OA_VK_SUCCESS);
    const uint32_t slot = slot_of(first.id);
    CHECK_EQ(oa_vk_pool_destroy(m, first, 0), OA_VK_SUCCESS);
    CHECK_EQ(
        oa__vk_debug_set_generation(m, true, slot, previous_generation(generation_of(first.id))),
        OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &last), OA_VK_SUCCESS);
    CHECK_EQ(slot_of(last.id), slot);
    CHECK_EQ(oa_vk_pool_destroy(m, last, 0), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &next), OA_VK_SUCCESS);
    CHECK(slot_of(next.id) != slot);
    CHECK(next.id != first.id);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, first, 64, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_destroy(m, first, 0), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_destroy(m, last, 0), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_alloc(m, next, 64, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, next, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    CHECK_EQ(oa__vk_debug_set_generation(m, true, slot, 7), OA_VK_ERROR_INVALID_ARGUMENT);
    oa_vk_manager_destroy(m);
}

OA_TEST(the_hook_refuses_live_and_unknown_slots) {
    fake_reset_single_type(true);
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 64, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa__vk_debug_set_generation(m, false, slot_of(r.handle.id), 5),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa__vk_debug_set_generation(m, true, slot_of(pool.id), 5),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa__vk_debug_set_generation(m, false, 99, 5), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa__vk_debug_set_generation(m, true, 99, 5), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(range_is_live(m, r.handle));
    oa_vk_manager_destroy(m);
}

#define OLD_RANGES 20

/* A manager's handles against its successor, which malloc tends to place at
 * the same address for the same VkDevice. The old manager's slots are reused
 * a few hundred times first, so that its handles are not all at the first
 * generation. */
OA_TEST(handles_of_a_destroyed_manager_are_stale_in_the_next) {
    fake_reset_single_type(true);
    int same_address = 0;
    for (int round = 0; round < 200; round++) {
        oa_vk_manager* old = fake_manager(0);
        CHECK(old != NULL);
        const uintptr_t old_address = (uintptr_t)old;
        oa_vk_pool old_pool;
        CHECK_EQ(oa_vk_pool_create(old, &pool_info, &old_pool), OA_VK_SUCCESS);
        oa_vk_range stale[OLD_RANGES];
        for (int i = 0; i < OLD_RANGES; i++) {
            oa_vk_range_info r;
            for (int reuse = 0; reuse < round; reuse++) {
                CHECK_EQ(oa_vk_alloc(old, old_pool, 128, 1, &r), OA_VK_SUCCESS);
                CHECK_EQ(oa_vk_free(old, r.handle), OA_VK_SUCCESS);
            }
            CHECK_EQ(oa_vk_alloc(old, old_pool, 128, 1, &r), OA_VK_SUCCESS);
            stale[i] = r.handle;
        }
        oa_vk_manager_destroy(old);

        oa_vk_manager* m = fake_manager(0);
        CHECK(m != NULL);
        same_address += (uintptr_t)m == old_address;
        oa_vk_pool pool;
        CHECK_EQ(oa_vk_pool_create(m, &pool_info, &pool), OA_VK_SUCCESS);
        CHECK(pool.id != old_pool.id);
        oa_vk_range_info live[OLD_RANGES];
        for (int i = 0; i < OLD_RANGES; i++) {
            CHECK_EQ(oa_vk_alloc(m, pool, 128, 1, &live[i]), OA_VK_SUCCESS);
        }
        oa_vk_range_info r;
        CHECK_EQ(oa_vk_alloc(m, old_pool, 128, 1, &r), OA_VK_ERROR_STALE_HANDLE);
        for (int i = 0; i < OLD_RANGES; i++) {
            CHECK_EQ(oa_vk_range_get_info(m, stale[i], &r), OA_VK_ERROR_STALE_HANDLE);
            CHECK_EQ(oa_vk_free(m, stale[i]), OA_VK_ERROR_STALE_HANDLE);
            CHECK_EQ(oa_vk_free_deferred(m, stale[i], 1), OA_VK_ERROR_STALE_HANDLE);
        }
        for (int i = 0; i < OLD_RANGES; i++) {
            CHECK_EQ(oa_vk_free(m, live[i].handle), OA_VK_SUCCESS);
        }
        CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
        oa_vk_manager_destroy(m);
    }
    printf("successor at the same address in %d of 200 rounds\n", same_address);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

/* One stale handle, then its slot handed out again and again: 10,000 times
 * for real, then through the hook up to the end of its generations; then its
 * pool destroyed and a new one created in the same slot. */
OA_TEST(a_stale_range_stays_stale) {
    fake_reset_single_type(true);
    oa_vk_manager* m = fake_manager(0);
    CHECK(m != NULL);
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 512, 1, &r), OA_VK_SUCCESS);
    const oa_vk_range stale = r.handle;
    const uint32_t slot = slot_of(stale.id);
    CHECK_EQ(oa_vk_free(m, stale), OA_VK_SUCCESS);
    for (int i = 0; i < 10000; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 512, 1, &r), OA_VK_SUCCESS);
        CHECK_EQ(slot_of(r.handle.id), slot);
        CHECK_EQ(oa_vk_free(m, stale), OA_VK_ERROR_STALE_HANDLE);
        CHECK(range_is_live(m, r.handle));
        CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    }
    /* Five generations before the stale one comes round again. */
    const uint32_t g = generation_of(stale.id);
    CHECK_EQ(oa__vk_debug_set_generation(m, false, slot, g - 5 == 0 ? UINT32_MAX : g - 5),
             OA_VK_SUCCESS);
    int reused = 0;
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 512, 1, &r), OA_VK_SUCCESS);
        reused += slot_of(r.handle.id) == slot;
        CHECK(r.handle.id != stale.id);
        CHECK_EQ(oa_vk_free(m, stale), OA_VK_ERROR_STALE_HANDLE);
        CHECK(range_is_live(m, r.handle));
        CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    }
    CHECK(reused >= 4 && reused <= 5); /* g - 5 .. g - 1, skipping 0 if it lies between */
    /* The pool goes, a new one takes its slot, the range slots come back. */
    CHECK_EQ(oa_vk_alloc(m, pool, 512, 1, &r), OA_VK_SUCCESS);
    const oa_vk_range pending = r.handle;
    CHECK_EQ(oa_vk_free_deferred(m, pending, 3), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    oa_vk_pool again;
    CHECK_EQ(oa_vk_pool_create(m, &pool_info, &again), OA_VK_SUCCESS);
    CHECK_EQ(slot_of(again.id), slot_of(pool.id));
    CHECK(again.id != pool.id);
    CHECK_EQ(oa_vk_alloc(m, pool, 512, 1, &r), OA_VK_ERROR_STALE_HANDLE);
    for (int i = 0; i < 100; i++) {
        CHECK_EQ(oa_vk_alloc(m, again, 512, 1, &r), OA_VK_SUCCESS);
        CHECK_EQ(oa_vk_free(m, stale), OA_VK_ERROR_STALE_HANDLE);
        CHECK_EQ(oa_vk_free(m, pending), OA_VK_ERROR_STALE_HANDLE);
        CHECK(range_is_live(m, r.handle));
        CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    }
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(m, 10, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0); /* the pending range went with its pool */
    CHECK_EQ(oa_vk_pool_destroy(m, again, 0), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_EQ(fake.live_buffers, 0);
    CHECK_EQ(fake.live_memories, 0);
}

OA_TEST_MAIN()
