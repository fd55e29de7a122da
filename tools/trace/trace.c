/* trace.c - reads allocation traces fast: the whole file in one buffer, then
 * a hand-written scanner (no per-line stdio). Millions of lines parse in well
 * under a second. Recorded traces (A, F, R, G, X, P, M: see trace.h) name
 * handles, mapped to dense ids here so that a replay indexes its slots the
 * same way. The generator lives in tracegen.c. */
#include "trace.h"

#include <stdlib.h>
#include <string.h>

static const char* skip_blanks(const char* p, const char* end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) {
        p++;
    }
    return p;
}

static int read_u64(const char** pp, const char* end, uint64_t* out) {
    const char* p = skip_blanks(*pp, end);
    if (p >= end || *p < '0' || *p > '9') {
        return -1;
    }
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
        p++;
    }
    *pp = p;
    *out = v;
    return 0;
}

/* A hex number (no prefix), then a word boundary. */
static int read_hex(const char** pp, const char* end, uint64_t* out) {
    const char* p = skip_blanks(*pp, end);
    uint64_t v = 0;
    const char* start = p;
    for (; p < end; p++) {
        uint64_t d;
        if (*p >= '0' && *p <= '9') {
            d = (uint64_t)(*p - '0');
        } else if (*p >= 'a' && *p <= 'f') {
            d = (uint64_t)(*p - 'a' + 10);
        } else if (*p >= 'A' && *p <= 'F') {
            d = (uint64_t)(*p - 'A' + 10);
        } else {
            break;
        }
        if (v >> 60 != 0) {
            return -1;
        }
        v = v << 4 | d;
    }
    if (p == start || (p < end && *p != ' ' && *p != '\t' && *p != '\r')) {
        return -1;
    }
    *pp = p;
    *out = v;
    return 0;
}

/* A result: 0 or a negative decimal that fits an int32. */
static int read_result(const char** pp, const char* end, int32_t* out) {
    const char* p = skip_blanks(*pp, end);
    int neg = p < end && *p == '-';
    uint64_t v;
    p += neg;
    if (read_u64(&p, end, &v) || v > (uint64_t)INT32_MAX || (!neg && v != 0)) {
        return -1;
    }
    *pp = p;
    *out = neg ? -(int32_t)v : 0;
    return 0;
}

/* Is the next field a lone '-'? Consumes it if so. */
static int read_dash(const char** pp, const char* end) {
    const char* p = skip_blanks(*pp, end);
    if (p < end && *p == '-' && (p + 1 == end || p[1] == ' ' || p[1] == '\t' || p[1] == '\r')) {
        *pp = p + 1;
        return 1;
    }
    return 0;
}

/* ---- recorded traces: live handles to dense ids ----
 * Open addressing with linear probing over a power-of-two table kept at
 * most half full (it doubles as handles go live). A reset bumps the epoch:
 * entries of an older epoch are empty, so a reset costs O(1). */
typedef struct key_map {
    uint64_t* keys;
    uint32_t* ids;
    uint32_t* epochs;
    size_t mask;
    size_t count; /* live entries (of the current epoch) */
    uint32_t epoch;
} key_map;

static size_t key_home(const key_map* m, uint64_t key) {
    uint64_t h = key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ (h >> 29)) & m->mask;
}

/* The slot holding `key`, or the empty slot where it would go. */
static size_t key_slot(const key_map* m, uint64_t key, int* found) {
    size_t i = key_home(m, key);
    while (m->epochs[i] == m->epoch) {
        if (m->keys[i] == key) {
            *found = 1;
            return i;
        }
        i = (i + 1) & m->mask;
    }
    *found = 0;
    return i;
}

/* Remove the entry at slot i, shifting later entries of its run back. */
static void key_remove(key_map* m, size_t i) {
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->epochs[j] != m->epoch) {
            break;
        }
        size_t home = key_home(m, m->keys[j]);
        /* Move j to i unless its home lies cyclically in (i, j]. */
        if ((i < j) ? (home <= i || home > j) : (home <= i && home > j)) {
            m->keys[i] = m->keys[j];
            m->ids[i] = m->ids[j];
            i = j;
        }
    }
    m->epochs[i] = m->epoch - 1u;
    m->count--;
}

