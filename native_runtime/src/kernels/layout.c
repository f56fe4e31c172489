/* layout.c - ops that move data between layouts: cat (attr dim, any number of inputs), flip
 * (attr dims), repeat (attr repeats), pad (attrs pad, mode, value). */
#include <string.h>

#include "kernels.h"
#include "kutil.h"

/* ---- cat --------------------------------------------------------------------------------------- */
static esm_status cat_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *first;
    int64_t dim;
    int32_t axis, k, d;
    char a[96], b[96];
    esm_tensor *out = ctx->outputs[0];
    if (ctx->num_inputs < 1) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "needs at least one input");
    for (k = 0; k < ctx->num_inputs; k++) ESM_TRY(esm_check_dtype(ctx, k, ESM_ANY));
    ESM_TRY(esm_check_same_dtype(ctx, 0));
    first = ctx->inputs[0];
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, first->ndim, &axis));
    if (first->ndim == 0) return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "zero-dimensional tensors cannot be concatenated");
    esm_set_output(out, first->dtype, first->ndim, first->shape);
    for (k = 1; k < ctx->num_inputs; k++) {
        const esm_tensor *t = ctx->inputs[k];
        int same = t->ndim == first->ndim;
        for (d = 0; same && d < t->ndim; d++) same = d == axis || t->shape[d] == first->shape[d];
        if (!same)
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "tensors must match except in dim %d, got %s and %s", (int)axis,
                                   esm_shape_str(first, a, sizeof a), esm_shape_str(t, b, sizeof b));
        out->shape[axis] += t->shape[axis];
    }
    return ESM_OK;
}

static esm_status cat_eval(esm_node_ctx *ctx)
{
    const esm_tensor *first = ctx->inputs[0];
    int64_t dim, outer = 1, inner = 1, o;
    int32_t axis, d, k;
    size_t elem = esm_dtype_size(first->dtype);
    char *dst = (char *)ctx->outputs[0]->data;
    ESM_TRY(esm_attr_int(ctx, "dim", 0, &dim));
    ESM_TRY(esm_normalize_dim(ctx, dim, first->ndim, &axis));
    for (d = 0; d < first->ndim; d++) {
        if (d < axis) outer *= first->shape[d];
        if (d > axis) inner *= first->shape[d];
    }
    for (o = 0; o < outer; o++)
        for (k = 0; k < ctx->num_inputs; k++) {
            size_t chunk = (size_t)(ctx->inputs[k]->shape[axis] * inner) * elem;
            memcpy(dst, (const char *)ctx->inputs[k]->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    return ESM_OK;
}

/* ---- flip: a strided copy that walks the flipped dims backwards --------------------------- */
static esm_status same_shape_prepare(esm_node_ctx *ctx)
{
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, ctx->inputs[0]->ndim, ctx->inputs[0]->shape);
    return ESM_OK;
}

static esm_status flip_prepare(esm_node_ctx *ctx)
{
    const int64_t *dims;
    int32_t count, k, d;
    ESM_TRY(same_shape_prepare(ctx));
    ESM_TRY(esm_attr_ints(ctx, "dims", &dims, &count));
    for (k = 0; k < count; k++) ESM_TRY(esm_normalize_dim(ctx, dims[k], ctx->inputs[0]->ndim, &d));
    return ESM_OK;
}

static esm_status flip_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    const int64_t *dims;
    int64_t stride[ESM_MAX_DIMS];
    int32_t count, k, d;
    const char *src = (const char *)x->data;
    uint8_t flipped[ESM_MAX_DIMS] = {0};
    ESM_TRY(esm_attr_ints(ctx, "dims", &dims, &count));
    for (k = 0; k < count; k++) {
        ESM_TRY(esm_normalize_dim(ctx, dims[k], x->ndim, &d));
        if (x->ndim) flipped[d] = 1;
    }
    esm_contiguous_strides(x, stride);
    for (d = 0; d < x->ndim; d++)
        if (flipped[d]) {
            src += (x->shape[d] - 1) * stride[d];
            stride[d] = -stride[d];
        }
    esm_strided_copy(ctx->outputs[0]->data, src, x->dtype, x->ndim, x->shape, x->ndim, stride);
    return ESM_OK;
}

/* ---- repeat: the output viewed as (copies_0, size_0, copies_1, size_1, ...) reads the input
 * with stride 0 along every copies dim ------------------------------------------------------- */
