/* sample_test.c - runs orderly-mesh-streaming and checks what it leaves:
 * exit status (non-zero on any validation warning or error), the JSON stats
 * lines (parsed with cJSON) and the screenshot's pixels (read with
 * stb_image). Each OA_TEST is registered as its own ctest entry.
 * Images are judged by colour counts in regions, never by hash: float math
 * differs by a few bits between builds. */
#include "../oa_test.h"

#include "overlay_layout.h"

#include <cJSON.h>
#include <stb/stb_image.h>

#include <math.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/wait.h>

#ifndef SAMPLE_EXE
#error "SAMPLE_EXE must name the sample executable"
#endif
#ifndef OUT_DIR
#error "OUT_DIR must name a directory for the test's files"
#endif

static void show_log(const char* name);
static bool log_has(const char* name, const char* text);

/* Run the sample with `args` (and an optional command prefix), output to
 * OUT_DIR/<name>.log. Returns its exit status, or -1 if it did not exit;
 * shows the log when that is not 0. */
static int run(const char* prefix, const char* name, const char* args) {
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' %s > '%s/%s.log' 2>&1", prefix, SAMPLE_EXE, args, OUT_DIR,
             name);
    printf("running: %s\n", cmd);
    fflush(stdout);
    int st = system(cmd);
    int status = st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
    if (status != 0) {
        show_log(name);
    }
    return status;
}

static char* read_text(const char* path) {
    FILE* f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char* s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) {
        s[n] = 0;
    }
    fclose(f);
    return s;
}

static void show_log(const char* name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", OUT_DIR, name);
    char* log = read_text(path);
    fprintf(stderr, "---- %s ----\n%s---- end ----\n", path, log ? log : "(none)\n");
    free(log);
}

#define MAX_LINES 256

/* The stats file of run `name`, one cJSON object per line. */
typedef struct stats {
    cJSON* line[MAX_LINES];
    int count;
} stats;

static bool load_stats(const char* name, stats* st) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.jsonl", OUT_DIR, name);
    memset(st, 0, sizeof *st);
    char* text = read_text(path);
    if (!text) {
        fprintf(stderr, "cannot read %s\n", path);
        return false;
    }
    bool ok = true;
    for (char *p = text, *nl; *p && ok; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) {
            nl = p + strlen(p) - 1;
        } else {
            *nl = 0;
        }
        if (!*p) {
            continue;
        }
        cJSON* o = cJSON_Parse(p);
        ok = o != NULL && st->count < MAX_LINES;
        if (ok) {
            st->line[st->count++] = o;
        } else {
            fprintf(stderr, "%s: line %d is not JSON\n", path, st->count + 1);
            cJSON_Delete(o);
        }
    }
    free(text);
    return ok;
}

static void free_stats(stats* st) {
    for (int i = 0; i < st->count; i++) {
        cJSON_Delete(st->line[i]);
    }
    st->count = 0;
}

static double num(const cJSON* o, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* Checks every run's stats must pass; returns false and says why. */
static bool stats_sane(const stats* st) {
    for (int i = 0; i < st->count; i++) {
        const cJSON* o = st->line[i];
        double size = num(o, "buffer_size"), end = num(o, "max_range_end");
        if (!(size > 0) || !(end > 0) || !(end <= size) || !(num(o, "regions") > 0)) {
            fprintf(stderr, "line %d: max_range_end %.0f beyond buffer_size %.0f\n", i + 1, end,
                    size);
            return false;
        }
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "regions_tile"))) {
            fprintf(stderr, "line %d: the buffer's regions do not tile it\n", i + 1);
            return false;
        }
        if (num(o, "range_errors") != 0 || num(o, "map_errors") != 0 ||
            num(o, "validation_warnings") != 0 || num(o, "validation_errors") != 0) {
            fprintf(stderr, "line %d: range or validation errors\n", i + 1);
            return false;
        }
        if (!(num(o, "used_bytes") + num(o, "free_bytes") == size)) {
            fprintf(stderr, "line %d: used + free != buffer size\n", i + 1);
            return false;
        }
    }
    return true;
}

static double sum(const stats* st, const char* key) {
    double s = 0;
    for (int i = 0; i < st->count; i++) {
        s += num(st->line[i], key);
    }
    return s;
}

