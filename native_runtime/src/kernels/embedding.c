/* embedding.c - embedding (rows of a table picked by integer indices) and one_hot. An index
 * out of range fails the run with a message; it never reads outside the table. */
#include <string.h>

#include "kernels.h"
#include "kutil.h"

static int64_t index_at(const esm_tensor *t, int64_t i)
{
    return t->dtype == ESM_INT32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

/* ---- embedding: (weight (rows, *), indices), attr padding_idx (no effect on the forward) -- */
static esm_status embedding_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *w, *idx;
    esm_tensor *out = ctx->outputs[0];
    int32_t d;
    char buf[96];
    ESM_TRY(esm_check_arity(ctx, 2, 2));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_INTS));
    w = ctx->inputs[0], idx = ctx->inputs[1];
    if (w->ndim < 1 || idx->ndim + w->ndim - 1 > ESM_MAX_DIMS)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "bad weight %s", esm_shape_str(w, buf, sizeof buf));
    esm_set_output(out, w->dtype, idx->ndim, idx->shape);
    for (d = 1; d < w->ndim; d++) out->shape[out->ndim++] = w->shape[d];
    return ESM_OK;
}

static esm_status embedding_eval(esm_node_ctx *ctx)
{
    const esm_tensor *w = ctx->inputs[0], *idx = ctx->inputs[1];
    int64_t rows = w->shape[0], n = esm_numel(idx), i;
    size_t row_bytes = (size_t)(rows ? esm_numel(w) / rows : 0) * esm_dtype_size(w->dtype);
    char *out = (char *)ctx->outputs[0]->data;
    for (i = 0; i < n; i++) {
        int64_t r = index_at(idx, i);
        if (r < 0 || r >= rows)
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_ARGUMENT, "index %lld is out of range for %lld rows",
                                   (long long)r, (long long)rows);
        memcpy(out + (size_t)i * row_bytes, (const char *)w->data + (size_t)r * row_bytes, row_bytes);
    }
    return ESM_OK;
}

/* ---- one_hot: int64 (...) -> int64 (..., num_classes) --------------------------------------- */
static esm_status one_hot_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    int64_t classes;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_INTS));
    ESM_TRY(esm_attr_int(ctx, "num_classes", -1, &classes));
    x = ctx->inputs[0];
    if (classes < 0 || x->ndim >= ESM_MAX_DIMS)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "needs num_classes >= 0 (got %lld)", (long long)classes);
    esm_set_output(ctx->outputs[0], ESM_INT64, x->ndim, x->shape);
    ctx->outputs[0]->shape[ctx->outputs[0]->ndim++] = classes;
    return ESM_OK;
}

static esm_status one_hot_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int64_t classes = out->shape[out->ndim - 1], n = esm_numel(x), i;
    int64_t *y = (int64_t *)out->data;
    memset(y, 0, (size_t)(n * classes) * sizeof *y);
    for (i = 0; i < n; i++) {
        int64_t c = index_at(x, i);
        if (c < 0 || c >= classes)
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_ARGUMENT, "class %lld is out of range [0, %lld)",
                                   (long long)c, (long long)classes);
        y[i * classes + c] = 1;
    }
    return ESM_OK;
}

const esm_kernel esm_k_embedding = {"embedding", embedding_prepare, embedding_eval};
const esm_kernel esm_k_one_hot = {"one_hot", one_hot_prepare, one_hot_eval};
