/* bufmap.c - mesh pool regions from the manager's JSON dump, per column.
 * The manager has no region iterator in its API; its dump lists every
 * region of every block in address order, which is what a strip map needs.
 * Parsed with cJSON each time it is called (about a millisecond for
 * thousands of regions). */
#include "bufmap.h"

#include <cJSON.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON* obj, const char* key) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0.0;
}

/* A handle id, written as a number or as a "0x..." string. */
static uint64_t id_of(const cJSON* obj) {
    const cJSON* v = cJSON_GetObjectItemCaseSensitive(obj, "id");
    if (cJSON_IsString(v) && v->valuestring) {
        return strtoull(v->valuestring, NULL, 0);
    }
    return cJSON_IsNumber(v) ? (uint64_t)v->valuedouble : 0;
}

static bool flag(const cJSON* obj, const char* key) {
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(obj, key));
}

static void add_coverage(float* col, uint32_t columns, uint64_t size, uint64_t begin,
                         uint64_t end) {
    double per = (double)size / columns;
    uint32_t c0 = (uint32_t)((double)begin / per), c1 = (uint32_t)((double)(end - 1) / per);
    if (c1 >= columns) {
        c1 = columns - 1;
    }
    for (uint32_t c = c0; c <= c1; c++) {
        double lo = c * per, hi = lo + per;
        double a = (double)begin > lo ? (double)begin : lo;
        double b = (double)end < hi ? (double)end : hi;
        if (b > a) {
            col[c] += (float)((b - a) / per);
        }
    }
}

bool bufmap_read(bufmap* m, oa_vk_manager* manager, oa_vk_pool pool, uint64_t fallback_size,
                 uint32_t columns) {
    if (columns > BUFMAP_MAX_COLUMNS) {
        columns = BUFMAP_MAX_COLUMNS;
    }
    if (columns == 0) {
        columns = 1;
    }
    m->columns = columns;
    memset(m->used, 0, sizeof m->used);
    memset(m->pending, 0, sizeof m->pending);
    m->size = fallback_size;
    m->region_count = 0;
    m->max_used_end = 0;
    m->tiles = true;

    size_t need = 0;
    oa_vk_result r = oa_vk_dump_json(manager, m->json, m->json_capacity, &need);
    if (r == OA_VK_INCOMPLETE || (r == OA_VK_SUCCESS && !m->json)) {
        free(m->json);
        m->json_capacity = need + need / 2 + 4096;
        m->json = malloc(m->json_capacity);
        if (!m->json) {
            m->json_capacity = 0;
            return false;
        }
        r = oa_vk_dump_json(manager, m->json, m->json_capacity, &need);
    }
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "error: oa_vk_dump_json: %s\n", oa_vk_result_name(r));
        return false;
    }
    cJSON* root = cJSON_Parse(m->json);
    if (!root) {
        fprintf(stderr, "error: the manager's JSON dump does not parse\n");
        return false;
    }
    const cJSON* pools = cJSON_GetObjectItemCaseSensitive(root, "pools");
    const cJSON* p;
    const cJSON* block = NULL;
    cJSON_ArrayForEach(p, pools) {
        if (id_of(p) == pool.id) {
            block = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "blocks"), 0);
            break;
        }
    }
    if (!block && pool.id && cJSON_GetArraySize(pools) > 0) {
        /* Pools are listed but not this one: the dump's layout is not the one
         * this code reads. Say so rather than draw an empty buffer. */
        fprintf(stderr, "error: pool 0x%016llx not found in the manager's JSON dump\n",
                (unsigned long long)pool.id);
        cJSON_Delete(root);
        return false;
    }
    if (block) {
        m->size = (uint64_t)num(block, "size");
        uint64_t expect = 0;
        const cJSON* reg;
        cJSON_ArrayForEach(reg, cJSON_GetObjectItemCaseSensitive(block, "regions")) {
            uint64_t off = (uint64_t)num(reg, "offset"), size = (uint64_t)num(reg, "size");
            m->tiles = m->tiles && off == expect && size > 0;
            expect = off + size;
            m->region_count++;
            if (flag(reg, "free") || size == 0) {
                continue;
            }
            if (off + size > m->max_used_end) {
                m->max_used_end = off + size;
            }
            add_coverage(flag(reg, "pending") ? m->pending : m->used, columns, m->size, off,
                         off + size);
        }
        m->tiles = m->tiles && expect == m->size;
    }
    cJSON_Delete(root);
    return true;
}

void bufmap_destroy(bufmap* m) {
    free(m->json);
    m->json = NULL;
    m->json_capacity = 0;
}
