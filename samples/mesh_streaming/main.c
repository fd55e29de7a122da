/* main.c - orderly-mesh-streaming: options, window or headless target, the
 * orderly_vk manager that the streamer and the renderer share, the frame
 * loop (wait, simulate, stream, draw, submit) and its timing, the status
 * lines and the screenshot.
 * Simulated time advances by a fixed step per frame when headless, so a
 * seed and a frame count give the same run every time; windowed it follows
 * the clock. */
#include "bufmap.h"
#include "compact.h"
#include "overlay.h"
#include "render.h"
#include "stats.h"
#include "streaming.h"
#include "vkctx.h"
#include "world.h"

#include <orderly/orderly_vk_volk.h>

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>
#include <cglm/cglm.h>
#include <cglm/clipspace/persp_rh_zo.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADLESS_STEP (1.0 / 30.0)
#define DEFAULT_SCREENSHOT "mesh-streaming.png"

typedef struct options {
    bool headless, validation, sync_validation, verbose, help;
    uint32_t frames; /* 0: until the window closes (windowed) */
    uint32_t width, height;
    uint32_t seed;
    double buffer_mb, upload_mb, staging_mb, speed;
    double compact_at, compact_mb; /* --compact-at F, --compact-mb N */
    double grow_mb;                /* 0: the mesh buffer never grows */
    const char* screenshot;
    const char* stats;
    const char* record;
    uint32_t resize_at, resize_w, resize_h; /* --resize-at N:WxH */
} options;

static void usage(FILE* f) {
    fprintf(f, "usage: orderly-mesh-streaming [options]\n"
               "Streams a procedural world's meshes through one vertex+index buffer managed by\n"
               "orderly_vk while a camera flies over it.\n"
               "  --headless            render offscreen (also chosen when no display is found)\n"
               "  --frames N            stop after N frames, 1 to 10000000 (headless default 300)\n"
               "  --screenshot FILE     headless: write the last frame as PNG\n"
               "  --stats FILE          write one JSON line per simulated second\n"
               "  --record FILE         record every allocation in the mesh buffer (the core's\n"
               "                        recorder; replay it with orderly-replay FILE --check)\n"
               "  --seed N              world seed, 0 to 4294967295 (default 1)\n"
               "  --buffer-mb N         mesh buffer size in MiB (default 8); at least the largest\n"
               "                        mesh (about 1.8 MiB), at most what the device's\n"
               "                        maxBufferSize, maxMemoryAllocationSize and heap allow\n"
               "  --grow-mb N           when a mesh does not fit, grow the mesh buffer in place\n"
               "                        (twice the size, every mesh kept at its offset) up to N\n"
               "                        MiB before evicting for space (default: never grow)\n"
               "  --upload-mb N         upload budget per frame in MiB, 1/1024 to 256 (default 2)\n"
               "  --staging-mb N        staging ring size in MiB, 1/16 to 1024 (default 16)\n"
               "  --speed X             camera speed factor, 0.001 to 100 (default 1 = 20 m/s)\n"
               "  --compact-at F        compact the mesh buffer when its fragmentation passes F\n"
               "                        (0.01 to 1), one pass per frame until it falls to F / 2\n"
               "  --compact-mb N        bytes one compaction pass moves at most, in MiB, 1/1024\n"
               "                        to 256 (default 1)\n"
               "  --width W --height H  target size, 64 to 8192 (default 1280x720)\n"
               "  --validation          enable the Khronos validation layer; any warning or\n"
               "                        error of a layer makes the exit status 3 (so does a\n"
               "                        layer added by VK_INSTANCE_LAYERS; the loader's own\n"
               "                        notices are shown but not counted)\n"
               "  --sync-validation     --validation plus synchronization validation (slow)\n"
               "  --verbose             print informational Vulkan messages too\n"
               "  --resize-at N:WxH     windowed: resize the window at frame N < --frames\n"
               "                        (swapchain test)\n"
               "  --help                this text\n"
               "Sizes are decimal numbers (2, 0.5, 1e-1); a bad value exits with status 2.\n"
               "Windowed keys: W/A/S/D/Q/E fly, left mouse button drag looks around, P back to\n"
               "the path, Esc quits.\n");
}

