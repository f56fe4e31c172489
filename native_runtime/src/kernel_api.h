/* kernel_api.h - the contract between the runtime core and the kernels (internal header).
 *
 * One op of the registry = one `esm_kernel` row (name, prepare, eval) in one small file under
 * src/kernels/. The core resolves every node's op name to a row once, at load
 * (esm_find_kernel), calls `prepare` during esm_session_prepare (shape/dtype inference for the
 * given input shapes, mirroring the Python registry's `infer`; the kernel may also ask for
 * scratch bytes), and `eval` in esm_session_run. Kernels never allocate: every output and the
 * scratch area live in the session's arena, planned by the core.
 */
#ifndef ESM_KERNEL_API_H
#define ESM_KERNEL_API_H

#include <stddef.h>
#include <stdint.h>

#include "esm.h"

#define ESM_MAX_DIMS 8

/* A tensor view: data is owned by the arena, the model's weights, or the caller's input. */
typedef struct esm_tensor {
    esm_dtype dtype;
    int32_t ndim;
    int64_t shape[ESM_MAX_DIMS];
    void *data;
} esm_tensor;

/* A typed attribute as stored in the file (see export/schema/esm.fbs). */
typedef enum esm_attr_kind {
    ESM_ATTR_NONE = 0, ESM_ATTR_INT, ESM_ATTR_FLOAT, ESM_ATTR_BOOL, ESM_ATTR_STRING,
    ESM_ATTR_INTS, ESM_ATTR_FLOATS, ESM_ATTR_DTYPE,
    ESM_ATTR_INPUT, /* in the file only: the value is node input `i`. The core resolves it before
                     * prepare (kernels see INT/FLOAT/BOOL/INTS/FLOATS and only the other inputs) */
    ESM_ATTR_ITEMS  /* in the file only: a nested tuple. The loader flattens it into INTS: ints and
                     * bools as they are, None as INT64_MIN, and an index term ("slice", 0, 16,
                     * None) as 4 ints [kind (select 0, slice 1, newaxis 2, tensor 3), a, b, c] */
} esm_attr_kind;

typedef struct esm_attr {
    const char *name;     /* points into the model file (NUL-terminated by FlatBuffers) */
    esm_attr_kind kind;
    int64_t i;            /* INT, BOOL (0/1), DTYPE (esm_dtype) */
    double f;             /* FLOAT */
    const char *s;        /* STRING */
    const int64_t *ints;  /* INTS (copied into the model at load: aligned, host-endian) */
    const double *floats; /* FLOATS (likewise) */
    int32_t count;        /* element count of INTS/FLOATS, length of STRING */
} esm_attr;

/* Everything a kernel sees of one node. Inputs may be NULL for omitted optional inputs
 * (e.g. linear's bias); `outputs` shapes/dtypes are filled by prepare and read by eval. */
typedef struct esm_node_ctx {
    const char *op;
    int32_t node_index;
    int32_t num_inputs;
    const esm_tensor *const *inputs;
    int32_t num_outputs;
    esm_tensor *const *outputs;
    int32_t num_attrs;
    const esm_attr *attrs;
    void *scratch;         /* eval only: `scratch_bytes` bytes requested by prepare */
    size_t scratch_bytes;  /* prepare sets it (0 by default) */
    int32_t num_threads;
    char *error;           /* ESM_ERROR_LEN bytes for a message naming what is wrong */
    void *pool;            /* the session's thread pool (read only when num_threads > 1) */
    uint32_t unused_outputs; /* bit i (i < 32): nothing reads output i, so eval may leave it
                              * unwritten (set by the core's memory planner after prepare) */
} esm_node_ctx;

#define ESM_ERROR_LEN 512

typedef esm_status (*esm_prepare_fn)(esm_node_ctx *ctx);
typedef esm_status (*esm_eval_fn)(esm_node_ctx *ctx);

typedef struct esm_kernel {
    const char *name; /* the registry op name, e.g. "conv2d" */
    esm_prepare_fn prepare;
    esm_eval_fn eval;
} esm_kernel;

/* The kernel table (src/kernels/registry.c) and lookup. */
const esm_kernel *esm_find_kernel(const char *name);
int32_t esm_kernel_count(void);
const esm_kernel *esm_kernel_at(int32_t index);

/* Attribute helpers (src/kernels/util.c): each returns the default when the attr is absent,
 * and ESM_ERR_INVALID_MODEL (with ctx->error set) when it is present with the wrong kind. */
esm_status esm_attr_int(esm_node_ctx *ctx, const char *name, int64_t dflt, int64_t *out);
esm_status esm_attr_float(esm_node_ctx *ctx, const char *name, double dflt, double *out);
esm_status esm_attr_ints(esm_node_ctx *ctx, const char *name, const int64_t **out, int32_t *count);
esm_status esm_attr_string(esm_node_ctx *ctx, const char *name, const char *dflt, const char **out);
const esm_attr *esm_attr_find(const esm_node_ctx *ctx, const char *name);
esm_status esm_kernel_fail(esm_node_ctx *ctx, esm_status status, const char *fmt, ...);
int64_t esm_numel(const esm_tensor *t);

/* Run fn(arg, slot, begin, end) over [0, n) split into chunks of at least `grain` items (about
 * four per thread when n allows), on the session's threads (esm_options.num_threads;
 * src/threads.c); a free thread claims the next chunk, so chunks may run in any order and a
 * thread may run several. `slot` (0 .. num_threads - 1) names the running thread, for per-thread
 * scratch; outputs must be indexed by item, never by slot. Returns when every chunk is done.
 * Serial (slot 0) when the session has one thread, in prepare, or when n <= grain. Never
 * allocates. */
typedef void (*esm_range_fn)(void *arg, int32_t slot, int64_t begin, int64_t end);
void esm_parallel_for(const esm_node_ctx *ctx, int64_t n, int64_t grain, esm_range_fn fn, void *arg);
size_t esm_dtype_size(esm_dtype dtype);

/* double -> int64 / int32 without C's undefined behavior for values out of range (a hostile
 * model or input may hold any): NaN gives 0, the rest saturates. */
static inline int64_t esm_saturate_i64(double v) {
    if (v != v) return 0;
    if (v >= 9223372036854775807.0) return INT64_MAX; /* the literal rounds to 2^63 */
    if (v <= -9223372036854775807.0 - 1.0) return INT64_MIN;
    return (int64_t)v;
}

static inline int32_t esm_saturate_i32(double v) {
    return v != v ? 0 : v >= 2147483647.0 ? INT32_MAX : v <= -2147483648.0 ? INT32_MIN : (int32_t)v;
}

#endif
