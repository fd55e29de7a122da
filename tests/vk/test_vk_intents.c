/* test_vk_intents.c - memory intents: which memory types a pool of each
 * intent gets, in which order, on synthetic memory layouts of GPUs the test
 * machine does not have (NVIDIA and AMD discrete, AMD with ReBAR, Intel
 * integrated, Mali, Adreno, lavapipe). Prints the table that
 * docs/memory-intents.md carries and checks every cell, the fallbacks, ReBAR
 * detection and bad input. Pure functions only; needs no Vulkan device. */
#include <orderly/orderly_vk.h>

#include "../oa_test.h"

#include <stdio.h>

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CA VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define LAZY VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT
#define AMD_DC                                                                                     \
    (VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD)
#define GiB (1ull << 30)
#define MiB (1ull << 20)

typedef struct layout {
    const char* name;
    VkPhysicalDeviceMemoryProperties p;
} layout;

static void add_heap(VkPhysicalDeviceMemoryProperties* p, VkDeviceSize size, bool device_local) {
    p->memoryHeaps[p->memoryHeapCount++] =
        (VkMemoryHeap){size, device_local ? VK_MEMORY_HEAP_DEVICE_LOCAL_BIT : 0u};
}

static void add_type(VkPhysicalDeviceMemoryProperties* p, VkMemoryPropertyFlags flags,
                     uint32_t heap) {
    p->memoryTypes[p->memoryTypeCount++] = (VkMemoryType){flags, heap};
}

enum { NVIDIA, AMD, AMD_REBAR, INTEL, MALI, ADRENO, LAVAPIPE, LAYOUT_COUNT };

/* The layouts as their drivers report them, reduced to what the choice reads. */
static layout make_layout(int which) {
    layout l;
    memset(&l, 0, sizeof l);
    VkPhysicalDeviceMemoryProperties* p = &l.p;
    switch (which) {
    case NVIDIA: /* a type with no flags first; the 256 MiB BAR on its own heap */
        l.name = "NVIDIA discrete";
        add_heap(p, 8 * GiB, true);
        add_heap(p, 24 * GiB, false);
        add_heap(p, 256 * MiB, true);
        add_type(p, 0, 1);
        add_type(p, DL, 0);
        add_type(p, HV | HC, 1);
        add_type(p, HV | HC | CA, 1);
        add_type(p, DL | HV | HC, 2);
        break;
    case AMD: /* 256 MiB BAR, and AMD's device-coherent types */
        l.name = "AMD discrete";
        add_heap(p, 8 * GiB, true);
        add_heap(p, 16 * GiB, false);
        add_heap(p, 256 * MiB, true);
        add_type(p, DL, 0);
        add_type(p, HV | HC, 1);
        add_type(p, DL | HV | HC, 2);
        add_type(p, HV | HC | CA, 1);
        add_type(p, DL | AMD_DC, 0);
        add_type(p, HV | HC | AMD_DC, 1);
        break;
    case AMD_REBAR: /* resizable BAR: all of video memory is host-visible */
        l.name = "AMD discrete, ReBAR";
        add_heap(p, 16 * GiB, true);
        add_heap(p, 16 * GiB, false);
        add_type(p, DL, 0);
        add_type(p, HV | HC, 1);
        add_type(p, DL | HV | HC, 0);
        add_type(p, HV | HC | CA, 1);
        add_type(p, DL | AMD_DC, 0);
        add_type(p, HV | HC | AMD_DC, 1);
        break;
    case INTEL: /* integrated: one heap, everything device-local */
        l.name = "Intel integrated";
        add_heap(p, 12 * GiB, true);
        add_type(p, DL, 0);
        add_type(p, DL | HV | HC, 0);
        add_type(p, DL | HV | HC | CA, 0);
        break;
    case MALI: /* no plain device-local type; a non-coherent cached one */
        l.name = "Mali";
        add_heap(p, 8 * GiB, true);
        add_type(p, DL | HV | HC, 0);
        add_type(p, DL | HV | CA, 0);
        add_type(p, DL | HV | HC | CA, 0);
        add_type(p, DL | LAZY, 0);
        break;
    case ADRENO:
        l.name = "Adreno";
        add_heap(p, 6 * GiB, true);
        add_type(p, DL, 0);
        add_type(p, DL | HV | HC, 0);
        add_type(p, DL | HV | CA, 0);
        add_type(p, DL | HV | HC | CA, 0);
        add_type(p, DL | LAZY, 0);
        break;
    default:
        l.name = "lavapipe";
        add_heap(p, 2 * GiB, true);
        add_type(p, DL | HV | HC | CA, 0);
        break;
    }
    return l;
}

