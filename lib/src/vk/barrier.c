/* barrier.c - the layer's one memory barrier, used by compaction, pool
 * growth and the stager: vkCmdPipelineBarrier2 where the manager has it,
 * else vkCmdPipelineBarrier with the synchronization2 masks mapped onto
 * Vulkan 1.0's. Every mapped mask covers at least what it was given: the
 * copy-like stages become TRANSFER, the input stages VERTEX_INPUT, the
 * pre-rasterization shaders ALL_GRAPHICS, the split shader accesses
 * SHADER_READ / SHADER_WRITE, and a bit Vulkan 1.0 has no name for becomes
 * ALL_COMMANDS (stage) or MEMORY_READ | MEMORY_WRITE (access).
 * Calls no other file of the layer. */
#include "oa_vk_internal.h"

/* Bits 0..31 of the synchronization2 flags are Vulkan 1.0's, same values. */
#define OA__VK_LOW_BITS 0xFFFFFFFFull

static VkPipelineStageFlags oa__vk_stages1(VkPipelineStageFlags2 s) {
    VkPipelineStageFlags r = (VkPipelineStageFlags)(s & OA__VK_LOW_BITS);
    VkPipelineStageFlags2 high = s & ~OA__VK_LOW_BITS;
    const VkPipelineStageFlags2 copies =
        VK_PIPELINE_STAGE_2_COPY_BIT | VK_PIPELINE_STAGE_2_RESOLVE_BIT |
        VK_PIPELINE_STAGE_2_BLIT_BIT | VK_PIPELINE_STAGE_2_CLEAR_BIT;
    const VkPipelineStageFlags2 inputs =
        VK_PIPELINE_STAGE_2_INDEX_INPUT_BIT | VK_PIPELINE_STAGE_2_VERTEX_ATTRIBUTE_INPUT_BIT;
    if ((high & copies) != 0) {
        r |= VK_PIPELINE_STAGE_TRANSFER_BIT;
    }
    if ((high & inputs) != 0) {
        r |= VK_PIPELINE_STAGE_VERTEX_INPUT_BIT;
    }
    if ((high & VK_PIPELINE_STAGE_2_PRE_RASTERIZATION_SHADERS_BIT) != 0) {
        r |= VK_PIPELINE_STAGE_ALL_GRAPHICS_BIT;
    }
    if ((high & ~(copies | inputs | VK_PIPELINE_STAGE_2_PRE_RASTERIZATION_SHADERS_BIT)) != 0) {
        r |= VK_PIPELINE_STAGE_ALL_COMMANDS_BIT;
    }
    return r;
}

static VkAccessFlags oa__vk_access1(VkAccessFlags2 a) {
    VkAccessFlags r = (VkAccessFlags)(a & OA__VK_LOW_BITS);
    VkAccessFlags2 high = a & ~OA__VK_LOW_BITS;
    const VkAccessFlags2 reads =
        VK_ACCESS_2_SHADER_SAMPLED_READ_BIT | VK_ACCESS_2_SHADER_STORAGE_READ_BIT;
    if ((high & reads) != 0) {
        r |= VK_ACCESS_SHADER_READ_BIT;
    }
    if ((high & VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT) != 0) {
        r |= VK_ACCESS_SHADER_WRITE_BIT;
    }
    if ((high & ~(reads | VK_ACCESS_2_SHADER_STORAGE_WRITE_BIT)) != 0) {
        r |= VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT;
    }
    return r;
}

bool oa__vk_has_barrier(const oa_vk_manager* m) {
    return m->cmd_pipeline_barrier2 != NULL || m->vk.vkCmdPipelineBarrier != NULL;
}

void oa__vk_cmd_barrier(const oa_vk_manager* m, VkCommandBuffer cmd,
                        VkPipelineStageFlags2 src_stages, VkAccessFlags2 src_access,
                        VkPipelineStageFlags2 dst_stages, VkAccessFlags2 dst_access) {
    if (m->cmd_pipeline_barrier2 != NULL) {
        const VkMemoryBarrier2 mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
                                     .srcStageMask = src_stages,
                                     .srcAccessMask = src_access,
                                     .dstStageMask = dst_stages,
                                     .dstAccessMask = dst_access};
        const VkDependencyInfo info = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                                       .memoryBarrierCount = 1,
                                       .pMemoryBarriers = &mb};
        m->cmd_pipeline_barrier2(cmd, &info);
        return;
    }
    OA_ASSERT(m->vk.vkCmdPipelineBarrier != NULL && "callers check oa__vk_has_barrier");
    VkPipelineStageFlags src = oa__vk_stages1(src_stages), dst = oa__vk_stages1(dst_stages);
    /* Vulkan 1.0 has no empty stage mask: the ends of the pipe, which take
     * no access. */
    const VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                                .srcAccessMask = src != 0 ? oa__vk_access1(src_access) : 0,
                                .dstAccessMask = dst != 0 ? oa__vk_access1(dst_access) : 0};
    m->vk.vkCmdPipelineBarrier(cmd, src != 0 ? src : VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                               dst != 0 ? dst : VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, 0, 1, &mb, 0,
                               NULL, 0, NULL);
}
