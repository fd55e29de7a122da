/* vk_fake_device.h - a small fake Vulkan device for tests that need no GPU:
 * one heap, one memory type (coherent or not), synthetic maxBufferSize,
 * maxMemoryAllocationSize and nonCoherentAtomSize. Every vkCreateBuffer and
 * vkAllocateMemory is checked against the limits: a call above one counts in
 * fake_lim.illegal_calls (and fails), so a test sees whether the manager ever
 * asked Vulkan for an illegal size. Memory is real host memory, so mapped
 * pools (margins, flushes) work, and vkCmdCopyBuffer copies at once, its
 * regions in reverse order (the specification orders them not at all); a
 * copy that writes bytes an earlier copy wrote with no barrier between counts
 * in fake_lim.write_hazards, overlapping regions of one copy in
 * fake_lim.unordered_overlaps. Either barrier entry point can be withheld
 * (no_barrier2, no_barrier1). Header only, one test file per program. */
#ifndef VK_FAKE_DEVICE_H
#define VK_FAKE_DEVICE_H

#include <orderly/orderly_vk.h>

#include <stdlib.h>
#include <string.h>

typedef struct fake_lim_state {
    VkDeviceSize max_buffer_size, max_allocation_size, atom, heap_size;
    VkDeviceSize requirement_alignment; /* memory size = buffer size rounded up to this */
    bool coherent;
    int illegal_calls;
    int buffers, memories, create_buffer_calls, allocate_calls;
    VkDeviceSize last_buffer_size, last_allocation_size;
    int copy_commands, barriers, write_hazards, unordered_overlaps;
    int barriers1;    /* of `barriers`, those through vkCmdPipelineBarrier */
    bool no_barrier2; /* the device offers no vkCmdPipelineBarrier2 */
    bool no_barrier1; /* nor vkCmdPipelineBarrier */
    bool count_only;  /* copies and barriers are only counted (benchmarks) */
    /* Destination bytes written since the last barrier (first 256 copies). */
    struct {
        VkBuffer buffer;
        VkDeviceSize begin, end;
    } written[256];
    int written_count;
} fake_lim_state;

static fake_lim_state fake_lim;
static int fake_lim_device, fake_lim_instance, fake_lim_physical;

typedef struct fake_lim_memory {
    VkDeviceSize size;
    void* host;
} fake_lim_memory;

typedef struct fake_lim_buffer {
    VkDeviceSize size;
    fake_lim_memory* memory; /* bound at offset 0 */
} fake_lim_buffer;

static void fake_lim_reset(void) {
    memset(&fake_lim, 0, sizeof fake_lim);
    fake_lim.max_buffer_size = 1u << 20;
    fake_lim.max_allocation_size = 1u << 20;
    fake_lim.atom = 128;
    fake_lim.heap_size = 1ull << 30;
    fake_lim.requirement_alignment = 64;
    fake_lim.coherent = true;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_properties(VkPhysicalDevice pd,
                                                      VkPhysicalDeviceProperties* out) {
    (void)pd;
    memset(out, 0, sizeof *out);
    out->apiVersion = VK_API_VERSION_1_3;
    out->limits.maxMemoryAllocationCount = 4096;
    out->limits.minUniformBufferOffsetAlignment = 256;
    out->limits.minStorageBufferOffsetAlignment = 16;
    out->limits.minTexelBufferOffsetAlignment = 16;
    out->limits.nonCoherentAtomSize = fake_lim.atom;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_properties2(VkPhysicalDevice pd,
                                                       VkPhysicalDeviceProperties2* out) {
    fake_lim_properties(pd, &out->properties);
    for (VkBaseOutStructure* s = (VkBaseOutStructure*)out->pNext; s != NULL; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES) {
            ((VkPhysicalDeviceMaintenance3Properties*)s)->maxMemoryAllocationSize =
                fake_lim.max_allocation_size;
        } else if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES) {
            ((VkPhysicalDeviceMaintenance4Properties*)s)->maxBufferSize = fake_lim.max_buffer_size;
        }
    }
}

