/* vkctx.c - window, instance, messenger, device, swapchain or offscreen
 * target, frame pacing, read-back.
 * Owns every Vulkan object that is not a sample's data or pipeline.
 * Does not allocate buffer memory for a sample's data (the samples do that
 * through orderly_vk).
 * Invariant: frame n signals timeline value n + 1; before slot n % FRAMES_IN_FLIGHT
 * is reused, value n + 1 - FRAMES_IN_FLIGHT has been waited for. */
#include "vkctx.h"

#define GLFW_INCLUDE_NONE
#include <GLFW/glfw3.h>

#include <stb/stb_image_write.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VK_CHECK(expr)                                                                             \
    do {                                                                                           \
        VkResult r_ = (expr);                                                                      \
        if (r_ != VK_SUCCESS) {                                                                    \
            fprintf(stderr, "error: %s failed (VkResult %d)\n", #expr, (int)r_);                   \
            return false;                                                                          \
        }                                                                                          \
    } while (0)

/* The loader sends its own notices through the same messenger (general
 * messages named "Loader Message"), e.g. a WARNING that VK_INSTANCE_LAYERS
 * added the validation layer. They say nothing about this program's use of
 * Vulkan: shown, never counted. Everything else at WARNING or ERROR comes from
 * a layer and is counted and shown. */
static bool is_loader_message(VkDebugUtilsMessageTypeFlagsEXT types,
                              const VkDebugUtilsMessengerCallbackDataEXT* data) {
    return types == VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT && data->pMessageIdName &&
           strcmp(data->pMessageIdName, "Loader Message") == 0;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
    vkctx* ctx = user;
    bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    bool warning = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    const char* what = error ? "ERROR" : warning ? "WARNING" : "info";
    const char* text = data->pMessage ? data->pMessage : "";
    if (is_loader_message(types, data)) {
        if (error || warning || ctx->verbose) {
            fprintf(stderr, "vulkan loader %s (not counted): %s\n", what, text);
        }
        return VK_FALSE;
    }
    if (error) {
        ctx->validation_errors++;
    } else if (warning) {
        ctx->validation_warnings++;
    } else if (!ctx->verbose) {
        return VK_FALSE;
    }
    fprintf(stderr, "vulkan %s [%s]: %s\n", what,
            data->pMessageIdName ? data->pMessageIdName : "no id", text);
    return VK_FALSE;
}

static bool has_layer(const char* name) {
    uint32_t n = 0;
    vkEnumerateInstanceLayerProperties(&n, NULL);
    VkLayerProperties* layers = calloc(n ? n : 1, sizeof *layers);
    vkEnumerateInstanceLayerProperties(&n, layers);
    bool found = false;
    for (uint32_t i = 0; i < n; i++) {
        found = found || strcmp(layers[i].layerName, name) == 0;
    }
    free(layers);
    return found;
}

static bool has_instance_extension(const char* name) {
    uint32_t n = 0;
    vkEnumerateInstanceExtensionProperties(NULL, &n, NULL);
    VkExtensionProperties* exts = calloc(n ? n : 1, sizeof *exts);
    vkEnumerateInstanceExtensionProperties(NULL, &n, exts);
    bool found = false;
    for (uint32_t i = 0; i < n; i++) {
        found = found || strcmp(exts[i].extensionName, name) == 0;
    }
    free(exts);
    return found;
}

static bool create_instance(vkctx* ctx, const vkctx_options* opt) {
    const char* layers[1];
    uint32_t layer_count = 0;
    if (opt->validation || opt->sync_validation) {
        if (!has_layer("VK_LAYER_KHRONOS_validation")) {
            fprintf(stderr, "error: --validation needs VK_LAYER_KHRONOS_validation "
                            "(Debian: vulkan-validationlayers)\n");
            return false;
        }
        layers[layer_count++] = "VK_LAYER_KHRONOS_validation";
    }
    const char* exts[16];
    uint32_t ext_count = 0;
    if (ctx->window) {
        uint32_t n = 0;
        const char** glfw_exts = glfwGetRequiredInstanceExtensions(&n);
        for (uint32_t i = 0; i < n && ext_count < 14; i++) {
            exts[ext_count++] = glfw_exts[i];
        }
    }
    ctx->has_debug_utils = has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    if (ctx->has_debug_utils) {
        exts[ext_count++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    }
    VkDebugUtilsMessengerCreateInfoEXT messenger_info = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_debug_message,
        .pUserData = ctx,
    };
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "orderly-mesh-streaming",
        .pEngineName = "orderly",
        .apiVersion = VK_API_VERSION_1_3,
    };
    VkValidationFeatureEnableEXT sync = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    VkValidationFeaturesEXT features = {
        .sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
        .pNext = ctx->has_debug_utils ? &messenger_info : NULL,
        .enabledValidationFeatureCount = 1,
        .pEnabledValidationFeatures = &sync,
    };
    VkInstanceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = opt->sync_validation   ? (const void*)&features
                 : ctx->has_debug_utils ? (const void*)&messenger_info
                                        : NULL,
        .pApplicationInfo = &app,
        .enabledLayerCount = layer_count,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = ext_count,
        .ppEnabledExtensionNames = exts,
    };
    VK_CHECK(vkCreateInstance(&info, NULL, &ctx->instance));
    volkLoadInstanceOnly(ctx->instance);
    if (ctx->has_debug_utils) {
        VK_CHECK(
            vkCreateDebugUtilsMessengerEXT(ctx->instance, &messenger_info, NULL, &ctx->messenger));
    }
    return true;
}

