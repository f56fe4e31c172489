/* test_kernels.c - unit tests of the kernels, calling prepare/eval directly on hand-built
 * nodes and comparing with references computed here in double precision. Exit status 0 when
 * every check passes. */
#include "kernel_harness.h"

#include "../src/kernels/gemm.h"

static const int64_t S2x3[] = {2, 3}, S3[] = {3};

/* ---- registry -------------------------------------------------------------------------------- */
static void test_registry_is_sorted_and_found(void)
{
    int32_t i, n = esm_kernel_count();
    CHECK(n > 40, "only %d kernels", (int)n);
    for (i = 1; i < n; i++)
        CHECK(strcmp(esm_kernel_at(i - 1)->name, esm_kernel_at(i)->name) < 0, "%s before %s",
              esm_kernel_at(i - 1)->name, esm_kernel_at(i)->name);
    for (i = 0; i < n; i++) CHECK(esm_find_kernel(esm_kernel_at(i)->name) == esm_kernel_at(i), "find %d", (int)i);
    CHECK(esm_find_kernel("no_such_op") == NULL, "unknown op found");
    CHECK(esm_kernel_at(n) == NULL, "index past the end");
}

/* ---- binary ---------------------------------------------------------------------------------- */
static void test_add_broadcasts_a_row(void)
{
    const float a[] = {1, 2, 3, 4, 5, 6}, b[] = {10, 20, 30};
    const double want[] = {11, 22, 33, 14, 25, 36};
    test_node t;
    node_init(&t, "add");
    node_input(&t, ESM_FLOAT32, 2, S2x3, a);
    node_input(&t, ESM_FLOAT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 2, S2x3), "shape");
    check_f32("add", t.out[0].data, want, 6, 0);
    node_free(&t);
}

static void test_sub_broadcasts_both_sides(void)
{
    const int64_t col[] = {2, 1}, out_shape[] = {2, 3};
    const float a[] = {1, 2}, b[] = {10, 20, 30};
    const double want[] = {-9, -19, -29, -8, -18, -28};
    test_node t;
    node_init(&t, "sub");
    node_input(&t, ESM_FLOAT32, 2, col, a);
    node_input(&t, ESM_FLOAT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 2, out_shape), "shape");
    check_f32("sub", t.out[0].data, want, 6, 0);
    node_free(&t);
}

static void test_int_mul_wraps_and_int_div_gives_float(void)
{
    const int32_t a[] = {7, -7, 2147483647}, b[] = {2, 2, 2};
    const int32_t want_mul[] = {14, -14, -2};
    const double want_div[] = {3.5, -3.5, 1073741823.5};
    test_node t;
    node_init(&t, "mul");
    node_input(&t, ESM_INT32, 1, S3, a);
    node_input(&t, ESM_INT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_mul, sizeof want_mul) == 0, "int32 mul");
    node_free(&t);
    node_init(&t, "div");
    node_input(&t, ESM_INT32, 1, S3, a);
    node_input(&t, ESM_INT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(t.out[0].dtype == ESM_FLOAT32, "div of ints is float32");
    check_f32("div", t.out[0].data, want_div, 3, 1e-7);
    node_free(&t);
}

static void test_pow_maximum_minimum(void)
{
    const float a[] = {2, NAN, -1}, b[] = {3, 1, 0.5f};
    const double want_pow[] = {8, NAN, NAN}, want_max[] = {3, NAN, 0.5}, want_min[] = {2, NAN, -1};
    const int64_t ia[] = {3, -2, 5}, ib[] = {4, 3, 0}, want_ipow[] = {81, -8, 1};
    test_node t;
    node_init(&t, "pow");
    node_input(&t, ESM_FLOAT32, 1, S3, a);
    node_input(&t, ESM_FLOAT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("pow", t.out[0].data, want_pow, 3, 1e-7);
    node_free(&t);
    node_init(&t, "maximum");
    node_input(&t, ESM_FLOAT32, 1, S3, a);
    node_input(&t, ESM_FLOAT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("maximum", t.out[0].data, want_max, 3, 0);
    node_free(&t);
    node_init(&t, "minimum");
    node_input(&t, ESM_FLOAT32, 1, S3, a);
    node_input(&t, ESM_FLOAT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("minimum", t.out[0].data, want_min, 3, 0);
    node_free(&t);
    node_init(&t, "pow");
    node_input(&t, ESM_INT64, 1, S3, ia);
    node_input(&t, ESM_INT64, 1, S3, ib);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_ipow, sizeof want_ipow) == 0, "int64 pow");
    node_free(&t);
}

static void test_comparisons_and_logic_give_bool(void)
{
    static const struct { const char *op; uint8_t want[3]; } cases[] = {
        {"eq", {0, 1, 0}}, {"ne", {1, 0, 1}}, {"lt", {1, 0, 0}}, {"le", {1, 1, 0}},
        {"gt", {0, 0, 1}}, {"ge", {0, 1, 1}}, {"logical_and", {0, 1, 1}}, {"logical_or", {1, 1, 1}},
        {"logical_xor", {1, 0, 0}},
    };
    const int64_t a[] = {0, 2, 5}, b[] = {1, 2, 3};
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_node t;
        node_init(&t, cases[i].op);
        node_input(&t, ESM_INT64, 1, S3, a);
        node_input(&t, ESM_INT64, 1, S3, b);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        CHECK(t.out[0].dtype == ESM_BOOL, "%s dtype", cases[i].op);
        CHECK(memcmp(t.out[0].data, cases[i].want, 3) == 0, "%s values", cases[i].op);
        node_free(&t);
    }
}

static void test_bad_broadcast_names_the_shapes(void)
{
    const int64_t s4[] = {4};
    const float a[6] = {0}, b[4] = {0};
    test_node t;
    node_init(&t, "add");
    t.ctx.node_index = 7;
    node_input(&t, ESM_FLOAT32, 2, S2x3, a);
    node_input(&t, ESM_FLOAT32, 1, s4, b);
    CHECK(node_run(&t) == ESM_ERR_SHAPE, "status");
    CHECK(strstr(t.error, "node 7 (add)") && strstr(t.error, "(2, 3)") && strstr(t.error, "(4,)"), "%s", t.error);
    node_free(&t);
}

static void test_mixed_dtypes_are_unsupported(void)
{
    const float a[3] = {0};
    const int32_t b[3] = {0};
    test_node t;
    node_init(&t, "add");
    node_input(&t, ESM_FLOAT32, 1, S3, a);
    node_input(&t, ESM_INT32, 1, S3, b);
    CHECK(node_run(&t) == ESM_ERR_UNSUPPORTED, "status");
    CHECK(strstr(t.error, "int32") && strstr(t.error, "float32"), "%s", t.error);
    node_free(&t);
}

