/* render.c - the frame's draws from the one mesh buffer, and the per-frame
 * data (instances, indirect commands, overlay vertices) in mapped ranges of
 * an orderly_vk pool on the manager that main.c owns. Pipelines are built
 * with samples/common/pipeline.c.
 * Draw commands are grouped by vertex format: the mesh buffer is bound once
 * as vertex buffer and once as index buffer, both at offset 0, and each draw
 * reaches its mesh through vertexOffset = offset / stride and firstIndex =
 * index offset / 4 (binding the index buffer at a non-zero offset makes some
 * drivers draw nothing from indirect commands).
 * Invariant: only meshes whose upload is queued in this or an earlier submit
 * are drawn; the stager's barrier orders the copies before vertex input. */
#include "render.h"

#include "pipeline.h"
#include "sample_spirv.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct instance_data {
    float pos_scale[4];
    float tint_yaw[4];
} instance_data;

typedef struct mesh_push {
    float view_proj[16];
    float eye_fog[4];
    float sun[4];
} mesh_push;

static bool create_pipelines(renderer* r) {
    vkctx* ctx = r->ctx;
    VkPushConstantRange mesh_pc = {VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                                   sizeof(mesh_push)};
    VkPipelineLayoutCreateInfo li = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .pushConstantRangeCount = 1,
        .pPushConstantRanges = &mesh_pc,
    };
    if (ctx->vk.vkCreatePipelineLayout(ctx->device, &li, NULL, &r->mesh_layout) != VK_SUCCESS) {
        return false;
    }
    VkPushConstantRange ov_pc = {VK_SHADER_STAGE_VERTEX_BIT, 0, 2 * sizeof(float)};
    li.pPushConstantRanges = &ov_pc;
    if (ctx->vk.vkCreatePipelineLayout(ctx->device, &li, NULL, &r->overlay_layout) != VK_SUCCESS) {
        return false;
    }
    const struct {
        const uint32_t* code;
        size_t size;
    } vs[VF_COUNT] = {{spv_mesh_pn_vert, sizeof spv_mesh_pn_vert},
                      {spv_mesh_pnuv_vert, sizeof spv_mesh_pnuv_vert},
                      {spv_mesh_pnuvc_vert, sizeof spv_mesh_pnuvc_vert}};
    VkShaderModule fs = pipeline_shader_module(ctx, spv_mesh_frag, sizeof spv_mesh_frag);
    bool ok = fs != VK_NULL_HANDLE;
    for (uint32_t f = 0; f < VF_COUNT && ok; f++) {
        VkVertexInputBindingDescription b[2] = {
            {0, vf_stride[f], VK_VERTEX_INPUT_RATE_VERTEX},
            {1, sizeof(instance_data), VK_VERTEX_INPUT_RATE_INSTANCE},
        };
        VkVertexInputAttributeDescription a[6] = {
            {0, 0, VK_FORMAT_R32G32B32_SFLOAT, 0},    {1, 0, VK_FORMAT_R32G32B32_SFLOAT, 12},
            {4, 1, VK_FORMAT_R32G32B32A32_SFLOAT, 0}, {5, 1, VK_FORMAT_R32G32B32A32_SFLOAT, 16},
            {2, 0, VK_FORMAT_R32G32_SFLOAT, 24},      {3, 0, VK_FORMAT_R8G8B8A8_UNORM, 32},
        };
        VkShaderModule vm = pipeline_shader_module(ctx, vs[f].code, vs[f].size);
        pipeline_desc d = {vm, fs, r->mesh_layout, b, 2, a, 4 + f, true, false};
        r->mesh[f] = pipeline_create(ctx, &d);
        ok = vm && r->mesh[f];
        ctx->vk.vkDestroyShaderModule(ctx->device, vm, NULL);
    }
    ctx->vk.vkDestroyShaderModule(ctx->device, fs, NULL);
    if (!ok) {
        return false;
    }
    VkShaderModule ovs = pipeline_shader_module(ctx, spv_overlay_vert, sizeof spv_overlay_vert);
    VkShaderModule ofs = pipeline_shader_module(ctx, spv_overlay_frag, sizeof spv_overlay_frag);
    VkVertexInputBindingDescription ob = {0, sizeof(overlay_vertex), VK_VERTEX_INPUT_RATE_VERTEX};
    VkVertexInputAttributeDescription oa[2] = {
        {0, 0, VK_FORMAT_R32G32_SFLOAT, 0},
        {1, 0, VK_FORMAT_R8G8B8A8_UNORM, 8},
    };
    pipeline_desc od = {ovs, ofs, r->overlay_layout, &ob, 1, oa, 2, false, true};
    r->overlay = ovs && ofs ? pipeline_create(ctx, &od) : VK_NULL_HANDLE;
    ctx->vk.vkDestroyShaderModule(ctx->device, ovs, NULL);
    ctx->vk.vkDestroyShaderModule(ctx->device, ofs, NULL);
    return r->overlay != VK_NULL_HANDLE;
}