static bool pick_device(vkctx* ctx) {
    uint32_t n = 0;
    vkEnumeratePhysicalDevices(ctx->instance, &n, NULL);
    if (n == 0) {
        fprintf(stderr, "error: no Vulkan device (on Debian, mesa-vulkan-drivers provides a "
                        "software one)\n");
        return false;
    }
    VkPhysicalDevice devs[16];
    if (n > 16) {
        n = 16;
    }
    vkEnumeratePhysicalDevices(ctx->instance, &n, devs);
    for (uint32_t d = 0; d < n; d++) {
        VkPhysicalDeviceProperties props;
        vkGetPhysicalDeviceProperties(devs[d], &props);
        if (props.apiVersion < VK_API_VERSION_1_3) {
            continue;
        }
        uint32_t qn = 0;
        vkGetPhysicalDeviceQueueFamilyProperties(devs[d], &qn, NULL);
        VkQueueFamilyProperties qf[16];
        if (qn > 16) {
            qn = 16;
        }
        vkGetPhysicalDeviceQueueFamilyProperties(devs[d], &qn, qf);
        for (uint32_t q = 0; q < qn; q++) {
            if (!(qf[q].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
                continue;
            }
            if (ctx->surface) {
                VkBool32 present = VK_FALSE;
                vkGetPhysicalDeviceSurfaceSupportKHR(devs[d], q, ctx->surface, &present);
                if (!present) {
                    continue;
                }
            }
            ctx->physical = devs[d];
            ctx->props = props;
            VkPhysicalDeviceVulkan13Properties p13 = {
                .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES,
            };
            VkPhysicalDeviceVulkan11Properties p11 = {
                .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES,
                .pNext = &p13,
            };
            VkPhysicalDeviceProperties2 p2 = {
                .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                .pNext = &p11,
            };
            vkGetPhysicalDeviceProperties2(devs[d], &p2);
            ctx->max_buffer_size = p13.maxBufferSize;
            ctx->max_allocation_size = p11.maxMemoryAllocationSize;
            ctx->queue_family = q;
            vkGetPhysicalDeviceMemoryProperties(devs[d], &ctx->mem_props);
            return true;
        }
    }
    fprintf(stderr, "error: no Vulkan 1.3 device with a graphics queue%s\n",
            ctx->surface ? " that can present" : "");
    return false;
}

static bool create_device(vkctx* ctx) {
    VkPhysicalDeviceVulkan13Features f13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
    };
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .pNext = &f13,
    };
    VkPhysicalDeviceFeatures2 f2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &f12,
    };
    vkGetPhysicalDeviceFeatures2(ctx->physical, &f2);
    if (!f12.timelineSemaphore || !f13.dynamicRendering || !f13.synchronization2 ||
        !f2.features.multiDrawIndirect || !f2.features.drawIndirectFirstInstance) {
        fprintf(stderr, "error: the device lacks timelineSemaphore, dynamicRendering, "
                        "synchronization2, multiDrawIndirect or drawIndirectFirstInstance\n");
        return false;
    }
    /* Enable what the sample uses, and bufferDeviceAddress when present so that a
     * pool asking for device addresses works too. */
    VkPhysicalDeviceVulkan13Features e13 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES,
        .dynamicRendering = VK_TRUE,
        .synchronization2 = VK_TRUE,
    };
    VkPhysicalDeviceVulkan12Features e12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .pNext = &e13,
        .timelineSemaphore = VK_TRUE,
        .bufferDeviceAddress = f12.bufferDeviceAddress,
    };
    VkPhysicalDeviceFeatures2 e2 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
        .pNext = &e12,
        .features = {.multiDrawIndirect = VK_TRUE, .drawIndirectFirstInstance = VK_TRUE},
    };
    float priority = 1.0f;
    VkDeviceQueueCreateInfo qinfo = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
        .queueFamilyIndex = ctx->queue_family,
        .queueCount = 1,
        .pQueuePriorities = &priority,
    };
    const char* exts[] = {VK_KHR_SWAPCHAIN_EXTENSION_NAME};
    VkDeviceCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
        .pNext = &e2,
        .queueCreateInfoCount = 1,
        .pQueueCreateInfos = &qinfo,
        .enabledExtensionCount = ctx->surface ? 1u : 0u,
        .ppEnabledExtensionNames = exts,
    };
    VK_CHECK(vkCreateDevice(ctx->physical, &info, NULL, &ctx->device));
    volkLoadDeviceTable(&ctx->vk, ctx->device);
    /* The layers active on the instance, whether asked for here or added by
     * the environment (VK_INSTANCE_LAYERS): the loader lists them all. */
    uint32_t n = 0;
    vkEnumerateDeviceLayerProperties(ctx->physical, &n, NULL);
    VkLayerProperties* layers = calloc(n ? n : 1, sizeof *layers);
    if (layers && vkEnumerateDeviceLayerProperties(ctx->physical, &n, layers) >= 0) {
        for (uint32_t i = 0; i < n; i++) {
            ctx->validation_active =
                ctx->validation_active ||
                strcmp(layers[i].layerName, "VK_LAYER_KHRONOS_validation") == 0;
        }
    }
    free(layers);
    ctx->vk.vkGetDeviceQueue(ctx->device, ctx->queue_family, 0, &ctx->queue);
    return true;
}

