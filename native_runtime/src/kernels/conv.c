/* conv.c - conv2d and conv_transpose2d over (N, C, H, W).
 *
 * Attributes (eager/ops/conv.py): stride and dilation (h, w); padding (top, left, bottom,
 * right); groups; conv_transpose2d also output_padding (h, w).
 * float32: conv2d is one SGEMM per group over the whole batch (esm_sgemm_gen_run), its B operand
 * (im2col) read straight into the packed panels from a zero-padded copy of the input, and its
 * tiles stored image by image with the bias and the fused activation; conv_transpose2d is one SGEMM per (image, group) into
 * columns + col2im. float64 runs a direct loop (correct, not tuned). */
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"
#include "kutil.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define ESM_GATHER16 1
#include <immintrin.h>
#endif

typedef struct conv_geom {
    int64_t n, c, h, w;     /* input */
    int64_t o, kh, kw;      /* output channels, kernel */
    int64_t groups, cg, og; /* channels per group: in, out */
    int64_t sh, sw, dh, dw, pt, pb, pl, pr, oph, opw;
    int64_t oh, ow; /* output */
} conv_geom;

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

static esm_status read_geometry(esm_node_ctx *ctx, conv_geom *g, int transposed)
{
    int64_t stride[2], dilation[2], pad[4], outpad[2] = {0, 0};
    ESM_TRY(esm_attr_pair(ctx, "stride", 1, stride));
    ESM_TRY(esm_attr_pair(ctx, "dilation", 1, dilation));
    ESM_TRY(esm_attr_padding(ctx, "padding", pad));
    ESM_TRY(esm_attr_int(ctx, "groups", 1, &g->groups));
    if (transposed) ESM_TRY(esm_attr_pair(ctx, "output_padding", 0, outpad));
    g->sh = stride[0], g->sw = stride[1], g->dh = dilation[0], g->dw = dilation[1];
    g->pt = pad[0], g->pb = pad[1], g->pl = pad[2], g->pr = pad[3], g->oph = outpad[0], g->opw = outpad[1];
    if (g->sh < 1 || g->sw < 1 || g->dh < 1 || g->dw < 1 || g->groups < 1 || outpad[0] < 0 || outpad[1] < 0)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "stride, dilation and groups must be positive");
    return ESM_OK;
}

/* A hostile geometry (huge strides, padding or dilation on big tensors) must not overflow the
 * int64 size arithmetic of the output shape, the im2col/col2im scratch or the loops: estimate
 * every product in double first and refuse anything beyond 2^56 elements. */
static esm_status check_sizes(esm_node_ctx *ctx, const conv_geom *g, int transposed)
{
    const double limit = 72057594037927936.0; /* 2^56 */
    double oh, ow;
    if (transposed) {
        oh = ((double)g->h - 1) * g->sh + (double)g->dh * ((double)g->kh - 1) + g->oph + 1 - g->pt - g->pb;
        ow = ((double)g->w - 1) * g->sw + (double)g->dw * ((double)g->kw - 1) + g->opw + 1 - g->pl - g->pr;
    } else {
        oh = ((double)g->h + g->pt + g->pb - (double)g->dh * ((double)g->kh - 1) - 1) / g->sh + 1;
        ow = ((double)g->w + g->pl + g->pr - (double)g->dw * ((double)g->kw - 1) - 1) / g->sw + 1;
    }
    if (fabs(oh) > limit || fabs(ow) > limit || (double)g->n * g->o * oh * ow > limit ||
        (double)g->c * g->kh * g->kw * oh * ow > limit || (double)g->o * g->kh * g->kw * g->h * g->w > limit ||
        (double)g->dh * g->kh > limit || (double)g->dw * g->kw > limit ||
        (double)g->n * g->c * ((double)g->h + g->pt + g->pb) * ((double)g->w + g->pl + g->pr) > limit)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "the geometry (stride, padding, dilation) gives sizes beyond 2^56 elements");
    return ESM_OK;
}

