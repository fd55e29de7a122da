/* oa_vk_internal.h - declarations shared by the Vulkan manager's sources.
 * Owns the layout of the manager, pool, block and range records; the public
 * API lives in orderly_vk.h. Invariant: every oa__vk_* function below that
 * takes a manager expects its mutex (if any) to be held by the caller. */
#ifndef OA_VK_INTERNAL_H
#define OA_VK_INTERNAL_H

#include <orderly/orderly_vk.h>

#include <assert.h>
#include <stdarg.h>
#include <string.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
typedef SRWLOCK oa__vk_mutex;
#else
#include <pthread.h>
typedef pthread_mutex_t oa__vk_mutex;
#endif

#ifndef OA_ASSERT
#define OA_ASSERT(x) assert(x)
#endif

#define OA__VK_NAME_MAX 64u
#define OA__VK_DEFAULT_BLOCK_SIZE (64ull << 20)
#define OA__VK_DEFAULT_RELEASE_DELAY 3u
#define OA__VK_MAX_ALIGNMENT (1ull << 32)
#define OA__VK_NO_SLOT UINT32_MAX /* end of a free list */

/* One VkDeviceMemory + one VkBuffer bound at offset 0. */
typedef struct oa__vk_block {
    VkDeviceMemory memory;
    VkBuffer buffer;
    VkDeviceSize size;        /* bytes the allocator manages (the pool's block size) */
    VkDeviceSize memory_size; /* allocationSize, >= size */
    oa_allocator* allocator;  /* NULL for a dedicated block */
    uint8_t* mapped;          /* NULL unless the pool is mapped */
    VkDeviceAddress address;  /* 0 without device address */
    uint32_t memory_type_index;
    uint32_t heap_index;
    VkDeviceSize pending_size;
    uint64_t range_count; /* live + pending ranges in the block */
    uint64_t empty_since; /* collect epoch when range_count last became 0 */
    bool in_use;
    bool is_dedicated;
    /* external.c: a block orderly did not allocate (a caller-owned buffer, or
     * one of the pool's block callbacks), its coherency, and where its buffer
     * sits in its memory (0 for orderly's own blocks). */
    bool is_external;
    bool is_caller_owned; /* oa_vk_pool_add_buffer: never released before the pool */
    bool non_coherent;    /* flush and invalidate call Vulkan */
    VkDeviceSize memory_offset;
    oa_vk_external_buffer external; /* what the caller or the callback gave */
    /* ring.c: the ring of a ring pool's block (no allocator then). */
    bool is_ring;
    VkDeviceSize ring_head, ring_tail, ring_wrap_end, ring_frame_start;
    uint32_t ring_lap, ring_tail_lap, ring_frame_lap;
    uint64_t ring_frame_count; /* ranges since the last end_frame */
    /* record.c: the context the block's allocator records through; NULL
     * unless the pool records. */
    struct oa__vk_recorder* recorder;
} oa__vk_block;

/* ring.c: one block's share of one frame, waiting for its value. */
typedef struct oa__vk_ring_mark {
    uint64_t value;
    VkDeviceSize head; /* the block's head at end_frame: the tail once released */
    uint64_t count;    /* ranges of the frame in the block */
    uint32_t lap;
    uint32_t block_slot;
} oa__vk_ring_mark;

typedef struct oa__vk_ring_region {
    VkDeviceSize offset, size;
    bool is_free;
} oa__vk_ring_region;