static VKAPI_ATTR void VKAPI_CALL
fake_lim_memory_properties(VkPhysicalDevice pd, VkPhysicalDeviceMemoryProperties* out) {
    (void)pd;
    memset(out, 0, sizeof *out);
    out->memoryHeapCount = 1;
    out->memoryHeaps[0] = (VkMemoryHeap){fake_lim.heap_size, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    out->memoryTypeCount = 1;
    out->memoryTypes[0].propertyFlags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                        (fake_lim.coherent ? VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
                                                           : VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_lim_create_buffer(VkDevice d,
                                                             const VkBufferCreateInfo* info,
                                                             const VkAllocationCallbacks* cb,
                                                             VkBuffer* out) {
    (void)d;
    (void)cb;
    fake_lim.create_buffer_calls++;
    fake_lim.last_buffer_size = info->size;
    if (info->size == 0 || info->size > fake_lim.max_buffer_size) {
        fake_lim.illegal_calls++;
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    fake_lim_buffer* b = malloc(sizeof *b);
    if (b == NULL) {
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    b->size = info->size;
    b->memory = NULL;
    fake_lim.buffers++;
    *out = (VkBuffer)(uintptr_t)b;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_destroy_buffer(VkDevice d, VkBuffer b,
                                                          const VkAllocationCallbacks* cb) {
    (void)d;
    (void)cb;
    if (b != VK_NULL_HANDLE) {
        free((fake_lim_buffer*)(uintptr_t)b);
        fake_lim.buffers--;
    }
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_requirements(VkDevice d, VkBuffer b,
                                                        VkMemoryRequirements* out) {
    (void)d;
    const VkDeviceSize a = fake_lim.requirement_alignment;
    out->size = (((fake_lim_buffer*)(uintptr_t)b)->size + a - 1) / a * a;
    out->alignment = a;
    out->memoryTypeBits = 1;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_lim_allocate(VkDevice d,
                                                        const VkMemoryAllocateInfo* info,
                                                        const VkAllocationCallbacks* cb,
                                                        VkDeviceMemory* out) {
    (void)d;
    (void)cb;
    fake_lim.allocate_calls++;
    fake_lim.last_allocation_size = info->allocationSize;
    if (info->allocationSize == 0 || info->allocationSize > fake_lim.max_allocation_size) {
        fake_lim.illegal_calls++;
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    fake_lim_memory* m = malloc(sizeof *m);
    void* host = calloc(1, (size_t)info->allocationSize);
    if (m == NULL || host == NULL) {
        free(m);
        free(host);
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    m->size = info->allocationSize;
    m->host = host;
    fake_lim.memories++;
    *out = (VkDeviceMemory)(uintptr_t)m;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_free(VkDevice d, VkDeviceMemory mem,
                                                const VkAllocationCallbacks* cb) {
    (void)d;
    (void)cb;
    if (mem != VK_NULL_HANDLE) {
        fake_lim_memory* m = (fake_lim_memory*)(uintptr_t)mem;
        free(m->host);
        free(m);
        fake_lim.memories--;
    }
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_lim_bind(VkDevice d, VkBuffer b, VkDeviceMemory m,
                                                    VkDeviceSize o) {
    (void)d;
    if (o != 0) {
        fake_lim.illegal_calls++;
    }
    ((fake_lim_buffer*)(uintptr_t)b)->memory = (fake_lim_memory*)(uintptr_t)m;
    return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_lim_map(VkDevice d, VkDeviceMemory mem, VkDeviceSize o,
                                                   VkDeviceSize s, VkMemoryMapFlags f, void** out) {
    (void)d;
    (void)s;
    (void)f;
    *out = (uint8_t*)((fake_lim_memory*)(uintptr_t)mem)->host + o;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_unmap(VkDevice d, VkDeviceMemory m) {
    (void)d;
    (void)m;
}

/* Flush and invalidate ranges must lie inside the memory and be atom-aligned
 * (or end at the memory's end): anything else counts as illegal. */
static VKAPI_ATTR VkResult VKAPI_CALL fake_lim_flush(VkDevice d, uint32_t n,
                                                     const VkMappedMemoryRange* r) {
    (void)d;
    for (uint32_t i = 0; i < n; i++) {
        const VkDeviceSize size = ((fake_lim_memory*)(uintptr_t)r[i].memory)->size;
        const VkDeviceSize end = r[i].offset + r[i].size;
        if (r[i].offset % fake_lim.atom != 0 || end > size ||
            (end % fake_lim.atom != 0 && end != size)) {
            fake_lim.illegal_calls++;
        }
    }
    return VK_SUCCESS;
}

static bool fake_lim_overlap(VkDeviceSize a, VkDeviceSize a_end, VkDeviceSize b,
                             VkDeviceSize b_end) {
    return a < b_end && b < a_end;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_copy(VkCommandBuffer c, VkBuffer src, VkBuffer dst,
                                                uint32_t n, const VkBufferCopy* r) {
    (void)c;
    const fake_lim_buffer* s = (const fake_lim_buffer*)(uintptr_t)src;
    const fake_lim_buffer* d = (const fake_lim_buffer*)(uintptr_t)dst;
    fake_lim.copy_commands++;
    if (fake_lim.count_only) {
        return;
    }
    const int earlier = fake_lim.written_count; /* written by earlier commands */
    for (uint32_t i = 0; i < n; i++) {
        const VkDeviceSize lo = r[i].dstOffset, hi = r[i].dstOffset + r[i].size;
        if (r[i].size == 0 || r[i].srcOffset + r[i].size > s->size || hi > d->size ||
            s->memory == NULL || d->memory == NULL) {
            fake_lim.illegal_calls++;
            return;
        }
        for (int w = 0; w < earlier; w++) {
            if (fake_lim.written[w].buffer == dst &&
                fake_lim_overlap(lo, hi, fake_lim.written[w].begin, fake_lim.written[w].end)) {
                fake_lim.write_hazards++;
            }
        }
        for (uint32_t j = 0; j < i; j++) {
            if (fake_lim_overlap(lo, hi, r[j].dstOffset, r[j].dstOffset + r[j].size)) {
                fake_lim.unordered_overlaps++;
            }
        }
    }
    for (uint32_t i = n; i-- > 0;) {
        memmove((uint8_t*)d->memory->host + r[i].dstOffset,
                (const uint8_t*)s->memory->host + r[i].srcOffset, (size_t)r[i].size);
        if (fake_lim.written_count < 256) {
            fake_lim.written[fake_lim.written_count].buffer = dst;
            fake_lim.written[fake_lim.written_count].begin = r[i].dstOffset;
            fake_lim.written[fake_lim.written_count].end = r[i].dstOffset + r[i].size;
            fake_lim.written_count++;
        }
    }
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_barrier2(VkCommandBuffer c, const VkDependencyInfo* d) {
    (void)c;
    (void)d;
    fake_lim.barriers++;
    fake_lim.written_count = 0;
}

static VKAPI_ATTR void VKAPI_CALL fake_lim_barrier1(VkCommandBuffer c, VkPipelineStageFlags src,
                                                    VkPipelineStageFlags dst, VkDependencyFlags f,
                                                    uint32_t nm, const VkMemoryBarrier* m,
                                                    uint32_t nb, const VkBufferMemoryBarrier* b,
                                                    uint32_t ni, const VkImageMemoryBarrier* i) {
    (void)c, (void)src, (void)dst, (void)f, (void)nm, (void)m, (void)nb, (void)b, (void)ni, (void)i;
    fake_lim.barriers++;
    fake_lim.barriers1++;
    fake_lim.written_count = 0;
}

#define FAKE_LIM_ENTRY(name, fn)                                                                   \
    if (strcmp(n, name) == 0) {                                                                    \
        return (PFN_vkVoidFunction)fn;                                                             \
    }

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL fake_lim_gdpa(VkDevice device, const char* n) {
    (void)device;
    FAKE_LIM_ENTRY("vkCreateBuffer", fake_lim_create_buffer)
    FAKE_LIM_ENTRY("vkDestroyBuffer", fake_lim_destroy_buffer)
    FAKE_LIM_ENTRY("vkGetBufferMemoryRequirements", fake_lim_requirements)
    FAKE_LIM_ENTRY("vkAllocateMemory", fake_lim_allocate)
    FAKE_LIM_ENTRY("vkFreeMemory", fake_lim_free)
    FAKE_LIM_ENTRY("vkBindBufferMemory", fake_lim_bind)
    FAKE_LIM_ENTRY("vkMapMemory", fake_lim_map)
    FAKE_LIM_ENTRY("vkUnmapMemory", fake_lim_unmap)
    FAKE_LIM_ENTRY("vkFlushMappedMemoryRanges", fake_lim_flush)
    FAKE_LIM_ENTRY("vkInvalidateMappedMemoryRanges", fake_lim_flush)
    FAKE_LIM_ENTRY("vkCmdCopyBuffer", fake_lim_copy)
    if (!fake_lim.no_barrier2) {
        FAKE_LIM_ENTRY("vkCmdPipelineBarrier2", fake_lim_barrier2)
    }
    if (!fake_lim.no_barrier1) {
        FAKE_LIM_ENTRY("vkCmdPipelineBarrier", fake_lim_barrier1)
    }
    return NULL;
}

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL fake_lim_gipa(VkInstance instance, const char* n) {
    (void)instance;
    FAKE_LIM_ENTRY("vkGetDeviceProcAddr", fake_lim_gdpa)
    FAKE_LIM_ENTRY("vkGetPhysicalDeviceProperties", fake_lim_properties)
    FAKE_LIM_ENTRY("vkGetPhysicalDeviceProperties2", fake_lim_properties2)
    FAKE_LIM_ENTRY("vkGetPhysicalDeviceMemoryProperties", fake_lim_memory_properties)
    return NULL;
}

/* A manager over the fake device (flags: OA_VK_MANAGER_*), or NULL. */
static oa_vk_manager* fake_lim_manager(uint32_t flags, oa_vk_log_fn log, void* log_user) {
    oa_vk_manager_info info = {0};
    info.instance = (VkInstance)(void*)&fake_lim_instance;
    info.physical_device = (VkPhysicalDevice)(void*)&fake_lim_physical;
    info.device = (VkDevice)(void*)&fake_lim_device;
    info.get_instance_proc_addr = fake_lim_gipa;
    info.api_version = VK_API_VERSION_1_3;
    info.flags = flags;
    info.log = log;
    info.log_user = log_user;
    oa_vk_manager* m = NULL;
    return oa_vk_manager_create(&info, &m) == OA_VK_SUCCESS ? m : NULL;
}

#endif /* VK_FAKE_DEVICE_H */
