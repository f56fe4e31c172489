/* threads.c - a small fork-join pool for esm_parallel_for.
 *
 * Workers are created with the session. esm_parallel_for publishes one job (fn, arg, n, chunk
 * size) under the pool's mutex, works on chunks itself, and waits until every chunk is done.
 * There are several chunks per thread. Each thread owns a contiguous share of them and claims its
 * own first (an atomic add on its share's cursor), then what is left of the others' shares: a
 * thread on a busy core takes fewer chunks instead of holding the others up, and otherwise every
 * thread gets the same items every time - the same images of a batch from one node to the next
 * and from one inference to the next - so the data it writes and then reads stays in its own
 * core's cache (claimed at random, the lines moved between cores: the digits CNN's halves of a
 * conv each took as long as the whole conv on one thread). The chunk boundaries depend only on n,
 * the grain and the thread count, never on who runs them. Each thread passes its own slot (0 = the
 * caller) for per-thread scratch.
 *
 * A worker joins a job under the mutex only while it has unclaimed chunks, and the caller returns
 * only when no worker is inside the job, so a late worker never claims chunks of the next one.
 * Between jobs a worker polls for a while (yielding its core) before it sleeps on the condition
 * variable: one inference runs a parallel loop every few microseconds, and a futex wake per loop
 * cost more than the loop saved. The caller, done with its own chunks, polls the same way before it
 * sleeps on `done`: a worker finishing a few microseconds later would otherwise pay a futex wake of
 * a sleeping thread (tens of microseconds on a VM), which cost the digits CNN its whole 2-thread
 * gain. Nothing is allocated per job. */
#include "threads.h"

#if defined(ESM_HAVE_PTHREADS) && defined(__GNUC__)
#include <pthread.h>
#include <stdint.h>
#include <sched.h>

/* C99 has no atomics: GCC's and clang's builtins, on the fields read outside the mutex. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define FETCH_ADD(x, v) __atomic_fetch_add(&(x), (v), __ATOMIC_ACQ_REL)

#define POLLS 4000 /* yields a worker or a waiting caller makes before it sleeps (about 0.6 ms here) */

struct esm_pool_threads {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t *workers;
    int32_t num_workers, slots_taken; /* slots_taken: workers that have claimed their slot */
    int32_t sleeping, active;          /* workers asleep on `wake`; workers inside the job */
    int stop;
    unsigned long generation; /* bumped per job (atomic), so a worker takes each job once */
    esm_range_fn fn;
    void *arg;
    struct share *shares; /* one per slot */
    int64_t n, chunk, finished; /* items; chunk size; items done */
};

/* A slot's chunks of the current job: indices [next, end), claimed with an atomic add on next;
 * a cache line each, so claims on two shares never contend. */
typedef struct share {
    int64_t next, end;
    char pad[48];
} share;

/* Every chunk of an n-item job is done and no worker is inside it (read with or without the lock). */
static int job_over(esm_thread_pool *p, int64_t n) { return LOAD(p->finished) == n && LOAD(p->active) == 0; }

/* Claim and run the chunks left in one share; returns the items run. */
static int64_t run_share(share *s, int32_t slot, esm_range_fn fn, void *arg, int64_t n, int64_t chunk) {
    int64_t done = 0, c;
    while ((c = FETCH_ADD(s->next, 1)) < s->end) {
        int64_t begin = c * chunk, end = begin + chunk < n ? begin + chunk : n;
        fn(arg, slot, begin, end);
        done += end - begin;
    }
    return done;
}

/* The slot's own share, then what is left of the others'; returns the items run. */
static int64_t work(esm_thread_pool *p, int32_t slot, esm_range_fn fn, void *arg, int64_t n, int64_t chunk) {
    int32_t slots = p->num_workers + 1;
    int64_t done = 0;
    for (int32_t k = 0; k < slots; k++) done += run_share(&p->shares[(slot + k) % slots], slot, fn, arg, n, chunk);
    return done;
}

