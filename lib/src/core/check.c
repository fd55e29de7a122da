/* check.c - the integrity checker, oa_allocator_check().
 * Walks the address chain, the spare list, the idle queue and every bin's
 * tree (an AVL tree, or an exact-size bin's trie), and compares them with
 * each other and with the counters. Reads
 * only; bounds every loop and every descent by the table size or the deepest
 * valid tree, so that a corrupt table cannot hang or crash it.
 * Invariant it checks: see the comment of oa_allocator_check in orderly.h. */
#include "oa_internal.h"

/* An AVL tree of 2^31 nodes is at most 45 deep: deeper is corrupt. */
#define OA__CHECK_MAX_DEPTH 48u

static bool oa__slot_ok(const oa_allocator* a, uint32_t s) {
    return s != OA__NIL && s < a->slot_count;
}

/* Is free record `x` reachable by a key search in its bin? */
static bool oa__index_finds(const oa_allocator* a, uint32_t x) {
    uint32_t bin = oa__bin_of(oa__rec(a, x)->size);
    uint32_t n = a->bin_root[bin];
    if (bin < OA__LINEAR_SIZE) {
        /* A trie: bit (top - depth) of the offset picks the child. */
        uint64_t key = oa__rec(a, x)->offset;
        for (uint32_t bit = a->bin_top_bit[bin]; n != OA__NIL && bit < 64; bit--) {
            if (n == x) {
                return true;
            }
            if (!oa__slot_ok(a, n)) {
                return false;
            }
            n = oa__rec(a, n)->link[(key >> bit) & 1u] & OA__LINK;
        }
        return n == x;
    }
    for (uint32_t depth = 0; n != OA__NIL && depth < OA__CHECK_MAX_DEPTH; depth++) {
        if (n == x) {
            return true;
        }
        if (!oa__slot_ok(a, n)) {
            return false;
        }
        const oa__region* r = oa__rec(a, n);
        bool less = oa__rec(a, x)->size < r->size ||
                    (oa__rec(a, x)->size == r->size && oa__rec(a, x)->offset < r->offset);
        n = (less ? r->left : r->right) & OA__LINK;
    }
    return false;
}

typedef struct oa__chain_counts {
    uint64_t free_bytes, used, free, dust;
} oa__chain_counts;

static oa_result oa__check_chain(const oa_allocator* a, oa__chain_counts* out) {
    uint64_t expect = 0;
    uint32_t prev = OA__NIL;
    bool prev_free = false;
    uint32_t s = a->head;
    if (!oa__slot_ok(a, s)) {
        return OA_ERROR_CORRUPT_LINKS;
    }
    for (uint32_t steps = 0; s != OA__NIL; steps++) {
        if (!oa__slot_ok(a, s) || steps >= a->slot_count) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        const oa__region* r = oa__rec(a, s);
        uint32_t state = oa__state(r);
        if (r->prev != prev || (state != OA__ST_FREE && state != OA__ST_USED)) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        if (r->size == 0 || r->offset != expect || r->size > a->capacity - expect) {
            return OA_ERROR_CORRUPT_TILING;
        }
        bool is_free = state == OA__ST_FREE;
        if (is_free) {
            if (prev_free) {
                return OA_ERROR_CORRUPT_ADJACENT_FREE;
            }
            if (oa__is_dust(r)) {
                if (r->size >= a->dust_limit) {
                    return OA_ERROR_CORRUPT_INDEX;
                }
                out->dust++;
            } else if (!oa__index_finds(a, s)) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            out->free_bytes += r->size;
            out->free++;
        } else {
            /* A live generation lies within the ages handed out. */
            if (r->left - a->base > a->age_max_seen) {
                return OA_ERROR_CORRUPT_COUNTS;
            }
            out->used++;
        }
        expect += r->size;
        prev_free = is_free;
        prev = s;
        s = oa__next(r);
    }
    if (expect != a->capacity) {
        return OA_ERROR_CORRUPT_TILING;
    }
    if (prev != a->tail) {
        return OA_ERROR_CORRUPT_LINKS;
    }
    return OA_SUCCESS;
}

/* The dust lists: doubly linked, every member a dust record of its list's
 * size linked into the address chain, as many as the chain holds. */