static bool near_rgb(const unsigned char* p, int r, int g, int b, int tol) {
    return abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
}

OA_TEST(headless) {
    const char* name = "headless";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --validation --frames 300 --width 480 --height 270 --seed 7 "
             "--screenshot '%s/%s.png' --stats '%s/%s.jsonl'",
             OUT_DIR, name, OUT_DIR, name);
    int status = run("", name, args);
    CHECK_EQ(status, 0);

    stats st;
    CHECK(load_stats(name, &st));
    CHECK_EQ(st.count, 10); /* 300 frames at 30 simulated frames per second */
    bool sane = stats_sane(&st);
    const cJSON* last = st.line[st.count - 1];
    double loads = num(last, "loads"), evictions = num(last, "evictions");
    double streamed = sum(&st, "bytes_streamed"), resident = num(last, "resident");
    printf("loads %.0f evictions %.0f streamed %.0f resident %.0f\n", loads, evictions, streamed,
           resident);
    free_stats(&st);
    CHECK(sane);
    CHECK(loads > 100);
    CHECK(evictions > 50);
    CHECK(streamed > 1e6);
    CHECK(resident > 100);

    /* The picture: the scene fills most of the frame, the strip map shows
     * used and free regions where the layout puts it. */
    char png[1024];
    snprintf(png, sizeof png, "%s/%s.png", OUT_DIR, name);
    int w = 0, h = 0, n = 0;
    unsigned char* px = stbi_load(png, &w, &h, &n, 3);
    CHECK(px != NULL);
    CHECK_EQ(w, 480);
    CHECK_EQ(h, 270);
    const float sky[3] = {SKY_RGB};
    overlay_layout l = overlay_layout_for((uint32_t)w, (uint32_t)h);
    long scene = 0, scene_total = 0, used = 0, freec = 0, strip_total = 0;
    int colours[4096] = {0};
    int distinct = 0;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            const unsigned char* p = &px[(y * w + x) * 3];
            bool in_strip = x >= l.strip_x && x < l.strip_x + l.strip_w && y >= l.strip_y &&
                            y < l.strip_y + l.strip_h;
            if (in_strip) {
                strip_total++;
                used += near_rgb(p, STRIP_USED_RGB, 24);
                freec += near_rgb(p, STRIP_FREE_RGB, 24);
            } else if (y > h / 3 && y < l.strip_y - 20) {
                /* Below the status panel, above the strip map's legend. */
                scene_total++;
                scene +=
                    !near_rgb(p, (int)(sky[0] * 255), (int)(sky[1] * 255), (int)(sky[2] * 255), 6);
                int q = (p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4);
                distinct += colours[q]++ == 0;
            }
        }
    }
    stbi_image_free(px);
    printf("scene %.2f of its region, %d colours; strip used %.2f free %.2f\n",
           (double)scene / (double)scene_total, distinct, (double)used / (double)strip_total,
           (double)freec / (double)strip_total);
    CHECK(scene * 2 > scene_total); /* meshes cover more than half of the middle */
    CHECK(distinct > 40);           /* shaded meshes, not a flat fill */
    CHECK(used * 20 > strip_total); /* > 5% used */
    CHECK(freec * 20 > strip_total);
}

OA_TEST(small_buffer) {
    const char* name = "small_buffer";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --validation --frames 150 --width 320 --height 180 --seed 7 "
             "--buffer-mb 2 --stats '%s/%s.jsonl'",
             OUT_DIR, name);
    int status = run("", name, args);
    CHECK_EQ(status, 0);
    stats st;
    CHECK(load_stats(name, &st));
    CHECK_EQ(st.count, 5);
    bool sane = stats_sane(&st);
    const cJSON* last = st.line[st.count - 1];
    double for_space = num(last, "evictions_for_space"), failed = num(last, "failed_placements");
    double detail = num(last, "detail"), peak = 0;
    for (int i = 0; i < st.count; i++) {
        double occ = num(st.line[i], "occupancy");
        peak = occ > peak ? occ : peak;
    }
    printf("evictions for space %.0f, failed placements %.0f, detail %.2f, peak occupancy %.2f\n",
           for_space, failed, detail, peak);
    free_stats(&st);
    CHECK(sane);
    CHECK(for_space > 0);
    CHECK(failed > 0);
    CHECK(detail < 1.0); /* the policy lowered the detail under pressure */
    CHECK(peak > 0.6);
}

