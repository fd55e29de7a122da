/* index.c - the size index over free regions and the exact best-fit search.
 *
 * What is indexed: every free region, in one of OA__BIN_COUNT size bins (one
 * per exact size below OA__LINEAR_SIZE, 1 KiB, then OA__SUB_BINS, 32, per
 * power of two). Each bin caches its first (smallest) region, and an
 * occupancy bitmap with a summary word (bit w: bitmap word w is non-empty)
 * finds the next non-empty bin in two bit scans. Within its bin:
 *  - A bin of many sizes (1 KiB and up) is an AVL tree ordered by (size,
 *    offset). The trees need no parent links and no priorities: children
 *    are slot indices in the record's left/right fields, and bit 31 of each
 *    says which side is taller. AVL depth is at most 1.44 log2(n + 2), so no
 *    sequence of calls can unbalance a tree: insert and remove are O(log n)
 *    in the worst case, with at most two rotations on insert and O(log n) on
 *    remove.
 *  - An exact-size bin holds one size, so the offset alone orders it, and it
 *    is a trie on the offset (see "tries" below): a node at depth d branches
 *    on one bit of the offset, so no path holds more than 65 nodes, whatever
 *    the input, and insert and remove need no rotation and no retracing.
 *    That is most of the work in a pool of small regions: in fixed mode the
 *    1 to 3 byte pads that alignment leaves behind sit in these bins
 *    (tests/bench/NOTES.md).
 *
 * Alignment. A free region [o, e) holds (size s, alignment A) iff
 * round_up(o, A) + s <= e. When e is a multiple of A, that is exactly
 * "size >= round_up(s, A)", a plain lower bound with no walk. So each bin
 * also counts its regions by end class: the class of a region is how many of
 * the thresholds 2^2, 2^4, 2^6, 2^8, 2^12, 2^16 divide its end offset (a
 * region whose end is a multiple of 2^16 is class 6 and is not counted). For
 * a power-of-two A = 2^k with k <= 16, a region whose class reaches the first
 * threshold >= 2^k is "safe": it fits iff its size is at least
 * round_up(s, A). The search visits bins in increasing order:
 *  - below the bin of round_up(s, A), only bins holding an unsafe region
 *    (found through per-class bitmaps), whose regions are walked in order;
 *  - from there on, every non-empty bin: a bin with no unsafe region gives
 *    its answer by one lower bound at round_up(s, A), a bin with one is
 *    walked from s;
 *  - a bin whose smallest size is at least s + A - 1 gives its first region
 *    (any region that large fits).
 * The first region that fits in this order is the exact best fit (smallest
 * size, then lowest offset). A walked exact-size bin is searched depth first
 * for its lowest offset that fits, skipping every subtree whose offsets all
 * lie above the best one found, or (power-of-two alignments) none of whose
 * offsets lies within the spare bytes below a multiple of the alignment.
 * Cost: O(log n) plus one step per free region
 * of size in [s, s + A - 1) that cannot hold the request and lies in a bin
 * holding an unsafe region; in a pool where free regions end on aligned
 * allocations (one alignment, or alignments that divide each other in
 * ascending class), that is O(log n). Alignments that are not powers of two,
 * or above 2^16, walk every non-empty bin from s: O(log n) plus one step per
 * free region of size in [s, s + A - 1) that cannot hold the request.
 * (Here and below, O(log n) for an exact-size bin means at most 65 steps.)
 * Does not split or merge regions (alloc.c does).
 * Invariant: bitmap bit b is set iff bin b's tree is non-empty, and
 * bitmap_words bit w iff bitmap[w] != 0; class bit
 * (c, b) is set iff class_count[c][b] > 0; bin_first[b] is the tree's
 * smallest node. A bin's root, first, top bit, class counts and dust list
 * are valid only while its bit is set, so creating and resetting an
 * allocator clears the bitmaps alone (about 3 KB), not the tables behind
 * them. */
#include "oa_internal.h"

#include <string.h>

/* ---- keys ---- */
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 oa__key;
OA__INLINE oa__key oa__key_of(const oa__region* r) {
    return ((oa__key)r->size << 64) | r->offset;
}
OA__INLINE bool oa__key_less(const oa__region* x, const oa__region* y) {
    return oa__key_of(x) < oa__key_of(y);
}
#else
OA__INLINE bool oa__key_less(const oa__region* x, const oa__region* y) {
    return x->size < y->size || (x->size == y->size && x->offset < y->offset);
}
#endif

/* ---- tree links: child d (0 left, 1 right); bit 31 of link[d] marks side
 * d as the taller one (neither: balanced) ---- */