/* Shapes of x, w, bias against the geometry; fills the sizes and the output tensor. */
static esm_status plan_conv(esm_node_ctx *ctx, conv_geom *g, int transposed)
{
    const esm_tensor *x, *w, *b;
    esm_tensor *out = ctx->outputs[0];
    char sx[96], sw[96];
    ESM_TRY(esm_check_arity(ctx, 2, 3));
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    ESM_TRY(esm_check_dtype(ctx, 1, ESM_FLOATS));
    ESM_TRY(esm_check_same_dtype(ctx, 0));
    ESM_TRY(read_geometry(ctx, g, transposed));
    x = ctx->inputs[0], w = ctx->inputs[1], b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    if (x->ndim != 4 || w->ndim != 4)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "expects a 4-d input and weight, got %s and %s",
                               esm_shape_str(x, sx, sizeof sx), esm_shape_str(w, sw, sizeof sw));
    g->n = x->shape[0], g->c = x->shape[1], g->h = x->shape[2], g->w = x->shape[3];
    g->kh = w->shape[2], g->kw = w->shape[3];
    g->cg = g->c / g->groups;
    if (transposed) g->og = w->shape[1], g->o = g->og * g->groups;
    else g->o = w->shape[0], g->og = g->o / g->groups;
    if (g->c % g->groups || (transposed ? w->shape[0] != g->c : (g->o % g->groups || w->shape[1] != g->cg)))
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "input %s does not match weight %s with groups=%lld",
                               esm_shape_str(x, sx, sizeof sx), esm_shape_str(w, sw, sizeof sw), (long long)g->groups);
    if (b && (b->ndim != 1 || b->shape[0] != g->o))
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "bias %s does not match %lld output channels",
                               esm_shape_str(b, sx, sizeof sx), (long long)g->o);
    ESM_TRY(check_sizes(ctx, g, transposed));
    if (transposed) {
        g->oh = (g->h - 1) * g->sh - g->pt - g->pb + g->dh * (g->kh - 1) + g->oph + 1;
        g->ow = (g->w - 1) * g->sw - g->pl - g->pr + g->dw * (g->kw - 1) + g->opw + 1;
    } else {
        g->oh = (g->h + g->pt + g->pb - g->dh * (g->kh - 1) - 1) / g->sh + 1;
        g->ow = (g->w + g->pl + g->pr - g->dw * (g->kw - 1) - 1) / g->sw + 1;
    }
    if (g->oh < 1 || g->ow < 1 || g->h + g->pt + g->pb < g->dh * (g->kh - 1) + 1 ||
        g->w + g->pl + g->pr < g->dw * (g->kw - 1) + 1)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "input %s is smaller than the kernel %s (after padding)",
                               esm_shape_str(x, sx, sizeof sx), esm_shape_str(w, sw, sizeof sw));
    out->dtype = x->dtype;
    out->ndim = 4;
    out->shape[0] = g->n, out->shape[1] = g->o, out->shape[2] = g->oh, out->shape[3] = g->ow;
    return ESM_OK;
}

/* ---- conv2d ---------------------------------------------------------------------------------- */
/* With the padding made explicit (a zero-bordered copy of the input), every im2col row of one
 * output row is a plain strided read: B[(c * kh + i) * kw + j][oy * ow + ox] =
 * xp[c][oy*sh + i*dh][ox*sw + j*dw], so im2col has no bounds tests at all. */
static int64_t padded_h(const conv_geom *g) { return g->h + g->pt + g->pb; }
static int64_t padded_w(const conv_geom *g) { return g->w + g->pl + g->pr; }
static int has_padding(const conv_geom *g) { return (g->pt | g->pb | g->pl | g->pr) != 0; }

/* Rows are short (2-32 floats): the usual widths are fixed-size copies (vector moves), others
 * 4-float blocks, neither a call nor a vectorized loop's prologue. */
