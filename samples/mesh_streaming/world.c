/* world.c - procedural terrain tiles, rocks, props and landmarks with LODs.
 * Places objects per tile from a splitmix64 stream seeded by (seed, tile) and
 * builds meshes on demand: terrain is a height grid, rocks and landmarks are
 * displaced UV spheres, props are trees (trunk and cones with vertex colours).
 * Does not touch Vulkan. Invariant: output depends only on (seed, object, lod). */
#include "world.h"

#include <stb/stb_perlin.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

const uint32_t vf_stride[VF_COUNT] = {24, 32, 36};
const char* const vf_name[VF_COUNT] = {"pos+normal", "pos+normal+uv", "pos+normal+uv+rgba8"};
const char* const kind_name[KIND_COUNT] = {"terrain", "rock", "prop", "landmark"};

_Static_assert(sizeof(vtx_pn) == 24, "vtx_pn stride");
_Static_assert(sizeof(vtx_pnuv) == 32, "vtx_pnuv stride");
_Static_assert(sizeof(vtx_pnuvc) == 36, "vtx_pnuvc stride");

#define PI_F 3.14159265f
#define WORLD_TILES 40
#define TILE_SIZE 32.0f
#define TERRAIN_GRID 64 /* quads per tile side at LOD 0 */
#define ROCKS_PER_TILE 3
#define PROPS_PER_TILE 4
#define LANDMARK_EVERY 6 /* one landmark per LANDMARK_EVERY^2 tiles */

static const uint32_t rock_rings[LOD_COUNT] = {16, 8, 5, 3};
static const uint32_t landmark_rings[LOD_COUNT] = {128, 48, 20, 8};
static const uint32_t prop_sides[LOD_COUNT] = {12, 8, 5, 3};
static const uint32_t prop_cones[LOD_COUNT] = {3, 3, 2, 1};

static uint64_t splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float rnd(uint64_t* state, float lo, float hi) {
    return lo + (hi - lo) * (float)(splitmix64(state) >> 40) / (float)(1u << 24);
}

static float noise(float x, float y, float z, uint32_t seed) {
    return stb_perlin_noise3_seed(x, y, z, 0, 0, 0, (int)(seed & 0xFF));
}

float world_height(const world* w, float x, float z) {
    float h = 0.0f, amp = 28.0f, freq = 1.0f / 260.0f;
    for (int o = 0; o < 5; o++) {
        h += amp * noise(x * freq, 0.5f + (float)o * 7.1f, z * freq, w->seed + (uint32_t)o);
        amp *= 0.45f;
        freq *= 2.1f;
    }
    return h;
}

static void terrain_normal(const world* w, float x, float z, float eps, float n[3]) {
    float dx = world_height(w, x + eps, z) - world_height(w, x - eps, z);
    float dz = world_height(w, x, z + eps) - world_height(w, x, z - eps);
    float nx = -dx, ny = 2.0f * eps, nz = -dz;
    float len = sqrtf(nx * nx + ny * ny + nz * nz);
    n[0] = nx / len;
    n[1] = ny / len;
    n[2] = nz / len;
}

/* The path's centre line: a loop around the world's centre with a radial
 * wobble (world_camera_path follows it). */
static void path_point(float size, double s, double* x, double* z) {
    double radius = size * 0.33, a = s / radius;
    double rr = radius * (1.0 + 0.18 * sin(3.0 * a));
    *x = size * 0.5 + rr * cos(a);
    *z = size * 0.5 + rr * sin(a);
}

/* Landmarks stand on every LANDMARK_EVERY-th tile, but not within 70 m of
 * the path, so that the camera never flies into one. */
static bool has_landmark(uint32_t tile) {
    uint32_t tx = tile % WORLD_TILES, tz = tile / WORLD_TILES;
    if (tx % LANDMARK_EVERY != LANDMARK_EVERY / 2 || tz % LANDMARK_EVERY != LANDMARK_EVERY / 2) {
        return false;
    }
    double cx = ((double)tx + 0.5) * TILE_SIZE, cz = ((double)tz + 0.5) * TILE_SIZE;
    double size = WORLD_TILES * TILE_SIZE, loop = 2 * 3.14159265358979 * size * 0.33;
    for (int i = 0; i < 720; i++) {
        double x, z;
        path_point((float)size, loop * i / 720.0, &x, &z);
        if ((x - cx) * (x - cx) + (z - cz) * (z - cz) < 70.0 * 70.0) {
            return false;
        }
    }
    return true;
}

