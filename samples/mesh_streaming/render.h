/* render.h - pipelines and the frame's draws: one vkCmdDrawIndexedIndirect
 * per vertex format over the one mesh buffer, then the overlay.
 * Per-frame data (instances, draw commands, overlay vertices) lives in
 * mapped ranges of a second orderly_vk pool, one set per frame in flight.
 * Does not decide residency (streaming.c). */
#ifndef SAMPLE_RENDER_H
#define SAMPLE_RENDER_H

#include "overlay.h"
#include "streaming.h"
#include "vkctx.h"

#define MAX_DRAWS_PER_FORMAT 16384
#define MAX_OVERLAY_VERTICES 65536

typedef struct camera {
    float eye[3];
    float forward[3];
    float view_proj[16]; /* column-major, Vulkan clip space */
    float fog_distance;
} camera;

typedef struct frame_data {
    oa_vk_range_info instances; /* instance_data[VF_COUNT * MAX_DRAWS_PER_FORMAT] */
    oa_vk_range_info commands;  /* VkDrawIndexedIndirectCommand, same layout */
    oa_vk_range_info overlay;   /* overlay_vertex[MAX_OVERLAY_VERTICES] */
} frame_data;

typedef struct renderer {
    vkctx* ctx;
    oa_vk_manager* manager; /* the streamer's */
    oa_vk_pool frame_pool;
    frame_data frames[FRAMES_IN_FLIGHT];
    VkPipelineLayout mesh_layout, overlay_layout;
    VkPipeline mesh[VF_COUNT], overlay;
    uint32_t draws[VF_COUNT]; /* last frame */
    uint64_t triangles;       /* last frame */
} renderer;

bool renderer_init(renderer* r, vkctx* ctx, oa_vk_manager* manager);
void renderer_destroy(renderer* r);

/* Overlay vertices of the frame being recorded: write up to `*capacity`. */
overlay_vertex* renderer_overlay_target(renderer* r, uint32_t* capacity);

/* Cull and draw every ready mesh of the streamer, then `overlay_count`
 * overlay vertices. Marks each drawn mesh as used by `signal_value`. */
void renderer_draw(renderer* r, VkCommandBuffer cmd, streamer* s, const camera* cam,
                   uint32_t overlay_count, uint64_t signal_value);

#endif
