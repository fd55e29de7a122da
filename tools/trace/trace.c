/* trace.c - reads allocation traces fast: the whole file in one buffer, then
 * a hand-written scanner (no per-line stdio). Millions of lines parse in well
 * under a second. The generator lives in tracegen.c. */
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
            out->ops[out->op_count++] = (trace_op){size, align, (uint32_t)id};
            if (id + 1 > out->id_count) {
                out->id_count = (uint32_t)id + 1;
            }
        } else if (*q == 'f' && q + 1 < eol && (q[1] == ' ' || q[1] == '\t')) {
            q++;
            if (read_u64(&q, eol, &id) || id > UINT32_MAX - 1) {
                goto bad;
            }
            out->ops[out->op_count++] = (trace_op){0, 0, (uint32_t)id};
        } else if ((size_t)(eol - q) > 9 && memcmp(q, "capacity", 8) == 0) {
            q += 8;
            if (read_u64(&q, eol, &out->capacity)) {
                goto bad;
            }
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
        trace_free(out);
        return -1;
    }
    /* Frees must name ids that were allocated before them. */
    for (size_t i = 0; i < out->op_count; i++) {
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
    memset(t, 0, sizeof *t);
}
