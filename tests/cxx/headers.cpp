// headers.cpp - the public headers compiled as C++ (-Wall -Wextra -Werror
// -pedantic) and used from C++: extern "C" linkage, enums, value handles.
#include <orderly/orderly.h>
#ifdef ORDERLY_TEST_VK
#include <orderly/orderly_vk.h>
#endif

#include <cstdio>
#include <cstring>

static int failures = 0;
static int passes = 0;

static void check(bool ok, const char* what) {
    std::printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    failures += ok ? 0 : 1;
    passes += ok ? 1 : 0;
}

int main() {
    check(sizeof(oa_allocation) == 8, "oa_allocation is one 64-bit id");
    check(std::strcmp(oa_result_name(OA_ERROR_OUT_OF_SPACE), "OA_ERROR_OUT_OF_SPACE") == 0,
          "oa_result_name links with C linkage");
    const uint32_t packed = (uint32_t(ORDERLY_VERSION_MAJOR) << 16) |
                            (uint32_t(ORDERLY_VERSION_MINOR) << 8) |
                            uint32_t(ORDERLY_VERSION_PATCH);
    check(oa_version() == packed, "oa_version() matches the header's macros");

    oa_allocator_info info = oa_allocator_info();
    info.capacity = 4096;
    oa_allocator* a = nullptr;
    check(oa_allocator_create(&info, &a) == OA_SUCCESS, "create");
    oa_allocation h = {0};
    uint64_t offset = OA_NO_OFFSET;
    check(oa_alloc(a, 100, 12, &h, &offset) == OA_SUCCESS && offset == 0, "alloc");
    check(oa_free(a, h) == OA_SUCCESS && oa_allocator_check(a) == OA_SUCCESS, "free and check");
    oa_allocator_destroy(a);
#ifdef ORDERLY_TEST_VK
    check(std::strcmp(oa_vk_result_name(OA_VK_ERROR_TOO_LARGE), "OA_VK_ERROR_TOO_LARGE") == 0,
          "oa_vk_result_name links with C linkage");
    VkPhysicalDeviceLimits limits = VkPhysicalDeviceLimits();
    limits.minStorageBufferOffsetAlignment = 16;
    check(oa_vk_range_alignment(&limits, VK_BUFFER_USAGE_STORAGE_BUFFER_BIT, 4, false, 12) == 48,
          "oa_vk_range_alignment");
#endif
    std::printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