static oa_result oa__check_dust(const oa_allocator* a, uint64_t chain_dust) {
    uint64_t count = 0;
    for (uint32_t bin = 0; bin < OA__LINEAR_SIZE; bin++) {
        bool bit = (a->dust_bitmap[bin >> 6] >> (bin & 63)) & 1u;
        uint32_t head = bit ? a->dust_head[bin] : OA__NIL;
        if ((bit && head == OA__NIL) || (bit && bin >= a->dust_limit)) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        uint32_t prev = OA__NIL;
        for (uint32_t x = head; x != OA__NIL; x = oa__rec(a, x)->right & OA__LINK) {
            if (!oa__slot_ok(a, x) || ++count > chain_dust) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            const oa__region* r = oa__rec(a, x);
            if (!oa__is_free(r) || !oa__is_dust(r) || r->size != bin ||
                (r->left & OA__LINK) != prev) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            uint32_t p = r->prev, n = oa__next(r);
            bool linked_before =
                p == OA__NIL ? a->head == x : oa__slot_ok(a, p) && oa__next(oa__rec(a, p)) == x;
            bool linked_after =
                n == OA__NIL ? a->tail == x : oa__slot_ok(a, n) && oa__rec(a, n)->prev == x;
            if (!linked_before || !linked_after) {
                return OA_ERROR_CORRUPT_LINKS;
            }
            prev = x;
        }
    }
    return count == chain_dust ? OA_SUCCESS : OA_ERROR_CORRUPT_COUNTS;
}

