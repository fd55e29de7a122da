/* version.c - oa_version(): the library's version as one packed number.
 * Owns nothing else. The numbers come from orderly.h, which the build checks
 * against the CMake project version at configure time. */
#include <orderly/orderly.h>

_Static_assert(ORDERLY_VERSION_MINOR < 256 && ORDERLY_VERSION_PATCH < 256,
               "minor and patch are packed into 8 bits each");

uint32_t oa_version(void) {
    return ((uint32_t)ORDERLY_VERSION_MAJOR << 16) | ((uint32_t)ORDERLY_VERSION_MINOR << 8) |
           (uint32_t)ORDERLY_VERSION_PATCH;
}
