/* matmul.c - matmul (NumPy/PyTorch semantics: 1-d operands, broadcast batch dims) and
 * linear (x @ w.T + b). float32 runs on the packed SGEMM; float64 and integer products use
 * a plain triple loop (correct, not tuned: models export float32). Both apply an optional fused
 * activation (kutil.h's esm_attr_activation) to each product's output. */
#include "gemm.h"
#include "kernels.h"
#include "kutil.h"

/* A matrix product in any dtype, through element strides. */
#define NAIVE_MM(NAME, T)                                                                     \
    static void NAME(const esm_gemm *g, const void *a_, const void *b_, const void *bias_, void *c_) \
    {                                                                                         \
        const T *a = (const T *)a_, *b = (const T *)b_, *bias = (const T *)bias_;             \
        T *c = (T *)c_;                                                                       \
        int64_t i, j, p;                                                                      \
        for (i = 0; i < g->m; i++)                                                            \
            for (j = 0; j < g->n; j++) {                                                      \
                T acc = bias ? bias[j] : (T)0;                                                \
                for (p = 0; p < g->k; p++) acc += a[i * g->a_rs + p * g->a_cs] * b[p * g->b_rs + j * g->b_cs]; \
                c[i * g->ldc + j] = acc;                                                      \
            }                                                                                 \
    }
NAIVE_MM(naive_f64, double)
NAIVE_MM(naive_i32, int32_t)
NAIVE_MM(naive_i64, int64_t)

/* g's sizes and strides with the data pointers passed apart (they may be any dtype); then the
 * fused activation `act` on this product's m x n result while it is still in cache. */
static esm_status product(esm_node_ctx *ctx, esm_gemm *g, const void *a, const void *b, const void *bias, void *c,
                          esm_dtype dtype, int act)
{
    switch (dtype) {
    case ESM_FLOAT32:
        g->a = (const float *)a;
        g->b = (const float *)b;
        g->c = (float *)c;
        g->bias = (const float *)bias;
        esm_sgemm_run(ctx, g, ctx->scratch);
        break;
    case ESM_FLOAT64: naive_f64(g, a, b, bias, c); break;
    case ESM_INT32: naive_i32(g, a, b, bias, c); break;
    case ESM_INT64: naive_i64(g, a, b, bias, c); break;
    default: return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "no kernel for dtype %s", esm_dtype_name(dtype));
    }
    esm_activation_apply(act, dtype, c, g->m * g->n);
    return ESM_OK;
}

/* ---- matmul ---------------------------------------------------------------------------------- */
/* The operands viewed as batches of matrices: a (batch.., n, k), b (batch.., k, m). */
typedef struct mm_plan {
    int64_t n, k, m;
    int32_t batch_ndim;
    int64_t batch[ESM_MAX_DIMS];
    int64_t a_step[ESM_MAX_DIMS], b_step[ESM_MAX_DIMS]; /* element strides per batch dim (0: broadcast) */
    int fold; /* b is one matrix for every batch: fold a's batch into n */
} mm_plan;

static void batch_steps(const esm_tensor *t, int32_t mat_dims, const mm_plan *plan, int64_t matrix, int64_t *step)
{
    int32_t tb = t->ndim - mat_dims, lead = plan->batch_ndim - tb, d;
    int64_t s = matrix;
    for (d = plan->batch_ndim - 1; d >= 0; d--) {
        int64_t size = d >= lead ? t->shape[d - lead] : 1;
        step[d] = size == 1 ? 0 : s;
        s *= size;
    }
}

static esm_status plan_matmul(esm_node_ctx *ctx, mm_plan *plan)
{
    const esm_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    esm_tensor *out = ctx->outputs[0];
    int32_t a_mat = a->ndim == 1 ? 1 : 2, b_mat = b->ndim == 1 ? 1 : 2, d;
    int64_t kb;
    char sa[96], sb[96];
    if (a->ndim == 0 || b->ndim == 0)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "both operands need at least 1 dim, got %s and %s",
                               esm_shape_str(a, sa, sizeof sa), esm_shape_str(b, sb, sizeof sb));
    plan->n = a->ndim == 1 ? 1 : a->shape[a->ndim - 2];
    plan->k = a->shape[a->ndim - 1];
    kb = b->ndim == 1 ? b->shape[0] : b->shape[b->ndim - 2];
    plan->m = b->ndim == 1 ? 1 : b->shape[b->ndim - 1];
    if (kb != plan->k)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "cannot multiply %s by %s: inner dimensions %lld and %lld differ",
                               esm_shape_str(a, sa, sizeof sa), esm_shape_str(b, sb, sizeof sb),
                               (long long)plan->k, (long long)kb);
    /* batch dims broadcast like elementwise operands */
    plan->batch_ndim = a->ndim - a_mat > b->ndim - b_mat ? a->ndim - a_mat : b->ndim - b_mat;
    for (d = 0; d < plan->batch_ndim; d++) {
        int32_t da = d - (plan->batch_ndim - (a->ndim - a_mat)), db = d - (plan->batch_ndim - (b->ndim - b_mat));
        int64_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
        if (x != y && x != 1 && y != 1)
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "batch dims of %s and %s cannot be broadcast together",
                                   esm_shape_str(a, sa, sizeof sa), esm_shape_str(b, sb, sizeof sb));
        plan->batch[d] = x == 1 ? y : x;
    }
    batch_steps(a, a_mat, plan, plan->n * plan->k, plan->a_step);
    batch_steps(b, b_mat, plan, plan->k * plan->m, plan->b_step);
    plan->fold = 1;
    for (d = 0; d < plan->batch_ndim; d++)
        if (plan->b_step[d] != 0 || (plan->a_step[d] == 0 && plan->batch[d] != 1)) plan->fold = 0;
    out->dtype = a->dtype;
    out->ndim = 0;
    for (d = 0; d < plan->batch_ndim; d++) out->shape[out->ndim++] = plan->batch[d];
    if (a->ndim > 1) out->shape[out->ndim++] = plan->n;
    if (b->ndim > 1) out->shape[out->ndim++] = plan->m;
    return ESM_OK;
}

