/* region.c - the allocator object and its region table.
 * Creates and destroys allocators in the three memory modes, hands out and
 * takes back slots of the table, grows the table in growable mode, and names
 * results. Does not place or merge regions (alloc.c does).
 * Invariant: slots [1, slot_count) are used, free or on the unused list;
 * slots at or above slot_count have never been touched since the last reset. */
#include "oa_internal.h"

#include "oa_test_hooks.h"

#include <stdatomic.h>
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

/* One past the last slot of segment j (see OA__SEGMENTS). */
static uint64_t oa__segment_end(uint32_t j) {
    uint64_t end = 2ull << j;
    return end < (uint64_t)OA_MAX_REGIONS + 1 ? end : (uint64_t)OA_MAX_REGIONS + 1;
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
    if (r.granularity == 0) {
        r.granularity = 1;
    }
    return r;
}

/* Put the pool back to one free region [0, capacity) in slot 1. Slots keep
 * no age across this: those below fresh_from may have held allocations, so
 * they start again above the oldest age handed out (see take_handle_slot). */
static void oa__init_regions(oa_allocator* a) {
    memset(oa__rec(a, 0), 0, sizeof(oa__region));
    a->slot_count = 2;
    a->spare_head = OA__NIL;
    a->spare_count = 0;
    a->idle_head = OA__NIL;
    a->idle_tail = OA__NIL;
    a->idle_count = 0;
    oa__index_clear(a);
    oa__region* r = oa__rec(a, 1);
    r->offset = 0;
    r->size = a->capacity;
    r->prev = OA__NIL;
    r->next = OA__NIL;
    a->head = 1;
    a->tail = 1;
    a->total_free = a->capacity;
    a->allocation_count = 0;
    a->free_count = 1;
    oa__index_insert(a, 1);
}

/* Process-wide state, the one mutable static of the core: a count of the
 * allocators created so far. Each allocator's generations start at a value
 * derived from it (a bijection of the count), so that a handle of a
 * destroyed allocator does not match a live allocation of one created later
 * at the same address or in the same caller memory. A per-object value
 * (the address, say) cannot give that, and nothing else is shared. */
static _Atomic uint32_t oa__allocator_serial; /* OA_PROCESS_WIDE */

static uint32_t oa__first_generation(void) {
    uint32_t serial = atomic_fetch_add_explicit(&oa__allocator_serial, 1u, memory_order_relaxed);
    /* An odd multiplier is a bijection of 32-bit values and spreads
     * consecutive allocators about 2^31.3 generations apart. */
    return (serial + 1u) * 0x9E3779B9u;
}

bool oa__slot_may_adopt(const oa_allocator* a, uint32_t slot) {
    return slot >= a->fresh_from || a->age_max_seen < OA__AGE_MAX;
}

uint32_t oa__adopt_slot(oa_allocator* a, uint32_t slot) {
    OA_ASSERT(oa__slot_may_adopt(a, slot));
    uint32_t age = slot >= a->fresh_from ? 0u : a->age_max_seen + 1u;
    if (age > a->age_max_seen) {
        a->age_max_seen = age;
    }
    if (slot >= a->fresh_from) {
        a->fresh_from = slot + 1u;
    }
    return a->base + age;
}

/* Where the next allocation's slot comes from: 1 the idle queue, 2 the
 * spare list, 3 the untouched slots, 0 nowhere (without growing). A slot
 * that may have held an allocation and forgot its age starts above the
 * oldest age handed out, which needs age_max_seen < OA__AGE_MAX. */
static int oa__handle_source(const oa_allocator* a) {
    if (a->idle_count != 0) {
        return 1;
    }
    if (a->spare_head != OA__NIL && oa__slot_may_adopt(a, a->spare_head)) {
        return 2;
    }
    if (a->slot_count < a->slot_capacity && oa__slot_may_adopt(a, a->slot_count)) {
        return 3;
    }
    return 0;
}

bool oa__handle_slot_ready(const oa_allocator* a) {
    return oa__handle_source(a) != 0;
}

uint32_t oa__take_handle_slot(oa_allocator* a, uint32_t* out_generation) {
    uint32_t s, age;
    switch (oa__handle_source(a)) {
    case 1:
        s = a->idle_head;
        a->idle_head = oa__rec(a, s)->left;
        if (a->idle_head == OA__NIL) {
            a->idle_tail = OA__NIL;
        }
        a->idle_count--;
        age = oa__rec(a, s)->right + 1u; /* idle ages are below OA__AGE_MAX */
        break;
    case 2:
        s = a->spare_head;
        a->spare_head = oa__rec(a, s)->left;
        a->spare_count--;
        *out_generation = oa__adopt_slot(a, s);
        return s;
    default:
        OA_ASSERT(oa__handle_source(a) == 3);
        s = a->slot_count++;
        *out_generation = oa__adopt_slot(a, s);
        return s;
    }
    if (age > a->age_max_seen) {
        a->age_max_seen = age;
    }
    *out_generation = a->base + age;
    return s;
}