/* Numeric options are checked strictly: plain decimal digits (a fraction and
 * an exponent for sizes), no sign, no hex, no inf or nan, and a range per
 * option. What parses but cannot work on this device or with this world (a
 * buffer above the device's limits, or too small for the largest mesh) is
 * rejected after start-up, in check_buffer_sizes(). */
#define MAX_FRAMES 10000000u /* about four days at 30 frames per second */
#define MIN_SIZE 64u
#define MAX_SIZE 8192u

static bool parse_u32(const char* s, uint32_t lo, uint32_t hi, uint32_t* out) {
    if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10) {
        return false;
    }
    unsigned long long v = strtoull(s, NULL, 10);
    if (v < lo || v > hi) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* A decimal number in [lo, hi] (lo > 0 rejects zero). */
static bool parse_number(const char* s, double lo, double hi, double* out) {
    if (strspn(s, "0123456789.eE+-") != strlen(s) ||
        !((s[0] >= '0' && s[0] <= '9') || s[0] == '.')) {
        return false;
    }
    char* end = NULL;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* --resize-at N:WxH, each part plain digits. */
static bool parse_resize(const char* s, options* o) {
    char buf[64];
    if (strlen(s) >= sizeof buf) {
        return false;
    }
    strcpy(buf, s);
    char* colon = strchr(buf, ':');
    char* x = colon ? strchr(colon + 1, 'x') : NULL;
    if (!colon || !x) {
        return false;
    }
    *colon = 0;
    *x = 0;
    return parse_u32(buf, 0, MAX_FRAMES - 1, &o->resize_at) &&
           parse_u32(colon + 1, MIN_SIZE, MAX_SIZE, &o->resize_w) &&
           parse_u32(x + 1, MIN_SIZE, MAX_SIZE, &o->resize_h);
}

static uint64_t mib_to_bytes(double mib, uint64_t granule) {
    return (uint64_t)(mib * 1048576.0) / granule * granule;
}

static bool parse_args(int argc, char** argv, options* o) {
    *o = (options){.width = 1280,
                   .height = 720,
                   .seed = 1,
                   .buffer_mb = 8,
                   .upload_mb = 2,
                   .staging_mb = 16,
                   .speed = 1,
                   .compact_mb = 1};
    bool frames_given = false;
    for (int i = 1; i < argc; i++) {
        const char* a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes = true;
        const char* range = NULL; /* what the option accepts, for the message */
        if (!strcmp(a, "--headless")) {
            o->headless = true, takes = false;
        } else if (!strcmp(a, "--validation")) {
            o->validation = true, takes = false;
        } else if (!strcmp(a, "--sync-validation")) {
            o->validation = o->sync_validation = true, takes = false;
        } else if (!strcmp(a, "--verbose")) {
            o->verbose = true, takes = false;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            o->help = true, takes = false;
        } else if (!v) {
            fprintf(stderr, "error: %s needs a value (or is unknown)\n", a);
            return false;
        } else if (!strcmp(a, "--frames")) {
            ok = parse_u32(v, 1, MAX_FRAMES, &o->frames), frames_given = true;
            range = "a whole number from 1 to 10000000";
        } else if (!strcmp(a, "--width")) {
            ok = parse_u32(v, MIN_SIZE, MAX_SIZE, &o->width);
            range = "a whole number from 64 to 8192";
        } else if (!strcmp(a, "--height")) {
            ok = parse_u32(v, MIN_SIZE, MAX_SIZE, &o->height);
            range = "a whole number from 64 to 8192";
        } else if (!strcmp(a, "--seed")) {
            ok = parse_u32(v, 0, UINT32_MAX, &o->seed);
            range = "a whole number from 0 to 4294967295";
        } else if (!strcmp(a, "--buffer-mb")) {
            /* The upper bound here is only a sanity bound: the device's
             * limits and the world's largest mesh are checked later. */
            ok = parse_number(v, 1.0 / 1024, 1048576, &o->buffer_mb);
            range = "MiB from 1/1024 to 1048576, within the device's limits and large enough "
                    "for the largest mesh";
        } else if (!strcmp(a, "--grow-mb")) {
            ok = parse_number(v, 1.0 / 1024, 1048576, &o->grow_mb);
            range = "MiB from 1/1024 to 1048576, within the device's limits";
        } else if (!strcmp(a, "--upload-mb")) {
            ok = parse_number(v, 1.0 / 1024, 256, &o->upload_mb);
            range = "MiB from 1/1024 to 256";
        } else if (!strcmp(a, "--staging-mb")) {
            ok = parse_number(v, 1.0 / 16, 1024, &o->staging_mb);
            range = "MiB from 1/16 to 1024, within the device's limits";
        } else if (!strcmp(a, "--speed")) {
            ok = parse_number(v, 1e-3, 100, &o->speed);
            range = "a factor from 0.001 to 100";
        } else if (!strcmp(a, "--compact-at")) {
            ok = parse_number(v, 0.01, 1, &o->compact_at);
            range = "a fragmentation from 0.01 to 1";
        } else if (!strcmp(a, "--compact-mb")) {
            ok = parse_number(v, 1.0 / 1024, 256, &o->compact_mb);
            range = "MiB from 1/1024 to 256";
        } else if (!strcmp(a, "--resize-at")) {
            ok = parse_resize(v, o);
            range = "N:WxH, frame N below 10000000, W and H from 64 to 8192";
        } else if (!strcmp(a, "--screenshot")) {
            ok = v[0] != 0, o->screenshot = v;
            range = "a file name";
        } else if (!strcmp(a, "--stats")) {
            ok = v[0] != 0, o->stats = v;
            range = "a file name";
        } else if (!strcmp(a, "--record")) {
            ok = v[0] != 0, o->record = v;
            range = "a file name";
        } else {
            fprintf(stderr, "error: unknown option %s (see --help)\n", a);
            return false;
        }
        if (!ok) {
            fprintf(stderr, "error: bad value for %s: '%s' (expected %s)\n", a, v, range);
            return false;
        }
        i += takes;
    }
    if (o->resize_w && frames_given && o->resize_at >= o->frames) {
        fprintf(stderr, "error: --resize-at %u never happens in a run of %u frames\n", o->resize_at,
                o->frames);
        return false;
    }
    return true;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Camera state: on the path, or flown by hand (windowed). */
typedef struct flyer {
    bool free;
    float pos[3];
    float yaw, pitch;
    double last_x, last_y;
    bool dragging;
} flyer;

static void camera_update(camera* cam, flyer* fly, const world* w, double path_s, GLFWwindow* win,
                          float dt, uint32_t width, uint32_t height) {
    float eye[3], target[3];
    world_camera_path(w, path_s, eye, target);
    if (win) {
        const int move_keys[6] = {GLFW_KEY_W, GLFW_KEY_S, GLFW_KEY_A,
                                  GLFW_KEY_D, GLFW_KEY_Q, GLFW_KEY_E};
        bool moved = glfwGetMouseButton(win, GLFW_MOUSE_BUTTON_LEFT) == GLFW_PRESS;
        for (int k = 0; k < 6; k++) {
            moved = moved || glfwGetKey(win, move_keys[k]) == GLFW_PRESS;
        }
        if (moved && !fly->free) {
            fly->free = true;
            memcpy(fly->pos, eye, sizeof eye);
            float d[3] = {target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]};
            fly->yaw = atan2f(d[2], d[0]);
            fly->pitch = atan2f(d[1], sqrtf(d[0] * d[0] + d[2] * d[2]));
        }
        if (glfwGetKey(win, GLFW_KEY_P) == GLFW_PRESS) {
            fly->free = false;
        }
    }
    if (fly->free) {
        double mx, my;
        glfwGetCursorPos(win, &mx, &my);
        bool down = glfwGetMouseButton(win, GLFW_MOUSE_BUTTON_LEFT) == GLFW_PRESS;
        if (down && fly->dragging) {
            fly->yaw += (float)(mx - fly->last_x) * 0.004f;
            fly->pitch -= (float)(my - fly->last_y) * 0.004f;
            fly->pitch = fmaxf(-1.5f, fminf(1.5f, fly->pitch));
        }
        fly->dragging = down;
        fly->last_x = mx;
        fly->last_y = my;
        float f[3] = {cosf(fly->yaw) * cosf(fly->pitch), sinf(fly->pitch),
                      sinf(fly->yaw) * cosf(fly->pitch)};
        float r[3] = {-sinf(fly->yaw), 0, cosf(fly->yaw)};
        float v = 40.0f * dt;
        float fwd = (float)(glfwGetKey(win, GLFW_KEY_W) == GLFW_PRESS) -
                    (float)(glfwGetKey(win, GLFW_KEY_S) == GLFW_PRESS);
        float side = (float)(glfwGetKey(win, GLFW_KEY_D) == GLFW_PRESS) -
                     (float)(glfwGetKey(win, GLFW_KEY_A) == GLFW_PRESS);
        float up = (float)(glfwGetKey(win, GLFW_KEY_E) == GLFW_PRESS) -
                   (float)(glfwGetKey(win, GLFW_KEY_Q) == GLFW_PRESS);
        for (int i = 0; i < 3; i++) {
            fly->pos[i] += v * (f[i] * fwd + r[i] * side) + (i == 1 ? v * up : 0.0f);
        }
        memcpy(eye, fly->pos, sizeof eye);
        for (int i = 0; i < 3; i++) {
            target[i] = eye[i] + f[i];
        }
    }
    float d[3] = {target[0] - eye[0], target[1] - eye[1], target[2] - eye[2]};
    float len = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    for (int i = 0; i < 3; i++) {
        cam->eye[i] = eye[i];
        cam->forward[i] = d[i] / len;
    }
    mat4 view, proj, vp;
    vec3 up = {0, 1, 0};
    glm_lookat(eye, target, up, view);
    glm_perspective_rh_zo(glm_rad(60.0f), (float)width / (float)height, 0.5f, 900.0f, proj);
    proj[1][1] = -proj[1][1]; /* Vulkan's clip-space Y points down */
    glm_mat4_mul(proj, view, vp);
    memcpy(cam->view_proj, vp, sizeof cam->view_proj);
    cam->fog_distance = 280.0f;
}

static void on_orderly_log(void* user, oa_vk_result result, const char* message) {
    (void)user;
    if (result == OA_VK_ERROR_OUT_OF_POOL_SPACE) {
        return; /* expected when the mesh buffer is full: the policy counts it */
    }
    fprintf(stderr, "orderly_vk: %s: %s\n", oa_vk_result_name(result), message);
}

/* One orderly_vk manager for the device: the streamer's mesh pool and
 * stager and the renderer's frame-data pool all live in it. It calls the
 * entry points of the sample's own volk device table (orderly_vk_volk.h);
 * volk's globals are not shared with it. */
static oa_vk_manager* create_manager(const vkctx* ctx) {
    oa_vk_functions functions;
    oa_vk_functions_from_volk(&ctx->vk, &functions);
    oa_vk_manager_info info = {
        .instance = ctx->instance,
        .physical_device = ctx->physical,
        .device = ctx->device,
        .get_instance_proc_addr = vkGetInstanceProcAddr,
        .get_device_proc_addr = vkGetDeviceProcAddr,
        .api_version = VK_API_VERSION_1_3,
        .flags = ctx->has_debug_utils ? OA_VK_MANAGER_DEBUG_UTILS : 0u,
        .log = on_orderly_log,
        .functions = &functions,
    };
    oa_vk_manager* manager = NULL;
    oa_vk_result r = oa_vk_manager_create(&info, &manager);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_manager_create: %s\n", oa_vk_result_name(r));
        return NULL;
    }
    return manager;
}