static uint32_t find_memory_type(const vkctx* ctx, uint32_t bits, VkMemoryPropertyFlags want) {
    for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++) {
        if ((bits & (1u << i)) && (ctx->mem_props.memoryTypes[i].propertyFlags & want) == want) {
            return i;
        }
    }
    return UINT32_MAX;
}

static bool create_image(vkctx* ctx, VkFormat format, VkImageUsageFlags usage,
                         VkImageAspectFlags aspect, VkImage* out_image, VkDeviceMemory* out_mem,
                         VkImageView* out_view) {
    VkImageCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
        .imageType = VK_IMAGE_TYPE_2D,
        .format = format,
        .extent = {ctx->extent.width, ctx->extent.height, 1},
        .mipLevels = 1,
        .arrayLayers = 1,
        .samples = VK_SAMPLE_COUNT_1_BIT,
        .tiling = VK_IMAGE_TILING_OPTIMAL,
        .usage = usage,
        .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED,
    };
    VK_CHECK(ctx->vk.vkCreateImage(ctx->device, &info, NULL, out_image));
    VkMemoryRequirements req;
    ctx->vk.vkGetImageMemoryRequirements(ctx->device, *out_image, &req);
    uint32_t type = find_memory_type(ctx, req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    if (type == UINT32_MAX) {
        type = find_memory_type(ctx, req.memoryTypeBits, 0);
    }
    VkMemoryAllocateInfo ainfo = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    VK_CHECK(ctx->vk.vkAllocateMemory(ctx->device, &ainfo, NULL, out_mem));
    VK_CHECK(ctx->vk.vkBindImageMemory(ctx->device, *out_image, *out_mem, 0));
    VkImageViewCreateInfo vinfo = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
        .image = *out_image,
        .viewType = VK_IMAGE_VIEW_TYPE_2D,
        .format = format,
        .subresourceRange = {aspect, 0, 1, 0, 1},
    };
    VK_CHECK(ctx->vk.vkCreateImageView(ctx->device, &vinfo, NULL, out_view));
    return true;
}

static void destroy_targets(vkctx* ctx) {
    const struct VolkDeviceTable* vk = &ctx->vk;
    if (ctx->depth_view) {
        vk->vkDestroyImageView(ctx->device, ctx->depth_view, NULL);
        vk->vkDestroyImage(ctx->device, ctx->depth, NULL);
        vk->vkFreeMemory(ctx->device, ctx->depth_memory, NULL);
        ctx->depth_view = VK_NULL_HANDLE;
    }
    for (uint32_t i = 0; i < ctx->image_count; i++) {
        vk->vkDestroyImageView(ctx->device, ctx->views[i], NULL);
        vk->vkDestroySemaphore(ctx->device, ctx->present_ready[i], NULL);
        ctx->present_ready[i] = VK_NULL_HANDLE;
    }
    if (!ctx->swapchain && ctx->image_count) {
        vk->vkDestroyImage(ctx->device, ctx->images[0], NULL);
        vk->vkFreeMemory(ctx->device, ctx->color_memory, NULL);
    }
    ctx->image_count = 0;
}