OA__INLINE uint32_t oa__child(const oa_allocator* a, uint32_t n, uint32_t d) {
    return oa__rec(a, n)->link[d] & OA__LINK;
}
OA__INLINE void oa__set_child(const oa_allocator* a, uint32_t n, uint32_t d, uint32_t c) {
    oa__rec(a, n)->link[d] = (oa__rec(a, n)->link[d] & OA__FLAG) | c;
}
/* -1 left-heavy, 0 balanced, +1 right-heavy. */
OA__INLINE int oa__bal(const oa_allocator* a, uint32_t n) {
    return (int)(oa__rec(a, n)->right >> 31) - (int)(oa__rec(a, n)->left >> 31);
}
OA__INLINE void oa__set_bal(const oa_allocator* a, uint32_t n, int b) {
    oa__rec(a, n)->left = (oa__rec(a, n)->left & OA__LINK) | (b < 0 ? OA__FLAG : 0u);
    oa__rec(a, n)->right = (oa__rec(a, n)->right & OA__LINK) | (b > 0 ? OA__FLAG : 0u);
}

typedef struct oa__path {
    uint32_t node[OA__TREE_STACK];
    uint32_t dir[OA__TREE_STACK];
} oa__path;

/* Point whatever led to path position `i` (the root or node[i-1]'s child) at c. */
OA__INLINE void oa__relink(oa_allocator* a, uint32_t bin, const oa__path* p, uint32_t i,
                           uint32_t c) {
    if (i == 0) {
        a->bin_root[bin] = c;
    } else {
        oa__set_child(a, p->node[i - 1], p->dir[i - 1], c);
    }
}

/* Rebalance node n whose side d is two levels taller than the other. Returns
 * the new subtree root; *out_shorter tells whether the subtree lost height
 * (it always does after an insert; after a remove not when the child was
 * balanced). */
static uint32_t oa__rotate(const oa_allocator* a, uint32_t n, uint32_t d, bool* out_shorter) {
    uint32_t o = 1u - d;
    int sign = d != 0 ? 1 : -1;
    uint32_t c = oa__child(a, n, d);
    int cb = oa__bal(a, c);
    if (cb != -sign) {
        /* Single rotation: c comes up. */
        oa__set_child(a, n, d, oa__child(a, c, o));
        oa__set_child(a, c, o, n);
        if (cb == 0) {
            oa__set_bal(a, n, sign);
            oa__set_bal(a, c, -sign);
            *out_shorter = false;
        } else {
            oa__set_bal(a, n, 0);
            oa__set_bal(a, c, 0);
            *out_shorter = true;
        }
        return c;
    }
    /* Double rotation: c's inner child g comes up. */
    uint32_t g = oa__child(a, c, o);
    int gb = oa__bal(a, g);
    oa__set_child(a, c, o, oa__child(a, g, d));
    oa__set_child(a, g, d, c);
    oa__set_child(a, n, d, oa__child(a, g, o));
    oa__set_child(a, g, o, n);
    oa__set_bal(a, n, gb == sign ? -sign : 0);
    oa__set_bal(a, c, gb == -sign ? sign : 0);
    oa__set_bal(a, g, 0);
    *out_shorter = true;
    return g;
}

/* ---- bins and classes ---- */
OA__INLINE void oa__bit_set(uint64_t* map, uint32_t bin) {
    map[bin >> 6] |= 1ull << (bin & 63);
}
OA__INLINE void oa__bit_clear(uint64_t* map, uint32_t bin) {
    map[bin >> 6] &= ~(1ull << (bin & 63));
}

OA__INLINE bool oa__bit_test(const uint64_t* map, uint32_t bin) {
    return (map[bin >> 6] >> (bin & 63)) & 1u;
}

OA__INLINE void oa__class_add(oa_allocator* a, uint32_t bin, const oa__region* r) {
    uint32_t c = oa__class_of(r->offset + r->size);
    if (c < OA__COUNTED_CLASSES) {
        uint16_t* k = &a->class_count[c][bin];
        if (!oa__bit_test(a->class_bitmap[c], bin)) {
            oa__bit_set(a->class_bitmap[c], bin);
            *k = 1;
        } else if (*k != OA__COUNT_STUCK) {
            (*k)++;
        }
    }
}
OA__INLINE void oa__class_sub(oa_allocator* a, uint32_t bin, const oa__region* r) {
    uint32_t c = oa__class_of(r->offset + r->size);
    if (c < OA__COUNTED_CLASSES) {
        uint16_t* k = &a->class_count[c][bin];
        if (*k != OA__COUNT_STUCK && --*k == 0) {
            oa__bit_clear(a->class_bitmap[c], bin);
        }
    }
}
/* A bin that empties forgets stuck counts. */
static void oa__classes_unstick(oa_allocator* a, uint32_t bin) {
    for (uint32_t c = 0; c < OA__COUNTED_CLASSES; c++) {
        if (oa__bit_test(a->class_bitmap[c], bin) && a->class_count[c][bin] == OA__COUNT_STUCK) {
            oa__bit_clear(a->class_bitmap[c], bin);
        }
    }
}