static uint32_t count_objects(uint32_t tile) {
    return 1 + ROCKS_PER_TILE + PROPS_PER_TILE + (has_landmark(tile) ? 1u : 0u);
}

bool world_create(world* w, uint32_t seed) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->tiles = WORLD_TILES;
    w->tile_size = TILE_SIZE;
    w->size = WORLD_TILES * TILE_SIZE;
    uint32_t tile_count = WORLD_TILES * WORLD_TILES;
    w->tile_first = calloc(tile_count + 1, sizeof *w->tile_first);
    if (!w->tile_first) {
        return false;
    }
    for (uint32_t t = 0; t < tile_count; t++) {
        w->tile_first[t + 1] = w->tile_first[t] + count_objects(t);
    }
    w->object_count = w->tile_first[tile_count];
    w->objects = calloc(w->object_count, sizeof *w->objects);
    if (!w->objects) {
        world_destroy(w);
        return false;
    }
    for (uint32_t t = 0; t < tile_count; t++) {
        uint64_t rng = ((uint64_t)seed << 32) ^ (t * 0x2545F4914F6CDD1Dull);
        splitmix64(&rng);
        float x0 = (float)(t % WORLD_TILES) * TILE_SIZE, z0 = (float)(t / WORLD_TILES) * TILE_SIZE;
        world_object* o = &w->objects[w->tile_first[t]];
        uint32_t n = w->tile_first[t + 1] - w->tile_first[t];
        /* Terrain tile: origin at the tile's corner, mesh in local metres. */
        float hmin = 1e9f, hmax = -1e9f;
        for (int i = 0; i <= 8; i++) {
            for (int j = 0; j <= 8; j++) {
                float h =
                    world_height(w, x0 + (float)i * TILE_SIZE / 8, z0 + (float)j * TILE_SIZE / 8);
                hmin = fminf(hmin, h);
                hmax = fmaxf(hmax, h);
            }
        }
        o[0] = (world_object){.pos = {x0, 0, z0},
                              .centre = {x0 + TILE_SIZE / 2, (hmin + hmax) / 2, z0 + TILE_SIZE / 2},
                              .scale = 1,
                              .tint = {1, 1, 1},
                              .seed = t,
                              .kind = KIND_TERRAIN,
                              .format = VF_PN};
        float half = (hmax - hmin) / 2 + 1.0f;
        o[0].radius = sqrtf(2 * (TILE_SIZE / 2) * (TILE_SIZE / 2) + half * half);
        for (uint32_t i = 1; i < n; i++) {
            world_object* q = &o[i];
            float x = x0 + rnd(&rng, 1, TILE_SIZE - 1), z = z0 + rnd(&rng, 1, TILE_SIZE - 1);
            float y = world_height(w, x, z);
            q->seed = (uint32_t)splitmix64(&rng);
            q->yaw = rnd(&rng, 0, 2 * PI_F);
            float g = rnd(&rng, 0.75f, 1.1f);
            q->tint[0] = g * rnd(&rng, 0.9f, 1.1f);
            q->tint[1] = g * rnd(&rng, 0.9f, 1.1f);
            q->tint[2] = g * rnd(&rng, 0.9f, 1.1f);
            if (i <= ROCKS_PER_TILE) {
                q->kind = KIND_ROCK;
                q->format = VF_PNUV;
                q->scale = rnd(&rng, 0.6f, 3.2f);
                y -= 0.3f * q->scale;
            } else if (i <= ROCKS_PER_TILE + PROPS_PER_TILE) {
                q->kind = KIND_PROP;
                q->format = VF_PNUVC;
                q->scale = rnd(&rng, 3.0f, 8.0f);
                y -= 0.2f;
            } else {
                q->kind = KIND_LANDMARK;
                q->format = VF_PNUV;
                q->scale = rnd(&rng, 14.0f, 24.0f);
                x = x0 + TILE_SIZE / 2;
                z = z0 + TILE_SIZE / 2;
                y = world_height(w, x, z) - 0.25f * q->scale;
            }
            q->pos[0] = x;
            q->pos[1] = y;
            q->pos[2] = z;
            /* Rocks and landmarks span about [-1.4, 1.4] in object space (the
             * landmark 2.2 high); props [0, 1] high and 0.35 wide. */
            float up = q->kind == KIND_PROP ? 0.5f : 0.0f;
            q->centre[0] = x;
            q->centre[1] = y + up * q->scale;
            q->centre[2] = z;
            q->radius = (q->kind == KIND_PROP       ? 0.62f
                         : q->kind == KIND_LANDMARK ? 2.6f
                                                    : 1.45f) *
                        q->scale;
        }
    }
    return true;
}

