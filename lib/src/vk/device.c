/* device.c - the manager's lifecycle: loads the private device table, reads
 * properties, limits and budgets, and holds the shared helpers (mutex, host
 * memory, log, result mapping, debug names).
 * Does not create buffers or memory (block.c does).
 * Invariant: every entry point the manager calls unconditionally is non-NULL
 * after oa_vk_manager_create succeeds. */
#include "oa_vk_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* A process-wide global, marked for the CI grep of mutable statics: a count
 * of the managers created in the process. A manager's generations must start
 * apart from those of every earlier manager, and nothing inside an object can
 * tell it apart from a destroyed one that malloc placed at the same address
 * for the same VkDevice. An atomic counter is safe from any thread and holds
 * no resource, so it costs none of the isolation the no-globals rule is for. */
static _Atomic uint32_t oa__vk_manager_serial; /* OA_PROCESS_WIDE */

const char* oa_vk_result_name(oa_vk_result result) {
    switch (result) {
#define OA_VK__RESULT_CASE(name, value)                                                            \
    case name:                                                                                     \
        return #name;
        OA_VK_RESULT_LIST(OA_VK__RESULT_CASE)
#undef OA_VK__RESULT_CASE
    default:
        return "OA_VK_UNKNOWN_RESULT";
    }
}

void oa__vk_lock(oa_vk_manager* m) {
    if (m->thread_safe) {
#if defined(_WIN32)
        AcquireSRWLockExclusive(&m->mutex);
#else
        pthread_mutex_lock(&m->mutex);
#endif
    }
}

void oa__vk_unlock(oa_vk_manager* m) {
    if (m->thread_safe) {
#if defined(_WIN32)
        ReleaseSRWLockExclusive(&m->mutex);
#else
        pthread_mutex_unlock(&m->mutex);
#endif
    }
}

void* oa__vk_host_alloc(const oa_alloc_callbacks* cb, size_t size) {
    if (cb->alloc != NULL) {
        return cb->alloc(cb->user, size, 16);
    }
    return malloc(size);
}

void oa__vk_host_free(const oa_alloc_callbacks* cb, void* ptr, size_t size) {
    if (ptr == NULL) {
        return;
    }
    if (cb->free != NULL) {
        cb->free(cb->user, ptr, size);
    } else {
        free(ptr);
    }
}

