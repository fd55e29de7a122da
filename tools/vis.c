/* orderly-vis: draws a memory map from a JSON dump, either the Vulkan
 * manager's (oa_vk_dump_json) or the core's (orderly-replay --dump), as a PNG.
 * One strip per block, in address order and to scale: each pixel column is a
 * slice of the block, filled from the bottom in proportion to its used bytes
 * and coloured by the pool or tag that holds most of it. Under each strip, a
 * thin band lights every column that holds any free byte, so free regions far
 * smaller than a column stay visible. Captions give each block's figures; a
 * legend names the colours. --layout writes where the strips are (for tests).
 * Usage: orderly-vis DUMP.json -o OUT.png [--width N] [--color-by pool|tag]
 *                   [--title TEXT] [--layout FILE] */
#include <cJSON.h>
#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN 12
#define TEXT_SCALE 2
#define LINE_HEIGHT (9 * TEXT_SCALE)
#define STRIP_HEIGHT 40
#define MARKS_GAP 2
#define MARKS_HEIGHT 6
#define MAX_KEYS 12 /* colours; further keys share the last one ("other") */

typedef struct rgb {
    unsigned char r, g, b;
} rgb;

static const rgb background = {22, 24, 29};
static const rgb free_colour = {58, 62, 72};
static const rgb mark_colour = {250, 250, 250};
static const rgb text_colour = {225, 228, 235};
static const rgb palette[MAX_KEYS] = {{66, 165, 245},  {255, 167, 38}, {102, 187, 106},
                                      {239, 83, 80},   {171, 71, 188}, {38, 198, 218},
                                      {255, 238, 88},  {141, 110, 99}, {236, 64, 122},
                                      {156, 204, 101}, {92, 107, 192}, {189, 189, 189}};

typedef struct image {
    int w, h;
    unsigned char* px;
} image;

static void fill(image* im, int x, int y, int w, int h, rgb c) {
    for (int j = y < 0 ? 0 : y; j < y + h && j < im->h; j++) {
        for (int i = x < 0 ? 0 : x; i < x + w && i < im->w; i++) {
            unsigned char* p = im->px + ((size_t)j * (size_t)im->w + (size_t)i) * 3;
            p[0] = c.r;
            p[1] = c.g;
            p[2] = c.b;
        }
    }
}

/* Text through stb_easy_font's quads, scaled by TEXT_SCALE. */
static void text(image* im, int x, int y, const char* s, rgb c) {
    static float quads[4 * 4 * 2000]; /* 4 vertices of 16 bytes per quad */
    unsigned char colour[4] = {255, 255, 255, 255};
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    const int n = stb_easy_font_print(0, 0, buf, colour, quads, (int)sizeof quads);
    for (int q = 0; q < n; q++) {
        const float* v = quads + q * 16; /* x, y, z, colour: 4 floats per vertex */
        const float x0 = v[0], y0 = v[1], x1 = v[8], y1 = v[9];
        fill(im, x + (int)(x0 * TEXT_SCALE), y + (int)(y0 * TEXT_SCALE),
             (int)((x1 - x0) * TEXT_SCALE), (int)((y1 - y0) * TEXT_SCALE), c);
    }
}

static int text_width(const char* s) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    return stb_easy_font_width(buf) * TEXT_SCALE;
}

