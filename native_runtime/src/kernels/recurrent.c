/* recurrent.c - lstm and gru: one recurrent layer-direction over a whole sequence
 * (eager/ops/recurrent.py; PyTorch's gate orders (i, f, g, o) and (r, z, n)).
 *
 * lstm: x (T, B, I), h0, c0 (B, H), weight_ih (4H, I), weight_hh (4H, H), optional bias_ih and
 * bias_hh (4H) -> every step's h (T, B, H), h_T, c_T. gru: x, h0, weight_ih (3H, I), weight_hh
 * (3H, H), optional biases (3H) -> every step's h, h_T.
 *
 * ONNX Runtime's way: the input projection of every step is one matrix product into scratch
 * (rows start as the biases), then each step adds h_(t-1) W_hh^T (gru: into a row buffer of its
 * own, since r scales W_hn h + b_hn) and applies the cell. Products are the packed SGEMM for
 * float32 when big enough to pay for its packing; otherwise (and for float64) rows of
 * "out += a_p * W^T[p]" over a transposed copy of the weight, loops that vectorize. Each step's
 * h is written straight into the outputs and lstm's running c lives in the c_T output. Batch
 * rows are independent for the whole sequence, so the recurrence splits over them on the
 * session's threads (one fork-join per run) when there is enough work. */
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

typedef struct rnn_dims {
    int lstm;        /* 1: lstm, 0: gru */
    int32_t states;  /* state inputs after x: 2 (h0, c0) or 1 (h0); the weights follow */
    int64_t steps, batch, features, hidden, gates; /* gates = 4H or 3H */
} rnn_dims;

typedef struct rnn_scratch {
    void *gates;     /* (T * B, gates): input projections (lstm: plus the recurrent part) */
    void *wt_ih;     /* (I, gates): weight_ih transposed and packed (see gate_column) */
    void *wt_hh;     /* (H, gates) */
    void *bias_hh;   /* gru: (gates) packed b_hh, the start of every recurrent row */
    void *rows;      /* gru: per part, (rows_per_part, gates) recurrent projections */
    void *gemm;      /* SGEMM packing: the projection's, or one area per part */
    int64_t parts, rows_per_part; /* the recurrence's split over batch rows */
    size_t per_part, rows_per_part_bytes;
} rnn_scratch;

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

