/* fuzz_reader.h - the input stream every fuzz target reads its operations
 * from: bytes in order, and zeros once the input is spent, so that any input
 * is a complete program. */
#ifndef FUZZ_READER_H
#define FUZZ_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct reader {
    const uint8_t* p;
    size_t n, pos;
} reader;

static inline uint8_t rd8(reader* r) {
    return r->pos < r->n ? r->p[r->pos++] : 0;
}

/* `bytes` bytes, big-endian. */
static inline uint64_t rdn(reader* r, int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | rd8(r);
    }
    return v;
}

#endif /* FUZZ_READER_H */
