/* oa_test_hooks.h - entry points for the core's own tests (not installed).
 * They reach states that a real run needs billions of calls to reach. */
#ifndef OA_TEST_HOOKS_H
#define OA_TEST_HOOKS_H

#include "orderly/orderly.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Give every slot on the idle queue (slots whose allocation was freed and
 * that wait to hold another) the age `age`, so that the next allocations
 * taken from them hand out generations near the end of their range.
 * Ages at or past the last one are ignored. */
OA_API void oa__test_set_idle_age(oa_allocator* allocator, uint32_t age);

#ifdef __cplusplus
}
#endif

#endif /* OA_TEST_HOOKS_H */
