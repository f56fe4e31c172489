/* index.c - x[key]: getitem (ints, slices, None), index (with integer index tensors) and
 * index_put (out-of-place x[key] = values, optionally accumulating), NumPy semantics.
 *
 * The key arrives as attr `items`: INTS, four per term, [kind, a, b, c]:
 *   0 select (a = the index), 1 slice (a, b, c = start, stop, step; INT64_MIN = None),
 *   2 newaxis, 3 tensor (the next extra input: an integer tensor, or for index_put a bool mask).
 * A key is turned into an addressing plan: the output shape, the input offset of the first
 * element, an input stride per basic output dim, and the advanced (tensor) terms broadcast
 * together into one block of output dims (in place when the tensor terms are adjacent, else
 * first; ints select before, as PyTorch's two-step indexing). Boolean masks make index's output shape depend on data, which
 * shape planning cannot know, so index takes integer tensors only. */
#include <string.h>

#include "kernels.h"
#include "kutil.h"

#define ITEM_SELECT 0
#define ITEM_SLICE 1
#define ITEM_NEWAXIS 2
#define ITEM_TENSOR 3
#define ITEM_NONE INT64_MIN

typedef struct index_plan {
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    int64_t base;                 /* input element offset of output element 0 */
    int64_t step[ESM_MAX_DIMS];   /* input elements per step of each output dim (0 in the block) */
    int32_t nadv, block_at, block_ndim;
    const esm_tensor *adv[ESM_MAX_DIMS];
    int64_t adv_in_stride[ESM_MAX_DIMS];          /* input elements per unit of each index */
    int64_t adv_size[ESM_MAX_DIMS];               /* size of the input dim it indexes */
    int64_t adv_stride[ESM_MAX_DIMS][ESM_MAX_DIMS]; /* its element strides over the block dims */
} index_plan;

static esm_status read_items(esm_node_ctx *ctx, const int64_t **items, int32_t *count)
{
    int32_t n, k;
    ESM_TRY(esm_attr_ints(ctx, "items", items, &n));
    if (n % 4) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "items must hold 4 ints per term, got %d", (int)n);
    *count = n / 4;
    for (k = 0; k < *count; k++)
        if ((*items)[4 * k] < ITEM_SELECT || (*items)[4 * k] > ITEM_TENSOR)
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "unknown index term kind %lld", (long long)(*items)[4 * k]);
    return ESM_OK;
}

/* Python's slice.indices for a positive step: (start, length). */
static void slice_range(int64_t size, int64_t start, int64_t stop, int64_t step, int64_t *first, int64_t *length)
{
    if (start == ITEM_NONE) start = 0;
    else if (start < 0) start = start + size < 0 ? 0 : start + size;
    else if (start > size) start = size;
    if (stop == ITEM_NONE) stop = size;
    else if (stop < 0) stop = stop + size < 0 ? 0 : stop + size;
    else if (stop > size) stop = size;
    *first = start;
    *length = stop > start ? (stop - start + step - 1) / step : 0;
}

/* The broadcast shape of the advanced terms (tensors; ints count as 0-d ones). */
static esm_status block_shape(esm_node_ctx *ctx, const esm_tensor *const *tensors, int32_t count, index_plan *p)
{
    int32_t k, d;
    p->block_ndim = 0;
    for (k = 0; k < count; k++)
        if (tensors[k]->ndim > p->block_ndim) p->block_ndim = tensors[k]->ndim;
    for (d = 0; d < p->block_ndim; d++) p->shape[p->block_at + d] = 1;
    for (k = 0; k < count; k++) {
        int32_t lead = p->block_ndim - tensors[k]->ndim;
        int64_t s = 1;
        for (d = tensors[k]->ndim - 1; d >= 0; d--) {
            int64_t n = tensors[k]->shape[d], *have = &p->shape[p->block_at + lead + d];
            if (n != 1 && *have != 1 && n != *have)
                return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "index tensors cannot be broadcast together");
            if (n != 1) *have = n;
            p->adv_stride[k][lead + d] = n == 1 ? 0 : s;
            s *= n;
        }
        for (d = 0; d < lead; d++) p->adv_stride[k][d] = 0;
    }
    return ESM_OK;
}

