/* orderly-tracegen: writes a deterministic allocation trace to stdout.
 * Usage: orderly-tracegen NAME [--seed N] [--scale F] > NAME.trace
 *        orderly-tracegen --list */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static int usage(FILE* f) {
    fprintf(f, "usage: orderly-tracegen NAME [--seed N] [--scale F] > NAME.trace\n"
               "       orderly-tracegen --list\n");
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
    uint64_t seed = 1;
    double scale = 1.0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (strcmp(argv[i], "--scale") == 0 && i + 1 < argc) {
            scale = strtod(argv[++i], NULL);
            if (!(scale > 0 && scale <= 1000)) {
                fprintf(stderr, "orderly-tracegen: --scale must be in (0, 1000]\n");
                return 2;
            }
        } else {
            fprintf(stderr, "orderly-tracegen: unknown argument %s\n", argv[i]);
            return usage(stderr);
        }
    }
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    if (trace_generate(argv[1], seed, scale, stdout) != 0) {
        fprintf(stderr, "orderly-tracegen: unknown trace %s; --list shows them\n", argv[1]);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
