/* support.c - what every file of the Vulkan layer leans on and nothing
 * else: result names and the mapping of VkResult and core results to
 * oa_vk_result, the failure log, the manager's mutex, host memory through
 * the caller's callbacks, and growth of the layer's arrays.
 * Calls no other file of the layer: every file may call it, so it closes no
 * circle. */
#include "oa_vk_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