/* The plan of x[items] with `tensors` for the tensor terms (in order). */
static esm_status plan_index(esm_node_ctx *ctx, const esm_tensor *x, const esm_tensor *const *tensors,
                             int32_t ntensors, index_plan *p)
{
    const int64_t *items;
    int32_t count = 0, k, dim = 0, used = 0, first_adv = -1, last_adv = -1, adjacent, d;
    int64_t in_stride[ESM_MAX_DIMS], s = 1, basic_shape[ESM_MAX_DIMS], basic_step[ESM_MAX_DIMS];
    int32_t nbasic = 0, basic_before = 0;
    ESM_TRY(read_items(ctx, &items, &count));
    for (d = x->ndim - 1; d >= 0; d--) in_stride[d] = s, s *= x->shape[d];
    memset(p, 0, sizeof *p);
    for (k = 0; k < count; k++) used += items[4 * k] != ITEM_NEWAXIS;
    if (used > x->ndim) return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "too many indices for %d dims", (int)x->ndim);
    /* PyTorch: ints select first, then the tensors index the resulting view, so ints neither
     * join the broadcast nor separate tensor terms; a slice or None between them does */
    for (k = 0; k < count; k++)
        if (items[4 * k] == ITEM_TENSOR) {
            if (first_adv < 0) first_adv = k;
            last_adv = k;
        }
    adjacent = first_adv >= 0;
    for (k = first_adv; k >= 0 && k <= last_adv; k++)
        adjacent &= items[4 * k] == ITEM_TENSOR || items[4 * k] == ITEM_SELECT;
    for (k = 0; k < count + (x->ndim - used); k++) {
        int64_t kind = k < count ? items[4 * k] : ITEM_SLICE, a = k < count ? items[4 * k + 1] : ITEM_NONE;
        int64_t size = dim < x->ndim ? x->shape[dim] : 1, first, length;
        if (kind == ITEM_NEWAXIS) {
            basic_shape[nbasic] = 1, basic_step[nbasic++] = 0;
        } else if (kind == ITEM_SELECT) {
            if (a < -size || a >= size)
                return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "index %lld is out of bounds for dim %d of size %lld",
                                       (long long)a, (int)dim, (long long)size);
            p->base += (a < 0 ? a + size : a) * in_stride[dim++];
        } else if (kind == ITEM_SLICE) {
            int64_t step = k < count && items[4 * k + 3] != ITEM_NONE ? items[4 * k + 3] : 1;
            if (step < 1) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "slice step must be positive");
            slice_range(size, a, k < count ? items[4 * k + 2] : ITEM_NONE, step, &first, &length);
            p->base += first * in_stride[dim];
            basic_shape[nbasic] = length, basic_step[nbasic++] = step * in_stride[dim++];
        } else {
            if (p->nadv >= ntensors) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "fewer index tensors than terms");
            p->adv[p->nadv] = tensors[p->nadv];
            p->adv_in_stride[p->nadv] = in_stride[dim];
            p->adv_size[p->nadv++] = size;
            dim++;
        }
        if (k == first_adv) basic_before = nbasic;
    }
    if (p->nadv != ntensors) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "more index tensors than terms");
    p->block_at = adjacent ? basic_before : 0;
    ESM_TRY(block_shape(ctx, p->adv, p->nadv, p));
    if (nbasic + p->block_ndim > ESM_MAX_DIMS) return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "too many result dims");
    p->ndim = nbasic + p->block_ndim;
    for (d = 0, k = 0; d < p->ndim; d++) {
        if (d >= p->block_at && d < p->block_at + p->block_ndim) continue;
        p->shape[d] = basic_shape[k], p->step[d] = basic_step[k++];
    }
    return ESM_OK;
}

static int64_t int_at(const esm_tensor *t, int64_t i)
{
    return t->dtype == ESM_INT32 ? (int64_t)((const int32_t *)t->data)[i] : ((const int64_t *)t->data)[i];
}

