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
/* Optional attributes a_perm / b_perm / out_perm (jitscript's fold_layout pass): the product reads
 * permute(a, a_perm) and permute(b, b_perm) and writes permute(result, out_perm), all through
 * element strides, so no permuted copy is made. */

/* A tensor as the product sees it: its shape after a permutation and each dim's element stride
 * in the stored (contiguous) tensor. */
typedef struct mm_view {
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS], stride[ESM_MAX_DIMS];
} mm_view;

static void view_of(int32_t ndim, const int64_t *shape, const int32_t *perm, mm_view *v)
{
    int64_t stride[ESM_MAX_DIMS], step = 1;
    int32_t d;
    for (d = ndim - 1; d >= 0; d--) {
        stride[d] = step;
        step *= shape[d];
    }
    v->ndim = ndim;
    for (d = 0; d < ndim; d++) {
        v->shape[d] = shape[perm[d]];
        v->stride[d] = stride[perm[d]];
    }
}

static esm_status operand_view(esm_node_ctx *ctx, int32_t index, const char *perm_attr, mm_view *v, int *permuted)
{
    const esm_tensor *t = ctx->inputs[index];
    int32_t perm[ESM_MAX_DIMS];
    int present;
    ESM_TRY(esm_attr_permutation(ctx, perm_attr, t->ndim, perm, &present));
    view_of(t->ndim, t->shape, perm, v);
    *permuted |= present;
    return ESM_OK;
}

/* The operands as batches of matrices: a (batch.., n, k), b (batch.., k, m), c (batch.., n, m). */
typedef struct mm_plan {
    int64_t n, k, m;
    int32_t batch_ndim;
    int64_t batch[ESM_MAX_DIMS];
    int64_t a_step[ESM_MAX_DIMS], b_step[ESM_MAX_DIMS], c_step[ESM_MAX_DIMS]; /* per batch dim (0: broadcast) */
    int64_t a_rs, a_cs, b_rs, b_cs, ldc;
    int fold;     /* b is one matrix for every batch and nothing is permuted: fold a's batch into n */
    int out_perm; /* the result is written permuted (not one contiguous matrix per product) */
} mm_plan;

static void batch_steps(const mm_view *v, int32_t mat_dims, const mm_plan *plan, int64_t *step)
{
    int32_t lead = plan->batch_ndim - (v->ndim - mat_dims), d;
    for (d = 0; d < plan->batch_ndim; d++) step[d] = d >= lead && v->shape[d - lead] != 1 ? v->stride[d - lead] : 0;
}

static esm_status plan_shapes(esm_node_ctx *ctx, const mm_view *a, const mm_view *b, mm_plan *plan)
{
    int32_t a_mat = a->ndim == 1 ? 1 : 2, b_mat = b->ndim == 1 ? 1 : 2, d;
    int64_t kb;
    if (a->ndim == 0 || b->ndim == 0)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "both operands need at least 1 dim, got %d and %d dims",
                               (int)a->ndim, (int)b->ndim);
    plan->n = a->ndim == 1 ? 1 : a->shape[a->ndim - 2];
    plan->k = a->shape[a->ndim - 1];
    kb = b->ndim == 1 ? b->shape[0] : b->shape[b->ndim - 2];
    plan->m = b->ndim == 1 ? 1 : b->shape[b->ndim - 1];
    if (kb != plan->k)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "cannot multiply: inner dimensions %lld and %lld differ",
                               (long long)plan->k, (long long)kb);
    /* batch dims broadcast like elementwise operands */
    plan->batch_ndim = a->ndim - a_mat > b->ndim - b_mat ? a->ndim - a_mat : b->ndim - b_mat;
    for (d = 0; d < plan->batch_ndim; d++) {
        int32_t da = d - (plan->batch_ndim - (a->ndim - a_mat)), db = d - (plan->batch_ndim - (b->ndim - b_mat));
        int64_t x = da >= 0 ? a->shape[da] : 1, y = db >= 0 ? b->shape[db] : 1;
        if (x != y && x != 1 && y != 1)
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "batch dims %lld and %lld cannot be broadcast together",
                                   (long long)x, (long long)y);
        plan->batch[d] = x == 1 ? y : x;
    }
    batch_steps(a, a_mat, plan, plan->a_step);
    batch_steps(b, b_mat, plan, plan->b_step);
    plan->a_rs = a->ndim == 1 ? 0 : a->stride[a->ndim - 2];
    plan->a_cs = a->stride[a->ndim - 1];
    plan->b_rs = b->stride[b->ndim - b_mat];
    plan->b_cs = b->ndim == 1 ? 0 : b->stride[b->ndim - 1];
    return ESM_OK;
}