oa_vk_result oa__vk_grow(const oa_alloc_callbacks* cb, void** array, uint32_t* capacity,
                         size_t elem, uint32_t needed) {
    if (needed <= *capacity) {
        return OA_VK_SUCCESS;
    }
    uint64_t wanted = *capacity < 8 ? 8 : (uint64_t)*capacity * 2;
    if (wanted < needed) {
        wanted = needed;
    }
    if (wanted > UINT32_MAX - 1 || wanted > SIZE_MAX / elem) {
        return OA_VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    void* grown = oa__vk_host_alloc(cb, (size_t)wanted * elem);
    if (grown == NULL) {
        return OA_VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    memset(grown, 0, (size_t)wanted * elem);
    if (*array != NULL) {
        memcpy(grown, *array, (size_t)*capacity * elem);
        oa__vk_host_free(cb, *array, (size_t)*capacity * elem);
    }
    *array = grown;
    *capacity = (uint32_t)wanted;
    return OA_VK_SUCCESS;
}

oa_vk_result oa__vk_fail(const oa_vk_manager* m, oa_vk_result r, const char* fmt, ...) {
    if (m != NULL && m->log != NULL) {
        char message[256];
        va_list args;
        va_start(args, fmt);
        vsnprintf(message, sizeof message, fmt, args);
        va_end(args);
        m->log(m->log_user, r, message);
    }
    return r;
}

/* One value per meaning across the layers: the core's results keep their
 * values here, so oa__vk_from_core is a cast. */
#define OA__VK_SAME(core, vk) _Static_assert((int)core == (int)vk, #vk " agrees with " #core);
OA__VK_SAME(OA_SUCCESS, OA_VK_SUCCESS)
OA__VK_SAME(OA_ERROR_INVALID_ARGUMENT, OA_VK_ERROR_INVALID_ARGUMENT)
OA__VK_SAME(OA_ERROR_OUT_OF_SPACE, OA_VK_ERROR_OUT_OF_POOL_SPACE)
OA__VK_SAME(OA_ERROR_OUT_OF_METADATA, OA_VK_ERROR_OUT_OF_METADATA)
OA__VK_SAME(OA_ERROR_OUT_OF_HOST_MEMORY, OA_VK_ERROR_OUT_OF_HOST_MEMORY)
OA__VK_SAME(OA_ERROR_STALE_HANDLE, OA_VK_ERROR_STALE_HANDLE)
OA__VK_SAME(OA_ERROR_OVERFLOW, OA_VK_ERROR_OVERFLOW)
OA__VK_SAME(OA_ERROR_CORRUPT_TILING, OA_VK_ERROR_CORRUPT_TILING)
OA__VK_SAME(OA_ERROR_CORRUPT_LINKS, OA_VK_ERROR_CORRUPT_LINKS)
OA__VK_SAME(OA_ERROR_CORRUPT_ADJACENT_FREE, OA_VK_ERROR_CORRUPT_ADJACENT_FREE)
OA__VK_SAME(OA_ERROR_CORRUPT_INDEX, OA_VK_ERROR_CORRUPT_INDEX)
OA__VK_SAME(OA_ERROR_CORRUPT_COUNTS, OA_VK_ERROR_CORRUPT_COUNTS)
#undef OA__VK_SAME

oa_vk_result oa__vk_from_vk(oa_vk_manager* m, VkResult vr) {
    if (vr < 0) {
        m->last_vk_result = vr;
    }
    switch (vr) {
    case VK_SUCCESS:
        return OA_VK_SUCCESS;
    case VK_ERROR_OUT_OF_HOST_MEMORY:
        return OA_VK_ERROR_OUT_OF_HOST_MEMORY;
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
        return OA_VK_ERROR_OUT_OF_DEVICE_MEMORY;
    case VK_ERROR_TOO_MANY_OBJECTS:
        return OA_VK_ERROR_TOO_MANY_ALLOCATIONS;
    case VK_ERROR_DEVICE_LOST:
        return OA_VK_ERROR_DEVICE_LOST;
    default:
        return OA_VK_ERROR_VULKAN;
    }
}

oa_vk_result oa__vk_from_core(oa_result r) {
    switch (r) {
#define OA__VK_CORE_CASE(name, value)                                                              \
    case name:                                                                                     \
        return (oa_vk_result)(value);
        OA_RESULT_LIST(OA__VK_CORE_CASE)
#undef OA__VK_CORE_CASE
    default:
        /* A result the core may add later: an error, never a success. */
        return r < 0 ? OA_VK_ERROR_INVALID_ARGUMENT : OA_VK_SUCCESS;
    }
}

VkResult oa_vk_last_vk_result(oa_vk_manager* m) {
    if (m == NULL) {
        return VK_SUCCESS;
    }
    oa__vk_lock(m);
    const VkResult vr = m->last_vk_result;
    oa__vk_unlock(m);
    return vr;
}

void oa__vk_refresh_budget(oa_vk_manager* m) {
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    bool has_budget = false;
    if ((m->flags & OA_VK_MANAGER_MEMORY_BUDGET) != 0 && m->get_memory_properties2 != NULL) {
        VkPhysicalDeviceMemoryProperties2 props2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &budget};
        m->get_memory_properties2(m->physical_device, &props2);
        has_budget = true;
    }
    for (uint32_t i = 0; i < m->memory_properties.memoryHeapCount && i < VK_MAX_MEMORY_HEAPS; i++) {
        const VkDeviceSize heap_size = m->memory_properties.memoryHeaps[i].size;
        m->device_budget[i] = has_budget ? budget.heapBudget[i] : heap_size / 10 * 8;
        VkDeviceSize b = m->device_budget[i];
        if (m->caller_budget[i] != 0 && m->caller_budget[i] < b) {
            b = m->caller_budget[i];
        }
        m->heap_budget[i] = b;
        /* heapUsage counts the whole process (other allocators, images,
         * swapchains), orderly's blocks included. */
        m->process_usage[i] = has_budget ? budget.heapUsage[i] : 0;
        m->usage_at_refresh[i] = m->heap_usage[i];
    }
}

VkDeviceSize oa__vk_process_usage(const oa_vk_manager* m, uint32_t heap) {
    const VkDeviceSize own = m->heap_usage[heap];
    const VkDeviceSize then = m->usage_at_refresh[heap];
    /* The process's usage as last read, moved by what orderly allocated or
     * freed since; never below orderly's own bytes. */
    VkDeviceSize u = m->process_usage[heap];
    if (own >= then) {
        u = u + (own - then) < u ? UINT64_MAX : u + (own - then);
    } else {
        u = u > then - own ? u - (then - own) : 0;
    }
    return u > own ? u : own;
}

bool oa__vk_heap_has_room(const oa_vk_manager* m, uint32_t heap, VkDeviceSize size) {
    const VkDeviceSize own = m->heap_usage[heap];
    const VkDeviceSize process = oa__vk_process_usage(m, heap);
    if (process + size < size || process + size > m->device_budget[heap]) {
        return false;
    }
    /* The caller's budget bounds orderly's own share. */
    return m->caller_budget[heap] == 0 ||
           (own + size >= size && own + size <= m->caller_budget[heap]);
}

void oa__vk_set_name(const oa_vk_manager* m, VkObjectType type, uint64_t handle, const char* name) {
    if (m->set_object_name == NULL || handle == 0) {
        return;
    }
    const VkDebugUtilsObjectNameInfoEXT info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_OBJECT_NAME_INFO_EXT,
        .objectType = type,
        .objectHandle = handle,
        .pObjectName = name};
    (void)m->set_object_name(m->device, &info);
}

