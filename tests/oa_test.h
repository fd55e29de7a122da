/* oa_test.h - the project's tiny test harness (header only).
 * OA_TEST(name) defines and registers a test; CHECK* macros record a failure
 * with file, line and both values, and return from the test. OA_TEST_MAIN()
 * runs every registered test (or those named on the command line) and ends
 * with the line "N passed, N failed"; the exit code is non-zero on failure.
 * Registration uses constructor functions (GCC and Clang). */
#ifndef OA_TEST_H
#define OA_TEST_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void (*oa_test_fn)(void);
typedef struct oa_test_entry {
    const char* name;
    oa_test_fn fn;
} oa_test_entry;

#define OA_TEST_MAX 512
static oa_test_entry oa_test_registry[OA_TEST_MAX];
static int oa_test_count;
static int oa_test_failed_flag;

static inline void oa_test_register(const char* name, oa_test_fn fn) {
    if (oa_test_count < OA_TEST_MAX) {
        oa_test_registry[oa_test_count].name = name;
        oa_test_registry[oa_test_count].fn = fn;
        oa_test_count++;
    }
}

#define OA_TEST(name)                                                                              \
    static void oa_test_##name(void);                                                              \
    __attribute__((constructor)) static void oa_test_reg_##name(void) {                            \
        oa_test_register(#name, oa_test_##name);                                                   \
    }                                                                                              \
    static void oa_test_##name(void)

#define OA_FAIL_AT(...)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                                            \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fprintf(stderr, "\n");                                                                     \
        oa_test_failed_flag = 1;                                                                   \
    } while (0)

/* Fail the current test (and return from it) when `cond` is false. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            OA_FAIL_AT("CHECK(%s) failed", #cond);                                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Integer equality; both values are printed as signed and unsigned 64-bit. */
#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        uint64_t oa_a_ = (uint64_t)(a), oa_b_ = (uint64_t)(b);                                     \
        if (oa_a_ != oa_b_) {                                                                      \
            OA_FAIL_AT("CHECK_EQ(%s, %s) failed: %" PRId64 " (0x%" PRIx64 ") != %" PRId64          \
                       " (0x%" PRIx64 ")",                                                         \
                       #a, #b, (int64_t)oa_a_, oa_a_, (int64_t)oa_b_, oa_b_);                      \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* An oa_result equality that prints the result names. Needs orderly.h. */
#define CHECK_RESULT(expr, expected)                                                               \
    do {                                                                                           \
        oa_result oa_r_ = (expr);                                                                  \
        if (oa_r_ != (expected)) {                                                                 \
            OA_FAIL_AT("%s returned %s, expected %s", #expr, oa_result_name(oa_r_),                \
                       oa_result_name(expected));                                                  \
            return;                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_RESULT(expr, OA_SUCCESS)

static inline int oa_test_run_all(int argc, char** argv) {
    int passed = 0, failed = 0;
    for (int i = 0; i < oa_test_count; i++) {
        if (argc > 1) {
            int wanted = 0;
            for (int k = 1; k < argc; k++) {
                if (argv[k][0] != '-' && strcmp(argv[k], oa_test_registry[i].name) == 0) {
                    wanted = 1;
                }
            }
            if (!wanted) {
                continue;
            }
        }
        oa_test_failed_flag = 0;
        oa_test_registry[i].fn();
        if (oa_test_failed_flag) {
            fprintf(stderr, "FAIL %s\n", oa_test_registry[i].name);
            failed++;
        } else {
            printf("ok   %s\n", oa_test_registry[i].name);
            passed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 && passed > 0 ? 0 : 1;
}

#define OA_TEST_MAIN()                                                                             \
    int main(int argc, char** argv) {                                                              \
        return oa_test_run_all(argc, argv);                                                        \
    }

#endif /* OA_TEST_H */
