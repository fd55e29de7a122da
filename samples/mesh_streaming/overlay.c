/* overlay.c - status text (stb_easy_font quads turned into triangles), a
 * translucent panel behind it, and the strip map: one column per pixel of
 * the mesh buffer's address range, coloured by the share of used, pending
 * and free bytes in it, runs of equal colour merged into one quad.
 * Invariant: never writes more than `capacity` vertices. */
#include "overlay.h"

#include <stb/stb_easy_font.h>

#include <stdlib.h>
#include <string.h>

#define TEXT_SCRATCH_SIZE (1 << 16)

typedef struct sink {
    overlay_vertex* v;
    uint32_t n, cap;
    char* scratch; /* TEXT_SCRATCH_SIZE bytes for stb_easy_font */
} sink;

static void quad(sink* s, float x0, float y0, float x1, float y1, const uint8_t c[4]) {
    if (s->n + 6 > s->cap) {
        return;
    }
    const float p[6][2] = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y0}, {x1, y1}, {x0, y1}};
    for (int i = 0; i < 6; i++) {
        overlay_vertex* o = &s->v[s->n++];
        o->x = p[i][0];
        o->y = p[i][1];
        memcpy(o->rgba, c, 4);
    }
}

static void text(sink* s, float x, float y, float scale, const char* str, const uint8_t c[4]) {
    /* stb_easy_font writes quads of {x, y, z, rgba} (16 bytes a vertex). */
    char* buf = s->scratch;
    if (!buf) {
        return;
    }
    unsigned char col[4] = {c[0], c[1], c[2], c[3]};
    int quads = stb_easy_font_print(0, 0, (char*)str, col, buf, TEXT_SCRATCH_SIZE);
    for (int q = 0; q < quads; q++) {
        const float* v0 = (const float*)(buf + q * 64);
        const float* v2 = (const float*)(buf + q * 64 + 32);
        quad(s, x + v0[0] * scale, y + v0[1] * scale, x + v2[0] * scale, y + v2[1] * scale, c);
    }
}

static void mix(uint8_t out[4], float used, float pending) {
    const float u[3] = {STRIP_USED_RGB}, p[3] = {STRIP_PENDING_RGB}, f[3] = {STRIP_FREE_RGB};
    if (used > 1) {
        used = 1;
    }
    if (pending > 1 - used) {
        pending = 1 - used;
    }
    float free = 1 - used - pending;
    for (int i = 0; i < 3; i++) {
        float c = u[i] * used + p[i] * pending + f[i] * free;
        out[i] = (uint8_t)(c + 0.5f);
    }
    out[3] = 255;
}

uint32_t overlay_build(overlay_vertex* out, uint32_t capacity, uint32_t width, uint32_t height,
                       const char* const* lines, uint32_t line_count, const bufmap* map) {
    sink s = {out, 0, capacity, malloc(TEXT_SCRATCH_SIZE)};
    overlay_layout l = overlay_layout_for(width, height);
    const uint8_t panel[4] = {10, 14, 20, 170}, white[4] = {240, 240, 240, 255};
    float line_h = 11.0f * l.scale, pad = 6.0f * l.scale;
    float panel_w = 0;
    for (uint32_t i = 0; i < line_count; i++) {
        float w = (float)stb_easy_font_width((char*)lines[i]) * l.scale;
        panel_w = w > panel_w ? w : panel_w;
    }
    quad(&s, l.strip_x - pad / 2, pad, l.strip_x + panel_w + pad,
         pad * 2 + line_h * (float)line_count, panel);
    for (uint32_t i = 0; i < line_count; i++) {
        text(&s, l.strip_x + pad / 2, pad * 1.5f + line_h * (float)i, l.scale, lines[i], white);
    }

    /* Strip map: a dark frame, then merged runs of columns. */
    const uint8_t frame[4] = {0, 0, 0, 200};
    quad(&s, l.strip_x - 2, l.strip_y - 2, l.strip_x + l.strip_w + 2, l.strip_y + l.strip_h + 2,
         frame);
    uint32_t cols = map->columns;
    float cw = l.strip_w / (float)(cols ? cols : 1);
    uint32_t start = 0;
    uint8_t run[4] = {0, 0, 0, 0};
    for (uint32_t c = 0; c <= cols; c++) {
        uint8_t col[4] = {0, 0, 0, 0};
        if (c < cols) {
            mix(col, map->used[c], map->pending[c]);
        }
        if (c == cols || memcmp(col, run, 4) != 0) {
            if (c > start) {
                quad(&s, l.strip_x + cw * (float)start, l.strip_y, l.strip_x + cw * (float)c,
                     l.strip_y + l.strip_h, run);
            }
            start = c;
            memcpy(run, col, 4);
        }
    }
    /* Legend above the strip. */
    const uint8_t used[4] = {STRIP_USED_RGB, 255}, pending[4] = {STRIP_PENDING_RGB, 255},
                  freec[4] = {STRIP_FREE_RGB, 255};
    float ly = l.strip_y - line_h - 4 * l.scale, lx = l.strip_x;
    const char* label = "mesh buffer:";
    quad(&s, lx - 2, ly - 2, lx + l.strip_w + 2, ly + line_h, frame);
    text(&s, lx, ly, l.scale, label, white);
    lx += (float)(stb_easy_font_width((char*)label) + 8) * l.scale;
    const struct {
        const uint8_t* c;
        const char* name;
    } keys[3] = {{used, "used"}, {pending, "pending free"}, {freec, "free"}};
    for (int k = 0; k < 3; k++) {
        quad(&s, lx, ly, lx + 8 * l.scale, ly + 7 * l.scale, keys[k].c);
        lx += 11 * l.scale;
        text(&s, lx, ly, l.scale, keys[k].name, white);
        lx += (float)(stb_easy_font_width((char*)keys[k].name) + 10) * l.scale;
    }
    free(s.scratch);
    return s.n;
}
