/* fuzz_load.c - libFuzzer harness for the whole path an untrusted .esm file takes: the reader
 * and verifier (esm_model_load), then - when a mutated file still verifies - a session with
 * small limits, inputs of the model's declared shapes (symbolic dims = 2) filled with small
 * values, prepare and run. Anything but a clean status is a bug: ASan/UBSan abort on memory
 * errors, libFuzzer on leaks, timeouts and allocations beyond -rss_limit_mb.
 *
 * Build: cmake -S native_runtime -B build-fuzz -DCMAKE_C_COMPILER=clang -DESM_FUZZ=ON
 * Run:   build-fuzz/fuzz/fuzz_load -max_total_time=600 corpus/ native_runtime/tests/data/
 * Replay a file: build-fuzz/fuzz/fuzz_load FILE (how the regression tests use it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esm.h"

#define FUZZ_SYMBOLIC_DIM 2
#define FUZZ_MAX_INPUT_BYTES ((size_t)1 << 16)

/* Binds input `index` at its declared shape; the buffer is the caller's to free. */
static void *bind_input(esm_session *s, const esm_model *m, int32_t index) {
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
    /* zeros are valid for every dtype (bool 0, float 0.0, int 0): a loop count, a flag or an
     * index all stay in range, so the run gets past input checks into the graph. */
    void *data = calloc(numel ? numel : 1, elem);
    if (data) esm_session_set_input(s, index, info.dtype, shape, info.ndim, data, numel * elem);
    return data;
}

static void run_model(const esm_model *m) {
    esm_options opts;
    esm_options_init(&opts);
    opts.max_arena_bytes = (size_t)1 << 24;
    opts.max_loop_iterations = 64;
    esm_session *s = NULL;
    if (esm_session_create(m, &opts, &s) != ESM_OK) return;
    int32_t n = esm_model_num_inputs(m);
    void *buffers[16] = {0};
    for (int32_t i = 0; i < n && i < 16; i++) buffers[i] = bind_input(s, m, i);
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
        run_model(m);
        esm_model_free(m);
    }
    free(copy);
    return 0;
}
