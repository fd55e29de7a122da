/* streaming.c - residency policy over one orderly_vk pool of one block.
 * Each frame: collect retired ranges, decide a wanted LOD per object near the
 * camera, evict what is no longer wanted, then load by priority (nearest
 * first) within an upload budget; when the buffer is full, evict less
 * important meshes and retry, and count what still cannot be placed.
 * Does not draw (render.c), never touches a range's bytes itself, does not
 * own the manager (main.c creates it) and measures no time (main.c does).
 * Invariant: decisions depend only on the world, the camera and timeline
 * values, never on wall-clock time, so a seed replays exactly. */
#include "streaming.h"

#include "grow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_EVICTIONS_PER_RETRY 24
#define MAX_FAILURES_PER_FRAME 4
#define MIN_DETAIL 0.3f

static uint64_t mesh_bytes(const world* w, uint32_t index, uint32_t lod, uint32_t* vc,
                           uint32_t* ic) {
    world_mesh_counts(w, index, lod, vc, ic);
    return (uint64_t)*vc * vf_stride[w->objects[index].format] + (uint64_t)*ic * 4u;
}

uint64_t streamer_largest_mesh(const world* w) {
    uint64_t largest = 0;
    for (uint32_t i = 0; i < w->object_count; i++) {
        uint32_t vc, ic;
        uint64_t b = mesh_bytes(w, i, 0, &vc, &ic);
        largest = b > largest ? b : largest;
    }
    return largest;
}

/* --record: the pool's one block (max_block_count 1, no dedicated blocks)
 * is the only one that records, so its lines are the file's, in the
 * trace format orderly-replay reads. A failed write shows in ferror() when
 * main closes the file. */
static void record_line(void* user, uint32_t block_slot, const char* text, size_t length) {
    (void)block_slot;
    fwrite(text, 1, length, (FILE*)user);
}

bool streamer_init(streamer* s, oa_vk_manager* manager, const world* w, const streamer_info* info) {
    memset(s, 0, sizeof *s);
    s->manager = manager;
    s->w = w;
    s->info = *info;
    s->detail = 1.0f;
    /* One block of exactly buffer_size bytes, no dedicated blocks: every mesh
     * lives in the one buffer, drawn with vertexOffset and firstIndex. */
    oa_vk_pool_info pinfo = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_INDEX_BUFFER_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
        .preferred_flags = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT,
        .block_size = info->buffer_size,
        .max_block_count = 1,
        .flags = OA_VK_POOL_NO_DEDICATED,
        .name = "mesh buffer",
        .index_size = 4, /* each range ends in its 32-bit indices */
        .record = info->record ? record_line : NULL,
        .record_user = info->record,
    };
    if (info->grow_limit > info->buffer_size) {
        pinfo.usage |= VK_BUFFER_USAGE_TRANSFER_SRC_BIT; /* the grow's copy reads it */
    }
    oa_vk_result r = oa_vk_pool_create(s->manager, &pinfo, &s->pool);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_pool_create: %s\n", oa_vk_result_name(r));
        return false;
    }
    oa_vk_stager_info sinfo = {
        .ring_size = info->staging_size,
        .dst_stage_mask =
            VK_PIPELINE_STAGE_2_VERTEX_ATTRIBUTE_INPUT_BIT | VK_PIPELINE_STAGE_2_INDEX_INPUT_BIT,
        .dst_access_mask = VK_ACCESS_2_VERTEX_ATTRIBUTE_READ_BIT | VK_ACCESS_2_INDEX_READ_BIT,
        .name = "mesh staging",
    };
    r = oa_vk_stager_create(s->manager, &sinfo, &s->stager);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_stager_create: %s\n", oa_vk_result_name(r));
        return false;
    }
    uint32_t n = w->object_count;
    s->slots = calloc(n, sizeof *s->slots);
    s->resident = calloc(n, sizeof *s->resident);
    s->candidates = calloc(n, sizeof *s->candidates);
    s->victims = calloc(n, sizeof *s->victims);
    s->score = calloc(n, sizeof *s->score);
    for (uint32_t i = 0; i < n && s->slots; i++) {
        s->slots[i].lod = -1;
        s->slots[i].want = -1;
    }
    /* Scratch for the largest mesh of the world. */
    s->scratch_size = (size_t)streamer_largest_mesh(w);
    s->scratch = malloc(s->scratch_size);
    if (!s->slots || !s->resident || !s->candidates || !s->victims || !s->score || !s->scratch) {
        fprintf(stderr, "error: out of host memory\n");
        return false;
    }
    return true;
}

