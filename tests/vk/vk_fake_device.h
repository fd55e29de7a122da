/* vk_fake_device.h - the one fake Vulkan device of the tests, the fuzz
 * target and the stager benchmark: no GPU, no loader. A vkGetInstanceProcAddr
 * / vkGetDeviceProcAddr pair hands out fakes of the entry points the manager
 * loads, over a device the caller describes in `fake` (memory heaps and
 * types, limits, maxBufferSize, maxMemoryAllocationSize, budgets).
 *
 * Memory is real host memory (calloc'd per VkDeviceMemory), buffers know
 * their memory and bind offset, and vkCmdCopyBuffer copies at once, its
 * regions in reverse order (the specification orders them not at all), so a
 * caller can read what a range holds (fake_buffer_bytes). Every call is
 * checked: sizes of 0 or above a limit, binds twice, misaligned or past the
 * memory, maps twice or of memory that is not host-visible, flushes not in
 * whole atoms, copies out of their buffers. An invalid call counts in
 * fake.illegal_calls (the first one's reason in fake.why); one with an
 * illegal size is refused as well. A copy that writes bytes an earlier copy
 * wrote with no barrier between counts in fake.write_hazards, overlapping
 * regions of one copy in fake.unordered_overlaps.
 *
 * Failures: a VkResult per kind of call returned every time (fake.result), a
 * one-shot failure N calls from now (fake.fail_in / fake.fail_with), memory
 * types whose allocations fail (fake.fail_types), a cap on all memory
 * (fake.memory_cap), and an entry point the device pretends not to have
 * (fake.missing; either barrier entry point through fake.no_barrier2 and
 * fake.no_barrier1). Refused calls count in fake.refusals.
 *
 * One device per process (the state is the global `fake`); not thread-safe.
 * Entry-point names are compared without strcmp, which libFuzzer hooks. */
#ifndef VK_FAKE_DEVICE_H
#define VK_FAKE_DEVICE_H

#include <orderly/orderly_vk.h>

#include <stdbool.h>
#include <stdint.h>

/* The calls whose results can be scripted. Flush and invalidate are one. */
typedef enum fake_call {
    FAKE_CREATE_BUFFER,
    FAKE_ALLOCATE,
    FAKE_BIND,
    FAKE_MAP,
    FAKE_SYNC, /* vkFlushMappedMemoryRanges and vkInvalidateMappedMemoryRanges */
    FAKE_CALL_COUNT
} fake_call;

typedef struct fake_device {
    /* ---- what the device reports; set after fake_reset*, before a manager */
    VkPhysicalDeviceMemoryProperties memory;
    VkPhysicalDeviceLimits limits;
    VkDeviceSize max_allocation_size, max_buffer_size;
    VkDeviceSize requirement_alignment; /* memory size = buffer size rounded up to it */
    uint32_t type_bits;                 /* VkMemoryRequirements.memoryTypeBits */
    /* VK_EXT_memory_budget: heapBudget as given; heapUsage as given, plus the
     * bytes of every live VkDeviceMemory when usage_counts_live. */
    VkDeviceSize budget[VK_MAX_MEMORY_HEAPS], usage[VK_MAX_MEMORY_HEAPS];
    bool usage_counts_live;
    bool bind_at_zero; /* a bind at a non-zero offset is an illegal call */
    bool count_only;   /* copies and barriers are only counted (benchmarks) */

    /* ---- failures ---- */
    VkResult result[FAKE_CALL_COUNT];    /* returned by every such call; 0 = succeed */
    uint32_t fail_in[FAKE_CALL_COUNT];   /* that call fails this many calls from now; 0 = never */
    VkResult fail_with[FAKE_CALL_COUNT]; /* ... with this result */
    uint32_t fail_types;                 /* bit mask of memory types whose allocations fail */
    VkDeviceSize memory_cap;             /* refuse memory beyond this many bytes in all; 0 = none */
    const char* missing;                 /* an entry point the device does not have */
    bool no_barrier2;                    /* no vkCmdPipelineBarrier2 (nor its KHR name) */
    bool no_barrier1;                    /* no vkCmdPipelineBarrier */

    /* ---- what happened ---- */
    uint32_t calls[FAKE_CALL_COUNT]; /* flush and invalidate counted apart below */
    uint64_t refusals;               /* calls answered with an error */
    int live_buffers, live_memories, mapped;
    uint64_t memory_bytes; /* of every live VkDeviceMemory */
    VkDeviceSize last_buffer_size, last_allocation_size;
    uint32_t last_type; /* memoryTypeIndex of the last vkAllocateMemory */
    VkMappedMemoryRange last_sync;
    uint64_t flushes, invalidates;
    int budget_queries;
    int copy_commands, barriers, write_hazards, unordered_overlaps;
    int barriers1; /* of `barriers`, those through vkCmdPipelineBarrier */
    int illegal_calls;
    char why[200]; /* the first illegal call */
    /* Destination bytes written since the last barrier (first 256 copies). */
    struct {
        VkBuffer buffer;
        VkDeviceSize begin, end;
    } written[256];
    int written_count;
} fake_device;

extern fake_device fake;

/* A discrete GPU: video memory (8 GiB, types 0 and 4), system memory (16 GiB:
 * coherent type 1, cached non-coherent type 2), a 256 MiB BAR window (type 3,
 * device-local and host-visible); maxBufferSize 1 GiB, maxMemoryAllocation-
 * Size 4 GiB, offsets 256/32/16, atom 128, memory alignment 64; every count
 * and result zero. Frees nothing a test left: destroy managers first. */
void fake_reset(void);

/* One heap of 1 GiB with one device-local, host-visible type (coherent or
 * cached non-coherent), maxBufferSize and maxMemoryAllocationSize 1 MiB,
 * offsets 256/16/16, atom 128, memory alignment 64, binds only at offset 0,
 * the budget the whole heap. */
void fake_reset_single_type(bool coherent);

PFN_vkVoidFunction VKAPI_CALL fake_get_instance_proc_addr(VkInstance instance, const char* name);

/* The manager info for the fake device, Vulkan 1.3, `flags`, no log. */
oa_vk_manager_info fake_manager_info(uint32_t flags);
/* A manager over the fake device, or NULL. */
oa_vk_manager* fake_manager(uint32_t flags);
/* A command buffer handle the fake's commands accept. */
VkCommandBuffer fake_command_buffer(void);

/* A VkDeviceMemory and a VkBuffer of the fake: the handle is the address. */
typedef struct fake_memory {
    VkDeviceSize size;
    uint32_t type;
    bool mapped;
    uint8_t* bytes; /* the memory's contents, `size` bytes */
} fake_memory;

typedef struct fake_buffer {
    VkDeviceSize size;
    fake_memory* memory; /* NULL until bound */
    VkDeviceSize bind_offset;
} fake_buffer;

/* The fake's record of `buffer` (a handle it created). */
fake_buffer* fake_buffer_of(VkBuffer buffer);
/* The bytes of `buffer` at `offset`, through its binding; NULL if unbound. */
uint8_t* fake_buffer_bytes(VkBuffer buffer, VkDeviceSize offset);

#endif /* VK_FAKE_DEVICE_H */
