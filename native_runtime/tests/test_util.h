/* test_util.h - checks and test-case loading shared by the core's C tests. */
#ifndef ESM_TEST_UTIL_H
#define ESM_TEST_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "esm.h"
#include "npy.h"

static int test_failures, test_checks;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        test_checks++;                                                           \
        if (!(cond)) {                                                           \
            test_failures++;                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fprintf(stderr, "\n");                                               \
        }                                                                        \
    } while (0)

static inline int test_report(const char *name) {
    printf("%s: %d checks, %d failures\n", name, test_checks, test_failures);
    return test_failures ? 1 : 0;
}

/* A whole file in a buffer of exactly its size (so ASan sees any over-read). */
static inline unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

#define MAX_CASE_IO 8

/* A test model with its inputs and expected outputs (tests/data/NAME.*). */
typedef struct test_case {
    char path[512];
    int num_inputs, num_outputs;
    npy_array in[MAX_CASE_IO], out[MAX_CASE_IO];
} test_case;

static inline int load_case(const char *name, test_case *c) {
    char path[600], err[256];
    memset(c, 0, sizeof *c);
    snprintf(c->path, sizeof c->path, "%s/%s.esm", ESM_TEST_DATA, name);
    for (int i = 0; i < MAX_CASE_IO; i++) {
        snprintf(path, sizeof path, "%s/%s.in%d.npy", ESM_TEST_DATA, name, i);
        if (npy_read(path, &c->in[i], err, sizeof err) != 0) break;
        c->num_inputs++;
    }
    for (int i = 0; i < MAX_CASE_IO; i++) {
        snprintf(path, sizeof path, "%s/%s.out%d.npy", ESM_TEST_DATA, name, i);
        if (npy_read(path, &c->out[i], err, sizeof err) != 0) break;
        c->num_outputs++;
    }
    return c->num_outputs > 0 ? 0 : 1;
}

static inline void free_case(test_case *c) {
    for (int i = 0; i < c->num_inputs; i++) npy_free(&c->in[i]);
    for (int i = 0; i < c->num_outputs; i++) npy_free(&c->out[i]);
}

static inline esm_status bind_inputs(esm_session *s, const test_case *c) {
    for (int i = 0; i < c->num_inputs; i++) {
        esm_status st = esm_session_set_input(s, i, c->in[i].dtype, c->in[i].shape, c->in[i].ndim, c->in[i].data, c->in[i].bytes);
        if (st != ESM_OK) return st;
    }
    return ESM_OK;
}

/* Max abs difference of output `index` against the expected array, or INFINITY on a shape or
 * dtype mismatch. */
static inline double output_error(const esm_session *s, int index, const npy_array *want) {
    esm_tensor_info info;
    const void *data;
    if (esm_session_output(s, index, &info, &data) != ESM_OK || info.dtype != want->dtype || info.ndim != want->ndim) return INFINITY;
    int64_t n = 1;
    for (int d = 0; d < info.ndim; d++) {
        if (info.shape[d] != want->shape[d]) return INFINITY;
        n *= info.shape[d];
    }
    double err = 0;
    for (int64_t i = 0; i < n; i++) {
        double a, b;
        switch (info.dtype) {
        case ESM_FLOAT32: a = ((const float *)data)[i]; b = ((const float *)want->data)[i]; break;
        case ESM_FLOAT64: a = ((const double *)data)[i]; b = ((const double *)want->data)[i]; break;
        case ESM_INT32: a = ((const int32_t *)data)[i]; b = ((const int32_t *)want->data)[i]; break;
        case ESM_INT64: a = (double)((const int64_t *)data)[i]; b = (double)((const int64_t *)want->data)[i]; break;
        default: a = ((const uint8_t *)data)[i]; b = ((const uint8_t *)want->data)[i]; break;
        }
        if (fabs(a - b) > err) err = fabs(a - b);
    }
    return err;
}

#endif