void streamer_destroy(streamer* s) {
    oa_vk_stager_destroy(s->stager);
    if (s->manager) {
        /* The GPU is idle: the resident meshes and pending frees go with it. */
        oa_vk_result r = oa_vk_pool_destroy(s->manager, s->pool, OA_VK_POOL_DESTROY_FREE_LIVE);
        if (r < 0) {
            fprintf(stderr, "error: oa_vk_pool_destroy: %s\n", oa_vk_result_name(r));
        }
    }
    free(s->slots);
    free(s->resident);
    free(s->candidates);
    free(s->victims);
    free(s->score);
    free(s->scratch);
    memset(s, 0, sizeof *s);
}

static void resident_add(streamer* s, uint32_t index) {
    s->slots[index].resident_pos = s->resident_count;
    s->resident[s->resident_count++] = index;
}

static void resident_remove(streamer* s, uint32_t index) {
    uint32_t pos = s->slots[index].resident_pos;
    uint32_t last = s->resident[--s->resident_count];
    s->resident[pos] = last;
    s->slots[last].resident_pos = pos;
}

/* Free a range once the last submit that read it has completed. */
static void free_range(streamer* s, oa_vk_range_info* range, uint64_t last_use) {
    oa_vk_result r = oa_vk_free_deferred(s->manager, range->handle, last_use);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_free_deferred: %s\n", oa_vk_result_name(r));
    }
    memset(range, 0, sizeof *range);
    s->count.evictions++;
}

static void evict(streamer* s, uint32_t index) {
    mesh_slot* m = &s->slots[index];
    free_range(s, &m->range, m->last_use);
    m->lod = -1;
    m->ready = 0;
    resident_remove(s, index);
}

static void collect(streamer* s, uint64_t completed) {
    oa_vk_result r = oa_vk_collect(s->manager, completed, NULL);
    oa_vk_result r2 = oa_vk_stager_collect(s->stager, completed);
    if (r < 0 || r2 < 0) {
        fprintf(stderr, "error: collect: %s %s\n", oa_vk_result_name(r), oa_vk_result_name(r2));
    }
}

/* Wanted LOD of an object `d` metres (surface distance) away; -1 for none.
 * `detail` (0..1] scales the distances: less detail when space is short. */
static int wanted_lod(const world_object* o, float d, float detail) {
    static const float terrain[LOD_COUNT] = {40, 90, 170, 300};
    static const float small[LOD_COUNT] = {8, 20, 45, 95}; /* in radii */
    static const float landmark[LOD_COUNT] = {0.8f, 2.0f, 4.0f, 8.0f};
    const float* t = o->kind == KIND_TERRAIN    ? terrain
                     : o->kind == KIND_LANDMARK ? landmark
                                                : small;
    float x = (o->kind == KIND_TERRAIN ? d : d / o->radius) / detail;
    for (int l = 0; l < LOD_COUNT; l++) {
        if (x < t[l]) {
            return l;
        }
    }
    return -1;
}

/* Sort keys: ties go to the lower object index, so the order is total. */
static int by_score_up(const void* a, const void* b) {
    const ranked *x = a, *y = b;
    if (x->score != y->score) {
        return x->score < y->score ? -1 : 1;
    }
    return x->index < y->index ? -1 : x->index > y->index ? 1 : 0;
}

static int by_score_down(const void* a, const void* b) {
    return by_score_up(b, a);
}

/* Evict resident meshes less important than `score_limit`, least important
 * first, until their bytes reach `need` (or MAX_EVICTIONS_PER_RETRY of them).
 * Their space comes back at the next collect that passes their last use:
 * at once for what was not drawn in the frames still in flight. */
static uint32_t evict_for_space(streamer* s, float score_limit, uint32_t keep, uint64_t need) {
    uint32_t n = s->resident_count;
    ranked* victims = s->victims;
    for (uint32_t k = 0; k < n; k++) {
        victims[k] = (ranked){s->score[s->resident[k]], s->resident[k]};
    }
    qsort(victims, n, sizeof *victims, by_score_down);
    uint32_t evicted = 0;
    uint64_t freed = 0;
    for (uint32_t k = 0; k < n && evicted < MAX_EVICTIONS_PER_RETRY && freed < need; k++) {
        uint32_t v = victims[k].index;
        if (s->score[v] <= score_limit) {
            break;
        }
        if (v == keep) {
            continue;
        }
        freed += s->slots[v].range.size;
        evict(s, v);
        s->count.evictions_for_space++;
        evicted++;
    }
    return evicted;
}

