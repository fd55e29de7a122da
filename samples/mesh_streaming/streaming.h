/* streaming.h - the residency policy: which meshes live in the one mesh
 * buffer, at which level of detail.
 * Loads what comes near the camera (LOD by distance), evicts what falls
 * behind or out of range, and when the buffer is full evicts by priority and
 * retries. All mesh memory, uploads and deferred frees go through orderly_vk.
 * Invariant: a mesh is drawable only once its whole upload has been queued
 * in the stager, and its range is freed deferred to the last timeline value
 * that read it. */
#ifndef SAMPLE_STREAMING_H
#define SAMPLE_STREAMING_H

#include "world.h"

#include <orderly/orderly_vk.h>

#include <stdio.h>

typedef struct mesh_slot {
    oa_vk_range_info range; /* handle id 0 when not resident */
    uint32_t vertex_count;
    uint32_t index_count;
    uint64_t last_use;     /* timeline value of the last submit that read the range */
    uint64_t queued;       /* bytes of the upload queued so far */
    int8_t lod;            /* resident LOD, -1 when none */
    int8_t want;           /* LOD the policy wants this frame, -1 for none */
    uint8_t ready;         /* upload fully queued: drawable */
    uint32_t resident_pos; /* index in streamer.resident, when resident */
} mesh_slot;

/* Counters, cumulative, never reset. Deterministic: the policy measures no
 * time (main.c times whole frames and the update as a whole). */
typedef struct stream_counters {
    uint64_t loads;               /* ranges allocated and uploaded */
    uint64_t evictions;           /* ranges freed (deferred) */
    uint64_t evictions_for_space; /* of those, evicted to make room */
    uint64_t lod_switches;
    uint64_t failed_placements; /* allocations that failed even after evicting */
    uint64_t bytes_streamed;    /* bytes queued for upload */
    uint64_t range_errors;      /* ranges reported beyond the buffer end (must stay 0) */
    uint64_t alloc_errors;      /* allocations that failed other than for space (must stay 0) */
    uint64_t partial_uploads;   /* uploads the ring took only in part (finished later) */
    uint64_t grows;             /* times the mesh buffer grew (grow.c) */
    uint64_t grow_bytes_copied; /* bytes those grows copied */
    uint64_t grow_failures;     /* grows the device refused (growth then stops) */
} stream_counters;

typedef struct ranked {
    float score;
    uint32_t index;
} ranked;

typedef struct streamer_info {
    uint64_t buffer_size;   /* bytes of the mesh buffer (grows with grow_limit) */
    uint64_t grow_limit;    /* bytes the buffer may grow to instead of evicting; 0 = never */
    uint64_t upload_budget; /* bytes per frame at most */
    uint64_t staging_size;  /* bytes of the stager's ring */
    float load_distance;    /* metres */
    FILE* record;           /* --record: the mesh buffer's trace goes here; NULL -> none */
} streamer_info;

typedef struct streamer {
    const world* w;
    oa_vk_manager* manager; /* borrowed from the caller */
    oa_vk_pool pool;
    oa_vk_stager* stager;
    VkBuffer buffer; /* the mesh buffer, known after the first allocation */
    streamer_info info;
    mesh_slot* slots; /* one per world object */
    uint32_t* resident;
    uint32_t resident_count;
    ranked* candidates; /* scratch: objects to load this frame */
    ranked* victims;    /* scratch: residents by eviction order */
    uint64_t completed; /* timeline value known complete this frame */
    float detail;       /* LOD distance scale, lowered while placements fail */
    float* score;       /* per object: lower is more important; set for resident and wanted */
    uint8_t* scratch;
    size_t scratch_size;
    stream_counters count;
    VkCommandBuffer frame_cmd; /* the frame being recorded (streamer_update), for grow.c */
    uint64_t frame_signal;     /* the value its submit signals */
} streamer;

/* Bytes of the largest mesh of `w` (its finest level of detail): a mesh
 * buffer smaller than that could never place it. */
uint64_t streamer_largest_mesh(const world* w);

/* Create the mesh pool (one block of info->buffer_size bytes) and the stager
 * on `manager`, which the caller owns and keeps until streamer_destroy.
 * Prints why and returns false on failure (streamer_destroy still cleans up). */
bool streamer_init(streamer* s, oa_vk_manager* manager, const world* w, const streamer_info* info);
/* Free every range, the pool and the stager; the GPU must be idle. */
void streamer_destroy(streamer* s);

/* One frame of policy: collect retired ranges (completed timeline value),
 * evict, load, and record the uploads into `cmd`, whose submit will signal
 * `signal_value`. `eye` and `forward` place the camera. */
void streamer_update(streamer* s, VkCommandBuffer cmd, uint64_t completed, uint64_t signal_value,
                     const float eye[3], const float forward[3]);

/* Note that the range of object `index` is read by the submit that signals
 * `signal_value`. */
static inline void streamer_mark_used(streamer* s, uint32_t index, uint64_t signal_value) {
    s->slots[index].last_use = signal_value;
}

#endif
