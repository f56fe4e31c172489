/* recurrent.c - lstm: one LSTM layer-direction over a whole sequence (eager/ops/recurrent.py).
 *
 * Inputs x (T, B, I), h0 and c0 (B, H), weight_ih (4H, I), weight_hh (4H, H), optional
 * bias_ih and bias_hh (4H); outputs every step's h (T, B, H), h_T and c_T (B, H); PyTorch's gate
 * order (i, f, g, o). ONNX Runtime's way: the input projection of every step is one matrix
 * product into scratch (rows start as b_ih + b_hh), then each step adds h_(t-1) W_hh^T to its
 * rows and applies the cell in one pass. Products are the packed SGEMM for float32 when they are
 * big enough to pay for its packing; otherwise (and for float64) rows of "out += a_p * W^T[p]"
 * over a transposed copy of the weight, a loop over 4H contiguous elements that vectorizes.
 * The running c lives in the c_T output, each step's h in the outputs, so the loop allocates and
 * copies nothing. Serial: one step is too small to split over threads, and steps depend on each
 * other (the float32 input projection, the one large product, may use the session's threads). */
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "kernels.h"
#include "kutil.h"
#include "vmath.h"

/* Below this many multiply-adds the SGEMM's packing costs more than it saves. */
#define SGEMM_MIN_MACS 4096
/* Below this many cells (T * B * H, ~25 ns each) waking threads costs more than it saves. */
#define PARALLEL_MIN_CELLS 4096

typedef struct lstm_dims {
    int64_t steps, batch, features, hidden, gates; /* gates = 4 * hidden */
} lstm_dims;

typedef struct lstm_scratch {
    void *gates;      /* (T * B, 4H): pre-activations of every step */
    void *wt_ih;      /* (I, 4H): weight_ih transposed, gates reordered (see gate_column) */
    void *wt_hh;      /* (H, 4H) */
    void *gemm;       /* the SGEMM's packing buffers */
    int64_t parts, rows_per_part; /* the recurrence's split over batch rows */
    size_t per_part;  /* SGEMM packing bytes per part */
} lstm_scratch;

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

static double sigmoid_f64(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* Scratch holds the gates in the order (i, f, o, g), not the weights' (i, f, g, o), with the g
 * rows of the weights and biases doubled (exact in binary floating point): then one sigmoid
 * loop over the whole row activates every gate, since tanh(x) = 2 sigmoid(2x) - 1, and the
 * loops stay simple enough to vectorize (one loop holding all five activations does not). */
static int64_t gate_column(int64_t row, int64_t hidden)
{
    static const int64_t POSITION[4] = {0, 1, 3, 2};
    return POSITION[row / hidden] * hidden + row % hidden;
}

static int gate_scale(int64_t row, int64_t hidden) { return row / hidden == 2 ? 2 : 1; }

/* The typed loops, reached through void pointers so that eval is written once. */
typedef struct lstm_loops {
    /* out[r][:] += sum_p a[r][p] * wt[p][:] (a product against a transposed weight) */
    void (*addmul)(const void *a, int64_t rows, int64_t k, const void *wt, int64_t n, void *out);
    /* one batch row: g the pre-activations (i, f, o, 2g blocks of n, activated in place); c
     * updated, h written */
    void (*cell)(void *g, void *c, void *h, int64_t n);
    /* wt[c][gate_column(r)] = gate_scale(r) * w[r][c] for w (4H, cols) */
    void (*pack)(const void *w, int64_t hidden, int64_t cols, void *wt);
    /* every row of out = b_ih + b_hh (absent biases are zero), columns in scratch's gate order */
    void (*bias_rows)(const void *b_ih, const void *b_hh, int64_t rows, int64_t hidden, void *out);
} lstm_loops;

/* The arithmetic loops. `restrict` parameters (GCC ignores it on local pointers) let them
 * vectorize without alias checks. */
#define LSTM_MATH(S, T, SIGMOID)                                                                     \
    static void addmul_rows_##S(const T *restrict a, int64_t rows, int64_t k, const T *restrict wt, \
                                     int64_t n, T *restrict out)                                     \
    {                                                                                                \
        int64_t r, p, j;                                                                             \
        for (r = 0; r < rows; r++)                                                                   \
            for (p = 0; p < k; p++) {                                                                \
                T v = a[r * k + p];                                                                  \
                for (j = 0; j < n; j++) out[r * n + j] += v * wt[p * n + j];                         \
            }                                                                                        \
    }                                                                                                \
    static void addmul_##S(const void *a, int64_t rows, int64_t k, const void *wt, int64_t n, void *out) \
    {                                                                                                \
        addmul_rows_##S(a, rows, k, wt, n, out);                                                     \
    }                                                                                                \
    static void cell_row_##S(T *restrict g, T *restrict c, T *restrict h, int64_t n)            \
    {                                                                                                \
        int64_t j;                                                                                   \
        for (j = 0; j < 4 * n; j++) g[j] = SIGMOID(g[j]);                                            \
        for (j = 0; j < n; j++) {                                                                    \
            T cell = g[n + j] * c[j] + g[j] * (2 * g[3 * n + j] - 1);                                \
            c[j] = cell;                                                                             \
            h[j] = g[2 * n + j] * (2 * SIGMOID(2 * cell) - 1);                                       \
        }                                                                                            \
    }                                                                                                \
    static void cell_##S(void *g, void *c, void *h, int64_t n) { cell_row_##S(g, c, h, n); }

