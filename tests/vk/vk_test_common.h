/* vk_test_common.h - the fixture of the manager's device tests: one
 * environment per process, a manager created over it with counted host
 * memory, a pool helper, a teardown that fails the test on any validation
 * message or host memory the manager kept, a log sink that keeps the last
 * message, and a main() that also fails the run on any validation message.
 *
 *   OA_TEST(x) {
 *       VKT_FIXTURE(fx, 0);                    manager with no flags, or return
 *       oa_vk_pool pool = vkt_pool(&fx, &info); CHECK(pool.id != 0);
 *       ...
 *       VKT_TEARDOWN(&fx);                     destroy, then the checks
 *   }
 */
#ifndef VK_TEST_COMMON_H
#define VK_TEST_COMMON_H

#include <orderly/orderly_vk.h>

#include "../oa_test.h"
#include "vk_test_env.h"

static vkt_env vkt_the_env;
static int vkt_env_ready;
static char vkt_last_log[512];
static int vkt_log_count;

static inline vkt_env* vkt(void) {
    if (!vkt_env_ready) {
        vkt_env_init(&vkt_the_env, getenv("ORDERLY_VK_TEST_GPU_AV") != NULL ? VKT_GPU_ASSISTED : 0);
        vkt_env_ready = 1;
    }
    return &vkt_the_env;
}

static inline void vkt_log(void* user, oa_vk_result result, const char* message) {
    (void)user;
    snprintf(vkt_last_log, sizeof vkt_last_log, "%s: %s", oa_vk_result_name(result), message);
    vkt_log_count++;
}

static inline oa_vk_manager_info vkt_manager_info(uint32_t flags) {
    oa_vk_manager_info info = vkt_env_manager_info(vkt(), flags);
    info.log = vkt_log;
    return info;
}

static inline oa_vk_manager* vkt_manager(uint32_t flags) {
    const oa_vk_manager_info info = vkt_manager_info(flags);
    oa_vk_manager* m = NULL;
    if (oa_vk_manager_create(&info, &m) != OA_VK_SUCCESS) {
        fprintf(stderr, "oa_vk_manager_create failed: %s\n", vkt_last_log);
        return NULL;
    }
    return m;
}

/* Fail the test if the validation layer said anything since `before`. */
#define CHECK_NO_VALIDATION(before) CHECK_EQ(vkt_validation_messages(), (before))

/* Host memory for the manager's callbacks, counted with atomics (the
 * threaded tests call the manager from several threads). */
typedef struct vkt_heap {
    uint64_t allocs, frees;
    uint64_t live_bytes;
} vkt_heap;

static inline void* vkt_heap_alloc(void* user, size_t size, size_t align) {
    vkt_heap* h = (vkt_heap*)user;
    if (align < sizeof(void*)) {
        align = sizeof(void*);
    }
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p != NULL) {
        __atomic_add_fetch(&h->allocs, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&h->live_bytes, (uint64_t)size, __ATOMIC_RELAXED);
    }
    return p;
}

static inline void vkt_heap_free(void* user, void* p, size_t size) {
    vkt_heap* h = (vkt_heap*)user;
    if (p != NULL) {
        __atomic_add_fetch(&h->frees, 1, __ATOMIC_RELAXED);
        __atomic_sub_fetch(&h->live_bytes, (uint64_t)size, __ATOMIC_RELAXED);
    }
    free(p);
}

/* One test's state: the environment, the manager under test (NULL when the
 * test makes its own or none), the validation count at the start, and the
 * manager's host memory. */
typedef struct vkt_fixture {
    vkt_env* env;
    oa_vk_manager* manager;
    uint32_t messages_before;
    vkt_heap heap;
} vkt_fixture;

/* Start a test: set the environment up (once per process) and note the
 * validation count. Creates no manager. */
static inline void vkt_fixture_begin(vkt_fixture* f) {
    memset(f, 0, sizeof *f);
    f->env = vkt();
    f->messages_before = vkt_validation_messages();
}

/* The environment's manager info with `flags`, the log sink and the
 * fixture's counted host memory; a test changes fields before
 * vkt_fixture_create. */
static inline oa_vk_manager_info vkt_fixture_info(vkt_fixture* f, uint32_t flags) {
    oa_vk_manager_info info = vkt_manager_info(flags);
    info.callbacks.alloc = vkt_heap_alloc;
    info.callbacks.free = vkt_heap_free;
    info.callbacks.user = &f->heap;
    return info;
}

/* Create the fixture's manager from `info`; prints the log on failure. */
static inline oa_vk_result vkt_fixture_create(vkt_fixture* f, const oa_vk_manager_info* info) {
    const oa_vk_result r = oa_vk_manager_create(info, &f->manager);
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "oa_vk_manager_create failed: %s\n", vkt_last_log);
    }
    return r;
}

/* Declare fixture `fx` with a manager of `flags`, or fail the test. */
#define VKT_FIXTURE(fx, flags)                                                                     \
    vkt_fixture fx;                                                                                \
    vkt_fixture_begin(&fx);                                                                        \
    do {                                                                                           \
        const oa_vk_manager_info fx##_info = vkt_fixture_info(&fx, (flags));                       \
        CHECK_EQ(vkt_fixture_create(&fx, &fx##_info), OA_VK_SUCCESS);                              \
    } while (0)

/* A pool of the fixture's manager; id 0 (and the result and log printed)
 * when creation fails. */
static inline oa_vk_pool vkt_pool(vkt_fixture* f, const oa_vk_pool_info* info) {
    oa_vk_pool pool = {0};
    const oa_vk_result r = oa_vk_pool_create(f->manager, info, &pool);
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "oa_vk_pool_create failed: %s (%s)\n", oa_vk_result_name(r), vkt_last_log);
        pool.id = 0;
    }
    return pool;
}

/* Destroy the fixture's manager now (a test that checks what happens after
 * destruction); VKT_TEARDOWN then only checks. */
static inline void vkt_fixture_destroy(vkt_fixture* f) {
    if (f->manager != NULL) {
        oa_vk_manager_destroy(f->manager);
        f->manager = NULL;
    }
}

/* End a test: destroy the fixture's manager (if any), then fail the test
 * when the manager kept host memory or the validation layer said anything
 * since vkt_fixture_begin. */
#define VKT_TEARDOWN(f)                                                                            \
    do {                                                                                           \
        vkt_fixture_destroy(f);                                                                    \
        CHECK_EQ((f)->heap.live_bytes, 0);                                                         \
        CHECK_EQ((f)->heap.frees, (f)->heap.allocs);                                               \
        CHECK_NO_VALIDATION((f)->messages_before);                                                 \
    } while (0)

#define VKT_TEST_MAIN()                                                                            \
    int main(int argc, char** argv) {                                                              \
        int status = oa_test_run_all(argc, argv);                                                  \
        if (vkt_env_ready) {                                                                       \
            vkt_env_destroy(&vkt_the_env);                                                         \
        }                                                                                          \
        const uint32_t messages = vkt_validation_messages();                                       \
        printf("validation messages (warning or error): %u\n", messages);                          \
        return messages == 0 ? status : 1;                                                         \
    }

#endif /* VK_TEST_COMMON_H */
