/* iter.c - the broadcasting strided iterator (see kutil.h). */
#include <string.h>

#include "kutil.h"

void esm_iter_init(esm_iter *it, int32_t ndim, const int64_t *shape)
{
    memset(it, 0, sizeof *it);
    it->ndim = ndim;
    if (ndim > 0) memcpy(it->shape, shape, (size_t)ndim * sizeof *shape);
}

void esm_iter_add_strided(esm_iter *it, const void *data, int32_t ndim, const int64_t *stride)
{
    int32_t k = it->nops++, lead = it->ndim - ndim, d;
    it->base[k] = (char *)(size_t)data; /* operands are read or written through the same type */
    for (d = 0; d < it->ndim; d++) it->stride[k][d] = d < lead ? 0 : stride[d - lead];
}

/* Unsigned: an empty tensor's other dims may be huge (it takes no memory, so no limit stops them)
 * and their product would overflow int64 - the strides of an empty tensor are never followed. */
void esm_contiguous_strides(const esm_tensor *t, int64_t *stride)
{
    uint64_t step = esm_dtype_size(t->dtype);
    int32_t d;
    for (d = t->ndim - 1; d >= 0; d--) {
        stride[d] = t->shape[d] == 1 ? 0 : (int64_t)step;
        step *= (uint64_t)t->shape[d];
    }
}

void esm_iter_add(esm_iter *it, const esm_tensor *t)
{
    int64_t stride[ESM_MAX_DIMS];
    esm_contiguous_strides(t, stride);
    esm_iter_add_strided(it, t->data, t->ndim, stride);
}

static int mergeable(const esm_iter *it, int32_t outer, int32_t inner)
{
    int32_t k;
    for (k = 0; k < it->nops; k++)
        if (it->stride[k][outer] != it->stride[k][inner] * it->shape[inner]) return 0;
    return 1;
}

void esm_iter_coalesce(esm_iter *it)
{
    int32_t d, k, n = 0;
    /* an empty space runs nothing: one dim of 0 (its other dims may be huge, their products
     * beyond int64) */
    for (d = 0; d < it->ndim; d++)
        if (it->shape[d] == 0) {
            it->ndim = 1, it->shape[0] = 0;
            return;
        }
    /* drop size-1 dims: they never advance a pointer */
    for (d = 0; d < it->ndim; d++) {
        if (it->shape[d] == 1) continue;
        it->shape[n] = it->shape[d];
        for (k = 0; k < it->nops; k++) it->stride[k][n] = it->stride[k][d];
        n++;
    }
    it->ndim = n;
    /* merge an outer dim into the next inner one when every operand walks them as one */
    for (d = it->ndim - 2; d >= 0; d--) {
        if (!mergeable(it, d, d + 1)) continue;
        it->shape[d + 1] *= it->shape[d];
        for (k = 0; k < it->nops; k++) it->stride[k][d] = it->stride[k][d + 1];
        it->shape[d] = it->shape[d + 1];
        for (n = d + 1; n < it->ndim - 1; n++) {
            it->shape[n] = it->shape[n + 1];
            for (k = 0; k < it->nops; k++) it->stride[k][n] = it->stride[k][n + 1];
        }
        it->ndim--;
    }
}

void esm_iter_run(const esm_iter *it, esm_inner_fn fn, const void *user)
{
    int64_t index[ESM_ITER_MAX_DIMS] = {0};
    int64_t inner_stride[ESM_ITER_MAX_OPS] = {0};
    char *ptr[ESM_ITER_MAX_OPS];
    int32_t k, d, last = it->ndim - 1;
    int64_t n;
    for (d = 0; d < it->ndim; d++)
        if (it->shape[d] == 0) return;
    for (k = 0; k < it->nops; k++) {
        ptr[k] = it->base[k];
        if (last >= 0) inner_stride[k] = it->stride[k][last];
    }
    n = last >= 0 ? it->shape[last] : 1;
    for (;;) {
        fn(n, ptr, inner_stride, user);
        /* odometer over the outer dims */
        for (d = last - 1; d >= 0; d--) {
            for (k = 0; k < it->nops; k++) ptr[k] += it->stride[k][d];
            if (++index[d] < it->shape[d]) break;
            for (k = 0; k < it->nops; k++) ptr[k] -= it->stride[k][d] * it->shape[d];
            index[d] = 0;
        }
        if (d < 0) return;
    }
}