/* Some chunk of the current job is still unclaimed. */
static int unclaimed(esm_thread_pool *p) {
    for (int32_t k = 0; k <= p->num_workers; k++)
        if (LOAD(p->shares[k].next) < p->shares[k].end) return 1;
    return 0;
}

/* Wait (lock held) for a job newer than `seen` or for stop: poll first, then sleep. */
static void await_job(esm_thread_pool *p, unsigned long seen) {
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < POLLS && LOAD(p->generation) == seen && !LOAD(p->stop); i++) sched_yield();
    pthread_mutex_lock(&p->lock);
    p->sleeping++;
    while (!p->stop && LOAD(p->generation) == seen) pthread_cond_wait(&p->wake, &p->lock);
    p->sleeping--;
}

static void *worker_main(void *arg) {
    esm_thread_pool *p = arg;
    unsigned long seen = 0;
    int32_t slot;
    pthread_mutex_lock(&p->lock);
    slot = ++p->slots_taken;
    for (;;) {
        await_job(p, seen);
        if (p->stop) break;
        seen = LOAD(p->generation);
        if (!unclaimed(p)) continue; /* every chunk claimed: the caller may be gone */
        esm_range_fn fn = p->fn;
        void *job_arg = p->arg;
        int64_t n = p->n, chunk = p->chunk;
        STORE(p->active, p->active + 1);
        pthread_mutex_unlock(&p->lock);
        int64_t done = work(p, slot, fn, job_arg, n, chunk);
        pthread_mutex_lock(&p->lock);
        STORE(p->active, p->active - 1);
        STORE(p->finished, p->finished + done);
        if (job_over(p, p->n)) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

esm_thread_pool *esm_thread_pool_create(const esm_heap *heap, int32_t num_threads) {
    if (num_threads <= 1) return NULL;
    esm_thread_pool *p = esm_heap_alloc(heap, sizeof *p, 16);
    if (!p) return NULL;
    p->workers = esm_heap_array(heap, (size_t)num_threads, sizeof(pthread_t));
    p->shares = (size_t)num_threads <= SIZE_MAX / sizeof(share)
                    ? esm_heap_alloc(heap, (size_t)num_threads * sizeof(share), sizeof(share)) /* a line each */
                    : NULL;
    if (!p->workers || !p->shares || pthread_mutex_init(&p->lock, NULL) != 0) {
        esm_heap_free(heap, p->workers);
        esm_heap_free(heap, p->shares);
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
    STORE(p->stop, 1);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int32_t i = 0; i < p->num_workers; i++) pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->lock);
    esm_heap_free(heap, p->workers);
    esm_heap_free(heap, p->shares);
    esm_heap_free(heap, p);
}

void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg) {
    esm_thread_pool *p = ctx && ctx->num_threads > 1 ? ctx->pool : NULL;
    if (grain < 1) grain = 1;
    if (!p || p->num_workers == 0 || n <= grain) {
        if (n > 0) fn(arg, 0, 0, n);
        return;
    }
    int32_t slots = p->num_workers + 1;
    int64_t chunks = (int64_t)slots * 4, chunk = (n + chunks - 1) / chunks;
    chunk = chunk < grain ? grain : chunk;
    chunks = (n + chunk - 1) / chunk;
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = chunk;
    STORE(p->finished, 0);
    for (int32_t k = 0; k < slots; k++) {
        p->shares[k].end = chunks * (k + 1) / slots;
        STORE(p->shares[k].next, chunks * k / slots);
    }
    STORE(p->generation, p->generation + 1);
    if (p->sleeping) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    int64_t done = work(p, 0, fn, arg, n, chunk);
    pthread_mutex_lock(&p->lock);
    STORE(p->finished, p->finished + done);
    if (!job_over(p, n)) {
        pthread_mutex_unlock(&p->lock);
        for (int i = 0; i < POLLS && !job_over(p, n); i++) sched_yield();
        pthread_mutex_lock(&p->lock);
    }
    while (!job_over(p, n)) pthread_cond_wait(&p->done, &p->lock);
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
