/* gemm.c - blocked, packed SGEMM (see gemm.h).
 *
 * Loop order (BLIS): for each NC-wide column block of B, for each KC-deep slice, pack
 * B[kc x nc] into NR-wide row panels; for each MC-tall block of A pack A[mc x kc] into MR-tall
 * column panels; then the micro-kernel computes every MR x NR tile of C from one A panel and
 * one B panel, holding the tile in registers for the whole kc loop. Edge tiles go through a
 * small stack buffer so the micro-kernels only ever see full tiles. Each product picks the
 * kernel's wide tile or its narrow one, and runs transposed when its few columns would leave
 * most of every tile empty (tile_for).
 *
 * The x86 micro-kernels are compiled with target attributes, so the library builds for the
 * baseline ISA and picks the best kernel the running CPU supports (__builtin_cpu_supports). */
#include "gemm.h"

#include <string.h>

#include "../kernel_api.h"

#if defined(__x86_64__) || defined(__i386__)
#define ESM_X86 1
#include <immintrin.h>
#endif
#if defined(__aarch64__) || (defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA))
#define ESM_NEON 1
#include <arm_neon.h>
#endif

/* How a micro-kernel stores its MR x NR tile at c[i * ldc + j]: the product, plus what is there
 * when `accumulate`, plus bias[i] when bias is set, then max(lo, x) when `clamp` (relu: lo = 0),
 * all on the registers before the one store, so a convolution's epilogue costs no pass over C. */
typedef struct tile_out {
    int accumulate;
    const float *bias; /* NULL, or one value per tile row */
    int clamp;
    float lo;
} tile_out;

typedef void (*ukr_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o);

typedef struct gemm_kernel {
    const char *name;
    int mr, nr;         /* register tile */
    int64_t mc, kc, nc; /* cache blocks: A block mc x kc in L2, B slice kc x nc in L3 */
    ukr_fn ukr;
    int (*supported)(void);
    const struct gemm_kernel *narrow; /* NULL, or the next smaller tile for small products */
} gemm_kernel;

#define MAX_TILE (12 * 32)
#define MAX_MR 16
#define ROWS8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

/* ---- portable C micro-kernel (4 x 8; compilers vectorize the j loop) ------------------------- */
static float finish_c(float v, const float *c, const tile_out *o, int i)
{
    v += o->accumulate ? *c : 0.0f;
    v += o->bias ? o->bias[i] : 0.0f;
    return o->clamp && v < o->lo ? o->lo : v;
}

static void ukr_c(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    float acc[4][8];
    int64_t p;
    int i, j;
    memset(acc, 0, sizeof acc);
    for (p = 0; p < kc; p++, a += 4, b += 8)
        for (i = 0; i < 4; i++)
            for (j = 0; j < 8; j++) acc[i][j] += a[i] * b[j];
    for (i = 0; i < 4; i++)
        for (j = 0; j < 8; j++) c[i * ldc + j] = finish_c(acc[i][j], c + i * ldc + j, o, i);
}

static int always(void) { return 1; }

#ifdef ESM_X86
/* ---- AVX-512: 12 x 32 tile, 24 accumulators ------------------------------------------------- */
#define AVX512_ROW(i) __m512 c##i##0 = _mm512_setzero_ps(), c##i##1 = _mm512_setzero_ps();
#define AVX512_FMA(i)                                   \
    ai = _mm512_set1_ps(a[i]);                          \
    c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);         \
    c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);
