/* vk_test_env.h - shared Vulkan setup for headless tests.
 * Creates an instance with VK_LAYER_KHRONOS_validation (core, synchronization
 * and optionally GPU-assisted validation) and a debug-utils messenger that
 * counts every WARNING and ERROR message of the layers (INFO and VERBOSE are
 * not requested; the loader's own notices are shown but not counted),
 * a Vulkan 1.3 device with timeline semaphores, synchronization2 and buffer
 * device address, one queue, a command pool and a timeline semaphore.
 * Links the Vulkan loader directly (no volk). With no Vulkan device, or no
 * validation layer, vkt_env_init prints why and exits with status 1: a
 * Vulkan test never passes by skipping. */
#ifndef VK_TEST_ENV_H
#define VK_TEST_ENV_H

#include <orderly/orderly_vk.h>

#include <stdbool.h>
#include <stdint.h>
#include <vulkan/vulkan.h>

#define VKT_GPU_ASSISTED 0x1u  /* enable GPU-assisted validation as well */
#define VKT_NO_VALIDATION 0x2u /* no layer and no messenger (benchmarks) */

typedef struct vkt_env {
    VkInstance instance;
    VkPhysicalDevice physical_device;
    VkDevice device;
    VkQueue queue;
    uint32_t queue_family;
    uint32_t api_version;
    VkDebugUtilsMessengerEXT messenger;
    VkCommandPool command_pool;
    VkSemaphore timeline;
    uint64_t timeline_value; /* last value submitted */
    VkPhysicalDeviceProperties properties;
    VkPhysicalDeviceMemoryProperties memory_properties;
    uint32_t validation_feature_count; /* VkValidationFeatureEnableEXT entries enabled */
} vkt_env;

/* Set up everything above; exits the process with a message on failure. */
void vkt_env_init(vkt_env* env, uint32_t flags);
void vkt_env_destroy(vkt_env* env);

/* A manager info over the environment's device: the loader's
 * vkGetInstanceProcAddr and vkGetDeviceProcAddr, Vulkan 1.3, `flags`
 * (oa_vk_manager_flag_bits); no log, default host memory. */
oa_vk_manager_info vkt_env_manager_info(const vkt_env* env, uint32_t flags);

/* WARNING/ERROR messages the validation layer sent so far; the loader's own
 * notices ("Loader Message", e.g. about VK_INSTANCE_LAYERS) are not counted. */
uint32_t vkt_validation_messages(void);
/* WARNING/ERROR notices of the loader received so far (shown, not counted above). */
uint32_t vkt_loader_messages(void);

/* A primary command buffer in the recording state (one-time submit). */
VkCommandBuffer vkt_begin(vkt_env* env);
/* End `cmd`, submit it with vkQueueSubmit + VkTimelineSemaphoreSubmitInfo
 * signalling the next timeline value, and return that value (0 on failure).
 * The command buffer is freed once vkt_wait has seen the value. */
uint64_t vkt_submit(vkt_env* env, VkCommandBuffer cmd);
/* Wait on the host until the timeline reaches `value`; true on success. */
bool vkt_wait(vkt_env* env, uint64_t value);
/* The timeline's current value. */
uint64_t vkt_completed(vkt_env* env);
/* vkt_submit then vkt_wait; returns the value or 0. */
uint64_t vkt_submit_wait(vkt_env* env, VkCommandBuffer cmd);

/* Copy [offset, offset + size) of `buffer` (TRANSFER_SRC usage) into `out`
 * through a GPU copy into a host-visible buffer made with raw Vulkan calls.
 * `src_stage` are the stages that last wrote the bytes (the host writes made
 * visible by the submit need none: pass VK_PIPELINE_STAGE_2_NONE). */
bool vkt_read_buffer(vkt_env* env, VkBuffer buffer, VkDeviceSize offset, VkDeviceSize size,
                     void* out);

/* Deterministic pseudo-random generator for tests (splitmix64). */
uint64_t vkt_splitmix64(uint64_t* state);

#endif /* VK_TEST_ENV_H */