/* Ranges evicted under pressure are reused by later copies: synchronization
 * validation would see a copy overwrite bytes a draw in flight still reads
 * if a range came back before the frames that drew it retired. */
OA_TEST(sync_validation) {
    const char* name = "sync_validation";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --sync-validation --frames 90 --width 256 --height 144 --seed 5 "
             "--buffer-mb 2 --stats '%s/%s.jsonl'",
             OUT_DIR, name);
    int status = run("", name, args);
    CHECK_EQ(status, 0);
    stats st;
    CHECK(load_stats(name, &st));
    bool sane = stats_sane(&st);
    double for_space = st.count ? num(st.line[st.count - 1], "evictions_for_space") : 0;
    free_stats(&st);
    CHECK(sane);
    CHECK(for_space > 0);
}

/* --compact-at on a small buffer under synchronization validation: runs of
 * passes start and end, the moved meshes are drawn from their new places
 * (no validation message, no range beyond the buffer or off its stride, the
 * regions still tile it), and no compaction call fails. */
OA_TEST(compaction) {
    const char* name = "compaction";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --sync-validation --frames 150 --width 256 --height 144 --seed 5 "
             "--buffer-mb 2 --compact-at 0.2 --compact-mb 0.25 --stats '%s/%s.jsonl'",
             OUT_DIR, name);
    int status = run("", name, args);
    CHECK_EQ(status, 0);
    stats st;
    CHECK(load_stats(name, &st));
    bool sane = stats_sane(&st);
    free_stats(&st);
    CHECK(sane);
    CHECK(log_has(name, "compaction run 1, frames"));
    CHECK(log_has(name, "compaction: "));
    CHECK(!log_has(name, "compaction: 0 runs"));
    CHECK(!log_has(name, "compaction calls failed"));
}

/* --grow-mb with --compact-at: the buffer grows while a compaction pass is
 * in flight (its copy recorded after the pass's, under synchronization
 * validation), the moved meshes draw from the new buffer at their new
 * offsets (the sample's own check of every draw, in its exit status), and
 * neither a grow nor a compaction call fails. */
OA_TEST(grow_during_compaction) {
    const char* name = "grow_during_compaction";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --sync-validation --frames 200 --width 128 --height 72 --seed 1 "
             "--buffer-mb 2.5 --grow-mb 8 --compact-at 0.2 --compact-mb 0.25 "
             "--stats '%s/%s.jsonl'",
             OUT_DIR, name);
    CHECK_EQ(run("", name, args), 0);
    stats st;
    CHECK(load_stats(name, &st));
    bool sane = stats_sane(&st);
    const cJSON* last = st.count ? st.line[st.count - 1] : NULL;
    const double grows = last ? num(last, "grows") : 0;
    free_stats(&st);
    CHECK(sane);
    CHECK_EQ(grows, 2);
    CHECK(log_has(name, "grown 5.0 -> 8.0 MiB"));
    CHECK(log_has(name, "(a compaction pass in flight)"));
    CHECK(log_has(name, "compaction run 1, frames"));
    CHECK(!log_has(name, "growing the mesh buffer"));
    CHECK(!log_has(name, "compaction calls failed"));
    CHECK(!log_has(name, "used their old offset"));
}

/* A staging ring smaller than a terrain tile: uploads go up in pieces over
 * several frames (the stager's partial result), under synchronization
 * validation, and the meshes still arrive. */
OA_TEST(staging_in_pieces) {
    const char* name = "staging_in_pieces";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --sync-validation --frames 150 --width 256 --height 144 --seed 2 "
             "--staging-mb 0.125 --stats '%s/%s.jsonl'",
             OUT_DIR, name);
    int status = run("", name, args);
    CHECK_EQ(status, 0);
    stats st;
    CHECK(load_stats(name, &st));
    bool sane = stats_sane(&st);
    const cJSON* last = st.count ? st.line[st.count - 1] : NULL;
    double partial = last ? num(last, "partial_uploads") : 0;
    double resident = last ? num(last, "resident") : 0;
    printf("partial uploads %.0f, resident %.0f\n", partial, resident);
    free_stats(&st);
    CHECK(sane);
    CHECK(partial > 0);
    CHECK(resident > 100);
}

