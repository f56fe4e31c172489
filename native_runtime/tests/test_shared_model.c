/* test_shared_model.c - one loaded model shared by several sessions in several threads gives exactly
 * the results of one thread (the model is read-only after load; sessions share nothing):
 * single-threaded sessions bit for bit, sessions that split kernels over 2 threads within 1e-5. Run under ThreadSanitizer in CI
 * (ESM_TSAN=ON), which turns any data race into a failure. */
#include <pthread.h>

#include "test_util.h"

#define NUM_WORKERS 4
#define RUNS_PER_WORKER 8

static const char *const CASES[] = {"mlp", "control_flow", "fused_and_runtime_attrs", "loop_model_traced", "lstm_traced", "nested_attrs"};

typedef struct worker {
    const esm_model *model;
    const test_case *c;
    const npy_array *reference; /* one thread's outputs (c->num_outputs), or NULL: golden ones */
    int num_threads;
    int mismatches; /* outputs that differ from the reference */
    int failures;   /* calls that failed */
} worker;

static void *work(void *arg) {
    worker *w = arg;
    esm_options opts;
    esm_options_init(&opts);
    opts.num_threads = w->num_threads;
    esm_session *s = NULL;
    if (esm_session_create(w->model, &opts, &s) != ESM_OK) {
        w->failures++;
        return NULL;
    }
    for (int r = 0; r < RUNS_PER_WORKER; r++) {
        /* prepare every other run, so planning races with other threads' runs too */
        if (bind_inputs(s, w->c) != ESM_OK || ((r % 2 == 0) && esm_session_prepare(s) != ESM_OK) || esm_session_run(s) != ESM_OK) {
            w->failures++;
            continue;
        }
        for (int o = 0; o < w->c->num_outputs; o++) {
            double tolerance = w->reference && w->num_threads == 1 ? 0.0 : 1e-5;
            if (output_error(s, o, w->reference ? &w->reference[o] : &w->c->out[o]) > tolerance) w->mismatches++;
        }
    }
    esm_session_free(s);
    return NULL;
}

/* The outputs of one session on one thread (checked against the golden ones) into `ref`, as the
 * reference the threads must reproduce. */
static int single_thread_reference(const esm_model *m, const test_case *c, npy_array *ref) {
    worker w = {m, c, NULL, 1, 0, 0};
    work(&w);
    esm_session *s = NULL;
    int ok = w.failures == 0 && w.mismatches == 0 && esm_session_create(m, NULL, &s) == ESM_OK && bind_inputs(s, c) == ESM_OK &&
             esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK;
    for (int o = 0; ok && o < c->num_outputs; o++) {
        esm_tensor_info info;
        const void *data;
        esm_session_output(s, o, &info, &data);
        ref[o] = c->out[o]; /* dtype, ndim, shape, bytes as the golden output */
        ref[o].data = malloc(ref[o].bytes ? ref[o].bytes : 1);
        memcpy(ref[o].data, data, ref[o].bytes);
    }
    esm_session_free(s);
    return ok;
}

static void test_shared_model_in_many_threads(const char *name) {
    test_case c;
    CHECK(load_case(name, &c) == 0, "%s: test data missing", name);
    char err[256] = "";
    esm_load_options lo = {NULL, err, sizeof err};
    esm_model *m = NULL;
    CHECK(esm_model_load_file(c.path, &lo, &m) == ESM_OK, "%s: %s", name, err);
    npy_array ref[MAX_CASE_IO];
    memset(ref, 0, sizeof ref);
    if (m && single_thread_reference(m, &c, ref)) {
        pthread_t threads[NUM_WORKERS];
        worker workers[NUM_WORKERS];
        for (int t = 0; t < NUM_WORKERS; t++) {
            workers[t] = (worker){m, &c, ref, t % 2 ? 2 : 1, 0, 0};
            CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0, "pthread_create");
        }
        for (int t = 0; t < NUM_WORKERS; t++) {
            pthread_join(threads[t], NULL);
            CHECK(workers[t].failures == 0, "%s: thread %d: %d failed calls", name, t, workers[t].failures);
            CHECK(workers[t].mismatches == 0, "%s: thread %d: %d outputs differ from one thread's", name, t, workers[t].mismatches);
        }
    } else {
        CHECK(0, "%s: one thread does not reproduce the golden outputs", name);
    }
    for (int o = 0; o < MAX_CASE_IO; o++) free(ref[o].data);
    esm_model_free(m);
    free_case(&c);
}

int main(void) {
    for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) test_shared_model_in_many_threads(CASES[k]);
    return test_report("test_shared_model");
}