/* Bin `bin`'s tree has just lost its last node. */
static void oa__bin_emptied(oa_allocator* a, uint32_t bin) {
    oa__bit_clear(a->bitmap, bin);
    if (a->bitmap[bin >> 6] == 0) {
        a->bitmap_words &= ~(1ull << (bin >> 6));
    }
    oa__classes_unstick(a, bin);
}

void oa__index_clear(oa_allocator* a) {
    memset(a->dust_bitmap, 0, sizeof a->dust_bitmap);
    a->dust_limit = a->is_fixed ? 0 : OA__LINEAR_SIZE;
    memset(a->bitmap, 0, sizeof a->bitmap);
    a->bitmap_words = 0;
    memset(a->class_bitmap, 0, sizeof a->class_bitmap);
}

/* Forced inline: -O3 keeps it out of line, and the call costs more than the
 * copies (tests/bench/NOTES.md). */
OA__INLINE void oa__tree_insert(oa_allocator* a, uint32_t bin, uint32_t x) {
    oa__rec(a, x)->left = OA__NIL;
    oa__rec(a, x)->right = OA__NIL;
    if (!oa__bit_test(a->bitmap, bin)) {
        a->bin_root[bin] = x;
        a->bin_first[bin] = x;
        oa__bit_set(a->bitmap, bin);
        a->bitmap_words |= 1ull << (bin >> 6);
        return;
    }
    uint32_t n = a->bin_root[bin];
    oa__path p;
    uint32_t depth = 0;
    if (oa__key_less(oa__rec(a, x), oa__rec(a, a->bin_first[bin]))) {
        a->bin_first[bin] = x;
    }
#if defined(__SIZEOF_INT128__)
    oa__key key = oa__key_of(oa__rec(a, x));
#endif
    do {
        OA_ASSERT(depth < OA__TREE_STACK);
#if defined(__SIZEOF_INT128__)
        uint32_t d = (uint32_t)(key > oa__key_of(oa__rec(a, n)));
#else
        uint32_t d = oa__key_less(oa__rec(a, x), oa__rec(a, n)) ? 0u : 1u;
#endif
        p.node[depth] = n;
        p.dir[depth] = d;
        depth++;
        n = oa__rec(a, n)->link[d] & OA__LINK;
    } while (n != OA__NIL);
    oa__set_child(a, p.node[depth - 1], p.dir[depth - 1], x);
    /* Retrace: the subtree at each step grew by one level on side d. */
    for (uint32_t i = depth; i-- > 0;) {
        uint32_t q = p.node[i], d = p.dir[i];
        uint32_t* link = oa__rec(a, q)->link;
        if (link[1u - d] & OA__FLAG) { /* the other side was taller: now level */
            link[1u - d] &= OA__LINK;
            return;
        }
        if ((link[d] & OA__FLAG) == 0) { /* was level: side d is taller now */
            link[d] |= OA__FLAG;
            continue;
        }
        bool shorter;
        uint32_t top = oa__rotate(a, q, d, &shorter);
        oa__relink(a, bin, &p, i, top);
        return;
    }
}

