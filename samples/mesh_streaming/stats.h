/* stats.h - `--stats FILE`: one JSON object per line per simulated second.
 * Every field but those inside "timing" depends only on the seed and the
 * options, so two runs can be compared line by line once "timing" is
 * dropped. Does not measure anything itself: main.c feeds it. */
#ifndef SAMPLE_STATS_H
#define SAMPLE_STATS_H

#include "streaming.h"

#include <stdio.h>

typedef struct stats_sample {
    uint64_t second; /* simulated seconds elapsed */
    uint64_t frame;
    uint32_t resident;
    uint32_t draws;
    uint64_t triangles;
    oa_vk_pool_stats pool;
    uint64_t buffer_size;
    uint64_t max_range_end; /* largest offset + size of a used region */
    uint64_t region_count;
    bool regions_tile;
    double detail;
    uint32_t map_errors; /* frames whose regions could not be read */
    uint32_t validation_warnings, validation_errors;
} stats_sample;

/* Wall-clock milliseconds of one frame, measured by main.c. */
typedef struct frame_times {
    double frame_ms;  /* the whole frame, waiting for its slot included */
    double stream_ms; /* streamer_update: policy, mesh generation, orderly_vk calls */
    double draw_ms;   /* renderer_draw: culling and draw recording */
    double map_ms;    /* strip map: the region walk */
} frame_times;

typedef struct stats_writer {
    FILE* file;
    stream_counters last; /* counters at the previous line */
    frame_times sum;      /* summed since the previous line */
    uint32_t frames;
} stats_writer;

bool stats_open(stats_writer* w, const char* path);
void stats_close(stats_writer* w);

/* Add one frame's wall-clock times. */
void stats_frame(stats_writer* w, const frame_times* t);

/* Write the line for the second that just ended (no-op without a file). */
void stats_write(stats_writer* w, const stats_sample* s, const stream_counters* c);

#endif
