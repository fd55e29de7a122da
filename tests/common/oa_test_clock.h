/* oa_test_clock.h - a monotonic clock for benchmarks (figures, never
 * assertions). Needs _POSIX_C_SOURCE >= 199309L (defined by the benchmark's
 * target). Header only; no state. */
#ifndef OA_TEST_CLOCK_H
#define OA_TEST_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Nanoseconds of CLOCK_MONOTONIC since an unspecified start. */
static inline uint64_t oa_test_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif /* OA_TEST_CLOCK_H */