static void oa__tree_remove(oa_allocator* a, uint32_t bin, uint32_t x) {
    oa__path p;
    uint32_t depth = 0;
    uint32_t n = a->bin_root[bin];
#if defined(__SIZEOF_INT128__)
    oa__key key = oa__key_of(oa__rec(a, x));
#endif
    if (a->bin_first[bin] == x) {
        /* The first node is the leftmost: its path is the left spine. */
        while (n != x) {
            OA_ASSERT(n != OA__NIL && depth < OA__TREE_STACK);
            p.node[depth] = n;
            p.dir[depth] = 0;
            depth++;
            n = oa__rec(a, n)->left & OA__LINK;
        }
    }
    while (n != x) {
        OA_ASSERT(n != OA__NIL && depth < OA__TREE_STACK);
#if defined(__SIZEOF_INT128__)
        uint32_t d = (uint32_t)(key > oa__key_of(oa__rec(a, n)));
#else
        uint32_t d = oa__key_less(oa__rec(a, x), oa__rec(a, n)) ? 0u : 1u;
#endif
        p.node[depth] = n;
        p.dir[depth] = d;
        depth++;
        n = oa__rec(a, n)->link[d] & OA__LINK;
    }
    uint32_t xl = oa__child(a, x, 0), xr = oa__child(a, x, 1);
    if (a->bin_first[bin] == x) {
        /* x is leftmost: its successor is the leftmost of its right subtree,
         * or its parent. */
        uint32_t s = xr;
        if (s != OA__NIL) {
            while (oa__child(a, s, 0) != OA__NIL) {
                s = oa__child(a, s, 0);
            }
        } else {
            s = depth > 0 ? p.node[depth - 1] : OA__NIL;
        }
        a->bin_first[bin] = s;
    }
    if (xl != OA__NIL && xr != OA__NIL) {
        /* Two children: the successor s takes x's place in the tree, and x
         * takes s's old place, where it has no left child. */
        uint32_t at = depth; /* x's position on the path */
        p.dir[at] = 1;
        uint32_t i = at + 1;
        uint32_t s = xr;
        while (oa__child(a, s, 0) != OA__NIL) {
            OA_ASSERT(i < OA__TREE_STACK);
            p.node[i] = s;
            p.dir[i] = 0;
            i++;
            s = oa__child(a, s, 0);
        }
        int xb = oa__bal(a, x), sb = oa__bal(a, s);
        uint32_t sr = oa__child(a, s, 1);
        oa__relink(a, bin, &p, at, s);
        p.node[at] = s;
        oa__set_child(a, s, 0, xl);
        if (i == at + 1) {
            oa__set_child(a, s, 1, x);
        } else {
            oa__set_child(a, s, 1, xr);
            oa__set_child(a, p.node[i - 1], 0, x);
        }
        oa__set_bal(a, s, xb);
        oa__rec(a, x)->left = OA__NIL;
        oa__rec(a, x)->right = sr;
        oa__set_bal(a, x, sb);
        depth = i;
        xl = OA__NIL;
        xr = sr;
    }
    /* x has at most one child: splice it out. */
    oa__relink(a, bin, &p, depth, xl != OA__NIL ? xl : xr);
    /* Retrace: the subtree on side d of each step lost one level. */
    for (uint32_t i = depth; i-- > 0;) {
        uint32_t q = p.node[i], d = p.dir[i];
        uint32_t* link = oa__rec(a, q)->link;
        if (link[d] & OA__FLAG) { /* side d was taller: now level, and shorter */
            link[d] &= OA__LINK;
            continue;
        }
        if ((link[1u - d] & OA__FLAG) == 0) { /* was level: the other side is taller now */
            link[1u - d] |= OA__FLAG;
            break;
        }
        bool shorter;
        uint32_t top = oa__rotate(a, q, 1u - d, &shorter);
        oa__relink(a, bin, &p, i, top);
        if (!shorter) {
            break;
        }
    }
    if (a->bin_root[bin] == OA__NIL) {
        oa__bin_emptied(a, bin);
    }
}

/* ---- tries: the exact-size bins ----
 * Every region of an exact-size bin has the bin's size, so the offset alone
 * orders the bin, and its tree is a digital search tree (a binary trie whose
 * every node holds a key) on the offset: the root branches on bit t =
 * bin_top_bit[bin], a node at depth d on bit t - d (0: left, 1: right). So a
 * node at depth d shares its first d bits (from bit t down) with the path to
 * it, every key of its left subtree is below every key of its right subtree,
 * and its own key may lie anywhere in its subtree's range. Keys are distinct
 * (the regions are disjoint), so no path holds more than t + 2 <= 65 nodes,
 * whatever the order of inserts and removes: insert and remove are O(t) with
 * no rotation, no balance bits and no path to keep. The smallest key lies on
 * the path that takes the left child wherever there is one, so the cached
 * first region is found again in O(t) when it leaves. */

/* The top bit for a bin that `key` starts: that of the largest offset the
 * pool holds now, or of the key (oa_grow_capacity inserts the new bytes
 * before it raises the capacity). */
OA__INLINE uint32_t oa__first_top_bit(const oa_allocator* a, uint64_t key) {
    uint64_t last = a->capacity - 1 > key ? a->capacity - 1 : key;
    return last != 0 ? oa__log2_64(last) : 0u;
}

/* Smallest key of the trie under n (not NIL). */
static uint32_t oa__trie_min(const oa_allocator* a, uint32_t n) {
    uint32_t m = n;
    uint64_t least = oa__rec(a, n)->offset;
    for (;;) {
        const oa__region* r = oa__rec(a, n);
        if (r->offset < least) {
            m = n;
            least = r->offset;
        }
        if (r->left != OA__NIL) {
            n = r->left;
        } else if (r->right != OA__NIL) {
            n = r->right;
        } else {
            return m;
        }
    }
}

/* Take a leaf out of the non-empty trie whose root `*at` points at; returns
 * it. */
static uint32_t oa__trie_take_leaf(oa_allocator* a, uint32_t* at) {
    uint32_t m = *at;
    for (;;) {
        oa__region* r = oa__rec(a, m);
        if (r->left != OA__NIL) {
            at = &r->left;
        } else if (r->right != OA__NIL) {
            at = &r->right;
        } else {
            break;
        }
        m = *at;
    }
    *at = OA__NIL;
    return m;
}

/* The pool grew past a power of two (oa_grow_capacity) and a key above the
 * bin's top bit comes in: raise the top bit to `top`. The keys already in
 * the trie are 0 in every bit above the old top, so the old trie is valid
 * again `top - old` levels down the left spine, and that many of its leaves
 * (any of its keys may sit there) move up to fill the levels above it.
 * O(64 * 64) steps at most, once per bin and power of two of growth. */