static esm_status repeat_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    const int64_t *reps;
    int32_t count, d, lead;
    char buf[96];
    esm_tensor *out = ctx->outputs[0];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    ESM_TRY(esm_attr_ints(ctx, "repeats", &reps, &count));
    lead = count - x->ndim;
    if (lead < 0 || count > ESM_MAX_DIMS)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "%d repeats for a tensor of shape %s", (int)count,
                               esm_shape_str(x, buf, sizeof buf));
    out->dtype = x->dtype;
    out->ndim = count;
    for (d = 0; d < count; d++) {
        int64_t size = d < lead ? 1 : x->shape[d - lead];
        if (reps[d] < 0) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "negative repeat count");
        if ((double)reps[d] * (double)size > 72057594037927936.0) /* 2^56: the product must not overflow */
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "repeating %lld by %lld is beyond 2^56 elements", (long long)size,
                                   (long long)reps[d]);
        out->shape[d] = reps[d] * size;
    }
    return ESM_OK;
}

static esm_status repeat_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int64_t shape[ESM_ITER_MAX_DIMS], out_stride[ESM_ITER_MAX_DIMS], in_stride[ESM_ITER_MAX_DIMS];
    int64_t x_stride[ESM_MAX_DIMS], step = (int64_t)esm_dtype_size(x->dtype);
    int32_t d, lead = out->ndim - x->ndim;
    esm_iter it;
    esm_contiguous_strides(x, x_stride);
    for (d = out->ndim - 1; d >= 0; d--) {
        int64_t size = d < lead ? 1 : x->shape[d - lead];
        shape[2 * d] = size ? out->shape[d] / size : 0, shape[2 * d + 1] = size;
        out_stride[2 * d + 1] = step, out_stride[2 * d] = step * size;
        in_stride[2 * d] = 0, in_stride[2 * d + 1] = d < lead ? 0 : x_stride[d - lead];
        step *= out->shape[d];
    }
    esm_iter_init(&it, 2 * out->ndim, shape);
    esm_iter_add_strided(&it, out->data, 2 * out->ndim, out_stride);
    esm_iter_add_strided(&it, x->data, 2 * out->ndim, in_stride);
    esm_iter_coalesce(&it);
    esm_iter_run(&it, esm_copy_loop(esm_dtype_size(x->dtype)), NULL);
    return ESM_OK;
}

/* ---- pad: pad = (left, right) of the last dim, then of the one before, ...; negative widths
 * crop; mode constant (value), reflect, replicate or circular --------------------------------- */
typedef enum { PAD_CONSTANT, PAD_REFLECT, PAD_REPLICATE, PAD_CIRCULAR } pad_mode;

static esm_status pad_plan(esm_node_ctx *ctx, int64_t lo[ESM_MAX_DIMS], pad_mode *mode)
{
    const esm_tensor *x = ctx->inputs[0];
    const int64_t *pad;
    const char *name;
    int32_t count, k, d;
    ESM_TRY(esm_attr_ints(ctx, "pad", &pad, &count));
    ESM_TRY(esm_attr_string(ctx, "mode", "constant", &name));
    if (count % 2 || count / 2 > x->ndim)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "pad has %d entries for %d dims", (int)count, (int)x->ndim);
    if (strcmp(name, "constant") == 0) *mode = PAD_CONSTANT;
    else if (strcmp(name, "reflect") == 0) *mode = PAD_REFLECT;
    else if (strcmp(name, "replicate") == 0) *mode = PAD_REPLICATE;
    else if (strcmp(name, "circular") == 0) *mode = PAD_CIRCULAR;
    else return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "mode '%s'", name);
    esm_set_output(ctx->outputs[0], x->dtype, x->ndim, x->shape);
    for (d = 0; d < x->ndim; d++) lo[d] = 0;
    for (k = 0; k < count / 2; k++) {
        d = x->ndim - 1 - k;
        lo[d] = pad[2 * k];
        ctx->outputs[0]->shape[d] += pad[2 * k] + pad[2 * k + 1];
        if (ctx->outputs[0]->shape[d] < 0 || (*mode != PAD_CONSTANT && x->shape[d] == 0) ||
            (*mode == PAD_REFLECT && (pad[2 * k] >= x->shape[d] || pad[2 * k + 1] >= x->shape[d])))
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "padding (%lld, %lld) does not fit dim %d of size %lld",
                                   (long long)pad[2 * k], (long long)pad[2 * k + 1], (int)d, (long long)x->shape[d]);
    }
    return ESM_OK;
}

static esm_status pad_prepare(esm_node_ctx *ctx)
{
    int64_t lo[ESM_MAX_DIMS], total = 0;
    int32_t d;
    pad_mode mode;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(pad_plan(ctx, lo, &mode));
    for (d = 0; d < ctx->outputs[0]->ndim; d++) total += ctx->outputs[0]->shape[d];
    ctx->scratch_bytes = (size_t)total * sizeof(int64_t);
    return ESM_OK;
}