/* ---- unary ----------------------------------------------------------------------------------- */
static double ref_sigmoid(double x) { return 1 / (1 + exp(-x)); }
static double ref_silu(double x) { return x / (1 + exp(-x)); }
static double ref_gelu(double x) { return 0.5 * x * (1 + erf(x / sqrt(2.0))); }
static double ref_rsqrt(double x) { return 1 / sqrt(x); }
static double ref_relu(double x) { return x > 0 ? x : 0; }
static double ref_neg(double x) { return -x; }
static double ref_sign(double x) { return x > 0 ? 1 : x < 0 ? -1 : 0; }
static double ref_softplus(double x) { return log1p(exp(x)); }

static void test_unary_float_ops_match_libm(void)
{
    static const struct { const char *op; double (*ref)(double); int positive_only; } cases[] = {
        {"abs", fabs, 0}, {"cos", cos, 0}, {"erf", erf, 0}, {"exp", exp, 0}, {"floor", floor, 0},
        {"gelu", ref_gelu, 0}, {"log", log, 1}, {"neg", ref_neg, 0}, {"relu", ref_relu, 0},
        {"rsqrt", ref_rsqrt, 1}, {"sigmoid", ref_sigmoid, 0}, {"sign", ref_sign, 0}, {"silu", ref_silu, 0},
        {"sin", sin, 0}, {"softplus", ref_softplus, 0}, {"sqrt", sqrt, 1}, {"tanh", tanh, 0},
        {"trunc", trunc, 0},
    };
    const int64_t shape[] = {9};
    const float xs[9] = {-30.5f, -3.25f, -1, -0.5f, 0, 0.75f, 1.5f, 4, 30.5f};
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        float in[9];
        double want[9], want64[9];
        int i;
        test_node t;
        for (i = 0; i < 9; i++) {
            in[i] = cases[c].positive_only ? fabsf(xs[i]) + 0.125f : xs[i];
            want[i] = cases[c].ref(in[i]);
        }
        node_init(&t, cases[c].op);
        node_input(&t, ESM_FLOAT32, 1, shape, in);
        CHECK(node_run(&t) == ESM_OK, "%s: %s", cases[c].op, t.error);
        check_f32(cases[c].op, t.out[0].data, want, 9, 2e-6);
        node_free(&t);
        { /* float64 runs in double: tight tolerance */
            double in64[9];
            for (i = 0; i < 9; i++) in64[i] = in[i];
            node_init(&t, cases[c].op);
            node_input(&t, ESM_FLOAT64, 1, shape, in64);
            CHECK(node_run(&t) == ESM_OK, "%s: %s", cases[c].op, t.error);
            for (i = 0; i < 9; i++) want64[i] = ((double *)t.out[0].data)[i];
            for (i = 0; i < 9; i++) CHECK(close_f(want64[i], want[i], 1e-12), "%s f64[%d]", cases[c].op, i);
            node_free(&t);
        }
    }
}

static void test_unary_attributes(void)
{
    const float x[] = {-2, 0.5f, 3};
    const double leaky[] = {-0.2, 0.5, 3}, clamp_lo[] = {0, 0.5, 3}, clamp_both[] = {-1, 0.5, 1};
    double gelu_tanh[3], softplus_b2[3];
    int i;
    test_node t;
    for (i = 0; i < 3; i++) {
        double v = x[i];
        gelu_tanh[i] = 0.5 * v * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (v + 0.044715 * v * v * v)));
        softplus_b2[i] = 2 * v > 5 ? v : log1p(exp(2 * v)) / 2;
    }
    node_init(&t, "leaky_relu");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_float(&t, "negative_slope", 0.1);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("leaky_relu", t.out[0].data, leaky, 3, 1e-7);
    node_free(&t);
    node_init(&t, "clamp");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_int(&t, "min", 0);
    node_attr(&t, "max", ESM_ATTR_NONE);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("clamp min only", t.out[0].data, clamp_lo, 3, 0);
    node_free(&t);
    node_init(&t, "clamp");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_float(&t, "min", -1);
    attr_float(&t, "max", 1);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("clamp", t.out[0].data, clamp_both, 3, 0);
    node_free(&t);
    node_init(&t, "gelu");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_string(&t, "approximate", "tanh");
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("gelu tanh", t.out[0].data, gelu_tanh, 3, 1e-6);
    node_free(&t);
    node_init(&t, "softplus");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_float(&t, "beta", 2);
    attr_float(&t, "threshold", 5);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("softplus", t.out[0].data, softplus_b2, 3, 1e-6);
    node_free(&t);
    node_init(&t, "gelu");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_string(&t, "approximate", "erf");
    CHECK(node_run(&t) == ESM_ERR_UNSUPPORTED && strstr(t.error, "erf"), "%s", t.error);
    node_free(&t);
}

static void test_predicates_and_int_unary(void)
{
    const float x[] = {NAN, 0, -1};
    const int32_t ix[] = {-3, 0, 4}, want_abs[] = {3, 0, 4}, want_relu[] = {0, 0, 4};
    const uint8_t want_nan[] = {1, 0, 0}, want_not[] = {0, 1, 0};
    test_node t;
    node_init(&t, "isnan");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    CHECK(node_run(&t) == ESM_OK && t.out[0].dtype == ESM_BOOL, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_nan, 3) == 0, "isnan");
    node_free(&t);
    node_init(&t, "logical_not");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_not, 3) == 0, "logical_not");
    node_free(&t);
    node_init(&t, "abs");
    node_input(&t, ESM_INT32, 1, S3, ix);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_abs, sizeof want_abs) == 0, "int abs");
    node_free(&t);
    node_init(&t, "relu");
    node_input(&t, ESM_INT32, 1, S3, ix);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_relu, sizeof want_relu) == 0, "int relu");
    node_free(&t);
    node_init(&t, "exp");
    node_input(&t, ESM_INT32, 1, S3, ix);
    CHECK(node_run(&t) == ESM_ERR_UNSUPPORTED, "exp of int32 is unsupported");
    node_free(&t);
    /* float-only like PyTorch; an integer loop would convert x * 1e30 back to int32 (UB) */
    node_init(&t, "leaky_relu");
    node_input(&t, ESM_INT32, 1, S3, ix);
    attr_float(&t, "negative_slope", 1e30);
    CHECK(node_run(&t) == ESM_ERR_UNSUPPORTED, "leaky_relu of int32 is unsupported");
    node_free(&t);
}

