/* threads.c - a small fork-join pool for esm_parallel_for.
 *
 * Workers are created with the session and sleep on a condition variable. esm_parallel_for
 * publishes one job (fn, arg, n, chunk size), wakes them, works on chunks itself, and waits
 * until every chunk is done; chunks are handed out under the pool's mutex (C99 has no atomics).
 * There are several chunks per thread and each thread claims the next one when it is free, so a
 * thread on a busy core takes fewer of them instead of holding the others up with a fixed share;
 * the chunk boundaries depend only on n, the grain and the thread count, never on who runs them.
 * Each thread passes its own slot (0 = the caller) for per-thread scratch. Nothing is allocated
 * per job. */
#include "threads.h"

#if defined(ESM_HAVE_PTHREADS)
#include <pthread.h>

struct esm_pool_threads {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t *workers;
    int32_t num_workers, slots_taken; /* slots_taken: workers that have claimed their slot */
    int stop;
    unsigned long generation;  /* bumped per job, so a worker takes each job once */
    esm_range_fn fn;
    void *arg;
    int64_t n, chunk, next, finished; /* items; chunk size; next item to hand out; items done */
};

/* Take chunks of the current job until none are left (called with the lock held). */
static void work(esm_thread_pool *p, int32_t slot) {
    while (p->next < p->n) {
        int64_t begin = p->next, end = begin + p->chunk < p->n ? begin + p->chunk : p->n;
        esm_range_fn fn = p->fn;
        void *arg = p->arg;
        p->next = end;
        pthread_mutex_unlock(&p->lock);
        fn(arg, slot, begin, end);
        pthread_mutex_lock(&p->lock);
        p->finished += end - begin;
        if (p->finished == p->n) pthread_cond_broadcast(&p->done);
    }
}

static void *worker_main(void *arg) {
    esm_thread_pool *p = arg;
    unsigned long seen = 0;
    int32_t slot;
    pthread_mutex_lock(&p->lock);
    slot = ++p->slots_taken;
    for (;;) {
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stop) break;
        seen = p->generation;
        work(p, slot);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

esm_thread_pool *esm_thread_pool_create(const esm_heap *heap, int32_t num_threads) {
    if (num_threads <= 1) return NULL;
    esm_thread_pool *p = esm_heap_alloc(heap, sizeof *p, 16);
    if (!p) return NULL;
    p->workers = esm_heap_array(heap, (size_t)num_threads, sizeof(pthread_t));
    if (!p->workers || pthread_mutex_init(&p->lock, NULL) != 0) {
        esm_heap_free(heap, p->workers);
        esm_heap_free(heap, p);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    for (int32_t i = 0; i < num_threads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) break;
        p->num_workers++;
    }
    return p;
}

void esm_thread_pool_free(const esm_heap *heap, esm_thread_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int32_t i = 0; i < p->num_workers; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    esm_heap_free(heap, p->workers);
    esm_heap_free(heap, p);
}

void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg) {
    esm_thread_pool *p = ctx && ctx->num_threads > 1 ? ctx->pool : NULL;
    if (grain < 1) grain = 1;
    if (!p || p->num_workers == 0 || n <= grain) {
        if (n > 0) fn(arg, 0, 0, n);
        return;
    }
    int64_t chunks = (int64_t)(p->num_workers + 1) * 4, chunk = (n + chunks - 1) / chunks;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk < grain ? grain : chunk;
    p->next = p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    work(p, 0);
    while (p->finished < p->n) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
#else
struct esm_pool_threads {
    int unused;
};

esm_thread_pool *esm_thread_pool_create(const esm_heap *heap, int32_t num_threads) {
    (void)heap;
    (void)num_threads;
    return NULL;
}

void esm_thread_pool_free(const esm_heap *heap, esm_thread_pool *pool) {
    (void)heap;
    (void)pool;
}

void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg) {
    (void)ctx;
    (void)grain;
    if (n > 0) fn(arg, 0, 0, n);
}
#endif