static void copy_floats(float *d, const float *s, int64_t len)
{
    int64_t u = 0;
    if (len == 16) memcpy(d, s, 16 * sizeof(float));
    else if (len == 8) memcpy(d, s, 8 * sizeof(float));
    else if (len == 2) memcpy(d, s, 2 * sizeof(float));
    else {
        for (; u + 4 <= len; u += 4) memcpy(d + u, s + u, 4 * sizeof(float));
        for (; u < len; u++) d[u] = s[u];
    }
}

/* Images [i0, i1) of x (N, C, H, W) into xp (N, C, hp, wp) with zeros around (paddings are never negative:
 * esm_attr_padding): one memset of the whole copy, then the rows of x. Rows are short (2-32
 * floats): the usual widths are fixed-size copies the compiler inlines (one or two vector moves),
 * not a call per row. */
static void pad_input(const conv_geom *g, const float *x, float *xp, int64_t i0, int64_t i1)
{
    int64_t hp = padded_h(g), wp = padded_w(g), plane, iy;
    x += i0 * g->c * g->h * g->w, xp += i0 * g->c * hp * wp;
    memset(xp, 0, (size_t)((i1 - i0) * g->c * hp * wp) * sizeof(float));
#define PAD_ROWS(W)                                                                             \
    for (plane = 0; plane < (i1 - i0) * g->c; plane++, xp += hp * wp)                           \
        for (iy = 0; iy < g->h; iy++, x += (W)) memcpy(xp + (g->pt + iy) * wp + g->pl, x, (size_t)(W) * sizeof(float))
    if (g->w == 4) PAD_ROWS(4);
    else if (g->w == 8) PAD_ROWS(8);
    else if (g->w == 16) PAD_ROWS(16);
    else PAD_ROWS(g->w);
#undef PAD_ROWS
}

typedef struct im2col_src {
    const conv_geom *g;
    const float *input, *x;        /* the unpadded input; the first (padded) image at the group's first channel */
    float *padded;                 /* NULL without padding, else the zero-bordered copy the GEMM's prologue fills */
    int64_t image_stride;          /* floats from one image to the next */
    int64_t plane, ow;             /* output pixels per image, output width */
    int64_t row_stride, sw;        /* input floats from one output row to the next, one column to the next */
    const int64_t *tap;            /* per row p of B: (c * hp + i * dh) * wp + j * dw */
    int32_t lanes[16];             /* gather16: panel column t reads s[lanes[t]] (rows of ow, row_stride apart) */
    int gather16;                  /* 1: 16-column panels of whole output rows take gather16 */
    int64_t span;                  /* floats from the first lane's input to one past the last's */
} im2col_src;

#ifdef ESM_GATHER16
/* A 16-wide panel row covering 16 / ow whole output rows (AVX-512's narrow GEMM tile, a 4 x 4 or
 * 8 x 2 block of pixels) is one permute of two loads per tap instead of 16 / ow row copies; the
 * second load is masked to the span, so it never reads past the input. */
__attribute__((target("avx512f")))
static void gather16(float *d, const float *s, const int64_t *tap, int64_t kc, const im2col_src *src)
{
    const __m512i lanes = _mm512_loadu_si512((const void *)src->lanes);
    const __mmask16 tail = (__mmask16)((1u << (src->span - 16)) - 1u);
    int64_t p;
    for (p = 0; p < kc; p++) {
        const float *sp = s + tap[p];
        __m512 lo = _mm512_loadu_ps(sp), hi = _mm512_maskz_loadu_ps(tail, sp + 16);
        _mm512_storeu_ps(d + p * 16, _mm512_permutex2var_ps(lo, lanes, hi));
    }
}

/* gather16 serves this geometry on this CPU: unit column stride, rows that divide 16 and fit,
 * with the rows apart, in two 16-float loads (span <= 32; span >= 16 as rows are >= ow apart). */
