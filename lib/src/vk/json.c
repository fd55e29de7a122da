/* json.c - oa_vk_dump_json: the manager as JSON, with every block's regions
 * (allocations and free space) in address order, so a tool or a person can
 * draw the memory map. Writes snprintf-style into a caller's buffer.
 * Does not compute statistics itself (stats.c does).
 * Invariant: the length reported is the full length, whether or not it fit. */
#include "oa_vk_internal.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct oa__vk_writer {
    char* buffer;
    size_t capacity; /* bytes of buffer, NUL included */
    size_t length;   /* characters produced so far, fitting or not */
} oa__vk_writer;

static void oa__vk_put(oa__vk_writer* w, const char* text, size_t n) {
    if (w->capacity > 0 && w->length < w->capacity - 1) {
        const size_t room = w->capacity - 1 - w->length;
        memcpy(w->buffer + w->length, text, n < room ? n : room);
    }
    w->length += n;
}

static void oa__vk_puts(oa__vk_writer* w, const char* text) {
    oa__vk_put(w, text, strlen(text));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
oa__vk_printf(oa__vk_writer* w, const char* fmt, ...) {
    char text[128];
    va_list args;
    va_start(args, fmt);
    const int n = vsnprintf(text, sizeof text, fmt, args);
    va_end(args);
    if (n > 0) {
        oa__vk_put(w, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
    }
}

static void oa__vk_put_string(oa__vk_writer* w, const char* s) {
    oa__vk_puts(w, "\"");
    for (; *s != '\0'; s++) {
        const unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            const char esc[2] = {'\\', (char)c};
            oa__vk_put(w, esc, 2);
        } else if (c < 0x20) {
            oa__vk_printf(w, "\\u%04x", c);
        } else {
            oa__vk_put(w, (const char*)&c, 1);
        }
    }
    oa__vk_puts(w, "\"");
}

/* A live or pending range, sorted by (pool, block, offset). */
typedef struct oa__vk_dump_range {
    uint32_t pool_slot, block_slot;
    uint64_t offset;
    uint64_t id;
    uint32_t tag;
    bool pending;
} oa__vk_dump_range;

static int oa__vk_dump_range_cmp(const void* a, const void* b) {
    const oa__vk_dump_range* x = (const oa__vk_dump_range*)a;
    const oa__vk_dump_range* y = (const oa__vk_dump_range*)b;
    if (x->pool_slot != y->pool_slot) {
        return x->pool_slot < y->pool_slot ? -1 : 1;
    }
    if (x->block_slot != y->block_slot) {
        return x->block_slot < y->block_slot ? -1 : 1;
    }
    return x->offset < y->offset ? -1 : (x->offset > y->offset ? 1 : 0);
}

typedef struct oa__vk_walk_state {
    oa__vk_writer* w;
    const oa__vk_dump_range* ranges; /* cursor into the sorted list */
    const oa__vk_dump_range* end;
    bool first;
} oa__vk_walk_state;

static void oa__vk_put_region(oa__vk_walk_state* s, uint64_t offset, uint64_t size, bool is_free) {
    oa__vk_printf(s->w, "%s{\"offset\":%llu,\"size\":%llu,\"is_free\":%s", s->first ? "" : ",",
                  (unsigned long long)offset, (unsigned long long)size, is_free ? "true" : "false");
    s->first = false;
    if (!is_free) {
        while (s->ranges < s->end && s->ranges->offset < offset) {
            s->ranges++;
        }
        if (s->ranges < s->end && s->ranges->offset == offset) {
            oa__vk_printf(s->w, ",\"range\":\"0x%016llx\",\"is_pending\":%s",
                          (unsigned long long)s->ranges->id, s->ranges->pending ? "true" : "false");
            if (s->ranges->tag != 0) {
                oa__vk_printf(s->w, ",\"tag\":%u", s->ranges->tag);
            }
            s->ranges++;
        }
    }
    oa__vk_puts(s->w, "}");
}

static bool oa__vk_walk_region(void* user, const oa_region_info* region) {
    oa__vk_put_region((oa__vk_walk_state*)user, region->offset, region->size, region->is_free);
    return true;
}

static void oa__vk_put_pool_stats(oa__vk_writer* w, const oa_vk_pool_stats* s) {
    oa__vk_printf(w, "{\"block_count\":%llu,\"dedicated_count\":%llu,",
                  (unsigned long long)s->block_count, (unsigned long long)s->dedicated_count);
    oa__vk_printf(w, "\"capacity\":%llu,\"used_size\":%llu,\"free_size\":%llu,",
                  (unsigned long long)s->capacity, (unsigned long long)s->used_size,
                  (unsigned long long)s->free_size);
    oa__vk_printf(w, "\"largest_free_size\":%llu,\"pending_size\":%llu,\"pending_count\":%llu,",
                  (unsigned long long)s->largest_free_size, (unsigned long long)s->pending_size,
                  (unsigned long long)s->pending_count);
    oa__vk_printf(w, "\"allocation_count\":%llu,\"free_region_count\":%llu,",
                  (unsigned long long)s->allocation_count,
                  (unsigned long long)s->free_region_count);
    oa__vk_printf(w, "\"fragmentation\":%.6f}", s->fragmentation);
}

static void oa__vk_put_block(oa__vk_writer* w, const oa__vk_block* b, uint32_t index,
                             oa__vk_walk_state* walk) {
    oa_vk_block_stats s;
    oa__vk_block_stats(b, &s);
    oa__vk_printf(w, "{\"index\":%u,\"is_dedicated\":%s,\"memory_type_index\":%u,", index,
                  b->is_dedicated ? "true" : "false", b->memory_type_index);
    oa__vk_printf(w,
                  "\"capacity\":%llu,\"used_size\":%llu,\"free_size\":%llu,"
                  "\"largest_free_size\":%llu,",
                  (unsigned long long)s.capacity, (unsigned long long)s.used_size,
                  (unsigned long long)s.free_size, (unsigned long long)s.largest_free_size);
    oa__vk_printf(w, "\"pending_size\":%llu,\"allocation_count\":%llu,\"free_region_count\":%llu,",
                  (unsigned long long)s.pending_size, (unsigned long long)s.allocation_count,
                  (unsigned long long)s.free_region_count);
    oa__vk_printf(w, "\"fragmentation\":%.6f,\"regions\":[", s.fragmentation);
    walk->first = true;
    if (b->allocator != NULL) {
        const oa_result wr = oa_walk(b->allocator, OA_WALK_ALL, oa__vk_walk_region, walk);
        OA_ASSERT(wr == OA_SUCCESS && "walking a live block cannot fail");
        (void)wr;
    } else if (b->is_ring) {
        oa__vk_ring_region regions[4];
        const uint32_t n = oa__vk_ring_regions(b, regions);
        for (uint32_t i = 0; i < n; i++) {
            oa__vk_put_region(walk, regions[i].offset, regions[i].size, regions[i].is_free);
        }
    } else {
        oa__vk_put_region(walk, 0, b->size, false);
    }
    oa__vk_puts(w, "]}");
}

oa_vk_result oa_vk_dump_json(oa_vk_manager* m, char* buffer, size_t buffer_size, size_t* out_size) {
    if (out_size != NULL) {
        *out_size = 0;
    }
    if (m == NULL || out_size == NULL || (buffer == NULL && buffer_size > 0)) {
        return OA_VK_ERROR_INVALID_ARGUMENT;
    }
    oa__vk_lock(m);
    oa_vk_result r = OA_VK_SUCCESS;
    oa__vk_writer w = {buffer, buffer_size, 0};

    uint32_t live = 0;
    for (uint32_t i = 0; i < m->range_slots; i++) {
        live += m->ranges[i].state != OA__VK_RANGE_FREE;
    }
    oa__vk_dump_range* sorted = NULL;
    if (live > 0) {
        sorted = (oa__vk_dump_range*)oa__vk_host_alloc(&m->callbacks, live * sizeof *sorted);
        if (sorted == NULL) {
            r = oa__vk_fail(m, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                            "oa_vk_dump_json: no host memory to sort %u ranges", live);
            goto done;
        }
        uint32_t n = 0;
        for (uint32_t i = 0; i < m->range_slots; i++) {
            const oa__vk_range_entry* e = &m->ranges[i];
            if (e->state != OA__VK_RANGE_FREE) {
                const oa__vk_dump_range d = {.pool_slot = e->pool_slot,
                                             .block_slot = e->block_slot,
                                             .offset = e->offset,
                                             .id = oa__vk_handle_id(i, e->generation),
                                             .tag = e->tag,
                                             .pending = e->state == OA__VK_RANGE_PENDING};
                sorted[n++] = d;
            }
        }
        qsort(sorted, live, sizeof *sorted, oa__vk_dump_range_cmp);
    }

    oa__vk_refresh_budget(m);
    oa__vk_puts(&w, "{\"heaps\":[");
    for (uint32_t i = 0; i < m->memory_properties.memoryHeapCount; i++) {
        oa__vk_printf(&w, "%s{\"index\":%u,\"size\":%llu,\"budget\":%llu,", i > 0 ? "," : "", i,
                      (unsigned long long)m->memory_properties.memoryHeaps[i].size,
                      (unsigned long long)m->heap_budget[i]);
        oa__vk_printf(&w, "\"usage\":%llu,\"process_usage\":%llu,",
                      (unsigned long long)m->heap_usage[i],
                      (unsigned long long)oa__vk_process_usage(m, i));
        oa__vk_printf(&w, "\"allocation_count\":%llu,\"is_rebar\":%s}",
                      (unsigned long long)m->heap_allocation_count[i],
                      oa__vk_heap_is_rebar(&m->memory_properties, i) ? "true" : "false");
    }
    oa__vk_puts(&w, "],\"pools\":[");
    const oa__vk_dump_range* cursor = sorted;
    const oa__vk_dump_range* end = live != 0 ? sorted + live : sorted; /* no NULL + 0 */
    bool first_pool = true;
    for (uint32_t i = 0; i < m->pool_slots; i++) {
        const oa__vk_pool* p = &m->pools[i];
        if (!p->in_use) {
            continue;
        }
        oa__vk_printf(&w, "%s{\"id\":\"0x%016llx\",\"name\":", first_pool ? "" : ",",
                      (unsigned long long)oa__vk_handle_id(i, p->generation));
        first_pool = false;
        oa__vk_put_string(&w, p->name);
        oa__vk_printf(&w, ",\"usage\":%u,\"intent\":\"%s\",\"memory_type_index\":%u,", p->usage,
                      oa_vk_memory_intent_name(p->intent), p->memory_type_index);
        oa__vk_printf(&w, "\"block_size\":%llu,", (unsigned long long)p->block_size);
        oa__vk_printf(&w, "\"alignment\":%llu,\"flags\":%u,\"stats\":",
                      (unsigned long long)p->alignment, p->flags);
        oa_vk_pool_stats ps;
        oa__vk_pool_stats(p, &ps);
        oa__vk_put_pool_stats(&w, &ps);
        oa__vk_puts(&w, ",\"blocks\":[");
        uint32_t index = 0;
        for (uint32_t b = 0; b < p->block_slots; b++) {
            if (!p->blocks[b].in_use) {
                continue;
            }
            /* Skip to this block's ranges in the sorted list. */
            while (cursor < end &&
                   (cursor->pool_slot < i || (cursor->pool_slot == i && cursor->block_slot < b))) {
                cursor++;
            }
            const oa__vk_dump_range* block_end = cursor;
            while (block_end < end && block_end->pool_slot == i && block_end->block_slot == b) {
                block_end++;
            }
            oa__vk_walk_state walk = {&w, cursor, block_end, true};
            if (index > 0) {
                oa__vk_puts(&w, ",");
            }
            oa__vk_put_block(&w, &p->blocks[b], index++, &walk);
            cursor = block_end;
        }
        oa__vk_puts(&w, "]}");
    }
    oa__vk_puts(&w, "]}");
    if (buffer_size > 0) {
        buffer[w.length < buffer_size ? w.length : buffer_size - 1] = '\0';
    }
    *out_size = w.length;
    r = w.length < buffer_size ? OA_VK_SUCCESS : OA_VK_INCOMPLETE;
    oa__vk_host_free(&m->callbacks, sorted, live * sizeof *sorted);
done:
    oa__vk_unlock(m);
    return r;
}