static int64_t batch_count(const mm_plan *plan)
{
    int64_t count = 1;
    int32_t d;
    for (d = 0; d < plan->batch_ndim; d++) count *= plan->batch[d];
    return count;
}

static esm_status matmul_prepare(esm_node_ctx *ctx)
{
    mm_plan plan;
    int64_t rows;
    int act;
    ESM_TRY(esm_check_arity(ctx, 2, 2));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_NUMERIC));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_NUMERIC));
    ESM_TRY(esm_check_same_dtype(ctx, 0));
    ESM_TRY(esm_attr_activation(ctx, &act));
    ESM_TRY(plan_matmul(ctx, &plan));
    rows = plan.fold ? plan.n * batch_count(&plan) : plan.n;
    if (ctx->inputs[0]->dtype == ESM_FLOAT32) ctx->scratch_bytes = esm_sgemm_scratch_threads(ctx, rows, plan.m, plan.k);
    return ESM_OK;
}

static esm_status matmul_eval(esm_node_ctx *ctx)
{
    const esm_tensor *a = ctx->inputs[0], *b = ctx->inputs[1];
    esm_tensor *out = ctx->outputs[0];
    size_t elem = esm_dtype_size(a->dtype);
    int64_t index[ESM_MAX_DIMS] = {0}, a_off = 0, b_off = 0, c_off = 0, count;
    int32_t d;
    int act;
    mm_plan plan;
    esm_gemm g = {0};
    ESM_TRY(esm_attr_activation(ctx, &act));
    ESM_TRY(plan_matmul(ctx, &plan));
    count = batch_count(&plan);
    g.m = plan.fold ? plan.n * count : plan.n;
    g.n = plan.m;
    g.k = plan.k;
    g.a_rs = plan.k, g.a_cs = 1, g.b_rs = plan.m, g.b_cs = 1, g.ldc = plan.m;
    if (plan.fold) count = 1;
    while (count-- > 0) {
        ESM_TRY(product(ctx, &g, (const char *)a->data + a_off * elem, (const char *)b->data + b_off * elem, NULL,
                        (char *)out->data + c_off * elem, a->dtype, act));
        c_off += g.m * g.n;
        for (d = plan.batch_ndim - 1; d >= 0; d--) { /* odometer over the batch */
            a_off += plan.a_step[d];
            b_off += plan.b_step[d];
            if (++index[d] < plan.batch[d]) break;
            a_off -= plan.a_step[d] * plan.batch[d];
            b_off -= plan.b_step[d] * plan.batch[d];
            index[d] = 0;
        }
    }
    return ESM_OK;
}

/* ---- linear: x (..., in), weight (out, in), bias (out) or NULL ------------------------------ */
static esm_status linear_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x, *w, *b;
    esm_tensor *out = ctx->outputs[0];
    char sx[96], sw[96];
    int act;
    ESM_TRY(esm_check_arity(ctx, 2, 3));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_NUMERIC));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_NUMERIC));
    ESM_TRY(esm_check_same_dtype(ctx, 0));
    ESM_TRY(esm_attr_activation(ctx, &act));
    x = ctx->inputs[0], w = ctx->inputs[1], b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1])
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "input %s does not match weight %s (out_features, in_features)",
                               esm_shape_str(x, sx, sizeof sx), esm_shape_str(w, sw, sizeof sw));
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "bias %s does not match weight %s", esm_shape_str(b, sx, sizeof sx),
                               esm_shape_str(w, sw, sizeof sw));
    esm_set_output(out, x->dtype, x->ndim, x->shape);
    out->shape[x->ndim - 1] = w->shape[0];
    if (x->dtype == ESM_FLOAT32) ctx->scratch_bytes = esm_sgemm_scratch_threads(ctx, esm_numel(x) / (w->shape[1] ? w->shape[1] : 1),
                                                                        w->shape[0], w->shape[1]);
    return ESM_OK;
}

static esm_status linear_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0], *w = ctx->inputs[1], *b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    esm_gemm g = {0};
    int act;
    ESM_TRY(esm_attr_activation(ctx, &act));
    g.n = w->shape[0];
    g.k = w->shape[1];
    g.m = esm_numel(ctx->outputs[0]) / (g.n ? g.n : 1);
    g.a_rs = g.k, g.a_cs = 1, g.b_rs = 1, g.b_cs = g.k, g.ldc = g.n;
    return product(ctx, &g, x->data, w->data, b ? b->data : NULL, ctx->outputs[0]->data, x->dtype, act);
}

const esm_kernel esm_k_matmul = {"matmul", matmul_prepare, matmul_eval};
const esm_kernel esm_k_linear = {"linear", linear_prepare, linear_eval};
