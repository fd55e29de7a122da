/* trace.h - allocation traces: the text format, a fast parser, a generator.
 *
 * Format (text, one record a line):
 *   # comment
 *   capacity <bytes>          pool size to replay against (first record)
 *   a <id> <size> <align>     allocate; ids count up from 0, each used once
 *   f <id>                    free the allocation made as <id>
 * An allocation that fails in replay is absent: its later 'f' is skipped.
 * 'align' need not be a power of two. */
#ifndef OA_TRACE_H
#define OA_TRACE_H

#include <stdint.h>
#include <stdio.h>

typedef struct trace_op {
    uint64_t size;  /* alloc: bytes; free: 0 */
    uint64_t align; /* alloc: >= 1; free: 0 (marks a free) */
    uint32_t id;
} trace_op;

typedef struct trace {
    char name[64]; /* from the "# <name> ..." header comment, if any */
    uint64_t capacity;
    trace_op* ops;
    size_t op_count;
    uint32_t id_count; /* largest id + 1 */
} trace;

/* Parse `len` bytes of trace text. Returns 0, or -1 with a message in `err`
 * naming the line. */
int trace_parse(const char* text, size_t len, trace* out, char* err, size_t err_size);
/* Read and parse a whole file ("-" for standard input). */
int trace_load(const char* path, trace* out, char* err, size_t err_size);
void trace_free(trace* t);

/* The workloads the generator knows, NULL-terminated, and a one-line
 * description of each. */
extern const char* const trace_workloads[];
const char* trace_workload_about(const char* name);

/* What a trace is generated from. Zero align and negative probes mean the
 * kind's default. */
typedef struct trace_params {
    uint64_t seed;
    double scale;   /* > 0; 1.0 is the workload's full size */
    uint64_t align; /* vma, vma-fail, vma-fit: every request's alignment (default 1) */
    int64_t probes; /* vma-fail, vma-fit and the crafted kinds: requests after the setup */
} trace_params;

/* Write workload `name` to `out`. Deterministic: the same arguments give the
 * same bytes. Returns 0, -1 for an unknown name, or -2 when `params` sets an
 * option (align, probes) that the kind does not take. */
int trace_generate(const char* name, const trace_params* params, FILE* out);

#endif /* OA_TRACE_H */
