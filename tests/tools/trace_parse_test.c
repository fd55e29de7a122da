/* trace_parse_test.c - the trace parser (tools/trace/trace.c).
 * A trace of 'a' and 'f' records reads exactly as it always did; every
 * recorded kind (A, F, R, G, X, P, M, granularity) gives the op it says;
 * handles map to the dense ids of their allocations through many frees and
 * resets; and each malformed line is an error naming its line.
 *   trace_parse_test [name...] */
#include "oa_test.h"
#include "trace.h"

#include <stdbool.h>
#include <string.h>

static int parse(const char* text, trace* t, char* err, size_t err_size) {
    return trace_parse(text, strlen(text), t, err, err_size);
}

#define CHECK_OP(op, kind_, id_, size_, align_)                                                    \
    do {                                                                                           \
        CHECK_EQ((op).kind, kind_);                                                                \
        CHECK_EQ((op).id, id_);                                                                    \
        CHECK_EQ((op).size, size_);                                                                \
        CHECK_EQ((op).align, align_);                                                              \
    } while (0)

OA_TEST(plain_trace_reads_as_before) {
    const char* text = "# churn 3 ops\n"
                       "capacity 4096\n"
                       "a 0 100 1\n"
                       "\n"
                       "a 1 24 24   \r\n"
                       "  # a comment\n"
                       "f 0\n"
                       "f\t1\n";
    trace t;
    char err[256];
    CHECK_EQ(parse(text, &t, err, sizeof err), 0);
    CHECK(strcmp(t.name, "churn") == 0);
    CHECK_EQ(t.capacity, 4096);
    CHECK_EQ(t.op_count, 4);
    CHECK_EQ(t.id_count, 2);
    CHECK(t.rec == NULL);
    CHECK_EQ(t.granularity, 0);
    CHECK_OP(t.ops[0], TRACE_PLAIN, 0, 100, 1);
    CHECK_OP(t.ops[1], TRACE_PLAIN, 1, 24, 24);
    CHECK_OP(t.ops[2], TRACE_PLAIN, 0, 0, 0);
    CHECK_OP(t.ops[3], TRACE_PLAIN, 1, 0, 0);
    trace_free(&t);
    /* The errors a plain trace always had. */
    CHECK_EQ(parse("capacity 10\nf 3\n", &t, err, sizeof err), -1);
    CHECK(strstr(err, "free of id 3 that was never allocated") != NULL);
    CHECK_EQ(parse("capacity 10\na 0 1 0\n", &t, err, sizeof err), -1);
    CHECK(strcmp(err, "line 2: not a trace record") == 0);
}

OA_TEST(every_recorded_kind) {
    const char* text = "capacity 1000\n"
                       "granularity 4\n"
                       "A 100000001 10 8 0\n"        /* op 0: id 0 */
                       "A - 5000 1 -2\n"             /* op 1: id 1, failed */
                       "R 100000001 20 0\n"          /* op 2 */
                       "G 24 0\n"                    /* op 3 */
                       "P 200000002 8 500\n"         /* op 4: id 2 */
                       "M 100000001 200000002 500\n" /* op 5 */
                       "F 200000002\n"               /* op 6 */
                       "F 200000002 -5\n"            /* op 7: rejected */
                       "R 300000003 4 -5\n"          /* op 8: stale, no id */
                       "R 300000003 0 -1\n"          /* op 9: size 0, no id */
                       "X\n"                         /* op 10: ids [0, 3) */
                       "A ABCDEF0123 4 1 12\n"       /* op 11: id 3 */
                       "X\n";                        /* op 12: ids [3, 4) */
    trace t;
    char err[256];
    int r = parse(text, &t, err, sizeof err);
    if (r != 0) {
        OA_FAIL_AT("%s", err);
        return;
    }
    CHECK_EQ(t.capacity, 1000);
    CHECK_EQ(t.granularity, 4);
    CHECK(t.rec != NULL);
    CHECK_EQ(t.op_count, 13);
    CHECK_EQ(t.id_count, 4);
    CHECK_OP(t.ops[0], TRACE_ALLOC, 0, 10, 8);
    CHECK_EQ(t.rec[0].expect, 0);
    CHECK_EQ(t.rec[0].result, 0);
    CHECK_EQ(t.rec[0].line, 3);
    CHECK_OP(t.ops[1], TRACE_ALLOC, 1, 5000, 1);
    CHECK_EQ(t.rec[1].expect, TRACE_NO_OFFSET);
    CHECK_EQ(t.rec[1].result, -2);
    CHECK_OP(t.ops[2], TRACE_RESIZE, 0, 20, 0);
    CHECK_EQ(t.rec[2].result, 0);
    CHECK_OP(t.ops[3], TRACE_GROW, 0, 24, 0);
    CHECK_OP(t.ops[4], TRACE_PLACE, 2, 8, 0);
    CHECK_EQ(t.rec[4].expect, 500);
    CHECK_OP(t.ops[5], TRACE_MOVE, 0, 500, 0);
    CHECK_EQ(t.rec[5].other, 2);
    CHECK_OP(t.ops[6], TRACE_FREE, 2, 0, 0);
    CHECK_EQ(t.rec[6].result, 0);
    CHECK_EQ(t.ops[7].kind, TRACE_FREE);
    CHECK_EQ(t.rec[7].result, -5);
    CHECK_EQ(t.ops[8].kind, TRACE_RESIZE);
    CHECK_EQ(t.rec[8].result, -5);
    CHECK_EQ(t.ops[9].kind, TRACE_RESIZE);
    CHECK_EQ(t.rec[9].result, -1);
    CHECK_OP(t.ops[10], TRACE_RESET, 3, 0, 0);
    CHECK_OP(t.ops[11], TRACE_ALLOC, 3, 4, 1);
    CHECK_EQ(t.rec[11].expect, 12);
    CHECK_EQ(t.rec[11].line, 14);
    CHECK_OP(t.ops[12], TRACE_RESET, 4, 3, 0);
    trace_free(&t);
}