typedef struct intent_row {
    const char* name;
    oa_vk_memory_intent intent;
    uint32_t flags;
    /* Per layout: the order, best first, ended by -1. */
    int8_t order[LAYOUT_COUNT][8];
} intent_row;

#define END -1
static const intent_row rows[] = {
    {"device (zero info)",
     OA_VK_INTENT_DEVICE,
     0,
     {{1, 4, 0, 2, 3, END},
      {0, 2, 1, 3, END},
      {0, 2, 1, 3, END},
      {0, 1, 2, END},
      {0, 1, 2, END},
      {0, 1, 2, 3, END},
      {0, END}}},
    {"upload",
     OA_VK_INTENT_UPLOAD,
     0,
     {{2, 3, 4, END},
      {1, 3, 2, END},
      {1, 3, 2, END},
      {1, 2, END},
      {0, 2, END},
      {1, 3, END},
      {0, END}}},
    {"upload + ALLOW_REBAR",
     OA_VK_INTENT_UPLOAD,
     OA_VK_POOL_ALLOW_REBAR,
     {{2, 3, 4, END},
      {1, 3, 2, END},
      {2, 1, 3, END},
      {1, 2, END},
      {0, 2, END},
      {1, 3, END},
      {0, END}}},
    {"readback",
     OA_VK_INTENT_READBACK,
     0,
     {{3, END}, {3, END}, {3, END}, {2, END}, {1, 2, END}, {2, 3, END}, {0, END}}},
    {"dynamic",
     OA_VK_INTENT_DYNAMIC,
     0,
     {{4, 2, 3, END},
      {2, 1, 3, END},
      {2, 1, 3, END},
      {1, 2, END},
      {0, 2, END},
      {1, 3, END},
      {0, END}}},
    {"staging",
     OA_VK_INTENT_STAGING,
     0,
     {{2, 3, 4, END},
      {1, 3, 2, END},
      {1, 3, 2, END},
      {1, 2, END},
      {0, 2, END},
      {1, 3, END},
      {0, END}}},
};
#define ROW_COUNT (sizeof rows / sizeof rows[0])

static oa_vk_result order_of(const VkPhysicalDeviceMemoryProperties* p, uint32_t bits,
                             const oa_vk_pool_info* info, uint32_t* types, uint32_t* count) {
    memset(types, 0xFF, VK_MAX_MEMORY_TYPES * sizeof *types);
    return oa_vk_pool_memory_types(p, bits, info, types, count);
}

static void format_order(const uint32_t* types, uint32_t count, char* out, size_t size) {
    size_t used = 0;
    out[0] = '\0';
    for (uint32_t k = 0; k < count && used < size; k++) {
        const int n = snprintf(out + used, size - used, "%s%u", k == 0 ? "" : " > ", types[k]);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* Prints the table (one markdown row per intent) and checks every cell. */
OA_TEST(intent_table_on_every_layout) {
    layout layouts[LAYOUT_COUNT];
    printf("| intent |");
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        layouts[l] = make_layout(l);
        printf(" %s |", layouts[l].name);
    }
    printf("\n|---|");
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        printf("---|");
    }
    printf("\n");
    for (size_t r = 0; r < ROW_COUNT; r++) {
        const intent_row* row = &rows[r];
        const oa_vk_pool_info info = {
            .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT, .intent = row->intent, .flags = row->flags};
        printf("| %s |", row->name);
        for (int l = 0; l < LAYOUT_COUNT; l++) {
            uint32_t types[VK_MAX_MEMORY_TYPES];
            uint32_t count = 99;
            const oa_vk_result res = order_of(&layouts[l].p, ~0u, &info, types, &count);
            char text[128];
            format_order(types, count, text, sizeof text);
            printf(" %s |", text);
            CHECK_EQ(res, OA_VK_SUCCESS);
            uint32_t expected = 0;
            while (row->order[l][expected] != END) {
                expected++;
            }
            if (count != expected) {
                OA_FAIL_AT("%s on %s: %u types (%s), expected %u", row->name, layouts[l].name,
                           count, text, expected);
                return;
            }
            for (uint32_t k = 0; k < count; k++) {
                if (types[k] != (uint32_t)row->order[l][k]) {
                    OA_FAIL_AT("%s on %s: order %s, expected type %d at place %u", row->name,
                               layouts[l].name, text, row->order[l][k], k);
                    return;
                }
            }
            /* What each intent needs holds for every type of the order. */
            for (uint32_t k = 0; k < count; k++) {
                const VkMemoryPropertyFlags f = layouts[l].p.memoryTypes[types[k]].propertyFlags;
                if (row->intent != OA_VK_INTENT_DEVICE) {
                    CHECK((f & HV) != 0);
                }
                if (row->intent == OA_VK_INTENT_READBACK) {
                    CHECK((f & CA) != 0);
                }
                CHECK((f & (LAZY | AMD_DC)) == 0);
            }
        }
        printf("\n");
    }
}

