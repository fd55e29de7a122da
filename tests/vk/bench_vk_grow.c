/* bench_vk_grow.c - the cost of oa_vk_pool_grow: a 64 MiB block filled with
 * ranges of 4 to 64 KiB of random bytes, half of them freed at random (or
 * none), grown to 128 MiB. Times the grow call on the host (new buffer and
 * memory, regions, the core's growth, recording), then the submit of the
 * command buffer that holds the copy and the wait for it (less an empty
 * submit's), for the three copies: one region per run of adjacent ranges,
 * the used span in one region, and the host copy of a mapped pool.
 * Runs on the first Vulkan device without validation layers. Not a ctest.
 * Prints one JSON object per line: medians of RUNS, and the fastest copy (a
 * busy machine's noise only ever adds time). */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <orderly/orderly_vk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vulkan/vulkan.h>

#define RUNS 5
#define FROM_SIZE (64ull << 20)
#define TO_SIZE (128ull << 20)

static uint64_t splitmix64(uint64_t* s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return x < y ? -1 : x > y;
}

typedef struct bench_gpu {
    VkInstance instance;
    VkPhysicalDevice physical;
    VkDevice device;
    VkQueue queue;
    VkCommandPool command_pool;
    VkFence fence;
} bench_gpu;

static int gpu_init(bench_gpu* g) {
    const VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                   .apiVersion = VK_API_VERSION_1_3};
    const VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                      .pApplicationInfo = &app};
    if (vkCreateInstance(&ici, NULL, &g->instance) != VK_SUCCESS) {
        return 0;
    }
    uint32_t n = 1;
    if (vkEnumeratePhysicalDevices(g->instance, &n, &g->physical) < 0 || n == 0) {
        return 0;
    }
    const float priority = 1.0f;
    const VkDeviceQueueCreateInfo qci = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                         .queueFamilyIndex = 0,
                                         .queueCount = 1,
                                         .pQueuePriorities = &priority};
    VkPhysicalDeviceVulkan13Features f13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
        .synchronization2 = VK_TRUE};
    const VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                    .pNext = &f13,
                                    .queueCreateInfoCount = 1,
                                    .pQueueCreateInfos = &qci};
    if (vkCreateDevice(g->physical, &dci, NULL, &g->device) != VK_SUCCESS) {
        return 0;
    }
    vkGetDeviceQueue(g->device, 0, 0, &g->queue);
    const VkCommandPoolCreateInfo cpi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                         .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                         .queueFamilyIndex = 0};
    const VkFenceCreateInfo fci = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    return vkCreateCommandPool(g->device, &cpi, NULL, &g->command_pool) == VK_SUCCESS &&
           vkCreateFence(g->device, &fci, NULL, &g->fence) == VK_SUCCESS;
}

static VkCommandBuffer begin(bench_gpu* g) {
    const VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                            .commandPool = g->command_pool,
                                            .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                            .commandBufferCount = 1};
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    (void)vkAllocateCommandBuffers(g->device, &ai, &cmd);
    const VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                         .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    (void)vkBeginCommandBuffer(cmd, &bi);
    return cmd;
}

/* End, submit, wait on the fence; returns the nanoseconds of submit + wait. */
static double submit_wait(bench_gpu* g, VkCommandBuffer cmd) {
    (void)vkEndCommandBuffer(cmd);
    const VkSubmitInfo si = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO, .commandBufferCount = 1, .pCommandBuffers = &cmd};
    const double t0 = now_ns();
    (void)vkQueueSubmit(g->queue, 1, &si, g->fence);
    (void)vkWaitForFences(g->device, 1, &g->fence, VK_TRUE, UINT64_MAX);
    const double t1 = now_ns();
    (void)vkResetFences(g->device, 1, &g->fence);
    vkFreeCommandBuffers(g->device, g->command_pool, 1, &cmd);
    return t1 - t0;
}

enum { MODE_RUNS, MODE_SPAN, MODE_HOST };

typedef struct sample {
    double call_ns, gpu_ns;
    VkDeviceSize copied, live;
    uint32_t regions;
} sample;

