/* threads.h - the session's thread pool behind esm_parallel_for (internal). */
#ifndef ESM_THREADS_H
#define ESM_THREADS_H

#include "alloc.h"
#include "kernel_api.h"

typedef struct esm_pool_threads esm_thread_pool;

/* A pool of `num_threads - 1` workers (the caller is the last thread); NULL when num_threads
 * <= 1, without pthreads, or when creating threads fails (work then runs serially). */
esm_thread_pool *esm_thread_pool_create(const esm_heap *heap, int32_t num_threads);
void esm_thread_pool_free(const esm_heap *heap, esm_thread_pool *pool);

#endif