/* ---- where, cast ----------------------------------------------------------------------------- */
static void test_where_broadcasts_condition_and_scalar(void)
{
    const int64_t col[] = {2, 1};
    const uint8_t cond[] = {1, 0};
    const double a[] = {1, 2, 3}, b[] = {-1}, want[] = {1, 2, 3, -1, -1, -1};
    test_node t;
    int i;
    node_init(&t, "where");
    node_input(&t, ESM_BOOL, 2, col, cond);
    node_input(&t, ESM_FLOAT64, 1, S3, a);
    node_input(&t, ESM_FLOAT64, 0, NULL, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 2, S2x3) && t.out[0].dtype == ESM_FLOAT64, "shape/dtype");
    for (i = 0; i < 6; i++) CHECK(((double *)t.out[0].data)[i] == want[i], "where[%d]", i);
    node_free(&t);
}

static void test_cast_between_dtypes(void)
{
    const float x[] = {-2.75f, 0, 3.5f};
    const int32_t want_i[] = {-2, 0, 3};
    const uint8_t want_b[] = {1, 0, 1};
    test_node t;
    node_init(&t, "cast");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_dtype(&t, "dtype", ESM_INT32);
    CHECK(node_run(&t) == ESM_OK && t.out[0].dtype == ESM_INT32, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_i, sizeof want_i) == 0, "to int32 truncates");
    node_free(&t);
    node_init(&t, "cast");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    attr_dtype(&t, "dtype", ESM_BOOL);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want_b, 3) == 0, "to bool");
    node_free(&t);
    node_init(&t, "cast");
    node_input(&t, ESM_FLOAT32, 1, S3, x);
    CHECK(node_run(&t) == ESM_ERR_INVALID_MODEL, "missing dtype attribute");
    node_free(&t);
}

/* ---- reductions ------------------------------------------------------------------------------ */
static void test_sum_and_mean_over_dims(void)
{
    const int64_t shape[] = {2, 3, 4}, d1[] = {1}, d02[] = {0, 2}, dlast[] = {-1};
    float x[24];
    double want1[8] = {0}, want02[3] = {0}, want_mean_last[6] = {0};
    const int64_t keep_shape[] = {2, 1, 4}, s3[] = {3};
    int i, j, k;
    test_node t;
    for (i = 0; i < 24; i++) x[i] = (float)(i * 0.5 - 3);
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            for (k = 0; k < 4; k++) {
                want1[i * 4 + k] += x[(i * 3 + j) * 4 + k];
                want02[j] += x[(i * 3 + j) * 4 + k];
                want_mean_last[i * 3 + j] += x[(i * 3 + j) * 4 + k] / 4.0;
            }
    node_init(&t, "sum");
    node_input(&t, ESM_FLOAT32, 3, shape, x);
    attr_ints(&t, "dim", d1, 1);
    attr_bool(&t, "keepdim", 1);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 3, keep_shape), "keepdim shape");
    check_f32("sum dim 1", t.out[0].data, want1, 8, 1e-7);
    node_free(&t);
    node_init(&t, "sum");
    node_input(&t, ESM_FLOAT32, 3, shape, x);
    attr_ints(&t, "dim", d02, 2);
    attr_bool(&t, "keepdim", 0);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 1, s3), "shape");
    check_f32("sum dims 0,2", t.out[0].data, want02, 3, 1e-7);
    node_free(&t);
    node_init(&t, "mean");
    node_input(&t, ESM_FLOAT32, 3, shape, x);
    attr_ints(&t, "dim", dlast, 1);
    attr_bool(&t, "keepdim", 0);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("mean dim -1", t.out[0].data, want_mean_last, 6, 1e-7);
    node_free(&t);
}

static void test_sum_of_bools_is_int64_and_all_dims(void)
{
    const uint8_t x[] = {1, 0, 1, 1, 1, 0};
    const int64_t all[] = {0, 1};
    test_node t;
    node_init(&t, "sum");
    node_input(&t, ESM_BOOL, 2, S2x3, x);
    attr_ints(&t, "dim", all, 2);
    attr_bool(&t, "keepdim", 0);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(t.out[0].dtype == ESM_INT64 && t.out[0].ndim == 0, "int64 scalar");
    CHECK(*(int64_t *)t.out[0].data == 4, "count of trues");
    node_free(&t);
    node_init(&t, "mean");
    node_input(&t, ESM_BOOL, 2, S2x3, x);
    CHECK(node_run(&t) == ESM_ERR_UNSUPPORTED, "mean of bool");
    node_free(&t);
}

static void test_long_float32_sum_is_accurate(void)
{
    enum { N = 1 << 20 };
    const int64_t shape[] = {N};
    float *x = malloc(N * sizeof *x);
    int i;
    test_node t;
    for (i = 0; i < N; i++) x[i] = 0.1f;
    node_init(&t, "sum");
    node_input(&t, ESM_FLOAT32, 1, shape, x);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(fabs(*(float *)t.out[0].data - N * (double)0.1f) < 1e-2, "sum %g", *(float *)t.out[0].data);
    node_free(&t);
    free(x);
}

/* ---- shape ops ------------------------------------------------------------------------------- */
static void test_reshape_infers_minus_one(void)
{
    const int64_t target[] = {-1, 2}, want[] = {3, 2};
    const float x[6] = {0, 1, 2, 3, 4, 5};
    test_node t;
    node_init(&t, "reshape");
    node_input(&t, ESM_FLOAT32, 2, S2x3, x);
    attr_ints(&t, "shape", target, 2);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 2, want), "shape");
    CHECK(memcmp(t.out[0].data, x, sizeof x) == 0, "data");
    node_free(&t);
    node_init(&t, "reshape");
    node_input(&t, ESM_FLOAT32, 2, S2x3, x);
    attr_ints(&t, "shape", S3, 1);
    CHECK(node_run(&t) == ESM_ERR_SHAPE, "6 elements into 3");
    node_free(&t);
}

static void test_expand_and_permute(void)
{
    const int64_t col[] = {2, 1}, target[] = {3, -1, 4}, want_shape[] = {3, 2, 4};
    const int64_t shape[] = {2, 3, 4}, dims[] = {2, 0, 1}, perm_shape[] = {4, 2, 3};
    const int32_t x[] = {5, 7};
    int32_t y[24];
    int i, j, k, ok = 1;
    test_node t;
    node_init(&t, "expand");
    node_input(&t, ESM_INT32, 2, col, x);
    attr_ints(&t, "shape", target, 3);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 3, want_shape), "expand shape");
    for (i = 0; i < 24; i++) ok &= ((int32_t *)t.out[0].data)[i] == x[(i / 4) % 2];
    CHECK(ok, "expand values");
    node_free(&t);
    for (i = 0; i < 24; i++) y[i] = i;
    node_init(&t, "permute");
    node_input(&t, ESM_INT32, 3, shape, y);
    attr_ints(&t, "dims", dims, 3);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 3, perm_shape), "permute shape");
    for (i = 0, ok = 1; i < 4; i++)
        for (j = 0; j < 2; j++)
            for (k = 0; k < 3; k++) ok &= ((int32_t *)t.out[0].data)[(i * 2 + j) * 3 + k] == y[(j * 3 + k) * 4 + i];
    CHECK(ok, "permute values");
    node_free(&t);
}

