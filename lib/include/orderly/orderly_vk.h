/* orderly_vk.h - the Vulkan buffer manager, on top of the core allocator.
 *
 * A manager serves one VkDevice. It holds pools; a pool is one kind of buffer
 * (usage, memory properties, mapped or not, device address or not) and owns
 * blocks: one VkDeviceMemory with one VkBuffer bound at offset 0 and one core
 * allocator over it. oa_vk_alloc() hands out ranges of those buffers, aligned
 * for the pool's usage and the caller's stride; ranges that the GPU may still
 * read are freed with oa_vk_free_deferred() and come back in oa_vk_collect().
 * A stager (oa_vk_stager_*) copies host data into ranges through a staging
 * ring and records the copies between barriers (vkCmdPipelineBarrier2 where
 * the manager has it, else vkCmdPipelineBarrier, the synchronization2 masks
 * mapped onto Vulkan 1.0's).
 *
 * Loading: the manager takes vkGetInstanceProcAddr (and optionally
 * vkGetDeviceProcAddr) and loads a private table of the thirteen device
 * entry points it calls (oa_vk_functions); it never uses any global Vulkan
 * entry point, so the application may load Vulkan any way it likes (loader,
 * volk, its own table). The caller may also hand in its own pointers
 * (oa_vk_manager_info.functions); orderly_vk_volk.h fills them from a volk
 * VolkDeviceTable. The library needs the Vulkan headers only.
 *
 * Handles: pools and ranges are value handles with a generation counter (id 0
 * is never valid). A freed range, a destroyed pool, or a handle of another
 * manager is rejected with OA_VK_ERROR_STALE_HANDLE. A slot that has handed
 * out all 2^32 - 1 of its generations is retired, never reused (its record
 * stays: 56 bytes per 2^32 - 1 frees), so a stale handle stays stale. Each
 * manager of the process starts its generations apart from every earlier
 * one's, so a destroyed manager's handles are stale in its successor unless
 * a slot was reused more than about 2^32 / (4 x managers created) times.
 *
 * Thread-safety: by default, as in VMA, every oa_vk_* function that takes the
 * manager may be called from any thread at once (one mutex per manager,
 * taken once per call). A manager created with
 * OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED has no mutex: the caller serialises
 * every call on it (one thread, or its own lock) and saves the lock and
 * unlock per call. A stager is never internally synchronised: use one per
 * thread or serialise, like a VkCommandBuffer.
 */
#ifndef ORDERLY_VK_H
#define ORDERLY_VK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vulkan/vulkan_core.h>

