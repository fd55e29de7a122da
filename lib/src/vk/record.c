/* record.c - a pool's recorder (oa_vk_pool_info.record): each block's core
 * allocator records through a small context that names the block's slot,
 * so that the lines of a pool with several blocks are told apart. Owns the
 * context's life (made when a block gets its allocator, freed with it);
 * does not format anything (the core does) and takes no lock (the caller
 * holds the manager's).
 * Invariant: a block has a context iff its pool records and it has a core
 * allocator; the context's slot is the block's for the block's whole life. */
#include "oa_vk_internal.h"

typedef struct oa__vk_recorder {
    oa_vk_record_fn fn;
    void* user;
    uint32_t block_slot;
    oa_alloc_callbacks callbacks; /* to free the context without the manager */
} oa__vk_recorder;

/* The core allocator's recorder: forwards each line with the block's slot. */
static void oa__vk_record_line(void* user, const char* text, size_t length) {
    const oa__vk_recorder* r = (const oa__vk_recorder*)user;
    r->fn(r->user, r->block_slot, text, length);
}

oa_vk_result oa__vk_block_record_begin(oa_vk_manager* m, const oa__vk_pool* p, uint32_t slot,
                                       oa__vk_block* b) {
    if (p->record == NULL || b->allocator == NULL || p->is_ring) {
        return OA_VK_SUCCESS;
    }
    oa__vk_recorder* r = (oa__vk_recorder*)oa__vk_host_alloc(&m->callbacks, sizeof *r);
    if (r == NULL) {
        return oa__vk_fail(m, OA_VK_ERROR_OUT_OF_HOST_MEMORY,
                           "pool '%s': no host memory for block %u's recorder", p->name, slot);
    }
    r->fn = p->record;
    r->user = p->record_user;
    r->block_slot = slot;
    r->callbacks = m->callbacks;
    b->recorder = r;
    /* Writes the block's header (capacity, granularity): its trace begins. */
    const oa_result cr = oa_allocator_set_recorder(b->allocator, oa__vk_record_line, r);
    OA_ASSERT(cr == OA_SUCCESS && "a block's allocator takes a recorder");
    (void)cr;
    return OA_VK_SUCCESS;
}

void oa__vk_block_record_end(oa__vk_block* b) {
    if (b->recorder == NULL) {
        return;
    }
    if (b->allocator != NULL) {
        const oa_result cr = oa_allocator_set_recorder(b->allocator, NULL, NULL);
        OA_ASSERT(cr == OA_SUCCESS && "a block's allocator drops its recorder");
        (void)cr;
    }
    const oa_alloc_callbacks cb = b->recorder->callbacks;
    oa__vk_host_free(&cb, b->recorder, sizeof *b->recorder);
    b->recorder = NULL;
}