static bool create_swapchain(vkctx* ctx) {
    VkSurfaceCapabilitiesKHR caps;
    VK_CHECK(vkGetPhysicalDeviceSurfaceCapabilitiesKHR(ctx->physical, ctx->surface, &caps));
    uint32_t fn = 0;
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx->physical, ctx->surface, &fn, NULL);
    VkSurfaceFormatKHR formats[64];
    if (fn > 64) {
        fn = 64;
    }
    vkGetPhysicalDeviceSurfaceFormatsKHR(ctx->physical, ctx->surface, &fn, formats);
    VkSurfaceFormatKHR chosen = formats[0];
    for (uint32_t i = 0; i < fn; i++) {
        if (formats[i].format == VK_FORMAT_B8G8R8A8_UNORM ||
            formats[i].format == VK_FORMAT_R8G8B8A8_UNORM) {
            chosen = formats[i];
            break;
        }
    }
    if (ctx->color_format != VK_FORMAT_UNDEFINED && chosen.format != ctx->color_format) {
        fprintf(stderr, "error: the surface format changed\n");
        return false;
    }
    ctx->color_format = chosen.format;
    int w = 0, h = 0;
    glfwGetFramebufferSize(ctx->window, &w, &h);
    VkExtent2D extent = caps.currentExtent;
    if (extent.width == UINT32_MAX) {
        extent.width = (uint32_t)w;
        extent.height = (uint32_t)h;
    }
    if (extent.width < caps.minImageExtent.width) {
        extent.width = caps.minImageExtent.width;
    }
    if (extent.height < caps.minImageExtent.height) {
        extent.height = caps.minImageExtent.height;
    }
    if (extent.width > caps.maxImageExtent.width) {
        extent.width = caps.maxImageExtent.width;
    }
    if (extent.height > caps.maxImageExtent.height) {
        extent.height = caps.maxImageExtent.height;
    }
    ctx->extent = extent;
    uint32_t count = caps.minImageCount + 1;
    if (caps.maxImageCount && count > caps.maxImageCount) {
        count = caps.maxImageCount;
    }
    VkSwapchainKHR old = ctx->swapchain;
    VkSwapchainCreateInfoKHR info = {
        .sType = VK_STRUCTURE_TYPE_SWAPCHAIN_CREATE_INFO_KHR,
        .surface = ctx->surface,
        .minImageCount = count,
        .imageFormat = chosen.format,
        .imageColorSpace = chosen.colorSpace,
        .imageExtent = extent,
        .imageArrayLayers = 1,
        .imageUsage = VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT,
        .imageSharingMode = VK_SHARING_MODE_EXCLUSIVE,
        .preTransform = caps.currentTransform,
        .compositeAlpha = VK_COMPOSITE_ALPHA_OPAQUE_BIT_KHR,
        .presentMode = VK_PRESENT_MODE_FIFO_KHR,
        .clipped = VK_TRUE,
        .oldSwapchain = old,
    };
    VK_CHECK(ctx->vk.vkCreateSwapchainKHR(ctx->device, &info, NULL, &ctx->swapchain));
    if (old) {
        ctx->vk.vkDestroySwapchainKHR(ctx->device, old, NULL);
    }
    uint32_t n = 0;
    ctx->vk.vkGetSwapchainImagesKHR(ctx->device, ctx->swapchain, &n, NULL);
    if (n > MAX_SWAPCHAIN_IMAGES) {
        fprintf(stderr, "error: %u swapchain images, at most %d supported\n", n,
                MAX_SWAPCHAIN_IMAGES);
        return false;
    }
    VK_CHECK(ctx->vk.vkGetSwapchainImagesKHR(ctx->device, ctx->swapchain, &n, ctx->images));
    for (uint32_t i = 0; i < n; i++) {
        VkImageViewCreateInfo vinfo = {
            .sType = VK_STRUCTURE_TYPE_IMAGE_VIEW_CREATE_INFO,
            .image = ctx->images[i],
            .viewType = VK_IMAGE_VIEW_TYPE_2D,
            .format = ctx->color_format,
            .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1},
        };
        VK_CHECK(ctx->vk.vkCreateImageView(ctx->device, &vinfo, NULL, &ctx->views[i]));
        VkSemaphoreCreateInfo sinfo = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
        VK_CHECK(ctx->vk.vkCreateSemaphore(ctx->device, &sinfo, NULL, &ctx->present_ready[i]));
        ctx->image_count = i + 1;
    }
    return true;
}

static bool create_targets(vkctx* ctx) {
    if (ctx->surface) {
        if (!create_swapchain(ctx)) {
            return false;
        }
    } else {
        ctx->color_format = VK_FORMAT_R8G8B8A8_UNORM;
        if (!create_image(ctx, ctx->color_format,
                          VK_IMAGE_USAGE_COLOR_ATTACHMENT_BIT | VK_IMAGE_USAGE_TRANSFER_SRC_BIT,
                          VK_IMAGE_ASPECT_COLOR_BIT, &ctx->images[0], &ctx->color_memory,
                          &ctx->views[0])) {
            return false;
        }
        ctx->image_count = 1;
    }
    return create_image(ctx, ctx->depth_format, VK_IMAGE_USAGE_DEPTH_STENCIL_ATTACHMENT_BIT,
                        VK_IMAGE_ASPECT_DEPTH_BIT, &ctx->depth, &ctx->depth_memory,
                        &ctx->depth_view);
}

static void on_glfw_error(int code, const char* description) {
    (void)code;
    fprintf(stderr, "GLFW: %s\n", description);
}

