/* stats.c - JSON lines through cJSON. Deterministic fields first, wall-clock
 * measurements in the nested "timing" object (per-frame averages over the
 * second). */
#include "stats.h"

#include <cJSON.h>

#include <stdlib.h>
#include <string.h>

bool stats_open(stats_writer* w, const char* path) {
    memset(w, 0, sizeof *w);
    if (!path) {
        return true;
    }
    w->file = fopen(path, "w");
    if (!w->file) {
        perror(path);
        return false;
    }
    return true;
}

void stats_close(stats_writer* w) {
    if (w->file) {
        fclose(w->file);
    }
    memset(w, 0, sizeof *w);
}

void stats_frame(stats_writer* w, const frame_times* t) {
    w->sum.frame_ms += t->frame_ms;
    w->sum.stream_ms += t->stream_ms;
    w->sum.draw_ms += t->draw_ms;
    w->sum.map_ms += t->map_ms;
    w->frames++;
}

static void add(cJSON* o, const char* key, double v) {
    cJSON_AddNumberToObject(o, key, v);
}

void stats_write(stats_writer* w, const stats_sample* s, const stream_counters* c) {
    if (!w->file) {
        return;
    }
    cJSON* o = cJSON_CreateObject();
    add(o, "t", (double)s->second);
    add(o, "frame", (double)s->frame);
    add(o, "resident", s->resident);
    add(o, "draws", s->draws);
    add(o, "triangles", (double)s->triangles);
    add(o, "loads", (double)c->loads);
    add(o, "evictions", (double)c->evictions);
    add(o, "evictions_for_space", (double)c->evictions_for_space);
    add(o, "lod_switches", (double)c->lod_switches);
    add(o, "failed_placements", (double)c->failed_placements);
    add(o, "bytes_streamed", (double)(c->bytes_streamed - w->last.bytes_streamed));
    add(o, "bytes_streamed_total", (double)c->bytes_streamed);
    add(o, "buffer_size", (double)s->buffer_size);
    add(o, "range_alignment", (double)s->pool.alignment);
    add(o, "used_bytes", (double)s->pool.used_size);
    add(o, "pending_bytes", (double)s->pool.pending_size);
    add(o, "free_bytes", (double)s->pool.free_size);
    add(o, "largest_free_bytes", (double)s->pool.largest_free_size);
    add(o, "free_regions", (double)s->pool.free_region_count);
    add(o, "ranges", (double)s->pool.allocation_count);
    add(o, "occupancy", s->buffer_size ? (double)s->pool.used_size / (double)s->buffer_size : 0.0);
    add(o, "fragmentation", s->pool.fragmentation);
    add(o, "max_range_end", (double)s->max_range_end);
    add(o, "regions", (double)s->region_count);
    cJSON_AddBoolToObject(o, "regions_tile", s->regions_tile);
    add(o, "range_errors", (double)c->range_errors);
    add(o, "partial_uploads", (double)c->partial_uploads);
    add(o, "grows", (double)c->grows);
    add(o, "grow_bytes_copied", (double)c->grow_bytes_copied);
    add(o, "detail", s->detail);
    add(o, "map_errors", s->map_errors);
    add(o, "validation_warnings", s->validation_warnings);
    add(o, "validation_errors", s->validation_errors);

    cJSON* t = cJSON_AddObjectToObject(o, "timing");
    double n = w->frames ? (double)w->frames : 1.0;
    add(t, "frames", w->frames);
    add(t, "frame_ms", w->sum.frame_ms / n);
    add(t, "stream_ms", w->sum.stream_ms / n);
    add(t, "draw_ms", w->sum.draw_ms / n);
    add(t, "strip_map_ms", w->sum.map_ms / n);

    char* line = cJSON_PrintUnformatted(o);
    if (line) {
        fprintf(w->file, "%s\n", line);
        fflush(w->file);
        free(line);
    }
    cJSON_Delete(o);
    w->last = *c;
    memset(&w->sum, 0, sizeof w->sum);
    w->frames = 0;
}