/* The output's shape and where each product's result goes: the unpermuted result (batch.., n, m)
 * viewed through out_perm, whose last dim must stay last (the GEMM writes contiguous rows). */
static esm_status plan_output(esm_node_ctx *ctx, const mm_view *a, const mm_view *b, mm_plan *plan)
{
    esm_tensor *out = ctx->outputs[0];
    int64_t shape[ESM_MAX_DIMS];
    int32_t perm[ESM_MAX_DIMS], inverse[ESM_MAX_DIMS] = {0}, ndim = 0, d;
    mm_view c;
    for (d = 0; d < plan->batch_ndim; d++) shape[ndim++] = plan->batch[d];
    if (a->ndim > 1) shape[ndim++] = plan->n;
    if (b->ndim > 1) shape[ndim++] = plan->m;
    ESM_TRY(esm_attr_permutation(ctx, "out_perm", ndim, perm, &plan->out_perm));
    if (plan->out_perm && (a->ndim < 2 || b->ndim < 2 || perm[ndim - 1] != ndim - 1))
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "out_perm needs matrix operands and its last dim last");
    out->dtype = ctx->inputs[0]->dtype;
    out->ndim = ndim;
    for (d = 0; d < ndim; d++) out->shape[d] = shape[perm[d]];
    /* the output's strides, then seen from the unpermuted result's dims */
    for (d = 0; d < ndim; d++) inverse[perm[d]] = d;
    view_of(ndim, out->shape, inverse, &c);
    plan->ldc = a->ndim > 1 && b->ndim > 1 ? c.stride[ndim - 2] : plan->m;
    for (d = 0; d < plan->batch_ndim; d++) plan->c_step[d] = plan->batch[d] == 1 ? 0 : c.stride[d];
    return ESM_OK;
}

static esm_status plan_matmul(esm_node_ctx *ctx, mm_plan *plan)
{
    mm_view a, b;
    int permuted = 0;
    int32_t d;
    ESM_TRY(operand_view(ctx, 0, "a_perm", &a, &permuted));
    ESM_TRY(operand_view(ctx, 1, "b_perm", &b, &permuted));
    ESM_TRY(plan_shapes(ctx, &a, &b, plan));
    ESM_TRY(plan_output(ctx, &a, &b, plan));
    plan->fold = !permuted && !plan->out_perm;
    for (d = 0; d < plan->batch_ndim; d++)
        if (plan->b_step[d] != 0 || (plan->a_step[d] == 0 && plan->batch[d] != 1)) plan->fold = 0;
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
    g.a_rs = plan.a_rs, g.a_cs = plan.a_cs, g.b_rs = plan.b_rs, g.b_cs = plan.b_cs, g.ldc = plan.ldc;
    if (plan.fold) count = 1;
    while (count-- > 0) {
        /* a permuted result is not one block per product: its activation runs once at the end */
        ESM_TRY(product(ctx, &g, (const char *)a->data + a_off * elem, (const char *)b->data + b_off * elem, NULL,
                        (char *)out->data + c_off * elem, a->dtype, plan.out_perm ? 0 : act));
        for (d = plan.batch_ndim - 1; d >= 0; d--) { /* odometer over the batch */
            a_off += plan.a_step[d];
            b_off += plan.b_step[d];
            c_off += plan.c_step[d];
            if (++index[d] < plan.batch[d]) break;
            a_off -= plan.a_step[d] * plan.batch[d];
            b_off -= plan.b_step[d] * plan.batch[d];
            c_off -= plan.c_step[d] * plan.batch[d];
            index[d] = 0;
        }
    }
    if (plan.out_perm) esm_activation_apply(act, a->dtype, out->data, esm_numel(out));
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