static VkDeviceSize oa__vk_min_size(VkDeviceSize a, VkDeviceSize b) {
    return a < b ? a : b;
}

/* Reads properties, limits and memory layout; fills the optional entry points. */
static oa_vk_result oa__vk_load(oa_vk_manager* m, const oa_vk_manager_info* info) {
    PFN_vkGetInstanceProcAddr gipa = info->get_instance_proc_addr;
    PFN_vkGetDeviceProcAddr gdpa = info->get_device_proc_addr;
    if (gdpa == NULL) {
        gdpa = (PFN_vkGetDeviceProcAddr)gipa(m->instance, "vkGetDeviceProcAddr");
    }
    PFN_vkGetPhysicalDeviceProperties get_properties =
        (PFN_vkGetPhysicalDeviceProperties)gipa(m->instance, "vkGetPhysicalDeviceProperties");
    PFN_vkGetPhysicalDeviceMemoryProperties get_memory_properties =
        (PFN_vkGetPhysicalDeviceMemoryProperties)gipa(m->instance,
                                                      "vkGetPhysicalDeviceMemoryProperties");
    if (gdpa == NULL || get_properties == NULL || get_memory_properties == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                           "oa_vk_manager_create: get_instance_proc_addr gave no "
                           "vkGetDeviceProcAddr or physical-device queries");
    }
    get_properties(m->physical_device, &m->properties);
    get_memory_properties(m->physical_device, &m->memory_properties);
    if (m->properties.apiVersion < m->api_version) {
        m->api_version = m->properties.apiVersion;
    }
    if (m->memory_properties.memoryTypeCount == 0 ||
        m->memory_properties.memoryTypeCount > VK_MAX_MEMORY_TYPES ||
        m->memory_properties.memoryHeapCount == 0 ||
        m->memory_properties.memoryHeapCount > VK_MAX_MEMORY_HEAPS) {
        return oa__vk_fail(m, OA_VK_ERROR_VULKAN,
                           "oa_vk_manager_create: the device reports no usable memory layout");
    }

    const oa_vk_result loaded = oa__vk_load_functions(m, gdpa, info->functions);
    if (loaded != OA_VK_SUCCESS) {
        return loaded;
    }

    const bool v11 = m->api_version >= VK_API_VERSION_1_1;
    const bool v13 = m->api_version >= VK_API_VERSION_1_3;
    if (v11) {
        m->get_properties2 =
            (PFN_vkGetPhysicalDeviceProperties2)gipa(m->instance, "vkGetPhysicalDeviceProperties2");
        m->get_memory_properties2 = (PFN_vkGetPhysicalDeviceMemoryProperties2)gipa(
            m->instance, "vkGetPhysicalDeviceMemoryProperties2");
    }
    m->cmd_pipeline_barrier2 = m->vk.vkCmdPipelineBarrier2;
    m->get_buffer_device_address = m->vk.vkGetBufferDeviceAddress;
    if ((m->flags & OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS) != 0 &&
        m->get_buffer_device_address == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                           "oa_vk_manager_create: BUFFER_DEVICE_ADDRESS flag but no "
                           "vkGetBufferDeviceAddress");
    }
    if ((m->flags & OA_VK_MANAGER_MEMORY_BUDGET) != 0 && m->get_memory_properties2 == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                           "oa_vk_manager_create: MEMORY_BUDGET flag needs api_version 1.1");
    }
    if ((m->flags & OA_VK_MANAGER_DEBUG_UTILS) != 0) {
        m->set_object_name =
            (PFN_vkSetDebugUtilsObjectNameEXT)gipa(m->instance, "vkSetDebugUtilsObjectNameEXT");
        if (m->set_object_name == NULL) {
            return oa__vk_fail(m, OA_VK_ERROR_FEATURE_NOT_ENABLED,
                               "oa_vk_manager_create: DEBUG_UTILS flag but no "
                               "vkSetDebugUtilsObjectNameEXT");
        }
    }

    /* Without maintenance3/4 the device states no limit: a heap is the bound. */
    VkDeviceSize largest_heap = 0;
    for (uint32_t i = 0; i < m->memory_properties.memoryHeapCount; i++) {
        if (m->memory_properties.memoryHeaps[i].size > largest_heap) {
            largest_heap = m->memory_properties.memoryHeaps[i].size;
        }
    }
    m->max_allocation_size = largest_heap;
    m->max_buffer_size = largest_heap;
    if (m->get_properties2 != NULL) {
        VkPhysicalDeviceMaintenance4Properties maint4 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
        VkPhysicalDeviceMaintenance3Properties maint3 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES,
            .pNext = v13 ? &maint4 : NULL};
        VkPhysicalDeviceProperties2 props2 = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &maint3};
        m->get_properties2(m->physical_device, &props2);
        if (maint3.maxMemoryAllocationSize != 0) {
            m->max_allocation_size = oa__vk_min_size(largest_heap, maint3.maxMemoryAllocationSize);
        }
        if (v13 && maint4.maxBufferSize != 0) {
            m->max_buffer_size = maint4.maxBufferSize;
        }
    }
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_manager_create(const oa_vk_manager_info* info, oa_vk_manager** out_manager) {
    if (out_manager != NULL) {
        *out_manager = NULL;
    }
    if (info == NULL || out_manager == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa_vk_manager probe = {.log = info->log, .log_user = info->log_user};
    if (info->instance == VK_NULL_HANDLE || info->physical_device == VK_NULL_HANDLE ||
        info->device == VK_NULL_HANDLE || info->get_instance_proc_addr == NULL) {
        return oa__vk_fail(&probe, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_manager_create: instance, physical_device, device and "
                           "get_instance_proc_addr are required");
    }
    const uint32_t known = OA_VK_MANAGER_THREAD_SAFE | OA_VK_MANAGER_ASSUME_NON_COHERENT |
                           OA_VK_MANAGER_DEBUG_UTILS | OA_VK_MANAGER_MEMORY_BUDGET |
                           OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS |
                           OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED;
    if ((info->flags & ~known) != 0) {
        return oa__vk_fail(&probe, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_manager_create: unknown flags 0x%x", info->flags & ~known);
    }
    const uint32_t both = OA_VK_MANAGER_THREAD_SAFE | OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED;
    if ((info->flags & both) == both) {
        return oa__vk_fail(&probe, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_manager_create: OA_VK_MANAGER_THREAD_SAFE and "
                           "OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED contradict each other");
    }
    if ((info->callbacks.alloc == NULL) != (info->callbacks.free == NULL)) {
        return oa__vk_fail(&probe, OA_VK_ERROR_INVALID_ARGUMENT,
                           "oa_vk_manager_create: callbacks need both alloc and free");
    }
    oa_vk_manager* m = (oa_vk_manager*)oa__vk_host_alloc(&info->callbacks, sizeof *m);
    if (m == NULL) {
        return oa__vk_fail(&probe, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                           "oa_vk_manager_create: no host memory for the manager");
    }
    memset(m, 0, sizeof *m);
    m->instance = info->instance;
    m->physical_device = info->physical_device;
    m->device = info->device;
    m->api_version = info->api_version != 0 ? info->api_version : VK_API_VERSION_1_0;
    m->flags = info->flags;
    m->release_delay =
        info->release_delay != 0 ? info->release_delay : OA__VK_DEFAULT_RELEASE_DELAY;
    m->vk_callbacks = info->vk_allocation_callbacks;
    m->callbacks = info->callbacks;
    m->log = info->log;
    m->log_user = info->log_user;
    m->memory_callbacks = info->device_memory_callbacks;
    memcpy(m->caller_budget, info->heap_budget, sizeof m->caller_budget);
    m->pool_free = OA__VK_NO_SLOT;
    m->range_free = OA__VK_NO_SLOT;
    /* Managers start their generations apart so that a handle of one is
     * stale in another. The n-th manager of the process starts at the odd
     * number 2 * (n * 0x9E3779B9 mod 2^31) + 1: distinct for the first 2^31
     * managers, and spread like a golden-ratio sequence, so the generations
     * that one manager's slots reach by reuse stay clear of another's as
     * long as no slot of either is reused more often than the smallest gap
     * between the starts (more than 2^32 / (4 N) among the first N managers,
     * up to N = 10^5 at least). */
    const uint32_t serial =
        atomic_fetch_add_explicit(&oa__vk_manager_serial, 1u, memory_order_relaxed);
    m->generation_seed = ((serial * 0x9E3779B9u) << 1) | 1u;

    oa_vk_result r = oa__vk_load(m, info);
    if (r != OA_VK_SUCCESS) {
        oa__vk_host_free(&m->callbacks, m, sizeof *m);
        return r;
    }
    oa__vk_refresh_budget(m);
    if ((m->flags & OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED) == 0) {
#if defined(_WIN32)
        InitializeSRWLock(&m->mutex);
#else
        if (pthread_mutex_init(&m->mutex, NULL) != 0) {
            oa__vk_host_free(&m->callbacks, m, sizeof *m);
            return oa__vk_fail(&probe, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                               "oa_vk_manager_create: mutex creation failed");
        }
#endif
        m->thread_safe = true;
    }
    *out_manager = m;
    return OA_VK_SUCCESS;
}

void oa_vk_manager_destroy(oa_vk_manager* m) {
    if (m == NULL) {
        return;
    }
    for (uint32_t i = 0; i < m->pool_slots; i++) {
        oa__vk_pool* p = &m->pools[i];
        if (!p->in_use) {
            continue;
        }
        for (uint32_t b = 0; b < p->block_slots; b++) {
            if (p->blocks[b].in_use) {
                oa__vk_block_destroy(m, p, b);
            }
        }
        oa__vk_host_free(&m->callbacks, p->blocks, (size_t)p->block_capacity * sizeof *p->blocks);
    }
    oa__vk_host_free(&m->callbacks, m->pools, (size_t)m->pool_capacity * sizeof *m->pools);
    oa__vk_host_free(&m->callbacks, m->ranges, (size_t)m->range_capacity * sizeof *m->ranges);
    oa__vk_host_free(&m->callbacks, m->deferred,
                     (size_t)m->deferred_capacity * sizeof *m->deferred);
    if (m->thread_safe) {
#if !defined(_WIN32)
        pthread_mutex_destroy(&m->mutex);
#endif
    }
    oa__vk_host_free(&m->callbacks, m, sizeof *m);
}