void world_destroy(world* w) {
    free(w->objects);
    free(w->tile_first);
    memset(w, 0, sizeof *w);
}

void world_mesh_counts(const world* w, uint32_t index, uint32_t lod, uint32_t* out_vertex_count,
                       uint32_t* out_index_count) {
    const world_object* o = &w->objects[index];
    uint32_t v = 0, i = 0;
    switch (o->kind) {
    case KIND_TERRAIN: {
        uint32_t q = TERRAIN_GRID >> lod;
        v = (q + 1) * (q + 1);
        i = q * q * 6;
        break;
    }
    case KIND_ROCK:
    case KIND_LANDMARK: {
        uint32_t r = o->kind == KIND_ROCK ? rock_rings[lod] : landmark_rings[lod];
        v = (r + 1) * (2 * r + 1);
        i = r * 2 * r * 6;
        break;
    }
    case KIND_PROP: {
        uint32_t s = prop_sides[lod], c = prop_cones[lod];
        v = 2 * (s + 1) + c * (2 * s + 1);
        i = (2 * s + c * s) * 3;
        break;
    }
    default:
        break;
    }
    *out_vertex_count = v;
    *out_index_count = i;
}

static void put_vertex(void* dst, uint32_t format, uint32_t i, const float p[3], const float n[3],
                       float u, float v, const uint8_t rgba[4]) {
    uint8_t* base = (uint8_t*)dst + (size_t)i * vf_stride[format];
    vtx_pnuvc t;
    memcpy(t.pos, p, sizeof t.pos);
    memcpy(t.nrm, n, sizeof t.nrm);
    t.uv[0] = u;
    t.uv[1] = v;
    if (rgba) {
        memcpy(t.rgba, rgba, 4);
    }
    memcpy(base, &t, vf_stride[format]);
}

static void build_terrain(const world* w, const world_object* o, uint32_t lod, void* vtx,
                          uint32_t* idx) {
    uint32_t q = TERRAIN_GRID >> lod;
    float step = TILE_SIZE / (float)q;
    for (uint32_t j = 0; j <= q; j++) {
        for (uint32_t i = 0; i <= q; i++) {
            float lx = (float)i * step, lz = (float)j * step;
            float x = o->pos[0] + lx, z = o->pos[2] + lz;
            float p[3] = {lx, world_height(w, x, z), lz}, n[3];
            terrain_normal(w, x, z, step, n);
            put_vertex(vtx, VF_PN, j * (q + 1) + i, p, n, 0, 0, NULL);
        }
    }
    uint32_t k = 0;
    for (uint32_t j = 0; j < q; j++) {
        for (uint32_t i = 0; i < q; i++) {
            uint32_t a = j * (q + 1) + i, b = a + 1, c = a + q + 1, d = c + 1;
            idx[k++] = a;
            idx[k++] = c;
            idx[k++] = b;
            idx[k++] = b;
            idx[k++] = c;
            idx[k++] = d;
        }
    }
}

