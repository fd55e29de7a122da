/* main.c - a consumer of the orderly core: allocates, frees, checks, and
 * checks that the library linked in has the version of the header and of the
 * package (EXPECTED_VERSION, "major.minor.patch"). */
#include <orderly/orderly.h>

#include <stdio.h>
#include <string.h>

int main(void) {
    char header[32], library[32];
    const uint32_t v = oa_version();
    snprintf(header, sizeof header, "%d.%d.%d", ORDERLY_VERSION_MAJOR, ORDERLY_VERSION_MINOR,
             ORDERLY_VERSION_PATCH);
    snprintf(library, sizeof library, "%u.%u.%u", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xFFu),
             (unsigned)(v & 0xFFu));
    if (strcmp(header, library) != 0 || strcmp(header, EXPECTED_VERSION) != 0) {
        fprintf(stderr, "version mismatch: header %s, library %s, package %s\n", header, library,
                EXPECTED_VERSION);
        return 1;
    }
    oa_allocator_info info = {.capacity = 1u << 20};
    oa_allocator* a = NULL;
    if (oa_allocator_create(&info, &a) != OA_SUCCESS) {
        return 1;
    }
    oa_allocation h;
    uint64_t offset = 0;
    int ok = oa_alloc(a, 100, 24, &h, &offset) == OA_SUCCESS && offset == 0 &&
             oa_free(a, h) == OA_SUCCESS && oa_free(a, h) == OA_ERROR_STALE_HANDLE &&
             oa_allocator_check(a) == OA_SUCCESS;
    oa_allocator_destroy(a);
    printf("consumer core %s: %s\n", library, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