/* Data movement (no arithmetic worth a wider ISA). */
#define LSTM_MOVES(S, T)                                                                             \
    static void pack_##S(const void *w_, int64_t hidden, int64_t cols, void *wt_)                    \
    {                                                                                                \
        const T *w = w_;                                                                             \
        T *wt = wt_;                                                                                 \
        int64_t r, c;                                                                                \
        for (r = 0; r < 4 * hidden; r++)                                                             \
            for (c = 0; c < cols; c++)                                                               \
                wt[c * 4 * hidden + gate_column(r, hidden)] = (T)gate_scale(r, hidden) * w[r * cols + c]; \
    }                                                                                                \
    static void bias_rows_##S(const void *b_ih_, const void *b_hh_, int64_t rows, int64_t hidden, void *out_) \
    {                                                                                                \
        const T *b_ih = b_ih_, *b_hh = b_hh_;                                                        \
        T *out = out_;                                                                               \
        int64_t r, j;                                                                                \
        for (j = 0; j < 4 * hidden; j++)                                                             \
            out[gate_column(j, hidden)] = (T)gate_scale(j, hidden) * ((b_ih ? b_ih[j] : (T)0) + (b_hh ? b_hh[j] : (T)0)); \
        for (r = 1; r < rows; r++) memcpy(out + r * 4 * hidden, out, (size_t)(4 * hidden) * sizeof(T)); \
    }

LSTM_MATH(f32, float, esm_sigmoidf)
LSTM_MATH(f64, double, sigmoid_f64)
LSTM_MOVES(f32, float)
LSTM_MOVES(f64, double)
static const lstm_loops LOOPS_F32 = {addmul_f32, cell_f32, pack_f32, bias_rows_f32};
static const lstm_loops LOOPS_F64 = {addmul_f64, cell_f64, pack_f64, bias_rows_f64};


static esm_status lstm_dims_of(esm_node_ctx *ctx, lstm_dims *d)
{
    const esm_tensor *x = ctx->inputs[0], *h0 = ctx->inputs[1], *c0 = ctx->inputs[2];
    const esm_tensor *w_ih = ctx->inputs[3], *w_hh = ctx->inputs[4];
    char sx[96], sh[96], sc[96], si[96], sw[96];
    int32_t i;
    ESM_TRY(esm_check_arity(ctx, 5, 7));
    if (ctx->num_outputs != 3) return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "has %d outputs, expected 3", (int)ctx->num_outputs);
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    for (i = 1; i < 5; i++) ESM_TRY(esm_check_dtype(ctx, i, 1u << x->dtype));
    for (i = 5; i < ctx->num_inputs; i++)
        if (ctx->inputs[i]) ESM_TRY(esm_check_dtype(ctx, i, 1u << x->dtype));
    d->steps = x->ndim == 3 ? x->shape[0] : -1;
    d->batch = x->ndim == 3 ? x->shape[1] : -1;
    d->features = x->ndim == 3 ? x->shape[2] : -1;
    d->hidden = h0->ndim == 2 ? h0->shape[1] : -1;
    d->gates = 4 * d->hidden;
    int ok = x->ndim == 3 && h0->ndim == 2 && h0->shape[0] == d->batch && c0->ndim == 2 &&
             c0->shape[0] == d->batch && c0->shape[1] == d->hidden && w_ih->ndim == 2 &&
             w_ih->shape[0] == d->gates && w_ih->shape[1] == d->features && w_hh->ndim == 2 &&
             w_hh->shape[0] == d->gates && w_hh->shape[1] == d->hidden;
    for (i = 5; i < ctx->num_inputs; i++)
        ok &= !ctx->inputs[i] || (ctx->inputs[i]->ndim == 1 && ctx->inputs[i]->shape[0] == d->gates);
    if (!ok)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "expects x (T, B, I), h0 and c0 (B, H), weights (4H, I) and (4H, H), "
                               "biases (4H); got %s, %s, %s, %s, %s", esm_shape_str(x, sx, sizeof sx),
                               esm_shape_str(h0, sh, sizeof sh), esm_shape_str(c0, sc, sizeof sc),
                               esm_shape_str(w_ih, si, sizeof si), esm_shape_str(w_hh, sw, sizeof sw));
    return ESM_OK;
}

