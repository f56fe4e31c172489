/* norm.c - batch_norm (inference form: given per-channel mean and var) and layer_norm.
 * Statistics and per-channel affine terms are computed in double; the data pass runs in the
 * tensor's dtype. */
#include <math.h>

#include "kernels.h"
#include "kutil.h"

static esm_status check_vector(esm_node_ctx *ctx, int32_t i, int64_t length, const char *what)
{
    const esm_tensor *t = ctx->num_inputs > i ? ctx->inputs[i] : NULL;
    char buf[96];
    if (!t) return ESM_OK;
    if (t->dtype != ctx->inputs[0]->dtype || esm_numel(t) != length)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "%s %s %s does not match %lld elements of %s", what,
                               esm_dtype_name(t->dtype), esm_shape_str(t, buf, sizeof buf), (long long)length,
                               esm_dtype_name(ctx->inputs[0]->dtype));
    return ESM_OK;
}

static double element(const esm_tensor *t, int64_t i)
{
    return t->dtype == ESM_FLOAT32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

/* ---- batch_norm: (x, mean, var, weight?, bias?), attr eps; x is (N, C, *) -------------------- */
static esm_status batch_norm_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    char buf[96];
    int32_t i;
    ESM_TRY(esm_check_arity(ctx, 3, 5));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    x = ctx->inputs[0];
    if (x->ndim < 2)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "expects an input of at least 2 dims (N, C, ...), got %s",
                               esm_shape_str(x, buf, sizeof buf));
    if (!ctx->inputs[1] || !ctx->inputs[2]) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "needs mean and var");
    for (i = 1; i < ctx->num_inputs; i++) ESM_TRY(check_vector(ctx, i, x->shape[1], i == 1 ? "mean" : i == 2 ? "var" : i == 3 ? "weight" : "bias"));
    esm_set_output(ctx->outputs[0], x->dtype, x->ndim, x->shape);
    return ESM_OK;
}

static esm_status batch_norm_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0], *mean = ctx->inputs[1], *var = ctx->inputs[2];
    const esm_tensor *w = ctx->num_inputs > 3 ? ctx->inputs[3] : NULL, *b = ctx->num_inputs > 4 ? ctx->inputs[4] : NULL;
    int64_t channels = x->shape[1], lanes = x->shape[0] * channels;
    int64_t plane = lanes > 0 ? esm_numel(x) / lanes : 0, n, c, p;
    double eps;
    ESM_TRY(esm_attr_float(ctx, "eps", 1e-5, &eps));
    for (n = 0; n < x->shape[0]; n++)
        for (c = 0; c < channels; c++) {
            double scale = 1.0 / sqrt(element(var, c) + eps), shift;
            int64_t at = (n * channels + c) * plane;
            if (w) scale *= element(w, c);
            shift = (b ? element(b, c) : 0.0) - element(mean, c) * scale;
            if (x->dtype == ESM_FLOAT32) {
                const float *xs = (const float *)x->data + at;
                float *ys = (float *)ctx->outputs[0]->data + at, s = (float)scale, t = (float)shift;
                for (p = 0; p < plane; p++) ys[p] = xs[p] * s + t;
            } else {
                const double *xs = (const double *)x->data + at;
                double *ys = (double *)ctx->outputs[0]->data + at;
                for (p = 0; p < plane; p++) ys[p] = xs[p] * scale + shift;
            }
        }
    return ESM_OK;
}

/* ---- layer_norm: (x, weight?, bias?), attrs normalized_shape, eps ----------------------------- */
static esm_status layer_norm_inner(esm_node_ctx *ctx, int64_t *inner)
{
    const esm_tensor *x = ctx->inputs[0];
    const int64_t *shape;
    int32_t count, d;
    char buf[96];
    ESM_TRY(esm_attr_ints(ctx, "normalized_shape", &shape, &count));
    *inner = 1;
    if (count > x->ndim) count = -1;
    for (d = 0; d < count; d++) {
        if (x->shape[x->ndim - count + d] != shape[d]) count = -1;
        else *inner *= shape[d];
    }
    if (count < 0)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "input %s does not end in normalized_shape",
                               esm_shape_str(x, buf, sizeof buf));
    return ESM_OK;
}