static double sigmoid_f64(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* Scratch holds lstm's gates in the order (i, f, o, g), not the weights' (i, f, g, o), so the
 * sigmoid gates are one run per batch row; gru keeps (r, z, n). The tanh gate (lstm's g, gru's
 * n) has its weight and bias rows doubled (exact in binary floating point), since
 * tanh(x) = 2 sigmoid(2x) - 1: every activation is then a sigmoid, in loops simple enough to
 * vectorize (one loop holding all five of lstm's activations does not). */
static int64_t gate_column(const rnn_dims *d, int64_t row)
{
    static const int64_t POSITION[4] = {0, 1, 3, 2};
    int64_t gate = row / d->hidden;
    return (d->lstm ? POSITION[gate] : gate) * d->hidden + row % d->hidden;
}

static int gate_scale(const rnn_dims *d, int64_t row) { return row / d->hidden == 2 ? 2 : 1; }

/* The typed loops, reached through void pointers so that eval is written once. */
typedef struct rnn_loops {
    /* out[r][:] += sum_p a[r][p] * wt[p][:] (a product against a transposed weight) */
    void (*addmul)(const void *a, int64_t rows, int64_t k, const void *wt, int64_t n, void *out);
    /* one step of `rows` batch rows; g: rows of (i, f, o, 2g) pre-activations (overwritten);
     * c updated, h written */
    void (*lstm_step)(void *g, void *c, void *h, int64_t rows, int64_t n);
    /* one step of `rows` batch rows; gi: rows of (r, z, 2n) input parts (overwritten); gh: the
     * recurrent parts */
    void (*gru_step)(void *gi, const void *gh, const void *h_prev, void *h, int64_t rows, int64_t n);
    /* wt[c][gate_column(r)] = gate_scale(r) * w[r][c] for w (gates, cols) */
    void (*pack)(const rnn_dims *d, const void *w, int64_t cols, void *wt);
    /* every row of out = b1 + b2 packed like the weights (absent biases are zero) */
    void (*bias_rows)(const rnn_dims *d, const void *b1, const void *b2, int64_t rows, void *out);
} rnn_loops;

/* The arithmetic loops. `restrict` parameters (GCC ignores it on local pointers) let them
 * vectorize without alias checks. Every activation goes through the one sigmoid loop (its
 * inlined exp is most of the code), applied in place. */
#define RNN_MATH(S, T, SIGMOID)                                                                       \
    static void addmul_rows_##S(const T *restrict a, int64_t rows, int64_t k, const T *restrict wt,  \
                                int64_t n, T *restrict out)                                           \
    {                                                                                                 \
        int64_t r, p, j;                                                                              \
        for (r = 0; r < rows; r++)                                                                    \
            for (p = 0; p < k; p++) {                                                                 \
                T v = a[r * k + p];                                                                   \
                for (j = 0; j < n; j++) out[r * n + j] += v * wt[p * n + j];                          \
            }                                                                                         \
    }                                                                                                 \
    static void addmul_##S(const void *a, int64_t rows, int64_t k, const void *wt, int64_t n, void *out) \
    {                                                                                                 \
        addmul_rows_##S(a, rows, k, wt, n, out);                                                      \
    }                                                                                                 \
    static void sigmoid_run_##S(T *restrict v, int64_t count)                                         \
    {                                                                                                 \
        int64_t j;                                                                                    \
        for (j = 0; j < count; j++) v[j] = SIGMOID(v[j]);                                             \
    }                                                                                                 \
    /* c' = f c + i tanh(g); h = o tanh(c'), tanh(x) = 2 sigmoid(2x) - 1 through h */               \
    static void lstm_rows_##S(T *restrict g, T *restrict c, T *restrict h, int64_t rows, int64_t n) \
    {                                                                                                 \
        int64_t r, j;                                                                                 \
        sigmoid_run_##S(g, rows * 4 * n);                                                             \
        for (r = 0; r < rows; r++)                                                                    \
            for (j = 0; j < n; j++) {                                                                 \
                const T *gr = g + r * 4 * n;                                                          \
                T cell = gr[n + j] * c[r * n + j] + gr[j] * (2 * gr[3 * n + j] - 1);                  \
                c[r * n + j] = cell;                                                                  \
                h[r * n + j] = 2 * cell;                                                              \
            }                                                                                         \
        sigmoid_run_##S(h, rows * n);                                                                 \
        for (r = 0; r < rows; r++)                                                                    \
            for (j = 0; j < n; j++) h[r * n + j] = g[r * 4 * n + 2 * n + j] * (2 * h[r * n + j] - 1);  \
    }                                                                                                 \
    static void lstm_step_##S(void *g, void *c, void *h, int64_t rows, int64_t n)                    \
    {                                                                                                 \
        lstm_rows_##S(g, c, h, rows, n);                                                              \
    }                                                                                                 \
    /* r, z = sigmoid(gi + gh); n = tanh(gi_n + r gh_n) (doubled: 2 sigmoid - 1); h = (1 - z) n + z h */ \
    static void gru_rows_##S(T *restrict gi, const T *restrict gh, const T *restrict h_prev, T *restrict h, \
                             int64_t rows, int64_t n)                                                 \
    {                                                                                                 \
        int64_t r, j;                                                                                 \
        for (r = 0; r < rows; r++) {                                                                  \
            T *g = gi + r * 3 * n;                                                                    \
            const T *q = gh + r * 3 * n;                                                              \
            for (j = 0; j < 2 * n; j++) g[j] += q[j];                                                 \
            sigmoid_run_##S(g, 2 * n);                                                                \
            for (j = 0; j < n; j++) g[2 * n + j] += g[j] * q[2 * n + j];                              \
            sigmoid_run_##S(g + 2 * n, n);                                                            \
            for (j = 0; j < n; j++)                                                                   \
                h[r * n + j] = (1 - g[n + j]) * (2 * g[2 * n + j] - 1) + g[n + j] * h_prev[r * n + j]; \
        }                                                                                             \
    }                                                                                                 \
    static void gru_step_##S(void *gi, const void *gh, const void *h_prev, void *h, int64_t rows, int64_t n) \
    {                                                                                                 \
        gru_rows_##S(gi, gh, h_prev, h, rows, n);                                                     \
    }