/* ---- GEMM, matmul, linear -------------------------------------------------------------------- */
static float frand(unsigned *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (float)((*state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* One esm_sgemm call against a double reference; A and B optionally transposed in memory. */
static void check_gemm(int64_t m, int64_t n, int64_t k, int trans_a, int trans_b, int accumulate, int bias_mode)
{
    float *a = malloc(sizeof(float) * (size_t)(m * k + 1)), *b = malloc(sizeof(float) * (size_t)(k * n + 1));
    float *c = malloc(sizeof(float) * (size_t)(m * n + 1)), *bias = malloc(sizeof(float) * (size_t)(m + n + 1));
    double *want = malloc(sizeof(double) * (size_t)(m * n + 1));
    void *scratch = malloc(esm_sgemm_scratch(m, n, k));
    unsigned seed = (unsigned)(m * 131 + n * 7 + k);
    int64_t i, j, p;
    esm_gemm g = {0};
    char what[128];
    for (i = 0; i < m * k; i++) a[i] = frand(&seed);
    for (i = 0; i < k * n; i++) b[i] = frand(&seed);
    for (i = 0; i < m * n; i++) c[i] = frand(&seed);
    for (i = 0; i < m + n; i++) bias[i] = frand(&seed);
    g.m = m, g.n = n, g.k = k, g.a = a, g.b = b, g.c = c, g.ldc = n, g.accumulate = accumulate;
    g.a_rs = trans_a ? 1 : k, g.a_cs = trans_a ? m : 1;
    g.b_rs = trans_b ? 1 : n, g.b_cs = trans_b ? k : 1;
    g.bias = bias_mode ? bias : NULL;
    g.bias_per_row = bias_mode == 2;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double acc = accumulate ? c[i * n + j] : 0;
            for (p = 0; p < k; p++) acc += (double)a[i * g.a_rs + p * g.a_cs] * b[p * g.b_rs + j * g.b_cs];
            if (bias_mode) acc += bias[bias_mode == 2 ? i : j];
            want[i * n + j] = acc;
        }
    esm_sgemm(&g, scratch);
    snprintf(what, sizeof what, "gemm[%s] %lldx%lldx%lld ta=%d tb=%d acc=%d bias=%d", esm_sgemm_kernel_name(),
             (long long)m, (long long)n, (long long)k, trans_a, trans_b, accumulate, bias_mode);
    check_f32(what, c, want, m * n, 1e-5 * (1 + sqrt((double)k)));
    free(a), free(b), free(c), free(bias), free(want), free(scratch);
}

static void test_gemm_every_kernel(void)
{
    static const char *const names[] = {"avx512", "avx2", "neon", "c"};
    static const int64_t sizes[][3] = {{1, 1, 1}, {3, 5, 7}, {13, 37, 300}, {100, 70, 513}, {12, 32, 64},
                                       {2, 200, 90}, {150, 9, 1}, {5, 4, 0}, {300, 260, 40}, {17, 17, 17}, {7, 19, 1027},
                                       {32, 10, 128}, {64, 5, 700}, /* few columns: run transposed */
                                       {192, 16, 16}, {40, 17, 33}}; /* the narrow tile (AVX-512: 16 x 16) */
    size_t s, kern;
    int tr, tested = 0;
    for (kern = 0; kern < 4; kern++) {
        if (!esm_sgemm_select(names[kern])) continue;
        tested++;
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (tr = 0; tr < 4; tr++) check_gemm(sizes[s][0], sizes[s][1], sizes[s][2], tr & 1, tr >> 1, 0, 0);
        check_gemm(40, 50, 70, 0, 0, 1, 0);
        check_gemm(40, 50, 70, 0, 1, 0, 1);
        check_gemm(40, 50, 70, 1, 0, 0, 2);
        check_gemm(2, 50, 70, 0, 1, 1, 1);
        check_gemm(1, 33, 70, 0, 0, 0, 1);
        check_gemm(40, 6, 70, 0, 1, 1, 1);
        check_gemm(40, 6, 500, 1, 0, 1, 2);
    }
    CHECK(tested >= 1, "no GEMM kernel ran");
    CHECK(esm_sgemm_select("c"), "the portable kernel always exists");
    CHECK(esm_sgemm_select(NULL), "back to the detected kernel");
}

static void test_matmul_batches_and_vectors(void)
{
    const int64_t sa[] = {2, 1, 3, 4}, sb[] = {5, 4, 2}, sout[] = {2, 5, 3, 2}, sv[] = {4}, sm[] = {4, 2};
    float a[24], b[40];
    double want[60];
    int bi, bj, i, j, p;
    unsigned seed = 1;
    test_node t;
    for (i = 0; i < 24; i++) a[i] = frand(&seed);
    for (i = 0; i < 40; i++) b[i] = frand(&seed);
    for (bi = 0; bi < 2; bi++)
        for (bj = 0; bj < 5; bj++)
            for (i = 0; i < 3; i++)
                for (j = 0; j < 2; j++) {
                    double acc = 0;
                    for (p = 0; p < 4; p++) acc += (double)a[bi * 12 + i * 4 + p] * b[bj * 8 + p * 2 + j];
                    want[((bi * 5 + bj) * 3 + i) * 2 + j] = acc;
                }
    node_init(&t, "matmul");
    node_input(&t, ESM_FLOAT32, 4, sa, a);
    node_input(&t, ESM_FLOAT32, 3, sb, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 4, sout), "batched shape");
    check_f32("batched matmul", t.out[0].data, want, 60, 1e-6);
    node_free(&t);
    /* vector @ matrix: (4,) @ (4, 2) -> (2,) */
    for (j = 0; j < 2; j++) {
        want[j] = 0;
        for (p = 0; p < 4; p++) want[j] += (double)a[p] * b[p * 2 + j];
    }
    node_init(&t, "matmul");
    node_input(&t, ESM_FLOAT32, 1, sv, a);
    node_input(&t, ESM_FLOAT32, 2, sm, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(t.out[0].ndim == 1 && t.out[0].shape[0] == 2, "vector result");
    check_f32("vector @ matrix", t.out[0].data, want, 2, 1e-6);
    node_free(&t);
    node_init(&t, "matmul");
    node_input(&t, ESM_FLOAT32, 2, sm, b);
    node_input(&t, ESM_FLOAT32, 2, sm, b);
    CHECK(node_run(&t) == ESM_ERR_SHAPE && strstr(t.error, "inner"), "%s", t.error);
    node_free(&t);
}

static void test_matmul_float64_and_int(void)
{
    const int64_t s22[] = {2, 2};
    const double a[] = {1, 2, 3, 4}, want[] = {7, 10, 15, 22};
    const int64_t ia[] = {1, 2, 3, 4}, iwant[] = {7, 10, 15, 22};
    test_node t;
    node_init(&t, "matmul");
    node_input(&t, ESM_FLOAT64, 2, s22, a);
    node_input(&t, ESM_FLOAT64, 2, s22, a);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, want, sizeof want) == 0, "f64 matmul");
    node_free(&t);
    node_init(&t, "matmul");
    node_input(&t, ESM_INT64, 2, s22, ia);
    node_input(&t, ESM_INT64, 2, s22, ia);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(memcmp(t.out[0].data, iwant, sizeof iwant) == 0, "int64 matmul");
    node_free(&t);
}

