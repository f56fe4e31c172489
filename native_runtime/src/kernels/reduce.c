/* reduce.c - reductions over a set of dims (attrs `dim`: ints, `keepdim`: bool): sum, mean,
 * prod, amax, amin, var (attr `correction`), logsumexp; and argmax/argmin (one dim or all).
 *
 * The input is walked once by the strided iterator together with an accumulator laid out
 * like the keepdim output, whose stride is 0 along the reduced dims: reducing the last dim
 * becomes a dot-like inner loop, reducing a leading dim a vectorized row update. Accumulators
 * live in scratch: double for floating inputs (long float32 sums stay accurate), int64 for
 * integers and bools (sums wrap through uint64 as PyTorch's do). var and logsumexp make a
 * second pass against the first pass's mean / max. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "kutil.h"

typedef struct reduce_plan {
    uint8_t reduced[ESM_MAX_DIMS];
    int64_t count; /* elements folded into each output */
    int64_t outputs;
} reduce_plan;

static esm_status plan_reduction(esm_node_ctx *ctx, const esm_tensor *x, reduce_plan *plan)
{
    const int64_t *dims;
    int32_t ndims, k, d;
    int64_t keepdim;
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_attr_ints(ctx, "dim", &dims, &ndims));
    ESM_TRY(esm_attr_int(ctx, "keepdim", 0, &keepdim));
    if (!esm_attr_find(ctx, "dim")) ndims = -1; /* absent or None: every dim */
    memset(plan, 0, sizeof *plan);
    plan->count = 1;
    for (k = 0; k < (ndims < 0 ? x->ndim : ndims); k++) {
        ESM_TRY(esm_normalize_dim(ctx, ndims < 0 ? k : dims[k], x->ndim, &d));
        if (x->ndim == 0) continue;
        if (plan->reduced[d])
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "dim %d appears twice", (int)d);
        plan->reduced[d] = 1;
        plan->count *= x->shape[d];
    }
    out->ndim = 0;
    for (d = 0; d < x->ndim; d++) {
        if (!plan->reduced[d]) out->shape[out->ndim++] = x->shape[d];
        else if (keepdim) out->shape[out->ndim++] = 1;
    }
    plan->outputs = esm_numel(out);
    return ESM_OK;
}

/* One pass over x: operand 0 the 8-byte accumulators, [operand 1 the first pass's result],
 * last operand x. */
static void fold(const esm_tensor *x, const reduce_plan *plan, void *acc, const void *aux, esm_inner_fn loop)
{
    int64_t stride[ESM_MAX_DIMS], step = 8;
    int32_t d;
    esm_iter it;
    for (d = x->ndim - 1; d >= 0; d--) {
        stride[d] = plan->reduced[d] || x->shape[d] == 1 ? 0 : step;
        if (!plan->reduced[d]) step *= x->shape[d];
    }
    esm_iter_init(&it, x->ndim, x->shape);
    esm_iter_add_strided(&it, acc, x->ndim, stride);
    if (aux) esm_iter_add_strided(&it, aux, x->ndim, stride);
    esm_iter_add(&it, x);
    esm_iter_coalesce(&it);
    esm_iter_run(&it, loop, NULL);
}

/* acc (A) <- UPDATE(acc, v) for every element v of x (T), through byte strides. */
#define FOLD_LOOP(NAME, T, A, UPDATE)                                                         \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)          \
    {                                                                                         \
        int64_t i;                                                                            \
        (void)user;                                                                           \
        for (i = 0; i < n; i++) {                                                             \
            A v = (A) * (const T *)(p[1] + i * s[1]);                                         \
            UPDATE(*(A *)(p[0] + i * s[0]), v);                                               \
        }                                                                                     \
    }

/* The same with fast paths for a reduced inner dim and for a contiguous row update (for the
 * float inputs models reduce; integer reductions take the plain loop, to keep code small). */