/* Every field but "timing", in print order. */
static char* without_timing(cJSON* o) {
    cJSON_DeleteItemFromObjectCaseSensitive(o, "timing");
    return cJSON_PrintUnformatted(o);
}

static bool same_runs(const char* a, const char* b, int* out_lines) {
    stats sa, sb;
    if (!load_stats(a, &sa) || !load_stats(b, &sb)) {
        return false;
    }
    bool same = sa.count == sb.count && sa.count > 0;
    for (int i = 0; same && i < sa.count; i++) {
        char* x = without_timing(sa.line[i]);
        char* y = without_timing(sb.line[i]);
        same = x && y && strcmp(x, y) == 0;
        if (!same) {
            fprintf(stderr, "line %d differs:\n  %s\n  %s\n", i + 1, x, y);
        }
        free(x);
        free(y);
    }
    *out_lines = sa.count;
    free_stats(&sa);
    free_stats(&sb);
    return same;
}

OA_TEST(determinism) {
    const char* names[3] = {"determinism_a", "determinism_b", "determinism_other_seed"};
    const unsigned seeds[3] = {3, 3, 4};
    for (int k = 0; k < 3; k++) {
        char args[1024];
        snprintf(args, sizeof args,
                 "--headless --validation --frames 120 --width 256 --height 144 --seed %u "
                 "--buffer-mb 3 --stats '%s/%s.jsonl'",
                 seeds[k], OUT_DIR, names[k]);
        int status = run("", names[k], args);
        CHECK_EQ(status, 0);
    }
    int lines = 0;
    CHECK(same_runs(names[0], names[1], &lines));
    CHECK_EQ(lines, 4);
    /* A different seed must give a different run (the comparison sees it). */
    fprintf(stderr, "(a difference is expected next)\n");
    CHECK(!same_runs(names[0], names[2], &lines));
}

/* --grow-mb: a mesh buffer that starts at 2 MiB grows in place (2 -> 4 ->
 * 8 MiB) in the first two frames, under synchronization validation; its
 * stats stay consistent, and after 30 frames the run keeps the same meshes
 * and draws the same scene as one that starts at 8 MiB. A mesh whose bytes
 * the grow did not carry over shows as a hole (without the GPU copy, a
 * third of the scene's pixels differ). */
