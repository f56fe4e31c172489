/* kernel_harness.h - calling one kernel by hand: a node with hand-built inputs and attributes,
 * prepare + eval the way the core does, outputs and scratch from malloc (tests only). */
#ifndef ESM_KERNEL_HARNESS_H
#define ESM_KERNEL_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/kernel_api.h"

#define H_MAX_IO 8

typedef struct test_node {
    esm_tensor in[H_MAX_IO];
    const esm_tensor *in_ptr[H_MAX_IO];
    esm_tensor out[3];
    esm_tensor *out_ptr[3];
    esm_attr attrs[8];
    esm_node_ctx ctx;
    char error[ESM_ERROR_LEN];
    void *scratch;
} test_node;

static int failures, checks;

/* The core's esm_parallel_for (src/threads.c) is not linked here: this one runs every item
 * alone, last first, on the slots in turn, so a kernel that splits work for several threads is
 * checked to give the same result whatever the order of its chunks and whichever slot runs them. */
void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg)
{
    int64_t i;
    int32_t slots = ctx && ctx->num_threads > 1 ? ctx->num_threads : 1;
    (void)grain;
    for (i = n - 1; i >= 0; i--) fn(arg, (int32_t)(i % slots), i, i + 1);
}

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
        }                                                                  \
    } while (0)

static void node_init(test_node *t, const char *op)
{
    int i;
    memset(t, 0, sizeof *t);
    t->ctx.op = op;
    t->ctx.inputs = t->in_ptr;
    t->ctx.outputs = t->out_ptr;
    t->ctx.attrs = t->attrs;
    t->ctx.error = t->error;
    t->ctx.num_outputs = 1;
    t->ctx.num_threads = 1;
    for (i = 0; i < 3; i++) t->out_ptr[i] = &t->out[i];
}

/* Append an input (data NULL with ndim < 0: an omitted optional input). */
static void node_input(test_node *t, esm_dtype dtype, int ndim, const int64_t *shape, const void *data)
{
    int k = t->ctx.num_inputs++, d;
    if (ndim < 0) {
        t->in_ptr[k] = NULL;
        return;
    }
    t->in[k].dtype = dtype;
    t->in[k].ndim = ndim;
    for (d = 0; d < ndim; d++) t->in[k].shape[d] = shape[d];
    t->in[k].data = (void *)(size_t)data;
    t->in_ptr[k] = &t->in[k];
}

static esm_attr *node_attr(test_node *t, const char *name, esm_attr_kind kind)
{
    esm_attr *a = &t->attrs[t->ctx.num_attrs++];
    a->name = name;
    a->kind = kind;
    return a;
}

static void attr_int(test_node *t, const char *name, int64_t v) { node_attr(t, name, ESM_ATTR_INT)->i = v; }
static void attr_bool(test_node *t, const char *name, int v) { node_attr(t, name, ESM_ATTR_BOOL)->i = v; }
static void attr_float(test_node *t, const char *name, double v) { node_attr(t, name, ESM_ATTR_FLOAT)->f = v; }
static void attr_dtype(test_node *t, const char *name, esm_dtype v) { node_attr(t, name, ESM_ATTR_DTYPE)->i = v; }
static void attr_string(test_node *t, const char *name, const char *s)
{
    esm_attr *a = node_attr(t, name, ESM_ATTR_STRING);
    a->s = s;
    a->count = (int32_t)strlen(s);
}
static void attr_ints(test_node *t, const char *name, const int64_t *v, int count)
{
    esm_attr *a = node_attr(t, name, ESM_ATTR_INTS);
    a->ints = v;
    a->count = count;
}

/* prepare, allocate, eval; returns the first non-OK status. */
static esm_status node_run(test_node *t)
{
    const esm_kernel *k = esm_find_kernel(t->ctx.op);
    esm_status s;
    int i;
    if (!k) {
        snprintf(t->error, sizeof t->error, "no kernel named %s", t->ctx.op);
        return ESM_ERR_UNSUPPORTED;
    }
    s = k->prepare(&t->ctx);
    if (s != ESM_OK) return s;
    for (i = 0; i < t->ctx.num_outputs; i++) {
        size_t bytes = (size_t)esm_numel(&t->out[i]) * esm_dtype_size(t->out[i].dtype);
        t->out[i].data = calloc(1, bytes ? bytes : 1);
    }
    t->scratch = t->ctx.scratch_bytes ? malloc(t->ctx.scratch_bytes) : NULL;
    t->ctx.scratch = t->scratch;
    return k->eval(&t->ctx);
}

static void node_free(test_node *t)
{
    int i;
    for (i = 0; i < 3; i++) free(t->out[i].data);
    free(t->scratch);
}

static int shape_is(const esm_tensor *t, int ndim, const int64_t *shape)
{
    int d;
    if (t->ndim != ndim) return 0;
    for (d = 0; d < ndim; d++)
        if (t->shape[d] != shape[d]) return 0;
    return 1;
}

static int close_f(double got, double want, double tol)
{
    if (want != want) return got != got;
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * (1.0 + fabs(want));
}

static void check_f32(const char *what, const float *got, const double *want, int64_t n, double tol)
{
    int64_t i;
    for (i = 0; i < n; i++)
        if (!close_f(got[i], want[i], tol)) {
            CHECK(0, "%s[%lld] = %.9g, expected %.9g", what, (long long)i, got[i], want[i]);
            return;
        }
    checks++;
}

#endif
