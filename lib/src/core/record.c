/* record.c - the recorder: every change of an allocator as a line of trace text.
 * Formats each line into a small buffer on the stack and hands it to the
 * caller's callback (no heap call, whatever the mode), and places an
 * allocation at a known offset (oa_alloc_at, what a replay of a P line does).
 * Decides nothing: an entry point that finds a recorder set hands its call
 * here, which runs it with the recorder off and writes what it returned.
 * Invariant: a line is written only for a call that has finished, with the
 * result it returned; a recorder never changes what the allocator does. */
#include "oa_internal.h"

/* One line under construction. */
typedef struct oa__line {
    char text[OA_RECORD_LINE_MAX];
    size_t length;
} oa__line;

_Static_assert(OA_RECORD_LINE_MAX >= 2 + 17 + 3 * 21 + 1, "the longest line (A) fits");

/* Each field is written at its final place, right to left, with no loop
 * over a temporary: the recorder's cost is mostly these few stores. */
static const char oa__hex_digits[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                        '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
/* clang-format off */
static const char oa__two_digits[200] = {
    '0','0','0','1','0','2','0','3','0','4','0','5','0','6','0','7','0','8','0','9',
    '1','0','1','1','1','2','1','3','1','4','1','5','1','6','1','7','1','8','1','9',
    '2','0','2','1','2','2','2','3','2','4','2','5','2','6','2','7','2','8','2','9',
    '3','0','3','1','3','2','3','3','3','4','3','5','3','6','3','7','3','8','3','9',
    '4','0','4','1','4','2','4','3','4','4','4','5','4','6','4','7','4','8','4','9',
    '5','0','5','1','5','2','5','3','5','4','5','5','5','6','5','7','5','8','5','9',
    '6','0','6','1','6','2','6','3','6','4','6','5','6','6','6','7','6','8','6','9',
    '7','0','7','1','7','2','7','3','7','4','7','5','7','6','7','7','7','8','7','9',
    '8','0','8','1','8','2','8','3','8','4','8','5','8','6','8','7','8','8','8','9',
    '9','0','9','1','9','2','9','3','9','4','9','5','9','6','9','7','9','8','9','9'};
/* clang-format on */

static void oa__put_str(oa__line* l, const char* s) {
    char* p = l->text + l->length;
    while (*s != '\0') {
        *p++ = *s++;
    }
    l->length = (size_t)(p - l->text);
    OA_ASSERT(l->length < OA_RECORD_LINE_MAX && "a record line fits its buffer");
}

/* `v` in decimal. */
static void oa__put_digits(oa__line* l, uint64_t v) {
    static const uint64_t pow10[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};
    uint32_t n = 1;
    while (n < 20u && v >= pow10[n]) {
        n++;
    }
    char* p = l->text + l->length + n;
    l->length += n;
    OA_ASSERT(l->length < OA_RECORD_LINE_MAX && "a record line fits its buffer");
    while (v >= 100u) {
        uint32_t r = (uint32_t)(v % 100u) * 2u;
        v /= 100u;
        *--p = oa__two_digits[r + 1];
        *--p = oa__two_digits[r];
    }
    if (v >= 10u) {
        *--p = oa__two_digits[v * 2u + 1];
        *--p = oa__two_digits[v * 2u];
    } else {
        *--p = (char)('0' + (char)v);
    }
}

/* A space, then `v` in decimal. */
static void oa__put_u64(oa__line* l, uint64_t v) {
    l->text[l->length++] = ' ';
    oa__put_digits(l, v);
}

/* A space, then `v` in lower-case hex without leading zeros. */
static void oa__put_hex(oa__line* l, uint64_t v) {
    uint32_t n = v == 0 ? 1u : oa__log2_64(v) / 4u + 1u;
    l->text[l->length] = ' ';
    char* p = l->text + l->length + 1 + n;
    l->length += 1 + n;
    OA_ASSERT(l->length < OA_RECORD_LINE_MAX && "a record line fits its buffer");
    for (uint32_t i = 0; i < n; i++) {
        *--p = oa__hex_digits[v & 15u];
        v >>= 4;
    }
}

/* A space, then a result code in decimal (0 or negative). */
static void oa__put_result(oa__line* l, oa_result result) {
    int64_t v = (int64_t)result;
    l->text[l->length++] = ' ';
    if (v < 0) {
        l->text[l->length++] = '-';
        v = -v;
    }
    oa__put_digits(l, (uint64_t)v);
}

static void oa__emit(const oa_allocator* a, oa__line* l) {
    l->text[l->length++] = '\n';
    a->record(a->record_user, l->text, l->length);
}

static void oa__begin(oa__line* l, const char* kind) {
    l->length = 0;
    oa__put_str(l, kind);
}

static void oa__record_place(const oa_allocator* a, oa_allocation allocation) {
    uint32_t slot = oa__live_slot(a, allocation);
    OA_ASSERT(slot != OA__NIL && "a placed allocation is live");
    oa__line l;
    oa__begin(&l, "P");
    oa__put_hex(&l, allocation.id);
    oa__put_u64(&l, oa__rec(a, slot)->size);
    oa__put_u64(&l, oa__rec(a, slot)->offset);
    oa__emit(a, &l);
}

void oa__record_start(const oa_allocator* a) {
    oa__line l;
    oa__begin(&l, "capacity");
    oa__put_u64(&l, a->capacity);
    oa__emit(a, &l);
    if (a->granularity != 1) {
        oa__begin(&l, "granularity");
        oa__put_u64(&l, a->granularity);
        oa__emit(a, &l);
    }
    for (uint32_t s = a->head; s != OA__NIL; s = oa__next(oa__rec(a, s))) {
        if (oa__is_used(oa__rec(a, s))) {
            oa__record_place(a, (oa_allocation){oa__handle_id(s, oa__rec(a, s)->left)});
        }
    }
}

/* Runs `call` with the recorder off (so that the entry point does its
 * work), then puts it back. */
#define OA__UNRECORDED(a, call)                                                                    \
    do {                                                                                           \
        oa_record_fn fn_ = (a)->record;                                                            \
        (a)->record = NULL;                                                                        \
        call;                                                                                      \
        (a)->record = fn_;                                                                         \
    } while (0)

static void oa__alloc_line(const oa_allocator* a, uint64_t size, uint64_t align,
                           const oa_allocation* allocation, oa_result result) {
    oa__line l;
    oa__begin(&l, "A");
    if (result == OA_SUCCESS) {
        oa__put_hex(&l, allocation->id);
        oa__put_u64(&l, size);
        oa__put_u64(&l, align);
        oa__put_u64(&l, oa__rec(a, oa__live_slot(a, *allocation))->offset);
    } else {
        oa__put_str(&l, " -");
        oa__put_u64(&l, size);
        oa__put_u64(&l, align);
        oa__put_result(&l, result);
    }
    oa__emit(a, &l);
}

oa_result oa__record_alloc(oa_allocator* a, uint64_t size, uint64_t align,
                           oa_allocation* out_allocation, uint64_t* out_offset) {
    oa_result res;
    OA__UNRECORDED(a, res = oa_alloc(a, size, align, out_allocation, out_offset));
    oa__alloc_line(a, size, align, out_allocation, res);
    return res;
}

void oa__record_alloc_rejected(const oa_allocator* a, uint64_t size, uint64_t align) {
    oa__alloc_line(a, size, align, NULL, OA_ERROR_INVALID_ARGUMENT);
}

oa_result oa__record_free(oa_allocator* a, oa_allocation allocation) {
    oa_result res;
    OA__UNRECORDED(a, res = oa_free(a, allocation));
    oa__line l;
    oa__begin(&l, "F");
    oa__put_hex(&l, allocation.id);
    if (res != OA_SUCCESS) {
        oa__put_result(&l, res);
    }
    oa__emit(a, &l);
    return res;
}

oa_result oa__record_resize(oa_allocator* a, oa_allocation allocation, uint64_t new_size) {
    oa_result res;
    OA__UNRECORDED(a, res = oa_try_resize(a, allocation, new_size));
    oa__line l;
    oa__begin(&l, "R");
    oa__put_hex(&l, allocation.id);
    oa__put_u64(&l, new_size);
    oa__put_result(&l, res);
    oa__emit(a, &l);
    return res;
}

oa_result oa__record_grow(oa_allocator* a, uint64_t added_size) {
    oa_result res;
    OA__UNRECORDED(a, res = oa_grow_capacity(a, added_size));
    oa__line l;
    oa__begin(&l, "G");
    oa__put_u64(&l, added_size);
    oa__put_result(&l, res);
    oa__emit(a, &l);
    return res;
}

void oa__record_reset(const oa_allocator* a) {
    oa__line l;
    oa__begin(&l, "X");
    oa__emit(a, &l);
}

void oa__record_compact_begin(const oa_allocator* a, const oa_compact_move* moves, uint32_t count) {
    for (uint32_t i = 0; i < count; i++) {
        oa__record_place(a, moves[i].reserved);
    }
}

void oa__record_move(const oa_allocator* a, const oa_compact_move* m) {
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
    uint32_t x = a->head;
    while (x != OA__NIL && oa__rec(a, x)->offset + oa__rec(a, x)->size <= offset) {
        x = oa__next(oa__rec(a, x));
    }
    if (x == OA__NIL) {
        return OA_ERROR_OUT_OF_SPACE;
    }
    const oa__region* rx = oa__rec(a, x);
    if (!oa__is_free(rx) || rx->offset + rx->size - offset < size) {
        return OA_ERROR_OUT_OF_SPACE;
    }
    oa_result res = oa__carve(a, x, offset - rx->offset, size, 0, out_allocation, NULL);
    if (res != OA_SUCCESS) {
        return res;
    }
    if (a->record != NULL) {
        oa__record_place(a, *out_allocation);
    }
    return OA_SUCCESS;
}