bool renderer_init(renderer* r, vkctx* ctx, oa_vk_manager* manager) {
    memset(r, 0, sizeof *r);
    r->ctx = ctx;
    r->manager = manager;
    if (!create_pipelines(r)) {
        return false;
    }
    /* Per-frame data: a small mapped pool, one set of ranges per frame slot,
     * allocated once. */
    oa_vk_pool_info pinfo = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT,
        .intent = OA_VK_INTENT_DYNAMIC,
        .block_size = 8u << 20,
        .max_block_count = 1,
        .name = "frame data",
    };
    oa_vk_result res = oa_vk_pool_create(manager, &pinfo, &r->frame_pool);
    for (int i = 0; i < FRAMES_IN_FLIGHT && res >= 0; i++) {
        frame_data* f = &r->frames[i];
        res = oa_vk_alloc(manager, r->frame_pool,
                          sizeof(instance_data) * VF_COUNT * MAX_DRAWS_PER_FORMAT,
                          sizeof(instance_data), &f->instances);
        if (res >= 0) {
            res =
                oa_vk_alloc(manager, r->frame_pool,
                            sizeof(VkDrawIndexedIndirectCommand) * VF_COUNT * MAX_DRAWS_PER_FORMAT,
                            4, &f->commands);
        }
        if (res >= 0) {
            res = oa_vk_alloc(manager, r->frame_pool, sizeof(overlay_vertex) * MAX_OVERLAY_VERTICES,
                              sizeof(overlay_vertex), &f->overlay);
        }
    }
    if (res < 0) {
        fprintf(stderr, "error: frame data: %s\n", oa_vk_result_name(res));
        return false;
    }
    return true;
}

void renderer_destroy(renderer* r) {
    vkctx* ctx = r->ctx;
    if (!ctx) {
        return;
    }
    for (int f = 0; f < VF_COUNT; f++) {
        ctx->vk.vkDestroyPipeline(ctx->device, r->mesh[f], NULL);
    }
    ctx->vk.vkDestroyPipeline(ctx->device, r->overlay, NULL);
    ctx->vk.vkDestroyPipelineLayout(ctx->device, r->mesh_layout, NULL);
    ctx->vk.vkDestroyPipelineLayout(ctx->device, r->overlay_layout, NULL);
    /* The GPU is idle: free at once, then the pool must be empty. */
    oa_vk_result res = OA_VK_SUCCESS;
    for (int i = 0; i < FRAMES_IN_FLIGHT; i++) {
        const oa_vk_range_info* rs[3] = {&r->frames[i].instances, &r->frames[i].commands,
                                         &r->frames[i].overlay};
        for (int k = 0; k < 3; k++) {
            oa_vk_result fr = oa_vk_free(r->manager, rs[k]->handle);
            res = fr < 0 ? fr : res;
        }
    }
    oa_vk_result pr = oa_vk_pool_destroy(r->manager, r->frame_pool, 0);
    res = pr < 0 ? pr : res;
    if (res < 0) {
        fprintf(stderr, "error: releasing frame data: %s\n", oa_vk_result_name(res));
    }
    memset(r, 0, sizeof *r);
}

overlay_vertex* renderer_overlay_target(renderer* r, uint32_t* capacity) {
    *capacity = MAX_OVERLAY_VERTICES;
    return r->frames[r->ctx->frame % FRAMES_IN_FLIGHT].overlay.mapped;
}

static bool sphere_visible(const float planes[6][4], const float c[3], float radius) {
    for (int p = 0; p < 6; p++) {
        if (planes[p][0] * c[0] + planes[p][1] * c[1] + planes[p][2] * c[2] + planes[p][3] <
            -radius) {
            return false;
        }
    }
    return true;
}

/* Planes (inside >= 0) of a column-major view-projection matrix, scaled to
 * unit normals so that a sphere test compares distances in metres. */
static void frustum_planes(const float m[16], float planes[6][4]) {
    for (int i = 0; i < 4; i++) {
        float row0 = m[i * 4 + 0], row1 = m[i * 4 + 1], row2 = m[i * 4 + 2], row3 = m[i * 4 + 3];
        planes[0][i] = row3 + row0;
        planes[1][i] = row3 - row0;
        planes[2][i] = row3 + row1;
        planes[3][i] = row3 - row1;
        planes[4][i] = row2; /* depth 0..1 */
        planes[5][i] = row3 - row2;
    }
    for (int p = 0; p < 6; p++) {
        float len = sqrtf(planes[p][0] * planes[p][0] + planes[p][1] * planes[p][1] +
                          planes[p][2] * planes[p][2]);
        for (int i = 0; i < 4; i++) {
            planes[p][i] /= len;
        }
    }
}

