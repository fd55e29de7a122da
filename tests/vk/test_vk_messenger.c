/* test_vk_messenger.c - the tests' debug messenger counts what the validation
 * layer says and only that. ctest runs it twice: plainly, and with
 * VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation in the environment (how
 * people force validation on any program), where the loader adds a WARNING
 * of its own about that variable, which must not count. A deliberately
 * invalid call must count in both runs. */
#include "../oa_test.h"
#include "vk_test_env.h"

#include <stdlib.h>
#include <string.h>

static vkt_env env;
static uint32_t expected_messages; /* counted messages the tests provoked */

static bool layers_from_environment(void) {
    const char* v = getenv("VK_INSTANCE_LAYERS");
    return v != NULL && strstr(v, "VK_LAYER_KHRONOS_validation") != NULL;
}

/* Instance and device creation under the layer are clean; with the variable
 * set, the loader's notice arrived (so the run does test the filter) and
 * was not counted. */
OA_TEST(setup_counts_nothing) {
    vkt_env_init(&env, 0);
    printf("loader notices %u, counted messages %u\n", vkt_loader_messages(),
           vkt_validation_messages());
    if (layers_from_environment()) {
        CHECK(vkt_loader_messages() > 0);
    }
    CHECK_EQ(vkt_validation_messages(), 0);
}

/* A buffer of size 0 breaks VUID-VkBufferCreateInfo-size-00912: the layer
 * reports an ERROR, and the messenger counts it. */
OA_TEST(invalid_call_counted) {
    const uint32_t before = vkt_validation_messages();
    const VkBufferCreateInfo info = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                                     .size = 0,
                                     .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT,
                                     .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer buffer = VK_NULL_HANDLE;
    fprintf(stderr, "(a validation error is expected next)\n");
    VkResult vr = vkCreateBuffer(env.device, &info, NULL, &buffer);
    if (vr == VK_SUCCESS && buffer != VK_NULL_HANDLE) {
        vkDestroyBuffer(env.device, buffer, NULL);
    }
    const uint32_t counted = vkt_validation_messages() - before;
    printf("messages counted for the invalid call: %u\n", counted);
    CHECK(counted >= 1);
    expected_messages += counted;
}

int main(int argc, char** argv) {
    int status = oa_test_run_all(argc, argv);
    if (env.device != VK_NULL_HANDLE) {
        vkt_env_destroy(&env);
    }
    /* Nothing but the provoked messages was counted, destruction included. */
    const uint32_t messages = vkt_validation_messages();
    printf("validation messages counted: %u (expected %u)\n", messages, expected_messages);
    return messages == expected_messages ? status : 1;
}
