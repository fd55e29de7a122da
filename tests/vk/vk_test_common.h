/* vk_test_common.h - helpers shared by the manager's device tests: one
 * environment per process, manager creation, a log sink that keeps the last
 * message, and a main() that also fails the run on any validation message. */
#ifndef VK_TEST_COMMON_H
#define VK_TEST_COMMON_H

#include <orderly/orderly_vk.h>

#include "../oa_test.h"
#include "vk_test_env.h"

static vkt_env vkt_the_env;
static int vkt_env_ready;
static char vkt_last_log[512];
static int vkt_log_count;

static inline vkt_env* vkt(void) {
    if (!vkt_env_ready) {
        vkt_env_init(&vkt_the_env, getenv("ORDERLY_VK_TEST_GPU_AV") != NULL ? VKT_GPU_ASSISTED : 0);
        vkt_env_ready = 1;
    }
    return &vkt_the_env;
}

static inline void vkt_log(void* user, oa_vk_result result, const char* message) {
    (void)user;
    snprintf(vkt_last_log, sizeof vkt_last_log, "%s: %s", oa_vk_result_name(result), message);
    vkt_log_count++;
}

static inline oa_vk_manager_info vkt_manager_info(uint32_t flags) {
    vkt_env* e = vkt();
    oa_vk_manager_info info = {0};
    info.instance = e->instance;
    info.physical_device = e->physical_device;
    info.device = e->device;
    info.get_instance_proc_addr = vkGetInstanceProcAddr;
    info.get_device_proc_addr = vkGetDeviceProcAddr;
    info.api_version = e->api_version;
    info.flags = flags;
    info.log = vkt_log;
    return info;
}

static inline oa_vk_manager* vkt_manager(uint32_t flags) {
    const oa_vk_manager_info info = vkt_manager_info(flags);
    oa_vk_manager* m = NULL;
    if (oa_vk_manager_create(&info, &m) != OA_VK_SUCCESS) {
        fprintf(stderr, "oa_vk_manager_create failed: %s\n", vkt_last_log);
        return NULL;
    }
    return m;
}

/* Fail the test if the validation layer said anything since `before`. */
#define CHECK_NO_VALIDATION(before) CHECK_EQ(vkt_validation_messages(), (before))

#define VKT_TEST_MAIN()                                                                            \
    int main(int argc, char** argv) {                                                              \
        int status = oa_test_run_all(argc, argv);                                                  \
        if (vkt_env_ready) {                                                                       \
            vkt_env_destroy(&vkt_the_env);                                                         \
        }                                                                                          \
        const uint32_t messages = vkt_validation_messages();                                       \
        printf("validation messages (warning or error): %u\n", messages);                          \
        return messages == 0 ? status : 1;                                                         \
    }

#endif /* VK_TEST_COMMON_H */
