/* memtype.c - pure choices: which memory types a pool may use and in which
 * order (from its intent and raw flags), and which alignment its ranges need.
 * No Vulkan calls and no state, so tests can feed them the memory layouts and
 * limits of devices they do not have.
 * Invariant: every type in an order holds every required flag and every flag
 * its intent needs (a readback order holds only cached types when the layout
 * has one). */
#include "oa_vk_internal.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CA VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define OA__VK_KNOWN_FLAGS (DL | HV | HC | CA)

/* What a pool asks of a memory type. The cost of a type holding `required`:
 * 4 per missing `preferred` flag (and 4 if `prefer_rebar` and the type is not
 * ReBAR), 2 per present `avoid_major` flag, 1 per present `avoid_minor` flag;
 * ties go to the lower index. Types with a flag outside the four known ones
 * (protected, lazily allocated, device-coherent) are skipped unless asked. */
typedef struct oa__vk_wants {
    VkMemoryPropertyFlags required, preferred, avoid_major, avoid_minor;
    VkMemoryPropertyFlags asked;   /* required | preferred as the caller wrote them */
    VkMemoryPropertyFlags need_if; /* required too when some candidate has it */
    bool prefer_rebar;
} oa__vk_wants;

static uint32_t oa__vk_popcount(uint32_t v) {
    uint32_t n = 0;
    while (v != 0) {
        v &= v - 1;
        n++;
    }
    return n;
}

static uint32_t oa__vk_type_count(const VkPhysicalDeviceMemoryProperties* p) {
    return p->memoryTypeCount > VK_MAX_MEMORY_TYPES ? VK_MAX_MEMORY_TYPES : p->memoryTypeCount;
}

uint32_t oa_vk_rebar_types(const VkPhysicalDeviceMemoryProperties* properties) {
    if (properties == NULL) {
        return 0;
    }
    uint32_t mask = 0;
    for (uint32_t i = 0; i < oa__vk_type_count(properties); i++) {
        const VkMemoryType* t = &properties->memoryTypes[i];
        if ((t->propertyFlags & (DL | HV)) == (DL | HV) && t->heapIndex < VK_MAX_MEMORY_HEAPS &&
            t->heapIndex < properties->memoryHeapCount &&
            properties->memoryHeaps[t->heapIndex].size > OA_VK_REBAR_MIN_HEAP_SIZE) {
            mask |= 1u << i;
        }
    }
    return mask;
}

bool oa__vk_heap_is_rebar(const VkPhysicalDeviceMemoryProperties* p, uint32_t heap) {
    const uint32_t rebar = oa_vk_rebar_types(p);
    for (uint32_t i = 0; i < oa__vk_type_count(p); i++) {
        if ((rebar >> i & 1u) != 0 && p->memoryTypes[i].heapIndex == heap) {
            return true;
        }
    }
    return false;
}

/* The candidates of `w`: types of type_bits with every required flag and no
 * unasked unknown flag. */
static uint32_t oa__vk_candidates(const VkPhysicalDeviceMemoryProperties* p, uint32_t type_bits,
                                  const oa__vk_wants* w) {
    uint32_t mask = 0;
    for (uint32_t i = 0; i < oa__vk_type_count(p); i++) {
        const VkMemoryPropertyFlags f = p->memoryTypes[i].propertyFlags;
        if ((type_bits & (1u << i)) == 0 || (f & w->required) != w->required) {
            continue;
        }
        /* Protected, lazily allocated and device-coherent memory change what
         * a buffer can do; take them only when asked for. */
        if ((f & ~(VkMemoryPropertyFlags)OA__VK_KNOWN_FLAGS & ~w->asked) != 0) {
            continue;
        }
        mask |= 1u << i;
    }
    return mask;
}

static uint32_t oa__vk_cost(VkMemoryPropertyFlags f, bool is_rebar, const oa__vk_wants* w) {
    return 4u * oa__vk_popcount(w->preferred & ~f) + (w->prefer_rebar && !is_rebar ? 4u : 0u) +
           2u * oa__vk_popcount(w->avoid_major & f) + oa__vk_popcount(w->avoid_minor & f);
}