static void plan_gather16(im2col_src *src)
{
    int t;
    src->span = (16 / src->ow - 1) * src->row_stride + src->ow;
    src->gather16 = src->sw == 1 && src->ow <= 16 && 16 % src->ow == 0 && src->span <= 32 &&
                    __builtin_cpu_supports("avx512f");
    for (t = 0; t < 16 && src->gather16; t++) src->lanes[t] = (int32_t)(t / src->ow * src->row_stride + t % src->ow);
}
#else
static void plan_gather16(im2col_src *src) { src->gather16 = 0; }
#endif

/* len contiguous floats at s + tap[p] into d + p * nr for each of the kc taps. A whole output row
 * of 4, 8 or 16 pixels (the usual case) is a fixed-size copy: one to four vector moves per tap. */
static void gather_taps(float *d, int nr, const float *s, const int64_t *tap, int64_t kc, int len)
{
    int64_t p;
#define GATHER_FIXED(LEN)                                                                   \
    if (len == (LEN)) {                                                                     \
        for (p = 0; p < kc; p++) memcpy(d + p * nr, s + tap[p], (LEN) * sizeof(float));     \
        return;                                                                             \
    }
    GATHER_FIXED(16)
    GATHER_FIXED(8)
    GATHER_FIXED(4)
#undef GATHER_FIXED
    for (p = 0; p < kc; p++) copy_floats(d + p * nr, s + tap[p], len);
}

/* Rows p0 .. p0+kc of B, columns q .. q+run of one image (q = oy * ow + ox) into d (row length
 * nr): output row by output row, each a strided read of the input at every tap. */
static void im2col_run(const im2col_src *src, const float *x, int64_t p0, int64_t kc, int64_t oy, int64_t ox, int run,
                       int nr, float *d)
{
    int64_t p, u;
    int t, len;
#ifdef ESM_GATHER16
    if (src->gather16 && nr == 16 && run == 16 && ox == 0) {
        gather16(d, x + oy * src->row_stride, src->tap + p0, kc, src);
        return;
    }
#endif
    for (t = 0; t < run; t += len, oy++, ox = 0) {
        const float *s = x + oy * src->row_stride + ox * src->sw;
        len = (int)(src->ow - ox < run - t ? src->ow - ox : run - t);
        if (src->sw == 1) {
            gather_taps(d + t, nr, s, src->tap + p0, kc, len);
            continue;
        }
        for (p = 0; p < kc; p++) {
            const float *sp = s + src->tap[p0 + p];
            float *dp = d + p * nr + t;
            for (u = 0; u < len; u++) dp[u] = sp[u * src->sw];
        }
    }
}

/* esm_pack_b_fn: columns j of B are output pixels of the batch (image j / plane). */
static void im2col_panels(const void *arg, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float *out)
{
    const im2col_src *src = (const im2col_src *)arg;
    int64_t jr, p;
    for (jr = 0; jr < nc; jr += nr, out += kc * nr) {
        int cols = (int)(nc - jr < nr ? nc - jr : nr), c0, t;
        for (c0 = 0; c0 < cols;) {
            int64_t j = j0 + jr + c0, image = j / src->plane, q = j - image * src->plane, oy = q / src->ow;
            int run = (int)(src->plane - q < cols - c0 ? src->plane - q : cols - c0);
            im2col_run(src, src->x + image * src->image_stride, p0, kc, oy, q - oy * src->ow, run, nr, out + c0);
            c0 += run;
        }
        for (p = 0; p < kc && cols < nr; p++)
            for (t = cols; t < nr; t++) out[p * nr + t] = 0.0f;
    }
}

/* esm_sgemm_gen_run's prologue: pads the images of columns [j0, j1) (each thread its own). */
static void pad_columns(const void *arg, int64_t j0, int64_t j1)
{
    const im2col_src *src = (const im2col_src *)arg;
    pad_input(src->g, src->input, src->padded, j0 / src->plane, (j1 + src->plane - 1) / src->plane);
}