static int use_sgemm(esm_dtype dtype, int64_t rows, int64_t k, int64_t n)
{
    return dtype == ESM_FLOAT32 && rows * k * n >= SGEMM_MIN_MACS;
}

/* The recurrence splits over batch rows (independent for the whole sequence: one fork-join
 * per run, not per step) into this many parts; tiny work stays on the calling thread. */
static int64_t lstm_parts(const esm_node_ctx *ctx, const lstm_dims *d)
{
    int64_t parts = ctx->num_threads < d->batch ? ctx->num_threads : d->batch;
    return parts > 1 && d->steps * d->batch * d->hidden >= PARALLEL_MIN_CELLS ? parts : 1;
}

/* Scratch regions in order: gates, wt_ih, wt_hh, SGEMM packing (each 64-byte aligned: the
 * projection's, or one per part of the recurrence); returns the bytes they need and, when `s`
 * is given, points its regions into ctx->scratch. */
static size_t lstm_layout(const esm_node_ctx *ctx, const lstm_dims *d, esm_dtype dtype, lstm_scratch *s)
{
    size_t elem = esm_dtype_size(dtype), gemm = 0;
    size_t gates = align64((size_t)(d->steps * d->batch * d->gates) * elem);
    size_t wt_ih = align64((size_t)(d->features * d->gates) * elem);
    size_t wt_hh = align64((size_t)(d->hidden * d->gates) * elem);
    int64_t parts = lstm_parts(ctx, d), rows = (d->batch + parts - 1) / parts;
    s->parts = parts;
    s->rows_per_part = rows;
    s->per_part = 0;
    if (dtype == ESM_FLOAT32) {
        size_t proj = esm_sgemm_scratch_threads(ctx, d->steps * d->batch, d->gates, d->features);
        s->per_part = align64(esm_sgemm_scratch(rows, d->gates, d->hidden));
        gemm = proj > s->per_part * (size_t)parts ? proj : s->per_part * (size_t)parts;
    }
    s->gates = s->wt_ih = s->wt_hh = s->gemm = NULL;
    if (ctx->scratch) {
        unsigned char *base = ctx->scratch;
        s->gates = base;
        s->wt_ih = base + gates;
        s->wt_hh = base + gates + wt_ih;
        s->gemm = base + gates + wt_ih + wt_hh;
    }
    return gates + wt_ih + wt_hh + gemm;
}

static esm_status lstm_prepare(esm_node_ctx *ctx)
{
    lstm_dims d;
    lstm_scratch s;
    int64_t seq[3], state[2];
    esm_dtype dtype;
    ESM_TRY(lstm_dims_of(ctx, &d));
    dtype = ctx->inputs[0]->dtype;
    seq[0] = d.steps, seq[1] = d.batch, seq[2] = d.hidden;
    state[0] = d.batch, state[1] = d.hidden;
    esm_set_output(ctx->outputs[0], dtype, 3, seq);
    esm_set_output(ctx->outputs[1], dtype, 2, state);
    esm_set_output(ctx->outputs[2], dtype, 2, state);
    ctx->scratch_bytes = lstm_layout(ctx, &d, dtype, &s);
    return ESM_OK;
}

/* out (rows, n) += a (rows, k) wt for wt (k, n). */
static void product(const esm_node_ctx *ctx, const lstm_loops *loops, esm_dtype dtype, const void *a, int64_t rows,
                    int64_t k, const void *wt, int64_t n, void *out, void *gemm_scratch, int threaded)
{
    if (use_sgemm(dtype, rows, k, n)) {
        esm_gemm g = {0};
        g.m = rows, g.n = n, g.k = k;
        g.a = (const float *)a, g.a_rs = k, g.a_cs = 1;
        g.b = (const float *)wt, g.b_rs = n, g.b_cs = 1;
        g.c = (float *)out, g.ldc = n;
        g.accumulate = 1;
        if (threaded) esm_sgemm_run(ctx, &g, gemm_scratch);
        else esm_sgemm(&g, gemm_scratch);
    } else {
        loops->addmul(a, rows, k, wt, n, out);
    }
}