#include "orderly.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Result codes, VkResult-style: OA_VK_SUCCESS is zero, errors are negative,
 * non-error statuses positive. A meaning the core has keeps the core's value
 * (OA_RESULT_LIST in orderly.h: -1 .. -6 and the checker's -100 .. -104), so
 * a core result converts to the Vulkan layer's by its value and back, losing
 * nothing; the Vulkan layer's own meanings start at -7. */
#define OA_VK_RESULT_LIST(X)                                                                       \
    X(OA_VK_SUCCESS, 0)                                                                            \
    X(OA_VK_INCOMPLETE, 1)                  /* partial work done; see the function */              \
    X(OA_VK_NOT_NEEDED, 2)                  /* nothing to do: a compaction pass would not help */  \
    X(OA_VK_ERROR_INVALID_ARGUMENT, -1)     /* NULL pointer, size 0, bad info field */             \
    X(OA_VK_ERROR_OUT_OF_POOL_SPACE, -2)    /* pool at its block limit, no block has room */       \
    X(OA_VK_ERROR_OUT_OF_METADATA, -3)      /* a fixed region budget is spent */                   \
    X(OA_VK_ERROR_OUT_OF_HOST_MEMORY, -4)   /* a host allocation failed */                         \
    X(OA_VK_ERROR_STALE_HANDLE, -5)         /* freed, destroyed, foreign or forged handle */       \
    X(OA_VK_ERROR_OVERFLOW, -6)             /* size + padding would pass 2^64 - 1 */               \
    X(OA_VK_ERROR_OUT_OF_DEVICE_MEMORY, -7) /* vkAllocateMemory failed or budget spent */          \
    X(OA_VK_ERROR_TOO_LARGE, -8)            /* above maxBufferSize or maxMemoryAllocationSize */   \
    X(OA_VK_ERROR_TOO_MANY_ALLOCATIONS, -9) /* maxMemoryAllocationCount reached */                 \
    X(OA_VK_ERROR_NO_MEMORY_TYPE, -10)      /* no memory type has the required properties */       \
    X(OA_VK_ERROR_FEATURE_NOT_ENABLED, -11) /* needs a feature the manager was not told of */      \
    X(OA_VK_ERROR_LIVE_RANGES, -12)         /* pool destroy with live or pending ranges */         \
    X(OA_VK_ERROR_NOT_MAPPED, -13)          /* host access to a range of an unmapped pool */       \
    X(OA_VK_ERROR_VULKAN, -14)              /* another VkResult failure: oa_vk_last_vk_result */   \
    X(OA_VK_ERROR_CORRUPTION_DETECTED, -15) /* a range's margin was overwritten (see the log) */   \
    X(OA_VK_ERROR_DEVICE_LOST, -16)         /* a Vulkan call returned VK_ERROR_DEVICE_LOST */      \
    X(OA_VK_ERROR_CORRUPT_TILING, -100)     /* a block allocator's check: see OA_RESULT_LIST */    \
    X(OA_VK_ERROR_CORRUPT_LINKS, -101)                                                             \
    X(OA_VK_ERROR_CORRUPT_ADJACENT_FREE, -102)                                                     \
    X(OA_VK_ERROR_CORRUPT_INDEX, -103)                                                             \
    X(OA_VK_ERROR_CORRUPT_COUNTS, -104)

/* Result of every oa_vk_* function that can fail: the values of
 * OA_VK_RESULT_LIST above. Test `r < 0` for errors. */
typedef enum oa_vk_result {
#define OA_VK__RESULT_ENUM(name, value) name = value,
    OA_VK_RESULT_LIST(OA_VK__RESULT_ENUM)
#undef OA_VK__RESULT_ENUM
        OA_VK_RESULT_FORCE_U32 = 0x7FFFFFFF
} oa_vk_result;

/* The enumerator's name as a string; "OA_VK_UNKNOWN_RESULT" outside the list.
 * Never NULL. Thread-safe. */
OA_API const char* oa_vk_result_name(oa_vk_result result);

/* Optional message sink: called when a function fails, with the result it
 * returns and a sentence naming the argument or the Vulkan call. The library
 * never prints. Called with the manager's mutex held (if any): it must not
 * call back into the manager. */
typedef void (*oa_vk_log_fn)(void* user, oa_vk_result result, const char* message);

/* The manager of one VkDevice (opaque): create it with oa_vk_manager_create. */
typedef struct oa_vk_manager oa_vk_manager;

/* A pool handle (value type). id 0 is never valid. */
typedef struct oa_vk_pool {
    uint64_t id; /* slot index (low 32 bits) and generation (high 32 bits) */
} oa_vk_pool;

/* A range handle (value type). id 0 is never valid. */
typedef struct oa_vk_range {
    uint64_t id; /* slot index (low 32 bits) and generation (high 32 bits) */
} oa_vk_range;

/* Everything needed to use a range. Valid while the range is live. */
typedef struct oa_vk_range_info {
    VkBuffer buffer;                /* the block's buffer (or a dedicated buffer) */
    VkDeviceSize offset;            /* byte offset of the range in `buffer` */
    VkDeviceSize size;              /* the size asked for */
    void* mapped;                   /* host pointer to the range's first byte; NULL if unmapped */
    VkDeviceAddress device_address; /* buffer address + offset; 0 without device address */
    oa_vk_range handle;             /* pass to oa_vk_free and friends */
    oa_vk_pool pool;                /* the pool it came from */
    uint32_t tag;                   /* the caller's tag (oa_vk_range_set_tag); 0 = none */
} oa_vk_range_info;

/* Manager creation flags: a bitmask of these in oa_vk_manager_info.flags. */
typedef enum oa_vk_manager_flag_bits {
    /** Guard every call with a mutex: the default since external
     * synchronisation became opt-in; accepted for callers that still set it. */
    OA_VK_MANAGER_THREAD_SAFE = 0x1,
    /** Treat every memory type as non-coherent: atom alignment, real flush
     * and invalidate. */
    OA_VK_MANAGER_ASSUME_NON_COHERENT = 0x2,
    /** VK_EXT_debug_utils is enabled on the instance: name buffers and
     * memory. */
    OA_VK_MANAGER_DEBUG_UTILS = 0x4,
    /** VK_EXT_memory_budget is enabled on the device: read budgets from it. */
    OA_VK_MANAGER_MEMORY_BUDGET = 0x8,
    /** The bufferDeviceAddress feature is enabled on the device. */
    OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS = 0x10,
    /** The caller serialises every call on the manager (its stagers
     * included, since they call into it): no mutex is created or taken.
     * Calls from two threads at once are then undefined behaviour, as on a
     * VkCommandPool. With OA_VK_MANAGER_THREAD_SAFE as well, creation fails
     * with OA_VK_ERROR_INVALID_ARGUMENT. */
    OA_VK_MANAGER_EXTERNALLY_SYNCHRONIZED = 0x100
} oa_vk_manager_flag_bits;
/* A bitmask of oa_vk_manager_flag_bits. */
typedef uint32_t oa_vk_manager_flags;

/* Every device-level entry point the manager calls, as VMA's
 * VmaVulkanFunctions. Give it in oa_vk_manager_info.functions to use your own
 * pointers (a wrapper, a layer of your own, a volk table through
 * oa_vk_functions_from_volk in orderly_vk_volk.h); each NULL member is loaded
 * through get_device_proc_addr instead. The physical-device queries and
 * vkSetDebugUtilsObjectNameEXT come from get_instance_proc_addr. */
typedef struct oa_vk_functions {
    PFN_vkAllocateMemory vkAllocateMemory;                             /* required */
    PFN_vkFreeMemory vkFreeMemory;                                     /* required */
    PFN_vkMapMemory vkMapMemory;                                       /* required */
    PFN_vkUnmapMemory vkUnmapMemory;                                   /* required */
    PFN_vkFlushMappedMemoryRanges vkFlushMappedMemoryRanges;           /* required */
    PFN_vkInvalidateMappedMemoryRanges vkInvalidateMappedMemoryRanges; /* required */
    PFN_vkCreateBuffer vkCreateBuffer;                                 /* required */
    PFN_vkDestroyBuffer vkDestroyBuffer;                               /* required */
    PFN_vkGetBufferMemoryRequirements vkGetBufferMemoryRequirements;   /* required */
    PFN_vkBindBufferMemory vkBindBufferMemory;                         /* required */
    PFN_vkCmdCopyBuffer vkCmdCopyBuffer;                               /* required */
    /* The barriers of the stager, compaction and growth:
     * vkCmdPipelineBarrier2, or the KHR one below api_version 1.3 (loaded
     * under the name the version implies). */
    PFN_vkCmdPipelineBarrier2 vkCmdPipelineBarrier2;
    /* OA_VK_POOL_DEVICE_ADDRESS: vkGetBufferDeviceAddress, or the KHR one
     * below api_version 1.2. */
    PFN_vkGetBufferDeviceAddress vkGetBufferDeviceAddress;
    /* The barriers of the stager, compaction and growth where
     * vkCmdPipelineBarrier2 is missing (optional: one of the two is needed
     * by those three). */
    PFN_vkCmdPipelineBarrier vkCmdPipelineBarrier;
} oa_vk_functions;

/* Informative device-memory callbacks (as VMA's pfnAllocate / pfnFree), for
 * an engine's own accounting: `allocate` after every VkDeviceMemory orderly
 * allocates, `free` just before orderly frees one. Either may be NULL. Not
 * called for memory of oa_vk_block_callbacks or caller-owned buffers. Called
 * with the manager's mutex held: they must not call into the manager. */
typedef void (*oa_vk_device_memory_fn)(void* user, uint32_t memory_type_index,
                                       VkDeviceMemory memory, VkDeviceSize size);
/* The pair of informative device-memory callbacks (see above). */
typedef struct oa_vk_device_memory_callbacks {
    oa_vk_device_memory_fn allocate; /* NULL -> not told */
    oa_vk_device_memory_fn free;     /* NULL -> not told */
    void* user;                      /* passed to both */
} oa_vk_device_memory_callbacks;

/* Manager creation parameters. Zero means default for every optional field. */
typedef struct oa_vk_manager_info {
    VkInstance instance;                              /* required */
    VkPhysicalDevice physical_device;                 /* required */
    VkDevice device;                                  /* required */
    PFN_vkGetInstanceProcAddr get_instance_proc_addr; /* required */
    PFN_vkGetDeviceProcAddr get_device_proc_addr;     /* NULL -> looked up through the above */
    uint32_t api_version;      /* version the device was created for; 0 -> VK_API_VERSION_1_0.
                                  1.1 enables dedicated allocations and maintenance3 limits,
                                  1.2 device addresses, 1.3 vkCmdPipelineBarrier2 and
                                  maintenance4 limits (else the KHR name is looked up) */
    oa_vk_manager_flags flags; /* oa_vk_manager_flag_bits; 0 -> none */
    /* Per-heap budget in bytes set by the caller, for orderly's own blocks.
     * The device's budget always applies too: with OA_VK_MANAGER_MEMORY_BUDGET
     * VK_EXT_memory_budget's heapBudget, compared with the whole process's
     * heapUsage (re-read by every oa_vk_collect, oa_vk_get_heap_stats and
     * oa_vk_dump_json, and when a block is refused); without it 80% of the
     * heap size, compared with orderly's usage. 0 -> only the device's.
     * When a new block would pass a budget, every empty block (of any pool)
     * in the heaps the pool may use is released first, then the allocation
     * fails with OA_VK_ERROR_OUT_OF_DEVICE_MEMORY: blocks kept empty for
     * release_delay never make an allocation fail. */
    VkDeviceSize heap_budget[VK_MAX_MEMORY_HEAPS];
    uint32_t release_delay; /* collects an empty block (beyond a pool's first) stays
                               before it is released; 0 -> 3 */
    const VkAllocationCallbacks* vk_allocation_callbacks; /* NULL -> Vulkan's default */
    oa_alloc_callbacks callbacks;                         /* host metadata; zero -> malloc/free */
    oa_vk_log_fn log;                                     /* NULL -> silent */
    void* log_user;                                       /* passed to `log` */
    /* The caller's device entry points, copied at creation; NULL (or a NULL
     * member) -> loaded through get_device_proc_addr. */
    const oa_vk_functions* functions;
    oa_vk_device_memory_callbacks device_memory_callbacks; /* zero -> none */
} oa_vk_manager_info;

/* Create a manager: loads the device table, reads the device's properties,
 * memory properties and limits. The instance and device must outlive it.
 * On failure *out_manager = NULL and nothing leaks.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL info or out, a
 * required field missing, unknown flag), OA_VK_ERROR_OUT_OF_HOST_MEMORY,
 * OA_VK_ERROR_FEATURE_NOT_ENABLED (an entry point the flags or api_version
 * need is missing, neither given in `functions` nor loadable; the log names
 * it). Cost: O(1). */
OA_API OA_NODISCARD oa_vk_result oa_vk_manager_create(const oa_vk_manager_info* info,
                                                      oa_vk_manager** out_manager);

/* Destroy every pool (live ranges included) and the manager. The caller
 * ensures the GPU no longer uses any of its buffers. NULL is a no-op.
 * Cost: O(pools + blocks + ranges). */
OA_API void oa_vk_manager_destroy(oa_vk_manager* manager);

/* The VkResult of the last Vulkan call of this manager that failed, or
 * VK_SUCCESS if none has: it tells apart what one oa_vk_result groups
 * (OA_VK_ERROR_VULKAN: VK_ERROR_MEMORY_MAP_FAILED, VK_ERROR_UNKNOWN, ...;
 * OA_VK_ERROR_OUT_OF_DEVICE_MEMORY from the driver, where a spent budget
 * calls no Vulkan and leaves this unchanged). A failed call sets it before
 * returning; a success does not clear it. With OA_VK_MANAGER_THREAD_SAFE the
 * call that failed last on any thread wins. VK_SUCCESS for NULL. Cost: O(1). */
OA_API VkResult oa_vk_last_vk_result(oa_vk_manager* manager);

/* Pool creation flags: a bitmask of these in oa_vk_pool_info.flags. */
typedef enum oa_vk_pool_flag_bits {
    /** Map every block persistently. The host intents (UPLOAD, READBACK,
     * DYNAMIC, STAGING) imply it; with OA_VK_INTENT_FLAGS_ONLY it makes
     * HOST_VISIBLE required; with OA_VK_INTENT_DEVICE it is an error. */
    OA_VK_POOL_MAPPED = 0x1,
    /** Add SHADER_DEVICE_ADDRESS usage and fill
     * oa_vk_range_info.device_address. */
    OA_VK_POOL_DEVICE_ADDRESS = 0x2,
    /** Reject ranges above block_size instead of giving them their own
     * memory. */
    OA_VK_POOL_NO_DEDICATED = 0x4,
    /** Corruption detection (mapped pools only): every range gets a margin of
     * OA_VK_CORRUPTION_MARGIN bytes after its last byte, filled with a fixed
     * pattern at oa_vk_alloc and checked by oa_vk_free, oa_vk_collect and
     * oa_vk_check_corruption. A write past the end of a range then shows as
     * OA_VK_ERROR_CORRUPTION_DETECTED, and the log message names the range's
     * offset and block. Costs the margin per range plus a memset/memcmp of
     * it. */
    OA_VK_POOL_CORRUPTION_CHECK = 0x8,
    /** OA_VK_INTENT_UPLOAD only: take device-local host-visible memory when
     * the device has ReBAR (see oa_vk_rebar_types), so the GPU reads the data
     * from video memory; without ReBAR the pool stays in host memory. Other
     * intents ignore it. */
    OA_VK_POOL_ALLOW_REBAR = 0x10,
    /** A pool over caller-owned buffers: it allocates no memory and creates
     * no buffer; oa_vk_pool_add_buffer hands it each buffer to suballocate
     * (at any time, as many as needed). orderly never frees them. An
     * allocation that fits none of them fails with
     * OA_VK_ERROR_OUT_OF_POOL_SPACE (no dedicated blocks). intent,
     * required_flags, preferred_flags, block_size and max_block_count are
     * ignored; usage states what the buffers will be bound as (it sets the
     * range alignment). See oa_vk_external_buffer. */
    OA_VK_POOL_EXTERNAL = 0x1000,
    /** A ring pool for per-frame transient data (uniforms, per-draw
     * constants, dynamic vertex data): each block is a ring; oa_vk_ring_alloc
     * carves ranges linearly at its head in O(1) with no index and no
     * handle, and oa_vk_ring_end_frame hands the frame's ranges to a timeline
     * value; oa_vk_collect releases whole frames, oldest first. A frame that
     * does not fit in what is left of a block continues in the pool's next
     * block with room, or a new block (up to max_block_count); only when none
     * can take it does oa_vk_ring_alloc fail with
     * OA_VK_ERROR_OUT_OF_POOL_SPACE. oa_vk_alloc refuses ring pools. Not with
     * OA_VK_POOL_EXTERNAL or OA_VK_POOL_CORRUPTION_CHECK. */
    OA_VK_POOL_RING = 0x2000
} oa_vk_pool_flag_bits;
/* A bitmask of oa_vk_pool_flag_bits. */
typedef uint32_t oa_vk_pool_flags;
/* Bytes of margin after each range of an OA_VK_POOL_CORRUPTION_CHECK pool. */
#define OA_VK_CORRUPTION_MARGIN 16u
/* Frame marks (frames x blocks they used) a ring pool holds before
 * oa_vk_collect releases them. */
#define OA_VK_RING_MAX_MARKS 64u

/* A device-local host-visible memory type is ReBAR when its heap is larger
 * than this: the whole of video memory is host-visible (resizable BAR, or
 * the unified memory of an integrated GPU), not a 256 MiB window. */
#define OA_VK_REBAR_MIN_HEAP_SIZE (256ull << 20)

/* What a pool's memory is for: the intent picks the memory type and its
 * fallbacks from how the host and the GPU access the memory. Each intent
 * ranks the types of the buffer's memoryTypeBits; a block goes to the first
 * type of that order whose heap has room, then to the next. A fallback never
 * gives up what the intent needs (host visibility for the four host intents,
 * cached memory for READBACK when the layout has any). The order of every
 * intent on six GPU memory layouts is tabled in docs/memory-intents.md; the
 * pure function oa_vk_pool_memory_types computes it for any layout. */
typedef enum oa_vk_memory_intent {
    /* GPU-only data: vertex, index, storage buffers, copy destinations of the
     * stager. Prefers device-local memory that is not host-visible (keeps the
     * small BAR free), then the BAR, then host memory. Not mapped; fallbacks
     * may cross coherency. OA_VK_POOL_MAPPED is rejected: say how the host
     * accesses the memory with one of the intents below. */
    OA_VK_INTENT_DEVICE = 0,
    /* The host writes sequentially (memcpy, no reads), the GPU reads the
     * data where it lies. Host-visible coherent uncached (write-combined)
     * host memory; with OA_VK_POOL_ALLOW_REBAR and a ReBAR type, device-local
     * host-visible memory first. Mapped. */
    OA_VK_INTENT_UPLOAD = 1,
    /* The GPU writes, the host reads: host-visible cached memory, never
     * uncached while a cached type holds the pool's required flags (and is
     * in the buffer's memoryTypeBits); only without one an uncached
     * host-visible type. Prefers host memory. Mapped; call oa_vk_invalidate
     * before reading (a no-op on coherent memory). */
    OA_VK_INTENT_READBACK = 2,
    /* Per-frame data the host rewrites every frame and the GPU reads directly
     * (uniforms, instance data, indirect commands): device-local host-visible
     * coherent memory (the BAR, even a 256 MiB one, or ReBAR), else coherent
     * host memory. Mapped. */
    OA_VK_INTENT_DYNAMIC = 3,
    /* Staging: the host writes, only transfers read (TRANSFER_SRC). Coherent
     * uncached host memory, never video memory while host memory exists.
     * Mapped. The stager's ring uses it. */
    OA_VK_INTENT_STAGING = 4,
    /* No intent: only required_flags and preferred_flags, ranked as
     * oa_vk_choose_memory_type does. Mapped only with OA_VK_POOL_MAPPED
     * (which makes HOST_VISIBLE required). */
    OA_VK_INTENT_FLAGS_ONLY = 5,
    OA_VK_MEMORY_INTENT_FORCE_U32 = 0x7FFFFFFF
} oa_vk_memory_intent;

/* A buffer orderly suballocates but does not own: handed in with
 * oa_vk_pool_add_buffer, or made by oa_vk_block_callbacks.create.
 * Coherency: with `memory` given, the properties of memory_type_index decide
 * whether oa_vk_flush / oa_vk_invalidate call Vulkan (always with
 * OA_VK_MANAGER_ASSUME_NON_COHERENT); without `memory` the mapping is taken
 * as coherent and both are no-ops. Ranges of these pools are aligned and
 * padded to nonCoherentAtomSize (at most 256 bytes) whatever the memory, so
 * a flush never reaches into another range. */
typedef struct oa_vk_external_buffer {
    VkBuffer buffer;                /* required */
    VkDeviceSize size;              /* bytes of `buffer` orderly may hand out; required */
    void* mapped;                   /* host pointer to the buffer's byte 0; NULL -> unmapped */
    VkDeviceMemory memory;          /* the memory `buffer` is bound to, for flush and
                                       invalidate; VK_NULL_HANDLE -> coherent */
    VkDeviceSize memory_offset;     /* where `buffer` starts in `memory`; with non-coherent
                                       memory a multiple of nonCoherentAtomSize */
    uint32_t memory_type_index;     /* the type of `memory` (read only when `memory` is
                                       given; stats and the dump show it) */
    VkDeviceAddress device_address; /* the buffer's device address; 0 -> none */
    void* user;                     /* the caller's own handle (a VmaAllocation, say),
                                       given back to oa_vk_block_callbacks.destroy */
} oa_vk_external_buffer;

/* What a pool asks of oa_vk_block_callbacks.create: a buffer of at least
 * `size` bytes with `usage`, in memory that has `required_flags` (and
 * preferably `preferred_flags`), persistently mapped when `mapped`, with a
 * device address when `device_address` (usage then holds
 * SHADER_DEVICE_ADDRESS). */
typedef struct oa_vk_block_request {
    oa_vk_pool pool;                       /* the pool asking */
    const char* name;                      /* the pool's name */
    VkDeviceSize size;                     /* bytes: the block size, or one range's
                                              (atom-rounded) size for a dedicated block */
    VkBufferUsageFlags usage;              /* the pool's usage */
    oa_vk_memory_intent intent;            /* the pool's intent (as VMA's memory usage) */
    VkMemoryPropertyFlags required_flags;  /* HOST_VISIBLE for a mapped pool, plus the pool's */
    VkMemoryPropertyFlags preferred_flags; /* the pool's */
    bool mapped;                           /* `mapped` must come back non-NULL */
    bool device_address;                   /* `device_address` must come back non-zero */
    bool dedicated;                        /* a block for one range above block_size */
} oa_vk_block_request;

/* Make one block's buffer and memory with the application's own allocator
 * (VMA, say): fill *out_buffer (zeroed on entry) and return VK_SUCCESS, or a
 * VkResult error (the pool's oa_vk_alloc then returns its oa_vk_result, and
 * nothing is kept). Called with the manager's mutex held: it must not call
 * into the manager. */
typedef VkResult (*oa_vk_block_create_fn)(void* user, const oa_vk_block_request* request,
                                          oa_vk_external_buffer* out_buffer);
/* Destroy what create made, once orderly releases the block (an empty block
 * past the pool's first, oa_vk_pool_trim, pool or manager destroy). Same
 * locking rule. */
typedef void (*oa_vk_block_destroy_fn)(void* user, const oa_vk_external_buffer* buffer);

/* Block-allocation callbacks of a pool: both set, or both NULL (orderly then
 * allocates blocks itself). Memory they make is the application's: it is not
 * counted in oa_vk_get_heap_stats, against budgets or maxMemoryAllocationCount,
 * nor reported to oa_vk_device_memory_callbacks. */
typedef struct oa_vk_block_callbacks {
    oa_vk_block_create_fn create;   /* makes a block's buffer and memory */
    oa_vk_block_destroy_fn destroy; /* destroys what create made */
    void* user;                     /* passed to both */
} oa_vk_block_callbacks;

/* A pool's recorder (oa_vk_pool_info.record): every change of every block's
 * core allocator, as the core's recorder writes it (oa_record_fn in
 * orderly.h: one line of trace text, newline included, not NUL-terminated,
 * valid during the call), with the block it belongs to. `block_slot` tells
 * a multi-block pool's blocks apart: each block's lines are one trace of its
 * own, in the format orderly-replay reads, beginning with its "capacity"
 * line when the block is created. The slot is the block's for its whole
 * life (the index oa_vk_block_get_stats uses, while no block before it has
 * been released); once a released block's slot is taken by a new block, a
 * new "capacity" line begins that block's trace. Dedicated blocks have no
 * allocator and write nothing. Called with the manager's lock held, from
 * whichever call changes the block (a deferred free's line comes from the
 * oa_vk_collect that frees it): it must not call into the manager. */
typedef void (*oa_vk_record_fn)(void* user, uint32_t block_slot, const char* text, size_t length);

/* Pool creation parameters. Zero means default for every optional field. */
typedef struct oa_vk_pool_info {
    VkBufferUsageFlags usage;              /* required, non-zero */
    oa_vk_memory_intent intent;            /* what the memory is for; 0 -> DEVICE. The four
                                              host intents make the pool mapped */
    VkMemoryPropertyFlags required_flags;  /* the memory type must have these too (joined to
                                              what the intent needs); 0 -> none */
    VkMemoryPropertyFlags preferred_flags; /* the type should have these too (they outweigh
                                              what the intent avoids); 0 -> none */
    VkDeviceSize block_size;               /* bytes per block; 0 -> 64 MiB or 1/8 of the heap
                                              if less. Given or not, clamped to
                                              maxBufferSize, maxMemoryAllocationSize and
                                              the heap's budget at creation (the first
                                              memory type's): oa_vk_pool_stats.block_size */
    uint32_t max_block_count;              /* most ordinary blocks at once; dedicated
                                              blocks (ranges above block_size) are not
                                              counted: OA_VK_POOL_NO_DEDICATED forbids
                                              them. 0 -> no limit but the device's */
    oa_vk_pool_flags flags;                /* oa_vk_pool_flag_bits; 0 -> none */
    const char* name;                      /* debug name prefix, copied; NULL -> "orderly" */
    /* Bytes per index (2 for VK_INDEX_TYPE_UINT16, 4 for UINT32, 1 for
     * UINT8) when the pool holds index data that is bound at a range's
     * offset: every range offset becomes a multiple of it. Needs
     * INDEX_BUFFER usage. 0 -> none (a mixed vertex and index pool may pass
     * the index size as oa_vk_alloc's align instead). */
    uint32_t index_size;
    oa_vk_block_callbacks block_callbacks; /* zero -> orderly allocates blocks itself */
    /* Records every block's allocator (see oa_vk_record_fn); NULL -> none.
     * Off, it costs nothing; on, one line per change formatted by the core
     * (no heap call) and, per block, one context of 48 bytes from the
     * manager's callbacks. Not with OA_VK_POOL_RING (no allocator). */
    oa_vk_record_fn record;
    void* record_user; /* passed to `record` */
} oa_vk_pool_info;

/* Create a pool. No memory is allocated until the first oa_vk_alloc().
 * Its memory types are those oa_vk_pool_memory_types gives for `info` and the
 * memoryTypeBits of a buffer of its usage; each block takes the first of them
 * whose heap has room. On failure out_pool->id = 0.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, usage 0, unknown
 * flag or intent, OA_VK_POOL_MAPPED with OA_VK_INTENT_DEVICE,
 * OA_VK_POOL_CORRUPTION_CHECK on a pool that is not mapped or whose blocks
 * orderly does not allocate, block_callbacks with only one of the two, or
 * with OA_VK_POOL_EXTERNAL, OA_VK_POOL_RING with OA_VK_POOL_EXTERNAL or a recorder),
 * OA_VK_ERROR_NO_MEMORY_TYPE (no type of the buffer's memoryTypeBits
 * has the required flags), OA_VK_ERROR_FEATURE_NOT_ENABLED (device address
 * without OA_VK_MANAGER_BUFFER_DEVICE_ADDRESS), OA_VK_ERROR_OUT_OF_HOST_MEMORY,
 * OA_VK_ERROR_DEVICE_LOST or OA_VK_ERROR_VULKAN (creating the probe buffer
 * failed; see oa_vk_last_vk_result), OA_VK_ERROR_TOO_LARGE
 * (maxMemoryAllocationSize is below the buffer's memory alignment). The block
 * size is clamped so that the block's buffer fits maxBufferSize and its
 * memory (rounded up to the memory alignment) maxMemoryAllocationSize.
 * Cost: O(memory types); creates and destroys one small probe VkBuffer (none
 * for OA_VK_POOL_EXTERNAL or block_callbacks pools, whose memory is the
 * caller's). */
OA_API OA_NODISCARD oa_vk_result oa_vk_pool_create(oa_vk_manager* manager,
                                                   const oa_vk_pool_info* info,
                                                   oa_vk_pool* out_pool);

/* Hand a caller-owned buffer to a pool created with OA_VK_POOL_EXTERNAL: its
 * [0, size) is suballocated like one of orderly's blocks (best fit, deferred
 * frees, the stager, stats, the dump and the walk), and never freed: it is
 * dropped from the pool when the pool is destroyed, and stays the caller's
 * and valid. The buffer must have been created with the pool's usage and
 * outlive the pool. *out_block_index (may be NULL) gets its block number as
 * oa_vk_block_get_stats counts it.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, no buffer, size
 * 0, a pool without OA_VK_POOL_EXTERNAL, memory_type_index out of range,
 * non-coherent memory at an offset that is not a multiple of
 * nonCoherentAtomSize, no device address for a OA_VK_POOL_DEVICE_ADDRESS
 * pool), OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_OUT_OF_HOST_MEMORY.
 * Cost: O(blocks) plus one core allocator creation. */
OA_API OA_NODISCARD oa_vk_result oa_vk_pool_add_buffer(oa_vk_manager* manager, oa_vk_pool pool,
                                                       const oa_vk_external_buffer* buffer,
                                                       uint32_t* out_block_index);

/* Carve `size` bytes aligned to lcm(pool alignment, `align`) from a ring
 * pool (OA_VK_POOL_RING) for the frame now being recorded. out_info gets
 * buffer, offset, size, mapped pointer and device address; handle.id is 0:
 * a ring range is never freed alone, its frame is (oa_vk_ring_end_frame,
 * then oa_vk_collect). On non-coherent memory sizes are rounded to
 * nonCoherentAtomSize and end_frame flushes the frame. On failure
 * *out_info is zeroed.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, size or align 0,
 * not a ring pool), OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_TOO_LARGE (above
 * the block size), OA_VK_ERROR_OUT_OF_POOL_SPACE (every block full of frames
 * in flight at max_block_count), and the block errors of oa_vk_alloc.
 * Cost: O(1) (an align-up and a compare) while the current block has room;
 * O(blocks) when the frame moves to another block. */
OA_API OA_NODISCARD oa_vk_result oa_vk_ring_alloc(oa_vk_manager* manager, oa_vk_pool pool,
                                                  VkDeviceSize size, VkDeviceSize align,
                                                  oa_vk_range_info* out_info);

/* End the frame of a ring pool: every range oa_vk_ring_alloc gave since the
 * previous end_frame belongs to the submit that signals `value` (a timeline
 * value or frame number, never below the previous frame's), and comes back
 * in oa_vk_collect(completed >= value), frames in FIFO order. Flushes the
 * frame's bytes on non-coherent memory. A frame with no range records
 * nothing.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, not a ring pool,
 * value below the previous), OA_VK_ERROR_STALE_HANDLE,
 * OA_VK_ERROR_OUT_OF_POOL_SPACE (OA_VK_RING_MAX_MARKS marks wait: collect;
 * the frame stays open), OA_VK_ERROR_VULKAN (flush). Cost: O(blocks). */
OA_API OA_NODISCARD oa_vk_result oa_vk_ring_end_frame(oa_vk_manager* manager, oa_vk_pool pool,
                                                      uint64_t value);

/* Flags of oa_vk_pool_destroy: a bitmask of these. */
typedef enum oa_vk_pool_destroy_flag_bits {
    /** Free live and pending ranges instead of failing. */
    OA_VK_POOL_DESTROY_FREE_LIVE = 0x1
} oa_vk_pool_destroy_flag_bits;
/* A bitmask of oa_vk_pool_destroy_flag_bits. */
typedef uint32_t oa_vk_pool_destroy_flags;

/* Destroy a pool and release its blocks. With live or pending ranges it fails
 * with OA_VK_ERROR_LIVE_RANGES (the log message gives the count) and changes
 * nothing, unless `flags` has OA_VK_POOL_DESTROY_FREE_LIVE. Handle id 0 is a
 * no-op. Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT,
 * OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_LIVE_RANGES.
 * Cost: O(blocks + ranges of the manager). */
OA_API OA_NODISCARD oa_vk_result oa_vk_pool_destroy(oa_vk_manager* manager, oa_vk_pool pool,
                                                    oa_vk_pool_destroy_flags flags);

/* Release every empty block of the pool but its first one, now. Returns the
 * number of blocks released through *out_released_count (may be NULL).
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT, OA_VK_ERROR_STALE_HANDLE.
 * Cost: O(blocks). */
OA_API oa_vk_result oa_vk_pool_trim(oa_vk_manager* manager, oa_vk_pool pool,
                                    uint64_t* out_released_count);

/* Allocate a range of `size` bytes. Its offset is a multiple of
 * lcm(`align`, the pool's alignment): `align` is any value >= 1 (a vertex
 * stride of 12, 24, 36), the pool's alignment is oa_vk_range_alignment of its
 * usage, index_size and coherency (oa_vk_pool_stats.alignment). The bytes it
 * holds in its block are `size` rounded up to the pool's alignment (plus the
 * corruption margin if any), so ranges of a pool that all use its alignment
 * leave no pad between them. Tries the pool's blocks in order, then a new
 * block; a range above block_size gets a dedicated block.
 * On failure *out_info is zeroed (handle id 0) and the pool is unchanged.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, size 0, align
 * 0, alignment above 2^32), OA_VK_ERROR_STALE_HANDLE (pool), OA_VK_ERROR_TOO_LARGE
 * (size plus the corruption margin, rounded up to the pool's alignment, passes
 * maxBufferSize or maxMemoryAllocationSize, or a dedicated block's memory
 * does; no Vulkan call ever gets a size above either),
 * OA_VK_ERROR_OUT_OF_POOL_SPACE, OA_VK_ERROR_OUT_OF_DEVICE_MEMORY,
 * OA_VK_ERROR_TOO_MANY_ALLOCATIONS, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
 * OA_VK_ERROR_DEVICE_LOST, OA_VK_ERROR_VULKAN (see oa_vk_last_vk_result).
 * Cost: O(blocks x core alloc); a new block adds vkAllocateMemory. */
OA_API OA_NODISCARD oa_vk_result oa_vk_alloc(oa_vk_manager* manager, oa_vk_pool pool,
                                             VkDeviceSize size, VkDeviceSize align,
                                             oa_vk_range_info* out_info);

/* Free a range now; the caller knows the GPU is done with it. A dedicated
 * block is released at once; an ordinary block that becomes empty is released
 * by a later oa_vk_collect (hysteresis). Handle id 0 is a no-op.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager; a range
 * that a recorded compaction pass moves, until oa_vk_collect ends the pass:
 * nothing changes, free it deferred),
 * OA_VK_ERROR_STALE_HANDLE (double free, pending, foreign),
 * OA_VK_ERROR_CORRUPTION_DETECTED (OA_VK_POOL_CORRUPTION_CHECK pools: the
 * range's margin was overwritten; the range is freed all the same).
 * Cost: O(log n). */
OA_API oa_vk_result oa_vk_free(oa_vk_manager* manager, oa_vk_range range);

/* Queue a range to be freed once `value` (a timeline semaphore value or a
 * frame number, the caller's choice, used consistently) has completed: the
 * next oa_vk_collect(completed_value >= value) frees it. From now on the
 * handle is rejected by every other function. Handle id 0 is a no-op. A range
 * that a recorded compaction pass moves is freed no earlier than the
 * collect that ends the pass (its old bytes may still be read).
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT,
 * OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_OUT_OF_HOST_MEMORY (queue growth;
 * the range stays live). Cost: O(1) amortised. */
OA_API oa_vk_result oa_vk_free_deferred(oa_vk_manager* manager, oa_vk_range range, uint64_t value);

/* End every compaction pass recorded with a value <= completed_value (its
 * old bytes come back to their blocks), free every deferred range whose
 * value is <= completed_value, release the
 * ring pools' frames ended with such a value (oldest first), release empty
 * blocks that have stayed empty for release_delay collects, release the old
 * buffers and memory of blocks grown with such a signal_value
 * (oa_vk_pool_grow), and re-read the
 * heap budgets (VK_EXT_memory_budget with OA_VK_MANAGER_MEMORY_BUDGET): call
 * it once a frame. Returns the number of ranges freed (ring ranges included)
 * through *out_freed_count (may be NULL).
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT, or
 * OA_VK_ERROR_CORRUPTION_DETECTED when the margin of a freed range of an
 * OA_VK_POOL_CORRUPTION_CHECK pool was overwritten (logged once per range;
 * every due range is freed all the same).
 * Cost: O(pending ranges + released frame marks + blocks + heaps + pools),
 * plus O(k log n) per compaction pass of k moves that ends, plus one
 * vkGetPhysicalDeviceMemoryProperties2 with OA_VK_MANAGER_MEMORY_BUDGET. */
OA_API oa_vk_result oa_vk_collect(oa_vk_manager* manager, uint64_t completed_value,
                                  uint64_t* out_freed_count);

/* Look up a live range. On failure *out_info is zeroed.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT, OA_VK_ERROR_STALE_HANDLE.
 * Cost: O(1). */
OA_API OA_NODISCARD oa_vk_result oa_vk_range_get_info(oa_vk_manager* manager, oa_vk_range range,
                                                      oa_vk_range_info* out_info);

/* One region of a pool, as oa_vk_pool_walk reports it. */
typedef struct oa_vk_region_info {
    uint32_t block_index;    /* the block's position among the pool's blocks (as in the dump) */
    VkBuffer buffer;         /* the block's buffer */
    VkDeviceSize block_size; /* bytes the block manages */
    VkDeviceSize offset;     /* first byte of the region in the block */
    VkDeviceSize size;       /* bytes (an allocation's size as held, rounding included) */
    bool is_free;            /* free space rather than a range */
    bool is_pending;         /* a range freed deferred, waiting for its value */
    oa_vk_range range;       /* the range (id 0 for free space) */
    uint32_t tag;            /* the range's tag (oa_vk_range_set_tag), 0 = none */
} oa_vk_region_info;

/* Callback of oa_vk_pool_walk; return false to stop early. It runs with the
 * manager's mutex held (if any) and must not call into the manager. */
typedef bool (*oa_vk_walk_fn)(void* user, const oa_vk_region_info* region);

/* Visit every region of a pool, block by block and in address order inside a
 * block: ranges (live or pending) and free space. What a strip map, a
 * visualiser or a leak report needs, without the JSON dump's text. While a
 * compaction pass is open, the bytes it holds that no range reports (a
 * destination before oa_vk_compact_record, a moved range's old place until
 * the pass ends) come as used regions with range id 0.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager or fn),
 * OA_VK_ERROR_STALE_HANDLE (pool) or OA_VK_ERROR_OUT_OF_HOST_MEMORY (a
 * temporary list of the pool's ranges). Cost: O(regions + r log r) for r
 * ranges. */
OA_API oa_vk_result oa_vk_pool_walk(oa_vk_manager* manager, oa_vk_pool pool, oa_vk_walk_fn fn,
                                    void* user);

/* Give a live range a caller-chosen tag (a mesh id, a category, an index into
 * the caller's names): oa_vk_range_get_info reports it, the JSON dump writes it as
 * "tag" for the range's region, and orderly-vis colours regions by it. A new
 * range starts with tag 0 (none). Returns OA_VK_SUCCESS,
 * OA_VK_ERROR_INVALID_ARGUMENT (NULL manager) or OA_VK_ERROR_STALE_HANDLE.
 * Cost: O(1). */
OA_API oa_vk_result oa_vk_range_set_tag(oa_vk_manager* manager, oa_vk_range range, uint32_t tag);

/* Make host writes to [offset, offset + size) of a mapped range visible to the
 * device (vkFlushMappedMemoryRanges), or device writes visible to the host
 * (oa_vk_invalidate, vkInvalidateMappedMemoryRanges). offset and size are
 * relative to the range; size VK_WHOLE_SIZE means to the range's end. The
 * memory range is widened to nonCoherentAtomSize and clamped to the memory's
 * size. On coherent memory both are no-ops, unless the manager has
 * OA_VK_MANAGER_ASSUME_NON_COHERENT.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (outside the range),
 * OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_NOT_MAPPED, and for a failed Vulkan
 * call OA_VK_ERROR_OUT_OF_HOST_MEMORY, _OUT_OF_DEVICE_MEMORY, _DEVICE_LOST or
 * _VULKAN (see oa_vk_last_vk_result). Cost: O(1) plus the Vulkan call. */
OA_API oa_vk_result oa_vk_flush(oa_vk_manager* manager, oa_vk_range range, VkDeviceSize offset,
                                VkDeviceSize size);
/* Make device writes to [offset, offset + size) of a mapped range visible to
 * the host; the counterpart of oa_vk_flush, with the same arguments, results
 * and cost. */
OA_API oa_vk_result oa_vk_invalidate(oa_vk_manager* manager, oa_vk_range range, VkDeviceSize offset,
                                     VkDeviceSize size);

/* Check the margins of every live and pending range of a pool created with
 * OA_VK_POOL_CORRUPTION_CHECK. Each overwritten margin is logged with its
 * range's offset and block; *out_offset (may be NULL) gets the offset of the
 * first one found (in range-slot order), or OA_NO_OFFSET when all are intact.
 * A range that a recorded compaction pass moves is left out until the pass
 * ends: its margin at the new place is written by the pass's copy, which may
 * not have run yet (oa_vk_collect checks it once it has, if it is freed).
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_CORRUPTION_DETECTED,
 * OA_VK_ERROR_INVALID_ARGUMENT (NULL manager, pool without the flag),
 * OA_VK_ERROR_STALE_HANDLE. Cost: O(ranges of the manager x margin). */
OA_API OA_NODISCARD oa_vk_result oa_vk_check_corruption(oa_vk_manager* manager, oa_vk_pool pool,
                                                        VkDeviceSize* out_offset);

/* ---- Growing a block without moving a range ------------------------------ */

/* Flags of oa_vk_grow_info: a bitmask of these. */
typedef enum oa_vk_grow_flag_bits {
    /** Mapped pools only: copy the bytes with memcpy between the old and the
     * new mapping during the call (invalidate and flush on non-coherent
     * memory) instead of a GPU copy; no command buffer is needed and the
     * ranges' new mapped pointers hold the bytes when the call returns. The
     * caller guarantees that no GPU write to the block is pending or in
     * flight (an upload not yet complete, a shader writing a range): such a
     * write would land in the old buffer only. GPU reads of the old buffer
     * may go on: it stays valid until signal_value completes. */
    OA_VK_GROW_HOST_COPY = 0x1,
    /** Copy the used span (from the first range's first byte to the last
     * range's last byte, free holes included) in one VkBufferCopy instead of
     * one region per run of ranges. */
    OA_VK_GROW_COPY_USED_SPAN = 0x2
} oa_vk_grow_flag_bits;
/* A bitmask of oa_vk_grow_flag_bits. */
typedef uint32_t oa_vk_grow_flags;

/* Parameters of oa_vk_pool_grow. Zero means default for every optional field. */
typedef struct oa_vk_grow_info {
    VkDeviceSize new_size;                /* required: bytes the block manages afterwards, above
                                             its capacity now; rounded up to the pool's
                                             alignment (oa_vk_grow_result.new_size) */
    VkCommandBuffer command_buffer;       /* recording state: gets a barrier, the copy and a
                                             barrier; required unless OA_VK_GROW_HOST_COPY */
    uint64_t signal_value;                /* the timeline value (or frame number) the submit of
                                             command_buffer signals: the old buffer and memory
                                             are released by oa_vk_collect(completed >=
                                             signal_value) */
    VkPipelineStageFlags2 dst_stage_mask; /* stages that use the block after the copy;
                                             0 -> draw indirect, vertex input (vertex and
                                             index reads), vertex, fragment and compute
                                             shaders, transfers: a graphics queue's (give
                                             your own on a compute or transfer queue) */
    VkAccessFlags2 dst_access_mask;       /* their accesses; 0 -> indirect, index, vertex,
                                             uniform and shader reads, shader writes,
                                             transfer reads and writes (with a stage mask
                                             given: memory read and write) */
    oa_vk_grow_flags flags;               /* oa_vk_grow_flag_bits; 0 -> GPU copy, one region
                                             per run of ranges (free gaps below 4 KiB
                                             between ranges are copied with them) */
} oa_vk_grow_info;

/* What oa_vk_pool_grow did. */
typedef struct oa_vk_grow_result {
    VkBuffer buffer;          /* the block's new buffer: every range of the block reports it */
    VkBuffer old_buffer;      /* the block's buffer before: valid, and holding the bytes it
                                 held, until old_valid_until completes */
    uint64_t old_valid_until; /* the info's signal_value */
    VkDeviceSize old_size;    /* the block's capacity before */
    VkDeviceSize new_size;    /* the block's capacity now */
    VkDeviceSize copied_size; /* bytes copied (the runs, or the used span) */
    uint32_t region_count;    /* VkBufferCopy regions (0: nothing was allocated) */
} oa_vk_grow_result;

/* Grow block number `block_index` of a pool (numbered as oa_vk_block_get_stats
 * counts blocks) to info->new_size bytes without moving any range: a new
 * VkBuffer and VkDeviceMemory of the new size are made (from the pool's
 * memory types, within maxBufferSize, maxMemoryAllocationSize,
 * maxMemoryAllocationCount and the heap budget, which the old memory still
 * counts against until it is released), the bytes of every live and pending
 * range are copied to the same offsets, the block's allocator is extended
 * (oa_grow_capacity), and the block switches to the new buffer: from this
 * call on, oa_vk_range_get_info, oa_vk_alloc, the stats, the walk and the
 * dump report the new buffer, the same offsets, new mapped pointers and
 * device addresses; range handles stay valid. New ranges may take the added
 * bytes at once.
 * The copy, by default, is recorded into info->command_buffer: a barrier
 * (every earlier write of the old buffer before the copy reads it), one
 * vkCmdCopyBuffer from the old buffer to the new one, a barrier (the copy's
 * writes before dst_stage_mask). Submit it before any work that uses the
 * block through the new buffer, on the same queue as the work that wrote the
 * old one, and signal info->signal_value; record every later access to the
 * block through the new buffer (oa_vk_range_get_info). Commands recorded
 * before the grow may go on using the old buffer: it is released by
 * oa_vk_collect(completed >= signal_value), never before. Writes to the old
 * buffer recorded or submitted after the grow's command buffer are lost.
 * Mapped pools: the GPU copy is the general answer (the host then must not
 * write the block's ranges through the new pointers until signal_value
 * completes: the copy would overwrite them); OA_VK_GROW_HOST_COPY copies on
 * the host instead, see there. Stager uploads queued and not yet recorded
 * land in the new buffer (oa_vk_stager_record looks the range up again);
 * uploads recorded before the grow land in the old buffer before the copy
 * reads it, provided their submit comes first.
 * Refused with OA_VK_ERROR_INVALID_ARGUMENT: ring pools (rings carved in FIFO
 * order), OA_VK_POOL_EXTERNAL pools and pools with block callbacks (the
 * caller's buffers: grow them yourself and add them as new buffers), and
 * dedicated blocks (one range each, nothing to gain), a pool with a
 * compaction pass planned (oa_vk_compact_begin without its record: its moves
 * name the buffers; record or abort the pass first), and OA_VK_GROW_HOST_COPY
 * while a recorded pass has not ended (its GPU copies may still write the old
 * buffer after the memcpy). The GPU copy may grow a block while a recorded
 * pass is in flight: its barrier orders it after the pass's copies (submitted
 * earlier), and it copies the moved ranges' old and new places alike.
 * A pool does not grow on demand inside oa_vk_alloc: a GPU copy needs a
 * command buffer and a timeline value the allocation call does not have, and
 * a host copy is safe only when the caller knows no GPU write is in flight.
 * Call oa_vk_pool_grow when oa_vk_alloc returns OA_VK_ERROR_OUT_OF_POOL_SPACE.
 * On failure nothing changes: the block, its buffer, its ranges, the counts
 * and the budgets are as they were, nothing is recorded into the command
 * buffer, and *out_result (may be NULL) is zeroed.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager or info,
 * unknown flag, block index out of range, new_size not above the capacity,
 * a refused pool or block as above, no command buffer without
 * OA_VK_GROW_HOST_COPY, a pool without TRANSFER_SRC and TRANSFER_DST usage
 * for the GPU copy), OA_VK_ERROR_STALE_HANDLE (pool), OA_VK_ERROR_NOT_MAPPED
 * (OA_VK_GROW_HOST_COPY on a pool that is not mapped),
 * OA_VK_ERROR_FEATURE_NOT_ENABLED (GPU copy with neither vkCmdPipelineBarrier2
 * nor vkCmdPipelineBarrier),
 * OA_VK_ERROR_TOO_LARGE (new_size passes maxBufferSize or
 * maxMemoryAllocationSize, or its memory does), OA_VK_ERROR_OUT_OF_DEVICE_MEMORY
 * (vkAllocateMemory failed in every type of the pool, or the heap budget),
 * OA_VK_ERROR_TOO_MANY_ALLOCATIONS, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
 * OA_VK_ERROR_OUT_OF_METADATA (a fixed core budget), OA_VK_ERROR_DEVICE_LOST,
 * OA_VK_ERROR_VULKAN (see oa_vk_last_vk_result).
 * Cost: one vkCreateBuffer, vkAllocateMemory, vkBindBufferMemory (and
 * vkMapMemory) plus O(regions of the block) on the host; on the GPU (or the
 * host) a copy of the used bytes. Measured figures: README, "Growing a pool". */
OA_API OA_NODISCARD oa_vk_result oa_vk_pool_grow(oa_vk_manager* manager, oa_vk_pool pool,
                                                 uint32_t block_index, const oa_vk_grow_info* info,
                                                 oa_vk_grow_result* out_result);

/* ---- Memory-type choice (pure function) ---------------------------------- */

/* Choose a memory type: among the types in `type_bits` whose properties hold
 * all of `required`, the one with the lowest cost, ties to the lowest index.
 * Cost counts, in this order of weight: a missing `preferred` flag (4 each),
 * an unasked HOST_VISIBLE or DEVICE_LOCAL (2 each: keeps GPU-only buffers out
 * of the small BAR heap and staging out of video memory), an unasked
 * HOST_CACHED or HOST_COHERENT (1 each). Types with flags outside the four
 * above (protected, lazily allocated, device-coherent) are skipped unless
 * required. For a fallback order, call again with the chosen bit cleared from
 * type_bits. On failure *out_type_index = UINT32_MAX.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL),
 * OA_VK_ERROR_NO_MEMORY_TYPE. Cost: O(memory types). Thread-safe. */
OA_API OA_NODISCARD oa_vk_result oa_vk_choose_memory_type(
    const VkPhysicalDeviceMemoryProperties* properties, uint32_t type_bits,
    VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred, uint32_t* out_type_index);

/* The memory types a pool created with `info` may use, best first: what
 * oa_vk_pool_create does with `info` (its intent, flags, required_flags and
 * preferred_flags; other fields are ignored) on a device of `properties`
 * whose buffers of the pool's usage report memoryTypeBits `type_bits`.
 * out_types gets *out_count (1 .. VK_MAX_MEMORY_TYPES) type indices; give it
 * VK_MAX_MEMORY_TYPES entries. A mapped pool whose first type is coherent
 * lists only coherent types. On failure *out_count = 0.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, unknown intent,
 * OA_VK_POOL_MAPPED with OA_VK_INTENT_DEVICE), OA_VK_ERROR_NO_MEMORY_TYPE.
 * Pure; thread-safe. Cost: O(memory types^2). */
OA_API OA_NODISCARD oa_vk_result
oa_vk_pool_memory_types(const VkPhysicalDeviceMemoryProperties* properties, uint32_t type_bits,
                        const oa_vk_pool_info* info, uint32_t* out_types, uint32_t* out_count);

/* Bit i set when memory type i is ReBAR: device-local and host-visible on a
 * heap larger than OA_VK_REBAR_MIN_HEAP_SIZE. 0 for NULL. Pure; thread-safe.
 * Cost: O(memory types). */
OA_API uint32_t oa_vk_rebar_types(const VkPhysicalDeviceMemoryProperties* properties);

/* "device", "upload", "readback", "dynamic", "staging", "flags-only", or
 * "unknown". Never NULL. Thread-safe. */
OA_API const char* oa_vk_memory_intent_name(oa_vk_memory_intent intent);

/* Alignment of a range inside a buffer with `usage` on a device with
 * `limits`: the least common multiple of exactly these terms, each the rule
 * of the Vulkan specification that constrains an offset inside a buffer:
 *  - UNIFORM_BUFFER usage: minUniformBufferOffsetAlignment
 *    (VUID-VkWriteDescriptorSet-descriptorType-00327, descriptor offsets);
 *  - STORAGE_BUFFER usage: minStorageBufferOffsetAlignment
 *    (VUID-VkWriteDescriptorSet-descriptorType-00328);
 *  - UNIFORM_ or STORAGE_TEXEL_BUFFER usage: minTexelBufferOffsetAlignment
 *    (VUID-VkBufferViewCreateInfo-offset-00926, buffer view offsets);
 *  - INDIRECT_BUFFER usage: 4 (VUID-vkCmdDrawIndirect-offset-02710 and the
 *    same rule of every indirect draw and dispatch command);
 *  - index_size, when not 0: 1, 2 or 4, the size of the index type
 *    (VUID-vkCmdBindIndexBuffer-offset-00432);
 *  - nonCoherentAtomSize when `non_coherent` (mapped memory without
 *    HOST_COHERENT): flush and invalidate ranges are whole atoms
 *    (VUID-VkMappedMemoryRange-offset-00687, -size-01390), so a range that
 *    starts and ends on atoms never invalidates a neighbour's unflushed
 *    bytes;
 *  - caller_align (>= 1, any value: a vertex stride of 12, 20, 24, 36).
 * VERTEX_BUFFER usage adds nothing: vkCmdBindVertexBuffers takes any offset,
 * and the stride is the caller's term. VkMemoryRequirements.alignment is not
 * a term: it says where a buffer may be bound in memory
 * (VUID-vkBindBufferMemory-memoryOffset-01036), which for a block's buffer is
 * offset 0; applied to sub-ranges it only makes slivers. A limit the device
 * reports as 0 constrains nothing.
 * Returns 0 for NULL limits, caller_align 0, index_size other than 0, 1, 2,
 * 4, or a result that passes 2^32. Pure; thread-safe. Cost: O(1). */
OA_API VkDeviceSize oa_vk_range_alignment(const VkPhysicalDeviceLimits* limits,
                                          VkBufferUsageFlags usage, VkDeviceSize index_size,
                                          bool non_coherent, VkDeviceSize caller_align);

/* ---- Statistics and dump ------------------------------------------------- */

/* Statistics of one block (oa_vk_block_get_stats). */
typedef struct oa_vk_block_stats {
    VkDeviceSize capacity;          /* bytes the block's allocator manages */
    VkDeviceSize used_size;         /* bytes in live and pending ranges, padding included */
    VkDeviceSize free_size;         /* capacity - used_size */
    VkDeviceSize largest_free_size; /* size of the largest free region */
    VkDeviceSize pending_size;      /* bytes of ranges waiting in deferred frees */
    uint64_t allocation_count;      /* live + pending ranges */
    uint64_t free_region_count;     /* free regions in the block */
    double fragmentation;           /* 1 - largest_free_size / free_size (0 if nothing free) */
    uint32_t memory_type_index;     /* memory type of the block's VkDeviceMemory */
    bool is_dedicated;              /* a block of its own for one range above block_size */
} oa_vk_block_stats;

/* Statistics of one pool, summed over its blocks (oa_vk_pool_get_stats). */
typedef struct oa_vk_pool_stats {
    uint64_t block_count;           /* ordinary blocks */
    uint64_t dedicated_count;       /* dedicated blocks */
    uint32_t memory_type_index;     /* the pool's first-choice memory type; UINT32_MAX when
                                       the caller provides the memory */
    oa_vk_memory_intent intent;     /* the pool's intent */
    uint32_t fallback_type_count;   /* memory types after the first a block may take */
    VkDeviceSize block_size;        /* the resolved block size */
    VkDeviceSize alignment;         /* alignment every range of this pool gets at least,
                                       and the granularity of range sizes */
    VkDeviceSize capacity;          /* sum of block sizes, dedicated included */
    VkDeviceSize used_size;         /* sum of used_size */
    VkDeviceSize free_size;         /* sum of free_size */
    VkDeviceSize largest_free_size; /* largest over blocks */
    VkDeviceSize pending_size;      /* bytes waiting in deferred frees */
    uint64_t pending_count;         /* ranges waiting in deferred frees */
    uint64_t allocation_count;      /* live + pending ranges */
    uint64_t free_region_count;     /* free regions over all blocks */
    double fragmentation;           /* 1 - largest_free_size / free_size over the pool */
} oa_vk_pool_stats;

/* Budget and usage of one memory heap (oa_vk_get_heap_stats). */
typedef struct oa_vk_heap_stats {
    VkDeviceSize size;         /* heap size */
    VkDeviceSize budget;       /* see oa_vk_manager_info.heap_budget */
    VkDeviceSize usage;        /* orderly's own share: bytes of device memory this manager
                                  holds in the heap */
    uint64_t allocation_count; /* VkDeviceMemory objects this manager holds in the heap */
    VkMemoryHeapFlags flags;   /* the heap's VkMemoryHeap.flags */
    bool is_rebar;             /* a ReBAR memory type lives here (oa_vk_rebar_types) */
    /* The whole process's usage of the heap (other allocators, images,
     * swapchains included), which is what the device's budget is compared
     * with: VK_EXT_memory_budget's heapUsage as last read, plus what orderly
     * allocated since, never below `usage`. Equals `usage` without
     * OA_VK_MANAGER_MEMORY_BUDGET. */
    VkDeviceSize process_usage;
} oa_vk_heap_stats;

/* Pool statistics, and statistics of the pool's block number `block_index`
 * (0 .. block_count + dedicated_count - 1, counting the blocks in use in the
 * order of their slots; a released block's slot is reused by the next new
 * block). On failure the output is zeroed.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL, block index out
 * of range), OA_VK_ERROR_STALE_HANDLE. Cost: O(blocks) / O(1). */
OA_API oa_vk_result oa_vk_pool_get_stats(oa_vk_manager* manager, oa_vk_pool pool,
                                         oa_vk_pool_stats* out_stats);
/* Statistics of the pool's block number `block_index`; see oa_vk_pool_get_stats
 * for the numbering, results and cost. */
OA_API oa_vk_result oa_vk_block_get_stats(oa_vk_manager* manager, oa_vk_pool pool,
                                          uint32_t block_index, oa_vk_block_stats* out_stats);

/* Per-heap budget, the process's usage and orderly's own share for heaps
 * 0 .. *out_heap_count - 1 (up to VK_MAX_MEMORY_HEAPS entries written to
 * out_heaps). With OA_VK_MANAGER_MEMORY_BUDGET budget and usage are re-read
 * from the device.
 * Returns OA_VK_SUCCESS or OA_VK_ERROR_INVALID_ARGUMENT. Cost: O(heaps). */
OA_API oa_vk_result oa_vk_get_heap_stats(oa_vk_manager* manager, oa_vk_heap_stats* out_heaps,
                                         uint32_t* out_heap_count);

/* Write a JSON description of the manager into `buffer` (snprintf-style):
 * at most buffer_size - 1 characters and a terminating NUL; *out_size gets
 * the full length without the NUL, so a caller can size the buffer with a
 * first call (buffer NULL, buffer_size 0). Layout:
 *   {"heaps":[{"index","size","budget","usage","process_usage","allocation_count",
 *              "is_rebar"}...],
 *    "pools":[{"id","name","usage","intent","memory_type_index","block_size",
 *              "alignment","flags","stats":{...oa_vk_pool_stats},
 *              "blocks":[{"index","is_dedicated","memory_type_index","capacity",
 *                         "used_size","free_size","largest_free_size",
 *                         "pending_size","allocation_count",
 *                         "free_region_count","fragmentation",
 *                         "regions":[{"offset","size","is_free"[,"range",
 *                                     "is_pending"][,"tag"]}...]}...]}...]}
 * Every statistics key is the name of the oa_vk_pool_stats,
 * oa_vk_block_stats or oa_vk_heap_stats field it comes from ("is_rebar",
 * "is_dedicated" and "memory_type_index" too).
 * Regions are in address order and tile the block; "range" is the handle id
 * of an allocated region, "is_pending" is true for a deferred free, "tag" the
 * range's tag (oa_vk_range_set_tag), written only when it is not 0. "name"
 * is the pool's name as copied (at most 63 bytes, cut at a UTF-8 character
 * boundary), escaped as JSON. Handle ids
 * ("id", "range") are strings "0x" + 16 hex digits, since JSON numbers are
 * doubles in most readers; "intent" is oa_vk_memory_intent_name's string;
 * every other value is a number or a boolean.
 * Returns OA_VK_SUCCESS, OA_VK_INCOMPLETE (truncated; *out_size tells the size
 * needed), OA_VK_ERROR_INVALID_ARGUMENT (NULL manager or out_size, NULL
 * buffer with buffer_size > 0). Cost: O(regions). */
OA_API OA_NODISCARD oa_vk_result oa_vk_dump_json(oa_vk_manager* manager, char* buffer,
                                                 size_t buffer_size, size_t* out_size);

/* ---- Staged uploads ------------------------------------------------------ */

/* A stager (opaque): a ring of host-visible staging memory and the copies
 * queued into it, recorded into a command buffer in one batch. Create it with
 * oa_vk_stager_create; queue with oa_vk_stager_upload, record with
 * oa_vk_stager_record, reuse the space with oa_vk_stager_collect. A stager
 * is never synchronised, whatever the manager's flags: one per thread, like
 * a command buffer. */
typedef struct oa_vk_stager oa_vk_stager;

/* Stager creation parameters. Zero means default for every optional field. */
typedef struct oa_vk_stager_info {
    VkDeviceSize ring_size;               /* bytes of host-visible staging memory; 0 -> 16 MiB */
    VkPipelineStageFlags2 dst_stage_mask; /* stages that read uploaded data after the copy
                                             (and may have read the bytes before it);
                                             0 -> VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT */
    VkAccessFlags2 dst_access_mask;       /* their accesses; 0 -> VK_ACCESS_2_MEMORY_READ_BIT */
    const char* name; /* debug name of the staging pool; NULL -> "orderly staging" */
} oa_vk_stager_info;

/* Create a stager: a staging pool of one block, managed as a ring by a core
 * allocator. Its memory is OA_VK_INTENT_STAGING's: coherent uncached host
 * memory where the device has it (never video memory while host memory
 * exists, ReBAR or not), else the next type of that intent's order (see
 * docs/memory-intents.md). Needs vkCmdPipelineBarrier2 (api_version 1.3 or
 * VK_KHR_synchronization2) or else vkCmdPipelineBarrier, to which the
 * synchronization2 masks of oa_vk_stager_info are mapped (each to a mask
 * that covers it); OA_VK_ERROR_FEATURE_NOT_ENABLED with neither. On failure
 * *out_stager = NULL.
 * Returns OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT,
 * OA_VK_ERROR_FEATURE_NOT_ENABLED, and the errors of oa_vk_pool_create and
 * oa_vk_alloc. Cost: one block allocation. */
OA_API OA_NODISCARD oa_vk_result oa_vk_stager_create(oa_vk_manager* manager,
                                                     const oa_vk_stager_info* info,
                                                     oa_vk_stager** out_stager);

/* Destroy a stager and its staging pool; the GPU must be done with every
 * recorded copy. NULL is a no-op. */
OA_API void oa_vk_stager_destroy(oa_vk_stager* stager);

/* Copy `size` bytes from `data` into staging memory now, and queue a copy to
 * [dst_offset, dst_offset + size) of range `dst` for the next
 * oa_vk_stager_record. The range's pool needs TRANSFER_DST usage; the range
 * must stay live until the copy completes (free it deferred). When the ring
 * cannot hold all of it, as much as fits is queued (in pieces if the free
 * space is split) and the result is OA_VK_INCOMPLETE: record, submit, wait,
 * collect, then call again for the rest (data + *out_queued_size).
 * *out_queued_size (may be NULL) gets the bytes queued.
 * Returns OA_VK_SUCCESS, OA_VK_INCOMPLETE, OA_VK_ERROR_INVALID_ARGUMENT (NULL,
 * size 0, outside the range, pool without TRANSFER_DST),
 * OA_VK_ERROR_STALE_HANDLE, OA_VK_ERROR_OUT_OF_HOST_MEMORY, OA_VK_ERROR_VULKAN
 * (flush failed). Cost: O(pieces x core alloc) plus the memcpy. */
OA_API OA_NODISCARD oa_vk_result oa_vk_stager_upload(oa_vk_stager* stager, oa_vk_range dst,
                                                     VkDeviceSize dst_offset, const void* data,
                                                     VkDeviceSize size,
                                                     VkDeviceSize* out_queued_size);

/* Record every queued copy into `cmd` (recording state): one barrier that
 * orders earlier reads of the destinations (dst_stage_mask) before the copies,
 * one vkCmdCopyBuffer per destination buffer, one barrier that makes the
 * copies visible to dst_stage_mask/dst_access_mask. Uploads to overlapping
 * bytes keep their order (the later one's bytes win): a copy that overlaps
 * an earlier one of its command starts a new vkCmdCopyBuffer after a
 * transfer-write barrier. The staging space of the batch is reused after
 * oa_vk_stager_collect(completed >= signal_value): pass the timeline value
 * (or frame number) the submit of `cmd` will signal.
 * Each copy goes where its range is now: a block grown by oa_vk_pool_grow
 * since the upload has a new buffer at the same offset, a range a compaction
 * pass moved since gets the copy at its new place. A copy whose range has
 * been freed since (not merely freed deferred) is dropped and its staging
 * space given back at once. Cost includes one O(1) lookup per copy, all
 * under one lock of the manager's mutex for the batch.
 * Nothing queued records nothing. Returns OA_VK_SUCCESS,
 * OA_VK_ERROR_INVALID_ARGUMENT or OA_VK_ERROR_OUT_OF_HOST_MEMORY (nothing
 * recorded, the copies stay queued). Cost: O(n log n) for n queued copies;
 * where copies to one buffer overlap, up to O(n^2) moves of 16 bytes for
 * that buffer's copies (none when their destinations ascend). */
OA_API OA_NODISCARD oa_vk_result oa_vk_stager_record(oa_vk_stager* stager, VkCommandBuffer cmd,
                                                     uint64_t signal_value);

/* Reuse the staging space of every batch recorded with signal_value <=
 * completed_value. Returns OA_VK_SUCCESS or OA_VK_ERROR_INVALID_ARGUMENT.
 * Cost: O(batches). */
OA_API oa_vk_result oa_vk_stager_collect(oa_vk_stager* stager, uint64_t completed_value);

/* Bytes of the ring free now (not queued, not waiting for the GPU); 0 for
 * NULL. Cost: O(log n). */
OA_API VkDeviceSize oa_vk_stager_free_size(const oa_vk_stager* stager);

/* ---- Compaction: a move plan ---------------------------------------------
 *
 * A pool whose blocks have fragmented (free bytes scattered in small holes
 * between live ranges) is compacted by moving live ranges toward the start
 * of their block, a bounded piece per pass, so that a renderer can spread the
 * work over frames. Handles stay valid across a move; only the range's
 * offset (and mapped pointer, device address) changes. A pass:
 *
 *  1. oa_vk_compact_begin plans the pass block by block with the core
 *     (oa_compact_begin) and lists its moves: (range, old buffer and offset,
 *     new buffer and offset, size). Nothing has moved yet. The caller may
 *     still end the pass with oa_vk_compact_abort.
 *  2. oa_vk_compact_record records the copies into the caller's command
 *     buffer, between two barriers, and tags the pass with the timeline value
 *     that command buffer's submission signals. From this call on, the
 *     range's descriptor (oa_vk_range_get_info, the walk, the stager's later
 *     records) reports the new place: commands recorded after it, submitted
 *     in recording order, see the moved bytes there. The caller patches its
 *     draw data (vertexOffset, firstIndex, indirect commands) from the list.
 *  3. oa_vk_collect(completed_value >= that value) ends the pass: the old
 *     bytes, still owned by their ranges until then (commands recorded
 *     earlier may read them), come back to the block's free space through
 *     the deferred-free path. Until then, a moved range cannot be freed at
 *     once (oa_vk_free refuses it), and oa_vk_free_deferred holds it until
 *     the pass's value as well.
 *
 * What moves: live ranges of ordinary blocks of a pool with TRANSFER_SRC and
 * TRANSFER_DST usage, each to an offset that keeps the alignment it was
 * allocated with: toward the start of its own block (the core's plan), or,
 * in a pool of several blocks, out of the block being evacuated (the
 * ordinary block after the first with the fewest used bytes, when the other
 * blocks' free bytes could hold them all) into a hole of another block that
 * holds ranges (best fit, blocks in slot order). Once empty, the evacuated
 * block is released by the usual hysteresis. While a pass is planned, a
 * destination in another block counts in that block's allocation_count. What
 * never moves: pinned ranges (oa_vk_range_set_pinned), ranges allocated with
 * an alignment above 16383 (the range record keeps 14 bits of it), ranges
 * waiting in a deferred free, dedicated blocks. Ring pools are refused.
 * Pools over caller-owned buffers (oa_vk_pool_add_buffer, block callbacks)
 * are compacted like the others: only bytes inside the caller's buffer move.
 * Uploads queued in a stager for a range that moves land at its new place
 * (the stager resolves the range when it records). Host access: after
 * record, the mapped pointer is the new place; read or write it on the host
 * only once the pass's value has completed.
 * One pass per pool is open at a time (from begin to the collect that ends
 * it, or to abort). Other calls on the pool go on as usual meanwhile: ranges
 * allocated during the pass never land on bytes the pass uses. */

/* Bounds of one pass (a NULL pointer or zero fields mean the defaults). */
typedef struct oa_vk_compact_limits {
    VkDeviceSize max_bytes; /* most bytes moved in the pass; 0 -> no limit */
    uint32_t max_moves;     /* most moves; 0 -> move_capacity */
} oa_vk_compact_limits;

/* One planned move: `size` bytes of `range` go from old_buffer at old_offset
 * to new_buffer at new_offset: the range's block buffer, or for a move into
 * another block, that block's. */
typedef struct oa_vk_compact_move {
    oa_vk_range range;       /* the range that moves; its handle stays valid */
    VkBuffer old_buffer;     /* its buffer before the pass */
    VkDeviceSize old_offset; /* where the range is before the pass */
    VkBuffer new_buffer;     /* its buffer after oa_vk_compact_record */
    VkDeviceSize new_offset; /* where it is after oa_vk_compact_record */
    VkDeviceSize size;       /* bytes copied: the range as held (rounding and margin included) */
} oa_vk_compact_move;

/* Figures of one pass (oa_vk_compact_begin, oa_vk_compact_get_stats). */
typedef struct oa_vk_compact_stats {
    uint32_t move_count;                   /* moves planned */
    uint32_t recorded_count;               /* moves copied by oa_vk_compact_record (a range freed
                                              between begin and record is skipped) */
    VkDeviceSize moved_size;               /* bytes the planned moves copy */
    VkDeviceSize free_size_before;         /* the pool's free bytes at begin */
    VkDeviceSize largest_free_size_before; /* the pool's largest free region at begin */
    VkDeviceSize largest_free_size_after;  /* the same once the pass ended; 0 before */
    double fragmentation_before; /* the pool's fragmentation (oa_vk_pool_stats) at begin */
    double fragmentation_after;  /* the same once the pass ended; 0 before */
    bool is_recorded;            /* oa_vk_compact_record was called */
    bool is_complete;            /* the pass ended: its value completed (or abort) */
    uint64_t value;              /* the timeline value given to oa_vk_compact_record */
} oa_vk_compact_stats;

/* Plan a compaction pass of `pool` and list its moves in `moves` (in the
 * order planned: per block, descending old offset, then the moves into
 * another block). Every destination is
 * reserved at once, so nothing allocated meanwhile lands on it.
 * When *out_count > 0 a pass is open: record it with oa_vk_compact_record
 * (or end it with oa_vk_compact_abort). When nothing the pass could do would
 * make a block's largest free region grow (the free space of every block is
 * one region already, or no live range before a hole can fill it, and no
 * block can be evacuated), it plans
 * nothing, opens no pass and returns OA_VK_NOT_NEEDED.
 * @param manager the manager (not NULL)
 * @param pool a pool with TRANSFER_SRC and TRANSFER_DST usage, not a ring pool
 * @param limits bounds of the pass; NULL means the defaults
 * @param moves receives the moves (not NULL)
 * @param move_capacity entries `moves` can hold, >= 1
 * @param out_count receives the number of moves (not NULL); 0 on failure
 * @param out_stats receives the pass's figures so far (may be NULL)
 * @return OA_VK_SUCCESS, OA_VK_NOT_NEEDED, OA_VK_ERROR_INVALID_ARGUMENT (NULL, move_capacity 0,
 *         a ring pool, usage without TRANSFER_SRC or TRANSFER_DST, a pass of this pool already
 *         open), OA_VK_ERROR_STALE_HANDLE (pool), OA_VK_ERROR_OUT_OF_HOST_MEMORY,
 *         OA_VK_ERROR_OUT_OF_METADATA (a block's fixed region budget: no move could be reserved).
 *         On failure nothing changed and no pass is open.
 * Cost: per block, that of oa_compact_begin (O(regions visited + moves log n)),
 * plus O(1) per move to find its range (the core allocation's user word is
 * the range's slot). Thread-safe (the manager's mutex). */
OA_API OA_NODISCARD oa_vk_result oa_vk_compact_begin(oa_vk_manager* manager, oa_vk_pool pool,
                                                     const oa_vk_compact_limits* limits,
                                                     oa_vk_compact_move* moves,
                                                     uint32_t move_capacity, uint32_t* out_count,
                                                     oa_vk_compact_stats* out_stats);

/* Record the open pass's copies into `cmd`: one memory barrier that makes
 * earlier writes of any stage to the sources available (the stager's copies,
 * shader writes) and waits for earlier reads and writes of the destinations
 * (vertex, index, indirect, shader reads in flight), one vkCmdCopyBuffer per
 * block (its regions never overlap one another, and no source overlaps a
 * destination), and one barrier that makes the copies' writes visible to
 * every later stage (vertex input, index and indirect reads, shader reads
 * and writes, transfers). vkCmdPipelineBarrier2 where the manager has it,
 * else vkCmdPipelineBarrier. The moved ranges report their new place from
 * now on; the pass ends at the first oa_vk_collect whose completed value is
 * >= `value`, which the caller makes the submission of `cmd` signal.
 * @param manager the manager (not NULL)
 * @param pool the pool whose pass oa_vk_compact_begin opened
 * @param cmd a command buffer in the recording state, on a queue with transfer support
 * @param value the timeline value (or frame number) `cmd`'s submission signals
 * @return OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager or cmd, no pass open or
 *         the pass already recorded), OA_VK_ERROR_STALE_HANDLE (pool),
 *         OA_VK_ERROR_FEATURE_NOT_ENABLED (neither barrier entry point),
 *         OA_VK_ERROR_OUT_OF_HOST_MEMORY (the copy regions; nothing recorded, the pass stays
 *         open). Cost: O(moves). Thread-safe (the manager's mutex); `cmd` is the caller's to
 *         synchronise. */
OA_API OA_NODISCARD oa_vk_result oa_vk_compact_record(oa_vk_manager* manager, oa_vk_pool pool,
                                                      VkCommandBuffer cmd, uint64_t value);

/* End a pass that oa_vk_compact_begin opened and that was not recorded:
 * every reservation is given back, no range moves. No pass open: a no-op.
 * @param manager the manager (not NULL)
 * @param pool the pool
 * @return OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager, the pass is recorded: it
 *         ends at oa_vk_collect), OA_VK_ERROR_STALE_HANDLE (pool). Cost: O(moves log n). */
OA_API oa_vk_result oa_vk_compact_abort(oa_vk_manager* manager, oa_vk_pool pool);

/* The figures of the pool's latest pass (zeroed when it had none).
 * @param manager the manager (not NULL)
 * @param pool the pool
 * @param out_stats receives the figures (not NULL); zeroed on failure
 * @return OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT, OA_VK_ERROR_STALE_HANDLE. Cost: O(1). */
OA_API oa_vk_result oa_vk_compact_get_stats(oa_vk_manager* manager, oa_vk_pool pool,
                                            oa_vk_compact_stats* out_stats);

/* Pin a live range (it never moves in a compaction pass) or unpin it. A new
 * range is unpinned. Pinning a range that a recorded pass moves does not
 * undo the move.
 * @param manager the manager (not NULL)
 * @param range a live range
 * @param is_pinned true to pin, false to unpin
 * @return OA_VK_SUCCESS, OA_VK_ERROR_INVALID_ARGUMENT (NULL manager),
 *         OA_VK_ERROR_STALE_HANDLE. Cost: O(1). */
OA_API oa_vk_result oa_vk_range_set_pinned(oa_vk_manager* manager, oa_vk_range range,
                                           bool is_pinned);

#ifdef __cplusplus
}
#endif

#endif /* ORDERLY_VK_H */