/* Candidates of `w` by ascending (cost, index) into out (>= 32 entries). */
static uint32_t oa__vk_order(const VkPhysicalDeviceMemoryProperties* p, uint32_t type_bits,
                             oa__vk_wants* w, uint32_t* out) {
    uint32_t mask = oa__vk_candidates(p, type_bits, w);
    if (w->need_if != 0) {
        w->required |= w->need_if;
        const uint32_t needing = oa__vk_candidates(p, type_bits, w);
        if (needing != 0) {
            mask = needing;
        } else {
            w->required &= ~w->need_if;
        }
    }
    const uint32_t rebar = oa_vk_rebar_types(p);
    uint32_t cost[VK_MAX_MEMORY_TYPES];
    uint32_t n = 0;
    for (uint32_t i = 0; i < VK_MAX_MEMORY_TYPES; i++) {
        if ((mask & (1u << i)) == 0) {
            continue;
        }
        const uint32_t c = oa__vk_cost(p->memoryTypes[i].propertyFlags, (rebar >> i & 1u) != 0, w);
        /* Insertion by cost; equal costs keep index order. */
        uint32_t k = n++;
        while (k > 0 && cost[k - 1] > c) {
            cost[k] = cost[k - 1];
            out[k] = out[k - 1];
            k--;
        }
        cost[k] = c;
        out[k] = i;
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
    oa__vk_wants w = {.required = required,
                      .preferred = preferred,
                      .avoid_major = (DL | HV) & ~asked,
                      .avoid_minor = (HC | CA) & ~asked,
                      .asked = asked};
    uint32_t order[VK_MAX_MEMORY_TYPES];
    if (oa__vk_order(properties, type_bits, &w, order) == 0) {
        return OA_VK_ERROR_NO_MEMORY_TYPE;
    }
    *out_type_index = order[0];
    return OA_VK_SUCCESS;
}

bool oa__vk_intent_is_mapped(oa_vk_memory_intent intent) {
    return intent == OA_VK_INTENT_UPLOAD || intent == OA_VK_INTENT_READBACK ||
           intent == OA_VK_INTENT_DYNAMIC || intent == OA_VK_INTENT_STAGING;
}

oa_vk_result oa__vk_memory_order(const VkPhysicalDeviceMemoryProperties* p, uint32_t type_bits,
                                 const oa_vk_pool_info* info, uint32_t* out_types,
                                 uint32_t* out_count, const char** out_why) {
    *out_count = 0;
    *out_why = NULL;
    const oa_vk_memory_intent intent = info->intent;
    const bool mapped = (info->flags & OA_VK_POOL_MAPPED) != 0 || oa__vk_intent_is_mapped(intent);
    oa__vk_wants w = {.required = mapped ? HV : 0};
    switch (intent) {
    case OA_VK_INTENT_DEVICE:
        if (mapped) {
            *out_why = "OA_VK_POOL_MAPPED needs a host intent (UPLOAD, READBACK, DYNAMIC, STAGING) "
                       "or OA_VK_INTENT_FLAGS_ONLY";
            return OA_VK_ERROR_INVALID_ARGUMENT;
        }
        w.preferred = DL;
        w.avoid_major = HV; /* keeps GPU-only data out of the small BAR */
        w.avoid_minor = HC | CA;
        break;
    case OA_VK_INTENT_UPLOAD:
        w.preferred = HC;
        w.avoid_minor = CA; /* write-combined memory takes sequential writes best */
        if ((info->flags & OA_VK_POOL_ALLOW_REBAR) != 0 &&
            (oa_vk_rebar_types(p) & type_bits) != 0) {
            w.prefer_rebar = true;
        } else {
            w.avoid_major = DL;
        }
        break;
    case OA_VK_INTENT_READBACK:
        w.need_if = CA;
        w.avoid_major = DL;
        break;
    case OA_VK_INTENT_DYNAMIC:
        w.preferred = DL | HC;
        w.avoid_minor = CA;
        break;
    case OA_VK_INTENT_STAGING:
        w.preferred = HC;
        w.avoid_major = DL; /* a copy out of video memory would waste it */
        w.avoid_minor = CA;
        break;
    case OA_VK_INTENT_FLAGS_ONLY: {
        const VkMemoryPropertyFlags asked =
            w.required | info->required_flags | info->preferred_flags;
        w.avoid_major = (DL | HV) & ~asked;
        w.avoid_minor = (HC | CA) & ~asked;
        break;
    }
    default:
        *out_why = "unknown intent";
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    /* The caller's raw flags join the intent's and override its aversions. */
    w.required |= info->required_flags;
    w.preferred |= info->preferred_flags;
    w.asked = info->required_flags | info->preferred_flags;
    w.avoid_major &= ~(w.required | w.preferred);
    w.avoid_minor &= ~(w.required | w.preferred);
    w.need_if &= ~w.required;
    uint32_t n = oa__vk_order(p, type_bits, &w, out_types);
    if (n == 0) {
        *out_why = "no memory type of the buffer's memoryTypeBits has the flags the pool needs";
        return OA_VK_ERROR_NO_MEMORY_TYPE;
    }
    /* A mapped pool keeps the coherency of its first type's ranges: a
     * non-coherent fallback would need flushes and atom rounding that ranges
     * of a coherent pool do not get. (Coherent after non-coherent is fine.) */
    const VkMemoryPropertyFlags first = p->memoryTypes[out_types[0]].propertyFlags;
    if (mapped && (first & HC) != 0) {
        uint32_t kept = 1;
        for (uint32_t k = 1; k < n; k++) {
            if ((p->memoryTypes[out_types[k]].propertyFlags & HC) != 0) {
                out_types[kept++] = out_types[k];
            }
        }
        n = kept;
    }
    *out_count = n;
    return OA_VK_SUCCESS;
}

oa_vk_result oa_vk_pool_memory_types(const VkPhysicalDeviceMemoryProperties* properties,
                                     uint32_t type_bits, const oa_vk_pool_info* info,
                                     uint32_t* out_types, uint32_t* out_count) {
    if (out_count != NULL) {
        *out_count = 0;
    }
    if (properties == NULL || info == NULL || out_types == NULL || out_count == NULL) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    const char* why = NULL;
    return oa__vk_memory_order(properties, type_bits, info, out_types, out_count, &why);
}

const char* oa_vk_memory_intent_name(oa_vk_memory_intent intent) {
    switch (intent) {
    case OA_VK_INTENT_DEVICE:
        return "device";
    case OA_VK_INTENT_UPLOAD:
        return "upload";
    case OA_VK_INTENT_READBACK:
        return "readback";
    case OA_VK_INTENT_DYNAMIC:
        return "dynamic";
    case OA_VK_INTENT_STAGING:
        return "staging";
    case OA_VK_INTENT_FLAGS_ONLY:
        return "flags-only";
    default:
        return "unknown";
    }
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
                                   VkDeviceSize index_size, bool non_coherent,
                                   VkDeviceSize caller_align) {
    if (limits == NULL ||
        (index_size != 0 && index_size != 1 && index_size != 2 && index_size != 4)) {
        return 0;
    }
    /* Only what binds or maps an offset inside a buffer counts here;
     * VkMemoryRequirements.alignment governs where the block's buffer sits
     * in its memory (offset 0), not its sub-ranges. */
    VkDeviceSize a = oa__vk_lcm(1, caller_align);
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
    if ((usage & VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT) != 0) {
        a = oa__vk_lcm(a, 4);
    }
    if (index_size != 0) {
        a = oa__vk_lcm(a, index_size);
    }
    if (non_coherent) {
        a = oa__vk_lcm(a, oa__vk_limit(limits->nonCoherentAtomSize));
    }
    return a;
}