static esm_status layer_norm_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    int64_t inner;
    ESM_TRY(esm_check_arity(ctx, 1, 3));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    x = ctx->inputs[0];
    ESM_TRY(layer_norm_inner(ctx, &inner));
    ESM_TRY(check_vector(ctx, 1, inner, "weight"));
    ESM_TRY(check_vector(ctx, 2, inner, "bias"));
    esm_set_output(ctx->outputs[0], x->dtype, x->ndim, x->shape);
    return ESM_OK;
}

/* A row's mean and biased variance, in double, each over 8 partial sums (the loops vectorize
 * without reassociation; one running sum costs an add latency per element); two passes, so a
 * large mean does not cancel the variance. */
#define ROW_STATS(NAME, T)                                                       \
    static void NAME(const T *x, int64_t n, double *mean, double *var)           \
    {                                                                            \
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0}, total = 0, m, d;              \
        int64_t i, full = n - n % 8;                                             \
        int l;                                                                   \
        for (i = 0; i < full; i += 8)                                            \
            for (l = 0; l < 8; l++) part[l] += (double)x[i + l];                 \
        for (; i < n; i++) total += (double)x[i];                                \
        for (l = 0; l < 8; l++) total += part[l], part[l] = 0;                   \
        m = total / (double)n, total = 0;                                        \
        for (i = 0; i < full; i += 8)                                            \
            for (l = 0; l < 8; l++) {                                            \
                d = (double)x[i + l] - m;                                        \
                part[l] += d * d;                                                \
            }                                                                    \
        for (; i < n; i++) total += ((double)x[i] - m) * ((double)x[i] - m);     \
        for (l = 0; l < 8; l++) total += part[l];                                \
        *mean = m, *var = total / (double)n;                                     \
    }
ROW_STATS(row_stats_f32, float)
ROW_STATS(row_stats_f64, double)

/* The affine terms are hoisted out of the element loop: w and b absent read as 1 and 0. */
#define LAYER_NORM_ROWS(NAME, T, STATS)                                                           \
    static void NAME(const T *x, const T *w, const T *b, T *y, int64_t rows, int64_t inner, double eps) \
    {                                                                                             \
        int64_t r, i;                                                                             \
        for (r = 0; r < rows; r++, x += inner, y += inner) {                                      \
            double mean, var;                                                                     \
            T m, s;                                                                               \
            STATS(x, inner, &mean, &var);                                                         \
            m = (T)mean, s = (T)(1.0 / sqrt(var + eps));                                          \
            if (w && b)                                                                           \
                for (i = 0; i < inner; i++) y[i] = (x[i] - m) * s * w[i] + b[i];                  \
            else                                                                                  \
                for (i = 0; i < inner; i++) y[i] = (x[i] - m) * s * (w ? w[i] : 1) + (b ? b[i] : 0); \
        }                                                                                         \
    }
LAYER_NORM_ROWS(layer_norm_f32, float, row_stats_f32)
LAYER_NORM_ROWS(layer_norm_f64, double, row_stats_f64)

static esm_status layer_norm_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    const esm_tensor *w = ctx->num_inputs > 1 ? ctx->inputs[1] : NULL, *b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    int64_t inner, rows;
    double eps;
    ESM_TRY(layer_norm_inner(ctx, &inner));
    ESM_TRY(esm_attr_float(ctx, "eps", 1e-5, &eps));
    rows = inner ? esm_numel(x) / inner : 0;
    if (x->dtype == ESM_FLOAT32)
        layer_norm_f32(x->data, w ? w->data : NULL, b ? b->data : NULL, ctx->outputs[0]->data, rows, inner, eps);
    else
        layer_norm_f64(x->data, w ? w->data : NULL, b ? b->data : NULL, ctx->outputs[0]->data, rows, inner, eps);
    return ESM_OK;
}

const esm_kernel esm_k_batch_norm = {"batch_norm", batch_norm_prepare, batch_norm_eval};
const esm_kernel esm_k_layer_norm = {"layer_norm", layer_norm_prepare, layer_norm_eval};