/* The input offset of the output element at multi-index pos (bounds-checked). */
static esm_status offset_of(esm_node_ctx *ctx, const index_plan *p, const int64_t *pos, int64_t *out)
{
    int64_t at = p->base;
    int32_t d, k;
    for (d = 0; d < p->ndim; d++) at += pos[d] * p->step[d];
    for (k = 0; k < p->nadv; k++) {
        int64_t i = 0, v;
        for (d = 0; d < p->block_ndim; d++) i += pos[p->block_at + d] * p->adv_stride[k][d];
        v = int_at(p->adv[k], i);
        if (v < -p->adv_size[k] || v >= p->adv_size[k])
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_ARGUMENT, "index %lld is out of bounds for a dim of size %lld",
                                   (long long)v, (long long)p->adv_size[k]);
        at += (v < 0 ? v + p->adv_size[k] : v) * p->adv_in_stride[k];
    }
    *out = at;
    return ESM_OK;
}

static esm_status check_index_tensors(esm_node_ctx *ctx, int32_t first)
{
    int32_t k;
    for (k = first; k < ctx->num_inputs; k++) ESM_TRY(esm_check_dtype(ctx, k, ESM_INTS));
    return ESM_OK;
}

/* ---- getitem / index ------------------------------------------------------------------------- */
static esm_status index_prepare(esm_node_ctx *ctx)
{
    index_plan p;
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    if (ctx->num_outputs < 1) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "has no output");
    for (p.nadv = 1; p.nadv < ctx->num_inputs; p.nadv++)
        if (ctx->inputs[p.nadv] && ctx->inputs[p.nadv]->dtype == ESM_BOOL)
            return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED,
                                   "a boolean mask index gives a data-dependent shape; index with integer tensors");
    ESM_TRY(check_index_tensors(ctx, 1));
    ESM_TRY(plan_index(ctx, ctx->inputs[0], ctx->inputs + 1, ctx->num_inputs - 1, &p));
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, p.ndim, p.shape);
    return ESM_OK;
}

static esm_status index_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    size_t elem = esm_dtype_size(x->dtype);
    int64_t pos[ESM_MAX_DIMS] = {0}, n = esm_numel(ctx->outputs[0]), i, at = 0;
    char *out = (char *)ctx->outputs[0]->data;
    index_plan p;
    int32_t d;
    ESM_TRY(plan_index(ctx, x, ctx->inputs + 1, ctx->num_inputs - 1, &p));
    if (p.nadv == 0) { /* basic indexing: one strided copy */
        int64_t stride[ESM_MAX_DIMS];
        for (d = 0; d < p.ndim; d++) stride[d] = p.step[d] * (int64_t)elem;
        esm_strided_copy(out, (const char *)x->data + p.base * (int64_t)elem, x->dtype, p.ndim, p.shape, p.ndim, stride);
        return ESM_OK;
    }
    for (i = 0; i < n; i++) {
        ESM_TRY(offset_of(ctx, &p, pos, &at));
        memcpy(out + (size_t)i * elem, (const char *)x->data + (size_t)at * elem, elem);
        for (d = p.ndim - 1; d >= 0 && ++pos[d] == p.shape[d]; d--) pos[d] = 0;
    }
    return ESM_OK;
}

/* ---- index_put(x, values, *tensors): attrs items, accumulate ---------------------------------- */
/* The boolean-mask form x[mask] = values (mask over x's leading dims): positions in order. */
static int mask_form(const esm_node_ctx *ctx)
{
    return ctx->num_inputs == 3 && ctx->inputs[2] && ctx->inputs[2]->dtype == ESM_BOOL;
}

static esm_status index_put_prepare(esm_node_ctx *ctx)
{
    const esm_tensor *x;
    index_plan p;
    int32_t d;
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 1, 1u << ctx->inputs[0]->dtype));
    x = ctx->inputs[0];
    if (mask_form(ctx)) {
        const esm_tensor *mask = ctx->inputs[2];
        for (d = 0; d < mask->ndim; d++)
            if (mask->ndim > x->ndim || mask->shape[d] != x->shape[d])
                return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "the mask must match the leading dims of the input");
    } else {
        ESM_TRY(check_index_tensors(ctx, 2));
        ESM_TRY(plan_index(ctx, x, ctx->inputs + 2, ctx->num_inputs - 2, &p));
    }
    esm_set_output(ctx->outputs[0], x->dtype, x->ndim, x->shape);
    return ESM_OK;
}

