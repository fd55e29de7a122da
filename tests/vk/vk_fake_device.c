/* vk_fake_device.c - the fake Vulkan device (see the header). Owns the one
 * global `fake`; buffers and memories are heap objects whose addresses are
 * their handles. Does not model queues, command buffers or synchronisation
 * beyond counting barriers: a recorded copy has run when the call returns.
 * Invariant: live_buffers, live_memories, mapped and memory_bytes count
 * exactly the objects created and not yet destroyed. */
#include "vk_fake_device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fake_device fake;

static int fake_instance_object, fake_physical_object, fake_device_object, fake_cmd_object;

static fake_buffer* fake_buf(VkBuffer b) {
    return (fake_buffer*)(void*)b;
}

static fake_memory* fake_mem(VkDeviceMemory m) {
    return (fake_memory*)(void*)m;
}

static void fake_illegal(const char* why) {
    if (fake.illegal_calls++ == 0) {
        snprintf(fake.why, sizeof fake.why, "%s", why);
    }
}

/* The result call `c` returns now: a one-shot failure that is due, else the
 * standing result. Counts the call, and the refusal if any. */
static VkResult fake_scripted(fake_call c) {
    fake.calls[c]++;
    VkResult r = fake.result[c];
    if (fake.fail_in[c] != 0 && --fake.fail_in[c] == 0) {
        r = fake.fail_with[c];
    }
    if (r != VK_SUCCESS) {
        fake.refusals++;
    }
    return r;
}

static void fake_clear(void) {
    memset(&fake, 0, sizeof fake);
}

