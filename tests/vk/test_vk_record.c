/* test_vk_record.c - a pool's recorder (oa_vk_pool_info.record) on the test
 * device under the validation layer: a pool of several blocks records
 * random allocs (some failing), immediate and deferred frees; each block's
 * lines, told apart by their block slot, are one trace that orderly-replay
 * --check replays with every offset verified, and the A lines of each
 * block are the live run's ranges in that block, in order. Also: a ring
 * pool with a recorder is rejected, and a pool without one records nothing.
 *   test_vk_record [name...] */
#include "vk_test_common.h"

#include <sys/wait.h>

#ifndef REPLAY_EXE
#error "REPLAY_EXE must name orderly-replay"
#endif
#ifndef OUT_DIR
#error "OUT_DIR must name a directory for the test's files"
#endif

#define KiB 1024u
#define SLOTS 8

typedef struct block_text {
    char* text;
    size_t length, capacity;
} block_text;

typedef struct recording {
    block_text block[SLOTS];
    uint32_t stray; /* lines of a slot >= SLOTS */
} recording;

static void record_line(void* user, uint32_t block_slot, const char* text, size_t length) {
    recording* r = (recording*)user;
    if (block_slot >= SLOTS) {
        r->stray++;
        return;
    }
    block_text* b = &r->block[block_slot];
    if (b->length + length + 1 > b->capacity) {
        b->capacity = (b->capacity + length + 1) * 2;
        b->text = (char*)realloc(b->text, b->capacity);
        if (b->text == NULL) {
            abort();
        }
    }
    memcpy(b->text + b->length, text, length);
    b->length += length;
    b->text[b->length] = '\0';
}