/* A UV sphere displaced by noise; normals are accumulated from the faces. */
static bool build_blob(const world_object* o, uint32_t rings, void* vtx, uint32_t* idx) {
    uint32_t segs = 2 * rings, vcount = (rings + 1) * (segs + 1);
    float* pos = malloc(sizeof(float) * 6 * vcount);
    if (!pos) {
        return false;
    }
    float* nrm = pos + 3 * vcount;
    memset(nrm, 0, sizeof(float) * 3 * vcount);
    bool landmark = o->kind == KIND_LANDMARK;
    float amp = landmark ? 0.45f : 0.32f, stretch = landmark ? 1.6f : 0.8f;
    for (uint32_t r = 0; r <= rings; r++) {
        float th = PI_F * (float)r / (float)rings;
        for (uint32_t s = 0; s <= segs; s++) {
            float ph = 2 * PI_F * (float)(s % segs) / (float)segs;
            float d[3] = {sinf(th) * cosf(ph), cosf(th), sinf(th) * sinf(ph)};
            if (r == 0 || r == rings) {
                d[0] = d[2] = 0;
            }
            float k = 1.0f + amp * noise(d[0] * 1.3f, d[1] * 1.3f, d[2] * 1.3f, o->seed) +
                      0.12f * noise(d[0] * 4.1f, d[1] * 4.1f, d[2] * 4.1f, o->seed >> 8);
            float* p = &pos[3 * (r * (segs + 1) + s)];
            p[0] = d[0] * k;
            p[1] = d[1] * k * stretch;
            p[2] = d[2] * k;
            if (p[1] < -0.35f) {
                p[1] = -0.35f; /* a flat bottom that sits on the ground */
            }
        }
    }
    uint32_t n = 0;
    for (uint32_t r = 0; r < rings; r++) {
        for (uint32_t s = 0; s < segs; s++) {
            uint32_t a = r * (segs + 1) + s, b = a + 1, c = a + segs + 1, d = c + 1;
            uint32_t tri[6] = {a, b, c, b, d, c};
            for (int t = 0; t < 6; t += 3) {
                const float *p0 = &pos[3 * tri[t]], *p1 = &pos[3 * tri[t + 1]],
                            *p2 = &pos[3 * tri[t + 2]];
                float e1[3] = {p1[0] - p0[0], p1[1] - p0[1], p1[2] - p0[2]};
                float e2[3] = {p2[0] - p0[0], p2[1] - p0[1], p2[2] - p0[2]};
                float fn[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2],
                               e1[0] * e2[1] - e1[1] * e2[0]};
                for (int m = 0; m < 3; m++) {
                    float* nn = &nrm[3 * tri[t + m]];
                    nn[0] += fn[0];
                    nn[1] += fn[1];
                    nn[2] += fn[2];
                }
                idx[n++] = tri[t];
                idx[n++] = tri[t + 2];
                idx[n++] = tri[t + 1];
            }
        }
    }
    for (uint32_t r = 0; r <= rings; r++) {
        for (uint32_t s = 0; s <= segs; s++) {
            uint32_t i = r * (segs + 1) + s;
            float* nn = &nrm[3 * i];
            float len = sqrtf(nn[0] * nn[0] + nn[1] * nn[1] + nn[2] * nn[2]);
            if (len < 1e-12f) {
                nn[0] = 0;
                nn[1] = r == 0 ? 1.0f : -1.0f;
                nn[2] = 0;
            } else {
                nn[0] /= len;
                nn[1] /= len;
                nn[2] /= len;
            }
            put_vertex(vtx, VF_PNUV, i, &pos[3 * i], nn, (float)s / (float)segs,
                       (float)r / (float)rings, NULL);
        }
    }
    free(pos);
    return true;
}

