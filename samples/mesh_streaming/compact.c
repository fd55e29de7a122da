/* compact.c - the sample's compaction policy over the manager's passes:
 * start a run when fragmentation passes the threshold, one pass of at most
 * pass_bytes per frame, stop at half the threshold or when a pass would not
 * help, and patch the moved meshes (their range info gives the draws'
 * vertexOffset and firstIndex). A range's tag is its object index + 1
 * (streaming.c sets it), so a move finds its mesh in O(1). */
#include "compact.h"

#include <stdio.h>
#include <string.h>

static double fragmentation(const streamer* s) {
    oa_vk_pool_stats ps;
    if (oa_vk_pool_get_stats(s->manager, s->pool, &ps) < 0) {
        return 0;
    }
    return ps.fragmentation;
}

static void end_run(compactor* c, const streamer* s, uint32_t frame, const char* why) {
    printf("compaction run %llu, frames %u-%u: fragmentation %.3f -> %.3f, %u passes, %.2f MiB "
           "moved (%s)\n",
           (unsigned long long)c->runs, c->run_start, frame, c->run_start_frag, fragmentation(s),
           c->run_passes, (double)c->run_bytes / 1048576.0, why);
    c->active = false;
}

/* Point every moved mesh at its new place. */
static void patch(compactor* c, streamer* s, uint32_t n) {
    for (uint32_t k = 0; k < n; k++) {
        oa_vk_range_info info;
        if (oa_vk_range_get_info(s->manager, c->list[k].range, &info) < 0 || info.tag == 0 ||
            info.tag > s->w->object_count) {
            c->errors++;
            continue;
        }
        mesh_slot* m = &s->slots[info.tag - 1];
        if (m->range.handle.id != info.handle.id) {
            c->errors++;
            continue;
        }
        m->range = info;
    }
}

static void compactor_step(compactor* c, streamer* s, VkCommandBuffer cmd, uint64_t signal_value,
                           uint32_t frame);

/* Every resident mesh draws from where the manager says its range is. */
static void check_draws(compactor* c, const streamer* s) {
    for (uint32_t k = 0; k < s->resident_count; k++) {
        const mesh_slot* m = &s->slots[s->resident[k]];
        oa_vk_range_info info;
        if (oa_vk_range_get_info(s->manager, m->range.handle, &info) < 0 ||
            info.offset != m->range.offset || info.buffer != m->range.buffer) {
            c->stale_draws++;
        }
    }
}

void compactor_frame(compactor* c, streamer* s, VkCommandBuffer cmd, uint64_t signal_value,
                     uint32_t frame) {
    if (c->threshold <= 0) {
        return;
    }
    compactor_step(c, s, cmd, signal_value, frame);
    check_draws(c, s);
}

static void compactor_step(compactor* c, streamer* s, VkCommandBuffer cmd, uint64_t signal_value,
                           uint32_t frame) {
    if (c->in_flight) {
        oa_vk_compact_stats st;
        if (oa_vk_compact_get_stats(s->manager, s->pool, &st) < 0) {
            c->errors++;
            return;
        }
        if (!st.is_complete) {
            return; /* its frame has not retired: the next pass waits */
        }
        c->in_flight = false;
    }
    const double frag = fragmentation(s);
    if (!c->active) {
        if (frag <= c->threshold) {
            return;
        }
        c->active = true;
        c->runs++;
        c->run_passes = 0;
        c->run_bytes = 0;
        c->run_start = frame;
        c->run_start_frag = frag;
    } else if (frag <= c->threshold / 2) {
        end_run(c, s, frame, "below half the threshold");
        return;
    }
    const oa_vk_compact_limits limits = {.max_bytes = c->pass_bytes};
    uint32_t n = 0;
    oa_vk_result r =
        oa_vk_compact_begin(s->manager, s->pool, &limits, c->list, COMPACT_MAX_MOVES, &n, NULL);
    if (r == OA_VK_NOT_NEEDED) {
        end_run(c, s, frame, "no pass would help");
        return;
    }
    if (r == OA_VK_SUCCESS) {
        r = oa_vk_compact_record(s->manager, s->pool, cmd, signal_value);
    }
    if (r < 0) {
        fprintf(stderr, "error: compaction: %s\n", oa_vk_result_name(r));
        c->errors++;
        (void)oa_vk_compact_abort(s->manager, s->pool);
        end_run(c, s, frame, "error");
        return;
    }
    patch(c, s, n);
    uint64_t bytes = 0;
    for (uint32_t k = 0; k < n; k++) {
        bytes += c->list[k].size;
    }
    c->in_flight = true;
    c->run_passes++;
    c->run_bytes += bytes;
    c->passes++;
    c->moves += n;
    c->bytes += bytes;
    c->largest_pass = bytes > c->largest_pass ? bytes : c->largest_pass;
}

void compactor_line(const compactor* c, char* out, size_t size, uint64_t failed_placements,
                    float detail) {
    if (c->threshold <= 0) {
        snprintf(out, size, "failed placements %llu  detail %.2f",
                 (unsigned long long)failed_placements, detail);
        return;
    }
    snprintf(out, size, "failed placements %llu  detail %.2f  compaction %s: %llu passes %.1f MiB",
             (unsigned long long)failed_placements, detail, c->active ? "running" : "idle",
             (unsigned long long)c->passes, (double)c->bytes / 1048576.0);
}

void compactor_summary(const compactor* c) {
    if (c->threshold <= 0) {
        return;
    }
    printf("compaction: %llu runs, %llu passes, %llu moves, %.2f MiB moved (%.1f KiB per pass, "
           "largest %.1f KiB)\n",
           (unsigned long long)c->runs, (unsigned long long)c->passes, (unsigned long long)c->moves,
           (double)c->bytes / 1048576.0,
           c->passes ? (double)c->bytes / 1024.0 / (double)c->passes : 0.0,
           (double)c->largest_pass / 1024.0);
}
