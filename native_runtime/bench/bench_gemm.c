/* bench_gemm.c - GFLOP/s of the kernels' SGEMM on square (or m n k) problems.
 * Usage: bench_gemm [--kernel NAME] SIZE... | m,n,k ...   Prints one line per size:
 * "kernel=<name> m=<m> n=<n> k=<k> gflops=<best of runs>". */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../src/kernel_api.h"
#include "../src/kernels/gemm.h"

/* gemm.c's threaded entry point refers to the core's pool; this benchmark times one thread. */
void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg)
{
    (void)ctx, (void)grain;
    if (n > 0) fn(arg, 0, 0, n);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Best time of enough repetitions to fill ~0.5 s (at least 3). */
static double best_seconds(const esm_gemm *g, void *scratch)
{
    double best = 1e30, start = now();
    int reps = 0;
    esm_sgemm(g, scratch); /* warm-up: page in the buffers */
    while (reps < 3 || now() - start < 0.5) {
        double t0 = now(), dt;
        esm_sgemm(g, scratch);
        dt = now() - t0;
        if (dt < best) best = dt;
        reps++;
    }
    return best;
}

static void run(int64_t m, int64_t n, int64_t k)
{
    float *a = malloc(sizeof(float) * (size_t)(m * k)), *b = malloc(sizeof(float) * (size_t)(k * n));
    float *c = malloc(sizeof(float) * (size_t)(m * n));
    void *scratch = malloc(esm_sgemm_scratch(m, n, k));
    esm_gemm g;
    int64_t i;
    double seconds;
    memset(&g, 0, sizeof g);
    for (i = 0; i < m * k; i++) a[i] = (float)(i % 17) * 0.25f - 2.0f;
    for (i = 0; i < k * n; i++) b[i] = (float)(i % 13) * 0.5f - 3.0f;
    g.m = m, g.n = n, g.k = k, g.a = a, g.a_rs = k, g.a_cs = 1, g.b = b, g.b_rs = n, g.b_cs = 1, g.c = c, g.ldc = n;
    seconds = best_seconds(&g, scratch);
    printf("kernel=%s m=%lld n=%lld k=%lld gflops=%.2f\n", esm_sgemm_kernel_name(), (long long)m, (long long)n,
           (long long)k, 2.0 * (double)m * (double)n * (double)k / seconds * 1e-9);
    free(a), free(b), free(c), free(scratch);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        long long m, n, k;
        if (strcmp(argv[i], "--kernel") == 0 && i + 1 < argc) {
            if (!esm_sgemm_select(argv[++i])) {
                fprintf(stderr, "bench_gemm: kernel '%s' is unknown or unsupported here\n", argv[i]);
                return 2;
            }
            continue;
        }
        if (sscanf(argv[i], "%lld,%lld,%lld", &m, &n, &k) != 3) m = n = k = atoll(argv[i]);
        if (m <= 0 || n <= 0 || k <= 0) {
            fprintf(stderr, "bench_gemm: bad size '%s'\n", argv[i]);
            return 2;
        }
        run(m, n, k);
    }
    return 0;
}
