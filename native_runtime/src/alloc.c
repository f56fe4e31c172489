/* alloc.c - default allocator (malloc with manual alignment) and the heap wrapper. */
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* malloc gives max_align_t alignment; for larger alignments over-allocate and keep the
 * original pointer just below the aligned block. */
static void *default_alloc(void *user, size_t size, size_t align) {
    (void)user;
    if (align < sizeof(void *)) align = sizeof(void *);
    if (size > SIZE_MAX - align - sizeof(void *)) return NULL;
    unsigned char *raw = malloc(size + align + sizeof(void *));
    if (!raw) return NULL;
    uintptr_t start = (uintptr_t)(raw + sizeof(void *));
    uintptr_t aligned = (start + (align - 1)) & ~(uintptr_t)(align - 1);
    memcpy((unsigned char *)aligned - sizeof(void *), &raw, sizeof(void *));
    return (void *)aligned;
}

static void default_free(void *user, void *ptr) {
    (void)user;
    void *raw;
    memcpy(&raw, (unsigned char *)ptr - sizeof(void *), sizeof(void *));
    free(raw);
}

void esm_heap_init(esm_heap *heap, const esm_allocator *allocator) {
    if (allocator && allocator->alloc && allocator->free) {
        heap->callbacks = *allocator;
    } else {
        heap->callbacks.alloc = default_alloc;
        heap->callbacks.free = default_free;
        heap->callbacks.user = NULL;
    }
}

void *esm_heap_alloc(const esm_heap *heap, size_t size, size_t align) {
    void *p = heap->callbacks.alloc(heap->callbacks.user, size ? size : 1, align);
    if (p) memset(p, 0, size);
    return p;
}

void esm_heap_free(const esm_heap *heap, void *ptr) {
    if (ptr) heap->callbacks.free(heap->callbacks.user, ptr);
}

void *esm_heap_array(const esm_heap *heap, size_t count, size_t size) {
    if (size && count > SIZE_MAX / size) return NULL;
    return esm_heap_alloc(heap, count * size, 16);
}

struct esm_pool_chunk {
    esm_pool_chunk *next;
    size_t used, cap;
};

#define POOL_HEADER 64 /* keeps a chunk's payload 64-byte aligned */

void *esm_pool_alloc(esm_pool *pool, size_t count, size_t size) {
    if (size && count > (SIZE_MAX - 128) / size) return NULL;
    size_t bytes = (count * size + 15) & ~(size_t)15;
    esm_pool_chunk *c = pool->chunks;
    if (!c || c->cap - c->used < bytes) {
        size_t cap = bytes > 65536 ? bytes : 65536;
        c = esm_heap_alloc(pool->heap, POOL_HEADER + cap, 64);
        if (!c) return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = pool->chunks;
        pool->chunks = c;
    }
    void *p = (unsigned char *)c + POOL_HEADER + c->used;
    c->used += bytes;
    memset(p, 0, bytes);
    return p;
}

void esm_pool_release(esm_pool *pool) {
    while (pool->chunks) {
        esm_pool_chunk *next = pool->chunks->next;
        esm_heap_free(pool->heap, pool->chunks);
        pool->chunks = next;
    }
}