void oa__release_handle_slot(oa_allocator* a, uint32_t slot) {
    uint32_t age = oa__rec(a, slot)->left - a->base;
    if (age >= OA__AGE_MAX) {
        /* Its generations are spent: it only holds free regions from now. */
        a->retired_count++;
        oa__release_region_slot(a, slot);
        return;
    }
    oa__rec(a, slot)->prev = OA__FLAG;
    oa__rec(a, slot)->next = OA__FLAG;
    oa__rec(a, slot)->left = OA__NIL;
    oa__rec(a, slot)->right = age;
    if (a->idle_tail != OA__NIL) {
        oa__rec(a, a->idle_tail)->left = slot;
    } else {
        a->idle_head = slot;
    }
    a->idle_tail = slot;
    a->idle_count++;
}

void oa__test_set_idle_age(oa_allocator* a, uint32_t age) {
    if (a == NULL || age >= OA__AGE_MAX) {
        return;
    }
    for (uint32_t s = a->idle_head; s != OA__NIL; s = oa__rec(a, s)->left) {
        oa__rec(a, s)->right = age;
    }
    if (age > a->age_max_seen) {
        a->age_max_seen = age;
    }
}

/* A failed create: the log is all there is yet. */
static oa_result oa__create_fail(const oa_allocator_info* ri, oa_result result,
                                 const char* message) {
    if (ri->log != NULL) {
        ri->log(ri->log_user, result, message);
    }
    return result;
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
    if (ri.capacity == 0) {
        return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT, "capacity must be at least 1");
    }
    if (ri.max_regions > OA_MAX_REGIONS || ri.initial_regions > OA_MAX_REGIONS) {
        return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT,
                               "max_regions or initial_regions above OA_MAX_REGIONS");
    }
    if ((ri.callbacks.alloc == NULL) != (ri.callbacks.free == NULL)) {
        return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT,
                               "callbacks.alloc and callbacks.free must be given together");
    }
    oa_allocator* a;
    oa__region* table;
    uint32_t records; /* sentinel included */
    bool owns_self, owns_table;
    if (ri.memory != NULL) {
        if (ri.max_regions == 0) {
            return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT, "memory needs max_regions > 0");
        }
        size_t need = oa_allocator_memory_size(ri.max_regions);
        if (need == 0 || ri.memory_size < need) {
            return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT,
                                   "memory_size is below oa_allocator_memory_size(max_regions)");
        }
        if (((uintptr_t)ri.memory & (OA__TABLE_ALIGN - 1)) != 0) {
            return oa__create_fail(&ri, OA_ERROR_INVALID_ARGUMENT,
                                   "memory must be 16-byte aligned");
        }
        a = (oa_allocator*)ri.memory;
        table = (oa__region*)(void*)((char*)ri.memory + oa__self_size());
        records = ri.max_regions + 1;
        owns_self = false;
        owns_table = false;
    } else {
        /* One rule in every mode: max_regions records besides the sentinel. */
        records = (ri.max_regions != 0 ? ri.max_regions : ri.initial_regions) + 1;
        a = (oa_allocator*)oa__host_alloc(&ri.callbacks, sizeof(oa_allocator));
        if (a == NULL) {
            return oa__create_fail(&ri, OA_ERROR_OUT_OF_HOST_MEMORY, "allocator object");
        }
        table = (oa__region*)oa__host_alloc(&ri.callbacks, (size_t)records * sizeof(oa__region));
        if (table == NULL) {
            oa__host_free(&ri.callbacks, a, sizeof(oa_allocator));
            return oa__create_fail(&ri, OA_ERROR_OUT_OF_HOST_MEMORY, "region table");
        }
        owns_self = true;
        owns_table = true;
        if (ri.max_regions != 0) {
            /* Fixed budget: write every record now, so that no later
             * operation takes a first-touch page fault. (Not a memset to 0:
             * a compiler may turn malloc + memset into calloc, whose pages
             * stay untouched.) */
            for (uint32_t i = 0; i < records; i++) {
                table[i].prev = OA__FLAG;
            }
        }
    }
    memset(a, 0, sizeof *a);
    a->regions = table;
    a->first_count = records;
    a->slot_capacity = records;
    a->table_records = records;
    a->is_flat = true;
    for (uint32_t j = 0; j < OA__SEGMENTS; j++) {
        a->slot_base[j] = table;
    }
    a->is_fixed = ri.max_regions != 0;
    a->owns_self = owns_self;
    a->owns_table = owns_table;
    a->capacity = ri.capacity;
    a->callbacks = ri.callbacks;
    a->log = ri.log;
    a->log_user = ri.log_user;
    a->record = ri.record;
    a->record_user = ri.record_user;
    a->granularity = ri.granularity;
    a->base = oa__first_generation();
    a->fresh_from = 1;
    oa__init_regions(a);
    if (a->record != NULL) {
        oa__record_start(a);
    }
    *out = a;
    return OA_SUCCESS;
}