static void oa__trie_raise(oa_allocator* a, uint32_t bin, uint32_t top) {
    uint32_t levels = top - a->bin_top_bit[bin];
    uint32_t chain[64];
    uint32_t k = 0;
    while (k < levels && a->bin_root[bin] != OA__NIL) {
        chain[k++] = oa__trie_take_leaf(a, &a->bin_root[bin]);
    }
    uint32_t below = a->bin_root[bin];
    for (uint32_t i = k; i-- > 0;) {
        oa__rec(a, chain[i])->left = below;
        oa__rec(a, chain[i])->right = OA__NIL;
        below = chain[i];
    }
    a->bin_root[bin] = below;
    a->bin_top_bit[bin] = (uint8_t)top;
}

OA__INLINE void oa__trie_insert(oa_allocator* a, uint32_t bin, uint32_t x) {
    oa__region* rx = oa__rec(a, x);
    rx->left = OA__NIL;
    rx->right = OA__NIL;
    uint64_t key = rx->offset;
    uint16_t residue = (uint16_t)(1u << (key & 15u));
    if (!oa__bit_test(a->bitmap, bin)) {
        a->bin_root[bin] = x;
        a->bin_first[bin] = x;
        a->bin_residues[bin] = residue;
        a->bin_top_bit[bin] = (uint8_t)oa__first_top_bit(a, key);
        oa__bit_set(a->bitmap, bin);
        a->bitmap_words |= 1ull << (bin >> 6);
        return;
    }
    a->bin_residues[bin] |= residue;
    if (key < oa__rec(a, a->bin_first[bin])->offset) {
        a->bin_first[bin] = x;
    }
    uint32_t t = a->bin_top_bit[bin];
    if (OA__UNLIKELY((key >> t) > 1u)) {
        t = oa__log2_64(key);
        oa__trie_raise(a, bin, t);
    }
    uint32_t* at = &oa__rec(a, a->bin_root[bin])->link[(key >> t) & 1u];
    while (*at != OA__NIL) {
        OA_ASSERT(t > 0);
        t--;
        at = &oa__rec(a, *at)->link[(key >> t) & 1u];
    }
    *at = x;
}

static void oa__trie_remove(oa_allocator* a, uint32_t bin, uint32_t x) {
    uint64_t key = oa__rec(a, x)->offset;
    uint32_t t = a->bin_top_bit[bin];
    uint32_t* at = &a->bin_root[bin];
    while (*at != x) {
        OA_ASSERT(*at != OA__NIL);
        at = &oa__rec(a, *at)->link[(key >> t) & 1u];
        t--;
    }
    oa__region* rx = oa__rec(a, x);
    uint32_t repl = OA__NIL;
    if ((rx->left | rx->right) != OA__NIL) {
        /* A leaf of x's subtree shares x's path: it takes x's place. */
        repl = oa__trie_take_leaf(a, rx->left != OA__NIL ? &rx->left : &rx->right);
        oa__rec(a, repl)->left = rx->left;
        oa__rec(a, repl)->right = rx->right;
    }
    *at = repl;
    uint32_t root = a->bin_root[bin];
    if (root == OA__NIL) {
        oa__bin_emptied(a, bin);
    } else if (a->bin_first[bin] == x) {
        a->bin_first[bin] = oa__trie_min(a, root);
    }
}

uint32_t oa__index_exact_first_fit(oa_allocator* a, uint32_t bin, uint64_t size, uint64_t align,
                                   uint64_t end_limit, uint32_t* budget) {
    /* Depth first, a left subtree before its right sibling (whose keys are
     * all larger), skipping a subtree whose whole range [lo, lo + 2^(bit+1))
     * lies above the best fit found so far, and, for a power-of-two
     * alignment A above the subtree's width, one whose range holds no offset
     * within `slack` bytes below a multiple of A (no offset there can fit):
     * an offset o fits iff (-o mod A) <= slack, so the range holds one iff
     * (-lo mod A) < width + slack. */
    struct {
        uint64_t lo;
        uint32_t node, bit;
    } stack[OA__TREE_STACK + 2];
    uint32_t depth = 0;
    uint32_t best = OA__NIL;
    uint64_t best_offset = UINT64_MAX;
    uint64_t slack = bin - size;
    uint32_t seen = 0;
    bool whole = true; /* no subtree skipped for its range */
    uint32_t align_log = oa__is_pow2(align) ? oa__log2_64(align) : 0u; /* 0: never skip */
    uint64_t mask = align - 1;
    uint32_t n = a->bin_root[bin];
    uint64_t lo = 0;
    uint32_t bit = a->bin_top_bit[bin];
    for (;;) {
        if (budget != NULL) {
            if (*budget == 0) {
                return OA__NIL;
            }
            (*budget)--;
        }
        const oa__region* r = oa__rec(a, n);
        if (r->offset < best_offset) {
            if (oa__pad(r->offset, align) <= slack && r->offset + r->size <= end_limit) {
                best = n;
                best_offset = r->offset;
            } else {
                seen |= 1u << (r->offset & 15u);
            }
        }
        if (r->right != OA__NIL) {
            /* bit < 64 here: a node at bit 0 has at most one child, and that
             * child none. */
            uint64_t right_lo = lo + (1ull << bit);
            if (right_lo < best_offset) {
                if (bit >= align_log || ((0 - right_lo) & mask) < (1ull << bit) + slack) {
                    OA_ASSERT(depth < OA__TREE_STACK + 2);
                    stack[depth].lo = right_lo;
                    stack[depth].node = r->right;
                    stack[depth].bit = bit - 1u;
                    depth++;
                } else {
                    whole = false;
                }
            }
        }
        if (r->left != OA__NIL && lo < best_offset) {
            if (bit >= align_log || ((0 - lo) & mask) < (1ull << bit) + slack) {
                n = r->left;
                bit--;
                continue;
            }
            whole = false;
        }
        do {
            if (depth == 0) {
                if (best == OA__NIL && whole && budget == NULL && end_limit == UINT64_MAX) {
                    a->bin_residues[bin] = (uint16_t)seen; /* it saw the whole bin */
                }
                return best;
            }
            depth--;
        } while (stack[depth].lo >= best_offset);
        lo = stack[depth].lo;
        n = stack[depth].node;
        bit = stack[depth].bit;
    }
}