/* Queue (the rest of) the upload of slot `index`; returns false when the
 * staging ring could not take all of it this frame. */
static bool upload(streamer* s, uint32_t index) {
    mesh_slot* m = &s->slots[index];
    const world_object* o = &s->w->objects[index];
    uint64_t vbytes = (uint64_t)m->vertex_count * vf_stride[o->format];
    world_mesh_build(s->w, index, (uint32_t)m->lod, s->scratch, (uint32_t*)(s->scratch + vbytes));
    VkDeviceSize queued = 0;
    oa_vk_result r =
        oa_vk_stager_upload(s->stager, m->range.handle, m->queued, s->scratch + m->queued,
                            m->range.size - m->queued, &queued);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_stager_upload: %s\n", oa_vk_result_name(r));
        return false;
    }
    m->queued += queued;
    s->count.bytes_streamed += queued;
    m->ready = m->queued == m->range.size;
    s->count.partial_uploads += r == OA_VK_INCOMPLETE;
    return m->ready;
}

/* Place object `index` at LOD `lod`, evicting for space if needed. */
static bool load(streamer* s, uint32_t index, int lod, uint64_t signal_value, uint32_t* failures) {
    const world_object* o = &s->w->objects[index];
    mesh_slot* m = &s->slots[index];
    uint32_t vc, ic;
    uint64_t size = mesh_bytes(s->w, index, (uint32_t)lod, &vc, &ic);
    /* The offset is a multiple of the vertex stride (24, 32 or 36): the mesh
     * draws with vertexOffset = offset / stride. */
    oa_vk_range_info range;
    oa_vk_result r = oa_vk_alloc(s->manager, s->pool, size, vf_stride[o->format], &range);
    if (r == OA_VK_ERROR_OUT_OF_POOL_SPACE && streamer_grow(s, size)) {
        r = oa_vk_alloc(s->manager, s->pool, size, vf_stride[o->format], &range);
    }
    if (r == OA_VK_ERROR_OUT_OF_POOL_SPACE) {
        /* Full: evict by priority unless enough is already on its way back
         * (pending frees of frames in flight), collect, and retry once. */
        oa_vk_pool_stats ps;
        uint64_t pending =
            oa_vk_pool_get_stats(s->manager, s->pool, &ps) == OA_VK_SUCCESS ? ps.pending_size : 0;
        if (pending < size) {
            evict_for_space(s, s->score[index], index, size - pending);
        }
        collect(s, s->completed);
        r = oa_vk_alloc(s->manager, s->pool, size, vf_stride[o->format], &range);
    }
    if (r < 0 && r != OA_VK_ERROR_OUT_OF_POOL_SPACE) {
        fprintf(stderr, "error: oa_vk_alloc of %llu bytes: %s\n", (unsigned long long)size,
                oa_vk_result_name(r));
        s->count.alloc_errors++;
    }
    if (r < 0) {
        s->count.failed_placements++;
        (*failures)++;
        return false;
    }
    if (range.offset + range.size > s->info.buffer_size || range.offset % vf_stride[o->format]) {
        s->count.range_errors++;
    }
    s->buffer = range.buffer;
    if (m->lod >= 0) {
        /* A LOD switch: the old range goes once the frames that drew it retire. */
        free_range(s, &m->range, m->last_use);
        s->count.lod_switches++;
    } else {
        resident_add(s, index);
    }
    /* The tag names the mesh: compaction moves find their mesh by it (compact.c). */
    if (oa_vk_range_set_tag(s->manager, range.handle, index + 1) == OA_VK_SUCCESS) {
        range.tag = index + 1;
    }
    m->range = range;
    m->lod = (int8_t)lod;
    m->vertex_count = vc;
    m->index_count = ic;
    m->queued = 0;
    m->ready = 0;
    m->last_use = signal_value; /* the copy writes it in this submit */
    s->count.loads++;
    upload(s, index);
    return true;
}