/* A size in bytes above a device limit: prints which one. */
static bool passes_limit(const vkctx* ctx, const char* option, double value, uint64_t bytes,
                         const char* limit_name, uint64_t limit) {
    if (bytes <= limit) {
        return false;
    }
    fprintf(stderr, "error: bad value for %s: '%g' (%llu bytes) passes %s of %s (%llu bytes)\n",
            option, value, (unsigned long long)bytes, limit_name, ctx->props.deviceName,
            (unsigned long long)limit);
    return true;
}

/* Sizes and extents the device cannot take: the options' own ranges are
 * checked in parse_args, the device's limits here. Prints which limit. */
static bool check_device_limits(const vkctx* ctx, const options* opt, const streamer_info* si) {
    if (passes_limit(ctx, "--buffer-mb", opt->buffer_mb, si->buffer_size, "maxBufferSize",
                     ctx->max_buffer_size) ||
        passes_limit(ctx, "--buffer-mb", opt->buffer_mb, si->buffer_size, "maxMemoryAllocationSize",
                     ctx->max_allocation_size) ||
        passes_limit(ctx, "--grow-mb", opt->grow_mb, si->grow_limit, "maxBufferSize",
                     ctx->max_buffer_size) ||
        passes_limit(ctx, "--grow-mb", opt->grow_mb, si->grow_limit, "maxMemoryAllocationSize",
                     ctx->max_allocation_size) ||
        passes_limit(ctx, "--staging-mb", opt->staging_mb, si->staging_size, "maxBufferSize",
                     ctx->max_buffer_size) ||
        passes_limit(ctx, "--staging-mb", opt->staging_mb, si->staging_size,
                     "maxMemoryAllocationSize", ctx->max_allocation_size)) {
        return false;
    }
    const uint32_t max_dim = ctx->props.limits.maxImageDimension2D;
    const struct {
        const char* option;
        uint32_t w, h;
    } extents[2] = {{"--width/--height", opt->width, opt->height},
                    {"--resize-at", opt->resize_w, opt->resize_h}};
    for (int i = 0; i < 2; i++) {
        if (extents[i].w > max_dim || extents[i].h > max_dim) {
            fprintf(stderr,
                    "error: bad value for %s: %ux%u passes maxImageDimension2D of %s (%u)\n",
                    extents[i].option, extents[i].w, extents[i].h, ctx->props.deviceName, max_dim);
            return false;
        }
    }
    return true;
}