/* ---- dust: per exact size, a list linked through left (previous) and
 * right (next), both with bit 31 set ---- */
static void oa__dust_push(oa_allocator* a, uint32_t x) {
    uint32_t bin = (uint32_t)oa__rec(a, x)->size;
    uint32_t h = oa__bit_test(a->dust_bitmap, bin) ? a->dust_head[bin] : OA__NIL;
    oa__rec(a, x)->left = OA__FLAG;
    oa__rec(a, x)->right = OA__FLAG | h;
    if (h != OA__NIL) {
        oa__rec(a, h)->left = OA__FLAG | x;
    } else {
        oa__bit_set(a->dust_bitmap, bin);
    }
    a->dust_head[bin] = x;
}

static void oa__dust_unlink(oa_allocator* a, uint32_t x) {
    uint32_t bin = (uint32_t)oa__rec(a, x)->size;
    uint32_t prev = oa__rec(a, x)->left & OA__LINK, next = oa__rec(a, x)->right & OA__LINK;
    if (prev != OA__NIL) {
        oa__rec(a, prev)->right = OA__FLAG | next;
    } else {
        a->dust_head[bin] = next;
        if (next == OA__NIL) {
            oa__bit_clear(a->dust_bitmap, bin);
        }
    }
    if (next != OA__NIL) {
        oa__rec(a, next)->left = OA__FLAG | prev;
    }
}

/* Put x in bin's tree, or take it out: a trie for an exact-size bin, an AVL
 * tree for a bin of many sizes. */
OA__INLINE void oa__bin_insert(oa_allocator* a, uint32_t bin, uint32_t x) {
    if (bin < OA__LINEAR_SIZE) {
        oa__trie_insert(a, bin, x);
    } else {
        oa__tree_insert(a, bin, x);
    }
}
OA__INLINE void oa__bin_remove(oa_allocator* a, uint32_t bin, uint32_t x) {
    if (bin < OA__LINEAR_SIZE) {
        oa__trie_remove(a, bin, x);
    } else {
        oa__tree_remove(a, bin, x);
    }
}

void oa__index_insert(oa_allocator* a, uint32_t slot) {
    const oa__region* r = oa__rec(a, slot);
    if (r->size < a->dust_limit) {
        oa__dust_push(a, slot);
        return;
    }
    uint32_t bin = oa__bin_of(r->size);
    oa__class_add(a, bin, r);
    oa__bin_insert(a, bin, slot);
}

void oa__index_remove(oa_allocator* a, uint32_t slot) {
    const oa__region* r = oa__rec(a, slot);
    if (oa__is_dust(r)) {
        oa__dust_unlink(a, slot);
        return;
    }
    uint32_t bin = oa__bin_of(r->size);
    oa__class_sub(a, bin, r);
    oa__bin_remove(a, bin, slot);
}

void oa__index_rekey_front(oa_allocator* a, uint32_t slot, uint64_t new_offset, uint64_t new_size) {
    oa__region* r = oa__rec(a, slot);
    if (oa__is_dust(r) || new_size < a->dust_limit) {
        oa__index_remove(a, slot);
        r->offset = new_offset;
        r->size = new_size;
        oa__index_insert(a, slot);
        return;
    }
    uint32_t bin = oa__bin_of(r->size);
    /* The bin's first region stays first when it shrinks within its bin (its
     * key only falls); its end, hence its class, is unchanged. */
    if (a->bin_first[bin] == slot && new_size <= r->size && oa__bin_of(new_size) == bin) {
        r->offset = new_offset;
        r->size = new_size;
        return;
    }
    oa__bin_remove(a, bin, slot);
    uint32_t nbin = oa__bin_of(new_size);
    if (nbin != bin) {
        oa__class_sub(a, bin, r);
    }
    r->offset = new_offset;
    r->size = new_size;
    if (nbin != bin) {
        oa__class_add(a, nbin, r);
    }
    oa__bin_insert(a, nbin, slot);
}