/* The cases: readback lands in cached memory, per-frame data in the
 * BAR on discrete GPUs, a zero-flag vertex pool in video memory on NVIDIA, a
 * readback pool on Mali has a fallback. */
OA_TEST(intents_fix_the_reported_cases) {
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        const layout lay = make_layout(l);
        const oa_vk_pool_info readback = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                          .intent = OA_VK_INTENT_READBACK};
        CHECK_EQ(order_of(&lay.p, ~0u, &readback, types, &count), OA_VK_SUCCESS);
        CHECK((lay.p.memoryTypes[types[0]].propertyFlags & (HV | CA)) == (HV | CA));
    }
    const oa_vk_pool_info dynamic = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                     .intent = OA_VK_INTENT_DYNAMIC};
    const int discrete[] = {NVIDIA, AMD, AMD_REBAR};
    for (size_t i = 0; i < 3; i++) {
        const layout lay = make_layout(discrete[i]);
        CHECK_EQ(order_of(&lay.p, ~0u, &dynamic, types, &count), OA_VK_SUCCESS);
        CHECK_EQ(lay.p.memoryTypes[types[0]].propertyFlags, DL | HV | HC);
    }
    const layout nv = make_layout(NVIDIA);
    const oa_vk_pool_info vertex = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT};
    CHECK_EQ(order_of(&nv.p, ~0u, &vertex, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 1);
    const layout mali = make_layout(MALI);
    const oa_vk_pool_info readback = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .intent = OA_VK_INTENT_READBACK};
    CHECK_EQ(order_of(&mali.p, ~0u, &readback, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 2);
    /* The plain function with zero flags still takes NVIDIA's flagless type:
     * the intent, not the cost function, is what changed. */
    uint32_t index = 0;
    CHECK_EQ(oa_vk_choose_memory_type(&nv.p, ~0u, 0, 0, &index), OA_VK_SUCCESS);
    CHECK_EQ(index, 0);
}

/* Remove the first type from memoryTypeBits (a buffer that cannot live there)
 * and the second of the order comes first. */
OA_TEST(removing_the_first_type_gives_the_next) {
    for (size_t r = 0; r < ROW_COUNT; r++) {
        const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .intent = rows[r].intent,
                                      .flags = rows[r].flags};
        for (int l = 0; l < LAYOUT_COUNT; l++) {
            const layout lay = make_layout(l);
            if (rows[r].order[l][1] == END) {
                continue;
            }
            uint32_t types[VK_MAX_MEMORY_TYPES];
            uint32_t count = 0;
            const uint32_t bits = ~(1u << rows[r].order[l][0]);
            CHECK_EQ(order_of(&lay.p, bits, &info, types, &count), OA_VK_SUCCESS);
            if (types[0] != (uint32_t)rows[r].order[l][1]) {
                OA_FAIL_AT("%s on %s without type %d: got %u, expected %d", rows[r].name, lay.name,
                           rows[r].order[l][0], types[0], rows[r].order[l][1]);
                return;
            }
        }
    }
}

