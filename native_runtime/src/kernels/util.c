/* util.c - attribute helpers, error reporting and shape checks shared by all kernels. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kutil.h"

esm_status esm_kernel_fail(esm_node_ctx *ctx, esm_status status, const char *fmt, ...)
{
    va_list args;
    int used;
    if (!ctx->error) return status;
    used = snprintf(ctx->error, ESM_ERROR_LEN, "node %d (%s): ", (int)ctx->node_index,
                    ctx->op ? ctx->op : "?");
    if (used < 0 || used >= ESM_ERROR_LEN) used = 0;
    va_start(args, fmt);
    vsnprintf(ctx->error + used, ESM_ERROR_LEN - (size_t)used, fmt, args);
    va_end(args);
    return status;
}

int64_t esm_numel(const esm_tensor *t)
{
    int64_t n = 1;
    int32_t i;
    for (i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t esm_dtype_size(esm_dtype dtype)
{
    switch (dtype) {
    case ESM_FLOAT32: return 4;
    case ESM_FLOAT64: return 8;
    case ESM_INT32: return 4;
    case ESM_INT64: return 8;
    case ESM_BOOL: return 1;
    }
    return 0;
}

const char *esm_dtype_name(esm_dtype dtype)
{
    static const char *const names[] = {"float32", "float64", "int32", "int64", "bool"};
    return (unsigned)dtype < 5u ? names[dtype] : "unknown dtype";
}

const char *esm_shape_str(const esm_tensor *t, char *buf, size_t len)
{
    size_t used = 0;
    int32_t i;
    if (len == 0) return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "(");
    for (i = 0; i < t->ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (used < len) snprintf(buf + used, len - used, t->ndim == 1 ? ",)" : ")");
    return buf;
}

const esm_attr *esm_attr_find(const esm_node_ctx *ctx, const char *name)
{
    int32_t i;
    for (i = 0; i < ctx->num_attrs; i++)
        if (ctx->attrs[i].name && strcmp(ctx->attrs[i].name, name) == 0)
            return ctx->attrs[i].kind == ESM_ATTR_NONE ? NULL : &ctx->attrs[i];
    return NULL;
}

static esm_status wrong_kind(esm_node_ctx *ctx, const char *name, const char *want)
{
    return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "attribute '%s' should be %s", name, want);
}

/* INT, BOOL and DTYPE all carry their value in `i`. */
esm_status esm_attr_int(esm_node_ctx *ctx, const char *name, int64_t dflt, int64_t *out)
{
    const esm_attr *a = esm_attr_find(ctx, name);
    *out = dflt;
    if (!a) return ESM_OK;
    if (a->kind != ESM_ATTR_INT && a->kind != ESM_ATTR_BOOL && a->kind != ESM_ATTR_DTYPE)
        return wrong_kind(ctx, name, "an integer");
    *out = a->i;
    return ESM_OK;
}

/* A FLOAT, or an INT/BOOL written where Python passed an int (`clamp(x, 0)`). */
esm_status esm_attr_float(esm_node_ctx *ctx, const char *name, double dflt, double *out)
{
    const esm_attr *a = esm_attr_find(ctx, name);
    *out = dflt;
    if (!a) return ESM_OK;
    if (a->kind == ESM_ATTR_FLOAT) *out = a->f;
    else if (a->kind == ESM_ATTR_INT || a->kind == ESM_ATTR_BOOL) *out = (double)a->i;
    else return wrong_kind(ctx, name, "a number");
    return ESM_OK;
}

/* INTS; an absent attribute gives (NULL, 0); a single INT reads as a list of one. */
esm_status esm_attr_ints(esm_node_ctx *ctx, const char *name, const int64_t **out, int32_t *count)
{
    const esm_attr *a = esm_attr_find(ctx, name);
    *out = NULL;
    *count = 0;
    if (!a) return ESM_OK;
    if (a->kind == ESM_ATTR_INT) {
        *out = &a->i;
        *count = 1;
        return ESM_OK;
    }
    if (a->kind != ESM_ATTR_INTS) return wrong_kind(ctx, name, "a list of integers");
    if (a->count < 0 || (a->count > 0 && !a->ints))
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "attribute '%s' has no data", name);
    *out = a->ints;
    *count = a->count;
    return ESM_OK;
}

esm_status esm_attr_permutation(esm_node_ctx *ctx, const char *name, int32_t ndim, int32_t *perm, int *present)
{
    const int64_t *dims;
    int32_t count, d, seen = 0;
    ESM_TRY(esm_attr_ints(ctx, name, &dims, &count));
    *present = esm_attr_find(ctx, name) != NULL;
    for (d = 0; d < ndim; d++) perm[d] = d;
    if (!*present) return ESM_OK;
    if (count != ndim)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "%s has %d entries for a tensor of %d dims", name,
                               (int)count, (int)ndim);
    for (d = 0; d < count; d++) {
        ESM_TRY(esm_normalize_dim(ctx, dims[d], ndim, &perm[d]));
        if (seen & (1 << perm[d]))
            return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "%s is not a permutation", name);
        seen |= 1 << perm[d];
    }
    return ESM_OK;
}