void streamer_update(streamer* s, VkCommandBuffer cmd, uint64_t completed, uint64_t signal_value,
                     const float eye[3], const float forward[3]) {
    const world* w = s->w;
    s->completed = completed;
    s->frame_cmd = cmd;
    s->frame_signal = signal_value;
    collect(s, completed);

    /* Finish uploads that did not fit the staging ring last frame. */
    for (uint32_t k = 0; k < s->resident_count; k++) {
        uint32_t i = s->resident[k];
        if (!s->slots[i].ready) {
            s->slots[i].last_use = signal_value;
            upload(s, i);
        }
        s->slots[i].want = -1;
    }

    /* Wanted LOD and score of every object within reach. */
    float reach = s->info.load_distance;
    int t0x = (int)floorf((eye[0] - reach) / w->tile_size),
        t1x = (int)floorf((eye[0] + reach) / w->tile_size);
    int t0z = (int)floorf((eye[2] - reach) / w->tile_size),
        t1z = (int)floorf((eye[2] + reach) / w->tile_size);
    uint32_t ncand = 0;
    for (int tz = t0z < 0 ? 0 : t0z; tz <= t1z && tz < (int)w->tiles; tz++) {
        for (int tx = t0x < 0 ? 0 : t0x; tx <= t1x && tx < (int)w->tiles; tx++) {
            uint32_t t = (uint32_t)tz * w->tiles + (uint32_t)tx;
            for (uint32_t i = w->tile_first[t]; i < w->tile_first[t + 1]; i++) {
                const world_object* o = &w->objects[i];
                float dx = o->centre[0] - eye[0], dy = o->centre[1] - eye[1],
                      dz = o->centre[2] - eye[2];
                float dist = sqrtf(dx * dx + dy * dy + dz * dz);
                float d = fmaxf(dist - o->radius, 0.0f);
                if (d > reach) {
                    continue;
                }
                int lod = wanted_lod(o, d, s->detail);
                float ahead = dx * forward[0] + dy * forward[1] + dz * forward[2];
                bool behind = ahead < -o->radius && d > 24.0f;
                if (behind) {
                    lod = -1; /* evict what falls behind */
                }
                mesh_slot* m = &s->slots[i];
                m->want = (int8_t)lod;
                /* Score: surface distance, terrain counted as nearer (holes in
                 * the ground show most), things off to the side as farther. */
                float side = dist > 0 ? ahead / dist : 1.0f;
                s->score[i] =
                    d * (o->kind == KIND_TERRAIN ? 0.5f : 1.0f) * (side < 0.5f ? 2.0f : 1.0f);
                if (lod >= 0 && lod != m->lod) {
                    s->candidates[ncand++] = (ranked){s->score[i], i};
                }
            }
        }
    }

    /* Evict what is no longer wanted (out of reach, or behind). */
    for (uint32_t k = s->resident_count; k-- > 0;) {
        uint32_t i = s->resident[k];
        if (s->slots[i].want < 0) {
            evict(s, i);
        }
    }

    /* Load nearest first within the budget. */
    qsort(s->candidates, ncand, sizeof *s->candidates, by_score_up);
    uint64_t budget_end = s->count.bytes_streamed + s->info.upload_budget;
    uint32_t failures = 0;
    for (uint32_t k = 0;
         k < ncand && s->count.bytes_streamed < budget_end && failures < MAX_FAILURES_PER_FRAME;
         k++) {
        uint32_t i = s->candidates[k].index;
        mesh_slot* m = &s->slots[i];
        if (m->lod >= 0 && !m->ready) {
            continue; /* still uploading */
        }
        uint32_t vc, ic;
        /* Start a load only when the ring can take it now, or, for a mesh
         * larger than half the ring, when half the ring is free: such a mesh
         * goes up in pieces over several frames. */
        uint64_t bytes = mesh_bytes(w, i, (uint32_t)m->want, &vc, &ic);
        uint64_t half = s->info.staging_size / 2;
        if ((bytes < half ? bytes : half) > oa_vk_stager_free_size(s->stager)) {
            break; /* the staging ring is full until earlier frames retire */
        }
        load(s, i, m->want, signal_value, &failures);
    }

    /* Adapt the detail: coarser at once when placements fail, finer slowly
     * while the buffer has room. */
    oa_vk_pool_stats ps;
    if (failures) {
        s->detail = fmaxf(MIN_DETAIL, s->detail * 0.95f);
    } else if (oa_vk_pool_get_stats(s->manager, s->pool, &ps) == OA_VK_SUCCESS &&
               ps.used_size < s->info.buffer_size / 100 * 85) {
        s->detail = fminf(1.0f, s->detail + 0.002f);
    }

    oa_vk_result r = oa_vk_stager_record(s->stager, cmd, signal_value);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_stager_record: %s\n", oa_vk_result_name(r));
    }
}
