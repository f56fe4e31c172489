/* unary.c - unary elementwise ops: math, activations, predicates. Inputs are contiguous, so a
 * flat loop per (op, dtype) suffices; <tgmath.h> lets one expression serve float and double. */
#include <string.h>
#include <tgmath.h>

#include "kernels.h"
#include "kutil.h"
#include "vmath.h"

/* Attribute values an op reads (leaky_relu's slope, softplus's beta/threshold, clamp's bounds). */
typedef struct uparams {
    double a, b;
    int mode;
} uparams;

typedef void (*unary_fn)(const void *in, void *out, int64_t n, const uparams *p);
typedef esm_status (*params_fn)(esm_node_ctx *ctx, uparams *p);

/* `x` is the element, `elem` its type, `p` the params. `restrict` lets the loops vectorize
 * without alias checks; an in-place call (out == in) stays correct because element i is
 * read before element i is written and no other element is touched. */
#define UNARY_LOOP(NAME, T, R, EXPR)                                                        \
    static void NAME##_rows(const T *restrict xs, R *restrict ys, int64_t n, const uparams *p) \
    {                                                                                       \
        typedef T elem;                                                                     \
        int64_t i;                                                                          \
        (void)p;                                                                            \
        for (i = 0; i < n; i++) {                                                           \
            elem x = xs[i];                                                                 \
            ys[i] = (R)(EXPR);                                                              \
        }                                                                                   \
    }                                                                                       \
    static void NAME(const void *in, void *out, int64_t n, const uparams *p)                \
    {                                                                                       \
        NAME##_rows((const T *)in, (R *)out, n, p);                                         \
    }

#define FLOAT_LOOPS(NAME, EXPR) FLOAT_LOOPS2(NAME, EXPR, EXPR)

/* float32 through its own expression (the vectorizable vmath.h functions), float64 libm */
#define FLOAT_LOOPS2(NAME, EXPR_F32, EXPR_F64)       \
    UNARY_LOOP(NAME##_f32, float, float, EXPR_F32)   \
    UNARY_LOOP(NAME##_f64, double, double, EXPR_F64) \
    static const unary_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NULL, NULL, NULL};

/* The activations (which models run on whole layers): as FLOAT_LOOPS2, with the float32 loop
 * also compiled for wider vectors and picked by the CPU (vmath.h's ESM_VEC_FN). */
#define VEC_LOOP(NAME, EXPR)                                                                        \
    ESM_VEC_FN(NAME##_rows, (const float *restrict xs, float *restrict ys, int64_t n), (xs, ys, n), { \
        int64_t i;                                                                                  \
        for (i = 0; i < n; i++) {                                                                   \
            float x = xs[i];                                                                        \
            ys[i] = EXPR;                                                                           \
        }                                                                                           \
    })                                                                                              \
    static void NAME(const void *in, void *out, int64_t n, const uparams *p)                        \
    {                                                                                               \
        (void)p;                                                                                    \
        NAME##_rows((const float *)in, (float *)out, n);                                            \
    }
