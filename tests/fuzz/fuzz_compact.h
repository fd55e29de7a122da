/* fuzz_compact.h - the compaction fuzz target, callable without libFuzzer.
 * fuzz_compact_run() runs one input and returns 0, or prints what diverged
 * and returns 1. LLVMFuzzerTestOneInput() is the same run that aborts on
 * divergence, so libFuzzer keeps the input. */
#ifndef FUZZ_COMPACT_H
#define FUZZ_COMPACT_H

#include <stddef.h>
#include <stdint.h>

int fuzz_compact_run(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif /* FUZZ_COMPACT_H */
