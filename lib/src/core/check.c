/* check.c - the integrity checker, oa_allocator_check().
 * Walks the address chain, the unused-slot list, the dust list and every
 * bin's treap, and
 * compares them with each other and with the counters. Reads only; bounds
 * every loop by the table size so that a corrupt table cannot hang or crash it.
 * Invariant it checks: see the comment of oa_allocator_check in orderly.h. */
#include "oa_internal.h"

/* Deeper than this a treap is reported as corrupt: with hashed priorities the
 * expected depth is about 3 ln n, under 70 even at OA_MAX_REGIONS. */
#define OA__CHECK_MAX_DEPTH 512u

static bool oa__slot_ok(const oa_allocator* a, uint32_t s) {
    return s != OA__NIL && s < a->slot_count;
}

/* Is `x` reachable by a key search in its bin? */
static bool oa__index_finds(const oa_allocator* a, uint32_t x) {
    const oa__region* R = a->regions;
    uint32_t n = a->bin_root[oa__bin_of(R[x].size)];
    for (uint32_t depth = 0; n != OA__NIL && depth < OA__CHECK_MAX_DEPTH; depth++) {
        if (n == x) {
            return true;
        }
        if (!oa__slot_ok(a, n)) {
            return false;
        }
        const oa__region* r = &R[n];
        bool less = R[x].size < r->size || (R[x].size == r->size && R[x].offset < r->offset);
        n = less ? r->left : r->right;
    }
    return false;
}

static oa_result oa__check_chain(const oa_allocator* a, uint64_t* out_free_bytes,
                                 uint64_t* out_used, uint64_t* out_free, uint64_t* out_dust) {
    const oa__region* R = a->regions;
    uint64_t expect = 0, free_bytes = 0, used = 0, free_regions = 0, dust = 0;
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
        const oa__region* r = &R[s];
        if (r->prev != prev) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        if (r->right == OA__MARK_UNUSED) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        if (r->size == 0 || r->offset != expect || r->size > a->capacity - expect) {
            return OA_ERROR_CORRUPT_TILING;
        }
        bool is_free = r->right != OA__MARK_USED;
        if (is_free) {
            if (prev_free) {
                return OA_ERROR_CORRUPT_ADJACENT_FREE;
            }
            if (oa__is_dust(r)) {
                if (r->size >= a->dust_limit) {
                    return OA_ERROR_CORRUPT_INDEX;
                }
                dust++;
            } else if (!oa__index_finds(a, s)) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            free_bytes += r->size;
            free_regions++;
        } else {
            used++;
        }
        expect += r->size;
        prev_free = is_free;
        prev = s;
        s = r->next;
    }
    if (expect != a->capacity) {
        return OA_ERROR_CORRUPT_TILING;
    }
    if (prev != a->tail) {
        return OA_ERROR_CORRUPT_LINKS;
    }
    *out_free_bytes = free_bytes;
    *out_used = used;
    *out_free = free_regions;
    *out_dust = dust;
    return OA_SUCCESS;
}

/* The dust list: doubly linked, every member a dust record linked into the
 * address chain, as many as the chain holds. */