/* Data movement (run once per eval, not per step). */
#define RNN_MOVES(S, T)                                                                               \
    static void pack_##S(const rnn_dims *d, const void *w_, int64_t cols, void *wt_)                  \
    {                                                                                                 \
        const T *w = w_;                                                                              \
        T *wt = wt_;                                                                                  \
        int64_t r, c;                                                                                 \
        for (r = 0; r < d->gates; r++)                                                                \
            for (c = 0; c < cols; c++) wt[c * d->gates + gate_column(d, r)] = (T)gate_scale(d, r) * w[r * cols + c]; \
    }                                                                                                 \
    static void bias_rows_##S(const rnn_dims *d, const void *b1_, const void *b2_, int64_t rows, void *out_) \
    {                                                                                                 \
        const T *b1 = b1_, *b2 = b2_;                                                                 \
        T *out = out_;                                                                                \
        int64_t r, j;                                                                                 \
        if (rows < 1) return;                                                                         \
        for (j = 0; j < d->gates; j++)                                                                \
            out[gate_column(d, j)] = (T)gate_scale(d, j) * ((b1 ? b1[j] : (T)0) + (b2 ? b2[j] : (T)0)); \
        for (r = 1; r < rows; r++) memcpy(out + r * d->gates, out, (size_t)d->gates * sizeof(T));     \
    }

RNN_MATH(f32, float, esm_sigmoidf)
RNN_MATH(f64, double, sigmoid_f64)
RNN_MOVES(f32, float)
RNN_MOVES(f64, double)
static const rnn_loops LOOPS_F32 = {addmul_f32, lstm_step_f32, gru_step_f32, pack_f32, bias_rows_f32};
static const rnn_loops LOOPS_F64 = {addmul_f64, lstm_step_f64, gru_step_f64, pack_f64, bias_rows_f64};

static esm_status rnn_dims_of(esm_node_ctx *ctx, rnn_dims *d)
{
    const esm_tensor *x = ctx->inputs[0], *h0 = ctx->inputs[1], *w_ih, *w_hh;
    int32_t i, first_bias;
    int ok;
    char sx[96], sh[96], si[96], sw[96];
    d->lstm = strcmp(ctx->op, "lstm") == 0;
    d->states = d->lstm ? 2 : 1;
    first_bias = d->states + 3;
    ESM_TRY(esm_check_arity(ctx, first_bias, first_bias + 2));
    if (ctx->num_outputs != d->states + 1)
        return esm_kernel_fail(ctx, ESM_ERR_INVALID_MODEL, "has %d outputs, expected %d", (int)ctx->num_outputs, (int)d->states + 1);
    ESM_TRY(esm_check_dtype(ctx, 0, ESM_FLOATS));
    for (i = 1; i < ctx->num_inputs; i++)
        if (i < first_bias || ctx->inputs[i]) ESM_TRY(esm_check_dtype(ctx, i, 1u << x->dtype));
    w_ih = ctx->inputs[d->states + 1];
    w_hh = ctx->inputs[d->states + 2];
    d->steps = x->ndim == 3 ? x->shape[0] : -1;
    d->batch = x->ndim == 3 ? x->shape[1] : -1;
    d->features = x->ndim == 3 ? x->shape[2] : -1;
    d->hidden = h0->ndim == 2 ? h0->shape[1] : -1;
    d->gates = (d->lstm ? 4 : 3) * d->hidden;
    ok = x->ndim == 3 && w_ih->ndim == 2 && w_ih->shape[0] == d->gates && w_ih->shape[1] == d->features &&
         w_hh->ndim == 2 && w_hh->shape[0] == d->gates && w_hh->shape[1] == d->hidden;
    for (i = 1; i <= d->states; i++)
        ok &= ctx->inputs[i]->ndim == 2 && ctx->inputs[i]->shape[0] == d->batch && ctx->inputs[i]->shape[1] == d->hidden;
    for (i = first_bias; i < ctx->num_inputs; i++)
        ok &= !ctx->inputs[i] || (ctx->inputs[i]->ndim == 1 && ctx->inputs[i]->shape[0] == d->gates);
    if (!ok)
        return esm_kernel_fail(ctx, ESM_ERR_SHAPE, "expects x (T, B, I), states (B, H), weights (%dH, I) and (%dH, H), "
                               "biases (%dH); got x %s, h0 %s, weights %s and %s", d->lstm ? 4 : 3, d->lstm ? 4 : 3,
                               d->lstm ? 4 : 3, esm_shape_str(x, sx, sizeof sx), esm_shape_str(h0, sh, sizeof sh),
                               esm_shape_str(w_ih, si, sizeof si), esm_shape_str(w_hh, sw, sizeof sw));
    return ESM_OK;
}

static int use_sgemm(esm_dtype dtype, int64_t rows, int64_t k, int64_t n)
{
    return dtype == ESM_FLOAT32 && rows * k * n >= SGEMM_MIN_MACS;
}

/* Scratch regions, each 64-byte aligned: gates, wt_ih, wt_hh, bias_hh, rows (per part), SGEMM
 * packing (the projection's, or one area per part of the recurrence). Returns the bytes they
 * need; once ctx->scratch is there, points s's regions into it. */
