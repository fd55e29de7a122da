/* region.c - the allocator object and its region table.
 * Creates and destroys allocators in the three memory modes, hands out and
 * takes back slots of the table, grows the table in growable mode, and names
 * results. Does not place or merge regions (alloc.c does).
 * Invariant: slots [1, slot_count) are used, free or on the unused list;
 * slots at or above slot_count have never been touched since the last reset. */
#include "oa_internal.h"

#include <stdlib.h>
#include <string.h>

#define OA__DEFAULT_INITIAL_REGIONS 1024u
#define OA__TABLE_ALIGN 16u

const char* oa_result_name(oa_result result) {
    switch (result) {
#define OA__RESULT_CASE(name, value)                                                               \
    case name:                                                                                     \
        return #name;
        OA_RESULT_LIST(OA__RESULT_CASE)
#undef OA__RESULT_CASE
    default:
        return "OA_UNKNOWN_RESULT";
    }
}

oa_result oa__fail(const oa_allocator* a, oa_result result, const char* message) {
    if (a != NULL && a->log != NULL) {
        a->log(a->log_user, result, message);
    }
    return result;
}

static void* oa__host_alloc(const oa_alloc_callbacks* cb, size_t size) {
    if (cb->alloc != NULL) {
        return cb->alloc(cb->user, size, OA__TABLE_ALIGN);
    }
    return malloc(size);
}

static void oa__host_free(const oa_alloc_callbacks* cb, void* ptr, size_t size) {
    if (ptr == NULL) {
        return;
    }
    if (cb->free != NULL) {
        cb->free(cb->user, ptr, size);
    } else {
        free(ptr);
    }
}

static size_t oa__self_size(void) {
    return (sizeof(oa_allocator) + OA__TABLE_ALIGN - 1) & ~(size_t)(OA__TABLE_ALIGN - 1);
}

size_t oa_allocator_memory_size(uint32_t max_regions) {
    if (max_regions == 0 || max_regions > OA_MAX_REGIONS) {
        return 0;
    }
    /* +1 for the NIL sentinel. */
    uint64_t bytes = (uint64_t)oa__self_size() + ((uint64_t)max_regions + 1) * sizeof(oa__region);
    if (bytes > SIZE_MAX) {
        return 0;
    }
    return (size_t)bytes;
}

oa_allocator_info oa_allocator_info_resolved(const oa_allocator_info* info) {
    oa_allocator_info r;
    memset(&r, 0, sizeof r);
    if (info != NULL) {
        r = *info;
    }
    if (r.max_regions == 0 && r.memory == NULL && r.initial_regions == 0) {
        r.initial_regions = OA__DEFAULT_INITIAL_REGIONS;
    }
    return r;
}

/* Put the pool back to one free region [0, capacity) in slot 1. */
static void oa__init_regions(oa_allocator* a) {
    memset(&a->regions[0], 0, sizeof(oa__region));
    a->slot_count = 2;
    a->unused_head = OA__NIL;
    a->unused_count = 0;
    oa__bins_clear(a);
    oa__region* r = &a->regions[1];
    r->offset = 0;
    r->size = a->capacity;
    r->prev = OA__NIL;
    r->next = OA__NIL;
    r->left = OA__NIL;
    r->right = OA__NIL;
    a->head = 1;
    a->tail = 1;
    a->total_free = a->capacity;
    a->allocation_count = 0;
    a->free_count = 1;
    oa__index_insert(a, 1);
}

/* A per-allocator starting generation, so that handles of two allocators
 * rarely coincide. Mixes the object's address and capacity (no global state). */
static uint32_t oa__first_generation(const oa_allocator* a) {
    uint64_t x = (uint64_t)(uintptr_t)a ^ (a->capacity * 0x9E3779B97F4A7C15ull);
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    x ^= x >> 33;
    uint32_t g = (uint32_t)x;
    return g == 0 ? 1 : g;
}