static int key_alloc(key_map* m, size_t cap) {
    m->keys = (uint64_t*)malloc(cap * sizeof(uint64_t));
    m->ids = (uint32_t*)malloc(cap * sizeof(uint32_t));
    m->epochs = (uint32_t*)calloc(cap, sizeof(uint32_t));
    m->mask = cap - 1;
    m->count = 0;
    m->epoch = 1;
    return m->keys == NULL || m->ids == NULL || m->epochs == NULL;
}

static void key_release(key_map* m) {
    free(m->keys);
    free(m->ids);
    free(m->epochs);
    memset(m, 0, sizeof *m);
}

/* Twice the slots, the live entries moved over. Returns 0, or -1 (out of
 * memory: the map is unchanged). */
static int key_grow(key_map* m) {
    key_map g;
    if (key_alloc(&g, (m->mask + 1) * 2)) {
        key_release(&g);
        return -1;
    }
    for (size_t i = 0; i <= m->mask; i++) {
        if (m->epochs[i] == m->epoch) {
            int found;
            size_t j = key_slot(&g, m->keys[i], &found);
            g.keys[j] = m->keys[i];
            g.ids[j] = m->ids[i];
            g.epochs[j] = g.epoch;
            g.count++;
        }
    }
    key_release(m);
    *m = g;
    return 0;
}

typedef struct rec_state {
    key_map map;
    uint32_t reset_base; /* first id handed out since the last reset */
} rec_state;

static int rec_init(rec_state* st, trace* out, size_t lines) {
    st->reset_base = 0;
    out->rec = (trace_rec*)calloc(lines, sizeof(trace_rec));
    return key_alloc(&st->map, 1024) || out->rec == NULL;
}

static void rec_done(rec_state* st) {
    key_release(&st->map);
}

/* The live id of `key`, or -1 with a message. */
static int64_t rec_live(rec_state* st, uint64_t key, size_t line, char* err, size_t err_size) {
    int found;
    size_t i = key_slot(&st->map, key, &found);
    if (!found) {
        snprintf(err, err_size, "line %zu: handle %llx is not live", line, (unsigned long long)key);
        return -1;
    }
    return st->map.ids[i];
}

/* A new dense id for `key` (0: none, for a failed alloc), or -1 with a message. */
static int64_t rec_new(rec_state* st, trace* out, uint64_t key, size_t line, char* err,
                       size_t err_size) {
    if (out->id_count == UINT32_MAX - 1) {
        snprintf(err, err_size, "line %zu: more than 2^32 - 2 allocations", line);
        return -1;
    }
    if (key != 0 && (st->map.count + 1) * 2 > st->map.mask + 1 && key_grow(&st->map)) {
        snprintf(err, err_size, "line %zu: out of memory for the live handles", line);
        return -1;
    }
    uint32_t id = out->id_count++;
    if (key != 0) {
        int found;
        size_t i = key_slot(&st->map, key, &found);
        if (found) {
            snprintf(err, err_size, "line %zu: handle %llx is live already", line,
                     (unsigned long long)key);
            return -1;
        }
        st->map.keys[i] = key;
        st->map.ids[i] = id;
        st->map.epochs[i] = st->map.epoch;
        st->map.count++;
    }
    return id;
}

/* Parse one recorded record (q at its kind letter, eol its end) into op
 * out->op_count. Returns 0, 1 for a line that is not a well-formed record
 * (the caller's message), or -1 with a message in err. */
