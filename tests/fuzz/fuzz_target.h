/* fuzz_target.h - what a fuzz target defines, so that one replay main
 * (replay_main.c) runs any of them without libFuzzer.
 * fuzz_target_run() runs one input and returns 0, or prints what diverged and
 * returns 1. LLVMFuzzerTestOneInput() is the same run that aborts on
 * divergence, so libFuzzer keeps the input. Not thread-safe. */
#ifndef FUZZ_TARGET_H
#define FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* The target's name ("fuzz_core", "fuzz_vk"): messages and failure files. */
extern const char fuzz_target_name[];
int fuzz_target_run(const uint8_t* data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
/* The full check (for the core: oa_allocator_check and a walk of every region
 * against the model) runs every this many operations and after the last;
 * the other operations get a cheap local check. 1 checks everything after
 * every operation (replay_main's --full-every). */
extern unsigned fuzz_full_every;

#endif /* FUZZ_TARGET_H */
