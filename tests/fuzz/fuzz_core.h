/* fuzz_core.h - the core allocator's fuzz target, callable without libFuzzer.
 * fuzz_core_run() runs one input against the reference model and returns 0,
 * or prints what diverged and returns 1. LLVMFuzzerTestOneInput() is the same
 * run that aborts on divergence, so libFuzzer keeps the input. */
#ifndef FUZZ_CORE_H
#define FUZZ_CORE_H

#include <stddef.h>
#include <stdint.h>

int fuzz_core_run(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif /* FUZZ_CORE_H */