/* What every part of the recurrence reads. */
typedef struct lstm_job {
    const esm_node_ctx *ctx;
    const lstm_loops *loops;
    lstm_dims d;
    lstm_scratch s;
    esm_dtype dtype;
    size_t elem;
} lstm_job;

/* Every step for batch rows [lo, hi): each step's gates += h_(t-1) W_hh^T, then the cell. */
static void recur_rows(const lstm_job *job, int64_t lo, int64_t hi, void *gemm_scratch)
{
    const lstm_dims *d = &job->d;
    const esm_node_ctx *ctx = job->ctx;
    size_t row_bytes = (size_t)d->hidden * job->elem, gate_bytes = (size_t)d->gates * job->elem;
    unsigned char *y = ctx->outputs[0]->data, *c = (unsigned char *)ctx->outputs[2]->data + (size_t)lo * row_bytes;
    int64_t t, b;
    for (t = 0; t < d->steps; t++) {
        const unsigned char *h_prev = t ? y + (size_t)((t - 1) * d->batch + lo) * row_bytes
                                        : (const unsigned char *)ctx->inputs[1]->data + (size_t)lo * row_bytes;
        unsigned char *g = (unsigned char *)job->s.gates + (size_t)(t * d->batch + lo) * gate_bytes;
        unsigned char *h = y + (size_t)(t * d->batch + lo) * row_bytes;
        product(ctx, job->loops, job->dtype, h_prev, hi - lo, d->hidden, job->s.wt_hh, d->gates, g, gemm_scratch, 0);
        for (b = 0; b < hi - lo; b++)
            job->loops->cell(g + (size_t)b * gate_bytes, c + (size_t)b * row_bytes, h + (size_t)b * row_bytes, d->hidden);
    }
}

static void recur_parts(void *arg, int64_t begin, int64_t end)
{
    const lstm_job *job = arg;
    int64_t part;
    for (part = begin; part < end; part++) {
        int64_t lo = part * job->s.rows_per_part;
        int64_t hi = lo + job->s.rows_per_part < job->d.batch ? lo + job->s.rows_per_part : job->d.batch;
        if (lo < hi) recur_rows(job, lo, hi, (unsigned char *)job->s.gemm + (size_t)part * job->s.per_part);
    }
}

static esm_status lstm_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    const void *b_ih = ctx->num_inputs > 5 && ctx->inputs[5] ? ctx->inputs[5]->data : NULL;
    const void *b_hh = ctx->num_inputs > 6 && ctx->inputs[6] ? ctx->inputs[6]->data : NULL;
    lstm_job job;
    size_t state_bytes;
    ESM_TRY(lstm_dims_of(ctx, &job.d));
    job.ctx = ctx;
    job.dtype = x->dtype;
    job.elem = esm_dtype_size(x->dtype);
    job.loops = x->dtype == ESM_FLOAT32 ? &LOOPS_F32 : &LOOPS_F64;
    lstm_layout(ctx, &job.d, x->dtype, &job.s);
    state_bytes = (size_t)(job.d.batch * job.d.hidden) * job.elem;
    job.loops->pack(ctx->inputs[3]->data, job.d.hidden, job.d.features, job.s.wt_ih);
    job.loops->pack(ctx->inputs[4]->data, job.d.hidden, job.d.hidden, job.s.wt_hh);
    job.loops->bias_rows(b_ih, b_hh, job.d.steps * job.d.batch, job.d.hidden, job.s.gates);
    product(ctx, job.loops, x->dtype, x->data, job.d.steps * job.d.batch, job.d.features, job.s.wt_ih, job.d.gates,
            job.s.gates, job.s.gemm, 1);
    if (state_bytes) memcpy(ctx->outputs[2]->data, ctx->inputs[2]->data, state_bytes);
    esm_parallel_for(ctx, job.s.parts, 1, recur_parts, &job);
    if (state_bytes)
        memcpy(ctx->outputs[1]->data,
               job.d.steps ? (const void *)((unsigned char *)ctx->outputs[0]->data + (size_t)(job.d.steps - 1) * state_bytes)
                           : ctx->inputs[1]->data,
               state_bytes);
    return ESM_OK;
}

const esm_kernel esm_k_lstm = {"lstm", lstm_prepare, lstm_eval};
