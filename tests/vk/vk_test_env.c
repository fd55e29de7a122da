/* vk_test_env.c - shared Vulkan setup for headless tests (see the header).
 * Owns the validation-message counter; tests read it through
 * vkt_validation_messages(). Command buffers submitted are kept until their
 * timeline value completes, then freed. */
#include "vk_test_env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t vkt_message_count;
static uint32_t vkt_loader_message_count;

#define VKT_MAX_PENDING 64
static struct {
    VkCommandBuffer cmd;
    uint64_t value;
} vkt_pending[VKT_MAX_PENDING];
static uint32_t vkt_pending_count;

uint32_t vkt_validation_messages(void) {
    return __atomic_load_n(&vkt_message_count, __ATOMIC_SEQ_CST);
}

uint32_t vkt_loader_messages(void) {
    return __atomic_load_n(&vkt_loader_message_count, __ATOMIC_SEQ_CST);
}

/* The loader sends its own notices through the messenger too: general
 * messages named "Loader Message" (e.g. a WARNING that VK_INSTANCE_LAYERS
 * added a layer). They say nothing about the code under test: shown and
 * counted apart, never as validation messages. */
static bool vkt_is_loader_message(VkDebugUtilsMessageTypeFlagsEXT types,
                                  const VkDebugUtilsMessengerCallbackDataEXT* data) {
    return types == VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT && data->pMessageIdName != NULL &&
           strcmp(data->pMessageIdName, "Loader Message") == 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL vkt_messenger(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    (void)user;
    if (severity < VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        return VK_FALSE;
    }
    const char* what =
        severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT ? "ERROR" : "WARNING";
    const char* text = data->pMessage != NULL ? data->pMessage : "(no message)";
    if (vkt_is_loader_message(types, data)) {
        __atomic_add_fetch(&vkt_loader_message_count, 1, __ATOMIC_SEQ_CST);
        fprintf(stderr, "loader %s (not counted): %s\n", what, text);
        return VK_FALSE;
    }
    __atomic_add_fetch(&vkt_message_count, 1, __ATOMIC_SEQ_CST);
    fprintf(stderr, "VALIDATION %s [%s]: %s\n", what,
            data->pMessageIdName != NULL ? data->pMessageIdName : "no id", text);
    return VK_FALSE;
}

static void vkt_die(const char* what, VkResult vr) {
    fprintf(stderr,
            "FATAL: %s (VkResult %d). The Vulkan tests need a Vulkan 1.3 device (lavapipe from "
            "mesa-vulkan-drivers works headless) and VK_LAYER_KHRONOS_validation "
            "(vulkan-validationlayers); they fail rather than skip.\n",
            what, (int)vr);
    printf("0 passed, 1 failed\n");
    exit(1);
}

static bool vkt_has_layer(const char* name) {
    uint32_t count = 0;
    vkEnumerateInstanceLayerProperties(&count, NULL);
    VkLayerProperties* layers = calloc(count + 1, sizeof *layers);
    vkEnumerateInstanceLayerProperties(&count, layers);
    bool found = false;
    for (uint32_t i = 0; i < count; i++) {
        found = found || strcmp(layers[i].layerName, name) == 0;
    }
    free(layers);
    return found;
}

void vkt_env_init(vkt_env* env, uint32_t flags) {
    memset(env, 0, sizeof *env);
    const bool validate = (flags & VKT_NO_VALIDATION) == 0;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    if (validate && !vkt_has_layer(layer)) {
        vkt_die("VK_LAYER_KHRONOS_validation is not installed", VK_ERROR_LAYER_NOT_PRESENT);
    }
    VkValidationFeatureEnableEXT enables[4];
    uint32_t enable_count = 0;
    enables[enable_count++] = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    if (flags & VKT_GPU_ASSISTED) {
        enables[enable_count++] = VK_VALIDATION_FEATURE_ENABLE_GPU_ASSISTED_EXT;
        enables[enable_count++] =
            VK_VALIDATION_FEATURE_ENABLE_GPU_ASSISTED_RESERVE_BINDING_SLOT_EXT;
    }
    env->validation_feature_count = enable_count;
    const VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                              .enabledValidationFeatureCount = enable_count,
                                              .pEnabledValidationFeatures = enables};
    const VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .pNext = &features,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = vkt_messenger};
    const VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                                   .pApplicationName = "orderly vk tests",
                                   .apiVersion = VK_API_VERSION_1_3};
    const char* extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    const VkInstanceCreateInfo instance_info = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                                .pNext = validate ? &messenger_info : NULL,
                                                .pApplicationInfo = &app,
                                                .enabledLayerCount = validate ? 1u : 0u,
                                                .ppEnabledLayerNames = &layer,
                                                .enabledExtensionCount = validate ? 1u : 0u,
                                                .ppEnabledExtensionNames = extensions};
    VkResult vr = vkCreateInstance(&instance_info, NULL, &env->instance);
    if (vr != VK_SUCCESS) {
        vkt_die("vkCreateInstance failed: no Vulkan loader or driver", vr);
    }
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger =
        (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(env->instance,
                                                                  "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT messenger_only = messenger_info;
    messenger_only.pNext = NULL;
    if (validate &&
        (create_messenger == NULL ||
         create_messenger(env->instance, &messenger_only, NULL, &env->messenger) != VK_SUCCESS)) {
        vkt_die("vkCreateDebugUtilsMessengerEXT failed", VK_ERROR_EXTENSION_NOT_PRESENT);
    }

    uint32_t count = 0;
    vr = vkEnumeratePhysicalDevices(env->instance, &count, NULL);
    if (vr != VK_SUCCESS || count == 0) {
        vkt_die("no Vulkan physical device found", vr);
    }
    VkPhysicalDevice* devices = calloc(count, sizeof *devices);
    vkEnumeratePhysicalDevices(env->instance, &count, devices);
    env->physical_device = VK_NULL_HANDLE;
    for (uint32_t i = 0; i < count && env->physical_device == VK_NULL_HANDLE; i++) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(devices[i], &p);
        if (p.apiVersion >= VK_API_VERSION_1_3) {
            env->physical_device = devices[i];
        }
    }
    free(devices);
    if (env->physical_device == VK_NULL_HANDLE) {
        vkt_die("no Vulkan 1.3 physical device found", VK_ERROR_INCOMPATIBLE_DRIVER);
    }
    vkGetPhysicalDeviceProperties(env->physical_device, &env->properties);
    vkGetPhysicalDeviceMemoryProperties(env->physical_device, &env->memory_properties);
    env->api_version = VK_API_VERSION_1_3;

    uint32_t family_count = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(env->physical_device, &family_count, NULL);
    VkQueueFamilyProperties* families = calloc(family_count, sizeof *families);
    vkGetPhysicalDeviceQueueFamilyProperties(env->physical_device, &family_count, families);
    env->queue_family = UINT32_MAX;
    for (uint32_t i = 0; i < family_count && env->queue_family == UINT32_MAX; i++) {
        if (families[i].queueFlags & (VK_QUEUE_GRAPHICS_BIT | VK_QUEUE_COMPUTE_BIT)) {
            env->queue_family = i;
        }
    }
    free(families);
    if (env->queue_family == UINT32_MAX) {
        vkt_die("no graphics or compute queue", VK_ERROR_FEATURE_NOT_PRESENT);
    }

    VkPhysicalDeviceVulkan13Features f13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
        .synchronization2 = VK_TRUE};
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .pNext = &f13,
        .timelineSemaphore = VK_TRUE,
        .bufferDeviceAddress = VK_TRUE};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f12};
    /* GPU-assisted validation needs these where the device has them. */
    VkPhysicalDeviceFeatures have;
    vkGetPhysicalDeviceFeatures(env->physical_device, &have);
    f2.features.fragmentStoresAndAtomics = have.fragmentStoresAndAtomics;
    f2.features.vertexPipelineStoresAndAtomics = have.vertexPipelineStoresAndAtomics;
    f2.features.shaderInt64 = have.shaderInt64;
    const float priority = 1.0f;
    const VkDeviceQueueCreateInfo queue_info = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                                .queueFamilyIndex = env->queue_family,
                                                .queueCount = 1,
                                                .pQueuePriorities = &priority};
    const VkDeviceCreateInfo device_info = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                                            .pNext = &f2,
                                            .queueCreateInfoCount = 1,
                                            .pQueueCreateInfos = &queue_info};
    vr = vkCreateDevice(env->physical_device, &device_info, NULL, &env->device);
    if (vr != VK_SUCCESS) {
        vkt_die("vkCreateDevice failed (timeline semaphores, synchronization2 and buffer device "
                "address are required)",
                vr);
    }
    vkGetDeviceQueue(env->device, env->queue_family, 0, &env->queue);
    const VkCommandPoolCreateInfo pool_info = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                               .flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT,
                                               .queueFamilyIndex = env->queue_family};
    vr = vkCreateCommandPool(env->device, &pool_info, NULL, &env->command_pool);
    if (vr != VK_SUCCESS) {
        vkt_die("vkCreateCommandPool failed", vr);
    }
    const VkSemaphoreTypeCreateInfo type_info = {.sType =
                                                     VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                                 .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
                                                 .initialValue = 0};
    const VkSemaphoreCreateInfo sem_info = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
                                            .pNext = &type_info};
    vr = vkCreateSemaphore(env->device, &sem_info, NULL, &env->timeline);
    if (vr != VK_SUCCESS) {
        vkt_die("vkCreateSemaphore (timeline) failed", vr);
    }
}

