/* oa_volk.c - compiles the system's volk.c under renamed globals and adds one
 * entry point that loads a device table through a caller's
 * vkGetDeviceProcAddr, so that the library never needs volk's globals.
 * Owns no state of its own. */
#include "oa_volk.h"

#include <volk.c>

typedef struct oa__volk_device_loader {
    VkDevice device;
    PFN_vkGetDeviceProcAddr get_device_proc_addr;
} oa__volk_device_loader;

static PFN_vkVoidFunction oa__volk_load(void* context, const char* name) {
    const oa__volk_device_loader* loader = (const oa__volk_device_loader*)context;
    return loader->get_device_proc_addr(loader->device, name);
}

void oa__volk_load_device_table(struct VolkDeviceTable* table, VkDevice device,
                                PFN_vkGetDeviceProcAddr get_device_proc_addr) {
    oa__volk_device_loader loader = {device, get_device_proc_addr};
    volkGenLoadDeviceTable(table, &loader, oa__volk_load);
}