bool vkctx_open_window(uint32_t width, uint32_t height, const char* title,
                       struct GLFWwindow** out_window) {
    *out_window = NULL;
    glfwSetErrorCallback(on_glfw_error);
    if (!glfwInit()) {
        return true; /* no display: GLFW said why through on_glfw_error */
    }
    if (!glfwVulkanSupported()) {
        fprintf(stderr, "error: GLFW finds no Vulkan loader\n");
        glfwTerminate();
        return false;
    }
    glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
    *out_window = glfwCreateWindow((int)width, (int)height, title, NULL, NULL);
    if (!*out_window) {
        glfwTerminate();
        return false;
    }
    return true;
}

void vkctx_close_window(struct GLFWwindow* window) {
    if (window) {
        glfwDestroyWindow(window);
        glfwTerminate();
    }
}

static void on_framebuffer_size(GLFWwindow* window, int w, int h) {
    (void)w;
    (void)h;
    vkctx* ctx = glfwGetWindowUserPointer(window);
    ctx->resized = true;
}

bool vkctx_init(vkctx* ctx, const vkctx_options* opt, struct GLFWwindow* window) {
    memset(ctx, 0, sizeof *ctx);
    ctx->window = window;
    ctx->verbose = opt->verbose;
    ctx->extent.width = opt->width;
    ctx->extent.height = opt->height;
    if (volkInitialize() != VK_SUCCESS) {
        fprintf(stderr, "error: no Vulkan loader found (Debian: libvulkan1)\n");
        return false;
    }
    if (!create_instance(ctx, opt)) {
        return false;
    }
    if (window) {
        VK_CHECK(glfwCreateWindowSurface(ctx->instance, window, NULL, &ctx->surface));
        glfwSetWindowUserPointer(window, ctx);
        glfwSetFramebufferSizeCallback(window, on_framebuffer_size);
    }
    if (!pick_device(ctx) || !create_device(ctx)) {
        return false;
    }
    ctx->depth_format = VK_FORMAT_D32_SFLOAT;
    if (!create_targets(ctx)) {
        return false;
    }
    VkCommandPoolCreateInfo pinfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
        .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
        .queueFamilyIndex = ctx->queue_family,
    };
    VK_CHECK(ctx->vk.vkCreateCommandPool(ctx->device, &pinfo, NULL, &ctx->cmd_pool));
    VkCommandBufferAllocateInfo cinfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
        .commandPool = ctx->cmd_pool,
        .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
        .commandBufferCount = FRAMES_IN_FLIGHT,
    };
    VK_CHECK(ctx->vk.vkAllocateCommandBuffers(ctx->device, &cinfo, ctx->cmd));
    VkSemaphoreTypeCreateInfo tinfo = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
        .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE,
        .initialValue = 0,
    };
    VkSemaphoreCreateInfo sinfo = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO,
                                   .pNext = &tinfo};
    VK_CHECK(ctx->vk.vkCreateSemaphore(ctx->device, &sinfo, NULL, &ctx->timeline));
    if (ctx->surface) {
        for (int i = 0; i < FRAMES_IN_FLIGHT; i++) {
            VkSemaphoreCreateInfo binfo = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO};
            VK_CHECK(ctx->vk.vkCreateSemaphore(ctx->device, &binfo, NULL, &ctx->acquired[i]));
        }
    }
    return true;
}

void vkctx_destroy(vkctx* ctx) {
    if (ctx->device) {
        ctx->vk.vkDeviceWaitIdle(ctx->device);
        destroy_targets(ctx);
        if (ctx->swapchain) {
            ctx->vk.vkDestroySwapchainKHR(ctx->device, ctx->swapchain, NULL);
        }
        for (int i = 0; i < FRAMES_IN_FLIGHT; i++) {
            if (ctx->acquired[i]) {
                ctx->vk.vkDestroySemaphore(ctx->device, ctx->acquired[i], NULL);
            }
        }
        if (ctx->timeline) {
            ctx->vk.vkDestroySemaphore(ctx->device, ctx->timeline, NULL);
        }
        if (ctx->cmd_pool) {
            ctx->vk.vkDestroyCommandPool(ctx->device, ctx->cmd_pool, NULL);
        }
        ctx->vk.vkDestroyDevice(ctx->device, NULL);
    }
    if (ctx->instance) {
        if (ctx->surface) {
            vkDestroySurfaceKHR(ctx->instance, ctx->surface, NULL);
        }
        if (ctx->messenger) {
            vkDestroyDebugUtilsMessengerEXT(ctx->instance, ctx->messenger, NULL);
        }
        vkDestroyInstance(ctx->instance, NULL);
    }
    /* Keep the message counters: destruction can report too. */
    uint32_t warnings = ctx->validation_warnings, errors = ctx->validation_errors;
    memset(ctx, 0, sizeof *ctx);
    ctx->validation_warnings = warnings;
    ctx->validation_errors = errors;
}

