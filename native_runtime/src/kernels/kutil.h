/* kutil.h - helpers shared by the kernels (internal): checks that name the node, shape
 * arithmetic, and the broadcasting strided iterator every elementwise and reduction kernel
 * runs on (so no kernel copies a broadcast operand). */
#ifndef ESM_KUTIL_H
#define ESM_KUTIL_H

#include "../kernel_api.h"

/* Return the status of `expr` from the enclosing function when it is not ESM_OK. */
#define ESM_TRY(expr)                         \
    do {                                      \
        esm_status esm_try_ = (expr);         \
        if (esm_try_ != ESM_OK) return esm_try_; \
    } while (0)

/* Bit masks of dtypes, for esm_check_dtype. */
#define ESM_F32 (1u << ESM_FLOAT32)
#define ESM_F64 (1u << ESM_FLOAT64)
#define ESM_I32 (1u << ESM_INT32)
#define ESM_I64 (1u << ESM_INT64)
#define ESM_B8 (1u << ESM_BOOL)
#define ESM_FLOATS (ESM_F32 | ESM_F64)
#define ESM_INTS (ESM_I32 | ESM_I64)
#define ESM_NUMERIC (ESM_FLOATS | ESM_INTS)
#define ESM_ANY (ESM_NUMERIC | ESM_B8)

const char *esm_dtype_name(esm_dtype dtype);
/* "(2, 3, 4)" into buf (always NUL-terminated). */
const char *esm_shape_str(const esm_tensor *t, char *buf, size_t len);

/* Input count in [min, max] (NULL inputs count: they are omitted optional inputs). */
esm_status esm_check_arity(esm_node_ctx *ctx, int32_t min, int32_t max);
/* Input `i` present and of a dtype in `mask`. */
esm_status esm_check_dtype(esm_node_ctx *ctx, int32_t i, unsigned mask);
/* Inputs `first`..num_inputs-1 (the present ones) all have input `first`'s dtype. */
esm_status esm_check_same_dtype(esm_node_ctx *ctx, int32_t first);
/* dim in [-ndim, ndim) made non-negative (ndim 0 takes dims -1 and 0, as PyTorch). */
esm_status esm_normalize_dim(esm_node_ctx *ctx, int64_t dim, int32_t ndim, int32_t *out);
/* The INTS attribute `name` as a permutation of ndim dims (negative dims count from the end) into
 * perm; *present is 0 and perm the identity when the attribute is absent. A list of the wrong
 * length or one that repeats a dim fails the node. */
esm_status esm_attr_permutation(esm_node_ctx *ctx, const char *name, int32_t ndim, int32_t *perm, int *present);

/* A (h, w) pair from INTS of 2 (or one int for both); `dflt` for both when absent. */
esm_status esm_attr_pair(esm_node_ctx *ctx, const char *name, int64_t dflt, int64_t out[2]);
/* (top, bottom, left, right) from INTS of 4 (the file's (top, left, bottom, right), ONNX's
 * order, as eager/ops/conv.py) or of 2 (h, w: symmetric); zeros when absent. */
esm_status esm_attr_padding(esm_node_ctx *ctx, const char *name, int64_t out[4]);

/* A fused activation: the optional string attribute `activation` of linear, matmul and conv2d
 * ("none" when absent; "relu", "gelu", "gelu_tanh", "silu", "sigmoid", "tanh"), which the node
 * applies to its own output (jitscript's fuse_activation pass sets it). `*act` is 0 for none;
 * an unknown name, or one without a loop for input 0's dtype, fails the node. */
esm_status esm_attr_activation(esm_node_ctx *ctx, int *act);
/* Apply activation `act` (from esm_attr_activation; 0: nothing) to n elements in place, with the
 * same loops as the standalone op (unary.c). */
void esm_activation_apply(int act, esm_dtype dtype, void *data, int64_t n);
/* 1 when float activation `act` is x < lo ? lo : x (relu: lo = 0; NaN passes through, as its
 * loop), so a kernel may apply it inline with a bias; 0 otherwise (use esm_activation_apply). */
int esm_activation_lower_clamp(int act, float *lo);

void esm_set_output(esm_tensor *out, esm_dtype dtype, int32_t ndim, const int64_t *shape);
/* The broadcast of the present inputs' shapes into out (dtype left to the caller). */
esm_status esm_broadcast_into(esm_node_ctx *ctx, int32_t first, int32_t count, esm_tensor *out);

/* ---- the strided iterator --------------------------------------------------------------
 * Up to ESM_ITER_MAX_OPS operands share one iteration shape; each has its own byte strides
 * (0 along a broadcast dim). esm_iter_coalesce drops size-1 dims and merges dims that are
 * contiguous for every operand, so the inner loop runs over the longest possible run. */
#define ESM_ITER_MAX_OPS 4
#define ESM_ITER_MAX_DIMS (2 * ESM_MAX_DIMS) /* repeat views each dim as (copies, size) */

typedef struct esm_iter {
    int32_t ndim, nops;
    int64_t shape[ESM_ITER_MAX_DIMS];
    int64_t stride[ESM_ITER_MAX_OPS][ESM_ITER_MAX_DIMS];
    char *base[ESM_ITER_MAX_OPS];
} esm_iter;

/* The inner loop: n elements, ptr[k]/stride[k] of each operand for this run. */
typedef void (*esm_inner_fn)(int64_t n, char *const *ptr, const int64_t *stride, const void *user);

void esm_iter_init(esm_iter *it, int32_t ndim, const int64_t *shape);
/* An operand with explicit byte strides (ndim entries, aligned to the iteration's last dims). */
void esm_iter_add_strided(esm_iter *it, const void *data, int32_t ndim, const int64_t *stride);
/* A contiguous tensor broadcast to the iteration shape (its dims align to the right). */
void esm_iter_add(esm_iter *it, const esm_tensor *t);
void esm_iter_coalesce(esm_iter *it);
void esm_iter_run(const esm_iter *it, esm_inner_fn fn, const void *user);
/* Contiguous byte strides of t (0 for size-1 dims, so they broadcast). */
void esm_contiguous_strides(const esm_tensor *t, int64_t *stride);



/* Copies of `elem`-byte elements between two strided operands (operand 0 written). */
esm_inner_fn esm_copy_loop(size_t elem);
/* dst (contiguous, `shape`) = src read with `src_ndim` byte strides aligned to the right of
 * `shape` (stride 0 and missing leading dims broadcast). */
void esm_strided_copy(void *dst, const void *src, esm_dtype dtype, int32_t ndim, const int64_t *shape,
                      int32_t src_ndim, const int64_t *src_stride);
/* Run `loop` over out and nin inputs broadcast to out's shape. */
esm_status esm_run_elementwise(const esm_tensor *out, int32_t nin, const esm_tensor *const *in,
                               esm_inner_fn loop, const void *user);
#endif
