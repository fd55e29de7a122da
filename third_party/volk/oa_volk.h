/* oa_volk.h - how orderly's Vulkan manager sees volk (internal, not installed).
 * Renames every global that volk defines (see third_party/volk.cmake) before
 * including volk.h, so the device table type matches the one the glue source
 * fills, and nothing of volk's global state is visible outside the library.
 * Only oa__volk_load_device_table is used: it fills a private table from a
 * caller's vkGetDeviceProcAddr without touching any global variable. */
#ifndef OA_VOLK_H
#define OA_VOLK_H

#include "oa_volk_names.h"

#include <volk.h>

/* Fill `table` with the device-level entry points of `device`, each looked up
 * through `get_device_proc_addr`. Thread-safe; reads and writes no globals. */
void oa__volk_load_device_table(struct VolkDeviceTable* table, VkDevice device,
                                PFN_vkGetDeviceProcAddr get_device_proc_addr);

#endif /* OA_VOLK_H */
