/* pool.c - max_pool2d (values and the flat index of each maximum in its H*W plane) and
 * avg_pool2d over (N, C, H, W); attributes as eager/ops/pooling.py: kernel, stride, padding,
 * dilation (h, w pairs), ceil_mode, and for avg_pool2d count_include_pad and divisor_override.
 * Padded positions never win a max (PyTorch pads with -inf). */

#include "kernels.h"
#include "kutil.h"

typedef struct pool_geom {
    int64_t planes, h, w, oh, ow;
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    int64_t ceil_mode, count_include_pad, divisor;
} pool_geom;

/* PyTorch's output length: with ceil_mode the last window must start inside the input or its
 * left padding. */
static int64_t pool_out(int64_t size, int64_t k, int64_t s, int64_t p, int64_t d, int64_t ceil_mode)
{
    int64_t span = size + 2 * p - d * (k - 1) - 1, out;
    if (span < 0) return 0;
    out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
    if (ceil_mode && (out - 1) * s >= size + p) out--;
    return out;
}

static esm_status plan_pool(esm_node_ctx *ctx, pool_geom *g, int is_max)
{
    const esm_tensor *x;
    esm_tensor *out = ctx->outputs[0];
    int64_t kernel[2], stride[2], pad[2], dil[2] = {1, 1};
    char sx[96];
    ESM_TRY(esm_check_arity(ctx, 1, 1));
    ESM_TRY(esm_check_dtype(ctx, 0, is_max ? ESM_NUMERIC : ESM_FLOATS));
    x = ctx->inputs[0];
    ESM_TRY(esm_attr_pair(ctx, "kernel", 0, kernel));
    ESM_TRY(esm_attr_pair(ctx, "stride", 0, stride));
    ESM_TRY(esm_attr_pair(ctx, "padding", 0, pad));
    if (is_max) ESM_TRY(esm_attr_pair(ctx, "dilation", 1, dil));
    ESM_TRY(esm_attr_int(ctx, "ceil_mode", 0, &g->ceil_mode));
    ESM_TRY(esm_attr_int(ctx, "count_include_pad", 1, &g->count_include_pad));
    ESM_TRY(esm_attr_int(ctx, "divisor_override", 0, &g->divisor));
    if (stride[0] == 0) stride[0] = kernel[0], stride[1] = kernel[1];
    if (kernel[0] < 1 || kernel[1] < 1 || stride[0] < 1 || stride[1] < 1 || dil[0] < 1 || dil[1] < 1 ||
        pad[0] < 0 || pad[1] < 0 || 2 * pad[0] > kernel[0] || 2 * pad[1] > kernel[1] ||
        (double)dil[0] * kernel[0] > 72057594037927936.0 || (double)dil[1] * kernel[1] > 72057594037927936.0) /* 2^56: no overflow below */
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "bad pooling geometry (kernel %lldx%lld, padding %lldx%lld)",
                               (long long)kernel[0], (long long)kernel[1], (long long)pad[0], (long long)pad[1]);
    if (x->ndim != 4)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "expects a 4-d input (N, C, H, W), got %s",
                               esm_shape_str(x, sx, sizeof sx));
    g->planes = x->shape[0] * x->shape[1], g->h = x->shape[2], g->w = x->shape[3];
    g->kh = kernel[0], g->kw = kernel[1], g->sh = stride[0], g->sw = stride[1];
    g->ph = pad[0], g->pw = pad[1], g->dh = dil[0], g->dw = dil[1];
    g->oh = pool_out(g->h, g->kh, g->sh, g->ph, g->dh, g->ceil_mode);
    g->ow = pool_out(g->w, g->kw, g->sw, g->pw, g->dw, g->ceil_mode);
    if (g->oh < 1 || g->ow < 1)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "input %s is smaller than the %lldx%lld window",
                               esm_shape_str(x, sx, sizeof sx), (long long)g->kh, (long long)g->kw);
    esm_set_output(out, x->dtype, 4, x->shape);
    out->shape[2] = g->oh, out->shape[3] = g->ow;
    if (is_max) {
        if (ctx->num_outputs < 2) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "needs 2 outputs");
        esm_set_output(ctx->outputs[1], ESM_INT64, 4, out->shape);
    }
    return ESM_OK;
}

/* ---- max_pool2d ------------------------------------------------------------------------------ */
/* Planes [p0, p1). First maximum wins; a NaN wins and stays (NumPy's argmax). `index` may be
 * NULL (nothing reads the indices output): then only the values are written. */
