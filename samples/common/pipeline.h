/* pipeline.h - shader modules and graphics pipelines for dynamic rendering
 * (see pipeline.c). Both print the reason and return VK_NULL_HANDLE on
 * failure; the caller destroys what they return. */
#ifndef SAMPLE_PIPELINE_H
#define SAMPLE_PIPELINE_H

#include "vkctx.h"

#include <stddef.h>

/* One graphics pipeline: its shaders, layout, vertex input, depth and blend. */
typedef struct pipeline_desc {
    VkShaderModule vs, fs;
    VkPipelineLayout layout;
    const VkVertexInputBindingDescription* bindings;
    uint32_t binding_count;
    const VkVertexInputAttributeDescription* attributes;
    uint32_t attribute_count;
    bool depth, blend;
} pipeline_desc;

/* A shader module from SPIR-V words (`size` in bytes). */
VkShaderModule pipeline_shader_module(vkctx* ctx, const uint32_t* code, size_t size);

/* A graphics pipeline that renders into ctx->color_format / depth_format. */
VkPipeline pipeline_create(vkctx* ctx, const pipeline_desc* d);

#endif
