/* cast.c - cast(x, dtype): conversion between any two dtypes (to bool: x != 0). */
#include "kernels.h"
#include "kutil.h"

#define CONVERT(T, R)                                                     \
    {                                                                     \
        const T *xs = (const T *)in;                                      \
        R *ys = (R *)out;                                                 \
        for (i = 0; i < n; i++) ys[i] = (R)xs[i];                         \
        return;                                                           \
    }
#define TO_BOOL(T)                                                        \
    {                                                                     \
        const T *xs = (const T *)in;                                      \
        uint8_t *ys = (uint8_t *)out;                                     \
        for (i = 0; i < n; i++) ys[i] = xs[i] != 0;                       \
        return;                                                           \
    }
#define FROM(T)                                                           \
    switch (to) {                                                         \
    case ESM_FLOAT32: CONVERT(T, float)                                   \
    case ESM_FLOAT64: CONVERT(T, double)                                  \
    case ESM_INT32: CONVERT(T, int32_t)                                   \
    case ESM_INT64: CONVERT(T, int64_t)                                   \
    case ESM_BOOL: TO_BOOL(T)                                             \
    }                                                                     \
    return;
/* Float to int: an out-of-range value would be UB in C (PyTorch leaves the result
 * unspecified), so NaN gives 0 and the rest saturates - a hostile input cannot trigger UB. */
#define SATURATE(T, R, LO, HI)                                            \
    {                                                                     \
        const T *xs = (const T *)in;                                      \
        R *ys = (R *)out;                                                 \
        for (i = 0; i < n; i++)                                           \
            ys[i] = xs[i] != xs[i] ? 0 : xs[i] <= (T)(LO) ? (LO)          \
                  : xs[i] >= (T)(HI) ? (HI) : (R)xs[i];                   \
        return;                                                           \
    }
#define FROM_FLOAT(T)                                                     \
    switch (to) {                                                         \
    case ESM_FLOAT32: CONVERT(T, float)                                   \
    case ESM_FLOAT64: CONVERT(T, double)                                  \
    case ESM_INT32: SATURATE(T, int32_t, INT32_MIN, INT32_MAX)            \
    case ESM_INT64: SATURATE(T, int64_t, INT64_MIN, INT64_MAX)            \
    case ESM_BOOL: TO_BOOL(T)                                             \
    }                                                                     \
    return;

static void convert(const void *in, esm_dtype from, void *out, esm_dtype to, int64_t n)
{
    int64_t i;
    switch (from) {
    case ESM_FLOAT32: FROM_FLOAT(float)
    case ESM_FLOAT64: FROM_FLOAT(double)
    case ESM_INT32: FROM(int32_t)
    case ESM_INT64: FROM(int64_t)
    case ESM_BOOL: FROM(uint8_t)
    }
}

static esm_status cast_target(esm_node_ctx *ctx, esm_dtype *to)
{
    int64_t dtype;
    ESM_TRY(esm_attr_int(ctx, "dtype", -1, &dtype));
    if (dtype < 0 || dtype > ESM_BOOL)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "attribute 'dtype' is missing or unknown (%lld)",
                               (long long)dtype);
    *to = (esm_dtype)dtype;
    return ESM_OK;
}

static esm_status cast_prepare(esm_node_ctx *ctx)
{
    esm_dtype to = ESM_FLOAT32;
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(cast_target(ctx, &to));
    esm_set_output(ctx->outputs[0], to, ctx->inputs[0]->ndim, ctx->inputs[0]->shape);
    return ESM_OK;
}

static esm_status cast_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    convert(x->data, x->dtype, ctx->outputs[0]->data, ctx->outputs[0]->dtype, esm_numel(x));
    return ESM_OK;
}

const esm_kernel esm_k_cast = {"cast", cast_prepare, cast_eval};
