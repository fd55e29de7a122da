/* ref_model.h - a deliberately naive exact best-fit model.
 * Keeps the free regions in an array sorted by offset and answers every
 * request with a linear scan, so that it is obviously right. The operation
 * interpreter (ops.h: the fuzz target, the randomised and fault tests, the
 * soak), the trace placement test and the unit tests use it as the oracle
 * the core allocator must agree with, offset for offset. Header only; it
 * lives with the tools because orderly-soak uses it too. */
#ifndef OA_REF_MODEL_H
#define OA_REF_MODEL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_span {
    uint64_t offset, size;
} ref_span;

typedef struct ref_model {
    ref_span* free; /* sorted by offset, never adjacent */
    size_t count, cap;
    uint64_t capacity;
} ref_model;

static inline void ref_insert_at(ref_model* m, size_t i, ref_span s) {
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->free = (ref_span*)realloc(m->free, m->cap * sizeof(ref_span));
        if (m->free == NULL) {
            abort();
        }
    }
    memmove(&m->free[i + 1], &m->free[i], (m->count - i) * sizeof(ref_span));
    m->free[i] = s;
    m->count++;
}

static inline void ref_remove_at(ref_model* m, size_t i) {
    memmove(&m->free[i], &m->free[i + 1], (m->count - i - 1) * sizeof(ref_span));
    m->count--;
}

static inline void ref_init(ref_model* m, uint64_t capacity) {
    memset(m, 0, sizeof *m);
    m->capacity = capacity;
    ref_insert_at(m, 0, (ref_span){0, capacity});
}

static inline void ref_destroy(ref_model* m) {
    free(m->free);
    memset(m, 0, sizeof *m);
}

static inline uint64_t ref_pad(uint64_t offset, uint64_t align) {
    uint64_t r = offset % align;
    return r == 0 ? 0 : align - r;
}

/* Best-fit offset, or UINT64_MAX when nothing fits. Does not change the model. */
static inline uint64_t ref_find(const ref_model* m, uint64_t size, uint64_t align, size_t* out_i) {
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->count; i++) {
        const ref_span* s = &m->free[i];
        if (s->size < size || ref_pad(s->offset, align) > s->size - size) {
            continue;
        }
        if (best == SIZE_MAX || s->size < m->free[best].size) {
            best = i; /* ties keep the earlier, lower offset */
        }
    }
    if (best == SIZE_MAX) {
        return UINT64_MAX;
    }
    *out_i = best;
    return m->free[best].offset + ref_pad(m->free[best].offset, align);
}

/* Take [offset, offset + size) out of free span i, which contains it. */
static inline void ref_carve(ref_model* m, size_t i, uint64_t offset, uint64_t size) {
    ref_span s = m->free[i];
    ref_remove_at(m, i);
    uint64_t front = offset - s.offset;
    uint64_t back = s.offset + s.size - (offset + size);
    if (back) {
        ref_insert_at(m, i, (ref_span){offset + size, back});
    }
    if (front) {
        ref_insert_at(m, i, (ref_span){s.offset, front});
    }
}

static inline uint64_t ref_alloc(ref_model* m, uint64_t size, uint64_t align) {
    size_t i = 0;
    uint64_t off = ref_find(m, size, align, &i);
    if (off != UINT64_MAX) {
        ref_carve(m, i, off, size);
    }
    return off;
}

/* Return [offset, offset + size) to the free set, merging neighbours. */
static inline void ref_free(ref_model* m, uint64_t offset, uint64_t size) {
    size_t i = 0;
    while (i < m->count && m->free[i].offset < offset) {
        i++;
    }
    ref_span s = {offset, size};
    if (i < m->count && s.offset + s.size == m->free[i].offset) {
        s.size += m->free[i].size;
        ref_remove_at(m, i);
    }
    if (i > 0 && m->free[i - 1].offset + m->free[i - 1].size == s.offset) {
        m->free[i - 1].size += s.size;
        return;
    }
    ref_insert_at(m, i, s);
}

/* In-place grow: needs a free span starting right at the end. 1 on success. */
static inline int ref_grow_in_place(ref_model* m, uint64_t offset, uint64_t old_size,
                                    uint64_t new_size) {
    uint64_t end = offset + old_size, extra = new_size - old_size;
    for (size_t i = 0; i < m->count; i++) {
        if (m->free[i].offset == end) {
            if (m->free[i].size < extra) {
                return 0;
            }
            ref_carve(m, i, end, extra);
            return 1;
        }
    }
    return 0;
}

static inline void ref_grow_capacity(ref_model* m, uint64_t added) {
    ref_free(m, m->capacity, added);
    m->capacity += added;
}

static inline uint64_t ref_total_free(const ref_model* m) {
    uint64_t t = 0;
    for (size_t i = 0; i < m->count; i++) {
        t += m->free[i].size;
    }
    return t;
}

static inline uint64_t ref_largest_free(const ref_model* m) {
    uint64_t t = 0;
    for (size_t i = 0; i < m->count; i++) {
        t = m->free[i].size > t ? m->free[i].size : t;
    }
    return t;
}

#endif /* OA_REF_MODEL_H */