static void vkt_release_completed(vkt_env* env) {
    const uint64_t done = vkt_completed(env);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < vkt_pending_count; i++) {
        if (vkt_pending[i].value <= done) {
            vkFreeCommandBuffers(env->device, env->command_pool, 1, &vkt_pending[i].cmd);
        } else {
            vkt_pending[kept++] = vkt_pending[i];
        }
    }
    vkt_pending_count = kept;
}

void vkt_env_destroy(vkt_env* env) {
    if (env->device != VK_NULL_HANDLE) {
        vkDeviceWaitIdle(env->device);
        vkt_release_completed(env);
        vkDestroySemaphore(env->device, env->timeline, NULL);
        vkDestroyCommandPool(env->device, env->command_pool, NULL);
        vkDestroyDevice(env->device, NULL);
    }
    if (env->messenger != VK_NULL_HANDLE) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                env->instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy_messenger(env->instance, env->messenger, NULL);
    }
    if (env->instance != VK_NULL_HANDLE) {
        vkDestroyInstance(env->instance, NULL);
    }
    memset(env, 0, sizeof *env);
}

VkCommandBuffer vkt_begin(vkt_env* env) {
    const VkCommandBufferAllocateInfo info = {.sType =
                                                  VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                              .commandPool = env->command_pool,
                                              .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                              .commandBufferCount = 1};
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    if (vkAllocateCommandBuffers(env->device, &info, &cmd) != VK_SUCCESS) {
        return VK_NULL_HANDLE;
    }
    const VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                            .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    vkBeginCommandBuffer(cmd, &begin);
    return cmd;
}

