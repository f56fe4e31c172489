/* gather.c - gather, scatter and scatter_add along one dim (attr `dim`, PyTorch semantics):
 * index has the input's number of dims and is no larger than it in the other dims. An index
 * out of range fails the run with a message; nothing outside the tensors is touched. */
#include <string.h>

#include "kernels.h"
#include "kutil.h"

typedef struct along {
    int32_t axis, ndim;
    int64_t index_shape[ESM_MAX_DIMS];
    int64_t data_stride[ESM_MAX_DIMS]; /* elements, of the indexed tensor */
    int64_t src_stride[ESM_MAX_DIMS];  /* elements, of scatter's src */
} along;

static void element_strides(const esm_tensor *t, int64_t *stride)
{
    int64_t s = 1;
    int32_t d;
    for (d = t->ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= t->shape[d];
    }
}

/* Shapes of (data, index[, src]) against PyTorch's rules. */
static esm_status plan_along(esm_node_ctx *ctx, const esm_tensor *src, along *a)
{
    const esm_tensor *x = ctx->inputs[0], *index = ctx->inputs[1];
    int64_t dim;
    int32_t d;
    char sx[96], si[96];
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim, &a->axis));
    a->ndim = index->ndim;
    for (d = 0; d < index->ndim; d++) a->index_shape[d] = index->shape[d];
    if (index->ndim != x->ndim)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "index %s and input %s must have the same number of dims",
                               esm_shape_str(index, si, sizeof si), esm_shape_str(x, sx, sizeof sx));
    for (d = 0; d < index->ndim; d++)
        if ((d != a->axis && index->shape[d] > x->shape[d]) || (src && (src->ndim != x->ndim || index->shape[d] > src->shape[d])))
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "index %s is larger than the input %s or src in dim %d",
                                   esm_shape_str(index, si, sizeof si), esm_shape_str(x, sx, sizeof sx), (int)d);
    element_strides(x, a->data_stride);
    if (src) element_strides(src, a->src_stride);
    return ESM_OK;
}

static int64_t index_value(const esm_tensor *t, int64_t i)
{
    return t->dtype == ESM_INT32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

/* Calls visit(i, data offset, src offset) for every index element i, in order; stops at the
 * first out-of-range index. */
typedef void (*visit_fn)(void *user, int64_t at_data, int64_t at_src, int64_t i);

static esm_status walk(esm_node_ctx *ctx, const along *a, visit_fn visit, void *user)
{
    const esm_tensor *index = ctx->inputs[1];
    int64_t pos[ESM_MAX_DIMS] = {0}, n = esm_numel(index), i, size = ctx->inputs[0]->shape[a->axis];
    int32_t d;
    for (i = 0; i < n; i++) {
        int64_t k = index_value(index, i), at = 0, at_src = 0;
        if (k < 0 || k >= size)
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_ARGUMENT, "index %lld is out of bounds for dim %d of size %lld",
                                   (long long)k, (int)a->axis, (long long)size);
        for (d = 0; d < a->ndim; d++) {
            at += (d == a->axis ? k : pos[d]) * a->data_stride[d];
            at_src += pos[d] * a->src_stride[d];
        }
        visit(user, at, at_src, i);
        for (d = a->ndim - 1; d >= 0 && ++pos[d] == a->index_shape[d]; d--) pos[d] = 0;
    }
    return ESM_OK;
}

/* ---- gather(input, index) -> index.shape --------------------------------------------------- */
typedef struct copy_job {
    const char *from;
    char *to;
    size_t elem;
    esm_dtype dtype;
} copy_job;

static void gather_one(void *user, int64_t at, int64_t at_src, int64_t i)
{
    const copy_job *job = (const copy_job *)user;
    (void)at_src;
    memcpy(job->to + (size_t)i * job->elem, job->from + (size_t)at * job->elem, job->elem);
}

static esm_status gather_prepare(esm_node_ctx *ctx)
{
    along a;
    ESM_TRY(esm_check_arity(ctx, 2, 2));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_INTS));
    ESM_TRY(plan_along(ctx, NULL, &a));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, ctx->inputs[1]->ndim, ctx->inputs[1]->shape);
    return ESM_OK;
}

static esm_status gather_eval(esm_node_ctx *ctx)
{
    along a;
    copy_job job;
    ESM_TRY(plan_along(ctx, NULL, &a));
    job.from = (const char *)ctx->inputs[0]->data;
    job.to = (char *)ctx->outputs[0]->data;
    job.elem = esm_dtype_size(ctx->inputs[0]->dtype);
    return walk(ctx, &a, gather_one, &job);
}

/* ---- scatter / scatter_add(input, index, src) -> a copy of input ---------------------------- */
static void scatter_one(void *user, int64_t at, int64_t at_src, int64_t i)
{
    const copy_job *job = (const copy_job *)user;
    (void)i;
    memcpy(job->to + (size_t)at * job->elem, job->from + (size_t)at_src * job->elem, job->elem);
}

static void scatter_add_one(void *user, int64_t at, int64_t at_src, int64_t i)
{
    const copy_job *job = (const copy_job *)user;
    (void)i;
    switch (job->dtype) {
    case ESM_FLOAT32: ((float *)job->to)[at] += ((const float *)job->from)[at_src]; break;
    case ESM_FLOAT64: ((double *)job->to)[at] += ((const double *)job->from)[at_src]; break;
    case ESM_INT32: ((int32_t *)job->to)[at] += ((const int32_t *)job->from)[at_src]; break;
    case ESM_INT64: ((int64_t *)job->to)[at] += ((const int64_t *)job->from)[at_src]; break;
    case ESM_BOOL: ((uint8_t *)job->to)[at] |= ((const uint8_t *)job->from)[at_src]; break;
    }
}

static esm_status scatter_prepare(esm_node_ctx *ctx)
{
    along a;
    ESM_TRY(esm_check_arity(ctx, 3, 3));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_INTS));
    ESM_TRY(esm_check_dtype(ctx, 2, 1u << ctx->inputs[0]->dtype));
    ESM_TRY(plan_along(ctx, ctx->inputs[2], &a));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, ctx->inputs[0]->ndim, ctx->inputs[0]->shape);
    return ESM_OK;
}

static esm_status scatter_run(esm_node_ctx *ctx, visit_fn visit)
{
    const esm_tensor *x = ctx->inputs[0];
    along a;
    copy_job job;
    ESM_TRY(plan_along(ctx, ctx->inputs[2], &a));
    job.from = (const char *)ctx->inputs[2]->data;
    job.to = (char *)ctx->outputs[0]->data;
    job.elem = esm_dtype_size(x->dtype);
    job.dtype = x->dtype;
    if (job.to != x->data) memmove(job.to, x->data, (size_t)esm_numel(x) * job.elem);
    return walk(ctx, &a, visit, &job);
}

static esm_status scatter_eval(esm_node_ctx *ctx) { return scatter_run(ctx, scatter_one); }
static esm_status scatter_add_eval(esm_node_ctx *ctx) { return scatter_run(ctx, scatter_add_one); }

const esm_kernel esm_k_gather = {"gather", gather_prepare, gather_eval};
const esm_kernel esm_k_scatter = {"scatter", scatter_prepare, scatter_eval};
const esm_kernel esm_k_scatter_add = {"scatter_add", scatter_prepare, scatter_add_eval};
