/* where.c - where(cond, a, b): a select over three broadcast operands. The select copies
 * bytes, so one loop per element size serves every dtype. */
#include "kernels.h"
#include "kutil.h"

#define SELECT_LOOP(NAME, T)                                                              \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)      \
    {                                                                                     \
        int64_t i;                                                                        \
        (void)user;                                                                       \
        for (i = 0; i < n; i++)                                                           \
            *(T *)(p[0] + i * s[0]) = *(const uint8_t *)(p[1] + i * s[1])                \
                                          ? *(const T *)(p[2] + i * s[2])                 \
                                          : *(const T *)(p[3] + i * s[3]);                \
    }
SELECT_LOOP(select8, uint8_t)
SELECT_LOOP(select32, uint32_t)
SELECT_LOOP(select64, uint64_t)

static esm_status where_prepare(esm_node_ctx *ctx)
{
    ESM_TRY(esm_check_arity(ctx, 3, 3));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_B8));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 2, ESM_ANY));
    ESM_TRY(esm_check_same_dtype(ctx, 1));
    ESM_TRY(esm_broadcast_into(ctx, 0, 3, ctx->outputs[0]));
    ctx->outputs[0]->dtype = ctx->inputs[1]->dtype;
    return ESM_OK;
}

static esm_status where_eval(esm_node_ctx *ctx)
{
    size_t size = esm_dtype_size(ctx->inputs[1]->dtype);
    esm_inner_fn loop = size == 1 ? select8 : size == 4 ? select32 : select64;
    return esm_run_elementwise(ctx->outputs[0], 3, ctx->inputs, loop, NULL);
}

const esm_kernel esm_k_where = {"where", where_prepare, where_eval};