OA_TEST(grow) {
    const char* names[2] = {"grow", "grow_reference"};
    const char* sizes[2] = {"--buffer-mb 2 --grow-mb 8 --sync-validation", "--buffer-mb 8"};
    for (int k = 0; k < 2; k++) {
        char args[1024];
        snprintf(args, sizeof args,
                 "--headless --validation --frames 30 --width 640 --height 360 --seed 7 %s "
                 "--screenshot '%s/%s.png' --stats '%s/%s.jsonl'",
                 sizes[k], OUT_DIR, names[k], OUT_DIR, names[k]);
        CHECK_EQ(run("", names[k], args), 0);
    }
    CHECK(log_has(names[0], "mesh buffer grown 2.0 -> 4.0 MiB"));
    CHECK(log_has(names[0], "mesh buffer grown 4.0 -> 8.0 MiB"));
    stats a, b;
    CHECK(load_stats(names[0], &a));
    CHECK(load_stats(names[1], &b));
    bool sane = stats_sane(&a) && a.count == 1 && b.count == 1;
    bool same = sane;
    for (int i = 0; same && i < a.count; i++) {
        const char* keys[] = {"loads",      "evictions",           "resident", "draws", "triangles",
                              "used_bytes", "bytes_streamed_total"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            if (num(a.line[i], keys[k]) != num(b.line[i], keys[k])) {
                fprintf(stderr, "line %d: %s %.0f grown, %.0f from the start\n", i + 1, keys[k],
                        num(a.line[i], keys[k]), num(b.line[i], keys[k]));
                same = false;
            }
        }
    }
    const cJSON* last = a.count ? a.line[a.count - 1] : NULL;
    const double grows = last ? num(last, "grows") : 0, size = last ? num(last, "buffer_size") : 0;
    const double copied = last ? num(last, "grow_bytes_copied") : 0;
    const double failed = last ? num(last, "failed_placements") : 1;
    printf("grows %.0f, buffer %.0f bytes, %.0f bytes copied, failed placements %.0f\n", grows,
           size, copied, failed);
    free_stats(&a);
    free_stats(&b);
    CHECK(sane);
    CHECK_EQ(grows, 2);
    CHECK_EQ(size, 8u << 20);
    CHECK(copied > 2u << 20); /* the first grow copied the meshes of frame 1 */
    CHECK_EQ(failed, 0);      /* growth, not failure, answered a full buffer */
    CHECK(same);

    /* The scenes agree (a few bits of tolerance), below the status panel and
     * above the strip map, which show the two buffers' own figures. */
    unsigned char* px[2];
    int w[2], h[2], n;
    for (int k = 0; k < 2; k++) {
        char png[1024];
        snprintf(png, sizeof png, "%s/%s.png", OUT_DIR, names[k]);
        px[k] = stbi_load(png, &w[k], &h[k], &n, 3);
        CHECK(px[k] != NULL);
    }
    CHECK(w[0] == w[1] && h[0] == h[1]);
    overlay_layout l = overlay_layout_for((uint32_t)w[0], (uint32_t)h[0]);
    long differ = 0, total = 0;
    for (int y = h[0] / 3; y < l.strip_y - 20; y++) {
        for (int x = 0; x < w[0]; x++) {
            const long i = ((long)y * w[0] + x) * 3;
            differ += !near_rgb(&px[0][i], px[1][i], px[1][i + 1], px[1][i + 2], 8);
            total++;
        }
    }
    stbi_image_free(px[0]);
    stbi_image_free(px[1]);
    printf("%ld of %ld scene pixels differ\n", differ, total);
    CHECK(total > 1000);
    CHECK(differ * 1000 < total); /* under 0.1% */
}

OA_TEST(windowed) {
    if (system("command -v xvfb-run > /dev/null 2>&1") != 0) {
        fprintf(stderr, "xvfb-run not found: the windowed test needs it (Debian: apt-get install "
                        "xvfb)\n");
        CHECK(!"xvfb-run is installed");
    }
    const char* name = "windowed";
    int status = run("xvfb-run -a -s '-screen 0 640x480x24'", name,
                     "--validation --frames 30 --width 320 --height 240 --resize-at 10:400x300");
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", OUT_DIR, name);
    char* log = read_text(path);
    bool windowed = log && strstr(log, ", windowed,") != NULL;
    bool clean = log && strstr(log, "validation: 0 warnings, 0 errors") != NULL;
    bool resized = log && strstr(log, "final size 400x300") != NULL;
    free(log);
    if (status == 0 && (!windowed || !clean || !resized)) {
        show_log(name);
    }
    CHECK_EQ(status, 0);
    CHECK(windowed); /* a window and a swapchain, not the headless fallback */
    CHECK(clean);
    CHECK(resized); /* the swapchain was recreated at the new size */
}

OA_TEST(no_display_fallback) {
    const char* name = "no_display";
    char args[1024];
    snprintf(args, sizeof args,
             "--validation --frames 5 --width 200 --height 120 --screenshot "
             "'%s/%s.png'",
             OUT_DIR, name);
    int status = run("env -u DISPLAY -u WAYLAND_DISPLAY", name, args);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", OUT_DIR, name);
    char* log = read_text(path);
    bool said = log && strstr(log, "no display") && strstr(log, ", headless,");
    free(log);
    if (status == 0 && !said) {
        show_log(name);
    }
    CHECK_EQ(status, 0);
    CHECK(said);
    snprintf(path, sizeof path, "%s/%s.png", OUT_DIR, name);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && sb.st_size > 0);
}

static bool log_has(const char* name, const char* text) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.log", OUT_DIR, name);
    char* log = read_text(path);
    bool found = log && strstr(log, text) != NULL;
    free(log);
    return found;
}

/* Validation forced on from the environment, as people do with any program:
 * the loader then sends a WARNING of its own about VK_INSTANCE_LAYERS. That
 * notice is not the layer's and must not count; the layer must be running
 * (the sample says so) and find nothing. */
