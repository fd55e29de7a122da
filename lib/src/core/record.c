/* record.c - the recorder: every change of an allocator as a line of trace text.
 * Formats each line into a small buffer on the stack and hands it to the
 * caller's callback (no heap call, whatever the mode), and places an
 * allocation at a known offset (oa_alloc_at, what a replay of a P line does).
 * Does not decide anything: the public entry points call in here after they
 * have done their work, only when a recorder is set.
 * Invariant: a line is written only for a call that has finished, with the
 * result it returned; a recorder never changes what the allocator does. */
#include "oa_internal.h"

/* One line under construction. */
typedef struct oa__line {
    char text[OA_RECORD_LINE_MAX];
    size_t length;
} oa__line;

_Static_assert(OA_RECORD_LINE_MAX >= 2 + 16 + 3 * 21 + 1, "the longest line (A) fits");

static void oa__put_char(oa__line* l, char c) {
    OA_ASSERT(l->length < OA_RECORD_LINE_MAX && "a record line fits its buffer");
    l->text[l->length++] = c;
}

static void oa__put_str(oa__line* l, const char* s) {
    while (*s != '\0') {
        oa__put_char(l, *s++);
    }
}

/* `v` in decimal. */
static void oa__put_digits(oa__line* l, uint64_t v) {
    char digits[20];
    uint32_t n = 0;
    do {
        digits[n++] = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0) {
        oa__put_char(l, digits[--n]);
    }
}

/* A space, then `v` in decimal. */
static void oa__put_u64(oa__line* l, uint64_t v) {
    oa__put_char(l, ' ');
    oa__put_digits(l, v);
}

/* A space, then `v` in lower-case hex without leading zeros. */
static void oa__put_hex(oa__line* l, uint64_t v) {
    static const char hex[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    char digits[16];
    uint32_t n = 0;
    do {
        digits[n++] = hex[v & 15u];
        v >>= 4;
    } while (v != 0);
    oa__put_char(l, ' ');
    while (n > 0) {
        oa__put_char(l, digits[--n]);
    }
}

/* A space, then a result code in decimal (0 or negative). */
static void oa__put_result(oa__line* l, oa_result result) {
    int64_t v = (int64_t)result;
    oa__put_char(l, ' ');
    if (v < 0) {
        oa__put_char(l, '-');
        v = -v;
    }
    oa__put_digits(l, (uint64_t)v);
}

static void oa__emit(const oa_allocator* a, oa__line* l) {
    oa__put_char(l, '\n');
    a->record(a->record_user, l->text, l->length);
}

static void oa__begin(oa__line* l, const char* kind) {
    l->length = 0;
    oa__put_str(l, kind);
}

void oa__record_place(oa_allocator* a, oa_allocation allocation) {
    uint32_t slot = oa__live_slot(a, allocation);
    OA_ASSERT(slot != OA__NIL && "a placed allocation is live");
    oa__line l;
    oa__begin(&l, "P");
    oa__put_hex(&l, allocation.id);
    oa__put_u64(&l, a->regions[slot].size);
    oa__put_u64(&l, a->regions[slot].offset);
    oa__emit(a, &l);
}

void oa__record_start(oa_allocator* a) {
    oa__line l;
    oa__begin(&l, "capacity");
    oa__put_u64(&l, a->capacity);
    oa__emit(a, &l);
    if (a->granularity != 1) {
        oa__begin(&l, "granularity");
        oa__put_u64(&l, a->granularity);
        oa__emit(a, &l);
    }
    const oa__region* R = a->regions;
    for (uint32_t s = a->head; s != OA__NIL; s = oa__next(&R[s])) {
        if (oa__is_used(&R[s])) {
            oa__record_place(a, (oa_allocation){oa__handle_id(s, R[s].left)});
        }
    }
}

void oa__record_alloc(oa_allocator* a, uint64_t size, uint64_t align,
                      const oa_allocation* allocation, oa_result result) {
    if (allocation == NULL) {
        return; /* rejected for a NULL pointer: nothing to replay */
    }
    oa__line l;
    oa__begin(&l, "A");
    if (result == OA_SUCCESS) {
        oa__put_hex(&l, allocation->id);
        oa__put_u64(&l, size);
        oa__put_u64(&l, align);
        oa__put_u64(&l, a->regions[oa__live_slot(a, *allocation)].offset);
    } else {
        oa__put_str(&l, " -");
        oa__put_u64(&l, size);
        oa__put_u64(&l, align);
        oa__put_result(&l, result);
    }
    oa__emit(a, &l);
}

void oa__record_free(oa_allocator* a, oa_allocation allocation, oa_result result) {
    oa__line l;
    oa__begin(&l, "F");
    oa__put_hex(&l, allocation.id);
    if (result != OA_SUCCESS) {
        oa__put_result(&l, result);
    }
    oa__emit(a, &l);
}

void oa__record_resize(oa_allocator* a, oa_allocation allocation, uint64_t new_size,
                       oa_result result) {
    oa__line l;
    oa__begin(&l, "R");
    oa__put_hex(&l, allocation.id);
    oa__put_u64(&l, new_size);
    oa__put_result(&l, result);
    oa__emit(a, &l);
}

void oa__record_grow(oa_allocator* a, uint64_t added_size, oa_result result) {
    oa__line l;
    oa__begin(&l, "G");
    oa__put_u64(&l, added_size);
    oa__put_result(&l, result);
    oa__emit(a, &l);
}

void oa__record_reset(oa_allocator* a) {
    oa__line l;
    oa__begin(&l, "X");
    oa__emit(a, &l);
}

void oa__record_compact_begin(oa_allocator* a, const oa_compact_move* moves, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        oa__record_place(a, moves[i].reserved);
    }
}

