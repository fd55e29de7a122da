/* vis_check: checks a picture of orderly-vis against the dump it was drawn
 * from. For every strip (positions from orderly-vis --layout): the share of
 * used-colour pixels (neither the free colour nor the background) matches
 * the block's used / size within TOL; the band under the strip lights
 * exactly the columns that hold a free byte (within 2 columns, for rounding);
 * and the strip has as many used colours as the legend's keys need (at least
 * one when anything is used).
 * Usage: vis_check PNG LAYOUT.json DUMP.json [TOL]   -> "N passed, N failed" */
#include <cJSON.h>
#include <stb/stb_image.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char* slurp(const char* path) {
    FILE* f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char* s = (char*)malloc((size_t)n + 1);
    if (s != NULL && fread(s, 1, (size_t)n, f) == (size_t)n) {
        s[n] = '\0';
    } else {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static double num(const cJSON* o, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : -1.0;
}

static int colour_is(const unsigned char* p, const cJSON* rgb) {
    for (int i = 0; i < 3; i++) {
        if (p[i] != (int)cJSON_GetArrayItem(rgb, i)->valuedouble) {
            return 0;
        }
    }
    return 1;
}

int main(int argc, char** argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: vis_check PNG LAYOUT.json DUMP.json [TOL]\n");
        return 2;
    }
    const double tol = argc > 4 ? atof(argv[4]) : 0.01;
    int w, h, n;
    unsigned char* px = stbi_load(argv[1], &w, &h, &n, 3);
    char* layout_text = slurp(argv[2]);
    char* dump_text = slurp(argv[3]);
    cJSON* layout = layout_text ? cJSON_Parse(layout_text) : NULL;
    cJSON* dump = dump_text ? cJSON_Parse(dump_text) : NULL;
    if (px == NULL || layout == NULL || dump == NULL) {
        fprintf(stderr, "vis_check: cannot read %s, %s or %s\n", argv[1], argv[2], argv[3]);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    int passed = 0, failed = 0;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (cond) {                                                                                \
            passed++;                                                                              \
        } else {                                                                                   \
            failed++;                                                                              \
            printf("FAILED: " __VA_ARGS__);                                                        \
            printf("\n");                                                                          \
        }                                                                                          \
    } while (0)
    EXPECT(w == (int)num(layout, "width") && h == (int)num(layout, "height"),
           "image is %dx%d, layout says %.0fx%.0f", w, h, num(layout, "width"),
           num(layout, "height"));
    const cJSON* free_rgb = cJSON_GetObjectItemCaseSensitive(layout, "free");
    const cJSON* bg_rgb = cJSON_GetObjectItemCaseSensitive(layout, "background");
    const cJSON* mark_rgb = cJSON_GetObjectItemCaseSensitive(layout, "mark");
    const cJSON* pools = cJSON_GetObjectItemCaseSensitive(dump, "pools");
    const cJSON* strip;
    int strips = 0;
    cJSON_ArrayForEach(strip, cJSON_GetObjectItemCaseSensitive(layout, "strips")) {
        const cJSON* pool = cJSON_GetArrayItem(pools, (int)num(strip, "pool"));
        const cJSON* block = NULL;
        const cJSON* b;
        cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(pool, "blocks")) {
            if (num(b, "index") == num(strip, "block")) {
                block = b;
            }
        }
        if (block == NULL) {
            EXPECT(0, "strip %d names a block the dump does not have", strips);
            continue;
        }
        const int x = (int)num(strip, "x"), y = (int)num(strip, "y");
        const int sw = (int)num(strip, "w"), sh = (int)num(strip, "h");
        const int my = (int)num(strip, "marks_y");
        /* Used share from the pixels. */
        long used_px = 0;
        unsigned seen[16][3];
        int colours = 0;
        for (int j = y; j < y + sh; j++) {
            for (int i = x; i < x + sw; i++) {
                const unsigned char* p = px + ((size_t)j * (size_t)w + (size_t)i) * 3;
                if (colour_is(p, free_rgb) || colour_is(p, bg_rgb)) {
                    continue;
                }
                used_px++;
                int known = 0;
                for (int c = 0; c < colours; c++) {
                    known |= seen[c][0] == p[0] && seen[c][1] == p[1] && seen[c][2] == p[2];
                }
                if (!known && colours < 16) {
                    seen[colours][0] = p[0], seen[colours][1] = p[1], seen[colours][2] = p[2];
                    colours++;
                }
            }
        }
        const double size = num(block, "capacity"), used = num(block, "used_size");
        const double pixel_share = (double)used_px / ((double)sw * sh);
        const double byte_share = size > 0 ? used / size : 0;
        printf("strip %d: used %.4f of the bytes, %.4f of the pixels, %d used colours\n", strips,
               byte_share, pixel_share, colours);
        EXPECT(fabs(pixel_share - byte_share) <= tol, "strip %d: used pixels %.4f vs bytes %.4f",
               strips, pixel_share, byte_share);
        EXPECT(used <= 0 || colours >= 1, "strip %d: nothing drawn in a used colour", strips);
        /* Columns holding a free byte, from the dump, against the lit band. */
        const double per_col = size / sw;
        char* want = (char*)calloc((size_t)sw, 1);
        const cJSON* r;
        cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(block, "regions")) {
            if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "is_free")) && want != NULL) {
                const double lo = num(r, "offset"), hi = lo + num(r, "size");
                for (int c = (int)(lo / per_col); c < sw && c * per_col < hi; c++) {
                    want[c] = 1;
                }
            }
        }
        int lit = 0, expected = 0, mismatched = 0;
        for (int c = 0; c < sw; c++) {
            const int on = colour_is(px + ((size_t)my * (size_t)w + (size_t)(x + c)) * 3, mark_rgb);
            lit += on;
            expected += want != NULL && want[c];
            mismatched += want != NULL && on != want[c];
        }
        free(want);
        printf("strip %d: %d columns hold free bytes, %d lit\n", strips, expected, lit);
        EXPECT(mismatched <= 2, "strip %d: %d band columns disagree with the dump", strips,
               mismatched);
        strips++;
    }
    int blocks = 0;
    const cJSON* pool;
    cJSON_ArrayForEach(pool, pools) {
        blocks += cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(pool, "blocks"));
    }
    EXPECT(strips == blocks && blocks > 0, "%d strips for %d blocks", strips, blocks);
    stbi_image_free(px);
    cJSON_Delete(layout);
    cJSON_Delete(dump);
    free(layout_text);
    free(dump_text);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