uint64_t vkt_submit(vkt_env* env, VkCommandBuffer cmd) {
    if (vkEndCommandBuffer(cmd) != VK_SUCCESS) {
        return 0;
    }
    vkt_release_completed(env);
    if (vkt_pending_count == VKT_MAX_PENDING) {
        vkt_wait(env, env->timeline_value);
        vkt_release_completed(env);
    }
    const uint64_t value = env->timeline_value + 1;
    const VkTimelineSemaphoreSubmitInfo timeline = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .signalSemaphoreValueCount = 1,
        .pSignalSemaphoreValues = &value};
    const VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                                 .pNext = &timeline,
                                 .commandBufferCount = 1,
                                 .pCommandBuffers = &cmd,
                                 .signalSemaphoreCount = 1,
                                 .pSignalSemaphores = &env->timeline};
    if (vkQueueSubmit(env->queue, 1, &submit, VK_NULL_HANDLE) != VK_SUCCESS) {
        return 0;
    }
    env->timeline_value = value;
    vkt_pending[vkt_pending_count].cmd = cmd;
    vkt_pending[vkt_pending_count].value = value;
    vkt_pending_count++;
    return value;
}

bool vkt_wait(vkt_env* env, uint64_t value) {
    const VkSemaphoreWaitInfo wait = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                                      .semaphoreCount = 1,
                                      .pSemaphores = &env->timeline,
                                      .pValues = &value};
    return vkWaitSemaphores(env->device, &wait, UINT64_MAX) == VK_SUCCESS;
}

uint64_t vkt_completed(vkt_env* env) {
    uint64_t value = 0;
    vkGetSemaphoreCounterValue(env->device, env->timeline, &value);
    return value;
}

