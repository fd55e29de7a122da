/* test_vk_memtype.c - the pure choices of the manager: memory type and range
 * alignment, fed with the memory layouts and limits of devices the test
 * machine does not have (a discrete GPU with a BAR heap, an integrated GPU,
 * lavapipe). Table-driven; needs no Vulkan device. */
#include <orderly/orderly_vk.h>

#include "../oa_test.h"

#define DL VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT
#define HV VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT
#define HC VK_MEMORY_PROPERTY_HOST_COHERENT_BIT
#define CA VK_MEMORY_PROPERTY_HOST_CACHED_BIT
#define GiB (1ull << 30)
#define MiB (1ull << 20)

/* Discrete GPU without resizable BAR: 16 GiB video memory, system memory,
 * and a 256 MiB host-visible window of video memory (the BAR). Type 4 is a
 * device-coherent type as AMD drivers expose it; type 5 lazily allocated. */
static VkPhysicalDeviceMemoryProperties discrete_bar(void) {
    VkPhysicalDeviceMemoryProperties p = {0};
    p.memoryHeapCount = 3;
    p.memoryHeaps[0] = (VkMemoryHeap){16 * GiB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p.memoryHeaps[1] = (VkMemoryHeap){32 * GiB, 0};
    p.memoryHeaps[2] = (VkMemoryHeap){256 * MiB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p.memoryTypeCount = 6;
    p.memoryTypes[0] = (VkMemoryType){DL, 0};
    p.memoryTypes[1] = (VkMemoryType){HV | HC, 1};
    p.memoryTypes[2] = (VkMemoryType){HV | HC | CA, 1};
    p.memoryTypes[3] = (VkMemoryType){DL | HV | HC, 2};
    p.memoryTypes[4] = (VkMemoryType){DL | VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD |
                                          VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD,
                                      0};
    p.memoryTypes[5] = (VkMemoryType){DL | VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT, 0};
    return p;
}

/* Integrated GPU: one heap of shared memory, everything device-local. */
static VkPhysicalDeviceMemoryProperties integrated(void) {
    VkPhysicalDeviceMemoryProperties p = {0};
    p.memoryHeapCount = 1;
    p.memoryHeaps[0] = (VkMemoryHeap){12 * GiB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p.memoryTypeCount = 3;
    p.memoryTypes[0] = (VkMemoryType){DL, 0};
    p.memoryTypes[1] = (VkMemoryType){DL | HV | HC, 0};
    p.memoryTypes[2] = (VkMemoryType){DL | HV | HC | CA, 0};
    return p;
}

/* lavapipe: one heap, one type that has everything. */
static VkPhysicalDeviceMemoryProperties lavapipe(void) {
    VkPhysicalDeviceMemoryProperties p = {0};
    p.memoryHeapCount = 1;
    p.memoryHeaps[0] = (VkMemoryHeap){2 * GiB, VK_MEMORY_HEAP_DEVICE_LOCAL_BIT};
    p.memoryTypeCount = 1;
    p.memoryTypes[0] = (VkMemoryType){DL | HV | HC | CA, 0};
    return p;
}

enum { DISCRETE, INTEGRATED, LAVAPIPE, LAYOUT_COUNT };

typedef struct type_case {
    const char* name;
    uint32_t type_bits;
    VkMemoryPropertyFlags required, preferred;
    int32_t expected[LAYOUT_COUNT]; /* type index, or -1 for OA_VK_ERROR_NO_MEMORY_TYPE */
} type_case;

static const type_case type_cases[] = {
    {"gpu-only vertex (required DL)", ~0u, DL, 0, {0, 0, 0}},
    {"gpu-only vertex (preferred DL)", ~0u, 0, DL, {0, 0, 0}},
    {"staging upload", ~0u, HV | HC, 0, {1, 1, 0}},
    {"readback", ~0u, HV, CA, {2, 2, 0}},
    {"dynamic uniform in the BAR", ~0u, HV | HC, DL, {3, 1, 0}},
    {"BAR excluded: fallback to system memory", ~0x8u, HV | HC, DL, {1, 1, 0}},
    {"fallback order: second choice of staging", ~0x2u, HV | HC, 0, {2, 2, 0}},
    {"required DL|HV without the BAR", 0x7u, DL | HV, 0, {-1, 1, 0}},
    {"device-coherent type only when asked", 0x10u, DL, 0, {-1, -1, -1}},
    {"device-coherent type asked for",
     ~0u,
     DL | VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD | VK_MEMORY_PROPERTY_DEVICE_UNCACHED_BIT_AMD,
     0,
     {4, -1, -1}},
    {"device-coherent without uncached still skipped",
     ~0u,
     DL | VK_MEMORY_PROPERTY_DEVICE_COHERENT_BIT_AMD,
     0,
     {-1, -1, -1}},
    {"lazily allocated only when asked", 0x20u, DL, 0, {-1, -1, -1}},
    {"no type bits", 0, 0, 0, {-1, -1, -1}},
    {"nothing required or preferred", ~0u, 0, 0, {0, 0, 0}},
};

OA_TEST(memory_type_table) {
    VkPhysicalDeviceMemoryProperties layouts[LAYOUT_COUNT] = {discrete_bar(), integrated(),
                                                              lavapipe()};
    static const char* layout_names[LAYOUT_COUNT] = {"discrete", "integrated", "lavapipe"};
    for (size_t c = 0; c < sizeof type_cases / sizeof type_cases[0]; c++) {
        const type_case* tc = &type_cases[c];
        for (int l = 0; l < LAYOUT_COUNT; l++) {
            uint32_t index = 12345;
            const oa_vk_result r = oa_vk_choose_memory_type(&layouts[l], tc->type_bits,
                                                            tc->required, tc->preferred, &index);
            if (tc->expected[l] < 0) {
                if (r != OA_VK_ERROR_NO_MEMORY_TYPE || index != UINT32_MAX) {
                    OA_FAIL_AT("%s on %s: got %s, type %u, expected no type", tc->name,
                               layout_names[l], oa_vk_result_name(r), index);
                    return;
                }
            } else if (r != OA_VK_SUCCESS || index != (uint32_t)tc->expected[l]) {
                OA_FAIL_AT("%s on %s: got %s, type %u, expected type %d", tc->name, layout_names[l],
                           oa_vk_result_name(r), index, tc->expected[l]);
                return;
            }
        }
    }
}

/* Clearing the chosen bit again and again walks every usable type once, and
 * every type it yields holds the required flags. */
OA_TEST(memory_type_fallback_walk) {
    const VkPhysicalDeviceMemoryProperties p = discrete_bar();
    uint32_t bits = ~0u;
    uint32_t order[8];
    uint32_t n = 0;
    uint32_t index = 0;
    while (oa_vk_choose_memory_type(&p, bits, HV, 0, &index) == OA_VK_SUCCESS) {
        CHECK(n < 8);
        CHECK((p.memoryTypes[index].propertyFlags & HV) != 0);
        order[n++] = index;
        bits &= ~(1u << index);
    }
    CHECK_EQ(n, 3);
    CHECK_EQ(order[0], 1); /* plain system memory first */
    CHECK_EQ(order[1], 2); /* then cached */
    CHECK_EQ(order[2], 3); /* the small BAR last */
}

OA_TEST(memory_type_bad_input) {
    const VkPhysicalDeviceMemoryProperties p = lavapipe();
    uint32_t index = 7;
    CHECK_EQ(oa_vk_choose_memory_type(NULL, ~0u, 0, 0, &index), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK_EQ(index, UINT32_MAX);
    CHECK_EQ(oa_vk_choose_memory_type(&p, ~0u, 0, 0, NULL), OA_VK_ERROR_INVALID_ARGUMENT);
    /* A corrupt count is clamped, not trusted. */
    VkPhysicalDeviceMemoryProperties bad = p;
    bad.memoryTypeCount = 1000;
    CHECK_EQ(oa_vk_choose_memory_type(&bad, 1u, DL, 0, &index), OA_VK_SUCCESS);
    CHECK_EQ(index, 0);
}

typedef struct align_case {
    VkBufferUsageFlags usage;
    VkDeviceSize index_size;
    bool non_coherent;
    VkDeviceSize caller;
    VkDeviceSize expected;
} align_case;

/* The limits are pairwise distinct primes times powers of two where the
 * rules allow, so a term that is missing or added shows in the lcm. */
OA_TEST(range_alignment_table) {
    VkPhysicalDeviceLimits limits = {0};
    limits.minUniformBufferOffsetAlignment = 256;
    limits.minStorageBufferOffsetAlignment = 64;
    limits.minTexelBufferOffsetAlignment = 16;
    limits.nonCoherentAtomSize = 128;
    const VkBufferUsageFlags vb = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT;
    const VkBufferUsageFlags ib = VK_BUFFER_USAGE_INDEX_BUFFER_BIT;
    const VkBufferUsageFlags ub = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT;
    const VkBufferUsageFlags sb = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT;
    const VkBufferUsageFlags tb = VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
    const VkBufferUsageFlags db = VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT;
    static const align_case cases[] = {
        /* Vertex data: the stride alone, whatever the memory alignment. */
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 12, 12},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 24, 24},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 20, 20},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 1, 1},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, 0, false, 36, 36},
        /* Index data: the index size. */
        {VK_BUFFER_USAGE_INDEX_BUFFER_BIT, 0, false, 1, 1},
        {VK_BUFFER_USAGE_INDEX_BUFFER_BIT, 2, false, 1, 2},
        {VK_BUFFER_USAGE_INDEX_BUFFER_BIT, 4, false, 1, 4},
        {VK_BUFFER_USAGE_INDEX_BUFFER_BIT, 4, false, 6, 12},
        {VK_BUFFER_USAGE_INDEX_BUFFER_BIT | VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 1, false, 3, 3},
        /* Indirect commands: 4. */
        {VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, 0, false, 1, 4},
        {VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT | VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 24, 24},
        {VK_BUFFER_USAGE_INDIRECT_BUFFER_BIT, 0, false, 6, 12},
        /* Descriptor offsets. */
        {VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, 0, false, 12, 768},
        {VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, 0, false, 1, 256},
        {VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 0, false, 48, 192},
        {VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 0, true, 48, 384},
        {VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT, 0, false, 20, 80},
        {VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT, 0, false, 1, 16},
        {VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT | VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
             VK_BUFFER_USAGE_STORAGE_TEXEL_BUFFER_BIT,
         0, false, 1, 256},
        /* Non-coherent mapped memory: whole atoms. */
        {VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 0, true, 1, 128},
        {VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 0, false, 1, 1},
        {VK_BUFFER_USAGE_TRANSFER_SRC_BIT, 0, true, 24, 384},
        /* Rejected inputs. */
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, 0, 0},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 3, false, 1, 0},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 16, false, 1, 0},
        {VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, 0, false, (1ull << 32) + 1, 0},
        {VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT, 0, false, (1ull << 31) + 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const align_case* c = &cases[i];
        const VkDeviceSize a =
            oa_vk_range_alignment(&limits, c->usage, c->index_size, c->non_coherent, c->caller);
        if (a != c->expected) {
            OA_FAIL_AT("case %zu: alignment %llu, expected %llu", i, (unsigned long long)a,
                       (unsigned long long)c->expected);
            return;
        }
    }
    CHECK_EQ(oa_vk_range_alignment(NULL, vb, 0, false, 1), 0);
    /* A limit the device leaves at 0 constrains nothing. */
    VkPhysicalDeviceLimits zero = {0};
    CHECK_EQ(oa_vk_range_alignment(&zero, ub | sb | tb | ib | db, 0, true, 12), 12);
    CHECK_EQ(oa_vk_range_alignment(&zero, ub | sb | tb | ib | db, 0, true, 1), 4);
}