/* Scratch: the padded input (none without padding), the tap offsets, the GEMM's. */
static size_t padded_bytes(const conv_geom *g)
{
    return has_padding(g) ? ALIGN64((size_t)(g->n * g->c * padded_h(g) * padded_w(g)) * sizeof(float)) : 0;
}

static size_t taps_bytes(const conv_geom *g) { return ALIGN64((size_t)(g->cg * g->kh * g->kw) * sizeof(int64_t)); }

static size_t conv2d_scratch(const esm_node_ctx *ctx, const conv_geom *g)
{
    return padded_bytes(g) + taps_bytes(g) + esm_sgemm_gen_scratch(ctx, g->og, g->n * g->oh * g->ow, g->cg * g->kh * g->kw);
}

/* esm_rows_fn: the fused activation (*arg, from esm_attr_activation) on n floats. */
static void activation_rows(const void *arg, float *row, int64_t n) { esm_activation_apply(*(const int *)arg, ESM_FLOAT32, row, n); }

/* One GEMM per group over the whole batch: W_g (og x K) @ im2col (K x N*plane), written image by
 * image into y (N, O, oh, ow). */
static void conv2d_f32(const esm_node_ctx *ctx, const conv_geom *g, const float *x, const float *w, const float *b, int act,
                       float *y, void *scratch)
{
    int64_t hp = padded_h(g), wp = padded_w(g), grp, c, i, j, k = g->cg * g->kh * g->kw, plane = g->oh * g->ow;
    float *xp = (float *)scratch;
    int64_t *tap = (int64_t *)((char *)scratch + padded_bytes(g));
    im2col_src src;
    esm_gemm_gen mm;
    for (c = 0; c < g->cg; c++)
        for (i = 0; i < g->kh; i++)
            for (j = 0; j < g->kw; j++) tap[(c * g->kh + i) * g->kw + j] = (c * hp + i * g->dh) * wp + j * g->dw;
    src.image_stride = g->c * hp * wp, src.plane = plane, src.ow = g->ow, src.row_stride = g->sh * wp, src.sw = g->sw;
    src.tap = tap, src.g = g, src.input = x, src.padded = has_padding(g) ? xp : NULL;
    plan_gather16(&src);
    mm.m = g->og, mm.n = g->n * plane, mm.k = k, mm.a_rs = k;
    mm.pack_b = im2col_panels, mm.pack_arg = &src;
    mm.prologue = has_padding(g) && g->groups == 1 ? pad_columns : NULL;
    if (has_padding(g) && g->groups > 1) pad_input(g, x, xp, 0, g->n);
    mm.clamp = esm_activation_lower_clamp(act, &mm.lo);
    mm.act = act && !mm.clamp ? activation_rows : NULL, mm.act_arg = &act;
    mm.ldc = plane, mm.seg = plane, mm.seg_stride = g->o * plane;
    for (grp = 0; grp < g->groups; grp++) {
        src.x = (has_padding(g) ? xp : x) + grp * g->cg * hp * wp;
        mm.a = w + grp * g->og * k;
        mm.c = y + grp * g->og * plane;
        mm.bias = b ? b + grp * g->og : NULL;
        esm_sgemm_gen_run(ctx, &mm, (char *)scratch + padded_bytes(g) + taps_bytes(g));
    }
}