static void test_linear_with_and_without_bias(void)
{
    const int64_t sx[] = {7, 2, 5}, sw[] = {3, 5}, sb[] = {3}, sout[] = {7, 2, 3}, sx1[] = {1, 5};
    float x[70], w[15], b[3];
    double want[42], want_nb[42];
    int r, o, p, use_bias;
    unsigned seed = 3;
    test_node t;
    for (r = 0; r < 70; r++) x[r] = frand(&seed);
    for (r = 0; r < 15; r++) w[r] = frand(&seed);
    for (r = 0; r < 3; r++) b[r] = frand(&seed);
    for (r = 0; r < 14; r++)
        for (o = 0; o < 3; o++) {
            double acc = 0;
            for (p = 0; p < 5; p++) acc += (double)x[r * 5 + p] * w[o * 5 + p];
            want_nb[r * 3 + o] = acc;
            want[r * 3 + o] = acc + b[o];
        }
    for (use_bias = 0; use_bias < 2; use_bias++) {
        node_init(&t, "linear");
        node_input(&t, ESM_FLOAT32, 3, sx, x);
        node_input(&t, ESM_FLOAT32, 2, sw, w);
        node_input(&t, ESM_FLOAT32, use_bias ? 1 : -1, sb, b);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        CHECK(shape_is(&t.out[0], 3, sout), "linear shape");
        check_f32("linear", t.out[0].data, use_bias ? want : want_nb, 42, 1e-6);
        node_free(&t);
    }
    node_init(&t, "linear"); /* batch 1 takes the unpacked path */
    node_input(&t, ESM_FLOAT32, 2, sx1, x);
    node_input(&t, ESM_FLOAT32, 2, sw, w);
    node_input(&t, ESM_FLOAT32, 1, sb, b);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("linear batch 1", t.out[0].data, want, 3, 1e-6);
    node_free(&t);
}

/* ---- convolution: the float32 path (im2col + SGEMM, col2im) against the float64 path (a
 * direct loop), on the same data ---------------------------------------------------------------- */
typedef struct conv_case {
    const char *op;
    int64_t x[4], w[4];
    int64_t stride[2], dilation[2], padding[4], groups, output_padding[2];
} conv_case;

static void check_conv_paths_agree(const conv_case *c)
{
    int64_t nx = c->x[0] * c->x[1] * c->x[2] * c->x[3], nw = c->w[0] * c->w[1] * c->w[2] * c->w[3], i;
    int64_t nb = strcmp(c->op, "conv2d") == 0 ? c->w[0] : c->w[1] * c->groups;
    float *x = malloc(sizeof(float) * nx), *w = malloc(sizeof(float) * nw), *b = malloc(sizeof(float) * nb);
    double *xd = malloc(sizeof(double) * nx), *wd = malloc(sizeof(double) * nw), *bd = malloc(sizeof(double) * nb);
    unsigned seed = 11;
    test_node t32, t64;
    int pass;
    for (i = 0; i < nx; i++) xd[i] = x[i] = frand(&seed);
    for (i = 0; i < nw; i++) wd[i] = w[i] = frand(&seed);
    for (i = 0; i < nb; i++) bd[i] = b[i] = frand(&seed);
    for (pass = 0; pass < 2; pass++) {
        test_node *t = pass ? &t64 : &t32;
        node_init(t, c->op);
        node_input(t, pass ? ESM_FLOAT64 : ESM_FLOAT32, 4, c->x, pass ? (const void *)xd : (const void *)x);
        node_input(t, pass ? ESM_FLOAT64 : ESM_FLOAT32, 4, c->w, pass ? (const void *)wd : (const void *)w);
        node_input(t, pass ? ESM_FLOAT64 : ESM_FLOAT32, 1, &nb, pass ? (const void *)bd : (const void *)b);
        attr_ints(t, "stride", c->stride, 2);
        attr_ints(t, "dilation", c->dilation, 2);
        attr_ints(t, "padding", c->padding, 4);
        attr_int(t, "groups", c->groups);
        if (strcmp(c->op, "conv_transpose2d") == 0) attr_ints(t, "output_padding", c->output_padding, 2);
        CHECK(node_run(t) == ESM_OK, "%s: %s", c->op, t->error);
    }
    CHECK(shape_is(&t32.out[0], 4, t64.out[0].shape), "%s shapes", c->op);
    check_f32(c->op, t32.out[0].data, t64.out[0].data, esm_numel(&t64.out[0]), 1e-5);
    node_free(&t32), node_free(&t64);
    free(x), free(w), free(b), free(xd), free(wd), free(bd);
}