/* The mesh buffer must fit the budget of its memory heap next to what the
 * sample already holds there (staging ring, frame data): create its block
 * now, so that a buffer the device cannot give is an error at start-up
 * rather than a run in which every placement fails. */
static bool check_buffer_budget(const vkctx* ctx, const options* opt, streamer* s) {
    oa_vk_pool_stats ps;
    oa_vk_heap_stats heaps[VK_MAX_MEMORY_HEAPS];
    uint32_t heap_count = 0;
    if (oa_vk_pool_get_stats(s->manager, s->pool, &ps) < 0 ||
        oa_vk_get_heap_stats(s->manager, heaps, &heap_count) < 0 ||
        ps.memory_type_index >= ctx->mem_props.memoryTypeCount ||
        ctx->mem_props.memoryTypes[ps.memory_type_index].heapIndex >= heap_count) {
        fprintf(stderr, "error: cannot read the mesh buffer's memory heap\n");
        return false;
    }
    uint32_t heap = ctx->mem_props.memoryTypes[ps.memory_type_index].heapIndex;
    const oa_vk_heap_stats* h = &heaps[heap];
    uint64_t room = h->budget > h->usage ? h->budget - h->usage : 0;
    if (ps.block_size != s->info.buffer_size || s->info.buffer_size > room) {
        fprintf(stderr,
                "error: bad value for --buffer-mb: '%g' (%llu bytes) does not fit memory heap %u "
                "of %s: %llu bytes, budget %llu, %llu of them already used by the sample\n",
                opt->buffer_mb, (unsigned long long)s->info.buffer_size, heap,
                ctx->props.deviceName, (unsigned long long)h->size, (unsigned long long)h->budget,
                (unsigned long long)h->usage);
        return false;
    }
    oa_vk_range_info probe;
    oa_vk_result r = oa_vk_alloc(s->manager, s->pool, 1, 1, &probe);
    if (r < 0) {
        fprintf(stderr,
                "error: bad value for --buffer-mb: '%g': the device cannot give a buffer of "
                "%llu bytes (%s)\n",
                opt->buffer_mb, (unsigned long long)s->info.buffer_size, oa_vk_result_name(r));
        return false;
    }
    r = oa_vk_free(s->manager, probe.handle);
    if (r < 0) {
        fprintf(stderr, "error: oa_vk_free: %s\n", oa_vk_result_name(r));
        return false;
    }
    return true;
}

