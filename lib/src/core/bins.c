/* bins.c - the size index over free regions.
 * Maps a size to a bin (one per exact size below 1 KiB, 32 per power of two
 * above), keeps two-level occupancy bitmaps and the residue hints of the
 * exact-size bins, and keeps the free regions of each bin in a treap ordered
 * by (size, offset) whose priorities are a fixed hash of the slot index (no
 * storage). Free regions smaller than every request
 * so far wait on the unsorted dust list instead. Does not split or merge
 * (alloc.c does).
 * Invariant: a bitmap bit is set iff that bin's treap is non-empty; a top bit
 * is set iff its bitmap word is non-zero. */
#include "oa_internal.h"

#include <string.h>

/* A bijective 32-bit mix (distinct slots get distinct priorities). */
uint32_t oa__treap_priority(uint32_t slot) {
    uint32_t x = slot * 0x9E3779B1u;
    return x ^ (x >> 15);
}

/* (size, offset) as one number: one wide comparison instead of two branches. */
#if defined(__SIZEOF_INT128__)
__extension__ typedef unsigned __int128 oa__key;
static inline oa__key oa__key_of(const oa__region* r) {
    return ((oa__key)r->size << 64) | r->offset;
}
static inline bool oa__key_less(const oa__region* x, const oa__region* y) {
    return oa__key_of(x) < oa__key_of(y);
}
#else
static inline bool oa__key_less(const oa__region* x, const oa__region* y) {
    return x->size < y->size || (x->size == y->size && x->offset < y->offset);
}
#endif

static void oa__bin_mark(oa_allocator* a, uint32_t bin) {
    uint32_t w = bin >> 6;
    a->bitmap[w] |= 1ull << (bin & 63);
    a->top_bitmap[w >> 6] |= 1ull << (w & 63);
}

static void oa__bin_unmark(oa_allocator* a, uint32_t bin) {
    if (bin < OA__LINEAR_SIZE) {
        a->bin_residues[bin] = 0;
    }
    uint32_t w = bin >> 6;
    a->bitmap[w] &= ~(1ull << (bin & 63));
    if (a->bitmap[w] == 0) {
        a->top_bitmap[w >> 6] &= ~(1ull << (w & 63));
    }
}

void oa__bins_clear(oa_allocator* a) {
    memset(a->bin_root, 0, sizeof a->bin_root);
    memset(a->bitmap, 0, sizeof a->bitmap);
    memset(a->top_bitmap, 0, sizeof a->top_bitmap);
    memset(a->bin_residues, 0, sizeof a->bin_residues);
    a->dust_head = OA__NIL;
    a->dust_count = 0;
}

void oa__dust_lower(oa_allocator* a, uint64_t size) {
    uint64_t limit = 1ull << oa__log2_64(size);
    if (limit >= a->dust_limit) {
        return;
    }
    a->dust_limit = limit;
    uint32_t x = a->dust_head;
    while (x != OA__NIL) {
        uint32_t next = a->regions[x].right & ~OA__DUST_BIT;
        if (a->regions[x].size >= limit) {
            oa__dust_unlink(a, x);
            oa__treap_insert(a, x);
        }
        x = next;
    }
}

/* Insert: walk down while the nodes outrank x, then split the subtree found
 * there by x's key into x's two children. Expected O(log n). */
void oa__treap_insert(oa_allocator* a, uint32_t x) {
    oa__region* R = a->regions;
    oa__region* rx = &R[x];
    uint32_t bin = oa__bin_of(rx->size);
    uint32_t* link = &a->bin_root[bin];
    if (*link == OA__NIL) {
        oa__bin_mark(a, bin);
    }
    if (bin < OA__LINEAR_SIZE) {
        a->bin_residues[bin] |= (uint16_t)(1u << (rx->offset & 15));
    }
    uint32_t px = oa__treap_priority(x);
    while (*link != OA__NIL && oa__treap_priority(*link) > px) {
        oa__region* n = &R[*link];
        link = oa__key_less(rx, n) ? &n->left : &n->right;
    }
    uint32_t t = *link;
    *link = x;
    uint32_t* lp = &rx->left;
    uint32_t* rp = &rx->right;
    while (t != OA__NIL) {
        oa__region* n = &R[t];
        if (oa__key_less(n, rx)) {
            *lp = t;
            lp = &n->right;
            t = n->right;
        } else {
            *rp = t;
            rp = &n->left;
            t = n->left;
        }
    }
    *lp = OA__NIL;
    *rp = OA__NIL;
}

/* Remove: find x by its key, then merge its children in priority order. */
void oa__treap_remove(oa_allocator* a, uint32_t x) {
    oa__region* R = a->regions;
    const oa__region* rx = &R[x];
    uint32_t bin = oa__bin_of(rx->size);
    uint32_t* link = &a->bin_root[bin];
    while (*link != x) {
        OA_ASSERT(*link != OA__NIL);
        oa__region* n = &R[*link];
        link = oa__key_less(rx, n) ? &n->left : &n->right;
    }
    uint32_t l = rx->left;
    uint32_t r = rx->right;
    while (l != OA__NIL && r != OA__NIL) {
        if (oa__treap_priority(l) > oa__treap_priority(r)) {
            *link = l;
            link = &R[l].right;
            l = R[l].right;
        } else {
            *link = r;
            link = &R[r].left;
            r = R[r].left;
        }
    }
    *link = l != OA__NIL ? l : r;
    if (a->bin_root[bin] == OA__NIL) {
        oa__bin_unmark(a, bin);
    }
}

uint32_t oa__bin_lower_bound(const oa_allocator* a, uint32_t bin, uint64_t size, uint64_t offset) {
    const oa__region* R = a->regions;
    uint32_t best = OA__NIL;
    uint32_t n = a->bin_root[bin];
    while (n != OA__NIL) {
        const oa__region* r = &R[n];
        if (r->size > size || (r->size == size && r->offset >= offset)) {
            best = n;
            n = r->left;
        } else {
            n = r->right;
        }
    }
    return best;
}

uint32_t oa__bin_first(const oa_allocator* a, uint32_t bin) {
    uint32_t n = a->bin_root[bin];
    if (n == OA__NIL) {
        return OA__NIL;
    }
    while (a->regions[n].left != OA__NIL) {
        n = a->regions[n].left;
    }
    return n;
}

uint32_t oa__bin_last(const oa_allocator* a, uint32_t bin) {
    uint32_t n = a->bin_root[bin];
    if (n == OA__NIL) {
        return OA__NIL;
    }
    while (a->regions[n].right != OA__NIL) {
        n = a->regions[n].right;
    }
    return n;
}
