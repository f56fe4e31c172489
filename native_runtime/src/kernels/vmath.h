/* vmath.h - float32 exp, tanh and erf as branch-free inline code (internal).
 *
 * libm's expf/tanhf/erff are scalar calls (10-35 ns each here); these are plain arithmetic
 * and selects, so the loops that call them vectorize. Accuracy: exp within 2 ulp on
 * [-87.3, 88.7] (0 below, inf above, NaN stays NaN), tanh within 2e-7, erf within 1.2e-7 absolute (the
 * Numerical Recipes erfc fit eager's erf uses). */
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
    float half = (float)(int32_t)(k * 0.5f); /* 2^k = 2^half * 2^(k - half): both stay normal */
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    p = p * esm_pow2i(half) * esm_pow2i(k - half);
    return x < -87.33654f ? 0.0f : x > 88.72283f ? (float)HUGE_VAL : x == x ? p : x;
}

/* The two branches blend arithmetically (GCC keeps a branch for a select between two long
 * expressions, which stops vectorization). */
static inline float esm_tanhf(float x)
{
    float a = x < 0 ? -x : x, near = a < 0.625f ? 1.0f : 0.0f, xs = x * near, z = xs * xs, small, large;
    small = -5.70498872745e-3f;
    small = small * z + 2.06390887954e-2f;
    small = small * z - 5.37397155531e-2f;
    small = small * z + 1.33314422036e-1f;
    small = small * z - 3.33332819422e-1f;
    small = small * z * xs + xs;
    large = 2.0f / (1.0f + esm_expf(-2.0f * x)) - 1.0f; /* no cancellation for |x| >= 0.625 */
    return near * small + (1.0f - near) * large;
}

static inline float esm_erff(float x)
{
    float z = x < 0 ? -x : x, t = 1.0f / (1.0f + 0.5f * z), poly, erfc;
    poly = 0.17087277f;
    poly = poly * t - 0.82215223f;
    poly = poly * t + 1.48851587f;
    poly = poly * t - 1.13520398f;
    poly = poly * t + 0.27886807f;
    poly = poly * t - 0.18628806f;
    poly = poly * t + 0.09678418f;
    poly = poly * t + 0.37409196f;
    poly = poly * t + 1.00002368f;
    poly = poly * t - 1.26551223f - z * z;
    erfc = t * esm_expf(poly);
    return x >= 0 ? 1.0f - erfc : erfc - 1.0f;
}

static inline float esm_sigmoidf(float x) { return 1.0f / (1.0f + esm_expf(-x)); }

#endif