#define MAX_POOL(NAME, T)                                                                              \
    static void NAME(const pool_geom *g, const T *x, T *y, int64_t *index, int64_t p0, int64_t p1)     \
    {                                                                                                  \
        int64_t p, oy, ox, i, j, out = p0 * g->oh * g->ow;                                             \
        for (p = p0, x += p0 * g->h * g->w; p < p1; p++, x += g->h * g->w)                             \
            for (oy = 0; oy < g->oh; oy++)                                                             \
                for (ox = 0; ox < g->ow; ox++, out++) {                                                \
                    int64_t best = -1;                                                                 \
                    T top = 0;                                                                         \
                    for (i = 0; i < g->kh; i++) {                                                      \
                        int64_t iy = oy * g->sh - g->ph + i * g->dh;                                   \
                        if (iy < 0 || iy >= g->h) continue;                                            \
                        for (j = 0; j < g->kw; j++) {                                                  \
                            int64_t ix = ox * g->sw - g->pw + j * g->dw, at = iy * g->w + ix;          \
                            T v;                                                                       \
                            if (ix < 0 || ix >= g->w) continue;                                        \
                            v = x[at];                                                                 \
                            if (best < 0 || (top == top && (v > top || v != v))) best = at, top = v;   \
                        }                                                                              \
                    }                                                                                  \
                    y[out] = top;                                                                      \
                    if (index) index[out] = best;                                                      \
                }                                                                                      \
    }
MAX_POOL(max_pool_f32, float)
MAX_POOL(max_pool_f64, double)
MAX_POOL(max_pool_i32, int32_t)
MAX_POOL(max_pool_i64, int64_t)

/* b replaces a when larger or NaN: folding it over a window in any grouping gives the first
 * maximum (or a NaN), as the loop above does. */
static inline float max_or_nan(float a, float b)
{
    float larger = b > a ? b : a; /* written as two selects so that the loops below vectorize */
    return b != b ? b : larger;
}

/* One output row of a 2x2 / stride-2 window from input rows r0, r1 (branch-free: vectorized). */
static void max_row_2x2(const float *restrict r0, const float *restrict r1, float *restrict y, int64_t ow)
{
    int64_t ox;
    for (ox = 0; ox < ow; ox++)
        y[ox] = max_or_nan(max_or_nan(r0[2 * ox], r0[2 * ox + 1]), max_or_nan(r1[2 * ox], r1[2 * ox + 1]));
}

/* y[i] = the larger of x[2i], x[2i+1] (a NaN wins) for i < n: one long vectorized loop. */
static void max_col_pairs(const float *restrict x, float *restrict y, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; i++) y[i] = max_or_nan(x[2 * i], x[2 * i + 1]);
}

/* y[i * ow + x] = the larger of half[2i * ow + x], half[(2i + 1) * ow + x] (the window's top and
 * bottom halves, in that order) for n output rows. The usual short rows (2, 4, 8 outputs) have a
 * fixed-size inner loop, so n rows are one unrolled loop, not n calls of a 2-element loop. */
static void max_row_pairs(const float *restrict half, float *restrict y, int64_t n, int64_t ow)
{
    int64_t i, x;
#define ROW_PAIRS(OW)                                                                                    \
    for (i = 0; i < n; i++)                                                                              \
        for (x = 0; x < (OW); x++) y[i * (OW) + x] = max_or_nan(half[2 * i * (OW) + x], half[(2 * i + 1) * (OW) + x])
    if (ow == 2) ROW_PAIRS(2);
    else if (ow == 4) ROW_PAIRS(4);
    else if (ow == 8) ROW_PAIRS(8);
    else ROW_PAIRS(ow);
#undef ROW_PAIRS
}

#define POOL_CHUNK 1024 /* floats of column-pair maxima per step of the flat path (4 KB of stack) */

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define ESM_POOL16 1
#include <immintrin.h>

/* max_or_nan on 16 lanes: b where b > a or b is a NaN, else a. */
__attribute__((target("avx512f")))
static inline __m512 max_or_nan16(__m512 a, __m512 b)
{
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(b, a, _CMP_GT_OQ) | _mm512_cmp_ps_mask(b, b, _CMP_UNORD_Q), a, b);
}

/* The flat 2x2 path with AVX-512, for output rows of ow | 16 floats: 64 input floats (16 / ow
 * window row pairs) give 16 outputs - two permutes pick the column pairs, two more the row pairs,
 * in the same grouping as max_col_pairs and max_row_pairs. Returns the outputs written (a multiple
 * of 16); the rest is left to the portable loops. (The SSE2 build of those loops took 12 % of the
 * digits CNN at batch 32.) */