void oa_allocator_destroy(oa_allocator* a) {
    if (a == NULL) {
        return;
    }
    oa_alloc_callbacks cb = a->callbacks;
    if (a->owns_table) {
        oa__host_free(&cb, a->regions, (size_t)a->first_count * sizeof(oa__region));
        for (uint32_t j = 0; j < OA__SEGMENTS; j++) {
            if (a->segment[j] != NULL) {
                size_t records = (size_t)(oa__segment_end(j) - (1ull << j));
                oa__host_free(&cb, a->segment[j], records * sizeof(oa__region));
            }
        }
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
    if (a->record != NULL) {
        oa__record_reset(a);
    }
}

/* The slow path of oa__reserve_slots: the table is full. While it is one
 * array of at most OA__FLAT_MAX_RECORDS / 2 records that the allocator
 * owns, it doubles by copying (a host allocation, a copy of at most 1 MiB,
 * a host free). Past that, adds segments until the request fits (one: a
 * request is for at most three slots, and every segment but the first
 * holds at least two). No record moves but, at the first segment, the
 * slots [2^j, first_count) of the first one (see OA__SEGMENTS): the cost is
 * one host allocation, and once a copy of fewer than first_count / 2
 * records. A failure changes nothing. */
oa_result oa__grow_slots(oa_allocator* a, uint32_t handles, uint32_t regions) {
    if (a->is_fixed) {
        return oa__fail(a, OA_ERROR_OUT_OF_METADATA, "the fixed region budget is spent");
    }
    /* Untouched slots at the end are always fresh, so growing by the whole
     * request is enough whatever the lists hold. */
    uint64_t need = (uint64_t)a->slot_capacity + handles + regions;
    if (need > (uint64_t)OA_MAX_REGIONS + 1) {
        return oa__fail(a, OA_ERROR_OUT_OF_METADATA, "the region table is at OA_MAX_REGIONS");
    }
    if (a->is_flat && a->owns_table && (uint64_t)a->slot_capacity * 2 <= OA__FLAT_MAX_RECORDS &&
        need <= (uint64_t)a->slot_capacity * 2) {
        /* A small table doubles by copying (at most OA__FLAT_MAX_RECORDS / 2
         * records, 1 MiB, move): it stays one array, whose records cost no
         * more to reach than in fixed mode. */
        const uint32_t grown = a->slot_capacity * 2;
        oa__region* table =
            (oa__region*)oa__host_alloc(&a->callbacks, (size_t)grown * sizeof(oa__region));
        if (table == NULL) {
            return oa__fail(a, OA_ERROR_OUT_OF_HOST_MEMORY, "doubling the region table");
        }
        memcpy(table, a->regions, (size_t)a->slot_count * sizeof(oa__region));
        oa__host_free(&a->callbacks, a->regions, (size_t)a->first_count * sizeof(oa__region));
        a->regions = table;
        for (uint32_t j = 0; j < OA__SEGMENTS; j++) {
            a->slot_base[j] = table; /* no segment yet: every slot is here */
        }
        a->first_count = grown;
        a->slot_capacity = grown;
        a->table_records = grown;
        return OA_SUCCESS;
    }
    while (a->slot_capacity < need) {
        /* The segment of the bit length of slot_capacity - 1's successor:
         * slot_capacity is a power of two but at the first growth. */
        uint32_t j = oa__log2_32(a->slot_capacity);
        uint32_t lo = 1u << j;
        OA_ASSERT(a->segment[j] == NULL && (a->is_flat || lo == a->slot_capacity));
        uint64_t records = oa__segment_end(j) - lo;
        if (records * sizeof(oa__region) > SIZE_MAX) {
            return oa__fail(a, OA_ERROR_OUT_OF_METADATA, "a table segment passes SIZE_MAX");
        }
        oa__region* seg =
            (oa__region*)oa__host_alloc(&a->callbacks, (size_t)records * sizeof(oa__region));
        if (seg == NULL) {
            return oa__fail(a, OA_ERROR_OUT_OF_HOST_MEMORY, "adding a region table segment");
        }
        if (a->is_flat && a->slot_count > lo) {
            /* The first growth: the first segment's slots from 2^j on move
             * to this segment, so that a slot's bit length names its
             * segment. */
            memcpy(seg, &a->regions[lo], (size_t)(a->slot_count - lo) * sizeof(oa__region));
        }
        a->segment[j] = seg;
        a->slot_base[j] = (oa__region*)((uintptr_t)seg - (uintptr_t)lo * sizeof(oa__region));
        a->slot_capacity = (uint32_t)oa__segment_end(j);
        a->table_records += records;
        a->is_flat = false;
    }
    return OA_SUCCESS;
}
