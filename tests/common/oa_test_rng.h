/* oa_test_rng.h - the tests' random source: splitmix64, seeded, repeatable,
 * the same on every machine (never rand()). Header only; no state. */
#ifndef OA_TEST_RNG_H
#define OA_TEST_RNG_H

#include <stdint.h>

/* Advances *state and returns the next 64 random bits. */
static inline uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif /* OA_TEST_RNG_H */
