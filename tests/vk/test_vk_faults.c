/* test_vk_faults.c - Vulkan failures injected through the manager's own
 * function table, on a real device under the validation layer.
 * The test hands the manager wrappers of vkGetInstanceProcAddr and
 * vkGetDeviceProcAddr that return the real entry points, except for
 * vkCreateBuffer, vkAllocateMemory, vkBindBufferMemory and vkMapMemory (and
 * vkDestroyBuffer / vkFreeMemory, to count live objects): those fail their
 * Nth call with VK_ERROR_OUT_OF_DEVICE_MEMORY or VK_ERROR_OUT_OF_HOST_MEMORY.
 * A workload of pool creations, a stager, allocations (new blocks, dedicated
 * blocks), uploads and immediate and deferred frees is run once per entry
 * point, N and result. The failing call's error reaches the caller as the
 * matching oa_vk_result, the pool's statistics are unchanged, every live
 * range keeps its bytes (mapped ones checked at once, device-local ones read
 * back through the GPU at the end), the same call succeeds on retry, and at
 * the end no buffer or memory object is left (counted here; the validation
 * layer reports leaks at device destruction and fails the run). */
#include "vk_test_common.h"

#define KiB (1ull << 10)

enum { F_CREATE_BUFFER, F_ALLOCATE_MEMORY, F_BIND, F_MAP, F_COUNT };
static const char* const fault_names[F_COUNT] = {"vkCreateBuffer", "vkAllocateMemory",
                                                 "vkBindBufferMemory", "vkMapMemory"};

typedef struct fault_state {
    PFN_vkCreateBuffer create_buffer;
    PFN_vkDestroyBuffer destroy_buffer;
    PFN_vkAllocateMemory allocate_memory;
    PFN_vkFreeMemory free_memory;
    PFN_vkBindBufferMemory bind;
    PFN_vkMapMemory map;
    uint32_t calls[F_COUNT];
    int fail_fn;      /* F_* or -1 */
    uint32_t fail_at; /* 1-based call of fail_fn to fail */
    VkResult code;
    int fired; /* the injected failure happened and no caller has seen it yet */
    int injected;
    int live_buffers, live_memories;
} fault_state;

static fault_state fault;

