/* compact.h - --compact-at F: compaction of the mesh buffer, spread over
 * frames. When the buffer's fragmentation passes F, one bounded pass per
 * frame (oa_vk_compact_*) moves meshes toward the start of the buffer until
 * it falls to F / 2 or no pass helps; the draw data of every moved mesh is
 * patched from the move list before the frame's draws.
 * Does not choose what is resident (streaming.c) and draws nothing.
 * Invariant: at most one pass is open; a mesh's range info is the one its
 * draws use from the frame the pass is recorded in. */
#ifndef SAMPLE_COMPACT_H
#define SAMPLE_COMPACT_H

#include "streaming.h"

#define COMPACT_MAX_MOVES 64

typedef struct compactor {
    double threshold;                    /* start when fragmentation passes it; 0 = off */
    uint64_t pass_bytes;                 /* bytes moved per pass (per frame) at most */
    bool active;                         /* compacting: a run of passes */
    bool in_flight;                      /* a pass recorded, waiting for its frame to retire */
    uint32_t run_passes;                 /* passes of the current run */
    uint64_t run_bytes;                  /* bytes of the current run */
    double run_start_frag;               /* fragmentation when the run started */
    uint32_t run_start;                  /* frame when the run started */
    uint64_t runs, passes, moves, bytes; /* totals */
    uint64_t largest_pass;               /* bytes of the largest pass */
    uint64_t errors;                     /* calls that failed (must stay 0) */
    uint64_t stale_draws; /* resident meshes whose draw offset is not the manager's (stays 0) */
    oa_vk_compact_move list[COMPACT_MAX_MOVES];
} compactor;

/* One frame: if a run is on (or fragmentation passes the threshold), plan a
 * pass, record its copies into `cmd` (which signals `signal_value`), and
 * patch the moved meshes' range info. Call after streamer_update and before
 * the frame's draws. `frame` is for the log lines. With compaction on, it
 * also checks every resident mesh's offset against the manager's (a missed
 * patch counts in stale_draws). */
void compactor_frame(compactor* c, streamer* s, VkCommandBuffer cmd, uint64_t signal_value,
                     uint32_t frame);

/* The overlay's fourth status line: placements, detail, compaction. */
void compactor_line(const compactor* c, char* out, size_t size, uint64_t failed_placements,
                    float detail);
/* Print the totals (nothing when compaction is off). */
void compactor_summary(const compactor* c);

#endif
