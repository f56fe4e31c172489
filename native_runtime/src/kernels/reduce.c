/* reduce.c - sum and mean over a set of dims (attrs `dim`: ints, `keepdim`: bool).
 *
 * The input is walked once by the strided iterator together with an accumulator laid out
 * like the keepdim output, whose stride is 0 along the reduced dims: reducing the last dim
 * becomes a dot-like inner loop, reducing a leading dim a vectorized row add. Floating sums
 * accumulate in double (scratch), so long float32 sums stay accurate; integer and bool sums
 * accumulate in int64, as PyTorch's. */
#include <math.h>
#include <string.h>

#include "kernels.h"
#include "kutil.h"

typedef struct reduce_plan {
    int32_t ndim;
    uint8_t reduced[ESM_MAX_DIMS];
    int64_t count; /* elements folded into each output */
} reduce_plan;

static esm_status plan_reduction(esm_node_ctx *ctx, const esm_tensor *x, reduce_plan *plan)
{
    const int64_t *dims;
    int32_t ndims, k, d;
    int64_t keepdim;
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_attr_ints(ctx, "dim", &dims, &ndims));
    ESM_TRY(esm_attr_int(ctx, "keepdim", 0, &keepdim));
    if (!esm_attr_find(ctx, "dim")) ndims = -1; /* absent: every dim */
    memset(plan, 0, sizeof *plan);
    plan->ndim = x->ndim;
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
    return ESM_OK;
}

/* The accumulator's byte strides over the input's dims (0 along reduced dims). */
static void accumulator_strides(const esm_tensor *x, const reduce_plan *plan, size_t elem, int64_t *stride)
{
    int64_t step = (int64_t)elem;
    int32_t d;
    for (d = x->ndim - 1; d >= 0; d--) {
        stride[d] = plan->reduced[d] || x->shape[d] == 1 ? 0 : step;
        if (!plan->reduced[d]) step *= x->shape[d];
    }
}

#define SUM_LOOP(NAME, T, A)                                                              \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)      \
    {                                                                                     \
        int64_t i;                                                                        \
        (void)user;                                                                       \
        if (s[0] == 0) {                                                                  \
            A total = 0;                                                                  \
            if (s[1] == (int64_t)sizeof(T)) {                                             \
                const T *x = (const T *)p[1];                                             \
                for (i = 0; i < n; i++) total += (A)x[i];                                 \
            } else {                                                                      \
                for (i = 0; i < n; i++) total += (A) * (const T *)(p[1] + i * s[1]);      \
            }                                                                             \
            *(A *)p[0] += total;                                                          \
        } else if (s[0] == (int64_t)sizeof(A) && s[1] == (int64_t)sizeof(T)) {            \
            A *acc = (A *)p[0];                                                           \
            const T *x = (const T *)p[1];                                                 \
            for (i = 0; i < n; i++) acc[i] += (A)x[i];                                    \
        } else {                                                                          \
            for (i = 0; i < n; i++) *(A *)(p[0] + i * s[0]) += (A) * (const T *)(p[1] + i * s[1]); \
        }                                                                                 \
    }
SUM_LOOP(sum_f32, float, double)
SUM_LOOP(sum_f64, double, double)
SUM_LOOP(sum_i32, int32_t, uint64_t)
SUM_LOOP(sum_i64, int64_t, uint64_t)
SUM_LOOP(sum_b8, uint8_t, uint64_t)
static const esm_inner_fn sum_loops[5] = {sum_f32, sum_f64, sum_i32, sum_i64, sum_b8};

static esm_status sum_like_prepare(esm_node_ctx *ctx, unsigned dtypes)
{
    const esm_tensor *x;
    reduce_plan plan;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, dtypes));
    x = ctx->inputs[0];
    ESM_TRY(plan_reduction(ctx, x, &plan));
    ctx->outputs[0]->dtype = x->dtype == ESM_FLOAT32 || x->dtype == ESM_FLOAT64 ? x->dtype : ESM_INT64;
    ctx->scratch_bytes = (size_t)esm_numel(ctx->outputs[0]) * 8;
    return ESM_OK;
}

/* Accumulate into the scratch (double or uint64 per output element), then write out. */
static esm_status sum_like_eval(esm_node_ctx *ctx, int mean)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    reduce_plan plan;
    esm_iter it;
    int64_t stride[ESM_MAX_DIMS], i, n = esm_numel(out);
    ESM_TRY(plan_reduction(ctx, x, &plan));
    memset(ctx->scratch, 0, (size_t)n * 8);
    accumulator_strides(x, &plan, 8, stride);
    esm_iter_init(&it, x->ndim, x->shape);
    esm_iter_add_strided(&it, ctx->scratch, x->ndim, stride);
    esm_iter_add(&it, x);
    esm_iter_coalesce(&it);
    esm_iter_run(&it, sum_loops[x->dtype], NULL);
    if (out->dtype == ESM_INT64) {
        memcpy(out->data, ctx->scratch, (size_t)n * 8);
    } else {
        const double *acc = (const double *)ctx->scratch;
        double scale = mean ? 1.0 / (double)plan.count : 1.0;
        if (mean && plan.count == 0) scale = NAN; /* the mean of nothing */
        for (i = 0; i < n; i++) {
            if (out->dtype == ESM_FLOAT32) ((float *)out->data)[i] = (float)(acc[i] * scale);
            else ((double *)out->data)[i] = acc[i] * scale;
        }
    }
    return ESM_OK;
}

static esm_status sum_prepare(esm_node_ctx *ctx) { return sum_like_prepare(ctx, ESM_ANY); }
static esm_status sum_eval(esm_node_ctx *ctx) { return sum_like_eval(ctx, 0); }
static esm_status mean_prepare(esm_node_ctx *ctx) { return sum_like_prepare(ctx, ESM_FLOATS); }
static esm_status mean_eval(esm_node_ctx *ctx) { return sum_like_eval(ctx, 1); }

const esm_kernel esm_k_sum = {"sum", sum_prepare, sum_eval};
const esm_kernel esm_k_mean = {"mean", mean_prepare, mean_eval};