uint64_t vkt_submit_wait(vkt_env* env, VkCommandBuffer cmd) {
    const uint64_t value = vkt_submit(env, cmd);
    if (value == 0 || !vkt_wait(env, value)) {
        return 0;
    }
    vkt_release_completed(env);
    return value;
}

bool vkt_read_buffer(vkt_env* env, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize size,
                     void* out) {
    const VkBufferCreateInfo buffer_info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                            .size = size,
                                            .usage = VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                                            .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer readback = VK_NULL_HANDLE;
    if (vkCreateBuffer(env->device, &buffer_info, NULL, &readback) != VK_SUCCESS) {
        return false;
    }
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(env->device, readback, &req);
    uint32_t type = UINT32_MAX;
    for (uint32_t i = 0; i < env->memory_properties.memoryTypeCount && type == UINT32_MAX; i++) {
        if ((req.memoryTypeBits & (1u << i)) &&
            (env->memory_properties.memoryTypes[i].propertyFlags &
             VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT)) {
            type = i;
        }
    }
    VkDeviceMemory memory = VK_NULL_HANDLE;
    const VkMemoryAllocateInfo alloc = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                        .allocationSize = req.size,
                                        .memoryTypeIndex = type};
    bool ok = type != UINT32_MAX &&
              vkAllocateMemory(env->device, &alloc, NULL, &memory) == VK_SUCCESS &&
              vkBindBufferMemory(env->device, readback, memory, 0) == VK_SUCCESS;
    VkCommandBuffer cmd = ok ? vkt_begin(env) : VK_NULL_HANDLE;
    ok = ok && cmd != VK_NULL_HANDLE;
    if (ok) {
        /* Whatever wrote the source (copies, shaders) is done before the
         * copy reads it; the copy is done before the host reads. */
        const VkMemoryBarrier2 before = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
                                         .srcStageMask = VK_PIPELINE_STAGE_2_ALL_COMMANDS_BIT,
                                         .srcAccessMask = VK_ACCESS_2_MEMORY_WRITE_BIT,
                                         .dstStageMask = VK_PIPELINE_STAGE_2_COPY_BIT,
                                         .dstAccessMask = VK_ACCESS_2_TRANSFER_READ_BIT};
        const VkDependencyInfo before_info = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                                              .memoryBarrierCount = 1,
                                              .pMemoryBarriers = &before};
        vkCmdPipelineBarrier2(cmd, &before_info);
        const VkBufferCopy region = {.srcOffset = offset, .dstOffset = 0, .size = size};
        vkCmdCopyBuffer(cmd, buffer, readback, 1, &region);
        const VkMemoryBarrier2 after = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
                                        .srcStageMask = VK_PIPELINE_STAGE_2_COPY_BIT,
                                        .srcAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT,
                                        .dstStageMask = VK_PIPELINE_STAGE_2_HOST_BIT,
                                        .dstAccessMask = VK_ACCESS_2_HOST_READ_BIT};
        const VkDependencyInfo after_info = {.sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
                                             .memoryBarrierCount = 1,
                                             .pMemoryBarriers = &after};
        vkCmdPipelineBarrier2(cmd, &after_info);
        ok = vkt_submit_wait(env, cmd) != 0;
    }
    void* mapped = NULL;
    if (ok && vkMapMemory(env->device, memory, 0, VK_WHOLE_SIZE, 0, &mapped) == VK_SUCCESS) {
        const VkMappedMemoryRange range = {.sType = VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE,
                                           .memory = memory,
                                           .offset = 0,
                                           .size = VK_WHOLE_SIZE};
        vkInvalidateMappedMemoryRanges(env->device, 1, &range);
        memcpy(out, mapped, (size_t)size);
        vkUnmapMemory(env->device, memory);
    } else {
        ok = false;
    }
    vkDestroyBuffer(env->device, readback, NULL);
    vkFreeMemory(env->device, memory, NULL);
    return ok;
}

oa_vk_manager_info vkt_env_manager_info(const vkt_env* env, uint32_t flags) {
    oa_vk_manager_info info;
    memset(&info, 0, sizeof info);
    info.instance = env->instance;
    info.physical_device = env->physical_device;
    info.device = env->device;
    info.get_instance_proc_addr = vkGetInstanceProcAddr;
    info.get_device_proc_addr = vkGetDeviceProcAddr;
    info.api_version = env->api_version;
    info.flags = flags;
    return info;
}

uint64_t vkt_splitmix64(uint64_t* state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