static void test_convolutions_agree_across_algorithms(void)
{
    static const conv_case cases[] = {
        {"conv2d", {2, 4, 7, 6}, {6, 2, 3, 2}, {2, 1}, {1, 2}, {1, 0, 2, 1}, 2, {0, 0}},
        {"conv2d", {1, 5, 4, 4}, {3, 5, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}}, /* pointwise */
        {"conv2d", {2, 3, 6, 5}, {3, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 3, {0, 0}}, /* depthwise */
        {"conv2d", {1, 16, 9, 9}, {20, 16, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}},
        {"conv2d", {5, 48, 3, 4}, {17, 48, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}}, /* K = 432: k slices */
        {"conv2d", {3, 1, 8, 8}, {13, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}}, /* images across tiles */
        /* few output channels (8, 16, 32, 7): the narrow tile where a kernel has one */
        {"conv2d", {3, 1, 8, 8}, {8, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}},
        {"conv2d", {2, 8, 5, 7}, {16, 8, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}},
        {"conv2d", {1, 3, 17, 3}, {32, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}},
        {"conv2d", {2, 64, 3, 3}, {7, 64, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}}, /* K = 576: k slices */
        /* 16-column panels of whole output rows (gather16), the last tap reading the input's last float */
        {"conv2d", {2, 3, 4, 4}, {16, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 1, {0, 0}},
        {"conv2d", {2, 2, 6, 6}, {16, 2, 3, 3}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}},
        {"conv_transpose2d", {2, 4, 3, 5}, {4, 3, 3, 2}, {2, 1}, {1, 2}, {1, 0, 0, 1}, 2, {1, 0}},
        {"conv_transpose2d", {1, 6, 4, 4}, {6, 5, 2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, 1, {0, 0}},
    };
    static const char *const kernels[] = {"avx512", "avx2", "neon", "c"};
    size_t i, kern;
    for (kern = 0; kern < 4; kern++) /* every GEMM micro-kernel this CPU runs */
        if (esm_sgemm_select(kernels[kern]))
            for (i = 0; i < sizeof cases / sizeof cases[0]; i++) check_conv_paths_agree(&cases[i]);
    CHECK(esm_sgemm_select(NULL), "back to the detected kernel");
}

static void test_max_pool_values_and_indices(void)
{
    const int64_t shape[] = {1, 1, 3, 4}, k[] = {2, 2}, stride[] = {1, 2}, zero[] = {0, 0}, out_shape[] = {1, 1, 2, 2};
    const float x[] = {1, 5, 2, 0, 3, 4, 8, 8, 9, 1, 0, 7};
    const double want[] = {5, 8, 9, 8};
    const int64_t want_index[] = {1, 6, 8, 6};
    test_node t;
    node_init(&t, "max_pool2d");
    t.ctx.num_outputs = 2;
    node_input(&t, ESM_FLOAT32, 4, shape, x);
    attr_ints(&t, "kernel", k, 2);
    attr_ints(&t, "stride", stride, 2);
    attr_ints(&t, "padding", zero, 2);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 4, out_shape) && t.out[1].dtype == ESM_INT64, "max_pool2d outputs");
    check_f32("max_pool2d", t.out[0].data, want, 4, 0);
    CHECK(memcmp(t.out[1].data, want_index, sizeof want_index) == 0, "first maximum's flat index");
    node_free(&t);
}

/* One max_pool2d 2x2 / stride 2 run of x (shape); indices unused: the flat values-only path. */
static void run_max_pool_2x2(const int64_t *shape, const float *x, unsigned unused, float *values, int64_t n)
{
    const int64_t k[] = {2, 2}, zero[] = {0, 0};
    test_node t;
    node_init(&t, "max_pool2d");
    t.ctx.num_outputs = 2;
    t.ctx.unused_outputs = unused;
    node_input(&t, ESM_FLOAT32, 4, shape, x);
    attr_ints(&t, "kernel", k, 2);
    attr_ints(&t, "stride", k, 2);
    attr_ints(&t, "padding", zero, 2);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    memcpy(values, t.out[0].data, (size_t)n * sizeof(float));
    node_free(&t);
}

/* The values-only 2x2 path (row pairs of fixed width 2, 4, 8 or any other) gives the same bits as
 * the general loop that also writes indices: NaNs win, the first of tied signed zeros wins. */
static void test_max_pool_2x2_paths_agree(void)
{
    static const int64_t shapes[][4] = {{2, 3, 4, 4}, {3, 2, 8, 8}, {1, 2, 6, 6}, {2, 1, 16, 16}, {1, 1, 2, 10}};
    float x[2 * 3 * 16 * 16], general[sizeof x / sizeof x[0] / 4], flat[sizeof x / sizeof x[0] / 4];
    unsigned seed = 11;
    size_t c;
    int64_t i, n;
    for (c = 0; c < sizeof shapes / sizeof shapes[0]; c++) {
        const int64_t *sh = shapes[c];
        n = sh[0] * sh[1] * sh[2] * sh[3];
        for (i = 0; i < n; i++) x[i] = i % 7 == 3 ? NAN : i % 5 == 1 ? (i % 2 ? -0.0f : 0.0f) : frand(&seed) - 0.5f;
        run_max_pool_2x2(sh, x, 0, general, n / 4);
        run_max_pool_2x2(sh, x, 2u, flat, n / 4);
        CHECK(memcmp(general, flat, (size_t)(n / 4) * sizeof(float)) == 0, "max_pool2d 2x2 paths differ for case %d", (int)c);
    }
}

static void test_softmax_and_log_softmax_over_each_dim(void)
{
    const int64_t shape[] = {2, 3, 4};
    float x[24];
    double want[24], want_log[24];
    int dim, i, o, k, inner;
    unsigned seed = 5;
    for (i = 0; i < 24; i++) x[i] = 10 * frand(&seed);
    for (dim = 0; dim < 3; dim++) {
        int64_t d = dim;
        int length = (int)shape[dim], outer = dim == 0 ? 1 : dim == 1 ? 2 : 6;
        test_node t;
        inner = 24 / (outer * length);
        for (o = 0; o < outer; o++)
            for (i = 0; i < inner; i++) {
                double total = 0;
                for (k = 0; k < length; k++) total += exp(x[(o * length + k) * inner + i]);
                for (k = 0; k < length; k++) {
                    int at = (o * length + k) * inner + i;
                    want[at] = exp(x[at]) / total;
                    want_log[at] = x[at] - log(total);
                }
            }
        node_init(&t, "softmax");
        node_input(&t, ESM_FLOAT32, 3, shape, x);
        attr_int(&t, "dim", d);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        check_f32("softmax", t.out[0].data, want, 24, 1e-6);
        node_free(&t);
        node_init(&t, "log_softmax");
        node_input(&t, ESM_FLOAT32, 3, shape, x);
        attr_int(&t, "dim", d - 3);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        check_f32("log_softmax", t.out[0].data, want_log, 24, 1e-6);
        node_free(&t);
    }
}