static int one_run(bench_gpu* g, oa_vk_manager* m, int mode, bool holes, uint64_t seed,
                   double empty_ns, sample* out) {
    const oa_vk_pool_info pi = {
        .usage = VK_BUFFER_USAGE_VERTEX_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT,
        .intent = mode == MODE_HOST ? OA_VK_INTENT_UPLOAD : OA_VK_INTENT_DEVICE,
        .block_size = FROM_SIZE,
        .max_block_count = 1,
        .flags = OA_VK_POOL_NO_DEDICATED};
    oa_vk_pool pool;
    if (oa_vk_pool_create(m, &pi, &pool) != OA_VK_SUCCESS) {
        return 0;
    }
    static oa_vk_range ranges[1u << 16];
    uint32_t count = 0;
    VkDeviceSize live = 0;
    for (;;) {
        const VkDeviceSize size = (4u << 10) + splitmix64(&seed) % (60u << 10);
        oa_vk_range_info r;
        if (count == (1u << 16) || oa_vk_alloc(m, pool, size, 16, &r) != OA_VK_SUCCESS) {
            break;
        }
        ranges[count++] = r.handle;
        live += size;
    }
    if (holes) {
        for (uint32_t i = 0; i < count; i++) {
            if (splitmix64(&seed) & 1) {
                oa_vk_range_info r;
                (void)oa_vk_range_get_info(m, ranges[i], &r);
                live -= r.size;
                (void)oa_vk_free(m, ranges[i]);
            }
        }
    }
    VkCommandBuffer cmd = mode == MODE_HOST ? VK_NULL_HANDLE : begin(g);
    const oa_vk_grow_info gi = {.new_size = TO_SIZE,
                                .command_buffer = cmd,
                                .signal_value = 1,
                                .flags = mode == MODE_SPAN   ? OA_VK_GROW_COPY_USED_SPAN
                                         : mode == MODE_HOST ? OA_VK_GROW_HOST_COPY
                                                             : 0};
    oa_vk_grow_result res;
    const double t0 = now_ns();
    const oa_vk_result r = oa_vk_pool_grow(m, pool, 0, &gi, &res);
    const double t1 = now_ns();
    if (r != OA_VK_SUCCESS) {
        fprintf(stderr, "grow failed: %s\n", oa_vk_result_name(r));
        return 0;
    }
    out->call_ns = t1 - t0;
    out->gpu_ns = cmd != VK_NULL_HANDLE ? submit_wait(g, cmd) - empty_ns : 0;
    out->copied = res.copied_size;
    out->regions = res.region_count;
    out->live = live;
    (void)oa_vk_collect(m, 1, NULL);
    return oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE) == OA_VK_SUCCESS;
}

static int cmp_sample(const void* a, const void* b) {
    return cmp_double(&((const sample*)a)->call_ns, &((const sample*)b)->call_ns);
}

int main(void) {
    bench_gpu g;
    memset(&g, 0, sizeof g);
    if (!gpu_init(&g)) {
        fprintf(stderr, "bench_vk_grow: no Vulkan 1.3 device with synchronization2\n");
        return 1;
    }
    oa_vk_manager_info mi = {.instance = g.instance,
                             .physical_device = g.physical,
                             .device = g.device,
                             .get_instance_proc_addr = vkGetInstanceProcAddr,
                             .get_device_proc_addr = vkGetDeviceProcAddr,
                             .api_version = VK_API_VERSION_1_3};
    oa_vk_manager* m = NULL;
    if (oa_vk_manager_create(&mi, &m) != OA_VK_SUCCESS) {
        fprintf(stderr, "bench_vk_grow: manager creation failed\n");
        return 1;
    }
    double empties[RUNS];
    for (int i = 0; i < RUNS; i++) {
        empties[i] = submit_wait(&g, begin(&g));
    }
    qsort(empties, RUNS, sizeof empties[0], cmp_double);
    const double empty_ns = empties[RUNS / 2];
    static const char* names[] = {"runs", "used_span", "host_copy"};
    for (int holes = 1; holes >= 0; holes--) {
        for (int mode = MODE_RUNS; mode <= MODE_HOST; mode++) {
            sample s[RUNS];
            double gpu[RUNS];
            for (int i = 0; i < RUNS; i++) {
                if (!one_run(&g, m, mode, holes != 0, 7 + (uint64_t)i, empty_ns, &s[i])) {
                    return 1;
                }
                gpu[i] = s[i].gpu_ns;
            }
            qsort(gpu, RUNS, sizeof gpu[0], cmp_double);
            qsort(s, RUNS, sizeof s[0], cmp_sample);
            const sample* med = &s[RUNS / 2];
            printf("{\"bench\":\"pool_grow\",\"copy\":\"%s\",\"from_mib\":%llu,\"to_mib\":%llu,"
                   "\"half_freed\":%s,\"live_mib\":%.1f,\"copied_mib\":%.1f,\"regions\":%u,"
                   "\"call_ms\":%.3f,\"gpu_copy_ms\":%.3f,\"gpu_copy_min_ms\":%.3f,"
                   "\"empty_submit_ms\":%.3f}\n",
                   names[mode], FROM_SIZE >> 20, TO_SIZE >> 20, holes ? "true" : "false",
                   (double)med->live / (1 << 20), (double)med->copied / (1 << 20), med->regions,
                   med->call_ns / 1e6, gpu[RUNS / 2] / 1e6, gpu[0] / 1e6, empty_ns / 1e6);
        }
    }
    oa_vk_manager_destroy(m);
    vkDestroyFence(g.device, g.fence, NULL);
    vkDestroyCommandPool(g.device, g.command_pool, NULL);
    vkDestroyDevice(g.device, NULL);
    vkDestroyInstance(g.instance, NULL);
    return 0;
}
