/* gemm.h - single-precision matrix multiply for the kernels (internal).
 *
 * C[i][j] (+)= sum_p A[i][p] * B[p][j] (+ bias). A and B are read through element strides,
 * so transposed operands cost nothing extra: packing reads them once into cache-sized panels
 * (BLIS's loop order), and a register-blocked micro-kernel chosen at run time by CPU feature
 * detection (AVX-512, AVX2/FMA, NEON, or portable C) does the arithmetic. */
#ifndef ESM_GEMM_H
#define ESM_GEMM_H

#include <stddef.h>
#include <stdint.h>

typedef struct esm_gemm {
    int64_t m, n, k;
    const float *a; /* A[i][p] = a[i * a_rs + p * a_cs] */
    int64_t a_rs, a_cs;
    const float *b; /* B[p][j] = b[p * b_rs + j * b_cs] */
    int64_t b_rs, b_cs;
    float *c; /* C[i][j] = c[i * ldc + j] */
    int64_t ldc;
    const float *bias; /* NULL, or added to every row (bias[j]) or column (bias[i]) */
    int bias_per_row;  /* 1: bias[i] for row i (conv's per-channel bias) */
    int accumulate;    /* 1: C += A B; 0: C = A B */
} esm_gemm;

/* Bytes of scratch esm_sgemm needs for these sizes (packing buffers, 64-byte aligned inside). */
size_t esm_sgemm_scratch(int64_t m, int64_t n, int64_t k);
void esm_sgemm(const esm_gemm *g, void *scratch);
/* The micro-kernel this CPU runs: "avx512", "avx2", "neon" or "c". */
const char *esm_sgemm_kernel_name(void);
/* Force a kernel by name (benchmarks and tests; NULL: back to the detected one); returns 0
 * when the name is unknown or this CPU cannot run it. */
int esm_sgemm_select(const char *name);



/* ---- threaded use from a kernel -------------------------------------------------------------- */
struct esm_node_ctx;
/* Scratch for esm_sgemm_run: one packing area per session thread. */
size_t esm_sgemm_scratch_threads(const struct esm_node_ctx *ctx, int64_t m, int64_t n, int64_t k);
/* esm_sgemm split over the session's threads (esm_parallel_for) along n, or along m when n is
 * narrow; serial for one thread or a small product. */
void esm_sgemm_run(const struct esm_node_ctx *ctx, const esm_gemm *g, void *scratch);

/* ---- products whose B is generated (convolution) --------------------------------------------- */
/* Writes B[p0 .. p0+kc) x [j0 .. j0+nc) as nr-column panels (panel[p * nr + j], zeros in the
 * columns of the last panel past nc), straight into the layout the micro-kernel reads. */
typedef void (*esm_pack_b_fn)(const void *arg, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int nr, float *out);

/* An activation applied in place to n floats of C. */
typedef void (*esm_rows_fn)(const void *arg, float *row, int64_t n);

typedef struct esm_gemm_gen {
    int64_t m, n, k;
    const float *a; /* A[i][p] = a[i * a_rs + p]: packed once per call by each thread that runs */
    int64_t a_rs;
    esm_pack_b_fn pack_b; /* B, e.g. im2col of a batch of images */
    const void *pack_arg;
    /* NULL, or prepares what pack_b reads for the columns [j0, j1) of whole segments (a
     * convolution pads those images), on the thread that then packs them */
    void (*prologue)(const void *arg, int64_t j0, int64_t j1);
    float *c; /* C[i][j] = c[(j / seg) * seg_stride + i * ldc + j % seg]: one segment per image */
    int64_t ldc, seg, seg_stride;
    const float *bias; /* NULL, or bias[i] added to row i */
    int clamp;         /* 1: then x < lo ? lo : x (relu: lo = 0), in the same pass as the bias */
    float lo;
    esm_rows_fn act;   /* NULL, or any other activation, in place on each stored row of a tile */
    const void *act_arg;
} esm_gemm_gen;

/* Scratch for esm_sgemm_gen_run: a packed A and a B block per session thread. */
size_t esm_sgemm_gen_scratch(const struct esm_node_ctx *ctx, int64_t m, int64_t n, int64_t k);
/* C = act(A B (+ bias)) with B from g->pack_b, the columns split over the session's threads (whole
 * segments per thread where there are enough); the bias and a clamp go in on the micro-kernel's
 * registers, any other activation as each tile is stored, while it is in L1. */
void esm_sgemm_gen_run(const struct esm_node_ctx *ctx, const esm_gemm_gen *g, void *scratch);
#endif
