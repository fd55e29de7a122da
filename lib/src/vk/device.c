/* device.c - the manager's lifecycle: loads the private device table, reads
 * properties, limits and budgets (budget.c keeps them), creates the mutex,
 * and destroys every pool's blocks (through block.c) at the end.
 * Does not create buffers or memory (block.c does). The helpers every file
 * shares are in support.c, so no file of the layer calls back into this one.
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

VkResult oa_vk_last_vk_result(oa_vk_manager* m) {
    if (m == NULL) {
        return VK_SUCCESS;
    }
    oa__vk_lock(m);
    const VkResult vr = m->last_vk_result;
    oa__vk_unlock(m);
    return vr;
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
        oa__vk_compact_drop(m, p);
        for (uint32_t b = 0; b < p->block_slots; b++) {
            if (p->blocks[b].in_use) {
                oa__vk_block_destroy(m, p, b);
            }
        }
        oa__vk_host_free(&m->callbacks, p->blocks, (size_t)p->block_capacity * sizeof *p->blocks);
    }
    oa__vk_grow_release_all(m);
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
