/* test_threads.c - esm_parallel_for covers every item exactly once, on every thread count, job
 * after job, without allocating, each chunk on a slot below the thread count; a session with
 * several threads gives the same results. */
#include "test_util.h"
#include "threads.h"

typedef struct job {
    int64_t *seen;
    int64_t round;
    int32_t threads;
} job;

static void mark(void *arg, int32_t slot, int64_t begin, int64_t end) {
    job *j = arg;
    if (slot < 0 || slot >= j->threads) return; /* its items stay unmarked: the coverage check fails */
    for (int64_t i = begin; i < end; i++) j->seen[i] += j->round;
}

static long allocations;

static void *counting_alloc(void *user, size_t size, size_t align) {
    void *p = NULL;
    (void)user;
    allocations++;
    return posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size) ? NULL : p;
}

static void plain_free(void *user, void *ptr) {
    (void)user;
    free(ptr);
}

static void test_every_item_once_on_every_thread_count(void) {
    esm_allocator counting = {counting_alloc, plain_free, NULL};
    esm_heap heap;
    esm_heap_init(&heap, &counting);
    enum { N = 100003 };
    int64_t *seen = calloc(N, sizeof(int64_t));
    for (int32_t threads = 1; threads <= 8; threads *= 2) {
        esm_thread_pool *pool = esm_thread_pool_create(&heap, threads);
        esm_node_ctx ctx;
        memset(&ctx, 0, sizeof ctx);
        ctx.num_threads = threads;
        ctx.pool = pool;
        long before = allocations;
        memset(seen, 0, sizeof(int64_t) * N);
        int64_t odd_sum = 0, even_sum = 0;
        for (int64_t round = 1; round <= 50; round++) {
            job j = {seen, round, threads};
            int64_t n = round % 2 ? N : 777; /* big and small jobs, alternating */
            esm_parallel_for(&ctx, n, 64, mark, &j);
            if (round % 2) odd_sum += round;
            else even_sum += round;
        }
        CHECK(allocations == before, "%d threads: parallel_for allocated", (int)threads);
        int bad = 0;
        for (int64_t i = 0; i < N; i++) bad += seen[i] != odd_sum + (i < 777 ? even_sum : 0);
        CHECK(bad == 0, "%d threads: %d items covered the wrong number of times", (int)threads, bad);
        CHECK(threads == 1 ? pool == NULL : pool != NULL, "%d threads: pool", (int)threads);
        esm_thread_pool_free(&heap, pool);
    }
    free(seen);
}

static void test_a_session_with_threads_matches(const char *name) {
    test_case c;
    load_case(name, &c);
    esm_model *m = NULL;
    esm_model_load_file(c.path, NULL, &m);
    for (int32_t threads = 1; threads <= 4; threads += 3) {
        esm_options opts;
        esm_options_init(&opts);
        opts.num_threads = threads;
        esm_session *s = NULL;
        CHECK(esm_session_create(m, &opts, &s) == ESM_OK, "create");
        bind_inputs(s, &c);
        CHECK(esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK, "%s", esm_session_error(s));
        CHECK(output_error(s, 0, &c.out[0]) < 1e-5, "%s, %d threads: wrong output", name, (int)threads);
        esm_session_free(s);
    }
    esm_model_free(m);
    free_case(&c);
}

int main(void) {
    test_every_item_once_on_every_thread_count();
    test_a_session_with_threads_matches("lstm_traced"); /* batch rows split over threads */
    test_a_session_with_threads_matches("cnn_traced");  /* convs and pools split by image */
    return test_report("test_threads");
}