/* The offsets of the A lines that succeeded, in order. */
static size_t a_offsets(const char* text, uint64_t* out, size_t cap) {
    size_t n = 0;
    for (const char* line = text; line != NULL && *line != '\0';) {
        unsigned long long off;
        char handle[32];
        if (strncmp(line, "A - ", 4) != 0 &&
            sscanf(line, "A %31s %*u %*u %llu", handle, &off) == 2 && n < cap) {
            out[n++] = off;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return n;
}

static int replay_checked(const char* trace, const char* log) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s' --check > '%s' 2>&1", REPLAY_EXE, trace, log);
    int st = system(cmd);
    return st == -1 || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
}

OA_TEST(each_block_replays_as_recorded) {
    const uint32_t before = vkt_validation_messages();
    /* No block is released during the run, so each slot holds one block and
     * one trace (a released slot's next block would begin a new trace). */
    oa_vk_manager_info mi = vkt_manager_info(0);
    mi.release_delay = 1000000;
    oa_vk_manager* m = NULL;
    CHECK_EQ(oa_vk_manager_create(&mi, &m), OA_VK_SUCCESS);
    static recording rec;
    memset(&rec, 0, sizeof rec);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT |
                                           VK_BUFFER_USAGE_VERTEX_BUFFER_BIT,
                                  .block_size = 256 * KiB,
                                  .max_block_count = 3,
                                  .flags = OA_VK_POOL_NO_DEDICATED,
                                  .record = record_line,
                                  .record_user = &rec};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_SUCCESS);
    enum { LIVE = 256, OPS = 3000 };
    oa_vk_range_info live[LIVE];
    uint32_t n = 0;
    /* The live run's ranges per buffer, in order. */
    VkBuffer buffers[SLOTS] = {0};
    static uint64_t offsets[SLOTS][OPS];
    size_t counts[SLOTS] = {0};
    uint64_t state = 0x5eedull, failures = 0;
    static const VkDeviceSize aligns[] = {1, 4, 12, 24, 64, 256};
    for (uint64_t i = 0; i < OPS; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = (state >> 33) % 100;
        if (r < 55 && n < LIVE) {
            oa_vk_range_info ri;
            VkDeviceSize size = 1 + (state >> 20) % (r < 3 ? 300 * KiB : 20 * KiB);
            oa_vk_result res = oa_vk_alloc(m, pool, size, aligns[(state >> 12) % 6], &ri);
            if (res == OA_VK_SUCCESS) {
                live[n++] = ri;
                uint32_t b = 0;
                while (b < SLOTS && buffers[b] != VK_NULL_HANDLE && buffers[b] != ri.buffer) {
                    b++;
                }
                CHECK(b < SLOTS);
                buffers[b] = ri.buffer;
                offsets[b][counts[b]++] = ri.offset;
            } else {
                CHECK(res == OA_VK_ERROR_OUT_OF_POOL_SPACE || res == OA_VK_ERROR_TOO_LARGE);
                failures++;
            }
        } else if (n > 0) {
            uint32_t k = (uint32_t)((state >> 24) % n);
            if (r % 2 == 0) {
                CHECK_EQ(oa_vk_free(m, live[k].handle), OA_VK_SUCCESS);
            } else {
                CHECK_EQ(oa_vk_free_deferred(m, live[k].handle, i + 5), OA_VK_SUCCESS);
            }
            live[k] = live[--n];
        }
        if (i % 16 == 0) {
            CHECK_EQ(oa_vk_collect(m, i, NULL), OA_VK_SUCCESS);
        }
    }
    CHECK_EQ(oa_vk_pool_destroy(m, pool, OA_VK_POOL_DESTROY_FREE_LIVE), OA_VK_SUCCESS);
    oa_vk_manager_destroy(m);
    CHECK_EQ(rec.stray, 0);
    printf("%llu failed allocations\n", (unsigned long long)failures);
    /* Every block that held a range has its trace; each replays verified,
     * and its placements are those of one buffer of the live run. */
    uint32_t traces = 0;
    bool matched[SLOTS] = {false};
    static uint64_t recorded[OPS];
    for (uint32_t s = 0; s < SLOTS; s++) {
        if (rec.block[s].text == NULL) {
            continue;
        }
        traces++;
        CHECK(strncmp(rec.block[s].text, "capacity 262144\n", 16) == 0);
        char trace[512], log[512];
        snprintf(trace, sizeof trace, "%s/vk-record-%u.trace", OUT_DIR, s);
        snprintf(log, sizeof log, "%s/vk-record-%u.log", OUT_DIR, s);
        FILE* f = fopen(trace, "wb");
        CHECK(f != NULL);
        CHECK_EQ(fwrite(rec.block[s].text, 1, rec.block[s].length, f), rec.block[s].length);
        CHECK_EQ(fclose(f), 0);
        int status = replay_checked(trace, log);
        if (status != 0) {
            char cmd[1100];
            snprintf(cmd, sizeof cmd, "cat '%s'", log);
            CHECK_EQ(system(cmd), 0);
        }
        CHECK_EQ(status, 0);
        size_t k = a_offsets(rec.block[s].text, recorded, OPS);
        bool found = false;
        for (uint32_t b = 0; b < SLOTS && !found; b++) {
            if (!matched[b] && counts[b] == k &&
                memcmp(offsets[b], recorded, k * sizeof(uint64_t)) == 0) {
                matched[b] = found = true;
            }
        }
        CHECK(found);
        free(rec.block[s].text);
    }
    uint32_t used_buffers = 0;
    for (uint32_t b = 0; b < SLOTS; b++) {
        used_buffers += buffers[b] != VK_NULL_HANDLE;
    }
    printf("%u blocks recorded\n", traces);
    CHECK_EQ(traces, used_buffers);
    CHECK(traces >= 2); /* the test needs more than one block */
    CHECK(failures > 0);
    CHECK_NO_VALIDATION(before);
}

OA_TEST(ring_pool_with_a_recorder_is_rejected) {
    oa_vk_manager* m = vkt_manager(0);
    CHECK(m != NULL);
    recording rec;
    memset(&rec, 0, sizeof rec);
    const oa_vk_pool_info info = {.usage = VK_BUFFER_USAGE_UNIFORM_BUFFER_BIT,
                                  .intent = OA_VK_INTENT_DYNAMIC,
                                  .block_size = 64 * KiB,
                                  .flags = OA_VK_POOL_RING,
                                  .record = record_line,
                                  .record_user = &rec};
    oa_vk_pool pool;
    CHECK_EQ(oa_vk_pool_create(m, &info, &pool), OA_VK_ERROR_INVALID_ARGUMENT);
    CHECK(strstr(vkt_last_log, "ring pool") != NULL);
    oa_vk_manager_destroy(m);
}

VKT_TEST_MAIN()