/* Where output position o of one dim reads from in the input (-1: the constant). */
static int64_t pad_source(int64_t o, int64_t lo, int64_t size, pad_mode mode)
{
    int64_t i = o - lo, period;
    if (i >= 0 && i < size) return i;
    switch (mode) {
    case PAD_CONSTANT: return -1;
    case PAD_REPLICATE: return i < 0 ? 0 : size - 1;
    case PAD_CIRCULAR: return ((i % size) + size) % size;
    case PAD_REFLECT:
        if (size == 1) return 0;
        period = 2 * (size - 1);
        i = ((i % period) + period) % period;
        return i < size ? i : period - i;
    }
    return -1;
}

#define PAD_ROWS(NAME, T)                                                                            \
    static void NAME(const esm_tensor *x, esm_tensor *out, int64_t *const *src, T value)             \
    {                                                                                                \
        int64_t index[ESM_MAX_DIMS] = {0}, stride[ESM_MAX_DIMS], j, rows = 1, r;                     \
        int32_t d, last = out->ndim - 1;                                                             \
        const T *xs = (const T *)x->data;                                                            \
        T *ys = (T *)out->data;                                                                      \
        for (d = last, stride[last < 0 ? 0 : last] = 1; d > 0; d--) stride[d - 1] = stride[d] * x->shape[d]; \
        for (d = 0; d < last; d++) rows *= out->shape[d];                                           \
        if (last < 0) { *ys = *xs; return; }                                                         \
        for (r = 0; r < rows; r++) {                                                                 \
            int64_t base = 0;                                                                        \
            int valid = 1;                                                                           \
            for (d = 0; d < last; d++) {                                                             \
                valid &= src[d][index[d]] >= 0;                                                      \
                base += src[d][index[d]] * stride[d];                                                \
            }                                                                                        \
            for (j = 0; j < out->shape[last]; j++)                                                   \
                *ys++ = valid && src[last][j] >= 0 ? xs[base + src[last][j]] : value;                \
            for (d = last - 1; d >= 0 && ++index[d] == out->shape[d]; d--) index[d] = 0;             \
        }                                                                                            \
    }
PAD_ROWS(pad_rows8, uint8_t)
PAD_ROWS(pad_rows32, uint32_t)
PAD_ROWS(pad_rows64, uint64_t)

/* The fill value in x's dtype, as the bits the row copy writes. */
static uint64_t fill_bits(esm_dtype dtype, double value)
{
    float f = (float)value;
    int32_t i32 = esm_saturate_i32(value);
    int64_t i64 = esm_saturate_i64(value);
    uint8_t b = value != 0.0;
    uint32_t u32 = 0;
    uint64_t u64 = 0;
    switch (dtype) {
    case ESM_FLOAT32: memcpy(&u32, &f, 4); return u32;
    case ESM_FLOAT64: memcpy(&u64, &value, 8); return u64;
    case ESM_INT32: memcpy(&u32, &i32, 4); return u32;
    case ESM_INT64: memcpy(&u64, &i64, 8); return u64;
    case ESM_BOOL: return b;
    }
    return 0;
}

static esm_status pad_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    esm_tensor *out = ctx->outputs[0];
    int64_t lo[ESM_MAX_DIMS], *src[ESM_MAX_DIMS], *map = (int64_t *)ctx->scratch, o;
    uint64_t bits;
    double value;
    int32_t d;
    pad_mode mode;
    ESM_TRY(pad_plan(ctx, lo, &mode));
    ESM_TRY(esm_attr_float(ctx, "value", 0.0, &value));
    for (d = 0; d < out->ndim; d++) {
        src[d] = map;
        for (o = 0; o < out->shape[d]; o++) *map++ = pad_source(o, lo[d], x->shape[d], mode);
    }
    if (esm_numel(out) == 0) return ESM_OK;
    bits = fill_bits(x->dtype, value);
    switch (esm_dtype_size(x->dtype)) {
    case 1: pad_rows8(x, out, src, (uint8_t)bits); break;
    case 4: pad_rows32(x, out, src, (uint32_t)bits); break;
    default: pad_rows64(x, out, src, bits); break;
    }
    return ESM_OK;
}

const esm_kernel esm_k_cat = {"cat", cat_prepare, cat_eval};
const esm_kernel esm_k_flip = {"flip", flip_prepare, flip_eval};
const esm_kernel esm_k_repeat = {"repeat", repeat_prepare, repeat_eval};
const esm_kernel esm_k_pad = {"pad", pad_prepare, pad_eval};
