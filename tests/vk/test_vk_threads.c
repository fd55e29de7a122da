/* test_vk_threads.c - one manager hammered from several threads at once on a
 * real device: allocations, writes through the mapped pointer, immediate and
 * deferred frees, collects, stats and JSON dumps, and per-frame data from a
 * ring pool on a thread of its own. Runs twice: with the
 * manager's own mutex (the default, no flag) and with
 * OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED, where the test serialises every call
 * with a lock of its own. Each thread fills its ranges with its own pattern
 * and checks it before freeing, so two ranges handed out over each other
 * would show. At the end the pool's statistics and region walk must match
 * exactly what the threads still hold. A ThreadSanitizer build runs it too. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
#include <pthread.h>
#include <sched.h>

#include "vk_test_common.h"

#define THREADS 4
#define ITERATIONS 3000
#define LIVE 32

/* The caller's lock of an externally synchronised manager; NULL when the
 * manager locks itself. */
typedef struct caller_lock {
    pthread_mutex_t* mutex;
} caller_lock;

static void enter(caller_lock l) {
    if (l.mutex != NULL) {
        pthread_mutex_lock(l.mutex);
    }
}

static void leave(caller_lock l) {
    if (l.mutex != NULL) {
        pthread_mutex_unlock(l.mutex);
    }
}

typedef struct worker {
    oa_vk_manager* m;
    caller_lock lock;
    pthread_barrier_t* start;
    oa_vk_pool pool;
    uint64_t seed;
    int id;
    int errors;
    uint64_t allocations;
    /* What the worker still holds when it ends, for the main thread to
     * compare with the pool's statistics and region walk. */
    oa_vk_range_info held[LIVE];
    uint8_t held_tags[LIVE];
} worker;

static uint64_t frame_counter; /* atomic */

static bool pattern_ok(const oa_vk_range_info* r, uint8_t tag) {
    const uint8_t* p = r->mapped;
    for (VkDeviceSize i = 0; i < r->size; i++) {
        if (p[i] != (uint8_t)(tag + i)) {
            return false;
        }
    }
    return true;
}

static void* work(void* arg) {
    worker* w = arg;
    oa_vk_range_info live[LIVE];
    uint8_t tags[LIVE];
    memset(live, 0, sizeof live);
    pthread_barrier_wait(w->start);
    for (int it = 0; it < ITERATIONS; it++) {
        const int slot = (int)(vkt_splitmix64(&w->seed) % LIVE);
        if (live[slot].handle.id != 0) {
            if (!pattern_ok(&live[slot], tags[slot])) {
                w->errors++;
            }
            oa_vk_result r;
            enter(w->lock);
            if (vkt_splitmix64(&w->seed) % 2 == 0) {
                r = oa_vk_free(w->m, live[slot].handle);
            } else {
                r = oa_vk_free_deferred(w->m, live[slot].handle,
                                        __atomic_load_n(&frame_counter, __ATOMIC_RELAXED) + 2);
            }
            leave(w->lock);
            w->errors += r != OA_VK_SUCCESS;
            live[slot].handle.id = 0;
        } else {
            const VkDeviceSize size = 1 + vkt_splitmix64(&w->seed) % 3000;
            const VkDeviceSize align = (VkDeviceSize[]){1, 12, 16, 48}[it % 4];
            enter(w->lock);
            const oa_vk_result r = oa_vk_alloc(w->m, w->pool, size, align, &live[slot]);
            leave(w->lock);
            if (r != OA_VK_SUCCESS || live[slot].offset % align != 0) {
                w->errors++;
                live[slot].handle.id = 0;
                continue;
            }
            w->allocations++;
            tags[slot] = (uint8_t)(w->id * 37 + it);
            uint8_t* p = live[slot].mapped;
            for (VkDeviceSize i = 0; i < size; i++) {
                p[i] = (uint8_t)(tags[slot] + i);
            }
        }
        if (it % 97 == 0) {
            oa_vk_pool_stats st;
            enter(w->lock);
            w->errors += oa_vk_pool_get_stats(w->m, w->pool, &st) != OA_VK_SUCCESS;
            leave(w->lock);
        }
    }
    memcpy(w->held, live, sizeof live);
    memcpy(w->held_tags, tags, sizeof tags);
    return NULL;
}

typedef struct held_walk {
    uint64_t ranges, pending;
    uint64_t ids[THREADS * LIVE];
} held_walk;

static bool note_range(void* user, const oa_vk_region_info* r) {
    held_walk* h = user;
    if (!r->is_free) {
        h->pending += r->is_pending;
        if (h->ranges < THREADS * LIVE) {
            h->ids[h->ranges] = r->range.id;
        }
        h->ranges++;
    }
    return true;
}