static void human(char* out, size_t n, double bytes) {
    const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(out, n, u == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
}

static double num(const cJSON* o, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

static const char* str(const cJSON* o, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Colour keys: pool names or tags, in order of first appearance. */
typedef struct keys {
    char name[MAX_KEYS][64];
    double bytes[MAX_KEYS];
    int count;
} keys;

static int key_index(keys* k, const char* name) {
    for (int i = 0; i < k->count; i++) {
        if (strcmp(k->name[i], name) == 0) {
            return i;
        }
    }
    if (k->count < MAX_KEYS) {
        snprintf(k->name[k->count], sizeof k->name[0], "%s",
                 k->count == MAX_KEYS - 1 ? "other" : name);
        return k->count++;
    }
    return MAX_KEYS - 1;
}

static const char* region_tag(const cJSON* region) {
    const char* t = str(region, "name");
    if (t == NULL) {
        t = str(region, "tag");
    }
    return t != NULL ? t : "(no tag)";
}

/* Draws one block's strip and marks band at (x, y), w columns wide. */
static void draw_strip(image* im, int x, int y, int w, const cJSON* block, const char* pool_name,
                       int by_tag, keys* k) {
    const double size = num(block, "capacity");
    double* used = (double*)calloc((size_t)w, sizeof(double));
    double* best = (double*)calloc((size_t)w, sizeof(double));
    int* key = (int*)calloc((size_t)w, sizeof(int));
    char* marked = (char*)calloc((size_t)w, 1);
    if (used == NULL || best == NULL || key == NULL || marked == NULL || size <= 0) {
        free(used), free(best), free(key), free(marked);
        return;
    }
    const double per_col = size / w;
    const cJSON* region;
    cJSON_ArrayForEach(region, cJSON_GetObjectItemCaseSensitive(block, "regions")) {
        const double off = num(region, "offset"), len = num(region, "size");
        const int is_free = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(region, "is_free"));
        if (len <= 0) {
            continue;
        }
        int c0 = (int)(off / per_col), c1 = (int)((off + len) / per_col);
        c1 = c1 >= w ? w - 1 : c1;
        if (is_free) {
            for (int c = c0; c <= c1; c++) {
                /* Only columns that really hold some of its bytes. */
                if (c == c1 && c > c0 && off + len <= c * per_col) {
                    break;
                }
                marked[c] = 1;
            }
            continue;
        }
        const int ki = key_index(k, by_tag ? region_tag(region) : pool_name);
        k->bytes[ki] += len;
        for (int c = c0; c <= c1; c++) {
            const double lo = fmax(off, c * per_col), hi = fmin(off + len, (c + 1) * per_col);
            if (hi > lo) {
                used[c] += hi - lo;
                if (hi - lo > best[c]) {
                    best[c] = hi - lo;
                    key[c] = ki;
                }
            }
        }
    }
    for (int c = 0; c < w; c++) {
        int h = (int)lround(used[c] / per_col * STRIP_HEIGHT);
        h = h > STRIP_HEIGHT ? STRIP_HEIGHT : h;
        fill(im, x + c, y, 1, STRIP_HEIGHT - h, free_colour);
        fill(im, x + c, y + STRIP_HEIGHT - h, 1, h, palette[key[c]]);
        fill(im, x + c, y + STRIP_HEIGHT + MARKS_GAP, 1, MARKS_HEIGHT,
             marked[c] ? mark_colour : background);
    }
    free(used), free(best), free(key), free(marked);
}

static char* read_file(const char* path) {
    FILE* f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char* s = (char*)malloc(cap);
    size_t n;
    while (s != NULL && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char* t = (char*)realloc(s, cap *= 2);
            if (t == NULL) {
                free(s);
                s = NULL;
            } else {
                s = t;
            }
        }
    }
    if (f != stdin) {
        fclose(f);
    }
    if (s != NULL) {
        s[len] = '\0';
    }
    return s;
}

static int usage(void) {
    fprintf(stderr, "usage: orderly-vis DUMP.json -o OUT.png [options]   (DUMP '-': stdin)\n"
                    "  --width N          image width in pixels (default 1280)\n"
                    "  --color-by pool|tag  colour ranges by pool, or by range name/tag\n"
                    "                     (default: tag when the dump has any)\n"
                    "  --title TEXT       first line of the picture\n"
                    "  --layout FILE      write the strips' positions as JSON (for tests)\n");
    return 2;
}

int main(int argc, char** argv) {
    const char *in = NULL, *out = NULL, *title = NULL, *layout = NULL, *color_by = NULL;
    int width = 1280;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--width") == 0 && i + 1 < argc) {
            width = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--color-by") == 0 && i + 1 < argc) {
            color_by = argv[++i];
        } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
            title = argv[++i];
        } else if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc) {
            layout = argv[++i];
        } else if (in == NULL && (argv[i][0] != '-' || argv[i][1] == '\0')) {
            in = argv[i];
        } else {
            return usage();
        }
    }
    if (in == NULL || out == NULL || width < 200 || width > 16384 ||
        (color_by != NULL && strcmp(color_by, "pool") != 0 && strcmp(color_by, "tag") != 0)) {
        return usage();
    }
    char* json = read_file(in);
    cJSON* root = json != NULL ? cJSON_Parse(json) : NULL;
    free(json);
    const cJSON* pools = cJSON_GetObjectItemCaseSensitive(root, "pools");
    if (!cJSON_IsArray(pools)) {
        fprintf(stderr, "orderly-vis: %s is not a dump with a \"pools\" array\n", in);
        cJSON_Delete(root);
        return 1;
    }
    /* Colour by tag when asked, or by default when any region has one. */
    int by_tag = color_by != NULL && strcmp(color_by, "tag") == 0;
    int blocks = 0;
    const cJSON *pool, *block, *region;
    cJSON_ArrayForEach(pool, pools) {
        cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(pool, "blocks")) {
            blocks++;
            cJSON_ArrayForEach(region, cJSON_GetObjectItemCaseSensitive(block, "regions")) {
                if (color_by == NULL && (str(region, "name") || str(region, "tag"))) {
                    by_tag = 1;
                }
            }
        }
    }
    const int block_height = 2 * LINE_HEIGHT + 6 + STRIP_HEIGHT + MARKS_GAP + MARKS_HEIGHT + 14;
    const int legend_rows = 1 + (MAX_KEYS + 2 + 3) / 4;
    image im = {width,
                MARGIN + LINE_HEIGHT * 2 + blocks * block_height + legend_rows * LINE_HEIGHT +
                    MARGIN + 8,
                NULL};
    im.px = (unsigned char*)malloc((size_t)im.w * (size_t)im.h * 3);
    FILE* lf = layout != NULL ? fopen(layout, "w") : NULL;
    if (im.px == NULL || (layout != NULL && lf == NULL)) {
        fprintf(stderr, "orderly-vis: out of memory or cannot write %s\n", layout);
        return 1;
    }
    fill(&im, 0, 0, im.w, im.h, background);
    char line[512];
    const char* source = str(root, "source");
    if (title == NULL) {
        const char* trace_name = str(root, "trace");
        snprintf(line, sizeof line, "orderly memory map: %s%s%s",
                 source ? source : "oa_vk_dump_json", trace_name ? ", trace " : "",
                 trace_name ? trace_name : "");
        if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(root, "ops"))) {
            snprintf(line + strlen(line), sizeof line - strlen(line), ", after op %.0f",
                     num(root, "ops"));
        }
        title = line;
    }
    text(&im, MARGIN, MARGIN, title, text_colour);
    int y = MARGIN + LINE_HEIGHT * 2;
    keys k;
    memset(&k, 0, sizeof k);
    const int strip_w = width - 2 * MARGIN;
    if (lf != NULL) {
        fprintf(lf,
                "{\"width\":%d,\"height\":%d,\"free\":[%d,%d,%d],\"background\":[%d,%d,%d],"
                "\"mark\":[%d,%d,%d],\"strips\":[",
                im.w, im.h, free_colour.r, free_colour.g, free_colour.b, background.r, background.g,
                background.b, mark_colour.r, mark_colour.g, mark_colour.b);
    }
    int pool_index = 0, strip_index = 0;
    cJSON_ArrayForEach(pool, pools) {
        const char* pool_name = str(pool, "name") ? str(pool, "name") : "pool";
        cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(pool, "blocks")) {
            const double size = num(block, "capacity"), used = num(block, "used_size");
            char s_size[32], s_used[32], s_free[32], s_largest[32];
            human(s_size, sizeof s_size, size);
            human(s_used, sizeof s_used, used);
            human(s_free, sizeof s_free, num(block, "free_size"));
            human(s_largest, sizeof s_largest, num(block, "largest_free_size"));
            snprintf(line, sizeof line, "%s, block %.0f%s: %s, %.0f ranges, %.0f free regions",
                     pool_name, num(block, "index"),
                     cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(block, "is_dedicated"))
                         ? " (dedicated)"
                         : "",
                     s_size, num(block, "allocation_count"), num(block, "free_region_count"));
            text(&im, MARGIN, y, line, text_colour);
            snprintf(line, sizeof line,
                     "used %s (%.1f%%)   free %s   largest free %s   fragmentation %.3f", s_used,
                     size > 0 ? 100.0 * used / size : 0.0, s_free, s_largest,
                     num(block, "fragmentation"));
            text(&im, MARGIN, y + LINE_HEIGHT, line, text_colour);
            const int sy = y + 2 * LINE_HEIGHT + 6;
            draw_strip(&im, MARGIN, sy, strip_w, block, pool_name, by_tag, &k);
            if (lf != NULL) {
                fprintf(lf,
                        "%s{\"pool\":%d,\"block\":%.0f,\"x\":%d,\"y\":%d,\"w\":%d,\"h\":%d,"
                        "\"marks_y\":%d,\"marks_h\":%d}",
                        strip_index ? "," : "", pool_index, num(block, "index"), MARGIN, sy,
                        strip_w, STRIP_HEIGHT, sy + STRIP_HEIGHT + MARKS_GAP, MARKS_HEIGHT);
            }
            strip_index++;
            y += block_height;
        }
        pool_index++;
    }
    /* Legend: a swatch and a name per colour, four to a row. */
    int lx = MARGIN, col = 0;
    const int cell = (width - 2 * MARGIN) / 4;
    for (int i = 0; i < k.count + 2; i++) {
        char label[128];
        rgb c;
        if (i < k.count) {
            char b[32];
            human(b, sizeof b, k.bytes[i]);
            snprintf(label, sizeof label, "%s (%s)", k.name[i], b);
            c = palette[i];
        } else if (i == k.count) {
            snprintf(label, sizeof label, "free");
            c = free_colour;
        } else {
            snprintf(label, sizeof label, "holds a free region (band)");
            c = mark_colour;
        }
        fill(&im, lx + col * cell, y + 2, LINE_HEIGHT - 6, LINE_HEIGHT - 6, c);
        if (text_width(label) > cell - LINE_HEIGHT - 4) {
            label[(cell - LINE_HEIGHT) / (6 * TEXT_SCALE)] = '\0';
        }
        text(&im, lx + col * cell + LINE_HEIGHT, y + 2, label, text_colour);
        if (++col == 4) {
            col = 0;
            y += LINE_HEIGHT;
        }
    }
    if (lf != NULL) {
        fprintf(lf, "],\"by_tag\":%s}\n", by_tag ? "true" : "false");
        fclose(lf);
    }
    const int ok = stbi_write_png(out, im.w, im.h, 3, im.px, im.w * 3);
    free(im.px);
    cJSON_Delete(root);
    if (!ok) {
        fprintf(stderr, "orderly-vis: cannot write %s\n", out);
        return 1;
    }
    return 0;
}
