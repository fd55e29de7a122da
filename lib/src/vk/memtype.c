/* memtype.c - pure choices: which memory type a pool gets, and which
 * alignment its ranges need. No Vulkan calls and no state, so tests can feed
 * them the memory layouts and limits of devices they do not have.
 * Invariant: a chosen type always holds every required flag. */
#include "oa_vk_internal.h"

#define OA__VK_KNOWN_FLAGS                                                                         \
    (VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |                   \
     VK_MEMORY_PROPERTY_HOST_COHERENT_BIT | VK_MEMORY_PROPERTY_HOST_CACHED_BIT)

static uint32_t oa__vk_popcount(uint32_t v) {
    uint32_t n = 0;
    while (v != 0) {
        v &= v - 1;
        n++;
    }
    return n;
}

oa_vk_result oa_vk_choose_memory_type(const VkPhysicalDeviceMemoryProperties* properties,
                                      uint32_t type_bits, VkMemoryPropertyFlags required,
                                      VkMemoryPropertyFlags preferred, uint32_t* out_type_index) {
    if (out_type_index != NULL) {
        *out_type_index = UINT32_MAX;
    }
    if (properties == NULL || out_type_index == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    const VkMemoryPropertyFlags asked = required | preferred;
    uint32_t best = UINT32_MAX;
    uint32_t best_cost = UINT32_MAX;
    uint32_t count = properties->memoryTypeCount;
    if (count > VK_MAX_MEMORY_TYPES) {
        count = VK_MAX_MEMORY_TYPES;
    }
    for (uint32_t i = 0; i < count; i++) {
        if ((type_bits & (1u << i)) == 0) {
            continue;
        }
        const VkMemoryPropertyFlags flags = properties->memoryTypes[i].propertyFlags;
        if ((flags & required) != required) {
            continue;
        }
        /* Protected, lazily allocated and device-coherent memory change what
         * a buffer can do; take them only when asked for. */
        if ((flags & ~(VkMemoryPropertyFlags)OA__VK_KNOWN_FLAGS & ~asked) != 0) {
            continue;
        }
        const VkMemoryPropertyFlags unasked = flags & ~asked;
        const uint32_t cost =
            4u * oa__vk_popcount(preferred & ~flags) +
            2u * oa__vk_popcount(unasked & (VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                            VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) +
            oa__vk_popcount(unasked & (VK_MEMORY_PROPERTY_HOST_CACHED_BIT |
                                       VK_MEMORY_PROPERTY_HOST_COHERENT_BIT));
        if (cost < best_cost) {
            best_cost = cost;
            best = i;
        }
    }
    if (best == UINT32_MAX) {
        return OA_VK_ERROR_NO_MEMORY_TYPE;
    }
    *out_type_index = best;
    return OA_VK_SUCCESS;
}

VkDeviceSize oa__vk_lcm(VkDeviceSize a, VkDeviceSize b) {
    if (a == 0 || b == 0 || a > OA__VK_MAX_ALIGNMENT || b > OA__VK_MAX_ALIGNMENT) {
        return 0;
    }
    /* Both are <= 2^32, so a / gcd * b fits in 64 bits. */
    const VkDeviceSize l = a / oa__vk_gcd(a, b) * b;
    return l > OA__VK_MAX_ALIGNMENT ? 0 : l;
}

/* A limit of 0 (not reported) constrains nothing. */
static VkDeviceSize oa__vk_limit(VkDeviceSize limit) {
    return limit == 0 ? 1 : limit;
}

VkDeviceSize oa_vk_range_alignment(const VkPhysicalDeviceLimits* limits, VkBufferUsageFlags usage,
                                   VkDeviceSize memory_alignment, bool non_coherent,
                                   VkDeviceSize caller_align) {
    if (limits == NULL) {
        return 0;
    }
    VkDeviceSize a = oa__vk_lcm(memory_alignment, caller_align);
    if ((usage & VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT) != 0) {
        a = oa__vk_lcm(a, oa__vk_limit(limits->minUniformBufferOffsetAlignment));
    }
    if ((usage & VK_BUFFER_USAGE_STORAGE_BUFFER_BIT) != 0) {
        a = oa__vk_lcm(a, oa__vk_limit(limits->minStorageBufferOffsetAlignment));
    }
    if ((usage & (VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT |
                  VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT)) != 0) {
        a = oa__vk_lcm(a, oa__vk_limit(limits->minTexelBufferOffsetAlignment));
    }
    if (non_coherent) {
        a = oa__vk_lcm(a, oa__vk_limit(limits->nonCoherentAtomSize));
    }
    return a;
}