static int cmp_u64(const void* a, const void* b) {
    const uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
    return x < y ? -1 : x > y;
}

typedef struct collector {
    oa_vk_manager* m;
    caller_lock lock;
    pthread_barrier_t* start;
    int stop; /* atomic */
    int errors;
    uint64_t dumps;
} collector;

/* Per-frame data from a ring pool on its own thread, beside the workers:
 * each frame carves ranges, fills them, checks them all, and ends the frame
 * with a value the collector will pass. A full ring waits for the
 * collector. */
typedef struct ring_worker {
    oa_vk_manager* m;
    caller_lock lock;
    pthread_barrier_t* start;
    oa_vk_pool pool;
    uint64_t seed;
    int errors;
    uint64_t allocations, full;
} ring_worker;

static void* ring_work(void* arg) {
    ring_worker* w = arg;
    pthread_barrier_wait(w->start);
    for (int frame = 0; frame < 300; frame++) {
        oa_vk_range_info r[8];
        for (int k = 0; k < 8; k++) {
            const VkDeviceSize size = 1 + vkt_splitmix64(&w->seed) % 1500;
            oa_vk_result res;
            for (;;) {
                enter(w->lock);
                res = oa_vk_ring_alloc(w->m, w->pool, size, 16, &r[k]);
                leave(w->lock);
                if (res != OA_VK_ERROR_OUT_OF_POOL_SPACE) {
                    break;
                }
                w->full++; /* every block holds frames in flight: wait for a collect */
                sched_yield();
            }
            w->errors += res != OA_VK_SUCCESS;
            w->allocations += res == OA_VK_SUCCESS;
            if (res == OA_VK_SUCCESS) {
                memset(r[k].mapped, (uint8_t)(frame * 8 + k), (size_t)size);
            }
        }
        for (int k = 0; k < 8; k++) {
            const uint8_t* p = r[k].mapped;
            for (VkDeviceSize i = 0; p != NULL && i < r[k].size; i++) {
                if (p[i] != (uint8_t)(frame * 8 + k)) {
                    w->errors++;
                    break;
                }
            }
        }
        enter(w->lock);
        w->errors += oa_vk_ring_end_frame(w->m, w->pool,
                                          __atomic_load_n(&frame_counter, __ATOMIC_RELAXED) + 2) !=
                     OA_VK_SUCCESS;
        leave(w->lock);
    }
    return NULL;
}

/* Collects and dumps until the workers are done. Its first collect and dump
 * happen before the workers start (they wait at the barrier), so `dumps` is
 * at least 1 however the threads are scheduled, and the rest overlap the
 * workers. */
static void* collect_loop(void* arg) {
    collector* c = arg;
    char* text = malloc(1 << 20);
    bool started = false;
    do {
        const uint64_t frame = __atomic_add_fetch(&frame_counter, 1, __ATOMIC_RELAXED);
        size_t size = 0;
        enter(c->lock);
        c->errors += oa_vk_collect(c->m, frame, NULL) != OA_VK_SUCCESS;
        const oa_vk_result r = oa_vk_dump_json(c->m, text, 1 << 20, &size);
        leave(c->lock);
        c->errors += r != OA_VK_SUCCESS && r != OA_VK_INCOMPLETE;
        c->errors += r == OA_VK_SUCCESS && text[0] != '{';
        c->dumps++;
        if (!started) {
            pthread_barrier_wait(c->start);
            started = true;
        }
    } while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE));
    free(text);
    return NULL;
}

/* Runs the workers and the collector on a manager created with `flags`; with
 * `mutex` the test serialises every call itself. */
