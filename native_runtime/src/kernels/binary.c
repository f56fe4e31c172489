/* binary.c - broadcasting binary elementwise ops: arithmetic, maximum/minimum, comparisons,
 * logic. The dispatcher has already promoted both inputs to one dtype; every op runs on the
 * shared strided iterator with one inner loop per (op, dtype). */
#include <math.h>

#include "kernels.h"
#include "kutil.h"

typedef enum { OUT_SAME, OUT_BOOL, OUT_FLOAT } out_rule;

/* One inner loop through byte strides (any broadcast pattern). */
#define BINARY_LOOP(NAME, T, R, EXPR)                                                            \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)             \
    {                                                                                            \
        int64_t i;                                                                               \
        (void)user;                                                                              \
        for (i = 0; i < n; i++) {                                                                \
            T a = *(const T *)(p[1] + i * s[1]), b = *(const T *)(p[2] + i * s[2]);              \
            *(R *)(p[0] + i * s[0]) = (R)(EXPR);                                                 \
        }                                                                                        \
    }

/* The same with the three common cases (both contiguous, scalar right, scalar left) written
 * out so the compiler vectorizes them: only for the float ops models spend time in, to keep
 * the library small. */
#define BINARY_LOOP_FAST(NAME, T, R, EXPR)                                                       \
    BINARY_LOOP(NAME##_strided, T, R, EXPR)                                                      \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)             \
    {                                                                                            \
        int64_t i;                                                                               \
        R *o = (R *)p[0];                                                                        \
        const T *x = (const T *)p[1], *y = (const T *)p[2];                                      \
        if (s[0] == (int64_t)sizeof(R) && s[1] == (int64_t)sizeof(T) && s[2] == (int64_t)sizeof(T)) { \
            for (i = 0; i < n; i++) { T a = x[i], b = y[i]; o[i] = (R)(EXPR); }                 \
        } else if (s[0] == (int64_t)sizeof(R) && s[1] == (int64_t)sizeof(T) && s[2] == 0) {     \
            const T b = *y;                                                                      \
            for (i = 0; i < n; i++) { T a = x[i]; o[i] = (R)(EXPR); }                           \
        } else if (s[0] == (int64_t)sizeof(R) && s[1] == 0 && s[2] == (int64_t)sizeof(T)) {     \
            const T a = *x;                                                                      \
            for (i = 0; i < n; i++) { T b = y[i]; o[i] = (R)(EXPR); }                           \
        } else {                                                                                 \
            NAME##_strided(n, p, s, user);                                                       \
        }                                                                                        \
    }

/* Integer arithmetic wraps (through unsigned) as PyTorch's does, instead of being UB. */
#define WRAP32(op) (int32_t)((uint32_t)a op(uint32_t) b)
#define WRAP64(op) (int64_t)((uint64_t)a op(uint64_t) b)

static int64_t ipow(int64_t a, int64_t b)
{
    uint64_t result = 1, base = (uint64_t)a;
    if (b < 0) return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
    while (b) {
        if (b & 1) result *= base;
        base *= base;
        b >>= 1;
    }
    return (int64_t)result;
}

#define FMAX(a, b) ((a) != (a) ? (a) : (b) != (b) ? (b) : (a) > (b) ? (a) : (b))
#define FMIN(a, b) ((a) != (a) ? (a) : (b) != (b) ? (b) : (a) < (b) ? (a) : (b))

/* ---- the loops ----------------------------------------------------------------------------- */
#define ARITH(NAME, OP)                                           \
    BINARY_LOOP_FAST(NAME##_f32, float, float, a OP b)            \
    BINARY_LOOP(NAME##_f64, double, double, a OP b)               \
    BINARY_LOOP(NAME##_i32, int32_t, int32_t, WRAP32(OP))         \
    BINARY_LOOP(NAME##_i64, int64_t, int64_t, WRAP64(OP))         \
    static const esm_inner_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NAME##_i32, NAME##_i64, NULL};
ARITH(add, +)
ARITH(sub, -)
ARITH(mul, *)

BINARY_LOOP_FAST(div_f32, float, float, a / b)
BINARY_LOOP(div_f64, double, double, a / b)
BINARY_LOOP(div_i32, int32_t, float, (float)a / (float)b)
BINARY_LOOP(div_i64, int64_t, float, (float)a / (float)b)
static const esm_inner_fn div_loops[5] = {div_f32, div_f64, div_i32, div_i64, NULL};

BINARY_LOOP(pow_f32, float, float, powf(a, b))
BINARY_LOOP(pow_f64, double, double, pow(a, b))
BINARY_LOOP(pow_i32, int32_t, int32_t, (int32_t)ipow(a, b))
BINARY_LOOP(pow_i64, int64_t, int64_t, ipow(a, b))
static const esm_inner_fn pow_loops[5] = {pow_f32, pow_f64, pow_i32, pow_i64, NULL};

#define MINMAX(NAME, F, CMP)                                               \
    BINARY_LOOP_FAST(NAME##_f32, float, float, F(a, b))                    \
    BINARY_LOOP(NAME##_f64, double, double, F(a, b))                       \
    BINARY_LOOP(NAME##_i32, int32_t, int32_t, a CMP b ? a : b)             \
    BINARY_LOOP(NAME##_i64, int64_t, int64_t, a CMP b ? a : b)             \
    BINARY_LOOP(NAME##_b8, uint8_t, uint8_t, a CMP b ? a : b)              \
    static const esm_inner_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NAME##_i32, NAME##_i64, NAME##_b8};
MINMAX(maximum, FMAX, >)
MINMAX(minimum, FMIN, <)

#define COMPARE(NAME, EXPR)                                                \
    BINARY_LOOP(NAME##_f32, float, uint8_t, EXPR)                          \
    BINARY_LOOP(NAME##_f64, double, uint8_t, EXPR)                         \
    BINARY_LOOP(NAME##_i32, int32_t, uint8_t, EXPR)                        \
    BINARY_LOOP(NAME##_i64, int64_t, uint8_t, EXPR)                        \
    BINARY_LOOP(NAME##_b8, uint8_t, uint8_t, EXPR)                         \
    static const esm_inner_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NAME##_i32, NAME##_i64, NAME##_b8};
COMPARE(eq, a == b)
COMPARE(ne, a != b)
COMPARE(lt, a < b)
COMPARE(le, a <= b)
COMPARE(gt, a > b)
COMPARE(ge, a >= b)
COMPARE(logical_and, (a != 0) & (b != 0))
COMPARE(logical_or, (a != 0) | (b != 0))
COMPARE(logical_xor, (a != 0) ^ (b != 0))

/* ---- prepare / eval -------------------------------------------------------------------------- */
static esm_status binary_prepare(esm_node_ctx *ctx, const esm_inner_fn *loops, out_rule rule)
{
    esm_dtype in;
    ESM_TRY(esm_check_arity(ctx, 2, 2));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_ANY));
    ESM_TRY(esm_check_same_dtype(ctx, 0));
    in = ctx->inputs[0]->dtype;
    if (!loops[in])
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "no kernel for dtype %s", esm_dtype_name(in));
    ESM_TRY(esm_broadcast_into(ctx, 0, 2, ctx->outputs[0]));
    ctx->outputs[0]->dtype = rule == OUT_BOOL ? ESM_BOOL : rule == OUT_FLOAT && (in == ESM_INT32 || in == ESM_INT64)
                                                            ? ESM_FLOAT32 : in;
    return ESM_OK;
}

static esm_status binary_eval(esm_node_ctx *ctx, const esm_inner_fn *loops)
{
    esm_inner_fn loop = loops[ctx->inputs[0]->dtype];
    if (!loop)
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "no kernel for dtype %s",
                               esm_dtype_name(ctx->inputs[0]->dtype));
    return esm_run_elementwise(ctx->outputs[0], 2, ctx->inputs, loop, NULL);
}

#define BINARY_KERNEL(NAME, RULE)                                                               \
    static esm_status NAME##_prepare(esm_node_ctx *ctx) { return binary_prepare(ctx, NAME##_loops, RULE); } \
    static esm_status NAME##_eval(esm_node_ctx *ctx) { return binary_eval(ctx, NAME##_loops); }  \
    const esm_kernel esm_k_##NAME = {#NAME, NAME##_prepare, NAME##_eval};

BINARY_KERNEL(add, OUT_SAME)
BINARY_KERNEL(sub, OUT_SAME)
BINARY_KERNEL(mul, OUT_SAME)
BINARY_KERNEL(div, OUT_FLOAT)
BINARY_KERNEL(pow, OUT_SAME)
BINARY_KERNEL(maximum, OUT_SAME)
BINARY_KERNEL(minimum, OUT_SAME)
BINARY_KERNEL(eq, OUT_BOOL)
BINARY_KERNEL(ne, OUT_BOOL)
BINARY_KERNEL(lt, OUT_BOOL)
BINARY_KERNEL(le, OUT_BOOL)
BINARY_KERNEL(gt, OUT_BOOL)
BINARY_KERNEL(ge, OUT_BOOL)
BINARY_KERNEL(logical_and, OUT_BOOL)
BINARY_KERNEL(logical_or, OUT_BOOL)
BINARY_KERNEL(logical_xor, OUT_BOOL)
