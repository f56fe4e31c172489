/* vmath.h - float32 exp, tanh and erf as branch-free inline code (internal).
 *
 * libm's expf/tanhf/erff are scalar calls (10-35 ns each here); these are plain arithmetic
 * and selects, so the loops that call them vectorize. Accuracy against float64 (measured by
 * tests/native/test_vmath.py): exp within 1 ulp on [-87.3, 88.7] (0 below, inf above, NaN stays
 * NaN), tanh within 3 ulp (1.8e-7 absolute), erf within 1.5e-7 absolute and 2.4 ulp for |x| < 1. */
#ifndef ESM_VMATH_H
#define ESM_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* 2^k for an integer-valued k in [-126, 127], built in the exponent bits. */
static inline float esm_pow2i(float k)
{
    int32_t bits = ((int32_t)k + 127) << 23;
    float out;
    memcpy(&out, &bits, sizeof out);
    return out;
}

static inline float esm_expf(float x)
{
    const float big = 12582912.0f; /* 1.5 * 2^23: adding and subtracting it rounds to an integer */
    float c = x < -87.33654f ? -87.33654f : x > 88.72283f ? 88.72283f : x == x ? x : 0.0f;
    float k = (c * 1.44269504089f + big) - big;
    float r = c - k * 0.693359375f + k * 2.12194440e-4f; /* Cody-Waite: ln 2 in two parts */
    float p = 1.9875691500e-4f;
    /* 2^k = 2^half * 2^(k - half), half = k / 2 rounded (both stay normal); not a float->int->float
     * truncation, which SSE4.1+ turns into a round call that keeps the AVX loops from vectorizing */
    float half = (k * 0.5f + big) - big;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    p = p * esm_pow2i(half) * esm_pow2i(k - half);
    return x < -87.33654f ? 0.0f : x > 88.72283f ? (float)HUGE_VAL : x == x ? p : x;
}

/* |x| < 0.625: an odd polynomial; else 2 / (1 + e^-2x) - 1 (no cancellation there). The
 * polynomial runs on 0 outside its range, so no inf * 0 reaches a NaN (tanh(+-inf) = +-1). */
static inline float esm_tanhf(float x)
{
    float a = x < 0 ? -x : x, xs = a < 0.625f ? x : 0.0f, z = xs * xs, small, large;
    small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = xs * (small * z + 1.0f); /* x * (...), not x + x * (...): tanh(-0) = -0 */
    large = 2.0f / (1.0f + esm_expf(-2.0f * x)) - 1.0f;
    return a < 0.625f ? small : large;
}

/* erfc(z) for z >= 0 by the Numerical Recipes fit (relative error 1.2e-7) eager's erf uses. */
static inline float esm_erfc_fit(float z)
{
    float t = 1.0f / (1.0f + 0.5f * z), poly = 0.17087277f;
    poly = poly * t - 0.82215223f;
    poly = poly * t + 1.48851587f;
    poly = poly * t - 1.13520398f;
    poly = poly * t + 0.27886807f;
    poly = poly * t - 0.18628806f;
    poly = poly * t + 0.09678418f;
    poly = poly * t + 0.37409196f;
    poly = poly * t + 1.00002368f;
    poly = poly * t - 1.26551223f - z * z;
    return t * esm_expf(poly);
}

/* |x| < 1: x * P(x^2) (Cephes erff), relative error ~1e-7 where 1 - erfc would cancel to an
 * absolute 3e-7 (2 % at x = 1e-5); elsewhere 1 - erfc by the fit. */
static inline float esm_erff(float x)
{
    float z = x < 0 ? -x : x, xs = z < 1.0f ? x : 0.0f, s = xs * xs, small, erfc, large;
    small = 7.853861353153693e-5f;
    small = small * s - 8.010193625184903e-4f;
    small = small * s + 5.188327685732524e-3f;
    small = small * s - 2.685381193529856e-2f;
    small = small * s + 1.128358514861418e-1f;
    small = small * s - 3.761262582423300e-1f;
    small = (small * s + 1.128379165726710f) * xs;
    erfc = esm_erfc_fit(z);
    large = x >= 0 ? 1.0f - erfc : erfc - 1.0f;
    return z < 1.0f ? small : large; /* a select, not a blend: erf(-0) keeps its sign */
}

/* GELU, 0.5 x (1 + erf(x / sqrt 2)), as 0.5 x erfc(-x / sqrt 2) by the Numerical Recipes fit
 * alone (erfc(-z) = 2 - erfc(z)): the 1 GELU adds to erf makes the fit's absolute error near 0
 * harmless, so esm_erff's second polynomial and select go (GELU was 70 % of the zoo MLP at batch
 * 32). The fit is eager's erf's, so eager and libesm compute the same expression. */
static inline float esm_gelu_erff(float x)
{
    float erfc = esm_erfc_fit((x < 0 ? -x : x) * 0.70710678118654752f);
    return 0.5f * x * (x >= 0 ? 2.0f - erfc : erfc);
}

static inline float esm_sigmoidf(float x) { return 1.0f / (1.0f + esm_expf(-x)); }

/* ESM_VEC_FN(NAME, PARAMS, ARGS, BODY) defines `static void NAME PARAMS BODY` for a loop over
 * the functions above. On x86-64 (GCC, Clang) BODY is compiled twice - for the baseline ISA
 * (SSE2) and for AVX2 - so the vectorizer widens the same loop to 4 or 8 lanes, and NAME calls
 * the AVX2 copy when the running CPU has it (__builtin_cpu_supports, as gemm.c picks its
 * micro-kernel). No AVX-512 copy: it would add ~20 KB to libesm.a (budget 400 KB) and these
 * loops are a small share of a model once 8 lanes wide. The results are the same bits on both
 * paths: the C99 build does not contract a * b + c into FMA (-ffp-contract=off in ISO mode),
 * and both copies run one expression. Elsewhere (arm64: NEON is its baseline), and when built
 * with -DESM_NO_VEC_DISPATCH (the test that the two x86 paths agree), NAME is the one portable
 * loop. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__) && !defined(ESM_NO_VEC_DISPATCH)
#define ESM_VEC_FN(NAME, PARAMS, ARGS, BODY)                            \
    static void NAME##_base PARAMS BODY                                 \
    __attribute__((target("avx2"))) static void NAME##_avx2 PARAMS BODY \
    static void NAME PARAMS                                             \
    {                                                                   \
        if (__builtin_cpu_supports("avx2"))                             \
            NAME##_avx2 ARGS;                                           \
        else                                                            \
            NAME##_base ARGS;                                           \
    }
#else
#define ESM_VEC_FN(NAME, PARAMS, ARGS, BODY) static void NAME PARAMS BODY
#endif

#endif