static void put(char *out, int64_t at, const char *value, esm_dtype dtype, int accumulate)
{
    size_t elem = esm_dtype_size(dtype);
    if (!accumulate) {
        memcpy(out + (size_t)at * elem, value, elem);
        return;
    }
    switch (dtype) {
    case ESM_FLOAT32: ((float *)out)[at] += *(const float *)value; break;
    case ESM_FLOAT64: ((double *)out)[at] += *(const double *)value; break;
    case ESM_INT32: ((int32_t *)out)[at] += *(const int32_t *)value; break;
    case ESM_INT64: ((int64_t *)out)[at] += *(const int64_t *)value; break;
    case ESM_BOOL: ((uint8_t *)out)[at] |= *(const uint8_t *)value; break;
    }
}

/* Element offset of values broadcast to `shape` (ndim dims) at multi-index pos. */
static esm_status value_offset(esm_node_ctx *ctx, const esm_tensor *v, int32_t ndim, const int64_t *shape,
                               const int64_t *pos, int64_t *out)
{
    int64_t at = 0, s = 1;
    int32_t d, lead = ndim - v->ndim;
    if (lead < 0) return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "values have more dims than the indexed result");
    for (d = v->ndim - 1; d >= 0; d--) {
        if (v->shape[d] != 1 && v->shape[d] != shape[lead + d])
            return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "values cannot be broadcast to the indexed result");
        if (v->shape[d] != 1) at += pos[lead + d] * s;
        s *= v->shape[d];
    }
    *out = at;
    return ESM_OK;
}

static esm_status put_masked(esm_node_ctx *ctx, char *out, int accumulate)
{
    const esm_tensor *x = ctx->inputs[0], *v = ctx->inputs[1], *mask = ctx->inputs[2];
    int64_t cells = esm_numel(mask), rest = cells ? esm_numel(x) / (cells ? cells : 1) : 0, count = 0, i, r, vat = 0;
    int64_t shape[ESM_MAX_DIMS], pos[ESM_MAX_DIMS];
    int32_t d, ndim = 1 + x->ndim - mask->ndim;
    size_t elem = esm_dtype_size(x->dtype);
    const uint8_t *m = (const uint8_t *)mask->data;
    for (i = 0; i < cells; i++) count += m[i] != 0;
    shape[0] = count;
    for (d = mask->ndim; d < x->ndim; d++) shape[1 + d - mask->ndim] = x->shape[d];
    for (i = 0, count = 0; i < cells; i++) {
        if (!m[i]) continue;
        pos[0] = count++;
        for (r = 0; r < rest; r++) {
            int64_t q = r;
            for (d = ndim - 1; d >= 1; d--) pos[d] = q % shape[d], q /= shape[d];
            ESM_TRY(value_offset(ctx, v, ndim, shape, pos, &vat));
            put(out, i * rest + r, (const char *)v->data + (size_t)vat * elem, x->dtype, accumulate);
        }
    }
    return ESM_OK;
}

static esm_status index_put_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0], *v = ctx->inputs[1];
    size_t elem = esm_dtype_size(x->dtype);
    char *out = (char *)ctx->outputs[0]->data;
    int64_t pos[ESM_MAX_DIMS] = {0}, accumulate, n, i, at = 0, vat = 0;
    index_plan p;
    int32_t d;
    ESM_TRY(esm_attr_int(ctx, "accumulate", 0, &accumulate));
    if (out != x->data) memmove(out, x->data, (size_t)esm_numel(x) * elem);
    if (mask_form(ctx)) return put_masked(ctx, out, (int)accumulate);
    ESM_TRY(plan_index(ctx, x, ctx->inputs + 2, ctx->num_inputs - 2, &p));
    n = 1;
    for (d = 0; d < p.ndim; d++) n *= p.shape[d];
    for (i = 0; i < n; i++) {
        ESM_TRY(offset_of(ctx, &p, pos, &at));
        ESM_TRY(value_offset(ctx, v, p.ndim, p.shape, pos, &vat));
        put(out, at, (const char *)v->data + (size_t)vat * elem, x->dtype, (int)accumulate);
        for (d = p.ndim - 1; d >= 0 && ++pos[d] == p.shape[d]; d--) pos[d] = 0;
    }
    return ESM_OK;
}

const esm_kernel esm_k_getitem = {"getitem", index_prepare, index_eval};
const esm_kernel esm_k_index = {"index", index_prepare, index_eval};
const esm_kernel esm_k_index_put = {"index_put", index_put_prepare, index_put_eval};