typedef struct oa__vk_pool {
    uint32_t generation;
    uint32_t first_generation; /* the slot's first; coming back to it retires the slot */
    uint32_t next_free;        /* free-list link when !in_use */
    bool in_use;
    bool is_retired;   /* !in_use for good: its generations are spent (never reused) */
    bool non_coherent; /* host-visible and (not coherent or ASSUME_NON_COHERENT) */
    bool mapped;
    uint32_t flags;
    VkBufferUsageFlags usage; /* with SHADER_DEVICE_ADDRESS added if asked */
    VkMemoryPropertyFlags required_flags, preferred_flags;
    uint32_t memory_type_index; /* first choice; a block may fall back to another type */
    uint32_t type_bits;
    oa_vk_memory_intent intent;
    /* The types a block may take, best first (oa_vk_pool_memory_types). */
    uint8_t type_order[VK_MAX_MEMORY_TYPES];
    uint32_t type_order_count;
    VkDeviceSize block_size;
    VkDeviceSize alignment; /* oa_vk_range_alignment of usage, index size, atom; also
                               the granularity of every block's allocator */
    /* The last caller alignment and its lcm with `alignment`: a pool mostly
     * sees one stride, and the lcm costs several divisions. 0 = none yet. */
    VkDeviceSize last_align, last_alignment;
    uint32_t max_block_count;
    oa__vk_block* blocks;
    uint32_t block_slots; /* slots in use or holes */
    uint32_t block_capacity;
    uint32_t ordinary_count, dedicated_count;
    uint64_t range_count; /* live + pending */
    uint64_t pending_count;
    char name[OA__VK_NAME_MAX];
    bool is_external;                      /* OA_VK_POOL_EXTERNAL */
    oa_vk_block_callbacks block_callbacks; /* create NULL -> orderly's own blocks */
    oa_vk_record_fn record;                /* record.c: NULL -> the pool does not record */
    void* record_user;
    /* ring.c (OA_VK_POOL_RING): the block carving now, the last frame's
     * value, and the FIFO of frame marks. */
    bool is_ring;
    uint32_t ring_block;
    uint64_t ring_last_value;
    uint32_t ring_mark_first, ring_mark_count;
    oa__vk_ring_mark ring_marks[OA_VK_RING_MAX_MARKS];
    struct oa__vk_compact_pass* compact; /* compact.c: NULL until the first pass */
} oa__vk_pool;

enum { OA__VK_RANGE_FREE = 0, OA__VK_RANGE_LIVE = 1, OA__VK_RANGE_PENDING = 2 };

typedef struct oa__vk_range_entry {
    uint32_t generation;
    uint32_t first_generation; /* the slot's first; coming back to it retires the slot */
    uint32_t pool_slot;        /* free-list link when free */
    uint32_t block_slot;
    uint8_t state;
    bool is_retired;         /* FREE for good: its generations are spent (never reused) */
    uint16_t move_bits;      /* compact.c: OA__VK_MOVE_* (in the record's padding) */
    uint32_t tag;            /* the caller's tag, 0 = none */
    oa_allocation core;      /* id 0 in a dedicated block */
    VkDeviceSize offset;     /* in the block's buffer */
    VkDeviceSize size;       /* asked for */
    VkDeviceSize alloc_size; /* held in the block (size rounded for non-coherent memory) */
} oa__vk_range_entry;
/* orderly_vk.h states what a retired slot keeps: one record of 56 bytes. */
_Static_assert(sizeof(oa__vk_range_entry) <= 56, "a range record stays within 56 bytes");

/* grow.c: a grown block's previous buffer and memory, alive until `value`. */
typedef struct oa__vk_retired {
    oa__vk_block storage; /* buffer, memory, mapping and accounting; no allocator */
    uint64_t value;
} oa__vk_retired;

typedef struct oa__vk_deferred {
    uint32_t range_slot;
    uint64_t value;
} oa__vk_deferred;

struct oa_vk_manager {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    uint32_t api_version;
    uint32_t flags;
    uint32_t release_delay;
    const VkAllocationCallbacks* vk_callbacks;
    oa_alloc_callbacks callbacks;
    oa_vk_log_fn log;
    void* log_user;
    oa_vk_device_memory_callbacks memory_callbacks;

    oa_vk_functions vk; /* the private device table (functions.c) */
    PFN_vkGetPhysicalDeviceProperties2 get_properties2;
    PFN_vkGetPhysicalDeviceMemoryProperties2 get_memory_properties2;
    PFN_vkSetDebugUtilsObjectNameEXT set_object_name;
    PFN_vkCmdPipelineBarrier2 cmd_pipeline_barrier2;
    PFN_vkGetBufferDeviceAddress get_buffer_device_address;

    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory_properties;
    VkDeviceSize max_allocation_size;
    VkDeviceSize max_buffer_size;
    uint32_t allocation_count; /* live VkDeviceMemory objects */
    VkResult last_vk_result;   /* of the last failed Vulkan call (oa_vk_last_vk_result) */
    VkDeviceSize caller_budget[VK_MAX_MEMORY_HEAPS];
    VkDeviceSize heap_budget[VK_MAX_MEMORY_HEAPS];      /* min(device_budget, caller_budget) */
    VkDeviceSize device_budget[VK_MAX_MEMORY_HEAPS];    /* heapBudget, or 80% of the heap */
    VkDeviceSize heap_usage[VK_MAX_MEMORY_HEAPS];       /* orderly's own blocks */
    VkDeviceSize process_usage[VK_MAX_MEMORY_HEAPS];    /* heapUsage at the last refresh; 0
                                                           without VK_EXT_memory_budget */
    VkDeviceSize usage_at_refresh[VK_MAX_MEMORY_HEAPS]; /* heap_usage at that refresh */
    uint32_t heap_allocation_count[VK_MAX_MEMORY_HEAPS];