uint64_t vkctx_wait_slot(vkctx* ctx) {
    if (ctx->frame < FRAMES_IN_FLIGHT) {
        return 0;
    }
    uint64_t value = ctx->frame + 1 - FRAMES_IN_FLIGHT;
    VkSemaphoreWaitInfo info = {
        .sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
        .semaphoreCount = 1,
        .pSemaphores = &ctx->timeline,
        .pValues = &value,
    };
    ctx->vk.vkWaitSemaphores(ctx->device, &info, UINT64_MAX);
    return value;
}

static bool recreate_swapchain(vkctx* ctx) {
    int w = 0, h = 0;
    glfwGetFramebufferSize(ctx->window, &w, &h);
    while ((w == 0 || h == 0) && !glfwWindowShouldClose(ctx->window)) {
        glfwWaitEvents();
        glfwGetFramebufferSize(ctx->window, &w, &h);
    }
    ctx->vk.vkDeviceWaitIdle(ctx->device);
    destroy_targets(ctx);
    ctx->resized = false;
    return create_targets(ctx);
}

bool vkctx_begin_frame(vkctx* ctx, VkCommandBuffer* out_cmd) {
    uint32_t slot = (uint32_t)(ctx->frame % FRAMES_IN_FLIGHT);
    if (ctx->swapchain) {
        if (ctx->resized) {
            recreate_swapchain(ctx);
        }
        VkResult r =
            ctx->vk.vkAcquireNextImageKHR(ctx->device, ctx->swapchain, UINT64_MAX,
                                          ctx->acquired[slot], VK_NULL_HANDLE, &ctx->image_index);
        if (r == VK_ERROR_OUT_OF_DATE_KHR) {
            recreate_swapchain(ctx);
            return false;
        }
        if (r != VK_SUCCESS && r != VK_SUBOPTIMAL_KHR) {
            fprintf(stderr, "error: vkAcquireNextImageKHR failed (%d)\n", (int)r);
            return false;
        }
    } else {
        ctx->image_index = 0;
    }
    VkCommandBuffer cmd = ctx->cmd[slot];
    ctx->vk.vkResetCommandBuffer(cmd, 0);
    VkCommandBufferBeginInfo binfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    ctx->vk.vkBeginCommandBuffer(cmd, &binfo);
    *out_cmd = cmd;
    return true;
}

static void image_barrier(vkctx* ctx, VkCommandBuffer cmd, VkImage image, VkImageAspectFlags aspect,
                          VkImageLayout from, VkImageLayout to, VkPipelineStageFlags2 src_stage,
                          VkAccessFlags2 src_access, VkPipelineStageFlags2 dst_stage,
                          VkAccessFlags2 dst_access) {
    VkImageMemoryBarrier2 b = {
        .sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER_2,
        .srcStageMask = src_stage,
        .srcAccessMask = src_access,
        .dstStageMask = dst_stage,
        .dstAccessMask = dst_access,
        .oldLayout = from,
        .newLayout = to,
        .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
        .image = image,
        .subresourceRange = {aspect, 0, 1, 0, 1},
    };
    VkDependencyInfo dep = {
        .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
        .imageMemoryBarrierCount = 1,
        .pImageMemoryBarriers = &b,
    };
    ctx->vk.vkCmdPipelineBarrier2(cmd, &dep);
}

void vkctx_begin_rendering(vkctx* ctx, VkCommandBuffer cmd, const float clear_rgb[3]) {
    VkImage color = ctx->images[ctx->image_index];
    /* The previous contents are not needed: UNDEFINED discards them. The source
     * stage covers the previous frame's writes and (headless) its copy. */
    image_barrier(ctx, cmd, color, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
                  VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
                  VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT | VK_PIPELINE_STAGE_2_COPY_BIT, 0,
                  VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
                  VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT | VK_ACCESS_2_COLOR_ATTACHMENT_READ_BIT);
    image_barrier(
        ctx, cmd, ctx->depth, VK_IMAGE_ASPECT_DEPTH_BIT, VK_IMAGE_LAYOUT_UNDEFINED,
        VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL, VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
        VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT,
        VK_PIPELINE_STAGE_2_EARLY_FRAGMENT_TESTS_BIT | VK_PIPELINE_STAGE_2_LATE_FRAGMENT_TESTS_BIT,
        VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_WRITE_BIT |
            VK_ACCESS_2_DEPTH_STENCIL_ATTACHMENT_READ_BIT);
    VkRenderingAttachmentInfo color_att = {
        .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
        .imageView = ctx->views[ctx->image_index],
        .imageLayout = VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
        .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
        .storeOp = VK_ATTACHMENT_STORE_OP_STORE,
        .clearValue.color = {{clear_rgb[0], clear_rgb[1], clear_rgb[2], 1.0f}},
    };
    VkRenderingAttachmentInfo depth_att = {
        .sType = VK_STRUCTURE_TYPE_RENDERING_ATTACHMENT_INFO,
        .imageView = ctx->depth_view,
        .imageLayout = VK_IMAGE_LAYOUT_DEPTH_ATTACHMENT_OPTIMAL,
        .loadOp = VK_ATTACHMENT_LOAD_OP_CLEAR,
        .storeOp = VK_ATTACHMENT_STORE_OP_DONT_CARE,
        .clearValue.depthStencil = {1.0f, 0},
    };
    VkRenderingInfo info = {
        .sType = VK_STRUCTURE_TYPE_RENDERING_INFO,
        .renderArea = {{0, 0}, ctx->extent},
        .layerCount = 1,
        .colorAttachmentCount = 1,
        .pColorAttachments = &color_att,
        .pDepthAttachment = &depth_att,
    };
    ctx->vk.vkCmdBeginRendering(cmd, &info);
    VkViewport vp = {0, 0, (float)ctx->extent.width, (float)ctx->extent.height, 0, 1};
    VkRect2D scissor = {{0, 0}, ctx->extent};
    ctx->vk.vkCmdSetViewport(cmd, 0, 1, &vp);
    ctx->vk.vkCmdSetScissor(cmd, 0, 1, &scissor);
}