OA_TEST(env_layers) {
    const char* name = "env_layers";
    char args[1024];
    snprintf(args, sizeof args,
             "--headless --frames 60 --width 256 --height 144 --seed 7 --stats '%s/%s.jsonl'",
             OUT_DIR, name);
    int status = run("env VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation", name, args);
    bool notice = log_has(name, "(not counted): env var 'VK_INSTANCE_LAYERS'");
    bool clean =
        log_has(name, "validation: 0 warnings, 0 errors (layer enabled by the environment)");
    if (status == 0 && (!notice || !clean)) {
        show_log(name);
    }
    CHECK_EQ(status, 0);
    CHECK(notice); /* the loader did speak, and was shown as not counted */
    CHECK(clean);  /* the layer ran and counted nothing */
    stats st;
    CHECK(load_stats(name, &st));
    bool sane = stats_sane(&st); /* validation_warnings and _errors are 0 on every line */
    free_stats(&st);
    CHECK(sane);
}

/* The other side: what the validation layer itself says is still counted and
 * shown. Best-practices checks, switched on from the environment as well,
 * warn about this program (the debug extension, small allocations); the
 * sample must show each one and exit with status 3. */
OA_TEST(env_layer_warnings_counted) {
    const char* name = "env_layer_warnings";
    int status = run("env VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation "
                     "VK_LAYER_ENABLES=VK_VALIDATION_FEATURE_ENABLE_BEST_PRACTICES_EXT",
                     name, "--headless --frames 5 --width 128 --height 72");
    CHECK_EQ(status, 3);
    CHECK(log_has(name, "vulkan WARNING [UNASSIGNED-BestPractices-"));
    CHECK(log_has(name, " validation warnings, 0 validation errors"));
    CHECK(log_has(name, "(not counted): env var 'VK_INSTANCE_LAYERS'"));
}

/* Hostile options: each must be refused with status 2 and a message that
 * names the option, before any frame is drawn. Values that parse but cannot
 * work (a buffer rounding to nothing, one beyond the device's heap, limits
 * or smaller than the largest mesh) are refused the same way. */
OA_TEST(bad_options) {
    static const struct {
        const char* args;
        const char* option; /* must appear in the message */
    } cases[] = {
        {"--buffer-mb 0.000001", "--buffer-mb"}, /* rounded to 0: the library's default */
        {"--buffer-mb 0", "--buffer-mb"},
        {"--buffer-mb -8", "--buffer-mb"},
        {"--buffer-mb nan", "--buffer-mb"},
        {"--buffer-mb inf", "--buffer-mb"},
        {"--buffer-mb 8MB", "--buffer-mb"},
        {"--buffer-mb 0x8", "--buffer-mb"},
        {"--buffer-mb 1e300", "--buffer-mb"},
        {"--buffer-mb 1", "--buffer-mb"},       /* below the largest mesh (1.76 MiB) */
        {"--buffer-mb 2048", "--buffer-mb"},    /* lavapipe's whole heap: beyond its budget */
        {"--buffer-mb 4096", "--buffer-mb"},    /* beyond lavapipe's maxBufferSize */
        {"--buffer-mb 1048576", "--buffer-mb"}, /* 1 TiB: beyond any device's limits */
        {"--staging-mb 0.00001", "--staging-mb"},
        {"--staging-mb 0", "--staging-mb"},
        {"--staging-mb 5000", "--staging-mb"},
        {"--upload-mb 0", "--upload-mb"},
        {"--upload-mb -1", "--upload-mb"},
        {"--upload-mb 1e-9", "--upload-mb"},
        {"--frames 0", "--frames"},
        {"--frames -5", "--frames"},
        {"--frames 2.5", "--frames"},
        {"--frames 99999999999", "--frames"},
        {"--frames ten", "--frames"},
        {"--frames ''", "--frames"},
        {"--seed -1", "--seed"},
        {"--seed 4294967296", "--seed"},
        {"--width 0", "--width"},
        {"--height 100000", "--height"},
        {"--speed 0", "--speed"},
        {"--speed nan", "--speed"},
        {"--speed 1e9", "--speed"},
        {"--resize-at -1:400x300", "--resize-at"},
        {"--resize-at 5:0x300", "--resize-at"},
        {"--resize-at 20:400x300", "--resize-at"}, /* after the last of 10 frames */
        {"--screenshot ''", "--screenshot"},
        {"--compact-at 0", "--compact-at"},
        {"--compact-at 1.5", "--compact-at"},
        {"--compact-mb 0", "--compact-mb"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[512];
        snprintf(args, sizeof args, "--headless --frames 10 --width 128 --height 72 %s",
                 cases[i].args);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "'%s' %s > '%s/bad_options.log' 2>&1", SAMPLE_EXE, args, OUT_DIR);
        int st = system(cmd);
        int status = st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
        char path[1024];
        snprintf(path, sizeof path, "%s/bad_options.log", OUT_DIR);
        char* log = read_text(path);
        const char* err = log ? strstr(log, "error:") : NULL;
        bool named = err && strstr(err, cases[i].option) != NULL;
        bool drew = log && strstr(log, "frames ") && strstr(log, "loads ");
        printf("%-45s status %d%s\n", cases[i].args, status,
               named ? "" : " (message does not name the option)");
        if (status != 2 || !named || drew) {
            show_log("bad_options");
            bad++;
        }
        free(log);
    }
    CHECK_EQ(bad, 0);
}

