/* overlay_layout.h - where the overlay puts the strip map and which colours
 * it uses. Header only and dependency free: the sample's tests read the
 * screenshot's pixels with the same numbers. */
#ifndef SAMPLE_OVERLAY_LAYOUT_H
#define SAMPLE_OVERLAY_LAYOUT_H

#include <stdint.h>

/* Colours of the strip map. */
#define STRIP_USED_RGB 235, 150, 40
#define STRIP_PENDING_RGB 200, 50, 60
#define STRIP_FREE_RGB 30, 70, 90

/* Clear colour of the scene (sky), 0..1. */
#define SKY_RGB 0.58f, 0.70f, 0.84f

typedef struct overlay_layout {
    float scale;            /* text scale */
    float strip_x, strip_y; /* top-left of the strip map, pixels */
    float strip_w, strip_h;
} overlay_layout;

/* Layout for a framebuffer of width x height pixels. */
static inline overlay_layout overlay_layout_for(uint32_t width, uint32_t height) {
    overlay_layout l;
    l.scale = height >= 600 ? 2.0f : 1.0f;
    float margin = 10.0f * l.scale;
    l.strip_x = margin;
    l.strip_w = (float)width - 2 * margin;
    l.strip_h = 14.0f * l.scale;
    l.strip_y = (float)height - margin - l.strip_h;
    return l;
}

#endif