    oa__vk_pool* pools;
    uint32_t pool_slots, pool_capacity, pool_free;
    oa__vk_range_entry* ranges;
    uint32_t range_slots, range_capacity, range_free;
    oa__vk_deferred* deferred;
    uint32_t deferred_count, deferred_capacity;
    uint64_t collect_epoch;
    oa__vk_retired* retired; /* grow.c */
    uint32_t retired_count, retired_capacity;
    uint32_t generation_seed; /* first generation of every new slot (odd) */

    bool thread_safe;
    oa__vk_mutex mutex;
};

/* barrier.c: one global memory barrier (synchronization2 masks), through
 * vkCmdPipelineBarrier2 or else vkCmdPipelineBarrier; calls no other file. */
bool oa__vk_has_barrier(const oa_vk_manager* m);
void oa__vk_cmd_barrier(const oa_vk_manager* m, VkCommandBuffer cmd,
                        VkPipelineStageFlags2 src_stages, VkAccessFlags2 src_access,
                        VkPipelineStageFlags2 dst_stages, VkAccessFlags2 dst_access);

/* support.c: shared by every file, calls none of them. */
void oa__vk_lock(oa_vk_manager* m);
void oa__vk_unlock(oa_vk_manager* m);
void* oa__vk_host_alloc(const oa_alloc_callbacks* cb, size_t size);
void oa__vk_host_free(const oa_alloc_callbacks* cb, void* ptr, size_t size);
/* Grow *array (element size elem) to hold at least `needed` elements. */
oa_vk_result oa__vk_grow(const oa_alloc_callbacks* cb, void** array, uint32_t* capacity,
                         size_t elem, uint32_t needed);