__attribute__((target("avx512f")))
static int64_t max_pool_flat16(const float *x, float *y, int64_t outputs, int64_t ow)
{
    int32_t top[16], bottom[16];
    int64_t i;
    int l;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    __m512i up, down;
    for (l = 0; l < 16; l++) top[l] = (int32_t)(l / ow * 2 * ow + l % ow), bottom[l] = top[l] + (int32_t)ow;
    up = _mm512_loadu_si512((const void *)top), down = _mm512_loadu_si512((const void *)bottom);
    for (i = 0; i + 16 <= outputs; i += 16, x += 64, y += 16) {
        __m512 a = _mm512_loadu_ps(x), b = _mm512_loadu_ps(x + 16), c = _mm512_loadu_ps(x + 32), d = _mm512_loadu_ps(x + 48);
        __m512 lo = max_or_nan16(_mm512_permutex2var_ps(a, even, b), _mm512_permutex2var_ps(a, odd, b));
        __m512 hi = max_or_nan16(_mm512_permutex2var_ps(c, even, d), _mm512_permutex2var_ps(c, odd, d));
        _mm512_storeu_ps(y, max_or_nan16(_mm512_permutex2var_ps(lo, up, hi), _mm512_permutex2var_ps(lo, down, hi)));
    }
    return i;
}
#endif

/* The common 2x2 / stride-2 window without padding or dilation, values only. Without a cut row
 * or column (h = 2 oh, w = 2 ow) the planes' rows are one contiguous run: the column pairs of a
 * chunk of rows in one long loop (small planes have rows too short to vectorize), then the row
 * pairs; the grouping (top pair, bottom pair) is the row-by-row loop's. */
static void max_pool_f32_2x2(const pool_geom *g, const float *x, float *y, int64_t p0, int64_t p1)
{
    float half[POOL_CHUNK];
    int64_t p, oy, ow = g->ow, pairs = (p1 - p0) * g->oh, per = POOL_CHUNK / (2 * ow), k, n;
    y += p0 * g->oh * ow;
    x += p0 * g->h * g->w;
#ifdef ESM_POOL16
    if (g->h == 2 * g->oh && g->w == 2 * ow && 16 % ow == 0 && __builtin_cpu_supports("avx512f")) {
        int64_t done = max_pool_flat16(x, y, pairs * ow, ow); /* whole output rows: 16 / ow of them each */
        pairs -= done / ow, x += 4 * done, y += done;
    }
#endif
    if (g->h == 2 * g->oh && g->w == 2 * ow && per > 0) {
        for (k = 0; k < pairs; k += n, x += 2 * n * g->w, y += n * ow) {
            n = pairs - k < per ? pairs - k : per;
            max_col_pairs(x, half, 2 * n * ow);
            max_row_pairs(half, y, n, ow);
        }
        return;
    }
    for (p = p0; p < p1; p++, x += g->h * g->w)
        for (oy = 0; oy < g->oh; oy++, y += ow) max_row_2x2(x + 2 * oy * g->w, x + (2 * oy + 1) * g->w, y, ow);
}

/* ... and every window inside the input (ceil_mode may add a cut one at the edge). */
static int is_plain_2x2(const pool_geom *g)
{
    return g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && !(g->ph | g->pw) && g->dh == 1 && g->dw == 1 &&
           2 * g->oh <= g->h && 2 * g->ow <= g->w;
}

typedef struct max_pool_job {
    const pool_geom *g;
    esm_dtype dtype;
    const void *x;
    void *y;
    int64_t *index; /* NULL: values only */
} max_pool_job;

static void max_pool_planes(void *arg, int32_t slot, int64_t p0, int64_t p1)
{
    const max_pool_job *job = (const max_pool_job *)arg;
    (void)slot;
    switch (job->dtype) {
    case ESM_FLOAT32:
        if (!job->index && is_plain_2x2(job->g)) max_pool_f32_2x2(job->g, job->x, job->y, p0, p1);
        else max_pool_f32(job->g, job->x, job->y, job->index, p0, p1);
        break;
    case ESM_FLOAT64: max_pool_f64(job->g, job->x, job->y, job->index, p0, p1); break;
    case ESM_INT32: max_pool_i32(job->g, job->x, job->y, job->index, p0, p1); break;
    default: max_pool_i64(job->g, job->x, job->y, job->index, p0, p1); break;
    }
}

static esm_status max_pool2d_prepare(esm_node_ctx *ctx)
{
    pool_geom g;
    return plan_pool(ctx, &g, 1);
}

#define POOL_GRAIN_WORK 4096 /* window elements below which a chunk of planes is not worth a thread (~1 us) */