static void conv2d_f64(const conv_geom *g, const double *x, const double *w, const double *b, double *y)
{
    int64_t n, o, oy, ox, c, i, j;
    for (n = 0; n < g->n; n++)
        for (o = 0; o < g->o; o++)
            for (oy = 0; oy < g->oh; oy++)
                for (ox = 0; ox < g->ow; ox++) {
                    double acc = b ? b[o] : 0.0;
                    int64_t grp = o / g->og;
                    for (c = 0; c < g->cg; c++)
                        for (i = 0; i < g->kh; i++) {
                            int64_t iy = oy * g->sh - g->pt + i * g->dh;
                            if (iy < 0 || iy >= g->h) continue;
                            for (j = 0; j < g->kw; j++) {
                                int64_t ix = ox * g->sw - g->pl + j * g->dw;
                                if (ix < 0 || ix >= g->w) continue;
                                acc += x[((n * g->c + grp * g->cg + c) * g->h + iy) * g->w + ix] *
                                       w[((o * g->cg + c) * g->kh + i) * g->kw + j];
                            }
                        }
                    y[((n * g->o + o) * g->oh + oy) * g->ow + ox] = acc;
                }
}

static esm_status conv2d_prepare(esm_node_ctx *ctx)
{
    conv_geom g;
    int act;
    ESM_TRY(plan_conv(ctx, &g, 0));
    ESM_TRY(esm_attr_activation(ctx, &act)); /* validated here, applied in eval */
    if (ctx->inputs[0]->dtype == ESM_FLOAT32) ctx->scratch_bytes = conv2d_scratch(ctx, &g);
    return ESM_OK;
}

static esm_status conv2d_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0], *w = ctx->inputs[1], *b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    conv_geom g;
    int act;
    ESM_TRY(plan_conv(ctx, &g, 0));
    ESM_TRY(esm_attr_activation(ctx, &act));
    if (x->dtype == ESM_FLOAT32) { /* the GEMM applies the activation as it stores each tile */
        conv2d_f32(ctx, &g, x->data, w->data, b ? b->data : NULL, act, ctx->outputs[0]->data, ctx->scratch);
        return ESM_OK;
    }
    conv2d_f64(&g, x->data, w->data, b ? b->data : NULL, ctx->outputs[0]->data);
    esm_activation_apply(act, x->dtype, ctx->outputs[0]->data, esm_numel(ctx->outputs[0]));
    return ESM_OK;
}

/* ---- conv_transpose2d ------------------------------------------------------------------------ */
/* out[o][iy*sh - pt + i*dh][ix*sw - pl + j*dw] += cols[(o * kh + i) * kw + j][iy * w + ix]. */
static void col2im(const float *cols, const conv_geom *g, float *out)
{
    int64_t o, i, j, iy, ix;
    for (o = 0; o < g->og; o++)
        for (i = 0; i < g->kh; i++)
            for (j = 0; j < g->kw; j++) {
                const float *src = cols + ((o * g->kh + i) * g->kw + j) * g->h * g->w;
                for (iy = 0; iy < g->h; iy++) {
                    int64_t oy = iy * g->sh - g->pt + i * g->dh;
                    float *dst = out + (o * g->oh + oy) * g->ow;
                    if (oy < 0 || oy >= g->oh) continue;
                    for (ix = 0; ix < g->w; ix++) {
                        int64_t ox = ix * g->sw - g->pl + j * g->dw;
                        if (ox >= 0 && ox < g->ow) dst[ox] += src[iy * g->w + ix];
                    }
                }
            }
}

static size_t transpose_scratch(const esm_node_ctx *ctx, const conv_geom *g)
{
    int64_t rows = g->og * g->kh * g->kw;
    return ALIGN64((size_t)(rows * g->h * g->w) * sizeof(float)) + esm_sgemm_scratch_threads(ctx, rows, g->h * g->w, g->cg);
}

static void add_channel_bias_f32(float *y, const float *b, int64_t n, int64_t channels, int64_t plane)
{
    int64_t i, c, p;
    for (i = 0; i < n; i++)
        for (c = 0; c < channels; c++)
            for (p = 0; p < plane; p++) y[(i * channels + c) * plane + p] += b[c];
}