static void test_index_selects_ints_first(void)
{
    /* x[1, :, [3, 0, 3]] of a (2, 3, 4) tensor is (3, 3) in PyTorch: row j, column idx[c] */
    const int64_t shape[] = {2, 3, 4}, ishape[] = {3}, idx[] = {3, 0, 3}, want_shape[] = {3, 3};
    const int64_t items[] = {0, 1, INT64_MIN, INT64_MIN, 1, INT64_MIN, INT64_MIN, INT64_MIN, 3, INT64_MIN,
                             INT64_MIN, INT64_MIN};
    int32_t x[24];
    int i, j, ok = 1;
    test_node t;
    for (i = 0; i < 24; i++) x[i] = i;
    node_init(&t, "index");
    node_input(&t, ESM_INT32, 3, shape, x);
    node_input(&t, ESM_INT64, 1, ishape, idx);
    attr_ints(&t, "items", items, 12);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    CHECK(shape_is(&t.out[0], 2, want_shape), "index shape");
    for (i = 0; i < 3; i++)
        for (j = 0; j < 3; j++) ok &= ((int32_t *)t.out[0].data)[i * 3 + j] == x[12 + i * 4 + idx[j]];
    CHECK(ok, "index values");
    node_free(&t);
}

static void test_pad_modes(void)
{
    const int64_t shape[] = {4}, pad[] = {2, 3}, crop[] = {-1, 2};
    const float x[] = {1, 2, 3, 4};
    static const struct { const char *mode; double want[9]; } cases[] = {
        {"constant", {7, 7, 1, 2, 3, 4, 7, 7, 7}}, {"reflect", {3, 2, 1, 2, 3, 4, 3, 2, 1}},
        {"replicate", {1, 1, 1, 2, 3, 4, 4, 4, 4}}, {"circular", {3, 4, 1, 2, 3, 4, 1, 2, 3}},
    };
    const double want_crop[] = {2, 3, 4, 0, 0};
    size_t c;
    test_node t;
    for (c = 0; c < 4; c++) {
        node_init(&t, "pad");
        node_input(&t, ESM_FLOAT32, 1, shape, x);
        attr_ints(&t, "pad", pad, 2);
        attr_string(&t, "mode", cases[c].mode);
        attr_float(&t, "value", 7);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        check_f32(cases[c].mode, t.out[0].data, cases[c].want, 9, 0);
        node_free(&t);
    }
    node_init(&t, "pad");
    node_input(&t, ESM_FLOAT32, 1, shape, x);
    attr_ints(&t, "pad", crop, 2);
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    check_f32("pad crop", t.out[0].data, want_crop, 5, 0);
    node_free(&t);
}

/* Linear on "3 threads" (the harness runs the parts one by one): split along n, then along m. */
static void test_threaded_products_match(void)
{
    static const int64_t sizes[][3] = {{40, 300, 100}, {300, 20, 200}};
    size_t s;
    for (s = 0; s < 2; s++) {
        int64_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2], i, j, p;
        const int64_t sx[] = {m, k}, sw[] = {n, k}, sb[] = {n};
        float *x = malloc(sizeof(float) * (size_t)(m * k)), *w = malloc(sizeof(float) * (size_t)(n * k));
        float *b = malloc(sizeof(float) * (size_t)n);
        double *want = malloc(sizeof(double) * (size_t)(m * n));
        unsigned seed = 9;
        test_node t;
        for (i = 0; i < m * k; i++) x[i] = frand(&seed);
        for (i = 0; i < n * k; i++) w[i] = frand(&seed);
        for (i = 0; i < n; i++) b[i] = frand(&seed);
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++) {
                double acc = b[j];
                for (p = 0; p < k; p++) acc += (double)x[i * k + p] * w[j * k + p];
                want[i * n + j] = acc;
            }
        node_init(&t, "linear");
        t.ctx.num_threads = 3;
        node_input(&t, ESM_FLOAT32, 2, sx, x);
        node_input(&t, ESM_FLOAT32, 2, sw, w);
        node_input(&t, ESM_FLOAT32, 1, sb, b);
        CHECK(node_run(&t) == ESM_OK, "%s", t.error);
        check_f32("threaded linear", t.out[0].data, want, m * n, 1e-5);
        node_free(&t);
        free(x), free(w), free(b), free(want);
    }
}

/* ---- lstm and gru: a whole sequence against a double-precision step loop ---------------------- */
static double ref_sig(double x) { return 1 / (1 + exp(-x)); }

typedef struct rnn_case {
    int lstm; /* 1: lstm (gates i, f, g, o; states h, c), 0: gru (gates r, z, n; state h) */
    int64_t steps, batch, features, hidden;
    int bias, threads;
} rnn_case;

/* One gate unit's two projections: gi = W_ih x + b_ih, gh = W_hh h + b_hh (row = gate * H + j). */
static void ref_projections(const rnn_case *k, const double *x, const double *h, const double *w_ih, const double *w_hh,
                            const double *b, int64_t row, double *gi, double *gh)
{
    int64_t gates = (k->lstm ? 4 : 3) * k->hidden, p;
    *gi = k->bias ? b[row] : 0;
    *gh = k->bias ? b[gates + row] : 0;
    for (p = 0; p < k->features; p++) *gi += x[p] * w_ih[row * k->features + p];
    for (p = 0; p < k->hidden; p++) *gh += h[p] * w_hh[row * k->hidden + p];
}

/* Inputs (x, states, w_ih, w_hh, b_ih, b_hh) one after another in `data`; want: T*B*H outputs,
 * then each final state. */
static void rnn_reference(const rnn_case *k, const double *data, double *want)
{
    int64_t bh = k->batch * k->hidden, gates = (k->lstm ? 4 : 3) * k->hidden, t, n, j, g;
    const double *x = data, *h0 = x + k->steps * k->batch * k->features, *c0 = h0 + bh;
    const double *w_ih = h0 + (k->lstm ? 2 : 1) * bh, *w_hh = w_ih + gates * k->features, *b = w_hh + gates * k->hidden;
    double *h = want + k->steps * bh, *c = h + bh, *next = malloc(sizeof(double) * (size_t)(bh + 1));
    memcpy(h, h0, sizeof(double) * (size_t)bh);
    if (k->lstm) memcpy(c, c0, sizeof(double) * (size_t)bh);
    for (t = 0; t < k->steps; t++) {
        for (n = 0; n < k->batch; n++)
            for (j = 0; j < k->hidden; j++) {
                double gi[4], gh[4], *cell = c + n * k->hidden + j;
                for (g = 0; g < (k->lstm ? 4 : 3); g++)
                    ref_projections(k, x + (t * k->batch + n) * k->features, h + n * k->hidden, w_ih, w_hh, b,
                                    g * k->hidden + j, &gi[g], &gh[g]);
                if (k->lstm) {
                    *cell = ref_sig(gi[1] + gh[1]) * *cell + ref_sig(gi[0] + gh[0]) * tanh(gi[2] + gh[2]);
                    next[n * k->hidden + j] = ref_sig(gi[3] + gh[3]) * tanh(*cell);
                } else {
                    double r = ref_sig(gi[0] + gh[0]), z = ref_sig(gi[1] + gh[1]), fresh = tanh(gi[2] + r * gh[2]);
                    next[n * k->hidden + j] = (1 - z) * fresh + z * h[n * k->hidden + j];
                }
            }
        memcpy(h, next, sizeof(double) * (size_t)bh);
        memcpy(want + t * bh, h, sizeof(double) * (size_t)bh);
    }
    free(next);
}