oa_result oa_allocator_create(const oa_allocator_info* info, oa_allocator** out) {
    if (out == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (info == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    oa_allocator_info ri = oa_allocator_info_resolved(info);
    oa_allocator probe; /* only for logging before the object exists */
    memset(&probe, 0, sizeof probe);
    probe.log = ri.log;
    probe.log_user = ri.log_user;
    if (ri.capacity == 0) {
        return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT, "capacity must be at least 1");
    }
    if (ri.max_regions > OA_MAX_REGIONS || ri.initial_regions > OA_MAX_REGIONS) {
        return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT,
                        "max_regions or initial_regions above OA_MAX_REGIONS");
    }
    if ((ri.callbacks.alloc == NULL) != (ri.callbacks.free == NULL)) {
        return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT,
                        "callbacks.alloc and callbacks.free must be given together");
    }
    oa_allocator* a;
    oa__region* table;
    uint32_t records; /* sentinel included */
    bool owns_self, owns_table;
    if (ri.memory != NULL) {
        if (ri.max_regions == 0) {
            return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT, "memory needs max_regions > 0");
        }
        size_t need = oa_allocator_memory_size(ri.max_regions);
        if (need == 0 || ri.memory_size < need) {
            return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT,
                            "memory_size is below oa_allocator_memory_size(max_regions)");
        }
        if (((uintptr_t)ri.memory & (OA__TABLE_ALIGN - 1)) != 0) {
            return oa__fail(&probe, OA_ERROR_INVALID_ARGUMENT, "memory must be 16-byte aligned");
        }
        a = (oa_allocator*)ri.memory;
        table = (oa__region*)(void*)((char*)ri.memory + oa__self_size());
        records = ri.max_regions + 1;
        owns_self = false;
        owns_table = false;
    } else {
        records = (ri.max_regions != 0 ? ri.max_regions : ri.initial_regions) + 1;
        if (records < 3) {
            records = 3; /* sentinel + the first free region + room for one split */
        }
        a = (oa_allocator*)oa__host_alloc(&ri.callbacks, sizeof(oa_allocator));
        if (a == NULL) {
            return oa__fail(&probe, OA_ERROR_OUT_OF_HOST_MEMORY, "allocator object");
        }
        table = (oa__region*)oa__host_alloc(&ri.callbacks, (size_t)records * sizeof(oa__region));
        if (table == NULL) {
            oa__host_free(&ri.callbacks, a, sizeof(oa_allocator));
            return oa__fail(&probe, OA_ERROR_OUT_OF_HOST_MEMORY, "region table");
        }
        owns_self = true;
        owns_table = true;
        if (ri.max_regions != 0) {
            /* Fixed budget: write every record now, so that no later
             * operation takes a first-touch page fault. (Not a memset to 0:
             * a compiler may turn malloc + memset into calloc, whose pages
             * stay untouched.) */
            for (uint32_t i = 0; i < records; i++) {
                table[i].right = OA__MARK_UNUSED;
            }
        }
    }
    memset(a, 0, sizeof *a);
    a->regions = table;
    a->slot_capacity = records;
    a->is_fixed = ri.max_regions != 0;
    a->owns_self = owns_self;
    a->owns_table = owns_table;
    a->capacity = ri.capacity;
    a->callbacks = ri.callbacks;
    a->log = ri.log;
    a->log_user = ri.log_user;
    a->generation = oa__first_generation(a);
    a->dust_limit = UINT64_MAX;
    oa__init_regions(a);
    *out = a;
    return OA_SUCCESS;
}

void oa_allocator_destroy(oa_allocator* a) {
    if (a == NULL) {
        return;
    }
    oa_alloc_callbacks cb = a->callbacks;
    if (a->owns_table) {
        oa__host_free(&cb, a->regions, (size_t)a->slot_capacity * sizeof(oa__region));
    }
    if (a->owns_self) {
        oa__host_free(&cb, a, sizeof(oa_allocator));
    }
}

void oa_reset(oa_allocator* a) {
    if (a == NULL) {
        return;
    }
    oa__init_regions(a);
}

/* The slow path of oa__reserve_slots: the table is full. */
oa_result oa__grow_slots(oa_allocator* a, uint32_t count) {
    if (a->is_fixed) {
        return oa__fail(a, OA_ERROR_OUT_OF_METADATA, "the fixed region budget is spent");
    }
    uint64_t want = (uint64_t)a->slot_capacity * 2;
    uint64_t limit = (uint64_t)OA_MAX_REGIONS + 1;
    uint64_t need = (uint64_t)a->slot_count + count - a->unused_count;
    if (want < need) {
        want = need;
    }
    if (want > limit) {
        want = limit;
    }
    if (want < need || want * sizeof(oa__region) > SIZE_MAX) {
        return oa__fail(a, OA_ERROR_OUT_OF_METADATA, "the region table is at OA_MAX_REGIONS");
    }
    size_t bytes = (size_t)want * sizeof(oa__region);
    oa__region* grown = (oa__region*)oa__host_alloc(&a->callbacks, bytes);
    if (grown == NULL) {
        return oa__fail(a, OA_ERROR_OUT_OF_HOST_MEMORY, "growing the region table");
    }
    memcpy(grown, a->regions, (size_t)a->slot_count * sizeof(oa__region));
    oa__host_free(&a->callbacks, a->regions, (size_t)a->slot_capacity * sizeof(oa__region));
    a->regions = grown;
    a->slot_capacity = (uint32_t)want;
    return OA_SUCCESS;
}