esm_status esm_attr_string(esm_node_ctx *ctx, const char *name, const char *dflt, const char **out)
{
    const esm_attr *a = esm_attr_find(ctx, name);
    *out = dflt;
    if (!a) return ESM_OK;
    if (a->kind != ESM_ATTR_STRING || !a->s) return wrong_kind(ctx, name, "a string");
    *out = a->s;
    return ESM_OK;
}

esm_status esm_check_arity(esm_node_ctx *ctx, int32_t min, int32_t max)
{
    if (ctx->num_inputs < min || ctx->num_inputs > max)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "takes %d to %d inputs, got %d", (int)min,
                               (int)max, (int)ctx->num_inputs);
    if (ctx->num_outputs < 1)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "has no output");
    return ESM_OK;
}

esm_status esm_check_dtype(esm_node_ctx *ctx, int32_t i, unsigned mask)
{
    const esm_tensor *t = i < ctx->num_inputs ? ctx->inputs[i] : NULL;
    if (!t) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "input %d is missing", (int)i);
    if ((unsigned)t->dtype > ESM_BOOL || !(mask & (1u << t->dtype)))
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "input %d has unsupported dtype %s", (int)i,
                               esm_dtype_name(t->dtype));
    return ESM_OK;
}

esm_status esm_check_same_dtype(esm_node_ctx *ctx, int32_t first)
{
    int32_t i;
    for (i = first + 1; i < ctx->num_inputs; i++)
        if (ctx->inputs[i] && ctx->inputs[i]->dtype != ctx->inputs[first]->dtype)
            return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "input %d is %s but input %d is %s", (int)i,
                                   esm_dtype_name(ctx->inputs[i]->dtype), (int)first,
                                   esm_dtype_name(ctx->inputs[first]->dtype));
    return ESM_OK;
}

esm_status esm_normalize_dim(esm_node_ctx *ctx, int64_t dim, int32_t ndim, int32_t *out)
{
    int32_t n = ndim > 0 ? ndim : 1;
    if (dim < -n || dim >= n)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "dim %lld is out of range for a tensor of %d dims",
                               (long long)dim, (int)ndim);
    *out = (int32_t)(dim < 0 ? dim + n : dim);
    return ESM_OK;
}

void esm_set_output(esm_tensor *out, esm_dtype dtype, int32_t ndim, const int64_t *shape)
{
    int32_t i;
    out->dtype = dtype;
    out->ndim = ndim;
    for (i = 0; i < ndim; i++) out->shape[i] = shape[i];
}

esm_status esm_broadcast_into(esm_node_ctx *ctx, int32_t first, int32_t count, esm_tensor *out)
{
    int64_t shape[ESM_MAX_DIMS];
    int32_t ndim = 0, k, d;
    for (k = first; k < first + count; k++)
        if (ctx->inputs[k] && ctx->inputs[k]->ndim > ndim) ndim = ctx->inputs[k]->ndim;
    if (ndim > ESM_MAX_DIMS) return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "more than %d dims", ESM_MAX_DIMS);
    for (d = 0; d < ndim; d++) shape[d] = 1;
    for (k = first; k < first + count; k++) {
        const esm_tensor *t = ctx->inputs[k];
        int32_t lead;
        if (!t) continue;
        lead = ndim - t->ndim;
        for (d = 0; d < t->ndim; d++) {
            int64_t s = t->shape[d];
            if (s == 1) continue;
            if (shape[lead + d] == 1) shape[lead + d] = s;
            else if (shape[lead + d] != s) {
                char a[96], b[96];
                return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "shapes %s and %s cannot be broadcast together",
                                       esm_shape_str(ctx->inputs[first], a, sizeof a), esm_shape_str(t, b, sizeof b));
            }
        }
    }
    out->ndim = ndim;
    for (d = 0; d < ndim; d++) out->shape[d] = shape[d];
    return ESM_OK;
}

esm_status esm_attr_pair(esm_node_ctx *ctx, const char *name, int64_t dflt, int64_t out[2])
{
    const int64_t *v;
    int32_t n;
    ESM_TRY(esm_attr_ints(ctx, name, &v, &n));
    if (n == 0) out[0] = out[1] = dflt;
    else if (n == 1) out[0] = out[1] = v[0];
    else if (n == 2) out[0] = v[0], out[1] = v[1];
    else return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "attribute '%s' should hold 1 or 2 ints, got %d", name, (int)n);
    return ESM_OK;
}

esm_status esm_attr_padding(esm_node_ctx *ctx, const char *name, int64_t out[4])
{
    const int64_t *v;
    int32_t n, i;
    ESM_TRY(esm_attr_ints(ctx, name, &v, &n));
    if (n == 4) { /* the file's (top, left, bottom, right) */
        out[0] = v[0], out[1] = v[2], out[2] = v[1], out[3] = v[3];
    } else if (n <= 2) {
        out[0] = out[1] = n ? v[0] : 0;
        out[2] = out[3] = n ? v[n - 1] : 0;
    } else {
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "attribute '%s' should hold 2 or 4 ints, got %d", name, (int)n);
    }
    for (i = 0; i < 4; i++)
        if (out[i] < 0) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "negative padding in '%s'", name);
    return ESM_OK;
}