#define FOLD_LOOP_FAST(NAME, T, A, UPDATE)                                                    \
    FOLD_LOOP(NAME##_strided, T, A, UPDATE)                                                   \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)          \
    {                                                                                         \
        int64_t i;                                                                            \
        if (s[0] == 0 && s[1] == (int64_t)sizeof(T)) {                                        \
            A acc = *(A *)p[0];                                                               \
            const T *x = (const T *)p[1];                                                     \
            for (i = 0; i < n; i++) { A v = (A)x[i]; UPDATE(acc, v); }                       \
            *(A *)p[0] = acc;                                                                 \
        } else if (s[0] == (int64_t)sizeof(A) && s[1] == (int64_t)sizeof(T)) {                \
            A *acc = (A *)p[0];                                                               \
            const T *x = (const T *)p[1];                                                     \
            for (i = 0; i < n; i++) { A v = (A)x[i]; UPDATE(acc[i], v); }                    \
        } else {                                                                              \
            NAME##_strided(n, p, s, user);                                                    \
        }                                                                                     \
    }

#define ADD(a, v) (a) += (v)
#define MUL(a, v) (a) *= (v)
#define MAX(a, v) (a) = ((v) > (a) || (v) != (v)) ? (v) : (a)
#define MIN(a, v) (a) = ((v) < (a) || (v) != (v)) ? (v) : (a)

#define FOLDS(OP, UPDATE, IA)                                      \
    FOLD_LOOP_FAST(OP##_f32, float, double, UPDATE)                \
    FOLD_LOOP_FAST(OP##_f64, double, double, UPDATE)               \
    FOLD_LOOP(OP##_i32, int32_t, IA, UPDATE)                       \
    FOLD_LOOP(OP##_i64, int64_t, IA, UPDATE)                       \
    FOLD_LOOP(OP##_b8, uint8_t, IA, UPDATE)                        \
    static const esm_inner_fn OP##_loops[5] = {OP##_f32, OP##_f64, OP##_i32, OP##_i64, OP##_b8};
FOLDS(sum, ADD, uint64_t)
FOLDS(prod, MUL, uint64_t)
FOLDS(amax, MAX, int64_t)
FOLDS(amin, MIN, int64_t)

/* Second passes: acc (double) += f(x, aux). */
#define AUX_LOOP(NAME, T, EXPR)                                                               \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)          \
    {                                                                                         \
        int64_t i;                                                                            \
        (void)user;                                                                           \
        for (i = 0; i < n; i++) {                                                             \
            double x = (double)*(const T *)(p[2] + i * s[2]), m = *(const double *)(p[1] + i * s[1]); \
            *(double *)(p[0] + i * s[0]) += EXPR;                                             \
        }                                                                                     \
    }
AUX_LOOP(sqdev_f32, float, (x - m) * (x - m))
AUX_LOOP(sqdev_f64, double, (x - m) * (x - m))
AUX_LOOP(expdev_f32, float, exp(x - m))
AUX_LOOP(expdev_f64, double, exp(x - m))

typedef enum { R_SUM, R_MEAN, R_PROD, R_AMAX, R_AMIN, R_VAR, R_LOGSUMEXP } reduction;

static int is_float(esm_dtype t) { return t == ESM_FLOAT32 || t == ESM_FLOAT64; }

static void fill(void *acc, int64_t n, reduction r, esm_dtype in)
{
    int64_t i;
    double *d = (double *)acc;
    int64_t *q = (int64_t *)acc;
    if (r == R_SUM || r == R_MEAN || r == R_VAR || r == R_LOGSUMEXP) {
        memset(acc, 0, (size_t)n * 8); /* 0.0 and 0 share the bit pattern */
        return;
    }
    for (i = 0; i < n; i++) {
        if (is_float(in)) d[i] = r == R_PROD ? 1.0 : r == R_AMAX ? -HUGE_VAL : HUGE_VAL;
        else q[i] = r == R_PROD ? 1 : r == R_AMAX ? INT64_MIN : INT64_MAX;
    }
}

/* out[i] = acc[i] (double or int64) converted to out's dtype. */
static void write_out(const void *acc, int64_t n, esm_tensor *out, int acc_is_double)
{
    const double *d = (const double *)acc;
    const int64_t *q = (const int64_t *)acc;
    int64_t i;
    for (i = 0; i < n; i++) {
        double v = acc_is_double ? d[i] : 0.0;
        int64_t w = acc_is_double ? 0 : q[i];
        switch (out->dtype) {
        case ESM_FLOAT32: ((float *)out->data)[i] = (float)v; break;
        case ESM_FLOAT64: ((double *)out->data)[i] = v; break;
        case ESM_INT32: ((int32_t *)out->data)[i] = (int32_t)w; break;
        case ESM_INT64: ((int64_t *)out->data)[i] = w; break;
        case ESM_BOOL: ((uint8_t *)out->data)[i] = w != 0; break;
        }
    }
}

static esm_status reduce_prepare(esm_node_ctx *ctx, reduction r)
{
    const esm_tensor *x;
    reduce_plan plan;
    int floats_only = r == R_MEAN || r == R_VAR || r == R_LOGSUMEXP;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, floats_only ? ESM_FLOATS : ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(plan_reduction(ctx, x, &plan));
    ctx->outputs[0]->dtype = (r == R_SUM || r == R_PROD) && !is_float(x->dtype) ? ESM_INT64 : x->dtype;
    ctx->scratch_bytes = (size_t)plan.outputs * 8 * 2;
    return ESM_OK;
}

static esm_status reduce_eval(esm_node_ctx *ctx, reduction r)
{
    static const esm_inner_fn *const first_pass[] = {sum_loops, sum_loops, prod_loops, amax_loops, amin_loops,
                                                     sum_loops, amax_loops};
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    reduce_plan plan;
    double *acc = (double *)ctx->scratch, *acc2, scale = 1.0;
    int64_t i, correction;
    ESM_TRY(plan_reduction(ctx, x, &plan));
    ESM_TRY(esm_attr_int(ctx, "correction", 1, &correction));
    if (plan.outputs == 0) return ESM_OK; /* an empty result: no scratch (NULL), nothing to write */
    acc2 = acc + plan.outputs;
    fill(acc, plan.outputs, r, x->dtype);
    fold(x, &plan, acc, NULL, first_pass[r][x->dtype]);
    if (r == R_MEAN || r == R_VAR)
        for (i = 0; i < plan.outputs; i++) acc[i] = plan.count ? acc[i] / (double)plan.count : NAN;
    if (r == R_VAR) {
        memset(acc2, 0, (size_t)plan.outputs * 8);
        fold(x, &plan, acc2, acc, x->dtype == ESM_FLOAT32 ? sqdev_f32 : sqdev_f64);
        /* degrees of freedom at or below zero give inf or nan, as PyTorch */
        scale = plan.count > correction ? 1.0 / (double)(plan.count - correction) : HUGE_VAL;
        for (i = 0; i < plan.outputs; i++) acc[i] = scale == HUGE_VAL ? acc2[i] / 0.0 : acc2[i] * scale;
    } else if (r == R_LOGSUMEXP) {
        for (i = 0; i < plan.outputs; i++)
            if (!isfinite(acc[i])) acc[i] = 0.0; /* all -inf (or inf) lanes: no shift */
        memset(acc2, 0, (size_t)plan.outputs * 8);
        fold(x, &plan, acc2, acc, x->dtype == ESM_FLOAT32 ? expdev_f32 : expdev_f64);
        for (i = 0; i < plan.outputs; i++) acc[i] = log(acc2[i]) + acc[i];
    }
    write_out(acc, plan.outputs, out, is_float(x->dtype));
    return ESM_OK;
}

#define REDUCE_KERNEL(NAME, R)                                                               \
    static esm_status NAME##_prepare(esm_node_ctx *ctx) { return reduce_prepare(ctx, R); }   \
    static esm_status NAME##_eval(esm_node_ctx *ctx) { return reduce_eval(ctx, R); }         \
    const esm_kernel esm_k_##NAME = {#NAME, NAME##_prepare, NAME##_eval};
REDUCE_KERNEL(sum, R_SUM)
REDUCE_KERNEL(mean, R_MEAN)
REDUCE_KERNEL(prod, R_PROD)
REDUCE_KERNEL(amax, R_AMAX)
REDUCE_KERNEL(amin, R_AMIN)
REDUCE_KERNEL(var, R_VAR)
REDUCE_KERNEL(logsumexp, R_LOGSUMEXP)

/* ---- argmax / argmin: attr `dim` (an int, or absent/None: the flattened input), keepdim ----- */
typedef struct arg_plan {
    int64_t outer, length, inner;
} arg_plan;

static esm_status plan_arg(esm_node_ctx *ctx, arg_plan *plan)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int64_t dim, keepdim;
    int32_t d, axis = -1;
    ESM_TRY(esm_attr_int(ctx, "keepdim", 0, &keepdim));
    if (esm_attr_find(ctx, "dim")) {
        ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
        ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim, &axis));
    }
    if (esm_numel(x) == 0) return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "of an empty tensor");
    plan->outer = plan->inner = 1;
    plan->length = axis < 0 ? esm_numel(x) : x->ndim ? x->shape[axis] : 1;
    out->dtype = ESM_INT64;
    out->ndim = 0;
    for (d = 0; d < x->ndim; d++) {
        if (axis >= 0 && d < axis) plan->outer *= x->shape[d];
        if (axis >= 0 && d > axis) plan->inner *= x->shape[d];
        if (d == axis || axis < 0) {
            if (keepdim) out->shape[out->ndim++] = 1;
        } else {
            out->shape[out->ndim++] = x->shape[d];
        }
    }
    return ESM_OK;
}

/* The first extreme of each lane wins; the first NaN wins over everything (NumPy). */
#define ARG_LOOP(NAME, T, CMP)                                                                   \
    static void NAME(const arg_plan *p, const T *x, int64_t *y)                                  \
    {                                                                                            \
        int64_t o, i, k;                                                                         \
        for (o = 0; o < p->outer; o++)                                                           \
            for (i = 0; i < p->inner; i++) {                                                     \
                const T *lane = x + o * p->length * p->inner + i;                                \
                int64_t best = 0;                                                                \
                T top = lane[0];                                                                 \
                for (k = 1; k < p->length && top == top; k++) {                                  \
                    T v = lane[k * p->inner];                                                    \
                    if (v CMP top || v != v) best = k, top = v;                                  \
                }                                                                                \
                *y++ = best;                                                                     \
            }                                                                                    \
    }
#define ARG_LOOPS(OP, CMP)                          \
    ARG_LOOP(OP##_f32, float, CMP)                  \
    ARG_LOOP(OP##_f64, double, CMP)                 \
    ARG_LOOP(OP##_i32, int32_t, CMP)                \
    ARG_LOOP(OP##_i64, int64_t, CMP)                \
    ARG_LOOP(OP##_b8, uint8_t, CMP)
ARG_LOOPS(argmax, >)
ARG_LOOPS(argmin, <)

static esm_status arg_prepare(esm_node_ctx *ctx)
{
    arg_plan plan;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    return plan_arg(ctx, &plan);
}

#define ARG_KERNEL(OP)                                                                           \
    static esm_status OP##_eval(esm_node_ctx *ctx)                                               \
    {                                                                                            \
        const esm_tensor *x = ctx->inputs[0];                                                    \
        int64_t *y = (int64_t *)ctx->outputs[0]->data;                                           \
        arg_plan plan;                                                                           \
        ESM_TRY(plan_arg(ctx, &plan));                                                           \
        switch (x->dtype) {                                                                      \
        case ESM_FLOAT32: OP##_f32(&plan, x->data, y); break;                                    \
        case ESM_FLOAT64: OP##_f64(&plan, x->data, y); break;                                    \
        case ESM_INT32: OP##_i32(&plan, x->data, y); break;                                      \
        case ESM_INT64: OP##_i64(&plan, x->data, y); break;                                      \
        case ESM_BOOL: OP##_b8(&plan, x->data, y); break;                                        \
        }                                                                                        \
        return ESM_OK;                                                                           \
    }                                                                                            \
    const esm_kernel esm_k_##OP = {#OP, arg_prepare, OP##_eval};
ARG_KERNEL(argmax)
ARG_KERNEL(argmin)

/* ---- cumsum: attr `dim`; integer and bool inputs give int64, floats accumulate in their own
 * dtype (sequentially, as NumPy's cumsum) ------------------------------------------------------ */
static esm_status cumsum_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    int64_t dim;
    int32_t axis;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim, &axis));
    esm_set_output(ctx->outputs[0], is_float(x->dtype) ? x->dtype : ESM_INT64, x->ndim, x->shape);
    return ESM_OK;
}

#define CUMSUM_LOOP(NAME, T, R)                                                                  \
    static void NAME(const arg_plan *p, const T *x, R *y)                                        \
    {                                                                                            \
        int64_t o, i, k;                                                                         \
        for (o = 0; o < p->outer; o++)                                                           \
            for (i = 0; i < p->inner; i++) {                                                     \
                int64_t at = o * p->length * p->inner + i;                                       \
                R run = 0;                                                                       \
                for (k = 0; k < p->length; k++, at += p->inner) y[at] = run = (R)(run + (R)x[at]); \
            }                                                                                    \
    }
CUMSUM_LOOP(cumsum_f32, float, float)
CUMSUM_LOOP(cumsum_f64, double, double)
CUMSUM_LOOP(cumsum_i32, int32_t, int64_t)
CUMSUM_LOOP(cumsum_i64, int64_t, int64_t)
CUMSUM_LOOP(cumsum_b8, uint8_t, int64_t)

static esm_status cumsum_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    void *y = ctx->outputs[0]->data;
    arg_plan p;
    int64_t dim;
    int32_t axis, d;
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim, &axis));
    p.outer = p.inner = 1;
    p.length = x->ndim ? x->shape[axis] : 1;
    for (d = 0; d < x->ndim; d++) {
        if (d < axis) p.outer *= x->shape[d];
        if (d > axis) p.inner *= x->shape[d];
    }
    switch (x->dtype) {
    case ESM_FLOAT32: cumsum_f32(&p, x->data, y); break;
    case ESM_FLOAT64: cumsum_f64(&p, x->data, y); break;
    case ESM_INT32: cumsum_i32(&p, x->data, y); break;
    case ESM_INT64: cumsum_i64(&p, x->data, y); break;
    case ESM_BOOL: cumsum_b8(&p, x->data, y); break;
    }
    return ESM_OK;
}

const esm_kernel esm_k_cumsum = {"cumsum", cumsum_prepare, cumsum_eval};