/* A tree: an open trunk cylinder and `cones` stacked cones, vertex-coloured. */
static void build_prop(const world_object* o, uint32_t lod, void* vtx, uint32_t* idx) {
    uint32_t sides = prop_sides[lod], cones = prop_cones[lod];
    uint64_t rng = o->seed;
    uint8_t bark[4] = {110, 78, 50, 255};
    uint8_t leaf[4] = {(uint8_t)rnd(&rng, 40, 90), (uint8_t)rnd(&rng, 110, 160),
                       (uint8_t)rnd(&rng, 40, 70), 255};
    uint32_t v = 0, k = 0;
    const float trunk_r = 0.045f, trunk_h = 0.35f;
    for (uint32_t s = 0; s <= sides; s++) {
        float a = 2 * PI_F * (float)s / (float)sides, c = cosf(a), sn = sinf(a);
        float n[3] = {c, 0, sn};
        for (uint32_t e = 0; e < 2; e++) {
            float p[3] = {c * trunk_r, (float)e * trunk_h, sn * trunk_r};
            put_vertex(vtx, VF_PNUVC, v + s * 2 + e, p, n, (float)s / (float)sides, (float)e, bark);
        }
    }
    for (uint32_t s = 0; s < sides; s++) {
        uint32_t a = v + s * 2, b = a + 2;
        uint32_t t[6] = {a, a + 1, b, b, a + 1, b + 1};
        memcpy(&idx[k], t, sizeof t);
        k += 6;
    }
    v += 2 * (sides + 1);
    for (uint32_t c = 0; c < cones; c++) {
        float y0 = 0.2f + 0.7f * (float)c / (float)cones;
        float h = 0.8f - 0.2f * (float)c - y0 * 0.4f;
        float r = 0.34f * (1.0f - 0.25f * (float)c);
        float slope = r / h;
        uint8_t col[4] = {(uint8_t)(leaf[0] + 12 * c), (uint8_t)(leaf[1] + 15 * c), leaf[2], 255};
        for (uint32_t s = 0; s <= sides; s++) {
            float a = 2 * PI_F * (float)s / (float)sides, cs = cosf(a), sn = sinf(a);
            float inv = 1.0f / sqrtf(1 + slope * slope);
            float n[3] = {cs * inv, slope * inv, sn * inv};
            float p[3] = {cs * r, y0, sn * r};
            put_vertex(vtx, VF_PNUVC, v + s, p, n, (float)s / (float)sides, 0, col);
        }
        for (uint32_t s = 0; s < sides; s++) {
            float a = 2 * PI_F * ((float)s + 0.5f) / (float)sides;
            float n[3] = {cosf(a) * 0.7f, 0.71f, sinf(a) * 0.7f};
            float p[3] = {0, y0 + h, 0};
            uint8_t tip[4] = {(uint8_t)(col[0] + 20), (uint8_t)(col[1] + 25), col[2], 255};
            put_vertex(vtx, VF_PNUVC, v + sides + 1 + s, p, n, ((float)s + 0.5f) / (float)sides, 1,
                       tip);
            idx[k++] = v + s;
            idx[k++] = v + sides + 1 + s;
            idx[k++] = v + s + 1;
        }
        v += 2 * sides + 1;
    }
}

bool world_mesh_build(const world* w, uint32_t index, uint32_t lod, void* vertices,
                      uint32_t* indices) {
    const world_object* o = &w->objects[index];
    switch (o->kind) {
    case KIND_TERRAIN:
        build_terrain(w, o, lod, vertices, indices);
        return true;
    case KIND_ROCK:
        return build_blob(o, rock_rings[lod], vertices, indices);
    case KIND_LANDMARK:
        return build_blob(o, landmark_rings[lod], vertices, indices);
    case KIND_PROP:
        build_prop(o, lod, vertices, indices);
        return true;
    default:
        return false;
    }
}

void world_camera_path(const world* w, double s, float eye[3], float target[3]) {
    /* Look at a point 35 m further along the path. */
    double ex_, ez_, tx_, tz_;
    path_point(w->size, s, &ex_, &ez_);
    path_point(w->size, s + 35.0, &tx_, &tz_);
    float ex = (float)ex_, ez = (float)ez_, tx = (float)tx_, tz = (float)tz_;
    float ground = fmaxf(world_height(w, ex, ez), world_height(w, tx, tz));
    eye[0] = ex;
    eye[1] = ground + 14.0f;
    eye[2] = ez;
    target[0] = tx;
    target[1] = ground + 6.0f;
    target[2] = tz;
}