oa_vk_result oa__vk_fail(const oa_vk_manager* m, oa_vk_result r, const char* fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The oa_vk_result of a VkResult; a failure is kept as m->last_vk_result. */
oa_vk_result oa__vk_from_vk(oa_vk_manager* m, VkResult vr);
oa_vk_result oa__vk_from_core(oa_result r);

/* budget.c */
/* Re-read VK_EXT_memory_budget (when enabled) and recompute the budgets. */
void oa__vk_refresh_budget(oa_vk_manager* m);
/* The whole process's usage of a heap: heapUsage as last read plus what
 * orderly allocated since (its own usage without the extension). */
VkDeviceSize oa__vk_process_usage(const oa_vk_manager* m, uint32_t heap);
/* Whether `size` more bytes in `heap` stay within the device's budget (for
 * the whole process) and the caller's budget (for orderly's own share). */
bool oa__vk_heap_has_room(const oa_vk_manager* m, uint32_t heap, VkDeviceSize size);

/* functions.c: fill m->vk from `given` (may be NULL) and gdpa (may be NULL
 * when `given` holds every entry point); logs the first required one missing. */
oa_vk_result oa__vk_load_functions(oa_vk_manager* m, PFN_vkGetDeviceProcAddr gdpa,
                                   const oa_vk_functions* given);

/* record.c: a pool's recorder, one context per block. Begin when block
 * `slot` has its core allocator (a no-op unless the pool records; fails
 * only for host memory, changing nothing); end before the allocator goes. */
oa_vk_result oa__vk_block_record_begin(oa_vk_manager* m, const oa__vk_pool* p, uint32_t slot,
                                       oa__vk_block* b);
void oa__vk_block_record_end(oa__vk_block* b);

/* external.c: pools whose blocks orderly does not allocate. */
/* Whether `info` asks for such a pool (OA_VK_POOL_EXTERNAL or callbacks). */
bool oa__vk_pool_info_is_external(const oa_vk_pool_info* info);
/* Fill what oa_vk_pool_create's memory probe would for such a pool. */
oa_vk_result oa__vk_external_pool_setup(oa_vk_manager* m, const oa_vk_pool_info* info,
                                        oa__vk_pool* p);
/* A block through the pool's create callback (block.c's entry for them). */
oa_vk_result oa__vk_block_create_by_callback(oa_vk_manager* m, oa__vk_pool* p, VkDeviceSize size,
                                             bool dedicated, uint32_t* out_slot);
/* Release an external block: the destroy callback, or nothing for a
 * caller-owned buffer. Leaves the record zeroed. */
void oa__vk_external_release(const oa__vk_pool* p, oa__vk_block* b);
/* The VkMappedMemoryRange of [offset, offset + size) of block `b`'s buffer,
 * widened to nonCoherentAtomSize within its memory. */
VkMappedMemoryRange oa__vk_block_mapped_range(const oa_vk_manager* m, const oa__vk_block* b,
                                              VkDeviceSize offset, VkDeviceSize size);

/* ring.c */
/* Release the frames of a ring pool whose value completed; returns the
 * number of ranges released. */
uint32_t oa__vk_ring_collect(oa_vk_manager* m, oa__vk_pool* p, uint64_t completed_value);
/* A ring block's regions in address order (at most 4). */
uint32_t oa__vk_ring_regions(const oa__vk_block* b, oa__vk_ring_region out[4]);
/* Fill the used/free part of a ring block's stats (the rest is set). */
void oa__vk_ring_block_stats(const oa__vk_block* b, oa_vk_block_stats* out);

/* block.c */
oa_vk_result oa__vk_block_create(oa_vk_manager* m, oa__vk_pool* p, VkDeviceSize size,
                                 bool dedicated, uint32_t* out_slot);
void oa__vk_block_destroy(oa_vk_manager* m, oa__vk_pool* p, uint32_t slot);
/* The Vulkan part of a block: buffer, memory (from the pool's types, within
 * the count limit and the heap budget), binding, mapping and address; no
 * allocator, no slot. On failure *b is zeroed and nothing is kept. */
oa_vk_result oa__vk_block_storage_create(oa_vk_manager* m, const oa__vk_pool* p, VkDeviceSize size,
                                         bool dedicated, oa__vk_block* b);
/* Release whatever of `b` exists (allocator, mapping, buffer, memory and
 * their accounting), then zero it. */
void oa__vk_block_release(oa_vk_manager* m, oa__vk_block* b);
/* Debug names of the block's buffer and memory (VK_EXT_debug_utils). */
void oa__vk_block_set_names(const oa_vk_manager* m, const oa__vk_pool* p, const oa__vk_block* b,
                            uint32_t slot);

/* grow.c: the old storage of grown blocks, released once its value completes. */
/* Release the storage retired with a value <= completed_value. */
void oa__vk_grow_collect(oa_vk_manager* m, uint64_t completed_value);
/* Release all of it (manager destroy) and the list. */
void oa__vk_grow_release_all(oa_vk_manager* m);

/* memtype.c: lcm(a, b), or 0 when an input is 0 or the result passes
 * OA__VK_MAX_ALIGNMENT. */
VkDeviceSize oa__vk_lcm(VkDeviceSize a, VkDeviceSize b);
/* Whether a ReBAR type (oa_vk_rebar_types) lives in heap `heap`. */
bool oa__vk_heap_is_rebar(const VkPhysicalDeviceMemoryProperties* p, uint32_t heap);
/* Whether the intent maps its pool's blocks. */
bool oa__vk_intent_is_mapped(oa_vk_memory_intent intent);
/* oa_vk_pool_memory_types without the NULL checks; *out_why says what failed
 * (NULL on success). */
oa_vk_result oa__vk_memory_order(const VkPhysicalDeviceMemoryProperties* p, uint32_t type_bits,
                                 const oa_vk_pool_info* info, uint32_t* out_types,
                                 uint32_t* out_count, const char** out_why);

/* pool.c */
/* The generation after `g` (0 is skipped: id 0 is never valid). A slot whose
 * next generation would be its first again has handed out all 2^32 - 1 of
 * them and is retired instead of reused, so that no old handle ever matches. */
static inline uint32_t oa__vk_next_generation(uint32_t g) {
    return g + 1 == 0 ? 1 : g + 1;
}
/* Test hook, not in the public header: sets the generation of a free pool
 * slot (is_pool) or range slot, as if the slot had been reused that many
 * times, so that tests reach the end of a slot's generations in a few
 * calls. Returns OA_VK_ERROR_INVALID_ARGUMENT unless `slot` exists, is free
 * and not retired, and `generation` is not 0. */
OA_API oa_vk_result oa__vk_debug_set_generation(oa_vk_manager* m, bool is_pool, uint32_t slot,
                                                uint32_t generation);
void oa__vk_pool_release_blocks(oa_vk_manager* m, oa__vk_pool* p, bool all_empty);

/* handles.c */
/* The handle of a pool record. */
oa_vk_pool oa__vk_pool_handle(const oa_vk_manager* m, const oa__vk_pool* p);
/* The pool of a handle, or NULL (logged as a stale pool of `caller`). */
oa__vk_pool* oa__vk_pool_lookup(oa_vk_manager* m, oa_vk_pool pool, const char* caller);
/* The range record of a handle in `state`, or NULL. */
oa__vk_range_entry* oa__vk_range_lookup(oa_vk_manager* m, oa_vk_range h, uint32_t state);
/* The descriptor of the range record in `slot`. */
void oa__vk_range_fill(const oa_vk_manager* m, const oa__vk_range_entry* e, uint32_t slot,
                       oa_vk_range_info* out);

/* margin.c: corruption-detection margins (no-ops for pools without
 * OA_VK_POOL_CORRUPTION_CHECK). _intact logs the range's offset when not. */
void oa__vk_margin_fill(const oa_vk_manager* m, const oa__vk_range_entry* e);
bool oa__vk_margin_intact(const oa_vk_manager* m, const oa__vk_range_entry* e, const char* what);

/* compact.c: compaction passes, one per pool (oa_vk_compact_*).
 * move_bits of a range: the alignment it was allocated with (0 when above
 * OA__VK_MOVE_ALIGN_MASK: it never moves), whether the caller pinned it, and
 * whether a recorded pass moved it and waits for its value (the old bytes
 * are still the range's: it cannot be released until the pass ends). */
#define OA__VK_MOVE_ALIGN_MASK 0x3FFFu
#define OA__VK_MOVE_IN_FLIGHT 0x4000u
#define OA__VK_MOVE_PINNED 0x8000u
static inline uint16_t oa__vk_move_bits(VkDeviceSize align) {
    return align <= OA__VK_MOVE_ALIGN_MASK ? (uint16_t)align : 0;
}
/* Whether a recorded pass moved the range and has not ended. */
static inline bool oa__vk_compact_holds(const oa__vk_range_entry* e) {
    return (e->move_bits & OA__VK_MOVE_IN_FLIGHT) != 0;
}
/* Whether an ordinary block may be released: no range, and no compaction
 * pass holding reservations in its allocator. */
static inline bool oa__vk_block_is_idle(const oa__vk_block* b) {
    return b->range_count == 0 && (b->allocator == NULL || !oa_compact_is_open(b->allocator));
}
/* End every recorded pass whose value is <= completed_value (oa_vk_collect,
 * before it frees deferred ranges). */
void oa__vk_compact_collect(oa_vk_manager* m, uint64_t completed_value);
/* A pass is planned (begun, not recorded) / recorded and not yet ended. */
bool oa__vk_compact_is_planned(const oa__vk_pool* p);
bool oa__vk_compact_is_recorded(const oa__vk_pool* p);
/* Abort the pool's pass, if any, and free its record (oa_vk_pool_destroy). */
void oa__vk_compact_drop(oa_vk_manager* m, oa__vk_pool* p);

/* stats.c */
void oa__vk_block_stats(const oa__vk_block* b, oa_vk_block_stats* out);
void oa__vk_pool_stats(const oa__vk_pool* p, oa_vk_pool_stats* out);

static inline uint64_t oa__vk_handle_id(uint32_t slot, uint32_t generation) {
    return ((uint64_t)generation << 32) | slot;
}

static inline VkDeviceSize oa__vk_gcd(VkDeviceSize a, VkDeviceSize b) {
    while (b != 0) {
        VkDeviceSize t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static inline VkDeviceSize oa__vk_align_down(VkDeviceSize v, VkDeviceSize a) {
    return v - v % a;
}

/* Round up; the caller has checked that v + a - 1 does not overflow. */
static inline VkDeviceSize oa__vk_align_up(VkDeviceSize v, VkDeviceSize a) {
    return oa__vk_align_down(v + a - 1, a);
}

#endif /* OA_VK_INTERNAL_H */