static esm_status max_pool2d_eval(esm_node_ctx *ctx)
{
    max_pool_job job;
    pool_geom g;
    double per_plane;
    ESM_TRY(plan_pool(ctx, &g, 1));
    job.g = &g, job.dtype = ctx->inputs[0]->dtype, job.x = ctx->inputs[0]->data, job.y = ctx->outputs[0]->data;
    job.index = ctx->unused_outputs & 2u ? NULL : (int64_t *)ctx->outputs[1]->data;
    per_plane = (double)g.oh * g.ow * g.kh * g.kw;
    esm_parallel_for(ctx, g.planes, per_plane >= POOL_GRAIN_WORK ? 1 : (int64_t)(POOL_GRAIN_WORK / per_plane), max_pool_planes, &job);
    return ESM_OK;
}

/* ---- avg_pool2d ------------------------------------------------------------------------------ */
/* The divisor of one window (eager/ops/pooling.py _divisor). */
static double window_count(const pool_geom *g, int64_t oy, int64_t ox)
{
    int64_t y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw;
    int64_t y1 = y0 + g->kh < g->h + g->ph ? y0 + g->kh : g->h + g->ph;
    int64_t x1 = x0 + g->kw < g->w + g->pw ? x0 + g->kw : g->w + g->pw;
    if (g->divisor) return (double)g->divisor;
    if (!g->count_include_pad) {
        y0 = y0 < 0 ? 0 : y0, x0 = x0 < 0 ? 0 : x0;
        y1 = y1 > g->h ? g->h : y1, x1 = x1 > g->w ? g->w : x1;
    }
    return (double)((y1 - y0) * (x1 - x0));
}

#define AVG_POOL(NAME, T)                                                                     \
    static void NAME(const pool_geom *g, const T *x, T *y)                                    \
    {                                                                                         \
        int64_t p, oy, ox, iy, ix;                                                            \
        for (p = 0; p < g->planes; p++, x += g->h * g->w)                                     \
            for (oy = 0; oy < g->oh; oy++)                                                    \
                for (ox = 0; ox < g->ow; ox++, y++) {                                         \
                    int64_t y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw;                 \
                    int64_t y1 = y0 + g->kh, x1 = x0 + g->kw;                                 \
                    double sum = 0;                                                           \
                    for (iy = y0 < 0 ? 0 : y0; iy < (y1 < g->h ? y1 : g->h); iy++)            \
                        for (ix = x0 < 0 ? 0 : x0; ix < (x1 < g->w ? x1 : g->w); ix++)        \
                            sum += x[iy * g->w + ix];                                         \
                    *y = (T)(sum / window_count(g, oy, ox));                                  \
                }                                                                             \
    }
AVG_POOL(avg_pool_f32, float)
AVG_POOL(avg_pool_f64, double)

/* One output row of a 2x2 / stride-2 mean: the loop above's sum order and division, vectorized. */
static void avg_row_2x2(const float *restrict r0, const float *restrict r1, float *restrict y, int64_t ow, double divisor)
{
    int64_t ox;
    for (ox = 0; ox < ow; ox++)
        y[ox] = (float)(((double)r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) / divisor);
}

static void avg_pool_f32_2x2(const pool_geom *g, const float *x, float *y)
{
    int64_t p, oy;
    for (p = 0; p < g->planes; p++, x += g->h * g->w)
        for (oy = 0; oy < g->oh; oy++, y += g->ow)
            avg_row_2x2(x + 2 * oy * g->w, x + (2 * oy + 1) * g->w, y, g->ow, window_count(g, 0, 0));
}

static esm_status avg_pool2d_prepare(esm_node_ctx *ctx)
{
    pool_geom g;
    return plan_pool(ctx, &g, 0);
}

static esm_status avg_pool2d_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    pool_geom g;
    ESM_TRY(plan_pool(ctx, &g, 0));
    if (x->dtype == ESM_FLOAT32 && is_plain_2x2(&g)) avg_pool_f32_2x2(&g, x->data, ctx->outputs[0]->data);
    else if (x->dtype == ESM_FLOAT32) avg_pool_f32(&g, x->data, ctx->outputs[0]->data);
    else avg_pool_f64(&g, x->data, ctx->outputs[0]->data);
    return ESM_OK;
}

const esm_kernel esm_k_max_pool2d = {"max_pool2d", max_pool2d_prepare, max_pool2d_eval};
const esm_kernel esm_k_avg_pool2d = {"avg_pool2d", avg_pool2d_prepare, avg_pool2d_eval};