void fake_reset(void) {
    fake_clear();
    VkPhysicalDeviceMemoryProperties* p = &fake.memory;
    p->memoryHeapCount = 3;
    p->memoryHeaps[0] = (VkMemoryHeap){8ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p->memoryHeaps[1] = (VkMemoryHeap){16ull << 30, 0};
    p->memoryHeaps[2] = (VkMemoryHeap){256ull << 20, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p->memoryTypeCount = 5;
    const VkMemoryPropertyFlags DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
    const VkMemoryPropertyFlags HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT;
    const VkMemoryPropertyFlags HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    const VkMemoryPropertyFlags CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
    p->memoryTypes[0] = (VkMemoryType){DL, 0};
    p->memoryTypes[1] = (VkMemoryType){HV | HC, 1};
    p->memoryTypes[2] = (VkMemoryType){HV | CA, 1}; /* non-coherent */
    p->memoryTypes[3] = (VkMemoryType){DL | HV | HC, 2};
    p->memoryTypes[4] = (VkMemoryType){DL, 0};
    fake.type_bits = 0x1F;
    fake.limits.maxMemoryAllocationCount = 4096;
    fake.limits.minUniformBufferOffsetAlignment = 256;
    fake.limits.minStorageBufferOffsetAlignment = 32;
    fake.limits.minTexelBufferOffsetAlignment = 16;
    fake.limits.nonCoherentAtomSize = 128;
    fake.max_allocation_size = 4ull << 30;
    fake.max_buffer_size = 1ull << 30;
    fake.requirement_alignment = 64;
}

void fake_reset_single_type(bool coherent) {
    fake_clear();
    fake.memory.memoryHeapCount = 1;
    fake.memory.memoryHeaps[0] = (VkMemoryHeap){1ull << 30, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    fake.memory.memoryTypeCount = 1;
    fake.memory.memoryTypes[0].propertyFlags =
        VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
        (coherent ? VK_MEMORY_PROPERTY_HOST_COHERENT_BIT : VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
    fake.type_bits = 1;
    fake.budget[0] = fake.memory.memoryHeaps[0].size;
    fake.limits.maxMemoryAllocationCount = 4096;
    fake.limits.minUniformBufferOffsetAlignment = 256;
    fake.limits.minStorageBufferOffsetAlignment = 16;
    fake.limits.minTexelBufferOffsetAlignment = 16;
    fake.limits.nonCoherentAtomSize = 128;
    fake.max_allocation_size = 1u << 20;
    fake.max_buffer_size = 1u << 20;
    fake.requirement_alignment = 64;
    fake.bind_at_zero = true;
}

/* ---- instance-level queries ---- */

static VKAPI_ATTR void VKAPI_CALL fake_get_properties(VkPhysicalDevice pd,
                                                      VkPhysicalDeviceProperties* out) {
    (void)pd;
    memset(out, 0, sizeof *out);
    out->apiVersion = VK_API_VERSION_1_3;
    out->limits = fake.limits;
}

static VKAPI_ATTR void VKAPI_CALL fake_get_properties2(VkPhysicalDevice pd,
                                                       VkPhysicalDeviceProperties2* out) {
    fake_get_properties(pd, &out->properties);
    for (VkBaseOutStructure* s = (VkBaseOutStructure*)out->pNext; s != NULL; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES) {
            ((VkPhysicalDeviceMaintenance3Properties*)s)->maxMemoryAllocationSize =
                fake.max_allocation_size;
        } else if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES) {
            ((VkPhysicalDeviceMaintenance4Properties*)s)->maxBufferSize = fake.max_buffer_size;
        }
    }
}

static VKAPI_ATTR void VKAPI_CALL fake_get_memory(VkPhysicalDevice pd,
                                                  VkPhysicalDeviceMemoryProperties* out) {
    (void)pd;
    *out = fake.memory;
}

static VKAPI_ATTR void VKAPI_CALL fake_get_memory2(VkPhysicalDevice pd,
                                                   VkPhysicalDeviceMemoryProperties2* out) {
    fake_get_memory(pd, &out->memoryProperties);
    for (VkBaseOutStructure* s = (VkBaseOutStructure*)out->pNext; s != NULL; s = s->pNext) {
        if (s->sType == VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT) {
            VkPhysicalDeviceMemoryBudgetPropertiesEXT* b =
                (VkPhysicalDeviceMemoryBudgetPropertiesEXT*)s;
            for (uint32_t i = 0; i < VK_MAX_MEMORY_HEAPS; i++) {
                b->heapBudget[i] = fake.budget[i];
                b->heapUsage[i] = fake.usage[i] + (fake.usage_counts_live ? fake.memory_bytes : 0);
            }
            fake.budget_queries++;
        }
    }
}

/* ---- buffers and memory ---- */

static VKAPI_ATTR VkResult VKAPI_CALL fake_create_buffer(VkDevice d, const VkBufferCreateInfo* info,
                                                         const VkAllocationCallbacks* cb,
                                                         VkBuffer* out) {
    (void)d;
    (void)cb;
    fake.last_buffer_size = info->size;
    if (info->size == 0 || info->size > fake.max_buffer_size) {
        fake.calls[FAKE_CREATE_BUFFER]++;
        fake.refusals++;
        fake_illegal("vkCreateBuffer of size 0 or above maxBufferSize");
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    const VkResult r = fake_scripted(FAKE_CREATE_BUFFER);
    if (r != VK_SUCCESS) {
        return r;
    }
    fake_buffer* b = (fake_buffer*)calloc(1, sizeof *b);
    if (b == NULL) {
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    b->size = info->size;
    fake.live_buffers++;
    *out = (VkBuffer)(void*)b;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_destroy_buffer(VkDevice d, VkBuffer b,
                                                      const VkAllocationCallbacks* cb) {
    (void)d;
    (void)cb;
    if (b != VK_NULL_HANDLE) {
        fake.live_buffers--;
        free(fake_buf(b));
    }
}

static VKAPI_ATTR void VKAPI_CALL fake_requirements(VkDevice d, VkBuffer b,
                                                    VkMemoryRequirements* out) {
    (void)d;
    const VkDeviceSize a = fake.requirement_alignment;
    out->size = (fake_buf(b)->size + a - 1) / a * a;
    out->alignment = a;
    out->memoryTypeBits = fake.type_bits;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_allocate(VkDevice d, const VkMemoryAllocateInfo* info,
                                                    const VkAllocationCallbacks* cb,
                                                    VkDeviceMemory* out) {
    (void)d;
    (void)cb;
    fake.last_type = info->memoryTypeIndex;
    fake.last_allocation_size = info->allocationSize;
    if (info->memoryTypeIndex >= fake.memory.memoryTypeCount ||
        ((fake.type_bits >> info->memoryTypeIndex) & 1) == 0) {
        fake_illegal("vkAllocateMemory of a type the buffer does not allow");
    }
    if ((uint32_t)fake.live_memories >= fake.limits.maxMemoryAllocationCount) {
        fake_illegal("vkAllocateMemory beyond maxMemoryAllocationCount");
    }
    if (info->allocationSize == 0 || info->allocationSize > fake.max_allocation_size) {
        fake.calls[FAKE_ALLOCATE]++;
        fake.refusals++;
        fake_illegal("vkAllocateMemory of size 0 or above maxMemoryAllocationSize");
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    const VkResult r = fake_scripted(FAKE_ALLOCATE);
    if (r != VK_SUCCESS) {
        return r;
    }
    if ((fake.fail_types >> info->memoryTypeIndex) & 1 ||
        (fake.memory_cap != 0 && fake.memory_bytes + info->allocationSize > fake.memory_cap)) {
        fake.refusals++;
        return VK_ERROR_OUT_OF_DEVICE_MEMORY;
    }
    fake_memory* m = (fake_memory*)calloc(1, sizeof *m);
    uint8_t* bytes = (uint8_t*)calloc(1, (size_t)info->allocationSize);
    if (m == NULL || bytes == NULL) {
        free(m);
        free(bytes);
        return VK_ERROR_OUT_OF_HOST_MEMORY;
    }
    m->size = info->allocationSize;
    m->type = info->memoryTypeIndex;
    m->bytes = bytes;
    fake.memory_bytes += m->size;
    fake.live_memories++;
    *out = (VkDeviceMemory)(void*)m;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_free_memory(VkDevice d, VkDeviceMemory mem,
                                                   const VkAllocationCallbacks* cb) {
    (void)d;
    (void)cb;
    if (mem == VK_NULL_HANDLE) {
        return;
    }
    fake_memory* m = fake_mem(mem);
    if (m->mapped) {
        fake.mapped--; /* freeing unmaps */
    }
    fake.memory_bytes -= m->size;
    fake.live_memories--;
    free(m->bytes);
    free(m);
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_bind(VkDevice d, VkBuffer b, VkDeviceMemory mem,
                                                VkDeviceSize offset) {
    fake_buffer* fb = fake_buf(b);
    fake_memory* m = fake_mem(mem);
    VkMemoryRequirements req;
    fake_requirements(d, b, &req);
    if (fb->memory != NULL || offset % req.alignment != 0 || offset > m->size ||
        req.size > m->size - offset || (fake.bind_at_zero && offset != 0)) {
        fake_illegal("vkBindBufferMemory twice, misaligned, past the memory, or not at 0");
    }
    const VkResult r = fake_scripted(FAKE_BIND);
    if (r != VK_SUCCESS) {
        return r;
    }
    fb->memory = m;
    fb->bind_offset = offset;
    return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_map(VkDevice d, VkDeviceMemory mem, VkDeviceSize offset,
                                               VkDeviceSize size, VkMemoryMapFlags flags,
                                               void** out) {
    (void)d;
    (void)flags;
    fake_memory* m = fake_mem(mem);
    const VkMemoryPropertyFlags props = fake.memory.memoryTypes[m->type].propertyFlags;
    if (m->mapped || (props & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) == 0 || offset >= m->size ||
        (size != VK_WHOLE_SIZE && size > m->size - offset)) {
        fake_illegal("vkMapMemory twice, of memory that is not host-visible, or past its end");
    }
    const VkResult r = fake_scripted(FAKE_MAP);
    if (r != VK_SUCCESS) {
        return r;
    }
    m->mapped = true;
    fake.mapped++;
    *out = m->bytes + offset;
    return VK_SUCCESS;
}

static VKAPI_ATTR void VKAPI_CALL fake_unmap(VkDevice d, VkDeviceMemory mem) {
    (void)d;
    fake_memory* m = fake_mem(mem);
    if (!m->mapped) {
        fake_illegal("vkUnmapMemory of memory that is not mapped");
        return;
    }
    m->mapped = false;
    fake.mapped--;
}

/* Flush and invalidate ranges must lie in mapped memory, in whole atoms (or
 * end at the memory's end). */
static VkResult fake_sync(uint32_t n, const VkMappedMemoryRange* r) {
    const VkDeviceSize atom = fake.limits.nonCoherentAtomSize;
    for (uint32_t i = 0; i < n; i++) {
        const fake_memory* m = fake_mem(r[i].memory);
        if (r[i].offset > m->size) {
            fake_illegal("flush or invalidate past the memory's end");
            continue;
        }
        const VkDeviceSize size = r[i].size == VK_WHOLE_SIZE ? m->size - r[i].offset : r[i].size;
        if (!m->mapped || r[i].offset % atom != 0 || size > m->size - r[i].offset ||
            (size % atom != 0 && r[i].offset + size != m->size)) {
            fake_illegal("flush or invalidate of unmapped memory, not in whole atoms, or past "
                         "its end");
        }
    }
    const VkResult res = fake_scripted(FAKE_SYNC);
    if (res != VK_SUCCESS) {
        return res;
    }
    if (n > 0) {
        fake.last_sync = r[n - 1];
    }
    return VK_SUCCESS;
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_flush(VkDevice d, uint32_t n,
                                                 const VkMappedMemoryRange* r) {
    (void)d;
    fake.flushes++;
    return fake_sync(n, r);
}

static VKAPI_ATTR VkResult VKAPI_CALL fake_invalidate(VkDevice d, uint32_t n,
                                                      const VkMappedMemoryRange* r) {
    (void)d;
    fake.invalidates++;
    return fake_sync(n, r);
}

/* ---- commands ---- */

static bool fake_overlap(VkDeviceSize a, VkDeviceSize a_end, VkDeviceSize b, VkDeviceSize b_end) {
    return a < b_end && b < a_end;
}

/* The "GPU" runs a copy as soon as it is recorded, last region first. */
static VKAPI_ATTR void VKAPI_CALL fake_copy(VkCommandBuffer c, VkBuffer src, VkBuffer dst,
                                            uint32_t n, const VkBufferCopy* regions) {
    (void)c;
    fake.copy_commands++;
    if (fake.count_only) {
        return;
    }
    const fake_buffer* s = fake_buf(src);
    const fake_buffer* t = fake_buf(dst);
    if (s->memory == NULL || t->memory == NULL || n == 0) {
        fake_illegal("vkCmdCopyBuffer with an unbound buffer or no region");
        return;
    }
    const int earlier = fake.written_count; /* written by earlier commands */
    for (uint32_t i = 0; i < n; i++) {
        const VkBufferCopy* r = &regions[i];
        if (r->size == 0 || r->srcOffset > s->size || r->size > s->size - r->srcOffset ||
            r->dstOffset > t->size || r->size > t->size - r->dstOffset) {
            fake_illegal("vkCmdCopyBuffer region out of its buffers");
            return;
        }
        const VkDeviceSize lo = r->dstOffset, hi = r->dstOffset + r->size;
        for (int w = 0; w < earlier; w++) {
            if (fake.written[w].buffer == dst &&
                fake_overlap(lo, hi, fake.written[w].begin, fake.written[w].end)) {
                fake.write_hazards++;
            }
        }
        for (uint32_t j = 0; j < i; j++) {
            if (fake_overlap(lo, hi, regions[j].dstOffset,
                             regions[j].dstOffset + regions[j].size)) {
                fake.unordered_overlaps++;
            }
        }
    }
    for (uint32_t i = n; i-- > 0;) {
        const VkBufferCopy* r = &regions[i];
        memmove(t->memory->bytes + t->bind_offset + r->dstOffset,
                s->memory->bytes + s->bind_offset + r->srcOffset, (size_t)r->size);
        if (fake.written_count < 256) {
            fake.written[fake.written_count].buffer = dst;
            fake.written[fake.written_count].begin = r->dstOffset;
            fake.written[fake.written_count].end = r->dstOffset + r->size;
            fake.written_count++;
        }
    }
}

static VKAPI_ATTR void VKAPI_CALL fake_barrier2(VkCommandBuffer c, const VkDependencyInfo* info) {
    (void)c;
    (void)info;
    fake.barriers++;
    fake.written_count = 0;
}

static VKAPI_ATTR void VKAPI_CALL fake_barrier1(
    VkCommandBuffer c, VkPipelineStageFlags src, VkPipelineStageFlags dst, VkDependencyFlags flags,
    uint32_t memory_count, const VkMemoryBarrier* mb, uint32_t buffer_count,
    const VkBufferMemoryBarrier* bb, uint32_t image_count, const VkImageMemoryBarrier* ib) {
    (void)c, (void)src, (void)dst, (void)flags, (void)memory_count, (void)mb;
    (void)buffer_count, (void)bb, (void)image_count, (void)ib;
    fake.barriers++;
    fake.barriers1++;
    fake.written_count = 0;
}

/* ---- entry points ---- */

static bool fake_same_string(const char* a, const char* b) {
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static bool fake_has(const char* name) {
    if (fake.no_barrier2 && (fake_same_string(name, "vkCmdPipelineBarrier2") ||
                             fake_same_string(name, "vkCmdPipelineBarrier2KHR"))) {
        return false;
    }
    if (fake.no_barrier1 && fake_same_string(name, "vkCmdPipelineBarrier")) {
        return false;
    }
    return fake.missing == NULL || !fake_same_string(fake.missing, name);
}

#define FAKE_ENTRY(name, fn)                                                                       \
    if (fake_same_string(n, name)) {                                                               \
        return fake_has(name) ? (PFN_vkVoidFunction)fn : NULL;                                     \
    }

static VKAPI_ATTR PFN_vkVoidFunction VKAPI_CALL fake_get_device_proc_addr(VkDevice device,
                                                                          const char* n) {
    (void)device;
    FAKE_ENTRY("vkCreateBuffer", fake_create_buffer)
    FAKE_ENTRY("vkDestroyBuffer", fake_destroy_buffer)
    FAKE_ENTRY("vkGetBufferMemoryRequirements", fake_requirements)
    FAKE_ENTRY("vkAllocateMemory", fake_allocate)
    FAKE_ENTRY("vkFreeMemory", fake_free_memory)
    FAKE_ENTRY("vkBindBufferMemory", fake_bind)
    FAKE_ENTRY("vkMapMemory", fake_map)
    FAKE_ENTRY("vkUnmapMemory", fake_unmap)
    FAKE_ENTRY("vkFlushMappedMemoryRanges", fake_flush)
    FAKE_ENTRY("vkInvalidateMappedMemoryRanges", fake_invalidate)
    FAKE_ENTRY("vkCmdCopyBuffer", fake_copy)
    FAKE_ENTRY("vkCmdPipelineBarrier2", fake_barrier2)
    FAKE_ENTRY("vkCmdPipelineBarrier2KHR", fake_barrier2)
    FAKE_ENTRY("vkCmdPipelineBarrier", fake_barrier1)
    return NULL;
}

PFN_vkVoidFunction VKAPI_CALL fake_get_instance_proc_addr(VkInstance instance, const char* n) {
    (void)instance;
    FAKE_ENTRY("vkGetDeviceProcAddr", fake_get_device_proc_addr)
    FAKE_ENTRY("vkGetPhysicalDeviceProperties", fake_get_properties)
    FAKE_ENTRY("vkGetPhysicalDeviceProperties2", fake_get_properties2)
    FAKE_ENTRY("vkGetPhysicalDeviceMemoryProperties", fake_get_memory)
    FAKE_ENTRY("vkGetPhysicalDeviceMemoryProperties2", fake_get_memory2)
    return NULL;
}

oa_vk_manager_info fake_manager_info(uint32_t flags) {
    oa_vk_manager_info info;
    memset(&info, 0, sizeof info);
    info.instance = (VkInstance)(void*)&fake_instance_object;
    info.physical_device = (VkPhysicalDevice)(void*)&fake_physical_object;
    info.device = (VkDevice)(void*)&fake_device_object;
    info.get_instance_proc_addr = fake_get_instance_proc_addr;
    info.api_version = VK_API_VERSION_1_3;
    info.flags = flags;
    return info;
}

oa_vk_manager* fake_manager(uint32_t flags) {
    const oa_vk_manager_info info = fake_manager_info(flags);
    oa_vk_manager* m = NULL;
    return oa_vk_manager_create(&info, &m) == OA_VK_SUCCESS ? m : NULL;
}

VkCommandBuffer fake_command_buffer(void) {
    return (VkCommandBuffer)(void*)&fake_cmd_object;
}

fake_buffer* fake_buffer_of(VkBuffer buffer) {
    return fake_buf(buffer);
}

uint8_t* fake_buffer_bytes(VkBuffer buffer, VkDeviceSize offset) {
    const fake_buffer* b = fake_buf(buffer);
    return b->memory == NULL ? NULL : b->memory->bytes + b->bind_offset + offset;
}