#define AVX512_STORE(i)                                                                   \
    _mm512_storeu_ps(c + (i) * ldc, finish512(c##i##0, c + (i) * ldc, o, i));              \
    _mm512_storeu_ps(c + (i) * ldc + 16, finish512(c##i##1, c + (i) * ldc + 16, o, i));
#define ROWS12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ROWS16(X) ROWS12(X) X(12) X(13) X(14) X(15)

/* The tile_out steps on 16 floats of row i (max(lo, v) keeps a NaN v, as relu does). */
__attribute__((target("avx512f")))
static inline __m512 finish512(__m512 v, const float *c, const tile_out *o, int i)
{
    if (o->accumulate) v = _mm512_add_ps(v, _mm512_loadu_ps(c));
    if (o->bias) v = _mm512_add_ps(v, _mm512_set1_ps(o->bias[i]));
    return o->clamp ? _mm512_max_ps(_mm512_set1_ps(o->lo), v) : v;
}

__attribute__((target("avx512f,fma")))
static void ukr_avx512(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    int64_t p;
    ROWS12(AVX512_ROW)
    for (p = 0; p < kc; p++, a += 12, b += 32) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), ai;
        ROWS12(AVX512_FMA)
    }
    ROWS12(AVX512_STORE)
}

/* ---- AVX-512, narrow: 16 x 16 tile, 16 accumulators ----------------------------------------- */
/* For products with few rows (a convolution's 16 or 32 output channels: 12-row tiles spend a third
 * or a ninth of their FMAs on zero rows); 16 columns are one image of a 4 x 4 feature map, so a
 * convolution's tiles store straight into C. The A values are broadcast from memory by the FMA. */
#define AVX512N_ROW(i) __m512 c##i = _mm512_setzero_ps();
#define AVX512N_FMA(i) c##i = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), b0, c##i);
#define AVX512N_STORE(i) _mm512_storeu_ps(c + (i) * ldc, finish512(c##i, c + (i) * ldc, o, i));

__attribute__((target("avx512f,fma")))
static void ukr_avx512_16x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    int64_t p;
    ROWS16(AVX512N_ROW)
    for (p = 0; p < kc; p++, a += 16, b += 16) {
        __m512 b0 = _mm512_loadu_ps(b);
        ROWS16(AVX512N_FMA)
    }
    ROWS16(AVX512N_STORE)
}

static int has_avx512(void) { return __builtin_cpu_supports("avx512f"); }

/* ---- AVX2 + FMA: 6 x 16 tile, 12 accumulators ---------------------------------------------- */
#define AVX2_ROW(i) __m256 c##i##0 = _mm256_setzero_ps(), c##i##1 = _mm256_setzero_ps();
#define AVX2_FMA(i)                                     \
    ai = _mm256_broadcast_ss(a + (i));                  \
    c##i##0 = _mm256_fmadd_ps(ai, b0, c##i##0);         \
    c##i##1 = _mm256_fmadd_ps(ai, b1, c##i##1);
#define AVX2_STORE(i)                                                                     \
    _mm256_storeu_ps(c + (i) * ldc, finish256(c##i##0, c + (i) * ldc, o, i));             \
    _mm256_storeu_ps(c + (i) * ldc + 8, finish256(c##i##1, c + (i) * ldc + 8, o, i));
#define ROWS6(X) X(0) X(1) X(2) X(3) X(4) X(5)

/* The tile_out steps on 8 floats of row i (max(lo, v) keeps a NaN v, as relu does). */
__attribute__((target("avx2")))
static inline __m256 finish256(__m256 v, const float *c, const tile_out *o, int i)
{
    if (o->accumulate) v = _mm256_add_ps(v, _mm256_loadu_ps(c));
    if (o->bias) v = _mm256_add_ps(v, _mm256_set1_ps(o->bias[i]));
    return o->clamp ? _mm256_max_ps(_mm256_set1_ps(o->lo), v) : v;
}
/* The k loop unrolled by 4: the loop's counter and branch are 1 in 4 steps' FMAs (+0.5-1 %). */
#define K_LOOP_BY_4(STEP)                  \
    for (p = 0; p + 4 <= kc; p += 4) {      \
        STEP STEP STEP STEP                 \
    }                                       \
    for (; p < kc; p++) STEP
/* One k step: B row (16 floats) times the 6 A values. */
#define AVX2_STEP                                                                      \
    {                                                                                  \
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ai;               \
        ROWS6(AVX2_FMA)                                                                \
        a += 6, b += 16;                                                               \
    }

__attribute__((target("avx2,fma")))
static void ukr_avx2(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    int64_t p;
    ROWS6(AVX2_ROW)
    /* No software prefetch: B's panel stays in L1 and A's streams from L2 in order (the hardware
     * prefetcher keeps up); prefetching C's rows (ldc apart, often 4 KB: one L1 set) measured slower. */
    K_LOOP_BY_4(AVX2_STEP)
    ROWS6(AVX2_STORE)
}

/* ---- AVX2 + FMA, narrow: 8 x 16 tile as two 8 x 8 passes, 8 accumulators each --------------- */
/* For products with few rows (a convolution's 8, 16 or 32 output channels), where 6-row tiles
 * would spend a third (m = 8) or a ninth (m = 16, 32) of their FMAs on zero rows. Eight
 * accumulator chains still cover the FMA latency (4 cycles x 2 ports on Zen 3); the 16-wide
 * B panel keeps the packing and the per-tile overhead of the wide kernel (8 x 8 tiles measured
 * 8 % slower on the digits CNN, whose k is 9 and 144). */
#define AVX2N_ROW(i) __m256 c##i = _mm256_setzero_ps();
#define AVX2N_FMA(i) c##i = _mm256_fmadd_ps(_mm256_broadcast_ss(a + (i)), b0, c##i);
#define AVX2N_STORE(i) _mm256_storeu_ps(c + (i) * ldc, finish256(c##i, c + (i) * ldc, o, i));
#define AVX2N_STEP                                                                     \
    {                                                                                  \
        __m256 b0 = _mm256_loadu_ps(b);                                                \
        ROWS8(AVX2N_FMA)                                                               \
        a += 8, b += 16;                                                               \
    }

/* Columns [0, 8) or [8, 16) of the tile: b and c point at the half. */
__attribute__((target("avx2,fma")))
static void ukr_avx2_8x8_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    int64_t p;
    ROWS8(AVX2N_ROW)
    K_LOOP_BY_4(AVX2N_STEP)
    ROWS8(AVX2N_STORE)
}

static void ukr_avx2_8x16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    ukr_avx2_8x8_half(kc, a, b, c, ldc, o);
    ukr_avx2_8x8_half(kc, a, b + 8, c + 8, ldc, o);
}

static int has_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
#endif

#ifdef ESM_NEON
/* ---- NEON: 8 x 8 tile, 16 accumulators (lane-indexed FMA) ----------------------------------- */
#define NEON_ROW(i) float32x4_t c##i##0 = vdupq_n_f32(0), c##i##1 = vdupq_n_f32(0);
#define NEON_FMA(i, av, lane)                                   \
    c##i##0 = vfmaq_laneq_f32(c##i##0, b0, av, lane);           \
    c##i##1 = vfmaq_laneq_f32(c##i##1, b1, av, lane);
#define NEON_STORE(i)                                                                    \
    vst1q_f32(c + (i) * ldc, finish_neon(c##i##0, c + (i) * ldc, o, i));                  \
    vst1q_f32(c + (i) * ldc + 4, finish_neon(c##i##1, c + (i) * ldc + 4, o, i));

/* The tile_out steps on 4 floats of row i (vmaxq keeps a NaN, as relu does). */
static inline float32x4_t finish_neon(float32x4_t v, const float *c, const tile_out *o, int i)
{
    if (o->accumulate) v = vaddq_f32(v, vld1q_f32(c));
    if (o->bias) v = vaddq_f32(v, vdupq_n_f32(o->bias[i]));
    return o->clamp ? vmaxq_f32(vdupq_n_f32(o->lo), v) : v;
}

static void ukr_neon(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, const tile_out *o)
{
    int64_t p;
    ROWS8(NEON_ROW)
    for (p = 0; p < kc; p++, a += 8, b += 8) {
        float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
        float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
        NEON_FMA(0, a0, 0) NEON_FMA(1, a0, 1) NEON_FMA(2, a0, 2) NEON_FMA(3, a0, 3)
        NEON_FMA(4, a1, 0) NEON_FMA(5, a1, 1) NEON_FMA(6, a1, 2) NEON_FMA(7, a1, 3)
    }
    ROWS8(NEON_STORE)
}
#endif

/* Best first; the last one always works. AVX2 (AMD EPYC Zen 3: 32 KB L1d, 512 KB L2 per core):
 * kc = 512 halves the passes over C (each loads and stores the whole C tile row) against 256,
 * +8 % at 1024^3 and 2048^3 in paired runs; its 32 KB B panel still holds in L1 as the 12 KB A
 * panels stream past, and the 96 x 512 A block (192 KB) sits in L2. */
#ifdef ESM_X86
static const gemm_kernel AVX2_NARROW = {"avx2", 8, 16, 96, 512, 4096, ukr_avx2_8x16, has_avx2, NULL};
static const gemm_kernel AVX2 = {"avx2", 6, 16, 96, 512, 4096, ukr_avx2, has_avx2, &AVX2_NARROW};
static const gemm_kernel AVX512_NARROW = {"avx512", 16, 16, 144, 384, 4096, ukr_avx512_16x16, has_avx512, NULL};
static const gemm_kernel AVX512 = {"avx512", 12, 32, 144, 384, 4096, ukr_avx512, has_avx512, &AVX512_NARROW};
#endif
#ifdef ESM_NEON
static const gemm_kernel NEON = {"neon", 8, 8, 128, 256, 4096, ukr_neon, always, NULL};
#endif
static const gemm_kernel PORTABLE = {"c", 4, 8, 128, 256, 4096, ukr_c, always, NULL};
static const gemm_kernel *const KERNELS[] = {
#ifdef ESM_X86
    &AVX512, &AVX2,
#endif
#ifdef ESM_NEON
    &NEON,
#endif
    &PORTABLE,
};
#define NUM_KERNELS ((int)(sizeof KERNELS / sizeof KERNELS[0]))

static const gemm_kernel *selected;

static const gemm_kernel *kernel(void)
{
    int i;
    if (selected) return selected;
    for (i = 0; i < NUM_KERNELS; i++)
        if (KERNELS[i]->supported()) return selected = KERNELS[i];
    return selected = KERNELS[NUM_KERNELS - 1];
}

const char *esm_sgemm_kernel_name(void) { return kernel()->name; }

int esm_sgemm_select(const char *name)
{
    int i;
    if (!name) {
        selected = NULL;
        return 1;
    }
    for (i = 0; i < NUM_KERNELS; i++)
        if (strcmp(KERNELS[i]->name, name) == 0 && KERNELS[i]->supported()) {
            selected = KERNELS[i];
            return 1;
        }
    return 0;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Elements per k step of an m x n product with kr's tile, zero padding included. */
static double tile_cost(const gemm_kernel *kr, int64_t m, int64_t n)
{
    return (double)ALIGN_UP(m, kr->mr) * (double)ALIGN_UP(n, kr->nr);
}

/* The tile an m x n product runs: the kernel's own, or its narrow one where that computes a tenth
 * fewer padded elements (a convolution's 16 or 32 channels: 16 rows, not 24 or 36; the zoo
 * transformer's QKV projections, [192, 16] x [16, 16] on AVX-512: half as many as 12 x 32 tiles,
 * 3.8 -> 2.6 us each); for big products the wide tile's better FMA-to-load ratio wins. (Going on
 * from AVX-512's 16 x 16 to AVX2's 6 x 16 for an attention head's [6, 8] x [8, 6] measured no
 * faster.) */
static const gemm_kernel *tile_for(const gemm_kernel *kr, int64_t m, int64_t n)
{
    const gemm_kernel *best = kr, *t;
    for (t = kr->narrow; t; t = t->narrow)
        if (tile_cost(t, m, n) * 10 < tile_cost(best, m, n) * 9) best = t;
    return best;
}

static size_t scratch_for(const gemm_kernel *kr, int64_t m, int64_t n, int64_t k)
{
    int64_t kc = min64(k, kr->kc), mc = ALIGN_UP(min64(m, kr->mc), kr->mr), nc = ALIGN_UP(min64(n, kr->nc), kr->nr);
    return (size_t)(mc * kc + kc * nc) * sizeof(float) + 128;
}

/* Enough for whichever kernel runs (esm_sgemm_select may switch it after prepare), either way
 * round (a product with few columns runs transposed). */
size_t esm_sgemm_scratch(int64_t m, int64_t n, int64_t k)
{
    size_t most = 0, s;
    int i;
    const gemm_kernel *t;
    for (i = 0; i < NUM_KERNELS; i++)
        for (t = KERNELS[i]; t; t = t->narrow) {
            if ((s = scratch_for(t, m, n, k)) > most) most = s;
            if ((s = scratch_for(t, n, m, k)) > most) most = s;
        }
    return most;
}

/* ---- packing --------------------------------------------------------------------------------- */
/* A[i0 .. i0+mc) x [p0 .. p0+kc) into MR-row panels: panel[p * mr + i], zero rows past m. */
static void pack_a(const esm_gemm *g, const gemm_kernel *kr, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
                   float *out)
{
    int64_t ir, p;
    int i, mr = kr->mr;
    for (ir = 0; ir < mc; ir += mr, out += kc * mr) {
        int rows = (int)min64(mr, mc - ir);
        const float *src = g->a + (i0 + ir) * g->a_rs + p0 * g->a_cs;
        if (rows == mr && g->a_cs == 1) { /* writes in order, one read stream per row */
            for (p = 0; p < kc; p++)
                for (i = 0; i < mr; i++) out[p * mr + i] = src[i * g->a_rs + p];
            continue;
        }
        for (i = 0; i < rows; i++)
            for (p = 0; p < kc; p++) out[p * mr + i] = src[i * g->a_rs + p * g->a_cs];
        for (; i < mr; i++)
            for (p = 0; p < kc; p++) out[p * mr + i] = 0.0f;
    }
}

/* pack_b when B's rows are contiguous: row by row across every panel, so B is read in order
 * (panel by panel, each 64-byte piece came from another row, often another page); a loop, not
 * memcpy: a call per piece costs more than the copy. */
static void pack_b_rows(const esm_gemm *g, int nr, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float *out)
{
    int64_t jr, p;
    int j;
    for (p = 0; p < kc; p++) {
        const float *src = g->b + (p0 + p) * g->b_rs + j0;
        for (jr = 0; jr < nc; jr += nr) {
            float *dst = out + jr * kc + p * nr;
            int cols = (int)min64(nr, nc - jr);
            for (j = 0; j < cols; j++) dst[j] = src[jr + j];
            for (; j < nr; j++) dst[j] = 0.0f;
        }
    }
}

/* B[p0 .. p0+kc) x [j0 .. j0+nc) into NR-column panels: panel[p * nr + j], zero columns past n. */
static void pack_b(const esm_gemm *g, const gemm_kernel *kr, int64_t p0, int64_t kc, int64_t j0, int64_t nc,
                   float *out)
{
    int64_t jr, p;
    int j, nr = kr->nr;
    if (g->b_cs == 1) {
        pack_b_rows(g, nr, p0, kc, j0, nc, out);
        return;
    }
    for (jr = 0; jr < nc; jr += nr, out += kc * nr) {
        int cols = (int)min64(nr, nc - jr);
        const float *src = g->b + p0 * g->b_rs + (j0 + jr) * g->b_cs;
        if (g->b_rs == 1) { /* B = W^T (linear): a transpose in 8-deep blocks (a cache line of each row) */
            int64_t p0;
            for (p0 = 0; p0 < kc; p0 += 8) {
                int64_t p1 = p0 + 8 < kc ? p0 + 8 : kc;
                for (j = 0; j < cols; j++)
                    for (p = p0; p < p1; p++) out[p * nr + j] = src[p + j * g->b_cs];
                for (; j < nr; j++)
                    for (p = p0; p < p1; p++) out[p * nr + j] = 0.0f;
            }
            continue;
        }
        for (j = 0; j < cols; j++)
            for (p = 0; p < kc; p++) out[p * nr + j] = src[p * g->b_rs + j * g->b_cs];
        for (; j < nr; j++)
            for (p = 0; p < kc; p++) out[p * nr + j] = 0.0f;
    }
}

/* ---- small m: rows of A times B without packing (a linear layer at batch 1) ------------------ */
/* Eight independent partial sums per row so the compiler vectorizes without reassociating. */
static float dot(const float *x, const float *w, int64_t k)
{
    float part[8] = {0, 0, 0, 0, 0, 0, 0, 0}, total = 0;
    int64_t p = 0;
    int l;
    for (; p + 8 <= k; p += 8)
        for (l = 0; l < 8; l++) part[l] += x[p + l] * w[p + l];
    for (; p < k; p++) total += x[p] * w[p];
    for (l = 0; l < 8; l++) total += part[l];
    return total;
}

#ifdef ESM_X86
__attribute__((target("avx2,fma")))
static float dot_avx2(const float *x, const float *w, int64_t k)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    float lanes[8], total = 0;
    int64_t p = 0;
    int l;
    for (; p + 32 <= k; p += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(w + p), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 8), _mm256_loadu_ps(w + p + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 16), _mm256_loadu_ps(w + p + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p + 24), _mm256_loadu_ps(w + p + 24), s3);
    }
    for (; p + 8 <= k; p += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + p), _mm256_loadu_ps(w + p), s0);
    _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; p < k; p++) total += x[p] * w[p];
    for (l = 0; l < 8; l++) total += lanes[l];
    return total;
}
#endif

/* C[i][j] = dot(A row i, B column j) when both are contiguous along k. */
static void small_m_dot(const esm_gemm *g)
{
    float (*dotf)(const float *, const float *, int64_t) = dot;
    int64_t i, j;
#ifdef ESM_X86
    if (kernel()->ukr != ukr_c && has_avx2()) dotf = dot_avx2;
#endif
    for (i = 0; i < g->m; i++)
        for (j = 0; j < g->n; j++) {
            float v = dotf(g->a + i * g->a_rs, g->b + j * g->b_cs, g->k);
            float *c = g->c + i * g->ldc + j;
            *c = g->accumulate ? *c + v : v;
        }
}

/* C row i += A[i][p] * B row p, when B's rows are contiguous. */
static void small_m_axpy(const esm_gemm *g)
{
    int64_t i, j, p;
    for (i = 0; i < g->m; i++) {
        float *c = g->c + i * g->ldc;
        if (!g->accumulate) memset(c, 0, (size_t)g->n * sizeof(float));
        for (p = 0; p < g->k; p++) {
            const float av = g->a[i * g->a_rs + p * g->a_cs], *brow = g->b + p * g->b_rs;
            for (j = 0; j < g->n; j++) c[j] += av * brow[j];
        }
    }
}

/* ---- driver ---------------------------------------------------------------------------------- */
static void add_bias(const esm_gemm *g)
{
    int64_t i, j;
    for (i = 0; i < g->m; i++) {
        float *c = g->c + i * g->ldc;
        if (g->bias_per_row)
            for (j = 0; j < g->n; j++) c[j] += g->bias[i];
        else
            for (j = 0; j < g->n; j++) c[j] += g->bias[j];
    }
}

/* One MR x NR tile (possibly cut at the matrix edge) of C, whose element (i, j) is at
 * c[i * ldc + j], or at c[j * ldc + i] when `transposed`. */
static void run_tile(const gemm_kernel *kr, int64_t kc, const float *ap, const float *bp, float *c, int64_t ldc,
                     int rows, int cols, int accumulate, int transposed)
{
    float tmp[MAX_TILE];
    tile_out o = {0, NULL, 0, 0.0f};
    int64_t rs = transposed ? 1 : ldc, cs = transposed ? ldc : 1;
    int i, j;
    o.accumulate = accumulate;
    if (rows == kr->mr && cols == kr->nr && !transposed) {
        kr->ukr(kc, ap, bp, c, ldc, &o);
        return;
    }
    o.accumulate = 0;
    kr->ukr(kc, ap, bp, tmp, kr->nr, &o);
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++) c[i * rs + j * cs] = (accumulate ? c[i * rs + j * cs] : 0.0f) + tmp[i * kr->nr + j];
}

/* The blocked product with kr's tile; `transposed`: g's C is stored transposed (see run_tile). */
static void packed(const esm_gemm *g, const gemm_kernel *kr, int transposed, void *scratch)
{
    float *bp = (float *)ALIGN_UP((uintptr_t)scratch, 64);
    float *ap = bp + min64(g->k, kr->kc) * ALIGN_UP(min64(g->n, kr->nc), kr->nr);
    int64_t jc, pc, ic, jr, ir;
    for (jc = 0; jc < g->n; jc += kr->nc) {
        int64_t nc = min64(kr->nc, g->n - jc);
        for (pc = 0; pc < g->k; pc += kr->kc) {
            int64_t kc = min64(kr->kc, g->k - pc);
            int accumulate = g->accumulate || pc > 0;
            pack_b(g, kr, pc, kc, jc, nc, bp);
            for (ic = 0; ic < g->m; ic += kr->mc) {
                int64_t mc = min64(kr->mc, g->m - ic);
                pack_a(g, kr, ic, mc, pc, kc, ap);
                for (jr = 0; jr < nc; jr += kr->nr)
                    for (ir = 0; ir < mc; ir += kr->mr)
                        run_tile(kr, kc, ap + ir * kc, bp + jr * kc,
                                 g->c + (transposed ? (jc + jr) * g->ldc + ic + ir : (ic + ir) * g->ldc + jc + jr), g->ldc,
                                 (int)min64(kr->mr, mc - ir), (int)min64(kr->nr, nc - jr), accumulate, transposed);
            }
        }
    }
}

void esm_sgemm(const esm_gemm *g, void *scratch)
{
    int64_t i;
    if (g->m <= 0 || g->n <= 0) return;
    if (g->k <= 0) {
        if (!g->accumulate)
            for (i = 0; i < g->m; i++) memset(g->c + i * g->ldc, 0, (size_t)g->n * sizeof(float));
    } else if (g->m < 4 && g->a_cs == 1 && g->b_rs == 1) {
        small_m_dot(g);
    } else if (g->m < 4 && g->b_cs == 1) {
        small_m_axpy(g);
    } else {
        const gemm_kernel *kr = tile_for(kernel(), g->m, g->n), *kt = tile_for(kernel(), g->n, g->m);
        if (tile_cost(kt, g->n, g->m) * 10 < tile_cost(kr, g->m, g->n) * 9) {
            /* few columns (a classifier's 10 outputs) would leave most of each tile empty: C^T =
             * B^T A^T puts them on the MR side; a third of the FMAs for [32, 128] x [128, 10] */
            esm_gemm t = *g;
            t.m = g->n, t.n = g->m;
            t.a = g->b, t.a_rs = g->b_cs, t.a_cs = g->b_rs;
            t.b = g->a, t.b_rs = g->a_cs, t.b_cs = g->a_rs;
            packed(&t, kt, 1, scratch);
        } else {
            packed(g, kr, 0, scratch);
        }
    }
    if (g->bias) add_bias(g);
}

/* ---- threads --------------------------------------------------------------------------------- */
#define MIN_PARALLEL_FLOPS (1 << 21) /* below this a product is faster on one thread */
#define SPLIT_ALIGN 32               /* part boundaries on multiples of every kernel's NR */

static int32_t gemm_threads(const esm_node_ctx *ctx)
{
    return ctx && ctx->num_threads > 1 ? ctx->num_threads : 1;
}

size_t esm_sgemm_scratch_threads(const esm_node_ctx *ctx, int64_t m, int64_t n, int64_t k)
{
    return ALIGN_UP(esm_sgemm_scratch(m, n, k), 64) * (size_t)gemm_threads(ctx);
}

typedef struct gemm_job {
    const esm_gemm *g;
    int64_t unit; /* item i covers [i * unit, (i + 1) * unit) of n (split_n) or m */
    int split_n;
    char *scratch;
    size_t per_slot;
} gemm_job;

/* Items per chunk so that a chunk holds about CHUNK_FLOPS: several chunks per thread let a free
 * thread take the share of one on a busy core; fewer, larger ones would each wait on the slowest. */
#define CHUNK_FLOPS (MIN_PARALLEL_FLOPS / 4)

static int64_t chunk_grain(double item_flops)
{
    return item_flops >= CHUNK_FLOPS ? 1 : (int64_t)(CHUNK_FLOPS / item_flops) + 1;
}

static void gemm_parts(void *arg, int32_t slot, int64_t begin, int64_t end)
{
    const gemm_job *job = (const gemm_job *)arg;
    esm_gemm sub = *job->g;
    int64_t lo = begin * job->unit, hi = min64(end * job->unit, job->split_n ? sub.n : sub.m);
    if (job->split_n) {
        sub.n = hi - lo, sub.b += lo * sub.b_cs, sub.c += lo;
        if (sub.bias && !sub.bias_per_row) sub.bias += lo;
    } else {
        sub.m = hi - lo, sub.a += lo * sub.a_rs, sub.c += lo * sub.ldc;
        if (sub.bias && sub.bias_per_row) sub.bias += lo;
    }
    esm_sgemm(&sub, job->scratch + (size_t)slot * job->per_slot);
}

void esm_sgemm_run(const esm_node_ctx *ctx, const esm_gemm *g, void *scratch)
{
    int64_t threads = gemm_threads(ctx), total;
    gemm_job job;
    if (threads == 1 || (double)g->m * (double)g->n * (double)g->k * 2.0 < MIN_PARALLEL_FLOPS) {
        esm_sgemm(g, scratch);
        return;
    }
    job.g = g;
    job.split_n = g->n >= SPLIT_ALIGN * threads;
    if (!job.split_n && g->m < 2 * threads) {
        esm_sgemm(g, scratch);
        return;
    }
    job.unit = job.split_n ? SPLIT_ALIGN : kernel()->mr;
    total = job.split_n ? g->n : g->m;
    job.scratch = (char *)scratch;
    job.per_slot = ALIGN_UP(esm_sgemm_scratch(g->m, g->n, g->k), 64);
    esm_parallel_for(ctx, (total + job.unit - 1) / job.unit,
                     chunk_grain(2.0 * (double)job.unit * (double)g->k * (double)(job.split_n ? g->m : g->n)), gemm_parts, &job);
}

/* ---- generated B (convolution) --------------------------------------------------------------- */
/* A packed B block holds about 16 KB: the panel writer's stores and the micro-kernel's reads stay
 * in L1 (a convolution's packed weights, few rows, are small beside it), and each thread packs A
 * once for all its columns. (64 KB, L2, measured 1-2 % slower on the benchmark's CNNs.) */
#define GEN_B_FLOATS 4096

static int64_t gen_nc(const gemm_kernel *kr, int64_t n, int64_t kc)
{
    int64_t nc = GEN_B_FLOATS / (kc > 0 ? kc : 1) / kr->nr * kr->nr;
    nc = nc < kr->nr ? kr->nr : nc;
    return min64(nc, ALIGN_UP(n, kr->nr));
}

static size_t gen_a_bytes(const gemm_kernel *kr, int64_t m, int64_t k)
{
    return ALIGN_UP((size_t)(ALIGN_UP(m, kr->mr) * k) * sizeof(float), 64);
}

static size_t gen_b_bytes(const gemm_kernel *kr, int64_t n, int64_t k)
{
    int64_t kc = min64(k, kr->kc);
    return ALIGN_UP((size_t)(kc * gen_nc(kr, n, kc)) * sizeof(float), 64);
}

/* One thread slot's scratch: a flag (A packed in this call), its own packed A, its B block. A
 * is packed by each thread that runs a part of the product, not once by the caller for all: read
 * from another core's cache it cost more than packing it again. */
#define GEN_FLAG_BYTES 64
/* An eighth of esm_sgemm_run's threshold: a convolution's threads also pad and pack their own
 * images, so a second thread pays off sooner (the digits CNN's first conv, 0.6 MFLOP at batch 32:
 * 2 threads 49.5 us for the model split, 58.6 us serial). */
#define GEN_MIN_PARALLEL_FLOPS (MIN_PARALLEL_FLOPS / 8)

static size_t gen_slot_bytes(const gemm_kernel *kr, int64_t m, int64_t n, int64_t k)
{
    return GEN_FLAG_BYTES + gen_a_bytes(kr, m, k) + gen_b_bytes(kr, n, k);
}

size_t esm_sgemm_gen_scratch(const esm_node_ctx *ctx, int64_t m, int64_t n, int64_t k)
{
    size_t most = 0, s;
    int i;
    const gemm_kernel *t;
    for (i = 0; i < NUM_KERNELS; i++)
        for (t = KERNELS[i]; t; t = t->narrow)
            if ((s = gen_slot_bytes(t, m, n, k) * (size_t)gemm_threads(ctx)) > most) most = s;
    return most + 64;
}

/* Column j of C: segment s, column q in it (tiles walk the columns in order with gen_advance,
 * no division per tile). */
typedef struct gen_pos {
    int64_t s, q;
} gen_pos;

static gen_pos gen_locate(const esm_gemm_gen *g, int64_t j)
{
    gen_pos p;
    p.s = j / g->seg, p.q = j - p.s * g->seg;
    return p;
}

static gen_pos gen_advance(const esm_gemm_gen *g, gen_pos p, int64_t n)
{
    for (p.q += n; p.q >= g->seg; p.q -= g->seg) p.s++;
    return p;
}

static float *gen_at(const esm_gemm_gen *g, gen_pos p, int64_t i0) { return g->c + p.s * g->seg_stride + i0 * g->ldc + p.q; }

/* Any activation but a lower clamp, on a finished tile's rows x cols at c (the micro-kernel has
 * added the bias and applied a clamp as it stored them). */
static void gen_activation(const esm_gemm_gen *g, float *c, int rows, int cols)
{
    int i;
    if (g->act)
        for (i = 0; i < rows; i++) g->act(g->act_arg, c + i * g->ldc, cols);
}

/* Tile rows [i0, i0+rows) x columns from p on (cols of them) between `tile` (row length nr) and
 * the segmented C: into C when to_c (then the activation, with the last k slice), else out of it. */
static void gen_copy(const esm_gemm_gen *g, float *tile, int nr, gen_pos p, int64_t i0, int rows, int cols, int to_c,
                     int last)
{
    int c0, i;
    for (c0 = 0; c0 < cols; p = gen_advance(g, p, 0)) {
        int run = (int)min64(cols - c0, g->seg - p.q);
        float *dst = gen_at(g, p, i0);
        for (i = 0; i < rows; i++) {
            float *t = tile + i * nr + c0, *d = dst + i * g->ldc;
            memcpy(to_c ? d : t, to_c ? t : d, (size_t)run * sizeof(float));
        }
        if (to_c && last) gen_activation(g, dst, rows, run);
        c0 += run, p.q += run;
    }
}

/* One MR x NR tile: straight into C when it is whole and inside one segment, else through a
 * buffer (holding C's tile first when the micro-kernel adds to it). The bias and a clamp go in
 * with the last k slice; an edge tile's bias rows past m are zeros, not reads past the bias. */
static void gen_tile(const esm_gemm_gen *g, const gemm_kernel *kr, int64_t kc, const float *ap, const float *bp,
                     gen_pos p, int64_t i0, int cols, int accumulate, int last)
{
    float tmp[MAX_TILE], bias[MAX_MR];
    int rows = (int)min64(kr->mr, g->m - i0), i;
    tile_out o;
    o.accumulate = accumulate, o.bias = last && g->bias ? g->bias + i0 : NULL, o.clamp = last && g->clamp, o.lo = g->lo;
    if (o.bias && rows < kr->mr) {
        for (i = 0; i < kr->mr; i++) bias[i] = i < rows ? o.bias[i] : 0.0f;
        o.bias = bias;
    }
    if (rows == kr->mr && cols == kr->nr && p.q + cols <= g->seg) {
        float *c = gen_at(g, p, i0);
        kr->ukr(kc, ap, bp, c, g->ldc, &o);
        if (last) gen_activation(g, c, rows, cols);
        return;
    }
    if (accumulate) {
        memset(tmp, 0, sizeof tmp);
        gen_copy(g, tmp, kr->nr, p, i0, rows, cols, 0, 0);
    }
    kr->ukr(kc, ap, bp, tmp, kr->nr, &o);
    gen_copy(g, tmp, kr->nr, p, i0, rows, cols, 1, last);
}

typedef struct gen_job {
    const esm_gemm_gen *g;
    const gemm_kernel *kr;
    char *slots;       /* per thread slot: gen_slot_bytes */
    size_t slot_bytes;
    int64_t nc;        /* columns per item: whole segments, or the B block width */
} gen_job;

/* ap: every k slice of A, packed (slice at pc starts at ALIGN_UP(m, mr) * pc); bp: a B block. */
static void gen_columns(const gen_job *job, const float *ap, float *bp, int64_t j_lo, int64_t j_hi)
{
    const esm_gemm_gen *g = job->g;
    const gemm_kernel *kr = job->kr;
    int64_t nc = gen_nc(kr, g->n, min64(g->k, kr->kc)), mpad = ALIGN_UP(g->m, kr->mr), jc, pc, jr, ir;
    for (jc = j_lo; jc < j_hi; jc += nc) {
        int64_t ncur = min64(nc, j_hi - jc), kc;
        pc = 0;
        do { /* at least one slice: with k == 0 (no input channels) the tiles are the bias */
            gen_pos p = gen_locate(g, jc);
            kc = min64(kr->kc, g->k - pc);
            g->pack_b(g->pack_arg, pc, kc, jc, ncur, kr->nr, bp);
            for (jr = 0; jr < ncur; jr += kr->nr, p = gen_advance(g, p, kr->nr))
                for (ir = 0; ir < g->m; ir += kr->mr)
                    gen_tile(g, kr, kc, ap + mpad * pc + ir * kc, bp + jr * kc, p, ir, (int)min64(kr->nr, ncur - jr),
                             pc > 0, pc + kc >= g->k);
            pc += kc;
        } while (pc < g->k);
    }
}

static void gen_pack_a(const esm_gemm_gen *g, const gemm_kernel *kr, float *ap)
{
    esm_gemm a;
    int64_t pc;
    memset(&a, 0, sizeof a);
    a.a = g->a, a.a_rs = g->a_rs, a.a_cs = 1;
    for (pc = 0; pc < g->k; pc += kr->kc) pack_a(&a, kr, 0, g->m, pc, min64(kr->kc, g->k - pc), ap + ALIGN_UP(g->m, kr->mr) * pc);
}

static void gen_parts(void *arg, int32_t slot, int64_t begin, int64_t end)
{
    const gen_job *job = (const gen_job *)arg;
    const esm_gemm_gen *g = job->g;
    char *base = job->slots + (size_t)slot * job->slot_bytes;
    int *a_packed = (int *)base;
    float *ap = (float *)(base + GEN_FLAG_BYTES), *bp = (float *)((char *)ap + gen_a_bytes(job->kr, g->m, g->k));
    int64_t j0 = begin * job->nc, j1 = min64(end * job->nc, g->n);
    if (!*a_packed) gen_pack_a(g, job->kr, ap), *a_packed = 1;
    if (g->prologue && job->nc == g->seg) g->prologue(g->pack_arg, j0, j1);
    gen_columns(job, ap, bp, j0, j1);
}

void esm_sgemm_gen_run(const esm_node_ctx *ctx, const esm_gemm_gen *g, void *scratch)
{
    const gemm_kernel *kr = tile_for(kernel(), g->m, g->n);
    int64_t items;
    int32_t slot;
    double flops = (double)g->m * (double)g->n * (double)g->k * 2.0;
    gen_job job;
    if (g->m <= 0 || g->n <= 0) return;
    job.g = g, job.kr = kr;
    job.slots = (char *)ALIGN_UP((uintptr_t)scratch, 64);
    job.slot_bytes = gen_slot_bytes(kr, g->m, g->n, g->k);
    for (slot = 0; slot < gemm_threads(ctx); slot++) *(int *)(job.slots + (size_t)slot * job.slot_bytes) = 0;
    /* whole segments (images) per item where there are enough for every thread: the threads then
     * prepare (pad) and pack their own images, which stay in their own caches (threads.c) */
    job.nc = g->n / g->seg >= gemm_threads(ctx) ? g->seg : gen_nc(kr, g->n, min64(g->k, kr->kc));
    if (g->prologue && job.nc != g->seg) g->prologue(g->pack_arg, 0, g->n);
    items = (g->n + job.nc - 1) / job.nc;
    esm_parallel_for(ctx, items, flops < GEN_MIN_PARALLEL_FLOPS ? items : 1, gen_parts, &job);
}
