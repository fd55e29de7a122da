/* orderly-tracegen: writes a deterministic allocation trace to stdout.
 * Usage: orderly-tracegen NAME [--seed N] [--scale F] [--align A] [--probes N] > NAME.trace
 *        orderly-tracegen --list */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static int usage(FILE* f) {
    fprintf(f,
            "usage: orderly-tracegen NAME [--seed N] [--scale F] [--align A] [--probes N]"
            " > NAME.trace\n"
            "       orderly-tracegen --list\n"
            "  --seed N    random seed (default 1); deep-bin does not use it\n"
            "  --scale F   size of the workload, 1.0 = full (default; crafted kinds: 2 M regions)\n"
            "  --align A   vma, vma-fail, vma-fit: every request at alignment A (default 1)\n"
            "  --probes N  vma-fail, vma-fit (default 1000) and the crafted kinds (deep-bin 16,\n"
            "              others 100): requests after the setup; 0 gives the setup alone\n"
            "Kinds (--list says more): churn-uniform small-many mesh-stream frame-ring\n"
            "fragmenter, VMA-shaped vma vma-mixed vma-fail vma-fit, crafted deep-bin\n"
            "unaligned-holes one-bin dust dust-ladder fail-fragmented unaligned-ends.\n");
    return f == stdout ? 0 : 2;
}

int main(int argc, char** argv) {
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        return usage(argc < 2 ? stderr : stdout);
    }
    if (strcmp(argv[1], "--list") == 0) {
        for (int i = 0; trace_workloads[i] != NULL; i++) {
            printf("%s: %s\n", trace_workloads[i], trace_workload_about(trace_workloads[i]));
        }
        return 0;
    }
    trace_params params = {.seed = 1, .scale = 1.0, .align = 0, .probes = -1};
    for (int i = 2; i < argc; i++) {
        char* end = NULL;
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            params.seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            params.scale = strtod(argv[++i], NULL);
            if (!(params.scale > 0 && params.scale <= 1000)) {
                fprintf(stderr, "orderly-tracegen: --scale must be in (0, 1000]\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--align") == 0 && i + 1 < argc) {
            params.align = strtoull(argv[++i], &end, 0);
            if (params.align == 0 || params.align > (1ull << 32) || *end != '\0') {
                fprintf(stderr, "orderly-tracegen: --align must be in [1, 2^32]\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--probes") == 0 && i + 1 < argc) {
            long long n = strtoll(argv[++i], &end, 0);
            if (n < 0 || n > 100000000 || *end != '\0') {
                fprintf(stderr, "orderly-tracegen: --probes must be in [0, 10^8]\n");
                return 2;
            }
            params.probes = n;
        } else {
            fprintf(stderr, "orderly-tracegen: unknown argument %s\n", argv[i]);
            return usage(stderr);
        }
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    int r = trace_generate(argv[1], &params, stdout);
    if (r == -1) {
        fprintf(stderr, "orderly-tracegen: unknown trace %s; --list shows them\n", argv[1]);
        return 2;
    }
    if (r == -2) {
        fprintf(stderr, "orderly-tracegen: %s takes no %s; --help says which kinds do\n", argv[1],
                params.align != 0 ? "--align or no --probes" : "--probes");
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