static void conv_transpose2d_f32(const esm_node_ctx *ctx, const conv_geom *g, const float *x, const float *w, const float *b, float *y,
                                 void *scratch)
{
    int64_t rows = g->og * g->kh * g->kw, plane = g->h * g->w, n, grp;
    float *cols = (float *)scratch;
    void *gemm_scratch = (char *)scratch + ALIGN64((size_t)(rows * plane) * sizeof(float));
    esm_gemm mm;
    memset(&mm, 0, sizeof mm);
    memset(y, 0, (size_t)(g->n * g->o * g->oh * g->ow) * sizeof(float));
    /* cols = W_g^T (rows x cg) @ x_g (cg x plane); W is (C_in, og, kh, kw) */
    mm.m = rows, mm.n = plane, mm.k = g->cg;
    mm.a_rs = 1, mm.a_cs = rows, mm.b_rs = plane, mm.b_cs = 1, mm.ldc = plane, mm.c = cols;
    for (n = 0; n < g->n; n++)
        for (grp = 0; grp < g->groups; grp++) {
            mm.a = w + grp * g->cg * rows;
            mm.b = x + (n * g->c + grp * g->cg) * plane;
            esm_sgemm_run(ctx, &mm, gemm_scratch);
            col2im(cols, g, y + (n * g->o + grp * g->og) * g->oh * g->ow);
        }
    if (b) add_channel_bias_f32(y, b, g->n, g->o, g->oh * g->ow);
}

static void conv_transpose2d_f64(const conv_geom *g, const double *x, const double *w, const double *b, double *y)
{
    int64_t n, ci, iy, ix, o, i, j, plane = g->oh * g->ow;
    for (n = 0; n < g->n * g->o * plane; n++) y[n] = 0.0;
    for (n = 0; n < g->n; n++)
        for (ci = 0; ci < g->c; ci++)
            for (iy = 0; iy < g->h; iy++)
                for (ix = 0; ix < g->w; ix++) {
                    double v = x[((n * g->c + ci) * g->h + iy) * g->w + ix];
                    int64_t grp = ci / g->cg;
                    for (o = 0; o < g->og; o++)
                        for (i = 0; i < g->kh; i++)
                            for (j = 0; j < g->kw; j++) {
                                int64_t oy = iy * g->sh - g->pt + i * g->dh, ox = ix * g->sw - g->pl + j * g->dw;
                                if (oy < 0 || oy >= g->oh || ox < 0 || ox >= g->ow) continue;
                                y[((n * g->o + grp * g->og + o) * g->oh + oy) * g->ow + ox] +=
                                    v * w[((ci * g->og + o) * g->kh + i) * g->kw + j];
                            }
                }
    if (b)
        for (n = 0; n < g->n; n++)
            for (o = 0; o < g->o; o++)
                for (i = 0; i < plane; i++) y[(n * g->o + o) * plane + i] += b[o];
}

static esm_status conv_transpose2d_prepare(esm_node_ctx *ctx)
{
    conv_geom g;
    ESM_TRY(plan_conv(ctx, &g, 1));
    if (ctx->inputs[0]->dtype == ESM_FLOAT32) ctx->scratch_bytes = transpose_scratch(ctx, &g);
    return ESM_OK;
}

static esm_status conv_transpose2d_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0], *w = ctx->inputs[1], *b = ctx->num_inputs > 2 ? ctx->inputs[2] : NULL;
    conv_geom g;
    ESM_TRY(plan_conv(ctx, &g, 1));
    if (x->dtype == ESM_FLOAT32)
        conv_transpose2d_f32(ctx, &g, x->data, w->data, b ? b->data : NULL, ctx->outputs[0]->data, ctx->scratch);
    else
        conv_transpose2d_f64(&g, x->data, w->data, b ? b->data : NULL, ctx->outputs[0]->data);
    return ESM_OK;
}

const esm_kernel esm_k_conv2d = {"conv2d", conv2d_prepare, conv2d_eval};
const esm_kernel esm_k_conv_transpose2d = {"conv_transpose2d", conv_transpose2d_prepare, conv_transpose2d_eval};