/* One value per meaning: every core result has a Vulkan-layer result of the
 * same value and the same name (OA_ERROR_X / OA_VK_ERROR_X; the core's
 * OUT_OF_SPACE is the pool's OUT_OF_POOL_SPACE), and no value means two
 * things. */
OA_TEST(core_and_vulkan_results_agree) {
    static const int core_values[] = {0, -1, -2, -3, -4, -5, -6, -100, -101, -102, -103, -104};
    for (size_t i = 0; i < sizeof core_values / sizeof core_values[0]; i++) {
        const char* core = oa_result_name((oa_result)core_values[i]);
        const char* vk = oa_vk_result_name((oa_vk_result)core_values[i]);
        CHECK(strncmp(core, "OA_", 3) == 0 && strncmp(vk, "OA_VK_", 6) == 0);
        const char* expected =
            strcmp(core, "OA_ERROR_OUT_OF_SPACE") == 0 ? "ERROR_OUT_OF_POOL_SPACE" : core + 3;
        if (strcmp(vk + 6, expected) != 0) {
            OA_FAIL_AT("value %d: core %s, vulkan layer %s", core_values[i], core, vk);
        }
    }
    CHECK(strcmp(oa_vk_result_name(OA_VK_ERROR_DEVICE_LOST), "OA_VK_ERROR_DEVICE_LOST") == 0);
    CHECK(OA_VK_ERROR_DEVICE_LOST != OA_VK_ERROR_OUT_OF_DEVICE_MEMORY);
}

OA_TEST(result_names) {
    CHECK(strcmp(oa_vk_result_name(OA_VK_SUCCESS), "OA_VK_SUCCESS") == 0);
    CHECK(strcmp(oa_vk_result_name(OA_VK_ERROR_STALE_HANDLE), "OA_VK_ERROR_STALE_HANDLE") == 0);
    CHECK(strcmp(oa_vk_result_name((oa_vk_result)-999), "OA_VK_UNKNOWN_RESULT") == 0);
}

OA_TEST_MAIN()