static oa_result oa__check_dust(const oa_allocator* a, uint64_t chain_dust) {
    const oa__region* R = a->regions;
    uint64_t count = 0;
    uint32_t prev = OA__NIL;
    for (uint32_t x = a->dust_head; x != OA__NIL; x = R[x].right & ~OA__DUST_BIT) {
        if (!oa__slot_ok(a, x) || ++count > chain_dust) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        const oa__region* r = &R[x];
        if (!oa__is_dust(r) || r->left != prev || r->size >= a->dust_limit) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        bool linked_before =
            r->prev == OA__NIL ? a->head == x : oa__slot_ok(a, r->prev) && R[r->prev].next == x;
        bool linked_after =
            r->next == OA__NIL ? a->tail == x : oa__slot_ok(a, r->next) && R[r->next].prev == x;
        if (!linked_before || !linked_after) {
            return OA_ERROR_CORRUPT_LINKS;
        }
        prev = x;
    }
    if (count != chain_dust || count != a->dust_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    return OA_SUCCESS;
}

/* In-order walk of one bin's treap: keys strictly increase, every node is a
 * free record of this bin, priorities decrease downwards. */
static oa_result oa__check_bin(const oa_allocator* a, uint32_t bin, uint64_t* io_nodes,
                               uint64_t max_nodes) {
    const oa__region* R = a->regions;
    uint32_t stack[OA__CHECK_MAX_DEPTH];
    uint32_t depth = 0;
    uint32_t n = a->bin_root[bin];
    const oa__region* last = NULL;
    for (;;) {
        while (n != OA__NIL) {
            if (!oa__slot_ok(a, n) || depth >= OA__CHECK_MAX_DEPTH) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            const oa__region* r = &R[n];
            if (r->right >= OA__DUST_BIT) { /* used, unused or dust: not a treap node */
                return OA_ERROR_CORRUPT_INDEX;
            }
            if (r->size == 0 || r->size < a->dust_limit || oa__bin_of(r->size) != bin) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            if (bin < OA__LINEAR_SIZE && ((a->bin_residues[bin] >> (r->offset & 15)) & 1u) == 0) {
                return OA_ERROR_CORRUPT_INDEX; /* the residue filter would hide it */
            }
            uint32_t pn = oa__treap_priority(n);
            if ((r->left != OA__NIL && oa__treap_priority(r->left) > pn) ||
                (r->right != OA__NIL && oa__treap_priority(r->right) > pn)) {
                return OA_ERROR_CORRUPT_INDEX;
            }
            stack[depth++] = n;
            n = r->left;
        }
        if (depth == 0) {
            break;
        }
        n = stack[--depth];
        const oa__region* r = &R[n];
        if (last != NULL &&
            !(last->size < r->size || (last->size == r->size && last->offset < r->offset))) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        last = r;
        if (++*io_nodes > max_nodes) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        n = r->right;
    }
    return OA_SUCCESS;
}

oa_result oa_allocator_check(const oa_allocator* a) {
    if (a == NULL) {
        return OA_ERROR_INVALID_ARGUMENT;
    }
    if (a->regions == NULL || a->slot_count < 2 || a->slot_count > a->slot_capacity) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    uint64_t free_bytes, used, free_regions, dust;
    oa_result res = oa__check_chain(a, &free_bytes, &used, &free_regions, &dust);
    if (res != OA_SUCCESS) {
        return res;
    }
    res = oa__check_dust(a, dust);
    if (res != OA_SUCCESS) {
        return res;
    }
    if (free_bytes != a->total_free || used != a->allocation_count ||
        free_regions != a->free_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    /* Unused slots: a bounded list of marked records. */
    uint64_t unused = 0;
    for (uint32_t s = a->unused_head; s != OA__NIL; s = a->regions[s].left) {
        if (!oa__slot_ok(a, s) || a->regions[s].right != OA__MARK_UNUSED ||
            ++unused > a->slot_count) {
            return OA_ERROR_CORRUPT_LINKS;
        }
    }
    if (unused != a->unused_count || used + free_regions + unused + 1 != a->slot_count) {
        return OA_ERROR_CORRUPT_COUNTS;
    }
    /* The index holds exactly the free regions that are not dust (each was
     * found by key above; keys are distinct, so equal counts leave no room for
     * strays). */
    uint64_t nodes = 0;
    for (uint32_t bin = 0; bin < OA__BIN_COUNT; bin++) {
        uint32_t w = bin >> 6;
        bool bit = (a->bitmap[w] >> (bin & 63)) & 1u;
        if (bit != (a->bin_root[bin] != OA__NIL)) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        if (bin < OA__LINEAR_SIZE && a->bin_root[bin] == OA__NIL && a->bin_residues[bin] != 0) {
            return OA_ERROR_CORRUPT_INDEX;
        }
        if (a->bin_root[bin] != OA__NIL) {
            res = oa__check_bin(a, bin, &nodes, free_regions - dust);
            if (res != OA_SUCCESS) {
                return res;
            }
        }
    }
    for (uint32_t w = 0; w < OA__BITMAP_WORDS; w++) {
        bool top = (a->top_bitmap[w >> 6] >> (w & 63)) & 1u;
        if (top != (a->bitmap[w] != 0)) {
            return OA_ERROR_CORRUPT_INDEX;
        }
    }
    if (nodes + dust != free_regions) {
        return OA_ERROR_CORRUPT_INDEX;
    }
    return OA_SUCCESS;
}
