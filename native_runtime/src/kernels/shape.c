/* shape.c - reshape, expand, permute. Tensors are contiguous, so reshape is a copy (or
 * nothing when the core aliases the output onto the input); expand and permute are strided
 * copies on the shared iterator. */
#include <string.h>

#include "kernels.h"
#include "kutil.h"

static esm_status check_rank(esm_node_ctx *ctx, int32_t count)
{
    if (count < 0 || count > ESM_MAX_DIMS)
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "%d dims (at most %d supported)", (int)count, ESM_MAX_DIMS);
    return ESM_OK;
}

/* ---- reshape: attr `shape` (one entry may be -1) ----------------------------------------- */
static esm_status reshape_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    const int64_t *shape;
    int32_t count, d, infer = -1;
    int64_t known = 1, total;
    char buf[96];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_attr_ints(ctx, "shape", &shape, &count));
    ESM_TRY(check_rank(ctx, count));
    x = ctx->inputs[0];
    total = esm_numel(x);
    for (d = 0; d < count; d++) {
        if (shape[d] == -1 && infer < 0) infer = d;
        else if (shape[d] < 0 || (shape[d] > 0 && known > INT64_MAX / shape[d]))
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "bad target dim %lld", (long long)shape[d]);
        else known *= shape[d];
    }
    esm_set_output(ctx->outputs[0], x->dtype, count, shape);
    if (infer >= 0) ctx->outputs[0]->shape[infer] = known ? total / known : 0;
    if (esm_numel(ctx->outputs[0]) != total)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "cannot reshape %s (%lld elements) to %d dims of %lld elements",
                               esm_shape_str(x, buf, sizeof buf), (long long)total, (int)count,
                               (long long)esm_numel(ctx->outputs[0]));
    return ESM_OK;
}

static esm_status reshape_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    if (ctx->outputs[0]->data != x->data)
        memmove(ctx->outputs[0]->data, x->data, (size_t)esm_numel(x) * esm_dtype_size(x->dtype));
    return ESM_OK;
}

/* ---- expand: attr `shape` (-1 keeps a dim) ------------------------------------------------ */
static esm_status expand_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    const int64_t *shape;
    int32_t count, d, lead;
    char a[96];
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_attr_ints(ctx, "shape", &shape, &count));
    ESM_TRY(check_rank(ctx, count));
    x = ctx->inputs[0];
    lead = count - x->ndim;
    if (lead < 0)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "cannot expand %s to %d dims", esm_shape_str(x, a, sizeof a),
                               (int)count);
    esm_set_output(out, x->dtype, count, shape);
    for (d = 0; d < count; d++) {
        int64_t have = d < lead ? 1 : x->shape[d - lead];
        if (shape[d] == -1 && d >= lead) out->shape[d] = have;
        if (out->shape[d] < 0 || (have != 1 && have != out->shape[d]))
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "cannot expand %s: dim %d of size %lld to %lld",
                                   esm_shape_str(x, a, sizeof a), (int)d, (long long)have, (long long)shape[d]);
    }
    return ESM_OK;
}

static esm_status expand_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int64_t stride[ESM_MAX_DIMS];
    /* size-1 dims get stride 0 and the source's strides align to the right of the output's
     * dims (missing leading dims read stride 0): exactly broadcasting */
    esm_contiguous_strides(x, stride);
    esm_strided_copy(out->data, x->data, x->dtype, out->ndim, out->shape, x->ndim, stride);
    return ESM_OK;
}

/* ---- permute: attr `dims` ----------------------------------------------------------------- */
static esm_status permute_dims(esm_node_ctx *ctx, const esm_tensor *x, int32_t *perm)
{
    int present;
    ESM_TRY(esm_attr_permutation(ctx, "dims", x->ndim, perm, &present));
    return present ? ESM_OK : esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "permute needs attribute 'dims'");
}

static esm_status permute_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    int32_t perm[ESM_MAX_DIMS], d;
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(permute_dims(ctx, x, perm));
    out->dtype = x->dtype;
    out->ndim = x->ndim;
    for (d = 0; d < x->ndim; d++) out->shape[d] = x->shape[perm[d]];
    return ESM_OK;
}

static esm_status permute_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int32_t perm[ESM_MAX_DIMS], d;
    int64_t in_stride[ESM_MAX_DIMS], stride[ESM_MAX_DIMS];
    ESM_TRY(permute_dims(ctx, x, perm));
    esm_contiguous_strides(x, in_stride);
    for (d = 0; d < x->ndim; d++) stride[d] = in_stride[perm[d]];
    esm_strided_copy(out->data, x->data, x->dtype, out->ndim, out->shape, out->ndim, stride);
    return ESM_OK;
}

const esm_kernel esm_k_reshape = {"reshape", reshape_prepare, reshape_eval};
const esm_kernel esm_k_expand = {"expand", expand_prepare, expand_eval};
const esm_kernel esm_k_permute = {"permute", permute_prepare, permute_eval};

/* ---- squeeze (attr dims), unsqueeze (attr dim), clone: copies with a new shape ----------- */
static esm_status squeeze_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    const int64_t *dims;
    int32_t count, k, d, drop[ESM_MAX_DIMS] = {0};
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(esm_attr_ints(ctx, "dims", &dims, &count));
    for (k = 0; k < count; k++) {
        ESM_TRY(esm_normalize_dim(ctx, dims[k], x->ndim, &d));
        if (x->ndim) drop[d] = x->shape[d] == 1;
    }
    out->dtype = x->dtype;
    out->ndim = 0;
    for (d = 0; d < x->ndim; d++)
        if (!drop[d]) out->shape[out->ndim++] = x->shape[d];
    return ESM_OK;
}

static esm_status unsqueeze_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    int64_t dim;
    int32_t at, d;
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(check_rank(ctx, x->ndim + 1));
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, x->ndim + 1, &at));
    out->dtype = x->dtype;
    out->ndim = x->ndim + 1;
    for (d = 0; d < out->ndim; d++) out->shape[d] = d < at ? x->shape[d] : d == at ? 1 : x->shape[d - 1];
    return ESM_OK;
}

static esm_status clone_prepare(esm_node_ctx *ctx)
{
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, ctx->inputs[0]->ndim, ctx->inputs[0]->shape);
    return ESM_OK;
}

const esm_kernel esm_k_squeeze = {"squeeze", squeeze_prepare, reshape_eval};
const esm_kernel esm_k_unsqueeze = {"unsqueeze", unsqueeze_prepare, reshape_eval};
const esm_kernel esm_k_clone = {"clone", clone_prepare, reshape_eval};