#define COPY_LOOP(NAME, T)                                                                \
    static void NAME(int64_t n, char *const *p, const int64_t *s, const void *user)      \
    {                                                                                     \
        int64_t i;                                                                        \
        (void)user;                                                                       \
        if (s[0] == (int64_t)sizeof(T) && s[1] == (int64_t)sizeof(T)) {                   \
            memcpy(p[0], p[1], (size_t)n * sizeof(T));                                    \
            return;                                                                       \
        }                                                                                 \
        for (i = 0; i < n; i++) *(T *)(p[0] + i * s[0]) = *(const T *)(p[1] + i * s[1]);  \
    }
COPY_LOOP(copy8, uint8_t)
COPY_LOOP(copy32, uint32_t)
COPY_LOOP(copy64, uint64_t)

esm_inner_fn esm_copy_loop(size_t elem)
{
    return elem == 1 ? copy8 : elem == 4 ? copy32 : copy64;
}

void esm_strided_copy(void *dst, const void *src, esm_dtype dtype, int32_t ndim, const int64_t *shape,
                      int32_t src_ndim, const int64_t *src_stride)
{
    esm_iter it;
    esm_tensor out;
    esm_set_output(&out, dtype, ndim, shape);
    out.data = dst;
    esm_iter_init(&it, ndim, shape);
    esm_iter_add(&it, &out);
    esm_iter_add_strided(&it, src, src_ndim, src_stride);
    esm_iter_coalesce(&it);
    esm_iter_run(&it, esm_copy_loop(esm_dtype_size(dtype)), NULL);
}

/* Each input either has out's shape or one element: the run is one flat call with strides
 * of one element or 0 (no iterator set-up; fused groups call kernels on short tiles). */
static int flat_operands(const esm_tensor *out, int32_t nin, const esm_tensor *const *in, int64_t n)
{
    int32_t k, d;
    for (k = 0; k < nin; k++) {
        int64_t m = esm_numel(in[k]);
        if (m == 1) continue;
        if (m != n || in[k]->ndim != out->ndim) return 0;
        for (d = 0; d < out->ndim; d++)
            if (in[k]->shape[d] != out->shape[d]) return 0;
    }
    return 1;
}

esm_status esm_run_elementwise(const esm_tensor *out, int32_t nin, const esm_tensor *const *in,
                               esm_inner_fn loop, const void *user)
{
    esm_iter it;
    int32_t k;
    int64_t n = esm_numel(out);
    if (nin < ESM_ITER_MAX_OPS && flat_operands(out, nin, in, n)) {
        char *ptr[ESM_ITER_MAX_OPS];
        int64_t stride[ESM_ITER_MAX_OPS];
        ptr[0] = (char *)out->data;
        stride[0] = (int64_t)esm_dtype_size(out->dtype);
        for (k = 0; k < nin; k++) {
            ptr[k + 1] = (char *)in[k]->data;
            stride[k + 1] = esm_numel(in[k]) == 1 ? 0 : (int64_t)esm_dtype_size(in[k]->dtype);
        }
        if (n > 0) loop(n, ptr, stride, user);
        return ESM_OK;
    }
    esm_iter_init(&it, out->ndim, out->shape);
    esm_iter_add(&it, out);
    for (k = 0; k < nin; k++) esm_iter_add(&it, in[k]);
    esm_iter_coalesce(&it);
    esm_iter_run(&it, loop, user);
    return ESM_OK;
}
