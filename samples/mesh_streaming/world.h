/* world.h - the procedural world: terrain tiles, rocks, props and landmarks,
 * each with LOD_COUNT levels of detail, generated from a seed; and the
 * camera path through it.
 * Knows nothing about Vulkan or residency: it only says where things are and
 * builds a mesh's vertices and indices on request.
 * Invariant: the same seed gives the same objects and the same bytes for
 * every (object, lod). */
#ifndef SAMPLE_WORLD_H
#define SAMPLE_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#define LOD_COUNT 4

/* Vertex formats; all live in the one mesh buffer. Strides 24 and 36 are not
 * powers of two: a range's offset is a multiple of its stride, so a mesh draws
 * with vertexOffset = offset / stride. */
typedef enum vertex_format {
    VF_PN = 0,    /* position, normal: terrain, 24 bytes */
    VF_PNUV = 1,  /* position, normal, uv: rocks and landmarks, 32 bytes */
    VF_PNUVC = 2, /* position, normal, uv, RGBA8 colour: props, 36 bytes */
    VF_COUNT
} vertex_format;

typedef struct vtx_pn {
    float pos[3], nrm[3];
} vtx_pn;
typedef struct vtx_pnuv {
    float pos[3], nrm[3], uv[2];
} vtx_pnuv;
typedef struct vtx_pnuvc {
    float pos[3], nrm[3], uv[2];
    uint8_t rgba[4];
} vtx_pnuvc;

extern const uint32_t vf_stride[VF_COUNT];
extern const char* const vf_name[VF_COUNT];

typedef enum object_kind {
    KIND_TERRAIN,
    KIND_ROCK,
    KIND_PROP,
    KIND_LANDMARK,
    KIND_COUNT
} object_kind;
extern const char* const kind_name[KIND_COUNT];

typedef struct world_object {
    float pos[3]; /* world position of the object's origin */
    float radius; /* bounding sphere radius in world units, centred at centre[] */
    float centre[3];
    float scale;    /* uniform scale applied to the mesh */
    float yaw;      /* rotation about +Y, radians */
    float tint[3];  /* colour multiplier */
    uint32_t seed;  /* shape seed */
    uint8_t kind;   /* object_kind */
    uint8_t format; /* vertex_format */
} world_object;

typedef struct world {
    uint32_t seed;
    uint32_t tiles;  /* tiles per side */
    float tile_size; /* metres */
    float size;      /* tiles * tile_size */
    uint32_t object_count;
    world_object* objects; /* sorted by tile */
    uint32_t* tile_first;  /* tiles * tiles + 1 entries: objects of tile t are
                              [tile_first[t], tile_first[t + 1]) */
} world;

bool world_create(world* w, uint32_t seed);
void world_destroy(world* w);

/* Terrain height at (x, z) in world coordinates. */
float world_height(const world* w, float x, float z);

/* Vertex and index counts of object `index` at `lod`. */
void world_mesh_counts(const world* w, uint32_t index, uint32_t lod, uint32_t* out_vertex_count,
                       uint32_t* out_index_count);

/* Write the mesh's vertices (in its format, vertex_count * stride bytes) and
 * its 32-bit indices (index_count entries). Returns false when out of host
 * memory for scratch. */
bool world_mesh_build(const world* w, uint32_t index, uint32_t lod, void* vertices,
                      uint32_t* indices);

/* Camera on the path at simulated distance `s` metres: eye and a point to
 * look at. */
void world_camera_path(const world* w, double s, float eye[3], float target[3]);

#endif