void oa__record_move(oa_allocator* a, const oa_compact_move* m) {
    oa__line l;
    oa__begin(&l, "M");
    oa__put_hex(&l, m->allocation.id);
    oa__put_hex(&l, m->reserved.id);
    oa__put_u64(&l, m->new_offset);
    oa__emit(a, &l);
}

oa_result oa_allocator_set_recorder(oa_allocator* a, oa_record_fn fn, void* user) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    a->record = fn;
    a->record_user = user;
    if (fn != NULL) {
        oa__record_start(a);
    }
    return OA_SUCCESS;
}

oa_result oa_alloc_at(oa_allocator* a, uint64_t offset, uint64_t size,
                      oa_allocation* out_allocation) {
    if (out_allocation != NULL) {
        out_allocation->id = 0;
    }
    if (a == NULL || out_allocation == NULL) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT,
                        "oa_alloc_at: allocator or out_allocation is NULL");
    }
    if (size == 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT, "oa_alloc_at: size is 0");
    }
    uint64_t g = a->granularity;
    if (offset % g != 0) {
        return oa__fail(a, OA_ERROR_INVALID_ARGUMENT,
                        "oa_alloc_at: offset is not a multiple of the granularity");
    }
    if (size % g != 0) {
        if (size > UINT64_MAX - (g - size % g)) {
            return oa__fail(a, OA_ERROR_OVERFLOW, "oa_alloc_at: size passes 2^64 - 1");
        }
        size += g - size % g;
    }
    if (offset > UINT64_MAX - size) {
        return oa__fail(a, OA_ERROR_OVERFLOW, "oa_alloc_at: offset + size passes 2^64 - 1");
    }
    const oa__region* R = a->regions;
    uint32_t x = a->head;
    while (x != OA__NIL && R[x].offset + R[x].size <= offset) {
        x = oa__next(&R[x]);
    }
    if (x == OA__NIL || !oa__is_free(&R[x]) || R[x].offset + R[x].size - offset < size) {
        return OA_ERROR_OUT_OF_SPACE;
    }
    oa_result res = oa__carve(a, x, offset - R[x].offset, size, 0, out_allocation, NULL);
    if (res != OA_SUCCESS) {
        return res;
    }
    if (a->record != NULL) {
        oa__record_place(a, *out_allocation);
    }
    return OA_SUCCESS;
}
