/* trace.h - allocation traces: the text format, a fast parser, a generator.
 *
 * Format (text, one record a line):
 *   # comment
 *   capacity <bytes>          pool size to replay against (first record)
 *   a <id> <size> <align>     allocate; ids count up from 0, each used once
 *   f <id>                    free the allocation made as <id>
 * An allocation that fails in replay is absent: its later 'f' is skipped.
 * 'align' need not be a power of two.
 *
 * Recorded traces (what the core's recorder writes, oa_allocator_info.record)
 * use these kinds instead of 'a' and 'f' (the two sets do not mix in one
 * trace). They name allocations by their handle, a 64-bit id in hex; the
 * parser maps each live handle to a dense id, so the replay indexes its
 * slots as for 'a' and 'f'. Results are oa_result values in decimal.
 *   granularity <bytes>                 the allocator's granularity (before any op;
 *                                       default 1)
 *   A <handle> <size> <align> <offset>  alloc that succeeded at <offset>
 *   A - <size> <align> <result>         alloc that failed with <result> (< 0)
 *   F <handle>                          free
 *   F <handle> <result>                 free that was rejected (< 0; nothing changed)
 *   R <handle> <new size> <result>      try_resize and what it returned
 *   G <added bytes> <result>            grow_capacity and what it returned
 *   X                                   reset: every handle is stale from here
 *   P <handle> <size> <offset>          an allocation at a known place (alloc_at):
 *                                       the live allocations when recording began,
 *                                       a compaction pass's reservations
 *   M <handle> <reservation> <offset>   a committed compaction move: the allocation
 *                                       and its reservation swap places, the
 *                                       allocation now at <offset>
 * A handle must be live where a record needs it (F and M; R unless its result
 * is OA_ERROR_STALE_HANDLE or OA_ERROR_INVALID_ARGUMENT, which a replay skips)
 * and not live where it is new (A, P); a line that
 * breaks that, or any other malformed line, is an error naming the line.
 * Every existing trace of 'a' and 'f' records reads exactly as before. */
#ifndef OA_TRACE_H
#define OA_TRACE_H

#include <stdint.h>
#include <stdio.h>

/* What a trace_op does: TRACE_PLAIN for 'a' and 'f' (align tells which), a
 * kind of its own for each recorded record. */
typedef enum trace_kind {
    TRACE_PLAIN = 0,
    TRACE_ALLOC,  /* A: size, align; id the new allocation's */
    TRACE_FREE,   /* F: id */
    TRACE_RESIZE, /* R: id, size = the new size */
    TRACE_GROW,   /* G: size = the bytes added */
    TRACE_RESET,  /* X: ids [size, id) were handed out since the last reset */
    TRACE_PLACE,  /* P: id, size; trace_rec.expect = the offset */
    TRACE_MOVE    /* M: id, trace_rec.other = the reservation's id, size = new offset */
} trace_kind;

typedef struct trace_op {
    uint64_t size;  /* alloc: bytes; free: 0; see trace_kind for the others */
    uint64_t align; /* alloc: >= 1 (A: as recorded, even 0); free: 0 (marks a free) */
    uint32_t id;
    uint32_t kind; /* trace_kind */
} trace_op;

/* Offset of an A record that failed. */
#define TRACE_NO_OFFSET UINT64_MAX

/* What a recorded trace says about each op, beside the op. */
typedef struct trace_rec {
    uint64_t expect; /* A: the offset, or TRACE_NO_OFFSET; P: the offset; else 0 */
    int32_t result;  /* the result recorded (0 where the record has none) */
    uint32_t line;   /* line number in the text, for messages */
    uint32_t other;  /* M: the reservation's id */
} trace_rec;

typedef struct trace {
    char name[64]; /* from the "# <name> ..." header comment, if any */
    uint64_t capacity;
    trace_op* ops;
    size_t op_count;
    uint32_t id_count;    /* largest id + 1 */
    trace_rec* rec;       /* per op for a recorded trace; NULL for a trace of 'a' and 'f' */
    uint64_t granularity; /* from a granularity record; 0 when none */
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
