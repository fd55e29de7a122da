/* fuzz_core.h - the core allocator's fuzz target, callable without libFuzzer.
 * fuzz_core_run() runs one input against the reference model and returns 0,
 * or prints what diverged and returns 1. LLVMFuzzerTestOneInput() is the same
 * run that aborts on divergence, so libFuzzer keeps the input. */
#ifndef FUZZ_CORE_H
#define FUZZ_CORE_H

#include <stddef.h>
#include <stdint.h>

int fuzz_core_run(const uint8_t* data, size_t size);
/* The full check (oa_allocator_check, a walk of every region against the
 * model) runs every this many operations and after the last; the other
 * operations get a cheap local check. Default 32; 1 checks everything after
 * every operation (replay_main's --full-every). */
extern unsigned fuzz_core_full_every;
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#endif /* FUZZ_CORE_H */