/* The spare list and the idle queue: bounded lists of unused records. */
static oa_result oa__check_lists(const oa_allocator* a, uint64_t* out_unused) {
    uint64_t spare = 0, idle = 0;
    for (uint32_t s = a->spare_head; s != OA__NIL; s = oa__rec(a, s)->left) {
        if (!oa__slot_ok(a, s) || oa__state(oa__rec(a, s)) != OA__ST_UNUSED ||
            ++spare > a->slot_count) {
            return OA_ERROR_CORRUPT_LINKS;
        }
    }
    uint32_t last = OA__NIL;
    for (uint32_t s = a->idle_head; s != OA__NIL; s = oa__rec(a, s)->left) {
        if (!oa__slot_ok(a, s) || oa__state(oa__rec(a, s)) != OA__ST_IDLE ||
            ++idle > a->slot_count) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        if (oa__rec(a, s)->right >= OA__AGE_MAX || oa__rec(a, s)->right > a->age_max_seen) {
            return OA_ERROR_CORRUPT_COUNTS;
        }
        last = s;
    }
    if (last != a->idle_tail) {
        return OA_ERROR_CORRUPT_LINKS;
    }
    if (spare != a->spare_count || idle != a->idle_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    *out_unused = spare + idle;
    return OA_SUCCESS;
}

typedef struct oa__tree_walk {
    const oa_allocator* a;
    uint32_t bin;
    uint64_t nodes, max_nodes;
    const oa__region* last; /* previous node in order */
    uint32_t leftmost;
    uint64_t classes[OA__COUNTED_CLASSES];
} oa__tree_walk;

/* Height of the AVL subtree at n (0 for none) of a bin of 1 KiB and up
 * (exact-size bins are tries: oa__check_trie), or -1 if it breaks an
 * invariant: nodes are free records of this bin in strictly increasing (size, offset)
 * order, and each balance mark is the difference of its subtrees' heights. */
static int oa__check_subtree(oa__tree_walk* w, uint32_t n, uint32_t depth) {
    if (n == OA__NIL) {
        return 0;
    }
    const oa_allocator* a = w->a;
    if (!oa__slot_ok(a, n) || depth >= OA__CHECK_MAX_DEPTH || ++w->nodes > w->max_nodes) {
        return -1;
    }
    const oa__region* r = oa__rec(a, n);
    if (!oa__is_free(r) || r->size == 0 || r->size < a->dust_limit ||
        oa__bin_of(r->size) != w->bin) {
        return -1;
    }
    if ((r->left & OA__FLAG) != 0 && (r->right & OA__FLAG) != 0) {
        return -1;
    }
    int hl = oa__check_subtree(w, r->left & OA__LINK, depth + 1);
    if (hl < 0) {
        return -1;
    }
    if (w->last == NULL) {
        w->leftmost = n;
    } else if (!(w->last->size < r->size ||
                 (w->last->size == r->size && w->last->offset < r->offset))) {
        return -1;
    }
    w->last = r;
    uint32_t c = oa__class_of(r->offset + r->size);
    if (c < OA__COUNTED_CLASSES) {
        w->classes[c]++;
    }
    int hr = oa__check_subtree(w, r->right & OA__LINK, depth + 1);
    if (hr < 0) {
        return -1;
    }
    int bal = (int)(r->right >> 31) - (int)(r->left >> 31);
    if (hr - hl != bal) {
        return -1;
    }
    return 1 + (hl > hr ? hl : hr);
}

/* The trie of exact-size bin w->bin under n (index.c), whose keys all lie
 * in [lo, lo + 2^span) (span 64: any key); false if it breaks an invariant:
 * nodes are free records of this bin with no balance marks, each in its
 * range, a left child's range the lower half of its parent's and a right
 * child's the upper half. The smallest key goes to w->leftmost. */
static bool oa__check_trie(oa__tree_walk* w, uint32_t n, uint32_t span, uint64_t lo) {
    if (n == OA__NIL) {
        return true;
    }
    const oa_allocator* a = w->a;
    if (!oa__slot_ok(a, n) || ++w->nodes > w->max_nodes) {
        return false;
    }
    const oa__region* r = oa__rec(a, n);
    if (!oa__is_free(r) || r->size != w->bin || r->size < a->dust_limit ||
        ((r->left | r->right) & OA__FLAG) != 0) {
        return false;
    }
    if (r->offset < lo || (span < 64 && (r->offset - lo) >> span != 0)) {
        return false;
    }
    if (((a->bin_residues[w->bin] >> (r->offset & 15u)) & 1u) == 0) {
        return false; /* the residue filter would hide it */
    }
    if (w->leftmost == OA__NIL || r->offset < oa__rec(a, w->leftmost)->offset) {
        w->leftmost = n;
    }
    uint32_t c = oa__class_of(r->offset + r->size);
    if (c < OA__COUNTED_CLASSES) {
        w->classes[c]++;
    }
    if (span == 0) {
        return (r->left | r->right) == OA__NIL; /* a range of one key holds n alone */
    }
    return oa__check_trie(w, r->left, span - 1u, lo) &&
           oa__check_trie(w, r->right, span - 1u, lo + (1ull << (span - 1u)));
}

static oa_result oa__check_bins(const oa_allocator* a, uint64_t free_regions) {
    uint64_t nodes = 0;
    for (uint32_t w = 0; w < OA__BITMAP_WORDS; w++) {
        if ((a->bitmap[w] != 0) != (((a->bitmap_words >> w) & 1u) != 0)) {
            return OA_ERROR_CORRUPT_INDEX;
        }
    }
    if ((a->bitmap_words >> (OA__BITMAP_WORDS - 1) >> 1) != 0) {
        return OA_ERROR_CORRUPT_INDEX;
    }
    for (uint32_t bin = 0; bin < OA__BIN_COUNT; bin++) {
        bool bit = (a->bitmap[bin >> 6] >> (bin & 63)) & 1u;
        uint32_t root = bit ? a->bin_root[bin] : OA__NIL;
        if (bit && root == OA__NIL) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        oa__tree_walk w = {a, bin, 0, free_regions - nodes, NULL, OA__NIL, {0}};
        if (bin < OA__LINEAR_SIZE) {
            if (root != OA__NIL && (a->bin_top_bit[bin] > 63 ||
                                    !oa__check_trie(&w, root, a->bin_top_bit[bin] + 1u, 0))) {
                return OA_ERROR_CORRUPT_INDEX;
            }
        } else if (root != OA__NIL && oa__check_subtree(&w, root, 0) < 0) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        if (bit && a->bin_first[bin] != w.leftmost) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        for (uint32_t c = 0; c < OA__COUNTED_CLASSES; c++) {
            bool cbit = (a->class_bitmap[c][bin >> 6] >> (bin & 63)) & 1u;
            uint16_t k = cbit ? a->class_count[c][bin] : 0;
            bool count_ok = k == OA__COUNT_STUCK ? root != OA__NIL : k == w.classes[c];
            if (!count_ok || cbit != (k != 0)) {
                return OA_ERROR_CORRUPT_INDEX;
            }
        }
        nodes += w.nodes;
    }
    /* Every free region of the chain was found by key, keys are distinct,
     * and the trees hold as many nodes: they hold nothing else. */
    return nodes == free_regions ? OA_SUCCESS : OA_ERROR_CORRUPT_INDEX;
}

oa_result oa_allocator_check(const oa_allocator* a) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (a->regions == NULL || a->slot_count < 2 || a->slot_count > a->slot_capacity ||
        a->granularity == 0 || a->dust_limit > OA__LINEAR_SIZE || (a->is_fixed && a->dust_limit)) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    oa__chain_counts cc = {0, 0, 0, 0};
    oa_result res = oa__check_chain(a, &cc);
    if (res != OA_SUCCESS) {
        return res;
    }
    if (cc.free_bytes != a->total_free || cc.used != a->allocation_count ||
        cc.free != a->free_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    res = oa__check_dust(a, cc.dust);
    if (res != OA_SUCCESS) {
        return res;
    }
    uint64_t unused = 0;
    res = oa__check_lists(a, &unused);
    if (res != OA_SUCCESS) {
        return res;
    }
    if (cc.used + cc.free + unused + 1 != a->slot_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    return oa__check_bins(a, cc.free - cc.dust);
}
