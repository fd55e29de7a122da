/* oa_test_heap.h - host memory for allocation callbacks that counts calls
 * and bytes and fails one chosen call: the failure injection of the core's
 * and the manager's tests and fuzz targets. Header only; the state lives in
 * the caller's oa_test_heap.
 *   oa_test_heap h = {.fail_at = 3};         third allocation call fails
 *   info.callbacks = oa_test_heap_callbacks(&h);
 *   ... h.failures == 1, h.live_bytes == 0 once everything is destroyed
 * To fail the Nth call from now: h.fail_at = h.calls + N. */
#ifndef OA_TEST_HEAP_H
#define OA_TEST_HEAP_H

#include <orderly/orderly.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct oa_test_heap {
    uint64_t calls;    /* allocation calls so far (failed ones included) */
    uint64_t frees;    /* free calls so far */
    uint64_t fail_at;  /* the 1-based allocation call to fail; 0 = never */
    uint64_t failures; /* calls failed so far */
    size_t live_bytes, peak_bytes;
} oa_test_heap;

static inline void* oa_test_heap_alloc(void* user, size_t size, size_t align) {
    oa_test_heap* h = (oa_test_heap*)user;
    h->calls++;
    if (h->calls == h->fail_at) {
        h->failures++;
        return NULL;
    }
    if (align < sizeof(void*)) {
        align = sizeof(void*);
    }
    void* p = aligned_alloc(align, (size + align - 1) / align * align);
    if (p != NULL) {
        h->live_bytes += size;
        h->peak_bytes = h->live_bytes > h->peak_bytes ? h->live_bytes : h->peak_bytes;
    }
    return p;
}

static inline void oa_test_heap_free(void* user, void* p, size_t size) {
    oa_test_heap* h = (oa_test_heap*)user;
    if (p != NULL) {
        h->frees++;
        h->live_bytes -= size;
    }
    free(p);
}

static inline oa_alloc_callbacks oa_test_heap_callbacks(oa_test_heap* h) {
    oa_alloc_callbacks c = {oa_test_heap_alloc, oa_test_heap_free, h};
    return c;
}

#endif /* OA_TEST_HEAP_H */