/* Thousands of live handles with frees in between: every F and R names
 * the dense id its handle's A got (the map's deletions keep each probe
 * run intact). */
OA_TEST(handles_map_to_their_ids) {
    enum { N = 20000 };
    static char text[N * 80];
    static uint64_t keys[N];
    static uint32_t expect_id[N * 3];
    static bool is_live[N];
    size_t len = (size_t)snprintf(text, sizeof text, "capacity 100000000\n");
    size_t ops = 0;
    uint64_t state = 7;
    uint32_t next_id = 0;
    for (uint32_t i = 0; i < N; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        /* Handles that share their low bits, as slots of one allocator do. */
        keys[i] = (state >> 40) << 32 | (i % 64 + 1);
        len += (size_t)snprintf(text + len, sizeof text - len, "A %llx 8 1 %u\n",
                                (unsigned long long)keys[i], i * 8);
        is_live[i] = true;
        expect_id[ops++] = next_id++;
        if (i % 3 == 2) {
            uint32_t k = (uint32_t)((state >> 20) % (i + 1));
            if (is_live[k]) {
                len += (size_t)snprintf(text + len, sizeof text - len, "R %llx 4 0\nF %llx\n",
                                        (unsigned long long)keys[k], (unsigned long long)keys[k]);
                expect_id[ops++] = k;
                expect_id[ops++] = k;
                is_live[k] = false;
            }
        }
    }
    trace t;
    char err[256];
    int r = trace_parse(text, len, &t, err, sizeof err);
    if (r != 0) {
        OA_FAIL_AT("%s", err);
        return;
    }
    CHECK_EQ(t.op_count, ops);
    for (size_t i = 0; i < ops; i++) {
        CHECK_EQ(t.ops[i].id, expect_id[i]);
    }
    trace_free(&t);
}

/* Each malformed trace and the message it must give. */
OA_TEST(malformed_lines_name_their_line) {
    static const struct {
        const char* text;
        const char* message;
    } cases[] = {
        {"capacity 10\nA 1 10 1\n", "line 2: not a trace record"},
        {"capacity 10\nA 1 10 1 0 7\n", "line 2: not a trace record"},
        {"capacity 10\nA zz 10 1 0\n", "line 2: not a trace record"},
        {"capacity 10\nA 0 10 1 0\n", "line 2: not a trace record"},
        {"capacity 10\nA 11112222333344445 1 1 0\n", "line 2: not a trace record"},
        {"capacity 10\nA - 5 2 0\n", "line 2: not a trace record"},
        {"capacity 10\nA - 5 2 -99999999999\n", "line 2: not a trace record"},
        {"capacity 10\n\nF 5\n", "line 3: handle 5 is not live"},
        {"capacity 10\nA 1 1 1 0\nA 1 1 1 1\n", "line 3: handle 1 is live already"},
        {"capacity 10\nA 1 1 1 0\nP 1 4 8\n", "line 3: handle 1 is live already"},
        {"capacity 10\nA 1 1 1 0\nF 1\nF 1\n", "line 4: handle 1 is not live"},
        {"capacity 10\nA 1 1 1 0\nX\nF 1\n", "line 4: handle 1 is not live"},
        {"capacity 10\nA 1 1 1 0\nF 1 5\n", "line 3: not a trace record"},
        {"capacity 10\nA 1 1 1 0\nR 1 5\n", "line 3: not a trace record"},
        {"capacity 10\nA 1 1 1 0\nR 1 5 3\n", "line 3: not a trace record"},
        {"capacity 10\nR 1 5 0\n", "line 2: handle 1 is not live"},
        {"capacity 10\nG 5\n", "line 2: not a trace record"},
        {"capacity 10\nX 1\n", "line 2: not a trace record"},
        {"capacity 10\nP 1 0 5\n", "line 2: not a trace record"},
        {"capacity 10\nA 1 1 1 0\nM 1 1 0\n", "line 3: an allocation moves into its own place"},
        {"capacity 10\nA 1 1 1 0\nM 1 2 0\n", "line 3: handle 2 is not live"},
        {"capacity 10\nA 1 1 1 0\nM 2 1 0\n", "line 3: handle 2 is not live"},
        {"capacity 10\nAB 1 1 1 0\n", "line 2: not a trace record"},
        {"capacity 10\nQ\n", "line 2: not a trace record"},
        {"capacity 10\na 0 1 1\nA 1 1 1 0\n", "line 3: 'a' and 'f' records do not mix"},
        {"capacity 10\nA 1 1 1 0\nf 0\n", "line 3: 'a' and 'f' records do not mix"},
        {"capacity 10\nA 1 1 1 0\ngranularity 4\n",
         "line 3: granularity after the first operation"},
        {"capacity 10\ngranularity 0\n", "line 2: not a trace record"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        trace t;
        char err[256] = "";
        int r = parse(cases[i].text, &t, err, sizeof err);
        if (r != -1 || strncmp(err, cases[i].message, strlen(cases[i].message)) != 0) {
            OA_FAIL_AT("case %zu: got %d \"%s\", wanted \"%s\"", i, r, err, cases[i].message);
            return;
        }
        CHECK(t.ops == NULL && t.rec == NULL); /* nothing left to free */
    }
}

OA_TEST_MAIN()