static int rec_parse(rec_state* st, const char* q, const char* eol, size_t line, trace* out,
                     char* err, size_t err_size) {
    char kind = *q++;
    if (q < eol && *q != ' ' && *q != '\t' && *q != '\r') {
        return 1;
    }
    trace_op op = {0, 0, 0, TRACE_PLAIN};
    trace_rec rec = {0, 0, (uint32_t)(line > UINT32_MAX ? UINT32_MAX : line), 0};
    uint64_t key = 0, key2 = 0, v = 0;
    int64_t id = 0;
    int found;
    switch (kind) {
    case 'A':
        op.kind = TRACE_ALLOC;
        if (read_dash(&q, eol)) {
            if (read_u64(&q, eol, &op.size) || read_u64(&q, eol, &op.align) ||
                read_result(&q, eol, &rec.result) || rec.result == 0) {
                return 1;
            }
            rec.expect = TRACE_NO_OFFSET;
        } else if (read_hex(&q, eol, &key) || read_u64(&q, eol, &op.size) ||
                   read_u64(&q, eol, &op.align) || read_u64(&q, eol, &rec.expect) || key == 0) {
            return 1;
        }
        id = rec_new(st, out, key, line, err, err_size);
        break;
    case 'F':
        op.kind = TRACE_FREE;
        if (read_hex(&q, eol, &key)) {
            return 1;
        }
        if (skip_blanks(q, eol) != eol) {
            if (read_result(&q, eol, &rec.result) || rec.result == 0) {
                return 1;
            }
            break; /* rejected: nothing to replay, whatever the handle */
        }
        id = rec_live(st, key, line, err, err_size);
        if (id >= 0) {
            key_remove(&st->map, key_slot(&st->map, key, &found));
        }
        break;
    case 'R':
        op.kind = TRACE_RESIZE;
        if (read_hex(&q, eol, &key) || read_u64(&q, eol, &op.size) ||
            read_result(&q, eol, &rec.result)) {
            return 1;
        }
        /* OA_ERROR_STALE_HANDLE (-5) and OA_ERROR_INVALID_ARGUMENT (-1, a new
         * size of 0, checked before the handle): nothing to replay. */
        if (rec.result != -5 && rec.result != -1) {
            id = rec_live(st, key, line, err, err_size);
        }
        break;
    case 'G':
        op.kind = TRACE_GROW;
        if (read_u64(&q, eol, &op.size) || read_result(&q, eol, &rec.result)) {
            return 1;
        }
        break;
    case 'X':
        op.kind = TRACE_RESET;
        op.size = st->reset_base;
        id = out->id_count;
        st->reset_base = out->id_count;
        st->map.epoch++;
        st->map.count = 0;
        break;
    case 'P':
        op.kind = TRACE_PLACE;
        if (read_hex(&q, eol, &key) || read_u64(&q, eol, &op.size) ||
            read_u64(&q, eol, &rec.expect) || key == 0 || op.size == 0) {
            return 1;
        }
        id = rec_new(st, out, key, line, err, err_size);
        break;
    case 'M':
        op.kind = TRACE_MOVE;
        if (read_hex(&q, eol, &key) || read_hex(&q, eol, &key2) || read_u64(&q, eol, &v)) {
            return 1;
        }
        op.size = v;
        id = rec_live(st, key, line, err, err_size);
        if (id >= 0) {
            int64_t other = rec_live(st, key2, line, err, err_size);
            if (other < 0) {
                return -1;
            }
            if (other == id) {
                snprintf(err, err_size, "line %zu: an allocation moves into its own place", line);
                return -1;
            }
            rec.other = (uint32_t)other;
        }
        break;
    default:
        return 1;
    }
    if (id < 0) {
        return -1;
    }
    if (skip_blanks(q, eol) != eol) {
        return 1;
    }
    op.id = (uint32_t)id;
    out->rec[out->op_count] = rec;
    out->ops[out->op_count++] = op;
    return 0;
}