static void check_rnn(const rnn_case *k, esm_dtype dtype)
{
    int64_t gates = (k->lstm ? 4 : 3) * k->hidden, states = k->lstm ? 2 : 1;
    const int64_t sx[] = {k->steps, k->batch, k->features}, ss[] = {k->batch, k->hidden};
    const int64_t sih[] = {gates, k->features}, shh[] = {gates, k->hidden}, sb[] = {gates};
    int64_t total = k->steps * k->batch * k->features + states * k->batch * k->hidden + gates * (k->features + k->hidden + 2);
    int64_t outs = (k->steps + states) * k->batch * k->hidden, i, j, at = k->steps * k->batch * k->features;
    double *data = malloc(sizeof(double) * (size_t)total), *want = malloc(sizeof(double) * (size_t)(outs + 1));
    size_t elem = dtype == ESM_FLOAT32 ? 4 : 8;
    char *typed = malloc(elem * (size_t)total), what[128];
    unsigned seed = (unsigned)(k->steps * 31 + k->batch * 7 + k->hidden);
    float scale = (float)(2 / sqrt(1 + k->hidden / 16.0)); /* pre-activations of order 1, as in trained models */
    test_node t;
    for (i = 0; i < total; i++) {
        float v = scale * frand(&seed); /* a float: the same value in both dtypes */
        data[i] = v;
        if (dtype == ESM_FLOAT32) ((float *)typed)[i] = v;
        else ((double *)typed)[i] = v;
    }
    rnn_reference(k, data, want);
    node_init(&t, k->lstm ? "lstm" : "gru");
    t.ctx.num_outputs = (int32_t)states + 1;
    t.ctx.num_threads = k->threads;
    node_input(&t, dtype, 3, sx, typed);
    for (i = 0; i < states; i++, at += k->batch * k->hidden) node_input(&t, dtype, 2, ss, typed + elem * (size_t)at);
    node_input(&t, dtype, 2, sih, typed + elem * (size_t)at);
    node_input(&t, dtype, 2, shh, typed + elem * (size_t)(at += gates * k->features));
    node_input(&t, dtype, k->bias ? 1 : -1, sb, typed + elem * (size_t)(at += gates * k->hidden));
    node_input(&t, dtype, k->bias ? 1 : -1, sb, typed + elem * (size_t)(at + gates));
    CHECK(node_run(&t) == ESM_OK, "%s", t.error);
    snprintf(what, sizeof what, "%s %s T=%lld B=%lld I=%lld H=%lld bias=%d threads=%d", t.ctx.op,
             dtype == ESM_FLOAT32 ? "f32" : "f64", (long long)k->steps, (long long)k->batch, (long long)k->features,
             (long long)k->hidden, k->bias, k->threads);
    for (i = 0; i <= states; i++) {
        const double *w = want + (i ? (k->steps + i - 1) * k->batch * k->hidden : 0);
        int64_t n = esm_numel(&t.out[i]);
        CHECK(n == (i ? 1 : k->steps) * k->batch * k->hidden, "%s: output %lld has %lld elements", what, (long long)i,
              (long long)n);
        for (j = 0; j < n; j++) {
            double got = dtype == ESM_FLOAT32 ? ((const float *)t.out[i].data)[j] : ((const double *)t.out[i].data)[j];
            /* float32: rounding grows with the dot products' length, as in check_gemm */
            if (!close_f(got, w[j], dtype == ESM_FLOAT32 ? 2e-6 * (1 + sqrt((double)(k->features + k->hidden))) : 1e-12)) {
                CHECK(0, "%s: output %lld [%lld] = %.9g, expected %.9g", what, (long long)i, (long long)j, got, w[j]);
                break;
            }
        }
        checks++;
    }
    node_free(&t);
    free(data), free(want), free(typed);
}

static void test_recurrent_ops_match_a_step_loop(void)
{
    /* odd sizes; batch 1; no biases; big enough for the SGEMM path (B * H * gates >= 4096); big
     * enough (T * B * H >= 4096) to split the batch over 3 threads, 8 rows into parts of 3, 3, 2 */
    static const rnn_case cases[] = {{1, 3, 2, 3, 5, 1, 1}, {1, 1, 1, 1, 1, 0, 1}, {1, 4, 17, 5, 3, 1, 2},
                                     {1, 2, 4, 3, 32, 1, 1}, {1, 5, 3, 17, 9, 0, 1}, {1, 4, 8, 3, 128, 1, 3},
                                     {0, 3, 2, 3, 5, 1, 1}, {0, 1, 1, 1, 1, 0, 1}, {0, 5, 3, 17, 9, 0, 2},
                                     {0, 2, 4, 3, 40, 1, 1}, {0, 4, 8, 3, 128, 1, 3}};
    size_t c;
    for (c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        check_rnn(&cases[c], ESM_FLOAT32);
        check_rnn(&cases[c], ESM_FLOAT64);
    }
}

int main(void)
{
    test_registry_is_sorted_and_found();
    test_add_broadcasts_a_row();
    test_sub_broadcasts_both_sides();
    test_int_mul_wraps_and_int_div_gives_float();
    test_pow_maximum_minimum();
    test_comparisons_and_logic_give_bool();
    test_bad_broadcast_names_the_shapes();
    test_mixed_dtypes_are_unsupported();
    test_unary_float_ops_match_libm();
    test_unary_attributes();
    test_predicates_and_int_unary();
    test_where_broadcasts_condition_and_scalar();
    test_cast_between_dtypes();
    test_sum_and_mean_over_dims();
    test_sum_of_bools_is_int64_and_all_dims();
    test_long_float32_sum_is_accurate();
    test_reshape_infers_minus_one();
    test_expand_and_permute();
    test_gemm_every_kernel();
    test_matmul_batches_and_vectors();
    test_matmul_float64_and_int();
    test_linear_with_and_without_bias();
    test_convolutions_agree_across_algorithms();
    test_max_pool_values_and_indices();
    test_max_pool_2x2_paths_agree();
    test_softmax_and_log_softmax_over_each_dim();
    test_index_selects_ints_first();
    test_pad_modes();
    test_threaded_products_match();
    test_recurrent_ops_match_a_step_loop();
    printf("%d checks, %d failures (GEMM kernel: %s)\n", checks, failures, esm_sgemm_kernel_name());
    return failures != 0;
}
