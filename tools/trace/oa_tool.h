/* oa_tool.h - what the tools share besides traces: a seeded random source
 * and a monotonic clock. Header only; no state. The tests keep their own
 * helpers in tests/common/ (a tool never includes a test header). */
#ifndef OA_TOOL_H
#define OA_TOOL_H

#include <stdint.h>
#include <time.h>

/* splitmix64: a fast, seeded, repeatable random source (never rand()). */
static inline uint64_t oa_tool_splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Nanoseconds of CLOCK_MONOTONIC (needs _POSIX_C_SOURCE >= 199309L). */
static inline uint64_t oa_tool_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