void vkctx_end_rendering(vkctx* ctx, VkCommandBuffer cmd) {
    ctx->vk.vkCmdEndRendering(cmd);
    VkImage color = ctx->images[ctx->image_index];
    if (ctx->swapchain) {
        image_barrier(ctx, cmd, color, VK_IMAGE_ASPECT_COLOR_BIT,
                      VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL, VK_IMAGE_LAYOUT_PRESENT_SRC_KHR,
                      VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
                      VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_2_NONE, 0);
    } else {
        image_barrier(
            ctx, cmd, color, VK_IMAGE_ASPECT_COLOR_BIT, VK_IMAGE_LAYOUT_COLOR_ATTACHMENT_OPTIMAL,
            VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL, VK_PIPELINE_STAGE_2_COLOR_ATTACHMENT_OUTPUT_BIT,
            VK_ACCESS_2_COLOR_ATTACHMENT_WRITE_BIT, VK_PIPELINE_STAGE_2_COPY_BIT,
            VK_ACCESS_2_TRANSFER_READ_BIT);
    }
}

bool vkctx_end_frame(vkctx* ctx) {
    uint32_t slot = (uint32_t)(ctx->frame % FRAMES_IN_FLIGHT);
    VkCommandBuffer cmd = ctx->cmd[slot];
    VK_CHECK(ctx->vk.vkEndCommandBuffer(cmd));
    /* vkQueueSubmit with VkTimelineSemaphoreSubmitInfo rather than
     * vkQueueSubmit2: the latter makes some validation layer versions stall. */
    uint64_t signal_values[2] = {ctx->frame + 1, 0};
    VkSemaphore signals[2] = {ctx->timeline, VK_NULL_HANDLE};
    uint32_t signal_count = 1;
    uint64_t wait_value = 0;
    VkPipelineStageFlags wait_stage = VK_PIPELINE_STAGE_COLOR_ATTACHMENT_OUTPUT_BIT;
    if (ctx->swapchain) {
        signals[signal_count++] = ctx->present_ready[ctx->image_index];
    }
    VkTimelineSemaphoreSubmitInfo tinfo = {
        .sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
        .waitSemaphoreValueCount = ctx->swapchain ? 1u : 0u,
        .pWaitSemaphoreValues = &wait_value,
        .signalSemaphoreValueCount = signal_count,
        .pSignalSemaphoreValues = signal_values,
    };
    VkSubmitInfo info = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .pNext = &tinfo,
        .waitSemaphoreCount = ctx->swapchain ? 1u : 0u,
        .pWaitSemaphores = &ctx->acquired[slot],
        .pWaitDstStageMask = &wait_stage,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
        .signalSemaphoreCount = signal_count,
        .pSignalSemaphores = signals,
    };
    VK_CHECK(ctx->vk.vkQueueSubmit(ctx->queue, 1, &info, VK_NULL_HANDLE));
    ctx->frame++;
    if (ctx->swapchain) {
        VkPresentInfoKHR pinfo = {
            .sType = VK_STRUCTURE_TYPE_PRESENT_INFO_KHR,
            .waitSemaphoreCount = 1,
            .pWaitSemaphores = &ctx->present_ready[ctx->image_index],
            .swapchainCount = 1,
            .pSwapchains = &ctx->swapchain,
            .pImageIndices = &ctx->image_index,
        };
        VkResult r = ctx->vk.vkQueuePresentKHR(ctx->queue, &pinfo);
        if (r == VK_ERROR_OUT_OF_DATE_KHR || r == VK_SUBOPTIMAL_KHR) {
            ctx->resized = true;
        } else if (r != VK_SUCCESS) {
            fprintf(stderr, "error: vkQueuePresentKHR failed (%d)\n", (int)r);
            return false;
        }
    }
    return true;
}