OA_TEST(readback_without_a_cached_type_is_still_host_visible) {
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    const oa_vk_pool_info readback = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                      .intent = OA_VK_INTENT_READBACK};
    /* NVIDIA without its cached type: coherent host memory, then the BAR. */
    const layout nv = make_layout(NVIDIA);
    CHECK_EQ(order_of(&nv.p, ~(1u << 3), &readback, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 2);
    CHECK_EQ(types[0], 2);
    CHECK_EQ(types[1], 4);
    /* Adreno without both cached types: its coherent host-visible type. */
    const layout adreno = make_layout(ADRENO);
    CHECK_EQ(order_of(&adreno.p, ~0xCu, &readback, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 1);
    CHECK_EQ(types[0], 1);
    /* No host-visible type at all: no memory type, never a device-only one. */
    CHECK_EQ(order_of(&nv.p, 0x3u, &readback, types, &count), OA_VK_ERROR_NO_MEMORY_TYPE);
    CHECK_EQ(count, 0);
}

OA_TEST(device_pool_on_integrated_gets_the_device_local_type) {
    const layout intel = make_layout(INTEL);
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    const oa_vk_pool_info zero = {0};
    CHECK_EQ(order_of(&intel.p, ~0u, &zero, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 0);
    CHECK_EQ(intel.p.memoryTypes[types[0]].propertyFlags, DL);
    /* Without it, the host-visible ones: an unmapped pool may take them. */
    CHECK_EQ(order_of(&intel.p, ~1u, &zero, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 1);
}

/* A mapped pool whose first type is coherent lists no non-coherent type; an
 * unmapped one lists both, and a mapped non-coherent first type keeps its
 * coherent fallbacks. */
OA_TEST(fallbacks_and_coherency) {
    const layout mali = make_layout(MALI);
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    const oa_vk_pool_info device = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT};
    CHECK_EQ(order_of(&mali.p, ~0u, &device, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 3); /* 0 (coherent), 1 (non-coherent), 2 */
    CHECK_EQ(types[1], 1);
    const oa_vk_pool_info upload = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                    .intent = OA_VK_INTENT_UPLOAD};
    CHECK_EQ(order_of(&mali.p, ~0u, &upload, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 2);
    CHECK_EQ(types[0], 0);
    CHECK_EQ(types[1], 2);
    const oa_vk_pool_info readback = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT,
                                      .intent = OA_VK_INTENT_READBACK};
    CHECK_EQ(order_of(&mali.p, ~0u, &readback, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 2);
    CHECK_EQ(types[0], 1); /* non-coherent cached first, coherent cached after */
    CHECK_EQ(types[1], 2);
}

/* Raw flags join the intent: required ones filter, preferred ones outweigh
 * what the intent avoids; FLAGS_ONLY is oa_vk_choose_memory_type's order. */
OA_TEST(raw_flags_combine_with_the_intent) {
    const layout nv = make_layout(NVIDIA);
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    /* Device-only data the caller wants host-visible (not mapped): the BAR. */
    const oa_vk_pool_info device_hv = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                       .required_flags = HV};
    CHECK_EQ(order_of(&nv.p, ~0u, &device_hv, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 4);
    /* Staging that prefers video memory: the BAR first, host memory after. */
    const oa_vk_pool_info staging_dl = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                        .intent = OA_VK_INTENT_STAGING,
                                        .preferred_flags = DL};
    CHECK_EQ(order_of(&nv.p, ~0u, &staging_dl, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 4);
    CHECK_EQ(types[1], 2);
    /* Dynamic data that must be cached: host memory, the only cached type. */
    const oa_vk_pool_info dynamic_ca = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                        .intent = OA_VK_INTENT_DYNAMIC,
                                        .required_flags = CA};
    CHECK_EQ(order_of(&nv.p, ~0u, &dynamic_ca, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 1);
    CHECK_EQ(types[0], 3);
    /* Lazily allocated memory only when asked for, with any intent. */
    const layout mali = make_layout(MALI);
    const oa_vk_pool_info lazy = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .required_flags = LAZY};
    CHECK_EQ(order_of(&mali.p, ~0u, &lazy, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 1);
    CHECK_EQ(types[0], 3);
    /* FLAGS_ONLY: the first type is oa_vk_choose_memory_type's, on every
     * layout and for several flag sets. */
    static const VkMemoryPropertyFlags sets[][2] = {{0, 0},        {DL, 0},  {0, DL},     {HV, 0},
                                                    {HV | HC, DL}, {HV, CA}, {HV | CA, 0}};
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        const layout lay = make_layout(l);
        for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
            const oa_vk_pool_info raw = {.usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                         .intent = OA_VK_INTENT_FLAGS_ONLY,
                                         .required_flags = sets[s][0],
                                         .preferred_flags = sets[s][1]};
            uint32_t index = 0;
            const oa_vk_result expected =
                oa_vk_choose_memory_type(&lay.p, ~0u, sets[s][0], sets[s][1], &index);
            CHECK_EQ(order_of(&lay.p, ~0u, &raw, types, &count), expected);
            if (expected == OA_VK_SUCCESS) {
                CHECK_EQ(types[0], index);
            }
        }
    }
}

OA_TEST(rebar_detection) {
    const uint32_t expected[LAYOUT_COUNT] = {0, 0, 1u << 2, 0x6u, 0x7u, 0xEu, 0x1u};
    for (int l = 0; l < LAYOUT_COUNT; l++) {
        const layout lay = make_layout(l);
        if (oa_vk_rebar_types(&lay.p) != expected[l]) {
            OA_FAIL_AT("%s: ReBAR types 0x%x, expected 0x%x", lay.name, oa_vk_rebar_types(&lay.p),
                       expected[l]);
            return;
        }
    }
    /* The boundary: a 256 MiB BAR is not ReBAR, one byte more is. */
    layout nv = make_layout(NVIDIA);
    CHECK_EQ(oa_vk_rebar_types(&nv.p), 0);
    nv.p.memoryHeaps[2].size = OA_VK_REBAR_MIN_HEAP_SIZE + 1;
    CHECK_EQ(oa_vk_rebar_types(&nv.p), 1u << 4);
    /* ...and upload with ALLOW_REBAR then takes it. */
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 0;
    const oa_vk_pool_info upload = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                    .intent = OA_VK_INTENT_UPLOAD,
                                    .flags = OA_VK_POOL_ALLOW_REBAR};
    CHECK_EQ(order_of(&nv.p, ~0u, &upload, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 4);
    /* A ReBAR type outside memoryTypeBits does not count. */
    CHECK_EQ(order_of(&nv.p, ~(1u << 4), &upload, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 2);
    /* A heap index out of range is not trusted. */
    nv.p.memoryTypes[4].heapIndex = 7;
    CHECK_EQ(oa_vk_rebar_types(&nv.p), 0);
    CHECK_EQ(oa_vk_rebar_types(NULL), 0);
}

OA_TEST(intent_bad_input) {
    const layout lav = make_layout(LAVAPIPE);
    uint32_t types[VK_MAX_MEMORY_TYPES];
    uint32_t count = 5;
    const oa_vk_pool_info ok = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT};
    CHECK_EQ(oa_vk_pool_memory_types(NULL, ~0u, &ok, types, &count), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(count, 0);
    CHECK_EQ(oa_vk_pool_memory_types(&lav.p, ~0u, NULL, types, &count),
             OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_memory_types(&lav.p, ~0u, &ok, NULL, &count), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(oa_vk_pool_memory_types(&lav.p, ~0u, &ok, types, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    const oa_vk_pool_info unknown = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                     .intent = (oa_vk_memory_intent)99};
    count = 5;
    CHECK_EQ(order_of(&lav.p, ~0u, &unknown, types, &count), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(count, 0);
    const oa_vk_pool_info mapped_device = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                           .flags = OA_VK_POOL_MAPPED};
    CHECK_EQ(order_of(&lav.p, ~0u, &mapped_device, types, &count), OA_VK_ERROR_INVALID_ARGUMENT);
    /* MAPPED is fine with FLAGS_ONLY (HOST_VISIBLE becomes required) and
     * redundant with a host intent. */
    const oa_vk_pool_info mapped_raw = {.usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                        .intent = OA_VK_INTENT_FLAGS_ONLY,
                                        .flags = OA_VK_POOL_MAPPED};
    const layout nv = make_layout(NVIDIA);
    CHECK_EQ(order_of(&nv.p, ~0u, &mapped_raw, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 2);
    const oa_vk_pool_info mapped_staging = {.usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                            .intent = OA_VK_INTENT_STAGING,
                                            .flags = OA_VK_POOL_MAPPED};
    CHECK_EQ(order_of(&nv.p, ~0u, &mapped_staging, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(types[0], 2);
    /* No type in memoryTypeBits, a corrupt type count. */
    CHECK_EQ(order_of(&nv.p, 0, &ok, types, &count), OA_VK_ERROR_NO_MEMORY_TYPE);
    CHECK_EQ(count, 0);
    layout bad = make_layout(LAVAPIPE);
    bad.p.memoryTypeCount = 1000;
    CHECK_EQ(order_of(&bad.p, 1u, &ok, types, &count), OA_VK_SUCCESS);
    CHECK_EQ(count, 1);
    CHECK(strcmp(oa_vk_memory_intent_name(OA_VK_INTENT_READBACK), "readback") == 0);
    CHECK(strcmp(oa_vk_memory_intent_name((oa_vk_memory_intent)99), "unknown") == 0);
}

OA_TEST_MAIN()
