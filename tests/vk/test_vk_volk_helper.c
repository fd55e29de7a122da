/* test_vk_volk_helper.c - orderly_vk_volk.h maps a volk device table onto the
 * manager's function table member by member, with the KHR fallbacks. No
 * device: the table holds distinct marker pointers, never called. */
#include <volk.h>

#include <orderly/orderly_vk_volk.h>

#include "../oa_test.h"

/* A distinct, never-called function pointer per number. */
static PFN_vkVoidFunction marker(uintptr_t k) {
    return (PFN_vkVoidFunction)(0x1000u + 16u * k);
}

#define SET(table, field, k) (table).field = (PFN_##field)marker(k)
#define IS(f, field, k) CHECK((PFN_vkVoidFunction)(f).field == marker(k))

OA_TEST(every_member_maps) {
    struct VolkDeviceTable t;
    memset(&t, 0, sizeof t);
    SET(t, vkAllocateMemory, 1);
    SET(t, vkFreeMemory, 2);
    SET(t, vkMapMemory, 3);
    SET(t, vkUnmapMemory, 4);
    SET(t, vkFlushMappedMemoryRanges, 5);
    SET(t, vkInvalidateMappedMemoryRanges, 6);
    SET(t, vkCreateBuffer, 7);
    SET(t, vkDestroyBuffer, 8);
    SET(t, vkGetBufferMemoryRequirements, 9);
    SET(t, vkBindBufferMemory, 10);
    SET(t, vkCmdCopyBuffer, 11);
    SET(t, vkCmdPipelineBarrier2, 12);
    SET(t, vkGetBufferDeviceAddress, 13);
    SET(t, vkCmdPipelineBarrier2KHR, 14);
    SET(t, vkGetBufferDeviceAddressKHR, 15);
    SET(t, vkCmdCopyBuffer2, 16); /* not the manager's: must not leak in */
    SET(t, vkCmdPipelineBarrier, 17);
    oa_vk_functions f;
    memset(&f, 0xAB, sizeof f);
    oa_vk_functions_from_volk(&t, &f);
    IS(f, vkAllocateMemory, 1);
    IS(f, vkFreeMemory, 2);
    IS(f, vkMapMemory, 3);
    IS(f, vkUnmapMemory, 4);
    IS(f, vkFlushMappedMemoryRanges, 5);
    IS(f, vkInvalidateMappedMemoryRanges, 6);
    IS(f, vkCreateBuffer, 7);
    IS(f, vkDestroyBuffer, 8);
    IS(f, vkGetBufferMemoryRequirements, 9);
    IS(f, vkBindBufferMemory, 10);
    IS(f, vkCmdCopyBuffer, 11);
    IS(f, vkCmdPipelineBarrier2, 12); /* the core name wins over the KHR one */
    IS(f, vkGetBufferDeviceAddress, 13);
    IS(f, vkCmdPipelineBarrier, 17);
}

OA_TEST(khr_names_fill_in_below_the_core_version) {
    struct VolkDeviceTable t;
    memset(&t, 0, sizeof t);
    SET(t, vkCmdPipelineBarrier2KHR, 21);
    SET(t, vkGetBufferDeviceAddressKHR, 22);
    oa_vk_functions f;
    memset(&f, 0xAB, sizeof f);
    oa_vk_functions_from_volk(&t, &f);
    IS(f, vkCmdPipelineBarrier2, 21);
    IS(f, vkGetBufferDeviceAddress, 22);
    /* Absent members stay NULL (the manager loads those itself). */
    CHECK(f.vkAllocateMemory == NULL);
    CHECK(f.vkCmdCopyBuffer == NULL);
}

OA_TEST(null_arguments_do_nothing) {
    oa_vk_functions f;
    memset(&f, 0xAB, sizeof f);
    oa_vk_functions_from_volk(NULL, &f);
    const unsigned char* bytes = (const unsigned char*)&f;
    for (size_t i = 0; i < sizeof f; i++) {
        CHECK_EQ(bytes[i], 0xAB);
    }
    struct VolkDeviceTable t;
    memset(&t, 0, sizeof t);
    oa_vk_functions_from_volk(&t, NULL);
}

OA_TEST_MAIN()