bool host_buffer_create(vkctx* ctx, VkDeviceSize size, VkBufferUsageFlags usage, host_buffer* out) {
    memset(out, 0, sizeof *out);
    VkBufferCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
        .size = size,
        .usage = usage,
        .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
    };
    VK_CHECK(ctx->vk.vkCreateBuffer(ctx->device, &info, NULL, &out->buffer));
    VkMemoryRequirements req;
    ctx->vk.vkGetBufferMemoryRequirements(ctx->device, out->buffer, &req);
    uint32_t type = find_memory_type(ctx, req.memoryTypeBits,
                                     VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                         VK_MEMORY_PROPERTY_HOST_COHERENT_BIT);
    if (type == UINT32_MAX) {
        fprintf(stderr, "error: no host-visible coherent memory type\n");
        return false;
    }
    VkMemoryAllocateInfo ainfo = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
        .allocationSize = req.size,
        .memoryTypeIndex = type,
    };
    VK_CHECK(ctx->vk.vkAllocateMemory(ctx->device, &ainfo, NULL, &out->memory));
    VK_CHECK(ctx->vk.vkBindBufferMemory(ctx->device, out->buffer, out->memory, 0));
    VK_CHECK(ctx->vk.vkMapMemory(ctx->device, out->memory, 0, VK_WHOLE_SIZE, 0, &out->mapped));
    out->size = size;
    return true;
}

void host_buffer_destroy(vkctx* ctx, host_buffer* b) {
    if (b->buffer) {
        ctx->vk.vkDestroyBuffer(ctx->device, b->buffer, NULL);
        ctx->vk.vkFreeMemory(ctx->device, b->memory, NULL);
    }
    memset(b, 0, sizeof *b);
}

uint8_t* vkctx_read_pixels(vkctx* ctx) {
    if (ctx->swapchain || ctx->frame == 0) {
        return NULL;
    }
    uint32_t w = ctx->extent.width, h = ctx->extent.height;
    host_buffer rb;
    if (!host_buffer_create(ctx, (VkDeviceSize)w * h * 4, VK_BUFFER_USAGE_TRANSFER_DST_BIT, &rb)) {
        return NULL;
    }
    ctx->vk.vkDeviceWaitIdle(ctx->device);
    VkCommandBuffer cmd = ctx->cmd[ctx->frame % FRAMES_IN_FLIGHT];
    ctx->vk.vkResetCommandBuffer(cmd, 0);
    VkCommandBufferBeginInfo binfo = {
        .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
        .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT,
    };
    ctx->vk.vkBeginCommandBuffer(cmd, &binfo);
    VkBufferImageCopy region = {
        .imageSubresource = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 0, 1},
        .imageExtent = {w, h, 1},
    };
    ctx->vk.vkCmdCopyImageToBuffer(cmd, ctx->images[0], VK_IMAGE_LAYOUT_TRANSFER_SRC_OPTIMAL,
                                   rb.buffer, 1, &region);
    VkMemoryBarrier2 mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER_2,
        .srcStageMask = VK_PIPELINE_STAGE_2_COPY_BIT,
        .srcAccessMask = VK_ACCESS_2_TRANSFER_WRITE_BIT,
        .dstStageMask = VK_PIPELINE_STAGE_2_HOST_BIT,
        .dstAccessMask = VK_ACCESS_2_HOST_READ_BIT,
    };
    VkDependencyInfo dep = {
        .sType = VK_STRUCTURE_TYPE_DEPENDENCY_INFO,
        .memoryBarrierCount = 1,
        .pMemoryBarriers = &mb,
    };
    ctx->vk.vkCmdPipelineBarrier2(cmd, &dep);
    ctx->vk.vkEndCommandBuffer(cmd);
    VkSubmitInfo info = {
        .sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
        .commandBufferCount = 1,
        .pCommandBuffers = &cmd,
    };
    uint8_t* pixels = NULL;
    if (ctx->vk.vkQueueSubmit(ctx->queue, 1, &info, VK_NULL_HANDLE) == VK_SUCCESS &&
        ctx->vk.vkQueueWaitIdle(ctx->queue) == VK_SUCCESS) {
        pixels = malloc((size_t)w * h * 4);
        if (pixels) {
            memcpy(pixels, rb.mapped, (size_t)w * h * 4);
        }
    }
    host_buffer_destroy(ctx, &rb);
    return pixels;
}

bool vkctx_write_png(vkctx* ctx, const char* path) {
    uint8_t* px = vkctx_read_pixels(ctx);
    if (!px) {
        return false;
    }
    uint32_t w = ctx->extent.width, h = ctx->extent.height;
    bool bgra = ctx->color_format == VK_FORMAT_B8G8R8A8_UNORM;
    for (size_t i = 0; i < (size_t)w * h; i++) {
        uint8_t r = px[i * 4 + (bgra ? 2 : 0)], b = px[i * 4 + (bgra ? 0 : 2)];
        px[i * 4 + 0] = r;
        px[i * 4 + 2] = b;
        px[i * 4 + 3] = 255;
    }
    int ok = stbi_write_png(path, (int)w, (int)h, 4, px, (int)w * 4);
    free(px);
    return ok != 0;
}