void renderer_draw(renderer* r, VkCommandBuffer cmd, streamer* s, const camera* cam,
                   uint32_t overlay_count, uint64_t signal_value) {
    vkctx* ctx = r->ctx;
    const struct VolkDeviceTable* vk = &ctx->vk;
    frame_data* f = &r->frames[ctx->frame % FRAMES_IN_FLIGHT];
    instance_data* inst = f->instances.mapped;
    VkDrawIndexedIndirectCommand* cmds = f->commands.mapped;
    float planes[6][4];
    frustum_planes(cam->view_proj, planes);
    uint32_t n_inst = 0;
    memset(r->draws, 0, sizeof r->draws);
    r->triangles = 0;
    for (uint32_t k = 0; k < s->resident_count; k++) {
        uint32_t i = s->resident[k];
        const mesh_slot* m = &s->slots[i];
        const world_object* o = &s->w->objects[i];
        if (!m->ready || r->draws[o->format] >= MAX_DRAWS_PER_FORMAT ||
            !sphere_visible(planes, o->centre, o->radius)) {
            continue;
        }
        uint32_t stride = vf_stride[o->format];
        VkDrawIndexedIndirectCommand* c =
            &cmds[o->format * MAX_DRAWS_PER_FORMAT + r->draws[o->format]++];
        c->indexCount = m->index_count;
        c->instanceCount = 1;
        c->firstIndex = (uint32_t)((m->range.offset + (uint64_t)m->vertex_count * stride) / 4);
        c->vertexOffset = (int32_t)(m->range.offset / stride);
        c->firstInstance = n_inst;
        instance_data* d = &inst[n_inst++];
        memcpy(d->pos_scale, o->pos, sizeof o->pos);
        d->pos_scale[3] = o->scale;
        memcpy(d->tint_yaw, o->tint, sizeof o->tint);
        d->tint_yaw[3] = o->yaw;
        r->triangles += m->index_count / 3;
        streamer_mark_used(s, i, signal_value);
    }
    /* Host writes to mapped ranges: flush (a no-op on coherent memory). */
    const oa_vk_range_info* written[3] = {&f->instances, &f->commands, &f->overlay};
    for (int k = 0; k < 3; k++) {
        oa_vk_result fr = oa_vk_flush(r->manager, written[k]->handle, 0, VK_WHOLE_SIZE);
        if (fr < 0) {
            fprintf(stderr, "error: oa_vk_flush: %s\n", oa_vk_result_name(fr));
        }
    }

    const float sky[3] = {SKY_RGB};
    vkctx_begin_rendering(ctx, cmd, sky);
    mesh_push pc;
    memcpy(pc.view_proj, cam->view_proj, sizeof pc.view_proj);
    memcpy(pc.eye_fog, cam->eye, sizeof cam->eye);
    pc.eye_fog[3] = cam->fog_distance;
    const float sun[4] = {0.45f, 0.8f, 0.35f, 0.0f};
    memcpy(pc.sun, sun, sizeof sun);
    if (s->buffer) {
        VkBuffer vbs[2] = {s->buffer, f->instances.buffer};
        VkDeviceSize offs[2] = {0, f->instances.offset};
        vk->vkCmdBindVertexBuffers(cmd, 0, 2, vbs, offs);
        vk->vkCmdBindIndexBuffer(cmd, s->buffer, 0, VK_INDEX_TYPE_UINT32);
        for (uint32_t fmt = 0; fmt < VF_COUNT; fmt++) {
            if (r->draws[fmt] == 0) {
                continue;
            }
            vk->vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, r->mesh[fmt]);
            vk->vkCmdPushConstants(cmd, r->mesh_layout,
                                   VK_SHADER_STAGE_VERTEX_BIT | VK_SHADER_STAGE_FRAGMENT_BIT, 0,
                                   sizeof pc, &pc);
            vk->vkCmdDrawIndexedIndirect(cmd, f->commands.buffer,
                                         f->commands.offset +
                                             (VkDeviceSize)fmt * MAX_DRAWS_PER_FORMAT *
                                                 sizeof(VkDrawIndexedIndirectCommand),
                                         r->draws[fmt], sizeof(VkDrawIndexedIndirectCommand));
        }
    }
    if (overlay_count) {
        vk->vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_GRAPHICS, r->overlay);
        float inv[2] = {2.0f / (float)ctx->extent.width, 2.0f / (float)ctx->extent.height};
        vk->vkCmdPushConstants(cmd, r->overlay_layout, VK_SHADER_STAGE_VERTEX_BIT, 0, sizeof inv,
                               inv);
        vk->vkCmdBindVertexBuffers(cmd, 0, 1, &f->overlay.buffer, &f->overlay.offset);
        vk->vkCmdDraw(cmd, overlay_count, 1, 0, 0);
    }
    vkctx_end_rendering(ctx, cmd);
}
