/* overlay.h - the status panel and the strip map of the mesh buffer, built
 * as screen-space triangles (pixels, origin top-left) for render.c.
 * Text comes from stb_easy_font; the strip map from a bufmap.
 * Does not touch Vulkan. */
#ifndef SAMPLE_OVERLAY_H
#define SAMPLE_OVERLAY_H

#include "bufmap.h"
#include "overlay_layout.h"

#include <stdint.h>

typedef struct overlay_vertex {
    float x, y;
    uint8_t rgba[4];
} overlay_vertex;

/* Build the overlay: `lines` lines of text in a panel at the top left, the
 * strip map with its legend at the bottom. Returns the vertex count written
 * (at most `capacity`). */
uint32_t overlay_build(overlay_vertex* out, uint32_t capacity, uint32_t width, uint32_t height,
                       const char* const* lines, uint32_t line_count, const bufmap* map);

#endif
