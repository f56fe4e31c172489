/* softmax.c - softmax and log_softmax along one dim (attr `dim`), from x - max(x) so exp
 * never overflows. The tensor is viewed as (outer, length, inner); each (outer, inner) lane
 * is one strided row. A NaN anywhere in a lane makes the whole lane NaN, as the eager op. */
#include <math.h>

#include "kernels.h"
#include "kutil.h"
#include "vmath.h"

typedef struct lanes {
    int64_t outer, length, inner;
} lanes;

static esm_status plan_lanes(esm_node_ctx *ctx, lanes *l)
{
    const esm_tensor *x = ctx->inputs[0];
    int64_t dim;
    int32_t d, axis;
    ESM_TRY(esm_attr_int(ctx, "dim", -1, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim, &axis));
    l->outer = l->inner = 1;
    l->length = x->ndim ? x->shape[axis] : 1;
    for (d = 0; d < x->ndim; d++) {
        if (d < axis) l->outer *= x->shape[d];
        if (d > axis) l->inner *= x->shape[d];
    }
    return ESM_OK;
}

static esm_status softmax_prepare(esm_node_ctx *ctx)
{
    lanes l;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    ESM_TRY(plan_lanes(ctx, &l));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, ctx->inputs[0]->ndim, ctx->inputs[0]->shape);
    return ESM_OK;
}

/* e^y in place over a whole buffer: float32 in the vmath.h loop widened per CPU (AVX2 when
 * present), float64 through libm. */
ESM_VEC_FN(exp_all_f32, (float *restrict ys, int64_t n), (ys, n), {
    int64_t i;
    for (i = 0; i < n; i++) ys[i] = esm_expf(ys[i]);
})
static void exp_all_f64(double *ys, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) ys[i] = exp(ys[i]);
}

/* The sum of a row of stride s: 8 partial sums (no reassociation needed to vectorize). */
#define ROW_SUM(NAME, T)                                        \
    static T NAME(const T *ys, int64_t length, int64_t s)       \
    {                                                           \
        T part[8] = {0, 0, 0, 0, 0, 0, 0, 0}, total = 0;        \
        int64_t k;                                              \
        int l;                                                  \
        for (k = 0; k + 8 <= length; k += 8)                    \
            for (l = 0; l < 8; l++) part[l] += ys[(k + l) * s]; \
        for (; k < length; k++) total += ys[k * s];             \
        for (l = 0; l < 8; l++) total += part[l];               \
        return total;                                           \
    }
ROW_SUM(row_sum_f32, float)
ROW_SUM(row_sum_f64, double)

/* Every lane: softmax (log_form 0) or log_softmax (1). A last-dim softmax (inner == 1) runs
 * on contiguous rows in three passes over the whole tensor - x - max per row, one exp loop
 * over everything (rows are often shorter than a vector: attention's are 6-64 long), then
 * sum and scale per row; other dims and log_softmax walk lanes with stride `inner`. */
#define SOFTMAX_LANES(NAME, T, EXP, LOG, EXP_ALL, ROW_SUM)                                    \
    static void NAME##_contiguous(const lanes *l, const T *x, T *y)                          \
    {                                                                                        \
        int64_t o, k, length = l->length;                                                    \
        for (o = 0; o < l->outer; o++) {                                                     \
            const T *xs = x + o * length;                                                    \
            T top = xs[0], *ys = y + o * length;                                             \
            for (k = 1; k < length; k++)                                                     \
                if (xs[k] > top || xs[k] != xs[k]) top = xs[k];                              \
            for (k = 0; k < length; k++) ys[k] = xs[k] - top;                                \
        }                                                                                    \
        EXP_ALL(y, l->outer * length);                                                       \
        for (o = 0; o < l->outer; o++) {                                                     \
            T *ys = y + o * length, inv = (T)1 / ROW_SUM(ys, length, 1);                        \
            for (k = 0; k < length; k++) ys[k] *= inv;                                       \
        }                                                                                    \
    }                                                                                        \
    static void NAME##_row(const T *restrict xs, T *restrict ys, int64_t length, int64_t s,  \
                           int log_form)                                                     \
    {                                                                                        \
        int64_t k;                                                                           \
        T top = xs[0], total;                                                                \
        for (k = 1; k < length; k++)                                                         \
            if (xs[k * s] > top || xs[k * s] != xs[k * s]) top = xs[k * s];                  \
        for (k = 0; k < length; k++) ys[k * s] = EXP(xs[k * s] - top);                       \
        total = ROW_SUM(ys, length, s);                                                      \
        if (log_form) {                                                                      \
            T shift = top + LOG(total);                                                      \
            for (k = 0; k < length; k++) ys[k * s] = xs[k * s] - shift;                     \
        } else {                                                                             \
            T inv = (T)1 / total;                                                            \
            for (k = 0; k < length; k++) ys[k * s] *= inv;                                   \
        }                                                                                    \
    }                                                                                        \
    static void NAME(const lanes *l, const T *x, T *y, int log_form)                         \
    {                                                                                        \
        int64_t o, i, s = l->inner;                                                          \
        if (s == 1 && !log_form && l->length > 0) {                                          \
            NAME##_contiguous(l, x, y);                                                      \
            return;                                                                          \
        }                                                                                    \
        for (o = 0; o < l->outer; o++)                                                       \
            for (i = 0; i < s; i++) {                                                        \
                int64_t at = o * l->length * s + i;                                          \
                if (s == 1) NAME##_row(x + at, y + at, l->length, 1, log_form);              \
                else NAME##_row(x + at, y + at, l->length, s, log_form);                     \
            }                                                                                \
    }
SOFTMAX_LANES(softmax_f32, float, esm_expf, logf, exp_all_f32, row_sum_f32)
SOFTMAX_LANES(softmax_f64, double, exp, log, exp_all_f64, row_sum_f64)

static esm_status run(esm_node_ctx *ctx, int log_form)
{
    const esm_tensor *x = ctx->inputs[0];
    lanes l;
    ESM_TRY(plan_lanes(ctx, &l));
    if (x->dtype == ESM_FLOAT32) softmax_f32(&l, x->data, ctx->outputs[0]->data, log_form);
    else softmax_f64(&l, x->data, ctx->outputs[0]->data, log_form);
    return ESM_OK;
}

static esm_status softmax_eval(esm_node_ctx *ctx) { return run(ctx, 0); }
static esm_status log_softmax_eval(esm_node_ctx *ctx) { return run(ctx, 1); }

const esm_kernel esm_k_softmax = {"softmax", softmax_prepare, softmax_eval};
const esm_kernel esm_k_log_softmax = {"log_softmax", softmax_prepare, log_softmax_eval};