static void many_threads(uint32_t flags, pthread_mutex_t* mutex) {
    vkt_fixture fx;
    vkt_fixture_begin(&fx);
    oa_vk_manager_info mi = vkt_fixture_info(&fx, flags);
    mi.release_delay = 2;
    CHECK_EQ(vkt_fixture_create(&fx, &mi), OA_VK_SUCCESS);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .block_size = 64 * 1024};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    const oa_vk_pool_info ring_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                       .intent = OA_VK_INTENT_DYNAMIC,
                                       .block_size = 16 * 1024,
                                       .max_block_count = 4,
                                       .flags = OA_VK_POOL_RING};
    oa_vk_pool ring_pool = vkt_pool(&fx, &ring_info);
    CHECK(ring_pool.id != 0);
    const caller_lock lock = {mutex};
    pthread_barrier_t start;
    CHECK_EQ(pthread_barrier_init(&start, NULL, THREADS + 2), 0);
    worker workers[THREADS];
    pthread_t threads[THREADS + 2];
    ring_worker rw = {.m = m, .lock = lock, .start = &start, .pool = ring_pool, .seed = 99};
    collector col = {.m = m, .lock = lock, .start = &start};
    printf("seed=0x%x flags=0x%x caller lock=%d\n", 1234, flags, mutex != NULL);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.m = m,
                              .lock = lock,
                              .start = &start,
                              .pool = pool,
                              .seed = 1234u + (uint64_t)i,
                              .id = i};
        CHECK_EQ(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    CHECK_EQ(pthread_create(&threads[THREADS], NULL, collect_loop, &col), 0);
    CHECK_EQ(pthread_create(&threads[THREADS + 1], NULL, ring_work, &rw), 0);
    int errors = 0;
    uint64_t allocations = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        errors += workers[i].errors;
        allocations += workers[i].allocations;
    }
    pthread_join(threads[THREADS + 1], NULL);
    __atomic_store_n(&col.stop, 1, __ATOMIC_RELEASE);
    pthread_join(threads[THREADS], NULL);
    pthread_barrier_destroy(&start);
    printf("ring: %llu allocations, waited for a collect %llu times\n",
           (unsigned long long)rw.allocations, (unsigned long long)rw.full);
    CHECK_EQ(rw.errors, 0);
    CHECK_EQ(rw.allocations, 300 * 8);
    CHECK_EQ(errors, 0);
    CHECK_EQ(col.errors, 0);
    CHECK(allocations > THREADS * ITERATIONS / 4);
    CHECK(col.dumps > 0);
    CHECK_EQ(oa_vk_collect(m, UINT64_MAX, NULL), OA_VK_SUCCESS);
    oa_vk_pool_stats ring_stats;
    CHECK_EQ(oa_vk_pool_get_stats(m, ring_pool, &ring_stats), OA_VK_SUCCESS);
    CHECK_EQ(ring_stats.allocation_count, 0);
    CHECK_EQ(oa_vk_pool_destroy(m, ring_pool, 0), OA_VK_SUCCESS);
    /* The pool holds exactly what the threads still hold: same count, same
     * bytes, same handles in the region walk, and their bytes intact. */
    static held_walk walk;
    memset(&walk, 0, sizeof walk);
    uint64_t held_ids[THREADS * LIVE];
    uint64_t held = 0, held_bytes = 0;
    for (int i = 0; i < THREADS; i++) {
        for (int s = 0; s < LIVE; s++) {
            if (workers[i].held[s].handle.id != 0) {
                CHECK(pattern_ok(&workers[i].held[s], workers[i].held_tags[s]));
                held_ids[held++] = workers[i].held[s].handle.id;
                held_bytes += workers[i].held[s].size;
            }
        }
    }
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, held);
    CHECK_EQ(st.used_size, held_bytes);
    CHECK_EQ(st.pending_count, 0);
    CHECK_EQ(oa_vk_pool_walk(m, pool, note_range, &walk), OA_VK_SUCCESS);
    CHECK_EQ(walk.ranges, held);
    CHECK_EQ(walk.pending, 0);
    qsort(held_ids, held, sizeof held_ids[0], cmp_u64);
    qsort(walk.ids, walk.ranges, sizeof walk.ids[0], cmp_u64);
    CHECK(memcmp(held_ids, walk.ids, held * sizeof held_ids[0]) == 0);
    for (int i = 0; i < THREADS; i++) {
        for (int s = 0; s < LIVE; s++) {
            if (workers[i].held[s].handle.id != 0) {
                CHECK_EQ(oa_vk_free(m, workers[i].held[s].handle), OA_VK_SUCCESS);
            }
        }
    }
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 0);
    CHECK_EQ(st.used_size, 0);
    CHECK_EQ(st.pending_count, 0);
    VKT_TEARDOWN(&fx);
}

/* No flag: the manager is internally synchronised, as VMA is. */
OA_TEST(default_manager_from_many_threads) {
    many_threads(0, NULL);
}

/* The old opt-in flag still means the same. */
OA_TEST(thread_safe_flag_from_many_threads) {
    many_threads(OA_VK_MANAGER_THREAD_SAFE, NULL);
}

/* External synchronisation: no mutex inside, the caller's lock instead. */
OA_TEST(externally_synchronized_with_callers_lock) {
    pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
    many_threads(OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED, &mutex);
    pthread_mutex_destroy(&mutex);
}

/* The two synchronisation flags contradict each other. */
OA_TEST(both_synchronisation_flags_rejected) {
    oa_vk_manager_info mi =
        vkt_manager_info(OA_VK_MANAGER_THREAD_SAFE | OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED);
    oa_vk_manager* m = (oa_vk_manager*)&mi;
    vkt_last_log[0] = 0;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(m == NULL);
    CHECK(strstr(vkt_last_log, "EXTERNALLY_SYNCHRONIZED") != NULL);
}

VKT_TEST_MAIN()