int trace_parse(const char* text, size_t len, trace* out, char* err, size_t err_size) {
    memset(out, 0, sizeof *out);
    const char* p = text;
    const char* end = text + len;
    /* One op per line at most: count lines for the array. */
    size_t lines = 1;
    for (const char* q = memchr(p, '\n', len); q != NULL;
         q = memchr(q + 1, '\n', (size_t)(end - q - 1))) {
        lines++;
    }
    out->ops = (trace_op*)malloc(lines * sizeof(trace_op));
    if (out->ops == NULL) {
        snprintf(err, err_size, "out of memory for %zu lines", lines);
        return -1;
    }
    size_t line = 0;
    rec_state st;
    memset(&st, 0, sizeof st);
    int plain = 0; /* an 'a' or 'f' record was seen */
    while (p < end) {
        line++;
        const char* eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL) {
            eol = end;
        }
        const char* q = skip_blanks(p, eol);
        uint64_t id, size, align;
        if (q == eol || *q == '#') {
            /* A blank line or a comment; the first line's comment names the trace. */
            if (q != eol && line == 1) {
                q = skip_blanks(q + 1, eol);
                size_t n = 0;
                while (q + n < eol && q[n] != ' ' && n + 1 < sizeof out->name) {
                    n++;
                }
                memcpy(out->name, q, n);
                out->name[n] = '\0';
            }
            p = eol + 1;
            continue;
        } else if (*q == 'a' && q + 1 < eol && (q[1] == ' ' || q[1] == '\t')) {
            q++;
            if (read_u64(&q, eol, &id) || read_u64(&q, eol, &size) || read_u64(&q, eol, &align) ||
                id > UINT32_MAX - 1 || align == 0) {
                goto bad;
            }
            if (out->rec != NULL) {
                goto mixed;
            }
            plain = 1;
            out->ops[out->op_count++] = (trace_op){size, align, (uint32_t)id, TRACE_PLAIN};
            if (id + 1 > out->id_count) {
                out->id_count = (uint32_t)id + 1;
            }
        } else if (*q == 'f' && q + 1 < eol && (q[1] == ' ' || q[1] == '\t')) {
            q++;
            if (read_u64(&q, eol, &id) || id > UINT32_MAX - 1) {
                goto bad;
            }
            if (out->rec != NULL) {
                goto mixed;
            }
            plain = 1;
            out->ops[out->op_count++] = (trace_op){0, 0, (uint32_t)id, TRACE_PLAIN};
        } else if ((size_t)(eol - q) > 9 && memcmp(q, "capacity", 8) == 0) {
            q += 8;
            if (read_u64(&q, eol, &out->capacity)) {
                goto bad;
            }
        } else if ((size_t)(eol - q) > 12 && memcmp(q, "granularity", 11) == 0) {
            q += 11;
            if (read_u64(&q, eol, &out->granularity) || out->granularity == 0) {
                goto bad;
            }
            if (out->op_count != 0) {
                snprintf(err, err_size, "line %zu: granularity after the first operation", line);
                goto fail;
            }
        } else if (*q >= 'A' && *q <= 'Z') {
            if (plain) {
                goto mixed;
            }
            if (out->rec == NULL && rec_init(&st, out, lines)) {
                snprintf(err, err_size, "out of memory for %zu lines", lines);
                goto fail;
            }
            int r = rec_parse(&st, q, eol, line, out, err, err_size);
            if (r < 0) {
                goto fail;
            }
            if (r > 0) {
                goto bad;
            }
            p = eol + 1;
            continue;
        } else {
            goto bad;
        }
        if (skip_blanks(q, eol) != eol) {
            goto bad;
        }
        p = eol + 1;
        continue;
    bad:
        snprintf(err, err_size, "line %zu: not a trace record", line);
        goto fail;
    mixed:
        snprintf(err, err_size,
                 "line %zu: 'a' and 'f' records do not mix with recorded ones (A, F, R, G, X, P, "
                 "M)",
                 line);
    fail:
        rec_done(&st);
        trace_free(out);
        return -1;
    }
    rec_done(&st);
    /* Frees must name ids that were allocated before them. */
    for (size_t i = 0; i < out->op_count && out->rec == NULL; i++) {
        if (out->ops[i].align == 0 && out->ops[i].id >= out->id_count) {
            snprintf(err, err_size, "free of id %u that was never allocated", out->ops[i].id);
            trace_free(out);
            return -1;
        }
    }
    return 0;
}

int trace_load(const char* path, trace* out, char* err, size_t err_size) {
    FILE* f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "cannot open %s", path);
        return -1;
    }
    size_t cap = 1 << 20, len = 0;
    char* buf = (char*)malloc(cap);
    for (;;) {
        if (buf == NULL) {
            snprintf(err, err_size, "out of memory reading %s", path);
            if (f != stdin) {
                fclose(f);
            }
            return -1;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (len < cap) {
            break;
        }
        cap *= 2;
        char* grown = (char*)realloc(buf, cap);
        if (grown == NULL) {
            free(buf);
        }
        buf = grown;
    }
    int bad = ferror(f);
    if (f != stdin) {
        fclose(f);
    }
    if (bad) {
        free(buf);
        snprintf(err, err_size, "read error on %s", path);
        return -1;
    }
    int r = trace_parse(buf, len, out, err, err_size);
    free(buf);
    return r;
}

void trace_free(trace* t) {
    free(t->ops);
    free(t->rec);
    memset(t, 0, sizeof *t);
}