int main(int argc, char** argv) {
    options opt;
    if (!parse_args(argc, argv, &opt)) {
        usage(stderr);
        return 2;
    }
    if (opt.help) {
        usage(stdout);
        return 0;
    }
    /* The world first: it decides how small the mesh buffer may be. */
    world w;
    if (!world_create(&w, opt.seed)) {
        fprintf(stderr, "error: out of host memory for the world\n");
        return 1;
    }
    streamer_info sinfo = {
        .buffer_size = mib_to_bytes(opt.buffer_mb, 256),
        .upload_budget = mib_to_bytes(opt.upload_mb, 1),
        .staging_size = mib_to_bytes(opt.staging_mb, 256),
        .load_distance = 300.0f,
        .grow_limit = opt.grow_mb > 0 ? mib_to_bytes(opt.grow_mb, 256) : 0,
    };
    uint64_t largest = streamer_largest_mesh(&w);
    if (sinfo.buffer_size < largest) {
        fprintf(stderr,
                "error: bad value for --buffer-mb: '%g' gives %llu bytes, less than the largest "
                "mesh of this world (seed %u: %llu bytes, %.2f MiB)\n",
                opt.buffer_mb, (unsigned long long)sinfo.buffer_size, opt.seed,
                (unsigned long long)largest, (double)largest / 1048576.0);
        world_destroy(&w);
        return 2;
    }

    if (sinfo.grow_limit != 0 && sinfo.grow_limit <= sinfo.buffer_size) {
        fprintf(stderr,
                "error: bad value for --grow-mb: '%g' is not above --buffer-mb (%g): the buffer "
                "could never grow\n",
                opt.grow_mb, opt.buffer_mb);
        world_destroy(&w);
        return 2;
    }

    GLFWwindow* window = NULL;
    if (!opt.headless) {
        if (!vkctx_open_window(opt.width, opt.height, "orderly mesh streaming", &window)) {
            world_destroy(&w);
            return 1;
        }
        if (!window) {
            fprintf(stderr, "orderly-mesh-streaming: no display could be opened; rendering "
                            "headless instead (pass --headless to say so).\n");
            opt.headless = true;
            if (!opt.screenshot) {
                opt.screenshot = DEFAULT_SCREENSHOT;
            }
        }
    }
    if (opt.headless && opt.frames == 0) {
        opt.frames = 300;
    }
    if (opt.screenshot && !opt.headless) {
        fprintf(stderr, "note: --screenshot is written in headless mode only\n");
    }

    vkctx ctx;
    vkctx_options vopt = {.validation = opt.validation,
                          .sync_validation = opt.sync_validation,
                          .headless = opt.headless,
                          .verbose = opt.verbose,
                          .width = opt.width,
                          .height = opt.height};
    oa_vk_manager* manager = NULL;
    streamer s;
    renderer r;
    bufmap map;
    stats_writer sw;
    memset(&s, 0, sizeof s);
    memset(&r, 0, sizeof r);
    memset(&map, 0, sizeof map);
    int status = 1;
    memset(&sw, 0, sizeof sw);
    if (!vkctx_init(&ctx, &vopt, window)) {
        goto done;
    }
    if (!check_device_limits(&ctx, &opt, &sinfo)) {
        status = 2;
        goto done;
    }
    if (opt.record && !(sinfo.record = fopen(opt.record, "w"))) {
        perror(opt.record);
        goto done;
    }
    manager = create_manager(&ctx);
    if (!manager || !streamer_init(&s, manager, &w, &sinfo) || !renderer_init(&r, &ctx, manager)) {
        goto done;
    }
    if (!check_buffer_budget(&ctx, &opt, &s)) {
        status = 2;
        goto done;
    }
    if (!stats_open(&sw, opt.stats)) {
        goto done;
    }
    printf("orderly-mesh-streaming: %s, %ux%u, %s, world %u objects, mesh buffer %.1f MiB\n",
           ctx.props.deviceName, ctx.extent.width, ctx.extent.height,
           opt.headless ? "headless" : "windowed", w.object_count,
           (double)sinfo.buffer_size / 1048576.0);

    flyer fly = {0};
    camera cam;
    double sim_t = 0, path_s = 0, last_wall = now_ms(), fps = 0;
    uint64_t second = 0;
    double streamed_last_second = 0;
    uint64_t bytes_at_second = 0;
    uint32_t map_errors = 0;
    compactor comp = {.threshold = opt.compact_at,
                      .pass_bytes =
                          mib_to_bytes(opt.compact_mb, 1) ? mib_to_bytes(opt.compact_mb, 1) : 1};
    double frag_sum = 0, frag_max = 0;
    for (uint32_t n = 0; opt.frames == 0 || n < opt.frames; n++) {
        if (window) {
            glfwPollEvents();
            if (glfwWindowShouldClose(window) ||
                glfwGetKey(window, GLFW_KEY_ESCAPE) == GLFW_PRESS) {
                break;
            }
        }
        if (window && opt.resize_w && n == opt.resize_at) {
            glfwSetWindowSize(window, (int)opt.resize_w, (int)opt.resize_h);
        }
        double t0 = now_ms();
        uint64_t completed = vkctx_wait_slot(&ctx);
        double dt = opt.headless ? HEADLESS_STEP : fmin((t0 - last_wall) * 1e-3, 1.0 / 15.0);
        last_wall = t0;
        sim_t += dt;
        path_s += dt * 20.0 * opt.speed;
        VkCommandBuffer cmd;
        if (!vkctx_begin_frame(&ctx, &cmd)) {
            continue;
        }
        camera_update(&cam, &fly, &w, path_s, window, (float)dt, ctx.extent.width,
                      ctx.extent.height);
        uint64_t signal = ctx.frame + 1;
        frame_times ft = {0};
        double ts = now_ms();
        streamer_update(&s, cmd, completed, signal, cam.eye, cam.forward);
        compactor_frame(&comp, &s, cmd, signal, n);
        ft.stream_ms = now_ms() - ts;

        /* The overlay shows the buffer as it stands after this frame's work. */
        overlay_layout lay = overlay_layout_for(ctx.extent.width, ctx.extent.height);
        double tm = now_ms();
        if (!bufmap_read(&map, manager, s.pool, s.info.buffer_size, (uint32_t)lay.strip_w)) {
            map_errors++;
        }
        ft.map_ms = now_ms() - tm;
        oa_vk_pool_stats ps;
        if (oa_vk_pool_get_stats(manager, s.pool, &ps) < 0) {
            memset(&ps, 0, sizeof ps);
        }
        frag_sum += ps.fragmentation;
        frag_max = ps.fragmentation > frag_max ? ps.fragmentation : frag_max;
        char lines[6][160];
        const double mib = 1048576.0;
        snprintf(lines[0], sizeof lines[0],
                 "orderly mesh streaming  frame %u  t %.1f s  %.1f fps  seed %u", n, sim_t, fps,
                 opt.seed);
        snprintf(lines[1], sizeof lines[1],
                 "resident %u meshes  drawn %u/%u/%u (24/32/36-byte vertices)  %.0fk tris",
                 s.resident_count, r.draws[0], r.draws[1], r.draws[2],
                 (double)r.triangles / 1000.0);
        snprintf(lines[2], sizeof lines[2],
                 "streamed %.2f MB/s  loads %llu  evictions %llu (%llu for space)",
                 streamed_last_second / 1e6, (unsigned long long)s.count.loads,
                 (unsigned long long)s.count.evictions,
                 (unsigned long long)s.count.evictions_for_space);
        compactor_line(&comp, lines[3], sizeof lines[3], s.count.failed_placements, s.detail);
        const size_t line3 = strlen(lines[3]);
        snprintf(lines[3] + line3, sizeof lines[3] - line3, "  grows %llu",
                 (unsigned long long)s.count.grows);
        snprintf(lines[4], sizeof lines[4],
                 "buffer %.1f MiB  used %.1f MiB (%.0f%%)  pending free %.2f MiB  ranges %llu",
                 (double)s.info.buffer_size / mib, (double)ps.used_size / mib,
                 s.info.buffer_size ? 100.0 * (double)ps.used_size / (double)s.info.buffer_size : 0,
                 (double)ps.pending_size / mib, (unsigned long long)ps.allocation_count);
        snprintf(lines[5], sizeof lines[5],
                 "free regions %llu  largest free %.2f MiB  fragmentation %.3f",
                 (unsigned long long)ps.free_region_count, (double)ps.largest_free_size / mib,
                 ps.fragmentation);
        const char* line_ptrs[6] = {lines[0], lines[1], lines[2], lines[3], lines[4], lines[5]};
        uint32_t cap = 0;
        overlay_vertex* ov = renderer_overlay_target(&r, &cap);
        uint32_t ov_count =
            overlay_build(ov, cap, ctx.extent.width, ctx.extent.height, line_ptrs, 6, &map);
        double td = now_ms();
        renderer_draw(&r, cmd, &s, &cam, ov_count, signal);
        ft.draw_ms = now_ms() - td;
        if (!vkctx_end_frame(&ctx)) {
            goto done;
        }
        ft.frame_ms = now_ms() - t0;
        fps = fps == 0 ? 1000.0 / ft.frame_ms : 0.9 * fps + 0.1 * 1000.0 / ft.frame_ms;
        stats_frame(&sw, &ft);
        if ((uint64_t)(sim_t + 1e-9) > second) {
            second = (uint64_t)(sim_t + 1e-9);
            streamed_last_second = (double)(s.count.bytes_streamed - bytes_at_second);
            bytes_at_second = s.count.bytes_streamed;
            stats_sample smp = {
                .second = second,
                .frame = n + 1,
                .resident = s.resident_count,
                .draws = r.draws[0] + r.draws[1] + r.draws[2],
                .triangles = r.triangles,
                .pool = ps,
                .buffer_size = map.size,
                .max_range_end = map.max_used_end,
                .region_count = map.region_count,
                .regions_tile = map.tiles,
                .detail = s.detail,
                .map_errors = map_errors,
                .validation_warnings = ctx.validation_warnings,
                .validation_errors = ctx.validation_errors,
            };
            stats_write(&sw, &smp, &s.count);
        }
    }
    status = 0;
    if (opt.headless && opt.screenshot) {
        if (!vkctx_write_png(&ctx, opt.screenshot)) {
            fprintf(stderr, "error: could not write %s\n", opt.screenshot);
            status = 1;
        } else {
            printf("screenshot: %s\n", opt.screenshot);
        }
    }
    printf("final size %ux%u\n", ctx.extent.width, ctx.extent.height);
    printf("frames %llu  loads %llu  evictions %llu  failed placements %llu  streamed %.1f MB\n",
           (unsigned long long)ctx.frame, (unsigned long long)s.count.loads,
           (unsigned long long)s.count.evictions, (unsigned long long)s.count.failed_placements,
           (double)s.count.bytes_streamed / 1e6);
    printf("fragmentation mean %.3f max %.3f over %llu frames\n",
           ctx.frame ? frag_sum / (double)ctx.frame : 0.0, frag_max, (unsigned long long)ctx.frame);
    compactor_summary(&comp);
    if (comp.errors) {
        fprintf(stderr, "error: %llu compaction calls failed\n", (unsigned long long)comp.errors);
        status = 1;
    }
    if (comp.stale_draws) {
        fprintf(stderr, "error: %llu draws of moved meshes used their old offset\n",
                (unsigned long long)comp.stale_draws);
        status = 1;
    }
    if (opt.grow_mb > 0) {
        printf("grows %llu  mesh buffer %.1f MiB  copied %.1f MiB\n",
               (unsigned long long)s.count.grows, (double)s.info.buffer_size / 1048576.0,
               (double)s.count.grow_bytes_copied / 1048576.0);
    }
    if (map_errors) {
        fprintf(stderr, "error: the buffer's regions could not be read %u times\n", map_errors);
        status = 1;
    }
    if (s.count.alloc_errors) {
        fprintf(stderr, "error: %llu placements failed for another reason than a full buffer\n",
                (unsigned long long)s.count.alloc_errors);
        status = 1;
    }
    if (s.count.range_errors) {
        fprintf(stderr, "error: %llu ranges lay beyond the buffer or off their stride\n",
                (unsigned long long)s.count.range_errors);
        status = 1;
    }
done:
    if (ctx.device) {
        ctx.vk.vkDeviceWaitIdle(ctx.device);
    }
    stats_close(&sw);
    renderer_destroy(&r);
    streamer_destroy(&s);
    oa_vk_manager_destroy(manager);
    if (sinfo.record && (ferror(sinfo.record) | fclose(sinfo.record))) {
        fprintf(stderr, "error: --record: writing %s failed\n", opt.record);
        status = 1;
    }
    world_destroy(&w);
    bool validation_active = ctx.validation_active;
    vkctx_destroy(&ctx); /* keeps the message counters: destruction can report too */
    vkctx_close_window(window);
    uint32_t warnings = ctx.validation_warnings, errors = ctx.validation_errors;
    if (warnings || errors) {
        fprintf(stderr, "error: %u validation warnings, %u validation errors\n", warnings, errors);
        status = status ? status : 3;
    } else if (opt.validation || validation_active) {
        printf("validation: 0 warnings, 0 errors%s\n",
               opt.validation ? "" : " (layer enabled by the environment)");
    }
    return status;
}