static size_t rnn_layout(const esm_node_ctx *ctx, const rnn_dims *d, esm_dtype dtype, rnn_scratch *s)
{
    size_t elem = esm_dtype_size(dtype), sizes[5], at = 0, gemm = 0;
    void **regions[5];
    int64_t parts = ctx->num_threads < d->batch ? ctx->num_threads : d->batch;
    int i;
    s->parts = parts > 1 && d->steps * d->batch * d->hidden >= PARALLEL_MIN_CELLS ? parts : 1;
    s->rows_per_part = s->parts > 1 ? (d->batch + s->parts - 1) / s->parts : d->batch;
    s->rows_per_part_bytes = d->lstm ? 0 : align64((size_t)(s->rows_per_part * d->gates) * elem);
    s->per_part = dtype == ESM_FLOAT32 ? align64(esm_sgemm_scratch(s->rows_per_part, d->gates, d->hidden)) : 0;
    if (dtype == ESM_FLOAT32) {
        size_t proj = esm_sgemm_scratch_threads(ctx, d->steps * d->batch, d->gates, d->features);
        gemm = proj > s->per_part * (size_t)s->parts ? proj : s->per_part * (size_t)s->parts;
    }
    sizes[0] = align64((size_t)(d->steps * d->batch * d->gates) * elem);
    sizes[1] = align64((size_t)(d->features * d->gates) * elem);
    sizes[2] = align64((size_t)(d->hidden * d->gates) * elem);
    sizes[3] = d->lstm ? 0 : align64((size_t)d->gates * elem);
    sizes[4] = s->rows_per_part_bytes * (size_t)s->parts;
    regions[0] = &s->gates, regions[1] = &s->wt_ih, regions[2] = &s->wt_hh, regions[3] = &s->bias_hh, regions[4] = &s->rows;
    for (i = 0; i < 5; i++) {
        *regions[i] = ctx->scratch ? (unsigned char *)ctx->scratch + at : NULL;
        at += sizes[i];
    }
    s->gemm = ctx->scratch ? (unsigned char *)ctx->scratch + at : NULL;
    return at + gemm;
}

static esm_status rnn_prepare(esm_node_ctx *ctx)
{
    rnn_dims d;
    rnn_scratch s;
    int64_t seq[3], state[2];
    int32_t i;
    ESM_TRY(rnn_dims_of(ctx, &d));
    seq[0] = d.steps, seq[1] = d.batch, seq[2] = d.hidden;
    state[0] = d.batch, state[1] = d.hidden;
    esm_set_output(ctx->outputs[0], ctx->inputs[0]->dtype, 3, seq);
    for (i = 1; i <= d.states; i++) esm_set_output(ctx->outputs[i], ctx->inputs[0]->dtype, 2, state);
    ctx->scratch_bytes = rnn_layout(ctx, &d, ctx->inputs[0]->dtype, &s);
    return ESM_OK;
}

/* What every part of the recurrence reads. */
typedef struct rnn_job {
    const esm_node_ctx *ctx;
    const rnn_loops *loops;
    rnn_dims d;
    rnn_scratch s;
    esm_dtype dtype;
    size_t elem;
} rnn_job;

/* out (rows, gates) += a (rows, k) wt for wt (k, gates); `threaded`: the input projection of
 * every step, which may use the session's threads. */
static void product(const rnn_job *job, const void *a, int64_t rows, int64_t k, const void *wt, void *out,
                    void *gemm_scratch, int threaded)
{
    int64_t n = job->d.gates;
    if (use_sgemm(job->dtype, rows, k, n)) {
        esm_gemm g = {0};
        g.m = rows, g.n = n, g.k = k;
        g.a = (const float *)a, g.a_rs = k, g.a_cs = 1;
        g.b = (const float *)wt, g.b_rs = n, g.b_cs = 1;
        g.c = (float *)out, g.ldc = n;
        g.accumulate = 1;
        if (threaded) esm_sgemm_run(job->ctx, &g, gemm_scratch);
        else esm_sgemm(&g, gemm_scratch);
    } else {
        job->loops->addmul(a, rows, k, wt, n, out);
    }
}