#define ACTIVATION_LOOPS(NAME, EXPR_F32, EXPR_F64)   \
    VEC_LOOP(NAME##_f32, EXPR_F32)                   \
    UNARY_LOOP(NAME##_f64, double, double, EXPR_F64) \
    static const unary_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NULL, NULL, NULL};

#define NUMERIC_LOOPS(NAME, EXPR)                   \
    UNARY_LOOP(NAME##_f32, float, float, EXPR)      \
    UNARY_LOOP(NAME##_f64, double, double, EXPR)    \
    UNARY_LOOP(NAME##_i32, int32_t, int32_t, EXPR)  \
    UNARY_LOOP(NAME##_i64, int64_t, int64_t, EXPR)  \
    static const unary_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NAME##_i32, NAME##_i64, NULL};

#define PREDICATE_LOOPS(NAME, EXPR)                  \
    UNARY_LOOP(NAME##_f32, float, uint8_t, EXPR)     \
    UNARY_LOOP(NAME##_f64, double, uint8_t, EXPR)    \
    UNARY_LOOP(NAME##_i32, int32_t, uint8_t, EXPR)   \
    UNARY_LOOP(NAME##_i64, int64_t, uint8_t, EXPR)   \
    UNARY_LOOP(NAME##_b8, uint8_t, uint8_t, EXPR)    \
    static const unary_fn NAME##_loops[5] = {NAME##_f32, NAME##_f64, NAME##_i32, NAME##_i64, NAME##_b8};

#define SQRT1_2 0.70710678118654752440
#define SQRT_2_OVER_PI 0.79788456080286535588

NUMERIC_LOOPS(neg, -x)
NUMERIC_LOOPS(abs, x < 0 ? -x : x)
NUMERIC_LOOPS(sign, x > 0 ? (elem)1 : x < 0 ? (elem)-1 : x)
NUMERIC_LOOPS(relu, x < 0 ? (elem)0 : x)
FLOAT_LOOPS(leaky_relu, x > 0 ? x : (elem)(x * p->a))
NUMERIC_LOOPS(clamp, x < p->a ? (elem)p->a : x > p->b ? (elem)p->b : x)
FLOAT_LOOPS(floor, floor(x))
FLOAT_LOOPS(trunc, trunc(x))
FLOAT_LOOPS2(exp, esm_expf(x), exp(x))
FLOAT_LOOPS(log, log(x))
FLOAT_LOOPS(sqrt, sqrt(x))
FLOAT_LOOPS(rsqrt, (elem)1 / sqrt(x))
FLOAT_LOOPS(sin, sin(x))
FLOAT_LOOPS(cos, cos(x))
ACTIVATION_LOOPS(tanh, esm_tanhf(x), tanh(x))
/* float64: exp of a non-positive argument only, so large |x| cannot overflow */
ACTIVATION_LOOPS(sigmoid, esm_sigmoidf(x), x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)))
ACTIVATION_LOOPS(silu, x * esm_sigmoidf(x), x >= 0 ? x / (1 + exp(-x)) : x * exp(x) / (1 + exp(x)))
FLOAT_LOOPS2(erf, esm_erff(x), erf(x))
ACTIVATION_LOOPS(gelu_erf, esm_gelu_erff(x), 0.5 * x * (1 + erf(x * SQRT1_2)))
ACTIVATION_LOOPS(gelu_tanh, 0.5f * x * (1.0f + esm_tanhf((float)SQRT_2_OVER_PI * (x + 0.044715f * x * x * x))),
             0.5 * x * (1 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))))
/* The mode picks a loop once per call: a select inside one loop computed both forms (2x work). */
static const unary_fn *gelu_table(int mode) { return mode ? gelu_tanh_loops : gelu_erf_loops; }
static void gelu_f32(const void *in, void *out, int64_t n, const uparams *p) { gelu_table(p->mode)[0](in, out, n, p); }
static void gelu_f64(const void *in, void *out, int64_t n, const uparams *p) { gelu_table(p->mode)[1](in, out, n, p); }
static const unary_fn gelu_loops[5] = {gelu_f32, gelu_f64, NULL, NULL, NULL};
FLOAT_LOOPS(softplus, x * (elem)p->a > (elem)p->b
                          ? x
                          : (fmax(x * (elem)p->a, (elem)0) + log1p(exp(-fabs(x * (elem)p->a)))) / (elem)p->a)
PREDICATE_LOOPS(logical_not, x == 0)
PREDICATE_LOOPS(isnan, x != x)

/* ---- attributes ------------------------------------------------------------------------------ */
static esm_status leaky_relu_params(esm_node_ctx *ctx, uparams *p)
{
    return esm_attr_float(ctx, "negative_slope", 0.01, &p->a);
}

static esm_status softplus_params(esm_node_ctx *ctx, uparams *p)
{
    ESM_TRY(esm_attr_float(ctx, "beta", 1.0, &p->a));
    return esm_attr_float(ctx, "threshold", 20.0, &p->b);
}

/* On an integer tensor the bounds are converted to its type: keep them in its range, where
 * that conversion is defined (a hostile file may hold any double). */
static double int_bound(esm_dtype dtype, double v)
{
    double lo = dtype == ESM_INT32 ? -2147483648.0 : -9223372036854775808.0;
    double hi = dtype == ESM_INT32 ? 2147483647.0 : 9223372036854774784.0; /* largest double < 2^63 */
    return v < lo ? lo : v > hi ? hi : v;
}

static esm_status clamp_params(esm_node_ctx *ctx, uparams *p)
{
    esm_dtype dtype = ctx->inputs[0]->dtype;
    ESM_TRY(esm_attr_float(ctx, "min", -HUGE_VAL, &p->a));
    ESM_TRY(esm_attr_float(ctx, "max", HUGE_VAL, &p->b));
    if (dtype == ESM_INT32 || dtype == ESM_INT64) p->a = int_bound(dtype, p->a), p->b = int_bound(dtype, p->b);
    return ESM_OK;
}

static esm_status gelu_params(esm_node_ctx *ctx, uparams *p)
{
    const char *approximate;
    ESM_TRY(esm_attr_string(ctx, "approximate", "none", &approximate));
    if (strcmp(approximate, "none") != 0 && strcmp(approximate, "tanh") != 0)
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "approximate='%s' (expected 'none' or 'tanh')",
                               approximate);
    p->mode = strcmp(approximate, "tanh") == 0;
    return ESM_OK;
}

/* ---- fused activations (kutil.h) ------------------------------------------------------------ */
static const struct activation {
    const char *name;
    const unary_fn *loops;
    int mode; /* uparams.mode: gelu's tanh form */
} ACTIVATIONS[] = {{"relu", relu_loops, 0},       {"gelu", gelu_loops, 0},       {"gelu_tanh", gelu_loops, 1},
                   {"silu", silu_loops, 0},       {"sigmoid", sigmoid_loops, 0}, {"tanh", tanh_loops, 0}};
#define NUM_ACTIVATIONS (int)(sizeof ACTIVATIONS / sizeof ACTIVATIONS[0])

esm_status esm_attr_activation(esm_node_ctx *ctx, int *act)
{
    const char *name;
    int i;
    ESM_TRY(esm_attr_string(ctx, "activation", "none", &name));
    *act = 0;
    if (strcmp(name, "none") == 0) return ESM_OK;
    for (i = 0; i < NUM_ACTIVATIONS; i++)
        if (strcmp(name, ACTIVATIONS[i].name) == 0) {
            if (!ACTIVATIONS[i].loops[ctx->inputs[0]->dtype])
                return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "activation '%s' on %s", name,
                                       esm_dtype_name(ctx->inputs[0]->dtype));
            *act = i + 1;
            return ESM_OK;
        }
    return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "unknown activation '%s'", name);
}

void esm_activation_apply(int act, esm_dtype dtype, void *data, int64_t n)
{
    uparams p = {0, 0, 0};
    if (act <= 0 || act > NUM_ACTIVATIONS) return;
    p.mode = ACTIVATIONS[act - 1].mode;
    ACTIVATIONS[act - 1].loops[dtype](data, data, n, &p);
}

int esm_activation_lower_clamp(int act, float *lo)
{
    *lo = 0.0f; /* relu's loop: x < 0 ? 0 : x */
    return act > 0 && act <= NUM_ACTIVATIONS && ACTIVATIONS[act - 1].loops == relu_loops;
}

/* ---- prepare / eval -------------------------------------------------------------------------- */
static esm_status unary_prepare(esm_node_ctx *ctx, const unary_fn *loops, params_fn params, int to_bool)
{
    const esm_tensor *x;
    uparams p = {0, 0, 0};
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_ANY));
    x = ctx->inputs[0];
    if (!loops[x->dtype])
        return esm_kernel_fail(ctx, ESM_ERR_UNSUPPORTED, "no kernel for dtype %s", esm_dtype_name(x->dtype));
    if (params) ESM_TRY(params(ctx, &p));
    esm_set_output(ctx->outputs[0], to_bool ? ESM_BOOL : x->dtype, x->ndim, x->shape);
    return ESM_OK;
}

static esm_status unary_eval(esm_node_ctx *ctx, const unary_fn *loops, params_fn params)
{
    const esm_tensor *x = ctx->inputs[0];
    uparams p = {0, 0, 0};
    if (params) ESM_TRY(params(ctx, &p));
    loops[x->dtype](x->data, ctx->outputs[0]->data, esm_numel(x), &p);
    return ESM_OK;
}

#define UNARY_KERNEL(NAME, PARAMS, TO_BOOL)                                                          \
    static esm_status NAME##_prepare(esm_node_ctx *ctx) { return unary_prepare(ctx, NAME##_loops, PARAMS, TO_BOOL); } \
    static esm_status NAME##_eval(esm_node_ctx *ctx) { return unary_eval(ctx, NAME##_loops, PARAMS); } \
    const esm_kernel esm_k_##NAME = {#NAME, NAME##_prepare, NAME##_eval};

UNARY_KERNEL(neg, NULL, 0)
UNARY_KERNEL(abs, NULL, 0)
UNARY_KERNEL(sign, NULL, 0)
UNARY_KERNEL(relu, NULL, 0)
UNARY_KERNEL(leaky_relu, leaky_relu_params, 0)
UNARY_KERNEL(clamp, clamp_params, 0)
UNARY_KERNEL(floor, NULL, 0)
UNARY_KERNEL(trunc, NULL, 0)
UNARY_KERNEL(exp, NULL, 0)
UNARY_KERNEL(log, NULL, 0)
UNARY_KERNEL(sqrt, NULL, 0)
UNARY_KERNEL(rsqrt, NULL, 0)
UNARY_KERNEL(sin, NULL, 0)
UNARY_KERNEL(cos, NULL, 0)
UNARY_KERNEL(tanh, NULL, 0)
UNARY_KERNEL(sigmoid, NULL, 0)
UNARY_KERNEL(silu, NULL, 0)
UNARY_KERNEL(erf, NULL, 0)
UNARY_KERNEL(gelu, gelu_params, 0)
UNARY_KERNEL(softplus, softplus_params, 0)
UNARY_KERNEL(logical_not, NULL, 1)
UNARY_KERNEL(isnan, NULL, 1)