/* ---- search ---- */

/* Bins holding a region of class <= top, word w. */
OA__INLINE uint64_t oa__unsafe_word(const oa_allocator* a, uint32_t top, uint32_t w) {
    uint64_t m = 0;
    for (uint32_t c = 0; c <= top; c++) {
        m |= a->class_bitmap[c][w];
    }
    return m;
}

/* First bin in [bin, limit) holding a region of class <= top, or `limit`. */
static uint32_t oa__next_unsafe_bin(const oa_allocator* a, uint32_t top, uint32_t bin,
                                    uint32_t limit) {
    uint32_t w = bin >> 6;
    uint64_t m = oa__unsafe_word(a, top, w) & (~0ull << (bin & 63));
    for (;;) {
        if (m != 0) {
            uint32_t b = (w << 6) + oa__ctz64(m);
            return b < limit ? b : limit;
        }
        if (++w > ((limit - 1) >> 6)) {
            return limit;
        }
        m = oa__unsafe_word(a, top, w);
    }
}

/* Smallest region of the bin with size >= `size`, or OA__NIL. */
OA__INLINE uint32_t oa__lower_bound(const oa_allocator* a, uint32_t bin, uint64_t size) {
    uint32_t first = a->bin_first[bin];
    if (oa__rec(a, first)->size >= size) {
        return first;
    }
    if (bin < OA__LINEAR_SIZE) {
        return OA__NIL; /* one size per bin */
    }
    uint32_t best = OA__NIL;
    for (uint32_t n = a->bin_root[bin]; n != OA__NIL;) {
        if (oa__rec(a, n)->size >= size) {
            best = n;
            n = oa__rec(a, n)->left & OA__LINK;
        } else {
            n = oa__rec(a, n)->right & OA__LINK;
        }
    }
    return best;
}

/* Does free region r hold `size` bytes at a multiple of `align`? */
OA__INLINE bool oa__fits(const oa__region* r, uint64_t size, uint64_t align, uint64_t sure) {
    return r->size >= sure || oa__pad(r->offset, align) <= r->size - size;
}

/* Residues (offset mod 16) a region of an exact-size bin must have to hold a
 * request with `slack` bytes to spare at a power-of-two alignment: row
 * log2(min(align, 16)) - 1, column slack (0..14). A region fits iff its pad
 * (-offset mod align) is at most the slack, and for align >= 16 that needs
 * (-offset mod 16) <= slack. 0xFFFF rules nothing out. */
/* clang-format off */
static const uint16_t oa__residue_filters[4][15] = {
    {0x5555, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x1111, 0x9999, 0xDDDD, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x0101, 0x8181, 0xC1C1, 0xE1E1, 0xF1F1, 0xF9F9, 0xFDFD, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF},
    {0x0001, 0x8001, 0xC001, 0xE001, 0xF001, 0xF801, 0xFC01, 0xFE01, 0xFF01, 0xFF81, 0xFFC1, 0xFFE1, 0xFFF1, 0xFFF9, 0xFFFD}};
/* clang-format on */

OA__INLINE uint16_t oa__residue_filter(uint64_t align, uint64_t slack) {
    if (slack >= 15) {
        return 0xFFFFu;
    }
    uint32_t row = align >= 16 ? 3u : oa__log2_64(align) - 1u;
    return oa__residue_filters[row][slack];
}

/* The first region of the bin, in (size, offset) order from the first of
 * size >= `size`, that holds the request at its alignment; OA__NIL if none.
 * A search over a whole exact-size bin leaves its residues exact. */
static uint32_t oa__walk_bin(oa_allocator* a, uint32_t bin, uint64_t size, uint64_t align,
                             uint64_t sure) {
    if (bin < OA__LINEAR_SIZE) {
        return oa__index_exact_first_fit(a, bin, size, align, UINT64_MAX, NULL);
    }
    uint32_t stack[OA__TREE_STACK];
    uint32_t depth = 0;
    /* Descend to the lower bound, keeping the nodes still to visit (those
     * where the path turned left) on the stack. */
    for (uint32_t n = a->bin_root[bin]; n != OA__NIL;) {
        if (oa__rec(a, n)->size >= size) {
            stack[depth++] = n;
            n = oa__rec(a, n)->left & OA__LINK;
        } else {
            n = oa__rec(a, n)->right & OA__LINK;
        }
    }
    while (depth > 0) {
        uint32_t x = stack[--depth];
        if (oa__fits(oa__rec(a, x), size, align, sure)) {
            return x;
        }
        for (uint32_t n = oa__rec(a, x)->right & OA__LINK; n != OA__NIL;
             n = oa__rec(a, n)->left & OA__LINK) {
            stack[depth++] = n;
        }
    }
    return OA__NIL;
}

