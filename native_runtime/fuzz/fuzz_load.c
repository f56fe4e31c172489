/* fuzz_load.c - libFuzzer harness for the whole path an untrusted .esm file takes: the reader
 * and verifier (esm_model_load), then - when a mutated file still verifies - a session with
 * small limits, inputs of the model's declared shapes (symbolic dims = 2), prepare and run;
 * twice: on zeros (valid for every dtype, so the run gets past input checks) and on a hostile
 * pattern (negative and out-of-range ints, NaN and Inf). Anything but a clean status is a bug: ASan/UBSan abort on memory
 * errors, libFuzzer on leaks, timeouts and allocations beyond -rss_limit_mb.
 *
 * Build: cmake -S native_runtime -B build-fuzz -DCMAKE_C_COMPILER=clang -DESM_FUZZ=ON
 * Run:   build-fuzz/fuzz/fuzz_load -max_total_time=600 corpus/ native_runtime/tests/data/
 * Replay a file: build-fuzz/fuzz/fuzz_load FILE (how the regression tests use it). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esm.h"

#define FUZZ_SYMBOLIC_DIM 2
#define FUZZ_MAX_INPUT_BYTES ((size_t)1 << 16)

/* Element k of the hostile pattern: -1, 0, 1, 2, 3, ... for ints; odd values for floats. */
static void fill_hostile(void *data, esm_dtype dtype, size_t numel) {
    static const double floats[] = {-1.5, 0.0, 2.5, NAN, INFINITY, -INFINITY, 1e30};
    for (size_t k = 0; k < numel; k++) {
        switch (dtype) {
        case ESM_FLOAT32: ((float *)data)[k] = (float)floats[k % 7]; break;
        case ESM_FLOAT64: ((double *)data)[k] = floats[k % 7]; break;
        case ESM_INT32: ((int32_t *)data)[k] = (int32_t)(k % 5) - 1; break;
        case ESM_INT64: ((int64_t *)data)[k] = (int64_t)(k % 5) - 1; break;
        default: ((uint8_t *)data)[k] = (uint8_t)(k % 2); break;
        }
    }
}

/* Binds input `index` at its declared shape; the buffer is the caller's to free. */
static void *bind_input(esm_session *s, const esm_model *m, int32_t index, int hostile) {
    esm_tensor_info info;
    if (esm_model_input_info(m, index, &info) != ESM_OK || info.ndim < 0) return NULL;
    int64_t shape[ESM_MAX_DIMS];
    size_t numel = 1;
    for (int32_t d = 0; d < info.ndim; d++) {
        shape[d] = info.shape[d] < 0 ? FUZZ_SYMBOLIC_DIM : info.shape[d];
        if (shape[d] > 0 && numel > FUZZ_MAX_INPUT_BYTES / (size_t)shape[d]) return NULL;
        numel *= (size_t)shape[d];
    }
    size_t elem = info.dtype == ESM_FLOAT64 || info.dtype == ESM_INT64 ? 8 : info.dtype == ESM_BOOL ? 1 : 4;
    if (numel * elem > FUZZ_MAX_INPUT_BYTES) return NULL;
    void *data = calloc(numel ? numel : 1, elem);
    if (data && hostile) fill_hostile(data, info.dtype, numel);
    if (data) esm_session_set_input(s, index, info.dtype, shape, info.ndim, data, numel * elem);
    return data;
}

static void run_model(const esm_model *m, int hostile) {
    esm_options opts;
    esm_options_init(&opts);
    opts.max_arena_bytes = (size_t)1 << 24;
    opts.max_loop_iterations = 64;
    esm_session *s = NULL;
    if (esm_session_create(m, &opts, &s) != ESM_OK) return;
    int32_t n = esm_model_num_inputs(m);
    void *buffers[16] = {0};
    for (int32_t i = 0; i < n && i < 16; i++) buffers[i] = bind_input(s, m, i, hostile);
    if (esm_session_prepare(s) == ESM_OK && esm_session_run(s) == ESM_OK) {
        for (int32_t i = 0; i < esm_model_num_outputs(m); i++) {
            esm_tensor_info info;
            const void *data;
            esm_session_output(s, i, &info, &data);
        }
    }
    esm_session_free(s);
    for (int32_t i = 0; i < 16; i++) free(buffers[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* esm_model_load wants 8-byte aligned data of exactly `size` bytes (so ASan sees over-reads) */
    void *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    char err[256];
    esm_load_options lo = {NULL, err, sizeof err};
    esm_model *m = NULL;
    if (esm_model_load(copy, size, &lo, &m) == ESM_OK) {
        run_model(m, 0);
        run_model(m, 1);
        esm_model_free(m);
    }
    free(copy);
    return 0;
}
