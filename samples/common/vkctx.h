/* vkctx.h - the samples' Vulkan base: a GLFW window or none, instance and
 * debug messenger, device, queue, the render target (a swapchain or an
 * offscreen image), per-frame command buffers and semaphores, frame pacing
 * and read-back to PNG.
 * Knows nothing about meshes or orderly; a sample's main.c drives it frame
 * by frame.
 * Invariant: FRAMES_IN_FLIGHT submissions at most are pending at any time. */
#ifndef SAMPLE_VKCTX_H
#define SAMPLE_VKCTX_H

#include <volk.h>

#include <stdbool.h>
#include <stdint.h>

#define FRAMES_IN_FLIGHT 2
#define MAX_SWAPCHAIN_IMAGES 8

struct GLFWwindow;

typedef struct vkctx_options {
    bool validation;      /* enable VK_LAYER_KHRONOS_validation and count its messages */
    bool sync_validation; /* add synchronization validation (implies validation) */
    bool headless;        /* render to an offscreen image instead of a window */
    bool verbose;         /* print INFO messages of the debug messenger too */
    uint32_t width, height;
} vkctx_options;

typedef struct vkctx {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    bool has_debug_utils;
    bool verbose;
    bool validation_active;       /* the validation layer runs (asked for, or by environment) */
    uint32_t validation_warnings; /* WARNING messages of the layers (the loader's not counted) */
    uint32_t validation_errors;   /* ERROR messages of the layers (the loader's not counted) */

    VkPhysicalDevice physical;
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem_props;
    VkDeviceSize max_buffer_size; /* VkPhysicalDeviceVulkan13Properties::maxBufferSize */
    VkDeviceSize
        max_allocation_size; /* VkPhysicalDeviceVulkan11Properties::maxMemoryAllocationSize */
    VkDevice device;
    struct VolkDeviceTable vk;
    uint32_t queue_family;
    VkQueue queue;

    /* Presentation (windowed) */
    struct GLFWwindow* window;
    VkSurfaceKHR surface;
    VkSwapchainKHR swapchain;
    uint32_t image_count;
    VkImage images[MAX_SWAPCHAIN_IMAGES];
    VkImageView views[MAX_SWAPCHAIN_IMAGES];
    VkSemaphore present_ready[MAX_SWAPCHAIN_IMAGES];
    VkSemaphore acquired[FRAMES_IN_FLIGHT];
    bool resized;

    /* Offscreen (headless): images[0] is the colour target. */
    VkDeviceMemory color_memory;

    VkFormat color_format;
    VkFormat depth_format;
    VkExtent2D extent;
    VkImage depth;
    VkDeviceMemory depth_memory;
    VkImageView depth_view;

    VkCommandPool cmd_pool;
    VkCommandBuffer cmd[FRAMES_IN_FLIGHT];
    VkSemaphore timeline; /* frame n (from 0) signals n + 1 */
    uint64_t frame;       /* frames submitted so far */
    uint32_t image_index; /* swapchain image of the frame being recorded */
} vkctx;

/* Open a window to render into with Vulkan (GLFW, no client API). Returns
 * false, printing why, when GLFW runs but gives no Vulkan window; true with
 * *out_window NULL when no display could be opened at all (the caller may
 * render headless instead). */
bool vkctx_open_window(uint32_t width, uint32_t height, const char* title,
                       struct GLFWwindow** out_window);
/* Close a window of vkctx_open_window (after vkctx_destroy); NULL is a no-op. */
void vkctx_close_window(struct GLFWwindow* window);

/* Create everything. `window` is NULL for headless; a window's size changes
 * recreate the swapchain at the next frame. Prints the reason and returns
 * false on failure (vkctx_destroy still cleans up). */
bool vkctx_init(vkctx* ctx, const vkctx_options* opt, struct GLFWwindow* window);
void vkctx_destroy(vkctx* ctx);

/* Wait until the frame that used this slot FRAMES_IN_FLIGHT frames ago has
 * retired; returns the timeline value now known complete (deterministic: it
 * is the value waited for, not a sampled counter). */
uint64_t vkctx_wait_slot(vkctx* ctx);

/* Acquire a swapchain image (windowed) and begin the frame's command buffer.
 * Returns false when the swapchain had to be recreated: skip this frame. */
bool vkctx_begin_frame(vkctx* ctx, VkCommandBuffer* out_cmd);

/* Transition the target for rendering and begin dynamic rendering with a clear. */
void vkctx_begin_rendering(vkctx* ctx, VkCommandBuffer cmd, const float clear_rgb[3]);
/* End rendering; transition the target for present or for a copy. */
void vkctx_end_rendering(vkctx* ctx, VkCommandBuffer cmd);

/* Submit (signalling timeline value frame + 1) and present. */
bool vkctx_end_frame(vkctx* ctx);

/* Headless: copy the last rendered image to host memory as tightly packed
 * RGBA8 (width * height * 4 bytes, caller frees). Waits for the GPU. */
uint8_t* vkctx_read_pixels(vkctx* ctx);
/* Headless: vkctx_read_pixels, written to `path` as PNG. */
bool vkctx_write_png(vkctx* ctx, const char* path);

/* A host-visible, coherent buffer with its own memory, for per-frame data
 * that is not mesh data (draw commands, instances, overlay vertices). */
typedef struct host_buffer {
    VkBuffer buffer;
    VkDeviceMemory memory;
    void* mapped;
    VkDeviceSize size;
} host_buffer;

bool host_buffer_create(vkctx* ctx, VkDeviceSize size, VkBufferUsageFlags usage, host_buffer* out);
void host_buffer_destroy(vkctx* ctx, host_buffer* b);

#endif