static VkResult inject(int fn) {
    fault.calls[fn]++;
    if (fn == fault.fail_fn && fault.calls[fn] == fault.fail_at) {
        fault.fired = 1;
        fault.injected++;
        return fault.code;
    }
    return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL w_create_buffer(VkDevice d, const VkBufferCreateInfo* info,
                                                      const VkAllocationCallbacks* cb,
                                                      VkBuffer* out) {
    VkResult r = inject(F_CREATE_BUFFER);
    if (r == VK_SUCCESS) {
        r = fault.create_buffer(d, info, cb, out);
        fault.live_buffers += r == VK_SUCCESS;
    }
    return r;
}

static VKAPI_ATTR void VKAPI_CALL w_destroy_buffer(VkDevice d, VkBuffer b,
                                                   const VkAllocationCallbacks* cb) {
    fault.live_buffers -= b != VK_NULL_HANDLE;
    fault.destroy_buffer(d, b, cb);
}

static VKAPI_ATTR VkResult VKAPI_CALL w_allocate_memory(VkDevice d,
                                                        const VkMemoryAllocateInfo* info,
                                                        const VkAllocationCallbacks* cb,
                                                        VkDeviceMemory* out) {
    VkResult r = inject(F_ALLOCATE_MEMORY);
    if (r == VK_SUCCESS) {
        r = fault.allocate_memory(d, info, cb, out);
        fault.live_memories += r == VK_SUCCESS;
    }
    return r;
}

static VKAPI_ATTR void VKAPI_CALL w_free_memory(VkDevice d, VkDeviceMemory mem,
                                                const VkAllocationCallbacks* cb) {
    fault.live_memories -= mem != VK_NULL_HANDLE;
    fault.free_memory(d, mem, cb);
}

static VKAPI_ATTR VkResult VKAPI_CALL w_bind(VkDevice d, VkBuffer b, VkDeviceMemory mem,
                                             VkDeviceSize offset) {
    const VkResult r = inject(F_BIND);
    return r == VK_SUCCESS ? fault.bind(d, b, mem, offset) : r;
}

static VKAPI_ATTR VkResult VKAPI_CALL w_map(VkDevice d, VkDeviceMemory mem, VkDeviceSize offset,
                                            VkDeviceSize size, VkMemoryMapFlags flags, void** out) {
    const VkResult r = inject(F_MAP);
    return r == VK_SUCCESS ? fault.map(d, mem, offset, size, flags, out) : r;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL w_get_device_proc_addr(VkDevice d,
                                                                       const char* name) {
    /* The real entry points go where the wrappers find them. */
    const struct {
        const char* name;
        PFN_vkVoidFunction fn;
        PFN_vkVoidFunction* real;
    } wrapped[] = {
        {"vkCreateBuffer", (PFN_vkVoidFunction)w_create_buffer,
         (PFN_vkVoidFunction*)&fault.create_buffer},
        {"vkDestroyBuffer", (PFN_vkVoidFunction)w_destroy_buffer,
         (PFN_vkVoidFunction*)&fault.destroy_buffer},
        {"vkAllocateMemory", (PFN_vkVoidFunction)w_allocate_memory,
         (PFN_vkVoidFunction*)&fault.allocate_memory},
        {"vkFreeMemory", (PFN_vkVoidFunction)w_free_memory,
         (PFN_vkVoidFunction*)&fault.free_memory},
        {"vkBindBufferMemory", (PFN_vkVoidFunction)w_bind, (PFN_vkVoidFunction*)&fault.bind},
        {"vkMapMemory", (PFN_vkVoidFunction)w_map, (PFN_vkVoidFunction*)&fault.map},
    };
    for (size_t i = 0; i < sizeof wrapped / sizeof wrapped[0]; i++) {
        if (strcmp(name, wrapped[i].name) == 0) {
            *wrapped[i].real = vkGetDeviceProcAddr(d, name);
            return *wrapped[i].real != NULL ? wrapped[i].fn : NULL;
        }
    }
    return vkGetDeviceProcAddr(d, name);
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL w_get_instance_proc_addr(VkInstance i,
                                                                         const char* name) {
    if (strcmp(name, "vkGetDeviceProcAddr") == 0) {
        return (PFN_vkVoidFunction)w_get_device_proc_addr;
    }
    return vkGetInstanceProcAddr(i, name);
}

/* ---- the workload ---- */

#define MAX_RANGES 64

typedef struct tracked {
    oa_vk_range_info r;
    uint8_t* data; /* what the range holds */
    int pool;      /* index into run.pools */
} tracked;

typedef struct run {
    vkt_env* e;
    oa_vk_manager* m;
    oa_vk_pool pools[3];
    oa_vk_stager* stager;
    tracked t[MAX_RANGES];
    int n;
    uint64_t rng;
    uint64_t frame;
    int recovered; /* failures seen, checked and retried */
    const char* where;
} run;

static oa_vk_result expected_result(VkResult code) {
    return code == VK_ERROR_OUT_OF_HOST_MEMORY ? OA_VK_ERROR_OUT_OF_HOST_MEMORY
                                               : OA_VK_ERROR_OUT_OF_DEVICE_MEMORY;
}

/* 0: the call succeeded. 1: it failed with the injected failure's result
 * (retry it). -1: anything else (printed). */
static int outcome(run* w, oa_vk_result r, const char* what) {
    const int fired = fault.fired;
    fault.fired = 0;
    if (r == OA_VK_SUCCESS && !fired) {
        return 0;
    }
    if (fired && r == expected_result(fault.code)) {
        w->recovered++;
        return 1;
    }
    fprintf(stderr, "%s: %s (injected failure %s)\n", what, oa_vk_result_name(r),
            fired ? "fired" : "not fired");
    return -1;
}

static bool bytes_ok(const run* w, bool device_too) {
    for (int i = 0; i < w->n; i++) {
        const tracked* x = &w->t[i];
        if (x->r.mapped != NULL) {
            if (memcmp(x->r.mapped, x->data, (size_t)x->r.size) != 0) {
                fprintf(stderr, "%s: mapped range %d lost its bytes\n", w->where, i);
                return false;
            }
        } else if (device_too) {
            uint8_t* got = malloc((size_t)x->r.size);
            const bool same = got != NULL &&
                              vkt_read_buffer(w->e, x->r.buffer, x->r.offset, x->r.size, got) &&
                              memcmp(got, x->data, (size_t)x->r.size) == 0;
            free(got);
            if (!same) {
                fprintf(stderr, "%s: device range %d lost its bytes\n", w->where, i);
                return false;
            }
        }
    }
    return true;
}

static bool stats_same(const oa_vk_pool_stats* a, const oa_vk_pool_stats* b) {
    return a->block_count == b->block_count && a->dedicated_count == b->dedicated_count &&
           a->capacity == b->capacity && a->used_size == b->used_size &&
           a->allocation_count == b->allocation_count && a->pending_count == b->pending_count;
}

/* Allocate in pool `p`, retrying once after an injected failure; fills the
 * range with bytes (mapped) or uploads them (device-local). */
static int add_range(run* w, int p, VkDeviceSize size) {
    if (w->n == MAX_RANGES) {
        return 0;
    }
    tracked* x = &w->t[w->n];
    for (int attempt = 0;; attempt++) {
        oa_vk_pool_stats before, after;
        if (oa_vk_pool_get_stats(w->m, w->pools[p], &before) != OA_VK_SUCCESS) {
            return -1;
        }
        const int o = outcome(w, oa_vk_alloc(w->m, w->pools[p], size, 4, &x->r), "oa_vk_alloc");
        if (o == 0) {
            break;
        }
        if (o < 0 || attempt > 0 || x->r.handle.id != 0 ||
            oa_vk_pool_get_stats(w->m, w->pools[p], &after) != OA_VK_SUCCESS ||
            !stats_same(&before, &after) || !bytes_ok(w, false)) {
            fprintf(stderr, "oa_vk_alloc(pool %d, %llu) after a failure: state changed\n", p,
                    (unsigned long long)size);
            return -1;
        }
    }
    x->pool = p;
    x->data = malloc((size_t)size);
    for (VkDeviceSize i = 0; i < size; i++) {
        x->data[i] = (uint8_t)vkt_splitmix64(&w->rng);
    }
    w->n++;
    if (x->r.mapped != NULL) {
        memcpy(x->r.mapped, x->data, (size_t)size);
        return 0;
    }
    VkDeviceSize queued = 0;
    if (oa_vk_stager_upload(w->stager, x->r.handle, 0, x->data, size, &queued) != OA_VK_SUCCESS ||
        queued != size) {
        fprintf(stderr, "upload failed\n");
        return -1;
    }
    VkCommandBuffer cmd = vkt_begin(w->e);
    const uint64_t value = w->e->timeline_value + 1;
    if (oa_vk_stager_record(w->stager, cmd, value) != OA_VK_SUCCESS ||
        vkt_submit_wait(w->e, cmd) != value ||
        oa_vk_stager_collect(w->stager, value) != OA_VK_SUCCESS) {
        fprintf(stderr, "upload submit failed\n");
        return -1;
    }
    return 0;
}

static int drop_range(run* w, int i, bool deferred) {
    tracked* x = &w->t[i];
    const oa_vk_result r = deferred ? oa_vk_free_deferred(w->m, x->r.handle, w->frame + 1)
                                    : oa_vk_free(w->m, x->r.handle);
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "free: %s\n", oa_vk_result_name(r));
        return -1;
    }
    free(x->data);
    w->t[i] = w->t[--w->n];
    return 0;
}

/* Create something through `create`, retrying once after an injected failure. */
#define CREATE_WITH_RETRY(w, call, what)                                                           \
    do {                                                                                           \
        int o_ = outcome(w, call, what);                                                           \
        if (o_ > 0) {                                                                              \
            o_ = outcome(w, call, what);                                                           \
        }                                                                                          \
        if (o_ != 0) {                                                                             \
            fail = 1;                                                                              \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

/* One run of the workload; returns 0, or 1 after printing a divergence. */
static int run_workload(int fail_fn, uint32_t fail_at, VkResult code, int* out_recovered) {
    memset(fault.calls, 0, sizeof fault.calls);
    fault.fail_fn = fail_fn;
    fault.fail_at = fail_at;
    fault.code = code;
    fault.fired = 0;
    run w = {.e = vkt(), .rng = 0xFA0175ull, .where = "workload"};
    oa_vk_manager_info mi = vkt_manager_info(0);
    mi.get_instance_proc_addr = w_get_instance_proc_addr;
    mi.get_device_proc_addr = NULL; /* looked up through the wrapper above */
    mi.release_delay = 1;
    int fail = 0;
    if (oa_vk_manager_create(&mi, &w.m) != OA_VK_SUCCESS) {
        fprintf(stderr, "manager: %s\n", vkt_last_log);
        return 1;
    }
    /* Device-local with uploads, mapped uniform blocks, mapped storage with
     * dedicated blocks above 32 KiB. */
    const oa_vk_pool_info infos[3] = {
        {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
                  VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
         .preferred_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
         .block_size = 64 * KiB,
         .name = "faults device"},
        {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
         .intent = OA_VK_INTENT_DYNAMIC,
         .block_size = 16 * KiB,
         .name = "faults uniform"},
        {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
         .intent = OA_VK_INTENT_READBACK,
         .block_size = 32 * KiB,
         .name = "faults storage"},
    };
    for (int p = 0; p < 3; p++) {
        CREATE_WITH_RETRY(&w, oa_vk_pool_create(w.m, &infos[p], &w.pools[p]), "oa_vk_pool_create");
    }
    const oa_vk_stager_info si = {.ring_size = 64 * KiB};
    CREATE_WITH_RETRY(&w, oa_vk_stager_create(w.m, &si, &w.stager), "oa_vk_stager_create");
    for (int step = 0; step < 200 && !fail; step++) {
        const uint64_t dice = vkt_splitmix64(&w.rng) % 10;
        if (dice < 6 || w.n == 0) {
            const int p = (int)(vkt_splitmix64(&w.rng) % 3);
            VkDeviceSize size = 1 + vkt_splitmix64(&w.rng) % (12 * KiB);
            if (p == 2 && dice == 5) {
                size += 40 * KiB; /* a dedicated block */
            }
            fail = add_range(&w, p, size) != 0;
        } else if (dice < 9) {
            const int i = (int)(vkt_splitmix64(&w.rng) % (uint64_t)w.n);
            fail = drop_range(&w, i, dice == 8) != 0;
        } else {
            w.frame++;
            fail = oa_vk_collect(w.m, w.frame, NULL) != OA_VK_SUCCESS;
        }
    }
    w.where = "end";
    if (!fail && !bytes_ok(&w, true)) {
        fail = 1;
    }
done:
    while (w.n > 0) {
        free(w.t[w.n - 1].data);
        w.n--;
    }
    oa_vk_stager_destroy(w.stager);
    oa_vk_manager_destroy(w.m);
    if (fault.live_buffers != 0 || fault.live_memories != 0) {
        fprintf(stderr, "left behind: %d buffers, %d memory objects\n", fault.live_buffers,
                fault.live_memories);
        fail = 1;
    }
    if (fault.fired) {
        fprintf(stderr, "an injected failure was not reported to any caller\n");
        fail = 1;
    }
    *out_recovered = w.recovered;
    return fail;
}

OA_TEST(every_nth_vulkan_call_fails) {
    vkt_fixture fx; /* the workload makes its own managers */
    vkt_fixture_begin(&fx);
    int recovered = 0;
    printf("seed=0x%llx\n", 0xFA0175ull);
    CHECK_EQ(run_workload(-1, 0, VK_SUCCESS, &recovered), 0);
    CHECK_EQ(recovered, 0);
    uint32_t counts[F_COUNT];
    memcpy(counts, fault.calls, sizeof counts);
    static const VkResult codes[2] = {VK_ERROR_OUT_OF_DEVICE_MEMORY, VK_ERROR_OUT_OF_HOST_MEMORY};
    for (int fn = 0; fn < F_COUNT; fn++) {
        CHECK(counts[fn] >= 4);
        int points = 0;
        for (uint32_t n = 1; n <= counts[fn]; n++) {
            for (int c = 0; c < 2; c++) {
                fault.injected = 0;
                if (run_workload(fn, n, codes[c], &recovered) != 0) {
                    OA_FAIL_AT("%s call %u failing with %d diverged", fault_names[fn], n,
                               (int)codes[c]);
                    return;
                }
                CHECK_EQ(fault.injected, 1);
                CHECK_EQ(recovered, 1);
                points++;
            }
        }
        printf("%s: %u calls, %d failure points recovered\n", fault_names[fn], counts[fn], points);
    }
    VKT_TEARDOWN(&fx);
}

/* ---- corruption detection ---- */

static void corruption_detected(uint32_t manager_flags) {
    VKT_FIXTURE(fx, manager_flags);
    oa_vk_manager* m = fx.manager;
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_UPLOAD,
                                  .flags = OA_VK_POOL_CORRUPTION_CHECK,
                                  .block_size = 64 * KiB,
                                  .name = "guarded"};
    oa_vk_pool pool = vkt_pool(&fx, &info);
    CHECK(pool.id != 0);
    /* Ranges filled to their last byte are fine, and never share a margin. */
    oa_vk_range_info r[8];
    for (int i = 0; i < 8; i++) {
        CHECK_EQ(oa_vk_alloc(m, pool, 1 + (VkDeviceSize)i * 37, 4, &r[i]), OA_VK_SUCCESS);
        memset(r[i].mapped, 0xFF, (size_t)r[i].size);
    }
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 8; j++) {
            CHECK(i == j || r[j].offset >= r[i].offset + r[i].size + OA_VK_CORRUPTION_MARGIN ||
                  r[i].offset >= r[j].offset + r[j].size + OA_VK_CORRUPTION_MARGIN);
        }
    }
    VkDeviceSize at = 7;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_SUCCESS);
    CHECK_EQ(at, OA_NO_OFFSET);
    /* One byte past range 3: found on demand, with its offset, then on free. */
    ((uint8_t*)r[3].mapped)[r[3].size] ^= 0x5A;
    vkt_log_count = 0;
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK_EQ(at, r[3].offset);
    CHECK_EQ(vkt_log_count, 1);
    char want[64];
    snprintf(want, sizeof want, "at offset %llu ", (unsigned long long)r[3].offset);
    CHECK(strstr(vkt_last_log, want) != NULL);
    CHECK(strstr(vkt_last_log, "OA_VK_ERROR_CORRUPTION_DETECTED") != NULL);
    CHECK_EQ(oa_vk_free(m, r[2].handle), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, r[3].handle), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK(strstr(vkt_last_log, want) != NULL);
    CHECK_EQ(oa_vk_free(m, r[3].handle), OA_VK_ERROR_STALE_HANDLE); /* freed all the same */
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_SUCCESS);
    /* The margin's last byte, found when a deferred free is collected. */
    ((uint8_t*)r[5].mapped)[r[5].size + OA_VK_CORRUPTION_MARGIN - 1] = 0;
    CHECK_EQ(oa_vk_free_deferred(m, r[5].handle, 3), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK_EQ(at, r[5].offset); /* pending ranges are checked too */
    uint64_t freed = 0;
    CHECK_EQ(oa_vk_collect(m, 2, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_collect(m, 3, &freed), OA_VK_ERROR_CORRUPTION_DETECTED);
    CHECK_EQ(freed, 1);
    snprintf(want, sizeof want, "at offset %llu ", (unsigned long long)r[5].offset);
    CHECK(strstr(vkt_last_log, want) != NULL);
    /* A dedicated range (above the block size) has its margin too. */
    oa_vk_range_info big;
    CHECK_EQ(oa_vk_alloc(m, pool, 80 * KiB, 1, &big), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.dedicated_count, 1);
    ((uint8_t*)big.mapped)[big.size + 4] = 1;
    CHECK_EQ(oa_vk_free(m, big.handle), OA_VK_ERROR_CORRUPTION_DETECTED);
    for (int i = 0; i < 8; i++) {
        if (i != 2 && i != 3 && i != 5) {
            CHECK_EQ(oa_vk_free(m, r[i].handle), OA_VK_SUCCESS);
        }
    }
    CHECK_EQ(oa_vk_check_corruption(m, pool, NULL), OA_VK_SUCCESS);
    /* Bad input. */
    const oa_vk_pool_info unmapped = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                      .flags = OA_VK_POOL_CORRUPTION_CHECK};
    oa_vk_pool other;
    CHECK_EQ(oa_vk_pool_create(m, &unmapped, &other), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool_info plain = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                   .intent = OA_VK_INTENT_UPLOAD};
    CHECK_EQ(oa_vk_pool_create(m, &plain, &other), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_check_corruption(m, other, &at), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_check_corruption(NULL, pool, &at), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_destroy(m, pool, 0), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_check_corruption(m, pool, &at), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(at, OA_NO_OFFSET);
    VKT_TEARDOWN(&fx);
}

OA_TEST(corruption_past_a_range_is_reported_with_its_offset) {
    corruption_detected(0);
}

OA_TEST(corruption_detection_on_non_coherent_memory) {
    corruption_detected(OA_VK_MANAGER_ASSUME_NON_COHERENT);
}

/* ---- bad input through the public API ---- */

OA_TEST(bad_input_is_rejected_without_changing_state) {
    VKT_FIXTURE(fx, 0);
    vkt_env* e = fx.env;
    oa_vk_manager* m = fx.manager;
    oa_vk_manager* other = vkt_manager(0);
    CHECK(other != NULL);
    /* NULL create infos. */
    oa_vk_manager* no_manager = (oa_vk_manager*)0x1;
    CHECK_EQ(oa_vk_manager_create(NULL, &no_manager), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(no_manager == NULL);
    oa_vk_pool pool = {42};
    CHECK_EQ(oa_vk_pool_create(m, NULL, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(pool.id, 0);
    oa_vk_stager* stager = (oa_vk_stager*)0x1;
    CHECK_EQ(oa_vk_stager_create(m, NULL, &stager), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(stager == NULL);

    /* Memory properties no type of the buffer has, and host access to an
     * unmapped pool. */
    const oa_vk_pool_info lazy = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .required_flags = VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT};
    CHECK_EQ(oa_vk_pool_create(m, &lazy, &pool), OA_VK_ERROR_NO_MEMORY_TYPE);
    CHECK(strstr(vkt_last_log, "no memory type") != NULL);
    const oa_vk_pool_info protected_info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                            .intent = OA_VK_INTENT_DYNAMIC,
                                            .required_flags = VK_MEMORY_PROPERTY_PROTECTED_BIT};
    CHECK_EQ(oa_vk_pool_create(m, &protected_info, &pool), OA_VK_ERROR_NO_MEMORY_TYPE);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 64 * KiB};
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    oa_vk_range_info r;
    CHECK_EQ(oa_vk_alloc(m, pool, 100, 1, &r), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_flush(m, r.handle, 0, VK_WHOLE_SIZE), OA_VK_ERROR_NOT_MAPPED);
    CHECK_EQ(oa_vk_invalidate(m, r.handle, 0, 10), OA_VK_ERROR_NOT_MAPPED);

    /* A size beyond maxBufferSize (and far beyond it). */
    VkPhysicalDeviceMaintenance4Properties m4 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
    VkPhysicalDeviceProperties2 props = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                         .pNext = &m4};
    vkGetPhysicalDeviceProperties2(e->physical_device, &props);
    CHECK(m4.maxBufferSize > 0);
    oa_vk_range_info big = {.size = 1};
    CHECK_EQ(oa_vk_alloc(m, pool, m4.maxBufferSize + 1, 1, &big), OA_VK_ERROR_TOO_LARGE);
    CHECK_EQ(big.handle.id, 0);
    CHECK(strstr(vkt_last_log, "maxBufferSize") != NULL);
    CHECK_EQ(oa_vk_alloc(m, pool, UINT64_MAX, 1, &big), OA_VK_ERROR_TOO_LARGE);

    /* Handles from elsewhere: another manager's pool and range, a range id
     * used as a pool, a range of a destroyed pool. */
    oa_vk_pool foreign;
    CHECK_EQ(oa_vk_pool_create(other, &info, &foreign), OA_VK_SUCCESS);
    oa_vk_range_info foreign_range;
    CHECK_EQ(oa_vk_alloc(other, foreign, 64, 1, &foreign_range), OA_VK_SUCCESS);
    oa_vk_pool_stats st;
    oa_vk_block_stats bs;
    uint64_t count = 0;
    CHECK_EQ(oa_vk_alloc(m, foreign, 64, 1, &big), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_get_stats(m, foreign, &st), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_block_get_stats(m, foreign, 0, &bs), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_trim(m, foreign, &count), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_destroy(m, foreign, 0), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_check_corruption(m, foreign, NULL), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free(m, foreign_range.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free_deferred(m, foreign_range.handle, 1), OA_VK_ERROR_STALE_HANDLE);
    const oa_vk_pool range_as_pool = {r.handle.id};
    CHECK_EQ(oa_vk_alloc(m, range_as_pool, 64, 1, &big), OA_VK_ERROR_STALE_HANDLE);
    oa_vk_pool doomed = vkt_pool(&fx, &info);
    CHECK(doomed.id != 0);
    oa_vk_range_info orphan;
    CHECK_EQ(oa_vk_alloc(m, doomed, 64, 1, &orphan), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_pool_destroy(m, doomed, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, orphan.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 1); /* only r, untouched by all of the above */
    CHECK_EQ(oa_vk_pool_get_stats(other, foreign, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.allocation_count, 1);

    /* Freeing during a pending deferred free: rejected, freed once at collect. */
    oa_vk_range_info pending;
    CHECK_EQ(oa_vk_alloc(m, pool, 200, 1, &pending), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free_deferred(m, pending.handle, 10), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free(m, pending.handle), OA_VK_ERROR_STALE_HANDLE);
    CHECK(strstr(vkt_last_log, "pending") != NULL);
    CHECK_EQ(oa_vk_free_deferred(m, pending.handle, 5), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_free_deferred(m, pending.handle, 10), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_range_get_info(m, pending.handle, &big), OA_VK_ERROR_STALE_HANDLE);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, 1);
    CHECK_EQ(st.allocation_count, 2);

    /* Collect with values that go backwards: nothing comes back early, and
     * nothing twice. */
    uint64_t freed = 9;
    CHECK_EQ(oa_vk_collect(m, 9, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_collect(m, 10, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 1);
    oa_vk_range_info later;
    CHECK_EQ(oa_vk_alloc(m, pool, 300, 1, &later), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_free_deferred(m, later.handle, 12), OA_VK_SUCCESS);
    CHECK_EQ(oa_vk_collect(m, 3, &freed), OA_VK_SUCCESS); /* backwards */
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_collect(m, 0, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, 1);
    CHECK_EQ(st.allocation_count, 2);
    CHECK_EQ(oa_vk_collect(m, 12, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 1);
    CHECK_EQ(oa_vk_collect(m, 11, &freed), OA_VK_SUCCESS);
    CHECK_EQ(freed, 0);
    CHECK_EQ(oa_vk_pool_get_stats(m, pool, &st), OA_VK_SUCCESS);
    CHECK_EQ(st.pending_count, 0);
    CHECK_EQ(st.allocation_count, 1);
    CHECK_EQ(oa_vk_free(m, r.handle), OA_VK_SUCCESS);
    oa_vk_manager_destroy(other);
    VKT_TEARDOWN(&fx);
}

VKT_TEST_MAIN()
