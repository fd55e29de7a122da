/* grow.c - the mesh buffer grows in place instead of evicting (--grow-mb).
 * Called by the policy (streaming.c) when a placement fails; the old buffer
 * stays valid for the frames in flight and is released by oa_vk_collect once
 * the frame that copies it retires. Does not choose what to evict. */
#include "grow.h"

#include <stdio.h>

bool streamer_grow(streamer* s, uint64_t need) {
    const uint64_t size = s->info.buffer_size, limit = s->info.grow_limit;
    if (limit <= size || s->frame_cmd == VK_NULL_HANDLE) {
        return false;
    }
    uint64_t target = size * 2 > size + need ? size * 2 : size + need;
    target = target < limit ? target : limit;
    const oa_vk_grow_info info = {
        .new_size = target,
        .command_buffer = s->frame_cmd,
        .signal_value = s->frame_signal,
        .dst_stage_mask = VK_PIPELINE_STAGE_2_VERTEX_ATTRIBUTE_INPUT_BIT |
                          VK_PIPELINE_STAGE_2_INDEX_INPUT_BIT | VK_PIPELINE_STAGE_2_COPY_BIT,
        .dst_access_mask = VK_ACCESS_2_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_2_INDEX_READ_BIT |
                           VK_ACCESS_2_TRANSFER_WRITE_BIT,
    };
    oa_vk_grow_result res;
    const oa_vk_result r = oa_vk_pool_grow(s->manager, s->pool, 0, &info, &res);
    if (r < 0) {
        fprintf(stderr, "note: growing the mesh buffer to %.1f MiB failed (%s): evicting instead\n",
                (double)target / 1048576.0, oa_vk_result_name(r));
        s->count.grow_failures++;
        s->info.grow_limit = size; /* do not ask again every frame */
        return false;
    }
    /* A compaction pass whose copies have not retired may be in flight: the
     * grow's copy comes after them and carries their result over. */
    oa_vk_compact_stats cs;
    const bool during_pass = oa_vk_compact_get_stats(s->manager, s->pool, &cs) == OA_VK_SUCCESS &&
                             cs.is_recorded && !cs.is_complete;
    printf("mesh buffer grown %.1f -> %.1f MiB at frame value %llu: %.2f MiB copied in %u "
           "regions, every mesh at its offset%s\n",
           (double)size / 1048576.0, (double)res.new_size / 1048576.0,
           (unsigned long long)s->frame_signal, (double)res.copied_size / 1048576.0,
           res.region_count, during_pass ? " (a compaction pass in flight)" : "");
    /* Every range of the block now lies in the new buffer, at its offset:
     * the meshes' descriptors follow (draws bind s->buffer). */
    s->buffer = res.buffer;
    for (uint32_t i = 0; i < s->w->object_count; i++) {
        if (s->slots[i].range.handle.id != 0) {
            s->slots[i].range.buffer = res.buffer;
        }
    }
    s->info.buffer_size = res.new_size;
    s->count.grows++;
    s->count.grow_bytes_copied += res.copied_size;
    return true;
}
