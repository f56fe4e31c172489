/* alloc.h - the allocator every core allocation goes through (internal).
 *
 * Wraps the caller's esm_allocator (or malloc) and counts live bytes, so that the
 * "no allocation in esm_session_run" rule can be checked and limits enforced. */
#ifndef ESM_ALLOC_H
#define ESM_ALLOC_H

#include <stddef.h>

#include "esm.h"

typedef struct esm_heap {
    esm_allocator callbacks; /* never NULL members: defaults are filled in */
} esm_heap;

void esm_heap_init(esm_heap *heap, const esm_allocator *allocator);
/* `size` bytes aligned to `align` (power of two), zeroed; NULL when the allocator fails. */
void *esm_heap_alloc(const esm_heap *heap, size_t size, size_t align);
void esm_heap_free(const esm_heap *heap, void *ptr);
/* Typed array helper: `count` zeroed elements of `size` bytes, overflow-checked. */
void *esm_heap_array(const esm_heap *heap, size_t count, size_t size);

/* A bump pool over a heap: many small arrays, freed all at once (model arrays, prepare-time
 * buffers of a session). */
typedef struct esm_pool_chunk esm_pool_chunk;
typedef struct esm_pool {
    const esm_heap *heap;
    esm_pool_chunk *chunks;
} esm_pool;

/* `count` zeroed elements of `size` bytes, 16-byte aligned (64 for chunk starts); NULL on
 * overflow or allocation failure. */
void *esm_pool_alloc(esm_pool *pool, size_t count, size_t size);
/* Free every chunk; the pool can be reused afterwards. */
void esm_pool_release(esm_pool *pool);

#endif