#ifdef REPLAY_EXE
/* --record under pressure (placements fail, the buffer grows once),
 * replayed by orderly-replay
 * with --check: every recorded result and offset must come out the same,
 * and the placements it lists must be the live run's, in order. */
OA_TEST(record) {
    const char* name = "record";
    char args[1024], trace[512], placements[512];
    snprintf(trace, sizeof trace, "%s/record.trace", OUT_DIR);
    snprintf(placements, sizeof placements, "%s/record.placements", OUT_DIR);
    snprintf(args, sizeof args,
             "--headless --validation --frames 200 --width 320 --height 180 --seed 7 "
             "--buffer-mb 2 --grow-mb 3 --record '%s'",
             trace);
    CHECK_EQ(run("", name, args), 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' --check --placements '%s' > '%s/record-replay.log' 2>&1",
             REPLAY_EXE, trace, placements, OUT_DIR);
    int st = system(cmd);
    int status = st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
    if (status != 0) {
        show_log("record-replay");
    }
    CHECK_EQ(status, 0);
    char path[1024];
    snprintf(path, sizeof path, "%s/record-replay.log", OUT_DIR);
    char* log = read_text(path);
    bool verified = log && strstr(log, "\"verified\":true") != NULL;
    free(log);
    CHECK(verified);
    /* The live run's placements are the offsets its A and P lines hold. */
    char* text = read_text(trace);
    char* placed = read_text(placements);
    CHECK(text != NULL && placed != NULL);
    size_t allocs = 0, failures = 0, frees = 0, grows = 0, mismatches = 0;
    const char* p = placed;
    for (char* line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned long long off = 0;
        char handle[32];
        if (strncmp(line, "A - ", 4) == 0) {
            failures++;
            continue;
        }
        frees += line[0] == 'F';
        grows += line[0] == 'G';
        bool a = sscanf(line, "A %31s %*u %*u %llu", handle, &off) == 2;
        bool pl = !a && sscanf(line, "P %31s %*u %llu", handle, &off) == 2;
        if (!a && !pl) {
            continue;
        }
        allocs++;
        unsigned id;
        unsigned long long replayed;
        if (sscanf(p, "%u %llu", &id, &replayed) != 2 || replayed != off) {
            mismatches++;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : "";
    }
    printf("recorded: %zu placements, %zu failed placements, %zu frees, %zu grows; %zu differ in "
           "replay\n",
           allocs, failures, frees, grows, mismatches);
    bool all_listed = *p == '\0';
    free(text);
    free(placed);
    CHECK_EQ(mismatches, 0);
    CHECK(all_listed);
    CHECK(allocs > 100);
    CHECK(failures > 0); /* the 2 MiB buffer turns requests away */
    CHECK(frees > 100);
    CHECK(grows > 0); /* oa_vk_pool_grow's oa_grow_capacity, replayed too */
}
#endif

OA_TEST_MAIN()