/* Every step for batch rows [lo, hi) of part `part`. */
static void recur_rows(const rnn_job *job, int64_t part, int64_t lo, int64_t hi)
{
    const rnn_dims *d = &job->d;
    const esm_node_ctx *ctx = job->ctx;
    size_t row_bytes = (size_t)d->hidden * job->elem, gate_bytes = (size_t)d->gates * job->elem;
    unsigned char *y = ctx->outputs[0]->data, *c = (unsigned char *)ctx->outputs[d->states]->data + (size_t)lo * row_bytes;
    unsigned char *gemm = (unsigned char *)job->s.gemm + (size_t)part * job->s.per_part;
    unsigned char *rows = (unsigned char *)job->s.rows + (size_t)part * job->s.rows_per_part_bytes;
    int64_t t, b, count = hi - lo;
    for (t = 0; t < d->steps; t++) {
        const unsigned char *h_prev = t ? y + (size_t)((t - 1) * d->batch + lo) * row_bytes
                                        : (const unsigned char *)ctx->inputs[1]->data + (size_t)lo * row_bytes;
        unsigned char *g = (unsigned char *)job->s.gates + (size_t)(t * d->batch + lo) * gate_bytes;
        unsigned char *h = y + (size_t)(t * d->batch + lo) * row_bytes;
        if (d->lstm) {
            product(job, h_prev, count, d->hidden, job->s.wt_hh, g, gemm, 0);
            job->loops->lstm_step(g, c, h, count, d->hidden);
            continue;
        }
        for (b = 0; b < count; b++) memcpy(rows + (size_t)b * gate_bytes, job->s.bias_hh, gate_bytes);
        product(job, h_prev, count, d->hidden, job->s.wt_hh, rows, gemm, 0);
        job->loops->gru_step(g, rows, h_prev, h, count, d->hidden);
    }
}

static void recur_parts(void *arg, int32_t slot, int64_t begin, int64_t end)
{
    const rnn_job *job = arg;
    int64_t part;
    (void)slot; /* each part has its own scratch, so one thread may run several */
    for (part = begin; part < end; part++) {
        int64_t lo = part * job->s.rows_per_part;
        int64_t hi = lo + job->s.rows_per_part < job->d.batch ? lo + job->s.rows_per_part : job->d.batch;
        if (lo < hi) recur_rows(job, part, lo, hi);
    }
}

static esm_status rnn_eval(esm_node_ctx *ctx)
{
    const esm_tensor *x = ctx->inputs[0];
    const void *b_ih, *b_hh;
    rnn_job job;
    size_t state_bytes;
    int32_t first_bias;
    ESM_TRY(rnn_dims_of(ctx, &job.d));
    first_bias = job.d.states + 3;
    b_ih = ctx->num_inputs > first_bias && ctx->inputs[first_bias] ? ctx->inputs[first_bias]->data : NULL;
    b_hh = ctx->num_inputs > first_bias + 1 && ctx->inputs[first_bias + 1] ? ctx->inputs[first_bias + 1]->data : NULL;
    job.ctx = ctx;
    job.dtype = x->dtype;
    job.elem = esm_dtype_size(x->dtype);
    job.loops = x->dtype == ESM_FLOAT32 ? &LOOPS_F32 : &LOOPS_F64;
    rnn_layout(ctx, &job.d, x->dtype, &job.s);
    state_bytes = (size_t)(job.d.batch * job.d.hidden) * job.elem;
    job.loops->pack(&job.d, ctx->inputs[job.d.states + 1]->data, job.d.features, job.s.wt_ih);
    job.loops->pack(&job.d, ctx->inputs[job.d.states + 2]->data, job.d.hidden, job.s.wt_hh);
    /* lstm adds both biases to the projections; gru keeps b_hh for the recurrent rows */
    job.loops->bias_rows(&job.d, b_ih, job.d.lstm ? b_hh : NULL, job.d.steps * job.d.batch, job.s.gates);
    if (!job.d.lstm) job.loops->bias_rows(&job.d, b_hh, NULL, 1, job.s.bias_hh);
    product(&job, x->data, job.d.steps * job.d.batch, job.d.features, job.s.wt_ih, job.s.gates, job.s.gemm, 1);
    if (job.d.lstm && state_bytes) memcpy(ctx->outputs[2]->data, ctx->inputs[2]->data, state_bytes);
    esm_parallel_for(ctx, job.s.parts, 1, recur_parts, &job);
    if (state_bytes)
        memcpy(ctx->outputs[1]->data,
               job.d.steps ? (const void *)((unsigned char *)ctx->outputs[0]->data + (size_t)(job.d.steps - 1) * state_bytes)
                           : ctx->inputs[1]->data,
               state_bytes);
    return ESM_OK;
}

const esm_kernel esm_k_lstm = {"lstm", rnn_prepare, rnn_eval};
const esm_kernel esm_k_gru = {"gru", rnn_prepare, rnn_eval};