/* Highest counted class that is unsafe for alignment 2^k (1 <= k <= 16):
 * classes above it end on a multiple of 2^k. */
OA__INLINE uint32_t oa__unsafe_top(uint32_t k) {
    /* (k > 2) + (k > 4) + (k > 6) + (k > 8) + (k > 12), for k = 0..16 */
    static const uint8_t tops[17] = {0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5};
    OA_ASSERT(k <= OA__MAX_INDEXED_LOG2);
    return tops[k];
}

static uint32_t oa__find_aligned(oa_allocator* a, uint64_t size, uint64_t align) {
    uint64_t sure = size + (align - 1); /* the caller checked that this does not overflow */
    uint32_t b = oa__bin_of(size);
    if (!oa__is_pow2(align) || align > (1ull << OA__MAX_INDEXED_LOG2)) {
        for (b = oa__next_bin(a, b); b < OA__BIN_COUNT; b = oa__next_bin(a, b + 1)) {
            if (oa__bin_min_size(b) >= sure) {
                return a->bin_first[b];
            }
            uint32_t n = oa__walk_bin(a, b, size, align, sure);
            if (n != OA__NIL) {
                return n;
            }
        }
        return OA__NIL;
    }
    uint32_t top = oa__unsafe_top(oa__log2_64(align));
    uint64_t rounded = (size + (align - 1)) & ~(align - 1);
    uint32_t rounded_bin = oa__bin_of(rounded);
    for (;;) {
        /* Below rounded_bin a safe region is smaller than `rounded` and
         * cannot fit: only bins with an unsafe region are worth a look. */
        if (b < rounded_bin) {
            b = oa__next_unsafe_bin(a, top, b, rounded_bin);
        }
        if (b >= rounded_bin) {
            b = oa__next_bin(a, b);
            if (b == OA__BIN_COUNT) {
                return OA__NIL;
            }
        }
        if (oa__bin_min_size(b) >= sure) {
            return a->bin_first[b];
        }
        uint32_t n;
        if ((oa__unsafe_word(a, top, b >> 6) >> (b & 63)) & 1u) {
            /* An exact-size bin none of whose residues leaves a small enough
             * pad is skipped without a walk. */
            n = b < OA__LINEAR_SIZE &&
                        (a->bin_residues[b] & oa__residue_filter(align, b - size)) == 0
                    ? OA__NIL
                    : oa__walk_bin(a, b, size, align, sure);
        } else {
            n = oa__lower_bound(a, b, rounded);
        }
        if (n != OA__NIL) {
            return n;
        }
        b++;
    }
}

uint32_t oa__index_find(oa_allocator* a, uint64_t size, uint64_t align) {
    if (align != 1) {
        return oa__find_aligned(a, size, align);
    }
    uint32_t home = oa__bin_of(size);
    uint32_t b = oa__next_bin(a, home);
    if (b == home) {
        uint32_t n = oa__lower_bound(a, home, size);
        if (n != OA__NIL) {
            return n;
        }
        b = oa__next_bin(a, home + 1);
    }
    return b < OA__BIN_COUNT ? a->bin_first[b] : OA__NIL;
}

void oa__dust_lower(oa_allocator* a, uint64_t size) {
    uint64_t limit = 1ull << oa__log2_64(size);
    OA_ASSERT(limit < a->dust_limit);
    /* Lower the limit first, so that oa__index_insert sends these to trees. */
    uint64_t old = a->dust_limit;
    a->dust_limit = limit;
    for (uint64_t bin = limit; bin < old; bin++) {
        uint32_t x = oa__bit_test(a->dust_bitmap, (uint32_t)bin) ? a->dust_head[bin] : OA__NIL;
        while (x != OA__NIL) {
            uint32_t next = oa__rec(a, x)->right & OA__LINK;
            oa__index_insert(a, x);
            x = next;
        }
        a->dust_head[bin] = OA__NIL;
        oa__bit_clear(a->dust_bitmap, (uint32_t)bin);
    }
}

uint32_t oa__index_largest(const oa_allocator* a) {
    if (a->bitmap_words != 0) {
        uint32_t w = oa__log2_64(a->bitmap_words);
        uint32_t bin = (w << 6) + oa__log2_64(a->bitmap[w]);
        uint32_t n = a->bin_root[bin];
        while ((oa__rec(a, n)->right & OA__LINK) != OA__NIL) {
            n = oa__rec(a, n)->right & OA__LINK;
        }
        return n;
    }
    /* Every free region is dust: the largest is on the highest dust list. */
    for (uint32_t w = OA__LINEAR_SIZE / 64; w-- > 0;) {
        if (a->dust_bitmap[w] != 0) {
            return a->dust_head[(w << 6) + oa__log2_64(a->dust_bitmap[w])];
        }
    }
    return OA__NIL;
}
